/* The pure parts of the outbound queue, kept apart so unit tests reach
 * them: the retry back-off and the DSN (bounce) builder. Nothing here does
 * I/O or keeps state outside the structs passed in. */
#ifndef POSTINO_QUEUE_PROTO_H
#define POSTINO_QUEUE_PROTO_H

#include <stddef.h>
#include <stdint.h>

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

/* The most bytes of the original's header a bounce returns (whole lines
 * only). */
#define QUEUE_DSN_HEADERS_MAX (64 * 1024)

/* An RFC 3464 multipart/report bounce with CRLF line ends. Returns 0 and
 * a malloc'ed message, or -ENOMEM / -EINVAL (no recipient). */
int queue_dsn_build(const struct queue_dsn *dsn, char **out_r,
		    size_t *len_r);

#endif
