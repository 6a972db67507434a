/* FETCH attributes (RFC 3501 6.4.5, 9 "fetch-att"): parse the argument,
 * label BODY[...] responses, filter headers for HEADER.FIELDS(.NOT). */
#ifndef IMAP_FETCH_ATT_H
#define IMAP_FETCH_ATT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap_buf.h"
#include "imap_parser.h"

#define IMAP_FETCH_FLAGS         (1u << 0)
#define IMAP_FETCH_INTERNALDATE  (1u << 1)
#define IMAP_FETCH_RFC822_SIZE   (1u << 2)
#define IMAP_FETCH_ENVELOPE      (1u << 3)
#define IMAP_FETCH_BODY          (1u << 4) /* BODY without [section] */
#define IMAP_FETCH_BODYSTRUCTURE (1u << 5)
#define IMAP_FETCH_UID           (1u << 6)
#define IMAP_FETCH_RFC822        (1u << 7)
#define IMAP_FETCH_RFC822_HEADER (1u << 8)
#define IMAP_FETCH_RFC822_TEXT   (1u << 9)
#define IMAP_FETCH_MODSEQ        (1u << 10) /* RFC 7162 3.1.4.2 */

enum imap_section_kind {
	IMAP_SECTION_WHOLE,   /* BODY[] or BODY[1.2]: the whole (part) */
	IMAP_SECTION_HEADER,
	IMAP_SECTION_HEADER_FIELDS,
	IMAP_SECTION_HEADER_FIELDS_NOT,
	IMAP_SECTION_TEXT,
	IMAP_SECTION_MIME,    /* only after a part number */
};

#define IMAP_SECTION_MAX_DEPTH 16

/* One BODY[section]<partial> or BODY.PEEK[...] item. */
struct imap_fetch_body {
	bool peek;
	enum imap_section_kind kind;
	unsigned depth;                         /* part numbers used */
	uint32_t part[IMAP_SECTION_MAX_DEPTH];  /* each >= 1 */
	/* HEADER.FIELDS(.NOT): n_fields >= 1 names as the client wrote
	 * them (NUL-terminated, in the imap_fetch's allocation). */
	const char *const *fields;
	const char *const *sorted; /* the same, imap_header_names_sort()ed */
	size_t n_fields;
	bool partial;
	uint32_t origin;
	uint32_t length;                        /* >= 1 when partial */
};

/* One allocation holding everything; free with imap_fetch_free(). Does
 * not borrow from the command. */
struct imap_fetch {
	unsigned flags;                         /* IMAP_FETCH_* */
	size_t n_bodies;
	struct imap_fetch_body *bodies;         /* in the client's order */
};

/* The FETCH argument: one attribute atom, a macro (ALL, FAST, FULL; not
 * inside a list), or a non-empty list of attributes. Names are case-
 * insensitive. UID is only set when asked for: UID FETCH callers add it.
 * 0 and *fetch_r, -EINVAL with *error_r (for "BAD"), -ENOMEM. */
int imap_fetch_parse(const struct imap_arg *arg, struct imap_fetch **fetch_r,
		     const char **error_r);
void imap_fetch_free(struct imap_fetch **fetch);

/* Appends the response label of a body item: "BODY[1.HEADER.FIELDS
 * (DATE FROM)]<0>" -- never ".PEEK", the section as parsed, field names
 * as astrings, and only the origin of a partial. */
int imap_fetch_body_label(const struct imap_fetch_body *body,
			  struct imap_buf *out);

/* Sorts field names case-insensitively (strcasecmp order), as
 * imap_header_filter() wants them. */
void imap_header_names_sort(const char **names, size_t n);

/* Copies the header fields of hdr[0..len) (lines ending in LF or CRLF,
 * folded continuation lines belong to the field above, an empty line
 * ends the header) whose names are (not, when exclude) among names[]
 * (sorted by imap_header_names_sort: each line costs a binary search,
 * whatever the number of names), compared case-insensitively, then a
 * terminating CRLF, into out. Lines are copied verbatim; a line without
 * a colon has no name (matches nothing). out_size >= len + 2 is always
 * enough. 0 with *out_len_r, or -ENOSPC. */
int imap_header_filter(const char *hdr, size_t len, const char *const *names,
		       size_t n_names, bool exclude, char *out,
		       size_t out_size, size_t *out_len_r);

#endif
