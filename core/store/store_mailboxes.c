/* IMAP mailbox management (writes): create, delete, rename, subscribe.
 * Hierarchy is in the names ("Work/2026"); a mailbox's children are the
 * names that start with its name and "/". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "store/store_internal.h"

const char *store_mailbox_name(const char *name, char *buf)
{
	size_t len = strlen(name);

	if (len < 5 || strncasecmp(name, "INBOX", 5) != 0 ||
	    (name[5] != '\0' && name[5] != '/') || len >= STORE_NAME_BUF ||
	    strncmp(name, "INBOX", 5) == 0)
		return name;
	memcpy(buf, "INBOX", 5);
	memcpy(buf + 5, name + 5, len - 5 + 1);
	return buf;
}

/* A name IMAP clients and our hierarchy can live with: not empty, no
 * empty level, no control characters, bounded. */
static int mailbox_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > 255 || name[0] == '/' || name[len - 1] == '/' ||
	    strstr(name, "//") != NULL)
		return 0;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

int store_txn_mailbox_lookup(struct store_txn *txn, const char *address,
			     const char *name, int64_t *mailbox_id_r,
			     uint32_t *uidvalidity_r)
{
	struct store_conn *c = txn->conn;
	sqlite3_stmt *st;
	int64_t account;
	int rc, ret;

	ret = store_account_id(c, address, &account);
	if (ret < 0)
		return ret;
	char folded[STORE_NAME_BUF];
	name = store_mailbox_name(name, folded);
	st = store_conn_stmt(c, STMT_MAILBOX_ID,
			     "SELECT id, uidvalidity FROM mailboxes"
			     " WHERE account = ?1 AND name = ?2");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, account);
	if (store_bind_text(st, 2, name) != SQLITE_OK)
		return store_conn_fail(c, sqlite3_errcode(c->db), "bind");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*mailbox_id_r = sqlite3_column_int64(st, 0);
		if (uidvalidity_r != NULL)
			*uidvalidity_r = (uint32_t)sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return store_conn_errorf(c, -ENOENT, "no mailbox %s", name);
	return store_conn_fail(c, rc, "mailbox id");
}

int store_txn_mailbox_id(struct store_txn *txn, const char *address,
			 const char *name, int64_t *mailbox_id_r)
{
	return store_txn_mailbox_lookup(txn, address, name, mailbox_id_r,
					NULL);
}

int store_txn_mailbox_create(struct store_txn *txn, const char *address,
			     const char *name, const char *special_use)
{
	struct store_conn *c = txn->conn;
	int64_t account;
	int ret;

	if (!mailbox_name_valid(name))
		return store_conn_errorf(c, -EINVAL, "invalid mailbox name");
	ret = store_account_id(c, address, &account);
	if (ret < 0)
		return ret;
	/* RFC 3501 6.3.3: superior names that are missing are made too. */
	char parent[256], folded[STORE_NAME_BUF];
	for (const char *p = strchr(name, '/'); p != NULL;
	     p = strchr(p + 1, '/')) {
		int64_t id;
		snprintf(parent, sizeof(parent), "%.*s", (int)(p - name), name);
		ret = store_txn_mailbox_id(txn, address, parent, &id);
		if (ret == -ENOENT)
			ret = store_mailbox_insert(c, account,
						   store_mailbox_name(parent,
								      folded),
						   NULL, (int64_t)time(NULL));
		if (ret < 0)
			return ret;
	}
	ret = store_mailbox_insert(c, account, store_mailbox_name(name, folded),
				   special_use, (int64_t)time(NULL));
	if (ret == -EEXIST)
		return store_conn_errorf(c, ret, "mailbox %s exists", name);
	return ret;
}

static int mailbox_has_children(struct store_conn *c, int64_t account,
				const char *name)
{
	sqlite3_stmt *st;
	int rc;

	st = store_conn_stmt(c, STMT_MAILBOX_HAS_CHILDREN,
			     "SELECT 1 FROM mailboxes WHERE account = ?1"
			     " AND substr(name, 1, length(?2) + 1) = ?2 || '/'"
			     " LIMIT 1");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, account);
	if (store_bind_text(st, 2, name) != SQLITE_OK)
		return store_conn_fail(c, sqlite3_errcode(c->db), "bind");
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return store_conn_fail(c, rc, "mailbox children");
}

