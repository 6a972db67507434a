/* Host entries for accounts (plugin.h "accounts"): reads, yescrypt work
 * off the loop, and password changes that tell the other modules.
 *
 * yescrypt costs tens of milliseconds, so in the daemon every hash and
 * verify runs on the libuv threadpool and reports back on the loop. The
 * admin CLI has no loop running while a module command executes, so there
 * the same work runs at once and done is called before the entry returns
 * (the contract state_put already has). Plaintext is copied once and wiped
 * before it is freed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/password.h"
#include "auth/auth_cache.h"
#include "host/host_account.h"
#include "module/hooks.h"
#include "store/store.h"
#include "util/address.h"

#define HASH_MAX 160

int host_account_get(struct postino_mod *mod, const char *address,
		     struct postino_account *account_r)
{
	struct store_account a;
	struct postino_account out = { .size = sizeof(out) };

	if (address == NULL || account_r == NULL ||
	    !POSTINO_HAS_FIELD(account_r, struct postino_account, address))
		return -EINVAL;
	if (mod->ctx->store == NULL)
		return -ENODEV;
	int ret = store_account_get(mod->ctx->store, address, &a);
	if (ret < 0)
		return ret;
	const char *at = strrchr(a.address, '@');

	snprintf(out.address, sizeof(out.address), "%s", a.address);
	snprintf(out.domain, sizeof(out.domain), "%s", at != NULL ? at + 1 : "");
	snprintf(out.secondary, sizeof(out.secondary), "%s", a.secondary);
	snprintf(out.lang, sizeof(out.lang), "%s", a.lang);
	out.disabled = a.disabled;
	out.password_changed = a.password_changed;
	out.created = a.created;
	/* Only what the module's struct covers; its size stays its own. */
	size_t size = account_r->size < sizeof(out) ? account_r->size
						    : sizeof(out);
	memcpy((char *)account_r + sizeof(size_t),
	       (const char *)&out + sizeof(size_t), size - sizeof(size_t));
	explicit_bzero(&a, sizeof(a)); /* it held the hash */
	return 0;
}

struct account_list_ctx {
	int (*cb)(void *data, const char *address);
	void *data;
};

static int account_list_one(void *data, const struct store_account *a)
{
	struct account_list_ctx *ctx = data;

	return ctx->cb(ctx->data, a->address);
}

int host_account_list(struct postino_mod *mod, const char *domain,
		      int (*cb)(void *data, const char *address), void *data)
{
	struct account_list_ctx ctx = { cb, data };

	if (cb == NULL)
		return -EINVAL;
	if (mod->ctx->store == NULL)
		return -ENODEV;
	return store_account_list(mod->ctx->store, domain, account_list_one,
				  &ctx);
}

/* ---- yescrypt work ------------------------------------------------------ */

enum pw_kind { PW_HASH, PW_VERIFY, PW_HISTORY };

struct pw_job {
	uv_work_t req;
	struct module_set *set; /* keeps the module loaded until done ran */
	enum pw_kind kind;
	char *password;
	char **hashes; /* VERIFY: one; HISTORY: current first */
	size_t count;
	int status;
	char hash[HASH_MAX];
	void (*hash_done)(void *data, int status, const char *hash);
	void (*check_done)(void *data, int status);
	void *data;
};

static void pw_job_free(struct pw_job *job)
{
	if (job->password != NULL) {
		explicit_bzero(job->password, strlen(job->password));
		free(job->password);
	}
	for (size_t i = 0; i < job->count; i++)
		free(job->hashes[i]);
	free(job->hashes);
	explicit_bzero(job->hash, sizeof(job->hash));
	if (job->set != NULL)
		module_set_unref(&job->set);
	free(job);
}

static void pw_job_work(uv_work_t *req)
{
	struct pw_job *job = req->data;

	switch (job->kind) {
	case PW_HASH:
		job->status = password_hash(job->password, job->hash,
					    sizeof(job->hash));
		break;
	case PW_VERIFY:
	case PW_HISTORY:
		job->status = 0;
		/* Every hash is checked, found or not: the time taken says
		 * nothing about which one matched. */
		for (size_t i = 0; i < job->count; i++)
			if (password_verify(job->password, job->hashes[i]))
				job->status = 1;
		break;
	}
}

static void pw_job_after(uv_work_t *req, int status)
{
	struct pw_job *job = req->data;

	if (status < 0)
		job->status = status; /* cancelled at shutdown */
	if (job->kind == PW_HASH)
		job->hash_done(job->data, job->status,
			       job->status == 0 ? job->hash : NULL);
	else
		job->check_done(job->data, job->status);
	pw_job_free(job);
}

