/* Base64 and SASL PLAIN / LOGIN decoding; see smtp_auth.h. */
#include <errno.h>
#include <string.h>

#include "smtp_auth.h"

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

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

int smtp_base64_decode(const char *in, size_t len, unsigned char *out,
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
				/* Only "xx==" or "xxx=" in the last quantum. */
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
		/* Non-zero bits that padding drops: not canonical. */
		if ((pad == 2 && (v[1] & 0x0f) != 0) ||
		    (pad == 1 && (v[2] & 0x03) != 0))
			return -EINVAL;
		size_t n = 3 - (size_t)pad;
		if (outsize - o < n)
			return -ENOSPC;
		unsigned triple = ((unsigned)v[0] << 18) | ((unsigned)v[1] << 12) |
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

void smtp_base64_encode(const unsigned char *in, size_t len, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i += 3) {
		unsigned triple = (unsigned)in[i] << 16;
		if (i + 1 < len)
			triple |= (unsigned)in[i + 1] << 8;
		if (i + 2 < len)
			triple |= in[i + 2];
		out[o++] = b64_alphabet[(triple >> 18) & 0x3f];
		out[o++] = b64_alphabet[(triple >> 12) & 0x3f];
		out[o++] = i + 1 < len ? b64_alphabet[(triple >> 6) & 0x3f] : '=';
		out[o++] = i + 2 < len ? b64_alphabet[triple & 0x3f] : '=';
	}
	out[o] = '\0';
}

enum smtp_auth_plain_result smtp_auth_plain_decode(
	const char *b64, size_t len, struct smtp_auth_creds *creds)
{
	/* authzid NUL authcid NUL passwd: at most three fields of the
	 * maximum and two separators. */
	unsigned char buf[3 * SMTP_AUTH_FIELD_MAX + 3];
	enum smtp_auth_plain_result r = SMTP_AUTH_PLAIN_FORMAT;
	size_t n, zlen, clen, plen;
	const unsigned char *nul1, *nul2;

	memset(creds, 0, sizeof(*creds));
	if (len == 0 || (len == 1 && b64[0] == '='))
		return SMTP_AUTH_PLAIN_EMPTY;
	int ret = smtp_base64_decode(b64, len, buf, sizeof(buf), &n);
	if (ret == -EINVAL) {
		r = SMTP_AUTH_PLAIN_BASE64;
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
	    clen > SMTP_AUTH_FIELD_MAX || plen > SMTP_AUTH_FIELD_MAX)
		goto fail;
	if (zlen != 0 && (zlen != clen || memcmp(buf, nul1 + 1, clen) != 0)) {
		r = SMTP_AUTH_PLAIN_AUTHZID;
		goto fail;
	}
	memcpy(creds->user, nul1 + 1, clen);
	creds->user[clen] = '\0';
	memcpy(creds->password, nul2 + 1, plen);
	creds->password[plen] = '\0';
	explicit_bzero(buf, sizeof(buf));
	return SMTP_AUTH_PLAIN_OK;
fail:
	explicit_bzero(buf, sizeof(buf));
	explicit_bzero(creds, sizeof(*creds));
	return r;
}

int smtp_auth_login_decode(const char *b64, size_t len, char *field)
{
	size_t n;
	int ret = smtp_base64_decode(b64, len, (unsigned char *)field,
				     SMTP_AUTH_FIELD_MAX + 1, &n);

	if (ret < 0 || n == 0 || n > SMTP_AUTH_FIELD_MAX ||
	    memchr(field, '\0', n) != NULL) {
		explicit_bzero(field, SMTP_AUTH_FIELD_MAX + 1);
		return -EINVAL;
	}
	field[n] = '\0';
	return 0;
}
