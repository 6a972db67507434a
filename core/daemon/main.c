/* postinod: the Postino mail server daemon. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "daemon/daemon.h"
#include "postino/plugin.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: postinod [-c CONFIG] [-t] [--init]\n"
		"  -c CONFIG  configuration file (default %s/postino.conf)\n"
		"  -t         check the configuration and modules, then exit\n"
		"  --init     create the state directory and database, then exit\n"
		"  -V         print the version\n",
		POSTINO_SYSCONF_DIR);
}

int main(int argc, char **argv)
{
	static const struct option long_options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "test", no_argument, NULL, 't' },
		{ "init", no_argument, NULL, 'i' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct daemon_options options = {
		.config_file = POSTINO_SYSCONF_DIR "/postino.conf",
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "c:tVh", long_options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			options.config_file = optarg;
			break;
		case 't':
			options.check_only = 1;
			break;
		case 'i':
			options.init_only = 1;
			break;
		case 'V':
			printf("postinod %s (plugin ABI %d.%d)\n", POSTINO_VERSION,
			       POSTINO_ABI_MAJOR, POSTINO_ABI_MINOR);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EX_USAGE;
	}
	return daemon_run(&options);
}
