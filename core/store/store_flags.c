/* Message flags, keywords and copies (writes). Every real change takes a
 * new modseq, which is how other views of the mailbox find it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "store/store_internal.h"

/* 1 when the space-separated list has word (case-insensitive, as IMAP
 * compares flag names). */
static int keyword_has(const char *list, const char *word, size_t len)
{
	const char *p = list;

	while (*p != '\0') {
		size_t n = strcspn(p, " ");
		if (n == len && strncasecmp(p, word, len) == 0)
			return 1;
		p += n;
		while (*p == ' ')
			p++;
	}
	return 0;
}

/* Appends word to out (size out_size) unless there; -ENOSPC when full. */
static int keyword_add(char *out, size_t out_size, const char *word,
		       size_t len)
{
	size_t used = strlen(out);

	if (len == 0 || keyword_has(out, word, len))
		return 0;
	if (used + (used > 0) + len + 1 > out_size)
		return -ENOSPC;
	if (used > 0)
		out[used++] = ' ';
	memcpy(out + used, word, len);
	out[used + len] = '\0';
	return 0;
}

/* The keyword list after mode (0 replace, 1 add, 2 remove) of change. */
static int keywords_apply(const char *old, int mode, const char *change,
			  char *out, size_t out_size)
{
	const char *base = mode == 0 ? change : old;
	const char *p;
	int ret = 0;

	out[0] = '\0';
	for (p = base; ret == 0 && *p != '\0';) {
		size_t n = strcspn(p, " ");
		if (!(mode == 2 && keyword_has(change, p, n)))
			ret = keyword_add(out, out_size, p, n);
		p += n;
		while (*p == ' ')
			p++;
	}
	for (p = change; mode == 1 && ret == 0 && *p != '\0';) {
		size_t n = strcspn(p, " ");
		ret = keyword_add(out, out_size, p, n);
		p += n;
		while (*p == ' ')
			p++;
	}
	return ret;
}

int store_mailbox_take_modseq(struct store_conn *c, int64_t mailbox_id,
			      int64_t *modseq_r)
{
	sqlite3_stmt *st = store_conn_stmt(c, STMT_MAILBOX_TAKE_MODSEQ,
		"UPDATE mailboxes SET highestmodseq = highestmodseq + 1"
		" WHERE id = ?1 RETURNING highestmodseq");
	int rc;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, mailbox_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*modseq_r = sqlite3_column_int64(st, 0);
		rc = sqlite3_step(st);
		if (rc == SQLITE_DONE)
			rc = SQLITE_ROW;
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return store_conn_errorf(c, -ENOENT, "no mailbox %lld",
					 (long long)mailbox_id);
	return store_conn_fail(c, rc, "take modseq");
}

