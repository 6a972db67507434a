/* LOGIN and AUTHENTICATE (RFC 3501 6.2, RFC 4959 SASL-IR), only inside
 * TLS. The host checks the password (auth_verify, with the policy hooks:
 * throttling) and runs the SASL mechanisms; this file frames them in
 * IMAP. Passwords are never logged, and every buffer that held one is
 * wiped. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap.h"

/* Longest user name or password LOGIN accepts (as the host's SASL). */
#define IMAP_CREDENTIAL_MAX 1024

static void imap_wipe(void *p, size_t len)
{
	volatile unsigned char *v = p;

	while (len-- > 0)
		*v++ = 0;
}

static bool tls_active(struct imap_session *s)
{
	const struct postino_conn_info *info =
		s->srv->host->proto->conn_info(s->conn);
	return info != NULL && info->tls;
}

static void auth_done(void *data, enum postino_auth_result result,
		      const char *account)
{
	struct imap_session *s = data;
	struct imap_buf caps;

	switch (result) {
	case POSTINO_AUTH_OK:
		if (account == NULL || strlen(account) > IMAP_ACCOUNT_MAX) {
			imap_tagged(s, "NO", "[UNAVAILABLE] Try again later");
			return;
		}
		strcpy(s->account, account);
		s->state = IMAP_AUTH;
		imap_buf_init(&caps, 0);
		imap_capability_list(s, &caps);
		imap_tagged(s, "OK", "[CAPABILITY %s] Logged in", caps.data);
		imap_buf_free(&caps);
		return;
	case POSTINO_AUTH_DISABLED:
		imap_tagged(s, "NO", "[AUTHORIZATIONFAILED] Account disabled");
		return;
	case POSTINO_AUTH_TEMPFAIL:
		imap_tagged(s, "NO", "[UNAVAILABLE] Temporary failure, try "
				     "again later");
		return;
	case POSTINO_AUTH_CANCELLED:
		imap_tagged(s, "BAD", "Authentication cancelled");
		return;
	case POSTINO_AUTH_MALFORMED:
		imap_tagged(s, "BAD", "Invalid base64 in the response");
		return;
	case POSTINO_AUTH_FAILED:
	default:
		imap_tagged(s, "NO", "[AUTHENTICATIONFAILED] Authentication "
				     "failed");
		return;
	}
}

static void verify(struct imap_session *s, const char *user,
		   const char *password)
{
	/* Input waits meanwhile. auth_done does not run once the connection
	 * is gone, so the session needs no reference. */
	imap_busy(s);
	int ret = s->srv->host->proto->auth_verify(s->conn, user, password,
						   auth_done, s);
	if (ret < 0)
		imap_tagged(s, "NO", "[UNAVAILABLE] Temporary failure");
}

void imap_auth_capabilities(struct imap_session *s, struct imap_buf *out)
{
	const char *mechs = s->srv->host->proto->sasl_mechanisms(s->conn);

	while (*mechs != '\0') {
		size_t n = strcspn(mechs, " ");
		imap_buf_append_str(out, " AUTH=");
		imap_buf_append(out, mechs, n);
		mechs += n;
		mechs += strspn(mechs, " ");
	}
}

const char imap_no_tls[] =
	"[PRIVACYREQUIRED] Plaintext authentication is disabled, use "
	"STARTTLS or port 993";

bool imap_auth_needs_tls(struct imap_session *s, const char *cmd,
			 size_t len)
{
	return (imap_command_name_is(cmd, len, "LOGIN") ||
		imap_command_name_is(cmd, len, "AUTHENTICATE")) &&
	       !tls_active(s);
}

