/* Accounts (writes): creation with the default mailboxes, deletion,
 * settings, password changes with history. */
#include <errno.h>
#include <time.h>

#include "store/store_internal.h"

static const struct {
	const char *name;
	const char *special_use;
} default_mailboxes[] = {
	{ "INBOX", NULL },
	{ "Sent", "\\Sent" },
	{ "Drafts", "\\Drafts" },
	{ "Trash", "\\Trash" },
	{ "Junk", "\\Junk" },
};

/* UIDVALIDITY must differ from any value a mailbox of the same name had
 * before, so clients drop stale caches: the creation time, pushed past the
 * account's newest value so mailboxes made in the same second differ. */
int store_mailbox_insert(struct store_conn *c, int64_t account,
			 const char *name, const char *special_use,
			 int64_t now)
{
	sqlite3_stmt *st;

	st = store_conn_stmt(c, STMT_MAILBOX_ADD,
			     "INSERT INTO mailboxes"
			     " (account, name, uidvalidity, special_use)"
			     " VALUES (?1, ?2, max(?3, 1 + (SELECT"
			     "  last_uidvalidity FROM accounts WHERE id = ?1)),"
			     "  ?4)");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, account);
	sqlite3_bind_int64(st, 3, now);
	if (store_bind_text(st, 2, name) != SQLITE_OK ||
	    (special_use != NULL &&
	     store_bind_text(st, 4, special_use) != SQLITE_OK))
		return store_conn_fail(c, sqlite3_errcode(c->db), "bind");
	if (special_use == NULL)
		sqlite3_bind_null(st, 4);
	return store_conn_step_done(c, st, "mailbox create");
}

/* The account's own folders are subscribed: clients that show only the
 * subscribed ones (most of them) show these. */
static int subscribe(struct store_conn *c, int64_t account, const char *name)
{
	sqlite3_stmt *st;

	st = store_conn_stmt(c, STMT_ACCOUNT_SUBSCRIBE,
			     "INSERT INTO subscriptions (account, name)"
			     " VALUES (?1, ?2)");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, account);
	if (store_bind_text(st, 2, name) != SQLITE_OK)
		return store_conn_fail(c, sqlite3_errcode(c->db), "bind");
	return store_conn_step_done(c, st, "subscribe");
}

static int account_check(struct store_conn *c,
			 const struct store_account_new *a,
			 const char **domain_r)
{
	if (a == NULL)
		return store_conn_errorf(c, -EINVAL, "no account");
	*domain_r = store_address_domain(a->address);
	if (*domain_r == NULL)
		return store_conn_errorf(c, -EINVAL, "invalid address");
	if (!store_valid_hash(a->password_hash))
		return store_conn_errorf(c, -EINVAL, "invalid password hash");
	if (a->secondary != NULL && a->secondary[0] != '\0' &&
	    store_address_domain(a->secondary) == NULL)
		return store_conn_errorf(c, -EINVAL,
					 "invalid secondary address");
	if (a->lang != NULL && !store_valid_lang(a->lang))
		return store_conn_errorf(c, -EINVAL, "invalid language");
	return 0;
}

static int bind_optional(sqlite3_stmt *st, int idx, const char *s)
{
	if (s == NULL || s[0] == '\0')
		return sqlite3_bind_null(st, idx);
	return store_bind_text(st, idx, s);
}

int store_txn_account_add(struct store_txn *txn,
			  const struct store_account_new *a,
			  int64_t *account_id_r)
{
	struct store_conn *c = txn->conn;
	const char *domain = NULL;
	sqlite3_stmt *st;
	int64_t domain_id = 0, id;
	int64_t now = (int64_t)time(NULL);
	int ret;

	ret = account_check(c, a, &domain);
	if (ret == 0)
		ret = store_domain_id(c, domain, &domain_id);
	if (ret < 0)
		return ret;
	st = store_conn_stmt(c, STMT_ACCOUNT_ADD,
			     "INSERT INTO accounts (domain, address,"
			     " password_hash, password_changed, secondary,"
			     " lang, created)"
			     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?4)");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, domain_id);
	sqlite3_bind_int64(st, 4, now);
	if (store_bind_text(st, 2, a->address) != SQLITE_OK ||
	    store_bind_text(st, 3, a->password_hash) != SQLITE_OK ||
	    bind_optional(st, 5, a->secondary) != SQLITE_OK ||
	    bind_optional(st, 6, a->lang) != SQLITE_OK)
		return store_conn_fail(c, sqlite3_errcode(c->db), "bind");
	ret = store_conn_step_done(c, st, "account add");
	if (ret == -EEXIST)
		return store_conn_errorf(c, ret, "account %s exists",
					 a->address);
	if (ret < 0)
		return ret;
	id = sqlite3_last_insert_rowid(c->db);
	for (size_t i = 0; i < sizeof default_mailboxes /
				       sizeof default_mailboxes[0]; i++) {
		ret = store_mailbox_insert(c, id, default_mailboxes[i].name,
					   default_mailboxes[i].special_use,
					   now);
		if (ret == 0)
			ret = subscribe(c, id, default_mailboxes[i].name);
		if (ret < 0)
			return ret;
	}
	if (account_id_r != NULL)
		*account_id_r = id;
	return 0;
}

