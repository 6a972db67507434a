/* Sieve engine: the language of RFC 5228 and the extensions listed in
 * sieve_capabilities(), compiled once and evaluated at each delivery.
 * Self-contained: it knows nothing of the server (no plugins-api, no core
 * headers); GMime 3 decodes MIME bodies and RFC 2047 header words.
 *
 *   sieve_compile()         script text -> program, or line:column + message
 *   sieve_program_save()    program -> bytes (for the store)
 *   sieve_program_load()    bytes -> program, validated, without re-parsing
 *   sieve_evaluate()        program + message + envelope + environment ->
 *                           the actions to take (or a runtime error, which
 *                           always comes with a keep in INBOX)
 *   sieve_vacation_*()      RFC 3834/5230 "reply at all?", the reply's
 *                           deduplication key and the reply message itself
 *
 * Nothing here performs an action: the caller (sieve.so) stores, forwards,
 * rejects and replies. Every resource a hostile script or message could
 * grow is bounded by struct sieve_limits; matching is linear in the value
 * for :contains and O(pattern x value) at worst for :matches, and all
 * matching work is charged to a per-evaluation budget (max_cpu).
 *
 * Threads: call sieve_engine_init() once per process before other threads
 * use the engine (GMime's global initialisation is not thread-safe). After
 * that, programs are immutable: one program may be evaluated by several
 * threads at once, and compile/load/evaluate may run on any thread.
 * Evaluation is synchronous and calls the environment's callbacks on the
 * calling thread: run it on a worker thread, not on a loop thread. */
#ifndef SIEVE_ENGINE_H
#define SIEVE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Format of saved programs; sieve_program_load() refuses other versions
 * with -EPROTONOSUPPORT (the caller then recompiles the stored source). */
#define SIEVE_PROGRAM_FORMAT 1

/* Once per process, before threads use the engine (GMime's set-up);
 * 0. Shutdown after the last use. */
int sieve_engine_init(void);
void sieve_engine_shutdown(void);

/* The SIEVE capability (RFC 5804): supported extensions, space-separated.
 * A static string. */
const char *sieve_capabilities(void);

/* Every bound, with sieve_limits_default()'s values. Compile-time limits
 * make a script fail to compile; runtime limits make its evaluation end
 * in a runtime error (the message is then kept in INBOX). */
struct sieve_limits {
	/* compile time */
	size_t max_script_size;       /* 65536 octets */
	unsigned max_nesting;         /* 32 nested blocks and tests (at most
					 256: deeper programs do not load) */
	unsigned max_variables;       /* 128 variable names per script */
	/* runtime */
	size_t max_variable_size;     /* 4096 octets; longer values are cut
					 at a character boundary (RFC 5229) */
	unsigned max_actions;         /* 32 action commands executed */
	unsigned max_redirects;       /* 4 distinct redirect addresses */
	size_t max_header_size;       /* 262144: the header section read */
	unsigned max_header_fields;   /* 5000 fields; later ones are seen
					 by no test and no vacation check */
	size_t max_body_size;         /* 1048576 octets read for body tests */
	unsigned max_mime_parts;      /* 100 parts examined by body */
	uint64_t max_cpu;             /* 50000000 matching steps */
	size_t max_memory;            /* 33554432 octets of working memory */
	unsigned max_include_depth;   /* 4 nested include levels */
	unsigned max_includes;        /* 16 include commands executed */
	/* vacation period bounds (RFC 5230 4.1, RFC 6131), seconds; :days
	 * never gives less than one day, :seconds as little as the floor */
	uint32_t vacation_min_period; /* 0 */
	uint32_t vacation_max_period; /* 7776000 (90 days) */
	uint32_t vacation_default_period; /* 604800 (7 days) */
};

void sieve_limits_default(struct sieve_limits *limits_r);

/* A compile error: where (1-based; column counts octets) and what, e.g.
 * "unknown command 'fileinot'". sieve_error_format() writes
 * "line 3, column 5: unknown command 'fileinot'". */
struct sieve_error {
	unsigned line, column;
	char message[240];
};

int sieve_error_format(const struct sieve_error *error, char *buf,
		       size_t size);

/* An immutable compiled script (one allocation). */
struct sieve_program;

/* Compiles script (len octets of UTF-8, CRLF or LF line ends). limits
 * NULL = defaults. 0 and *program_r (free with sieve_program_free);
 * -EINVAL when the script is wrong, with *error_r filled; -ENOMEM.
 * Everything checkable without a message is checked here, so a compiled
 * script only fails at delivery on runtime conditions (limits, a bad
 * address computed from variables, a failing callback). */
int sieve_compile(const char *script, size_t len,
		  const struct sieve_limits *limits,
		  struct sieve_program **program_r,
		  struct sieve_error *error_r);

