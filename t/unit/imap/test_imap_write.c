/* Output buffer, astring / string / nstring / mailbox writers, flags. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "imap_flags.h"
#include "imap_write.h"
#include "test_imap.h"

static struct imap_buf out;
static struct imap_command *cmd;

static void setup(void)
{
	imap_buf_init(&out, 0);
}

static void teardown(void)
{
	imap_buf_free(&out);
	if (cmd != NULL)
		imap_command_free(&cmd);
}

typedef int writer(struct imap_buf *, const char *, size_t);

static const char *w(writer *fn, const char *s, size_t len)
{
	imap_buf_clear(&out);
	ck_assert_int_eq(fn(&out, s, len), 0);
	return out.data;
}

#define W(fn, s) w(fn, s, strlen(s))

START_TEST(buffer)
{
	ck_assert_ptr_null(out.data);
	ck_assert_int_eq(imap_buf_append(&out, "a\0b", 3), 0);
	ck_assert_uint_eq(out.len, 3);
	ck_assert_int_eq(out.data[3], '\0');
	ck_assert_int_eq(imap_buf_append_u64(&out, 18446744073709551615ULL),
			 0);
	ck_assert_str_eq(out.data + 3, "18446744073709551615");
	ck_assert_int_eq(imap_buf_append_u64(&out, 0), 0);
	ck_assert_int_eq(imap_buf_append_u64(&out, 1000), 0);
	ck_assert_str_eq(out.data + 23, "01000");
	imap_buf_truncate(&out, 23);
	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(imap_buf_append_char(&out, 'x'), 0);
	ck_assert_uint_eq(out.len, 1023);
	imap_buf_truncate(&out, 2);
	ck_assert_uint_eq(out.len, 2);
	ck_assert_str_eq(out.data + 1, "");
	imap_buf_free(&out);
	imap_buf_init(&out, 4);
	ck_assert_int_eq(imap_buf_append_str(&out, "abcd"), 0);
	ck_assert_int_eq(imap_buf_append_char(&out, 'e'), -E2BIG);
	ck_assert_str_eq(out.data, "abcd");
	imap_buf_clear(&out);
	ck_assert_uint_eq(out.len, 0);
	ck_assert_str_eq(out.data, "");
}
END_TEST

START_TEST(astrings)
{
	char big[1100];

	ck_assert_str_eq(W(imap_write_astring, "INBOX"), "INBOX");
	ck_assert_str_eq(W(imap_write_astring, "a]b[c"), "a]b[c");
	ck_assert_str_eq(W(imap_write_astring, ""), "\"\"");
	ck_assert_str_eq(W(imap_write_astring, "NIL"), "\"NIL\"");
	ck_assert_str_eq(W(imap_write_astring, "nIl"), "\"nIl\"");
	ck_assert_str_eq(W(imap_write_astring, "NILS"), "NILS");
	ck_assert_str_eq(W(imap_write_astring, "a b"), "\"a b\"");
	ck_assert_str_eq(W(imap_write_astring, "a\"b\\c"), "\"a\\\"b\\\\c\"");
	ck_assert_str_eq(W(imap_write_astring, "50%"), "\"50%\"");
	ck_assert_str_eq(W(imap_write_astring, "*"), "\"*\"");
	ck_assert_str_eq(W(imap_write_astring, "(x)"), "\"(x)\"");
	ck_assert_str_eq(W(imap_write_astring, "{1}"), "\"{1}\"");
	ck_assert_str_eq(W(imap_write_astring, "\t"), "\"\t\"");
	ck_assert_str_eq(W(imap_write_astring, "\xc3\xa4"),
			 "{2}\r\n\xc3\xa4");
	ck_assert_str_eq(W(imap_write_astring, "a\r\nb"), "{4}\r\na\r\nb");
	ck_assert_str_eq(W(imap_write_astring, "a\nb"), "{3}\r\na\nb");
	w(imap_write_astring, "a\0b", 3);
	ck_assert_uint_eq(out.len, 8);
	ck_assert_mem_eq(out.data, "{3}\r\na\0b", 8);
	/* Quoted up to IMAP_QUOTED_MAX bytes, a literal beyond. */
	memset(big, ' ', sizeof(big));
	w(imap_write_astring, big, IMAP_QUOTED_MAX);
	ck_assert_uint_eq(out.len, IMAP_QUOTED_MAX + 2);
	ck_assert_int_eq(out.data[0], '"');
	w(imap_write_astring, big, IMAP_QUOTED_MAX + 1);
	ck_assert_uint_eq(out.len, 8 + IMAP_QUOTED_MAX + 1);
	ck_assert_mem_eq(out.data, "{1025}\r\n", 8);
}
END_TEST

