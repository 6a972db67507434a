/* Connections: reading into lines or byte runs for the protocol module,
 * queuing its replies, and closing.
 *
 * Input is handed to the module as it arrives, in order. While the module
 * is paused (an asynchronous step runs) or STARTTLS is pending, reading
 * stops and what already arrived waits in `held`, so memory is bounded by
 * one read. Replies queued while the module is handling input go out in one
 * write when it is done (pipelined commands, few syscalls). Output above
 * NET_OUTPUT_HIGH stops reading from that client until it has read down to
 * NET_OUTPUT_LOW. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/net_internal.h"

#define CONN_DEFAULT_MAX_LINE 8192
#define CONN_DEFAULT_IDLE_S 300
#define CONN_DEFAULT_COMMAND_S 60
/* Before login (and so before STARTTLS, where login needs TLS) a client
 * has no business being idle long: mail programs log in at once. A
 * session that never logs in (MX) lives under this for its whole life. */
#define CONN_DEFAULT_PREAUTH_S 60
#define CONN_CHUNK_MIN 4096

static void conn_deadline_track(struct postino_conn *conn);
static void conn_idle_changed(struct postino_conn *conn);

void conn_log(const struct postino_conn *conn, enum log_level level,
	      const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	log_writev(&conn->net->ctx->log, level, "net", conn->session_id, fmt,
		   args);
	va_end(args);
}

/* ---- closing ------------------------------------------------------------- */

/* Both handles are closed; the connection is freed once the last one's
 * close callback ran (libuv gives no order between them). */
static void conn_handle_closed(uv_handle_t *handle)
{
	struct postino_conn *conn = handle->data;

	if (--conn->handles_open > 0)
		return;
	struct net *net = conn->net;
	struct listener *listener = conn->listener;

	if (conn->announced)
		conn->proto->proto.on_close(conn, conn->close_reason,
					    conn->proto->data);
	conn_log(conn, LOG_LEVEL_INFO, "disconnect reason=\"%s\" in=%" PRIu64
		 " out=%" PRIu64, conn->close_reason, conn->bytes_in,
		 conn->bytes_out);
	if (conn->prev != NULL)
		conn->prev->next = conn->next;
	else
		net->conns = conn->next;
	if (conn->next != NULL)
		conn->next->prev = conn->prev;
	net->conn_count--;
	__atomic_sub_fetch(&net->shared->load[net->ctx->worker], 1,
			   __ATOMIC_RELAXED);
	if (conn->admitted)
		net_release(net, listener, conn->ip_key);
	conn_tls_free(conn);
	linebuf_free(&conn->lines);
	free(conn->held);
	free(conn->out);
	free(conn->tls_sni);
	free(conn->account);
	conn->tls_sni = conn->account = NULL;
	conn->info.tls_sni = conn->info.account = NULL;
	conn_set_host_data(conn, NULL, NULL);
	module_set_unref(&conn->set);
	conn->gone = 1;
	if (conn->refs == 0)
		free(conn);
}

void conn_set_host_data(postino_conn *conn, void *data,
			void (*free_fn)(void *data))
{
	if (conn->host_data != NULL && conn->host_data_free != NULL)
		conn->host_data_free(conn->host_data);
	conn->host_data = data;
	conn->host_data_free = free_fn;
}

void *conn_host_data(postino_conn *conn)
{
	return conn->host_data;
}

void conn_ref(postino_conn *conn)
{
	conn->refs++;
}

int conn_unref(postino_conn *conn)
{
	int alive = !conn->closing && !conn->closed;

	if (--conn->refs == 0 && conn->gone) {
		free(conn);
		return 0;
	}
	return alive;
}

static void conn_finish_close(struct postino_conn *conn)
{
	if (conn->closed)
		return;
	conn->closed = 1;
	conn->closing = 1;
	conn->reading = 0;
	uv_timer_stop(&conn->timer);
	uv_close((uv_handle_t *)&conn->timer, conn_handle_closed);
	uv_close((uv_handle_t *)&conn->tcp, conn_handle_closed);
}

void conn_abort(struct postino_conn *conn, const char *reason)
{
	if (conn->closed)
		return;
	if (!conn->closing || conn->close_reason == NULL)
		conn->close_reason = reason;
	conn_finish_close(conn);
}

static void conn_close_timeout(uv_timer_t *timer)
{
	struct postino_conn *conn = timer->data;

	conn_abort(conn, conn->close_reason);
}

