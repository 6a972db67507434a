#ifndef TEST_IMAP_H
#define TEST_IMAP_H

#include <check.h>

Suite *imap_parser_suite(void);
Suite *imap_seqset_suite(void);
Suite *imap_mutf7_suite(void);
Suite *imap_date_suite(void);
Suite *imap_write_suite(void);

#endif
