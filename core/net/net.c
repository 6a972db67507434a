/* Listeners: bound from [listener NAME] sections while still root, then
 * accepting once the modules that serve their protocols are loaded.
 *
 * With several workers, worker 0 alone listens and accepts, and hands
 * each connection to the worker serving the fewest (round robin among
 * equals) through that worker's inbox; the worker then owns it for good.
 * Chosen over a SO_REUSEPORT socket per worker, whose kernel hash of the
 * client's address and port spreads connections by chance: ten
 * long-lived IMAP clients may land seven on one worker. One socket also
 * keeps bind()'s "address in use" for a second postinod started by
 * mistake (with SO_REUSEPORT, a second instance of the same user binds
 * too and silently takes half the connections). The hand-over costs one
 * dup(2) and one wake-up of the target, next to a TLS handshake's
 * milliseconds nothing (doc/performance.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "net/net_internal.h"
#include "util/inbox.h"

#define NET_BACKLOG 511

static const char *net_value(const struct config_section *section,
			     const char *key)
{
	return config_section_value(section, key);
}

/* Config validated these already; parse failures cannot happen here, but a
 * missing optional key leaves 0. */
static unsigned net_number(const struct config_section *section,
			   const char *key, enum postino_config_type type)
{
	const char *text = net_value(section, key);
	int64_t value = 0;

	if (text == NULL || config_parse_value(type, text, &value) < 0 ||
	    value < 0 || value > UINT32_MAX)
		return 0;
	return (unsigned)value;
}

static void net_listener_limits(struct listener *l,
				const struct config_section *section)
{
	l->max_connections = net_number(section, "max_connections",
					POSTINO_CONFIG_INT);
	l->max_connections_per_ip = net_number(section,
		"max_connections_per_ip", POSTINO_CONFIG_INT);
	l->idle_timeout_s = net_number(section, "idle_timeout",
				       POSTINO_CONFIG_DURATION);
	l->command_timeout_s = net_number(section, "command_timeout",
					  POSTINO_CONFIG_DURATION);
	l->preauth_timeout_s = net_number(section, "preauth_timeout",
					  POSTINO_CONFIG_DURATION);
}

static enum listener_tls net_tls_mode(const char *value)
{
	if (strcmp(value, "implicit") == 0)
		return LISTENER_TLS_IMPLICIT;
	return strcmp(value, "none") == 0 ? LISTENER_TLS_NONE
					  : LISTENER_TLS_STARTTLS;
}

static const char *net_tls_name(enum listener_tls tls)
{
	return tls == LISTENER_TLS_IMPLICIT   ? "implicit"
	       : tls == LISTENER_TLS_STARTTLS ? "starttls"
					      : "none";
}

int net_check_cleartext(const struct config *config,
			const struct module_set *set, char *err,
			size_t errlen)
{
	for (const struct config_section *s = config->sections; s != NULL;
	     s = s->next) {
		if (strcmp(s->type, "listener") != 0 ||
		    strcmp(net_value(s, "tls"), "none") != 0)
			continue;
		const char *protocol = net_value(s, "protocol");
		if (module_set_cleartext_ok(set, protocol))
			continue;
		snprintf(err, errlen, "%s:%d: listener %s: tls = none is only "
			 "for protocols that never authenticate, and no "
			 "loaded module declares protocol '%s' one of them "
			 "(use tls = implicit or starttls)", s->file, s->line,
			 s->name != NULL ? s->name : "", protocol);
		return -EINVAL;
	}
	return 0;
}

/* The worker with the fewest open connections, the next in turn among
 * equals; counted at once, so a burst spreads too. */
