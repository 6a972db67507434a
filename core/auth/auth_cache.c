/* The authentication cache; see auth_cache.h. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "auth/auth_cache.h"

#define AUTH_CACHE_KEY_SIZE 32
#define AUTH_CACHE_DEFAULT_SIZE 16384
#define AUTH_CACHE_DEFAULT_TTL 3600
#define AUTH_CACHE_DEFAULT_NEGATIVE_TTL 3600

struct auth_entry {
	struct auth_entry *hnext;        /* in its bucket */
	struct auth_entry *prev, *next;  /* least recently used first */
	uint8_t digest[AUTH_CACHE_DIGEST_SIZE];
	int match;
	int64_t expires;                 /* CLOCK_MONOTONIC seconds */
	char account[];
};

struct auth_cache {
	pthread_mutex_t lock;
	uint8_t key[AUTH_CACHE_KEY_SIZE];
	size_t max;       /* entries; 0: off */
	int64_t ttl, negative_ttl;
	struct auth_entry **buckets;
	size_t bucket_count;
	size_t count;
	struct auth_entry *oldest, *newest;
	uint64_t hits, misses;
};

static int64_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void read_config(struct auth_cache *c, const struct config *config)
{
	const struct config_server *s = &config->server;

	c->max = s->auth_cache_size >= 0 ? (size_t)s->auth_cache_size
					 : AUTH_CACHE_DEFAULT_SIZE;
	c->ttl = s->auth_cache_ttl > 0 ? s->auth_cache_ttl
				       : AUTH_CACHE_DEFAULT_TTL;
	c->negative_ttl = s->auth_cache_negative_ttl >= 0
				  ? s->auth_cache_negative_ttl
				  : AUTH_CACHE_DEFAULT_NEGATIVE_TTL;
}

int auth_cache_new(const struct config *config, struct auth_cache **cache_r)
{
	struct auth_cache *c = calloc(1, sizeof(*c));

	*cache_r = NULL;
	if (c == NULL)
		return -ENOMEM;
	/* Per process, never stored: a digest is worth nothing elsewhere,
	 * and nothing survives a restart to be attacked offline. */
	if (gnutls_rnd(GNUTLS_RND_KEY, c->key, sizeof(c->key)) < 0) {
		free(c);
		return -EIO;
	}
	pthread_mutex_init(&c->lock, NULL);
	read_config(c, config);
	*cache_r = c;
	return 0;
}

static size_t bucket_of(const struct auth_cache *c,
			const uint8_t digest[AUTH_CACHE_DIGEST_SIZE])
{
	uint64_t h;

	/* The digest is a keyed hash: its bits are as good as any. */
	memcpy(&h, digest, sizeof(h));
	return (size_t)(h % c->bucket_count);
}

static void lru_unlink(struct auth_cache *c, struct auth_entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		c->oldest = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		c->newest = e->prev;
	e->prev = e->next = NULL;
}

static void lru_append(struct auth_cache *c, struct auth_entry *e)
{
	e->prev = c->newest;
	e->next = NULL;
	if (c->newest != NULL)
		c->newest->next = e;
	else
		c->oldest = e;
	c->newest = e;
}

/* Caller holds the lock. */
static void entry_drop(struct auth_cache *c, struct auth_entry *e)
{
	struct auth_entry **p = &c->buckets[bucket_of(c, e->digest)];

	while (*p != e)
		p = &(*p)->hnext;
	*p = e->hnext;
	lru_unlink(c, e);
	c->count--;
	explicit_bzero(e->digest, sizeof(e->digest));
	free(e);
}

static void shrink_to(struct auth_cache *c, size_t max)
{
	while (c->count > max && c->oldest != NULL)
		entry_drop(c, c->oldest);
}

void auth_cache_configure(struct auth_cache *c, const struct config *config)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	read_config(c, config);
	shrink_to(c, c->max);
	pthread_mutex_unlock(&c->lock);
}

void auth_cache_free(struct auth_cache **cachep)
{
	struct auth_cache *c = *cachep;

	*cachep = NULL;
	if (c == NULL)
		return;
	shrink_to(c, 0);
	free(c->buckets);
	explicit_bzero(c->key, sizeof(c->key));
	pthread_mutex_destroy(&c->lock);
	free(c);
}

