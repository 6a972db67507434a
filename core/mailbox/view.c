/* Mailbox views for protocol modules: a mailbox's messages (UID, size,
 * flags, keywords, modseq) as this session knows them, kept up to date
 * by mailbox_sync (host_view_sync.c), with ranged reads of their bytes.
 * Message bodies are never held, and the records are the mailbox's
 * shared table (host_view.h): a view of a 100,000-message mailbox costs
 * the same few dozen bytes as one of an empty mailbox.
 * An exclusive view (POP3's maildrop) conflicts only with another
 * exclusive view of the same mailbox. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "host/host_mail.h"
#include "mailbox/view.h"
#include "mailbox/mailbox_registry.h"
#include "mailbox/uid_list.h"
#include "store/store.h"
#include "util/address.h"

void host_view_ref(postino_mailbox *mb)
{
	mb->refs++;
}

static void view_shown_clear(postino_mailbox *mb)
{
	for (uint32_t i = 0; i < mb->shown_count; i++)
		free(mb->shown[i].keywords);
	free(mb->shown);
	mb->shown = NULL;
	mb->shown_count = mb->shown_cap = 0;
}

void host_view_unref(postino_mailbox *mb)
{
	if (--mb->refs > 0)
		return;
	view_shown_clear(mb);
	uid_list_free(&mb->gone);
	uid_list_free(&mb->recent);
	msg_table_unref(&mb->table);
	module_set_unref(&mb->set);
	free(mb->account);
	free(mb);
}

void host_mailbox_close(postino_mailbox **mbp)
{
	postino_mailbox *mb = *mbp;

	*mbp = NULL;
	if (mb == NULL)
		return;
	if (mb->entry != NULL) {
		struct mailbox_view_link **p = &mb->entry->views;
		while (*p != NULL && *p != &mb->link)
			p = &(*p)->next;
		if (*p != NULL)
			*p = mb->link.next;
		if (mb->locked)
			mailbox_shared_unlock(mb->entry->shared);
		__atomic_sub_fetch(&mb->entry->shared->views, 1,
				   __ATOMIC_SEQ_CST);
		/* Jobs in flight keep this view's own table reference. */
		mailbox_registry_view_closed(mb->ctx, mb->entry);
		mb->entry = NULL;
	}
	mb->closed = 1;
	host_view_unref(mb);
}

int host_mailbox_open(struct postino_mod *mod, const char *account,
		      const char *name, unsigned flags,
		      postino_mailbox **mailbox_r)
{
	struct core_ctx *ctx = mod->ctx;
	struct store_mailbox info;
	struct store_mailbox_status status;
	char address[ADDRESS_MAX + 1];

	*mailbox_r = NULL;
	if (address_normalize(account, address, sizeof(address)) < 0)
		return -ENOENT;
	int ret = store_mailbox_get(ctx->store, address, name, &info);
	if (ret < 0)
		return ret;
	struct mailbox_entry *entry = mailbox_registry_get(ctx, info.id,
							   info.uidvalidity,
							   info.recent_uid);
	if (entry == NULL)
		return -ENOMEM;
	/* Node-wide: a POP3 session on another worker holds it too. */
	if ((flags & POSTINO_MAILBOX_EXCLUSIVE) &&
	    !mailbox_shared_lock(entry->shared))
		return -EBUSY;
	struct postino_mailbox *mb = calloc(1, sizeof(*mb));
	if (mb == NULL || (mb->account = strdup(address)) == NULL) {
		if (flags & POSTINO_MAILBOX_EXCLUSIVE)
			mailbox_shared_unlock(entry->shared);
		free(mb);
		return -ENOMEM;
	}
	mb->refs = 1;
	mb->ctx = ctx;
	mb->set = mod->set;
	module_set_ref(mb->set);
	mb->mailbox_id = info.id;
	mb->uidvalidity = info.uidvalidity;
	mb->entry = entry;
	mailbox_registry_busy(ctx, entry);
	mb->link.next = entry->views;
	entry->views = &mb->link;
	/* Counted before the first read (mailbox_registry_changed). */
	__atomic_add_fetch(&entry->shared->views, 1, __ATOMIC_SEQ_CST);
	mb->locked = (flags & POSTINO_MAILBOX_EXCLUSIVE) != 0;
	mb->claims_recent = (flags & POSTINO_MAILBOX_RECENT) != 0;
	ret = mailbox_entry_refresh(ctx->store, entry, &status);
	if (ret < 0) {
		host_mailbox_close(&mb);
		return ret;
	}
	mb->table = msg_table_ref(entry->table);
	/* \Recent (RFC 3501 2.3.2): what no read-write view was told of.
	 * SELECT takes it (atomically for the node: a view on another
	 * worker gets none of it); EXAMINE shows it and leaves it for the
	 * next. */
	uint32_t from = mb->claims_recent
				? mailbox_registry_claim_recent(ctx, entry,
								status.uidnext)
				: mailbox_entry_recent(entry);
	for (uint32_t k = msg_table_after(mb->table, from - 1);
	     k < mb->table->count; k++) {
		if (uid_list_push(&mb->recent, mb->table->recs[k].uid) < 0) {
			host_mailbox_close(&mb);
			return -ENOMEM;
		}
	}
	*mailbox_r = mb;
	return 0;
}

