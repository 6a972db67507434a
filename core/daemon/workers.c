/* The workers: making their contexts, starting, parking and stopping
 * their threads (workers.h). Everything a worker owns is made and freed
 * here or on its own thread; what they share lives in worker 0's
 * context and in the node-wide objects it points at. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/workers.h"
#include "host/host_mail.h"
#include "mailbox/mailbox_registry.h"
#include "net/net.h"
#include "store/store.h"
#include "util/inbox.h"

struct worker {
	struct core_ctx ctx;
	uv_loop_t loop;
	uv_thread_t thread;
	int loop_ready;
	int running;   /* the thread was started */
	struct workers *all;
};

struct workers {
	struct core_node node;
	struct core_ctx *first;
	struct worker *w; /* [0] unused: worker 0 is first */
	unsigned count;
	/* Parking: lock and cond guard parked and generation. */
	uv_mutex_t lock;
	uv_cond_t cond;
	unsigned parked;
	unsigned generation;
	/* Stopping: on worker 0 only. */
	unsigned ended;
	void (*gone)(void *data);
	void *gone_data;
};

unsigned workers_wanted(const struct config *config)
{
	return config_workers(config);
}

/* The log settings of worker 0, naming the worker when there are
 * several. */
static void worker_log(struct workers *w, struct core_ctx *ctx)
{
	int worker = w->count > 1 ? (int)ctx->worker : -1;

	if (ctx != w->first)
		ctx->log = w->first->log;
	ctx->log.worker = worker;
}

int workers_new(struct core_ctx *first, unsigned count,
		struct workers **workers_r, char *err, size_t errlen)
{
	struct workers *w = calloc(1, sizeof(*w));
	int ret;

