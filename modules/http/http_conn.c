/* The protocol: bytes into the request reader, one request answered at a
 * time (pipelined ones wait in order), responses with the security
 * headers every page carries, keep-alive, and the request deadline.
 *
 * All input is read raw (conn_read_bytes with no end): HTTP is not a line
 * protocol, and the core's per-line command deadline would bound a header
 * line, not a request. A request gets [http] request_timeout from its
 * first byte to its last (slow loris); between requests the connection's
 * idle timeout holds. While a request is answered (a password check, a
 * commit) input is paused and what came after it waits in `pending`. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

static void conn_process(struct http_conn *c);

void http_log(struct http_ctx *ctx, enum postino_log_level level,
	      const char *fmt, ...)
{
	char line[1024];
	va_list args;

	va_start(args, fmt);
	vsnprintf(line, sizeof(line), fmt, args);
	va_end(args);
	ctx->srv->host->core->log(ctx->srv->mod, level,
				  ctx->c->info != NULL
					  ? ctx->c->info->session_id : NULL,
				  "%s", line);
}

static const char *status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 301: return "Moved Permanently";
	case 303: return "See Other";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Status";
	}
}

static void ctx_free(struct http_ctx *ctx)
{
	form_free(&ctx->query);
	form_free(&ctx->form);
	hbuf_free(&ctx->out);
	explicit_bzero(ctx->password, sizeof(ctx->password));
	explicit_bzero(ctx->hash, sizeof(ctx->hash));
	free(ctx);
}

static void conn_free(struct http_conn *c)
{
	if (c->deadline != NULL)
		c->srv->host->core->timer_stop(&c->deadline);
	http_reader_free(&c->reader);
	free(c->pending);
	free(c);
}

/* A response straight from the connection (no request context): errors
 * of the reader and the deadline. Always closes. */
static void conn_fail(struct http_conn *c, int status)
{
	const struct postino_host_proto *proto = c->srv->host->proto;
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\nContent-Type: text/plain; "
			 "charset=utf-8\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n%d %s\n",
			 status, status_text(status),
			 strlen(status_text(status)) + 5, status,
			 status_text(status));

	proto->conn_write(c->conn, head, (size_t)n);
	c->closing = true;
	proto->conn_close(c->conn, status == 408 ? "request timeout"
						 : "bad request");
}

static void deadline_fire(void *data)
{
	struct http_conn *c = data;

	c->srv->host->core->timer_stop(&c->deadline);
	if (c->conn == NULL || c->closing || c->ctx != NULL)
		return;
	c->srv->host->core->log(c->srv->mod, POSTINO_LOG_WARNING,
				c->info->session_id,
				"request not received within %u s client=%s",
				c->srv->request_timeout_ms / 1000,
				c->info->client_ip);
	conn_fail(c, 408);
}

static void deadline_track(struct http_conn *c)
{
	const struct postino_host_core *core = c->srv->host->core;
	bool arriving = c->reader.started && !c->reader.complete;

	if (arriving && c->deadline == NULL)
		c->deadline = core->timer_start(c->srv->mod,
						c->srv->request_timeout_ms, 0,
						0, deadline_fire, c);
	else if (!arriving && c->deadline != NULL)
		core->timer_stop(&c->deadline);
}

void http_on_connect(postino_conn *conn, void *data)
{
	struct http_server *srv = data;
	struct http_conn *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		srv->host->proto->conn_close(conn, "out of memory");
		return;
	}
	c->srv = srv;
	c->conn = conn;
	c->info = srv->host->proto->conn_info(conn);
	http_reader_init(&c->reader, srv->max_body);
	srv->host->proto->conn_set_data(conn, c);
	srv->host->proto->conn_read_bytes(conn, UINT64_MAX);
}

/* Never called: the connection reads raw bytes from its first one. */
void http_on_line(postino_conn *conn, const char *line, size_t len,
		  int too_long, void *data)
{
	(void)line;
	(void)len;
	(void)too_long;
	(void)data;
	struct http_conn *c = ((struct http_server *)data)->host->proto
				      ->conn_get_data(conn);
	if (c != NULL)
		conn_fail(c, 400);
}

