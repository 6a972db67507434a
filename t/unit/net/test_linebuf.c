/* The line splitter: every input must give the same lines however it is
 * cut into reads, and no input may make it hold more than max + 1 bytes. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "net/linebuf.h"

#define MAX_LINES 64

struct got_line {
	char *data;
	size_t len;
	int too_long;
};

struct lines {
	struct got_line line[MAX_LINES];
	size_t count;
	size_t max_cap; /* largest lb->cap seen while feeding */
};

static void lines_free(struct lines *lines)
{
	for (size_t i = 0; i < lines->count; i++)
		free(lines->line[i].data);
	lines->count = 0;
}

static void lines_add(struct lines *lines, const char *data, size_t len,
		      int too_long)
{
	struct got_line *l;

	ck_assert_uint_lt(lines->count, MAX_LINES);
	l = &lines->line[lines->count++];
	/* A copy: the line is only valid until the next feed. */
	l->data = malloc(len + 1);
	ck_assert_ptr_nonnull(l->data);
	memcpy(l->data, data, len);
	l->data[len] = '\0';
	l->len = len;
	l->too_long = too_long;
}

/* The byte after the line is NUL, or one this call consumed, so a caller
 * with writable data can NUL-terminate every line in place. */
static void assert_terminable(const struct linebuf *lb, const char *data,
			      size_t used, const char *line, size_t len)
{
	if (line >= data && line < data + used)
		ck_assert(line + len < data + used);
	else
		ck_assert_ptr_eq(line, lb->buf);
	if (line == lb->buf)
		ck_assert_int_eq(line[len], '\0');
}

/* Feeds one read the way a connection does: until every byte is used. */
static void feed_chunk(struct linebuf *lb, const char *data, size_t len,
		       struct lines *lines)
{
	size_t off = 0;

	do {
		const char *line;
		size_t line_len;
		int too_long;
		size_t used = linebuf_feed(lb, data + off, len - off, &line,
					   &line_len, &too_long);

		ck_assert_uint_gt(used, 0);
		ck_assert_uint_le(used, len - off);
		if (line != NULL)
			assert_terminable(lb, data + off, used, line, line_len);
		if (line != NULL)
			lines_add(lines, line, line_len, too_long);
		else
			ck_assert_uint_eq(used, len - off);
		off += used;
		if (lb->cap > lines->max_cap)
			lines->max_cap = lb->cap;
		ck_assert_uint_le(lb->len, lb->max + 1);
	} while (off < len);
}

/* Feeds data in reads of chunk bytes (the last one shorter). */
static void feed_by(struct linebuf *lb, const char *data, size_t len,
		    size_t chunk, struct lines *lines)
{
	for (size_t off = 0; off < len; off += chunk)
		feed_chunk(lb, data + off, len - off < chunk ? len - off : chunk,
			   lines);
}

static void assert_line(const struct lines *lines, size_t i,
			const char *text, size_t len, int too_long)
{
	ck_assert_uint_lt(i, lines->count);
	ck_assert_uint_eq(lines->line[i].len, len);
	ck_assert_mem_eq(lines->line[i].data, text, len);
	ck_assert_int_eq(lines->line[i].too_long, too_long);
}

#define assert_text_line(lines, i, text) \
	assert_line(lines, i, text, strlen(text), 0)

static void assert_same_lines(const struct lines *a, const struct lines *b)
{
	ck_assert_uint_eq(a->count, b->count);
	for (size_t i = 0; i < a->count; i++)
		assert_line(b, i, a->line[i].data, a->line[i].len,
			    a->line[i].too_long);
}

START_TEST(single_line)
{
	struct linebuf lb;
	struct lines lines = { 0 };

	linebuf_init(&lb, 100);
	feed_by(&lb, "A001 NOOP\r\n", 11, 11, &lines);
	ck_assert_uint_eq(lines.count, 1);
	assert_text_line(&lines, 0, "A001 NOOP");
	ck_assert_uint_eq(lb.len, 0);
	lines_free(&lines);
	linebuf_free(&lb);
}
END_TEST

