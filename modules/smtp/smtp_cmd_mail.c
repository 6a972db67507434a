/* MAIL FROM and RCPT TO: who may send as whom, and where mail may go.
 * No open relay: an unauthenticated client may only write to local
 * domains; an authenticated one only as an address it owns. */
#include <stdio.h>
#include <string.h>

#include "smtp.h"
#include "smtp_reply.h"

/* ---- MAIL ----------------------------------------------------------------- */

int smtp_check_mail(struct smtp_session *s, const char *arg, size_t len)
{
	const struct postino_host *host = s->srv->host;
	struct smtp_mail_args *m = &s->mail;

	if (!s->helo_seen) {
		smtp_reply_error(s, R_NEED_HELO);
		return -1;
	}
	if (s->in_mail) {
		smtp_reply_error(s, R_NESTED_MAIL);
		return -1;
	}
	if (s->svc->submission && s->account == NULL) {
		smtp_reply_error(s, R_AUTH_REQUIRED);
		return -1;
	}
	switch (smtp_parse_mail(arg, len, m)) {
	case SMTP_PARSE_OK:
		break;
	case SMTP_PARSE_ADDRESS:
		smtp_reply_error(s, R_BAD_SENDER);
		return -1;
	case SMTP_PARSE_PARAM_UNKNOWN:
		smtp_reply_error(s, R_UNKNOWN_PARAM, m->bad_param);
		return -1;
	case SMTP_PARSE_PARAM_VALUE:
		smtp_reply_error(s, R_BAD_PARAM, m->bad_param);
		return -1;
	case SMTP_PARSE_SYNTAX:
	default:
		smtp_reply_error(s, R_SYNTAX_MAIL);
		return -1;
	}
	if (m->path.utf8 && !m->smtputf8) {
		smtp_reply_error(s, R_UTF8_REQUIRED);
		return -1;
	}
	if (m->has_size && m->size > s->srv->max_message_size) {
		smtp_reply_error(s, R_SIZE_DECLARED);
		return -1;
	}
	if (s->account != NULL && s->srv->sender_login_check &&
	    (m->path.len == 0 ||
	     host->mail->address_owned_by(s->srv->mod, m->path.address,
				    s->account) != 1)) {
		smtp_reply_error(s, R_NOT_OWNER, m->path.address, s->account);
		return -1;
	}
	return 0;
}

static void mail_then(struct smtp_session *s, enum postino_verdict verdict,
		      int code, const char *text)
{
	if (verdict == POSTINO_DEFER || verdict == POSTINO_REJECT) {
		smtp_transaction_reset(s);
		smtp_reply_verdict(s, verdict, code, text);
	} else {
		smtp_reply(s, R_MAIL_OK);
	}
	smtp_resume(s);
}

void smtp_run_mail(struct smtp_session *s, const char *arg, size_t len)
{
	(void)arg;
	(void)len;
	/* s->mail was filled by the check; the hooks see it as mail_from. */
	s->in_mail = 1;
	smtp_run_hooks(s, POSTINO_HOOK_SMTP_MAIL_FROM, mail_then);
}

/* ---- RCPT ----------------------------------------------------------------- */

int smtp_check_rcpt(struct smtp_session *s, const char *arg, size_t len)
{
	struct smtp_rcpt_args *r = &s->rcpt;

	if (!s->in_mail) {
		smtp_reply_error(s, R_NEED_MAIL);
		return -1;
	}
	switch (smtp_parse_rcpt(arg, len, r)) {
	case SMTP_PARSE_OK:
		break;
	case SMTP_PARSE_ADDRESS:
		smtp_reply_error(s, R_BAD_RECIPIENT);
		return -1;
	case SMTP_PARSE_PARAM_UNKNOWN:
		smtp_reply_error(s, R_UNKNOWN_PARAM, r->bad_param);
		return -1;
	case SMTP_PARSE_PARAM_VALUE:
	case SMTP_PARSE_SYNTAX:
	default:
		smtp_reply_error(s, R_SYNTAX_RCPT);
		return -1;
	}
	if (r->path.utf8 && !s->mail.smtputf8) {
		smtp_reply_error(s, R_UTF8_REQUIRED);
		return -1;
	}
	if (s->rcpt_count >= s->srv->max_recipients) {
		/* Not a client error: RFC 5321 4.5.3.1.10 clients send the
		 * rest in a later transaction. */
		smtp_reply(s, R_TOO_MANY_RCPTS);
		return -1;
	}
	return 0;
}

struct expand_ctx {
	struct smtp_session *s;
	int failed;
};

static void expand_target(void *data, const char *address, int local)
{
	struct expand_ctx *ctx = data;

	if (address == NULL)
		return;
	if (smtp_strv_add_unique(local ? &ctx->s->rcpt_local
				       : &ctx->s->rcpt_remote,
				 address, local) < 0)
		ctx->failed = 1;
}

/* The targets of a local address into rcpt_local / rcpt_remote: the
 * number of targets, 0 for nobody, or < 0 on trouble. */
