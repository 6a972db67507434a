/* http.so's request reader, fed whole, one byte at a time and at every
 * limit's boundary; forms, cookies and encodings; the panel's Sieve
 * script written, read back, and recognised as edited by hand. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_buf.h"
#include "http_reader.h"
#include "http_sieve.h"

static struct http_reader r;

static void setup(void)
{
	http_reader_init(&r, 1024);
}

static void teardown(void)
{
	http_reader_free(&r);
}

/* Feeds text in pieces of `step` bytes; the result of the last feed and
 * the bytes left unread after a DONE in *rest_r. */
static enum http_read feed(const char *text, size_t step, size_t *rest_r)
{
	size_t len = strlen(text), off = 0;
	enum http_read res = HTTP_READ_AGAIN;

	while (off < len) {
		size_t n = len - off < step ? len - off : step;
		size_t used;
		res = http_reader_feed(&r, text + off, n, &used);
		off += used;
		if (res != HTTP_READ_AGAIN)
			break;
		ck_assert_uint_eq(used, n);
	}
	if (rest_r != NULL)
		*rest_r = len - off;
	return res;
}

static const char post[] =
	"POST /login?x=1 HTTP/1.1\r\nHost: mail.example.test\r\n"
	"Cookie: a=1\r\nCookie: b=2\r\nContent-Type: application/"
	"x-www-form-urlencoded\r\nAccept-Language: it\r\n"
	"Content-Length: 11\r\n\r\nuser=x&p=yz";

START_TEST(request_whole_and_byte_by_byte)
{
	size_t steps[] = { 1000, 1, 2, 7 };

	for (size_t i = 0; i < 4; i++) {
		size_t rest;
		http_reader_init(&r, 1024);
		ck_assert_int_eq(feed(post, steps[i], &rest), HTTP_READ_DONE);
		ck_assert_uint_eq(rest, 0);
		ck_assert_int_eq(r.req.method, HTTP_POST);
		ck_assert_str_eq(r.req.url, "/login?x=1");
		ck_assert_str_eq(r.req.host, "mail.example.test");
		ck_assert_str_eq(r.req.cookie, "a=1; b=2");
		ck_assert_str_eq(r.req.accept_language, "it");
		ck_assert_str_eq(r.req.body, "user=x&p=yz");
		ck_assert(r.req.keep_alive);
		http_reader_free(&r);
	}
}
END_TEST

START_TEST(pipelined_one_at_a_time)
{
	const char two[] = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
			   "GET /b HTTP/1.1\r\nHost: x\r\nConnection: close"
			   "\r\n\r\n";
	size_t used;

	ck_assert_int_eq(http_reader_feed(&r, two, strlen(two), &used),
			 HTTP_READ_DONE);
	ck_assert_str_eq(r.req.url, "/a");
	ck_assert(r.req.keep_alive);
	/* Until the next one is asked for, nothing more is read. */
	ck_assert_uint_lt(used, strlen(two));
	http_reader_next(&r);
	size_t used2;
	ck_assert_int_eq(http_reader_feed(&r, two + used, strlen(two) - used,
					  &used2), HTTP_READ_DONE);
	ck_assert_uint_eq(used + used2, strlen(two));
	ck_assert_str_eq(r.req.url, "/b");
	ck_assert(!r.req.keep_alive);
}
END_TEST

static enum http_read request_with(const char *line, const char *headers,
				   size_t step)
{
	struct { char *p; } b;
	size_t n = strlen(line) + strlen(headers) + 64;

	b.p = malloc(n);
	snprintf(b.p, n, "%s\r\n%s\r\n", line, headers);
	enum http_read res = feed(b.p, step, NULL);
	free(b.p);
	return res;
}

