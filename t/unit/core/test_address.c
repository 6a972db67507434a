#include <check.h>
#include <errno.h>
#include <string.h>

#include "util/address.h"

START_TEST(addresses_are_folded_to_lower_case)
{
	char out[ADDRESS_MAX + 1];

	ck_assert_int_eq(address_normalize("Demo.User+tag@Example.TEST", out,
					   sizeof(out)), 0);
	ck_assert_str_eq(out, "demo.user+tag@example.test");
	ck_assert_str_eq(address_domain(out), "example.test");
	ck_assert_int_eq(address_normalize("o'brien@mail-1.example.org", out,
					   sizeof(out)), 0);
}
END_TEST

START_TEST(malformed_addresses_are_refused)
{
	static const char *const bad[] = {
		"", "@example.test", "user@", "user", "user@@example.test",
		".user@example.test", "user.@example.test", "us..er@example.test",
		"us er@example.test", "user@exa mple.test", "user@-example.test",
		"user@example-.test", "user@example..test", "user@.example.test",
		"user@example.test.", "us\"er@example.test", "user@ex_ample.test",
		"usér@example.test", "user@example.test\r\n",
	};
	char out[ADDRESS_MAX + 1];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(address_normalize(bad[i], out, sizeof(out)) ==
				      -EINVAL, "accepted '%s'", bad[i]);
}
END_TEST

START_TEST(length_limits_hold_at_the_boundary)
{
	char address[400], out[ADDRESS_MAX + 1];

	memset(address, 'a', 64);
	strcpy(address + 64, "@example.test");
	ck_assert_int_eq(address_normalize(address, out, sizeof(out)), 0);
	memset(address, 'a', 65);
	strcpy(address + 65, "@example.test");
	ck_assert_int_eq(address_normalize(address, out, sizeof(out)), -EINVAL);

	char label[80];
	memset(label, 'b', 63);
	strcpy(label + 63, ".test");
	ck_assert_int_eq(domain_normalize(label, out, sizeof(out)), 0);
	memset(label, 'b', 64);
	strcpy(label + 64, ".test");
	ck_assert_int_eq(domain_normalize(label, out, sizeof(out)), -EINVAL);
	/* The output buffer is a limit too, never overrun. */
	ck_assert_int_eq(domain_normalize("example.test", out, 5), -EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("address");
	TCase *tc = tcase_create("normalize");

	tcase_add_test(tc, addresses_are_folded_to_lower_case);
	tcase_add_test(tc, malformed_addresses_are_refused);
	tcase_add_test(tc, length_limits_hold_at_the_boundary);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