static int expand_local(struct smtp_session *s, const char *address)
{
	struct expand_ctx ctx = { s, 0 };
	int n = s->srv->host->mail->address_expand(s->srv->mod, address,
					     expand_target, &ctx);

	return ctx.failed ? -1 : n;
}

static void rcpt_then(struct smtp_session *s, enum postino_verdict verdict,
		      int code, const char *text)
{
	int failed = 0;

	if (verdict == POSTINO_DEFER || verdict == POSTINO_REJECT) {
		smtp_reply_verdict(s, verdict, code, text);
		goto done;
	}
	/* Each target once, with the first address that reached it. */
	for (size_t i = 0; i < s->rcpt_local.n && failed >= 0; i++) {
		failed = smtp_strv_add_unique(&s->local, s->rcpt_local.v[i], 1);
		if (failed > 0)
			failed = smtp_strv_push(&s->local_rcpt,
						s->rcpt_given);
	}
	for (size_t i = 0; i < s->rcpt_remote.n && failed >= 0; i++) {
		failed = smtp_strv_add_unique(&s->remote, s->rcpt_remote.v[i],
					      0);
		if (failed > 0)
			failed = smtp_strv_push(&s->remote_via,
						s->rcpt_given);
	}
	if (failed < 0) {
		smtp_reply_error(s, R_INTERNAL);
		goto done;
	}
	s->rcpt_count++;
	smtp_reply(s, R_RCPT_OK);
done:
	smtp_strv_clear(&s->rcpt_local);
	smtp_strv_clear(&s->rcpt_remote);
	smtp_resume(s);
}

/* A recipient in a local domain: its targets into rcpt_local and
 * rcpt_remote. 0, or -1 after replying (shown: the address in it). */
static int route_local(struct smtp_session *s, const char *address,
		       const char *shown)
{
	int n = expand_local(s, address);

	/* Remote targets of a local address are forwarded copies. */
	snprintf(s->rcpt_given, sizeof(s->rcpt_given), "%s", address);
	if (n < 0) {
		smtp_strv_clear(&s->rcpt_local);
		smtp_strv_clear(&s->rcpt_remote);
		s->srv->host->core->log(s->srv->mod, POSTINO_LOG_ERROR, s->session_id,
				  "address_expand failed: %d", n);
		smtp_reply_error(s, R_INTERNAL);
		return -1;
	}
	if (n == 0 || s->rcpt_local.n + s->rcpt_remote.n == 0) {
		smtp_reply_error(s, R_USER_UNKNOWN, shown);
		return -1;
	}
	if (smtp_rcpt_full(s)) {
		smtp_strv_clear(&s->rcpt_local);
		smtp_strv_clear(&s->rcpt_remote);
		smtp_reply(s, R_MAILBOX_FULL, shown);
		return -1;
	}
	return 0;
}

/* <postmaster> without a domain (RFC 5321 4.5.1: MUST be accepted):
 * [smtp] postmaster when set, local or remote, for any client (never
 * "Relaying denied"); else postmaster@hostname when that domain is
 * hosted here. */
static void run_postmaster(struct smtp_session *s)
{
	const struct postino_host *host = s->srv->host;
	const char *shown = s->rcpt.path.address; /* "postmaster" */
	struct smtp_path pm;
	int local = 0;

	if (smtp_postmaster_path(s->srv->postmaster, s->srv->hostname,
				 &pm) == 0)
		local = host->mail->domain_is_local(s->srv->mod,
					      pm.address + pm.domain_off) == 1;
	else
		pm.len = 0;
	if (pm.len == 0 || (s->srv->postmaster == NULL && !local)) {
		smtp_reply_error(s, R_NO_POSTMASTER, shown);
		return;
	}
	if (local) {
		if (route_local(s, pm.address, shown) < 0)
			return;
	} else if (smtp_strv_add_unique(&s->rcpt_remote, pm.address, 0) < 0) {
		smtp_reply_error(s, R_INTERNAL);
		return;
	}
	smtp_run_hooks(s, POSTINO_HOOK_SMTP_RCPT_TO, rcpt_then);
}

void smtp_run_rcpt(struct smtp_session *s, const char *arg, size_t len)
{
	const struct postino_host *host = s->srv->host;
	struct smtp_path *path = &s->rcpt.path;

	(void)arg;
	(void)len;
	smtp_strv_clear(&s->rcpt_local);
	smtp_strv_clear(&s->rcpt_remote);
	s->rcpt_given[0] = '\0';
	if (path->domain_off == path->len) {
		run_postmaster(s);
		return;
	}
	if (host->mail->domain_is_local(s->srv->mod,
				  path->address + path->domain_off) == 1) {
		if (route_local(s, path->address, path->address) < 0)
			return;
	} else if (s->account != NULL) {
		if (smtp_strv_add_unique(&s->rcpt_remote, path->address, 0) < 0) {
			smtp_reply_error(s, R_INTERNAL);
			return;
		}
	} else {
		smtp_reply_error(s, R_RELAY_DENIED, path->address);
		return;
	}
	smtp_run_hooks(s, POSTINO_HOOK_SMTP_RCPT_TO, rcpt_then);
}
