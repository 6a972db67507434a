/* Runner for the store unit tests. */
#include <check.h>
#include <stdlib.h>

#include "test_util.h"

int main(void)
{
	SRunner *sr = srunner_create(suite_schema());
	int failed;

	srunner_add_suite(sr, suite_accounts());
	srunner_add_suite(sr, suite_messages());
	srunner_add_suite(sr, suite_state());
	srunner_add_suite(sr, suite_writer());
	srunner_add_suite(sr, suite_backup());
	srunner_add_suite(sr, suite_quota());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
