/* mailbox_sync: moves a view to its mailbox's newest table and reports
 * the differences, or, when the caller may not report expunges yet (RFC
 * 3501 7.4.1: not during FETCH, STORE, SEARCH), keeps the view's
 * numbering on its old table and reports only flag changes, remembering
 * what it has shown and what is gone. Differences come from the shared
 * change log when it reaches back far enough, else from one walk over
 * both tables. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "host/host_mail.h"
#include "mailbox/view.h"
#include "mailbox/uid_list.h"

struct sync_diff {
	struct uid_list gone; /* indices in the view's table */
	struct uid_list cand; /* UIDs whose flags may have changed */
};

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void sort_unique(struct uid_list *l)
{
	uint32_t kept = 0;

	if (l->count < 2)
		return;
	qsort(l->uids, l->count, sizeof(*l->uids), cmp_u32);
	for (uint32_t i = 0; i < l->count; i++) {
		if (kept == 0 || l->uids[kept - 1] != l->uids[i])
			l->uids[kept++] = l->uids[i];
	}
	l->count = kept;
}

static int diff_from_log(const postino_mailbox *mb, struct sync_diff *d)
{
	const struct mailbox_entry *e = mb->entry;
	uint32_t first = e->log_len;
	int ret = 0;

	while (first > 0 &&
	       mailbox_entry_change(e, first - 1)->modseq > mb->table->modseq)
		first--;
	for (uint32_t i = first; i < e->log_len && ret == 0; i++) {
		const struct mailbox_change *c = mailbox_entry_change(e, i);
		if (!c->expunged) {
			ret = uid_list_push(&d->cand, c->uid);
			continue;
		}
		int64_t at = msg_table_find(mb->table, c->uid);
		if (at >= 0)
			ret = uid_list_push(&d->gone, (uint32_t)at);
	}
	sort_unique(&d->gone);
	return ret;
}

static int diff_full(const struct msg_table *t1, const struct msg_table *t2,
		     struct sync_diff *d)
{
	uint32_t j = 0;
	int ret = 0;

	for (uint32_t i = 0; i < t1->count && ret == 0; i++) {
		uint32_t uid = t1->recs[i].uid;
		while (j < t2->count && t2->recs[j].uid < uid)
			j++;
		if (j < t2->count && t2->recs[j].uid == uid) {
			if (t2->recs[j].modseq > t1->modseq)
				ret = uid_list_push(&d->cand, uid);
		} else {
			ret = uid_list_push(&d->gone, i);
		}
	}
	return ret;
}

/* Whether t2's record of a message differs from what the view shows
 * (its own record, or what it has been shown since): flags, keywords,
 * or only its modseq (changed and changed back: a CONDSTORE client
 * learns the new MODSEQ, and FETCH (CHANGEDSINCE) finds it); sets *i_r
 * to the message's index in the view's table, *j_r in t2. */
static int shows_other(const postino_mailbox *mb, const struct msg_table *t2,
		       uint32_t uid, uint32_t *i_r, uint32_t *j_r)
{
	int64_t i = msg_table_find(mb->table, uid);
	int64_t j = msg_table_find(t2, uid);

	if (i < 0 || j < 0)
		return 0; /* new, or expunged since */
	const struct msg_rec *now = &t2->recs[j];
	const struct msg_rec *had = &mb->table->recs[i];
	const struct view_flags *shown = host_view_shown(mb, uid);
	uint32_t flags = shown != NULL ? shown->flags : had->flags;
	const char *kw = shown != NULL ? shown->keywords : had->keywords;
	uint64_t modseq = shown != NULL && shown->modseq > had->modseq
				  ? shown->modseq : had->modseq;
	*i_r = (uint32_t)i;
	*j_r = (uint32_t)j;
	return flags != now->flags || modseq < now->modseq ||
	       strcmp(kw != NULL ? kw : "",
		      now->keywords != NULL ? now->keywords : "") != 0;
}