int auth_cache_digest(struct auth_cache *c, const char *account,
		      const char *password, const char *stored_hash,
		      uint8_t digest_r[AUTH_CACHE_DIGEST_SIZE])
{
	gnutls_hmac_hd_t hmac;

	if (c == NULL)
		return -ENODEV;
	/* The NULs keep ("ab","c") and ("a","bc") apart. */
	if (gnutls_hmac_init(&hmac, GNUTLS_MAC_SHA256, c->key,
			     sizeof(c->key)) < 0)
		return -EIO;
	gnutls_hmac(hmac, account, strlen(account) + 1);
	gnutls_hmac(hmac, password, strlen(password) + 1);
	gnutls_hmac(hmac, stored_hash, strlen(stored_hash) + 1);
	gnutls_hmac_deinit(hmac, digest_r);
	return 0;
}

/* Caller holds the lock. */
static struct auth_entry *find(struct auth_cache *c,
			       const uint8_t digest[AUTH_CACHE_DIGEST_SIZE])
{
	if (c->buckets == NULL)
		return NULL;
	struct auth_entry *e = c->buckets[bucket_of(c, digest)];
	while (e != NULL &&
	       gnutls_memcmp(e->digest, digest, AUTH_CACHE_DIGEST_SIZE) != 0)
		e = e->hnext;
	return e;
}

int auth_cache_lookup(struct auth_cache *c,
		      const uint8_t digest[AUTH_CACHE_DIGEST_SIZE],
		      int *match_r)
{
	int found = 0;

	pthread_mutex_lock(&c->lock);
	struct auth_entry *e = find(c, digest);
	if (e != NULL && e->expires <= now_s()) {
		entry_drop(c, e);
		e = NULL;
	}
	if (e != NULL) {
		lru_unlink(c, e);
		lru_append(c, e);
		*match_r = e->match;
		found = 1;
		c->hits++;
	} else {
		c->misses++;
	}
	pthread_mutex_unlock(&c->lock);
	return found;
}

/* Caller holds the lock. Buckets follow the size bound, made once. */
static int buckets_ready(struct auth_cache *c)
{
	if (c->buckets != NULL)
		return 0;
	c->bucket_count = c->max > 64 ? c->max : 64;
	c->buckets = calloc(c->bucket_count, sizeof(*c->buckets));
	return c->buckets != NULL ? 0 : -ENOMEM;
}

void auth_cache_store(struct auth_cache *c, const char *account,
		      const uint8_t digest[AUTH_CACHE_DIGEST_SIZE], int match)
{
	size_t len = strlen(account);

	pthread_mutex_lock(&c->lock);
	if (c->max == 0 || (!match && c->negative_ttl == 0) ||
	    buckets_ready(c) < 0) {
		pthread_mutex_unlock(&c->lock);
		return;
	}
	struct auth_entry *e = find(c, digest);
	if (e != NULL)
		entry_drop(c, e);
	shrink_to(c, c->max - 1);
	e = malloc(sizeof(*e) + len + 1);
	if (e != NULL) {
		memcpy(e->digest, digest, AUTH_CACHE_DIGEST_SIZE);
		memcpy(e->account, account, len + 1);
		e->match = match != 0;
		e->expires = now_s() + (match ? c->ttl : c->negative_ttl);
		size_t b = bucket_of(c, digest);
		e->hnext = c->buckets[b];
		c->buckets[b] = e;
		lru_append(c, e);
		c->count++;
	}
	pthread_mutex_unlock(&c->lock);
}

void auth_cache_forget(struct auth_cache *c, const char *account)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	for (struct auth_entry *e = c->oldest, *next; e != NULL; e = next) {
		next = e->next;
		if (strcasecmp(e->account, account) == 0)
			entry_drop(c, e);
	}
	pthread_mutex_unlock(&c->lock);
}

void auth_cache_stats(struct auth_cache *c, uint64_t *hits_r,
		      uint64_t *misses_r)
{
	pthread_mutex_lock(&c->lock);
	*hits_r = c->hits;
	*misses_r = c->misses;
	pthread_mutex_unlock(&c->lock);
}
