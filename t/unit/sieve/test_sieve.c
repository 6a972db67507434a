/* Sieve engine parts that tables cannot show: the matcher's cost on
 * hostile patterns, saved programs (round trip, corruption, forgery),
 * compile-time limits at their boundary, the message reader (short
 * reads, failures, 100,000 headers), and the vacation helpers. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sieve.h"
#include "sv.h"
#include "sv_match.h"

/* Matcher */

struct glob_run {
	struct sv_arena scratch;
	uint64_t cpu;
	struct sv_matcher mm;
};

static void glob_init(struct glob_run *g, uint64_t max_cpu)
{
	memset(g, 0, sizeof(*g));
	sv_arena_init(&g->scratch, 64u << 20);
	g->mm.scratch = &g->scratch;
	g->mm.cpu = &g->cpu;
	g->mm.max_cpu = max_cpu;
	g->mm.capture = true;
}

static int glob(struct glob_run *g, bool fold, const char *value,
		const char *pattern)
{
	struct sv_val v = { value, strlen(value) };
	struct sv_val p = { pattern, strlen(pattern) };
	return sv_glob(&g->mm, fold, &v, &p);
}

START_TEST(matches_table)
{
	static const struct {
		const char *value, *pattern;
		bool fold;
		int want;
		const char *caps;    /* ${1}|${2}|... when matched */
	} t[] = {
		{ "", "", true, 1, "" },
		{ "", "*", true, 1, "|" },
		{ "", "?", true, 0, NULL },
		{ "a", "", true, 0, NULL },
		{ "abc", "abc", true, 1, "" },
		{ "ABC", "abc", true, 1, "" },
		{ "ABC", "abc", false, 0, NULL },
		{ "abc", "a*", true, 1, "bc|" },
		{ "abc", "*c", true, 1, "ab|" },
		{ "abc", "*b*", true, 1, "a|c|" },
		{ "abcbd", "*b*", true, 1, "a|cbd|" },
		{ "abcbd", "*b*d", true, 1, "a|cb|" },
		{ "abab", "*ab", true, 1, "ab|" },
		{ "aaa", "a*a", true, 1, "a|" },
		{ "aa", "a*a", true, 1, "|" },
		{ "a", "a*a", true, 0, NULL },
		{ "abc", "?b?", true, 1, "a|c|" },
		{ "abc", "??", true, 0, NULL },
		{ "abc", "*?", true, 1, "ab|c|" },
		{ "abc", "?*", true, 1, "a|bc|" },
		{ "abc", "**", true, 1, "|abc|" },
		{ "xaybzc", "*a?b*c", true, 1, "x|y|z|" },
		{ "a*b", "a\\*b", true, 1, "" },
		{ "axb", "a\\*b", true, 0, NULL },
		{ "a\\b", "a\\\\b", true, 1, "" },
		{ "a?", "a\\?", true, 1, "" },
		{ "ab", "a\\?", true, 0, NULL },
		{ "x", "x\\", true, 0, NULL },
		{ "mississippi", "*ss*ss*", true, 1, "mi|i|ippi|" },
		{ "mississippi", "*issip*", true, 1, "miss|pi|" },
		{ "mississippi", "m*i*?i", true, 1, "|ssissip|p|" },
		/* '?' is one octet with both comparators (RFC 5228 2.7.1) */
		{ "éa", "?a", true, 0, NULL },
		{ "éa", "??a", true, 1, "\xc3|\xa9|" },
		{ "日本語", "???*", true, 1, "\xe6|\x97|\xa5|本語|" },
	};
	char caps[256];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct glob_run g;
		glob_init(&g, UINT64_MAX);
		int got = glob(&g, t[i].fold, t[i].value, t[i].pattern);
		ck_assert_msg(got == t[i].want, "'%s' :matches '%s' gave %d",
			      t[i].value, t[i].pattern, got);
		if (got == 1) {
			size_t n = 0;
			caps[0] = '\0';
			for (size_t c = 1; c < g.mm.n_caps; c++)
				n += (size_t)snprintf(caps + n, sizeof(caps) - n,
						      "%.*s|",
						      (int)g.mm.caps[c].len,
						      g.mm.caps[c].s);
			ck_assert_msg(strcmp(caps, t[i].caps) == 0,
				      "'%s' :matches '%s': captures '%s', "
				      "want '%s'", t[i].value, t[i].pattern,
				      caps, t[i].caps);
			ck_assert_int_eq(g.mm.caps[0].len, strlen(t[i].value));
		}
		sv_arena_free(&g.scratch);
	}
}
END_TEST

/* The matcher's work on the patterns that make a backtracking matcher
 * exponential, counted in its own steps: linear in the value. */
START_TEST(matches_pathological_is_linear)
{
	static const char *const patterns[] = {
		"*a*a*a*a*a*a*a*a*a*b",
		"*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b*",
		"*aaaaaaaaaaaaaaaaaaaaaaaaaaaaab*",
		"*?a?a?a?a?a?a?a?a?a?b*",
		"a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*c",
	};
	size_t n = 200000;
	char *value = malloc(n + 1);

	memset(value, 'a', n);
	value[n] = '\0';
	for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
		struct glob_run g;
		glob_init(&g, UINT64_MAX);
		ck_assert_int_eq(glob(&g, true, value, patterns[i]), 0);
		/* A few passes over the value at most; '?' segments are
		 * tried at each start, which their length bounds. */
		ck_assert_msg(g.cpu <= 30 * n, "%s: %llu steps", patterns[i],
			      (unsigned long long)g.cpu);
		sv_arena_free(&g.scratch);
	}
	/* And a match at the very end still succeeds. */
	value[n - 1] = 'b';
	struct glob_run g;
	glob_init(&g, UINT64_MAX);
	ck_assert_int_eq(glob(&g, true, value, patterns[0]), 1);
	ck_assert(g.cpu <= 10 * n);
	sv_arena_free(&g.scratch);
	free(value);
}
END_TEST

