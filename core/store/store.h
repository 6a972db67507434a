/* The store: one SQLite database (WAL, foreign keys on, schema versioned by
 * PRAGMA user_version with forward migrations).
 *
 * Two modes:
 *  - STORE_MODE_DAEMON: a writer thread owns the only write connection and
 *    drains a queue of jobs; each batch of queued jobs runs in one
 *    BEGIN IMMEDIATE ... COMMIT (group commit: many deliveries, one fsync),
 *    each job inside its own SAVEPOINT so a failing job rolls back alone.
 *    After the COMMIT is durable the jobs' done callbacks run on the loop
 *    thread (uv_async_send). Reads use a separate read-only connection and
 *    must be called from the loop thread only. A server with several
 *    loop threads gives each of the others a handle (store_open_worker):
 *    its own read-only connection, its jobs in the one writer's batches,
 *    their done callbacks on its loop.
 *  - STORE_MODE_ADMIN: one read-write connection, used by the admin CLI;
 *    store_submit runs the job at once in its own transaction and calls done
 *    before returning. A busy timeout lets the CLI wait for the daemon's
 *    writer.
 *
 * Errors are negative values (-errno style: -ENOENT not found, -EEXIST
 * duplicate, -EINVAL bad input, -EIO database error). store_error() gives
 * the last error's text for the connection that failed (read side), and a
 * job's failure text is passed to nobody: the job itself logs what it
 * needs. */
#ifndef POSTINO_STORE_H
#define POSTINO_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define STORE_SCHEMA_VERSION 7
#define STORE_DB_FILE "postino.db"

enum store_mode {
	STORE_MODE_DAEMON = 1,
	STORE_MODE_ADMIN = 2,
};

struct store;
/* A write transaction: valid only during the job call it was passed to. */
struct store_txn;

/* Opens (creating if asked) state_dir/postino.db, migrates the schema to
 * STORE_SCHEMA_VERSION. loop is required for STORE_MODE_DAEMON and ignored
 * otherwise; in daemon mode the store holds an active handle on it (the
 * writer's uv_async_t), so uv_run does not return before store_close. create=0 fails with -ENOENT when the file does not exist (the
 * CLI says "missing database" instead of creating one somewhere wrong). */
int store_open(const char *state_dir, enum store_mode mode, int create,
	       uv_loop_t *loop, struct store **store_r,
	       char *err, size_t errlen);
/* Daemon mode: a handle for another loop thread, sharing store's writer.
 * Every function taking a struct store works on it, from that loop's
 * thread; store_close it on that thread before store itself closes
 * (its close waits for its jobs in flight, and frees it with its async
 * handle's close callback). */
int store_open_worker(struct store *store, uv_loop_t *loop,
		      struct store **handle_r, char *err, size_t errlen);
/* Daemon mode: finishes queued jobs (their done callbacks run with their
 * real status, inside this call), stops the writer thread. Sets *store to
 * NULL. Call it on the loop thread, from a callback or outside uv_run: it
 * never runs the loop itself (uv_run is not reentrant). It closes the
 * writer's uv_async_t and the struct is freed by that handle's close
 * callback, so the caller must run the loop once more (e.g. uv_run with
 * UV_RUN_DEFAULT) before uv_loop_close. */
void store_close(struct store **store);

/* Text of the last read-side error. */
const char *store_error(const struct store *store);

/* ---- writes: jobs ------------------------------------------------------- */

/* Runs on the writer thread (daemon) or at once (admin). Returns 0 or a
 * negative error; on error the job's savepoint is rolled back. */
typedef int store_job_fn(struct store_txn *txn, void *data);
/* Runs on the loop thread after the batch holding the job committed
 * durably; status is the job's return value, or -EIO when the COMMIT
 * itself failed. */
typedef void store_done_fn(void *data, int status);

/* Queues a job. done may be NULL. Returns 0 or -ESHUTDOWN after close
 * began. */
int store_submit(struct store *store, store_job_fn *job, store_done_fn *done,
		 void *data);

