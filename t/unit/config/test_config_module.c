/* config_validate_module and config_module_value. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

static const struct postino_config_key rl_keys[] = {
	{ "limit", POSTINO_CONFIG_INT, "100", "messages per window" },
	{ "window", POSTINO_CONFIG_DURATION, "1h", "sliding window" },
	{ "per_recipient", POSTINO_CONFIG_BOOL, "no", NULL },
	{ "max_size", POSTINO_CONFIG_SIZE, NULL, NULL },
	{ "text", POSTINO_CONFIG_STRING, NULL, NULL },
	{ NULL, 0, NULL, NULL },
};

static struct config *config;

static void load_rl(const char *settings)
{
	put_file("modules.d/ratelimit.conf", "[module]\nload = ratelimit\n");
	put_file("modules.d/other.conf", "[module]\nload = other\n"
					 "[other]\nlimit = not checked here\n");
	ck_assert_msg(load_main(settings, &config) == 0, "%s", test_err);
}

static void teardown(void)
{
	config_free(&config);
	scratch_teardown();
}

START_TEST(valid_and_values)
{
	load_rl("[ratelimit]\nlimit = 50\nwindow = 30m\n"
		"[ratelimit]\nlimit = 60\nper_recipient = yes\n"
		"max_size = 10M\ntext = Slow down, please\n");
	ck_assert_int_eq(config_validate_module(config, "ratelimit", rl_keys,
						sizeof(rl_keys[0]), test_err,
						sizeof(test_err)),
			 0);
	/* The last section that sets a key wins. */
	ck_assert_str_eq(config_module_value(config, "ratelimit", "limit"),
			 "60");
	ck_assert_str_eq(config_module_value(config, "ratelimit", "window"),
			 "30m");
	ck_assert_str_eq(config_module_value(config, "ratelimit", "text"),
			 "Slow down, please");
	ck_assert_ptr_null(config_module_value(config, "ratelimit", "nope"));
	ck_assert_ptr_null(config_module_value(config, "absent", "limit"));
	ck_assert_str_eq(config_module_value(config, "other", "limit"),
			 "not checked here");
}
END_TEST

START_TEST(no_section_is_fine)
{
	load_rl("");
	ck_assert_int_eq(config_validate_module(config, "ratelimit", rl_keys,
						sizeof(rl_keys[0]), test_err,
						sizeof(test_err)),
			 0);
	ck_assert_ptr_null(config_module_value(config, "ratelimit", "limit"));
}
END_TEST

START_TEST(unknown_key)
{
	load_rl("[server]\n[ratelimit]\nlimit = 5\nlimt = 6\n");
	ck_assert_int_eq(config_validate_module(config, "ratelimit", rl_keys,
						sizeof(rl_keys[0]), test_err,
						sizeof(test_err)),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(test_err, "postino.conf:4: [ratelimit] "
					       "unknown key 'limt'"));
}
END_TEST

