/* `postino pwpolicy ...`: campaigns, passes, reminders, reset tokens and
 * domain languages. These run inside the CLI process, where the host
 * completes every write before returning. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pw.h"

#define EX_USAGE 64
#define EX_DATAERR 65
#define EX_NOUSER 67
#define EX_UNAVAILABLE 69
#define EX_SOFTWARE 70
#define EX_IOERR 74
#define EX_NOPERM 77

/* "--at TIME" anywhere in argv is taken out; *at_r = now otherwise. */
static int take_at(struct pw *p, int *argc, char **argv, int64_t *at_r,
		   FILE *err)
{
	*at_r = p->host->core->now_ms() / 1000;
	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--at") != 0)
			continue;
		if (i + 1 >= *argc || pw_parse_time(argv[i + 1], at_r) < 0) {
			fprintf(err, "postino: pwpolicy: --at takes an ISO 8601 "
				"time, e.g. 2030-01-31T09:00:00Z\n");
			return EX_USAGE;
		}
		for (int j = i; j + 2 <= *argc; j++)
			argv[j] = argv[j + 2];
		*argc -= 2;
		break;
	}
	return 0;
}

static void lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}

static int known_account(struct pw *p, const char *address,
			 struct postino_account *a, FILE *err)
{
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	int ret = p->host->account->account_get(p->mod, address, a);
	if (ret == -ENOENT || ret == -EINVAL) {
		fprintf(err, "postino: pwpolicy: unknown user %s\n", address);
		return EX_NOUSER;
	}
	if (ret < 0) {
		fprintf(err, "postino: pwpolicy: %s: %s\n", address,
			strerror(-ret));
		return EX_IOERR;
	}
	return 0;
}

static void pass_done(void *data, int notices)
{
	*(int *)data = notices;
}

/* ---- campaign ----------------------------------------------------------- */

struct start_ctx {
	struct pw *p;
	int64_t at;
	int started, running;
	int failed;
};

static int start_one(void *data, const char *address)
{
	struct start_ctx *ctx = data;
	struct pw *p = ctx->p;
	struct postino_account a = { .size = sizeof(a) };
	char key[PW_KEY_MAX], value[PW_VALUE_MAX];

	if (p->host->account->account_get(p->mod, address, &a) < 0)
		return 0;
	snprintf(key, sizeof(key), "c:%s", a.address);
	if (pw_state_string(p, key, value, sizeof(value)) == 0) {
		ctx->running++;
		return 0;
	}
	struct pw_campaign c = { .start = ctx->at, .base = a.password_changed,
				 .step = PW_STEP_NONE };
	pw_campaign_format(&c, value, sizeof(value));
	if (p->host->policy->state_put(p->mod, key, value, strlen(value), 0, NULL,
			       NULL) < 0) {
		ctx->failed = 1;
		return 1;
	}
	p->host->core->log(p->mod, POSTINO_LOG_INFO, NULL,
		     "campaign started for %s", a.address);
	ctx->started++;
	return 0;
}

struct stop_ctx {
	struct pw *p;
	int stopped;
};

static int stop_one(void *data, const char *address)
{
	struct stop_ctx *ctx = data;
	char key[PW_KEY_MAX];

	snprintf(key, sizeof(key), "c:%s", address);
	if (ctx->p->host->policy->state_delete(ctx->p->mod, key, NULL, NULL) == 0)
		ctx->stopped++;
	return 0;
}

/* The scope of a campaign command: ADDRESS, --domain D, or everyone. */
static int scope(int argc, char **argv, const char **only_r)
{
	*only_r = NULL;
	if (argc == 2)
		return 0;
	if (argc == 3 && argv[2][0] != '-' && strchr(argv[2], '@') != NULL) {
		lower(argv[2]);
		*only_r = argv[2];
		return 0;
	}
	if (argc == 4 && strcmp(argv[2], "--domain") == 0 &&
	    strchr(argv[3], '@') == NULL) {
		lower(argv[3]);
		*only_r = argv[3];
		return 0;
	}
	return -EINVAL;
}

struct addr_list {
	char **items;
	size_t count, cap;
};

