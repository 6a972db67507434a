/* Host entries for protocol modules: password checks wrapped in the auth
 * policy hooks, hook runs on behalf of a session, and address lookups.
 * Anything asynchronous holds a reference on its connection and calls the
 * module back only if the connection is still open: a module frees its
 * session in on_close and must never hear about it again. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "auth/password.h"
#include "module/hooks.h"
#include "module/host_mail.h"
#include "net/conn_api.h"
#include "store/store.h"
#include "util/address.h"

#define EXPAND_DEPTH_MAX 8
#define EXPAND_TARGETS_MAX 256

/* ---- hook runs for a session --------------------------------------------- */

/* The event with every string copied, so a PENDING hook may read it after
 * the module's own buffers are gone. */
struct host_hook_run {
	postino_conn *conn;
	struct postino_hook_event ev;
	char *strings[8];
	void (*done)(void *data, enum postino_verdict verdict, int code,
		     const char *text);
	void *data;
};

static const char *host_hook_copy(struct host_hook_run *run, size_t slot,
				  const char *s)
{
	if (s == NULL)
		return NULL;
	run->strings[slot] = strdup(s);
	return run->strings[slot] != NULL ? run->strings[slot] : "";
}

static void host_hook_run_free(struct host_hook_run *run)
{
	if (run->ev.msg != NULL)
		host_msg_unref(run->ev.msg);
	for (size_t i = 0; i < sizeof(run->strings) / sizeof(run->strings[0]); i++) {
		if (run->strings[i] != NULL)
			explicit_bzero(run->strings[i], strlen(run->strings[i]));
		free(run->strings[i]);
	}
	free(run);
}

static void host_hook_run_done(void *data, enum postino_verdict verdict,
			       int code, const char *text)
{
	struct host_hook_run *run = data;

	if (conn_unref(run->conn))
		run->done(run->data, verdict, code, text);
	host_hook_run_free(run);
}

int host_hooks_run(postino_conn *conn, const struct postino_hook_event *ev,
		   void (*done)(void *data, enum postino_verdict verdict,
				int code, const char *text),
		   void *data)
{
	struct host_hook_run *run = calloc(1, sizeof(*run));

	if (run == NULL)
		return -ENOMEM;
	/* Only the fields the module's struct covers. */
	size_t n = ev->size < sizeof(run->ev) ? ev->size : sizeof(run->ev);
	memcpy(&run->ev, ev, n);
	run->ev.size = sizeof(run->ev);
	run->ev.session_id = host_hook_copy(run, 0, run->ev.session_id);
	run->ev.protocol = host_hook_copy(run, 1, run->ev.protocol);
	run->ev.client_ip = host_hook_copy(run, 2, run->ev.client_ip);
	run->ev.account = host_hook_copy(run, 3, run->ev.account);
	run->ev.helo = host_hook_copy(run, 4, run->ev.helo);
	run->ev.mail_from = host_hook_copy(run, 5, run->ev.mail_from);
	run->ev.rcpt_to = host_hook_copy(run, 6, run->ev.rcpt_to);
	run->ev.password = host_hook_copy(run, 7, run->ev.password);
	run->conn = conn;
	run->done = done;
	run->data = data;
	if (run->ev.msg != NULL)
		host_msg_ref(run->ev.msg);
	conn_ref(conn);
	int ret = hooks_run(conn_module_set(conn), &run->ev, host_hook_run_done,
			    run);
	if (ret < 0) {
		conn_unref(conn);
		host_hook_run_free(run);
	}
	return ret;
}

/* ---- password checks ------------------------------------------------------ */

struct host_auth {
	postino_conn *conn;
	struct core_ctx *ctx;
	struct module_set *set;
	struct postino_hook_event ev;
	char protocol[16];
	char account[ADDRESS_MAX + 1];
	char *password;
	enum postino_auth_result result;
	void (*done)(void *data, enum postino_auth_result result,
		     const char *account);
	void *data;
};

static void host_auth_finish(struct host_auth *a)
{
	if (conn_unref(a->conn))
		a->done(a->data, a->result,
			a->result == POSTINO_AUTH_OK ? a->account : NULL);
	if (a->password != NULL) {
		explicit_bzero(a->password, strlen(a->password));
		free(a->password);
	}
	module_set_unref(&a->set);
	free(a);
}

static void host_auth_result_done(void *data, enum postino_verdict verdict,
				  int code, const char *text)
{
	host_auth_finish(data);
}

