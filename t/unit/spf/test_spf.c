/* spf.so's parts below the hooks: hostile input to the evaluation (long
 * labels, too many includes, include loops, odd macro characters, IPv6
 * clients, zone-file errors), the allow-lists, the header texts and the
 * answer cache. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spf_cache.h"
#include "spf_eval.h"
#include "spf_policy.h"

static struct spf_dns *zone_of(const char *const *lines)
{
	struct spf_dns *dns = NULL;
	char err[200];

	ck_assert_int_eq(spf_dns_new_zone(&dns), 0);
	for (; *lines != NULL; lines++)
		ck_assert_msg(spf_dns_zone_line(dns, *lines, err,
						sizeof(err)) == 0,
			      "%s: %s", *lines, err);
	ck_assert_int_eq(spf_dns_zone_done(dns), 0);
	return dns;
}

static enum spf_result check(struct spf_dns *dns, const char *ip,
			     const char *helo, const char *from,
			     struct spf_answer *a)
{
	struct spf_query q = { ip, helo, from, "mx.test" };

	spf_eval(dns, &q, a);
	return a->result;
}

/* ---- hostile input ---------------------------------------------------------- */

START_TEST(test_long_labels)
{
	const char *zone[] = { "ok.test TXT v=spf1 -all", NULL };
	struct spf_dns *dns = zone_of(zone);
	char from[700], label[301];
	struct spf_answer a;

	memset(label, 'a', 300);
	label[300] = '\0';
	snprintf(from, sizeof(from), "x@%s.ok.test", label);
	/* A 300-byte label is no DNS name: no record, never a crash. */
	ck_assert_int_eq(check(dns, "192.0.2.1", "h.test", from, &a),
			 SPF_RES_NONE);
	snprintf(from, sizeof(from), "x@%s.%s", label, label);
	check(dns, "192.0.2.1", label, from, &a);
	ck_assert_int_ne(a.result, SPF_RES_PASS);
	ck_assert_uint_lt(strlen(a.domain), SPF_DOMAIN_MAX);
	spf_dns_free(&dns);
}
END_TEST

START_TEST(test_include_limits)
{
	const char *zone[] = {
		"eleven.test TXT v=spf1 include:i1.test include:i2.test "
		"include:i3.test include:i4.test include:i5.test "
		"include:i6.test include:i7.test include:i8.test "
		"include:i9.test include:i10.test include:i11.test -all",
		"i1.test TXT v=spf1 -all", "i2.test TXT v=spf1 -all",
		"i3.test TXT v=spf1 -all", "i4.test TXT v=spf1 -all",
		"i5.test TXT v=spf1 -all", "i6.test TXT v=spf1 -all",
		"i7.test TXT v=spf1 -all", "i8.test TXT v=spf1 -all",
		"i9.test TXT v=spf1 -all", "i10.test TXT v=spf1 -all",
		"i11.test TXT v=spf1 ip4:192.0.2.1 -all",
		"twelve.test TXT v=spf1 include:i1.test include:i2.test "
		"include:i3.test include:i4.test include:i5.test "
		"include:i6.test include:i7.test include:i8.test "
		"include:i9.test include:i10.test include:i12.test "
		"include:i11.test -all",
		"i12.test TXT v=spf1 -all",
		"ten.test TXT v=spf1 include:i1.test include:i2.test "
		"include:i3.test include:i4.test include:i5.test "
		"include:i6.test include:i7.test include:i8.test "
		"include:i9.test include:i11.test -all",
		"self.test TXT v=spf1 include:self.test -all",
		"ping.test TXT v=spf1 include:pong.test -all",
		"pong.test TXT v=spf1 include:ping.test -all",
		"redir.test TXT v=spf1 redirect=redir.test",
		NULL,
	};
	struct spf_dns *dns = zone_of(zone);
	struct spf_answer a;

	/* 11 includes: over RFC 7208's limit of 10 DNS-querying terms, a
	 * permerror; libspf2 lets an 11th include through (its direct
	 * mechanisms are counted right; "include-over-limit" in
	 * rfc7208-expected-failures.txt), so this pins what it does: the
	 * 11th include's pass. Twelve are refused. */
	ck_assert_int_eq(check(dns, "192.0.2.1", "h.test", "x@eleven.test",
			       &a), SPF_RES_PASS);
	ck_assert_int_eq(check(dns, "192.0.2.1", "h.test", "x@twelve.test",
			       &a), SPF_RES_PERMERROR);
	ck_assert_str_ne(a.problem, "");
	ck_assert_int_eq(check(dns, "192.0.2.1", "h.test", "x@ten.test", &a),
			 SPF_RES_PASS);
	/* Loops of includes and redirects end in permerror. */
	ck_assert_int_eq(check(dns, "192.0.2.1", "h.test", "x@self.test",
			       &a), SPF_RES_PERMERROR);
	ck_assert_int_eq(check(dns, "192.0.2.1", "h.test", "x@ping.test",
			       &a), SPF_RES_PERMERROR);
	ck_assert_int_eq(check(dns, "192.0.2.1", "h.test", "x@redir.test",
			       &a), SPF_RES_PERMERROR);
	spf_dns_free(&dns);
}
END_TEST

