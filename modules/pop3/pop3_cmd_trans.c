/* The TRANSACTION state (RFC 1939 5): STAT, LIST, UIDL, RETR, TOP, DELE,
 * RSET, and QUIT's UPDATE state (6). Message numbers are 1-based indexes
 * into the view opened at login; DELE only marks, and the marked UIDs are
 * expunged in one durable commit after QUIT. RETR and TOP stream the
 * message from the store in chunks, input paused, honouring the output
 * queue's high-water mark. UIDL = "<uidvalidity>.<uid>": stable forever.
 * Naming a missing or deleted message is an answer, not a client error:
 * it does not spend the error budget (a fetcher may probe many). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "pop3.h"
#include "pop3_reply.h"

/* The message a number names, 0-based; replies and returns -1 when it
 * is malformed, out of range, or deleted. */
static int message_arg(struct pop3_session *s, const char *arg, size_t len,
		       uint32_t *index_r)
{
	uint32_t n;

	if (pop3_parse_msgnum(arg, len, &n) < 0 || n > s->count ||
	    s->deleted[n - 1]) {
		pop3_reply(s, R_NO_SUCH_MESSAGE);
		return -1;
	}
	*index_r = n - 1;
	return 0;
}

static void totals(struct pop3_session *s, uint32_t *count_r,
		   uint64_t *octets_r)
{
	uint32_t n = 0;
	uint64_t octets = 0;

	for (uint32_t i = 0; i < s->count; i++) {
		if (s->deleted[i])
			continue;
		n++;
		octets += s->msgs[i].octets;
	}
	*count_r = n;
	*octets_r = octets;
}

void pop3_run_stat(struct pop3_session *s, const char *arg, size_t len)
{
	uint32_t n;
	uint64_t octets;

	(void)arg;
	(void)len;
	totals(s, &n, &octets);
	pop3_reply(s, R_STAT, n, octets);
}

/* LIST and UIDL: one message, or every undeleted one. */
static void run_listing(struct pop3_session *s, const char *arg, size_t len,
			int uidl)
{
	const char *w[1];
	size_t wl[1];
	uint32_t i;
	int n = pop3_parse_words(arg, len, w, wl, 1);

	if (n < 0) {
		pop3_reply_error(s, R_SYNTAX);
		return;
	}
	if (n == 1) {
		if (message_arg(s, w[0], wl[0], &i) < 0)
			return;
		if (uidl)
			pop3_reply(s, R_UIDL_ONE, i + 1, s->uidvalidity,
				   s->msgs[i].uid);
		else
			pop3_reply(s, R_LIST_ONE, i + 1, s->msgs[i].octets);
		return;
	}
	if (uidl) {
		pop3_reply(s, R_UIDL_ALL);
	} else {
		uint32_t count;
		uint64_t octets;

		totals(s, &count, &octets);
		pop3_reply(s, R_LIST_ALL, count, octets);
	}
	for (i = 0; i < s->count; i++) {
		if (s->deleted[i])
			continue;
		if (uidl)
			pop3_reply(s, R_UIDL_LINE, i + 1, s->uidvalidity,
				   s->msgs[i].uid);
		else
			pop3_reply(s, R_LIST_LINE, i + 1, s->msgs[i].octets);
	}
	pop3_reply(s, R_END);
}

void pop3_run_list(struct pop3_session *s, const char *arg, size_t len)
{
	run_listing(s, arg, len, 0);
}

void pop3_run_uidl(struct pop3_session *s, const char *arg, size_t len)
{
	run_listing(s, arg, len, 1);
}

/* ---- RETR and TOP: streaming ----------------------------------------------- */

static void stream_end(struct pop3_session *s)
{
	char end[POP3_STUFF_END_MAX];
	size_t n = pop3_stuff_finish(&s->stuff, end);

	s->phase = POP3_PHASE_COMMAND;
	if (s->srv->host->proto->conn_write(s->conn, end, n) < 0) {
		s->state = POP3_CLOSED;
		return;
	}
	pop3_resume(s);
}

void pop3_stream_pump(struct pop3_session *s)
{
	const struct postino_host *host = s->srv->host;

	while (s->conn != NULL && s->state == POP3_TRANSACTION &&
	       s->phase == POP3_PHASE_STREAM) {
		int64_t got = host->mailbox->mailbox_read(s->mailbox, s->stream_index,
						 s->stream_offset, s->inbuf,
						 POP3_CHUNK);
		size_t used, out;
		int ret;

		if (got < 0) {
			/* Mid-response: nothing can be said; the client
			 * must not take a partial message for a whole. */
			host->core->log(s->srv->mod, POSTINO_LOG_ERROR,
				  s->session_id,
				  "reading message uid %" PRIu32 ": %s",
				  s->msgs[s->stream_index].uid,
				  strerror((int)-got));
			pop3_close(s, "message read failed");
			return;
		}
		if (got == 0) {
			stream_end(s);
			return;
		}
		if ((uint64_t)got > POP3_CHUNK)
			got = POP3_CHUNK;
		out = pop3_stuff_feed(&s->stuff, s->inbuf, (size_t)got,
				      s->outbuf, &used);
		s->stream_offset += (uint64_t)got;
		ret = out > 0 ? host->proto->conn_write(s->conn, s->outbuf, out) : 0;
		if (ret < 0) {
			s->state = POP3_CLOSED;
			return;
		}
		if (s->stuff.done) {
			stream_end(s);
			return;
		}
		if (ret == 1)
			return; /* on_writable continues */
	}
}

