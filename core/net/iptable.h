/* Connections per client address, for max_connections_per_ip and the
 * process's fair share (net_limits.c). Only addresses with open
 * connections are kept, so memory follows the number of connections, not
 * the number of clients ever seen. An address is counted by its key
 * (iptable_key): an IPv6 client is its /64. */
#ifndef POSTINO_IPTABLE_H
#define POSTINO_IPTABLE_H

#include <stddef.h>

struct iptable_entry;

struct iptable {
	struct iptable_entry **buckets;
	size_t bucket_count;
	size_t entries;
};

/* "2001:db8:1:2::/64" for an IPv6 address: one host (one customer's
 * line) is given a whole /64 and can pick any address in it, so counting
 * single addresses would let it open a limit's worth from each. An IPv4
 * address is its own key. Anything else is kept as written. */
#define IPTABLE_KEY_MAX 64
void iptable_key(const char *ip, char key_r[IPTABLE_KEY_MAX]);

void iptable_init(struct iptable *t);
void iptable_free(struct iptable *t);
/* Current count for ip. */
unsigned iptable_count(const struct iptable *t, const char *ip);
/* +1 / -1; returns the new count, or -ENOMEM. */
int iptable_inc(struct iptable *t, const char *ip);
void iptable_dec(struct iptable *t, const char *ip);

#endif
