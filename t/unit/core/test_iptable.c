#include <check.h>
#include <stdio.h>

#include "net/iptable.h"

START_TEST(counts_per_address)
{
	struct iptable t;

	iptable_init(&t);
	ck_assert_uint_eq(iptable_count(&t, "127.0.0.1"), 0);
	ck_assert_int_eq(iptable_inc(&t, "127.0.0.1"), 1);
	ck_assert_int_eq(iptable_inc(&t, "127.0.0.1"), 2);
	ck_assert_int_eq(iptable_inc(&t, "::1"), 1);
	ck_assert_uint_eq(iptable_count(&t, "127.0.0.1"), 2);
	ck_assert_uint_eq(iptable_count(&t, "127.0.0.2"), 0);
	iptable_dec(&t, "127.0.0.1");
	ck_assert_uint_eq(iptable_count(&t, "127.0.0.1"), 1);
	iptable_dec(&t, "127.0.0.9"); /* unknown: harmless */
	iptable_free(&t);
}
END_TEST

START_TEST(entries_go_when_their_last_connection_does)
{
	struct iptable t;
	char ip[32];

	iptable_init(&t);
	/* Many clients, one connection each, all gone again: nothing kept,
	 * so memory follows open connections, not clients ever seen. */
	for (int i = 0; i < 5000; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", i >> 16, (i >> 8) & 255,
			 i & 255);
		ck_assert_int_eq(iptable_inc(&t, ip), 1);
	}
	ck_assert_uint_eq(t.entries, 5000);
	for (int i = 0; i < 5000; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", i >> 16, (i >> 8) & 255,
			 i & 255);
		iptable_dec(&t, ip);
	}
	ck_assert_uint_eq(t.entries, 0);
	iptable_free(&t);
}
END_TEST

/* An IPv6 host owns its /64: every address in it is one client. */
START_TEST(ipv6_counts_by_64)
{
	char a[IPTABLE_KEY_MAX], b[IPTABLE_KEY_MAX], c[IPTABLE_KEY_MAX];

	iptable_key("2001:db8:1:2::1", a);
	iptable_key("2001:DB8:1:2:ffff:eeee:dddd:cccc", b);
	iptable_key("2001:db8:1:3::1", c);
	ck_assert_str_eq(a, "2001:db8:1:2::/64");
	ck_assert_str_eq(a, b);
	ck_assert_str_ne(a, c);
	iptable_key("::1", a);
	ck_assert_str_eq(a, "::/64");
	iptable_key("127.0.0.1", a);
	iptable_key("127.0.0.2", b);
	ck_assert_str_eq(a, "127.0.0.1");
	ck_assert_str_eq(b, "127.0.0.2");

	struct iptable t;
	iptable_init(&t);
	iptable_key("2001:db8::1", a);
	iptable_inc(&t, a);
	iptable_key("2001:db8::2", b);
	ck_assert_int_eq(iptable_inc(&t, b), 2);
	iptable_free(&t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("iptable");
	TCase *tc = tcase_create("counts");

	tcase_add_test(tc, counts_per_address);
	tcase_add_test(tc, entries_go_when_their_last_connection_does);
	tcase_add_test(tc, ipv6_counts_by_64);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
