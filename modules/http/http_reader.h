/* Reading HTTP/1.1 requests: nodejs/http-parser (Debian's
 * libhttp-parser-dev, a bounded, allocation-free callback parser used
 * by Node.js for a decade) does the syntax, chunked bodies and
 * keep-alive; this wrapper bounds what a client may make us keep (the
 * request line, the header block, the number of headers, the body),
 * keeps the few headers the panel reads, and stops after each request so
 * pipelined ones are handled one at a time. Pure: unit-tested and fuzzed
 * (t/unit/http, t/fuzz/fuzz_http.c). */
#ifndef HTTP_READER_H
#define HTTP_READER_H

#include <stdbool.h>
#include <stddef.h>

#include <http_parser.h>

#define HTTP_URL_MAX 4096      /* request target; longer: 414 */
#define HTTP_HEAD_MAX 16384    /* request line + header block; longer: 431 */
#define HTTP_HEADERS_MAX 64    /* header fields; more: 431 */

struct http_request {
	enum http_method method;
	char url[HTTP_URL_MAX + 1];
	size_t url_len;
	char host[256];
	char cookie[4096];
	char content_type[128];
	char accept_language[256];
	char *body;             /* NUL-terminated; NULL when none */
	size_t body_len;
	bool keep_alive;
};

enum http_read {
	HTTP_READ_AGAIN = 0, /* all consumed, the request is not complete */
	HTTP_READ_DONE = 1,  /* a request is complete (the rest unread) */
	HTTP_READ_ERROR = 2, /* answer r->status and close */
};

struct http_reader {
	http_parser parser;
	size_t max_body;
	size_t head_bytes;
	unsigned header_count;
	char field[32];       /* the header name arriving, lower case */
	size_t field_len;
	bool in_value;
	char *value;          /* where the current header's value goes */
	size_t value_size;
	size_t value_len;
	size_t body_size;
	bool started;         /* a request's first byte arrived */
	bool complete;
	int status;           /* on HTTP_READ_ERROR: 400, 413, 414, 431 */
	struct http_request req;
};

void http_reader_init(struct http_reader *r, size_t max_body);
/* Feeds bytes; *used_r is how many were consumed (less than len only on
 * DONE: the rest belongs to the next request). */
enum http_read http_reader_feed(struct http_reader *r, const char *data,
				size_t len, size_t *used_r);
/* After DONE: forget the request, ready for the next one. */
void http_reader_next(struct http_reader *r);
void http_reader_free(struct http_reader *r);

#endif
