/* imap.so: the session side of the IMAP server (RFC 3501 and the
 * extensions in IMAP_CAPS). Pure syntax lives in imap_parser, imap_seqset,
 * imap_fetch_att, imap_search, imap_flags, imap_date, imap_mutf7 and
 * imap_write; this header ties them to connections and mailboxes. */
#ifndef IMAP_H
#define IMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "postino/plugin.h"
#include "imap_buf.h"
#include "imap_flags.h"
#include "imap_parser.h"
#include "imap_qresync_parse.h"
#include "imap_seqset.h"

#define IMAP_MAX_LINE 65536           /* one line of a command */
#define IMAP_MAX_COMMAND (256 * 1024) /* a command with its literals,
				       * APPEND's message aside */
#define IMAP_IDLE_TIMEOUT_S 1800      /* RFC 3501 5.4: at least 30 min */
#define IMAP_ACCOUNT_MAX 320

static inline int toupper_ascii(int c)
{
	return c >= 'a' && c <= 'z' ? c - 32 : c;
}

struct imap_server {
	postino_mod *mod;
	const struct postino_host *host;
	struct postino_protocol proto;
	uint64_t max_message_size;
	bool subscribe_on_create;
};

enum imap_state {
	IMAP_NOT_AUTH,
	IMAP_AUTH,
	IMAP_SELECTED,
	IMAP_LOGOUT,
};

/* What the session does with input now. */
enum imap_phase {
	IMAP_PHASE_COMMAND,      /* reading command lines */
	IMAP_PHASE_LITERAL,      /* reading a literal into cmd */
	IMAP_PHASE_APPEND_DATA,  /* streaming APPEND's message into msg */
	IMAP_PHASE_APPEND_END,   /* the line that ends APPEND */
	IMAP_PHASE_DISCARD,      /* skipping a refused APPEND literal */
	IMAP_PHASE_SKIP,         /* dropping a refused command's LITERAL+
				    bytes (see skip_tag) */
	IMAP_PHASE_AUTH,         /* AUTHENTICATE's response line */
	IMAP_PHASE_IDLE,         /* waiting for DONE */
	IMAP_PHASE_BUSY,         /* a command waits for the store; paused */
};

struct imap_session;

/* One command of the dispatch table: the states it is valid in (bits of
 * 1 << enum imap_state) and its handler. A handler either answers
 * (imap_tagged) before returning, or sets the phase to BUSY and answers
 * from its completion callback. */
struct imap_command_def {
	const char *name;
	unsigned states;
	void (*run)(struct imap_session *s, const struct imap_command *cmd,
		    const struct imap_arg *args, size_t n_args, bool uid);
	/* FETCH, STORE, SEARCH (not their UID forms): no EXPUNGE responses
	 * while they run or right after (RFC 3501 7.4.1). */
	bool no_expunge;
};

struct imap_session {
	struct imap_server *srv;
	postino_conn *conn;
	const char *session_id;
	enum imap_state state;
	enum imap_phase phase;
	char account[IMAP_ACCOUNT_MAX + 1];
	bool closed;       /* on_close ran; freed when pending reaches 0 */
	unsigned pending;  /* store operations in flight */
	unsigned bad_lines; /* too long lines so far */

	/* The command being assembled: lines and literals. */
	struct imap_buf cmd;
	uint64_t literal_left;
	unsigned cmd_literals; /* literals announced in it so far */
	char tag[64];      /* of the command being run */
	bool tag_uid;      /* it is a UID command */
	const struct imap_command_def *running;
	/* A command refused while it was still arriving (LOGIN before TLS
	 * with a LITERAL+): its remaining lines and literals are dropped,
	 * then skip_tag gets the NO. skipped bounds what is dropped. */
	bool skipping;
	char skip_tag[64];
	uint64_t skipped;

