/* The RETR/TOP writer: CRLF, byte-stuffing, TOP cut, terminator, and the
 * same output for every way of cutting the input into chunks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pop3_stuff.h"
#include "test_pop3.h"

/* Runs the writer over msg in chunks of `chunk` bytes (0: all at once);
 * lines < 0: RETR. Returns a malloc'd NUL-terminated response body. */
static char *run(const char *msg, size_t chunk, int64_t lines)
{
	size_t len = strlen(msg), o = 0;
	char *out = malloc(POP3_STUFF_OUT_MAX(len) + POP3_STUFF_END_MAX + 1);
	struct pop3_stuff st;

	if (lines < 0)
		pop3_stuff_init(&st);
	else
		pop3_stuff_init_top(&st, (uint64_t)lines);
	if (chunk == 0)
		chunk = len > 0 ? len : 1;
	for (size_t i = 0; i < len && !st.done;) {
		size_t n = len - i < chunk ? len - i : chunk, used;
		o += pop3_stuff_feed(&st, msg + i, n, out + o, &used);
		ck_assert(used == n || st.done);
		i += n;
	}
	o += pop3_stuff_finish(&st, out + o);
	out[o] = '\0';
	return out;
}

static void check_all_chunks(const char *msg, int64_t lines,
			     const char *want)
{
	for (size_t chunk = 0; chunk <= strlen(msg) + 1; chunk++) {
		char *got = run(msg, chunk, lines);
		ck_assert_msg(strcmp(got, want) == 0,
			      "chunk %zu: got [%s] want [%s]", chunk, got,
			      want);
		free(got);
	}
}

START_TEST(retr_plain)
{
	check_all_chunks("A: b\r\n\r\nhello\r\n", -1,
			 "A: b\r\n\r\nhello\r\n.\r\n");
	check_all_chunks("", -1, ".\r\n");
}
END_TEST

START_TEST(retr_stuffing)
{
	check_all_chunks("A: b\r\n\r\n.\r\n..x\r\na.b\r\n.", -1,
			 "A: b\r\n\r\n..\r\n...x\r\na.b\r\n..\r\n.\r\n");
	check_all_chunks(".starts\r\n", -1, "..starts\r\n.\r\n");
}
END_TEST

/* A "." that starts a chunk and a line at once. */
START_TEST(stuffing_at_chunk_start)
{
	const char *msg = "ab\r\n.cd\r\n";
	struct pop3_stuff st;
	char out[64];
	size_t o = 0, used;

	pop3_stuff_init(&st);
	o += pop3_stuff_feed(&st, msg, 4, out + o, &used);
	ck_assert_uint_eq(used, 4);
	o += pop3_stuff_feed(&st, msg + 4, 5, out + o, &used);
	ck_assert_uint_eq(used, 5);
	o += pop3_stuff_finish(&st, out + o);
	out[o] = '\0';
	ck_assert_str_eq(out, "ab\r\n..cd\r\n.\r\n");
	/* A CR ending one chunk and its LF starting the next. */
	pop3_stuff_init(&st);
	o = pop3_stuff_feed(&st, "ab\r", 3, out, &used);
	o += pop3_stuff_feed(&st, "\n.", 2, out + o, &used);
	o += pop3_stuff_finish(&st, out + o);
	out[o] = '\0';
	ck_assert_str_eq(out, "ab\r\n..\r\n.\r\n");
}
END_TEST

START_TEST(retr_line_ends)
{
	/* No final CRLF: one is added before the terminator. */
	check_all_chunks("A: b\r\n\r\nno end", -1,
			 "A: b\r\n\r\nno end\r\n.\r\n");
	/* Bare LF gets its CR; a final CR gets its LF. */
	check_all_chunks("A: b\n\nx\n.y\n", -1,
			 "A: b\r\n\r\nx\r\n..y\r\n.\r\n");
	check_all_chunks("x\r", -1, "x\r\n.\r\n");
}
END_TEST

START_TEST(top_counts)
{
	const char *msg = "A: 1\r\nB: 2\r\n\r\nl1\r\n.l2\r\nl3\r\n";

	check_all_chunks(msg, 0, "A: 1\r\nB: 2\r\n\r\n.\r\n");
	check_all_chunks(msg, 1, "A: 1\r\nB: 2\r\n\r\nl1\r\n.\r\n");
	check_all_chunks(msg, 2, "A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\n.\r\n");
	check_all_chunks(msg, 3,
			 "A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\nl3\r\n.\r\n");
	check_all_chunks(msg, 1000,
			 "A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\nl3\r\n.\r\n");
	check_all_chunks(msg, INT64_MAX,
			 "A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\nl3\r\n.\r\n");
	/* Blank body lines count. */
	check_all_chunks("A: 1\r\n\r\n\r\n\r\nx\r\n", 2,
			 "A: 1\r\n\r\n\r\n\r\n.\r\n");
	/* Headers only, no blank line: all of it. */
	check_all_chunks("A: 1\r\nB: 2", 0, "A: 1\r\nB: 2\r\n.\r\n");
	/* The last body line without CRLF. */
	check_all_chunks("A: 1\r\n\r\nend", 5, "A: 1\r\n\r\nend\r\n.\r\n");
}
END_TEST

START_TEST(top_stops_consuming)
{
	struct pop3_stuff st;
	char out[64];
	size_t used;
	const char *msg = "A: 1\r\n\r\nx\r\ny\r\n";

	pop3_stuff_init_top(&st, 1);
	pop3_stuff_feed(&st, msg, strlen(msg), out, &used);
	ck_assert(st.done);
	ck_assert_uint_eq(used, strlen("A: 1\r\n\r\nx\r\n"));
}
END_TEST

Suite *pop3_stuff_suite(void)
{
	Suite *s = suite_create("pop3_stuff");
	TCase *tc = tcase_create("stuff");

	tcase_add_test(tc, retr_plain);
	tcase_add_test(tc, retr_stuffing);
	tcase_add_test(tc, stuffing_at_chunk_start);
	tcase_add_test(tc, retr_line_ends);
	tcase_add_test(tc, top_counts);
	tcase_add_test(tc, top_stops_consuming);
	suite_add_tcase(s, tc);
	return s;
}