static int collect_one(void *data, const char *address)
{
	struct addr_list *l = data;

	if (l->count == l->cap) {
		size_t cap = l->cap > 0 ? l->cap * 2 : 64;
		char **grown = realloc(l->items, cap * sizeof(char *));
		if (grown == NULL)
			return -ENOMEM;
		l->items = grown;
		l->cap = cap;
	}
	if ((l->items[l->count] = strdup(address)) == NULL)
		return -ENOMEM;
	l->count++;
	return 0;
}

static int walk(struct pw *p, const char *only,
		int (*cb)(void *data, const char *address), void *data,
		FILE *err)
{
	struct postino_account a;
	int ret;

	if (only != NULL && strchr(only, '@') != NULL) {
		if ((ret = known_account(p, only, &a, err)) != 0)
			return ret;
		cb(data, a.address);
		return 0;
	}
	/* Collected first: cb writes, and the list's statement must not be
	 * open meanwhile. */
	struct addr_list l = { 0 };
	ret = p->host->account->account_list(p->mod, only, collect_one, &l);
	for (size_t i = 0; ret >= 0 && i < l.count; i++)
		if (cb(data, l.items[i]) != 0)
			break;
	for (size_t i = 0; i < l.count; i++)
		free(l.items[i]);
	free(l.items);
	if (ret == -ENOENT) {
		fprintf(err, "postino: pwpolicy: unknown domain %s\n", only);
		return EX_NOUSER;
	}
	if (ret < 0) {
		fprintf(err, "postino: pwpolicy: %s\n", strerror(-ret));
		return EX_IOERR;
	}
	return 0;
}

static const char *const step_names[PW_STEP_COUNT] = {
	"notice", "first reminder", "second reminder", "last notice",
	"forced change",
};

static int campaign_status(struct pw *p, const char *address, FILE *out,
			   FILE *err)
{
	struct postino_account a;
	char key[PW_KEY_MAX], value[PW_VALUE_MAX], when[16];
	struct pw_campaign c;
	struct pw_reminder r;
	int ret = known_account(p, address, &a, err);

	if (ret != 0)
		return ret;
	snprintf(key, sizeof(key), "c:%s", a.address);
	if (pw_state_string(p, key, value, sizeof(value)) == 0 &&
	    pw_campaign_parse(value, &c) == 0) {
		pw_format_date(c.start, when, sizeof(when));
		fprintf(out, "campaign: started %s, done: %s\n", when,
			c.step >= 0 ? step_names[c.step] : "nothing yet");
		if (c.step + 1 < PW_STEP_COUNT) {
			pw_format_date(c.start + p->schedule.offset[c.step + 1],
				       when, sizeof(when));
			fprintf(out, "next: %s on %s\n", step_names[c.step + 1],
				when);
		}
	} else {
		fprintf(out, "campaign: none\n");
	}
	snprintf(key, sizeof(key), "r:%s", a.address);
	if (pw_state_string(p, key, value, sizeof(value)) == 0 &&
	    pw_reminder_parse(value, &r) == 0) {
		int64_t from = r.last > a.password_changed ? r.last
							   : a.password_changed;
		pw_format_date(from + r.every, when, sizeof(when));
		fprintf(out, "reminder: every %" PRId64 "d, next %s\n",
			r.every / 86400, when);
	} else {
		fprintf(out, "reminder: off\n");
	}
	fprintf(out, "secondary: %s\n", a.secondary[0] ? a.secondary : "-");
	fprintf(out, "lang: %s\n", pw_lang_for(p, a.address, a.lang));
	return 0;
}

