/* RETR/TOP output; see pop3_stuff.h. */
#include <string.h>

#include "pop3_stuff.h"

void pop3_stuff_init(struct pop3_stuff *st)
{
	memset(st, 0, sizeof(*st));
	st->line_start = 1;
	st->lines_left = UINT64_MAX;
}

void pop3_stuff_init_top(struct pop3_stuff *st, uint64_t lines)
{
	pop3_stuff_init(st);
	st->top = 1;
	st->lines_left = lines;
}

/* A line ended: the header/body bookkeeping of TOP. blank: the line held
 * nothing but its end. */
static void end_of_line(struct pop3_stuff *st, int blank)
{
	if (!st->top)
		return;
	if (!st->in_body) {
		if (blank) {
			st->in_body = 1;
			if (st->lines_left == 0)
				st->done = 1;
		}
		return;
	}
	if (st->lines_left != UINT64_MAX)
		st->lines_left--;
	if (st->lines_left == 0)
		st->done = 1;
}

size_t pop3_stuff_feed(struct pop3_stuff *st, const char *in, size_t len,
		       char *out, size_t *used_r)
{
	size_t o = 0, i = 0;

	for (; i < len && !st->done; i++) {
		char c = in[i];

		if (c == '\n') {
			if (!st->last_cr)
				out[o++] = '\r'; /* a bare LF gets its CR */
			out[o++] = '\n';
			st->line_start = 1;
			st->last_cr = 0;
			end_of_line(st, !st->line_text);
			st->line_text = 0;
			continue;
		}
		if (st->line_start && c == '.')
			out[o++] = '.'; /* byte-stuffing */
		out[o++] = c;
		st->line_start = 0;
		st->last_cr = c == '\r';
		if (c != '\r')
			st->line_text = 1;
	}
	*used_r = i;
	return o;
}

size_t pop3_stuff_finish(struct pop3_stuff *st, char *out)
{
	size_t o = 0;

	if (!st->line_start) {
		if (!st->last_cr)
			out[o++] = '\r';
		out[o++] = '\n';
	}
	memcpy(out + o, ".\r\n", 3);
	st->line_start = 1;
	st->last_cr = 0;
	return o + 3;
}
