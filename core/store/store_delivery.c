/* Delivery (writes): finding the INBOX a local copy goes to, and putting
 * remote recipients in the outbound queue. */
#include <errno.h>

#include "store/store_internal.h"

int store_txn_inbox_id(struct store_txn *txn, const char *account,
		       int64_t *mailbox_id_r)
{
	struct store_conn *c = txn->conn;
	sqlite3_stmt *st = store_conn_stmt(c, STMT_INBOX_ID,
		"SELECT m.id FROM mailboxes m JOIN accounts a ON a.id = m.account"
		" WHERE a.address = ?1 AND m.name = 'INBOX'");
	int rc;

	if (st == NULL)
		return -EIO;
	if (store_bind_text(st, 1, account) != SQLITE_OK)
		return store_conn_fail(c, sqlite3_errcode(c->db), "bind");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*mailbox_id_r = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return store_conn_errorf(c, -ENOENT, "no INBOX for %s", account);
	return store_conn_fail(c, rc, "inbox lookup");
}

int store_txn_queue_add(struct store_txn *txn, const char *sender,
			int64_t blob_id, const char *const *rcpts, size_t count,
			int64_t now_s, int64_t giveup_s, int64_t *queue_id_r)
{
	struct store_conn *c = txn->conn;
	sqlite3_stmt *st;
	int ret;

	if (count == 0)
		return -EINVAL;
	st = store_conn_stmt(c, STMT_QUEUE_ADD,
		"INSERT INTO queue (sender, blob, created, next_attempt, giveup)"
		" VALUES (?1, ?2, ?3, ?3, ?4)");
	if (st == NULL)
		return -EIO;
	if (store_bind_text(st, 1, sender) != SQLITE_OK)
		return store_conn_fail(c, sqlite3_errcode(c->db), "bind");
	sqlite3_bind_int64(st, 2, blob_id);
	sqlite3_bind_int64(st, 3, now_s);
	sqlite3_bind_int64(st, 4, giveup_s);
	ret = store_conn_step_done(c, st, "queue add");
	if (ret < 0)
		return ret;
	int64_t queue_id = sqlite3_last_insert_rowid(c->db);
	st = store_conn_stmt(c, STMT_QUEUE_RCPT_ADD,
		"INSERT INTO queue_rcpts (queue, address) VALUES (?1, ?2)");
	if (st == NULL)
		return -EIO;
	for (size_t i = 0; i < count; i++) {
		sqlite3_bind_int64(st, 1, queue_id);
		if (store_bind_text(st, 2, rcpts[i]) != SQLITE_OK)
			return store_conn_fail(c, sqlite3_errcode(c->db), "bind");
		ret = store_conn_step_done(c, st, "queue rcpt add");
		if (ret < 0)
			return ret;
	}
	if (queue_id_r != NULL)
		*queue_id_r = queue_id;
	return 0;
}

int store_txn_queue_fail_all(struct store_txn *txn, int64_t queue_id,
			     const char *reply)
{
	struct store_conn *c = txn->conn;
	sqlite3_stmt *st = store_conn_stmt(c, STMT_QUEUE_FAIL_ALL,
		"UPDATE queue_rcpts SET status = 1, last_reply = ?2"
		" WHERE queue = ?1");

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, queue_id);
	if (store_bind_text(st, 2, reply) != SQLITE_OK)
		return store_conn_fail(c, sqlite3_errcode(c->db), "bind");
	return store_conn_step_done(c, st, "queue fail");
}
