/* Sieve grammar (RFC 5228 8.2) into a generic tree: every command and
 * test is a name, arguments (tags, numbers, strings and string lists),
 * tests and a block. sv_compile.c gives the tree its meaning. */
#ifndef SV_PARSE_H
#define SV_PARSE_H

#include "sv_lex.h"

struct sv_ast_str {
	char *s;                    /* NUL-terminated value */
	size_t len;
	unsigned line, col;
};

enum sv_arg_kind { SV_ARG_TAG, SV_ARG_NUMBER, SV_ARG_STRINGS };

struct sv_ast_arg {
	enum sv_arg_kind kind;
	unsigned line, col;
	const char *tag;            /* TAG: name without ':' (in the source) */
	size_t tag_len;
	uint64_t num;               /* NUMBER */
	struct sv_ast_str *strs;    /* STRINGS */
	size_t n_strs;
	bool is_list;               /* STRINGS: written as [ ... ] */
};

struct sv_ast_cmd {
	const char *name;           /* in the source, name_len octets */
	size_t name_len;
	unsigned line, col;
	struct sv_ast_arg *args;
	size_t n_args;
	struct sv_ast_cmd *tests;   /* one test, or a ( test list ) */
	size_t n_tests;
	bool test_list;
	struct sv_ast_cmd *block;   /* { commands } */
	size_t n_block;
	bool has_block;
};

struct sv_ast {
	struct sv_ast_cmd *cmds;
	size_t n_cmds;
};

/* Parses src into *ast (allocated in arena). Nesting of blocks and tests
 * deeper than max_nesting is an error. 0, -EINVAL (err filled) or
 * -ENOMEM. */
int sv_parse(const char *src, size_t len, unsigned max_nesting,
	     struct sv_arena *arena, struct sv_ast *ast,
	     struct sieve_error *err);

#endif
