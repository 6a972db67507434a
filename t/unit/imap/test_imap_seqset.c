/* Sequence sets: syntax, "*" in both modes, normalisation, lookup,
 * iteration, formatting, and random round-trips against a bitmap. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap_seqset.h"
#include "test_imap.h"

static struct imap_seqset *raw, *set;
static struct imap_buf out;

static void setup(void)
{
	imap_buf_init(&out, 0);
}

static void teardown(void)
{
	if (raw != NULL)
		imap_seqset_free(&raw);
	if (set != NULL)
		imap_seqset_free(&set);
	imap_buf_free(&out);
}

static int parse(const char *s)
{
	if (raw != NULL)
		imap_seqset_free(&raw);
	return imap_seqset_parse(s, strlen(s), &raw);
}

/* Parses s, resolves it, and returns the formatted normalised set. */
static const char *norm(const char *s, uint32_t max,
			enum imap_seqset_mode mode)
{
	CHECK(parse(s) == 0);
	if (set != NULL)
		imap_seqset_free(&set);
	if (imap_seqset_resolve(raw, max, mode, &set) < 0)
		return "ERANGE";
	imap_buf_clear(&out);
	CHECK(imap_seqset_format(set, &out) == 0);
	return out.len == 0 ? "" : out.data;
}

START_TEST(syntax)
{
	ck_assert_int_eq(parse("1"), 0);
	ck_assert_uint_eq(raw->count, 1);
	ck_assert_int_eq(parse("1:3,7,9:*,*:4,*"), 0);
	ck_assert_uint_eq(raw->count, 5);
	ck_assert_uint_eq(raw->range[2].lo, 9);
	ck_assert_uint_eq(raw->range[2].hi, 0);
	ck_assert_uint_eq(raw->range[3].lo, 0);
	ck_assert_uint_eq(raw->range[3].hi, 4);
	/* Raw sets format with "*" and the client's order. */
	ck_assert_int_eq(imap_seqset_format(raw, &out), 0);
	ck_assert_str_eq(out.data, "1:3,7,9:*,*:4,*");
	ck_assert_int_eq(parse("4294967295"), 0);
	ck_assert_uint_eq(raw->range[0].lo, UINT32_MAX);
	ck_assert_int_eq(parse("5:2"), 0);
	ck_assert_int_eq(parse(""), -EINVAL);
	ck_assert_ptr_null(raw);
	ck_assert_int_eq(parse("0"), -EINVAL);
	ck_assert_int_eq(parse("1:0"), -EINVAL);
	ck_assert_int_eq(parse("00"), -EINVAL);
	ck_assert_int_eq(parse("4294967296"), -EINVAL);
	ck_assert_int_eq(parse("99999999999999999999"), -EINVAL);
	ck_assert_int_eq(parse("1,"), -EINVAL);
	ck_assert_int_eq(parse(",1"), -EINVAL);
	ck_assert_int_eq(parse("1,,2"), -EINVAL);
	ck_assert_int_eq(parse("1:"), -EINVAL);
	ck_assert_int_eq(parse(":1"), -EINVAL);
	ck_assert_int_eq(parse("1:2:3"), -EINVAL);
	ck_assert_int_eq(parse("1 "), -EINVAL);
	ck_assert_int_eq(parse("-1"), -EINVAL);
	ck_assert_int_eq(parse("+1"), -EINVAL);
	ck_assert_int_eq(parse("**"), -EINVAL);
	ck_assert_int_eq(parse("1*"), -EINVAL);
	ck_assert_int_eq(parse("a"), -EINVAL);
	ck_assert_int_eq(parse("01"), 0); /* nz-number is digits, no sign */
}
END_TEST

START_TEST(resolve_seq)
{
	ck_assert_str_eq(norm("1:3,7,9:*", 10, IMAP_SEQSET_SEQ), "1:3,7,9:10");
	ck_assert_str_eq(norm("5:2", 10, IMAP_SEQSET_SEQ), "2:5");
	ck_assert_str_eq(norm("*:4", 10, IMAP_SEQSET_SEQ), "4:10");
	ck_assert_str_eq(norm("*", 10, IMAP_SEQSET_SEQ), "10");
	ck_assert_str_eq(norm("3,1,2", 10, IMAP_SEQSET_SEQ), "1:3");
	ck_assert_str_eq(norm("1:4,2:3,4:6,8,7", 10, IMAP_SEQSET_SEQ),
			 "1:8");
	ck_assert_str_eq(norm("9,1,5,5", 10, IMAP_SEQSET_SEQ), "1,5,9");
	ck_assert_str_eq(norm("11", 10, IMAP_SEQSET_SEQ), "ERANGE");
	ck_assert_str_eq(norm("1:11", 10, IMAP_SEQSET_SEQ), "ERANGE");
	ck_assert_str_eq(norm("*:11", 10, IMAP_SEQSET_SEQ), "ERANGE");
	ck_assert_str_eq(norm("10", 10, IMAP_SEQSET_SEQ), "10");
	ck_assert_str_eq(norm("*", 0, IMAP_SEQSET_SEQ), "ERANGE");
	ck_assert_str_eq(norm("1", 0, IMAP_SEQSET_SEQ), "ERANGE");
	ck_assert_ptr_null(set);
}
END_TEST

