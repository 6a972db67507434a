/* Modified UTF-7; see imap_mutf7.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "imap_mutf7.h"

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static bool printable(unsigned char c)
{
	return c >= 0x20 && c <= 0x7e;
}

/* One strict UTF-8 sequence at in[*i]: the code point, or -1. */
static int32_t utf8_next(const unsigned char *in, size_t len, size_t *i)
{
	unsigned char c = in[*i];
	uint32_t cp, min;
	int more;

	if (c < 0x80) {
		(*i)++;
		return c;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		more = 1; cp = c & 0x1f; min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		more = 2; cp = c & 0x0f; min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		more = 3; cp = c & 0x07; min = 0x10000;
	} else {
		return -1;
	}
	if (len - *i <= (size_t)more)
		return -1;
	for (int k = 1; k <= more; k++) {
		unsigned char cc = in[*i + (size_t)k];

		if ((cc & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (cc & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*i += (size_t)more + 1;
	return (int32_t)cp;
}

int imap_utf8_to_mutf7(const char *in, size_t len, struct imap_buf *out)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, start_len = out->len;
	int ret = 0;

	while (i < len && ret == 0) {
		uint32_t acc = 0;
		unsigned nbits = 0;

		if (printable(s[i])) {
			ret = s[i] == '&' ? imap_buf_append(out, "&-", 2) :
				imap_buf_append_char(out, (char)s[i]);
			i++;
			continue;
		}
		/* A maximal run of other characters becomes one base64
		 * segment of UTF-16BE units. */
		ret = imap_buf_append_char(out, '&');
		while (ret == 0 && i < len && !printable(s[i])) {
			int32_t cp = utf8_next(s, len, &i);
			uint16_t units[2];
			int n = 1;

			if (cp < 0) {
				ret = -EINVAL;
				break;
			}
			units[0] = (uint16_t)cp;
			if (cp >= 0x10000) {
				cp -= 0x10000;
				units[0] = (uint16_t)(0xd800 + (cp >> 10));
				units[1] = (uint16_t)(0xdc00 + (cp & 0x3ff));
				n = 2;
			}
			for (int k = 0; k < n && ret == 0; k++) {
				acc = (acc << 16 | units[k]) & 0x3fffff;
				nbits += 16;
				while (nbits >= 6 && ret == 0) {
					nbits -= 6;
					ret = imap_buf_append_char(
						out, b64[(acc >> nbits) & 63]);
				}
			}
		}
		if (ret == 0 && nbits > 0)
			ret = imap_buf_append_char(
				out, b64[(acc << (6 - nbits)) & 63]);
		if (ret == 0)
			ret = imap_buf_append_char(out, '-');
	}
	if (ret < 0)
		imap_buf_truncate(out, start_len);
	return ret;
}

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
	if (c == ',')
		return 63;
	return -1;
}

static int append_utf8(struct imap_buf *out, uint32_t cp)
{
	char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | cp >> 18);
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return imap_buf_append(out, b, n);
}

/* One UTF-16 unit of a base64 segment; *high holds a pending high
 * surrogate (0 when none). */
static int decode_unit(struct imap_buf *out, uint32_t unit, uint32_t *high)
{
	if (unit >= 0xd800 && unit <= 0xdbff) {
		if (*high != 0)
			return -EINVAL;
		*high = unit;
		return 0;
	}
	if (unit >= 0xdc00 && unit <= 0xdfff) {
		uint32_t cp;

		if (*high == 0)
			return -EINVAL;
		cp = 0x10000 + ((*high - 0xd800) << 10) + (unit - 0xdc00);
		*high = 0;
		return append_utf8(out, cp);
	}
	/* Printable ASCII must represent itself. */
	if (*high != 0 || (unit >= 0x20 && unit <= 0x7e))
		return -EINVAL;
	return append_utf8(out, unit);
}

static int decode_segment(const unsigned char *s, size_t len, size_t *i,
			  struct imap_buf *out)
{
	uint32_t acc = 0, high = 0;
	unsigned nbits = 0;

	for (;;) {
		int v;

		if (*i == len)
			return -EINVAL; /* unterminated */
		if (s[*i] == '-')
			break;
		v = b64_value(s[(*i)++]);
		if (v < 0)
			return -EINVAL;
		acc = (acc << 6 | (uint32_t)v) & 0x3fffff;
		nbits += 6;
		if (nbits >= 16) {
			int ret;

			nbits -= 16;
			ret = decode_unit(out, (acc >> nbits) & 0xffff, &high);
			if (ret < 0)
				return ret;
		}
	}
	(*i)++;
	/* Canonical padding: fewer than 6 leftover bits, all zero. */
	if (nbits >= 6 || (acc & ((1u << nbits) - 1)) != 0 || high != 0)
		return -EINVAL;
	/* Two segments in a row should have been one. */
	if (*i + 1 < len && s[*i] == '&' && s[*i + 1] != '-')
		return -EINVAL;
	return 0;
}

int imap_mutf7_to_utf8(const char *in, size_t len, struct imap_buf *out)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, start_len = out->len;
	int ret = 0;

	while (i < len && ret == 0) {
		if (!printable(s[i])) {
			ret = -EINVAL;
		} else if (s[i] != '&') {
			ret = imap_buf_append_char(out, (char)s[i++]);
		} else if (i + 1 < len && s[i + 1] == '-') {
			ret = imap_buf_append_char(out, '&');
			i += 2;
		} else {
			i++;
			ret = decode_segment(s, len, &i, out);
		}
	}
	if (ret < 0)
		imap_buf_truncate(out, start_len);
	return ret;
}
