/* ratelimit.so: a sending limit per authenticated account (sliding
 * window, operator overrides) and login-failure throttling per client IP
 * and per account. Built only against plugins-api/ (postino/plugin.h):
 * it is the example of an out-of-tree module (README).
 *
 * Send limit: SMTP_RCPT_TO checks used (committed, in the window) + the
 * recipients already accepted in this transaction (the event's
 * rcpt_count, which the SMTP module resets on RSET and MAIL FROM) + 1
 * against the limit; SMTP_DATA_END commits. The history is the state
 * entry "sent:<account>", the one truth every worker's instance shares:
 * read with state_get at each check, counted with state_update (atomic
 * across workers), so sends spread over workers meet one limit.
 * Overrides ("limit:<address>", "limit:@<domain>") and resets
 * ("reset:<address>", the time of the reset) are read with state_get at
 * each check too, so the daemon sees what `postino ratelimit ...`
 * changed at once.
 *
 * Login throttling (the AUTH_BEFORE_VERIFY and AUTH_RESULT hooks) is
 * rl_throttle.c's. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <postino/plugin.h>

#include "rl_throttle.h"
#include "rl_window.h"

#define RL_ADDRESS_MAX 320
#define RL_VALUE_MAX 16384      /* a serialised window: ~260 buckets */

/* ---- the module's data ---------------------------------------------------------- */

struct rl {
	postino_mod *mod;
	const struct postino_host *host;
	int64_t limit;     /* default limit; -1 unlimited */
	int64_t window;    /* seconds */
	int64_t gran;      /* bucket seconds */
	int count_messages;
	int lang_it;
	struct rl_throttle *throttle;
	/* For the metrics to come (this instance's). */
	uint64_t sends_deferred, sends_counted;
};

static int64_t now_s(const struct rl *r)
{
	return r->host->core->now_ms() / 1000;
}

static void state_done(void *data, int status)
{
	struct rl *r = data;

	if (status != 0)
		r->host->core->log(r->mod, POSTINO_LOG_ERROR, NULL,
			     "saving state failed: %s", strerror(-status));
}

/* A state value as a NUL-terminated string; -ENOENT when absent. */
static int state_string(struct rl *r, const char *key, char *buf, size_t len)
{
	size_t got = 0;
	int ret = r->host->policy->state_get(r->mod, key, buf, len - 1, &got);

	if (ret < 0)
		return ret;
	buf[got < len - 1 ? got : len - 1] = '\0';
	return 0;
}

/* "unlimited" -> -1, a decimal -> itself, else -EINVAL. */
static int parse_limit(const char *text, int64_t *limit)
{
	char *end;

	if (strcmp(text, "unlimited") == 0) {
		*limit = -1;
		return 0;
	}
	if (!isdigit((unsigned char)text[0]))
		return -EINVAL;
	errno = 0;
	long long v = strtoll(text, &end, 10);

	if (errno != 0 || *end != '\0' || v > INT32_MAX)
		return -EINVAL;
	*limit = v;
	return 0;
}

/* The limit in force for account (lower-cased): account override, domain
 * override, config. *source_r says which. */
static int64_t limit_for(struct rl *r, const char *account,
			 const char **source_r)
{
	char key[RL_ADDRESS_MAX + 16], value[32];
	const char *at = strrchr(account, '@');
	int64_t limit;

	snprintf(key, sizeof(key), "limit:%s", account);
	if (state_string(r, key, value, sizeof(value)) == 0 &&
	    parse_limit(value, &limit) == 0) {
		*source_r = "account override";
		return limit;
	}
	if (at != NULL) {
		snprintf(key, sizeof(key), "limit:%s", at);
		if (state_string(r, key, value, sizeof(value)) == 0 &&
		    parse_limit(value, &limit) == 0) {
			*source_r = "domain override";
			return limit;
		}
	}
	*source_r = "config";
	return r->limit;
}

/* The time of the last `postino ratelimit reset` of account, or 0. */
static int64_t reset_time(struct rl *r, const char *account)
{
	char key[RL_ADDRESS_MAX + 16], value[32];

	snprintf(key, sizeof(key), "reset:%s", account);
	if (state_string(r, key, value, sizeof(value)) < 0)
		return 0;
	return strtoll(value, NULL, 10);
}

