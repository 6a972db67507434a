/* Private to core/queue: name resolution (queue_dns.c). */
#ifndef POSTINO_QUEUE_INTERNAL_H
#define POSTINO_QUEUE_INTERNAL_H

#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "log/log.h"
#include "smtp_client/smtp_client.h"

#define QUEUE_ADDRS_MAX 16

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
	struct smtp_client_addr addrs[QUEUE_ADDRS_MAX];
	size_t count;
};

int queue_resolve_start(uv_loop_t *loop, struct queue_resolve *r);

#endif
