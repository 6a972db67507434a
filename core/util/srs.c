#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <gnutls/crypto.h>

#include "util/srs.h"

#define SRS_DAY 86400
#define SRS_SLOTS 1024              /* two base32 characters */
#define SRS_FIELD_MAX 256

static const char srs_b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
static const char srs_b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static bool srs_separator(char c)
{
	return c == '=' || c == '-' || c == '+';
}

static bool srs_tag(const char *local, const char *tag)
{
	return strncasecmp(local, tag, 4) == 0 && srs_separator(local[4]);
}

bool srs_is_srs(const char *address)
{
	return address != NULL && (srs_tag(address, "SRS0") ||
				   srs_tag(address, "SRS1"));
}

/* Printable ASCII without space: what an SRS field may hold. */
static bool srs_field_ok(const char *s, size_t len)
{
	if (len == 0 || len > SRS_FIELD_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

struct srs_field {
	const char *s;
	size_t len;
};

/* HMAC-SHA1 of the lower-cased fields, its first SRS_HASH_LEN base64
 * characters into hash (NUL-terminated). */
static int srs_hash(const char *secret, const struct srs_field *f, size_t n,
		    char hash[SRS_HASH_LEN + 1])
{
	char data[3 * SRS_FIELD_MAX + 16];
	unsigned char mac[20];
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		if (len + f[i].len > sizeof(data))
			return -EINVAL;
		for (size_t k = 0; k < f[i].len; k++) {
			char c = f[i].s[k];
			data[len++] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
		}
	}
	if (gnutls_hmac_fast(GNUTLS_MAC_SHA1, secret, strlen(secret), data,
			     len, mac) < 0)
		return -EINVAL;
	/* 4 characters = the first 24 bits, as libsrs2 encodes them */
	hash[0] = srs_b64[mac[0] >> 2];
	hash[1] = srs_b64[((mac[0] & 0x03) << 4) | (mac[1] >> 4)];
	hash[2] = srs_b64[((mac[1] & 0x0f) << 2) | (mac[2] >> 6)];
	hash[3] = srs_b64[mac[2] & 0x3f];
	hash[SRS_HASH_LEN] = '\0';
	return 0;
}

static bool srs_secrets_ok(const struct srs *srs)
{
	if (srs == NULL || srs->n_secrets == 0 || srs->secrets == NULL)
		return false;
	for (size_t i = 0; i < srs->n_secrets; i++)
		if (srs->secrets[i] == NULL || srs->secrets[i][0] == '\0')
			return false;
	return true;
}

/* Whether the given hash is one of the secrets' (case-insensitively: an
 * MTA may have folded the address's case). */
static int srs_hash_check(const struct srs *srs, const char *given,
			  size_t given_len, const struct srs_field *f,
			  size_t n)
{
	char hash[SRS_HASH_LEN + 1];

	/* libsrs2 accepts a longer hash by its first characters; shorter
	 * ones are forged or damaged. */
	if (given_len < SRS_HASH_LEN)
		return -EPERM;
	for (size_t i = 0; i < srs->n_secrets; i++) {
		if (srs_hash(srs->secrets[i], f, n, hash) < 0)
			return -EINVAL;
		if (strncasecmp(hash, given, SRS_HASH_LEN) == 0)
			return 0;
	}
	return -EPERM;
}

static void srs_timestamp(int64_t now, char ts[3])
{
	int64_t day = (now >= 0 ? now : 0) / SRS_DAY;

	ts[0] = srs_b32[(day >> 5) & 31];
	ts[1] = srs_b32[day & 31];
	ts[2] = '\0';
}

/* The stamp's day, read case-insensitively, within max_age days before
 * now (mod 1024, as libsrs2: a stamp from the future looks ~1024 days
 * old). */
static int srs_timestamp_check(const struct srs *srs, const char *ts,
			       size_t len, int64_t now)
{
	int64_t then = 0;
	unsigned max_age = srs->max_age ? srs->max_age : SRS_MAX_AGE_DEFAULT;

	if (len != 2)
		return -EINVAL;
	for (size_t i = 0; i < 2; i++) {
		char c = ts[i] >= 'a' && ts[i] <= 'z' ? (char)(ts[i] - 32) :
			ts[i];
		const char *p = c ? strchr(srs_b32, c) : NULL;
		if (p == NULL)
			return -EINVAL;
		then = (then << 5) | (p - srs_b32);
	}
	int64_t today = ((now >= 0 ? now : 0) / SRS_DAY) % SRS_SLOTS;
	if (today < then)
		today += SRS_SLOTS;
	return today - then <= (int64_t)max_age ? 0 : -ETIMEDOUT;
}

static int srs_write(char *out, size_t outlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int srs_write(char *out, size_t outlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(out, outlen, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= outlen || n > SRS_ADDRESS_MAX) {
		if (outlen > 0)
			out[0] = '\0';
		return -ENOSPC;
	}
	return 0;
}

/* Splits "a=b=c" at the first separators into n fields, the last taking
 * the rest (an original local part may hold '='). */
static bool srs_split(const char *s, size_t len, struct srs_field *f,
		      size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *eq = i + 1 < n ? memchr(s, '=', len) : NULL;
		size_t flen = i + 1 < n ? (eq ? (size_t)(eq - s) : len + 1) :
			len;
		if (flen > len || flen == 0)
			return false;
		f[i].s = s;
		f[i].len = flen;
		if (i + 1 < n) {
			s += flen + 1;
			len -= flen + 1;
		}
	}
	return true;
}

int srs_forward(const struct srs *srs, const char *sender,
		const char *forwarder_domain, int64_t now, char *out,
		size_t outlen)
{
	char hash[SRS_HASH_LEN + 1], ts[3];

	if (outlen > 0)
		out[0] = '\0';
	if (!srs_secrets_ok(srs) || sender == NULL || forwarder_domain == NULL)
		return -EINVAL;
	const char *at = strrchr(sender, '@');
	size_t dlen = strlen(forwarder_domain);
	if (at == NULL || at == sender || !srs_field_ok(at + 1, strlen(at + 1)) ||
	    !srs_field_ok(sender, (size_t)(at - sender)) ||
	    !srs_field_ok(forwarder_domain, dlen) ||
	    strchr(forwarder_domain, '@') != NULL)
		return -EINVAL;
	struct srs_field local = { sender, (size_t)(at - sender) };
	struct srs_field host = { at + 1, strlen(at + 1) };
	if (strcasecmp(host.s, forwarder_domain) == 0)
		return srs_write(out, outlen, "%s", sender) < 0 ? -ENOSPC : 1;

	if (srs_tag(local.s, "SRS1")) {
		/* Re-sign: SRS1=old=host=rest@us -> SRS1=new=host=rest@us */
		struct srs_field f[3];
		if (!srs_split(local.s + 5, local.len - 5, f, 3))
			return -EINVAL;
		if (srs_hash(srs->secrets[0], &f[1], 2, hash) < 0)
			return -EINVAL;
		return srs_write(out, outlen, "SRS1=%s=%.*s=%.*s@%s", hash,
				 (int)f[1].len, f[1].s, (int)f[2].len, f[2].s,
				 forwarder_domain);
	}
	if (srs_tag(local.s, "SRS0")) {
		/* SRS0=...@first -> SRS1=hash=first=<after SRS0>@us */
		struct srs_field f[2] = {
			host, { local.s + 4, local.len - 4 },
		};
		if (srs_hash(srs->secrets[0], f, 2, hash) < 0)
			return -EINVAL;
		return srs_write(out, outlen, "SRS1=%s=%.*s=%.*s@%s", hash,
				 (int)host.len, host.s, (int)f[1].len, f[1].s,
				 forwarder_domain);
	}
	srs_timestamp(now, ts);
	struct srs_field f[3] = { { ts, 2 }, host, local };
	if (srs_hash(srs->secrets[0], f, 3, hash) < 0)
		return -EINVAL;
	return srs_write(out, outlen, "SRS0=%s=%s=%.*s=%.*s@%s", hash, ts,
			 (int)host.len, host.s, (int)local.len, local.s,
			 forwarder_domain);
}

int srs_reverse(const struct srs *srs, const char *address, int64_t now,
		char *out, size_t outlen)
{
	if (outlen > 0)
		out[0] = '\0';
	if (address == NULL)
		return -EINVAL;
	if (!srs_is_srs(address))
		return -ENOENT;
	if (!srs_secrets_ok(srs))
		return -EINVAL;
	/* The local part: we only reverse what was addressed to us, so the
	 * domain does not matter. */
	const char *at = strrchr(address, '@');
	size_t len = at ? (size_t)(at - address) : strlen(address);
	if (len <= 5 || len > 3 * SRS_FIELD_MAX ||
	    !srs_field_ok(address, len))
		return -EINVAL;
	int ret;

	if (srs_tag(address, "SRS1")) {
		struct srs_field f[3];
		if (!srs_split(address + 5, len - 5, f, 3) ||
		    !srs_separator(f[2].s[0]) || f[2].len < 2)
			return -EINVAL;
		ret = srs_hash_check(srs, f[0].s, f[0].len, &f[1], 2);
		if (ret < 0)
			return ret;
		return srs_write(out, outlen, "SRS0%.*s@%.*s", (int)f[2].len,
				 f[2].s, (int)f[1].len, f[1].s);
	}
	struct srs_field f[4];              /* hash, stamp, host, local */
	if (!srs_split(address + 5, len - 5, f, 4) || f[1].len != 2)
		return -EINVAL;
	/* The hash first: a forged address is reported as forged. */
	ret = srs_hash_check(srs, f[0].s, f[0].len, &f[1], 3);
	if (ret == 0)
		ret = srs_timestamp_check(srs, f[1].s, f[1].len, now);
	if (ret < 0)
		return ret;
	return srs_write(out, outlen, "%.*s@%.*s", (int)f[3].len, f[3].s,
			 (int)f[2].len, f[2].s);
}
