/* Table-driven tests of the Sieve engine: every case in the .txt files of
 * cases/ is a script, a message, an envelope and an environment, and the
 * actions the script must produce (or the compile error, with
 * line:column). Each case is also run with CRLF line ends and through
 * save/load, which must give the same result. Format:
 *
 *   === name
 *   --- script                (required)
 *   --- message               (lines joined with CRLF)
 *   --- envelope              from ADDR | from <> | to ADDR
 *   --- env                   addresses A B.. | separators + | now T |
 *                             zone +hhmm | mailboxes A B.. | size N |
 *                             limit NAME N
 *   --- include NAME          a personal script include can fetch
 *   --- include-global NAME
 *   --- expect                one action per line (render_result below)
 *   --- compile-error         LINE:COL message
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sieve.h"

struct text {
	char *s;
	size_t len, cap;
};

struct include {
	char name[64];
	bool global;
	struct text script;
};

struct tcase {
	char name[160];
	char file[64];
	unsigned line;
	struct text script, message, envelope, env, expect, compile_error;
	struct include includes[8];
	size_t n_includes;
};

static struct tcase *cases;
static size_t n_cases;

static void text_add(struct text *t, const char *s, size_t len)
{
	if (t->len + len + 1 > t->cap) {
		t->cap = (t->len + len + 1) * 2;
		t->s = realloc(t->s, t->cap);
		if (t->s == NULL)
			abort();
	}
	memcpy(t->s + t->len, s, len);
	t->len += len;
	t->s[t->len] = '\0';
}

static const char *text_str(const struct text *t)
{
	return t->s ? t->s : "";
}

static void load_file(const char *dir, const char *file)
{
	char path[1024], line[8192];
	struct text *section = NULL;
	const char *eol = "\n";
	unsigned lineno = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		perror(path);
		exit(1);
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t len = strlen(line);
		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (strncmp(line, "=== ", 4) == 0) {
			cases = realloc(cases, (n_cases + 1) * sizeof(*cases));
			if (cases == NULL)
				abort();
			struct tcase *c = &cases[n_cases++];
			memset(c, 0, sizeof(*c));
			snprintf(c->name, sizeof(c->name), "%.150s", line + 4);
			snprintf(c->file, sizeof(c->file), "%s", file);
			c->line = lineno;
			section = NULL;
			continue;
		}
		if (strncmp(line, "--- ", 4) == 0 && n_cases > 0) {
			struct tcase *c = &cases[n_cases - 1];
			const char *what = line + 4;
			eol = "\n";
			if (strcmp(what, "script") == 0) {
				section = &c->script;
			} else if (strcmp(what, "message") == 0) {
				section = &c->message;
				eol = "\r\n";
			} else if (strcmp(what, "envelope") == 0) {
				section = &c->envelope;
			} else if (strcmp(what, "env") == 0) {
				section = &c->env;
			} else if (strcmp(what, "expect") == 0) {
				section = &c->expect;
			} else if (strcmp(what, "compile-error") == 0) {
				section = &c->compile_error;
			} else if (strncmp(what, "include", 7) == 0) {
				struct include *inc =
					&c->includes[c->n_includes++];
				const char *name = strchr(what, ' ');
				inc->global = strncmp(what, "include-global",
						      14) == 0;
				snprintf(inc->name, sizeof(inc->name), "%s",
					 name ? name + 1 : "");
				section = &inc->script;
			} else {
				fprintf(stderr, "%s:%u: unknown section %s\n",
					path, lineno, what);
				exit(1);
			}
			text_add(section, "", 0);
			continue;
		}
		if (section == NULL)
			continue;
		text_add(section, line, len);
		text_add(section, eol, strlen(eol));
	}
	fclose(f);
}

/* Blank lines before the next case belong to no section. */
static void text_trim(struct text *t)
{
	for (;;) {
		if (t->len >= 4 && memcmp(t->s + t->len - 4, "\r\n\r\n", 4) == 0)
			t->len -= 2;
		else if (t->len >= 2 &&
			 memcmp(t->s + t->len - 2, "\n\n", 2) == 0)
			t->len -= 1;
		else
			break;
		t->s[t->len] = '\0';
	}
}

