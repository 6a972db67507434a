/* One SQLite connection: open with the pragmas every connection needs,
 * a lazily filled cache of persistent prepared statements, error text. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "store/store_internal.h"

int store_sqlite_errno(int rc)
{
	switch (rc) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return -EEXIST;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return -ENOENT;
	case SQLITE_CONSTRAINT_CHECK:
	case SQLITE_CONSTRAINT_NOTNULL:
		return -EINVAL;
	}
	switch (rc & 0xff) {
	case SQLITE_TOOBIG:
	case SQLITE_RANGE:
		return -EINVAL;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_FULL:
		return -ENOSPC;
	default:
		return -EIO;
	}
}

int store_conn_fail(struct store_conn *conn, int rc, const char *what)
{
	const char *msg = conn->db != NULL ? sqlite3_errmsg(conn->db)
					   : sqlite3_errstr(rc);

	snprintf(conn->err, sizeof conn->err, "%s: %s", what, msg);
	return store_sqlite_errno(rc);
}

int store_conn_errorf(struct store_conn *conn, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(conn->err, sizeof conn->err, fmt, ap);
	va_end(ap);
	return code;
}

int store_conn_open(struct store_conn *conn, const char *path, int flags,
		    int busy_ms, char *err, size_t errlen)
{
	int rc;

	memset(conn, 0, sizeof *conn);
	/* Each connection is used by one thread at a time, so SQLite's own
	 * per-connection mutex would only cost. */
	rc = sqlite3_open_v2(path, &conn->db,
			     flags | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
			     NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path,
			 conn->db != NULL ? sqlite3_errmsg(conn->db)
					  : sqlite3_errstr(rc));
		rc = store_sqlite_errno(rc);
		store_conn_close(conn);
		return rc;
	}
	rc = sqlite3_busy_timeout(conn->db, busy_ms);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(conn->db, "PRAGMA foreign_keys = ON", NULL,
				  NULL, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(conn->db));
		rc = store_sqlite_errno(rc);
		store_conn_close(conn);
		return rc;
	}
	return 0;
}

void store_conn_close(struct store_conn *conn)
{
	for (size_t i = 0; i < STMT__COUNT; i++) {
		sqlite3_finalize(conn->stmts[i]);
		conn->stmts[i] = NULL;
	}
	/* All statements are finalized, so close cannot be refused as busy;
	 * close_v2 still guards against a leak if a caller forgot one. */
	sqlite3_close_v2(conn->db);
	conn->db = NULL;
}

sqlite3_stmt *store_conn_stmt(struct store_conn *conn, enum store_stmt_id id,
			      const char *sql)
{
	sqlite3_stmt *stmt = conn->stmts[id];
	int rc;

	if (stmt != NULL) {
		/* Callers reset after use; this is a guard so a forgotten
		 * reset cannot pin an old read snapshot. */
		sqlite3_reset(stmt);
		return stmt;
	}
	rc = sqlite3_prepare_v3(conn->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
				&stmt, NULL);
	if (rc != SQLITE_OK) {
		store_conn_fail(conn, rc, "prepare");
		return NULL;
	}
	conn->stmts[id] = stmt;
	return stmt;
}

int store_conn_step_done(struct store_conn *conn, sqlite3_stmt *stmt,
			 const char *what)
{
	int rc = sqlite3_step(stmt);

	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return store_conn_fail(conn, rc, what);
	return 0;
}

int store_conn_run(struct store_conn *conn, enum store_stmt_id id,
		   const char *sql)
{
	sqlite3_stmt *stmt = store_conn_stmt(conn, id, sql);

	if (stmt == NULL)
		return -EIO;
	return store_conn_step_done(conn, stmt, sql);
}

int store_conn_exec(struct store_conn *conn, const char *sql)
{
	int rc = sqlite3_exec(conn->db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return store_conn_fail(conn, rc, "exec");
	return 0;
}

int store_bind_text(sqlite3_stmt *stmt, int idx, const char *s)
{
	return sqlite3_bind_text(stmt, idx, s, -1, SQLITE_STATIC);
}

int store_column_copy(struct store_conn *conn, sqlite3_stmt *stmt, int col,
		      char *buf, size_t size)
{
	const unsigned char *text = sqlite3_column_text(stmt, col);
	size_t len = (size_t)sqlite3_column_bytes(stmt, col);

	if (text == NULL) {
		buf[0] = '\0';
		return 0;
	}
	if (len >= size)
		return store_conn_errorf(conn, -EIO,
					 "stored value too long (%zu bytes)",
					 len);
	memcpy(buf, text, len);
	buf[len] = '\0';
	return 0;
}

int store_each_row(struct store_conn *c, sqlite3_stmt *st,
		   int (*row)(struct store_conn *c, sqlite3_stmt *st,
			      void *arg),
		   void *arg)
{
	int rc, ret = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ret = row(c, st, arg);
		if (ret != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_conn_fail(c, rc, "read");
	sqlite3_reset(st);
	return ret;
}
