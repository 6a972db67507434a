/* MIME summaries for IMAP: computed once per delivered message on the
 * threadpool (core/mime; core/delivery/msg.c), stored with the blob by
 * the writer, and served to FETCH from the database, with the byte ranges
 * of every section so BODY[2.1] reads only its bytes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mime/mime.h"
#include "host/host_mail.h"
#include "mailbox/view.h"
#include "store/store.h"

static void host_section_from_ranges(const struct mime_section_ranges *r,
				     struct postino_section *s)
{
	s->has_header = r->header.has;
	s->header_start = r->header.start;
	s->header_end = r->header.end;
	s->has_text = r->text.has;
	s->text_start = r->text.start;
	s->text_end = r->text.end;
	s->has_mime = r->mime.has;
	s->mime_start = r->mime.start;
	s->mime_end = r->mime.end;
	s->has_body = r->body.has;
	s->body_start = r->body.start;
	s->body_end = r->body.end;
}

int host_mime_store(struct store_txn *txn, int64_t blob_id,
		    const struct mime_summary *summary)
{
	int ret = store_txn_mime_has(txn, blob_id);

	if (ret != 0)
		return ret < 0 ? ret : 0;
	return store_txn_mime_put(txn, blob_id, summary->envelope,
				  summary->body, summary->bodystructure,
				  summary->parts);
}

/* Messages stored before the summaries existed: computed now, not kept. */
static int mime_compute(postino_mailbox *mb, uint32_t index,
			struct mime_summary *summary_r)
{
	int64_t blob_id, n;
	uint64_t size;
	int ret = host_view_blob(mb, index, &blob_id, &size);

	if (ret < 0)
		return ret;
	char *buf = malloc(size + 1);
	if (buf == NULL)
		return -ENOMEM;
	n = store_blob_read(mb->ctx->store, blob_id, 0, buf, size);
	if (n < 0) {
		free(buf);
		return (int)n;
	}
	ret = mime_summary_build(buf, (size_t)n, summary_r);
	free(buf);
	return ret;
}

int64_t host_mailbox_mime(postino_mailbox *mb, uint32_t index,
			  enum postino_mime_summary which, char *buf,
			  size_t buflen)
{
	int64_t blob_id;
	uint64_t size;

	if (buf == NULL || buflen == 0 ||
	    which < POSTINO_MIME_ENVELOPE || which > POSTINO_MIME_BODYSTRUCTURE)
		return -EINVAL;
	int ret = host_view_blob(mb, index, &blob_id, &size);
	if (ret < 0)
		return ret;
	int64_t n = store_mime_get(mb->ctx->store, blob_id,
				   (int)which - 1, buf, buflen);
	if (n != -ENOENT)
		return n;

	struct mime_summary summary;
	ret = mime_compute(mb, index, &summary);
	if (ret < 0)
		return ret;
	const char *s = which == POSTINO_MIME_ENVELOPE ? summary.envelope
		      : which == POSTINO_MIME_BODY   ? summary.body
						     : summary.bodystructure;
	size_t len = strlen(s);
	size_t copy = len < buflen - 1 ? len : buflen - 1;
	memcpy(buf, s, copy);
	buf[copy] = '\0';
	mime_summary_free(&summary);
	return (int64_t)len;
}

/* The parsed section table of the message index of mb: the one kept in
 * ctx when it is that message's (a FETCH of many sections of one message
 * asks for it once per section: parsing 5,000 parts each time took 1.4 ms
 * of the loop per section), else read (or, for a message stored before
 * the summaries, computed) and kept in its place. Blob ids are never
 * reused and a blob's summary never changes, so the id is the key. */
static int sections_of(postino_mailbox *mb, uint32_t index,
		       const struct mime_sections **table_r)
{
	struct mime_section_cache *cache = &mb->ctx->mime_sections;
	struct mime_sections *table = NULL;
	char small[4096], *parts = small;
	int64_t blob_id;
	uint64_t size;
	int ret = host_view_blob(mb, index, &blob_id, &size);

	if (ret < 0)
		return ret;
	if (cache->table != NULL && cache->blob_id == blob_id) {
		*table_r = cache->table;
		return 0;
	}
	int64_t n = store_mime_get(mb->ctx->store, blob_id, 3,
				   small, sizeof small);
	if (n >= (int64_t)sizeof small) {
		parts = malloc((size_t)n + 1);
		if (parts == NULL)
			return -ENOMEM;
		n = store_mime_get(mb->ctx->store, blob_id, 3,
				   parts, (size_t)n + 1);
	}
	if (n == -ENOENT) {
		struct mime_summary summary;
		ret = mime_compute(mb, index, &summary);
		if (ret == 0) {
			ret = mime_sections_parse(summary.parts, &table);
			mime_summary_free(&summary);
		}
	} else if (n < 0) {
		ret = (int)n;
	} else {
		ret = mime_sections_parse(parts, &table);
	}
	if (parts != small)
		free(parts);
	if (ret < 0)
		return ret;
	mime_sections_free(&cache->table);
	cache->table = table;
	cache->blob_id = blob_id;
	*table_r = table;
	return 0;
}

int host_mailbox_section(postino_mailbox *mb, uint32_t index,
			 const uint32_t *path, size_t depth,
			 struct postino_section *section_r)
{
	const struct mime_sections *table;
	struct mime_section_ranges r;
	int ret;

	if (section_r == NULL ||
	    !POSTINO_HAS_FIELD(section_r, struct postino_section, body_end) ||
	    (depth > 0 && path == NULL))
		return -EINVAL;
	ret = sections_of(mb, index, &table);
	if (ret == 0)
		ret = mime_sections_find(table, path, depth, &r);
	if (ret < 0)
		return ret;
	host_section_from_ranges(&r, section_r);
	return 0;
}

void host_mime_cache_free(struct core_ctx *ctx)
{
	mime_sections_free(&ctx->mime_sections.table);
}
