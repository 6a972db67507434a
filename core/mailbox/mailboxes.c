/* Account-level mailbox entries of the host table (IMAP): list, status,
 * create, delete, rename, subscribe and the subscription list. Writes are store jobs; their done
 * callbacks tell open views of the touched mailboxes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "host/host_mail.h"
#include "mailbox/mailbox_registry.h"
#include "store/store.h"
#include "util/address.h"

struct list_ctx {
	void (*entry)(void *data, const struct postino_mailbox_entry *e);
	void *data;
};

static int list_one(void *data, const struct store_mailbox *m)
{
	struct list_ctx *lc = data;
	struct postino_mailbox_entry e = {
		.size = sizeof(e),
		.name = m->name,
		.special_use = m->special_use[0] != '\0' ? m->special_use
							 : NULL,
		.subscribed = m->subscribed,
	};

	lc->entry(lc->data, &e);
	return 0;
}

int host_mailbox_list(struct postino_mod *mod, const char *account,
		      void (*entry)(void *data,
				    const struct postino_mailbox_entry *e),
		      void *data)
{
	char address[ADDRESS_MAX + 1];
	struct list_ctx lc = { .entry = entry, .data = data };

	if (entry == NULL ||
	    address_normalize(account, address, sizeof(address)) < 0)
		return -EINVAL;
	return store_mailbox_list(mod->ctx->store, address, list_one, &lc);
}

struct subscriptions_ctx {
	void (*name)(void *data, const char *name);
	void *data;
};

static int subscription_one(void *data, const char *name)
{
	struct subscriptions_ctx *sc = data;

	sc->name(sc->data, name);
	return 0;
}

int host_mailbox_subscriptions(struct postino_mod *mod, const char *account,
			       void (*name)(void *data, const char *name),
			       void *data)
{
	char address[ADDRESS_MAX + 1];
	struct subscriptions_ctx sc = { .name = name, .data = data };

	if (name == NULL ||
	    address_normalize(account, address, sizeof(address)) < 0)
		return -EINVAL;
	return store_subscription_list(mod->ctx->store, address,
				       subscription_one, &sc);
}

int host_mailbox_status(struct postino_mod *mod, const char *account,
			const char *name,
			struct postino_mailbox_status *status_r)
{
	struct core_ctx *ctx = mod->ctx;
	char address[ADDRESS_MAX + 1];
	struct store_mailbox info;
	struct store_mailbox_status st;

	if (status_r == NULL ||
	    !POSTINO_HAS_FIELD(status_r, struct postino_mailbox_status,
			       highestmodseq))
		return -EINVAL;
	if (address_normalize(account, address, sizeof(address)) < 0)
		return -ENOENT;
	int ret = store_mailbox_get(ctx->store, address, name, &info);
	if (ret == 0)
		ret = store_mailbox_status(ctx->store, info.id, &st);
	if (ret < 0)
		return ret;
	status_r->messages = st.messages;
	status_r->unseen = st.unseen;
	status_r->uidnext = st.uidnext;
	status_r->uidvalidity = st.uidvalidity;
	status_r->highestmodseq = st.highestmodseq;
	if (POSTINO_HAS_FIELD(status_r, struct postino_mailbox_status,
			      deleted_storage)) {
		status_r->deleted = st.deleted;
		status_r->deleted_storage = st.deleted_bytes;
	}
	/* \Recent: the messages from the first UID no read-write view has
	 * claimed (the node's, on any worker, newer than the store's while
	 * its job is in flight), counted in this worker's table when it is
	 * current. */
	struct mailbox_entry *e = mailbox_registry_find(ctx, info.id);
	uint32_t from = mailbox_registry_recent(ctx, info.id, st.uidvalidity,
						info.recent_uid);
	if (e != NULL && e->uidvalidity == st.uidvalidity &&
	    e->table != NULL && e->table->modseq == st.highestmodseq) {
		status_r->recent = e->table->count -
				   msg_table_after(e->table, from - 1);
		return 0;
	}
	return store_message_count_from(ctx->store, info.id, from,
					&status_r->recent);
}

enum mbox_op { MBOX_CREATE, MBOX_DELETE, MBOX_RENAME, MBOX_SUBSCRIBE };

struct mbox_job {
	struct core_ctx *ctx;
	struct module_set *set;
	enum mbox_op op;
	char account[ADDRESS_MAX + 1];
	char *name;
	char *name2;   /* RENAME's new name, CREATE's special use */
	int subscribed;
	int64_t touched;          /* DELETE: the mailbox (id, uidvalidity) */
	uint32_t touched_uidvalidity;
	struct store_rename renamed;
	void (*done)(void *data, int status);
	void *data;
};

