/* DATA: the message is read as raw bytes (conn_read_bytes(UINT64_MAX)),
 * run through the smtp_data machine and spooled into a host message as it
 * arrives; at CRLF.CRLF the rest of the chunk goes back to line input,
 * the DATA_END hooks run, and the message is delivered. 250 is sent only
 * from msg_deliver's done, after the durable commit. In an authenticated
 * session the spooled bytes pass the smtp_header filter, which adds Date:
 * and Message-ID: when the client's header block has none; mail arriving
 * unauthenticated (MX) is stored as received, with our Received on top. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "smtp.h"
#include "smtp_received.h"
#include "smtp_reply.h"

#define SMTP_SPOOL_CHUNK 8192

int smtp_check_data(struct smtp_session *s, const char *arg, size_t len)
{
	(void)arg;
	if (!s->in_mail) {
		smtp_reply_error(s, R_NEED_RCPT);
		return -1;
	}
	if (s->rcpt_count == 0) {
		smtp_reply_error(s, R_NO_RCPTS);
		return -1;
	}
	if (len != 0) {
		smtp_reply_error(s, R_SYNTAX_NOARGS, "DATA");
		return -1;
	}
	return 0;
}

static int append_received(struct smtp_session *s)
{
	const struct postino_host *host = s->srv->host;
	const struct postino_conn_info *info = smtp_info(s);
	char header[1024];
	struct smtp_received r = {
		.helo = s->helo,
		.client_ip = s->client_ip,
		.hostname = s->srv->hostname,
		.esmtp = s->esmtp,
		.tls = info != NULL && info->tls,
		.authenticated = s->account != NULL,
		.tls_version = info != NULL ? info->tls_version : NULL,
		.tls_cipher = info != NULL ? info->tls_cipher : NULL,
		.id = s->session_id,
		.when = (time_t)(host->core->now_ms() / 1000),
	};
	size_t n = smtp_received_format(&r, header, sizeof(header));

	if (n == 0)
		return -1;
	return host->mail->msg_append(s->msg, header, n);
}

/* The fields a submitted message gets if it lacks them (RFC 6409 8.2,
 * 8.3): made now, inserted by the filter where the header block ends. A
 * Message-ID needs real randomness; without it the message goes without
 * one rather than with a guessable one. */
static void fill_start(struct smtp_session *s)
{
	const struct postino_host *host = s->srv->host;
	unsigned char random[16];
	const char *date = NULL, *message_id = NULL;

	if (smtp_header_date((time_t)(host->core->now_ms() / 1000), s->date_field,
			     sizeof(s->date_field)) > 0)
		date = s->date_field;
	if (getrandom(random, sizeof(random), 0) != (ssize_t)sizeof(random))
		host->core->log(s->srv->mod, POSTINO_LOG_WARNING, s->session_id,
			  "no randomness for a Message-ID: %s",
			  strerror(errno));
	else if (smtp_header_message_id(random, s->srv->hostname,
					s->message_id_field,
					sizeof(s->message_id_field)) > 0)
		message_id = s->message_id_field;
	smtp_header_fill_init(&s->fill, date, message_id);
}

void smtp_run_data(struct smtp_session *s, const char *arg, size_t len)
{
	const struct postino_host *host = s->srv->host;

	(void)arg;
	(void)len;
	s->msg = host->mail->msg_new(s->srv->mod, s->conn);
	if (s->msg == NULL || append_received(s) < 0) {
		host->core->log(s->srv->mod, POSTINO_LOG_ERROR, s->session_id,
			  "cannot start a message");
		smtp_transaction_reset(s);
		smtp_reply_error(s, R_QUEUE_ERROR);
		return;
	}
	smtp_data_init(&s->data);
	/* Submission (RFC 6409): an authenticated client is the message's
	 * author. An MX passes the message on unaltered (RFC 5321 6.4). */
	s->filling = s->account != NULL;
	if (s->filling)
		fill_start(s);
	s->too_big = s->write_error = 0;
	if (host->proto->conn_read_bytes(s->conn, UINT64_MAX) < 0) {
		smtp_transaction_reset(s);
		smtp_reply_error(s, R_QUEUE_ERROR);
		return;
	}
	s->phase = SMTP_PHASE_DATA;
	smtp_reply(s, R_DATA_GO);
}

/* ---- the end: hooks, delivery ------------------------------------------- */

static void deliver_done(void *data, int status)
{
	struct smtp_session *s = data;
	char queue_id[sizeof(s->session_id) + 24];

	if (status == 0) {
		snprintf(queue_id, sizeof(queue_id), "%s-%u", s->session_id,
			 ++s->msg_seq);
		s->srv->host->core->log(s->srv->mod, POSTINO_LOG_INFO, s->session_id,
				  "queued as %s: from=<%s> size=%" PRIu64
				  " nrcpt=%u", queue_id, s->mail.path.address,
				  s->data.size, s->rcpt_count);
		smtp_reply(s, R_QUEUED, queue_id);
	} else if (status == -EDQUOT) {
		/* Every recipient is over quota: nothing was stored. */
		s->srv->host->core->log(s->srv->mod, POSTINO_LOG_INFO, s->session_id,
				  "refused: every recipient's mailbox is full");
		smtp_reply(s, R_ALL_FULL);
	} else {
		s->srv->host->core->log(s->srv->mod, POSTINO_LOG_ERROR, s->session_id,
				  "delivery failed: %s", strerror(-status));
		smtp_reply_error(s, R_QUEUE_ERROR);
	}
	smtp_transaction_reset(s);
	smtp_resume(s);
}

