/* Postino plugin ABI, major 1.
 *
 * This is the only server header a module may include. Rules that keep old
 * modules loading across minor releases:
 *   - a module exports exactly one symbol, `postino_module_v1`, and is built
 *     with -fvisibility=hidden; it never links against host symbols;
 *   - the host hands the module a const `struct postino_host`, an append-only
 *     table of function pointers; a module built for minor N may call any
 *     entry that existed in minor N, and checks `host->size` (or
 *     POSTINO_HOST_HAS) before calling entries added later;
 *   - structs a module hands to the host start with their size; the host
 *     reads only the fields that size covers;
 *   - structs the host hands to a module start with their size too; a module
 *     reads a field only when POSTINO_HAS_FIELD says it is there.
 * This file changes only by appending.
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
#define POSTINO_ABI_MINOR 0

/* The one symbol a module exports. */
#define POSTINO_MODULE_SYMBOL "postino_module_v1"
#define POSTINO_EXPORT __attribute__((visibility("default")))

/* True when a struct that starts with `size_t size` has FIELD. */
#define POSTINO_HAS_FIELD(ptr, type, field) \
	((ptr)->size >= offsetof(type, field) + sizeof(((type *)0)->field))
#define POSTINO_HOST_HAS(host, entry) \
	POSTINO_HAS_FIELD(host, struct postino_host, entry)

/* Opaque handles owned by the host. */
typedef struct postino_mod postino_mod;             /* one loaded module */
typedef struct postino_hook_call postino_hook_call; /* one hook invocation */
typedef struct postino_timer postino_timer;         /* one repeating timer */
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
	POSTINO_HOOK_SMTP_CONNECT = 1,
	POSTINO_HOOK_SMTP_HELO = 2,
	POSTINO_HOOK_SMTP_AUTH = 3,
	POSTINO_HOOK_SMTP_MAIL_FROM = 4,
	POSTINO_HOOK_SMTP_RCPT_TO = 5,
	POSTINO_HOOK_SMTP_DATA_HEADERS = 6,
	POSTINO_HOOK_SMTP_DATA_END = 7,
	POSTINO_HOOK_AUTH_BEFORE_VERIFY = 8,
	POSTINO_HOOK_AUTH_RESULT = 9,
	POSTINO_HOOK_PASSWORD_VALIDATE = 10,
	POSTINO_HOOK_PASSWORD_CHANGED = 11,
};

/* What a hook decides. CONTINUE lets the next module's hook run; ACCEPT ends
 * the chain with success; DEFER (4xx) and REJECT (5xx) end it with the reply
 * set by hook_reply(); PENDING means the module will call hook_complete()
 * later, on the loop thread. */
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
	const char *protocol;   /* "smtp", "imap", "pop3", or "admin" */
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
};

typedef enum postino_verdict (*postino_hook_fn)(
	postino_hook_call *call, const struct postino_hook_event *ev, void *data);

/* ---- admin subcommands --------------------------------------------------- */

/* Runs `postino MODULE COMMAND ARGS...`; argv[0] is COMMAND. Returns a
 * sysexits(3) code. `out` and `err` are the command's stdout and stderr. */
typedef int (*postino_admin_fn)(void *data, int argc, char **argv,
				FILE *out, FILE *err);

/* ---- protocols and connections ------------------------------------------ */

/* A protocol a module serves on every listener whose `protocol =` names it.
 * All callbacks run on the loop thread; `data` is what protocol_register
 * was given. Pointers passed to callbacks are valid only during the call. */
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
	/* Sent (followed by CRLF) before closing a connection whose command
	 * line did not arrive within the listener's command_timeout, so the
	 * client is told what happened ("command not received in time")
	 * rather than that it was idle; NULL: timeout_reply. */
	const char *command_timeout_reply;
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
};

/* ---- authentication and delivery ---------------------------------------- */

enum postino_auth_result {
	POSTINO_AUTH_OK = 0,
	POSTINO_AUTH_FAILED = 1,    /* unknown account or wrong password */
	POSTINO_AUTH_DISABLED = 2,  /* right password, account disabled */
	POSTINO_AUTH_TEMPFAIL = 3,  /* store trouble, or refused by a policy
				     * (throttling): try again later */
};

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

