/* The account's pages: log in and out, home (quota, forced-change notice,
 * client settings), password (change, reminder, secondary address with
 * its confirmation link), and the password API for webmail. Logins and
 * current-password checks go through the host's auth_verify: the same
 * hooks and throttling as IMAP. New passwords go through the
 * PASSWORD_VALIDATE hooks (pwpolicy's rules), then password_set_hash. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"

static void format_date(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%d", &tm);
}

static void format_size(uint64_t n, char *buf, size_t len)
{
	if (n >= 1024ull * 1024 * 1024)
		snprintf(buf, len, "%.1f GiB", (double)n / (1024.0 * 1024 * 1024));
	else if (n >= 1024ull * 1024)
		snprintf(buf, len, "%.1f MiB", (double)n / (1024.0 * 1024));
	else
		snprintf(buf, len, "%.1f KiB", (double)n / 1024.0);
}

static int account_lang(struct http_server *srv, const char *address)
{
	struct postino_account a = { .size = sizeof(a) };

	if (srv->host->account->account_get(srv->mod, address, &a) == 0 &&
	    a.lang[0] != '\0')
		return strcmp(a.lang, "it") == 0;
	return srv->lang;
}

static bool field_ok(const char *s, size_t max)
{
	return s != NULL && s[0] != '\0' && strlen(s) <= max;
}

/* ---- the password change every front-end shares -------------------------- */

static void change_finish(struct http_ctx *ctx, int status)
{
	void (*after)(struct http_ctx *, int) = ctx->after;

	explicit_bzero(ctx->password, sizeof(ctx->password));
	explicit_bzero(ctx->hash, sizeof(ctx->hash));
	after(ctx, status);
}

static void change_set(void *data, int status)
{
	struct http_ctx *ctx = data;
	struct http_server *srv = ctx->srv;

	if (http_gone(ctx))
		return;
	if (status < 0) {
		http_log(ctx, POSTINO_LOG_ERROR, "setting the password of %s "
			 "failed: %s", ctx->account, strerror(-status));
		change_finish(ctx, status);
		return;
	}
	/* Logged and announced, never the password itself. */
	http_log(ctx, POSTINO_LOG_INFO, "password of %s changed (%s) "
		 "client=%s", ctx->account, ctx->text,
		 ctx->c->info->client_ip);
	char when[40];
	time_t now = (time_t)(srv->host->core->now_ms() / 1000);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
	const char *vars[] = {
		"address", ctx->account, "when", when,
		"client", ctx->c->info->client_ip,
		"hostname", srv->host->core->hostname(srv->mod), NULL,
	};
	http_mail_send(srv, HTTP_MAIL_CHANGED, account_lang(srv, ctx->account),
		       ctx->account, vars);
	change_finish(ctx, 0);
}

static void change_hashed(void *data, int status, const char *hash)
{
	struct http_ctx *ctx = data;

	if (http_gone(ctx))
		return;
	if (status < 0) {
		change_finish(ctx, status);
		return;
	}
	int ret = ctx->srv->host->account->password_set_hash(
		ctx->srv->mod, ctx->account, hash, change_set, ctx);
	if (ret < 0) {
		change_finish(ctx, ret);
		return;
	}
}

static void change_validated(void *data, enum postino_verdict verdict,
			     int code, const char *text)
{
	struct http_ctx *ctx = data;

	(void)code;
	if (http_gone(ctx))
		return;
	if (verdict == POSTINO_REJECT || verdict == POSTINO_DEFER) {
		/* pwpolicy's reason, in the account's language. */
		snprintf(ctx->text, sizeof(ctx->text), "%s",
			 text != NULL && text[0] != '\0'
				 ? text : http_t(ctx, "err_weak"));
		http_log(ctx, POSTINO_LOG_INFO, "new password for %s refused: "
			 "%s", ctx->account, ctx->text);
		change_finish(ctx, -EPERM);
		return;
	}
	int ret = ctx->before_hash != NULL ? ctx->before_hash(ctx) : 0;
	if (ret < 0) {
		change_finish(ctx, ret);
		return;
	}
	ret = ctx->srv->host->account->password_hash(
		ctx->srv->mod, ctx->password, change_hashed, ctx);
	if (ret < 0) {
		change_finish(ctx, ret);
		return;
	}
}

