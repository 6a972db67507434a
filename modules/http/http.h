/* http.so's shared types: the server (module data, one per worker), one
 * connection, and the request being answered. Everything runs on the
 * worker's loop thread. */
#ifndef HTTP_H
#define HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <postino/plugin.h>

#include "http_buf.h"
#include "http_reader.h"
#include "http_sieve.h"
#include "pwpolicy_service.h"
#include "sieve_service.h"

#define HTTP_IDLE_TIMEOUT_S 60
#define HTTP_PAGE_MAX (256 * 1024)  /* a response body */
#define HTTP_ADDRESS_MAX 320
#define HTTP_PASSWORD_MAX 1024
#define HTTP_SID_BYTES 32           /* session ids and tokens: 256 bits */
#define HTTP_TOKEN_HEX (2 * HTTP_SID_BYTES + 1)
#define HTTP_COOKIE_SESSION "__Host-postino"
#define HTTP_COOKIE_PRE "__Host-postino-pre"
#define HTTP_LANGS 2                /* 0 en, 1 it */

/* Text of the pages and mails, per language, from etc/templates/http. */
struct http_text {
	size_t count;
	char **key;
	char **value;
};

struct http_mail_template {
	char *subject;
	char *body;
};

enum http_mail_kind {
	HTTP_MAIL_CONFIRM,  /* confirm a secondary address (to it) */
	HTTP_MAIL_CHANGED,  /* the password was changed (to the mailbox) */
	HTTP_MAIL_COUNT,
};

struct http_server {
	postino_mod *mod;
	const struct postino_host *host;
	const struct sieve_service *sieve;
	const struct pwpolicy_service *pw;
	struct postino_protocol proto;
	size_t max_body;
	unsigned request_timeout_ms;
	int64_t session_ttl;
	int64_t recover_interval;
	int lang;                   /* default: 0 en, 1 it */
	const char *public_url;     /* "" : from server_name and the listener */
	char from[HTTP_ADDRESS_MAX];
	const char *from_name;
	struct http_text text[HTTP_LANGS];
	struct http_mail_template mail[HTTP_LANGS][HTTP_MAIL_COUNT];
	char *css;
	size_t css_len;
	unsigned char key[32];      /* CSRF tokens are HMACs under it */
};

struct http_ctx;

/* One connection. */
struct http_conn {
	struct http_server *srv;
	postino_conn *conn;         /* NULL once on_close ran */
	const struct postino_conn_info *info;
	struct http_reader reader;
	char *pending;              /* input after the request being answered */
	size_t pending_len;
	postino_timer *deadline;    /* the request must arrive within it */
	struct http_ctx *ctx;       /* the request being answered, or NULL */
	/* The answer waits for a host call that never calls back once the
	 * connection closed (auth_verify, hooks_run): on_close frees. */
	bool wait_tied;
	bool closing;
	bool feeding;               /* inside conn_feed's loop */
};

/* A page's notices. */
enum http_note { NOTE_NONE, NOTE_OK, NOTE_ERROR };

/* One request being answered. */
struct http_ctx {
	struct http_conn *c;
	struct http_server *srv;
	struct http_request *req;
	char path[512];
	struct form query;
	struct form form;           /* a POST's urlencoded body */
	int lang;
	/* The session, when the request carries a valid one. */
	bool logged_in;
	char sid[HTTP_TOKEN_HEX];
	struct postino_account acct;
	/* Anonymous pages' CSRF cookie. */
	char pre[HTTP_TOKEN_HEX];
	bool set_pre;
	char set_cookie[256];      /* a Set-Cookie to send, or "" */
	struct hbuf out;           /* the page */
	/* What an asynchronous flow carries between its steps. */
	char account[HTTP_ADDRESS_MAX];
	char password[HTTP_PASSWORD_MAX + 1];
	char hash[200];
	char text[600];
	int step;
	struct panel_rules rules;
	void (*after)(struct http_ctx *ctx, int status);
	/* Run between validation and hashing (a reset spends its link). */
	int (*before_hash)(struct http_ctx *ctx);
};

/* http.c */
const char *http_t(struct http_ctx *ctx, const char *key);
const char *http_t_lang(struct http_server *srv, int lang, const char *key);

/* http_conn.c: the protocol. */
void http_on_connect(postino_conn *conn, void *data);
void http_on_line(postino_conn *conn, const char *line, size_t len,
		  int too_long, void *data);
void http_on_bytes(postino_conn *conn, const char *bytes, size_t len,
		   int last, void *data);
