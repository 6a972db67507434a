/* Connection events of an IMAP session: assembling commands from lines
 * and literals, dispatching them by state, pausing input while a command
 * waits for the store, and freeing the session only when nothing in
 * flight can still call back into it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap.h"

#define S_NA (1u << IMAP_NOT_AUTH)
#define S_AU (1u << IMAP_AUTH)
#define S_SE (1u << IMAP_SELECTED)
#define S_ANY (S_NA | S_AU | S_SE)

/* Lines refused as too long before the session gives up on the client. */
#define IMAP_MAX_BAD_LINES 5

static const struct imap_command_def commands[] = {
	{ "CAPABILITY", S_ANY, imap_cmd_capability, false },
	{ "NOOP", S_ANY, imap_cmd_noop, false },
	{ "LOGOUT", S_ANY, imap_cmd_logout, false },
	{ "ID", S_ANY, imap_cmd_id, false },
	{ "STARTTLS", S_NA, imap_cmd_starttls, false },
	{ "LOGIN", S_NA, imap_cmd_login, false },
	{ "AUTHENTICATE", S_NA, imap_cmd_authenticate, false },
	{ "ENABLE", S_AU | S_SE, imap_cmd_enable, false },
	{ "NAMESPACE", S_AU | S_SE, imap_cmd_namespace, false },
	{ "SELECT", S_AU | S_SE, imap_cmd_select, false },
	{ "EXAMINE", S_AU | S_SE, imap_cmd_select, false },
	{ "CREATE", S_AU | S_SE, imap_cmd_create, false },
	{ "DELETE", S_AU | S_SE, imap_cmd_delete, false },
	{ "RENAME", S_AU | S_SE, imap_cmd_rename, false },
	{ "SUBSCRIBE", S_AU | S_SE, imap_cmd_subscribe, false },
	{ "UNSUBSCRIBE", S_AU | S_SE, imap_cmd_subscribe, false },
	{ "LIST", S_AU | S_SE, imap_cmd_list, false },
	{ "LSUB", S_AU | S_SE, imap_cmd_list, false },
	{ "STATUS", S_AU | S_SE, imap_cmd_status, false },
	{ "APPEND", S_AU | S_SE, NULL, false }, /* imap_append_begin */
	{ "CHECK", S_SE, imap_cmd_noop, false },
	{ "CLOSE", S_SE, imap_cmd_close, false },
	{ "UNSELECT", S_SE, imap_cmd_close, false },
	{ "EXPUNGE", S_SE, imap_cmd_expunge, false },
	{ "SEARCH", S_SE, imap_cmd_search, true },
	{ "FETCH", S_SE, imap_cmd_fetch, true },
	{ "STORE", S_SE, imap_cmd_store, true },
	{ "COPY", S_SE, imap_cmd_copy, false },
	{ "MOVE", S_SE, imap_cmd_copy, false },
	{ "IDLE", S_AU | S_SE, imap_cmd_idle, false },
	{ "GETQUOTAROOT", S_AU | S_SE, imap_cmd_getquotaroot, false },
	{ "GETQUOTA", S_AU | S_SE, imap_cmd_getquota, false },
	{ "SETQUOTA", S_AU | S_SE, imap_cmd_setquota, false },
};

const struct imap_command_def *imap_command_find(const char *name)
{
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcasecmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static struct imap_session *session_of(struct imap_server *srv,
				       postino_conn *conn)
{
	return srv->host->proto->conn_get_data(conn);
}

static void session_free(struct imap_session *s)
{
	const struct postino_host *host = s->srv->host;

	imap_fetch_run_free(&s->fetch);
	if (s->idle_timer != NULL)
		host->core->timer_stop(&s->idle_timer);
	if (s->mb != NULL)
		host->mailbox->mailbox_close(&s->mb);
	imap_keywords_free(&s->keywords);
	imap_saved_reset(s);
	if (s->append_msg != NULL)
		host->mail->msg_discard(&s->append_msg);
	free(s->mailbox_name);
	free(s->append_mailbox);
	free(s->append_keywords);
	imap_buf_free(&s->cmd);
	free(s);
}

bool imap_release(struct imap_session *s)
{
	s->pending--;
	if (s->closed && s->pending == 0) {
		session_free(s);
		return true;
	}
	return s->closed;
}

void imap_on_connect(postino_conn *conn, void *data)
{
	struct imap_server *srv = data;
	const struct postino_host *host = srv->host;
	struct imap_session *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		host->proto->conn_printf(conn, "* BYE Out of memory\r\n");
		host->proto->conn_close(conn, "out of memory");
		return;
	}
	s->srv = srv;
	s->conn = conn;
	s->session_id = host->proto->conn_info(conn)->session_id;
	imap_buf_init(&s->cmd, IMAP_MAX_COMMAND + IMAP_MAX_LINE);
	host->proto->conn_set_data(conn, s);

	struct imap_buf caps;
	imap_buf_init(&caps, 0);
	imap_capability_list(s, &caps);
	imap_printf(s, "* OK [CAPABILITY %s] %s Postino IMAP ready\r\n",
		    caps.data != NULL ? caps.data : "IMAP4rev1",
		    host->core->hostname(srv->mod));
	imap_buf_free(&caps);
}