static int mbox_run(struct store_txn *txn, void *data)
{
	struct mbox_job *job = data;

	switch (job->op) {
	case MBOX_CREATE:
		return store_txn_mailbox_create(txn, job->account, job->name,
						job->name2);
	case MBOX_DELETE:
		/* Which mailbox goes, id and UIDVALIDITY: by the time done
		 * runs its id may be a new mailbox's. A failed look-up is
		 * the delete's own failure, reported by it. */
		(void)store_txn_mailbox_lookup(txn, job->account, job->name,
					       &job->touched,
					       &job->touched_uidvalidity);
		return store_txn_mailbox_delete(txn, job->account, job->name,
						&job->touched);
	case MBOX_RENAME:
		return store_txn_mailbox_rename(txn, job->account, job->name,
						job->name2, &job->renamed);
	case MBOX_SUBSCRIBE:
		return store_txn_mailbox_subscribe(txn, job->account,
						   job->name, job->subscribed);
	}
	return -EINVAL;
}

static void mbox_job_free(struct mbox_job *job)
{
	free(job->renamed.ids);
	module_set_unref(&job->set);
	free(job->name);
	free(job->name2);
	free(job);
}

/* Entries follow their mailboxes, on every worker: a deleted one leaves
 * the registry (views of it are told, its cached table goes), renamed
 * ones carry their new UIDVALIDITY (their views go on: a view is a
 * mailbox, not a name), INBOX emptied by its rename tells its views. */
static void mbox_done(void *data, int status)
{
	struct mbox_job *job = data;

	if (status == 0 && job->op == MBOX_DELETE && job->touched != 0)
		mailbox_registry_gone(job->ctx, job->touched,
				      job->touched_uidvalidity);
	if (status == 0 && job->op == MBOX_RENAME) {
		for (size_t i = 0; i < job->renamed.count; i++)
			mailbox_registry_renamed(job->ctx, job->renamed.ids[i],
						 job->renamed.uidvalidity);
		if (job->renamed.inbox_id != 0)
			mailbox_registry_changed(job->ctx,
						 job->renamed.inbox_id);
	}
	job->done(job->data, status);
	mbox_job_free(job);
}

static int mbox_submit(struct postino_mod *mod, enum mbox_op op,
		       const char *account, const char *name,
		       const char *name2, int subscribed,
		       void (*done)(void *data, int status), void *data)
{
	struct mbox_job *job;

	if (done == NULL || name == NULL)
		return -EINVAL;
	job = calloc(1, sizeof(*job));
	if (job == NULL)
		return -ENOMEM;
	job->ctx = mod->ctx;
	job->set = mod->set;
	module_set_ref(job->set);
	job->op = op;
	job->subscribed = subscribed;
	job->done = done;
	job->data = data;
	job->name = strdup(name);
	if (name2 != NULL)
		job->name2 = strdup(name2);
	if (address_normalize(account, job->account, sizeof(job->account)) < 0 ||
	    job->name == NULL || (name2 != NULL && job->name2 == NULL)) {
		mbox_job_free(job);
		return -EINVAL;
	}
	int ret = store_submit(mod->ctx->store, mbox_run, mbox_done, job);
	if (ret < 0)
		mbox_job_free(job);
	return ret;
}

int host_mailbox_create(struct postino_mod *mod, const char *account,
			const char *name, const char *special_use,
			void (*done)(void *data, int status), void *data)
{
	static const char *const known[] = { "\\All", "\\Archive",
		"\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash" };
	int ok = special_use == NULL;

	for (size_t i = 0; !ok && i < sizeof known / sizeof known[0]; i++)
		ok = strcasecmp(special_use, known[i]) == 0;
	if (!ok)
		return -EINVAL;
	return mbox_submit(mod, MBOX_CREATE, account, name, special_use, 0,
			   done, data);
}

int host_mailbox_delete(struct postino_mod *mod, const char *account,
			const char *name,
			void (*done)(void *data, int status), void *data)
{
	return mbox_submit(mod, MBOX_DELETE, account, name, NULL, 0, done,
			   data);
}

int host_mailbox_rename(struct postino_mod *mod, const char *account,
			const char *from, const char *to,
			void (*done)(void *data, int status), void *data)
{
	if (to == NULL)
		return -EINVAL;
	return mbox_submit(mod, MBOX_RENAME, account, from, to, 0, done, data);
}

int host_mailbox_subscribe(struct postino_mod *mod, const char *account,
			   const char *name, int subscribed,
			   void (*done)(void *data, int status), void *data)
{
	return mbox_submit(mod, MBOX_SUBSCRIBE, account, name, NULL,
			   subscribed, done, data);
}
