/* Mailbox views for protocol modules: a snapshot of a mailbox's messages
 * (UID, size, flags), ranged reads of their bytes, and durable expunges.
 * An exclusive view (POP3's maildrop) conflicts only with another
 * exclusive view of the same mailbox; the locks live in the core context
 * and die with the view. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "module/host_mail.h"
#include "store/store.h"
#include "util/address.h"

struct mailbox_lock {
	int64_t mailbox_id;
	struct mailbox_lock *next;
};

struct postino_mailbox {
	struct core_ctx *ctx;
	struct module_set *set;
	int64_t mailbox_id;
	uint32_t uidvalidity;
	struct store_message *msgs;
	uint32_t count;
	uint32_t cap;
	int locked;
};

static struct mailbox_lock **mailbox_lock_find(struct core_ctx *ctx,
					       int64_t mailbox_id)
{
	struct mailbox_lock **p = &ctx->mailbox_locks;

	while (*p != NULL && (*p)->mailbox_id != mailbox_id)
		p = &(*p)->next;
	return p;
}

static int mailbox_collect(void *data, const struct store_message *m)
{
	struct postino_mailbox *mb = data;

	if (mb->count == mb->cap) {
		uint32_t cap = mb->cap > 0 ? mb->cap * 2 : 64;
		struct store_message *grown = realloc(mb->msgs,
						      cap * sizeof(*grown));
		if (grown == NULL)
			return -ENOMEM;
		mb->msgs = grown;
		mb->cap = cap;
	}
	mb->msgs[mb->count++] = *m;
	return 0;
}

void host_mailbox_close(postino_mailbox **mbp)
{
	struct postino_mailbox *mb = *mbp;

	*mbp = NULL;
	if (mb == NULL)
		return;
	if (mb->locked) {
		struct mailbox_lock **p = mailbox_lock_find(mb->ctx,
							    mb->mailbox_id);
		struct mailbox_lock *lock = *p;
		if (lock != NULL) {
			*p = lock->next;
			free(lock);
		}
	}
	module_set_unref(&mb->set);
	free(mb->msgs);
	free(mb);
}

int host_mailbox_open(struct postino_mod *mod, const char *account,
		      const char *name, int exclusive,
		      postino_mailbox **mailbox_r)
{
	struct core_ctx *ctx = mod->ctx;
	struct store_mailbox info;
	char address[ADDRESS_MAX + 1];

	*mailbox_r = NULL;
	if (address_normalize(account, address, sizeof(address)) < 0)
		return -ENOENT;
	int ret = store_mailbox_get(ctx->store, address, name, &info);
	if (ret < 0)
		return ret;
	if (exclusive && *mailbox_lock_find(ctx, info.id) != NULL)
		return -EBUSY;
	struct postino_mailbox *mb = calloc(1, sizeof(*mb));
	if (mb == NULL)
		return -ENOMEM;
	mb->ctx = ctx;
	mb->set = mod->set;
	module_set_ref(mb->set);
	mb->mailbox_id = info.id;
	mb->uidvalidity = info.uidvalidity;
	if (exclusive) {
		struct mailbox_lock *lock = calloc(1, sizeof(*lock));
		if (lock == NULL) {
			host_mailbox_close(&mb);
			return -ENOMEM;
		}
		lock->mailbox_id = info.id;
		lock->next = ctx->mailbox_locks;
		ctx->mailbox_locks = lock;
		mb->locked = 1;
	}
	ret = store_message_list(ctx->store, info.id, mailbox_collect, mb);
	if (ret < 0) {
		host_mailbox_close(&mb);
		return ret;
	}
	*mailbox_r = mb;
	return 0;
}

uint32_t host_mailbox_count(postino_mailbox *mb)
{
	return mb->count;
}

uint32_t host_mailbox_uidvalidity(postino_mailbox *mb)
{
	return mb->uidvalidity;
}

int host_mailbox_message(postino_mailbox *mb, uint32_t index,
			 struct postino_message_info *info_r)
{
	if (index >= mb->count || info_r == NULL ||
	    !POSTINO_HAS_FIELD(info_r, struct postino_message_info,
			       internaldate))
		return -EINVAL;
	const struct store_message *m = &mb->msgs[index];
	info_r->uid = m->uid;
	info_r->octets = m->size;
	info_r->flags = m->flags;
	info_r->internaldate = m->internaldate;
	return 0;
}

int64_t host_mailbox_read(postino_mailbox *mb, uint32_t index,
			  uint64_t offset, void *buf, size_t len)
{
	if (index >= mb->count)
		return -EINVAL;
	return store_blob_read(mb->ctx->store, mb->msgs[index].blob_id, offset,
			       buf, len);
}

struct mailbox_expunge {
	int64_t mailbox_id;
	uint32_t *uids;
	size_t count;
	struct module_set *set;
	void (*done)(void *data, int status);
	void *data;
};

static int mailbox_expunge_run(struct store_txn *txn, void *data)
{
	struct mailbox_expunge *job = data;

	for (size_t i = 0; i < job->count; i++) {
		int ret = store_txn_message_expunge(txn, job->mailbox_id,
						    job->uids[i]);
		/* Gone already (another session expunged it): fine. */
		if (ret < 0 && ret != -ENOENT)
			return ret;
	}
	return 0;
}

static void mailbox_expunge_done(void *data, int status)
{
	struct mailbox_expunge *job = data;

	job->done(job->data, status);
	module_set_unref(&job->set);
	free(job->uids);
	free(job);
}

int host_mailbox_expunge(postino_mailbox *mb, const uint32_t *uids,
			 size_t count, void (*done)(void *data, int status),
			 void *data)
{
	struct mailbox_expunge *job = calloc(1, sizeof(*job));

	if (job == NULL || done == NULL) {
		free(job);
		return -EINVAL;
	}
	job->uids = malloc((count + 1) * sizeof(*job->uids));
	if (job->uids == NULL) {
		free(job);
		return -ENOMEM;
	}
	if (count > 0)
		memcpy(job->uids, uids, count * sizeof(*uids));
	job->count = count;
	job->mailbox_id = mb->mailbox_id;
	job->done = done;
	job->data = data;
	job->set = mb->set;
	module_set_ref(job->set);
	int ret = store_submit(mb->ctx->store, mailbox_expunge_run,
			       mailbox_expunge_done, job);
	if (ret < 0) {
		module_set_unref(&job->set);
		free(job->uids);
		free(job);
	}
	return ret;
}
