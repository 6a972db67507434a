/* Opening, creating and migrating the database. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"

static const char *const tables[] = {
	"domains", "accounts", "password_history", "aliases", "mailboxes",
	"blobs", "messages", "queue", "queue_rcpts", "module_state",
	"subscriptions",
	"expunged",
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
			 13);
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

static int job_work_create(struct store_txn *txn, void *data)
{
	(void)data;
	return store_txn_mailbox_create(txn, "bob@example.test", "Work", NULL);
}

static int job_work_delete(struct store_txn *txn, void *data)
{
	int64_t id;

	(void)data;
	return store_txn_mailbox_delete(txn, "bob@example.test", "Work", &id);
}

/* A store with bob@example.test and his mailbox Work. */
static void open_with_work(struct fixture *fx, char *db, size_t db_size)
{
	fx_open(fx, STORE_MODE_DAEMON);
	fx_db_path(fx, db, db_size);
	ck_assert_int_eq(t_domain_add(fx, "example.test"), 0);
	ck_assert_int_eq(t_account_add(fx, "bob@example.test", FAKE_HASH,
				       NULL), 0);
	ck_assert_int_eq(fx_run(fx, job_work_create, NULL), 0);
}

#define WORK_UIDVALIDITY \
	"SELECT uidvalidity FROM mailboxes WHERE name = 'Work'"
#define LAST_UIDVALIDITY \
	"SELECT last_uidvalidity FROM accounts" \
	" WHERE address = 'bob@example.test'"

/* What schema step 7 added, undone: a database as v6 left it (its
 * count triggers as v5 made them). */
#define DOWN_TO_V6 \
	"DROP TRIGGER messages_tombstone;" \
	"DROP TRIGGER mailboxes_tombstones;" \
	"DROP TABLE expunged;" \
	"DROP TRIGGER messages_count_insert;" \
	"DROP TRIGGER messages_count_delete;" \
	"DROP TRIGGER messages_count_update;" \
	"ALTER TABLE mailboxes DROP COLUMN vanished_floor;" \
	"ALTER TABLE mailboxes DROP COLUMN vanished_count;" \
	"ALTER TABLE mailboxes DROP COLUMN deleted_count;" \
	"ALTER TABLE mailboxes DROP COLUMN deleted_bytes;" \
	"CREATE TRIGGER messages_count_insert AFTER INSERT ON messages BEGIN" \
	"  UPDATE mailboxes SET message_count = message_count + 1," \
	"    unseen_count = unseen_count + ((NEW.flags & 1) = 0)," \
	"    bytes = bytes + NEW.size WHERE id = NEW.mailbox;" \
	"END;" \
	"CREATE TRIGGER messages_count_delete AFTER DELETE ON messages BEGIN" \
	"  UPDATE mailboxes SET message_count = message_count - 1," \
	"    unseen_count = unseen_count - ((OLD.flags & 1) = 0)," \
	"    bytes = bytes - OLD.size WHERE id = OLD.mailbox;" \
	"END;" \
	"CREATE TRIGGER messages_count_update AFTER UPDATE OF mailbox, flags," \
	"  size ON messages WHEN NEW.mailbox IS NOT OLD.mailbox" \
	"  OR (NEW.flags & 1) IS NOT (OLD.flags & 1)" \
	"  OR NEW.size IS NOT OLD.size BEGIN" \
	"  UPDATE mailboxes SET message_count = message_count - 1," \
	"    unseen_count = unseen_count - ((OLD.flags & 1) = 0)," \
	"    bytes = bytes - OLD.size WHERE id = OLD.mailbox;" \
	"  UPDATE mailboxes SET message_count = message_count + 1," \
	"    unseen_count = unseen_count + ((NEW.flags & 1) = 0)," \
	"    bytes = bytes + NEW.size WHERE id = NEW.mailbox;" \
	"END;" \
	"PRAGMA user_version = 6;"

