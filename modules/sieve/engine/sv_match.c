/* memmem needs _GNU_SOURCE, which the build defines. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sv_match.h"

#define SV_ANY  (-1)
#define SV_STAR (-2)

static int sv_charge(struct sv_matcher *mm, uint64_t n)
{
	*mm->cpu += n;
	return *mm->cpu > mm->max_cpu ? -E2BIG : 0;
}

static const char *sv_fold(struct sv_matcher *mm, const struct sv_val *v)
{
	char *f = sv_arena_alloc(mm->scratch, v->len + 1);

	if (f == NULL)
		return NULL;
	for (size_t i = 0; i < v->len; i++)
		f[i] = sv_lower(v->s[i]);
	f[v->len] = '\0';
	return f;
}

/* Comparators */

/* i;ascii-numeric: the leading digits as a number; a string without
 * leading digits is positive infinity (RFC 4790 9.1). */
static int sv_numeric_cmp(const struct sv_val *a, const struct sv_val *b)
{
	size_t ad = 0, bd = 0, az = 0, bz = 0;

	while (ad < a->len && a->s[ad] >= '0' && a->s[ad] <= '9')
		ad++;
	while (bd < b->len && b->s[bd] >= '0' && b->s[bd] <= '9')
		bd++;
	if (ad == 0 || bd == 0)
		return (ad == 0) - (bd == 0);
	while (az + 1 < ad && a->s[az] == '0')
		az++;
	while (bz + 1 < bd && b->s[bz] == '0')
		bz++;
	if (ad - az != bd - bz)
		return ad - az < bd - bz ? -1 : 1;
	int c = memcmp(a->s + az, b->s + bz, ad - az);
	return c < 0 ? -1 : c > 0;
}

int sv_compare(struct sv_matcher *mm, uint8_t cmp, const struct sv_val *a,
	       const struct sv_val *b, int *order_r)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = 0;

	if (sv_charge(mm, n + 1) < 0)
		return -E2BIG;
	if (cmp == SV_CMP_NUMERIC) {
		*order_r = sv_numeric_cmp(a, b);
		return 0;
	}
	if (cmp == SV_CMP_OCTET) {
		c = n ? memcmp(a->s, b->s, n) : 0;
	} else {
		for (size_t i = 0; i < n && c == 0; i++)
			c = (unsigned char)sv_lower(a->s[i]) -
			    (unsigned char)sv_lower(b->s[i]);
	}
	if (c == 0)
		c = a->len == b->len ? 0 : a->len < b->len ? -1 : 1;
	*order_r = c < 0 ? -1 : c > 0;
	return 0;
}

static bool sv_relop_holds(uint8_t relop, int order)
{
	switch (relop) {
	case SV_REL_GT: return order > 0;
	case SV_REL_GE: return order >= 0;
	case SV_REL_LT: return order < 0;
	case SV_REL_LE: return order <= 0;
	case SV_REL_EQ: return order == 0;
	case SV_REL_NE: return order != 0;
	default: return false;
	}
}

/* :contains */
static int sv_contains(struct sv_matcher *mm, bool fold,
		       const struct sv_val *value, const struct sv_val *key)
{
	if (key->len == 0)
		return 1;
	if (key->len > value->len)
		return 0;
	if (sv_charge(mm, value->len + key->len) < 0)
		return -E2BIG;
	const char *v = value->s, *k = key->s;
	if (fold) {
		v = sv_fold(mm, value);
		k = sv_fold(mm, key);
		if (v == NULL || k == NULL)
			return -ENOMEM;
	}
	/* glibc's memmem is the two-way algorithm: linear. */
	return memmem(v, value->len, k, key->len) != NULL;
}

/* :matches */

struct sv_seg {
	size_t first, n;            /* atoms[first .. first + n) */
	size_t ord;                 /* wildcard number of its first '?' */
	bool any;                   /* holds a '?' */
	const char *lit;            /* without '?': its octets */
};

struct sv_glob_ctx {
	struct sv_matcher *mm;
	const int *atoms;
	const char *v;              /* the value (folded when fold) */
	size_t vlen;
	size_t cap_off[SV_MAX_CAPTURES], cap_len[SV_MAX_CAPTURES];
};

