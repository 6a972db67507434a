/* Aliases (writes). The source must be an address in a hosted domain; the
 * target may be anywhere. */
#include <errno.h>

#include "store/store_internal.h"

static int alias_check(struct store_conn *c, const char *source,
		       const char *target, int64_t *domain_id_r)
{
	const char *domain = store_address_domain(source);

	if (domain == NULL)
		return store_conn_errorf(c, -EINVAL, "invalid alias source");
	if (store_address_domain(target) == NULL)
		return store_conn_errorf(c, -EINVAL, "invalid alias target");
	return store_domain_id(c, domain, domain_id_r);
}

int store_txn_alias_add(struct store_txn *txn, const char *source,
			const char *target)
{
	struct store_conn *c = txn->conn;
	sqlite3_stmt *st;
	int64_t domain_id;
	int ret;

	ret = alias_check(c, source, target, &domain_id);
	if (ret < 0)
		return ret;
	st = store_conn_stmt(c, STMT_ALIAS_ADD,
			     "INSERT INTO aliases (source, target, domain)"
			     " VALUES (?1, ?2, ?3)");
	if (st == NULL)
		return -EIO;
	if (store_bind_text(st, 1, source) != SQLITE_OK ||
	    store_bind_text(st, 2, target) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, domain_id) != SQLITE_OK)
		return store_conn_fail(c, sqlite3_errcode(c->db), "bind");
	ret = store_conn_step_done(c, st, "alias add");
	if (ret == -EEXIST)
		return store_conn_errorf(c, ret, "alias exists");
	return ret;
}

int store_txn_alias_del(struct store_txn *txn, const char *source,
			const char *target)
{
	struct store_conn *c = txn->conn;
	sqlite3_stmt *st;
	int ret;

	if (store_address_domain(source) == NULL ||
	    store_address_domain(target) == NULL)
		return store_conn_errorf(c, -EINVAL, "invalid alias");
	st = store_conn_stmt(c, STMT_ALIAS_DEL,
			     "DELETE FROM aliases"
			     " WHERE source = ?1 AND target = ?2");
	if (st == NULL)
		return -EIO;
	if (store_bind_text(st, 1, source) != SQLITE_OK ||
	    store_bind_text(st, 2, target) != SQLITE_OK)
		return store_conn_fail(c, sqlite3_errcode(c->db), "bind");
	ret = store_conn_step_done(c, st, "alias del");
	if (ret == 0 && sqlite3_changes(c->db) == 0)
		return store_conn_errorf(c, -ENOENT, "no such alias");
	return ret;
}
