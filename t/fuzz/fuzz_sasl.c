/* libFuzzer target: core/auth/sasl_codec.h, the base64, SASL PLAIN and
 * LOGIN decoding the host's SASL service runs on every client's AUTH
 * response before any password check. Checks the contract too: a decoded PLAIN user and
 * password are non-empty, NUL-free and within SASL_FIELD_MAX; any
 * base64 that decodes re-encodes to the same text (strict, canonical). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/sasl_codec.h"

static void plain(const char *in, size_t len)
{
	struct sasl_creds *creds = malloc(sizeof(*creds));

	if (creds == NULL)
		return;
	if (sasl_plain_decode(in, len, creds) ==
	    SASL_PLAIN_OK) {
		size_t u = strnlen(creds->user, sizeof(creds->user));
		size_t p = strnlen(creds->password, sizeof(creds->password));

		if (u == 0 || p == 0 || u > SASL_FIELD_MAX ||
		    p > SASL_FIELD_MAX)
			abort();
	}
	free(creds);
}

/* A decoded LOGIN field is non-empty, NUL-free and within the limit. */
static void login(const char *in, size_t len)
{
	char field[SASL_FIELD_MAX + 1];

	if (sasl_login_field_decode(in, len, field, sizeof(field)) == 0) {
		size_t n = strnlen(field, sizeof(field));
		if (n == 0 || n > SASL_FIELD_MAX)
			abort();
	}
}

static void roundtrip(const char *in, size_t len, size_t outsize)
{
	unsigned char *out = malloc(outsize > 0 ? outsize : 1);
	size_t n = 0;

	if (out == NULL)
		return;
	if (base64_decode(in, len, out, outsize, &n) == 0) {
		char *again = malloc(4 * ((n + 2) / 3) + 1);

		if (n > outsize)
			abort();
		if (again == NULL)
			goto out;
		base64_encode(out, n, again);
		if (strlen(again) != len || memcmp(again, in, len) != 0)
			abort();
		free(again);
	}
out:
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size > 0 ? size : 1);

	if (in == NULL)
		return 0;
	memcpy(in, data, size);
	plain(in, size);
	login(in, size);
	/* Exact room, one byte short of it, and plenty. */
	roundtrip(in, size, size / 4 * 3);
	if (size >= 4)
		roundtrip(in, size, size / 4 * 3 - 1);
	roundtrip(in, size, size + 1);
	free(in);
	return 0;
}
