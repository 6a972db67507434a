/* msg_deliver: who gets a message and how; core/delivery writes the
 * result in one commit.
 *
 *   host_msg_deliver  the module's recipients: local accounts (with the
 *                     address that reached them), relays, and forwards
 *                     (remote targets reached through an alias)
 *   scan              the message's Delivered-To fields and, for the
 *                     stored copies, its MIME summary, off the loop
 *   route             forwarding loops; each local recipient's DELIVERY
 *                     hooks, which decide through the delivery_* entries;
 *                     their redirects become recipients (a local one runs
 *                     its own hooks) or forwards
 *   finish            the plan: copies, forwards (SRS sender and
 *                     Delivered-To), one bounce of the loops and rejects
 *
 * A forwarded copy carries "Delivered-To: <address>" for every local
 * address it passed (newest on top), as Postfix's does; a copy arriving
 * for an address it already names is a loop and is bounced, once, to the
 * sender. Stored copies get no Delivered-To, so one message to many
 * local recipients is still stored once. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "delivery/msg_internal.h"
#include "host/host_delivery.h"
#include "host/host_mail.h"
#include "module/hooks.h"
#include "net/conn_api.h"
#include "store/store.h"
#include "util/address.h"

/* ---- small helpers ------------------------------------------------------- */

int hd_strv_add(char ***list, size_t *count, const char *s)
{
	char **grown = realloc(*list, (*count + 1) * sizeof(**list));

	if (grown == NULL)
		return -ENOMEM;
	*list = grown;
	grown[*count] = strdup(s);
	if (grown[*count] == NULL)
		return -ENOMEM;
	(*count)++;
	return 0;
}

void hd_strv_free(char **list, size_t count)
{
	for (size_t i = 0; list != NULL && i < count; i++)
		free(list[i]);
	free(list);
}

static void lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}

static void hd_rcpt_free(struct hd_rcpt *r)
{
	free(r->account);
	free(r->rcpt);
	hd_strv_free(r->chain, r->chain_len);
	for (size_t i = 0; i < r->copy_count; i++) {
		free(r->copies[i].account);
		free(r->copies[i].mailbox);
		free(r->copies[i].keywords);
	}
	free(r->copies);
	hd_strv_free(r->redirects, r->redirect_count);
	free(r->reject);
	free(r);
}

void hd_free(struct hd *d)
{
	for (size_t i = 0; i < d->rcpt_count; i++)
		hd_rcpt_free(d->rcpts[i]);
	free(d->rcpts);
	for (size_t i = 0; i < d->forward_count; i++) {
		free(d->forwards[i].address);
		hd_strv_free(d->forwards[i].chain, d->forwards[i].chain_len);
	}
	free(d->forwards);
	hd_strv_free(d->relays, d->relay_count);
	for (size_t i = 0; i < d->seen_count; i++)
		free(d->seen[i]);
	for (size_t i = 0; i < d->failure_count; i++) {
		free(d->failures[i].address);
		free(d->failures[i].reply);
	}
	free(d->failures);
	free(d->mail_from);
	free(d->state_key);
	free(d->state_value);
	mime_summary_free(&d->summary);
	host_msg_discard(&d->msg);
	free(d);
}

/* Tells the module the outcome without a commit (out of memory); not
 * when its connection closed meanwhile. */
void hd_report(struct hd *d, int status)
{
	postino_msg *msg = d->msg;
	int call = 1;

	if (msg->conn != NULL) {
		call = conn_unref(msg->conn);
		msg->conn = NULL;
	}
	if (call)
		d->done(d->data, status);
}

/* A failure for the bounce: reply is "550 5.x.y " then text with arg. */
int hd_fail(struct hd *d, const char *address, const char *reply_code,
		   const char *text, const char *arg)
{
	struct delivery_failure *grown = realloc(d->failures,
		(d->failure_count + 1) * sizeof(*grown));
	char reply[600];

	if (grown == NULL)
		return -ENOMEM;
	d->failures = grown;
	snprintf(reply, sizeof(reply), "%s %s%s", reply_code, text, arg);
	grown[d->failure_count].address = strdup(address);
	grown[d->failure_count].reply = strdup(reply);
	if (grown[d->failure_count].address == NULL ||
	    grown[d->failure_count].reply == NULL) {
		free(grown[d->failure_count].address);
		free(grown[d->failure_count].reply);
		return -ENOMEM;
	}
	d->failure_count++;
	return 0;
}

