/* LOGIN and AUTHENTICATE PLAIN (RFC 3501 6.2, RFC 4959 SASL-IR), only
 * inside TLS. Passwords go to the host's auth_verify (which runs the
 * policy hooks: throttling), are never logged, and every buffer that held
 * one is wiped. */
#include <errno.h>
#include <string.h>

#include "imap.h"
#include "postino/sasl.h"

static bool tls_active(struct imap_session *s)
{
	const struct postino_conn_info *info =
		s->srv->host->conn_info(s->conn);
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
		s->srv->host->conn_set_account(s->conn, s->account);
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
	int ret = s->srv->host->auth_verify(s->conn, "imap", user, password,
					    auth_done, s);
	if (ret < 0)
		imap_tagged(s, "NO", "[UNAVAILABLE] Temporary failure");
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
	char user[POSTINO_SASL_FIELD_MAX + 1];
	char password[POSTINO_SASL_FIELD_MAX + 1];
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
	if (ulen == 0 || ulen > POSTINO_SASL_FIELD_MAX || plen == 0 ||
	    plen > POSTINO_SASL_FIELD_MAX || memchr(u, '\0', ulen) != NULL ||
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
	postino_sasl_wipe(password, sizeof(password));
	/* The command buffer held the password too. */
	postino_sasl_wipe(s->cmd.data, s->cmd.len);
}

static void plain_response(struct imap_session *s, const char *b64,
			   size_t len)
{
	struct postino_sasl_creds creds;

	switch (postino_sasl_plain_decode(b64, len, &creds)) {
	case POSTINO_SASL_PLAIN_OK:
		verify(s, creds.user, creds.password);
		break;
	case POSTINO_SASL_PLAIN_EMPTY:
	case POSTINO_SASL_PLAIN_BASE64:
		imap_tagged(s, "BAD", "Invalid base64 in the response");
		break;
	default:
		imap_tagged(s, "NO", "[AUTHENTICATIONFAILED] Authentication "
				     "failed");
		break;
	}
	postino_sasl_wipe(&creds, sizeof(creds));
}

void imap_cmd_authenticate(struct imap_session *s,
			   const struct imap_command *cmd,
			   const struct imap_arg *args, size_t n_args,
			   bool uid)
{
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
	if (!imap_arg_atom_is(&args[0], "PLAIN")) {
		imap_tagged(s, "NO", "Unsupported authentication mechanism");
		return;
	}
	if (n_args == 2) { /* SASL-IR */
		plain_response(s, args[1].str, args[1].len);
		postino_sasl_wipe(s->cmd.data, s->cmd.len);
		return;
	}
	imap_printf(s, "+ \r\n");
	s->phase = IMAP_PHASE_AUTH;
}

/* The client's line after "+ ": base64, or "*" to cancel. */
void imap_auth_response(struct imap_session *s, const char *line, size_t len)
{
	s->phase = IMAP_PHASE_COMMAND;
	if (len == 1 && line[0] == '*') {
		imap_tagged(s, "BAD", "Authentication cancelled");
		return;
	}
	plain_response(s, line, len);
}