int store_txn_message_flags_if(struct store_txn *txn, int64_t mailbox_id,
			       uint32_t uid, int mode, uint32_t flags,
			       const char *keywords, uint64_t unchangedsince,
			       uint32_t *flags_r, char *keywords_r,
			       size_t keywords_size, uint64_t *modseq_r)
{
	struct store_conn *c = txn->conn;
	char old_keywords[STORE_KEYWORDS_MAX];
	uint32_t old_flags = 0, new_flags;
	uint64_t old_modseq = 0;
	sqlite3_stmt *st;
	int64_t modseq;
	int rc, ret;

	if (keywords == NULL)
		keywords = "";
	st = store_conn_stmt(c, STMT_MESSAGE_FLAGS_GET,
			     "SELECT flags, keywords, modseq FROM messages"
			     " WHERE mailbox = ?1 AND uid = ?2");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, uid);
	rc = sqlite3_step(st);
	ret = 0;
	if (rc == SQLITE_ROW) {
		old_flags = (uint32_t)sqlite3_column_int64(st, 0);
		ret = store_column_copy(c, st, 1, old_keywords,
					sizeof old_keywords);
		old_modseq = (uint64_t)sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return store_conn_errorf(c, -ENOENT, "no message %u", uid);
	if (rc != SQLITE_ROW)
		return store_conn_fail(c, rc, "flags get");
	if (ret < 0)
		return ret;
	if (modseq_r != NULL)
		*modseq_r = old_modseq;
	/* Changed since the caller looked (RFC 7162 3.1.3): left as it is;
	 * the caller learns what it is now. */
	if (old_modseq > unchangedsince) {
		*flags_r = old_flags;
		snprintf(keywords_r, keywords_size, "%s", old_keywords);
		return 1;
	}

	new_flags = mode == 0 ? flags : mode == 1 ? old_flags | flags
						  : old_flags & ~flags;
	ret = keywords_apply(old_keywords, mode, keywords, keywords_r,
			     keywords_size);
	if (ret < 0)
		return store_conn_errorf(c, ret, "too many keywords");
	*flags_r = new_flags;
	if (new_flags == old_flags && strcmp(keywords_r, old_keywords) == 0)
		return 0;
	ret = store_mailbox_take_modseq(c, mailbox_id, &modseq);
	if (ret < 0)
		return ret;
	if (modseq_r != NULL)
		*modseq_r = (uint64_t)modseq;
	st = store_conn_stmt(c, STMT_MESSAGE_FLAGS_SET,
			     "UPDATE messages SET flags = ?3, keywords = ?4,"
			     " modseq = ?5 WHERE mailbox = ?1 AND uid = ?2");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, uid);
	sqlite3_bind_int64(st, 3, new_flags);
	sqlite3_bind_int64(st, 5, modseq);
	if (store_bind_text(st, 4, keywords_r) != SQLITE_OK)
		return store_conn_fail(c, sqlite3_errcode(c->db), "bind");
	return store_conn_step_done(c, st, "flags set");
}

int store_txn_message_flags(struct store_txn *txn, int64_t mailbox_id,
			    uint32_t uid, int mode, uint32_t flags,
			    const char *keywords, uint32_t *flags_r,
			    char *keywords_r, size_t keywords_size)
{
	return store_txn_message_flags_if(txn, mailbox_id, uid, mode, flags,
					  keywords, UINT64_MAX, flags_r,
					  keywords_r, keywords_size, NULL);
}

int store_txn_message_keywords(struct store_txn *txn, int64_t mailbox_id,
			       uint32_t uid, const char *keywords)
{
	uint32_t flags;
	char out[STORE_KEYWORDS_MAX];

	if (keywords == NULL || keywords[0] == '\0')
		return 0;
	return store_txn_message_flags(txn, mailbox_id, uid, 1, 0, keywords,
				       &flags, out, sizeof out);
}

int store_txn_message_copy(struct store_txn *txn, int64_t from_mailbox,
			   uint32_t uid, int64_t to_mailbox,
			   uint32_t *new_uid_r)
{
	struct store_conn *c = txn->conn;
	sqlite3_stmt *st;
	int64_t new_uid, modseq;
	int ret;

	ret = store_mailbox_next_uid(c, to_mailbox, &new_uid, &modseq);
	if (ret < 0)
		return ret;
	st = store_conn_stmt(c, STMT_MESSAGE_COPY,
		"INSERT INTO messages (mailbox, uid, blob, flags, keywords,"
		" internaldate, size, modseq)"
		" SELECT ?3, ?4, blob, flags, keywords, internaldate, size, ?5"
		" FROM messages WHERE mailbox = ?1 AND uid = ?2");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, from_mailbox);
	sqlite3_bind_int64(st, 2, uid);
	sqlite3_bind_int64(st, 3, to_mailbox);
	sqlite3_bind_int64(st, 4, new_uid);
	sqlite3_bind_int64(st, 5, modseq);
	ret = store_conn_step_done(c, st, "message copy");
	if (ret < 0)
		return ret;
	if (sqlite3_changes(c->db) == 0)
		return store_conn_errorf(c, -ENOENT, "no message %u", uid);
	if (new_uid_r != NULL)
		*new_uid_r = (uint32_t)new_uid;
	return 0;
}
