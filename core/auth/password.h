/* Passwords: yescrypt hashes through libxcrypt; nothing can recover a
 * password. Verification takes tens of milliseconds by design, so the
 * daemon runs it off the loop (auth_verify_async). */
#ifndef POSTINO_PASSWORD_H
#define POSTINO_PASSWORD_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct store;
struct auth_cache;

/* Old hashes kept per account in password_history: enough for any
 * reasonable "not one of the last N" rule (pwpolicy's history setting). */
#define PASSWORD_HISTORY_KEEP 24

/* Hashes plain with a fresh random salt ("$y$..."); 0 or -EIO. */
int password_hash(const char *plain, char *hash_r, size_t size);
/* 1 when plain matches hash, 0 otherwise (also for a malformed hash).
 * Compares in constant time. */
int password_verify(const char *plain, const char *hash);
/* password_verify that also sets *ran_r to 1 when yescrypt really evaluated
 * hash (0 when it was rejected as malformed): lets tests prove an unknown
 * account costs the same work as a known one. */
int password_verify_ran(const char *plain, const char *hash, int *ran_r);
/* The fixed yescrypt hash unknown accounts are checked against. */
const char *password_dummy_hash(void);

enum auth_result {
	AUTH_OK = 0,
	AUTH_FAILED = 1,   /* unknown account or wrong password: same answer */
	AUTH_DISABLED = 2, /* right password, account disabled */
	AUTH_ERROR = 3,    /* store failure */
};

/* cached: the authentication cache answered (no yescrypt ran). */
typedef void auth_verify_cb(void *data, enum auth_result result, int cached);

/* Looks the account up (loop thread, indexed read), then asks cache (may
 * be NULL; auth_cache.h) or verifies on the libuv threadpool, and calls
 * cb on the loop thread. An unknown account is verified against a fixed
 * dummy hash so the answer takes the same time (and is cached alike).
 * The strings are copied. Returns 0 or a negative error (cb not called).
 * cb never runs inside this call. store_close may be called while checks
 * are pending: the store stays allocated until their callbacks ran. */
int auth_verify_async(uv_loop_t *loop, struct store *store,
		      struct auth_cache *cache, const char *address,
		      const char *password, auth_verify_cb *cb, void *data);
/* yescrypt evaluations auth_verify_async has completed for this store
 * (loop thread; for tests and metrics). */
void auth_verify_stats(const struct store *store, uint64_t *hashes_r);

#endif
