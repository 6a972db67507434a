/* One POP3 session per connection: the protocol callbacks, the command
 * table (verb -> states + run), and the commands of every state (CAPA,
 * STLS, NOOP, QUIT). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pop3.h"
#include "pop3_reply.h"

/* ---- session state --------------------------------------------------------- */

int pop3_tls_active(struct pop3_session *s)
{
	const struct postino_conn_info *info;

	if (s->conn == NULL)
		return 0;
	info = s->srv->host->proto->conn_info(s->conn);
	return info != NULL &&
	       POSTINO_HAS_FIELD(info, struct postino_conn_info, tls) &&
	       info->tls;
}

void pop3_resume(struct pop3_session *s)
{
	if (s->conn != NULL && s->state != POP3_CLOSED)
		s->srv->host->proto->conn_resume(s->conn);
}

static void forget_user(struct pop3_session *s)
{
	if (s->user != NULL) {
		explicit_bzero(s->user, strlen(s->user));
		free(s->user);
		s->user = NULL;
	}
}

void pop3_maildrop_close(struct pop3_session *s)
{
	if (s->mailbox != NULL)
		s->srv->host->mailbox->mailbox_close(&s->mailbox);
	s->mailbox = NULL;
	free(s->msgs);
	s->msgs = NULL;
	free(s->deleted);
	s->deleted = NULL;
	s->count = 0;
	free(s->inbuf);
	s->inbuf = NULL;
	free(s->outbuf);
	s->outbuf = NULL;
	free(s->account);
	s->account = NULL;
}

/* A fresh AUTHORIZATION state: after STLS (RFC 2595 4). The error count
 * stays: it is the connection's budget. */
static void session_reset(struct pop3_session *s)
{
	forget_user(s);
	pop3_maildrop_close(s);
	s->state = POP3_AUTHORIZATION;
	s->phase = POP3_PHASE_COMMAND;
	if (s->conn != NULL)
		s->srv->host->proto->conn_set_account(s->conn, NULL);
}

static void session_free(struct pop3_session *s)
{
	forget_user(s);
	pop3_maildrop_close(s);
	free(s->expunge_uids);
	free(s);
}

/* ---- commands of every state --------------------------------------------- */

static void run_capa(struct pop3_session *s, const char *arg, size_t len)
{
	int tls = pop3_tls_active(s);

	(void)arg;
	(void)len;
	pop3_reply(s, R_CAPA);
	pop3_reply(s, "TOP");
	pop3_reply(s, "UIDL");
	pop3_reply(s, "RESP-CODES");
	pop3_reply(s, "AUTH-RESP-CODE");
	pop3_reply(s, "PIPELINING");
	if (tls) {
		pop3_reply(s, "USER");
		pop3_reply(s, "SASL %s",
			   s->srv->host->proto->sasl_mechanisms(s->conn));
	} else if (s->state == POP3_AUTHORIZATION) {
		pop3_reply(s, "STLS");
	}
	pop3_reply(s, "IMPLEMENTATION Postino");
	pop3_reply(s, R_END);
}

static void run_stls(struct pop3_session *s, const char *arg, size_t len)
{
	(void)arg;
	(void)len;
	if (pop3_tls_active(s)) {
		pop3_reply_error(s, R_TLS_ACTIVE);
		return;
	}
	pop3_reply(s, R_STLS);
	int ret = s->srv->host->proto->conn_starttls(s->conn);
	if (ret < 0) {
		s->srv->host->core->log(s->srv->mod, POSTINO_LOG_ERROR, s->session_id,
				  "STLS failed: %s", strerror(-ret));
		pop3_reply(s, R_TLS_FAILED);
		pop3_close(s, "STLS failed");
	}
}

static void run_noop(struct pop3_session *s, const char *arg, size_t len)
{
	(void)arg;
	(void)len;
	pop3_reply(s, R_OK);
}

static void run_quit(struct pop3_session *s, const char *arg, size_t len)
{
	(void)arg;
	(void)len;
	if (s->state == POP3_TRANSACTION) {
		pop3_update(s);
		return;
	}
	pop3_reply(s, R_BYE);
	pop3_close(s, "quit");
}

/* ---- the command table -------------------------------------------------------- */

#define IN_AUTH (1u << POP3_AUTHORIZATION)
#define IN_TRANS (1u << POP3_TRANSACTION)

struct pop3_command {
	const char *verb;
	unsigned states; /* where it is valid */
	int noargs;      /* any argument is a syntax error */
	void (*run)(struct pop3_session *s, const char *arg, size_t len);
};

