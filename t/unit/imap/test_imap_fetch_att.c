/* FETCH attributes: every name and macro, sections, partials, labels,
 * every rejection, and the HEADER.FIELDS(.NOT) filter. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap_fetch_att.h"
#include "test_imap.h"

static struct imap_command *cmd;
static struct imap_fetch *f;
static const char *err;
static struct imap_buf out;

static void setup(void)
{
	imap_buf_init(&out, 0);
}

static void teardown(void)
{
	if (cmd != NULL)
		imap_command_free(&cmd);
	if (f != NULL)
		imap_fetch_free(&f);
	imap_buf_free(&out);
}

/* Parses "X FETCH 1 <att>" and the attribute argument. */
static int fetch(const char *att)
{
	char line[512];
	const char *perr;

	snprintf(line, sizeof(line), "X FETCH 1 %s", att);
	if (cmd != NULL)
		imap_command_free(&cmd);
	if (f != NULL)
		imap_fetch_free(&f);
	ck_assert_int_eq(imap_parse_command(line, strlen(line), NULL, &cmd,
					    &perr), 0);
	ck_assert_uint_eq(cmd->n_args, 2);
	return imap_fetch_parse(&cmd->args[1], &f, &err);
}

static const char *label(size_t i)
{
	imap_buf_clear(&out);
	ck_assert_int_eq(imap_fetch_body_label(&f->bodies[i], &out), 0);
	return out.data;
}

#define ck_fetch_bad(att, text) do { \
	ck_assert_int_eq(fetch(att), -EINVAL); \
	ck_assert_ptr_null(f); \
	ck_assert_str_eq(err, text); \
} while (0)

START_TEST(simple_and_macros)
{
	ck_assert_int_eq(fetch("(flags INTERNALDATE rfc822.size ENVELOPE "
			       "BODY BODYSTRUCTURE UID RFC822 RFC822.HEADER "
			       "RFC822.TEXT)"), 0);
	ck_assert_uint_eq(f->flags, 0x3ff);
	ck_assert_uint_eq(f->n_bodies, 0);
	ck_assert_int_eq(fetch("uid"), 0);
	ck_assert_uint_eq(f->flags, IMAP_FETCH_UID);
	ck_assert_int_eq(fetch("FAST"), 0);
	ck_assert_uint_eq(f->flags, IMAP_FETCH_FLAGS |
			  IMAP_FETCH_INTERNALDATE | IMAP_FETCH_RFC822_SIZE);
	ck_assert_int_eq(fetch("all"), 0);
	ck_assert_uint_eq(f->flags, IMAP_FETCH_FLAGS |
			  IMAP_FETCH_INTERNALDATE | IMAP_FETCH_RFC822_SIZE |
			  IMAP_FETCH_ENVELOPE);
	ck_assert_int_eq(fetch("Full"), 0);
	ck_assert_uint_eq(f->flags, IMAP_FETCH_FLAGS |
			  IMAP_FETCH_INTERNALDATE | IMAP_FETCH_RFC822_SIZE |
			  IMAP_FETCH_ENVELOPE | IMAP_FETCH_BODY);
	ck_assert_uint_eq(f->n_bodies, 0);
	ck_fetch_bad("(ALL)", "Invalid fetch attribute");
	ck_fetch_bad("(FLAGS FAST)", "Invalid fetch attribute");
	ck_fetch_bad("()", "Empty fetch attribute list");
	ck_fetch_bad("FLAG", "Invalid fetch attribute");
	ck_fetch_bad("FLAGSS", "Invalid fetch attribute");
	ck_fetch_bad("\"FLAGS\"", "Invalid fetch attribute");
	ck_fetch_bad("(FLAGS (UID))", "Invalid fetch attribute");
	ck_fetch_bad("NIL", "Invalid fetch attribute");
	ck_fetch_bad("BODY.PEEK", "Invalid fetch attribute");
	ck_fetch_bad("RFC822.PEEK", "Invalid fetch attribute");
	ck_fetch_bad("BODYX[]", "Invalid fetch attribute");
}
END_TEST

