/* Base64 and SASL PLAIN decoding. */
#include <errno.h>
#include <string.h>

#include <postino/sasl.h>
#include "test_pop3.h"

static int dec(const char *in, char *out, size_t outsize, size_t *len_r)
{
	return postino_base64_decode(in, strlen(in), (unsigned char *)out,
				  outsize, len_r);
}

START_TEST(base64_valid)
{
	char out[64];
	size_t n;

	ck_assert_int_eq(dec("", out, sizeof(out), &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(dec("Zg==", out, sizeof(out), &n), 0);
	ck_assert_str_eq(out, "f");
	ck_assert_int_eq(dec("Zm8=", out, sizeof(out), &n), 0);
	ck_assert_str_eq(out, "fo");
	ck_assert_int_eq(dec("Zm9vYmFy", out, sizeof(out), &n), 0);
	ck_assert_str_eq(out, "foobar");
	ck_assert_int_eq(dec("AHUAcA==", out, sizeof(out), &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_mem_eq(out, "\0u\0p", 4);
}
END_TEST

START_TEST(base64_invalid)
{
	char out[64];
	size_t n;

	ck_assert_int_eq(dec("Zg=", out, sizeof(out), &n), -EINVAL);
	ck_assert_int_eq(dec("Z===", out, sizeof(out), &n), -EINVAL);
	ck_assert_int_eq(dec("Zg==Zg==", out, sizeof(out), &n), -EINVAL);
	ck_assert_int_eq(dec("Zh==", out, sizeof(out), &n), -EINVAL);
	ck_assert_int_eq(dec("Zm 9", out, sizeof(out), &n), -EINVAL);
	ck_assert_int_eq(dec("Zm9v", out, 2, &n), -ENOSPC);
}
END_TEST

static enum postino_sasl_plain_result plain(const char *b64,
					 struct postino_sasl_creds *c)
{
	return postino_sasl_plain_decode(b64, strlen(b64), c);
}

START_TEST(plain_decode)
{
	struct postino_sasl_creds c;

	/* "\0user\0pass" */
	ck_assert_int_eq(plain("AHVzZXIAcGFzcw==", &c), POSTINO_SASL_PLAIN_OK);
	ck_assert_str_eq(c.user, "user");
	ck_assert_str_eq(c.password, "pass");
	/* "user\0user\0pass" */
	ck_assert_int_eq(plain("dXNlcgB1c2VyAHBhc3M=", &c),
			 POSTINO_SASL_PLAIN_OK);
	ck_assert_str_eq(c.user, "user");
	/* "other\0user\0pass" */
	ck_assert_int_eq(plain("b3RoZXIAdXNlcgBwYXNz", &c),
			 POSTINO_SASL_PLAIN_AUTHZID);
	ck_assert_str_eq(c.user, "");
	ck_assert_int_eq(plain("", &c), POSTINO_SASL_PLAIN_EMPTY);
	ck_assert_int_eq(plain("=", &c), POSTINO_SASL_PLAIN_EMPTY);
	ck_assert_int_eq(plain("!!!!", &c), POSTINO_SASL_PLAIN_BASE64);
	/* "user" (no NUL) */
	ck_assert_int_eq(plain("dXNlcg==", &c), POSTINO_SASL_PLAIN_FORMAT);
	/* "\0user\0" (empty password) */
	ck_assert_int_eq(plain("AHVzZXIA", &c), POSTINO_SASL_PLAIN_FORMAT);
	/* "\0\0pass" (empty user) */
	ck_assert_int_eq(plain("AABwYXNz", &c), POSTINO_SASL_PLAIN_FORMAT);
	/* "\0u\0p\0x": a NUL in the password */
	ck_assert_int_eq(plain("AHUAcAB4", &c), POSTINO_SASL_PLAIN_FORMAT);
}
END_TEST

Suite *pop3_auth_suite(void)
{
	Suite *s = suite_create("pop3_auth");
	TCase *tc = tcase_create("auth");

	tcase_add_test(tc, base64_valid);
	tcase_add_test(tc, base64_invalid);
	tcase_add_test(tc, plain_decode);
	suite_add_tcase(s, tc);
	return s;
}