/* What schema step 6 added, undone: a database as v5 left it. */
#define DOWN_TO_V5 \
	DOWN_TO_V6 \
	"DROP TRIGGER mailboxes_last_uidvalidity_update;" \
	"ALTER TABLE mailboxes DROP COLUMN recent_uid;" \
	"ALTER TABLE mailboxes ADD COLUMN" \
	"  subscribed INTEGER NOT NULL DEFAULT 1;" \
	"UPDATE mailboxes SET subscribed = EXISTS (SELECT 1 FROM" \
	"  subscriptions s WHERE s.account = mailboxes.account" \
	"  AND s.name = mailboxes.name);" \
	"DROP TABLE subscriptions;" \
	"PRAGMA user_version = 5;"

/* What schema step 5 added, undone: a database as v4 left it (its
 * triggers as v4 made them). */
#define DOWN_TO_V4 \
	DOWN_TO_V5 \
	"DROP TRIGGER messages_count_insert;" \
	"DROP TRIGGER messages_count_delete;" \
	"DROP TRIGGER messages_count_update;" \
	"ALTER TABLE mailboxes DROP COLUMN bytes;" \
	"ALTER TABLE accounts DROP COLUMN quota_storage;" \
	"ALTER TABLE accounts DROP COLUMN quota_messages;" \
	"ALTER TABLE accounts DROP COLUMN quota_warned;" \
	"ALTER TABLE domains DROP COLUMN quota_storage;" \
	"ALTER TABLE domains DROP COLUMN quota_messages;" \
	"CREATE TRIGGER messages_count_insert AFTER INSERT ON messages BEGIN" \
	"  UPDATE mailboxes SET message_count = message_count + 1," \
	"    unseen_count = unseen_count + ((NEW.flags & 1) = 0)" \
	"    WHERE id = NEW.mailbox;" \
	"END;" \
	"CREATE TRIGGER messages_count_delete AFTER DELETE ON messages BEGIN" \
	"  UPDATE mailboxes SET message_count = message_count - 1," \
	"    unseen_count = unseen_count - ((OLD.flags & 1) = 0)" \
	"    WHERE id = OLD.mailbox;" \
	"END;" \
	"CREATE TRIGGER messages_count_update AFTER UPDATE OF mailbox, flags" \
	"  ON messages WHEN NEW.mailbox IS NOT OLD.mailbox" \
	"  OR (NEW.flags & 1) IS NOT (OLD.flags & 1) BEGIN" \
	"  UPDATE mailboxes SET message_count = message_count - 1," \
	"    unseen_count = unseen_count - ((OLD.flags & 1) = 0)" \
	"    WHERE id = OLD.mailbox;" \
	"  UPDATE mailboxes SET message_count = message_count + 1," \
	"    unseen_count = unseen_count + ((NEW.flags & 1) = 0)" \
	"    WHERE id = NEW.mailbox;" \
	"END;" \
	"PRAGMA user_version = 4;"

/* What schema step 4 added, undone: a database as v3 left it. */
#define DOWN_TO_V3 \
	DOWN_TO_V4 \
	"DROP TRIGGER messages_count_insert;" \
	"DROP TRIGGER messages_count_delete;" \
	"DROP TRIGGER messages_count_update;" \
	"ALTER TABLE mailboxes DROP COLUMN message_count;" \
	"ALTER TABLE mailboxes DROP COLUMN unseen_count;" \
	"PRAGMA user_version = 3;"

/* A v2 database learns each account's highest UIDVALIDITY, and from then
 * on a mailbox deleted and created again gets a new one even when it had
 * the highest (RFC 3501 2.3.1.1). */