int store_txn_mailbox_delete(struct store_txn *txn, const char *address,
			     const char *name, int64_t *mailbox_id_r)
{
	struct store_conn *c = txn->conn;
	sqlite3_stmt *st;
	int64_t account, id;
	int ret;

	char folded[STORE_NAME_BUF];

	*mailbox_id_r = 0;
	name = store_mailbox_name(name, folded);
	if (strcmp(name, "INBOX") == 0)
		return store_conn_errorf(c, -EPERM, "INBOX cannot be deleted");
	ret = store_account_id(c, address, &account);
	if (ret == 0)
		ret = store_txn_mailbox_id(txn, address, name, &id);
	if (ret < 0)
		return ret;
	ret = mailbox_has_children(c, account, name);
	if (ret < 0)
		return ret;
	if (ret > 0)
		return store_conn_errorf(c, -ENOTEMPTY,
					 "mailbox %s has children", name);
	/* Its messages go by ON DELETE CASCADE; their triggers release the
	 * blobs. */
	st = store_conn_stmt(c, STMT_MAILBOX_DEL,
			     "DELETE FROM mailboxes WHERE id = ?1");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	ret = store_conn_step_done(c, st, "mailbox delete");
	if (ret == 0)
		*mailbox_id_r = id;
	return ret;
}

/* INBOX cannot go away: its messages move to a new mailbox `to`, with
 * new UIDs in their order (RFC 3501 6.3.5). */
static int inbox_rename(struct store_txn *txn, const char *address,
			const char *to, int64_t *inbox_id_r)
{
	struct store_conn *c = txn->conn;
	int64_t inbox, dest;
	int ret;

	ret = store_txn_mailbox_create(txn, address, to, NULL);
	if (ret == 0)
		ret = store_txn_mailbox_id(txn, address, "INBOX", &inbox);
	if (ret == 0)
		ret = store_txn_mailbox_id(txn, address, to, &dest);
	if (ret < 0)
		return ret;
	/* Copy one by one, oldest first, so each gets the next UID. */
	sqlite3_stmt *list;
	int rc = sqlite3_prepare_v2(c->db,
				    "SELECT uid FROM messages WHERE mailbox = ?1"
				    " ORDER BY uid", -1, &list, NULL);
	if (rc != SQLITE_OK)
		return store_conn_fail(c, rc, "inbox list");
	sqlite3_bind_int64(list, 1, inbox);
	while (ret == 0 && (rc = sqlite3_step(list)) == SQLITE_ROW)
		ret = store_txn_message_copy(
			txn, inbox, (uint32_t)sqlite3_column_int64(list, 0),
			dest, NULL);
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_conn_fail(c, rc, "inbox list");
	sqlite3_finalize(list);
	if (ret < 0)
		return ret;
	/* Then empty INBOX; the schema's trigger gives each expunge its
	 * modseq and tombstone, like any other. */
	sqlite3_stmt *del;
	rc = sqlite3_prepare_v2(c->db,
				"DELETE FROM messages WHERE mailbox = ?1", -1,
				&del, NULL);
	if (rc != SQLITE_OK)
		return store_conn_fail(c, rc, "inbox empty");
	sqlite3_bind_int64(del, 1, inbox);
	rc = sqlite3_step(del);
	sqlite3_finalize(del);
	if (rc != SQLITE_DONE)
		return store_conn_fail(c, rc, "inbox empty");
	*inbox_id_r = inbox;
	return 0;
}

/* A UIDVALIDITY above every one the account gave: the creation time,
 * pushed past the account's newest (as store_mailbox_insert). */
static int next_uidvalidity(struct store_conn *c, int64_t account,
			    uint32_t *uidvalidity_r)
{
	sqlite3_stmt *st;
	int rc;

	st = store_conn_stmt(c, STMT_MAILBOX_NEXT_UIDVALIDITY,
			     "SELECT max(?2, last_uidvalidity + 1)"
			     " FROM accounts WHERE id = ?1");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, account);
	sqlite3_bind_int64(st, 2, (int64_t)time(NULL));
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*uidvalidity_r = (uint32_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : store_conn_fail(c, rc, "uidvalidity");
}

/* The ids of the account's mailboxes with this UIDVALIDITY (those just
 * renamed: no other has it), into a malloc'ed array. */
static int renamed_ids(struct store_conn *c, int64_t account,
		       uint32_t uidvalidity, struct store_rename *r)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;

	st = store_conn_stmt(c, STMT_MAILBOX_BY_UIDVALIDITY,
			     "SELECT id FROM mailboxes WHERE account = ?1"
			     " AND uidvalidity = ?2");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, account);
	sqlite3_bind_int64(st, 2, uidvalidity);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (r->count == cap) {
			size_t n = cap > 0 ? cap * 2 : 8;
			int64_t *g = realloc(r->ids, n * sizeof(*g));
			if (g == NULL) {
				sqlite3_reset(st);
				return -ENOMEM;
			}
			r->ids = g;
			cap = n;
		}
		r->ids[r->count++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_conn_fail(c, rc, "renamed");
}

