#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sv_lex.h"

int sv_error_at(struct sieve_error *err, unsigned line, unsigned col,
		const char *fmt, ...)
{
	va_list ap;

	if (err != NULL) {
		err->line = line;
		err->column = col;
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

void sv_lex_init(struct sv_lexer *lx, const char *src, size_t len,
		 struct sv_arena *arena, struct sieve_error *err)
{
	memset(lx, 0, sizeof(*lx));
	lx->src = src;
	lx->len = len;
	lx->line = 1;
	lx->arena = arena;
	lx->err = err;
}

static unsigned sv_lex_col(const struct sv_lexer *lx, size_t pos)
{
	return (unsigned)(pos - lx->line_start + 1);
}

static int sv_lex_peek(const struct sv_lexer *lx, size_t ahead)
{
	return lx->pos + ahead < lx->len ?
		(unsigned char)lx->src[lx->pos + ahead] : -1;
}

/* Consumes a line end (LF or CRLF) at pos if there is one. */
static bool sv_lex_eol(struct sv_lexer *lx)
{
	size_t n = 0;

	if (sv_lex_peek(lx, 0) == '\n')
		n = 1;
	else if (sv_lex_peek(lx, 0) == '\r' && sv_lex_peek(lx, 1) == '\n')
		n = 2;
	if (n == 0)
		return false;
	lx->pos += n;
	lx->line++;
	lx->line_start = lx->pos;
	return true;
}

static int sv_lex_skip_space(struct sv_lexer *lx)
{
	for (;;) {
		int c = sv_lex_peek(lx, 0);
		if (c == ' ' || c == '\t' || c == '\r') {
			if (!sv_lex_eol(lx))
				lx->pos++;
		} else if (c == '\n') {
			sv_lex_eol(lx);
		} else if (c == '#') {
			while (lx->pos < lx->len && lx->src[lx->pos] != '\n')
				lx->pos++;
		} else if (c == '/' && sv_lex_peek(lx, 1) == '*') {
			unsigned line = lx->line, col = sv_lex_col(lx, lx->pos);
			lx->pos += 2;
			for (;;) {
				if (lx->pos >= lx->len)
					return sv_error_at(lx->err, line, col,
							   "unterminated comment");
				if (sv_lex_peek(lx, 0) == '*' &&
				    sv_lex_peek(lx, 1) == '/') {
					lx->pos += 2;
					break;
				}
				if (!sv_lex_eol(lx))
					lx->pos++;
			}
		} else {
			return 0;
		}
	}
}

static bool sv_is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool sv_is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* A string's value is at most twice the script: each bare LF in it
 * becomes CRLF. */
static size_t sv_lex_value_cap(const struct sv_lexer *lx)
{
	return 2 * lx->len + 2;
}

static int sv_lex_string_done(struct sv_lexer *lx, struct sv_token *t,
			      struct sv_buf *b)
{
	int ret = sv_buf_nul(b);

	if (ret == 0) {
		t->str = sv_arena_strndup(lx->arena, b->data, b->len);
		t->str_len = b->len;
		if (t->str == NULL)
			ret = -ENOMEM;
	}
	sv_buf_free(b);
	t->type = SV_TOK_STRING;
	return ret == -E2BIG ? -ENOMEM : ret;
}

static int sv_lex_quoted(struct sv_lexer *lx, struct sv_token *t)
{
	struct sv_buf b;
	int ret = 0;

	sv_buf_init(&b, sv_lex_value_cap(lx));
	lx->pos++;
	for (;;) {
		int c = sv_lex_peek(lx, 0);
		if (c < 0) {
			sv_buf_free(&b);
			return sv_error_at(lx->err, t->line, t->col,
					   "unterminated string");
		}
		if (c == '"') {
			lx->pos++;
			break;
		}
		if (c == '\n' || (c == '\r' && sv_lex_peek(lx, 1) == '\n')) {
			sv_lex_eol(lx);
			ret = sv_buf_add(&b, "\r\n", 2);
		} else if (c == '\\' && lx->pos + 1 < lx->len) {
			/* \\ and \" as such; any other escape is its
			 * character (RFC 5228 2.4.2). A line end stays one. */
			lx->pos++;
			if (sv_lex_eol(lx)) {
				ret = sv_buf_add(&b, "\r\n", 2);
			} else {
				ret = sv_buf_addc(&b, lx->src[lx->pos]);
				lx->pos++;
			}
		} else {
			ret = sv_buf_addc(&b, (char)c);
			lx->pos++;
		}
		if (ret < 0) {
			sv_buf_free(&b);
			return -ENOMEM;
		}
	}
	return sv_lex_string_done(lx, t, &b);
}

/* "text:" already consumed. */
static int sv_lex_multiline(struct sv_lexer *lx, struct sv_token *t)
{
	struct sv_buf b;
	int ret = 0;

	while (sv_lex_peek(lx, 0) == ' ' || sv_lex_peek(lx, 0) == '\t')
		lx->pos++;
	if (sv_lex_peek(lx, 0) == '#') {
		while (lx->pos < lx->len && lx->src[lx->pos] != '\n')
			lx->pos++;
	}
	if (!sv_lex_eol(lx))
		return sv_error_at(lx->err, lx->line, sv_lex_col(lx, lx->pos),
				   "expected a line end after 'text:'");
	sv_buf_init(&b, sv_lex_value_cap(lx));
	for (;;) {
		if (lx->pos >= lx->len) {
			sv_buf_free(&b);
			return sv_error_at(lx->err, t->line, t->col,
					   "unterminated multi-line string "
					   "(a line with a single '.' ends "
					   "it)");
		}
		size_t start = lx->pos;
		while (lx->pos < lx->len && lx->src[lx->pos] != '\n')
			lx->pos++;
		size_t end = lx->pos;
		if (end > start && lx->src[end - 1] == '\r')
			end--;
		bool had_eol = sv_lex_eol(lx);
		if (end - start == 1 && lx->src[start] == '.')
			break;
		if (!had_eol) {
			sv_buf_free(&b);
			return sv_error_at(lx->err, t->line, t->col,
					   "unterminated multi-line string "
					   "(a line with a single '.' ends "
					   "it)");
		}
		/* Dot-stuffing: a leading ".." stands for "." */
		if (end - start >= 2 && lx->src[start] == '.' &&
		    lx->src[start + 1] == '.')
			start++;
		ret = sv_buf_add(&b, lx->src + start, end - start);
		if (ret == 0)
			ret = sv_buf_add(&b, "\r\n", 2);
		if (ret < 0) {
			sv_buf_free(&b);
			return -ENOMEM;
		}
	}
	return sv_lex_string_done(lx, t, &b);
}

static int sv_lex_number(struct sv_lexer *lx, struct sv_token *t)
{
	uint64_t n = 0;

	while (sv_is_digit(sv_lex_peek(lx, 0))) {
		n = n * 10 + (uint64_t)(lx->src[lx->pos] - '0');
		lx->pos++;
		if (n > SV_NUMBER_MAX)
			return sv_error_at(lx->err, t->line, t->col,
					   "number too large");
	}
	int q = sv_lex_peek(lx, 0);
	unsigned shift = 0;
	if (q == 'K' || q == 'k')
		shift = 10;
	else if (q == 'M' || q == 'm')
		shift = 20;
	else if (q == 'G' || q == 'g')
		shift = 30;
	if (shift) {
		lx->pos++;
		if (n > (SV_NUMBER_MAX >> shift))
			return sv_error_at(lx->err, t->line, t->col,
					   "number too large");
		n <<= shift;
	}
	if (sv_is_alpha(sv_lex_peek(lx, 0)))
		return sv_error_at(lx->err, t->line, t->col,
				   "malformed number");
	t->type = SV_TOK_NUMBER;
	t->num = n;
	return 0;
}

int sv_lex_next(struct sv_lexer *lx, struct sv_token *t)
{
	int ret = sv_lex_skip_space(lx);

	memset(t, 0, sizeof(*t));
	if (ret < 0)
		return ret;
	t->line = lx->line;
	t->col = sv_lex_col(lx, lx->pos);
	int c = sv_lex_peek(lx, 0);
	if (c < 0) {
		t->type = SV_TOK_EOF;
		return 0;
	}
	static const char punct[] = "[](){};,";
	static const enum sv_tok punct_tok[] = {
		SV_TOK_LBRACKET, SV_TOK_RBRACKET, SV_TOK_LPAREN, SV_TOK_RPAREN,
		SV_TOK_LBRACE, SV_TOK_RBRACE, SV_TOK_SEMI, SV_TOK_COMMA,
	};
	const char *p = c != 0 ? strchr(punct, c) : NULL;
	if (p != NULL) {
		lx->pos++;
		t->type = punct_tok[p - punct];
		return 0;
	}
	if (c == '"')
		return sv_lex_quoted(lx, t);
	if (sv_is_digit(c))
		return sv_lex_number(lx, t);
	if (c == ':' && sv_is_alpha(sv_lex_peek(lx, 1))) {
		lx->pos++;
		t->type = SV_TOK_TAG;
	} else if (sv_is_alpha(c)) {
		t->type = SV_TOK_IDENT;
	} else {
		if (c >= 0x21 && c < 0x7f)
			return sv_error_at(lx->err, t->line, t->col,
					   "unexpected character '%c'", c);
		return sv_error_at(lx->err, t->line, t->col,
				   "unexpected octet 0x%02x", (unsigned)c);
	}
	t->name = lx->src + lx->pos;
	while (sv_is_alpha(sv_lex_peek(lx, 0)) || sv_is_digit(sv_lex_peek(lx, 0)))
		lx->pos++;
	t->name_len = (size_t)(lx->src + lx->pos - t->name);
	if (t->type == SV_TOK_IDENT && sv_lex_peek(lx, 0) == ':' &&
	    sv_eq_ci(t->name, t->name_len, "text")) {
		lx->pos++;
		return sv_lex_multiline(lx, t);
	}
	return 0;
}
