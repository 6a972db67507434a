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
/* imap_search_parse(): more than IMAP_SEARCH_MAX_TEXT_KEYS keys that read
 * messages; answer "NO [LIMIT]". Each one scans every message it is
 * evaluated on, so their number bounds the work per message. */
#define IMAP_SEARCH_LIMIT (-E2BIG)
#define IMAP_SEARCH_MAX_TEXT_KEYS 64
#define IMAP_SEARCH_DEFAULT_DEPTH 32

/* What imap_search_needs() reports. */
#define IMAP_SEARCH_NEED_HEADER (1u << 0) /* header_contains, sent_date */
#define IMAP_SEARCH_NEED_BODY   (1u << 1) /* body_contains */

/* Folds UTF-8 text in place to lower case, keeping its length: ASCII,
 * and the letters of Latin-1, Latin Extended-A, Greek and Cyrillic
 * (Unicode simple case folding where it keeps two bytes two bytes).
 * Other bytes, malformed ones included, stay. */
void imap_fold_utf8(char *s, size_t len);

/* A search string compiled once for case-insensitive substring search in
 * O(haystack + needle) time: Knuth-Morris-Pratt over bytes (the naive
 * scan was O(haystack x needle): a 16 MB body against a 256 KB string).
 * The needle is folded with imap_fold_utf8; the haystack's ASCII letters
 * are folded as it is read, so text folded beforehand with
 * imap_fold_utf8 matches without regard to case in those scripts too;
 * the empty needle is found everywhere. */
struct imap_needle {
	const char *str;  /* as sent; borrowed (from the key), not NUL-
			     terminated */
	size_t len;
	char *folded;     /* len bytes */
	uint32_t *next;   /* the failure function, len entries */
};

/* 0, -ENOMEM, or -E2BIG for 4 GB or more. */
int imap_needle_init(struct imap_needle *n, const char *str, size_t len);
void imap_needle_free(struct imap_needle *n);
bool imap_needle_find(const struct imap_needle *n, const char *hay,
		      size_t len);

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
	IMAP_SK_MODSEQ,     /* size: the message's modseq is at least it
			       (RFC 7162 3.1.5) */
	IMAP_SK_SAVED,      /* "$" (RFC 5182): set, UIDs, from
			       imap_search_set_saved; NULL matches none */
};

struct imap_search_key {
	enum imap_search_type type;
	struct imap_search_key *child; /* AND, OR, NOT: first child */
	struct imap_search_key *next;  /* next sibling */
	/* HEADER: the field name. The strings are the key's own copies
	 * (own; str is NUL-terminated, field not), and a literal may hold
	 * NUL: use the lengths. */
	const char *field;
	size_t field_len;
	const char *str;
	size_t len;
	char *own;
	struct imap_needle needle;     /* HEADER, BODY, TEXT: str compiled */
	unsigned mask, value;          /* FLAGS; KEYWORD uses value */
	int64_t day;                   /* days since 1970-01-01 */
	uint64_t size;
	struct imap_seqset *raw;       /* as sent; owned */
	struct imap_seqset *set;       /* resolved by imap_search_prepare */
};

/* One allocation of keys, which own what they need of the command's
 * arguments: a program outlives the command it was parsed from (SEARCH
 * evaluates it on worker threads, batch after batch). */
struct imap_search_program {
	struct imap_search_key *root;
	unsigned needs;
	size_t n_keys;
	size_t n_text_keys;            /* HEADER, BODY, TEXT and the like */
	bool uses_modseq;              /* a MODSEQ key: the response says
					  the highest modseq found */
	bool uses_saved;               /* a "$" key */
	struct imap_search_key keys[];
};

/* Parses SEARCH's arguments: ["CHARSET" astring] 1*search-key. Key names
 * are case-insensitive. max_depth bounds NOT / OR / list nesting (0:
 * IMAP_SEARCH_DEFAULT_DEPTH). 0 and *prog_r, -EINVAL with *error_r (for
 * "BAD"), IMAP_SEARCH_BADCHARSET, IMAP_SEARCH_LIMIT, -ENOMEM. Safe on any
 * args (a fuzz entry point behind imap_parse_command). */
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

/* Gives the "$" keys the saved result: n UIDs (any order). 0 or
 * -ENOMEM. */
int imap_search_set_saved(struct imap_search_program *prog,
			  const uint32_t *uids, size_t n);

/* One message as the evaluator sees it. The callbacks are only called
 * when imap_search_needs() says so; each returns 1 (yes), 0 (no) or a
 * negative errno that aborts the evaluation. Evaluation touches nothing
 * but the program (read only) and msg: programs may be evaluated on
 * worker threads, one message per thread at a time. */
struct imap_search_msg {
	uint32_t seq, uid;
	uint64_t size;                 /* RFC822.SIZE */
	unsigned flags;                /* IMAP_FLAG_*, \Recent included */
	const char *keywords;          /* space-separated, may be NULL */
	int64_t internaldate;          /* unix time */
	uint64_t modseq;               /* RFC 7162 */
	void *ctx;
	/* Whether a header field (name case-insensitive) contains the
	 * needle (imap_needle_find on the field's value); an empty needle
	 * means "has the field". */
	int (*header_contains)(void *ctx, const char *field, size_t field_len,
			       const struct imap_needle *needle);
	/* Whether the body (text: header and body) contains the needle. */
	int (*body_contains)(void *ctx, bool text,
			     const struct imap_needle *needle);
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

#endif
