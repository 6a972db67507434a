/* core/queue/queue_proto.c: byte-at-a-time reply parsing, dot-stuffing,
 * back-off arithmetic and the DSN text. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "queue/queue_proto.h"
#include "smtp_client/smtp_reply.h"

/* Feeds text one byte at a time; returns the parse result at the end. */
static int feed_bytes(struct smtp_reply *r, const char *text, size_t *at_r)
{
	size_t len = strlen(text);

	for (size_t i = 0; i < len; i++) {
		size_t used;
		int ret = smtp_reply_parse(r, text + i, 1, &used);
		if (ret != 0) {
			*at_r = i + 1;
			return ret;
		}
		ck_assert_uint_eq(used, 1);
	}
	*at_r = len;
	return 0;
}

START_TEST(reply_multiline_bytewise)
{
	static struct smtp_reply r;
	size_t at;
	const char *ehlo = "250-mx.example Hello\r\n250-PIPELINING\r\n"
			   "250-SIZE 1000\r\n250 STARTTLS\r\n220 next";

	smtp_reply_reset(&r);
	ck_assert_int_eq(feed_bytes(&r, ehlo, &at), 1);
	ck_assert_uint_eq(at, strlen(ehlo) - strlen("220 next"));
	ck_assert_int_eq(r.code, 250);
	ck_assert_uint_eq(r.lines, 4);
	ck_assert(smtp_reply_has(&r, "PIPELINING"));
	ck_assert(smtp_reply_has(&r, "size"));
	ck_assert(smtp_reply_has(&r, "STARTTLS"));
	ck_assert(!smtp_reply_has(&r, "mx.example"));
	ck_assert(!smtp_reply_has(&r, "PIPE"));
	char flat[128];
	smtp_reply_flat(&r, flat, sizeof flat);
	ck_assert_str_eq(flat, "250-mx.example Hello; 250-PIPELINING; "
			       "250-SIZE 1000; 250 STARTTLS");
}
END_TEST

START_TEST(reply_whole_buffer_and_bare_lf)
{
	static struct smtp_reply r;
	size_t used;
	const char *two = "550 5.1.1 no\n250 ok\r\n";

	smtp_reply_reset(&r);
	ck_assert_int_eq(smtp_reply_parse(&r, two, strlen(two), &used), 1);
	ck_assert_uint_eq(used, 13);
	ck_assert_int_eq(r.code, 550);
	ck_assert_str_eq(r.text, "550 5.1.1 no");
	smtp_reply_reset(&r);
	ck_assert_int_eq(smtp_reply_parse(&r, two + used, strlen(two) - used,
					   &used), 1);
	ck_assert_int_eq(r.code, 250);
	smtp_reply_reset(&r);
	ck_assert_int_eq(smtp_reply_parse(&r, "250\r\n", 5, &used), 1);
}
END_TEST

START_TEST(reply_malformed_and_long)
{
	static struct smtp_reply r;
	static char big[SMTP_REPLY_LINE_MAX * 3];
	size_t used;

	smtp_reply_reset(&r);
	ck_assert_int_eq(smtp_reply_parse(&r, "hello\r\n", 7, &used),
			 -EPROTO);
	smtp_reply_reset(&r);
	ck_assert_int_eq(smtp_reply_parse(&r, "250-a\r\n251 b\r\n", 14,
					   &used), -EPROTO);
	smtp_reply_reset(&r);
	ck_assert_int_eq(smtp_reply_parse(&r, "25x ok\r\n", 8, &used),
			 -EPROTO);
	/* An over-long line is cut, never buffered past the limit. */
	memset(big, 'a', sizeof big);
	memcpy(big, "250 ", 4);
	smtp_reply_reset(&r);
	ck_assert_int_eq(smtp_reply_parse(&r, big, sizeof big, &used), 0);
	ck_assert_uint_eq(r.line_len, SMTP_REPLY_LINE_MAX);
	ck_assert_int_eq(smtp_reply_parse(&r, "\r\n", 2, &used), 1);
	ck_assert_int_eq(r.code, 250);
	/* Too many lines. */
	smtp_reply_reset(&r);
	int ret = 0;
	for (int i = 0; i <= SMTP_REPLY_LINES_MAX && ret == 0; i++)
		ret = smtp_reply_parse(&r, "250-x\r\n", 7, &used);
	ck_assert_int_eq(ret, -EPROTO);
}
END_TEST

