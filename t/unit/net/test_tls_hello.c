/* The version a ClientHello offers: legacy_version, or the highest known
 * entry of supported_versions when there is one; never a read past the
 * body, whatever its length. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "net/tls_hello.h"

/* A ClientHello body offering legacy, with extensions when ext != NULL
 * (ext_len bytes, already framed as type, length, data). */
static size_t hello(unsigned char *buf, unsigned legacy,
		    const unsigned char *ext, size_t ext_len)
{
	size_t n = 0;

	buf[n++] = (unsigned char)(legacy >> 8);
	buf[n++] = (unsigned char)legacy;
	memset(buf + n, 0x5a, 32);           /* random */
	n += 32;
	buf[n++] = 0;                        /* session_id */
	buf[n++] = 0;                        /* two cipher suites */
	buf[n++] = 4;
	buf[n++] = 0xc0;
	buf[n++] = 0x2f;
	buf[n++] = 0x00;
	buf[n++] = 0x2f;
	buf[n++] = 1;                        /* compression: null */
	buf[n++] = 0;
	if (ext != NULL) {
		buf[n++] = (unsigned char)(ext_len >> 8);
		buf[n++] = (unsigned char)ext_len;
		memcpy(buf + n, ext, ext_len);
		n += ext_len;
	}
	return n;
}

/* renegotiation_info (empty), then supported_versions with GREASE,
 * TLS 1.1 and TLS 1.0. */
static const unsigned char old_versions[] = {
	0xff, 0x01, 0x00, 0x01, 0x00,
	0x00, 0x2b, 0x00, 0x07, 0x06, 0x0a, 0x0a, 0x03, 0x02, 0x03, 0x01,
};

START_TEST(legacy_version_without_extensions)
{
	unsigned char buf[128];

	ck_assert_uint_eq(tls_hello_max_version(buf, hello(buf, 0x0301, NULL, 0)),
			  0x0301);
	ck_assert_uint_eq(tls_hello_max_version(buf, hello(buf, 0x0302,
			  old_versions, 5)), 0x0302);
}
END_TEST

START_TEST(supported_versions_replaces_legacy)
{
	unsigned char buf[128];
	static const unsigned char tls13[] = {
		0x00, 0x2b, 0x00, 0x05, 0x04, 0x03, 0x04, 0x03, 0x03,
	};

	/* A TLS 1.3 client says 3.3 in legacy_version. */
	ck_assert_uint_eq(tls_hello_max_version(buf, hello(buf, 0x0303,
			  tls13, sizeof(tls13))), 0x0304);
	/* GREASE (0x0a0a) is not a version; 1.1 is the highest real one. */
	ck_assert_uint_eq(tls_hello_max_version(buf, hello(buf, 0x0303,
			  old_versions, sizeof(old_versions))), 0x0302);
}
END_TEST

START_TEST(only_unknown_versions_leave_legacy)
{
	unsigned char buf[128];
	static const unsigned char grease[] = {
		0x00, 0x2b, 0x00, 0x05, 0x04, 0x7a, 0x7a, 0x7f, 0x1c,
	};

	ck_assert_uint_eq(tls_hello_max_version(buf, hello(buf, 0x0303,
			  grease, sizeof(grease))), 0x0303);
}
END_TEST

/* Cut at every length: each cut ends inside a field whose length says
 * more is coming (0), or right before the extensions (legacy). Each cut
 * is its own allocation, so ASan sees a read past it. */
START_TEST(every_truncation)
{
	unsigned char buf[128];
	size_t len = hello(buf, 0x0303, old_versions, sizeof(old_versions));
	size_t before_ext = len - sizeof(old_versions) - 2;

	for (size_t cut = 0; cut < len; cut++) {
		unsigned char *p = malloc(cut > 0 ? cut : 1);
		memcpy(p, buf, cut);
		uint16_t v = tls_hello_max_version(p, cut);
		ck_assert_uint_eq(v, cut == before_ext ? 0x0303 : 0);
		free(p);
	}
}
END_TEST

START_TEST(lengths_that_overrun)
{
	unsigned char buf[128];
	size_t len = hello(buf, 0x0303, old_versions, sizeof(old_versions));

	/* The list inside supported_versions claims one byte too many. */
	buf[len - 7] = 7;
	ck_assert_uint_eq(tls_hello_max_version(buf, len), 0x0303);
	/* An odd list length is no list of versions. */
	buf[len - 7] = 5;
	ck_assert_uint_eq(tls_hello_max_version(buf, len), 0x0303);
	/* The extension claims more than the extensions hold. */
	buf[len - 7] = 6;
	buf[len - 8] = 8;
	ck_assert_uint_eq(tls_hello_max_version(buf, len), 0);
}
END_TEST

START_TEST(names)
{
	ck_assert_str_eq(tls_hello_version_name(0x0300), "SSL3.0");
	ck_assert_str_eq(tls_hello_version_name(0x0301), "TLS1.0");
	ck_assert_str_eq(tls_hello_version_name(0x0302), "TLS1.1");
	ck_assert_str_eq(tls_hello_version_name(0x0303), "TLS1.2");
	ck_assert_str_eq(tls_hello_version_name(0x0304), "TLS1.3");
	ck_assert_str_eq(tls_hello_version_name(0), "unknown");
	ck_assert_str_eq(tls_hello_version_name(0x0a0a), "unknown");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tls_hello");
	TCase *tc = tcase_create("versions");

	tcase_add_test(tc, legacy_version_without_extensions);
	tcase_add_test(tc, supported_versions_replaces_legacy);
	tcase_add_test(tc, only_unknown_versions_leave_legacy);
	tcase_add_test(tc, every_truncation);
	tcase_add_test(tc, lengths_that_overrun);
	tcase_add_test(tc, names);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
