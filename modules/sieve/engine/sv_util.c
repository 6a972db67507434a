/* Memory and string helpers: a capped arena with marks, a capped growable
 * buffer, UTF-8 and identifier checks. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sv.h"

#define SV_CHUNK_MIN 16384
#define SV_ALIGN 16

struct sv_chunk {
	struct sv_chunk *prev;
	size_t size, pos;
	_Alignas(SV_ALIGN) unsigned char data[];
};

void sv_arena_init(struct sv_arena *a, size_t cap)
{
	a->head = NULL;
	a->used = 0;
	a->cap = cap;
}

void *sv_arena_alloc(struct sv_arena *a, size_t size)
{
	struct sv_chunk *c = a->head;
	size_t need = (size + SV_ALIGN - 1) & ~(size_t)(SV_ALIGN - 1);

	if (need < size)
		return NULL;
	if (c == NULL || c->size - c->pos < need) {
		size_t csize = need > SV_CHUNK_MIN ? need : SV_CHUNK_MIN;
		if (a->used + csize > a->cap || a->used + csize < a->used)
			return NULL;
		c = malloc(sizeof(*c) + csize);
		if (c == NULL)
			return NULL;
		c->prev = a->head;
		c->size = csize;
		c->pos = 0;
		a->head = c;
		a->used += csize;
	}
	void *p = c->data + c->pos;
	c->pos += need;
	return p;
}

char *sv_arena_strndup(struct sv_arena *a, const char *s, size_t len)
{
	char *p = sv_arena_alloc(a, len + 1);

	if (p != NULL) {
		if (len > 0)
			memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

struct sv_arena_mark sv_arena_mark(const struct sv_arena *a)
{
	struct sv_arena_mark m = { a->head, a->head ? a->head->pos : 0,
				   a->used };
	return m;
}

void sv_arena_release(struct sv_arena *a, struct sv_arena_mark mark)
{
	while (a->head != mark.head) {
		struct sv_chunk *c = a->head;
		a->head = c->prev;
		free(c);
	}
	if (a->head != NULL)
		a->head->pos = mark.pos;
	a->used = mark.used;
}

void sv_arena_free(struct sv_arena *a)
{
	struct sv_arena_mark none = { NULL, 0, 0 };

	sv_arena_release(a, none);
}

void sv_buf_init(struct sv_buf *b, size_t cap)
{
	b->data = NULL;
	b->len = b->size = 0;
	b->cap = cap;
}

static int sv_buf_reserve(struct sv_buf *b, size_t more)
{
	size_t need = b->len + more + 1;

	if (need < b->len || need - 1 > b->cap)
		return -E2BIG;
	if (need <= b->size)
		return 0;
	size_t size = b->size ? b->size : 64;
	while (size < need)
		size *= 2;
	if (size > b->cap + 1)
		size = b->cap + 1;
	char *data = realloc(b->data, size);
	if (data == NULL)
		return -ENOMEM;
	b->data = data;
	b->size = size;
	return 0;
}

int sv_buf_add(struct sv_buf *b, const void *data, size_t len)
{
	int ret = sv_buf_reserve(b, len);

	if (ret < 0)
		return ret;
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int sv_buf_addc(struct sv_buf *b, char c)
{
	return sv_buf_add(b, &c, 1);
}

int sv_buf_printf(struct sv_buf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n < sizeof(small))
		return sv_buf_add(b, small, (size_t)n);
	int ret = sv_buf_reserve(b, (size_t)n);
	if (ret < 0)
		return ret;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

int sv_buf_nul(struct sv_buf *b)
{
	int ret = sv_buf_reserve(b, 0);

	if (ret < 0)
		return ret;
	b->data[b->len] = '\0';
	return 0;
}

void sv_buf_free(struct sv_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->size = 0;
}

/* Length of the UTF-8 sequence at s (at most len octets), 0 if invalid
 * (overlong forms, surrogates and code points past U+10FFFF included). */
