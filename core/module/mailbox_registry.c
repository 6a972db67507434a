#include <stdlib.h>

#include "module/mailbox_registry.h"

struct mailbox_entry *mailbox_registry_find(struct core_ctx *ctx, int64_t id)
{
	struct mailbox_entry *e = ctx->mailboxes;

	while (e != NULL && e->id != id)
		e = e->next;
	return e;
}

struct mailbox_entry *mailbox_registry_get(struct core_ctx *ctx, int64_t id,
					   uint32_t uidnext)
{
	struct mailbox_entry *e = mailbox_registry_find(ctx, id);

	if (e != NULL)
		return e;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	e->id = id;
	e->recent_uid = uidnext;
	e->next = ctx->mailboxes;
	ctx->mailboxes = e;
	return e;
}

void mailbox_registry_changed(struct core_ctx *ctx, int64_t id)
{
	struct mailbox_entry *e = mailbox_registry_find(ctx, id);

	if (e == NULL)
		return;
	/* A callback may close its own view (unlinking it), never another
	 * one: take the next link first. */
	for (struct mailbox_view_link *l = e->views, *next; l != NULL;
	     l = next) {
		next = l->next;
		if (l->changed != NULL)
			l->changed(l->data);
	}
}

void mailbox_registry_free(struct core_ctx *ctx)
{
	while (ctx->mailboxes != NULL) {
		struct mailbox_entry *e = ctx->mailboxes;
		ctx->mailboxes = e->next;
		mailbox_entry_release(e);
		free(e);
	}
}
