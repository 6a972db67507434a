/* Pass 2: ENVELOPE, BODY and BODYSTRUCTURE (RFC 3501 7.4.2) from the part
 * tree. Case: media type, subtype, parameter names, disposition type and
 * transfer encoding are lower-cased (IMAP compares them
 * case-insensitively; lower case matches the defaults clients expect);
 * every value is passed as written. */
#include <string.h>

#include "mime/mime_internal.h"

/* Longer strings go out as literals, like 8-bit ones. */
#define QUOTED_MAX 1024

void mime_write_nstring(GString *out, const char *value, size_t len)
{
	bool literal = len > QUOTED_MAX;

	if (!value) {
		g_string_append(out, "NIL");
		return;
	}
	for (size_t i = 0; i < len && !literal; i++) {
		unsigned char c = (unsigned char)value[i];

		literal = c >= 0x80 || c == '\r' || c == '\n' || c == '\0';
	}
	if (literal) {
		/* NUL cannot be sent in a literal (RFC 3501 4.3): shown as
		 * a space; the header text comes from GMime as a C string,
		 * so this does not happen in practice. */
		g_string_append_printf(out, "{%zu}\r\n", len);
		for (size_t i = 0; i < len; i++)
			g_string_append_c(out, value[i] ? value[i] : ' ');
		return;
	}
	g_string_append_c(out, '"');
	for (size_t i = 0; i < len; i++) {
		if (value[i] == '"' || value[i] == '\\')
			g_string_append_c(out, '\\');
		g_string_append_c(out, value[i]);
	}
	g_string_append_c(out, '"');
}

void mime_write_cstring(GString *out, const char *value)
{
	mime_write_nstring(out, value, value ? strlen(value) : 0);
}

/* The unfolded header as an nstring (NIL when absent). */
static void write_header(GString *out, GMimeObject *obj, const char *name)
{
	char *v = mime_header_get(obj, name);

	mime_write_cstring(out, v);
	g_free(v);
}

static void write_addresses(GString *out, GMimeObject *obj,
			    const char *name, const char *fallback)
{
	char *v = mime_header_get(obj, name);
	size_t start = out->len;

	mime_write_address_list(out, v);
	g_free(v);
	/* RFC 3501: absent or empty Sender / Reply-To take From's value. */
	if (fallback && !strcmp(out->str + start, "NIL")) {
		g_string_truncate(out, start);
		write_addresses(out, obj, fallback, NULL);
	}
}

void mime_write_envelope(GString *out, const struct mime_tree *tree,
			 size_t msg_idx)
{
	GMimeObject *msg = tree->nodes[msg_idx].obj;

	g_string_append_c(out, '(');
	write_header(out, msg, "Date");
	g_string_append_c(out, ' ');
	write_header(out, msg, "Subject");
	g_string_append_c(out, ' ');
	write_addresses(out, msg, "From", NULL);
	g_string_append_c(out, ' ');
	write_addresses(out, msg, "Sender", "From");
	g_string_append_c(out, ' ');
	write_addresses(out, msg, "Reply-To", "From");
	g_string_append_c(out, ' ');
	write_addresses(out, msg, "To", NULL);
	g_string_append_c(out, ' ');
	write_addresses(out, msg, "Cc", NULL);
	g_string_append_c(out, ' ');
	write_addresses(out, msg, "Bcc", NULL);
	g_string_append_c(out, ' ');
	write_header(out, msg, "In-Reply-To");
	g_string_append_c(out, ' ');
	write_header(out, msg, "Message-ID");
	g_string_append_c(out, ')');
}

