/* spf.so: SPF (RFC 7208) checks of inbound mail with libspf2. Built only
 * against plugins-api/ (postino/plugin.h), like ratelimit.so.
 *
 * SMTP_RCPT_TO of an unauthenticated session checks the MAIL FROM domain
 * (the HELO name for the null sender) from the client's address and acts
 * on the result: fail -> 550 5.7.23, temperror -> 451 4.4.3, softfail and
 * permerror as configured. SMTP_DATA_END puts Received-SPF (and optionally
 * Authentication-Results) on the message. The check itself (DNS) runs on
 * a worker thread: the hook answers PENDING and completes from the work's
 * done callback, or from a timer after [spf] timeout. Answers are cached
 * per (client IP, HELO, MAIL FROM) for cache_ttl, which is also how the
 * DATA_END hook finds the RCPT TO's answer: the module keeps no
 * per-session state. Checks are skipped for authenticated sessions, for
 * clients in allow_networks and senders in allow_domains. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postino/plugin.h>

#include "spf_cache.h"
#include "spf_dns.h"
#include "spf_eval.h"
#include "spf_policy.h"

#define SPF_KEY_MAX 1200
#define SPF_CACHE_MAX 20000
#define SPF_HEADER_MAX 1400

struct spf {
	postino_mod *mod;
	const struct postino_host *host;
	struct spf_dns *dns;
	struct spf_cache *cache;
	struct spf_net *allow_nets;
	int allow_net_count;
	const char *allow_domains;
	const char *fail_text;
	const char *permerror_text;
	const char *hostname;
	int softfail_defer;
	int permerror_reject;
	int auth_results;
	int64_t timeout_ms;
	int64_t cache_ttl_ms;
	/* For the metrics to come; logged at fini. */
	uint64_t checks, rejected, deferred, timeouts;
};

/* One check on a worker thread for a PENDING hook. */
struct spf_check {
	struct spf *s;
	postino_hook_call *call; /* NULL once answered (timeout) */
	enum postino_hook_point point;
	postino_msg *msg;        /* DATA_END */
	postino_timer *timer;
	char *session_id, *rcpt, *ip, *helo, *mail_from;
	char key[SPF_KEY_MAX];
	struct spf_answer answer;
};

static char *dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/* The domain a check is about: MAIL FROM's, or the HELO name. */
static const char *identity_domain(const struct postino_hook_event *ev)
{
	if (ev->mail_from != NULL && ev->mail_from[0] != '\0') {
		const char *at = strrchr(ev->mail_from, '@');

		return at != NULL ? at + 1 : ev->mail_from;
	}
	return ev->helo;
}

/* 1 when this session's mail is not SPF-checked. */
static int exempt(const struct spf *s, const struct postino_hook_event *ev)
{
	if (ev->account != NULL || ev->client_ip == NULL ||
	    ev->mail_from == NULL)
		return 1;
	if (spf_net_match(s->allow_nets, s->allow_net_count, ev->client_ip))
		return 1;
	return spf_domain_listed(s->allow_domains, identity_domain(ev));
}

/* ---- acting on an answer ------------------------------------------------ */

