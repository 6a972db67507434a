/* mime_summary_build: GMime parses the message (pass 0), mime_scan.c
 * computes the ranges (pass 1), mime_imap.c writes the IMAP strings and
 * mime_parts.c the section table (pass 2). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
	GMimeMessage *msg = NULL;
	GMimeStream *stream;
	GMimeParser *parser;
	GString *s;
	int ret;

	if (!summary_r)
		return -EINVAL;
	memset(summary_r, 0, sizeof(*summary_r));
	if (!data && len)
		return -EINVAL;
	if (!data)
		tree.buf = "";
	/* GMime copies the buffer into its memory stream; its content
	 * substreams then index that copy with the same offsets. */
	stream = g_mime_stream_mem_new_with_buffer(tree.buf, len);
	parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	if (len)
		msg = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	g_object_unref(stream);

	ret = mime_scan(&tree, msg);
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
	free(tree.nodes);
	if (msg)
		g_object_unref(msg);
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
