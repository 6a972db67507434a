/* The daemon's life: load and check the configuration, open the store, load
 * modules, then serve until SIGTERM, on [server] workers loop threads
 * (workers.h). SIGHUP reloads configuration and modules as a whole, on
 * every worker at once; a new configuration that does not load is refused
 * and the running one stays. When it will drop root, postinod first forks
 * a privileged parent that opens certificate files for it (privsep.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "daemon/fdlimit.h"
#include "daemon/privileges.h"
#include "daemon/privsep.h"
#include "daemon/workers.h"
#include "auth/auth_cache.h"
#include "mime/mime.h"
#include "host/host_mail.h"
#include "host/host_state.h"
#include "mailbox/mailbox_node.h"
#include "mailbox/mailbox_registry.h"
#include "module/module.h"
#include "net/net.h"
#include "net/tls_creds.h"
#include "queue/queue.h"
#include "store/store.h"
#include "util/inbox.h"

struct daemon {
	struct core_ctx ctx; /* worker 0's */
	uv_loop_t loop;
	struct workers *workers;
	const struct daemon_options *options;
	/* SIGHUP, SIGTERM and SIGINT, blocked in every thread and read
	 * here (daemon_signals says why not uv_signal_t). */
	int sigfd;
	uv_poll_t signals;
	uv_timer_t prune_timer;
	/* The privileged parent; NULL when postinod does not drop root. */
	struct privsep *privsep;
	int stopping; /* SIGTERM or SIGINT came */
};

#define STATE_PRUNE_INTERVAL_MS (10 * 60 * 1000)

static void daemon_log_modules(struct daemon *d, const char *what)
{
	char names[1024] = "";
	size_t used = 0;
	struct module_set *set = d->ctx.modules;

	for (size_t i = 0; i < set->count && used < sizeof(names); i++) {
		used += snprintf(names + used, sizeof(names) - used, "%s%s",
				 i > 0 ? "," : "", set->mods[i].name);
	}
	core_log(&d->ctx, LOG_LEVEL_INFO,
		 "%s version=%s modules=%zu names=%s listeners=%zu", what,
		 POSTINO_VERSION, set->count, set->count > 0 ? names : "-",
		 net_listener_count(d->ctx.net));
}

static void daemon_reload(struct daemon *d)
{
	struct config *config = NULL;
	char err[1024];

	if (d->stopping) {
		core_log(&d->ctx, LOG_LEVEL_INFO,
			 "SIGHUP: shutting down, not reloading");
		return;
	}
	core_log(&d->ctx, LOG_LEVEL_INFO, "SIGHUP: reloading %s",
		 d->options->config_file);
	if (config_load(d->options->config_file, &config, err,
			sizeof(err)) < 0) {
		core_log(&d->ctx, LOG_LEVEL_ERROR,
			 "reload refused, keeping the running configuration: %s",
			 err);
		return;
	}
	if (strcmp(config->server.state_dir, d->ctx.config->server.state_dir) != 0)
		core_log(&d->ctx, LOG_LEVEL_WARNING,
			 "state_dir changed to %s; it takes effect at restart",
			 config->server.state_dir);
	if (workers_wanted(config) != d->ctx.node->workers)
		core_log(&d->ctx, LOG_LEVEL_WARNING,
			 "workers changed to %u; it takes effect at restart",
			 workers_wanted(config));
	struct module_set **sets = calloc(d->ctx.node->workers, sizeof(*sets));
	if (sets == NULL) {
		core_log(&d->ctx, LOG_LEVEL_ERROR, "reload refused: out of "
			 "memory");
		config_free(&config);
		return;
	}
	/* Every worker at once: held in a callback of its inbox while its
	 * modules, certificates and limits change (workers.h). */
	workers_park(d->workers);
	if (workers_load_modules(d->workers, config, MODULE_LOAD_INIT, sets,
				 err, sizeof(err)) < 0) {
		workers_resume(d->workers);
		core_log(&d->ctx, LOG_LEVEL_ERROR,
			 "reload refused, keeping the running configuration: %s",
			 err);
		config_free(&config);
		free(sets);
		return;
	}
	/* Certificates last: a new set that cannot serve TLS is dropped and
	 * the running one, with its certificates, stays. Without root, the
	 * parent opens the files, once it has read the new configuration
	 * too. */
	const struct tls_file_opener opener = { privsep_open, d->privsep };
	if ((d->privsep != NULL &&
	     privsep_reload(d->privsep, err, sizeof(err)) < 0) ||
	    net_reload(d->ctx.net, config,
		       d->privsep != NULL ? &opener : NULL, err,
		       sizeof(err)) < 0) {
		for (unsigned i = 0; i < d->ctx.node->workers; i++)
			module_set_unref(&sets[i]);
		workers_resume(d->workers);
		core_log(&d->ctx, LOG_LEVEL_ERROR,
			 "reload refused, keeping the running configuration: %s",
			 err);
		config_free(&config);
		free(sets);
		return;
	}
	/* Each new set holds the new config; an old set (and its config)
	 * goes when the last hook run or write that began under it is
	 * done. */
	log_deinit(&d->ctx.log);
	log_init(&d->ctx.log, config->server.log_level,
		 config->server.log_target);
	workers_install(d->workers, sets);
	auth_cache_configure(d->ctx.auth_cache, config);
	workers_resume(d->workers);
	config_free(&config);
	free(sets);
	queue_reload(d->ctx.queue);
	daemon_log_modules(d, "reloaded");
}

