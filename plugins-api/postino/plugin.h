/* Postino plugin ABI 1.1 (1.0 final, and the entries marked 1.1).
 *
 * The only server header a module includes. doc/plugin-guide.md explains
 * how to write a module; doc/abi.md lists every entry with the minor that
 * introduced it.
 *
 * Rules that keep built modules loading across minor releases:
 *   - a module exports exactly one symbol, `postino_module_v1`, and is built
 *     with -fvisibility=hidden; it never links against host symbols;
 *   - the host hands init a const `struct postino_host`: a few pointers to
 *     sub-tables of functions, one per service (core, policy, proto, mail,
 *     mailbox, account). Every sub-table starts with its size and only
 *     grows at its end; every addition anywhere in this file bumps
 *     POSTINO_ABI_MINOR, and t/abi/layout_v1_<minor>.c freezes that minor's
 *     layout. A module built for minor N may call every entry of minor N;
 *     for a later one it checks POSTINO_HAS(host->sub, struct, entry);
 *   - structs a module hands to the host start with their size; the host
 *     reads only the fields that size covers. Structs the host hands to a
 *     module start with their size too; a module reads a field only when
 *     POSTINO_HAS_FIELD says it is there.
 *   - the host refuses, with one log line naming the file and the reason, a
 *     module built for another major, for a newer minor than the server's,
 *     or with the headers of before 1.0 was final.
 *
 * Threads (the contract every module follows):
 *   A node runs `[server] workers` loop threads. Every worker has its own
 *   INSTANCE of every module: init runs once per worker, each time with its
 *   own postino_mod handle, and every callback of that instance (hooks,
 *   protocol callbacks, timers, the done callbacks of asynchronous entries)
 *   runs on that worker's loop thread, one at a time. So a module's code
 *   never runs concurrently with itself, except its work() functions (on
 *   the host's thread pool), provided it keeps mutable data in what init
 *   returns and never in static variables. What the whole node must share
 *   (counters, windows, seen-lists) goes through the state service, whose
 *   writes every instance sees at once; state_update is atomic across
 *   workers. Timers started with POSTINO_TIMER_NODE run on one worker only.
 *   Admin commands run in the `postino` CLI, which has one instance.
 *   Entries marked "any thread" may also be called from work().
 *
 * Cost on the loop thread (nothing a module does may block it):
 *   "instant": no I/O. "indexed read": one synchronous read of the store
 *   by key (tens of microseconds): fine a few times per command, never in
 *   a loop whose length a client controls. Everything else that touches
 *   the store or the network is asynchronous and ends in a done callback.
 */
#ifndef POSTINO_PLUGIN_H
#define POSTINO_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define POSTINO_ABI_MAJOR 1
#define POSTINO_ABI_MINOR 1

/* The one symbol a module exports. */
#define POSTINO_MODULE_SYMBOL "postino_module_v1"
#define POSTINO_EXPORT __attribute__((visibility("default")))

/* True when a struct that starts with `size_t size` has FIELD. */
#define POSTINO_HAS_FIELD(ptr, type, field) \
	((ptr)->size >= offsetof(type, field) + sizeof(((type *)0)->field))
/* True when a host sub-table has ENTRY, e.g.
 * POSTINO_HAS(host->policy, struct postino_host_policy, state_scan). */
#define POSTINO_HAS(table, type, entry) POSTINO_HAS_FIELD(table, type, entry)

/* Opaque handles owned by the host. */
typedef struct postino_mod postino_mod;             /* one module instance */
typedef struct postino_hook_call postino_hook_call; /* one hook invocation */
typedef struct postino_timer postino_timer;         /* one timer */
typedef struct postino_conn postino_conn;           /* one client connection */
typedef struct postino_msg postino_msg;             /* a message being received */
typedef struct postino_mailbox postino_mailbox;     /* an open mailbox view */

enum postino_log_level {
	POSTINO_LOG_ERROR = 0,
	POSTINO_LOG_WARNING = 1,
	POSTINO_LOG_INFO = 2,
	POSTINO_LOG_DEBUG = 3,
};

/* ---- configuration of the module's own [NAME] section ------------------ */

enum postino_config_type {
	POSTINO_CONFIG_STRING = 1,
	POSTINO_CONFIG_INT = 2,      /* decimal, may be negative */
	POSTINO_CONFIG_BOOL = 3,     /* yes/no, true/false, on/off, 1/0 */
	POSTINO_CONFIG_DURATION = 4, /* 30, 30s, 10m, 1h, 7d -> seconds */
	POSTINO_CONFIG_SIZE = 5,     /* 512, 64k, 10M, 1G -> bytes */
};

/* A module lists the keys its [NAME] section accepts; the host rejects any
 * other key, and bad values, at startup with file:line. The array ends with
 * an entry whose name is NULL. */
struct postino_config_key {
	const char *name;
	enum postino_config_type type;
	const char *default_value; /* NULL: no default (config_string -> NULL) */
	const char *help;
};

/* ---- hooks --------------------------------------------------------------- */

enum postino_hook_point {
	/* SMTP, in session order. A policy sees a session only when its
	 * module's `[module] listeners` (if set) names the session's listener
	 * or its role. RCPT_TO hooks run after smtp.so's own checks: an
	 * unknown local user or a relay attempt is refused before any hook
	 * sees the recipient. DATA_HEADERS runs once the header block is in,
	 * DATA_END once the whole message is (msg set). */
	POSTINO_HOOK_SMTP_CONNECT = 1,
	POSTINO_HOOK_SMTP_HELO = 2,
	POSTINO_HOOK_SMTP_AUTH = 3,
	POSTINO_HOOK_SMTP_MAIL_FROM = 4,
	POSTINO_HOOK_SMTP_RCPT_TO = 5,
	POSTINO_HOOK_SMTP_DATA_HEADERS = 6,
	POSTINO_HOOK_SMTP_DATA_END = 7,
	/* Every protocol's logins (and the panel's): before the password is
	 * checked (a policy may refuse: DEFER -> TEMPFAIL), and with the
	 * result (throttling counts failures here). */
	POSTINO_HOOK_AUTH_BEFORE_VERIFY = 8,
	POSTINO_HOOK_AUTH_RESULT = 9,
	/* A new password: strength rules (REJECT with the reason), and the
	 * news that one was set. */
	POSTINO_HOOK_PASSWORD_VALIDATE = 10,
	POSTINO_HOOK_PASSWORD_CHANGED = 11,
	/* (1.1) Final delivery to one local account: for every msg_deliver
	 * (SMTP, and mail the server makes: bounces are not delivered
	 * through it; nor is IMAP APPEND), once per local recipient, after
	 * the SMTP hooks and before the store commit. The event has account,
	 * rcpt_to (the address as the sender gave it: an alias, user+detail),
	 * mail_from and msg (read it with msg_read; add no header: the stored
	 * bytes are shared by every recipient). The hook decides what becomes
	 * of the account's copy with host->mail's delivery_* entries, called
	 * before its hook_complete (or before it returns); when the chain ends
	 * with none called, the copy goes to INBOX (the implicit keep).
	 * CONTINUE lets the next module's hook add its own; ACCEPT ends the
	 * chain. DEFER and REJECT are logged and end it like ACCEPT: a policy
	 * refuses a copy with delivery_reject (delivery never fails for a
	 * verdict once the message is accepted). Not run in the admin CLI. */
	POSTINO_HOOK_DELIVERY = 12,
};