/* A stored window as of now: parsed, what a reset dropped gone, pruned. */
static void window_load(struct rl *r, struct rl_window *w, const void *value,
			size_t len, int64_t reset, int64_t now, const char *key)
{
	if (value != NULL && rl_window_parse(w, value, len) < 0)
		r->host->core->log(r->mod, POSTINO_LOG_WARNING, NULL,
				   "ignoring a malformed %s", key);
	if (reset > 0)
		rl_window_drop_until(w, reset);
	rl_window_prune(w, now, r->window, r->gran);
}

/* The account's history as the node has it now, into w (empty when
 * none). 0, or -ENOMEM. */
static int window_read(struct rl *r, const char *account, int64_t now,
		       struct rl_window *w)
{
	char key[RL_ADDRESS_MAX + 16];
	char *buf = malloc(RL_VALUE_MAX);
	size_t len = 0;

	if (buf == NULL)
		return -ENOMEM;
	snprintf(key, sizeof(key), "sent:%s", account);
	int found = r->host->policy->state_get(r->mod, key, buf, RL_VALUE_MAX,
					       &len) == 0;
	window_load(r, w, found ? buf : NULL,
		    len < RL_VALUE_MAX ? len : RL_VALUE_MAX,
		    reset_time(r, account), now, key);
	free(buf);
	return 0;
}

/* state_update's step for counting n sends: the stored window, plus n
 * now, written back to expire when its newest bucket leaves. */
struct window_add {
	struct rl *r;
	const char *key;
	int64_t now, reset;
	uint32_t n;
	int failed;
};

static int window_add_step(void *data, const void *old, size_t old_len,
			   void *buf, size_t bufsize, size_t *len_r,
			   int64_t *expires_at_r)
{
	struct window_add *a = data;
	struct rl *r = a->r;
	struct rl_window w = { 0 };
	int len = -1;

	window_load(r, &w, old, old_len, a->reset, a->now, a->key);
	/* Every reader drops the buckets that began at or before the last
	 * reset: sends made since go into the first bucket after it (at
	 * most a bucket later than now, so they count a little longer,
	 * never less). */
	int64_t at = a->now;
	if (a->reset > 0 && a->reset >= at - at % r->gran)
		at = (a->reset / r->gran + 1) * r->gran;
	if (rl_window_add(&w, at, r->gran, a->n) == 0)
		len = rl_window_format(&w, buf, bufsize);
	if (len > 0) {
		*len_r = (size_t)len;
		*expires_at_r = rl_window_newest(&w) + r->gran + r->window;
	}
	rl_window_free(&w);
	a->failed = len <= 0;
	return len > 0 ? 1 : 0;
}

/* ---- the send limit -------------------------------------------------------------- */

static enum postino_verdict rl_rcpt_to(postino_hook_call *call,
				       const struct postino_hook_event *ev,
				       void *data)
{
	struct rl *r = data;
	char account[RL_ADDRESS_MAX];
	const char *source;

	if (ev->account == NULL || ev->rcpt_to == NULL ||
	    rl_lower_copy(account, sizeof(account), ev->account) < 0)
		return POSTINO_CONTINUE;
	int64_t limit = limit_for(r, account, &source);

	if (limit < 0)
		return POSTINO_CONTINUE;
	int64_t now = now_s(r);
	struct rl_window w = { 0 };

	if (window_read(r, account, now, &w) < 0) {
		r->host->core->log(r->mod, POSTINO_LOG_ERROR, ev->session_id,
			     "out of memory: %s not limited", account);
		return POSTINO_CONTINUE;
	}
	uint64_t used = rl_window_used(&w, now, r->window, r->gran);
	uint64_t pending = r->count_messages ? 0 : ev->rcpt_count;

	if (used + pending + 1 <= (uint64_t)limit) {
		rl_window_free(&w);
		return POSTINO_CONTINUE;
	}

	uint64_t excess = used + pending + 1 - (uint64_t)limit;
	int64_t at = rl_window_free_at(&w, now, r->window, r->gran, excess);
	char hhmm[6];

	rl_window_free(&w);

	rl_hhmm(at, hhmm);
	r->sends_deferred++;
	r->host->core->log(r->mod, POSTINO_LOG_WARNING, ev->session_id,
		     "send limit hit: account=%s ip=%s used=%" PRIu64
		     " pending=%" PRIu64 " limit=%" PRId64 " (%s) rcpt=<%s>"
		     " free_at=%s", account,
		     ev->client_ip != NULL ? ev->client_ip : "-", used,
		     pending, limit, source, ev->rcpt_to, hhmm);
	if (r->lang_it)
		r->host->policy->hook_reply(call, 450, "4.7.1 Limite di %" PRId64
				    " invii/ora superato; riprovare dopo "
				    "le %s", limit, hhmm);
	else
		r->host->policy->hook_reply(call, 450, "4.7.1 Sending limit of %"
				    PRId64 " messages per hour exceeded; try "
				    "again after %s", limit, hhmm);
	return POSTINO_DEFER;
}