static void data_end_then(struct smtp_session *s, enum postino_verdict verdict,
			  int code, const char *text)
{
	const struct postino_host *host = s->srv->host;

	if (verdict == POSTINO_DEFER || verdict == POSTINO_REJECT) {
		smtp_transaction_reset(s);
		smtp_reply_verdict(s, verdict, code, text);
		smtp_resume(s);
		return;
	}
	/* "" in remote_via: a relay, which the host wants as NULL. */
	const char **via = calloc(s->remote.n + 1, sizeof(*via));
	for (size_t i = 0; via != NULL && i < s->remote_via.n; i++)
		via[i] = s->remote_via.v[i][0] != '\0' ? s->remote_via.v[i]
							: NULL;
	struct postino_delivery d = {
		.size = sizeof(d),
		.mail_from = s->mail.path.address,
		.local = (const char *const *)s->local.v,
		.local_count = s->local.n,
		.remote = (const char *const *)s->remote.v,
		.remote_count = s->remote.n,
		.local_rcpt = (const char *const *)s->local_rcpt.v,
		.remote_via = via,
	};
	postino_msg *msg = s->msg;

	s->msg = NULL; /* msg_deliver consumes it */
	host->proto->conn_pause(s->conn); /* already paused by the hooks */
	int ret = via != NULL ? host->mail->msg_deliver(msg, &d, deliver_done,
							 s)
			      : -ENOMEM;
	if (via == NULL)
		host->mail->msg_discard(&msg);
	free(via);
	if (ret < 0) {
		host->core->log(s->srv->mod, POSTINO_LOG_ERROR, s->session_id,
			  "msg_deliver failed: %s", strerror(-ret));
		smtp_transaction_reset(s);
		smtp_reply_error(s, R_QUEUE_ERROR);
		smtp_resume(s);
	}
}

/* CRLF.CRLF was seen: the verdict on the message as received. */
static void data_finish(struct smtp_session *s)
{
	s->phase = SMTP_PHASE_COMMAND;
	if (s->data.bare || s->data.nul || s->too_big || s->write_error) {
		if (s->data.bare)
			smtp_reply_error(s, R_BARE_LF);
		else if (s->data.nul)
			smtp_reply_error(s, R_NUL_IN_DATA);
		else if (s->too_big)
			smtp_reply_error(s, R_SIZE_EXCEEDED);
		else
			smtp_reply_error(s, R_QUEUE_ERROR);
		smtp_transaction_reset(s);
		return;
	}
	smtp_run_hooks(s, POSTINO_HOOK_SMTP_DATA_END, data_end_then);
}

/* Message bytes into the spool (smtp_header_emit). */
static void spool(void *ctx, const char *buf, size_t len)
{
	struct smtp_session *s = ctx;

	if (s->msg == NULL || len == 0)
		return;
	if (s->srv->host->mail->msg_append(s->msg, buf, len) < 0) {
		s->write_error = 1;
		s->srv->host->mail->msg_discard(&s->msg);
	}
}

void smtp_data_bytes(struct smtp_session *s, const char *bytes, size_t len)
{
	const struct postino_host *host = s->srv->host;
	char out[SMTP_SPOOL_CHUNK + 1];
	size_t off = 0;

	while (off < len && !smtp_data_done(&s->data)) {
		size_t piece = len - off < SMTP_SPOOL_CHUNK ? len - off
							    : SMTP_SPOOL_CHUNK;
		size_t out_len;

		off += smtp_data_feed(&s->data, bytes + off, piece, out,
				      &out_len);
		if (s->msg == NULL)
			continue; /* already refused: read on to the end */
		if (s->data.bare || s->data.nul) {
			/* Refused at the end; nothing more is kept. */
			host->mail->msg_discard(&s->msg);
		} else if (s->data.size > s->srv->max_message_size) {
			/* The limit is on the client's message, as EHLO's
			 * SIZE advertises it: our own Received header must
			 * not turn a message the client sized correctly
			 * into a 552 after MAIL accepted it. */
			s->too_big = 1;
			host->mail->msg_discard(&s->msg);
		} else if (s->filling) {
			smtp_header_fill_feed(&s->fill, out, out_len, spool,
					      s);
		} else {
			spool(s, out, out_len);
		}
	}
	if (!smtp_data_done(&s->data))
		return;
	if (s->msg != NULL && s->filling)
		smtp_header_fill_end(&s->fill, spool, s);
	/* Pipelined commands after the end go back to line input. */
	host->proto->conn_read_lines(s->conn, len - off);
	data_finish(s);
}
