#ifndef TEST_POP3_H
#define TEST_POP3_H

#include <check.h>

Suite *pop3_parse_suite(void);
Suite *pop3_stuff_suite(void);
Suite *pop3_session_suite(void);

#endif