void sieve_program_free(struct sieve_program **program);

/* Serialises a program: *data_r (malloc'd, the caller frees) of *len_r
 * octets, versioned and checksummed, independent of the host's byte
 * order. 0 or -ENOMEM. */
int sieve_program_save(const struct sieve_program *program, void **data_r,
		       size_t *len_r);

/* Loads what sieve_program_save() wrote, validating every index, operation
 * and string so that no blob, corrupted or forged, can make evaluation
 * read out of bounds or loop. data is not referenced after the call.
 * 0; -EPROTONOSUPPORT (another format version: recompile the source);
 * -EINVAL (corrupted or not a program); -ENOMEM. */
int sieve_program_load(const void *data, size_t len,
		       struct sieve_program **program_r);

enum sieve_include_location {
	SIEVE_INCLUDE_PERSONAL,
	SIEVE_INCLUDE_GLOBAL,
};

/* The scripts program includes (RFC 6609; names are constants), in
 * program order, duplicates included: cb(ctx, location, name) for each;
 * a nonzero return stops the walk and is returned. So a caller that
 * cannot fetch scripts during evaluation (a worker thread) fetches them
 * before, and those they include, up to max_includes. */
int sieve_program_includes(const struct sieve_program *program,
			   int (*cb)(void *ctx,
				     enum sieve_include_location location,
				     const char *name),
			   void *ctx);

/* Whether name (len octets) may name a script: 1 to 512 octets of UTF-8
 * without control characters or '/' (what include accepts, and what
 * ManageSieve stores). */
bool sieve_script_name_valid(const char *name, size_t len);

/* The message being delivered. read() copies up to len octets from offset
 * into buf and returns how many (0 only at the end of the message) or a
 * negative errno; it is called synchronously, only for what the script
 * needs: the header section (up to max_header_size) once, and the body
 * (up to max_body_size) only if a body test runs. */
struct sieve_message {
	ssize_t (*read)(void *context, uint64_t offset, void *buf, size_t len);
	void *context;
	uint64_t size;              /* octets, for the size test */
};

/* A message held in memory: msg_r reads from buf, which the caller keeps
 * (with the len octets at data) until evaluation returns. */
struct sieve_buffer {
	const void *data;
	size_t len;
};

void sieve_message_from_buffer(struct sieve_message *msg_r,
			       struct sieve_buffer *buf);

/* SMTP envelope of this delivery: addresses without angle brackets. */
struct sieve_envelope {
	const char *from;           /* MAIL FROM; "" for the null sender */
	const char *to;             /* the RCPT TO being delivered to */
};

/* The account and the server, as the script sees them. Strings are
 * borrowed for the duration of sieve_evaluate(). */
struct sieve_env {
	const struct sieve_limits *limits;  /* NULL = defaults */
	/* The account's own addresses (primary, aliases): vacation replies
	 * only to mail addressed to one of them (RFC 5230 4.5). */
	const char *const *addresses;
	size_t n_addresses;
	/* Subaddress separators (RFC 5233), each character one, e.g. "+";
	 * NULL or "" = none (then :detail never matches). */
	const char *separators;
	int64_t now;                /* Unix time: currentdate */
	int zone_minutes;           /* local zone, minutes east of UTC */
	/* mailboxexists (RFC 5490): 1 exists, 0 not, < 0 error (a runtime
	 * error). NULL: no mailbox exists. */
	int (*mailbox_exists)(void *context, const char *mailbox);
	/* include (RFC 6609): the named script's program, which the engine
	 * takes over and frees; -ENOENT when there is no such script (an
	 * error unless :optional), other < 0 errors are runtime errors.
	 * NULL: every include fails as missing. */
	int (*include)(void *context, enum sieve_include_location location,
		       const char *name, struct sieve_program **program_r);
	void *context;
};

enum sieve_action_type {
	SIEVE_ACTION_KEEP,          /* store in INBOX (mailbox "INBOX") */
	SIEVE_ACTION_FILEINTO,      /* store in mailbox */
	SIEVE_ACTION_REDIRECT,      /* forward to address */
	SIEVE_ACTION_DISCARD,       /* informational: nothing to do */
	SIEVE_ACTION_REJECT,        /* refuse (RFC 5429 reject) */
	SIEVE_ACTION_EREJECT,       /* refuse at the SMTP level if possible */
	SIEVE_ACTION_VACATION,      /* maybe reply (see vacation->send) */
};

