/* libFuzzer target: core/mime, the ENVELOPE/BODYSTRUCTURE builder that
 * parses every stored message. mime_check_one builds the summary and
 * checks every section range lies inside the message and in order; a
 * violated invariant (-EPROTO) is a bug. Then SEARCH's decoder
 * (mime_search_text) over the same bytes, into a small buffer: it must
 * stay inside it and report a header no longer than what it wrote. */
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
	char text[4096];
	size_t header_len = 0;
	int64_t n = mime_search_text(buf, size, 1, text, sizeof(text),
				     &header_len);
	if (n > (int64_t)sizeof(text) || (n >= 0 && header_len > (size_t)n))
		abort();
	free(buf);
	return 0;
}
