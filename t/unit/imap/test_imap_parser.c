/* The command grammar: tags, names, every argument type, every error,
 * limits at limit and limit+1, literal markers at every split. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap_parser.h"
#include "test_imap.h"

static struct imap_command *cmd;
static const char *err;

static int parse_n(const char *s, size_t len,
		   const struct imap_parse_limits *limits)
{
	if (cmd != NULL)
		imap_command_free(&cmd);
	return imap_parse_command(s, len, limits, &cmd, &err);
}

static int parse(const char *s)
{
	return parse_n(s, strlen(s), NULL);
}

static void teardown(void)
{
	if (cmd != NULL)
		imap_command_free(&cmd);
}

#define ck_bad(s, text) do { \
	ck_assert_int_eq(parse(s), IMAP_PARSE_BAD); \
	ck_assert_ptr_null(cmd); \
	ck_assert_str_eq(err, text); \
} while (0)

#define ck_bad_tag(s, text) do { \
	ck_assert_int_eq(parse(s), IMAP_PARSE_BAD_TAG); \
	ck_assert_ptr_null(cmd); \
	ck_assert_str_eq(err, text); \
} while (0)

START_TEST(simple_commands)
{
	ck_assert_int_eq(parse("a1 noop"), 0);
	ck_assert_str_eq(cmd->tag, "a1");
	ck_assert_str_eq(cmd->name, "NOOP");
	ck_assert_uint_eq(cmd->n_args, 0);
	ck_assert_int_eq(parse("A001 Select INBOX"), 0);
	ck_assert_str_eq(cmd->name, "SELECT");
	ck_assert_uint_eq(cmd->n_args, 1);
	ck_assert_int_eq(cmd->args[0].type, IMAP_ARG_ATOM);
	ck_assert_str_eq(cmd->args[0].str, "INBOX");
	ck_assert_uint_eq(cmd->args[0].len, 5);
	/* "]" and "[" are tag characters; "UID" is a plain name. */
	ck_assert_int_eq(parse("a]b[ UID fetch 1 FLAGS"), 0);
	ck_assert_str_eq(cmd->tag, "a]b[");
	ck_assert_str_eq(cmd->name, "UID");
	ck_assert_uint_eq(cmd->n_args, 3);
	ck_assert(imap_arg_atom_is(&cmd->args[0], "FETCH"));
	ck_assert(!imap_arg_atom_is(&cmd->args[0], "FETC"));
	ck_assert_int_eq(parse("t X-FOO"), 0);
	ck_assert_str_eq(cmd->name, "X-FOO");
}
END_TEST

START_TEST(argument_types)
{
	const struct imap_arg *a;
	const char *s;
	size_t n;

	ck_assert_int_eq(parse("A LOGIN \"us er\" {4}\r\np\"ss nil NiL"),
			 0);
	ck_assert_uint_eq(cmd->n_args, 4);
	a = cmd->args;
	ck_assert_int_eq(a[0].type, IMAP_ARG_QUOTED);
	ck_assert_str_eq(a[0].str, "us er");
	ck_assert_int_eq(a[1].type, IMAP_ARG_LITERAL);
	ck_assert_uint_eq(a[1].len, 4);
	ck_assert_mem_eq(a[1].str, "p\"ss", 4);
	ck_assert(!a[1].nonsync);
	ck_assert_int_eq(a[2].type, IMAP_ARG_NIL);
	ck_assert_str_eq(a[2].str, "nil");
	ck_assert_int_eq(a[3].type, IMAP_ARG_NIL);
	ck_assert(imap_arg_atom_is(&a[3], "NIL"));
	/* NIL is a valid astring (mailbox "NIL"), a list is not. */
	ck_assert(imap_arg_astring(&a[2], &s, &n));
	ck_assert_uint_eq(n, 3);
	ck_assert(imap_arg_astring(&a[1], &s, &n));
	ck_assert_ptr_eq(s, a[1].str);
	/* NILS is an atom; "" is an empty quoted string. */
	ck_assert_int_eq(parse("A X NILS \"\""), 0);
	ck_assert_int_eq(cmd->args[0].type, IMAP_ARG_ATOM);
	ck_assert_int_eq(cmd->args[1].type, IMAP_ARG_QUOTED);
	ck_assert_uint_eq(cmd->args[1].len, 0);
	ck_assert_str_eq(cmd->args[1].str, "");
	ck_assert_int_eq(parse("A X ()"), 0);
	ck_assert_int_eq(cmd->args[0].type, IMAP_ARG_LIST);
	ck_assert_uint_eq(cmd->args[0].count, 0);
	ck_assert(!imap_arg_astring(&cmd->args[0], &s, &n));
	ck_assert(!imap_arg_atom_is(&cmd->args[0], "X"));
	/* Quoted control characters other than CR/LF are TEXT-CHARs. */
	ck_assert_int_eq(parse("A X \"\t\x01\x7f\""), 0);
	ck_assert_uint_eq(cmd->args[0].len, 3);
}
END_TEST

