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

/* The keywords a session has named in its FLAGS response (RFC 3501
 * 7.2.6: the flags the mailbox has): a set looked up by hash, so adding
 * every message's keywords costs their length, whatever their number.
 * Bounded: past IMAP_KEYWORDS_MAX keywords or IMAP_KEYWORDS_BYTES of
 * them new ones are not kept (PERMANENTFLAGS' \* still says any may be
 * made). */
#define IMAP_KEYWORDS_MAX 256
#define IMAP_KEYWORDS_BYTES 8192
struct imap_keywords;
struct imap_keywords *imap_keywords_new(void);
void imap_keywords_free(struct imap_keywords **kw);
/* Adds the keywords of a space-separated list (NULL: none) that the set
 * lacks (case-insensitive); how many it added. */
unsigned imap_keywords_add(struct imap_keywords *kw, const char *list);
/* The set as "kw1 kw2", in first-seen spelling and order; "" if empty.
 * Valid until the next add. */
const char *imap_keywords_text(const struct imap_keywords *kw);

#endif
