/* Unit tests of login throttling's pure parts: address keys (IPv6 by
 * /64), address lists, the records' serialisation, the decision (the
 * owner is never locked out by others' failures), a distributed attack
 * played through them, and the string table. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rl_login.h"

Suite *rl_login_suite(void);

START_TEST(test_client_key)
{
	char a[RL_ADDR_MAX], b[RL_ADDR_MAX];

	rl_client_key("192.0.2.7", a);
	ck_assert_str_eq(a, "192.0.2.7");
	rl_client_key("::ffff:192.0.2.7", a);
	ck_assert_str_eq(a, "192.0.2.7");
	/* One /64, one key: an attacker does not get 2^64 fresh ones. */
	rl_client_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd", a);
	rl_client_key("2001:db8:1:2::1", b);
	ck_assert_str_eq(a, "2001:db8:1:2::/64");
	ck_assert_str_eq(b, a);
	rl_client_key("2001:db8:1:3::1", b);
	ck_assert_str_ne(b, a);
	rl_client_key("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", a);
	ck_assert_str_eq(a, "ffff:ffff:ffff:ffff::/64");
	rl_client_key("not an address", a);
	ck_assert_str_eq(a, "not an address");
	rl_client_key(NULL, a);
	ck_assert_str_eq(a, "");
}
END_TEST

START_TEST(test_addrs)
{
	struct rl_addrs l = { 0 };
	char addr[RL_ADDR_MAX];

	ck_assert_int_eq(rl_addrs_touch(&l, "192.0.2.1", 100, 3), 1);
	ck_assert_int_eq(rl_addrs_touch(&l, "192.0.2.2", 200, 3), 1);
	/* Not older: unchanged; newer: updated. */
	ck_assert_int_eq(rl_addrs_touch(&l, "192.0.2.1", 50, 3), 0);
	ck_assert_int_eq(rl_addrs_time(&l, "192.0.2.1"), 100);
	ck_assert_int_eq(rl_addrs_touch(&l, "192.0.2.1", 300, 3), 1);
	ck_assert_int_eq(rl_addrs_time(&l, "192.0.2.1"), 300);
	ck_assert_int_eq(rl_addrs_time(&l, "192.0.2.9"), 0);
	ck_assert_int_eq(rl_addrs_newest(&l), 300);
	/* Full: the one seen longest ago (.2 at 200) makes room. */
	ck_assert_int_eq(rl_addrs_touch(&l, "192.0.2.3", 250, 3), 1);
	ck_assert_int_eq(rl_addrs_touch(&l, "192.0.2.4", 400, 3), 1);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_int_eq(rl_addrs_time(&l, "192.0.2.2"), 0);
	ck_assert_int_eq(rl_addrs_time(&l, "192.0.2.3"), 250);
	/* Many more, cap 3: never more than 3. */
	for (int i = 0; i < 1000; i++) {
		snprintf(addr, sizeof(addr), "10.0.%d.%d", i / 256, i % 256);
		ck_assert_int_eq(rl_addrs_touch(&l, addr, 1000 + i, 3), 1);
	}
	ck_assert_uint_eq(l.n, 3);
	ck_assert_uint_le(l.cap, 3);
	ck_assert_int_eq(rl_addrs_time(&l, "10.0.3.231"), 1999);
	rl_addrs_prune(&l, 1998);
	ck_assert_uint_eq(l.n, 1);
	rl_addrs_prune(&l, 1999);
	ck_assert_uint_eq(l.n, 0);
	ck_assert_int_eq(rl_addrs_newest(&l), 0);
	/* cap 0 keeps nothing. */
	ck_assert_int_eq(rl_addrs_touch(&l, "192.0.2.1", 1, 0), 0);
	ck_assert_uint_eq(l.n, 0);
	rl_addrs_free(&l);
}
END_TEST