/* One message of an open mailbox view. */
struct postino_message_info {
	size_t size;
	uint32_t uid;
	uint64_t octets;      /* stored size, CRLF line ends */
	uint32_t flags;
	int64_t internaldate; /* unix seconds */
	/* Appended for IMAP. */
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

struct postino_host {
	size_t size;
	uint32_t abi_major;
	uint32_t abi_minor;

	/* Logging: one line, never a password or a message body. Safe on any
	 * thread. session_id may be NULL. */
	void (*log)(postino_mod *mod, enum postino_log_level level,
		    const char *session_id, const char *fmt, ...)
		__attribute__((format(printf, 4, 5)));

	/* Values of the module's own [NAME] section, defaults applied. The
	 * string is owned by the host and valid until fini. A number is the
	 * parsed INT/BOOL/DURATION/SIZE value. */
	const char *(*config_string)(postino_mod *mod, const char *key);
	int64_t (*config_number)(postino_mod *mod, const char *key);

	/* Hooks run in module load order. Returns 0 or a negative errno. */
	int (*hook_register)(postino_mod *mod, enum postino_hook_point point,
			     postino_hook_fn fn, void *data);
	/* Sets the reply of a DEFER or REJECT: code is 4xx or 5xx, text the
	 * rest of the line (e.g. "5.7.1 Relaying denied"). Copied. */
	void (*hook_reply)(postino_hook_call *call, int code, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));
	/* Finishes a hook that returned PENDING. Call it exactly once, on the
	 * loop thread; `call` is invalid afterwards. */
	void (*hook_complete)(postino_hook_call *call, enum postino_verdict verdict);

	/* Repeating timer on the loop thread; first run after first_ms, then
	 * every repeat_ms (0: once). Timers only fire in the daemon. */
	postino_timer *(*timer_start)(postino_mod *mod, uint64_t first_ms,
				      uint64_t repeat_ms,
				      void (*cb)(void *data), void *data);
	/* Stops and frees the timer; sets *timer to NULL. */
	void (*timer_stop)(postino_timer **timer);

	/* Runs work(data) on a worker thread, then done(data, status) on the
	 * loop thread (status 0, or negative when cancelled at shutdown).
	 * work() may call only log() and now_ms(). */
	int (*work_submit)(postino_mod *mod, void (*work)(void *data),
			   void (*done)(void *data, int status), void *data);

	/* `postino NAME COMMAND ...` runs fn. usage is one line for help. */
	int (*admin_register)(postino_mod *mod, const char *command,
			      const char *usage, postino_admin_fn fn, void *data);

	/* Per-module durable key/value state (keys are private to the module).
	 * state_get reads now: 0 and *len_r set (the value is truncated to
	 * buflen), -ENOENT when absent or expired. state_put/state_delete
	 * commit off the loop and then call done(data, status) on the loop
	 * (done may be NULL); in admin commands they commit before returning.
	 * expires_at: unix seconds after which the entry is gone, 0 = never. */
	int (*state_get)(postino_mod *mod, const char *key, void *buf,
			 size_t buflen, size_t *len_r);
	int (*state_put)(postino_mod *mod, const char *key, const void *value,
			 size_t len, int64_t expires_at,
			 void (*done)(void *data, int status), void *data);
	int (*state_delete)(postino_mod *mod, const char *key,
			    void (*done)(void *data, int status), void *data);

	/* Wall clock, milliseconds since the epoch. Safe on any thread. */
	int64_t (*now_ms)(void);

	/* ---- protocols and connections ---- */

