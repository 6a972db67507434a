/* core/util/srs: SRS0/SRS1 as libsrs2 and postsrsd write them. The
 * first vector is postsrsd's own (tests/unit/test_srs2.c); the SRS1 ones
 * were computed independently from the scheme's description. */
#include <check.h>
#include <stdio.h>
#include <errno.h>
#include <string.h>

#include "util/srs.h"

#define NOW 1577836860              /* 2020-01-01 00:01:00 UTC */
#define DAY 86400
#define VECTOR "SRS0=vmyz=2W=otherdomain.com=test@example.com"
#define VECTOR1 "SRS1=JO9m=example.com==vmyz=2W=otherdomain.com=test@c.example"

static const char *const one_secret[] = { "tops3cr3t" };
static const struct srs srs = { one_secret, 1, 0 };

START_TEST(forward_matches_postsrsd)
{
	char out[SRS_ADDRESS_MAX + 1];

	ck_assert_int_eq(srs_forward(&srs, "test@otherdomain.com", "example.com",
				     NOW, out, sizeof(out)), 0);
	ck_assert_str_eq(out, VECTOR);
	/* Mail from the forwarder's own domain is left alone. */
	ck_assert_int_eq(srs_forward(&srs, "test@Example.COM", "example.com",
				     NOW, out, sizeof(out)), 1);
	ck_assert_str_eq(out, "test@Example.COM");
}
END_TEST

