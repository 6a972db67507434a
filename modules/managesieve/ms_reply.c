/* Responses: strings quoted or as literals, OK/NO/BYE with a response
 * code, the capability list, and the error budget. */
#include <stdio.h>
#include <string.h>

#include "ms.h"

void ms_write(struct ms_session *s, const char *data, size_t len)
{
	if (s->conn == NULL || s->phase == MS_PHASE_CLOSED)
		return;
	if (s->srv->host->proto->conn_write(s->conn, data, len) < 0)
		s->phase = MS_PHASE_CLOSED;
}

/* RFC 5804 4: a quoted string has no CR, LF or NUL and at most 1024
 * octets; '"' and '\' are escaped. Anything else is a literal. */
void ms_write_string(struct ms_session *s, const char *str, size_t len)
{
	char buf[2 * MS_QUOTED_MAX + 3];
	size_t n = 0;
	int quotable = len <= MS_QUOTED_MAX;

	for (size_t i = 0; quotable && i < len; i++)
		quotable = str[i] != '\r' && str[i] != '\n' && str[i] != '\0';
	if (!quotable) {
		char head[32];
		int h = snprintf(head, sizeof(head), "{%zu}\r\n", len);
		ms_write(s, head, (size_t)h);
		ms_write(s, str, len);
		return;
	}
	buf[n++] = '"';
	for (size_t i = 0; i < len; i++) {
		if (str[i] == '"' || str[i] == '\\')
			buf[n++] = '\\';
		buf[n++] = str[i];
	}
	buf[n++] = '"';
	ms_write(s, buf, n);
}

void ms_reply(struct ms_session *s, const char *status, const char *code,
	      const char *text)
{
	ms_write(s, status, strlen(status));
	if (code != NULL) {
		ms_write(s, " (", 2);
		ms_write(s, code, strlen(code));
		ms_write(s, ")", 1);
	}
	if (text != NULL) {
		ms_write(s, " ", 1);
		ms_write_string(s, text, strlen(text));
	}
	ms_write(s, "\r\n", 2);
}

void ms_reply_error(struct ms_session *s, const char *code, const char *text)
{
	ms_reply(s, "NO", code, text);
	if (++s->errors >= MS_MAX_ERRORS) {
		ms_reply(s, "BYE", NULL, "Too many errors");
		ms_close(s, "too many errors");
	}
}

static void cap(struct ms_session *s, const char *name, const char *value)
{
	ms_write_string(s, name, strlen(name));
	if (value != NULL) {
		ms_write(s, " ", 1);
		ms_write_string(s, value, strlen(value));
	}
	ms_write(s, "\r\n", 2);
}

/* RFC 5804 1.7. SASL lists nothing before TLS (no plaintext
 * authentication), STARTTLS only before it and only with a certificate;
 * OWNER once authenticated. */
void ms_capability(struct ms_session *s)
{
	const struct postino_host *host = s->srv->host;
	const struct sieve_service *sv = s->srv->sieve;
	char redirects[16];

	cap(s, "IMPLEMENTATION", "Postino");
	cap(s, "SASL", s->account == NULL
			       ? host->proto->sasl_mechanisms(s->conn) : "");
	cap(s, "SIEVE", sv->capabilities(sv->instance));
	if (!ms_tls_active(s))
		cap(s, "STARTTLS", NULL);
	snprintf(redirects, sizeof(redirects), "%u",
		 sv->max_redirects(sv->instance));
	cap(s, "MAXREDIRECTS", redirects);
	if (s->account != NULL)
		cap(s, "OWNER", s->account);
	cap(s, "VERSION", "1.0");
	cap(s, "UNAUTHENTICATE", NULL);
}

void ms_close(struct ms_session *s, const char *reason)
{
	if (s->conn == NULL || s->phase == MS_PHASE_CLOSED)
		return;
	s->phase = MS_PHASE_CLOSED;
	s->srv->host->proto->conn_close(s->conn, reason);
}