static int cmd_campaign(void *data, int argc, char **argv, FILE *out,
			FILE *err)
{
	struct pw *p = data;
	const char *only;
	int64_t at;
	int code = take_at(p, &argc, argv, &at, err);

	if (code != 0)
		return code;
	if (argc == 3 && strcmp(argv[1], "status") == 0) {
		lower(argv[2]);
		return campaign_status(p, argv[2], out, err);
	}
	if (argc < 2 || (strcmp(argv[1], "start") != 0 &&
			 strcmp(argv[1], "stop") != 0) ||
	    scope(argc, argv, &only) < 0) {
		fprintf(err, "usage: postino pwpolicy campaign start|stop "
			"[--domain DOMAIN | ADDRESS] [--at TIME]\n"
			"       postino pwpolicy campaign status ADDRESS\n");
		return EX_USAGE;
	}
	if (strcmp(argv[1], "stop") == 0) {
		struct stop_ctx ctx = { .p = p };
		if ((code = walk(p, only, stop_one, &ctx, err)) != 0)
			return code;
		fprintf(out, "campaign stopped for %d accounts\n", ctx.stopped);
		return 0;
	}
	struct start_ctx ctx = { .p = p, .at = at };
	if ((code = walk(p, only, start_one, &ctx, err)) != 0)
		return code;
	if (ctx.failed) {
		fprintf(err, "postino: pwpolicy: cannot save the campaign\n");
		return EX_IOERR;
	}
	/* The day-0 notices go out now rather than at the next pass. */
	int notices = 0;
	int ret = pw_pass_start(p, at, only, pass_done, &notices);
	if (ret < 0) {
		fprintf(err, "postino: pwpolicy: %s\n", strerror(-ret));
		return EX_IOERR;
	}
	fprintf(out, "campaign started for %d accounts (%d already in one); "
		"%d notices sent\n", ctx.started, ctx.running, notices);
	return 0;
}

/* ---- tick --------------------------------------------------------------- */

static int cmd_tick(void *data, int argc, char **argv, FILE *out, FILE *err)
{
	struct pw *p = data;
	char when[16];
	int64_t at;
	int notices = 0;
	int code = take_at(p, &argc, argv, &at, err);

	if (code != 0)
		return code;
	if (argc != 1) {
		fprintf(err, "usage: postino pwpolicy tick [--at TIME]\n");
		return EX_USAGE;
	}
	int ret = pw_pass_start(p, at, NULL, pass_done, &notices);
	if (ret < 0) {
		fprintf(err, "postino: pwpolicy: %s\n", strerror(-ret));
		return EX_IOERR;
	}
	pw_format_date(at, when, sizeof(when));
	fprintf(out, "pass as of %s: %d notices\n", when, notices);
	return 0;
}

/* ---- reminder ----------------------------------------------------------- */

/* "90d", "12h", "30m", "3600s", "3600" -> seconds. */
static int parse_every(const char *text, int64_t *s_r)
{
	char *end;
	long long n = strtoll(text, &end, 10);
	int64_t unit = 1;

	if (end == text || n <= 0)
		return -EINVAL;
	switch (*end) {
	case 'd': unit = 86400; end++; break;
	case 'h': unit = 3600; end++; break;
	case 'm': unit = 60; end++; break;
	case 's': end++; break;
	default: break;
	}
	if (*end != '\0' || n > INT32_MAX)
		return -EINVAL;
	*s_r = n * unit;
	return 0;
}

static int cmd_reminder(void *data, int argc, char **argv, FILE *out,
			FILE *err)
{
	struct pw *p = data;
	struct postino_account a;
	char key[PW_KEY_MAX], value[PW_VALUE_MAX];
	struct pw_reminder r = { 0 };
	int code;

	if (argc != 4 || strcmp(argv[2], "--every") != 0 ||
	    (strcmp(argv[3], "off") != 0 && parse_every(argv[3], &r.every))) {
		fprintf(err, "usage: postino pwpolicy reminder ADDRESS "
			"--every 90d|off\n");
		return EX_USAGE;
	}
	lower(argv[1]);
	if ((code = known_account(p, argv[1], &a, err)) != 0)
		return code;
	snprintf(key, sizeof(key), "r:%s", a.address);
	int ret;
	if (strcmp(argv[3], "off") == 0) {
		ret = p->host->policy->state_delete(p->mod, key, NULL, NULL);
		if (ret == -ENOENT)
			ret = 0;
	} else {
		pw_reminder_format(&r, value, sizeof(value));
		ret = p->host->policy->state_put(p->mod, key, value, strlen(value), 0,
					 NULL, NULL);
	}
	if (ret < 0) {
		fprintf(err, "postino: pwpolicy: %s\n", strerror(-ret));
		return EX_IOERR;
	}
	fprintf(out, "%s: reminder %s%s\n", a.address,
		strcmp(argv[3], "off") == 0 ? "off" : "every ",
		strcmp(argv[3], "off") == 0 ? "" : argv[3]);
	return 0;
}

