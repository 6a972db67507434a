/* pwpolicy's campaign schedule: each step on its day, catch-up after
 * downtime (only the latest notice, the last notice before a forced
 * change), reminders, and the state values round trip. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "pw_campaign.h"

#define DAY 86400

static const struct pw_schedule sched = {
	.offset = { 0, 7 * DAY, 14 * DAY, 21 * DAY, 23 * DAY },
	.deadline = 30 * DAY,
};

START_TEST(test_next_day_by_day)
{
	struct pw_campaign c = { .start = 1000000, .step = PW_STEP_NONE };

	ck_assert_int_eq(pw_campaign_next(&c, &sched, c.start - 1),
			 PW_STEP_NONE);
	ck_assert_int_eq(pw_campaign_next(&c, &sched, c.start), PW_STEP_NOTICE);
	c.step = PW_STEP_NOTICE;
	ck_assert_int_eq(pw_campaign_next(&c, &sched, c.start + 7 * DAY - 1),
			 PW_STEP_NONE);
	ck_assert_int_eq(pw_campaign_next(&c, &sched, c.start + 7 * DAY),
			 PW_STEP_REMIND1);
	c.step = PW_STEP_REMIND1;
	ck_assert_int_eq(pw_campaign_next(&c, &sched, c.start + 14 * DAY),
			 PW_STEP_REMIND2);
	c.step = PW_STEP_REMIND2;
	ck_assert_int_eq(pw_campaign_next(&c, &sched, c.start + 22 * DAY),
			 PW_STEP_LAST);
	c.step = PW_STEP_LAST;
	ck_assert_int_eq(pw_campaign_next(&c, &sched, c.start + 22 * DAY),
			 PW_STEP_NONE);
	ck_assert_int_eq(pw_campaign_next(&c, &sched, c.start + 23 * DAY),
			 PW_STEP_FORCED);
	c.step = PW_STEP_FORCED;
	ck_assert_int_eq(pw_campaign_next(&c, &sched, c.start + 99 * DAY),
			 PW_STEP_NONE);
}
END_TEST

START_TEST(test_next_catch_up)
{
	struct pw_campaign c = { .start = 0, .step = PW_STEP_NONE };

	/* Down from before day 0 to day 15: only the second reminder. */
	ck_assert_int_eq(pw_campaign_next(&c, &sched, 15 * DAY),
			 PW_STEP_REMIND2);
	/* Down past day 23: the last notice first, then the change. */
	c.step = PW_STEP_NOTICE;
	ck_assert_int_eq(pw_campaign_next(&c, &sched, 30 * DAY), PW_STEP_LAST);
	c.step = PW_STEP_LAST;
	ck_assert_int_eq(pw_campaign_next(&c, &sched, 30 * DAY),
			 PW_STEP_FORCED);
}
END_TEST

START_TEST(test_campaign_values)
{
	struct pw_campaign c = { .start = 5, .base = 3, .step = PW_STEP_LAST };
	struct pw_campaign back;
	char buf[256];

	strcpy(c.hash, "$y$j9T$salt$hash");
	ck_assert_int_gt(pw_campaign_format(&c, buf, sizeof(buf)), 0);
	ck_assert_int_eq(pw_campaign_parse(buf, &back), 0);
	ck_assert_int_eq(back.start, 5);
	ck_assert_int_eq(back.base, 3);
	ck_assert_int_eq(back.step, PW_STEP_LAST);
	ck_assert_str_eq(back.hash, c.hash);
	c.hash[0] = '\0';
	c.step = PW_STEP_NONE;
	pw_campaign_format(&c, buf, sizeof(buf));
	ck_assert_str_eq(buf, "start=5 base=3 step=-1 hash=-");
	ck_assert_int_eq(pw_campaign_parse(buf, &back), 0);
	ck_assert_str_eq(back.hash, "");
	ck_assert_int_lt(pw_campaign_parse("start=5 base=3 step=9 hash=-",
					   &back), 0);
	ck_assert_int_lt(pw_campaign_parse("start=5 base=3 step=1 hash=- x",
					   &back), 0);
	ck_assert_int_lt(pw_campaign_format(&c, buf, 10), 0);
}
END_TEST

START_TEST(test_reminder)
{
	struct pw_reminder r;
	char buf[64];

	ck_assert_int_eq(pw_reminder_parse("every=100 last=0", &r), 0);
	ck_assert_int_eq(pw_reminder_due(&r, 50, 149), 0);
	ck_assert_int_eq(pw_reminder_due(&r, 50, 150), 1);
	r.last = 150;
	ck_assert_int_eq(pw_reminder_due(&r, 50, 249), 0);
	ck_assert_int_eq(pw_reminder_due(&r, 200, 250), 0); /* changed */
	ck_assert_int_eq(pw_reminder_due(&r, 200, 300), 1);
	pw_reminder_format(&r, buf, sizeof(buf));
	ck_assert_str_eq(buf, "every=100 last=150");
	ck_assert_int_lt(pw_reminder_parse("every=0 last=0", &r), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pwpolicy");
	TCase *tc = tcase_create("campaign");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_next_day_by_day);
	tcase_add_test(tc, test_next_catch_up);
	tcase_add_test(tc, test_campaign_values);
	tcase_add_test(tc, test_reminder);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
