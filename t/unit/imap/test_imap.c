/* Unit tests of imap.so's pure protocol-syntax files. */
#include <stdlib.h>

#include "test_imap.h"

int main(void)
{
	Suite *(*const suites[])(void) = {
		imap_seqset_suite, imap_mutf7_suite, imap_date_suite,
		imap_write_suite, imap_fetch_att_suite, imap_search_suite,
		imap_match_suite,
	};
	SRunner *sr = srunner_create(imap_parser_suite());
	int failed;

	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		srunner_add_suite(sr, suites[i]());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
