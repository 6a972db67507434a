/* SEARCH programs; see imap_search.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap_date.h"
#include "imap_flags.h"
#include "imap_search.h"

enum arg_kind {
	ARG_NONE, ARG_ASTRING, ARG_DATE, ARG_NUMBER, ARG_SEQSET,
	ARG_KEYWORD, ARG_HEADER, ARG_KEY, ARG_KEY2, ARG_MODSEQ,
};

static const struct search_word {
	const char *name;
	enum imap_search_type type;
	enum arg_kind arg;
	unsigned mask, value;
	const char *field;
} words[] = {
	{ "ALL", IMAP_SK_ALL, ARG_NONE, 0, 0, NULL },
	{ "ANSWERED", IMAP_SK_FLAGS, ARG_NONE, IMAP_FLAG_ANSWERED,
	  IMAP_FLAG_ANSWERED, NULL },
	{ "DELETED", IMAP_SK_FLAGS, ARG_NONE, IMAP_FLAG_DELETED,
	  IMAP_FLAG_DELETED, NULL },
	{ "DRAFT", IMAP_SK_FLAGS, ARG_NONE, IMAP_FLAG_DRAFT, IMAP_FLAG_DRAFT,
	  NULL },
	{ "FLAGGED", IMAP_SK_FLAGS, ARG_NONE, IMAP_FLAG_FLAGGED,
	  IMAP_FLAG_FLAGGED, NULL },
	{ "RECENT", IMAP_SK_FLAGS, ARG_NONE, IMAP_FLAG_RECENT,
	  IMAP_FLAG_RECENT, NULL },
	{ "SEEN", IMAP_SK_FLAGS, ARG_NONE, IMAP_FLAG_SEEN, IMAP_FLAG_SEEN,
	  NULL },
	{ "NEW", IMAP_SK_FLAGS, ARG_NONE, IMAP_FLAG_RECENT | IMAP_FLAG_SEEN,
	  IMAP_FLAG_RECENT, NULL },
	{ "OLD", IMAP_SK_FLAGS, ARG_NONE, IMAP_FLAG_RECENT, 0, NULL },
	{ "UNANSWERED", IMAP_SK_FLAGS, ARG_NONE, IMAP_FLAG_ANSWERED, 0,
	  NULL },
	{ "UNDELETED", IMAP_SK_FLAGS, ARG_NONE, IMAP_FLAG_DELETED, 0, NULL },
	{ "UNDRAFT", IMAP_SK_FLAGS, ARG_NONE, IMAP_FLAG_DRAFT, 0, NULL },
	{ "UNFLAGGED", IMAP_SK_FLAGS, ARG_NONE, IMAP_FLAG_FLAGGED, 0, NULL },
	{ "UNSEEN", IMAP_SK_FLAGS, ARG_NONE, IMAP_FLAG_SEEN, 0, NULL },
	{ "KEYWORD", IMAP_SK_KEYWORD, ARG_KEYWORD, 0, 1, NULL },
	{ "UNKEYWORD", IMAP_SK_KEYWORD, ARG_KEYWORD, 0, 0, NULL },
	{ "BCC", IMAP_SK_HEADER, ARG_ASTRING, 0, 0, "BCC" },
	{ "CC", IMAP_SK_HEADER, ARG_ASTRING, 0, 0, "CC" },
	{ "FROM", IMAP_SK_HEADER, ARG_ASTRING, 0, 0, "FROM" },
	{ "SUBJECT", IMAP_SK_HEADER, ARG_ASTRING, 0, 0, "SUBJECT" },
	{ "TO", IMAP_SK_HEADER, ARG_ASTRING, 0, 0, "TO" },
	{ "HEADER", IMAP_SK_HEADER, ARG_HEADER, 0, 0, NULL },
	{ "BODY", IMAP_SK_BODY, ARG_ASTRING, 0, 0, NULL },
	{ "TEXT", IMAP_SK_TEXT, ARG_ASTRING, 0, 0, NULL },
	{ "BEFORE", IMAP_SK_BEFORE, ARG_DATE, 0, 0, NULL },
	{ "ON", IMAP_SK_ON, ARG_DATE, 0, 0, NULL },
	{ "SINCE", IMAP_SK_SINCE, ARG_DATE, 0, 0, NULL },
	{ "SENTBEFORE", IMAP_SK_SENTBEFORE, ARG_DATE, 0, 0, NULL },
	{ "SENTON", IMAP_SK_SENTON, ARG_DATE, 0, 0, NULL },
	{ "SENTSINCE", IMAP_SK_SENTSINCE, ARG_DATE, 0, 0, NULL },
	{ "LARGER", IMAP_SK_LARGER, ARG_NUMBER, 0, 0, NULL },
	{ "SMALLER", IMAP_SK_SMALLER, ARG_NUMBER, 0, 0, NULL },
	{ "UID", IMAP_SK_UID, ARG_SEQSET, 0, 0, NULL },
	{ "MODSEQ", IMAP_SK_MODSEQ, ARG_MODSEQ, 0, 0, NULL },
	{ "NOT", IMAP_SK_NOT, ARG_KEY, 0, 0, NULL },
	{ "OR", IMAP_SK_OR, ARG_KEY2, 0, 0, NULL },
};

struct search_parser {
	struct imap_search_program *prog;
	unsigned max_depth;
	const char *error;
};

static int fail(struct search_parser *p, const char *error)
{
	p->error = error;
	return -EINVAL;
}

static struct imap_search_key *new_key(struct search_parser *p,
				       enum imap_search_type type)
{
	struct imap_search_key *k = &p->prog->keys[p->prog->n_keys++];

	memset(k, 0, sizeof(*k));
	k->type = type;
	return k;
}

static size_t count_args(const struct imap_arg *args, size_t n)
{
	size_t total = n;

	for (size_t i = 0; i < n; i++) {
		if (args[i].type == IMAP_ARG_LIST)
			total += count_args(args[i].list, args[i].count);
	}
	return total;
}

static int parse_key(struct search_parser *p, const struct imap_arg *args,
		     size_t n, size_t *i, unsigned depth,
		     struct imap_search_key **key_r);

/* Keys args[*i..n) up to the end, as children of parent. */
static int parse_keys(struct search_parser *p, const struct imap_arg *args,
		      size_t n, unsigned depth, struct imap_search_key *parent)
{
	struct imap_search_key **tail = &parent->child;
	size_t i = 0;

	while (i < n) {
		int ret = parse_key(p, args, n, &i, depth, tail);

		if (ret < 0)
			return ret;
		tail = &(*tail)->next;
	}
	return 0;
}

