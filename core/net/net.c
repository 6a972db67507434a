/* Listeners: bound from [listener NAME] sections while still root, then
 * accepting once the modules that serve their protocols are loaded. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "net/net_internal.h"

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

static void net_on_connection(uv_stream_t *server, int status)
{
	struct listener *listener = (struct listener *)server;

	if (status < 0) {
		core_log(listener->net->ctx, LOG_LEVEL_WARNING,
			 "listener %s: accept error: %s", listener->name,
			 uv_strerror(status));
		return;
	}
	conn_accept(listener);
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
	l->name = strdup(section->name != NULL ? section->name : "");
	l->protocol = strdup(net_value(section, "protocol"));
	l->role = strdup(config_listener_role(section));
	l->address = strdup(net_value(section, "address"));
	l->port = (int)net_number(section, "port", POSTINO_CONFIG_INT);
	l->tls = net_tls_mode(net_value(section, "tls"));
	net_listener_limits(l, section);
	iptable_init(&l->per_ip);
	net->listener_count++;
	if (l->name == NULL || l->protocol == NULL || l->role == NULL ||
	    l->address == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* The listeners' uv handles live inside the listeners array, which must
 * therefore not move once any is initialised: collect first, bind after. */
int net_open(struct core_ctx *ctx, struct net **net_r, char *err,
	     size_t errlen)
{
	struct net *net = calloc(1, sizeof(*net));
	int ret = 0;

	if (net == NULL)
		return -ENOMEM;
	net->ctx = ctx;
	iptable_init(&net->per_ip);
	*net_r = net;
	/* Session ids must not repeat across restarts, or log searches mix
	 * sessions up: start from a random point. */
	uint32_t seed = 0;
	if (getrandom(&seed, sizeof(seed), 0) == sizeof(seed))
		net->session_seq = (uint64_t)seed << 20;
	for (const struct config_section *s = ctx->config->sections; s != NULL;
	     s = s->next) {
		if (strcmp(s->type, "listener") == 0 &&
		    (ret = net_add_listener(net, s, err, errlen)) < 0)
			return ret;
	}
	if (net->listener_count == 0)
		return 0;
	net_limits_set(net, ctx->config);

	gnutls_datum_t key = { NULL, 0 };
	ret = gnutls_session_ticket_key_generate(&key);
	if (ret < 0 || key.size > sizeof(net->ticket_key_data)) {
		snprintf(err, errlen, "cannot make a session ticket key: %s",
			 gnutls_strerror(ret));
		gnutls_free(key.data);
		return -EIO;
	}
	memcpy(net->ticket_key_data, key.data, key.size);
	net->ticket_key.data = net->ticket_key_data;
	net->ticket_key.size = key.size;
	gnutls_memset(key.data, 0, key.size);
	gnutls_free(key.data);

	ret = tls_creds_load(ctx->config, NULL, &net->ticket_key, &net->creds,
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

int net_reload(struct net *net, const struct config *config,
	       const struct tls_file_opener *opener, char *err, size_t errlen)
{
	struct tls_creds *creds = NULL;

	if (net->listener_count > 0) {
		int ret = tls_creds_load(config, opener, &net->ticket_key,
					 &creds, err, errlen);
		if (ret < 0)
			return ret;
	}
	for (size_t i = 0; i < net->listener_count; i++) {
		struct listener *l = &net->listeners[i];
		const struct config_section *s = net_find_section(config, l->name);
		if (s == NULL) {
			core_log(net->ctx, LOG_LEVEL_WARNING, "listener %s was "
				 "removed; it keeps listening until restart",
				 l->name);
			continue;
		}
		const char *tls = net_value(s, "tls");
		if (strcmp(net_value(s, "address"), l->address) != 0 ||
		    (int)net_number(s, "port", POSTINO_CONFIG_INT) != l->port ||
		    strcmp(net_value(s, "protocol"), l->protocol) != 0 ||
		    net_tls_mode(tls) != l->tls)
			core_log(net->ctx, LOG_LEVEL_WARNING, "listener %s "
				 "changed; address, port, protocol and tls "
				 "take effect at restart", l->name);
		net_listener_limits(l, s);
	}
	if (net->listener_count > 0)
		net_limits_set(net, config);
	/* Open sessions keep their reference to the old certificates. */
	tls_creds_unref(&net->creds);
	net->creds = creds;
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
		iptable_free(&l->per_ip);
	}
	free(net->listeners);
	iptable_free(&net->per_ip);
	tls_creds_unref(&net->creds);
	gnutls_memset(net->ticket_key_data, 0, sizeof(net->ticket_key_data));
	free(net);
}

int net_tls_covers(const struct net *net, const char *name)
{
	return net != NULL && tls_creds_covers(net->creds, name);
}

size_t net_listener_count(const struct net *net)
{
	return net != NULL ? net->listener_count : 0;
}

size_t net_connection_count(const struct net *net)
{
	return net != NULL ? net->conn_count : 0;
}
