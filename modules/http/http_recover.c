/* Recovery: a reset requested for a mailbox sends a single-use link
 * (pwpolicy's token, [pwpolicy] token_ttl) to its confirmed secondary
 * address; the page answers the same whether or not the mailbox exists
 * or has one, so it tells nobody which addresses exist. The link leads
 * to a form that sets a new password, checked by the same rules. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

void page_recover(struct http_ctx *ctx)
{
	html_begin(ctx, "title_recover");
	hbuf_str(&ctx->out, "<p>");
	hbuf_html(&ctx->out, http_t(ctx, "recover_help"));
	hbuf_str(&ctx->out, "</p>\n");
	html_form_begin(ctx, "/recover");
	html_input(ctx, "email", "user", "label_mailbox", NULL, "username");
	html_form_end(ctx, "button_recover");
	html_page(ctx, 200);
}

/* At most one mail per mailbox per recover_interval: "rr:<account>". */
static int recover_fn(void *data, const void *old, size_t old_len, void *buf,
		      size_t bufsize, size_t *len_r, int64_t *expires_at_r)
{
	int64_t *until = data;

	(void)old_len;
	(void)bufsize;
	if (old != NULL)
		return 0;
	memcpy(buf, "1", 1);
	*len_r = 1;
	*expires_at_r = *until;
	return 1;
}

static void recover_sent(void *data, int status)
{
	(void)data;
	(void)status; /* pwpolicy logs the outcome */
}

void post_recover(struct http_ctx *ctx)
{
	struct http_server *srv = ctx->srv;
	const struct postino_host *host = srv->host;
	const char *user = form_get(&ctx->form, "user");
	struct postino_account a = { .size = sizeof(a) };
	char key[400];

	if (user != NULL && strlen(user) < HTTP_ADDRESS_MAX &&
	    host->account->account_get(srv->mod, user, &a) == 0 &&
	    !a.disabled) {
		int64_t until = host->core->now_ms() / 1000 +
				srv->recover_interval;
		snprintf(key, sizeof(key), "rr:%s", a.address);
		int fresh = host->policy->state_update(srv->mod, key,
						       recover_fn, &until,
						       NULL, NULL);
		char base[300];
		struct hbuf link;
		hbuf_init(&link, 1024);
		http_public_url(ctx, a.address, base, sizeof(base));
		hbuf_str(&link, base);
		hbuf_str(&link, "/reset?u=");
		hbuf_urlenc(&link, a.address);
		hbuf_str(&link, "&t=");
		int ret = fresh != 1 ? -EAGAIN
				     : srv->pw->reset_request(srv->pw->instance,
							      a.address,
							      hbuf_cstr(&link),
							      recover_sent,
							      NULL);
		hbuf_free(&link);
		http_log(ctx, POSTINO_LOG_INFO, "reset requested for %s "
			 "client=%s: %s", a.address, ctx->c->info->client_ip,
			 ret == 0 ? "link sent to the secondary address"
			 : ret == -ENXIO ? "no secondary address"
			 : ret == -EAGAIN ? "one was sent recently"
					  : strerror(-ret));
	} else {
		http_log(ctx, POSTINO_LOG_INFO, "reset requested for an "
			 "unknown or disabled mailbox client=%s",
			 ctx->c->info->client_ip);
	}
	/* The same answer in every case. */
	html_message(ctx, 200, "title_recover", NOTE_OK,
		     http_t(ctx, "recover_sent"), "/login", "back_login");
}

static void reset_form(struct http_ctx *ctx, int status, const char *error,
		       const char *user, const char *token)
{
	html_begin(ctx, "title_reset");
	html_note(ctx, NOTE_ERROR, error);
	hbuf_str(&ctx->out, "<p>");
	hbuf_html(&ctx->out, http_t(ctx, "reset_for"));
	hbuf_str(&ctx->out, " <strong>");
	hbuf_html(&ctx->out, user);
	hbuf_str(&ctx->out, "</strong></p>\n");
	html_form_begin(ctx, "/reset");
	html_hidden(ctx, "u", user);
	html_hidden(ctx, "t", token);
	html_input(ctx, "password", "new", "label_new", NULL, "new-password");
	html_input(ctx, "password", "new2", "label_repeat", NULL,
		   "new-password");
	html_form_end(ctx, "button_change");
	html_page(ctx, status);
}

static void reset_invalid(struct http_ctx *ctx)
{
	html_message(ctx, 404, "title_reset", NOTE_ERROR,
		     http_t(ctx, "err_link"), "/recover", "link_forgot");
}