START_TEST(strings_and_nstrings)
{
	ck_assert_str_eq(W(imap_write_string, "abc"), "\"abc\"");
	ck_assert_str_eq(W(imap_write_string, ""), "\"\"");
	ck_assert_str_eq(W(imap_write_string, "NIL"), "\"NIL\"");
	ck_assert_str_eq(W(imap_write_nstring, "abc"), "\"abc\"");
	ck_assert_str_eq(w(imap_write_nstring, NULL, 0), "NIL");
	ck_assert_str_eq(W(imap_write_nstring, "\xff"), "{1}\r\n\xff");
	/* Errors leave the buffer as it was. */
	imap_buf_free(&out);
	imap_buf_init(&out, 6);
	imap_buf_append_str(&out, "ab");
	ck_assert_int_eq(imap_write_string(&out, "abcd", 4), -E2BIG);
	ck_assert_str_eq(out.data, "ab");
	ck_assert_int_eq(imap_write_string(&out, "\xff\xff", 2), -E2BIG);
	ck_assert_str_eq(out.data, "ab");
	ck_assert_int_eq(imap_write_nstring(&out, NULL, 0), 0);
	ck_assert_str_eq(out.data, "abNIL");
}
END_TEST

START_TEST(mailboxes)
{
	ck_assert_str_eq(W(imap_write_mailbox, "INBOX"), "INBOX");
	ck_assert_str_eq(W(imap_write_mailbox, "Entw\xc3\xbcrfe"),
			 "Entw&APw-rfe");
	ck_assert_str_eq(W(imap_write_mailbox, "A & B"), "\"A &- B\"");
	ck_assert_str_eq(W(imap_write_mailbox, ""), "\"\"");
	ck_assert_str_eq(W(imap_write_mailbox, "Nil"), "\"Nil\"");
	ck_assert_int_eq(imap_write_mailbox(&out, "\xc3", 1), -EINVAL);
}
END_TEST

static void parse(const char *s)
{
	const char *err;

	if (cmd != NULL)
		imap_command_free(&cmd);
	ck_assert_int_eq(imap_parse_command(s, strlen(s), NULL, &cmd, &err),
			 0);
}

static int flags(const char *line, unsigned *f, const char **err)
{
	parse(line);
	imap_buf_clear(&out);
	return imap_flags_parse(cmd->args + 2, cmd->n_args - 2, f, &out, err);
}

START_TEST(flag_parsing)
{
	unsigned f = 99;
	const char *err;

	ck_assert_int_eq(flags("A STORE 1 FLAGS (\\Seen \\answered \\FLAGGED "
			       "\\Deleted \\Draft kw Kw other nil)", &f, &err),
			 0);
	ck_assert_uint_eq(f, IMAP_FLAGS_STORABLE);
	ck_assert_str_eq(out.data, "kw other nil");
	ck_assert_ptr_null(err);
	ck_assert_int_eq(flags("A STORE 1 FLAGS ()", &f, &err), 0);
	ck_assert_uint_eq(f, 0);
	ck_assert_uint_eq(out.len, 0);
	/* STORE's flags without parentheses. */
	ck_assert_int_eq(flags("A STORE 1 +FLAGS \\Seen $Junk", &f, &err), 0);
	ck_assert_uint_eq(f, IMAP_FLAG_SEEN);
	ck_assert_str_eq(out.data, "$Junk");
	ck_assert_int_eq(flags("A STORE 1 FLAGS", &f, &err), 0);
	ck_assert_uint_eq(f, 0);
	/* Errors keep what the buffer had and leave *flags_r alone. */
	f = 99;
	ck_assert_int_eq(flags("A STORE 1 FLAGS (a \\Recent)", &f, &err),
			 -EINVAL);
	ck_assert_str_eq(err, "\\Recent can not be set");
	ck_assert_uint_eq(out.len, 0);
	ck_assert_uint_eq(f, 99);
	ck_assert_int_eq(flags("A STORE 1 FLAGS (\\Foo)", &f, &err), -EINVAL);
	ck_assert_str_eq(err, "Unknown system flag");
	ck_assert_int_eq(flags("A STORE 1 FLAGS (\\)", &f, &err), -EINVAL);
	ck_assert_str_eq(err, "Unknown system flag");
	ck_assert_int_eq(flags("A STORE 1 FLAGS (\"a\")", &f, &err), -EINVAL);
	ck_assert_str_eq(err, "Flags must be atoms");
	ck_assert_int_eq(flags("A STORE 1 FLAGS ((a))", &f, &err), -EINVAL);
	ck_assert_str_eq(err, "Flags must be atoms");
	ck_assert_int_eq(flags("A STORE 1 FLAGS (a) b", &f, &err), -EINVAL);
	ck_assert_str_eq(err, "Flags must be atoms");
	ck_assert_int_eq(flags("A STORE 1 FLAGS {1}\r\na", &f, &err), -EINVAL);
	ck_assert_int_eq(flags("A STORE 1 FLAGS (a*)", &f, &err), -EINVAL);
	ck_assert_str_eq(err, "Invalid keyword");
	ck_assert_int_eq(flags("A STORE 1 FLAGS (a%)", &f, &err), -EINVAL);
	ck_assert_int_eq(flags("A STORE 1 FLAGS (a])", &f, &err), -EINVAL);
	ck_assert_int_eq(flags("A STORE 1 FLAGS (a[b c])", &f, &err),
			 -EINVAL);
	/* Keyword storage is bounded by the buffer. */
	imap_buf_free(&out);
	imap_buf_init(&out, 5);
	parse("A STORE 1 FLAGS (abc de)");
	ck_assert_int_eq(imap_flags_parse(cmd->args + 2, 1, &f, &out, &err),
			 -E2BIG);
	ck_assert_str_eq(err, "Too many keywords");
	ck_assert_uint_eq(out.len, 0);
}
END_TEST