START_TEST(test_odd_macros)
{
	const char *zone[] = {
		"m.test TXT v=spf1 exists:%{l}.%{d}.e.test -all",
		"r.test TXT v=spf1 exists:%{ir}.%{v}._spf.%{d2} -all",
		"bad.test TXT v=spf1 a:%{q}.test -all",
		"pct.test TXT v=spf1 a:%-%_%%.test -all",
		"x\\x20y.m.test.e.test A 127.0.0.2",
		NULL,
	};
	struct spf_dns *dns = zone_of(zone);
	struct spf_answer a;
	static const char *const locals[] = {
		"a\"b", "a(b)c", "a\\b", "%{l}", "a..b", "\xc3\xa9t\xc3\xa9",
		"a;b=c", "-", "",
	};

	/* %{l} goes into the name as it is: "x y" finds the A record. */
	ck_assert_int_eq(check(dns, "192.0.2.1", "h.test", "x y@m.test", &a),
			 SPF_RES_PASS);
	for (size_t i = 0; i < sizeof(locals) / sizeof(locals[0]); i++) {
		char from[64];

		snprintf(from, sizeof(from), "%s@m.test", locals[i]);
		check(dns, "192.0.2.1", "h.test", from, &a);
		ck_assert_int_ne(a.result, SPF_RES_PASS);
		ck_assert_int_ne(a.result, SPF_RES_TEMPERROR);
	}
	ck_assert_int_eq(check(dns, "192.0.2.1", "h.test", "x@r.test", &a),
			 SPF_RES_FAIL);
	ck_assert_int_eq(check(dns, "192.0.2.1", "h.test", "x@bad.test", &a),
			 SPF_RES_PERMERROR);
	check(dns, "192.0.2.1", "h.test", "x@pct.test", &a);
	ck_assert_int_ne(a.result, SPF_RES_PASS);
	spf_dns_free(&dns);
}
END_TEST

START_TEST(test_ipv6_helo_timeout)
{
	const char *zone[] = {
		"six.test TXT v=spf1 ip6:2001:db8::/32 -all",
		"helo.test TXT v=spf1 a -all", "helo.test A 192.0.2.9",
		"down.test TIMEOUT",
		"alias.test CNAME six.test.",
		NULL,
	};
	struct spf_dns *dns = zone_of(zone);
	struct spf_answer a;

	ck_assert_int_eq(check(dns, "2001:db8::25", "h.test", "x@six.test",
			       &a), SPF_RES_PASS);
	ck_assert_int_eq(check(dns, "2001:db9::25", "h.test", "x@six.test",
			       &a), SPF_RES_FAIL);
	ck_assert_int_eq(check(dns, "192.0.2.1", "h.test", "x@six.test", &a),
			 SPF_RES_FAIL);
	ck_assert_int_eq(check(dns, "2001:db8::1", "h", "x@alias.test", &a),
			 SPF_RES_PASS);
	/* The null sender: the HELO name is the identity. */
	ck_assert_int_eq(check(dns, "192.0.2.9", "helo.test", "", &a),
			 SPF_RES_PASS);
	ck_assert_int_eq(a.helo_identity, 1);
	ck_assert_str_eq(a.domain, "helo.test");
	ck_assert_int_eq(check(dns, "::ffff:192.0.2.9", "helo.test", "", &a),
			 SPF_RES_PASS);
	ck_assert_int_eq(check(dns, "192.0.2.8", "helo.test", "", &a),
			 SPF_RES_FAIL);
	ck_assert_int_eq(check(dns, "192.0.2.8", NULL, "", &a), SPF_RES_NONE);
	ck_assert_int_eq(check(dns, "192.0.2.8", "h", "x@down.test", &a),
			 SPF_RES_TEMPERROR);
	ck_assert_int_eq(check(dns, "192.0.2.8", "h", "x@nowhere.test", &a),
			 SPF_RES_NONE);
	spf_dns_free(&dns);
}
END_TEST