static void daemon_close_cb(uv_handle_t *handle)
{
}

/* Every other worker has ended: what worker 0 holds for the node goes
 * last, since their jobs and deliveries needed it. */
static void daemon_workers_gone(void *data)
{
	struct daemon *d = data;

	queue_stop(&d->ctx.queue);
	store_close(&d->ctx.store);
	inbox_close(d->ctx.inbox);
}

static void daemon_stop(struct daemon *d, int signum)
{
	const char *name = signum == SIGTERM ? "SIGTERM" : "SIGINT";

	if (d->stopping) {
		core_log(&d->ctx, LOG_LEVEL_INFO, "%s: already shutting down",
			 name);
		return;
	}
	d->stopping = 1;
	core_log(&d->ctx, LOG_LEVEL_INFO, "%s: shutting down", name);
	/* Signals are still read, out of the loop's count, until it ends:
	 * systemd signals every process of the service and the privileged
	 * parent passes its own SIGTERM on. */
	uv_unref((uv_handle_t *)&d->signals);
	uv_close((uv_handle_t *)&d->prune_timer, daemon_close_cb);
	/* Connections close after their queued replies; each keeps the module
	 * set it began with until its on_close ran. */
	net_stop(d->ctx.net);
	/* Modules go first so nothing new is queued; the store then drains
	 * what is in flight, and those completions drop the last references
	 * that keep the modules' code loaded. The other workers do the same
	 * on their threads; the queue and the store writer stay until they
	 * have ended. */
	module_set_unref(&d->ctx.modules);
	workers_stop(d->workers, daemon_workers_gone, d);
}

static int daemon_prune_job(struct store_txn *txn, void *data)
{
	return store_txn_state_prune(txn, core_now_ms() / 1000);
}

/* Expired module state must not pile up however many keys modules use. */
static void daemon_prune(uv_timer_t *timer)
{
	struct daemon *d = timer->data;

	store_submit(d->ctx.store, daemon_prune_job, NULL, NULL);
}

static int daemon_state_dir(struct daemon *d)
{
	const char *dir = d->ctx.config->server.state_dir;

	if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
		core_log(&d->ctx, LOG_LEVEL_ERROR,
			 "cannot create state_dir %s: %s", dir, strerror(errno));
		return -errno;
	}
	return 0;
}

/* The signals the daemon acts on. */
static void daemon_signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
}

static void daemon_signal(uv_poll_t *handle, int status, int events)
{
	struct daemon *d = handle->data;
	struct signalfd_siginfo info;

	while (read(d->sigfd, &info, sizeof(info)) == sizeof(info)) {
		if (info.ssi_signo == SIGHUP)
			daemon_reload(d);
		else
			daemon_stop(d, (int)info.ssi_signo);
	}
}

