/* The string-keyed table; see rl_table.h. */
#include "rl_table.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t rl_hash(const char *key)
{
	uint64_t h = 1469598103934665603ull;

	for (; *key != '\0'; key++)
		h = (h ^ (unsigned char)*key) * 1099511628211ull;
	return (size_t)(h % RL_TABLE_SLOTS);
}

void *rl_table_get(const struct rl_table *t, const char *key)
{
	for (struct rl_node *n = t->slots[rl_hash(key)]; n != NULL; n = n->next)
		if (strcmp(n->key, key) == 0)
			return n->val;
	return NULL;
}

int rl_table_put(struct rl_table *t, const char *key, void *val)
{
	struct rl_node *n = calloc(1, sizeof(*n));

	if (n == NULL || (n->key = strdup(key)) == NULL) {
		free(n);
		return -1;
	}
	size_t slot = rl_hash(key);

	n->val = val;
	n->next = t->slots[slot];
	t->slots[slot] = n;
	t->count++;
	return 0;
}

void *rl_table_take(struct rl_table *t, const char *key)
{
	for (struct rl_node **p = &t->slots[rl_hash(key)]; *p != NULL;
	     p = &(*p)->next) {
		struct rl_node *n = *p;

		if (strcmp(n->key, key) != 0)
			continue;
		void *val = n->val;

		*p = n->next;
		free(n->key);
		free(n);
		t->count--;
		return val;
	}
	return NULL;
}

void rl_table_sweep(struct rl_table *t, int (*keep)(void *val, void *ctx),
		    void (*drop)(void *val, void *ctx), void *ctx)
{
	for (size_t i = 0; i < RL_TABLE_SLOTS; i++) {
		struct rl_node **p = &t->slots[i];

		while (*p != NULL) {
			struct rl_node *n = *p;

			if (keep != NULL && keep(n->val, ctx)) {
				p = &n->next;
				continue;
			}
			*p = n->next;
			drop(n->val, ctx);
			free(n->key);
			free(n);
			t->count--;
		}
	}
}
