/* The queue's pure parts: retry back-off and the bounce builder; see
 * queue_proto.h. */
#include "queue/queue_proto.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/mail_date.h"

int64_t queue_backoff(int64_t min_s, int64_t max_s, int64_t attempts)
{
	int64_t delay = min_s < 1 ? 1 : min_s;

	/* Doubling stops at the cap, and never overflows on the way. */
	for (int64_t i = 1; i < attempts && delay < max_s; i++)
		delay = delay > max_s / 2 ? max_s : delay * 2;
	return delay > max_s ? max_s : delay;
}

/* ---- DSN ---------------------------------------------------------------- */

struct buf {
	char *p;
	size_t len, cap;
	int failed;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (p == NULL) {
			b->failed = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void buf_printf(struct buf *b, const char *fmt, ...)
{
	char tmp[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0)
		b->failed = 1;
	else
		buf_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n :
							 sizeof tmp - 1);
}

void queue_dsn_status(const char *reply, char *buf, size_t size)
{
	const char *p = reply;

	snprintf(buf, size, "5.4.7");
	if (reply == NULL || reply[0] != '5')
		return;
	snprintf(buf, size, "5.0.0");
	/* "550 5.1.1 ..." or "550-5.1.1 ...": the enhanced code follows. */
	if (strlen(p) < 4)
		return;
	p += 4;
	unsigned a, b2, c;
	int n = 0;
	if (sscanf(p, "%1u.%3u.%3u%n", &a, &b2, &c, &n) == 3 && a == 5 &&
	    (p[n] == ' ' || p[n] == '\0'))
		snprintf(buf, size, "5.%u.%u", b2, c);
}

/* Header lines may not carry a remote's CR or LF into ours. */
static void add_clean(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		char c = (*s == '\r' || *s == '\n') ? ' ' : *s;
		buf_add(b, &c, 1);
	}
}

/* The original's header block with CRLF line ends: up to the first empty
 * line (all of it when there is none), and its whole lines that fit in
 * QUEUE_DSN_HEADERS_MAX. Bounded like Postfix's bounce_size_limit: a
 * bounce lands in a mailbox, where a 50 MB "header" would be 50 MB to
 * store and to parse for every FETCH of its structure. */
static void add_headers(struct buf *b, const char *m, size_t len)
{
	size_t i = 0, added = 0;

	while (i < len) {
		size_t end = i;
		while (end < len && m[end] != '\n')
			end++;
		size_t n = end - i;
		if (n > 0 && m[i + n - 1] == '\r')
			n--;
		if (n == 0 || added + n + 2 > QUEUE_DSN_HEADERS_MAX)
			break;
		buf_add(b, m + i, n);
		buf_add(b, "\r\n", 2);
		added += n + 2;
		i = end + 1;
	}
}

int queue_dsn_build(const struct queue_dsn *d, char **out_r, size_t *len_r)
{
	struct buf b = { 0 };
	char date[64], boundary[80], status[16];

	if (d->rcpt_count == 0)
		return -EINVAL;
	mail_date_utc(d->now_s, date, sizeof date);
	snprintf(boundary, sizeof boundary, "%llx.%llx/%s",
		 (unsigned long long)d->now_s, (unsigned long long)d->unique,
		 d->hostname);

	buf_printf(&b, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n",
		   d->hostname);
	buf_add(&b, "To: <", 5);
	add_clean(&b, d->sender);
	buf_add(&b, ">\r\n", 3);
	buf_add(&b, "Subject: Undelivered Mail Returned to Sender\r\n", 46);
	buf_printf(&b, "Date: %s\r\n", date);
	buf_printf(&b, "Message-ID: <%llx.%llx.dsn@%s>\r\n",
		   (unsigned long long)d->now_s, (unsigned long long)d->unique,
		   d->hostname);
	buf_printf(&b, "Auto-Submitted: auto-replied\r\n"
		   "MIME-Version: 1.0\r\n"
		   "Content-Type: multipart/report; report-type=delivery-status;"
		   "\r\n\tboundary=\"%s\"\r\n"
		   "\r\n"
		   "This is a MIME-encapsulated message.\r\n"
		   "\r\n"
		   "--%s\r\n"
		   "Content-Type: text/plain; charset=us-ascii\r\n"
		   "\r\n"
		   "This is the mail system at host %s.\r\n"
		   "\r\n"
		   "I'm sorry to have to inform you that your message could not\r\n"
		   "be delivered to one or more recipients.\r\n"
		   "\r\n",
		   boundary, boundary, d->hostname);
	for (size_t i = 0; i < d->rcpt_count; i++) {
		buf_add(&b, "<", 1);
		add_clean(&b, d->rcpts[i].address);
		buf_add(&b, ">: ", 3);
		add_clean(&b, d->rcpts[i].reply ? d->rcpts[i].reply : "");
		buf_add(&b, "\r\n", 2);
	}
	mail_date_utc(d->arrival_s, date, sizeof date);
	buf_printf(&b, "\r\n--%s\r\n"
		   "Content-Type: message/delivery-status\r\n"
		   "\r\n"
		   "Reporting-MTA: dns; %s\r\n"
		   "Arrival-Date: %s\r\n",
		   boundary, d->hostname, date);
	for (size_t i = 0; i < d->rcpt_count; i++) {
		queue_dsn_status(d->rcpts[i].reply, status, sizeof status);
		buf_add(&b, "\r\nFinal-Recipient: rfc822; ", 27);
		add_clean(&b, d->rcpts[i].address);
		buf_printf(&b, "\r\nAction: failed\r\nStatus: %s\r\n", status);
		buf_add(&b, "Diagnostic-Code: smtp; ", 23);
		add_clean(&b, d->rcpts[i].reply ? d->rcpts[i].reply : "");
		buf_add(&b, "\r\n", 2);
	}
	buf_printf(&b, "\r\n--%s\r\n"
		   "Content-Type: text/rfc822-headers\r\n"
		   "\r\n", boundary);
	add_headers(&b, d->message, d->message_len);
	buf_printf(&b, "\r\n--%s--\r\n", boundary);
	if (b.failed) {
		free(b.p);
		return -ENOMEM;
	}
	*out_r = b.p;
	*len_r = b.len;
	return 0;
}