/* Counters for tests and metrics: jobs run and COMMITs made so far. */
void store_writer_stats(const struct store *store, uint64_t *jobs_r,
			uint64_t *commits_r);

/* Inside a job: last error text of this transaction. */
const char *store_txn_error(const struct store_txn *txn);

/* ---- domains, accounts, aliases (writes, inside a job) ----------------- */

int store_txn_domain_add(struct store_txn *txn, const char *domain);
/* -ENOENT unknown; -ENOTEMPTY when it still has accounts. */
int store_txn_domain_del(struct store_txn *txn, const char *domain);

struct store_account_new {
	const char *address;       /* local@domain, domain must exist */
	const char *password_hash; /* yescrypt, from password_hash() */
	const char *secondary;     /* NULL: none */
	const char *lang;          /* NULL: inherit the default */
};
/* Creates the account and its INBOX, Sent, Drafts, Trash, Junk (with
 * special-use \Sent \Drafts \Trash \Junk), all subscribed. -ENOENT
 * unknown domain, -EEXIST duplicate address. */
int store_txn_account_add(struct store_txn *txn,
			  const struct store_account_new *account,
			  int64_t *account_id_r);
/* Deletes the account, its mailboxes and messages (blob refcounts drop). */
int store_txn_account_del(struct store_txn *txn, const char *address);

/* Fields to change; NULL leaves a field alone. secondary "" clears it. */
struct store_account_change {
	const char *secondary;
	const char *lang;
	int disabled; /* -1: leave alone, 0 or 1 */
};
int store_txn_account_set(struct store_txn *txn, const char *address,
			  const struct store_account_change *change);
/* Replaces the hash, records the old one in password_history (the newest
 * keep_history are kept) and sets password_changed = now_s. */
int store_txn_account_set_password(struct store_txn *txn, const char *address,
				   const char *password_hash, int64_t now_s,
				   unsigned keep_history);

int store_txn_alias_add(struct store_txn *txn, const char *source,
			const char *target);
int store_txn_alias_del(struct store_txn *txn, const char *source,
			const char *target);

/* ---- messages and blobs (writes, inside a job) -------------------------- */

/* Stores data once per distinct SHA-256 (content-addressed); a second put
 * of equal bytes returns the same id. Blob refcounts are kept by triggers
 * on the tables that reference blobs: a blob with no reference left is
 * deleted with the last one. Reference a new blob in the same job: one
 * still unreferenced when the transaction commits is dropped. */
int store_txn_blob_put(struct store_txn *txn, const void *data, size_t len,
		       int64_t *blob_id_r);
/* Appends a message referencing blob_id to the mailbox with the mailbox's
 * next UID (strictly ascending, never reused). */
int store_txn_message_append(struct store_txn *txn, int64_t mailbox_id,
			     int64_t blob_id, uint32_t flags,
			     int64_t internaldate, uint32_t *uid_r);
/* IMAP mailbox writes (store_mailboxes.c). Names are UTF-8; "INBOX" in
 * any case is the INBOX. -ENOENT, -EEXIST, -EPERM (INBOX), -ENOTEMPTY
 * (has children), -EINVAL (bad name). The *_id_r are the mailboxes
 * touched, for change notifications (0 when none). */
int store_txn_mailbox_id(struct store_txn *txn, const char *address,
			 const char *name, int64_t *mailbox_id_r);
/* The id and UIDVALIDITY together, as of this transaction: what an
 * APPENDUID or COPYUID must name (read after the commit, a RENAME or
 * DELETE + CREATE in between could give another mailbox's). */
int store_txn_mailbox_lookup(struct store_txn *txn, const char *address,
			     const char *name, int64_t *mailbox_id_r,
			     uint32_t *uidvalidity_r);
int store_txn_mailbox_create(struct store_txn *txn, const char *address,
			     const char *name, const char *special_use);
int store_txn_mailbox_delete(struct store_txn *txn, const char *address,
			     const char *name, int64_t *mailbox_id_r);
