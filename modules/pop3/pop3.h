/* The POP3 module's shared types: the server (module data) and one
 * session per connection. Everything runs on the loop thread. */
#ifndef POP3_H
#define POP3_H

#include <stddef.h>
#include <stdint.h>

#include <postino/plugin.h>

#include "pop3_parse.h"
#include "pop3_stuff.h"

#define POP3_MAX_LINE 512
/* Longest user name USER accepts (as the host's SASL service). */
#define POP3_CREDENTIAL_MAX 1024
#define POP3_IDLE_TIMEOUT_S 600
#define POP3_MAX_ERRORS 10
#define POP3_CHUNK (64 * 1024) /* largest mailbox_read while streaming */

struct pop3_server {
	postino_mod *mod;
	const struct postino_host *host;
	struct postino_protocol proto;
};

enum pop3_state {
	POP3_AUTHORIZATION = 0,
	POP3_TRANSACTION,
	POP3_UPDATE,  /* QUIT: expunging */
	POP3_CLOSED,  /* conn_close called or conn gone */
};

enum pop3_phase {
	POP3_PHASE_COMMAND = 0,
	POP3_PHASE_AUTH_RESPONSE, /* a SASL challenge is out */
	POP3_PHASE_WAIT,       /* auth_verify running (input paused) */
	POP3_PHASE_STREAM,     /* RETR/TOP streaming (input paused) */
};

struct pop3_session {
	struct pop3_server *srv;
	postino_conn *conn;     /* NULL once on_close has run */
	enum pop3_state state;
	enum pop3_phase phase;
	unsigned errors;
	char session_id[64];
	char *user;             /* USER name, until PASS */

	/* TRANSACTION */
	char *account;
	postino_mailbox *mailbox;
	uint32_t uidvalidity;
	uint32_t count;
	struct postino_message_info *msgs; /* count entries */
	unsigned char *deleted;            /* count flags */

	/* RETR/TOP streaming */
	struct pop3_stuff stuff;
	uint32_t stream_index;
	uint64_t stream_offset;
	char *inbuf;  /* POP3_CHUNK */
	char *outbuf; /* POP3_STUFF_OUT_MAX(POP3_CHUNK) */

	/* QUIT: the expunge runs past a dropped connection. */
	uint32_t *expunge_uids;
	size_t expunge_count;
	int expunging;
};

/* pop3_session.c: the protocol callbacks and the command table. */
void pop3_on_connect(postino_conn *conn, void *data);
void pop3_on_line(postino_conn *conn, const char *line, size_t len,
		  int too_long, void *data);
void pop3_on_starttls(postino_conn *conn, int ok, void *data);
void pop3_on_writable(postino_conn *conn, void *data);
void pop3_on_close(postino_conn *conn, const char *reason, void *data);

int pop3_tls_active(struct pop3_session *s);
/* After QUIT's expunge: frees s if its connection is gone (1), else 0. */
int pop3_session_release(struct pop3_session *s);
void pop3_resume(struct pop3_session *s);

/* pop3_reply.c: output. */
void pop3_reply(struct pop3_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A -ERR that counts as a client error (unknown command, wrong state,
 * syntax, a long line, a failed login); the POP3_MAX_ERRORS-th is
 * followed by "-ERR too many errors" and the connection is closed. */
void pop3_reply_error(struct pop3_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void pop3_close(struct pop3_session *s, const char *reason);

/* pop3_cmd_auth.c: USER, PASS, AUTH. */
void pop3_run_user(struct pop3_session *s, const char *arg, size_t len);
void pop3_run_pass(struct pop3_session *s, const char *arg, size_t len);
void pop3_run_auth(struct pop3_session *s, const char *arg, size_t len);
void pop3_auth_response(struct pop3_session *s, const char *line,
			size_t len);

/* pop3_cmd_trans.c: the TRANSACTION commands and QUIT's UPDATE. */
void pop3_run_stat(struct pop3_session *s, const char *arg, size_t len);
void pop3_run_list(struct pop3_session *s, const char *arg, size_t len);
void pop3_run_uidl(struct pop3_session *s, const char *arg, size_t len);
void pop3_run_retr(struct pop3_session *s, const char *arg, size_t len);
void pop3_run_top(struct pop3_session *s, const char *arg, size_t len);
void pop3_run_dele(struct pop3_session *s, const char *arg, size_t len);
void pop3_run_rset(struct pop3_session *s, const char *arg, size_t len);
void pop3_update(struct pop3_session *s);
void pop3_stream_pump(struct pop3_session *s);
/* Drops the maildrop view and its lists. */
void pop3_maildrop_close(struct pop3_session *s);

#endif
