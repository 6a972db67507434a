/* Login throttling; see rl_throttle.h, and rl_login.h for the rule.
 *
 * Records in memory, by table key:
 *   "ip:ADDR"       failures from a client address (rl_client_key)
 *   "account:NAME"  failures for an account name as given (lower-cased;
 *                   an unknown name counts like a real one, so nothing
 *                   is revealed) and the addresses they came from; once
 *                   needed, also the addresses that logged in to it
 * Each is persisted as the state entry "login:" + key, expiring when its
 * newest time leaves its window; an account's known addresses as
 * "login:known:NAME", expiring known_address_window after the newest
 * login. state_get does not see a state_put still on its way to disk, so
 * state is read only for a record that is not in memory: memory is the
 * truth while a record is there. A record dropped from memory (the least
 * recently used, over the bounds; or by the prune timer) has been written
 * already; read back at once it may miss its last write, which costs one
 * failure of accuracy, never unbounded memory. Names too long for a state
 * key (over 255 bytes with the prefix) are kept in memory only. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rl_login.h"
#include "rl_table.h"
#include "rl_throttle.h"
#include "rl_window.h"

#define RL_ENTRIES_MAX 65536          /* addresses + accounts in memory */
#define RL_UNITS_MAX (1u << 20)       /* their failure times, addresses */
#define RL_ACCOUNT_ADDRS_MAX 256      /* where an account's failures came
				       * from */
#define RL_KNOWN_MAX 32               /* addresses that logged in, per
				       * account */
#define RL_KNOWN_REFRESH_MS 3600000   /* a known address's time is
				       * written again at most hourly */
#define RL_STATE_KEY_MAX 255          /* the host's limit */
#define RL_NAME_MAX 320
#define RL_KEY_MAX (RL_NAME_MAX + 16)
#define RL_READ_FIRST 4096

#define RL_TEMPFAIL_TEXT "4.7.0 Temporary authentication failure"

struct rl_entry {
	struct rl_entry *prev, *next; /* least recently used first */
	char *key;
	int account;                  /* an "account:" record */
	struct rl_login rec;          /* failures (and where from) */
	struct rl_addrs known;        /* account: addresses that logged in */
	int known_loaded;
	size_t units;                 /* what it counts in t->units */
};

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
	struct rl_table entries;
	struct rl_entry *lru_first, *lru_last;
	size_t units;
	struct rl_delay *delays;
	/* For the metrics to come. */
	uint64_t login_failures, logins_throttled, logins_slowed, dropped,
		dropped_logged;
};

static void state_done(void *data, int status)
{
	struct rl_throttle *t = data;

	if (status != 0)
		t->host->core->log(t->mod, POSTINO_LOG_ERROR, NULL,
			     "saving login state failed: %s",
			     strerror(-status));
}

