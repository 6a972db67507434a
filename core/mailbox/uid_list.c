#include <errno.h>
#include <stdlib.h>

#include "mailbox/view.h"
#include "mailbox/uid_list.h"

int uid_list_push(struct uid_list *l, uint32_t uid)
{
	if (l->count == l->cap) {
		uint32_t cap = l->cap > 0 ? l->cap * 2 : 8;
		uint32_t *grown = realloc(l->uids, cap * sizeof(*grown));
		if (grown == NULL)
			return -ENOMEM;
		l->uids = grown;
		l->cap = cap;
	}
	l->uids[l->count++] = uid;
	return 0;
}

int uid_list_has(const struct uid_list *l, uint32_t uid)
{
	uint32_t lo = 0, hi = l->count;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (l->uids[mid] == uid)
			return 1;
		if (l->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

void uid_list_filter(struct uid_list *l, int (*keep)(void *data, uint32_t uid),
		     void *data)
{
	uint32_t kept = 0;

	for (uint32_t i = 0; i < l->count; i++) {
		if (keep(data, l->uids[i]))
			l->uids[kept++] = l->uids[i];
	}
	l->count = kept;
	if (kept == 0)
		uid_list_free(l);
}

void uid_list_free(struct uid_list *l)
{
	free(l->uids);
	l->uids = NULL;
	l->count = l->cap = 0;
}