static int case_file_filter(const struct dirent *e)
{
	size_t len = strlen(e->d_name);
	return len > 4 && strcmp(e->d_name + len - 4, ".txt") == 0;
}

static void load_cases(const char *dir)
{
	struct dirent **list;
	int n = scandir(dir, &list, case_file_filter, alphasort);

	if (n < 0) {
		perror(dir);
		exit(1);
	}
	for (int i = 0; i < n; i++) {
		load_file(dir, list[i]->d_name);
		free(list[i]);
	}
	free(list);
	for (size_t i = 0; i < n_cases; i++) {
		struct tcase *c = &cases[i];
		struct text *all[] = { &c->script, &c->message, &c->envelope,
				       &c->env, &c->expect, &c->compile_error };
		for (size_t k = 0; k < 6; k++)
			if (all[k]->s != NULL)
				text_trim(all[k]);
		for (size_t k = 0; k < c->n_includes; k++)
			text_trim(&c->includes[k].script);
	}
}

/* The environment a case describes. */
struct run_env {
	struct sieve_env env;
	struct sieve_limits limits;
	struct sieve_envelope envelope;
	char from[256], to[256], separators[16];
	char *addresses[8];
	size_t n_addresses;
	char *mailboxes[8];
	size_t n_mailboxes;
	const struct tcase *c;
	bool crlf;
	uint64_t size;
	bool has_size;
};

static int mailbox_exists(void *context, const char *mailbox)
{
	struct run_env *re = context;

	for (size_t i = 0; i < re->n_mailboxes; i++)
		if (strcmp(re->mailboxes[i], mailbox) == 0)
			return 1;
	return 0;
}

static void to_crlf(const char *s, struct text *out)
{
	for (; *s; s++) {
		if (*s == '\n')
			text_add(out, "\r", 1);
		text_add(out, s, 1);
	}
	text_add(out, "", 0);
}

static int include_script(void *context, enum sieve_include_location where,
			  const char *name, struct sieve_program **program_r)
{
	struct run_env *re = context;

	for (size_t i = 0; i < re->c->n_includes; i++) {
		const struct include *inc = &re->c->includes[i];
		if (strcmp(inc->name, name) != 0 ||
		    inc->global != (where == SIEVE_INCLUDE_GLOBAL))
			continue;
		struct sieve_error err;
		int ret = sieve_compile(text_str(&inc->script),
					inc->script.len, NULL, program_r,
					&err);
		ck_assert_msg(ret == 0, "include %s: %u:%u %s", name, err.line,
			      err.column, err.message);
		return 0;
	}
	return -ENOENT;
}

static void limit_set(struct sieve_limits *l, const char *name,
		      unsigned long long v)
{
	if (strcmp(name, "max_redirects") == 0)
		l->max_redirects = (unsigned)v;
	else if (strcmp(name, "max_actions") == 0)
		l->max_actions = (unsigned)v;
	else if (strcmp(name, "max_cpu") == 0)
		l->max_cpu = v;
	else if (strcmp(name, "max_variable_size") == 0)
		l->max_variable_size = v;
	else if (strcmp(name, "max_include_depth") == 0)
		l->max_include_depth = (unsigned)v;
	else if (strcmp(name, "max_includes") == 0)
		l->max_includes = (unsigned)v;
	else if (strcmp(name, "max_nesting") == 0)
		l->max_nesting = (unsigned)v;
	else if (strcmp(name, "max_variables") == 0)
		l->max_variables = (unsigned)v;
	else if (strcmp(name, "max_script_size") == 0)
		l->max_script_size = v;
	else if (strcmp(name, "max_mime_parts") == 0)
		l->max_mime_parts = (unsigned)v;
	else if (strcmp(name, "vacation_min_period") == 0)
		l->vacation_min_period = (uint32_t)v;
	else
		ck_abort_msg("unknown limit %s", name);
}

