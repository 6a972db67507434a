/* Splitting input into lines with a hard maximum. The buffer only ever
 * holds the unfinished tail of a line (never more than max + 1 bytes: the
 * extra one may be the CR of a CRLF still to come), and a line that lies
 * whole inside the caller's data is returned in place, without a copy. */
#ifndef POSTINO_LINEBUF_H
#define POSTINO_LINEBUF_H

#include <stddef.h>

struct linebuf {
	char *buf;       /* the unfinished line, or NULL when empty */
	size_t len;
	size_t cap;      /* bytes buf holds, not counting a NUL after them */
	size_t max;      /* longest line kept, without the line end */
	int overflow;    /* bytes of the unfinished line were discarded */
};

void linebuf_init(struct linebuf *lb, size_t max);
/* Frees the buffer; the linebuf may be reused after linebuf_init. */
void linebuf_free(struct linebuf *lb);

/* Consumes data up to and including the next LF. Returns the number of
 * bytes consumed (all of len when no LF was found; the bytes are kept,
 * up to max + 1). When a line was completed, *line_r points to it without
 * its LF or CRLF (a bare CR inside the line is content), valid until the
 * next call on this linebuf or until data changes. NUL bytes are content:
 * use *len_r. A copied line is NUL-terminated; a line lying whole in data
 * is returned in place, and data being const, (*line_r)[*len_r] is then
 * still its CR, LF or first discarded byte: always a byte consumed by this
 * call, so a caller whose data is writable may put the NUL there itself.
 * *too_long_r is 1 when the line was longer than max (only its first max
 * bytes are returned). When no line was completed, *line_r is NULL. */
size_t linebuf_feed(struct linebuf *lb, const char *data, size_t len,
		    const char **line_r, size_t *len_r, int *too_long_r);

/* Drops the unfinished line (after STARTTLS, or when switching to raw
 * bytes) and releases the buffer, so an idle connection holds nothing.
 * Returns how many bytes were dropped. */
size_t linebuf_reset(struct linebuf *lb);

#endif
