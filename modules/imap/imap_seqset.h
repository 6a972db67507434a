/* Sequence sets (RFC 3501 9 "sequence-set"): parse, resolve "*",
 * normalise, look up, iterate, format. 32-bit values, 0 is invalid. */
#ifndef IMAP_SEQSET_H
#define IMAP_SEQSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap_buf.h"

struct imap_seq_range {
	uint32_t lo, hi; /* raw sets: 0 stands for "*", lo > hi allowed */
};

/* One allocation; free with imap_seqset_free(). A raw set (from
 * imap_seqset_parse) keeps the client's order and "*" as 0. A normalised
 * set (from resolve / from_uids) has sorted, disjoint, non-adjacent
 * ranges with 1 <= lo <= hi. */
struct imap_seqset {
	size_t count;
	struct imap_seq_range range[];
};

enum imap_seqset_mode {
	/* Message sequence numbers: "*" = max; any number above max, or
	 * "*" in an empty mailbox, is an error (-ERANGE). */
	IMAP_SEQSET_SEQ,
	/* UIDs (and SEARCH): "*" = max; numbers above max are kept (they
	 * match nothing), so "10:*" with max 5 is 5:10 and includes 5.
	 * With max 0, ranges using "*" are dropped. */
	IMAP_SEQSET_UID,
};

/* "1:3,7,9:*". 0 and *set_r, or -EINVAL (syntax, 0, > UINT32_MAX,
 * empty element) or -ENOMEM. */
int imap_seqset_parse(const char *s, size_t len, struct imap_seqset **set_r);
/* A normalised copy of a raw set with "*" = max. 0, -ERANGE (SEQ mode,
 * see above), -ENOMEM. The result may be empty (count 0). */
int imap_seqset_resolve(const struct imap_seqset *raw, uint32_t max,
			enum imap_seqset_mode mode, struct imap_seqset **set_r);
/* Normalised set of n values in any order (duplicates allowed, 0 not). */
int imap_seqset_from_uids(const uint32_t *uids, size_t n,
			  struct imap_seqset **set_r);
void imap_seqset_free(struct imap_seqset **set);

/* Normalised sets only: O(log count). */
bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n);
/* Number of values in a set, as parsed (each range counted once; a
 * set as parsed may repeat a value) or normalised. */
uint64_t imap_seqset_count(const struct imap_seqset *set);

/* Ascending iteration over a normalised set:
 *   struct imap_seqset_iter it = { 0 }; uint32_t n;
 *   while (imap_seqset_next(set, &it, &n)) ... */
struct imap_seqset_iter {
	size_t range;
	uint64_t next; /* 0: start of the current range */
};
bool imap_seqset_next(const struct imap_seqset *set,
		      struct imap_seqset_iter *it, uint32_t *n_r);

/* Appends "4:6,9" (ranges as stored; "*" for 0 in raw sets). An empty
 * set appends nothing. 0 or imap_buf errors. */
int imap_seqset_format(const struct imap_seqset *set, struct imap_buf *out);
/* Appends n UIDs in the given order, runs of consecutive ascending values
 * as "a:b": for COPYUID, where source and destination sets must stay
 * in step ("4,5,6,2" -> "4:6,2"). */
int imap_uids_format(const uint32_t *uids, size_t n, struct imap_buf *out);

#endif
