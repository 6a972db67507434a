/* Sessions and CSRF tokens.
 *
 * A session is a random 256-bit id in the cookie __Host-postino (Secure,
 * HttpOnly, SameSite=Strict, Path=/); the state holds only its SHA-256
 * ("s:<hash>" = "acct=A pwc=T"), with the session's expiry, so a copy of
 * the state holds no usable cookie and every worker sees every session.
 * pwc is the account's password_changed when the session began: a change
 * made anywhere else (another session, a reset, the CLI, a forced change)
 * ends every other session.
 *
 * CSRF tokens are HMAC-SHA256 of the cookie under a node key ("key:csrf",
 * made once): a form is accepted only with the token of the cookie that
 * came with it. Anonymous forms (log in, recovery) use a second random
 * cookie, __Host-postino-pre, so they are protected the same way without
 * writing anything for visitors who never log in. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <gnutls/crypto.h>

#include "http.h"

int http_random_hex(char out[HTTP_TOKEN_HEX])
{
	unsigned char raw[HTTP_SID_BYTES];

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return -EIO;
	hex_encode(raw, sizeof(raw), out);
	explicit_bzero(raw, sizeof(raw));
	return 0;
}

void http_sha256_hex(const char *text, char out[65])
{
	unsigned char digest[32];

	gnutls_hash_fast(GNUTLS_DIG_SHA256, text, strlen(text), digest);
	hex_encode(digest, sizeof(digest), out);
}

static bool hex_token(const char *s)
{
	if (strlen(s) != HTTP_TOKEN_HEX - 1)
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

static void session_key(const char *sid, char key[80])
{
	char hash[65];

	http_sha256_hex(sid, hash);
	snprintf(key, 80, "s:%s", hash);
}

int http_session_load(struct http_ctx *ctx)
{
	const struct postino_host *host = ctx->srv->host;
	char cookie[128], key[80], value[512];
	size_t len = 0;
	int64_t pwc;
	int n = 0;

	/* The anonymous pages' cookie, made when missing. */
	if (cookie_get(ctx->req->cookie, HTTP_COOKIE_PRE, cookie,
		       sizeof(cookie)) == 0 && hex_token(cookie)) {
		memcpy(ctx->pre, cookie, HTTP_TOKEN_HEX);
	} else if (http_random_hex(ctx->pre) == 0) {
		ctx->set_pre = true;
	}
	if (cookie_get(ctx->req->cookie, HTTP_COOKIE_SESSION, cookie,
		       sizeof(cookie)) < 0 || !hex_token(cookie))
		return -ENOENT;
	session_key(cookie, key);
	if (host->policy->state_get(ctx->srv->mod, key, value,
				    sizeof(value) - 1, &len) < 0 ||
	    len >= sizeof(value))
		return -ENOENT;
	value[len] = '\0';
	char account[HTTP_ADDRESS_MAX];
	if (sscanf(value, "acct=%319s pwc=%" SCNd64 "%n", account, &pwc,
		   &n) != 2 || value[n] != '\0')
		return -ENOENT;
	ctx->acct.size = sizeof(ctx->acct);
	if (host->account->account_get(ctx->srv->mod, account, &ctx->acct) < 0 ||
	    ctx->acct.disabled || ctx->acct.password_changed != pwc)
		return -ENOENT;
	memcpy(ctx->sid, cookie, HTTP_TOKEN_HEX);
	ctx->logged_in = true;
	if (ctx->acct.lang[0] != '\0')
		ctx->lang = strcmp(ctx->acct.lang, "it") == 0;
	return 0;
}

struct session_start {
	struct http_ctx *ctx;
	void (*done)(struct http_ctx *ctx, int status);
};

static void session_stored(void *data, int status)
{
	struct session_start *s = data;
	struct http_ctx *ctx = s->ctx;
	void (*done)(struct http_ctx *, int) = s->done;

	free(s);
	if (http_gone(ctx))
		return;
	done(ctx, status);
}

