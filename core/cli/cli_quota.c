/* postino quota set ADDRESS|DOMAIN STORAGE [MESSAGES] | show ADDRESS|DOMAIN
 *
 * An account's limits are its own or, set to "default", its domain's; a
 * domain's are the default of its accounts. STORAGE is a size (bytes, or
 * with k, M, G: powers of 1024), MESSAGES a count; "none" is no limit. A
 * MESSAGES left out keeps the message limit as it was. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "cli/cli.h"
#include "config/config.h"
#include "delivery/quota.h"
#include "util/address.h"

#define QUOTA_USAGE \
	"usage: postino quota set ADDRESS|DOMAIN STORAGE|none|default " \
	"[MESSAGES|none|default] | show ADDRESS|DOMAIN"

struct quota_args {
	char target[ADDRESS_MAX + 1];
	int domain;
	int64_t storage, messages;
};

/* "none" 0, "default" STORE_QUOTA_DEFAULT, a size or a count (>= 1). */
static int quota_value(struct cli *cli, const char *text, int size,
		       int64_t *value_r)
{
	if (strcmp(text, "none") == 0) {
		*value_r = 0;
		return 0;
	}
	if (strcmp(text, "default") == 0) {
		*value_r = STORE_QUOTA_DEFAULT;
		return 0;
	}
	if (config_parse_value(size ? POSTINO_CONFIG_SIZE : POSTINO_CONFIG_INT,
			       text, value_r) == 0 && *value_r >= 1)
		return 0;
	return cli_fail(cli, EX_DATAERR,
			size ? "bad storage limit '%s' (a size such as "
			       "500M or 2G, none or default)"
			     : "bad message limit '%s' (a count, none or "
			       "default)", text);
}

/* ADDRESS or DOMAIN into a->target. */
static int quota_target(struct cli *cli, const char *text,
			struct quota_args *a)
{
	a->domain = strchr(text, '@') == NULL;
	if (!a->domain)
		return cli_address(cli, text, a->target, sizeof(a->target));
	if (domain_normalize(text, a->target, sizeof(a->target)) < 0)
		return cli_fail(cli, EX_DATAERR, "malformed domain '%s'", text);
	return 0;
}

static int quota_set_job(struct store_txn *txn, void *data)
{
	const struct quota_args *a = data;

	return a->domain ? store_txn_domain_quota_set(txn, a->target,
						      a->storage, a->messages)
			 : store_txn_quota_set(txn, a->target, a->storage,
					       a->messages);
}

static void print_limit(struct cli *cli, const char *what, uint64_t used,
			uint64_t limit, int64_t own, int size)
{
	char u[32], l[32], human[80] = "";
	const char *from = own == STORE_QUOTA_DEFAULT ? ", domain default" : "";

	if (limit == 0) {
		if (size) {
			quota_format_size(used, u, sizeof(u));
			snprintf(human, sizeof(human), " bytes (%s)", u);
		}
		fprintf(cli->out, "%s: %" PRIu64 "%s, no limit%s\n", what, used,
			human, from);
		return;
	}
	if (size) {
		quota_format_size(used, u, sizeof(u));
		quota_format_size(limit, l, sizeof(l));
		snprintf(human, sizeof(human), "%s of %s, ", u, l);
	}
	/* Percent, rounded down; used * 100 cannot overflow below 2^57. */
	uint64_t pct = used < (UINT64_C(1) << 57) ? used * 100 / limit
						  : used / (limit / 100 + 1);
	fprintf(cli->out, "%s: %" PRIu64 " of %" PRIu64 "%s (%s%" PRIu64
		"%%%s)\n", what, used, limit, size ? " bytes" : "", human, pct,
		from);
}

/* The usage lines of `user show` and `quota show`. */
int cli_quota_print(struct cli *cli, const char *address)
{
	struct store_quota q;
	int ret = store_quota_get(cli->ctx.store, address, &q);

	if (ret == -ENOENT)
		return cli_fail(cli, EX_NOUSER, "unknown user %s", address);
	if (ret < 0)
		return cli_store_fail(cli, ret, address);
	print_limit(cli, "storage", q.storage_used, q.storage_limit,
		    q.account_storage, 1);
	print_limit(cli, "messages", q.messages_used, q.messages_limit,
		    q.account_messages, 0);
	if (q.warned > 0)
		fprintf(cli->out, "quota warning: %u%% sent\n", q.warned);
	else
		fprintf(cli->out, "quota warning: none sent\n");
	return 0;
}

static int quota_show_domain(struct cli *cli, const char *domain)
{
	uint64_t storage, messages;
	char l[32];
	int ret = store_domain_quota_get(cli->ctx.store, domain, &storage,
					 &messages);

	if (ret == -ENOENT)
		return cli_fail(cli, EX_NOUSER, "unknown domain %s", domain);
	if (ret < 0)
		return cli_store_fail(cli, ret, domain);
	fprintf(cli->out, "domain: %s\n", domain);
	quota_format_size(storage, l, sizeof(l));
	if (storage > 0)
		fprintf(cli->out, "default storage: %" PRIu64 " bytes (%s)\n",
			storage, l);
	else
		fprintf(cli->out, "default storage: no limit\n");
	if (messages > 0)
		fprintf(cli->out, "default messages: %" PRIu64 "\n", messages);
	else
		fprintf(cli->out, "default messages: no limit\n");
	return 0;
}

int cli_quota(struct cli *cli, int argc, char **argv)
{
	struct quota_args a = { .messages = STORE_QUOTA_KEEP };
	int code;

	if (argc == 3 && strcmp(argv[1], "show") == 0) {
		if ((code = quota_target(cli, argv[2], &a)) != 0)
			return code;
		if (a.domain)
			return quota_show_domain(cli, a.target);
		fprintf(cli->out, "address: %s\n", a.target);
		return cli_quota_print(cli, a.target);
	}
	if ((argc != 4 && argc != 5) || strcmp(argv[1], "set") != 0)
		return cli_fail(cli, EX_USAGE, QUOTA_USAGE);
	if ((code = quota_target(cli, argv[2], &a)) != 0 ||
	    (code = quota_value(cli, argv[3], 1, &a.storage)) != 0 ||
	    (argc == 5 && (code = quota_value(cli, argv[4], 0,
					      &a.messages)) != 0))
		return code;
	int ret = cli_write(cli, quota_set_job, &a);
	if (ret == -ENOENT)
		return cli_fail(cli, EX_NOUSER, "unknown %s %s",
				a.domain ? "domain" : "user", a.target);
	return ret < 0 ? cli_store_fail(cli, ret, a.target) : 0;
}
