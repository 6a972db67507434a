#include <stdlib.h>
#include <string.h>

#include "log/log.h"
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
					   uint32_t uidvalidity,
					   uint32_t recent_uid)
{
	struct mailbox_entry *e = mailbox_registry_find(ctx, id);

	if (e != NULL && e->uidvalidity == uidvalidity)
		return e;
	/* The id of a mailbox deleted behind our back (another process),
	 * now another mailbox's: nothing of the old one may show. */
	if (e != NULL)
		mailbox_registry_forget(ctx, e);
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	e->id = id;
	e->uidvalidity = uidvalidity;
	e->recent_saved = recent_uid;
	e->own.id = id;
	e->own.uidvalidity = uidvalidity;
	e->own.recent_uid = recent_uid;
	e->shared = ctx->mailbox_node != NULL
			    ? mailbox_node_get(ctx->mailbox_node, id,
					       uidvalidity, recent_uid)
			    : &e->own;
	if (e->shared == NULL) {
		free(e);
		return NULL;
	}
	e->next = ctx->mailboxes;
	ctx->mailboxes = e;
	return e;
}

static void entry_changed(struct mailbox_entry *e)
{
	/* A callback may close its own view (unlinking it), never another
	 * one: take the next link first. */
	for (struct mailbox_view_link *l = e->views, *next; l != NULL;
	     l = next) {
		next = l->next;
		if (l->changed != NULL)
			l->changed(l->data);
	}
}

/* ---- news from the other workers ------------------------------------- */

enum registry_news_kind { NEWS_CHANGED, NEWS_GONE, NEWS_RENAMED };

/* A change made on another worker, told in this worker's inbox. */
struct registry_news {
	struct core_ctx *ctx; /* the worker told */
	enum registry_news_kind kind;
	int64_t id;
	uint32_t uidvalidity;
};

static void *registry_news_make(struct core_ctx *target, void *arg)
{
	struct registry_news *n = malloc(sizeof(*n));

	if (n != NULL) {
		*n = *(struct registry_news *)arg;
		n->ctx = target;
	}
	return n;
}

static void registry_news_run(void *data)
{
	struct registry_news *n = data;
	struct mailbox_entry *e = mailbox_registry_find(n->ctx, n->id);

	if (e != NULL) {
		switch (n->kind) {
		case NEWS_CHANGED:
			entry_changed(e);
			break;
		case NEWS_GONE:
			if (e->uidvalidity == n->uidvalidity)
				mailbox_registry_forget(n->ctx, e);
			break;
		case NEWS_RENAMED:
			e->uidvalidity = n->uidvalidity;
			break;
		}
	}
	free(n);
}

/* Tells the other workers, when some worker may have a view of mailbox
 * id: a view counts itself before its first read of the store, and this
 * runs after the commit, so either the other worker's view is counted
 * here or its first read sees the change. */
static void registry_tell_others(struct core_ctx *ctx,
				 enum registry_news_kind kind, int64_t id,
				 uint32_t uidvalidity)
{
	struct registry_news news = { NULL, kind, id, uidvalidity };

	if (ctx->node == NULL || ctx->node->workers < 2 ||
	    ctx->mailbox_node == NULL ||
	    (kind == NEWS_CHANGED &&
	     !mailbox_node_has_views(ctx->mailbox_node, id)))
		return;
	core_post_others(ctx, registry_news_run, registry_news_make, &news);
}

void mailbox_registry_changed(struct core_ctx *ctx, int64_t id)
{
	struct mailbox_entry *e = mailbox_registry_find(ctx, id);

	if (e != NULL)
		entry_changed(e);
	registry_tell_others(ctx, NEWS_CHANGED, id, 0);
}

void mailbox_registry_gone(struct core_ctx *ctx, int64_t id,
			   uint32_t uidvalidity)
{
	struct mailbox_entry *e = mailbox_registry_find(ctx, id);

	if (e != NULL && e->uidvalidity == uidvalidity)
		mailbox_registry_forget(ctx, e);
	registry_tell_others(ctx, NEWS_GONE, id, uidvalidity);
}

