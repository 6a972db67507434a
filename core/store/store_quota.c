/* Quotas (RFC 9208): an account's usage, summed from its mailboxes' rows
 * (the triggers of schema v5 keep their bytes and message counts in the
 * same transaction as every change), and its limits: its own, or its
 * domain's default. The same query serves the loop's reads and a writer
 * job's checks, so a check in a job sees the job's earlier writes and
 * those of the batch before it. */
#include <errno.h>
#include <stdio.h>

#include "store/store_internal.h"

#define QUOTA_SELECT \
	"SELECT a.id, a.quota_storage, a.quota_messages, d.quota_storage," \
	" d.quota_messages, a.quota_warned, coalesce(a.lang, '')," \
	" (SELECT coalesce(sum(m.bytes), 0) FROM mailboxes m" \
	"  WHERE m.account = a.id)," \
	" (SELECT coalesce(sum(m.message_count), 0) FROM mailboxes m" \
	"  WHERE m.account = a.id)" \
	" FROM accounts a JOIN domains d ON d.id = a.domain" \
	" WHERE a.address = ?1"

static uint64_t column_limit(sqlite3_stmt *st, int col)
{
	int64_t v = sqlite3_column_int64(st, col);

	return sqlite3_column_type(st, col) == SQLITE_NULL || v < 0
		       ? 0 : (uint64_t)v;
}

static int quota_get(struct store_conn *c, sqlite3_stmt *st,
		     const char *address, struct store_quota *q)
{
	int rc;

	if (st == NULL)
		return -EIO;
	if (store_bind_text(st, 1, address) != SQLITE_OK)
		return store_conn_fail(c, sqlite3_errcode(c->db), "bind");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*q = (struct store_quota){ 0 };
		q->account_id = sqlite3_column_int64(st, 0);
		q->account_storage = sqlite3_column_type(st, 1) == SQLITE_NULL
					     ? STORE_QUOTA_DEFAULT
					     : (int64_t)column_limit(st, 1);
		q->account_messages = sqlite3_column_type(st, 2) == SQLITE_NULL
					      ? STORE_QUOTA_DEFAULT
					      : (int64_t)column_limit(st, 2);
		q->domain_storage = column_limit(st, 3);
		q->domain_messages = column_limit(st, 4);
		q->warned = (unsigned)sqlite3_column_int(st, 5);
		const unsigned char *lang = sqlite3_column_text(st, 6);
		snprintf(q->lang, sizeof(q->lang), "%s",
			 lang != NULL ? (const char *)lang : "");
		int64_t bytes = sqlite3_column_int64(st, 7);
		int64_t count = sqlite3_column_int64(st, 8);
		q->storage_used = bytes > 0 ? (uint64_t)bytes : 0;
		q->messages_used = count > 0 ? (uint64_t)count : 0;
		q->storage_limit = q->account_storage == STORE_QUOTA_DEFAULT
					   ? q->domain_storage
					   : (uint64_t)q->account_storage;
		q->messages_limit = q->account_messages == STORE_QUOTA_DEFAULT
					    ? q->domain_messages
					    : (uint64_t)q->account_messages;
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return store_conn_errorf(c, -ENOENT, "no account %s", address);
	return store_conn_fail(c, rc, "quota get");
}

int store_quota_get(struct store *store, const char *address,
		    struct store_quota *quota_r)
{
	struct store_conn *c = store->reader;

	if (store_address_domain(address) == NULL)
		return store_conn_errorf(c, -EINVAL, "invalid address");
	return quota_get(c, store_conn_stmt(c, STMT_R_QUOTA_GET, QUOTA_SELECT),
			 address, quota_r);
}

int store_txn_quota_get(struct store_txn *txn, const char *address,
			struct store_quota *quota_r)
{
	struct store_conn *c = txn->conn;

	if (store_address_domain(address) == NULL)
		return store_conn_errorf(c, -EINVAL, "invalid address");
	return quota_get(c, store_conn_stmt(c, STMT_QUOTA_GET, QUOTA_SELECT),
			 address, quota_r);
}

int store_quota_exceeds(const struct store_quota *q, uint64_t add_bytes,
			uint64_t add_messages)
{
	if (add_bytes == 0 && add_messages == 0)
		return 0;
	if (q->storage_limit > 0 && add_bytes > 0 &&
	    (q->storage_used >= q->storage_limit ||
	     add_bytes > q->storage_limit - q->storage_used))
		return 1;
	return q->messages_limit > 0 && add_messages > 0 &&
	       (q->messages_used >= q->messages_limit ||
		add_messages > q->messages_limit - q->messages_used);
}

/* A limit as bound: NULL for STORE_QUOTA_DEFAULT, else the number. */
static void bind_limit(sqlite3_stmt *st, int idx, int64_t limit)
{
	if (limit == STORE_QUOTA_DEFAULT)
		sqlite3_bind_null(st, idx);
	else
		sqlite3_bind_int64(st, idx, limit);
}