	/* Selected state. */
	postino_mailbox *mb;
	char *mailbox_name;  /* UTF-8 */
	bool readonly;       /* EXAMINE */
	bool dirty;          /* the mailbox changed: sync at the next chance */
	uint32_t exists;     /* EXISTS the client knows */
	uint32_t recent;     /* \Recent messages in the view */
	struct imap_keywords *keywords; /* named in FLAGS */
	/* RFC 5182 SEARCHRES: the result SEARCH RETURN (SAVE) kept, as
	 * UIDs in ascending order ("$"); goes with the selected mailbox. */
	uint32_t *saved;
	size_t saved_count;

	/* RFC 7162, once enabled (ENABLE, or a CONDSTORE enabling
	 * command), for the rest of the connection: CONDSTORE puts UID and
	 * MODSEQ in every FETCH response about flags, QRESYNC (which
	 * enables CONDSTORE too) reports expunges as VANISHED. */
	bool condstore;
	bool qresync;

	/* APPEND in progress. */
	postino_msg *append_msg;
	char *append_mailbox;
	uint32_t append_flags;
	char *append_keywords;
	int64_t append_date;
	bool append_toobig;

	/* A FETCH streamed over several on_writable rounds. */
	bool blocked;      /* output over the high-water mark */
	struct imap_fetch_run *fetch;

	char idle_tag[64];
	postino_timer *idle_timer;
};

/* imap_session.c */
void imap_on_connect(postino_conn *conn, void *data);
void imap_on_line(postino_conn *conn, const char *line, size_t len,
		  int too_long, void *data);
void imap_on_bytes(postino_conn *conn, const char *bytes, size_t len,
		   int last, void *data);
void imap_on_starttls(postino_conn *conn, int ok, void *data);
void imap_on_writable(postino_conn *conn, void *data);
void imap_on_close(postino_conn *conn, const char *reason, void *data);
/* The running command waits for a callback: input is paused. Call it
 * before starting the asynchronous step (which may complete at once). */
void imap_busy(struct imap_session *s);
/* The running command finished (answered): reads input again. */
void imap_command_done(struct imap_session *s);
/* Drops a store reference taken with s->pending++; 1 when s was freed
 * (its connection is gone). */
bool imap_release(struct imap_session *s);
const struct imap_command_def *imap_command_find(const char *name);
/* At debug level, a command as the client sent it (what a client really
 * uses: RFC 7162's parameters, ESEARCH...): its first 200 bytes, control
 * characters as '.'; LOGIN and AUTHENTICATE by tag and name only, never
 * credentials. */
void imap_log_command(struct imap_session *s, const char *tag,
		      const char *name, const char *cmd, size_t len);

