/* Comparators (RFC 4790: i;octet, i;ascii-casemap, i;ascii-numeric) and
 * match types (RFC 5228 :is :contains :matches, RFC 5231 :count :value).
 *
 * :matches never backtracks: the pattern is split at its '*'s into
 * segments; the first is anchored at the start, the last at the end, and
 * each middle one is placed at its leftmost occurrence, which is optimal
 * for '*' and '?' patterns. A segment without '?' is found with memmem
 * (linear); one with '?' by trying each start, so the worst case is
 * O(pattern x value), never exponential. Every comparison is charged to
 * the evaluation's budget. ${0} is the whole value, ${1}.. what each
 * wildcard matched: '*' as little as possible except the last. '?' is
 * one octet: RFC 5228 2.7.1 says i;octet and i;ascii-casemap define a
 * character as one octet. */
#ifndef SV_MATCH_H
#define SV_MATCH_H

#include "sv.h"

#define SV_MAX_CAPTURES 10

struct sv_matcher {
	struct sv_arena *scratch;   /* folded copies, pattern atoms */
	uint64_t *cpu;
	uint64_t max_cpu;
	bool capture;               /* record :matches captures */
	struct sv_val caps[SV_MAX_CAPTURES];
	size_t n_caps;              /* set by a successful capturing match */
};

/* -E2BIG: the work budget ran out; -ENOMEM. */
int sv_compare(struct sv_matcher *mm, uint8_t cmp, const struct sv_val *a,
	       const struct sv_val *b, int *order_r);
/* Whether value matches key with match type :is/:contains/:matches/
 * :value (relop). 1, 0 or < 0. */
int sv_match_one(struct sv_matcher *mm, uint8_t cmp, uint8_t match,
		 uint8_t relop, const struct sv_val *value,
		 const struct sv_val *key);
/* The test's verdict over all values and keys (:count counts values).
 * 1, 0 or < 0. */
int sv_match_values(struct sv_matcher *mm, uint8_t cmp, uint8_t match,
		    uint8_t relop, const struct sv_val *values, size_t n_values,
		    const struct sv_val *keys, size_t n_keys);
/* :matches alone (the unit tests drive it directly). */
int sv_glob(struct sv_matcher *mm, bool fold, const struct sv_val *value,
	    const struct sv_val *pattern);

#endif
