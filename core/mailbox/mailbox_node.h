/* What every worker must agree on about a mailbox: whether an exclusive
 * view (POP3's maildrop) holds it, the first UID no read-write view has
 * claimed as \Recent, and whether any worker has a view open (so a change
 * is worth telling the other workers about). One record per mailbox
 * (id and UIDVALIDITY: the store reuses a deleted mailbox's id) opened
 * since the start, never freed before the node: a few dozen bytes, like
 * the registry's entries. The records are shared by all workers'
 * threads, so their fields are atomics; the table's lock guards lookups
 * and a rename's new UIDVALIDITY. */
#ifndef POSTINO_MAILBOX_NODE_H
#define POSTINO_MAILBOX_NODE_H

#include <stdint.h>

struct mailbox_shared {
	struct mailbox_shared *next; /* in the node's bucket */
	int64_t id;
	uint32_t uidvalidity; /* under the node's lock */
	uint32_t locked;     /* __atomic: an exclusive view is open */
	uint32_t recent_uid; /* __atomic */
	uint32_t views;      /* __atomic: open views, on every worker */
};

struct mailbox_node;

int mailbox_node_new(struct mailbox_node **node_r);
void mailbox_node_free(struct mailbox_node **node);
/* The record of mailbox (id, uidvalidity), created with the \Recent
 * boundary recent_uid (the store's) when new; NULL out of memory. */
struct mailbox_shared *mailbox_node_get(struct mailbox_node *node, int64_t id,
					uint32_t uidvalidity,
					uint32_t recent_uid);
/* The record, or NULL when nobody has opened the mailbox. */
struct mailbox_shared *mailbox_node_lookup(struct mailbox_node *node,
					   int64_t id, uint32_t uidvalidity);
/* Whether a view of mailbox id is open on some worker. */
int mailbox_node_has_views(struct mailbox_node *node, int64_t id);
/* The mailbox of m was renamed: it has uidvalidity now. */
void mailbox_node_renamed(struct mailbox_node *node, struct mailbox_shared *m,
			  uint32_t uidvalidity);

/* 1 when this view now holds the exclusive lock, 0 when another does. */
int mailbox_shared_lock(struct mailbox_shared *m);
void mailbox_shared_unlock(struct mailbox_shared *m);
uint32_t mailbox_shared_recent(const struct mailbox_shared *m);
/* Raises the \Recent boundary to uidnext (never lowers it) and returns
 * what it was: the caller's claim is [that, uidnext). */
uint32_t mailbox_shared_recent_take(struct mailbox_shared *m,
				    uint32_t uidnext);

#endif