/* What a hook decides. CONTINUE lets the next module's hook run; ACCEPT ends
 * the chain with success; DEFER (4xx) and REJECT (5xx) end it with the reply
 * set by hook_reply(); PENDING means the module will call hook_complete()
 * later, on the same loop thread. */
enum postino_verdict {
	POSTINO_CONTINUE = 0,
	POSTINO_ACCEPT = 1,
	POSTINO_DEFER = 2,
	POSTINO_REJECT = 3,
	POSTINO_PENDING = 4,
};

/* What happened. Owned by the host; valid until the hook returns, or for a
 * PENDING hook until it calls hook_complete(). Fields that do not apply to a
 * hook point are NULL or 0. */
struct postino_hook_event {
	size_t size;
	enum postino_hook_point point;
	const char *session_id; /* for log lines */
	const char *protocol;   /* the listener's protocol: "smtp" (MX),
				 * "submission", "imap", "pop3", ..., or
				 * "admin" for the CLI */
	const char *client_ip;  /* NULL for admin commands */
	int tls;                /* 1 when the connection is encrypted */
	const char *account;    /* authenticated account, or the one concerned */
	const char *helo;
	const char *mail_from;  /* "" for the null sender */
	const char *rcpt_to;
	const char *password;   /* PASSWORD_VALIDATE only; never log it */
	int auth_success;       /* AUTH_RESULT: 1 success, 0 failure */
	uint64_t message_size;  /* DATA_END */
	unsigned rcpt_count;    /* accepted recipients so far */
	postino_msg *msg;       /* DATA_END: the message; msg_add_header
				 * puts headers on it */
	const char *listener;   /* [listener NAME] the session came in on;
				 * NULL for admin commands */
	const char *role;       /* that listener's role: "mx", "submission",
				 * "imap", "pop3", ... (its `role =`, by
				 * default named after its protocol, with
				 * "smtp" giving "mx"); NULL for admin */
};

typedef enum postino_verdict (*postino_hook_fn)(
	postino_hook_call *call, const struct postino_hook_event *ev, void *data);

/* ---- admin subcommands --------------------------------------------------- */

/* Runs `postino MODULE COMMAND ARGS...`; argv[0] is COMMAND. Returns a
 * sysexits(3) code. `out` and `err` are the command's stdout and stderr. */
typedef int (*postino_admin_fn)(void *data, int argc, char **argv,
				FILE *out, FILE *err);

/* ---- state --------------------------------------------------------------- */

/* Limits of the state service: keys are NUL-terminated byte strings of 1
 * to POSTINO_STATE_KEY_MAX bytes (longer: -ENAMETOOLONG); values are up
 * to POSTINO_STATE_VALUE_MAX bytes (longer: -EFBIG). A module that builds
 * keys from client input (addresses can be 320 bytes each) should hash
 * what might not fit. */
#define POSTINO_STATE_KEY_MAX 1024
#define POSTINO_STATE_VALUE_MAX 65536

/* state_update's callback: given the current value (old == NULL when there
 * is none or it expired), writes the new one into buf (bufsize =
 * POSTINO_STATE_VALUE_MAX) and sets *len_r and *expires_at_r (unix
 * seconds, 0 = never; preset to the old entry's). Returns 1 to store the
 * new value, 0 to leave the entry as it is, -1 to delete it. Runs on the
 * caller's thread while the host holds the key: keep it short and call
 * nothing of the host from it. */
typedef int (*postino_state_update_fn)(void *data, const void *old,
				       size_t old_len, void *buf,
				       size_t bufsize, size_t *len_r,
				       int64_t *expires_at_r);

/* ---- protocols and connections ------------------------------------------ */

/* A protocol a module serves on every listener whose `protocol =` names it.
 * All callbacks run on the loop thread of the worker that owns the
 * connection; `data` is what protocol_register was given. Pointers passed
 * to callbacks are valid only during the call. */
struct postino_protocol {
	size_t size;          /* sizeof(struct postino_protocol) */
	const char *name;     /* "imap", "pop3", "smtp", ... */
	uint32_t max_line;    /* longest command line in bytes, without the
			       * line end; 0 = 8192 */
	uint32_t idle_timeout_s; /* listeners without idle_timeout; 0 = 300 */
	/* Sent (followed by CRLF) before closing a connection refused by a
	 * connection limit, or closed by the idle timeout (and, unless
	 * command_timeout_reply is set, by the listener's command_timeout: a
	 * command line too slow to arrive); may be NULL. */
	const char *overload_reply;
	const char *timeout_reply;
	/* Sent (followed by CRLF) before closing a connection whose command
	 * line did not arrive within the listener's command_timeout, so the
	 * client is told what happened ("command not received in time")
	 * rather than that it was idle; NULL: timeout_reply. */
	const char *command_timeout_reply;
	/* A client connected; on implicit-TLS listeners after the handshake.
	 * Send the greeting here. */
	void (*on_connect)(postino_conn *conn, void *data);
	/* One complete line without its line end (LF or CRLF), NUL-terminated
	 * at line[len]. too_long: the line was longer than max_line; line
	 * holds its first max_line bytes and the rest was discarded. */
	void (*on_line)(postino_conn *conn, const char *line, size_t len,
			int too_long, void *data);
	/* Bytes requested with conn_read_bytes, in chunks as they arrive;
	 * last is 1 on the chunk that completes the request. */
	void (*on_bytes)(postino_conn *conn, const char *bytes, size_t len,
			 int last, void *data);
	/* After conn_starttls: ok = 1 when the session is now encrypted (reset
	 * all protocol state, as the RFCs require); ok = 0 when the handshake
	 * failed (on_close follows). */
	void (*on_starttls)(postino_conn *conn, int ok, void *data);
	/* Output fell below the low-water mark after conn_write returned 1. */
	void (*on_writable)(postino_conn *conn, void *data);
	/* The connection is gone: the peer closed, a timeout, an error or
	 * conn_close. Free the per-connection data here; conn is invalid
	 * after this returns. */
	void (*on_close)(postino_conn *conn, const char *reason, void *data);
};

/* What is known about a connection; owned by the host, valid until
 * on_close returns. Fields are updated in place (TLS after a STARTTLS). */
struct postino_conn_info {
	size_t size;
	const char *session_id;  /* on every log line of the session */
	const char *listener;    /* [listener NAME] */
	const char *client_ip;   /* "127.0.0.1", "::1" */
	int client_port;
	const char *local_ip;
	int local_port;
	int tls;                 /* 1 once encrypted */
	const char *tls_version; /* "TLS1.3", NULL before TLS */
	const char *tls_cipher;  /* "AES-256-GCM", NULL before TLS */
	const char *tls_sni;     /* server name the client asked for, or NULL */
	const char *account;     /* set by conn_set_account, or NULL */
	const char *role;        /* the listener's role (see hook events) */
	unsigned worker;         /* index of the worker that owns it */
};

