/* Sender Rewriting Scheme, as libsrs2, postsrsd and the Postfix/Exim
 * deployments built on them write it, so our addresses are understood
 * (and bounce back) across those hosts:
 *
 *   SRS0=HHHH=TT=orig-domain=orig-local@forwarder
 *   SRS1=HHHH=first-forwarder==HHHH=TT=orig-domain=orig-local@forwarder
 *
 * HHHH: the first 4 characters of the base64 (A-Za-z0-9+/) HMAC-SHA1,
 * keyed with the secret, of the lower-cased fields (SRS0: TT, domain,
 * local; SRS1: first-forwarder and what follows "SRS0" in its local
 * part), compared case-insensitively since MTAs may fold case. TT: the
 * day (Unix time / 86400) mod 1024 in base32 (A-Z2-7), accepted for
 * max_age days. Forwarding an SRS0 address makes an SRS1 one (the bounce
 * goes straight to the first forwarder); forwarding an SRS1 one re-signs
 * it. Pure functions: no state, no clock (the caller passes now). */
#ifndef POSTINO_SRS_H
#define POSTINO_SRS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest address either direction writes (out must hold it + NUL). */
#define SRS_ADDRESS_MAX 512
#define SRS_MAX_AGE_DEFAULT 21
#define SRS_HASH_LEN 4

struct srs {
	/* secrets[0] signs; every one verifies, so a new secret can be put
	 * first while addresses signed with the old one still come back. */
	const char *const *secrets;
	size_t n_secrets;
	unsigned max_age;           /* days; 0 = SRS_MAX_AGE_DEFAULT */
};

/* Whether address's local part starts SRS0 or SRS1 and a separator. */
bool srs_is_srs(const char *address);

/* Rewrites the envelope sender (local@domain) of mail this host forwards
 * as forwarder_domain. 0 with out = the SRS address; 1 with out = sender
 * unchanged when sender is already in forwarder_domain; -EINVAL (no
 * secret, null or malformed sender, bad domain); -ENOSPC (out too small
 * or the result longer than SRS_ADDRESS_MAX). */
int srs_forward(const struct srs *srs, const char *sender,
		const char *forwarder_domain, int64_t now, char *out,
		size_t outlen);

/* Maps an SRS address back: SRS0 to the original sender, SRS1 to the
 * first forwarder's SRS0 address. 0 and out; -ENOENT (not an SRS
 * address); -EINVAL (malformed); -EPERM (hash does not verify: forged);
 * -ETIMEDOUT (timestamp older than max_age, or in the future); -ENOSPC. */
int srs_reverse(const struct srs *srs, const char *address, int64_t now,
		char *out, size_t outlen);

#endif
