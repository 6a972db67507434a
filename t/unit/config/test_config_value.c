/* config_parse_value: every type, its edges and its overflows. */
#include <errno.h>
#include <stdint.h>

#include "helpers.h"

struct value_case {
	enum postino_config_type type;
	const char *text;
	int ret;
	int64_t value;
};

static const struct value_case cases[] = {
	{ POSTINO_CONFIG_STRING, "", 0, 0 },
	{ POSTINO_CONFIG_STRING, "anything at all", 0, 0 },

	{ POSTINO_CONFIG_INT, "0", 0, 0 },
	{ POSTINO_CONFIG_INT, "-0", 0, 0 },
	{ POSTINO_CONFIG_INT, "42", 0, 42 },
	{ POSTINO_CONFIG_INT, "-42", 0, -42 },
	{ POSTINO_CONFIG_INT, "007", 0, 7 },
	{ POSTINO_CONFIG_INT, "9223372036854775807", 0, INT64_MAX },
	{ POSTINO_CONFIG_INT, "-9223372036854775808", 0, INT64_MIN },
	{ POSTINO_CONFIG_INT, "9223372036854775808", -EINVAL, 0 },
	{ POSTINO_CONFIG_INT, "-9223372036854775809", -EINVAL, 0 },
	{ POSTINO_CONFIG_INT, "18446744073709551616", -EINVAL, 0 },
	{ POSTINO_CONFIG_INT, "10x", -EINVAL, 0 },
	{ POSTINO_CONFIG_INT, "-", -EINVAL, 0 },
	{ POSTINO_CONFIG_INT, "", -EINVAL, 0 },
	{ POSTINO_CONFIG_INT, "+1", -EINVAL, 0 },
	{ POSTINO_CONFIG_INT, " 1", -EINVAL, 0 },
	{ POSTINO_CONFIG_INT, "1 ", -EINVAL, 0 },
	{ POSTINO_CONFIG_INT, "0x10", -EINVAL, 0 },
	{ POSTINO_CONFIG_INT, "--1", -EINVAL, 0 },

	{ POSTINO_CONFIG_BOOL, "yes", 0, 1 },
	{ POSTINO_CONFIG_BOOL, "true", 0, 1 },
	{ POSTINO_CONFIG_BOOL, "on", 0, 1 },
	{ POSTINO_CONFIG_BOOL, "1", 0, 1 },
	{ POSTINO_CONFIG_BOOL, "Yes", 0, 1 },
	{ POSTINO_CONFIG_BOOL, "no", 0, 0 },
	{ POSTINO_CONFIG_BOOL, "false", 0, 0 },
	{ POSTINO_CONFIG_BOOL, "off", 0, 0 },
	{ POSTINO_CONFIG_BOOL, "0", 0, 0 },
	{ POSTINO_CONFIG_BOOL, "OFF", 0, 0 },
	{ POSTINO_CONFIG_BOOL, "", -EINVAL, 0 },
	{ POSTINO_CONFIG_BOOL, "2", -EINVAL, 0 },
	{ POSTINO_CONFIG_BOOL, "yess", -EINVAL, 0 },
	{ POSTINO_CONFIG_BOOL, "-", -EINVAL, 0 },

	{ POSTINO_CONFIG_DURATION, "0", 0, 0 },
	{ POSTINO_CONFIG_DURATION, "30", 0, 30 },
	{ POSTINO_CONFIG_DURATION, "30s", 0, 30 },
	{ POSTINO_CONFIG_DURATION, "10m", 0, 600 },
	{ POSTINO_CONFIG_DURATION, "1h", 0, 3600 },
	{ POSTINO_CONFIG_DURATION, "7d", 0, 604800 },
	{ POSTINO_CONFIG_DURATION, "9223372036854775807s", 0, INT64_MAX },
	{ POSTINO_CONFIG_DURATION, "106751991167300d", 0,
	  106751991167300LL * 86400 },
	{ POSTINO_CONFIG_DURATION, "106751991167301d", -EINVAL, 0 },
	{ POSTINO_CONFIG_DURATION, "9223372036854775807m", -EINVAL, 0 },
	{ POSTINO_CONFIG_DURATION, "9223372036854775808", -EINVAL, 0 },
	{ POSTINO_CONFIG_DURATION, "10x", -EINVAL, 0 },
	{ POSTINO_CONFIG_DURATION, "1w", -EINVAL, 0 },
	{ POSTINO_CONFIG_DURATION, "10M", -EINVAL, 0 },
	{ POSTINO_CONFIG_DURATION, "10ss", -EINVAL, 0 },
	{ POSTINO_CONFIG_DURATION, "s", -EINVAL, 0 },
	{ POSTINO_CONFIG_DURATION, "-1", -EINVAL, 0 },
	{ POSTINO_CONFIG_DURATION, "-", -EINVAL, 0 },
	{ POSTINO_CONFIG_DURATION, "", -EINVAL, 0 },

	{ POSTINO_CONFIG_SIZE, "0", 0, 0 },
	{ POSTINO_CONFIG_SIZE, "512", 0, 512 },
	{ POSTINO_CONFIG_SIZE, "64k", 0, 65536 },
	{ POSTINO_CONFIG_SIZE, "64K", 0, 65536 },
	{ POSTINO_CONFIG_SIZE, "10M", 0, 10485760 },
	{ POSTINO_CONFIG_SIZE, "1G", 0, 1073741824 },
	{ POSTINO_CONFIG_SIZE, "8589934591G", 0, 8589934591LL << 30 },
	{ POSTINO_CONFIG_SIZE, "8589934592G", -EINVAL, 0 },
	{ POSTINO_CONFIG_SIZE, "9223372036854775808", -EINVAL, 0 },
	{ POSTINO_CONFIG_SIZE, "1T", -EINVAL, 0 },
	{ POSTINO_CONFIG_SIZE, "10MB", -EINVAL, 0 },
	{ POSTINO_CONFIG_SIZE, "10x", -EINVAL, 0 },
	{ POSTINO_CONFIG_SIZE, "k", -EINVAL, 0 },
	{ POSTINO_CONFIG_SIZE, "-1", -EINVAL, 0 },
	{ POSTINO_CONFIG_SIZE, "-", -EINVAL, 0 },
	{ POSTINO_CONFIG_SIZE, "", -EINVAL, 0 },

	{ (enum postino_config_type)0, "1", -EINVAL, 0 },
	{ (enum postino_config_type)99, "1", -EINVAL, 0 },
};