/* Stays on the old table: numbers kept, flag changes reported. */
static int sync_hold(postino_mailbox *mb, const struct msg_table *t2,
		     struct sync_diff *d,
		     void (*flags_changed)(void *data, uint32_t index),
		     void *data)
{
	struct view_flags *show;
	uint32_t *report, n = 0, i, j;

	/* Record every change at once (one merge), in UID order, then
	 * report them: reporting reads what the view shows. */
	sort_unique(&d->cand);
	show = malloc((d->cand.count + 1) * sizeof(*show));
	report = malloc((d->cand.count + 1) * sizeof(*report));
	if (show == NULL || report == NULL) {
		free(show);
		free(report);
		return -ENOMEM;
	}
	for (uint32_t k = 0; k < d->cand.count; k++) {
		uint32_t uid = d->cand.uids[k];
		if (!shows_other(mb, t2, uid, &i, &j))
			continue;
		show[n] = (struct view_flags){ uid, t2->recs[j].flags,
					       t2->recs[j].keywords,
					       t2->recs[j].modseq };
		report[n++] = i;
	}
	int ret = host_view_show_many(mb, show, n);
	for (uint32_t k = 0; ret == 0 && k < n && flags_changed != NULL; k++)
		flags_changed(data, report[k]);
	free(show);
	free(report);
	if (ret < 0)
		return ret;
	uid_list_free(&mb->gone);
	for (uint32_t k = 0; k < d->gone.count && ret == 0; k++)
		ret = uid_list_push(&mb->gone,
				    mb->table->recs[d->gone.uids[k]].uid);
	return ret;
}

static int in_table(void *data, uint32_t uid)
{
	return msg_table_find(data, uid) >= 0;
}

/* Moves to t2: expunges first (old numbers, highest first), then new
 * \Recent claims, then flag changes in the new numbering. */
static int sync_move(postino_mailbox *mb, struct msg_table *t2,
		     const struct sync_diff *d,
		     void (*expunged)(void *data, uint32_t index),
		     void (*flags_changed)(void *data, uint32_t index),
		     void *data)
{
	struct uid_list report = { 0 };
	uint32_t i, j;
	int ret = 0;

	for (uint32_t k = 0; k < d->cand.count && ret == 0; k++) {
		if (shows_other(mb, t2, d->cand.uids[k], &i, &j))
			ret = uid_list_push(&report, j);
	}
	if (ret < 0) {
		uid_list_free(&report);
		return ret;
	}
	sort_unique(&report);
	for (uint32_t k = d->gone.count; k-- > 0;) {
		if (expunged != NULL)
			expunged(data, d->gone.uids[k]);
	}
	uint32_t last = msg_table_last_uid(mb->table);
	host_view_forget_shown(mb);
	uid_list_free(&mb->gone);
	msg_table_unref(&mb->table);
	mb->table = msg_table_ref(t2);
	if (d->gone.count > 0 && mb->recent.count > 0)
		uid_list_filter(&mb->recent, in_table, t2);
	/* New mail no read-write view was told of is \Recent here; a
	 * read-write view takes it, atomically for the node (one view on
	 * one worker gets each message). */
	struct mailbox_entry *e = mb->entry;
	uint32_t from = mb->claims_recent
				? mailbox_registry_claim_recent(
					  mb->ctx, e, msg_table_last_uid(t2) + 1)
				: mailbox_entry_recent(e);
	for (uint32_t k = msg_table_after(t2, last);
	     k < t2->count && ret == 0; k++) {
		uint32_t uid = t2->recs[k].uid;
		if (uid >= from)
			ret = uid_list_push(&mb->recent, uid);
	}
	for (uint32_t k = 0; k < report.count && flags_changed != NULL; k++)
		flags_changed(data, report.uids[k]);
	uid_list_free(&report);
	return ret;
}

int host_mailbox_sync(postino_mailbox *mb, int expunges,
		      void (*expunged)(void *data, uint32_t index),
		      void (*flags_changed)(void *data, uint32_t index),
		      void *data)
{
	struct store_mailbox_status status;
	int ret = mailbox_entry_refresh(mb->ctx->store, mb->entry, &status);

	if (ret < 0)
		return ret;
	struct msg_table *t2 = mb->entry->table;
	if (t2 == mb->table)
		return 0;
	struct sync_diff d = { { 0 }, { 0 } };
	if (mb->table->modseq >= mb->entry->log_floor)
		ret = diff_from_log(mb, &d);
	else
		ret = diff_full(mb->table, t2, &d);
	if (ret == 0 && d.gone.count > 0 && !expunges)
		ret = sync_hold(mb, t2, &d, flags_changed, data);
	else if (ret == 0)
		ret = sync_move(mb, t2, &d, expunged, flags_changed, data);
	uid_list_free(&d.gone);
	uid_list_free(&d.cand);
	return ret;
}
