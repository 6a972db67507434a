/* Quotas where mail arrives (core/delivery): the check that refuses a
 * copy over a limit, and the warning mail when usage crosses a [quota]
 * warn threshold. Both run inside a store job, in the transaction that
 * stores the message, so two deliveries can never both fit the last free
 * space and a warning is recorded exactly when it is sent. */
#ifndef POSTINO_DELIVERY_QUOTA_H
#define POSTINO_DELIVERY_QUOTA_H

#include <stdint.h>

#include "config/config.h"
#include "store/store.h"

/* The per-recipient failure a local recipient over quota gets: the DSN's
 * Diagnostic-Code and what SMTP says when nobody could take the message. */
#define QUOTA_FULL_REPLY "552 5.2.2 Mailbox full"

/* Reads account's usage into *before_r and tells whether size more
 * octets in one more message fit: 1 yes, 0 no (over quota), or a
 * negative errno (-ENOENT: no such account). */
int quota_admit(struct store_txn *txn, const char *account, uint64_t size,
		struct store_quota *before_r);

/* After a change that raised account's usage from *before: when the new
 * usage reaches a threshold above the one last warned of, appends the
 * warning for the highest threshold reached to the account's INBOX and
 * records it; a threshold usage had fallen below before this change is
 * armed again. Mail with no limit, or no thresholds, does nothing.
 * *inbox_r is the INBOX written (0 when none), for its views. now_s:
 * Date and Message-ID. 0 or a negative errno. */
int quota_warn(struct store_txn *txn, const struct config *config,
	       const char *account, const struct store_quota *before,
	       int64_t now_s, int64_t *inbox_r);

/* The highest threshold of warn[0..count) (ascending) that q's usage
 * reaches on either resource, 0 when none. Pure; for tests too. */
unsigned quota_level(const struct store_quota *q, const unsigned *warn,
		     size_t count);

/* "1.5 MiB", "300 KiB", "12 bytes": sizes as people read them. */
void quota_format_size(uint64_t bytes, char *buf, size_t size);

#endif
