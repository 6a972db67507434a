/* postino alias add|del FROM TO | list [FROM] */
#include <errno.h>
#include <string.h>

#include "cli/cli.h"
#include "util/address.h"

struct alias_args {
	char source[ADDRESS_MAX + 1];
	char target[ADDRESS_MAX + 1];
};

static int alias_add_job(struct store_txn *txn, void *data)
{
	struct alias_args *a = data;

	return store_txn_alias_add(txn, a->source, a->target);
}

static int alias_del_job(struct store_txn *txn, void *data)
{
	struct alias_args *a = data;

	return store_txn_alias_del(txn, a->source, a->target);
}

static int alias_print(void *data, const char *source, const char *target)
{
	fprintf(data, "%s -> %s\n", source, target);
	return 0;
}

int cli_alias(struct cli *cli, int argc, char **argv)
{
	struct alias_args a;
	int code;

	if (argc >= 2 && argc <= 3 && strcmp(argv[1], "list") == 0) {
		const char *source = NULL;
		if (argc == 3) {
			if ((code = cli_address(cli, argv[2], a.source,
						sizeof(a.source))) != 0)
				return code;
			source = a.source;
		}
		int ret = store_alias_list(cli->ctx.store, source, alias_print,
					   cli->out);
		return ret < 0 ? cli_store_fail(cli, ret, "alias list") : 0;
	}
	if (argc != 4 || (strcmp(argv[1], "add") != 0 &&
			  strcmp(argv[1], "del") != 0))
		return cli_fail(cli, EX_USAGE,
				"usage: postino alias add|del FROM TO | list [FROM]");
	if ((code = cli_address(cli, argv[2], a.source, sizeof(a.source))) != 0 ||
	    (code = cli_address(cli, argv[3], a.target, sizeof(a.target))) != 0)
		return code;

	if (strcmp(argv[1], "add") == 0) {
		/* An alias answers mail for a local domain only; anything
		 * else would make us claim mail we do not host. */
		const char *domain = address_domain(a.source);
		int exists = store_domain_exists(cli->ctx.store, domain);
		if (exists < 0)
			return cli_store_fail(cli, exists, domain);
		if (exists == 0)
			return cli_fail(cli, EX_NOUSER,
					"unknown domain %s (aliases must be in "
					"a local domain)", domain);
		int ret = cli_write(cli, alias_add_job, &a);
		if (ret == -EEXIST)
			return cli_fail(cli, EX_CANTCREAT,
					"alias %s -> %s already exists",
					a.source, a.target);
		return ret < 0 ? cli_store_fail(cli, ret, a.source) : 0;
	}
	int ret = cli_write(cli, alias_del_job, &a);
	if (ret == -ENOENT)
		return cli_fail(cli, EX_NOUSER, "no alias %s -> %s", a.source,
				a.target);
	return ret < 0 ? cli_store_fail(cli, ret, a.source) : 0;
}