START_TEST(test_login_serialise)
{
	struct rl_login l = { 0 }, back = { 0 };
	char buf[512];
	int len;

	ck_assert_int_eq(rl_login_newest(&l), 0);
	len = rl_login_format(&l, buf, sizeof(buf));
	ck_assert_int_eq(len, 1);
	ck_assert_int_eq(rl_login_parse(&back, buf, (size_t)len, 5, 5), 0);
	ck_assert_uint_eq(back.fails.n + back.addrs.n, 0);

	for (int i = 0; i < 4; i++)
		rl_fails_add(&l.fails, 1000 + i, 600000, 10);
	rl_addrs_touch(&l.addrs, "192.0.2.7", 1002, 8);
	rl_addrs_touch(&l.addrs, "2001:db8::/64", 1003, 8);
	ck_assert_int_eq(rl_login_newest(&l), 1003);
	len = rl_login_format(&l, buf, sizeof(buf));
	ck_assert_int_gt(len, 0);
	ck_assert_uint_le((size_t)len + 1, rl_login_format_size(&l));
	ck_assert_str_eq(buf, "1 f:1000 f:1001 f:1002 f:1003 a:192.0.2.7=1002"
			      " a:2001:db8::/64=1003");
	ck_assert_int_eq(rl_login_format(&l, buf, 20), -1);
	len = rl_login_format(&l, buf, sizeof(buf));

	/* Back, whole. */
	ck_assert_int_eq(rl_login_parse(&back, buf, (size_t)len, 10, 8), 0);
	ck_assert_uint_eq(back.fails.n, 4);
	ck_assert_int_eq(back.fails.t[3], 1003);
	ck_assert_int_eq(rl_addrs_time(&back.addrs, "2001:db8::/64"), 1003);
	rl_login_free(&back);
	/* Smaller caps keep the newest failures. */
	ck_assert_int_eq(rl_login_parse(&back, buf, (size_t)len, 2, 1), 0);
	ck_assert_uint_eq(back.fails.n, 2);
	ck_assert_int_eq(back.fails.t[0], 1002);
	ck_assert_uint_eq(back.addrs.n, 1);
	rl_login_free(&back);
	/* A limit turned off keeps no failures. */
	ck_assert_int_eq(rl_login_parse(&back, buf, (size_t)len, 0, 8), 0);
	ck_assert_uint_eq(back.fails.n, 0);
	ck_assert_uint_eq(back.addrs.n, 2);
	rl_login_free(&back);

	/* Malformed: refused, left empty. */
	static const char *const bad[] = {
		"", "2", "1x", "1 f:", "1 f:x", "1 f:10 f:9", "1 a:=5",
		"1 a:1.2.3.4", "1 a:1.2.3.4=", "1 z:1", "1  f:1", "1 f",
		"1 f:1234567890123456789",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(rl_login_parse(&back, bad[i], strlen(bad[i]), 5,
					     5) == -1, "%s", bad[i]);
		ck_assert_uint_eq(back.fails.n + back.addrs.n, 0);
	}
	rl_login_free(&l);
}
END_TEST

START_TEST(test_decide)
{
	struct rl_login_facts f = { .ip_limit = 10, .account_limit = 20 };

	ck_assert_int_eq(rl_login_decide(&f), RL_LOGIN_PASS);
	/* The address's own limit, whatever else. */
	f.ip_failures = 10;
	f.known = 1;
	ck_assert_int_eq(rl_login_decide(&f), RL_LOGIN_REFUSE_IP);
	f = (struct rl_login_facts){ .ip_limit = 10, .account_limit = 20,
				     .ip_failures = 9,
				     .account_failures = 19,
				     .failed_here = 1 };
	ck_assert_int_eq(rl_login_decide(&f), RL_LOGIN_PASS);
	/* Under attack: who failed is refused, who did not is slowed, who
	 * logged in lately passes (even if it failed too). */
	f.account_failures = 20;
	ck_assert_int_eq(rl_login_decide(&f), RL_LOGIN_REFUSE_ACCOUNT);
	f.failed_here = 0;
	ck_assert_int_eq(rl_login_decide(&f), RL_LOGIN_SLOW);
	f.known = 1;
	ck_assert_int_eq(rl_login_decide(&f), RL_LOGIN_PASS);
	f.failed_here = 1;
	ck_assert_int_eq(rl_login_decide(&f), RL_LOGIN_PASS);
	/* Limits of 0 are off. */
	f = (struct rl_login_facts){ .ip_failures = 1000,
				     .account_failures = 1000,
				     .failed_here = 1 };
	ck_assert_int_eq(rl_login_decide(&f), RL_LOGIN_PASS);
}
END_TEST

