/* The core context: the one place that holds mutable server state. The
 * admin CLI has one; postinod has one per worker (loop thread), each
 * pointing at what the workers share (struct core_node). */
#ifndef POSTINO_CONTEXT_H
#define POSTINO_CONTEXT_H

#include <sys/types.h>
#include <uv.h>

#include "config/config.h"
#include "log/log.h"
#include "postino/plugin.h"

struct store;
struct module_set;
struct net;
struct queue;
struct mailbox_entry;
struct state_overlay;
struct inbox;
struct mailbox_node;
struct auth_cache;
struct core_node;
struct mime_sections;

enum core_mode {
	CORE_MODE_DAEMON = 1, /* postinod: timers fire, writes are async */
	CORE_MODE_ADMIN = 2,  /* postino CLI: writes commit before returning */
};

/* One worker's context. What a field points at is this worker's own
 * unless it says "node-wide": those are shared by every worker and safe
 * to use from any of their threads. */
struct core_ctx {
	enum core_mode mode;
	/* The real uid the program started as, kept across the privilege
	 * drop: module files and their directories must be owned by root or
	 * by this user (module/loader.c). 0 (root only) unless set. */
	uid_t invoking_uid;
	uv_loop_t *loop; /* the worker's loop, or the CLI's private one */
	struct log log;  /* a copy naming the worker (w=N) when there are
			  * several */
	struct config *config;
	/* The worker's handle: its own read-only connection, jobs through
	 * the node's one writer, done callbacks on this loop. */
	struct store *store;
	/* Node-wide: module state writes not yet committed
	 * (host/host_state.c); NULL without a store. */
	struct state_overlay *state_overlay;
	/* Modules in load order with what they registered. Replaced as a
	 * whole on reload; hook runs keep a reference to the set they began
	 * with, so a reload never pulls a module out from under them. */
	struct module_set *modules;
	struct net *net;     /* the worker's connections; NULL in the CLI */
	/* Node-wide: outbound delivery, worked on worker 0 (queue_kick is
	 * safe from any worker); NULL in the admin CLI. */
	struct queue *queue;
	/* Mailboxes opened since the start: views, locks, \Recent. */
	struct mailbox_entry *mailboxes;
	/* Message tables of mailboxes nobody has open, kept for the next
	 * SELECT (mailbox/mailbox_registry.c). */
	struct mailbox_cache {
		struct mailbox_entry *oldest, *newest;
		uint64_t records;
		uint64_t budget; /* records; 0: the default */
	} mailbox_cache;
	/* Node-wide: each mailbox's POP3 lock and \Recent boundary
	 * (mailbox/mailbox_node.c); NULL in the CLI, whose one context
	 * keeps them in its own entries. */
	struct mailbox_node *mailbox_node;
	/* Node-wide: logins verified recently (auth/auth_cache.c); NULL:
	 * every login is verified with yescrypt. */
	struct auth_cache *auth_cache;
	unsigned worker;     /* this worker's index; 0 in the CLI */
	struct core_node *node; /* the workers; NULL in the CLI */
	struct inbox *inbox; /* calls other workers post to this one */
	/* The section table of the message whose sections were asked for
	 * last, parsed (mailbox/mime_summary.c): a FETCH of many sections of one
	 * message reads and parses it once. */
	struct mime_section_cache {
		int64_t blob_id;
		struct mime_sections *table; /* NULL: none */
	} mime_sections;
};

/* The workers of one postinod. Set up before any worker thread starts
 * and fixed until they have all ended. */
struct core_node {
	unsigned workers;
	struct core_ctx **ctx; /* [0] runs on the main thread */
};

/* Posts fn(data) to every worker but ctx's own (util/inbox.h): 0, or the
 * number of workers it could not reach (they are shutting down; fn never
 * runs there). make(data) gives each worker its own copy of data, and
 * fn frees it. */
int core_post_others(struct core_ctx *ctx, void (*fn)(void *data),
		     void *(*make)(struct core_ctx *target, void *arg),
		     void *arg);

/* The host table handed to every module. */
extern const struct postino_host core_host_table;

/* Logs through ctx->log with component "core". */
void core_log(const struct core_ctx *ctx, enum log_level level,
	      const char *fmt, ...) __attribute__((format(printf, 3, 4)));

int64_t core_now_ms(void);

#endif
