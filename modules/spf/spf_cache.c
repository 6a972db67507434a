/* Recent SPF answers (spf_cache.h): a chained hash table. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spf_cache.h"

#define SLOTS 1024

struct entry {
	struct entry *next;
	int64_t expires_ms;
	struct spf_answer answer;
	char key[];
};

struct spf_cache {
	struct entry *slots[SLOTS];
	size_t count, max;
};

static size_t slot_of(const char *key)
{
	uint64_t h = 1469598103934665603ull;

	for (; *key != '\0'; key++)
		h = (h ^ (unsigned char)*key) * 1099511628211ull;
	return (size_t)(h % SLOTS);
}

int spf_cache_new(size_t max_entries, struct spf_cache **cache_r)
{
	struct spf_cache *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return -ENOMEM;
	c->max = max_entries > 0 ? max_entries : 1;
	*cache_r = c;
	return 0;
}

void spf_cache_key(char *buf, size_t len, const char *ip, const char *helo,
		   const char *mail_from)
{
	/* \n cannot occur in an SMTP argument: the fields stay apart. */
	int n = snprintf(buf, len, "%s\n%s\n%s", ip != NULL ? ip : "",
			 helo != NULL ? helo : "",
			 mail_from != NULL ? mail_from : "");

	if (n < 0 || (size_t)n >= len)
		buf[0] = '\0';
}

/* Drops entries expired at now_ms, or every entry when all is set. */
static void sweep(struct spf_cache *c, int64_t now_ms, int all)
{
	for (size_t i = 0; i < SLOTS; i++) {
		struct entry **p = &c->slots[i];

		while (*p != NULL) {
			struct entry *e = *p;

			if (!all && e->expires_ms > now_ms) {
				p = &e->next;
				continue;
			}
			*p = e->next;
			free(e);
			c->count--;
		}
	}
}

int spf_cache_get(struct spf_cache *c, const char *key, int64_t now_ms,
		  struct spf_answer *answer_r)
{
	if (key[0] == '\0')
		return 0;
	for (struct entry *e = c->slots[slot_of(key)]; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0) {
			if (e->expires_ms <= now_ms)
				return 0;
			*answer_r = e->answer;
			return 1;
		}
	return 0;
}

int spf_cache_put(struct spf_cache *c, const char *key,
		  const struct spf_answer *answer, int64_t now_ms,
		  int64_t expires_ms)
{
	size_t slot;

	if (key[0] == '\0')
		return 0;
	slot = slot_of(key);
	for (struct entry *e = c->slots[slot]; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0) {
			e->answer = *answer;
			e->expires_ms = expires_ms;
			return 0;
		}
	if (c->count >= c->max)
		sweep(c, now_ms, 0);
	if (c->count >= c->max)
		sweep(c, now_ms, 1);
	size_t klen = strlen(key) + 1;
	struct entry *e = malloc(sizeof(*e) + klen);

	if (e == NULL)
		return -ENOMEM;
	memcpy(e->key, key, klen);
	e->answer = *answer;
	e->expires_ms = expires_ms;
	e->next = c->slots[slot];
	c->slots[slot] = e;
	c->count++;
	return 0;
}

size_t spf_cache_count(const struct spf_cache *c)
{
	return c->count;
}

void spf_cache_free(struct spf_cache **c)
{
	if (*c == NULL)
		return;
	sweep(*c, 0, 1);
	free(*c);
	*c = NULL;
}
