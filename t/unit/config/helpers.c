#include "helpers.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

char *test_dir;
char test_err[1024];

void scratch_setup(void)
{
	char tmpl[] = "/tmp/postino-config-XXXXXX";

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	test_dir = strdup(tmpl);
	ck_assert_ptr_nonnull(test_dir);
	test_err[0] = '\0';
}

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	return remove(path);
}

void scratch_teardown(void)
{
	if (test_dir == NULL)
		return;
	nftw(test_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(test_dir);
	test_dir = NULL;
}

const char *scratch_path(const char *relpath)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", test_dir, relpath);
	return path;
}

void put_bytes(const char *relpath, const void *data, size_t len)
{
	const char *slash = strchr(relpath, '/');
	FILE *f;

	if (slash != NULL) {
		char dir[PATH_MAX];

		snprintf(dir, sizeof(dir), "%s/%.*s", test_dir,
			 (int)(slash - relpath), relpath);
		ck_assert(mkdir(dir, 0700) == 0 || errno == EEXIST);
	}
	f = fopen(scratch_path(relpath), "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

void put_file(const char *relpath, const char *text)
{
	put_bytes(relpath, text, strlen(text));
}

int load_existing(struct config **config_r)
{
	return config_load(scratch_path("postino.conf"), config_r, test_err,
			   sizeof(test_err));
}

int load_main(const char *text, struct config **config_r)
{
	put_file("postino.conf", text);
	return load_existing(config_r);
}

static void check_failure(const char *file, int line, int ret,
			  struct config *config, va_list fragments)
{
	const char *fragment;

	ck_assert_msg(ret == -EINVAL, "%s:%d: config_load returned %d (%s)",
		      file, line, ret, test_err);
	ck_assert_msg(config == NULL, "%s:%d: config not NULL on error", file,
		      line);
	while ((fragment = va_arg(fragments, const char *)) != NULL)
		ck_assert_msg(strstr(test_err, fragment) != NULL,
			      "%s:%d: error \"%s\" lacks \"%s\"", file, line,
			      test_err, fragment);
}

void assert_load_fails_(const char *file, int line, const char *text, ...)
{
	struct config *config = NULL;
	int ret = load_main(text, &config);
	va_list fragments;

	va_start(fragments, text);
	check_failure(file, line, ret, config, fragments);
	va_end(fragments);
	config_free(&config);
}

void assert_existing_fails_(const char *file, int line, ...)
{
	struct config *config = NULL;
	int ret = load_existing(&config);
	va_list fragments;

	va_start(fragments, line);
	check_failure(file, line, ret, config, fragments);
	va_end(fragments);
	config_free(&config);
}