	/* Serves proto on the listeners naming it; proto must stay valid
	 * until fini. Returns 0, -EEXIST when another module serves the name,
	 * or -EINVAL. */
	int (*protocol_register)(postino_mod *mod,
				 const struct postino_protocol *proto,
				 void *data);
	/* Queues bytes for the client (copied). Replies queued while the host
	 * is handing the module input are sent together in one write.
	 * Returns 0; 1 when the output queue is over its high-water mark
	 * (stop producing until on_writable); -EPIPE when closing. */
	int (*conn_write)(postino_conn *conn, const void *buf, size_t len);
	int (*conn_printf)(postino_conn *conn, const char *fmt, ...)
		__attribute__((format(printf, 2, 3)));
	/* Starts TLS. Call it right after queuing the protocol's go-ahead
	 * reply: the reply is sent in clear, any input the client sent after
	 * the STARTTLS line is discarded unread, then the handshake runs and
	 * on_starttls reports the result. -EALREADY inside TLS. */
	int (*conn_starttls)(postino_conn *conn);
	/* Closes after the queued output is sent; on_close follows. */
	void (*conn_close)(postino_conn *conn, const char *reason);
	/* The next n input bytes go to on_bytes instead of on_line (IMAP
	 * literals, SMTP BDAT); then lines again. */
	int (*conn_read_bytes)(postino_conn *conn, uint64_t n);
	/* Stops handing the module input (while an asynchronous step such as
	 * a password check runs); pipelined input waits, in order. */
	void (*conn_pause)(postino_conn *conn);
	void (*conn_resume)(postino_conn *conn);
	void (*conn_set_data)(postino_conn *conn, void *data);
	void *(*conn_get_data)(postino_conn *conn);
	const struct postino_conn_info *(*conn_info)(postino_conn *conn);
	/* Marks the session authenticated as account (copied), for logs and
	 * for policies; NULL clears it. */
	void (*conn_set_account)(postino_conn *conn, const char *account);

	/* ---- authentication, policy hooks, addresses, delivery ---- */

	/* Checks a password off the loop, with the AUTH_BEFORE_VERIFY hooks
	 * first (a policy may refuse: TEMPFAIL) and the AUTH_RESULT hooks
	 * after. done runs on the loop with the result and, on success, the
	 * account's canonical address; not at all if conn closed meanwhile.
	 * The password is copied and wiped. */
	int (*auth_verify)(postino_conn *conn, const char *protocol,
			   const char *account, const char *password,
			   void (*done)(void *data,
					enum postino_auth_result result,
					const char *account),
			   void *data);
	/* Runs ev->point's hooks of every module (see hooks above) for a
	 * session on conn; done gets the outcome: CONTINUE/ACCEPT (go on),
	 * DEFER (4xx) or REJECT (5xx) with the reply's code and text. The
	 * event is copied. If conn closes first, done is not called (the
	 * module already had on_close). */
	int (*hooks_run)(postino_conn *conn, const struct postino_hook_event *ev,
			 void (*done)(void *data, enum postino_verdict verdict,
				      int code, const char *text),
			 void *data);
	/* 1 when domain is hosted here, 0 when not. */
	int (*domain_is_local)(postino_mod *mod, const char *domain);
	/* Expands a local address: an account yields itself (local = 1), an
	 * alias its targets, recursively (local or remote). Returns the
	 * number of targets, 0 when nobody here has that address, or a
	 * negative errno. */
	int (*address_expand)(postino_mod *mod, const char *address,
			      void (*target)(void *data, const char *address,
					     int local),
			      void *data);
	/* 1 when account may send as address: it is the account itself, or
	 * an alias that expands to it. */
	int (*address_owned_by)(postino_mod *mod, const char *address,
				const char *account);
	/* A message being received: bytes are spooled (in memory, then in a
	 * file under state_dir) as they arrive, never held whole. conn may be
	 * NULL (mail the server makes itself). */
	postino_msg *(*msg_new)(postino_mod *mod, postino_conn *conn);
	int (*msg_append)(postino_msg *msg, const void *buf, size_t len);
	uint64_t (*msg_size)(const postino_msg *msg);
	/* Stores the message once for every local account (INBOX, next UID;
	 * a Return-Path header is prepended on these copies) and puts the
	 * remote recipients in the outbound queue, in one durable commit;
	 * then done(data, 0 or -errno) on the loop, unless the message's conn
	 * closed meanwhile (the message is delivered all the same). Consumes
	 * msg. */
	int (*msg_deliver)(postino_msg *msg, const struct postino_delivery *d,
			   void (*done)(void *data, int status), void *data);
	/* Drops a message that will not be delivered; sets *msg to NULL. */
	void (*msg_discard)(postino_msg **msg);
	/* The server's name (for greetings and Received headers). */
	const char *(*hostname)(postino_mod *mod);
	/* Ends a conn_read_bytes run early (pass UINT64_MAX there to read raw
	 * bytes until you find your own end, as SMTP DATA must): call it from
	 * on_bytes; the last `unused` bytes of that chunk go back to line
	 * input (pipelined commands after the end of the data). */
	void (*conn_read_lines)(postino_conn *conn, size_t unused);
	/* Puts "name: value" at the top of the message (above the Received
	 * lines, below Return-Path), e.g. Received-SPF from a DATA_END hook.
	 * Long values are folded. -EINVAL for a malformed name or a value
	 * holding CR, LF or NUL. */
	int (*msg_add_header)(postino_msg *msg, const char *name,
			      const char *value);