static bool is_astring(const struct imap_arg *a)
{
	return a->type != IMAP_ARG_LIST;
}

/* An astring (a literal is not NUL-terminated) equal to word, any case. */
static bool word_is(const struct imap_arg *a, const char *word)
{
	return a->len == strlen(word) && strncasecmp(a->str, word, a->len) == 0;
}

static int parse_set(struct search_parser *p, struct imap_search_key *k,
		     const struct imap_arg *a)
{
	int ret;

	if (a->type != IMAP_ARG_ATOM)
		return fail(p, "Invalid sequence set");
	/* RFC 5182: "$" (alone) is the saved result, "UID $" too. */
	if (a->len == 1 && a->str[0] == '$') {
		k->type = IMAP_SK_SAVED;
		p->prog->uses_saved = true;
		return 0;
	}
	ret = imap_seqset_parse(a->str, a->len, &k->raw);
	if (ret == -EINVAL)
		return fail(p, "Invalid sequence set");
	return ret;
}

static int parse_number(struct search_parser *p, struct imap_search_key *k,
			const struct imap_arg *a)
{
	uint64_t v = 0;

	if (a->type != IMAP_ARG_ATOM)
		return fail(p, "Invalid number");
	for (size_t i = 0; i < a->len; i++) {
		unsigned d = (unsigned)(a->str[i] - '0');

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return fail(p, "Invalid number");
		v = v * 10 + d;
	}
	k->size = v;
	return 0;
}