static enum postino_verdict decide(struct spf *s, postino_hook_call *call,
				   const char *session_id, const char *ip,
				   const char *mail_from, const char *rcpt,
				   const struct spf_answer *a)
{
	enum postino_verdict v = POSTINO_CONTINUE;
	const char *r = rcpt != NULL ? rcpt : "";

	switch (a->result) {
	case SPF_RES_FAIL:
		s->host->policy->hook_reply(call, 550, "5.7.23 <%s>: %s", r,
				    s->fail_text);
		v = POSTINO_REJECT;
		break;
	case SPF_RES_SOFTFAIL:
		if (!s->softfail_defer)
			break;
		s->host->policy->hook_reply(call, 451, "4.7.24 <%s>: Recipient "
				    "address rejected: SPF softfail, try "
				    "again later", r);
		v = POSTINO_DEFER;
		break;
	case SPF_RES_TEMPERROR:
		s->host->policy->hook_reply(call, 451, "4.4.3 <%s>: Recipient address "
				    "rejected: Temporary SPF error, try again "
				    "later", r);
		v = POSTINO_DEFER;
		break;
	case SPF_RES_PERMERROR:
		if (!s->permerror_reject)
			break;
		s->host->policy->hook_reply(call, 550, "5.7.24 <%s>: %s", r,
				    s->permerror_text);
		v = POSTINO_REJECT;
		break;
	default:
		break;
	}
	if (v == POSTINO_REJECT)
		s->rejected++;
	else if (v == POSTINO_DEFER)
		s->deferred++;
	s->host->core->log(s->mod, v == POSTINO_CONTINUE ? POSTINO_LOG_DEBUG
						   : POSTINO_LOG_INFO,
		     session_id, "spf=%s identity=%s domain=%s ip=%s from=<%s> "
		     "rcpt=<%s> action=%s%s%s", spf_result_name(a->result),
		     a->helo_identity ? "helo" : "mailfrom", a->domain, ip,
		     mail_from, r,
		     v == POSTINO_REJECT ? "reject"
					 : v == POSTINO_DEFER ? "defer"
							      : "accept",
		     a->problem[0] != '\0' ? " problem=" : "", a->problem);
	return v;
}

static void add_headers(struct spf *s, postino_msg *msg, const char *sid,
			const char *ip, const char *helo,
			const char *mail_from, const struct spf_answer *a)
{
	char value[SPF_HEADER_MAX];
	struct spf_header_info info = {
		.hostname = s->hostname,
		.client_ip = ip,
		.helo = helo,
		.mail_from = mail_from,
	};
	int ret;

	if (msg == NULL)
		return;
	spf_received_value(value, sizeof(value), &info, a);
	ret = s->host->mail->msg_add_header(msg, "Received-SPF", value);
	if (ret == 0 && s->auth_results) {
		spf_auth_results_value(value, sizeof(value), &info, a);
		ret = s->host->mail->msg_add_header(msg, "Authentication-Results",
					      value);
	}
	if (ret < 0)
		s->host->core->log(s->mod, POSTINO_LOG_ERROR, sid,
			     "adding the SPF header failed: %s",
			     strerror(-ret));
}

/* ---- checks on a worker thread ------------------------------------------ */

static void check_free(struct spf_check **cp)
{
	struct spf_check *c = *cp;

	free(c->session_id);
	free(c->rcpt);
	free(c->ip);
	free(c->helo);
	free(c->mail_from);
	free(c);
	*cp = NULL;
}

/* Completes the hook with answer a. */
static void check_answer(struct spf_check *c, const struct spf_answer *a)
{
	struct spf *s = c->s;
	postino_hook_call *call = c->call;
	enum postino_verdict v = POSTINO_CONTINUE;

	c->call = NULL;
	s->host->core->timer_stop(&c->timer);
	if (c->point == POSTINO_HOOK_SMTP_RCPT_TO)
		v = decide(s, call, c->session_id, c->ip, c->mail_from,
			   c->rcpt, a);
	else
		add_headers(s, c->msg, c->session_id, c->ip, c->helo,
			    c->mail_from, a);
	s->host->policy->hook_complete(call, v);
}

static void check_work(void *data)
{
	struct spf_check *c = data;
	struct spf_query q = {
		.ip = c->ip,
		.helo = c->helo,
		.mail_from = c->mail_from,
		.receiver = c->s->hostname,
	};

	spf_eval(c->s->dns, &q, &c->answer);
}

