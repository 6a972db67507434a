/* IMAP flag lists (RFC 5232): strings of space-separated flags. Lists
 * are normalized: invalid flags dropped, system flags spelled as IMAP
 * does (\Seen), duplicates (case-insensitive) removed, order kept. */
#ifndef SV_FLAGS_H
#define SV_FLAGS_H

#include "sv.h"

enum sv_flags_op { SV_FLAGS_SET, SV_FLAGS_ADD, SV_FLAGS_REMOVE };

/* The next flag of s from *pos (true), or false at the end. */
bool sv_flags_next(const char *s, size_t len, size_t *pos,
		   struct sv_val *flag_r);
/* out (empty, capped) = cur op the flags in lists. 0 or -ENOMEM; flags
 * past out's cap are dropped. */
int sv_flags_apply(struct sv_buf *out, const char *cur, size_t cur_len,
		   const struct sv_val *lists, size_t n,
		   enum sv_flags_op op);

#endif
