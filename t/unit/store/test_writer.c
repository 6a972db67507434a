/* The daemon writer: group commit, per-job savepoints, draining on close;
 * and admin mode's synchronous jobs. Ordering is forced with a gate, never
 * with timing. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "test_util.h"

#define JOBS 200

/* Holds the writer inside the first job until the test has queued the
 * rest, so the batches are known exactly: {first}, {all the others}. */
struct gate {
	uv_mutex_t lock;
	uv_cond_t cond;
	int entered;
	int open;
};

static void gate_init(struct gate *g)
{
	memset(g, 0, sizeof *g);
	ck_assert_int_eq(uv_mutex_init(&g->lock), 0);
	ck_assert_int_eq(uv_cond_init(&g->cond), 0);
}

static void gate_destroy(struct gate *g)
{
	uv_cond_destroy(&g->cond);
	uv_mutex_destroy(&g->lock);
}

/* Writer thread. */
static void gate_pass(struct gate *g)
{
	uv_mutex_lock(&g->lock);
	g->entered = 1;
	uv_cond_broadcast(&g->cond);
	while (!g->open)
		uv_cond_wait(&g->cond, &g->lock);
	uv_mutex_unlock(&g->lock);
}

/* Loop thread. */
static void gate_wait_entered(struct gate *g)
{
	uv_mutex_lock(&g->lock);
	while (!g->entered)
		uv_cond_wait(&g->cond, &g->lock);
	uv_mutex_unlock(&g->lock);
}

static void gate_open(struct gate *g)
{
	uv_mutex_lock(&g->lock);
	g->open = 1;
	uv_cond_broadcast(&g->cond);
	uv_mutex_unlock(&g->lock);
}

struct rec {
	struct fixture *fx;
	struct gate *gate; /* first job only */
	int index;
	int fail;          /* return -EINVAL after writing */
	uint64_t commits_at_job;
	int done;
	int status;
	uint64_t commits_at_done;
	int visible_at_done; /* the row could be read when done ran */
	int *done_count;
	void *extra;
};

static void rec_key(const struct rec *r, char *key, size_t size)
{
	snprintf(key, size, "k%03d", r->index);
}

static int job_rec(struct store_txn *txn, void *data)
{
	struct rec *r = data;
	char key[16];
	int ret;

	if (r->gate != NULL)
		gate_pass(r->gate);
	store_writer_stats(r->fx->store, NULL, &r->commits_at_job);
	rec_key(r, key, sizeof key);
	ret = store_txn_state_put(txn, "t", key, "v", 1, 0);
	if (ret == 0 && r->fail)
		return -EINVAL;
	return ret;
}

static void done_rec(void *data, int status)
{
	struct rec *r = data;
	char key[16], buf[4];
	size_t len;

	ck_assert_int_eq(r->done, 0);
	r->done = 1;
	r->status = status;
	if (r->fx->store != NULL) {
		store_writer_stats(r->fx->store, NULL, &r->commits_at_done);
		rec_key(r, key, sizeof key);
		r->visible_at_done = store_state_get(r->fx->store, "t", key, 0,
						     buf, sizeof buf,
						     &len) == 0;
	}
	(*r->done_count)++;
}

static void run_until(struct fixture *fx, const int *count, int want)
{
	while (*count < want)
		uv_run(&fx->loop, UV_RUN_ONCE);
}

START_TEST(test_group_commit)
{
	static struct rec recs[JOBS];
	struct fixture fx;
	struct gate gate;
	uint64_t jobs, commits;
	char db[PATH_MAX];
	int done_count = 0;

	fx_open(&fx, STORE_MODE_DAEMON);
	fx_db_path(&fx, db, sizeof db);
	gate_init(&gate);
	store_writer_stats(fx.store, &jobs, &commits);
	ck_assert_uint_eq(jobs, 0);
	ck_assert_uint_eq(commits, 0);

	for (int i = 0; i < JOBS; i++)
		recs[i] = (struct rec){ .fx = &fx, .index = i,
					.done_count = &done_count };
	recs[0].gate = &gate;
	ck_assert_int_eq(store_submit(fx.store, job_rec, done_rec, &recs[0]),
			 0);
	gate_wait_entered(&gate);
	for (int i = 1; i < JOBS; i++)
		ck_assert_int_eq(store_submit(fx.store, job_rec, done_rec,
					      &recs[i]),
				 0);
	gate_open(&gate);
	run_until(&fx, &done_count, JOBS);

	store_writer_stats(fx.store, &jobs, &commits);
	ck_assert_uint_eq(jobs, JOBS);
	ck_assert_uint_eq(commits, 2);
	for (int i = 0; i < JOBS; i++) {
		ck_assert_int_eq(recs[i].status, 0);
		ck_assert_uint_eq(recs[i].commits_at_job, i == 0 ? 0 : 1);
		/* done ran after the commit that held the job */
		ck_assert_uint_gt(recs[i].commits_at_done,
				  recs[i].commits_at_job);
		ck_assert_int_eq(recs[i].visible_at_done, 1);
	}
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM module_state"),
			 JOBS);
	gate_destroy(&gate);
	fx_close(&fx);
}
END_TEST

