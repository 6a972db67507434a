#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sv_parse.h"

struct sv_parser {
	struct sv_lexer lx;
	struct sv_token tok;        /* the current (lookahead) token */
	struct sv_arena *arena;
	struct sieve_error *err;
	unsigned max_nesting;
};

/* A growable array (malloc) copied into the arena once complete. */
struct sv_vec {
	void *data;
	size_t n, size, elem;
};

static int sv_vec_push(struct sv_vec *v, const void *item)
{
	if (v->n == v->size) {
		size_t size = v->size ? v->size * 2 : 4;
		void *data = realloc(v->data, size * v->elem);
		if (data == NULL)
			return -ENOMEM;
		v->data = data;
		v->size = size;
	}
	memcpy((char *)v->data + v->n * v->elem, item, v->elem);
	v->n++;
	return 0;
}

static void *sv_vec_finish(struct sv_vec *v, struct sv_arena *arena,
			   int *ret)
{
	void *out = NULL;

	if (*ret == 0 && v->n > 0) {
		out = sv_arena_alloc(arena, v->n * v->elem);
		if (out == NULL)
			*ret = -ENOMEM;
		else
			memcpy(out, v->data, v->n * v->elem);
	}
	free(v->data);
	v->data = NULL;
	return out;
}

static int sv_advance(struct sv_parser *p)
{
	return sv_lex_next(&p->lx, &p->tok);
}

static const char *sv_tok_desc(const struct sv_token *t)
{
	switch (t->type) {
	case SV_TOK_EOF: return "end of script";
	case SV_TOK_IDENT: return "identifier";
	case SV_TOK_TAG: return "tag";
	case SV_TOK_NUMBER: return "number";
	case SV_TOK_STRING: return "string";
	case SV_TOK_LBRACKET: return "'['";
	case SV_TOK_RBRACKET: return "']'";
	case SV_TOK_LPAREN: return "'('";
	case SV_TOK_RPAREN: return "')'";
	case SV_TOK_LBRACE: return "'{'";
	case SV_TOK_RBRACE: return "'}'";
	case SV_TOK_SEMI: return "';'";
	case SV_TOK_COMMA: return "','";
	}
	return "token";
}

static int sv_unexpected(struct sv_parser *p, const char *expected)
{
	return sv_error_at(p->err, p->tok.line, p->tok.col,
			   "expected %s, found %s", expected,
			   sv_tok_desc(&p->tok));
}

static struct sv_ast_str sv_tok_str(const struct sv_token *t)
{
	struct sv_ast_str s = { t->str, t->str_len, t->line, t->col };
	return s;
}

static int sv_parse_strings(struct sv_parser *p, struct sv_ast_arg *arg)
{
	struct sv_vec v = { .elem = sizeof(struct sv_ast_str) };
	int ret;

	arg->is_list = true;
	ret = sv_advance(p);               /* '[' */
	while (ret == 0) {
		if (p->tok.type != SV_TOK_STRING) {
			ret = sv_unexpected(p, "a string in the list");
			break;
		}
		struct sv_ast_str s = sv_tok_str(&p->tok);
		ret = sv_vec_push(&v, &s);
		if (ret == 0)
			ret = sv_advance(p);
		if (ret < 0)
			break;
		if (p->tok.type == SV_TOK_RBRACKET) {
			ret = sv_advance(p);
			break;
		}
		if (p->tok.type != SV_TOK_COMMA) {
			ret = sv_unexpected(p, "',' or ']'");
			break;
		}
		ret = sv_advance(p);
	}
	arg->n_strs = v.n;
	arg->strs = sv_vec_finish(&v, p->arena, &ret);
	return ret;
}

static int sv_parse_test(struct sv_parser *p, struct sv_ast_cmd *cmd,
			 unsigned depth);

/* arguments = *argument [ test / test-list ] */
static int sv_parse_arguments(struct sv_parser *p, struct sv_ast_cmd *cmd,
			      unsigned depth)
{
	struct sv_vec args = { .elem = sizeof(struct sv_ast_arg) };
	int ret = 0;

	for (;;) {
		struct sv_ast_arg a = { .line = p->tok.line,
					.col = p->tok.col };
		if (p->tok.type == SV_TOK_TAG) {
			a.kind = SV_ARG_TAG;
			a.tag = p->tok.name;
			a.tag_len = p->tok.name_len;
			ret = sv_advance(p);
		} else if (p->tok.type == SV_TOK_NUMBER) {
			a.kind = SV_ARG_NUMBER;
			a.num = p->tok.num;
			ret = sv_advance(p);
		} else if (p->tok.type == SV_TOK_STRING) {
			a.kind = SV_ARG_STRINGS;
			a.strs = sv_arena_alloc(p->arena, sizeof(*a.strs));
			if (a.strs == NULL) {
				ret = -ENOMEM;
				break;
			}
			a.strs[0] = sv_tok_str(&p->tok);
			a.n_strs = 1;
			ret = sv_advance(p);
		} else if (p->tok.type == SV_TOK_LBRACKET) {
			a.kind = SV_ARG_STRINGS;
			ret = sv_parse_strings(p, &a);
		} else {
			break;
		}
		if (ret == 0)
			ret = sv_vec_push(&args, &a);
		if (ret < 0)
			break;
	}
	cmd->n_args = args.n;
	cmd->args = sv_vec_finish(&args, p->arena, &ret);
	if (ret < 0)
		return ret;

	if (p->tok.type == SV_TOK_IDENT) {
		cmd->tests = sv_arena_alloc(p->arena, sizeof(*cmd->tests));
		if (cmd->tests == NULL)
			return -ENOMEM;
		cmd->n_tests = 1;
		return sv_parse_test(p, cmd->tests, depth + 1);
	}
	if (p->tok.type != SV_TOK_LPAREN)
		return 0;
	struct sv_vec tests = { .elem = sizeof(struct sv_ast_cmd) };
	cmd->test_list = true;
	ret = sv_advance(p);
	while (ret == 0) {
		struct sv_ast_cmd t;
		if (p->tok.type != SV_TOK_IDENT) {
			ret = sv_unexpected(p, "a test");
			break;
		}
		ret = sv_parse_test(p, &t, depth + 1);
		if (ret == 0)
			ret = sv_vec_push(&tests, &t);
		if (ret < 0)
			break;
		if (p->tok.type == SV_TOK_RPAREN) {
			ret = sv_advance(p);
			break;
		}
		if (p->tok.type != SV_TOK_COMMA) {
			ret = sv_unexpected(p, "',' or ')'");
			break;
		}
		ret = sv_advance(p);
	}
	cmd->n_tests = tests.n;
	cmd->tests = sv_vec_finish(&tests, p->arena, &ret);
	return ret;
}