void http_password_change(struct http_ctx *ctx, const char *how,
			  void (*done)(struct http_ctx *ctx, int status))
{
	const struct postino_conn_info *info = ctx->c->info;
	struct postino_hook_event ev = {
		.size = sizeof(ev),
		.point = POSTINO_HOOK_PASSWORD_VALIDATE,
		.session_id = info->session_id,
		.client_ip = info->client_ip,
		.tls = info->tls,
		.account = ctx->account,
		.password = ctx->password,
	};

	ctx->after = done;
	/* How the change was made, for the log line (text is free until a
	 * refusal's reason lands in it, which ends the chain). */
	snprintf(ctx->text, sizeof(ctx->text), "%s", how);
	http_wait(ctx, true);
	int ret = ctx->srv->host->proto->hooks_run(ctx->c->conn, &ev,
						   change_validated, ctx);
	if (ret < 0) {
		http_wait(ctx, false);
		change_finish(ctx, ret);
	}
}

/* ---- log in and out ----------------------------------------------------- */

void page_login(struct http_ctx *ctx, const char *error)
{
	const char *user = form_get(&ctx->form, "user");

	html_begin(ctx, "title_login");
	html_note(ctx, NOTE_ERROR, error);
	html_form_begin(ctx, "/login");
	html_input(ctx, "email", "user", "label_mailbox", user, "username");
	html_input(ctx, "password", "password", "label_password", NULL,
		   "current-password");
	html_form_end(ctx, "button_login");
	hbuf_str(&ctx->out, "<p><a href=\"/recover\">");
	hbuf_html(&ctx->out, http_t(ctx, "link_forgot"));
	hbuf_str(&ctx->out, "</a></p>\n");
	html_page(ctx, error != NULL ? 401 : 200);
}

static void login_stored(struct http_ctx *ctx, int status)
{
	if (status < 0) {
		ctx->set_cookie[0] = '\0';
		html_message(ctx, 503, "title_login", NOTE_ERROR,
			     http_t(ctx, "err_tempfail"), "/login", "again");
		return;
	}
	http_redirect(ctx, "/");
}

static void login_verified(void *data, enum postino_auth_result result,
			   const char *account)
{
	struct http_ctx *ctx = data;

	if (http_gone(ctx))
		return;
	switch (result) {
	case POSTINO_AUTH_OK:
		http_log(ctx, POSTINO_LOG_INFO, "panel login account=%s "
			 "client=%s", account, ctx->c->info->client_ip);
		if (http_session_start(ctx, account, login_stored) < 0)
			login_stored(ctx, -EIO);
		return;
	case POSTINO_AUTH_DISABLED:
		page_login(ctx, http_t(ctx, "err_disabled"));
		return;
	case POSTINO_AUTH_TEMPFAIL:
		html_message(ctx, 429, "title_login", NOTE_ERROR,
			     http_t(ctx, "err_tempfail"), "/login", "again");
		return;
	default:
		page_login(ctx, http_t(ctx, "err_login"));
		return;
	}
}

void post_login(struct http_ctx *ctx)
{
	const char *user = form_get(&ctx->form, "user");
	const char *password = form_get(&ctx->form, "password");

	if (!field_ok(user, HTTP_ADDRESS_MAX - 1) ||
	    !field_ok(password, HTTP_PASSWORD_MAX)) {
		page_login(ctx, http_t(ctx, "err_login"));
		return;
	}
	http_wait(ctx, true);
	int ret = ctx->srv->host->proto->auth_verify(ctx->c->conn, user,
						     password, login_verified,
						     ctx);
	if (ret < 0) {
		http_wait(ctx, false);
		page_login(ctx, http_t(ctx, "err_tempfail"));
	}
}

