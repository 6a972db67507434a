/* date-time and date parsing, INTERNALDATE formatting, the calendar
 * against glibc's gmtime_r. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imap_date.h"
#include "test_imap.h"

static int dt(const char *s, int64_t *t, int *tz)
{
	return imap_parse_datetime(s, strlen(s), t, tz);
}

static int64_t day(const char *s)
{
	int64_t d;

	return imap_parse_date(s, strlen(s), &d) < 0 ? -999999 : d;
}

START_TEST(datetime_valid)
{
	int64_t t;
	int tz;

	ck_assert_int_eq(dt("17-Jul-1996 02:44:25 -0700", &t, &tz), 0);
	ck_assert_int_eq(t, 837596665);
	ck_assert_int_eq(tz, -420);
	ck_assert_int_eq(dt(" 1-jan-1970 00:00:00 +0000", &t, &tz), 0);
	ck_assert_int_eq(t, 0);
	ck_assert_int_eq(tz, 0);
	ck_assert_int_eq(dt("01-JAN-1970 05:30:00 +0530", &t, &tz), 0);
	ck_assert_int_eq(t, 0);
	ck_assert_int_eq(tz, 330);
	ck_assert_int_eq(dt("29-Feb-2024 12:00:00 +0000", &t, &tz), 0);
	ck_assert_int_eq(t, 1709208000);
	ck_assert_int_eq(dt("29-Feb-2000 23:59:59 -2359", &t, &tz), 0);
	ck_assert_int_eq(dt("31-Dec-1969 23:59:59 +0000", &t, &tz), 0);
	ck_assert_int_eq(t, -1);
}
END_TEST

START_TEST(datetime_invalid)
{
	static const char *const bad[] = {
		"", "17-Jul-1996 02:44:25", "17-Jul-1996 02:44:25 -07000",
		"17-Jul-1996 02:44:25 0700 ", "17-Jul-1996 02:44:25 *0700",
		"1-Jul-1996 02:44:25 -0700", "17 Jul 1996 02:44:25 -0700",
		"17-Jux-1996 02:44:25 -0700", "17-Jul-96   02:44:25 -0700",
		"00-Jul-1996 02:44:25 -0700", " 0-Jul-1996 02:44:25 -0700",
		"0 -Jul-1996 02:44:25 -0700", "32-Jul-1996 02:44:25 -0700",
		"31-Jun-1996 02:44:25 -0700", "29-Feb-1900 02:44:25 -0700",
		"29-Feb-2023 02:44:25 -0700", "17-Jul-1996 24:00:00 -0700",
		"17-Jul-1996 02:60:00 -0700", "17-Jul-1996 02:44:60 -0700",
		"17-Jul-1996 02:44:25 -0760", "17-Jul-1996 2:44:25  -0700",
		"17-Jul-1996 02-44-25 -0700", "17-Jul-1996 02:44:25 -07a0",
		"17-Jul-19x6 02:44:25 -0700", "17-Jul/1996 02:44:25 -0700",
		"17-Jul-1996T02:44:25 -0700", "17-Jul-1996 02:44:25_-0700",
		"1a-Jul-1996 02:44:25 -0700", "-1-Jul-1996 02:44:25 -0700",
	};
	int64_t t = 5;
	int tz = 5;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(dt(bad[i], &t, &tz) == -EINVAL, "%s", bad[i]);
	ck_assert_int_eq(t, 5);
	ck_assert_int_eq(tz, 5);
}
END_TEST

START_TEST(search_dates)
{
	ck_assert_int_eq(day("1-Jan-1970"), 0);
	ck_assert_int_eq(day("01-Jan-1970"), 0);
	ck_assert_int_eq(day("2-jan-1970"), 1);
	ck_assert_int_eq(day("31-Dec-1969"), -1);
	ck_assert_int_eq(day("29-Feb-2024"), 19782);
	ck_assert_int_eq(day("1-Mar-2024"), 19783);
	ck_assert_int_eq(day(""), -999999);
	ck_assert_int_eq(day("1"), -999999);
	ck_assert_int_eq(day("-Jan-1970"), -999999);
	ck_assert_int_eq(day("001-Jan-1970"), -999999);
	ck_assert_int_eq(day(" 1-Jan-1970"), -999999);
	ck_assert_int_eq(day("1-Jan-70"), -999999);
	ck_assert_int_eq(day("1-Jan-19700"), -999999);
	ck_assert_int_eq(day("1 Jan-1970"), -999999);
	ck_assert_int_eq(day("1-Jan 1970"), -999999);
	ck_assert_int_eq(day("0-Jan-1970"), -999999);
	ck_assert_int_eq(day("30-Feb-2024"), -999999);
	ck_assert_int_eq(day("1-Foo-1970"), -999999);
	ck_assert_int_eq(day("1-Jan-1970 00:00:00 +0000"), -999999);
	ck_assert_int_eq(imap_day_of(-1, 0), -1);
	ck_assert_int_eq(imap_day_of(86399, 0), 0);
	ck_assert_int_eq(imap_day_of(86399, 1), 1);
	ck_assert_int_eq(imap_day_of(0, -1), -1);
}
END_TEST

START_TEST(internaldate_format)
{
	char b[IMAP_INTERNALDATE_SIZE];

	ck_assert_int_eq(imap_format_internaldate(0, b), 0);
	ck_assert_str_eq(b, "\"01-Jan-1970 00:00:00 +0000\"");
	ck_assert_int_eq(imap_format_internaldate(837596665, b), 0);
	ck_assert_str_eq(b, "\"17-Jul-1996 09:44:25 +0000\"");
	ck_assert_int_eq(imap_format_internaldate(-1, b), 0);
	ck_assert_str_eq(b, "\"31-Dec-1969 23:59:59 +0000\"");
	ck_assert_int_eq(imap_format_internaldate(253402300799, b), 0);
	ck_assert_str_eq(b, "\"31-Dec-9999 23:59:59 +0000\"");
	ck_assert_int_eq(imap_format_internaldate(253402300800, b), -ERANGE);
	ck_assert_int_eq(imap_format_internaldate(-62167219200, b), 0);
	ck_assert_str_eq(b, "\"01-Jan-0000 00:00:00 +0000\"");
	ck_assert_int_eq(imap_format_internaldate(-62167219201, b), -ERANGE);
}
END_TEST

/* Random instants from year 1 to 9999: formatting agrees with gmtime_r
 * and parses back to the same instant. */