static void ctx_start(struct http_conn *c)
{
	struct http_ctx *ctx = calloc(1, sizeof(*ctx));

	c->srv->host->core->timer_stop(&c->deadline);
	if (ctx == NULL) {
		conn_fail(c, 500);
		return;
	}
	ctx->c = c;
	ctx->srv = c->srv;
	ctx->req = &c->reader.req;
	ctx->lang = c->srv->lang;
	hbuf_init(&ctx->out, HTTP_PAGE_MAX);
	c->ctx = ctx;
	http_route(ctx);
}

/* Feeds input, answering each complete request; stops when the input is
 * used up or a request waits for an asynchronous answer (the rest is then
 * kept in pending). Requests answered at once are followed by the next
 * in this loop, not by recursion. */
static void conn_feed(struct http_conn *c, const char *data, size_t len)
{
	while (len > 0 && c->ctx == NULL && !c->closing && c->conn != NULL) {
		size_t used;
		enum http_read r = http_reader_feed(&c->reader, data, len,
						    &used);
		data += used;
		len -= used;
		if (r == HTTP_READ_ERROR) {
			c->srv->host->core->log(
				c->srv->mod, POSTINO_LOG_INFO,
				c->info->session_id, "bad request (%d) "
				"client=%s", c->reader.status,
				c->info->client_ip);
			conn_fail(c, c->reader.status);
			return;
		}
		if (r != HTTP_READ_DONE)
			break;
		c->feeding = true;
		ctx_start(c);
		c->feeding = false;
	}
	if (len > 0 && c->ctx != NULL && c->conn != NULL && !c->closing) {
		/* What follows waits for this one's answer. */
		char *rest = malloc(len);
		if (rest == NULL) {
			conn_fail(c, 500);
			return;
		}
		memcpy(rest, data, len);
		c->pending = rest;
		c->pending_len = len;
	}
	if (c->conn != NULL && !c->closing)
		deadline_track(c);
}

void http_on_bytes(postino_conn *conn, const char *bytes, size_t len,
		   int last, void *data)
{
	struct http_server *srv = data;
	struct http_conn *c = srv->host->proto->conn_get_data(conn);

	(void)last;
	if (c == NULL || c->closing)
		return;
	conn_feed(c, bytes, len);
	/* A request being answered holds the rest of the input. */
	if (c->ctx != NULL && c->conn != NULL)
		srv->host->proto->conn_pause(conn);
}

/* After a response: the next request, from what waited. */
static void conn_process(struct http_conn *c)
{
	const struct postino_host_proto *proto = c->srv->host->proto;

	while (c->pending != NULL && c->ctx == NULL && !c->closing &&
	       c->conn != NULL) {
		char *data = c->pending;
		size_t len = c->pending_len;
		c->pending = NULL;
		c->pending_len = 0;
		conn_feed(c, data, len);
		free(data);
	}
	if (c->conn != NULL && c->ctx == NULL && !c->closing)
		proto->conn_resume(c->conn);
}

void http_on_close(postino_conn *conn, const char *reason, void *data)
{
	struct http_server *srv = data;
	struct http_conn *c = srv->host->proto->conn_get_data(conn);

	(void)reason;
	if (c == NULL)
		return;
	c->conn = NULL;
	if (c->ctx == NULL) {
		conn_free(c);
		return;
	}
	/* A host call tied to the connection never calls back now. */
	if (c->wait_tied) {
		ctx_free(c->ctx);
		conn_free(c);
	}
	/* Otherwise the waiting callback frees both (http_gone). */
}

void http_wait(struct http_ctx *ctx, bool tied)
{
	ctx->c->wait_tied = tied;
}

int http_gone(struct http_ctx *ctx)
{
	struct http_conn *c = ctx->c;

	c->wait_tied = false;
	if (c->conn != NULL)
		return 0;
	ctx_free(ctx);
	conn_free(c);
	return 1;
}