START_TEST(test_migrate_v2_uidvalidity_never_repeats)
{
	struct fixture fx;
	char db[PATH_MAX];

	open_with_work(&fx, db, sizeof db);
	int64_t first = sql_int(db, WORK_UIDVALIDITY);
	ck_assert_int_eq(sql_int(db, "SELECT max(uidvalidity) FROM mailboxes"),
			 first);
	fx_store_close(&fx);
	sql_exec(db, DOWN_TO_V3
		     "DROP TRIGGER mailboxes_last_uidvalidity;"
		     "ALTER TABLE accounts DROP COLUMN last_uidvalidity;"
		     "PRAGMA user_version = 2");

	fx_store_reopen(&fx, STORE_MODE_DAEMON);
	ck_assert_int_eq(sql_int(db, "PRAGMA user_version"),
			 STORE_SCHEMA_VERSION);
	ck_assert_int_eq(sql_int(db, LAST_UIDVALIDITY), first);
	ck_assert_int_eq(fx_run(&fx, job_work_delete, NULL), 0);
	ck_assert_int_eq(fx_run(&fx, job_work_create, NULL), 0);
	int64_t second = sql_int(db, WORK_UIDVALIDITY);
	ck_assert_int_gt(second, first);
	ck_assert_int_eq(sql_int(db, LAST_UIDVALIDITY), second);
	ck_assert_int_eq(fx_run(&fx, job_work_delete, NULL), 0);
	ck_assert_int_eq(fx_run(&fx, job_work_create, NULL), 0);
	ck_assert_int_gt(sql_int(db, WORK_UIDVALIDITY), second);
	fx_close(&fx);
}
END_TEST

static int job_deliver_work(struct store_txn *txn, void *data)
{
	static const char body[] = "Subject: w\r\n\r\nwork\r\n";
	int64_t mailbox, blob;
	uint32_t uid;
	int ret;

	(void)data;
	ret = store_txn_mailbox_id(txn, "bob@example.test", "Work", &mailbox);
	if (ret == 0)
		ret = store_txn_blob_put(txn, body, sizeof body - 1, &blob);
	if (ret == 0)
		ret = store_txn_message_append(txn, mailbox, blob, 0, 0,
					       &uid);
	return ret;
}

#define WORK_COUNTS \
	"SELECT message_count * 1000 + unseen_count FROM mailboxes" \
	" WHERE name = 'Work'"

/* A v3 database gets its mailboxes' counts from their messages, and the
 * triggers keep them from then on. */
START_TEST(test_migrate_v3_counts_messages)
{
	struct fixture fx;
	char db[PATH_MAX];

	open_with_work(&fx, db, sizeof db);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(fx_run(&fx, job_deliver_work, NULL), 0);
	fx_store_close(&fx);
	sql_exec(db, DOWN_TO_V3
		     "UPDATE messages SET flags = 1 WHERE uid <= 2;");

	fx_store_reopen(&fx, STORE_MODE_DAEMON);
	ck_assert_int_eq(sql_int(db, "PRAGMA user_version"),
			 STORE_SCHEMA_VERSION);
	ck_assert_int_eq(sql_int(db, WORK_COUNTS), 5003);
	ck_assert_int_eq(sql_int(db, "SELECT sum(message_count)"
				     " FROM mailboxes WHERE name != 'Work'"),
			 0);
	ck_assert_int_eq(fx_run(&fx, job_deliver_work, NULL), 0);
	ck_assert_int_eq(sql_int(db, WORK_COUNTS), 6004);
	fx_close(&fx);
}
END_TEST

#define USAGE \
	"SELECT sum(bytes) * 1000 + sum(message_count) FROM mailboxes" \
	" WHERE account = (SELECT id FROM accounts" \
	" WHERE address = 'bob@example.test')"

/* A v4 database gets each mailbox's bytes from its messages (usage for
 * quotas), and the new triggers keep them from then on. */
START_TEST(test_migrate_v4_fills_usage)
{
	struct fixture fx;
	char db[PATH_MAX];
	const int64_t size = 20; /* job_deliver_work's message */

	open_with_work(&fx, db, sizeof db);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(fx_run(&fx, job_deliver_work, NULL), 0);
	fx_store_close(&fx);
	sql_exec(db, DOWN_TO_V4);

	fx_store_reopen(&fx, STORE_MODE_DAEMON);
	ck_assert_int_eq(sql_int(db, "PRAGMA user_version"),
			 STORE_SCHEMA_VERSION);
	ck_assert_int_eq(sql_int(db, USAGE), 3 * size * 1000 + 3);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM accounts"
				     " WHERE quota_storage IS NULL"
				     " AND quota_messages IS NULL"
				     " AND quota_warned = 0"), 1);
	ck_assert_int_eq(fx_run(&fx, job_deliver_work, NULL), 0);
	ck_assert_int_eq(sql_int(db, USAGE), 4 * size * 1000 + 4);
	ck_assert_int_eq(sql_int(db, WORK_COUNTS), 4004);
	fx_close(&fx);
}
END_TEST

