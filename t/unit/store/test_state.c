/* Per-module state: put, get (with truncation), delete, expiry, prune. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "test_util.h"

START_TEST(test_state_put_get)
{
	struct fixture fx;
	char buf[64], db[PATH_MAX];
	size_t len = 0;

	fx_open(&fx, STORE_MODE_DAEMON);
	fx_db_path(&fx, db, sizeof db);
	ck_assert_int_eq(t_state_put(&fx, "ratelimit", "bob", "hello world",
				     0),
			 0);
	ck_assert_int_eq(store_state_get(fx.store, "ratelimit", "bob", 0, buf,
					 sizeof buf, &len),
			 0);
	ck_assert_uint_eq(len, 11);
	ck_assert_mem_eq(buf, "hello world", 11);
	/* Module names are namespaces. */
	ck_assert_int_eq(store_state_get(fx.store, "spf", "bob", 0, buf,
					 sizeof buf, &len),
			 -ENOENT);

	/* Truncation: as much as fits, and the full length. */
	memset(buf, '#', sizeof buf);
	ck_assert_int_eq(store_state_get(fx.store, "ratelimit", "bob", 0, buf,
					 5, &len),
			 0);
	ck_assert_uint_eq(len, 11);
	ck_assert_mem_eq(buf, "hello#", 6);
	ck_assert_int_eq(store_state_get(fx.store, "ratelimit", "bob", 0,
					 NULL, 0, &len),
			 0);
	ck_assert_uint_eq(len, 11);

	/* Overwrite, and an empty value is a value. */
	ck_assert_int_eq(t_state_put(&fx, "ratelimit", "bob", "x", 0), 0);
	ck_assert_int_eq(store_state_get(fx.store, "ratelimit", "bob", 0, buf,
					 sizeof buf, &len),
			 0);
	ck_assert_uint_eq(len, 1);
	ck_assert_int_eq(t_state_put(&fx, "ratelimit", "empty", NULL, 0), 0);
	len = 99;
	ck_assert_int_eq(store_state_get(fx.store, "ratelimit", "empty", 0,
					 buf, sizeof buf, &len),
			 0);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM module_state"
				     " WHERE value IS NOT NULL"),
			 2);

	ck_assert_int_eq(t_state_put(&fx, "", "k", "v", 0), -EINVAL);
	ck_assert_int_eq(t_state_put(&fx, "m", "", "v", 0), -EINVAL);
	ck_assert_int_eq(t_state_put(&fx, "m", "k", "v", -1), -EINVAL);

	ck_assert_int_eq(t_state_del(&fx, "ratelimit", "bob"), 0);
	ck_assert_int_eq(t_state_del(&fx, "ratelimit", "bob"), -ENOENT);
	ck_assert_int_eq(store_state_get(fx.store, "ratelimit", "bob", 0, buf,
					 sizeof buf, &len),
			 -ENOENT);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM module_state"), 1);
	fx_close(&fx);
}
END_TEST

START_TEST(test_state_expiry)
{
	struct fixture fx;
	char buf[16], db[PATH_MAX];
	size_t len;

	fx_open(&fx, STORE_MODE_DAEMON);
	fx_db_path(&fx, db, sizeof db);
	ck_assert_int_eq(t_state_put(&fx, "m", "short", "1", 100), 0);
	ck_assert_int_eq(t_state_put(&fx, "m", "long", "2", 200), 0);
	ck_assert_int_eq(t_state_put(&fx, "m", "never", "3", 0), 0);

	ck_assert_int_eq(store_state_get(fx.store, "m", "short", 99, buf,
					 sizeof buf, &len),
			 0);
	/* Gone as of expires_at, even before a prune removes the row. */
	ck_assert_int_eq(store_state_get(fx.store, "m", "short", 100, buf,
					 sizeof buf, &len),
			 -ENOENT);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM module_state"), 3);

	ck_assert_int_eq(t_state_prune(&fx, 99), 0);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM module_state"), 3);
	ck_assert_int_eq(t_state_prune(&fx, 100), 1);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM module_state"
				     " WHERE key = 'short'"),
			 0);
	ck_assert_int_eq(t_state_prune(&fx, 1000000), 1);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM module_state"), 1);
	ck_assert_int_eq(store_state_get(fx.store, "m", "never", 1000000, buf,
					 sizeof buf, &len),
			 0);
	ck_assert_uint_eq(len, 1);
	ck_assert_int_eq(buf[0], '3');
	/* A put renews the expiry. */
	ck_assert_int_eq(t_state_put(&fx, "m", "never", "4", 50), 0);
	ck_assert_int_eq(store_state_get(fx.store, "m", "never", 60, buf,
					 sizeof buf, &len),
			 -ENOENT);
	fx_close(&fx);
}
END_TEST

Suite *suite_state(void)
{
	Suite *s = suite_create("store_state");
	TCase *tc = tcase_create("state");

	tu_add_fixture(tc);
	tcase_add_test(tc, test_state_put_get);
	tcase_add_test(tc, test_state_expiry);
	suite_add_tcase(s, tc);
	return s;
}
