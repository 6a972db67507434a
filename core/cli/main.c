/* postino: the admin CLI. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct {
	const char *name;
	cli_command_fn *fn;
	unsigned need;
} cli_commands[] = {
	{ "domain", cli_domain, CLI_NEED_STORE },
	{ "user", cli_user, CLI_NEED_STORE | CLI_NEED_MODULES },
	{ "alias", cli_alias, CLI_NEED_STORE },
	{ "module", cli_module, CLI_NEED_CONFIG },
	{ "backup", cli_backup, CLI_NEED_CONFIG },
	{ "queue", cli_queue, CLI_NEED_STORE },
	{ "quota", cli_quota, CLI_NEED_STORE },
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: postino [-c CONF] COMMAND ...\n"
		"  domain add|del|list [DOMAIN] ;  domain dns DOMAIN\n"
		"  user add ADDRESS [--password-stdin] [--secondary ADDR] [--lang it|en]\n"
		"  user del|show ADDRESS\n"
		"  user list [DOMAIN]\n"
		"  user set ADDRESS [--secondary ADDR] [--lang it|en] [--disabled yes|no]\n"
		"  user passwd ADDRESS --password-stdin\n"
		"  alias add|del FROM TO\n"
		"  alias list [FROM]\n"
		"  quota set ADDRESS|DOMAIN STORAGE|none|default "
		"[MESSAGES|none|default]\n"
		"  quota show ADDRESS|DOMAIN\n"
		"  module list\n"
		"  backup FILE\n"
		"  MODULE COMMAND ...   (commands modules register; "
		"`postino MODULE help` lists them)\n"
		"default CONF: %s/postino.conf\n", POSTINO_SYSCONF_DIR);
}

int main(int argc, char **argv)
{
	struct cli cli = {
		.config_file = POSTINO_SYSCONF_DIR "/postino.conf",
		.out = stdout,
		.err = stderr,
	};
	int opt;

	/* '+': options after the command belong to the command. */
	while ((opt = getopt(argc, argv, "+c:h")) != -1) {
		switch (opt) {
		case 'c':
			cli.config_file = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EX_USAGE;
	}
	argc -= optind;
	argv += optind;

	cli_command_fn *fn = cli_module_command;
	unsigned need = CLI_NEED_STORE | CLI_NEED_MODULES;
	for (size_t i = 0; i < sizeof(cli_commands) / sizeof(cli_commands[0]); i++) {
		if (strcmp(argv[0], cli_commands[i].name) == 0) {
			fn = cli_commands[i].fn;
			need = cli_commands[i].need;
			break;
		}
	}
	int code = cli_open(&cli, need);
	if (code == 0) {
		/* glibc re-initialises getopt (including the "+" mode used
		 * above) only when optind is 0. */
		optind = 0;
		code = fn(&cli, argc, argv);
	}
	cli_close(&cli);
	if (fflush(stdout) != 0 && code == 0)
		code = EX_IOERR;
	return code;
}