START_TEST(matching_stops_at_the_budget)
{
	struct glob_run g;
	char value[4096];

	memset(value, 'a', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	glob_init(&g, 1000);
	ck_assert_int_eq(glob(&g, true, value, "*?a?a?b*"), -E2BIG);
	sv_arena_free(&g.scratch);
}
END_TEST

START_TEST(numeric_comparator)
{
	static const struct {
		const char *a, *b;
		int order;
	} t[] = {
		{ "1", "1", 0 }, { "01", "1", 0 }, { "000", "0", 0 },
		{ "9", "10", -1 }, { "10", "9", 1 }, { "12abc", "12", 0 },
		{ "abc", "99999999999999999999999", 1 }, { "", "x", 0 },
		{ "123456789012345678901234567890", "123456789012345678901234567891",
		  -1 },
	};
	struct glob_run g;

	glob_init(&g, UINT64_MAX);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct sv_val a = { t[i].a, strlen(t[i].a) };
		struct sv_val b = { t[i].b, strlen(t[i].b) };
		int order;
		ck_assert_int_eq(sv_compare(&g.mm, SV_CMP_NUMERIC, &a, &b,
					    &order), 0);
		ck_assert_msg(order == t[i].order, "%s vs %s: %d", t[i].a,
			      t[i].b, order);
	}
	sv_arena_free(&g.scratch);
}
END_TEST

/* Compile-time limits */

static int compile(const char *script, const struct sieve_limits *l,
		   struct sieve_error *err)
{
	struct sieve_program *p = NULL;
	int ret = sieve_compile(script, strlen(script), l, &p, err);
	sieve_program_free(&p);
	return ret;
}

START_TEST(nesting_limit_at_the_boundary)
{
	struct sieve_limits l;
	struct sieve_error err;
	char script[4096];
	size_t n;

	sieve_limits_default(&l);
	l.max_nesting = 5;
	/* Five nested blocks compile; a sixth does not. */
	for (int depth = 5; depth <= 6; depth++) {
		n = 0;
		for (int i = 0; i < depth; i++)
			n += (size_t)snprintf(script + n, sizeof(script) - n,
					      "if true {\n");
		n += (size_t)snprintf(script + n, sizeof(script) - n, "keep;");
		for (int i = 0; i < depth; i++)
			n += (size_t)snprintf(script + n, sizeof(script) - n,
					      "}");
		int ret = compile(script, &l, &err);
		if (depth == 5) {
			ck_assert_int_eq(ret, 0);
		} else {
			ck_assert_int_eq(ret, -EINVAL);
			ck_assert_str_eq(err.message, "nesting too deep (max 5)");
			/* at the sixth if's test, one level deeper */
			ck_assert_int_eq(err.line, 6);
			ck_assert_int_eq(err.column, 4);
		}
	}
	/* Tests nest too: a test inside if is one level. */
	n = 0;
	n += (size_t)snprintf(script + n, sizeof(script) - n, "if ");
	for (int i = 0; i < 5; i++)
		n += (size_t)snprintf(script + n, sizeof(script) - n, "not ");
	snprintf(script + n, sizeof(script) - n, "true { keep; }");
	ck_assert_int_eq(compile(script, &l, &err), -EINVAL);
	ck_assert_str_eq(err.message, "nesting too deep (max 5)");
	/* The default limit holds against a hostile depth without
	 * exhausting the stack. */
	char *deep = malloc(200000);
	n = 0;
	for (int i = 0; i < 8000; i++)       /* within the 64 KiB */
		n += (size_t)sprintf(deep + n, "if true{");
	deep[n] = '\0';
	ck_assert_int_eq(compile(deep, NULL, &err), -EINVAL);
	ck_assert_str_eq(err.message, "nesting too deep (max 32)");
	n = 0;
	for (int i = 0; i < 16000; i++)
		n += (size_t)sprintf(deep + n, "not ");
	deep[n] = '\0';
	ck_assert_int_eq(compile(deep, NULL, &err), -EINVAL);
	free(deep);
}
END_TEST

START_TEST(script_size_limit_at_the_boundary)
{
	struct sieve_limits l;
	struct sieve_error err;
	struct sieve_program *p = NULL;
	char script[200];

	sieve_limits_default(&l);
	l.max_script_size = 100;
	memset(script, ' ', sizeof(script));
	memcpy(script, "keep;", 5);
	ck_assert_int_eq(sieve_compile(script, 100, &l, &p, &err), 0);
	sieve_program_free(&p);
	ck_assert_int_eq(sieve_compile(script, 101, &l, &p, &err), -EINVAL);
	ck_assert_ptr_null(p);
	ck_assert_str_eq(err.message, "script too large (101 octets, max 100)");
	char buf[300];
	sieve_error_format(&err, buf, sizeof(buf));
	ck_assert_str_eq(buf, "line 1, column 1: script too large (101 octets, "
			 "max 100)");
}
END_TEST

START_TEST(octets_that_are_not_text)
{
	struct sieve_error err;
	struct sieve_program *p = NULL;
	static const char nul[] = "keep;\n  disc\0ard;";
	static const char latin1[] = "require \"fileinto\";\nfileinto \"caf\xe9\";";
	static const char overlong[] = "keep; # \xc0\xaf";

	ck_assert_int_eq(sieve_compile(nul, sizeof(nul) - 1, NULL, &p, &err),
			 -EINVAL);
	ck_assert_str_eq(err.message, "NUL octet in script");
	ck_assert_int_eq(err.line, 2);
	ck_assert_int_eq(err.column, 7);
	ck_assert_int_eq(sieve_compile(latin1, sizeof(latin1) - 1, NULL, &p,
				       &err), -EINVAL);
	ck_assert_str_eq(err.message, "invalid UTF-8");
	ck_assert_int_eq(err.line, 2);
	ck_assert_int_eq(err.column, 14);
	ck_assert_int_eq(sieve_compile(overlong, sizeof(overlong) - 1, NULL, &p,
				       &err), -EINVAL);
	ck_assert_str_eq(err.message, "invalid UTF-8");
	/* No script at all is an empty script. */
	ck_assert_int_eq(sieve_compile(NULL, 0, NULL, &p, &err), 0);
	sieve_program_free(&p);
	ck_assert_int_eq(sieve_compile("keep;", 5, NULL, NULL, &err), -EINVAL);
}
END_TEST