static void command_reset(struct imap_session *s)
{
	imap_buf_clear(&s->cmd);
	s->literal_left = 0;
	s->cmd_literals = 0;
}

void imap_busy(struct imap_session *s)
{
	if (s->phase != IMAP_PHASE_BUSY && s->conn != NULL) {
		s->phase = IMAP_PHASE_BUSY;
		s->srv->host->proto->conn_pause(s->conn);
	}
}

void imap_command_done(struct imap_session *s)
{
	s->running = NULL;
	command_reset(s);
	if (s->phase == IMAP_PHASE_BUSY) {
		s->phase = IMAP_PHASE_COMMAND;
		if (s->conn != NULL)
			s->srv->host->proto->conn_resume(s->conn);
	}
}

void imap_log_command(struct imap_session *s, const char *tag,
		      const char *name, const char *cmd, size_t len)
{
	char text[201];
	size_t n = len < sizeof(text) - 1 ? len : sizeof(text) - 1;

	if (strcasecmp(name, "LOGIN") == 0 ||
	    strcasecmp(name, "AUTHENTICATE") == 0) {
		s->srv->host->core->log(s->srv->mod, POSTINO_LOG_DEBUG,
					s->session_id, "command: %s %s", tag,
					name);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)cmd[i];
		text[i] = c < 0x20 || c == 0x7f ? '.' : (char)c;
	}
	text[n] = '\0';
	s->srv->host->core->log(s->srv->mod, POSTINO_LOG_DEBUG, s->session_id,
				"command: %s%s", text, len > n ? "..." : "");
}

/* Runs one complete command held in s->cmd. */
static void dispatch(struct imap_session *s)
{
	struct imap_command *cmd = NULL;
	const char *error = NULL;
	int ret = imap_parse_command(s->cmd.data != NULL ? s->cmd.data : "",
				     s->cmd.len, NULL, &cmd, &error);

	if (ret == IMAP_PARSE_BAD_TAG || ret == -ENOMEM) {
		imap_printf(s, "* BAD %s\r\n",
			    ret == -ENOMEM ? "Out of memory" : error);
		command_reset(s);
		return;
	}
	if (ret == IMAP_PARSE_BAD) {
		size_t n = imap_parse_tag(s->cmd.data, s->cmd.len);
		imap_printf(s, "%.*s BAD %s\r\n", (int)n, s->cmd.data, error);
		command_reset(s);
		return;
	}
	imap_log_command(s, cmd->tag, cmd->name, s->cmd.data, s->cmd.len);
	snprintf(s->tag, sizeof(s->tag), "%s", cmd->tag);
	if (strlen(cmd->tag) >= sizeof(s->tag)) {
		imap_printf(s, "* BAD Tag too long\r\n");
		imap_command_free(&cmd);
		command_reset(s);
		return;
	}
	const struct imap_arg *args = cmd->args;
	size_t n_args = cmd->n_args;
	bool uid = false;
	const struct imap_command_def *def = imap_command_find(cmd->name);

	if (strcmp(cmd->name, "UID") == 0) {
		static const char *const uid_ok[] = { "FETCH", "STORE",
			"SEARCH", "COPY", "MOVE", "EXPUNGE" };
		def = NULL;
		for (size_t i = 0; n_args > 0 && i < 6; i++)
			if (imap_arg_atom_is(&args[0], uid_ok[i]))
				def = imap_command_find(uid_ok[i]);
		uid = true;
		args++;
		n_args = n_args > 0 ? n_args - 1 : 0;
	}
	s->tag_uid = uid;
	if (def == NULL || def->run == NULL) {
		imap_printf(s, "%s BAD Unknown command\r\n", s->tag);
	} else if (!(def->states & (1u << s->state))) {
		imap_printf(s, "%s BAD Command not valid in this state\r\n",
			    s->tag);
	} else {
		s->running = def;
		def->run(s, cmd, args, n_args, uid);
	}
	imap_command_free(&cmd);
	if (s->running == NULL || s->phase != IMAP_PHASE_BUSY)
		command_reset(s);
}

