/* Command syntax: verbs, MAIL FROM / RCPT TO paths and parameters. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "smtp_parse.h"
#include "test_smtp.h"

static enum smtp_parse_result mail(const char *arg, struct smtp_mail_args *m)
{
	return smtp_parse_mail(arg, strlen(arg), m);
}

static enum smtp_parse_result rcpt(const char *arg, struct smtp_rcpt_args *r)
{
	return smtp_parse_rcpt(arg, strlen(arg), r);
}

/* MAIL with this argument parses and yields address. */
static void mail_ok(const char *arg, const char *address)
{
	struct smtp_mail_args m;

	ck_assert_msg(mail(arg, &m) == SMTP_PARSE_OK, "MAIL %s", arg);
	ck_assert_str_eq(m.path.address, address);
	ck_assert_uint_eq(m.path.len, strlen(address));
}

static void mail_bad(const char *arg, enum smtp_parse_result want)
{
	struct smtp_mail_args m;

	ck_assert_msg(mail(arg, &m) == want, "MAIL %s: got %d want %d", arg,
		      mail(arg, &m), want);
}

START_TEST(verbs)
{
	const char *arg;
	size_t arg_len;

	ck_assert_uint_eq(smtp_parse_verb("EHLO foo", 8, &arg, &arg_len), 4);
	ck_assert_uint_eq(arg_len, 3);
	ck_assert_int_eq(memcmp(arg, "foo", 3), 0);
	ck_assert_uint_eq(smtp_parse_verb("NOOP", 4, &arg, &arg_len), 4);
	ck_assert_uint_eq(arg_len, 0);
	ck_assert_uint_eq(smtp_parse_verb("quit", 4, &arg, &arg_len), 4);
	/* Extra blanks between verb and argument, trailing blanks. */
	ck_assert_uint_eq(smtp_parse_verb("MAIL   FROM:<>  \t", 17, &arg,
					  &arg_len), 4);
	ck_assert_uint_eq(arg_len, 7);
	ck_assert_int_eq(memcmp(arg, "FROM:<>", 7), 0);
	ck_assert_uint_eq(smtp_parse_verb("RSET ", 5, &arg, &arg_len), 4);
	ck_assert_uint_eq(arg_len, 0);
	/* Garbage. */
	ck_assert_uint_eq(smtp_parse_verb("", 0, &arg, &arg_len), 0);
	ck_assert_uint_eq(smtp_parse_verb(" EHLO x", 7, &arg, &arg_len), 0);
	ck_assert_uint_eq(smtp_parse_verb("EH1O x", 6, &arg, &arg_len), 0);
	ck_assert_uint_eq(smtp_parse_verb("QUIT\t", 5, &arg, &arg_len), 0);
	ck_assert_uint_eq(smtp_parse_verb("\x80\x81", 2, &arg, &arg_len), 0);
	ck_assert_uint_eq(smtp_parse_verb("DATA\0x", 6, &arg, &arg_len), 0);
}
END_TEST

START_TEST(mail_paths)
{
	mail_ok("FROM:<user@example.org>", "user@example.org");
	mail_ok("from:<user@example.org>", "user@example.org");
	mail_ok("FROM: <user@example.org>", "user@example.org");
	mail_ok("FROM:<>", "");
	mail_ok("FROM:<User.Name+tag@Example.ORG>", "User.Name+tag@example.org");
	mail_ok("FROM:<a!#$%&'*+-/=?^_`{|}~@x.y>", "a!#$%&'*+-/=?^_`{|}~@x.y");
	/* Quoted local parts: unneeded quotes go, needed ones stay. */
	mail_ok("FROM:<\"john\"@example.org>", "john@example.org");
	mail_ok("FROM:<\"john doe\"@example.org>", "\"john doe\"@example.org");
	mail_ok("FROM:<\"a\\\"b\"@x.org>", "\"a\\\"b\"@x.org");
	mail_ok("FROM:<\"a\\b\"@x.org>", "ab@x.org");
	mail_ok("FROM:<\"a@b\"@x.org>", "\"a@b\"@x.org");
	mail_ok("FROM:<\"a..b\"@x.org>", "\"a..b\"@x.org");
	/* Source routes are accepted and dropped. */
	mail_ok("FROM:<@a.org,@b.org:u@c.org>", "u@c.org");
	mail_ok("FROM:<u@[192.0.2.1]>", "u@[192.0.2.1]");
	mail_ok("FROM:<u@[IPv6:2001:DB8::1]>", "u@[ipv6:2001:db8::1]");
	mail_ok("FROM:<u@x-y.example>", "u@x-y.example");

	struct smtp_mail_args m;
	ck_assert_int_eq(mail("FROM:<u@Example.org>", &m), SMTP_PARSE_OK);
	ck_assert_uint_eq(m.path.domain_off, 2);
	ck_assert_int_eq(m.path.utf8, 0);
	ck_assert_int_eq(mail("FROM:<\"x y\"@d.org>", &m), SMTP_PARSE_OK);
	ck_assert_str_eq(m.path.address + m.path.domain_off, "d.org");
	ck_assert_int_eq(mail("FROM:<>", &m), SMTP_PARSE_OK);
	ck_assert_uint_eq(m.path.len, 0);
}
END_TEST

