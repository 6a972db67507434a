/* One outbound SMTP connection delivering one message to a group of
 * recipients: connect (next address on failure), 220, EHLO, STARTTLS when
 * offered (or required), AUTH PLAIN inside TLS for a relayhost, MAIL, RCPT
 * (pipelined when offered), DATA, the final dot, QUIT.
 *
 * TLS is GnuTLS over libuv as in core/net/conn_tls.c: ciphertext read from
 * the socket is queued and handed to GnuTLS by the pull function; what
 * GnuTLS pushes is copied into a write request kept until uv_write's
 * callback. After the handshake the peer is checked against the
 * destination's policy (smtp_tls.c): under SMTP_TLS_VERIFY a peer that
 * fails is left before anything is sent through the tunnel, and AUTH goes
 * only to a verified peer. */
#include "smtp_client/smtp_client.h"
#include "smtp_client/smtp_reply.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum smtp_state {
	S_CONNECT,
	S_GREETING,
	S_EHLO,
	S_HELO,
	S_STARTTLS,
	S_HANDSHAKE,
	S_AUTH,
	S_ENVELOPE,
	S_DOT,
	S_DOT_EMPTY,
	S_QUIT,
	S_CLOSING,
};

struct smtp_client {
	struct smtp_client_params p;
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_connect_t connect;
	int handles;   /* open handles; on_done when it drops to 0 */
	int tcp_open;
	int retry;     /* the tcp close callback connects to the next address */
	size_t addr_index;
	enum smtp_state state;
	struct smtp_reply reply;
	char rbuf[16384];

	gnutls_session_t tls;
	int tls_active; /* handshake started: every byte goes through GnuTLS */
	int verified;   /* the peer passed the policy's check */
	char *cbuf;     /* ciphertext not yet pulled by GnuTLS */
	size_t clen, ccap;

	int starttls_ok, pipelining, size_ok, eightbit_ok, auth_plain_ok;
	size_t env_sent;  /* envelope commands sent: 0 MAIL, 1..n RCPT, DATA */
	size_t env_reply; /* envelope replies seen */
	size_t accepted;
	const char *where; /* the current address's host, for logs */
};

struct wreq {
	uv_write_t req;
	struct smtp_client *s;
	char data[];
};