static char *dup_word(const char *s, size_t len)
{
	char *w = malloc(len + 1);
	memcpy(w, s, len);
	w[len] = '\0';
	return w;
}

/* Words of a line after its key, into an array of strdup'd strings. */
static size_t split_words(const char *s, char **out, size_t max)
{
	size_t n = 0;

	while (*s && n < max) {
		while (*s == ' ')
			s++;
		size_t len = strcspn(s, " ");
		if (len == 0)
			break;
		out[n++] = dup_word(s, len);
		s += len;
	}
	return n;
}

static void setup_env(struct run_env *re, const struct tcase *c)
{
	char line[1024];
	const char *p;

	memset(re, 0, sizeof(*re));
	re->c = c;
	sieve_limits_default(&re->limits);
	strcpy(re->from, "sender@example.org");
	strcpy(re->to, "me@example.com");
	re->env.now = 1700000000;              /* 2023-11-14 22:13:20 UTC */
	strcpy(re->separators, "+");
	for (int pass = 0; pass < 2; pass++) {
		p = text_str(pass == 0 ? &c->envelope : &c->env);
		while (*p) {
			size_t len = strcspn(p, "\n");
			snprintf(line, sizeof(line), "%.*s", (int)len, p);
			p += len + (p[len] == '\n');
			char key[64];
			const char *rest = strchr(line, ' ');
			if (rest == NULL)
				continue;
			snprintf(key, sizeof(key), "%.*s", (int)(rest - line),
				 line);
			rest++;
			if (strcmp(key, "from") == 0)
				snprintf(re->from, sizeof(re->from), "%s",
					 strcmp(rest, "<>") == 0 ? "" : rest);
			else if (strcmp(key, "to") == 0)
				snprintf(re->to, sizeof(re->to), "%s", rest);
			else if (strcmp(key, "addresses") == 0)
				re->n_addresses = split_words(rest,
							      re->addresses, 8);
			else if (strcmp(key, "mailboxes") == 0)
				re->n_mailboxes = split_words(rest,
							      re->mailboxes, 8);
			else if (strcmp(key, "separators") == 0)
				snprintf(re->separators,
					 sizeof(re->separators), "%s",
					 strcmp(rest, "none") == 0 ? "" : rest);
			else if (strcmp(key, "now") == 0)
				re->env.now = strtoll(rest, NULL, 10);
			else if (strcmp(key, "zone") == 0)
				re->env.zone_minutes =
					(rest[0] == '-' ? -1 : 1) *
					(atoi(rest + 1) / 100 * 60 +
					 atoi(rest + 1) % 100);
			else if (strcmp(key, "size") == 0) {
				re->size = strtoull(rest, NULL, 10);
				re->has_size = true;
			} else if (strcmp(key, "limit") == 0) {
				char name[64];
				unsigned long long v;
				ck_assert(sscanf(rest, "%63s %llu", name,
						 &v) == 2);
				limit_set(&re->limits, name, v);
			} else {
				ck_abort_msg("%s: unknown env key %s", c->name,
					     key);
			}
		}
	}
	re->envelope.from = re->from;
	re->envelope.to = re->to;
	re->env.limits = &re->limits;
	re->env.addresses = (const char *const *)re->addresses;
	re->env.n_addresses = re->n_addresses;
	re->env.separators = re->separators;
	re->env.mailbox_exists = mailbox_exists;
	re->env.include = include_script;
	re->env.context = re;
}

static void free_env(struct run_env *re)
{
	for (size_t i = 0; i < re->n_addresses; i++)
		free(re->addresses[i]);
	for (size_t i = 0; i < re->n_mailboxes; i++)
		free(re->mailboxes[i]);
}

