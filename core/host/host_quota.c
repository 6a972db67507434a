/* account_quota (ABI 1.1): an account's quota and usage, for IMAP's
 * GETQUOTA and SMTP's check at RCPT. An indexed read on the caller's
 * thread; the authoritative check is the writer's, in the transaction
 * that stores the message (core/delivery/quota.c). */
#include <errno.h>
#include <string.h>

#include "host/host_account.h"
#include "store/store.h"

int host_account_quota(struct postino_mod *mod, const char *account,
		       struct postino_quota *quota_r)
{
	struct store_quota q;

	if (account == NULL || quota_r == NULL ||
	    !POSTINO_HAS_FIELD(quota_r, struct postino_quota, storage_used))
		return -EINVAL;
	if (mod->ctx->store == NULL)
		return -ENODEV;
	int ret = store_quota_get(mod->ctx->store, account, &q);
	if (ret < 0)
		return ret;
	struct postino_quota out = {
		.size = sizeof(out),
		.storage_used = q.storage_used,
		.storage_limit = q.storage_limit,
		.messages_used = q.messages_used,
		.messages_limit = q.messages_limit,
	};
	/* Only what the module's struct covers; its size stays its own. */
	size_t size = quota_r->size < sizeof(out) ? quota_r->size
						  : sizeof(out);
	memcpy((char *)quota_r + sizeof(size_t),
	       (const char *)&out + sizeof(size_t), size - sizeof(size_t));
	return 0;
}