static void session_fail(struct smtp_client *s, int cls, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void send_ehlo(struct smtp_client *s);
static void connect_next(struct smtp_client *s);

static void slog(struct smtp_client *s, enum log_level level, const char *fmt,
		 ...) __attribute__((format(printf, 3, 4)));
static void slog(struct smtp_client *s, enum log_level level, const char *fmt,
		 ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_write(s->p.log, level, "queue", s->p.log_id, "%s", msg);
}

static int reply_class(int code)
{
	if (code >= 200 && code < 300)
		return 2;
	return code >= 500 && code < 600 ? 5 : 4;
}

/* ---- closing ------------------------------------------------------------ */

static void handle_closed(uv_handle_t *h)
{
	struct smtp_client *s = h->data;

	if (h == (uv_handle_t *)&s->tcp) {
		s->tcp_open = 0;
		if (s->retry && s->state != S_CLOSING) {
			s->handles--;
			s->retry = 0;
			connect_next(s);
			return;
		}
	}
	if (--s->handles == 0)
		s->p.on_done(s->p.arg);
}

static void tls_drop(struct smtp_client *s)
{
	if (s->tls != NULL) {
		gnutls_deinit(s->tls);
		s->tls = NULL;
	}
	s->tls_active = 0;
	s->verified = 0;
	s->clen = 0;
}

/* Ends the session: every recipient without a result gets cls/reason. */
static void finish(struct smtp_client *s, int cls, const char *reason)
{
	if (s->state == S_CLOSING)
		return;
	for (size_t i = 0; i < s->p.rcpt_count; i++) {
		struct smtp_client_rcpt *r = &s->p.rcpts[i];
		if (r->result == 0 && cls != 0) {
			r->result = cls;
			snprintf(r->reply, sizeof r->reply, "%s", reason);
		}
	}
	s->state = S_CLOSING;
	uv_timer_stop(&s->timer);
	if (s->tcp_open && !uv_is_closing((uv_handle_t *)&s->tcp))
		uv_close((uv_handle_t *)&s->tcp, handle_closed);
	if (!uv_is_closing((uv_handle_t *)&s->timer))
		uv_close((uv_handle_t *)&s->timer, handle_closed);
}

static void session_fail(struct smtp_client *s, int cls, const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	slog(s, LOG_LEVEL_INFO, "delivery via %s failed: %s",
	     s->where ? s->where : "-", reason);
	finish(s, cls, reason);
}

/* A connection that never got as far as the greeting: the next address
 * may work. Otherwise the attempt is over with a temporary failure. */
static void connection_fail(struct smtp_client *s, const char *what)
{
	if (s->state <= S_GREETING && s->addr_index < s->p.addr_count) {
		slog(s, LOG_LEVEL_INFO, "%s: %s; trying the next address",
		     s->where, what);
		s->retry = 1;
		uv_timer_stop(&s->timer);
		tls_drop(s);
		uv_close((uv_handle_t *)&s->tcp, handle_closed);
		return;
	}
	session_fail(s, 4, "4.4.2 %s: %s", s->where ? s->where : "-", what);
}

static void timer_fired(uv_timer_t *t)
{
	struct smtp_client *s = t->data;

	connection_fail(s, s->state == S_CONNECT ? "connection timed out" :
						   "timeout waiting for a reply");
}

static void arm(struct smtp_client *s, unsigned ms)
{
	uv_timer_start(&s->timer, timer_fired, ms, 0);
}

/* ---- writing ------------------------------------------------------------ */

static void write_done(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct smtp_client *s = w->s;

	free(w);
	if (status < 0 && status != UV_ECANCELED && s->state != S_CLOSING &&
	    !s->retry)
		connection_fail(s, uv_strerror(status));
}

static int raw_write(struct smtp_client *s, const void *data, size_t len)
{
	struct wreq *w = malloc(sizeof *w + len);
	uv_buf_t buf;
	int ret;

	if (w == NULL)
		return -ENOMEM;
	w->s = s;
	memcpy(w->data, data, len);
	buf = uv_buf_init(w->data, (unsigned)len);
	ret = uv_write(&w->req, (uv_stream_t *)&s->tcp, &buf, 1, write_done);
	if (ret < 0)
		free(w);
	return ret;
}

static ssize_t tls_push(gnutls_transport_ptr_t ptr, const void *data,
			size_t len)
{
	struct smtp_client *s = ptr;

	if (raw_write(s, data, len) < 0) {
		gnutls_transport_set_errno(s->tls, EIO);
		return -1;
	}
	return (ssize_t)len;
}

static ssize_t tls_pull(gnutls_transport_ptr_t ptr, void *data, size_t len)
{
	struct smtp_client *s = ptr;

	if (s->clen == 0) {
		gnutls_transport_set_errno(s->tls, EAGAIN);
		return -1;
	}
	if (len > s->clen)
		len = s->clen;
	memcpy(data, s->cbuf, len);
	memmove(s->cbuf, s->cbuf + len, s->clen - len);
	s->clen -= len;
	return (ssize_t)len;
}

/* Sends bytes and arms the reply timeout. Failures end the session. */
static void send_bytes(struct smtp_client *s, const char *data, size_t len)
{
	int ret = 0;

	if (s->tls_active) {
		while (len > 0) {
			ssize_t n = gnutls_record_send(s->tls, data, len);
			if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
				continue;
			if (n < 0) {
				session_fail(s, 4, "4.4.2 TLS send: %s",
					     gnutls_strerror((int)n));
				return;
			}
			data += n;
			len -= (size_t)n;
		}
	} else {
		ret = raw_write(s, data, len);
	}
	if (ret < 0) {
		connection_fail(s, uv_strerror(ret));
		return;
	}
	arm(s, s->p.command_timeout_ms);
}

static void send_line(struct smtp_client *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void send_line(struct smtp_client *s, const char *fmt, ...)
{
	char line[1100];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof line - 2) {
		session_fail(s, 4, "4.3.0 command too long");
		return;
	}
	/* Never the AUTH line: it carries the password. */
	if (s->state != S_AUTH)
		slog(s, LOG_LEVEL_DEBUG, "-> %s", line);
	memcpy(line + n, "\r\n", 2);
	send_bytes(s, line, (size_t)n + 2);
}

static void quit(struct smtp_client *s)
{
	s->state = S_QUIT;
	send_line(s, "QUIT");
}

/* ---- the envelope ------------------------------------------------------- */

static void send_envelope_cmd(struct smtp_client *s, size_t i)
{
	size_t n = s->p.rcpt_count;

	if (i == 0) {
		char extra[64] = "";
		if (s->size_ok)
			snprintf(extra, sizeof extra, " SIZE=%zu",
				 s->p.message_size);
		if (s->eightbit_ok && s->p.eightbit)
			strncat(extra, " BODY=8BITMIME",
				sizeof extra - strlen(extra) - 1);
		send_line(s, "MAIL FROM:<%s>%s", s->p.sender, extra);
	} else if (i <= n) {
		send_line(s, "RCPT TO:<%s>", s->p.rcpts[i - 1].address);
	} else {
		send_line(s, "DATA");
	}
	s->env_sent = i + 1;
}

static void start_envelope(struct smtp_client *s)
{
	size_t total = s->p.rcpt_count + 2;

	s->state = S_ENVELOPE;
	s->env_sent = s->env_reply = s->accepted = 0;
	if (!s->pipelining) {
		send_envelope_cmd(s, 0);
		return;
	}
	/* RFC 2920: MAIL, every RCPT and DATA go in one write. */
	for (size_t i = 0; i < total && s->state == S_ENVELOPE; i++)
		send_envelope_cmd(s, i);
}

static void envelope_reply(struct smtp_client *s, const char *flat)
{
	size_t n = s->p.rcpt_count;
	size_t i = s->env_reply++;
	int cls = reply_class(s->reply.code);

	if (i == 0) {
		if (cls != 2) {
			finish_pending:
			for (size_t k = 0; k < n; k++) {
				struct smtp_client_rcpt *r = &s->p.rcpts[k];
				if (r->result == 0) {
					r->result = cls == 2 ? 4 : cls;
					snprintf(r->reply, sizeof r->reply,
						 "%s", flat);
				}
			}
			quit(s);
			return;
		}
	} else if (i <= n) {
		struct smtp_client_rcpt *r = &s->p.rcpts[i - 1];
		if (cls == 2) {
			r->accepted = 1;
			s->accepted++;
		} else {
			r->result = cls;
			snprintf(r->reply, sizeof r->reply, "%s", flat);
		}
	} else {
		if (s->reply.code != 354) {
			goto finish_pending;
		}
		if (s->accepted == 0) {
			/* Every RCPT failed but DATA went through (pipelined):
			 * end the empty message at once. */
			s->state = S_DOT_EMPTY;
			send_bytes(s, ".\r\n", 3);
			return;
		}
		s->state = S_DOT;
		send_bytes(s, s->p.data, s->p.data_len);
		return;
	}
	if (s->pipelining)
		return;
	/* One command at a time: DATA only when someone was accepted. */
	if (i == n && s->accepted == 0) {
		quit(s);
		return;
	}
	send_envelope_cmd(s, i + 1);
}

/* ---- after EHLO --------------------------------------------------------- */

static void start_tls(struct smtp_client *s);

static void after_hello(struct smtp_client *s)
{
	if (!s->tls_active && s->starttls_ok) {
		s->state = S_STARTTLS;
		send_line(s, "STARTTLS");
		return;
	}
	if (!s->tls_active && s->p.tls->level == SMTP_TLS_VERIFY) {
		session_fail(s, 4, "4.7.10 %s offers no STARTTLS and TLS is "
			     "required", s->where);
		return;
	}
	if (s->p.auth_user != NULL) {
		/* Credentials come with SMTP_TLS_VERIFY (the configuration
		 * check sees to it), which already left an unverified peer;
		 * this keeps the password off any path added later. */
		if (!s->tls_active || !s->verified) {
			session_fail(s, 4, "4.7.10 the connection is not "
				     "verified: AUTH is not sent");
			return;
		}
		if (!s->auth_plain_ok) {
			session_fail(s, 4, "4.7.10 %s offers no AUTH PLAIN",
				     s->where);
			return;
		}
		char plain[1024];
		size_t ul = strlen(s->p.auth_user);
		size_t pl = strlen(s->p.auth_password);
		if (ul + pl + 2 > sizeof plain) {
			session_fail(s, 4, "4.7.0 credentials too long");
			return;
		}
		plain[0] = '\0';
		memcpy(plain + 1, s->p.auth_user, ul);
		plain[ul + 1] = '\0';
		memcpy(plain + ul + 2, s->p.auth_password, pl);
		gnutls_datum_t in = { (unsigned char *)plain,
				      (unsigned)(ul + pl + 2) };
		gnutls_datum_t out = { NULL, 0 };
		int ret = gnutls_base64_encode2(&in, &out);
		gnutls_memset(plain, 0, sizeof plain);
		if (ret < 0) {
			session_fail(s, 4, "4.3.0 base64: %s",
				     gnutls_strerror(ret));
			return;
		}
		s->state = S_AUTH;
		send_line(s, "AUTH PLAIN %.*s", (int)out.size,
			  (const char *)out.data);
		gnutls_memset(out.data, 0, out.size);
		gnutls_free(out.data);
		return;
	}
	start_envelope(s);
}

static void read_caps(struct smtp_client *s)
{
	s->starttls_ok = !s->tls_active && smtp_reply_has(&s->reply,
							   "STARTTLS");
	s->pipelining = smtp_reply_has(&s->reply, "PIPELINING");
	s->size_ok = smtp_reply_has(&s->reply, "SIZE");
	s->eightbit_ok = smtp_reply_has(&s->reply, "8BITMIME");
	s->auth_plain_ok = 0;
	/* "250-AUTH LOGIN PLAIN": PLAIN anywhere on the AUTH line. */
	for (const char *l = strstr(s->reply.text, "\n"); l != NULL;
	     l = strchr(l + 1, '\n')) {
		const char *end = strchr(l + 1, '\n');
		size_t len = end ? (size_t)(end - l - 1) : strlen(l + 1);
		char line[512];
		snprintf(line, sizeof line, "%.*s", (int)len, l + 1);
		if (strlen(line) > 9 && strncasecmp(line + 4, "AUTH", 4) == 0 &&
		    (line[8] == ' ' || line[8] == '=') &&
		    strcasestr(line + 8, "PLAIN") != NULL)
			s->auth_plain_ok = 1;
	}
}

static void handle_reply(struct smtp_client *s)
{
	char flat[512];
	int cls = reply_class(s->reply.code);

	smtp_reply_flat(&s->reply, flat, sizeof flat);
	uv_timer_stop(&s->timer);
	slog(s, LOG_LEVEL_DEBUG, "<- %s", flat);
	switch (s->state) {
	case S_GREETING:
		if (cls != 2) {
			session_fail(s, cls, "%s", flat);
			return;
		}
		send_ehlo(s);
		return;
	case S_EHLO:
		if (cls == 2) {
			read_caps(s);
			after_hello(s);
			return;
		}
		if (s->tls_active || s->p.auth_user != NULL ||
		    s->p.tls->level == SMTP_TLS_VERIFY) {
			session_fail(s, 4, "%s", flat);
			return;
		}
		s->state = S_HELO;
		send_line(s, "HELO %s", s->p.helo);
		return;
	case S_HELO:
		if (cls != 2) {
			session_fail(s, cls, "%s", flat);
			return;
		}
		s->pipelining = s->size_ok = s->eightbit_ok = 0;
		start_envelope(s);
		return;
	case S_STARTTLS:
		if (s->reply.code == 220) {
			start_tls(s);
			return;
		}
		s->starttls_ok = 0;
		after_hello(s);
		return;
	case S_AUTH:
		if (s->reply.code != 235) {
			session_fail(s, 4, "4.7.0 authentication failed: %s",
				     flat);
			return;
		}
		start_envelope(s);
		return;
	case S_ENVELOPE:
		envelope_reply(s, flat);
		return;
	case S_DOT:
		for (size_t i = 0; i < s->p.rcpt_count; i++) {
			struct smtp_client_rcpt *r = &s->p.rcpts[i];
			if (!r->accepted)
				continue;
			r->result = cls;
			snprintf(r->reply, sizeof r->reply, "%s", flat);
		}
		slog(s, LOG_LEVEL_INFO, "%s: %zu recipient(s) %s: %s",
		     s->where, s->accepted,
		     cls == 2 ? "delivered" : "refused", flat);
		s->p.on_dot(s->p.arg);
		quit(s);
		return;
	case S_DOT_EMPTY:
		quit(s);
		return;
	case S_QUIT:
		finish(s, 4, "4.4.2 connection closed");
		return;
	case S_CONNECT:
	case S_HANDSHAKE:
	case S_CLOSING:
		return;
	}
}

/* Hands plaintext to the reply parser, reply after reply. */
static void feed(struct smtp_client *s, const char *data, size_t len)
{
	while (len > 0 && s->state != S_CLOSING && !s->retry) {
		size_t used = 0;
		int ret = smtp_reply_parse(&s->reply, data, len, &used);

		if (ret < 0) {
			connection_fail(s, "malformed reply");
			return;
		}
		if (ret == 0)
			return;
		data += used;
		len -= used;
		handle_reply(s);
		smtp_reply_reset(&s->reply);
		/* Bytes after the 220 to STARTTLS came before the
		 * handshake: they are not to be trusted (CVE-2011-0411
		 * class), so they are dropped. */
		if (s->state == S_HANDSHAKE)
			return;
	}
}

static void send_ehlo(struct smtp_client *s)
{
	s->state = S_EHLO;
	send_line(s, "EHLO %s", s->p.helo);
}

static void handshake(struct smtp_client *s);

static void tls_read(struct smtp_client *s)
{
	char plain[16384];

	while (s->state != S_CLOSING && !s->retry) {
		size_t before = s->clen;
		ssize_t n = gnutls_record_recv(s->tls, plain, sizeof plain);
		if (n > 0) {
			feed(s, plain, (size_t)n);
			continue;
		}
		/* A TLS 1.3 post-handshake message (a session ticket) also
		 * ends in E_AGAIN while records still wait in cbuf: go on as
		 * long as GnuTLS keeps taking bytes. */
		if (n == GNUTLS_E_AGAIN) {
			if (s->clen > 0 && s->clen < before)
				continue;
			return;
		}
		if (n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n == 0) {
			connection_fail(s, "connection closed by the server");
			return;
		}
		if (!gnutls_error_is_fatal((int)n))
			continue;
		connection_fail(s, gnutls_strerror((int)n));
		return;
	}
}

static void handshake(struct smtp_client *s)
{
	int ret;

	do {
		ret = gnutls_handshake(s->tls);
	} while (ret < 0 && ret != GNUTLS_E_AGAIN &&
		 !gnutls_error_is_fatal(ret));
	if (ret == GNUTLS_E_AGAIN)
		return;
	if (ret < 0) {
		session_fail(s, 4, "4.7.5 TLS handshake with %s failed: %s",
			     s->where, gnutls_strerror(ret));
		return;
	}
	char how[512];
	char *desc = gnutls_session_get_desc(s->tls);
	s->verified = smtp_tls_verify(s->tls, s->p.tls, s->where, how,
				       sizeof how);
	slog(s, LOG_LEVEL_INFO, "TLS with %s: %s, %s (%s)", s->where,
	     desc ? desc : "?", s->verified ? "verified" : "not verified",
	     how);
	gnutls_free(desc);
	if (!s->verified && s->p.tls->level == SMTP_TLS_VERIFY) {
		/* Not even EHLO: nothing more goes to an impostor. */
		session_fail(s, 4, "4.7.5 TLS with %s not verified: %s",
			     s->where, how);
		return;
	}
	/* RFC 3207: forget everything learnt before TLS, ask again. */
	s->starttls_ok = s->pipelining = s->size_ok = s->auth_plain_ok = 0;
	send_ehlo(s);
	if (s->clen > 0)
		tls_read(s);
}

static void start_tls(struct smtp_client *s)
{
	const char *host = s->p.tls->name[0] ? s->p.tls->name :
			   s->p.addrs[s->addr_index - 1].host;
	unsigned char tmp[sizeof(struct in6_addr)];
	int ret;

	ret = gnutls_init(&s->tls, GNUTLS_CLIENT | GNUTLS_NONBLOCK);
	if (ret < 0)
		goto fail;
	ret = gnutls_set_default_priority(s->tls);
	if (ret == 0)
		ret = gnutls_credentials_set(s->tls, GNUTLS_CRD_CERTIFICATE,
					     s->p.tls->trust->cred);
	/* SNI carries names only, never address literals (RFC 6066 3). */
	if (ret == 0 && inet_pton(AF_INET, host, tmp) != 1 &&
	    inet_pton(AF_INET6, host, tmp) != 1)
		ret = gnutls_server_name_set(s->tls, GNUTLS_NAME_DNS, host,
					     strlen(host));
	if (ret < 0)
		goto fail;
	gnutls_transport_set_ptr(s->tls, s);
	gnutls_transport_set_push_function(s->tls, tls_push);
	gnutls_transport_set_pull_function(s->tls, tls_pull);
	gnutls_handshake_set_timeout(s->tls, 0);
	s->tls_active = 1;
	s->state = S_HANDSHAKE;
	arm(s, s->p.command_timeout_ms);
	handshake(s);
	return;
fail:
	session_fail(s, 4, "4.7.5 TLS set-up: %s", gnutls_strerror(ret));
}

/* ---- reading and connecting --------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
	struct smtp_client *s = h->data;

	(void)size;
	*buf = uv_buf_init(s->rbuf, sizeof s->rbuf);
}

static void on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
	struct smtp_client *s = stream->data;

	if (s->state == S_CLOSING || s->retry)
		return;
	if (n < 0) {
		if (s->state == S_QUIT)
			finish(s, 4, "4.4.2 connection closed");
		else
			connection_fail(s, n == UV_EOF ?
					   "connection closed by the server" :
					   uv_strerror((int)n));
		return;
	}
	if (n == 0)
		return;
	if (!s->tls_active) {
		feed(s, buf->base, (size_t)n);
		return;
	}
	if (s->clen + (size_t)n > s->ccap) {
		size_t cap = s->ccap ? s->ccap * 2 : 32768;
		while (cap < s->clen + (size_t)n)
			cap *= 2;
		char *p = realloc(s->cbuf, cap);
		if (p == NULL) {
			session_fail(s, 4, "4.3.0 out of memory");
			return;
		}
		s->cbuf = p;
		s->ccap = cap;
	}
	memcpy(s->cbuf + s->clen, buf->base, (size_t)n);
	s->clen += (size_t)n;
	if (s->state == S_HANDSHAKE)
		handshake(s);
	else
		tls_read(s);
}

static void on_connect(uv_connect_t *req, int status)
{
	struct smtp_client *s = req->data;

	if (s->state == S_CLOSING || s->retry)
		return;
	if (status < 0) {
		connection_fail(s, uv_strerror(status));
		return;
	}
	int ret = uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_read);
	if (ret < 0) {
		connection_fail(s, uv_strerror(ret));
		return;
	}
	s->state = S_GREETING;
	arm(s, s->p.command_timeout_ms);
}

static void connect_next(struct smtp_client *s)
{
	const struct smtp_client_addr *a;
	char ip[INET6_ADDRSTRLEN] = "?";
	int ret;

	if (s->addr_index >= s->p.addr_count) {
		s->retry = 0;
		finish(s, 4, "4.4.1 no address could be reached");
		/* finish saw tcp closed; the timer close ends it. */
		return;
	}
	a = &s->p.addrs[s->addr_index++];
	s->where = a->host;
	if (a->sa.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&a->sa)->sin6_addr,
			  ip, sizeof ip);
	else
		inet_ntop(AF_INET, &((const struct sockaddr_in *)&a->sa)->sin_addr,
			  ip, sizeof ip);
	slog(s, LOG_LEVEL_DEBUG, "connecting to %s [%s]", a->host, ip);
	s->state = S_CONNECT;
	smtp_reply_reset(&s->reply);
	uv_tcp_init(s->p.loop, &s->tcp);
	s->tcp.data = s;
	s->tcp_open = 1;
	s->handles++;
	s->connect.data = s;
	ret = uv_tcp_connect(&s->connect, &s->tcp,
			     (const struct sockaddr *)&a->sa, on_connect);
	if (ret < 0) {
		connection_fail(s, uv_strerror(ret));
		return;
	}
	arm(s, s->p.connect_timeout_ms);
}

int smtp_client_start(const struct smtp_client_params *params,
		     struct smtp_client **smtp_r)
{
	struct smtp_client *s;

	if (params->addr_count == 0 || params->rcpt_count == 0 ||
	    params->tls == NULL || params->tls->trust == NULL)
		return -EINVAL;
	s = calloc(1, sizeof *s);
	if (s == NULL)
		return -ENOMEM;
	s->p = *params;
	uv_timer_init(s->p.loop, &s->timer);
	s->timer.data = s;
	s->handles = 1;
	*smtp_r = s;
	connect_next(s);
	return 0;
}

void smtp_client_abort(struct smtp_client *s)
{
	finish(s, 0, "");
}

void smtp_client_free(struct smtp_client **smtp)
{
	struct smtp_client *s = *smtp;

	if (s == NULL)
		return;
	tls_drop(s);
	free(s->cbuf);
	free(s);
	*smtp = NULL;
}