static void ctx_done(struct http_ctx *ctx, bool close)
{
	struct http_conn *c = ctx->c;
	const struct postino_host_proto *proto = c->srv->host->proto;

	/* A login marked the connection; the next request is anyone's. */
	if (c->info->account != NULL)
		proto->conn_set_account(c->conn, NULL);
	c->ctx = NULL;
	ctx_free(ctx);
	http_reader_next(&c->reader);
	if (close) {
		c->closing = true;
		proto->conn_close(c->conn, "request done");
		return;
	}
	/* Answered inside conn_feed: its loop reads on. */
	if (!c->feeding)
		conn_process(c);
}

void http_respond(struct http_ctx *ctx, int status, const char *type,
		  const char *body, size_t len, const char *extra)
{
	struct http_conn *c = ctx->c;
	const struct postino_host_proto *proto = c->srv->host->proto;
	struct hbuf head;
	bool close = !ctx->req->keep_alive || status >= 400;

	if (body == NULL) {
		if (ctx->out.overflow) {
			status = 500;
			type = "text/plain; charset=utf-8";
			hbuf_reset(&ctx->out);
			hbuf_str(&ctx->out, "500 response too large\n");
		}
		body = hbuf_cstr(&ctx->out);
		len = ctx->out.len;
	}
	/* Sign-in pages answer 401 and the like and stay usable: keep the
	 * connection for those a page explains. */
	if (status == 401 || status == 403 || status == 409 || status == 422 ||
	    status == 429)
		close = !ctx->req->keep_alive;
	hbuf_init(&head, 16 * 1024);
	hbuf_printf(&head, "HTTP/1.1 %d %s\r\n", status, status_text(status));
	if (type != NULL)
		hbuf_printf(&head, "Content-Type: %s\r\n", type);
	hbuf_printf(&head, "Content-Length: %zu\r\n", len);
	hbuf_str(&head, "Content-Security-Policy: default-src 'self'; "
		 "form-action 'self'; frame-ancestors 'none'; "
		 "base-uri 'none'\r\n"
		 "X-Content-Type-Options: nosniff\r\n"
		 "Referrer-Policy: no-referrer\r\n"
		 "X-Frame-Options: DENY\r\n");
	if (c->info->tls)
		hbuf_str(&head, "Strict-Transport-Security: max-age=31536000"
			 "\r\n");
	if (extra == NULL || strstr(extra, "Cache-Control:") == NULL)
		hbuf_str(&head, "Cache-Control: no-store\r\n");
	if (ctx->set_pre)
		hbuf_printf(&head, "Set-Cookie: " HTTP_COOKIE_PRE "=%s; Path=/; "
			    "Secure; HttpOnly; SameSite=Strict\r\n", ctx->pre);
	if (ctx->set_cookie[0] != '\0')
		hbuf_printf(&head, "Set-Cookie: %s\r\n", ctx->set_cookie);
	if (extra != NULL)
		hbuf_str(&head, extra);
	hbuf_str(&head, close ? "Connection: close\r\n\r\n" : "\r\n");
	proto->conn_write(c->conn, head.data, head.len);
	if (ctx->req->method != HTTP_HEAD)
		proto->conn_write(c->conn, body, len);
	hbuf_free(&head);
	ctx_done(ctx, close);
}

void http_redirect(struct http_ctx *ctx, const char *location)
{
	struct hbuf extra;

	hbuf_init(&extra, 4096);
	hbuf_str(&extra, "Location: ");
	hbuf_str(&extra, location);
	hbuf_str(&extra, "\r\n");
	http_respond(ctx, 303, NULL, "", 0,
		     extra.overflow ? NULL : hbuf_cstr(&extra));
	hbuf_free(&extra);
}

void http_error(struct http_ctx *ctx, int status)
{
	char body[64];
	int n = snprintf(body, sizeof(body), "%d %s\n", status,
			 status_text(status));

	http_respond(ctx, status, "text/plain; charset=utf-8", body,
		     (size_t)n, NULL);
}
