/* IMAP MIME summary of a stored message: ENVELOPE, BODY, BODYSTRUCTURE and
 * a table of section byte ranges, computed once (at delivery or APPEND)
 * with GMime, so that FETCH never re-parses a message.
 *
 * Cost: time linear in the message size (times at most MIME_MAX_DEPTH for
 * boundary checks), memory the message's size at most plus a bound of
 * its own, whatever the number of parts.
 *
 * Threads: call mime_init() once per process before any thread uses this
 * API (GMime's global init is not thread-safe); after that
 * mime_summary_build() and mime_section_find() may run concurrently on any
 * threads (each build has its own state). */
#ifndef POSTINO_MIME_H
#define POSTINO_MIME_H

#include <stddef.h>
#include <stdint.h>

/* Bounds of the summary, enforced while the message is walked (before
 * any tree exists): deeper multipart/message nesting becomes one opaque
 * application/octet-stream part; once the tree holds MIME_MAX_PARTS
 * entries (the message, its parts, and each message/rfc822 part's
 * message), each multipart still open ends with one opaque part holding
 * the rest of its body as it is. The bytes stay whole: BODY[] and the ranges
 * around the opaque parts are exact. */
#define MIME_MAX_DEPTH 64
#define MIME_MAX_PARTS 5000

int mime_init(void);
void mime_shutdown(void);

/* Four NUL-terminated strings, owned by the summary until
 * mime_summary_free(). Every string is 7-bit clean except where a header
 * carries 8-bit bytes, which are sent as IMAP literals ("{n}\r\n..."). */
struct mime_summary {
	char *envelope;      /* "(date subject from ... message-id)" */
	char *body;          /* BODY: BODYSTRUCTURE without extension data */
	char *bodystructure; /* BODYSTRUCTURE with extension data */
	char *parts;         /* section table for mime_section_find() */
};

/* data: the whole message as stored (len bytes, may contain NULs, need not
 * end in a newline). Any input yields a summary; 0, -EINVAL (NULL
 * arguments) or -ENOMEM. On error *summary_r is zeroed. */
int mime_summary_build(const void *data, size_t len,
		       struct mime_summary *summary_r);
/* Frees the strings and zeroes the struct; safe on a zeroed struct. */
void mime_summary_free(struct mime_summary *summary);

/* A byte range [start, end) of the stored message; has = 0 when the
 * section does not exist for that part. */
struct mime_range {
	uint64_t start, end;
	int has;
};

/* RFC 3501 6.4.5 sections of one part. For depth 0 (the message):
 * header = [HEADER] (with the blank line), text = [TEXT], body = BODY[]
 * (the whole message), mime absent. For a part: mime = [n.MIME] (its MIME
 * header with the blank line), body = [n]; header and text = [n.HEADER]
 * and [n.TEXT] only when the part is message/rfc822 (of the embedded
 * message). For a non-multipart message, part 1 is its body and 1.MIME
 * its header. */
struct mime_section_ranges {
	struct mime_range header, text, mime, body;
};

/* parts: summary.parts; path: part numbers (1-based), depth of them.
 * 0, -ENOENT (no such part) or -EINVAL (malformed table). Reentrant.
 * Parses the whole table: for many lookups in one message, parse it once
 * with mime_sections_parse(). */
int mime_section_find(const char *parts, const uint32_t *path, size_t depth,
		      struct mime_section_ranges *r);

/* A parsed section table: each lookup then costs the path's length in
 * siblings, not the table's size. */
struct mime_sections;
/* 0, -EINVAL (malformed table) or -ENOMEM. */
int mime_sections_parse(const char *parts, struct mime_sections **table_r);
/* As mime_section_find(). */
int mime_sections_find(const struct mime_sections *table,
		       const uint32_t *path, size_t depth,
		       struct mime_section_ranges *r);
/* Frees the table and sets *table to NULL; safe on NULL. */
void mime_sections_free(struct mime_sections **table);

/* SEARCH's text of a message (RFC 3501 6.4.4), UTF-8, into buf (at most
 * buflen bytes; what is longer is cut): its header fields one a line,
 * "Name: value\n", unfolded, RFC 2047 words decoded, address fields as
 * ENVELOPE parses them ("Name <local@domain>, ..."); *header_len_r is
 * their length. With body: then "\n" and the text of every text part
 * (embedded messages' header fields too), transfer encoding undone,
 * charset converted (bytes a charset does not have become "?"), each
 * followed by "\n". data may be just the header. Returns the length,
 * or -EINVAL / -ENOMEM. Reentrant: any thread. */
int64_t mime_search_text(const void *data, size_t len, int body, char *buf,
			 size_t buflen, size_t *header_len_r);

/* Fuzz/robustness entry point: builds a summary of data, checks every
 * part's ranges lie inside [0, len] and in order, frees it. 0 when all
 * holds, -EPROTO on a violated invariant, else as mime_summary_build().
 * Usable as the body of LLVMFuzzerTestOneInput(). */
int mime_check_one(const void *data, size_t len);

#endif