START_TEST(random_round_trip)
{
	unsigned seed = 99;

	for (int i = 0; i < 5000; i++) {
		int64_t t = -62135596800 + (int64_t)(((uint64_t)rand_r(&seed)
			<< 31 | (uint64_t)rand_r(&seed)) % 315537897600ULL);
		char b[IMAP_INTERNALDATE_SIZE], want[40];
		time_t tt = (time_t)t;
		struct tm tm;
		int64_t back;
		int tz;

		CHECK((gmtime_r(&tt, &tm)) != NULL);
		strftime(want, sizeof(want), "\"%d-%b-%Y %H:%M:%S +0000\"",
			 &tm);
		CHECK((imap_format_internaldate(t, b)) == (0));
		if (tm.tm_year + 1900 >= 1000)
			CHECK(strcmp(b, want) == 0);
		CHECK((imap_parse_datetime(b + 1, strlen(b) - 2,
						     &back, &tz)) == (0));
		CHECK((back) == (t));
	}
}
END_TEST

Suite *imap_date_suite(void)
{
	Suite *s = suite_create("imap_date");
	TCase *tc = tcase_create("date");

	tcase_add_test(tc, datetime_valid);
	tcase_add_test(tc, datetime_invalid);
	tcase_add_test(tc, search_dates);
	tcase_add_test(tc, internaldate_format);
	tcase_add_test(tc, random_round_trip);
	suite_add_tcase(s, tc);
	return s;
}
