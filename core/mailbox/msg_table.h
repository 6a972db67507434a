/* A mailbox's messages at one modseq, shared by every view that is at
 * that point: ten thousand sessions IDLE on one INBOX hold one table, not
 * ten thousand copies. A published table (refs > 1) is never changed;
 * whoever needs a newer one copies it first (msg_table_own). */
#ifndef POSTINO_MSG_TABLE_H
#define POSTINO_MSG_TABLE_H

#include <stdint.h>

#include "store/store.h"

struct msg_rec {
	uint32_t uid;
	uint32_t flags;
	uint64_t size;
	int64_t internaldate;
	int64_t blob_id;
	uint64_t modseq;
	char *keywords; /* owned by the table; NULL when none */
};

struct msg_table {
	unsigned refs;
	uint64_t modseq; /* the mailbox's highestmodseq it reflects */
	uint32_t uidnext; /* and its UIDNEXT then */
	uint32_t count;
	uint32_t cap;
	struct msg_rec *recs; /* in UID order */
};

/* An empty table with one reference, or NULL. */
struct msg_table *msg_table_new(void);
struct msg_table *msg_table_ref(struct msg_table *t);
void msg_table_unref(struct msg_table **tp);
/* *tp itself when only the caller holds it, else a private copy that
 * replaces the caller's reference; -ENOMEM leaves *tp as it was. */
int msg_table_own(struct msg_table **tp);

/* Index of uid, or -1. */
int64_t msg_table_find(const struct msg_table *t, uint32_t uid);
/* Index of the first message with a UID above uid (count if none). */
uint32_t msg_table_after(const struct msg_table *t, uint32_t uid);
/* The highest UID, 0 when empty. */
uint32_t msg_table_last_uid(const struct msg_table *t);

/* Appends s, whose UID must be above every one in t. */
int msg_table_append(struct msg_table *t, const struct store_message *s);
/* Overwrites record i with s (same UID). */
int msg_table_update(struct msg_table *t, uint32_t i,
		     const struct store_message *s);
/* Drops the records whose keep[] is 0, keeping the order. */
void msg_table_compact(struct msg_table *t, const uint8_t *keep);

#endif
