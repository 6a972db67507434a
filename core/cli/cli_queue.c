/* postino queue list | flush [ID] | del ID */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char *status_name(int status)
{
	switch (status) {
	case STORE_RCPT_PENDING:
		return "pending";
	case STORE_RCPT_FAILED:
		return "failed";
	case STORE_RCPT_DELIVERED:
		return "delivered";
	case STORE_RCPT_BOUNCED:
		return "bounced";
	}
	return "unknown";
}

static int rcpt_print(void *data, const struct store_queue_rcpt *r)
{
	fprintf(data, "  %s %s%s%s\n", r->address, status_name(r->status),
		r->last_reply[0] ? " " : "", r->last_reply);
	return 0;
}

struct list_ctx {
	struct cli *cli;
	int64_t *ids;
	size_t count, cap;
};

static int entry_collect(void *data, const struct store_queue_entry *e)
{
	struct list_ctx *l = data;

	if (l->count == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		int64_t *p = realloc(l->ids, cap * sizeof *p);
		if (p == NULL)
			return -ENOMEM;
		l->ids = p;
		l->cap = cap;
	}
	l->ids[l->count++] = e->id;
	return 0;
}

/* One line per entry, then one indented line per recipient:
 *   ID CREATED NEXT_ATTEMPT attempts=N <SENDER>
 *     ADDRESS STATUS [LAST REPLY] */
static int queue_list(struct cli *cli)
{
	struct store *store = cli->ctx.store;
	struct list_ctx l = { .cli = cli };
	int ret;

	/* Ids first: the read statements are cached one per id and must not
	 * be nested. */
	ret = store_queue_list(store, entry_collect, &l);
	for (size_t i = 0; ret == 0 && i < l.count; i++) {
		struct store_queue_entry e;
		char created[32], next[32];

		ret = store_queue_get(store, l.ids[i], &e, NULL, NULL);
		if (ret == -ENOENT) {
			ret = 0;
			continue;
		}
		if (ret < 0)
			break;
		fprintf(cli->out, "%lld %s %s attempts=%lld size=%lld <%s>\n",
			(long long)e.id, cli_time(e.created, created,
						  sizeof created),
			cli_time(e.next_attempt, next, sizeof next),
			(long long)e.attempts, (long long)e.size, e.sender);
		ret = store_queue_rcpts(store, e.id, rcpt_print, cli->out);
	}
	free(l.ids);
	return ret < 0 ? cli_store_fail(cli, ret, "queue list") : 0;
}

static int flush_job(struct store_txn *txn, void *data)
{
	return store_txn_queue_flush(txn, *(int64_t *)data);
}

static int del_job(struct store_txn *txn, void *data)
{
	return store_txn_queue_del(txn, *(int64_t *)data);
}

static int parse_id(const char *text, int64_t *id_r)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || v < 1)
		return -EINVAL;
	*id_r = v;
	return 0;
}

int cli_queue(struct cli *cli, int argc, char **argv)
{
	int64_t id = 0;
	int ret;

	if (argc == 2 && strcmp(argv[1], "list") == 0)
		return queue_list(cli);
	if (argc >= 2 && strcmp(argv[1], "flush") == 0 && argc <= 3) {
		if (argc == 3 && parse_id(argv[2], &id) < 0)
			return cli_fail(cli, EX_USAGE, "malformed queue id '%s'",
					argv[2]);
		ret = cli_write(cli, flush_job, &id);
		if (ret == -ENOENT)
			return cli_fail(cli, EX_NOUSER, "unknown queue id %s",
					argv[2]);
		/* The daemon's next poll (poll_interval) finds them due. */
		return ret < 0 ? cli_store_fail(cli, ret, "queue flush") : 0;
	}
	if (argc == 3 && strcmp(argv[1], "del") == 0) {
		if (parse_id(argv[2], &id) < 0)
			return cli_fail(cli, EX_USAGE, "malformed queue id '%s'",
					argv[2]);
		ret = cli_write(cli, del_job, &id);
		if (ret == -ENOENT)
			return cli_fail(cli, EX_NOUSER, "unknown queue id %s",
					argv[2]);
		return ret < 0 ? cli_store_fail(cli, ret, "queue del") : 0;
	}
	return cli_fail(cli, EX_USAGE,
			"usage: postino queue list | flush [ID] | del ID");
}
