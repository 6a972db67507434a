/* Reads of mailboxes, message bodies and blob statistics. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store/store_internal.h"

#define MAILBOX_COLUMNS \
	"m.id, m.name, m.special_use, m.uidvalidity, m.uidnext," \
	" m.message_count, EXISTS (SELECT 1 FROM subscriptions s" \
	"  WHERE s.account = m.account AND s.name = m.name), m.recent_uid"

static int mailbox_from_row(struct store_conn *c, sqlite3_stmt *st,
			    struct store_mailbox *m)
{
	int ret;

	memset(m, 0, sizeof *m);
	m->id = sqlite3_column_int64(st, 0);
	ret = store_column_copy(c, st, 1, m->name, sizeof m->name);
	if (ret == 0)
		ret = store_column_copy(c, st, 2, m->special_use,
					sizeof m->special_use);
	m->uidvalidity = (uint32_t)sqlite3_column_int64(st, 3);
	m->uidnext = (uint32_t)sqlite3_column_int64(st, 4);
	m->messages = (uint32_t)sqlite3_column_int64(st, 5);
	m->subscribed = sqlite3_column_int(st, 6);
	m->recent_uid = (uint32_t)sqlite3_column_int64(st, 7);
	return ret;
}

struct mailbox_list_ctx {
	int (*cb)(void *data, const struct store_mailbox *m);
	void *data;
	struct store_mailbox mailbox;
};

static int mailbox_row(struct store_conn *c, sqlite3_stmt *st, void *arg)
{
	struct mailbox_list_ctx *ctx = arg;
	int ret = mailbox_from_row(c, st, &ctx->mailbox);

	if (ret < 0)
		return ret;
	return ctx->cb(ctx->data, &ctx->mailbox);
}

/* Creation order, which puts INBOX and the special-use folders first. */
int store_mailbox_list(struct store *store, const char *address,
		       int (*cb)(void *data, const struct store_mailbox *m),
		       void *data)
{
	struct store_conn *c = store->reader;
	struct mailbox_list_ctx ctx = { .cb = cb, .data = data };
	sqlite3_stmt *st;
	int64_t account;
	int ret;

	ret = store_account_id(c, address, &account);
	if (ret < 0)
		return ret;
	st = store_conn_stmt(c, STMT_R_MAILBOX_LIST,
			     "SELECT " MAILBOX_COLUMNS " FROM mailboxes m"
			     " WHERE m.account = ?1 ORDER BY m.id");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, account);
	return store_each_row(c, st, mailbox_row, &ctx);
}

int store_mailbox_get(struct store *store, const char *address,
		      const char *name, struct store_mailbox *mailbox_r)
{
	struct store_conn *c = store->reader;
	sqlite3_stmt *st;
	int64_t account;
	int rc, ret;

	if (name == NULL || name[0] == '\0')
		return store_conn_errorf(c, -EINVAL, "invalid mailbox name");
	/* IMAP: INBOX is case-insensitive, every other name is not. */
	char folded[STORE_NAME_BUF];
	name = store_mailbox_name(name, folded);
	ret = store_account_id(c, address, &account);
	if (ret < 0)
		return ret;
	st = store_conn_stmt(c, STMT_R_MAILBOX_GET,
			     "SELECT " MAILBOX_COLUMNS " FROM mailboxes m"
			     " WHERE m.account = ?1 AND m.name = ?2");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, account);
	if (store_bind_text(st, 2, name) != SQLITE_OK)
		return store_conn_fail(c, sqlite3_errcode(c->db), "bind");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		ret = mailbox_from_row(c, st, mailbox_r);
	else if (rc == SQLITE_DONE)
		ret = store_conn_errorf(c, -ENOENT, "no mailbox %s", name);
	else
		ret = store_conn_fail(c, rc, "mailbox get");
	sqlite3_reset(st);
	return ret;
}

struct subscription_ctx {
	int (*cb)(void *data, const char *name);
	void *data;
};

static int subscription_row(struct store_conn *c, sqlite3_stmt *st,
			    void *arg)
{
	struct subscription_ctx *ctx = arg;
	const char *name = (const char *)sqlite3_column_text(st, 0);

	(void)c;
	return ctx->cb(ctx->data, name != NULL ? name : "");
}

int store_subscription_list(struct store *store, const char *address,
			    int (*cb)(void *data, const char *name),
			    void *data)
{
	struct store_conn *c = store->reader;
	struct subscription_ctx ctx = { .cb = cb, .data = data };
	sqlite3_stmt *st;
	int64_t account;
	int ret;

	ret = store_account_id(c, address, &account);
	if (ret < 0)
		return ret;
	st = store_conn_stmt(c, STMT_R_SUBSCRIPTION_LIST,
			     "SELECT name FROM subscriptions WHERE account = ?1"
			     " ORDER BY name");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, account);
	return store_each_row(c, st, subscription_row, &ctx);
}

int store_message_read(struct store *store, int64_t mailbox_id, uint32_t uid,
		       char **data_r, size_t *len_r)
{
	struct store_conn *c = store->reader;
	sqlite3_stmt *st;
	int rc, ret = 0;

	*data_r = NULL;
	*len_r = 0;
	st = store_conn_stmt(c, STMT_R_MESSAGE_READ,
			     "SELECT b.data FROM messages m"
			     " JOIN blobs b ON b.id = m.blob"
			     " WHERE m.mailbox = ?1 AND m.uid = ?2");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, uid);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const void *blob = sqlite3_column_blob(st, 0);
		size_t len = (size_t)sqlite3_column_bytes(st, 0);

		/* One spare byte so an empty body is still a real buffer
		 * and text users may NUL-terminate. */
		*data_r = malloc(len + 1);
		if (*data_r == NULL) {
			ret = store_conn_errorf(c, -ENOMEM, "out of memory");
		} else {
			if (len > 0)
				memcpy(*data_r, blob, len);
			(*data_r)[len] = '\0';
			*len_r = len;
		}
	} else if (rc == SQLITE_DONE) {
		ret = store_conn_errorf(c, -ENOENT, "no message %u", uid);
	} else {
		ret = store_conn_fail(c, rc, "message read");
	}
	sqlite3_reset(st);
	return ret;
}

int store_blob_stats(struct store *store, int64_t *blobs_r, int64_t *refs_r)
{
	struct store_conn *c = store->reader;
	sqlite3_stmt *st;
	int rc;

	st = store_conn_stmt(c, STMT_R_BLOB_STATS,
			     "SELECT count(*), coalesce(sum(refcount), 0)"
			     " FROM blobs");
	if (st == NULL)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*blobs_r = sqlite3_column_int64(st, 0);
		*refs_r = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return store_conn_fail(c, rc, "blob stats");
	return 0;
}