static int sv_parse_depth(struct sv_parser *p, unsigned depth)
{
	if (depth > p->max_nesting)
		return sv_error_at(p->err, p->tok.line, p->tok.col,
				   "nesting too deep (max %u)",
				   p->max_nesting);
	return 0;
}

static int sv_parse_test(struct sv_parser *p, struct sv_ast_cmd *cmd,
			 unsigned depth)
{
	int ret = sv_parse_depth(p, depth);

	if (ret < 0)
		return ret;
	memset(cmd, 0, sizeof(*cmd));
	cmd->name = p->tok.name;
	cmd->name_len = p->tok.name_len;
	cmd->line = p->tok.line;
	cmd->col = p->tok.col;
	ret = sv_advance(p);
	return ret < 0 ? ret : sv_parse_arguments(p, cmd, depth);
}

static int sv_parse_commands(struct sv_parser *p, unsigned depth,
			     struct sv_ast_cmd **cmds_r, size_t *n_r);

static int sv_parse_command(struct sv_parser *p, struct sv_ast_cmd *cmd,
			    unsigned depth)
{
	int ret;

	if (p->tok.type != SV_TOK_IDENT)
		return sv_unexpected(p, "a command");
	memset(cmd, 0, sizeof(*cmd));
	cmd->name = p->tok.name;
	cmd->name_len = p->tok.name_len;
	cmd->line = p->tok.line;
	cmd->col = p->tok.col;
	ret = sv_advance(p);
	if (ret == 0)
		ret = sv_parse_arguments(p, cmd, depth);
	if (ret < 0)
		return ret;
	if (p->tok.type == SV_TOK_SEMI)
		return sv_advance(p);
	if (p->tok.type != SV_TOK_LBRACE)
		return sv_unexpected(p, "';' or '{'");
	unsigned line = p->tok.line, col = p->tok.col;
	ret = sv_parse_depth(p, depth + 1);
	if (ret == 0)
		ret = sv_advance(p);
	if (ret == 0)
		ret = sv_parse_commands(p, depth + 1, &cmd->block,
					&cmd->n_block);
	if (ret < 0)
		return ret;
	cmd->has_block = true;
	if (p->tok.type != SV_TOK_RBRACE)
		return sv_error_at(p->err, line, col,
				   "block not closed: missing '}'");
	return sv_advance(p);
}

static int sv_parse_commands(struct sv_parser *p, unsigned depth,
			     struct sv_ast_cmd **cmds_r, size_t *n_r)
{
	struct sv_vec v = { .elem = sizeof(struct sv_ast_cmd) };
	int ret = 0;

	while (p->tok.type != SV_TOK_EOF && p->tok.type != SV_TOK_RBRACE) {
		struct sv_ast_cmd cmd;
		ret = sv_parse_command(p, &cmd, depth);
		if (ret == 0)
			ret = sv_vec_push(&v, &cmd);
		if (ret < 0)
			break;
	}
	*n_r = v.n;
	*cmds_r = sv_vec_finish(&v, p->arena, &ret);
	return ret;
}

int sv_parse(const char *src, size_t len, unsigned max_nesting,
	     struct sv_arena *arena, struct sv_ast *ast,
	     struct sieve_error *err)
{
	struct sv_parser p = { .arena = arena, .err = err,
			       .max_nesting = max_nesting };
	int ret;

	memset(ast, 0, sizeof(*ast));
	sv_lex_init(&p.lx, src, len, arena, err);
	ret = sv_advance(&p);
	if (ret == 0)
		ret = sv_parse_commands(&p, 0, &ast->cmds, &ast->n_cmds);
	if (ret == 0 && p.tok.type != SV_TOK_EOF)
		ret = sv_error_at(err, p.tok.line, p.tok.col,
				  "unexpected '}' (no block to close)");
	return ret;
}
