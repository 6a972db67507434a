/* Host entries of the proto service that are not plain connection calls
 * (plugin.h, struct postino_host_proto): policy hook runs for a session,
 * password checks wrapped in the auth hooks, and the SASL exchange.
 * Anything asynchronous holds a reference on its connection and calls the
 * module back only if the connection is still open: a module frees its
 * session in on_close and must never hear about it again. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/password.h"
#include "host/host_mail.h"
#include "host/host_proto.h"
#include "module/hooks.h"
#include "net/conn_api.h"
#include "util/address.h"

/* ---- hook runs for a session --------------------------------------------- */

/* The event with every string copied, so a PENDING hook may read it after
 * the module's own buffers are gone. */
struct host_hook_run {
	postino_conn *conn;
	struct postino_hook_event ev;
	char *strings[10];
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
	/* Where the session came in is the host's to say, not the module's:
	 * policies scope themselves by it. */
	const struct postino_conn_info *info = conn_info(conn);
	run->ev.protocol = conn_protocol(conn);
	run->ev.listener = info->listener;
	run->ev.role = info->role;
	run->ev.session_id = host_hook_copy(run, 0, run->ev.session_id);
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
	int open = conn_unref(a->conn);

	/* The session is the account's before the module hears of it. */
	if (open && a->result == POSTINO_AUTH_OK)
		conn_set_account(a->conn, a->account);
	if (open)
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

static void host_auth_verified(void *data, enum auth_result result,
			       int cached)
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
		  "%s login account=%s client=%s result=%s%s", a->protocol,
		  a->account, a->ev.client_ip,
		  a->result == POSTINO_AUTH_OK ? "ok"
		  : a->result == POSTINO_AUTH_TEMPFAIL ? "tempfail" : "failed",
		  cached ? " cached=yes" : "");
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
	int ret = auth_verify_async(a->ctx->loop, a->ctx->store,
				    a->ctx->auth_cache, a->account,
				    a->password, host_auth_verified, a);
	explicit_bzero(a->password, strlen(a->password));
	if (ret < 0) {
		a->result = POSTINO_AUTH_TEMPFAIL;
		host_auth_finish(a);
	}
}

int host_auth_verify(postino_conn *conn, const char *account,
		     const char *password,
		     void (*done)(void *data, enum postino_auth_result result,
				  const char *account),
		     void *data)
{
	const struct postino_conn_info *info = conn_info(conn);

	/* Plaintext authentication never works, whatever a module forgets. */
	if (!info->tls)
		return -EPERM;
	if (account == NULL || password == NULL || done == NULL)
		return -EINVAL;
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
	snprintf(a->protocol, sizeof(a->protocol), "%s", conn_protocol(conn));
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
		.listener = info->listener,
		.role = info->role,
	};
	conn_ref(conn);
	if (hooks_run(a->set, &a->ev, host_auth_allowed, a) < 0) {
		a->result = POSTINO_AUTH_TEMPFAIL;
		host_auth_finish(a);
	}
	return 0;
}