void conn_close(postino_conn *conn, const char *reason)
{
	if (conn->closing || conn->closed)
		return;
	conn->closing = 1;
	conn->close_reason = reason != NULL ? reason : "closed";
	conn_update_reading(conn);
	if (conn->tls_state == CONN_TLS_ON)
		conn_tls_bye(conn);
	if (conn_flush(conn) < 0)
		return;
	if (conn->writing == 0) {
		conn_finish_close(conn);
		return;
	}
	/* A client that never reads must not keep us waiting forever. */
	uv_timer_start(&conn->timer, conn_close_timeout, NET_CLOSE_TIMEOUT_MS, 0);
}

/* ---- output -------------------------------------------------------------- */

int conn_stage(struct postino_conn *conn, const void *buf, size_t len)
{
	struct conn_chunk *out = conn->out;
	size_t need = (out != NULL ? out->len : 0) + len;

	if (out == NULL || need > out->cap) {
		size_t cap = out != NULL ? out->cap * 2 : CONN_CHUNK_MIN;
		while (cap < need)
			cap *= 2;
		struct conn_chunk *grown = realloc(out, sizeof(*grown) + cap);
		if (grown == NULL)
			return -ENOMEM;
		if (out == NULL)
			grown->len = 0;
		grown->cap = cap;
		conn->out = out = grown;
	}
	memcpy(out->data + out->len, buf, len);
	out->len += len;
	return 0;
}

static void conn_write_done(uv_write_t *req, int status)
{
	struct conn_chunk *chunk = req->data;
	struct postino_conn *conn = chunk->conn;

	conn->writing -= chunk->len;
	free(chunk);
	if (conn->closed)
		return;
	if (status < 0) {
		conn_abort(conn, "write error");
		return;
	}
	if (conn->closing) {
		if (conn->writing == 0 && conn->out == NULL)
			conn_finish_close(conn);
		return;
	}
	if (conn->throttled && conn->writing <= NET_OUTPUT_LOW) {
		conn->throttled = 0;
		conn_update_reading(conn);
		if (conn->want_writable && conn->proto->proto.on_writable != NULL) {
			conn->want_writable = 0;
			conn->batching++;
			conn->proto->proto.on_writable(conn, conn->proto->data);
			conn->batching--;
			conn_flush(conn);
		}
	}
}

int conn_flush(struct postino_conn *conn)
{
	if (conn->closed)
		return -EPIPE;
	if (conn->tls_state == CONN_TLS_ON && conn_tls_seal(conn) < 0) {
		conn_abort(conn, "TLS write error");
		return -EIO;
	}
	struct conn_chunk *chunk = conn->out;
	if (chunk == NULL || chunk->len == 0)
		return 0;
	conn->out = NULL;
	chunk->conn = conn;
	chunk->req.data = chunk;
	conn->writing += chunk->len;
	conn->bytes_out += chunk->len;
	uv_buf_t buf = uv_buf_init(chunk->data, (unsigned)chunk->len);
	int ret = uv_write(&chunk->req, (uv_stream_t *)&conn->tcp, &buf, 1,
			   conn_write_done);
	if (ret < 0) {
		conn->writing -= chunk->len;
		free(chunk);
		conn_abort(conn, "write error");
		return ret;
	}
	if (conn->writing > NET_OUTPUT_HIGH && !conn->throttled) {
		conn->throttled = 1;
		conn_update_reading(conn);
	}
	return 0;
}

int conn_write(postino_conn *conn, const void *buf, size_t len)
{
	int ret;

	if (conn->closing || conn->closed)
		return -EPIPE;
	if (conn->tls_state == CONN_TLS_HANDSHAKE)
		return -EAGAIN;
	if (conn->tls_state == CONN_TLS_ON)
		ret = conn_tls_send(conn, buf, len);
	else
		ret = conn_stage(conn, buf, len);
	if (ret < 0) {
		conn_abort(conn, ret == -ENOMEM ? "out of memory"
						: "TLS write error");
		return -EPIPE;
	}
	if (conn->batching == 0 && conn_flush(conn) < 0)
		return -EPIPE;
	size_t queued = conn->writing + (conn->out != NULL ? conn->out->len : 0);
	if (queued > NET_OUTPUT_HIGH) {
		conn->want_writable = 1;
		return 1;
	}
	return 0;
}

