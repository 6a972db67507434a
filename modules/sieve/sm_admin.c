/* postino sieve list|get|put|activate|deactivate|delete ACCOUNT [NAME]
 * [FILE], postino sieve check FILE. The CLI runs no loop: scripts are
 * compiled here, and state writes commit before the calls return.
 * ACCOUNT ":global" names the scripts `include :global` reads. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm.h"

#define EX_OK 0
#define EX_USAGE 64
#define EX_DATAERR 65
#define EX_NOINPUT 66
#define EX_NOUSER 67
#define EX_SOFTWARE 70
#define EX_IOERR 74

/* The account as stored (case folded), or ":global". */
static int account_arg(struct sm *sm, const char *arg, char *out,
		       size_t size, FILE *err)
{
	struct postino_account a = { .size = sizeof(a) };

	if (strcmp(arg, SM_GLOBAL) == 0) {
		snprintf(out, size, "%s", SM_GLOBAL);
		return 0;
	}
	if (sm->host->account->account_get(sm->mod, arg, &a) < 0) {
		fprintf(err, "postino sieve: no such account: %s\n", arg);
		return EX_NOUSER;
	}
	snprintf(out, size, "%s", a.address);
	return 0;
}

/* The whole file (or stdin for "-"), at most max octets. */
static int read_file(const char *path, size_t max, char **text_r,
		     size_t *len_r, FILE *err)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	size_t cap = 4096, len = 0;
	char *text = malloc(cap);

	if (f == NULL || text == NULL) {
		fprintf(err, "postino sieve: cannot read %s: %s\n", path,
			f == NULL ? strerror(errno) : "out of memory");
		free(text);
		return EX_NOINPUT;
	}
	for (;;) {
		if (len == cap) {
			char *grown = cap > max ? NULL : realloc(text, cap * 2);
			if (grown == NULL)
				break;
			text = grown;
			cap *= 2;
		}
		size_t n = fread(text + len, 1, cap - len, f);
		if (n == 0)
			break;
		len += n;
	}
	int failed = ferror(f) || !feof(f);
	if (f != stdin)
		fclose(f);
	if (failed && len <= max) {
		fprintf(err, "postino sieve: cannot read %s\n", path);
		free(text);
		return EX_NOINPUT;
	}
	*text_r = text;
	*len_r = len;
	return 0;
}

static void write_done(void *data, int status)
{
	*(int *)data = status;
}

static int cmd_list(void *data, int argc, char **argv, FILE *out, FILE *err)
{
	struct sm *sm = data;
	char account[330];
	struct sm_index index;

	if (argc != 2) {
		fprintf(err, "usage: postino sieve list ACCOUNT\n");
		return EX_USAGE;
	}
	int code = account_arg(sm, argv[1], account, sizeof(account), err);
	if (code != 0)
		return code;
	if (sm_index_read(sm, account, &index) < 0) {
		fprintf(err, "postino sieve: cannot read the scripts\n");
		return EX_IOERR;
	}
	for (size_t i = 0; i < index.count; i++)
		fprintf(out, "%s%s\n", index.entries[i].name,
			index.entries[i].active ? "\tactive" : "");
	sm_index_free(&index);
	return EX_OK;
}

static int cmd_get(void *data, int argc, char **argv, FILE *out, FILE *err)
{
	struct sm *sm = data;
	char account[330];
	char *text;
	size_t len;

	if (argc != 3) {
		fprintf(err, "usage: postino sieve get ACCOUNT NAME\n");
		return EX_USAGE;
	}
	int code = account_arg(sm, argv[1], account, sizeof(account), err);
	if (code != 0)
		return code;
	int ret = sm->service.get(sm, account, argv[2], &text, &len);
	if (ret < 0) {
		fprintf(err, "postino sieve: %s: %s\n", argv[2],
			ret == -ENOENT ? "no such script" : strerror(-ret));
		return ret == -ENOENT ? EX_NOINPUT : EX_IOERR;
	}
	fwrite(text, 1, len, out);
	free(text);
	return EX_OK;
}

