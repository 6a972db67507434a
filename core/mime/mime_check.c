/* mime_check_one: the invariants every summary must hold, for the
 * mutation tests and the libFuzzer target (t/fuzz/fuzz_mime.c). */
#include <errno.h>
#include <stdlib.h>

#include "mime/mime_internal.h"

/* Every node lies inside the message and its parent, after its previous
 * sibling; the tree is no bigger than the walk's bound. */
static int check_nodes(const struct mime_node *nodes, size_t count,
		       size_t len)
{
	if (count > MIME_MAX_NODES || nodes[0].hs != 0 || nodes[0].be != len ||
	    nodes[0].size != count)
		return -EPROTO;
	for (size_t i = 0; i < count; i++) {
		size_t prev_end = nodes[i].hs;

		if (nodes[i].be > len)
			return -EPROTO;
		for (size_t c = i + 1; c < i + nodes[i].size;
		     c += nodes[c].size) {
			if (nodes[c].hs < prev_end || nodes[c].be > nodes[i].be)
				return -EPROTO;
			prev_end = nodes[c].be;
		}
	}
	return 0;
}

/* mime_section_find agrees with the table: the message and its first
 * part. */
static int check_find(const char *parts, size_t len)
{
	struct mime_section_ranges r;
	uint32_t one = 1;
	int ret;

	if (mime_section_find(parts, NULL, 0, &r) < 0 || r.header.start != 0 ||
	    r.text.end != len || r.header.end > r.text.start)
		return -EPROTO;
	ret = mime_section_find(parts, &one, 1, &r);
	if (ret == -ENOENT)
		return 0;
	if (ret < 0 || r.mime.start > r.mime.end ||
	    r.mime.end != r.body.start || r.body.end > len)
		return -EPROTO;
	return 0;
}

int mime_check_one(const void *data, size_t len)
{
	struct mime_summary s;
	struct mime_node *nodes;
	size_t count;
	int ret = mime_summary_build(data, len, &s);

	if (ret < 0)
		return ret;
	if (!s.envelope || s.envelope[0] != '(' || !s.body ||
	    s.body[0] != '(' || !s.bodystructure || s.bodystructure[0] != '(') {
		ret = -EPROTO;
	} else if ((ret = mime_parts_parse(s.parts, &nodes, &count)) < 0) {
		ret = ret == -ENOMEM ? ret : -EPROTO;
	} else {
		ret = check_nodes(nodes, count, len);
		free(nodes);
		if (ret == 0)
			ret = check_find(s.parts, len);
	}
	mime_summary_free(&s);
	return ret;
}
