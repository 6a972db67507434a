/* Asynchronous login check: account lookup on the loop thread (an indexed
 * read), then the answer of the authentication cache (auth_cache.h) or
 * yescrypt on the libuv threadpool, answer back on the loop. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth_cache.h"
#include "auth/password.h"
#include "store/store_internal.h"

struct auth_work {
	uv_work_t req;
	uv_timer_t answer; /* a cached answer, given on the next loop turn */
	struct store *store;
	struct auth_cache *cache; /* NULL: none */
	auth_verify_cb *cb;
	void *data;
	int known;    /* the account exists */
	int disabled;
	int lookup_failed;
	int match;
	int ran; /* yescrypt actually evaluated the hash */
	int cached; /* the cache answered: match is its */
	uint8_t digest[AUTH_CACHE_DIGEST_SIZE]; /* valid when cache set */
	char account[sizeof(((struct store_account *)0)->address)];
	char hash[sizeof(((struct store_account *)0)->password_hash)];
	size_t password_len;
	char *password; /* wiped before it is freed */
};

static void auth_work_free(struct auth_work **w)
{
	if (*w == NULL)
		return;
	if ((*w)->password != NULL) {
		explicit_bzero((*w)->password, (*w)->password_len);
		free((*w)->password);
	}
	free(*w);
	*w = NULL;
}

static void on_work(uv_work_t *req)
{
	struct auth_work *w = (struct auth_work *)req;

	if (w->lookup_failed)
		return;
	/* The same call on the same kind of hash whether or not the account
	 * exists: an unknown address must not answer faster. */
	w->match = password_verify_ran(w->password, w->hash, &w->ran);
	explicit_bzero(w->password, w->password_len);
}

static enum auth_result auth_outcome(const struct auth_work *w, int status)
{
	if (status != 0 || w->lookup_failed || (!w->ran && !w->cached))
		return AUTH_ERROR;
	if (!w->known || !w->match)
		return AUTH_FAILED;
	return w->disabled ? AUTH_DISABLED : AUTH_OK;
}

static void on_work_done(uv_work_t *req, int status)
{
	struct auth_work *w = (struct auth_work *)req;
	struct store *store = w->store;
	enum auth_result result = auth_outcome(w, status);

	if (w->ran) {
		store_auth_hash_counted(store);
		if (w->cache != NULL)
			auth_cache_store(w->cache, w->account, w->digest,
					 w->known && w->match);
	}
	w->cb(w->data, result, 0);
	auth_work_free(&w);
	/* Last: the callback may have closed the store, which stays
	 * allocated until this reference goes. */
	store_unref(store);
}

static void on_answer_closed(uv_handle_t *handle)
{
	struct auth_work *w = handle->data;
	struct store *store = w->store;

	auth_work_free(&w);
	store_unref(store);
}

static void on_answer(uv_timer_t *timer)
{
	struct auth_work *w = timer->data;

	w->cb(w->data, auth_outcome(w, 0), 1);
	uv_close((uv_handle_t *)&w->answer, on_answer_closed);
}

/* The cache's answer for this login, if it has one: given from a timer
 * of 0 ms, never inside the call, and not behind yescrypt work queued on
 * the threadpool. */
static int auth_cached(uv_loop_t *loop, struct auth_work *w,
		       const char *password)
{
	int match = 0;

	if (w->cache == NULL || w->lookup_failed ||
	    auth_cache_digest(w->cache, w->account, password, w->hash,
			      w->digest) < 0) {
		w->cache = NULL;
		return 0;
	}
	if (!auth_cache_lookup(w->cache, w->digest, &match))
		return 0;
	w->cached = 1;
	w->match = match;
	uv_timer_init(loop, &w->answer);
	w->answer.data = w;
	uv_timer_start(&w->answer, on_answer, 0, 0);
	return 1;
}

int auth_verify_async(uv_loop_t *loop, struct store *store,
		      struct auth_cache *cache, const char *address,
		      const char *password, auth_verify_cb *cb, void *data)
{
	struct store_account account;
	struct auth_work *w;
	int ret;

	if (loop == NULL || store == NULL || address == NULL ||
	    password == NULL || cb == NULL)
		return -EINVAL;
	if (store->closed)
		return -ESHUTDOWN;
	w = calloc(1, sizeof *w);
	if (w == NULL)
		return -ENOMEM;
	w->password_len = strlen(password) + 1;
	w->password = malloc(w->password_len);
	if (w->password == NULL) {
		auth_work_free(&w);
		return -ENOMEM;
	}
	memcpy(w->password, password, w->password_len);
	w->store = store;
	w->cache = cache;
	w->cb = cb;
	w->data = data;
	snprintf(w->account, sizeof w->account, "%s", address);

	ret = store_account_get(store, address, &account);
	if (ret == 0) {
		w->known = 1;
		w->disabled = account.disabled;
		memcpy(w->hash, account.password_hash, sizeof w->hash);
	} else if (ret == -ENOENT || ret == -EINVAL) {
		/* A malformed address is just another unknown account. */
		strcpy(w->hash, password_dummy_hash());
	} else {
		w->lookup_failed = 1;
	}
	if (auth_cached(loop, w, password)) {
		explicit_bzero(w->password, w->password_len);
		store_ref(store);
		return 0;
	}
	/* The threadpool still answers for a failed lookup, so cb always
	 * runs later, never inside this call. */
	ret = uv_queue_work(loop, &w->req, on_work, on_work_done);
	if (ret < 0) {
		auth_work_free(&w);
		return ret;
	}
	store_ref(store);
	return 0;
}

void auth_verify_stats(const struct store *store, uint64_t *hashes_r)
{
	*hashes_r = __atomic_load_n(&store->writer->auth_hashes,
				    __ATOMIC_RELAXED);
}
