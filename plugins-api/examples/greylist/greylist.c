/* greylist.so: greylisting (as Postgrey does it) in one file, against the
 * installed plugin headers only. See README for building and enabling it.
 *
 * A (client network, MAIL FROM, RCPT TO) triple seen for the first time
 * gets "451 4.7.1"; once `delay` has passed, a retry goes through and the
 * triple stays known for `pass_ttl`. An unanswered triple is forgotten
 * after `retry_window`. The state lives in the host's state service, so
 * every worker of the node and every restart sees the same triples. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postino/plugin.h>

#define KEY_PREFIX "t|"

struct greylist {
	postino_mod *mod;
	const struct postino_host *host;
	int64_t delay;        /* seconds */
	int64_t retry_window; /* seconds */
	int64_t pass_ttl;     /* seconds */
};

/* The client's network: a /24 for IPv4, a /64 for IPv6 (a sender's
 * retries may come from another address of the same pool). */
static int client_network(const char *ip, char *out, size_t size)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, ip, a) == 1)
		return snprintf(out, size, "%u.%u.%u", a[0], a[1], a[2]) <
			       (int)size ? 0 : -1;
	if (inet_pton(AF_INET6, ip, a) == 1)
		return snprintf(out, size, "%x:%x:%x:%x",
				(a[0] << 8) | a[1], (a[2] << 8) | a[3],
				(a[4] << 8) | a[5], (a[6] << 8) | a[7]) <
			       (int)size ? 0 : -1;
	return -1;
}

/* The value of a triple: "FIRST_SEEN PASSES" (unix seconds, a count). */
static int parse_value(const void *value, size_t len, long long *first_r,
		       long long *passes_r)
{
	char text[64];

	if (len >= sizeof(text))
		return -1;
	memcpy(text, value, len);
	text[len] = '\0';
	return sscanf(text, "%lld %lld", first_r, passes_r) == 2 ? 0 : -1;
}

enum grey_outcome { GREY_FIRST, GREY_TOO_EARLY, GREY_PASS };

struct grey_decision {
	const struct greylist *g;
	int64_t now;
	enum grey_outcome outcome;
	int64_t wait; /* seconds until a retry passes */
};

/* Runs under the host's lock for the key: the read, the decision and the
 * write are one step, even with two RCPTs on two workers at once. */
static int grey_update(void *data, const void *old, size_t old_len,
		       void *buf, size_t size, size_t *len_r,
		       int64_t *expires_at_r)
{
	struct grey_decision *d = data;
	long long first, passes;

	if (old != NULL && parse_value(old, old_len, &first, &passes) == 0) {
		if (d->now - first < d->g->delay) {
			d->outcome = GREY_TOO_EARLY;
			d->wait = first + d->g->delay - d->now;
			return 0; /* unchanged */
		}
		d->outcome = GREY_PASS;
		passes++;
		*expires_at_r = d->now + d->g->pass_ttl;
	} else {
		d->outcome = GREY_FIRST;
		d->wait = d->g->delay;
		first = d->now;
		passes = 0;
		*expires_at_r = d->now + d->g->retry_window;
	}
	*len_r = (size_t)snprintf(buf, size, "%lld %lld", first, passes);
	return 1;
}

static enum postino_verdict grey_rcpt(postino_hook_call *call,
				      const struct postino_hook_event *ev,
				      void *data)
{
	struct greylist *g = data;
	char net[64], key[POSTINO_STATE_KEY_MAX + 1];

	/* Senders who logged in are not strangers. */
	if (ev->account != NULL || ev->client_ip == NULL ||
	    ev->rcpt_to == NULL ||
	    client_network(ev->client_ip, net, sizeof(net)) < 0)
		return POSTINO_CONTINUE;
	int n = snprintf(key, sizeof(key), KEY_PREFIX "%s|%s|%s", net,
			 ev->mail_from != NULL && ev->mail_from[0] != '\0'
				 ? ev->mail_from : "<>",
			 ev->rcpt_to);
	if (n < 0 || (size_t)n >= sizeof(key))
		return POSTINO_CONTINUE; /* cannot happen with SMTP's limits */

	struct grey_decision d = {
		.g = g, .now = g->host->core->now_ms() / 1000,
	};
	int ret = g->host->policy->state_update(g->mod, key, grey_update, &d,
						NULL, NULL);
	if (ret < -1) {
		/* A store failure must not turn into lost mail: let it in. */
		g->host->core->log(g->mod, POSTINO_LOG_WARNING, ev->session_id,
				   "state_update failed (%s); not greylisting",
				   strerror(-ret));
		return POSTINO_CONTINUE;
	}
	if (d.outcome == GREY_PASS)
		return POSTINO_CONTINUE;
	g->host->core->log(g->mod, POSTINO_LOG_INFO, ev->session_id,
			   "greylisted %s from=<%s> to=<%s> (%s)", net,
			   ev->mail_from, ev->rcpt_to,
			   d.outcome == GREY_FIRST ? "first seen" : "too early");
	g->host->policy->hook_reply(call, 451,
				    "4.7.1 Greylisted, please try again in %"
				    PRId64 " seconds", d.wait);
	return POSTINO_DEFER;
}

/* ---- postino greylist list|purge|stats ------------------------------------ */

static int print_triple(void *data, const char *key, const void *value,
			size_t len, int64_t expires_at)
{
	FILE *out = data;
	long long first, passes;

	if (parse_value(value, len, &first, &passes) < 0)
		return 0;
	/* key is "t|NET|FROM|TO": columns as they are. */
	char triple[POSTINO_STATE_KEY_MAX + 1];
	snprintf(triple, sizeof(triple), "%s", key + strlen(KEY_PREFIX));
	for (char *p = triple; *p != '\0'; p++) {
		if (*p == '|')
			*p = ' ';
	}
	fprintf(out, "%s first=%lld passes=%lld expires=%" PRId64 "\n",
		triple, first, passes, expires_at);
	return 0;
}