/* Text with CR LF shown as \n, for one-line rendering. */
static void render_str(struct text *out, const char *s, size_t len)
{
	text_add(out, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n') {
			text_add(out, "\\n", 2);
			i++;
		} else {
			text_add(out, s + i, 1);
		}
	}
	text_add(out, "\"", 1);
}

static void render_flags(struct text *out, const struct sieve_action *a)
{
	if (a->n_flags == 0)
		return;
	text_add(out, " flags=", 7);
	struct text f = { 0 };
	for (size_t i = 0; i < a->n_flags; i++) {
		if (i > 0)
			text_add(&f, " ", 1);
		text_add(&f, a->flags[i], strlen(a->flags[i]));
	}
	render_str(out, f.s, f.len);
	free(f.s);
}

static void render_opt(struct text *out, const char *name, const char *v)
{
	if (v == NULL)
		return;
	text_add(out, " ", 1);
	text_add(out, name, strlen(name));
	text_add(out, "=", 1);
	render_str(out, v, strlen(v));
}

static void render_result(const struct sieve_result *r, struct text *out)
{
	char buf[64];

	text_add(out, "", 0);
	if (r->error != NULL) {
		text_add(out, "error ", 6);
		render_str(out, r->error, strlen(r->error));
		text_add(out, "\n", 1);
	}
	for (size_t i = 0; i < r->n_actions; i++) {
		const struct sieve_action *a = &r->actions[i];
		const struct sieve_vacation *v = a->vacation;
		switch (a->type) {
		case SIEVE_ACTION_KEEP:
			text_add(out, "keep", 4);
			if (a->implicit)
				text_add(out, " implicit", 9);
			render_flags(out, a);
			break;
		case SIEVE_ACTION_FILEINTO:
			text_add(out, "fileinto ", 9);
			render_str(out, a->mailbox, strlen(a->mailbox));
			if (a->copy)
				text_add(out, " copy", 5);
			if (a->create)
				text_add(out, " create", 7);
			render_flags(out, a);
			break;
		case SIEVE_ACTION_REDIRECT:
			text_add(out, "redirect ", 9);
			text_add(out, a->address, strlen(a->address));
			if (a->copy)
				text_add(out, " copy", 5);
			break;
		case SIEVE_ACTION_DISCARD:
			text_add(out, "discard", 7);
			break;
		case SIEVE_ACTION_REJECT:
		case SIEVE_ACTION_EREJECT:
			text_add(out, a->type == SIEVE_ACTION_REJECT ?
				 "reject " : "ereject ", a->type ==
				 SIEVE_ACTION_REJECT ? 7 : 8);
			render_str(out, a->reason, strlen(a->reason));
			break;
		case SIEVE_ACTION_VACATION:
			text_add(out, "vacation", 8);
			if (v->send)
				text_add(out, " send", 5);
			else
				render_opt(out, "refused", v->refusal);
			snprintf(buf, sizeof(buf), " period=%u", v->period);
			text_add(out, buf, strlen(buf));
			render_opt(out, "subject", v->subject);
			render_opt(out, "from", v->from);
			render_opt(out, "handle", v->handle);
			if (v->mime)
				text_add(out, " mime", 5);
			for (size_t k = 0; k < v->n_addresses; k++)
				render_opt(out, "address", v->addresses[k]);
			text_add(out, " reason=", 8);
			render_str(out, v->reason, v->reason_len);
			break;
		}
		text_add(out, "\n", 1);
	}
}

static void check_rendered(const struct tcase *c, const char *variant,
			   const char *got)
{
	const char *want = text_str(&c->expect);

	ck_assert_msg(strcmp(got, want) == 0,
		      "%s:%u %s (%s)\n--- want\n%s--- got\n%s", c->file, c->line,
		      c->name, variant, want, got);
}