START_TEST(every_capability_can_be_required)
{
	char caps[512], script[1024];
	struct sieve_error err;

	snprintf(caps, sizeof(caps), "%s", sieve_capabilities());
	size_t n = (size_t)snprintf(script, sizeof(script), "require [");
	char *save, *tok = strtok_r(caps, " ", &save);
	for (int i = 0; tok != NULL; i++, tok = strtok_r(NULL, " ", &save))
		n += (size_t)snprintf(script + n, sizeof(script) - n,
				      "%s\"%s\"", i ? ", " : "", tok);
	snprintf(script + n, sizeof(script) - n, "];");
	ck_assert_msg(compile(script, NULL, &err) == 0, "%s: %s", script,
		      err.message);
}
END_TEST

/* Saved programs */

static const char big_script[] =
	"require [\"fileinto\", \"variables\", \"imap4flags\", \"vacation\",\n"
	"         \"relational\", \"comparator-i;ascii-numeric\", \"body\",\n"
	"         \"date\", \"include\", \"envelope\", \"subaddress\", \"copy\"];\n"
	"global \"g\";\n"
	"if allof (header :matches \"subject\" \"*\", not exists \"x-spam\",\n"
	"          anyof (size :over 1K, envelope :user \"to\" \"me\")) {\n"
	"    set :lower \"s\" \"${1}\";\n"
	"    addflag \"\\\\Seen\";\n"
	"    fileinto :copy :flags \"$x\" \"Box/${s}\";\n"
	"} elsif body :content \"text\" :contains \"x\" {\n"
	"    vacation :days 3 :subject \"s\" :handle \"h\" \"away\";\n"
	"} elsif date :zone \"+0100\" :value \"ge\" \"date\" \"hour\" \"09\" {\n"
	"    discard;\n"
	"} else {\n"
	"    if header :count \"gt\" :comparator \"i;ascii-numeric\"\n"
	"        \"received\" \"3\" { stop; }\n"
	"    redirect :copy \"a@example.net\";\n"
	"}\n";

static void save(const char *script, void **data, size_t *len)
{
	struct sieve_program *p = NULL;
	struct sieve_error err;

	ck_assert_msg(sieve_compile(script, strlen(script), NULL, &p, &err) ==
		      0, "%u:%u %s", err.line, err.column, err.message);
	ck_assert_int_eq(sieve_program_save(p, data, len), 0);
	sieve_program_free(&p);
}

START_TEST(saved_programs_round_trip)
{
	void *a, *b;
	size_t alen, blen;
	struct sieve_program *p = NULL;

	save(big_script, &a, &alen);
	ck_assert_int_eq(sieve_program_load(a, alen, &p), 0);
	ck_assert_int_eq(sieve_program_save(p, &b, &blen), 0);
	ck_assert_uint_eq(alen, blen);
	ck_assert(memcmp(a, b, alen) == 0);
	sieve_program_free(&p);
	free(a);
	free(b);
}
END_TEST

static int include_seen(void *ctx, enum sieve_include_location location,
			const char *name)
{
	strcat(ctx, location == SIEVE_INCLUDE_GLOBAL ? "G:" : "P:");
	strcat(ctx, name);
	strcat(ctx, " ");
	return strcmp(name, "stop-here") == 0 ? 7 : 0;
}

/* What sieve.so fetches before a run: the includes, in program order,
 * also from a saved and loaded program. */
START_TEST(includes_are_listed)
{
	static const char script[] =
		"require [\"include\", \"variables\"];\n"
		"include \"one\";\n"
		"if true { include :global :optional \"two\"; }\n"
		"include :once \"one\";\n";
	struct sieve_program *p = NULL, *q = NULL;
	struct sieve_error e;
	char seen[256] = "";
	void *data;
	size_t len;

	ck_assert_int_eq(sieve_compile(script, strlen(script), NULL, &p, &e),
			 0);
	ck_assert_int_eq(sieve_program_includes(p, include_seen, seen), 0);
	ck_assert_str_eq(seen, "P:one G:two P:one ");
	ck_assert_int_eq(sieve_program_save(p, &data, &len), 0);
	ck_assert_int_eq(sieve_program_load(data, len, &q), 0);
	seen[0] = '\0';
	ck_assert_int_eq(sieve_program_includes(q, include_seen, seen), 0);
	ck_assert_str_eq(seen, "P:one G:two P:one ");
	sieve_program_free(&p);
	sieve_program_free(&q);
	free(data);
	static const char stops[] = "require \"include\";\n"
		"include \"stop-here\"; include \"never\";\n";
	ck_assert_int_eq(sieve_compile(stops, strlen(stops), NULL, &p, &e), 0);
	seen[0] = '\0';
	ck_assert_int_eq(sieve_program_includes(p, include_seen, seen), 7);
	ck_assert_str_eq(seen, "P:stop-here ");
	sieve_program_free(&p);
	ck_assert(sieve_script_name_valid("vacation", 8));
	ck_assert(sieve_script_name_valid("caf\xc3\xa9", 5));
	ck_assert(!sieve_script_name_valid("", 0));
	ck_assert(!sieve_script_name_valid("a/b", 3));
	ck_assert(!sieve_script_name_valid("a\nb", 3));
	ck_assert(!sieve_script_name_valid("\xff", 1));
}
END_TEST

