/* Unit tests of ratelimit.so's pure parts: the sliding window (counting,
 * pruning, the "try again after" time), serialisation, login-failure
 * history, CIDR matching; test_rl_login.c has the login records. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rl_window.h"

Suite *rl_login_suite(void); /* test_rl_login.c */

/* 2026-11-23 14:00:00 UTC, a whole hour. */
#define T0 ((int64_t)1795442400)

START_TEST(test_gran)
{
	ck_assert_int_eq(rl_gran(10), 1);
	ck_assert_int_eq(rl_gran(119), 1);
	ck_assert_int_eq(rl_gran(120), 60);
	ck_assert_int_eq(rl_gran(3600), 60);
	ck_assert_int_eq(rl_gran(7 * 86400) % 60, 0);
	ck_assert_int_le(7 * 86400 / rl_gran(7 * 86400), 256);
}
END_TEST

START_TEST(test_window_short)
{
	struct rl_window w = { 0 };

	/* window 10 s, 1 s buckets: 3 at T0, 2 at T0+4. */
	ck_assert_int_eq(rl_window_add(&w, T0, 1, 3), 0);
	ck_assert_int_eq(rl_window_add(&w, T0 + 4, 1, 2), 0);
	ck_assert_int_eq(rl_window_add(&w, T0 + 4, 1, 0), 0);
	ck_assert_uint_eq(w.n, 2);
	ck_assert_uint_eq(rl_window_used(&w, T0 + 4, 10, 1), 5);
	/* The bucket T0 holds T0..T0+0.999: it leaves at T0 + 1 + 10. */
	ck_assert_uint_eq(rl_window_used(&w, T0 + 10, 10, 1), 5);
	ck_assert_uint_eq(rl_window_used(&w, T0 + 11, 10, 1), 2);
	ck_assert_uint_eq(rl_window_used(&w, T0 + 15, 10, 1), 0);
	/* Limit 5, 5 used, one more wanted: 1 must leave -> T0 + 11. */
	ck_assert_int_eq(rl_window_free_at(&w, T0 + 5, 10, 1, 1), T0 + 11);
	ck_assert_int_eq(rl_window_free_at(&w, T0 + 5, 10, 1, 3), T0 + 11);
	ck_assert_int_eq(rl_window_free_at(&w, T0 + 5, 10, 1, 4), T0 + 15);
	/* More than there is: the rest are counted now (pending). */
	ck_assert_int_eq(rl_window_free_at(&w, T0 + 5, 10, 1, 9), T0 + 16);
	ck_assert_int_eq(rl_window_free_at(&w, T0 + 5, 10, 1, 0), T0 + 5);
	ck_assert_int_eq(rl_window_oldest_leaves(&w, T0 + 5, 10, 1), T0 + 11);
	ck_assert_int_eq(rl_window_newest(&w), T0 + 4);
	rl_window_prune(&w, T0 + 11, 10, 1);
	ck_assert_uint_eq(w.n, 1);
	ck_assert_int_eq(w.b[0].t, T0 + 4);
	rl_window_prune(&w, T0 + 15, 10, 1);
	ck_assert_uint_eq(w.n, 0);
	ck_assert_int_eq(rl_window_oldest_leaves(&w, T0 + 15, 10, 1), 0);
	ck_assert_int_eq(rl_window_free_at(&w, T0 + 15, 10, 1, 1), T0 + 26);
	ck_assert_int_eq(rl_window_free_at(&w, T0 + 15, 10, 1, 0), T0 + 15);
	ck_assert_int_eq(rl_window_free_at(&w, T0 + 15, 3600, 60, 1),
			 T0 + 3660);
	rl_window_free(&w);
}
END_TEST

START_TEST(test_window_hour)
{
	struct rl_window w = { 0 };
	int64_t g = rl_gran(3600);

	/* 60 at 14:00:10 and 14:00:50 (one bucket), 40 at 14:20:30. */
	rl_window_add(&w, T0 + 10, g, 30);
	rl_window_add(&w, T0 + 50, g, 30);
	rl_window_add(&w, T0 + 20 * 60 + 30, g, 40);
	ck_assert_uint_eq(w.n, 2);
	ck_assert_int_eq(w.b[0].t, T0);
	ck_assert_int_eq(w.b[1].t, T0 + 20 * 60);
	ck_assert_uint_eq(rl_window_used(&w, T0 + 59 * 60, 3600, g), 100);
	/* Sliding, not a clock hour: at 15:00:30 the 14:00 bucket is still
	 * in (it leaves whole at 15:01:00). */
	ck_assert_uint_eq(rl_window_used(&w, T0 + 3630, 3600, g), 100);
	ck_assert_uint_eq(rl_window_used(&w, T0 + 3660, 3600, g), 40);
	/* 100 used of 100, one more: free at 15:01. */
	ck_assert_int_eq(rl_window_free_at(&w, T0 + 1800, 3600, g, 1),
			 T0 + 3660);
	ck_assert_int_eq(rl_window_free_at(&w, T0 + 1800, 3600, g, 61),
			 T0 + 3600 + 21 * 60);
	/* A clock going back adds to the newest bucket. */
	rl_window_add(&w, T0 + 5 * 60, g, 1);
	ck_assert_uint_eq(w.n, 2);
	ck_assert_uint_eq(w.b[1].n, 41);
	/* A reset drops every bucket started at or before it. */
	rl_window_drop_until(&w, T0 + 60);
	ck_assert_uint_eq(w.n, 1);
	rl_window_drop_until(&w, T0 + 20 * 60);
	ck_assert_uint_eq(w.n, 0);
	rl_window_free(&w);
}
END_TEST

