/* The privileged parent (core/daemon/privsep.h) through its real fork and
 * socket: the test is the parent, its child plays the server and asks for
 * files. The child cannot use Check's assertions, so it reports the first
 * check that failed on stderr and exits 1; the exit code it ends with is
 * what the parent returns, which is tested too. No root needed: what the
 * parent allows depends on its configuration, not on its uid. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "daemon/privsep.h"
#include "log/log.h"

/* In the child: the first failed check ends it. */
#define EXPECT(cond)                                                        \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "%s:%d: child: %s (err: %s)\n",     \
				__FILE__, __LINE__, #cond, err);            \
			_exit(1);                                           \
		}                                                           \
	} while (0)

#define CHILD_DONE 42

static char dir[64]; /* /tmp/test-privsep-XXXXXX */
static char err[1024];
static struct log log_to_file;

static const char *at(const char *name)
{
	static char paths[4][PATH_MAX];
	static unsigned next;
	char *path = paths[next++ % 4];

	snprintf(path, PATH_MAX, "%s/%s", dir, name);
	return path;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

/* postino.conf with [tls] a.crt/a.key, and more sections. */
static void write_config(const char *more)
{
	char text[4096];

	snprintf(text, sizeof(text),
		 "[server]\nhostname = mx.example.test\n"
		 "[tls]\ncert = %s\nkey = %s\n%s",
		 at("a.crt"), at("a.key"), more);
	write_file(at("postino.conf"), text);
}

static struct config *load(void)
{
	struct config *config = NULL;

	ck_assert_msg(config_load(at("postino.conf"), &config, err,
				  sizeof(err)) == 0, "config_load: %s", err);
	return config;
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test-privsep-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	write_file(at("a.crt"), "CERT A\n");
	write_file(at("a.key"), "KEY A\n");
	write_file(at("b.key"), "KEY B\n");
	write_config("");
	log_init(&log_to_file, LOG_LEVEL_INFO, LOG_TARGET_STDERR);
	log_to_file.fd = open(at("log"), O_WRONLY | O_CREAT | O_APPEND, 0600);
	ck_assert_int_ge(log_to_file.fd, 0);
}

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	return remove(path);
}

static void teardown(void)
{
	close(log_to_file.fd);
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* In the child: what the parent's descriptor reads. */
static int reads(int fd, const char *want)
{
	char buf[64];
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n < 0)
		return 0;
	buf[n] = '\0';
	return strcmp(buf, want) == 0;
}

static int text_is(const char *want)
{
	return strcmp(err, want) == 0;
}

