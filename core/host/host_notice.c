/* msg_deliver_to: mail the server makes itself (notices, confirmations,
 * automatic replies) sent to addresses as written. Each address is routed
 * as an SMTP recipient is: one in a hosted domain through address_expand
 * to its accounts and its aliases' targets (nobody: skipped), any other
 * to the outbound queue. One place for it, so that every module's mail
 * reaches an alias's remote targets and never queues an address of ours. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "delivery/msg_internal.h"
#include "host/host_mail.h"
#include "util/address.h"

/* Local and remote recipients together; an alias rarely has more. */
#define NOTICE_TARGETS_MAX 64

struct notice_targets {
	const char *given;            /* the address being expanded */
	char *local[NOTICE_TARGETS_MAX];
	const char *local_rcpt[NOTICE_TARGETS_MAX];
	char *remote[NOTICE_TARGETS_MAX];
	const char *remote_via[NOTICE_TARGETS_MAX];
	size_t local_count;
	size_t remote_count;
	int error;
};

static void notice_add(struct notice_targets *t, const char *address,
		       int local, const char *via)
{
	size_t *n = local ? &t->local_count : &t->remote_count;
	char **list = local ? t->local : t->remote;

	if (t->error < 0)
		return;
	if (t->local_count + t->remote_count == NOTICE_TARGETS_MAX) {
		t->error = -E2BIG;
		return;
	}
	list[*n] = strdup(address);
	if (list[*n] == NULL) {
		t->error = -ENOMEM;
		return;
	}
	if (local)
		t->local_rcpt[*n] = via;
	else
		t->remote_via[*n] = via;
	(*n)++;
}

static void notice_expanded(void *data, const char *address, int local)
{
	struct notice_targets *t = data;

	notice_add(t, address, local, t->given);
}

static void notice_targets_free(struct notice_targets *t)
{
	for (size_t i = 0; i < t->local_count; i++)
		free(t->local[i]);
	for (size_t i = 0; i < t->remote_count; i++)
		free(t->remote[i]);
	free(t);
}

int host_msg_deliver_to(postino_msg *msg, const char *const *to,
			size_t to_count, const struct postino_delivery *state,
			void (*done)(void *data, int status), void *data)
{
	if (msg == NULL)
		return -EINVAL;
	struct notice_targets *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		host_msg_discard(&msg);
		return -ENOMEM;
	}
	for (size_t i = 0; i < to_count && t->error == 0; i++) {
		const char *at = to[i] != NULL ? strrchr(to[i], '@') : NULL;
		if (at == NULL) {
			t->error = -EINVAL;
		} else if (host_domain_is_local(msg->mod, at + 1)) {
			t->given = to[i];
			int ret = host_address_expand(msg->mod, to[i],
						      notice_expanded, t);
			if (ret < 0 && t->error == 0)
				t->error = ret;
		} else {
			notice_add(t, to[i], 0, NULL);
		}
	}
	int ret = t->error;
	if (ret == 0 && t->local_count + t->remote_count == 0)
		ret = -ENOENT;
	if (ret < 0) {
		notice_targets_free(t);
		host_msg_discard(&msg);
		return ret;
	}
	struct postino_delivery d = {
		.size = sizeof(d),
		.mail_from = "", /* never bounced back (RFC 3834) */
		.local = (const char *const *)t->local,
		.local_count = t->local_count,
		.remote = (const char *const *)t->remote,
		.remote_count = t->remote_count,
		.local_rcpt = t->local_rcpt,
		.remote_via = t->remote_via,
	};
	if (state != NULL &&
	    POSTINO_HAS_FIELD(state, struct postino_delivery,
			      state_expires_at)) {
		d.state_key = state->state_key;
		d.state_value = state->state_value;
		d.state_len = state->state_len;
		d.state_expires_at = state->state_expires_at;
	}
	/* msg_deliver copies what it keeps of d before it returns. */
	ret = host_msg_deliver(msg, &d, done, data);
	notice_targets_free(t);
	return ret;
}
