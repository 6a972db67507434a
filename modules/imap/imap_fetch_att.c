/* FETCH attributes; see imap_fetch_att.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap_fetch_att.h"
#include "imap_write.h"

static const struct {
	const char *name;
	unsigned flags;
} simple_atts[] = {
	{ "FLAGS", IMAP_FETCH_FLAGS },
	{ "INTERNALDATE", IMAP_FETCH_INTERNALDATE },
	{ "RFC822.SIZE", IMAP_FETCH_RFC822_SIZE },
	{ "ENVELOPE", IMAP_FETCH_ENVELOPE },
	{ "BODY", IMAP_FETCH_BODY },
	{ "BODYSTRUCTURE", IMAP_FETCH_BODYSTRUCTURE },
	{ "UID", IMAP_FETCH_UID },
	{ "MODSEQ", IMAP_FETCH_MODSEQ },
	{ "RFC822", IMAP_FETCH_RFC822 },
	{ "RFC822.HEADER", IMAP_FETCH_RFC822_HEADER },
	{ "RFC822.TEXT", IMAP_FETCH_RFC822_TEXT },
};

#define FAST (IMAP_FETCH_FLAGS | IMAP_FETCH_INTERNALDATE | \
	      IMAP_FETCH_RFC822_SIZE)
static const struct {
	const char *name;
	unsigned flags;
} macros[] = {
	{ "FAST", FAST },
	{ "ALL", FAST | IMAP_FETCH_ENVELOPE },
	{ "FULL", FAST | IMAP_FETCH_ENVELOPE | IMAP_FETCH_BODY },
};

/* Where parsed field names go: pointer slots and string bytes, both
 * sized from the attribute text before parsing. */
struct arena {
	const char **slots;
	char *chars;
};

struct cursor {
	const char *s;
	size_t len;
	size_t pos;
};

static bool at(const struct cursor *c, char ch)
{
	return c->pos < c->len && c->s[c->pos] == ch;
}

/* A keyword, case-insensitive, followed by one of the bytes in next. */
static bool take_word(struct cursor *c, const char *word, const char *next)
{
	size_t n = strlen(word);

	if (c->len - c->pos <= n || strncasecmp(c->s + c->pos, word, n) != 0 ||
	    strchr(next, c->s[c->pos + n]) == NULL)
		return false;
	c->pos += n;
	return true;
}

static int take_number(struct cursor *c, uint32_t *n_r)
{
	uint64_t v = 0;
	size_t start = c->pos;

	while (c->pos < c->len && c->s[c->pos] >= '0' &&
	       c->s[c->pos] <= '9') {
		v = v * 10 + (uint64_t)(c->s[c->pos++] - '0');
		if (v > UINT32_MAX)
			return -1;
	}
	if (c->pos == start)
		return -1;
	*n_r = (uint32_t)v;
	return 0;
}

static bool field_char(unsigned char ch)
{
	return ch > 0x20 && ch < 0x7f && ch != ':';
}

/* header-list = "(" header-fld-name *(SP header-fld-name) ")"; names are
 * atoms or quoted strings. */
static int parse_header_list(struct cursor *c, struct imap_fetch_body *b,
			     struct arena *a, const char **error_r)
{
	b->fields = a->slots;
	b->n_fields = 0;
	if (!at(c, '('))
		goto bad;
	c->pos++;
	for (;;) {
		char *name = a->chars;

		if (at(c, '"')) {
			c->pos++;
			while (c->pos < c->len && c->s[c->pos] != '"') {
				if (c->s[c->pos] == '\\')
					c->pos++;
				if (c->pos == c->len ||
				    !field_char((unsigned char)c->s[c->pos]))
					goto bad_name;
				*a->chars++ = c->s[c->pos++];
			}
			if (c->pos == c->len)
				goto bad;
			c->pos++;
		} else {
			while (c->pos < c->len && c->s[c->pos] != ' ' &&
			       c->s[c->pos] != ')') {
				unsigned char ch = (unsigned char)c->s[c->pos];

				if (!field_char(ch) || ch == '(' ||
				    ch == '"' || ch == '\\')
					goto bad_name;
				*a->chars++ = c->s[c->pos++];
			}
		}
		if (a->chars == name)
			goto bad_name;
		*a->chars++ = '\0';
		*a->slots++ = name;
		b->n_fields++;
		if (at(c, ')'))
			break;
		if (!at(c, ' '))
			goto bad;
		c->pos++;
	}
	c->pos++;
	/* A sorted copy of the pointers, for imap_header_filter. */
	memcpy(a->slots, b->fields, b->n_fields * sizeof(*a->slots));
	imap_header_names_sort(a->slots, b->n_fields);
	b->sorted = a->slots;
	a->slots += b->n_fields;
	return 0;
bad_name:
	*error_r = "Invalid header field name";
	return -EINVAL;
bad:
	*error_r = "Invalid header field list";
	return -EINVAL;
}

