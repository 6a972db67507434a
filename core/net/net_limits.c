/* Who may connect: the process's connection limit, each listener's
 * max_connections and max_connections_per_ip, and the fair share that
 * keeps one address from taking the last free slots.
 *
 * Only admitted connections count. A connection refused here is accepted
 * and closed at once, but it never counts against anyone: in a flood,
 * the hundreds accepted in one loop turn only to be refused must not
 * crowd out the next legitimate client.
 *
 * The counts are the node's, not a worker's: every worker admits under
 * the shared lock, so a limit is one limit whatever worker a connection
 * lands on. */
#include <errno.h>
#include <stdio.h>
#include <sys/resource.h>

#include "net/net_internal.h"

/* Descriptors kept back from clients: the store's database files (the
 * writer and the readers, each with its -wal and -shm), the log, the
 * queue's outbound connections and the DNS sockets of its and SPF's
 * lookups, the loop's own (epoll, signals, wake-ups), what a reload
 * opens (configuration, certificates, module files), and connections
 * accepted only to be refused. A tenth of the limit, from 100 to 1000:
 * none of these grows with the number of clients. */
#define NET_FD_RESERVE_MIN 100
#define NET_FD_RESERVE_MAX 1000
#define NET_FD_RESERVE_SHARE 10

/* The soft limit, which daemon/fdlimit.c has raised to the hard one. */
static unsigned long net_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1024; /* cannot fail for RLIMIT_NOFILE; the usual one */
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > INT32_MAX)
		return INT32_MAX;
	return (unsigned long)rl.rlim_cur;
}

void net_limits_set(struct net *net, const struct config *config)
{
	unsigned long fds = net_fd_limit();
	unsigned long reserve = fds / NET_FD_RESERVE_SHARE;

	if (reserve < NET_FD_RESERVE_MIN)
		reserve = NET_FD_RESERVE_MIN;
	if (reserve > NET_FD_RESERVE_MAX)
		reserve = NET_FD_RESERVE_MAX;
	/* A tiny limit (a test, a container) still serves someone. */
	if (reserve > fds / 2)
		reserve = fds / 2;
	unsigned derived = fds > reserve ? (unsigned)(fds - reserve) : 1;
	unsigned configured = config->server.max_connections;
	unsigned limit = configured > 0 && configured < derived ? configured
							       : derived;

	struct net_shared *sh = net->shared;

	if (configured > derived)
		core_log(net->ctx, LOG_LEVEL_WARNING, "[server] "
			 "max_connections %u is more than the open files "
			 "limit %lu allows with %lu kept for the store, logs "
			 "and queue; using %u (raise LimitNOFILE or ulimit -n)",
			 configured, fds, reserve, derived);
	if (limit != sh->max_connections)
		core_log(net->ctx, LOG_LEVEL_INFO, "connection limit %u (%s; "
			 "open files limit %lu, %lu kept for the store, logs "
			 "and queue)", limit,
			 limit == configured ? "[server] max_connections"
					     : "from the open files limit",
			 fds, reserve);
	uv_mutex_lock(&sh->lock);
	sh->max_connections = limit;
	uv_mutex_unlock(&sh->lock);
}

/* The fair share. Whatever limit the process has, the rule is: an address
 * may not hold more connections than there are free slots left. At
 * quiet times that never bites (thousands are free); as the process
 * fills, the address holding the most is the first refused, while an
 * address holding few still gets in. One address alone can so take at
 * most half the slots, k busy addresses a (k+1)th each, and however the
 * slots are taken, as many stay free as the largest holder holds: the
 * last free slots go to addresses that hold little, never to the one
 * flooding. Per listener, max_connections and max_connections_per_ip
 * are plain caps on top of this. */
static int net_fair(const struct net_shared *sh, unsigned held)
{
	return held < sh->max_connections - sh->admitted;
}

/* Caller holds the shared lock. */
static const char *net_admit_locked(struct net_shared *sh, struct listener *l,
				    const char *key, char *detail,
				    size_t detail_len)
{
	struct listener_count *lc = &sh->counts[l->index];
	unsigned held = iptable_count(&sh->per_ip, key);

	if (sh->admitted >= sh->max_connections) {
		snprintf(detail, detail_len, "the server holds its limit of "
			 "%u connections", sh->max_connections);
		return "too many connections";
	}
	if (l->max_connections > 0 && lc->connections >= l->max_connections) {
		snprintf(detail, detail_len, "the listener holds its "
			 "max_connections %u", l->max_connections);
		return "too many connections";
	}
	if (l->max_connections_per_ip > 0 &&
	    iptable_count(&lc->per_ip, key) >= l->max_connections_per_ip) {
		snprintf(detail, detail_len, "%s holds max_connections_per_ip "
			 "%u", key, l->max_connections_per_ip);
		return "too many connections from this address";
	}
	if (!net_fair(sh, held)) {
		snprintf(detail, detail_len, "%s holds %u connections and "
			 "only %u of the server's %u are free", key, held,
			 sh->max_connections - sh->admitted,
			 sh->max_connections);
		return "too many connections from this address";
	}
	if (iptable_inc(&sh->per_ip, key) < 0) {
		snprintf(detail, detail_len, "out of memory");
		return "out of memory";
	}
	if (iptable_inc(&lc->per_ip, key) < 0) {
		iptable_dec(&sh->per_ip, key);
		snprintf(detail, detail_len, "out of memory");
		return "out of memory";
	}
	sh->admitted++;
	lc->connections++;
	return NULL;
}

const char *net_admit(struct net *net, struct listener *l, const char *key,
		      char *detail, size_t detail_len)
{
	struct net_shared *sh = net->shared;

	uv_mutex_lock(&sh->lock);
	const char *refused = net_admit_locked(sh, l, key, detail,
					       detail_len);
	uv_mutex_unlock(&sh->lock);
	return refused;
}

void net_release(struct net *net, struct listener *l, const char *key)
{
	struct net_shared *sh = net->shared;
	struct listener_count *lc = &sh->counts[l->index];

	uv_mutex_lock(&sh->lock);
	iptable_dec(&sh->per_ip, key);
	iptable_dec(&lc->per_ip, key);
	sh->admitted--;
	lc->connections--;
	uv_mutex_unlock(&sh->lock);
}
