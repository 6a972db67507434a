/* Login throttling's pure parts (see rl_login.h). */
#include "rl_login.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- address keys ----------------------------------------------------------- */

void rl_client_key(const char *ip, char out[RL_ADDR_MAX])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					    0xff, 0xff };
	uint8_t addr[16];
	char text[INET6_ADDRSTRLEN];

	if (ip == NULL)
		ip = "";
	if (inet_pton(AF_INET, ip, addr) == 1 &&
	    inet_ntop(AF_INET, addr, out, RL_ADDR_MAX) != NULL)
		return;
	if (inet_pton(AF_INET6, ip, addr) == 1) {
		if (memcmp(addr, mapped, sizeof(mapped)) == 0 &&
		    inet_ntop(AF_INET, addr + 12, out, RL_ADDR_MAX) != NULL)
			return;
		memset(addr + 8, 0, 8);
		/* A /64 prints in at most 21 characters ("x:x:x:x::"). */
		if (inet_ntop(AF_INET6, addr, text, sizeof(text)) != NULL) {
			snprintf(out, RL_ADDR_MAX, "%.*s/64",
				 RL_ADDR_MAX - 4, text);
			return;
		}
	}
	snprintf(out, RL_ADDR_MAX, "%s", ip);
}

/* ---- address lists --------------------------------------------------------------- */

static struct rl_addr *addrs_find(const struct rl_addrs *l, const char *addr)
{
	for (uint32_t i = 0; i < l->n; i++)
		if (strcmp(l->a[i].addr, addr) == 0)
			return &l->a[i];
	return NULL;
}

int rl_addrs_touch(struct rl_addrs *l, const char *addr, int64_t t,
		   uint32_t max)
{
	struct rl_addr *e = addrs_find(l, addr);

	if (e != NULL) {
		if (t <= e->t)
			return 0;
		e->t = t;
		return 1;
	}
	if (max == 0 || strlen(addr) >= RL_ADDR_MAX)
		return 0;
	if (l->n >= max) {
		/* The one seen longest ago makes room. */
		uint32_t oldest = 0;

		for (uint32_t i = 1; i < l->n; i++)
			if (l->a[i].t < l->a[oldest].t)
				oldest = i;
		e = &l->a[oldest];
	} else {
		if (l->n == l->cap) {
			uint32_t cap = l->cap ? l->cap * 2 : 4;
			struct rl_addr *a;

			if (cap > max)
				cap = max;
			a = realloc(l->a, cap * sizeof(*a));
			if (a == NULL)
				return -1;
			l->a = a;
			l->cap = cap;
		}
		e = &l->a[l->n++];
	}
	snprintf(e->addr, sizeof(e->addr), "%s", addr);
	e->t = t;
	return 1;
}

int64_t rl_addrs_time(const struct rl_addrs *l, const char *addr)
{
	const struct rl_addr *e = addrs_find(l, addr);

	return e != NULL ? e->t : 0;
}

void rl_addrs_prune(struct rl_addrs *l, int64_t t)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < l->n; i++)
		if (l->a[i].t > t)
			l->a[k++] = l->a[i];
	l->n = k;
}

int64_t rl_addrs_newest(const struct rl_addrs *l)
{
	int64_t newest = 0;

	for (uint32_t i = 0; i < l->n; i++)
		if (l->a[i].t > newest)
			newest = l->a[i].t;
	return newest;
}

void rl_addrs_free(struct rl_addrs *l)
{
	free(l->a);
	l->a = NULL;
	l->n = l->cap = 0;
}

/* ---- records ------------------------------------------------------------------------ */

void rl_login_free(struct rl_login *l)
{
	rl_fails_free(&l->fails);
	rl_addrs_free(&l->addrs);
}

int64_t rl_login_newest(const struct rl_login *l)
{
	int64_t newest = rl_addrs_newest(&l->addrs);

	if (l->fails.n > 0 && l->fails.t[l->fails.n - 1] > newest)
		newest = l->fails.t[l->fails.n - 1];
	return newest;
}

/* " f:" + 20 digits; " a:" + address + "=" + 20 digits. */
#define RL_FAIL_TOKEN 24
#define RL_ADDR_TOKEN (RL_ADDR_MAX + 24)

size_t rl_login_format_size(const struct rl_login *l)
{
	return 2 + (size_t)l->fails.n * RL_FAIL_TOKEN +
	       (size_t)l->addrs.n * RL_ADDR_TOKEN + 1;
}

