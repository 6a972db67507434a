/* Online backup while the writer keeps committing. */
#include <check.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"

struct backup_run {
	struct fixture *fx;
	char path[PATH_MAX];
	uv_thread_t thread;
	uv_async_t finished;
	int started;
	int ret;
	char err[256];
	int backup_done; /* loop thread */
	int ticks;
	int chain_stopped;
	int tick_status;
};

static int job_seed(struct store_txn *txn, void *data)
{
	char key[16];
	int ret = 0;

	for (int i = 0; i < 100 && ret == 0; i++) {
		snprintf(key, sizeof key, "seed%03d", i);
		ret = store_txn_state_put(txn, "seed", key, "v", 1, 0);
	}
	return ret;
}

static int job_tick(struct store_txn *txn, void *data)
{
	struct backup_run *b = data;
	char key[16];

	snprintf(key, sizeof key, "tick%06d", b->ticks);
	return store_txn_state_put(txn, "tick", key, "v", 1, 0);
}

static void backup_thread(void *arg)
{
	struct backup_run *b = arg;

	b->ret = store_backup(b->fx->dir, b->path, b->err, sizeof b->err);
	uv_async_send(&b->finished);
}

static void on_finished(uv_async_t *handle)
{
	struct backup_run *b = handle->data;

	b->backup_done = 1;
	uv_close((uv_handle_t *)handle, NULL);
}

static void done_tick(void *data, int status)
{
	struct backup_run *b = data;

	if (status != 0 && b->tick_status == 0)
		b->tick_status = status;
	b->ticks++;
	/* Start the backup once the writer is well into its loop, then keep
	 * committing until the backup reports back. */
	if (b->ticks == 5 && !b->started) {
		b->started = 1;
		ck_assert_int_eq(uv_thread_create(&b->thread, backup_thread,
						  b),
				 0);
	}
	if (b->backup_done) {
		b->chain_stopped = 1;
		return;
	}
	ck_assert_int_eq(store_submit(b->fx->store, job_tick, done_tick, b),
			 0);
}

START_TEST(test_backup_while_writing)
{
	static struct backup_run b;
	struct fixture fx;
	char check[64], pattern[PATH_MAX + 8];
	glob_t g;

	fx_open(&fx, STORE_MODE_DAEMON);
	memset(&b, 0, sizeof b);
	b.fx = &fx;
	fx_path(&fx, "backup.db", b.path, sizeof b.path);
	ck_assert_int_eq(fx_run(&fx, job_seed, NULL), 0);
	ck_assert_int_eq(uv_async_init(&fx.loop, &b.finished, on_finished), 0);
	b.finished.data = &b;

	ck_assert_int_eq(store_submit(fx.store, job_tick, done_tick, &b), 0);
	while (!b.chain_stopped)
		uv_run(&fx.loop, UV_RUN_ONCE);
	ck_assert_int_eq(uv_thread_join(&b.thread), 0);

	ck_assert_msg(b.ret == 0, "backup: %d %s", b.ret, b.err);
	ck_assert_int_eq(b.tick_status, 0);
	ck_assert_int_gt(b.ticks, 5);
	sql_text(b.path, "PRAGMA integrity_check", check, sizeof check);
	ck_assert_str_eq(check, "ok");
	ck_assert_int_eq(sql_int(b.path, "PRAGMA user_version"),
			 STORE_SCHEMA_VERSION);
	ck_assert_int_eq(sql_int(b.path, "SELECT count(*) FROM module_state"
					 " WHERE module = 'seed'"),
			 100);
	ck_assert_int_ge(sql_int(b.path, "SELECT count(*) FROM module_state"
					 " WHERE module = 'tick'"),
			 5);
	/* No temporary file left next to the copy. */
	ck_assert_int_lt(snprintf(pattern, sizeof pattern, "%s.*", b.path),
			 (int)sizeof pattern);
	ck_assert_int_eq(glob(pattern, 0, NULL, &g), GLOB_NOMATCH);
	globfree(&g);
	fx_close(&fx);
}
END_TEST

START_TEST(test_backup_missing_database)
{
	struct fixture fx;
	char db[PATH_MAX], path[PATH_MAX], err[256] = "";

	fx_open(&fx, STORE_MODE_ADMIN);
	fx_store_close(&fx);
	fx_db_path(&fx, db, sizeof db);
	ck_assert_int_eq(unlink(db), 0);
	fx_path(&fx, "backup.db", path, sizeof path);
	ck_assert_int_eq(store_backup(fx.dir, path, err, sizeof err),
			 -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "missing database"));
	ck_assert_int_eq(access(path, F_OK), -1);
	fx_close(&fx);
}
END_TEST

Suite *suite_backup(void)
{
	Suite *s = suite_create("store_backup");
	TCase *tc = tcase_create("backup");

	tu_add_fixture(tc);
	tcase_add_test(tc, test_backup_while_writing);
	tcase_add_test(tc, test_backup_missing_database);
	suite_add_tcase(s, tc);
	return s;
}
