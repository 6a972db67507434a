/* Unit tests of imap.so's pure protocol-syntax files. */
#include <stdlib.h>

#include "test_imap.h"

int main(void)
{
	SRunner *sr = srunner_create(imap_parser_suite());
	int failed;

	srunner_add_suite(sr, imap_seqset_suite());

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
