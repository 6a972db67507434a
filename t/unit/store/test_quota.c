/* Quotas: usage kept by the schema's triggers must equal a scan of the
 * messages after every kind of change, and limits resolve from the
 * account's own setting or its domain's default. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "test_util.h"

#define BOB "bob@example.test"
#define AMY "amy@example.test"
#define BODY "From: a@b.test\r\nSubject: hi\r\n\r\nhello\r\n"
#define BIG "From: a@b.test\r\nSubject: big\r\n\r\nhello, a longer one\r\n"

static void two_accounts(struct fixture *fx)
{
	ck_assert_int_eq(t_domain_add(fx, "example.test"), 0);
	ck_assert_int_eq(t_account_add(fx, BOB, FAKE_HASH, NULL), 0);
	ck_assert_int_eq(t_account_add(fx, AMY, FAKE_HASH, NULL), 0);
}

struct usage_job {
	const char *address;
	struct store_quota q;
};

static int job_quota_get(struct store_txn *txn, void *data)
{
	struct usage_job *j = data;

	return store_txn_quota_get(txn, j->address, &j->q);
}

/* The usage the store reports (read side and inside a job) against a
 * scan of the account's messages. */
static void assert_usage(struct fixture *fx, const char *address,
			 uint64_t messages, uint64_t bytes)
{
	struct store_quota q;
	struct usage_job j = { .address = address };
	char db[PATH_MAX], sql[512];

	ck_assert_int_eq(store_quota_get(fx->store, address, &q), 0);
	ck_assert_int_eq(fx_run(fx, job_quota_get, &j), 0);
	fx_db_path(fx, db, sizeof db);
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM messages m JOIN mailboxes x"
		 " ON x.id = m.mailbox JOIN accounts a ON a.id = x.account"
		 " WHERE a.address = '%s'", address);
	ck_assert_int_eq(sql_int(db, sql), (int64_t)messages);
	snprintf(sql, sizeof sql,
		 "SELECT coalesce(sum(m.size), 0) FROM messages m"
		 " JOIN mailboxes x ON x.id = m.mailbox JOIN accounts a"
		 " ON a.id = x.account WHERE a.address = '%s'", address);
	ck_assert_int_eq(sql_int(db, sql), (int64_t)bytes);
	ck_assert_uint_eq(q.messages_used, messages);
	ck_assert_uint_eq(q.storage_used, bytes);
	ck_assert_uint_eq(j.q.messages_used, messages);
	ck_assert_uint_eq(j.q.storage_used, bytes);
}

/* One body for both accounts, in one job, as a delivery to two local
 * recipients stores it. */
static int job_deliver_both(struct store_txn *txn, void *data)
{
	int64_t blob, inbox;
	int ret;

	(void)data;
	ret = store_txn_blob_put(txn, BIG, strlen(BIG), &blob);
	if (ret == 0)
		ret = store_txn_inbox_id(txn, BOB, &inbox);
	if (ret == 0)
		ret = store_txn_message_append(txn, inbox, blob, 0, 0, NULL);
	if (ret == 0)
		ret = store_txn_inbox_id(txn, AMY, &inbox);
	if (ret == 0)
		ret = store_txn_message_append(txn, inbox, blob, 0, 0, NULL);
	return ret;
}

struct copy_job {
	int64_t from, to;
	uint32_t uid;
	int move;
};

static int job_copy(struct store_txn *txn, void *data)
{
	const struct copy_job *j = data;
	uint32_t uid;
	int ret = store_txn_message_copy(txn, j->from, j->uid, j->to, &uid);

	if (ret == 0 && j->move)
		ret = store_txn_message_expunge(txn, j->from, j->uid);
	return ret;
}

static int job_rename_inbox(struct store_txn *txn, void *data)
{
	struct store_rename r;

	(void)data;
	return store_txn_mailbox_rename(txn, BOB, "INBOX", "Old", &r);
}

