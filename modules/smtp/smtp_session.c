/* One SMTP session per connection: the protocol callbacks, the command
 * table (verb -> check + run, as OpenSMTPD's smtp_session.c), the simple
 * commands, and the helpers for asynchronous host calls. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtp.h"
#include "smtp_reply.h"

/* ---- string lists ---------------------------------------------------------- */

int smtp_strv_add_unique(struct smtp_strv *sv, const char *str, int nocase)
{
	for (size_t i = 0; i < sv->n; i++) {
		if ((nocase ? strcasecmp(sv->v[i], str)
			    : strcmp(sv->v[i], str)) == 0)
			return 0;
	}
	return smtp_strv_push(sv, str) < 0 ? -ENOMEM : 1;
}

int smtp_strv_push(struct smtp_strv *sv, const char *str)
{
	if (sv->n == sv->cap) {
		size_t cap = sv->cap == 0 ? 4 : sv->cap * 2;
		char **v = realloc(sv->v, cap * sizeof(*v));
		if (v == NULL)
			return -ENOMEM;
		sv->v = v;
		sv->cap = cap;
	}
	sv->v[sv->n] = strdup(str);
	if (sv->v[sv->n] == NULL)
		return -ENOMEM;
	sv->n++;
	return 0;
}

void smtp_strv_clear(struct smtp_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->cap = 0;
}

/* ---- session state --------------------------------------------------------- */

const struct postino_conn_info *smtp_info(struct smtp_session *s)
{
	if (s->conn == NULL)
		return NULL;
	return s->srv->host->proto->conn_info(s->conn);
}

int smtp_tls_active(struct smtp_session *s)
{
	const struct postino_conn_info *info = smtp_info(s);

	return info != NULL &&
	       POSTINO_HAS_FIELD(info, struct postino_conn_info, tls) &&
	       info->tls;
}

void smtp_transaction_reset(struct smtp_session *s)
{
	if (s->msg != NULL)
		s->srv->host->mail->msg_discard(&s->msg);
	s->msg = NULL;
	s->in_mail = 0;
	memset(&s->mail, 0, sizeof(s->mail));
	memset(&s->rcpt, 0, sizeof(s->rcpt));
	smtp_strv_clear(&s->local);
	smtp_strv_clear(&s->local_rcpt);
	smtp_strv_clear(&s->remote);
	smtp_strv_clear(&s->remote_via);
	smtp_strv_clear(&s->rcpt_local);
	smtp_strv_clear(&s->rcpt_remote);
	s->rcpt_count = 0;
	s->too_big = s->write_error = 0;
}

/* Forgets everything the client said: after STARTTLS (RFC 3207 4.2).
 * The error count stays: it is the server's budget for this connection,
 * not protocol state, and a fresh one would let a client reset it. */
static void session_reset(struct smtp_session *s)
{
	smtp_transaction_reset(s);
	s->phase = SMTP_PHASE_COMMAND;
	s->helo_seen = s->esmtp = 0;
	s->helo[0] = '\0';
	if (s->account != NULL) {
		free(s->account);
		s->account = NULL;
		if (s->conn != NULL)
			s->srv->host->proto->conn_set_account(s->conn, NULL);
	}
}

static void session_free(struct smtp_session *s)
{
	smtp_transaction_reset(s);
	free(s->account);
	free(s);
}

/* ---- asynchronous host calls ----------------------------------------------- */

void smtp_resume(struct smtp_session *s)
{
	if (s->conn != NULL && s->phase != SMTP_PHASE_CLOSED)
		s->srv->host->proto->conn_resume(s->conn);
}

static void hooks_done(void *data, enum postino_verdict verdict, int code,
		       const char *text)
{
	struct smtp_session *s = data;

	s->hook_then(s, verdict, code, text);
}

void smtp_run_hooks(struct smtp_session *s, enum postino_hook_point point,
		    smtp_hook_then *then)
{
	const struct postino_host *host = s->srv->host;
	const struct postino_conn_info *info = smtp_info(s);
	struct postino_hook_event event, *ev = &event;

	memset(ev, 0, sizeof(*ev));
	ev->size = sizeof(*ev);
	ev->point = point;
	ev->session_id = s->session_id;
	ev->protocol = "smtp";
	ev->client_ip = s->client_ip;
	ev->tls = info != NULL && info->tls ? 1 : 0;
	ev->account = s->account;
	ev->helo = s->helo[0] != '\0' ? s->helo : NULL;
	ev->mail_from = s->in_mail ? s->mail.path.address : NULL;
	ev->rcpt_to = point == POSTINO_HOOK_SMTP_RCPT_TO ? s->rcpt.path.address
							 : NULL;
	ev->message_size = point == POSTINO_HOOK_SMTP_DATA_END ? s->data.size
							       : 0;
	ev->rcpt_count = s->rcpt_count;
	/* The host holds a reference for the run: msg outlives a close. */
	ev->msg = point == POSTINO_HOOK_SMTP_DATA_END ? s->msg : NULL;

	/* The host copies the event; done may run before hooks_run returns. */
	s->hook_then = then;
	host->proto->conn_pause(s->conn);
	int ret = host->proto->hooks_run(s->conn, ev, hooks_done, s);
	if (ret < 0) {
		host->core->log(s->srv->mod, POSTINO_LOG_ERROR, s->session_id,
			  "running hooks failed: %s", strerror(-ret));
		then(s, POSTINO_DEFER, 451, "4.3.0 Error: internal error");
	}
}

