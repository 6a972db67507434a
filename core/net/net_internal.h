/* Private to core/net: listeners, connections, and the glue between them. */
#ifndef POSTINO_NET_INTERNAL_H
#define POSTINO_NET_INTERNAL_H

#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <uv.h>

#include "module/module.h"
#include "net/conn_api.h"
#include "net/iptable.h"
#include "net/linebuf.h"
#include "net/net.h"
#include "net/tls_creds.h"
#include "net/tls_frame.h"

/* One read hands a connection at most this much; every connection shares
 * the same buffers, since a read is consumed before the next one starts. */
#define NET_READ_SIZE 65536
/* gnutls_record_recv hands out at most one record of plaintext. */
#define NET_PLAIN_SIZE 16384
/* Output queued beyond the high mark stops input from that client until it
 * has read its replies down to the low mark: a client that never reads
 * cannot make us buffer without bound. */
#define NET_OUTPUT_HIGH (256 * 1024)
#define NET_OUTPUT_LOW (64 * 1024)
/* How long a closing connection may take to take its last replies. */
#define NET_CLOSE_TIMEOUT_MS 10000

/* The values of postino_listener_tls. */
enum listener_tls {
	LISTENER_TLS_NONE = 0,     /* only protocols declared cleartext */
	LISTENER_TLS_IMPLICIT = 1,
	LISTENER_TLS_STARTTLS = 2,
};

/* A [listener NAME] section. Every worker's net has a copy (its settings,
 * for the connections it serves); only worker 0's is bound and accepts,
 * handing connections to the others (net.c says why). */
struct listener {
	uv_tcp_t tcp; /* first: handle->data is not needed to find us */
	struct net *net;
	size_t index;  /* in net->listeners, the same in every worker */
	char *name;
	char *protocol;
	char *role;    /* `role =`, or from the protocol: smtp -> mx */
	char *address;
	int port;
	enum listener_tls tls;
	unsigned max_connections;        /* 0: no limit */
	unsigned max_connections_per_ip; /* 0: no limit */
	unsigned idle_timeout_s;         /* 0: the protocol's default */
	unsigned command_timeout_s;      /* 0: CONN_DEFAULT_COMMAND_S */
	unsigned preauth_timeout_s;      /* 0: CONN_DEFAULT_PREAUTH_S */
	int open;
};

/* A listener's admitted connections, on every worker together. */
struct listener_count {
	unsigned connections;
	struct iptable per_ip; /* by iptable_key */
};

/* What the workers' nets share: one limit for the node, one set of
 * certificates, one session counter, and who serves how many
 * connections. lock guards creds and the counts (net_limits.c). */
struct net_shared {
	uv_mutex_t lock;
	struct tls_creds *creds;
	unsigned char ticket_key_data[64];
	gnutls_datum_t ticket_key;
	unsigned max_connections;   /* the process's limit (net_limits_set) */
	unsigned admitted;          /* connections net_admit let in */
	struct iptable per_ip;      /* admitted, by iptable_key */
	struct listener_count *counts; /* by listener index */
	uint64_t session_seq;       /* __atomic */
	unsigned workers;
	struct net **nets;          /* each worker's; [0] accepts */
	unsigned *load;             /* __atomic: open connections by worker */
	unsigned next_worker;       /* worker 0's round-robin start */
};

/* One worker's network layer: its connections and its copy of the
 * listeners. */
struct net {
	struct core_ctx *ctx;
	struct net_shared *shared;
	struct listener *listeners;
	size_t listener_count;
	struct postino_conn *conns; /* every open connection of the worker */
	size_t conn_count;
	int stopping;
	char read_buf[NET_READ_SIZE];
	char plain_buf[NET_PLAIN_SIZE];
};

enum conn_tls_state {
	CONN_TLS_NONE = 0,
	CONN_TLS_HANDSHAKE = 1,
	CONN_TLS_ON = 2,
};

/* An output chunk: one uv_write. The staging chunk grows while replies are
 * queued and is handed to libuv whole on flush. */
struct conn_chunk {
	uv_write_t req;
	struct postino_conn *conn;
	size_t len;
	size_t cap;
	char data[];
};

/* TLS output before encryption: a batch of small replies becomes one full
 * record, sealed with one gnutls_record_send, instead of one call each.
 * Allocated while a batch has output, freed when it is flushed. */
struct conn_plain {
	size_t len;
	char data[NET_PLAIN_SIZE];
};

struct postino_conn {
	uv_tcp_t tcp; /* first: the close callback gets the handle */
	struct net *net;
	struct listener *listener;
	struct module_set *set; /* referenced: the module's code stays */
	const struct protocol_entry *proto;
	struct postino_conn *prev, *next;
	void *data;
	void *host_data;                 /* conn_set_host_data */
	void (*host_data_free)(void *data);