/* The account record as the module keeps it, through a distributed
 * attack: 200 addresses, each under its own limit, one guess each. */
START_TEST(test_distributed_attack)
{
	struct rl_login account = { 0 };
	struct rl_addrs known = { 0 };
	const uint32_t limit = 20;
	const int64_t window = 600000;
	int64_t now = 1000000;
	char addr[RL_ADDR_MAX];
	int refused = 0, slowed = 0;

	/* The owner logged in from home before the attack. */
	rl_addrs_touch(&known, "198.51.100.5", now, 32);
	for (int i = 0; i < 200; i++, now += 100) {
		snprintf(addr, sizeof(addr), "203.0.113.%d", i);
		struct rl_login_facts f = {
			.ip_failures = 0, .ip_limit = 10,
			.account_failures = rl_fails_count(&account.fails, now,
							   window),
			.account_limit = limit,
			.failed_here = rl_addrs_time(&account.addrs, addr) > 0,
			.known = rl_addrs_time(&known, addr) > 0,
		};
		enum rl_login_verdict v = rl_login_decide(&f);

		ck_assert_int_ne(v, RL_LOGIN_REFUSE_IP);
		ck_assert_int_ne(v, RL_LOGIN_REFUSE_ACCOUNT);
		slowed += v == RL_LOGIN_SLOW;
		/* The guess fails. */
		rl_fails_add(&account.fails, now, window, limit);
		rl_addrs_touch(&account.addrs, addr, now, 256);
		/* The same address again: refused once under attack. */
		f.account_failures = rl_fails_count(&account.fails, now,
						    window);
		f.failed_here = 1;
		refused += rl_login_decide(&f) == RL_LOGIN_REFUSE_ACCOUNT;
	}
	/* From the 20th failure on, every attacker address is slowed before
	 * its one guess and refused after it. */
	ck_assert_int_eq(slowed, 200 - 20);
	ck_assert_int_eq(refused, 200 - 19);
	/* The owner from home passes; from a new address, slowed only. */
	struct rl_login_facts owner = {
		.ip_limit = 10, .account_limit = limit,
		.account_failures = rl_fails_count(&account.fails, now, window),
		.known = rl_addrs_time(&known, "198.51.100.5") > 0,
	};
	ck_assert_int_eq(rl_login_decide(&owner), RL_LOGIN_PASS);
	owner.known = 0;
	ck_assert_int_eq(rl_login_decide(&owner), RL_LOGIN_SLOW);
	/* The attack stops; a window later the account is free again. */
	owner.account_failures = rl_fails_count(&account.fails, now + window,
						window);
	ck_assert_int_eq(rl_login_decide(&owner), RL_LOGIN_PASS);
	rl_login_free(&account);
	rl_addrs_free(&known);
}
END_TEST

START_TEST(test_lower_copy)
{
	char out[8];

	ck_assert_int_eq(rl_lower_copy(out, sizeof(out), "AbC@D"), 0);
	ck_assert_str_eq(out, "abc@d");
	ck_assert_int_eq(rl_lower_copy(out, sizeof(out), "1234567"), 0);
	ck_assert_int_eq(rl_lower_copy(out, sizeof(out), "12345678"), -1);
	ck_assert_int_eq(rl_lower_copy(out, sizeof(out), ""), -1);
	ck_assert_int_eq(rl_lower_copy(out, sizeof(out), NULL), -1);
}
END_TEST

Suite *rl_login_suite(void)
{
	Suite *s = suite_create("rl_login");
	TCase *tc = tcase_create("login");

	tcase_add_test(tc, test_client_key);
	tcase_add_test(tc, test_addrs);
	tcase_add_test(tc, test_login_serialise);
	tcase_add_test(tc, test_decide);
	tcase_add_test(tc, test_distributed_attack);
	tcase_add_test(tc, test_lower_copy);
	suite_add_tcase(s, tc);
	return s;
}
