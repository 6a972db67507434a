/* The workers of postinod: one libuv loop per thread, each owning its
 * connections and its instance of every module. Worker 0 is the main
 * thread's loop (signals, accepting, the outbound queue, node timers);
 * workers 1..N-1 each run a loop on a thread of their own. */
#ifndef POSTINO_WORKERS_H
#define POSTINO_WORKERS_H

#include <stddef.h>

#include "module/module.h"

struct workers;

/* [server] workers, or one per online CPU when unset. */
unsigned workers_wanted(const struct config *config);

/* Sets first up as worker 0 of count (its node and inbox) and makes the
 * contexts of the others: each its own loop and inbox, a log naming it
 * (w=N, when count > 1), a reference to first's config, first's
 * node-wide pointers. Every context holds a reference to its config. */
int workers_new(struct core_ctx *first, unsigned count,
		struct workers **workers_r, char *err, size_t errlen);
/* Every worker's store handle, once first's store is open. */
int workers_open_stores(struct workers *w, char *err, size_t errlen);
/* Every worker's net, once first's is open (net_open). */
int workers_open_nets(struct workers *w, char *err, size_t errlen);
/* A module set for every worker from config, one instance of each module
 * per worker; sets_r has one slot per worker. Each set holds its own
 * reference to config (the caller keeps its one). All or nothing: on
 * failure the sets made are unloaded, err says why. Before the threads
 * run, or with them parked. */
int workers_load_modules(struct workers *w, struct config *config,
			 enum module_load_mode mode,
			 struct module_set **sets_r, char *err, size_t errlen);
/* Puts each worker's set in its context (dropping the one it had) and
 * gives every context its set's configuration (a reference of its own,
 * the old one dropped) and the log settings of worker 0's.
 * Before the threads run, or with them parked. */
void workers_install(struct workers *w, struct module_set **sets);
/* Copies a node-wide pointer of worker 0's context (the queue, once it
 * runs) to the others. */
void workers_share(struct workers *w);
/* Starts the threads of workers 1..N-1. */
int workers_start(struct workers *w, char *err, size_t errlen);
/* From worker 0: holds every other worker in a callback of its inbox
 * until workers_resume, so that their contexts may be changed (a
 * reload). Returns once all are held. */
void workers_park(struct workers *w);
void workers_resume(struct workers *w);
/* From worker 0: each other worker stops accepting work, closes its
 * connections (after their queued output), drops its modules and store
 * handle, and ends its loop; gone(data) runs on worker 0 once all have
 * ended (at once when there are none). */
void workers_stop(struct workers *w, void (*gone)(void *data), void *data);
/* After gone, or when the threads never started: joins them, frees the
 * contexts. Sets *w to NULL. */
void workers_free(struct workers **w);

#endif