START_TEST(sections)
{
	const struct imap_fetch_body *b;

	ck_assert_int_eq(fetch("(BODY[] body.peek[HEADER] BODY[TEXT] "
			       "BODY[1] BODY[1.2.MIME] BODY[3.HEADER] "
			       "BODY[4.1.TEXT] BODY.PEEK[1.2.3.4])"), 0);
	ck_assert_uint_eq(f->n_bodies, 8);
	ck_assert_uint_eq(f->flags, 0);
	b = f->bodies;
	ck_assert(!b[0].peek);
	ck_assert_int_eq(b[0].kind, IMAP_SECTION_WHOLE);
	ck_assert_uint_eq(b[0].depth, 0);
	ck_assert(!b[0].partial);
	ck_assert(b[1].peek);
	ck_assert_int_eq(b[1].kind, IMAP_SECTION_HEADER);
	ck_assert_int_eq(b[2].kind, IMAP_SECTION_TEXT);
	ck_assert_int_eq(b[3].kind, IMAP_SECTION_WHOLE);
	ck_assert_uint_eq(b[3].depth, 1);
	ck_assert_uint_eq(b[3].part[0], 1);
	ck_assert_int_eq(b[4].kind, IMAP_SECTION_MIME);
	ck_assert_uint_eq(b[4].depth, 2);
	ck_assert_uint_eq(b[4].part[1], 2);
	ck_assert_int_eq(b[5].kind, IMAP_SECTION_HEADER);
	ck_assert_int_eq(b[6].kind, IMAP_SECTION_TEXT);
	ck_assert_uint_eq(b[6].depth, 2);
	ck_assert_uint_eq(b[7].depth, 4);
	ck_assert_uint_eq(b[7].part[3], 4);
	ck_assert_str_eq(label(0), "BODY[]");
	ck_assert_str_eq(label(1), "BODY[HEADER]");
	ck_assert_str_eq(label(2), "BODY[TEXT]");
	ck_assert_str_eq(label(3), "BODY[1]");
	ck_assert_str_eq(label(4), "BODY[1.2.MIME]");
	ck_assert_str_eq(label(5), "BODY[3.HEADER]");
	ck_assert_str_eq(label(6), "BODY[4.1.TEXT]");
	ck_assert_str_eq(label(7), "BODY[1.2.3.4]");
	ck_assert_int_eq(fetch("BODY[4294967295]"), 0);
	ck_assert_str_eq(label(0), "BODY[4294967295]");
}
END_TEST

START_TEST(header_fields_and_partials)
{
	const struct imap_fetch_body *b;

	ck_assert_int_eq(fetch("(UID BODY.PEEK[HEADER.FIELDS (DATE From)]"
			       "<0.100> BODY[2.header.fields.not (\"X-A\" b)]"
			       "<4294967295.4294967295>)"), 0);
	ck_assert_uint_eq(f->flags, IMAP_FETCH_UID);
	b = f->bodies;
	ck_assert(b[0].peek);
	ck_assert_int_eq(b[0].kind, IMAP_SECTION_HEADER_FIELDS);
	ck_assert_uint_eq(b[0].n_fields, 2);
	ck_assert_str_eq(b[0].fields[0], "DATE");
	ck_assert_str_eq(b[0].fields[1], "From");
	ck_assert(b[0].partial);
	ck_assert_uint_eq(b[0].origin, 0);
	ck_assert_uint_eq(b[0].length, 100);
	ck_assert_int_eq(b[1].kind, IMAP_SECTION_HEADER_FIELDS_NOT);
	ck_assert_uint_eq(b[1].n_fields, 2);
	ck_assert_str_eq(b[1].fields[0], "X-A");
	/* A sorted copy for the filter; the label keeps the client's. */
	ck_assert_str_eq(b[1].sorted[0], "b");
	ck_assert_str_eq(b[1].sorted[1], "X-A");
	ck_assert_str_eq(b[0].sorted[0], "DATE");
	ck_assert_uint_eq(b[1].origin, UINT32_MAX);
	ck_assert_uint_eq(b[1].length, UINT32_MAX);
	ck_assert_str_eq(label(0), "BODY[HEADER.FIELDS (DATE From)]<0>");
	ck_assert_str_eq(label(1), "BODY[2.HEADER.FIELDS.NOT (X-A b)]"
			 "<4294967295>");
	/* Names that are not atoms come back quoted. */
	ck_assert_int_eq(fetch("BODY[HEADER.FIELDS (\"a\\\"b\" NIL)]"), 0);
	ck_assert_str_eq(label(0), "BODY[HEADER.FIELDS (\"a\\\"b\" \"NIL\")]");
	/* A label that does not fit leaves the buffer unchanged. */
	imap_buf_free(&out);
	imap_buf_init(&out, 10);
	ck_assert_int_eq(imap_fetch_body_label(&f->bodies[0], &out), -E2BIG);
	ck_assert_uint_eq(out.len, 0);
}
END_TEST