/* The buffers of streaming, kept for the session; -1 after replying. */
static int stream_buffers(struct pop3_session *s)
{
	if (s->inbuf == NULL)
		s->inbuf = malloc(POP3_CHUNK);
	if (s->outbuf == NULL)
		s->outbuf = malloc(POP3_STUFF_OUT_MAX(POP3_CHUNK));
	if (s->inbuf == NULL || s->outbuf == NULL) {
		pop3_reply_error(s, R_READ_FAILED);
		return -1;
	}
	return 0;
}

static void stream_start(struct pop3_session *s, uint32_t index)
{
	s->stream_index = index;
	s->stream_offset = 0;
	s->phase = POP3_PHASE_STREAM;
	s->srv->host->proto->conn_pause(s->conn);
	pop3_stream_pump(s);
}

void pop3_run_retr(struct pop3_session *s, const char *arg, size_t len)
{
	uint32_t i;

	if (memchr(arg, ' ', len) != NULL) {
		pop3_reply_error(s, R_SYNTAX);
		return;
	}
	if (message_arg(s, arg, len, &i) < 0 || stream_buffers(s) < 0)
		return;
	pop3_reply(s, R_RETR, s->msgs[i].octets);
	pop3_stuff_init(&s->stuff);
	stream_start(s, i);
}

void pop3_run_top(struct pop3_session *s, const char *arg, size_t len)
{
	const char *w[2];
	size_t wl[2];
	uint32_t i;
	uint64_t lines;

	if (pop3_parse_words(arg, len, w, wl, 2) != 2) {
		pop3_reply_error(s, R_SYNTAX);
		return;
	}
	if (message_arg(s, w[0], wl[0], &i) < 0)
		return;
	if (pop3_parse_linecount(w[1], wl[1], &lines) < 0) {
		pop3_reply(s, R_BAD_LINECOUNT);
		return;
	}
	if (stream_buffers(s) < 0)
		return;
	pop3_reply(s, R_TOP);
	pop3_stuff_init_top(&s->stuff, lines);
	stream_start(s, i);
}

/* ---- DELE, RSET ------------------------------------------------------------------- */

void pop3_run_dele(struct pop3_session *s, const char *arg, size_t len)
{
	uint32_t n;

	if (pop3_parse_msgnum(arg, len, &n) < 0 || n > s->count) {
		pop3_reply(s, R_NO_SUCH_MESSAGE);
		return;
	}
	if (s->deleted[n - 1]) {
		pop3_reply(s, R_ALREADY_DELETED, n);
		return;
	}
	s->deleted[n - 1] = 1;
	pop3_reply(s, R_DELETED, n);
}

void pop3_run_rset(struct pop3_session *s, const char *arg, size_t len)
{
	(void)arg;
	(void)len;
	memset(s->deleted, 0, s->count);
	pop3_reply(s, R_RSET);
}

/* ---- UPDATE ------------------------------------------------------------------------ */

static void expunge_done(void *data, int status)
{
	struct pop3_session *s = data;

	s->expunging = 0;
	if (status < 0)
		s->srv->host->core->log(s->srv->mod, POSTINO_LOG_ERROR,
				  s->session_id, "expunge failed: %s",
				  strerror(-status));
	if (pop3_session_release(s))
		return; /* the connection went meanwhile */
	if (status < 0)
		pop3_reply(s, R_SIGNOFF_FAILED);
	else
		pop3_reply(s, R_SIGNOFF, s->expunge_count);
	pop3_close(s, "quit");
}

void pop3_update(struct pop3_session *s)
{
	size_t n = 0;

	for (uint32_t i = 0; i < s->count; i++)
		n += s->deleted[i] != 0;
	if (n == 0) {
		pop3_reply(s, R_SIGNOFF, n);
		pop3_close(s, "quit");
		return;
	}
	s->expunge_uids = calloc(n, sizeof(*s->expunge_uids));
	if (s->expunge_uids == NULL) {
		pop3_reply(s, R_SIGNOFF_FAILED);
		pop3_close(s, "out of memory");
		return;
	}
	for (uint32_t i = 0; i < s->count; i++)
		if (s->deleted[i])
			s->expunge_uids[s->expunge_count++] = s->msgs[i].uid;
	s->state = POP3_UPDATE;
	s->expunging = 1;
	s->srv->host->proto->conn_pause(s->conn);
	int ret = s->srv->host->mailbox->mailbox_expunge(s->mailbox, s->expunge_uids,
						s->expunge_count,
						expunge_done, s);
	if (ret < 0) {
		s->expunging = 0;
		s->srv->host->core->log(s->srv->mod, POSTINO_LOG_ERROR,
				  s->session_id, "expunge failed: %s",
				  strerror(-ret));
		pop3_reply(s, R_SIGNOFF_FAILED);
		pop3_close(s, "quit");
	}
}
