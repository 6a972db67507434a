/* One ManageSieve session per connection: the protocol callbacks, the
 * command table (verb -> state, arguments, run), and the feeding of lines
 * and literals to the parser. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ms.h"

int ms_tls_active(struct ms_session *s)
{
	const struct postino_conn_info *info;

	if (s->conn == NULL)
		return 0;
	info = s->srv->host->proto->conn_info(s->conn);
	return info != NULL && info->tls;
}

static void session_free(struct ms_session *s)
{
	ms_parse_free(&s->parser);
	free(s->account);
	free(s);
}

void ms_wait(struct ms_session *s)
{
	s->phase = MS_PHASE_WAIT;
	s->busy = true;
	s->srv->host->proto->conn_pause(s->conn);
}

int ms_resume(struct ms_session *s)
{
	s->busy = false;
	if (s->conn == NULL) {
		session_free(s);
		return 1;
	}
	if (s->phase != MS_PHASE_CLOSED) {
		s->phase = MS_PHASE_COMMAND;
		s->srv->host->proto->conn_resume(s->conn);
	}
	return 0;
}

/* ---- the command table --------------------------------------------------- */

#define BEFORE_AUTH 1u
#define AFTER_AUTH 2u
#define ANY_STATE (BEFORE_AUTH | AFTER_AUTH)

struct ms_command {
	const char *verb;
	unsigned states;
	/* Arguments after the verb: at least min, at most max. */
	unsigned min, max;
	void (*run)(struct ms_session *s);
};

static const struct ms_command commands[] = {
	{ "CAPABILITY", ANY_STATE, 0, 0, ms_cmd_capability },
	{ "STARTTLS", BEFORE_AUTH, 0, 0, ms_cmd_starttls },
	{ "AUTHENTICATE", BEFORE_AUTH, 1, 2, ms_cmd_authenticate },
	{ "LOGOUT", ANY_STATE, 0, 0, ms_cmd_logout },
	{ "NOOP", ANY_STATE, 0, 1, ms_cmd_noop },
	{ "UNAUTHENTICATE", AFTER_AUTH, 0, 0, ms_cmd_unauthenticate },
	{ "HAVESPACE", AFTER_AUTH, 2, 2, ms_cmd_havespace },
	{ "PUTSCRIPT", AFTER_AUTH, 2, 2, ms_cmd_putscript },
	{ "CHECKSCRIPT", AFTER_AUTH, 1, 1, ms_cmd_checkscript },
	{ "LISTSCRIPTS", AFTER_AUTH, 0, 0, ms_cmd_listscripts },
	{ "SETACTIVE", AFTER_AUTH, 1, 1, ms_cmd_setactive },
	{ "GETSCRIPT", AFTER_AUTH, 1, 1, ms_cmd_getscript },
	{ "DELETESCRIPT", AFTER_AUTH, 1, 1, ms_cmd_deletescript },
	{ "RENAMESCRIPT", AFTER_AUTH, 2, 2, ms_cmd_renamescript },
};

static void command(struct ms_session *s)
{
	const struct ms_parser *p = &s->parser;
	const char *verb = ms_arg_str(p, 0);

	if (p->args[0].type != MS_ATOM) {
		ms_reply_error(s, NULL, "Expected a command");
		return;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct ms_command *c = &commands[i];
		if (strcasecmp(c->verb, verb) != 0)
			continue;
		unsigned state = s->account != NULL ? AFTER_AUTH : BEFORE_AUTH;
		if (!(c->states & state)) {
			ms_reply_error(s, NULL, state == BEFORE_AUTH
				       ? "Authenticate first"
				       : "Already authenticated");
			return;
		}
		if (p->n_args - 1 < c->min || p->n_args - 1 > c->max) {
			ms_reply_error(s, NULL, "Wrong number of arguments");
			return;
		}
		c->run(s);
		return;
	}
	ms_reply_error(s, NULL, "Unknown command");
}

