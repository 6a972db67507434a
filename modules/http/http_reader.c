/* The bounded request reader (http_reader.h). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "http_reader.h"

static struct http_reader *reader_of(http_parser *p)
{
	return p->data;
}

/* Stops the parser with an answer for the client. (-1: 1 and 2 mean
 * "no body" and "upgrade" to on_headers_complete.) */
static int reader_fail(struct http_reader *r, int status)
{
	if (r->status == 0)
		r->status = status;
	return -1;
}

static int on_message_begin(http_parser *p)
{
	struct http_reader *r = reader_of(p);

	r->started = true;
	return 0;
}

static int head_count(struct http_reader *r, size_t len, int status)
{
	r->head_bytes += len;
	return r->head_bytes > HTTP_HEAD_MAX ? reader_fail(r, status) : 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct http_reader *r = reader_of(p);

	if (r->req.url_len + len > HTTP_URL_MAX)
		return reader_fail(r, 414);
	memcpy(r->req.url + r->req.url_len, at, len);
	r->req.url_len += len;
	r->req.url[r->req.url_len] = '\0';
	return head_count(r, len, 414);
}

/* The headers the panel reads; others are counted and skipped. */
static void value_target(struct http_reader *r)
{
	struct {
		const char *name;
		char *buf;
		size_t size;
	} wanted[] = {
		{ "host", r->req.host, sizeof(r->req.host) },
		{ "cookie", r->req.cookie, sizeof(r->req.cookie) },
		{ "content-type", r->req.content_type,
		  sizeof(r->req.content_type) },
		{ "accept-language", r->req.accept_language,
		  sizeof(r->req.accept_language) },
	};

	r->value = NULL;
	r->value_len = 0;
	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		if (r->field_len == strlen(wanted[i].name) &&
		    memcmp(r->field, wanted[i].name, r->field_len) == 0) {
			r->value = wanted[i].buf;
			r->value_size = wanted[i].size;
			/* A repeated header: the last one counts, except
			 * Cookie, whose pieces browsers may split. */
			if (strcmp(wanted[i].name, "cookie") == 0 &&
			    r->value[0] != '\0') {
				r->value_len = strlen(r->value);
				if (r->value_len + 2 < r->value_size) {
					memcpy(r->value + r->value_len, "; ", 3);
					r->value_len += 2;
				}
			} else {
				r->value[0] = '\0';
			}
			return;
		}
	}
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct http_reader *r = reader_of(p);

	if (r->in_value || r->header_count == 0) {
		if (++r->header_count > HTTP_HEADERS_MAX)
			return reader_fail(r, 431);
		r->in_value = false;
		r->field_len = 0;
	}
	for (size_t i = 0; i < len; i++) {
		/* Longer names are none we read: keep a prefix that matches
		 * nothing. */
		if (r->field_len < sizeof(r->field))
			r->field[r->field_len] = (char)tolower((unsigned char)at[i]);
		r->field_len++;
	}
	if (r->field_len > sizeof(r->field))
		r->field_len = sizeof(r->field);
	return head_count(r, len, 431);
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct http_reader *r = reader_of(p);

	if (!r->in_value) {
		r->in_value = true;
		value_target(r);
	}
	if (r->value != NULL) {
		if (r->value_len + len >= r->value_size)
			return reader_fail(r, 431);
		memcpy(r->value + r->value_len, at, len);
		r->value_len += len;
		r->value[r->value_len] = '\0';
	}
	return head_count(r, len, 431);
}

static int on_headers_complete(http_parser *p)
{
	struct http_reader *r = reader_of(p);

	r->req.method = (enum http_method)p->method;
	/* A declared length past the limit is refused before any of it is
	 * read. (ULLONG_MAX: no Content-Length.) */
	if (p->content_length != ULLONG_MAX &&
	    p->content_length > (unsigned long long)r->max_body)
		return reader_fail(r, 413);
	if (p->upgrade)
		return reader_fail(r, 400);
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct http_reader *r = reader_of(p);

	if (r->req.body_len + len > r->max_body)
		return reader_fail(r, 413);
	if (r->req.body_len + len + 1 > r->body_size) {
		size_t size = r->body_size > 0 ? r->body_size : 1024;
		while (size < r->req.body_len + len + 1)
			size *= 2;
		char *grown = realloc(r->req.body, size);
		if (grown == NULL)
			return reader_fail(r, 500);
		r->req.body = grown;
		r->body_size = size;
	}
	memcpy(r->req.body + r->req.body_len, at, len);
	r->req.body_len += len;
	r->req.body[r->req.body_len] = '\0';
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct http_reader *r = reader_of(p);

	r->complete = true;
	r->req.keep_alive = http_should_keep_alive(p) != 0;
	/* One request at a time: the next one waits in the caller's input. */
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings reader_settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

void http_reader_init(struct http_reader *r, size_t max_body)
{
	memset(r, 0, sizeof(*r));
	http_parser_init(&r->parser, HTTP_REQUEST);
	r->parser.data = r;
	r->max_body = max_body;
}

enum http_read http_reader_feed(struct http_reader *r, const char *data,
				size_t len, size_t *used_r)
{
	*used_r = 0;
	if (r->status != 0)
		return HTTP_READ_ERROR;
	if (r->complete)
		return HTTP_READ_DONE;
	size_t used = http_parser_execute(&r->parser, &reader_settings, data,
					  len);
	enum http_errno err = HTTP_PARSER_ERRNO(&r->parser);

	*used_r = used;
	if (r->status != 0)
		return HTTP_READ_ERROR;
	if (r->complete) {
		/* Paused after the message: the pause is ours, not an error. */
		http_parser_pause(&r->parser, 0);
		return HTTP_READ_DONE;
	}
	if (err != HPE_OK) {
		if (r->status == 0)
			r->status = err == HPE_HEADER_OVERFLOW ? 431
				    : err == HPE_INVALID_VERSION ? 505 : 400;
		return HTTP_READ_ERROR;
	}
	/* The head so far counts while it arrives: a header block that
	 * never ends is refused at the limit, not kept. */
	return HTTP_READ_AGAIN;
}

void http_reader_next(struct http_reader *r)
{
	if (r->req.body != NULL) {
		explicit_bzero(r->req.body, r->req.body_len);
		free(r->req.body);
	}
	memset(&r->req, 0, sizeof(r->req));
	r->head_bytes = 0;
	r->header_count = 0;
	r->field_len = 0;
	r->in_value = false;
	r->value = NULL;
	r->body_size = 0;
	r->started = false;
	r->complete = false;
}

void http_reader_free(struct http_reader *r)
{
	http_reader_next(r);
}