static int limit_valid(int64_t limit)
{
	return limit >= STORE_QUOTA_KEEP;
}

int store_txn_quota_set(struct store_txn *txn, const char *address,
			int64_t storage, int64_t messages)
{
	struct store_conn *c = txn->conn;
	sqlite3_stmt *st;
	int ret;

	if (store_address_domain(address) == NULL || !limit_valid(storage) ||
	    !limit_valid(messages))
		return store_conn_errorf(c, -EINVAL, "invalid quota");
	st = store_conn_stmt(c, STMT_QUOTA_SET,
			     "UPDATE accounts SET"
			     " quota_storage = CASE WHEN ?2 THEN quota_storage"
			     "  ELSE ?3 END,"
			     " quota_messages = CASE WHEN ?4 THEN quota_messages"
			     "  ELSE ?5 END"
			     " WHERE address = ?1");
	if (st == NULL)
		return -EIO;
	if (store_bind_text(st, 1, address) != SQLITE_OK)
		return store_conn_fail(c, sqlite3_errcode(c->db), "bind");
	sqlite3_bind_int(st, 2, storage == STORE_QUOTA_KEEP);
	bind_limit(st, 3, storage);
	sqlite3_bind_int(st, 4, messages == STORE_QUOTA_KEEP);
	bind_limit(st, 5, messages);
	ret = store_conn_step_done(c, st, "quota set");
	if (ret == 0 && sqlite3_changes(c->db) == 0)
		return store_conn_errorf(c, -ENOENT, "no account %s", address);
	return ret;
}

int store_txn_domain_quota_set(struct store_txn *txn, const char *domain,
			       int64_t storage, int64_t messages)
{
	struct store_conn *c = txn->conn;
	sqlite3_stmt *st;
	int ret;

	if (!store_valid_domain(domain) || !limit_valid(storage) ||
	    !limit_valid(messages))
		return store_conn_errorf(c, -EINVAL, "invalid quota");
	/* A domain has no default of its own to fall back on: DEFAULT and 0
	 * both mean no limit, stored as NULL. */
	if (storage == STORE_QUOTA_DEFAULT)
		storage = 0;
	if (messages == STORE_QUOTA_DEFAULT)
		messages = 0;
	st = store_conn_stmt(c, STMT_DOMAIN_QUOTA_SET,
			     "UPDATE domains SET"
			     " quota_storage = CASE WHEN ?2 THEN quota_storage"
			     "  ELSE nullif(?3, 0) END,"
			     " quota_messages = CASE WHEN ?4 THEN quota_messages"
			     "  ELSE nullif(?5, 0) END"
			     " WHERE name = ?1");
	if (st == NULL)
		return -EIO;
	if (store_bind_text(st, 1, domain) != SQLITE_OK)
		return store_conn_fail(c, sqlite3_errcode(c->db), "bind");
	sqlite3_bind_int(st, 2, storage == STORE_QUOTA_KEEP);
	sqlite3_bind_int64(st, 3, storage);
	sqlite3_bind_int(st, 4, messages == STORE_QUOTA_KEEP);
	sqlite3_bind_int64(st, 5, messages);
	ret = store_conn_step_done(c, st, "domain quota set");
	if (ret == 0 && sqlite3_changes(c->db) == 0)
		return store_conn_errorf(c, -ENOENT, "unknown domain %s",
					 domain);
	return ret;
}

int store_domain_quota_get(struct store *store, const char *domain,
			   uint64_t *storage_r, uint64_t *messages_r)
{
	struct store_conn *c = store->reader;
	sqlite3_stmt *st;
	int rc;

	if (!store_valid_domain(domain))
		return store_conn_errorf(c, -EINVAL, "invalid domain name");
	st = store_conn_stmt(c, STMT_R_DOMAIN_QUOTA,
			     "SELECT quota_storage, quota_messages FROM domains"
			     " WHERE name = ?1");
	if (st == NULL)
		return -EIO;
	if (store_bind_text(st, 1, domain) != SQLITE_OK)
		return store_conn_fail(c, sqlite3_errcode(c->db), "bind");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*storage_r = column_limit(st, 0);
		*messages_r = column_limit(st, 1);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return store_conn_errorf(c, -ENOENT, "unknown domain %s",
					 domain);
	return store_conn_fail(c, rc, "domain quota");
}

int store_txn_quota_warned(struct store_txn *txn, int64_t account_id,
			   unsigned percent)
{
	struct store_conn *c = txn->conn;
	sqlite3_stmt *st = store_conn_stmt(c, STMT_QUOTA_WARNED,
		"UPDATE accounts SET quota_warned = ?2 WHERE id = ?1");

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, account_id);
	sqlite3_bind_int64(st, 2, percent);
	return store_conn_step_done(c, st, "quota warned");
}
