/* The outbound queue: reads for the queue worker and the CLI, and the
 * writes that record what a delivery attempt gave. Rows are added by
 * store_txn_queue_add (store_delivery.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"

int store_txn_queue_rcpt_set(struct store_txn *txn, int64_t rcpt_id,
			     int status, const char *reply)
{
	struct store_conn *c = txn->conn;
	sqlite3_stmt *st = store_conn_stmt(c, STMT_QUEUE_RCPT_SET,
		"UPDATE queue_rcpts SET status = ?2,"
		" last_reply = coalesce(?3, last_reply) WHERE id = ?1");
	int ret;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, rcpt_id);
	sqlite3_bind_int(st, 2, status);
	if (reply != NULL && store_bind_text(st, 3, reply) != SQLITE_OK)
		return store_conn_fail(c, sqlite3_errcode(c->db), "bind");
	ret = store_conn_step_done(c, st, "queue rcpt set");
	if (ret == 0 && sqlite3_changes(c->db) == 0)
		return store_conn_errorf(c, -ENOENT, "no queue recipient %lld",
					 (long long)rcpt_id);
	return ret;
}

int store_txn_queue_retry(struct store_txn *txn, int64_t queue_id,
			  int64_t next_attempt, int64_t attempts)
{
	struct store_conn *c = txn->conn;
	sqlite3_stmt *st = store_conn_stmt(c, STMT_QUEUE_RETRY,
		"UPDATE queue SET next_attempt = ?2, attempts = ?3"
		" WHERE id = ?1");
	int ret;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, queue_id);
	sqlite3_bind_int64(st, 2, next_attempt);
	sqlite3_bind_int64(st, 3, attempts);
	ret = store_conn_step_done(c, st, "queue retry");
	if (ret == 0 && sqlite3_changes(c->db) == 0)
		return store_conn_errorf(c, -ENOENT, "no queue entry %lld",
					 (long long)queue_id);
	return ret;
}

int store_txn_queue_del(struct store_txn *txn, int64_t queue_id)
{
	struct store_conn *c = txn->conn;
	/* queue_rcpts go by ON DELETE CASCADE, the blob reference by the
	 * queue_blob_unref trigger. */
	sqlite3_stmt *st = store_conn_stmt(c, STMT_QUEUE_DEL,
		"DELETE FROM queue WHERE id = ?1");
	int ret;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, queue_id);
	ret = store_conn_step_done(c, st, "queue del");
	if (ret == 0 && sqlite3_changes(c->db) == 0)
		return store_conn_errorf(c, -ENOENT, "no queue entry %lld",
					 (long long)queue_id);
	return ret;
}

int store_txn_queue_flush(struct store_txn *txn, int64_t queue_id)
{
	struct store_conn *c = txn->conn;
	sqlite3_stmt *st;
	int ret;

	if (queue_id == 0) {
		st = store_conn_stmt(c, STMT_QUEUE_FLUSH_ALL,
				     "UPDATE queue SET next_attempt = 0");
		return st == NULL ? -EIO :
				    store_conn_step_done(c, st, "queue flush");
	}
	st = store_conn_stmt(c, STMT_QUEUE_FLUSH_ONE,
			     "UPDATE queue SET next_attempt = 0 WHERE id = ?1");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, queue_id);
	ret = store_conn_step_done(c, st, "queue flush");
	if (ret == 0 && sqlite3_changes(c->db) == 0)
		return store_conn_errorf(c, -ENOENT, "no queue entry %lld",
					 (long long)queue_id);
	return ret;
}

/* ---- reads -------------------------------------------------------------- */

struct due_ctx {
	int (*cb)(void *data, int64_t queue_id);
	void *data;
};

static int due_row(struct store_conn *c, sqlite3_stmt *st, void *arg)
{
	struct due_ctx *ctx = arg;

	(void)c;
	return ctx->cb(ctx->data, sqlite3_column_int64(st, 0));
}

int store_queue_due(struct store *store, int64_t now_s, unsigned limit,
		    int (*cb)(void *data, int64_t queue_id), void *data)
{
	struct store_conn *c = store->reader;
	struct due_ctx ctx = { .cb = cb, .data = data };
	sqlite3_stmt *st = store_conn_stmt(c, STMT_R_QUEUE_DUE,
		"SELECT id FROM queue WHERE next_attempt <= ?1"
		" ORDER BY next_attempt, id LIMIT ?2");

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, now_s);
	sqlite3_bind_int64(st, 2, limit);
	return store_each_row(c, st, due_row, &ctx);
}

#define ENTRY_COLUMNS \
	"q.id, q.sender, q.blob, b.size, q.created, q.next_attempt," \
	" q.attempts, q.giveup"