static int job_delete_old(struct store_txn *txn, void *data)
{
	int64_t id;

	(void)data;
	return store_txn_mailbox_delete(txn, BOB, "Old", &id);
}

START_TEST(test_quota_usage)
{
	struct fixture fx;
	const uint64_t s = strlen(BODY), b = strlen(BIG);

	fx_open(&fx, STORE_MODE_DAEMON);
	two_accounts(&fx);
	int64_t inbox = t_mailbox_id(&fx, BOB, "INBOX");
	int64_t sent = t_mailbox_id(&fx, BOB, "Sent");
	assert_usage(&fx, BOB, 0, 0);

	/* One stored body, two recipients: each pays for a copy. */
	ck_assert_int_eq(fx_run(&fx, job_deliver_both, NULL), 0);
	assert_usage(&fx, BOB, 1, b);
	assert_usage(&fx, AMY, 1, b);
	/* An APPEND-like store of the same bytes again, and another. */
	ck_assert_int_eq(t_deliver(&fx, inbox, BIG, NULL), 0);
	ck_assert_int_eq(t_deliver(&fx, inbox, BODY, NULL), 0);
	assert_usage(&fx, BOB, 3, 2 * b + s);

	/* COPY adds a copy; MOVE changes nothing; EXPUNGE takes one off. */
	struct copy_job c = { .from = inbox, .to = sent, .uid = 3 };
	ck_assert_int_eq(fx_run(&fx, job_copy, &c), 0);
	assert_usage(&fx, BOB, 4, 2 * b + 2 * s);
	c.uid = 1;
	c.move = 1;
	ck_assert_int_eq(fx_run(&fx, job_copy, &c), 0);
	assert_usage(&fx, BOB, 4, 2 * b + 2 * s);
	ck_assert_int_eq(t_expunge(&fx, inbox, 3), 0);
	assert_usage(&fx, BOB, 3, 2 * b + s);
	assert_usage(&fx, AMY, 1, b);

	/* Renaming INBOX moves its messages into a new mailbox. */
	ck_assert_int_eq(fx_run(&fx, job_rename_inbox, NULL), 0);
	assert_usage(&fx, BOB, 3, 2 * b + s);
	/* Deleting a mailbox takes its messages' usage with them. */
	ck_assert_int_eq(fx_run(&fx, job_delete_old, NULL), 0);
	assert_usage(&fx, BOB, 2, b + s);
	/* Deleting an account leaves the other's usage alone. */
	ck_assert_int_eq(t_account_del(&fx, BOB), 0);
	struct store_quota q;
	ck_assert_int_eq(store_quota_get(fx.store, BOB, &q), -ENOENT);
	assert_usage(&fx, AMY, 1, b);
	fx_close(&fx);
}
END_TEST

struct set_job {
	const char *target;
	int domain;
	int64_t storage, messages;
};

static int job_quota_set(struct store_txn *txn, void *data)
{
	const struct set_job *j = data;

	return j->domain ? store_txn_domain_quota_set(txn, j->target,
						      j->storage, j->messages)
			 : store_txn_quota_set(txn, j->target, j->storage,
					       j->messages);
}

static int quota_set(struct fixture *fx, const char *target, int domain,
		     int64_t storage, int64_t messages)
{
	struct set_job j = { target, domain, storage, messages };

	return fx_run(fx, job_quota_set, &j);
}

static void assert_limits(struct fixture *fx, const char *address,
			  uint64_t storage, uint64_t messages)
{
	struct store_quota q;

	ck_assert_int_eq(store_quota_get(fx->store, address, &q), 0);
	ck_assert_uint_eq(q.storage_limit, storage);
	ck_assert_uint_eq(q.messages_limit, messages);
}