static unsigned net_pick_worker(struct net_shared *sh)
{
	unsigned best = sh->next_worker % sh->workers;
	unsigned best_load = __atomic_load_n(&sh->load[best], __ATOMIC_RELAXED);

	for (unsigned i = 1; i < sh->workers; i++) {
		unsigned w = (sh->next_worker + i) % sh->workers;
		unsigned load = __atomic_load_n(&sh->load[w], __ATOMIC_RELAXED);
		if (load < best_load) {
			best = w;
			best_load = load;
		}
	}
	sh->next_worker = best + 1;
	__atomic_add_fetch(&sh->load[best], 1, __ATOMIC_RELAXED);
	return best;
}

/* A connection handed to another worker: its descriptor and listener. */
struct net_handover {
	struct net *net; /* the target's */
	size_t listener;
	uv_os_sock_t fd;
};

static void net_adopt(void *data)
{
	struct net_handover *h = data;

	conn_adopt(&h->net->listeners[h->listener], h->fd);
	free(h);
}

static void net_tmp_closed(uv_handle_t *handle)
{
	free(handle);
}

/* libuv accepts into a handle of its loop only: accept into one on
 * ours, keep a duplicate of its descriptor for the target, close it. */
static void net_hand_over(struct listener *listener, unsigned worker)
{
	struct net_shared *sh = listener->net->shared;
	struct net *target = sh->nets[worker];
	struct net_handover *h = calloc(1, sizeof(*h));
	uv_tcp_t *tmp = malloc(sizeof(*tmp));
	uv_os_fd_t fd = -1;
	int ret = h != NULL && tmp != NULL ? 0 : UV_ENOMEM;

	if (ret == 0)
		ret = uv_tcp_init(listener->net->ctx->loop, tmp);
	if (ret < 0) {
		free(tmp);
		tmp = NULL;
	}
	if (ret == 0)
		ret = uv_accept((uv_stream_t *)&listener->tcp,
				(uv_stream_t *)tmp);
	if (ret == 0)
		ret = uv_fileno((uv_handle_t *)tmp, &fd);
	if (ret == 0) {
		h->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		ret = h->fd < 0 ? -errno : 0;
	}
	if (tmp != NULL)
		uv_close((uv_handle_t *)tmp, net_tmp_closed);
	if (ret == 0) {
		h->net = target;
		h->listener = listener->index;
		ret = inbox_post(target->ctx->inbox, net_adopt, h);
		if (ret < 0)
			close(h->fd);
	}
	if (ret < 0) {
		__atomic_sub_fetch(&sh->load[worker], 1, __ATOMIC_RELAXED);
		core_log(listener->net->ctx, LOG_LEVEL_WARNING,
			 "listener %s: cannot hand a connection to worker %u: "
			 "%s", listener->name, worker, uv_strerror(ret));
		free(h);
	}
}

static void net_on_connection(uv_stream_t *server, int status)
{
	struct listener *listener = (struct listener *)server;
	struct net_shared *sh = listener->net->shared;

	if (status < 0) {
		core_log(listener->net->ctx, LOG_LEVEL_WARNING,
			 "listener %s: accept error: %s", listener->name,
			 uv_strerror(status));
		return;
	}
	unsigned worker = sh->workers > 1 ? net_pick_worker(sh) : 0;
	if (sh->workers == 1)
		__atomic_add_fetch(&sh->load[0], 1, __ATOMIC_RELAXED);
	if (worker == 0)
		conn_accept(listener);
	else
		net_hand_over(listener, worker);
}

static int net_bind(struct net *net, struct listener *l, char *err,
		    size_t errlen)
{
	struct sockaddr_storage ss;
	unsigned flags = 0;
	int ret;

	if (strchr(l->address, ':') != NULL) {
		ret = uv_ip6_addr(l->address, l->port, (struct sockaddr_in6 *)&ss);
		flags = UV_TCP_IPV6ONLY;
	} else {
		ret = uv_ip4_addr(l->address, l->port, (struct sockaddr_in *)&ss);
	}
	if (ret == 0)
		ret = uv_tcp_init(net->ctx->loop, &l->tcp);
	if (ret == 0) {
		l->open = 1;
		ret = uv_tcp_bind(&l->tcp, (const struct sockaddr *)&ss, flags);
	}
	/* libuv may report a busy address only at listen time. */
	if (ret == 0)
		ret = uv_listen((uv_stream_t *)&l->tcp, NET_BACKLOG,
				net_on_connection);
	if (ret < 0) {
		snprintf(err, errlen, "listener %s (%s port %d): cannot listen: %s",
			 l->name, l->address, l->port, uv_strerror(ret));
		return ret;
	}
	return 0;
}