static enum postino_verdict rl_data_end(postino_hook_call *call,
					const struct postino_hook_event *ev,
					void *data)
{
	struct rl *r = data;
	char account[RL_ADDRESS_MAX];

	(void)call;
	if (ev->account == NULL ||
	    !POSTINO_HAS_FIELD(ev, struct postino_hook_event, rcpt_count) ||
	    rl_lower_copy(account, sizeof(account), ev->account) < 0)
		return POSTINO_CONTINUE;
	uint32_t n = r->count_messages ? 1 : ev->rcpt_count;
	char key[RL_ADDRESS_MAX + 16];

	if (n == 0)
		return POSTINO_CONTINUE;
	snprintf(key, sizeof(key), "sent:%s", account);
	struct window_add add = {
		.r = r, .key = key, .now = now_s(r),
		.reset = reset_time(r, account), .n = n,
	};
	/* Atomic across workers: two sends of one account on two workers
	 * both count. */
	int ret = r->host->policy->state_update(r->mod, key, window_add_step,
						&add, state_done, r);
	if (ret < -1 || add.failed)
		r->host->core->log(r->mod, POSTINO_LOG_ERROR, ev->session_id,
				   "cannot count %u sends of %s: %s", n,
				   account, ret < -1 ? strerror(-ret)
						     : "out of memory");
	else
		r->sends_counted += n;
	return POSTINO_CONTINUE;
}

/* ---- admin commands ----------------------------------------------------------- */

static void iso_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "-");
}

static int cmd_set(void *data, int argc, char **argv, FILE *out, FILE *err)
{
	struct rl *r = data;
	char target[RL_ADDRESS_MAX], key[RL_ADDRESS_MAX + 16];
	int64_t limit;

	if (argc != 3 || rl_lower_copy(target, sizeof(target), argv[1]) < 0) {
		fprintf(err, "usage: postino ratelimit set ADDRESS|DOMAIN "
			"LIMIT|unlimited|default\n");
		return 64;
	}
	if (strchr(target, '@') != NULL)
		snprintf(key, sizeof(key), "limit:%s", target);
	else
		snprintf(key, sizeof(key), "limit:@%s", target);
	if (strcmp(argv[2], "default") == 0) {
		int ret = r->host->policy->state_delete(r->mod, key, NULL, NULL);

		if (ret < 0 && ret != -ENOENT) {
			fprintf(err, "postino: ratelimit: %s\n",
				strerror(-ret));
			return 74;
		}
		fprintf(out, "%s: override removed\n", target);
		return 0;
	}
	if (parse_limit(argv[2], &limit) < 0) {
		fprintf(err, "postino: ratelimit: bad limit '%s': a number, "
			"unlimited or default\n", argv[2]);
		return 65;
	}
	int ret = r->host->policy->state_put(r->mod, key, argv[2], strlen(argv[2]), 0,
				     NULL, NULL);
	if (ret < 0) {
		fprintf(err, "postino: ratelimit: %s\n", strerror(-ret));
		return 74;
	}
	fprintf(out, "%s: limit %s\n", target, argv[2]);
	return 0;
}

