/* Internals shared by the engine's files: the compiled program's layout,
 * the operation table, and small string and memory helpers. Public names
 * start with sieve_, internal ones with sv_. */
#ifndef SV_H
#define SV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sieve.h"

#define SV_NONE UINT32_MAX
#define SV_ARGS 5

/* Extensions a script may require (bit numbers in a mask). */
enum sv_ext {
	SV_EXT_FILEINTO,
	SV_EXT_REJECT,
	SV_EXT_EREJECT,
	SV_EXT_ENVELOPE,
	SV_EXT_ENCODED_CHARACTER,
	SV_EXT_VACATION,
	SV_EXT_VACATION_SECONDS,
	SV_EXT_NUMERIC,             /* comparator-i;ascii-numeric */
	SV_EXT_OCTET,               /* comparator-i;octet (always there) */
	SV_EXT_CASEMAP,             /* comparator-i;ascii-casemap (likewise) */
	SV_EXT_RELATIONAL,
	SV_EXT_IMAP4FLAGS,
	SV_EXT_COPY,
	SV_EXT_INCLUDE,
	SV_EXT_VARIABLES,
	SV_EXT_BODY,
	SV_EXT_SUBADDRESS,
	SV_EXT_MAILBOX,
	SV_EXT_DATE,
	SV_EXT_COUNT
};

/* Name of an extension as require spells it. */
const char *sv_ext_name(unsigned ext);
/* The extension of that name, or -1. */
int sv_ext_find(const char *name, size_t len);

enum sv_op {
	/* commands */
	SV_OP_IF = 1, SV_OP_ELSIF, SV_OP_ELSE, SV_OP_STOP,
	SV_OP_KEEP, SV_OP_DISCARD, SV_OP_FILEINTO, SV_OP_REDIRECT,
	SV_OP_REJECT, SV_OP_EREJECT, SV_OP_VACATION, SV_OP_SET,
	SV_OP_SETFLAG, SV_OP_ADDFLAG, SV_OP_REMOVEFLAG,
	SV_OP_INCLUDE, SV_OP_RETURN, SV_OP_GLOBAL,
	/* tests */
	SV_OP_TRUE, SV_OP_FALSE, SV_OP_NOT, SV_OP_ALLOF, SV_OP_ANYOF,
	SV_OP_ADDRESS, SV_OP_ENVELOPE, SV_OP_HEADER, SV_OP_EXISTS,
	SV_OP_SIZE, SV_OP_BODY, SV_OP_STRING, SV_OP_HASFLAG,
	SV_OP_MAILBOXEXISTS, SV_OP_DATE, SV_OP_CURRENTDATE,
	SV_OP_MAX
};

enum sv_child { SV_CHILD_NONE, SV_CHILD_ONE, SV_CHILD_LIST };

/* What each operation's node may and must hold: the load-time validator
 * and the compiler both follow this table. */
struct sv_op_info {
	const char *name;
	bool is_test;
	uint8_t test;               /* enum sv_child */
	bool block;
	uint8_t args_required;      /* bit i: arg[i] present */
	uint8_t args_allowed;
	uint8_t args_single;        /* bit i: arg[i] is one string */
	bool matches;               /* uses match, comparator, relop */
	uint32_t flags_allowed;     /* SV_F_* */
};

extern const struct sv_op_info sv_ops[SV_OP_MAX];

enum sv_match { SV_MATCH_IS, SV_MATCH_CONTAINS, SV_MATCH_MATCHES,
		SV_MATCH_COUNT, SV_MATCH_VALUE, SV_MATCH_MAX };
enum sv_relop { SV_REL_NONE, SV_REL_GT, SV_REL_GE, SV_REL_LT, SV_REL_LE,
		SV_REL_EQ, SV_REL_NE, SV_REL_MAX };
enum sv_cmp { SV_CMP_CASEMAP, SV_CMP_OCTET, SV_CMP_NUMERIC, SV_CMP_MAX };
/* node.part: address part, body transform or date zone mode */
enum sv_addrpart { SV_PART_ALL, SV_PART_LOCALPART, SV_PART_DOMAIN,
		   SV_PART_USER, SV_PART_DETAIL, SV_PART_MAX };
enum sv_transform { SV_BODY_TEXT, SV_BODY_RAW, SV_BODY_CONTENT,
		    SV_BODY_MAX };
enum sv_zone { SV_ZONE_LOCAL, SV_ZONE_GIVEN, SV_ZONE_ORIGINAL, SV_ZONE_MAX };

/* node.flags */
#define SV_F_COPY       0x0001u
#define SV_F_CREATE     0x0002u
#define SV_F_MIME       0x0008u
#define SV_F_SECONDS    0x0010u   /* vacation: num is seconds, not days */
#define SV_F_OVER       0x0020u   /* size :over (else :under) */
#define SV_F_ONCE       0x0040u
#define SV_F_OPTIONAL   0x0080u
#define SV_F_GLOBAL     0x0100u   /* include :global */
#define SV_F_LOWER      0x0200u   /* set modifiers */
#define SV_F_UPPER      0x0400u
#define SV_F_LOWERFIRST 0x0800u
#define SV_F_UPPERFIRST 0x1000u
#define SV_F_QUOTEWILD  0x2000u
#define SV_F_LENGTH     0x4000u
#define SV_F_ALL        0x7fffu