START_TEST(many_lines_one_chunk)
{
	static const char input[] = "EHLO a\r\nMAIL FROM:<x@y>\r\nRCPT TO:<z@w>\n"
				    "DATA\r\npartial";
	struct linebuf lb;
	struct lines lines = { 0 };

	linebuf_init(&lb, 100);
	feed_by(&lb, input, sizeof(input) - 1, sizeof(input), &lines);
	ck_assert_uint_eq(lines.count, 4);
	assert_text_line(&lines, 0, "EHLO a");
	assert_text_line(&lines, 1, "MAIL FROM:<x@y>");
	assert_text_line(&lines, 2, "RCPT TO:<z@w>");
	assert_text_line(&lines, 3, "DATA");
	/* The unfinished tail waits for its LF. */
	ck_assert_uint_eq(lb.len, 7);
	feed_by(&lb, "\r\n", 2, 2, &lines);
	assert_text_line(&lines, 4, "partial");
	lines_free(&lines);
	linebuf_free(&lb);
}
END_TEST

START_TEST(split_across_two)
{
	struct linebuf lb;
	struct lines lines = { 0 };

	linebuf_init(&lb, 100);
	feed_chunk(&lb, "LOGIN us", 8, &lines);
	ck_assert_uint_eq(lines.count, 0);
	feed_chunk(&lb, "er pass\r\nNEXT\r\n", 15, &lines);
	ck_assert_uint_eq(lines.count, 2);
	assert_text_line(&lines, 0, "LOGIN user pass");
	assert_text_line(&lines, 1, "NEXT");
	lines_free(&lines);
	linebuf_free(&lb);
}
END_TEST

START_TEST(split_across_many)
{
	struct linebuf lb;
	struct lines lines = { 0 };

	linebuf_init(&lb, 100);
	feed_chunk(&lb, "a", 1, &lines);
	feed_chunk(&lb, "bc", 2, &lines);
	feed_chunk(&lb, "def", 3, &lines);
	feed_chunk(&lb, "\r", 1, &lines);
	ck_assert_uint_eq(lines.count, 0);
	feed_chunk(&lb, "\n", 1, &lines);
	ck_assert_uint_eq(lines.count, 1);
	assert_text_line(&lines, 0, "abcdef");
	lines_free(&lines);
	linebuf_free(&lb);
}
END_TEST

/* Every cut of the input must give what one whole read gives, including
 * around the limit, where the pending CR matters. */
START_TEST(byte_at_a_time)
{
	static const struct {
		const char *data;
		size_t len;
	} inputs[] = {
#define INPUT(s) { s, sizeof(s) - 1 }
		INPUT("one\r\ntwo\nthree\r\r\n\r\n\nfour"),
		INPUT("12345678\r\n123456789\r\n1234567890\n"),
		INPUT("12345678\r\r\n1234567\r\r\n123456789012345\r\nok\n"),
		INPUT("nul\0inside\r\n\0\n"),
		INPUT("cr\rin\rthe\rmiddle\r\n"),
#undef INPUT
	};

	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		struct linebuf whole, bytes;
		struct lines a = { 0 }, b = { 0 };

		linebuf_init(&whole, 8);
		linebuf_init(&bytes, 8);
		feed_by(&whole, inputs[i].data, inputs[i].len, inputs[i].len,
			&a);
		feed_by(&bytes, inputs[i].data, inputs[i].len, 1, &b);
		ck_assert_uint_gt(a.count, 0);
		assert_same_lines(&a, &b);
		ck_assert_uint_eq(whole.len, bytes.len);
		lines_free(&a);
		lines_free(&b);
		linebuf_free(&whole);
		linebuf_free(&bytes);
	}
}
END_TEST

START_TEST(crlf_and_lf)
{
	struct linebuf lb;
	struct lines lines = { 0 };

	linebuf_init(&lb, 100);
	feed_by(&lb, "crlf\r\nlf\n\r\n\n", 12, 12, &lines);
	ck_assert_uint_eq(lines.count, 4);
	assert_text_line(&lines, 0, "crlf");
	assert_text_line(&lines, 1, "lf");
	assert_text_line(&lines, 2, "");
	assert_text_line(&lines, 3, "");
	lines_free(&lines);
	linebuf_free(&lb);
}
END_TEST

