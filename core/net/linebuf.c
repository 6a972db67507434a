/* The bounded line splitter. The buffer keeps at most max + 1 bytes of an
 * unfinished line: the extra byte may be the CR of a CRLF that has not
 * arrived yet, and a line of exactly max bytes plus CRLF must not count as
 * too long. */
#include "net/linebuf.h"

#include <stdlib.h>
#include <string.h>

/* Small first allocation: most split lines are short commands. */
#define LINEBUF_FIRST_CAP 128

void linebuf_init(struct linebuf *lb, size_t max)
{
	memset(lb, 0, sizeof(*lb));
	lb->max = max;
}

void linebuf_free(struct linebuf *lb)
{
	free(lb->buf);
	memset(lb, 0, sizeof(*lb));
}

size_t linebuf_reset(struct linebuf *lb)
{
	size_t dropped = lb->len;

	free(lb->buf);
	lb->buf = NULL;
	lb->len = 0;
	lb->cap = 0;
	lb->overflow = 0;
	return dropped;
}

/* Grows geometrically so a line arriving a few bytes at a time costs
 * O(log n) reallocations, but never past the hard limit. */
static int linebuf_reserve(struct linebuf *lb, size_t need)
{
	size_t limit = lb->max + 1;
	size_t cap = lb->cap != 0 ? lb->cap : LINEBUF_FIRST_CAP;
	char *buf;

	if (need <= lb->cap)
		return 0;
	while (cap < need && cap <= limit / 2)
		cap *= 2;
	if (cap < need || cap > limit)
		cap = limit;
	buf = realloc(lb->buf, cap + 1);
	if (buf == NULL)
		return -1;
	lb->buf = buf;
	lb->cap = cap;
	return 0;
}

/* Keeps what fits under the limit and remembers that the rest was lost. */
static void linebuf_append(struct linebuf *lb, const char *data, size_t len)
{
	size_t room = lb->max + 1 - lb->len;
	size_t keep = len < room ? len : room;

	if (len > room)
		lb->overflow = 1;
	if (keep == 0)
		return;
	if (linebuf_reserve(lb, lb->len + keep) < 0) {
		/* Out of memory: the line is cut short, which the caller
		 * sees as too long, rather than lost silently. */
		lb->overflow = 1;
		return;
	}
	memcpy(lb->buf + lb->len, data, keep);
	lb->len += keep;
}

/* Strips the CR of a CRLF and applies the limit to a finished line. */
static size_t line_finish(const char *line, size_t len, size_t max,
			  int overflow, int *too_long_r)
{
	if (!overflow && len > 0 && line[len - 1] == '\r')
		len--;
	*too_long_r = overflow || len > max;
	return len > max ? max : len;
}

size_t linebuf_feed(struct linebuf *lb, const char *data, size_t len,
		    const char **line_r, size_t *len_r, int *too_long_r)
{
	const char *lf = len > 0 ? memchr(data, '\n', len) : NULL;
	size_t part;

	*line_r = NULL;
	*len_r = 0;
	*too_long_r = 0;
	if (lf == NULL) {
		linebuf_append(lb, data, len);
		return len;
	}
	part = (size_t)(lf - data);
	if (lb->len == 0 && !lb->overflow) {
		*len_r = line_finish(data, part, lb->max, 0, too_long_r);
		*line_r = data;
		return part + 1;
	}
	linebuf_append(lb, data, part);
	*len_r = line_finish(lb->buf, lb->len, lb->max, lb->overflow,
			     too_long_r);
	/* The buffer may be NULL when an allocation failed before any byte
	 * was kept; "" keeps the pointer usable. */
	if (lb->buf != NULL) {
		lb->buf[*len_r] = '\0';
		*line_r = lb->buf;
	} else {
		*line_r = "";
	}
	lb->len = 0;
	lb->overflow = 0;
	return part + 1;
}
