/* The Received: header: protocol names, folding, hostile HELO names. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smtp_received.h"
#include "test_smtp.h"

static void utc(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
}

/* Every line at most SMTP_RECEIVED_FOLD bytes; continuation lines start
 * with a tab; it ends with CRLF and has no other CR or LF. */
static void check_folding(const char *h)
{
	const char *line = h;

	for (;;) {
		const char *crlf = strstr(line, "\r\n");
		ck_assert_ptr_nonnull(crlf);
		ck_assert_uint_le((size_t)(crlf - line), SMTP_RECEIVED_FOLD);
		ck_assert_ptr_null(memchr(line, '\n', (size_t)(crlf - line)));
		ck_assert_ptr_null(memchr(line, '\r', (size_t)(crlf - line)));
		line = crlf + 2;
		if (*line == '\0')
			break;
		ck_assert_int_eq(*line, '\t');
	}
}

START_TEST(with_names)
{
	ck_assert_str_eq(smtp_received_with(0, 0, 0), "SMTP");
	ck_assert_str_eq(smtp_received_with(1, 0, 0), "ESMTP");
	ck_assert_str_eq(smtp_received_with(1, 1, 0), "ESMTPS");
	ck_assert_str_eq(smtp_received_with(1, 0, 1), "ESMTPA");
	ck_assert_str_eq(smtp_received_with(1, 1, 1), "ESMTPSA");
}
END_TEST

START_TEST(date)
{
	char buf[64];

	utc();
	ck_assert_uint_gt(smtp_rfc5322_date(1136214245, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "Mon, 02 Jan 2006 15:04:05 +0000");
	ck_assert_uint_eq(smtp_rfc5322_date(1136214245, buf, 10), 0);
}
END_TEST

START_TEST(header)
{
	char h[1024];
	struct smtp_received r = {
		.helo = "client.example.org",
		.client_ip = "192.0.2.7",
		.hostname = "mx.example.net",
		.esmtp = 1,
		.tls = 1,
		.authenticated = 1,
		.tls_version = "TLS1.3",
		.tls_cipher = "AES-256-GCM",
		.id = "abc123",
		.when = 1136214245,
	};

	utc();
	size_t n = smtp_received_format(&r, h, sizeof(h));
	ck_assert_uint_eq(n, strlen(h));
	ck_assert_str_eq(h,
		"Received: from client.example.org (client.example.org "
		"[192.0.2.7])\r\n"
		"\tby mx.example.net (Postino) with ESMTPSA (TLS1.3 "
		"AES-256-GCM) id abc123;\r\n"
		"\tMon, 02 Jan 2006 15:04:05 +0000\r\n");
	check_folding(h);

	r.tls = 0;
	r.authenticated = 0;
	ck_assert_uint_gt(smtp_received_format(&r, h, sizeof(h)), 0);
	ck_assert_ptr_nonnull(strstr(h, "with ESMTP id abc123;"));
	ck_assert_ptr_null(strstr(h, "TLS1.3"));
	check_folding(h);

	/* Too small a buffer: nothing, not a cut header. */
	ck_assert_uint_eq(smtp_received_format(&r, h, 40), 0);
}
END_TEST

START_TEST(hostile_helo)
{
	char h[2048], helo[256];
	struct smtp_received r = {
		.helo = "evil(x)\\\";by fake",
		.client_ip = "2001:db8::1",
		.hostname = "mx.example.net",
		.esmtp = 1,
		.id = "s1",
		.when = 0,
	};

	ck_assert_uint_gt(smtp_received_format(&r, h, sizeof(h)), 0);
	ck_assert_ptr_nonnull(strstr(h, "from evil_x____by_fake "
					"(evil_x____by_fake [2001:db8::1])"));
	check_folding(h);

	/* A 255-byte HELO: long words stay whole, the rest still folds. */
	memset(helo, 'h', 255);
	helo[255] = '\0';
	r.helo = helo;
	ck_assert_uint_gt(smtp_received_format(&r, h, sizeof(h)), 0);
	ck_assert_ptr_nonnull(strstr(h, "\r\n\tby mx.example.net"));
	r.helo = NULL;
	ck_assert_uint_gt(smtp_received_format(&r, h, sizeof(h)), 0);
	ck_assert_ptr_nonnull(strstr(h, "from unknown (unknown [2001:db8::1])"));
}
END_TEST

Suite *smtp_received_suite(void)
{
	Suite *s = suite_create("smtp_received");
	TCase *tc = tcase_create("received");

	tcase_add_test(tc, with_names);
	tcase_add_test(tc, date);
	tcase_add_test(tc, header);
	tcase_add_test(tc, hostile_helo);
	suite_add_tcase(s, tc);
	return s;
}