START_TEST(bad_values)
{
	static const struct {
		const char *settings;
		const char *expected;
	} cases[] = {
		{ "limit = 10x", "postino.conf:2: [ratelimit] limit: '10x' is "
				 "not a whole number" },
		{ "window = 1w", "postino.conf:2: [ratelimit] window: '1w' is "
				 "not a duration (e.g. 30, 30s, 10m, 1h, 7d)" },
		{ "per_recipient = maybe", "postino.conf:2: [ratelimit] "
					   "per_recipient: 'maybe' is not a "
					   "boolean" },
		{ "max_size = 1T", "postino.conf:2: [ratelimit] max_size: '1T' "
				   "is not a size" },
		{ "limit =", "postino.conf:2: [ratelimit] limit: '' is not" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[256];

		strcpy(text, "[ratelimit]\n");
		strcat(text, cases[i].settings);
		strcat(text, "\n");
		load_rl(text);
		ck_assert_int_eq(config_validate_module(config, "ratelimit",
							rl_keys,
							sizeof(rl_keys[0]),
							test_err,
							sizeof(test_err)),
				 -EINVAL);
		ck_assert_msg(strstr(test_err, cases[i].expected) != NULL,
			      "'%s' lacks '%s'", test_err, cases[i].expected);
		config_free(&config);
	}
}
END_TEST

START_TEST(no_keys_declared)
{
	load_rl("[ratelimit]\nlimit = 1\n");
	ck_assert_int_eq(config_validate_module(config, "ratelimit", NULL, 0,
						test_err, sizeof(test_err)),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(test_err, "postino.conf:2: [ratelimit] "
					       "unknown key 'limit'"));
	config_free(&config);
	load_rl("");
	ck_assert_int_eq(config_validate_module(config, "ratelimit", NULL, 0,
						test_err, sizeof(test_err)),
			 0);
}
END_TEST

/* What a module built against an older plugin.h would hand over. */
struct old_config_key {
	const char *name;
	enum postino_config_type type;
};

START_TEST(older_smaller_key_struct)
{
	static const struct old_config_key old[] = {
		{ "limit", POSTINO_CONFIG_INT },
		{ "window", POSTINO_CONFIG_DURATION },
		{ NULL, 0 },
	};
	/* Exactly as big as the old array, so that reading a full
	 * struct postino_config_key past its end trips ASan. */
	struct old_config_key *keys = malloc(sizeof(old));

	ck_assert_ptr_nonnull(keys);
	memcpy(keys, old, sizeof(old));
	load_rl("[ratelimit]\nlimit = 5\nwindow = 2h\n");
	ck_assert_int_eq(config_validate_module(
				 config, "ratelimit",
				 (const struct postino_config_key *)keys,
				 sizeof(keys[0]), test_err, sizeof(test_err)),
			 0);
	config_free(&config);
	load_rl("[ratelimit]\nlimit = 5\nwindow = 2x\n");
	ck_assert_int_eq(config_validate_module(
				 config, "ratelimit",
				 (const struct postino_config_key *)keys,
				 sizeof(keys[0]), test_err, sizeof(test_err)),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(test_err, "postino.conf:3: [ratelimit] "
					       "window: '2x'"));
	free(keys);
}
END_TEST

START_TEST(key_size_too_small)
{
	load_rl("");
	ck_assert_int_eq(config_validate_module(config, "ratelimit", rl_keys,
						sizeof(const char *), test_err,
						sizeof(test_err)),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(test_err, "module 'ratelimit': "
					       "config_key_size "));
	ck_assert_ptr_nonnull(strstr(test_err, " is too small (at least "));
}
END_TEST

START_TEST(bad_declarations)
{
	static const struct postino_config_key bad_type[] = {
		{ "x", (enum postino_config_type)42, NULL, NULL },
		{ NULL, 0, NULL, NULL },
	};
	static const struct postino_config_key bad_default[] = {
		{ "window", POSTINO_CONFIG_DURATION, "1 hour", NULL },
		{ NULL, 0, NULL, NULL },
	};

	load_rl("");
	ck_assert_int_eq(config_validate_module(config, "ratelimit", bad_type,
						sizeof(bad_type[0]), test_err,
						sizeof(test_err)),
			 -EINVAL);
	ck_assert_str_eq(test_err, "module 'ratelimit': config key 'x' has "
				   "unknown type 42");
	ck_assert_int_eq(config_validate_module(config, "ratelimit",
						bad_default,
						sizeof(bad_default[0]),
						test_err, sizeof(test_err)),
			 -EINVAL);
	ck_assert_str_eq(test_err, "module 'ratelimit': default of config "
				   "key 'window' ('1 hour') is not a duration "
				   "(e.g. 30, 30s, 10m, 1h, 7d)");
}
END_TEST

Suite *config_module_suite(void)
{
	Suite *s = suite_create("config_module");
	TCase *tc = tcase_create("validate");

	tcase_add_checked_fixture(tc, scratch_setup, teardown);
	tcase_add_test(tc, valid_and_values);
	tcase_add_test(tc, no_section_is_fine);
	tcase_add_test(tc, unknown_key);
	tcase_add_test(tc, bad_values);
	tcase_add_test(tc, no_keys_declared);
	tcase_add_test(tc, older_smaller_key_struct);
	tcase_add_test(tc, key_size_too_small);
	tcase_add_test(tc, bad_declarations);
	suite_add_tcase(s, tc);
	return s;
}
