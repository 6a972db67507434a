/* USER/PASS (RFC 1939 7) and AUTH (RFC 5034), only inside TLS. The host
 * checks passwords (auth_verify, which runs the auth hooks) and runs the
 * SASL mechanisms; this file frames them in POP3. A password is never
 * logged and every buffer that held it is wiped. On success the INBOX is
 * opened exclusively: the maildrop lock. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pop3.h"
#include "pop3_reply.h"

/* Opens the maildrop and enters TRANSACTION; replies either way. */
static void maildrop_open(struct pop3_session *s, const char *account)
{
	const struct postino_host *host = s->srv->host;
	uint64_t octets = 0;
	int ret;

	s->account = strdup(account);
	if (s->account == NULL) {
		pop3_reply_error(s, R_AUTH_TEMPFAIL);
		return;
	}
	ret = host->mailbox->mailbox_open(s->srv->mod, account, "INBOX",
					  POSTINO_MAILBOX_EXCLUSIVE,
					  &s->mailbox);
	if (ret == -EBUSY) {
		pop3_maildrop_close(s);
		pop3_reply_error(s, R_IN_USE);
		return;
	}
	if (ret < 0) {
		host->core->log(s->srv->mod, POSTINO_LOG_ERROR, s->session_id,
			  "cannot open INBOX of %s: %s", account,
			  strerror(-ret));
		pop3_maildrop_close(s);
		pop3_reply_error(s, R_AUTH_TEMPFAIL);
		return;
	}
	s->uidvalidity = host->mailbox->mailbox_uidvalidity(s->mailbox);
	s->count = host->mailbox->mailbox_count(s->mailbox);
	s->msgs = calloc(s->count > 0 ? s->count : 1, sizeof(*s->msgs));
	s->deleted = calloc(s->count > 0 ? s->count : 1, 1);
	if (s->msgs == NULL || s->deleted == NULL)
		goto fail;
	for (uint32_t i = 0; i < s->count; i++) {
		s->msgs[i].size = sizeof(s->msgs[i]);
		ret = host->mailbox->mailbox_message(s->mailbox, i, &s->msgs[i]);
		if (ret < 0)
			goto fail;
		octets += s->msgs[i].octets;
	}
	s->state = POP3_TRANSACTION;
	pop3_reply(s, R_MAILDROP, s->count, octets);
	return;
fail:
	host->core->log(s->srv->mod, POSTINO_LOG_ERROR, s->session_id,
		  "cannot list INBOX of %s", account);
	pop3_maildrop_close(s);
	pop3_reply_error(s, R_AUTH_TEMPFAIL);
}

static void auth_done(void *data, enum postino_auth_result result,
		      const char *account)
{
	struct pop3_session *s = data;

	s->phase = POP3_PHASE_COMMAND;
	switch (result) {
	case POSTINO_AUTH_OK:
		if (account == NULL) {
			pop3_reply_error(s, R_AUTH_TEMPFAIL);
			break;
		}
		maildrop_open(s, account);
		break;
	case POSTINO_AUTH_TEMPFAIL:
		pop3_reply_error(s, R_AUTH_TEMPFAIL);
		break;
	case POSTINO_AUTH_CANCELLED:
		pop3_reply_error(s, R_AUTH_CANCELLED);
		break;
	case POSTINO_AUTH_MALFORMED:
		pop3_reply_error(s, R_AUTH_DECODE);
		break;
	case POSTINO_AUTH_FAILED:
	case POSTINO_AUTH_DISABLED:
	default:
		pop3_reply_error(s, R_AUTH_FAILED);
		break;
	}
	pop3_resume(s);
}

/* Hands user and password to the host; both are wiped by the caller. */
static void auth_verify(struct pop3_session *s, const char *user,
			const char *password)
{
	const struct postino_host *host = s->srv->host;

	s->phase = POP3_PHASE_WAIT;
	host->proto->conn_pause(s->conn);
	int ret = host->proto->auth_verify(s->conn, user, password, auth_done,
					   s);
	if (ret < 0) {
		host->core->log(s->srv->mod, POSTINO_LOG_ERROR, s->session_id,
			  "auth_verify failed: %s", strerror(-ret));
		s->phase = POP3_PHASE_COMMAND;
		pop3_reply_error(s, R_AUTH_TEMPFAIL);
		pop3_resume(s);
	}
}