static int cmd_show(void *data, int argc, char **argv, FILE *out, FILE *err)
{
	struct rl *r = data;
	char account[RL_ADDRESS_MAX], when[40];
	const char *source;

	if (argc != 2 || rl_lower_copy(account, sizeof(account), argv[1]) < 0 ||
	    strchr(account, '@') == NULL) {
		fprintf(err, "usage: postino ratelimit show ADDRESS\n");
		return 64;
	}
	int64_t limit = limit_for(r, account, &source);
	int64_t now = now_s(r);
	struct rl_window w = { 0 };

	if (window_read(r, account, now, &w) < 0) {
		fprintf(err, "postino: ratelimit: out of memory\n");
		return 71;
	}
	uint64_t used = rl_window_used(&w, now, r->window, r->gran);
	int64_t oldest = rl_window_oldest_leaves(&w, now, r->window, r->gran);

	rl_window_free(&w);

	fprintf(out, "address: %s\n", account);
	if (limit < 0)
		fprintf(out, "limit: unlimited (%s)\n", source);
	else
		fprintf(out, "limit: %" PRId64 " (%s)\n", limit, source);
	fprintf(out, "window: %" PRId64 "s\n", r->window);
	fprintf(out, "count: %s\n", r->count_messages ? "messages"
						      : "recipients");
	fprintf(out, "used: %" PRIu64 "\n", used);
	if (limit < 0)
		fprintf(out, "remaining: unlimited\n");
	else
		fprintf(out, "remaining: %" PRIu64 "\n",
			used >= (uint64_t)limit ? 0 : (uint64_t)limit - used);
	if (oldest > 0)
		iso_time(oldest, when, sizeof(when));
	else
		snprintf(when, sizeof(when), "-");
	fprintf(out, "oldest leaves: %s\n", when);
	return 0;
}

static int cmd_reset(void *data, int argc, char **argv, FILE *out, FILE *err)
{
	struct rl *r = data;
	char account[RL_ADDRESS_MAX], key[RL_ADDRESS_MAX + 16], value[32];
	int64_t now = now_s(r);

	if (argc != 2 || rl_lower_copy(account, sizeof(account), argv[1]) < 0 ||
	    strchr(account, '@') == NULL) {
		fprintf(err, "usage: postino ratelimit reset ADDRESS\n");
		return 64;
	}
	/* A count the daemon is still writing would bring the old events
	 * back: every reader drops what is older than this mark. */
	int len = snprintf(value, sizeof(value), "%" PRId64, now);

	snprintf(key, sizeof(key), "reset:%s", account);
	int ret = r->host->policy->state_put(r->mod, key, value, (size_t)len,
				     now + r->window + r->gran + 60, NULL,
				     NULL);
	if (ret == 0) {
		snprintf(key, sizeof(key), "sent:%s", account);
		ret = r->host->policy->state_delete(r->mod, key, NULL, NULL);
		if (ret == -ENOENT)
			ret = 0;
	}
	if (ret < 0) {
		fprintf(err, "postino: ratelimit: %s\n", strerror(-ret));
		return 74;
	}
	fprintf(out, "%s: count reset\n", account);
	return 0;
}

/* ---- init and fini ------------------------------------------------------------- */

static void rl_free(struct rl *r)
{
	rl_throttle_free(&r->throttle);
	free(r);
}

static int rl_config(postino_mod *mod, const struct postino_host *host,
		     struct rl *r)
{
	const char *count = host->core->config_string(mod, "count");
	const char *lang = host->core->config_string(mod, "lang");

	r->limit = host->core->config_number(mod, "limit");
	r->window = host->core->config_number(mod, "window");
	if (r->limit < 0 || r->limit > INT32_MAX) {
		host->core->log(mod, POSTINO_LOG_ERROR, NULL,
			  "[ratelimit] limit must be 0..%d", INT32_MAX);
		return -EINVAL;
	}
	if (r->window <= 0) {
		host->core->log(mod, POSTINO_LOG_ERROR, NULL,
			  "[ratelimit] window must be positive");
		return -EINVAL;
	}
	r->gran = rl_gran(r->window);
	if (count == NULL || (strcmp(count, "recipients") != 0 &&
			      strcmp(count, "messages") != 0)) {
		host->core->log(mod, POSTINO_LOG_ERROR, NULL,
			  "[ratelimit] count must be recipients or messages");
		return -EINVAL;
	}
	r->count_messages = strcmp(count, "messages") == 0;
	if (lang == NULL || (strcmp(lang, "en") != 0 &&
			     strcmp(lang, "it") != 0)) {
		host->core->log(mod, POSTINO_LOG_ERROR, NULL,
			  "[ratelimit] lang must be en or it");
		return -EINVAL;
	}
	r->lang_it = strcmp(lang, "it") == 0;
	return rl_throttle_new(mod, host, &r->throttle);
}

