/* Writing a delivery plan (delivery.h) in one job of the store writer:
 * the message once for every stored copy (with Return-Path), once per
 * queue entry (with its own headers, never Return-Path), the bounce, and
 * the maker's state entry. The client's 250 waits for this commit. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "delivery/delivery.h"
#include "delivery/msg_internal.h"
#include "delivery/quota.h"
#include "host/host_mail.h"
#include "mailbox/mailbox_registry.h"
#include "net/conn_api.h"
#include "queue/queue.h"
#include "queue/queue_proto.h"
#include "store/store.h"

/* How long the queue keeps trying a remote recipient. */
#define DELIVERY_QUEUE_LIFETIME_S (5 * 24 * 3600)

static void free_list(char **list, size_t count)
{
	for (size_t i = 0; list != NULL && i < count; i++)
		free(list[i]);
	free(list);
}

void delivery_plan_free(struct delivery_plan **planp)
{
	struct delivery_plan *plan = *planp;

	*planp = NULL;
	if (plan == NULL)
		return;
	for (size_t i = 0; i < plan->copy_count; i++) {
		free(plan->copies[i].account);
		free(plan->copies[i].mailbox);
		free(plan->copies[i].keywords);
	}
	free(plan->copies);
	for (size_t i = 0; i < plan->forward_count; i++) {
		free(plan->forwards[i].sender);
		free(plan->forwards[i].headers);
		free_list(plan->forwards[i].rcpts, plan->forwards[i].rcpt_count);
	}
	free(plan->forwards);
	for (size_t i = 0; i < plan->failure_count; i++) {
		free(plan->failures[i].address);
		free(plan->failures[i].reply);
	}
	free(plan->failures);
	free_list(plan->bounce_local, plan->bounce_local_count);
	free_list(plan->bounce_remote, plan->bounce_remote_count);
	free(plan->bounce_mailboxes);
	free(plan->mail_from);
	free(plan->hostname);
	free(plan->state_key);
	free(plan->state_value);
	mime_summary_free(&plan->summary);
	host_msg_discard(&plan->msg);
	free(plan);
}

static int is_inbox(const char *name)
{
	return name == NULL || strcasecmp(name, "INBOX") == 0;
}

/* The mailbox a copy goes to: the named one (made when create says so),
 * or INBOX when it is missing or its name is refused. */
static int copy_mailbox(struct store_txn *txn, struct delivery_copy *c)
{
	uint32_t uidvalidity;
	int ret;

	if (is_inbox(c->mailbox))
		return store_txn_inbox_id(txn, c->account, &c->mailbox_id);
	ret = store_txn_mailbox_lookup(txn, c->account, c->mailbox,
				       &c->mailbox_id, &uidvalidity);
	if (ret == -ENOENT && c->create) {
		ret = store_txn_mailbox_create(txn, c->account, c->mailbox,
					       NULL);
		/* Clients list subscribed folders: a folder made for mail
		 * must show (as Dovecot's lda_mailbox_autosubscribe). */
		if (ret == 0)
			ret = store_txn_mailbox_subscribe(txn, c->account,
							  c->mailbox, 1);
		if (ret == 0)
			ret = store_txn_mailbox_lookup(txn, c->account,
						       c->mailbox,
						       &c->mailbox_id,
						       &uidvalidity);
	}
	if (ret == -ENOENT || ret == -EINVAL || ret == -EPERM) {
		/* No such account makes the INBOX lookup fail too. */
		c->fell_back = 1;
		return store_txn_inbox_id(txn, c->account, &c->mailbox_id);
	}
	return ret;
}

/* One copy: into its mailbox, unless the account is over quota (mail
 * from a client; then over_quota, and its bounce comes after), and the
 * warning when this copy crosses a threshold. */
static int commit_copy(struct store_txn *txn, struct delivery_plan *plan,
		       struct delivery_copy *c, int64_t blob, size_t len)
{
	struct store_quota before;
	uint32_t uid;
	int ret = copy_mailbox(txn, c);

	if (ret == 0)
		ret = quota_admit(txn, c->account, len, &before);
	if (ret == 0 && plan->enforce_quota) {
		c->over_quota = 1;
		c->mailbox_id = 0;
		plan->refused++;
		return 0;
	}
	if (ret >= 0)
		ret = store_txn_message_append(txn, c->mailbox_id, blob,
					       c->flags, plan->now, &uid);
	if (ret == 0 && c->keywords != NULL && c->keywords[0] != '\0')
		ret = store_txn_message_keywords(txn, c->mailbox_id, uid,
						 c->keywords);
	if (ret == 0)
		ret = quota_warn(txn, plan->msg->set->config, c->account,
				 &before, plan->now, &c->warned);
	return ret;
}

static int commit_copies(struct store_txn *txn, struct delivery_plan *plan,
			 const char *buf, size_t len)
{
	int64_t blob;
	int ret;

	if (plan->copy_count == 0)
		return 0;
	ret = store_txn_blob_put(txn, buf, len, &blob);
	if (ret == 0 && plan->summary.envelope != NULL)
		ret = host_mime_store(txn, blob, &plan->summary);
	plan->refused = 0;
	for (size_t i = 0; ret == 0 && i < plan->copy_count; i++)
		ret = commit_copy(txn, plan, &plan->copies[i], blob, len);
	return ret;
}

