/* Base64 and SASL PLAIN decoding for AUTH; see pop3_auth.h. */
#include <errno.h>
#include <string.h>

#include "pop3_auth.h"

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int pop3_base64_decode(const char *in, size_t len, unsigned char *out,
		       size_t outsize, size_t *out_len_r)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0;

	if (len % 4 != 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i += 4) {
		int v[4], pad = 0;

		for (int k = 0; k < 4; k++) {
			if (s[i + k] == '=') {
				/* "xx==" or "xxx=", last quantum only. */
				if (i + 4 != len || k < 2)
					return -EINVAL;
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad > 0)
				return -EINVAL;
			v[k] = b64_value(s[i + k]);
			if (v[k] < 0)
				return -EINVAL;
		}
		if ((pad == 2 && (v[1] & 0x0f) != 0) ||
		    (pad == 1 && (v[2] & 0x03) != 0))
			return -EINVAL;
		size_t n = 3 - (size_t)pad;
		if (outsize - o < n)
			return -ENOSPC;
		unsigned triple = ((unsigned)v[0] << 18) |
				  ((unsigned)v[1] << 12) |
				  ((unsigned)v[2] << 6) | (unsigned)v[3];
		out[o++] = (unsigned char)(triple >> 16);
		if (n > 1)
			out[o++] = (unsigned char)(triple >> 8);
		if (n > 2)
			out[o++] = (unsigned char)triple;
	}
	if (o < outsize)
		out[o] = '\0';
	*out_len_r = o;
	return 0;
}

enum pop3_auth_plain_result pop3_auth_plain_decode(
	const char *b64, size_t len, struct pop3_auth_creds *creds)
{
	unsigned char buf[3 * POP3_AUTH_FIELD_MAX + 3];
	enum pop3_auth_plain_result r = POP3_AUTH_PLAIN_FORMAT;
	size_t n, zlen, clen, plen;
	const unsigned char *nul1, *nul2;

	memset(creds, 0, sizeof(*creds));
	if (len == 0 || (len == 1 && b64[0] == '='))
		return POP3_AUTH_PLAIN_EMPTY;
	int ret = pop3_base64_decode(b64, len, buf, sizeof(buf), &n);
	if (ret == -EINVAL) {
		r = POP3_AUTH_PLAIN_BASE64;
		goto fail;
	}
	if (ret < 0)
		goto fail;
	nul1 = memchr(buf, '\0', n);
	if (nul1 == NULL)
		goto fail;
	zlen = (size_t)(nul1 - buf);
	nul2 = memchr(nul1 + 1, '\0', n - zlen - 1);
	if (nul2 == NULL)
		goto fail;
	clen = (size_t)(nul2 - nul1 - 1);
	plen = n - zlen - clen - 2;
	if (memchr(nul2 + 1, '\0', plen) != NULL || clen == 0 || plen == 0 ||
	    clen > POP3_AUTH_FIELD_MAX || plen > POP3_AUTH_FIELD_MAX)
		goto fail;
	if (zlen != 0 && (zlen != clen || memcmp(buf, nul1 + 1, clen) != 0)) {
		r = POP3_AUTH_PLAIN_AUTHZID;
		goto fail;
	}
	memcpy(creds->user, nul1 + 1, clen);
	creds->user[clen] = '\0';
	memcpy(creds->password, nul2 + 1, plen);
	creds->password[plen] = '\0';
	explicit_bzero(buf, sizeof(buf));
	return POP3_AUTH_PLAIN_OK;
fail:
	explicit_bzero(buf, sizeof(buf));
	explicit_bzero(creds, sizeof(*creds));
	return r;
}