static const struct pop3_command commands[] = {
	{ "CAPA", IN_AUTH | IN_TRANS, 1, run_capa },
	{ "QUIT", IN_AUTH | IN_TRANS, 1, run_quit },
	{ "STLS", IN_AUTH, 1, run_stls },
	{ "USER", IN_AUTH, 0, pop3_run_user },
	{ "PASS", IN_AUTH, 0, pop3_run_pass },
	{ "AUTH", IN_AUTH, 0, pop3_run_auth },
	{ "STAT", IN_TRANS, 1, pop3_run_stat },
	{ "LIST", IN_TRANS, 0, pop3_run_list },
	{ "UIDL", IN_TRANS, 0, pop3_run_uidl },
	{ "RETR", IN_TRANS, 0, pop3_run_retr },
	{ "TOP", IN_TRANS, 0, pop3_run_top },
	{ "DELE", IN_TRANS, 0, pop3_run_dele },
	{ "NOOP", IN_TRANS, 1, run_noop },
	{ "RSET", IN_TRANS, 1, pop3_run_rset },
};

static void session_command(struct pop3_session *s, const char *line,
			    size_t len)
{
	const char *arg;
	size_t arg_len;
	size_t verb_len = pop3_parse_verb(line, len, &arg, &arg_len);

	if (memchr(line, '\0', len) != NULL)
		verb_len = 0;
	for (size_t i = 0; verb_len > 0 &&
			   i < sizeof(commands) / sizeof(commands[0]);
	     i++) {
		const struct pop3_command *cmd = &commands[i];

		if (strlen(cmd->verb) != verb_len ||
		    strncasecmp(cmd->verb, line, verb_len) != 0)
			continue;
		if (!(cmd->states & (1u << s->state))) {
			pop3_reply_error(s, R_WRONG_STATE);
			return;
		}
		if (cmd->noargs && arg_len > 0) {
			pop3_reply_error(s, R_SYNTAX);
			return;
		}
		cmd->run(s, arg, arg_len);
		return;
	}
	pop3_reply_error(s, R_UNKNOWN);
}

/* ---- protocol callbacks ---------------------------------------------------------- */

static struct pop3_session *session_of(struct pop3_server *srv,
				       postino_conn *conn)
{
	return srv->host->proto->conn_get_data(conn);
}

void pop3_on_connect(postino_conn *conn, void *data)
{
	struct pop3_server *srv = data;
	const struct postino_host *host = srv->host;
	struct pop3_session *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		host->proto->conn_close(conn, "out of memory");
		return;
	}
	s->srv = srv;
	s->conn = conn;
	const struct postino_conn_info *info = host->proto->conn_info(conn);
	if (info != NULL && info->session_id != NULL) {
		size_t n = strlen(info->session_id);
		if (n >= sizeof(s->session_id))
			n = sizeof(s->session_id) - 1;
		memcpy(s->session_id, info->session_id, n);
	}
	host->proto->conn_set_data(conn, s);
	pop3_reply(s, R_GREETING);
}

void pop3_on_line(postino_conn *conn, const char *line, size_t len,
		  int too_long, void *data)
{
	struct pop3_session *s = session_of(data, conn);

	if (s == NULL || s->state == POP3_CLOSED ||
	    s->state == POP3_UPDATE)
		return;
	if (too_long) {
		/* An overlong response ends the exchange, as "*" would. */
		if (s->phase == POP3_PHASE_AUTH_RESPONSE)
			pop3_auth_response(s, "*", 1);
		else
			pop3_reply_error(s, R_LINE_TOO_LONG);
		return;
	}
	switch (s->phase) {
	case POP3_PHASE_AUTH_RESPONSE:
		pop3_auth_response(s, line, len);
		break;
	case POP3_PHASE_COMMAND:
		session_command(s, line, len);
		break;
	case POP3_PHASE_WAIT:
	case POP3_PHASE_STREAM:
		break; /* paused: not reached */
	}
}

void pop3_on_starttls(postino_conn *conn, int ok, void *data)
{
	struct pop3_session *s = session_of(data, conn);

	if (s == NULL || !ok)
		return; /* on_close follows a failed handshake */
	session_reset(s);
}

void pop3_on_writable(postino_conn *conn, void *data)
{
	struct pop3_session *s = session_of(data, conn);

	if (s != NULL && s->phase == POP3_PHASE_STREAM)
		pop3_stream_pump(s);
}

void pop3_on_close(postino_conn *conn, const char *reason, void *data)
{
	struct pop3_server *srv = data;
	struct pop3_session *s = session_of(srv, conn);

	(void)reason;
	if (s == NULL)
		return;
	srv->host->proto->conn_set_data(conn, NULL);
	s->conn = NULL;
	s->state = POP3_CLOSED;
	/* A pending expunge calls back all the same: it frees the session.
	 * Without QUIT nothing is expunged: the view just closes. */
	if (s->expunging)
		return;
	session_free(s);
}

/* The expunge of QUIT finished (pop3_cmd_trans.c): free a session whose
 * connection is gone. Returns 1 when s was freed. */
int pop3_session_release(struct pop3_session *s)
{
	if (s->conn != NULL)
		return 0;
	session_free(s);
	return 1;
}
