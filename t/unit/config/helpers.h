/* Scratch directories and small shortcuts shared by the config tests. */
#ifndef POSTINO_TEST_CONFIG_HELPERS_H
#define POSTINO_TEST_CONFIG_HELPERS_H

#include <check.h>

#include "config/config.h"

/* The scratch directory of the running test (checked fixture). */
extern char *test_dir;
/* The last config_load()'s error text. */
extern char test_err[1024];

void scratch_setup(void);
void scratch_teardown(void);

/* Writes text to test_dir/relpath, creating one level of directory. */
void put_file(const char *relpath, const char *text);
void put_bytes(const char *relpath, const void *data, size_t len);
/* test_dir/relpath in a static buffer (valid until the next call). */
const char *scratch_path(const char *relpath);
/* Writes postino.conf and loads it; the result of config_load(). */
int load_main(const char *text, struct config **config_r);
/* Loads test_dir/postino.conf as it is. */
int load_existing(struct config **config_r);

/* Asserts that loading text as postino.conf fails with -EINVAL and an
 * error containing every fragment (NULL-terminated). */
#define assert_load_fails(text, ...) \
	assert_load_fails_(__FILE__, __LINE__, text, __VA_ARGS__, \
			   (const char *)NULL)
void assert_load_fails_(const char *file, int line, const char *text, ...);
/* Same for an already-written postino.conf plus modules.d. */
#define assert_existing_fails(...) \
	assert_existing_fails_(__FILE__, __LINE__, __VA_ARGS__, \
			       (const char *)NULL)
void assert_existing_fails_(const char *file, int line, ...);

Suite *config_load_suite(void);
Suite *config_modules_d_suite(void);
Suite *config_value_suite(void);
Suite *config_module_suite(void);
Suite *config_shipped_suite(void);

#endif