START_TEST(nested_lists)
{
	const struct imap_arg *a, *l;

	ck_assert_int_eq(parse("A X (a (b \"c\" ()) {1}\r\nz) d"), 0);
	ck_assert_uint_eq(cmd->n_args, 2);
	a = cmd->args;
	ck_assert_int_eq(a[0].type, IMAP_ARG_LIST);
	ck_assert_uint_eq(a[0].count, 3);
	l = a[0].list;
	ck_assert_str_eq(l[0].str, "a");
	ck_assert_int_eq(l[1].type, IMAP_ARG_LIST);
	ck_assert_uint_eq(l[1].count, 3);
	ck_assert_str_eq(l[1].list[0].str, "b");
	ck_assert_int_eq(l[1].list[1].type, IMAP_ARG_QUOTED);
	ck_assert_int_eq(l[1].list[2].type, IMAP_ARG_LIST);
	ck_assert_uint_eq(l[1].list[2].count, 0);
	ck_assert_int_eq(l[2].type, IMAP_ARG_LITERAL);
	ck_assert_mem_eq(l[2].str, "z", 1);
	ck_assert_str_eq(a[1].str, "d");
	ck_assert_ptr_null(a[1].list);
	/* Flags lists. */
	ck_assert_int_eq(parse("A STORE 1 +FLAGS.SILENT (\\Seen \\*)"), 0);
	ck_assert_uint_eq(cmd->args[2].count, 2);
	ck_assert_str_eq(cmd->args[2].list[0].str, "\\Seen");
	ck_assert_str_eq(cmd->args[2].list[1].str, "\\*");
}
END_TEST

START_TEST(quoted_strings)
{
	ck_assert_int_eq(parse("A X \"a\\\"b\\\\c\""), 0);
	ck_assert_str_eq(cmd->args[0].str, "a\"b\\c");
	ck_assert_uint_eq(cmd->args[0].len, 5);
	ck_bad("A X \"a\\b\"", "Invalid escape in quoted string");
	ck_bad("A X \"abc", "Missing closing quote");
	ck_bad("A X \"abc\\", "Missing closing quote");
	ck_bad("A X \"a\rb\"", "CR or LF in quoted string");
	ck_bad("A X \"a\nb\"", "CR or LF in quoted string");
	ck_bad("A X \"caf\xc3\xa9\"", "8-bit data in quoted string");
	ck_assert_int_eq(parse_n("A X \"a\0b\"", 9, NULL), IMAP_PARSE_BAD);
	ck_assert_str_eq(err, "NUL outside literal");
	ck_bad("A X \"a\"b", "Missing space between arguments");
}
END_TEST