int http_session_start(struct http_ctx *ctx, const char *account,
		       void (*done)(struct http_ctx *ctx, int status))
{
	const struct postino_host *host = ctx->srv->host;
	char key[80], value[512];
	int64_t now = host->core->now_ms() / 1000;

	ctx->acct.size = sizeof(ctx->acct);
	int ret = host->account->account_get(ctx->srv->mod, account, &ctx->acct);
	if (ret < 0)
		return ret;
	if ((ret = http_random_hex(ctx->sid)) < 0)
		return ret;
	session_key(ctx->sid, key);
	snprintf(value, sizeof(value), "acct=%s pwc=%" PRId64,
		 ctx->acct.address, ctx->acct.password_changed);
	struct session_start *s = malloc(sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->ctx = ctx;
	s->done = done;
	ret = host->policy->state_put(ctx->srv->mod, key, value, strlen(value),
				      now + ctx->srv->session_ttl,
				      session_stored, s);
	if (ret < 0) {
		free(s);
		return ret;
	}
	ctx->logged_in = true;
	snprintf(ctx->set_cookie, sizeof(ctx->set_cookie),
		 HTTP_COOKIE_SESSION "=%s; Path=/; Secure; HttpOnly; "
		 "SameSite=Strict", ctx->sid);
	return 0;
}

void http_session_end(struct http_ctx *ctx)
{
	char key[80];

	if (!ctx->logged_in)
		return;
	session_key(ctx->sid, key);
	ctx->srv->host->policy->state_delete(ctx->srv->mod, key, NULL, NULL);
	ctx->logged_in = false;
	snprintf(ctx->set_cookie, sizeof(ctx->set_cookie),
		 HTTP_COOKIE_SESSION "=; Path=/; Secure; HttpOnly; "
		 "SameSite=Strict; Max-Age=0");
}

void http_session_renew(struct http_ctx *ctx)
{
	const struct postino_host *host = ctx->srv->host;
	struct postino_account a = { .size = sizeof(a) };
	char key[80], value[512];

	if (!ctx->logged_in ||
	    host->account->account_get(ctx->srv->mod, ctx->acct.address, &a) < 0)
		return;
	session_key(ctx->sid, key);
	snprintf(value, sizeof(value), "acct=%s pwc=%" PRId64, a.address,
		 a.password_changed);
	host->policy->state_put(ctx->srv->mod, key, value, strlen(value),
				host->core->now_ms() / 1000 +
					ctx->srv->session_ttl,
				NULL, NULL);
	ctx->acct = a;
}

void http_csrf_token(struct http_ctx *ctx, char out[HTTP_TOKEN_HEX])
{
	unsigned char mac[32];
	char input[100];

	/* The session's token once logged in, the visitor's before. */
	snprintf(input, sizeof(input), "%s:%s", ctx->logged_in ? "s" : "p",
		 ctx->logged_in ? ctx->sid : ctx->pre);
	gnutls_hmac_fast(GNUTLS_MAC_SHA256, ctx->srv->key,
			 sizeof(ctx->srv->key), input, strlen(input), mac);
	hex_encode(mac, sizeof(mac), out);
}

bool http_csrf_ok(struct http_ctx *ctx)
{
	char want[HTTP_TOKEN_HEX];
	const char *got = form_get(&ctx->form, "csrf");

	/* A visitor whose cookie we only now made cannot have its token. */
	if (got == NULL || (!ctx->logged_in && ctx->set_pre) ||
	    strlen(got) != HTTP_TOKEN_HEX - 1)
		return false;
	http_csrf_token(ctx, want);
	unsigned char diff = 0;
	for (size_t i = 0; i < HTTP_TOKEN_HEX - 1; i++)
		diff |= (unsigned char)(want[i] ^ got[i]);
	return diff == 0;
}
