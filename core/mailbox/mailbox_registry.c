#include <stdlib.h>

#include "mailbox/mailbox_registry.h"
#include "util/inbox.h"

/* Records (48 bytes each) kept for mailboxes nobody has open: about
 * 12 MiB, enough for a 100,000-message mailbox reopened often to skip
 * reading its list again, as Dovecot's index files let it. */
#define MAILBOX_CACHE_RECORDS 262144u

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
	e->own.id = id;
	e->own.recent_uid = uidnext;
	e->shared = ctx->mailbox_node != NULL
			    ? mailbox_node_get(ctx->mailbox_node, id, uidnext)
			    : &e->own;
	if (e->shared == NULL) {
		free(e);
		return NULL;
	}
	e->next = ctx->mailboxes;
	ctx->mailboxes = e;
	return e;
}

/* Tells this worker's views of mailbox id. */
static void registry_changed_here(struct core_ctx *ctx, int64_t id)
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

/* A change made on another worker, told in this worker's inbox. */
struct registry_news {
	struct core_ctx *ctx; /* the worker told */
	int64_t id;
};

static void *registry_news_make(struct core_ctx *target, void *arg)
{
	struct registry_news *n = malloc(sizeof(*n));

	if (n != NULL)
		*n = (struct registry_news){ target, *(int64_t *)arg };
	return n;
}

static void registry_news_run(void *data)
{
	struct registry_news *n = data;

	registry_changed_here(n->ctx, n->id);
	free(n);
}

void mailbox_registry_changed(struct core_ctx *ctx, int64_t id)
{
	registry_changed_here(ctx, id);
	if (ctx->node == NULL || ctx->node->workers < 2 ||
	    ctx->mailbox_node == NULL)
		return;
	/* A view counts itself before its first read of the store, and this
	 * runs after the commit: either the other worker's view is counted
	 * here, or its first read sees the change. */
	struct mailbox_shared *m = mailbox_node_find(ctx->mailbox_node, id);
	if (m == NULL || __atomic_load_n(&m->views, __ATOMIC_SEQ_CST) == 0)
		return;
	core_post_others(ctx, registry_news_run, registry_news_make, &id);
}

uint32_t mailbox_registry_recent(struct core_ctx *ctx, int64_t id)
{
	struct mailbox_entry *e = mailbox_registry_find(ctx, id);
	struct mailbox_shared *m = NULL;

	if (ctx->mailbox_node != NULL)
		m = mailbox_node_find(ctx->mailbox_node, id);
	else if (e != NULL)
		m = e->shared;
	return m != NULL ? mailbox_shared_recent(m) : 0;
}

void mailbox_registry_busy(struct core_ctx *ctx, struct mailbox_entry *e)
{
	struct mailbox_cache *c = &ctx->mailbox_cache;

	if (!e->cached)
		return;
	if (e->idle_prev != NULL)
		e->idle_prev->idle_next = e->idle_next;
	else
		c->oldest = e->idle_next;
	if (e->idle_next != NULL)
		e->idle_next->idle_prev = e->idle_prev;
	else
		c->newest = e->idle_prev;
	e->idle_prev = e->idle_next = NULL;
	e->cached = 0;
	c->records -= e->cached_count;
}

void mailbox_registry_idle(struct core_ctx *ctx, struct mailbox_entry *e)
{
	struct mailbox_cache *c = &ctx->mailbox_cache;
	uint64_t budget = c->budget > 0 ? c->budget : MAILBOX_CACHE_RECORDS;

	if (e->table == NULL || e->cached)
		return;
	e->cached = 1;
	e->cached_count = e->table->count;
	e->idle_prev = c->newest;
	if (c->newest != NULL)
		c->newest->idle_next = e;
	else
		c->oldest = e;
	c->newest = e;
	c->records += e->cached_count;
	while (c->records > budget && c->oldest != NULL) {
		struct mailbox_entry *old = c->oldest;
		mailbox_registry_busy(ctx, old);
		mailbox_entry_release(old);
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
