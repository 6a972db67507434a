/* LIST patterns: RFC 3501 6.3.8 as a case table ("%" stops at "/", "*"
 * does not, INBOX in any case), the patterns that made the recursive
 * matcher exponential, the cost model, and random patterns against a
 * reference matcher. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap_match.h"
#include "test_imap.h"

static bool matches(const char *pattern, const char *name)
{
	struct imap_pattern p;
	bool yes;

	ck_assert_int_eq(imap_pattern_init(&p, pattern, strlen(pattern)), 0);
	yes = imap_pattern_match(&p, name, strlen(name));
	imap_pattern_free(&p);
	return yes;
}

START_TEST(rfc3501_semantics)
{
	static const struct { const char *pat, *name; bool yes; } cases[] = {
		/* "*" matches anything, hierarchy included. */
		{ "*", "INBOX", true }, { "*", "Sent", true },
		{ "*", "a/b/c", true }, { "*", "", true },
		{ "a/*", "a/b", true }, { "a/*", "a/b/c", true },
		{ "a/*", "a", false }, { "a/*", "a/", true },
		{ "a*", "a", true }, { "a*", "ab", true }, { "a*", "a/b", true },
		{ "*c", "a/b/c", true }, { "*b*", "a/b/c", true },
		{ "*x", "a/b/c", false },
		/* "%" is the same within one level: never "/". */
		{ "%", "INBOX", true }, { "%", "Sent", true },
		{ "%", "a/b", false }, { "%", "", true },
		{ "a/%", "a/b", true }, { "a/%", "a/b/c", false },
		{ "a/%", "a", false },
		{ "a%", "a", true }, { "a%", "abc", true }, { "a%", "a/b", false },
		{ "%/%", "a/b", true }, { "%/%", "a", false },
		{ "%/%", "a/b/c", false }, { "%/%/%", "a/b/c", true },
		{ "%b", "a/b", false }, { "*/%", "a/b/c", true },
		{ "%/*", "a/b/c", true }, { "%c", "abc", true },
		/* Runs of wildcards: any "*" makes the run a "*". */
		{ "%*", "a/b", true }, { "*%", "a/b", true },
		{ "%%", "a/b", false }, { "%%", "ab", true },
		{ "a%%%b", "axb", true }, { "a%%%b", "a/b", false },
		/* Everything else is itself, case-sensitively. */
		{ "Sent", "Sent", true }, { "Sent", "sent", false },
		{ "Sent", "Sent/x", false }, { "Sen", "Sent", false },
		{ "Work/2026", "Work/2026", true }, { "", "", true },
		{ "", "a", false }, { "a", "", false },
		{ "caf\xc3\xa9*", "caf\xc3\xa9/x", true },
		/* INBOX in any case, as a whole level or before a wildcard. */
		{ "inbox", "INBOX", true }, { "InBoX", "INBOX", true },
		{ "INBOX", "INBOX", true }, { "inbox/%", "INBOX/x", true },
		{ "iNbOx/*", "INBOX/x/y", true }, { "inbox*", "INBOX", true },
		{ "inbox%", "INBOX/x", false }, { "inbox*", "INBOX/x", true },
		{ "inbox", "INBOX/x", false }, { "inbo", "INBOX", false },
		{ "inbo*", "INBOX", false }, { "inboxy", "INBOXY", false },
		{ "Inbox/x", "inbox/x", false }, { "inbox/x", "inbox/x", true },
		{ "%", "inbox", true },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(matches(cases[i].pat, cases[i].name) ==
			      cases[i].yes, "\"%s\" against \"%s\": want %d",
			      cases[i].pat, cases[i].name, cases[i].yes);
}
END_TEST

START_TEST(compiled_form)
{
	struct imap_pattern p;

	ck_assert_int_eq(imap_pattern_init(&p, "a*%%*b%%c***", 12), 0);
	ck_assert_str_eq(p.pat, "a*b%c*");
	ck_assert_uint_eq(p.len, 6);
	ck_assert_uint_eq(p.literals, 3);
	ck_assert(p.wildcards);
	ck_assert(p.percent);
	ck_assert(!p.inbox);
	imap_pattern_free(&p);
	ck_assert_ptr_null(p.pat);
	ck_assert_int_eq(imap_pattern_init(&p, "Sent", 4), 0);
	ck_assert(!p.wildcards && !p.percent);
	imap_pattern_free(&p);
	ck_assert_int_eq(imap_pattern_init(&p, "INBOX/*", 7), 0);
	ck_assert(p.inbox && !p.percent);
	imap_pattern_free(&p);
	/* A NUL is an ordinary byte (mUTF-7 can decode to one). */
	ck_assert_int_eq(imap_pattern_init(&p, "a\0*", 3), 0);
	ck_assert(imap_pattern_match(&p, "a\0bc", 4));
	ck_assert(!imap_pattern_match(&p, "a", 1));
	imap_pattern_free(&p);
}
END_TEST

