/* The plan of a delivery whose hooks have all answered: the copies (the
 * implicit keep where nothing was decided), the forwards grouped by the
 * local addresses they passed (their Delivered-To lines, the SRS
 * sender), one bounce of the loops and rejects to the sender as any mail
 * would reach it. core/delivery writes it in one commit. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "delivery/msg_internal.h"
#include "host/host_delivery.h"
#include "host/host_mail.h"
#include "util/srs.h"

/* The envelope sender of forwarded copies: SRS when [srs] is set and the
 * sender is neither null nor ours. */
static char *hd_forward_sender(struct hd *d)
{
	const struct config_srs *cfg = &d->mod->set->config->srs;
	const char *at = strrchr(d->mail_from, '@');
	char out[SRS_ADDRESS_MAX + 1];

	if (!cfg->enabled || at == NULL ||
	    host_domain_is_local(d->mod, at + 1))
		return strdup(d->mail_from);
	struct srs srs = {
		.secrets = (const char *const *)cfg->secrets,
		.n_secrets = cfg->secret_count,
		.max_age = cfg->max_age,
	};
	int ret = srs_forward(&srs, d->mail_from, cfg->domain,
			      core_now_ms() / 1000, out, sizeof(out));
	if (ret < 0) {
		log_write(&d->ctx->log, LOG_LEVEL_WARNING, "core", NULL,
			  "cannot rewrite <%s> with SRS (%s): forwarded with "
			  "the sender as it is", d->mail_from, strerror(-ret));
		return strdup(d->mail_from);
	}
	return strdup(ret == 0 ? out : d->mail_from);
}

static int same_chain(const struct hd_forward *a, const struct hd_forward *b)
{
	if (a->chain_len != b->chain_len)
		return 0;
	for (size_t i = 0; i < a->chain_len; i++) {
		if (strcmp(a->chain[i], b->chain[i]) != 0)
			return 0;
	}
	return 1;
}

/* "Delivered-To: <address>" per local address passed, newest on top. */
static char *hd_delivered_to(const struct hd_forward *f)
{
	size_t len = 1;

	for (size_t i = 0; i < f->chain_len; i++)
		len += strlen(f->chain[i]) + 16;
	char *out = malloc(len);
	if (out == NULL)
		return NULL;
	out[0] = '\0';
	size_t at = 0;
	for (size_t i = f->chain_len; i-- > 0;)
		at += (size_t)snprintf(out + at, len - at,
				       "Delivered-To: %s\r\n", f->chain[i]);
	return out;
}

static int plan_forward(struct delivery_plan *plan, char *sender,
			char *headers)
{
	struct delivery_forward *grown = realloc(plan->forwards,
		(plan->forward_count + 1) * sizeof(*grown));

	if (grown == NULL || sender == NULL) {
		if (grown != NULL)
			plan->forwards = grown;
		free(sender);
		free(headers);
		return -ENOMEM;
	}
	plan->forwards = grown;
	grown[plan->forward_count++] = (struct delivery_forward){
		.sender = sender, .headers = headers };
	return 0;
}

/* Forwards with the same chain share a queue entry (and its headers). */
static int plan_forwards(struct hd *d, struct delivery_plan *plan)
{
	int ret = 0;

	if (d->relay_count > 0) {
		ret = plan_forward(plan, strdup(d->mail_from), NULL);
		if (ret == 0) {
			plan->forwards[plan->forward_count - 1].rcpts =
				d->relays;
			plan->forwards[plan->forward_count - 1].rcpt_count =
				d->relay_count;
			d->relays = NULL;
			d->relay_count = 0;
		}
	}
	for (size_t i = 0; ret == 0 && i < d->forward_count; i++) {
		struct hd_forward *f = &d->forwards[i];
		if (f->address == NULL)
			continue; /* taken into an earlier group */
		char *headers = hd_delivered_to(f);
		ret = headers != NULL ? plan_forward(plan, hd_forward_sender(d),
						     headers)
				      : -ENOMEM;
		if (ret < 0)
			break;
		struct delivery_forward *pf =
			&plan->forwards[plan->forward_count - 1];
		for (size_t k = i; ret == 0 && k < d->forward_count; k++) {
			struct hd_forward *g = &d->forwards[k];
			if (g->address == NULL || !same_chain(f, g))
				continue;
			ret = hd_strv_add(&pf->rcpts, &pf->rcpt_count, g->address);
			if (k != i) {
				free(g->address);
				g->address = NULL;
			}
		}
		free(f->address);
		f->address = NULL;
	}
	return ret;
}