/* ---- authentication ------------------------------------------------------ */

enum postino_auth_result {
	POSTINO_AUTH_OK = 0,
	POSTINO_AUTH_FAILED = 1,    /* unknown account or wrong password */
	POSTINO_AUTH_DISABLED = 2,  /* right password, account disabled */
	POSTINO_AUTH_TEMPFAIL = 3,  /* store trouble, or refused by a policy
				     * (throttling): try again later */
	POSTINO_AUTH_CANCELLED = 4, /* SASL: the client answered "*" */
	POSTINO_AUTH_MALFORMED = 5, /* SASL: a response that is not base64, or
				     * not the mechanism's syntax */
};

/* The protocol's side of a SASL exchange (RFC 4422) that the host runs:
 * only the framing differs between protocols. */
struct postino_sasl_ops {
	size_t size;  /* sizeof(struct postino_sasl_ops) */
	/* Send a server challenge (base64, may be "") as the protocol frames
	 * it ("+ %s" in IMAP and POP3, "334 %s" in SMTP); the client's next
	 * line goes to sasl_input. */
	void (*challenge)(postino_conn *conn, const char *base64, void *data);
	/* The exchange is over. On OK the host has already called
	 * conn_set_account(account); account is valid during the call. Not
	 * called when the connection closed meanwhile. */
	void (*done)(postino_conn *conn, enum postino_auth_result result,
		     const char *account, void *data);
};

/* ---- delivery ------------------------------------------------------------ */

/* Where a received message goes. Strings are copied. */
struct postino_delivery {
	size_t size;
	const char *mail_from;            /* "" for the null sender */
	const char *const *local;         /* accounts: into their INBOX */
	size_t local_count;
	const char *const *remote;        /* addresses: the outbound queue */
	size_t remote_count;
	/* Optional: one entry of the delivering module's state (as
	 * state_put/state_delete) written in the same durable commit as the
	 * message, so a module records "this notice went out" exactly when it
	 * does: a crash leaves both or neither. state_key NULL: none;
	 * state_value NULL: delete the key. */
	const char *state_key;
	const void *state_value;
	size_t state_len;
	int64_t state_expires_at;         /* unix seconds, 0 = never */
	/* (1.1) Optional, NULL for none. local_rcpt[i]: the address the
	 * sender gave that reached local[i] (an alias, user+detail@...), which
	 * the DELIVERY hooks see as rcpt_to; a NULL entry means local[i]
	 * itself. remote_via[i]: the local address (an alias) through which
	 * remote[i] was reached, so the copy is forwarded: it gets a
	 * "Delivered-To: <via>" header (a copy that already carries one is a
	 * forwarding loop: bounced, not sent), and when [srs] is configured
	 * and mail_from is neither null nor in a hosted domain, an SRS
	 * envelope sender. A NULL entry is a relay (sent as it is). */
	const char *const *local_rcpt;
	const char *const *remote_via;
};

/* What is known about one account (see account_get). The module sets size
 * = sizeof(struct postino_account); the host fills only what it covers. */
struct postino_account {
	size_t size;
	char address[320];
	char domain[256];
	char secondary[320];      /* "" when none */
	char lang[8];             /* "it", "en", or "" when not set */
	int disabled;
	int64_t password_changed; /* unix seconds */
	int64_t created;          /* unix seconds */
};

/* An account's quota and usage (account_quota, ABI 1.1). The module sets
 * size = sizeof(struct postino_quota); the host fills what it covers.
 * Usage is the octets of every stored message (RFC822.SIZE, what POP3's
 * LIST shows), each copy counted, and their number. A limit of 0 means
 * none. A write that would take usage over a limit fails with -EDQUOT
 * (msg_deliver when no recipient can take the message, mailbox_append,
 * mailbox_copy); one that does not raise usage never does. */
struct postino_quota {
	size_t size;
	uint64_t storage_used;   /* octets */
	uint64_t storage_limit;  /* octets; 0: none */
	uint64_t messages_used;
	uint64_t messages_limit; /* 0: none */
};

/* ---- mailboxes ----------------------------------------------------------- */

/* One message of an open mailbox view. */
struct postino_message_info {
	size_t size;
	uint32_t uid;
	uint64_t octets;      /* stored size, CRLF line ends */
	uint32_t flags;
	int64_t internaldate; /* unix seconds */
	uint64_t modseq;      /* the message's last change */
	const char *keywords; /* space-separated, "" when none; owned by the
			       * view, valid until its next sync or close */
};

/* System flags of postino_message_info.flags and mailbox_store. */
#define POSTINO_FLAG_SEEN     (1u << 0)
#define POSTINO_FLAG_ANSWERED (1u << 1)
#define POSTINO_FLAG_FLAGGED  (1u << 2)
#define POSTINO_FLAG_DELETED  (1u << 3)
#define POSTINO_FLAG_DRAFT    (1u << 4)
/* Per view, never stored: the message arrived since the last view that
 * claimed new messages (mailbox_open with POSTINO_MAILBOX_RECENT). */
#define POSTINO_FLAG_RECENT   (1u << 5)

/* mailbox_open's flags (0 = a shared view). */
#define POSTINO_MAILBOX_EXCLUSIVE 1 /* POP3's maildrop lock */
#define POSTINO_MAILBOX_RECENT    2 /* IMAP SELECT: claims \Recent */

/* One mailbox of an account, for mailbox_list. */
struct postino_mailbox_entry {
	size_t size;
	const char *name;        /* UTF-8; "/" separates hierarchy levels */
	const char *special_use; /* "\\Sent", "\\Trash", ... or NULL */
	int subscribed;
};

/* mailbox_status; the caller sets size. */
struct postino_mailbox_status {
	size_t size;
	uint32_t messages;
	uint32_t recent;
	uint32_t unseen;
	uint32_t uidnext;
	uint32_t uidvalidity;
	uint64_t highestmodseq;
	/* ABI 1.1: the messages with \Deleted and their octets (RFC 9208
	 * STATUS DELETED, DELETED-STORAGE). */
	uint32_t deleted;
	uint64_t deleted_storage;
};

enum postino_store_mode {
	POSTINO_STORE_REPLACE = 0,
	POSTINO_STORE_ADD = 1,
	POSTINO_STORE_REMOVE = 2,
};

/* Summaries computed once when a message is stored, in IMAP syntax. */
enum postino_mime_summary {
	POSTINO_MIME_ENVELOPE = 1,
	POSTINO_MIME_BODY = 2,
	POSTINO_MIME_BODYSTRUCTURE = 3,
};

/* Byte ranges of one part of a message (RFC 3501 6.4.5 sections); the
 * caller sets size. A has_* of 0 means that section does not exist. */
struct postino_section {
	size_t size;
	int has_header;  /* [HEADER] of the message or an embedded message */
	uint64_t header_start, header_end;
	int has_text;    /* [TEXT] */
	uint64_t text_start, text_end;
	int has_mime;    /* [n.MIME] */
	uint64_t mime_start, mime_end;
	int has_body;    /* [n] */
	uint64_t body_start, body_end;
};