START_TEST(mail_bad_paths)
{
	mail_bad("", SMTP_PARSE_SYNTAX);
	mail_bad("FROM", SMTP_PARSE_SYNTAX);
	mail_bad("FROM:", SMTP_PARSE_SYNTAX);
	mail_bad("FROM <a@b.c>", SMTP_PARSE_SYNTAX);
	mail_bad("TO:<a@b.c>", SMTP_PARSE_SYNTAX);
	mail_bad("FROM:a@b.c", SMTP_PARSE_SYNTAX);
	mail_bad("FROM:<a@b.c>x", SMTP_PARSE_SYNTAX);
	mail_bad("FROM:<a@b.c> =x", SMTP_PARSE_SYNTAX);
	mail_bad("FROM:<a@b.c", SMTP_PARSE_ADDRESS);
	mail_bad("FROM:<a@b.c>>", SMTP_PARSE_SYNTAX);
	mail_bad("FROM:<a>", SMTP_PARSE_ADDRESS);
	mail_bad("FROM:<postmaster>", SMTP_PARSE_ADDRESS);
	mail_bad("FROM:<a@>", SMTP_PARSE_ADDRESS);
	mail_bad("FROM:<@b.c>", SMTP_PARSE_ADDRESS);
	mail_bad("FROM:<.a@b.c>", SMTP_PARSE_ADDRESS);
	mail_bad("FROM:<a.@b.c>", SMTP_PARSE_ADDRESS);
	mail_bad("FROM:<a..b@b.c>", SMTP_PARSE_ADDRESS);
	mail_bad("FROM:<a b@b.c>", SMTP_PARSE_ADDRESS);
	mail_bad("FROM:<a@b..c>", SMTP_PARSE_ADDRESS);
	mail_bad("FROM:<a@-b.c>", SMTP_PARSE_ADDRESS);
	mail_bad("FROM:<a@b-.c>", SMTP_PARSE_ADDRESS);
	mail_bad("FROM:<a@b.c.>", SMTP_PARSE_ADDRESS);
	mail_bad("FROM:<a@b_c.d>", SMTP_PARSE_ADDRESS);
	mail_bad("FROM:<a@[]>", SMTP_PARSE_ADDRESS);
	mail_bad("FROM:<a@[1.2.3.4>", SMTP_PARSE_ADDRESS);
	mail_bad("FROM:<\"\"@b.c>", SMTP_PARSE_ADDRESS);
	mail_bad("FROM:<\"abc@b.c>", SMTP_PARSE_ADDRESS);
	mail_bad("FROM:<\"a\tb\"@b.c>", SMTP_PARSE_ADDRESS);
	mail_bad("FROM:<\"a\\\"@b.c>", SMTP_PARSE_ADDRESS);
	mail_bad("FROM:<a@b@c.d>", SMTP_PARSE_ADDRESS);
	mail_bad("FROM:<@a.org:>", SMTP_PARSE_ADDRESS);
	mail_bad("FROM:<@a.org,u@c.org>", SMTP_PARSE_ADDRESS);
	/* Bad UTF-8: a lone continuation, an overlong, a surrogate. */
	mail_bad("FROM:<\x80@b.c>", SMTP_PARSE_ADDRESS);
	mail_bad("FROM:<\xc0\xaf@b.c>", SMTP_PARSE_ADDRESS);
	mail_bad("FROM:<\xed\xa0\x80@b.c>", SMTP_PARSE_ADDRESS);
	mail_bad("FROM:<a@b\xc3>", SMTP_PARSE_ADDRESS);

	/* NUL inside the argument. */
	struct smtp_mail_args m;
	ck_assert_int_eq(smtp_parse_mail("FROM:<a\0@b.c>", 13, &m),
			 SMTP_PARSE_SYNTAX);
}
END_TEST

