#include <check.h>
#include <string.h>

#include "util/mail_date.h"

START_TEST(dates_are_utc_with_english_names)
{
	char buf[64];

	mail_date_utc(0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "Thu, 01 Jan 1970 00:00:00 +0000");
	mail_date_utc(1796545581, buf, sizeof(buf));
	ck_assert_str_eq(buf, "Sun, 06 Dec 2026 08:26:21 +0000");
	/* Truncated, never overrun. */
	mail_date_utc(0, buf, 4);
	ck_assert_str_eq(buf, "Thu");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mail_date");
	TCase *tc = tcase_create("format");

	tcase_add_test(tc, dates_are_utc_with_english_names);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
