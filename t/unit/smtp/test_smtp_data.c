/* The DATA machine: the same result however the input is cut, only
 * CRLF.CRLF ends, dot-unstuffing, bare CR/LF and NUL flagged, tail
 * returned. */
#include <stdlib.h>
#include <string.h>

#include "smtp_data.h"
#include "test_smtp.h"

struct result {
	char *out;
	size_t out_len;
	size_t consumed; /* input bytes the machine took */
	int done;
	int bare;
	int nul;
	uint64_t size;
};

static void result_free(struct result *r)
{
	free(r->out);
	r->out = NULL;
}

/* Feeds in[0..len) in pieces of at most step bytes (0: all at once). */
static struct result run(const char *in, size_t len, size_t step)
{
	struct smtp_data d;
	struct result r = { 0 };
	size_t off = 0;

	/* Exactly the room the contract promises: piece + 1 bytes. */
	char *buf = malloc((step == 0 ? len : step) + 1);

	r.out = malloc(len + 2);
	ck_assert_ptr_nonnull(r.out);
	ck_assert_ptr_nonnull(buf);
	smtp_data_init(&d);
	while (off < len && !smtp_data_done(&d)) {
		size_t n = step == 0 || len - off < step ? len - off : step;
		size_t out_len = 12345;

		size_t used = smtp_data_feed(&d, in + off, n, buf, &out_len);
		/* Plain ifs: a ck_assert per byte would be slow. */
		if (used > n || out_len > n + 1 || r.out_len + out_len > len + 2 ||
		    (!smtp_data_done(&d) && used != n))
			ck_abort_msg("feed at %zu: used %zu of %zu, out %zu", off,
				     used, n, out_len);
		memcpy(r.out + r.out_len, buf, out_len);
		r.out_len += out_len;
		off += used;
	}
	free(buf);
	/* Once done, nothing more is consumed. */
	if (smtp_data_done(&d)) {
		char rest[8];
		size_t out_len;
		ck_assert_uint_eq(smtp_data_feed(&d, "x\r\n", 3, rest, &out_len), 0);
		ck_assert_uint_eq(out_len, 0);
	}
	r.consumed = off;
	r.done = smtp_data_done(&d);
	r.bare = d.bare;
	r.nul = d.nul;
	r.size = d.size;
	ck_assert_uint_eq(r.size, r.out_len);
	return r;
}

/* Whole, byte by byte, and cut at every single point: one answer. */
static void check(const char *in, size_t len, const char *want_out,
		  size_t want_out_len, int want_done, size_t want_consumed,
		  int want_bare)
{
	struct result whole = run(in, len, 0);
	/* NUL is flagged exactly when the message (the input up to its end)
	 * holds one. */
	int want_nul = memchr(in, '\0', want_consumed) != NULL;

	ck_assert_int_eq(whole.done, want_done);
	ck_assert_int_eq(whole.bare, want_bare);
	ck_assert_int_eq(whole.nul, want_nul);
	ck_assert_uint_eq(whole.consumed, want_consumed);
	ck_assert_uint_eq(whole.out_len, want_out_len);
	ck_assert_mem_eq(whole.out, want_out, want_out_len);
	for (size_t step = 1; step <= 3; step++) {
		struct result r = run(in, len, step);
		ck_assert_int_eq(r.done, want_done);
		ck_assert_int_eq(r.bare, want_bare);
		ck_assert_int_eq(r.nul, want_nul);
		ck_assert_uint_eq(r.consumed, want_consumed);
		ck_assert_uint_eq(r.out_len, want_out_len);
		ck_assert_mem_eq(r.out, want_out, want_out_len);
		result_free(&r);
	}
	/* Two pieces, cut at every point. */
	for (size_t cut = 1; cut < len; cut++) {
		struct smtp_data d;
		char *out = malloc(len + 2);
		size_t o1 = 0, o2 = 0, used;

		ck_assert_ptr_nonnull(out);
		smtp_data_init(&d);
		used = smtp_data_feed(&d, in, cut, out, &o1);
		if (!smtp_data_done(&d))
			used += smtp_data_feed(&d, in + cut, len - cut,
					       out + o1, &o2);
		ck_assert_msg(used == want_consumed, "cut %zu", cut);
		ck_assert_uint_eq(o1 + o2, want_out_len);
		ck_assert_mem_eq(out, want_out, want_out_len);
		ck_assert_int_eq(d.bare, want_bare);
		ck_assert_int_eq(d.nul, want_nul);
		free(out);
	}
	result_free(&whole);
}