/* ---- the host table ------------------------------------------------------ */

/* timer_start's flags. */
#define POSTINO_TIMER_NODE 1 /* run on one worker of the node only (daily
			      * passes, purges); on the others the timer
			      * exists but never fires */

/* (1.1) One listener of the node (listener_list): what mail clients are
 * told to connect to (autoconfiguration) comes from here, so it cannot
 * drift from what is served. Strings valid during the callback. */
enum postino_listener_tls {
	POSTINO_LISTENER_TLS_NONE = 0,     /* `tls = none`: in clear, only for
					    * protocols that never
					    * authenticate (cleartext_protocols) */
	POSTINO_LISTENER_TLS_IMPLICIT = 1, /* TLS from the first byte */
	POSTINO_LISTENER_TLS_STARTTLS = 2, /* clear until STARTTLS */
};

struct postino_listener {
	size_t size;
	const char *name;     /* [listener NAME] */
	const char *protocol; /* "imap", "submission", "http", ... */
	const char *role;     /* as in hook events: "mx", "submission", ... */
	const char *address;  /* as configured: "0.0.0.0", "127.0.0.1", "::" */
	int port;
	enum postino_listener_tls tls;
};

/* What every module uses. */
struct postino_host_core {
	size_t size;

	/* One log line, with the module's name as its component; never a
	 * password or a message body. Any thread. session_id may be NULL. */
	void (*log)(postino_mod *mod, enum postino_log_level level,
		    const char *session_id, const char *fmt, ...)
		__attribute__((format(printf, 4, 5)));

	/* Values of the module's own [NAME] section, defaults applied; asking
	 * for a key the module did not declare logs an error and gives
	 * NULL/0. The string is owned by the host and valid until fini. A
	 * number is the parsed INT/BOOL/DURATION/SIZE value. Instant. */
	const char *(*config_string)(postino_mod *mod, const char *key);
	int64_t (*config_number)(postino_mod *mod, const char *key);

	/* Wall clock, milliseconds since the epoch. Any thread. */
	int64_t (*now_ms)(void);
	/* The server's name (greetings, Received headers). Instant. */
	const char *(*hostname)(postino_mod *mod);

	/* A timer on the instance's loop thread: first run after first_ms,
	 * then every repeat_ms (0: once). flags: POSTINO_TIMER_*. Timers
	 * fire only in the daemon, never in the CLI. NULL on failure. */
	postino_timer *(*timer_start)(postino_mod *mod, uint64_t first_ms,
				      uint64_t repeat_ms, unsigned flags,
				      void (*cb)(void *data), void *data);
	/* Stops and frees the timer; sets *timer to NULL. */
	void (*timer_stop)(postino_timer **timer);

	/* Runs work(data) on the host's thread pool, then done(data, status)
	 * on the instance's loop thread (status 0, or negative when cancelled
	 * at shutdown). work() may call only the entries marked "any
	 * thread". Returns 0 or a negative errno (done not called). */
	int (*work_submit)(postino_mod *mod, void (*work)(void *data),
			   void (*done)(void *data, int status), void *data);

	/* This instance's worker index (0 .. worker_count-1) and the node's
	 * number of workers (1 in the CLI). Instant. */
	unsigned (*worker_index)(postino_mod *mod);
	unsigned (*worker_count)(postino_mod *mod);

	/* (1.1) Services between modules, as Redis modules share APIs. A
	 * module exports a table under a name (init is the place): the
	 * table starts with `size_t size` and stays valid until the
	 * exporter's fini. A module may import only from a module its
	 * descriptor lists in `requires`, which the host initialises first;
	 * the table returned is the exporter's instance on the importer's
	 * own worker, so calls into it stay on one thread. The importer
	 * reads only entries POSTINO_HAS_FIELD says are there.
	 * service_export: 0, -EEXIST (the name is taken), -EINVAL.
	 * service_import: the table, or NULL (no such service, or its module
	 * is not in requires). Instant. */
	int (*service_export)(postino_mod *mod, const char *name,
			      const void *table);
	const void *(*service_import)(postino_mod *mod, const char *name);
	/* (1.1) Calls cb once per configured listener, in configuration
	 * order (the listeners of the configuration in force; a listener
	 * changed by a reload shows its new values, which take effect at
	 * restart). Returns the count, or a negative errno. Instant. */
	int (*listener_list)(postino_mod *mod,
			     void (*cb)(void *data,
					const struct postino_listener *l),
			     void *data);
	/* (1.1) The host name mail clients of domain should connect to:
	 * "mail.<domain>" when a loaded certificate's names cover it (the
	 * SNI set-up of doc/operator-guide.md), else [server] hostname.
	 * Writes it NUL-terminated into buf; 0, -EINVAL, -ENAMETOOLONG.
	 * Instant. */
	int (*server_name)(postino_mod *mod, const char *domain, char *buf,
			   size_t buflen);
};

/* What policy modules use: hooks, durable state, admin commands. */
struct postino_host_policy {
	size_t size;

	/* Hooks run in module load order, on the session's worker. Returns
	 * 0 or a negative errno. */
	int (*hook_register)(postino_mod *mod, enum postino_hook_point point,
			     postino_hook_fn fn, void *data);
	/* Sets the reply of a DEFER or REJECT: code is 4xx or 5xx, text the
	 * rest of the line (e.g. "5.7.1 Relaying denied"). Copied. A DEFER
	 * always reaches the client as 4xx and a REJECT as 5xx. */
	void (*hook_reply)(postino_hook_call *call, int code, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));
	/* Finishes a hook that returned PENDING. Call it exactly once, on the
	 * instance's loop thread; `call` is invalid afterwards. */
	void (*hook_complete)(postino_hook_call *call,
			      enum postino_verdict verdict);

	/* `postino NAME COMMAND ...` runs fn. usage is one line for help.
	 * Returns 0, -EEXIST, -EINVAL or -ENOMEM. */
	int (*admin_register)(postino_mod *mod, const char *command,
			      const char *usage, postino_admin_fn fn, void *data);

	/* Durable key/value state, private to the module (every instance of
	 * it sees the same entries). Limits: POSTINO_STATE_KEY_MAX,
	 * POSTINO_STATE_VALUE_MAX.
	 * Consistency: a write is visible to every state_get, state_update
	 * and state_scan of the module, on every worker, as soon as the call
	 * that made it returns (read-your-writes), even though it becomes
	 * durable later; a crash before that loses it, and its done reports
	 * when it is safe.
	 *
	 * state_get: indexed read. Copies up to buflen bytes of the value
	 * into buf and sets *len_r to the value's FULL length (so *len_r >
	 * buflen means it was cut). 0, -ENOENT when absent or expired. */
	int (*state_get)(postino_mod *mod, const char *key, void *buf,
			 size_t buflen, size_t *len_r);
	/* state_put/state_delete: copy what they need, commit off the loop
	 * (group commit), then done(data, status) on the loop (done may be
	 * NULL). In admin commands they commit before returning. expires_at:
	 * unix seconds after which the entry is gone, 0 = never; the host
	 * prunes expired entries. */
	int (*state_put)(postino_mod *mod, const char *key, const void *value,
			 size_t len, int64_t expires_at,
			 void (*done)(void *data, int status), void *data);
	int (*state_delete)(postino_mod *mod, const char *key,
			    void (*done)(void *data, int status), void *data);
	/* Atomic read-modify-write of one key across all workers: fn sees the
	 * current value and decides the new one (see postino_state_update_fn);
	 * no other update of the key runs in between. Increment-and-get,
	 * sliding windows, first-seen records. Indexed read, then the write
	 * is committed like state_put (done as there; may be NULL). Returns
	 * fn's decision (1 stored, 0 unchanged, -1 deleted) or a negative
	 * errno below -1 (then fn may not have run). */
	int (*state_update)(postino_mod *mod, const char *key,
			    postino_state_update_fn fn, void *fn_data,
			    void (*done)(void *data, int status), void *data);
	/* Calls cb for every live entry whose key starts with prefix ("" for
	 * all), in key order; a nonzero return from cb stops the scan and is
	 * returned. The pointers are valid during cb; cb may not call the
	 * state service. Reads as many rows as there are entries: for admin
	 * commands and timers, not for every command of a busy session. */
	int (*state_scan)(postino_mod *mod, const char *prefix,
			  int (*cb)(void *data, const char *key,
				    const void *value, size_t len,
				    int64_t expires_at),
			  void *data);
};

