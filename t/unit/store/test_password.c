/* yescrypt hashing, the asynchronous login check and its cache. */
#include <check.h>
#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth_cache.h"
#include "auth/password.h"
#include "config/config.h"
#include "test_util.h"

/* "$y$j9T$salt$hash" -> length of "$y$j9T$": the cost parameters. */
static size_t params_len(const char *hash)
{
	const char *p = hash;

	for (int i = 0; i < 3; i++) {
		p = strchr(p, '$');
		ck_assert_ptr_nonnull(p);
		p++;
	}
	return (size_t)(p - hash);
}

/* Setting part: everything up to the last '$'. */
static size_t setting_len(const char *hash)
{
	const char *p = strrchr(hash, '$');

	ck_assert_ptr_nonnull(p);
	return (size_t)(p - hash);
}

START_TEST(test_hash_and_verify)
{
	char h1[160], h2[160], small[8];

	ck_assert_int_eq(password_hash("correct horse", h1, sizeof h1), 0);
	ck_assert_int_eq(strncmp(h1, "$y$", 3), 0);
	ck_assert_int_eq(password_hash("correct horse", h2, sizeof h2), 0);
	/* A fresh salt each time. */
	ck_assert_str_ne(h1, h2);
	ck_assert_int_eq(password_hash("x", small, sizeof small), -EIO);

	ck_assert_int_eq(password_verify("correct horse", h1), 1);
	ck_assert_int_eq(password_verify("correct horse", h2), 1);
	ck_assert_int_eq(password_verify("correct hors", h1), 0);
	ck_assert_int_eq(password_verify("", h1), 0);

	/* Malformed hashes never match and never crash. */
	ck_assert_int_eq(password_verify("correct horse", ""), 0);
	ck_assert_int_eq(password_verify("correct horse", "$y$"), 0);
	ck_assert_int_eq(password_verify("correct horse", "garbage"), 0);
	ck_assert_int_eq(password_verify("correct horse", NULL), 0);
	ck_assert_int_eq(password_verify(NULL, h1), 0);
	/* A valid non-yescrypt hash (MD5-crypt of "x") is refused too. */
	ck_assert_int_eq(password_verify("x", "$1$abcdefgh$Nx1pXKnFo1b2VKc"
					      "YeP8Wf/"),
			 0);
}
END_TEST

START_TEST(test_dummy_hash_is_real_work)
{
	const char *dummy = password_dummy_hash();
	struct crypt_data *data = calloc(1, sizeof *data);
	char fresh[160];
	const char *out;
	int ran = 0;

	ck_assert_ptr_nonnull(data);
	ck_assert_int_eq(strncmp(dummy, "$y$", 3), 0);
	/* Same cost parameters as a hash made today. */
	ck_assert_int_eq(password_hash("p", fresh, sizeof fresh), 0);
	ck_assert_uint_eq(params_len(dummy), params_len(fresh));
	ck_assert_int_eq(memcmp(dummy, fresh, params_len(fresh)), 0);
	/* libxcrypt evaluates it as a full yescrypt setting. */
	out = crypt_rn("anything", dummy, data, sizeof *data);
	ck_assert_ptr_nonnull(out);
	ck_assert_uint_eq(strlen(out), strlen(dummy));
	ck_assert_int_eq(memcmp(out, dummy, setting_len(dummy) + 1), 0);
	free(data);
	ck_assert_int_eq(password_verify_ran("anything", dummy, &ran), 0);
	ck_assert_int_eq(ran, 1);
	ck_assert_int_eq(password_verify_ran("x", "$y$", &ran), 0);
	ck_assert_int_eq(ran, 0);
}
END_TEST

struct answer {
	int done;
	enum auth_result result;
	int cached;
};

static void on_auth(void *data, enum auth_result result, int cached)
{
	struct answer *a = data;

	a->done++;
	a->result = result;
	a->cached = cached;
}

