/* Host table entries implemented across the core: the mail service
 * (addresses here, messages in core/delivery) and the mailbox service
 * (core/mailbox). See plugin.h for their contracts. */
#ifndef POSTINO_HOST_MAIL_H
#define POSTINO_HOST_MAIL_H

#include "module/module.h"

int host_domain_is_local(struct postino_mod *mod, const char *domain);
int host_address_expand(struct postino_mod *mod, const char *address,
			void (*target)(void *data, const char *address,
				       int local),
			void *data);
int host_address_owned_by(struct postino_mod *mod, const char *address,
			  const char *account);
const char *host_hostname(struct postino_mod *mod);
const char *host_address_separators(struct postino_mod *mod);

postino_msg *host_msg_new(struct postino_mod *mod, postino_conn *conn);
int host_msg_append(postino_msg *msg, const void *buf, size_t len);
uint64_t host_msg_size(const postino_msg *msg);
int host_msg_deliver(postino_msg *msg, const struct postino_delivery *d,
		     void (*done)(void *data, int status), void *data);
void host_msg_discard(postino_msg **msg);
/* host_notice.c */
int host_msg_deliver_to(postino_msg *msg, const char *const *to,
			size_t to_count, const struct postino_delivery *state,
			void (*done)(void *data, int status), void *data);
int host_msg_add_header(postino_msg *msg, const char *name, const char *value);
void host_msg_ref(postino_msg *msg);
void host_msg_unref(postino_msg *msg);
int64_t host_msg_read(const postino_msg *msg, uint64_t offset, void *buf,
		      size_t len);

/* host_delivery.c: msg_deliver and a DELIVERY hook's decisions. */
int host_delivery_fileinto(postino_hook_call *call, const char *mailbox,
			   uint32_t flags, const char *keywords, int create);
int host_delivery_redirect(postino_hook_call *call, const char *address);
int host_delivery_reject(postino_hook_call *call, const char *reason);
int host_delivery_discard(postino_hook_call *call);

int host_mailbox_open(struct postino_mod *mod, const char *account,
		      const char *name, unsigned flags,
		      postino_mailbox **mailbox_r);
uint32_t host_mailbox_count(postino_mailbox *mailbox);
uint32_t host_mailbox_uidvalidity(postino_mailbox *mailbox);
int host_mailbox_message(postino_mailbox *mailbox, uint32_t index,
			 struct postino_message_info *info_r);
int64_t host_mailbox_read(postino_mailbox *mailbox, uint32_t index,
			  uint64_t offset, void *buf, size_t len);
int host_mailbox_expunge(postino_mailbox *mailbox, const uint32_t *uids,
			 size_t count, void (*done)(void *data, int status),
			 void *data);
void host_mailbox_close(postino_mailbox **mailbox);
void host_mailbox_watch(postino_mailbox *mailbox, void (*changed)(void *data),
			void *data);
int host_mailbox_sync(postino_mailbox *mailbox, int expunges,
		      void (*expunged)(void *data, uint32_t index),
		      void (*flags_changed)(void *data, uint32_t index),
		      void *data);
int host_mailbox_store(postino_mailbox *mailbox, const uint32_t *uids,
		       size_t count, enum postino_store_mode mode,
		       uint32_t flags, const char *keywords,
		       void (*done)(void *data, int status), void *data);
int host_mailbox_store_unchangedsince(
	postino_mailbox *mailbox, const uint32_t *uids, size_t count,
	enum postino_store_mode mode, uint32_t flags, const char *keywords,
	uint64_t unchangedsince,
	void (*done)(void *data, int status, const uint32_t *modified,
		     size_t n_modified),
	void *data);
uint64_t host_mailbox_highestmodseq(postino_mailbox *mailbox);
int host_mailbox_vanished(postino_mailbox *mailbox, uint64_t since,
			  void (*range)(void *data, uint32_t lo, uint32_t hi),
			  void *data);
int host_mailbox_copy(postino_mailbox *mailbox, const uint32_t *uids,
		      size_t count, const char *dest, int move,
		      void (*done)(void *data, int status,
				   uint32_t uidvalidity,
				   const uint32_t *src_uids,
				   const uint32_t *dst_uids, size_t count),
		      void *data);

/* host_mailboxes.c */
int host_mailbox_list(struct postino_mod *mod, const char *account,
		      void (*entry)(void *data,
				    const struct postino_mailbox_entry *e),
		      void *data);
int host_mailbox_status(struct postino_mod *mod, const char *account,
			const char *name,
			struct postino_mailbox_status *status_r);
int host_mailbox_subscriptions(struct postino_mod *mod, const char *account,
			       void (*name)(void *data, const char *name),
			       void *data);
int host_mailbox_create(struct postino_mod *mod, const char *account,
			const char *name, const char *special_use,
			void (*done)(void *data, int status), void *data);
int host_mailbox_delete(struct postino_mod *mod, const char *account,
			const char *name,
			void (*done)(void *data, int status), void *data);
int host_mailbox_rename(struct postino_mod *mod, const char *account,
			const char *from, const char *to,
			void (*done)(void *data, int status), void *data);
int host_mailbox_subscribe(struct postino_mod *mod, const char *account,
			   const char *name, int subscribed,
			   void (*done)(void *data, int status), void *data);
/* host_msg.c */
int host_mailbox_append(struct postino_mod *mod, const char *account,
			const char *name, postino_msg *msg, uint32_t flags,
			const char *keywords, int64_t internaldate,
			void (*done)(void *data, int status,
				     uint32_t uidvalidity, uint32_t uid),
			void *data);
/* host_mime.c */
struct store_txn;
struct mime_summary;
/* Stores the MIME summaries of a blob unless it has them (writer); the
 * summary was made before the job was queued. */
int host_mime_store(struct store_txn *txn, int64_t blob_id,
		    const struct mime_summary *summary);
int64_t host_mailbox_mime(postino_mailbox *mailbox, uint32_t index,
			  enum postino_mime_summary which, char *buf,
			  size_t buflen);
int host_mailbox_section(postino_mailbox *mailbox, uint32_t index,
			 const uint32_t *path, size_t depth,
			 struct postino_section *section_r);
/* Frees the section table kept in ctx for the last message asked. */
void host_mime_cache_free(struct core_ctx *ctx);

#endif