START_TEST(corrupted_programs_are_refused)
{
	void *data;
	size_t len;
	struct sieve_program *p = NULL;

	save(big_script, &data, &len);
	unsigned char *bytes = data;
	/* Any octet changed: refused. */
	for (size_t i = 0; i < len; i++) {
		unsigned char *copy = malloc(len);
		memcpy(copy, bytes, len);
		copy[i] ^= (unsigned char)(1u << (i % 8));
		int ret = sieve_program_load(copy, len, &p);
		ck_assert_msg(ret == -EINVAL || ret == -EPROTONOSUPPORT,
			      "octet %zu flipped: %d", i, ret);
		ck_assert_ptr_null(p);
		free(copy);
	}
	/* Truncated or extended: refused. */
	for (size_t cut = 0; cut < len; cut += 7)
		ck_assert_int_eq(sieve_program_load(bytes, cut, &p), -EINVAL);
	unsigned char *longer = calloc(1, len + 1);
	memcpy(longer, bytes, len);
	ck_assert_int_eq(sieve_program_load(longer, len + 1, &p), -EINVAL);
	free(longer);
	ck_assert_int_eq(sieve_program_load(NULL, 0, &p), -EINVAL);
	free(data);
}
END_TEST

/* The loader's own checksum, to forge blobs that pass it. */
static void reseal(unsigned char *d, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 20; i < len; i++) {
		h ^= d[i];
		h *= 0x100000001b3ull;
	}
	for (int i = 0; i < 8; i++)
		d[12 + i] = (unsigned char)(h >> (8 * i));
}

static void put32(unsigned char *o, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		o[i] = (unsigned char)(v >> (8 * i));
}

/* Offsets in the saved form (sv_program.c): header 48 octets, then
 * 56-octet nodes: op match relop cmp part pad[3] flags line next test
 * block arg[5] num. */
#define HDR 48
#define NODE(i) (HDR + 56 * (i))
#define N_OP 0
#define N_NEXT 16
#define N_TEST 20
#define N_BLOCK 24
#define N_ARG0 28

static int load_forged(const void *orig, size_t len, size_t off,
		       uint32_t value, int width)
{
	unsigned char *d = malloc(len);
	struct sieve_program *p = NULL;

	memcpy(d, orig, len);
	if (width == 1)
		d[off] = (unsigned char)value;
	else
		put32(d + off, value);
	reseal(d, len);
	int ret = sieve_program_load(d, len, &p);
	sieve_program_free(&p);
	free(d);
	return ret;
}

START_TEST(forged_programs_are_refused)
{
	/* nodes: 0 if, 1 header (test), 2 discard (block), 3 keep */
	static const char script[] =
		"if header :is \"a\" \"b\" { discard; }\nkeep;";
	void *data;
	size_t len;

	save(script, &data, &len);
	struct sieve_program *p = NULL;
	ck_assert_int_eq(sieve_program_load(data, len, &p), 0);
	sieve_program_free(&p);
	/* a cycle: keep's next back to the if */
	ck_assert_int_eq(load_forged(data, len, NODE(3) + N_NEXT, 0, 4),
			 -EINVAL);
	/* a node reached twice: the if's next is its test */
	ck_assert_int_eq(load_forged(data, len, NODE(0) + N_NEXT, 1, 4),
			 -EINVAL);
	/* out of range */
	ck_assert_int_eq(load_forged(data, len, NODE(0) + N_BLOCK, 99, 4),
			 -EINVAL);
	/* a command where a test belongs */
	ck_assert_int_eq(load_forged(data, len, NODE(1) + N_OP, SV_OP_KEEP, 1),
			 -EINVAL);
	/* unknown operation */
	ck_assert_int_eq(load_forged(data, len, NODE(2) + N_OP, 200, 1),
			 -EINVAL);
	/* header without its keys */
	ck_assert_int_eq(load_forged(data, len, NODE(1) + N_ARG0 + 4,
				     UINT32_MAX, 4), -EINVAL);
	/* a string list index past the table */
	ck_assert_int_eq(load_forged(data, len, NODE(1) + N_ARG0, 1000, 4),
			 -EINVAL);
	/* match type and comparator out of range */
	ck_assert_int_eq(load_forged(data, len, NODE(1) + 1, 9, 1), -EINVAL);
	ck_assert_int_eq(load_forged(data, len, NODE(1) + 3, 9, 1), -EINVAL);
	/* else first in a block: no if before it */
	ck_assert_int_eq(load_forged(data, len, NODE(2) + N_OP, SV_OP_ELSE, 1),
			 -EINVAL);
	/* pad octets must be zero */
	ck_assert_int_eq(load_forged(data, len, NODE(0) + 6, 1, 1), -EINVAL);
	/* another format */
	ck_assert_int_eq(load_forged(data, len, 8, SIEVE_PROGRAM_FORMAT + 1, 4),
			 -EPROTONOSUPPORT);
	/* counts that do not match the size */
	ck_assert_int_eq(load_forged(data, len, 20 + 12, 5, 4), -EINVAL);
	/* a string running past the pool: the first string's length */
	uint32_t n_nodes = 4, n_lists = ((unsigned char *)data)[20 + 16];
	size_t strs = HDR + 56 * n_nodes + 8 * n_lists;
	ck_assert_int_eq(load_forged(data, len, strs + 4, 100000, 4), -EINVAL);
	free(data);
}
END_TEST

/* Shared subtrees (a DAG) would let a small blob cost exponential time:
 * a node reached twice is refused even when nothing else is wrong. */
START_TEST(forged_sharing_is_refused)
{
	/* nodes: 0 if, 1 not, 2 true, 3 keep (the if's block) */
	void *data;
	size_t len;

	save("if not true { keep; }", &data, &len);
	struct sieve_program *p = NULL;
	ck_assert_int_eq(sieve_program_load(data, len, &p), 0);
	sieve_program_free(&p);
	/* the if's next is its own block: keep reached twice */
	ck_assert_int_eq(load_forged(data, len, NODE(0) + N_NEXT, 3, 4),
			 -EINVAL);
	free(data);
}
END_TEST