void mailbox_registry_renamed(struct core_ctx *ctx, int64_t id,
			      uint32_t uidvalidity)
{
	struct mailbox_entry *e = mailbox_registry_find(ctx, id);

	if (e != NULL) {
		if (ctx->mailbox_node != NULL)
			mailbox_node_renamed(ctx->mailbox_node, e->shared,
					     uidvalidity);
		e->uidvalidity = uidvalidity;
	}
	registry_tell_others(ctx, NEWS_RENAMED, id, uidvalidity);
}

void mailbox_registry_forget(struct core_ctx *ctx, struct mailbox_entry *e)
{
	struct mailbox_entry **p = &ctx->mailboxes;

	while (*p != NULL && *p != e)
		p = &(*p)->next;
	if (*p != NULL)
		*p = e->next;
	e->next = NULL;
	mailbox_registry_busy(ctx, e);
	mailbox_entry_release(e);
	e->gone = 1;
	if (e->views == NULL) {
		free(e);
		return;
	}
	/* A view closing from its callback may free e with the last one:
	 * keep e alive through the calls. */
	struct mailbox_view_link guard = { .next = e->views };
	e->views = &guard;
	entry_changed(e);
	e->views = guard.next;
	if (e->views == NULL)
		free(e);
}

void mailbox_registry_view_closed(struct core_ctx *ctx,
				  struct mailbox_entry *e)
{
	if (e->views != NULL)
		return;
	if (e->gone)
		free(e);
	else
		mailbox_registry_idle(ctx, e);
}

struct recent_job {
	struct core_ctx *ctx;
	int64_t id;
	uint32_t uidvalidity;
	uint32_t recent_uid;
};

static void recent_save(struct core_ctx *ctx, struct mailbox_entry *e);

static int recent_run(struct store_txn *txn, void *data)
{
	struct recent_job *job = data;

	return store_txn_mailbox_recent(txn, job->id, job->uidvalidity,
					job->recent_uid);
}

/* The entry is looked up again: it may have gone meanwhile. */
static void recent_done(void *data, int status)
{
	struct recent_job *job = data;
	struct mailbox_entry *e = mailbox_registry_find(job->ctx, job->id);

	if (status < 0)
		log_write(&job->ctx->log, LOG_LEVEL_WARNING, "core", NULL,
			  "cannot record the \\Recent messages of mailbox "
			  "%lld: %s", (long long)job->id, strerror(-status));
	if (e != NULL && e->uidvalidity == job->uidvalidity) {
		e->recent_saving = 0;
		if (status == 0 && e->recent_saved < job->recent_uid)
			e->recent_saved = job->recent_uid;
		if (status == 0)
			recent_save(job->ctx, e);
	}
	free(job);
}

static void recent_save(struct core_ctx *ctx, struct mailbox_entry *e)
{
	uint32_t recent = mailbox_entry_recent(e);

	if (e->recent_saving || recent <= e->recent_saved)
		return;
	struct recent_job *job = malloc(sizeof(*job));
	if (job == NULL)
		return; /* the next claim tries again */
	*job = (struct recent_job){ ctx, e->id, e->uidvalidity, recent };
	if (store_submit(ctx->store, recent_run, recent_done, job) < 0) {
		free(job); /* shutting down */
		return;
	}
	e->recent_saving = 1;
}

uint32_t mailbox_entry_recent(const struct mailbox_entry *e)
{
	return mailbox_shared_recent(e->shared);
}

uint32_t mailbox_registry_claim_recent(struct core_ctx *ctx,
				       struct mailbox_entry *e,
				       uint32_t uidnext)
{
	/* Atomic for the node: two read-write views on two workers never
	 * both have one message as \Recent. */
	uint32_t from = mailbox_shared_recent_take(e->shared, uidnext);

	if (from < uidnext)
		recent_save(ctx, e);
	return from;
}

uint32_t mailbox_registry_recent(struct core_ctx *ctx, int64_t id,
				 uint32_t uidvalidity, uint32_t stored)
{
	struct mailbox_entry *e = mailbox_registry_find(ctx, id);
	const struct mailbox_shared *m = NULL;

	if (ctx->mailbox_node != NULL)
		m = mailbox_node_lookup(ctx->mailbox_node, id, uidvalidity);
	else if (e != NULL && e->uidvalidity == uidvalidity)
		m = e->shared;
	if (m == NULL)
		return stored;
	uint32_t recent = mailbox_shared_recent(m);
	return recent > stored ? recent : stored;
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