void post_logout(struct http_ctx *ctx)
{
	http_log(ctx, POSTINO_LOG_INFO, "panel logout account=%s",
		 ctx->acct.address);
	http_session_end(ctx);
	http_redirect(ctx, "/login");
}

/* ---- home --------------------------------------------------------------- */

static void html_quota(struct http_ctx *ctx)
{
	struct postino_quota q = { .size = sizeof(q) };
	struct hbuf *o = &ctx->out;
	char used[32], limit[32];

	if (ctx->srv->host->account->account_quota(ctx->srv->mod,
						   ctx->acct.address, &q) < 0)
		return;
	hbuf_str(o, "<section>\n<h2>");
	hbuf_html(o, http_t(ctx, "quota"));
	hbuf_str(o, "</h2>\n");
	format_size(q.storage_used, used, sizeof(used));
	if (q.storage_limit > 0) {
		format_size(q.storage_limit, limit, sizeof(limit));
		unsigned pct = (unsigned)(q.storage_used * 100 / q.storage_limit);
		hbuf_printf(o, "<meter min=\"0\" max=\"100\" low=\"80\" "
			    "high=\"95\" optimum=\"0\" value=\"%u\">%u%%"
			    "</meter>\n<p>%s / %s (%u%%)", pct, pct, used,
			    limit, pct);
	} else {
		hbuf_printf(o, "<p>%s (", used);
		hbuf_html(o, http_t(ctx, "quota_none"));
		hbuf_str(o, ")");
	}
	hbuf_printf(o, " · %" PRIu64 " ", q.messages_used);
	hbuf_html(o, http_t(ctx, "quota_messages"));
	if (q.messages_limit > 0)
		hbuf_printf(o, " / %" PRIu64, q.messages_limit);
	hbuf_str(o, "</p>\n</section>\n");
}

/* The forced-change campaign's deadline, on every page that matters. */
static void html_change_due(struct http_ctx *ctx)
{
	int64_t deadline, force;
	char date[16], text[300];

	if (ctx->srv->pw->change_due(ctx->srv->pw->instance,
				     ctx->acct.address, &deadline, &force) < 0)
		return;
	format_date(deadline, date, sizeof(date));
	snprintf(text, sizeof(text), "%s %s", http_t(ctx, "change_by"), date);
	html_note(ctx, NOTE_ERROR, text);
}

void page_home(struct http_ctx *ctx)
{
	html_begin(ctx, "title_home");
	html_change_due(ctx);
	html_quota(ctx);
	html_client_settings(ctx);
	html_page(ctx, 200);
}

/* ---- password ------------------------------------------------------------ */

