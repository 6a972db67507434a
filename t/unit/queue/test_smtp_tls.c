/* The TLS policy of a destination (core/queue/smtp_tls.c): which level a
 * relayhost gets, what a policy names and holds. The check of real peers
 * against it is in t/integration/test_queue.py (a Python TLS sink). */
#include <check.h>
#include <string.h>

#include "smtp_client/smtp_tls.h"

START_TEST(relayhost_with_credentials_is_verified_by_default)
{
	ck_assert_int_eq(smtp_tls_relay_level(NULL, 0), SMTP_TLS_MAY);
	ck_assert_int_eq(smtp_tls_relay_level(NULL, 1), SMTP_TLS_VERIFY);
	ck_assert_int_eq(smtp_tls_relay_level("opportunistic", 0),
			 SMTP_TLS_MAY);
	ck_assert_int_eq(smtp_tls_relay_level("required", 0),
			 SMTP_TLS_VERIFY);
	ck_assert_int_eq(smtp_tls_relay_level("required", 1),
			 SMTP_TLS_VERIFY);
}
END_TEST

START_TEST(policies_name_the_destination_and_hold_the_trust)
{
	struct smtp_tls_policy policy;
	struct smtp_tls_trust *trust = NULL;
	struct tls_pin pins[2];

	memset(&policy, 0, sizeof(policy));
	memset(pins, 0xab, sizeof(pins));
	ck_assert_int_eq(smtp_tls_trust_load("/nonexistent/ca.pem", &trust),
			 0);
	/* A file that does not load is still a store: nothing verifies
	 * against it, and it says why. */
	ck_assert_uint_eq(trust->count, 0);
	ck_assert_str_ne(trust->error, "");
	ck_assert_str_eq(trust->ca_file, "/nonexistent/ca.pem");

	smtp_tls_policy_relay(&policy, SMTP_TLS_VERIFY, "smtp.isp.test",
			       trust, pins, 2);
	ck_assert_int_eq(policy.level, SMTP_TLS_VERIFY);
	ck_assert_str_eq(policy.name, "smtp.isp.test");
	ck_assert_ptr_eq(policy.trust, trust);
	ck_assert_uint_eq(trust->refs, 2);
	ck_assert_uint_eq(policy.pin_count, 2);
	ck_assert_uint_eq(policy.pins[1].sha256[31], 0xab);

	/* Refilled for the next destination: the old reference goes. */
	smtp_tls_policy_mx(&policy, trust);
	ck_assert_int_eq(policy.level, SMTP_TLS_MAY);
	ck_assert_str_eq(policy.name, "");
	ck_assert_uint_eq(policy.pin_count, 0);
	ck_assert_uint_eq(trust->refs, 2);

	smtp_tls_policy_clear(&policy);
	ck_assert_ptr_null(policy.trust);
	ck_assert_uint_eq(trust->refs, 1);
	smtp_tls_trust_unref(&trust);
	ck_assert_ptr_null(trust);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("queue_tls");
	TCase *tc = tcase_create("policy");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, relayhost_with_credentials_is_verified_by_default);
	tcase_add_test(tc, policies_name_the_destination_and_hold_the_trust);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
