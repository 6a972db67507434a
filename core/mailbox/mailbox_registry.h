/* What a worker knows about each mailbox someone has open: its views
 * (to tell them about changes), its POP3 lock and \Recent boundary (in
 * the node's record every worker shares, mailbox_node.h), and while
 * views are open the shared table of its messages with a log of the
 * recent changes, so each view catches up by reading only what changed.
 * Entries live in the worker's core context from the first open until
 * shutdown (a few dozen bytes); the table and log go with the last view.
 * Each worker has its own entries and tables, read through its own store
 * connection: a change committed on one worker reaches the others'
 * views by mailbox_registry_changed, as a call in their inboxes. */
#ifndef POSTINO_MAILBOX_REGISTRY_H
#define POSTINO_MAILBOX_REGISTRY_H

#include <stdint.h>

#include "module/context.h"
#include "mailbox/mailbox_node.h"
#include "mailbox/msg_table.h"
#include "store/store.h"

struct mailbox_view_link {
	struct mailbox_view_link *next;
	void (*changed)(void *data);
	void *data;
};

/* One message changed (flags, keywords) or expunged by the table version
 * whose modseq this is. */
struct mailbox_change {
	uint64_t modseq;
	uint32_t uid;
	uint32_t expunged;
};

struct mailbox_entry {
	struct mailbox_entry *next;
	int64_t id;
	/* The node's record: POP3 lock, \Recent boundary (own in the CLI,
	 * which has no node). */
	struct mailbox_shared *shared;
	struct mailbox_shared own;
	struct mailbox_view_link *views;
	struct msg_table *table; /* the newest version read; NULL when unused */
	/* Ring of the changes that made each version from the one before,
	 * oldest first; it holds every change above log_floor. */
	struct mailbox_change *log;
	uint32_t log_cap;
	uint32_t log_start;
	uint32_t log_len;
	uint64_t log_floor;
	uint32_t log_max;    /* 0: MAILBOX_LOG_MAX; tests set it lower */
	/* In ctx->mailbox_cache while no view is open and table is kept. */
	struct mailbox_entry *idle_prev, *idle_next;
	int cached;
	uint32_t cached_count;
};

/* The entry for mailbox id, its node record created with recent_uid =
 * uidnext when new; NULL when out of memory. */
struct mailbox_entry *mailbox_registry_get(struct core_ctx *ctx, int64_t id,
					   uint32_t uidnext);
/* The entry or NULL, without creating it. */
struct mailbox_entry *mailbox_registry_find(struct core_ctx *ctx, int64_t id);
/* Tells every watching view of mailbox id that it changed: ctx's at
 * once, the other workers' through their inboxes (only when some worker
 * has a view of it open). */
void mailbox_registry_changed(struct core_ctx *ctx, int64_t id);
/* The \Recent boundary of mailbox id as the node knows it; 0 when no
 * view ever opened it. */
uint32_t mailbox_registry_recent(struct core_ctx *ctx, int64_t id);
void mailbox_registry_free(struct core_ctx *ctx);
/* The last view of e closed: its table stays for the next open, within
 * the cache's budget (the least recently closed tables go first). */
void mailbox_registry_idle(struct core_ctx *ctx, struct mailbox_entry *e);
/* A view opens on e: its table leaves the cache. */
void mailbox_registry_busy(struct core_ctx *ctx, struct mailbox_entry *e);

/* Brings e->table to the store's current state (one read snapshot),
 * copying it first when views share it, and logs what changed; fills
 * status_r. -ENOENT when the mailbox is gone. */
int mailbox_entry_refresh(struct store *store, struct mailbox_entry *e,
			  struct store_mailbox_status *status_r);
/* Forgets the table and the log (the last view closed). */
void mailbox_entry_release(struct mailbox_entry *e);
/* The i-th logged change, oldest first. */
const struct mailbox_change *mailbox_entry_change(const struct mailbox_entry *e,
						  uint32_t i);

#endif