START_TEST(test_zone_errors)
{
	struct spf_dns *dns = NULL;
	char err[200];

	ck_assert_int_eq(spf_dns_new_zone(&dns), 0);
	ck_assert_int_eq(spf_dns_zone_line(dns, "# comment", err, 200), 0);
	ck_assert_int_eq(spf_dns_zone_line(dns, "   ", err, 200), 0);
	ck_assert_int_eq(spf_dns_zone_line(dns, "a.test BOGUS x", err, 200),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "BOGUS"));
	ck_assert_int_eq(spf_dns_zone_line(dns, "a.test A 1.2.3", err, 200),
			 -EINVAL);
	ck_assert_int_eq(spf_dns_zone_line(dns, "a.test AAAA 1.2.3.4", err,
					   200), -EINVAL);
	ck_assert_int_eq(spf_dns_zone_line(dns, "a.test MX host", err, 200),
			 -EINVAL);
	ck_assert_int_eq(spf_dns_zone_line(dns, "a.test DELAY 99999999", err,
					   200), -EINVAL);
	ck_assert_int_eq(spf_dns_zone_line(dns, "a.test TXT bad\\q", err,
					   200), -EINVAL);
	ck_assert_int_eq(spf_dns_zone_line(dns, "a.test TIMEOUT x", err, 200),
			 -EINVAL);
	spf_dns_free(&dns);
	ck_assert_ptr_null(dns);
	ck_assert_int_eq(spf_dns_load_file("/nonexistent/zone", &dns, err,
					   sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/zone"));
}
END_TEST

/* ---- allow-lists, headers, cache ----------------------------------------- */

START_TEST(test_nets)
{
	struct spf_net *nets = NULL;
	char bad[64];
	int n = spf_net_parse_list("127.0.0.0/8, ::1 192.0.2.7,2001:db8::/33",
				   &nets, bad, sizeof(bad));

	ck_assert_int_eq(n, 4);
	ck_assert_int_eq(spf_net_match(nets, n, "127.1.2.3"), 1);
	ck_assert_int_eq(spf_net_match(nets, n, "::ffff:127.0.0.1"), 1);
	ck_assert_int_eq(spf_net_match(nets, n, "128.0.0.1"), 0);
	ck_assert_int_eq(spf_net_match(nets, n, "192.0.2.7"), 1);
	ck_assert_int_eq(spf_net_match(nets, n, "192.0.2.8"), 0);
	ck_assert_int_eq(spf_net_match(nets, n, "::1"), 1);
	ck_assert_int_eq(spf_net_match(nets, n, "::2"), 0);
	ck_assert_int_eq(spf_net_match(nets, n, "2001:db8:7fff::1"), 1);
	ck_assert_int_eq(spf_net_match(nets, n, "2001:db8:8000::1"), 0);
	ck_assert_int_eq(spf_net_match(nets, n, "not-an-ip"), 0);
	free(nets);
	ck_assert_int_eq(spf_net_parse_list("", &nets, bad, sizeof(bad)), 0);
	ck_assert_int_eq(spf_net_parse_list("10.0.0.0/33", &nets, bad,
					    sizeof(bad)), -EINVAL);
	ck_assert_str_eq(bad, "10.0.0.0/33");
	ck_assert_int_eq(spf_net_parse_list("1.2.3.4, x", &nets, bad,
					    sizeof(bad)), -EINVAL);
	ck_assert_str_eq(bad, "x");
}
END_TEST

START_TEST(test_domains)
{
	const char *list = "fwd.test, Backup.Example";

	ck_assert_int_eq(spf_domain_listed(list, "fwd.test"), 1);
	ck_assert_int_eq(spf_domain_listed(list, "FWD.test"), 1);
	ck_assert_int_eq(spf_domain_listed(list, "a.b.backup.example"), 1);
	ck_assert_int_eq(spf_domain_listed(list, "xfwd.test"), 0);
	ck_assert_int_eq(spf_domain_listed(list, "test"), 0);
	ck_assert_int_eq(spf_domain_listed(list, ""), 0);
	ck_assert_int_eq(spf_domain_listed(list, NULL), 0);
	ck_assert_int_eq(spf_domain_listed("", "fwd.test"), 0);
}
END_TEST

START_TEST(test_headers)
{
	struct spf_header_info info = {
		.hostname = "mx.test",
		.client_ip = "192.0.2.1",
		.helo = "he\"lo",
		.mail_from = "a(\"b\\\r\n\x01\xff)@x.test",
	};
	struct spf_answer a = { .result = SPF_RES_PERMERROR };
	char buf[1400];

	snprintf(a.problem, sizeof(a.problem), "Syntax \"error\"\n");
	spf_received_value(buf, sizeof(buf), &info, &a);
	ck_assert_str_eq(buf,
			 "permerror (mx.test: domain of a\\(\"b\\\\\?\?\?\?\\)@x.test "
			 "has an invalid SPF record) client-ip=192.0.2.1; "
			 "envelope-from=\"a(\\\"b\\\\\?\?\?\?)@x.test\"; "
			 "helo=\"he\\\"lo\"; receiver=mx.test; "
			 "identity=mailfrom; problem=\"Syntax \\\"error\\\"?\";");
	ck_assert_ptr_null(strpbrk(buf, "\r\n"));
	spf_auth_results_value(buf, sizeof(buf), &info, &a);
	ck_assert_str_eq(buf, "mx.test; spf=permerror "
			 "smtp.mailfrom=\"a(\\\"b\\\\\?\?\?\?)@x.test\"");
	info.mail_from = "";
	info.helo = "helo.test";
	a.result = SPF_RES_PASS;
	a.helo_identity = 1;
	spf_received_value(buf, sizeof(buf), &info, &a);
	ck_assert_str_eq(buf, "pass (mx.test: domain of postmaster@helo.test "
			 "designates 192.0.2.1 as permitted sender) "
			 "client-ip=192.0.2.1; envelope-from=\"\"; "
			 "helo=\"helo.test\"; receiver=mx.test; identity=helo;");
	spf_auth_results_value(buf, sizeof(buf), &info, &a);
	ck_assert_str_eq(buf, "mx.test; spf=pass smtp.helo=\"helo.test\"");
	/* Cut to the buffer, always terminated. */
	spf_received_value(buf, 20, &info, &a);
	ck_assert_uint_eq(strlen(buf), 19);
}
END_TEST

START_TEST(test_cache)
{
	struct spf_cache *c = NULL;
	struct spf_answer a = { .result = SPF_RES_FAIL }, got;
	char key[64], big[8];

	ck_assert_int_eq(spf_cache_new(2, &c), 0);
	spf_cache_key(key, sizeof(key), "192.0.2.1", "h", "x@y.test");
	ck_assert_int_eq(spf_cache_get(c, key, 100, &got), 0);
	ck_assert_int_eq(spf_cache_put(c, key, &a, 100, 200), 0);
	ck_assert_int_eq(spf_cache_get(c, key, 199, &got), 1);
	ck_assert_int_eq(got.result, SPF_RES_FAIL);
	ck_assert_int_eq(spf_cache_get(c, key, 200, &got), 0);
	/* Full: expired entries go first, then everything. */
	ck_assert_int_eq(spf_cache_put(c, "k2", &a, 100, 150), 0);
	ck_assert_int_eq(spf_cache_put(c, "k3", &a, 160, 300), 0);
	ck_assert_uint_eq(spf_cache_count(c), 2);
	ck_assert_int_eq(spf_cache_get(c, key, 160, &got), 1);
	ck_assert_int_eq(spf_cache_put(c, "k4", &a, 170, 300), 0);
	ck_assert_uint_eq(spf_cache_count(c), 1);
	/* A key that does not fit is never cached. */
	spf_cache_key(big, sizeof(big), "192.0.2.1", "h", "x@y.test");
	ck_assert_str_eq(big, "");
	ck_assert_int_eq(spf_cache_put(c, big, &a, 170, 300), 0);
	ck_assert_int_eq(spf_cache_get(c, big, 170, &got), 0);
	spf_cache_free(&c);
	ck_assert_ptr_null(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("spf");
	TCase *tc = tcase_create("eval");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_long_labels);
	tcase_add_test(tc, test_include_limits);
	tcase_add_test(tc, test_odd_macros);
	tcase_add_test(tc, test_ipv6_helo_timeout);
	tcase_add_test(tc, test_zone_errors);
	suite_add_tcase(s, tc);
	tc = tcase_create("policy");
	tcase_add_test(tc, test_nets);
	tcase_add_test(tc, test_domains);
	tcase_add_test(tc, test_headers);
	tcase_add_test(tc, test_cache);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