	/* ---- mailboxes ---- */

	/* Opens a view of account's mailbox `name` ("INBOX"): its messages
	 * in UID order as of now, indexed 0..count-1. -ENOENT when there is
	 * no such mailbox. `exclusive` holds POSTINO_MAILBOX_* flags:
	 * EXCLUSIVE (1) fails with -EBUSY while another exclusive view of the
	 * same mailbox is open (POP3's maildrop lock); non-exclusive views
	 * never conflict. */
	int (*mailbox_open)(postino_mod *mod, const char *account,
			    const char *name, int exclusive,
			    postino_mailbox **mailbox_r);
	uint32_t (*mailbox_count)(postino_mailbox *mailbox);
	uint32_t (*mailbox_uidvalidity)(postino_mailbox *mailbox);
	/* Fills *info_r (set info_r->size = sizeof(*info_r) first). */
	int (*mailbox_message)(postino_mailbox *mailbox, uint32_t index,
			       struct postino_message_info *info_r);
	/* Copies up to len bytes of message `index` from offset; returns the
	 * count (0 at the end) or a negative errno. A short indexed read. */
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

	/* ---- IMAP mailboxes ----
	 * Names are UTF-8 with "/" between levels; "INBOX" is any case.
	 * Writes commit durably off the loop and then call done on the loop
	 * (always, unless said otherwise); status is 0 or a negative errno:
	 * -ENOENT no such mailbox, -EEXIST already there, -EPERM not allowed
	 * (INBOX), -ENOTEMPTY has children. */

	/* Calls entry once per mailbox of account, in name order. */
	int (*mailbox_list)(postino_mod *mod, const char *account,
			    void (*entry)(void *data,
					  const struct postino_mailbox_entry *e),
			    void *data);
	/* Reads counts now (set status_r->size first). */
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
	 * seconds; 0 = now), then done with the new UID. */
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
	 * sources; the view reports them at its next sync. */
	int (*mailbox_copy)(postino_mailbox *mailbox, const uint32_t *uids,
			    size_t count, const char *dest, int move,
			    void (*done)(void *data, int status,
					 uint32_t uidvalidity,
					 const uint32_t *src_uids,
					 const uint32_t *dst_uids, size_t count),
			    void *data);
	/* changed(data) runs on the loop after anyone (this server process)
	 * commits a change to the view's mailbox; call mailbox_sync to see
	 * it. NULL stops watching. */
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
	 * or a negative errno. */
	int64_t (*mailbox_mime)(postino_mailbox *mailbox, uint32_t index,
				enum postino_mime_summary which, char *buf,
				size_t buflen);
	/* Byte ranges of part `path` (depth numbers, e.g. {2, 1}; depth 0 =
	 * the message itself) of message index, for mailbox_read. -ENOENT
	 * when the message has no such part. */
	int (*mailbox_section)(postino_mailbox *mailbox, uint32_t index,
			       const uint32_t *path, size_t depth,
			       struct postino_section *section_r);

	/* ---- accounts ---- */

	/* Reads an account now (loop thread; an indexed read). Address case
	 * is ignored. 0, -ENOENT when there is no such account, -EINVAL. */
	int (*account_get)(postino_mod *mod, const char *address,
			   struct postino_account *account_r);
	/* Calls cb(data, address) for every account, or only domain's when
	 * domain is not NULL, in address order (loop thread). A nonzero
	 * return from cb stops the walk and is returned. cb may read but
	 * must not call account_list again; collect addresses first to write.
	 * -ENOENT for an unknown domain. The address is valid during cb. */
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
	/* Called once after loading; register hooks, timers, commands here.
	 * Returns 0, or a negative errno after logging why. *data_r is passed
	 * back to fini. */
	int (*init)(postino_mod *mod, const struct postino_host *host,
		    void **data_r);
	void (*fini)(postino_mod *mod, void *data);
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
