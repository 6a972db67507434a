/* libFuzzer target: core/mime, the ENVELOPE/BODYSTRUCTURE builder that
 * parses every stored message. mime_check_one builds the summary and
 * checks every section range lies inside the message and in order; a
 * violated invariant (-EPROTO) is a bug. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mime/mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	char *buf = malloc(size + 1);

	if (!ready) {
		mime_init();
		ready = 1;
	}
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	if (mime_check_one(buf, size) == -EPROTO)
		abort();
	free(buf);
	return 0;
}
