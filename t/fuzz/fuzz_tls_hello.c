/* libFuzzer target: core/net/tls_hello.c, which reads the version out of
 * every ClientHello a client sends, before GnuTLS has judged it. The
 * input is a ClientHello body (no record or handshake header). Checks the
 * contract too: the answer is 0, a version from SSL 3.0 to TLS 1.3, or
 * the hello's own legacy_version; every answer has a name. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/tls_hello.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Its exact size, so that ASan sees any read past the end. */
	unsigned char *body = malloc(size > 0 ? size : 1);

	if (body == NULL)
		return 0;
	memcpy(body, data, size);
	uint16_t v = tls_hello_max_version(body, size);
	uint16_t legacy = size >= 2 ? (uint16_t)(body[0] << 8 | body[1]) : 0;
	if (v != 0 && v != legacy && (v < 0x0300 || v > 0x0304))
		abort();
	if (tls_hello_version_name(v) == NULL)
		abort();
	free(body);
	return 0;
}