/* What a RENAME changed: INBOX's is a move of its messages into a new
 * mailbox (inbox_id: INBOX, emptied); any other renames the mailbox and
 * its children (ids, count: malloc'ed, the caller frees ids), which get a
 * new UIDVALIDITY above any the account gave (RFC 3501 2.3.1.1: a client
 * may hold the UIDs of an earlier mailbox of the new name). */
struct store_rename {
	int64_t inbox_id;
	uint32_t uidvalidity;
	int64_t *ids;
	size_t count;
};
int store_txn_mailbox_rename(struct store_txn *txn, const char *address,
			     const char *from, const char *to,
			     struct store_rename *result_r);
/* Adds name to the account's subscription list, or removes it: a list
 * of names, which need not be mailboxes (RFC 3501 6.3.6), and which
 * DELETE and RENAME leave alone. Either is done when already so. */
int store_txn_mailbox_subscribe(struct store_txn *txn, const char *address,
				const char *name, int subscribed);
/* Records that the messages below recent_uid have been claimed as
 * \Recent (it never goes down), if the mailbox (id, uidvalidity) is
 * still there; 0 when it is not. */
int store_txn_mailbox_recent(struct store_txn *txn, int64_t mailbox_id,
			     uint32_t uidvalidity, uint32_t recent_uid);
/* store_flags.c. mode: 0 replace, 1 add, 2 remove (flags and keywords).
 * The result goes to *flags_r and keywords_r (size keywords_size); both
 * unchanged -> no write. -ENOENT when the message is gone. */
#define STORE_KEYWORDS_MAX 1024
int store_txn_message_flags(struct store_txn *txn, int64_t mailbox_id,
			    uint32_t uid, int mode, uint32_t flags,
			    const char *keywords, uint32_t *flags_r,
			    char *keywords_r, size_t keywords_size);
/* store_txn_message_flags, only if the message's modseq is at most
 * unchangedsince (UINT64_MAX: always): else nothing changes, *flags_r
 * and keywords_r are what the message has and the return is 1 (RFC 7162
 * UNCHANGEDSINCE). *modseq_r (may be NULL) is the message's modseq
 * after the call. */
int store_txn_message_flags_if(struct store_txn *txn, int64_t mailbox_id,
			       uint32_t uid, int mode, uint32_t flags,
			       const char *keywords, uint64_t unchangedsince,
			       uint32_t *flags_r, char *keywords_r,
			       size_t keywords_size, uint64_t *modseq_r);
/* Copies a message (blob, flags, keywords, date) to the end of another
 * mailbox. */
int store_txn_message_copy(struct store_txn *txn, int64_t from_mailbox,
			   uint32_t uid, int64_t to_mailbox,
			   uint32_t *new_uid_r);
/* Sets keywords of a message just appended. */
int store_txn_message_keywords(struct store_txn *txn, int64_t mailbox_id,
			       uint32_t uid, const char *keywords);
/* store_mime.c: 1 when the blob has its summaries, 0 when not. */
int store_txn_mime_has(struct store_txn *txn, int64_t blob_id);
int store_txn_mime_put(struct store_txn *txn, int64_t blob_id,
		       const char *envelope, const char *body,
		       const char *bodystructure, const char *parts);

/* Removes a message; the schema gives the expunge a modseq of its own
 * and leaves a tombstone (store_vanished). */
int store_txn_message_expunge(struct store_txn *txn, int64_t mailbox_id,
			      uint32_t uid);
/* Tombstones kept per mailbox: once there are twice as many, the oldest
 * go down to this many and the mailbox's vanished floor rises. 64 K of
 * them is about 2 MB, and a client whose last sync is older than the
 * last 64 K expunges of a folder gets the superset instead. */
#define STORE_VANISHED_KEEP 65536
int store_txn_vanished_prune(struct store_txn *txn, int64_t mailbox_id,
			     uint32_t keep);

/* ---- delivery (writes, inside a job) ------------------------------------ */

/* The INBOX of account: -ENOENT when the account (or its INBOX) is gone. */
int store_txn_inbox_id(struct store_txn *txn, const char *account,
		       int64_t *mailbox_id_r);