void page_password(struct http_ctx *ctx, enum http_note kind,
		   const char *note)
{
	struct http_server *srv = ctx->srv;
	struct hbuf *o = &ctx->out;
	int64_t every = 0;
	char key[400], pending[HTTP_ADDRESS_MAX] = "";
	size_t len = 0;

	html_begin(ctx, "title_password");
	html_change_due(ctx);
	html_note(ctx, kind, note);

	hbuf_str(o, "<section>\n<h2>");
	hbuf_html(o, http_t(ctx, "change_password"));
	hbuf_str(o, "</h2>\n");
	html_form_begin(ctx, "/password");
	html_input(ctx, "password", "current", "label_current", NULL,
		   "current-password");
	html_input(ctx, "password", "new", "label_new", NULL, "new-password");
	html_input(ctx, "password", "new2", "label_repeat", NULL,
		   "new-password");
	html_form_end(ctx, "button_change");
	hbuf_str(o, "</section>\n");

	srv->pw->reminder_get(srv->pw->instance, ctx->acct.address, &every);
	hbuf_str(o, "<section>\n<h2>");
	hbuf_html(o, http_t(ctx, "reminder"));
	hbuf_str(o, "</h2>\n<p>");
	hbuf_html(o, http_t(ctx, "reminder_help"));
	hbuf_str(o, "</p>\n");
	html_form_begin(ctx, "/reminder");
	hbuf_str(o, "<label for=\"every\">");
	hbuf_html(o, http_t(ctx, "label_reminder"));
	hbuf_str(o, "</label>\n<select id=\"every\" name=\"every\">\n");
	static const int days[] = { 0, 30, 90, 180, 365 };
	for (size_t i = 0; i < sizeof(days) / sizeof(days[0]); i++) {
		char k[32];
		snprintf(k, sizeof(k), "every_%d", days[i]);
		hbuf_printf(o, "<option value=\"%d\"%s>", days[i],
			    every == (int64_t)days[i] * 86400 ? " selected" : "");
		hbuf_html(o, http_t(ctx, k));
		hbuf_str(o, "</option>\n");
	}
	hbuf_str(o, "</select>\n");
	html_form_end(ctx, "button_save");
	hbuf_str(o, "</section>\n");

	hbuf_str(o, "<section>\n<h2>");
	hbuf_html(o, http_t(ctx, "secondary"));
	hbuf_str(o, "</h2>\n<p>");
	hbuf_html(o, http_t(ctx, "secondary_help"));
	hbuf_str(o, "</p>\n<p>");
	hbuf_html(o, http_t(ctx, "secondary_current"));
	hbuf_str(o, " <strong id=\"secondary-current\">");
	hbuf_html(o, ctx->acct.secondary[0] != '\0'
			     ? ctx->acct.secondary : http_t(ctx, "none"));
	hbuf_str(o, "</strong></p>\n");
	snprintf(key, sizeof(key), "pc:%s", ctx->acct.address);
	if (srv->host->policy->state_get(srv->mod, key, pending,
					 sizeof(pending) - 1, &len) == 0 &&
	    len < sizeof(pending)) {
		pending[len] = '\0';
		hbuf_str(o, "<p>");
		hbuf_html(o, http_t(ctx, "secondary_pending"));
		hbuf_str(o, " <strong id=\"secondary-pending\">");
		hbuf_html(o, pending);
		hbuf_str(o, "</strong></p>\n");
	}
	html_form_begin(ctx, "/secondary");
	html_input(ctx, "email", "secondary", "label_secondary", NULL, "email");
	html_form_end(ctx, "button_confirm_send");
	if (ctx->acct.secondary[0] != '\0') {
		html_form_begin(ctx, "/secondary");
		html_hidden(ctx, "remove", "1");
		html_form_end(ctx, "button_remove");
	}
	hbuf_str(o, "</section>\n");
	html_page(ctx, kind == NOTE_ERROR ? 422 : 200);
}

static void password_done(struct http_ctx *ctx, int status)
{
	if (status == -EPERM) {
		char reason[600];
		snprintf(reason, sizeof(reason), "%s", ctx->text);
		page_password(ctx, NOTE_ERROR, reason);
		return;
	}
	if (status < 0) {
		html_message(ctx, 500, "title_password", NOTE_ERROR,
			     http_t(ctx, "err_internal"), "/password", "again");
		return;
	}
	http_session_renew(ctx);
	page_password(ctx, NOTE_OK, http_t(ctx, "password_changed"));
}

static void current_verified(void *data, enum postino_auth_result result,
			     const char *account)
{
	struct http_ctx *ctx = data;

	(void)account;
	if (http_gone(ctx))
		return;
	if (result == POSTINO_AUTH_TEMPFAIL) {
		explicit_bzero(ctx->password, sizeof(ctx->password));
		page_password(ctx, NOTE_ERROR, http_t(ctx, "err_tempfail"));
		return;
	}
	if (result != POSTINO_AUTH_OK) {
		explicit_bzero(ctx->password, sizeof(ctx->password));
		page_password(ctx, NOTE_ERROR, http_t(ctx, "err_current"));
		return;
	}
	http_password_change(ctx, "panel", password_done);
}

