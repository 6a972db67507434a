/* postino backup FILE: a consistent online copy, safe while postinod runs. */
#include <sys/stat.h>

#include "cli/cli.h"

int cli_backup(struct cli *cli, int argc, char **argv)
{
	struct stat st;
	char err[1024];

	if (argc != 2)
		return cli_fail(cli, EX_USAGE, "usage: postino backup FILE");
	/* Never overwrite: the file may be the previous good backup. */
	if (stat(argv[1], &st) == 0)
		return cli_fail(cli, EX_CANTCREAT, "%s already exists", argv[1]);
	const char *state_dir = cli->ctx.config->server.state_dir;
	char db[4096];
	snprintf(db, sizeof(db), "%s/%s", state_dir, STORE_DB_FILE);
	if (stat(db, &st) < 0)
		return cli_fail(cli, EX_NOINPUT, "missing database %s", db);
	if (store_backup(state_dir, argv[1], err, sizeof(err)) < 0)
		return cli_fail(cli, EX_IOERR, "backup to %s failed: %s",
				argv[1], err);
	fprintf(cli->out, "backup written to %s\n", argv[1]);
	return 0;
}