START_TEST(request_target_limit)
{
	char *line = malloc(HTTP_URL_MAX + 64);

	for (int over = 0; over <= 1; over++) {
		http_reader_init(&r, 1024);
		size_t n = HTTP_URL_MAX + (size_t)over;
		strcpy(line, "GET /");
		memset(line + 5, 'a', n - 1);
		strcpy(line + 4 + n, " HTTP/1.1");
		enum http_read res = request_with(line, "Host: x\r\n", 1 + over);
		ck_assert_int_eq(res, over ? HTTP_READ_ERROR : HTTP_READ_DONE);
		if (over)
			ck_assert_int_eq(r.status, 414);
		else
			ck_assert_uint_eq(r.req.url_len, HTTP_URL_MAX);
		http_reader_free(&r);
	}
	free(line);
}
END_TEST

START_TEST(header_count_limit)
{
	char headers[HTTP_HEADERS_MAX * 16 + 32] = "";

	for (int over = 0; over <= 1; over++) {
		http_reader_init(&r, 1024);
		headers[0] = '\0';
		for (int i = 0; i < HTTP_HEADERS_MAX + over; i++)
			sprintf(headers + strlen(headers), "X-%d: v\r\n", i);
		enum http_read res = request_with("GET / HTTP/1.1", headers,
						  3);
		ck_assert_int_eq(res, over ? HTTP_READ_ERROR : HTTP_READ_DONE);
		if (over)
			ck_assert_int_eq(r.status, 431);
		http_reader_free(&r);
	}
}
END_TEST

START_TEST(head_size_limit)
{
	size_t size = HTTP_HEAD_MAX + 100;
	char *headers = malloc(size);

	/* One header value too big for the head: refused while it arrives,
	 * not after (the reader never holds more than the limit). */
	snprintf(headers, size, "X-Big: ");
	memset(headers + 7, 'b', HTTP_HEAD_MAX);
	strcpy(headers + 7 + HTTP_HEAD_MAX, "\r\n");
	ck_assert_int_eq(request_with("GET / HTTP/1.1", headers, 1),
			 HTTP_READ_ERROR);
	ck_assert_int_eq(r.status, 431);
	free(headers);
}
END_TEST

START_TEST(kept_header_limit)
{
	char headers[600];

	/* A Host longer than we keep is refused, never cut. */
	snprintf(headers, sizeof(headers), "Host: %0300d\r\n", 0);
	ck_assert_int_eq(request_with("GET / HTTP/1.1", headers, 5),
			 HTTP_READ_ERROR);
	ck_assert_int_eq(r.status, 431);
}
END_TEST

START_TEST(body_limit)
{
	char text[2200];
	char body[1100];

	for (int over = 0; over <= 1; over++) {
		http_reader_init(&r, 1024);
		memset(body, 'a', 1024 + over);
		body[1024 + over] = '\0';
		snprintf(text, sizeof(text), "POST / HTTP/1.1\r\nHost: x\r\n"
			 "Content-Length: %d\r\n\r\n%s", 1024 + over, body);
		enum http_read res = feed(text, 100, NULL);
		ck_assert_int_eq(res, over ? HTTP_READ_ERROR : HTTP_READ_DONE);
		if (over)
			ck_assert_int_eq(r.status, 413);
		http_reader_free(&r);
		/* Chunked: counted as it arrives. */
		http_reader_init(&r, 1024);
		snprintf(text, sizeof(text), "POST / HTTP/1.1\r\nHost: x\r\n"
			 "Transfer-Encoding: chunked\r\n\r\n200\r\n%.512s\r\n"
			 "%x\r\n%s\r\n0\r\n\r\n", body, 512 + over,
			 body + 512);
		res = feed(text, 1, NULL);
		ck_assert_int_eq(res, over ? HTTP_READ_ERROR : HTTP_READ_DONE);
		if (!over)
			ck_assert_uint_eq(r.req.body_len, 1024);
		http_reader_free(&r);
	}
}
END_TEST

