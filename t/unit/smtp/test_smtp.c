/* Unit tests of smtp.so's pure parts. */
#include <stdlib.h>

#include "test_smtp.h"

int main(void)
{
	SRunner *sr = srunner_create(smtp_parse_suite());
	int failed;

	srunner_add_suite(sr, smtp_data_suite());
	srunner_add_suite(sr, smtp_received_suite());
	srunner_add_suite(sr, smtp_header_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