static bool reset_args(const char *user, const char *token)
{
	return user != NULL && token != NULL && strlen(user) > 0 &&
	       strlen(user) < HTTP_ADDRESS_MAX && strlen(token) > 0 &&
	       strlen(token) < 64;
}

static void reset_page_checked(void *data, int status)
{
	struct http_ctx *ctx = data;

	if (http_gone(ctx))
		return;
	if (status != 1) {
		reset_invalid(ctx);
		return;
	}
	reset_form(ctx, 200, NULL, form_get(&ctx->query, "u"),
		   form_get(&ctx->query, "t"));
}

void page_reset(struct http_ctx *ctx)
{
	const char *user = form_get(&ctx->query, "u");
	const char *token = form_get(&ctx->query, "t");
	struct postino_account a = { .size = sizeof(a) };

	if (!reset_args(user, token) ||
	    ctx->srv->host->account->account_get(ctx->srv->mod, user, &a) < 0) {
		reset_invalid(ctx);
		return;
	}
	ctx->lang = a.lang[0] != '\0' ? strcmp(a.lang, "it") == 0 : ctx->lang;
	/* Say at once when the link is spent or expired. */
	int ret = ctx->srv->pw->reset_check(ctx->srv->pw->instance, a.address,
					    token, reset_page_checked, ctx);
	if (ret < 0)
		reset_invalid(ctx);
}

static void reset_done(struct http_ctx *ctx, int status)
{
	const char *user = form_get(&ctx->form, "u");
	const char *token = form_get(&ctx->form, "t");

	if (status == -EPERM) {
		char reason[600];
		snprintf(reason, sizeof(reason), "%s", ctx->text);
		reset_form(ctx, 422, reason, user, token);
		return;
	}
	if (status == -ESTALE) {
		reset_invalid(ctx);
		return;
	}
	if (status < 0) {
		html_message(ctx, 500, "title_reset", NOTE_ERROR,
			     http_t(ctx, "err_internal"), "/recover",
			     "link_forgot");
		return;
	}
	html_message(ctx, 200, "title_reset", NOTE_OK,
		     http_t(ctx, "reset_done"), "/login", "back_login");
}

/* The token is spent only once the new password passed the rules, so a
 * refused password leaves the link usable; spent atomically, so two
 * requests racing with one link cannot both set a password. */
static int reset_spend(struct http_ctx *ctx)
{
	int ret = ctx->srv->pw->reset_spend(ctx->srv->pw->instance,
					    ctx->account);

	return ret == 1 ? 0 : -ESTALE;
}

static void reset_checked(void *data, int status)
{
	struct http_ctx *ctx = data;

	if (http_gone(ctx))
		return;
	if (status != 1) {
		http_log(ctx, POSTINO_LOG_WARNING, "wrong reset link for %s "
			 "client=%s", ctx->account, ctx->c->info->client_ip);
		reset_invalid(ctx);
		return;
	}
	ctx->before_hash = reset_spend;
	http_password_change(ctx, "reset link", reset_done);
}

void post_reset(struct http_ctx *ctx)
{
	const char *user = form_get(&ctx->form, "u");
	const char *token = form_get(&ctx->form, "t");
	const char *pw = form_get(&ctx->form, "new");
	const char *pw2 = form_get(&ctx->form, "new2");
	struct postino_account a = { .size = sizeof(a) };

	if (!reset_args(user, token) ||
	    ctx->srv->host->account->account_get(ctx->srv->mod, user, &a) < 0) {
		reset_invalid(ctx);
		return;
	}
	ctx->lang = a.lang[0] != '\0' ? strcmp(a.lang, "it") == 0 : ctx->lang;
	if (pw == NULL || pw[0] == '\0' || strlen(pw) > HTTP_PASSWORD_MAX ||
	    pw2 == NULL || strcmp(pw, pw2) != 0) {
		reset_form(ctx, 422, http_t(ctx, pw != NULL && pw[0] != '\0'
					    ? "err_mismatch" : "err_fields"),
			   user, token);
		return;
	}
	snprintf(ctx->account, sizeof(ctx->account), "%s", a.address);
	snprintf(ctx->password, sizeof(ctx->password), "%s", pw);
	int ret = ctx->srv->pw->reset_check(ctx->srv->pw->instance, a.address,
					    token, reset_checked, ctx);
	if (ret < 0)
		reset_invalid(ctx);
}