/* A forged program can be as deep as it likes: the loader bounds it. */
START_TEST(forged_depth_is_refused)
{
	size_t n = 300;
	size_t len = HDR + 56 * n;
	unsigned char *d = calloc(1, len);

	memcpy(d, "SIEVEPRG", 8);
	put32(d + 8, SIEVE_PROGRAM_FORMAT);
	put32(d + 20, 0);            /* extensions */
	put32(d + 24, 0);            /* root */
	put32(d + 28, UINT32_MAX);   /* vars */
	put32(d + 32, (uint32_t)n);
	/* if (not (not (... true))) : node 0 if, 1..n-2 not, n-1 true */
	for (size_t i = 0; i < n; i++) {
		unsigned char *o = d + NODE(i);
		o[N_OP] = i == 0 ? SV_OP_IF : i + 1 < n ? SV_OP_NOT :
			SV_OP_TRUE;
		put32(o + N_NEXT, UINT32_MAX);
		put32(o + N_TEST, i + 1 < n ? (uint32_t)(i + 1) : UINT32_MAX);
		put32(o + N_BLOCK, UINT32_MAX);
		for (int a = 0; a < 5; a++)
			put32(o + N_ARG0 + 4 * a, UINT32_MAX);
		memset(o + 48, 0xff, 8);
	}
	reseal(d, len);
	struct sieve_program *p = NULL;
	ck_assert_int_eq(sieve_program_load(d, len, &p), -EINVAL);
	/* The same at depth 100 loads and runs. */
	size_t m = 100, mlen = HDR + 56 * m;
	put32(d + 32, (uint32_t)m);
	d[NODE(m - 1) + N_OP] = SV_OP_TRUE;
	put32(d + NODE(m - 1) + N_TEST, UINT32_MAX);
	reseal(d, mlen);
	ck_assert_int_eq(sieve_program_load(d, mlen, &p), 0);
	sieve_program_free(&p);
	free(d);
}
END_TEST

/* The message reader */

struct chunked {
	const char *data;
	size_t len;
	size_t chunk;
	bool fail;
	unsigned reads;
};

static ssize_t chunked_read(void *context, uint64_t offset, void *buf,
			    size_t len)
{
	struct chunked *c = context;

	c->reads++;
	if (c->fail)
		return -EIO;
	if (offset >= c->len)
		return 0;
	size_t n = c->len - (size_t)offset;
	if (n > len)
		n = len;
	if (n > c->chunk)
		n = c->chunk;
	memcpy(buf, c->data + offset, n);
	return (ssize_t)n;
}

static struct sieve_result *run(const char *script, struct sieve_message *msg,
				const struct sieve_limits *l)
{
	struct sieve_program *p = NULL;
	struct sieve_error err;
	struct sieve_envelope envelope = { "from@example.org",
					   "me@example.com" };
	struct sieve_env env = { .limits = l, .separators = "+" };
	struct sieve_result *r = NULL;

	ck_assert_msg(sieve_compile(script, strlen(script), l, &p, &err) == 0,
		      "%s", err.message);
	ck_assert_int_eq(sieve_evaluate(p, msg, &envelope, &env, &r), 0);
	sieve_program_free(&p);
	return r;
}

static const char small_msg[] =
	"From: a@example.org\r\nSubject: one byte at a time\r\n"
	"Content-Type: text/plain\r\n\r\nthe body text\r\n";

START_TEST(short_reads_give_the_same_result)
{
	struct chunked c = { small_msg, sizeof(small_msg) - 1, 1, false, 0 };
	struct sieve_message msg = { chunked_read, &c, sizeof(small_msg) - 1 };
	struct sieve_result *r = run("require [\"body\", \"fileinto\"];\n"
				     "if header :is \"subject\" \"one byte at a time\" {"
				     "  if body :text :contains \"body text\" {"
				     "    fileinto \"yes\"; } }", &msg, NULL);

	ck_assert_ptr_null(r->error);
	ck_assert_uint_eq(r->n_actions, 1);
	ck_assert_str_eq(r->actions[0].mailbox, "yes");
	ck_assert_uint_gt(c.reads, sizeof(small_msg) / 2);
	sieve_result_free(&r);
}
END_TEST

START_TEST(a_failing_reader_is_a_runtime_error)
{
	struct chunked c = { small_msg, sizeof(small_msg) - 1, 100, true, 0 };
	struct sieve_message msg = { chunked_read, &c, sizeof(small_msg) - 1 };
	struct sieve_result *r = run("if header :is \"subject\" \"x\" { discard; }",
				     &msg, NULL);

	ck_assert_str_eq(r->error, "line 1: cannot read the message");
	ck_assert_uint_eq(r->n_actions, 1);
	ck_assert_int_eq(r->actions[0].type, SIEVE_ACTION_KEEP);
	ck_assert(r->actions[0].implicit);
	sieve_result_free(&r);
	/* A script that never looks at the message never reads it. */
	c.reads = 0;
	r = run("discard;", &msg, NULL);
	ck_assert_ptr_null(r->error);
	ck_assert_uint_eq(c.reads, 0);
	sieve_result_free(&r);
}
END_TEST

/* 100,000 header fields: the index stops at max_header_fields, and each
 * test's work is bounded by it. */
START_TEST(many_headers_are_bounded)
{
	size_t n = 100000;
	size_t cap = n * 16 + 100;
	char *m = malloc(cap);
	size_t len = 0;
	struct sieve_limits l;

	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(m + len, cap - len, "X-H: v%zu\r\n", i);
	len += (size_t)snprintf(m + len, cap - len, "Subject: last\r\n\r\nb\r\n");
	sieve_limits_default(&l);
	l.max_header_size = 4u << 20;
	struct sieve_buffer buf = { m, len };
	struct sieve_message msg;
	sieve_message_from_buffer(&msg, &buf);
	struct sieve_result *r = run(
		"if header :matches \"x-h\" \"*a*a*a*a*a*a*a*b\" { discard; }\n"
		"if header :is \"x-h\" \"v4999\" { redirect \"seen@example.net\"; }\n"
		"if header :is \"x-h\" \"v5000\" { redirect \"unseen@example.net\"; }\n"
		"if exists \"subject\" { redirect \"subject@example.net\"; }\n",
		&msg, &l);
	ck_assert_ptr_null(r->error);
	/* v5000 and Subject are past the 5000th field: not seen. */
	ck_assert_uint_eq(r->n_actions, 1);
	ck_assert_str_eq(r->actions[0].address, "seen@example.net");
	sieve_result_free(&r);
	free(m);
}
END_TEST

