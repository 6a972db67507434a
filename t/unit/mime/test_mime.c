/* core/mime: ENVELOPE, BODY, BODYSTRUCTURE and section ranges of the
 * messages in corpus/ (LF in the files, CRLF as stored, except bare-lf),
 * GMime agreeing with the ranges, hostile shapes and random mutations. */
#include <check.h>
#include <errno.h>
#include <gmime/gmime.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime/mime.h"

struct msg {
	char *data;
	size_t len;
};

static struct msg load(const char *name)
{
	const char *dir = getenv("POSTINO_MIME_CORPUS");
	char path[512];
	struct msg m = { 0 };
	char *raw;
	long n;
	FILE *f;

	ck_assert_ptr_nonnull(dir);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "%s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	raw = malloc((size_t)n + 1);
	ck_assert_int_eq(fread(raw, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	m.data = malloc((size_t)n * 2 + 1);
	for (long i = 0; i < n; i++) {
		if (raw[i] == '\n' && !strstr(name, "bare-lf"))
			m.data[m.len++] = '\r';
		m.data[m.len++] = raw[i];
	}
	free(raw);
	return m;
}

static const char *const corpus[] = {
	"simple.eml", "alternative.eml", "mixed.eml", "related.eml",
	"forward.eml", "forward-single.eml", "missing-close.eml",
	"no-boundary.eml", "8bit-headers.eml", "rfc2231.eml", "groups.eml",
	"no-headers.eml", "bare-lf.eml",
};
#define NCORPUS (sizeof(corpus) / sizeof(corpus[0]))

/* Expected strings, derived from RFC 3501 7.4.2 by hand. */
static const struct expect {
	const char *file, *envelope, *body, *bodystructure;
} expects[] = {
	{ "simple.eml",
	  "(\"Mon, 7 Feb 1994 21:52:25 -0800 (PST)\" \"afternoon meeting\" "
	  "((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.example\")) "
	  "((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.example\")) "
	  "((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.example\")) "
	  "((NIL NIL \"mooch\" \"owatagu.siam.edu.example\")) NIL NIL NIL "
	  "\"<B27397-0100000@Blurdybloop.example>\")",
	  "(\"text\" \"plain\" (\"charset\" \"US-ASCII\") NIL NIL \"7bit\" "
	  "55 1)",
	  "(\"text\" \"plain\" (\"charset\" \"US-ASCII\") NIL NIL \"7bit\" "
	  "55 1 NIL NIL NIL NIL)" },
	{ "alternative.eml",
	  "(\"Tue, 1 Jul 2003 10:52:37 +0200\" \"=?UTF-8?B?Q2Fmw6k=?= plans\" "
	  "((\"Doe, Jane\" NIL \"jane\" \"example.org\")) "
	  "((\"Doe, Jane\" NIL \"jane\" \"example.org\")) "
	  "((\"Doe, Jane\" NIL \"jane\" \"example.org\")) "
	  "((NIL NIL \"bob\" \"example.net\")"
	  "(\"Carol \\\"C\\\" Smith\" NIL \"carol\" \"example.net\")) "
	  "((\"=?UTF-8?Q?Andr=C3=A9?=\" NIL \"andre\" \"example.fr\")) NIL "
	  "\"<prev@example.org>\" \"<alt.1@example.org>\")",
	  "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL "
	  "\"quoted-printable\" 18 1)(\"text\" \"html\" (\"charset\" "
	  "\"utf-8\") NIL NIL \"7bit\" 20 1) \"alternative\")",
	  "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL "
	  "\"quoted-printable\" 18 1 NIL NIL NIL NIL)(\"text\" \"html\" "
	  "(\"charset\" \"utf-8\") NIL NIL \"7bit\" 20 1 NIL NIL NIL NIL) "
	  "\"alternative\" (\"boundary\" \"b1_alt\") NIL NIL NIL)" },
	{ "mixed.eml", NULL, NULL,
	  "((\"text\" \"plain\" NIL NIL NIL \"7bit\" 19 1 NIL NIL NIL NIL)"
	  "(\"application\" \"pdf\" (\"name\" \"report.pdf\") "
	  "\"<pdf1@example.org>\" \"Quarterly report\" \"base64\" 122 NIL "
	  "(\"attachment\" (\"filename\" \"report.pdf\")) NIL NIL) \"mixed\" "
	  "(\"boundary\" \"frontier\") NIL \"en\" NIL)" },
	{ "related.eml", NULL,
	  "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	  "14 1)((\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL "
	  "\"7bit\" 20 1)(\"image\" \"png\" NIL \"<logo>\" NIL \"base64\" 12)"
	  " \"related\") \"alternative\")",
	  "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	  "14 1 NIL NIL NIL NIL)((\"text\" \"html\" (\"charset\" "
	  "\"us-ascii\") NIL NIL \"7bit\" 20 1 NIL NIL NIL NIL)(\"image\" "
	  "\"png\" NIL \"<logo>\" NIL \"base64\" 12 NIL (\"inline\" NIL) NIL "
	  "\"http://example.com/logo.png\") \"related\" (\"boundary\" "
	  "\"inner\" \"type\" \"text/html\") NIL NIL NIL) \"alternative\" "
	  "(\"boundary\" \"outer\") NIL NIL NIL)" },
	{ "forward.eml", NULL,
	  "((\"text\" \"plain\" NIL NIL NIL \"7bit\" 10 1)(\"message\" "
	  "\"rfc822\" NIL NIL NIL \"7bit\" 324 (\"Wed, 2 Jul 2003 08:00:00 "
	  "+0000\" \"report\" ((NIL NIL \"alice\" \"example.org\")) ((NIL NIL "
	  "\"alice\" \"example.org\")) ((NIL NIL \"alice\" \"example.org\")) "
	  "((NIL NIL \"bob\" \"example.net\")) NIL NIL NIL "
	  "\"<inner@example.org>\") ((\"text\" \"plain\" NIL NIL NIL \"7bit\" "
	  "11 1)(\"application\" \"octet-stream\" NIL NIL NIL \"base64\" 4) "
	  "\"mixed\") 17) \"mixed\")", NULL },
	{ "forward-single.eml", NULL,
	  "((\"text\" \"plain\" NIL NIL NIL \"7bit\" 10 1)(\"message\" "
	  "\"rfc822\" NIL NIL NIL \"7bit\" 53 (NIL \"short\" ((NIL NIL \"x\" "
	  "\"example.org\")) ((NIL NIL \"x\" \"example.org\")) ((NIL NIL \"x\" "
	  "\"example.org\")) NIL NIL NIL NIL NIL) (\"text\" \"plain\" "
	  "(\"charset\" \"us-ascii\") NIL NIL \"7bit\" 14 1) 4) \"mixed\")",
	  NULL },
	{ "missing-close.eml", NULL,
	  "((\"text\" \"plain\" NIL NIL NIL \"7bit\" 5 1)(\"text\" \"plain\" "
	  "NIL NIL NIL \"7bit\" 35 1) \"mixed\")", NULL },
	{ "no-boundary.eml", NULL,
	  "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	  "38 2) \"mixed\")", NULL },
	{ "8bit-headers.eml",
	  "(NIL {9}\r\nCaf\xc3\xa9 \xe2\x82\xac ((\"=?utf-8?q?x?=\" NIL "
	  "\"jose\" \"example.org\")) ((\"=?utf-8?q?x?=\" NIL \"jose\" "
	  "\"example.org\")) ((\"=?utf-8?q?x?=\" NIL \"jose\" "
	  "\"example.org\")) (({5}\r\nJ\xc3\xb6rg NIL \"joerg\" "
	  "\"example.de\")) NIL NIL NIL NIL)",
	  "(\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"8bit\" 7 1)",
	  NULL },
	{ "rfc2231.eml", NULL, NULL,
	  "((\"application\" \"octet-stream\" (\"name*\" "
	  "\"utf-8''%E2%82%AC%20rates%20for%202024%20v1.txt\") NIL NIL "
	  "\"7bit\" 4 NIL (\"attachment\" (\"filename*\" "
	  "\"iso-8859-1'en'%A3rates.txt\")) NIL NIL) \"mixed\" (\"boundary\" "
	  "\"b\") NIL NIL NIL)" },
	{ "groups.eml",
	  "(NIL \"groups\" ((\"Team\" NIL \"team\" \"example.org\")) "
	  "((NIL NIL \"nodomain\" \"MISSING_DOMAIN\")) "
	  /* "(comment) plain@example.org (Plain Name)": the comment
	   * after a bare addr-spec is its display name */
	  "((\"Plain Name\" NIL \"plain\" \"example.org\")) "
	  "((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) "
	  "((NIL NIL \"Friends\" NIL)(\"Ann B\" NIL \"ann\" \"example.org\")"
	  "(NIL NIL \"bob\" \"example.org\")(NIL NIL NIL NIL)"
	  "(NIL NIL \"carl\" \"example.org\")) "
	  "((\"Route\" \"@relay.example,@b.example\" \"route\" "
	  "\"example.org\")) NIL NIL)", NULL, NULL },
	{ "no-headers.eml", "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
	  "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	  "32 1)", NULL },
	{ "bare-lf.eml", NULL,
	  "((\"text\" \"plain\" NIL NIL NIL \"7bit\" 3 1)(\"text\" \"plain\" "
	  "(\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1) \"mixed\")",
	  NULL },
};

START_TEST(corpus_strings_are_exact)
{
	const struct expect *e = &expects[_i];
	struct msg m = load(e->file);
	struct mime_summary s;

	ck_assert_int_eq(mime_summary_build(m.data, m.len, &s), 0);
	if (e->envelope)
		ck_assert_str_eq(s.envelope, e->envelope);
	if (e->body)
		ck_assert_str_eq(s.body, e->body);
	if (e->bodystructure)
		ck_assert_str_eq(s.bodystructure, e->bodystructure);
	mime_summary_free(&s);
	ck_assert_ptr_null(s.parts);
	free(m.data);
}
END_TEST

/* Section checks: path "2.1", which of H(eader) T(ext) M(ime) B(ody),
 * expected bytes or NULL for "section absent"; ENOENT as path "!x". */
static const struct section {
	const char *file, *path;
	char which;
	const char *bytes;
} sections[] = {
	{ "simple.eml", "", 'T', "Hello Joe, do you think we can meet at 3:30 "
				 "tomorrow?\r\n" },
	{ "simple.eml", "1", 'B', "Hello Joe, do you think we can meet at 3:30 "
				  "tomorrow?\r\n" },
	{ "simple.eml", "1", 'H', NULL },
	{ "alternative.eml", "1", 'B', "Caf=C3=A9 at noon?" },
	{ "alternative.eml", "2", 'B', "<p>Cafe at noon?</p>" },
	{ "alternative.eml", "2", 'M', "Content-Type: text/html; charset=utf-8"
				       "\r\nContent-Transfer-Encoding: 7bit"
				       "\r\n\r\n" },
	{ "alternative.eml", "!3", 'B', NULL },
	{ "alternative.eml", "!1.1", 'B', NULL },
	{ "alternative.eml", "!0", 'B', NULL },
	{ "mixed.eml", "2", 'B', "JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVu"
				 "Z3RoIDMgMCBSL0Zp\r\nbHRlci9GbGF0ZURlY29kZT4+"
				 "CnN0cmVhbQp4nDPQM1Qo5ypUMFAw0DMwslAw" },
	{ "related.eml", "2", 'B', "--inner\r\nContent-Type: text/html; "
		"charset=us-ascii\r\n\r\n<img src=\"cid:logo\">\r\n--inner\r\n"
		"Content-Type: image/png\r\nContent-Transfer-Encoding: base64"
		"\r\nContent-ID: <logo>\r\nContent-Disposition: inline\r\n"
		"Content-Location: http://example.com/logo.png\r\n\r\n"
		"iVBORw0KGgo=\r\n--inner--" },
	{ "related.eml", "2.2", 'B', "iVBORw0KGgo=" },
	{ "related.eml", "2.1", 'M', "Content-Type: text/html; "
				     "charset=us-ascii\r\n\r\n" },
	{ "forward.eml", "2", 'M', "Content-Type: message/rfc822\r\n"
				   "Content-Disposition: inline\r\n\r\n" },
	{ "forward.eml", "2", 'H', "From: alice@example.org\r\nTo: "
		"bob@example.net\r\nSubject: report\r\nDate: Wed, 2 Jul 2003 "
		"08:00:00 +0000\r\nMessage-ID: <inner@example.org>\r\n"
		"Content-Type: multipart/mixed; boundary=\"in\"\r\n\r\n" },
	{ "forward.eml", "2", 'T', "--in\r\nContent-Type: text/plain\r\n\r\n"
		"Inner text.\r\n--in\r\nContent-Type: application/octet-stream"
		"\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--in--" },
	{ "forward.eml", "2.1", 'B', "Inner text." },
	{ "forward.eml", "2.2", 'B', "AAEC" },
	{ "forward.eml", "2.2", 'M', "Content-Type: application/octet-stream"
		"\r\nContent-Transfer-Encoding: base64\r\n\r\n" },
	{ "forward.eml", "1", 'H', NULL },
	{ "forward.eml", "!2.3", 'B', NULL },
	{ "forward-single.eml", "2.1", 'B', "Just one line." },
	{ "forward-single.eml", "2.1", 'M', "Subject: short\r\n"
					    "From: x@example.org\r\n\r\n" },
	{ "forward-single.eml", "2", 'T', "Just one line." },
	{ "forward-single.eml", "!2.2", 'B', NULL },
	{ "missing-close.eml", "2", 'B', "second, and the message ends here"
					 "\r\n" },
	{ "no-boundary.eml", "1", 'B', "Just some text,\r\nno boundary at "
				       "all.\r\n" },
	{ "no-boundary.eml", "1", 'M', "" },
	{ "bare-lf.eml", "1", 'B', "one" },
	{ "bare-lf.eml", "2", 'B', "two" },
	{ "bare-lf.eml", "2", 'M', "\n" },
	{ "no-headers.eml", "", 'H', "\r\n" },
	{ "no-headers.eml", "1", 'B', "Only a body, no header at all.\r\n" },
};

START_TEST(section_ranges_hold_the_right_bytes)
{
	const struct section *t = &sections[_i];
	struct msg m = load(t->file);
	struct mime_summary s;
	struct mime_section_ranges r;
	uint32_t path[8];
	size_t depth = 0;
	const char *p = t->path;
	bool missing = *p == '!';
	const struct mime_range *rg;

	if (missing)
		p++;
	while (*p) {
		path[depth++] = (uint32_t)strtoul(p, (char **)&p, 10);
		if (*p == '.')
			p++;
	}
	ck_assert_int_eq(mime_summary_build(m.data, m.len, &s), 0);
	if (missing) {
		ck_assert_int_eq(mime_section_find(s.parts, path, depth, &r),
				 -ENOENT);
		goto out;
	}
	ck_assert_int_eq(mime_section_find(s.parts, path, depth, &r), 0);
	rg = t->which == 'H' ? &r.header : t->which == 'T' ? &r.text :
	     t->which == 'M' ? &r.mime : &r.body;
	if (!t->bytes) {
		ck_assert_int_eq(rg->has, 0);
		goto out;
	}
	ck_assert_int_eq(rg->has, 1);
	ck_assert_uint_le(rg->end, m.len);
	ck_assert_uint_eq(rg->end - rg->start, strlen(t->bytes));
	ck_assert_msg(!memcmp(m.data + rg->start, t->bytes, strlen(t->bytes)),
		      "%s [%s%c]: got '%.*s'", t->file, t->path, t->which,
		      (int)(rg->end - rg->start), m.data + rg->start);
out:
	mime_summary_free(&s);
	free(m.data);
}
END_TEST

/* Every leaf body GMime itself finds must be one of ours, byte for byte:
 * the ranges follow GMime's view of the structure. */
static void gmime_leaves(GMimeObject *o, GArray *out)
{
	if (GMIME_IS_MESSAGE(o))
		o = g_mime_message_get_mime_part(GMIME_MESSAGE(o));
	if (!o)
		return;
	if (GMIME_IS_MULTIPART(o)) {
		for (int i = 0; i < g_mime_multipart_get_count(
					    GMIME_MULTIPART(o)); i++)
			gmime_leaves(g_mime_multipart_get_part(
					     GMIME_MULTIPART(o), i), out);
	} else if (GMIME_IS_MESSAGE_PART(o)) {
		GMimeMessage *mm = g_mime_message_part_get_message(
			GMIME_MESSAGE_PART(o));

		if (mm)
			gmime_leaves((GMimeObject *)mm, out);
	} else if (GMIME_IS_PART(o) && g_mime_part_get_content(GMIME_PART(o))) {
		GMimeStream *st = g_mime_data_wrapper_get_stream(
			g_mime_part_get_content(GMIME_PART(o)));
		uint64_t b[2] = { (uint64_t)st->bound_start,
				  (uint64_t)st->bound_end };

		g_array_append_vals(out, b, 2);
	}
}

START_TEST(ranges_agree_with_gmime)
{
	struct msg m = load(corpus[_i]);
	struct mime_summary s;
	GMimeStream *st = g_mime_stream_mem_new_with_buffer(m.data, m.len);
	GMimeParser *p = g_mime_parser_new_with_stream(st);
	GMimeMessage *msg = g_mime_parser_construct_message(p, NULL);
	GArray *leaves = g_array_new(FALSE, FALSE, sizeof(uint64_t));

	ck_assert_int_eq(mime_summary_build(m.data, m.len, &s), 0);
	ck_assert_ptr_nonnull(msg);
	gmime_leaves((GMimeObject *)msg, leaves);
	/* no-boundary.eml: GMime keeps it all as the preamble */
	ck_assert(leaves->len > 0 || strstr(corpus[_i], "no-boundary"));
	for (guint i = 0; i < leaves->len; i += 2) {
		char rec[64];
		uint64_t bs = g_array_index(leaves, uint64_t, i);
		uint64_t be = g_array_index(leaves, uint64_t, i + 1);

		snprintf(rec, sizeof(rec), ",%llu,%llu,1;",
			 (unsigned long long)bs, (unsigned long long)be);
		ck_assert_msg(strstr(s.parts, rec), "%s: GMime leaf %s not in %s",
			      corpus[_i], rec, s.parts);
	}
	g_array_free(leaves, TRUE);
	g_object_unref(msg);
	g_object_unref(p);
	g_object_unref(st);
	mime_summary_free(&s);
	free(m.data);
}
END_TEST

static GString *nested(int levels)
{
	GString *s = g_string_new("Subject: deep\r\n");

	for (int i = 0; i < levels; i++)
		g_string_append_printf(s, "Content-Type: multipart/mixed; "
				       "boundary=\"b%d\"\r\n\r\n--b%d\r\n", i, i);
	g_string_append(s, "Content-Type: text/plain\r\n\r\ndeepest\r\n");
	for (int i = levels - 1; i >= 0; i--)
		g_string_append_printf(s, "--b%d--\r\n", i);
	return s;
}

START_TEST(deep_nesting_is_bounded)
{
	GString *s = nested(100);
	struct mime_summary sum;
	struct mime_section_ranges r;
	uint32_t path[MIME_MAX_DEPTH + 2];

	ck_assert_int_eq(mime_check_one(s->str, s->len), 0);
	ck_assert_int_eq(mime_summary_build(s->str, s->len, &sum), 0);
	ck_assert_ptr_nonnull(strstr(sum.bodystructure,
				     "\"application\" \"octet-stream\""));
	/* 1.1.1... down to the opaque part, which has no subparts */
	for (size_t i = 0; i < MIME_MAX_DEPTH + 2; i++)
		path[i] = 1;
	ck_assert_int_eq(mime_section_find(sum.parts, path, MIME_MAX_DEPTH,
					   &r), 0);
	ck_assert_int_eq(mime_section_find(sum.parts, path,
					   MIME_MAX_DEPTH + 2, &r), -ENOENT);
	mime_summary_free(&sum);
	g_string_free(s, TRUE);
	s = nested(5000);
	ck_assert_int_eq(mime_check_one(s->str, s->len), 0);
	g_string_free(s, TRUE);
}
END_TEST

START_TEST(hostile_shapes_give_a_sane_structure)
{
	static const char nul_msg[] = "Subject: a\0b\r\nFrom: x@y\r\n\r\n"
				      "body\0with\0nuls\r\n";
	GString *s = g_string_new("Subject: ");
	struct mime_summary sum;

	/* empty, header only, no blank line, lone CRs, NULs */
	ck_assert_int_eq(mime_check_one("", 0), 0);
	ck_assert_int_eq(mime_check_one(NULL, 0), 0);
	ck_assert_int_eq(mime_check_one("Subject: x\r\n", 12), 0);
	ck_assert_int_eq(mime_check_one("Subject: x", 10), 0);
	ck_assert_int_eq(mime_check_one("\r\r\r\n\n\r", 6), 0);
	ck_assert_int_eq(mime_check_one(nul_msg, sizeof(nul_msg) - 1), 0);
	ck_assert_int_eq(mime_summary_build("Subject: x", 10, &sum), 0);
	ck_assert_str_eq(sum.body, "(\"text\" \"plain\" (\"charset\" "
			 "\"us-ascii\") NIL NIL \"7bit\" 0 0)");
	mime_summary_free(&sum);
	/* a 1 MiB header line goes out as a literal */
	for (int i = 0; i < (1 << 20); i++)
		g_string_append_c(s, 'x');
	g_string_append(s, "\r\n\r\nbody\r\n");
	ck_assert_int_eq(mime_summary_build(s->str, s->len, &sum), 0);
	ck_assert_ptr_nonnull(strstr(sum.envelope, "(NIL {1048576}\r\nxxx"));
	mime_summary_free(&sum);
	g_string_free(s, TRUE);
	/* message/rfc822 inside message/rfc822, 300 deep */
	s = g_string_new(NULL);
	for (int i = 0; i < 300; i++)
		g_string_append(s, "Content-Type: message/rfc822\r\n\r\n");
	g_string_append(s, "Subject: core\r\n\r\nx\r\n");
	ck_assert_int_eq(mime_check_one(s->str, s->len), 0);
	g_string_free(s, TRUE);
	ck_assert_int_eq(mime_summary_build(NULL, 5, &sum), -EINVAL);
}
END_TEST

/* Bytes of section path (depth numbers) of sum, or NULL when absent. */
static char *section_body(const struct mime_summary *sum, const char *msg,
			  const uint32_t *path, size_t depth)
{
	struct mime_section_ranges r;

	if (mime_section_find(sum->parts, path, depth, &r) < 0 || !r.body.has)
		return NULL;
	return g_strndup(msg + r.body.start, r.body.end - r.body.start);
}

/* Records in the section table: the parts the summary holds. */
static size_t table_nodes(const char *parts)
{
	size_t n = 0;

	for (const char *p = parts; *p; p++)
		n += *p == ';';
	return n - 1; /* the "v1;" prefix */
}

/* A multipart/mixed of n empty parts, "--w\r\n\r\nx\r\n" each: the shape
 * of the part bomb (issue 17: two million of them took 2.7 GB). */
static GString *flat(long n)
{
	GString *s = g_string_sized_new(64 + (size_t)n * 10);

	g_string_append(s, "Subject: flat\r\nContent-Type: multipart/mixed; "
			   "boundary=\"w\"\r\n\r\n");
	for (long i = 0; i < n; i++)
		g_string_append(s, "--w\r\n\r\nx\r\n");
	g_string_append(s, "--w--\r\n");
	return s;
}

/* Occurrences of needle (memmem: strstr would take the haystack's
 * length at every step under ASan). */
static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0, nlen = strlen(needle);
	const char *p = hay, *end = hay + strlen(hay);

	while ((p = memmem(p, (size_t)(end - p), needle, nlen)) != NULL) {
		n++;
		p++;
	}
	return n;
}

/* The message, its multipart and MIME_MAX_PARTS - 2 parts fill the cap:
 * every part is itself. One part more and that part is the opaque rest,
 * its raw bytes (header and all) in one application/octet-stream part. */
START_TEST(part_cap_at_limit_and_one_over)
{
	long fit = MIME_MAX_PARTS - 2;
	GString *s = flat(fit);
	struct mime_summary sum;
	uint32_t last = (uint32_t)fit;
	char *body;

	ck_assert_int_eq(mime_check_one(s->str, s->len), 0);
	ck_assert_int_eq(mime_summary_build(s->str, s->len, &sum), 0);
	ck_assert_uint_eq(table_nodes(sum.parts), MIME_MAX_PARTS);
	ck_assert_ptr_null(strstr(sum.bodystructure, "octet-stream"));
	ck_assert_uint_eq(count_of(sum.body, "(\"text\" \"plain\""), (size_t)fit);
	body = section_body(&sum, s->str, &last, 1);
	ck_assert_str_eq(body, "x");
	g_free(body);
	last++;
	ck_assert_ptr_null(section_body(&sum, s->str, &last, 1));
	mime_summary_free(&sum);
	g_string_free(s, TRUE);

	s = flat(fit + 1);
	ck_assert_int_eq(mime_check_one(s->str, s->len), 0);
	ck_assert_int_eq(mime_summary_build(s->str, s->len, &sum), 0);
	ck_assert_uint_eq(table_nodes(sum.parts), MIME_MAX_PARTS + 1);
	ck_assert_uint_eq(count_of(sum.body, "(\"text\" \"plain\""), (size_t)fit);
	ck_assert_uint_eq(count_of(sum.body, "(\"application\" "
					     "\"octet-stream\" NIL NIL NIL "
					     "\"7bit\" 3)"), 1);
	body = section_body(&sum, s->str, &last, 1);
	ck_assert_str_eq(body, "\r\nx");
	g_free(body);
	mime_summary_free(&sum);
	g_string_free(s, TRUE);
}
END_TEST

/* Two million parts: the bound holds, the rest is one part holding every
 * byte past the cap, and the message itself is whole. */
START_TEST(part_bomb_keeps_its_bytes_in_one_rest_part)
{
	GString *s = flat(2000000);
	struct mime_summary sum;
	struct mime_section_ranges r;
	size_t fit = MIME_MAX_PARTS - 2; /* parts before the rest */
	uint32_t rest = (uint32_t)fit + 1;
	const char *tail = "--w\r\n\r\nx\r\n--w--\r\n";

	ck_assert_int_eq(mime_check_one(s->str, s->len), 0);
	ck_assert_int_eq(mime_summary_build(s->str, s->len, &sum), 0);
	ck_assert_uint_eq(table_nodes(sum.parts), MIME_MAX_PARTS + 1);
	ck_assert_int_eq(mime_section_find(sum.parts, &rest, 1, &r), 0);
	/* from the rest's first header line to the last part's "x" */
	ck_assert_uint_eq(r.body.end, s->len - strlen("\r\n--w--\r\n"));
	/* past the rest's "--w\r\n", up to the close delimiter's "\r\n" */
	ck_assert_uint_eq(r.body.end - r.body.start,
			  (2000000 - fit) * 10 - strlen("--w\r\n") - 2);
	ck_assert_int_eq(memcmp(s->str + r.body.end - 8, tail, 8), 0);
	ck_assert_int_eq(mime_section_find(sum.parts, NULL, 0, &r), 0);
	ck_assert_uint_eq(r.body.end, s->len);
	mime_summary_free(&sum);
	g_string_free(s, TRUE);
}
END_TEST

/* One parse, every lookup: the same ranges as mime_section_find, for
 * every part of a message at the cap (FETCH of thousands of sections of
 * one message keeps the table parsed). */
START_TEST(parsed_table_answers_like_the_text)
{
	GString *s = flat(MIME_MAX_PARTS - 1);
	struct mime_summary sum;
	struct mime_sections *table;
	struct mime_section_ranges a, b;
	uint32_t path[2] = { 0, 1 };

	ck_assert_int_eq(mime_summary_build(s->str, s->len, &sum), 0);
	ck_assert_int_eq(mime_sections_parse(sum.parts, &table), 0);
	ck_assert_int_eq(mime_sections_find(table, NULL, 0, &a), 0);
	ck_assert_int_eq(mime_section_find(sum.parts, NULL, 0, &b), 0);
	ck_assert_mem_eq(&a, &b, sizeof(a));
	for (path[0] = 1; path[0] <= MIME_MAX_PARTS; path[0]++) {
		int ra = mime_sections_find(table, path, 1, &a);

		ck_assert_int_eq(ra, mime_section_find(sum.parts, path, 1, &b));
		ck_assert_int_eq(ra, path[0] < MIME_MAX_PARTS ? 0 : -ENOENT);
		ck_assert_mem_eq(&a, &b, sizeof(a));
		/* a leaf has no part 1 inside */
		ck_assert_int_eq(mime_sections_find(table, path, 2, &a),
				 -ENOENT);
	}
	mime_sections_free(&table);
	ck_assert_ptr_null(table);
	mime_sections_free(&table);
	ck_assert_int_eq(mime_sections_parse("v1;x", &table), -EINVAL);
	ck_assert_ptr_null(table);
	mime_summary_free(&sum);
	g_string_free(s, TRUE);
}
END_TEST

/* A chain of message/rfc822 parts, n deep. */
static GString *forwarded(int n)
{
	GString *s = g_string_new(NULL);

	for (int i = 0; i < n; i++)
		g_string_append(s, "Content-Type: message/rfc822\r\n\r\n");
	g_string_append(s, "Subject: core\r\n\r\nx\r\n");
	return s;
}

/* MIME_MAX_DEPTH nested multiparts (or message/rfc822 parts) are all
 * opened; one more level and the deepest container is opaque. */
START_TEST(depth_cap_at_limit_and_one_over)
{
	GString *s = nested(MIME_MAX_DEPTH);
	struct mime_summary sum;
	uint32_t path[MIME_MAX_DEPTH + 1];
	char *body;

	for (size_t i = 0; i < MIME_MAX_DEPTH + 1; i++)
		path[i] = 1;
	ck_assert_int_eq(mime_check_one(s->str, s->len), 0);
	ck_assert_int_eq(mime_summary_build(s->str, s->len, &sum), 0);
	ck_assert_ptr_null(strstr(sum.bodystructure, "octet-stream"));
	body = section_body(&sum, s->str, path, MIME_MAX_DEPTH);
	ck_assert_str_eq(body, "deepest");
	g_free(body);
	mime_summary_free(&sum);
	g_string_free(s, TRUE);

	s = nested(MIME_MAX_DEPTH + 1);
	ck_assert_int_eq(mime_check_one(s->str, s->len), 0);
	ck_assert_int_eq(mime_summary_build(s->str, s->len, &sum), 0);
	ck_assert_uint_eq(count_of(sum.bodystructure, "octet-stream"), 1);
	body = section_body(&sum, s->str, path, MIME_MAX_DEPTH);
	ck_assert_ptr_nonnull(strstr(body, "--b64\r\n"));
	ck_assert_ptr_nonnull(strstr(body, "deepest"));
	g_free(body);
	ck_assert_ptr_null(section_body(&sum, s->str, path,
					MIME_MAX_DEPTH + 1));
	mime_summary_free(&sum);
	g_string_free(s, TRUE);

	s = forwarded(MIME_MAX_DEPTH);
	ck_assert_int_eq(mime_summary_build(s->str, s->len, &sum), 0);
	ck_assert_ptr_null(strstr(sum.bodystructure, "octet-stream"));
	ck_assert_uint_eq(count_of(sum.bodystructure, "\"core\""), 1);
	mime_summary_free(&sum);
	g_string_free(s, TRUE);
	s = forwarded(MIME_MAX_DEPTH + 1);
	ck_assert_int_eq(mime_summary_build(s->str, s->len, &sum), 0);
	ck_assert_uint_eq(count_of(sum.bodystructure, "octet-stream"), 1);
	ck_assert_ptr_null(strstr(sum.bodystructure, "\"core\""));
	mime_summary_free(&sum);
	g_string_free(s, TRUE);
}
END_TEST

/* Rules of the walk that GMime's parser has and the old range scan did
 * not all have. */
START_TEST(walk_follows_the_mime_rules)
{
	static const char prefix[] =
		"Content-Type: multipart/mixed; boundary=b6\r\n\r\n"
		"--b6\r\n\r\none\r\n--b64\r\nstill one\r\n--b6 \t\r\n\r\n"
		"two\r\n--b6--\r\n";
	static const char digest[] =
		"Content-Type: multipart/digest; boundary=d\r\n\r\n"
		"--d\r\n\r\nSubject: in\r\n\r\nbody\r\n--d--\r\n";
	static const char encoded[] =
		"Content-Type: message/rfc822\r\n"
		"Content-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogeA==\r\n";
	static const char garbage_first[] =
		"not a header\r\nSubject: kept\r\n\r\nbody\r\n";
	GString *s = g_string_new("Content-Type: multipart/mixed");
	struct mime_summary sum;
	uint32_t one = 1;
	char *body;

	/* only blanks may follow a delimiter: "--b64" is text of part 1 */
	ck_assert_int_eq(mime_summary_build(prefix, strlen(prefix), &sum), 0);
	ck_assert_uint_eq(count_of(sum.body, "(\"text\" \"plain\""), 2);
	body = section_body(&sum, prefix, &one, 1);
	ck_assert_str_eq(body, "one\r\n--b64\r\nstill one");
	g_free(body);
	mime_summary_free(&sum);
	/* a digest's parts are messages by default */
	ck_assert_int_eq(mime_summary_build(digest, strlen(digest), &sum), 0);
	ck_assert_ptr_nonnull(strstr(sum.body, "((\"message\" \"rfc822\" NIL "
					       "NIL NIL \"7bit\" 19 (NIL \"in\""));
	mime_summary_free(&sum);
	/* an encoded message is not parsed, and not shown as one */
	ck_assert_int_eq(mime_summary_build(encoded, strlen(encoded), &sum),
			 0);
	ck_assert_str_eq(sum.body, "(\"application\" \"octet-stream\" NIL NIL "
				   "NIL \"base64\" 18)");
	mime_summary_free(&sum);
	/* a line that is no field does not hide the fields after it */
	ck_assert_int_eq(mime_summary_build(garbage_first,
					    strlen(garbage_first), &sum), 0);
	ck_assert_ptr_nonnull(strstr(sum.envelope, "\"kept\""));
	mime_summary_free(&sum);
	/* the boundary after a hundred thousand other parameters (GMime is
	 * given only the type and the boundary) */
	for (int i = 0; i < 100000; i++)
		g_string_append_printf(s, "; p%d=\"v;(\"", i);
	g_string_append(s, "; boundary*0=\"z\"; boundary*1=z\r\n\r\n"
			   "--zz\r\n\r\nA\r\n--zz\r\n\r\nB\r\n--zz--\r\n");
	ck_assert_int_eq(mime_summary_build(s->str, s->len, &sum), 0);
	ck_assert_uint_eq(count_of(sum.body, "(\"text\" \"plain\""), 2);
	mime_summary_free(&sum);
	g_string_free(s, TRUE);
}
END_TEST

/* Header values that once recursed per byte or split into one string a
 * token: each must come out, in bounded stack and memory. */
START_TEST(hostile_headers_are_linear)
{
	GString *s = g_string_new("From: ");
	struct mime_summary sum;

	/* a million control characters: one stack frame each, before */
	for (int i = 0; i < 1000000; i++)
		g_string_append_c(s, '\x01');
	g_string_append(s, "a@b\r\nTo: ");
	for (int i = 0; i < 100000; i++)
		g_string_append(s, "x@y, ");
	g_string_append(s, "\r\nContent-Language: ");
	for (int i = 0; i < 100000; i++)
		g_string_append(s, "en, ");
	g_string_append(s, "\r\nSubject: folded");
	for (int i = 0; i < 100000; i++)
		g_string_append(s, "\r\n more");
	g_string_append(s, "\r\n\r\nbody\r\n");
	ck_assert_int_eq(mime_check_one(s->str, s->len), 0);
	ck_assert_int_eq(mime_summary_build(s->str, s->len, &sum), 0);
	ck_assert_ptr_nonnull(strstr(sum.envelope,
				     "((NIL NIL \"a\" \"b\")) "));
	ck_assert_uint_eq(count_of(sum.envelope, "(NIL NIL \"x\" \"y\")"),
			  100000);
	ck_assert_uint_eq(count_of(sum.bodystructure, "\"en\""), 100000);
	mime_summary_free(&sum);
	g_string_free(s, TRUE);
}
END_TEST

static uint64_t rng_next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

START_TEST(random_mutations_never_break_the_invariants)
{
	static const char *const inserts[] = {
		"\r\n", "\n", "\r", "--", "--b1_alt\r\n", "--frontier--\r\n",
		"--outer\r\n", "--in\r\n\r\n", "Content-Type: multipart/mixed; "
		"boundary=x\r\n\r\n--x\r\n", "\"", "\\", "(", "<", ":", ";",
		"=?", "*0*=", "Content-Type: message/rfc822\r\n\r\n",
		"\0", "\xff",
	};
	struct msg ms[NCORPUS];
	uint64_t x = 0x9E3779B97F4A7C15ull;

	for (size_t i = 0; i < NCORPUS; i++)
		ms[i] = load(corpus[i]);
	for (int iter = 0; iter < 1000; iter++) {
		const struct msg *src = &ms[rng_next(&x) % NCORPUS];
		GString *m = g_string_new_len(src->data, (gssize)src->len);
		int edits = 1 + (int)(rng_next(&x) % 8);

		for (int e = 0; e < edits && m->len; e++) {
			size_t at = rng_next(&x) % m->len;
			size_t n = 1 + rng_next(&x) % 32;
			const char *ins;

			switch (rng_next(&x) % 4) {
			case 0: /* flip a byte */
				m->str[at] = (char)rng_next(&x);
				break;
			case 1: /* delete a run */
				g_string_erase(m, (gssize)at,
					       (gssize)MIN(n, m->len - at));
				break;
			case 2: /* duplicate a run */
				n = MIN(n, m->len - at);
				ins = g_strndup(m->str + at, n);
				g_string_insert_len(m, (gssize)at, ins,
						    (gssize)n);
				g_free((char *)ins);
				break;
			default:
				ins = inserts[rng_next(&x) %
					      (sizeof(inserts) /
					       sizeof(inserts[0]))];
				g_string_insert_len(m, (gssize)at, ins,
						    ins[0] ? -1 : 1);
			}
		}
		ck_assert_msg(mime_check_one(m->str, m->len) == 0,
			      "mutation %d broke an invariant", iter);
		g_string_free(m, TRUE);
	}
	for (size_t i = 0; i < NCORPUS; i++)
		free(ms[i].data);
}
END_TEST

/* Concurrent builds (the lead's worker threads) give the same strings. */
struct job {
	struct msg *ms;
	int failures;
};

static void *build_all(void *arg)
{
	struct job *j = arg;

	for (int round = 0; round < 20; round++)
		for (size_t i = 0; i < NCORPUS; i++) {
			struct mime_summary a, b;

			if (mime_summary_build(j->ms[i].data, j->ms[i].len,
					       &a) ||
			    mime_summary_build(j->ms[i].data, j->ms[i].len,
					       &b) ||
			    strcmp(a.bodystructure, b.bodystructure) ||
			    strcmp(a.envelope, b.envelope) ||
			    strcmp(a.parts, b.parts))
				j->failures++;
			mime_summary_free(&a);
			mime_summary_free(&b);
		}
	return NULL;
}

static char *search_text(const char *msg, int body, size_t cap,
			 size_t *header_len_r, int64_t *n_r)
{
	char *buf = malloc(cap + 1);

	ck_assert_ptr_nonnull(buf);
	*n_r = mime_search_text(msg, strlen(msg), body, buf, cap,
				header_len_r);
	ck_assert_int_ge(*n_r, 0);
	buf[*n_r] = '\0';
	return buf;
}

/* SEARCH's text: header fields decoded one a line (encoded words, 8-bit
 * charsets to UTF-8, addresses as ENVELOPE parses them), then the text
 * parts decoded (base64, quoted-printable, charsets); attachments and
 * encodings themselves not there; cut at the buffer. */
START_TEST(search_text_is_decoded)
{
	static const char msg[] =
		"From: =?ISO-8859-1?Q?Andr=E9?= <andre@example.org>\r\n"
		"To: <u (c)@ (c) example.org>, user@example.org (Real Name),\r\n"
		" group: a@b.org, c@d.org;\r\n"
		"Subject: =?UTF-8?B?Q2l0dMOg?= di mare\r\n"
		"X-Ctl: a\tb\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: multipart/mixed; boundary=b\r\n"
		"\r\n"
		"--b\r\n"
		"Content-Type: text/plain; charset=iso-8859-1\r\n"
		"Content-Transfer-Encoding: quoted-printable\r\n"
		"\r\n"
		"La citt=E0 sul mare, mor=\r\n"
		"bido.\r\n"
		"--b\r\n"
		"Content-Type: text/html; charset=utf-8\r\n"
		"Content-Transfer-Encoding: base64\r\n"
		"\r\n"
		"R3LDvMOfZSBhdXMgS8O2bG4=\r\n"
		"--b\r\n"
		"Content-Type: application/octet-stream\r\n"
		"Content-Transfer-Encoding: base64\r\n"
		"\r\n"
		"U0VDUkVU\r\n"
		"--b\r\n"
		"Content-Type: message/rfc822\r\n"
		"\r\n"
		"Subject: =?UTF-8?Q?inn=C3=A8r?=\r\n"
		"\r\n"
		"inner body\r\n"
		"--b--\r\n";
	size_t hlen;
	int64_t n;
	char *t = search_text(msg, 1, 4096, &hlen, &n);

	ck_assert_ptr_nonnull(strstr(t, "From: Andr\xc3\xa9 <andre@example.org>\n"));
	ck_assert_ptr_nonnull(strstr(t, "To: <u@example.org>, Real Name "
					"<user@example.org>, group: <a@b.org>, "
					"<c@d.org>;\n"));
	ck_assert_ptr_nonnull(strstr(t, "Subject: Citt\xc3\xa0 di mare\n"));
	ck_assert_ptr_nonnull(strstr(t, "X-Ctl: a b\n"));
	ck_assert_ptr_null(strstr(t, "=?"));
	ck_assert_uint_eq(t[hlen], '\n');
	ck_assert_ptr_null(memchr(t, 'L', hlen)); /* the body is after */
	ck_assert_ptr_nonnull(strstr(t + hlen, "La citt\xc3\xa0 sul mare, "
					       "morbido."));
	ck_assert_ptr_nonnull(strstr(t + hlen, "Gr\xc3\xbc\xc3\x9f" "e aus "
					       "K\xc3\xb6ln"));
	ck_assert_ptr_nonnull(strstr(t + hlen, "Subject: inn\xc3\xa8r\n"));
	ck_assert_ptr_nonnull(strstr(t + hlen, "inner body"));
	ck_assert_ptr_null(strstr(t, "SECRET"));
	ck_assert_ptr_null(strstr(t, "U0VDUkVU"));
	free(t);

	/* The header alone; and any text cut at the buffer's end. */
	t = search_text(msg, 0, 4096, &hlen, &n);
	ck_assert_uint_eq((uint64_t)n, hlen);
	free(t);
	t = search_text(msg, 1, 10, &hlen, &n);
	ck_assert_int_eq(n, 10);
	ck_assert_str_eq(t, "From: Andr");
	free(t);
	t = search_text("", 1, 16, &hlen, &n);
	ck_assert_int_eq(hlen, 0);
	free(t);
}
END_TEST

START_TEST(builds_run_concurrently)
{
	struct msg ms[NCORPUS];
	struct job jobs[4];
	pthread_t th[4];

	for (size_t i = 0; i < NCORPUS; i++)
		ms[i] = load(corpus[i]);
	for (int i = 0; i < 4; i++) {
		jobs[i] = (struct job){ .ms = ms };
		ck_assert_int_eq(pthread_create(&th[i], NULL, build_all,
						&jobs[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(jobs[i].failures, 0);
	}
	for (size_t i = 0; i < NCORPUS; i++)
		free(ms[i].data);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mime");
	TCase *tc = tcase_create("mime");
	SRunner *sr;
	int failed;

	/* once per process, as the API requires (GMime cannot re-init) */
	if (mime_init() < 0)
		return 1;
	tcase_add_loop_test(tc, corpus_strings_are_exact, 0,
			    sizeof(expects) / sizeof(expects[0]));
	tcase_add_loop_test(tc, section_ranges_hold_the_right_bytes, 0,
			    sizeof(sections) / sizeof(sections[0]));
	tcase_add_loop_test(tc, ranges_agree_with_gmime, 0, NCORPUS);
	tcase_add_test(tc, deep_nesting_is_bounded);
	tcase_add_test(tc, hostile_shapes_give_a_sane_structure);
	tcase_add_test(tc, part_cap_at_limit_and_one_over);
	tcase_add_test(tc, part_bomb_keeps_its_bytes_in_one_rest_part);
	tcase_add_test(tc, parsed_table_answers_like_the_text);
	tcase_add_test(tc, depth_cap_at_limit_and_one_over);
	tcase_add_test(tc, walk_follows_the_mime_rules);
	tcase_add_test(tc, hostile_headers_are_linear);
	tcase_add_test(tc, random_mutations_never_break_the_invariants);
	tcase_add_test(tc, builds_run_concurrently);
	tcase_add_test(tc, search_text_is_decoded);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	mime_shutdown();
	return failed ? 1 : 0;
}
