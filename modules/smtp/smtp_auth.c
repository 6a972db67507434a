/* SASL LOGIN decoding; see smtp_auth.h. */
#include <errno.h>
#include <string.h>

#include "smtp_auth.h"

int smtp_auth_login_decode(const char *b64, size_t len, char *field)
{
	size_t n;
	int ret = postino_base64_decode(b64, len, (unsigned char *)field,
				     POSTINO_SASL_FIELD_MAX + 1, &n);

	if (ret < 0 || n == 0 || n > POSTINO_SASL_FIELD_MAX ||
	    memchr(field, '\0', n) != NULL) {
		postino_sasl_wipe(field, POSTINO_SASL_FIELD_MAX + 1);
		return -EINVAL;
	}
	field[n] = '\0';
	return 0;
}
