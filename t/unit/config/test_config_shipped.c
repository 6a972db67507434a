/* The configuration files shipped in etc/ must load as they are. */
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

static int has_module(const struct config *config, const char *name)
{
	for (size_t i = 0; i < config->module_count; i++) {
		if (strcmp(config->modules[i].name, name) == 0)
			return 1;
	}
	return 0;
}

static void check_listener(const struct config *config, const char *name,
			   const char *address, const char *port,
			   const char *protocol, const char *tls)
{
	const struct config_section *s;

	for (s = config->sections; s != NULL; s = s->next) {
		if (strcmp(s->type, "listener") == 0 && s->name != NULL &&
		    strcmp(s->name, name) == 0)
			break;
	}
	ck_assert_msg(s != NULL, "no [listener %s]", name);
	ck_assert_str_eq(config_section_value(s, "address"), address);
	ck_assert_str_eq(config_section_value(s, "port"), port);
	ck_assert_str_eq(config_section_value(s, "protocol"), protocol);
	ck_assert_str_eq(config_section_value(s, "tls"), tls);
}

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
	ck_assert_uint_eq(config->quota.warn_count, 0);
	/* etc/modules.d ships the production listeners. */
	ck_assert(has_module(config, "smtp"));
	check_listener(config, "mx", "0.0.0.0", "25", "smtp", "starttls");
	check_listener(config, "submission", "0.0.0.0", "587", "submission",
		       "starttls");
	check_listener(config, "submissions", "0.0.0.0", "465", "submission",
		       "implicit");
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
	ck_assert_str_eq(config->server.modules_conf_dir, "etc/modules.dev.d");
	ck_assert_int_eq(config->server.log_level, LOG_LEVEL_INFO);
	for (s = config->sections; s != NULL; s = s->next) {
		if (strcmp(s->type, "tls") == 0 && s->name == NULL)
			break;
	}
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(config_section_value(s, "cert"), "var/tls/cert.pem");
	ck_assert_str_eq(config_section_value(s, "key"), "var/tls/key.pem");
	/* Quota warnings at 80 and 95 %, from the source tree's templates. */
	ck_assert_uint_eq(config->quota.warn_count, 2);
	ck_assert_ptr_nonnull(strstr(config->quota.subject[CONFIG_LANG_IT],
				     "{{threshold}}"));
	/* `make run` needs no root and exposes nothing: every listener is on
	 * 127.0.0.1 at the standard port + 10000. */
	ck_assert(has_module(config, "smtp"));
	check_listener(config, "mx", "127.0.0.1", "10025", "smtp", "starttls");
	check_listener(config, "submission", "127.0.0.1", "10587", "submission",
		       "starttls");
	check_listener(config, "submissions", "127.0.0.1", "10465",
		       "submission", "implicit");
	for (s = config->sections; s != NULL; s = s->next) {
		if (strcmp(s->type, "listener") != 0)
			continue;
		ck_assert_msg(strcmp(config_section_value(s, "address"),
				     "127.0.0.1") == 0 &&
				      atoi(config_section_value(s, "port")) > 10000,
			      "dev listener %s", s->name);
	}
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