/* ---- reset -------------------------------------------------------------- */

static void status_done(void *data, int status)
{
	*(int *)data = status;
}

static int cmd_reset_request(void *data, int argc, char **argv, FILE *out,
			     FILE *err)
{
	struct pw *p = data;
	struct postino_account a;
	int64_t at;
	int status = 1;
	int code = take_at(p, &argc, argv, &at, err);

	if (code != 0)
		return code;
	if (argc != 2) {
		fprintf(err, "usage: postino pwpolicy reset-request ADDRESS\n");
		return EX_USAGE;
	}
	lower(argv[1]);
	if ((code = known_account(p, argv[1], &a, err)) != 0)
		return code;
	int ret = pw_token_issue(p, a.address, at, p->token_ttl, NULL, status_done,
				 &status);
	if (ret == -ENXIO) {
		fprintf(err, "postino: pwpolicy: %s has no secondary address: "
			"no token can be sent; the operator's manual reset "
			"procedure applies (postino user set %s --secondary "
			"ADDR sets one)\n", a.address, a.address);
		return EX_UNAVAILABLE;
	}
	if (ret < 0 || status != 0) {
		fprintf(err, "postino: pwpolicy: token not sent: %s\n",
			strerror(ret < 0 ? -ret : status < 0 ? -status : EIO));
		return EX_IOERR;
	}
	fprintf(out, "reset token for %s sent to %s (valid %" PRId64
		" minutes)\n", a.address, a.secondary, p->token_ttl / 60);
	return 0;
}

static void history_done(void *data, int status)
{
	*(int *)data = status;
}

static void hash_done(void *data, int status, const char *hash)
{
	char *out = data;

	if (status == 0)
		snprintf(out, 200, "%s", hash);
}

static int read_password(char *buf, size_t size)
{
	if (fgets(buf, (int)size, stdin) == NULL)
		return -1;
	size_t len = strcspn(buf, "\r\n");
	buf[len] = '\0';
	return len > 0 ? 0 : -1;
}

static int reset_apply(struct pw *p, const struct postino_account *a,
		       const char *password, FILE *out, FILE *err)
{
	const char *lang = pw_lang_for(p, a->address, a->lang);
	char reason[512], hash[200] = "", key[PW_KEY_MAX];
	int found = 0, status = 1;

	if (pw_strength_check(p, a->address, password, lang, reason,
			      sizeof(reason)) < 0) {
		fprintf(err, "postino: password refused: %s\n", reason);
		return EX_DATAERR;
	}
	if (p->history > 0 &&
	    p->host->account->password_in_history(p->mod, a->address, password,
					 (unsigned)p->history, history_done,
					 &found) == 0 &&
	    found == 1) {
		fprintf(err, "postino: password refused: %s\n",
			pw_reused_text(lang));
		return EX_DATAERR;
	}
	if (p->host->account->password_hash(p->mod, password, hash_done, hash) < 0 ||
	    hash[0] == '\0' ||
	    p->host->account->password_set_hash(p->mod, a->address, hash, status_done,
				       &status) < 0 ||
	    status != 0) {
		explicit_bzero(hash, sizeof(hash));
		fprintf(err, "postino: pwpolicy: the password could not be "
			"set\n");
		return EX_IOERR;
	}
	explicit_bzero(hash, sizeof(hash));
	/* Spent; and a campaign ends with a change from any source (our own
	 * change does not run our own hook). */
	snprintf(key, sizeof(key), "t:%s", a->address);
	p->host->policy->state_delete(p->mod, key, NULL, NULL);
	snprintf(key, sizeof(key), "c:%s", a->address);
	p->host->policy->state_delete(p->mod, key, NULL, NULL);
	p->host->core->log(p->mod, POSTINO_LOG_INFO, NULL,
		     "password of %s reset with a token", a->address);
	fprintf(out, "password of %s changed\n", a->address);
	return 0;
}

