/* The admin CLI: `postino [-c CONF] COMMAND ...`. Each command group lives
 * in its own file with one entry point of the cli_command_fn shape. Exit
 * codes follow sysexits(3). */
#ifndef POSTINO_CLI_H
#define POSTINO_CLI_H

#include <stdio.h>
#include <sysexits.h>

#include "module/context.h"
#include "module/module.h"
#include "store/store.h"

struct cli {
	struct core_ctx ctx;
	uv_loop_t loop;
	const char *config_file;
	FILE *out;
	FILE *err;
	int mime;    /* mime_init ran: mime_shutdown at close */
};

typedef int cli_command_fn(struct cli *cli, int argc, char **argv);

cli_command_fn cli_domain;
/* cli_dns.c: postino domain dns DOMAIN */
int cli_domain_dns(struct cli *cli, const char *domain);
cli_command_fn cli_user;
cli_command_fn cli_alias;
cli_command_fn cli_module;
cli_command_fn cli_backup;
cli_command_fn cli_queue;
cli_command_fn cli_quota;
/* cli_quota.c: the quota lines of `user show` (usage and limits). */
int cli_quota_print(struct cli *cli, const char *address);
/* `postino NAME COMMAND ...` for a command a module registered. */
cli_command_fn cli_module_command;

/* What a command needs opened. */
enum cli_need {
	CLI_NEED_CONFIG = 0,
	CLI_NEED_STORE = 1,   /* the database must exist */
	CLI_NEED_MODULES = 2, /* modules loaded and initialised */
};

/* Loads config, and opens the store and modules as `need` says. Returns 0
 * or the exit code after printing why. */
int cli_open(struct cli *cli, unsigned need);
void cli_close(struct cli *cli);

/* Runs job in its own transaction now; returns the job's status. */
int cli_write(struct cli *cli, store_job_fn *job, void *data);

/* Prints "postino: ..." to stderr and returns code. */
int cli_fail(struct cli *cli, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Maps a store error to an exit code, printing what for. */
int cli_store_fail(struct cli *cli, int status, const char *what);

/* Normalizes address or fails with EX_DATAERR naming it. */
int cli_address(struct cli *cli, const char *address, char *out, size_t outlen);

/* Reads one line (the password) from stdin, without its line end. Empty or
 * over-long input fails. Returns 0 or the exit code. */
int cli_read_password(struct cli *cli, char *buf, size_t size);

/* Runs the PASSWORD_VALIDATE hooks (modules' strength rules). Returns 0, or
 * EX_DATAERR after printing the module's reason. */
int cli_password_validate(struct cli *cli, const char *address,
			  const char *password);
/* Tells modules a password changed (ends pwpolicy campaigns and the like). */
void cli_password_changed(struct cli *cli, const char *address);

/* Formats unix seconds as ISO 8601 UTC into buf. */
const char *cli_time(int64_t seconds, char *buf, size_t size);

#endif