static void child_asks_for_files(struct privsep *ps)
{
	char refused[PATH_MAX + 64];
	char long_path[PATH_MAX + 16];

	snprintf(refused, sizeof(refused), "not a [tls] cert or key in %s as "
		 "root read it", at("postino.conf"));
	EXPECT(privsep_watch_parent(ps) == 0);
	EXPECT(reads(privsep_open(ps, at("a.key"), err, sizeof(err)),
		     "KEY A\n"));
	EXPECT(reads(privsep_open(ps, at("a.crt"), err, sizeof(err)),
		     "CERT A\n"));
	/* Nothing else, however it is named. */
	EXPECT(privsep_open(ps, "/etc/passwd", err, sizeof(err)) == -EACCES);
	EXPECT(text_is(refused));
	EXPECT(privsep_open(ps, at("b.key"), err, sizeof(err)) == -EACCES);
	EXPECT(privsep_open(ps, at("./a.key"), err, sizeof(err)) == -EACCES);
	EXPECT(privsep_open(ps, at("postino.conf"), err, sizeof(err)) ==
	       -EACCES);
	EXPECT(privsep_open(ps, "", err, sizeof(err)) == -EINVAL);
	EXPECT(text_is("malformed request"));
	memset(long_path, 'x', sizeof(long_path) - 1);
	long_path[sizeof(long_path) - 1] = '\0';
	EXPECT(privsep_open(ps, long_path, err, sizeof(err)) ==
	       -ENAMETOOLONG);

	/* A section added to the file counts once the parent re-read it. */
	char more[PATH_MAX * 2 + 64];
	snprintf(more, sizeof(more), "[tls \"b\"]\ncert = %s\nkey = %s\n",
		 at("b.crt"), at("b.key"));
	write_config(more);
	EXPECT(privsep_open(ps, at("b.key"), err, sizeof(err)) == -EACCES);
	EXPECT(privsep_reload(ps, err, sizeof(err)) == 0);
	EXPECT(reads(privsep_open(ps, at("b.key"), err, sizeof(err)),
		     "KEY B\n"));
	/* Named but missing: the system's reason. */
	EXPECT(privsep_open(ps, at("b.crt"), err, sizeof(err)) == -ENOENT);
	EXPECT(text_is("No such file or directory"));

	/* Nor one that others could have changed. */
	char why[PATH_MAX * 2 + 100];
	snprintf(why, sizeof(why), "refusing to re-read %s: %s is writable "
		 "by its group (mode 0664)", at("postino.conf"),
		 at("postino.conf"));
	EXPECT(chmod(at("postino.conf"), 0664) == 0);
	EXPECT(privsep_reload(ps, err, sizeof(err)) == -EPERM);
	EXPECT(text_is(why));
	EXPECT(chmod(at("postino.conf"), 0644) == 0);

	/* A configuration that does not load keeps the last good one. */
	write_file(at("postino.conf"), "[server\n");
	EXPECT(privsep_reload(ps, err, sizeof(err)) == -EINVAL);
	EXPECT(strstr(err, at("postino.conf")) != NULL);
	EXPECT(reads(privsep_open(ps, at("b.key"), err, sizeof(err)),
		     "KEY B\n"));
	_exit(CHILD_DONE);
}

static int log_has(const char *needle)
{
	char text[8192];
	FILE *f = fopen(at("log"), "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	return strstr(text, needle) != NULL;
}

START_TEST(parent_opens_only_what_its_config_names)
{
	struct config *config = load();
	struct privsep *ps = NULL;
	int code = -1;
	char line[PATH_MAX + 128];

	int ret = privsep_start(&log_to_file, at("postino.conf"), config, &ps,
				&code);
	if (ret == 0)
		child_asks_for_files(ps);
	ck_assert_int_eq(ret, 1);
	ck_assert_ptr_null(ps);
	ck_assert_int_eq(code, CHILD_DONE);
	snprintf(line, sizeof(line), "warning privsep: refused to open "
		 "/etc/passwd for the server: not a [tls] cert or key in %s",
		 at("postino.conf"));
	ck_assert_msg(log_has(line), "no log line: %s", line);
	config_free(&config);
}
END_TEST

/* The child blocks SIGHUP and SIGTERM and waits for what the parent
 * passes on, then dies of a SIGINT passed on. */
static void child_takes_signals(void)
{
	sigset_t set;
	int signo = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	kill(getppid(), SIGHUP);
	EXPECT(sigwait(&set, &signo) == 0 && signo == SIGHUP);
	kill(getppid(), SIGTERM);
	EXPECT(sigwait(&set, &signo) == 0 && signo == SIGTERM);
	signal(SIGINT, SIG_DFL);
	kill(getppid(), SIGINT);
	pause();
	_exit(1);
}

START_TEST(signals_pass_to_the_child_and_its_end_is_the_exit_code)
{
	struct config *config = load();
	struct privsep *ps = NULL;
	int code = -1;

	int ret = privsep_start(&log_to_file, at("postino.conf"), config, &ps,
				&code);
	if (ret == 0)
		child_takes_signals();
	ck_assert_int_eq(ret, 1);
	ck_assert_int_eq(code, 128 + SIGINT);
	ck_assert(log_has("error privsep: server process "));
	ck_assert(log_has(" killed by signal 2 (Interrupt)"));
	config_free(&config);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("privsep");
	TCase *tc = tcase_create("parent");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, parent_opens_only_what_its_config_names);
	tcase_add_test(tc, signals_pass_to_the_child_and_its_end_is_the_exit_code);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
