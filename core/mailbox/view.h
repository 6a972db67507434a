/* A mailbox view (postino_mailbox), shared by the files that implement
 * the mailbox entries of the host table. A view is a reference to the
 * mailbox's shared message table at the version it has caught up with,
 * plus only what is its own: the flags it has been told of since (its
 * STOREs, changes reported while it could not move on), the UIDs of
 * that version already expunged but not yet reported, and its \Recent
 * claims. An idle view costs a few dozen bytes, whatever the mailbox. */
#ifndef POSTINO_HOST_VIEW_H
#define POSTINO_HOST_VIEW_H

#include <stdint.h>

#include "mailbox/mailbox_registry.h"
#include "module/module.h"
#include "mailbox/msg_table.h"

struct view_flags {
	uint32_t uid;
	uint32_t flags;
	char *keywords; /* NULL when none */
	uint64_t modseq; /* of that change (CONDSTORE's MODSEQ) */
};

struct uid_list {
	uint32_t *uids; /* ascending */
	uint32_t count;
	uint32_t cap;
};

struct postino_mailbox {
	struct core_ctx *ctx;
	struct module_set *set;
	unsigned refs;   /* the module's, plus one per job in flight */
	int closed;      /* mailbox_close ran */
	char *account;
	int64_t mailbox_id;
	uint32_t uidvalidity;
	struct msg_table *table;   /* shared; its order is the view's */
	struct view_flags *shown;  /* newer than the table's, by UID */
	uint32_t shown_count;
	uint32_t shown_cap;
	struct uid_list gone;      /* expunged, not yet reported */
	struct uid_list recent;    /* claimed by this view */
	int locked;
	int claims_recent;
	struct mailbox_entry *entry;
	struct mailbox_view_link link;
};

void host_view_ref(postino_mailbox *mb);
void host_view_unref(postino_mailbox *mb);
/* Records that the view now shows these flags for add[0..n) (its own
 * STORE, or changes it reported before it could move to a newer table).
 * add is sorted by UID without repeats; its keywords are copied. One
 * merge with what is recorded: O(recorded + n), where inserting one at a
 * time was a memmove each (quadratic for a STORE of the lower half of a
 * mailbox after one of the upper half). 0 or -ENOMEM (nothing changed). */
int host_view_show_many(postino_mailbox *mb, const struct view_flags *add,
			uint32_t n);
/* What the view shows for uid instead of its table's record, or NULL. */
const struct view_flags *host_view_shown(const postino_mailbox *mb,
					 uint32_t uid);
void host_view_forget_shown(postino_mailbox *mb);
/* The stored message behind index: -EINVAL out of range, -ENOENT
 * expunged (not yet reported). */
int host_view_blob(postino_mailbox *mb, uint32_t index, int64_t *blob_id_r,
		   uint64_t *size_r);

#endif
