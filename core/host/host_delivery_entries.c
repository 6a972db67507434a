/* A DELIVERY hook's decisions (plugin.h's delivery_* entries) for the
 * recipient whose hooks run: copies into mailboxes (merged per mailbox),
 * redirects, a reject, a discard. They only record; the plan is made
 * when every hook has answered (host_delivery_plan.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "host/host_delivery.h"
#include "host/host_mail.h"
#include "module/hooks.h"
#include "store/store.h"
#include "util/address.h"

static struct hd_rcpt *hd_rcpt_of(postino_hook_call *call)
{
	return hooks_call_data(call, POSTINO_HOOK_DELIVERY);
}

/* Space-separated IMAP atoms without '\' (a flag is a bit). */
static int keywords_valid(const char *keywords)
{
	if (keywords == NULL)
		return 1;
	if (strlen(keywords) >= STORE_KEYWORDS_MAX)
		return 0;
	for (const char *p = keywords; *p != '\0'; p++) {
		if (*p == ' ')
			continue;
		if (*p <= 0x20 || *p >= 0x7f || strchr("(){%*\"\\]", *p))
			return 0;
	}
	return 1;
}

/* Adds the words of add that words lacks. */
static char *keywords_union(const char *words, const char *add)
{
	size_t len = strlen(words) + strlen(add) + 2;
	char *out = malloc(len);

	if (out == NULL)
		return NULL;
	snprintf(out, len, "%s", words);
	for (const char *p = add; *p != '\0';) {
		size_t n = strcspn(p, " ");
		int have = 0;
		for (const char *q = out; *q != '\0' && n > 0;) {
			size_t m = strcspn(q, " ");
			if (m == n && strncasecmp(q, p, n) == 0)
				have = 1;
			q += m;
			q += strspn(q, " ");
		}
		if (n > 0 && !have) {
			size_t at = strlen(out);
			snprintf(out + at, len - at, "%s%.*s",
				 at > 0 ? " " : "", (int)n, p);
		}
		p += n;
		p += strspn(p, " ");
	}
	return out;
}

static int same_mailbox(const char *a, const char *b)
{
	int inbox_a = a == NULL || strcasecmp(a, "INBOX") == 0;
	int inbox_b = b == NULL || strcasecmp(b, "INBOX") == 0;

	return inbox_a || inbox_b ? inbox_a == inbox_b : strcmp(a, b) == 0;
}

/* A copy for r in mailbox (NULL: INBOX); a second one for the same
 * mailbox merges into the first. */
int hd_copy_add(struct hd_rcpt *r, const char *mailbox, uint32_t flags,
		       const char *keywords, int create)
{
	for (size_t i = 0; i < r->copy_count; i++) {
		struct delivery_copy *c = &r->copies[i];
		if (!same_mailbox(c->mailbox, mailbox))
			continue;
		c->flags |= flags;
		c->create |= create;
		if (keywords != NULL) {
			char *merged = keywords_union(
				c->keywords != NULL ? c->keywords : "",
				keywords);
			if (merged == NULL)
				return -ENOMEM;
			free(c->keywords);
			c->keywords = merged;
		}
		return 0;
	}
	if (r->copy_count >= HD_ACTIONS_MAX)
		return -E2BIG;
	struct delivery_copy *grown = realloc(r->copies,
		(r->copy_count + 1) * sizeof(*grown));
	if (grown == NULL)
		return -ENOMEM;
	r->copies = grown;
	struct delivery_copy *c = &grown[r->copy_count];
	*c = (struct delivery_copy){
		.account = strdup(r->account),
		.mailbox = mailbox != NULL ? strdup(mailbox) : NULL,
		.flags = flags,
		.keywords = keywords != NULL ? keywords_union("", keywords)
					     : NULL,
		.create = create,
	};
	if (c->account == NULL || (mailbox != NULL && c->mailbox == NULL) ||
	    (keywords != NULL && c->keywords == NULL)) {
		free(c->account);
		free(c->mailbox);
		free(c->keywords);
		return -ENOMEM;
	}
	r->copy_count++;
	return 0;
}

int host_delivery_fileinto(postino_hook_call *call, const char *mailbox,
			   uint32_t flags, const char *keywords, int create)
{
	struct hd_rcpt *r = hd_rcpt_of(call);

	if (r == NULL || (flags & ~(uint32_t)0x1f) != 0 ||
	    !keywords_valid(keywords) ||
	    (mailbox != NULL && (mailbox[0] == '\0' || strlen(mailbox) > 255)))
		return -EINVAL;
	int ret = hd_copy_add(r, mailbox, flags, keywords, create != 0);
	if (ret == 0)
		r->decided = 1;
	return ret;
}

int host_delivery_redirect(postino_hook_call *call, const char *address)
{
	struct hd_rcpt *r = hd_rcpt_of(call);
	char a[ADDRESS_MAX + 1];

	if (r == NULL || address == NULL ||
	    address_normalize(address, a, sizeof(a)) < 0)
		return -EINVAL;
	for (size_t i = 0; i < r->redirect_count; i++) {
		if (strcmp(r->redirects[i], a) == 0) {
			r->decided = 1;
			return 0;
		}
	}
	if (r->redirect_count >= HD_ACTIONS_MAX)
		return -E2BIG;
	int ret = hd_strv_add(&r->redirects, &r->redirect_count, a);
	if (ret == 0)
		r->decided = 1;
	return ret;
}

int host_delivery_reject(postino_hook_call *call, const char *reason)
{
	struct hd_rcpt *r = hd_rcpt_of(call);

	if (r == NULL)
		return -EINVAL;
	char *copy = strndup(reason != NULL && reason[0] != '\0'
				     ? reason : "rejected by the recipient",
			     400);
	if (copy == NULL)
		return -ENOMEM;
	/* One line in the bounce. */
	for (char *p = copy; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	}
	free(r->reject);
	r->reject = copy;
	r->decided = 1;
	return 0;
}

int host_delivery_discard(postino_hook_call *call)
{
	struct hd_rcpt *r = hd_rcpt_of(call);

	if (r == NULL)
		return -EINVAL;
	r->decided = 1;
	return 0;
}
