/* AUTH PLAIN and AUTH LOGIN (RFC 4954), only inside TLS. The password is
 * handed to the host's auth_verify, which checks it off the loop; it is
 * never logged and every buffer that held it is wiped. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtp.h"
#include "smtp_reply.h"

void smtp_auth_wipe(struct smtp_session *s)
{
	explicit_bzero(s->login_user, sizeof(s->login_user));
}

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

	switch (result) {
	case POSTINO_AUTH_OK:
		s->account = strdup(account != NULL ? account : "");
		if (s->account == NULL || account == NULL) {
			free(s->account);
			s->account = NULL;
			smtp_reply_error(s, R_AUTH_TEMPFAIL);
			break;
		}
		s->srv->host->conn_set_account(s->conn, s->account);
		smtp_reply(s, R_AUTH_OK);
		break;
	case POSTINO_AUTH_TEMPFAIL:
		smtp_reply_error(s, R_AUTH_TEMPFAIL);
		break;
	case POSTINO_AUTH_FAILED:
	case POSTINO_AUTH_DISABLED:
	default:
		smtp_reply_error(s, R_AUTH_FAILED);
		break;
	}
	smtp_resume(s);
}

/* Hands user and password to the host; both are wiped by the caller. */
static void auth_verify(struct smtp_session *s, const char *user,
			const char *password)
{
	const struct postino_host *host = s->srv->host;

	s->phase = SMTP_PHASE_COMMAND;
	host->conn_pause(s->conn);
	int ret = host->auth_verify(s->conn, "smtp", user, password, auth_done,
				    s);
	if (ret < 0) {
		host->log(s->srv->mod, POSTINO_LOG_ERROR, s->session_id,
			  "auth_verify failed: %s", strerror(-ret));
		smtp_reply_error(s, R_AUTH_TEMPFAIL);
		smtp_resume(s);
	}
}

static void auth_plain(struct smtp_session *s, const char *b64, size_t len)
{
	struct postino_sasl_creds creds;

	switch (postino_sasl_plain_decode(b64, len, &creds)) {
	case POSTINO_SASL_PLAIN_OK:
		auth_verify(s, creds.user, creds.password);
		break;
	case POSTINO_SASL_PLAIN_AUTHZID:
	case POSTINO_SASL_PLAIN_EMPTY: /* "AUTH PLAIN =", a lone "=" or "" */
		s->phase = SMTP_PHASE_COMMAND;
		smtp_reply_error(s, R_AUTH_FAILED);
		break;
	case POSTINO_SASL_PLAIN_BASE64:
	case POSTINO_SASL_PLAIN_FORMAT:
	default:
		s->phase = SMTP_PHASE_COMMAND;
		smtp_reply_error(s, R_AUTH_DECODE);
		break;
	}
	explicit_bzero(&creds, sizeof(creds));
}

/* LOGIN's user name: then ask for the password. */
static void auth_login_user(struct smtp_session *s, const char *b64,
			    size_t len)
{
	if (smtp_auth_login_decode(b64, len, s->login_user) < 0) {
		s->phase = SMTP_PHASE_COMMAND;
		smtp_reply_error(s, R_AUTH_DECODE);
		return;
	}
	s->phase = SMTP_PHASE_AUTH_LOGIN_PASS;
	smtp_reply(s, R_AUTH_LOGIN_PASS);
}

static void auth_login_pass(struct smtp_session *s, const char *b64,
			    size_t len)
{
	char password[POSTINO_SASL_FIELD_MAX + 1];

	if (smtp_auth_login_decode(b64, len, password) < 0) {
		s->phase = SMTP_PHASE_COMMAND;
		smtp_auth_wipe(s);
		smtp_reply_error(s, R_AUTH_DECODE);
		return;
	}
	auth_verify(s, s->login_user, password);
	explicit_bzero(password, sizeof(password));
	smtp_auth_wipe(s);
}

void smtp_run_auth(struct smtp_session *s, const char *arg, size_t len)
{
	const char *sp = memchr(arg, ' ', len);
	size_t mech_len = sp != NULL ? (size_t)(sp - arg) : len;
	const char *ir = sp != NULL ? sp + 1 : NULL; /* initial response */
	size_t ir_len = sp != NULL ? len - mech_len - 1 : 0;
	int plain = mech_len == 5 && strncasecmp(arg, "PLAIN", 5) == 0;
	int login = mech_len == 5 && strncasecmp(arg, "LOGIN", 5) == 0;

	if (!plain && !login) {
		smtp_reply_error(s, R_AUTH_MECH);
		return;
	}
	if (ir != NULL && (ir_len == 0 || memchr(ir, ' ', ir_len) != NULL)) {
		smtp_reply_error(s, R_SYNTAX_AUTH);
		return;
	}
	/* "=" is an empty initial response (RFC 4954 4). */
	if (ir != NULL && ir_len == 1 && ir[0] == '=')
		ir_len = 0;
	if (plain) {
		if (ir == NULL) {
			s->phase = SMTP_PHASE_AUTH_PLAIN;
			smtp_reply(s, R_AUTH_PLAIN_GO);
			return;
		}
		auth_plain(s, ir, ir_len);
		return;
	}
	if (ir == NULL) {
		s->phase = SMTP_PHASE_AUTH_LOGIN_USER;
		smtp_reply(s, R_AUTH_LOGIN_USER);
		return;
	}
	auth_login_user(s, ir, ir_len);
}

void smtp_auth_response(struct smtp_session *s, const char *line, size_t len)
{
	if (len == 1 && line[0] == '*') {
		s->phase = SMTP_PHASE_COMMAND;
		smtp_auth_wipe(s);
		smtp_reply_error(s, R_AUTH_CANCELLED);
		return;
	}
	switch (s->phase) {
	case SMTP_PHASE_AUTH_PLAIN:
		auth_plain(s, line, len);
		break;
	case SMTP_PHASE_AUTH_LOGIN_USER:
		auth_login_user(s, line, len);
		break;
	case SMTP_PHASE_AUTH_LOGIN_PASS:
		auth_login_pass(s, line, len);
		break;
	default:
		break;
	}
}
