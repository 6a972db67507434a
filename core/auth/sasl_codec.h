/* The SASL codecs of the host's SASL service (host/host_sasl.c): strict
 * base64 (RFC 4648) and the PLAIN message (RFC 4616). Header-only (static
 * inline) so the fuzz target and unit tests take it without the core. */
#ifndef SASL_CODEC_H
#define SASL_CODEC_H

#include <errno.h>
#include <stddef.h>
#include <string.h>

/* Longest decoded credential field kept (user name or password). */
#define SASL_FIELD_MAX 1024

/* Wipes secrets in a way the compiler may not optimise away. */
static inline void sasl_wipe(void *p, size_t len)
{
	volatile unsigned char *v = (volatile unsigned char *)p;

	while (len-- > 0)
		*v++ = 0;
}

static inline int base64_value(unsigned char c)
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

/* Decodes strict base64 (padding required, no blanks, zero pad bits).
 * Returns 0 and *out_len_r, -EINVAL on bad input, -ENOSPC when out (of
 * outsize bytes) is too small. out is NUL-terminated when there is room
 * for it (outsize > *out_len_r). */
static inline int base64_decode(const char *in, size_t len,
					unsigned char *out, size_t outsize,
					size_t *out_len_r)
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
			v[k] = base64_value(s[i + k]);
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

/* Encodes len bytes; out needs 4 * ((len + 2) / 3) + 1 bytes. */
static inline void base64_encode(const unsigned char *in, size_t len,
					 char *out)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;

	for (size_t i = 0; i < len; i += 3) {
		unsigned triple = (unsigned)in[i] << 16;
		if (i + 1 < len)
			triple |= (unsigned)in[i + 1] << 8;
		if (i + 2 < len)
			triple |= in[i + 2];
		out[o++] = alphabet[(triple >> 18) & 0x3f];
		out[o++] = alphabet[(triple >> 12) & 0x3f];
		out[o++] = i + 1 < len ? alphabet[(triple >> 6) & 0x3f] : '=';
		out[o++] = i + 2 < len ? alphabet[triple & 0x3f] : '=';
	}
	out[o] = '\0';
}

enum sasl_plain_result {
	SASL_PLAIN_OK = 0,
	SASL_PLAIN_BASE64 = 1,  /* not base64 */
	SASL_PLAIN_FORMAT = 2,  /* not authzid NUL authcid NUL passwd */
	SASL_PLAIN_AUTHZID = 3, /* authzid is someone else */
	SASL_PLAIN_EMPTY = 4,   /* an empty response: "" or "=" (RFC
					 * 4954 4): bad credentials */
};

struct sasl_creds {
	char user[SASL_FIELD_MAX + 1];
	char password[SASL_FIELD_MAX + 1];
};

/* Decodes a base64 PLAIN response into creds (NUL-terminated). An empty
 * response ("" or the single "=" that stands for it) is EMPTY. The
 * authzid must be empty or equal to the authcid (no proxy logins); authcid
 * and password must not be empty. The caller wipes creds after use; so
 * does this function on every failure. */
static inline enum sasl_plain_result sasl_plain_decode(
	const char *b64, size_t len, struct sasl_creds *creds)
{
	/* authzid NUL authcid NUL passwd: at most three fields of the
	 * maximum and two separators. */
	unsigned char buf[3 * SASL_FIELD_MAX + 3];
	enum sasl_plain_result r = SASL_PLAIN_FORMAT;
	size_t n, zlen, clen, plen;
	const unsigned char *nul1, *nul2;

	memset(creds, 0, sizeof(*creds));
	if (len == 0 || (len == 1 && b64[0] == '='))
		return SASL_PLAIN_EMPTY;
	int ret = base64_decode(b64, len, buf, sizeof(buf), &n);
	if (ret == -EINVAL) {
		r = SASL_PLAIN_BASE64;
		goto fail;
	}
	if (ret < 0)
		goto fail;
	nul1 = (const unsigned char *)memchr(buf, '\0', n);
	if (nul1 == NULL)
		goto fail;
	zlen = (size_t)(nul1 - buf);
	nul2 = (const unsigned char *)memchr(nul1 + 1, '\0', n - zlen - 1);
	if (nul2 == NULL)
		goto fail;
	clen = (size_t)(nul2 - nul1 - 1);
	plen = n - zlen - clen - 2;
	if (memchr(nul2 + 1, '\0', plen) != NULL || clen == 0 || plen == 0 ||
	    clen > SASL_FIELD_MAX || plen > SASL_FIELD_MAX)
		goto fail;
	if (zlen != 0 && (zlen != clen || memcmp(buf, nul1 + 1, clen) != 0)) {
		r = SASL_PLAIN_AUTHZID;
		goto fail;
	}
	memcpy(creds->user, nul1 + 1, clen);
	creds->user[clen] = '\0';
	memcpy(creds->password, nul2 + 1, plen);
	creds->password[plen] = '\0';
	sasl_wipe(buf, sizeof(buf));
	return SASL_PLAIN_OK;
fail:
	sasl_wipe(buf, sizeof(buf));
	sasl_wipe(creds, sizeof(*creds));
	return r;
}

/* Decodes one LOGIN response (user name or password) into field (size
 * bytes, at most SASL_FIELD_MAX + 1 used): strict base64 of 1 to
 * SASL_FIELD_MAX bytes without NUL. 0, or -EINVAL (field wiped). */
static inline int sasl_login_field_decode(const char *b64, size_t len,
					  char *field, size_t size)
{
	size_t n = 0;

	if (size > SASL_FIELD_MAX + 1)
		size = SASL_FIELD_MAX + 1;
	if (len == 0 || base64_decode(b64, len, (unsigned char *)field, size,
				      &n) < 0 ||
	    n == 0 || n >= size || memchr(field, '\0', n) != NULL) {
		sasl_wipe(field, size);
		return -EINVAL;
	}
	field[n] = '\0';
	return 0;
}

#endif
