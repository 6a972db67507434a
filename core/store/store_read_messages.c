/* Message lists and ranged reads (read side): what a mailbox view needs
 * without ever loading whole messages, so a POP3 RETR or an IMAP partial
 * fetch of a large message costs only the bytes it sends. */
#include <errno.h>

#include "store/store_internal.h"

int store_message_list(struct store *store, int64_t mailbox_id,
		       int (*cb)(void *data, const struct store_message *m),
		       void *data)
{
	struct store_conn *c = store->reader;
	sqlite3_stmt *st = store_conn_stmt(c, STMT_R_MESSAGE_LIST,
		"SELECT uid, size, flags, internaldate, blob FROM messages"
		" WHERE mailbox = ?1 ORDER BY uid");
	int rc, ret = 0;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, mailbox_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_message m = {
			.uid = (uint32_t)sqlite3_column_int64(st, 0),
			.size = (uint64_t)sqlite3_column_int64(st, 1),
			.flags = (uint32_t)sqlite3_column_int64(st, 2),
			.internaldate = sqlite3_column_int64(st, 3),
			.blob_id = sqlite3_column_int64(st, 4),
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
