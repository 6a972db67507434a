/* Mailbox views for protocol modules: a mailbox's messages (UID, size,
 * flags, keywords, modseq) as this session knows them, kept up to date
 * by mailbox_sync, with ranged reads of their bytes. Message bodies are
 * never held: a 100,000-message view is an array of small records.
 * An exclusive view (POP3's maildrop) conflicts only with another
 * exclusive view of the same mailbox. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "module/host_mail.h"
#include "module/host_view.h"
#include "module/mailbox_registry.h"
#include "store/store.h"
#include "util/address.h"

static void view_msg_clear(struct view_msg *m)
{
	free(m->keywords);
	m->keywords = NULL;
}

static int view_msg_set(struct view_msg *m, const struct store_message *s)
{
	char *kw = NULL;

	if (s->keywords[0] != '\0' && (m->keywords == NULL ||
				       strcmp(m->keywords, s->keywords) != 0)) {
		kw = strdup(s->keywords);
		if (kw == NULL)
			return -ENOMEM;
	} else if (s->keywords[0] != '\0') {
		kw = m->keywords;
		m->keywords = NULL;
	}
	view_msg_clear(m);
	m->uid = s->uid;
	m->size = s->size;
	m->flags = s->flags;
	m->internaldate = s->internaldate;
	m->blob_id = s->blob_id;
	m->modseq = s->modseq;
	m->keywords = kw;
	return 0;
}

static int view_grow(struct postino_mailbox *mb)
{
	if (mb->count < mb->cap)
		return 0;
	uint32_t cap = mb->cap > 0 ? mb->cap * 2 : 64;
	struct view_msg *grown = realloc(mb->msgs, cap * sizeof(*grown));
	if (grown == NULL)
		return -ENOMEM;
	mb->msgs = grown;
	mb->cap = cap;
	return 0;
}

/* Appends a message newer than every one in the view. */
static int view_add(struct postino_mailbox *mb, const struct store_message *s)
{
	if (view_grow(mb) < 0)
		return -ENOMEM;
	struct view_msg *m = &mb->msgs[mb->count];
	memset(m, 0, sizeof(*m));
	if (view_msg_set(m, s) < 0)
		return -ENOMEM;
	if (mb->claims_recent && mb->entry != NULL &&
	    s->uid >= mb->entry->recent_uid) {
		m->recent = 1;
		mb->entry->recent_uid = s->uid + 1;
	}
	mb->count++;
	return 0;
}

static int view_collect(void *data, const struct store_message *s)
{
	return view_add(data, s);
}

/* Index of uid, or -1. */
static int64_t view_find(const struct postino_mailbox *mb, uint32_t uid)
{
	uint32_t lo = 0, hi = mb->count;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (mb->msgs[mid].uid == uid)
			return mid;
		if (mb->msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

void host_view_ref(postino_mailbox *mb)
{
	mb->refs++;
}

void host_view_unref(postino_mailbox *mb)
{
	if (--mb->refs > 0)
		return;
	for (uint32_t i = 0; i < mb->count; i++)
		view_msg_clear(&mb->msgs[i]);
	module_set_unref(&mb->set);
	free(mb->account);
	free(mb->msgs);
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
			mb->entry->locked = 0;
	}
	mb->closed = 1;
	host_view_unref(mb);
}

int host_mailbox_open(struct postino_mod *mod, const char *account,
		      const char *name, int flags, postino_mailbox **mailbox_r)
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
							   info.uidnext);
	if (entry == NULL)
		return -ENOMEM;
	if ((flags & POSTINO_MAILBOX_EXCLUSIVE) && entry->locked)
		return -EBUSY;
	struct postino_mailbox *mb = calloc(1, sizeof(*mb));
	if (mb == NULL || (mb->account = strdup(address)) == NULL) {
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
	mb->link.next = entry->views;
	entry->views = &mb->link;
	if (flags & POSTINO_MAILBOX_EXCLUSIVE) {
		entry->locked = 1;
		mb->locked = 1;
	}
	mb->claims_recent = (flags & POSTINO_MAILBOX_RECENT) != 0;
	/* One snapshot: the list and the modseq it is current to. */
	ret = store_read_begin(ctx->store);
	if (ret == 0) {
		ret = store_mailbox_status(ctx->store, info.id, &status);
		if (ret == 0)
			ret = store_message_list(ctx->store, info.id,
						 view_collect, mb);
		store_read_end(ctx->store);
	}
	if (ret < 0) {
		host_mailbox_close(&mb);
		return ret;
	}
	mb->modseq = status.highestmodseq;
	if (mb->claims_recent && entry->recent_uid < status.uidnext)
		entry->recent_uid = status.uidnext;
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
	const struct view_msg *m = &mb->msgs[index];
	info_r->uid = m->uid;
	info_r->octets = m->size;
	info_r->flags = m->flags | (m->recent ? POSTINO_FLAG_RECENT : 0);
	info_r->internaldate = m->internaldate;
	if (POSTINO_HAS_FIELD(info_r, struct postino_message_info, modseq))
		info_r->modseq = m->modseq;
	if (POSTINO_HAS_FIELD(info_r, struct postino_message_info, keywords))
		info_r->keywords = m->keywords != NULL ? m->keywords : "";
	return 0;
}

