/* Reads of domains, accounts, password history and aliases. In daemon mode
 * they run on the loop thread against the read-only connection. A list
 * callback must not call the same list function again (the statement is
 * shared); any other read is fine. */
#include <errno.h>
#include <string.h>

#include "store/store_internal.h"

int store_domain_exists(struct store *store, const char *domain)
{
	struct store_conn *c = store->reader;
	sqlite3_stmt *st;
	int rc;

	if (!store_valid_domain(domain))
		return store_conn_errorf(c, -EINVAL, "invalid domain name");
	st = store_conn_stmt(c, STMT_R_DOMAIN_EXISTS,
			     "SELECT 1 FROM domains WHERE name = ?1");
	if (st == NULL)
		return -EIO;
	if (store_bind_text(st, 1, domain) != SQLITE_OK)
		return store_conn_fail(c, sqlite3_errcode(c->db), "bind");
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return store_conn_fail(c, rc, "domain exists");
}

struct domain_list_ctx {
	int (*cb)(void *data, const char *domain);
	void *data;
};

static int domain_row(struct store_conn *c, sqlite3_stmt *st, void *arg)
{
	struct domain_list_ctx *ctx = arg;

	return ctx->cb(ctx->data, (const char *)sqlite3_column_text(st, 0));
}

int store_domain_list(struct store *store,
		      int (*cb)(void *data, const char *domain), void *data)
{
	struct store_conn *c = store->reader;
	struct domain_list_ctx ctx = { cb, data };
	sqlite3_stmt *st;

	st = store_conn_stmt(c, STMT_R_DOMAIN_LIST,
			     "SELECT name FROM domains ORDER BY name");
	if (st == NULL)
		return -EIO;
	return store_each_row(c, st, domain_row, &ctx);
}

#define ACCOUNT_COLUMNS \
	"a.id, a.address, a.password_hash, a.secondary, a.lang," \
	" a.disabled, a.password_changed, a.created"

static int account_from_row(struct store_conn *c, sqlite3_stmt *st,
			    struct store_account *a)
{
	int ret;

	memset(a, 0, sizeof *a);
	a->id = sqlite3_column_int64(st, 0);
	ret = store_column_copy(c, st, 1, a->address, sizeof a->address);
	if (ret == 0)
		ret = store_column_copy(c, st, 2, a->password_hash,
					sizeof a->password_hash);
	if (ret == 0)
		ret = store_column_copy(c, st, 3, a->secondary,
					sizeof a->secondary);
	if (ret == 0)
		ret = store_column_copy(c, st, 4, a->lang, sizeof a->lang);
	a->disabled = sqlite3_column_int(st, 5);
	a->password_changed = sqlite3_column_int64(st, 6);
	a->created = sqlite3_column_int64(st, 7);
	return ret;
}

int store_account_get(struct store *store, const char *address,
		      struct store_account *account_r)
{
	struct store_conn *c = store->reader;
	sqlite3_stmt *st;
	int rc, ret;

	if (store_address_domain(address) == NULL)
		return store_conn_errorf(c, -EINVAL, "invalid address");
	st = store_conn_stmt(c, STMT_R_ACCOUNT_GET,
			     "SELECT " ACCOUNT_COLUMNS " FROM accounts a"
			     " WHERE a.address = ?1");
	if (st == NULL)
		return -EIO;
	if (store_bind_text(st, 1, address) != SQLITE_OK)
		return store_conn_fail(c, sqlite3_errcode(c->db), "bind");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		ret = account_from_row(c, st, account_r);
	else if (rc == SQLITE_DONE)
		ret = store_conn_errorf(c, -ENOENT, "no account %s", address);
	else
		ret = store_conn_fail(c, rc, "account get");
	sqlite3_reset(st);
	return ret;
}

struct account_list_ctx {
	int (*cb)(void *data, const struct store_account *a);
	void *data;
	struct store_account account;
};

static int account_row(struct store_conn *c, sqlite3_stmt *st, void *arg)
{
	struct account_list_ctx *ctx = arg;
	int ret = account_from_row(c, st, &ctx->account);

	if (ret < 0)
		return ret;
	return ctx->cb(ctx->data, &ctx->account);
}