	struct postino_conn_info info;
	char session_id[20];
	char client_ip[INET6_ADDRSTRLEN];
	char ip_key[IPTABLE_KEY_MAX]; /* what limits count it as */
	char local_ip[INET6_ADDRSTRLEN];
	char *tls_sni;
	char *account;

	struct linebuf lines;
	uint64_t bytes_left;  /* > 0: raw-bytes mode */
	size_t bytes_unused;  /* tail of the on_bytes chunk handed back */
	char *held;           /* input received while paused, in order */
	size_t held_len;
	size_t held_off;

	gnutls_session_t tls;
	struct tls_creds *creds; /* referenced while tls lives */
	enum conn_tls_state tls_state;
	const char *pull_data;   /* ciphertext of the current read */
	size_t pull_len;
	struct tls_frame frame;  /* the client's record framing */
	uint16_t hello_version;  /* highest version its ClientHello offers */

	struct conn_chunk *out;  /* staging: plaintext, or ciphertext in TLS */
	struct conn_plain *plain_out; /* TLS: replies not yet in a record */
	size_t writing;          /* bytes handed to libuv, not yet written */

	uv_timer_t timer;        /* idle/command, handshake or close timeout */
	unsigned timeout_ms;     /* idle timeout */
	unsigned preauth_ms;     /* idle timeout until conn_set_account */
	unsigned command_ms;     /* command deadline: a line, once begun */
	uint64_t last_input;     /* uv_now() of the last read */
	uint64_t line_since;     /* uv_now() when the pending line began */
	unsigned handles_open;   /* tcp + timer; freed when both closed */
	unsigned refs;           /* host operations in flight (conn_ref) */

	uint64_t bytes_in;
	uint64_t bytes_out;
	const char *close_reason;
	/* > 0 while the module runs on our behalf: its replies are batched
	 * and sent in one write when it returns. */
	unsigned batching;
	unsigned paused : 1;
	unsigned reading : 1;
	unsigned in_input_loop : 1; /* conn_dispatch is handing out input */
	unsigned starttls_wanted : 1;
	unsigned announced : 1;  /* on_connect ran: on_close is owed */
	unsigned closing : 1;    /* no more input; close once flushed */
	unsigned closed : 1;     /* uv_close called */
	unsigned throttled : 1;  /* input stopped by output back-pressure */
	unsigned admitted : 1;      /* counted by net_admit */
	unsigned want_writable : 1; /* conn_write returned 1 */
	unsigned gone : 1;          /* torn down; memory kept for refs */
	unsigned line_pending : 1;  /* a command line is arriving: line_since */
};

/* net_limits.c */
/* The process's connection limit from the open files limit in force and
 * [server] max_connections; logs it when it changes. */
void net_limits_set(struct net *net, const struct config *config);
/* Counts a new connection from key on l, or refuses it: NULL when
 * admitted (net_release later), else a short reason with detail (for
 * the log) written. */
const char *net_admit(struct net *net, struct listener *l, const char *key,
		      char *detail, size_t detail_len);
void net_release(struct net *net, struct listener *l, const char *key);

/* The certificates for a new TLS session, referenced (tls_creds_unref
 * when done); NULL when none are loaded. */
struct tls_creds *net_creds(struct net *net);

/* conn.c */
void conn_accept(struct listener *listener);
/* A connection worker 0 accepted and handed over (fd is ours now). */
void conn_adopt(struct listener *listener, uv_os_sock_t fd);
void conn_input(struct postino_conn *conn, const char *data, size_t len);
int conn_flush(struct postino_conn *conn);
void conn_update_reading(struct postino_conn *conn);
void conn_abort(struct postino_conn *conn, const char *reason);
void conn_announce(struct postino_conn *conn);
void conn_idle_start(struct postino_conn *conn);
void conn_log(const struct postino_conn *conn, enum log_level level,
	      const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Appends to the staging chunk (used by TLS push for ciphertext). */
int conn_stage(struct postino_conn *conn, const void *buf, size_t len);

/* conn_tls.c */
int conn_tls_start(struct postino_conn *conn);
void conn_tls_read(struct postino_conn *conn, const char *data, size_t len);
int conn_tls_send(struct postino_conn *conn, const char *data, size_t len);
/* Encrypts the staged replies into records (and frees the staging);
 * -EIO when GnuTLS fails. */
int conn_tls_seal(struct postino_conn *conn);
void conn_tls_bye(struct postino_conn *conn);
void conn_tls_free(struct postino_conn *conn);

#endif