int64_t host_mailbox_read(postino_mailbox *mb, uint32_t index,
			  uint64_t offset, void *buf, size_t len)
{
	if (index >= mb->count)
		return -EINVAL;
	if (mb->msgs[index].gone)
		return -ENOENT;
	return store_blob_read(mb->ctx->store, mb->msgs[index].blob_id, offset,
			       buf, len);
}

void host_mailbox_watch(postino_mailbox *mb, void (*changed)(void *data),
			void *data)
{
	mb->link.changed = changed;
	mb->link.data = data;
}

/* ---- sync ---------------------------------------------------------------- */

static int sync_change(void *data, const struct store_message *s)
{
	struct postino_mailbox *mb = data;
	int64_t i = view_find(mb, s->uid);

	if (i < 0) {
		/* Newer than the view: new mail. (Older and missing cannot
		 * be: UIDs only grow, and the view had everything older.) */
		if (mb->count > 0 && s->uid < mb->msgs[mb->count - 1].uid)
			return 0;
		return view_add(mb, s);
	}
	struct view_msg *m = &mb->msgs[i];
	const char *old_kw = m->keywords != NULL ? m->keywords : "";
	if (m->flags != s->flags || strcmp(old_kw, s->keywords) != 0) {
		uint8_t recent = m->recent;
		if (view_msg_set(m, s) < 0)
			return -ENOMEM;
		m->recent = recent;
		m->changed = 1;
	} else {
		m->modseq = s->modseq;
	}
	return 0;
}

struct sync_scan {
	struct postino_mailbox *mb;
	uint32_t next; /* view index the scan has reached */
};

/* Every view message between the scan position and this UID is gone. */
static int sync_present(void *data, const struct store_message *s)
{
	struct sync_scan *scan = data;
	struct postino_mailbox *mb = scan->mb;

	while (scan->next < mb->count && mb->msgs[scan->next].uid < s->uid)
		mb->msgs[scan->next++].gone = 1;
	if (scan->next < mb->count && mb->msgs[scan->next].uid == s->uid)
		scan->next++;
	return 0;
}

static uint32_t view_present(const struct postino_mailbox *mb)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < mb->count; i++)
		n += !mb->msgs[i].gone;
	return n;
}

static int sync_read(struct postino_mailbox *mb)
{
	struct store_mailbox_status status;
	struct store *store = mb->ctx->store;
	int ret = store_read_begin(store);

	if (ret < 0)
		return ret;
	ret = store_mailbox_status(store, mb->mailbox_id, &status);
	if (ret == 0 && status.highestmodseq != mb->modseq)
		ret = store_message_changes(store, mb->mailbox_id, mb->modseq,
					    sync_change, mb);
	/* Expunges leave no row behind: they show as a count below ours. */
	if (ret == 0 && status.messages != view_present(mb)) {
		struct sync_scan scan = { .mb = mb };
		ret = store_message_list(store, mb->mailbox_id, sync_present,
					 &scan);
		while (ret == 0 && scan.next < mb->count)
			mb->msgs[scan.next++].gone = 1;
	}
	store_read_end(store);
	if (ret == 0)
		mb->modseq = status.highestmodseq;
	return ret;
}

int host_mailbox_sync(postino_mailbox *mb, int expunges,
		      void (*expunged)(void *data, uint32_t index),
		      void (*flags_changed)(void *data, uint32_t index),
		      void *data)
{
	int ret = sync_read(mb);

	if (ret < 0)
		return ret;
	if (expunges) {
		uint32_t kept = 0;
		for (uint32_t i = mb->count; i-- > 0;) {
			if (mb->msgs[i].gone && expunged != NULL)
				expunged(data, i);
		}
		for (uint32_t i = 0; i < mb->count; i++) {
			if (mb->msgs[i].gone) {
				view_msg_clear(&mb->msgs[i]);
				continue;
			}
			mb->msgs[kept++] = mb->msgs[i];
		}
		mb->count = kept;
	}
	for (uint32_t i = 0; i < mb->count; i++) {
		if (!mb->msgs[i].changed)
			continue;
		mb->msgs[i].changed = 0;
		if (flags_changed != NULL && !mb->msgs[i].gone)
			flags_changed(data, i);
	}
	return 0;
}

/* After this view's own STORE: the new values, so its next sync reports
 * only other sessions' changes. */
void host_view_set_flags(postino_mailbox *mb, uint32_t uid, uint32_t flags,
			 const char *keywords)
{
	int64_t i = view_find(mb, uid);

	if (i < 0)
		return;
	struct view_msg *m = &mb->msgs[i];
	m->flags = flags;
	if (keywords[0] == '\0') {
		view_msg_clear(m);
	} else if (m->keywords == NULL || strcmp(m->keywords, keywords) != 0) {
		char *kw = strdup(keywords);
		if (kw != NULL) {
			view_msg_clear(m);
			m->keywords = kw;
		}
	}
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
	return 0;
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
