/* Pass 1: exact byte ranges of every part. GMime gives the tree (which
 * objects exist, their types and boundaries); the offsets are computed
 * here from the buffer with GMime's rules (a header block ends at an empty
 * line, a boundary line or the end; a body ends before the line break
 * that precedes the next boundary line of any enclosing multipart), since
 * GMime does not expose the ranges of multipart bodies and headers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mime/mime_internal.h"

struct bounds {
	const char *b[MIME_MAX_DEPTH + 1];
	size_t blen[MIME_MAX_DEPTH + 1];
	int n;
};

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
 * first), or -1. *final_r: it is a close delimiter ("--b--"). */
static int line_boundary(const struct scan *s, size_t pos, bool *final_r)
{
	const struct mime_tree *t = s->tree;
	size_t left = t->len - pos;

	if (left < 2 || t->buf[pos] != '-' || t->buf[pos + 1] != '-')
		return -1;
	for (int i = s->st.n - 1; i >= 0; i--) {
		size_t bl = s->st.blen[i];

		if (left - 2 < bl || memcmp(t->buf + pos + 2, s->st.b[i], bl))
			continue;
		*final_r = left - 2 - bl >= 2 &&
			   t->buf[pos + 2 + bl] == '-' &&
			   t->buf[pos + 3 + bl] == '-';
		return i;
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

static int node_add(struct mime_tree *t, char kind, GMimeObject *obj,
		    size_t hs, size_t *idx_r)
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
		.kind = kind, .hs = hs, .bs = hs, .be = hs, .obj = obj,
	};
	*idx_r = t->count++;
	return 0;
}

static int scan_part(struct scan *s, GMimeObject *obj, size_t start,
		     int depth, size_t *next_r);

static int scan_message(struct scan *s, GMimeMessage *msg, size_t start,
			int depth, size_t *next_r)
{
	struct mime_tree *t = s->tree;
	GMimeObject *root = msg ? g_mime_message_get_mime_part(msg) : NULL;
	size_t idx, ridx;
	int ret;

	ret = node_add(t, MIME_NODE_MESSAGE, (GMimeObject *)msg, start, &idx);
	if (ret < 0)
		return ret;
	ridx = t->count;
	/* The root part shares the message's header block. */
	ret = scan_part(s, root, start, depth, next_r);
	if (ret < 0)
		return ret;
	t->nodes[idx].bs = t->nodes[ridx].bs;
	t->nodes[idx].be = t->nodes[ridx].be;
	t->nodes[idx].size = (uint32_t)(t->count - idx);
	return 0;
}

/* A leaf: header, then content up to the next enclosing boundary. */
static int scan_leaf(struct scan *s, size_t idx, size_t *next_r)
{
	struct mime_tree *t = s->tree;
	struct mime_node *n = &t->nodes[idx];
	size_t dpos;
	bool final;
	int bi;

	n->kind = MIME_NODE_LEAF;
	n->bs = header_end(s, n->hs);
	dpos = find_boundary(s, n->bs, &bi, &final);
	n->be = content_end(t, n->bs, dpos, bi);
	n->size = 1;
	*next_r = dpos;
	return 0;
}

static int scan_multipart(struct scan *s, size_t idx, int depth,
			  size_t *next_r)
{
	struct mime_tree *t = s->tree;
	GMimeMultipart *mp = GMIME_MULTIPART(t->nodes[idx].obj);
	/* Not g_mime_multipart_get_boundary(): without a boundary parameter
	 * it makes one up and re-encodes the whole Content-Type, which with
	 * hostile RFC 2231 parameters takes minutes (a fuzzer's timeout). */
	const char *boundary = g_mime_object_get_content_type_parameter(
		t->nodes[idx].obj, "boundary");
	int count = g_mime_multipart_get_count(mp), children = 0, bi, own;
	size_t bs = header_end(s, t->nodes[idx].hs), pos = bs, dpos, sidx;
	bool final = false;
	int ret;

	t->nodes[idx].bs = bs;
	own = s->st.n;
	if (boundary) {
		s->st.b[own] = boundary;
		s->st.blen[own] = strlen(boundary);
		s->st.n++;
	}
	dpos = find_boundary(s, pos, &bi, &final);
	for (int i = 0; boundary && i < count && bi == own && !final; i++) {
		if (t->count >= MIME_MAX_PARTS)
			break;
		ret = scan_part(s, g_mime_multipart_get_part(mp, i),
				line_next(t, dpos), depth + 1, &dpos);
		if (ret < 0)
			return ret;
		children++;
		bi = dpos < t->len ? line_boundary(s, dpos, &final) : -1;
	}
	/* Parts GMime did not make (or beyond the cap) stay inside this body
	 * up to its close delimiter; then comes the epilogue. */
	while (bi == own && !final)
		dpos = find_boundary(s, line_next(t, dpos), &bi, &final);
	if (boundary)
		s->st.n--;
	if (bi == own)
		dpos = find_boundary(s, line_next(t, dpos), &bi, &final);
	t->nodes[idx].be = content_end(t, bs, dpos, bi);
	*next_r = dpos;
	if (children == 0) {
		/* No part found: the body becomes one headerless text part so
		 * that the client still sees the content. */
		ret = node_add(t, MIME_NODE_LEAF, NULL, bs, &sidx);
		if (ret < 0)
			return ret;
		t->nodes[sidx].synthetic = true;
		t->nodes[sidx].be = t->nodes[idx].be;
		t->nodes[sidx].size = 1;
	}
	t->nodes[idx].size = (uint32_t)(t->count - idx);
	return 0;
}

static int scan_part(struct scan *s, GMimeObject *obj, size_t start,
		     int depth, size_t *next_r)
{
	struct mime_tree *t = s->tree;
	size_t idx, bs;
	int ret;

	ret = node_add(t, MIME_NODE_LEAF, obj, start, &idx);
	if (ret < 0)
		return ret;
	if (obj && depth >= MIME_MAX_DEPTH &&
	    (GMIME_IS_MULTIPART(obj) || GMIME_IS_MESSAGE_PART(obj)))
		t->nodes[idx].opaque = true;
	else if (obj && GMIME_IS_MULTIPART(obj)) {
		t->nodes[idx].kind = MIME_NODE_MULTIPART;
		return scan_multipart(s, idx, depth, next_r);
	} else if (obj && GMIME_IS_MESSAGE_PART(obj) &&
		   g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj))) {
		t->nodes[idx].kind = MIME_NODE_RFC822;
		bs = header_end(s, start);
		t->nodes[idx].bs = bs;
		ret = scan_message(s, g_mime_message_part_get_message(
					      GMIME_MESSAGE_PART(obj)),
				   bs, depth + 1, next_r);
		if (ret < 0)
			return ret;
		t->nodes[idx].be = t->nodes[idx + 1].be;
		t->nodes[idx].size = (uint32_t)(t->count - idx);
		return 0;
	} else if (obj && GMIME_IS_MESSAGE_PART(obj))
		t->nodes[idx].opaque = true; /* GMime found no message */
	return scan_leaf(s, idx, next_r);
}

int mime_scan(struct mime_tree *tree, GMimeMessage *message)
{
	struct scan s = { .tree = tree };
	size_t next;

	return scan_message(&s, message, 0, 0, &next);
}