int conn_printf(postino_conn *conn, const char *fmt, ...)
{
	char small[512];
	va_list args;

	va_start(args, fmt);
	int len = vsnprintf(small, sizeof(small), fmt, args);
	va_end(args);
	if (len < 0)
		return -EINVAL;
	if ((size_t)len < sizeof(small))
		return conn_write(conn, small, (size_t)len);
	char *big = malloc((size_t)len + 1);
	if (big == NULL)
		return -ENOMEM;
	va_start(args, fmt);
	vsnprintf(big, (size_t)len + 1, fmt, args);
	va_end(args);
	int ret = conn_write(conn, big, (size_t)len);
	free(big);
	return ret;
}

/* ---- input --------------------------------------------------------------- */

static void conn_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	struct postino_conn *conn = handle->data;

	/* Shared by every connection: a read is consumed whole before the
	 * next one starts, and anything kept is copied. */
	buf->base = conn->net->read_buf;
	buf->len = NET_READ_SIZE;
}

static void conn_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct postino_conn *conn = stream->data;

	if (nread == 0)
		return;
	if (nread < 0) {
		conn_abort(conn, nread == UV_EOF ? "client closed"
						 : uv_strerror((int)nread));
		return;
	}
	conn->bytes_in += (uint64_t)nread;
	conn->last_input = uv_now(stream->loop);
	if (conn->tls_state != CONN_TLS_NONE) {
		tls_frame_feed(&conn->frame, buf->base, (size_t)nread);
		conn_tls_read(conn, buf->base, (size_t)nread);
	} else {
		conn_input(conn, buf->base, (size_t)nread);
	}
	conn_deadline_track(conn);
}

void conn_update_reading(struct postino_conn *conn)
{
	int want = !conn->closed && !conn->closing && !conn->paused &&
		   conn->held == NULL && !conn->throttled;

	if (want && !conn->reading) {
		if (uv_read_start((uv_stream_t *)&conn->tcp, conn_alloc,
				  conn_read) == 0)
			conn->reading = 1;
	} else if (!want && conn->reading) {
		uv_read_stop((uv_stream_t *)&conn->tcp);
		conn->reading = 0;
	}
}

static int conn_hold(struct postino_conn *conn, const char *data, size_t len)
{
	size_t kept = conn->held != NULL ? conn->held_len - conn->held_off : 0;
	char *held = malloc(kept + len);

	if (held == NULL) {
		conn_abort(conn, "out of memory");
		return -ENOMEM;
	}
	if (kept > 0)
		memcpy(held, conn->held + conn->held_off, kept);
	memcpy(held + kept, data, len);
	free(conn->held);
	conn->held = held;
	conn->held_len = kept + len;
	conn->held_off = 0;
	return 0;
}

/* The STARTTLS go-ahead is out; everything the client sent after the
 * command line is dropped unread (CVE-2011-0411 class), then TLS starts. */
static void conn_begin_starttls(struct postino_conn *conn, size_t unread)
{
	size_t dropped = unread + linebuf_reset(&conn->lines);

	if (conn->held != NULL)
		dropped += conn->held_len - conn->held_off;
	free(conn->held);
	conn->held = NULL;
	conn->held_len = conn->held_off = 0;
	conn->bytes_left = 0;
	conn->starttls_wanted = 0;
	conn->line_pending = 0;
	if (dropped > 0)
		conn_log(conn, LOG_LEVEL_WARNING,
			 "discarded %zu bytes sent after STARTTLS", dropped);
	if (conn_tls_start(conn) < 0) {
		if (conn->proto->proto.on_starttls != NULL)
			conn->proto->proto.on_starttls(conn, 0,
						       conn->proto->data);
		conn_abort(conn, "TLS unavailable");
	}
}

/* Hands data to the module until it is all consumed or the module pauses,
 * closes or starts TLS. */