START_TEST(body_limits_hold)
{
	size_t n = 300;
	size_t cap = n * 80 + 200;
	char *m = malloc(cap);
	size_t len = (size_t)snprintf(m, cap, "Content-Type: multipart/mixed; "
				      "boundary=b\r\n\r\n");
	struct sieve_limits l;

	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(m + len, cap - len,
					"--b\r\nContent-Type: text/plain\r\n\r\n"
					"part %zu\r\n", i);
	len += (size_t)snprintf(m + len, cap - len, "--b--\r\n");
	sieve_limits_default(&l);
	l.max_mime_parts = 10;
	struct sieve_buffer buf = { m, len };
	struct sieve_message msg;
	sieve_message_from_buffer(&msg, &buf);
	struct sieve_result *r = run(
		"require [\"body\", \"relational\", \"comparator-i;ascii-numeric\"];\n"
		"if body :text :count \"eq\" :comparator \"i;ascii-numeric\" \"10\" {"
		"  redirect \"ten@example.net\"; }\n"
		"if body :text :contains \"part 9\" { redirect \"nine@example.net\"; }\n"
		"if body :text :contains \"part 10\" { redirect \"no@example.net\"; }\n",
		&msg, &l);
	ck_assert_ptr_null(r->error);
	ck_assert_uint_eq(r->n_actions, 2);
	ck_assert_str_eq(r->actions[0].address, "ten@example.net");
	ck_assert_str_eq(r->actions[1].address, "nine@example.net");
	sieve_result_free(&r);
	/* GMime is handed the body only up to 2 * 10 + 16 boundary lines
	 * (sv_parts_cut): the last part is not there to be found. */
	l.max_mime_parts = 10;
	r = run("require \"body\";\n"
		"if body :content \"text\" :contains \"part 299\" {"
		"  redirect \"no@example.net\"; }\n", &msg, &l);
	ck_assert_uint_eq(r->n_actions, 1);
	ck_assert(r->actions[0].implicit);
	sieve_result_free(&r);
	/* max_body_size cuts what :raw sees. */
	l.max_mime_parts = 100;
	l.max_body_size = 50;
	r = run("require \"body\";\n"
		"if body :raw :contains \"part 0\" { redirect \"p0@example.net\"; }\n"
		"if body :raw :contains \"part 1\" { redirect \"p1@example.net\"; }\n",
		&msg, &l);
	ck_assert_uint_eq(r->n_actions, 1);
	ck_assert_str_eq(r->actions[0].address, "p0@example.net");
	sieve_result_free(&r);
	free(m);
}
END_TEST

START_TEST(evaluate_refuses_bad_arguments)
{
	struct sieve_program *p = NULL;
	struct sieve_result *r = (void *)1;
	struct sieve_buffer buf = { "", 0 };
	struct sieve_message msg;

	sieve_message_from_buffer(&msg, &buf);
	ck_assert_int_eq(sieve_compile("keep;", 5, NULL, &p, NULL), 0);
	ck_assert_int_eq(sieve_evaluate(NULL, &msg, NULL, NULL, &r), -EINVAL);
	ck_assert_ptr_null(r);
	ck_assert_int_eq(sieve_evaluate(p, NULL, NULL, NULL, &r), -EINVAL);
	ck_assert_int_eq(sieve_evaluate(p, &msg, NULL, NULL, NULL), -EINVAL);
	/* No envelope nor environment: defaults. */
	ck_assert_int_eq(sieve_evaluate(p, &msg, NULL, NULL, &r), 0);
	ck_assert_uint_eq(r->n_actions, 1);
	sieve_result_free(&r);
	sieve_result_free(&r);
	sieve_result_free(NULL);
	sieve_program_free(&p);
	sieve_program_free(NULL);
}
END_TEST

/* One program, several threads: programs are immutable. */
static void *evaluate_many(void *arg)
{
	const struct sieve_program *p = arg;

	for (int i = 0; i < 50; i++) {
		struct sieve_buffer buf = { small_msg, sizeof(small_msg) - 1 };
		struct sieve_message msg;
		struct sieve_envelope envelope = { "a@example.org", "b@example.com" };
		struct sieve_result *r = NULL;
		sieve_message_from_buffer(&msg, &buf);
		if (sieve_evaluate(p, &msg, &envelope, NULL, &r) != 0 ||
		    r->n_actions != 1 || r->actions[0].type !=
		    SIEVE_ACTION_FILEINTO)
			return (void *)1;
		sieve_result_free(&r);
	}
	return NULL;
}

START_TEST(one_program_many_threads)
{
	static const char script[] =
		"require [\"fileinto\", \"variables\", \"body\"];\n"
		"if header :matches \"subject\" \"* * *\" { set \"w\" \"${2}\"; }\n"
		"if body :text :contains \"body\" { fileinto \"${w}\"; }\n";
	struct sieve_program *p = NULL;
	pthread_t t[4];

	ck_assert_int_eq(sieve_compile(script, strlen(script), NULL, &p, NULL),
			 0);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, evaluate_many, p),
				 0);
	for (int i = 0; i < 4; i++) {
		void *ret;
		pthread_join(t[i], &ret);
		ck_assert_ptr_null(ret);
	}
	sieve_program_free(&p);
}
END_TEST

/* Vacation helpers */

static const char orig_header[] =
	"From: Alice <alice@example.org>\r\n"
	"To: Bob <bob@example.com>\r\n"
	"Subject: =?UTF-8?Q?R=C3=A9union?= tomorrow\r\n"
	"Message-ID: <m1@example.org>\r\n"
	"References: <r0@example.org>\r\n"
	"\r\n";

