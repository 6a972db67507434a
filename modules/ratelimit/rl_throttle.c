/* Login throttling; see rl_throttle.h, and rl_login.h for the rule.
 *
 * Records, as state entries of the module (the one truth every worker's
 * instance reads, so that a limit is the node's: failures spread over
 * workers add up):
 *   "login:ip:ADDR"       failures from a client address (rl_client_key)
 *   "login:account:NAME"  failures for an account name as given
 *                         (lower-cased; an unknown name counts like a
 *                         real one, so nothing is revealed) and the
 *                         addresses they came from
 *   "login:known:NAME"    the addresses that logged in to the account
 * A check reads them with state_get (indexed reads; the state service's
 * overlay shows a failure counted a moment ago on any worker); a failure
 * or a login updates them with state_update, atomic across workers. Each
 * expires when its newest time leaves its window (known_address_window
 * for the known addresses), so nothing needs pruning and memory does not
 * grow with the number of attackers. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rl_login.h"
#include "rl_throttle.h"
#include "rl_window.h"

#define RL_ACCOUNT_ADDRS_MAX 256      /* where an account's failures came
				       * from */
#define RL_KNOWN_MAX 32               /* addresses that logged in, per
				       * account */
#define RL_KNOWN_REFRESH_MS 3600000   /* a known address's time is
				       * written again at most hourly */
#define RL_NAME_MAX 320
#define RL_KEY_MAX (RL_NAME_MAX + 16)
#define RL_READ_FIRST 4096

#define RL_TEMPFAIL_TEXT "4.7.0 Temporary authentication failure"

/* A login check answered after throttle_delay. */
struct rl_delay {
	struct rl_throttle *t;
	postino_hook_call *call;
	postino_timer *timer;
	enum postino_verdict verdict;
	struct rl_delay *next;
};

struct rl_throttle {
	postino_mod *mod;
	const struct postino_host *host;
	int64_t ip_failures, ip_window_ms;
	int64_t account_failures, account_window_ms;
	int64_t known_window_ms;
	int64_t delay_ms;
	struct rl_net *exempt;
	int exempt_count;
	struct rl_delay *delays;
	/* For the metrics to come (this instance's). */
	uint64_t login_failures, logins_throttled, logins_slowed;
};

static void state_done(void *data, int status)
{
	struct rl_throttle *t = data;

	if (status != 0)
		t->host->core->log(t->mod, POSTINO_LOG_ERROR, NULL,
			     "saving login state failed: %s",
			     strerror(-status));
}

/* A state value in a malloc'd buffer; -ENOENT when absent. */
static int state_read(struct rl_throttle *t, const char *key, char **buf_r,
		      size_t *len_r)
{
	size_t size = RL_READ_FIRST, len = 0;
	char *buf = malloc(size);
	int ret;

	if (buf == NULL)
		return -ENOMEM;
	ret = t->host->policy->state_get(t->mod, key, buf, size, &len);
	if (ret == 0 && len > size) {
		char *bigger = realloc(buf, len);

		if (bigger == NULL) {
			free(buf);
			return -ENOMEM;
		}
		buf = bigger;
		size = len;
		ret = t->host->policy->state_get(t->mod, key, buf, size, &len);
		if (ret == 0 && len > size)
			len = size; /* grew meanwhile: a cut token fails */
	}
	if (ret < 0) {
		free(buf);
		return ret;
	}
	*buf_r = buf;
	*len_r = len;
	return 0;
}

/* What a kind of record keeps and how long. */
enum rl_kind { RL_IP, RL_ACCOUNT, RL_KNOWN };

static int64_t kind_window(const struct rl_throttle *t, enum rl_kind kind)
{
	return kind == RL_IP ? t->ip_window_ms
	       : kind == RL_ACCOUNT ? t->account_window_ms
				    : t->known_window_ms;
}

/* A stored record (len bytes at value, or none) as of now: parsed within
 * the kind's caps, what left its window dropped. */
static void record_load(struct rl_throttle *t, enum rl_kind kind,
			const char *key, const void *value, size_t len,
			int64_t now, struct rl_login *rec)
{
	uint32_t fails_cap = kind == RL_IP ? (uint32_t)t->ip_failures
			     : kind == RL_ACCOUNT ? (uint32_t)t->account_failures
						  : 0;
	uint32_t addrs_cap = kind == RL_ACCOUNT ? RL_ACCOUNT_ADDRS_MAX
			     : kind == RL_KNOWN ? RL_KNOWN_MAX : 0;
	int64_t window = kind_window(t, kind);

	if (value != NULL &&
	    rl_login_parse(rec, value, len, fails_cap, addrs_cap) < 0)
		t->host->core->log(t->mod, POSTINO_LOG_WARNING, NULL,
			     "ignoring a malformed %s", key);
	rl_fails_count(&rec->fails, now, window);
	rl_addrs_prune(&rec->addrs, now - window);
}

