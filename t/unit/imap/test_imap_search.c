/* SEARCH: every key parsed and evaluated over three messages (truth
 * tables), CHARSET, depth limits, errors, callbacks' errors. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap_date.h"
#include "imap_flags.h"
#include "imap_search.h"
#include "test_imap.h"

struct fake_msg {
	const char *headers[4][2];
	const char *body;
	const char *date; /* date-time text or NULL */
	int fail;         /* callbacks return this when non-zero */
};

static struct fake_msg fakes[3] = {
	{ { { "From", "Alice <alice@example.com>" }, { "To", "bob" },
	    { "Subject", "Meeting Notes" } },
	  "Hello World", "15-Jan-2024 23:30:00 -0500", 0 },
	{ { { "From", "Bob" }, { "Cc", "carol" },
	    { "Subject", "Re: meeting" } },
	  "caf\xc3\xa9 bar", NULL, 0 },
	{ { { "From", "Carol" }, { "Bcc", "dave" }, { "X-Spam", "yes" } },
	  "", "14-Jan-2024 12:00:00 +0000", 0 },
};

static struct imap_search_msg msgs[3];
static struct imap_command *cmd;
static struct imap_search_program *prog;
static const char *err;
static int calls;

static bool contains(const char *hay, size_t hay_len, const char *str,
		     size_t len)
{
	struct imap_needle n;
	bool yes;

	ck_assert_int_eq(imap_needle_init(&n, str, len), 0);
	yes = imap_needle_find(&n, hay, hay_len);
	imap_needle_free(&n);
	return yes;
}

static int header_contains(void *ctx, const char *field, size_t field_len,
			   const struct imap_needle *needle)
{
	struct fake_msg *m = ctx;

	calls++;
	if (m->fail != 0)
		return m->fail;
	for (int i = 0; i < 4 && m->headers[i][0] != NULL; i++) {
		const char *v = m->headers[i][1];

		if (strlen(m->headers[i][0]) == field_len &&
		    strncasecmp(m->headers[i][0], field, field_len) == 0 &&
		    imap_needle_find(needle, v, strlen(v)))
			return 1;
	}
	return 0;
}

static int body_contains(void *ctx, bool text,
			 const struct imap_needle *needle)
{
	struct fake_msg *m = ctx;

	calls++;
	if (m->fail != 0)
		return m->fail;
	for (int i = 0; text && i < 4 && m->headers[i][0] != NULL; i++) {
		if (imap_needle_find(needle, m->headers[i][1],
				     strlen(m->headers[i][1])))
			return 1;
	}
	return imap_needle_find(needle, m->body, strlen(m->body));
}

static int sent_date(void *ctx, int64_t *t_r, int *tz_r)
{
	struct fake_msg *m = ctx;

	calls++;
	if (m->fail != 0)
		return m->fail;
	if (m->date == NULL)
		return 0;
	ck_assert_int_eq(imap_parse_datetime(m->date, strlen(m->date), t_r,
					     tz_r), 0);
	return 1;
}

static void setup(void)
{
	static const unsigned flags[3] = {
		IMAP_FLAG_SEEN | IMAP_FLAG_ANSWERED,
		IMAP_FLAG_RECENT,
		IMAP_FLAG_RECENT | IMAP_FLAG_SEEN | IMAP_FLAG_DELETED |
		IMAP_FLAG_FLAGGED | IMAP_FLAG_DRAFT,
	};
	static const char *const kws[3] = { "Work $Junk", NULL, "work" };
	static const uint64_t sizes[3] = { 100, 2000, 500 };
	static const int64_t dates[3] = {
		1705312800, /* 15-Jan-2024 10:00:00 UTC */
		1705363200, /* 16-Jan-2024 00:00:00 UTC */
		1705276799, /* 14-Jan-2024 23:59:59 UTC */
	};

	for (int i = 0; i < 3; i++) {
		msgs[i] = (struct imap_search_msg){
			.seq = (uint32_t)i + 1, .uid = 10 * ((uint32_t)i + 1),
			.size = sizes[i], .flags = flags[i],
			.keywords = kws[i], .internaldate = dates[i],
			.ctx = &fakes[i], .header_contains = header_contains,
			.body_contains = body_contains, .sent_date = sent_date,
		};
		fakes[i].fail = 0;
	}
	calls = 0;
}

