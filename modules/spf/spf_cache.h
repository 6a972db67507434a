/* Recent SPF answers by (client IP, HELO, MAIL FROM), so the RCPT TO of
 * a transaction, its later recipients and its DATA share one check, and a
 * sender retrying soon is not looked up again. Loop thread only. Bounded:
 * when full, expired entries go, and if that is not enough, all. */
#ifndef SPF_CACHE_H
#define SPF_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "spf_eval.h"

struct spf_cache;

int spf_cache_new(size_t max_entries, struct spf_cache **cache_r);

/* The key of a check; "" when it does not fit (then do not cache). */
void spf_cache_key(char *buf, size_t len, const char *ip, const char *helo,
		   const char *mail_from);

/* 1 and *answer_r when key has an answer not yet expired at now_ms. */
int spf_cache_get(struct spf_cache *cache, const char *key, int64_t now_ms,
		  struct spf_answer *answer_r);

/* Stores (or replaces) key's answer until expires_ms. 0 or -ENOMEM. */
int spf_cache_put(struct spf_cache *cache, const char *key,
		  const struct spf_answer *answer, int64_t now_ms,
		  int64_t expires_ms);

size_t spf_cache_count(const struct spf_cache *cache);

void spf_cache_free(struct spf_cache **cache);

#endif