/* section-spec after "[", up to and including "]". */
static int parse_section(struct cursor *c, struct imap_fetch_body *b,
			 struct arena *a, const char **error_r)
{
	while (c->pos < c->len && c->s[c->pos] >= '0' && c->s[c->pos] <= '9') {
		uint32_t n;

		if (take_number(c, &n) < 0 || n == 0) {
			*error_r = "Invalid part number";
			return -EINVAL;
		}
		if (b->depth == IMAP_SECTION_MAX_DEPTH) {
			*error_r = "Section nested too deeply";
			return -EINVAL;
		}
		b->part[b->depth++] = n;
		if (!at(c, '.'))
			break;
		c->pos++;
		if (!(c->pos < c->len && c->s[c->pos] >= '0' &&
		      c->s[c->pos] <= '9'))
			goto text;
	}
	if (at(c, ']'))
		goto end;
	if (b->depth > 0)
		goto bad; /* "1x]" */
text:
	if (take_word(c, "HEADER.FIELDS.NOT", " ")) {
		b->kind = IMAP_SECTION_HEADER_FIELDS_NOT;
	} else if (take_word(c, "HEADER.FIELDS", " ")) {
		b->kind = IMAP_SECTION_HEADER_FIELDS;
	} else if (take_word(c, "HEADER", "]")) {
		b->kind = IMAP_SECTION_HEADER;
	} else if (take_word(c, "TEXT", "]")) {
		b->kind = IMAP_SECTION_TEXT;
	} else if (take_word(c, "MIME", "]")) {
		if (b->depth == 0) {
			*error_r = "MIME needs a part number";
			return -EINVAL;
		}
		b->kind = IMAP_SECTION_MIME;
	} else {
		goto bad;
	}
	if (b->kind == IMAP_SECTION_HEADER_FIELDS ||
	    b->kind == IMAP_SECTION_HEADER_FIELDS_NOT) {
		c->pos++;
		if (parse_header_list(c, b, a, error_r) < 0)
			return -EINVAL;
		if (!at(c, ']'))
			goto bad;
	}
end:
	c->pos++;
	return 0;
bad:
	*error_r = "Invalid section";
	return -EINVAL;
}

static int parse_partial(struct cursor *c, struct imap_fetch_body *b,
			 const char **error_r)
{
	if (c->pos == c->len)
		return 0;
	if (!at(c, '<'))
		goto bad;
	c->pos++;
	if (take_number(c, &b->origin) < 0 || !at(c, '.'))
		goto bad;
	c->pos++;
	if (take_number(c, &b->length) < 0 || b->length == 0 || !at(c, '>') ||
	    c->pos + 1 != c->len)
		goto bad;
	b->partial = true;
	return 0;
bad:
	*error_r = "Invalid partial";
	return -EINVAL;
}

static int parse_att(const struct imap_arg *arg, struct imap_fetch *f,
		     struct arena *a, const char **error_r)
{
	struct cursor c = { .s = arg->str, .len = arg->len };
	struct imap_fetch_body *b;

	if (arg->type != IMAP_ARG_ATOM)
		goto bad;
	for (size_t i = 0; i < sizeof(simple_atts) / sizeof(simple_atts[0]);
	     i++) {
		if (strcasecmp(arg->str, simple_atts[i].name) == 0) {
			f->flags |= simple_atts[i].flags;
			return 0;
		}
	}
	b = &f->bodies[f->n_bodies];
	memset(b, 0, sizeof(*b));
	if (take_word(&c, "BODY.PEEK", "["))
		b->peek = true;
	else if (!take_word(&c, "BODY", "["))
		goto bad;
	c.pos++;
	if (parse_section(&c, b, a, error_r) < 0 ||
	    parse_partial(&c, b, error_r) < 0)
		return -EINVAL;
	f->n_bodies++;
	return 0;
bad:
	*error_r = "Invalid fetch attribute";
	return -EINVAL;
}

int imap_fetch_parse(const struct imap_arg *arg, struct imap_fetch **fetch_r,
		     const char **error_r)
{
	const struct imap_arg *items = arg;
	size_t n = 1, text = 0, size;
	struct imap_fetch *f;
	struct arena a;

	*fetch_r = NULL;
	*error_r = NULL;
	if (arg->type == IMAP_ARG_LIST) {
		items = arg->list;
		n = arg->count;
		if (n == 0) {
			*error_r = "Empty fetch attribute list";
			return -EINVAL;
		}
	} else if (arg->type == IMAP_ARG_ATOM) {
		for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]);
		     i++) {
			if (strcasecmp(arg->str, macros[i].name) != 0)
				continue;
			f = calloc(1, sizeof(*f));
			if (f == NULL)
				return -ENOMEM;
			f->flags = macros[i].flags;
			*fetch_r = f;
			return 0;
		}
	}
	for (size_t i = 0; i < n; i++)
		text += items[i].type == IMAP_ARG_LIST ? 0 : items[i].len;
	/* Each field name takes at least 2 bytes of text: its two slots
	 * (in the client's order and sorted) and its chars never need
	 * more than text of each. */
	size = sizeof(*f) + n * sizeof(struct imap_fetch_body) +
		text * sizeof(char *) + text;
	f = calloc(1, size);
	if (f == NULL)
		return -ENOMEM;
	f->bodies = (struct imap_fetch_body *)(f + 1);
	a.slots = (const char **)(f->bodies + n);
	a.chars = (char *)(a.slots + text);
	for (size_t i = 0; i < n; i++) {
		if (parse_att(&items[i], f, &a, error_r) < 0) {
			free(f);
			return -EINVAL;
		}
	}
	*fetch_r = f;
	return 0;
}

