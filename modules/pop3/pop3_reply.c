/* Sending replies: one line each (CRLF added), and the error budget.
 * Texts live in pop3_reply.h. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "pop3.h"
#include "pop3_reply.h"

#define POP3_REPLY_MAX 1024

static void send_line(struct pop3_session *s, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void send_line(struct pop3_session *s, const char *fmt, va_list ap)
{
	char buf[POP3_REPLY_MAX];
	int n;

	if (s->conn == NULL || s->state == POP3_CLOSED)
		return;
	n = vsnprintf(buf, sizeof(buf) - 2, fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 3)
		n = (int)(sizeof(buf) - 3);
	buf[n++] = '\r';
	buf[n++] = '\n';
	if (s->srv->host->proto->conn_write(s->conn, buf, (size_t)n) < 0)
		s->state = POP3_CLOSED;
}

void pop3_reply(struct pop3_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	send_line(s, fmt, ap);
	va_end(ap);
}

void pop3_reply_error(struct pop3_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	send_line(s, fmt, ap);
	va_end(ap);
	if (++s->errors >= POP3_MAX_ERRORS && s->state != POP3_CLOSED) {
		pop3_reply(s, R_TOO_MANY_ERRORS);
		pop3_close(s, "too many errors");
	}
}

void pop3_close(struct pop3_session *s, const char *reason)
{
	if (s->conn == NULL || s->state == POP3_CLOSED)
		return;
	s->state = POP3_CLOSED;
	s->srv->host->proto->conn_close(s->conn, reason);
}