static int plan_copies(struct hd *d, struct delivery_plan *plan)
{
	for (size_t i = 0; i < d->rcpt_count; i++) {
		struct hd_rcpt *r = d->rcpts[i];

		if (!r->decided && hd_copy_add(r, NULL, 0, NULL, 0) < 0)
			return -ENOMEM;
		if (r->reject != NULL &&
		    hd_fail(d, r->rcpt, "550 5.7.1", "", r->reject) < 0)
			return -ENOMEM;
		if (r->copy_count == 0)
			continue;
		struct delivery_copy *grown = realloc(plan->copies,
			(plan->copy_count + r->copy_count) * sizeof(*grown));
		if (grown == NULL)
			return -ENOMEM;
		plan->copies = grown;
		memcpy(grown + plan->copy_count, r->copies,
		       r->copy_count * sizeof(*grown));
		plan->copy_count += r->copy_count;
		free(r->copies);
		r->copies = NULL;
		r->copy_count = 0;
	}
	return 0;
}

/* The bounce goes to the sender as any mail would: an SRS address of
 * ours to the sender it stands for, an alias to its targets. */
static int plan_bounce(struct hd *d, struct delivery_plan *plan)
{
	struct hd_targets t;

	if (d->failure_count == 0)
		return 0;
	plan->failures = d->failures;
	plan->failure_count = d->failure_count;
	d->failures = NULL;
	d->failure_count = 0;
	if (d->mail_from[0] == '\0') {
		log_write(&d->ctx->log, LOG_LEVEL_INFO, "core", NULL,
			  "%zu recipient(s) failed; a message from the null "
			  "sender is not bounced", plan->failure_count);
		return 0;
	}
	int ret = hd_resolve(d, d->mail_from, &t);
	if (ret == -ENOENT || ret == -EINVAL) {
		log_write(&d->ctx->log, LOG_LEVEL_WARNING, "core", NULL,
			  "no one to bounce to: <%s> is nobody here",
			  d->mail_from);
		return 0;
	}
	if (ret < 0)
		return ret;
	plan->bounce_local = t.local;
	plan->bounce_local_count = t.local_count;
	plan->bounce_remote = t.remote;
	plan->bounce_remote_count = t.remote_count;
	return 0;
}

void hd_finish(struct hd *d)
{
	struct delivery_plan *plan = calloc(1, sizeof(*plan));
	int ret = plan != NULL && !d->failed ? 0 : -ENOMEM;

	if (ret == 0) {
		plan->mail_from = strdup(d->mail_from);
		plan->hostname = strdup(d->mod->set->config->server.hostname);
		plan->now = core_now_ms() / 1000;
		if (plan->mail_from == NULL || plan->hostname == NULL)
			ret = -ENOMEM;
	}
	if (ret == 0)
		ret = plan_copies(d, plan);
	if (ret == 0)
		ret = plan_forwards(d, plan);
	if (ret == 0)
		ret = plan_bounce(d, plan);
	if (ret == 0) {
		plan->state_key = d->state_key;
		plan->state_value = d->state_value;
		plan->state_len = d->state_len;
		plan->state_expires_at = d->state_expires_at;
		d->state_key = NULL;
		d->state_value = NULL;
		plan->summary = d->summary;
		memset(&d->summary, 0, sizeof(d->summary));
		plan->enforce_quota = d->msg->conn != NULL;
		plan->done = d->done;
		plan->data = d->data;
		plan->msg = d->msg;
		ret = delivery_commit(plan);
		if (ret == 0) {
			d->msg = NULL;
			hd_free(d);
			return;
		}
		plan->msg = NULL;
	}
	log_write(&d->ctx->log, LOG_LEVEL_ERROR, "core", NULL,
		  "delivery of a message from <%s> failed: %s", d->mail_from,
		  strerror(-ret));
	if (plan != NULL)
		delivery_plan_free(&plan);
	hd_report(d, ret);
	hd_free(d);
}