/* A vacation action with every argument resolved. */
struct sieve_vacation {
	const char *reason;         /* UTF-8 text, or with mime a MIME entity */
	size_t reason_len;
	bool mime;                  /* :mime */
	const char *subject;        /* :subject, or NULL: "Auto: <original>" */
	const char *from;           /* :from, or NULL: the recipient */
	const char *const *addresses; /* :addresses */
	size_t n_addresses;
	const char *handle;         /* :handle, or NULL */
	uint32_t period;            /* seconds between two replies to one
				       sender (:days/:seconds, clamped) */
	/* Who gets the reply: the original's envelope sender. */
	const char *sender;
	/* Whether to reply at all (sieve_vacation_refusal() passed); when
	 * false, refusal says why ("auto-submitted", "mailing list", ...). */
	bool send;
	const char *refusal;
	/* One reply per key per period: hex SHA-256 of the lower-cased
	 * sender and the handle (sieve_vacation_key()). The caller keeps the
	 * last reply time per (account, key) in its store. */
	char key[65];
	/* From the original, for the reply's headers (NULL when absent). */
	const char *orig_subject;   /* decoded to UTF-8 */
	const char *orig_message_id;
	const char *orig_references;
};

struct sieve_action {
	enum sieve_action_type type;
	unsigned line;              /* the command's line; 0 = implicit keep */
	bool implicit;              /* KEEP: the implicit keep */
	bool copy;                  /* FILEINTO, REDIRECT: :copy */
	bool create;                /* FILEINTO: :create */
	const char *mailbox;        /* KEEP, FILEINTO: UTF-8 mailbox name */
	const char *const *flags;   /* KEEP, FILEINTO: IMAP flags to set */
	size_t n_flags;
	const char *address;        /* REDIRECT: local@domain */
	const char *reason;         /* REJECT, EREJECT */
	const struct sieve_vacation *vacation; /* VACATION */
};

/* What the script decided, in execution order, duplicates merged
 * (RFC 5228 2.10.3). When the implicit keep applies the list ends with a
 * KEEP whose implicit is true. After a runtime error, error holds
 * "line N: what" (log it once) and actions is one implicit KEEP in
 * INBOX without flags: a failing script never loses mail. */
struct sieve_result {
	const struct sieve_action *actions;
	size_t n_actions;
	bool implicit_keep;
	const char *error;
};

/* Runs program over the message. 0 and *result_r (free with
 * sieve_result_free; every string in it belongs to it), also after a
 * runtime error (result->error set); -EINVAL (NULL arguments) or
 * -ENOMEM with *result_r NULL: the caller keeps the message in INBOX. */
int sieve_evaluate(const struct sieve_program *program,
		   const struct sieve_message *msg,
		   const struct sieve_envelope *envelope,
		   const struct sieve_env *env,
		   struct sieve_result **result_r);

void sieve_result_free(struct sieve_result **result);

/* RFC 3834 / RFC 5230 4.5-4.6: whether an automatic reply may go to this
 * message at all. header: the message's header section (header_len
 * octets); sender: the envelope sender ("" = null); addresses: the user's
 * addresses (the account's, the envelope recipient and :addresses).
 * NULL when a reply may be sent, else a static reason: "null sender",
 * "system sender" (MAILER-DAEMON, owner-*, *-request, ...),
 * "auto-submitted", "precedence", "mailing list" (List-* headers),
 * "own address", "not addressed to the user". sieve_evaluate() runs it
 * for every vacation action (sieve_vacation.send / .refusal). */
const char *sieve_vacation_refusal(const char *header, size_t header_len,
				   const char *sender,
				   const char *const *addresses,
				   size_t n_addresses);

/* The deduplication key of a reply to sender: hex SHA-256 of the
 * lower-cased sender and :handle, or, without :handle, of the reason,
 * :subject, :from and :mime (RFC 5230 4.2). Writes 64 hex digits + NUL. */
void sieve_vacation_key(const char *sender, const struct sieve_vacation *vac,
			char key_r[65]);

/* The reply message (RFC 5230 5, RFC 3834 3), CRLF line ends, to be sent
 * with the null envelope sender to vac->sender. recipient: the address
 * the original was delivered to (From: when no :from); hostname: the
 * right side of the Message-ID; now/zone_minutes: the Date. Headers:
 * From, To, Subject (RFC 2047 when not ASCII), Date, Message-ID,
 * In-Reply-To and References (from the original), Auto-Submitted:
 * auto-replied, MIME-Version; the reason as UTF-8 text/plain
 * (quoted-printable when needed) or, with :mime, as the MIME entity it
 * is. 0 and *data_r (malloc'd, *len_r octets); -EINVAL (a header value
 * that is not a single line, a :mime reason without a header section);
 * -ENOMEM. */
struct sieve_reply_params {
	const char *recipient;
	const char *hostname;
	int64_t now;
	int zone_minutes;
};

int sieve_vacation_reply(const struct sieve_vacation *vac,
			 const struct sieve_reply_params *params,
			 char **data_r, size_t *len_r);

#endif