START_TEST(bare_cr_is_content)
{
	struct linebuf lb;
	struct lines lines = { 0 };

	linebuf_init(&lb, 100);
	feed_by(&lb, "a\rb\r\nc\r\r\n\r", 10, 10, &lines);
	ck_assert_uint_eq(lines.count, 2);
	assert_text_line(&lines, 0, "a\rb");
	/* Only the CR right before the LF belongs to the line end. */
	assert_text_line(&lines, 1, "c\r");
	/* A CR with no LF yet is kept, not taken for a line end. */
	ck_assert_uint_eq(lb.len, 1);
	feed_by(&lb, "x\n", 2, 2, &lines);
	assert_text_line(&lines, 2, "\rx");
	lines_free(&lines);
	linebuf_free(&lb);
}
END_TEST

START_TEST(nul_inside_line)
{
	struct linebuf lb;
	struct lines lines = { 0 };

	linebuf_init(&lb, 100);
	feed_by(&lb, "a\0b\r\n", 5, 5, &lines);
	assert_line(&lines, 0, "a\0b", 3, 0);
	/* Same through the buffer. */
	feed_by(&lb, "c\0\0d\r\n", 6, 2, &lines);
	assert_line(&lines, 1, "c\0\0d", 4, 0);
	lines_free(&lines);
	linebuf_free(&lb);
}
END_TEST

/* Whole in one read (in place) and byte by byte (buffered). */
static void assert_limit(const char *input, size_t input_len,
			 const char *line, size_t line_len, int too_long)
{
	size_t chunks[] = { input_len, 1, 3 };

	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		struct linebuf lb;
		struct lines lines = { 0 };

		linebuf_init(&lb, 8);
		feed_by(&lb, input, input_len, chunks[i], &lines);
		ck_assert_uint_eq(lines.count, 2);
		assert_line(&lines, 0, line, line_len, too_long);
		/* The next line is not disturbed by the long one. */
		assert_text_line(&lines, 1, "next");
		ck_assert_uint_le(lines.max_cap, 9);
		lines_free(&lines);
		linebuf_free(&lb);
	}
}

START_TEST(exactly_max)
{
	assert_limit("12345678\nnext\n", 14, "12345678", 8, 0);
	assert_limit("12345678\r\nnext\n", 15, "12345678", 8, 0);
}
END_TEST

START_TEST(max_plus_one)
{
	assert_limit("123456789\nnext\n", 15, "12345678", 8, 1);
	assert_limit("123456789\r\nnext\n", 16, "12345678", 8, 1);
	/* A CR that is content, not a line end, still counts. */
	assert_limit("12345678\r\r\nnext\n", 16, "12345678", 8, 1);
	assert_limit("1234567\r\r\nnext\n", 15, "1234567\r", 8, 0);
	assert_limit("123456789012345678901234567890\r\nnext\n", 37,
		     "12345678", 8, 1);
}
END_TEST

START_TEST(huge_line_bounded)
{
	const size_t huge = 10 * 1024 * 1024;
	const size_t chunk = 64 * 1024;
	const size_t max = 8192;
	struct linebuf lb;
	struct lines lines = { 0 };
	char *data = malloc(huge + 6);

	ck_assert_ptr_nonnull(data);
	for (size_t i = 0; i < huge; i++)
		data[i] = (char)('a' + i % 26);
	memcpy(data + huge, "\r\nok\r\n", 6);
	linebuf_init(&lb, max);
	feed_by(&lb, data, huge + 6, chunk, &lines);
	ck_assert_uint_le(lines.max_cap, max + 1);
	ck_assert_uint_eq(lines.count, 2);
	assert_line(&lines, 0, data, max, 1);
	assert_text_line(&lines, 1, "ok");
	lines_free(&lines);
	linebuf_free(&lb);
	free(data);
}
END_TEST