/* A signalfd rather than uv_signal_t: closing a uv_signal_t gives the
 * signal its default action back, so a SIGTERM that comes as the server
 * finishes (and with the privileged parent passing on what systemd also
 * sends to every process, one does) would kill it. Blocked from the start
 * (daemon_run) in every thread, the signals wait for this descriptor and
 * are never acted on otherwise; those that came during startup are read
 * as soon as the loop runs. */
static int daemon_signals(struct daemon *d)
{
	sigset_t set;

	daemon_signal_set(&set);
	d->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (d->sigfd < 0 || uv_poll_init(&d->loop, &d->signals, d->sigfd) < 0) {
		core_log(&d->ctx, LOG_LEVEL_ERROR, "cannot watch signals: %s",
			 strerror(errno));
		if (d->sigfd >= 0)
			close(d->sigfd);
		return -EIO;
	}
	d->signals.data = d;
	uv_poll_start(&d->signals, UV_READABLE, daemon_signal);
	uv_timer_init(&d->loop, &d->prune_timer);
	d->prune_timer.data = d;
	uv_timer_start(&d->prune_timer, daemon_prune, STATE_PRUNE_INTERVAL_MS,
		       STATE_PRUNE_INTERVAL_MS);
	return 0;
}

/* -t also loads the certificates, so a renewed certificate that does not
 * match its key is caught before the SIGHUP. */
static int daemon_check_tls(struct config *config, char *err, size_t errlen)
{
	int has_listener = 0;

	for (const struct config_section *s = config->sections; s != NULL;
	     s = s->next)
		has_listener |= strcmp(s->type, "listener") == 0;
	if (!has_listener)
		return 0;
	gnutls_datum_t key = { NULL, 0 };
	struct tls_creds *creds = NULL;
	int ret = gnutls_session_ticket_key_generate(&key);
	if (ret == 0)
		ret = tls_creds_load(config, NULL, &key, &creds, err, errlen);
	else
		snprintf(err, errlen, "%s", gnutls_strerror(ret));
	tls_creds_unref(&creds);
	gnutls_free(key.data);
	return ret;
}

static int daemon_check(struct daemon *d, struct config *config)
{
	struct module_set *set = NULL;
	char err[1024];

	if (daemon_check_tls(config, err, sizeof(err)) < 0) {
		fprintf(stderr, "postinod: %s\n", err);
		config_free(&config);
		return EX_CONFIG;
	}
	if (module_set_load(&d->ctx, config, MODULE_LOAD_CHECK, &set, err,
			    sizeof(err)) < 0) {
		fprintf(stderr, "postinod: %s\n", err);
		config_free(&config);
		return EX_CONFIG;
	}
	if (net_check_cleartext(config, set, err, sizeof(err)) < 0) {
		fprintf(stderr, "postinod: %s\n", err);
		module_set_unref(&set);
		return EX_CONFIG;
	}
	if (!config->srs.enabled)
		fprintf(stderr, "postinod: warning: no [srs] section: mail "
			"forwarded to other servers (aliases, Sieve redirect) "
			"keeps its envelope sender, which their SPF checks "
			"may refuse\n");
	printf("postinod: configuration %s is valid (%zu modules)\n",
	       d->options->config_file, set->count);
	module_set_unref(&set);
	return 0;
}

/* What startup made, undone when it fails part-way. */
static int daemon_unwind(struct daemon *d, struct config **config, int code)
{
	net_stop(d->ctx.net);
	module_set_unref(&d->ctx.modules);
	workers_free(&d->workers);
	store_close(&d->ctx.store);
	if (d->ctx.inbox != NULL)
		inbox_close(d->ctx.inbox);
	if (*config != NULL)
		d->ctx.config = NULL; /* the reference freed here */
	config_free(config);
	return code;
}

