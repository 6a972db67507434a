/* The state service of the host table (plugin.h, struct
 * postino_host_policy): per-module key/value entries in the store, with
 * the writes not yet durable kept in an overlay that every read consults,
 * so a module reads its own writes on every worker at once. */
#ifndef POSTINO_HOST_STATE_H
#define POSTINO_HOST_STATE_H

#include "module/module.h"

/* The node's overlay of state writes submitted and not yet committed. One
 * per core context; its lock makes reads, writes and state_update atomic
 * across worker threads. */
struct state_overlay;

int state_overlay_new(struct state_overlay **overlay_r);
/* Frees the overlay; sets *overlay to NULL. Call it after the store's
 * writer has finished (no job may still complete into it). */
void state_overlay_free(struct state_overlay **overlay);

int host_state_get(struct postino_mod *mod, const char *key, void *buf,
		   size_t buflen, size_t *len_r);
int host_state_put(struct postino_mod *mod, const char *key,
		   const void *value, size_t len, int64_t expires_at,
		   void (*done)(void *data, int status), void *data);
int host_state_delete(struct postino_mod *mod, const char *key,
		      void (*done)(void *data, int status), void *data);
int host_state_update(struct postino_mod *mod, const char *key,
		      postino_state_update_fn fn, void *fn_data,
		      void (*done)(void *data, int status), void *data);
int host_state_scan(struct postino_mod *mod, const char *prefix,
		    int (*cb)(void *data, const char *key, const void *value,
			      size_t len, int64_t expires_at),
		    void *data);

#endif