static int job_work_rename(struct store_txn *txn, void *data)
{
	struct store_rename r;
	int ret;

	(void)data;
	ret = store_txn_mailbox_rename(txn, "bob@example.test", "Work",
				       "Play", &r);
	if (ret == 0 && (r.count != 1 || r.inbox_id != 0))
		ret = -EPROTO;
	free(r.ids);
	return ret;
}

#define PLAY_UIDVALIDITY \
	"SELECT uidvalidity FROM mailboxes WHERE name = 'Play'"

/* From v6 a RENAME gives a new UIDVALIDITY, and the account's last one
 * follows it: Work created again after Work -> Play gets a greater one
 * than Play's (RFC 3501 2.3.1.1). */
START_TEST(test_migrate_v5_rename_uidvalidity)
{
	struct fixture fx;
	char db[PATH_MAX];

	open_with_work(&fx, db, sizeof db);
	int64_t first = sql_int(db, WORK_UIDVALIDITY);
	fx_store_close(&fx);
	sql_exec(db, DOWN_TO_V5);

	fx_store_reopen(&fx, STORE_MODE_DAEMON);
	ck_assert_int_eq(sql_int(db, "PRAGMA user_version"),
			 STORE_SCHEMA_VERSION);
	ck_assert_int_eq(fx_run(&fx, job_work_rename, NULL), 0);
	int64_t renamed = sql_int(db, PLAY_UIDVALIDITY);
	ck_assert_int_gt(renamed, first);
	ck_assert_int_eq(sql_int(db, LAST_UIDVALIDITY), renamed);
	ck_assert_int_eq(fx_run(&fx, job_work_create, NULL), 0);
	ck_assert_int_gt(sql_int(db, WORK_UIDVALIDITY), renamed);
	fx_close(&fx);
}
END_TEST

/* v6 keeps each mailbox's \Recent boundary: the mail a v5 database
 * has counts as seen, a mailbox made afterwards starts at UID 1. */
START_TEST(test_migrate_v5_recent_boundary)
{
	struct fixture fx;
	char db[PATH_MAX];

	open_with_work(&fx, db, sizeof db);
	ck_assert_int_eq(fx_run(&fx, job_deliver_work, NULL), 0);
	ck_assert_int_eq(fx_run(&fx, job_deliver_work, NULL), 0);
	fx_store_close(&fx);
	sql_exec(db, DOWN_TO_V5);

	fx_store_reopen(&fx, STORE_MODE_DAEMON);
	ck_assert_int_eq(sql_int(db, "SELECT recent_uid FROM mailboxes"
				     " WHERE name = 'Work'"),
			 3);
	ck_assert_int_eq(fx_run(&fx, job_work_rename, NULL), 0);
	ck_assert_int_eq(fx_run(&fx, job_work_create, NULL), 0);
	ck_assert_int_eq(sql_int(db, "SELECT recent_uid FROM mailboxes"
				     " WHERE name = 'Work'"),
			 1);
	struct store_mailbox m;
	ck_assert_int_eq(store_mailbox_get(fx.store, "bob@example.test",
					   "Play", &m), 0);
	ck_assert_int_eq(m.recent_uid, 3);
	uint32_t n = 99;
	ck_assert_int_eq(store_message_count_from(fx.store, m.id, 2, &n), 0);
	ck_assert_int_eq(n, 1);
	fx_close(&fx);
}
END_TEST

static int job_unsubscribe_work(struct store_txn *txn, void *data)
{
	(void)data;
	return store_txn_mailbox_subscribe(txn, "bob@example.test", "Work", 0);
}

static int count_name(void *data, const char *name)
{
	(void)name;
	++*(int *)data;
	return 0;
}