static int daemon_start(struct daemon *d, struct config *config)
{
	unsigned count = workers_wanted(config);
	char err[1024];

	d->ctx.config = config;
	fdlimit_raise(&d->ctx);
	if (workers_new(&d->ctx, count, &d->workers, err, sizeof(err)) < 0) {
		core_log(&d->ctx, LOG_LEVEL_ERROR, "startup refused: %s", err);
		return daemon_unwind(d, &config, EX_OSERR);
	}
	/* Ports below 1024 need root: bind before dropping it. */
	int ret = net_open(&d->ctx, &d->ctx.net, err, sizeof(err));
	if (ret < 0) {
		core_log(&d->ctx, LOG_LEVEL_ERROR, "startup refused: %s", err);
		return daemon_unwind(d, &config,
				     ret == UV_EADDRINUSE || ret == UV_EACCES ||
					     ret == UV_EADDRNOTAVAIL
				     ? EX_UNAVAILABLE : EX_CONFIG);
	}
	if (daemon_state_dir(d) < 0 ||
	    privileges_drop(&d->ctx, config->server.user,
			    config->server.state_dir) < 0)
		return daemon_unwind(d, &config, EX_CANTCREAT);
	if (d->privsep != NULL && privsep_watch_parent(d->privsep) < 0) {
		core_log(&d->ctx, LOG_LEVEL_ERROR, "startup refused: the "
			 "privileged parent process is gone");
		return daemon_unwind(d, &config, EX_OSERR);
	}
	if (store_open(config->server.state_dir, STORE_MODE_DAEMON, 1,
		       &d->loop, &d->ctx.store, err, sizeof(err)) < 0) {
		core_log(&d->ctx, LOG_LEVEL_ERROR, "cannot open the store: %s",
			 err);
		return daemon_unwind(d, &config, EX_CANTCREAT);
	}
	if (config->srs.enabled &&
	    store_domain_exists(d->ctx.store, config->srs.domain) != 1)
		core_log(&d->ctx, LOG_LEVEL_WARNING, "[srs] domain %s is not "
			 "hosted here: bounces to its SRS addresses will be "
			 "refused (postino domain add %s)", config->srs.domain,
			 config->srs.domain);
	if (d->options->init_only) {
		core_log(&d->ctx, LOG_LEVEL_INFO, "state initialised in %s",
			 config->server.state_dir);
		return daemon_unwind(d, &config, 0);
	}
	if (workers_open_stores(d->workers, err, sizeof(err)) < 0 ||
	    workers_open_nets(d->workers, err, sizeof(err)) < 0) {
		core_log(&d->ctx, LOG_LEVEL_ERROR, "startup refused: %s", err);
		return daemon_unwind(d, &config, EX_OSERR);
	}
	struct module_set **sets = calloc(count, sizeof(*sets));
	if (sets == NULL ||
	    workers_load_modules(d->workers, config, MODULE_LOAD_INIT, sets,
				 err, sizeof(err)) < 0) {
		core_log(&d->ctx, LOG_LEVEL_ERROR, "startup refused: %s",
			 sets == NULL ? "out of memory" : err);
		free(sets);
		return daemon_unwind(d, &config, EX_CONFIG);
	}
	workers_install(d->workers, sets);
	free(sets);
	config = NULL; /* worker 0's reference: install swapped it */
	for (unsigned i = 0; i < count; i++) {
		struct core_ctx *ctx = d->ctx.node->ctx[i];
		if (net_start(ctx->net, err, sizeof(err)) < 0) {
			core_log(&d->ctx, LOG_LEVEL_ERROR,
				 "startup refused: %s", err);
			return daemon_unwind(d, &config, EX_CONFIG);
		}
	}
	if (daemon_signals(d) < 0)
		return daemon_unwind(d, &config, EX_OSERR);
	/* A queue that cannot start leaves mail queued, never lost; it says
	 * why in its own log line. */
	queue_start(&d->ctx, &d->ctx.queue);
	workers_share(d->workers);
	if (workers_start(d->workers, err, sizeof(err)) < 0) {
		/* The threads that did start are stopped with the rest. */
		core_log(&d->ctx, LOG_LEVEL_ERROR, "startup refused: %s", err);
		daemon_stop(d, SIGTERM);
		uv_run(&d->loop, UV_RUN_DEFAULT);
		uv_close((uv_handle_t *)&d->signals, daemon_close_cb);
		close(d->sigfd);
		return EX_OSERR;
	}
	daemon_log_modules(d, "postinod ready");
	uv_run(&d->loop, UV_RUN_DEFAULT);
	/* The signals stay blocked: one that comes now is never acted on. */
	uv_close((uv_handle_t *)&d->signals, daemon_close_cb);
	close(d->sigfd);
	core_log(&d->ctx, LOG_LEVEL_INFO, "stopped");
	return 0;
}