static void host_auth_verified(void *data, enum auth_result result)
{
	struct host_auth *a = data;

	switch (result) {
	case AUTH_OK:
		a->result = POSTINO_AUTH_OK;
		break;
	case AUTH_FAILED:
		a->result = POSTINO_AUTH_FAILED;
		break;
	case AUTH_DISABLED:
		a->result = POSTINO_AUTH_DISABLED;
		break;
	default:
		a->result = POSTINO_AUTH_TEMPFAIL;
		break;
	}
	log_write(&a->ctx->log, LOG_LEVEL_INFO, "auth", a->ev.session_id,
		  "%s login account=%s client=%s result=%s", a->protocol,
		  a->account, a->ev.client_ip,
		  a->result == POSTINO_AUTH_OK ? "ok"
		  : a->result == POSTINO_AUTH_TEMPFAIL ? "tempfail" : "failed");
	/* Throttling policies count failures here. */
	a->ev.point = POSTINO_HOOK_AUTH_RESULT;
	a->ev.auth_success = a->result == POSTINO_AUTH_OK;
	if (hooks_run(a->set, &a->ev, host_auth_result_done, a) < 0)
		host_auth_finish(a);
}

static void host_auth_allowed(void *data, enum postino_verdict verdict,
			      int code, const char *text)
{
	struct host_auth *a = data;

	if (verdict == POSTINO_DEFER || verdict == POSTINO_REJECT) {
		log_write(&a->ctx->log, LOG_LEVEL_INFO, "auth", a->ev.session_id,
			  "%s login account=%s client=%s refused by policy: "
			  "%d %s", a->protocol, a->account, a->ev.client_ip,
			  code, text);
		a->result = POSTINO_AUTH_TEMPFAIL;
		host_auth_finish(a);
		return;
	}
	int ret = auth_verify_async(a->ctx->loop, a->ctx->store, a->account,
				    a->password, host_auth_verified, a);
	explicit_bzero(a->password, strlen(a->password));
	if (ret < 0) {
		a->result = POSTINO_AUTH_TEMPFAIL;
		host_auth_finish(a);
	}
}

int host_auth_verify(postino_conn *conn, const char *protocol,
		     const char *account, const char *password,
		     void (*done)(void *data, enum postino_auth_result result,
				  const char *account),
		     void *data)
{
	const struct postino_conn_info *info = conn_info(conn);
	struct host_auth *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return -ENOMEM;
	a->ctx = conn_ctx(conn);
	a->password = strdup(password);
	if (a->password == NULL) {
		free(a);
		return -ENOMEM;
	}
	/* A malformed name is checked like an unknown account (same work,
	 * same answer), never refused early. */
	if (address_normalize(account, a->account, sizeof(a->account)) < 0)
		snprintf(a->account, sizeof(a->account), "%.*s",
			 (int)sizeof(a->account) - 1, account);
	snprintf(a->protocol, sizeof(a->protocol), "%s", protocol);
	a->conn = conn;
	a->done = done;
	a->data = data;
	a->set = conn_module_set(conn);
	module_set_ref(a->set);
	a->ev = (struct postino_hook_event){
		.size = sizeof(a->ev),
		.point = POSTINO_HOOK_AUTH_BEFORE_VERIFY,
		.session_id = info->session_id,
		.protocol = a->protocol,
		.client_ip = info->client_ip,
		.tls = info->tls,
		.account = a->account,
	};
	conn_ref(conn);
	if (hooks_run(a->set, &a->ev, host_auth_allowed, a) < 0) {
		a->result = POSTINO_AUTH_TEMPFAIL;
		host_auth_finish(a);
	}
	return 0;
}

/* ---- addresses ------------------------------------------------------------ */

int host_domain_is_local(struct postino_mod *mod, const char *domain)
{
	char d[DOMAIN_MAX + 1];

	if (domain_normalize(domain, d, sizeof(d)) < 0)
		return 0;
	return store_domain_exists(mod->ctx->store, d) == 1;
}

struct host_expand {
	struct store *store;
	void (*target)(void *data, const char *address, int local);
	void *data;
	char seen[EXPAND_TARGETS_MAX][ADDRESS_MAX + 1];
	size_t seen_count;
	int count;
	int error;
	int depth;
	struct postino_mod *mod;
};

static int host_expand_one(struct host_expand *x, const char *address);

