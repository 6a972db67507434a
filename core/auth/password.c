/* yescrypt hashing and verification through libxcrypt's reentrant calls
 * (crypt_gensalt_rn, crypt_rn): no static buffers, safe on any thread. */
#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "auth/password.h"

/* A real yescrypt hash, at the cost password_hash uses, of a random
 * password nobody kept: checking an unknown account against it costs what
 * checking a real one does, and nothing can match it by design of
 * auth_verify_async (it answers AUTH_FAILED either way). */
static const char dummy_hash[] =
	"$y$j9T$y8.xbUVeME0iNe4fvb55w.$cp5wPEAMKAF1ZikyOEsb/KrQ5lDxboJ4MR4LIbxfzi.";

const char *password_dummy_hash(void)
{
	return dummy_hash;
}

/* struct crypt_data is 32 KiB: too big for a threadpool thread's stack
 * budget, so it lives on the heap and is wiped (it holds key material). */
static struct crypt_data *crypt_data_new(void)
{
	return calloc(1, sizeof(struct crypt_data));
}

static void crypt_data_free(struct crypt_data **data)
{
	if (*data == NULL)
		return;
	explicit_bzero(*data, sizeof **data);
	free(*data);
	*data = NULL;
}

int password_hash(const char *plain, char *hash_r, size_t size)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *data;
	const char *out;
	int ret = -EIO;

	if (plain == NULL || hash_r == NULL || size == 0)
		return -EINVAL;
	hash_r[0] = '\0';
	/* NULL random bytes: libxcrypt draws the salt from the OS. Count 0:
	 * the library's current default cost. */
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, setting, sizeof setting) ==
	    NULL)
		return -EIO;
	data = crypt_data_new();
	if (data == NULL)
		return -ENOMEM;
	out = crypt_rn(plain, setting, data, sizeof *data);
	if (out != NULL && strncmp(out, "$y$", 3) == 0 &&
	    strlen(out) < size) {
		strcpy(hash_r, out);
		ret = 0;
	}
	crypt_data_free(&data);
	return ret;
}

/* Compares all of two equal-length strings whatever they contain; the
 * length of a hash is no secret. */
static int equal_const_time(const char *a, const char *b)
{
	size_t len = strlen(a);
	unsigned char diff = 0;

	if (len != strlen(b))
		return 0;
	for (size_t i = 0; i < len; i++)
		diff |= (unsigned char)a[i] ^ (unsigned char)b[i];
	return diff == 0;
}

int password_verify_ran(const char *plain, const char *hash, int *ran_r)
{
	struct crypt_data *data;
	const char *out;
	int ok = 0;

	*ran_r = 0;
	/* Only yescrypt: a legacy DES or MD5 hash must not log anyone in. */
	if (plain == NULL || hash == NULL || strncmp(hash, "$y$", 3) != 0)
		return 0;
	data = crypt_data_new();
	if (data == NULL)
		return 0;
	out = crypt_rn(plain, hash, data, sizeof *data);
	if (out != NULL && out[0] == '$') {
		*ran_r = 1;
		ok = equal_const_time(out, hash);
	}
	crypt_data_free(&data);
	return ok;
}

int password_verify(const char *plain, const char *hash)
{
	int ran;

	return password_verify_ran(plain, hash, &ran);
}
