/* Private to core/store (and core/auth, which keeps its verification
 * counter and pending-work references in the store). Nothing outside the
 * core may include this. */
#ifndef POSTINO_STORE_INTERNAL_H
#define POSTINO_STORE_INTERNAL_H

#include <sqlite3.h>
#include <stdint.h>
#include <uv.h>

#include "store/store.h"

/* The writer takes at most this many jobs per transaction, so one burst
 * cannot hold the write lock (and the admin CLI) for long. */
#define STORE_BATCH_MAX 512
/* How long a writer waits for the other process's write lock (the daemon
 * for the CLI, the CLI for the daemon's writer thread). Never applied to
 * the loop thread's read connection. */
#define STORE_BUSY_TIMEOUT_MS 10000

/* Every cached statement has one slot; the SQL text lives next to the code
 * that uses it (store_conn_stmt). */
enum store_stmt_id {
	STMT_BEGIN,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_SAVEPOINT,
	STMT_ROLLBACK_TO,
	STMT_RELEASE,
	STMT_BLOB_SWEEP,

	STMT_DOMAIN_ADD,
	STMT_DOMAIN_ID,
	STMT_DOMAIN_HAS_ACCOUNTS,
	STMT_DOMAIN_DEL,
	STMT_ACCOUNT_ADD,
	STMT_ACCOUNT_DEL,
	STMT_ACCOUNT_SET,
	STMT_ACCOUNT_HASH,
	STMT_ACCOUNT_SET_HASH,
	STMT_HISTORY_ADD,
	STMT_HISTORY_TRIM,
	STMT_MAILBOX_ADD,
	STMT_ACCOUNT_SUBSCRIBE,
	STMT_ALIAS_ADD,
	STMT_ALIAS_DEL,

	STMT_BLOB_FIND,
	STMT_BLOB_ADD,
	STMT_MAILBOX_NEXT_UID,
	STMT_MESSAGE_ADD,
	STMT_MESSAGE_DEL,
	STMT_INBOX_ID,
	STMT_QUEUE_ADD,
	STMT_QUEUE_RCPT_ADD,
	STMT_QUEUE_FAIL_ALL,

	STMT_STATE_PUT,
	STMT_STATE_DEL,
	STMT_STATE_PRUNE,

	STMT_R_DOMAIN_EXISTS,
	STMT_R_DOMAIN_LIST,
	STMT_R_ACCOUNT_GET,
	STMT_R_ACCOUNT_LIST,
	STMT_R_ACCOUNT_LIST_DOMAIN,
	STMT_R_ACCOUNT_ID,
	STMT_R_HISTORY,
	STMT_R_ALIAS_LIST,
	STMT_R_ALIAS_LIST_SOURCE,
	STMT_R_MAILBOX_LIST,
	STMT_R_MAILBOX_GET,
	STMT_R_SUBSCRIPTION_LIST,
	STMT_R_MESSAGE_READ,
	STMT_R_BLOB_STATS,
	STMT_R_STATE_GET,
	STMT_R_STATE_SCAN,
	STMT_R_MESSAGE_LIST,

	/* store_queue.c: the outbound queue. */
	STMT_QUEUE_RCPT_SET,
	STMT_QUEUE_RETRY,
	STMT_QUEUE_DEL,
	STMT_QUEUE_FLUSH_ONE,
	STMT_QUEUE_FLUSH_ALL,
	STMT_R_QUEUE_DUE,
	STMT_R_QUEUE_GET,
	STMT_R_QUEUE_LIST,
	STMT_R_QUEUE_RCPTS,

