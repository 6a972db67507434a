/* RFC 3501 command grammar; see imap_parser.h.
 *
 * The command is parsed twice by the same code: a counting pass that
 * validates everything and sizes the arena, then a filling pass into one
 * allocation. A list's children are collected on a stack and copied into
 * the final array when the list closes, so every list is contiguous. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap_parser.h"

struct parser {
	const char *buf;
	size_t len;
	size_t pos;
	unsigned max_depth;
	unsigned max_args;
	const char *error;
	size_t n_nodes; /* arguments seen so far */
	size_t n_chars; /* arena bytes needed for strings */
	/* filling pass only (all NULL while counting) */
	struct imap_arg *stack;
	size_t sp;
	struct imap_arg *final;
	size_t nf;
	char *chars;
	size_t nc;
};

bool imap_is_atom_char(unsigned char c)
{
	/* ATOM-CHAR: CHAR except atom-specials "(" ")" "{" SP CTL "%" "*"
	 * DQUOTE "\" "]". */
	if (c <= 0x20 || c >= 0x7f)
		return false;
	return strchr("(){%*\"\\]", c) == NULL;
}

bool imap_is_astring_char(unsigned char c)
{
	return c == ']' || imap_is_atom_char(c);
}

static bool is_tag_char(unsigned char c)
{
	return c != '+' && imap_is_astring_char(c);
}

static int fail(struct parser *p, const char *error)
{
	if (p->error == NULL)
		p->error = error;
	return -1;
}

/* Reserves n string bytes (plus NUL) and returns where to write them. */
static char *take_chars(struct parser *p, size_t n)
{
	char *s = NULL;

	if (p->chars != NULL) {
		s = p->chars + p->nc;
		p->nc += n + 1;
	}
	p->n_chars += n + 1;
	return s;
}

static int push(struct parser *p, const struct imap_arg *arg)
{
	if (++p->n_nodes > p->max_args)
		return fail(p, "Too many arguments");
	if (p->stack != NULL)
		p->stack[p->sp++] = *arg;
	return 0;
}

static int parse_args(struct parser *p, unsigned depth,
		      const struct imap_arg **list_r, size_t *count_r);

static int parse_quoted(struct parser *p, struct imap_arg *arg)
{
	size_t start = ++p->pos, n = 0;
	char *out;

	/* First pass over the bytes validates and measures. */
	for (size_t i = start;; i++) {
		unsigned char c;

		if (i == p->len)
			return fail(p, "Missing closing quote");
		c = (unsigned char)p->buf[i];
		if (c == '"')
			break;
		if (c == '\\') {
			if (i + 1 == p->len)
				return fail(p, "Missing closing quote");
			c = (unsigned char)p->buf[++i];
			if (c != '"' && c != '\\')
				return fail(p, "Invalid escape in quoted "
					       "string");
		} else if (c == '\0') {
			return fail(p, "NUL outside literal");
		} else if (c == '\r' || c == '\n') {
			return fail(p, "CR or LF in quoted string");
		} else if (c >= 0x80) {
			return fail(p, "8-bit data in quoted string");
		}
		n++;
	}
	out = take_chars(p, n);
	arg->type = IMAP_ARG_QUOTED;
	arg->str = out;
	arg->len = n;
	while (p->buf[p->pos] != '"') {
		if (p->buf[p->pos] == '\\')
			p->pos++;
		if (out != NULL)
			*out++ = p->buf[p->pos];
		p->pos++;
	}
	if (out != NULL)
		*out = '\0';
	p->pos++;
	return 0;
}

static int parse_literal(struct parser *p, struct imap_arg *arg)
{
	uint64_t n = 0;
	size_t digits = 0;

	p->pos++;
	while (p->pos < p->len && p->buf[p->pos] >= '0' &&
	       p->buf[p->pos] <= '9') {
		unsigned d = (unsigned)(p->buf[p->pos] - '0');

		if (n > (UINT64_MAX - d) / 10)
			return fail(p, "Literal size too large");
		n = n * 10 + d;
		digits++;
		p->pos++;
	}
	arg->nonsync = false;
	if (p->pos < p->len && p->buf[p->pos] == '+') {
		arg->nonsync = true;
		p->pos++;
	}
	if (digits == 0 || p->pos == p->len || p->buf[p->pos] != '}')
		return fail(p, "Invalid literal");
	p->pos++;
	if (p->len - p->pos < 2 || p->buf[p->pos] != '\r' ||
	    p->buf[p->pos + 1] != '\n')
		return fail(p, "Missing CRLF after literal");
	p->pos += 2;
	if (n > p->len - p->pos)
		return fail(p, "Literal data missing");
	arg->type = IMAP_ARG_LITERAL;
	arg->str = p->buf + p->pos;
	arg->len = (size_t)n;
	p->pos += (size_t)n;
	return 0;
}