START_TEST(literals)
{
	static const char nul8[] = "A APPEND x {4+}\r\n\0\xff\r\n";

	ck_assert_int_eq(parse_n(nul8, sizeof(nul8) - 1, NULL), 0);
	ck_assert_int_eq(cmd->args[1].type, IMAP_ARG_LITERAL);
	ck_assert(cmd->args[1].nonsync);
	ck_assert_uint_eq(cmd->args[1].len, 4);
	ck_assert_mem_eq(cmd->args[1].str, "\0\xff\r\n", 4);
	ck_assert_ptr_eq(cmd->args[1].str, nul8 + 17);
	ck_assert_int_eq(parse("A X {0}\r\n"), 0);
	ck_assert_uint_eq(cmd->args[0].len, 0);
	ck_assert_int_eq(parse("A X {000}\r\n (a)"), 0);
	ck_assert_uint_eq(cmd->n_args, 2);
	ck_assert_int_eq(parse("A X {1}\r\na {2+}\r\nbc"), 0);
	ck_assert_uint_eq(cmd->n_args, 2);
	ck_assert_mem_eq(cmd->args[1].str, "bc", 2);
	ck_bad("A X {1}\r\nab", "Missing space between arguments");
	ck_bad("A X {2}\r\na", "Literal data missing");
	ck_bad("A X {18446744073709551615}\r\na", "Literal data missing");
	ck_bad("A X {18446744073709551616}\r\na", "Literal size too large");
	ck_bad("A X {1}\na", "Missing CRLF after literal");
	ck_bad("A X {1}\r", "Missing CRLF after literal");
	ck_bad("A X {1}", "Missing CRLF after literal");
	ck_bad("A X {}\r\n", "Invalid literal");
	ck_bad("A X {+}\r\n", "Invalid literal");
	ck_bad("A X {+1}\r\na", "Invalid literal");
	ck_bad("A X {1+1}\r\na", "Invalid literal");
	ck_bad("A X { 1}\r\na", "Invalid literal");
	ck_bad("A X {1", "Invalid literal");
	ck_bad("A X {1+", "Invalid literal");
	ck_bad("A X x{1}\r\na", "Invalid character in atom");
}
END_TEST

START_TEST(fetch_attributes_and_brackets)
{
	const struct imap_arg *l;

	ck_assert_int_eq(parse("A FETCH 1:*,3 (FLAGS BODY.PEEK[HEADER.FIELDS "
			       "(DATE FROM)]<0.100> BODY[1.2.MIME] "
			       "BODY[])"), 0);
	ck_assert_str_eq(cmd->args[0].str, "1:*,3");
	ck_assert_uint_eq(cmd->args[1].count, 4);
	l = cmd->args[1].list;
	ck_assert_str_eq(l[0].str, "FLAGS");
	ck_assert_str_eq(l[1].str,
			 "BODY.PEEK[HEADER.FIELDS (DATE FROM)]<0.100>");
	ck_assert_str_eq(l[2].str, "BODY[1.2.MIME]");
	ck_assert_str_eq(l[3].str, "BODY[]");
	ck_assert_int_eq(parse("A FETCH 1 body[header.fields (\"X\")]"), 0);
	ck_assert_str_eq(cmd->args[1].str, "body[header.fields (\"X\")]");
	/* A bracket that does not close is a plain character. */
	ck_assert_int_eq(parse("A SELECT [Gmail]/Sent"), 0);
	ck_assert_str_eq(cmd->args[0].str, "[Gmail]/Sent");
	ck_assert_int_eq(parse("A CREATE a[b"), 0);
	ck_assert_str_eq(cmd->args[0].str, "a[b");
	ck_assert_int_eq(parse("A CREATE a[b c]"), 0);
	ck_assert_str_eq(cmd->args[0].str, "a[b c]");
	ck_assert_int_eq(parse("A CREATE a[[b] c"), 0);
	ck_assert_uint_eq(cmd->n_args, 2);
	ck_assert_str_eq(cmd->args[0].str, "a[[b]");
	ck_assert_int_eq(parse("A CREATE (a[b c)"), 0);
	ck_assert_uint_eq(cmd->args[0].count, 2);
	ck_assert_str_eq(cmd->args[0].list[0].str, "a[b");
	ck_bad("A FETCH 1 BODY[\xc3]", "8-bit data in atom");
	ck_bad("A FETCH 1 BODY[a\tb]", "Invalid character in atom");
	/* Wildcards and "]" are accepted in atoms. */
	ck_assert_int_eq(parse("A LIST \"\" %/*]"), 0);
	ck_assert_str_eq(cmd->args[1].str, "%/*]");
}
END_TEST

