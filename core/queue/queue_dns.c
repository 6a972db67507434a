/* Where a domain's mail goes: MX records (RFC 5321 5.1), or the domain's
 * own A/AAAA when it has none, or the relayhost; resolved to addresses.
 * res_nquery and getaddrinfo block, so all of it runs on the libuv
 * threadpool and the result comes back on the loop. */
#include "queue/queue_internal.h"

#include <arpa/nameser.h>
#include <errno.h>
#include <stdarg.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MX_MAX 16

struct mx {
	unsigned pref;
	char host[NS_MAXDNAME];
};

static int mx_cmp(const void *a, const void *b)
{
	const struct mx *x = a, *y = b;

	return (x->pref > y->pref) - (x->pref < y->pref);
}

/* Appends the addresses of host. Returns 0 or the getaddrinfo error. */
static int add_addresses(struct queue_resolve *r, const char *host)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_family = AF_UNSPEC };
	struct addrinfo *res = NULL;
	char port[8];
	int ret;

	snprintf(port, sizeof port, "%u", r->port);
	ret = getaddrinfo(host, port, &hints, &res);
	if (ret != 0)
		return ret;
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		if (r->count >= QUEUE_ADDRS_MAX)
			break;
		if (ai->ai_addrlen > sizeof r->addrs[0].sa)
			continue;
		struct smtp_client_addr *a = &r->addrs[r->count++];
		memcpy(&a->sa, ai->ai_addr, ai->ai_addrlen);
		snprintf(a->host, sizeof a->host, "%s", host);
	}
	freeaddrinfo(res);
	return 0;
}

static void fail(struct queue_resolve *r, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail(struct queue_resolve *r, int status, const char *fmt, ...)
{
	va_list ap;

	r->status = status;
	va_start(ap, fmt);
	vsnprintf(r->error, sizeof r->error, fmt, ap);
	va_end(ap);
}

/* Reads the MX answer; returns how many records (0: none). */
static int parse_mx(const unsigned char *answer, int len, struct mx *mx)
{
	ns_msg msg;
	ns_rr rr;
	int n = 0;

	if (ns_initparse(answer, len, &msg) < 0)
		return -1;
	for (int i = 0; i < ns_msg_count(msg, ns_s_an) && n < MX_MAX; i++) {
		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0)
			return -1;
		if (ns_rr_type(rr) != ns_t_mx || ns_rr_rdlen(rr) < 3)
			continue;
		mx[n].pref = ns_get16(ns_rr_rdata(rr));
		if (ns_name_uncompress(ns_msg_base(msg), ns_msg_end(msg),
				       ns_rr_rdata(rr) + 2, mx[n].host,
				       sizeof mx[n].host) < 0)
			return -1;
		n++;
	}
	return n;
}

static void resolve_mx(struct queue_resolve *r)
{
	unsigned char answer[NS_PACKETSZ * 8];
	struct mx mx[MX_MAX];
	struct __res_state st;
	int n = 0, len;

	memset(&st, 0, sizeof st);
	if (res_ninit(&st) < 0) {
		fail(r, -EAGAIN, "%s", "resolver initialisation failed");
		return;
	}
	if (r->has_dns) {
		st.nscount = 1;
		st.nsaddr_list[0] = r->dns;
		st.retry = 1;
		st.retrans = 2;
	}
	len = res_nquery(&st, r->name, ns_c_in, ns_t_mx, answer,
			 sizeof answer);
	if (len < 0) {
		int herr = st.res_h_errno;

		res_nclose(&st);
		if (herr == HOST_NOT_FOUND) {
			fail(r, -ENOENT, "domain %s does not exist", r->name);
			return;
		}
		if (herr != NO_DATA) {
			fail(r, -EAGAIN, "MX lookup for %s failed", r->name);
			return;
		}
		/* No MX: the domain itself is the implicit MX. */
	} else {
		res_nclose(&st);
		n = parse_mx(answer, len, mx);
		if (n < 0) {
			fail(r, -EAGAIN, "malformed MX answer for %s",
			     r->name);
			return;
		}
	}
	if (n == 0) {
		int ret = add_addresses(r, r->name);
		if (ret == EAI_NONAME)
			fail(r, -ENOENT, "domain %s has no mail server",
			     r->name);
		else if (ret != 0 || r->count == 0)
			fail(r, -EAGAIN, "address lookup for %s failed",
			     r->name);
		return;
	}
	/* RFC 7505 null MX: the domain takes no mail at all. */
	if (n == 1 && (mx[0].host[0] == '\0' || strcmp(mx[0].host, ".") == 0)) {
		fail(r, -ENOENT, "domain %s accepts no mail (null MX)",
		     r->name);
		return;
	}
	qsort(mx, (size_t)n, sizeof mx[0], mx_cmp);
	for (int i = 0; i < n && r->count < QUEUE_ADDRS_MAX; i++)
		add_addresses(r, mx[i].host);
	if (r->count == 0)
		fail(r, -EAGAIN, "no address for any MX of %s", r->name);
}

static void resolve_work(uv_work_t *work)
{
	struct queue_resolve *r = work->data;

	r->count = 0;
	r->status = 0;
	r->error[0] = '\0';
	if (r->mx) {
		resolve_mx(r);
		return;
	}
	int ret = add_addresses(r, r->name);
	if (ret != 0 || r->count == 0)
		fail(r, -EAGAIN, "address lookup for %s failed", r->name);
}

static void resolve_after(uv_work_t *work, int status)
{
	struct queue_resolve *r = work->data;

	if (status == UV_ECANCELED)
		fail(r, -ECANCELED, "%s", "cancelled");
	r->done(r);
}

int queue_resolve_start(uv_loop_t *loop, struct queue_resolve *r)
{
	r->work.data = r;
	return uv_queue_work(loop, &r->work, resolve_work, resolve_after);
}
