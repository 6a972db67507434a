/* ratelimit.so's pure parts: the sliding send window (time buckets), the
 * login-failure history, CIDR matching. No host calls; unit-tested in
 * t/unit/ratelimit. */
#ifndef RL_WINDOW_H
#define RL_WINDOW_H

#include <stddef.h>
#include <stdint.h>

/* Events counted in one time bucket: those at t .. t + gran - 1 (unix
 * seconds). An event is in the window while now < t + gran + window, so
 * a bucket leaves the window whole, never early. */
struct rl_bucket {
	int64_t t;
	uint32_t n;
};

/* A history of send events, oldest bucket first. */
struct rl_window {
	struct rl_bucket *b;
	size_t n, cap;
};

/* Bucket size for a window length (seconds): 1 s under 2 minutes (short
 * test windows are exact), else whole minutes, at most ~256 buckets. */
int64_t rl_gran(int64_t window);

void rl_window_free(struct rl_window *w);
/* Drops buckets that have left the window at now. */
void rl_window_prune(struct rl_window *w, int64_t now, int64_t window,
		     int64_t gran);
/* Drops every bucket that started at or before t (a reset at t). */
void rl_window_drop_until(struct rl_window *w, int64_t t);
/* Events in the window at now. */
uint64_t rl_window_used(const struct rl_window *w, int64_t now,
			int64_t window, int64_t gran);
/* Adds n events at now. 0, or -1 out of memory. */
int rl_window_add(struct rl_window *w, int64_t now, int64_t gran,
		  uint32_t n);
/* When at least `excess` events will have left the window (unix seconds);
 * now when excess is 0. When the window holds fewer, the rest are taken
 * as counted now (the pending transaction): when they would leave. */
int64_t rl_window_free_at(const struct rl_window *w, int64_t now,
			  int64_t window, int64_t gran, uint64_t excess);
/* When the oldest event in the window leaves it, or 0 when empty. */
int64_t rl_window_oldest_leaves(const struct rl_window *w, int64_t now,
				int64_t window, int64_t gran);
/* The newest bucket's start, or 0 when empty. */
int64_t rl_window_newest(const struct rl_window *w);

/* "1 T:N T:N ..." (T unix seconds). Returns the length written, or -1
 * when buf is too small. */
int rl_window_format(const struct rl_window *w, char *buf, size_t len);
/* Parses what rl_window_format wrote (len bytes, not NUL-terminated; an
 * incomplete last token is ignored). Replaces w's content. 0, or -1 on a
 * malformed value (w is then empty). */
int rl_window_parse(struct rl_window *w, const char *buf, size_t len);

/* A lower-cased copy of in (account names are compared without case).
 * 0, or -1 when in is NULL, empty or does not fit. */
int rl_lower_copy(char *out, size_t len, const char *in);

/* "try again after" time: at rounded up to the next whole minute, local
 * time, as "HH:MM". */
void rl_hhmm(int64_t at, char out[6]);

/* The last failures of one client IP or account: at most cap timestamps
 * (ms), oldest first. */
struct rl_fails {
	int64_t *t;
	uint32_t n, cap;
};

/* Records a failure at now_ms, forgetting those older than window_ms
 * and, when full, the oldest. 0 or -1 out of memory. */
int rl_fails_add(struct rl_fails *f, int64_t now_ms, int64_t window_ms,
		 uint32_t cap);
/* Failures within window_ms before now_ms (and drops the older ones). */
uint32_t rl_fails_count(struct rl_fails *f, int64_t now_ms,
			int64_t window_ms);
void rl_fails_free(struct rl_fails *f);

/* A network: "192.0.2.0/24", "2001:db8::/32", or one address. */
struct rl_net {
	int family; /* 4 or 6 */
	uint8_t addr[16];
	int prefix;
};

/* Parses one network. 0, or -1 when malformed. */
int rl_net_parse(const char *text, struct rl_net *net);
/* Parses a comma-separated list (spaces allowed; "" is empty). Returns
 * the count, or -1 with the bad item copied into bad (badlen bytes, NUL
 * terminated). *nets_r is malloc'd (NULL when empty). */
int rl_net_parse_list(const char *text, struct rl_net **nets_r, char *bad,
		      size_t badlen);
/* 1 when ip (text; IPv4-mapped IPv6 counts as IPv4) is in net. */
int rl_net_match(const struct rl_net *net, const char *ip);
int rl_net_match_list(const struct rl_net *nets, int count, const char *ip);

#endif
