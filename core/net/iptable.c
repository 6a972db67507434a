#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/iptable.h"

#define IPTABLE_BUCKETS 256

struct iptable_entry {
	struct iptable_entry *next;
	unsigned count;
	char ip[];
};

void iptable_key(const char *ip, char key_r[IPTABLE_KEY_MAX])
{
	struct in6_addr a6;
	char text[INET6_ADDRSTRLEN];

	if (inet_pton(AF_INET6, ip, &a6) != 1) {
		snprintf(key_r, IPTABLE_KEY_MAX, "%s", ip);
		return;
	}
	memset(a6.s6_addr + 8, 0, 8);
	inet_ntop(AF_INET6, &a6, text, sizeof(text));
	snprintf(key_r, IPTABLE_KEY_MAX, "%s/64", text);
}

void iptable_init(struct iptable *t)
{
	memset(t, 0, sizeof(*t));
}

void iptable_free(struct iptable *t)
{
	for (size_t i = 0; i < t->bucket_count; i++) {
		while (t->buckets[i] != NULL) {
			struct iptable_entry *e = t->buckets[i];
			t->buckets[i] = e->next;
			free(e);
		}
	}
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

/* FNV-1a: addresses are short and hostile clients cannot pick them freely
 * enough to hurt a table this size. */
static size_t iptable_hash(const char *ip)
{
	uint32_t h = 2166136261u;

	for (; *ip != '\0'; ip++)
		h = (h ^ (unsigned char)*ip) * 16777619u;
	return h % IPTABLE_BUCKETS;
}

static struct iptable_entry **iptable_slot(const struct iptable *t,
					   const char *ip)
{
	if (t->buckets == NULL)
		return NULL;
	struct iptable_entry **p = &t->buckets[iptable_hash(ip)];
	while (*p != NULL && strcmp((*p)->ip, ip) != 0)
		p = &(*p)->next;
	return p;
}

unsigned iptable_count(const struct iptable *t, const char *ip)
{
	struct iptable_entry **p = iptable_slot(t, ip);

	return p != NULL && *p != NULL ? (*p)->count : 0;
}

int iptable_inc(struct iptable *t, const char *ip)
{
	if (t->buckets == NULL) {
		t->buckets = calloc(IPTABLE_BUCKETS, sizeof(*t->buckets));
		if (t->buckets == NULL)
			return -ENOMEM;
		t->bucket_count = IPTABLE_BUCKETS;
	}
	struct iptable_entry **p = iptable_slot(t, ip);
	if (*p == NULL) {
		size_t len = strlen(ip) + 1;
		*p = calloc(1, sizeof(**p) + len);
		if (*p == NULL)
			return -ENOMEM;
		memcpy((*p)->ip, ip, len);
		t->entries++;
	}
	return (int)++(*p)->count;
}

void iptable_dec(struct iptable *t, const char *ip)
{
	struct iptable_entry **p = iptable_slot(t, ip);

	if (p == NULL || *p == NULL)
		return;
	if (--(*p)->count == 0) {
		struct iptable_entry *e = *p;
		*p = e->next;
		free(e);
		t->entries--;
	}
}