/* The record of key as the node has it now, into rec (empty when none). */
static void record_read(struct rl_throttle *t, enum rl_kind kind,
			const char *key, int64_t now, struct rl_login *rec)
{
	char *buf = NULL;
	size_t len = 0;

	if (state_read(t, key, &buf, &len) < 0)
		buf = NULL;
	record_load(t, kind, key, buf, len, now, rec);
	free(buf);
}

/* One change to a record, made by state_update under the host's lock. */
struct record_change {
	struct rl_throttle *t;
	enum rl_kind kind;
	const char *key;
	int64_t now;
	const char *addr;   /* touched with now; NULL: none */
	int fail;           /* a failure at now */
	int failed;         /* out of memory */
};

static int record_change_step(void *data, const void *old, size_t old_len,
			      void *buf, size_t bufsize, size_t *len_r,
			      int64_t *expires_at_r)
{
	struct record_change *c = data;
	struct rl_throttle *t = c->t;
	struct rl_login rec = { 0 };
	int64_t window = kind_window(t, c->kind);
	int write = 1, ret = 0;

	record_load(t, c->kind, c->key, old, old_len, c->now, &rec);
	if (c->fail)
		ret = rl_fails_add(&rec.fails, c->now, window,
				   c->kind == RL_IP ? (uint32_t)t->ip_failures
						    : (uint32_t)t->account_failures);
	if (ret == 0 && c->addr != NULL) {
		int64_t last = rl_addrs_time(&rec.addrs, c->addr);
		/* A known address is written again at most hourly. */
		if (c->kind == RL_KNOWN && last != 0 &&
		    c->now - last < RL_KNOWN_REFRESH_MS)
			write = 0;
		else
			ret = rl_addrs_touch(&rec.addrs, c->addr, c->now,
					     c->kind == RL_KNOWN
						     ? RL_KNOWN_MAX
						     : RL_ACCOUNT_ADDRS_MAX) < 0
				      ? -1 : 0;
	}
	int len = -1;
	int64_t newest = rl_login_newest(&rec);
	if (ret == 0 && write && rl_login_format_size(&rec) <= bufsize)
		len = rl_login_format(&rec, buf, bufsize);
	rl_login_free(&rec);
	if (!write)
		return 0;
	if (len <= 0 || newest <= 0) {
		c->failed = 1;
		return 0;
	}
	*len_r = (size_t)len;
	*expires_at_r = (newest + window) / 1000 + 1;
	return 1;
}

static void record_change(struct rl_throttle *t, struct record_change *c)
{
	int ret = t->host->policy->state_update(t->mod, c->key,
						record_change_step, c,
						state_done, t);

	if (ret < -1 || c->failed)
		t->host->core->log(t->mod, POSTINO_LOG_ERROR, NULL,
			     "cannot save %s: %s", c->key,
			     ret < -1 ? strerror(-ret) : "out of memory");
}

/* ---- the hooks ------------------------------------------------------------------ */

static int exempt(const struct rl_throttle *t, const char *ip)
{
	return ip != NULL && rl_net_match_list(t->exempt, t->exempt_count, ip);
}

static void delay_fire(void *data)
{
	struct rl_delay *d = data;
	struct rl_throttle *t = d->t;

	for (struct rl_delay **p = &t->delays; *p != NULL; p = &(*p)->next) {
		if (*p == d) {
			*p = d->next;
			break;
		}
	}
	t->host->core->timer_stop(&d->timer);
	if (d->verdict == POSTINO_DEFER)
		t->host->policy->hook_reply(d->call, 454, RL_TEMPFAIL_TEXT);
	t->host->policy->hook_complete(d->call, d->verdict);
	free(d);
}

/* verdict after throttle_delay (the loop is never blocked). */
static enum postino_verdict delayed(struct rl_throttle *t,
				    postino_hook_call *call,
				    enum postino_verdict verdict)
{
	struct rl_delay *d = t->delay_ms > 0 ? calloc(1, sizeof(*d)) : NULL;