/* RFC 7162 3.1.5: MODSEQ [entry-name entry-type-req] mod-sequence-valzer.
 * Flags have one modseq each here: the entry is read and ignored. */
static int parse_modseq(struct search_parser *p, struct imap_search_key *k,
			const struct imap_arg *args, size_t n, size_t *i)
{
	const struct imap_arg *a = &args[*i - 1];

	if (a->type == IMAP_ARG_QUOTED || a->type == IMAP_ARG_LITERAL) {
		if (*i + 2 > n)
			return fail(p, "Missing search argument");
		if (args[*i].type != IMAP_ARG_ATOM ||
		    (!word_is(&args[*i], "priv") &&
		     !word_is(&args[*i], "shared") &&
		     !word_is(&args[*i], "all")))
			return fail(p, "Invalid MODSEQ entry");
		a = &args[*i + 1];
		*i += 2;
	}
	int ret = parse_number(p, k, a);
	if (ret == 0 && k->size > INT64_MAX)
		return fail(p, "Invalid mod-sequence");
	p->prog->uses_modseq = true;
	return ret;
}

/* Copies the key's field (unless it is one of ours) and string, so that
 * it no longer borrows from the command. */
static int own_strings(struct imap_search_key *k, bool own_field)
{
	size_t flen = own_field ? k->field_len : 0;

	k->own = malloc(flen + k->len + 1);
	if (k->own == NULL)
		return -ENOMEM;
	if (own_field) {
		memcpy(k->own, k->field, flen);
		k->field = k->own;
	}
	if (k->len > 0)
		memcpy(k->own + flen, k->str, k->len);
	k->own[flen + k->len] = '\0';
	k->str = k->own + flen;
	return 0;
}

/* A key that reads messages: counted against the limit, its string
 * compiled. */
static int text_key(struct search_parser *p, struct imap_search_key *k,
		    bool own_field)
{
	if (own_strings(k, own_field) < 0)
		return -ENOMEM;
	if (++p->prog->n_text_keys > IMAP_SEARCH_MAX_TEXT_KEYS) {
		p->error = "Too many text search keys";
		return IMAP_SEARCH_LIMIT;
	}
	int ret = imap_needle_init(&k->needle, k->str, k->len);
	if (ret == -E2BIG)
		return fail(p, "Search string too long");
	return ret;
}

static int parse_arg(struct search_parser *p, const struct search_word *w,
		     struct imap_search_key *k, const struct imap_arg *args,
		     size_t n, size_t *i, unsigned depth)
{
	const struct imap_arg *a = &args[*i];

	if (w->arg == ARG_NONE)
		return 0;
	if (*i == n || (w->arg == ARG_HEADER && *i + 1 == n))
		return fail(p, "Missing search argument");
	if (w->arg == ARG_KEY || w->arg == ARG_KEY2) {
		int ret = parse_key(p, args, n, i, depth + 1, &k->child);

		if (ret == 0 && w->arg == ARG_KEY2) {
			if (*i == n)
				return fail(p, "Missing search argument");
			ret = parse_key(p, args, n, i, depth + 1,
					&k->child->next);
		}
		return ret;
	}
	(*i)++;
	switch (w->arg) {
	case ARG_ASTRING:
		if (!is_astring(a))
			return fail(p, "Invalid search string");
		k->str = a->str;
		k->len = a->len;
		k->field = w->field;
		k->field_len = w->field != NULL ? strlen(w->field) : 0;
		return text_key(p, k, false);
	case ARG_HEADER:
		(*i)++;
		if (!is_astring(a) || !is_astring(a + 1))
			return fail(p, "Invalid search string");
		k->field = a->str;
		k->field_len = a->len;
		k->str = a[1].str;
		k->len = a[1].len;
		return text_key(p, k, true);
	case ARG_DATE:
		if ((a->type != IMAP_ARG_ATOM && a->type != IMAP_ARG_QUOTED) ||
		    imap_parse_date(a->str, a->len, &k->day) < 0)
			return fail(p, "Invalid search date");
		return 0;
	case ARG_NUMBER:
		return parse_number(p, k, a);
	case ARG_SEQSET:
		return parse_set(p, k, a);
	case ARG_MODSEQ:
		return parse_modseq(p, k, args, n, i);
	default: /* ARG_KEYWORD */
		if (a->type != IMAP_ARG_ATOM)
			return fail(p, "Invalid keyword");
		for (size_t j = 0; j < a->len; j++) {
			if (!imap_is_atom_char((unsigned char)a->str[j]))
				return fail(p, "Invalid keyword");
		}
		k->str = a->str;
		k->len = a->len;
		return own_strings(k, false);
	}
}