/* What protocol modules use: connections, SASL, the policy hooks. Every
 * conn entry runs on the connection's worker (instant unless said). */
struct postino_host_proto {
	size_t size;

	/* Serves proto on the listeners naming it; proto must stay valid
	 * until fini. Returns 0, -EEXIST when another module serves the name,
	 * or -EINVAL. */
	int (*protocol_register)(postino_mod *mod,
				 const struct postino_protocol *proto,
				 void *data);
	/* Queues bytes for the client (copied). Replies queued while the host
	 * is handing the module input are sent together in one write.
	 * Returns 0; 1 when the output queue is over its high-water mark
	 * (stop producing until on_writable); -EAGAIN while a TLS handshake
	 * runs (nothing may be sent then: write after on_starttls); -EPIPE
	 * when closing. */
	int (*conn_write)(postino_conn *conn, const void *buf, size_t len);
	int (*conn_printf)(postino_conn *conn, const char *fmt, ...)
		__attribute__((format(printf, 2, 3)));
	/* Starts TLS. Call it right after queuing the protocol's go-ahead
	 * reply: the reply is sent in clear, any input the client sent after
	 * the STARTTLS line is discarded unread, then the handshake runs and
	 * on_starttls reports the result. -EALREADY inside TLS or when asked
	 * twice; -ENOTSUP when the server has no certificate (so do not
	 * advertise STARTTLS: conn_info's listener has none). */
	int (*conn_starttls)(postino_conn *conn);
	/* Closes after the queued output is sent; on_close follows. */
	void (*conn_close)(postino_conn *conn, const char *reason);
	/* The next n input bytes go to on_bytes instead of on_line (IMAP
	 * literals, SMTP BDAT); then lines again. -EINVAL for n = 0 or a
	 * protocol without on_bytes. */
	int (*conn_read_bytes)(postino_conn *conn, uint64_t n);
	/* Ends a conn_read_bytes run early (pass UINT64_MAX there to read raw
	 * bytes until you find your own end, as SMTP DATA must): call it from
	 * on_bytes; the last `unused` bytes of that chunk go back to line
	 * input (pipelined commands after the end of the data). */
	void (*conn_read_lines)(postino_conn *conn, size_t unused);
	/* Stops handing the module input (while an asynchronous step such as
	 * a password check runs); pipelined input waits, in order. A flag,
	 * not a counter: one resume undoes any number of pauses. */
	void (*conn_pause)(postino_conn *conn);
	void (*conn_resume)(postino_conn *conn);
	void (*conn_set_data)(postino_conn *conn, void *data);
	void *(*conn_get_data)(postino_conn *conn);
	const struct postino_conn_info *(*conn_info)(postino_conn *conn);
	/* Marks the session authenticated as account (copied), for logs and
	 * policies, and ends its pre-login stage (the listener's short
	 * preauth_timeout gives way to the idle timeout); NULL clears it and
	 * starts that stage again. sasl_start and auth_verify call it on
	 * success; call it yourself only for another way of logging in. */
	void (*conn_set_account)(postino_conn *conn, const char *account);

	/* Runs ev->point's hooks of every module (see hooks above) for a
	 * session on conn; done gets the outcome: CONTINUE/ACCEPT (go on),
	 * DEFER (4xx) or REJECT (5xx) with the reply's code and text. The
	 * event is copied; its listener and role are filled from conn. If
	 * conn closes first, done is not called (the module already had
	 * on_close). */
	int (*hooks_run)(postino_conn *conn, const struct postino_hook_event *ev,
			 void (*done)(void *data, enum postino_verdict verdict,
				      int code, const char *text),
			 void *data);

	/* The SASL mechanisms conn may use now, space-separated, for the
	 * protocol's capability list: "PLAIN LOGIN" inside TLS, "" before
	 * (plaintext authentication never works). Valid until on_close. */
	const char *(*sasl_mechanisms)(postino_conn *conn);
	/* Starts a SASL exchange for a client's AUTH/AUTHENTICATE. mechanism
	 * as the client named it (any case); initial: the initial response
	 * (base64, "=" for an empty one) or NULL for none. The host decodes,
	 * checks the credentials through auth_verify (with its hooks and
	 * throttling), and wipes every copy of the password. ops->challenge
	 * and ops->done may run before sasl_start or sasl_input returns; done
	 * runs exactly once unless conn closes. Pause input (conn_pause)
	 * while waiting for done, as for any asynchronous step. Returns 0,
	 * -ENOTSUP (mechanism not offered here), -EPERM (not inside TLS),
	 * -EBUSY (an exchange is running) or -EINVAL; then no callback runs. */
	int (*sasl_start)(postino_conn *conn, const char *mechanism,
			  const char *initial,
			  const struct postino_sasl_ops *ops, void *data);
	/* The client's line after a challenge (without its line end). */
	int (*sasl_input)(postino_conn *conn, const char *line, size_t len);
	/* Checks a user name and password given in the clear inside TLS
	 * (IMAP LOGIN, POP3 USER/PASS) with the same hooks and throttling:
	 * off the loop, then done on the loop with the result and, on
	 * success, the account's canonical address (conn_set_account already
	 * called); not at all if conn closed meanwhile. Copies and wipes the
	 * password. -EPERM outside TLS. */
	int (*auth_verify)(postino_conn *conn, const char *user,
			   const char *password,
			   void (*done)(void *data,
					enum postino_auth_result result,
					const char *account),
			   void *data);
};

/* What delivering modules use: addresses, received messages, delivery. */
struct postino_host_mail {
	size_t size;