static struct pw_job *pw_job_new(struct postino_mod *mod, enum pw_kind kind,
				 const char *password, size_t hashes)
{
	struct pw_job *job = calloc(1, sizeof(*job));

	if (job == NULL)
		return NULL;
	job->req.data = job;
	job->kind = kind;
	job->password = strdup(password);
	job->hashes = calloc(hashes + 1, sizeof(char *));
	if (job->password == NULL || job->hashes == NULL) {
		pw_job_free(job);
		return NULL;
	}
	job->set = mod->set;
	module_set_ref(job->set);
	return job;
}

/* Admin mode: now, done before returning. Daemon: on the threadpool. */
static int pw_job_start(struct postino_mod *mod, struct pw_job *job)
{
	if (mod->ctx->mode == CORE_MODE_ADMIN) {
		pw_job_work(&job->req);
		pw_job_after(&job->req, 0);
		return 0;
	}
	int ret = uv_queue_work(mod->ctx->loop, &job->req, pw_job_work,
				pw_job_after);
	if (ret < 0)
		pw_job_free(job);
	return ret;
}

int host_password_hash(struct postino_mod *mod, const char *password,
		       void (*done)(void *data, int status, const char *hash),
		       void *data)
{
	if (password == NULL || done == NULL)
		return -EINVAL;
	struct pw_job *job = pw_job_new(mod, PW_HASH, password, 0);
	if (job == NULL)
		return -ENOMEM;
	job->hash_done = done;
	job->data = data;
	return pw_job_start(mod, job);
}

int host_password_verify(struct postino_mod *mod, const char *password,
			 const char *hash, void (*done)(void *data, int match),
			 void *data)
{
	if (password == NULL || hash == NULL || done == NULL)
		return -EINVAL;
	struct pw_job *job = pw_job_new(mod, PW_VERIFY, password, 1);
	if (job == NULL)
		return -ENOMEM;
	job->hashes[0] = strdup(hash);
	if (job->hashes[0] == NULL) {
		pw_job_free(job);
		return -ENOMEM;
	}
	job->count = 1;
	job->check_done = done;
	job->data = data;
	return pw_job_start(mod, job);
}

struct history_ctx {
	struct pw_job *job;
	size_t max;
};

static int history_one(void *data, const char *hash)
{
	struct history_ctx *ctx = data;

	if (ctx->job->count >= ctx->max)
		return 1; /* enough: stop the walk */
	ctx->job->hashes[ctx->job->count] = strdup(hash);
	if (ctx->job->hashes[ctx->job->count] == NULL)
		return -ENOMEM;
	ctx->job->count++;
	return 0;
}

int host_password_in_history(struct postino_mod *mod, const char *account,
			     const char *password, unsigned last,
			     void (*done)(void *data, int status), void *data)
{
	struct store_account a;

	if (account == NULL || password == NULL || done == NULL || last == 0 ||
	    last > PASSWORD_HISTORY_KEEP + 1)
		return -EINVAL;
	if (mod->ctx->store == NULL)
		return -ENODEV;
	int ret = store_account_get(mod->ctx->store, account, &a);
	if (ret < 0)
		return ret;
	struct pw_job *job = pw_job_new(mod, PW_HISTORY, password, last);
	if (job == NULL) {
		explicit_bzero(&a, sizeof(a));
		return -ENOMEM;
	}
	job->hashes[0] = strdup(a.password_hash);
	explicit_bzero(&a, sizeof(a));
	if (job->hashes[0] == NULL) {
		pw_job_free(job);
		return -ENOMEM;
	}
	job->count = 1;
	struct history_ctx ctx = { job, last };
	ret = store_password_history(mod->ctx->store, account, history_one,
				     &ctx);
	if (ret < 0) {
		pw_job_free(job);
		return ret;
	}
	job->check_done = done;
	job->data = data;
	return pw_job_start(mod, job);
}

/* ---- password changes ---------------------------------------------------- */

struct pw_set {
	struct module_set *set;
	struct postino_mod *mod;
	char *account;
	char *hash;
	int64_t now;
	int status;
	struct postino_hook_event ev; /* valid until the hooks' done */
	void (*done)(void *data, int status);
	void *data;
};

static void pw_set_free(struct pw_set *s)
{
	free(s->account);
	if (s->hash != NULL) {
		explicit_bzero(s->hash, strlen(s->hash));
		free(s->hash);
	}
	module_set_unref(&s->set);
	free(s);
}

