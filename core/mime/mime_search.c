/* What SEARCH matches (RFC 3501 6.4.4): a message's text, not its
 * encoding. The header fields decoded (RFC 2047 encoded words, charsets
 * to UTF-8; address fields as ENVELOPE parses them, mime_rfc822.c), then
 * the text parts with their transfer encoding undone and their charset
 * converted to UTF-8. The part tree is the bounded walk's (mime_scan.c);
 * GMime's message parser is not used (see README). Linear in the message;
 * the output is cut at the caller's buffer, and a part's decoded bytes
 * are the only other memory (at most its encoded size). */
#include <errno.h>
#include <iconv.h>
#include <string.h>

#include <gmime/gmime.h>

#include "mime/mime_internal.h"

/* Output cut at its capacity. */
struct text_out {
	char *buf;
	size_t cap, len;
};

static void put(struct text_out *o, const char *s, size_t n)
{
	if (n > o->cap - o->len)
		n = o->cap - o->len;
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static const char *const address_fields[] = {
	"From", "Sender", "Reply-To", "To", "Cc", "Bcc", "Resent-From",
	"Resent-Sender", "Resent-To", "Resent-Cc", "Resent-Bcc",
};

static bool is_address_field(const char *name, size_t nlen)
{
	for (size_t i = 0; i < G_N_ELEMENTS(address_fields); i++)
		if (strlen(address_fields[i]) == nlen &&
		    g_ascii_strncasecmp(name, address_fields[i], nlen) == 0)
			return true;
	return false;
}

/* "Name: value\n", the value decoded, on one line. */
static void put_field(void *data, const char *name, size_t nlen,
		      const char *value)
{
	struct text_out *o = data;
	GString *v = g_string_new(NULL);
	char *decoded = NULL;

	if (is_address_field(name, nlen))
		mime_search_address_list(v, value);
	else
		g_string_append(v, (decoded = g_mime_utils_header_decode_text(
						     NULL, value)) ? decoded
								   : value);
	for (size_t i = 0; i < v->len; i++)
		if ((unsigned char)v->str[i] < ' ')
			v->str[i] = ' ';
	put(o, name, nlen);
	put(o, ": ", 2);
	put(o, v->str, v->len);
	put(o, "\n", 1);
	g_free(decoded);
	g_string_free(v, TRUE);
}

/* The charset a text part names, NULL for US-ASCII and UTF-8 (and when
 * none: its bytes go as they are). g_free it. */
static char *part_charset(const struct mime_tree *tree, size_t idx)
{
	char *ctype = mime_header_get(tree, idx, "Content-Type", false);
	char *charset = NULL;

	if (ctype != NULL) {
		GMimeContentType *ct = g_mime_content_type_parse(NULL, ctype);
		const char *cs = ct ? g_mime_content_type_get_parameter(
					      ct, "charset") : NULL;
		if (cs != NULL && g_ascii_strcasecmp(cs, "utf-8") != 0 &&
		    g_ascii_strcasecmp(cs, "us-ascii") != 0)
			charset = g_strdup(cs);
		if (ct)
			g_object_unref(ct);
	}
	g_free(ctype);
	return charset;
}

/* Converts in[0..len) from charset to UTF-8 straight into o; a byte that
 * is not in the charset becomes '?'. false when iconv does not know the
 * charset (nothing written). */
static bool put_converted(struct text_out *o, const char *charset,
			  const char *in, size_t len)
{
	iconv_t cd = g_mime_iconv_open("UTF-8", charset);

	if (cd == (iconv_t)-1)
		return false;
	char *inp = (char *)in;
	size_t inleft = len;
	while (inleft > 0 && o->len < o->cap) {
		char *outp = o->buf + o->len;
		size_t outleft = o->cap - o->len;
		size_t r = iconv(cd, &inp, &inleft, &outp, &outleft);
		o->len = (size_t)(outp - o->buf);
		if (r != (size_t)-1 || errno == E2BIG)
			continue; /* done, or full: the loop ends */
		/* EILSEQ, or EINVAL at the end: skip the byte. */
		put(o, "?", 1);
		inp++;
		inleft--;
	}
	g_mime_iconv_close(cd);
	return true;
}

/* The text of leaf idx, decoded, converted, then a newline. */
static void put_part(struct text_out *o, const struct mime_tree *tree,
		     size_t idx)
{
	const struct mime_node *n = &tree->nodes[idx];
	const char *in = tree->buf + n->bs;
	size_t len = n->be - n->bs;
	char *cte = mime_header_get(tree, idx, "Content-Transfer-Encoding",
				    false);
	GMimeContentEncoding enc = cte ? g_mime_content_encoding_from_string(
						 g_strstrip(cte))
				       : GMIME_CONTENT_ENCODING_DEFAULT;
	char *decoded = NULL, *charset = part_charset(tree, idx);

	g_free(cte);
	if (enc == GMIME_CONTENT_ENCODING_BASE64 ||
	    enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
	    enc == GMIME_CONTENT_ENCODING_UUENCODE) {
		GMimeEncoding state;
		g_mime_encoding_init_decode(&state, enc);
		decoded = g_malloc(g_mime_encoding_outlen(&state, len) + 1);
		len = g_mime_encoding_flush(&state, in, len, decoded);
		in = decoded;
	}
	if (charset == NULL || !put_converted(o, charset, in, len))
		put(o, in, len);
	put(o, "\n", 1);
	g_free(decoded);
	g_free(charset);
}

int64_t mime_search_text(const void *data, size_t len, int body, char *buf,
			 size_t buflen, size_t *header_len_r)
{
	struct mime_tree tree = { .buf = data, .len = len };
	struct text_out o = { .buf = buf, .cap = buflen };

	if ((!data && len) || (!buf && buflen) || !header_len_r)
		return -EINVAL;
	if (!data)
		tree.buf = "";
	int ret = mime_scan(&tree);
	if (ret < 0)
		return ret;
	mime_header_each(&tree, 0, put_field, &o);
	*header_len_r = o.len;
	if (body) {
		put(&o, "\n", 1);
		for (size_t i = 1; i < tree.count && o.len < o.cap; i++) {
			const struct mime_node *n = &tree.nodes[i];
			if (n->kind == MIME_NODE_MESSAGE)
				mime_header_each(&tree, i, put_field, &o);
			else if (n->kind == MIME_NODE_LEAF && !n->opaque &&
				 n->type != NULL &&
				 g_ascii_strcasecmp(n->type, "text") == 0)
				put_part(&o, &tree, i);
		}
	}
	mime_tree_free(&tree);
	return (int64_t)o.len;
}
