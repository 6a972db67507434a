/* The configuration files shipped in etc/ must load as they are. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

START_TEST(production_conf_loads)
{
	struct config *config;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/etc/postino.conf",
		 POSTINO_SOURCE_ROOT);
	ck_assert_msg(config_load(path, &config, test_err,
				  sizeof(test_err)) == 0,
		      "%s", test_err);
	/* Everything in it is a commented default. */
	ck_assert_str_eq(config->server.state_dir, "/var/lib/postino");
	ck_assert_str_eq(config->server.user, "postino");
	ck_assert_str_eq(config->server.modules_dir, EXPECTED_MODULES_DIR);
	ck_assert_int_eq(config->server.log_level, LOG_LEVEL_INFO);
	ck_assert_int_eq(config->server.log_target, LOG_TARGET_STDERR);
	ck_assert_uint_eq(config->module_count, 0);
	config_free(&config);
}
END_TEST

/* `make run` starts postinod from the source root, where the dev config's
 * relative paths point. */
START_TEST(dev_conf_loads)
{
	struct config *config;
	char cwd[PATH_MAX];
	const struct config_section *s;
	int ret;

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(chdir(POSTINO_SOURCE_ROOT), 0);
	ret = config_load("etc/postino.dev.conf", &config, test_err,
			  sizeof(test_err));
	ck_assert_int_eq(chdir(cwd), 0);
	ck_assert_msg(ret == 0, "%s", test_err);
	ck_assert_str_eq(config->server.hostname, "localhost");
	ck_assert_str_eq(config->server.state_dir, "var");
	ck_assert_str_eq(config->server.modules_dir, "build/modules");
	ck_assert_str_eq(config->server.modules_conf_dir, "etc/modules.d");
	ck_assert_int_eq(config->server.log_level, LOG_LEVEL_INFO);
	for (s = config->sections; s != NULL; s = s->next) {
		if (strcmp(s->type, "tls") == 0 && s->name == NULL)
			break;
	}
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(config_section_value(s, "cert"), "var/tls/cert.pem");
	ck_assert_str_eq(config_section_value(s, "key"), "var/tls/key.pem");
	config_free(&config);
}
END_TEST

Suite *config_shipped_suite(void)
{
	Suite *s = suite_create("config_shipped");
	TCase *tc = tcase_create("etc");

	tcase_add_test(tc, production_conf_loads);
	tcase_add_test(tc, dev_conf_loads);
	suite_add_tcase(s, tc);
	return s;
}