START_TEST(tags)
{
	ck_assert_uint_eq(imap_parse_tag("abc", 3), 3);
	ck_assert_uint_eq(imap_parse_tag("abc x", 5), 3);
	ck_assert_uint_eq(imap_parse_tag("a+c x", 5), 0);
	ck_assert_uint_eq(imap_parse_tag("", 0), 0);
	ck_bad_tag("", "Empty tag");
	ck_bad_tag(" NOOP", "Empty tag");
	ck_bad_tag("+ NOOP", "Invalid tag");
	ck_bad_tag("a+b NOOP", "Invalid tag");
	ck_bad_tag("a*b NOOP", "Invalid tag");
	ck_bad_tag("a% NOOP", "Invalid tag");
	ck_bad_tag("a( NOOP", "Invalid tag");
	ck_bad_tag("a) NOOP", "Invalid tag");
	ck_bad_tag("a{ NOOP", "Invalid tag");
	ck_bad_tag("a\" NOOP", "Invalid tag");
	ck_bad_tag("a\\ NOOP", "Invalid tag");
	ck_bad_tag("a\x7f NOOP", "Invalid tag");
	ck_bad_tag("a\x01 NOOP", "Invalid tag");
	ck_bad_tag("\xc3\xa9 NOOP", "Invalid tag");
	ck_assert_int_eq(parse_n("a\0 NOOP", 7, NULL), IMAP_PARSE_BAD_TAG);
	ck_bad("abc", "Missing command");
	ck_bad("abc ", "Missing command");
	ck_bad("abc  NOOP", "Missing command");
	ck_bad("abc NO\"OP", "Invalid command name");
	ck_bad("abc NOOP(", "Invalid command name");
	ck_bad("abc NO\xc3OP", "Invalid command name");
}
END_TEST

START_TEST(atoms_and_spacing)
{
	ck_bad("A NOOP ", "Extra space");
	ck_bad("A X a ", "Extra space");
	ck_bad("A X a  b", "Extra space");
	ck_bad("A X (a )", "Extra space");
	ck_bad("A X ( a)", "Extra space");
	ck_bad("A X a\xff", "8-bit data in atom");
	ck_assert_int_eq(parse_n("A X a\0", 6, NULL), IMAP_PARSE_BAD);
	ck_assert_str_eq(err, "NUL outside literal");
	ck_assert_int_eq(parse_n("A X \0", 5, NULL), IMAP_PARSE_BAD);
	ck_assert_str_eq(err, "NUL outside literal");
	ck_bad("A X a{b", "Invalid character in atom");
	ck_bad("A X a\"b", "Invalid character in atom");
	ck_bad("A X a(b", "Invalid character in atom");
	ck_bad("A X a\\b", "Invalid character in atom");
	ck_bad("A X a\rb", "Invalid character in atom");
	ck_bad("A X a\x1f", "Invalid character in atom");
	ck_bad("A X a\x7f", "Invalid character in atom");
	ck_bad("A X (a", "Missing ')'");
	ck_bad("A X ((a)", "Missing ')'");
	ck_bad("A X (", "Missing ')'");
	ck_bad("A X a)", "Unexpected ')'");
	ck_bad("A X )", "Unexpected ')'");
	ck_bad("A X (a))", "Unexpected ')'");
	ck_bad("A X ((a)b)", "Missing space between arguments");
	ck_bad("A X (a)(b)", "Missing space between arguments");
}
END_TEST

static char *nested(unsigned depth)
{
	char *s = malloc(2 * depth + 8);
	size_t n = 0;

	memcpy(s, "A X ", 4);
	n = 4;
	for (unsigned i = 0; i < depth; i++)
		s[n++] = '(';
	s[n++] = 'a';
	for (unsigned i = 0; i < depth; i++)
		s[n++] = ')';
	s[n] = '\0';
	return s;
}