static int job_users(struct store_txn *txn, void *data)
{
	const char *hash = data;
	struct store_account_new bob = {
		.address = "bob@example.test", .password_hash = hash,
	};
	struct store_account_new eve = {
		.address = "eve@example.test", .password_hash = hash,
	};
	struct store_account_change off = { .disabled = 1 };
	int ret;

	ret = store_txn_domain_add(txn, "example.test");
	if (ret == 0)
		ret = store_txn_account_add(txn, &bob, NULL);
	if (ret == 0)
		ret = store_txn_account_add(txn, &eve, NULL);
	if (ret == 0)
		ret = store_txn_account_set(txn, "eve@example.test", &off);
	return ret;
}

static enum auth_result auth_cached(struct fixture *fx,
				    struct auth_cache *cache,
				    const char *address, const char *password,
				    uint64_t *hashes_r, int *cached_r)
{
	struct answer a = { 0 };

	ck_assert_int_eq(auth_verify_async(&fx->loop, fx->store, cache,
					   address, password, on_auth, &a),
			 0);
	/* Never answered from inside the call. */
	ck_assert_int_eq(a.done, 0);
	while (!a.done)
		uv_run(&fx->loop, UV_RUN_ONCE);
	ck_assert_int_eq(a.done, 1);
	auth_verify_stats(fx->store, hashes_r);
	if (cached_r != NULL)
		*cached_r = a.cached;
	return a.result;
}

static enum auth_result auth(struct fixture *fx, const char *address,
			     const char *password, uint64_t *hashes_r)
{
	return auth_cached(fx, NULL, address, password, hashes_r, NULL);
}

START_TEST(test_auth_verify_async)
{
	struct fixture fx;
	char hash[160];
	uint64_t hashes = 99;

	fx_open(&fx, STORE_MODE_DAEMON);
	ck_assert_int_eq(password_hash("s3cret pass", hash, sizeof hash), 0);
	ck_assert_int_eq(fx_run(&fx, job_users, hash), 0);
	auth_verify_stats(fx.store, &hashes);
	ck_assert_uint_eq(hashes, 0);

	ck_assert_int_eq(auth(&fx, "bob@example.test", "s3cret pass", &hashes),
			 AUTH_OK);
	ck_assert_uint_eq(hashes, 1);
	ck_assert_int_eq(auth(&fx, "BOB@example.test", "s3cret pass", &hashes),
			 AUTH_OK);
	ck_assert_uint_eq(hashes, 2);
	ck_assert_int_eq(auth(&fx, "bob@example.test", "wrong", &hashes),
			 AUTH_FAILED);
	ck_assert_uint_eq(hashes, 3);
	/* Unknown account: same answer, and a full yescrypt run all the
	 * same (the counter only moves when crypt really evaluated). */
	ck_assert_int_eq(auth(&fx, "nobody@example.test", "s3cret pass",
			      &hashes),
			 AUTH_FAILED);
	ck_assert_uint_eq(hashes, 4);
	ck_assert_int_eq(auth(&fx, "not-an-address", "x", &hashes),
			 AUTH_FAILED);
	ck_assert_uint_eq(hashes, 5);
	ck_assert_int_eq(auth(&fx, "eve@example.test", "s3cret pass",
			      &hashes),
			 AUTH_DISABLED);
	ck_assert_uint_eq(hashes, 6);
	ck_assert_int_eq(auth(&fx, "eve@example.test", "wrong", &hashes),
			 AUTH_FAILED);
	ck_assert_uint_eq(hashes, 7);

	ck_assert_int_eq(auth_verify_async(&fx.loop, fx.store, NULL, NULL,
					   "x", on_auth, NULL),
			 -EINVAL);
	fx_close(&fx);
}
END_TEST