/* ---- simple commands --------------------------------------------------------- */

static int check_noargs(struct smtp_session *s, const char *arg, size_t len,
			const char *verb)
{
	(void)arg;
	if (len != 0) {
		smtp_reply_error(s, R_SYNTAX_NOARGS, verb);
		return -1;
	}
	return 0;
}

static int check_helo(struct smtp_session *s, const char *arg, size_t len)
{
	if (!smtp_parse_helo(arg, len)) {
		smtp_reply_error(s, R_SYNTAX_HELO, "HELO");
		return -1;
	}
	return 0;
}

static int check_ehlo(struct smtp_session *s, const char *arg, size_t len)
{
	if (!smtp_parse_helo(arg, len)) {
		smtp_reply_error(s, R_SYNTAX_HELO, "EHLO");
		return -1;
	}
	return 0;
}

static void helo_then(struct smtp_session *s, enum postino_verdict verdict,
		      int code, const char *text)
{
	if (verdict == POSTINO_DEFER || verdict == POSTINO_REJECT) {
		s->helo_seen = s->esmtp = 0;
		s->helo[0] = '\0';
		smtp_reply_verdict(s, verdict, code, text);
	} else {
		s->helo_seen = 1;
		if (s->esmtp)
			smtp_reply_ehlo(s);
		else
			smtp_reply(s, R_HELO, s->srv->hostname);
	}
	smtp_resume(s);
}

static void start_helo(struct smtp_session *s, const char *arg, size_t len,
		       int esmtp)
{
	/* EHLO/HELO also reset the transaction (RFC 5321 4.1.4). */
	smtp_transaction_reset(s);
	memcpy(s->helo, arg, len);
	s->helo[len] = '\0';
	s->esmtp = esmtp;
	s->helo_seen = 0;
	smtp_run_hooks(s, POSTINO_HOOK_SMTP_HELO, helo_then);
}

static void run_helo(struct smtp_session *s, const char *arg, size_t len)
{
	start_helo(s, arg, len, 0);
}

static void run_ehlo(struct smtp_session *s, const char *arg, size_t len)
{
	start_helo(s, arg, len, 1);
}

static int check_starttls(struct smtp_session *s, const char *arg, size_t len)
{
	if (check_noargs(s, arg, len, "STARTTLS") < 0)
		return -1;
	if (smtp_tls_active(s)) {
		smtp_reply_error(s, R_TLS_ACTIVE);
		return -1;
	}
	return 0;
}

static void run_starttls(struct smtp_session *s, const char *arg, size_t len)
{
	(void)arg;
	(void)len;
	smtp_reply(s, R_STARTTLS);
	int ret = s->srv->host->proto->conn_starttls(s->conn);
	if (ret < 0) {
		s->srv->host->core->log(s->srv->mod, POSTINO_LOG_ERROR, s->session_id,
				  "STARTTLS failed: %s", strerror(-ret));
		smtp_reply(s, R_TLS_FAILED, s->srv->hostname);
		smtp_close(s, "STARTTLS failed");
	}
}

static int check_rset(struct smtp_session *s, const char *arg, size_t len)
{
	return check_noargs(s, arg, len, "RSET");
}

static void run_rset(struct smtp_session *s, const char *arg, size_t len)
{
	(void)arg;
	(void)len;
	smtp_transaction_reset(s);
	smtp_reply(s, R_OK);
}

static void run_noop(struct smtp_session *s, const char *arg, size_t len)
{
	(void)arg;
	(void)len;
	smtp_reply(s, R_OK);
}

static int check_quit(struct smtp_session *s, const char *arg, size_t len)
{
	return check_noargs(s, arg, len, "QUIT");
}

static void run_quit(struct smtp_session *s, const char *arg, size_t len)
{
	(void)arg;
	(void)len;
	smtp_reply(s, R_BYE);
	smtp_close(s, "quit");
}

static int check_vrfy(struct smtp_session *s, const char *arg, size_t len)
{
	(void)arg;
	if (len == 0) {
		smtp_reply_error(s, R_SYNTAX_VRFY);
		return -1;
	}
	return 0;
}

static void run_vrfy(struct smtp_session *s, const char *arg, size_t len)
{
	(void)arg;
	(void)len;
	smtp_reply(s, R_VRFY);
}

static void run_help(struct smtp_session *s, const char *arg, size_t len)
{
	(void)arg;
	(void)len;
	smtp_reply(s, R_HELP);
}

/* ---- the command table -------------------------------------------------------- */

struct smtp_command {
	const char *verb;
	/* Sequence and syntax; 0 to go on, -1 after replying. NULL: none. */
	int (*check)(struct smtp_session *s, const char *arg, size_t len);
	void (*run)(struct smtp_session *s, const char *arg, size_t len);
};

