/* The host table: what modules may call, in one sub-table per service
 * (plugin.h). This file holds the core entries (log, config, timers,
 * the thread pool, workers), admin commands and protocol registration,
 * and assembles the table; the other services live in host_*.c. Every
 * entry takes the module's handle or a connection, so the host always
 * knows who is asking without any global. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "host/host_account.h"
#include "host/host_mail.h"
#include "host/host_proto.h"
#include "host/host_state.h"
#include "mime/mime.h"
#include "module/hooks.h"
#include "module/module.h"
#include "net/conn_api.h"
#include "net/net.h"
#include "store/store.h"

static void host_log(struct postino_mod *mod, enum postino_log_level level,
		     const char *session_id, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void host_log(struct postino_mod *mod, enum postino_log_level level,
		     const char *session_id, const char *fmt, ...)
{
	va_list args;

	if ((int)level < POSTINO_LOG_ERROR || level > POSTINO_LOG_DEBUG)
		level = POSTINO_LOG_ERROR;
	va_start(args, fmt);
	log_writev(&mod->ctx->log, (enum log_level)level, mod->name,
		   session_id, fmt, args);
	va_end(args);
}

/* The module's declaration of key, read only as far as the module's
 * config_key_size reaches. */
static const struct postino_config_key *
host_config_key(const struct postino_mod *mod, const char *key,
		enum postino_config_type *type_r, const char **default_r)
{
	const struct postino_module *desc = mod->desc;

	if (!POSTINO_HAS_FIELD(desc, struct postino_module, config_key_size) ||
	    desc->config_keys == NULL)
		return NULL;
	size_t stride = desc->config_key_size;
	if (stride < offsetof(struct postino_config_key, type) +
			     sizeof(enum postino_config_type))
		return NULL;
	for (const char *p = (const char *)desc->config_keys;; p += stride) {
		const struct postino_config_key *k = (const void *)p;
		if (k->name == NULL)
			return NULL;
		if (strcmp(k->name, key) != 0)
			continue;
		*type_r = k->type;
		*default_r = stride >= offsetof(struct postino_config_key,
						default_value) + sizeof(char *)
				     ? k->default_value : NULL;
		return k;
	}
}

static const char *host_config_string(struct postino_mod *mod, const char *key)
{
	enum postino_config_type type;
	const char *def;

	if (host_config_key(mod, key, &type, &def) == NULL) {
		log_write(&mod->ctx->log, LOG_LEVEL_ERROR, mod->name, NULL,
			  "asked for undeclared config key '%s'", key);
		return NULL;
	}
	const char *value = config_module_value(mod->set->config, mod->name,
						key);
	return value != NULL ? value : def;
}

static int64_t host_config_number(struct postino_mod *mod, const char *key)
{
	enum postino_config_type type;
	const char *def;
	int64_t number = 0;

	if (host_config_key(mod, key, &type, &def) == NULL) {
		log_write(&mod->ctx->log, LOG_LEVEL_ERROR, mod->name, NULL,
			  "asked for undeclared config key '%s'", key);
		return 0;
	}
	const char *value = config_module_value(mod->set->config, mod->name,
						key);
	if (value == NULL)
		value = def;
	/* Validated at load time, so a parse failure here means a bad
	 * default in the module itself. */
	if (value != NULL && config_parse_value(type, value, &number) < 0)
		log_write(&mod->ctx->log, LOG_LEVEL_ERROR, mod->name, NULL,
			  "config key '%s' has unparsable value '%s'", key,
			  value);
	return number;
}

static void host_timer_fire(uv_timer_t *handle)
{
	struct postino_timer *timer = (struct postino_timer *)handle;

	timer->cb(timer->data);
}

static postino_timer *host_timer_start(struct postino_mod *mod,
				       uint64_t first_ms, uint64_t repeat_ms,
				       unsigned flags, void (*cb)(void *data),
				       void *data)
{
	struct postino_timer *timer = calloc(1, sizeof(*timer));

	if (timer == NULL)
		return NULL;
	timer->mod = mod;
	timer->cb = cb;
	timer->data = data;
	uv_timer_init(mod->ctx->loop, &timer->handle);
	/* The admin CLI loads modules to run their commands; their timers
	 * exist there but must not run. A node timer runs on worker 0 only:
	 * the other instances hold one that never fires. */
	if (mod->ctx->mode == CORE_MODE_DAEMON &&
	    (!(flags & POSTINO_TIMER_NODE) || mod->worker == 0))
		uv_timer_start(&timer->handle, host_timer_fire, first_ms,
			       repeat_ms);
	timer->next = mod->timers;
	mod->timers = timer;
	return timer;
}

static void host_timer_closed(uv_handle_t *handle)
{
	free(handle);
}

static void host_timer_stop(postino_timer **timerp)
{
	struct postino_timer *timer = *timerp;

	*timerp = NULL;
	if (timer == NULL)
		return;
	for (struct postino_timer **p = &timer->mod->timers; *p != NULL;
	     p = &(*p)->next) {
		if (*p == timer) {
			*p = timer->next;
			break;
		}
	}
	uv_timer_stop(&timer->handle);
	uv_close((uv_handle_t *)&timer->handle, host_timer_closed);
}