void imap_fetch_free(struct imap_fetch **fetch)
{
	free(*fetch);
	*fetch = NULL;
}

static const char *const kind_names[] = {
	[IMAP_SECTION_WHOLE] = "",
	[IMAP_SECTION_HEADER] = "HEADER",
	[IMAP_SECTION_HEADER_FIELDS] = "HEADER.FIELDS",
	[IMAP_SECTION_HEADER_FIELDS_NOT] = "HEADER.FIELDS.NOT",
	[IMAP_SECTION_TEXT] = "TEXT",
	[IMAP_SECTION_MIME] = "MIME",
};

int imap_fetch_body_label(const struct imap_fetch_body *body,
			  struct imap_buf *out)
{
	size_t start = out->len;
	int ret = imap_buf_append_str(out, "BODY[");

	for (unsigned i = 0; i < body->depth && ret == 0; i++) {
		if (i > 0)
			ret = imap_buf_append_char(out, '.');
		if (ret == 0)
			ret = imap_buf_append_u64(out, body->part[i]);
	}
	if (ret == 0 && body->depth > 0 && body->kind != IMAP_SECTION_WHOLE)
		ret = imap_buf_append_char(out, '.');
	if (ret == 0)
		ret = imap_buf_append_str(out, kind_names[body->kind]);
	for (size_t i = 0; i < body->n_fields && ret == 0; i++) {
		ret = imap_buf_append(out, i == 0 ? " (" : " ", i == 0 ? 2 : 1);
		if (ret == 0)
			ret = imap_write_astring(out, body->fields[i],
						 strlen(body->fields[i]));
	}
	if (ret == 0 && body->n_fields > 0)
		ret = imap_buf_append_char(out, ')');
	if (ret == 0)
		ret = imap_buf_append_char(out, ']');
	if (ret == 0 && body->partial) {
		ret = imap_buf_append_char(out, '<');
		if (ret == 0)
			ret = imap_buf_append_u64(out, body->origin);
		if (ret == 0)
			ret = imap_buf_append_char(out, '>');
	}
	if (ret < 0)
		imap_buf_truncate(out, start);
	return ret;
}

static int cmp_name(const void *a, const void *b)
{
	return strcasecmp(*(const char *const *)a, *(const char *const *)b);
}

void imap_header_names_sort(const char **names, size_t n)
{
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_name);
}

/* Binary search in names sorted by strcasecmp: name[0..len) compares as
 * strcasecmp would compare it NUL-terminated. */
static bool name_listed(const char *name, size_t len,
			const char *const *names, size_t n_names)
{
	size_t lo = 0, hi = n_names;

	if (memchr(name, '\0', len) != NULL)
		return false; /* no listed name holds a NUL */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strncasecmp(name, names[mid], len);

		if (c == 0 && names[mid][len] != '\0')
			c = -1; /* name is a proper prefix: it sorts first */
		if (c == 0)
			return true;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return false;
}

int imap_header_filter(const char *hdr, size_t len, const char *const *names,
		       size_t n_names, bool exclude, char *out,
		       size_t out_size, size_t *out_len_r)
{
	size_t pos = 0, n = 0;
	bool keep = exclude; /* a leading continuation line has no name */

	while (pos < len) {
		const char *nl = memchr(hdr + pos, '\n', len - pos);
		size_t line_len = nl != NULL ? (size_t)(nl - (hdr + pos)) + 1 :
			len - pos;
		const char *line = hdr + pos;

		if (line[0] == '\n' || (line[0] == '\r' && line_len == 2 &&
					line[1] == '\n'))
			break; /* the empty line ending the header */
		if (line[0] != ' ' && line[0] != '\t') {
			/* A new field: decide for it and its continuations. */
			const char *colon = memchr(line, ':', line_len);
			size_t name_len = colon != NULL ?
				(size_t)(colon - line) : 0;

			while (name_len > 0 && (line[name_len - 1] == ' ' ||
						line[name_len - 1] == '\t'))
				name_len--;
			keep = (colon != NULL &&
				name_listed(line, name_len, names, n_names)) !=
				exclude;
		}
		if (keep) {
			if (out_size - n < line_len)
				return -ENOSPC;
			memcpy(out + n, line, line_len);
			n += line_len;
		}
		pos += line_len;
	}
	if (out_size - n < 2)
		return -ENOSPC;
	memcpy(out + n, "\r\n", 2);
	*out_len_r = n + 2;
	return 0;
}
