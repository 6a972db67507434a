/* The state service of the host table: limits, read-your-writes while a
 * write is still queued for the writer, atomic state_update from several
 * threads, and prefix scans that merge the store's rows with writes in
 * flight. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/host_state.h"
#include "store/store.h"

struct fixture {
	char dir[64];
	uv_loop_t loop;
	struct core_ctx ctx;
	struct module_set set;
	struct config config;
	struct postino_mod mod, other;
};

static struct fixture fx;

static void setup(void)
{
	char err[256];

	memset(&fx, 0, sizeof(fx));
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/postino-st-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fx.dir));
	uv_loop_init(&fx.loop);
	fx.ctx.loop = &fx.loop;
	fx.ctx.mode = CORE_MODE_DAEMON;
	log_init(&fx.ctx.log, LOG_LEVEL_DEBUG, LOG_TARGET_STDERR);
	fx.ctx.log.fd = open("/dev/null", O_WRONLY);
	fx.config.server.state_dir = fx.dir;
	fx.ctx.config = &fx.config;
	ck_assert_int_eq(store_open(fx.dir, STORE_MODE_DAEMON, 1, &fx.loop,
				    &fx.ctx.store, err, sizeof(err)), 0);
	ck_assert_int_eq(state_overlay_new(&fx.ctx.state_overlay), 0);
	fx.set.ctx = &fx.ctx;
	fx.set.config = &fx.config;
	fx.set.refs = 1;
	fx.mod.ctx = fx.other.ctx = &fx.ctx;
	fx.mod.set = fx.other.set = &fx.set;
	fx.mod.name = "greylist";
	fx.other.name = "ratelimit";
}

static void teardown(void)
{
	char cmd[128];

	store_close(&fx.ctx.store);
	uv_run(&fx.loop, UV_RUN_DEFAULT);
	state_overlay_free(&fx.ctx.state_overlay);
	ck_assert_int_eq(uv_loop_close(&fx.loop), 0);
	close(fx.ctx.log.fd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx.dir);
	ck_assert_int_eq(system(cmd), 0);
}

static int done_calls;
static int done_status;

static void count_done(void *data, int status)
{
	(void)data;
	done_calls++;
	done_status = status;
}

/* Runs the loop until every write so far has committed and reported. */
static void settle(int want_done)
{
	while (done_calls < want_done)
		uv_run(&fx.loop, UV_RUN_ONCE);
}

static int get_str(struct postino_mod *mod, const char *key, char *buf,
		   size_t size)
{
	size_t len = 0;
	int ret = host_state_get(mod, key, buf, size - 1, &len);

	if (ret == 0)
		buf[len < size - 1 ? len : size - 1] = '\0';
	return ret;
}

START_TEST(limits)
{
	static char key[POSTINO_STATE_KEY_MAX + 2];
	static char value[POSTINO_STATE_VALUE_MAX + 1];
	char buf[8];
	size_t len = 0;

	memset(key, 'k', POSTINO_STATE_KEY_MAX);
	ck_assert_int_eq(host_state_put(&fx.mod, key, "v", 1, 0, NULL, NULL), 0);
	ck_assert_int_eq(host_state_get(&fx.mod, key, buf, sizeof(buf), &len), 0);
	key[POSTINO_STATE_KEY_MAX] = 'k';
	ck_assert_int_eq(host_state_put(&fx.mod, key, "v", 1, 0, NULL, NULL),
			 -ENAMETOOLONG);
	ck_assert_int_eq(host_state_get(&fx.mod, key, buf, sizeof(buf), &len),
			 -ENAMETOOLONG);
	ck_assert_int_eq(host_state_put(&fx.mod, "", "v", 1, 0, NULL, NULL),
			 -EINVAL);
	ck_assert_int_eq(host_state_put(&fx.mod, "big", value,
					POSTINO_STATE_VALUE_MAX, 0, NULL, NULL),
			 0);
	ck_assert_int_eq(host_state_put(&fx.mod, "big", value,
					POSTINO_STATE_VALUE_MAX + 1, 0, NULL,
					NULL),
			 -EFBIG);
	/* *len_r is the full length even when the buffer is smaller. */
	ck_assert_int_eq(host_state_get(&fx.mod, "big", buf, sizeof(buf), &len),
			 0);
	ck_assert_uint_eq(len, POSTINO_STATE_VALUE_MAX);
}
END_TEST

