/* libFuzzer target: imap.so's command grammar and the parsers that run on
 * its arguments (SEARCH programs, FETCH attributes and the header filter,
 * flag lists, sequence sets, mailbox names, LIST patterns, search
 * strings, QRESYNC parameters). Checks the contract too: a parsed command has a tag and a
 * name, every literal lies inside the input, a literal announcement at
 * the end of a line is never larger than it says, a pattern never
 * matches a name its cost rules out, and a search string is found in
 * itself. The hostile seeds (corpus/imap/hostile-*) are the inputs that
 * once froze the server: with the 10 s hang limit of make fuzz, a
 * regression to superlinear matching shows as a timeout. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap_buf.h"
#include "imap_fetch_att.h"
#include "imap_flags.h"
#include "imap_match.h"
#include "imap_mutf7.h"
#include "imap_parser.h"
#include "imap_qresync_parse.h"
#include "imap_search.h"
#include "imap_seqset.h"

static void check_args(const struct imap_arg *args, size_t n,
		       const char *buf, size_t len, unsigned depth)
{
	for (size_t i = 0; i < n; i++) {
		const struct imap_arg *a = &args[i];
		if (a->type == IMAP_ARG_LIST) {
			if (depth > 64)
				abort();
			check_args(a->list, a->count, buf, len, depth + 1);
		} else if (a->type == IMAP_ARG_LITERAL &&
			   (a->str < buf || a->str + a->len > buf + len)) {
			abort();
		}
	}
}

/* HEADER.FIELDS items filter the input itself as a header. */
static void header_filter(const struct imap_fetch *fetch, const char *buf,
			  size_t len)
{
	char *out = malloc(len + 2);

	for (size_t i = 0; out != NULL && i < fetch->n_bodies; i++) {
		const struct imap_fetch_body *b = &fetch->bodies[i];
		size_t out_len;
		if (b->n_fields == 0)
			continue;
		if (imap_header_filter(buf, len, b->sorted, b->n_fields,
				       b->kind ==
				       IMAP_SECTION_HEADER_FIELDS_NOT, out,
				       len + 2, &out_len) < 0 ||
		    out_len > len + 2)
			abort();
	}
	free(out);
}

static bool seqset_normalised(const struct imap_seqset *set)
{
	for (size_t i = 0; set != NULL && i < set->count; i++) {
		if (set->range[i].lo == 0 || set->range[i].lo > set->range[i].hi ||
		    (i > 0 && set->range[i].lo <= set->range[i - 1].hi))
			return false;
	}
	return true;
}

/* Every list as SELECT's QRESYNC parameter, every atom as a modseq. */
static void qresync_params(const struct imap_arg *args, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t modseq;
		if (imap_arg_modseq(&args[i], true, &modseq) &&
		    modseq > INT64_MAX)
			abort();
		if (args[i].type != IMAP_ARG_LIST)
			continue;
		struct imap_qresync *qr = calloc(1, sizeof(*qr));
		if (qr == NULL)
			return;
		if (imap_qresync_parse(&args[i], qr) &&
		    (qr->uidvalidity == 0 || qr->modseq == 0 ||
		     qr->modseq > INT64_MAX || !seqset_normalised(qr->known) ||
		     (qr->seqs == NULL) != (qr->uids == NULL) ||
		     (qr->seqs != NULL && imap_seqset_count(qr->seqs) !=
					  imap_seqset_count(qr->uids))))
			abort();
		imap_qresync_free(&qr);
	}
}

static void arguments(const struct imap_command *cmd, const char *text,
		      size_t text_len)
{
	const struct imap_arg *args = cmd->args;
	size_t n = cmd->n_args;
	const char *error = NULL;
	struct imap_search_program *prog = NULL;
	struct imap_fetch *fetch = NULL;
	struct imap_seqset *raw = NULL, *set = NULL;
	struct imap_buf buf;
	unsigned flags;

	if (imap_search_parse(args, n, 0, &prog, &error) == 0) {
		imap_search_prepare(prog, 100, 1000);
		imap_search_free(&prog);
	}
	if (n >= 2 && imap_fetch_parse(&args[1], &fetch, &error) == 0) {
		header_filter(fetch, text, text_len);
		imap_fetch_free(&fetch);
	}
	qresync_params(args, n);
	if (n >= 2 && args[1].type == IMAP_ARG_LIST)
		qresync_params(args[1].list, args[1].count);
	imap_buf_init(&buf, 4096);
	imap_flags_parse(args, n, &flags, &buf, &error);
	imap_buf_free(&buf);
	if (n >= 1 && args[0].type == IMAP_ARG_ATOM &&
	    imap_seqset_parse(args[0].str, args[0].len, &raw) == 0) {
		if (imap_seqset_resolve(raw, 50, IMAP_SEQSET_UID, &set) == 0)
			imap_seqset_free(&set);
		imap_seqset_free(&raw);
	}
	const char *s;
	size_t len;
	if (n >= 1 && imap_arg_astring(&args[0], &s, &len)) {
		imap_buf_init(&buf, 4096);
		imap_mutf7_to_utf8(s, len, &buf);
		imap_buf_free(&buf);
	}
	/* The last argument as a LIST pattern against every argument as a
	 * name (and itself), and as a search string. */
	if (n >= 1 && imap_arg_astring(&args[n - 1], &s, &len)) {
		struct imap_pattern p;
		struct imap_needle needle;
		if (imap_pattern_init(&p, s, len) == 0) {
			for (size_t i = 0; i < n; i++) {
				const char *name;
				size_t nlen;
				if (!imap_arg_astring(&args[i], &name, &nlen))
					continue;
				/* LIST checks the cost before the work; so
				 * does this (a 16 KB pattern against itself
				 * is 16 KB x 16 KB by design). */
				uint64_t cost = imap_pattern_cost(&p, nlen);
				if (cost > (1u << 20))
					continue;
				if (imap_pattern_match(&p, name, nlen) &&
				    cost == 0)
					abort();
			}
			imap_pattern_free(&p);
		}
		if (imap_needle_init(&needle, s, len) == 0) {
			if (!imap_needle_find(&needle, s, len))
				abort();
			imap_needle_free(&needle);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	struct imap_command *cmd = NULL;
	const char *error = NULL;
	uint64_t lit;
	bool nonsync;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	if (imap_literal_at_end(buf, size, &lit, &nonsync) == 1 && size < 3)
		abort(); /* "{n}" needs at least three bytes */
	if (imap_parse_command(buf, size, NULL, &cmd, &error) == 0) {
		if (cmd->tag == NULL || cmd->name == NULL)
			abort();
		/* The session's look at a command still arriving agrees
		 * with the parser. */
		if (!imap_command_name_is(buf, size, cmd->name))
			abort();
		check_args(cmd->args, cmd->n_args, buf, size, 0);
		arguments(cmd, buf, size);
		imap_command_free(&cmd);
	}
	free(buf);
	return 0;
}
