/* Sending replies: one line each (CRLF added), the EHLO block, hook
 * verdicts, and the error budget. Texts live in smtp_reply.h. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "smtp.h"
#include "smtp_reply.h"

#define SMTP_REPLY_MAX 2048

static void send_line(struct smtp_session *s, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void send_line(struct smtp_session *s, const char *fmt, va_list ap)
{
	char buf[SMTP_REPLY_MAX];
	int n;

	if (s->conn == NULL || s->phase == SMTP_PHASE_CLOSED)
		return;
	n = vsnprintf(buf, sizeof(buf) - 2, fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 3)
		n = (int)(sizeof(buf) - 3); /* truncated */
	buf[n++] = '\r';
	buf[n++] = '\n';
	if (s->srv->host->proto->conn_write(s->conn, buf, (size_t)n) < 0)
		s->phase = SMTP_PHASE_CLOSED;
}

void smtp_reply(struct smtp_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	send_line(s, fmt, ap);
	va_end(ap);
}

void smtp_reply_error(struct smtp_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	send_line(s, fmt, ap);
	va_end(ap);
	if (++s->errors >= SMTP_MAX_ERRORS && s->phase != SMTP_PHASE_CLOSED) {
		smtp_reply(s, R_TOO_MANY_ERRORS);
		smtp_close(s, "too many errors");
	}
}

void smtp_reply_verdict(struct smtp_session *s, enum postino_verdict verdict,
			int code, const char *text)
{
	char safe[SMTP_REPLY_MAX];
	size_t n = 0;

	if (verdict == POSTINO_DEFER && (code < 400 || code > 499))
		code = 0;
	if (verdict == POSTINO_REJECT && (code < 500 || code > 599))
		code = 0;
	if (code == 0 || text == NULL || *text == '\0') {
		smtp_reply_error(s, "%s", verdict == POSTINO_DEFER
						  ? R_HOOK_DEFER
						  : R_HOOK_REJECT);
		return;
	}
	/* One line: a CR or LF would let a policy text inject replies. */
	for (; text[n] != '\0' && n + 1 < sizeof(safe); n++)
		safe[n] = text[n] == '\r' || text[n] == '\n' ? ' ' : text[n];
	safe[n] = '\0';
	smtp_reply_error(s, "%d %s", code, safe);
}

void smtp_reply_ehlo(struct smtp_session *s)
{
	const char *lines[8];
	char size[48];
	size_t n = 0;

	snprintf(size, sizeof(size), "SIZE %" PRIu64,
		 s->srv->max_message_size);
	lines[n++] = "PIPELINING";
	lines[n++] = size;
	lines[n++] = "8BITMIME";
	lines[n++] = "SMTPUTF8";
	lines[n++] = "ENHANCEDSTATUSCODES";
	char auth[64];
	if (!smtp_tls_active(s)) {
		lines[n++] = "STARTTLS";
	} else {
		snprintf(auth, sizeof(auth), "AUTH %s",
			 s->srv->host->proto->sasl_mechanisms(s->conn));
		lines[n++] = auth;
	}
	smtp_reply(s, "250-%s", s->srv->hostname);
	for (size_t i = 0; i < n; i++)
		smtp_reply(s, "250%c%s", i + 1 < n ? '-' : ' ', lines[i]);
}

void smtp_close(struct smtp_session *s, const char *reason)
{
	if (s->conn == NULL)
		return;
	s->phase = SMTP_PHASE_CLOSED;
	s->srv->host->proto->conn_close(s->conn, reason);
}
