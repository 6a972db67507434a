/* Header fields of one header block, split as GMime splits them: a field
 * starts on a line that does not begin with a blank and runs over the
 * lines that do (folding); its name is what precedes the first ':', blanks
 * allowed only between the name and the colon; other lines (and what
 * folds into them) are not fields and are skipped. A lookup walks the
 * block once with memchr: linear in its size, nothing kept. */
#include <string.h>

#include "mime/mime_internal.h"

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static size_t line_end(const char *buf, size_t pos, size_t end)
{
	const char *nl = memchr(buf + pos, '\n', end - pos);

	return nl ? (size_t)(nl - buf) + 1 : end;
}

/* Whether the line [pos, eol) is the field called name (nlen bytes, no
 * blanks or controls): the name, blanks, then the colon. Any other line
 * is either another field or no field, which a lookup skips alike. */
static bool field_is(const char *buf, size_t pos, size_t eol,
		     const char *name, size_t nlen, size_t *value_r)
{
	const char *colon = memchr(buf + pos, ':', eol - pos);
	const char *p = buf + pos + nlen;

	if (!colon || (size_t)(colon - (buf + pos)) < nlen ||
	    g_ascii_strncasecmp(buf + pos, name, nlen))
		return false;
	while (p < colon && is_blank(*p))
		p++;
	if (p != colon)
		return false;
	*value_r = (size_t)(colon - buf) + 1;
	return true;
}

/* The value of the field called name in [hs, bs) as [*vs_r, *ve_r) (raw:
 * folding line breaks included); false when there is none. */
static bool field_find(const char *buf, size_t hs, size_t bs,
		       const char *name, bool last, size_t *vs_r,
		       size_t *ve_r)
{
	size_t nlen = strlen(name), pos = hs;
	bool found = false;

	while (pos < bs && buf[pos] != '\n' &&
	       !(buf[pos] == '\r' && pos + 1 < bs && buf[pos + 1] == '\n')) {
		size_t eol = line_end(buf, pos, bs), vs;

		if (is_blank(buf[pos]) ||
		    !field_is(buf, pos, eol, name, nlen, &vs)) {
			pos = eol;
			continue;
		}
		/* The field runs over its continuation lines. */
		while (eol < bs && is_blank(buf[eol]))
			eol = line_end(buf, eol, bs);
		*vs_r = vs;
		*ve_r = eol;
		found = true;
		if (!last)
			return true;
		pos = eol;
	}
	return found;
}

char *mime_header_get(const struct mime_tree *tree, size_t idx,
		      const char *name, bool last)
{
	const struct mime_node *n = &tree->nodes[idx];
	size_t vs, ve;
	GString *s;

	if (n->synthetic ||
	    !field_find(tree->buf, n->hs, n->bs, name, last, &vs, &ve))
		return NULL;
	s = g_string_sized_new(ve - vs);
	for (size_t i = vs; i < ve; i++)
		if (tree->buf[i] != '\r' && tree->buf[i] != '\n')
			g_string_append_c(s, tree->buf[i]);
	/* A NUL ends the value, as it would for any C string reader. */
	g_strstrip(s->str);
	s->len = strlen(s->str);
	return g_string_free(s, FALSE);
}

void mime_header_each(const struct mime_tree *tree, size_t idx,
		      void (*field)(void *data, const char *name,
				    size_t nlen, const char *value),
		      void *data)
{
	const struct mime_node *n = &tree->nodes[idx];
	const char *buf = tree->buf;
	size_t pos = n->hs, bs = n->bs;
	GString *value = g_string_new(NULL);

	while (!n->synthetic && pos < bs && buf[pos] != '\n' &&
	       !(buf[pos] == '\r' && pos + 1 < bs && buf[pos + 1] == '\n')) {
		size_t eol = line_end(buf, pos, bs);
		const char *colon = memchr(buf + pos, ':', eol - pos);
		size_t nlen = colon ? (size_t)(colon - (buf + pos)) : 0;

		while (nlen > 0 && is_blank(buf[pos + nlen - 1]))
			nlen--;
		bool is_field = !is_blank(buf[pos]) && nlen > 0;
		for (size_t i = 0; is_field && i < nlen; i++)
			is_field = (unsigned char)buf[pos + i] > ' ' &&
				   buf[pos + i] != 0x7f;
		size_t vs = colon ? (size_t)(colon - buf) + 1 : eol;
		/* The field runs over its continuation lines. */
		while (eol < bs && is_blank(buf[eol]))
			eol = line_end(buf, eol, bs);
		if (is_field) {
			g_string_truncate(value, 0);
			for (size_t i = vs; i < eol; i++)
				if (buf[i] != '\r' && buf[i] != '\n')
					g_string_append_c(value, buf[i]);
			g_strstrip(value->str);
			field(data, buf + pos, nlen, value->str);
		}
		pos = eol;
	}
	g_string_free(value, TRUE);
}