static int entry_from_row(struct store_conn *c, sqlite3_stmt *st,
			  struct store_queue_entry *e)
{
	memset(e, 0, sizeof *e);
	e->id = sqlite3_column_int64(st, 0);
	e->blob = sqlite3_column_int64(st, 2);
	e->size = sqlite3_column_int64(st, 3);
	e->created = sqlite3_column_int64(st, 4);
	e->next_attempt = sqlite3_column_int64(st, 5);
	e->attempts = sqlite3_column_int64(st, 6);
	e->giveup = sqlite3_column_int64(st, 7);
	return store_column_copy(c, st, 1, e->sender, sizeof e->sender);
}

int store_queue_get(struct store *store, int64_t queue_id,
		    struct store_queue_entry *entry_r, char **data_r,
		    size_t *len_r)
{
	struct store_conn *c = store->reader;
	sqlite3_stmt *st = store_conn_stmt(c, STMT_R_QUEUE_GET,
		"SELECT " ENTRY_COLUMNS ", b.data FROM queue q"
		" JOIN blobs b ON b.id = q.blob WHERE q.id = ?1");
	int rc, ret = 0;

	if (data_r != NULL) {
		*data_r = NULL;
		*len_r = 0;
	}
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, queue_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		ret = store_conn_errorf(c, -ENOENT, "no queue entry %lld",
					(long long)queue_id);
	} else if (rc != SQLITE_ROW) {
		ret = store_conn_fail(c, rc, "queue get");
	} else {
		ret = entry_from_row(c, st, entry_r);
		if (ret == 0 && data_r != NULL) {
			size_t len = (size_t)sqlite3_column_bytes(st, 8);
			const void *blob = sqlite3_column_blob(st, 8);
			/* +1: callers may treat it as a string. */
			char *copy = malloc(len + 1);

			if (copy == NULL) {
				ret = store_conn_errorf(c, -ENOMEM,
							"out of memory");
			} else {
				if (len > 0)
					memcpy(copy, blob, len);
				copy[len] = '\0';
				*data_r = copy;
				*len_r = len;
			}
		}
	}
	sqlite3_reset(st);
	return ret;
}

struct list_ctx {
	int (*cb)(void *data, const struct store_queue_entry *e);
	void *data;
	struct store_queue_entry entry;
};

static int list_row(struct store_conn *c, sqlite3_stmt *st, void *arg)
{
	struct list_ctx *ctx = arg;
	int ret = entry_from_row(c, st, &ctx->entry);

	return ret < 0 ? ret : ctx->cb(ctx->data, &ctx->entry);
}

int store_queue_list(struct store *store,
		     int (*cb)(void *data, const struct store_queue_entry *e),
		     void *data)
{
	struct store_conn *c = store->reader;
	struct list_ctx ctx = { .cb = cb, .data = data };
	sqlite3_stmt *st = store_conn_stmt(c, STMT_R_QUEUE_LIST,
		"SELECT " ENTRY_COLUMNS " FROM queue q"
		" JOIN blobs b ON b.id = q.blob ORDER BY q.id");

	if (st == NULL)
		return -EIO;
	return store_each_row(c, st, list_row, &ctx);
}

struct rcpt_ctx {
	int (*cb)(void *data, const struct store_queue_rcpt *r);
	void *data;
	struct store_queue_rcpt rcpt;
};

static int rcpt_row(struct store_conn *c, sqlite3_stmt *st, void *arg)
{
	struct rcpt_ctx *ctx = arg;
	struct store_queue_rcpt *r = &ctx->rcpt;
	const unsigned char *reply = sqlite3_column_text(st, 3);
	int ret;

	memset(r, 0, sizeof *r);
	r->id = sqlite3_column_int64(st, 0);
	r->status = sqlite3_column_int(st, 2);
	ret = store_column_copy(c, st, 1, r->address, sizeof r->address);
	if (ret < 0)
		return ret;
	/* A remote's reply may be long; what fits is enough to show. */
	if (reply != NULL)
		snprintf(r->last_reply, sizeof r->last_reply, "%s",
			 (const char *)reply);
	return ctx->cb(ctx->data, r);
}

int store_queue_rcpts(struct store *store, int64_t queue_id,
		      int (*cb)(void *data, const struct store_queue_rcpt *r),
		      void *data)
{
	struct store_conn *c = store->reader;
	struct rcpt_ctx ctx = { .cb = cb, .data = data };
	sqlite3_stmt *st = store_conn_stmt(c, STMT_R_QUEUE_RCPTS,
		"SELECT id, address, status, last_reply FROM queue_rcpts"
		" WHERE queue = ?1 ORDER BY id");

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, queue_id);
	return store_each_row(c, st, rcpt_row, &ctx);
}
