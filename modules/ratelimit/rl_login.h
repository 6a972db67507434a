/* ratelimit.so's login throttling, pure parts: client-address keys, the
 * records kept per address and per account, their serialisation, and the
 * decision. No host calls; unit-tested in t/unit/ratelimit.
 *
 * The decision throttles the attacker, not the owner:
 *   - an address (IPv4, or an IPv6 /64) with ip_limit failures in its
 *     window is refused, whatever the account;
 *   - an account with account_limit failures in its window is "under
 *     attack": an address that failed for it in that window is refused
 *     for it; an address that logged in to it successfully recently
 *     passes (and is never slowed); any other address is slowed (its
 *     check waits throttle_delay) but never refused by the account limit.
 * So nobody can lock an owner out by failing for the account, and an
 * attacker with many addresses gets one slowed guess per address per
 * window once the account is under attack. */
#ifndef RL_LOGIN_H
#define RL_LOGIN_H

#include <stddef.h>
#include <stdint.h>

#include "rl_window.h"

/* An address key: "192.0.2.7", "2001:db8:1:2::/64"; NUL-terminated. */
#define RL_ADDR_MAX 48

/* The key a client address is counted under: IPv4 (IPv4-mapped IPv6
 * too) as itself, IPv6 by its /64 (one subscriber's prefix: counting
 * single addresses would give an attacker 2^64 fresh ones). Text that is
 * no address is kept as it is, cut to fit. */
void rl_client_key(const char *ip, char out[RL_ADDR_MAX]);

/* An address and when it was last seen (unix ms). */
struct rl_addr {
	char addr[RL_ADDR_MAX];
	int64_t t;
};

/* At most a few hundred addresses, in no particular order. */
struct rl_addrs {
	struct rl_addr *a;
	uint32_t n, cap;
};

/* Sets addr's time to t (if later), adding it if new; when max are
 * there, the one seen longest ago makes room. 1 when something changed,
 * 0 when not, -1 out of memory. */
int rl_addrs_touch(struct rl_addrs *l, const char *addr, int64_t t,
		   uint32_t max);
/* addr's time, or 0 when absent. */
int64_t rl_addrs_time(const struct rl_addrs *l, const char *addr);
/* Forgets the addresses last seen at or before t. */
void rl_addrs_prune(struct rl_addrs *l, int64_t t);
/* The newest time, or 0 when empty. */
int64_t rl_addrs_newest(const struct rl_addrs *l);
void rl_addrs_free(struct rl_addrs *l);

/* What is kept (and persisted) about an address or an account: failure
 * times, and addresses with a time (for an account: those its failures
 * came from, or, in the known-address record, those that logged in). */
struct rl_login {
	struct rl_fails fails;
	struct rl_addrs addrs;
};

void rl_login_free(struct rl_login *l);
/* The newest time in the record (ms), 0 when empty. */
int64_t rl_login_newest(const struct rl_login *l);

/* "1 f:T f:T ... a:ADDR=T ..." (T unix ms). Returns the length written
 * (without a NUL), or -1 when buf is too small; rl_login_format_size
 * says how much is enough. */
size_t rl_login_format_size(const struct rl_login *l);
int rl_login_format(const struct rl_login *l, char *buf, size_t len);
/* Parses rl_login_format's output (len bytes, not NUL-terminated) into
 * an empty record, keeping at most fails_cap failures (the newest) and
 * addrs_cap addresses. 0, or -1 on a malformed value (the record is then
 * empty). */
int rl_login_parse(struct rl_login *l, const char *buf, size_t len,
		   uint32_t fails_cap, uint32_t addrs_cap);

/* What the decision looks at; limits of 0 are off. */
struct rl_login_facts {
	uint32_t ip_failures, ip_limit;
	uint32_t account_failures, account_limit;
	int failed_here; /* this address failed for this account lately */
	int known;       /* this address logged in to this account lately */
};

enum rl_login_verdict {
	RL_LOGIN_PASS = 0,
	RL_LOGIN_SLOW,           /* checked after throttle_delay */
	RL_LOGIN_REFUSE_IP,      /* the address's own limit */
	RL_LOGIN_REFUSE_ACCOUNT, /* failed for an account under attack */
};

enum rl_login_verdict rl_login_decide(const struct rl_login_facts *f);

#endif
