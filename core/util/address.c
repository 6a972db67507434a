#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "util/address.h"

int domain_normalize(const char *domain, char *out, size_t outlen)
{
	size_t len = strlen(domain);
	size_t label = 0;

	if (len == 0 || len > DOMAIN_MAX || len >= outlen)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)domain[i];
		if (c == '.') {
			if (label == 0 || domain[i - 1] == '-')
				return -EINVAL;
			label = 0;
		} else if (isalnum(c) || c == '-') {
			if (c == '-' && label == 0)
				return -EINVAL;
			if (++label > 63)
				return -EINVAL;
		} else {
			return -EINVAL;
		}
		out[i] = (char)tolower(c);
	}
	if (label == 0 || domain[len - 1] == '-')
		return -EINVAL;
	out[len] = '\0';
	return 0;
}

/* RFC 5322 atext. */
static int address_atext(unsigned char c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+/=?^_`{|}~-", c));
}

int address_normalize(const char *address, char *out, size_t outlen)
{
	const char *at = strrchr(address, '@');

	if (at == NULL || strlen(address) > ADDRESS_MAX)
		return -EINVAL;
	size_t local_len = (size_t)(at - address);
	if (local_len == 0 || local_len > ADDRESS_LOCAL_MAX ||
	    local_len + 1 >= outlen)
		return -EINVAL;
	for (size_t i = 0; i < local_len; i++) {
		unsigned char c = (unsigned char)address[i];
		if (c == '.') {
			if (i == 0 || i == local_len - 1 || address[i - 1] == '.')
				return -EINVAL;
		} else if (!address_atext(c)) {
			return -EINVAL;
		}
		out[i] = (char)tolower(c);
	}
	out[local_len] = '@';
	return domain_normalize(at + 1, out + local_len + 1,
				outlen - local_len - 1);
}

const char *address_domain(const char *address)
{
	const char *at = strrchr(address, '@');

	return at != NULL ? at + 1 : address;
}