/* Queues blob_id from sender for every address in rcpts (outbound). */
int store_txn_queue_add(struct store_txn *txn, const char *sender,
			int64_t blob_id, const char *const *rcpts, size_t count,
			int64_t now_s, int64_t giveup_s, int64_t *queue_id_r);
/* Marks every recipient of a queue entry failed with reply (their bounce
 * not yet made): the queue bounces them at its next look, as it does a
 * remote's 5xx. For local recipients refused at delivery (quota). */
int store_txn_queue_fail_all(struct store_txn *txn, int64_t queue_id,
			     const char *reply);

/* ---- per-module state (writes, inside a job) ---------------------------- */

int store_txn_state_put(struct store_txn *txn, const char *module,
			const char *key, const void *value, size_t len,
			int64_t expires_at);
int store_txn_state_delete(struct store_txn *txn, const char *module,
			   const char *key);
/* Deletes entries whose expires_at is in (0, now_s]. Returns how many,
 * or a negative error. */
int store_txn_state_prune(struct store_txn *txn, int64_t now_s);

/* ---- reads (loop thread in daemon mode) --------------------------------- */

struct store_account {
	int64_t id;
	char address[320];
	char password_hash[160];
	char secondary[320]; /* "" when none */
	char lang[8];        /* "" when inherited */
	int disabled;
	int64_t password_changed; /* unix seconds */
	int64_t created;
};

int store_domain_exists(struct store *store, const char *domain);  /* 1/0/<0 */
/* Calls cb for each domain in name order; stops early when cb returns
 * nonzero and returns that value. */
int store_domain_list(struct store *store,
		      int (*cb)(void *data, const char *domain), void *data);

/* -ENOENT when there is no such account. Address comparison ignores case. */
int store_account_get(struct store *store, const char *address,
		      struct store_account *account_r);
/* domain NULL: all accounts. Address order. */
int store_account_list(struct store *store, const char *domain,
		       int (*cb)(void *data, const struct store_account *a),
		       void *data);
/* The account's hashes in password_history, newest first. */
int store_password_history(struct store *store, const char *address,
			   int (*cb)(void *data, const char *hash),
			   void *data);

/* source NULL: all aliases. */
int store_alias_list(struct store *store, const char *source,
		     int (*cb)(void *data, const char *source,
			       const char *target),
		     void *data);

struct store_mailbox {
	int64_t id;
	char name[256];
	char special_use[16]; /* "\\Sent" etc., "" when none */
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint32_t messages; /* kept in the mailbox's row: no count is made */
	uint32_t recent_uid; /* the first UID no session claimed as \Recent */
	int subscribed;
};
int store_mailbox_list(struct store *store, const char *address,
		       int (*cb)(void *data, const struct store_mailbox *m),
		       void *data);
int store_mailbox_get(struct store *store, const char *address,
		      const char *name, struct store_mailbox *mailbox_r);
/* The account's subscription list, in name (byte) order; stops when cb
 * returns nonzero. */
int store_subscription_list(struct store *store, const char *address,
			    int (*cb)(void *data, const char *name),
			    void *data);

struct store_message {
	uint32_t uid;
	uint64_t size;
	uint32_t flags;
	int64_t internaldate;
	int64_t blob_id;
	uint64_t modseq;
	const char *keywords; /* "" when none; valid during the callback */
};
/* The mailbox's messages in UID order; stops when cb returns nonzero. */
int store_message_list(struct store *store, int64_t mailbox_id,
		       int (*cb)(void *data, const struct store_message *m),
		       void *data);
/* The messages whose modseq is above since_modseq (changed or new), in
 * UID order. */
int store_message_changes(struct store *store, int64_t mailbox_id,
			  uint64_t since_modseq,
			  int (*cb)(void *data, const struct store_message *m),
			  void *data);