/* imap_reply.c: output. */
void imap_printf(struct imap_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void imap_write(struct imap_session *s, const void *buf, size_t len);
/* "TAG OK|NO|BAD text" for the running command, then imap_command_done
 * (syncing the view first for OK/NO in the selected state). */
void imap_tagged(struct imap_session *s, const char *status,
		 const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void imap_capability_list(struct imap_session *s, struct imap_buf *out);

/* imap_mailbox.c: names on the wire and the selected view. */
/* Decodes a mailbox argument (astring, mUTF-7) to UTF-8 in out (NUL-
 * terminated). false with a NO/BAD already sent when invalid. */
bool imap_mailbox_arg(struct imap_session *s, const struct imap_arg *arg,
		      struct imap_buf *out);
/* Decodes a mUTF-7 name to UTF-8, NUL-terminated; -EINVAL if invalid
 * (a control character, U+0000 included, is). */
int imap_mutf7_name(const char *str, size_t len, struct imap_buf *out);
/* The tagged NO text for a failed look-up of a mailbox by name. */
const char *imap_mailbox_error(int ret);
void imap_unselect(struct imap_session *s);
/* Brings the view up to date and reports the changes (EXPUNGE unless
 * the command forbids it, FETCH FLAGS, EXISTS, RECENT). */
void imap_sync(struct imap_session *s, bool expunges);
/* "* FLAGS (...)" and, read-write, "* OK [PERMANENTFLAGS (... \*)]": the
 * system flags and the keywords the session has named (RFC 3501 7.2.6,
 * 7.1). */
void imap_flags_announce(struct imap_session *s);
/* Before a response shows these keywords (space-separated, may be NULL):
 * names those the session had not named, announcing the new lists. */
void imap_keywords_seen(struct imap_session *s, const char *keywords);
/* A CONDSTORE enabling command (RFC 7162 3.1) ran: from now on FETCH
 * responses carry MODSEQ; the first one in the selected state also
 * says the mailbox's HIGHESTMODSEQ. */
void imap_condstore_enable(struct imap_session *s);
/* "* n FETCH (UID u FLAGS (...) MODSEQ (m))" for view index i: UID and
 * MODSEQ when the session has CONDSTORE (or uid), FLAGS when flags. */
void imap_fetch_flags_response(struct imap_session *s, uint32_t index,
			       bool flags, bool uid);
/* Forgets the SEARCHRES result (RFC 5182 2.1: with the mailbox, and
 * when a SEARCH that would save fails). */
void imap_saved_reset(struct imap_session *s);
/* Sequence number (1-based) -> view index, with bounds. */
uint32_t imap_count(struct imap_session *s);
/* Fills info (size set) for view index i. */
int imap_message(struct imap_session *s, uint32_t index,
		 struct postino_message_info *info);
/* Resolves a sequence set or UID set argument to view indices (a
 * sorted array, malloc'ed); "$" is the saved search result (RFC 5182).
 * false with BAD/NO sent when invalid. */
bool imap_set_indices(struct imap_session *s, const struct imap_arg *arg,
		      bool uid, uint32_t **indices_r, size_t *count_r);

/* Command handlers (one file per group). */
void imap_cmd_capability(struct imap_session *, const struct imap_command *,
			 const struct imap_arg *, size_t, bool);
void imap_cmd_noop(struct imap_session *, const struct imap_command *,
		   const struct imap_arg *, size_t, bool);
void imap_cmd_logout(struct imap_session *, const struct imap_command *,
		     const struct imap_arg *, size_t, bool);
void imap_cmd_starttls(struct imap_session *, const struct imap_command *,
		       const struct imap_arg *, size_t, bool);
void imap_cmd_id(struct imap_session *, const struct imap_command *,
		 const struct imap_arg *, size_t, bool);
void imap_cmd_enable(struct imap_session *, const struct imap_command *,
		     const struct imap_arg *, size_t, bool);
void imap_cmd_namespace(struct imap_session *, const struct imap_command *,
			const struct imap_arg *, size_t, bool);
void imap_cmd_login(struct imap_session *, const struct imap_command *,
		    const struct imap_arg *, size_t, bool);
void imap_cmd_authenticate(struct imap_session *, const struct imap_command *,
			   const struct imap_arg *, size_t, bool);
void imap_auth_response(struct imap_session *s, const char *line, size_t len);
/* " AUTH=PLAIN AUTH=LOGIN": the mechanisms the host offers here now. */
void imap_auth_capabilities(struct imap_session *s, struct imap_buf *out);
/* Whether cmd[0..len), a command being assembled, is LOGIN or
 * AUTHENTICATE on a connection without TLS: a literal in it would carry
 * credentials in clear, so it is refused before any "+". */
bool imap_auth_needs_tls(struct imap_session *s, const char *cmd,
			 size_t len);
extern const char imap_no_tls[]; /* the NO text for that */
void imap_cmd_select(struct imap_session *, const struct imap_command *,
		     const struct imap_arg *, size_t, bool);
void imap_cmd_create(struct imap_session *, const struct imap_command *,
		     const struct imap_arg *, size_t, bool);
void imap_cmd_delete(struct imap_session *, const struct imap_command *,
		     const struct imap_arg *, size_t, bool);
void imap_cmd_rename(struct imap_session *, const struct imap_command *,
		     const struct imap_arg *, size_t, bool);
void imap_cmd_subscribe(struct imap_session *, const struct imap_command *,
			const struct imap_arg *, size_t, bool);
void imap_cmd_list(struct imap_session *, const struct imap_command *,
		   const struct imap_arg *, size_t, bool);
void imap_cmd_status(struct imap_session *, const struct imap_command *,
		     const struct imap_arg *, size_t, bool);
void imap_cmd_close(struct imap_session *, const struct imap_command *,
		    const struct imap_arg *, size_t, bool);
void imap_cmd_expunge(struct imap_session *, const struct imap_command *,
		      const struct imap_arg *, size_t, bool);
void imap_cmd_store(struct imap_session *, const struct imap_command *,
		    const struct imap_arg *, size_t, bool);
void imap_cmd_copy(struct imap_session *, const struct imap_command *,
		   const struct imap_arg *, size_t, bool);
void imap_cmd_fetch(struct imap_session *, const struct imap_command *,
		    const struct imap_arg *, size_t, bool);
void imap_fetch_pump(struct imap_session *s);
void imap_fetch_run_free(struct imap_fetch_run **run);
void imap_cmd_search(struct imap_session *, const struct imap_command *,
		     const struct imap_arg *, size_t, bool);
/* imap_qresync.c (RFC 7162 3.2); the syntax in imap_qresync_parse.h. */
/* SELECT's parameter list (args: what follows the mailbox name): sets
 * *condstore for CONDSTORE and *qr_r (malloc'ed, NULL when none) for
 * QRESYNC. false with the BAD sent. */
bool imap_select_params(struct imap_session *s, const struct imap_arg *args,
			size_t n_args, bool *condstore,
			struct imap_qresync **qr_r);
/* After SELECT's responses: VANISHED (EARLIER) and FETCH for what
 * changed since the client's modseq, when its UIDVALIDITY still holds.
 * Frees *qr. */
void imap_qresync_report(struct imap_session *s, struct imap_qresync **qr);
/* "* VANISHED (EARLIER) ..." for the UIDs of `within` (NULL: any)
 * expunged after since. */
void imap_vanished_earlier(struct imap_session *s, uint64_t since,
			   const struct imap_seqset *within);
void imap_cmd_idle(struct imap_session *, const struct imap_command *,
		   const struct imap_arg *, size_t, bool);
void imap_idle_line(struct imap_session *s, const char *line, size_t len);
void imap_idle_changed(struct imap_session *s);
/* imap_cmd_quota.c (RFC 9208). */
void imap_cmd_getquotaroot(struct imap_session *, const struct imap_command *,
			   const struct imap_arg *, size_t, bool);
void imap_cmd_getquota(struct imap_session *, const struct imap_command *,
		       const struct imap_arg *, size_t, bool);
void imap_cmd_setquota(struct imap_session *, const struct imap_command *,
		       const struct imap_arg *, size_t, bool);
/* The host has quotas (ABI 1.1): QUOTA is advertised. */
bool imap_quota_supported(const struct imap_session *s);
/* A message of size octets would not fit the account's quota now (the
 * answer to an APPEND before its synchronising literal is sent). */
bool imap_quota_refuses(struct imap_session *s, uint64_t size);
/* The tagged NO of a write refused with -EDQUOT. */
#define IMAP_OVERQUOTA "[OVERQUOTA] Quota exceeded"
/* APPEND: the line announcing the message literal (imap_cmd_append.c). */
void imap_append_begin(struct imap_session *s, const char *line,
		       size_t len, uint64_t size, bool nonsync);
void imap_append_bytes(struct imap_session *s, const char *bytes, size_t len,
		       int last);
void imap_append_end(struct imap_session *s, const char *line, size_t len);

#endif
