/* ratelimit.so's small string-keyed hash table (accounts, login records).
 * Pure: malloc only; keys are copied, values belong to the caller. */
#ifndef RL_TABLE_H
#define RL_TABLE_H

#include <stddef.h>

#define RL_TABLE_SLOTS 1024

struct rl_node {
	struct rl_node *next;
	char *key;
	void *val;
};

struct rl_table {
	struct rl_node *slots[RL_TABLE_SLOTS];
	size_t count;
};

void *rl_table_get(const struct rl_table *t, const char *key);
/* Adds key (which must not be there yet). 0, or -1 out of memory. */
int rl_table_put(struct rl_table *t, const char *key, void *val);
/* Removes key; returns its value, or NULL when absent. */
void *rl_table_take(struct rl_table *t, const char *key);
/* Removes (and frees with drop) every value keep() says no to; keep NULL:
 * all of them. */
void rl_table_sweep(struct rl_table *t, int (*keep)(void *val, void *ctx),
		    void (*drop)(void *val, void *ctx), void *ctx);

#endif