int store_account_list(struct store *store, const char *domain,
		       int (*cb)(void *data, const struct store_account *a),
		       void *data)
{
	struct store_conn *c = store->reader;
	struct account_list_ctx ctx = { .cb = cb, .data = data };
	sqlite3_stmt *st;
	int ret;

	if (domain == NULL) {
		st = store_conn_stmt(c, STMT_R_ACCOUNT_LIST,
				     "SELECT " ACCOUNT_COLUMNS
				     " FROM accounts a ORDER BY a.address");
		if (st == NULL)
			return -EIO;
	} else {
		ret = store_domain_exists(store, domain);
		if (ret == 0)
			return store_conn_errorf(c, -ENOENT,
						 "unknown domain %s", domain);
		if (ret < 0)
			return ret;
		st = store_conn_stmt(c, STMT_R_ACCOUNT_LIST_DOMAIN,
				     "SELECT " ACCOUNT_COLUMNS
				     " FROM accounts a"
				     " JOIN domains d ON d.id = a.domain"
				     " WHERE d.name = ?1 ORDER BY a.address");
		if (st == NULL)
			return -EIO;
		if (store_bind_text(st, 1, domain) != SQLITE_OK)
			return store_conn_fail(c, sqlite3_errcode(c->db),
					       "bind");
	}
	return store_each_row(c, st, account_row, &ctx);
}

int store_account_id(struct store_conn *c, const char *address, int64_t *id_r)
{
	sqlite3_stmt *st;
	int rc;

	if (store_address_domain(address) == NULL)
		return store_conn_errorf(c, -EINVAL, "invalid address");
	st = store_conn_stmt(c, STMT_R_ACCOUNT_ID,
			     "SELECT id FROM accounts WHERE address = ?1");
	if (st == NULL)
		return -EIO;
	if (store_bind_text(st, 1, address) != SQLITE_OK)
		return store_conn_fail(c, sqlite3_errcode(c->db), "bind");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*id_r = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return store_conn_errorf(c, -ENOENT, "no account %s", address);
	return store_conn_fail(c, rc, "account lookup");
}

struct text_list_ctx {
	int (*cb)(void *data, const char *text);
	void *data;
};

static int text_row(struct store_conn *c, sqlite3_stmt *st, void *arg)
{
	struct text_list_ctx *ctx = arg;

	return ctx->cb(ctx->data, (const char *)sqlite3_column_text(st, 0));
}

int store_password_history(struct store *store, const char *address,
			   int (*cb)(void *data, const char *hash),
			   void *data)
{
	struct store_conn *c = store->reader;
	struct text_list_ctx ctx = { cb, data };
	sqlite3_stmt *st;
	int64_t id;
	int ret;

	ret = store_account_id(c, address, &id);
	if (ret < 0)
		return ret;
	st = store_conn_stmt(c, STMT_R_HISTORY,
			     "SELECT hash FROM password_history"
			     " WHERE account = ?1 ORDER BY id DESC");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	return store_each_row(c, st, text_row, &ctx);
}

struct alias_list_ctx {
	int (*cb)(void *data, const char *source, const char *target);
	void *data;
};

static int alias_row(struct store_conn *c, sqlite3_stmt *st, void *arg)
{
	struct alias_list_ctx *ctx = arg;

	return ctx->cb(ctx->data, (const char *)sqlite3_column_text(st, 0),
		       (const char *)sqlite3_column_text(st, 1));
}

int store_alias_list(struct store *store, const char *source,
		     int (*cb)(void *data, const char *source,
			       const char *target),
		     void *data)
{
	struct store_conn *c = store->reader;
	struct alias_list_ctx ctx = { cb, data };
	sqlite3_stmt *st;

	if (source == NULL) {
		st = store_conn_stmt(c, STMT_R_ALIAS_LIST,
				     "SELECT source, target FROM aliases"
				     " ORDER BY source, target");
		if (st == NULL)
			return -EIO;
	} else {
		st = store_conn_stmt(c, STMT_R_ALIAS_LIST_SOURCE,
				     "SELECT source, target FROM aliases"
				     " WHERE source = ?1 ORDER BY target");
		if (st == NULL)
			return -EIO;
		if (store_bind_text(st, 1, source) != SQLITE_OK)
			return store_conn_fail(c, sqlite3_errcode(c->db),
					       "bind");
	}
	return store_each_row(c, st, alias_row, &ctx);
}