static int pw_set_run(struct store_txn *txn, void *data)
{
	struct pw_set *s = data;

	return store_txn_account_set_password(txn, s->account, s->hash, s->now,
					      PASSWORD_HISTORY_KEEP);
}

static void pw_set_hooks_done(void *data, enum postino_verdict verdict,
			      int code, const char *text)
{
	struct pw_set *s = data;

	(void)verdict;
	(void)code;
	(void)text;
	s->done(s->data, s->status);
	pw_set_free(s);
}

static void pw_set_committed(void *data, int status)
{
	struct pw_set *s = data;

	s->status = status;
	if (status < 0) {
		log_write(&s->mod->ctx->log, LOG_LEVEL_ERROR, s->mod->name,
			  NULL, "setting the password of %s failed: %s",
			  s->account, strerror(-status));
		pw_set_hooks_done(s, POSTINO_CONTINUE, 0, "");
		return;
	}
	/* The old entries could no longer answer (the hash they name is
	 * gone); dropping them frees their room at once. */
	auth_cache_forget(s->mod->ctx->auth_cache, s->account);
	s->ev = (struct postino_hook_event){
		.size = sizeof(s->ev),
		.point = POSTINO_HOOK_PASSWORD_CHANGED,
		.protocol = "admin",
		.account = s->account,
	};
	/* The changed hooks tell the others (ending their own campaigns and
	 * the like); what they answer does not undo a committed change. */
	if (hooks_run_except(s->set, &s->ev, s->mod, pw_set_hooks_done, s) < 0)
		pw_set_hooks_done(s, POSTINO_CONTINUE, 0, "");
}

int host_password_set_hash(struct postino_mod *mod, const char *account,
			   const char *hash,
			   void (*done)(void *data, int status), void *data)
{
	if (account == NULL || hash == NULL || done == NULL ||
	    strncmp(hash, "$y$", 3) != 0 || strlen(hash) >= HASH_MAX)
		return -EINVAL;
	if (mod->ctx->store == NULL)
		return -ENODEV;
	struct pw_set *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->mod = mod;
	s->set = mod->set;
	module_set_ref(s->set);
	s->account = strdup(account);
	s->hash = strdup(hash);
	s->now = core_now_ms() / 1000;
	s->done = done;
	s->data = data;
	if (s->account == NULL || s->hash == NULL) {
		pw_set_free(s);
		return -ENOMEM;
	}
	int ret = store_submit(mod->ctx->store, pw_set_run, pw_set_committed,
			       s);
	if (ret < 0)
		pw_set_free(s);
	return ret;
}

/* ---- secondary address and language -------------------------------------- */

struct acct_set {
	struct module_set *set;
	char account[ADDRESS_MAX + 1];
	char secondary[ADDRESS_MAX + 1];
	char lang[8];
	int has_secondary, has_lang;
	void (*done)(void *data, int status);
	void *data;
};

static int acct_set_run(struct store_txn *txn, void *data)
{
	struct acct_set *s = data;
	struct store_account_change change = {
		.secondary = s->has_secondary ? s->secondary : NULL,
		.lang = s->has_lang ? s->lang : NULL,
		.disabled = -1,
	};

	return store_txn_account_set(txn, s->account, &change);
}

static void acct_set_done(void *data, int status)
{
	struct acct_set *s = data;

	s->done(s->data, status);
	module_set_unref(&s->set);
	free(s);
}

int host_account_set(struct postino_mod *mod, const char *account,
		     const char *secondary, const char *lang,
		     void (*done)(void *data, int status), void *data)
{
	if (account == NULL || done == NULL)
		return -EINVAL;
	if (lang != NULL && lang[0] != '\0' && strcmp(lang, "it") != 0 &&
	    strcmp(lang, "en") != 0)
		return -EINVAL;
	if (mod->ctx->store == NULL)
		return -ENODEV;
	struct acct_set *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	if (address_normalize(account, s->account, sizeof(s->account)) < 0 ||
	    (secondary != NULL && secondary[0] != '\0' &&
	     address_normalize(secondary, s->secondary,
			       sizeof(s->secondary)) < 0)) {
		free(s);
		return -EINVAL;
	}
	s->has_secondary = secondary != NULL;
	s->has_lang = lang != NULL;
	if (lang != NULL)
		snprintf(s->lang, sizeof(s->lang), "%s", lang);
	s->done = done;
	s->data = data;
	s->set = mod->set;
	module_set_ref(s->set);
	int ret = store_submit(mod->ctx->store, acct_set_run, acct_set_done, s);
	if (ret < 0) {
		module_set_unref(&s->set);
		free(s);
	}
	return ret;
}