START_TEST(keyword_lookup_and_format)
{
	ck_assert(imap_keywords_has("a bb ccc", 8, "BB", 2));
	ck_assert(imap_keywords_has("a bb ccc", 8, "a", 1));
	ck_assert(imap_keywords_has("a bb ccc", 8, "Ccc", 3));
	ck_assert(!imap_keywords_has("a bb ccc", 8, "b", 1));
	ck_assert(!imap_keywords_has("a bb ccc", 8, "cc", 2));
	ck_assert(!imap_keywords_has("", 0, "a", 1));
	ck_assert_int_eq(imap_flags_format(IMAP_FLAG_SEEN | IMAP_FLAG_FLAGGED,
					   "kw", &out), 0);
	ck_assert_str_eq(out.data, "(\\Seen \\Flagged kw)");
	imap_buf_clear(&out);
	ck_assert_int_eq(imap_flags_format(0x3f, NULL, &out), 0);
	ck_assert_str_eq(out.data, "(\\Seen \\Answered \\Flagged \\Deleted "
			 "\\Draft \\Recent)");
	imap_buf_clear(&out);
	ck_assert_int_eq(imap_flags_format(0, "", &out), 0);
	ck_assert_str_eq(out.data, "()");
	imap_buf_clear(&out);
	ck_assert_int_eq(imap_flags_format(0, "a b", &out), 0);
	ck_assert_str_eq(out.data, "(a b)");
	imap_buf_free(&out);
	imap_buf_init(&out, 8);
	ck_assert_int_eq(imap_flags_format(IMAP_FLAG_SEEN, "kw", &out),
			 -E2BIG);
	ck_assert_uint_eq(out.len, 0);
}
END_TEST

/* The keywords a session named in FLAGS: each once, whatever its case,
 * in first-seen spelling; a full set keeps what it has. */
START_TEST(keyword_set)
{
	struct imap_keywords *kw = imap_keywords_new();
	char name[16];

	ck_assert_ptr_nonnull(kw);
	ck_assert_str_eq(imap_keywords_text(kw), "");
	ck_assert_uint_eq(imap_keywords_add(kw, NULL), 0);
	ck_assert_uint_eq(imap_keywords_add(kw, "Work $Forwarded"), 2);
	ck_assert_uint_eq(imap_keywords_add(kw, "work  $forwarded"), 0);
	ck_assert_uint_eq(imap_keywords_add(kw, "todo work"), 1);
	ck_assert_str_eq(imap_keywords_text(kw), "Work $Forwarded todo");
	for (int i = 0; i < IMAP_KEYWORDS_MAX + 10; i++) {
		snprintf(name, sizeof(name), "k%d", i);
		imap_keywords_add(kw, name);
	}
	ck_assert_uint_eq(imap_keywords_add(kw, "onemore"), 0);
	ck_assert_ptr_null(strstr(imap_keywords_text(kw), "onemore"));
	ck_assert_uint_eq(imap_keywords_add(kw, "TODO"), 0);
	imap_keywords_free(&kw);
	ck_assert_ptr_null(kw);

	/* The text is bounded too: long keywords fill it first. */
	kw = imap_keywords_new();
	char longkw[1001];
	memset(longkw, 'x', 1000);
	longkw[1000] = '\0';
	unsigned added = 0;
	for (int i = 0; i < 20; i++) {
		longkw[0] = (char)('a' + i);
		added += imap_keywords_add(kw, longkw);
	}
	ck_assert_uint_eq(added, IMAP_KEYWORDS_BYTES / 1001);
	ck_assert_uint_le(strlen(imap_keywords_text(kw)), IMAP_KEYWORDS_BYTES);
	imap_keywords_free(&kw);
}
END_TEST

Suite *imap_write_suite(void)
{
	Suite *s = suite_create("imap_write");
	TCase *tc = tcase_create("write");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, buffer);
	tcase_add_test(tc, astrings);
	tcase_add_test(tc, strings_and_nstrings);
	tcase_add_test(tc, mailboxes);
	tcase_add_test(tc, flag_parsing);
	tcase_add_test(tc, keyword_lookup_and_format);
	tcase_add_test(tc, keyword_set);
	suite_add_tcase(s, tc);
	return s;
}