int rl_login_format(const struct rl_login *l, char *buf, size_t len)
{
	size_t off;
	int ret = snprintf(buf, len, "1");

	if (ret < 0 || (size_t)ret >= len)
		return -1;
	off = (size_t)ret;
	for (uint32_t i = 0; i < l->fails.n; i++) {
		ret = snprintf(buf + off, len - off, " f:%" PRId64,
			       l->fails.t[i]);
		if (ret < 0 || (size_t)ret >= len - off)
			return -1;
		off += (size_t)ret;
	}
	for (uint32_t i = 0; i < l->addrs.n; i++) {
		ret = snprintf(buf + off, len - off, " a:%s=%" PRId64,
			       l->addrs.a[i].addr, l->addrs.a[i].t);
		if (ret < 0 || (size_t)ret >= len - off)
			return -1;
		off += (size_t)ret;
	}
	return (int)off;
}

/* A decimal number that is all of tok[0..len). */
static int parse_time(const char *tok, size_t len, int64_t *t)
{
	int64_t v = 0;

	if (len == 0 || len > 18)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (tok[i] < '0' || tok[i] > '9')
			return -1;
		v = v * 10 + (tok[i] - '0');
	}
	*t = v;
	return 0;
}

static int parse_fail(struct rl_login *l, const char *tok, size_t len,
		      uint32_t cap)
{
	struct rl_fails *f = &l->fails;
	int64_t t;

	if (parse_time(tok, len, &t) < 0 ||
	    (f->n > 0 && t < f->t[f->n - 1]))
		return -1;
	if (cap == 0)
		return 0;
	if (f->t == NULL) {
		f->t = malloc(cap * sizeof(*f->t));
		if (f->t == NULL)
			return -1;
		f->cap = cap;
	}
	if (f->n == f->cap) { /* keep the newest */
		memmove(f->t, f->t + 1, (f->n - 1) * sizeof(*f->t));
		f->n--;
	}
	f->t[f->n++] = t;
	return 0;
}

static int parse_addr(struct rl_login *l, const char *tok, size_t len,
		      uint32_t cap)
{
	const char *eq = NULL;
	char addr[RL_ADDR_MAX];
	int64_t t;

	for (size_t i = 0; i < len; i++)
		if (tok[i] == '=')
			eq = tok + i;
	if (eq == NULL || eq == tok || (size_t)(eq - tok) >= RL_ADDR_MAX ||
	    parse_time(eq + 1, len - (size_t)(eq - tok) - 1, &t) < 0)
		return -1;
	memcpy(addr, tok, (size_t)(eq - tok));
	addr[eq - tok] = '\0';
	return rl_addrs_touch(&l->addrs, addr, t, cap) < 0 ? -1 : 0;
}

int rl_login_parse(struct rl_login *l, const char *buf, size_t len,
		   uint32_t fails_cap, uint32_t addrs_cap)
{
	size_t pos;

	if (len < 1 || buf[0] != '1' || (len > 1 && buf[1] != ' '))
		return -1;
	pos = 1;
	while (pos < len) {
		const char *tok;
		size_t tok_len = 0;
		int ret;

		if (buf[pos] != ' ')
			goto bad;
		tok = buf + ++pos;
		while (pos < len && buf[pos] != ' ') {
			pos++;
			tok_len++;
		}
		if (tok_len < 2 || tok[1] != ':')
			goto bad;
		if (tok[0] == 'f')
			ret = parse_fail(l, tok + 2, tok_len - 2, fails_cap);
		else if (tok[0] == 'a')
			ret = parse_addr(l, tok + 2, tok_len - 2, addrs_cap);
		else
			ret = -1;
		if (ret < 0)
			goto bad;
	}
	return 0;
bad:
	rl_login_free(l);
	return -1;
}

/* ---- the decision ------------------------------------------------------------------- */

enum rl_login_verdict rl_login_decide(const struct rl_login_facts *f)
{
	if (f->ip_limit > 0 && f->ip_failures >= f->ip_limit)
		return RL_LOGIN_REFUSE_IP;
	if (f->account_limit == 0 || f->account_failures < f->account_limit ||
	    f->known)
		return RL_LOGIN_PASS;
	return f->failed_here ? RL_LOGIN_REFUSE_ACCOUNT : RL_LOGIN_SLOW;
}