/* The copies refused for their quota, as failed recipients of a queue
 * entry: the queue bounces them to the sender, as it does a remote's
 * 5xx. A bounce (null sender) is not bounced: done logs the loss. */
static int commit_over_quota(struct store_txn *txn,
			     struct delivery_plan *plan, const char *data,
			     size_t len)
{
	const char **rcpts;
	size_t n = 0;
	int64_t blob, queue_id;
	int ret;

	if (plan->refused == 0 || plan->mail_from[0] == '\0')
		return 0;
	rcpts = calloc(plan->refused, sizeof(*rcpts));
	if (rcpts == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < plan->copy_count; i++) {
		const struct delivery_copy *c = &plan->copies[i];
		int seen = 0;
		for (size_t k = 0; c->over_quota && k < n; k++)
			seen |= strcmp(rcpts[k], c->account) == 0;
		if (c->over_quota && !seen)
			rcpts[n++] = c->account;
	}
	ret = store_txn_blob_put(txn, data, len, &blob);
	if (ret == 0)
		ret = store_txn_queue_add(txn, plan->mail_from, blob, rcpts, n,
					  plan->now,
					  plan->now + DELIVERY_QUEUE_LIFETIME_S,
					  &queue_id);
	if (ret == 0)
		ret = store_txn_queue_fail_all(txn, queue_id, QUOTA_FULL_REPLY);
	free(rcpts);
	return ret;
}

/* Forwards never carry Return-Path: the remote copy is the bytes as
 * received, with the policies' headers and the forward's own. */
static int commit_forwards(struct store_txn *txn, struct delivery_plan *plan,
			   const char *msg, size_t len)
{
	int ret = 0;

	for (size_t i = 0; ret == 0 && i < plan->forward_count; i++) {
		struct delivery_forward *f = &plan->forwards[i];
		size_t hlen = f->headers != NULL ? strlen(f->headers) : 0;
		const char *data = msg;
		char *joined = NULL;
		int64_t blob;

		if (hlen > 0) {
			joined = malloc(hlen + len);
			if (joined == NULL)
				return -ENOMEM;
			memcpy(joined, f->headers, hlen);
			memcpy(joined + hlen, msg, len);
			data = joined;
		}
		ret = store_txn_blob_put(txn, data, hlen + len, &blob);
		if (ret == 0)
			ret = store_txn_queue_add(txn, f->sender, blob,
					(const char *const *)f->rcpts,
					f->rcpt_count, plan->now,
					plan->now + DELIVERY_QUEUE_LIFETIME_S,
					NULL);
		free(joined);
	}
	return ret;
}

/* One RFC 3464 report of every failure, from the null sender (a bounce
 * is never bounced), into the sender's INBOX or the queue. */
static int commit_bounce(struct store_txn *txn, struct delivery_plan *plan,
			 const char *msg, size_t len)
{
	struct queue_dsn_rcpt *rcpts;
	char *dsn;
	size_t dsn_len;
	int64_t blob;
	int ret;

	if (plan->failure_count == 0 ||
	    plan->bounce_local_count + plan->bounce_remote_count == 0)
		return 0;
	rcpts = calloc(plan->failure_count, sizeof(*rcpts));
	if (rcpts == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < plan->failure_count; i++) {
		rcpts[i].address = plan->failures[i].address;
		rcpts[i].reply = plan->failures[i].reply;
	}
	struct queue_dsn d = {
		.hostname = plan->hostname,
		.sender = plan->mail_from,
		.message = msg,
		.message_len = len,
		.rcpts = rcpts,
		.rcpt_count = plan->failure_count,
		.now_s = plan->now,
		.arrival_s = plan->now,
		.unique = (uint64_t)(uintptr_t)plan,
	};
	ret = queue_dsn_build(&d, &dsn, &dsn_len);
	free(rcpts);
	if (ret < 0)
		return ret;
	/* The stored copy is a final delivery: it gets its Return-Path. */
	static const char rp[] = "Return-Path: <>\r\n";
	char *local = plan->bounce_local_count > 0
			      ? malloc(sizeof(rp) - 1 + dsn_len) : NULL;
	ret = plan->bounce_local_count > 0 && local == NULL ? -ENOMEM : 0;
	if (ret == 0 && local != NULL) {
		memcpy(local, rp, sizeof(rp) - 1);
		memcpy(local + sizeof(rp) - 1, dsn, dsn_len);
		ret = store_txn_blob_put(txn, local, sizeof(rp) - 1 + dsn_len,
					 &blob);
	}
	free(local);
	for (size_t i = 0; ret == 0 && i < plan->bounce_local_count; i++) {
		ret = store_txn_inbox_id(txn, plan->bounce_local[i],
					 &plan->bounce_mailboxes[i]);
		if (ret == 0)
			ret = store_txn_message_append(txn,
						plan->bounce_mailboxes[i],
						blob, 0, plan->now, NULL);
	}
	if (ret == 0 && plan->bounce_remote_count > 0)
		ret = store_txn_blob_put(txn, dsn, dsn_len, &blob);
	if (ret == 0 && plan->bounce_remote_count > 0)
		ret = store_txn_queue_add(txn, "", blob,
				(const char *const *)plan->bounce_remote,
				plan->bounce_remote_count, plan->now,
				plan->now + DELIVERY_QUEUE_LIFETIME_S, NULL);
	free(dsn);
	return ret;
}

