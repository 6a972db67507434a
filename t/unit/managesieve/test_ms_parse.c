/* managesieve.so's command parser: words, quoted strings and literals,
 * the command going on after a literal, literals fed one octet at a time,
 * and every limit at its boundary. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ms_parse.h"

#define MAX_LITERAL 16
#define MAX_SCRIPT 100

static struct ms_parser p;

static void setup(void)
{
	ms_parse_init(&p, MAX_LITERAL, MAX_SCRIPT);
}

static void teardown(void)
{
	ms_parse_free(&p);
}

/* Feeds a client's stream as the connection splits it (literals one octet
 * at a time); the result of the last line. */
static enum ms_parse_result feed(const char *stream)
{
	enum ms_parse_result r = MS_ERROR;
	const char *at = stream;

	while (*at != '\0') {
		const char *crlf = strstr(at, "\r\n");
		ck_assert_ptr_nonnull(crlf);
		uint64_t literal;
		r = ms_parse_line(&p, at, (size_t)(crlf - at), &literal);
		at = crlf + 2;
		if (r != MS_LITERAL)
			break;
		for (uint64_t i = 0; i < literal; i++) {
			ck_assert_int_ne(*at, '\0');
			ck_assert_int_eq(ms_parse_bytes(&p, at++, 1),
					 i + 1 == literal);
		}
	}
	ck_assert_str_eq(at, ""); /* everything was used */
	return r;
}

static const char *arg(size_t i)
{
	ck_assert_uint_lt(i, p.n_args);
	ck_assert_uint_eq(strlen(ms_arg_str(&p, i)), p.args[i].len);
	return ms_arg_str(&p, i);
}

START_TEST(words_strings_and_numbers)
{
	ck_assert_int_eq(feed("havespace \"my script\" 4294967295\r\n"),
			 MS_DONE);
	ck_assert_uint_eq(p.n_args, 3);
	ck_assert_int_eq(p.args[0].type, MS_ATOM);
	ck_assert_str_eq(arg(0), "havespace");
	ck_assert_int_eq(p.args[1].type, MS_STRING);
	ck_assert_str_eq(arg(1), "my script");
	ck_assert_int_eq(p.args[2].type, MS_NUMBER);
	ck_assert_uint_eq(p.args[2].number, 4294967295u);
	ms_parse_reset(&p);
	ck_assert_int_eq(feed("DELETESCRIPT \"a\\\"b\\\\c\"\r\n"), MS_DONE);
	ck_assert_str_eq(arg(1), "a\"b\\c");
	ms_parse_reset(&p);
	/* Blanks at the end are nothing. */
	ck_assert_int_eq(feed("NOOP  \"\"  \r\n"), MS_DONE);
	ck_assert_uint_eq(p.n_args, 2);
	ck_assert_str_eq(arg(1), "");
}
END_TEST

START_TEST(literals_continue_the_command)
{
	ck_assert_int_eq(feed("PUTSCRIPT \"v\" {9+}\r\nkeep;\r\nx;\r\n"),
			 MS_DONE);
	ck_assert_uint_eq(p.n_args, 3);
	ck_assert_str_eq(arg(2), "keep;\r\nx;");
	ms_parse_reset(&p);
	/* Two literals, synchronizing or not, a word after the last. */
	ck_assert_int_eq(feed("RENAMESCRIPT {3+}\r\nold {3}\r\nnew X\r\n"),
			 MS_DONE);
	ck_assert_uint_eq(p.n_args, 4);
	ck_assert_str_eq(arg(1), "old");
	ck_assert_str_eq(arg(2), "new");
	ck_assert_str_eq(arg(3), "X");
	ms_parse_reset(&p);
	/* An empty literal needs no octets: the next line goes on. */
	uint64_t literal;
	ck_assert_int_eq(ms_parse_line(&p, "CHECKSCRIPT {0+}", 16, &literal),
			 MS_LITERAL);
	ck_assert_uint_eq(literal, 0);
	ck_assert_int_eq(ms_parse_line(&p, "", 0, &literal), MS_DONE);
	ck_assert_str_eq(arg(1), "");
	ms_parse_reset(&p);
	/* After a literal only a blank or the end may follow. */
	ck_assert_int_eq(feed("NOOP {1}\r\nxY\r\n"), MS_ERROR);
	ck_assert_str_eq(p.error, "a space must follow a literal");
}
END_TEST