/* A too long line: its tag, if one is readable, gets the BAD. */
static void line_too_long(struct imap_session *s, const char *line,
			  size_t len)
{
	size_t n = s->cmd.len == 0 ? imap_parse_tag(line, len) : 0;

	if (n > 0 && n < 64)
		imap_printf(s, "%.*s BAD [TOOBIG] Line too long\r\n", (int)n,
			    line);
	else
		imap_printf(s, "* BAD [TOOBIG] Line too long\r\n");
	command_reset(s);
}

static bool is_append(struct imap_session *s, size_t marker_len)
{
	/* The command so far without its "{n}" marker: tag APPEND mailbox
	 * [flags] [date]. A literal inside it (the mailbox) is not the
	 * message: the message literal is the one after which the parsed
	 * arguments are complete. Only the mailbox can be a literal before
	 * the message, so this parses at most twice per command: parsing
	 * the command so far at every literal of a command made of
	 * thousands would be quadratic. */
	struct imap_command *cmd = NULL;
	const char *error;
	size_t len = s->cmd.len - marker_len;
	bool yes = false;

	if (s->cmd_literals++ >= 2 ||
	    !imap_command_name_is(s->cmd.data, s->cmd.len, "APPEND"))
		return false;
	while (len > 0 && s->cmd.data[len - 1] == ' ')
		len--;
	if (imap_parse_command(s->cmd.data, len, NULL, &cmd, &error) == 0) {
		yes = cmd->n_args >= 1;
		imap_command_free(&cmd);
	}
	return yes;
}

/* Refuses the command being assembled, which ends in a literal, before
 * the client sends it: a synchronising literal is never asked for (no
 * "+"), a LITERAL+ one comes anyway and is dropped unread, with whatever
 * else the command holds, and the NO follows its last line. */
static void command_refuse(struct imap_session *s, uint64_t n, bool nonsync)
{
	const struct postino_host *host = s->srv->host;

	if (!s->skipping) {
		size_t t = imap_parse_tag(s->cmd.data, s->cmd.len);
		snprintf(s->skip_tag, sizeof(s->skip_tag), "%.*s",
			 (int)(t > 0 && t < sizeof(s->skip_tag) ? t : 1),
			 t > 0 && t < sizeof(s->skip_tag) ? s->cmd.data : "*");
		s->skipped = 0;
	}
	command_reset(s);
	if (!nonsync || n > IMAP_MAX_COMMAND - s->skipped) {
		s->skipping = false;
		if (nonsync) {
			imap_printf(s, "* BYE [TOOBIG] Literal too large\r\n");
			host->proto->conn_close(s->conn, "literal too large");
			return;
		}
		imap_printf(s, "%s NO %s\r\n", s->skip_tag, imap_no_tls);
		return;
	}
	s->skipping = true;
	s->skipped += n;
	if (n == 0)
		return; /* the command goes on on the next line */
	s->phase = IMAP_PHASE_SKIP;
	host->proto->conn_read_bytes(s->conn, n);
}

/* A line of a command being refused (s->skipping). */
static void skip_line(struct imap_session *s, const char *line, size_t len)
{
	uint64_t n = 0;
	bool nonsync = false;
	int lit = imap_literal_at_end(line, len, &n, &nonsync);

	if (lit > 0) {
		command_refuse(s, n, nonsync);
		return;
	}
	s->skipping = false;
	imap_printf(s, "%s NO %s\r\n", s->skip_tag, imap_no_tls);
}

static void command_line(struct imap_session *s, const char *line,
			 size_t len)
{
	const struct postino_host *host = s->srv->host;
	uint64_t n = 0;
	bool nonsync = false;

	if (s->skipping) {
		skip_line(s, line, len);
		return;
	}
	if (imap_buf_append(&s->cmd, line, len) < 0) {
		imap_printf(s, "* BAD [TOOBIG] Command too long\r\n");
		command_reset(s);
		return;
	}
	int lit = imap_literal_at_end(line, len, &n, &nonsync);
	if (lit == 0) {
		dispatch(s);
		return;
	}
	size_t marker = 0;
	while (marker < len && line[len - 1 - marker] != '{')
		marker++;
	marker++;
	if (lit > 0 && is_append(s, marker)) {
		imap_append_begin(s, s->cmd.data, s->cmd.len - marker, n,
				  nonsync);
		return;
	}
	if (lit < 0 || s->cmd.len > IMAP_MAX_COMMAND ||
	    n > IMAP_MAX_COMMAND - s->cmd.len) {
		size_t t = imap_parse_tag(s->cmd.data, s->cmd.len);
		if (nonsync) {
			/* The client sends the bytes anyway: stop here. */
			imap_printf(s, "* BYE [TOOBIG] Literal too large\r\n");
			host->proto->conn_close(s->conn, "literal too large");
		} else if (t > 0 && t < 64) {
			imap_printf(s, "%.*s NO [TOOBIG] Literal too large\r\n",
				    (int)t, s->cmd.data);
		} else {
			imap_printf(s, "* BAD [TOOBIG] Literal too large\r\n");
		}
		command_reset(s);
		return;
	}
	/* Before TLS, LOGIN's or AUTHENTICATE's literal would carry a
	 * password in clear: refuse it before the client sends it. */
	if (imap_auth_needs_tls(s, s->cmd.data, s->cmd.len)) {
		command_refuse(s, n, nonsync);
		return;
	}
	if (imap_buf_append(&s->cmd, "\r\n", 2) < 0) {
		imap_printf(s, "* BAD [TOOBIG] Command too long\r\n");
		command_reset(s);
		return;
	}
	if (!nonsync)
		imap_printf(s, "+ OK\r\n");
	if (n == 0)
		return; /* the rest of the command follows on the next line */
	s->phase = IMAP_PHASE_LITERAL;
	s->literal_left = n;
	host->proto->conn_read_bytes(s->conn, n);
}

