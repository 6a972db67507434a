/* ManageSieve command syntax (RFC 5804 4): a command is words on a line,
 * each an atom, a number, a quoted string or a literal {n} / {n+} whose
 * n octets follow the line, after which the command goes on (or ends) on
 * the next line. Pure and bounded: the caller (or a fuzzer) hands it the
 * lines and literal octets as the connection splits them.
 *
 *   ms_parse_line(p, line)    -> MS_DONE      a whole command in p
 *                                MS_LITERAL   *literal_r octets follow:
 *                                             hand them to ms_parse_bytes,
 *                                             then the next line
 *                                MS_ERROR     syntax; p->error says what
 *   ms_parse_bytes(p, ...)    the literal's octets, in any chunks
 *
 * Strings: quoted ones at most MS_QUOTED_MAX octets; literals at most
 * max_literal, or max_script for the script of PUTSCRIPT and CHECKSCRIPT.
 * A literal past its limit is read and dropped: the command still
 * completes, with too_big set (the reply is NO (QUOTA/MAXSIZE)). One past
 * MS_LITERAL_ABSURD is an MS_ERROR at once: not worth reading. */
#ifndef MS_PARSE_H
#define MS_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MS_ARGS_MAX 8
#define MS_QUOTED_MAX 1024
#define MS_LITERAL_ABSURD (64u * 1024 * 1024)

enum ms_parse_result {
	MS_DONE = 0,
	MS_LITERAL = 1,
	MS_ERROR = -1,
};

enum ms_arg_type {
	MS_ATOM,
	MS_NUMBER,
	MS_STRING,
};

struct ms_arg {
	enum ms_arg_type type;
	size_t off, len;          /* in buf; NUL after each */
	uint64_t number;          /* MS_NUMBER */
};

struct ms_parser {
	/* limits, set by the caller */
	size_t max_literal;
	size_t max_script;
	/* the command so far */
	char *buf;
	size_t len, cap;
	struct ms_arg args[MS_ARGS_MAX];
	size_t n_args;
	uint64_t literal;         /* octets still to come */
	bool dropping;            /* the literal is over its limit */
	bool too_big;
	bool continued;           /* a literal ended: the next line goes on */
	const char *error;
};

void ms_parse_init(struct ms_parser *p, size_t max_literal,
		   size_t max_script);
/* Forgets the command (after MS_DONE or MS_ERROR): ready for the next. */
void ms_parse_reset(struct ms_parser *p);
void ms_parse_free(struct ms_parser *p);

enum ms_parse_result ms_parse_line(struct ms_parser *p, const char *line,
				   size_t len, uint64_t *literal_r);
/* Octets of the literal asked for; 1 when it is complete (the next line
 * goes to ms_parse_line), 0 while more are due. */
int ms_parse_bytes(struct ms_parser *p, const char *bytes, size_t len);

/* The string value of argument i (NUL-terminated), valid until the next
 * parse call. */
static inline const char *ms_arg_str(const struct ms_parser *p, size_t i)
{
	return p->buf + p->args[i].off;
}

#endif