START_TEST(empty_lines)
{
	struct linebuf lb;
	struct lines lines = { 0 };

	linebuf_init(&lb, 0);
	feed_by(&lb, "\n\r\n\n", 4, 4, &lines);
	feed_by(&lb, "\r\n\n", 3, 1, &lines);
	ck_assert_uint_eq(lines.count, 5);
	for (size_t i = 0; i < lines.count; i++)
		assert_text_line(&lines, i, "");
	/* With max 0 any content is too long. */
	feed_by(&lb, "x\n", 2, 2, &lines);
	assert_line(&lines, 5, "", 0, 1);
	lines_free(&lines);
	linebuf_free(&lb);
}
END_TEST

START_TEST(reset_drops_and_frees)
{
	struct linebuf lb;
	struct lines lines = { 0 };

	linebuf_init(&lb, 100);
	feed_chunk(&lb, "STARTTLS\r\nINJECTED", 18, &lines);
	assert_text_line(&lines, 0, "STARTTLS");
	ck_assert_ptr_nonnull(lb.buf);
	ck_assert_uint_eq(linebuf_reset(&lb), 8);
	ck_assert_ptr_null(lb.buf);
	ck_assert_uint_eq(lb.len, 0);
	ck_assert_uint_eq(lb.cap, 0);
	/* The dropped bytes never show up in the next line. */
	feed_by(&lb, " CMD\r\n", 6, 1, &lines);
	assert_text_line(&lines, 1, " CMD");
	ck_assert_uint_eq(linebuf_reset(&lb), 0);
	/* An overflowing line is forgotten too. */
	linebuf_init(&lb, 4);
	feed_chunk(&lb, "123456789", 9, &lines);
	ck_assert_int_eq(lb.overflow, 1);
	ck_assert_uint_eq(linebuf_reset(&lb), 5);
	ck_assert_int_eq(lb.overflow, 0);
	feed_chunk(&lb, "ok\n", 3, &lines);
	assert_text_line(&lines, 2, "ok");
	lines_free(&lines);
	linebuf_free(&lb);
}
END_TEST

START_TEST(zero_copy_in_place)
{
	static const char data[] = "A1 NOOP\r\nA2 LOGOUT\n";
	struct linebuf lb;
	const char *line;
	size_t len;
	int too_long;

	linebuf_init(&lb, 100);
	ck_assert_uint_eq(linebuf_feed(&lb, data, sizeof(data) - 1, &line,
				       &len, &too_long),
			  9);
	ck_assert_ptr_eq(line, data);
	ck_assert_uint_eq(len, 7);
	ck_assert_uint_eq(linebuf_feed(&lb, data + 9, sizeof(data) - 10,
				       &line, &len, &too_long),
			  10);
	ck_assert_ptr_eq(line, data + 9);
	ck_assert_uint_eq(len, 9);
	ck_assert_int_eq(too_long, 0);
	/* Nothing was buffered, so nothing was allocated. */
	ck_assert_ptr_null(lb.buf);
	/* A buffered head means the line is copied, never in place. */
	ck_assert_uint_eq(linebuf_feed(&lb, "A3", 2, &line, &len, &too_long),
			  2);
	ck_assert_ptr_null(line);
	ck_assert_uint_eq(linebuf_feed(&lb, data + 2, sizeof(data) - 3, &line,
				       &len, &too_long),
			  7);
	ck_assert_ptr_eq(line, lb.buf);
	ck_assert_mem_eq(line, "A3 NOOP", 7);
	ck_assert_uint_eq(len, 7);
	linebuf_free(&lb);
}
END_TEST

static Suite *linebuf_suite(void)
{
	Suite *s = suite_create("linebuf");
	TCase *tc = tcase_create("linebuf");

	tcase_add_test(tc, single_line);
	tcase_add_test(tc, many_lines_one_chunk);
	tcase_add_test(tc, split_across_two);
	tcase_add_test(tc, split_across_many);
	tcase_add_test(tc, byte_at_a_time);
	tcase_add_test(tc, crlf_and_lf);
	tcase_add_test(tc, bare_cr_is_content);
	tcase_add_test(tc, nul_inside_line);
	tcase_add_test(tc, exactly_max);
	tcase_add_test(tc, max_plus_one);
	tcase_add_test(tc, huge_line_bounded);
	tcase_add_test(tc, empty_lines);
	tcase_add_test(tc, reset_drops_and_frees);
	tcase_add_test(tc, zero_copy_in_place);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(linebuf_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
