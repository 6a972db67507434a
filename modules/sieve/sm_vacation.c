/* Vacation replies (RFC 5230, RFC 3834). The engine decided that this
 * message may have a reply at all and gave the once-per-period key; here
 * the reply is sent unless one went to this sender within the period:
 *
 *   vac:<account>:<key>   "1", expiring at the end of the period, written
 *                         in the reply's own commit (postino_delivery's
 *                         state entry): the record exists exactly when
 *                         the reply does.
 *
 * Until that commit the record cannot be read, so replies in flight are
 * remembered here too. The reply goes from the null sender (nothing
 * bounces back, RFC 3834 3.3) through msg_deliver: into a local INBOX or
 * the outbound queue, never through a sender's rate limit. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm.h"

struct sm_vacation_pending {
	struct sm_vacation_pending *next;
	struct sm *sm;
	char key[700];
	char *account;
	char *to;
};

static struct sm_vacation_pending **pending_find(struct sm *sm,
						 const char *key)
{
	struct sm_vacation_pending **p = &sm->pending;

	while (*p != NULL && strcmp((*p)->key, key) != 0)
		p = &(*p)->next;
	return p;
}

static void pending_free(struct sm_vacation_pending *p)
{
	free(p->account);
	free(p->to);
	free(p);
}

static void reply_done(void *data, int status)
{
	struct sm_vacation_pending *p = data;
	struct sm *sm = p->sm;
	struct sm_vacation_pending **at = pending_find(sm, p->key);

	if (*at == p)
		*at = p->next;
	if (status == 0)
		sm->host->core->log(sm->mod, POSTINO_LOG_INFO, NULL,
				    "%s: vacation reply sent to <%s>",
				    p->account, p->to);
	else
		sm->host->core->log(sm->mod, POSTINO_LOG_ERROR, NULL,
				    "%s: vacation reply to <%s> failed: %s",
				    p->account, p->to, strerror(-status));
	pending_free(p);
}

/* :from must be one of the account's addresses; otherwise the reply
 * comes from the address the message was sent to. */
static void reply_from(struct sm *sm, const char *account,
		       struct sieve_vacation *vac, const char *session_id)
{
	if (vac->from == NULL)
		return;
	const char *lt = strrchr(vac->from, '<');
	char address[321];
	snprintf(address, sizeof(address), "%s", lt != NULL ? lt + 1
							    : vac->from);
	address[strcspn(address, ">")] = '\0';
	if (sm->host->mail->address_owned_by(sm->mod, address, account) == 1)
		return;
	sm->host->core->log(sm->mod, POSTINO_LOG_WARNING, session_id,
			    "%s: vacation :from %s is not one of the "
			    "account's addresses: not used", account, address);
	vac->from = NULL;
}

void sm_vacation_send(struct sm *sm, const char *account,
		      const char *recipient, const struct sieve_vacation *vac,
		      const char *session_id)
{
	const struct postino_host *host = sm->host;
	struct sieve_vacation v = *vac;
	char record[700], flag[4];
	size_t len;

	snprintf(record, sizeof(record), "vac:%s:%s", account, vac->key);
	if (*pending_find(sm, record) != NULL ||
	    host->policy->state_get(sm->mod, record, flag, sizeof(flag),
				    &len) == 0) {
		host->core->log(sm->mod, POSTINO_LOG_DEBUG, session_id,
				"%s: vacation reply to <%s> already sent in "
				"this period", account, vac->sender);
		return;
	}
	reply_from(sm, account, &v, session_id);
	struct sieve_reply_params params = {
		.recipient = recipient,
		.hostname = host->core->hostname(sm->mod),
		.now = host->core->now_ms() / 1000,
	};
	char *reply = NULL;
	size_t reply_len = 0;
	int ret = sieve_vacation_reply(&v, &params, &reply, &reply_len);
	if (ret < 0) {
		host->core->log(sm->mod, POSTINO_LOG_WARNING, session_id,
				"%s: vacation reply to <%s> not made: %s",
				account, vac->sender, strerror(-ret));
		return;
	}
	struct sm_vacation_pending *p = calloc(1, sizeof(*p));
	postino_msg *msg = host->mail->msg_new(sm->mod, NULL);
	if (p == NULL || msg == NULL ||
	    host->mail->msg_append(msg, reply, reply_len) < 0) {
		if (msg != NULL)
			host->mail->msg_discard(&msg);
		free(p);
		free(reply);
		return;
	}
	free(reply);
	p->sm = sm;
	snprintf(p->key, sizeof(p->key), "%s", record);
	p->account = strdup(account);
	p->to = strdup(vac->sender);
	if (p->account == NULL || p->to == NULL) {
		host->mail->msg_discard(&msg);
		pending_free(p);
		return;
	}
	/* "Replied in this period" is written with the reply. */
	const struct postino_delivery state = {
		.size = sizeof(state),
		.state_key = record,
		.state_value = "1",
		.state_len = 1,
		.state_expires_at = params.now + (int64_t)vac->period,
	};
	const char *to[1] = { vac->sender };
	p->next = sm->pending;
	sm->pending = p;
	ret = host->mail->msg_deliver_to(msg, to, 1, &state, reply_done, p);
	if (ret < 0)
		reply_done(p, ret);
}

void sm_vacation_fini(struct sm *sm)
{
	/* Replies in flight call back before the module goes (the host holds
	 * the module while a delivery runs); nothing is left then. */
	while (sm->pending != NULL) {
		struct sm_vacation_pending *p = sm->pending;
		sm->pending = p->next;
		pending_free(p);
	}
}
