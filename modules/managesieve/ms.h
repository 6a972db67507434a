/* managesieve.so's shared types: the server (module data) and one session
 * per connection, all on the loop thread. */
#ifndef MS_H
#define MS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <postino/plugin.h>

#include "ms_parse.h"
#include "sieve_service.h"

#define MS_MAX_LINE 8192
#define MS_IDLE_TIMEOUT_S 600
#define MS_MAX_ERRORS 10
/* Literals other than scripts: names, SASL responses. */
#define MS_LITERAL_MAX (8 * 1024)

struct ms_server {
	postino_mod *mod;
	const struct postino_host *host;
	const struct sieve_service *sieve;
	struct postino_protocol proto;
};

enum ms_phase {
	MS_PHASE_COMMAND = 0, /* lines to the parser */
	MS_PHASE_LITERAL,   /* the octets of a literal (conn_read_bytes) */
	MS_PHASE_WAIT,      /* the host or the service works (input paused) */
	MS_PHASE_CLOSED,
};

struct ms_session {
	struct ms_server *srv;
	postino_conn *conn;     /* NULL once on_close has run */
	enum ms_phase phase;
	unsigned errors;
	char session_id[64];
	char *account;          /* once authenticated */
	struct ms_parser parser;
	/* A SASL challenge is out: what the parser gets next is the
	 * client's response (a string), not a command. */
	bool in_sasl;
	/* A service call is out: its callback frees the session if the
	 * connection went meanwhile. */
	bool busy;
};

/* ms_session.c */
void ms_on_connect(postino_conn *conn, void *data);
void ms_on_line(postino_conn *conn, const char *line, size_t len,
		int too_long, void *data);
void ms_on_bytes(postino_conn *conn, const char *bytes, size_t len, int last,
		 void *data);
void ms_on_starttls(postino_conn *conn, int ok, void *data);
void ms_on_close(postino_conn *conn, const char *reason, void *data);
int ms_tls_active(struct ms_session *s);
/* Back to commands after an asynchronous step; frees s and returns 1
 * when its connection closed meanwhile. */
int ms_resume(struct ms_session *s);
void ms_wait(struct ms_session *s);

/* ms_reply.c: responses (RFC 5804 4). */
void ms_write(struct ms_session *s, const char *data, size_t len);
/* A string as ManageSieve writes it: quoted when it can be, else a
 * literal {n}. */
void ms_write_string(struct ms_session *s, const char *str, size_t len);
/* "OK"/"NO"/"BYE", an optional response code (without parentheses) and
 * a human-readable text. */
void ms_reply(struct ms_session *s, const char *status, const char *code,
	      const char *text);
/* A NO that counts against the error budget (MS_MAX_ERRORS: BYE). */
void ms_reply_error(struct ms_session *s, const char *code, const char *text);
void ms_capability(struct ms_session *s);
void ms_close(struct ms_session *s, const char *reason);

/* ms_cmd_auth.c */
void ms_cmd_capability(struct ms_session *s);
void ms_cmd_starttls(struct ms_session *s);
void ms_cmd_authenticate(struct ms_session *s);
/* The client's response to a challenge is in the parser (parsed =
 * true), or was malformed (false: the exchange ends). */
void ms_sasl_response(struct ms_session *s, bool parsed);
void ms_cmd_unauthenticate(struct ms_session *s);
void ms_cmd_logout(struct ms_session *s);
void ms_cmd_noop(struct ms_session *s);

/* ms_cmd_script.c */
void ms_cmd_havespace(struct ms_session *s);
void ms_cmd_putscript(struct ms_session *s);
void ms_cmd_checkscript(struct ms_session *s);
void ms_cmd_listscripts(struct ms_session *s);
void ms_cmd_setactive(struct ms_session *s);
void ms_cmd_getscript(struct ms_session *s);
void ms_cmd_deletescript(struct ms_session *s);
void ms_cmd_renamescript(struct ms_session *s);

#endif