int store_txn_mailbox_rename(struct store_txn *txn, const char *address,
			     const char *from, const char *to,
			     struct store_rename *result_r)
{
	struct store_conn *c = txn->conn;
	sqlite3_stmt *st;
	int64_t account, id;
	size_t from_len;
	int ret;

	char from_folded[STORE_NAME_BUF], to_folded[STORE_NAME_BUF];

	memset(result_r, 0, sizeof(*result_r));
	from = store_mailbox_name(from, from_folded);
	to = store_mailbox_name(to, to_folded);
	if (!mailbox_name_valid(to) || strcmp(to, "INBOX") == 0)
		return store_conn_errorf(c, strcmp(to, "INBOX") == 0 ? -EEXIST
								  : -EINVAL,
					 "invalid new mailbox name");
	if (strcmp(from, "INBOX") == 0)
		return inbox_rename(txn, address, to, &result_r->inbox_id);
	from_len = strlen(from);
	if (strncmp(to, from, from_len) == 0 &&
	    (to[from_len] == '/' || to[from_len] == '\0'))
		return store_conn_errorf(c, -EINVAL,
					 "cannot rename %s into itself", from);
	ret = store_account_id(c, address, &account);
	if (ret == 0)
		ret = store_txn_mailbox_id(txn, address, from, &id);
	if (ret == 0)
		ret = next_uidvalidity(c, account, &result_r->uidvalidity);
	if (ret < 0)
		return ret;
	/* The mailbox and its children move together; a taken name anywhere
	 * fails the UPDATE on UNIQUE (account, name). Each gets a new
	 * UIDVALIDITY: its new name may have been another mailbox's, whose
	 * UIDs a client still holds, and RFC 3501 2.3.1.1 wants a greater
	 * one then (a trigger records it as the account's last). */
	st = store_conn_stmt(c, STMT_MAILBOX_RENAME,
			     "UPDATE mailboxes"
			     " SET name = ?3 || substr(name, length(?2) + 1),"
			     "  uidvalidity = ?4"
			     " WHERE account = ?1 AND (name = ?2 OR"
			     "  substr(name, 1, length(?2) + 1) = ?2 || '/')");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, account);
	sqlite3_bind_int64(st, 4, result_r->uidvalidity);
	if (store_bind_text(st, 2, from) != SQLITE_OK ||
	    store_bind_text(st, 3, to) != SQLITE_OK)
		return store_conn_fail(c, sqlite3_errcode(c->db), "bind");
	ret = store_conn_step_done(c, st, "mailbox rename");
	if (ret == -EEXIST)
		return store_conn_errorf(c, ret, "mailbox %s exists", to);
	if (ret == 0)
		ret = renamed_ids(c, account, result_r->uidvalidity, result_r);
	return ret;
}

int store_txn_mailbox_subscribe(struct store_txn *txn, const char *address,
				const char *name, int subscribed)
{
	struct store_conn *c = txn->conn;
	sqlite3_stmt *st;
	int64_t account;
	char folded[STORE_NAME_BUF];
	int ret;

	name = store_mailbox_name(name, folded);
	if (!mailbox_name_valid(name))
		return store_conn_errorf(c, -EINVAL, "invalid mailbox name");
	ret = store_account_id(c, address, &account);
	if (ret < 0)
		return ret;
	st = subscribed
		? store_conn_stmt(c, STMT_MAILBOX_SUBSCRIBE,
				  "INSERT OR IGNORE INTO subscriptions"
				  " (account, name) VALUES (?1, ?2)")
		: store_conn_stmt(c, STMT_MAILBOX_UNSUBSCRIBE,
				  "DELETE FROM subscriptions"
				  " WHERE account = ?1 AND name = ?2");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, account);
	if (store_bind_text(st, 2, name) != SQLITE_OK)
		return store_conn_fail(c, sqlite3_errcode(c->db), "bind");
	return store_conn_step_done(c, st, "mailbox subscribe");
}

int store_txn_mailbox_recent(struct store_txn *txn, int64_t mailbox_id,
			     uint32_t uidvalidity, uint32_t recent_uid)
{
	struct store_conn *c = txn->conn;
	sqlite3_stmt *st;

	/* Not a change to the messages: highestmodseq stays. */
	st = store_conn_stmt(c, STMT_MAILBOX_RECENT,
			     "UPDATE mailboxes"
			     " SET recent_uid = max(recent_uid, ?3)"
			     " WHERE id = ?1 AND uidvalidity = ?2");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, uidvalidity);
	sqlite3_bind_int64(st, 3, recent_uid);
	return store_conn_step_done(c, st, "mailbox recent");
}
