/* Sequence sets; see imap_seqset.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "imap_seqset.h"

static struct imap_seqset *seqset_alloc(size_t count)
{
	struct imap_seqset *set;

	if (count > (SIZE_MAX - sizeof(*set)) / sizeof(set->range[0]))
		return NULL;
	set = malloc(sizeof(*set) + count * sizeof(set->range[0]));
	if (set != NULL)
		set->count = 0;
	return set;
}

void imap_seqset_free(struct imap_seqset **set)
{
	free(*set);
	*set = NULL;
}

/* seq-number = nz-number / "*"; "*" is 0. Advances *pos. */
static int parse_number(const char *s, size_t len, size_t *pos,
			uint32_t *n_r)
{
	uint64_t v = 0;
	size_t start = *pos;

	if (*pos < len && s[*pos] == '*') {
		(*pos)++;
		*n_r = 0;
		return 0;
	}
	while (*pos < len && s[*pos] >= '0' && s[*pos] <= '9') {
		v = v * 10 + (uint64_t)(s[*pos] - '0');
		if (v > UINT32_MAX)
			return -EINVAL;
		(*pos)++;
	}
	if (*pos == start || v == 0)
		return -EINVAL;
	*n_r = (uint32_t)v;
	return 0;
}

int imap_seqset_parse(const char *s, size_t len, struct imap_seqset **set_r)
{
	struct imap_seqset *set;
	size_t count = 1, pos = 0;

	*set_r = NULL;
	for (size_t i = 0; i < len; i++)
		count += s[i] == ',';
	set = seqset_alloc(count);
	if (set == NULL)
		return -ENOMEM;
	for (;;) {
		struct imap_seq_range *r = &set->range[set->count++];

		if (parse_number(s, len, &pos, &r->lo) < 0)
			goto bad;
		r->hi = r->lo;
		if (pos < len && s[pos] == ':') {
			pos++;
			if (parse_number(s, len, &pos, &r->hi) < 0)
				goto bad;
		}
		if (pos == len)
			break;
		if (s[pos++] != ',')
			goto bad;
	}
	*set_r = set;
	return 0;
bad:
	free(set);
	return -EINVAL;
}

static int range_cmp(const void *a, const void *b)
{
	const struct imap_seq_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sorts and merges overlapping or adjacent ranges in place. */
static void normalise(struct imap_seqset *set)
{
	size_t out = 0;

	if (set->count == 0)
		return;
	qsort(set->range, set->count, sizeof(set->range[0]), range_cmp);
	for (size_t i = 1; i < set->count; i++) {
		struct imap_seq_range *last = &set->range[out];

		if ((uint64_t)set->range[i].lo <= (uint64_t)last->hi + 1) {
			if (set->range[i].hi > last->hi)
				last->hi = set->range[i].hi;
		} else {
			set->range[++out] = set->range[i];
		}
	}
	set->count = out + 1;
}

int imap_seqset_resolve(const struct imap_seqset *raw, uint32_t max,
			enum imap_seqset_mode mode, struct imap_seqset **set_r)
{
	struct imap_seqset *set = seqset_alloc(raw->count);

	*set_r = NULL;
	if (set == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < raw->count; i++) {
		uint32_t lo = raw->range[i].lo, hi = raw->range[i].hi;

		if ((lo == 0 || hi == 0) && max == 0) {
			if (mode == IMAP_SEQSET_SEQ)
				goto range;
			continue;
		}
		lo = lo == 0 ? max : lo;
		hi = hi == 0 ? max : hi;
		if (lo > hi) {
			uint32_t t = lo;

			lo = hi;
			hi = t;
		}
		if (mode == IMAP_SEQSET_SEQ && hi > max)
			goto range;
		set->range[set->count].lo = lo;
		set->range[set->count].hi = hi;
		set->count++;
	}
	normalise(set);
	*set_r = set;
	return 0;
range:
	free(set);
	return -ERANGE;
}

int imap_seqset_from_uids(const uint32_t *uids, size_t n,
			  struct imap_seqset **set_r)
{
	struct imap_seqset *set = seqset_alloc(n);

	*set_r = NULL;
	if (set == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (uids[i] == 0) {
			free(set);
			return -EINVAL;
		}
		set->range[i].lo = set->range[i].hi = uids[i];
	}
	set->count = n;
	normalise(set);
	*set_r = set;
	return 0;
}

bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n)
{
	size_t lo = 0, hi = set->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (n < set->range[mid].lo)
			hi = mid;
		else if (n > set->range[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

uint64_t imap_seqset_count(const struct imap_seqset *set)
{
	uint64_t n = 0;

	/* A set as parsed may hold 4:2 (the same as 2:4, RFC 3501 9). */
	for (size_t i = 0; i < set->count; i++) {
		uint32_t lo = set->range[i].lo, hi = set->range[i].hi;
		n += (uint64_t)(lo <= hi ? hi - lo : lo - hi) + 1;
	}
	return n;
}

bool imap_seqset_next(const struct imap_seqset *set,
		      struct imap_seqset_iter *it, uint32_t *n_r)
{
	/* it->next is 64-bit so that UINT32_MAX + 1 ends a range cleanly. */
	while (it->range < set->count) {
		const struct imap_seq_range *r = &set->range[it->range];

		if (it->next == 0)
			it->next = r->lo;
		if (it->next <= r->hi) {
			*n_r = (uint32_t)it->next++;
			return true;
		}
		it->range++;
		it->next = 0;
	}
	return false;
}

static int append_num(struct imap_buf *out, uint32_t n)
{
	return n == 0 ? imap_buf_append_char(out, '*') :
		imap_buf_append_u64(out, n);
}

static int append_range(struct imap_buf *out, bool first, uint32_t lo,
			uint32_t hi)
{
	int ret = first ? 0 : imap_buf_append_char(out, ',');

	if (ret == 0)
		ret = append_num(out, lo);
	if (ret == 0 && hi != lo) {
		ret = imap_buf_append_char(out, ':');
		if (ret == 0)
			ret = append_num(out, hi);
	}
	return ret;
}

int imap_seqset_format(const struct imap_seqset *set, struct imap_buf *out)
{
	for (size_t i = 0; i < set->count; i++) {
		int ret = append_range(out, i == 0, set->range[i].lo,
				       set->range[i].hi);

		if (ret < 0)
			return ret;
	}
	return 0;
}

int imap_uids_format(const uint32_t *uids, size_t n, struct imap_buf *out)
{
	size_t i = 0;

	while (i < n) {
		size_t j = i;
		int ret;

		while (j + 1 < n && uids[j] != UINT32_MAX &&
		       uids[j + 1] == uids[j] + 1)
			j++;
		ret = append_range(out, i == 0, uids[i], uids[j]);
		if (ret < 0)
			return ret;
		i = j + 1;
	}
	return 0;
}