void imap_on_line(postino_conn *conn, const char *line, size_t len,
		  int too_long, void *data)
{
	struct imap_session *s = session_of(data, conn);

	if (s == NULL)
		return;
	if (too_long) {
		if (++s->bad_lines > IMAP_MAX_BAD_LINES) {
			imap_printf(s, "* BYE Too many invalid lines\r\n");
			s->srv->host->proto->conn_close(conn, "too many long lines");
			return;
		}
		if (s->phase == IMAP_PHASE_COMMAND && s->skipping)
			skip_line(s, "", 0); /* the refused command ends */
		else if (s->phase == IMAP_PHASE_COMMAND)
			line_too_long(s, line, len);
		else if (s->phase == IMAP_PHASE_AUTH)
			imap_auth_response(s, "*", 1);
		return;
	}
	switch (s->phase) {
	case IMAP_PHASE_COMMAND:
		command_line(s, line, len);
		break;
	case IMAP_PHASE_APPEND_END:
		imap_append_end(s, line, len);
		break;
	case IMAP_PHASE_AUTH:
		imap_auth_response(s, line, len);
		break;
	case IMAP_PHASE_IDLE:
		imap_idle_line(s, line, len);
		break;
	case IMAP_PHASE_LITERAL:
	case IMAP_PHASE_APPEND_DATA:
	case IMAP_PHASE_DISCARD:
	case IMAP_PHASE_SKIP:
	case IMAP_PHASE_BUSY:
		break; /* bytes go to on_bytes; BUSY is paused */
	}
}

void imap_on_bytes(postino_conn *conn, const char *bytes, size_t len,
		   int last, void *data)
{
	struct imap_session *s = session_of(data, conn);

	if (s == NULL)
		return;
	switch (s->phase) {
	case IMAP_PHASE_LITERAL:
		if (imap_buf_append(&s->cmd, bytes, len) < 0) {
			imap_printf(s, "* BYE Out of memory\r\n");
			s->srv->host->proto->conn_close(conn, "out of memory");
			return;
		}
		if (last)
			s->phase = IMAP_PHASE_COMMAND;
		break;
	case IMAP_PHASE_APPEND_DATA:
	case IMAP_PHASE_DISCARD:
		imap_append_bytes(s, bytes, len, last);
		break;
	case IMAP_PHASE_SKIP:
		if (last)
			s->phase = IMAP_PHASE_COMMAND;
		break;
	default:
		break;
	}
}

void imap_on_starttls(postino_conn *conn, int ok, void *data)
{
	struct imap_session *s = session_of(data, conn);

	if (s == NULL || !ok)
		return; /* on_close follows a failed handshake */
	/* RFC 3501 6.2.1: nothing from before the handshake survives. */
	command_reset(s);
	s->skipping = false;
	s->phase = IMAP_PHASE_COMMAND;
	s->state = IMAP_NOT_AUTH;
}

void imap_on_writable(postino_conn *conn, void *data)
{
	struct imap_session *s = session_of(data, conn);

	if (s != NULL && s->fetch != NULL)
		imap_fetch_pump(s);
}

void imap_on_close(postino_conn *conn, const char *reason, void *data)
{
	struct imap_server *srv = data;
	struct imap_session *s = session_of(srv, conn);

	(void)reason;
	if (s == NULL)
		return;
	srv->host->proto->conn_set_data(conn, NULL);
	s->conn = NULL;
	s->closed = true;
	if (s->mb != NULL)
		srv->host->mailbox->mailbox_watch(s->mb, NULL, NULL);
	if (s->pending == 0)
		session_free(s);
}