static void teardown(void)
{
	if (prog != NULL)
		imap_search_free(&prog);
	if (cmd != NULL)
		imap_command_free(&cmd);
}

static int parse_depth(const char *keys, unsigned depth)
{
	char line[4096];
	const char *perr;
	int n = snprintf(line, sizeof(line), "A SEARCH %s", keys);

	if (prog != NULL)
		imap_search_free(&prog);
	if (cmd != NULL)
		imap_command_free(&cmd);
	ck_assert_int_eq(imap_parse_command(line, (size_t)n, NULL, &cmd,
					    &perr), 0);
	return imap_search_parse(cmd->args, cmd->n_args, depth, &prog, &err);
}

static int parse(const char *keys)
{
	return parse_depth(keys, 0);
}

/* "101": which of the three messages match. */
static const char *matches(const char *keys)
{
	static char r[4];

	ck_assert_msg(parse(keys) == 0, "%s: %s", keys, err);
	ck_assert_int_eq(imap_search_prepare(prog, 3, 30), 0);
	for (int i = 0; i < 3; i++) {
		int ret = imap_search_eval(prog, &msgs[i]);

		ck_assert_int_ge(ret, 0);
		r[i] = ret ? '1' : '0';
	}
	r[3] = '\0';
	return r;
}

static const char *const truth[][2] = {
	{ "ALL", "111" },
	{ "SEEN", "101" }, { "UNSEEN", "010" },
	{ "ANSWERED", "100" }, { "UNANSWERED", "011" },
	{ "DELETED", "001" }, { "UNDELETED", "110" },
	{ "DRAFT", "001" }, { "UNDRAFT", "110" },
	{ "FLAGGED", "001" }, { "unflagged", "110" },
	{ "RECENT", "011" }, { "NEW", "010" }, { "OLD", "100" },
	{ "KEYWORD work", "101" }, { "UNKEYWORD WORK", "010" },
	{ "KEYWORD $junk", "100" }, { "KEYWORD wor", "000" },
	{ "LARGER 500", "010" }, { "SMALLER 500", "100" },
	{ "LARGER 99", "111" }, { "SMALLER 18446744073709551615", "111" },
	{ "BEFORE 15-Jan-2024", "001" }, { "ON 15-Jan-2024", "100" },
	{ "SINCE 15-Jan-2024", "110" }, { "ON \"16-Jan-2024\"", "010" },
	{ "ON 14-Jan-2024", "001" },
	/* The Date: header's own zone: 23:30 -0500 is still the 15th. */
	{ "SENTON 15-Jan-2024", "100" }, { "SENTBEFORE 15-Jan-2024", "001" },
	{ "SENTSINCE 15-Jan-2024", "100" }, { "SENTSINCE 1-Jan-1970", "101" },
	{ "NOT SENTON 15-Jan-2024", "011" },
	{ "FROM ALICE", "100" }, { "SUBJECT meeting", "110" },
	{ "SUBJECT \"\"", "110" }, { "CC carol", "010" },
	{ "BCC dave", "001" }, { "TO bob", "100" },
	{ "HEADER X-Spam yes", "001" }, { "HEADER x-spam \"\"", "001" },
	{ "HEADER subject notes", "100" }, { "HEADER {7}\r\nSUBJECT re", "010" },
	{ "BODY world", "100" }, { "BODY alice", "000" },
	{ "TEXT alice", "100" }, { "TEXT \"\"", "111" },
	/* The needle folds É to é; "CAF" folds as it is read. */
	{ "BODY {5}\r\nCAF\xc3\xa9", "010" }, { "BODY {5}\r\ncaf\xc3\x89", "010" },
	{ "1:2", "110" }, { "2,*", "011" }, { "4:*", "001" }, { "5", "000" },
	{ "UID 20:*", "011" }, { "UID 25", "000" }, { "uid 1:15", "100" },
	{ "UID *", "001" },
	{ "OR SEEN RECENT", "111" }, { "OR DELETED ANSWERED", "101" },
	{ "NOT SEEN", "010" }, { "NOT NOT SEEN", "101" },
	{ "(SEEN ANSWERED)", "100" }, { "SEEN FLAGGED", "001" },
	{ "(OR (SEEN) NEW) UNDELETED", "110" },
	{ "OR (2 UNSEEN) UID 30", "011" }, { "OR (1 UNSEEN) UID 30", "001" },
	{ "CHARSET UTF-8 SUBJECT meeting", "110" },
	{ "charset us-ascii ALL", "111" },
	{ "CHARSET {5}\r\nutf-8 ALL", "111" },
};

