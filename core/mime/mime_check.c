/* mime_check_one: the invariants every summary must hold, for the
 * mutation test and a future libFuzzer target. */
#include <errno.h>
#include <stdlib.h>

#include "mime/mime_internal.h"

/* Children lie inside their parent's range, in order, without overlap. */
static int check_tree(const char *parts, size_t len)
{
	struct mime_section_ranges r;
	uint32_t path[MIME_MAX_DEPTH + 2];
	uint64_t prev_end = 0;
	int ret;

	ret = mime_section_find(parts, NULL, 0, &r);
	if (ret < 0)
		return -EPROTO;
	if (r.header.start != 0 || r.text.end != len || r.header.end >
	    r.text.start)
		return -EPROTO;
	/* Top-level parts 1..n: ranges inside the message, ascending. */
	for (uint32_t i = 1; i <= MIME_MAX_PARTS; i++) {
		path[0] = i;
		ret = mime_section_find(parts, path, 1, &r);
		if (ret == -ENOENT)
			break;
		if (ret < 0 || r.mime.start > r.mime.end ||
		    r.mime.end != r.body.start || r.body.end > len ||
		    (i > 1 && r.mime.start < prev_end))
			return -EPROTO;
		prev_end = r.body.end;
	}
	return 0;
}

int mime_check_one(const void *data, size_t len)
{
	struct mime_summary s;
	int ret = mime_summary_build(data, len, &s);

	if (ret < 0)
		return ret;
	if (!s.envelope || s.envelope[0] != '(' || !s.body ||
	    s.body[0] != '(' || !s.bodystructure || s.bodystructure[0] != '(')
		ret = -EPROTO;
	else
		ret = check_tree(s.parts, len);
	mime_summary_free(&s);
	return ret;
}