static int hd_seen(const struct hd *d, const char *address)
{
	for (size_t i = 0; address != NULL && i < d->seen_count; i++) {
		if (strcasecmp(d->seen[i], address) == 0)
			return 1;
	}
	return 0;
}

/* ---- recipients ------------------------------------------------------------ */

static struct hd_rcpt *hd_rcpt_add(struct hd *d, const char *account,
				   const char *rcpt, char *const *chain,
				   size_t chain_len, const char *from)
{
	struct hd_rcpt **grown = realloc(d->rcpts,
					 (d->rcpt_count + 1) * sizeof(*grown));
	struct hd_rcpt *r = calloc(1, sizeof(*r));
	int ret = 0;

	if (grown == NULL || r == NULL) {
		free(r);
		if (grown != NULL)
			d->rcpts = grown;
		return NULL;
	}
	d->rcpts = grown;
	r->d = d;
	r->account = strdup(account);
	r->rcpt = strdup(rcpt != NULL ? rcpt : account);
	for (size_t i = 0; ret == 0 && i < chain_len; i++)
		ret = hd_strv_add(&r->chain, &r->chain_len, chain[i]);
	if (ret == 0 && from != NULL)
		ret = hd_strv_add(&r->chain, &r->chain_len, from);
	if (r->account == NULL || r->rcpt == NULL || ret < 0) {
		hd_rcpt_free(r);
		return NULL;
	}
	lower(r->rcpt);
	d->rcpts[d->rcpt_count++] = r;
	return r;
}

static int hd_forward_add(struct hd *d, const char *address,
			  char *const *chain, size_t chain_len,
			  const char *from)
{
	struct hd_forward *grown = realloc(d->forwards,
		(d->forward_count + 1) * sizeof(*grown));
	int ret = 0;

	if (grown == NULL)
		return -ENOMEM;
	d->forwards = grown;
	struct hd_forward *f = &grown[d->forward_count];
	*f = (struct hd_forward){ .address = strdup(address) };
	for (size_t i = 0; ret == 0 && i < chain_len; i++)
		ret = hd_strv_add(&f->chain, &f->chain_len, chain[i]);
	if (ret == 0 && from != NULL)
		ret = hd_strv_add(&f->chain, &f->chain_len, from);
	if (f->address == NULL || ret < 0) {
		free(f->address);
		hd_strv_free(f->chain, f->chain_len);
		return -ENOMEM;
	}
	d->forward_count++;
	return 0;
}

/* ---- routing ------------------------------------------------------------------ */

static void hd_release(struct hd *d)
{
	if (--d->running == 0)
		hd_finish(d);
}

static int hd_looped(const struct hd *d, const struct hd_rcpt *r)
{
	if (hd_seen(d, r->account) || hd_seen(d, r->rcpt))
		return 1;
	for (size_t i = 0; i < r->chain_len; i++) {
		if (strcmp(r->chain[i], r->account) == 0)
			return 1;
	}
	return 0;
}

static void hd_rcpt_done(void *data, enum postino_verdict verdict, int code,
			 const char *text);

/* Runs r's DELIVERY hooks (none in the admin CLI: mail it delivers goes
 * to INBOX), unless the copy is a loop. */
static void hd_rcpt_start(struct hd *d, struct hd_rcpt *r)
{
	struct module_set *set = d->ctx->modules;

	if (hd_looped(d, r)) {
		log_write(&d->ctx->log, LOG_LEVEL_WARNING, "core",
			  d->session_id[0] ? d->session_id : NULL,
			  "mail forwarding loop for %s: bounced to <%s>",
			  r->account, d->mail_from);
		r->decided = 1;
		if (hd_fail(d, r->rcpt, "550 5.4.6",
			    "mail forwarding loop for ", r->account) < 0)
			d->failed = 1;
		return;
	}
	if (d->ctx->mode != CORE_MODE_DAEMON || set == NULL ||
	    set->hook_count[POSTINO_HOOK_DELIVERY] == 0)
		return;
	r->ev = (struct postino_hook_event){
		.size = sizeof(r->ev),
		.point = POSTINO_HOOK_DELIVERY,
		.session_id = d->session_id[0] ? d->session_id : NULL,
		.account = r->account,
		.mail_from = d->mail_from,
		.rcpt_to = r->rcpt,
		.message_size = host_msg_size(d->msg),
		.msg = d->msg,
	};
	d->running++;
	if (hooks_run(set, &r->ev, hd_rcpt_done, r) < 0) {
		log_write(&d->ctx->log, LOG_LEVEL_ERROR, "core", NULL,
			  "%s: cannot run the delivery hooks: out of memory; "
			  "delivered to INBOX", r->account);
		d->running--;
	}
}