START_TEST(test_window_many)
{
	struct rl_window w = { 0 };

	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(rl_window_add(&w, T0 + i, 1, 1), 0);
	ck_assert_uint_eq(rl_window_used(&w, T0 + 999, 10, 1), 11);
	rl_window_prune(&w, T0 + 999, 10, 1);
	ck_assert_uint_eq(w.n, 11);
	ck_assert_int_eq(w.b[0].t, T0 + 989);
	rl_window_free(&w);
}
END_TEST

START_TEST(test_hhmm)
{
	char out[6];
	time_t t = (time_t)(T0 + 3660);
	struct tm tm;
	char want[6];

	/* Rounded up to the next minute, local time. */
	localtime_r(&t, &tm);
	strftime(want, sizeof(want), "%H:%M", &tm);
	rl_hhmm(T0 + 3660, out);
	ck_assert_str_eq(out, want);
	rl_hhmm(T0 + 3601, out);
	ck_assert_str_eq(out, want);
	rl_hhmm(T0 + 3659, out);
	ck_assert_str_eq(out, want);
	setenv("TZ", "UTC", 1);
	tzset();
	rl_hhmm(T0 + 32 * 60 - 40, out);
	ck_assert_str_eq(out, "14:32");
	rl_hhmm(T0 + 32 * 60, out);
	ck_assert_str_eq(out, "14:32");
	rl_hhmm(T0 + 10 * 3600 - 1, out);
	ck_assert_str_eq(out, "00:00");
}
END_TEST

START_TEST(test_serialise)
{
	struct rl_window w = { 0 }, back = { 0 };
	char buf[256];

	ck_assert_int_eq(rl_window_format(&w, buf, sizeof(buf)), 1);
	ck_assert_str_eq(buf, "1");
	ck_assert_int_eq(rl_window_parse(&back, buf, 1), 0);
	ck_assert_uint_eq(back.n, 0);
	rl_window_add(&w, T0, 60, 7);
	rl_window_add(&w, T0 + 120, 60, 4294967295u);
	int len = rl_window_format(&w, buf, sizeof(buf));
	ck_assert_int_gt(len, 0);
	ck_assert_str_eq(buf, "1 1795442400:7 1795442520:4294967295");
	ck_assert_int_eq(rl_window_parse(&back, buf, (size_t)len), 0);
	ck_assert_uint_eq(back.n, 2);
	ck_assert_int_eq(back.b[0].t, T0);
	ck_assert_uint_eq(back.b[0].n, 7);
	ck_assert_int_eq(back.b[1].t, T0 + 120);
	ck_assert_uint_eq(back.b[1].n, 4294967295u);
	/* Too small a buffer. */
	ck_assert_int_eq(rl_window_format(&w, buf, 10), -1);
	/* Malformed values leave the window empty. */
	const char *bad[] = { "", "2 1:1", "1x", "1 a:1", "1 5:1 4:1",
			      "1 5;1", "1 5:", "1 5:99999999999", "1  5:1",
			      "1 99999999999999999999:1" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(rl_window_parse(&back, bad[i],
						 strlen(bad[i])), -1);
		ck_assert_uint_eq(back.n, 0);
	}
	/* A value cut short in its last token keeps the complete ones. */
	ck_assert_int_eq(rl_window_parse(&back, "1 10:2 20", 9), 0);
	ck_assert_uint_eq(back.n, 1);
	rl_window_free(&w);
	rl_window_free(&back);
}
END_TEST

