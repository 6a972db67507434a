/* The DATA phase over raw bytes (RFC 5321 4.1.1.4, 4.5.2): finds the end
 * <CRLF>.<CRLF> across any chunking, removes dot-stuffing, counts the
 * message bytes and flags bare CR or bare LF, and NUL (RFC 5321 2.3.8:
 * US-ASCII content, never NUL; RFC 6152's 8BITMIME does not allow it
 * either), so the session can refuse such a message at its end. Only CRLF "." CRLF ends the
 * data: <LF>.<LF>, <CR>.<CR>, <LF>.<CRLF> and <CRLF>.<LF> are content
 * (and bare line ends), never the end, so a message cannot smuggle a
 * second one past a lax peer. Pure: no I/O, no allocation. */
#ifndef SMTP_DATA_H
#define SMTP_DATA_H

#include <stddef.h>
#include <stdint.h>

enum smtp_data_state {
	SMTP_DATA_LINE_START = 0, /* after CRLF (or at the start) */
	SMTP_DATA_MID,            /* inside a line */
	SMTP_DATA_CR,             /* inside a line, after a CR */
	SMTP_DATA_DOT,            /* "." at the start of a line */
	SMTP_DATA_DOT_CR,         /* "." CR at the start of a line */
	SMTP_DATA_DONE,           /* CRLF "." CRLF seen */
};

struct smtp_data {
	enum smtp_data_state state;
	uint64_t size; /* message bytes produced (unstuffed, with CRLFs) */
	int bare;      /* a bare CR or bare LF was seen */
	int nul;       /* a NUL byte was seen */
};

void smtp_data_init(struct smtp_data *d);

/* Consumes bytes of in[0..len) until the end of the data. The message
 * bytes (dot-stuffing removed; a CR held back from the previous call may
 * come out first) go to out, which must have room for len + 1 bytes;
 * *out_len_r is how many were written. Returns the number of input bytes
 * consumed: len, or when the end was found, the offset just past its
 * final LF (the rest is pipelined input). Once DONE, consumes nothing. */
size_t smtp_data_feed(struct smtp_data *d, const char *in, size_t len,
		      char *out, size_t *out_len_r);

static inline int smtp_data_done(const struct smtp_data *d)
{
	return d->state == SMTP_DATA_DONE;
}


#endif
