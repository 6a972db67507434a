/* Opening, creating and migrating the database. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"

static const char *const tables[] = {
	"domains", "accounts", "password_history", "aliases", "mailboxes",
	"blobs", "messages", "queue", "queue_rcpts", "module_state",
};

static void assert_schema_v1(const char *db)
{
	char sql[256], mode[32];

	ck_assert_int_eq(sql_int(db, "PRAGMA user_version"),
			 STORE_SCHEMA_VERSION);
	sql_text(db, "PRAGMA journal_mode", mode, sizeof mode);
	ck_assert_str_eq(mode, "wal");
	for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
		snprintf(sql, sizeof sql,
			 "SELECT count(*) FROM sqlite_schema"
			 " WHERE type = 'table' AND name = '%s'",
			 tables[i]);
		ck_assert_msg(sql_int(db, sql) == 1, "table %s", tables[i]);
	}
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM sqlite_schema"
				     " WHERE type = 'trigger'"),
			 6);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM pragma_table_list"
				     " WHERE name = 'module_state'"
				     " AND wr = 1"),
			 1);
}

START_TEST(test_migrate_from_empty)
{
	struct fixture fx;
	char db[PATH_MAX];
	int64_t objects;
	struct stat st;

	fx_open(&fx, STORE_MODE_DAEMON);
	fx_db_path(&fx, db, sizeof db);
	assert_schema_v1(db);
	/* Password hashes and mail: not for other users. */
	ck_assert_int_eq(stat(db, &st), 0);
	ck_assert_int_eq(st.st_mode & 077, 0);
	objects = sql_int(db, "SELECT count(*) FROM sqlite_schema");

	/* Reopening (both modes) changes nothing. */
	fx_store_close(&fx);
	fx_store_reopen(&fx, STORE_MODE_ADMIN);
	fx_store_close(&fx);
	fx_store_reopen(&fx, STORE_MODE_DAEMON);
	assert_schema_v1(db);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM sqlite_schema"),
			 objects);
	fx_close(&fx);
}
END_TEST

START_TEST(test_migrate_zero_byte_file)
{
	struct fixture fx;
	struct store *store = NULL;
	char db[PATH_MAX], err[256] = "";
	FILE *f;

	fx_open(&fx, STORE_MODE_ADMIN);
	fx_store_close(&fx);
	fx_db_path(&fx, db, sizeof db);
	ck_assert_int_eq(unlink(db), 0);
	f = fopen(db, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);

	/* An existing empty file is a database at version 0: create=0 is
	 * about the file, the schema is still made. */
	ck_assert_int_eq(store_open(fx.dir, STORE_MODE_ADMIN, 0, NULL, &store,
				    err, sizeof err),
			 0);
	store_close(&store);
	assert_schema_v1(db);
	fx_close(&fx);
}
END_TEST

START_TEST(test_missing_database)
{
	struct fixture fx;
	struct store *store = (struct store *)&fx; /* must be reset */
	char db[PATH_MAX], err[256] = "";

	fx_open(&fx, STORE_MODE_ADMIN);
	fx_store_close(&fx);
	fx_db_path(&fx, db, sizeof db);
	ck_assert_int_eq(unlink(db), 0);
	unlink(strcat(strcpy(err, db), "-wal"));
	unlink(strcat(strcpy(err, db), "-shm"));
	err[0] = '\0';

	ck_assert_int_eq(store_open(fx.dir, STORE_MODE_ADMIN, 0, NULL, &store,
				    err, sizeof err),
			 -ENOENT);
	ck_assert_ptr_null(store);
	ck_assert_ptr_nonnull(strstr(err, "missing database"));
	ck_assert_int_eq(access(db, F_OK), -1);

	ck_assert_int_eq(store_open(fx.dir, STORE_MODE_DAEMON, 0, &fx.loop,
				    &store, err, sizeof err),
			 -ENOENT);
	ck_assert_int_eq(access(db, F_OK), -1);

	/* Daemon mode without a loop is a caller error. */
	ck_assert_int_eq(store_open(fx.dir, STORE_MODE_DAEMON, 1, NULL,
				    &store, err, sizeof err),
			 -EINVAL);
	fx_close(&fx);
}
END_TEST

START_TEST(test_newer_schema_refused)
{
	struct fixture fx;
	struct store *store = NULL;
	char db[PATH_MAX], err[256] = "";

	fx_open(&fx, STORE_MODE_ADMIN);
	fx_store_close(&fx);
	fx_db_path(&fx, db, sizeof db);
	sql_exec(db, "PRAGMA user_version = 99");

	ck_assert_int_eq(store_open(fx.dir, STORE_MODE_DAEMON, 0, &fx.loop,
				    &store, err, sizeof err),
			 -EPROTO);
	ck_assert_ptr_null(store);
	ck_assert_ptr_nonnull(strstr(err, "newer"));
	ck_assert_int_eq(sql_int(db, "PRAGMA user_version"), 99);
	fx_close(&fx);
}
END_TEST

Suite *suite_schema(void)
{
	Suite *s = suite_create("store_schema");
	TCase *tc = tcase_create("schema");

	tu_add_fixture(tc);
	tcase_add_test(tc, test_migrate_from_empty);
	tcase_add_test(tc, test_migrate_zero_byte_file);
	tcase_add_test(tc, test_missing_database);
	tcase_add_test(tc, test_newer_schema_refused);
	suite_add_tcase(s, tc);
	return s;
}