START_TEST(mail_overlong)
{
	char arg[2048], *p = arg;
	struct smtp_mail_args m;

	/* A local part that makes the address one byte too long. */
	p += sprintf(p, "FROM:<");
	memset(p, 'a', SMTP_ADDRESS_MAX - 4);
	p += SMTP_ADDRESS_MAX - 4;
	strcpy(p, "@b.cd>");
	ck_assert_int_eq(mail(arg, &m), SMTP_PARSE_ADDRESS);
	/* One byte shorter: exactly the maximum. */
	memmove(arg + 6, arg + 7, strlen(arg + 7) + 1);
	ck_assert_int_eq(mail(arg, &m), SMTP_PARSE_OK);
	ck_assert_uint_eq(m.path.len, SMTP_ADDRESS_MAX);

	/* A domain longer than 255 bytes. */
	p = arg + sprintf(arg, "FROM:<a@");
	for (int i = 0; i < 26; i++)
		p += sprintf(p, "abcdefghi.");
	strcpy(p, "org>");
	ck_assert_int_eq(mail(arg, &m), SMTP_PARSE_ADDRESS);
}
END_TEST

START_TEST(mail_utf8)
{
	struct smtp_mail_args m;

	ck_assert_int_eq(mail("FROM:<\xce\xb4\xce\xbf@\xce\xA0\xce\xb1.gr> "
			      "SMTPUTF8", &m), SMTP_PARSE_OK);
	ck_assert_int_eq(m.path.utf8, 1);
	ck_assert_int_eq(m.smtputf8, 1);
	ck_assert_str_eq(m.path.address, "\xce\xb4\xce\xbf@\xce\xA0\xce\xb1.gr");
	/* Non-ASCII in a quoted local part too. */
	ck_assert_int_eq(mail("FROM:<\"j\xc3\xb6 x\"@d.org>", &m),
			 SMTP_PARSE_OK);
	ck_assert_int_eq(m.path.utf8, 1);
	ck_assert_int_eq(m.smtputf8, 0);
}
END_TEST

START_TEST(mail_params)
{
	struct smtp_mail_args m;

	ck_assert_int_eq(mail("FROM:<a@b.c> SIZE=1000", &m), SMTP_PARSE_OK);
	ck_assert_int_eq(m.has_size, 1);
	ck_assert_uint_eq(m.size, 1000);
	ck_assert_int_eq(mail("FROM:<a@b.c>  size=0 body=8bitmime smtputf8 "
			      "AUTH=<>", &m), SMTP_PARSE_OK);
	ck_assert_uint_eq(m.size, 0);
	ck_assert_int_eq(m.body, SMTP_BODY_8BITMIME);
	ck_assert_int_eq(m.smtputf8, 1);
	ck_assert_int_eq(mail("FROM:<> BODY=7BIT AUTH=a+2Bb@c", &m),
			 SMTP_PARSE_OK);
	ck_assert_int_eq(m.body, SMTP_BODY_7BIT);
	ck_assert_int_eq(m.has_size, 0);
	/* 20 digits saturate; 21 are refused. */
	ck_assert_int_eq(mail("FROM:<> SIZE=99999999999999999999", &m),
			 SMTP_PARSE_OK);
	ck_assert_uint_eq(m.size, UINT64_MAX);
	ck_assert_int_eq(mail("FROM:<> SIZE=18446744073709551615", &m),
			 SMTP_PARSE_OK);
	ck_assert_uint_eq(m.size, UINT64_MAX);
	ck_assert_int_eq(mail("FROM:<> SIZE=18446744073709551614", &m),
			 SMTP_PARSE_OK);
	ck_assert_uint_eq(m.size, UINT64_MAX - 1);
	mail_bad("FROM:<> SIZE=999999999999999999999", SMTP_PARSE_PARAM_VALUE);

	mail_bad("FROM:<> SIZE", SMTP_PARSE_PARAM_VALUE);
	mail_bad("FROM:<> SIZE=", SMTP_PARSE_SYNTAX);
	mail_bad("FROM:<> SIZE=12a", SMTP_PARSE_PARAM_VALUE);
	mail_bad("FROM:<> SIZE=-1", SMTP_PARSE_PARAM_VALUE);
	mail_bad("FROM:<> SIZE=1 SIZE=2", SMTP_PARSE_PARAM_VALUE);
	mail_bad("FROM:<> BODY=BINARYMIME", SMTP_PARSE_PARAM_VALUE);
	mail_bad("FROM:<> BODY", SMTP_PARSE_PARAM_VALUE);
	mail_bad("FROM:<> BODY=7BIT BODY=7BIT", SMTP_PARSE_PARAM_VALUE);
	mail_bad("FROM:<> SMTPUTF8=yes", SMTP_PARSE_PARAM_VALUE);
	mail_bad("FROM:<> AUTH=a+2", SMTP_PARSE_PARAM_VALUE);
	mail_bad("FROM:<> AUTH=a+zz", SMTP_PARSE_PARAM_VALUE);
	mail_bad("FROM:<> -X", SMTP_PARSE_SYNTAX);
	mail_bad("FROM:<> X=a=b", SMTP_PARSE_SYNTAX);

	ck_assert_int_eq(mail("FROM:<a@b.c> RET=HDRS", &m),
			 SMTP_PARSE_PARAM_UNKNOWN);
	ck_assert_str_eq(m.bad_param, "RET");
	ck_assert_int_eq(mail("FROM:<a@b.c> SIZE=1 X-Very-Long-Parameter-Name-"
			      "That-Goes-On-And-On", &m),
			 SMTP_PARSE_PARAM_UNKNOWN);
	ck_assert_uint_eq(strlen(m.bad_param), SMTP_PARAM_NAME_MAX);
	ck_assert_int_eq(mail("FROM:<a@b.c> SIZE=x", &m),
			 SMTP_PARSE_PARAM_VALUE);
	ck_assert_str_eq(m.bad_param, "SIZE");
}
END_TEST