START_TEST(truth_tables)
{
	for (size_t i = 0; i < sizeof(truth) / sizeof(truth[0]); i++)
		ck_assert_msg(strcmp(matches(truth[i][0]), truth[i][1]) == 0,
			      "%s: got %s want %s", truth[i][0],
			      matches(truth[i][0]), truth[i][1]);
}
END_TEST

START_TEST(tree_shape_and_needs)
{
	const struct imap_search_key *k;

	ck_assert_int_eq(parse("OR NOT 1:3 UID 4 HEADER Foo bar"), 0);
	k = prog->root;
	ck_assert_int_eq(k->type, IMAP_SK_AND);
	k = k->child;
	ck_assert_int_eq(k->type, IMAP_SK_OR);
	ck_assert_int_eq(k->child->type, IMAP_SK_NOT);
	ck_assert_int_eq(k->child->child->type, IMAP_SK_SEQSET);
	ck_assert_uint_eq(k->child->child->raw->count, 1);
	ck_assert_int_eq(k->child->next->type, IMAP_SK_UID);
	ck_assert_ptr_null(k->child->next->next);
	k = k->next;
	ck_assert_int_eq(k->type, IMAP_SK_HEADER);
	ck_assert_mem_eq(k->field, "Foo", 3);
	ck_assert_uint_eq(k->field_len, 3);
	ck_assert_str_eq(k->str, "bar");
	ck_assert_ptr_null(k->next);
	ck_assert_uint_eq(imap_search_needs(prog), IMAP_SEARCH_NEED_HEADER);
	ck_assert_int_eq(parse("SEEN UID 1 LARGER 3 ON 1-Jan-2000 1"), 0);
	ck_assert_uint_eq(imap_search_needs(prog), 0);
	ck_assert_int_eq(parse("NOT (OR SEEN TEXT x)"), 0);
	ck_assert_uint_eq(imap_search_needs(prog), IMAP_SEARCH_NEED_BODY);
	ck_assert_int_eq(parse("SENTON 1-Jan-2000 BODY x"), 0);
	ck_assert_uint_eq(imap_search_needs(prog), IMAP_SEARCH_NEED_HEADER |
			  IMAP_SEARCH_NEED_BODY);
}
END_TEST

/* SEARCH evaluates on workers after the command is gone: the program
 * keeps its own copies of fields, strings and keywords. */
START_TEST(program_outlives_command)
{
	ck_assert_int_eq(parse("OR HEADER X-Spam yes KEYWORD work"), 0);
	imap_command_free(&cmd);
	ck_assert_int_eq(imap_search_prepare(prog, 3, 30), 0);
	ck_assert_int_eq(imap_search_eval(prog, &msgs[0]), 1);
	ck_assert_int_eq(imap_search_eval(prog, &msgs[1]), 0);
	ck_assert_int_eq(imap_search_eval(prog, &msgs[2]), 1);
}
END_TEST

/* Flag-only programs never touch the message content. */
START_TEST(no_content_reads)
{
	matches("OR SEEN (NEW KEYWORD work) NOT LARGER 5 ON 1-Jan-2024 1:*");
	ck_assert_int_eq(calls, 0);
	matches("SEEN SUBJECT x");
	ck_assert_int_eq(calls, 2); /* short-circuit: only seen messages */
}
END_TEST

#define ck_search_bad(keys, text) do { \
	ck_assert_int_eq(parse(keys), -EINVAL); \
	ck_assert_ptr_null(prog); \
	ck_assert_str_eq(err, text); \
} while (0)

/* RFC 7162 MODSEQ (with and without an entry) and RFC 5182 "$": the
 * keys, what the program says it uses, and the saved set. */