static void assert_stuffed(const char *in, const char *want)
{
	char *out;
	size_t len;

	ck_assert_int_eq(smtp_dot_stuff(in, strlen(in), &out, &len), 0);
	ck_assert_uint_eq(len, strlen(want));
	ck_assert_mem_eq(out, want, len);
	free(out);
}

START_TEST(dot_stuffing)
{
	assert_stuffed("", ".\r\n");
	assert_stuffed("a\r\n", "a\r\n.\r\n");
	assert_stuffed("a", "a\r\n.\r\n");
	assert_stuffed("a\r", "a\r\n.\r\n");
	assert_stuffed(".\r\n", "..\r\n.\r\n");
	assert_stuffed("x\r\n.y\r\n..z\r\n", "x\r\n..y\r\n...z\r\n.\r\n");
	assert_stuffed("bare\nlf\n.\n", "bare\r\nlf\r\n..\r\n.\r\n");
	assert_stuffed("mid.dot\r\n", "mid.dot\r\n.\r\n");
	assert_stuffed("\n\n", "\r\n\r\n.\r\n");
}
END_TEST

START_TEST(backoff)
{
	ck_assert_int_eq(queue_backoff(300, 14400, 1), 300);
	ck_assert_int_eq(queue_backoff(300, 14400, 2), 600);
	ck_assert_int_eq(queue_backoff(300, 14400, 3), 1200);
	ck_assert_int_eq(queue_backoff(300, 14400, 6), 9600);
	ck_assert_int_eq(queue_backoff(300, 14400, 7), 14400);
	ck_assert_int_eq(queue_backoff(300, 14400, 1000000), 14400);
	ck_assert_int_eq(queue_backoff(1, 2, 5), 2);
	ck_assert_int_eq(queue_backoff(0, 10, 1), 1);
	ck_assert_int_eq(queue_backoff(INT64_MAX / 2, INT64_MAX, 64),
			 INT64_MAX);
}
END_TEST

START_TEST(dsn_status)
{
	char st[16];

	queue_dsn_status("550 5.1.1 user unknown", st, sizeof st);
	ck_assert_str_eq(st, "5.1.1");
	queue_dsn_status("554 transaction failed", st, sizeof st);
	ck_assert_str_eq(st, "5.0.0");
	queue_dsn_status("552-5.3.4 too big", st, sizeof st);
	ck_assert_str_eq(st, "5.3.4");
	queue_dsn_status("451 4.3.0 later", st, sizeof st);
	ck_assert_str_eq(st, "5.4.7");
	queue_dsn_status("550 4.1.1 odd", st, sizeof st);
	ck_assert_str_eq(st, "5.0.0");
}
END_TEST

