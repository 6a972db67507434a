/* The SMTP module's shared types: the server (module data), the two
 * services it registers ("smtp" for MX, "submission"), and one session
 * per connection. Everything runs on the loop thread. */
#ifndef SMTP_H
#define SMTP_H

#include <stddef.h>
#include <stdint.h>

#include <postino/plugin.h>

#include "smtp_data.h"
#include "smtp_header.h"
#include "smtp_parse.h"

#define SMTP_MAX_LINE 4096
#define SMTP_IDLE_TIMEOUT_S 300
#define SMTP_MAX_ERRORS 10

struct smtp_server;
struct smtp_session;

struct smtp_service {
	struct smtp_server *srv;
	struct postino_protocol proto;
	int submission; /* MAIL needs AUTH */
};

struct smtp_server {
	postino_mod *mod;
	const struct postino_host *host;
	char *hostname;
	char *overload_reply;
	char *timeout_reply;
	char *command_timeout_reply;
	uint64_t max_message_size;
	unsigned max_recipients;
	int sender_login_check;
	char *postmaster;        /* [smtp] postmaster, normalized; NULL: unset */
	struct smtp_service mx;
	struct smtp_service submission;
};

/* A growable list of owned strings. */
struct smtp_strv {
	char **v;
	size_t n;
	size_t cap;
};

enum smtp_phase {
	SMTP_PHASE_COMMAND = 0,
	SMTP_PHASE_AUTH_RESPONSE,   /* a SASL challenge is out */
	SMTP_PHASE_AUTH_WAIT,       /* the host checks (input paused) */
	SMTP_PHASE_DATA,            /* raw bytes until CRLF.CRLF */
	SMTP_PHASE_CLOSED,          /* conn_close called or conn gone */
};

typedef void smtp_hook_then(struct smtp_session *s,
			    enum postino_verdict verdict, int code,
			    const char *text);

struct smtp_session {
	struct smtp_server *srv;
	const struct smtp_service *svc;
	postino_conn *conn;        /* NULL once on_close has run */
	enum smtp_phase phase;
	unsigned errors;
	char session_id[64];
	char client_ip[64];

	int helo_seen;
	int esmtp;
	char helo[SMTP_DOMAIN_MAX + 1];
	char *account;             /* after AUTH */

	/* The mail transaction. */
	int in_mail;
	struct smtp_mail_args mail;
	struct smtp_strv local;    /* accounts */
	struct smtp_strv local_rcpt; /* per account: the RCPT that reached
				      * it (the DELIVERY hooks' rcpt_to) */
	struct smtp_strv remote;   /* addresses for the outbound queue */
	struct smtp_strv remote_via; /* per address: the local address
				      * (alias) it was reached by, or "" for
				      * a relay */
	unsigned rcpt_count;       /* accepted RCPT commands */
	struct smtp_rcpt_args rcpt; /* the RCPT being decided */
	struct smtp_strv rcpt_local, rcpt_remote; /* its targets */
	char rcpt_given[SMTP_ADDRESS_MAX + 1]; /* the local address expanded
					     * for them, or "" */

	/* DATA */
	postino_msg *msg;
	struct smtp_data data;
	int too_big;
	int write_error;
	unsigned msg_seq;
	/* Submission: Date:/Message-ID: added when missing. */
	int filling;
	struct smtp_header_fill fill;
	char date_field[SMTP_HEADER_DATE_MAX];
	char message_id_field[SMTP_HEADER_MSGID_MAX];

	smtp_hook_then *hook_then;
};

/* smtp_session.c: the protocol callbacks and the command table. */
void smtp_on_connect(postino_conn *conn, void *data);
void smtp_on_line(postino_conn *conn, const char *line, size_t len,
		  int too_long, void *data);
void smtp_on_bytes(postino_conn *conn, const char *bytes, size_t len,
		   int last, void *data);
void smtp_on_starttls(postino_conn *conn, int ok, void *data);
void smtp_on_close(postino_conn *conn, const char *reason, void *data);

/* Asynchronous host calls (hooks_run, auth_verify, msg_deliver) call back
 * only while the connection is open: on_close frees the session and no
 * callback follows. Input is paused while one runs; resume lets the
 * pipelined input flow again. */
void smtp_resume(struct smtp_session *s);
/* Pauses input and runs the hooks of point for an event filled from the
 * session; then() runs on the loop with the outcome (also when hooks_run
 * fails: DEFER); it must resume or close. */
void smtp_run_hooks(struct smtp_session *s, enum postino_hook_point point,
		    smtp_hook_then *then);
const struct postino_conn_info *smtp_info(struct smtp_session *s);
int smtp_tls_active(struct smtp_session *s);
void smtp_transaction_reset(struct smtp_session *s);

/* smtp_reply.c: output. */
void smtp_reply(struct smtp_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A 4xx/5xx reply that counts as a client error; the SMTP_MAX_ERRORS-th
 * is followed by 421 and the connection is closed. */
void smtp_reply_error(struct smtp_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The reply of a hook that said DEFER or REJECT, verbatim "CODE TEXT". */
void smtp_reply_verdict(struct smtp_session *s, enum postino_verdict verdict,
			int code, const char *text);
void smtp_reply_ehlo(struct smtp_session *s);
void smtp_close(struct smtp_session *s, const char *reason);

/* smtp_cmd_*.c: command handlers (check returns 0 to go on, -1 after
 * replying; run does the work). */
int smtp_check_auth(struct smtp_session *s, const char *arg, size_t len);
void smtp_run_auth(struct smtp_session *s, const char *arg, size_t len);
void smtp_auth_response(struct smtp_session *s, const char *line,
			size_t len);
int smtp_check_mail(struct smtp_session *s, const char *arg, size_t len);
void smtp_run_mail(struct smtp_session *s, const char *arg, size_t len);
int smtp_check_rcpt(struct smtp_session *s, const char *arg, size_t len);
void smtp_run_rcpt(struct smtp_session *s, const char *arg, size_t len);
int smtp_check_data(struct smtp_session *s, const char *arg, size_t len);
void smtp_run_data(struct smtp_session *s, const char *arg, size_t len);
void smtp_data_bytes(struct smtp_session *s, const char *bytes, size_t len);

/* smtp_quota.c: 1 when the RCPT being decided reaches only local
 * accounts, each without room for the message (SIZE= or one octet). */
int smtp_rcpt_full(struct smtp_session *s);

/* smtp_strv */
/* Adds s unless there: 1 added, 0 already there, -ENOMEM. */
int smtp_strv_add_unique(struct smtp_strv *sv, const char *s, int nocase);
/* Appends s (copied) even when there: 0 or -ENOMEM. */
int smtp_strv_push(struct smtp_strv *sv, const char *s);
void smtp_strv_clear(struct smtp_strv *sv);

#endif
