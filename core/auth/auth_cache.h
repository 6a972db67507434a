/* Logins verified recently, so that the same account logging in again
 * with the same password costs a keyed hash and an indexed read instead
 * of a yescrypt evaluation (as Dovecot's auth_cache). One node-wide cache
 * every worker uses, under one mutex.
 *
 * An entry is keyed by HMAC-SHA256, under a key drawn at random when the
 * process starts, of the account, the password and the stored hash the
 * password was verified against; it holds that digest (never the
 * password), the account's name (to forget it), whether the password
 * matched, and when the entry expires ([server] auth_cache_ttl, or
 * auth_cache_negative_ttl for a mismatch or an unknown account). A
 * login looks the account up as always, and an entry answers only for
 * the hash read now: any change of the password (postino user passwd in
 * another process, a reset, pwpolicy's forced change) makes the old
 * entries unreachable at once, and a disabled account is refused from
 * the row read now, whatever the entry says. At most
 * [server] auth_cache_size entries, the least recently used dropped
 * first; 0 turns the cache off. */
#ifndef POSTINO_AUTH_CACHE_H
#define POSTINO_AUTH_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

#define AUTH_CACHE_DIGEST_SIZE 32

struct auth_cache;

int auth_cache_new(const struct config *config, struct auth_cache **cache_r);
/* SIGHUP: the new size and TTLs; a smaller size drops entries now. */
void auth_cache_configure(struct auth_cache *cache,
			  const struct config *config);
void auth_cache_free(struct auth_cache **cache);

/* The digest of a login attempt: 0, or -ENODEV without a cache. */
int auth_cache_digest(struct auth_cache *cache, const char *account,
		      const char *password, const char *stored_hash,
		      uint8_t digest_r[AUTH_CACHE_DIGEST_SIZE]);
/* 1 and *match_r when a live entry has digest, else 0. */
int auth_cache_lookup(struct auth_cache *cache,
		      const uint8_t digest[AUTH_CACHE_DIGEST_SIZE],
		      int *match_r);
/* Records a verification's outcome. */
void auth_cache_store(struct auth_cache *cache, const char *account,
		      const uint8_t digest[AUTH_CACHE_DIGEST_SIZE], int match);
/* Drops every entry of account (its password was just set). */
void auth_cache_forget(struct auth_cache *cache, const char *account);
/* Hits and misses so far (for tests and metrics). */
void auth_cache_stats(struct auth_cache *cache, uint64_t *hits_r,
		      uint64_t *misses_r);

#endif