	*workers_r = NULL;
	if (w == NULL || count == 0)
		goto nomem;
	w->first = first;
	w->count = count;
	w->node.workers = count;
	w->w = calloc(count, sizeof(*w->w));
	w->node.ctx = calloc(count, sizeof(*w->node.ctx));
	if (w->w == NULL || w->node.ctx == NULL)
		goto nomem;
	uv_mutex_init(&w->lock);
	uv_cond_init(&w->cond);
	*workers_r = w;
	first->worker = 0;
	first->node = &w->node;
	w->node.ctx[0] = first;
	worker_log(w, first);
	ret = inbox_new(first->loop, &first->inbox);
	if (ret < 0) {
		snprintf(err, errlen, "worker 0: %s", uv_strerror(ret));
		return ret;
	}
	for (unsigned i = 1; i < count; i++) {
		struct worker *wk = &w->w[i];
		struct core_ctx *ctx = &wk->ctx;

		wk->all = w;
		ret = uv_loop_init(&wk->loop);
		if (ret < 0) {
			snprintf(err, errlen, "worker %u: %s", i,
				 uv_strerror(ret));
			return ret;
		}
		wk->loop_ready = 1;
		ctx->mode = first->mode;
		ctx->invoking_uid = first->invoking_uid;
		ctx->loop = &wk->loop;
		ctx->config = first->config;
		config_ref(ctx->config); /* each context holds its own */
		ctx->state_overlay = first->state_overlay;
		ctx->mailbox_node = first->mailbox_node;
		ctx->auth_cache = first->auth_cache;
		ctx->worker = i;
		ctx->node = &w->node;
		worker_log(w, ctx);
		w->node.ctx[i] = ctx;
		ret = inbox_new(ctx->loop, &ctx->inbox);
		if (ret < 0) {
			snprintf(err, errlen, "worker %u: %s", i,
				 uv_strerror(ret));
			return ret;
		}
	}
	return 0;
nomem:
	if (w != NULL) {
		free(w->w);
		free(w->node.ctx);
		free(w);
	}
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

int workers_open_stores(struct workers *w, char *err, size_t errlen)
{
	for (unsigned i = 1; i < w->count; i++) {
		int ret = store_open_worker(w->first->store, w->w[i].ctx.loop,
					    &w->w[i].ctx.store, err, errlen);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int workers_open_nets(struct workers *w, char *err, size_t errlen)
{
	for (unsigned i = 1; i < w->count; i++) {
		int ret = net_open_worker(w->first->net, &w->w[i].ctx,
					  &w->w[i].ctx.net, err, errlen);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int workers_load_modules(struct workers *w, struct config *config,
			 enum module_load_mode mode,
			 struct module_set **sets_r, char *err, size_t errlen)
{
	for (unsigned i = 0; i < w->count; i++) {
		config_ref(config); /* the set's, on success */
		int ret = module_set_load(w->node.ctx[i], config, mode,
					  &sets_r[i], err, errlen);
		if (ret < 0) {
			config_free(&config);
			while (i-- > 0)
				module_set_unref(&sets_r[i]);
			return ret;
		}
	}
	return 0;
}

void workers_install(struct workers *w, struct module_set **sets)
{
	for (unsigned i = 0; i < w->count; i++) {
		struct core_ctx *ctx = w->node.ctx[i];

		struct config *old = ctx->config;

		module_set_unref(&ctx->modules);
		ctx->modules = sets[i];
		/* The context's own reference: what worker 0 keeps running
		 * after its set is gone (the queue) still reads it. */
		config_ref(sets[i]->config);
		ctx->config = sets[i]->config;
		config_free(&old);
		worker_log(w, ctx);
	}
}

void workers_share(struct workers *w)
{
	for (unsigned i = 1; i < w->count; i++)
		w->w[i].ctx.queue = w->first->queue;
}

/* ---- threads ---------------------------------------------------------- */

static void worker_ended(void *data)
{
	struct worker *wk = data;
	struct workers *w = wk->all;

	if (++w->ended == w->count - 1 && w->gone != NULL)
		w->gone(w->gone_data);
}

static void worker_main(void *data)
{
	struct worker *wk = data;
	struct core_ctx *ctx = &wk->ctx;

	uv_run(&wk->loop, UV_RUN_DEFAULT);
	/* The loop has ended: nothing of this worker runs any more. */
	net_free(&ctx->net);
	mailbox_registry_free(ctx);
	host_mime_cache_free(ctx);
	if (uv_loop_close(&wk->loop) != 0)
		core_log(ctx, LOG_LEVEL_WARNING,
			 "event loop closed with live handles");
	wk->loop_ready = 0;
	/* Worker 0's inbox stays open until every worker has ended. */
	inbox_post(wk->all->first->inbox, worker_ended, wk);
}

int workers_start(struct workers *w, char *err, size_t errlen)
{
	for (unsigned i = 1; i < w->count; i++) {
		int ret = uv_thread_create(&w->w[i].thread, worker_main,
					   &w->w[i]);
		if (ret < 0) {
			snprintf(err, errlen, "worker %u: cannot start its "
				 "thread: %s", i, uv_strerror(ret));
			return ret;
		}
		w->w[i].running = 1;
	}
	return 0;
}

static void worker_park(void *data)
{
	struct workers *w = data;

	uv_mutex_lock(&w->lock);
	unsigned generation = w->generation;
	w->parked++;
	uv_cond_broadcast(&w->cond);
	while (w->generation == generation)
		uv_cond_wait(&w->cond, &w->lock);
	uv_mutex_unlock(&w->lock);
}

void workers_park(struct workers *w)
{
	unsigned expected = 0;

	uv_mutex_lock(&w->lock);
	w->parked = 0;
	for (unsigned i = 1; i < w->count; i++) {
		if (w->w[i].running &&
		    inbox_post(w->w[i].ctx.inbox, worker_park, w) == 0)
			expected++;
	}
	while (w->parked < expected)
		uv_cond_wait(&w->cond, &w->lock);
	uv_mutex_unlock(&w->lock);
}

void workers_resume(struct workers *w)
{
	uv_mutex_lock(&w->lock);
	w->generation++;
	uv_cond_broadcast(&w->cond);
	uv_mutex_unlock(&w->lock);
}

/* On the worker's own thread. */
static void worker_stop(void *data)
{
	struct core_ctx *ctx = data;

	net_stop(ctx->net);
	/* Modules first, so nothing new is submitted; the store handle
	 * then waits for what is in flight. */
	module_set_unref(&ctx->modules);
	store_close(&ctx->store);
	inbox_close(ctx->inbox);
}

void workers_stop(struct workers *w, void (*gone)(void *data), void *data)
{
	unsigned running = 0;

	w->gone = gone;
	w->gone_data = data;
	for (unsigned i = 1; i < w->count; i++) {
		if (!w->w[i].running)
			continue;
		running++;
		if (inbox_post(w->w[i].ctx.inbox, worker_stop, &w->w[i].ctx) < 0)
			core_log(w->first, LOG_LEVEL_ERROR,
				 "worker %u: cannot tell it to stop", i);
	}
	/* Workers that never ran count as ended. */
	w->ended += (w->count - 1) - running;
	if (w->ended == w->count - 1)
		gone(data);
}

void workers_free(struct workers **wp)
{
	struct workers *w = *wp;

	*wp = NULL;
	if (w == NULL)
		return;
	for (unsigned i = 1; i < w->count; i++) {
		struct worker *wk = &w->w[i];
		struct core_ctx *ctx = &wk->ctx;

		if (wk->running) {
			uv_thread_join(&wk->thread);
		} else if (wk->loop_ready) {
			/* Never started: close here what was made for it. */
			module_set_unref(&ctx->modules);
			store_close(&ctx->store);
			net_stop(ctx->net);
			if (ctx->inbox != NULL)
				inbox_close(ctx->inbox);
			uv_run(&wk->loop, UV_RUN_DEFAULT);
			net_free(&ctx->net);
			mailbox_registry_free(ctx);
			host_mime_cache_free(ctx);
			uv_loop_close(&wk->loop);
		}
		inbox_free(&ctx->inbox);
		config_free(&ctx->config);
	}
	w->first->node = NULL;
	uv_cond_destroy(&w->cond);
	uv_mutex_destroy(&w->lock);
	free(w->node.ctx);
	free(w->w);
	free(w);
}
