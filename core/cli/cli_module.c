/* postino module list, and `postino MODULE COMMAND ...` for the commands
 * modules register through the host table. */
#include <errno.h>
#include <string.h>

#include "cli/cli.h"

static const char *module_state_name(const struct postino_mod *mod)
{
	switch (mod->state) {
	case MODULE_READY:
		return "ready";
	case MODULE_LOADED:
		return "loaded";
	default:
		return "failed";
	}
}

int cli_module(struct cli *cli, int argc, char **argv)
{
	char err[1024];
	struct module_set *set = NULL;

	if (argc != 2 || strcmp(argv[1], "list") != 0)
		return cli_fail(cli, EX_USAGE, "usage: postino module list");
	/* Modules may read their state during init; without a database they
	 * still load, and their state calls fail cleanly. */
	int ret = store_open(cli->ctx.config->server.state_dir,
			     STORE_MODE_ADMIN, 0, NULL, &cli->ctx.store, err,
			     sizeof(err));
	if (ret < 0 && ret != -ENOENT)
		return cli_fail(cli, EX_IOERR, "cannot open the store: %s", err);

	/* In LIST mode the set takes the config whatever happens. */
	int failed = module_set_load(&cli->ctx, cli->ctx.config,
				     MODULE_LOAD_LIST, &set, err,
				     sizeof(err)) < 0;
	cli->ctx.modules = set;
	fprintf(cli->out, "%-16s %-10s %-6s %s\n", "NAME", "VERSION", "ABI",
		"STATE");
	for (size_t i = 0; i < set->count; i++) {
		const struct postino_mod *mod = &set->mods[i];
		char abi[16] = "-";
		if (mod->desc != NULL)
			snprintf(abi, sizeof(abi), "%u.%u", mod->desc->abi_major,
				 mod->desc->abi_minor);
		fprintf(cli->out, "%-16s %-10s %-6s %s%s%s\n", mod->name,
			mod->desc != NULL && mod->desc->version != NULL
				? mod->desc->version : "-",
			abi, module_state_name(mod),
			mod->state == MODULE_FAILED ? ": " : "",
			mod->state == MODULE_FAILED ? mod->error : "");
	}
	/* The CLI has one instance; the daemon one per worker, each with its
	 * own init (plugin.h's threading rule). */
	unsigned workers = config_workers(cli->ctx.config);
	if (workers > 1 && set->count > 0)
		fprintf(cli->out, "\npostinod runs %u workers, each with its "
			"own instance of every module above.\n", workers);
	return failed ? EX_CONFIG : 0;
}

static void module_help(struct cli *cli, const char *module, FILE *out)
{
	struct module_set *set = cli->ctx.modules;

	fprintf(out, "commands of module %s:\n", module);
	for (size_t i = 0; i < set->command_count; i++) {
		const struct admin_command *cmd = &set->commands[i];
		if (strcmp(cmd->mod->name, module) == 0)
			fprintf(out, "  postino %s %s %s\n", module, cmd->command,
				cmd->usage);
	}
}

int cli_module_command(struct cli *cli, int argc, char **argv)
{
	struct module_set *set = cli->ctx.modules;

	if (module_set_find(set, argv[0]) == NULL)
		return cli_fail(cli, EX_USAGE,
				"unknown command '%s' (no such built-in "
				"command or loaded module; see postino -h)",
				argv[0]);
	if (argc < 2 || strcmp(argv[1], "help") == 0) {
		module_help(cli, argv[0], argc < 2 ? cli->err : cli->out);
		return argc < 2 ? EX_USAGE : 0;
	}
	const struct admin_command *cmd = module_set_command(set, argv[0],
							     argv[1]);
	if (cmd == NULL) {
		cli_fail(cli, EX_USAGE, "module %s has no command '%s'", argv[0],
			 argv[1]);
		module_help(cli, argv[0], cli->err);
		return EX_USAGE;
	}
	return cmd->fn(cmd->data, argc - 1, argv + 1, cli->out, cli->err);
}
