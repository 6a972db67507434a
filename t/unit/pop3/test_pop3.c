/* Unit tests of pop3.so's pure parts. */
#include <stdlib.h>

#include "test_pop3.h"

int main(void)
{
	SRunner *sr = srunner_create(pop3_parse_suite());
	int failed;

	srunner_add_suite(sr, pop3_stuff_suite());
	srunner_add_suite(sr, pop3_session_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
