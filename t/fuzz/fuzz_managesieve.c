/* libFuzzer target: managesieve.so's command parser (ms_parse.c).
 *
 * The input is a client's byte stream, split as the connection does it:
 * lines at LF (a CR before it dropped; a line past the protocol's 8192
 * octets is refused as too long, as the host refuses it), and after a
 * line announcing a literal, exactly that many octets to ms_parse_bytes
 * in chunks whose sizes come from the input. The contract checked: a
 * literal never asks for more than MS_LITERAL_ABSURD, every argument of a
 * whole command lies inside the parser's buffer with a NUL after it, a
 * string is never longer than its limit (a script's or the others'), and
 * the parser's memory stays below both limits plus its slack. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ms_parse.h"

#define LINE_MAX 8192
#define MAX_LITERAL 64
#define MAX_SCRIPT 4096

static void check_command(const struct ms_parser *p)
{
	if (p->n_args == 0 || p->n_args > MS_ARGS_MAX)
		abort();
	for (size_t i = 0; i < p->n_args; i++) {
		const struct ms_arg *a = &p->args[i];
		if (a->off + a->len >= p->len || p->buf[a->off + a->len] != '\0')
			abort();
		if (a->type == MS_STRING && a->len > MAX_SCRIPT &&
		    a->len > MS_QUOTED_MAX)
			abort();
	}
	if (p->cap > MAX_SCRIPT + MAX_LITERAL + 32 * 1024)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ms_parser p;
	uint8_t *copy = malloc(size > 0 ? size : 1);
	size_t chunk = size > 0 ? (size_t)(data[0] % 7) + 1 : 1;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	ms_parse_init(&p, MAX_LITERAL, MAX_SCRIPT);
	const uint8_t *at = copy + (size > 0), *end = copy + size;
	while (at < end) {
		const uint8_t *lf = memchr(at, '\n', (size_t)(end - at));
		size_t len = lf != NULL ? (size_t)(lf - at) : (size_t)(end - at);
		const uint8_t *next = lf != NULL ? lf + 1 : end;
		if (len > 0 && at[len - 1] == '\r')
			len--;
		/* Exactly the line's octets: ASan sees any overread. */
		char *line = malloc(len > 0 ? len : 1);
		if (line == NULL)
			break;
		memcpy(line, at, len);
		uint64_t literal = 0;
		enum ms_parse_result r = len > LINE_MAX ? MS_ERROR
			: ms_parse_line(&p, line, len, &literal);
		free(line);
		at = next;
		if (r == MS_DONE)
			check_command(&p);
		if (r != MS_LITERAL) {
			ms_parse_reset(&p);
			continue;
		}
		if (literal > MS_LITERAL_ABSURD)
			abort();
		/* The literal's octets, in chunks, as far as the input has
		 * them. */
		while (literal > 0 && at < end) {
			size_t n = (size_t)(end - at) < chunk ? (size_t)(end - at)
							      : chunk;
			if (n > literal)
				n = (size_t)literal;
			int last = ms_parse_bytes(&p, (const char *)at, n);
			literal -= n;
			at += n;
			if (last != (literal == 0))
				abort();
		}
	}
	ms_parse_free(&p);
	free(copy);
	return 0;
}