START_TEST(reverse_validates_and_ignores_case)
{
	char out[SRS_ADDRESS_MAX + 1];

	ck_assert_int_eq(srs_reverse(&srs, VECTOR, NOW, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "test@otherdomain.com");
	/* A case-folding MTA on the way does not break it. */
	ck_assert_int_eq(srs_reverse(&srs,
				     "srs0=VMYZ=2w=OtherDomain.com=test@x", NOW,
				     out, sizeof(out)), 0);
	ck_assert_str_eq(out, "test@OtherDomain.com");
	/* Other separators after the tag, as libsrs2 accepts. */
	ck_assert_int_eq(srs_reverse(&srs,
				     "SRS0+vmyz=2W=otherdomain.com=test@x", NOW,
				     out, sizeof(out)), 0);
	/* An original local part holding '=' survives the round trip. */
	ck_assert_int_eq(srs_forward(&srs, "a=b@otherdomain.com", "fw.example",
				     NOW, out, sizeof(out)), 0);
	char srs0[SRS_ADDRESS_MAX + 1];
	strcpy(srs0, out);
	ck_assert_int_eq(srs_reverse(&srs, srs0, NOW, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "a=b@otherdomain.com");
}
END_TEST

START_TEST(srs1_for_forwarded_srs0)
{
	char out[SRS_ADDRESS_MAX + 1];

	ck_assert_int_eq(srs_forward(&srs, VECTOR, "c.example", NOW, out,
				     sizeof(out)), 0);
	ck_assert_str_eq(out, VECTOR1);
	/* A bounce to it goes back to the first forwarder's SRS0. */
	ck_assert_int_eq(srs_reverse(&srs, VECTOR1, NOW, out, sizeof(out)), 0);
	ck_assert_str_eq(out, VECTOR);
	/* Forwarding an SRS1 again re-signs it and keeps the first hop. */
	ck_assert_int_eq(srs_forward(&srs, VECTOR1, "d.example", NOW, out,
				     sizeof(out)), 0);
	ck_assert_str_eq(out, "SRS1=JO9m=example.com==vmyz=2W=otherdomain.com="
			 "test@d.example");
}
END_TEST

START_TEST(forged_addresses_are_refused)
{
	static const char *const forged[] = {
		"SRS0=vmyA=2W=otherdomain.com=test@example.com",
		"SRS0=vmyz=2W=evil.example=test@example.com",
		"SRS0=vmyz=2W=otherdomain.com=admin@example.com",
		"SRS0=vmy=2W=otherdomain.com=test@example.com",
		"SRS1=JO9x=example.com==vmyz=2W=otherdomain.com=test@c",
		"SRS1=JO9m=evil.example==vmyz=2W=otherdomain.com=test@c",
	};
	char out[SRS_ADDRESS_MAX + 1];

	for (size_t i = 0; i < sizeof(forged) / sizeof(forged[0]); i++)
		ck_assert_msg(srs_reverse(&srs, forged[i], NOW, out,
					  sizeof(out)) == -EPERM,
			      "accepted %s", forged[i]);
	ck_assert_str_eq(out, "");
	/* A secret nobody else knows does not verify ours. */
	static const char *const other[] = { "another" };
	struct srs other_srs = { other, 1, 0 };
	ck_assert_int_eq(srs_reverse(&other_srs, VECTOR, NOW, out,
				     sizeof(out)), -EPERM);
}
END_TEST

START_TEST(malformed_addresses_are_refused)
{
	static const char *const bad[] = {
		"SRS0=vmyz=2W=otherdomain.com@example.com",
		"SRS0==2W=otherdomain.com=test@example.com",
		"SRS0=vmyz==otherdomain.com=test@example.com",
		"SRS0=vmyz=2W==test@example.com",
		"SRS0=vmyz=2W=otherdomain.com=@example.com",
		"SRS0=vmyz=2!=otherdomain.com=test@example.com",
		"SRS0=vmyz=2WW=otherdomain.com=test@example.com",
		"SRS0=vmyz=2W=other domain.com=test@example.com",
		"SRS1=JO9m=example.com@c.example",
		"SRS1=JO9m=example.com=x@c.example",
		"SRS0=@x",
	};
	char out[SRS_ADDRESS_MAX + 1];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = srs_reverse(&srs, bad[i], NOW, out, sizeof(out));
		ck_assert_msg(ret == -EINVAL || ret == -EPERM,
			      "%s gave %d", bad[i], ret);
	}
	ck_assert_int_eq(srs_reverse(&srs, "test@example.com", NOW, out,
				     sizeof(out)), -ENOENT);
	ck_assert_int_eq(srs_reverse(&srs, "SRS2=a=b=c=d@e", NOW, out,
				     sizeof(out)), -ENOENT);
	ck_assert(!srs_is_srs("srsuser@example.com"));
	ck_assert(srs_is_srs("srs1-x"));
	/* Forwarding needs a sender with a domain, and a secret. */
	ck_assert_int_eq(srs_forward(&srs, "", "example.com", NOW, out,
				     sizeof(out)), -EINVAL);
	ck_assert_int_eq(srs_forward(&srs, "foo", "example.com", NOW, out,
				     sizeof(out)), -EINVAL);
	ck_assert_int_eq(srs_forward(&srs, "a b@x.org", "example.com", NOW,
				     out, sizeof(out)), -EINVAL);
	struct srs none = { NULL, 0, 0 };
	ck_assert_int_eq(srs_forward(&none, "a@x.org", "example.com", NOW, out,
				     sizeof(out)), -EINVAL);
	ck_assert_int_eq(srs_reverse(&none, VECTOR, NOW, out, sizeof(out)),
			 -EINVAL);
}
END_TEST

START_TEST(timestamps_expire)
{
	char out[SRS_ADDRESS_MAX + 1];

	ck_assert_int_eq(srs_reverse(&srs, VECTOR, NOW + 21 * DAY, out,
				     sizeof(out)), 0);
	ck_assert_int_eq(srs_reverse(&srs, VECTOR, NOW + 22 * DAY, out,
				     sizeof(out)), -ETIMEDOUT);
	/* From the future: as libsrs2, ~1024 days old. */
	ck_assert_int_eq(srs_reverse(&srs, VECTOR, NOW - DAY, out,
				     sizeof(out)), -ETIMEDOUT);
	/* The day counter wraps every 1024 days: a fresh address made just
	 * after the wrap is still accepted. */
	int64_t wrap = (int64_t)((NOW / DAY) / 1024 + 1) * 1024 * DAY;
	char srs0[SRS_ADDRESS_MAX + 1];
	ck_assert_int_eq(srs_forward(&srs, "u@a.example", "b.example", wrap - DAY,
				     srs0, sizeof(srs0)), 0);
	ck_assert_int_eq(srs_reverse(&srs, srs0, wrap + DAY, out, sizeof(out)),
			 0);
	ck_assert_str_eq(out, "u@a.example");
	struct srs week = { one_secret, 1, 7 };
	ck_assert_int_eq(srs_reverse(&week, VECTOR, NOW + 8 * DAY, out,
				     sizeof(out)), -ETIMEDOUT);
}
END_TEST

START_TEST(secrets_rotate)
{
	static const char *const rotated[] = { "n3w-s3cret", "tops3cr3t" };
	struct srs two = { rotated, 2, 0 };
	char out[SRS_ADDRESS_MAX + 1];

	ck_assert_int_eq(srs_reverse(&two, VECTOR, NOW, out, sizeof(out)), 0);
	ck_assert_int_eq(srs_forward(&two, "test@otherdomain.com",
				     "example.com", NOW, out, sizeof(out)), 0);
	ck_assert_str_ne(out, VECTOR);        /* signed with the new one */
	char fresh[SRS_ADDRESS_MAX + 1];
	strcpy(fresh, out);
	ck_assert_int_eq(srs_reverse(&two, fresh, NOW, out, sizeof(out)), 0);
	ck_assert_int_eq(srs_reverse(&srs, fresh, NOW, out, sizeof(out)),
			 -EPERM);
}
END_TEST

START_TEST(output_is_bounded)
{
	char small[20], big[SRS_ADDRESS_MAX + 1], local[300];

	ck_assert_int_eq(srs_forward(&srs, "test@otherdomain.com",
				     "example.com", NOW, small, sizeof(small)),
			 -ENOSPC);
	ck_assert_str_eq(small, "");
	ck_assert_int_eq(srs_reverse(&srs, VECTOR, NOW, small, 5), -ENOSPC);
	memset(local, 'a', 250);
	strcpy(local + 250, "@otherdomain.com");
	ck_assert_int_eq(srs_forward(&srs, local, "example.com", NOW, big,
				     sizeof(big)), 0);
	memset(local, 'a', 299);
	local[299] = '\0';
	char sender[400];
	snprintf(sender, sizeof(sender), "%s@x.org", local);
	ck_assert_int_eq(srs_forward(&srs, sender, "example.com", NOW, big,
				     sizeof(big)), -EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("srs");
	TCase *tc = tcase_create("srs");

	tcase_add_test(tc, forward_matches_postsrsd);
	tcase_add_test(tc, reverse_validates_and_ignores_case);
	tcase_add_test(tc, srs1_for_forwarded_srs0);
	tcase_add_test(tc, forged_addresses_are_refused);
	tcase_add_test(tc, malformed_addresses_are_refused);
	tcase_add_test(tc, timestamps_expire);
	tcase_add_test(tc, secrets_rotate);
	tcase_add_test(tc, output_is_bounded);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
