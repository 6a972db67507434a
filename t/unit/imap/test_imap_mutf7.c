/* Modified UTF-7: RFC examples, every rejection, random round-trips. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "imap_mutf7.h"
#include "test_imap.h"

static struct imap_buf out;

static void setup(void)
{
	imap_buf_init(&out, 0);
}

static void teardown(void)
{
	imap_buf_free(&out);
}

static const char *enc_n(const char *s, size_t len)
{
	imap_buf_clear(&out);
	if (imap_utf8_to_mutf7(s, len, &out) < 0)
		return "EINVAL";
	return out.len == 0 ? "" : out.data;
}

static const char *enc(const char *s)
{
	return enc_n(s, strlen(s));
}

static const char *dec(const char *s)
{
	imap_buf_clear(&out);
	if (imap_mutf7_to_utf8(s, strlen(s), &out) < 0)
		return "EINVAL";
	return out.len == 0 ? "" : out.data;
}

/* Pairs that must convert both ways. */
static const char *const pairs[][2] = {
	{ "INBOX", "INBOX" },
	{ "", "" },
	{ "&", "&-" },
	{ "a&&b", "a&-&-b" },
	{ "\xc3\xa4", "&AOQ-" },
	{ "Entw\xc3\xbcrfe", "Entw&APw-rfe" },
	{ "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/"
	  "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	  "~peter/mail/&U,BTFw-/&ZeVnLIqe-" },
	{ "\xf0\x9f\x98\x80", "&2D3eAA-" },
	{ "\xc3\xa4\xf0\x9f\x98\x80x", "&AOTYPd4A-x" },
	{ "\t", "&AAk-" },
	{ "\x7f", "&AH8-" },
	{ "\xc3\xa4&", "&AOQ-&-" },
	{ "&\xc3\xa4", "&-&AOQ-" },
};

START_TEST(known_pairs)
{
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		ck_assert_str_eq(enc(pairs[i][0]), pairs[i][1]);
		ck_assert_str_eq(dec(pairs[i][1]), pairs[i][0]);
	}
	/* NUL is a character like any other control. */
	ck_assert_str_eq(enc_n("a\0", 2), "a&AAA-");
	ck_assert_int_eq(imap_mutf7_to_utf8("&AAA-", 5, &out), 0);
}
END_TEST

START_TEST(bad_utf8)
{
	static const char *const bad[] = {
		"\xc3", "a\xc3", "\xc3(", "\x80", "\xbf", "\xc0\xaf",
		"\xc1\xbf", "\xe0\x80\xaf", "\xe0\x9f\xbf", "\xed\xa0\x80",
		"\xed\xbf\xbf", "\xf0\x8f\xbf\xbf", "\xf4\x90\x80\x80",
		"\xf5\x80\x80\x80", "\xf8\x88\x80\x80\x80", "\xff", "\xfe",
		"\xe2\x82", "\xf0\x9f\x98", "ok\xc3\xa4\xc3",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* On error the buffer keeps what it had. */
		imap_buf_clear(&out);
		imap_buf_append_str(&out, "keep");
		ck_assert_int_eq(imap_utf8_to_mutf7(bad[i], strlen(bad[i]),
						    &out), -EINVAL);
		ck_assert_str_eq(out.data, "keep");
	}
	/* The boundaries themselves are valid. */
	ck_assert_str_eq(enc("\xed\x9f\xbf"), "&1,8-");
	ck_assert_str_eq(enc("\xee\x80\x80"), "&4AA-");
	ck_assert_str_eq(enc("\xf4\x8f\xbf\xbf"), "&2,,f,w-");
	ck_assert_str_eq(enc("\xc2\x80"), "&AIA-");
}
END_TEST