	/* 1 when domain is hosted here, 0 when not. Indexed read. */
	int (*domain_is_local)(postino_mod *mod, const char *domain);
	/* Expands a local address: an account yields itself (local = 1), an
	 * alias its targets, recursively (local or remote). Returns the
	 * number of targets, 0 when nobody here has that address, or a
	 * negative errno. Indexed reads (one per alias level). */
	int (*address_expand)(postino_mod *mod, const char *address,
			      void (*target)(void *data, const char *address,
					     int local),
			      void *data);
	/* 1 when account may send as address: it is the account itself, or
	 * an alias that expands to it. Indexed reads. */
	int (*address_owned_by)(postino_mod *mod, const char *address,
				const char *account);
	/* A message being received: bytes are spooled (in memory, then in a
	 * file under state_dir) as they arrive, never held whole. conn may be
	 * NULL (mail the server makes itself). */
	postino_msg *(*msg_new)(postino_mod *mod, postino_conn *conn);
	/* Appends bytes (copied). 0, or a negative errno (the message is then
	 * unusable: discard it). */
	int (*msg_append)(postino_msg *msg, const void *buf, size_t len);
	uint64_t (*msg_size)(const postino_msg *msg);
	/* Puts "name: value" at the top of the message (above the Received
	 * lines, below Return-Path), e.g. Received-SPF from a DATA_END hook.
	 * Long values are folded. -EINVAL for a malformed name or a value
	 * holding CR, LF or NUL. */
	int (*msg_add_header)(postino_msg *msg, const char *name,
			      const char *value);
	/* Stores the message once for every local account (INBOX, next UID;
	 * a Return-Path header is prepended on these copies) and puts the
	 * remote recipients in the outbound queue, in one durable commit;
	 * then done(data, 0 or -errno) on the loop, unless the message's conn
	 * closed meanwhile (the message is delivered all the same). Consumes
	 * msg. Quotas (1.1): a local account over its quota does not get the
	 * message; the sender gets a bounce for it (none for the null
	 * sender), and when nobody at all could take it, nothing is stored
	 * and done gets -EDQUOT. Mail without a conn (the server's own) is
	 * never refused for a quota. */
	int (*msg_deliver)(postino_msg *msg, const struct postino_delivery *d,
			   void (*done)(void *data, int status), void *data);
	/* Drops a message that will not be delivered; sets *msg to NULL. */
	void (*msg_discard)(postino_msg **msg);

	/* (1.1) Copies up to len bytes of the message as it will be stored
	 * (the headers policies added, then the bytes received; without
	 * Return-Path) from offset; returns the count (0 at the end) or a
	 * negative errno. Any thread, while a DELIVERY hook holds msg (the
	 * message is complete and does not change then). */
	int64_t (*msg_read)(const postino_msg *msg, uint64_t offset,
			    void *buf, size_t len);
	/* (1.1) A DELIVERY hook's decisions for its account's copy; call
	 * them with the hook's call before hook_complete (or before the hook
	 * returns). Strings are copied. Each returns 0, -EINVAL (a bad
	 * argument: nothing recorded), -E2BIG (too many actions or
	 * redirects for one message: nothing recorded) or -ENOMEM.
	 * delivery_fileinto: store a copy in mailbox (UTF-8, "/" between
	 * levels; NULL or "INBOX": the INBOX, which is keep) with flags
	 * (POSTINO_FLAG_*, not RECENT) and keywords (space-separated IMAP
	 * atoms, or NULL). create = 1 creates a missing mailbox (and
	 * subscribes it); a missing one without create, or a name the store
	 * refuses, gets the copy in INBOX and a log line. Two copies for one
	 * mailbox are one, with the flags of both. */
	int (*delivery_fileinto)(postino_hook_call *call, const char *mailbox,
				 uint32_t flags, const char *keywords,
				 int create);
	/* Forward a copy to address (local@domain). The host resolves it
	 * as a recipient: a local one runs its own DELIVERY hooks (a
	 * redirect back to an account the copy already passed is a loop:
	 * one bounce to the sender, nothing forwarded); a remote one is
	 * queued with "Delivered-To: <account>" and, under [srs], an SRS
	 * envelope sender. The message's sender is kept for that. */
	int (*delivery_redirect)(postino_hook_call *call, const char *address);
	/* Refuse the copy: a bounce (RFC 3464) with reason goes to the
	 * sender (none for the null sender), nothing is stored. reason: one
	 * line of UTF-8. */
	int (*delivery_reject)(postino_hook_call *call, const char *reason);
	/* Nothing is stored: cancels the implicit keep alone. */
	int (*delivery_discard)(postino_hook_call *call);
	/* The subaddress separators of [server] recipient_delimiter, each
	 * character one (user+detail@domain reaches user@domain), or "" for
	 * none. Valid until fini. Instant. */
	const char *(*address_separators)(postino_mod *mod);
	/* Mail the server makes itself (notices, confirmations, automatic
	 * replies): delivers msg (consumed) with the null sender, which is
	 * never bounced back (RFC 3834), to to[0..to_count), each address
	 * routed as an SMTP recipient is: one in a hosted domain reaches its
	 * account or its alias's targets (stored, or forwarded as
	 * msg_deliver's remote_via; nobody there: skipped), any other goes
	 * to the outbound queue. state: NULL, or a postino_delivery whose
	 * optional state entry is written in the same commit (its other
	 * fields are not read). Returns as msg_deliver; also -ENOENT when no
	 * address reached anyone, -E2BIG past 64 recipients after
	 * expansion, -EINVAL for an address without "@" (then nothing is
	 * sent). Indexed reads, one per alias level. */
	int (*msg_deliver_to)(postino_msg *msg, const char *const *to,
			      size_t to_count,
			      const struct postino_delivery *state,
			      void (*done)(void *data, int status),
			      void *data);
};

/* What mail-access modules (IMAP, POP3) use: mailbox views and, for IMAP,
 * mailbox management. Names are UTF-8 with "/" between levels; "INBOX" is
 * any case. Writes commit durably off the loop and then call done on the
 * loop (always, unless said otherwise); status is 0 or a negative errno:
 * -ENOENT no such mailbox, -EEXIST already there, -EPERM not allowed
 * (INBOX), -ENOTEMPTY has children. A view belongs to the worker that
 * opened it. */
struct postino_host_mailbox {
	size_t size;

	/* Opens a view of account's mailbox `name` ("INBOX"): its messages
	 * in UID order as of now, indexed 0..count-1. -ENOENT when there is
	 * no such mailbox. flags (POSTINO_MAILBOX_*): EXCLUSIVE fails with
	 * -EBUSY while another exclusive view of the same mailbox is open
	 * anywhere on the node (POP3's maildrop lock); RECENT claims the
	 * \Recent messages. Indexed reads. */
	int (*mailbox_open)(postino_mod *mod, const char *account,
			    const char *name, unsigned flags,
			    postino_mailbox **mailbox_r);
	uint32_t (*mailbox_count)(postino_mailbox *mailbox);
	uint32_t (*mailbox_uidvalidity)(postino_mailbox *mailbox);
	/* Fills *info_r (set info_r->size = sizeof(*info_r) first). */
	int (*mailbox_message)(postino_mailbox *mailbox, uint32_t index,
			       struct postino_message_info *info_r);
	/* Copies up to len bytes of message `index` from offset; returns the
	 * count (0 at the end) or a negative errno. An indexed read. */
	int64_t (*mailbox_read)(postino_mailbox *mailbox, uint32_t index,
				uint64_t offset, void *buf, size_t len);
	/* Removes the messages with these UIDs in one durable commit, then
	 * done(data, 0 or -errno) on the loop (always called). */
	int (*mailbox_expunge)(postino_mailbox *mailbox, const uint32_t *uids,
			       size_t count,
			       void (*done)(void *data, int status),
			       void *data);
	/* Closes the view (and its lock); sets *mailbox to NULL. */
	void (*mailbox_close)(postino_mailbox **mailbox);