/* A whole command (or, during AUTHENTICATE, the client's response) is
 * in the parser. */
static void parsed(struct ms_session *s)
{
	if (s->in_sasl)
		ms_sasl_response(s, true);
	else
		command(s);
	if (s->conn != NULL && !s->busy)
		ms_parse_reset(&s->parser);
}

/* ---- protocol callbacks -------------------------------------------------------- */

static struct ms_session *session_of(struct ms_server *srv, postino_conn *conn)
{
	return srv->host->proto->conn_get_data(conn);
}

static void session_start(struct ms_session *s)
{
	s->phase = MS_PHASE_COMMAND;
	ms_parse_reset(&s->parser);
	ms_capability(s);
	ms_reply(s, "OK", NULL, "Postino ManageSieve ready");
}

void ms_on_connect(postino_conn *conn, void *data)
{
	struct ms_server *srv = data;
	const struct postino_host *host = srv->host;
	struct ms_session *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		host->proto->conn_close(conn, "out of memory");
		return;
	}
	s->srv = srv;
	s->conn = conn;
	/* A script past the service's limit gets QUOTA/MAXSIZE; the parser
	 * drops its octets unread. */
	ms_parse_init(&s->parser, MS_LITERAL_MAX,
		      srv->sieve->max_script_size(srv->sieve->instance));
	const struct postino_conn_info *info = host->proto->conn_info(conn);
	if (info != NULL && info->session_id != NULL)
		snprintf(s->session_id, sizeof(s->session_id), "%s",
			 info->session_id);
	host->proto->conn_set_data(conn, s);
	session_start(s);
}

void ms_on_line(postino_conn *conn, const char *line, size_t len,
		int too_long, void *data)
{
	struct ms_session *s = session_of(data, conn);
	uint64_t literal;

	if (s == NULL || s->phase != MS_PHASE_COMMAND)
		return;
	enum ms_parse_result r = too_long ? MS_ERROR
		: ms_parse_line(&s->parser, line, len, &literal);
	if (r == MS_ERROR) {
		const char *why = too_long ? "Line too long" : s->parser.error;
		ms_parse_reset(&s->parser);
		if (s->in_sasl)
			ms_sasl_response(s, false); /* ends the exchange */
		else
			ms_reply_error(s, NULL, why);
		return;
	}
	if (r == MS_LITERAL) {
		/* {0}: nothing to read, the command goes on next line. */
		if (literal > 0) {
			s->phase = MS_PHASE_LITERAL;
			if (s->srv->host->proto->conn_read_bytes(s->conn,
								 literal) < 0)
				ms_close(s, "cannot read a literal");
		}
		return;
	}
	parsed(s);
}

void ms_on_bytes(postino_conn *conn, const char *bytes, size_t len, int last,
		 void *data)
{
	struct ms_session *s = session_of(data, conn);

	if (s == NULL || s->phase != MS_PHASE_LITERAL)
		return;
	ms_parse_bytes(&s->parser, bytes, len);
	if (last)
		s->phase = MS_PHASE_COMMAND;
}

void ms_on_starttls(postino_conn *conn, int ok, void *data)
{
	struct ms_session *s = session_of(data, conn);

	if (s == NULL || !ok)
		return; /* on_close follows a failed handshake */
	/* RFC 5804 2.2: everything forgotten, then the capabilities again. */
	s->in_sasl = false;
	free(s->account);
	s->account = NULL;
	s->srv->host->proto->conn_set_account(conn, NULL);
	session_start(s);
}

void ms_on_close(postino_conn *conn, const char *reason, void *data)
{
	struct ms_server *srv = data;
	struct ms_session *s = session_of(srv, conn);

	(void)reason;
	if (s == NULL)
		return;
	srv->host->proto->conn_set_data(conn, NULL);
	s->conn = NULL;
	s->phase = MS_PHASE_CLOSED;
	/* A service call out frees it when it calls back. */
	if (!s->busy)
		session_free(s);
}