/* v6 moves the subscriptions into a list of names: what v5 marked
 * subscribed stays subscribed, the rest not; a name then outlives its
 * mailbox (RFC 3501 6.3.6). */
START_TEST(test_migrate_v5_subscriptions)
{
	struct fixture fx;
	char db[PATH_MAX];
	int n = 0;

	open_with_work(&fx, db, sizeof db);
	fx_store_close(&fx);
	sql_exec(db, DOWN_TO_V5
		     "UPDATE mailboxes SET subscribed ="
		     " name NOT IN ('Junk', 'Trash');");

	fx_store_reopen(&fx, STORE_MODE_DAEMON);
	ck_assert_int_eq(store_subscription_list(fx.store, "bob@example.test",
						 count_name, &n), 0);
	ck_assert_int_eq(n, 4); /* INBOX Sent Drafts Work */
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM subscriptions"
				     " WHERE name IN ('Junk', 'Trash')"),
			 0);
	ck_assert_int_eq(fx_run(&fx, job_work_delete, NULL), 0);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM subscriptions"
				     " WHERE name = 'Work'"),
			 1);
	ck_assert_int_eq(fx_run(&fx, job_unsubscribe_work, NULL), 0);
	ck_assert_int_eq(fx_run(&fx, job_unsubscribe_work, NULL), 0);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM subscriptions"
				     " WHERE name = 'Work'"),
			 0);
	fx_close(&fx);
}
END_TEST

static int job_expunge_work_1(struct store_txn *txn, void *data)
{
	int64_t mailbox;
	int ret = store_txn_mailbox_id(txn, "bob@example.test", "Work",
				       &mailbox);

	(void)data;
	return ret < 0 ? ret : store_txn_message_expunge(txn, mailbox, 1);
}

static int job_delete_work_2(struct store_txn *txn, void *data)
{
	int64_t mailbox;
	uint32_t flags;
	char kw[64];
	int ret = store_txn_mailbox_id(txn, "bob@example.test", "Work",
				       &mailbox);

	(void)data;
	return ret < 0 ? ret : store_txn_message_flags(txn, mailbox, 2, 1, 8,
						       NULL, &flags, kw,
						       sizeof kw);
}

static int collect_uid(void *data, uint32_t uid)
{
	uint32_t *u = data;

	u[++u[0]] = uid;
	return 0;
}

#define WORK_ROW(col) "SELECT " col " FROM mailboxes WHERE name = 'Work'"

/* v7: a v6 database had no tombstones, so the expunges it saw are
 * unknown: every mailbox's vanished floor starts at its highestmodseq.
 * From then on an expunge takes a modseq of its own and leaves a
 * tombstone; \Deleted messages and their octets are counted (from the
 * messages the migration finds, then by the triggers); a mailbox's
 * tombstones go with it. */
