/* Connections per client address, for max_connections_per_ip. Only
 * addresses with open connections are kept, so memory follows the number
 * of connections, not the number of clients ever seen. */
#ifndef POSTINO_IPTABLE_H
#define POSTINO_IPTABLE_H

#include <stddef.h>

struct iptable_entry;

struct iptable {
	struct iptable_entry **buckets;
	size_t bucket_count;
	size_t entries;
};

void iptable_init(struct iptable *t);
void iptable_free(struct iptable *t);
/* Current count for ip. */
unsigned iptable_count(const struct iptable *t, const char *ip);
/* +1 / -1; returns the new count, or -ENOMEM. */
int iptable_inc(struct iptable *t, const char *ip);
void iptable_dec(struct iptable *t, const char *ip);

#endif
