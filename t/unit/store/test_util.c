#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"

static char base_dir[PATH_MAX];

static int rm_entry(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	return remove(path);
}

static void rm_tree(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void tu_base_setup(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(base_dir, sizeof base_dir, "%s/postino-store-XXXXXX",
		 tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(base_dir));
}

void tu_base_teardown(void)
{
	if (base_dir[0] != '\0')
		rm_tree(base_dir);
}

void tu_add_fixture(TCase *tc)
{
	tcase_add_unchecked_fixture(tc, tu_base_setup, tu_base_teardown);
}

void fx_path(const struct fixture *fx, const char *name, char *out,
	     size_t size)
{
	ck_assert_int_lt(snprintf(out, size, "%s/%s", fx->dir, name),
			 (int)size);
}

void fx_db_path(const struct fixture *fx, char *out, size_t size)
{
	fx_path(fx, STORE_DB_FILE, out, size);
}

void fx_store_reopen(struct fixture *fx, enum store_mode mode)
{
	char err[256] = "";
	int ret;

	fx->mode = mode;
	ret = store_open(fx->dir, mode, 1, &fx->loop, &fx->store, err,
			 sizeof err);
	ck_assert_msg(ret == 0, "store_open: %d %s", ret, err);
	ck_assert_ptr_nonnull(fx->store);
}

void fx_open(struct fixture *fx, enum store_mode mode)
{
	memset(fx, 0, sizeof *fx);
	ck_assert_int_lt(snprintf(fx->dir, sizeof fx->dir, "%s/t-XXXXXX",
				  base_dir),
			 (int)sizeof fx->dir);
	ck_assert_ptr_nonnull(mkdtemp(fx->dir));
	ck_assert_int_eq(uv_loop_init(&fx->loop), 0);
	fx_store_reopen(fx, mode);
}

void fx_store_close(struct fixture *fx)
{
	store_close(&fx->store);
	ck_assert_ptr_null(fx->store);
	ck_assert_int_eq(uv_run(&fx->loop, UV_RUN_DEFAULT), 0);
}

void fx_close(struct fixture *fx)
{
	fx_store_close(fx);
	ck_assert_int_eq(uv_loop_close(&fx->loop), 0);
	rm_tree(fx->dir);
}

struct wait {
	int done;
	int status;
};

static void on_done(void *data, int status)
{
	struct wait *w = data;

	w->done = 1;
	w->status = status;
}

struct job_call {
	store_job_fn *job;
	void *data;
	struct wait wait;
};

static int job_trampoline(struct store_txn *txn, void *data)
{
	struct job_call *call = data;

	return call->job(txn, call->data);
}

static void call_done(void *data, int status)
{
	struct job_call *call = data;

	on_done(&call->wait, status);
}

int fx_run(struct fixture *fx, store_job_fn *job, void *data)
{
	struct job_call call = { .job = job, .data = data };

	ck_assert_int_eq(store_submit(fx->store, job_trampoline, call_done,
				      &call),
			 0);
	while (!call.wait.done)
		uv_run(&fx->loop, UV_RUN_ONCE);
	return call.wait.status;
}

/* Arguments of the one-call jobs below. */
struct args {
	const char *s1, *s2, *s3;
	int64_t i1, i2;
	unsigned u1;
	int64_t id_r;
	uint32_t uid_r;
};

static int job_domain_add(struct store_txn *txn, void *data)
{
	struct args *a = data;

	return store_txn_domain_add(txn, a->s1);
}

static int job_domain_del(struct store_txn *txn, void *data)
{
	struct args *a = data;

	return store_txn_domain_del(txn, a->s1);
}

static int job_account_add(struct store_txn *txn, void *data)
{
	struct args *a = data;
	struct store_account_new n = {
		.address = a->s1, .password_hash = a->s2,
	};

	return store_txn_account_add(txn, &n, &a->id_r);
}

static int job_account_del(struct store_txn *txn, void *data)
{
	struct args *a = data;

	return store_txn_account_del(txn, a->s1);
}

static int job_account_set(struct store_txn *txn, void *data)
{
	struct args *a = data;
	struct store_account_change c = {
		.secondary = a->s2, .lang = a->s3, .disabled = (int)a->i1,
	};

	return store_txn_account_set(txn, a->s1, &c);
}

static int job_set_password(struct store_txn *txn, void *data)
{
	struct args *a = data;

	return store_txn_account_set_password(txn, a->s1, a->s2, a->i1,
					      a->u1);
}

static int job_alias_add(struct store_txn *txn, void *data)
{
	struct args *a = data;

	return store_txn_alias_add(txn, a->s1, a->s2);
}

static int job_alias_del(struct store_txn *txn, void *data)
{
	struct args *a = data;

	return store_txn_alias_del(txn, a->s1, a->s2);
}

static int job_blob_put(struct store_txn *txn, void *data)
{
	struct args *a = data;
	int ret;

	ret = store_txn_blob_put(txn, a->s1, strlen(a->s1), &a->id_r);
	/* Keeps the blob past the commit-time sweep of unreferenced ones:
	 * tests of dedup need it to exist between jobs. */
	if (ret == 0 && a->i1 != 0)
		ret = store_txn_message_append(txn, a->i1, a->id_r, 0, 0,
					       &a->uid_r);
	return ret;
}

static int job_append(struct store_txn *txn, void *data)
{
	struct args *a = data;

	return store_txn_message_append(txn, a->i1, a->i2, 0, 1700000000,
					&a->uid_r);
}

static int job_expunge(struct store_txn *txn, void *data)
{
	struct args *a = data;

	return store_txn_message_expunge(txn, a->i1, (uint32_t)a->i2);
}

static int job_state_put(struct store_txn *txn, void *data)
{
	struct args *a = data;

	return store_txn_state_put(txn, a->s1, a->s2, a->s3,
				   a->s3 != NULL ? strlen(a->s3) : 0, a->i1);
}

static int job_state_del(struct store_txn *txn, void *data)
{
	struct args *a = data;

	return store_txn_state_delete(txn, a->s1, a->s2);
}

static int job_state_prune(struct store_txn *txn, void *data)
{
	struct args *a = data;

	return store_txn_state_prune(txn, a->i1);
}

int t_domain_add(struct fixture *fx, const char *domain)
{
	struct args a = { .s1 = domain };

	return fx_run(fx, job_domain_add, &a);
}

int t_domain_del(struct fixture *fx, const char *domain)
{
	struct args a = { .s1 = domain };

	return fx_run(fx, job_domain_del, &a);
}

int t_account_add(struct fixture *fx, const char *address, const char *hash,
		  int64_t *id_r)
{
	struct args a = { .s1 = address, .s2 = hash, .id_r = -1 };
	int ret = fx_run(fx, job_account_add, &a);

	if (id_r != NULL)
		*id_r = a.id_r;
	return ret;
}

int t_account_del(struct fixture *fx, const char *address)
{
	struct args a = { .s1 = address };

	return fx_run(fx, job_account_del, &a);
}

int t_account_set(struct fixture *fx, const char *address,
		  const char *secondary, const char *lang, int disabled)
{
	struct args a = {
		.s1 = address, .s2 = secondary, .s3 = lang, .i1 = disabled,
	};

	return fx_run(fx, job_account_set, &a);
}

int t_set_password(struct fixture *fx, const char *address, const char *hash,
		   int64_t now_s, unsigned keep)
{
	struct args a = { .s1 = address, .s2 = hash, .i1 = now_s, .u1 = keep };

	return fx_run(fx, job_set_password, &a);
}

int t_alias_add(struct fixture *fx, const char *source, const char *target)
{
	struct args a = { .s1 = source, .s2 = target };

	return fx_run(fx, job_alias_add, &a);
}

int t_alias_del(struct fixture *fx, const char *source, const char *target)
{
	struct args a = { .s1 = source, .s2 = target };

	return fx_run(fx, job_alias_del, &a);
}

int t_blob_put(struct fixture *fx, const char *data, int64_t *id_r)
{
	struct args a = { .s1 = data, .id_r = -1 };
	int ret = fx_run(fx, job_blob_put, &a);

	*id_r = a.id_r;
	return ret;
}

int t_append(struct fixture *fx, int64_t mailbox, int64_t blob,
	     uint32_t *uid_r)
{
	struct args a = { .i1 = mailbox, .i2 = blob };
	int ret = fx_run(fx, job_append, &a);

	if (uid_r != NULL)
		*uid_r = a.uid_r;
	return ret;
}

int t_deliver(struct fixture *fx, int64_t mailbox, const char *data,
	      uint32_t *uid_r)
{
	struct args a = { .s1 = data, .i1 = mailbox };
	int ret = fx_run(fx, job_blob_put, &a);

	if (uid_r != NULL)
		*uid_r = a.uid_r;
	return ret;
}

int t_expunge(struct fixture *fx, int64_t mailbox, uint32_t uid)
{
	struct args a = { .i1 = mailbox, .i2 = uid };

	return fx_run(fx, job_expunge, &a);
}

int t_state_put(struct fixture *fx, const char *module, const char *key,
		const char *value, int64_t expires_at)
{
	struct args a = { .s1 = module, .s2 = key, .s3 = value,
			  .i1 = expires_at };

	return fx_run(fx, job_state_put, &a);
}

int t_state_del(struct fixture *fx, const char *module, const char *key)
{
	struct args a = { .s1 = module, .s2 = key };

	return fx_run(fx, job_state_del, &a);
}

int t_state_prune(struct fixture *fx, int64_t now_s)
{
	struct args a = { .i1 = now_s };

	return fx_run(fx, job_state_prune, &a);
}

int64_t t_mailbox_id(struct fixture *fx, const char *address,
		     const char *name)
{
	struct store_mailbox m;
	int ret = store_mailbox_get(fx->store, address, name, &m);

	ck_assert_msg(ret == 0, "mailbox %s of %s: %d %s", name, address, ret,
		      store_error(fx->store));
	return m.id;
}

static sqlite3 *sql_open(const char *db_path, int flags)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(db_path, &db, flags, NULL);

	ck_assert_msg(rc == SQLITE_OK, "open %s: %s", db_path,
		      sqlite3_errstr(rc));
	sqlite3_busy_timeout(db, 10000);
	return db;
}

static sqlite3_stmt *sql_row(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(db));
	rc = sqlite3_step(st);
	ck_assert_msg(rc == SQLITE_ROW, "%s: no row (%s)", sql,
		      sqlite3_errmsg(db));
	return st;
}

int64_t sql_int(const char *db_path, const char *sql)
{
	sqlite3 *db = sql_open(db_path, SQLITE_OPEN_READONLY);
	sqlite3_stmt *st = sql_row(db, sql);
	int64_t v = sqlite3_column_int64(st, 0);

	sqlite3_finalize(st);
	ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
	return v;
}

void sql_text(const char *db_path, const char *sql, char *out, size_t size)
{
	sqlite3 *db = sql_open(db_path, SQLITE_OPEN_READONLY);
	sqlite3_stmt *st = sql_row(db, sql);
	const unsigned char *text = sqlite3_column_text(st, 0);

	snprintf(out, size, "%s", text != NULL ? (const char *)text : "");
	sqlite3_finalize(st);
	ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
}

void sql_exec(const char *db_path, const char *sql)
{
	sqlite3 *db = sql_open(db_path, SQLITE_OPEN_READWRITE);
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, msg ? msg : "?");
	ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
}