static void check_done(void *data, int status)
{
	struct spf_check *c = data;
	struct spf *s = c->s;

	if (status < 0) {
		c->answer.result = SPF_RES_TEMPERROR;
		snprintf(c->answer.problem, sizeof(c->answer.problem),
			 "check cancelled");
	} else if (c->answer.result != SPF_RES_TEMPERROR) {
		/* A temporary error is not kept: the retry looks again. */
		int64_t now = s->host->core->now_ms();

		if (spf_cache_put(s->cache, c->key, &c->answer, now,
				  now + s->cache_ttl_ms) < 0)
			s->host->core->log(s->mod, POSTINO_LOG_WARNING,
				     c->session_id, "SPF cache: out of memory");
	}
	if (c->call != NULL)
		check_answer(c, &c->answer);
	check_free(&c);
}

static void check_timeout(void *data)
{
	struct spf_check *c = data;
	struct spf_answer a;

	/* c->answer is the work's until its done callback: the identity
	 * is taken again from what the check was given, as spf_eval does. */
	const char *at = strrchr(c->mail_from, '@');
	const char *domain = c->mail_from[0] != '\0'
				     ? (at != NULL ? at + 1 : c->mail_from)
				     : c->helo;

	memset(&a, 0, sizeof(a));
	a.result = SPF_RES_TEMPERROR;
	a.helo_identity = c->mail_from[0] == '\0';
	snprintf(a.domain, sizeof(a.domain), "%s",
		 domain != NULL && domain[0] != '\0' ? domain : "-");
	snprintf(a.problem, sizeof(a.problem), "DNS timeout after %" PRId64
		 " ms", c->s->timeout_ms);
	c->s->timeouts++;
	/* The work goes on; its done callback frees the check. */
	check_answer(c, &a);
}

static enum postino_verdict start_check(struct spf *s, postino_hook_call *call,
					const struct postino_hook_event *ev,
					const char *key)
{
	struct spf_check *c = calloc(1, sizeof(*c));
	struct spf_answer a;

	if (c != NULL) {
		c->s = s;
		c->call = call;
		c->point = ev->point;
		c->msg = ev->msg;
		snprintf(c->key, sizeof(c->key), "%s", key);
		c->session_id = dup_or_null(ev->session_id);
		c->rcpt = dup_or_null(ev->rcpt_to);
		c->ip = strdup(ev->client_ip);
		c->helo = dup_or_null(ev->helo);
		c->mail_from = strdup(ev->mail_from);
	}
	if (c != NULL && c->ip != NULL && c->mail_from != NULL &&
	    (ev->session_id == NULL || c->session_id != NULL) &&
	    (ev->rcpt_to == NULL || c->rcpt != NULL) &&
	    (ev->helo == NULL || c->helo != NULL)) {
		c->timer = s->host->core->timer_start(s->mod,
						(uint64_t)s->timeout_ms, 0, 0,
						check_timeout, c);
		if (c->timer != NULL &&
		    s->host->core->work_submit(s->mod, check_work, check_done,
					 c) == 0) {
			s->checks++;
			return POSTINO_PENDING;
		}
		s->host->core->timer_stop(&c->timer);
	}
	if (c != NULL)
		check_free(&c);
	s->host->core->log(s->mod, POSTINO_LOG_ERROR, ev->session_id,
		     "cannot start an SPF check: out of memory");
	memset(&a, 0, sizeof(a));
	a.result = SPF_RES_TEMPERROR;
	snprintf(a.problem, sizeof(a.problem), "out of memory");
	if (ev->point != POSTINO_HOOK_SMTP_RCPT_TO)
		return POSTINO_CONTINUE;
	return decide(s, call, ev->session_id, ev->client_ip, ev->mail_from,
		      ev->rcpt_to, &a);
}

/* ---- hooks ---------------------------------------------------------------- */

static enum postino_verdict spf_rcpt_to(postino_hook_call *call,
					const struct postino_hook_event *ev,
					void *data)
{
	struct spf *s = data;
	char key[SPF_KEY_MAX];
	struct spf_answer a;

	if (exempt(s, ev))
		return POSTINO_CONTINUE;
	spf_cache_key(key, sizeof(key), ev->client_ip, ev->helo,
		      ev->mail_from);
	if (spf_cache_get(s->cache, key, s->host->core->now_ms(), &a))
		return decide(s, call, ev->session_id, ev->client_ip,
			      ev->mail_from, ev->rcpt_to, &a);
	return start_check(s, call, ev, key);
}