START_TEST(bad_mutf7)
{
	static const char *const bad[] = {
		"&", "a&", "&AOQ", "&AOQ-&AOQ-", "&AGE-", "&AOR-",
		"&AOQA-", "&2D0-", "&3gA-", "&2D0AZA-", "&2D3YPQ-", "&*-",
		"&/-", "&AO/-", "\xc3\xa4", "\t", "a\x7f", "&&-", "&A-",
		"&AA-", "&AOQ-&AOQ", "&ZeVnLIqe", "&,,,-",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		imap_buf_clear(&out);
		imap_buf_append_str(&out, "keep");
		ck_assert_msg(imap_mutf7_to_utf8(bad[i], strlen(bad[i]),
						 &out) == -EINVAL,
			      "accepted %s", bad[i]);
		ck_assert_str_eq(out.data, "keep");
	}
	ck_assert_str_eq(dec("&--"), "&-");
	ck_assert_str_eq(dec("&AOQ-&-&AOQ-"), "\xc3\xa4&\xc3\xa4");
}
END_TEST

START_TEST(buffer_limit)
{
	imap_buf_free(&out);
	imap_buf_init(&out, 4);
	ck_assert_int_eq(imap_utf8_to_mutf7("\xc3\xa4", 2, &out), -E2BIG);
	ck_assert_uint_eq(out.len, 0);
	ck_assert_int_eq(imap_mutf7_to_utf8("abcde", 5, &out), -E2BIG);
	ck_assert_uint_eq(out.len, 0);
	ck_assert_int_eq(imap_utf8_to_mutf7("&&", 2, &out), 0);
	ck_assert_str_eq(out.data, "&-&-");
}
END_TEST

static size_t put_utf8(char *p, uint32_t cp)
{
	if (cp < 0x80) {
		p[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		p[0] = (char)(0xc0 | cp >> 6);
		p[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		p[0] = (char)(0xe0 | cp >> 12);
		p[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		p[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	p[0] = (char)(0xf0 | cp >> 18);
	p[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	p[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	p[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Random UTF-8 names: the encoding is printable ASCII and the strict
 * decoder accepts it and gives back exactly the original. */
START_TEST(random_round_trip)
{
	unsigned seed = 777;
	struct imap_buf m7, back;

	imap_buf_init(&m7, 0);
	imap_buf_init(&back, 0);
	for (int iter = 0; iter < 3000; iter++) {
		char s[128];
		size_t len = 0;
		int n = rand_r(&seed) % 20;

		for (int i = 0; i < n; i++) {
			uint32_t cp;

			switch (rand_r(&seed) % 4) {
			case 0:
				cp = 0x20 + (uint32_t)rand_r(&seed) % 0x5f;
				break;
			case 1:
				cp = (uint32_t)rand_r(&seed) % 0x800;
				break;
			case 2:
				cp = (uint32_t)rand_r(&seed) % 0x10000;
				break;
			default:
				cp = 0x10000 +
					(uint32_t)rand_r(&seed) % 0x100000;
				break;
			}
			if (cp >= 0xd800 && cp <= 0xdfff)
				cp = '&';
			len += put_utf8(s + len, cp);
		}
		imap_buf_clear(&m7);
		imap_buf_clear(&back);
		CHECK((imap_utf8_to_mutf7(s, len, &m7)) == (0));
		for (size_t i = 0; i < m7.len; i++)
			CHECK(m7.data[i] >= 0x20 && m7.data[i] <= 0x7e);
		CHECK(imap_mutf7_to_utf8(m7.data, m7.len, &back) == 0);
		CHECK((back.len) == (len));
		CHECK(len == 0 || memcmp(back.data, s, len) == 0);
	}
	imap_buf_free(&m7);
	imap_buf_free(&back);
}
END_TEST

Suite *imap_mutf7_suite(void)
{
	Suite *s = suite_create("imap_mutf7");
	TCase *tc = tcase_create("mutf7");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, known_pairs);
	tcase_add_test(tc, bad_utf8);
	tcase_add_test(tc, bad_mutf7);
	tcase_add_test(tc, buffer_limit);
	tcase_add_test(tc, random_round_trip);
	suite_add_tcase(s, tc);
	return s;
}