void pop3_run_user(struct pop3_session *s, const char *arg, size_t len)
{
	if (!pop3_tls_active(s)) {
		pop3_reply_error(s, R_NEED_TLS);
		return;
	}
	if (len == 0 || len > POP3_CREDENTIAL_MAX) {
		pop3_reply_error(s, R_SYNTAX);
		return;
	}
	if (s->user != NULL) {
		explicit_bzero(s->user, strlen(s->user));
		free(s->user);
	}
	s->user = strndup(arg, len);
	if (s->user == NULL) {
		pop3_reply_error(s, R_AUTH_TEMPFAIL);
		return;
	}
	/* Never tells whether the name exists. */
	pop3_reply(s, R_OK);
}

void pop3_run_pass(struct pop3_session *s, const char *arg, size_t len)
{
	char *user;

	if (!pop3_tls_active(s)) {
		pop3_reply_error(s, R_NEED_TLS);
		return;
	}
	if (s->user == NULL) {
		pop3_reply_error(s, R_USER_FIRST);
		return;
	}
	user = s->user;
	s->user = NULL;
	if (len == 0 || len > POP3_MAX_LINE) {
		pop3_reply_error(s, R_AUTH_FAILED);
	} else {
		/* The password is the rest of the line: it may hold spaces
		 * (RFC 1939 7); the line buffer is the host's. */
		char password[POP3_MAX_LINE + 1];

		memcpy(password, arg, len);
		password[len] = '\0';
		auth_verify(s, user, password);
		explicit_bzero(password, sizeof(password));
	}
	explicit_bzero(user, strlen(user));
	free(user);
}

static void sasl_challenge(postino_conn *conn, const char *base64,
			   void *data)
{
	struct pop3_session *s = data;

	(void)conn;
	pop3_reply(s, "+ %s", base64);
	/* The response line is the one input the exchange wants. */
	s->phase = POP3_PHASE_AUTH_RESPONSE;
	pop3_resume(s);
}

static void sasl_done(postino_conn *conn, enum postino_auth_result result,
		      const char *account, void *data)
{
	(void)conn;
	auth_done(data, result, account);
}

static const struct postino_sasl_ops pop3_sasl = {
	.size = sizeof(struct postino_sasl_ops),
	.challenge = sasl_challenge,
	.done = sasl_done,
};

/* AUTH with no argument lists the mechanisms (RFC 5034 4). */
static void auth_list(struct pop3_session *s)
{
	const char *mechs = s->srv->host->proto->sasl_mechanisms(s->conn);

	pop3_reply(s, R_AUTH_MECHS);
	while (*mechs != '\0') {
		size_t n = strcspn(mechs, " ");
		pop3_reply(s, "%.*s", (int)n, mechs);
		mechs += n;
		mechs += strspn(mechs, " ");
	}
	pop3_reply(s, R_END);
}

void pop3_run_auth(struct pop3_session *s, const char *arg, size_t len)
{
	const struct postino_host *host = s->srv->host;
	const char *w[2];
	size_t wl[2];
	char mech[32], *initial = NULL;
	int n;

	if (!pop3_tls_active(s)) {
		pop3_reply_error(s, R_NEED_TLS);
		return;
	}
	n = pop3_parse_words(arg, len, w, wl, 2);
	if (n < 0) {
		pop3_reply_error(s, R_SYNTAX);
		return;
	}
	if (n == 0) {
		auth_list(s);
		return;
	}
	snprintf(mech, sizeof(mech), "%.*s",
		 (int)(wl[0] < sizeof(mech) ? wl[0] : 0), w[0]);
	if (n == 2) {
		initial = strndup(w[1], wl[1]);
		if (initial == NULL) {
			pop3_reply_error(s, R_AUTH_TEMPFAIL);
			return;
		}
	}
	s->phase = POP3_PHASE_WAIT;
	host->proto->conn_pause(s->conn);
	int ret = host->proto->sasl_start(s->conn, mech, initial, &pop3_sasl,
					  s);
	if (initial != NULL) {
		explicit_bzero(initial, strlen(initial));
		free(initial);
	}
	if (ret < 0) {
		s->phase = POP3_PHASE_COMMAND;
		pop3_reply_error(s, ret == -ENOTSUP ? R_AUTH_MECH
						    : R_AUTH_TEMPFAIL);
		pop3_resume(s);
	}
}

void pop3_auth_response(struct pop3_session *s, const char *line, size_t len)
{
	s->phase = POP3_PHASE_WAIT;
	s->srv->host->proto->conn_pause(s->conn);
	if (s->srv->host->proto->sasl_input(s->conn, line, len) < 0) {
		s->phase = POP3_PHASE_COMMAND;
		pop3_reply_error(s, R_AUTH_CANCELLED);
		pop3_resume(s);
	}
}
