/* What the daemon knows about each mailbox someone has open: its views
 * (to tell them about changes), its POP3 lock and its \Recent boundary.
 * Entries live in the core context from the first open until shutdown:
 * a few dozen bytes per mailbox used since the start. */
#ifndef POSTINO_MAILBOX_REGISTRY_H
#define POSTINO_MAILBOX_REGISTRY_H

#include <stdint.h>

#include "module/context.h"

struct mailbox_view_link {
	struct mailbox_view_link *next;
	void (*changed)(void *data);
	void *data;
};

struct mailbox_entry {
	struct mailbox_entry *next;
	int64_t id;
	int locked;          /* an exclusive view is open */
	uint32_t recent_uid; /* first UID no view has claimed as \Recent */
	struct mailbox_view_link *views;
};

/* The entry for mailbox id, created with recent_uid = uidnext when new;
 * NULL when out of memory. */
struct mailbox_entry *mailbox_registry_get(struct core_ctx *ctx, int64_t id,
					   uint32_t uidnext);
/* The entry or NULL, without creating it. */
struct mailbox_entry *mailbox_registry_find(struct core_ctx *ctx, int64_t id);
/* Tells every watching view of mailbox id that it changed. */
void mailbox_registry_changed(struct core_ctx *ctx, int64_t id);
void mailbox_registry_free(struct core_ctx *ctx);

#endif