static const struct smtp_command commands[] = {
	{ "HELO", check_helo, run_helo },
	{ "EHLO", check_ehlo, run_ehlo },
	{ "STARTTLS", check_starttls, run_starttls },
	{ "AUTH", smtp_check_auth, smtp_run_auth },
	{ "MAIL", smtp_check_mail, smtp_run_mail },
	{ "RCPT", smtp_check_rcpt, smtp_run_rcpt },
	{ "DATA", smtp_check_data, smtp_run_data },
	{ "RSET", check_rset, run_rset },
	{ "NOOP", NULL, run_noop },
	{ "QUIT", check_quit, run_quit },
	{ "VRFY", check_vrfy, run_vrfy },
	{ "HELP", NULL, run_help },
};

static void session_command(struct smtp_session *s, const char *line,
			    size_t len)
{
	const char *arg;
	size_t arg_len;
	size_t verb_len = smtp_parse_verb(line, len, &arg, &arg_len);

	if (memchr(line, '\0', len) != NULL) {
		smtp_reply_error(s, R_NUL_IN_LINE);
		return;
	}
	for (size_t i = 0; verb_len > 0 && i < sizeof(commands) /
						       sizeof(commands[0]);
	     i++) {
		const struct smtp_command *cmd = &commands[i];

		if (strlen(cmd->verb) != verb_len ||
		    strncasecmp(cmd->verb, line, verb_len) != 0)
			continue;
		if (cmd->check != NULL && cmd->check(s, arg, arg_len) < 0)
			return;
		cmd->run(s, arg, arg_len);
		return;
	}
	smtp_reply_error(s, R_UNKNOWN);
}

/* ---- protocol callbacks ---------------------------------------------------------- */

static struct smtp_session *session_of(const struct smtp_service *svc,
				       postino_conn *conn)
{
	return svc->srv->host->proto->conn_get_data(conn);
}

static void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = src != NULL ? strlen(src) : 0;

	if (n >= size)
		n = size - 1;
	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

static void connect_then(struct smtp_session *s, enum postino_verdict verdict,
			 int code, const char *text)
{
	if (verdict == POSTINO_DEFER || verdict == POSTINO_REJECT) {
		smtp_reply_verdict(s, verdict, code, text);
		smtp_close(s, "refused by policy at connect");
		return;
	}
	smtp_reply(s, R_GREETING, s->srv->hostname);
	smtp_resume(s);
}

void smtp_on_connect(postino_conn *conn, void *data)
{
	const struct smtp_service *svc = data;
	const struct postino_host *host = svc->srv->host;
	struct smtp_session *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		host->proto->conn_close(conn, "out of memory");
		return;
	}
	s->srv = svc->srv;
	s->svc = svc;
	s->conn = conn;
	const struct postino_conn_info *info = host->proto->conn_info(conn);
	if (info != NULL) {
		copy_str(s->session_id, sizeof(s->session_id), info->session_id);
		copy_str(s->client_ip, sizeof(s->client_ip), info->client_ip);
	}
	host->proto->conn_set_data(conn, s);
	smtp_run_hooks(s, POSTINO_HOOK_SMTP_CONNECT, connect_then);
}

void smtp_on_line(postino_conn *conn, const char *line, size_t len,
		  int too_long, void *data)
{
	struct smtp_session *s = session_of(data, conn);

	if (s == NULL || s->phase == SMTP_PHASE_CLOSED)
		return;
	if (too_long) {
		/* An overlong response ends the exchange, as "*" would. */
		if (s->phase == SMTP_PHASE_AUTH_RESPONSE)
			smtp_auth_response(s, "*", 1);
		else
			smtp_reply_error(s, R_LINE_TOO_LONG);
		return;
	}
	switch (s->phase) {
	case SMTP_PHASE_AUTH_RESPONSE:
		smtp_auth_response(s, line, len);
		break;
	case SMTP_PHASE_AUTH_WAIT:
	case SMTP_PHASE_COMMAND:
		session_command(s, line, len);
		break;
	case SMTP_PHASE_DATA:
	case SMTP_PHASE_CLOSED:
		break;
	}
}

void smtp_on_bytes(postino_conn *conn, const char *bytes, size_t len,
		   int last, void *data)
{
	struct smtp_session *s = session_of(data, conn);

	(void)last; /* a run of UINT64_MAX bytes never completes */
	if (s == NULL || s->phase != SMTP_PHASE_DATA)
		return;
	smtp_data_bytes(s, bytes, len);
}

void smtp_on_starttls(postino_conn *conn, int ok, void *data)
{
	struct smtp_session *s = session_of(data, conn);

	if (s == NULL || !ok)
		return; /* on_close follows a failed handshake */
	session_reset(s);
}

void smtp_on_close(postino_conn *conn, const char *reason, void *data)
{
	const struct smtp_service *svc = data;
	struct smtp_session *s = session_of(svc, conn);

	(void)reason;
	if (s == NULL)
		return;
	svc->srv->host->proto->conn_set_data(conn, NULL);
	s->conn = NULL;
	/* The host calls no pending done after this (plugin.h). */
	session_free(s);
}