START_TEST(test_auth_pending_at_close)
{
	struct fixture fx;
	struct answer a = { 0 };

	fx_open(&fx, STORE_MODE_DAEMON);
	ck_assert_int_eq(auth_verify_async(&fx.loop, fx.store, NULL,
					   "nobody@example.test", "pw",
					   on_auth, &a),
			 0);
	/* The store goes first; the pending check still answers, and the
	 * loop closes clean (fx_close runs it dry). */
	store_close(&fx.store);
	ck_assert_int_eq(a.done, 0);
	fx_close(&fx);
	ck_assert_int_eq(a.done, 1);
	ck_assert_int_eq(a.result, AUTH_FAILED);
}
END_TEST

struct new_hash {
	const char *address;
	const char *hash;
	int disabled; /* -1: leave alone */
};

static int job_change(struct store_txn *txn, void *data)
{
	const struct new_hash *c = data;
	struct store_account_change change = { .disabled = c->disabled };

	if (c->hash != NULL)
		return store_txn_account_set_password(txn, c->address, c->hash,
						      1, 5);
	return store_txn_account_set(txn, c->address, &change);
}

static struct auth_cache *cache_new(int64_t size, int64_t negative_ttl)
{
	struct config config = { 0 };
	struct auth_cache *cache = NULL;

	config.server.auth_cache_size = size;
	config.server.auth_cache_ttl = -1;
	config.server.auth_cache_negative_ttl = negative_ttl;
	ck_assert_int_eq(auth_cache_new(&config, &cache), 0);
	return cache;
}

/* Asserts the result, the yescrypt count and whether the cache answered. */
#define CHECK_AUTH(fx, cache, who, pw, result, hashes, cached)               \
	do {                                                                  \
		uint64_t h_ = 0;                                              \
		int c_ = -1;                                                  \
		ck_assert_int_eq(auth_cached(fx, cache, who, pw, &h_, &c_),   \
				 result);                                     \
		ck_assert_uint_eq(h_, hashes);                                \
		ck_assert_int_eq(c_, cached);                                 \
	} while (0)

START_TEST(test_auth_cache)
{
	struct fixture fx;
	char hash[160], hash2[160];
	const char *bob = "bob@example.test", *eve = "eve@example.test";

	fx_open(&fx, STORE_MODE_DAEMON);
	ck_assert_int_eq(password_hash("s3cret pass", hash, sizeof hash), 0);
	ck_assert_int_eq(password_hash("new pass", hash2, sizeof hash2), 0);
	ck_assert_int_eq(fx_run(&fx, job_users, hash), 0);
	struct auth_cache *cache = cache_new(-1, -1);

	/* One yescrypt run, then the cache answers: right, wrong and
	 * unknown alike (an unknown account stays as fast as a known one). */
	CHECK_AUTH(&fx, cache, bob, "s3cret pass", AUTH_OK, 1, 0);
	CHECK_AUTH(&fx, cache, bob, "s3cret pass", AUTH_OK, 1, 1);
	CHECK_AUTH(&fx, cache, bob, "wrong", AUTH_FAILED, 2, 0);
	CHECK_AUTH(&fx, cache, bob, "wrong", AUTH_FAILED, 2, 1);
	CHECK_AUTH(&fx, cache, bob, "s3cret pass", AUTH_OK, 2, 1);
	CHECK_AUTH(&fx, cache, "nobody@example.test", "x", AUTH_FAILED, 3, 0);
	CHECK_AUTH(&fx, cache, "nobody@example.test", "x", AUTH_FAILED, 3, 1);
	CHECK_AUTH(&fx, cache, eve, "s3cret pass", AUTH_DISABLED, 4, 0);
	CHECK_AUTH(&fx, cache, eve, "s3cret pass", AUTH_DISABLED, 4, 1);

	/* A new password (written by another process: nothing told the
	 * cache): the old one no longer answers, the new one is verified. */
	struct new_hash change = { bob, hash2, -1 };
	ck_assert_int_eq(fx_run(&fx, job_change, &change), 0);
	CHECK_AUTH(&fx, cache, bob, "s3cret pass", AUTH_FAILED, 5, 0);
	CHECK_AUTH(&fx, cache, bob, "new pass", AUTH_OK, 6, 0);
	CHECK_AUTH(&fx, cache, bob, "new pass", AUTH_OK, 6, 1);
	/* Disabled meanwhile: refused at once, from the row read now. */
	change = (struct new_hash){ bob, NULL, 1 };
	ck_assert_int_eq(fx_run(&fx, job_change, &change), 0);
	CHECK_AUTH(&fx, cache, bob, "new pass", AUTH_DISABLED, 6, 1);
	change = (struct new_hash){ bob, NULL, 0 };
	ck_assert_int_eq(fx_run(&fx, job_change, &change), 0);
	/* Forgotten: verified again. */
	auth_cache_forget(cache, bob);
	CHECK_AUTH(&fx, cache, bob, "new pass", AUTH_OK, 7, 0);
	uint64_t hits, misses;
	auth_cache_stats(cache, &hits, &misses);
	ck_assert_uint_eq(hits, 7);
	ck_assert_uint_eq(misses, 7);
	auth_cache_free(&cache);
	ck_assert_ptr_null(cache);
	fx_close(&fx);
}
END_TEST