	/* Calls entry once per mailbox of account, in name order. */
	int (*mailbox_list)(postino_mod *mod, const char *account,
			    void (*entry)(void *data,
					  const struct postino_mailbox_entry *e),
			    void *data);
	/* Reads counts now (set status_r->size first). Indexed read. */
	int (*mailbox_status)(postino_mod *mod, const char *account,
			      const char *name,
			      struct postino_mailbox_status *status_r);
	int (*mailbox_create)(postino_mod *mod, const char *account,
			      const char *name, const char *special_use,
			      void (*done)(void *data, int status), void *data);
	/* Deletes a mailbox and its messages; INBOX cannot be deleted. */
	int (*mailbox_delete)(postino_mod *mod, const char *account,
			      const char *name,
			      void (*done)(void *data, int status), void *data);
	/* Renames a mailbox and its children; renaming INBOX moves its
	 * messages into a new mailbox `to` and leaves INBOX empty. */
	int (*mailbox_rename)(postino_mod *mod, const char *account,
			      const char *from, const char *to,
			      void (*done)(void *data, int status), void *data);
	int (*mailbox_subscribe)(postino_mod *mod, const char *account,
				 const char *name, int subscribed,
				 void (*done)(void *data, int status),
				 void *data);
	/* Stores msg (from msg_new/msg_append; consumed) in the mailbox with
	 * flags, keywords (space-separated or NULL) and internaldate (unix
	 * seconds; 0 = now), then done with the new UID; -EDQUOT (1.1) when
	 * it would take the account over its quota. */
	int (*mailbox_append)(postino_mod *mod, const char *account,
			      const char *name, postino_msg *msg,
			      uint32_t flags, const char *keywords,
			      int64_t internaldate,
			      void (*done)(void *data, int status,
					   uint32_t uidvalidity, uint32_t uid),
			      void *data);
	/* Changes flags and keywords of the messages with these UIDs; the
	 * view sees its own change at once (mailbox_message), without a
	 * flags_changed report at the next sync. */
	int (*mailbox_store)(postino_mailbox *mailbox, const uint32_t *uids,
			     size_t count, enum postino_store_mode mode,
			     uint32_t flags, const char *keywords,
			     void (*done)(void *data, int status), void *data);
	/* Copies (move = 1: moves) the messages with these UIDs into the
	 * account's mailbox dest in one commit; done gets the pairs of
	 * source and new UIDs (valid during the call). A move removes the
	 * sources; the view reports them at its next sync. A copy that would
	 * take the account over its quota copies nothing: -EDQUOT (1.1); a
	 * move does not change usage and is never refused for it. */
	int (*mailbox_copy)(postino_mailbox *mailbox, const uint32_t *uids,
			    size_t count, const char *dest, int move,
			    void (*done)(void *data, int status,
					 uint32_t uidvalidity,
					 const uint32_t *src_uids,
					 const uint32_t *dst_uids, size_t count),
			    void *data);
	/* changed(data) runs on the view's loop thread after anyone on the
	 * node commits a change to the view's mailbox; call mailbox_sync to
	 * see it. NULL stops watching. */
	void (*mailbox_watch)(postino_mailbox *mailbox,
			      void (*changed)(void *data), void *data);
	/* Brings the view up to date. With expunges = 1, each message gone
	 * since the last sync is removed and reported, highest index first
	 * (so every index is valid when reported); with 0 they stay in the
	 * view (reads of them fail with -ENOENT) until a sync with 1. Then
	 * flags_changed(index) for every message whose flags or keywords
	 * someone else changed, and new messages are appended at the end
	 * (see mailbox_count). Callbacks may be NULL. */
	int (*mailbox_sync)(postino_mailbox *mailbox, int expunges,
			    void (*expunged)(void *data, uint32_t index),
			    void (*flags_changed)(void *data, uint32_t index),
			    void *data);
	/* Copies a stored summary of message index, NUL-terminated, into buf;
	 * returns its length (when >= buflen, call again with a bigger buf)
	 * or a negative errno. An indexed read. */
	int64_t (*mailbox_mime)(postino_mailbox *mailbox, uint32_t index,
				enum postino_mime_summary which, char *buf,
				size_t buflen);
	/* Byte ranges of part `path` (depth numbers, e.g. {2, 1}; depth 0 =
	 * the message itself) of message index, for mailbox_read. -ENOENT
	 * when the message has no such part. An indexed read. */
	int (*mailbox_section)(postino_mailbox *mailbox, uint32_t index,
			       const uint32_t *path, size_t depth,
			       struct postino_section *section_r);

	/* ---- 1.1 ---- */
	/* Calls name(data, name) for each name of account's subscription
	 * list, in byte order: names, which need not be mailboxes (RFC 3501
	 * 6.3.6: mailbox_delete and mailbox_rename leave them; mailbox_list
	 * says which existing mailboxes are subscribed). Indexed read. */
	int (*mailbox_subscriptions)(postino_mod *mod, const char *account,
				     void (*name)(void *data,
						  const char *name),
				     void *data);
	/* Any thread. What SEARCH matches in a message (RFC 3501 6.4.4),
	 * as UTF-8 text written to buf (at most buflen bytes: the rest is
	 * cut): its header fields one a line, "Name: value\n", unfolded,
	 * encoded words decoded, address fields as ENVELOPE parses them
	 * ("Real Name <local@domain>, ..."), *header_len_r their length;
	 * with body set, then "\n" and the text of its text parts, transfer
	 * encodings undone and charsets converted, each ending in "\n".
	 * msg is the message as stored (mailbox_read), or its header
	 * alone. Linear in len. The length, or a negative errno. */
	int64_t (*mime_search_text)(const void *msg, size_t len, int body,
				    char *buf, size_t buflen,
				    size_t *header_len_r);
	/* ---- 1.1: CONDSTORE and QRESYNC (RFC 7162) ---- */
	/* The mailbox's HIGHESTMODSEQ as of the view's last sync (or open):
	 * every change the view has been told of has a modseq at most this;
	 * a message's own is postino_message_info.modseq. Every change to
	 * a message (flags, keywords) and every expunge takes a new one. */
	uint64_t (*mailbox_highestmodseq)(postino_mailbox *mailbox);
	/* Calls range(data, lo, hi), ascending and disjoint, for the UIDs
	 * of the messages expunged after modseq `since` and by the view's
	 * highestmodseq. Returns 0; or 1 when the mailbox no longer
	 * remembers expunges that far back (the oldest are forgotten past
	 * 64 K per mailbox) and range got instead every UID below the
	 * view's UIDNEXT that the view does not have (a superset, as RFC
	 * 7162 3.2.5.2 allows); or a negative errno. Indexed read,
	 * O(UIDs reported). */
	int (*mailbox_vanished)(postino_mailbox *mailbox, uint64_t since,
				void (*range)(void *data, uint32_t lo,
					      uint32_t hi),
				void *data);
	/* mailbox_store, only for the messages whose modseq is still at
	 * most unchangedsince when the store commits (RFC 7162 3.1.3
	 * UNCHANGEDSINCE; checked atomically); the others are left as
	 * they are and done gets their UIDs (valid during the call). */
	int (*mailbox_store_unchangedsince)(
		postino_mailbox *mailbox, const uint32_t *uids, size_t count,
		enum postino_store_mode mode, uint32_t flags,
		const char *keywords, uint64_t unchangedsince,
		void (*done)(void *data, int status, const uint32_t *modified,
			     size_t n_modified),
		void *data);
};

