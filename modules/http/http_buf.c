/* Buffers and encodings (http_buf.h). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_buf.h"

void hbuf_init(struct hbuf *b, size_t cap)
{
	*b = (struct hbuf){ .cap = cap };
}

void hbuf_free(struct hbuf *b)
{
	free(b->data);
	*b = (struct hbuf){ .cap = b->cap };
}

void hbuf_reset(struct hbuf *b)
{
	b->len = 0;
	b->overflow = false;
	if (b->data != NULL)
		b->data[0] = '\0';
}

static int hbuf_reserve(struct hbuf *b, size_t more)
{
	if (b->overflow)
		return -E2BIG;
	if (more > b->cap || b->len + more > b->cap) {
		b->overflow = true;
		return -E2BIG;
	}
	if (b->len + more + 1 <= b->size)
		return 0;
	size_t size = b->size > 0 ? b->size : 256;
	while (size < b->len + more + 1)
		size *= 2;
	char *grown = realloc(b->data, size);
	if (grown == NULL) {
		b->overflow = true;
		return -ENOMEM;
	}
	b->data = grown;
	b->size = size;
	return 0;
}

int hbuf_add(struct hbuf *b, const void *data, size_t len)
{
	int ret = hbuf_reserve(b, len);

	if (ret < 0)
		return ret;
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int hbuf_str(struct hbuf *b, const char *s)
{
	return hbuf_add(b, s, strlen(s));
}

int hbuf_printf(struct hbuf *b, const char *fmt, ...)
{
	va_list args;
	char small[256];

	va_start(args, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, args);
	va_end(args);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n < sizeof(small))
		return hbuf_add(b, small, (size_t)n);
	int ret = hbuf_reserve(b, (size_t)n);
	if (ret < 0)
		return ret;
	va_start(args, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, args);
	va_end(args);
	b->len += (size_t)n;
	return 0;
}

int hbuf_html(struct hbuf *b, const char *s)
{
	int ret = 0;

	for (; *s != '\0' && ret == 0; s++) {
		switch (*s) {
		case '&': ret = hbuf_str(b, "&amp;"); break;
		case '<': ret = hbuf_str(b, "&lt;"); break;
		case '>': ret = hbuf_str(b, "&gt;"); break;
		case '"': ret = hbuf_str(b, "&quot;"); break;
		case '\'': ret = hbuf_str(b, "&#39;"); break;
		default: ret = hbuf_add(b, s, 1); break;
		}
	}
	return ret;
}

int hbuf_xml(struct hbuf *b, const char *s)
{
	int ret = 0;

	for (; *s != '\0' && ret == 0; s++) {
		if (*s == '\'')
			ret = hbuf_str(b, "&apos;");
		else if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n')
			continue; /* not allowed in XML 1.0 */
		else
			ret = hbuf_html(b, (char[]){ *s, '\0' });
	}
	return ret;
}

int hbuf_urlenc(struct hbuf *b, const char *s)
{
	int ret = 0;

	for (; *s != '\0' && ret == 0; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
			ret = hbuf_add(b, s, 1);
		else
			ret = hbuf_printf(b, "%%%02X", c);
	}
	return ret;
}

const char *hbuf_cstr(struct hbuf *b)
{
	return b->data != NULL ? b->data : "";
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long form_decode(char *s, size_t len)
{
	size_t out = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if (i + 2 >= len)
				return -1;
			int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (c == '\0')
			return -1;
		s[out++] = c;
	}
	s[out] = '\0';
	return (long)out;
}

int form_parse(struct form *f, const char *text, size_t len)
{
	*f = (struct form){ 0 };
	f->copy = malloc(len + 1);
	if (f->copy == NULL)
		return -ENOMEM;
	memcpy(f->copy, text, len);
	f->copy[len] = '\0';
	char *p = f->copy, *end = f->copy + len;
	while (p < end) {
		char *amp = memchr(p, '&', (size_t)(end - p));
		char *stop = amp != NULL ? amp : end;
		*stop = '\0';
		if (stop > p) {
			if (f->count == FORM_MAX_FIELDS)
				return -E2BIG;
			char *eq = strchr(p, '=');
			char *value = eq != NULL ? eq + 1 : stop;
			if (eq != NULL)
				*eq = '\0';
			if (form_decode(p, strlen(p)) < 0 ||
			    form_decode(value, strlen(value)) < 0)
				return -EINVAL;
			f->name[f->count] = p;
			f->value[f->count] = value;
			f->count++;
		}
		p = stop + 1;
	}
	return 0;
}

void form_free(struct form *f)
{
	if (f->copy != NULL) {
		/* Forms carry passwords. */
		explicit_bzero(f->copy, strlen(f->copy));
		free(f->copy);
	}
	*f = (struct form){ 0 };
}

const char *form_get(const struct form *f, const char *name)
{
	for (size_t i = 0; i < f->count; i++) {
		if (strcmp(f->name[i], name) == 0)
			return f->value[i];
	}
	return NULL;
}

int cookie_get(const char *header, const char *name, char *buf,
	       size_t buflen)
{
	size_t nlen = strlen(name);
	const char *p = header;

	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == ';')
			p++;
		const char *end = strchr(p, ';');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
		if (len > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
			size_t vlen = len - nlen - 1;
			if (vlen >= buflen)
				return -ENAMETOOLONG;
			memcpy(buf, p + nlen + 1, vlen);
			buf[vlen] = '\0';
			return 0;
		}
		p = end;
	}
	return -ENOENT;
}

void hex_encode(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

const char *accept_language_pick(const char *header)
{
	const char *best = NULL;
	double best_q = 0;
	const char *p = header;

	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		const char *end = strchr(p, ',');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
		double q = 1.0;
		const char *semi = memchr(p, ';', len);
		if (semi != NULL) {
			const char *qs = strstr(semi, "q=");
			if (qs != NULL && qs < p + len)
				q = strtod(qs + 2, NULL);
		}
		const char *lang = NULL;
		if (len >= 2 && strncasecmp(p, "it", 2) == 0 &&
		    (len == 2 || p[2] == '-' || p[2] == ';'))
			lang = "it";
		else if (len >= 2 && strncasecmp(p, "en", 2) == 0 &&
			 (len == 2 || p[2] == '-' || p[2] == ';'))
			lang = "en";
		if (lang != NULL && q > best_q) {
			best = lang;
			best_q = q;
		}
		p = end;
	}
	return best;
}

bool address_plausible(const char *s)
{
	const char *at = strrchr(s, '@');
	size_t len = strlen(s);

	if (at == NULL || at == s || len > 254 || at[1] == '\0' ||
	    strchr(at + 1, '.') == NULL || at[strlen(at) - 1] == '.')
		return false;
	for (const char *p = s; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= ' ' || c >= 0x7f || c == '<' || c == '>' ||
		    c == '"' || c == ',' || c == ';' || c == '\\' ||
		    (c == '@' && p != at))
			return false;
	}
	return true;
}

bool iso_date_valid(const char *s)
{
	int y, m, d;
	char extra;

	if (strlen(s) != 10 ||
	    sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &extra) != 3)
		return false;
	return s[4] == '-' && s[7] == '-' && y >= 2000 && y <= 2999 &&
	       m >= 1 && m <= 12 && d >= 1 && d <= 31;
}
