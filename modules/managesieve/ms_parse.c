/* ManageSieve commands (ms_parse.h): words of a line, strings quoted or
 * as literals, the command resumed on the line after each literal. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ms_parse.h"

/* Room for the words of a command around its largest string. */
#define MS_SLACK (16 * 1024)

void ms_parse_init(struct ms_parser *p, size_t max_literal, size_t max_script)
{
	memset(p, 0, sizeof(*p));
	p->max_literal = max_literal;
	p->max_script = max_script;
}

void ms_parse_reset(struct ms_parser *p)
{
	p->len = 0;
	p->n_args = 0;
	p->literal = 0;
	p->dropping = false;
	p->too_big = false;
	p->continued = false;
	p->error = NULL;
}

void ms_parse_free(struct ms_parser *p)
{
	free(p->buf);
	p->buf = NULL;
	p->cap = 0;
	ms_parse_reset(p);
}

static enum ms_parse_result fail(struct ms_parser *p, const char *why)
{
	p->error = why;
	return MS_ERROR;
}

/* Room for n more octets and a NUL in buf, within the command's bound. */
static bool reserve(struct ms_parser *p, size_t n)
{
	size_t need = p->len + n + 1;

	if (need > p->max_script + p->max_literal + MS_SLACK)
		return false;
	if (need <= p->cap)
		return true;
	size_t cap = p->cap > 0 ? p->cap : 256;
	while (cap < need)
		cap *= 2;
	char *grown = realloc(p->buf, cap);
	if (grown == NULL)
		return false;
	p->buf = grown;
	p->cap = cap;
	return true;
}

static struct ms_arg *arg_new(struct ms_parser *p, enum ms_arg_type type)
{
	struct ms_arg *a = &p->args[p->n_args++];

	a->type = type;
	a->off = p->len;
	a->len = 0;
	a->number = 0;
	return a;
}

static void arg_end(struct ms_parser *p, struct ms_arg *a)
{
	a->len = p->len - a->off;
	p->buf[p->len++] = '\0';
}

/* RFC 5804 ATOM-CHAR: what may stand outside quotes. */
static bool atom_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '"' && c != '(' && c != ')' &&
	       c != '\\' && c != '{' && c != '}';
}

static bool is_script_command(const struct ms_parser *p)
{
	if (p->n_args == 0 || p->args[0].type != MS_ATOM)
		return false;
	const char *verb = p->buf + p->args[0].off;
	return strcasecmp(verb, "PUTSCRIPT") == 0 ||
	       strcasecmp(verb, "CHECKSCRIPT") == 0;
}

static enum ms_parse_result quoted(struct ms_parser *p, const char *line,
				   size_t len, size_t *pos)
{
	if (!reserve(p, MS_QUOTED_MAX))
		return fail(p, "command too long");
	struct ms_arg *a = arg_new(p, MS_STRING);
	size_t i = *pos + 1;
	for (;; i++) {
		if (i >= len)
			return fail(p, "unterminated quoted string");
		char c = line[i];
		if (c == '"')
			break;
		if (c == '\\') {
			if (i + 1 >= len || (line[i + 1] != '"' &&
					     line[i + 1] != '\\'))
				return fail(p, "bad escape in a quoted string");
			c = line[++i];
		} else if (c == '\0') {
			return fail(p, "NUL in a quoted string");
		}
		if (p->len - a->off >= MS_QUOTED_MAX)
			return fail(p, "quoted string too long (use a "
				       "literal)");
		p->buf[p->len++] = c;
	}
	arg_end(p, a);
	*pos = i + 1;
	return MS_DONE;
}

