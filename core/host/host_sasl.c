/* The SASL service (RFC 4422) every protocol module uses for AUTH and
 * AUTHENTICATE, as Dovecot's login-common does for all its protocols:
 * the host runs the mechanism (PLAIN, RFC 4616; LOGIN, the
 * draft-murchison-sasl-login mechanism Outlook and older clients still
 * send), decodes the responses, checks the credentials through
 * host_auth_verify (so the auth hooks and throttling see every attempt)
 * and wipes every copy of the password; the module only frames the
 * challenges and the result in its protocol. One exchange per connection,
 * kept as the connection's host data so it goes with the connection. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/sasl_codec.h"
#include "host/host_proto.h"
#include "net/conn_api.h"

/* base64 of "Username:" and "Password:", the LOGIN mechanism's prompts. */
#define LOGIN_USER_PROMPT "VXNlcm5hbWU6"
#define LOGIN_PASSWORD_PROMPT "UGFzc3dvcmQ6"

enum sasl_mech { SASL_MECH_PLAIN, SASL_MECH_LOGIN };

struct sasl_exchange {
	postino_conn *conn;
	struct postino_sasl_ops ops; /* the fields the module's size covers */
	void *data;
	enum sasl_mech mech;
	int awaiting;   /* a challenge is out: sasl_input is expected */
	int verifying;  /* auth_verify runs */
	char user[SASL_FIELD_MAX + 1]; /* LOGIN: the name, until the password */
};

static void sasl_exchange_free(void *data)
{
	struct sasl_exchange *x = data;

	sasl_wipe(x, sizeof(*x));
	free(x);
}

const char *host_sasl_mechanisms(postino_conn *conn)
{
	return conn_info(conn)->tls ? "PLAIN LOGIN" : "";
}

/* Ends the exchange and tells the module. The exchange is detached first:
 * done may start the next one. */
static void sasl_finish(struct sasl_exchange *x, enum postino_auth_result r,
			const char *account)
{
	postino_conn *conn = x->conn;
	struct postino_sasl_ops ops = x->ops;
	void *data = x->data;

	conn_set_host_data(conn, NULL, NULL); /* frees x */
	ops.done(conn, r, account, data);
}

static void sasl_verified(void *data, enum postino_auth_result result,
			  const char *account)
{
	/* Not called when the connection closed: the exchange went with it. */
	sasl_finish(data, result, account);
}

static void sasl_verify(struct sasl_exchange *x, const char *user,
			const char *password)
{
	x->verifying = 1;
	if (host_auth_verify(x->conn, user, password, sasl_verified, x) < 0)
		sasl_finish(x, POSTINO_AUTH_TEMPFAIL, NULL);
}

static void sasl_challenge(struct sasl_exchange *x, const char *base64)
{
	x->awaiting = 1;
	x->ops.challenge(x->conn, base64, x->data);
}

static void sasl_plain(struct sasl_exchange *x, const char *b64, size_t len)
{
	struct sasl_creds creds;

	switch (sasl_plain_decode(b64, len, &creds)) {
	case SASL_PLAIN_OK:
		sasl_verify(x, creds.user, creds.password);
		break;
	case SASL_PLAIN_EMPTY:   /* no credentials (RFC 4954 4) */
	case SASL_PLAIN_AUTHZID: /* someone else's identity: no proxying */
		sasl_finish(x, POSTINO_AUTH_FAILED, NULL);
		break;
	default: /* not base64, or not authzid NUL authcid NUL passwd */
		sasl_finish(x, POSTINO_AUTH_MALFORMED, NULL);
		break;
	}
	sasl_wipe(&creds, sizeof(creds));
}

static void sasl_login(struct sasl_exchange *x, const char *b64, size_t len)
{
	char password[SASL_FIELD_MAX + 1];

	if (x->user[0] == '\0') {
		if (sasl_login_field_decode(b64, len, x->user, sizeof(x->user)) < 0) {
			sasl_finish(x, POSTINO_AUTH_MALFORMED, NULL);
			return;
		}
		sasl_challenge(x, LOGIN_PASSWORD_PROMPT);
		return;
	}
	if (sasl_login_field_decode(b64, len, password, sizeof(password)) < 0) {
		sasl_finish(x, POSTINO_AUTH_MALFORMED, NULL);
		return;
	}
	sasl_verify(x, x->user, password);
	sasl_wipe(password, sizeof(password));
}

/* A response: base64, or "*" to cancel (RFC 4422 3.5). */
static void sasl_response(struct sasl_exchange *x, const char *line,
			  size_t len)
{
	x->awaiting = 0;
	if (len == 1 && line[0] == '*') {
		sasl_finish(x, POSTINO_AUTH_CANCELLED, NULL);
		return;
	}
	if (x->mech == SASL_MECH_PLAIN)
		sasl_plain(x, line, len);
	else
		sasl_login(x, line, len);
}

int host_sasl_start(postino_conn *conn, const char *mechanism,
		    const char *initial, const struct postino_sasl_ops *ops,
		    void *data)
{
	enum sasl_mech mech;

	if (mechanism == NULL || ops == NULL ||
	    !POSTINO_HAS_FIELD(ops, struct postino_sasl_ops, done) ||
	    ops->challenge == NULL || ops->done == NULL)
		return -EINVAL;
	if (conn_host_data(conn) != NULL)
		return -EBUSY;
	if (!conn_info(conn)->tls)
		return -EPERM;
	if (strcasecmp(mechanism, "PLAIN") == 0)
		mech = SASL_MECH_PLAIN;
	else if (strcasecmp(mechanism, "LOGIN") == 0)
		mech = SASL_MECH_LOGIN;
	else
		return -ENOTSUP;
	struct sasl_exchange *x = calloc(1, sizeof(*x));
	if (x == NULL)
		return -ENOMEM;
	x->conn = conn;
	memcpy(&x->ops, ops, ops->size < sizeof(x->ops) ? ops->size
						       : sizeof(x->ops));
	x->data = data;
	x->mech = mech;
	conn_set_host_data(conn, x, sasl_exchange_free);
	if (initial == NULL)
		sasl_challenge(x, mech == SASL_MECH_PLAIN ? ""
							  : LOGIN_USER_PROMPT);
	else if (strcmp(initial, "=") == 0)
		/* An empty initial response (RFC 4954 4, RFC 4959): PLAIN
		 * then has no credentials at all, LOGIN no user name. */
		sasl_response(x, "", 0);
	else
		/* LOGIN's "initial response" is the user name, as SMTP
		 * clients send it with AUTH LOGIN <name>. */
		sasl_response(x, initial, strlen(initial));
	return 0;
}

int host_sasl_input(postino_conn *conn, const char *line, size_t len)
{
	struct sasl_exchange *x = conn_host_data(conn);

	if (x == NULL || !x->awaiting || line == NULL)
		return -EINVAL;
	sasl_response(x, line, len);
	return 0;
}
