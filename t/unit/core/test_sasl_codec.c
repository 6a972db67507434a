/* The SASL service's codecs: strict base64, PLAIN and LOGIN fields. */
#include <errno.h>
#include <string.h>

#include <check.h>
#include <stdlib.h>

#include "auth/sasl_codec.h"

static int dec(const char *in, char *out, size_t outsize, size_t *len_r)
{
	return base64_decode(in, strlen(in), (unsigned char *)out,
				  outsize, len_r);
}

START_TEST(base64_valid)
{
	char out[64];
	size_t n;

	ck_assert_int_eq(dec("", out, sizeof(out), &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(dec("Zg==", out, sizeof(out), &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(out, "f");
	ck_assert_int_eq(dec("Zm8=", out, sizeof(out), &n), 0);
	ck_assert_str_eq(out, "fo");
	ck_assert_int_eq(dec("Zm9v", out, sizeof(out), &n), 0);
	ck_assert_str_eq(out, "foo");
	ck_assert_int_eq(dec("Zm9vYmFy", out, sizeof(out), &n), 0);
	ck_assert_str_eq(out, "foobar");
	ck_assert_int_eq(dec("VXNlcm5hbWU6", out, sizeof(out), &n), 0);
	ck_assert_str_eq(out, "Username:");
	ck_assert_int_eq(dec("+/+/", out, sizeof(out), &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq((unsigned char)out[0], 0xfb);
	ck_assert_int_eq((unsigned char)out[1], 0xff);
	ck_assert_int_eq((unsigned char)out[2], 0xbf);
	/* NUL bytes decode (PLAIN needs them). */
	ck_assert_int_eq(dec("AHUAcA==", out, sizeof(out), &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_mem_eq(out, "\0u\0p", 4);
}
END_TEST

START_TEST(base64_invalid)
{
	char out[64];
	size_t n;

	ck_assert_int_eq(dec("Zg", out, sizeof(out), &n), -EINVAL);
	ck_assert_int_eq(dec("Zg=", out, sizeof(out), &n), -EINVAL);
	ck_assert_int_eq(dec("Zm9", out, sizeof(out), &n), -EINVAL);
	ck_assert_int_eq(dec("Zm9vY", out, sizeof(out), &n), -EINVAL);
	ck_assert_int_eq(dec("====", out, sizeof(out), &n), -EINVAL);
	ck_assert_int_eq(dec("Z===", out, sizeof(out), &n), -EINVAL);
	ck_assert_int_eq(dec("Zg==Zg==", out, sizeof(out), &n), -EINVAL);
	ck_assert_int_eq(dec("Z=g=", out, sizeof(out), &n), -EINVAL);
	ck_assert_int_eq(dec("Zm 9v", out, sizeof(out), &n), -EINVAL);
	ck_assert_int_eq(dec("Zm9v\r\n", out, sizeof(out), &n), -EINVAL);
	ck_assert_int_eq(dec("Zm9-", out, sizeof(out), &n), -EINVAL);
	ck_assert_int_eq(dec("Zm9_", out, sizeof(out), &n), -EINVAL);
	ck_assert_int_eq(dec("Zm9\x80", out, sizeof(out), &n), -EINVAL);
	/* Non-zero bits under the padding: not canonical. */
	ck_assert_int_eq(dec("Zh==", out, sizeof(out), &n), -EINVAL);
	ck_assert_int_eq(dec("Zm9=", out, sizeof(out), &n), -EINVAL);
	ck_assert_int_eq(base64_decode("Zm\0v", 4, (unsigned char *)out,
					    sizeof(out), &n), -EINVAL);
	/* Output exactly full, then one byte short. */
	ck_assert_int_eq(dec("Zm9v", out, 3, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(dec("Zm9v", out, 2, &n), -ENOSPC);
}
END_TEST

START_TEST(base64_round_trip)
{
	unsigned char in[300], back[300];
	char enc[4 * 100 + 8];
	size_t n;

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 37 + 11);
	for (size_t len = 0; len < 300; len += 1 + len / 4) {
		ck_assert_uint_lt(4 * ((len + 2) / 3), sizeof(enc));
		base64_encode(in, len, enc);
		ck_assert_uint_eq(strlen(enc), 4 * ((len + 2) / 3));
		ck_assert_int_eq(base64_decode(enc, strlen(enc), back,
						    sizeof(back), &n), 0);
		ck_assert_uint_eq(n, len);
		ck_assert_mem_eq(back, in, len);
	}
}
END_TEST

/* base64 of len raw bytes. */
static void b64(const char *raw, size_t len, char *out)
{
	base64_encode((const unsigned char *)raw, len, out);
}

#define PLAIN(raw, creds) plain_decode(raw, sizeof(raw) - 1, creds)

static enum sasl_plain_result plain_decode(const char *raw, size_t len,
						struct sasl_creds *c)
{
	char enc[8192];

	b64(raw, len, enc);
	return sasl_plain_decode(enc, strlen(enc), c);
}

START_TEST(plain)
{
	struct sasl_creds c;

	ck_assert_int_eq(PLAIN("\0user@example.org\0secret", &c),
			 SASL_PLAIN_OK);
	ck_assert_str_eq(c.user, "user@example.org");
	ck_assert_str_eq(c.password, "secret");
	/* authzid equal to authcid is fine. */
	ck_assert_int_eq(PLAIN("u@d.org\0u@d.org\0p w", &c), SASL_PLAIN_OK);
	ck_assert_str_eq(c.user, "u@d.org");
	ck_assert_str_eq(c.password, "p w");
	/* Someone else's identity. */
	ck_assert_int_eq(PLAIN("admin@d.org\0u@d.org\0pw", &c),
			 SASL_PLAIN_AUTHZID);
	ck_assert_str_eq(c.user, "");
	ck_assert_str_eq(c.password, "");
	ck_assert_int_eq(PLAIN("u@d.or\0u@d.org\0pw", &c),
			 SASL_PLAIN_AUTHZID);
	/* Wrong shapes. */
	ck_assert_int_eq(PLAIN("u@d.org\0pw", &c), SASL_PLAIN_FORMAT);
	ck_assert_int_eq(PLAIN("\0u@d.org\0pw\0", &c), SASL_PLAIN_FORMAT);
	ck_assert_int_eq(PLAIN("\0\0pw", &c), SASL_PLAIN_FORMAT);
	ck_assert_int_eq(PLAIN("\0u\0", &c), SASL_PLAIN_FORMAT);
	ck_assert_int_eq(PLAIN("nonuls", &c), SASL_PLAIN_FORMAT);
	/* An empty response, also as RFC 4954's "=": bad credentials. */
	ck_assert_int_eq(plain_decode("", 0, &c), SASL_PLAIN_EMPTY);
	ck_assert_int_eq(sasl_plain_decode("", 0, &c),
			 SASL_PLAIN_EMPTY);
	ck_assert_str_eq(c.user, "");
	ck_assert_str_eq(c.password, "");
	ck_assert_int_eq(sasl_plain_decode("AHUAcA", 6, &c),
			 SASL_PLAIN_BASE64);
	ck_assert_int_eq(sasl_plain_decode("*", 1, &c),
			 SASL_PLAIN_BASE64);
	ck_assert_int_eq(sasl_plain_decode("=", 1, &c),
			 SASL_PLAIN_EMPTY);
	ck_assert_int_eq(sasl_plain_decode("==", 2, &c),
			 SASL_PLAIN_BASE64);
	ck_assert_int_eq(sasl_plain_decode("====", 4, &c),
			 SASL_PLAIN_BASE64);
}
END_TEST

START_TEST(plain_limits)
{
	static char raw[3 * SASL_FIELD_MAX + 8];
	struct sasl_creds c;
	size_t n = 0;

	/* The longest password kept. */
	raw[n++] = '\0';
	raw[n++] = 'u';
	raw[n++] = '\0';
	memset(raw + n, 'p', SASL_FIELD_MAX);
	n += SASL_FIELD_MAX;
	ck_assert_int_eq(plain_decode(raw, n, &c), SASL_PLAIN_OK);
	ck_assert_uint_eq(strlen(c.password), SASL_FIELD_MAX);
	/* One more byte. */
	raw[n++] = 'p';
	ck_assert_int_eq(plain_decode(raw, n, &c), SASL_PLAIN_FORMAT);
	/* Far too long for any field: refused, not truncated. */
	memset(raw, 'x', sizeof(raw));
	raw[0] = '\0';
	raw[10] = '\0';
	ck_assert_int_eq(plain_decode(raw, sizeof(raw), &c),
			 SASL_PLAIN_FORMAT);
}
END_TEST

START_TEST(login)
{
	char field[SASL_FIELD_MAX + 1], enc[4 * SASL_FIELD_MAX];
	const size_t fs = sizeof(field);
	static char raw[SASL_FIELD_MAX + 2];

	ck_assert_int_eq(sasl_login_field_decode("dXNlcg==", 8, field, fs), 0);
	ck_assert_str_eq(field, "user");
	ck_assert_int_eq(sasl_login_field_decode("", 0, field, fs), -EINVAL);
	ck_assert_int_eq(sasl_login_field_decode("dXNlcg", 6, field, fs), -EINVAL);
	ck_assert_int_eq(sasl_login_field_decode("*", 1, field, fs), -EINVAL);
	b64("a\0b", 3, enc);
	ck_assert_int_eq(sasl_login_field_decode(enc, strlen(enc), field, fs),
			 -EINVAL);
	memset(raw, 'q', sizeof(raw));
	b64(raw, SASL_FIELD_MAX, enc);
	ck_assert_int_eq(sasl_login_field_decode(enc, strlen(enc), field, fs), 0);
	ck_assert_uint_eq(strlen(field), SASL_FIELD_MAX);
	b64(raw, SASL_FIELD_MAX + 1, enc);
	ck_assert_int_eq(sasl_login_field_decode(enc, strlen(enc), field, fs),
			 -EINVAL);
	b64(raw, SASL_FIELD_MAX + 2, enc);
	ck_assert_int_eq(sasl_login_field_decode(enc, strlen(enc), field, fs),
			 -EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sasl_codec");
	TCase *tc = tcase_create("auth");

	tcase_add_test(tc, base64_valid);
	tcase_add_test(tc, base64_invalid);
	tcase_add_test(tc, base64_round_trip);
	tcase_add_test(tc, plain);
	tcase_add_test(tc, plain_limits);
	tcase_add_test(tc, login);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