START_TEST(parse_value_cases)
{
	const struct value_case *c = &cases[_i];
	int64_t value = -12345;
	int ret = config_parse_value(c->type, c->text, &value);

	ck_assert_msg(ret == c->ret, "type %d '%s': returned %d, expected %d",
		      (int)c->type, c->text, ret, c->ret);
	if (c->ret == 0)
		ck_assert_msg(value == c->value,
			      "type %d '%s': %lld, expected %lld",
			      (int)c->type, c->text, (long long)value,
			      (long long)c->value);
	else
		ck_assert_msg(value == -12345, "type %d '%s': value changed",
			      (int)c->type, c->text);
}
END_TEST

START_TEST(parse_value_null_out)
{
	ck_assert_int_eq(config_parse_value(POSTINO_CONFIG_SIZE, "1k", NULL),
			 0);
	ck_assert_int_eq(config_parse_value(POSTINO_CONFIG_SIZE, "1q", NULL),
			 -EINVAL);
	ck_assert_int_eq(config_parse_value(POSTINO_CONFIG_INT, NULL, NULL),
			 -EINVAL);
}
END_TEST

Suite *config_value_suite(void)
{
	Suite *s = suite_create("config_value");
	TCase *tc = tcase_create("parse");

	tcase_add_loop_test(tc, parse_value_cases, 0,
			    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, parse_value_null_out);
	suite_add_tcase(s, tc);
	return s;
}