START_TEST(limits)
{
	struct imap_parse_limits lim = { .max_depth = 3, .max_args = 5 };
	char *s;

	/* depth: 3 nested lists + the atom = 4 args. */
	s = nested(3);
	ck_assert_int_eq(parse_n(s, strlen(s), &lim), 0);
	free(s);
	s = nested(4);
	ck_assert_int_eq(parse_n(s, strlen(s), &lim), IMAP_PARSE_BAD);
	ck_assert_str_eq(err, "Too deeply nested lists");
	free(s);
	lim.max_depth = 0;
	ck_assert_int_eq(parse_n("A X ()", 6, &lim), IMAP_PARSE_BAD);
	ck_assert_str_eq(err, "Too deeply nested lists");
	/* arguments: every node counts, lists included. */
	lim.max_depth = 3;
	ck_assert_int_eq(parse_n("A X a b c d e", 13, &lim), 0);
	ck_assert_int_eq(parse_n("A X a b c d e f", 15, &lim),
			 IMAP_PARSE_BAD);
	ck_assert_str_eq(err, "Too many arguments");
	ck_assert_int_eq(parse_n("A X (a b c) d", 13, &lim), 0);
	ck_assert_int_eq(parse_n("A X (a b c d) e", 15, &lim),
			 IMAP_PARSE_BAD);
	ck_assert_str_eq(err, "Too many arguments");
	/* Defaults apply with NULL limits. */
	s = nested(IMAP_PARSE_DEFAULT_DEPTH);
	ck_assert_int_eq(parse(s), 0);
	free(s);
	s = nested(IMAP_PARSE_DEFAULT_DEPTH + 1);
	ck_assert_int_eq(parse(s), IMAP_PARSE_BAD);
	free(s);
}
END_TEST

static int lit(const char *s, uint64_t *n, bool *ns)
{
	*n = 77;
	*ns = true;
	return imap_literal_at_end(s, strlen(s), n, ns);
}

START_TEST(literal_at_end)
{
	uint64_t n;
	bool ns;

	ck_assert_int_eq(lit("A LOGIN {5}", &n, &ns), 1);
	ck_assert_uint_eq(n, 5);
	ck_assert(!ns);
	ck_assert_int_eq(lit("A LOGIN x {12+}", &n, &ns), 1);
	ck_assert_uint_eq(n, 12);
	ck_assert(ns);
	ck_assert_int_eq(lit("A X ({0}", &n, &ns), 1);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(lit("A X {007}", &n, &ns), 1);
	ck_assert_uint_eq(n, 7);
	ck_assert_int_eq(lit("A X {18446744073709551615}", &n, &ns), 1);
	ck_assert_uint_eq(n, UINT64_MAX);
	ck_assert_int_eq(lit("A X {18446744073709551616}", &n, &ns), -ERANGE);
	ck_assert_int_eq(lit("A X {99999999999999999999999}", &n, &ns),
			 -ERANGE);
	/* Not announcements; outputs untouched. */
	ck_assert_int_eq(lit("{5}", &n, &ns), 0);
	ck_assert_int_eq(lit(" {5}", &n, &ns), 1); /* "{" after SP */
	ck_assert_int_eq(lit("A X{5}", &n, &ns), 0);
	ck_assert_int_eq(lit("A X a{5}", &n, &ns), 0);
	ck_assert_int_eq(lit("A X \"{5}", &n, &ns), 0);
	ck_assert_int_eq(lit("A X {+5}", &n, &ns), 0);
	ck_assert_int_eq(lit("A X {5++}", &n, &ns), 0);
	ck_assert_int_eq(lit("A X { 5}", &n, &ns), 0);
	ck_assert_int_eq(lit("A X {5 }", &n, &ns), 0);
	ck_assert_int_eq(lit("A X {-5}", &n, &ns), 0);
	ck_assert_int_eq(lit("A X {}", &n, &ns), 0);
	ck_assert_int_eq(lit("A X {+}", &n, &ns), 0);
	ck_assert_int_eq(lit("A X {5}x", &n, &ns), 0);
	ck_assert_int_eq(lit("A X {5", &n, &ns), 0);
	ck_assert_int_eq(lit("A X 5}", &n, &ns), 0);
	ck_assert_int_eq(lit("}", &n, &ns), 0);
	ck_assert_int_eq(lit("+}", &n, &ns), 0);
	ck_assert_int_eq(lit("", &n, &ns), 0);
	ck_assert_uint_eq(n, 77);
	ck_assert(ns);
}
END_TEST

/* Every prefix of a line: only the prefixes ending right after "}" are
 * announcements. */