START_TEST(rejections)
{
	ck_fetch_bad("BODY[MIME]", "MIME needs a part number");
	ck_fetch_bad("BODY[0]", "Invalid part number");
	ck_fetch_bad("BODY[1.0]", "Invalid part number");
	ck_fetch_bad("BODY[4294967296]", "Invalid part number");
	ck_fetch_bad("BODY[1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17]",
		     "Section nested too deeply");
	ck_assert_int_eq(fetch("BODY[1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16]"),
			 0);
	ck_fetch_bad("BODY[1.]", "Invalid section");
	ck_fetch_bad("BODY[1x]", "Invalid section");
	ck_fetch_bad("BODY[.1]", "Invalid section");
	ck_fetch_bad("BODY[HEAD]", "Invalid section");
	ck_fetch_bad("BODY[HEADERS]", "Invalid section");
	ck_fetch_bad("BODY[TEXT ]", "Invalid section");
	ck_fetch_bad("BODY[1.HEADERX]", "Invalid section");
	ck_fetch_bad("BODY[HEADER.FIELDS]", "Invalid section");
	ck_fetch_bad("BODY[HEADER.FIELDS.NOT]", "Invalid section");
	ck_fetch_bad("BODY[HEADER.FIELDS ()]", "Invalid header field name");
	ck_fetch_bad("BODY[HEADER.FIELDS (A )]", "Invalid header field name");
	ck_fetch_bad("BODY[HEADER.FIELDS (A:B)]", "Invalid header field name");
	ck_fetch_bad("BODY[HEADER.FIELDS (\"A B\")]",
		     "Invalid header field name");
	ck_fetch_bad("BODY[HEADER.FIELDS (\"\")]", "Invalid header field name");
	ck_fetch_bad("BODY[HEADER.FIELDS (A(B)]", "Invalid header field name");
	ck_fetch_bad("BODY[HEADER.FIELDS (\"A)]", "Invalid header field list");
	ck_fetch_bad("BODY[HEADER.FIELDS (A\"B)]", "Invalid header field name");
	ck_fetch_bad("BODY[HEADER.FIELDS A]", "Invalid header field list");
	ck_fetch_bad("BODY[HEADER.FIELDS (A) ]", "Invalid section");
	ck_fetch_bad("BODY[HEADER.FIELDS (A)(B)]", "Invalid section");
	ck_fetch_bad("BODY[HEADER.FIELDS (A]", "Invalid header field list");
	ck_fetch_bad("BODY[]x", "Invalid partial");
	ck_fetch_bad("BODY[]<0>", "Invalid partial");
	ck_fetch_bad("BODY[]<0.0>", "Invalid partial");
	ck_fetch_bad("BODY[]<.1>", "Invalid partial");
	ck_fetch_bad("BODY[]<1.>", "Invalid partial");
	ck_fetch_bad("BODY[]<1.2", "Invalid partial");
	ck_fetch_bad("BODY[]<1.2>x", "Invalid partial");
	ck_fetch_bad("BODY[]<4294967296.1>", "Invalid partial");
	ck_fetch_bad("BODY[]<0.4294967296>", "Invalid partial");
	ck_fetch_bad("(FLAGS BODY[0])", "Invalid part number");
}
END_TEST

static const char header[] =
	"Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n"
	"From: Fred <fred@example.com>\r\n"
	"Subject: afternoon\r\n"
	" meeting\r\n"
	"\tagain\r\n"
	"X-Bare: lf only\n"
	"no colon here\r\n"
	"from : obsolete spacing\r\n"
	"\r\n"
	"Body: not a header\r\n";

static const char *filter(bool exclude, const char *n1, const char *n2)
{
	static char buf[sizeof(header) + 2];
	const char *names[2] = { n1, n2 };
	size_t len;

	imap_header_names_sort(names, n2 != NULL ? 2 : 1);
	ck_assert_int_eq(imap_header_filter(header, sizeof(header) - 1, names,
					    n2 != NULL ? 2 : 1, exclude, buf,
					    sizeof(buf), &len), 0);
	buf[len] = '\0';
	return buf;
}