START_TEST(test_failing_job_rolls_back_alone)
{
	struct rec recs[4];
	struct fixture fx;
	struct gate gate;
	uint64_t commits;
	char db[PATH_MAX], keys[64];
	int done_count = 0;

	fx_open(&fx, STORE_MODE_DAEMON);
	fx_db_path(&fx, db, sizeof db);
	gate_init(&gate);
	for (int i = 0; i < 4; i++)
		recs[i] = (struct rec){ .fx = &fx, .index = i,
					.done_count = &done_count };
	recs[0].gate = &gate;
	recs[2].fail = 1;
	ck_assert_int_eq(store_submit(fx.store, job_rec, done_rec, &recs[0]),
			 0);
	gate_wait_entered(&gate);
	for (int i = 1; i < 4; i++)
		ck_assert_int_eq(store_submit(fx.store, job_rec, done_rec,
					      &recs[i]),
				 0);
	gate_open(&gate);
	run_until(&fx, &done_count, 4);

	store_writer_stats(fx.store, NULL, &commits);
	ck_assert_uint_eq(commits, 2);
	ck_assert_int_eq(recs[0].status, 0);
	ck_assert_int_eq(recs[1].status, 0);
	ck_assert_int_eq(recs[2].status, -EINVAL);
	ck_assert_int_eq(recs[3].status, 0);
	/* Jobs 1..3 shared one transaction, yet 2's write is gone alone. */
	ck_assert_uint_eq(recs[1].commits_at_job, recs[3].commits_at_job);
	ck_assert_int_eq(recs[2].visible_at_done, 0);
	sql_text(db, "SELECT group_concat(key, ',') FROM"
		     " (SELECT key FROM module_state ORDER BY key)",
		 keys, sizeof keys);
	ck_assert_str_eq(keys, "k000,k001,k003");
	gate_destroy(&gate);
	fx_close(&fx);
}
END_TEST

struct close_ctx {
	struct store *store; /* a copy kept past store_close's NULLing */
	int submit_during_close;
	int done;
};

static int job_put_index(struct store_txn *txn, void *data)
{
	struct rec *r = data;
	char key[16];

	rec_key(r, key, sizeof key);
	return store_txn_state_put(txn, "t", key, "v", 1, 0);
}

static void done_close(void *data, int status)
{
	struct rec *r = data;
	struct close_ctx *ctx = r->extra;

	r->status = status;
	r->done = 1;
	(*r->done_count)++;
	/* Runs inside store_close: new work is refused, not lost. */
	if (r->index == 0)
		ctx->submit_during_close = store_submit(ctx->store,
							job_put_index, NULL,
							r);
}

START_TEST(test_close_drains)
{
	struct rec recs[50];
	struct close_ctx ctx = { 0 };
	struct fixture fx;
	char db[PATH_MAX];
	int done_count = 0;

	fx_open(&fx, STORE_MODE_DAEMON);
	fx_db_path(&fx, db, sizeof db);
	ctx.store = fx.store;
	for (int i = 0; i < 50; i++) {
		recs[i] = (struct rec){ .fx = &fx, .index = i,
					.done_count = &done_count,
					.extra = &ctx };
		ck_assert_int_eq(store_submit(fx.store, job_put_index,
					      done_close, &recs[i]),
				 0);
	}
	/* No loop run: store_close itself must finish them all. */
	store_close(&fx.store);
	ck_assert_ptr_null(fx.store);
	ck_assert_int_eq(done_count, 50);
	for (int i = 0; i < 50; i++)
		ck_assert_int_eq(recs[i].status, 0);
	ck_assert_int_eq(ctx.submit_during_close, -ESHUTDOWN);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM module_state"), 50);
	fx_close(&fx);
}
END_TEST

struct admin_job {
	const char *domain;
	int status;
};

static int job_admin(struct store_txn *txn, void *data)
{
	struct admin_job *a = data;
	int ret = store_txn_domain_add(txn, a->domain);

	ck_assert_int_eq(ret, 0);
	return a->status; /* what the job says, after its write */
}

static void done_admin(void *data, int status)
{
	struct admin_job *a = data;

	a->status = status + 1000;
}

START_TEST(test_admin_mode_sync)
{
	struct fixture fx;
	struct admin_job fail = { "rolled.test", -EINVAL };
	struct admin_job ok = { "kept.test", 0 };
	char db[PATH_MAX];
	uint64_t jobs, commits;

	fx_open(&fx, STORE_MODE_ADMIN);
	fx_db_path(&fx, db, sizeof db);
	/* done has run before store_submit returns. */
	ck_assert_int_eq(store_submit(fx.store, job_admin, done_admin, &fail),
			 0);
	ck_assert_int_eq(fail.status, 1000 - EINVAL);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM domains"), 0);
	ck_assert_int_eq(store_submit(fx.store, job_admin, done_admin, &ok),
			 0);
	ck_assert_int_eq(ok.status, 1000);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM domains"
				     " WHERE name = 'kept.test'"),
			 1);
	ck_assert_int_eq(store_domain_exists(fx.store, "kept.test"), 1);
	store_writer_stats(fx.store, &jobs, &commits);
	ck_assert_uint_eq(jobs, 2);
	ck_assert_uint_eq(commits, 1);
	fx_close(&fx);
}
END_TEST

Suite *suite_writer(void)
{
	Suite *s = suite_create("store_writer");
	TCase *tc = tcase_create("writer");

	tu_add_fixture(tc);
	tcase_add_test(tc, test_group_commit);
	tcase_add_test(tc, test_failing_job_rolls_back_alone);
	tcase_add_test(tc, test_close_drains);
	tcase_add_test(tc, test_admin_mode_sync);
	suite_add_tcase(s, tc);
	return s;
}