#define SV_NUM_NONE UINT64_MAX

/* One command or test. Children have higher indices than their parent
 * and next siblings higher than the node: a loaded program is a tree by
 * construction (sv_program_validate checks it). */
struct sv_node {
	uint8_t op, match, relop, comparator;
	uint8_t part;
	uint32_t flags;
	uint32_t line;
	uint32_t next;              /* next command / next test in a list */
	uint32_t test;              /* if, elsif, not: the test; allof,
				       anyof: the first test */
	uint32_t block;             /* if, elsif, else: first command */
	uint32_t arg[SV_ARGS];      /* string lists, per operation */
	uint64_t num;               /* size, vacation period */
};

struct sv_list {
	uint32_t first, count;      /* strs[first .. first + count) */
};

/* sv_str.flags */
#define SV_STR_VARS   0x1u        /* holds ${...} to expand at runtime */
#define SV_STR_GLOBAL 0x2u        /* variable table: a global variable */

struct sv_str {
	uint32_t off, len;          /* pool[off .. off + len), NUL after */
	uint32_t flags;
};

/* A program: one allocation holding this header and its arrays. */
struct sieve_program {
	uint32_t extensions;        /* mask of (1 << enum sv_ext) */
	uint32_t root;              /* first top-level command, or SV_NONE */
	uint32_t vars;              /* list: variable names, sorted */
	uint32_t n_nodes, n_lists, n_strs, pool_len;
	const struct sv_node *nodes;
	const struct sv_list *lists;
	const struct sv_str *strs;
	const char *pool;
};

/* Whether p is a well-formed tree of valid operations whose every index
 * is in range (what evaluation relies on). 0 or -EINVAL. */
int sv_program_validate(const struct sieve_program *p);


static inline bool sv_has_ext(const struct sieve_program *p, unsigned ext)
{
	return (p->extensions >> ext) & 1u;
}

/* (pointer, length) strings; not NUL-terminated unless said. */
struct sv_val {
	const char *s;
	size_t len;
};

/* Arena: allocations freed all at once, with marks to release the
 * temporaries of one command. Fails (NULL) past its cap. */
struct sv_chunk;
struct sv_arena {
	struct sv_chunk *head;
	size_t used;                /* octets in all chunks */
	size_t cap;
};

struct sv_arena_mark {
	struct sv_chunk *head;
	size_t pos, used;
};

void sv_arena_init(struct sv_arena *a, size_t cap);
void *sv_arena_alloc(struct sv_arena *a, size_t size);
char *sv_arena_strndup(struct sv_arena *a, const char *s, size_t len);
struct sv_arena_mark sv_arena_mark(const struct sv_arena *a);
void sv_arena_release(struct sv_arena *a, struct sv_arena_mark mark);
void sv_arena_free(struct sv_arena *a);

/* Growable buffer with a hard cap: appends past it fail with -E2BIG
 * (-ENOMEM when malloc fails), leaving the content as it was. */
struct sv_buf {
	char *data;
	size_t len, size, cap;
};

void sv_buf_init(struct sv_buf *b, size_t cap);
int sv_buf_add(struct sv_buf *b, const void *data, size_t len);
int sv_buf_addc(struct sv_buf *b, char c);
int sv_buf_printf(struct sv_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Ensures a NUL after the content (not counted in len). */
int sv_buf_nul(struct sv_buf *b);
void sv_buf_free(struct sv_buf *b);

/* Nodes, lists and strings collected while compiling, packed into one
 * allocation by sv_builder_finish. */
struct sv_builder {
	struct sv_node *nodes;
	struct sv_list *lists;
	struct sv_str *strs;
	size_t n_nodes, n_lists, n_strs;
	size_t cap_nodes, cap_lists, cap_strs;
	struct sv_buf pool;
};

void sv_builder_init(struct sv_builder *b);
/* A new node (op set, every index SV_NONE); its index or SV_NONE when
 * memory runs out. Nodes must be added parent first. */
uint32_t sv_builder_node(struct sv_builder *b, uint8_t op, uint32_t line);
/* Appends a string to the pool, for the list being built. 0 or -ENOMEM. */
int sv_builder_str(struct sv_builder *b, const char *s, size_t len,
		   uint32_t flags);
/* Closes the strings added since first (= b->n_strs before them) into a
 * list: its index, or SV_NONE on -ENOMEM. */
uint32_t sv_builder_list(struct sv_builder *b, size_t first);
int sv_builder_finish(struct sv_builder *b, uint32_t extensions,
		      uint32_t root, uint32_t vars,
		      struct sieve_program **program_r);
void sv_builder_free(struct sv_builder *b);

/* UTF-8 */
bool sv_utf8_valid(const char *s, size_t len, size_t *bad_r);
/* The length of s's longest prefix of at most max octets that does not
 * cut a UTF-8 sequence. */
size_t sv_utf8_cut(const char *s, size_t len, size_t max);

bool sv_ident_valid(const char *s, size_t len);
int sv_strcasecmp_len(const char *a, size_t alen, const char *b,
		      size_t blen);
static inline char sv_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}
static inline char sv_upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 32) : c;
}
bool sv_eq_ci(const char *a, size_t alen, const char *b);

#endif
