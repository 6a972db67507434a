/* Routing: one row per method and path, with what the route needs (TLS,
 * a session, a form, a CSRF token); plain HTTP serves only the
 * autoconfiguration documents clients fetch that way and redirects
 * everything else to HTTPS. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"

enum {
	R_CLEAR = 1,  /* also served over plain HTTP */
	R_AUTH = 2,   /* needs a session */
	R_FORM = 4,   /* a urlencoded body */
	R_CSRF = 8,   /* and its CSRF token */
	R_NOCASE = 16, /* the path in any case (Outlook's Autodiscover) */
};

struct route {
	enum http_method method;
	const char *path;
	unsigned flags;
	void (*run)(struct http_ctx *ctx);
};

static void get_css(struct http_ctx *ctx)
{
	http_respond(ctx, 200, "text/css; charset=utf-8", ctx->srv->css,
		     ctx->srv->css_len, "Cache-Control: max-age=3600\r\n");
}

static void get_login(struct http_ctx *ctx)
{
	if (ctx->logged_in) {
		http_redirect(ctx, "/");
		return;
	}
	page_login(ctx, NULL);
}

static void get_home(struct http_ctx *ctx)
{
	page_home(ctx);
}

static void get_password(struct http_ctx *ctx)
{
	const char *done = form_get(&ctx->query, "done");
	const char *key = NULL;

	if (done != NULL && strcmp(done, "reminder") == 0)
		key = "reminder_saved";
	else if (done != NULL && strcmp(done, "secondary") == 0)
		key = "secondary_sent";
	else if (done != NULL && strcmp(done, "secondary-removed") == 0)
		key = "secondary_removed";
	page_password(ctx, key != NULL ? NOTE_OK : NOTE_NONE,
		      key != NULL ? http_t(ctx, key) : NULL);
}

static const struct route routes[] = {
	{ HTTP_GET, "/", R_AUTH, get_home },
	{ HTTP_GET, "/panel.css", R_CLEAR, get_css },
	{ HTTP_GET, "/login", 0, get_login },
	{ HTTP_POST, "/login", R_FORM | R_CSRF, post_login },
	{ HTTP_POST, "/logout", R_AUTH | R_FORM | R_CSRF, post_logout },
	{ HTTP_GET, "/password", R_AUTH, get_password },
	{ HTTP_POST, "/password", R_AUTH | R_FORM | R_CSRF, post_password },
	{ HTTP_POST, "/reminder", R_AUTH | R_FORM | R_CSRF, post_reminder },
	{ HTTP_POST, "/secondary", R_AUTH | R_FORM | R_CSRF, post_secondary },
	{ HTTP_GET, "/confirm", 0, page_confirm },
	{ HTTP_POST, "/confirm", R_FORM | R_CSRF, post_confirm },
	{ HTTP_GET, "/recover", 0, page_recover },
	{ HTTP_POST, "/recover", R_FORM | R_CSRF, post_recover },
	{ HTTP_GET, "/reset", 0, page_reset },
	{ HTTP_POST, "/reset", R_FORM | R_CSRF, post_reset },
	{ HTTP_GET, "/autoreply", R_AUTH, page_autoreply },
	{ HTTP_POST, "/autoreply", R_AUTH | R_FORM | R_CSRF, post_autoreply },
	{ HTTP_GET, "/postino.mobileconfig", R_AUTH, get_mobileconfig },
	/* Webmail's password plugin: authenticated by the current password,
	 * not by a cookie, so no CSRF token. */
	{ HTTP_POST, "/api/password", R_FORM, post_api_password },
	/* Thunderbird (autoconfig.DOMAIN over HTTP or HTTPS). */
	{ HTTP_GET, "/mail/config-v1.1.xml", R_CLEAR, get_thunderbird },
	{ HTTP_GET, "/.well-known/autoconfig/mail/config-v1.1.xml", R_CLEAR,
	  get_thunderbird },
	/* Outlook. */
	{ HTTP_POST, "/autodiscover/autodiscover.xml", R_CLEAR | R_NOCASE,
	  post_autodiscover },
};

static void tls_port_cb(void *data, const struct postino_listener *l)
{
	int *port = data;

	if (*port == 0 && strcmp(l->protocol, "http") == 0 &&
	    l->tls == POSTINO_LISTENER_TLS_IMPLICIT)
		*port = l->port;
}