START_TEST(modseq_and_saved)
{
	static const uint32_t saved[] = { 30, 10 };

	msgs[0].modseq = 5;
	msgs[1].modseq = 9;
	msgs[2].modseq = 7;
	ck_assert_str_eq(matches("MODSEQ 7"), "011");
	ck_assert(prog->uses_modseq && !prog->uses_saved);
	ck_assert_str_eq(matches("MODSEQ \"/flags/\\\\Seen\" all 9"), "010");
	ck_assert_str_eq(matches("MODSEQ \"/flags/x\" priv 0"), "111");
	ck_assert_str_eq(matches("NOT MODSEQ 6"), "100");
	/* "$" before anything is saved: no message. */
	ck_assert_str_eq(matches("$"), "000");
	ck_assert(prog->uses_saved && !prog->uses_modseq);
	ck_assert_int_eq(parse("OR $ UID $"), 0);
	ck_assert_int_eq(imap_search_prepare(prog, 3, 30), 0);
	ck_assert_int_eq(imap_search_set_saved(prog, saved, 2), 0);
	ck_assert_int_eq(imap_search_eval(prog, &msgs[0]), 1);
	ck_assert_int_eq(imap_search_eval(prog, &msgs[1]), 0);
	ck_assert_int_eq(imap_search_eval(prog, &msgs[2]), 1);
	ck_search_bad("MODSEQ", "Missing search argument");
	ck_search_bad("MODSEQ x", "Invalid number");
	ck_search_bad("MODSEQ \"/flags/x\" bogus 5", "Invalid MODSEQ entry");
	ck_search_bad("MODSEQ \"/flags/x\" all", "Missing search argument");
	ck_search_bad("MODSEQ 9223372036854775808", "Invalid mod-sequence");
	ck_search_bad("1,$", "Invalid sequence set");
}
END_TEST

START_TEST(errors)
{
	ck_search_bad("FOO", "Unknown search key");
	ck_search_bad("SEEN BOGUS", "Unknown search key");
	ck_search_bad("\"SEEN\"", "Invalid search key");
	ck_search_bad("NIL", "Invalid search key");
	ck_search_bad("{4}\r\nSEEN", "Invalid search key");
	ck_search_bad("()", "Empty search list");
	ck_search_bad("(SEEN ())", "Empty search list");
	ck_search_bad("NOT", "Missing search argument");
	ck_search_bad("OR SEEN", "Missing search argument");
	ck_search_bad("FROM", "Missing search argument");
	ck_search_bad("HEADER x", "Missing search argument");
	ck_search_bad("UID", "Missing search argument");
	ck_search_bad("(FROM) x", "Missing search argument");
	ck_search_bad("SUBJECT (x)", "Invalid search string");
	ck_search_bad("HEADER (x) y", "Invalid search string");
	ck_search_bad("HEADER x (y)", "Invalid search string");
	ck_search_bad("ON 32-Jan-2024", "Invalid search date");
	ck_search_bad("SINCE 1-Jan-2024x", "Invalid search date");
	ck_search_bad("BEFORE {10}\r\n1-Jan-2024", "Invalid search date");
	ck_search_bad("SENTON (1-Jan-2024)", "Invalid search date");
	ck_search_bad("LARGER x", "Invalid number");
	ck_search_bad("LARGER -1", "Invalid number");
	ck_search_bad("LARGER \"1\"", "Invalid number");
	ck_search_bad("SMALLER 18446744073709551616", "Invalid number");
	ck_search_bad("UID 0", "Invalid sequence set");
	ck_search_bad("UID x", "Invalid sequence set");
	ck_search_bad("UID \"1\"", "Invalid sequence set");
	ck_search_bad("1:", "Invalid sequence set");
	ck_search_bad("*x", "Invalid sequence set");
	ck_search_bad("KEYWORD \\Seen", "Invalid keyword");
	ck_search_bad("KEYWORD \"a\"", "Invalid keyword");
	ck_search_bad("UNKEYWORD a*", "Invalid keyword");
	ck_search_bad("CHARSET", "Missing charset");
	ck_search_bad("CHARSET (UTF-8) ALL", "Missing charset");
	ck_search_bad("CHARSET UTF-8", "Missing search keys");
	ck_assert_int_eq(imap_search_parse(NULL, 0, 0, &prog, &err), -EINVAL);
	ck_assert_str_eq(err, "Missing search keys");
	ck_assert_int_eq(parse("CHARSET ISO-8859-1 ALL"),
			 IMAP_SEARCH_BADCHARSET);
	ck_assert_int_eq(parse("CHARSET UTF ALL"), IMAP_SEARCH_BADCHARSET);
	ck_assert_int_eq(parse("CHARSET UTF-8x ALL"), IMAP_SEARCH_BADCHARSET);
	ck_assert_ptr_null(prog);
}
END_TEST