static int commit_state(struct store_txn *txn, struct delivery_plan *plan)
{
	int ret;

	if (plan->state_key == NULL)
		return 0;
	if (plan->state_value == NULL) {
		ret = store_txn_state_delete(txn, plan->msg->module,
					     plan->state_key);
		/* Deleting what is not there is the state wanted. */
		return ret == -ENOENT ? 0 : ret;
	}
	return store_txn_state_put(txn, plan->msg->module, plan->state_key,
				   plan->state_value, plan->state_len,
				   plan->state_expires_at);
}

static int delivery_run(struct store_txn *txn, void *data)
{
	struct delivery_plan *plan = data;
	size_t prefix, len;
	int ret;

	if (plan->copy_count + plan->forward_count + plan->failure_count == 0)
		return commit_state(txn, plan);
	char *buf = msg_load(plan->msg, plan->mail_from, &prefix, &len);
	if (buf == NULL)
		return -EIO;
	ret = commit_copies(txn, plan, buf, len);
	/* Nobody could take it: refused whole (SMTP's 552 at the end of
	 * DATA), nothing stored. */
	if (ret == 0 && plan->refused > 0 &&
	    plan->refused == plan->copy_count && plan->forward_count == 0 &&
	    plan->failure_count == 0)
		ret = -EDQUOT;
	if (ret == 0)
		ret = commit_over_quota(txn, plan, buf + prefix, len - prefix);
	if (ret == 0)
		ret = commit_forwards(txn, plan, buf + prefix, len - prefix);
	if (ret == 0)
		ret = commit_bounce(txn, plan, buf + prefix, len - prefix);
	free(buf);
	if (ret == 0)
		ret = commit_state(txn, plan);
	return ret;
}

static void delivery_done(void *data, int status)
{
	struct delivery_plan *plan = data;
	postino_msg *msg = plan->msg;
	struct core_ctx *ctx = msg->ctx;
	int call = 1;

	if (status == -EDQUOT)
		log_write(&ctx->log, LOG_LEVEL_INFO, "core", NULL,
			  "message from <%s> refused: every recipient is "
			  "over quota", plan->mail_from);
	else if (status < 0)
		log_write(&ctx->log, LOG_LEVEL_ERROR, "core", NULL,
			  "delivery of a message from <%s> failed: %s",
			  plan->mail_from, strerror(-status));
	for (size_t i = 0; status == 0 && i < plan->copy_count; i++) {
		const struct delivery_copy *c = &plan->copies[i];
		if (c->fell_back)
			log_write(&ctx->log, LOG_LEVEL_WARNING, "core", NULL,
				  "%s: mailbox '%s' does not exist (or its "
				  "name is refused): delivered to INBOX",
				  c->account, c->mailbox);
		if (c->over_quota)
			log_write(&ctx->log, LOG_LEVEL_INFO, "core", NULL,
				  "<%s> is over quota: the message from <%s> "
				  "%s", c->account, plan->mail_from,
				  plan->mail_from[0] != '\0'
					  ? "is bounced"
					  : "is dropped (a bounce is not "
					    "bounced)");
		if (c->warned != 0)
			log_write(&ctx->log, LOG_LEVEL_INFO, "core", NULL,
				  "<%s> crossed a quota warning threshold: "
				  "warned", c->account);
		if (c->mailbox_id != 0)
			mailbox_registry_changed(ctx, c->mailbox_id);
		if (c->warned != 0 && c->warned != c->mailbox_id)
			mailbox_registry_changed(ctx, c->warned);
	}
	for (size_t i = 0; status == 0 && i < plan->bounce_local_count; i++)
		mailbox_registry_changed(ctx, plan->bounce_mailboxes[i]);
	/* Remote recipients need not wait for the queue's next poll. */
	if (status == 0 && ctx->queue != NULL &&
	    (plan->forward_count > 0 || plan->bounce_remote_count > 0 ||
	     plan->refused > 0))
		queue_kick(ctx->queue);
	if (msg->conn != NULL) {
		call = conn_unref(msg->conn);
		msg->conn = NULL;
	}
	if (call)
		plan->done(plan->data, status);
	delivery_plan_free(&plan);
}

int delivery_commit(struct delivery_plan *plan)
{
	struct store *store = plan->msg->ctx->store;
	int ret = -EINVAL;

	plan->bounce_mailboxes = calloc(plan->bounce_local_count + 1,
					sizeof(*plan->bounce_mailboxes));
	if (plan->bounce_mailboxes == NULL)
		ret = -ENOMEM;
	else if (store != NULL)
		ret = store_submit(store, delivery_run, delivery_done, plan);
	return ret;
}