START_TEST(malformed)
{
	ck_assert_int_eq(feed("GARBAGE\r\n\r\n", 1, NULL), HTTP_READ_ERROR);
	ck_assert_int_eq(r.status, 400);
	http_reader_free(&r);
	http_reader_init(&r, 1024);
	ck_assert_int_eq(feed("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\n"
			      "Connection: Upgrade\r\n\r\n", 4, NULL),
			 HTTP_READ_ERROR);
	http_reader_free(&r);
	http_reader_init(&r, 1024);
	/* Both lengths: request smuggling's classic; refused. */
	ck_assert_int_eq(feed("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: "
			      "3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
			      "\r\n", 2, NULL), HTTP_READ_ERROR);
}
END_TEST

START_TEST(forms_and_cookies)
{
	struct form f;
	char buf[64];

	ck_assert_int_eq(form_parse(&f, "a=1&b=x+y%21&a=2&c&=z", 21), 0);
	ck_assert_str_eq(form_get(&f, "a"), "1");
	ck_assert_str_eq(form_get(&f, "b"), "x y!");
	ck_assert_str_eq(form_get(&f, "c"), "");
	ck_assert_ptr_null(form_get(&f, "d"));
	form_free(&f);
	ck_assert_int_eq(form_parse(&f, "a=%2", 4), -EINVAL);
	form_free(&f);
	ck_assert_int_eq(form_parse(&f, "a=%00", 5), -EINVAL);
	form_free(&f);
	char many[FORM_MAX_FIELDS * 4 + 8] = "";
	for (int i = 0; i <= FORM_MAX_FIELDS; i++)
		strcat(many, "x=1&");
	ck_assert_int_eq(form_parse(&f, many, strlen(many)), -E2BIG);
	form_free(&f);

	ck_assert_int_eq(cookie_get("a=1; __Host-postino=abc; b=2",
				    "__Host-postino", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "abc");
	ck_assert_int_eq(cookie_get("__Host-postino-pre=zz", "__Host-postino",
				    buf, sizeof(buf)), -ENOENT);
	ck_assert_int_eq(cookie_get("x=0123456789", "x", buf, 5),
			 -ENAMETOOLONG);

	ck_assert_str_eq(accept_language_pick("de,it;q=0.8,en;q=0.9"), "en");
	ck_assert_str_eq(accept_language_pick("it-IT,it;q=0.9"), "it");
	ck_assert_ptr_null(accept_language_pick("de, fr"));
	ck_assert_ptr_null(accept_language_pick("english"));

	ck_assert(address_plausible("a.b+c@example.test"));
	ck_assert(!address_plausible("a@b"));
	ck_assert(!address_plausible("a b@example.test"));
	ck_assert(!address_plausible("a@b@example.test"));
	ck_assert(!address_plausible("\"a\"@example.test"));
	ck_assert(iso_date_valid("2030-12-31"));
	ck_assert(!iso_date_valid("2030-13-01"));
	ck_assert(!iso_date_valid("30-12-31"));
}
END_TEST

START_TEST(escaping)
{
	struct hbuf b;

	hbuf_init(&b, 1024);
	hbuf_html(&b, "<a href=\"x\">'&'</a>");
	ck_assert_str_eq(hbuf_cstr(&b),
			 "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
	hbuf_reset(&b);
	hbuf_urlenc(&b, "a b@c/d");
	ck_assert_str_eq(hbuf_cstr(&b), "a%20b%40c%2Fd");
	hbuf_free(&b);
	/* Past the cap nothing is cut: the buffer says it overflowed. */
	hbuf_init(&b, 8);
	ck_assert_int_eq(hbuf_str(&b, "12345678"), 0);
	ck_assert_int_eq(hbuf_str(&b, "9"), -E2BIG);
	ck_assert(b.overflow);
	hbuf_free(&b);
}
END_TEST

static struct panel_rules rules_from(const char *text)
{
	struct form f;
	struct panel_rules rules;
	const char *what;

	ck_assert_int_eq(form_parse(&f, text, strlen(text)), 0);
	ck_assert_int_eq(panel_rules_from_form(&f, &rules, &what), 0);
	form_free(&f);
	return rules;
}

START_TEST(sieve_script_round_trip)
{
	struct panel_rules rules = rules_from(
		"vacation=1&subject=Away+%22now%22&text=Line+1%0D%0ALine+2%5C"
		"&start=2030-01-01&end=2030-01-31&forward=b%40x.test%0Ac%40y.test"
		"&keep=1");
	struct hbuf script;
	struct panel_rules back;

	ck_assert_uint_eq(rules.forward_count, 2);
	hbuf_init(&script, 65536);
	ck_assert_int_eq(panel_script(&rules, &script), 0);
	ck_assert_ptr_nonnull(strstr(hbuf_cstr(&script),
		"vacation :days 1 :subject \"Away \\\"now\\\"\" "
		"\"Line 1\r\nLine 2\\\\\";"));
	ck_assert_ptr_nonnull(strstr(hbuf_cstr(&script),
		"currentdate :value \"ge\" \"date\" \"2030-01-01\""));
	ck_assert_ptr_nonnull(strstr(hbuf_cstr(&script),
				     "redirect :copy \"c@y.test\";"));
	/* Read back: the panel's own, with the same rules. */
	ck_assert_int_eq(panel_script_read(script.data, script.len, &back), 1);
	ck_assert(back.vacation && back.keep);
	ck_assert_str_eq(back.subject, "Away \"now\"");
	ck_assert_str_eq(back.text, "Line 1\r\nLine 2\\");
	ck_assert_str_eq(back.end, "2030-01-31");
	ck_assert_str_eq(back.forward[1], "c@y.test");
	/* One byte changed by hand: no longer the panel's. */
	char *edited = strdup(script.data);
	edited[strlen(edited) - 3] = 'X';
	ck_assert_int_eq(panel_script_read(edited, strlen(edited), &back), 0);
	free(edited);
	ck_assert_int_eq(panel_script_read("keep;\r\n", 7, &back), 0);
	hbuf_free(&script);

	/* Without keep, forwarding cancels the implicit keep. */
	rules = rules_from("forward=b%40x.test");
	hbuf_init(&script, 65536);
	panel_script(&rules, &script);
	ck_assert_ptr_nonnull(strstr(hbuf_cstr(&script),
				     "\nredirect \"b@x.test\";"));
	ck_assert_ptr_null(strstr(hbuf_cstr(&script), "vacation :"));
	hbuf_free(&script);
}
END_TEST

START_TEST(sieve_rules_refused)
{
	static const char *const bad[][2] = {
		{ "vacation=1&subject=&text=x", "err_vacation_empty" },
		{ "start=2030-02-30x", "err_date" },
		{ "start=2030-02-01&end=2030-01-01", "err_date_order" },
		{ "forward=not-an-address", "err_forward" },
		{ "forward=a%40x.t+b%40x.t+c%40x.t+d%40x.t+e%40x.t",
		  "err_forward_many" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct form f;
		struct panel_rules rules;
		const char *what = NULL;
		ck_assert_int_eq(form_parse(&f, bad[i][0], strlen(bad[i][0])),
				 0);
		ck_assert_int_eq(panel_rules_from_form(&f, &rules, &what),
				 -EINVAL);
		ck_assert_str_eq(what, bad[i][1]);
		form_free(&f);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("reader");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, request_whole_and_byte_by_byte);
	tcase_add_test(tc, pipelined_one_at_a_time);
	tcase_add_test(tc, request_target_limit);
	tcase_add_test(tc, header_count_limit);
	tcase_add_test(tc, head_size_limit);
	tcase_add_test(tc, kept_header_limit);
	tcase_add_test(tc, body_limit);
	tcase_add_test(tc, malformed);
	suite_add_tcase(s, tc);
	tc = tcase_create("encodings");
	tcase_add_test(tc, forms_and_cookies);
	tcase_add_test(tc, escaping);
	tcase_add_test(tc, sieve_script_round_trip);
	tcase_add_test(tc, sieve_rules_refused);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
