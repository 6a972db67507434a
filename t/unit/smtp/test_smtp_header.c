/* The Date:/Message-ID: filter: inserted exactly where the top-level
 * header block ends, only when missing (any case, obsolete blanks before
 * the colon), never in the body or for a look-alike name; the same output
 * however the message is cut; and the two fields' syntax. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smtp_header.h"
#include "test_smtp.h"

#define DATE "Date: Mon, 02 Jan 2006 15:04:05 +0000\r\n"
#define MSGID "Message-ID: <0123@mail.example.test>\r\n"

struct sink {
	char *buf;
	size_t len, cap;
};

static void collect(void *ctx, const char *buf, size_t len)
{
	struct sink *k = ctx;

	/* Plain if: called for every piece. */
	if (k->len + len > k->cap)
		ck_abort_msg("output overflow: %zu + %zu", k->len, len);
	memcpy(k->buf + k->len, buf, len);
	k->len += len;
}

/* Feeds in[0..len) in pieces of step bytes (0: whole). */
static void run(const char *in, size_t len, size_t step, struct sink *k)
{
	struct smtp_header_fill f;
	size_t off = 0;

	k->cap = len + sizeof(DATE) + sizeof(MSGID);
	k->buf = malloc(k->cap);
	k->len = 0;
	ck_assert_ptr_nonnull(k->buf);
	smtp_header_fill_init(&f, DATE, MSGID);
	while (off < len) {
		size_t n = step == 0 || len - off < step ? len - off : step;

		smtp_header_fill_feed(&f, in + off, n, collect, k);
		off += n;
	}
	smtp_header_fill_end(&f, collect, k);
}

/* Whole, in 1..3-byte pieces and cut at every point: one answer. */
static void check(const char *in, size_t len, const char *want,
		  size_t want_len)
{
	struct sink k;

	for (size_t step = 0; step <= 3; step++) {
		run(in, len, step, &k);
		ck_assert_uint_eq(k.len, want_len);
		ck_assert_mem_eq(k.buf, want, want_len);
		free(k.buf);
	}
	for (size_t cut = 1; cut < len; cut++) {
		struct smtp_header_fill f;

		k.cap = len + sizeof(DATE) + sizeof(MSGID);
		k.buf = malloc(k.cap);
		k.len = 0;
		ck_assert_ptr_nonnull(k.buf);
		smtp_header_fill_init(&f, DATE, MSGID);
		smtp_header_fill_feed(&f, in, cut, collect, &k);
		smtp_header_fill_feed(&f, in + cut, len - cut, collect, &k);
		smtp_header_fill_end(&f, collect, &k);
		ck_assert_msg(k.len == want_len && memcmp(k.buf, want,
							   want_len) == 0,
			      "cut at %zu", cut);
		free(k.buf);
	}
}

#define CHECK(in, want) check(in, sizeof(in) - 1, want, sizeof(want) - 1)

START_TEST(both_missing)
{
	CHECK("From: a@b\r\nSubject: hi\r\n\r\nbody\r\n",
	      "From: a@b\r\nSubject: hi\r\n" DATE MSGID "\r\nbody\r\n");
	/* Folded fields stay whole above the insertion. */
	CHECK("Subject: a\r\n long\r\n\tlonger\r\n\r\nb\r\n",
	      "Subject: a\r\n long\r\n\tlonger\r\n" DATE MSGID "\r\nb\r\n");
	/* No header at all: the body's empty first line ends the block. */
	CHECK("\r\nbody\r\n", DATE MSGID "\r\nbody\r\n");
	/* Fields only, no body: at the end. */
	CHECK("Subject: x\r\n", "Subject: x\r\n" DATE MSGID);
	/* An empty message. */
	CHECK("", DATE MSGID);
}
END_TEST

START_TEST(present_any_case)
{
	CHECK("Date: x\r\nMessage-ID: <y@z>\r\n\r\nb\r\n",
	      "Date: x\r\nMessage-ID: <y@z>\r\n\r\nb\r\n");
	CHECK("dATE: x\r\nmessage-id: <y@z>\r\n\r\nb\r\n",
	      "dATE: x\r\nmessage-id: <y@z>\r\n\r\nb\r\n");
	/* Only the one missing is added. */
	CHECK("DATE: x\r\n\r\nb\r\n", "DATE: x\r\n" MSGID "\r\nb\r\n");
	CHECK("MESSAGE-ID: <y@z>\r\n\r\nb\r\n",
	      "MESSAGE-ID: <y@z>\r\n" DATE "\r\nb\r\n");
	/* RFC 5322 4.5 obsolete syntax: blanks before the colon. */
	CHECK("Date \t: x\r\nMessage-ID : <y>\r\n\r\n",
	      "Date \t: x\r\nMessage-ID : <y>\r\n\r\n");
	/* An empty value still is the field. */
	CHECK("Date:\r\nMessage-ID:\r\n\r\n", "Date:\r\nMessage-ID:\r\n\r\n");
}
END_TEST

