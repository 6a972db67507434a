/* One outbound SMTP session (RFC 5321 client): the queue hands it a
 * destination's addresses, its TLS policy, the envelope and the
 * dot-stuffed data, and hears back per recipient. It knows nothing of the
 * queue table: core/queue decides what to send where. */
#ifndef POSTINO_SMTP_CLIENT_H
#define POSTINO_SMTP_CLIENT_H

#include <netinet/in.h>
#include <stddef.h>
#include <uv.h>

#include "log/log.h"
#include "smtp_client/smtp_tls.h"

/* One address to try, in order. */
struct smtp_client_addr {
	struct sockaddr_storage sa;
	char host[256]; /* the name it came from (TLS SNI, logs) */
};

struct smtp_client_rcpt {
	const char *address; /* owned by the caller */
	int result;          /* 0 not yet known, 2, 4 or 5 (reply class) */
	char reply[512];     /* the reply (flattened) or our reason */
	int accepted;        /* RCPT got 2xx: waits for the final reply */
};

struct smtp_client_params {
	uv_loop_t *loop;
	const struct log *log;
	const char *helo;           /* our host name */
	const struct smtp_client_addr *addrs;
	size_t addr_count;
	/* What TLS must achieve here; policy->trust is the sessions'
	 * credentials, so it is never NULL. */
	const struct smtp_tls_policy *tls;
	const char *auth_user;      /* NULL: no AUTH; sent only over a
				     * verified TLS connection */
	const char *auth_password;  /* never logged */
	const char *sender;         /* "" for <> */
	const char *data;           /* dot-stuffed, ends with ".\r\n" */
	size_t data_len;
	size_t message_size;        /* for SIZE= */
	int eightbit;               /* BODY=8BITMIME when offered */
	struct smtp_client_rcpt *rcpts;
	size_t rcpt_count;
	unsigned connect_timeout_ms;
	unsigned command_timeout_ms;
	const char *log_id;         /* "q42": prefix of log lines */
	/* Right after the reply to the final dot, results are set for every
	 * recipient that was accepted: record them before anything else. */
	void (*on_dot)(void *arg);
	/* The session is over and its handles are closed; every recipient
	 * has a result (0 only when cancelled). Free it with
	 * smtp_client_free. */
	void (*on_done)(void *arg);
	void *arg;
};

struct smtp_client;

/* Starts the session; params and everything it points to must stay valid
 * until on_done. Returns 0 or a negative error (nothing started). */
int smtp_client_start(const struct smtp_client_params *params,
		     struct smtp_client **smtp_r);
/* Closes at once; on_done follows once the handles are closed. */
void smtp_client_abort(struct smtp_client *smtp);
void smtp_client_free(struct smtp_client **smtp);

#endif