static int cmd_put(void *data, int argc, char **argv, FILE *out, FILE *err)
{
	struct sm *sm = data;
	char account[330];
	struct sm_compiled c;
	char *text;
	size_t len;

	(void)out;
	if (argc != 4) {
		fprintf(err, "usage: postino sieve put ACCOUNT NAME FILE\n");
		return EX_USAGE;
	}
	int code = account_arg(sm, argv[1], account, sizeof(account), err);
	if (code == 0)
		code = read_file(argv[3], sm->limits.max_script_size, &text,
				 &len, err);
	if (code != 0)
		return code;
	int ret = sm->service.havespace(sm, account, argv[2], len);
	if (ret < 0) {
		fprintf(err, "postino sieve: %s: %s\n", argv[2],
			ret == -EINVAL ? "not a valid script name" :
			ret == -EFBIG ? "the script is too large" :
			ret == -EDQUOT ? "too many scripts" : strerror(-ret));
		free(text);
		return EX_DATAERR;
	}
	sm_compile(sm, text, len, &c);
	if (c.status < 0) {
		fprintf(err, "postino sieve: %s: %s\n", argv[3], c.error);
		free(text);
		return c.status == -ENOMEM ? EX_SOFTWARE : EX_DATAERR;
	}
	int status = 1;
	sm_script_store(sm, account, argv[2], text, len, &c, write_done,
			&status);
	free(c.program);
	free(text);
	if (status != 0) {
		fprintf(err, "postino sieve: cannot store %s: %s\n", argv[2],
			status == -EDQUOT ? "too many scripts"
					  : strerror(status < 0 ? -status : EIO));
		return status == -EDQUOT ? EX_DATAERR : EX_IOERR;
	}
	return EX_OK;
}

/* activate, deactivate, delete: one index change each. */
static int cmd_change(struct sm *sm, int argc, char **argv, FILE *err,
		      int want_name)
{
	char account[330];
	int status = 1;
	int ret;

	if (argc != 2 + want_name) {
		fprintf(err, "usage: postino sieve %s ACCOUNT%s\n", argv[0],
			want_name ? " NAME" : "");
		return EX_USAGE;
	}
	int code = account_arg(sm, argv[1], account, sizeof(account), err);
	if (code != 0)
		return code;
	if (strcmp(argv[0], "delete") == 0)
		ret = sm->service.remove(sm, account, argv[2], write_done,
					 &status);
	else
		ret = sm->service.activate(sm, account,
					   want_name ? argv[2] : NULL,
					   write_done, &status);
	if (ret == 0 && status != 0)
		ret = status < 0 ? status : -EIO;
	if (ret < 0) {
		fprintf(err, "postino sieve: %s: %s\n",
			want_name ? argv[2] : account,
			ret == -ENOENT ? "no such script" :
			ret == -EBUSY ? "it is the active script (deactivate "
					"it first)" : strerror(-ret));
		return ret == -ENOENT ? EX_NOINPUT : ret == -EBUSY
			? EX_DATAERR : EX_IOERR;
	}
	return EX_OK;
}

static int cmd_activate(void *data, int argc, char **argv, FILE *out,
			FILE *err)
{
	(void)out;
	return cmd_change(data, argc, argv, err, 1);
}

static int cmd_deactivate(void *data, int argc, char **argv, FILE *out,
			  FILE *err)
{
	(void)out;
	return cmd_change(data, argc, argv, err, 0);
}

static int cmd_delete(void *data, int argc, char **argv, FILE *out,
		      FILE *err)
{
	(void)out;
	return cmd_change(data, argc, argv, err, 1);
}

static int cmd_check(void *data, int argc, char **argv, FILE *out, FILE *err)
{
	struct sm *sm = data;
	struct sm_compiled c;
	char *text;
	size_t len;

	if (argc != 2) {
		fprintf(err, "usage: postino sieve check FILE\n");
		return EX_USAGE;
	}
	int code = read_file(argv[1], sm->limits.max_script_size, &text, &len,
			     err);
	if (code != 0)
		return code;
	sm_compile(sm, text, len, &c);
	free(text);
	free(c.program);
	if (c.status < 0) {
		fprintf(err, "postino sieve: %s: %s\n", argv[1], c.error);
		return c.status == -ENOMEM ? EX_SOFTWARE : EX_DATAERR;
	}
	fprintf(out, "%s: ok\n", argv[1]);
	return EX_OK;
}

int sm_admin_register(struct sm *sm)
{
	static const struct {
		const char *command, *usage;
		postino_admin_fn fn;
	} commands[] = {
		{ "list", "ACCOUNT", cmd_list },
		{ "get", "ACCOUNT NAME", cmd_get },
		{ "put", "ACCOUNT NAME FILE|-", cmd_put },
		{ "activate", "ACCOUNT NAME", cmd_activate },
		{ "deactivate", "ACCOUNT", cmd_deactivate },
		{ "delete", "ACCOUNT NAME", cmd_delete },
		{ "check", "FILE|-", cmd_check },
	};

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		int ret = sm->host->policy->admin_register(sm->mod,
			commands[i].command, commands[i].usage,
			commands[i].fn, sm);
		if (ret < 0)
			return ret;
	}
	return 0;
}
