/* Loaded modules and what they registered (hooks, timers, admin commands).
 * A module_set is built whole and replaced whole: a module that fails to
 * load or init makes the whole set fail, so a broken module never
 * half-loads. */
#ifndef POSTINO_MODULE_H
#define POSTINO_MODULE_H

#include <stddef.h>

#include "module/context.h"

#define HOOK_POINT_MAX 32

struct hook_entry {
	struct postino_mod *mod;
	postino_hook_fn fn;
	void *data;
};

struct admin_command {
	struct postino_mod *mod;
	char *command;
	char *usage;
	postino_admin_fn fn;
	void *data;
};

/* A protocol a module serves; proto is a copy holding the fields the
 * module's struct size covers, the rest zero. */
struct protocol_entry {
	struct postino_mod *mod;
	struct postino_protocol proto;
	void *data;
};

/* A table a module exported under a name (service_export). */
struct service_entry {
	char *name;
	const void *table;
};

struct postino_timer {
	uv_timer_t handle; /* first: the handle's close callback frees us */
	struct postino_mod *mod;
	void (*cb)(void *data);
	void *data;
	struct postino_timer *next;
};

enum module_state {
	MODULE_LOADED = 1,   /* dlopened and checked, init not called */
	MODULE_READY = 2,    /* init returned 0 */
	MODULE_FAILED = 3,   /* see error */
};

struct postino_mod {
	struct core_ctx *ctx;
	struct module_set *set;
	char *name;
	char *conf_file;   /* the modules.d file that loads it */
	char *path;        /* the .so */
	void *dl;
	const struct postino_module *desc;
	size_t desc_size;  /* what the host may read of desc */
	enum module_state state;
	char error[512];
	void *data;        /* from init */
	struct postino_timer *timers;
	unsigned worker;   /* the worker this instance belongs to */
	char **listeners;  /* `[module] listeners`, NULL-terminated; NULL:
			    * its hooks see every listener's sessions */
	struct service_entry *services; /* what it exported */
	size_t service_count;
};

struct module_set {
	struct core_ctx *ctx;
	/* The configuration this set was loaded with; owned by the set, so a
	 * module keeps reading the values it started with until it is
	 * unloaded. */
	struct config *config;
	/* The context's reference, plus one per hook run, async work item and
	 * state write in flight: a set is finalised only when nothing can call
	 * back into its modules any more. */
	unsigned refs;
	struct postino_mod *mods;
	size_t count;
	unsigned workers;  /* loop threads, each with an instance per module */
	struct hook_entry *hooks[HOOK_POINT_MAX];
	size_t hook_count[HOOK_POINT_MAX];
	struct admin_command *commands;
	size_t command_count;
	struct protocol_entry *protocols;
	size_t protocol_count;
};

/* What to do with the modules a config asks for. */
enum module_load_mode {
	MODULE_LOAD_CHECK = 1, /* dlopen + checks + config, no init (-t) */
	MODULE_LOAD_INIT = 2,  /* and init; any failure fails the set */
	MODULE_LOAD_LIST = 3,  /* init each; keep going past failures */
};

/* Builds the set for config and takes ownership of config on success (in
 * LIST mode always). On failure (not in LIST mode) everything is unloaded
 * again, err holds one line naming the file and the reason, and a negative
 * errno is returned. */
int module_set_load(struct core_ctx *ctx, struct config *config,
		    enum module_load_mode mode, struct module_set **set_r,
		    char *err, size_t errlen);
/* Drops a reference; the last one calls every fini in reverse order, stops
 * timers and dlcloses. Sets *set to NULL. */
void module_set_unref(struct module_set **set);
void module_set_ref(struct module_set *set);

struct postino_mod *module_set_find(struct module_set *set, const char *name);
/* service_export / service_import (host table, ABI 1.1). */
int module_service_export(struct postino_mod *mod, const char *name,
			  const void *table);
const void *module_service_import(struct postino_mod *mod, const char *name);
/* The protocol served under name, or NULL. */
const struct protocol_entry *module_set_protocol(struct module_set *set,
						 const char *name);
/* 1 when a module of the set declares protocol in its descriptor's
 * cleartext_protocols (it may be served on `tls = none` listeners). Read
 * from descriptors, so it works on a set loaded without init (-t). */
int module_set_cleartext_ok(const struct module_set *set,
			    const char *protocol);
const struct admin_command *module_set_command(struct module_set *set,
					       const char *module,
					       const char *command);

#endif