START_TEST(vacation_refusal_rules)
{
	static const char *const bob[] = { "bob@example.com" };
	static const struct {
		const char *extra, *sender, *want;
	} t[] = {
		{ "", "alice@example.org", NULL },
		{ "", "", "null sender" },
		{ "", "MAILER-DAEMON@example.org", "system sender" },
		{ "", "Mailer-Daemon", "system sender" },
		{ "", "owner-x@example.org", "system sender" },
		{ "", "x-request@example.org", "system sender" },
		{ "", "listserv@example.org", "system sender" },
		{ "", "bob@EXAMPLE.com", "own address" },
		{ "Auto-Submitted: auto-replied\r\n", "alice@example.org",
		  "auto-submitted" },
		{ "Auto-Submitted: no\r\n", "alice@example.org", NULL },
		{ "Precedence: list\r\n", "alice@example.org", "precedence" },
		{ "Precedence: urgent\r\n", "alice@example.org", NULL },
		{ "List-Id: <x.example.org>\r\n", "alice@example.org",
		  "mailing list" },
		{ "List-Post: <mailto:x@example.org>\r\n", "alice@example.org",
		  "mailing list" },
	};
	char header[1024];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int n = snprintf(header, sizeof(header), "%s%s", t[i].extra,
				 orig_header);
		const char *got = sieve_vacation_refusal(header, (size_t)n,
							 t[i].sender, bob, 1);
		ck_assert_msg((got == NULL && t[i].want == NULL) ||
			      (got != NULL && t[i].want != NULL &&
			       strcmp(got, t[i].want) == 0),
			      "%zu: %s", i, got ? got : "(send)");
	}
	static const char *const other[] = { "carol@example.com" };
	ck_assert_str_eq(sieve_vacation_refusal(orig_header,
						strlen(orig_header),
						"alice@example.org", other, 1),
			 "not addressed to the user");
}
END_TEST

START_TEST(vacation_keys)
{
	struct sieve_vacation a = { .reason = "away", .reason_len = 4 };
	struct sieve_vacation b = a;
	char ka[65], kb[65];

	sieve_vacation_key("Alice@Example.ORG", &a, ka);
	sieve_vacation_key("alice@example.org", &b, kb);
	ck_assert_uint_eq(strlen(ka), 64);
	ck_assert_str_eq(ka, kb);            /* the sender's case */
	sieve_vacation_key("carol@example.org", &b, kb);
	ck_assert_str_ne(ka, kb);            /* another sender */
	b.subject = "s";
	sieve_vacation_key("alice@example.org", &b, kb);
	ck_assert_str_ne(ka, kb);            /* another reply */
	/* With :handle only the handle counts (RFC 5230 4.2). */
	a.handle = b.handle = "ran-away";
	b.reason = "elsewhere";
	b.reason_len = 9;
	sieve_vacation_key("alice@example.org", &a, ka);
	sieve_vacation_key("alice@example.org", &b, kb);
	ck_assert_str_eq(ka, kb);
	b.handle = "other";
	sieve_vacation_key("alice@example.org", &b, kb);
	ck_assert_str_ne(ka, kb);
}
END_TEST

static char *header_of(const char *msg, const char *name)
{
	static char value[1024];
	size_t nlen = strlen(name);

	for (const char *p = msg; p && *p; p = strstr(p, "\r\n"), p = p ? p + 2 :
	     NULL) {
		if (strncmp(p, "\r\n", 2) == 0)
			break;
		if (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
			const char *v = p + nlen + 1;
			while (*v == ' ')
				v++;
			size_t n = 0;
			/* unfold */
			while (*v && n + 1 < sizeof(value)) {
				if (v[0] == '\r' && v[1] == '\n' &&
				    (v[2] == ' ' || v[2] == '\t')) {
					v += 2;
					continue;
				}
				if (v[0] == '\r')
					break;
				value[n++] = *v++;
			}
			value[n] = '\0';
			return value;
		}
	}
	return NULL;
}

