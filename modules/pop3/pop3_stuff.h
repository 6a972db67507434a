/* The multi-line writer of RETR and TOP (RFC 1939 3): CRLF line ends on
 * the wire (a bare LF gets its CR), a "." that starts a line is doubled,
 * TOP stops after the headers, the blank line and n body lines, and the
 * response ends with a CRLF (added when the message lacks a final one)
 * and ".\r\n". Pure: fed the message in chunks of any size, it produces
 * the same bytes as for the whole message at once. */
#ifndef POP3_STUFF_H
#define POP3_STUFF_H

#include <stddef.h>
#include <stdint.h>

struct pop3_stuff {
	int line_start;      /* the next byte starts a line */
	int last_cr;         /* the last byte out was a CR */
	int line_text;       /* the line has a byte other than CR */
	int in_body;         /* past the blank line ending the headers */
	int done;            /* TOP reached its line count */
	uint64_t lines_left; /* body lines still to send (TOP) */
	int top;
};

/* RETR: the whole message. */
void pop3_stuff_init(struct pop3_stuff *st);
/* TOP msg n: headers, the blank line, then n body lines. */
void pop3_stuff_init_top(struct pop3_stuff *st, uint64_t lines);

/* Worst case output for len input bytes. */
#define POP3_STUFF_OUT_MAX(len) (2 * (len))
/* The terminator: at most CRLF + ".\r\n". */
#define POP3_STUFF_END_MAX 5

/* Converts len bytes of in into out (room for POP3_STUFF_OUT_MAX(len));
 * returns the bytes written. *used_r is how much of in was consumed: less
 * than len only when st->done (TOP ended; ignore the rest). */
size_t pop3_stuff_feed(struct pop3_stuff *st, const char *in, size_t len,
		       char *out, size_t *used_r);

/* Writes the end of the response (room for POP3_STUFF_END_MAX); returns
 * the bytes written. */
size_t pop3_stuff_finish(struct pop3_stuff *st, char *out);

#endif