START_TEST(depth_limits)
{
	char keys[300] = "";

	/* Depth 4: three NOTs and the key, or three lists around it. */
	ck_assert_int_eq(parse_depth("NOT NOT NOT SEEN", 4), 0);
	ck_assert_int_eq(parse_depth("NOT NOT NOT NOT SEEN", 4), -EINVAL);
	ck_assert_str_eq(err, "Search program nested too deeply");
	ck_assert_ptr_null(prog);
	ck_assert_int_eq(parse_depth("((((SEEN))))", 4), -EINVAL);
	ck_assert_int_eq(parse_depth("(((SEEN)))", 4), 0);
	ck_assert_int_eq(parse_depth("OR OR OR SEEN SEEN SEEN SEEN", 4), 0);
	ck_assert_int_eq(parse_depth("OR OR OR OR SEEN SEEN SEEN SEEN SEEN",
				     4), -EINVAL);
	/* The default depth. */
	for (int i = 0; i < IMAP_SEARCH_DEFAULT_DEPTH - 1; i++)
		strcat(keys, "NOT ");
	strcat(keys, "SEEN");
	ck_assert_int_eq(parse(keys), 0);
	ck_assert_str_eq(matches(keys), "010");
	strcat(keys, " NOT NOT SEEN");
	memmove(keys + 4, keys, strlen(keys) + 1);
	memcpy(keys, "NOT ", 4);
	ck_assert_int_eq(parse(keys), -EINVAL);
}
END_TEST

START_TEST(eval_errors_and_prepare)
{
	/* A callback error stops evaluation through every operator. */
	ck_assert_int_eq(parse("NOT (OR FROM x SEEN)"), 0);
	ck_assert_int_eq(imap_search_prepare(prog, 3, 30), 0);
	fakes[0].fail = -EIO;
	ck_assert_int_eq(imap_search_eval(prog, &msgs[0]), -EIO);
	ck_assert_int_eq(parse("BODY x"), 0);
	ck_assert_int_eq(imap_search_eval(prog, &msgs[0]), -EIO);
	ck_assert_int_eq(parse("SENTON 1-Jan-2000"), 0);
	ck_assert_int_eq(imap_search_eval(prog, &msgs[0]), -EIO);
	/* Sets must be prepared, and are re-resolved when asked. */
	ck_assert_int_eq(parse("2:*"), 0);
	ck_assert_int_eq(imap_search_eval(prog, &msgs[0]), -EINVAL);
	ck_assert_int_eq(imap_search_prepare(prog, 1, 10), 0);
	ck_assert_int_eq(imap_search_eval(prog, &msgs[0]), 1); /* 1:2 */
	ck_assert_int_eq(imap_search_eval(prog, &msgs[2]), 0);
	ck_assert_int_eq(imap_search_prepare(prog, 3, 30), 0);
	ck_assert_int_eq(imap_search_eval(prog, &msgs[0]), 0);
	ck_assert_int_eq(imap_search_eval(prog, &msgs[2]), 1);
	/* Empty mailbox: "*" matches nothing. */
	ck_assert_int_eq(parse("UID *"), 0);
	ck_assert_int_eq(imap_search_prepare(prog, 0, 0), 0);
	ck_assert_int_eq(imap_search_eval(prog, &msgs[0]), 0);
}
END_TEST