int store_txn_account_del(struct store_txn *txn, const char *address)
{
	struct store_conn *c = txn->conn;
	sqlite3_stmt *st;
	int ret;

	if (store_address_domain(address) == NULL)
		return store_conn_errorf(c, -EINVAL, "invalid address");
	/* Mailboxes, messages and history go by ON DELETE CASCADE; the
	 * message triggers release the blobs. */
	st = store_conn_stmt(c, STMT_ACCOUNT_DEL,
			     "DELETE FROM accounts WHERE address = ?1");
	if (st == NULL)
		return -EIO;
	if (store_bind_text(st, 1, address) != SQLITE_OK)
		return store_conn_fail(c, sqlite3_errcode(c->db), "bind");
	ret = store_conn_step_done(c, st, "account del");
	if (ret == 0 && sqlite3_changes(c->db) == 0)
		return store_conn_errorf(c, -ENOENT, "no account %s", address);
	return ret;
}

int store_txn_account_set(struct store_txn *txn, const char *address,
			  const struct store_account_change *change)
{
	struct store_conn *c = txn->conn;
	sqlite3_stmt *st;
	int ret;

	if (store_address_domain(address) == NULL || change == NULL)
		return store_conn_errorf(c, -EINVAL, "invalid address");
	if (change->secondary != NULL && change->secondary[0] != '\0' &&
	    store_address_domain(change->secondary) == NULL)
		return store_conn_errorf(c, -EINVAL,
					 "invalid secondary address");
	if (change->lang != NULL && !store_valid_lang(change->lang))
		return store_conn_errorf(c, -EINVAL, "invalid language");
	if (change->disabled < -1 || change->disabled > 1)
		return store_conn_errorf(c, -EINVAL, "invalid disabled flag");
	/* ?1/?2: NULL keeps, '' clears, else sets; ?3: -1 keeps. */
	st = store_conn_stmt(c, STMT_ACCOUNT_SET,
			     "UPDATE accounts SET"
			     " secondary = CASE WHEN ?1 IS NULL THEN secondary"
			     "  ELSE nullif(?1, '') END,"
			     " lang = CASE WHEN ?2 IS NULL THEN lang"
			     "  ELSE nullif(?2, '') END,"
			     " disabled = CASE WHEN ?3 < 0 THEN disabled"
			     "  ELSE ?3 END"
			     " WHERE address = ?4");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int(st, 3, change->disabled);
	if ((change->secondary != NULL
		     ? store_bind_text(st, 1, change->secondary)
		     : sqlite3_bind_null(st, 1)) != SQLITE_OK ||
	    (change->lang != NULL ? store_bind_text(st, 2, change->lang)
				  : sqlite3_bind_null(st, 2)) != SQLITE_OK ||
	    store_bind_text(st, 4, address) != SQLITE_OK)
		return store_conn_fail(c, sqlite3_errcode(c->db), "bind");
	ret = store_conn_step_done(c, st, "account set");
	if (ret == 0 && sqlite3_changes(c->db) == 0)
		return store_conn_errorf(c, -ENOENT, "no account %s", address);
	return ret;
}

static int account_hash(struct store_conn *c, const char *address,
			int64_t *id_r, char *hash, size_t size)
{
	sqlite3_stmt *st;
	int rc, ret = 0;

	st = store_conn_stmt(c, STMT_ACCOUNT_HASH,
			     "SELECT id, password_hash FROM accounts"
			     " WHERE address = ?1");
	if (st == NULL)
		return -EIO;
	if (store_bind_text(st, 1, address) != SQLITE_OK)
		return store_conn_fail(c, sqlite3_errcode(c->db), "bind");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*id_r = sqlite3_column_int64(st, 0);
		ret = store_column_copy(c, st, 1, hash, size);
	} else if (rc == SQLITE_DONE) {
		ret = store_conn_errorf(c, -ENOENT, "no account %s", address);
	} else {
		ret = store_conn_fail(c, rc, "account lookup");
	}
	sqlite3_reset(st);
	return ret;
}

int store_txn_account_set_password(struct store_txn *txn, const char *address,
				   const char *password_hash, int64_t now_s,
				   unsigned keep_history)
{
	struct store_conn *c = txn->conn;
	char old[160];
	sqlite3_stmt *st;
	int64_t id = 0;
	int ret;

	if (store_address_domain(address) == NULL)
		return store_conn_errorf(c, -EINVAL, "invalid address");
	if (!store_valid_hash(password_hash))
		return store_conn_errorf(c, -EINVAL, "invalid password hash");
	ret = account_hash(c, address, &id, old, sizeof old);
	if (ret < 0)
		return ret;

	st = store_conn_stmt(c, STMT_HISTORY_ADD,
			     "INSERT INTO password_history"
			     " (account, hash, changed) VALUES (?1, ?2, ?3)");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 3, now_s);
	if (store_bind_text(st, 2, old) != SQLITE_OK)
		return store_conn_fail(c, sqlite3_errcode(c->db), "bind");
	ret = store_conn_step_done(c, st, "password history");
	if (ret < 0)
		return ret;

	st = store_conn_stmt(c, STMT_ACCOUNT_SET_HASH,
			     "UPDATE accounts SET password_hash = ?2,"
			     " password_changed = ?3 WHERE id = ?1");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 3, now_s);
	if (store_bind_text(st, 2, password_hash) != SQLITE_OK)
		return store_conn_fail(c, sqlite3_errcode(c->db), "bind");
	ret = store_conn_step_done(c, st, "set password");
	if (ret < 0)
		return ret;

	st = store_conn_stmt(c, STMT_HISTORY_TRIM,
			     "DELETE FROM password_history WHERE account = ?1"
			     " AND id NOT IN (SELECT id FROM password_history"
			     "  WHERE account = ?1 ORDER BY id DESC LIMIT ?2)");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, (int64_t)keep_history);
	return store_conn_step_done(c, st, "trim history");
}
