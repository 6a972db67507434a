#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mailbox/msg_table.h"

struct msg_table *msg_table_new(void)
{
	struct msg_table *t = calloc(1, sizeof(*t));

	if (t != NULL)
		t->refs = 1;
	return t;
}

struct msg_table *msg_table_ref(struct msg_table *t)
{
	t->refs++;
	return t;
}

static void msg_table_free(struct msg_table *t)
{
	for (uint32_t i = 0; i < t->count; i++)
		free(t->recs[i].keywords);
	free(t->recs);
	free(t);
}

void msg_table_unref(struct msg_table **tp)
{
	struct msg_table *t = *tp;

	*tp = NULL;
	if (t != NULL && --t->refs == 0)
		msg_table_free(t);
}

static int msg_table_reserve(struct msg_table *t, uint32_t want)
{
	if (want <= t->cap)
		return 0;
	uint32_t cap = t->cap > 0 ? t->cap : 64;
	while (cap < want)
		cap *= 2;
	struct msg_rec *grown = realloc(t->recs, cap * sizeof(*grown));
	if (grown == NULL)
		return -ENOMEM;
	t->recs = grown;
	t->cap = cap;
	return 0;
}

int msg_table_own(struct msg_table **tp)
{
	struct msg_table *old = *tp, *t;

	if (old->refs == 1)
		return 0;
	t = msg_table_new();
	/* Room for a little new mail without growing again at once. */
	if (t == NULL || msg_table_reserve(t, old->count + 16) < 0)
		goto fail;
	if (old->count > 0)
		memcpy(t->recs, old->recs, old->count * sizeof(*t->recs));
	for (uint32_t i = 0; i < old->count; i++) {
		if (old->recs[i].keywords == NULL)
			continue;
		t->recs[i].keywords = strdup(old->recs[i].keywords);
		if (t->recs[i].keywords == NULL) {
			t->count = i;
			goto fail;
		}
	}
	t->count = old->count;
	t->modseq = old->modseq;
	t->uidnext = old->uidnext;
	msg_table_unref(tp);
	*tp = t;
	return 0;
fail:
	if (t != NULL) {
		/* Only the first t->count records own their keywords. */
		for (uint32_t i = 0; i < t->count; i++)
			free(t->recs[i].keywords);
		free(t->recs);
		free(t);
	}
	return -ENOMEM;
}

int64_t msg_table_find(const struct msg_table *t, uint32_t uid)
{
	uint32_t i = msg_table_after(t, uid - 1);

	if (uid == 0 || i >= t->count || t->recs[i].uid != uid)
		return -1;
	return i;
}

uint32_t msg_table_after(const struct msg_table *t, uint32_t uid)
{
	uint32_t lo = 0, hi = t->count;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (t->recs[mid].uid <= uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

uint32_t msg_table_last_uid(const struct msg_table *t)
{
	return t->count > 0 ? t->recs[t->count - 1].uid : 0;
}

static int rec_set(struct msg_rec *r, const struct store_message *s)
{
	char *kw = NULL;

	if (s->keywords[0] != '\0') {
		if (r->keywords != NULL && strcmp(r->keywords, s->keywords) == 0) {
			kw = r->keywords;
			r->keywords = NULL;
		} else if ((kw = strdup(s->keywords)) == NULL) {
			return -ENOMEM;
		}
	}
	free(r->keywords);
	r->uid = s->uid;
	r->flags = s->flags;
	r->size = s->size;
	r->internaldate = s->internaldate;
	r->blob_id = s->blob_id;
	r->modseq = s->modseq;
	r->keywords = kw;
	return 0;
}

int msg_table_append(struct msg_table *t, const struct store_message *s)
{
	if (msg_table_reserve(t, t->count + 1) < 0)
		return -ENOMEM;
	struct msg_rec *r = &t->recs[t->count];
	memset(r, 0, sizeof(*r));
	if (rec_set(r, s) < 0)
		return -ENOMEM;
	t->count++;
	return 0;
}

int msg_table_update(struct msg_table *t, uint32_t i,
		     const struct store_message *s)
{
	return rec_set(&t->recs[i], s);
}

void msg_table_compact(struct msg_table *t, const uint8_t *keep)
{
	uint32_t kept = 0;

	for (uint32_t i = 0; i < t->count; i++) {
		if (!keep[i]) {
			free(t->recs[i].keywords);
			continue;
		}
		t->recs[kept++] = t->recs[i];
	}
	t->count = kept;
}
