/* Content-addressed blobs with trigger-kept refcounts, and UIDs. */
#include <check.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#define BODY "From: a@b.test\r\nSubject: hi\r\n\r\nhello\r\n"

static void two_accounts(struct fixture *fx)
{
	ck_assert_int_eq(t_domain_add(fx, "example.test"), 0);
	ck_assert_int_eq(t_account_add(fx, "bob@example.test", FAKE_HASH,
				       NULL),
			 0);
	ck_assert_int_eq(t_account_add(fx, "amy@example.test", FAKE_HASH,
				       NULL),
			 0);
}

static void assert_blobs(struct fixture *fx, int64_t blobs, int64_t refs)
{
	char db[PATH_MAX];
	int64_t b = -1, r = -1;

	ck_assert_int_eq(store_blob_stats(fx->store, &b, &r), 0);
	ck_assert_int_eq(b, blobs);
	ck_assert_int_eq(r, refs);
	/* The counts must match the rows that really reference blobs. */
	fx_db_path(fx, db, sizeof db);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM blobs b WHERE"
				     " refcount != (SELECT count(*) FROM"
				     " messages WHERE blob = b.id)"
				     " + (SELECT count(*) FROM queue"
				     " WHERE blob = b.id)"),
			 0);
}

START_TEST(test_blob_dedup)
{
	struct fixture fx;
	int64_t bob, amy, blob1, blob2;
	uint32_t uid1, uid2;
	char db[PATH_MAX];
	char *data = NULL;
	size_t len = 0;

	fx_open(&fx, STORE_MODE_DAEMON);
	fx_db_path(&fx, db, sizeof db);
	two_accounts(&fx);
	bob = t_mailbox_id(&fx, "bob@example.test", "INBOX");
	amy = t_mailbox_id(&fx, "amy@example.test", "INBOX");

	ck_assert_int_eq(t_blob_put(&fx, BODY, &blob1), 0);
	/* Nothing references it yet: the commit drops it. */
	assert_blobs(&fx, 0, 0);

	ck_assert_int_eq(t_deliver(&fx, bob, BODY, &uid1), 0);
	ck_assert_int_eq(t_deliver(&fx, amy, BODY, &uid2), 0);
	assert_blobs(&fx, 1, 2);
	ck_assert_int_eq(sql_int(db, "SELECT refcount FROM blobs"), 2);
	ck_assert_int_eq(sql_int(db, "SELECT size FROM blobs"),
			 (int64_t)strlen(BODY));
	ck_assert_int_eq(sql_int(db, "SELECT length(sha256) FROM blobs"), 32);
	ck_assert_int_eq(sql_int(db, "SELECT count(DISTINCT blob)"
				     " FROM messages"),
			 1);
	/* Same bytes, same id, no new row. */
	ck_assert_int_eq(t_deliver(&fx, bob, BODY, NULL), 0);
	ck_assert_int_eq(t_blob_put(&fx, BODY, &blob2), 0);
	ck_assert_int_eq(blob2, sql_int(db, "SELECT id FROM blobs"));
	ck_assert_int_eq(t_deliver(&fx, bob, "other body", NULL), 0);
	assert_blobs(&fx, 2, 4);

	ck_assert_int_eq(store_message_read(fx.store, amy, uid2, &data, &len),
			 0);
	ck_assert_uint_eq(len, strlen(BODY));
	ck_assert_mem_eq(data, BODY, len);
	free(data);
	data = NULL;
	ck_assert_int_eq(store_message_read(fx.store, amy, 99, &data, &len),
			 -ENOENT);
	ck_assert_ptr_null(data);

	ck_assert_int_eq(t_expunge(&fx, amy, uid2), 0);
	assert_blobs(&fx, 2, 3);
	ck_assert_int_eq(t_expunge(&fx, amy, uid2), -ENOENT);

	/* Account delete cascades to mailboxes and messages, and the
	 * triggers fire for the cascaded rows too. */
	ck_assert_int_eq(t_account_del(&fx, "bob@example.test"), 0);
	assert_blobs(&fx, 0, 0);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM messages"), 0);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM blobs"), 0);
	fx_close(&fx);
}
END_TEST