START_TEST(test_migrate_v6_tombstones)
{
	struct fixture fx;
	char db[PATH_MAX];
	struct store_mailbox m;

	open_with_work(&fx, db, sizeof db);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(fx_run(&fx, job_deliver_work, NULL), 0);
	fx_store_close(&fx);
	sql_exec(db, DOWN_TO_V6 "UPDATE messages SET flags = 8 WHERE uid = 3;");
	int64_t before = sql_int(db, WORK_ROW("highestmodseq"));

	fx_store_reopen(&fx, STORE_MODE_DAEMON);
	ck_assert_int_eq(sql_int(db, "PRAGMA user_version"),
			 STORE_SCHEMA_VERSION);
	ck_assert_int_eq(sql_int(db, WORK_ROW("vanished_floor")), before);
	ck_assert_int_eq(sql_int(db, WORK_ROW("deleted_count")), 1);
	int64_t size = sql_int(db, "SELECT size FROM messages WHERE uid = 3");
	ck_assert_int_eq(sql_int(db, WORK_ROW("deleted_bytes")), size);

	ck_assert_int_eq(fx_run(&fx, job_delete_work_2, NULL), 0);
	ck_assert_int_eq(sql_int(db, WORK_ROW("deleted_count")), 2);
	ck_assert_int_eq(sql_int(db, WORK_ROW("deleted_bytes")), 2 * size);
	int64_t flagged = sql_int(db, WORK_ROW("highestmodseq"));
	ck_assert_int_eq(fx_run(&fx, job_expunge_work_1, NULL), 0);
	ck_assert_int_eq(sql_int(db, WORK_ROW("highestmodseq")), flagged + 1);
	ck_assert_int_eq(sql_int(db, "SELECT modseq FROM expunged"
				     " WHERE uid = 1"),
			 flagged + 1);
	ck_assert_int_eq(store_mailbox_get(fx.store, "bob@example.test",
					   "Work", &m), 0);
	uint32_t got[8] = { 0 };
	ck_assert_int_eq(store_vanished(fx.store, m.id, (uint64_t)flagged,
					(uint64_t)flagged + 1, collect_uid,
					got), 0);
	ck_assert_int_eq(got[0], 1);
	ck_assert_int_eq(got[1], 1);
	got[0] = 0;
	ck_assert_int_eq(store_vanished(fx.store, m.id, (uint64_t)flagged + 1,
					UINT64_MAX >> 1, collect_uid, got),
			 0);
	ck_assert_int_eq(got[0], 0);

	ck_assert_int_eq(fx_run(&fx, job_work_delete, NULL), 0);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM expunged"), 0);
	fx_close(&fx);
}
END_TEST

struct prune_job {
	int64_t mailbox;
	uint32_t first, last, keep;
};

static int job_expunge_range(struct store_txn *txn, void *data)
{
	struct prune_job *p = data;
	int ret = 0;

	for (uint32_t uid = p->first; ret == 0 && uid <= p->last; uid++)
		ret = store_txn_message_expunge(txn, p->mailbox, uid);
	return ret == 0 ? store_txn_vanished_prune(txn, p->mailbox, p->keep)
			: ret;
}

/* Tombstones are pruned only past twice the bound, down to the bound,
 * oldest first, and the floor says up to which modseq they are gone. */
START_TEST(test_vanished_prune)
{
	struct fixture fx;
	char db[PATH_MAX];
	struct store_mailbox m;

	open_with_work(&fx, db, sizeof db);
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(fx_run(&fx, job_deliver_work, NULL), 0);
	ck_assert_int_eq(store_mailbox_get(fx.store, "bob@example.test",
					   "Work", &m), 0);
	struct prune_job p = { m.id, 1, 6, 3 };
	ck_assert_int_eq(fx_run(&fx, job_expunge_range, &p), 0);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM expunged"), 6);
	ck_assert_int_eq(sql_int(db, WORK_ROW("vanished_floor")), 0);
	p = (struct prune_job){ m.id, 7, 7, 3 };
	ck_assert_int_eq(fx_run(&fx, job_expunge_range, &p), 0);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM expunged"), 3);
	ck_assert_int_eq(sql_int(db, WORK_ROW("vanished_count")), 3);
	ck_assert_int_eq(sql_int(db, "SELECT min(uid) FROM expunged"), 5);
	ck_assert_int_eq(sql_int(db, WORK_ROW("vanished_floor")),
			 sql_int(db, "SELECT min(modseq) - 1 FROM expunged"));
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
	tcase_add_test(tc, test_migrate_v2_uidvalidity_never_repeats);
	tcase_add_test(tc, test_migrate_v3_counts_messages);
	tcase_add_test(tc, test_migrate_v4_fills_usage);
	tcase_add_test(tc, test_migrate_v5_rename_uidvalidity);
	tcase_add_test(tc, test_migrate_v5_recent_boundary);
	tcase_add_test(tc, test_migrate_v5_subscriptions);
	tcase_add_test(tc, test_migrate_v6_tombstones);
	tcase_add_test(tc, test_vanished_prune);
	tcase_add_test(tc, test_migrate_zero_byte_file);
	tcase_add_test(tc, test_missing_database);
	tcase_add_test(tc, test_newer_schema_refused);
	suite_add_tcase(s, tc);
	return s;
}
