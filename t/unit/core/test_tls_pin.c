/* Public-key pins as [queue] relayhost_fingerprint writes them. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "util/tls_pin.h"

#define HEX "42ef1b631a45cd44eacc62d2c5a697415d1d6e575d3f54d84c493b4a85d6b628"
#define COLONS "42:EF:1B:63:1A:45:CD:44:EA:CC:62:D2:C5:A6:97:41:" \
	       "5D:1D:6E:57:5D:3F:54:D8:4C:49:3B:4A:85:D6:B6:28"

START_TEST(the_written_forms_parse_to_the_same_pin)
{
	static const char *const forms[] = {
		HEX, COLONS, "sha256:" HEX, "SHA256:" COLONS, "  " HEX " ,",
	};
	struct tls_pin pins[TLS_PINS_MAX];
	const char *problem = NULL;
	char text[TLS_PIN_TEXT_SIZE];
	size_t count;

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		ck_assert_msg(tls_pins_parse(forms[i], pins, &count,
					     &problem) == 0,
			      "refused '%s': %s", forms[i], problem);
		ck_assert_uint_eq(count, 1);
		ck_assert_uint_eq(pins[0].sha256[0], 0x42);
		ck_assert_uint_eq(pins[0].sha256[31], 0x28);
		tls_pin_format(&pins[0], text, sizeof(text));
		ck_assert_str_eq(text, "sha256:" HEX);
	}
}
END_TEST

START_TEST(a_list_holds_up_to_the_maximum)
{
	struct tls_pin pins[TLS_PINS_MAX];
	const char *problem = NULL;
	size_t count;

	ck_assert_int_eq(tls_pins_parse(HEX ", " COLONS " sha256:" HEX "\t"
					HEX, pins, &count, &problem), 0);
	ck_assert_uint_eq(count, TLS_PINS_MAX);
	ck_assert_int_eq(tls_pins_parse(HEX "," HEX "," HEX "," HEX "," HEX,
					pins, &count, &problem), -EINVAL);
	ck_assert_str_eq(problem, "lists more than 4 fingerprints");
}
END_TEST

START_TEST(malformed_pins_are_refused)
{
	static const char *const bad[] = {
		HEX "00",                 /* longer than SHA-256 */
		"42ef1b631a45cd44",       /* shorter */
		"sha1:" HEX,              /* another digest */
		"zz" HEX,                 /* not hex */
		HEX ";" HEX,              /* not a separator */
		"42:ef::1b" HEX,          /* two colons */
		":" HEX,
	};
	struct tls_pin pins[TLS_PINS_MAX];
	const char *problem = NULL;
	size_t count;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		problem = NULL;
		ck_assert_msg(tls_pins_parse(bad[i], pins, &count, &problem) ==
				      -EINVAL, "accepted '%s'", bad[i]);
		ck_assert_str_eq(problem, "is not a list of SHA-256 "
				 "fingerprints (64 hex digits each, colons "
				 "allowed)");
	}
	ck_assert_int_eq(tls_pins_parse(" , ", pins, &count, &problem),
			 -EINVAL);
	ck_assert_str_eq(problem, "holds no fingerprint");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tls_pin");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, the_written_forms_parse_to_the_same_pin);
	tcase_add_test(tc, a_list_holds_up_to_the_maximum);
	tcase_add_test(tc, malformed_pins_are_refused);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
