/* A delivery decided: every stored copy, every queue entry and the bounce
 * of one message, written by one job of the store writer so that the
 * client's 250 comes only after all of it is durable (and a crash leaves
 * all of it or none). The host (core/host/host_delivery.c) decides the
 * plan: recipients, aliases, DELIVERY hooks, SRS, loops; this layer only
 * writes it. */
#ifndef POSTINO_DELIVERY_H
#define POSTINO_DELIVERY_H

#include <stddef.h>
#include <stdint.h>

#include "mime/mime.h"
#include "postino/plugin.h"

/* One copy into an account's mailbox. */
struct delivery_copy {
	char *account;
	char *mailbox;      /* NULL: INBOX */
	uint32_t flags;     /* POSTINO_FLAG_*, not RECENT */
	char *keywords;     /* space-separated, or NULL */
	int create;         /* create (and subscribe) a missing mailbox */
	/* Set by the job: the mailbox written, whether the copy went to
	 * INBOX instead of a mailbox that is missing or refused, whether it
	 * was refused for the account's quota, and the INBOX given a quota
	 * warning (0: none). */
	int64_t mailbox_id;
	int fell_back;
	int over_quota;
	int64_t warned;
};

/* One queue entry: the message with headers in front, from sender. */
struct delivery_forward {
	char *sender;       /* "" for the null sender */
	char *headers;      /* "Name: value\r\n" lines, or NULL */
	char **rcpts;
	size_t rcpt_count;
};

/* A recipient the message failed for, in the bounce. */
struct delivery_failure {
	char *address;
	char *reply;        /* "550 5.4.6 ...": the DSN's status and text */
};

struct delivery_plan {
	postino_msg *msg;   /* consumed */
	char *mail_from;    /* the Return-Path of stored copies */
	/* The stored copies' MIME summary (made off the loop and the writer;
	 * when absent, IMAP computes it when asked). */
	struct mime_summary summary;
	/* Mail from a client is held to the recipients' quotas; the
	 * server's own (notices, bounces, vacation replies) is not, so it is
	 * never lost. */
	int enforce_quota;
	size_t refused;     /* copies refused for a quota, set by the job */
	char *hostname;     /* the bounce's Reporting-MTA */
	struct delivery_copy *copies;
	size_t copy_count;
	struct delivery_forward *forwards;
	size_t forward_count;
	/* One bounce of every failure, to these accounts and addresses. */
	struct delivery_failure *failures;
	size_t failure_count;
	char **bounce_local;
	size_t bounce_local_count;
	char **bounce_remote;
	size_t bounce_remote_count;
	int64_t *bounce_mailboxes; /* bounce_local_count, set by the job */
	/* The maker module's state entry, as postino_delivery's. */
	char *state_key;
	void *state_value;  /* NULL: delete the key */
	size_t state_len;
	int64_t state_expires_at;
	int64_t now;
	void (*done)(void *data, int status);
	void *data;
};

/* Submits the plan's job, which then owns the plan (and its msg):
 * done(data, 0 or -errno) follows on the loop, unless the message's
 * connection closed meanwhile (the plan is written all the same); in the
 * admin CLI before this returns. 0, or a negative errno: done is not
 * called and the plan is still the caller's. */
int delivery_commit(struct delivery_plan *plan);

/* Frees a plan not handed to delivery_commit, its msg included. */
void delivery_plan_free(struct delivery_plan **plan);

#endif
