/* Writes through a mailbox view (IMAP): STORE of flags and keywords, COPY
 * and MOVE. Each is one store job; its done callback updates the view
 * that asked and tells the other views of the mailboxes touched. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "host/host_mail.h"
#include "mailbox/view.h"
#include "store/store.h"

struct store_result {
	uint32_t uid;
	uint32_t flags;
	int present;
	int modified;    /* changed since unchangedsince: left alone */
	uint64_t modseq;
	char keywords[STORE_KEYWORDS_MAX];
};

struct flags_job {
	postino_mailbox *mb;
	int64_t mailbox_id;
	int mode;
	uint32_t flags;
	char *keywords;
	uint64_t unchangedsince; /* UINT64_MAX: unconditional */
	struct store_result *results;
	size_t count;
	void (*done)(void *data, int status);
	void (*done_if)(void *data, int status, const uint32_t *modified,
			size_t n_modified);
	void *data;
};

static int flags_run(struct store_txn *txn, void *data)
{
	struct flags_job *job = data;

	for (size_t i = 0; i < job->count; i++) {
		struct store_result *r = &job->results[i];
		int ret = store_txn_message_flags_if(
			txn, job->mailbox_id, r->uid, job->mode, job->flags,
			job->keywords, job->unchangedsince, &r->flags,
			r->keywords, sizeof(r->keywords), &r->modseq);
		if (ret == -ENOENT)
			continue; /* expunged meanwhile: nothing to change */
		if (ret < 0)
			return ret;
		r->present = 1;
		r->modified = ret == 1;
	}
	return 0;
}

