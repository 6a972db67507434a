/* TLS on a connection: GnuTLS reads ciphertext from the current read
 * (pull) and its records are staged into the connection's output chunk
 * (push), so GnuTLS never touches the socket and never blocks. Every read
 * is drained completely (record_recv until EAGAIN) because the read buffer
 * is shared by all connections. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/net_internal.h"
#include "net/tls_hello.h"

static ssize_t conn_tls_push(gnutls_transport_ptr_t ptr, const void *data,
			     size_t len)
{
	struct postino_conn *conn = ptr;

	if (conn_stage(conn, data, len) < 0) {
		gnutls_transport_set_errno(conn->tls, ENOMEM);
		return -1;
	}
	return (ssize_t)len;
}

static ssize_t conn_tls_pull(gnutls_transport_ptr_t ptr, void *data,
			     size_t len)
{
	struct postino_conn *conn = ptr;

	if (conn->pull_len == 0) {
		gnutls_transport_set_errno(conn->tls, EAGAIN);
		return -1;
	}
	size_t n = len < conn->pull_len ? len : conn->pull_len;
	memcpy(data, conn->pull_data, n);
	conn->pull_data += n;
	conn->pull_len -= n;
	return (ssize_t)n;
}

static void conn_tls_handshake_timeout(uv_timer_t *timer)
{
	struct postino_conn *conn = timer->data;

	conn_log(conn, LOG_LEVEL_INFO, "TLS handshake timeout");
	conn_abort(conn, "TLS handshake timeout");
}

/* Notes the highest version the client offers before GnuTLS judges the
 * hello, for the log line of a client refused for its version. */
static int conn_tls_hello_seen(gnutls_session_t session, unsigned htype,
			       unsigned when, unsigned incoming,
			       const gnutls_datum_t *msg)
{
	/* The session's own pointer is tls_creds.c's (the credentials). */
	struct postino_conn *conn = gnutls_transport_get_ptr(session);

	if (incoming && htype == GNUTLS_HANDSHAKE_CLIENT_HELLO)
		conn->hello_version = tls_hello_max_version(msg->data,
							    msg->size);
	return 0;
}

int conn_tls_start(struct postino_conn *conn)
{
	struct tls_creds *creds = net_creds(conn->net);

	if (creds == NULL)
		return -ENOTSUP;
	int ret = tls_creds_session_new(creds, &conn->tls);
	if (ret < 0) {
		conn_log(conn, LOG_LEVEL_ERROR, "cannot start TLS: %s",
			 gnutls_strerror(ret));
		conn->tls = NULL;
		tls_creds_unref(&creds);
		return -EIO;
	}
	conn->creds = creds;
	gnutls_transport_set_ptr(conn->tls, conn);
	gnutls_handshake_set_hook_function(conn->tls,
		GNUTLS_HANDSHAKE_CLIENT_HELLO, GNUTLS_HOOK_PRE,
		conn_tls_hello_seen);
	gnutls_transport_set_push_function(conn->tls, conn_tls_push);
	gnutls_transport_set_pull_function(conn->tls, conn_tls_pull);
	conn->tls_state = CONN_TLS_HANDSHAKE;
	tls_frame_init(&conn->frame);
	uv_timer_start(&conn->timer, conn_tls_handshake_timeout,
		       (uint64_t)tls_creds_handshake_timeout(creds) * 1000, 0);
	return 0;
}

static void conn_tls_established(struct postino_conn *conn)
{
	char sni[256];
	size_t sni_len = sizeof(sni);
	unsigned type;

	conn->tls_state = CONN_TLS_ON;
	conn->info.tls = 1;
	conn->info.tls_version =
		gnutls_protocol_get_name(gnutls_protocol_get_version(conn->tls));
	conn->info.tls_cipher = gnutls_cipher_get_name(gnutls_cipher_get(conn->tls));
	if (gnutls_server_name_get(conn->tls, sni, &sni_len, &type, 0) ==
		    GNUTLS_E_SUCCESS && type == GNUTLS_NAME_DNS) {
		free(conn->tls_sni);
		conn->tls_sni = strndup(sni, sni_len);
		conn->info.tls_sni = conn->tls_sni;
	}
	conn_log(conn, LOG_LEVEL_INFO,
		 "TLS established version=%s cipher=%s sni=%s resumed=%s",
		 conn->info.tls_version, conn->info.tls_cipher,
		 conn->tls_sni != NULL ? conn->tls_sni : "-",
		 gnutls_session_is_resumed(conn->tls) ? "yes" : "no");
	uv_timer_stop(&conn->timer);
	if (!conn->announced) {
		conn_announce(conn); /* implicit TLS: now the greeting */
		return;
	}
	conn_idle_start(conn);
	if (conn->proto->proto.on_starttls != NULL) {
		conn->batching++;
		conn->proto->proto.on_starttls(conn, 1, conn->proto->data);
		conn->batching--;
	}
	conn_flush(conn);
	conn_update_reading(conn);
}

/* A client that offers only versions the priority string excludes (an
 * old mail program speaking TLS 1.0) gets the protocol_version alert
 * rather than a bare close, so it can say why, and the log names the
 * version it offered, so the operator can tell its user. */