/* {n} or {n+} ending the line. */
static enum ms_parse_result literal(struct ms_parser *p, const char *line,
				    size_t len, size_t *pos,
				    uint64_t *literal_r)
{
	size_t i = *pos + 1;
	uint64_t n = 0;

	if (i >= len || line[i] < '0' || line[i] > '9')
		return fail(p, "bad literal");
	for (; i < len && line[i] >= '0' && line[i] <= '9'; i++) {
		n = n * 10 + (uint64_t)(line[i] - '0');
		if (n > MS_LITERAL_ABSURD)
			return fail(p, "literal too large");
	}
	if (i < len && line[i] == '+')
		i++;
	if (i >= len || line[i] != '}' || i + 1 != len)
		return fail(p, "a literal must end the line");
	size_t limit = is_script_command(p) ? p->max_script : p->max_literal;
	p->dropping = n > limit;
	if (p->dropping) {
		p->too_big = true;
	} else if (!reserve(p, (size_t)n)) {
		return fail(p, "command too long");
	}
	struct ms_arg *a = arg_new(p, MS_STRING);
	if (p->dropping) {
		/* An empty stand-in; too_big says why. */
		if (!reserve(p, 0))
			return fail(p, "command too long");
		arg_end(p, a);
	}
	p->literal = n;
	*pos = len;
	*literal_r = n;
	if (n == 0) {
		if (!p->dropping)
			arg_end(p, a);
		p->continued = true;
	}
	return MS_LITERAL;
}

static enum ms_parse_result word(struct ms_parser *p, const char *line,
				 size_t len, size_t *pos)
{
	size_t i = *pos, start = *pos;
	bool digits = true;

	while (i < len && line[i] != ' ') {
		if (!atom_char((unsigned char)line[i]))
			return fail(p, "bad character in a word");
		digits &= line[i] >= '0' && line[i] <= '9';
		i++;
	}
	if (i == start)
		return fail(p, "a blank where a word should be");
	if (i - start > MS_QUOTED_MAX || !reserve(p, i - start))
		return fail(p, "word too long");
	struct ms_arg *a = arg_new(p, digits ? MS_NUMBER : MS_ATOM);
	for (size_t k = start; k < i; k++) {
		if (digits) {
			a->number = a->number * 10 + (uint64_t)(line[k] - '0');
			/* RFC 5804: numbers are below 2^32. */
			if (a->number > UINT32_MAX)
				return fail(p, "number too large");
		}
		p->buf[p->len++] = line[k];
	}
	arg_end(p, a);
	*pos = i;
	return MS_DONE;
}

enum ms_parse_result ms_parse_line(struct ms_parser *p, const char *line,
				   size_t len, uint64_t *literal_r)
{
	size_t pos = 0;

	*literal_r = 0;
	if (p->literal > 0)
		return fail(p, "literal expected");
	if (p->continued) {
		p->continued = false;
		if (len == 0)
			return MS_DONE;
		if (line[0] != ' ')
			return fail(p, "a space must follow a literal");
		pos = 1;
	} else if (len == 0) {
		return fail(p, "empty command");
	}
	for (;;) {
		enum ms_parse_result r;
		if (pos >= len)
			return p->n_args > 0 ? MS_DONE
					     : fail(p, "empty command");
		if (p->n_args == MS_ARGS_MAX)
			return fail(p, "too many arguments");
		if (line[pos] == '"')
			r = quoted(p, line, len, &pos);
		else if (line[pos] == '{')
			return literal(p, line, len, &pos, literal_r);
		else
			r = word(p, line, len, &pos);
		if (r != MS_DONE)
			return r;
		if (pos < len && line[pos] != ' ')
			return fail(p, "a space must separate arguments");
		/* One or more blanks; a trailing one ends the command too. */
		while (pos < len && line[pos] == ' ')
			pos++;
	}
}

int ms_parse_bytes(struct ms_parser *p, const char *bytes, size_t len)
{
	if (len > p->literal)
		len = (size_t)p->literal;
	if (!p->dropping) {
		memcpy(p->buf + p->len, bytes, len);
		p->len += len;
	}
	p->literal -= len;
	if (p->literal > 0)
		return 0;
	if (!p->dropping)
		arg_end(p, &p->args[p->n_args - 1]);
	p->dropping = false;
	p->continued = true;
	return 1;
}