struct store_mailbox_status {
	uint32_t messages;
	uint32_t unseen;
	uint32_t uidnext;
	uint32_t uidvalidity;
	uint64_t highestmodseq;
	uint32_t deleted;          /* messages with \Deleted */
	uint64_t deleted_bytes;    /* and their octets */
	uint64_t vanished_floor;   /* tombstones at or below may be gone */
};
/* Calls cb(data, uid) in UID order for the tombstones of the mailbox
 * with a modseq in (since, upto]; stops when cb returns nonzero. An
 * indexed range: O(tombstones reported). */
int store_vanished(struct store *store, int64_t mailbox_id, uint64_t since,
		   uint64_t upto, int (*cb)(void *data, uint32_t uid),
		   void *data);
/* How many messages of the mailbox have a UID of uid or above: a range
 * of its index, O(that count). */
int store_message_count_from(struct store *store, int64_t mailbox_id,
			     uint32_t uid, uint32_t *count_r);
/* One row, however large the mailbox: triggers keep the counts in it.
 * Any change to a mailbox's messages raises its highestmodseq. */
int store_mailbox_status(struct store *store, int64_t mailbox_id,
			 struct store_mailbox_status *status_r);
/* Reads between begin and end see one snapshot of the database. */
int store_read_begin(struct store *store);
void store_read_end(struct store *store);

/* MIME summaries of a blob (store_mime.c). which: 0 envelope, 1 body,
 * 2 bodystructure, 3 parts. Returns the length (copying at most
 * buflen - 1 bytes and a NUL), -ENOENT when none is stored. */
int64_t store_mime_get(struct store *store, int64_t blob_id, int which,
		       char *buf, size_t buflen);

/* Copies up to len bytes of a blob from offset: the count, 0 past the end,
 * -ENOENT when the blob is gone (the message was expunged meanwhile). */
int64_t store_blob_read(struct store *store, int64_t blob_id, uint64_t offset,
			void *buf, size_t len);

/* Copies the message's bytes into a malloc'ed buffer the caller frees. */
int store_message_read(struct store *store, int64_t mailbox_id, uint32_t uid,
		       char **data_r, size_t *len_r);
/* Blob rows and the sum of their refcounts, for tests of dedup. */
int store_blob_stats(struct store *store, int64_t *blobs_r,
		     int64_t *refs_r);

/* 0 and the value (truncated to buflen, *len_r = full length), or -ENOENT
 * when absent or expired as of now_s. */
int store_state_get(struct store *store, const char *module, const char *key,
		    int64_t now_s, void *buf, size_t buflen, size_t *len_r);
/* Calls cb for every entry of module live as of now_s whose key starts
 * with prefix, in key (byte) order, until cb returns nonzero (returned).
 * 0 at the end, or a negative errno. Reads on the read-only connection. */
int store_state_scan(struct store *store, const char *module,
		     const char *prefix, int64_t now_s,
		     int (*cb)(void *data, const char *key, const void *value,
			       size_t len, int64_t expires_at),
		     void *data);

/* Consistent online copy into path with the SQLite backup API, safe while
 * the daemon writes. Uses its own connections. Blocks (and may sleep
 * retrying a busy source): not for the loop thread. path appears only
 * once the copy is complete. */
int store_backup(const char *state_dir, const char *path, char *err,
		 size_t errlen);

/* ---- quotas (store_quota.c) --------------------------------------------- */

/* An account's limit: STORE_QUOTA_DEFAULT (its domain's default), 0 (no
 * limit) or the limit; STORE_QUOTA_KEEP leaves a limit as it is. */
#define STORE_QUOTA_KEEP (-2)
#define STORE_QUOTA_DEFAULT (-1)

/* Usage counts every message's octets (RFC822.SIZE, what POP3's LIST
 * shows) once per copy, whatever blobs they share. */
struct store_quota {
	int64_t account_id;
	uint64_t storage_used;    /* octets */
	uint64_t messages_used;
	uint64_t storage_limit;   /* in force; 0: none */
	uint64_t messages_limit;
	int64_t account_storage;  /* the account's own setting (see above) */
	int64_t account_messages;
	uint64_t domain_storage;  /* the domain's default; 0: none */
	uint64_t domain_messages;
	unsigned warned;          /* threshold (percent) last warned of */
	char lang[8];             /* the account's language, "" unset */
};

