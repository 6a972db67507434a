/* The pure parts of outbound delivery, kept apart so unit tests reach them
 * without a network: the SMTP reply parser, the DATA encoder, the retry
 * back-off and the DSN (bounce) builder. Nothing here does I/O or keeps
 * state outside the structs passed in. */
#ifndef POSTINO_QUEUE_PROTO_H
#define POSTINO_QUEUE_PROTO_H

#include <stddef.h>
#include <stdint.h>

/* RFC 5321 4.5.3.1.5 allows 512 octets per reply line; servers send more
 * in practice, so lines are cut (not refused) at this length. */
#define QUEUE_REPLY_LINE_MAX 1000
/* A whole (multi-line) reply: EHLO lists are the longest we expect. */
#define QUEUE_REPLY_MAX 8192
#define QUEUE_REPLY_LINES_MAX 64

/* A resumable parser for one SMTP reply ("250-a\r\n250 b\r\n"). */
struct queue_reply {
	int code;            /* 3 digits, once a line was seen */
	size_t lines;        /* complete lines so far */
	size_t len;          /* bytes of text */
	char text[QUEUE_REPLY_MAX]; /* lines without CRLF, joined by '\n' */
	/* line in progress */
	char line[QUEUE_REPLY_LINE_MAX];
	size_t line_len;
	int line_cut;        /* the line went past the limit */
};

void queue_reply_reset(struct queue_reply *r);
/* Consumes bytes of data up to the end of one reply. Returns 1 when a
 * reply is complete (*used_r bytes consumed; the rest belongs to the next
 * reply), 0 when every byte was consumed and more are needed, -EPROTO on a
 * malformed line (no code, codes differ between lines, too many lines). A
 * bare LF ends a line too: some servers send them. */
int queue_reply_parse(struct queue_reply *r, const char *data, size_t len,
		      size_t *used_r);
/* Whether a completed EHLO reply lists keyword (case-insensitive, first
 * word of a line after the first). */
int queue_reply_has(const struct queue_reply *r, const char *keyword);
/* The reply as one line (newlines become "; ") for logs and last_reply. */
void queue_reply_flat(const struct queue_reply *r, char *buf, size_t size);

/* The DATA payload for a message: line ends made CRLF, a '.' that starts
 * a line doubled (RFC 5321 4.5.2), a last line end added when missing,
 * and the ".\r\n" terminator. Returns 0 and a malloc'ed buffer, or
 * -ENOMEM. */
int queue_dot_stuff(const char *in, size_t len, char **out_r, size_t *len_r);

/* Seconds to wait after the attempts-th failed attempt (1, 2, ...):
 * min_s doubled per earlier attempt, capped at max_s. */
int64_t queue_backoff(int64_t min_s, int64_t max_s, int64_t attempts);

struct queue_dsn_rcpt {
	const char *address;
	const char *reply; /* the remote's reply or our reason, one line */
};

struct queue_dsn {
	const char *hostname;   /* ours: Reporting-MTA and MAILER-DAEMON@ */
	const char *sender;     /* the original envelope sender: To: */
	const char *message;    /* the original message (headers used) */
	size_t message_len;
	const struct queue_dsn_rcpt *rcpts;
	size_t rcpt_count;
	int64_t now_s;          /* Date: */
	int64_t arrival_s;      /* Arrival-Date: (when it was queued) */
	uint64_t unique;        /* makes the boundary and Message-ID unique */
};

/* The Status a failed recipient gets from its reply: the reply's own
 * enhanced code when it has a 5.x.x one, 5.0.0 for other 5xx replies, and
 * 5.4.7 (delivery time expired) for anything else. buf >= 16 bytes. */
void queue_dsn_status(const char *reply, char *buf, size_t size);

/* An RFC 3464 multipart/report bounce with CRLF line ends. Returns 0 and
 * a malloc'ed message, or -ENOMEM / -EINVAL (no recipient). */
int queue_dsn_build(const struct queue_dsn *dsn, char **out_r,
		    size_t *len_r);

#endif