#define CHECK(in, out, done, consumed, bare) \
	check(in, sizeof(in) - 1, out, sizeof(out) - 1, done, consumed, bare)

START_TEST(simple_end)
{
	CHECK("Subject: x\r\n\r\nhello\r\n.\r\n",
	      "Subject: x\r\n\r\nhello\r\n", 1, 24, 0);
	/* An empty message: the DATA line's CRLF precedes the first line. */
	CHECK(".\r\n", "", 1, 3, 0);
	/* Not ended yet. */
	CHECK("hello\r\n", "hello\r\n", 0, 7, 0);
	CHECK("hello\r\n.", "hello\r\n", 0, 8, 0);
	CHECK("hello\r\n.\r", "hello\r\n", 0, 9, 0);
}
END_TEST

START_TEST(pipelined_tail)
{
	/* The bytes after the final LF are not consumed. */
	CHECK("a\r\n.\r\nMAIL FROM:<>\r\nRCPT TO:<x@y>\r\n", "a\r\n", 1, 6, 0);
	CHECK(".\r\nQUIT\r\n", "", 1, 3, 0);
	CHECK("a\r\n.\r\n.\r\n", "a\r\n", 1, 6, 0);
}
END_TEST

START_TEST(dot_unstuffing)
{
	CHECK("..\r\n.\r\n", ".\r\n", 1, 7, 0);
	CHECK("..hidden\r\n...x\r\n.\r\n", ".hidden\r\n..x\r\n", 1, 19, 0);
	/* A dot not at a line start stays. */
	CHECK("a.b\r\na..\r\n.\r\n", "a.b\r\na..\r\n", 1, 13, 0);
	/* ".x" at a line start: the dot is dropped (RFC 5321 4.5.2). */
	CHECK(".x\r\n.\r\n", "x\r\n", 1, 7, 0);
	/* ". " is not the end. */
	CHECK("a\r\n. \r\n.\r\n", "a\r\n \r\n", 1, 10, 0);
}
END_TEST

START_TEST(smuggling_never_ends)
{
	/* Each of these is content with a bare line end, never the end. */
	CHECK("a\n.\nb", "a\n.\nb", 0, 5, 1);
	CHECK("a\r.\rb", "a\r.\rb", 0, 5, 1);
	CHECK("a\n.\r\nb", "a\n.\r\nb", 0, 6, 1);
	CHECK("a\r\n.\nb", "a\r\n\nb", 0, 6, 1);
	CHECK("a\r\n.\rb", "a\r\n\rb", 0, 6, 1);
	CHECK("a\r\r\n.\r\r\n", "a\r\r\n\r\r\n", 0, 8, 1);
	/* ...and then the real end: flagged, ended at CRLF.CRLF only. */
	CHECK("a\n.\nMAIL FROM:<x@y>\r\n.\r\nQUIT\r\n",
	      "a\n.\nMAIL FROM:<x@y>\r\n", 1, 24, 1);
	CHECK("a\r\n.\nb\r\n.\r\n", "a\r\n\nb\r\n", 1, 11, 1);
	CHECK("a\n.\r\nb\r\n.\r\n", "a\n.\r\nb\r\n", 1, 11, 1);
	/* A first line of ".\n" is not the end either. */
	CHECK(".\nx\r\n.\r\n", "\nx\r\n", 1, 8, 1);
}
END_TEST