static int cmp_shown(const void *a, const void *b)
{
	const struct view_flags *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* After this view's own STORE: the new values, so its next sync reports
 * only other sessions' changes. All at once (host_view_show_many), in
 * UID order. A UID repeated in the job keeps one of its results; if not
 * the last, the next sync reports the difference, as for anyone's. */
static void flags_show(struct flags_job *job)
{
	postino_mailbox *mb = job->mb;
	struct view_flags *add = malloc((job->count + 1) * sizeof(*add));
	uint32_t n = 0;

	if (add == NULL)
		return; /* unrecorded: the next sync reports them, no harm */
	for (size_t i = 0; i < job->count; i++) {
		const struct store_result *r = &job->results[i];
		/* One that someone else changed is theirs to report. */
		if (r->present && !r->modified &&
		    msg_table_find(mb->table, r->uid) >= 0)
			add[n++] = (struct view_flags){ r->uid, r->flags,
							(char *)r->keywords,
							r->modseq };
	}
	/* IMAP sends UIDs in order: sort only when they are not. */
	for (uint32_t k = 1; k < n; k++) {
		if (add[k - 1].uid >= add[k].uid) {
			qsort(add, n, sizeof(*add), cmp_shown);
			break;
		}
	}
	uint32_t kept = 0;
	for (uint32_t k = 0; k < n; k++) {
		if (kept > 0 && add[kept - 1].uid == add[k].uid)
			kept--;
		add[kept++] = add[k];
	}
	(void)host_view_show_many(mb, add, kept);
	free(add);
}

static void flags_done(void *data, int status)
{
	struct flags_job *job = data;
	postino_mailbox *mb = job->mb;

	if (status == 0 && !mb->closed)
		flags_show(job);
	if (status == 0)
		mailbox_registry_changed(mb->ctx, job->mailbox_id);
	if (job->done_if != NULL) {
		/* The UIDs that failed the test, in the job's order (the
		 * results' own array serves: uid is its first field). */
		uint32_t *modified = malloc((job->count + 1) *
					    sizeof(*modified));
		size_t n = 0;
		for (size_t i = 0; modified != NULL && i < job->count; i++)
			if (job->results[i].modified)
				modified[n++] = job->results[i].uid;
		job->done_if(job->data, status == 0 && modified == NULL
						? -ENOMEM : status,
			     modified, n);
		free(modified);
	} else {
		job->done(job->data, status);
	}
	host_view_unref(mb);
	free(job->keywords);
	free(job->results);
	free(job);
}

static int store_submit_flags(postino_mailbox *mb, const uint32_t *uids,
			      size_t count, enum postino_store_mode mode,
			      uint32_t flags, const char *keywords,
			      uint64_t unchangedsince,
			      void (*done)(void *data, int status),
			      void (*done_if)(void *data, int status,
					      const uint32_t *modified,
					      size_t n_modified),
			      void *data)
{
	if ((done == NULL && done_if == NULL) || (int)mode < 0 ||
	    mode > POSTINO_STORE_REMOVE ||
	    (flags & ~(uint32_t)0x1f) != 0 ||
	    (keywords != NULL && strlen(keywords) >= STORE_KEYWORDS_MAX))
		return -EINVAL;
	struct flags_job *job = calloc(1, sizeof(*job));
	if (job == NULL)
		return -ENOMEM;
	job->results = calloc(count + 1, sizeof(*job->results));
	job->keywords = strdup(keywords != NULL ? keywords : "");
	if (job->results == NULL || job->keywords == NULL) {
		free(job->results);
		free(job->keywords);
		free(job);
		return -ENOMEM;
	}
	for (size_t i = 0; i < count; i++)
		job->results[i].uid = uids[i];
	job->count = count;
	job->mb = mb;
	job->mailbox_id = mb->mailbox_id;
	job->mode = (int)mode;
	job->flags = flags;
	job->unchangedsince = unchangedsince;
	job->done = done;
	job->done_if = done_if;
	job->data = data;
	host_view_ref(mb);
	int ret = store_submit(mb->ctx->store, flags_run, flags_done, job);
	if (ret < 0) {
		host_view_unref(mb);
		free(job->results);
		free(job->keywords);
		free(job);
	}
	return ret;
}

int host_mailbox_store(postino_mailbox *mb, const uint32_t *uids,
		       size_t count, enum postino_store_mode mode,
		       uint32_t flags, const char *keywords,
		       void (*done)(void *data, int status), void *data)
{
	if (done == NULL)
		return -EINVAL;
	return store_submit_flags(mb, uids, count, mode, flags, keywords,
				  UINT64_MAX, done, NULL, data);
}

int host_mailbox_store_unchangedsince(
	postino_mailbox *mb, const uint32_t *uids, size_t count,
	enum postino_store_mode mode, uint32_t flags, const char *keywords,
	uint64_t unchangedsince,
	void (*done)(void *data, int status, const uint32_t *modified,
		     size_t n_modified),
	void *data)
{
	if (done == NULL)
		return -EINVAL;
	return store_submit_flags(mb, uids, count, mode, flags, keywords,
				  unchangedsince, NULL, done, data);
}

struct copy_job {
	postino_mailbox *mb;
	int64_t from;
	int64_t to;
	char *dest;
	int move;
	uint32_t *src;
	uint32_t *dst;
	size_t count;  /* asked */
	size_t copied; /* src/dst pairs */
	uint32_t uidvalidity;
	void (*done)(void *data, int status, uint32_t uidvalidity,
		     const uint32_t *src_uids, const uint32_t *dst_uids,
		     size_t count);
	void *data;
};

static int copy_run(struct store_txn *txn, void *data)
{
	struct copy_job *job = data;
	uint32_t *asked = job->src;
	int ret;

	struct store_quota before, after;
	ret = store_txn_mailbox_lookup(txn, job->mb->account, job->dest,
				       &job->to, &job->uidvalidity);
	if (ret == 0 && !job->move)
		ret = store_txn_quota_get(txn, job->mb->account, &before);
	if (ret < 0)
		return ret;
	job->copied = 0;
	for (size_t i = 0; i < job->count; i++) {
		uint32_t uid = asked[i], new_uid;
		ret = store_txn_message_copy(txn, job->from, uid, job->to,
					     &new_uid);
		if (ret == -ENOENT)
			continue; /* expunged meanwhile */
		if (ret == 0 && job->move)
			ret = store_txn_message_expunge(txn, job->from, uid);
		if (ret < 0)
			return ret;
		job->src[job->copied] = uid;
		job->dst[job->copied++] = new_uid;
	}
	if (job->move && job->copied > 0) {
		ret = store_txn_vanished_prune(txn, job->from,
					       STORE_VANISHED_KEEP);
		if (ret < 0)
			return ret;
	}
	/* A COPY that takes the account over its quota is undone whole
	 * (IMAP's NO [OVERQUOTA]); a MOVE within the account never changes
	 * its usage, so it works even over quota. */
	if (job->move || job->copied == 0)
		return 0;
	ret = store_txn_quota_get(txn, job->mb->account, &after);
	if (ret == 0 &&
	    store_quota_exceeds(&before, after.storage_used -
						 before.storage_used,
				after.messages_used - before.messages_used))
		ret = -EDQUOT;
	return ret;
}

static void copy_done(void *data, int status)
{
	struct copy_job *job = data;
	postino_mailbox *mb = job->mb;

	if (status == 0) {
		mailbox_registry_changed(mb->ctx, job->to);
		if (job->move)
			mailbox_registry_changed(mb->ctx, job->from);
	}
	job->done(job->data, status, status == 0 ? job->uidvalidity : 0,
		  job->src, job->dst, status == 0 ? job->copied : 0);
	host_view_unref(mb);
	free(job->dest);
	free(job->src);
	free(job->dst);
	free(job);
}

int host_mailbox_copy(postino_mailbox *mb, const uint32_t *uids,
		      size_t count, const char *dest, int move,
		      void (*done)(void *data, int status,
				   uint32_t uidvalidity,
				   const uint32_t *src_uids,
				   const uint32_t *dst_uids, size_t count),
		      void *data)
{
	if (done == NULL || dest == NULL)
		return -EINVAL;
	struct copy_job *job = calloc(1, sizeof(*job));
	if (job == NULL)
		return -ENOMEM;
	job->src = malloc((count + 1) * sizeof(uint32_t));
	job->dst = malloc((count + 1) * sizeof(uint32_t));
	job->dest = strdup(dest);
	if (job->src == NULL || job->dst == NULL || job->dest == NULL) {
		free(job->src);
		free(job->dst);
		free(job->dest);
		free(job);
		return -ENOMEM;
	}
	if (count > 0)
		memcpy(job->src, uids, count * sizeof(uint32_t));
	job->count = count;
	job->mb = mb;
	job->from = mb->mailbox_id;
	job->move = move != 0;
	job->done = done;
	job->data = data;
	host_view_ref(mb);
	int ret = store_submit(mb->ctx->store, copy_run, copy_done, job);
	if (ret < 0) {
		host_view_unref(mb);
		free(job->src);
		free(job->dst);
		free(job->dest);
		free(job);
	}
	return ret;
}