START_TEST(header_filter)
{
	char small[12];
	size_t len;
	const char *names[] = { "subject" };

	ck_assert_str_eq(filter(false, "SUBJECT", NULL),
			 "Subject: afternoon\r\n meeting\r\n\tagain\r\n\r\n");
	ck_assert_str_eq(filter(false, "from", "x-bare"),
			 "From: Fred <fred@example.com>\r\n"
			 "X-Bare: lf only\n"
			 "from : obsolete spacing\r\n\r\n");
	ck_assert_str_eq(filter(false, "Body", "no colon here"), "\r\n");
	ck_assert_str_eq(filter(true, "subject", "FROM"),
			 "Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n"
			 "X-Bare: lf only\n"
			 "no colon here\r\n\r\n");
	/* A leading continuation line has no field: only .NOT keeps it;
	 * a header without the empty line ends at the end of the text. */
	ck_assert_int_eq(imap_header_filter(" x\r\nA: 1", 8, names, 1, true,
					    small, sizeof(small), &len), 0);
	ck_assert_uint_eq(len, 10);
	ck_assert_mem_eq(small, " x\r\nA: 1\r\n", 10);
	ck_assert_int_eq(imap_header_filter(" x\r\nA: 1", 8, names, 1, false,
					    small, sizeof(small), &len), 0);
	ck_assert_uint_eq(len, 2);
	ck_assert_int_eq(imap_header_filter("", 0, names, 1, true, small,
					    sizeof(small), &len), 0);
	ck_assert_uint_eq(len, 2);
	ck_assert_int_eq(imap_header_filter("\n", 1, names, 1, true, small,
					    sizeof(small), &len), 0);
	ck_assert_uint_eq(len, 2);
	/* Too small: for a line, and for the final CRLF. */
	ck_assert_int_eq(imap_header_filter("Subject: 123456\r\n", 17, names,
					    1, false, small, 16, &len),
			 -ENOSPC);
	ck_assert_int_eq(imap_header_filter("Subject: 1\r\n", 12, names, 1,
					    false, small, 12, &len), -ENOSPC);
}
END_TEST

/* Thousands of names and thousands of lines: the filter agrees with a
 * plain scan of the list (it binary-searches the sorted names). */
START_TEST(header_filter_many_names)
{
	enum { NAMES = 3000, LINES = 6000 };
	static char name_buf[NAMES][12], hdr[LINES * 16], kept[LINES * 16 + 2];
	static const char *names[NAMES], *sorted[NAMES];
	size_t len = 0, out_len;
	unsigned seed = 99;

	for (int i = 0; i < NAMES; i++) {
		snprintf(name_buf[i], sizeof(name_buf[i]), "%c-%d",
			 "aAbB"[i % 4], rand_r(&seed) % 5000);
		names[i] = sorted[i] = name_buf[i];
	}
	imap_header_names_sort(sorted, NAMES);
	for (int i = 0; i < LINES; i++)
		len += (size_t)sprintf(hdr + len, "%c-%d: v\r\n",
				       "abAB"[i % 4], i % 5000);
	for (int exclude = 0; exclude < 2; exclude++) {
		size_t want = 0;
		ck_assert_int_eq(imap_header_filter(hdr, len, sorted, NAMES,
						    exclude, kept, sizeof(kept),
						    &out_len), 0);
		for (size_t pos = 0; pos < len;) {
			const char *line = hdr + pos;
			size_t llen = (size_t)(strchr(line, '\n') - line) + 1;
			size_t nlen = (size_t)(strchr(line, ':') - line);
			bool listed = false;
			for (int k = 0; k < NAMES && !listed; k++)
				listed = strlen(names[k]) == nlen &&
					 strncasecmp(names[k], line,
						     nlen) == 0;
			if (listed != exclude) {
				CHECK(memcmp(kept + want, line, llen) == 0);
				want += llen;
			}
			pos += llen;
		}
		ck_assert_uint_eq(out_len, want + 2);
	}
}
END_TEST

Suite *imap_fetch_att_suite(void)
{
	Suite *s = suite_create("imap_fetch_att");
	TCase *tc = tcase_create("fetch_att");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, simple_and_macros);
	tcase_add_test(tc, sections);
	tcase_add_test(tc, header_fields_and_partials);
	tcase_add_test(tc, header_filter_many_names);
	tcase_add_test(tc, rejections);
	tcase_add_test(tc, header_filter);
	suite_add_tcase(s, tc);
	return s;
}