/* -ENOENT when there is no such account. Reads a few rows (one per
 * mailbox of the account). */
int store_quota_get(struct store *store, const char *address,
		    struct store_quota *quota_r);
/* The same inside a job: sees the transaction's own writes. */
int store_txn_quota_get(struct store_txn *txn, const char *address,
			struct store_quota *quota_r);
/* 1 when adding add_bytes octets in add_messages messages would take the
 * account over a limit; 0 when it fits or adds nothing (an operation that
 * does not raise usage is never refused, even over quota). */
int store_quota_exceeds(const struct store_quota *q, uint64_t add_bytes,
			uint64_t add_messages);
/* Sets an account's limits (STORE_QUOTA_* or a positive number). */
int store_txn_quota_set(struct store_txn *txn, const char *address,
			int64_t storage, int64_t messages);
/* Sets a domain's default limits (0 or STORE_QUOTA_DEFAULT: none). */
int store_txn_domain_quota_set(struct store_txn *txn, const char *domain,
			       int64_t storage, int64_t messages);
/* A domain's default limits (0: none); -ENOENT unknown domain. */
int store_domain_quota_get(struct store *store, const char *domain,
			   uint64_t *storage_r, uint64_t *messages_r);
/* Records the threshold of the account's last quota warning. */
int store_txn_quota_warned(struct store_txn *txn, int64_t account_id,
			   unsigned percent);


/* ---- the outbound queue (store_queue.c) --------------------------------- */

/* queue_rcpts.status */
enum store_rcpt_status {
	STORE_RCPT_PENDING = 0,   /* to be tried (again) */
	STORE_RCPT_FAILED = 1,    /* permanent failure, bounce not yet made */
	STORE_RCPT_DELIVERED = 2, /* the remote accepted it */
	STORE_RCPT_BOUNCED = 3,   /* failed and the bounce is stored */
};

struct store_queue_entry {
	int64_t id;
	char sender[320]; /* "" for the null sender (a bounce) */
	int64_t blob;
	int64_t size;
	int64_t created;
	int64_t next_attempt;
	int64_t attempts;
	int64_t giveup;
};

struct store_queue_rcpt {
	int64_t id;
	char address[320];
	int status;        /* enum store_rcpt_status */
	char last_reply[512]; /* "" when none (truncated when longer) */
};

/* Writes, inside a job. reply NULL keeps last_reply. -ENOENT: no such row. */
int store_txn_queue_rcpt_set(struct store_txn *txn, int64_t rcpt_id,
			     int status, const char *reply);
int store_txn_queue_retry(struct store_txn *txn, int64_t queue_id,
			  int64_t next_attempt, int64_t attempts);
/* Deletes the entry and its recipients (the blob goes with its last
 * reference). -ENOENT when unknown. */
int store_txn_queue_del(struct store_txn *txn, int64_t queue_id);
/* next_attempt = 0 for queue_id, or for every entry when queue_id is 0.
 * -ENOENT when queue_id is unknown. */
int store_txn_queue_flush(struct store_txn *txn, int64_t queue_id);

/* Reads. Ids of entries with next_attempt <= now_s, oldest due first, at
 * most limit of them. */
int store_queue_due(struct store *store, int64_t now_s, unsigned limit,
		    int (*cb)(void *data, int64_t queue_id), void *data);
/* One entry and, when data_r is not NULL, a malloc'ed copy of its message
 * (the caller frees it). -ENOENT when unknown. */
int store_queue_get(struct store *store, int64_t queue_id,
		    struct store_queue_entry *entry_r, char **data_r,
		    size_t *len_r);
/* Every entry in id order. */
int store_queue_list(struct store *store,
		     int (*cb)(void *data, const struct store_queue_entry *e),
		     void *data);
/* The entry's recipients in the order they were queued. */
int store_queue_rcpts(struct store *store, int64_t queue_id,
		      int (*cb)(void *data, const struct store_queue_rcpt *r),
		      void *data);

#endif