static void conn_tls_failed(struct postino_conn *conn, int ret)
{
	if (ret == GNUTLS_E_UNSUPPORTED_VERSION_PACKET)
		conn_log(conn, LOG_LEVEL_INFO, "TLS handshake failed: the "
			 "client offers at most %s, which the [tls] priority "
			 "does not allow (client=%s:%d listener=%s)",
			 tls_hello_version_name(conn->hello_version),
			 conn->client_ip, conn->info.client_port,
			 conn->listener->name);
	else
		conn_log(conn, LOG_LEVEL_INFO, "TLS handshake failed: %s",
			 gnutls_strerror(ret));
	/* GnuTLS sends no alert for most handshake errors by itself. */
	gnutls_alert_send_appropriate(conn->tls, ret);
	if (conn->announced && conn->proto->proto.on_starttls != NULL)
		conn->proto->proto.on_starttls(conn, 0, conn->proto->data);
	/* Closed after the alert is written, not aborted under it. */
	conn_close(conn, "TLS handshake failed");
}

static void conn_tls_handshake(struct postino_conn *conn)
{
	int ret;

	do {
		ret = gnutls_handshake(conn->tls);
	} while (ret < 0 && ret != GNUTLS_E_AGAIN && !gnutls_error_is_fatal(ret));
	if (ret == GNUTLS_E_AGAIN) {
		conn_flush(conn);
		return;
	}
	if (ret < 0) {
		conn_tls_failed(conn, ret);
		return;
	}
	conn_flush(conn);
	conn_tls_established(conn);
}

void conn_tls_read(struct postino_conn *conn, const char *data, size_t len)
{
	struct net *net = conn->net;

	conn->pull_data = data;
	conn->pull_len = len;
	if (conn->tls_state == CONN_TLS_HANDSHAKE)
		conn_tls_handshake(conn);
	/* Application data may follow the handshake in the same read. */
	while (conn->tls_state == CONN_TLS_ON && !conn->closed) {
		ssize_t n = gnutls_record_recv(conn->tls, net->plain_buf,
					       sizeof(net->plain_buf));
		if (n > 0) {
			conn_input(conn, net->plain_buf, (size_t)n);
			continue;
		}
		if (n == 0) {
			conn_abort(conn, "client closed TLS");
			break;
		}
		if (n == GNUTLS_E_AGAIN)
			break;
		if (n == GNUTLS_E_REHANDSHAKE) {
			/* Renegotiation buys a client nothing here but CPU
			 * on our side; refuse it (after the replies it
			 * follows). */
			(void)conn_tls_seal(conn);
			gnutls_alert_send(conn->tls, GNUTLS_AL_WARNING,
					  GNUTLS_A_NO_RENEGOTIATION);
			conn_flush(conn);
			continue;
		}
		if (!gnutls_error_is_fatal((int)n))
			continue;
		conn_log(conn, LOG_LEVEL_INFO, "TLS error: %s",
			 gnutls_strerror((int)n));
		conn_abort(conn, "TLS error");
		break;
	}
	conn->pull_data = NULL;
	conn->pull_len = 0;
}

/* Encrypts [data, data + len) into records staged as ciphertext. */
static int conn_tls_encrypt(struct postino_conn *conn, const char *data,
			    size_t len)
{
	while (len > 0) {
		ssize_t n = gnutls_record_send(conn->tls, data, len);
		if (n < 0) {
			if (!gnutls_error_is_fatal((int)n))
				continue;
			conn_log(conn, LOG_LEVEL_WARNING, "TLS send failed: %s",
				 gnutls_strerror((int)n));
			return -EIO;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int conn_tls_seal(struct postino_conn *conn)
{
	struct conn_plain *plain = conn->plain_out;

	if (plain == NULL)
		return 0;
	conn->plain_out = NULL;
	int ret = conn_tls_encrypt(conn, plain->data, plain->len);
	free(plain);
	return ret;
}

int conn_tls_send(struct postino_conn *conn, const char *data, size_t len)
{
	while (len > 0) {
		struct conn_plain *plain = conn->plain_out;
		if (plain == NULL && len >= NET_PLAIN_SIZE) {
			/* Whole records straight from the caller's buffer. */
			size_t whole = len - len % NET_PLAIN_SIZE;
			if (conn_tls_encrypt(conn, data, whole) < 0)
				return -EIO;
			data += whole;
			len -= whole;
			continue;
		}
		if (plain == NULL) {
			plain = malloc(sizeof(*plain));
			if (plain == NULL)
				return -ENOMEM;
			plain->len = 0;
			conn->plain_out = plain;
		}
		size_t room = NET_PLAIN_SIZE - plain->len;
		size_t n = len < room ? len : room;
		memcpy(plain->data + plain->len, data, n);
		plain->len += n;
		data += n;
		len -= n;
		/* A full record goes out now, so queued output (and the
		 * back-pressure on it) counts it. */
		if (plain->len == NET_PLAIN_SIZE && conn_tls_seal(conn) < 0)
			return -EIO;
	}
	return 0;
}

void conn_tls_bye(struct postino_conn *conn)
{
	(void)conn_tls_seal(conn);
	gnutls_bye(conn->tls, GNUTLS_SHUT_WR);
}

void conn_tls_free(struct postino_conn *conn)
{
	free(conn->plain_out);
	conn->plain_out = NULL;
	if (conn->tls != NULL)
		gnutls_deinit(conn->tls);
	conn->tls = NULL;
	tls_creds_unref(&conn->creds);
}