static void conn_dispatch(struct postino_conn *conn, const char *data,
			  size_t len)
{
	const struct postino_protocol *proto = &conn->proto->proto;
	void *pdata = conn->proto->data;

	conn->batching++;
	conn->in_input_loop = 1;
	while (len > 0 && !conn->paused && !conn->closing &&
	       !conn->starttls_wanted) {
		if (conn->bytes_left > 0) {
			size_t n = len < conn->bytes_left ? len
							  : (size_t)conn->bytes_left;
			conn->bytes_left -= n;
			conn->bytes_unused = 0;
			if (proto->on_bytes != NULL)
				proto->on_bytes(conn, data, n,
						conn->bytes_left == 0, pdata);
			/* conn_read_lines() gave the tail of the chunk back. */
			size_t used = conn->bytes_unused <= n
					      ? n - conn->bytes_unused : 0;
			data += used;
			len -= used;
			continue;
		}
		const char *line;
		size_t line_len;
		int too_long;
		size_t used = linebuf_feed(&conn->lines, data, len, &line,
					   &line_len, &too_long);
		data += used;
		len -= used;
		if (line != NULL) {
			/* Whatever follows is a new line, with its own
			 * deadline (conn_deadline_track). */
			conn->line_pending = 0;
			/* plugin.h promises line[len] == '\0'. A line found in
			 * place ends at its CR or LF, a byte of our own
			 * (writable) buffers that this call consumed. */
			((char *)line)[line_len] = '\0';
			proto->on_line(conn, line, line_len, too_long, pdata);
		}
	}
	conn->in_input_loop = 0;
	conn->batching--;
	/* An idle connection keeps no line buffer. */
	if (conn->lines.len == 0 && conn->lines.buf != NULL)
		linebuf_reset(&conn->lines);
	if (conn->starttls_wanted) {
		if (conn_flush(conn) == 0)
			conn_begin_starttls(conn, len);
		return;
	}
	if (len > 0 && conn->paused && !conn->closing)
		conn_hold(conn, data, len);
	conn_flush(conn);
	conn_update_reading(conn);
}

void conn_input(struct postino_conn *conn, const char *data, size_t len)
{
	if (conn->closing || conn->closed)
		return;
	if (conn->paused || conn->held != NULL) {
		if (conn_hold(conn, data, len) == 0)
			conn_update_reading(conn);
		return;
	}
	conn_dispatch(conn, data, len);
}

void conn_pause(postino_conn *conn)
{
	conn->paused = 1;
	conn_update_reading(conn);
}

void conn_resume(postino_conn *conn)
{
	if (!conn->paused || conn->closed)
		return;
	conn->paused = 0;
	/* Resumed from inside on_line: the input loop simply goes on. */
	if (conn->in_input_loop)
		return;
	while (conn->held != NULL && !conn->paused && !conn->closing &&
	       !conn->closed) {
		char *held = conn->held;
		size_t off = conn->held_off, len = conn->held_len;
		conn->held = NULL;
		conn->held_len = conn->held_off = 0;
		conn_dispatch(conn, held + off, len - off);
		free(held);
	}
	conn_flush(conn);
	conn_update_reading(conn);
	conn_deadline_track(conn);
}

int conn_read_bytes(postino_conn *conn, uint64_t n)
{
	if (n == 0 || conn->proto->proto.on_bytes == NULL)
		return -EINVAL;
	conn->bytes_left = n;
	return 0;
}

void conn_read_lines(postino_conn *conn, size_t unused)
{
	conn->bytes_left = 0;
	conn->bytes_unused = unused;
}

int conn_starttls(postino_conn *conn)
{
	if (conn->tls_state != CONN_TLS_NONE || conn->starttls_wanted)
		return -EALREADY;
	if (conn->net->shared->creds == NULL) /* set once at start */
		return -ENOTSUP;
	conn->starttls_wanted = 1;
	/* Called outside input handling: nothing can follow the command. */
	if (!conn->in_input_loop && conn_flush(conn) == 0)
		conn_begin_starttls(conn, 0);
	return 0;
}

/* ---- small accessors ----------------------------------------------------- */

void conn_set_data(postino_conn *conn, void *data)
{
	conn->data = data;
}

void *conn_get_data(postino_conn *conn)
{
	return conn->data;
}

const struct postino_conn_info *conn_info(postino_conn *conn)
{
	return &conn->info;
}

void conn_set_account(postino_conn *conn, const char *account)
{
	char *copy = account != NULL ? strdup(account) : NULL;

	if (account != NULL && copy == NULL)
		return;
	free(conn->account);
	conn->account = copy;
	conn->info.account = copy;
	if (copy != NULL)
		conn_log(conn, LOG_LEVEL_INFO, "authenticated account=%s", copy);
	conn_idle_changed(conn);
}

struct module_set *conn_module_set(postino_conn *conn)
{
	return conn->set;
}

struct core_ctx *conn_ctx(postino_conn *conn)
{
	return conn->net->ctx;
}

