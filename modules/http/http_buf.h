/* http.so's pure helpers: a growable byte buffer with a hard cap, and the
 * encodings a web page needs (HTML and XML escaping, percent-decoding,
 * forms and query strings, cookies). No host calls: unit-tested in
 * t/unit/http and fuzzed through the request reader. */
#ifndef HTTP_BUF_H
#define HTTP_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A buffer that grows up to cap bytes; past it, every append fails and
 * `overflow` stays set (the response is then an error, never cut). */
struct hbuf {
	char *data;
	size_t len;
	size_t size;
	size_t cap;
	bool overflow;
};

void hbuf_init(struct hbuf *b, size_t cap);
void hbuf_free(struct hbuf *b);
void hbuf_reset(struct hbuf *b);
int hbuf_add(struct hbuf *b, const void *data, size_t len);
int hbuf_str(struct hbuf *b, const char *s);
int hbuf_printf(struct hbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Text escaped for HTML content and attribute values (& < > " '). */
int hbuf_html(struct hbuf *b, const char *s);
/* Text escaped for XML (the same five, as entities XML knows). */
int hbuf_xml(struct hbuf *b, const char *s);
/* Percent-encoded for a URL query value (RFC 3986 unreserved kept). */
int hbuf_urlenc(struct hbuf *b, const char *s);
/* NUL-terminated view (0 terminator kept after len); "" when empty. */
const char *hbuf_cstr(struct hbuf *b);

/* Decodes application/x-www-form-urlencoded text in place ('+' is a
 * space, %XX a byte); returns the new length, or -1 for a malformed
 * escape or a NUL byte. */
long form_decode(char *s, size_t len);

/* A parsed form or query string: up to FORM_MAX_FIELDS name=value pairs,
 * decoded, pointing into a private copy. */
#define FORM_MAX_FIELDS 32
struct form {
	char *copy;
	size_t count;
	const char *name[FORM_MAX_FIELDS];
	const char *value[FORM_MAX_FIELDS];
};

/* 0, -EINVAL (malformed), -E2BIG (too many fields), -ENOMEM. */
int form_parse(struct form *f, const char *text, size_t len);
void form_free(struct form *f);
/* The first value of name, or NULL. */
const char *form_get(const struct form *f, const char *name);

/* The value of cookie name in a Cookie header, copied into buf; 0, or
 * -ENOENT, -ENAMETOOLONG (longer than buflen - 1). */
int cookie_get(const char *header, const char *name, char *buf,
	       size_t buflen);

/* Lower-case hex of len bytes into out (2 * len + 1). */
void hex_encode(const unsigned char *in, size_t len, char *out);

/* "it" or "en": the first of Accept-Language's languages (by q) that is
 * one of them, else NULL. */
const char *accept_language_pick(const char *header);

/* A plausible mail address (local@domain, printable ASCII, no spaces or
 * angle brackets, a dot in the domain), at most 254 octets. */
bool address_plausible(const char *s);

/* ISO date "YYYY-MM-DD" -> 1, else 0. */
bool iso_date_valid(const char *s);

#endif