/* The inputs: a 77-byte name and eight stars took the recursive
 * matcher forever; 40 bytes and six stars 1.8 s. Here each is one pass
 * over the name per pattern byte, which the cost says before the work. */
START_TEST(pathological_patterns)
{
	char name[256], pat[600];
	struct imap_pattern p;

	memset(name, 'a', 255);
	name[255] = '\0';
	for (size_t stars = 1; stars <= 200; stars++) {
		size_t n = 0;
		for (size_t k = 0; k < stars; k++) {
			pat[n++] = '*';
			pat[n++] = 'a';
		}
		pat[n++] = 'x';
		CHECK(imap_pattern_init(&p, pat, n) == 0);
		CHECK(!imap_pattern_match(&p, name, 77));
		CHECK(!imap_pattern_match(&p, name, 255));
		CHECK(imap_pattern_cost(&p, 255) == (n + 1) * 256);
		imap_pattern_free(&p);
	}
	/* "********x" collapses to "*x": no row is longer than two. */
	ck_assert_int_eq(imap_pattern_init(&p, "********x", 9), 0);
	ck_assert_uint_eq(p.len, 2);
	ck_assert(!imap_pattern_match(&p, name, 77));
	name[76] = 'x';
	ck_assert(imap_pattern_match(&p, name, 77));
	name[76] = 'a';
	imap_pattern_free(&p);
	/* The same with "%" and levels. */
	for (size_t i = 1; i < 255; i += 2)
		name[i] = '/';
	memset(pat, 0, sizeof(pat));
	for (size_t k = 0; k < 250; k++)
		pat[k] = k % 2 == 0 ? '%' : 'a';
	ck_assert_int_eq(imap_pattern_init(&p, pat, 250), 0);
	ck_assert(!imap_pattern_match(&p, name, 255));
	imap_pattern_free(&p);
	/* A name shorter than the literal bytes costs nothing. */
	ck_assert_int_eq(imap_pattern_init(&p, "*abc*def", 8), 0);
	ck_assert_uint_eq(imap_pattern_cost(&p, 5), 0);
	ck_assert_uint_eq(imap_pattern_cost(&p, 6), 9 * 7);
	ck_assert(!imap_pattern_match(&p, "abcdef", 5));
	ck_assert(imap_pattern_match(&p, "abcdef", 6));
	imap_pattern_free(&p);
	ck_assert_int_eq(imap_pattern_init(&p, "*", 1), 0);
	ck_assert_uint_eq(imap_pattern_cost(&p, 255), 1);
	imap_pattern_free(&p);
	ck_assert_int_eq(imap_pattern_init(&p, "Sent", 4), 0);
	ck_assert_uint_eq(imap_pattern_cost(&p, 4), 5);
	imap_pattern_free(&p);
}
END_TEST

/* Exponential, but obviously RFC 3501: the reference for random cases
 * (short ones only). */
static bool reference(const char *pat, size_t plen, const char *name,
		      size_t nlen)
{
	if (plen == 0)
		return nlen == 0;
	if (pat[0] == '*' || pat[0] == '%') {
		for (size_t k = 0; k <= nlen; k++) {
			if (reference(pat + 1, plen - 1, name + k, nlen - k))
				return true;
			if (k < nlen && pat[0] == '%' && name[k] == '/')
				return false;
		}
		return false;
	}
	return nlen > 0 && pat[0] == name[0] &&
	       reference(pat + 1, plen - 1, name + 1, nlen - 1);
}

START_TEST(random_against_reference)
{
	static const char alphabet[] = "ab/*%";
	unsigned seed = 20260117;

	for (int round = 0; round < 20000; round++) {
		char pat[10], name[12];
		size_t plen = (size_t)(rand_r(&seed) % 9);
		size_t nlen = (size_t)(rand_r(&seed) % 11);
		struct imap_pattern p;

		for (size_t i = 0; i < plen; i++)
			pat[i] = alphabet[rand_r(&seed) % 5];
		for (size_t i = 0; i < nlen; i++)
			name[i] = alphabet[rand_r(&seed) % 3];
		CHECK(imap_pattern_init(&p, pat, plen) == 0);
		if (imap_pattern_match(&p, name, nlen) !=
		    reference(pat, plen, name, nlen))
			ck_abort_msg("\"%.*s\" against \"%.*s\"", (int)plen,
				     pat, (int)nlen, name);
		imap_pattern_free(&p);
	}
}
END_TEST

Suite *imap_match_suite(void)
{
	Suite *s = suite_create("imap_match");
	TCase *tc = tcase_create("match");

	tcase_add_test(tc, rfc3501_semantics);
	tcase_add_test(tc, compiled_form);
	tcase_add_test(tc, pathological_patterns);
	tcase_add_test(tc, random_against_reference);
	suite_add_tcase(s, tc);
	return s;
}
