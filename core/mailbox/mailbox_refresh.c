/* Keeps a mailbox's shared message table current. One refresh serves every
 * view of the mailbox: it reads only the rows changed since the table's
 * modseq, plus a UID scan when the count shows expunges, and records the
 * UIDs it touched so that each view can find its differences without
 * walking the whole table. */
#include <errno.h>
#include <stdlib.h>

#include "mailbox/mailbox_registry.h"

/* Changes kept per mailbox; a view further behind compares whole tables. */
#define MAILBOX_LOG_MAX 4096u

const struct mailbox_change *mailbox_entry_change(const struct mailbox_entry *e,
						  uint32_t i)
{
	return &e->log[(e->log_start + i) % e->log_cap];
}

static int log_add(struct mailbox_entry *e, uint64_t modseq, uint32_t uid,
		   int expunged)
{
	uint32_t max = e->log_max > 0 ? e->log_max : MAILBOX_LOG_MAX;

	if (e->log_len > 0 && e->log_len >= max) {
		/* Full: the oldest version's changes are no longer complete. */
		e->log_floor = e->log[e->log_start].modseq;
		e->log_start = (e->log_start + 1) % e->log_cap;
		e->log_len--;
	}
	if (e->log_len == e->log_cap) {
		uint32_t cap = e->log_cap > 0 ? e->log_cap * 2 : 16;
		struct mailbox_change *grown = malloc(cap * sizeof(*grown));
		if (grown == NULL)
			return -ENOMEM;
		for (uint32_t i = 0; i < e->log_len; i++)
			grown[i] = *mailbox_entry_change(e, i);
		free(e->log);
		e->log = grown;
		e->log_cap = cap;
		e->log_start = 0;
	}
	e->log[(e->log_start + e->log_len) % e->log_cap] = (struct mailbox_change){
		.modseq = modseq, .uid = uid, .expunged = expunged != 0,
	};
	e->log_len++;
	return 0;
}

struct refresh {
	struct mailbox_entry *e;
	struct msg_table *t;
	uint64_t modseq; /* of the version being made */
	uint8_t *keep;   /* expunge scan: records still in the store */
	uint32_t next;
};

static int refresh_all(void *data, const struct store_message *s)
{
	struct refresh *r = data;

	return msg_table_append(r->t, s);
}

static int refresh_change(void *data, const struct store_message *s)
{
	struct refresh *r = data;
	int64_t i = msg_table_find(r->t, s->uid);

	if (i >= 0) {
		if (msg_table_update(r->t, (uint32_t)i, s) < 0)
			return -ENOMEM;
		return log_add(r->e, r->modseq, s->uid, 0);
	}
	/* New mail. (Older and missing cannot be: UIDs are taken in commit
	 * order, and the table had every message of its snapshot.) */
	if (s->uid > msg_table_last_uid(r->t))
		return msg_table_append(r->t, s);
	return 0;
}

static int refresh_present(void *data, const struct store_message *s)
{
	struct refresh *r = data;

	while (r->next < r->t->count && r->t->recs[r->next].uid < s->uid)
		r->next++;
	if (r->next < r->t->count && r->t->recs[r->next].uid == s->uid)
		r->keep[r->next++] = 1;
	return 0;
}

/* Expunges leave no row behind: they show as a count below ours. */
static int refresh_expunges(struct store *store, struct refresh *r)
{
	struct msg_table *t = r->t;

	r->keep = calloc(t->count + 1, 1);
	if (r->keep == NULL)
		return -ENOMEM;
	int ret = store_message_list(store, r->e->id, refresh_present, r);
	for (uint32_t i = 0; ret == 0 && i < t->count; i++) {
		if (!r->keep[i])
			ret = log_add(r->e, r->modseq, t->recs[i].uid, 1);
	}
	if (ret == 0)
		msg_table_compact(t, r->keep);
	free(r->keep);
	return ret;
}

/* A table at the mailbox's highestmodseq is current: every change to its
 * messages raises it, so the common case costs one row. */
static int refresh_read(struct store *store, struct mailbox_entry *e,
			struct store_mailbox_status *status_r)
{
	int ret = e->gone ? -ENOENT
			  : store_mailbox_status(store, e->id, status_r);

	if (ret < 0)
		return ret;
	if (status_r->uidvalidity != e->uidvalidity)
		return -ENOENT; /* deleted; its id is another mailbox's */
	if (e->table != NULL && e->table->modseq == status_r->highestmodseq)
		return 0;
	struct refresh r = { .e = e, .modseq = status_r->highestmodseq };
	if (e->table == NULL) {
		r.t = msg_table_new();
		if (r.t == NULL)
			return -ENOMEM;
		ret = store_message_list(store, e->id, refresh_all, &r);
		if (ret < 0) {
			msg_table_unref(&r.t);
			return ret;
		}
		r.t->modseq = r.modseq;
		r.t->uidnext = status_r->uidnext;
		e->table = r.t;
		e->log_start = e->log_len = 0;
		e->log_floor = r.modseq;
		return 0;
	}
	ret = msg_table_own(&e->table);
	if (ret < 0)
		return ret;
	r.t = e->table;
	ret = store_message_changes(store, e->id, r.t->modseq, refresh_change,
				    &r);
	if (ret == 0 && status_r->messages != r.t->count)
		ret = refresh_expunges(store, &r);
	if (ret < 0) {
		/* Half applied: start again from a full read next time. */
		mailbox_entry_release(e);
		return ret;
	}
	r.t->modseq = r.modseq;
	r.t->uidnext = status_r->uidnext;
	return 0;
}

int mailbox_entry_refresh(struct store *store, struct mailbox_entry *e,
			  struct store_mailbox_status *status_r)
{
	int ret = store_read_begin(store);

	if (ret < 0)
		return ret;
	ret = refresh_read(store, e, status_r);
	store_read_end(store);
	return ret;
}

void mailbox_entry_release(struct mailbox_entry *e)
{
	msg_table_unref(&e->table);
	free(e->log);
	e->log = NULL;
	e->log_cap = e->log_start = e->log_len = 0;
}