void post_password(struct http_ctx *ctx)
{
	const char *current = form_get(&ctx->form, "current");
	const char *pw = form_get(&ctx->form, "new");
	const char *pw2 = form_get(&ctx->form, "new2");

	if (!field_ok(current, HTTP_PASSWORD_MAX) ||
	    !field_ok(pw, HTTP_PASSWORD_MAX) || pw2 == NULL) {
		page_password(ctx, NOTE_ERROR, http_t(ctx, "err_fields"));
		return;
	}
	if (strcmp(pw, pw2) != 0) {
		page_password(ctx, NOTE_ERROR, http_t(ctx, "err_mismatch"));
		return;
	}
	snprintf(ctx->account, sizeof(ctx->account), "%s", ctx->acct.address);
	snprintf(ctx->password, sizeof(ctx->password), "%s", pw);
	/* The current password, checked like a login (throttled). */
	http_wait(ctx, true);
	int ret = ctx->srv->host->proto->auth_verify(ctx->c->conn,
						     ctx->account, current,
						     current_verified, ctx);
	if (ret < 0) {
		http_wait(ctx, false);
		page_password(ctx, NOTE_ERROR, http_t(ctx, "err_tempfail"));
	}
}

/* ---- reminder ------------------------------------------------------------ */

static void reminder_saved(void *data, int status)
{
	struct http_ctx *ctx = data;

	if (http_gone(ctx))
		return;
	if (status < 0) {
		page_password(ctx, NOTE_ERROR, http_t(ctx, "err_internal"));
		return;
	}
	http_redirect(ctx, "/password?done=reminder");
}

void post_reminder(struct http_ctx *ctx)
{
	const char *every = form_get(&ctx->form, "every");
	int days = every != NULL ? atoi(every) : -1;

	if (days != 0 && days != 30 && days != 90 && days != 180 &&
	    days != 365) {
		page_password(ctx, NOTE_ERROR, http_t(ctx, "err_fields"));
		return;
	}
	int ret = ctx->srv->pw->reminder_set(ctx->srv->pw->instance,
					     ctx->acct.address,
					     (int64_t)days * 86400,
					     reminder_saved, ctx);
	if (ret < 0) {
		page_password(ctx, NOTE_ERROR, http_t(ctx, "err_internal"));
		return;
	}
	http_log(ctx, POSTINO_LOG_INFO, "reminder of %s set to %d days",
		 ctx->acct.address, days);
}

/* ---- secondary address ---------------------------------------------------- */

static void secondary_done(void *data, int status)
{
	struct http_ctx *ctx = data;

	if (http_gone(ctx))
		return;
	if (status < 0) {
		page_password(ctx, NOTE_ERROR, http_t(ctx, "err_internal"));
		return;
	}
	http_redirect(ctx, ctx->step == 1 ? "/password?done=secondary-removed"
					  : "/password?done=secondary");
}

