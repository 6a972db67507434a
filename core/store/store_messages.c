/* Blobs and messages (writes). Bodies are content-addressed by SHA-256 and
 * shared; the triggers in the schema count the references. */
#include <errno.h>
#include <gnutls/crypto.h>

#include "store/store_internal.h"

#define SHA256_LEN 32

static int blob_find(struct store_conn *c, const unsigned char *digest,
		     int64_t *id_r)
{
	sqlite3_stmt *st;
	int rc;

	st = store_conn_stmt(c, STMT_BLOB_FIND,
			     "SELECT id FROM blobs WHERE sha256 = ?1");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_blob(st, 1, digest, SHA256_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*id_r = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return -ENOENT;
	return store_conn_fail(c, rc, "blob lookup");
}

int store_txn_blob_put(struct store_txn *txn, const void *data, size_t len,
		       int64_t *blob_id_r)
{
	struct store_conn *c = txn->conn;
	unsigned char digest[SHA256_LEN];
	sqlite3_stmt *st;
	int ret;

	if ((data == NULL && len > 0) || blob_id_r == NULL ||
	    len > (size_t)sqlite3_limit(c->db, SQLITE_LIMIT_LENGTH, -1))
		return store_conn_errorf(c, -EINVAL, "invalid blob");
	if (data == NULL)
		data = "";
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, digest) < 0)
		return store_conn_errorf(c, -EIO, "sha256 failed");
	ret = blob_find(c, digest, blob_id_r);
	if (ret != -ENOENT)
		return ret;

	/* refcount starts at 0: the message or queue row that references
	 * the blob takes the first reference through its trigger. */
	st = store_conn_stmt(c, STMT_BLOB_ADD,
			     "INSERT INTO blobs (sha256, size, data)"
			     " VALUES (?1, ?2, ?3)");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_blob(st, 1, digest, SHA256_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)len);
	if (sqlite3_bind_blob64(st, 3, data, len, SQLITE_STATIC) != SQLITE_OK)
		return store_conn_fail(c, sqlite3_errcode(c->db), "bind");
	ret = store_conn_step_done(c, st, "blob put");
	if (ret < 0)
		return ret;
	*blob_id_r = sqlite3_last_insert_rowid(c->db);
	return 0;
}

/* Takes the mailbox's next UID and modseq in one statement. */
int store_mailbox_next_uid(struct store_conn *c, int64_t mailbox_id,
			   int64_t *uid_r, int64_t *modseq_r)
{
	sqlite3_stmt *st;
	int rc;

	st = store_conn_stmt(c, STMT_MAILBOX_NEXT_UID,
			     "UPDATE mailboxes SET uidnext = uidnext + 1,"
			     " highestmodseq = highestmodseq + 1"
			     " WHERE id = ?1 AND uidnext <= 4294967295"
			     " RETURNING uidnext - 1, highestmodseq");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, mailbox_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*uid_r = sqlite3_column_int64(st, 0);
		*modseq_r = sqlite3_column_int64(st, 1);
		/* RETURNING finishes its UPDATE on the first step already;
		 * step to the end to leave the statement clean. */
		rc = sqlite3_step(st);
		if (rc == SQLITE_DONE)
			rc = SQLITE_ROW;
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return store_conn_errorf(c, -ENOENT,
					 "no mailbox %lld or UIDs exhausted",
					 (long long)mailbox_id);
	return store_conn_fail(c, rc, "next uid");
}

int store_txn_message_append(struct store_txn *txn, int64_t mailbox_id,
			     int64_t blob_id, uint32_t flags,
			     int64_t internaldate, uint32_t *uid_r)
{
	struct store_conn *c = txn->conn;
	sqlite3_stmt *st;
	int64_t uid = 0, modseq = 0;
	int ret;

	ret = store_mailbox_next_uid(c, mailbox_id, &uid, &modseq);
	if (ret < 0)
		return ret;
	st = store_conn_stmt(c, STMT_MESSAGE_ADD,
			     "INSERT INTO messages (mailbox, uid, blob, flags,"
			     " internaldate, size, modseq)"
			     " SELECT ?1, ?2, id, ?3, ?4, size, ?5"
			     " FROM blobs WHERE id = ?6");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, uid);
	sqlite3_bind_int64(st, 3, flags);
	sqlite3_bind_int64(st, 4, internaldate);
	sqlite3_bind_int64(st, 5, modseq);
	sqlite3_bind_int64(st, 6, blob_id);
	ret = store_conn_step_done(c, st, "message append");
	if (ret < 0)
		return ret;
	if (sqlite3_changes(c->db) == 0)
		return store_conn_errorf(c, -ENOENT, "no blob %lld",
					 (long long)blob_id);
	if (uid_r != NULL)
		*uid_r = (uint32_t)uid;
	return 0;
}

int store_txn_message_expunge(struct store_txn *txn, int64_t mailbox_id,
			      uint32_t uid)
{
	struct store_conn *c = txn->conn;
	sqlite3_stmt *st;
	int ret;

	st = store_conn_stmt(c, STMT_MESSAGE_DEL,
			     "DELETE FROM messages"
			     " WHERE mailbox = ?1 AND uid = ?2");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, uid);
	ret = store_conn_step_done(c, st, "expunge");
	if (ret < 0)
		return ret;
	if (sqlite3_changes(c->db) == 0)
		return store_conn_errorf(c, -ENOENT, "no message %u", uid);
	/* The schema's trigger took the expunge's modseq and left the
	 * tombstone QRESYNC reads. */
	return 0;
}

int store_txn_vanished_prune(struct store_txn *txn, int64_t mailbox_id,
			     uint32_t keep)
{
	struct store_conn *c = txn->conn;
	sqlite3_stmt *st;
	int64_t count = 0, floor = 0;
	int rc, ret;

	st = store_conn_stmt(c, STMT_VANISHED_COUNT,
			     "SELECT vanished_count FROM mailboxes"
			     " WHERE id = ?1");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, mailbox_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		count = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_conn_fail(c, rc, "vanished count");
	/* Down to keep once there are twice as many: a prune's cost is
	 * spread over the expunges that made it necessary. */
	if (count <= 2 * (int64_t)keep)
		return 0;
	st = store_conn_stmt(c, STMT_VANISHED_CUT,
			     "SELECT modseq FROM expunged WHERE mailbox = ?1"
			     " ORDER BY modseq LIMIT 1 OFFSET ?2");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, count - keep - 1);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		floor = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_conn_fail(c, rc, "vanished cut");
	st = store_conn_stmt(c, STMT_VANISHED_PRUNE,
			     "DELETE FROM expunged WHERE mailbox = ?1"
			     " AND modseq <= ?2");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, floor);
	ret = store_conn_step_done(c, st, "vanished prune");
	if (ret < 0)
		return ret;
	int pruned = sqlite3_changes(c->db);
	st = store_conn_stmt(c, STMT_VANISHED_FLOOR,
			     "UPDATE mailboxes SET vanished_floor ="
			     " max(vanished_floor, ?2), vanished_count ="
			     " vanished_count - ?3 WHERE id = ?1");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, floor);
	sqlite3_bind_int64(st, 3, pruned);
	return store_conn_step_done(c, st, "vanished floor");
}