static enum postino_verdict spf_data_end(postino_hook_call *call,
					 const struct postino_hook_event *ev,
					 void *data)
{
	struct spf *s = data;
	char key[SPF_KEY_MAX];
	struct spf_answer a;

	if (ev->msg == NULL || exempt(s, ev))
		return POSTINO_CONTINUE;
	spf_cache_key(key, sizeof(key), ev->client_ip, ev->helo,
		      ev->mail_from);
	if (spf_cache_get(s->cache, key, s->host->core->now_ms(), &a)) {
		add_headers(s, ev->msg, ev->session_id, ev->client_ip,
			    ev->helo, ev->mail_from, &a);
		return POSTINO_CONTINUE;
	}
	/* The RCPT TO's answer expired (a slow client): check again. */
	return start_check(s, call, ev, key);
}

/* ---- init and fini --------------------------------------------------------- */

static void spf_free(struct spf **sp)
{
	struct spf *s = *sp;

	spf_dns_free(&s->dns);
	spf_cache_free(&s->cache);
	free(s->allow_nets);
	free(s);
	*sp = NULL;
}

static int choice(const struct postino_host *host, postino_mod *mod,
		  const char *key, const char *yes, const char *no, int *r)
{
	const char *v = host->core->config_string(mod, key);

	if (v != NULL && strcmp(v, yes) == 0)
		*r = 1;
	else if (v != NULL && strcmp(v, no) == 0)
		*r = 0;
	else {
		host->core->log(mod, POSTINO_LOG_ERROR, NULL,
			  "[spf] %s must be %s or %s", key, yes, no);
		return -EINVAL;
	}
	return 0;
}

static int spf_config(postino_mod *mod, const struct postino_host *host,
		      struct spf *s)
{
	const char *zone = host->core->config_string(mod, "dns_zone");
	const char *nets = host->core->config_string(mod, "allow_networks");
	char why[512];
	int ret;

	s->timeout_ms = host->core->config_number(mod, "timeout") * 1000;
	s->cache_ttl_ms = host->core->config_number(mod, "cache_ttl") * 1000;
	s->fail_text = host->core->config_string(mod, "fail_text");
	s->permerror_text = host->core->config_string(mod, "permerror_text");
	s->allow_domains = host->core->config_string(mod, "allow_domains");
	s->auth_results = host->core->config_number(mod,
					      "authentication_results") != 0;
	if (s->timeout_ms <= 0 || s->timeout_ms > 300000 ||
	    s->cache_ttl_ms < 0) {
		host->core->log(mod, POSTINO_LOG_ERROR, NULL,
			  "[spf] timeout must be 1s..5m, cache_ttl >= 0");
		return -EINVAL;
	}
	if (s->fail_text == NULL || s->fail_text[0] == '\0' ||
	    s->permerror_text == NULL || s->permerror_text[0] == '\0') {
		host->core->log(mod, POSTINO_LOG_ERROR, NULL,
			  "[spf] fail_text and permerror_text must not be "
			  "empty");
		return -EINVAL;
	}
	if (choice(host, mod, "softfail_action", "defer", "mark",
		   &s->softfail_defer) < 0 ||
	    choice(host, mod, "permerror_action", "reject", "mark",
		   &s->permerror_reject) < 0)
		return -EINVAL;
	s->allow_net_count = spf_net_parse_list(nets, &s->allow_nets, why,
						sizeof(why));
	if (s->allow_net_count < 0) {
		host->core->log(mod, POSTINO_LOG_ERROR, NULL,
			  "[spf] allow_networks: bad network '%s'", why);
		return -EINVAL;
	}
	if (zone != NULL && zone[0] != '\0') {
		ret = spf_dns_load_file(zone, &s->dns, why, sizeof(why));
		if (ret < 0) {
			host->core->log(mod, POSTINO_LOG_ERROR, NULL,
				  "[spf] dns_zone: %s", why);
			return ret;
		}
		host->core->log(mod, POSTINO_LOG_WARNING, NULL,
			  "answering SPF DNS lookups from %s, not from DNS "
			  "(a test set-up)", zone);
		return 0;
	}
	return spf_dns_new_resolver(&s->dns);
}

