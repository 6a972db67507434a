/* Domains (writes). */
#include <errno.h>
#include <time.h>

#include "store/store_internal.h"

/* The id of a hosted domain: 0 and *id_r, -ENOENT, or another error. */
int store_domain_id(struct store_conn *c, const char *domain, int64_t *id_r)
{
	sqlite3_stmt *st;
	int rc;

	st = store_conn_stmt(c, STMT_DOMAIN_ID,
			     "SELECT id FROM domains WHERE name = ?1");
	if (st == NULL)
		return -EIO;
	if (store_bind_text(st, 1, domain) != SQLITE_OK)
		rc = sqlite3_errcode(c->db);
	else
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*id_r = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return store_conn_errorf(c, -ENOENT, "unknown domain %s",
					 domain);
	return store_conn_fail(c, rc, "domain lookup");
}

int store_txn_domain_add(struct store_txn *txn, const char *domain)
{
	struct store_conn *c = txn->conn;
	sqlite3_stmt *st;
	int ret;

	if (!store_valid_domain(domain))
		return store_conn_errorf(c, -EINVAL, "invalid domain name");
	st = store_conn_stmt(c, STMT_DOMAIN_ADD,
			     "INSERT INTO domains (name, created)"
			     " VALUES (?1, ?2)");
	if (st == NULL)
		return -EIO;
	if (store_bind_text(st, 1, domain) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, (int64_t)time(NULL)) != SQLITE_OK)
		return store_conn_fail(c, sqlite3_errcode(c->db), "bind");
	ret = store_conn_step_done(c, st, "domain add");
	if (ret == -EEXIST)
		return store_conn_errorf(c, ret, "domain %s exists", domain);
	return ret;
}

int store_txn_domain_del(struct store_txn *txn, const char *domain)
{
	struct store_conn *c = txn->conn;
	sqlite3_stmt *st;
	int64_t id;
	int rc, ret;

	if (!store_valid_domain(domain))
		return store_conn_errorf(c, -EINVAL, "invalid domain name");
	ret = store_domain_id(c, domain, &id);
	if (ret < 0)
		return ret;
	st = store_conn_stmt(c, STMT_DOMAIN_HAS_ACCOUNTS,
			     "SELECT 1 FROM accounts WHERE domain = ?1"
			     " UNION ALL"
			     " SELECT 1 FROM aliases WHERE domain = ?1 LIMIT 1");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return store_conn_errorf(c, -ENOTEMPTY,
					 "domain %s still has accounts or aliases",
					 domain);
	if (rc != SQLITE_DONE)
		return store_conn_fail(c, rc, "domain del");
	st = store_conn_stmt(c, STMT_DOMAIN_DEL,
			     "DELETE FROM domains WHERE id = ?1");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	return store_conn_step_done(c, st, "domain del");
}
