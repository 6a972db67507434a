/* Pass 1: the part tree and the exact byte ranges of every part, walked
 * straight over the buffer with GMime's rules (a header block ends at an
 * empty line, a boundary line or the end; a body ends before the line
 * break that precedes the next boundary line of any enclosing multipart;
 * a multipart/digest's parts default to message/rfc822; a message/rfc822
 * part with a quoted-printable, base64 or uuencode body is not parsed).
 * GMime parses each Content-Type value; its own message parser is not
 * used, since it builds the whole tree first (about 1.3 KB a part, with
 * no limit: 2.7 GB for a 20 MB message of two million empty parts).
 *
 * Bounded as it goes: a container deeper than MIME_MAX_DEPTH, or opened
 * once the tree holds MIME_MAX_PARTS nodes, is one opaque part; a
 * multipart that reaches the cap ends with one opaque "rest" part holding
 * its remaining parts as they are. So a tree has at most MIME_MAX_NODES
 * nodes, and the walk reads each byte a bounded number of times: each
 * line once per boundary on the stack (at most MIME_MAX_DEPTH), each
 * header block a few times. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "mime/mime_internal.h"

/* The boundaries of the open multiparts, with a hash of each so that a
 * line is compared with all of them in one pass over it. */
struct bounds {
	const char *b[MIME_MAX_DEPTH + 1];
	size_t blen[MIME_MAX_DEPTH + 1];
	uint64_t hash[MIME_MAX_DEPTH + 1];
	int n;
};

#define FNV_BASIS 0xcbf29ce484222325ull

