/* Private to core/queue: name resolution and the SMTP client session. */
#ifndef POSTINO_QUEUE_INTERNAL_H
#define POSTINO_QUEUE_INTERNAL_H

#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "log/log.h"
#include "queue/queue_proto.h"
#include "queue/queue_tls.h"

#define QUEUE_ADDRS_MAX 16

struct queue_addr {
	struct sockaddr_storage sa;
	char host[256]; /* the name it came from (TLS SNI, logs) */
};

/* One lookup on the threadpool. The caller owns the struct and keeps it
 * alive until done runs (always on the loop, also when cancelled). */
struct queue_resolve {
	uv_work_t work;
	char name[256]; /* the domain (mx = 1) or the host to resolve */
	unsigned port;
	int mx;
	/* [queue] dns_server: MX queries go to this nameserver only (tests
	 * serve a zone from 127.0.0.1 instead of asking the Internet). */
	struct sockaddr_in dns;
	int has_dns;
	void (*done)(struct queue_resolve *r);
	void *data;
	/* results */
	int status; /* 0, -ENOENT (permanent: no such domain), -EAGAIN */
	char error[384];
	struct queue_addr addrs[QUEUE_ADDRS_MAX];
	size_t count;
};

int queue_resolve_start(uv_loop_t *loop, struct queue_resolve *r);

/* ---- one SMTP client connection (queue_smtp.c) ------------------------- */

struct queue_smtp_rcpt {
	const char *address; /* owned by the caller */
	int result;          /* 0 not yet known, 2, 4 or 5 (reply class) */
	char reply[512];     /* the reply (flattened) or our reason */
	int accepted;        /* RCPT got 2xx: waits for the final reply */
};

struct queue_smtp_params {
	uv_loop_t *loop;
	const struct log *log;
	const char *helo;           /* our host name */
	const struct queue_addr *addrs;
	size_t addr_count;
	/* What TLS must achieve here; policy->trust is the sessions'
	 * credentials, so it is never NULL. */
	const struct queue_tls_policy *tls;
	const char *auth_user;      /* NULL: no AUTH; sent only over a
				     * verified TLS connection */
	const char *auth_password;  /* never logged */
	const char *sender;         /* "" for <> */
	const char *data;           /* dot-stuffed, ends with ".\r\n" */
	size_t data_len;
	size_t message_size;        /* for SIZE= */
	int eightbit;               /* BODY=8BITMIME when offered */
	struct queue_smtp_rcpt *rcpts;
	size_t rcpt_count;
	unsigned connect_timeout_ms;
	unsigned command_timeout_ms;
	const char *log_id;         /* "q42": prefix of log lines */
	/* Right after the reply to the final dot, results are set for every
	 * recipient that was accepted: record them before anything else. */
	void (*on_dot)(void *arg);
	/* The session is over and its handles are closed; every recipient
	 * has a result (0 only when cancelled). Free it with
	 * queue_smtp_free. */
	void (*on_done)(void *arg);
	void *arg;
};

struct queue_smtp;

/* Starts the session; params and everything it points to must stay valid
 * until on_done. Returns 0 or a negative error (nothing started). */
int queue_smtp_start(const struct queue_smtp_params *params,
		     struct queue_smtp **smtp_r);
/* Closes at once; on_done follows once the handles are closed. */
void queue_smtp_abort(struct queue_smtp *smtp);
void queue_smtp_free(struct queue_smtp **smtp);

#endif