void imap_cmd_login(struct imap_session *s, const struct imap_command *cmd,
		    const struct imap_arg *args, size_t n_args, bool uid)
{
	char user[IMAP_CREDENTIAL_MAX + 1];
	char password[IMAP_CREDENTIAL_MAX + 1];
	const char *u, *p;
	size_t ulen, plen;

	(void)cmd;
	(void)uid;
	if (n_args != 2 || !imap_arg_astring(&args[0], &u, &ulen) ||
	    !imap_arg_astring(&args[1], &p, &plen)) {
		imap_tagged(s, "BAD", "LOGIN needs a user name and a password");
		return;
	}
	if (!tls_active(s)) {
		imap_tagged(s, "NO", "%s", imap_no_tls);
		return;
	}
	if (ulen == 0 || ulen > IMAP_CREDENTIAL_MAX || plen == 0 ||
	    plen > IMAP_CREDENTIAL_MAX || memchr(u, '\0', ulen) != NULL ||
	    memchr(p, '\0', plen) != NULL) {
		imap_tagged(s, "NO", "[AUTHENTICATIONFAILED] Authentication "
				     "failed");
		return;
	}
	memcpy(user, u, ulen);
	user[ulen] = '\0';
	memcpy(password, p, plen);
	password[plen] = '\0';
	verify(s, user, password);
	imap_wipe(password, sizeof(password));
	/* The command buffer held the password too. */
	imap_wipe(s->cmd.data, s->cmd.len);
}

static void sasl_challenge(postino_conn *conn, const char *base64,
			   void *data)
{
	struct imap_session *s = data;

	imap_printf(s, "+ %s\r\n", base64);
	/* The response line is the one input the exchange wants. */
	s->phase = IMAP_PHASE_AUTH;
	s->srv->host->proto->conn_resume(conn);
}

static void sasl_done(postino_conn *conn, enum postino_auth_result result,
		      const char *account, void *data)
{
	(void)conn;
	auth_done(data, result, account);
}

static const struct postino_sasl_ops imap_sasl = {
	.size = sizeof(struct postino_sasl_ops),
	.challenge = sasl_challenge,
	.done = sasl_done,
};

void imap_cmd_authenticate(struct imap_session *s,
			   const struct imap_command *cmd,
			   const struct imap_arg *args, size_t n_args,
			   bool uid)
{
	char mech[32], *initial = NULL;

	(void)cmd;
	(void)uid;
	if (n_args < 1 || n_args > 2 || args[0].type != IMAP_ARG_ATOM ||
	    (n_args == 2 && args[1].type != IMAP_ARG_ATOM)) {
		imap_tagged(s, "BAD", "AUTHENTICATE needs a mechanism");
		return;
	}
	if (!tls_active(s)) {
		imap_tagged(s, "NO", "%s", imap_no_tls);
		return;
	}
	snprintf(mech, sizeof(mech), "%.*s",
		 (int)(args[0].len < sizeof(mech) ? args[0].len : 0),
		 args[0].str);
	if (n_args == 2) { /* SASL-IR */
		initial = strndup(args[1].str, args[1].len);
		if (initial == NULL) {
			imap_tagged(s, "NO", "[UNAVAILABLE] Out of memory");
			return;
		}
	}
	/* Input waits until done: pipelined commands follow the result. */
	imap_busy(s);
	int ret = s->srv->host->proto->sasl_start(s->conn, mech, initial,
						  &imap_sasl, s);
	if (initial != NULL) {
		imap_wipe(initial, strlen(initial));
		free(initial);
		imap_wipe(s->cmd.data, s->cmd.len);
	}
	if (ret == -ENOTSUP)
		imap_tagged(s, "NO", "Unsupported authentication mechanism");
	else if (ret < 0)
		imap_tagged(s, "NO", "[UNAVAILABLE] Temporary failure");
}

/* The client's line after "+ ": base64, or "*" to cancel. */
void imap_auth_response(struct imap_session *s, const char *line, size_t len)
{
	/* Back to waiting for the host's verdict. */
	imap_busy(s);
	if (s->srv->host->proto->sasl_input(s->conn, line, len) < 0)
		imap_tagged(s, "BAD", "Unexpected authentication response");
}
