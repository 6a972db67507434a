/* TLS record framing: whether a record is still arriving must not depend
 * on how the stream is cut into reads, and a stream that is not TLS
 * framing must never be judged partial. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "net/tls_frame.h"

/* Appends one record of type with len body bytes to buf at *off. */
static void put_record(unsigned char *buf, size_t *off, unsigned char type,
		       size_t len)
{
	buf[(*off)++] = type;
	buf[(*off)++] = 3;
	buf[(*off)++] = 3;
	buf[(*off)++] = (unsigned char)(len >> 8);
	buf[(*off)++] = (unsigned char)len;
	memset(buf + *off, 0xa5, len);
	*off += len;
}

START_TEST(fresh_is_at_boundary)
{
	struct tls_frame f;

	tls_frame_init(&f);
	ck_assert_int_eq(tls_frame_partial(&f), 0);
	tls_frame_feed(&f, "", 0);
	ck_assert_int_eq(tls_frame_partial(&f), 0);
}
END_TEST

/* The slow loris: every byte but the last leaves the record unfinished,
 * the header's bytes included. */
START_TEST(byte_at_a_time)
{
	unsigned char rec[64];
	size_t len = 0;
	struct tls_frame f;

	put_record(rec, &len, 23, 28);
	tls_frame_init(&f);
	for (size_t i = 0; i < len; i++) {
		tls_frame_feed(&f, rec + i, 1);
		ck_assert_int_eq(tls_frame_partial(&f), i + 1 < len);
	}
}
END_TEST

/* Many records in reads of every size: partial exactly when the read ended
 * inside a record. */
START_TEST(any_cut_of_a_stream)
{
	unsigned char stream[70000];
	size_t len = 0;
	size_t ends[8];
	size_t count = 0;

	put_record(stream, &len, 22, 512);
	ends[count++] = len;
	put_record(stream, &len, 20, 1);
	ends[count++] = len;
	put_record(stream, &len, 23, 0);  /* empty: ends with its header */
	ends[count++] = len;
	put_record(stream, &len, 23, 65535);
	ends[count++] = len;
	put_record(stream, &len, 21, 2);
	ends[count++] = len;
	ck_assert_uint_le(len, sizeof(stream));
	for (size_t chunk = 1; chunk <= 4099; chunk = chunk * 3 + 2) {
		struct tls_frame f;
		tls_frame_init(&f);
		for (size_t off = 0; off < len; off += chunk) {
			size_t n = len - off < chunk ? len - off : chunk;
			int boundary = 0;
			tls_frame_feed(&f, stream + off, n);
			for (size_t i = 0; i < count; i++)
				boundary |= ends[i] == off + n;
			ck_assert_msg(tls_frame_partial(&f) == !boundary,
				      "chunk %zu, after %zu bytes", chunk,
				      off + n);
		}
	}
}
END_TEST

START_TEST(length_is_big_endian)
{
	unsigned char rec[0x200];
	size_t len = 0;
	struct tls_frame f;

	put_record(rec, &len, 23, 0x102);
	tls_frame_init(&f);
	tls_frame_feed(&f, rec, len - 1);
	ck_assert_int_eq(tls_frame_partial(&f), 1);
	ck_assert_uint_eq(f.body_left, 1);
	tls_frame_feed(&f, rec + len - 1, 1);
	ck_assert_int_eq(tls_frame_partial(&f), 0);
}
END_TEST

/* Plain text or an SSLv2-style hello: not framing we can follow, so never
 * partial, whatever comes after. */
START_TEST(not_tls_is_never_partial)
{
	static const struct {
		const char *data;
		size_t len;
	} inputs[] = {
		{ "GET / HTTP/1.0\r\n", 16 },
		{ "\x80\x2e\x01\x03\x01\x00\x15", 7 }, /* SSLv2 CLIENT-HELLO */
		{ "\x17\x02\x00\x00\x10", 5 },         /* version major 2 */
		{ "\x19\x03\x03\x00\x10", 5 },         /* type 25 */
	};

	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		struct tls_frame f;
		tls_frame_init(&f);
		tls_frame_feed(&f, inputs[i].data, inputs[i].len);
		ck_assert_msg(!tls_frame_partial(&f), "input %zu", i);
		tls_frame_feed(&f, "\x17\x03\x03\x00\x05xy", 7);
		ck_assert_msg(!tls_frame_partial(&f), "input %zu", i);
	}
}
END_TEST

static Suite *tls_frame_suite(void)
{
	Suite *s = suite_create("tls_frame");
	TCase *tc = tcase_create("tls_frame");

	tcase_add_test(tc, fresh_is_at_boundary);
	tcase_add_test(tc, byte_at_a_time);
	tcase_add_test(tc, any_cut_of_a_stream);
	tcase_add_test(tc, length_is_big_endian);
	tcase_add_test(tc, not_tls_is_never_partial);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(tls_frame_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
