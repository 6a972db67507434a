#ifndef TEST_IMAP_H
#define TEST_IMAP_H

#include <check.h>

/* For loops of thousands of cases: unlike ck_assert, costs nothing when
 * it holds (Check reports every passing ck_assert to its parent). */
#define CHECK(cond) do { \
	if (!(cond)) \
		ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #cond); \
} while (0)

Suite *imap_parser_suite(void);
Suite *imap_seqset_suite(void);
Suite *imap_mutf7_suite(void);
Suite *imap_date_suite(void);
Suite *imap_write_suite(void);
Suite *imap_fetch_att_suite(void);
Suite *imap_search_suite(void);
Suite *imap_match_suite(void);

#endif