	/* IMAP mailboxes (store_mailboxes.c, store_flags.c, store_mime.c,
	 * store_read_imap.c) */
	STMT_MAILBOX_ID,
	STMT_MAILBOX_DEL,
	STMT_MAILBOX_HAS_CHILDREN,
	STMT_MAILBOX_RENAME,
	STMT_MAILBOX_NEXT_UIDVALIDITY,
	STMT_MAILBOX_BY_UIDVALIDITY,
	STMT_MAILBOX_RECENT,
	STMT_MAILBOX_SUBSCRIBE,
	STMT_MAILBOX_UNSUBSCRIBE,
	STMT_MAILBOX_TAKE_MODSEQ,
	STMT_MESSAGE_FLAGS_GET,
	STMT_MESSAGE_FLAGS_SET,
	STMT_MESSAGE_COPY,
	STMT_VANISHED_COUNT,
	STMT_VANISHED_CUT,
	STMT_VANISHED_PRUNE,
	STMT_VANISHED_FLOOR,
	STMT_MIME_HAS,
	STMT_MIME_PUT,
	STMT_R_MAILBOX_STATUS,
	STMT_R_MESSAGE_COUNT_FROM,
	STMT_R_MESSAGE_CHANGES,
	STMT_R_VANISHED,
	STMT_R_MIME_ENVELOPE,
	STMT_R_MIME_BODY,
	STMT_R_MIME_BODYSTRUCTURE,
	STMT_R_MIME_PARTS,
	STMT_R_BEGIN,
	STMT_R_END,

	/* Quotas (store_quota.c). */
	STMT_QUOTA_GET,
	STMT_QUOTA_SET,
	STMT_DOMAIN_QUOTA_SET,
	STMT_QUOTA_WARNED,
	STMT_R_QUOTA_GET,
	STMT_R_DOMAIN_QUOTA,

	STMT__COUNT
};

/* One SQLite connection and its prepared statements. Used by one thread
 * at a time: the writer thread (daemon write side), the loop thread (read
 * side) or the CLI (admin). */
struct store_conn {
	sqlite3 *db;
	sqlite3_stmt *stmts[STMT__COUNT];
	char err[256];
};

struct store_txn {
	struct store_conn *conn;
};

struct store_job {
	struct store_job *next;
	struct store *owner; /* whose loop runs done */
	store_job_fn *job;
	store_done_fn *done;
	void *data;
	int status;
};

struct store_job_list {
	struct store_job *head;
	struct store_job **tail;
	size_t count;
};

/* The store as store_open made it (daemon mode: it owns the writer
 * thread), or a worker's handle (store_open_worker): its own read-only
 * connection and loop, jobs through its writer's queue. */
struct store {
	enum store_mode mode;
	uv_loop_t *loop;
	struct store *writer; /* the store owning the writer; itself there */

	struct store_conn write; /* the writer thread's, or the admin one */
	struct store_conn read;  /* daemon mode only */
	struct store_conn *reader; /* &read (daemon) or &write (admin) */
	struct store_txn txn;

	/* Daemon mode. lock guards done (every store), and on the writer's
	 * store queue and closing too. */
	uv_thread_t thread;
	uv_mutex_t lock;
	uv_cond_t wake;
	uv_async_t async;
	struct store_job_list queue;
	struct store_job_list done;
	int closing;
	int sync_ready; /* lock/wake initialised */

	/* Loop thread only. closed: store_close ran; the struct lingers until
	 * refs (one for the owner or the async handle, one per pending
	 * auth_verify_async) drop to zero. A worker's handle closes its
	 * async only once its jobs in flight (outstanding) are done. */
	int closed;
	unsigned refs;
	unsigned outstanding;

	uint64_t auth_hashes; /* __atomic, on the writer's store */
	uint64_t jobs;    /* __atomic: written by the writer */
	uint64_t commits; /* __atomic */
};

/* store_conn.c */
int store_conn_open(struct store_conn *conn, const char *path, int flags,
		    int busy_ms, char *err, size_t errlen);
void store_conn_close(struct store_conn *conn);
/* The cached statement for id, prepared from sql on first use and reset;
 * NULL (conn->err set) when preparing fails. sql must be the same text at
 * every call site of one id. */