START_TEST(rcpt_paths)
{
	struct smtp_rcpt_args r;

	ck_assert_int_eq(rcpt("TO:<User@Example.org>", &r), SMTP_PARSE_OK);
	ck_assert_str_eq(r.path.address, "User@example.org");
	ck_assert_str_eq(r.path.address + r.path.domain_off, "example.org");
	ck_assert_int_eq(rcpt("to: <u@d.org>", &r), SMTP_PARSE_OK);
	/* <postmaster> alone is allowed (RFC 5321 4.5.1), any case. */
	ck_assert_int_eq(rcpt("TO:<PostMaster>", &r), SMTP_PARSE_OK);
	ck_assert_str_eq(r.path.address, "postmaster");
	ck_assert_uint_eq(r.path.domain_off, r.path.len);
	ck_assert_int_eq(rcpt("TO:<postmaster@d.org>", &r), SMTP_PARSE_OK);
	ck_assert_str_eq(r.path.address, "postmaster@d.org");

	ck_assert_int_eq(rcpt("TO:<>", &r), SMTP_PARSE_ADDRESS);
	ck_assert_int_eq(rcpt("TO:<postmasterx>", &r), SMTP_PARSE_ADDRESS);
	ck_assert_int_eq(rcpt("TO:<u>", &r), SMTP_PARSE_ADDRESS);
	ck_assert_int_eq(rcpt("FROM:<u@d.org>", &r), SMTP_PARSE_SYNTAX);
	ck_assert_int_eq(rcpt("TO:u@d.org", &r), SMTP_PARSE_SYNTAX);
	ck_assert_int_eq(rcpt("TO:", &r), SMTP_PARSE_SYNTAX);
	ck_assert_int_eq(rcpt("TO:<u@d.org> NOTIFY=NEVER", &r),
			 SMTP_PARSE_PARAM_UNKNOWN);
	ck_assert_str_eq(r.bad_param, "NOTIFY");
	ck_assert_int_eq(rcpt("TO:<u@d.org> SIZE=1", &r),
			 SMTP_PARSE_PARAM_UNKNOWN);
	ck_assert_int_eq(rcpt("TO:<u@d.org>  ", &r), SMTP_PARSE_OK);
}
END_TEST

START_TEST(config_address)
{
	struct smtp_path p;

	ck_assert_int_eq(smtp_parse_address("Alice@Example.TEST", 18, &p),
			 SMTP_PARSE_OK);
	ck_assert_str_eq(p.address, "Alice@example.test");
	ck_assert_str_eq(p.address + p.domain_off, "example.test");
	ck_assert_int_eq(smtp_parse_address("\"a\"@d.org", 9, &p),
			 SMTP_PARSE_OK);
	ck_assert_str_eq(p.address, "a@d.org");
	static const char *const bad[] = {
		"", "alice", "<a@d.org>", "a@d.org>", "@r.org:a@d.org",
		"a@d.org x", "a b@d.org", "a@", "@d.org", "a@d.org\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(smtp_parse_address(bad[i], strlen(bad[i]), &p) ==
				      SMTP_PARSE_ADDRESS, "%s", bad[i]);
		ck_assert_str_eq(p.address, "");
	}
	ck_assert_int_eq(smtp_parse_address("a@d\0.org", 8, &p),
			 SMTP_PARSE_ADDRESS);
	static char huge[SMTP_ADDRESS_MAX + 8];
	memset(huge, 'a', sizeof(huge) - 1);
	memcpy(huge + sizeof(huge) - 7, "@d.org", 6);
	ck_assert_int_eq(smtp_parse_address(huge, strlen(huge), &p),
			 SMTP_PARSE_ADDRESS);
}
END_TEST