struct host_alias_batch {
	char targets[EXPAND_TARGETS_MAX][ADDRESS_MAX + 1];
	size_t count;
};

static int host_collect_alias(void *data, const char *source,
			      const char *target)
{
	struct host_alias_batch *b = data;

	if (b->count < EXPAND_TARGETS_MAX)
		snprintf(b->targets[b->count++], ADDRESS_MAX + 1, "%s", target);
	return 0;
}

static int host_expand_seen(struct host_expand *x, const char *address)
{
	for (size_t i = 0; i < x->seen_count; i++) {
		if (strcmp(x->seen[i], address) == 0)
			return 1;
	}
	if (x->seen_count < EXPAND_TARGETS_MAX)
		snprintf(x->seen[x->seen_count++], ADDRESS_MAX + 1, "%s",
			 address);
	return 0;
}

/* Aliases win over an account of the same name (as in Postfix's virtual
 * alias maps); an alias may list its own address to keep a copy. */
static int host_expand_one(struct host_expand *x, const char *address)
{
	struct store_account account;

	if (host_expand_seen(x, address))
		return 0; /* alias loops end here */
	if (!host_domain_is_local(x->mod, address_domain(address))) {
		x->target(x->data, address, 0);
		x->count++;
		return 0;
	}
	/* Not zeroed: only targets[0..count) are ever read, and this runs
	 * for every RCPT. */
	struct host_alias_batch *batch = malloc(sizeof(*batch));
	if (batch == NULL)
		return -ENOMEM;
	batch->count = 0;
	int ret = store_alias_list(x->store, address, host_collect_alias, batch);
	if (ret >= 0 && batch->count > 0 && x->depth >= EXPAND_DEPTH_MAX) {
		log_write(&x->mod->ctx->log, LOG_LEVEL_WARNING, "core", NULL,
			  "alias %s nests deeper than %d levels; ignored",
			  address, EXPAND_DEPTH_MAX);
	} else if (ret >= 0 && batch->count > 0) {
		x->depth++;
		for (size_t i = 0; i < batch->count && ret >= 0; i++) {
			if (strcmp(batch->targets[i], address) == 0 &&
			    store_account_get(x->store, address, &account) == 0) {
				x->target(x->data, address, 1);
				x->count++;
				continue;
			}
			ret = host_expand_one(x, batch->targets[i]);
		}
		x->depth--;
	} else if (ret >= 0) {
		ret = store_account_get(x->store, address, &account);
		if (ret == 0) {
			x->target(x->data, account.address, 1);
			x->count++;
		} else if (ret == -ENOENT) {
			ret = 0;
		}
	}
	free(batch);
	return ret;
}

int host_address_expand(struct postino_mod *mod, const char *address,
			void (*target)(void *data, const char *address,
				       int local),
			void *data)
{
	char a[ADDRESS_MAX + 1];

	if (address_normalize(address, a, sizeof(a)) < 0)
		return 0;
	/* Not zeroed either: seen[] is read only up to seen_count. */
	struct host_expand *x = malloc(sizeof(*x));
	if (x == NULL)
		return -ENOMEM;
	x->seen_count = 0;
	x->count = 0;
	x->error = 0;
	x->depth = 0;
	x->store = mod->ctx->store;
	x->target = target;
	x->data = data;
	x->mod = mod;
	/* An address outside our domains is nobody's here. */
	int ret = host_domain_is_local(mod, address_domain(a))
			  ? host_expand_one(x, a) : 0;
	int count = ret < 0 ? ret : x->count;
	free(x);
	return count;
}

struct host_owner {
	const char *account;
	int owned;
};

static void host_owner_target(void *data, const char *address, int local)
{
	struct host_owner *o = data;

	if (local && strcmp(address, o->account) == 0)
		o->owned = 1;
}

int host_address_owned_by(struct postino_mod *mod, const char *address,
			  const char *account)
{
	char a[ADDRESS_MAX + 1], acc[ADDRESS_MAX + 1];

	if (address_normalize(address, a, sizeof(a)) < 0 ||
	    address_normalize(account, acc, sizeof(acc)) < 0)
		return 0;
	if (strcmp(a, acc) == 0)
		return 1;
	struct host_owner o = { .account = acc };
	if (host_address_expand(mod, a, host_owner_target, &o) < 0)
		return 0;
	return o.owned;
}

const char *host_hostname(struct postino_mod *mod)
{
	return mod->set->config->server.hostname;
}
