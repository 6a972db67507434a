/* A mailbox view (postino_mailbox), shared by the files that implement
 * the mailbox entries of the host table. */
#ifndef POSTINO_HOST_VIEW_H
#define POSTINO_HOST_VIEW_H

#include <stdint.h>

#include "module/mailbox_registry.h"
#include "module/module.h"

struct view_msg {
	uint32_t uid;
	uint32_t flags;
	uint64_t size;
	int64_t internaldate;
	int64_t blob_id;
	uint64_t modseq;
	char *keywords;  /* NULL when none */
	uint8_t recent;  /* claimed by this view */
	uint8_t gone;    /* expunged, not yet reported */
	uint8_t changed; /* flags changed by someone else, not yet reported */
};

struct postino_mailbox {
	struct core_ctx *ctx;
	struct module_set *set;
	unsigned refs;   /* the module's, plus one per job in flight */
	int closed;      /* mailbox_close ran */
	char *account;
	int64_t mailbox_id;
	uint32_t uidvalidity;
	uint64_t modseq; /* the mailbox's highestmodseq the view is at */
	struct view_msg *msgs;
	uint32_t count;
	uint32_t cap;
	int locked;
	int claims_recent;
	struct mailbox_entry *entry;
	struct mailbox_view_link link;
};

void host_view_ref(postino_mailbox *mb);
void host_view_unref(postino_mailbox *mb);
void host_view_set_flags(postino_mailbox *mb, uint32_t uid, uint32_t flags,
			 const char *keywords);

#endif
