/* USER/PASS (RFC 1939 7) and AUTH PLAIN (RFC 5034), only inside TLS. The
 * password goes to the host's auth_verify (which runs the auth hooks); it
 * is never logged and every buffer that held it is wiped. On success the
 * INBOX is opened exclusively: the maildrop lock. */
#include <errno.h>
#include <inttypes.h>
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
	ret = host->mailbox_open(s->srv->mod, account, "INBOX", 1,
				 &s->mailbox);
	if (ret == -EBUSY) {
		pop3_maildrop_close(s);
		pop3_reply_error(s, R_IN_USE);
		return;
	}
	if (ret < 0) {
		host->log(s->srv->mod, POSTINO_LOG_ERROR, s->session_id,
			  "cannot open INBOX of %s: %s", account,
			  strerror(-ret));
		pop3_maildrop_close(s);
		pop3_reply_error(s, R_AUTH_TEMPFAIL);
		return;
	}
	s->uidvalidity = host->mailbox_uidvalidity(s->mailbox);
	s->count = host->mailbox_count(s->mailbox);
	s->msgs = calloc(s->count > 0 ? s->count : 1, sizeof(*s->msgs));
	s->deleted = calloc(s->count > 0 ? s->count : 1, 1);
	if (s->msgs == NULL || s->deleted == NULL)
		goto fail;
	for (uint32_t i = 0; i < s->count; i++) {
		s->msgs[i].size = sizeof(s->msgs[i]);
		ret = host->mailbox_message(s->mailbox, i, &s->msgs[i]);
		if (ret < 0)
			goto fail;
		octets += s->msgs[i].octets;
	}
	s->state = POP3_TRANSACTION;
	host->conn_set_account(s->conn, s->account);
	pop3_reply(s, R_MAILDROP, s->count, octets);
	return;
fail:
	host->log(s->srv->mod, POSTINO_LOG_ERROR, s->session_id,
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
	host->conn_pause(s->conn);
	int ret = host->auth_verify(s->conn, "pop3", user, password, auth_done,
				    s);
	if (ret < 0) {
		host->log(s->srv->mod, POSTINO_LOG_ERROR, s->session_id,
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
	if (len == 0 || len > POSTINO_SASL_FIELD_MAX) {
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

static void auth_plain(struct pop3_session *s, const char *b64, size_t len)
{
	struct postino_sasl_creds creds;

	switch (postino_sasl_plain_decode(b64, len, &creds)) {
	case POSTINO_SASL_PLAIN_OK:
		auth_verify(s, creds.user, creds.password);
		break;
	case POSTINO_SASL_PLAIN_AUTHZID:
	case POSTINO_SASL_PLAIN_EMPTY:
		s->phase = POP3_PHASE_COMMAND;
		pop3_reply_error(s, R_AUTH_FAILED);
		break;
	case POSTINO_SASL_PLAIN_BASE64:
	case POSTINO_SASL_PLAIN_FORMAT:
	default:
		s->phase = POP3_PHASE_COMMAND;
		pop3_reply_error(s, R_AUTH_DECODE);
		break;
	}
	explicit_bzero(&creds, sizeof(creds));
}

void pop3_run_auth(struct pop3_session *s, const char *arg, size_t len)
{
	const char *w[2];
	size_t wl[2];
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
		pop3_reply(s, R_AUTH_MECHS);
		pop3_reply(s, "PLAIN");
		pop3_reply(s, R_END);
		return;
	}
	if (wl[0] != 5 || strncasecmp(w[0], "PLAIN", 5) != 0) {
		pop3_reply_error(s, R_AUTH_MECH);
		return;
	}
	if (n == 1) {
		s->phase = POP3_PHASE_AUTH_PLAIN;
		pop3_reply(s, R_AUTH_GO);
		return;
	}
	/* "=" is an empty initial response (RFC 5034 4). */
	auth_plain(s, w[1], wl[1] == 1 && w[1][0] == '=' ? 0 : wl[1]);
}

void pop3_auth_response(struct pop3_session *s, const char *line, size_t len)
{
	if (len == 1 && line[0] == '*') {
		s->phase = POP3_PHASE_COMMAND;
		pop3_reply_error(s, R_AUTH_CANCELLED);
		return;
	}
	auth_plain(s, line, len);
}