START_TEST(vacation_reply_message)
{
	struct sieve_vacation vac = {
		.reason = "I am away.\nBack Monday.", .reason_len = 23,
		.sender = "alice@example.org",
		.orig_subject = "Réunion tomorrow",
		.orig_message_id = "<m1@example.org>",
		.orig_references = "<r0@example.org>",
	};
	struct sieve_reply_params params = { "bob@example.com", "mx.example.com",
					     1700000000, 60 };
	char *data;
	size_t len;

	ck_assert_int_eq(sieve_vacation_reply(&vac, &params, &data, &len), 0);
	ck_assert_uint_eq(strlen(data), len);
	ck_assert_str_eq(header_of(data, "From"), "bob@example.com");
	ck_assert_str_eq(header_of(data, "To"), "<alice@example.org>");
	ck_assert_str_eq(header_of(data, "Auto-Submitted"), "auto-replied");
	ck_assert_str_eq(header_of(data, "In-Reply-To"), "<m1@example.org>");
	ck_assert_str_eq(header_of(data, "References"),
			 "<r0@example.org> <m1@example.org>");
	ck_assert_str_eq(header_of(data, "Date"),
			 "Tue, 14 Nov 2023 23:13:20 +0100");
	/* "Auto: Réunion tomorrow" as UTF-8 base64 words */
	ck_assert_str_eq(header_of(data, "Subject"),
			 "=?UTF-8?B?QXV0bzogUsOpdW5pb24gdG9tb3Jyb3c=?=");
	const char *mid = header_of(data, "Message-ID");
	ck_assert(mid[0] == '<' && strstr(mid, "@mx.example.com>") != NULL);
	ck_assert_str_eq(header_of(data, "Content-Transfer-Encoding"), "7bit");
	ck_assert(strstr(data, "\r\n\r\nI am away.\r\nBack Monday.\r\n") != NULL);
	ck_assert(strstr(data, "\n\n") == NULL);      /* CRLF only */
	free(data);

	/* :subject, :from, 8-bit text as quoted-printable */
	vac.subject = "Out of office";
	vac.from = "Bob B <bob@example.com>";
	vac.reason = "Je suis absent, désolé.";
	vac.reason_len = strlen(vac.reason);
	ck_assert_int_eq(sieve_vacation_reply(&vac, &params, &data, &len), 0);
	ck_assert_str_eq(header_of(data, "Subject"), "Out of office");
	ck_assert_str_eq(header_of(data, "From"), "Bob B <bob@example.com>");
	ck_assert_str_eq(header_of(data, "Content-Transfer-Encoding"),
			 "quoted-printable");
	ck_assert(strstr(data, "d=C3=A9sol=C3=A9.") != NULL);
	free(data);

	/* A display name that is not ASCII is encoded, the address not. */
	vac.from = "Bjørn B <bob@example.com>";
	ck_assert_int_eq(sieve_vacation_reply(&vac, &params, &data, &len), 0);
	ck_assert_str_eq(header_of(data, "From"),
			 "=?UTF-8?B?QmrDuHJuIEI=?= <bob@example.com>");
	free(data);
	vac.from = "Bob B <bob@example.com>";

	/* No subject in the original */
	vac.subject = NULL;
	vac.orig_subject = NULL;
	vac.orig_references = NULL;
	ck_assert_int_eq(sieve_vacation_reply(&vac, &params, &data, &len), 0);
	ck_assert_str_eq(header_of(data, "Subject"), "Automated reply");
	ck_assert_str_eq(header_of(data, "References"), "<m1@example.org>");
	free(data);

	/* :mime: the entity's header continues ours */
	vac.mime = true;
	vac.reason = "Content-Type: text/html; charset=utf-8\n\n<p>Away</p>\n";
	vac.reason_len = strlen(vac.reason);
	ck_assert_int_eq(sieve_vacation_reply(&vac, &params, &data, &len), 0);
	ck_assert_str_eq(header_of(data, "Content-Type"),
			 "text/html; charset=utf-8");
	ck_assert(strstr(data, "MIME-Version: 1.0\r\nContent-Type: text/html; "
			 "charset=utf-8\r\n\r\n<p>Away</p>\r\n") != NULL);
	free(data);
	vac.reason = "no header here";
	vac.reason_len = strlen(vac.reason);
	ck_assert_int_eq(sieve_vacation_reply(&vac, &params, &data, &len),
			 -EINVAL);

	/* Header injection through :from is refused. */
	vac.mime = false;
	vac.from = "bob@example.com\r\nBcc: victim@example.net";
	ck_assert_int_eq(sieve_vacation_reply(&vac, &params, &data, &len),
			 -EINVAL);
	ck_assert_ptr_null(data);
	/* A script's multi-line subject becomes one line. */
	vac.from = NULL;
	vac.subject = "two\r\nlines";
	ck_assert_int_eq(sieve_vacation_reply(&vac, &params, &data, &len), 0);
	ck_assert_str_eq(header_of(data, "Subject"), "two  lines");
	free(data);
}
END_TEST

START_TEST(vacation_reply_long_subject_is_folded)
{
	char subject[400];
	struct sieve_vacation vac = {
		.reason = "x", .reason_len = 1, .sender = "a@example.org",
		.subject = subject,
	};
	struct sieve_reply_params params = { "b@example.com", "h", 0, 0 };
	char *data;
	size_t len;

	for (size_t i = 0; i < 100; i++)
		memcpy(subject + 3 * i, "é ", 3);
	subject[300] = '\0';
	ck_assert_int_eq(sieve_vacation_reply(&vac, &params, &data, &len), 0);
	/* every line of the header within 78 octets */
	for (const char *p = data, *e; (e = strstr(p, "\r\n")) != NULL;
	     p = e + 2) {
		if (e == p)
			break;
		ck_assert_msg(e - p <= 78, "line of %td octets", e - p);
	}
	free(data);
}
END_TEST

int main(void)
{
	sieve_engine_init();
	Suite *s = suite_create("sieve");
	TCase *tc = tcase_create("match");
	tcase_add_test(tc, matches_table);
	tcase_add_test(tc, matches_pathological_is_linear);
	tcase_add_test(tc, matching_stops_at_the_budget);
	tcase_add_test(tc, numeric_comparator);
	suite_add_tcase(s, tc);
	tc = tcase_create("compile");
	tcase_add_test(tc, nesting_limit_at_the_boundary);
	tcase_add_test(tc, script_size_limit_at_the_boundary);
	tcase_add_test(tc, octets_that_are_not_text);
	tcase_add_test(tc, every_capability_can_be_required);
	suite_add_tcase(s, tc);
	tc = tcase_create("program");
	tcase_add_test(tc, saved_programs_round_trip);
	tcase_add_test(tc, corrupted_programs_are_refused);
	tcase_add_test(tc, forged_programs_are_refused);
	tcase_add_test(tc, forged_sharing_is_refused);
	tcase_add_test(tc, forged_depth_is_refused);
	suite_add_tcase(s, tc);
	tc = tcase_create("evaluate");
	tcase_add_test(tc, short_reads_give_the_same_result);
	tcase_add_test(tc, a_failing_reader_is_a_runtime_error);
	tcase_add_test(tc, many_headers_are_bounded);
	tcase_add_test(tc, body_limits_hold);
	tcase_add_test(tc, evaluate_refuses_bad_arguments);
	tcase_add_test(tc, one_program_many_threads);
	suite_add_tcase(s, tc);
	tc = tcase_create("vacation");
	tcase_add_test(tc, vacation_refusal_rules);
	tcase_add_test(tc, vacation_keys);
	tcase_add_test(tc, includes_are_listed);
	tcase_add_test(tc, vacation_reply_message);
	tcase_add_test(tc, vacation_reply_long_subject_is_folded);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	sieve_engine_shutdown();
	return failed == 0 ? 0 : 1;
}