	if (d != NULL) {
		d->t = t;
		d->call = call;
		d->verdict = verdict;
		d->timer = t->host->core->timer_start(t->mod,
						      (uint64_t)t->delay_ms, 0,
						      0, delay_fire, d);
		if (d->timer != NULL) {
			d->next = t->delays;
			t->delays = d;
			return POSTINO_PENDING;
		}
		free(d);
	}
	if (verdict == POSTINO_DEFER)
		t->host->policy->hook_reply(call, 454, RL_TEMPFAIL_TEXT);
	return verdict;
}

enum postino_verdict rl_throttle_before(postino_hook_call *call,
					const struct postino_hook_event *ev,
					void *data)
{
	struct rl_throttle *t = data;
	char account[RL_NAME_MAX], addr[RL_ADDR_MAX], key[RL_KEY_MAX];
	int64_t now = t->host->core->now_ms();
	int have_account = rl_lower_copy(account, sizeof(account),
					 ev->account) == 0;
	struct rl_login_facts f = {
		.ip_limit = (uint32_t)t->ip_failures,
		.account_limit = (uint32_t)t->account_failures,
	};

	if (exempt(t, ev->client_ip))
		return POSTINO_CONTINUE;
	rl_client_key(ev->client_ip, addr);
	if (ev->client_ip != NULL && f.ip_limit > 0) {
		struct rl_login rec = { 0 };

		snprintf(key, sizeof(key), "login:ip:%s", addr);
		record_read(t, RL_IP, key, now, &rec);
		f.ip_failures = rec.fails.n;
		rl_login_free(&rec);
	}
	if (have_account && f.account_limit > 0) {
		struct rl_login rec = { 0 };

		snprintf(key, sizeof(key), "login:account:%s", account);
		record_read(t, RL_ACCOUNT, key, now, &rec);
		f.account_failures = rec.fails.n;
		f.failed_here = ev->client_ip != NULL &&
				rl_addrs_time(&rec.addrs, addr) > 0;
		rl_login_free(&rec);
		/* The known addresses matter only under attack. */
		if (f.account_failures >= f.account_limit &&
		    t->known_window_ms > 0 && ev->client_ip != NULL) {
			snprintf(key, sizeof(key), "login:known:%s", account);
			record_read(t, RL_KNOWN, key, now, &rec);
			f.known = rl_addrs_time(&rec.addrs, addr) > 0;
			rl_login_free(&rec);
		}
	}
	enum rl_login_verdict verdict = rl_login_decide(&f);
	const char *ip = ev->client_ip != NULL ? ev->client_ip : "-";
	const char *protocol = ev->protocol != NULL ? ev->protocol : "-";

	switch (verdict) {
	case RL_LOGIN_PASS:
		return POSTINO_CONTINUE;
	case RL_LOGIN_SLOW:
		t->logins_slowed++;
		t->host->core->log(t->mod, POSTINO_LOG_INFO, ev->session_id,
			     "login slowed: protocol=%s ip=%s account=%s "
			     "account_failures=%" PRIu32 "/%" PRIu32
			     " (this address has not failed for it)",
			     protocol, ip, account, f.account_failures,
			     f.account_limit);
		return delayed(t, call, POSTINO_CONTINUE);
	case RL_LOGIN_REFUSE_IP:
	case RL_LOGIN_REFUSE_ACCOUNT:
		break;
	}
	t->logins_throttled++;
	t->host->core->log(t->mod, POSTINO_LOG_WARNING, ev->session_id,
		     "login throttled: protocol=%s ip=%s account=%s "
		     "ip_failures=%" PRIu32 "/%" PRIu32 " account_failures=%"
		     PRIu32 "/%" PRIu32 " by=%s", protocol, ip,
		     have_account ? account : "-", f.ip_failures, f.ip_limit,
		     f.account_failures, f.account_limit,
		     verdict == RL_LOGIN_REFUSE_IP ? "address" : "account");
	return delayed(t, call, POSTINO_DEFER);
}