/* Found by fuzz_smtp (t/fuzz/corpus/smtp/crash-address-end): the end of
 * the "<...>" buffer was computed from len before len was checked, so an
 * overlong input formed a pointer far past the buffer (undefined even
 * unused). With a length that wraps the pointer, UBSan's pointer-overflow
 * check sees it in this gcc build too. */
START_TEST(config_address_overlong_end)
{
	struct smtp_path p;

	ck_assert_int_eq(smtp_parse_address("a@d.org", SIZE_MAX / 2, &p),
			 SMTP_PARSE_ADDRESS);
	ck_assert_int_eq(smtp_parse_address("a@d.org", SIZE_MAX, &p),
			 SMTP_PARSE_ADDRESS);
	ck_assert_str_eq(p.address, "");
}
END_TEST

START_TEST(postmaster_target)
{
	struct smtp_path p;

	/* Configured: that address, normalized. */
	ck_assert_int_eq(smtp_postmaster_path("Hostmaster@Example.TEST",
					      "mail.example.test", &p), 0);
	ck_assert_str_eq(p.address, "Hostmaster@example.test");
	ck_assert_str_eq(p.address + p.domain_off, "example.test");
	ck_assert_int_eq(smtp_postmaster_path("x@remote.test", NULL, &p), 0);
	ck_assert_str_eq(p.address, "x@remote.test");
	/* Unset or empty: postmaster@ the host name. */
	ck_assert_int_eq(smtp_postmaster_path(NULL, "Mail.Example.Test", &p),
			 0);
	ck_assert_str_eq(p.address, "postmaster@mail.example.test");
	ck_assert_str_eq(p.address + p.domain_off, "mail.example.test");
	ck_assert_int_eq(smtp_postmaster_path("", "localhost", &p), 0);
	ck_assert_str_eq(p.address, "postmaster@localhost");
	/* Nothing usable. */
	ck_assert_int_eq(smtp_postmaster_path(NULL, "", &p), -1);
	ck_assert_int_eq(smtp_postmaster_path(NULL, NULL, &p), -1);
	ck_assert_int_eq(smtp_postmaster_path("nodomain", "h.org", &p), -1);
	static char huge[SMTP_ADDRESS_MAX + 8];
	memset(huge, 'h', sizeof(huge) - 1);
	ck_assert_int_eq(smtp_postmaster_path(NULL, huge, &p), -1);
}
END_TEST

START_TEST(helo)
{
	ck_assert_int_eq(smtp_parse_helo("mail.example.org", 16), 1);
	ck_assert_int_eq(smtp_parse_helo("[192.0.2.1]", 11), 1);
	ck_assert_int_eq(smtp_parse_helo("", 0), 0);
	ck_assert_int_eq(smtp_parse_helo("a b", 3), 0);
	ck_assert_int_eq(smtp_parse_helo("a\x01", 2), 0);
	ck_assert_int_eq(smtp_parse_helo("a\xc3\xa9", 3), 0);

	char name[SMTP_DOMAIN_MAX + 1];
	memset(name, 'a', sizeof(name));
	ck_assert_int_eq(smtp_parse_helo(name, SMTP_DOMAIN_MAX), 1);
	ck_assert_int_eq(smtp_parse_helo(name, SMTP_DOMAIN_MAX + 1), 0);
}
END_TEST

Suite *smtp_parse_suite(void)
{
	Suite *s = suite_create("smtp_parse");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, verbs);
	tcase_add_test(tc, mail_paths);
	tcase_add_test(tc, mail_bad_paths);
	tcase_add_test(tc, mail_overlong);
	tcase_add_test(tc, mail_utf8);
	tcase_add_test(tc, mail_params);
	tcase_add_test(tc, rcpt_paths);
	tcase_add_test(tc, config_address);
	tcase_add_test(tc, config_address_overlong_end);
	tcase_add_test(tc, postmaster_target);
	tcase_add_test(tc, helo);
	suite_add_tcase(s, tc);
	return s;
}