static void run_program(const struct tcase *c, struct run_env *re,
			const struct sieve_program *p, const char *variant)
{
	static const char default_message[] =
		"From: Sender <sender@example.org>\r\n"
		"To: Me <me@example.com>\r\n"
		"Subject: Hello\r\n"
		"Date: Tue, 14 Nov 2023 10:00:00 +0100\r\n"
		"Message-ID: <m1@example.org>\r\n"
		"\r\n"
		"Hi.\r\n";
	struct sieve_buffer buf = { default_message,
				    sizeof(default_message) - 1 };
	if (c->message.s != NULL) {
		buf.data = c->message.s;
		buf.len = c->message.len;
	}
	struct sieve_message msg;
	struct sieve_result *r = NULL;
	struct text out = { 0 };

	sieve_message_from_buffer(&msg, &buf);
	if (re->has_size)
		msg.size = re->size;
	ck_assert_int_eq(sieve_evaluate(p, &msg, &re->envelope, &re->env, &r),
			 0);
	render_result(r, &out);
	check_rendered(c, variant, out.s);
	free(out.s);
	sieve_result_free(&r);
	ck_assert_ptr_null(r);
}

static void run_case_script(const struct tcase *c, const char *script,
			    size_t len, const char *variant)
{
	struct run_env re;
	struct sieve_program *p = NULL;
	struct sieve_error err;

	setup_env(&re, c);
	int ret = sieve_compile(script, len, &re.limits, &p, &err);
	if (c->compile_error.s != NULL) {
		char got[400], want[400];
		snprintf(got, sizeof(got), "%u:%u %s\n", err.line, err.column,
			 err.message);
		snprintf(want, sizeof(want), "%s", text_str(&c->compile_error));
		ck_assert_msg(ret == -EINVAL && strcmp(got, want) == 0,
			      "%s:%u %s (%s): want error %s got %d %s", c->file,
			      c->line, c->name, variant, want, ret, got);
		free_env(&re);
		return;
	}
	ck_assert_msg(ret == 0, "%s:%u %s (%s): %u:%u %s", c->file, c->line,
		      c->name, variant, err.line, err.column, err.message);
	run_program(c, &re, p, variant);

	/* The same through the store's form. */
	void *data;
	size_t dlen;
	struct sieve_program *q = NULL;
	ck_assert_int_eq(sieve_program_save(p, &data, &dlen), 0);
	ck_assert_int_eq(sieve_program_load(data, dlen, &q), 0);
	run_program(c, &re, q, "loaded");
	free(data);
	sieve_program_free(&q);
	sieve_program_free(&p);
	ck_assert_ptr_null(p);
	free_env(&re);
}

START_TEST(sieve_case)
{
	const struct tcase *c = &cases[_i];
	struct text crlf = { 0 };

	ck_assert_msg(c->script.s != NULL, "%s: no script", c->name);
	run_case_script(c, c->script.s, c->script.len, "LF");
	to_crlf(c->script.s, &crlf);
	run_case_script(c, crlf.s, crlf.len, "CRLF");
	free(crlf.s);
}
END_TEST

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "cases";

	sieve_engine_init();
	load_cases(dir);
	if (n_cases == 0) {
		fprintf(stderr, "no cases in %s\n", dir);
		return 1;
	}
	Suite *s = suite_create("sieve cases");
	TCase *tc = tcase_create("cases");
	tcase_add_loop_test(tc, sieve_case, 0, (int)n_cases);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	for (size_t i = 0; i < n_cases; i++) {
		free(cases[i].script.s);
		free(cases[i].message.s);
		free(cases[i].envelope.s);
		free(cases[i].env.s);
		free(cases[i].expect.s);
		free(cases[i].compile_error.s);
		for (size_t k = 0; k < cases[i].n_includes; k++)
			free(cases[i].includes[k].script.s);
	}
	free(cases);
	sieve_engine_shutdown();
	return failed == 0 ? 0 : 1;
}
