/* The RFC 7208 test suite (openspf/pyspf, rfc7208-tests.yml, converted by
 * rfc7208_convert.py into rfc7208-tests.txt) run against spf.so's
 * evaluation (modules/spf/spf_eval.c) with each scenario's zone served by
 * the module's zone DNS layer (modules/spf/spf_dns.c): no network.
 *
 * Prints "N/M scenarios pass". A test fails when a scenario that is not
 * in rfc7208-expected-failures.txt fails (a regression), or when one
 * listed there passes (keep the list exact). The suite's explanation
 * field (exp=) is not compared: Postino does not use explanations. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spf_eval.h"

#define MAX_FIELDS 6
#define MAX_EXPECTED 256

struct expected {
	char names[MAX_EXPECTED][80];
	int used[MAX_EXPECTED];
	int n;
};

static const char *data_path(const char *file, char *buf, size_t len)
{
	const char *dir = getenv("SPF_SUITE_DIR");

	snprintf(buf, len, "%s/%s", dir != NULL ? dir : ".", file);
	return buf;
}

static void load_expected(struct expected *x)
{
	char path[1024], line[512];
	FILE *f = fopen(data_path("rfc7208-expected-failures.txt", path,
				  sizeof(path)), "r");

	ck_assert_msg(f != NULL, "cannot open %s", path);
	x->n = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t n = strcspn(line, " \t\r\n");

		if (line[0] == '#' || n == 0)
			continue;
		ck_assert_int_lt(x->n, MAX_EXPECTED);
		ck_assert_uint_lt(n, sizeof(x->names[0]));
		memcpy(x->names[x->n], line, n);
		x->names[x->n][n] = '\0';
		x->used[x->n++] = 0;
	}
	fclose(f);
}

static int expected_index(const struct expected *x, const char *name)
{
	for (int i = 0; i < x->n; i++)
		if (strcmp(x->names[i], name) == 0)
			return i;
	return -1;
}

/* Splits line at TABs in place; decodes \xHH and \\ in each field. */
static int split(char *line, char **fields)
{
	int n = 0;

	line[strcspn(line, "\r\n")] = '\0';
	for (char *p = line; n < MAX_FIELDS;) {
		fields[n++] = p;
		p = strchr(p, '\t');
		if (p == NULL)
			break;
		*p++ = '\0';
	}
	for (int i = 1; i < n; i++) {
		char *in = fields[i], *out = fields[i];

		while (*in != '\0') {
			if (in[0] == '\\' && in[1] == '\\') {
				*out++ = '\\';
				in += 2;
			} else if (in[0] == '\\' && in[1] == 'x') {
				char hex[3] = { in[2], in[3], '\0' };

				*out++ = (char)strtol(hex, NULL, 16);
				in += 4;
			} else {
				*out++ = *in++;
			}
		}
		*out = '\0';
	}
	return n;
}

static int result_ok(const char *want, enum spf_result got)
{
	char buf[128];

	snprintf(buf, sizeof(buf), "%s", want);
	for (char *tok = strtok(buf, ","); tok != NULL;
	     tok = strtok(NULL, ","))
		if (strcmp(tok, spf_result_name(got)) == 0)
			return 1;
	return 0;
}

START_TEST(test_suite)
{
	char path[1024], line[4096], err[200], *f[MAX_FIELDS];
	struct expected *x = calloc(1, sizeof(*x));
	struct spf_dns *dns = NULL;
	int total = 0, passed = 0, regressions = 0, stale = 0, ready = 0;
	FILE *in;

	ck_assert_ptr_nonnull(x);
	load_expected(x);
	in = fopen(data_path("rfc7208-tests.txt", path, sizeof(path)), "r");
	ck_assert_msg(in != NULL, "cannot open %s", path);
	while (fgets(line, sizeof(line), in) != NULL) {
		/* Zone lines keep their escapes: the zone parser decodes. */
		if (strncmp(line, "zone\t", 5) == 0) {
			if (dns == NULL)
				ck_assert_int_eq(spf_dns_new_zone(&dns), 0);
			ck_assert_msg(spf_dns_zone_line(dns, line + 5, err,
							sizeof(err)) == 0,
				      "%s: %s", line, err);
			continue;
		}
		int n = split(line, f);

		if (strcmp(f[0], "scenario") == 0) {
			spf_dns_free(&dns);
			ready = 0;
			continue;
		}
		ck_assert_msg(n == 6 && strcmp(f[0], "test") == 0,
			      "bad line: %s", line);
		if (dns == NULL)
			ck_assert_int_eq(spf_dns_new_zone(&dns), 0);
		/* The zone is complete at a scenario's first test. */
		if (!ready) {
			ck_assert_int_eq(spf_dns_zone_done(dns), 0);
			ready = 1;
		}
		struct spf_query q = {
			.ip = f[2],
			.helo = f[3],
			.mail_from = f[4],
			.receiver = "receiver.example",
		};
		struct spf_answer a;

		spf_eval(dns, &q, &a);
		int ok = result_ok(f[5], a.result);
		int xi = expected_index(x, f[1]);

		total++;
		passed += ok;
		if (xi >= 0)
			x->used[xi] = 1;
		if (!ok && xi < 0) {
			regressions++;
			fprintf(stderr, "REGRESSION %s: want %s, got %s (%s)\n",
				f[1], f[5], spf_result_name(a.result),
				a.problem);
		} else if (ok && xi >= 0) {
			stale++;
			fprintf(stderr, "NOW PASSES %s: remove it from "
				"rfc7208-expected-failures.txt\n", f[1]);
		} else if (!ok) {
			fprintf(stderr, "expected failure %s: want %s, got "
				"%s\n", f[1], f[5], spf_result_name(a.result));
		}
	}
	fclose(in);
	spf_dns_free(&dns);
	for (int i = 0; i < x->n; i++)
		if (!x->used[i]) {
			stale++;
			fprintf(stderr, "UNKNOWN %s in the expected failures\n",
				x->names[i]);
		}
	printf("%d/%d scenarios pass (%d expected failures listed)\n", passed,
	       total, x->n);
	fflush(stdout);
	free(x);
	ck_assert_int_gt(total, 0);
	ck_assert_int_eq(regressions, 0);
	ck_assert_int_eq(stale, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("spf_rfc7208");
	TCase *tc = tcase_create("suite");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_suite);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