START_TEST(substring_matching)
{
	ck_assert(contains("Hello World", 11, "o w", 3));
	ck_assert(contains("Hello World", 11, "HELLO WORLD", 11));
	ck_assert(contains("Hello", 5, "", 0));
	ck_assert(contains("", 0, "", 0));
	ck_assert(!contains("", 0, "a", 1));
	ck_assert(!contains("Hell", 4, "Hello", 5));
	ck_assert(contains("aaab", 4, "AAB", 3));
	ck_assert(!contains("abc", 3, "abd", 3));
	/* Letters fold, nothing else: "@" and "`" are not letters. The
	 * needle folds fully, the haystack's ASCII as it is read (SEARCH
	 * folds a message's text with imap_fold_utf8 first). */
	ck_assert(!contains("@", 1, "`", 1));
	ck_assert(contains("\xc3\xa9", 2, "\xc3\xa9", 2));
	ck_assert(contains("\xc3\xa9", 2, "\xc3\x89", 2));
	ck_assert(!contains("\xc3\x89", 2, "\xc3\xa9", 2));
	ck_assert(contains("a\0b", 3, "\0B", 2));
}
END_TEST

/* The needle against a naive scan, on small alphabets where periodic
 * strings (the failure function's hard cases) come up all the time. */
START_TEST(needle_against_naive)
{
	unsigned seed = 4711;

	for (int round = 0; round < 20000; round++) {
		char hay[40], str[8];
		size_t hlen = (size_t)(rand_r(&seed) % 40);
		size_t slen = (size_t)(rand_r(&seed) % 8);
		bool want = slen == 0;

		for (size_t i = 0; i < hlen; i++)
			hay[i] = "aAbB"[rand_r(&seed) % (round % 2 ? 2 : 4)];
		for (size_t i = 0; i < slen; i++)
			str[i] = "aAbB"[rand_r(&seed) % (round % 2 ? 2 : 4)];
		for (size_t i = 0; !want && i + slen <= hlen; i++)
			want = strncasecmp(hay + i, str, slen) == 0;
		CHECK(contains(hay, hlen, str, slen) == want);
	}
}
END_TEST

/* What the naive scan took hay x needle steps for: a 256 KB needle of
 * "a" then "b" against 16 MB of "a". Linear now: one pass. */
/* Case folding keeps the length: ASCII, Latin-1, Latin Extended-A,
 * Greek and Cyrillic letters; others, and malformed UTF-8, stay. */
START_TEST(fold_utf8_simple_case)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "CITT\xc3\x80 \xc3\x88", "citt\xc3\xa0 \xc3\xa8" }, /* CITTÀ È */
		{ "\xc3\x97\xc3\x9f", "\xc3\x97\xc3\x9f" },     /* × ß stay */
		{ "\xc5\x81\xc5\xb9\xc5\xb8", "\xc5\x82\xc5\xba\xc3\xbf" }, /* ŁŹŸ */
		{ "\xc4\xb0", "\xc4\xb0" },                      /* İ stays */
		{ "\xce\xa3\xcf\x82", "\xcf\x83\xcf\x83" },     /* Σς -> σσ */
		{ "\xd0\x9c\xd0\x81\xd0\xaf", "\xd0\xbc\xd1\x91\xd1\x8f" }, /* МЁЯ */
		{ "\xc3", "\xc3" },                              /* cut */
		{ "\xc3\x41", "\xc3\x61" },                      /* malformed */
		{ "\xe2\x82\xac A", "\xe2\x82\xac a" },            /* € stays */
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char buf[32];
		size_t len = strlen(cases[i].in);
		memcpy(buf, cases[i].in, len + 1);
		imap_fold_utf8(buf, len);
		ck_assert_str_eq(buf, cases[i].out);
	}
	/* A needle in any case finds folded text. */
	char hay[] = "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82";
	imap_fold_utf8(hay, strlen(hay));
	ck_assert(contains(hay, strlen(hay), "\xd0\x9f\xd0\xa0\xd0\x98", 6));
}
END_TEST

START_TEST(needle_pathological)
{
	size_t hlen = 16 * 1024 * 1024, slen = 256 * 1024;
	char *hay = malloc(hlen), *str = malloc(slen);

	ck_assert_ptr_nonnull(hay);
	ck_assert_ptr_nonnull(str);
	memset(hay, 'a', hlen);
	memset(str, 'A', slen);
	str[slen - 1] = 'b';
	ck_assert(!contains(hay, hlen, str, slen));
	hay[hlen - 1] = 'B';
	ck_assert(contains(hay, hlen, str, slen));
	free(hay);
	free(str);
}
END_TEST