START_TEST(resolve_uid)
{
	/* UID FETCH 10:* with max UID 5 still includes 5. */
	ck_assert_str_eq(norm("10:*", 5, IMAP_SEQSET_UID), "5:10");
	ck_assert_str_eq(norm("*", 5, IMAP_SEQSET_UID), "5");
	ck_assert_str_eq(norm("100", 5, IMAP_SEQSET_UID), "100");
	ck_assert_str_eq(norm("1:*", 0, IMAP_SEQSET_UID), "");
	ck_assert_uint_eq(set->count, 0);
	ck_assert_str_eq(norm("3,*,7", 0, IMAP_SEQSET_UID), "3,7");
	ck_assert_str_eq(norm("4294967295,1:4294967294", 9,
			      IMAP_SEQSET_UID), "1:4294967295");
	ck_assert_uint_eq(imap_seqset_count(set), UINT32_MAX);
}
END_TEST

START_TEST(contains_and_iterate)
{
	struct imap_seqset_iter it = { 0 };
	uint32_t n, got[8];
	size_t k = 0;

	norm("2:4,9,4294967294:*", UINT32_MAX, IMAP_SEQSET_UID);
	ck_assert(!imap_seqset_contains(set, 1));
	ck_assert(imap_seqset_contains(set, 2));
	ck_assert(imap_seqset_contains(set, 4));
	ck_assert(!imap_seqset_contains(set, 5));
	ck_assert(imap_seqset_contains(set, 9));
	ck_assert(!imap_seqset_contains(set, 10));
	ck_assert(imap_seqset_contains(set, UINT32_MAX));
	ck_assert_uint_eq(imap_seqset_count(set), 6);
	while (imap_seqset_next(set, &it, &n))
		got[k++] = n;
	ck_assert_uint_eq(k, 6);
	ck_assert_uint_eq(got[0], 2);
	ck_assert_uint_eq(got[3], 9);
	ck_assert_uint_eq(got[5], UINT32_MAX);
	ck_assert(!imap_seqset_next(set, &it, &n));
	norm("1:*", 0, IMAP_SEQSET_UID);
	memset(&it, 0, sizeof(it));
	ck_assert(!imap_seqset_next(set, &it, &n));
	ck_assert(!imap_seqset_contains(set, 1));
	ck_assert_uint_eq(imap_seqset_count(set), 0);
}
END_TEST

START_TEST(uid_formatting)
{
	static const uint32_t uids[] = { 4, 5, 6, 9, 2, 3, UINT32_MAX, 1 };
	static const uint32_t bad[] = { 3, 0 };

	ck_assert_int_eq(imap_uids_format(uids, 8, &out), 0);
	ck_assert_str_eq(out.data, "4:6,9,2:3,4294967295,1");
	imap_buf_clear(&out);
	ck_assert_int_eq(imap_uids_format(uids, 0, &out), 0);
	ck_assert_uint_eq(out.len, 0);
	ck_assert_int_eq(imap_seqset_from_uids(uids, 8, &set), 0);
	ck_assert_int_eq(imap_seqset_format(set, &out), 0);
	ck_assert_str_eq(out.data, "1:6,9,4294967295");
	ck_assert_int_eq(imap_seqset_from_uids(bad, 2, &raw), -EINVAL);
	ck_assert_ptr_null(raw);
	/* A full buffer is reported. */
	imap_buf_free(&out);
	imap_buf_init(&out, 3);
	ck_assert_int_eq(imap_uids_format(uids, 8, &out), -E2BIG);
	ck_assert_int_eq(imap_seqset_format(set, &out), -E2BIG);
}
END_TEST

/* Random sets over 1..64: the formatted normalised set parses back to
 * itself, and contains() / iteration agree with a bitmap. */
START_TEST(random_round_trip)
{
	unsigned seed = 4242;
	char text[512];

	for (int iter = 0; iter < 2000; iter++) {
		uint64_t bits = 0;
		uint32_t max = 1 + (uint32_t)(rand_r(&seed) % 64);
		int n = 1 + rand_r(&seed) % 6;
		size_t len = 0;
		struct imap_seqset_iter it = { 0 };
		uint32_t v, prev = 0;

		for (int i = 0; i < n; i++) {
			uint32_t a = 1 + (uint32_t)(rand_r(&seed) % max);
			uint32_t b = 1 + (uint32_t)(rand_r(&seed) % max);
			bool star = rand_r(&seed) % 5 == 0;

			if (star)
				b = max;
			for (uint32_t x = a < b ? a : b; x <= (a < b ? b : a);
			     x++)
				bits |= 1ULL << (x - 1);
			len += (size_t)snprintf(text + len, sizeof(text) - len,
						"%s%u:", i ? "," : "", a);
			if (star)
				len += (size_t)snprintf(text + len,
							sizeof(text) - len,
							"*");
			else
				len += (size_t)snprintf(text + len,
							sizeof(text) - len,
							"%u", b);
		}
		norm(text, max, IMAP_SEQSET_SEQ);
		for (uint32_t x = 1; x <= 64; x++)
			CHECK(imap_seqset_contains(set, x) ==
			      ((bits >> (x - 1)) & 1));
		CHECK(imap_seqset_count(set) ==
		      (uint64_t)__builtin_popcountll(bits));
		while (imap_seqset_next(set, &it, &v)) {
			CHECK((v) > (prev));
			CHECK((bits >> (v - 1)) & 1);
			prev = v;
		}
		snprintf(text, sizeof(text), "%s", out.data);
		CHECK(strcmp(norm(text, max, IMAP_SEQSET_SEQ), text) == 0);
	}
}
END_TEST

Suite *imap_seqset_suite(void)
{
	Suite *s = suite_create("imap_seqset");
	TCase *tc = tcase_create("seqset");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, syntax);
	tcase_add_test(tc, resolve_seq);
	tcase_add_test(tc, resolve_uid);
	tcase_add_test(tc, contains_and_iterate);
	tcase_add_test(tc, uid_formatting);
	tcase_add_test(tc, random_round_trip);
	suite_add_tcase(s, tc);
	return s;
}