START_TEST(dsn_build)
{
	static const char msg[] = "From: a@x.test\nSubject: hi\r\n\r\nbody\n";
	const struct queue_dsn_rcpt rcpts[] = {
		{ "b@y.test", "550 5.1.1 <b@y.test>: unknown" },
		{ "c@y.test", "451 4.4.1 no answer\r\nInjected: yes" },
	};
	struct queue_dsn d = {
		.hostname = "mail.x.test", .sender = "a@x.test",
		.message = msg, .message_len = sizeof msg - 1,
		.rcpts = rcpts, .rcpt_count = 2, .now_s = 0,
		.arrival_s = 86400, .unique = 7,
	};
	char *out;
	size_t len;

	ck_assert_int_eq(queue_dsn_build(&d, &out, &len), 0);
	ck_assert_uint_eq(strlen(out), len);
	ck_assert_ptr_nonnull(strstr(out,
		"From: Mail Delivery System <MAILER-DAEMON@mail.x.test>\r\n"
		"To: <a@x.test>\r\n"
		"Subject: Undelivered Mail Returned to Sender\r\n"
		"Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"));
	ck_assert_ptr_nonnull(strstr(out, "Auto-Submitted: auto-replied\r\n"));
	ck_assert_ptr_nonnull(strstr(out, "report-type=delivery-status"));
	ck_assert_ptr_nonnull(strstr(out, "Reporting-MTA: dns; mail.x.test\r\n"
				     "Arrival-Date: Fri, 02 Jan 1970"));
	ck_assert_ptr_nonnull(strstr(out,
		"Final-Recipient: rfc822; b@y.test\r\nAction: failed\r\n"
		"Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 "
		"<b@y.test>: unknown\r\n"));
	/* A remote's CR LF cannot start a header of ours. */
	ck_assert_ptr_null(strstr(out, "\nInjected"));
	ck_assert_ptr_nonnull(strstr(out, "Status: 5.4.7\r\n"));
	ck_assert_ptr_nonnull(strstr(out, "Content-Type: text/rfc822-headers"
				     "\r\n\r\nFrom: a@x.test\r\n"
				     "Subject: hi\r\n\r\n--"));
	ck_assert_ptr_null(strstr(out, "body"));
	/* Only CRLF line ends. */
	for (size_t i = 0; i < len; i++)
		if (out[i] == '\n')
			ck_assert_int_eq(out[i - 1], '\r');
	free(out);
	d.rcpt_count = 0;
	ck_assert_int_eq(queue_dsn_build(&d, &out, &len), -EINVAL);
}
END_TEST

/* A "header" of a million lines (no empty line: the whole message) comes
 * back as its whole lines that fit in QUEUE_DSN_HEADERS_MAX. */
START_TEST(dsn_returns_a_bounded_header)
{
	static const char line[] = "X-Filler: 0123456789abcdef\r\n";
	const struct queue_dsn_rcpt rcpt = { "b@y.test", "550 no" };
	size_t n = 1000000, ll = sizeof line - 1;
	char *msg = malloc(n * ll), *out, *part, *end;
	struct queue_dsn d = {
		.hostname = "mail.x.test", .sender = "a@x.test",
		.message = msg, .message_len = n * ll,
		.rcpts = &rcpt, .rcpt_count = 1, .unique = 1,
	};
	size_t len;

	for (size_t i = 0; i < n; i++)
		memcpy(msg + i * ll, line, ll);
	ck_assert_int_eq(queue_dsn_build(&d, &out, &len), 0);
	part = strstr(out, "Content-Type: text/rfc822-headers\r\n\r\n");
	ck_assert_ptr_nonnull(part);
	part += strlen("Content-Type: text/rfc822-headers\r\n\r\n");
	end = strstr(part, "\r\n\r\n--");
	ck_assert_ptr_nonnull(end);
	end += 2;
	ck_assert_uint_eq((size_t)(end - part),
			  QUEUE_DSN_HEADERS_MAX / ll * ll);
	ck_assert_int_eq(memcmp(end - ll, line, ll), 0);
	ck_assert_uint_lt(len, QUEUE_DSN_HEADERS_MAX + 4096);
	free(out);
	free(msg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("queue_proto");
	TCase *tc = tcase_create("pure");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, reply_multiline_bytewise);
	tcase_add_test(tc, reply_whole_buffer_and_bare_lf);
	tcase_add_test(tc, dsn_returns_a_bounded_header);
	tcase_add_test(tc, reply_malformed_and_long);
	tcase_add_test(tc, dot_stuffing);
	tcase_add_test(tc, backoff);
	tcase_add_test(tc, dsn_status);
	tcase_add_test(tc, dsn_build);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
