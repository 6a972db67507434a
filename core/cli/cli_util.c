#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mime/mime.h"
#include "cli/cli.h"
#include "host/host_state.h"
#include "module/hooks.h"
#include "util/address.h"

int cli_fail(struct cli *cli, int code, const char *fmt, ...)
{
	va_list args;

	fputs("postino: ", cli->err);
	va_start(args, fmt);
	vfprintf(cli->err, fmt, args);
	va_end(args);
	fputc('\n', cli->err);
	return code;
}

int cli_store_fail(struct cli *cli, int status, const char *what)
{
	switch (status) {
	case -ENOENT:
		return cli_fail(cli, EX_NOUSER, "%s: not found", what);
	case -EEXIST:
		return cli_fail(cli, EX_CANTCREAT, "%s: already exists", what);
	case -EINVAL:
		return cli_fail(cli, EX_DATAERR, "%s: invalid", what);
	case -ENOTEMPTY:
		return cli_fail(cli, EX_DATAERR, "%s: still in use", what);
	default:
		return cli_fail(cli, EX_IOERR, "%s: store error: %s", what,
				strerror(-status));
	}
}

int cli_open(struct cli *cli, unsigned need)
{
	char err[1024];
	struct config *config = NULL;

	if (config_load(cli->config_file, &config, err, sizeof(err)) < 0)
		return cli_fail(cli, EX_CONFIG, "%s", err);
	cli->ctx.config = config;
	/* The CLI talks to a person: warnings and errors only. */
	log_init(&cli->ctx.log, LOG_LEVEL_WARNING, LOG_TARGET_STDERR);
	uv_loop_init(&cli->loop);
	cli->ctx.loop = &cli->loop;
	cli->ctx.mode = CORE_MODE_ADMIN;
	if (state_overlay_new(&cli->ctx.state_overlay) < 0)
		return cli_fail(cli, EX_OSERR, "out of memory");
	cli->ctx.invoking_uid = getuid();

	if (need & CLI_NEED_STORE) {
		/* Messages the CLI stores (notices) get their IMAP summary. */
		mime_init();
		cli->mime = 1;
		int ret = store_open(config->server.state_dir, STORE_MODE_ADMIN,
				     0, NULL, &cli->ctx.store, err, sizeof(err));
		if (ret == -ENOENT)
			return cli_fail(cli, EX_NOINPUT,
				"missing database %s/%s (start postinod once, "
				"or run postinod --init)",
				config->server.state_dir, STORE_DB_FILE);
		if (ret < 0)
			return cli_fail(cli, EX_IOERR, "cannot open the store: %s",
					err);
	}
	if (need & CLI_NEED_MODULES) {
		if (module_set_load(&cli->ctx, config, MODULE_LOAD_INIT,
				    &cli->ctx.modules, err, sizeof(err)) < 0)
			return cli_fail(cli, EX_CONFIG, "%s", err);
	}
	return 0;
}

static void cli_close_handle(uv_handle_t *handle, void *arg)
{
	if (!uv_is_closing(handle))
		uv_close(handle, NULL);
}

void cli_close(struct cli *cli)
{
	if (cli->ctx.loop == NULL) {
		config_free(&cli->ctx.config);
		return;
	}
	/* Modules own the config once loaded. */
	if (cli->ctx.modules != NULL)
		module_set_unref(&cli->ctx.modules);
	else
		config_free(&cli->ctx.config);
	cli->ctx.config = NULL;
	store_close(&cli->ctx.store);
	uv_walk(&cli->loop, cli_close_handle, NULL);
	uv_run(&cli->loop, UV_RUN_DEFAULT);
	uv_loop_close(&cli->loop);
	state_overlay_free(&cli->ctx.state_overlay);
	if (cli->mime)
		mime_shutdown();
	log_deinit(&cli->ctx.log);
}

/* The job and its data travel together; the done callback records the
 * status the CLI turns into an exit code. */
struct cli_write {
	store_job_fn *job;
	void *data;
	int status;
	int done;
};

static int cli_write_job(struct store_txn *txn, void *data)
{
	struct cli_write *w = data;

	return w->job(txn, w->data);
}

static void cli_write_done(void *data, int status)
{
	struct cli_write *w = data;

	w->status = status;
	w->done = 1;
}

int cli_write(struct cli *cli, store_job_fn *job, void *data)
{
	struct cli_write w = { .job = job, .data = data };
	int ret = store_submit(cli->ctx.store, cli_write_job, cli_write_done, &w);

	if (ret < 0)
		return ret;
	/* Admin mode commits before store_submit returns. */
	return w.done ? w.status : -EIO;
}

int cli_address(struct cli *cli, const char *address, char *out, size_t outlen)
{
	if (address_normalize(address, out, outlen) < 0)
		return cli_fail(cli, EX_DATAERR, "malformed address '%s'",
				address);
	return 0;
}

int cli_read_password(struct cli *cli, char *buf, size_t size)
{
	if (fgets(buf, (int)size, stdin) == NULL)
		return cli_fail(cli, EX_DATAERR, "no password on stdin");
	size_t len = strlen(buf);
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	else if (len == size - 1)
		return cli_fail(cli, EX_DATAERR, "password too long (max %zu)",
				size - 2);
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	if (len == 0)
		return cli_fail(cli, EX_DATAERR, "empty password");
	return 0;
}

struct cli_hook_result {
	int done;
	enum postino_verdict verdict;
	char text[512];
	int code;
};

static void cli_hook_done(void *data, enum postino_verdict verdict, int code,
			  const char *text)
{
	struct cli_hook_result *result = data;

	result->done = 1;
	result->verdict = verdict;
	result->code = code;
	snprintf(result->text, sizeof(result->text), "%s", text);
}

/* Runs a hook point to completion; PENDING hooks finish on our loop. */
static void cli_run_hooks(struct cli *cli, struct postino_hook_event *ev,
			  struct cli_hook_result *result)
{
	if (hooks_run(cli->ctx.modules, ev, cli_hook_done, result) < 0) {
		result->done = 1;
		result->verdict = POSTINO_DEFER;
		snprintf(result->text, sizeof(result->text), "out of memory");
		return;
	}
	while (!result->done && uv_run(&cli->loop, UV_RUN_ONCE) != 0)
		;
	if (!result->done) {
		result->verdict = POSTINO_DEFER;
		snprintf(result->text, sizeof(result->text),
			 "a module never completed its password check");
	}
}

int cli_password_validate(struct cli *cli, const char *address,
			  const char *password)
{
	struct postino_hook_event ev = {
		.size = sizeof(ev),
		.point = POSTINO_HOOK_PASSWORD_VALIDATE,
		.protocol = "admin",
		.account = address,
		.password = password,
	};
	struct cli_hook_result result = { 0 };

	cli_run_hooks(cli, &ev, &result);
	if (result.verdict == POSTINO_DEFER || result.verdict == POSTINO_REJECT)
		return cli_fail(cli, EX_DATAERR, "password refused: %s",
				result.text);
	return 0;
}

void cli_password_changed(struct cli *cli, const char *address)
{
	struct postino_hook_event ev = {
		.size = sizeof(ev),
		.point = POSTINO_HOOK_PASSWORD_CHANGED,
		.protocol = "admin",
		.account = address,
	};
	struct cli_hook_result result = { 0 };

	cli_run_hooks(cli, &ev, &result);
}

const char *cli_time(int64_t seconds, char *buf, size_t size)
{
	time_t t = (time_t)seconds;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}
