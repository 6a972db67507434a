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
		 * a space; header values are C strings (a NUL ends them),
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

/* Node idx's unfolded header as an nstring (NIL when absent). */
static void write_header(GString *out, const struct mime_tree *tree,
			 size_t idx, const char *name)
{
	char *v = mime_header_get(tree, idx, name, false);

	mime_write_cstring(out, v);
	g_free(v);
}

static void write_addresses(GString *out, const struct mime_tree *tree,
			    size_t idx, const char *name, const char *fallback)
{
	char *v = mime_header_get(tree, idx, name, false);
	size_t start = out->len;

	mime_write_address_list(out, v);
	g_free(v);
	/* RFC 3501: absent or empty Sender / Reply-To take From's value. */
	if (fallback && !strcmp(out->str + start, "NIL")) {
		g_string_truncate(out, start);
		write_addresses(out, tree, idx, fallback, NULL);
	}
}

void mime_write_envelope(GString *out, const struct mime_tree *tree,
			 size_t msg_idx)
{
	g_string_append_c(out, '(');
	write_header(out, tree, msg_idx, "Date");
	g_string_append_c(out, ' ');
	write_header(out, tree, msg_idx, "Subject");
	g_string_append_c(out, ' ');
	write_addresses(out, tree, msg_idx, "From", NULL);
	g_string_append_c(out, ' ');
	write_addresses(out, tree, msg_idx, "Sender", "From");
	g_string_append_c(out, ' ');
	write_addresses(out, tree, msg_idx, "Reply-To", "From");
	g_string_append_c(out, ' ');
	write_addresses(out, tree, msg_idx, "To", NULL);
	g_string_append_c(out, ' ');
	write_addresses(out, tree, msg_idx, "Cc", NULL);
	g_string_append_c(out, ' ');
	write_addresses(out, tree, msg_idx, "Bcc", NULL);
	g_string_append_c(out, ' ');
	write_header(out, tree, msg_idx, "In-Reply-To");
	g_string_append_c(out, ' ');
	write_header(out, tree, msg_idx, "Message-ID");
	g_string_append_c(out, ')');
}

static void write_lower(GString *out, const char *s)
{
	char *low = g_ascii_strdown(s, -1);

	mime_write_cstring(out, low);
	g_free(low);
}

/* Content-Language: a list of language tags, one string when there is
 * one, NIL when there is none. Written as they are found: a list of a
 * million tags needs no million strings. */
static void write_languages(GString *out, const char *lang)
{
	static const char seps[] = ", \t";
	size_t start = out->len, n = 0;

	for (const char *p = lang; p && *p;) {
		size_t len = strcspn(p, seps);

		if (len) {
			char *tag = g_strndup(p, len);

			g_string_append_c(out, n++ ? ' ' : '(');
			mime_write_cstring(out, tag);
			g_free(tag);
		}
		p += len;
		p += strspn(p, seps);
	}
	if (n == 0) {
		g_string_append(out, "NIL");
	} else if (n == 1) {
		/* one tag: no parentheses */
		g_string_erase(out, (gssize)start, 1);
	} else {
		g_string_append_c(out, ')');
	}
}

/* disposition language location */
static void write_extension_tail(GString *out, const struct mime_tree *tree,
				 size_t idx)
{
	char *disp = mime_header_get(tree, idx, "Content-Disposition", false);
	char *type = mime_first_token(disp);
	char *lang = mime_header_get(tree, idx, "Content-Language", false);

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
	write_languages(out, lang);
	g_string_append_c(out, ' ');
	write_header(out, tree, idx, "Content-Location");
	g_free(disp);
	g_free(type);
	g_free(lang);
}

/* The node's media type and subtype (borrowed from the node or
 * constants) and its raw Content-Type (new string, NULL when defaulted). */
static void node_type(const struct mime_tree *tree, size_t idx,
		      const char **type_r, const char **sub_r, char **ctype_r)
{
	const struct mime_node *n = &tree->nodes[idx];

	*type_r = "text";
	*sub_r = "plain";
	*ctype_r = NULL;
	if (n->opaque) {
		*type_r = "application";
		*sub_r = "octet-stream";
		return;
	}
	if (n->synthetic || !n->type || !n->subtype)
		return;
	*type_r = n->type;
	*sub_r = n->subtype;
	*ctype_r = mime_header_get(tree, idx, "Content-Type", false);
}

static void write_leaf(GString *out, const struct mime_tree *tree,
		       size_t idx, bool extended)
{
	const struct mime_node *n = &tree->nodes[idx];
	const char *type, *sub;
	char *ctype, *enc;
	bool text;

	node_type(tree, idx, &type, &sub, &ctype);
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
	write_header(out, tree, idx, "Content-ID");
	g_string_append_c(out, ' ');
	write_header(out, tree, idx, "Content-Description");
	g_string_append_c(out, ' ');
	ctype = mime_header_get(tree, idx, "Content-Transfer-Encoding", false);
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
		g_string_append_printf(out, " %zu", n->lines);
	if (extended) {
		g_string_append(out, " NIL");
		write_extension_tail(out, tree, idx);
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
	node_type(tree, idx, &type, &sub, &ctype);
	g_string_append_c(out, ' ');
	write_lower(out, sub);
	if (extended) {
		g_string_append_c(out, ' ');
		mime_write_params(out, ctype);
		write_extension_tail(out, tree, idx);
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