/* FNV-1a, continued from h. */
static uint64_t fnv(uint64_t h, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

struct scan {
	struct mime_tree *tree;
	struct bounds st;
};

static size_t line_next(const struct mime_tree *t, size_t pos)
{
	const char *nl = memchr(t->buf + pos, '\n', t->len - pos);

	return nl ? (size_t)(nl - t->buf) + 1 : t->len;
}

static bool line_is_empty(const struct mime_tree *t, size_t pos)
{
	if (pos < t->len && t->buf[pos] == '\n')
		return true;
	return pos + 1 < t->len && t->buf[pos] == '\r' &&
	       t->buf[pos + 1] == '\n';
}

/* Index into the boundary stack of the boundary line at pos (innermost
 * first), or -1. *final_r: it is a close delimiter ("--b--"). As RFC 2046
 * and GMime have it, only blanks may follow the delimiter on its line:
 * "--b64" is no delimiter of boundary "b6". One pass over the line, then
 * a length and hash compare per boundary (not a memcmp each: 64 long
 * boundaries that differ at the end would cost 64 passes). */
static int line_boundary(const struct scan *s, size_t pos, bool *final_r)
{
	const struct mime_tree *t = s->tree;
	const char *p = t->buf + pos;
	uint64_t h, hf = 0;
	bool closing;
	size_t len;

	if (s->st.n == 0 || t->len - pos < 2 || p[0] != '-' || p[1] != '-')
		return -1;
	len = line_next(t, pos) - pos;
	while (len > 2 && (p[len - 1] == '\n' || p[len - 1] == '\r' ||
			   p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	/* "--" b "--": the hash of b, then of b "--" for the other reading */
	closing = len >= 4 && p[len - 2] == '-' && p[len - 1] == '-';
	h = closing ? (hf = fnv(FNV_BASIS, p + 2, len - 4),
		       fnv(hf, p + len - 2, 2))
		    : fnv(FNV_BASIS, p + 2, len - 2);
	for (int i = s->st.n - 1; i >= 0; i--) {
		size_t bl = s->st.blen[i];

		if (closing && len == bl + 4 && s->st.hash[i] == hf &&
		    !memcmp(p + 2, s->st.b[i], bl)) {
			*final_r = true;
			return i;
		}
		if (len == bl + 2 && s->st.hash[i] == h &&
		    !memcmp(p + 2, s->st.b[i], bl)) {
			*final_r = false;
			return i;
		}
	}
	return -1;
}

/* End of the header block starting at pos (after its blank line). */
static size_t header_end(const struct scan *s, size_t pos)
{
	const struct mime_tree *t = s->tree;
	bool final;

	while (pos < t->len) {
		if (line_is_empty(t, pos))
			return line_next(t, pos);
		if (line_boundary(s, pos, &final) >= 0)
			return pos;
		pos = line_next(t, pos);
	}
	return t->len;
}

/* First boundary line at or after the line start pos: its offset, or len
 * with *idx_r = -1. */
static size_t find_boundary(const struct scan *s, size_t pos, int *idx_r,
			    bool *final_r)
{
	const struct mime_tree *t = s->tree;

	*final_r = false;
	while (pos < t->len) {
		*idx_r = line_boundary(s, pos, final_r);
		if (*idx_r >= 0)
			return pos;
		pos = line_next(t, pos);
	}
	*idx_r = -1;
	return t->len;
}

/* Where content that started at start ends, given the boundary line at
 * dpos: the line break before a boundary belongs to the boundary. */
static size_t content_end(const struct mime_tree *t, size_t start,
			  size_t dpos, int idx)
{
	if (idx < 0)
		return t->len;
	if (dpos > start && t->buf[dpos - 1] == '\n') {
		dpos--;
		if (dpos > start && t->buf[dpos - 1] == '\r')
			dpos--;
	}
	return dpos;
}

static int node_add(struct mime_tree *t, char kind, size_t hs, size_t *idx_r)
{
	if (t->count == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct mime_node *n = realloc(t->nodes, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		t->nodes = n;
		t->cap = cap;
	}
	t->nodes[t->count] = (struct mime_node){
		.kind = kind, .hs = hs, .bs = hs, .be = hs,
	};
	*idx_r = t->count++;
	return 0;
}

/* End of the ';'-separated item of a structured value starting at p:
 * the next ';' outside quoted strings and comments, or the end. */
static const char *item_end(const char *p)
{
	bool quoted = false;
	int comment = 0;

	for (; *p; p++) {
		if (*p == '\\' && (quoted || comment) && p[1])
			p++;
		else if (*p == '"' && !comment)
			quoted = !quoted;
		else if (*p == '(' && !quoted)
			comment++;
		else if (*p == ')' && !quoted && comment)
			comment--;
		else if (*p == ';' && !quoted && !comment)
			break;
	}
	return p;
}

static bool is_boundary_param(const char *p, const char *end)
{
	static const char name[] = "boundary";
	size_t n = sizeof(name) - 1;

	while (p < end && g_ascii_isspace(*p))
		p++;
	if ((size_t)(end - p) <= n || g_ascii_strncasecmp(p, name, n))
		return false;
	for (p += n; p < end && g_ascii_isspace(*p); p++)
		;
	return p < end && (*p == '=' || *p == '*');
}

/* What GMime is given of a Content-Type value: the type and the boundary
 * parameters (up to CT_BOUNDARY_ITEMS of them: RFC 2231 sections). GMime
 * makes an object of every parameter, some twenty times the bytes of a
 * long list of short ones; the others are written by mime_write_params,
 * which keeps nothing. */
#define CT_TYPE_MAX 1024
#define CT_BOUNDARY_ITEMS 64

static char *content_type_core(const char *value)
{
	const char *end = item_end(value);
	GString *s = g_string_new_len(value, MIN(end - value, CT_TYPE_MAX));

	for (int kept = 0; *end && kept < CT_BOUNDARY_ITEMS;) {
		const char *item = end + 1;

		end = item_end(item);
		if (is_boundary_param(item, end)) {
			g_string_append_c(s, ';');
			g_string_append_len(s, item, end - item);
			kept++;
		}
	}
	return g_string_free(s, FALSE);
}

/* The node's media type from its last Content-Type field (GMime's
 * choice), or the default; and its boundary parameter (new string) when
 * it has one. */
static int node_type(struct mime_tree *t, size_t idx, bool in_digest,
		     char **boundary_r)
{
	struct mime_node *n = &t->nodes[idx];
	char *value = mime_header_get(t, idx, "Content-Type", true);
	const char *type = in_digest ? "message" : "text";
	const char *sub = in_digest ? "rfc822" : "plain";
	GMimeContentType *ct = NULL;

	*boundary_r = NULL;
	if (value) {
		char *core = content_type_core(value);

		ct = g_mime_content_type_parse(NULL, core);
		g_free(core);
		g_free(value);
	}
	if (ct && g_mime_content_type_get_media_type(ct) &&
	    g_mime_content_type_get_media_subtype(ct)) {
		const char *b = g_mime_content_type_get_parameter(ct,
								  "boundary");

		type = g_mime_content_type_get_media_type(ct);
		sub = g_mime_content_type_get_media_subtype(ct);
		*boundary_r = b ? g_strdup(b) : NULL;
	}
	n->type = g_strdup(type);
	n->subtype = g_strdup(sub);
	if (ct)
		g_object_unref(ct);
	return n->type && n->subtype ? 0 : -ENOMEM;
}

static bool is_message_type(const struct mime_node *n)
{
	static const char *const subs[] = { "rfc822", "rfc2822", "global",
					    "news" };

	if (g_ascii_strcasecmp(n->type, "message"))
		return false;
	for (size_t i = 0; i < G_N_ELEMENTS(subs); i++)
		if (!g_ascii_strcasecmp(n->subtype, subs[i]))
			return true;
	return false;
}

/* A message body RFC 2046 forbids encoding: GMime does not parse it. */
static bool body_encoded(const struct mime_tree *t, size_t idx)
{
	char *cte = mime_header_get(t, idx, "Content-Transfer-Encoding",
				    false);
	GMimeContentEncoding e = cte ? g_mime_content_encoding_from_string(cte)
				     : GMIME_CONTENT_ENCODING_DEFAULT;

	g_free(cte);
	return e == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
	       e == GMIME_CONTENT_ENCODING_BASE64 ||
	       e == GMIME_CONTENT_ENCODING_UUENCODE;
}

static int scan_part(struct scan *s, size_t start, int depth, bool in_digest,
		     size_t *next_r);

static int scan_message(struct scan *s, size_t start, int depth,
			size_t *next_r)
{
	struct mime_tree *t = s->tree;
	size_t idx, ridx;
	int ret;

	ret = node_add(t, MIME_NODE_MESSAGE, start, &idx);
	if (ret < 0)
		return ret;
	ridx = t->count;
	/* The root part shares the message's header block. */
	ret = scan_part(s, start, depth, false, next_r);
	if (ret < 0)
		return ret;
	t->nodes[idx].bs = t->nodes[ridx].bs;
	t->nodes[idx].be = t->nodes[ridx].be;
	t->nodes[idx].size = (uint32_t)(t->count - idx);
	return 0;
}

/* A leaf's content: up to the next enclosing boundary. */
static void scan_leaf(struct scan *s, size_t idx, size_t *next_r)
{
	struct mime_tree *t = s->tree;
	size_t dpos;
	bool final;
	int bi;

	dpos = find_boundary(s, t->nodes[idx].bs, &bi, &final);
	t->nodes[idx].be = content_end(t, t->nodes[idx].bs, dpos, bi);
	t->nodes[idx].size = 1;
	*next_r = dpos;
}

/* A headerless leaf over [bs, be) inside a multipart's body. */
static int synthetic_add(struct mime_tree *t, size_t bs, size_t be,
			 bool opaque)
{
	size_t idx;
	int ret = node_add(t, MIME_NODE_LEAF, bs, &idx);

	if (ret < 0)
		return ret;
	t->nodes[idx].synthetic = true;
	t->nodes[idx].opaque = opaque;
	t->nodes[idx].be = be;
	t->nodes[idx].size = 1;
	t->nodes[idx].type = g_strdup(opaque ? "application" : "text");
	t->nodes[idx].subtype = g_strdup(opaque ? "octet-stream" : "plain");
	return t->nodes[idx].type && t->nodes[idx].subtype ? 0 : -ENOMEM;
}

static int scan_multipart(struct scan *s, size_t idx, const char *boundary,
			  int depth, size_t *next_r)
{
	struct mime_tree *t = s->tree;
	bool digest = !g_ascii_strcasecmp(t->nodes[idx].subtype, "digest");
	size_t bs = t->nodes[idx].bs, dpos, rest = 0, last_be = bs, child;
	int children = 0, bi, own = s->st.n, ret;
	bool final = false;

	if (boundary) {
		s->st.b[own] = boundary;
		s->st.blen[own] = strlen(boundary);
		s->st.hash[own] = fnv(FNV_BASIS, boundary, s->st.blen[own]);
		s->st.n++;
	}
	dpos = find_boundary(s, bs, &bi, &final);
	while (boundary && bi == own && !final) {
		if (t->count >= MIME_MAX_PARTS) {
			/* The cap: the remaining parts, boundaries and all,
			 * become one opaque part. */
			rest = line_next(t, dpos);
			do
				dpos = find_boundary(s, line_next(t, dpos),
						     &bi, &final);
			while (bi == own && !final);
			last_be = content_end(t, rest, dpos, bi);
			ret = synthetic_add(t, rest, last_be, true);
			if (ret < 0)
				return ret;
			break;
		}
		child = t->count;
		ret = scan_part(s, line_next(t, dpos), depth + 1, digest,
				&dpos);
		if (ret < 0)
			return ret;
		last_be = t->nodes[child].be;
		children++;
		bi = dpos < t->len ? line_boundary(s, dpos, &final) : -1;
	}
	if (boundary)
		s->st.n--;
	/* After the close delimiter comes the epilogue. */
	if (bi == own)
		dpos = find_boundary(s, line_next(t, dpos), &bi, &final);
	/* The line break before a boundary line belongs to it, but a part
	 * that ends right there (its header running into the boundary, or
	 * nothing after its boundary line) may hold that break: the body
	 * grows to cover its parts. */
	t->nodes[idx].be = MAX(content_end(t, bs, dpos, bi), last_be);
	*next_r = dpos;
	if (children == 0 && !rest) {
		/* No part found: the body becomes one headerless text part so
		 * that the client still sees the content. */
		ret = synthetic_add(t, bs, t->nodes[idx].be, false);
		if (ret < 0)
			return ret;
	}
	t->nodes[idx].size = (uint32_t)(t->count - idx);
	return 0;
}

static int scan_part(struct scan *s, size_t start, int depth, bool in_digest,
		     size_t *next_r)
{
	struct mime_tree *t = s->tree;
	char *boundary;
	size_t idx;
	bool multi, message;
	int ret;

	ret = node_add(t, MIME_NODE_LEAF, start, &idx);
	if (ret < 0)
		return ret;
	t->nodes[idx].bs = header_end(s, start);
	ret = node_type(t, idx, in_digest, &boundary);
	if (ret < 0)
		return ret;
	multi = !g_ascii_strcasecmp(t->nodes[idx].type, "multipart");
	message = !multi && is_message_type(&t->nodes[idx]);
	if ((multi || message) &&
	    (depth >= MIME_MAX_DEPTH || t->count >= MIME_MAX_PARTS)) {
		t->nodes[idx].opaque = true;
	} else if (multi) {
		t->nodes[idx].kind = MIME_NODE_MULTIPART;
		ret = scan_multipart(s, idx, boundary, depth, next_r);
		g_free(boundary);
		return ret;
	} else if (message && body_encoded(t, idx)) {
		t->nodes[idx].opaque = true;
	} else if (message) {
		t->nodes[idx].kind = MIME_NODE_RFC822;
		g_free(boundary);
		ret = scan_message(s, t->nodes[idx].bs, depth + 1, next_r);
		if (ret < 0)
			return ret;
		t->nodes[idx].be = t->nodes[idx + 1].be;
		t->nodes[idx].size = (uint32_t)(t->count - idx);
		return 0;
	}
	g_free(boundary);
	scan_leaf(s, idx, next_r);
	return 0;
}

int mime_scan(struct mime_tree *tree)
{
	struct scan s = { .tree = tree };
	size_t next;

	return scan_message(&s, 0, 0, &next);
}

void mime_tree_free(struct mime_tree *tree)
{
	for (size_t i = 0; i < tree->count; i++) {
		g_free(tree->nodes[i].type);
		g_free(tree->nodes[i].subtype);
	}
	free(tree->nodes);
	tree->nodes = NULL;
	tree->count = tree->cap = 0;
}

struct mark {
	size_t at;
	size_t *nl_r; /* newlines before at */
};

static int mark_cmp(const void *a, const void *b)
{
	const struct mark *x = a, *y = b;

	return (x->at > y->at) - (x->at < y->at);
}

int mime_lines(struct mime_tree *tree)
{
	/* lines = newlines before be - newlines before bs (+ a last line
	 * without one): both counts for every node from one sorted sweep,
	 * instead of a count per node (nested parts would recount the same
	 * bytes once per enclosing part). */
	size_t n = tree->count * 2, *nl = calloc(n, sizeof(*nl)), seen = 0,
	       pos = 0;
	struct mark *marks = calloc(n, sizeof(*marks));

	if (!nl || !marks) {
		free(nl);
		free(marks);
		return -ENOMEM;
	}
	for (size_t i = 0; i < tree->count; i++) {
		marks[2 * i] = (struct mark){ tree->nodes[i].bs, &nl[2 * i] };
		marks[2 * i + 1] = (struct mark){ tree->nodes[i].be,
						  &nl[2 * i + 1] };
	}
	qsort(marks, n, sizeof(*marks), mark_cmp);
	for (size_t m = 0; m < n; m++) {
		const char *p;

		while ((p = memchr(tree->buf + pos, '\n', marks[m].at - pos))) {
			seen++;
			pos = (size_t)(p - tree->buf) + 1;
		}
		pos = marks[m].at;
		*marks[m].nl_r = seen;
	}
	for (size_t i = 0; i < tree->count; i++) {
		struct mime_node *node = &tree->nodes[i];

		node->lines = nl[2 * i + 1] - nl[2 * i];
		if (node->be > node->bs && tree->buf[node->be - 1] != '\n')
			node->lines++;
	}
	free(nl);
	free(marks);
	return 0;
}
