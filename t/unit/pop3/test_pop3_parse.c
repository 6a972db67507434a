/* Verbs, argument words, message numbers and TOP line counts. */
#include <stdint.h>
#include <string.h>

#include "pop3_parse.h"
#include "test_pop3.h"

START_TEST(verb_split)
{
	const char *arg;
	size_t alen;
	const char *l = "RETR 12";

	ck_assert_uint_eq(pop3_parse_verb(l, strlen(l), &arg, &alen), 4);
	ck_assert_uint_eq(alen, 2);
	ck_assert_mem_eq(arg, "12", 2);
	l = "STAT";
	ck_assert_uint_eq(pop3_parse_verb(l, strlen(l), &arg, &alen), 4);
	ck_assert_uint_eq(alen, 0);
	l = "PASS a b  c";
	ck_assert_uint_eq(pop3_parse_verb(l, strlen(l), &arg, &alen), 4);
	ck_assert_uint_eq(alen, 6);
	ck_assert_mem_eq(arg, "a b  c", 6);
	l = " STAT";
	ck_assert_uint_eq(pop3_parse_verb(l, strlen(l), &arg, &alen), 0);
	ck_assert_uint_eq(pop3_parse_verb("", 0, &arg, &alen), 0);
}
END_TEST

static int words(const char *s, int max)
{
	const char *w[4];
	size_t wl[4];

	return pop3_parse_words(s, strlen(s), w, wl, max);
}

START_TEST(word_split)
{
	const char *w[2];
	size_t wl[2];

	ck_assert_int_eq(words("", 2), 0);
	ck_assert_int_eq(words("1", 2), 1);
	ck_assert_int_eq(words("1 10", 2), 2);
	ck_assert_int_eq(words("1 10 3", 2), -1);
	ck_assert_int_eq(words("1  10", 2), -1);
	ck_assert_int_eq(words(" 1", 2), -1);
	ck_assert_int_eq(words("1 ", 2), -1);
	ck_assert_int_eq(words("1 2", 1), -1);
	ck_assert_int_eq(pop3_parse_words("PLAIN AGE=", 10, w, wl, 2), 2);
	ck_assert_uint_eq(wl[0], 5);
	ck_assert_uint_eq(wl[1], 4);
	ck_assert_mem_eq(w[1], "AGE=", 4);
}
END_TEST

static int msgnum(const char *s, uint32_t *n)
{
	return pop3_parse_msgnum(s, strlen(s), n);
}

START_TEST(message_numbers)
{
	uint32_t n;

	ck_assert_int_eq(msgnum("1", &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(msgnum("4294967295", &n), 0);
	ck_assert_uint_eq(n, UINT32_MAX);
	ck_assert_int_eq(msgnum("007", &n), 0);
	ck_assert_uint_eq(n, 7);
	ck_assert_int_eq(msgnum("0", &n), -1);
	ck_assert_int_eq(msgnum("", &n), -1);
	ck_assert_int_eq(msgnum("-1", &n), -1);
	ck_assert_int_eq(msgnum("+1", &n), -1);
	ck_assert_int_eq(msgnum("1a", &n), -1);
	ck_assert_int_eq(msgnum("4294967296", &n), -1);
	ck_assert_int_eq(msgnum("99999999999", &n), -1);
}
END_TEST

static int linecount(const char *s, uint64_t *n)
{
	return pop3_parse_linecount(s, strlen(s), n);
}

START_TEST(line_counts)
{
	uint64_t n;

	ck_assert_int_eq(linecount("0", &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(linecount("10", &n), 0);
	ck_assert_uint_eq(n, 10);
	ck_assert_int_eq(linecount("18446744073709551615", &n), 0);
	ck_assert_uint_eq(n, UINT64_MAX);
	ck_assert_int_eq(linecount("99999999999999999999999999", &n), 0);
	ck_assert_uint_eq(n, UINT64_MAX);
	ck_assert_int_eq(linecount("-1", &n), -1);
	ck_assert_int_eq(linecount("+1", &n), -1);
	ck_assert_int_eq(linecount("ten", &n), -1);
	ck_assert_int_eq(linecount("", &n), -1);
	ck_assert_int_eq(linecount("1.5", &n), -1);
}
END_TEST

Suite *pop3_parse_suite(void)
{
	Suite *s = suite_create("pop3_parse");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, verb_split);
	tcase_add_test(tc, word_split);
	tcase_add_test(tc, message_numbers);
	tcase_add_test(tc, line_counts);
	suite_add_tcase(s, tc);
	return s;
}
