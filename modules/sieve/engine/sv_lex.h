/* Sieve lexer (RFC 5228 8.1): identifiers, tags, numbers with K/M/G,
 * quoted and multi-line strings (escapes and dot-stuffing undone, line
 * ends made CRLF), comments skipped. Positions are 1-based lines and
 * octet columns. */
#ifndef SV_LEX_H
#define SV_LEX_H

#include "sv.h"

enum sv_tok {
	SV_TOK_EOF, SV_TOK_IDENT, SV_TOK_TAG, SV_TOK_NUMBER, SV_TOK_STRING,
	SV_TOK_LBRACKET, SV_TOK_RBRACKET, SV_TOK_LPAREN, SV_TOK_RPAREN,
	SV_TOK_LBRACE, SV_TOK_RBRACE, SV_TOK_SEMI, SV_TOK_COMMA,
};

struct sv_token {
	enum sv_tok type;
	unsigned line, col;
	/* IDENT, TAG (without ':'): the name in the source text */
	const char *name;
	size_t name_len;
	/* STRING: the value, NUL-terminated, in the lexer's arena */
	char *str;
	size_t str_len;
	uint64_t num;               /* NUMBER, with its quantifier applied */
};

struct sv_lexer {
	const char *src;
	size_t len, pos;
	unsigned line;
	size_t line_start;          /* offset of the current line */
	struct sv_arena *arena;     /* string values */
	struct sieve_error *err;
};

/* Largest number a script may write (2^53): beyond any size or period. */
#define SV_NUMBER_MAX (UINT64_C(1) << 53)

void sv_lex_init(struct sv_lexer *lx, const char *src, size_t len,
		 struct sv_arena *arena, struct sieve_error *err);
/* 0 and the next token; -EINVAL with lx->err filled; -ENOMEM. */
int sv_lex_next(struct sv_lexer *lx, struct sv_token *t);
/* Fills err with a message at line:col; returns -EINVAL. */
int sv_error_at(struct sieve_error *err, unsigned line, unsigned col,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
