/* core/log: line format, level filtering, sanitising, one write per line. */
#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log/log.h"

static int pipe_fds[2];
static struct log test_log;

static void pipe_setup(void)
{
	ck_assert_int_eq(pipe2(pipe_fds, O_NONBLOCK | O_CLOEXEC), 0);
	log_init(&test_log, LOG_LEVEL_INFO, LOG_TARGET_STDERR);
	ck_assert_int_eq(test_log.fd, 2);
	test_log.fd = pipe_fds[1];
}

static void pipe_teardown(void)
{
	log_deinit(&test_log);
	close(pipe_fds[0]);
	close(pipe_fds[1]);
}

/* Everything written so far, NUL-terminated, in a static buffer. */
static const char *drain(void)
{
	static char buf[65536];
	size_t len = 0;
	ssize_t n;

	while (len < sizeof(buf) - 1 &&
	       (n = read(pipe_fds[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	return buf;
}

static void assert_matches(const char *text, const char *pattern)
{
	regex_t re;

	ck_assert_int_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	ck_assert_msg(regexec(&re, text, 0, NULL, 0) == 0,
		      "\"%s\" does not match /%s/", text, pattern);
	regfree(&re);
}

START_TEST(line_format)
{
	const char *out;
	struct tm tm = { 0 };
	time_t before = time(NULL);
	time_t stamped;

	log_write(&test_log, LOG_LEVEL_INFO, "core", "4f2a", "hello %s n=%d",
		  "world", 42);
	out = drain();
	assert_matches(out, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:"
			    "[0-9]{2}\\.[0-9]{3}Z info core sid=4f2a: hello "
			    "world n=42\n$");
	/* The stamp is UTC and now. */
	ck_assert_ptr_nonnull(strptime(out, "%Y-%m-%dT%H:%M:%S", &tm));
	stamped = timegm(&tm);
	ck_assert_int_ge(stamped, before - 1);
	ck_assert_int_le(stamped, time(NULL) + 1);

	log_write(&test_log, LOG_LEVEL_ERROR, "imap", NULL, "no session");
	assert_matches(drain(), "Z error imap: no session\n$");
	log_write(&test_log, LOG_LEVEL_WARNING, NULL, NULL, "x");
	assert_matches(drain(), "Z warning -: x\n$");
}
END_TEST

START_TEST(level_filtering)
{
	test_log.level = LOG_LEVEL_WARNING;
	log_write(&test_log, LOG_LEVEL_DEBUG, "core", NULL, "debug");
	log_write(&test_log, LOG_LEVEL_INFO, "core", NULL, "info");
	ck_assert_str_eq(drain(), "");
	log_write(&test_log, LOG_LEVEL_WARNING, "core", NULL, "warning");
	log_write(&test_log, LOG_LEVEL_ERROR, "core", NULL, "error");
	assert_matches(drain(), "^[^\n]* warning core: warning\n"
				"[^\n]* error core: error\n$");
	test_log.level = LOG_LEVEL_DEBUG;
	log_write(&test_log, LOG_LEVEL_DEBUG, "core", NULL, "debug");
	assert_matches(drain(), "Z debug core: debug\n$");
	test_log.level = LOG_LEVEL_ERROR;
	log_write(&test_log, LOG_LEVEL_WARNING, "core", NULL, "warning");
	ck_assert_str_eq(drain(), "");
}
END_TEST

START_TEST(control_chars_replaced)
{
	const char *out;

	log_write(&test_log, LOG_LEVEL_INFO, "smtp", "s\n1",
		  "HELO %s end", "a\r\nb\x1b[31mc\x7f\td\x01\xc3\xa8");
	out = drain();
	assert_matches(out, "Z info smtp sid=s\\?1: HELO a\\?\\?b\\?\\[31mc\\?"
			    "\\?d\\?\xc3\xa8 end\n$");
	/* One line, whatever the peer sent. */
	ck_assert_ptr_eq(strchr(out, '\n'), out + strlen(out) - 1);
}
END_TEST

START_TEST(long_message_truncated)
{
	char *big = malloc(10000);
	const char *out;
	size_t len;

	ck_assert_ptr_nonnull(big);
	memset(big, 'x', 9999);
	big[9999] = '\0';
	log_write(&test_log, LOG_LEVEL_INFO, "core", NULL, "%s", big);
	free(big);
	out = drain();
	len = strlen(out);
	ck_assert_uint_le(len, 4096);
	ck_assert_ptr_eq(strchr(out, '\n'), out + len - 1);
	ck_assert_str_eq(out + len - 5, "x...\n");
}
END_TEST

START_TEST(levels_by_name)
{
	ck_assert_int_eq(log_level_parse("error"), LOG_LEVEL_ERROR);
	ck_assert_int_eq(log_level_parse("warning"), LOG_LEVEL_WARNING);
	ck_assert_int_eq(log_level_parse("info"), LOG_LEVEL_INFO);
	ck_assert_int_eq(log_level_parse("debug"), LOG_LEVEL_DEBUG);
	ck_assert_int_eq(log_level_parse("warn"), -1);
	ck_assert_int_eq(log_level_parse("INFO"), -1);
	ck_assert_int_eq(log_level_parse(""), -1);
	ck_assert_str_eq(log_level_name(LOG_LEVEL_ERROR), "error");
	ck_assert_str_eq(log_level_name(LOG_LEVEL_DEBUG), "debug");
	ck_assert_str_eq(log_level_name((enum log_level)7), "unknown");
}
END_TEST

START_TEST(syslog_target)
{
	struct log sys;

	log_init(&sys, LOG_LEVEL_DEBUG, LOG_TARGET_SYSLOG);
	ck_assert_int_eq(sys.target, LOG_TARGET_SYSLOG);
	sys.fd = pipe_fds[1];
	log_write(&sys, LOG_LEVEL_DEBUG, "test", "1", "unit test %d", 1);
	log_write(&sys, LOG_LEVEL_ERROR, "test", NULL, "unit test line\n2");
	/* Nothing goes to the fd in syslog mode. */
	ck_assert_str_eq(drain(), "");
	log_deinit(&sys);
}
END_TEST

/* Several threads at once: every line must arrive whole. */
#define THREADS 4
#define LINES 500

static void *writer(void *arg)
{
	int id = (int)(long)arg;

	for (int i = 0; i < LINES; i++)
		log_write(&test_log, LOG_LEVEL_INFO, "thread", NULL,
			  "t=%d i=%d %0200d", id, i, 0);
	return NULL;
}

START_TEST(threads_whole_lines)
{
	char path[] = "/tmp/postino-log-XXXXXX";
	int fd = mkstemp(path);
	pthread_t threads[THREADS];
	int seen[THREADS] = { 0 };
	char line[1024];
	FILE *f;

	ck_assert_int_ge(fd, 0);
	unlink(path);
	ck_assert_int_ge(fcntl(fd, F_SETFL, O_APPEND), 0);
	test_log.fd = fd;
	for (long t = 0; t < THREADS; t++)
		ck_assert_int_eq(pthread_create(&threads[t], NULL, writer,
						(void *)t),
				 0);
	for (int t = 0; t < THREADS; t++)
		ck_assert_int_eq(pthread_join(threads[t], NULL), 0);
	test_log.fd = pipe_fds[1];

	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	f = fdopen(fd, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		int t;
		int i;

		assert_matches(line, "Z info thread: t=[0-9] i=[0-9]+ 0{200}\n$");
		ck_assert_int_eq(sscanf(strstr(line, "t="), "t=%d i=%d", &t,
					&i),
				 2);
		ck_assert_int_eq(i, seen[t]); /* in order, none lost */
		seen[t]++;
	}
	fclose(f);
	for (int t = 0; t < THREADS; t++)
		ck_assert_int_eq(seen[t], LINES);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("log");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, pipe_setup, pipe_teardown);
	tcase_add_test(tc, line_format);
	tcase_add_test(tc, level_filtering);
	tcase_add_test(tc, control_chars_replaced);
	tcase_add_test(tc, long_message_truncated);
	tcase_add_test(tc, levels_by_name);
	tcase_add_test(tc, syslog_target);
	tcase_add_test(tc, threads_whole_lines);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	/* One process, so that LeakSanitizer sees every test. */
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
