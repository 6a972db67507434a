/* The core context: the one place that holds mutable server state. The
 * daemon and the admin CLI each have exactly one. */
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
struct mime_sections;

enum core_mode {
	CORE_MODE_DAEMON = 1, /* postinod: timers fire, writes are async */
	CORE_MODE_ADMIN = 2,  /* postino CLI: writes commit before returning */
};

struct core_ctx {
	enum core_mode mode;
	/* The real uid the program started as, kept across the privilege
	 * drop: module files and their directories must be owned by root or
	 * by this user (module/loader.c). 0 (root only) unless set. */
	uid_t invoking_uid;
	uv_loop_t *loop; /* the daemon's loop, or the CLI's private one */
	struct log log;
	struct config *config;
	struct store *store;
	/* Module state writes not yet committed (host/host_state.c); NULL
	 * without a store. */
	struct state_overlay *state_overlay;
	/* Modules in load order with what they registered. Replaced as a
	 * whole on reload; hook runs keep a reference to the set they began
	 * with, so a reload never pulls a module out from under them. */
	struct module_set *modules;
	struct net *net;     /* NULL in the admin CLI */
	struct queue *queue; /* outbound delivery; NULL in the admin CLI */
	/* Mailboxes opened since the start: views, locks, \Recent. */
	struct mailbox_entry *mailboxes;
	/* Message tables of mailboxes nobody has open, kept for the next
	 * SELECT (mailbox/mailbox_registry.c). */
	struct mailbox_cache {
		struct mailbox_entry *oldest, *newest;
		uint64_t records;
		uint64_t budget; /* records; 0: the default */
	} mailbox_cache;
	/* The section table of the message whose sections were asked for
	 * last, parsed (mailbox/mime_summary.c): a FETCH of many sections of one
	 * message reads and parses it once. */
	struct mime_section_cache {
		int64_t blob_id;
		struct mime_sections *table; /* NULL: none */
	} mime_sections;
};

/* The host table handed to every module. */
extern const struct postino_host core_host_table;

/* Logs through ctx->log with component "core". */
void core_log(const struct core_ctx *ctx, enum log_level level,
	      const char *fmt, ...) __attribute__((format(printf, 3, 4)));

int64_t core_now_ms(void);

#endif