enum postino_verdict rl_throttle_result(postino_hook_call *call,
					const struct postino_hook_event *ev,
					void *data)
{
	struct rl_throttle *t = data;
	char account[RL_NAME_MAX], addr[RL_ADDR_MAX], key[RL_KEY_MAX];
	int64_t now = t->host->core->now_ms();
	int have_account = rl_lower_copy(account, sizeof(account),
					 ev->account) == 0;

	(void)call;
	if (exempt(t, ev->client_ip))
		return POSTINO_CONTINUE;
	rl_client_key(ev->client_ip, addr);
	if (ev->auth_success) {
		/* The account limit never refuses or slows this address
		 * from now on (for known_address_window). */
		if (have_account && ev->client_ip != NULL &&
		    t->account_failures > 0 && t->known_window_ms > 0) {
			snprintf(key, sizeof(key), "login:known:%s", account);
			struct record_change c = { .t = t, .kind = RL_KNOWN,
				.key = key, .now = now, .addr = addr };
			record_change(t, &c);
		}
		return POSTINO_CONTINUE;
	}
	t->login_failures++;
	if (ev->client_ip != NULL && t->ip_failures > 0) {
		snprintf(key, sizeof(key), "login:ip:%s", addr);
		struct record_change c = { .t = t, .kind = RL_IP, .key = key,
					   .now = now, .fail = 1 };
		record_change(t, &c);
	}
	if (have_account && t->account_failures > 0) {
		snprintf(key, sizeof(key), "login:account:%s", account);
		struct record_change c = { .t = t, .kind = RL_ACCOUNT,
			.key = key, .now = now, .fail = 1,
			.addr = ev->client_ip != NULL ? addr : NULL };
		record_change(t, &c);
	}
	return POSTINO_CONTINUE;
}

/* ---- set-up ------------------------------------------------------------------- */

int rl_throttle_new(postino_mod *mod, const struct postino_host *host,
		    struct rl_throttle **throttle_r)
{
	const char *nets = host->core->config_string(mod, "throttle_exempt");
	struct rl_throttle *t = calloc(1, sizeof(*t));
	char bad[80];

	*throttle_r = NULL;
	if (t == NULL)
		return -ENOMEM;
	t->mod = mod;
	t->host = host;
	t->ip_failures = host->core->config_number(mod, "ip_failures");
	t->ip_window_ms = host->core->config_number(mod, "ip_window") * 1000;
	t->account_failures = host->core->config_number(mod, "account_failures");
	t->account_window_ms = host->core->config_number(mod, "account_window") *
			       1000;
	t->known_window_ms = host->core->config_number(mod,
						 "known_address_window") *
			     1000;
	t->delay_ms = host->core->config_number(mod, "throttle_delay") * 1000;
	if (t->ip_window_ms <= 0 || t->account_window_ms <= 0 ||
	    t->known_window_ms < 0) {
		host->core->log(mod, POSTINO_LOG_ERROR, NULL,
			  "[ratelimit] ip_window and account_window must be "
			  "positive, known_address_window not negative");
		goto invalid;
	}
	if (t->ip_failures > 100000 || t->account_failures > 100000 ||
	    t->delay_ms < 0 || t->delay_ms > 10000) {
		host->core->log(mod, POSTINO_LOG_ERROR, NULL,
			  "[ratelimit] ip_failures/account_failures at most "
			  "100000, throttle_delay 0..10s");
		goto invalid;
	}
	/* A negative limit is off, like 0. */
	if (t->ip_failures < 0)
		t->ip_failures = 0;
	if (t->account_failures < 0)
		t->account_failures = 0;
	t->exempt_count = rl_net_parse_list(nets, &t->exempt, bad,
					    sizeof(bad));
	if (t->exempt_count < 0) {
		host->core->log(mod, POSTINO_LOG_ERROR, NULL,
			  "[ratelimit] throttle_exempt: bad network '%s'",
			  bad);
		goto invalid;
	}
	*throttle_r = t;
	return 0;
invalid:
	free(t);
	return -EINVAL;
}

void rl_throttle_free(struct rl_throttle **throttle)
{
	struct rl_throttle *t = *throttle;

	*throttle = NULL;
	if (t == NULL)
		return;
	/* A pending check holds the module loaded, so none is left at fini;
	 * should one be, it is answered rather than lost. */
	while (t->delays != NULL) {
		struct rl_delay *d = t->delays;

		t->delays = d->next;
		t->host->core->timer_stop(&d->timer);
		if (d->verdict == POSTINO_DEFER)
			t->host->policy->hook_reply(d->call, 454, RL_TEMPFAIL_TEXT);
		t->host->policy->hook_complete(d->call, d->verdict);
		free(d);
	}
	if (t->login_failures > 0)
		t->host->core->log(t->mod, POSTINO_LOG_INFO, NULL,
			     "fini login_failures=%" PRIu64
			     " logins_throttled=%" PRIu64 " logins_slowed=%"
			     PRIu64, t->login_failures, t->logins_throttled,
			     t->logins_slowed);
	free(t->exempt);
	free(t);
}
