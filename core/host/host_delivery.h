/* The host's delivery (host_delivery*.c), shared by its three files:
 *
 *   host_delivery.c          msg_deliver, the Delivered-To scan, each
 *                            recipient's DELIVERY hooks, redirects
 *   host_delivery_entries.c  the delivery_* entries a hook decides with
 *   host_delivery_plan.c     the plan core/delivery writes: copies,
 *                            forwards (SRS, Delivered-To), the bounce
 *
 * Everything here runs on the loop thread of the worker delivering,
 * except the scan (threadpool), which touches only its delivery. */
#ifndef POSTINO_HOST_DELIVERY_H
#define POSTINO_HOST_DELIVERY_H

#include <stddef.h>
#include <stdint.h>

#include "delivery/delivery.h"
#include "mime/mime.h"
#include "module/module.h"

#define HD_GROWTH_MAX 64     /* recipients redirects may add to one message */
#define HD_CHAIN_MAX 8       /* local addresses one copy may pass */
#define HD_ACTIONS_MAX 32    /* fileinto/redirect calls per recipient */
#define HD_SEEN_MAX 64       /* Delivered-To fields looked at */
#define HD_HEADER_MAX (256 * 1024)

struct hd;

/* One local recipient and what its hooks decided. */
struct hd_rcpt {
	struct hd *d;
	char *account;
	char *rcpt;                 /* as given; the account when none */
	char **chain;               /* accounts the copy came from, oldest
				       first (redirects) */
	size_t chain_len;
	struct delivery_copy *copies;
	size_t copy_count;
	char **redirects;
	size_t redirect_count;
	char *reject;
	int decided;                /* a delivery_* entry was called */
	struct postino_hook_event ev;
};

/* A remote copy reached through local addresses. */
struct hd_forward {
	char *address;
	char **chain;               /* oldest first */
	size_t chain_len;
};

struct hd {
	struct core_ctx *ctx;
	struct postino_mod *mod;    /* the maker: its set answers lookups */
	postino_msg *msg;
	char *mail_from;
	char session_id[64];
	struct hd_rcpt **rcpts;
	size_t rcpt_count, given;
	struct hd_forward *forwards;
	size_t forward_count;
	char **relays;
	size_t relay_count;
	char *seen[HD_SEEN_MAX];    /* Delivered-To values, lower case */
	size_t seen_count;
	struct delivery_failure *failures;
	size_t failure_count;
	unsigned running;           /* hook runs, and route itself */
	int failed;                 /* out of memory: 451, nothing written */
	char *state_key;
	void *state_value;
	size_t state_len;
	int64_t state_expires_at;
	struct mime_summary summary; /* of the stored copies' bytes */
	void (*done)(void *data, int status);
	void *data;
	uv_work_t work;
};

struct hd_targets {
	char **local, **remote;
	size_t local_count, remote_count;
	int failed;
};

/* host_delivery.c */
int hd_strv_add(char ***list, size_t *count, const char *s);
void hd_strv_free(char **list, size_t count);
void hd_free(struct hd *d);
/* Tells the module the outcome without a commit; not when its connection
 * closed meanwhile. */
void hd_report(struct hd *d, int status);
/* A failure for the bounce: reply is "550 5.x.y " then text with arg. */
int hd_fail(struct hd *d, const char *address, const char *reply_code,
	    const char *text, const char *arg);
/* Who an address is: its targets when it is ours (aliases, SRS,
 * subaddresses), else itself, remote. 0, or -ENOENT when it is in one
 * of our domains but nobody's. */
int hd_resolve(struct hd *d, const char *address, struct hd_targets *t);
void hd_targets_free(struct hd_targets *t);

/* host_delivery_entries.c: a copy for r in mailbox (NULL: INBOX); a
 * second one for the same mailbox merges into the first. */
int hd_copy_add(struct hd_rcpt *r, const char *mailbox, uint32_t flags,
		const char *keywords, int create);

/* host_delivery_plan.c: every hook has answered; the plan goes to
 * core/delivery (or the module hears of the failure). Frees d. */
void hd_finish(struct hd *d);

#endif