static int parse_key(struct search_parser *p, const struct imap_arg *args,
		     size_t n, size_t *i, unsigned depth,
		     struct imap_search_key **key_r)
{
	const struct imap_arg *a = &args[(*i)++];
	struct imap_search_key *k;

	if (depth > p->max_depth)
		return fail(p, "Search program nested too deeply");
	if (a->type == IMAP_ARG_LIST) {
		if (a->count == 0)
			return fail(p, "Empty search list");
		k = *key_r = new_key(p, IMAP_SK_AND);
		return parse_keys(p, a->list, a->count, depth + 1, k);
	}
	if (a->type != IMAP_ARG_ATOM)
		return fail(p, "Invalid search key");
	if ((a->str[0] >= '0' && a->str[0] <= '9') || a->str[0] == '*' ||
	    a->str[0] == '$') {
		k = *key_r = new_key(p, IMAP_SK_SEQSET);
		return parse_set(p, k, a);
	}
	for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
		if (strcasecmp(a->str, words[w].name) != 0)
			continue;
		k = *key_r = new_key(p, words[w].type);
		k->mask = words[w].mask;
		k->value = words[w].value;
		if (k->type == IMAP_SK_HEADER || k->type == IMAP_SK_SENTBEFORE ||
		    k->type == IMAP_SK_SENTON || k->type == IMAP_SK_SENTSINCE)
			p->prog->needs |= IMAP_SEARCH_NEED_HEADER;
		if (k->type == IMAP_SK_BODY || k->type == IMAP_SK_TEXT)
			p->prog->needs |= IMAP_SEARCH_NEED_BODY;
		return parse_arg(p, &words[w], k, args, n, i, depth);
	}
	return fail(p, "Unknown search key");
}

int imap_search_parse(const struct imap_arg *args, size_t n,
		      unsigned max_depth, struct imap_search_program **prog_r,
		      const char **error_r)
{
	struct search_parser p = {
		.max_depth = max_depth != 0 ? max_depth :
			IMAP_SEARCH_DEFAULT_DEPTH,
	};
	size_t n_keys;
	int ret;

	*prog_r = NULL;
	*error_r = NULL;
	if (n > 0 && imap_arg_atom_is(&args[0], "CHARSET")) {
		if (n == 1 || !is_astring(&args[1])) {
			*error_r = "Missing charset";
			return -EINVAL;
		}
		if (!word_is(&args[1], "UTF-8") &&
		    !word_is(&args[1], "US-ASCII"))
			return IMAP_SEARCH_BADCHARSET;
		args += 2;
		n -= 2;
	}
	if (n == 0) {
		*error_r = "Missing search keys";
		return -EINVAL;
	}
	/* Every key takes at least one argument; plus the top AND. */
	n_keys = count_args(args, n) + 1;
	p.prog = calloc(1, sizeof(*p.prog) + n_keys * sizeof(p.prog->keys[0]));
	if (p.prog == NULL)
		return -ENOMEM;
	p.prog->root = new_key(&p, IMAP_SK_AND);
	ret = parse_keys(&p, args, n, 1, p.prog->root);
	if (ret < 0) {
		imap_search_free(&p.prog);
		*error_r = p.error;
		return ret;
	}
	*prog_r = p.prog;
	return 0;
}