void hd_target(void *data, const char *address, int local)
{
	struct hd_targets *t = data;

	if (local ? hd_strv_add(&t->local, &t->local_count, address)
		  : hd_strv_add(&t->remote, &t->remote_count, address))
		t->failed = 1;
}

void hd_targets_free(struct hd_targets *t)
{
	hd_strv_free(t->local, t->local_count);
	hd_strv_free(t->remote, t->remote_count);
}

/* Who an address is: its targets when it is ours (aliases, SRS,
 * subaddresses), else itself, remote. 0, or -ENOENT when it is in one
 * of our domains but nobody's. */
int hd_resolve(struct hd *d, const char *address, struct hd_targets *t)
{
	const struct config_srs *srs = &d->mod->set->config->srs;
	const char *domain = strrchr(address, '@');

	*t = (struct hd_targets){ 0 };
	if (domain == NULL)
		return -EINVAL;
	domain++;
	if (!host_domain_is_local(d->mod, domain) &&
	    !(srs->enabled && strcasecmp(domain, srs->domain) == 0)) {
		hd_target(t, address, 0);
		return t->failed ? -ENOMEM : 0;
	}
	int n = host_address_expand(d->mod, address, hd_target, t);
	if (n < 0 || t->failed) {
		hd_targets_free(t);
		return n < 0 ? n : -ENOMEM;
	}
	return n == 0 ? -ENOENT : 0;
}

/* A redirect of r's copy to address: new local recipients (their own
 * hooks) and forwards, each remembering that the copy passed r. */
static void hd_redirect(struct hd *d, struct hd_rcpt *r, const char *address)
{
	struct hd_targets t;

	if (r->chain_len + 1 >= HD_CHAIN_MAX ||
	    d->rcpt_count >= d->given + HD_GROWTH_MAX) {
		log_write(&d->ctx->log, LOG_LEVEL_WARNING, "core", NULL,
			  "%s: redirect to %s not done: too many forwarding "
			  "hops for one message; kept in INBOX", r->account,
			  address);
		if (hd_copy_add(r, NULL, 0, NULL, 0) < 0)
			d->failed = 1;
		return;
	}
	int ret = hd_resolve(d, address, &t);
	if (ret == -ENOENT) {
		if (hd_fail(d, address, "550 5.1.1",
			    "no such user here: ", address) < 0)
			d->failed = 1;
		return;
	}
	if (ret < 0) {
		d->failed = 1;
		return;
	}
	for (size_t i = 0; i < t.remote_count; i++) {
		if (hd_forward_add(d, t.remote[i], r->chain, r->chain_len,
				   r->account) < 0)
			d->failed = 1;
	}
	for (size_t i = 0; i < t.local_count; i++) {
		struct hd_rcpt *n = hd_rcpt_add(d, t.local[i], address,
						r->chain, r->chain_len,
						r->account);
		if (n == NULL) {
			d->failed = 1;
			break;
		}
		hd_rcpt_start(d, n);
	}
	hd_targets_free(&t);
}

static void hd_rcpt_done(void *data, enum postino_verdict verdict, int code,
			 const char *text)
{
	struct hd_rcpt *r = data;
	struct hd *d = r->d;

	if (verdict == POSTINO_DEFER || verdict == POSTINO_REJECT)
		log_write(&d->ctx->log, LOG_LEVEL_WARNING, "core", NULL,
			  "%s: a delivery hook answered %d %s; ignored (a "
			  "copy is refused with delivery_reject)", r->account,
			  code, text);
	/* Index loop: hd_redirect may add recipients (and so move rcpts). */
	for (size_t i = 0; i < r->redirect_count; i++)
		hd_redirect(d, r, r->redirects[i]);
	hd_release(d);
}

