/* libFuzzer target: imap.so's command grammar and the parsers that run on
 * its arguments (SEARCH programs, FETCH attributes, flag lists, sequence
 * sets, mailbox names). Checks the contract too: a parsed command has a
 * tag and a name, every literal lies inside the input, and a literal
 * announcement at the end of a line is never larger than it says. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap_buf.h"
#include "imap_fetch_att.h"
#include "imap_flags.h"
#include "imap_mutf7.h"
#include "imap_parser.h"
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

static void arguments(const struct imap_command *cmd)
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
	if (n >= 2 && imap_fetch_parse(&args[1], &fetch, &error) == 0)
		imap_fetch_free(&fetch);
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
		check_args(cmd->args, cmd->n_args, buf, size, 0);
		arguments(cmd);
		imap_command_free(&cmd);
	}
	free(buf);
	return 0;
}