/* libuv's thread pool runs the yescrypt verifications (CPU) and the
 * blocking lookups of the queue and SPF (network waits), and is made at
 * the first job with UV_THREADPOOL_SIZE threads (default 4): one per
 * online CPU for the work that computes, and four more that a slow DNS
 * server may hold without stalling logins. Sized before anything is
 * queued; an operator's UV_THREADPOOL_SIZE wins. */
static void daemon_size_pool(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	char size[24];

	if (getenv("UV_THREADPOOL_SIZE") != NULL)
		return;
	snprintf(size, sizeof(size), "%ld", (cpus > 0 ? cpus : 1) + 4);
	setenv("UV_THREADPOOL_SIZE", size, 1);
}

int daemon_run(const struct daemon_options *options)
{
	struct daemon d = { .options = options };
	struct config *config = NULL;
	char err[1024];

	/* A client that closes before reading its reply must cost us an
	 * EPIPE on that connection, not the whole server. */
	signal(SIGPIPE, SIG_IGN);
	if (config_load(options->config_file, &config, err, sizeof(err)) < 0) {
		fprintf(stderr, "postinod: %s\n", err);
		return EX_CONFIG;
	}
	log_init(&d.ctx.log, config->server.log_level,
		 config->server.log_target);
	int serving = !options->check_only && !options->init_only;
	if (serving) {
		/* Before any thread exists, so that every thread blocks them
		 * (see daemon_signals). */
		sigset_t set;

		daemon_size_pool();
		daemon_signal_set(&set);
		sigprocmask(SIG_BLOCK, &set, NULL);
	}
	/* Forked before anything else starts (the loop, threads): the
	 * parent only waits for requests, signals and the child's exit. */
	if (serving && privileges_will_drop(config->server.user)) {
		int code = 0;
		int ret = privsep_start(&d.ctx.log, options->config_file, config,
					&d.privsep, &code);

		if (ret != 0) {
			config_free(&config);
			log_deinit(&d.ctx.log);
			return ret > 0 ? code : EX_OSERR;
		}
	}
	uv_loop_init(&d.loop);
	d.ctx.mode = CORE_MODE_DAEMON;
	/* Before the privilege drop, which makes the real uid the server
	 * user's: a module it owns must not load on the next SIGHUP. */
	d.ctx.invoking_uid = getuid();
	d.ctx.loop = &d.loop;
	if (state_overlay_new(&d.ctx.state_overlay) < 0 ||
	    mailbox_node_new(&d.ctx.mailbox_node) < 0 ||
	    auth_cache_new(config, &d.ctx.auth_cache) < 0) {
		fprintf(stderr, "postinod: out of memory\n");
		config_free(&config);
		return EX_OSERR;
	}

	/* GMime's tables, before a worker can parse a message. */
	mime_init();
	int code = options->check_only ? daemon_check(&d, config)
				       : daemon_start(&d, config);

	/* Let close callbacks of everything above run. */
	uv_run(&d.loop, UV_RUN_DEFAULT);
	/* Every worker has ended; worker 0's net goes last (net.h). */
	workers_free(&d.workers);
	net_free(&d.ctx.net);
	inbox_free(&d.ctx.inbox);
	privsep_free(&d.privsep);
	mailbox_registry_free(&d.ctx);
	mailbox_node_free(&d.ctx.mailbox_node);
	auth_cache_free(&d.ctx.auth_cache);
	config_free(&d.ctx.config);
	/* Every state write has completed by now: the store is closed. */
	state_overlay_free(&d.ctx.state_overlay);
	host_mime_cache_free(&d.ctx);
	mime_shutdown();
	if (uv_loop_close(&d.loop) != 0)
		core_log(&d.ctx, LOG_LEVEL_WARNING,
			 "event loop closed with live handles");
	log_deinit(&d.ctx.log);
	return code;
}