START_TEST(test_auth_cache_bounds)
{
	struct fixture fx;
	char hash[160];
	const char *bob = "bob@example.test";

	fx_open(&fx, STORE_MODE_DAEMON);
	ck_assert_int_eq(password_hash("s3cret pass", hash, sizeof hash), 0);
	ck_assert_int_eq(fx_run(&fx, job_users, hash), 0);
	/* Two entries at most: the least recently used goes first. */
	struct auth_cache *cache = cache_new(2, -1);
	const char *eve = "eve@example.test", *nobody = "nobody@example.test";
	CHECK_AUTH(&fx, cache, bob, "s3cret pass", AUTH_OK, 1, 0);
	CHECK_AUTH(&fx, cache, eve, "s3cret pass", AUTH_DISABLED, 2, 0);
	CHECK_AUTH(&fx, cache, bob, "s3cret pass", AUTH_OK, 2, 1);
	CHECK_AUTH(&fx, cache, nobody, "x", AUTH_FAILED, 3, 0);
	CHECK_AUTH(&fx, cache, eve, "s3cret pass", AUTH_DISABLED, 4, 0);
	CHECK_AUTH(&fx, cache, nobody, "x", AUTH_FAILED, 4, 1);
	CHECK_AUTH(&fx, cache, bob, "s3cret pass", AUTH_OK, 5, 0);
	auth_cache_free(&cache);
	/* Failures not kept (auth_cache_negative_ttl = 0). */
	cache = cache_new(-1, 0);
	CHECK_AUTH(&fx, cache, bob, "wrong", AUTH_FAILED, 6, 0);
	CHECK_AUTH(&fx, cache, bob, "wrong", AUTH_FAILED, 7, 0);
	CHECK_AUTH(&fx, cache, bob, "s3cret pass", AUTH_OK, 8, 0);
	CHECK_AUTH(&fx, cache, bob, "s3cret pass", AUTH_OK, 8, 1);
	auth_cache_free(&cache);
	/* Size 0: no cache at all. */
	cache = cache_new(0, -1);
	CHECK_AUTH(&fx, cache, bob, "s3cret pass", AUTH_OK, 9, 0);
	CHECK_AUTH(&fx, cache, bob, "s3cret pass", AUTH_OK, 10, 0);
	auth_cache_free(&cache);
	fx_close(&fx);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("password");
	TCase *tc = tcase_create("password");
	SRunner *sr;
	int failed;

	tu_add_fixture(tc);
	tcase_add_test(tc, test_hash_and_verify);
	tcase_add_test(tc, test_dummy_hash_is_real_work);
	tcase_add_test(tc, test_auth_verify_async);
	tcase_add_test(tc, test_auth_pending_at_close);
	tcase_add_test(tc, test_auth_cache);
	tcase_add_test(tc, test_auth_cache_bounds);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
