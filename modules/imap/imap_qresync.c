/* QRESYNC (RFC 7162 3.2): SELECT's QRESYNC and CONDSTORE parameters, the
 * changes a reconnecting client missed (VANISHED (EARLIER) and FETCH),
 * also for UID FETCH's VANISHED modifier. What was expunged since a
 * modseq comes from the host's tombstones (mailbox_vanished); when the
 * mailbox no longer remembers that far back, the host gives every UID
 * it does not have, and the client's sequence match data (3.2.5.2)
 * narrows that down. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "imap.h"
#include "imap_qresync_parse.h"
#include "imap_seqset.h"

bool imap_select_params(struct imap_session *s, const struct imap_arg *args,
			size_t n_args, bool *condstore,
			struct imap_qresync **qr_r)
{
	*condstore = false;
	*qr_r = NULL;
	if (n_args == 0)
		return true;
	if (n_args != 1 || args[0].type != IMAP_ARG_LIST) {
		imap_tagged(s, "BAD", "Invalid SELECT parameters");
		return false;
	}
	const struct imap_arg *p = args[0].list;
	for (size_t i = 0; i < args[0].count; i++) {
		if (imap_arg_atom_is(&p[i], "CONDSTORE")) {
			*condstore = true;
			continue;
		}
		if (!imap_arg_atom_is(&p[i], "QRESYNC") || *qr_r != NULL ||
		    i + 1 == args[0].count) {
			imap_qresync_free(qr_r);
			imap_tagged(s, "BAD", "Invalid SELECT parameters");
			return false;
		}
		/* RFC 7162 3.2.5: only after ENABLE QRESYNC. */
		if (!s->qresync) {
			imap_tagged(s, "BAD", "QRESYNC is not enabled");
			return false;
		}
		*qr_r = calloc(1, sizeof(**qr_r));
		if (*qr_r == NULL) {
			imap_tagged(s, "NO", "Out of memory");
			return false;
		}
		if (!imap_qresync_parse(&p[++i], *qr_r)) {
			imap_qresync_free(qr_r);
			imap_tagged(s, "BAD", "Invalid QRESYNC parameter");
			return false;
		}
	}
	return true;
}

/* The UID ranges the host reported. */
struct ranges {
	uint32_t (*r)[2];
	size_t n, cap;
	bool nomem;
};

static void range_add(void *data, uint32_t lo, uint32_t hi)
{
	struct ranges *rg = data;

	if (rg->n == rg->cap) {
		size_t cap = rg->cap > 0 ? rg->cap * 2 : 16;
		void *g = realloc(rg->r, cap * sizeof(*rg->r));
		if (g == NULL) {
			rg->nomem = true;
			return;
		}
		rg->r = g;
		rg->cap = cap;
	}
	rg->r[rg->n][0] = lo;
	rg->r[rg->n++][1] = hi;
}

static void put_range(struct imap_buf *out, bool *first, uint32_t lo,
		      uint32_t hi)
{
	if (!*first)
		imap_buf_append_char(out, ',');
	*first = false;
	imap_buf_append_u64(out, lo);
	if (hi != lo) {
		imap_buf_append_char(out, ':');
		imap_buf_append_u64(out, hi);
	}
}

/* The UID above which the client's sequence numbers still match the
 * view's (RFC 7162 3.2.5.2): nothing at or below it can have been
 * expunged since, as no message is ever added below a UID. 0: none. */
static uint32_t seq_match_uid(struct imap_session *s,
			      const struct imap_qresync *qr)
{
	struct imap_seqset_iter a = { 0 }, b = { 0 };
	uint32_t seq, uid, best = 0;

	if (qr == NULL || qr->seqs == NULL)
		return 0;
	/* In step, number by number (RFC 7162 3.2.5.2 has both sets in
	 * ascending order: normalised, they keep it). */
	struct imap_seqset *seqs = NULL, *uids = NULL;
	if (imap_seqset_resolve(qr->seqs, UINT32_MAX, IMAP_SEQSET_UID,
				&seqs) < 0 ||
	    imap_seqset_resolve(qr->uids, UINT32_MAX, IMAP_SEQSET_UID,
				&uids) < 0) {
		imap_seqset_free(&seqs);
		return 0;
	}
	while (imap_seqset_next(seqs, &a, &seq) &&
	       imap_seqset_next(uids, &b, &uid)) {
		struct postino_message_info info;
		if (seq > s->exists || imap_message(s, seq - 1, &info) < 0 ||
		    info.uid != uid)
			continue;
		if (uid > best)
			best = uid;
	}
	imap_seqset_free(&seqs);
	imap_seqset_free(&uids);
	return best;
}

static void vanished_report(struct imap_session *s, uint64_t since,
			    const struct imap_seqset *within,
			    const struct imap_qresync *qr)
{
	struct ranges rg = { 0 };
	int ret = s->srv->host->mailbox->mailbox_vanished(s->mb, since,
							  range_add, &rg);

	if (ret < 0 || rg.nomem) {
		s->srv->host->core->log(s->srv->mod, POSTINO_LOG_WARNING,
					s->session_id,
					"cannot list expunged messages of %s",
					s->mailbox_name);
		free(rg.r);
		return;
	}
	/* A superset: what the client's sequence numbers show present
	 * stays out. */
	uint32_t floor = ret == 1 ? seq_match_uid(s, qr) : 0;
	struct imap_buf out;
	bool first = true;
	size_t k = 0;

	imap_buf_init(&out, 0);
	imap_buf_append_str(&out, "* VANISHED (EARLIER) ");
	for (size_t i = 0; i < rg.n; i++) {
		uint32_t lo = rg.r[i][0], hi = rg.r[i][1];
		if (hi <= floor)
			continue;
		if (lo <= floor)
			lo = floor + 1;
		if (within == NULL) {
			put_range(&out, &first, lo, hi);
			continue;
		}
		/* Both ascending: one merge. */
		while (k < within->count && within->range[k].hi < lo)
			k++;
		for (size_t j = k; j < within->count &&
				   within->range[j].lo <= hi; j++) {
			uint32_t a = within->range[j].lo > lo
					     ? within->range[j].lo : lo;
			uint32_t b = within->range[j].hi < hi
					     ? within->range[j].hi : hi;
			put_range(&out, &first, a, b);
		}
	}
	imap_buf_append_str(&out, "\r\n");
	if (!first && out.data != NULL)
		imap_write(s, out.data, out.len);
	imap_buf_free(&out);
	free(rg.r);
}

void imap_vanished_earlier(struct imap_session *s, uint64_t since,
			   const struct imap_seqset *within)
{
	vanished_report(s, since, within, NULL);
}

void imap_qresync_report(struct imap_session *s, struct imap_qresync **qrp)
{
	struct imap_qresync *qr = *qrp;

	if (qr == NULL)
		return;
	/* Another UIDVALIDITY: the client starts over; nothing to add. */
	if (qr->uidvalidity ==
	    s->srv->host->mailbox->mailbox_uidvalidity(s->mb)) {
		vanished_report(s, qr->modseq, qr->known, qr);
		for (uint32_t i = 0; i < s->exists; i++) {
			struct postino_message_info info;
			if (imap_message(s, i, &info) < 0 ||
			    info.modseq <= qr->modseq ||
			    (qr->known != NULL &&
			     !imap_seqset_contains(qr->known, info.uid)))
				continue;
			imap_keywords_seen(s, info.keywords);
			imap_fetch_flags_response(s, i, true, true);
		}
	}
	imap_qresync_free(qrp);
}
