/* The syntax of RFC 7162's parameters, apart from the session so that
 * fuzz_imap reaches it: mod-sequence values and SELECT's
 * (QRESYNC (uidvalidity modseq [known-uids] [seq-match-data])). */
#ifndef POSTINO_IMAP_QRESYNC_PARSE_H
#define POSTINO_IMAP_QRESYNC_PARSE_H

#include <stdbool.h>
#include <stdint.h>

#include "imap_parser.h"
#include "imap_seqset.h"

struct imap_qresync {
	uint32_t uidvalidity;
	uint64_t modseq;
	struct imap_seqset *known;  /* known-uids, normalised; NULL: all */
	struct imap_seqset *seqs;   /* seq-match-data as sent, or NULL */
	struct imap_seqset *uids;   /* its UIDs, as many as seqs */
};

/* A mod-sequence value (RFC 7162 7: 1 to 2^63-1; zero_ok for
 * mod-sequence-valzer). */
bool imap_arg_modseq(const struct imap_arg *a, bool zero_ok, uint64_t *v_r);

/* The list after QRESYNC into *qr (zeroed by the caller). false when it
 * is not the grammar's; what was already allocated stays in *qr for
 * imap_qresync_free. Linear in the list's text. */
bool imap_qresync_parse(const struct imap_arg *list, struct imap_qresync *qr);

void imap_qresync_free(struct imap_qresync **qr);

#endif
