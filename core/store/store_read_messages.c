/* Message lists and ranged reads (read side): what a mailbox view needs
 * without ever loading whole messages, so a POP3 RETR or an IMAP partial
 * fetch of a large message costs only the bytes it sends. */
#include <errno.h>

#include "store/store_internal.h"

static int message_rows(struct store_conn *c, sqlite3_stmt *st,
			int (*cb)(void *data, const struct store_message *m),
			void *data)
{
	int rc, ret = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *kw = sqlite3_column_text(st, 6);
		struct store_message m = {
			.uid = (uint32_t)sqlite3_column_int64(st, 0),
			.size = (uint64_t)sqlite3_column_int64(st, 1),
			.flags = (uint32_t)sqlite3_column_int64(st, 2),
			.internaldate = sqlite3_column_int64(st, 3),
			.blob_id = sqlite3_column_int64(st, 4),
			.modseq = (uint64_t)sqlite3_column_int64(st, 5),
			.keywords = kw != NULL ? (const char *)kw : "",
		};
		ret = cb(data, &m);
		if (ret != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = store_conn_fail(c, rc, "message list");
	sqlite3_reset(st);
	return ret;
}

#define MESSAGE_COLUMNS \
	"uid, size, flags, internaldate, blob, modseq, keywords"

int store_message_list(struct store *store, int64_t mailbox_id,
		       int (*cb)(void *data, const struct store_message *m),
		       void *data)
{
	struct store_conn *c = store->reader;
	sqlite3_stmt *st = store_conn_stmt(c, STMT_R_MESSAGE_LIST,
		"SELECT " MESSAGE_COLUMNS " FROM messages"
		" WHERE mailbox = ?1 ORDER BY uid");

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, mailbox_id);
	return message_rows(c, st, cb, data);
}

int store_message_changes(struct store *store, int64_t mailbox_id,
			  uint64_t since_modseq,
			  int (*cb)(void *data, const struct store_message *m),
			  void *data)
{
	struct store_conn *c = store->reader;
	sqlite3_stmt *st = store_conn_stmt(c, STMT_R_MESSAGE_CHANGES,
		"SELECT " MESSAGE_COLUMNS " FROM messages"
		" WHERE mailbox = ?1 AND modseq > ?2 ORDER BY uid");

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, (int64_t)since_modseq);
	return message_rows(c, st, cb, data);
}

int store_vanished(struct store *store, int64_t mailbox_id, uint64_t since,
		   uint64_t upto, int (*cb)(void *data, uint32_t uid),
		   void *data)
{
	struct store_conn *c = store->reader;
	sqlite3_stmt *st = store_conn_stmt(c, STMT_R_VANISHED,
		"SELECT uid FROM expunged WHERE mailbox = ?1"
		" AND modseq > ?2 AND modseq <= ?3 ORDER BY uid");
	int rc, ret = 0;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, (int64_t)since);
	sqlite3_bind_int64(st, 3, (int64_t)upto);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ret = cb(data, (uint32_t)sqlite3_column_int64(st, 0));
		if (ret != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = store_conn_fail(c, rc, "vanished");
	sqlite3_reset(st);
	return ret;
}

int store_message_count_from(struct store *store, int64_t mailbox_id,
			     uint32_t uid, uint32_t *count_r)
{
	struct store_conn *c = store->reader;
	sqlite3_stmt *st = store_conn_stmt(c, STMT_R_MESSAGE_COUNT_FROM,
		"SELECT count(*) FROM messages WHERE mailbox = ?1"
		" AND uid >= ?2");
	int rc;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, uid);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*count_r = (uint32_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : store_conn_fail(c, rc, "count from");
}

int store_mailbox_status(struct store *store, int64_t mailbox_id,
			 struct store_mailbox_status *status_r)
{
	struct store_conn *c = store->reader;
	sqlite3_stmt *st = store_conn_stmt(c, STMT_R_MAILBOX_STATUS,
		"SELECT uidnext, uidvalidity, highestmodseq, message_count,"
		" unseen_count, deleted_count, deleted_bytes, vanished_floor"
		" FROM mailboxes WHERE id = ?1");
	int rc;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, mailbox_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		status_r->uidnext = (uint32_t)sqlite3_column_int64(st, 0);
		status_r->uidvalidity = (uint32_t)sqlite3_column_int64(st, 1);
		status_r->highestmodseq = (uint64_t)sqlite3_column_int64(st, 2);
		status_r->messages = (uint32_t)sqlite3_column_int64(st, 3);
		status_r->unseen = (uint32_t)sqlite3_column_int64(st, 4);
		status_r->deleted = (uint32_t)sqlite3_column_int64(st, 5);
		status_r->deleted_bytes = (uint64_t)sqlite3_column_int64(st, 6);
		status_r->vanished_floor =
			(uint64_t)sqlite3_column_int64(st, 7);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return store_conn_errorf(c, -ENOENT, "no mailbox %lld",
					 (long long)mailbox_id);
	return store_conn_fail(c, rc, "mailbox status");
}

/* Only the daemon's read connection takes snapshots: in admin mode the
 * reader is the write connection, which may be inside a job. */
int store_read_begin(struct store *store)
{
	if (store->mode != STORE_MODE_DAEMON)
		return 0;
	return store_conn_run(store->reader, STMT_R_BEGIN, "BEGIN");
}

void store_read_end(struct store *store)
{
	if (store->mode == STORE_MODE_DAEMON)
		(void)store_conn_run(store->reader, STMT_R_END, "COMMIT");
}

int64_t store_blob_read(struct store *store, int64_t blob_id, uint64_t offset,
			void *buf, size_t len)
{
	struct store_conn *c = store->reader;
	sqlite3_blob *blob = NULL;
	int rc = sqlite3_blob_open(c->db, "main", "blobs", "data", blob_id, 0,
				   &blob);

	if (rc != SQLITE_OK) {
		sqlite3_blob_close(blob);
		return rc == SQLITE_ERROR ? -ENOENT : store_conn_fail(c, rc, "blob open");
	}
	int size = sqlite3_blob_bytes(blob);
	int64_t n = 0;
	if (offset < (uint64_t)size) {
		n = (int64_t)((uint64_t)size - offset);
		if ((uint64_t)n > len)
			n = (int64_t)len;
		rc = sqlite3_blob_read(blob, buf, (int)n, (int)offset);
		if (rc != SQLITE_OK)
			n = store_conn_fail(c, rc, "blob read");
	}
	sqlite3_blob_close(blob);
	return n;
}