START_TEST(test_uids)
{
	struct fixture fx;
	struct store_mailbox m;
	int64_t inbox, modseq;
	uint32_t uid;
	char db[PATH_MAX];

	fx_open(&fx, STORE_MODE_DAEMON);
	fx_db_path(&fx, db, sizeof db);
	two_accounts(&fx);
	inbox = t_mailbox_id(&fx, "bob@example.test", "INBOX");
	for (uint32_t i = 1; i <= 3; i++) {
		ck_assert_int_eq(t_deliver(&fx, inbox, "m", &uid), 0);
		ck_assert_uint_eq(uid, i);
	}
	/* Expunging the last message must not give its UID back. */
	ck_assert_int_eq(t_expunge(&fx, inbox, 3), 0);
	ck_assert_int_eq(t_deliver(&fx, inbox, "m", &uid), 0);
	ck_assert_uint_eq(uid, 4);
	ck_assert_int_eq(t_expunge(&fx, inbox, 4), 0);
	ck_assert_int_eq(t_expunge(&fx, inbox, 2), 0);
	ck_assert_int_eq(t_expunge(&fx, inbox, 1), 0);
	ck_assert_int_eq(t_deliver(&fx, inbox, "m", &uid), 0);
	ck_assert_uint_eq(uid, 5);

	ck_assert_int_eq(store_mailbox_get(fx.store, "bob@example.test",
					   "INBOX", &m),
			 0);
	ck_assert_uint_eq(m.uidnext, 6);
	ck_assert_uint_eq(m.messages, 1);
	struct store_mailbox_status status;
	ck_assert_int_eq(store_mailbox_status(fx.store, m.id, &status), 0);
	ck_assert_uint_eq(status.uidnext, 6);
	ck_assert_uint_eq(status.messages, 1);
	ck_assert_uint_eq(status.unseen, 1);
	ck_assert_int_eq(status.highestmodseq,
			 sql_int(db, "SELECT highestmodseq FROM mailboxes"
				     " WHERE id = (SELECT mailbox FROM messages)"));
	ck_assert_int_eq(store_mailbox_status(fx.store, 999999, &status),
			 -ENOENT);
	ck_assert_int_eq(sql_int(db, "SELECT max(uid) FROM messages"), 5);

	/* Another mailbox has its own sequence. */
	ck_assert_int_eq(t_deliver(&fx, t_mailbox_id(&fx, "amy@example.test",
						     "Sent"),
				   "m", &uid),
			 0);
	ck_assert_uint_eq(uid, 1);

	/* Failures leave uidnext alone: the job's savepoint rolls back. */
	modseq = sql_int(db, "SELECT highestmodseq FROM mailboxes"
			     " WHERE name = 'INBOX' AND account = (SELECT id"
			     " FROM accounts WHERE address ="
			     " 'bob@example.test')");
	ck_assert_int_eq(t_append(&fx, inbox, 424242, NULL), -ENOENT);
	ck_assert_int_eq(t_deliver(&fx, 999999, "m", NULL), -ENOENT);
	ck_assert_int_eq(t_expunge(&fx, inbox, 77), -ENOENT);
	ck_assert_int_eq(store_mailbox_get(fx.store, "bob@example.test",
					   "INBOX", &m),
			 0);
	ck_assert_uint_eq(m.uidnext, 6);
	ck_assert_int_eq(sql_int(db, "SELECT highestmodseq FROM mailboxes"
				     " WHERE name = 'INBOX' AND account ="
				     " (SELECT id FROM accounts WHERE address"
				     " = 'bob@example.test')"),
			 modseq);
	fx_close(&fx);
}
END_TEST

/* STATUS's counts come from the mailbox's row: they must equal what a
 * scan of its messages would say after every kind of change. */
static void assert_counts(struct fixture *fx, const char *address,
			  const char *name, uint32_t messages, uint32_t unseen)
{
	struct store_mailbox_status st = { 0 };
	struct store_mailbox m;
	char db[PATH_MAX], sql[256];

	ck_assert_int_eq(store_mailbox_get(fx->store, address, name, &m), 0);
	ck_assert_uint_eq(m.messages, messages);
	ck_assert_int_eq(store_mailbox_status(fx->store, m.id, &st), 0);
	ck_assert_uint_eq(st.messages, messages);
	ck_assert_uint_eq(st.unseen, unseen);
	fx_db_path(fx, db, sizeof db);
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM messages WHERE mailbox = %lld",
		 (long long)m.id);
	ck_assert_int_eq(sql_int(db, sql), messages);
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM messages WHERE mailbox = %lld"
		 " AND (flags & 1) = 0",
		 (long long)m.id);
	ck_assert_int_eq(sql_int(db, sql), unseen);
}