/* At "[": the position after the matching "]" when the bracket holds only
 * printable ASCII and spaces (a fetch section such as
 * "[HEADER.FIELDS (DATE FROM)]"), else 0: then "[" is a plain character
 * (mailbox "[Gmail]/Sent" closes; "a[b" does not). The scan stops at the
 * next "[", so parsing stays linear. */
static size_t bracket_end(const struct parser *p, size_t at)
{
	for (size_t i = at + 1; i < p->len; i++) {
		unsigned char c = (unsigned char)p->buf[i];

		if (c == ']')
			return i + 1;
		if (c == '[' || c < 0x20 || c > 0x7e)
			return 0;
	}
	return 0;
}

static int parse_atom(struct parser *p, struct imap_arg *arg)
{
	size_t start = p->pos, n;
	char *out;

	for (;;) {
		unsigned char c;

		if (p->pos == p->len)
			break;
		c = (unsigned char)p->buf[p->pos];
		if (c == ' ' || c == ')')
			break;
		if (c == '[') {
			size_t end = bracket_end(p, p->pos);

			p->pos = end != 0 ? end : p->pos + 1;
			continue;
		}
		if (c == '\0')
			return fail(p, "NUL outside literal");
		if (c >= 0x80)
			return fail(p, "8-bit data in atom");
		/* "\" only as a flag prefix; "%" "*" (wildcards, sequence
		 * sets) and "]" (astring) are accepted in any atom. */
		if (!(imap_is_atom_char(c) || c == '%' || c == '*' ||
		      c == ']' || (c == '\\' && p->pos == start)))
			return fail(p, "Invalid character in atom");
		p->pos++;
	}
	n = p->pos - start;
	out = take_chars(p, n);
	if (out != NULL) {
		memcpy(out, p->buf + start, n);
		out[n] = '\0';
	}
	arg->type = n == 3 && strncasecmp(p->buf + start, "NIL", 3) == 0 ?
		IMAP_ARG_NIL : IMAP_ARG_ATOM;
	arg->str = out;
	arg->len = n;
	return 0;
}

static int parse_one(struct parser *p, unsigned depth)
{
	struct imap_arg arg = { .type = IMAP_ARG_ATOM };
	int ret;

	switch (p->buf[p->pos]) {
	case '(':
		if (depth >= p->max_depth)
			return fail(p, "Too deeply nested lists");
		p->pos++;
		arg.type = IMAP_ARG_LIST;
		if (p->pos < p->len && p->buf[p->pos] == ')') {
			p->pos++;
			ret = 0;
		} else {
			ret = parse_args(p, depth + 1, &arg.list, &arg.count);
		}
		break;
	case ')':
		return fail(p, "Unexpected ')'");
	case ' ':
		return fail(p, "Extra space");
	case '"':
		ret = parse_quoted(p, &arg);
		break;
	case '{':
		ret = parse_literal(p, &arg);
		break;
	default:
		ret = parse_atom(p, &arg);
		break;
	}
	if (ret < 0)
		return ret;
	return push(p, &arg);
}

/* Space-separated arguments up to the end (depth 0) or ")" (inside a
 * list; consumed). The caller has checked that one argument starts at
 * p->pos. */
static int parse_args(struct parser *p, unsigned depth,
		      const struct imap_arg **list_r, size_t *count_r)
{
	size_t base = p->sp;

	for (;;) {
		if (parse_one(p, depth) < 0)
			return -1;
		if (p->pos == p->len) {
			if (depth > 0)
				return fail(p, "Missing ')'");
			break;
		}
		if (p->buf[p->pos] == ')') {
			if (depth == 0)
				return fail(p, "Unexpected ')'");
			p->pos++;
			break;
		}
		if (p->buf[p->pos] != ' ')
			return fail(p, "Missing space between arguments");
		p->pos++;
		if (p->pos == p->len || p->buf[p->pos] == ')')
			return fail(p, "Extra space");
	}
	*count_r = p->sp - base;
	*list_r = NULL;
	if (p->stack != NULL) {
		/* Children move from the stack into one contiguous array. */
		*list_r = p->final + p->nf;
		memcpy(p->final + p->nf, p->stack + base,
		       *count_r * sizeof(*p->final));
		p->nf += *count_r;
		p->sp = base;
	}
	return 0;
}

size_t imap_parse_tag(const char *buf, size_t len)
{
	size_t n = 0;

	while (n < len && is_tag_char((unsigned char)buf[n]))
		n++;
	if (n == 0 || (n < len && buf[n] != ' '))
		return 0;
	return n;
}