static int cmd_list(void *data, int argc, char **argv, FILE *out, FILE *err)
{
	struct greylist *g = data;

	(void)argv;
	if (argc != 1) {
		fprintf(err, "usage: postino greylist list\n");
		return 64;
	}
	int ret = g->host->policy->state_scan(g->mod, KEY_PREFIX,
					      print_triple, out);
	if (ret < 0) {
		fprintf(err, "cannot read the triples: %s\n", strerror(-ret));
		return 74;
	}
	return 0;
}

struct keys {
	char **v;
	size_t n, cap;
};

static int collect_key(void *data, const char *key, const void *value,
		       size_t len, int64_t expires_at)
{
	struct keys *k = data;

	(void)value;
	(void)len;
	(void)expires_at;
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 64;
		char **grown = realloc(k->v, cap * sizeof(*grown));
		if (grown == NULL)
			return -ENOMEM;
		k->v = grown;
		k->cap = cap;
	}
	k->v[k->n] = strdup(key);
	if (k->v[k->n] == NULL)
		return -ENOMEM;
	k->n++;
	return 0;
}

/* The state service may not be called from a scan's callback: collect the
 * keys first, then delete them (in the CLI each delete commits at once). */
static int cmd_purge(void *data, int argc, char **argv, FILE *out, FILE *err)
{
	struct greylist *g = data;
	struct keys k = { NULL, 0, 0 };
	int code = 0;

	(void)argv;
	if (argc != 1) {
		fprintf(err, "usage: postino greylist purge\n");
		return 64;
	}
	int ret = g->host->policy->state_scan(g->mod, KEY_PREFIX, collect_key,
					      &k);
	for (size_t i = 0; i < k.n; i++) {
		if (ret >= 0)
			ret = g->host->policy->state_delete(g->mod, k.v[i],
							    NULL, NULL);
		free(k.v[i]);
	}
	free(k.v);
	if (ret < 0) {
		fprintf(err, "purge failed: %s\n", strerror(-ret));
		code = 74;
	} else {
		fprintf(out, "purged %zu triples\n", k.n);
	}
	return code;
}

struct stats {
	size_t waiting, passed;
};

static int count_triple(void *data, const char *key, const void *value,
			size_t len, int64_t expires_at)
{
	struct stats *s = data;
	long long first, passes;

	(void)key;
	(void)expires_at;
	if (parse_value(value, len, &first, &passes) == 0) {
		if (passes > 0)
			s->passed++;
		else
			s->waiting++;
	}
	return 0;
}

static int cmd_stats(void *data, int argc, char **argv, FILE *out, FILE *err)
{
	struct greylist *g = data;
	struct stats s = { 0, 0 };

	(void)argv;
	if (argc != 1) {
		fprintf(err, "usage: postino greylist stats\n");
		return 64;
	}
	int ret = g->host->policy->state_scan(g->mod, KEY_PREFIX,
					      count_triple, &s);
	if (ret < 0) {
		fprintf(err, "cannot read the triples: %s\n", strerror(-ret));
		return 74;
	}
	fprintf(out, "waiting=%zu passed=%zu\n", s.waiting, s.passed);
	return 0;
}

/* ---- the module ------------------------------------------------------------ */

static int greylist_init(postino_mod *mod, const struct postino_host *host,
			 void **data_r)
{
	struct greylist *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return -ENOMEM;
	g->mod = mod;
	g->host = host;
	g->delay = host->core->config_number(mod, "delay");
	g->retry_window = host->core->config_number(mod, "retry_window");
	g->pass_ttl = host->core->config_number(mod, "pass_ttl");
	if (g->retry_window <= g->delay) {
		host->core->log(mod, POSTINO_LOG_ERROR, NULL,
				"retry_window must be longer than delay");
		free(g);
		return -EINVAL;
	}
	int ret = host->policy->hook_register(mod, POSTINO_HOOK_SMTP_RCPT_TO,
					      grey_rcpt, g);
	if (ret == 0)
		ret = host->policy->admin_register(mod, "list", "",
						   cmd_list, g);
	if (ret == 0)
		ret = host->policy->admin_register(mod, "purge", "",
						   cmd_purge, g);
	if (ret == 0)
		ret = host->policy->admin_register(mod, "stats", "",
						   cmd_stats, g);
	if (ret < 0) {
		free(g);
		return ret;
	}
	*data_r = g;
	return 0;
}

static void greylist_fini(postino_mod *mod, void *data)
{
	(void)mod;
	free(data);
}

static const struct postino_config_key greylist_keys[] = {
	{ "delay", POSTINO_CONFIG_DURATION, "5m",
	  "how long a new triple must wait before a retry passes" },
	{ "retry_window", POSTINO_CONFIG_DURATION, "4h",
	  "how long an unanswered triple is remembered" },
	{ "pass_ttl", POSTINO_CONFIG_DURATION, "35d",
	  "how long a triple that passed stays known" },
	{ NULL, 0, NULL, NULL },
};

POSTINO_EXPORT const struct postino_module postino_module_v1 = {
	POSTINO_MODULE_HEADER,
	.name = "greylist",
	.version = "1.0.0",
	.description = "greylisting of unknown (network, sender, recipient)",
	.config_keys = greylist_keys,
	.init = greylist_init,
	.fini = greylist_fini,
};