static int cmd_reset(void *data, int argc, char **argv, FILE *out, FILE *err)
{
	struct pw *p = data;
	struct postino_account a;
	char password[PW_PASSWORD_MAX + 2];
	int64_t at;
	int code = take_at(p, &argc, argv, &at, err);

	if (code != 0)
		return code;
	if (argc != 5 || strcmp(argv[2], "--token") != 0 ||
	    strcmp(argv[4], "--password-stdin") != 0) {
		fprintf(err, "usage: postino pwpolicy reset ADDRESS --token T "
			"--password-stdin\n");
		return EX_USAGE;
	}
	lower(argv[1]);
	if ((code = known_account(p, argv[1], &a, err)) != 0)
		return code;
	int ok = pw_token_check(p, a.address, argv[3], at);
	if (ok == -ENOENT) {
		fprintf(err, "postino: pwpolicy: no valid reset token for %s "
			"(never requested, expired or already used)\n",
			a.address);
		return EX_NOPERM;
	}
	if (ok != 1) {
		fprintf(err, "postino: pwpolicy: wrong reset token for %s\n",
			a.address);
		p->host->core->log(p->mod, POSTINO_LOG_WARNING, NULL,
			     "wrong reset token for %s", a.address);
		return EX_NOPERM;
	}
	if (read_password(password, sizeof(password)) < 0) {
		fprintf(err, "postino: no password on stdin\n");
		return EX_DATAERR;
	}
	code = reset_apply(p, &a, password, out, err);
	explicit_bzero(password, sizeof(password));
	return code;
}

/* ---- lang --------------------------------------------------------------- */

static int cmd_lang(void *data, int argc, char **argv, FILE *out, FILE *err)
{
	struct pw *p = data;
	char key[PW_KEY_MAX];
	int ret;

	if (argc != 3 || strchr(argv[1], '@') != NULL ||
	    (strcmp(argv[2], "it") != 0 && strcmp(argv[2], "en") != 0 &&
	     strcmp(argv[2], "default") != 0)) {
		fprintf(err, "usage: postino pwpolicy lang DOMAIN "
			"it|en|default\n");
		return EX_USAGE;
	}
	lower(argv[1]);
	if (p->host->mail->domain_is_local(p->mod, argv[1]) != 1) {
		fprintf(err, "postino: pwpolicy: unknown domain %s\n", argv[1]);
		return EX_NOUSER;
	}
	snprintf(key, sizeof(key), "lang:@%s", argv[1]);
	if (strcmp(argv[2], "default") == 0) {
		ret = p->host->policy->state_delete(p->mod, key, NULL, NULL);
		if (ret == -ENOENT)
			ret = 0;
	} else {
		ret = p->host->policy->state_put(p->mod, key, argv[2], 2, 0, NULL,
					 NULL);
	}
	if (ret < 0) {
		fprintf(err, "postino: pwpolicy: %s\n", strerror(-ret));
		return EX_IOERR;
	}
	fprintf(out, "%s: notices in %s\n", argv[1],
		strcmp(argv[2], "default") == 0 ? p->lang : argv[2]);
	return 0;
}

void pw_admin_register(struct pw *p)
{
	const struct postino_host *h = p->host;

	h->policy->admin_register(p->mod, "campaign", "start|stop [--domain DOMAIN | "
			  "ADDRESS] [--at TIME] | status ADDRESS",
			  cmd_campaign, p);
	h->policy->admin_register(p->mod, "tick", "[--at TIME]", cmd_tick, p);
	h->policy->admin_register(p->mod, "reminder", "ADDRESS --every 90d|off",
			  cmd_reminder, p);
	h->policy->admin_register(p->mod, "reset-request", "ADDRESS", cmd_reset_request,
			  p);
	h->policy->admin_register(p->mod, "reset", "ADDRESS --token T --password-stdin",
			  cmd_reset, p);
	h->policy->admin_register(p->mod, "lang", "DOMAIN it|en|default", cmd_lang, p);
}