START_TEST(test_quota_limits)
{
	struct fixture fx;
	struct store_quota q;
	uint64_t ds, dm;

	fx_open(&fx, STORE_MODE_DAEMON);
	two_accounts(&fx);
	assert_limits(&fx, BOB, 0, 0);

	/* A domain default applies to accounts without their own. */
	ck_assert_int_eq(quota_set(&fx, "example.test", 1, 1000, 10), 0);
	assert_limits(&fx, BOB, 1000, 10);
	ck_assert_int_eq(store_domain_quota_get(fx.store, "example.test", &ds,
						&dm), 0);
	ck_assert_uint_eq(ds, 1000);
	ck_assert_uint_eq(dm, 10);
	/* An account's own limit, its own "none" (0), KEEP, DEFAULT. */
	ck_assert_int_eq(quota_set(&fx, BOB, 0, 5000, STORE_QUOTA_KEEP), 0);
	assert_limits(&fx, BOB, 5000, 10);
	assert_limits(&fx, AMY, 1000, 10);
	ck_assert_int_eq(quota_set(&fx, BOB, 0, STORE_QUOTA_KEEP, 0), 0);
	assert_limits(&fx, BOB, 5000, 0);
	ck_assert_int_eq(store_quota_get(fx.store, BOB, &q), 0);
	ck_assert_int_eq(q.account_storage, 5000);
	ck_assert_int_eq(q.account_messages, 0);
	ck_assert_uint_eq(q.domain_storage, 1000);
	ck_assert_int_eq(quota_set(&fx, BOB, 0, STORE_QUOTA_DEFAULT,
				   STORE_QUOTA_DEFAULT), 0);
	assert_limits(&fx, BOB, 1000, 10);
	ck_assert_int_eq(store_quota_get(fx.store, BOB, &q), 0);
	ck_assert_int_eq(q.account_storage, STORE_QUOTA_DEFAULT);
	/* A domain's "default" is no limit. */
	ck_assert_int_eq(quota_set(&fx, "example.test", 1, STORE_QUOTA_DEFAULT,
				   0), 0);
	assert_limits(&fx, BOB, 0, 0);

	ck_assert_int_eq(quota_set(&fx, "nobody@example.test", 0, 1, 1),
			 -ENOENT);
	ck_assert_int_eq(quota_set(&fx, "other.test", 1, 1, 1), -ENOENT);
	ck_assert_int_eq(quota_set(&fx, BOB, 0, -3, 1), -EINVAL);
	ck_assert_int_eq(store_domain_quota_get(fx.store, "other.test", &ds,
						&dm), -ENOENT);
	fx_close(&fx);
}
END_TEST

START_TEST(test_quota_exceeds)
{
	struct store_quota q = { .storage_used = 900, .storage_limit = 1000,
				 .messages_used = 9, .messages_limit = 10 };

	ck_assert_int_eq(store_quota_exceeds(&q, 100, 1), 0);
	ck_assert_int_eq(store_quota_exceeds(&q, 101, 1), 1);
	ck_assert_int_eq(store_quota_exceeds(&q, 1, 2), 1);
	/* Adding nothing never exceeds, even over the limit. */
	q.storage_used = 2000;
	ck_assert_int_eq(store_quota_exceeds(&q, 0, 0), 0);
	ck_assert_int_eq(store_quota_exceeds(&q, 1, 0), 1);
	/* No limit. */
	q.storage_limit = q.messages_limit = 0;
	ck_assert_int_eq(store_quota_exceeds(&q, UINT64_MAX, 1000), 0);
	q.storage_limit = UINT64_MAX;
	q.storage_used = UINT64_MAX - 1;
	ck_assert_int_eq(store_quota_exceeds(&q, 1, 0), 0);
	ck_assert_int_eq(store_quota_exceeds(&q, 2, 0), 1);
}
END_TEST

Suite *suite_quota(void)
{
	Suite *s = suite_create("quota");
	TCase *tc = tcase_create("quota");

	tu_add_fixture(tc);
	tcase_add_test(tc, test_quota_usage);
	tcase_add_test(tc, test_quota_limits);
	tcase_add_test(tc, test_quota_exceeds);
	suite_add_tcase(s, tc);
	return s;
}
