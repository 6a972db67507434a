/* RFC 7162's parameter syntax (imap_qresync_parse.h). */
#include <stdlib.h>

#include "imap_qresync_parse.h"

/* An atom of digits only, at most max_len of them, as a number. */
static bool parse_digits(const struct imap_arg *a, size_t max_len,
			 uint64_t *v_r)
{
	uint64_t v = 0;

	if (a->type != IMAP_ARG_ATOM || a->len == 0 || a->len > max_len)
		return false;
	for (size_t i = 0; i < a->len; i++) {
		if (a->str[i] < '0' || a->str[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(a->str[i] - '0');
	}
	*v_r = v;
	return true;
}

bool imap_arg_modseq(const struct imap_arg *a, bool zero_ok, uint64_t *v_r)
{
	uint64_t v;

	if (!parse_digits(a, 19, &v) || v > INT64_MAX || (v == 0 && !zero_ok))
		return false;
	*v_r = v;
	return true;
}

void imap_qresync_free(struct imap_qresync **qrp)
{
	struct imap_qresync *qr = *qrp;

	*qrp = NULL;
	if (qr == NULL)
		return;
	imap_seqset_free(&qr->known);
	imap_seqset_free(&qr->seqs);
	imap_seqset_free(&qr->uids);
	free(qr);
}

static bool parse_u32(const struct imap_arg *a, uint32_t *v_r)
{
	uint64_t v;

	if (!parse_digits(a, 10, &v) || v == 0 || v > UINT32_MAX)
		return false;
	*v_r = (uint32_t)v;
	return true;
}

/* A set of numbers without "*" (known-uids, seq-match-data). */
static bool parse_plain_set(const struct imap_arg *a,
			    struct imap_seqset **raw_r)
{
	*raw_r = NULL;
	if (a->type != IMAP_ARG_ATOM ||
	    imap_seqset_parse(a->str, a->len, raw_r) < 0)
		return false;
	for (size_t i = 0; i < (*raw_r)->count; i++) {
		if ((*raw_r)->range[i].lo == 0 || (*raw_r)->range[i].hi == 0) {
			imap_seqset_free(raw_r);
			return false;
		}
	}
	return true;
}

/* (uidvalidity mod-sequence-value [known-uids] [seq-match-data]) */
bool imap_qresync_parse(const struct imap_arg *l, struct imap_qresync *qr)
{
	size_t i = 2;

	if (l->type != IMAP_ARG_LIST || l->count < 2 || l->count > 4 ||
	    !parse_u32(&l->list[0], &qr->uidvalidity) ||
	    !imap_arg_modseq(&l->list[1], false, &qr->modseq))
		return false;
	if (i < l->count && l->list[i].type == IMAP_ARG_ATOM) {
		struct imap_seqset *raw;
		if (!parse_plain_set(&l->list[i], &raw))
			return false;
		int ret = imap_seqset_resolve(raw, UINT32_MAX,
					      IMAP_SEQSET_UID, &qr->known);
		imap_seqset_free(&raw);
		if (ret < 0)
			return false;
		i++;
	}
	if (i < l->count) {
		const struct imap_arg *m = &l->list[i++];
		if (m->type != IMAP_ARG_LIST || m->count != 2 ||
		    !parse_plain_set(&m->list[0], &qr->seqs) ||
		    !parse_plain_set(&m->list[1], &qr->uids) ||
		    imap_seqset_count(qr->seqs) != imap_seqset_count(qr->uids))
			return false;
	}
	return i == l->count;
}