void imap_search_free(struct imap_search_program **prog)
{
	if (*prog == NULL)
		return;
	for (size_t i = 0; i < (*prog)->n_keys; i++) {
		if ((*prog)->keys[i].raw != NULL)
			imap_seqset_free(&(*prog)->keys[i].raw);
		if ((*prog)->keys[i].set != NULL)
			imap_seqset_free(&(*prog)->keys[i].set);
		imap_needle_free(&(*prog)->keys[i].needle);
		free((*prog)->keys[i].own);
	}
	free(*prog);
	*prog = NULL;
}

unsigned imap_search_needs(const struct imap_search_program *prog)
{
	return prog->needs;
}

int imap_search_prepare(struct imap_search_program *prog, uint32_t max_seq,
			uint32_t max_uid)
{
	for (size_t i = 0; i < prog->n_keys; i++) {
		struct imap_search_key *k = &prog->keys[i];
		int ret;

		if (k->raw == NULL)
			continue;
		if (k->set != NULL)
			imap_seqset_free(&k->set);
		ret = imap_seqset_resolve(k->raw, k->type == IMAP_SK_UID ?
					  max_uid : max_seq, IMAP_SEQSET_UID,
					  &k->set);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int imap_search_set_saved(struct imap_search_program *prog,
			  const uint32_t *uids, size_t n)
{
	for (size_t i = 0; i < prog->n_keys; i++) {
		struct imap_search_key *k = &prog->keys[i];

		if (k->type != IMAP_SK_SAVED)
			continue;
		imap_seqset_free(&k->set);
		if (n > 0 && imap_seqset_from_uids(uids, n, &k->set) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int eval_key(const struct imap_search_key *k,
		    const struct imap_search_msg *m)
{
	int64_t t;
	int tz, ret;

	switch (k->type) {
	case IMAP_SK_ALL:
		return 1;
	case IMAP_SK_AND:
		for (const struct imap_search_key *c = k->child; c != NULL;
		     c = c->next) {
			ret = eval_key(c, m);
			if (ret <= 0)
				return ret;
		}
		return 1;
	case IMAP_SK_OR:
		ret = eval_key(k->child, m);
		return ret != 0 ? ret : eval_key(k->child->next, m);
	case IMAP_SK_NOT:
		ret = eval_key(k->child, m);
		return ret < 0 ? ret : !ret;
	case IMAP_SK_FLAGS:
		return (m->flags & k->mask) == k->value;
	case IMAP_SK_KEYWORD:
		return imap_keywords_has(m->keywords != NULL ? m->keywords : "",
					 m->keywords != NULL ?
					 strlen(m->keywords) : 0,
					 k->str, k->len) == (k->value != 0);
	case IMAP_SK_HEADER:
		return m->header_contains(m->ctx, k->field, k->field_len,
					  &k->needle);
	case IMAP_SK_BODY:
	case IMAP_SK_TEXT:
		return m->body_contains(m->ctx, k->type == IMAP_SK_TEXT,
					&k->needle);
	case IMAP_SK_BEFORE:
		return imap_day_of(m->internaldate, 0) < k->day;
	case IMAP_SK_ON:
		return imap_day_of(m->internaldate, 0) == k->day;
	case IMAP_SK_SINCE:
		return imap_day_of(m->internaldate, 0) >= k->day;
	case IMAP_SK_SENTBEFORE:
	case IMAP_SK_SENTON:
	case IMAP_SK_SENTSINCE:
		ret = m->sent_date(m->ctx, &t, &tz);
		if (ret <= 0)
			return ret;
		t = imap_day_of(t, tz);
		return k->type == IMAP_SK_SENTBEFORE ? t < k->day :
			k->type == IMAP_SK_SENTON ? t == k->day : t >= k->day;
	case IMAP_SK_LARGER:
		return m->size > k->size;
	case IMAP_SK_SMALLER:
		return m->size < k->size;
	case IMAP_SK_MODSEQ:
		return m->modseq >= k->size;
	case IMAP_SK_SAVED:
		return k->set != NULL && imap_seqset_contains(k->set, m->uid);
	case IMAP_SK_SEQSET:
	case IMAP_SK_UID:
		if (k->set == NULL)
			return -EINVAL;
		return imap_seqset_contains(k->set, k->type == IMAP_SK_UID ?
					    m->uid : m->seq);
	}
	return -EINVAL;
}

int imap_search_eval(const struct imap_search_program *prog,
		     const struct imap_search_msg *msg)
{
	return eval_key(prog->root, msg);
}

static char fold(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

/* Simple lower case of a code point of two UTF-8 bytes (U+0080..U+07FF)
 * whose lower case is two bytes too: Latin-1, Latin Extended-A, Greek,
 * Cyrillic. Others stay. */
static uint32_t fold_cp(uint32_t cp)
{
	if ((cp >= 0xc0 && cp <= 0xde && cp != 0xd7) ||
	    (cp >= 0x391 && cp <= 0x3a9 && cp != 0x3a2) ||
	    (cp >= 0x410 && cp <= 0x42f))
		return cp + 0x20;
	if (cp >= 0x400 && cp <= 0x40f)
		return cp + 0x50;
	if (cp == 0x178)
		return 0xff;
	if (cp == 0x3c2) /* final sigma */
		return 0x3c3;
	if (((cp >= 0x100 && cp <= 0x12f) || (cp >= 0x132 && cp <= 0x137) ||
	     (cp >= 0x14a && cp <= 0x177)) && cp % 2 == 0)
		return cp + 1;
	if (((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17e)) &&
	    cp % 2 == 1)
		return cp + 1;
	return cp;
}

void imap_fold_utf8(char *s, size_t len)
{
	unsigned char *p = (unsigned char *)s;

	for (size_t i = 0; i < len; i++) {
		if (p[i] >= 'A' && p[i] <= 'Z') {
			p[i] += 32;
			continue;
		}
		if ((p[i] & 0xe0) != 0xc0 || i + 1 == len ||
		    (p[i + 1] & 0xc0) != 0x80)
			continue;
		uint32_t cp = ((uint32_t)(p[i] & 0x1f) << 6) | (p[i + 1] & 0x3f);
		uint32_t low = fold_cp(cp);
		if (low != cp) {
			p[i] = (unsigned char)(0xc0 | (low >> 6));
			p[i + 1] = (unsigned char)(0x80 | (low & 0x3f));
		}
		i++;
	}
}

int imap_needle_init(struct imap_needle *n, const char *str, size_t len)
{
	memset(n, 0, sizeof(*n));
	n->str = str;
	n->len = len;
	if (len == 0)
		return 0;
	if (len >= UINT32_MAX)
		return -E2BIG;
	n->folded = malloc(len);
	n->next = malloc(len * sizeof(*n->next));
	if (n->folded == NULL || n->next == NULL) {
		imap_needle_free(n);
		return -ENOMEM;
	}
	memcpy(n->folded, str, len);
	imap_fold_utf8(n->folded, len);
	/* next[i]: the longest proper prefix of folded[0..i] that is also
	 * its suffix; where a mismatch after it resumes. */
	n->next[0] = 0;
	for (size_t i = 1, k = 0; i < len; i++) {
		while (k > 0 && n->folded[i] != n->folded[k])
			k = n->next[k - 1];
		if (n->folded[i] == n->folded[k])
			k++;
		n->next[i] = (uint32_t)k;
	}
	return 0;
}

void imap_needle_free(struct imap_needle *n)
{
	free(n->folded);
	free(n->next);
	n->folded = NULL;
	n->next = NULL;
}

bool imap_needle_find(const struct imap_needle *n, const char *hay,
		      size_t len)
{
	size_t k = 0;

	if (n->len == 0)
		return true;
	/* Each byte either advances k or shortens it: 2 x len steps. */
	for (size_t i = 0; i < len; i++) {
		char c = fold(hay[i]);

		while (k > 0 && n->folded[k] != c)
			k = n->next[k - 1];
		if (n->folded[k] == c && ++k == n->len)
			return true;
	}
	return false;
}