/* After the scan: loops of the forwards given, then every recipient's
 * hooks. running holds one for route itself, so hooks answering at once
 * cannot finish the delivery before every recipient started. */
static void hd_route(struct hd *d)
{
	d->running = 1;
	for (size_t i = 0; i < d->forward_count; i++) {
		struct hd_forward *f = &d->forwards[i];
		if (f->chain_len == 0 || !hd_seen(d, f->chain[0]))
			continue;
		log_write(&d->ctx->log, LOG_LEVEL_WARNING, "core",
			  d->session_id[0] ? d->session_id : NULL,
			  "mail forwarding loop for %s: bounced to <%s>",
			  f->chain[0], d->mail_from);
		if (hd_fail(d, f->chain[0], "550 5.4.6",
			    "mail forwarding loop for ", f->chain[0]) < 0)
			d->failed = 1;
		free(f->address);
		hd_strv_free(f->chain, f->chain_len);
		d->forwards[i--] = d->forwards[--d->forward_count];
	}
	for (size_t i = 0; i < d->given; i++)
		hd_rcpt_start(d, d->rcpts[i]);
	hd_release(d);
}

/* ---- the Delivered-To fields, off the loop ------------------------------- */

/* Reads the header section (at most HD_HEADER_MAX) and keeps each
 * Delivered-To address, lower-cased. */