START_TEST(text_key_limit)
{
	char keys[2048] = "";

	for (int i = 0; i < IMAP_SEARCH_MAX_TEXT_KEYS; i++)
		strcat(keys, i % 2 ? "BODY x " : "HEADER X-A y ");
	strcat(keys, "SEEN");
	ck_assert_int_eq(parse(keys), 0);
	ck_assert_uint_eq(prog->n_text_keys, IMAP_SEARCH_MAX_TEXT_KEYS);
	strcat(keys, " TEXT z");
	ck_assert_int_eq(parse(keys), IMAP_SEARCH_LIMIT);
	ck_assert_ptr_null(prog);
	ck_assert_str_eq(err, "Too many text search keys");
	/* Flags and sets do not count. */
	ck_assert_int_eq(parse("SEEN 1:* UID 1 NOT DRAFT OR NEW OLD"), 0);
	ck_assert_uint_eq(prog->n_text_keys, 0);
}
END_TEST

/* Random programs from key words and arguments: parse, prepare and
 * evaluate without a crash or a sanitizer report. */
START_TEST(random_programs)
{
	static const char *const toks[] = {
		"ALL", "NOT", "OR", "(", ")", "SEEN", "FROM", "x", "\"\"",
		"HEADER", "1:*", "UID", "ON", "1-Jan-2024", "LARGER", "5",
		"KEYWORD", "TEXT", "CHARSET", "UTF-8", "NEW", "*",
	};
	unsigned seed = 31337;
	int parsed = 0;

	for (int iter = 0; iter < 3000; iter++) {
		char keys[200] = "";
		int n = 1 + rand_r(&seed) % 10, depth = 0;
		const char *perr;
		char line[256];
		int len;

		for (int i = 0; i < n; i++) {
			const char *t = toks[rand_r(&seed) %
					     (sizeof(toks) / sizeof(toks[0]))];

			if (strcmp(t, ")") == 0 && depth == 0)
				continue;
			depth += strcmp(t, "(") == 0;
			depth -= strcmp(t, ")") == 0;
			if (keys[0] != '\0' && strcmp(t, ")") != 0 &&
			    keys[strlen(keys) - 1] != '(')
				strcat(keys, " ");
			strcat(keys, t);
		}
		while (depth-- > 0)
			strcat(keys, keys[strlen(keys) - 1] == '(' ? "ALL)" :
			       ")");
		len = snprintf(line, sizeof(line), "A SEARCH %s", keys);
		if (cmd != NULL)
			imap_command_free(&cmd);
		if (imap_parse_command(line, (size_t)len, NULL, &cmd,
				       &perr) != 0)
			continue;
		if (imap_search_parse(cmd->args, cmd->n_args, 8, &prog,
				      &err) != 0) {
			CHECK(prog == NULL);
			continue;
		}
		parsed++;
		CHECK(imap_search_prepare(prog, 3, 30) == 0);
		for (int m = 0; m < 3; m++)
			CHECK(imap_search_eval(prog, &msgs[m]) >= 0);
		imap_search_free(&prog);
	}
	ck_assert_int_gt(parsed, 300);
}
END_TEST

Suite *imap_search_suite(void)
{
	Suite *s = suite_create("imap_search");
	TCase *tc = tcase_create("search");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, truth_tables);
	tcase_add_test(tc, tree_shape_and_needs);
	tcase_add_test(tc, no_content_reads);
	tcase_add_test(tc, program_outlives_command);
	tcase_add_test(tc, errors);
	tcase_add_test(tc, depth_limits);
	tcase_add_test(tc, eval_errors_and_prepare);
	tcase_add_test(tc, substring_matching);
	tcase_add_test(tc, fold_utf8_simple_case);
	tcase_add_test(tc, random_programs);
	tcase_add_test(tc, needle_against_naive);
	tcase_add_test(tc, needle_pathological);
	tcase_add_test(tc, text_key_limit);
	tcase_add_test(tc, modseq_and_saved);
	suite_add_tcase(s, tc);
	return s;
}