uint32_t host_mailbox_count(postino_mailbox *mb)
{
	return mb->table->count;
}

uint32_t host_mailbox_uidvalidity(postino_mailbox *mb)
{
	return mb->uidvalidity;
}

const struct view_flags *host_view_shown(const postino_mailbox *mb,
					 uint32_t uid)
{
	uint32_t lo = 0, hi = mb->shown_count;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (mb->shown[mid].uid == uid)
			return &mb->shown[mid];
		if (mb->shown[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int host_mailbox_message(postino_mailbox *mb, uint32_t index,
			 struct postino_message_info *info_r)
{
	if (index >= mb->table->count || info_r == NULL ||
	    !POSTINO_HAS_FIELD(info_r, struct postino_message_info,
			       internaldate))
		return -EINVAL;
	const struct msg_rec *m = &mb->table->recs[index];
	const struct view_flags *own = host_view_shown(mb, m->uid);
	const char *keywords = own != NULL ? own->keywords : m->keywords;
	uint32_t flags = own != NULL ? own->flags : m->flags;
	if (mb->recent.count > 0 && uid_list_has(&mb->recent, m->uid))
		flags |= POSTINO_FLAG_RECENT;
	info_r->uid = m->uid;
	info_r->octets = m->size;
	info_r->flags = flags;
	info_r->internaldate = m->internaldate;
	if (POSTINO_HAS_FIELD(info_r, struct postino_message_info, modseq))
		info_r->modseq = own != NULL && own->modseq > m->modseq
					 ? own->modseq : m->modseq;
	if (POSTINO_HAS_FIELD(info_r, struct postino_message_info, keywords))
		info_r->keywords = keywords != NULL ? keywords : "";
	return 0;
}

uint64_t host_mailbox_highestmodseq(postino_mailbox *mb)
{
	return mb->table->modseq;
}

/* UIDs reported as ranges: consecutive ones are one call. */
struct vanished_ctx {
	void (*range)(void *data, uint32_t lo, uint32_t hi);
	void *data;
	uint32_t lo, hi; /* the run so far; lo 0: none */
};

static void vanished_flush(struct vanished_ctx *v)
{
	if (v->lo != 0)
		v->range(v->data, v->lo, v->hi);
	v->lo = v->hi = 0;
}

static void vanished_add(struct vanished_ctx *v, uint32_t lo, uint32_t hi)
{
	if (v->lo != 0 && lo == v->hi + 1) {
		v->hi = hi;
		return;
	}
	vanished_flush(v);
	v->lo = lo;
	v->hi = hi;
}

static int vanished_one(void *data, uint32_t uid)
{
	vanished_add(data, uid, uid);
	return 0;
}

int host_mailbox_vanished(postino_mailbox *mb, uint64_t since,
			  void (*range)(void *data, uint32_t lo, uint32_t hi),
			  void *data)
{
	struct store *store = mb->ctx->store;
	struct store_mailbox_status st;
	struct vanished_ctx v = { .range = range, .data = data };
	const struct msg_table *t = mb->table;

	if (range == NULL)
		return -EINVAL;
	if (since >= t->modseq)
		return 0;
	int ret = store_read_begin(store);
	if (ret < 0)
		return ret;
	ret = store_mailbox_status(store, mb->mailbox_id, &st);
	if (ret == 0 && st.uidvalidity != mb->uidvalidity)
		ret = -ENOENT;
	if (ret == 0 && since >= st.vanished_floor)
		ret = store_vanished(store, mb->mailbox_id, since, t->modseq,
				     vanished_one, &v);
	store_read_end(store);
	if (ret < 0)
		return ret;
	if (since >= st.vanished_floor) {
		vanished_flush(&v);
		return 0;
	}
	/* Pruned that far back: every UID below the view's UIDNEXT that
	 * it does not have, a superset of what went (RFC 7162 3.2.5.2). */
	uint32_t next = 1;
	for (uint32_t i = 0; i <= t->count; i++) {
		uint32_t uid = i < t->count ? t->recs[i].uid : t->uidnext;
		if (uid > next)
			vanished_add(&v, next, uid - 1);
		next = uid + 1;
	}
	vanished_flush(&v);
	return 1;
}

int host_view_blob(postino_mailbox *mb, uint32_t index, int64_t *blob_id_r,
		   uint64_t *size_r)
{
	if (index >= mb->table->count)
		return -EINVAL;
	const struct msg_rec *m = &mb->table->recs[index];
	if (mb->gone.count > 0 && uid_list_has(&mb->gone, m->uid))
		return -ENOENT;
	*blob_id_r = m->blob_id;
	*size_r = m->size;
	return 0;
}

int64_t host_mailbox_read(postino_mailbox *mb, uint32_t index,
			  uint64_t offset, void *buf, size_t len)
{
	int64_t blob_id;
	uint64_t size;
	int ret = host_view_blob(mb, index, &blob_id, &size);

	if (ret < 0)
		return ret;
	return store_blob_read(mb->ctx->store, blob_id, offset, buf, len);
}

void host_mailbox_watch(postino_mailbox *mb, void (*changed)(void *data),
			void *data)
{
	mb->link.changed = changed;
	mb->link.data = data;
}

int host_view_show_many(postino_mailbox *mb, const struct view_flags *add,
			uint32_t n)
{
	struct view_flags *merged;
	char **kw;
	uint32_t i = 0, j = 0, out = 0;

	if (n == 0)
		return 0;
	if (n > UINT32_MAX - mb->shown_count)
		return -ENOMEM;
	merged = malloc(((size_t)mb->shown_count + n) * sizeof(*merged));
	kw = calloc(n, sizeof(*kw));
	int ok = merged != NULL && kw != NULL;
	for (uint32_t k = 0; ok && k < n; k++)
		if (add[k].keywords != NULL && add[k].keywords[0] != '\0')
			ok = (kw[k] = strdup(add[k].keywords)) != NULL;
	if (!ok) {
		for (uint32_t k = 0; kw != NULL && k < n; k++)
			free(kw[k]);
		free(kw);
		free(merged);
		return -ENOMEM;
	}
	/* Both sorted by UID: one pass; add wins where both have a UID. */
	while (i < mb->shown_count || j < n) {
		if (j == n ||
		    (i < mb->shown_count && mb->shown[i].uid < add[j].uid)) {
			merged[out++] = mb->shown[i++];
			continue;
		}
		if (i < mb->shown_count && mb->shown[i].uid == add[j].uid)
			free(mb->shown[i++].keywords);
		merged[out++] = (struct view_flags){ add[j].uid, add[j].flags,
						     kw[j], add[j].modseq };
		j++;
	}
	free(kw);
	free(mb->shown);
	mb->shown = merged;
	mb->shown_cap = mb->shown_count + n;
	mb->shown_count = out;
	return 0;
}

void host_view_forget_shown(postino_mailbox *mb)
{
	view_shown_clear(mb);
}

/* ---- expunge ------------------------------------------------------------- */

struct mailbox_expunge {
	struct core_ctx *ctx;
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
	return job->count > 0 ? store_txn_vanished_prune(txn, job->mailbox_id,
							 STORE_VANISHED_KEEP)
			      : 0;
}

static void mailbox_expunge_done(void *data, int status)
{
	struct mailbox_expunge *job = data;

	if (status == 0)
		mailbox_registry_changed(job->ctx, job->mailbox_id);
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
	job->ctx = mb->ctx;
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