void post_secondary(struct http_ctx *ctx)
{
	struct http_server *srv = ctx->srv;
	const struct postino_host *host = srv->host;
	const char *addr = form_get(&ctx->form, "secondary");
	char token[HTTP_TOKEN_HEX], hash[65], key[400], value[800];
	int64_t now = host->core->now_ms() / 1000;

	if (form_get(&ctx->form, "remove") != NULL) {
		ctx->step = 1;
		http_log(ctx, POSTINO_LOG_INFO, "secondary address of %s "
			 "removed", ctx->acct.address);
		int ret = host->account->account_set(srv->mod, ctx->acct.address,
						     "", NULL, secondary_done,
						     ctx);
		if (ret < 0)
			secondary_done(ctx, ret);
		return;
	}
	if (addr == NULL || !address_plausible(addr) ||
	    strcasecmp(addr, ctx->acct.address) == 0) {
		page_password(ctx, NOTE_ERROR, http_t(ctx, "err_secondary"));
		return;
	}
	/* Used for resets only once its owner followed the link mailed to
	 * it: until then the account keeps its old secondary address. */
	if (http_random_hex(token) < 0) {
		page_password(ctx, NOTE_ERROR, http_t(ctx, "err_internal"));
		return;
	}
	http_sha256_hex(token, hash);
	snprintf(key, sizeof(key), "c:%s", hash);
	snprintf(value, sizeof(value), "acct=%s addr=%s", ctx->acct.address,
		 addr);
	int ret = host->policy->state_put(srv->mod, key, value, strlen(value),
					  now + 86400, NULL, NULL);
	snprintf(key, sizeof(key), "pc:%s", ctx->acct.address);
	if (ret == 0)
		ret = host->policy->state_put(srv->mod, key, addr, strlen(addr),
					      now + 86400, secondary_done, ctx);
	if (ret < 0) {
		page_password(ctx, NOTE_ERROR, http_t(ctx, "err_internal"));
		return;
	}
	char base[300], link[600];
	http_public_url(ctx, ctx->acct.address, base, sizeof(base));
	snprintf(link, sizeof(link), "%s/confirm?t=%s", base, token);
	const char *vars[] = {
		"address", ctx->acct.address, "secondary", addr, "link", link,
		"hostname", host->core->hostname(srv->mod), NULL,
	};
	http_mail_send(srv, HTTP_MAIL_CONFIRM, ctx->lang, addr, vars);
	http_log(ctx, POSTINO_LOG_INFO, "secondary address %s for %s: "
		 "confirmation sent", addr, ctx->acct.address);
	explicit_bzero(token, sizeof(token));
}

/* The pending confirmation of a token: 0 with account and address. */
static int confirm_lookup(struct http_ctx *ctx, const char *token,
			  char *account, char *addr)
{
	char hash[65], key[80], value[800];
	size_t len = 0;
	int n = 0;

	if (token == NULL || strlen(token) != HTTP_TOKEN_HEX - 1)
		return -ENOENT;
	http_sha256_hex(token, hash);
	snprintf(key, sizeof(key), "c:%s", hash);
	if (ctx->srv->host->policy->state_get(ctx->srv->mod, key, value,
					      sizeof(value) - 1, &len) < 0 ||
	    len >= sizeof(value))
		return -ENOENT;
	value[len] = '\0';
	if (sscanf(value, "acct=%319s addr=%319s%n", account, addr, &n) != 2 ||
	    value[n] != '\0')
		return -ENOENT;
	return 0;
}

void page_confirm(struct http_ctx *ctx)
{
	const char *token = form_get(&ctx->query, "t");
	char account[HTTP_ADDRESS_MAX], addr[HTTP_ADDRESS_MAX];
	struct hbuf *o = &ctx->out;

	/* A GET changes nothing (mail scanners follow links): the button
	 * does. */
	if (confirm_lookup(ctx, token, account, addr) < 0) {
		html_message(ctx, 404, "title_confirm", NOTE_ERROR,
			     http_t(ctx, "err_link"), "/", "home");
		return;
	}
	html_begin(ctx, "title_confirm");
	hbuf_str(o, "<p>");
	hbuf_html(o, http_t(ctx, "confirm_text"));
	hbuf_str(o, "</p>\n<dl>\n<dt>");
	hbuf_html(o, http_t(ctx, "label_mailbox"));
	hbuf_str(o, "</dt><dd>");
	hbuf_html(o, account);
	hbuf_str(o, "</dd>\n<dt>");
	hbuf_html(o, http_t(ctx, "label_secondary"));
	hbuf_str(o, "</dt><dd>");
	hbuf_html(o, addr);
	hbuf_str(o, "</dd>\n</dl>\n");
	html_form_begin(ctx, "/confirm");
	html_hidden(ctx, "t", token);
	html_form_end(ctx, "button_confirm");
	html_page(ctx, 200);
}

