/* Runs the config suites. */
#include <stdlib.h>

#include "helpers.h"

int main(void)
{
	SRunner *sr = srunner_create(config_load_suite());
	int failed;

	srunner_add_suite(sr, config_modules_d_suite());
	srunner_add_suite(sr, config_value_suite());
	srunner_add_suite(sr, config_module_suite());
	srunner_add_suite(sr, config_shipped_suite());
	/* One process, so that LeakSanitizer sees every test's allocations
	 * (a forked test's leaks would only show in its child). */
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