/* Lines of a body: its line feeds, plus a last line without one. */
static size_t count_lines(const struct mime_tree *tree, size_t bs, size_t be)
{
	size_t lines = 0;

	for (const char *p = tree->buf + bs, *end = tree->buf + be;
	     (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
		lines++;
	if (be > bs && tree->buf[be - 1] != '\n')
		lines++;
	return lines;
}

static void write_lower(GString *out, const char *s)
{
	char *low = g_ascii_strdown(s, -1);

	mime_write_cstring(out, low);
	g_free(low);
}

/* disposition language location */
static void write_extension_tail(GString *out, GMimeObject *obj)
{
	char *disp = mime_header_get(obj, "Content-Disposition");
	char *type = mime_first_token(disp);
	char *lang = mime_header_get(obj, "Content-Language");

	g_string_append_c(out, ' ');
	if (type) {
		g_string_append_c(out, '(');
		mime_write_cstring(out, type);
		g_string_append_c(out, ' ');
		mime_write_params(out, disp);
		g_string_append_c(out, ')');
	} else {
		g_string_append(out, "NIL");
	}
	g_string_append_c(out, ' ');
	if (lang) {
		/* a list of language tags, one string when there is one */
		char **tags = g_strsplit_set(lang, ", \t", -1);
		GString *list = g_string_new(NULL);
		int n = 0;

		for (char **t = tags; *t; t++) {
			if (!**t)
				continue;
			if (n++)
				g_string_append_c(list, ' ');
			mime_write_cstring(list, *t);
		}
		if (n == 0)
			g_string_append(out, "NIL");
		else if (n == 1)
			g_string_append(out, list->str);
		else
			g_string_append_printf(out, "(%s)", list->str);
		g_string_free(list, TRUE);
		g_strfreev(tags);
	} else {
		g_string_append(out, "NIL");
	}
	g_string_append_c(out, ' ');
	write_header(out, obj, "Content-Location");
	g_free(disp);
	g_free(type);
	g_free(lang);
}

/* The node's media type and subtype (borrowed from GMime or constants)
 * and its raw Content-Type (new string, NULL when defaulted). */
static void node_type(const struct mime_node *n, const char **type_r,
		      const char **sub_r, char **ctype_r)
{
	GMimeContentType *ct = NULL;

	*type_r = "text";
	*sub_r = "plain";
	*ctype_r = NULL;
	if (n->synthetic || !n->obj || GMIME_IS_MESSAGE(n->obj))
		return;
	if (n->opaque) {
		*type_r = "application";
		*sub_r = "octet-stream";
		return;
	}
	ct = g_mime_object_get_content_type(n->obj);
	if (ct && g_mime_content_type_get_media_type(ct) &&
	    g_mime_content_type_get_media_subtype(ct)) {
		*type_r = g_mime_content_type_get_media_type(ct);
		*sub_r = g_mime_content_type_get_media_subtype(ct);
		*ctype_r = mime_header_get(n->obj, "Content-Type");
	}
}

static void write_leaf(GString *out, const struct mime_tree *tree,
		       size_t idx, bool extended)
{
	const struct mime_node *n = &tree->nodes[idx];
	GMimeObject *obj = n->synthetic ? NULL : n->obj;
	const char *type, *sub;
	char *ctype, *enc;
	bool text;

	node_type(n, &type, &sub, &ctype);
	text = !g_ascii_strcasecmp(type, "text");
	g_string_append_c(out, '(');
	write_lower(out, type);
	g_string_append_c(out, ' ');
	write_lower(out, sub);
	g_string_append_c(out, ' ');
	if (ctype)
		mime_write_params(out, ctype);
	else if (text)
		g_string_append(out, "(\"charset\" \"us-ascii\")");
	else
		g_string_append(out, "NIL");
	g_free(ctype);
	g_string_append_c(out, ' ');
	write_header(out, obj, "Content-ID");
	g_string_append_c(out, ' ');
	write_header(out, obj, "Content-Description");
	g_string_append_c(out, ' ');
	ctype = mime_header_get(obj, "Content-Transfer-Encoding");
	enc = mime_first_token(ctype);
	g_free(ctype);
	mime_write_cstring(out, enc ? enc : "7bit");
	g_string_append_c(out, ' ');
	g_string_append_printf(out, "%zu", n->be - n->bs);
	if (n->kind == MIME_NODE_RFC822) {
		g_string_append_c(out, ' ');
		mime_write_envelope(out, tree, idx + 1);
		g_string_append_c(out, ' ');
		mime_write_body(out, tree, idx + 1, extended);
	}
	if (text || n->kind == MIME_NODE_RFC822)
		g_string_append_printf(out, " %zu",
				       count_lines(tree, n->bs, n->be));
	if (extended) {
		g_string_append(out, " NIL");
		write_extension_tail(out, obj);
	}
	g_string_append_c(out, ')');
	g_free(enc);
}

static void write_multipart(GString *out, const struct mime_tree *tree,
			    size_t idx, bool extended)
{
	const struct mime_node *n = &tree->nodes[idx];
	const char *type, *sub;
	char *ctype;

	g_string_append_c(out, '(');
	for (size_t c = idx + 1; c < idx + n->size; c += tree->nodes[c].size)
		mime_write_body(out, tree, c, extended);
	node_type(n, &type, &sub, &ctype);
	g_string_append_c(out, ' ');
	write_lower(out, sub);
	if (extended) {
		g_string_append_c(out, ' ');
		mime_write_params(out, ctype);
		write_extension_tail(out, n->obj);
	}
	g_string_append_c(out, ')');
	g_free(ctype);
}

void mime_write_body(GString *out, const struct mime_tree *tree, size_t idx,
		     bool extended)
{
	const struct mime_node *n = &tree->nodes[idx];

	if (n->kind == MIME_NODE_MESSAGE)
		mime_write_body(out, tree, idx + 1, extended);
	else if (n->kind == MIME_NODE_MULTIPART)
		write_multipart(out, tree, idx, extended);
	else
		write_leaf(out, tree, idx, extended);
}