/* prefix + name as a state key; -1 when it is too long for one. */
static int state_key(char *out, size_t size, const char *prefix,
		     const char *name)
{
	int n = snprintf(out, size, "%s%s", prefix, name);

	return n > 0 && (size_t)n < size && n <= RL_STATE_KEY_MAX ? 0 : -1;
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

/* Writes rec as key, to expire when its newest time leaves window_ms. */
static void state_save(struct rl_throttle *t, const char *key,
		       const struct rl_login *rec, int64_t window_ms)
{
	int64_t newest = rl_login_newest(rec);
	size_t size = rl_login_format_size(rec);
	char *buf = malloc(size);
	int len = buf != NULL ? rl_login_format(rec, buf, size) : -1;

	if (len > 0 && newest > 0)
		t->host->policy->state_put(t->mod, key, buf, (size_t)len,
				   (newest + window_ms) / 1000 + 1,
				   state_done, t);
	else if (len < 0)
		t->host->core->log(t->mod, POSTINO_LOG_ERROR, NULL,
			     "cannot save %s: out of memory", key);
	free(buf);
}

/* ---- records in memory --------------------------------------------------------- */

static int64_t entry_window(const struct rl_throttle *t,
			    const struct rl_entry *e)
{
	return e->account ? t->account_window_ms : t->ip_window_ms;
}

static uint32_t entry_fails_cap(const struct rl_throttle *t, int account)
{
	return (uint32_t)(account ? t->account_failures : t->ip_failures);
}

/* Keeps t->units in step with what e holds. */
static void entry_count(struct rl_throttle *t, struct rl_entry *e)
{
	size_t units = 1 + e->rec.fails.n + e->rec.addrs.n + e->known.n;

	t->units = t->units - e->units + units;
	e->units = units;
}

/* Forgets what has left the windows at now. */
static void entry_prune(struct rl_throttle *t, struct rl_entry *e,
			int64_t now)
{
	int64_t window = entry_window(t, e);

	rl_fails_count(&e->rec.fails, now, window);
	rl_addrs_prune(&e->rec.addrs, now - window);
	rl_addrs_prune(&e->known, now - t->known_window_ms);
	entry_count(t, e);
}

static void lru_unlink(struct rl_throttle *t, struct rl_entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		t->lru_first = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		t->lru_last = e->prev;
	e->prev = e->next = NULL;
}

static void lru_append(struct rl_throttle *t, struct rl_entry *e)
{
	e->prev = t->lru_last;
	e->next = NULL;
	if (t->lru_last != NULL)
		t->lru_last->next = e;
	else
		t->lru_first = e;
	t->lru_last = e;
}

static void entry_free(struct rl_entry *e)
{
	rl_login_free(&e->rec);
	rl_addrs_free(&e->known);
	free(e->key);
	free(e);
}

/* Out of the table, the LRU list and the count (rl_table_sweep's drop). */
static void entry_drop(void *val, void *ctx)
{
	struct rl_entry *e = val;
	struct rl_throttle *t = ctx;

	lru_unlink(t, e);
	t->units -= e->units;
	entry_free(e);
}

/* Memory stays bounded however many addresses an attacker has: the least
 * recently used records go (their state is written already). */
static void entries_bound(struct rl_throttle *t, const struct rl_entry *keep)
{
	while ((t->entries.count > RL_ENTRIES_MAX || t->units > RL_UNITS_MAX) &&
	       t->lru_first != NULL && t->lru_first != keep) {
		struct rl_entry *e = t->lru_first;

		rl_table_take(&t->entries, e->key);
		entry_drop(e, t);
		t->dropped++;
	}
}

/* The record of key ("ip:ADDR" or "account:NAME"), pruned to now: from
 * memory, else from state; with create, a new empty one when there is
 * none. NULL when there is none, or out of memory. */
static struct rl_entry *entry_get(struct rl_throttle *t, const char *key,
				  int account, int64_t now, int create)
{
	struct rl_entry *e = rl_table_get(&t->entries, key);
	char skey[RL_STATE_KEY_MAX + 1], *buf;
	size_t len;

	if (e != NULL) {
		lru_unlink(t, e);
		lru_append(t, e);
		entry_prune(t, e, now);
		return e;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	e->account = account;
	if (state_key(skey, sizeof(skey), "login:", key) == 0 &&
	    state_read(t, skey, &buf, &len) == 0) {
		if (rl_login_parse(&e->rec, buf, len,
				   entry_fails_cap(t, account),
				   account ? RL_ACCOUNT_ADDRS_MAX : 0) < 0)
			t->host->core->log(t->mod, POSTINO_LOG_WARNING, NULL,
				     "ignoring a malformed %s", skey);
		free(buf);
		rl_fails_count(&e->rec.fails, now, entry_window(t, e));
		rl_addrs_prune(&e->rec.addrs, now - entry_window(t, e));
	}
	if ((!create && e->rec.fails.n == 0 && e->rec.addrs.n == 0) ||
	    (e->key = strdup(key)) == NULL ||
	    rl_table_put(&t->entries, key, e) < 0) {
		entry_free(e);
		return NULL;
	}
	lru_append(t, e);
	entry_count(t, e);
	entries_bound(t, e);
	return e;
}

static void entry_save(struct rl_throttle *t, const struct rl_entry *e)
{
	char skey[RL_STATE_KEY_MAX + 1];

	if (state_key(skey, sizeof(skey), "login:", e->key) == 0)
		state_save(t, skey, &e->rec, entry_window(t, e));
}

/* The account's known addresses, read from state the first time. */
static void known_load(struct rl_throttle *t, struct rl_entry *e,
		       const char *account, int64_t now)
{
	char skey[RL_STATE_KEY_MAX + 1], *buf;
	size_t len;
	struct rl_login rec = { 0 };

	if (e->known_loaded)
		return;
	e->known_loaded = 1;
	if (state_key(skey, sizeof(skey), "login:known:", account) < 0 ||
	    state_read(t, skey, &buf, &len) < 0)
		return;
	if (rl_login_parse(&rec, buf, len, 0, RL_KNOWN_MAX) < 0)
		t->host->core->log(t->mod, POSTINO_LOG_WARNING, NULL,
			     "ignoring a malformed %s", skey);
	free(buf);
	rl_addrs_free(&e->known);
	e->known = rec.addrs;
	rl_addrs_prune(&e->known, now - t->known_window_ms);
	entry_count(t, e);
	entries_bound(t, e);
}

/* addr logged in to account: from now on the account limit never refuses
 * or slows it (for known_address_window). */
static void known_add(struct rl_throttle *t, const char *account,
		      const char *addr, int64_t now)
{
	char key[RL_KEY_MAX], skey[RL_STATE_KEY_MAX + 1];
	struct rl_entry *e;

	snprintf(key, sizeof(key), "account:%s", account);
	e = entry_get(t, key, 1, now, 1);
	if (e == NULL)
		return;
	known_load(t, e, account, now);
	int64_t last = rl_addrs_time(&e->known, addr);

	if (rl_addrs_touch(&e->known, addr, now, RL_KNOWN_MAX) < 0)
		return;
	entry_count(t, e);
	if (last != 0 && now - last < RL_KNOWN_REFRESH_MS)
		return;
	struct rl_login rec = { .addrs = e->known };

	if (state_key(skey, sizeof(skey), "login:known:", account) == 0)
		state_save(t, skey, &rec, t->known_window_ms);
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
	struct rl_entry *e;

	if (exempt(t, ev->client_ip))
		return POSTINO_CONTINUE;
	rl_client_key(ev->client_ip, addr);
	if (ev->client_ip != NULL && f.ip_limit > 0) {
		snprintf(key, sizeof(key), "ip:%s", addr);
		e = entry_get(t, key, 0, now, 0);
		f.ip_failures = e != NULL ? e->rec.fails.n : 0;
	}
	if (have_account && f.account_limit > 0) {
		snprintf(key, sizeof(key), "account:%s", account);
		e = entry_get(t, key, 1, now, 0);
		if (e != NULL) {
			f.account_failures = e->rec.fails.n;
			f.failed_here = ev->client_ip != NULL &&
					rl_addrs_time(&e->rec.addrs, addr) > 0;
		}
		/* The known addresses matter only under attack. */
		if (e != NULL && f.account_failures >= f.account_limit &&
		    t->known_window_ms > 0 && ev->client_ip != NULL) {
			known_load(t, e, account, now);
			f.known = rl_addrs_time(&e->known, addr) > 0;
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
	struct rl_entry *e;

	(void)call;
	if (exempt(t, ev->client_ip))
		return POSTINO_CONTINUE;
	rl_client_key(ev->client_ip, addr);
	if (ev->auth_success) {
		if (have_account && ev->client_ip != NULL &&
		    t->account_failures > 0 && t->known_window_ms > 0)
			known_add(t, account, addr, now);
		return POSTINO_CONTINUE;
	}
	t->login_failures++;
	if (ev->client_ip != NULL && t->ip_failures > 0) {
		snprintf(key, sizeof(key), "ip:%s", addr);
		e = entry_get(t, key, 0, now, 1);
		if (e != NULL &&
		    rl_fails_add(&e->rec.fails, now, t->ip_window_ms,
				 entry_fails_cap(t, 0)) == 0) {
			entry_count(t, e);
			entry_save(t, e);
		}
	}
	if (have_account && t->account_failures > 0) {
		snprintf(key, sizeof(key), "account:%s", account);
		e = entry_get(t, key, 1, now, 1);
		if (e == NULL ||
		    rl_fails_add(&e->rec.fails, now, t->account_window_ms,
				 entry_fails_cap(t, 1)) < 0 ||
		    (ev->client_ip != NULL &&
		     rl_addrs_touch(&e->rec.addrs, addr, now,
				    RL_ACCOUNT_ADDRS_MAX) < 0))
			return POSTINO_CONTINUE;
		entry_count(t, e);
		entries_bound(t, e);
		entry_save(t, e);
	}
	return POSTINO_CONTINUE;
}

/* ---- pruning, set-up ------------------------------------------------------------ */

static int entry_keep(void *val, void *ctx)
{
	struct rl_entry *e = val;
	struct rl_throttle *t = ctx;

	entry_prune(t, e, t->host->core->now_ms());
	return e->rec.fails.n > 0 || e->rec.addrs.n > 0;
}

void rl_throttle_prune(struct rl_throttle *t)
{
	rl_table_sweep(&t->entries, entry_keep, entry_drop, t);
	if (t->dropped > t->dropped_logged) {
		t->host->core->log(t->mod, POSTINO_LOG_WARNING, NULL,
			     "login records over the memory bound: %" PRIu64
			     " least recently used dropped from memory",
			     t->dropped - t->dropped_logged);
		t->dropped_logged = t->dropped;
	}
}

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
	rl_table_sweep(&t->entries, NULL, entry_drop, t);
	free(t->exempt);
	free(t);
}