sqlite3_stmt *store_conn_stmt(struct store_conn *conn, enum store_stmt_id id,
			      const char *sql);
/* Records "what: sqlite message" in conn->err and returns rc as a negative
 * errno. */
int store_conn_fail(struct store_conn *conn, int rc, const char *what);
/* Records a message of our own and returns code. */
int store_conn_errorf(struct store_conn *conn, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Steps a statement that returns no row, then resets it. */
int store_conn_step_done(struct store_conn *conn, sqlite3_stmt *stmt,
			 const char *what);
/* Runs one cached, parameterless statement (BEGIN, COMMIT...). */
int store_conn_run(struct store_conn *conn, enum store_stmt_id id,
		   const char *sql);
int store_conn_exec(struct store_conn *conn, const char *sql);
int store_sqlite_errno(int rc);
/* Binds a NUL-terminated string the caller keeps alive until the reset. */
int store_bind_text(sqlite3_stmt *stmt, int idx, const char *s);
/* Copies a column into a fixed buffer; -EIO when it does not fit. */
int store_column_copy(struct store_conn *conn, sqlite3_stmt *stmt, int col,
		      char *buf, size_t size);

/* Steps st, calling row(conn, st, arg) per row until it returns nonzero
 * (that value is returned: a callback's stop value, or a negative error).
 * Resets st. */
int store_each_row(struct store_conn *conn, sqlite3_stmt *st,
		   int (*row)(struct store_conn *conn, sqlite3_stmt *st,
			      void *arg),
		   void *arg);

/* store_accounts.c: a new mailbox with a fresh UIDVALIDITY. */
int store_mailbox_insert(struct store_conn *c, int64_t account,
			 const char *name, const char *special_use,
			 int64_t now);

/* store_messages.c: the mailbox's next UID and modseq, taken. */
int store_mailbox_next_uid(struct store_conn *c, int64_t mailbox_id,
			   int64_t *uid_r, int64_t *modseq_r);

/* store_flags.c: takes the mailbox's next modseq (every change, an
 * expunge too, must be visible to views syncing from a modseq). */
int store_mailbox_take_modseq(struct store_conn *c, int64_t mailbox_id,
			      int64_t *modseq_r);

/* store_read_accounts.c: 0 and the id, -ENOENT (text set) or an error. */
/* IMAP's INBOX is any case, also as the first level of a name: "inbox"
 * and "Inbox/x" are INBOX and INBOX/x (RFC 3501 5.1). Returns name, or
 * buf (STORE_NAME_BUF bytes) holding it with that level "INBOX". */
#define STORE_NAME_BUF 257
const char *store_mailbox_name(const char *name, char *buf);
int store_account_id(struct store_conn *conn, const char *address,
		     int64_t *id_r);

/* store_validate.c: input checks shared by the write functions. */
int store_valid_domain(const char *domain);
/* The domain part of a valid address, or NULL. */
const char *store_address_domain(const char *address);
int store_valid_lang(const char *lang);
int store_valid_hash(const char *hash);

/* store_domains.c: the id of a hosted domain; -ENOENT (err set) if none. */
int store_domain_id(struct store_conn *conn, const char *domain,
		    int64_t *id_r);

/* store_schema.c: migrates conn's database to STORE_SCHEMA_VERSION. */
int store_schema_migrate(struct store_conn *conn);

/* store_writer.c */
int store_writer_start(struct store *store);
void store_writer_stop(struct store *store);
/* A worker's handle: its async for done callbacks; closing it once
 * nothing is in flight. */
int store_worker_start(struct store *store);
void store_worker_release(struct store *store);

/* store_open.c: reference counting of the struct itself. */
void store_ref(struct store *store);
void store_unref(struct store *store);

/* For core/auth: counts yescrypt evaluations done for auth_verify_async. */
static inline void store_auth_hash_counted(struct store *store)
{
	__atomic_add_fetch(&store->writer->auth_hashes, 1, __ATOMIC_RELAXED);
}

#endif