static int spf_init(postino_mod *mod, const struct postino_host *host,
		    void **data_r)
{
	struct spf *s = calloc(1, sizeof(*s));
	int ret;

	if (s == NULL)
		return -ENOMEM;
	s->mod = mod;
	s->host = host;
	s->hostname = host->core->hostname(mod);
	ret = spf_config(mod, host, s);
	if (ret == 0)
		ret = spf_cache_new(SPF_CACHE_MAX, &s->cache);
	if (ret < 0) {
		spf_free(&s);
		return ret;
	}
	host->policy->hook_register(mod, POSTINO_HOOK_SMTP_RCPT_TO, spf_rcpt_to, s);
	host->policy->hook_register(mod, POSTINO_HOOK_SMTP_DATA_END, spf_data_end, s);
	*data_r = s;
	return 0;
}

/* The host runs fini only after every submitted work's done callback,
 * so no check is in flight here. */
static void spf_fini(postino_mod *mod, void *data)
{
	struct spf *s = data;

	if (s->checks > 0)
		s->host->core->log(mod, POSTINO_LOG_INFO, NULL,
			     "fini checks=%" PRIu64 " rejected=%" PRIu64
			     " deferred=%" PRIu64 " timeouts=%" PRIu64,
			     s->checks, s->rejected, s->deferred,
			     s->timeouts);
	spf_free(&s);
}

static const struct postino_config_key spf_keys[] = {
	{ "dns_zone", POSTINO_CONFIG_STRING, "",
	  "tests only: answer DNS lookups from this zone file, not from DNS" },
	{ "timeout", POSTINO_CONFIG_DURATION, "20s",
	  "a check still running after this answers 451 4.4.3 (temperror)" },
	{ "cache_ttl", POSTINO_CONFIG_DURATION, "5m",
	  "how long an answer is reused for the same client IP, HELO and "
	  "sender" },
	{ "fail_text", POSTINO_CONFIG_STRING,
	  "Recipient address rejected: Failed SPF check",
	  "text after \"550 5.7.23 <rcpt>: \" for an SPF fail" },
	{ "softfail_action", POSTINO_CONFIG_STRING, "mark",
	  "mark: accept with Received-SPF: softfail; defer: 451 4.7.24" },
	{ "permerror_action", POSTINO_CONFIG_STRING, "reject",
	  "reject: 550 5.7.24 with permerror_text; mark: accept with "
	  "Received-SPF: permerror" },
	{ "permerror_text", POSTINO_CONFIG_STRING,
	  "Recipient address rejected: Invalid SPF record of the sender "
	  "domain",
	  "text after \"550 5.7.24 <rcpt>: \" for a malformed SPF record" },
	{ "allow_networks", POSTINO_CONFIG_STRING, "127.0.0.0/8, ::1",
	  "client networks never checked (CIDR, comma-separated): backup "
	  "MX, forwarders" },
	{ "allow_domains", POSTINO_CONFIG_STRING, "",
	  "sender domains (and their subdomains) never checked, "
	  "comma-separated" },
	{ "authentication_results", POSTINO_CONFIG_BOOL, "no",
	  "also add an RFC 8601 Authentication-Results header" },
	{ NULL, 0, NULL, NULL },
};

POSTINO_EXPORT const struct postino_module postino_module_v1 = {
	POSTINO_MODULE_HEADER,
	.name = "spf",
	.version = "1.0.0",
	.description = "SPF checks of inbound mail (libspf2)",
	.config_keys = spf_keys,
	.init = spf_init,
	.fini = spf_fini,
};