static int net_add_listener(struct net *net,
			    const struct config_section *section,
			    char *err, size_t errlen)
{
	struct listener *grown = realloc(net->listeners,
		(net->listener_count + 1) * sizeof(*grown));

	if (grown == NULL)
		return -ENOMEM;
	net->listeners = grown;
	struct listener *l = &grown[net->listener_count];
	memset(l, 0, sizeof(*l));
	l->net = net;
	l->index = net->listener_count;
	l->name = strdup(section->name != NULL ? section->name : "");
	l->protocol = strdup(net_value(section, "protocol"));
	l->role = strdup(config_listener_role(section));
	l->address = strdup(net_value(section, "address"));
	l->port = (int)net_number(section, "port", POSTINO_CONFIG_INT);
	l->tls = net_tls_mode(net_value(section, "tls"));
	net_listener_limits(l, section);
	net->listener_count++;
	if (l->name == NULL || l->protocol == NULL || l->role == NULL ||
	    l->address == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static struct net_shared *net_shared_new(unsigned workers)
{
	struct net_shared *sh = calloc(1, sizeof(*sh));

	if (sh == NULL)
		return NULL;
	sh->workers = workers;
	sh->nets = calloc(workers, sizeof(*sh->nets));
	sh->load = calloc(workers, sizeof(*sh->load));
	if (sh->nets == NULL || sh->load == NULL ||
	    uv_mutex_init(&sh->lock) < 0) {
		free(sh->nets);
		free(sh->load);
		free(sh);
		return NULL;
	}
	iptable_init(&sh->per_ip);
	/* Session ids must not repeat across restarts, or log searches mix
	 * sessions up: start from a random point. */
	uint32_t seed = 0;
	if (getrandom(&seed, sizeof(seed), 0) == sizeof(seed))
		sh->session_seq = (uint64_t)seed << 20;
	return sh;
}

static int net_listeners_read(struct net *net, const struct config *config,
			      char *err, size_t errlen)
{
	int ret;

	for (const struct config_section *s = config->sections; s != NULL;
	     s = s->next) {
		if (strcmp(s->type, "listener") == 0 &&
		    (ret = net_add_listener(net, s, err, errlen)) < 0)
			return ret;
	}
	return 0;
}

/* The listeners' uv handles live inside the listeners array, which must
 * therefore not move once any is initialised: collect first, bind after. */
int net_open(struct core_ctx *ctx, struct net **net_r, char *err,
	     size_t errlen)
{
	struct net *net = calloc(1, sizeof(*net));
	unsigned workers = ctx->node != NULL ? ctx->node->workers : 1;
	int ret = 0;

	if (net == NULL || (net->shared = net_shared_new(workers)) == NULL) {
		free(net);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	net->ctx = ctx;
	net->shared->nets[0] = net;
	*net_r = net;
	if ((ret = net_listeners_read(net, ctx->config, err, errlen)) < 0)
		return ret;
	net->shared->counts = calloc(net->listener_count + 1,
				     sizeof(*net->shared->counts));
	if (net->shared->counts == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < net->listener_count; i++)
		iptable_init(&net->shared->counts[i].per_ip);
	if (net->listener_count == 0)
		return 0;
	net_limits_set(net, ctx->config);

	struct net_shared *sh = net->shared;
	gnutls_datum_t key = { NULL, 0 };
	ret = gnutls_session_ticket_key_generate(&key);
	if (ret < 0 || key.size > sizeof(sh->ticket_key_data)) {
		snprintf(err, errlen, "cannot make a session ticket key: %s",
			 gnutls_strerror(ret));
		gnutls_free(key.data);
		return -EIO;
	}
	memcpy(sh->ticket_key_data, key.data, key.size);
	sh->ticket_key.data = sh->ticket_key_data;
	sh->ticket_key.size = key.size;
	gnutls_memset(key.data, 0, key.size);
	gnutls_free(key.data);

	ret = tls_creds_load(ctx->config, NULL, &sh->ticket_key, &sh->creds,
			     err, errlen);
	if (ret == -ENOENT) {
		/* No plaintext mode: every listener speaks TLS. */
		char why[512];
		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "listener %s needs TLS: %s",
			 net->listeners[0].name, why);
	}
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < net->listener_count; i++) {
		if ((ret = net_bind(net, &net->listeners[i], err, errlen)) < 0)
			return ret;
	}
	return 0;
}

int net_open_worker(struct net *first, struct core_ctx *ctx,
		    struct net **net_r, char *err, size_t errlen)
{
	struct net *net = calloc(1, sizeof(*net));
	int ret;

	*net_r = NULL;
	if (net == NULL || ctx->worker >= first->shared->workers) {
		free(net);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	net->ctx = ctx;
	net->shared = first->shared;
	ret = net_listeners_read(net, ctx->config, err, errlen);
	if (ret == 0 && net->listener_count != first->listener_count) {
		snprintf(err, errlen, "worker %u: the listeners changed",
			 ctx->worker);
		ret = -EINVAL;
	}
	if (ret < 0) {
		net_free(&net);
		return ret;
	}
	net->shared->nets[ctx->worker] = net;
	*net_r = net;
	return 0;
}

struct tls_creds *net_creds(struct net *net)
{
	struct net_shared *sh = net->shared;

	uv_mutex_lock(&sh->lock);
	struct tls_creds *creds = sh->creds;
	if (creds != NULL)
		tls_creds_ref(creds);
	uv_mutex_unlock(&sh->lock);
	return creds;
}

int net_start(struct net *net, char *err, size_t errlen)
{
	for (size_t i = 0; i < net->listener_count; i++) {
		const struct listener *l = &net->listeners[i];
		if (module_set_protocol(net->ctx->modules, l->protocol) == NULL) {
			snprintf(err, errlen, "listener %s: no loaded module "
				 "serves protocol '%s' (enable its module in "
				 "modules.d)", l->name, l->protocol);
			return -ENOENT;
		}
	}
	int ret = net_check_cleartext(net->ctx->config, net->ctx->modules, err,
				      errlen);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < net->listener_count; i++) {
		const struct listener *l = &net->listeners[i];
		if (!l->open)
			continue; /* another worker's copy */
		core_log(net->ctx, LOG_LEVEL_INFO,
			 "listening listener=%s address=%s port=%d protocol=%s "
			 "tls=%s", l->name, l->address, l->port, l->protocol,
			 net_tls_name(l->tls));
	}
	return 0;
}

static const struct config_section *net_find_section(const struct config *config,
						     const char *name)
{
	for (const struct config_section *s = config->sections; s != NULL;
	     s = s->next) {
		if (strcmp(s->type, "listener") == 0 && s->name != NULL &&
		    strcmp(s->name, name) == 0)
			return s;
	}
	return NULL;
}

/* One worker's copy of the listeners takes the new limits and timeouts;
 * worker 0's logs what needs a restart. */
static void net_reload_listeners(struct net *net, const struct config *config)
{
	int quiet = net->ctx->worker != 0;

	for (size_t i = 0; i < net->listener_count; i++) {
		struct listener *l = &net->listeners[i];
		const struct config_section *s = net_find_section(config, l->name);
		if (s == NULL) {
			if (!quiet)
				core_log(net->ctx, LOG_LEVEL_WARNING, "listener "
					 "%s was removed; it keeps listening "
					 "until restart", l->name);
			continue;
		}
		const char *tls = net_value(s, "tls");
		if (!quiet && (strcmp(net_value(s, "address"), l->address) != 0 ||
		    (int)net_number(s, "port", POSTINO_CONFIG_INT) != l->port ||
		    strcmp(net_value(s, "protocol"), l->protocol) != 0 ||
		    net_tls_mode(tls) != l->tls))
			core_log(net->ctx, LOG_LEVEL_WARNING, "listener %s "
				 "changed; address, port, protocol and tls "
				 "take effect at restart", l->name);
		net_listener_limits(l, s);
	}
}

/* Every worker's listeners at once: the caller has them parked (or they
 * have not started), so nothing reads a listener meanwhile. */
int net_reload(struct net *net, const struct config *config,
	       const struct tls_file_opener *opener, char *err, size_t errlen)
{
	struct net_shared *sh = net->shared;
	struct tls_creds *creds = NULL, *old;

	if (net->listener_count > 0) {
		int ret = tls_creds_load(config, opener, &sh->ticket_key,
					 &creds, err, errlen);
		if (ret < 0)
			return ret;
	}
	for (unsigned w = 0; w < sh->workers; w++) {
		if (sh->nets[w] != NULL)
			net_reload_listeners(sh->nets[w], config);
	}
	if (net->listener_count > 0)
		net_limits_set(net, config);
	/* Open sessions keep their reference to the old certificates. */
	uv_mutex_lock(&sh->lock);
	old = sh->creds;
	sh->creds = creds;
	uv_mutex_unlock(&sh->lock);
	tls_creds_unref(&old);
	return 0;
}

static void net_listener_closed(uv_handle_t *handle)
{
}

void net_stop(struct net *net)
{
	if (net == NULL)
		return;
	net->stopping = 1;
	for (size_t i = 0; i < net->listener_count; i++) {
		struct listener *l = &net->listeners[i];
		if (l->open && !uv_is_closing((uv_handle_t *)&l->tcp))
			uv_close((uv_handle_t *)&l->tcp, net_listener_closed);
	}
	for (struct postino_conn *c = net->conns; c != NULL; c = c->next)
		conn_close(c, "server shutting down");
}

static void net_shared_free(struct net_shared *sh, size_t listeners)
{
	for (size_t i = 0; sh->counts != NULL && i < listeners; i++)
		iptable_free(&sh->counts[i].per_ip);
	free(sh->counts);
	iptable_free(&sh->per_ip);
	tls_creds_unref(&sh->creds);
	gnutls_memset(sh->ticket_key_data, 0, sizeof(sh->ticket_key_data));
	uv_mutex_destroy(&sh->lock);
	free(sh->nets);
	free(sh->load);
	free(sh);
}

/* Worker 0's net goes last: it frees what the workers shared. */
void net_free(struct net **netp)
{
	struct net *net = *netp;

	*netp = NULL;
	if (net == NULL)
		return;
	for (size_t i = 0; i < net->listener_count; i++) {
		struct listener *l = &net->listeners[i];
		free(l->name);
		free(l->protocol);
		free(l->role);
		free(l->address);
	}
	if (net->shared != NULL && net->shared->nets[0] == net)
		net_shared_free(net->shared, net->listener_count);
	else if (net->shared != NULL)
		net->shared->nets[net->ctx->worker] = NULL;
	free(net->listeners);
	free(net);
}

int net_tls_covers(const struct net *net, const char *name)
{
	if (net == NULL)
		return 0;
	struct tls_creds *creds = net_creds((struct net *)net);
	int covers = tls_creds_covers(creds, name);
	tls_creds_unref(&creds);
	return covers;
}

size_t net_listener_count(const struct net *net)
{
	return net != NULL ? net->listener_count : 0;
}

size_t net_connection_count(const struct net *net)
{
	return net != NULL ? net->conn_count : 0;
}
