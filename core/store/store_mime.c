/* MIME summaries of blobs: written once when a blob is first stored,
 * read by IMAP FETCH. */
#include <errno.h>
#include <string.h>

#include "store/store_internal.h"

int store_txn_mime_has(struct store_txn *txn, int64_t blob_id)
{
	struct store_conn *c = txn->conn;
	sqlite3_stmt *st = store_conn_stmt(c, STMT_MIME_HAS,
		"SELECT 1 FROM mime WHERE blob = ?1");
	int rc;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, blob_id);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return store_conn_fail(c, rc, "mime lookup");
}

int store_txn_mime_put(struct store_txn *txn, int64_t blob_id,
		       const char *envelope, const char *body,
		       const char *bodystructure, const char *parts)
{
	struct store_conn *c = txn->conn;
	sqlite3_stmt *st = store_conn_stmt(c, STMT_MIME_PUT,
		"INSERT OR REPLACE INTO mime"
		" (blob, envelope, body, bodystructure, parts)"
		" VALUES (?1, ?2, ?3, ?4, ?5)");

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, blob_id);
	if (store_bind_text(st, 2, envelope) != SQLITE_OK ||
	    store_bind_text(st, 3, body) != SQLITE_OK ||
	    store_bind_text(st, 4, bodystructure) != SQLITE_OK ||
	    store_bind_text(st, 5, parts) != SQLITE_OK)
		return store_conn_fail(c, sqlite3_errcode(c->db), "bind");
	return store_conn_step_done(c, st, "mime put");
}

int64_t store_mime_get(struct store *store, int64_t blob_id, int which,
		       char *buf, size_t buflen)
{
	static const struct {
		enum store_stmt_id id;
		const char *sql;
	} q[] = {
		{ STMT_R_MIME_ENVELOPE,
		  "SELECT envelope FROM mime WHERE blob = ?1" },
		{ STMT_R_MIME_BODY, "SELECT body FROM mime WHERE blob = ?1" },
		{ STMT_R_MIME_BODYSTRUCTURE,
		  "SELECT bodystructure FROM mime WHERE blob = ?1" },
		{ STMT_R_MIME_PARTS, "SELECT parts FROM mime WHERE blob = ?1" },
	};
	struct store_conn *c = store->reader;
	sqlite3_stmt *st;
	int64_t ret;
	int rc;

	if (which < 0 || which > 3 || buflen == 0)
		return -EINVAL;
	st = store_conn_stmt(c, q[which].id, q[which].sql);
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, blob_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *text = sqlite3_column_text(st, 0);
		size_t len = (size_t)sqlite3_column_bytes(st, 0);
		size_t n = len < buflen - 1 ? len : buflen - 1;

		if (n > 0)
			memcpy(buf, text, n);
		buf[n] = '\0';
		ret = (int64_t)len;
	} else if (rc == SQLITE_DONE) {
		ret = -ENOENT;
	} else {
		ret = store_conn_fail(c, rc, "mime get");
	}
	sqlite3_reset(st);
	return ret;
}
