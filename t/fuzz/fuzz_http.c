/* libFuzzer target: http.so's request reader (http_reader.c over
 * libhttp-parser) and what the routes do with a request: the query and
 * a urlencoded body as forms, the cookie, Accept-Language, and a body
 * taken as the panel's Sieve settings.
 *
 * The input is a client's byte stream (pipelined requests, chunked
 * bodies) fed in chunks whose size comes from the first byte. Checked:
 * a DONE request's target, kept headers and body are NUL-terminated and
 * within their limits; an error is one of the statuses the server sends;
 * the reader never reads past what it was given; and rules a form gives
 * survive the round trip through the script the panel writes (the
 * script reads back as the panel's own, with the same rules). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_buf.h"
#include "http_reader.h"
#include "http_sieve.h"

#define MAX_BODY 4096

static void check_round_trip(const char *body, size_t len)
{
	struct form f;
	struct panel_rules rules, back;
	const char *what;

	if (form_parse(&f, body, len) == 0 &&
	    panel_rules_from_form(&f, &rules, &what) == 0) {
		struct hbuf script;
		hbuf_init(&script, 256 * 1024);
		if (panel_script(&rules, &script) == 0) {
			if (panel_script_read(script.data, script.len,
					      &back) != 1 ||
			    back.vacation != rules.vacation ||
			    back.forward_count != rules.forward_count ||
			    strcmp(back.text, rules.text) != 0 ||
			    strcmp(back.subject, rules.subject) != 0)
				abort();
		}
		hbuf_free(&script);
	}
	form_free(&f);
	/* Any body as a script the panel may find. */
	panel_script_read(body, len, &back);
}

static void check_request(const struct http_request *req)
{
	struct form q;
	char cookie[128];

	if (req->url_len > HTTP_URL_MAX || req->url[req->url_len] != '\0' ||
	    strlen(req->url) != req->url_len)
		abort();
	if (strnlen(req->host, sizeof(req->host)) == sizeof(req->host) ||
	    strnlen(req->cookie, sizeof(req->cookie)) == sizeof(req->cookie))
		abort();
	if (req->body_len > MAX_BODY ||
	    (req->body != NULL && req->body[req->body_len] != '\0'))
		abort();
	const char *qm = strchr(req->url, '?');
	if (qm != NULL) {
		form_parse(&q, qm + 1, strlen(qm + 1));
		form_free(&q);
	}
	cookie_get(req->cookie, "__Host-postino", cookie, sizeof(cookie));
	accept_language_pick(req->accept_language);
	if (req->body != NULL)
		check_round_trip(req->body, req->body_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_reader r;

	if (size < 1)
		return 0;
	size_t chunk = (size_t)data[0] % 64 + 1;
	const char *p = (const char *)data + 1;
	size_t left = size - 1;

	http_reader_init(&r, MAX_BODY);
	while (left > 0) {
		size_t n = left < chunk ? left : chunk, used;
		enum http_read res = http_reader_feed(&r, p, n, &used);
		if (used > n)
			abort();
		p += used;
		left -= used;
		if (res == HTTP_READ_ERROR) {
			int s = r.status;
			if (s != 400 && s != 413 && s != 414 && s != 431 &&
			    s != 500 && s != 505)
				abort();
			break;
		}
		if (res == HTTP_READ_DONE) {
			check_request(&r.req);
			http_reader_next(&r);
		} else if (used != n) {
			abort();
		}
	}
	http_reader_free(&r);
	return 0;
}