struct host_work {
	uv_work_t req;
	struct module_set *set; /* keeps the module loaded until done ran */
	void (*work)(void *data);
	void (*done)(void *data, int status);
	void *data;
};

static void host_work_run(uv_work_t *req)
{
	struct host_work *w = req->data;

	w->work(w->data);
}

static void host_work_done(uv_work_t *req, int status)
{
	struct host_work *w = req->data;

	if (w->done != NULL)
		w->done(w->data, status);
	module_set_unref(&w->set);
	free(w);
}

static int host_work_submit(struct postino_mod *mod, void (*work)(void *data),
			    void (*done)(void *data, int status), void *data)
{
	if (work == NULL)
		return -EINVAL;
	struct host_work *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -ENOMEM;
	w->req.data = w;
	w->work = work;
	w->done = done;
	w->data = data;
	w->set = mod->set;
	module_set_ref(w->set);
	int ret = uv_queue_work(mod->ctx->loop, &w->req, host_work_run,
				host_work_done);
	if (ret < 0) {
		module_set_unref(&w->set);
		free(w);
	}
	return ret;
}

static int host_admin_register(struct postino_mod *mod, const char *command,
			       const char *usage, postino_admin_fn fn,
			       void *data)
{
	struct module_set *set = mod->set;

	if (command == NULL || fn == NULL || command[0] == '\0')
		return -EINVAL;
	if (module_set_command(set, mod->name, command) != NULL)
		return -EEXIST;
	struct admin_command *grown = realloc(set->commands,
		(set->command_count + 1) * sizeof(*grown));
	if (grown == NULL)
		return -ENOMEM;
	set->commands = grown;
	struct admin_command *cmd = &grown[set->command_count];
	*cmd = (struct admin_command){ .mod = mod, .fn = fn, .data = data };
	cmd->command = strdup(command);
	cmd->usage = strdup(usage != NULL ? usage : "");
	if (cmd->command == NULL || cmd->usage == NULL) {
		free(cmd->command);
		free(cmd->usage);
		return -ENOMEM;
	}
	set->command_count++;
	return 0;
}

static unsigned host_worker_index(struct postino_mod *mod)
{
	return mod->worker;
}

static unsigned host_worker_count(struct postino_mod *mod)
{
	return mod->set->workers;
}

static int host_protocol_register(struct postino_mod *mod,
				  const struct postino_protocol *proto,
				  void *data)
{
	struct module_set *set = mod->set;
	struct protocol_entry entry = { .mod = mod, .data = data };

	if (proto == NULL ||
	    !POSTINO_HAS_FIELD(proto, struct postino_protocol, on_close))
		return -EINVAL;
	/* Read only what the module's struct covers; newer fields stay 0. */
	memcpy(&entry.proto, proto, proto->size < sizeof(entry.proto)
					     ? proto->size : sizeof(entry.proto));
	entry.proto.size = sizeof(entry.proto);
	if (entry.proto.name == NULL || entry.proto.name[0] == '\0' ||
	    entry.proto.on_line == NULL || entry.proto.on_close == NULL)
		return -EINVAL;
	if (module_set_protocol(set, entry.proto.name) != NULL)
		return -EEXIST;
	struct protocol_entry *grown = realloc(set->protocols,
		(set->protocol_count + 1) * sizeof(*grown));
	if (grown == NULL)
		return -ENOMEM;
	grown[set->protocol_count++] = entry;
	set->protocols = grown;
	return 0;
}

struct host_listener_walk {
	void (*cb)(void *data, const struct postino_listener *l);
	void *data;
	int count;
};

static void host_listener_one(void *data, const struct postino_listener *l)
{
	struct host_listener_walk *w = data;

	w->count++;
	w->cb(w->data, l);
}

static int host_listener_list(struct postino_mod *mod,
			      void (*cb)(void *data,
					 const struct postino_listener *l),
			      void *data)
{
	struct host_listener_walk w = { cb, data, 0 };

	if (cb == NULL)
		return -EINVAL;
	config_listener_each(mod->set->config, host_listener_one, &w);
	return w.count;
}

/* "mail.<domain>" when a certificate in force covers it: the operator
 * gave the domain its own name (SNI), which clients should then use. */
static int host_server_name(struct postino_mod *mod, const char *domain,
			    char *buf, size_t buflen)
{
	char name[300];

	if (domain == NULL || buf == NULL || buflen == 0 ||
	    strchr(domain, '/') != NULL)
		return -EINVAL;
	int n = snprintf(name, sizeof(name), "mail.%s", domain);
	const char *chosen = n > 0 && (size_t)n < sizeof(name) &&
				     net_tls_covers(mod->ctx->net, name)
			     ? name : host_hostname(mod);
	if (strlen(chosen) >= buflen)
		return -ENAMETOOLONG;
	memcpy(buf, chosen, strlen(chosen) + 1);
	return 0;
}