/* Runs one pass; fills cmd when p has arena pointers. */
static int parse_pass(struct parser *p, struct imap_command *cmd)
{
	size_t tag_len = imap_parse_tag(p->buf, p->len), name_start;
	char *s;

	if (tag_len == 0) {
		p->error = p->len == 0 || p->buf[0] == ' ' ? "Empty tag" :
			"Invalid tag";
		return IMAP_PARSE_BAD_TAG;
	}
	s = take_chars(p, tag_len);
	if (s != NULL) {
		memcpy(s, p->buf, tag_len);
		s[tag_len] = '\0';
		cmd->tag = s;
	}
	p->pos = tag_len;
	if (p->pos == p->len || p->pos + 1 == p->len)
		return fail(p, "Missing command"), IMAP_PARSE_BAD;
	name_start = ++p->pos;
	while (p->pos < p->len && imap_is_atom_char(
		       (unsigned char)p->buf[p->pos]))
		p->pos++;
	if (p->pos == name_start)
		return fail(p, "Missing command"), IMAP_PARSE_BAD;
	if (p->pos < p->len && p->buf[p->pos] != ' ')
		return fail(p, "Invalid command name"), IMAP_PARSE_BAD;
	s = take_chars(p, p->pos - name_start);
	if (s != NULL) {
		for (size_t i = name_start; i < p->pos; i++) {
			char c = p->buf[i];

			*s++ = c >= 'a' && c <= 'z' ? (char)(c - 32) : c;
		}
		*s = '\0';
		cmd->name = s - (p->pos - name_start);
	}
	if (p->pos == p->len)
		return 0;
	p->pos++;
	if (p->pos == p->len)
		return fail(p, "Extra space"), IMAP_PARSE_BAD;
	if (parse_args(p, 0, &cmd->args, &cmd->n_args) < 0)
		return IMAP_PARSE_BAD;
	return 0;
}

int imap_parse_command(const char *buf, size_t len,
		       const struct imap_parse_limits *limits,
		       struct imap_command **cmd_r, const char **error_r)
{
	struct parser p = {
		.buf = buf, .len = len,
		.max_depth = limits != NULL ? limits->max_depth :
			IMAP_PARSE_DEFAULT_DEPTH,
		.max_args = limits != NULL ? limits->max_args :
			IMAP_PARSE_DEFAULT_ARGS,
	};
	struct imap_command counted = { 0 }, *cmd;
	size_t nodes_size, size;
	int ret;

	*cmd_r = NULL;
	*error_r = NULL;
	ret = parse_pass(&p, &counted);
	if (ret < 0) {
		*error_r = p.error;
		return ret;
	}
	/* Block: command, final nodes, stack nodes, strings. */
	nodes_size = p.n_nodes * sizeof(struct imap_arg);
	size = sizeof(*cmd) + 2 * nodes_size + p.n_chars;
	cmd = calloc(1, size);
	if (cmd == NULL)
		return -ENOMEM;
	p = (struct parser){
		.buf = buf, .len = len,
		.max_depth = p.max_depth, .max_args = p.max_args,
		.final = (struct imap_arg *)(cmd + 1),
	};
	p.stack = p.final + (nodes_size / sizeof(struct imap_arg));
	p.chars = (char *)(p.stack + (nodes_size / sizeof(struct imap_arg)));
	cmd->args = NULL;
	ret = parse_pass(&p, cmd);
	if (ret < 0) { /* cannot happen: the counting pass accepted it */
		free(cmd);
		*error_r = p.error;
		return ret;
	}
	*cmd_r = cmd;
	return 0;
}

bool imap_command_name_is(const char *buf, size_t len, const char *name)
{
	size_t t = imap_parse_tag(buf, len), n = strlen(name);

	if (t == 0 || len - t < n + 1)
		return false;
	buf += t + 1;
	len -= t + 1;
	return strncasecmp(buf, name, n) == 0 && (len == n || buf[n] == ' ');
}

void imap_command_free(struct imap_command **cmd)
{
	free(*cmd);
	*cmd = NULL;
}

int imap_literal_at_end(const char *line, size_t len, uint64_t *n_r,
			bool *nonsync_r)
{
	size_t i, end;
	uint64_t n = 0;
	bool nonsync = false;

	if (len < 3 || line[len - 1] != '}')
		return 0;
	end = len - 1;
	if (line[end - 1] == '+') {
		nonsync = true;
		end--;
	}
	i = end;
	while (i > 0 && line[i - 1] >= '0' && line[i - 1] <= '9')
		i--;
	if (i == end || i == 0 || line[i - 1] != '{')
		return 0;
	/* "{" must start an argument: after SP or "(" (the tag and the
	 * command name come first, so never at offset 0). */
	if (i - 1 == 0 || (line[i - 2] != ' ' && line[i - 2] != '('))
		return 0;
	for (size_t k = i; k < end; k++) {
		unsigned d = (unsigned)(line[k] - '0');

		if (n > (UINT64_MAX - d) / 10)
			return -ERANGE;
		n = n * 10 + d;
	}
	*n_r = n;
	*nonsync_r = nonsync;
	return 1;
}

bool imap_arg_astring(const struct imap_arg *arg, const char **str_r,
		      size_t *len_r)
{
	if (arg->type == IMAP_ARG_LIST)
		return false;
	*str_r = arg->str;
	*len_r = arg->len;
	return true;
}

bool imap_arg_atom_is(const struct imap_arg *arg, const char *word)
{
	return (arg->type == IMAP_ARG_ATOM || arg->type == IMAP_ARG_NIL) &&
		strcasecmp(arg->str, word) == 0;
}
