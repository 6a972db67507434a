/* The SMTP client's pure parts, kept apart so unit tests reach them
 * without a network: the reply parser and the DATA encoder. Nothing here
 * does I/O or keeps state outside the structs passed in. */
#ifndef POSTINO_SMTP_REPLY_H
#define POSTINO_SMTP_REPLY_H

#include <stddef.h>

/* RFC 5321 4.5.3.1.5 allows 512 octets per reply line; servers send more
 * in practice, so lines are cut (not refused) at this length. */
#define SMTP_REPLY_LINE_MAX 1000
/* A whole (multi-line) reply: EHLO lists are the longest we expect. */
#define SMTP_REPLY_MAX 8192
#define SMTP_REPLY_LINES_MAX 64

/* A resumable parser for one SMTP reply ("250-a\r\n250 b\r\n"). */
struct smtp_reply {
	int code;            /* 3 digits, once a line was seen */
	size_t lines;        /* complete lines so far */
	size_t len;          /* bytes of text */
	char text[SMTP_REPLY_MAX]; /* lines without CRLF, joined by '\n' */
	/* line in progress */
	char line[SMTP_REPLY_LINE_MAX];
	size_t line_len;
	int line_cut;        /* the line went past the limit */
};

void smtp_reply_reset(struct smtp_reply *r);
/* Consumes bytes of data up to the end of one reply. Returns 1 when a
 * reply is complete (*used_r bytes consumed; the rest belongs to the next
 * reply), 0 when every byte was consumed and more are needed, -EPROTO on a
 * malformed line (no code, codes differ between lines, too many lines). A
 * bare LF ends a line too: some servers send them. */
int smtp_reply_parse(struct smtp_reply *r, const char *data, size_t len,
		      size_t *used_r);
/* Whether a completed EHLO reply lists keyword (case-insensitive, first
 * word of a line after the first). */
int smtp_reply_has(const struct smtp_reply *r, const char *keyword);
/* The reply as one line (newlines become "; ") for logs and last_reply. */
void smtp_reply_flat(const struct smtp_reply *r, char *buf, size_t size);

/* The DATA payload for a message: line ends made CRLF, a '.' that starts
 * a line doubled (RFC 5321 4.5.2), a last line end added when missing,
 * and the ".\r\n" terminator. Returns 0 and a malloc'ed buffer, or
 * -ENOMEM. */
int smtp_dot_stuff(const char *in, size_t len, char **out_r, size_t *len_r);

#endif