START_TEST(look_alikes)
{
	/* Other names, prefixes and continuation lines do not count. */
	CHECK("Dates: x\r\nDat: x\r\nResent-Date: x\r\nMessage-IDs: x\r\n"
	      "X: y\r\n Date: folded\r\n\r\nDate: in the body\r\n",
	      "Dates: x\r\nDat: x\r\nResent-Date: x\r\nMessage-IDs: x\r\n"
	      "X: y\r\n Date: folded\r\n" DATE MSGID
	      "\r\nDate: in the body\r\n");
}
END_TEST

START_TEST(non_field_line_ends_the_block)
{
	/* A line that is no field (blank inside the name, no colon, a colon
	 * first, a control or 8-bit byte) starts the body: the fields go in
	 * before it, and a later "Date:" is body text. */
	CHECK("A: 1\r\nnot a field\r\nDate: x\r\n",
	      "A: 1\r\n" DATE MSGID "not a field\r\nDate: x\r\n");
	CHECK("A: 1\r\nnocolon\r\n\r\n",
	      "A: 1\r\n" DATE MSGID "nocolon\r\n\r\n");
	CHECK(": x\r\n\r\n", DATE MSGID ": x\r\n\r\n");
	CHECK("\xc3\xa9: x\r\n\r\n", DATE MSGID "\xc3\xa9: x\r\n\r\n");
	CHECK("A\x01: x\r\n", DATE MSGID "A\x01: x\r\n");
	CHECK("\r\r\n", DATE MSGID "\r\r\n");
	CHECK("A: 1\r\n\n", "A: 1\r\n" DATE MSGID "\n");
}
END_TEST

START_TEST(long_name)
{
	/* A name up to the line limit is held back and still a field; one
	 * byte more is no field. */
	size_t n = SMTP_HEADER_HOLD;
	char *in = malloc(n + 16), *want = malloc(n + 256);
	size_t len, want_len;

	ck_assert_ptr_nonnull(in);
	ck_assert_ptr_nonnull(want);
	memset(in, 'x', n);
	memcpy(in + n, ": v\r\n\r\n", 7);
	len = n + 7;
	memcpy(want, in, n + 5);
	want_len = n + 5;
	memcpy(want + want_len, DATE MSGID "\r\n", sizeof(DATE MSGID "\r\n") - 1);
	want_len += sizeof(DATE MSGID "\r\n") - 1;
	check(in, len, want, want_len);

	memset(in, 'x', n + 1);
	memcpy(in + n + 1, ": v\r\n", 5);
	len = n + 6;
	memcpy(want, DATE MSGID, sizeof(DATE MSGID) - 1);
	want_len = sizeof(DATE MSGID) - 1;
	memcpy(want + want_len, in, len);
	want_len += len;
	check(in, len, want, want_len);
	free(in);
	free(want);
}
END_TEST

START_TEST(nothing_to_add)
{
	/* NULL fields (no randomness for a Message-ID): nothing goes in. */
	struct smtp_header_fill f;
	struct sink k = { malloc(64), 0, 64 };

	ck_assert_ptr_nonnull(k.buf);
	smtp_header_fill_init(&f, NULL, NULL);
	smtp_header_fill_feed(&f, "A: b\r\n\r\nc\r\n", 11, collect, &k);
	smtp_header_fill_end(&f, collect, &k);
	ck_assert_uint_eq(k.len, 11);
	ck_assert_mem_eq(k.buf, "A: b\r\n\r\nc\r\n", 11);
	free(k.buf);
}
END_TEST

START_TEST(field_syntax)
{
	char buf[SMTP_HEADER_MSGID_MAX];
	unsigned char random[16];

	setenv("TZ", "UTC", 1);
	tzset();
	ck_assert_uint_eq(smtp_header_date(1136214245, buf, sizeof(buf)),
			  sizeof(DATE) - 1);
	ck_assert_str_eq(buf, DATE);
	ck_assert_uint_eq(smtp_header_date(1136214245, buf, 20), 0);

	for (size_t i = 0; i < sizeof(random); i++)
		random[i] = (unsigned char)(i * 17 + 1);
	ck_assert_uint_gt(smtp_header_message_id(random, "mail.example.test",
						 buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "Message-ID: <0112233445566778899aabbccddeef00"
			      "@mail.example.test>\r\n");
	ck_assert_uint_eq(smtp_header_message_id(random, "", buf,
						 sizeof(buf)), 0);
	ck_assert_uint_eq(smtp_header_message_id(random, "h", buf, 30), 0);
}
END_TEST

Suite *smtp_header_suite(void)
{
	Suite *s = suite_create("smtp_header");
	TCase *tc = tcase_create("header");

	tcase_add_test(tc, both_missing);
	tcase_add_test(tc, present_any_case);
	tcase_add_test(tc, look_alikes);
	tcase_add_test(tc, non_field_line_ends_the_block);
	tcase_add_test(tc, long_name);
	tcase_add_test(tc, nothing_to_add);
	tcase_add_test(tc, field_syntax);
	suite_add_tcase(s, tc);
	return s;
}
