/* Message flags: system flag bits and keywords (RFC 3501 2.3.2). */
#ifndef IMAP_FLAGS_H
#define IMAP_FLAGS_H

#include <stdbool.h>
#include <stddef.h>

#include "imap_buf.h"
#include "imap_parser.h"

#define IMAP_FLAG_SEEN     (1u << 0)
#define IMAP_FLAG_ANSWERED (1u << 1)
#define IMAP_FLAG_FLAGGED  (1u << 2)
#define IMAP_FLAG_DELETED  (1u << 3)
#define IMAP_FLAG_DRAFT    (1u << 4)
#define IMAP_FLAG_RECENT   (1u << 5) /* session-only, never stored */
#define IMAP_FLAGS_STORABLE 0x1fu

/* Flags of STORE or APPEND. args[0..n) is either one LIST (its elements
 * are the flags) or the flags themselves (STORE's "flag *(SP flag)";
 * APPEND callers pass only a LIST). System flags (any case) go to
 * *flags_r; keywords (atoms) are appended to keywords space-separated,
 * in first-seen spelling, without case-insensitive duplicates.
 * 0, -EINVAL with *error_r (for "BAD"): a non-atom, \Recent, an unknown
 * \flag, an invalid keyword; or an imap_buf error. On error keywords->len
 * is unchanged. */
int imap_flags_parse(const struct imap_arg *args, size_t n,
		     unsigned *flags_r, struct imap_buf *keywords,
		     const char **error_r);

/* Whether the space-separated list holds kw (case-insensitive). */
bool imap_keywords_has(const char *list, size_t list_len, const char *kw,
		       size_t kw_len);

/* Appends "(\Seen \Flagged kw1 kw2)": system flags in bit order, then
 * keywords (space-separated, may be NULL). */
int imap_flags_format(unsigned flags, const char *keywords,
		      struct imap_buf *out);

#endif
