/* What a worker knows about each mailbox someone has open: its views
 * (to tell them about changes), its POP3 lock and \Recent boundary (in
 * the node's record every worker shares, mailbox_node.h), and while
 * views are open the shared table of its messages with a log of the
 * recent changes, so each view catches up by reading only what changed.
 * Entries live in the worker's core context from the first open until
 * shutdown (a few dozen bytes); the table and log go with the last view.
 * Each worker has its own entries and tables, read through its own store
 * connection: a change committed on one worker reaches the others'
 * views as a call in their inboxes (mailbox_registry_changed, _gone,
 * _renamed).
 *
 * An entry is one mailbox, not one name or one row id: the store reuses
 * the id of a deleted mailbox, so an entry is the pair (id, UIDVALIDITY),
 * which no two mailboxes ever share. A mailbox that goes away (DELETE, or
 * a new UIDVALIDITY seen under its id) leaves the registry at once, its
 * cached table with it; views still open on it keep the entry, marked
 * gone, until the last one closes. */
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
	uint32_t uidvalidity;
	int gone;            /* deleted: out of the registry, freed with its
			      * last view; refreshes fail with -ENOENT */
	/* The node's record: the POP3 lock and the \Recent boundary (the
	 * first UID no read-write view has claimed, RFC 3501 2.3.2), every
	 * worker's; own in the CLI, which has no node. */
	struct mailbox_shared *shared;
	struct mailbox_shared own;
	/* What this worker has stored of the boundary (stored or being
	 * stored), and whether its store job is in flight (claims in the
	 * meantime go in the next one). */
	uint32_t recent_saved;
	int recent_saving;
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

/* The entry of the mailbox (id, uidvalidity), created with the \Recent
 * boundary the store has (recent_uid) when new; an entry of an older
 * mailbox under the same id goes (mailbox_registry_forget). NULL when
 * out of memory. */
struct mailbox_entry *mailbox_registry_get(struct core_ctx *ctx, int64_t id,
					   uint32_t uidvalidity,
					   uint32_t recent_uid);
/* A read-write view is told of the messages below uidnext: they are no
 * longer \Recent for anyone else, on any worker. Returns the boundary
 * before the claim: the view's \Recent messages are those from it up to
 * uidnext (none when another view got there first). The boundary goes to
 * the store in the background (one job at a time per mailbox and
 * worker; the store keeps the highest), so it holds across restarts; a
 * crash before that commits makes them \Recent once more, as RFC 3501
 * 2.3.2 prefers to losing them. */
uint32_t mailbox_registry_claim_recent(struct core_ctx *ctx,
				       struct mailbox_entry *e,
				       uint32_t uidnext);
/* The \Recent boundary of e as the node has it now. */
uint32_t mailbox_entry_recent(const struct mailbox_entry *e);
/* The \Recent boundary of mailbox (id, uidvalidity) as the node has it,
 * or stored (the store's, for a mailbox no view has opened). */
uint32_t mailbox_registry_recent(struct core_ctx *ctx, int64_t id,
				 uint32_t uidvalidity, uint32_t stored);
/* The entry of mailbox id or NULL, without creating it. */
struct mailbox_entry *mailbox_registry_find(struct core_ctx *ctx, int64_t id);
/* The mailbox of e is gone: e leaves the registry with its cached table,
 * and its views are told (their next sync fails with -ENOENT); e is freed
 * now if no view has it open, else when the last one closes. */
void mailbox_registry_forget(struct core_ctx *ctx, struct mailbox_entry *e);
/* Mailbox (id, uidvalidity) was deleted: ctx's entry is forgotten, and
 * the other workers' through their inboxes. */
void mailbox_registry_gone(struct core_ctx *ctx, int64_t id,
			   uint32_t uidvalidity);
/* Mailbox id was renamed and now has uidvalidity: the entries of every
 * worker (and the node's record) follow, so their views go on. */
void mailbox_registry_renamed(struct core_ctx *ctx, int64_t id,
			      uint32_t uidvalidity);
/* A view of e closed; frees e if it was the last view of a gone mailbox,
 * else lets its table idle (mailbox_registry_idle). */
void mailbox_registry_view_closed(struct core_ctx *ctx,
				  struct mailbox_entry *e);
/* Tells every watching view of mailbox id that it changed: ctx's at
 * once, the other workers' through their inboxes (only when some worker
 * has a view of it open). */
void mailbox_registry_changed(struct core_ctx *ctx, int64_t id);
void mailbox_registry_free(struct core_ctx *ctx);
/* The last view of e closed: its table stays for the next open, within
 * the cache's budget (the least recently closed tables go first). */
void mailbox_registry_idle(struct core_ctx *ctx, struct mailbox_entry *e);
/* A view opens on e: its table leaves the cache. */
void mailbox_registry_busy(struct core_ctx *ctx, struct mailbox_entry *e);

/* Brings e->table to the store's current state (one read snapshot),
 * copying it first when views share it, and logs what changed; fills
 * status_r. -ENOENT when the mailbox is gone: deleted, or its id now
 * another mailbox's (another UIDVALIDITY). */
int mailbox_entry_refresh(struct store *store, struct mailbox_entry *e,
			  struct store_mailbox_status *status_r);
/* Forgets the table and the log (the last view closed). */
void mailbox_entry_release(struct mailbox_entry *e);
/* The i-th logged change, oldest first. */
const struct mailbox_change *mailbox_entry_change(const struct mailbox_entry *e,
						  uint32_t i);

#endif