static void sv_capture(struct sv_glob_ctx *g, size_t ord, size_t off,
		       size_t len)
{
	if (ord < SV_MAX_CAPTURES) {
		g->cap_off[ord] = off;
		g->cap_len[ord] = len;
	}
}

/* Matches segment s forward from position at; its end in *end_r. */
static bool sv_seg_fwd(struct sv_glob_ctx *g, const struct sv_seg *s,
		       size_t at, size_t *end_r)
{
	size_t i = at, ord = s->ord;

	for (size_t a = 0; a < s->n; a++) {
		int c = g->atoms[s->first + a];
		if (i >= g->vlen)
			return false;
		if (c == SV_ANY) {
			sv_capture(g, ord++, i, 1);
			i++;
		} else if ((unsigned char)g->v[i] != c) {
			return false;
		} else {
			i++;
		}
	}
	*end_r = i;
	return true;
}

/* Matches segment s backward so that it ends at end; start in *start_r. */
static bool sv_seg_back(struct sv_glob_ctx *g, const struct sv_seg *s,
			size_t end, size_t floor, size_t *start_r)
{
	size_t i = end, ord = s->ord;

	/* Count the '?'s to number them from the last. */
	for (size_t a = 0; a < s->n; a++)
		if (g->atoms[s->first + a] == SV_ANY)
			ord++;
	for (size_t a = s->n; a-- > 0;) {
		int c = g->atoms[s->first + a];
		if (i <= floor)
			return false;
		if (c == SV_ANY) {
			i--;
			sv_capture(g, --ord, i, 1);
		} else if ((unsigned char)g->v[i - 1] != c) {
			return false;
		} else {
			i--;
		}
	}
	*start_r = i;
	return true;
}

/* Leftmost placement of a middle segment within [from, limit]. */
static int sv_seg_find(struct sv_glob_ctx *g, const struct sv_seg *s,
		       size_t from, size_t limit, size_t *start_r,
		       size_t *end_r)
{
	if (s->n == 0) {
		*start_r = *end_r = from;
		return 1;
	}
	if (!s->any) {
		if (limit - from < s->n)
			return 0;
		if (sv_charge(g->mm, limit - from + s->n) < 0)
			return -E2BIG;
		const char *p = memmem(g->v + from, limit - from, s->lit, s->n);
		if (p == NULL)
			return 0;
		*start_r = (size_t)(p - g->v);
		*end_r = *start_r + s->n;
		return 1;
	}
	for (size_t at = from; at < limit; at++) {
		if (sv_charge(g->mm, s->n) < 0)
			return -E2BIG;
		size_t end;
		if (!sv_seg_fwd(g, s, at, &end))
			continue;
		/* A segment is a fixed number of octets: if this start
		 * overruns, every later one does. */
		if (end > limit)
			return 0;
		*start_r = at;
		*end_r = end;
		return 1;
	}
	return 0;
}

