/* The network layer: listeners from [listener NAME] sections, and the
 * connections they accept, with TLS (implicit or STARTTLS) done here so
 * protocol modules only see lines, byte runs and replies. */
#ifndef POSTINO_NET_H
#define POSTINO_NET_H

#include <stddef.h>

#include "module/context.h"
#include "net/tls_creds.h"

struct net;

/* Loads the TLS credentials and binds every listener of ctx->config (as
 * root, before privileges are dropped). Nothing is accepted yet. err names
 * the listener and the reason. */
int net_open(struct core_ctx *ctx, struct net **net_r, char *err,
	     size_t errlen);
/* Worker ctx->worker's net (ctx->worker > 0): its copy of first's
 * listeners (first accepts, and hands it connections), the limits and
 * certificates first's shares. Call before the workers run. net_free
 * it before first. */
int net_open_worker(struct net *first, struct core_ctx *ctx,
		    struct net **net_r, char *err, size_t errlen);
/* Checks that a loaded module serves each listener's protocol, then starts
 * accepting. */
int net_start(struct net *net, char *err, size_t errlen);
/* SIGHUP, on worker 0's net, with the other workers parked: for every
 * worker, new certificates for new connections (open sessions keep theirs),
 * their files opened with opener (NULL: directly; see tls_creds.h), and
 * new limits; a listener whose address, port, protocol or tls changed
 * is logged as needing a restart. A certificate that does not load leaves
 * the old ones in place; returns negative with err set. */
int net_reload(struct net *net, const struct config *config,
	       const struct tls_file_opener *opener, char *err, size_t errlen);
/* SIGTERM, on each worker's own thread: stops accepting and closes
 * every connection of the worker (after their queued output). Call
 * net_free once the loop has run the closes. */
void net_stop(struct net *net);
void net_free(struct net **net);

/* Every `tls = none` listener of config must serve a protocol that a
 * module of set declares cleartext (postino_module.cleartext_protocols):
 * 0, or -EINVAL with err naming the file, line and listener. Run by
 * net_start and by `postinod -t` (a set loaded without init). */
int net_check_cleartext(const struct config *config,
			const struct module_set *set, char *err,
			size_t errlen);

/* 1 when the certificates in force cover name (net may be NULL: 0). */
int net_tls_covers(const struct net *net, const char *name);

/* Counts for logs and tests. */
size_t net_listener_count(const struct net *net);
size_t net_connection_count(const struct net *net);

#endif
