/* postino domain add|del|dns|list [DOMAIN] */
#include <errno.h>
#include <string.h>

#include "cli/cli.h"
#include "util/address.h"

static int domain_add_job(struct store_txn *txn, void *data)
{
	return store_txn_domain_add(txn, data);
}

static int domain_del_job(struct store_txn *txn, void *data)
{
	return store_txn_domain_del(txn, data);
}

static int domain_print(void *data, const char *domain)
{
	fprintf(data, "%s\n", domain);
	return 0;
}

int cli_domain(struct cli *cli, int argc, char **argv)
{
	char domain[DOMAIN_MAX + 1];

	if (argc == 2 && strcmp(argv[1], "list") == 0) {
		int ret = store_domain_list(cli->ctx.store, domain_print, cli->out);
		return ret < 0 ? cli_store_fail(cli, ret, "domain list") : 0;
	}
	if (argc != 3 || (strcmp(argv[1], "add") != 0 &&
			  strcmp(argv[1], "del") != 0 &&
			  strcmp(argv[1], "dns") != 0))
		return cli_fail(cli, EX_USAGE,
				"usage: postino domain add|del|dns DOMAIN | list");
	if (domain_normalize(argv[2], domain, sizeof(domain)) < 0)
		return cli_fail(cli, EX_DATAERR, "malformed domain '%s'", argv[2]);
	if (strcmp(argv[1], "dns") == 0)
		return cli_domain_dns(cli, domain);

	if (strcmp(argv[1], "add") == 0) {
		int ret = cli_write(cli, domain_add_job, domain);
		if (ret == -EEXIST)
			return cli_fail(cli, EX_CANTCREAT,
					"domain %s already exists", domain);
		return ret < 0 ? cli_store_fail(cli, ret, domain) : 0;
	}
	int ret = cli_write(cli, domain_del_job, domain);
	if (ret == -ENOENT)
		return cli_fail(cli, EX_NOUSER, "unknown domain %s", domain);
	if (ret == -ENOTEMPTY)
		return cli_fail(cli, EX_DATAERR,
				"domain %s still has accounts or aliases; delete "
				"them first",
				domain);
	return ret < 0 ? cli_store_fail(cli, ret, domain) : 0;
}