START_TEST(bare_detection)
{
	CHECK("a\nb\r\n.\r\n", "a\nb\r\n", 1, 8, 1);
	CHECK("a\rb\r\n.\r\n", "a\rb\r\n", 1, 8, 1);
	CHECK("a\r\n\n.\r\n", "a\r\n\n.\r\n", 0, 7, 1);
	CHECK("a\r\r\n.\r\n", "a\r\r\n", 1, 7, 1);
	CHECK("ok\r\n.\r\n", "ok\r\n", 1, 7, 0);
	/* 8-bit and NUL bytes are content (NUL is flagged: see below). */
	CHECK("\xff\0\x80\r\n.\r\n", "\xff\0\x80\r\n", 1, 8, 0);
}
END_TEST

/* One NUL anywhere in the message flags it; NUL never ends the data, and
 * a NUL after the end (pipelined input) is not the message's. */
START_TEST(nul_detection)
{
	struct result r;

	/* The case: "<NUL>." is a content line, not the end. */
	CHECK("line1\r\n\0.\r\nline3\r\n.\r\nQUIT\r\n",
	      "line1\r\n\0.\r\nline3\r\n", 1, 21, 0);
	CHECK("a\0b\r\n.\r\n", "a\0b\r\n", 1, 8, 0);
	CHECK("\0\r\n.\r\n", "\0\r\n", 1, 6, 0);
	CHECK(".\0\r\n.\r\n", "\0\r\n", 1, 7, 0);
	CHECK("a\r\n.\r\n\0\r\n", "a\r\n", 1, 6, 0);
	CHECK("a\r\n\0", "a\r\n\0", 0, 4, 0);
	r = run("a\r\n.\r\n\0", 7, 1);
	ck_assert_int_eq(r.nul, 0);
	result_free(&r);
	r = run("ab\0\r\n.\r\n", 9, 1);
	ck_assert_int_eq(r.nul, 1);
	ck_assert_int_eq(r.done, 1);
	result_free(&r);
}
END_TEST

START_TEST(big_message)
{
	/* 200 KiB of lines, some dot-stuffed, then the end and a command. */
	size_t lines = 4000, len = 0;
	char *in = malloc(lines * 52 + 32), *want = malloc(lines * 52 + 32);
	size_t want_len = 0;

	ck_assert_ptr_nonnull(in);
	ck_assert_ptr_nonnull(want);
	for (size_t i = 0; i < lines; i++) {
		int stuffed = i % 7 == 0;
		if (stuffed)
			in[len++] = '.';
		memset(in + len, 'a' + (int)(i % 26), 48);
		if (stuffed)
			in[len] = '.';
		memcpy(want + want_len, in + len, 48);
		len += 48;
		want_len += 48;
		memcpy(in + len, "\r\n", 2);
		memcpy(want + want_len, "\r\n", 2);
		len += 2;
		want_len += 2;
	}
	memcpy(in + len, ".\r\nQUIT\r\n", 9);
	for (size_t step = 1; step < 5000; step = step * 3 + 1) {
		struct result r = run(in, len + 9, step);
		ck_assert_int_eq(r.done, 1);
		ck_assert_int_eq(r.bare, 0);
		ck_assert_uint_eq(r.consumed, len + 3);
		ck_assert_uint_eq(r.out_len, want_len);
		ck_assert_mem_eq(r.out, want, want_len);
		result_free(&r);
	}
	free(in);
	free(want);
}
END_TEST

Suite *smtp_data_suite(void)
{
	Suite *s = suite_create("smtp_data");
	TCase *tc = tcase_create("data");

	tcase_add_test(tc, simple_end);
	tcase_add_test(tc, pipelined_tail);
	tcase_add_test(tc, dot_unstuffing);
	tcase_add_test(tc, smuggling_never_ends);
	tcase_add_test(tc, bare_detection);
	tcase_add_test(tc, nul_detection);
	tcase_add_test(tc, big_message);
	suite_add_tcase(s, tc);
	return s;
}
