/* SEARCH programs (RFC 3501 6.4.4): parse every search key into a tree,
 * resolve sequence sets, evaluate per message through an accessor. */
#ifndef IMAP_SEARCH_H
#define IMAP_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap_parser.h"
#include "imap_seqset.h"

/* imap_search_parse(): the CHARSET is neither UTF-8 nor US-ASCII; answer
 * "NO [BADCHARSET (UTF-8 US-ASCII)]". */
#define IMAP_SEARCH_BADCHARSET (-ENOTSUP)
#define IMAP_SEARCH_DEFAULT_DEPTH 32

/* What imap_search_needs() reports. */
#define IMAP_SEARCH_NEED_HEADER (1u << 0) /* header_contains, sent_date */
#define IMAP_SEARCH_NEED_BODY   (1u << 1) /* body_contains */

enum imap_search_type {
	IMAP_SK_ALL,
	IMAP_SK_AND,        /* children: all of them (a list, the top) */
	IMAP_SK_OR,         /* children: exactly two */
	IMAP_SK_NOT,        /* children: exactly one */
	IMAP_SK_FLAGS,      /* (flags & mask) == value: ANSWERED, UNSEEN,
			       NEW (RECENT and not SEEN), OLD ... */
	IMAP_SK_KEYWORD,    /* str; value 1 = KEYWORD, 0 = UNKEYWORD */
	IMAP_SK_HEADER,     /* field, str: HEADER, BCC, CC, FROM, SUBJECT,
			       TO */
	IMAP_SK_BODY,       /* str */
	IMAP_SK_TEXT,       /* str */
	IMAP_SK_BEFORE,     /* day; internal date */
	IMAP_SK_ON,
	IMAP_SK_SINCE,
	IMAP_SK_SENTBEFORE, /* day; Date: header */
	IMAP_SK_SENTON,
	IMAP_SK_SENTSINCE,
	IMAP_SK_LARGER,     /* size */
	IMAP_SK_SMALLER,
	IMAP_SK_SEQSET,     /* raw, set */
	IMAP_SK_UID,
};

struct imap_search_key {
	enum imap_search_type type;
	struct imap_search_key *child; /* AND, OR, NOT: first child */
	struct imap_search_key *next;  /* next sibling */
	/* HEADER: the field name; strings borrow from the command (a
	 * literal is not NUL-terminated: use the lengths). */
	const char *field;
	size_t field_len;
	const char *str;
	size_t len;
	unsigned mask, value;          /* FLAGS; KEYWORD uses value */
	int64_t day;                   /* days since 1970-01-01 */
	uint64_t size;
	struct imap_seqset *raw;       /* as sent; owned */
	struct imap_seqset *set;       /* resolved by imap_search_prepare */
};

/* One allocation of keys; the program borrows strings from the command
 * whose args were parsed: free the program first. */
struct imap_search_program {
	struct imap_search_key *root;
	unsigned needs;
	size_t n_keys;
	struct imap_search_key keys[];
};

/* Parses SEARCH's arguments: ["CHARSET" astring] 1*search-key. Key names
 * are case-insensitive. max_depth bounds NOT / OR / list nesting (0:
 * IMAP_SEARCH_DEFAULT_DEPTH). 0 and *prog_r, -EINVAL with *error_r (for
 * "BAD"), IMAP_SEARCH_BADCHARSET, -ENOMEM. Safe on any args (a fuzz
 * entry point behind imap_parse_command). */
int imap_search_parse(const struct imap_arg *args, size_t n,
		      unsigned max_depth, struct imap_search_program **prog_r,
		      const char **error_r);
void imap_search_free(struct imap_search_program **prog);

/* IMAP_SEARCH_NEED_* bits: 0 means flags, sizes, dates and sets are
 * enough (no message needs reading). */
unsigned imap_search_needs(const struct imap_search_program *prog);

/* Resolves every sequence set against the mailbox (again after it
 * changed); "*" is the highest number and numbers above it match nothing
 * (IMAP_SEQSET_UID semantics for both kinds). 0 or -ENOMEM. */
int imap_search_prepare(struct imap_search_program *prog, uint32_t max_seq,
			uint32_t max_uid);

/* One message as the evaluator sees it. The callbacks are only called
 * when imap_search_needs() says so; each returns 1 (yes), 0 (no) or a
 * negative errno that aborts the evaluation. */
struct imap_search_msg {
	uint32_t seq, uid;
	uint64_t size;                 /* RFC822.SIZE */
	unsigned flags;                /* IMAP_FLAG_*, \Recent included */
	const char *keywords;          /* space-separated, may be NULL */
	int64_t internaldate;          /* unix time */
	void *ctx;
	/* Whether a header field (name case-insensitive) contains str; an
	 * empty str means "has the field". Matching should be
	 * imap_search_contains() on the decoded field value. */
	int (*header_contains)(void *ctx, const char *field, size_t field_len,
			       const char *str, size_t len);
	/* Whether the body (text: header and body) contains str. */
	int (*body_contains)(void *ctx, bool text, const char *str,
			     size_t len);
	/* The Date: header as unix time and its zone (minutes east): 1, or
	 * 0 when absent or unparsable (SENT* keys then do not match; a
	 * caller may fall back to the internal date instead). */
	int (*sent_date)(void *ctx, int64_t *t_r, int *tz_min_r);
};

/* 1 when the message matches, 0 when not, a callback's negative errno,
 * or -EINVAL when a sequence set was not prepared. Dates compare whole
 * days: the internal date's day in UTC (as INTERNALDATE is shown), the
 * sent date's day in the Date: header's own zone. */
int imap_search_eval(const struct imap_search_program *prog,
		     const struct imap_search_msg *msg);

/* Substring test for the callbacks: ASCII letters compare case-
 * insensitively, every other byte (UTF-8 included) exactly; an empty
 * needle matches. O(hay_len * needle_len) worst case. */
bool imap_search_contains(const char *hay, size_t hay_len,
			  const char *needle, size_t needle_len);

#endif
