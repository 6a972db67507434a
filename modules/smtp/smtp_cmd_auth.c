/* AUTH (RFC 4954), only inside TLS. The host's SASL service runs the
 * mechanisms (PLAIN, LOGIN) and checks the password off the loop; this
 * file frames its challenges and results as SMTP replies. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtp.h"
#include "smtp_reply.h"

int smtp_check_auth(struct smtp_session *s, const char *arg, size_t len)
{
	(void)arg;
	if (!s->helo_seen || !s->esmtp) {
		smtp_reply_error(s, R_NEED_EHLO);
		return -1;
	}
	if (s->account != NULL) {
		smtp_reply_error(s, R_AUTH_ALREADY);
		return -1;
	}
	if (s->in_mail) {
		smtp_reply_error(s, R_AUTH_IN_MAIL);
		return -1;
	}
	if (!smtp_tls_active(s)) {
		smtp_reply_error(s, R_AUTH_NEED_TLS);
		return -1;
	}
	if (len == 0) {
		smtp_reply_error(s, R_SYNTAX_AUTH);
		return -1;
	}
	return 0;
}

static void auth_done(void *data, enum postino_auth_result result,
		      const char *account)
{
	struct smtp_session *s = data;

	s->phase = SMTP_PHASE_COMMAND;
	switch (result) {
	case POSTINO_AUTH_OK:
		s->account = strdup(account != NULL ? account : "");
		if (s->account == NULL || account == NULL) {
			free(s->account);
			s->account = NULL;
			smtp_reply_error(s, R_AUTH_TEMPFAIL);
			break;
		}
		smtp_reply(s, R_AUTH_OK);
		break;
	case POSTINO_AUTH_TEMPFAIL:
		smtp_reply_error(s, R_AUTH_TEMPFAIL);
		break;
	case POSTINO_AUTH_CANCELLED:
		smtp_reply_error(s, R_AUTH_CANCELLED);
		break;
	case POSTINO_AUTH_MALFORMED:
		smtp_reply_error(s, R_AUTH_DECODE);
		break;
	case POSTINO_AUTH_FAILED:
	case POSTINO_AUTH_DISABLED:
	default:
		smtp_reply_error(s, R_AUTH_FAILED);
		break;
	}
	smtp_resume(s);
}

static void sasl_challenge(postino_conn *conn, const char *base64,
			   void *data)
{
	struct smtp_session *s = data;

	(void)conn;
	smtp_reply(s, "334 %s", base64);
	/* The response line is the one input the exchange wants. */
	s->phase = SMTP_PHASE_AUTH_RESPONSE;
	smtp_resume(s);
}

static void sasl_done(postino_conn *conn, enum postino_auth_result result,
		      const char *account, void *data)
{
	(void)conn;
	auth_done(data, result, account);
}

static const struct postino_sasl_ops smtp_sasl = {
	.size = sizeof(struct postino_sasl_ops),
	.challenge = sasl_challenge,
	.done = sasl_done,
};

void smtp_run_auth(struct smtp_session *s, const char *arg, size_t len)
{
	const struct postino_host *host = s->srv->host;
	const char *sp = memchr(arg, ' ', len);
	size_t mech_len = sp != NULL ? (size_t)(sp - arg) : len;
	const char *ir = sp != NULL ? sp + 1 : NULL; /* initial response */
	size_t ir_len = sp != NULL ? len - mech_len - 1 : 0;
	char mech[32], *initial = NULL;

	if (ir != NULL && (ir_len == 0 || memchr(ir, ' ', ir_len) != NULL)) {
		smtp_reply_error(s, R_SYNTAX_AUTH);
		return;
	}
	snprintf(mech, sizeof(mech), "%.*s",
		 (int)(mech_len < sizeof(mech) ? mech_len : 0), arg);
	if (ir != NULL) {
		initial = strndup(ir, ir_len);
		if (initial == NULL) {
			smtp_reply_error(s, R_AUTH_TEMPFAIL);
			return;
		}
	}
	s->phase = SMTP_PHASE_AUTH_WAIT;
	host->proto->conn_pause(s->conn);
	int ret = host->proto->sasl_start(s->conn, mech, initial, &smtp_sasl,
					  s);
	if (initial != NULL) {
		explicit_bzero(initial, strlen(initial));
		free(initial);
	}
	if (ret < 0) {
		s->phase = SMTP_PHASE_COMMAND;
		smtp_reply_error(s, ret == -ENOTSUP ? R_AUTH_MECH
						    : R_AUTH_TEMPFAIL);
		smtp_resume(s);
	}
}

void smtp_auth_response(struct smtp_session *s, const char *line, size_t len)
{
	const struct postino_host *host = s->srv->host;

	s->phase = SMTP_PHASE_AUTH_WAIT;
	host->proto->conn_pause(s->conn);
	if (host->proto->sasl_input(s->conn, line, len) < 0) {
		s->phase = SMTP_PHASE_COMMAND;
		smtp_reply_error(s, R_AUTH_CANCELLED);
		smtp_resume(s);
	}
}
