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
	char *link; /* the panel's link, the token appended; or NULL */
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
	if (t->link != NULL) {
		explicit_bzero(t->link, strlen(t->link));
		free(t->link);
	}
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
	if (t->link != NULL)
		pw_vars_add(&v, "link", t->link);
	struct pw_head h = {
		.from = p->from, .from_name = p->from_name,
		.to = t->acct.secondary, .hostname = p->host->core->hostname(p->mod),
		.kind = "reset", .unique = unique, .date = t->at,
	};
	char *text = pw_notice_build(
		&p->templates.t[pw_lang_index(lang)]
			       [t->link != NULL ? PW_T_RESET_LINK : PW_T_RESET],
		&h, &v, &len);
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
		   int64_t ttl, const char *link_prefix,
		   void (*done)(void *data, int status), void *data)
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
	if (ret == 0 && link_prefix != NULL) {
		size_t n = strlen(link_prefix) + PW_TOKEN_LEN + 1;
		t->link = malloc(n);
		if (t->link == NULL)
			ret = -ENOMEM;
		else
			snprintf(t->link, n, "%s%s", link_prefix, t->token);
	}
	if (ret < 0) {
		free(t->link);
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
		t->done = NULL;
		token_finish(t, 0);
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

/* The asynchronous check (the panel's): the hash is read now, compared
 * off the loop. */
struct pw_check {
	void (*done)(void *data, int status);
	void *data;
};

static void token_compared(void *data, int match)
{
	struct pw_check *c = data;

	c->done(c->data, match == 1);
	free(c);
}

int pw_token_check_async(struct pw *p, const char *address,
			 const char *token, int64_t at,
			 void (*done)(void *data, int status), void *data)
{
	char key[PW_KEY_MAX], value[PW_VALUE_MAX], hash[200];
	int64_t exp;
	int n = 0;

	snprintf(key, sizeof(key), "t:%s", address);
	if (pw_state_string(p, key, value, sizeof(value)) < 0 ||
	    sscanf(value, "exp=%" SCNd64 " hash=%199s%n", &exp, hash, &n) != 2 ||
	    value[n] != '\0' || at >= exp)
		return -ENOENT;
	struct pw_check *c = malloc(sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	c->done = done;
	c->data = data;
	int ret = p->host->account->password_verify(p->mod, token, hash,
						    token_compared, c);
	if (ret < 0)
		free(c);
	return ret;
}

static int token_spend_fn(void *data, const void *old, size_t old_len,
			  void *buf, size_t bufsize, size_t *len_r,
			  int64_t *expires_at_r)
{
	(void)data;
	(void)old_len;
	(void)buf;
	(void)bufsize;
	(void)len_r;
	(void)expires_at_r;
	return old != NULL ? -1 : 0;
}

int pw_token_spend(struct pw *p, const char *address)
{
	char key[PW_KEY_MAX];

	snprintf(key, sizeof(key), "t:%s", address);
	int ret = p->host->policy->state_update(p->mod, key, token_spend_fn,
						NULL, NULL, NULL);
	if (ret < -1)
		return ret;
	return ret == -1 ? 1 : 0;
}
