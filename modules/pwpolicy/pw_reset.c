/* Reset tokens: random, sent to the secondary address, stored only as a
 * yescrypt hash with their expiry ("t:<address>" = "exp=T hash=H"),
 * spent by their first successful use. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pw.h"

#define PW_TOKEN_LEN 24

struct pw_token {
	struct pw *p;
	struct postino_account acct;
	char token[PW_TOKEN_LEN + 1];
	int64_t at, exp;
	char key[PW_KEY_MAX];
	char value[PW_VALUE_MAX];
	void (*done)(void *data, int status);
	void *data;
};

static void token_finish(struct pw_token *t, int status)
{
	if (status < 0)
		t->p->host->core->log(t->p->mod, POSTINO_LOG_ERROR, NULL,
				"reset token for %s not sent: %s",
				t->acct.address, strerror(-status));
	if (t->done != NULL)
		t->done(t->data, status);
	explicit_bzero(t->token, sizeof(t->token));
	free(t);
}

static void token_delivered(void *data, int status)
{
	struct pw_token *t = data;

	if (status == 0)
		t->p->host->core->log(t->p->mod, POSTINO_LOG_INFO, NULL,
				"reset token for %s sent to %s",
				t->acct.address, t->acct.secondary);
	token_finish(t, status);
}

static void token_hashed(void *data, int status, const char *hash)
{
	struct pw_token *t = data;
	struct pw *p = t->p;
	const char *lang = pw_lang_for(p, t->acct.address, t->acct.lang);
	char expires[32], unique[17];
	struct pw_vars v = { .n = 0 };
	time_t tt = (time_t)t->exp;
	struct tm tm;
	size_t len = 0;

	if (status < 0 || pw_random_text(unique, 16) < 0) {
		token_finish(t, status < 0 ? status : -EIO);
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(expires, sizeof(expires), "%Y-%m-%d %H:%M UTC", &tm);
	snprintf(t->value, sizeof(t->value), "exp=%" PRId64 " hash=%s", t->exp,
		 hash);
	pw_vars_add(&v, "address", t->acct.address);
	pw_vars_add(&v, "token", t->token);
	pw_vars_add(&v, "expires", expires);
	pw_vars_add(&v, "hostname", p->host->core->hostname(p->mod));
	struct pw_head h = {
		.from = p->from, .from_name = p->from_name,
		.to = t->acct.secondary, .hostname = p->host->core->hostname(p->mod),
		.kind = "reset", .unique = unique, .date = t->at,
	};
	char *text = pw_notice_build(
		&p->templates.t[pw_lang_index(lang)][PW_T_RESET], &h, &v, &len);
	if (text == NULL) {
		token_finish(t, -ENOMEM);
		return;
	}
	/* The state lives a day past the expiry, then the store drops it. */
	int ret = pw_deliver(p, NULL, t->acct.secondary, text, len, t->key,
			     t->value, t->exp + 86400, token_delivered, t);
	explicit_bzero(text, len);
	free(text);
	if (ret < 0)
		token_finish(t, ret);
}

int pw_token_issue(struct pw *p, const char *address, int64_t at,
		   int64_t ttl, void (*done)(void *data, int status),
		   void *data)
{
	struct pw_token *t = calloc(1, sizeof(*t));
	int ret;

	if (t == NULL)
		return -ENOMEM;
	t->p = p;
	t->acct.size = sizeof(t->acct);
	ret = p->host->account->account_get(p->mod, address, &t->acct);
	if (ret == 0 && t->acct.secondary[0] == '\0')
		ret = -ENXIO;
	if (ret == 0)
		ret = pw_random_text(t->token, PW_TOKEN_LEN);
	if (ret < 0) {
		free(t);
		return ret;
	}
	t->at = at;
	t->exp = at + ttl;
	t->done = done;
	t->data = data;
	snprintf(t->key, sizeof(t->key), "t:%s", t->acct.address);
	ret = p->host->account->password_hash(p->mod, t->token, token_hashed, t);
	if (ret < 0) {
		explicit_bzero(t->token, sizeof(t->token));
		free(t);
	}
	return ret;
}

static void token_checked(void *data, int match)
{
	*(int *)data = match;
}

int pw_token_check(struct pw *p, const char *address, const char *token,
		   int64_t at)
{
	char key[PW_KEY_MAX], value[PW_VALUE_MAX], hash[200];
	int64_t exp;
	int n = 0, match = 0;

	snprintf(key, sizeof(key), "t:%s", address);
	if (pw_state_string(p, key, value, sizeof(value)) < 0 ||
	    sscanf(value, "exp=%" SCNd64 " hash=%199s%n", &exp, hash, &n) != 2 ||
	    value[n] != '\0' || at >= exp)
		return -ENOENT;
	/* Admin commands: the host answers before returning. */
	int ret = p->host->account->password_verify(p->mod, token, hash, token_checked,
					   &match);
	if (ret < 0)
		return ret;
	return match == 1;
}