const char *conn_protocol(postino_conn *conn)
{
	return conn->listener->protocol;
}

/* ---- timers -------------------------------------------------------------- */

/* The command deadline. Every byte read resets the idle timeout, so a
 * client sending one byte a second would hold its connection (and, by the
 * thousand, the server's descriptors) forever. Once the first byte of a
 * command line has arrived, the whole line, up to its LF, must arrive
 * within command_ms, or the connection is closed.
 *
 * It runs only in line mode. Raw-bytes mode (conn_read_bytes: an SMTP DATA
 * body or BDAT chunk, an IMAP literal) is a transfer of known or open-ended
 * size that may legitimately take long; it streams steadily or trips the
 * idle timeout. Lines inside it (SMTP DATA is read raw) are not commands.
 * AUTH continuation lines are lines, and are held to it like commands.
 *
 * In TLS the line is pending from the first byte of the record that
 * carries it: GnuTLS keeps an incomplete record to itself, so tls_frame
 * follows the record framing to see a record trickled a byte at a time.
 * The handshake has its own timeout ([tls] handshake_timeout).
 *
 * The line comes from the client, so the clock only counts while we read:
 * while the module is paused (an asynchronous step), pipelined input is
 * held, or output back-pressure stops reading, the line's start moves on
 * (conn_timeouts_check). The idle timeout still bounds such a client. */
static int conn_line_partial(const struct postino_conn *conn)
{
	if (conn->bytes_left > 0)
		return 0;
	return conn->lines.len > 0 || conn->lines.overflow ||
	       (conn->tls_state == CONN_TLS_ON &&
		tls_frame_partial(&conn->frame));
}

/* Sends the protocol's reply for this timeout, when it has one and the
 * client can read it, and closes. */
static void conn_timeout_close(struct postino_conn *conn, const char *reason,
			       const char *reply)
{
	if (reply != NULL && conn->announced) {
		conn_write(conn, reply, strlen(reply));
		conn_write(conn, "\r\n", 2);
	}
	conn_close(conn, reason);
}

/* The idle timeout in force: the shorter preauth_timeout until the
 * session has logged in (conn_set_account), the listener's or protocol's
 * idle timeout after. */
static unsigned conn_idle_ms(const struct postino_conn *conn)
{
	return conn->account != NULL ? conn->timeout_ms : conn->preauth_ms;
}

/* One timer serves the idle timeout and the command deadline. Checked
 * lazily: a read only stamps the time, the timer re-arms itself for what
 * is left of the nearer of the two, so busy connections cost no timer
 * updates (a line that starts pending may bring it forward). */
static void conn_timeouts_check(uv_timer_t *timer)
{
	struct postino_conn *conn = timer->data;
	uint64_t now = uv_now(timer->loop);
	uint64_t idle = now - conn->last_input;

	if (conn->line_pending && !conn_line_partial(conn))
		conn->line_pending = 0;
	if (conn->line_pending && !conn->reading)
		conn->line_since = now;
	if (conn->line_pending && now - conn->line_since >= conn->command_ms) {
		conn_log(conn, LOG_LEVEL_WARNING, "command timeout client=%s:%d "
			 "listener=%s: no complete line within %u s",
			 conn->client_ip, conn->info.client_port,
			 conn->listener->name, conn->command_ms / 1000);
		const struct postino_protocol *proto = &conn->proto->proto;
		conn_timeout_close(conn, "command timeout",
				   proto->command_timeout_reply != NULL
					   ? proto->command_timeout_reply
					   : proto->timeout_reply);
		return;
	}
	unsigned idle_ms = conn_idle_ms(conn);
	if (idle >= idle_ms) {
		int preauth = idle_ms < conn->timeout_ms;
		conn_log(conn, LOG_LEVEL_INFO, "idle timeout after %u s%s",
			 idle_ms / 1000, preauth ? " before login "
			 "(preauth_timeout)" : "");
		conn_timeout_close(conn, preauth ? "idle timeout before login"
						 : "idle timeout",
				   conn->proto->proto.timeout_reply);
		return;
	}
	uint64_t next = idle_ms - idle;
	if (conn->line_pending && conn->line_since + conn->command_ms - now < next)
		next = conn->line_since + conn->command_ms - now;
	uv_timer_start(timer, conn_timeouts_check, next, 0);
}

/* After input was handled: starts the command deadline when a line is now
 * pending, ends it when none is. */