START_TEST(limits_at_their_boundary)
{
	char line[2 * MS_QUOTED_MAX];
	uint64_t literal;

	/* Quoted strings: 1024 octets, not 1025. */
	snprintf(line, sizeof(line), "NOOP \"%0*d\"", MS_QUOTED_MAX, 0);
	ck_assert_int_eq(ms_parse_line(&p, line, strlen(line), &literal),
			 MS_DONE);
	ck_assert_uint_eq(p.args[1].len, MS_QUOTED_MAX);
	ms_parse_reset(&p);
	snprintf(line, sizeof(line), "NOOP \"%0*d\"", MS_QUOTED_MAX + 1, 0);
	ck_assert_int_eq(ms_parse_line(&p, line, strlen(line), &literal),
			 MS_ERROR);
	ms_parse_reset(&p);
	/* Literals: a name's at most MAX_LITERAL, a script's MAX_SCRIPT;
	 * one past is read and dropped, and the command says so. */
	snprintf(line, sizeof(line), "SETACTIVE {%d+}\r\n%0*d\r\n",
		 MAX_LITERAL, MAX_LITERAL, 0);
	ck_assert_int_eq(feed(line), MS_DONE);
	ck_assert(!p.too_big);
	ck_assert_uint_eq(p.args[1].len, MAX_LITERAL);
	ms_parse_reset(&p);
	snprintf(line, sizeof(line), "SETACTIVE {%d+}\r\n%0*d\r\n",
		 MAX_LITERAL + 1, MAX_LITERAL + 1, 0);
	ck_assert_int_eq(feed(line), MS_DONE);
	ck_assert(p.too_big);
	ck_assert_uint_eq(p.args[1].len, 0);
	ms_parse_reset(&p);
	snprintf(line, sizeof(line), "putscript \"s\" {%d+}\r\n%0*d\r\n",
		 MAX_SCRIPT, MAX_SCRIPT, 0);
	ck_assert_int_eq(feed(line), MS_DONE);
	ck_assert(!p.too_big);
	ck_assert_uint_eq(p.args[2].len, MAX_SCRIPT);
	ms_parse_reset(&p);
	snprintf(line, sizeof(line), "PUTSCRIPT \"s\" {%d+}\r\n%0*d\r\n",
		 MAX_SCRIPT + 1, MAX_SCRIPT + 1, 0);
	ck_assert_int_eq(feed(line), MS_DONE);
	ck_assert(p.too_big);
	ms_parse_reset(&p);
	/* Not worth reading at all. */
	snprintf(line, sizeof(line), "PUTSCRIPT \"s\" {%u+}",
		 MS_LITERAL_ABSURD + 1);
	ck_assert_int_eq(ms_parse_line(&p, line, strlen(line), &literal),
			 MS_ERROR);
	ms_parse_reset(&p);
	/* Numbers below 2^32, as RFC 5804 says. */
	ck_assert_int_eq(feed("HAVESPACE \"s\" 4294967296\r\n"), MS_ERROR);
	ms_parse_reset(&p);
	/* At most MS_ARGS_MAX words. */
	ck_assert_int_eq(feed("A B C D E F G H\r\n"), MS_DONE);
	ms_parse_reset(&p);
	ck_assert_int_eq(feed("A B C D E F G H I\r\n"), MS_ERROR);
	ck_assert_str_eq(p.error, "too many arguments");
}
END_TEST

START_TEST(malformed_commands)
{
	static const char *const bad[] = {
		"\r\n", " \r\n", "\"unterminated\r\n", "NOOP \"a\\x\"\r\n",
		"NOOP {5\r\n", "NOOP {x}\r\n", "NOOP {3} tail\r\n",
		"NOOP \"a\"b\r\n", "NO(OP\r\n",
	};
	uint64_t literal;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ms_parse_reset(&p);
		ck_assert_msg(feed(bad[i]) == MS_ERROR, "bad[%zu]", i);
		ck_assert_ptr_nonnull(p.error);
	}
	/* A NUL inside quotes (the line is not a C string to the parser). */
	ms_parse_reset(&p);
	ck_assert_int_eq(ms_parse_line(&p, "NOOP \"a\0b\"", 10, &literal),
			 MS_ERROR);
	ck_assert_str_eq(p.error, "NUL in a quoted string");
	/* A line while a literal's octets are due is the caller's bug. */
	ms_parse_reset(&p);
	ck_assert_int_eq(ms_parse_line(&p, "NOOP {2}", 8, &literal),
			 MS_LITERAL);
	ck_assert_int_eq(ms_parse_line(&p, "x", 1, &literal), MS_ERROR);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("managesieve");
	TCase *tc = tcase_create("parse");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, words_strings_and_numbers);
	tcase_add_test(tc, literals_continue_the_command);
	tcase_add_test(tc, limits_at_their_boundary);
	tcase_add_test(tc, malformed_commands);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
