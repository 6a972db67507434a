/* RFC 3501 command grammar: one complete command -> tag, name, arg tree.
 * Pure: no I/O, one allocation per command. Safe on arbitrary bytes (a
 * fuzz entry point). */
#ifndef IMAP_PARSER_H
#define IMAP_PARSER_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* imap_parse_command() returns these (besides 0 and -ENOMEM). */
#define IMAP_PARSE_BAD_TAG (-EPROTO)  /* answer "* BAD <error>" */
#define IMAP_PARSE_BAD (-EBADMSG)     /* answer "<tag> BAD <error>" */

enum imap_arg_type {
	IMAP_ARG_ATOM,    /* also flags (\Seen), sequence sets, list-mailbox
			     wildcards, and fetch atts with "[...]<...>" */
	IMAP_ARG_QUOTED,  /* value unescaped */
	IMAP_ARG_LITERAL, /* {n} or {n+}; raw bytes, may hold NUL / 8-bit */
	IMAP_ARG_NIL,     /* the atom NIL (any case); str is its text */
	IMAP_ARG_LIST,    /* "(" ... ")" */
};

struct imap_arg {
	enum imap_arg_type type;
	bool nonsync;      /* LITERAL announced as {n+} (LITERAL+) */
	/* ATOM, QUOTED, NIL: NUL-terminated copy in the command's arena.
	 * LITERAL: points into the caller's buffer, NOT NUL-terminated.
	 * LIST: NULL. */
	const char *str;
	size_t len;
	const struct imap_arg *list; /* LIST: count children, else NULL */
	size_t count;
};

struct imap_parse_limits {
	unsigned max_depth; /* nested "(" levels; 0 = no list allowed */
	unsigned max_args;  /* arguments in the whole tree (lists count) */
};
#define IMAP_PARSE_DEFAULT_DEPTH 16
#define IMAP_PARSE_DEFAULT_ARGS 4096

/* One parsed command. Allocated as one block; free with
 * imap_command_free(). LITERAL args borrow the buffer given to
 * imap_parse_command(): it must outlive the command. */
struct imap_command {
	const char *tag;  /* as sent, NUL-terminated */
	const char *name; /* upper-cased ("UID" is just a name: the caller
			     handles the UID prefix by looking at args[0]) */
	const struct imap_arg *args;
	size_t n_args;
};

/* Whether a line (without its CRLF) ends in a literal announcement that
 * the session must satisfy before the command is complete: "{" 1*DIGIT
 * ["+"] "}" at the very end, with "{" starting an argument (after SP or
 * "("). Returns 1 and sets *n_r / *nonsync_r, 0 when the line does not
 * end in an announcement, -ERANGE when the digits exceed UINT64_MAX. */
int imap_literal_at_end(const char *line, size_t len, uint64_t *n_r,
			bool *nonsync_r);

/* Parses one complete command held in buf[0..len): the text without its
 * final CRLF, where every literal is "{n}" or "{n+}" followed by CRLF and
 * exactly n raw bytes, then the rest of the line. limits may be NULL
 * (defaults). Returns 0 and *cmd_r, IMAP_PARSE_BAD_TAG or IMAP_PARSE_BAD
 * with *error_r a static text for the BAD reply (when the tag parsed,
 * *cmd_r is still NULL; use imap_parse_tag() to echo it), -ENOMEM. */
int imap_parse_command(const char *buf, size_t len,
		       const struct imap_parse_limits *limits,
		       struct imap_command **cmd_r, const char **error_r);

/* The tag at the start of buf: its length when valid (followed by SP or
 * the end), else 0. For echoing the tag in "<tag> BAD". */
size_t imap_parse_tag(const char *buf, size_t len);

/* Whether buf, a command still arriving, starts with a tag, SP and the
 * command name `name` (any case) followed by SP or the end: a constant-
 * time look at what is being sent, without parsing it all. */
bool imap_command_name_is(const char *buf, size_t len, const char *name);

void imap_command_free(struct imap_command **cmd);

/* ATOM / QUOTED / LITERAL / NIL (the atom "NIL" is a valid astring) as a
 * (pointer, length) pair. false for LIST. */
bool imap_arg_astring(const struct imap_arg *arg, const char **str_r,
		      size_t *len_r);
/* ATOM or NIL whose text equals word case-insensitively (ASCII). */
bool imap_arg_atom_is(const struct imap_arg *arg, const char *word);

/* Character classes of RFC 3501 9 (exported for imap_write, flags). */
bool imap_is_atom_char(unsigned char c);
bool imap_is_astring_char(unsigned char c);

#endif