static void confirm_set(void *data, int status)
{
	struct http_ctx *ctx = data;

	if (http_gone(ctx))
		return;
	if (status < 0) {
		html_message(ctx, 500, "title_confirm", NOTE_ERROR,
			     http_t(ctx, "err_internal"), "/", "home");
		return;
	}
	if (ctx->logged_in)
		http_session_load(ctx);
	html_message(ctx, 200, "title_confirm", NOTE_OK,
		     http_t(ctx, "confirmed"), "/", "home");
}

void post_confirm(struct http_ctx *ctx)
{
	struct http_server *srv = ctx->srv;
	const char *token = form_get(&ctx->form, "t");
	char account[HTTP_ADDRESS_MAX], addr[HTTP_ADDRESS_MAX];
	char hash[65], key[400];

	if (confirm_lookup(ctx, token, account, addr) < 0) {
		html_message(ctx, 404, "title_confirm", NOTE_ERROR,
			     http_t(ctx, "err_link"), "/", "home");
		return;
	}
	http_sha256_hex(token, hash);
	snprintf(key, sizeof(key), "c:%s", hash);
	srv->host->policy->state_delete(srv->mod, key, NULL, NULL);
	snprintf(key, sizeof(key), "pc:%s", account);
	srv->host->policy->state_delete(srv->mod, key, NULL, NULL);
	http_log(ctx, POSTINO_LOG_INFO, "secondary address of %s confirmed: "
		 "%s", account, addr);
	int ret = srv->host->account->account_set(srv->mod, account, addr, NULL,
						  confirm_set, ctx);
	if (ret < 0) {
		confirm_set(ctx, ret);
		return;
	}
}

/* ---- the password API (Roundcube's password plugin, httpapi driver) ------ */

static void api_reply(struct http_ctx *ctx, int status, const char *text)
{
	char body[700];
	int n = snprintf(body, sizeof(body), "%s\n", text);

	http_respond(ctx, status, "text/plain; charset=utf-8", body,
		     (size_t)n < sizeof(body) ? (size_t)n : sizeof(body) - 1,
		     NULL);
}

static void api_changed(struct http_ctx *ctx, int status)
{
	if (status == -EPERM) {
		char text[700];
		snprintf(text, sizeof(text), "refused: %s", ctx->text);
		api_reply(ctx, 422, text);
		return;
	}
	api_reply(ctx, status < 0 ? 500 : 200,
		  status < 0 ? "error" : "ok");
}

static void api_verified(void *data, enum postino_auth_result result,
			 const char *account)
{
	struct http_ctx *ctx = data;

	if (http_gone(ctx))
		return;
	if (result != POSTINO_AUTH_OK) {
		explicit_bzero(ctx->password, sizeof(ctx->password));
		api_reply(ctx, result == POSTINO_AUTH_TEMPFAIL ? 429
			       : result == POSTINO_AUTH_DISABLED ? 403 : 401,
			  result == POSTINO_AUTH_TEMPFAIL ? "try later"
			  : result == POSTINO_AUTH_DISABLED
				  ? "account disabled"
				  : "wrong user or password");
		return;
	}
	snprintf(ctx->account, sizeof(ctx->account), "%s", account);
	ctx->lang = account_lang(ctx->srv, account);
	http_password_change(ctx, "api", api_changed);
}

void post_api_password(struct http_ctx *ctx)
{
	const char *user = form_get(&ctx->form, "user");
	const char *cur = form_get(&ctx->form, "curpass");
	const char *pw = form_get(&ctx->form, "newpass");

	if (!field_ok(user, HTTP_ADDRESS_MAX - 1) ||
	    !field_ok(cur, HTTP_PASSWORD_MAX) ||
	    !field_ok(pw, HTTP_PASSWORD_MAX)) {
		api_reply(ctx, 400, "user, curpass and newpass are required");
		return;
	}
	snprintf(ctx->password, sizeof(ctx->password), "%s", pw);
	http_wait(ctx, true);
	int ret = ctx->srv->host->proto->auth_verify(ctx->c->conn, user, cur,
						     api_verified, ctx);
	if (ret < 0) {
		http_wait(ctx, false);
		api_reply(ctx, 503, "try later");
	}
}
