/* The TLS policy of one destination, decided before connecting to it, and
 * the check of the peer against it once the handshake is done.
 *
 * Today the relayhost settings and the opportunistic default for MX hosts
 * decide it; MTA-STS (RFC 8461) and DANE (RFC 7672) will supply it for MX
 * hosts the same way: a level, the name the certificate must carry, the
 * trust anchors, the pinned keys. */
#ifndef POSTINO_SMTP_TLS_H
#define POSTINO_SMTP_TLS_H

#include <gnutls/gnutls.h>
#include <limits.h>
#include <stddef.h>

#include "util/tls_pin.h"

enum smtp_tls_level {
	/* STARTTLS when offered (RFC 7435); whether the peer was verified
	 * is only logged, and no credentials are ever sent. */
	SMTP_TLS_MAY = 0,
	/* TLS with a verified peer, or a temporary failure before anything
	 * but EHLO and STARTTLS is sent. */
	SMTP_TLS_VERIFY = 1,
};

/* Trust anchors for certificate chains: the system store or one CA file.
 * Loaded once, shared by the sessions using them, reference-counted (loop
 * thread only). A store that did not load still exists, with error set:
 * against it nothing verifies, and the reason says why. */
struct smtp_tls_trust {
	unsigned refs;
	gnutls_certificate_credentials_t cred; /* also the sessions' creds */
	char ca_file[PATH_MAX];                /* "" for the system store */
	unsigned count;                        /* anchors loaded */
	char error[256];                       /* "" when count > 0 */
};

/* ca_file "" is the system store. -ENOMEM is the only failure. */
int smtp_tls_trust_load(const char *ca_file, struct smtp_tls_trust **trust_r);
struct smtp_tls_trust *smtp_tls_trust_ref(struct smtp_tls_trust *trust);
void smtp_tls_trust_unref(struct smtp_tls_trust **trust);

struct smtp_tls_policy {
	enum smtp_tls_level level;
	/* The reference identity (RFC 6125): a host name or an IP literal
	 * the certificate must carry. "" means each MX host's own name. */
	char name[256];
	struct smtp_tls_trust *trust; /* a reference the policy holds */
	/* Pinned public keys: when any are set, the peer's key must be one
	 * of them, and its chain and names are not looked at (Postfix's
	 * "fingerprint" level, DANE-EE). */
	struct tls_pin pins[TLS_PINS_MAX];
	size_t pin_count;
};

/* relayhost_tls as configured (NULL when unset): a relayhost with
 * credentials is verified unless the operator says otherwise, and the
 * configuration check refuses "opportunistic" with credentials. */
enum smtp_tls_level smtp_tls_relay_level(const char *configured,
					   int has_credentials);

/* The relayhost: checked against its configured name (never the address
 * it resolved to). Takes a reference to trust. */
void smtp_tls_policy_relay(struct smtp_tls_policy *policy,
			    enum smtp_tls_level level, const char *host,
			    struct smtp_tls_trust *trust,
			    const struct tls_pin *pins, size_t pin_count);
/* MX hosts: opportunistic; each checked against its own name and the
 * system store only to say so in the log. Takes a reference to trust. */
void smtp_tls_policy_mx(struct smtp_tls_policy *policy,
			 struct smtp_tls_trust *trust);
/* Drops the trust reference; the policy may be filled again. */
void smtp_tls_policy_clear(struct smtp_tls_policy *policy);

/* After the handshake: is the peer what policy asks for? host is the name
 * the address came from, used when the policy names none. Returns 1
 * (verified) or 0, and writes how or why not into text (GnuTLS's status
 * text for a chain or name that failed). */
int smtp_tls_verify(gnutls_session_t session,
		     const struct smtp_tls_policy *policy, const char *host,
		     char *text, size_t size);

#endif