static void conn_deadline_track(struct postino_conn *conn)
{
	/* The timer serves the handshake or the close meanwhile. */
	if (conn->closing || conn->closed ||
	    conn->tls_state == CONN_TLS_HANDSHAKE || !conn->announced)
		return;
	if (!conn_line_partial(conn)) {
		conn->line_pending = 0;
		return;
	}
	if (conn->line_pending)
		return;
	conn->line_pending = 1;
	conn->line_since = uv_now(conn->tcp.loop);
	if (!uv_is_active((uv_handle_t *)&conn->timer) ||
	    uv_timer_get_due_in(&conn->timer) > conn->command_ms)
		uv_timer_start(&conn->timer, conn_timeouts_check,
			       conn->command_ms, 0);
}

void conn_idle_start(struct postino_conn *conn)
{
	conn->last_input = uv_now(conn->tcp.loop);
	uv_timer_start(&conn->timer, conn_timeouts_check, conn_idle_ms(conn),
		       0);
}

/* The session logged in or out. A longer timeout needs nothing: the timer
 * re-arms itself for what is left when it fires. A shorter one (logged
 * out) may be due before the timer is. */
static void conn_idle_changed(struct postino_conn *conn)
{
	if (conn->closing || conn->closed || !conn->announced ||
	    conn->tls_state == CONN_TLS_HANDSHAKE ||
	    !uv_is_active((uv_handle_t *)&conn->timer))
		return;
	uint64_t idle = uv_now(conn->tcp.loop) - conn->last_input;
	uint64_t left = idle < conn_idle_ms(conn) ? conn_idle_ms(conn) - idle
						  : 0;
	if (uv_timer_get_due_in(&conn->timer) > left)
		uv_timer_start(&conn->timer, conn_timeouts_check, left, 0);
}

void conn_announce(struct postino_conn *conn)
{
	conn->announced = 1;
	conn_idle_start(conn);
	if (conn->proto->proto.on_connect != NULL) {
		conn->batching++;
		conn->proto->proto.on_connect(conn, conn->proto->data);
		conn->batching--;
	}
	conn_flush(conn);
	conn_update_reading(conn);
}

/* ---- accepting ----------------------------------------------------------- */

static void conn_addresses(struct postino_conn *conn)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	if (uv_tcp_getpeername(&conn->tcp, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
			uv_ip6_name(sin6, conn->client_ip, sizeof(conn->client_ip));
			conn->info.client_port = ntohs(sin6->sin6_port);
		} else {
			struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
			uv_ip4_name(sin, conn->client_ip, sizeof(conn->client_ip));
			conn->info.client_port = ntohs(sin->sin_port);
		}
	}
	len = sizeof(ss);
	if (uv_tcp_getsockname(&conn->tcp, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
			uv_ip6_name(sin6, conn->local_ip, sizeof(conn->local_ip));
			conn->info.local_port = ntohs(sin6->sin6_port);
		} else {
			struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
			uv_ip4_name(sin, conn->local_ip, sizeof(conn->local_ip));
			conn->info.local_port = ntohs(sin->sin_port);
		}
	}
}

/* Refused by a limit: say so when the protocol can still be spoken in
 * clear, then close. why is the close reason, detail names the limit. */
static void conn_refuse(struct postino_conn *conn, const char *why,
			const char *detail)
{
	const char *reply = conn->proto != NULL ? conn->proto->proto.overload_reply
						: NULL;

	conn_log(conn, LOG_LEVEL_WARNING, "refused client=%s listener=%s: %s",
		 conn->client_ip, conn->listener->name, detail);
	if (reply != NULL && conn->listener->tls != LISTENER_TLS_IMPLICIT) {
		conn_stage(conn, reply, strlen(reply));
		conn_stage(conn, "\r\n", 2);
	}
	conn_close(conn, why);
}

/* A new connection of listener's worker, linked in; NULL (logged) when
 * out of memory. */
static struct postino_conn *conn_new(struct listener *listener)
{
	struct net *net = listener->net;
	struct postino_conn *conn = calloc(1, sizeof(*conn));