static const struct postino_host_core host_core = {
	.size = sizeof(struct postino_host_core),
	.log = host_log,
	.config_string = host_config_string,
	.config_number = host_config_number,
	.now_ms = core_now_ms,
	.hostname = host_hostname,
	.timer_start = host_timer_start,
	.timer_stop = host_timer_stop,
	.work_submit = host_work_submit,
	.worker_index = host_worker_index,
	.worker_count = host_worker_count,
	.service_export = module_service_export,
	.service_import = module_service_import,
	.listener_list = host_listener_list,
	.server_name = host_server_name,
};

static const struct postino_host_policy host_policy = {
	.size = sizeof(struct postino_host_policy),
	.hook_register = hooks_register,
	.hook_reply = hooks_reply,
	.hook_complete = hooks_complete,
	.admin_register = host_admin_register,
	.state_get = host_state_get,
	.state_put = host_state_put,
	.state_delete = host_state_delete,
	.state_update = host_state_update,
	.state_scan = host_state_scan,
};

static const struct postino_host_proto host_proto = {
	.size = sizeof(struct postino_host_proto),
	.protocol_register = host_protocol_register,
	.conn_write = conn_write,
	.conn_printf = conn_printf,
	.conn_starttls = conn_starttls,
	.conn_close = conn_close,
	.conn_read_bytes = conn_read_bytes,
	.conn_read_lines = conn_read_lines,
	.conn_pause = conn_pause,
	.conn_resume = conn_resume,
	.conn_set_data = conn_set_data,
	.conn_get_data = conn_get_data,
	.conn_info = conn_info,
	.conn_set_account = conn_set_account,
	.hooks_run = host_hooks_run,
	.sasl_mechanisms = host_sasl_mechanisms,
	.sasl_start = host_sasl_start,
	.sasl_input = host_sasl_input,
	.auth_verify = host_auth_verify,
};

static const struct postino_host_mail host_mail = {
	.size = sizeof(struct postino_host_mail),
	.domain_is_local = host_domain_is_local,
	.address_expand = host_address_expand,
	.address_owned_by = host_address_owned_by,
	.msg_new = host_msg_new,
	.msg_append = host_msg_append,
	.msg_size = host_msg_size,
	.msg_add_header = host_msg_add_header,
	.msg_deliver = host_msg_deliver,
	.msg_discard = host_msg_discard,
	.msg_read = host_msg_read,
	.delivery_fileinto = host_delivery_fileinto,
	.delivery_redirect = host_delivery_redirect,
	.delivery_reject = host_delivery_reject,
	.delivery_discard = host_delivery_discard,
	.address_separators = host_address_separators,
	.msg_deliver_to = host_msg_deliver_to,
};

static const struct postino_host_mailbox host_mailbox = {
	.size = sizeof(struct postino_host_mailbox),
	.mailbox_open = host_mailbox_open,
	.mailbox_count = host_mailbox_count,
	.mailbox_uidvalidity = host_mailbox_uidvalidity,
	.mailbox_message = host_mailbox_message,
	.mailbox_read = host_mailbox_read,
	.mailbox_expunge = host_mailbox_expunge,
	.mailbox_close = host_mailbox_close,
	.mailbox_list = host_mailbox_list,
	.mailbox_status = host_mailbox_status,
	.mailbox_create = host_mailbox_create,
	.mailbox_delete = host_mailbox_delete,
	.mailbox_rename = host_mailbox_rename,
	.mailbox_subscribe = host_mailbox_subscribe,
	.mailbox_append = host_mailbox_append,
	.mailbox_store = host_mailbox_store,
	.mailbox_copy = host_mailbox_copy,
	.mailbox_watch = host_mailbox_watch,
	.mailbox_sync = host_mailbox_sync,
	.mailbox_mime = host_mailbox_mime,
	.mailbox_section = host_mailbox_section,
	.mailbox_subscriptions = host_mailbox_subscriptions,
	.mime_search_text = mime_search_text,
	.mailbox_highestmodseq = host_mailbox_highestmodseq,
	.mailbox_vanished = host_mailbox_vanished,
	.mailbox_store_unchangedsince = host_mailbox_store_unchangedsince,
};

static const struct postino_host_account host_account = {
	.size = sizeof(struct postino_host_account),
	.account_get = host_account_get,
	.account_list = host_account_list,
	.password_hash = host_password_hash,
	.password_verify = host_password_verify,
	.password_in_history = host_password_in_history,
	.password_set_hash = host_password_set_hash,
	.account_quota = host_account_quota,
	.account_set = host_account_set,
};

const struct postino_host core_host_table = {
	.size = sizeof(struct postino_host),
	.abi_major = POSTINO_ABI_MAJOR,
	.abi_minor = POSTINO_ABI_MINOR,
	.core = &host_core,
	.policy = &host_policy,
	.proto = &host_proto,
	.mail = &host_mail,
	.mailbox = &host_mailbox,
	.account = &host_account,
};
