/* Quotas at RCPT: a local recipient whose every mailbox is already full
 * (or has less room than MAIL's SIZE= declares) is refused with 552 5.2.2
 * there, so the sender learns it before sending the data. The host's
 * check in the transaction that stores the message stays the one that
 * counts (msg_deliver: a bounce for a recipient refused there, -EDQUOT
 * when nobody could take the message). */
#include "smtp.h"

/* Whether account has no room for `size` octets in one more message. */
static int account_full(struct smtp_session *s, const char *account,
			uint64_t size)
{
	const struct postino_host *host = s->srv->host;
	struct postino_quota q = { .size = sizeof(q) };

	if (!POSTINO_HAS(host->account, struct postino_host_account,
			 account_quota) ||
	    host->account->account_quota(s->srv->mod, account, &q) < 0)
		return 0; /* unknown here: the delivery decides */
	if (q.storage_limit > 0 &&
	    (q.storage_used >= q.storage_limit ||
	     size > q.storage_limit - q.storage_used))
		return 1;
	return q.messages_limit > 0 && q.messages_used >= q.messages_limit;
}

int smtp_rcpt_full(struct smtp_session *s)
{
	uint64_t size = s->mail.has_size && s->mail.size > 0 ? s->mail.size
							       : 1;

	if (s->rcpt_local.n == 0 || s->rcpt_remote.n > 0)
		return 0;
	for (size_t i = 0; i < s->rcpt_local.n; i++)
		if (!account_full(s, s->rcpt_local.v[i], size))
			return 0;
	return 1;
}