struct flag_job {
	int64_t mailbox;
	uint32_t uid;
	int mode;
	uint32_t flags;
	int64_t to;
};

static int job_flags(struct store_txn *txn, void *data)
{
	const struct flag_job *j = data;
	uint32_t flags;
	char keywords[STORE_KEYWORDS_MAX];

	return store_txn_message_flags(txn, j->mailbox, j->uid, j->mode,
				       j->flags, "", &flags, keywords,
				       sizeof keywords);
}

static int job_copy(struct store_txn *txn, void *data)
{
	const struct flag_job *j = data;
	uint32_t uid;

	return store_txn_message_copy(txn, j->mailbox, j->uid, j->to, &uid);
}

static int job_delete_sent(struct store_txn *txn, void *data)
{
	int64_t id;

	(void)data;
	return store_txn_mailbox_delete(txn, "bob@example.test", "Sent", &id);
}

#define BOB "bob@example.test"

START_TEST(test_mailbox_counts)
{
	struct fixture fx;
	char db[PATH_MAX];

	fx_open(&fx, STORE_MODE_DAEMON);
	fx_db_path(&fx, db, sizeof db);
	two_accounts(&fx);
	int64_t inbox = t_mailbox_id(&fx, "bob@example.test", "INBOX");
	int64_t sent = t_mailbox_id(&fx, "bob@example.test", "Sent");
	assert_counts(&fx, BOB, "INBOX", 0, 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(t_deliver(&fx, inbox, BODY, NULL), 0);
	assert_counts(&fx, BOB, "INBOX", 3, 3);

	/* \Seen added, added again (no change), then another flag. */
	struct flag_job j = { .mailbox = inbox, .uid = 2, .mode = 1,
			      .flags = 1, .to = sent };
	ck_assert_int_eq(fx_run(&fx, job_flags, &j), 0);
	assert_counts(&fx, BOB, "INBOX", 3, 2);
	ck_assert_int_eq(fx_run(&fx, job_flags, &j), 0);
	j.flags = 1u << 2;
	ck_assert_int_eq(fx_run(&fx, job_flags, &j), 0);
	assert_counts(&fx, BOB, "INBOX", 3, 2);

	/* Copies keep their flags: one seen, one unseen. */
	ck_assert_int_eq(fx_run(&fx, job_copy, &j), 0);
	j.uid = 1;
	ck_assert_int_eq(fx_run(&fx, job_copy, &j), 0);
	assert_counts(&fx, BOB, "Sent", 2, 1);
	assert_counts(&fx, BOB, "INBOX", 3, 2);

	/* Replacing the flags without \Seen, then expunging a seen and an
	 * unseen message. */
	j = (struct flag_job){ .mailbox = inbox, .uid = 2, .mode = 0 };
	ck_assert_int_eq(fx_run(&fx, job_flags, &j), 0);
	assert_counts(&fx, BOB, "INBOX", 3, 3);
	j = (struct flag_job){ .mailbox = inbox, .uid = 3, .mode = 1,
			       .flags = 1 };
	ck_assert_int_eq(fx_run(&fx, job_flags, &j), 0);
	ck_assert_int_eq(t_expunge(&fx, inbox, 3), 0);
	ck_assert_int_eq(t_expunge(&fx, inbox, 1), 0);
	assert_counts(&fx, BOB, "INBOX", 1, 1);

	/* A row moved to another mailbox by SQL counts in its new one. */
	char sql[256];
	snprintf(sql, sizeof sql,
		 "UPDATE messages SET mailbox = %lld, uid = 100"
		 " WHERE mailbox = %lld AND uid = 2",
		 (long long)sent, (long long)inbox);
	sql_exec(db, sql);
	assert_counts(&fx, BOB, "INBOX", 0, 0);
	assert_counts(&fx, BOB, "Sent", 3, 2);

	/* Deleting a mailbox or the account takes its messages with it
	 * through the cascade, and the other mailboxes keep their counts. */
	ck_assert_int_eq(t_deliver(&fx, inbox, BODY, NULL), 0);
	ck_assert_int_eq(fx_run(&fx, job_delete_sent, NULL), 0);
	assert_counts(&fx, BOB, "INBOX", 1, 1);
	int64_t amy = t_mailbox_id(&fx, "amy@example.test", "INBOX");
	ck_assert_int_eq(t_deliver(&fx, amy, BODY, NULL), 0);
	ck_assert_int_eq(t_account_del(&fx, "bob@example.test"), 0);
	assert_counts(&fx, "amy@example.test", "INBOX", 1, 1);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM messages"), 1);
	fx_close(&fx);
}
END_TEST

static int64_t raw_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v;

	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void raw_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK,
		      "%s: %s", sql, msg != NULL ? msg : "?");
}