int http_public_url(struct http_ctx *ctx, const char *account, char *buf,
		    size_t len)
{
	const struct postino_host *host = ctx->srv->host;
	const char *at = account != NULL ? strrchr(account, '@') : NULL;
	char name[256];

	if (ctx->srv->public_url != NULL && ctx->srv->public_url[0] != '\0') {
		size_t n = strlen(ctx->srv->public_url);
		while (n > 0 && ctx->srv->public_url[n - 1] == '/')
			n--;
		snprintf(buf, len, "%.*s", (int)n, ctx->srv->public_url);
		return 0;
	}
	if (host->core->server_name(ctx->srv->mod,
				    at != NULL ? at + 1 : "", name,
				    sizeof(name)) < 0)
		snprintf(name, sizeof(name), "%s",
			 host->core->hostname(ctx->srv->mod));
	/* The port of our own TLS listener: the one serving this
	 * request when it is TLS, else the first implicit one. */
	int port = ctx->c->info->tls ? ctx->c->info->local_port : 0;
	if (port == 0)
		host->core->listener_list(ctx->srv->mod, tls_port_cb, &port);
	if (port == 0)
		port = 443;
	if (port == 443)
		snprintf(buf, len, "https://%s", name);
	else
		snprintf(buf, len, "https://%s:%d", name, port);
	return 0;
}

/* Plain HTTP: everything else moves to HTTPS, same host, our TLS port. */
static void redirect_https(struct http_ctx *ctx)
{
	char host[256], location[HTTP_URL_MAX + 400];
	int port = 0;

	if (ctx->req->method != HTTP_GET && ctx->req->method != HTTP_HEAD) {
		http_error(ctx, 403);
		return;
	}
	ctx->srv->host->core->listener_list(ctx->srv->mod, tls_port_cb, &port);
	snprintf(host, sizeof(host), "%s", ctx->req->host[0] != '\0'
			 ? ctx->req->host
			 : ctx->srv->host->core->hostname(ctx->srv->mod));
	/* Host may carry a port (or be an IPv6 literal in brackets). */
	char *colon = strrchr(host, ':');
	if (colon != NULL && strchr(colon, ']') == NULL)
		*colon = '\0';
	for (char *p = host; *p != '\0'; p++) {
		if (*p <= ' ' || *p == '/' || *p == '\\' || *p == '@' ||
		    (unsigned char)*p >= 0x7f) {
			http_error(ctx, 400);
			return;
		}
	}
	if (port == 0 || port == 443)
		snprintf(location, sizeof(location), "https://%s%s", host,
			 ctx->req->url);
	else
		snprintf(location, sizeof(location), "https://%s:%d%s", host,
			 port, ctx->req->url);
	struct hbuf extra;
	hbuf_init(&extra, HTTP_URL_MAX + 512);
	hbuf_printf(&extra, "Location: %s\r\n", location);
	http_respond(ctx, 301, NULL, "", 0,
		     extra.overflow ? NULL : hbuf_cstr(&extra));
	hbuf_free(&extra);
}

static bool path_is(const struct route *r, const char *path)
{
	return (r->flags & R_NOCASE) ? strcasecmp(r->path, path) == 0
				     : strcmp(r->path, path) == 0;
}

void http_route(struct http_ctx *ctx)
{
	const struct http_request *req = ctx->req;
	bool tls = ctx->c->info->tls;
	const char *q = strchr(req->url, '?');
	size_t plen = q != NULL ? (size_t)(q - req->url) : req->url_len;

	if (req->url[0] != '/' || plen >= sizeof(ctx->path)) {
		http_error(ctx, 400);
		return;
	}
	memcpy(ctx->path, req->url, plen);
	ctx->path[plen] = '\0';
	if (q != NULL && form_parse(&ctx->query, q + 1, strlen(q + 1)) < 0) {
		http_error(ctx, 400);
		return;
	}
	const char *lang = accept_language_pick(req->accept_language);
	if (lang != NULL)
		ctx->lang = strcmp(lang, "it") == 0;
	enum http_method method = req->method == HTTP_HEAD ? HTTP_GET
							   : req->method;
	const struct route *route = NULL;
	bool path_known = false;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (!path_is(&routes[i], ctx->path))
			continue;
		path_known = true;
		if (routes[i].method == method)
			route = &routes[i];
	}
	if (!tls && (route == NULL || !(route->flags & R_CLEAR))) {
		redirect_https(ctx);
		return;
	}
	if (route == NULL) {
		http_error(ctx, path_known ? 405 : 404);
		return;
	}
	if (tls)
		http_session_load(ctx);
	if ((route->flags & R_AUTH) && !ctx->logged_in) {
		if (method == HTTP_GET)
			http_redirect(ctx, "/login");
		else
			http_error(ctx, 403);
		return;
	}
	if (route->flags & R_FORM) {
		if (strncasecmp(req->content_type,
				"application/x-www-form-urlencoded", 33) != 0) {
			http_error(ctx, 415);
			return;
		}
		if (form_parse(&ctx->form, req->body != NULL ? req->body : "",
			       req->body_len) < 0) {
			http_error(ctx, 400);
			return;
		}
	}
	if ((route->flags & R_CSRF) && !http_csrf_ok(ctx)) {
		http_log(ctx, POSTINO_LOG_WARNING, "refused %s: no valid CSRF "
			 "token client=%s", ctx->path, ctx->c->info->client_ip);
		html_message(ctx, 403, "title_refused", NOTE_ERROR,
			     http_t(ctx, "err_csrf"), ctx->path, "again");
		return;
	}
	route->run(ctx);
}
