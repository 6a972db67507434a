/* SMTP client protocol helpers and the bounce builder; see queue_proto.h. */
#include "queue/queue_proto.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

void queue_reply_reset(struct queue_reply *r)
{
	r->code = 0;
	r->lines = 0;
	r->len = 0;
	r->text[0] = '\0';
	r->line_len = 0;
	r->line_cut = 0;
}

/* A finished line: checks its code and appends it to the text. Returns 1
 * when it was the last line of the reply. */
static int reply_line_done(struct queue_reply *r)
{
	const char *l = r->line;
	size_t n = r->line_len;
	int code;

	if (n > 0 && l[n - 1] == '\r')
		n--;
	if (n < 3 || !isdigit((unsigned char)l[0]) ||
	    !isdigit((unsigned char)l[1]) || !isdigit((unsigned char)l[2]) ||
	    (n > 3 && l[3] != ' ' && l[3] != '-'))
		return -EPROTO;
	code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
	if (code < 200 || code > 599 || (r->lines > 0 && code != r->code) ||
	    r->lines >= QUEUE_REPLY_LINES_MAX)
		return -EPROTO;
	r->code = code;
	/* The text keeps what fits; the code and the end are what matter. */
	if (r->lines > 0 && r->len + 1 < sizeof r->text)
		r->text[r->len++] = '\n';
	size_t room = sizeof r->text - 1 - r->len;
	size_t take = n < room ? n : room;
	memcpy(r->text + r->len, l, take);
	r->len += take;
	r->text[r->len] = '\0';
	r->lines++;
	r->line_len = 0;
	r->line_cut = 0;
	return n == 3 || l[3] == ' ';
}

int queue_reply_parse(struct queue_reply *r, const char *data, size_t len,
		      size_t *used_r)
{
	for (size_t i = 0; i < len; i++) {
		char c = data[i];

		if (c == '\n') {
			int ret = reply_line_done(r);

			if (ret < 0)
				return ret;
			if (ret == 1) {
				*used_r = i + 1;
				return 1;
			}
			continue;
		}
		/* Checked while the line is still incomplete: a peer never
		 * makes us buffer more than the limit. */
		if (r->line_len < sizeof r->line)
			r->line[r->line_len++] = c;
		else
			r->line_cut = 1;
	}
	*used_r = len;
	return 0;
}

int queue_reply_has(const struct queue_reply *r, const char *keyword)
{
	size_t klen = strlen(keyword);
	const char *line = r->text;

	/* The first line is the greeting part ("250-mx.example Hello"). */
	line = strchr(line, '\n');
	while (line != NULL) {
		line++;
		if (strlen(line) >= 4 + klen &&
		    strncasecmp(line + 4, keyword, klen) == 0 &&
		    (line[4 + klen] == '\0' || line[4 + klen] == '\n' ||
		     line[4 + klen] == ' ' || line[4 + klen] == '='))
			return 1;
		line = strchr(line, '\n');
	}
	return 0;
}

void queue_reply_flat(const struct queue_reply *r, char *buf, size_t size)
{
	size_t o = 0;

	if (size == 0)
		return;
	for (size_t i = 0; i < r->len && o + 1 < size; i++) {
		if (r->text[i] == '\n') {
			if (o + 2 >= size)
				break;
			buf[o++] = ';';
			buf[o++] = ' ';
		} else {
			buf[o++] = r->text[i];
		}
	}
	buf[o] = '\0';
}

int queue_dot_stuff(const char *in, size_t len, char **out_r, size_t *len_r)
{
	/* Worst case: every byte a LF becoming ".\r\n"-ish; 3x plus the
	 * terminator bounds it. */
	char *out = malloc(len * 3 + 6);
	size_t o = 0;
	int bol = 1;

	if (out == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		if (bol && c == '.')
			out[o++] = '.';
		bol = 0;
		if (c == '\n') {
			if (o == 0 || out[o - 1] != '\r')
				out[o++] = '\r';
			out[o++] = '\n';
			bol = 1;
			continue;
		}
		out[o++] = c;
	}
	if (!bol) {
		/* A trailing CR alone is half a line end: complete it. */
		if (out[o - 1] != '\r')
			out[o++] = '\r';
		out[o++] = '\n';
	}
	memcpy(out + o, ".\r\n", 3);
	o += 3;
	*out_r = out;
	*len_r = o;
	return 0;
}

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

/* RFC 822 date in UTC. */
static void dsn_date(int64_t t_s, char *buf, size_t size)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed",
					    "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr",
					      "May", "Jun", "Jul", "Aug",
					      "Sep", "Oct", "Nov", "Dec" };
	time_t t = (time_t)t_s;
	struct tm tm;

	/* Not strftime: %a/%b would follow the locale. */
	gmtime_r(&t, &tm);
	snprintf(buf, size, "%s, %02d %s %04d %02d:%02d:%02d +0000",
		 days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
		 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Header lines may not carry a remote's CR or LF into ours. */
static void add_clean(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		char c = (*s == '\r' || *s == '\n') ? ' ' : *s;
		buf_add(b, &c, 1);
	}
}

/* The original's header block with CRLF line ends (up to the first empty
 * line, or all of it when there is none). */
static void add_headers(struct buf *b, const char *m, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t end = i;
		while (end < len && m[end] != '\n')
			end++;
		size_t n = end - i;
		if (n > 0 && m[i + n - 1] == '\r')
			n--;
		if (n == 0)
			break;
		buf_add(b, m + i, n);
		buf_add(b, "\r\n", 2);
		i = end + 1;
	}
}

int queue_dsn_build(const struct queue_dsn *d, char **out_r, size_t *len_r)
{
	struct buf b = { 0 };
	char date[64], boundary[80], status[16];

	if (d->rcpt_count == 0)
		return -EINVAL;
	dsn_date(d->now_s, date, sizeof date);
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
	dsn_date(d->arrival_s, date, sizeof date);
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