static size_t sv_utf8_seq(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

bool sv_utf8_valid(const char *s, size_t len, size_t *bad_r)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i < len;) {
		size_t n = sv_utf8_seq(u + i, len - i);
		if (n == 0) {
			if (bad_r != NULL)
				*bad_r = i;
			return false;
		}
		i += n;
	}
	return true;
}

size_t sv_utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	/* Back off continuation octets so the cut falls on a lead octet. */
	size_t cut = max;
	while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
		cut--;
	return cut;
}

bool sv_ident_valid(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     c == '_';
		if (!alpha && (i == 0 || c < '0' || c > '9'))
			return false;
	}
	return true;
}

int sv_strcasecmp_len(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;

	for (size_t i = 0; i < n; i++) {
		unsigned char x = (unsigned char)sv_lower(a[i]);
		unsigned char y = (unsigned char)sv_lower(b[i]);
		if (x != y)
			return x < y ? -1 : 1;
	}
	return alen == blen ? 0 : alen < blen ? -1 : 1;
}

bool sv_eq_ci(const char *a, size_t alen, const char *b)
{
	return sv_strcasecmp_len(a, alen, b, strlen(b)) == 0;
}

static const char *const sv_ext_names[SV_EXT_COUNT] = {
	[SV_EXT_FILEINTO] = "fileinto",
	[SV_EXT_REJECT] = "reject",
	[SV_EXT_EREJECT] = "ereject",
	[SV_EXT_ENVELOPE] = "envelope",
	[SV_EXT_ENCODED_CHARACTER] = "encoded-character",
	[SV_EXT_VACATION] = "vacation",
	[SV_EXT_VACATION_SECONDS] = "vacation-seconds",
	[SV_EXT_NUMERIC] = "comparator-i;ascii-numeric",
	[SV_EXT_OCTET] = "comparator-i;octet",
	[SV_EXT_CASEMAP] = "comparator-i;ascii-casemap",
	[SV_EXT_RELATIONAL] = "relational",
	[SV_EXT_IMAP4FLAGS] = "imap4flags",
	[SV_EXT_COPY] = "copy",
	[SV_EXT_INCLUDE] = "include",
	[SV_EXT_VARIABLES] = "variables",
	[SV_EXT_BODY] = "body",
	[SV_EXT_SUBADDRESS] = "subaddress",
	[SV_EXT_MAILBOX] = "mailbox",
	[SV_EXT_DATE] = "date",
};

const char *sv_ext_name(unsigned ext)
{
	return ext < SV_EXT_COUNT ? sv_ext_names[ext] : "?";
}

int sv_ext_find(const char *name, size_t len)
{
	/* Extension names are compared as octets (RFC 5228 3.2). */
	for (unsigned i = 0; i < SV_EXT_COUNT; i++)
		if (strlen(sv_ext_names[i]) == len &&
		    memcmp(sv_ext_names[i], name, len) == 0)
			return (int)i;
	return -1;
}

const char *sieve_capabilities(void)
{
	return "fileinto reject ereject envelope encoded-character vacation "
	       "vacation-seconds comparator-i;ascii-numeric relational "
	       "imap4flags copy include variables body subaddress mailbox "
	       "date";
}

int sieve_error_format(const struct sieve_error *error, char *buf,
		       size_t size)
{
	int n = snprintf(buf, size, "line %u, column %u: %s", error->line,
			 error->column, error->message);
	return n < 0 ? -EINVAL : n;
}

void sieve_limits_default(struct sieve_limits *l)
{
	memset(l, 0, sizeof(*l));
	l->max_script_size = 65536;
	l->max_nesting = 32;
	l->max_variables = 128;
	l->max_variable_size = 4096;
	l->max_actions = 32;
	l->max_redirects = 4;
	l->max_header_size = 262144;
	l->max_header_fields = 5000;
	l->max_body_size = 1048576;
	l->max_mime_parts = 100;
	l->max_cpu = 50000000;
	l->max_memory = 33554432;
	l->max_include_depth = 4;
	l->max_includes = 16;
	l->vacation_min_period = 0;
	l->vacation_max_period = 90 * 86400;
	l->vacation_default_period = 7 * 86400;
}
