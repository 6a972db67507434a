/* The Date: and Message-ID: fields a submission server adds when the
 * client's message has none (RFC 6409 8.2, 8.3; as Postfix does for the
 * clients it rewrites for). The message streams through a filter that
 * finds the end of its top-level header block (RFC 5322 2.2, 3.5: the
 * first empty line, or the first line that is not a header field) and
 * inserts the missing fields there, below the client's own, so the
 * trace fields on top stay one block. It holds back only the start of
 * the line being classified (a field name, at most SMTP_HEADER_HOLD
 * bytes); everything else passes straight through. Pure: no I/O, no
 * allocation; the unit tests and the fuzz target compile it. */
#ifndef SMTP_HEADER_H
#define SMTP_HEADER_H

#include <stddef.h>
#include <time.h>

/* RFC 5322 2.1.1: a line is at most 998 characters; a field name longer
 * than that cannot be one. */
#define SMTP_HEADER_HOLD 998

/* "Date: " + an RFC 5322 date-time + CRLF */
#define SMTP_HEADER_DATE_MAX 64
/* "Message-ID: <" + 32 hex + "@" + a host name (255) + ">" CRLF */
#define SMTP_HEADER_MSGID_MAX (13 + 32 + 1 + 255 + 3 + 1)

enum smtp_header_state {
	SMTP_HEADER_LINE_START = 0, /* at the start of a line of the block */
	SMTP_HEADER_NAME,           /* inside what may be a field name */
	SMTP_HEADER_NAME_WSP,       /* blanks after it (obsolete syntax) */
	SMTP_HEADER_BLANK_CR,       /* a CR at the start of a line */
	SMTP_HEADER_BODY,           /* a field's body, to the line end */
	SMTP_HEADER_PASSED,         /* the block ended: bytes pass */
};

/* Receives the filter's output, in order. */
typedef void smtp_header_emit(void *ctx, const char *buf, size_t len);

struct smtp_header_fill {
	enum smtp_header_state state;
	int has_date;
	int has_message_id;
	/* Bytes of the name matched so far against "date" and "message-id"
	 * (case ignored); -1 once it differs. */
	int date_match;
	int msgid_match;
	const char *date;       /* "Date: ...\r\n", owned by the caller */
	const char *message_id; /* "Message-ID: <...>\r\n", likewise */
	size_t hold_len;
	char hold[SMTP_HEADER_HOLD + 1];
};

/* Starts a message. date and message_id are whole header lines ending in
 * CRLF, added when the header block has no such field; they must stay
 * valid until smtp_header_fill_end. */
void smtp_header_fill_init(struct smtp_header_fill *f, const char *date,
			   const char *message_id);

/* Passes in[0..len) (message bytes, dot-stuffing removed) to emit, with
 * the missing fields inserted where the header block ends. */
void smtp_header_fill_feed(struct smtp_header_fill *f, const char *in,
			   size_t len, smtp_header_emit *emit, void *ctx);

/* The message ended: emits what is held back, and the missing fields if
 * the block never ended (a message of header fields only, or empty). */
void smtp_header_fill_end(struct smtp_header_fill *f, smtp_header_emit *emit,
			  void *ctx);

/* "Date: <RFC 5322 date-time, local time>\r\n"; its length, 0 when buf is
 * too small. */
size_t smtp_header_date(time_t when, char *buf, size_t size);

/* "Message-ID: <32 hex digits of random@hostname>\r\n" from 16 random
 * bytes; its length, 0 when buf is too small or hostname is empty. */
size_t smtp_header_message_id(const unsigned char random[16],
			      const char *hostname, char *buf, size_t size);

#endif