START_TEST(read_your_writes)
{
	char buf[64];

	done_calls = 0;
	ck_assert_int_eq(host_state_put(&fx.mod, "triple", "first", 5, 0,
					count_done, NULL), 0);
	/* Not committed yet (the loop has not run), and already visible. */
	ck_assert_int_eq(done_calls, 0);
	ck_assert_int_eq(get_str(&fx.mod, "triple", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "first");
	/* Keys are private to their module. */
	ck_assert_int_eq(get_str(&fx.other, "triple", buf, sizeof(buf)),
			 -ENOENT);
	ck_assert_int_eq(host_state_put(&fx.mod, "triple", "second", 6, 0,
					count_done, NULL), 0);
	ck_assert_int_eq(get_str(&fx.mod, "triple", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "second");
	ck_assert_int_eq(host_state_delete(&fx.mod, "triple", count_done,
					   NULL), 0);
	ck_assert_int_eq(get_str(&fx.mod, "triple", buf, sizeof(buf)),
			 -ENOENT);
	ck_assert_int_eq(host_state_put(&fx.mod, "triple", "third", 5, 0,
					count_done, NULL), 0);
	settle(4);
	ck_assert_int_eq(done_status, 0);
	/* Committed: the store answers, with the last write. */
	ck_assert_int_eq(get_str(&fx.mod, "triple", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "third");
	/* An expiry in the past hides the entry at once. */
	ck_assert_int_eq(host_state_put(&fx.mod, "old", "x", 1, 1000, NULL,
					NULL), 0);
	ck_assert_int_eq(get_str(&fx.mod, "old", buf, sizeof(buf)), -ENOENT);
}
END_TEST

/* Increment-and-get: the value is a decimal counter. */
static int incr(void *data, const void *old, size_t old_len, void *buf,
		size_t size, size_t *len_r, int64_t *expires_r)
{
	char text[32] = "0";
	long *seen = data;

	(void)expires_r;
	if (old != NULL)
		snprintf(text, sizeof(text), "%.*s", (int)old_len,
			 (const char *)old);
	long n = strtol(text, NULL, 10) + 1;
	if (seen != NULL)
		*seen = n;
	*len_r = (size_t)snprintf(buf, size, "%ld", n);
	return 1;
}

struct hammer {
	pthread_t thread;
	long last;
};

#define HAMMER_THREADS 4
#define HAMMER_ROUNDS 500

static void *hammer(void *arg)
{
	struct hammer *h = arg;

	for (int i = 0; i < HAMMER_ROUNDS; i++) {
		long seen = 0;
		ck_assert_int_eq(host_state_update(&fx.mod, "counter", incr,
						   &seen, NULL, NULL), 1);
		/* Each thread's values only grow. */
		ck_assert_int_gt(seen, h->last);
		h->last = seen;
	}
	return NULL;
}

START_TEST(update_is_atomic_across_threads)
{
	struct hammer h[HAMMER_THREADS];
	char buf[32];

	memset(h, 0, sizeof(h));
	for (int i = 0; i < HAMMER_THREADS; i++)
		ck_assert_int_eq(pthread_create(&h[i].thread, NULL, hammer,
						&h[i]), 0);
	for (int i = 0; i < HAMMER_THREADS; i++)
		pthread_join(h[i].thread, NULL);
	ck_assert_int_eq(get_str(&fx.mod, "counter", buf, sizeof(buf)), 0);
	ck_assert_int_eq(atoi(buf), HAMMER_THREADS * HAMMER_ROUNDS);
	uv_run(&fx.loop, UV_RUN_NOWAIT);
}
END_TEST

static int keep(void *data, const void *old, size_t old_len, void *buf,
		size_t size, size_t *len_r, int64_t *expires_r)
{
	(void)data;
	(void)old;
	(void)old_len;
	(void)buf;
	(void)size;
	(void)len_r;
	(void)expires_r;
	return 0;
}

static int drop(void *data, const void *old, size_t old_len, void *buf,
		size_t size, size_t *len_r, int64_t *expires_r)
{
	(void)data;
	(void)old_len;
	(void)buf;
	(void)size;
	(void)len_r;
	(void)expires_r;
	ck_assert_ptr_nonnull(old);
	return -1;
}

START_TEST(update_decisions)
{
	char buf[32];

	done_calls = 0;
	ck_assert_int_eq(host_state_update(&fx.mod, "n", incr, NULL,
					   count_done, NULL), 1);
	ck_assert_int_eq(host_state_update(&fx.mod, "n", keep, NULL,
					   count_done, NULL), 0);
	ck_assert_int_eq(get_str(&fx.mod, "n", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "1");
	ck_assert_int_eq(host_state_update(&fx.mod, "n", drop, NULL,
					   count_done, NULL), -1);
	ck_assert_int_eq(get_str(&fx.mod, "n", buf, sizeof(buf)), -ENOENT);
	/* done runs once per call, whatever was decided. */
	settle(3);
	ck_assert_int_eq(done_calls, 3);
	ck_assert_int_eq(get_str(&fx.mod, "n", buf, sizeof(buf)), -ENOENT);
}
END_TEST

struct seen {
	char list[512];
};

static int collect(void *data, const char *key, const void *value,
		   size_t len, int64_t expires_at)
{
	struct seen *s = data;
	char item[64];

	(void)expires_at;
	snprintf(item, sizeof(item), "%s=%.*s ", key, (int)len,
		 (const char *)value);
	strcat(s->list, item);
	return 0;
}

static int stop_at_second(void *data, const char *key, const void *value,
			  size_t len, int64_t expires_at)
{
	int *n = data;

	(void)key;
	(void)value;
	(void)len;
	(void)expires_at;
	return ++*n == 2 ? 7 : 0;
}

START_TEST(scan_merges_store_and_pending)
{
	struct seen s = { "" };
	int n = 0;

	done_calls = 0;
	host_state_put(&fx.mod, "g|a", "1", 1, 0, count_done, NULL);
	host_state_put(&fx.mod, "g|c", "3", 1, 0, count_done, NULL);
	host_state_put(&fx.mod, "g|d", "4", 1, 0, count_done, NULL);
	host_state_put(&fx.mod, "h|x", "9", 1, 0, count_done, NULL);
	host_state_put(&fx.other, "g|z", "z", 1, 0, count_done, NULL);
	settle(5);
	/* In flight: a new key, a changed one, a deleted one. */
	host_state_put(&fx.mod, "g|b", "2", 1, 0, NULL, NULL);
	host_state_put(&fx.mod, "g|c", "33", 2, 0, NULL, NULL);
	host_state_delete(&fx.mod, "g|d", NULL, NULL);
	ck_assert_int_eq(host_state_scan(&fx.mod, "g|", collect, &s), 0);
	ck_assert_str_eq(s.list, "g|a=1 g|b=2 g|c=33 ");
	s.list[0] = '\0';
	ck_assert_int_eq(host_state_scan(&fx.mod, "", collect, &s), 0);
	ck_assert_str_eq(s.list, "g|a=1 g|b=2 g|c=33 h|x=9 ");
	ck_assert_int_eq(host_state_scan(&fx.mod, "g|", stop_at_second, &n),
			 7);
	uv_run(&fx.loop, UV_RUN_NOWAIT);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("state");
	TCase *tc = tcase_create("state");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, limits);
	tcase_add_test(tc, read_your_writes);
	tcase_add_test(tc, update_is_atomic_across_threads);
	tcase_add_test(tc, update_decisions);
	tcase_add_test(tc, scan_merges_store_and_pending);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
