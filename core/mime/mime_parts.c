/* The section table: the part tree in pre-order, one record per node,
 * "K<hs>,<bs>,<be>,<size>;" (K a MIME_NODE_* letter), after a "v1;"
 * version prefix. Text, so that it can be stored and read as it is. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime/mime_internal.h"

#define PARTS_VERSION "v1;"

char *mime_parts_serialize(const struct mime_tree *tree)
{
	GString *s = g_string_new(PARTS_VERSION);

	for (size_t i = 0; i < tree->count; i++) {
		const struct mime_node *n = &tree->nodes[i];

		g_string_append_printf(s, "%c%zu,%zu,%zu,%u;", n->kind,
				       n->hs, n->bs, n->be, n->size);
	}
	return g_string_free(s, FALSE);
}

static int parse_u64(const char **p, char sep, uint64_t *v_r)
{
	char *end;

	if (**p < '0' || **p > '9')
		return -EINVAL;
	*v_r = strtoull(*p, &end, 10);
	if (*end != sep)
		return -EINVAL;
	*p = end + 1;
	return 0;
}

int mime_parts_parse(const char *parts, struct mime_node **nodes_r,
		     size_t *count_r)
{
	size_t n = 0, i = 0;
	struct mime_node *nodes;
	const char *p;

	if (!parts || strncmp(parts, PARTS_VERSION, strlen(PARTS_VERSION)))
		return -EINVAL;
	p = parts + strlen(PARTS_VERSION);
	for (const char *q = p; *q; q++)
		n += *q == ';';
	if (n == 0)
		return -EINVAL;
	nodes = calloc(n, sizeof(*nodes));
	if (!nodes)
		return -ENOMEM;
	for (; i < n && *p; i++) {
		uint64_t hs, bs, be, size;

		nodes[i].kind = *p++;
		if (parse_u64(&p, ',', &hs) || parse_u64(&p, ',', &bs) ||
		    parse_u64(&p, ',', &be) || parse_u64(&p, ';', &size) ||
		    hs > bs || bs > be || size == 0 || size > n - i)
			break;
		nodes[i].hs = hs;
		nodes[i].bs = bs;
		nodes[i].be = be;
		nodes[i].size = (uint32_t)size;
	}
	if (i != n || nodes[0].kind != MIME_NODE_MESSAGE) {
		free(nodes);
		return -EINVAL;
	}
	*nodes_r = nodes;
	*count_r = n;
	return 0;
}

/* The k-th (1-based) child of node idx, or -1. */
static long child(const struct mime_node *nodes, size_t idx, uint32_t k)
{
	size_t c = idx + 1, end = idx + nodes[idx].size;

	for (uint32_t i = 1; c < end; i++, c += nodes[c].size)
		if (i == k)
			return (long)c;
	return -1;
}

static void set(struct mime_range *r, uint64_t start, uint64_t end)
{
	*r = (struct mime_range){ .start = start, .end = end, .has = 1 };
}

struct mime_sections {
	struct mime_node *nodes;
	size_t count;
};

int mime_sections_parse(const char *parts, struct mime_sections **table_r)
{
	struct mime_sections *t = calloc(1, sizeof(*t));
	int ret;

	*table_r = NULL;
	if (!t)
		return -ENOMEM;
	ret = mime_parts_parse(parts, &t->nodes, &t->count);
	if (ret < 0) {
		free(t);
		return ret;
	}
	*table_r = t;
	return 0;
}

void mime_sections_free(struct mime_sections **table)
{
	if (!*table)
		return;
	free((*table)->nodes);
	free(*table);
	*table = NULL;
}

int mime_sections_find(const struct mime_sections *table,
		       const uint32_t *path, size_t depth,
		       struct mime_section_ranges *r)
{
	const struct mime_node *nodes = table->nodes;
	long cur = 0;

	memset(r, 0, sizeof(*r));
	for (size_t d = 0; d < depth && cur >= 0; d++) {
		long at = cur;

		/* A message/rfc822 part's numbers go on inside its message;
		 * a message's number 1 is its body when not multipart. */
		if (nodes[at].kind == MIME_NODE_RFC822)
			at = child(nodes, (size_t)at, 1);
		if (at >= 0 && nodes[at].kind == MIME_NODE_MESSAGE) {
			at = child(nodes, (size_t)at, 1);
			if (at >= 0 && nodes[at].kind != MIME_NODE_MULTIPART) {
				cur = path[d] == 1 ? at : -1;
				continue;
			}
		}
		if (at >= 0 && nodes[at].kind == MIME_NODE_MULTIPART)
			cur = child(nodes, (size_t)at, path[d]);
		else
			cur = -1;
	}
	if (cur < 0)
		return -ENOENT;
	if (depth == 0) {
		set(&r->header, nodes[0].hs, nodes[0].bs);
		set(&r->text, nodes[0].bs, nodes[0].be);
		set(&r->body, nodes[0].hs, nodes[0].be);
	} else {
		const struct mime_node *n = &nodes[cur];

		set(&r->mime, n->hs, n->bs);
		set(&r->body, n->bs, n->be);
		if (n->kind == MIME_NODE_RFC822 && n->size > 1) {
			set(&r->header, n[1].hs, n[1].bs);
			set(&r->text, n[1].bs, n[1].be);
		}
	}
	return 0;
}

int mime_section_find(const char *parts, const uint32_t *path, size_t depth,
		      struct mime_section_ranges *r)
{
	struct mime_sections *table;
	int ret;

	memset(r, 0, sizeof(*r));
	ret = mime_sections_parse(parts, &table);
	if (ret < 0)
		return ret;
	ret = mime_sections_find(table, path, depth, r);
	mime_sections_free(&table);
	return ret;
}