static int rl_init(postino_mod *mod, const struct postino_host *host,
		   void **data_r)
{
	struct rl *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return -ENOMEM;
	r->mod = mod;
	r->host = host;
	int ret = rl_config(mod, host, r);

	if (ret < 0) {
		rl_free(r);
		return ret;
	}
	host->policy->hook_register(mod, POSTINO_HOOK_SMTP_RCPT_TO, rl_rcpt_to, r);
	host->policy->hook_register(mod, POSTINO_HOOK_SMTP_DATA_END, rl_data_end, r);
	host->policy->hook_register(mod, POSTINO_HOOK_AUTH_BEFORE_VERIFY,
			    rl_throttle_before, r->throttle);
	host->policy->hook_register(mod, POSTINO_HOOK_AUTH_RESULT, rl_throttle_result,
			    r->throttle);
	host->policy->admin_register(mod, "set", "ADDRESS|DOMAIN LIMIT|unlimited|default",
			     cmd_set, r);
	host->policy->admin_register(mod, "show", "ADDRESS", cmd_show, r);
	host->policy->admin_register(mod, "reset", "ADDRESS", cmd_reset, r);
	/* Nothing to prune: the state is the only copy, and its entries
	 * expire. */
	*data_r = r;
	return 0;
}

static void rl_fini(postino_mod *mod, void *data)
{
	struct rl *r = data;

	if (r->sends_counted || r->sends_deferred)
		r->host->core->log(mod, POSTINO_LOG_INFO, NULL,
			     "fini sends_counted=%" PRIu64 " sends_deferred=%"
			     PRIu64, r->sends_counted, r->sends_deferred);
	rl_free(r);
}

static const struct postino_config_key rl_keys[] = {
	{ "limit", POSTINO_CONFIG_INT, "100",
	  "recipients (or messages) an account may send per window" },
	{ "window", POSTINO_CONFIG_DURATION, "1h",
	  "the sliding window of the send limit" },
	{ "count", POSTINO_CONFIG_STRING, "recipients",
	  "recipients: each recipient counts; messages: each message once" },
	{ "lang", POSTINO_CONFIG_STRING, "en",
	  "language of the 450 reply: en or it" },
	{ "ip_failures", POSTINO_CONFIG_INT, "10",
	  "login failures per client IP before throttling (0: off)" },
	{ "ip_window", POSTINO_CONFIG_DURATION, "10m",
	  "window of ip_failures" },
	{ "account_failures", POSTINO_CONFIG_INT, "20",
	  "login failures per account, from any IP, that put it under attack: "
	  "addresses that failed for it are refused, others slowed (0: off)" },
	{ "account_window", POSTINO_CONFIG_DURATION, "10m",
	  "window of account_failures" },
	{ "known_address_window", POSTINO_CONFIG_DURATION, "30d",
	  "an address that logged in to an account within this time is never "
	  "refused or slowed by the account limit (0: no such addresses)" },
	{ "throttle_delay", POSTINO_CONFIG_DURATION, "2s",
	  "a throttled login is refused (a slowed one checked) after this "
	  "delay (at most 10s: a shutdown waits for it)" },
	{ "throttle_exempt", POSTINO_CONFIG_STRING, "",
	  "comma-separated networks (CIDR) never throttled" },
	{ NULL, 0, NULL, NULL },
};

POSTINO_EXPORT const struct postino_module postino_module_v1 = {
	POSTINO_MODULE_HEADER,
	.name = "ratelimit",
	.version = "1.0.0",
	.description = "send limit per account and login-failure throttling",
	.config_keys = rl_keys,
	.init = rl_init,
	.fini = rl_fini,
};