START_TEST(test_fails)
{
	struct rl_fails f = { 0 };

	ck_assert_uint_eq(rl_fails_count(&f, 1000, 600000), 0);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(rl_fails_add(&f, 1000 + i * 1000, 10000, 3), 0);
	/* Only the last cap are kept. */
	ck_assert_uint_eq(f.n, 3);
	ck_assert_uint_eq(rl_fails_count(&f, 5000, 10000), 3);
	/* 3000, 4000, 5000 leave at 13000, 14000, 15000. */
	ck_assert_uint_eq(rl_fails_count(&f, 13000, 10000), 2);
	ck_assert_uint_eq(rl_fails_count(&f, 15000, 10000), 0);
	ck_assert_uint_eq(f.n, 0);
	/* A larger cap later keeps its entries. */
	rl_fails_add(&f, 20000, 10000, 3);
	rl_fails_add(&f, 21000, 10000, 5);
	ck_assert_uint_eq(rl_fails_count(&f, 21000, 10000), 2);
	rl_fails_add(&f, 22000, 10000, 1);
	ck_assert_uint_eq(rl_fails_count(&f, 22000, 10000), 1);
	ck_assert_int_eq(rl_fails_add(&f, 23000, 10000, 0), 0);
	rl_fails_free(&f);
}
END_TEST

START_TEST(test_cidr)
{
	struct rl_net net;

	ck_assert_int_eq(rl_net_parse("127.0.0.1", &net), 0);
	ck_assert_int_eq(net.family, 4);
	ck_assert_int_eq(net.prefix, 32);
	ck_assert(rl_net_match(&net, "127.0.0.1"));
	ck_assert(!rl_net_match(&net, "127.0.0.2"));
	ck_assert(rl_net_match(&net, "::ffff:127.0.0.1"));
	ck_assert(!rl_net_match(&net, "::1"));
	ck_assert(!rl_net_match(&net, "junk"));
	ck_assert(!rl_net_match(&net, NULL));

	ck_assert_int_eq(rl_net_parse("10.1.2.0/23", &net), 0);
	ck_assert(rl_net_match(&net, "10.1.2.7"));
	ck_assert(rl_net_match(&net, "10.1.3.255"));
	ck_assert(!rl_net_match(&net, "10.1.4.0"));
	ck_assert(!rl_net_match(&net, "10.1.1.255"));

	ck_assert_int_eq(rl_net_parse("0.0.0.0/0", &net), 0);
	ck_assert(rl_net_match(&net, "192.0.2.1"));
	ck_assert(!rl_net_match(&net, "2001:db8::1"));

	ck_assert_int_eq(rl_net_parse("2001:db8::/33", &net), 0);
	ck_assert_int_eq(net.family, 6);
	ck_assert(rl_net_match(&net, "2001:db8:7fff::1"));
	ck_assert(!rl_net_match(&net, "2001:db8:8000::1"));
	ck_assert(!rl_net_match(&net, "10.0.0.1"));
	ck_assert_int_eq(rl_net_parse("::1", &net), 0);
	ck_assert(rl_net_match(&net, "::1"));
	ck_assert_int_eq(rl_net_parse("::/0", &net), 0);
	ck_assert(rl_net_match(&net, "fe80::1"));

	const char *bad[] = { "", "/8", "10.0.0.0/33", "::/129", "10.0.0/8",
			      "10.0.0.0/", "10.0.0.0/8x", "10.0.0.0/-1",
			      "example.org", "10.0.0.0/0008" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(rl_net_parse(bad[i], &net) == -1, "%s", bad[i]);
}
END_TEST

START_TEST(test_cidr_list)
{
	struct rl_net *nets;
	char bad[80];

	ck_assert_int_eq(rl_net_parse_list("", &nets, bad, sizeof(bad)), 0);
	ck_assert_ptr_null(nets);
	ck_assert_int_eq(rl_net_parse_list(NULL, &nets, bad, sizeof(bad)), 0);
	int n = rl_net_parse_list(" 192.0.2.0/24, ::1 ,10.0.0.1", &nets, bad,
				  sizeof(bad));
	ck_assert_int_eq(n, 3);
	ck_assert(rl_net_match_list(nets, n, "192.0.2.99"));
	ck_assert(rl_net_match_list(nets, n, "::1"));
	ck_assert(rl_net_match_list(nets, n, "10.0.0.1"));
	ck_assert(!rl_net_match_list(nets, n, "10.0.0.2"));
	free(nets);
	ck_assert_int_eq(rl_net_parse_list("10.0.0.1, bogus/3", &nets, bad,
					   sizeof(bad)), -1);
	ck_assert_str_eq(bad, "bogus/3");
	ck_assert_ptr_null(nets);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("window");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_gran);
	tcase_add_test(tc, test_window_short);
	tcase_add_test(tc, test_window_hour);
	tcase_add_test(tc, test_window_many);
	tcase_add_test(tc, test_hhmm);
	tcase_add_test(tc, test_serialise);
	suite_add_tcase(s, tc);
	tc = tcase_create("login");
	tcase_add_test(tc, test_fails);
	tcase_add_test(tc, test_cidr);
	tcase_add_test(tc, test_cidr_list);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_add_suite(sr, rl_login_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