	if (conn == NULL) {
		core_log(net->ctx, LOG_LEVEL_ERROR, "out of memory accepting "
			 "on listener %s", listener->name);
		return NULL;
	}
	uv_tcp_init(net->ctx->loop, &conn->tcp);
	uv_timer_init(net->ctx->loop, &conn->timer);
	conn->tcp.data = conn->timer.data = conn;
	conn->handles_open = 2;
	conn->net = net;
	conn->listener = listener;
	conn->close_reason = "closed";
	snprintf(conn->session_id, sizeof(conn->session_id), "%010" PRIx64,
		 __atomic_add_fetch(&net->shared->session_seq, 1,
				    __ATOMIC_RELAXED));
	conn->prev = NULL;
	conn->next = net->conns;
	if (net->conns != NULL)
		net->conns->prev = conn;
	net->conns = conn;
	net->conn_count++;
	return conn;
}

/* The connection is accepted: limits, then TLS or the greeting. */
static void conn_start(struct postino_conn *conn)
{
	struct listener *listener = conn->listener;
	struct net *net = listener->net;

	conn_addresses(conn);
	iptable_key(conn->client_ip, conn->ip_key);
	conn->info = (struct postino_conn_info){
		.size = sizeof(conn->info),
		.session_id = conn->session_id,
		.listener = listener->name,
		.role = listener->role,
		.client_ip = conn->client_ip,
		.client_port = conn->info.client_port,
		.local_ip = conn->local_ip,
		.local_port = conn->info.local_port,
	};
	conn_log(conn, LOG_LEVEL_INFO, "connect listener=%s client=%s:%d",
		 listener->name, conn->client_ip, conn->info.client_port);

	conn->proto = module_set_protocol(net->ctx->modules, listener->protocol);
	if (net->stopping) {
		conn_abort(conn, "server shutting down");
		return;
	}
	if (conn->proto == NULL) {
		conn_log(conn, LOG_LEVEL_ERROR, "listener %s: no loaded module "
			 "serves protocol %s", listener->name,
			 listener->protocol);
		conn_abort(conn, "protocol not served");
		return;
	}
	conn->set = net->ctx->modules;
	module_set_ref(conn->set);
	char detail[256];
	const char *refused = net_admit(net, listener, conn->ip_key, detail,
					sizeof(detail));
	if (refused != NULL) {
		conn_refuse(conn, refused, detail);
		return;
	}
	conn->admitted = 1;

	const struct postino_protocol *proto = &conn->proto->proto;
	linebuf_init(&conn->lines, proto->max_line > 0 ? proto->max_line
						       : CONN_DEFAULT_MAX_LINE);
	unsigned idle_s = listener->idle_timeout_s > 0 ? listener->idle_timeout_s
			  : proto->idle_timeout_s > 0 ? proto->idle_timeout_s
						      : CONN_DEFAULT_IDLE_S;
	conn->timeout_ms = idle_s * 1000u;
	conn->command_ms = (listener->command_timeout_s > 0
				    ? listener->command_timeout_s
				    : CONN_DEFAULT_COMMAND_S) * 1000u;
	unsigned preauth_s = listener->preauth_timeout_s > 0
				     ? listener->preauth_timeout_s
				     : CONN_DEFAULT_PREAUTH_S;
	conn->preauth_ms = (preauth_s < idle_s ? preauth_s : idle_s) * 1000u;
	uv_tcp_nodelay(&conn->tcp, 1);
	if (listener->tls == LISTENER_TLS_IMPLICIT) {
		if (conn_tls_start(conn) < 0) {
			conn_abort(conn, "TLS unavailable");
			return;
		}
		conn_update_reading(conn);
		return;
	}
	conn_announce(conn);
}

void conn_accept(struct listener *listener)
{
	struct postino_conn *conn = conn_new(listener);

	if (conn == NULL) {
		/* Counted by the listener; nothing will close it. */
		__atomic_sub_fetch(&listener->net->shared->load[0], 1,
				   __ATOMIC_RELAXED);
		return;
	}
	if (uv_accept((uv_stream_t *)&listener->tcp, (uv_stream_t *)&conn->tcp) < 0) {
		conn_abort(conn, "accept failed");
		return;
	}
	conn_start(conn);
}

void conn_adopt(struct listener *listener, uv_os_sock_t fd)
{
	struct net *net = listener->net;
	struct postino_conn *conn = conn_new(listener);

	if (conn == NULL) {
		close(fd);
		__atomic_sub_fetch(&net->shared->load[net->ctx->worker], 1,
				   __ATOMIC_RELAXED);
		return;
	}
	if (uv_tcp_open(&conn->tcp, fd) < 0) {
		close(fd);
		conn_abort(conn, "accept failed");
		return;
	}
	conn_start(conn);
}
