/* The commands around a login: CAPABILITY, STARTTLS, AUTHENTICATE (the
 * host's SASL service, framed as RFC 5804 2.1 frames it: challenges and
 * responses are strings), UNAUTHENTICATE, LOGOUT, NOOP. Authentication
 * works only inside TLS, with the host's hooks and login throttling. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ms.h"

void ms_cmd_capability(struct ms_session *s)
{
	ms_capability(s);
	ms_reply(s, "OK", NULL, "Capability completed");
}

void ms_cmd_starttls(struct ms_session *s)
{
	if (ms_tls_active(s)) {
		ms_reply_error(s, NULL, "TLS is already active");
		return;
	}
	ms_reply(s, "OK", NULL, "Begin TLS negotiation now");
	int ret = s->srv->host->proto->conn_starttls(s->conn);
	if (ret < 0) {
		s->srv->host->core->log(s->srv->mod, POSTINO_LOG_ERROR,
					s->session_id, "STARTTLS failed: %s",
					strerror(-ret));
		ms_reply(s, "BYE", NULL, "TLS is not available");
		ms_close(s, "STARTTLS failed");
	}
}

/* Input stops while the host works; the SASL callbacks run only while the
 * connection lives, so the session is never freed under them. */
static void sasl_pause(struct ms_session *s)
{
	s->phase = MS_PHASE_WAIT;
	s->srv->host->proto->conn_pause(s->conn);
}

static void sasl_continue(struct ms_session *s)
{
	if (s->phase == MS_PHASE_CLOSED)
		return;
	s->phase = MS_PHASE_COMMAND;
	s->srv->host->proto->conn_resume(s->conn);
}

static void sasl_challenge(postino_conn *conn, const char *base64, void *data)
{
	struct ms_session *s = data;

	(void)conn;
	ms_write_string(s, base64, strlen(base64));
	ms_write(s, "\r\n", 2);
	s->in_sasl = true;
	ms_parse_reset(&s->parser);
	sasl_continue(s);
}

static void sasl_done(postino_conn *conn, enum postino_auth_result result,
		      const char *account, void *data)
{
	struct ms_session *s = data;

	(void)conn;
	s->in_sasl = false;
	ms_parse_reset(&s->parser);
	switch (result) {
	case POSTINO_AUTH_OK:
		free(s->account);
		s->account = account != NULL ? strdup(account) : NULL;
		if (s->account == NULL)
			ms_reply(s, "NO", "TRYLATER", "Try again later");
		else
			ms_reply(s, "OK", NULL, "Logged in");
		break;
	case POSTINO_AUTH_TEMPFAIL:
		ms_reply(s, "NO", "TRYLATER", "Try again later");
		break;
	case POSTINO_AUTH_CANCELLED:
		ms_reply_error(s, NULL, "Authentication cancelled");
		break;
	case POSTINO_AUTH_MALFORMED:
		ms_reply_error(s, NULL, "Malformed SASL response");
		break;
	case POSTINO_AUTH_FAILED:
	case POSTINO_AUTH_DISABLED:
	default:
		ms_reply_error(s, NULL, "Authentication failed");
		break;
	}
	sasl_continue(s);
}

static const struct postino_sasl_ops ms_sasl = {
	.size = sizeof(struct postino_sasl_ops),
	.challenge = sasl_challenge,
	.done = sasl_done,
};

void ms_cmd_authenticate(struct ms_session *s)
{
	const struct postino_host *host = s->srv->host;
	const struct ms_parser *p = &s->parser;
	char *initial = NULL;

	if (!ms_tls_active(s)) {
		ms_reply_error(s, "ENCRYPT-NEEDED",
			       "Authentication only inside TLS (STARTTLS)");
		return;
	}
	if (p->n_args == 3) {
		/* An empty initial response is "=" to the host (RFC 4422). */
		initial = strdup(p->args[2].len > 0 ? ms_arg_str(p, 2) : "=");
		if (initial == NULL) {
			ms_reply(s, "NO", "TRYLATER", "Try again later");
			return;
		}
	}
	sasl_pause(s);
	int ret = host->proto->sasl_start(s->conn, ms_arg_str(p, 1), initial,
					  &ms_sasl, s);
	if (initial != NULL) {
		explicit_bzero(initial, strlen(initial));
		free(initial);
		explicit_bzero(s->parser.buf, s->parser.cap);
	}
	if (ret < 0) {
		ms_reply_error(s, NULL, ret == -ENOTSUP
				       ? "Unsupported SASL mechanism"
				       : "Authentication failed");
		sasl_continue(s);
	}
}

void ms_sasl_response(struct ms_session *s, bool parsed)
{
	const struct ms_parser *p = &s->parser;
	const char *line = "*";
	size_t len = 1;

	/* Anything but one string (or bare word) cancels, as "*" does. */
	if (parsed && p->n_args == 1 && p->args[0].type != MS_NUMBER) {
		line = ms_arg_str(p, 0);
		len = p->args[0].len;
	}
	s->in_sasl = false;
	sasl_pause(s);
	if (s->srv->host->proto->sasl_input(s->conn, line, len) < 0) {
		ms_reply_error(s, NULL, "Authentication cancelled");
		sasl_continue(s);
	}
	/* The copy of the response (a password) goes at once. */
	if (s->parser.buf != NULL)
		explicit_bzero(s->parser.buf, s->parser.cap);
}

void ms_cmd_unauthenticate(struct ms_session *s)
{
	free(s->account);
	s->account = NULL;
	s->srv->host->proto->conn_set_account(s->conn, NULL);
	ms_reply(s, "OK", NULL, "Unauthenticated");
}

void ms_cmd_logout(struct ms_session *s)
{
	ms_reply(s, "OK", NULL, "Logout completed");
	ms_close(s, "logout");
}

void ms_cmd_noop(struct ms_session *s)
{
	const struct ms_parser *p = &s->parser;

	if (p->n_args == 2) {
		/* RFC 5804 2.11: the tag comes back in a TAG response code. */
		char code[2 * MS_QUOTED_MAX + 16];
		size_t n = (size_t)snprintf(code, sizeof(code), "TAG \"");
		for (size_t i = 0; i < p->args[1].len && i < MS_QUOTED_MAX &&
				   n + 4 < sizeof(code); i++) {
			char c = ms_arg_str(p, 1)[i];
			if (c == '\r' || c == '\n' || c == '\0')
				continue;
			if (c == '"' || c == '\\')
				code[n++] = '\\';
			code[n++] = c;
		}
		snprintf(code + n, sizeof(code) - n, "\"");
		ms_reply(s, "OK", code, "Done");
		return;
	}
	ms_reply(s, "OK", NULL, "Done");
}