START_TEST(literal_at_every_split)
{
	const char *line = "A APPEND box (\\Seen) {310} x {12+} y {0}";
	size_t len = strlen(line);

	for (size_t i = 0; i <= len; i++) {
		uint64_t n;
		bool ns;
		int r = imap_literal_at_end(line, i, &n, &ns);
		bool want = i > 0 && line[i - 1] == '}';

		CHECK((r) == (want ? 1 : 0));
		if (i == 26)
			CHECK(n == 310 && !ns);
		if (i == 35)
			CHECK(n == 12 && ns);
	}
}
END_TEST

/* Every prefix of a full command parses or fails cleanly, and the full
 * command at every split fed to the same buffer gives the same tree. */
START_TEST(every_prefix)
{
	static const char full[] = "T1 APPEND \"a b\" (\\Seen kw) {3}\r\n"
		"x\0y (NIL {2+}\r\n()) BODY[HEADER.FIELDS (A)]<1.2>";
	size_t len = sizeof(full) - 1;
	int ok = 0;

	for (size_t i = 0; i <= len; i++) {
		char *copy = malloc(i + 1);

		memcpy(copy, full, i);
		if (parse_n(copy, i, NULL) == 0)
			ok++;
		else
			CHECK((err) != NULL);
		if (cmd != NULL)
			imap_command_free(&cmd);
		free(copy);
	}
	CHECK((parse_n(full, len, NULL)) == (0));
	CHECK((cmd->n_args) == (5));
	ck_assert_str_eq(cmd->args[4].str, "BODY[HEADER.FIELDS (A)]<1.2>");
	ck_assert_int_gt(ok, 5);
}
END_TEST

/* Random bytes from an alphabet of grammar characters: never a crash or
 * a sanitizer report; a success always has a tag and a name. */
START_TEST(random_input)
{
	static const char alpha[] = "A1 ()\"\\{}+\r\n[]<>.*%\0\x80NIL";
	unsigned seed = 12345;
	char s[40];

	for (int iter = 0; iter < 20000; iter++) {
		size_t len = (size_t)(rand_r(&seed) % sizeof(s));

		for (size_t i = 0; i < len; i++)
			s[i] = alpha[rand_r(&seed) % (sizeof(alpha) - 1)];
		if (parse_n(s, len, NULL) == 0) {
			CHECK((cmd->tag) != NULL);
			CHECK((cmd->name) != NULL);
		}
	}
}
END_TEST

START_TEST(command_name_is)
{
	static const struct { const char *buf, *name; bool yes; } cases[] = {
		{ "a APPEND INBOX {5}", "APPEND", true },
		{ "a append {5}", "APPEND", true },
		{ "a APPEND", "APPEND", true },
		{ "a1.x LOGIN {18}", "LOGIN", true },
		{ "a APPENDX {5}", "APPEND", false },
		{ "a APPEN", "APPEND", false },
		{ "a  APPEND {5}", "APPEND", false },
		{ "APPEND INBOX", "APPEND", false },
		{ " APPEND INBOX", "APPEND", false },
		{ "a+ APPEND x", "APPEND", false },
		{ "a UID APPEND", "APPEND", false },
		{ "", "APPEND", false },
		{ "a", "APPEND", false },
		{ "a ", "APPEND", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(imap_command_name_is(cases[i].buf,
						   strlen(cases[i].buf),
						   cases[i].name) ==
			      cases[i].yes, "%s", cases[i].buf);
}
END_TEST

Suite *imap_parser_suite(void)
{
	Suite *s = suite_create("imap_parser");
	TCase *tc = tcase_create("parser");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, simple_commands);
	tcase_add_test(tc, argument_types);
	tcase_add_test(tc, nested_lists);
	tcase_add_test(tc, quoted_strings);
	tcase_add_test(tc, literals);
	tcase_add_test(tc, fetch_attributes_and_brackets);
	tcase_add_test(tc, tags);
	tcase_add_test(tc, atoms_and_spacing);
	tcase_add_test(tc, limits);
	tcase_add_test(tc, literal_at_end);
	tcase_add_test(tc, literal_at_every_split);
	tcase_add_test(tc, every_prefix);
	tcase_add_test(tc, random_input);
	tcase_add_test(tc, command_name_is);
	suite_add_tcase(s, tc);
	return s;
}