static void hd_scan(struct hd *d)
{
	char *head = malloc(HD_HEADER_MAX + 1);
	size_t len = 0;

	if (head == NULL)
		return;
	while (len < HD_HEADER_MAX) {
		int64_t n = host_msg_read(d->msg, len, head + len,
					  HD_HEADER_MAX - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		head[len] = '\0';
		if (strstr(head, "\r\n\r\n") != NULL ||
		    strstr(head, "\n\n") != NULL)
			break;
	}
	head[len] = '\0';
	for (char *line = head; *line != '\0' && *line != '\r' &&
				*line != '\n';) {
		char *end = line + strcspn(line, "\n");
		/* Unfold: the field goes on while lines start with a blank. */
		while (*end == '\n' && (end[1] == ' ' || end[1] == '\t'))
			end += 1 + strcspn(end + 1, "\n");
		char *next = *end == '\n' ? end + 1 : end;
		*end = '\0';
		if (strncasecmp(line, "Delivered-To", 12) == 0) {
			char *v = line + 12 + strspn(line + 12, " \t");
			if (*v == ':' && d->seen_count < HD_SEEN_MAX) {
				v++;
				char value[ADDRESS_MAX + 1];
				size_t n = 0;
				for (; *v != '\0'; v++) {
					if (!isspace((unsigned char)*v) &&
					    *v != '<' && *v != '>' &&
					    n < ADDRESS_MAX)
						value[n++] = (char)tolower(
							(unsigned char)*v);
				}
				value[n] = '\0';
				if (n > 0 && strchr(value, '@') != NULL)
					d->seen[d->seen_count++] =
						strdup(value);
				if (d->seen_count > 0 &&
				    d->seen[d->seen_count - 1] == NULL)
					d->seen_count--;
			}
		}
		line = next;
	}
	free(head);
}

/* What IMAP shows of the stored copies (all the same bytes, Return-Path
 * included), made here rather than by the writer, whose group commit
 * must not wait for one message's parse. A copy stored without it gets
 * it computed when a client asks. */
static void hd_summarize(struct hd *d)
{
	size_t prefix, len;
	char *buf;

	if (d->rcpt_count == 0)
		return;
	buf = msg_load(d->msg, d->mail_from, &prefix, &len);
	if (buf != NULL)
		mime_summary_build(buf, len, &d->summary);
	free(buf);
}

static void hd_scan_work(uv_work_t *req)
{
	hd_scan(req->data);
	hd_summarize(req->data);
}

static void hd_scan_done(uv_work_t *req, int status)
{
	(void)status;
	hd_route(req->data);
}

/* ---- msg_deliver -------------------------------------------------------------- */

static int hd_copy_state(struct hd *d, const struct postino_delivery *dl)
{
	if (!POSTINO_HAS_FIELD(dl, struct postino_delivery,
			       state_expires_at) || dl->state_key == NULL)
		return 0;
	d->state_key = strdup(dl->state_key);
	d->state_len = dl->state_len;
	d->state_expires_at = dl->state_expires_at > 0 ? dl->state_expires_at
						       : 0;
	if (dl->state_value != NULL) {
		/* +1: an empty value still differs from a delete. */
		d->state_value = malloc(dl->state_len + 1);
		if (d->state_value != NULL)
			memcpy(d->state_value, dl->state_value, dl->state_len);
	}
	return d->state_key == NULL ||
	       (dl->state_value != NULL && d->state_value == NULL) ? -ENOMEM
								   : 0;
}

static int hd_recipients(struct hd *d, const struct postino_delivery *dl)
{
	const char *const *local_rcpt = NULL, *const *remote_via = NULL;

	if (POSTINO_HAS_FIELD(dl, struct postino_delivery, remote_via)) {
		local_rcpt = dl->local_rcpt;
		remote_via = dl->remote_via;
	}
	for (size_t i = 0; i < dl->local_count; i++) {
		if (dl->local[i] == NULL ||
		    hd_rcpt_add(d, dl->local[i],
				local_rcpt != NULL ? local_rcpt[i] : NULL,
				NULL, 0, NULL) == NULL)
			return -ENOMEM;
	}
	d->given = d->rcpt_count;
	for (size_t i = 0; i < dl->remote_count; i++) {
		const char *via = remote_via != NULL ? remote_via[i] : NULL;
		char v[ADDRESS_MAX + 1];
		int ret;

		if (dl->remote[i] == NULL)
			return -EINVAL;
		if (via != NULL && address_normalize(via, v, sizeof(v)) == 0)
			ret = hd_forward_add(d, dl->remote[i], NULL, 0, v);
		else
			ret = hd_strv_add(&d->relays, &d->relay_count,
				       dl->remote[i]);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int host_msg_deliver(postino_msg *msg, const struct postino_delivery *dl,
		     void (*done)(void *data, int status), void *data)
{
	if (msg->failed || msg->ctx->store == NULL || done == NULL ||
	    !POSTINO_HAS_FIELD(dl, struct postino_delivery, remote_count) ||
	    dl->local_count + dl->remote_count == 0) {
		host_msg_discard(&msg);
		return -EINVAL;
	}
	struct hd *d = calloc(1, sizeof(*d));
	if (d == NULL) {
		host_msg_discard(&msg);
		return -ENOMEM;
	}
	d->ctx = msg->ctx;
	d->mod = msg->mod;
	d->msg = msg;
	d->done = done;
	d->data = data;
	d->mail_from = strdup(dl->mail_from != NULL ? dl->mail_from : "");
	if (msg->conn != NULL) {
		const struct postino_conn_info *info = conn_info(msg->conn);
		if (info != NULL && info->session_id != NULL)
			snprintf(d->session_id, sizeof(d->session_id), "%s",
				 info->session_id);
	}
	int ret = d->mail_from == NULL ? -ENOMEM : hd_copy_state(d, dl);
	if (ret == 0)
		ret = hd_recipients(d, dl);
	if (ret < 0) {
		hd_free(d);
		return ret;
	}
	/* Relays alone have nothing to look for in the message. */
	if (d->rcpt_count == 0 && d->forward_count == 0) {
		d->running = 1;
		hd_release(d);
		return 0;
	}
	/* The admin CLI runs no loop while a command runs: it reads the few
	 * header octets here and delivers before returning. */
	if (d->ctx->mode != CORE_MODE_DAEMON) {
		hd_scan(d);
		hd_summarize(d);
		hd_route(d);
		return 0;
	}
	d->work.data = d;
	ret = uv_queue_work(d->ctx->loop, &d->work, hd_scan_work, hd_scan_done);
	if (ret < 0) {
		d->msg = NULL; /* still the caller's to free: we return < 0 */
		hd_free(d);
		host_msg_discard(&msg);
		return ret;
	}
	return 0;
}