int sv_glob(struct sv_matcher *mm, bool fold, const struct sv_val *value,
	    const struct sv_val *pattern)
{
	struct sv_glob_ctx g = { .mm = mm, .vlen = value->len };
	int *atoms = sv_arena_alloc(mm->scratch,
				    (pattern->len + 1) * sizeof(int));
	struct sv_seg *segs = sv_arena_alloc(mm->scratch, (pattern->len + 2) *
					     sizeof(*segs));
	char *lits = sv_arena_alloc(mm->scratch, pattern->len + 1);
	size_t na = 0, nseg = 0, nlit = 0;

	if (atoms == NULL || segs == NULL || lits == NULL)
		return -ENOMEM;
	if (sv_charge(mm, pattern->len + value->len) < 0)
		return -E2BIG;
	g.v = fold ? sv_fold(mm, value) : value->s;
	if (g.v == NULL)
		return -ENOMEM;
	g.atoms = atoms;

	/* The pattern's atoms; segments are the runs between its stars. */
	memset(&segs[0], 0, sizeof(segs[0]));
	segs[0].lit = lits;
	for (size_t i = 0; i < pattern->len; i++) {
		char c = pattern->s[i];
		if (c == '*') {
			segs[nseg].n = na - segs[nseg].first;
			nseg++;
			memset(&segs[nseg], 0, sizeof(segs[nseg]));
			segs[nseg].first = na;
			segs[nseg].lit = lits + nlit;
			continue;
		}
		if (c == '?') {
			segs[nseg].any = true;
			atoms[na++] = SV_ANY;
			continue;
		}
		if (c == '\\' && i + 1 < pattern->len)
			c = pattern->s[++i];
		if (fold)
			c = sv_lower(c);
		atoms[na++] = (unsigned char)c;
		lits[nlit++] = c;
	}
	segs[nseg].n = na - segs[nseg].first;
	nseg++;
	/* Wildcards are numbered in pattern order from 1 (${1}); a star
	 * sits between two segments. */
	size_t nwild = 0;
	for (size_t k = 0; k < nseg; k++) {
		segs[k].ord = nwild + 1;
		for (size_t a = 0; a < segs[k].n; a++)
			if (atoms[segs[k].first + a] == SV_ANY)
				nwild++;
		if (k + 1 < nseg)
			nwild++;
	}

	size_t end;
	if (nseg == 1) {
		if (!sv_seg_fwd(&g, &segs[0], 0, &end) || end != g.vlen)
			return 0;
	} else {
		size_t first_end, last_start;
		if (!sv_seg_fwd(&g, &segs[0], 0, &first_end) ||
		    !sv_seg_back(&g, &segs[nseg - 1], g.vlen, first_end,
				 &last_start))
			return 0;
		size_t pos = first_end;
		for (size_t k = 1; k < nseg; k++) {
			size_t s = last_start, e = g.vlen;
			if (k + 1 < nseg) {
				int r = sv_seg_find(&g, &segs[k], pos,
						    last_start, &s, &e);
				if (r <= 0)
					return r;
			}
			/* the star before segment k */
			sv_capture(&g, segs[k].ord - 1, pos, s - pos);
			pos = e;
		}
	}
	if (mm->capture) {
		size_t n = nwild + 1 < SV_MAX_CAPTURES ? nwild + 1 :
			SV_MAX_CAPTURES;
		mm->caps[0] = *value;
		for (size_t i = 1; i < n; i++) {
			mm->caps[i].s = value->s + g.cap_off[i];
			mm->caps[i].len = g.cap_len[i];
		}
		mm->n_caps = n;
	}
	return 1;
}

int sv_match_one(struct sv_matcher *mm, uint8_t cmp, uint8_t match,
		 uint8_t relop, const struct sv_val *value,
		 const struct sv_val *key)
{
	int order, ret;

	switch (match) {
	case SV_MATCH_IS:
	case SV_MATCH_VALUE:
		ret = sv_compare(mm, cmp, value, key, &order);
		if (ret < 0)
			return ret;
		if (match == SV_MATCH_IS)
			return order == 0;
		return sv_relop_holds(relop, order);
	case SV_MATCH_CONTAINS:
		return sv_contains(mm, cmp != SV_CMP_OCTET, value, key);
	case SV_MATCH_MATCHES:
		return sv_glob(mm, cmp != SV_CMP_OCTET, value, key);
	default:
		return 0;
	}
}

int sv_match_values(struct sv_matcher *mm, uint8_t cmp, uint8_t match,
		    uint8_t relop, const struct sv_val *values, size_t n_values,
		    const struct sv_val *keys, size_t n_keys)
{
	if (match == SV_MATCH_COUNT) {
		char num[24];
		struct sv_val count = { num, (size_t)snprintf(num, sizeof(num),
							      "%zu",
							      n_values) };
		for (size_t k = 0; k < n_keys; k++) {
			int order, ret = sv_compare(mm, cmp, &count, &keys[k],
						    &order);
			if (ret < 0)
				return ret;
			if (sv_relop_holds(relop, order))
				return 1;
		}
		return 0;
	}
	for (size_t v = 0; v < n_values; v++) {
		for (size_t k = 0; k < n_keys; k++) {
			int ret = sv_match_one(mm, cmp, match, relop,
					       &values[v], &keys[k]);
			if (ret != 0)
				return ret;
		}
	}
	return 0;
}
