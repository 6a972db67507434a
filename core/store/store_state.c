/* Per-module key/value state with optional expiry (writes and the read).
 * expires_at 0 means never; otherwise an entry is gone as of expires_at. */
#include <errno.h>
#include <string.h>

#include "store/store_internal.h"

static int state_key_valid(const char *module, const char *key)
{
	return module != NULL && module[0] != '\0' && key != NULL &&
	       key[0] != '\0';
}

int store_txn_state_put(struct store_txn *txn, const char *module,
			const char *key, const void *value, size_t len,
			int64_t expires_at)
{
	struct store_conn *c = txn->conn;
	sqlite3_stmt *st;

	if (!state_key_valid(module, key) || (value == NULL && len > 0) ||
	    expires_at < 0)
		return store_conn_errorf(c, -EINVAL, "invalid state entry");
	st = store_conn_stmt(c, STMT_STATE_PUT,
			     "INSERT INTO module_state"
			     " (module, key, value, expires_at)"
			     " VALUES (?1, ?2, ?3, ?4)"
			     " ON CONFLICT (module, key) DO UPDATE SET"
			     " value = excluded.value,"
			     " expires_at = excluded.expires_at");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 4, expires_at);
	/* A NULL pointer would bind SQL NULL, not an empty value. */
	if (store_bind_text(st, 1, module) != SQLITE_OK ||
	    store_bind_text(st, 2, key) != SQLITE_OK ||
	    sqlite3_bind_blob64(st, 3, value != NULL ? value : "", len,
				SQLITE_STATIC) != SQLITE_OK)
		return store_conn_fail(c, sqlite3_errcode(c->db), "bind");
	return store_conn_step_done(c, st, "state put");
}

int store_txn_state_delete(struct store_txn *txn, const char *module,
			   const char *key)
{
	struct store_conn *c = txn->conn;
	sqlite3_stmt *st;
	int ret;

	if (!state_key_valid(module, key))
		return store_conn_errorf(c, -EINVAL, "invalid state key");
	st = store_conn_stmt(c, STMT_STATE_DEL,
			     "DELETE FROM module_state"
			     " WHERE module = ?1 AND key = ?2");
	if (st == NULL)
		return -EIO;
	if (store_bind_text(st, 1, module) != SQLITE_OK ||
	    store_bind_text(st, 2, key) != SQLITE_OK)
		return store_conn_fail(c, sqlite3_errcode(c->db), "bind");
	ret = store_conn_step_done(c, st, "state delete");
	if (ret == 0 && sqlite3_changes(c->db) == 0)
		return store_conn_errorf(c, -ENOENT, "no state entry");
	return ret;
}

int store_txn_state_prune(struct store_txn *txn, int64_t now_s)
{
	struct store_conn *c = txn->conn;
	sqlite3_stmt *st;
	int ret;

	st = store_conn_stmt(c, STMT_STATE_PRUNE,
			     "DELETE FROM module_state"
			     " WHERE expires_at > 0 AND expires_at <= ?1");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, now_s);
	ret = store_conn_step_done(c, st, "state prune");
	if (ret < 0)
		return ret;
	return sqlite3_changes(c->db);
}

int store_state_get(struct store *store, const char *module, const char *key,
		    int64_t now_s, void *buf, size_t buflen, size_t *len_r)
{
	struct store_conn *c = store->reader;
	sqlite3_stmt *st;
	int rc, ret = 0;

	if (!state_key_valid(module, key) || (buf == NULL && buflen > 0))
		return store_conn_errorf(c, -EINVAL, "invalid state key");
	st = store_conn_stmt(c, STMT_R_STATE_GET,
			     "SELECT value FROM module_state"
			     " WHERE module = ?1 AND key = ?2"
			     " AND (expires_at = 0 OR expires_at > ?3)");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 3, now_s);
	if (store_bind_text(st, 1, module) != SQLITE_OK ||
	    store_bind_text(st, 2, key) != SQLITE_OK)
		return store_conn_fail(c, sqlite3_errcode(c->db), "bind");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const void *value = sqlite3_column_blob(st, 0);
		size_t len = (size_t)sqlite3_column_bytes(st, 0);

		if (len > 0 && buflen > 0)
			memcpy(buf, value, len < buflen ? len : buflen);
		if (len_r != NULL)
			*len_r = len;
	} else if (rc == SQLITE_DONE) {
		ret = store_conn_errorf(c, -ENOENT, "no state entry");
	} else {
		ret = store_conn_fail(c, rc, "state get");
	}
	sqlite3_reset(st);
	return ret;
}

int store_state_scan(struct store *store, const char *module,
		     const char *prefix, int64_t now_s,
		     int (*cb)(void *data, const char *key, const void *value,
			       size_t len, int64_t expires_at),
		     void *data)
{
	struct store_conn *c = store->reader;
	sqlite3_stmt *st;
	int rc, ret = 0;

	if (module == NULL || module[0] == '\0' || prefix == NULL)
		return store_conn_errorf(c, -EINVAL, "invalid state scan");
	/* substr() compares bytes as the primary key's BINARY order does,
	 * and the key column follows module in that key, so the scan walks
	 * one module's range of the index in key order. */
	st = store_conn_stmt(c, STMT_R_STATE_SCAN,
			     "SELECT key, value, expires_at FROM module_state"
			     " WHERE module = ?1"
			     " AND substr(key, 1, length(?2)) = ?2"
			     " AND (expires_at = 0 OR expires_at > ?3)"
			     " ORDER BY key");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 3, now_s);
	if (store_bind_text(st, 1, module) != SQLITE_OK ||
	    store_bind_text(st, 2, prefix) != SQLITE_OK)
		return store_conn_fail(c, sqlite3_errcode(c->db), "bind");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *key = (const char *)sqlite3_column_text(st, 0);
		const void *value = sqlite3_column_blob(st, 1);
		size_t len = (size_t)sqlite3_column_bytes(st, 1);

		ret = cb(data, key != NULL ? key : "", value != NULL ? value : "",
			 len, sqlite3_column_int64(st, 2));
		if (ret != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_conn_fail(c, rc, "state scan");
	sqlite3_reset(st);
	return ret;
}