void http_on_close(postino_conn *conn, const char *reason, void *data);
/* Sends the response and ends the request (then the next one is read).
 * body may be NULL (ctx->out is sent). extra: more header lines, each
 * ending in CRLF, or NULL. */
void http_respond(struct http_ctx *ctx, int status, const char *type,
		  const char *body, size_t len, const char *extra);
void http_redirect(struct http_ctx *ctx, const char *location);
void http_error(struct http_ctx *ctx, int status);
/* Marks the request as waiting for a host call; tied: one that never
 * calls back once the connection closed. */
void http_wait(struct http_ctx *ctx, bool tied);
/* A callback's first step: 1 when the connection went meanwhile (ctx
 * is then freed and must not be touched). */
int http_gone(struct http_ctx *ctx);
void http_log(struct http_ctx *ctx, enum postino_log_level level,
	      const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* http_session.c: sessions and CSRF. */
int http_session_load(struct http_ctx *ctx);
/* Creates a session for account (durable before done). */
int http_session_start(struct http_ctx *ctx, const char *account,
		       void (*done)(struct http_ctx *ctx, int status));
void http_session_end(struct http_ctx *ctx);
/* Stores the account's new password_changed in the session, so this
 * session survives its own change while every other one ends. */
void http_session_renew(struct http_ctx *ctx);
void http_csrf_token(struct http_ctx *ctx, char out[HTTP_TOKEN_HEX]);
bool http_csrf_ok(struct http_ctx *ctx);
int http_random_hex(char out[HTTP_TOKEN_HEX]);
void http_sha256_hex(const char *text, char out[65]);

/* http_html.c: the layout. */
void html_begin(struct http_ctx *ctx, const char *title_key);
void html_end(struct http_ctx *ctx);
void html_note(struct http_ctx *ctx, enum http_note kind, const char *text);
void html_form_begin(struct http_ctx *ctx, const char *action);
void html_form_end(struct http_ctx *ctx, const char *button_key);
void html_input(struct http_ctx *ctx, const char *type, const char *name,
		const char *label_key, const char *value,
		const char *autocomplete);
void html_hidden(struct http_ctx *ctx, const char *name, const char *value);
void html_page(struct http_ctx *ctx, int status);
/* A one-message page (title, note, optional link). */
void html_message(struct http_ctx *ctx, int status, const char *title_key,
		  enum http_note kind, const char *text,
		  const char *link, const char *link_key);

/* http_pages.c: the routes. */
void http_route(struct http_ctx *ctx);
int http_public_url(struct http_ctx *ctx, const char *account, char *buf,
		    size_t len);

/* http_account.c: log in, password, reminder, secondary address. */
void page_login(struct http_ctx *ctx, const char *error);
void post_login(struct http_ctx *ctx);
void post_logout(struct http_ctx *ctx);
void page_home(struct http_ctx *ctx);
void page_password(struct http_ctx *ctx, enum http_note kind,
		   const char *note);
void post_password(struct http_ctx *ctx);
void post_reminder(struct http_ctx *ctx);
void post_secondary(struct http_ctx *ctx);
void page_confirm(struct http_ctx *ctx);
void post_confirm(struct http_ctx *ctx);
void post_api_password(struct http_ctx *ctx);
/* The steps every password change shares: validate (hooks), hash, set,
 * log, announce. ctx->account and ctx->password are set; done(ctx,
 * 0, or -EPERM with the reason in ctx->text, or another -errno). */
void http_password_change(struct http_ctx *ctx, const char *how,
			  void (*done)(struct http_ctx *ctx, int status));

/* http_recover.c */
void page_recover(struct http_ctx *ctx);
void post_recover(struct http_ctx *ctx);
void page_reset(struct http_ctx *ctx);
void post_reset(struct http_ctx *ctx);

/* http_autoreply.c */
void page_autoreply(struct http_ctx *ctx);
void post_autoreply(struct http_ctx *ctx);

/* http_autoconfig.c */
void get_thunderbird(struct http_ctx *ctx);
void post_autodiscover(struct http_ctx *ctx);
void get_mobileconfig(struct http_ctx *ctx);
/* The client settings of the home page. */
void html_client_settings(struct http_ctx *ctx);

/* http_mail.c */
int http_templates_load(struct http_server *srv, const char *dir, char *err,
			size_t errlen);
void http_templates_free(struct http_server *srv);
/* Sends mail kind (in lang) to `to` (local or remote) with {{name}}
 * placeholders from vars (name, value pairs ending with NULL). Logged;
 * done(ctx-free data, status) not needed: fire and forget. */
int http_mail_send(struct http_server *srv, enum http_mail_kind kind,
		   int lang, const char *to, const char *const *vars);

#endif