/* The schema's triggers and keys on their own, inside one transaction, so
 * the writer's commit-time sweep of unreferenced blobs cannot hide a
 * trigger that forgot to delete. */
START_TEST(test_schema_triggers)
{
	struct fixture fx;
	char db_path[PATH_MAX];
	sqlite3 *db = NULL;

	fx_open(&fx, STORE_MODE_DAEMON);
	fx_db_path(&fx, db_path, sizeof db_path);
	two_accounts(&fx);
	ck_assert_int_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE,
					 NULL),
			 SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	raw_exec(db, "PRAGMA foreign_keys = ON; BEGIN IMMEDIATE;"
		     "INSERT INTO blobs (id, sha256, size, data)"
		     " VALUES (1, x'01', 1, x'41'), (2, x'02', 1, x'42');"
		     "INSERT INTO messages (mailbox, uid, blob, internaldate,"
		     " size, modseq) SELECT m.id, 1, 1, 0, 1, 1"
		     " FROM mailboxes m JOIN accounts a ON a.id = m.account"
		     " WHERE a.address = 'bob@example.test';"
		     "INSERT INTO queue (id, sender, blob, created,"
		     " next_attempt, giveup) VALUES (1, 'x@y.test', 1, 0, 0, 9),"
		     " (2, 'x@y.test', 2, 0, 0, 9);"
		     "INSERT INTO queue_rcpts (queue, address)"
		     " VALUES (1, 'r@z.test');");
	/* Five mailboxes of bob's and one queue entry hold blob 1. */
	ck_assert_int_eq(raw_int(db, "SELECT refcount FROM blobs WHERE id = 1"),
			 6);
	ck_assert_int_eq(raw_int(db, "SELECT refcount FROM blobs WHERE id = 2"),
			 1);

	/* A domain with accounts cannot go, even around the C check. */
	ck_assert_int_eq(sqlite3_exec(db, "DELETE FROM domains", NULL, NULL,
				      NULL),
			 SQLITE_CONSTRAINT);

	/* Queue done: its reference goes, its recipients go with it. */
	raw_exec(db, "DELETE FROM queue WHERE id = 2");
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM blobs"
				     " WHERE id = 2"),
			 0);
	raw_exec(db, "DELETE FROM queue WHERE id = 1");
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM queue_rcpts"), 0);
	ck_assert_int_eq(raw_int(db, "SELECT refcount FROM blobs WHERE id = 1"),
			 5);
	/* Account delete: cascaded message deletes fire the triggers, and
	 * the blob is gone in the same transaction. */
	raw_exec(db, "DELETE FROM accounts WHERE address = 'bob@example.test'");
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM messages"), 0);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM blobs"), 0);
	raw_exec(db, "COMMIT");
	ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
	ck_assert_int_eq(sql_int(db_path, "SELECT count(*) FROM accounts"), 1);
	fx_close(&fx);
}
END_TEST

Suite *suite_messages(void)
{
	Suite *s = suite_create("store_messages");
	TCase *tc = tcase_create("messages");

	tu_add_fixture(tc);
	tcase_add_test(tc, test_blob_dedup);
	tcase_add_test(tc, test_uids);
	tcase_add_test(tc, test_mailbox_counts);
	tcase_add_test(tc, test_schema_triggers);
	suite_add_tcase(s, tc);
	return s;
}