/* What account-managing modules (password policy, panels) use. */
struct postino_host_account {
	size_t size;

	/* Reads an account now. Address case is ignored. 0, -ENOENT when
	 * there is no such account, -EINVAL. Indexed read. */
	int (*account_get)(postino_mod *mod, const char *address,
			   struct postino_account *account_r);
	/* Calls cb(data, address) for every account, or only domain's when
	 * domain is not NULL, in address order. A nonzero return from cb
	 * stops the walk and is returned. cb may read but must not call
	 * account_list again; collect addresses first to write. -ENOENT for
	 * an unknown domain. The address is valid during cb. Reads every
	 * account: admin commands, timers, work(). */
	int (*account_list)(postino_mod *mod, const char *domain,
			    int (*cb)(void *data, const char *address),
			    void *data);
	/* Hashes password with yescrypt (fresh salt) off the loop, then
	 * done(data, 0, hash) on the loop, or done(data, -errno, NULL); the
	 * hash is valid during done. The password is copied and wiped. In
	 * admin commands done runs before this returns. Returns 0 or a
	 * negative errno (done not called). */
	int (*password_hash)(postino_mod *mod, const char *password,
			     void (*done)(void *data, int status,
					  const char *hash),
			     void *data);
	/* Checks password against a yescrypt hash off the loop (constant
	 * time); done(data, 1) on a match, 0 otherwise. Same threading and
	 * copying as password_hash. */
	int (*password_verify)(postino_mod *mod, const char *password,
			       const char *hash,
			       void (*done)(void *data, int match),
			       void *data);
	/* Whether password is one of account's last `last` passwords (the
	 * current one and the newest last-1 of its history; the host keeps at
	 * least 24). Hashes are read on the calling thread, checked off the
	 * loop; done(data, 1) found, 0 not, or a negative errno (-ENOENT: no
	 * such account). Same threading and copying as password_hash. */
	int (*password_in_history)(postino_mod *mod, const char *account,
				   const char *password, unsigned last,
				   void (*done)(void *data, int status),
				   void *data);
	/* Sets account's password to a yescrypt hash (from password_hash),
	 * keeping the old one in the history and setting password_changed
	 * to now, in one durable commit; then runs the PASSWORD_CHANGED hooks
	 * of every OTHER module (never the caller's own: it made the change
	 * and knows, and its hook would run into itself), then done(data, 0
	 * or -errno) on the loop. In admin commands it completes before
	 * returning. -EINVAL for a hash that is not yescrypt. */
	int (*password_set_hash)(postino_mod *mod, const char *account,
				 const char *hash,
				 void (*done)(void *data, int status),
				 void *data);

	/* ABI 1.1. Reads account's quota and usage now (set quota_r->size
	 * first): 0, -ENOENT when there is no such account, -EINVAL. Reads
	 * one row per mailbox of the account: fine once per command. */
	int (*account_quota)(postino_mod *mod, const char *account,
			     struct postino_quota *quota_r);
	/* ABI 1.1. Changes account's secondary address (NULL: unchanged,
	 * "": none; an address local@domain otherwise) and language (NULL:
	 * unchanged, "it", "en", "": the default) in one durable commit,
	 * then done(data, 0 or -errno: -ENOENT no such account) on the loop
	 * (in admin commands before returning). Returns 0 or -EINVAL (a
	 * malformed address or language: done not called). */
	int (*account_set)(postino_mod *mod, const char *account,
			   const char *secondary, const char *lang,
			   void (*done)(void *data, int status), void *data);
};

/* The table init receives. Valid until fini. */
struct postino_host {
	size_t size;
	uint32_t abi_major;
	uint32_t abi_minor;
	const struct postino_host_core *core;
	const struct postino_host_policy *policy;
	const struct postino_host_proto *proto;
	const struct postino_host_mail *mail;
	const struct postino_host_mailbox *mailbox;
	const struct postino_host_account *account;
};

/* ---- the module descriptor ------------------------------------------------ */

struct postino_module {
	size_t size;         /* sizeof(struct postino_module) */
	uint32_t abi_major;  /* POSTINO_ABI_MAJOR */
	uint32_t abi_minor;  /* POSTINO_ABI_MINOR */
	const char *name;    /* must equal the `load = NAME` that loads it */
	const char *version;
	const char *description;
	const struct postino_config_key *config_keys; /* NULL: no [NAME] keys */
	size_t config_key_size; /* sizeof(struct postino_config_key) */
	/* Called once per worker after loading (see Threads above); register
	 * hooks, protocols, timers and commands here. Returns 0, or a
	 * negative errno after logging why. *data_r is passed back to fini. */
	int (*init)(postino_mod *mod, const struct postino_host *host,
		    void **data_r);
	void (*fini)(postino_mod *mod, void *data);
	/* Modules that must be loaded for this one to work (NULL-terminated),
	 * e.g. managesieve needs sieve; NULL for none. The host refuses to
	 * start, naming both, when one is missing. */
	const char *const *requires;
	/* (1.1) Protocols this module registers that may be served on a
	 * listener with `tls = none` (NULL-terminated; NULL: none): only
	 * protocols that never authenticate (HTTP's redirects to HTTPS and
	 * autoconfiguration). In the descriptor, not the protocol, so that
	 * `postinod -t` can check listeners without running init. Every
	 * other protocol on a `tls = none` listener is a configuration
	 * error; the host's SASL service refuses outside TLS regardless. */
	const char *const *cleartext_protocols;
};

/* Fills the version fields of a descriptor:
 *   POSTINO_EXPORT const struct postino_module postino_module_v1 = {
 *       POSTINO_MODULE_HEADER, .name = "example", ... };
 */
#define POSTINO_MODULE_HEADER                       \
	.size = sizeof(struct postino_module),      \
	.abi_major = POSTINO_ABI_MAJOR,             \
	.abi_minor = POSTINO_ABI_MINOR,             \
	.config_key_size = sizeof(struct postino_config_key)

#ifdef __cplusplus
}
#endif

#endif
