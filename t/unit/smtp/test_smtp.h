#ifndef TEST_SMTP_H
#define TEST_SMTP_H

#include <check.h>

Suite *smtp_parse_suite(void);
Suite *smtp_data_suite(void);
Suite *smtp_received_suite(void);
Suite *smtp_header_suite(void);

#endif
