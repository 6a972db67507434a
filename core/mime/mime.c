/* mime_summary_build: the bounded walk builds the part tree with its
 * ranges (pass 1, mime_scan.c), then mime_imap.c writes the IMAP strings
 * and mime_parts.c the section table (pass 2). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "mime/mime_internal.h"

int mime_init(void)
{
	/* Not thread-safe (GMime's global tables): once, before threads. */
	g_mime_init();
	return 0;
}

void mime_shutdown(void)
{
	g_mime_shutdown();
}

int mime_summary_build(const void *data, size_t len,
		       struct mime_summary *summary_r)
{
	struct mime_tree tree = { .buf = data, .len = len };
	GString *s;
	int ret;

	if (!summary_r)
		return -EINVAL;
	memset(summary_r, 0, sizeof(*summary_r));
	if (!data && len)
		return -EINVAL;
	if (!data)
		tree.buf = "";
	ret = mime_scan(&tree);
	if (ret == 0)
		ret = mime_lines(&tree);
	if (ret == 0) {
		s = g_string_new(NULL);
		mime_write_envelope(s, &tree, 0);
		summary_r->envelope = g_string_free(s, FALSE);
		s = g_string_new(NULL);
		mime_write_body(s, &tree, 0, false);
		summary_r->body = g_string_free(s, FALSE);
		s = g_string_new(NULL);
		mime_write_body(s, &tree, 0, true);
		summary_r->bodystructure = g_string_free(s, FALSE);
		summary_r->parts = mime_parts_serialize(&tree);
	}
	mime_tree_free(&tree);
	return ret;
}

void mime_summary_free(struct mime_summary *summary)
{
	if (!summary)
		return;
	g_free(summary->envelope);
	g_free(summary->body);
	g_free(summary->bodystructure);
	g_free(summary->parts);
	memset(summary, 0, sizeof(*summary));
}
