/* TLS policy of a destination and the check of the peer against it. The
 * check runs after the handshake rather than inside it (no
 * gnutls_session_set_verify_cert): an opportunistic session goes on
 * whatever the result, and the log line of a refused one carries
 * GnuTLS's own text for what failed. */
#include "smtp_client/smtp_tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

int smtp_tls_trust_load(const char *ca_file, struct smtp_tls_trust **trust_r)
{
	struct smtp_tls_trust *t = calloc(1, sizeof *t);
	int ret;

	if (t == NULL)
		return -ENOMEM;
	if (gnutls_certificate_allocate_credentials(&t->cred) < 0) {
		free(t);
		return -ENOMEM;
	}
	t->refs = 1;
	snprintf(t->ca_file, sizeof t->ca_file, "%s", ca_file);
	if (ca_file[0] != '\0')
		ret = gnutls_certificate_set_x509_trust_file(
			t->cred, ca_file, GNUTLS_X509_FMT_PEM);
	else
		ret = gnutls_certificate_set_x509_system_trust(t->cred);
	if (ret > 0)
		t->count = (unsigned)ret;
	else
		snprintf(t->error, sizeof t->error, "%s",
			 ret == 0 ? "no certificate in it" :
				    gnutls_strerror(ret));
	*trust_r = t;
	return 0;
}

struct smtp_tls_trust *smtp_tls_trust_ref(struct smtp_tls_trust *trust)
{
	trust->refs++;
	return trust;
}

void smtp_tls_trust_unref(struct smtp_tls_trust **trust)
{
	struct smtp_tls_trust *t = *trust;

	*trust = NULL;
	if (t == NULL || --t->refs > 0)
		return;
	gnutls_certificate_free_credentials(t->cred);
	free(t);
}

enum smtp_tls_level smtp_tls_relay_level(const char *configured,
					   int has_credentials)
{
	if (configured == NULL)
		return has_credentials ? SMTP_TLS_VERIFY : SMTP_TLS_MAY;
	return strcmp(configured, "required") == 0 ? SMTP_TLS_VERIFY :
						      SMTP_TLS_MAY;
}

void smtp_tls_policy_relay(struct smtp_tls_policy *policy,
			    enum smtp_tls_level level, const char *host,
			    struct smtp_tls_trust *trust,
			    const struct tls_pin *pins, size_t pin_count)
{
	smtp_tls_policy_clear(policy);
	policy->level = level;
	snprintf(policy->name, sizeof policy->name, "%s", host);
	policy->trust = smtp_tls_trust_ref(trust);
	if (pin_count > TLS_PINS_MAX)
		pin_count = TLS_PINS_MAX;
	memcpy(policy->pins, pins, pin_count * sizeof *pins);
	policy->pin_count = pin_count;
}

void smtp_tls_policy_mx(struct smtp_tls_policy *policy,
			 struct smtp_tls_trust *trust)
{
	smtp_tls_policy_clear(policy);
	policy->level = SMTP_TLS_MAY;
	policy->trust = smtp_tls_trust_ref(trust);
}

void smtp_tls_policy_clear(struct smtp_tls_policy *policy)
{
	smtp_tls_trust_unref(&policy->trust);
	memset(policy, 0, sizeof *policy);
}

/* The SHA-256 of the leaf's SubjectPublicKeyInfo (util/tls_pin.h). */
static int peer_pin(gnutls_session_t session, struct tls_pin *pin,
		    char *text, size_t size)
{
	unsigned count = 0;
	const gnutls_datum_t *certs = gnutls_certificate_get_peers(session,
								   &count);
	gnutls_pubkey_t key = NULL;
	gnutls_datum_t spki = { NULL, 0 };
	int ret;

	if (certs == NULL || count == 0) {
		snprintf(text, size, "the server sent no certificate");
		return -1;
	}
	ret = gnutls_pubkey_init(&key);
	if (ret == 0)
		ret = gnutls_pubkey_import_x509_raw(key, &certs[0],
						    GNUTLS_X509_FMT_DER, 0);
	if (ret == 0)
		ret = gnutls_pubkey_export2(key, GNUTLS_X509_FMT_DER, &spki);
	if (ret == 0)
		ret = gnutls_hash_fast(GNUTLS_DIG_SHA256, spki.data, spki.size,
				       pin->sha256);
	gnutls_free(spki.data);
	gnutls_pubkey_deinit(key);
	if (ret < 0) {
		snprintf(text, size, "the server's public key: %s",
			 gnutls_strerror(ret));
		return -1;
	}
	return 0;
}

static int verify_pin(gnutls_session_t session,
		      const struct smtp_tls_policy *policy, char *text,
		      size_t size)
{
	struct tls_pin pin;
	char hex[TLS_PIN_TEXT_SIZE];

	if (peer_pin(session, &pin, text, size) < 0)
		return 0;
	tls_pin_format(&pin, hex, sizeof hex);
	for (size_t i = 0; i < policy->pin_count; i++) {
		if (memcmp(pin.sha256, policy->pins[i].sha256,
			   TLS_PIN_SIZE) == 0) {
			snprintf(text, size, "public key %s is pinned", hex);
			return 1;
		}
	}
	snprintf(text, size, "public key %s is not pinned", hex);
	return 0;
}

static int verify_chain(gnutls_session_t session, const char *name,
			const struct smtp_tls_trust *trust, char *text,
			size_t size)
{
	gnutls_typed_vdata_st data[] = {
		{ .type = GNUTLS_DT_DNS_HOSTNAME,
		  .data = (unsigned char *)name },
		{ .type = GNUTLS_DT_KEY_PURPOSE_OID,
		  .data = (unsigned char *)GNUTLS_KP_TLS_WWW_SERVER },
	};
	gnutls_datum_t out = { NULL, 0 };
	unsigned status = 0;
	int ret;

	if (trust == NULL || trust->count == 0) {
		snprintf(text, size, "no trust anchors from %s: %s",
			 trust && trust->ca_file[0] ? trust->ca_file :
						      "the system store",
			 trust ? trust->error : "none loaded");
		return 0;
	}
	/* An IP literal is matched against the IPAddress names (RFC 6125
	 * leaves them out, but a relayhost configured by address has no
	 * other name to check). */
	ret = gnutls_certificate_verify_peers(session, data, 2, &status);
	if (ret < 0) {
		snprintf(text, size, "%s", ret == GNUTLS_E_NO_CERTIFICATE_FOUND ?
			 "the server sent no certificate" : gnutls_strerror(ret));
		return 0;
	}
	if (status == 0) {
		snprintf(text, size, "certificate for %s issued by a trusted "
			 "authority", name);
		return 1;
	}
	ret = gnutls_certificate_verification_status_print(
		status, gnutls_certificate_type_get(session), &out, 0);
	if (ret < 0) {
		snprintf(text, size, "verification status 0x%x", status);
		return 0;
	}
	/* GnuTLS ends the text with a space. */
	size_t len = out.size;
	while (len > 0 && out.data[len - 1] == ' ')
		len--;
	snprintf(text, size, "%.*s", (int)len, (const char *)out.data);
	gnutls_free(out.data);
	return 0;
}

int smtp_tls_verify(gnutls_session_t session,
		     const struct smtp_tls_policy *policy, const char *host,
		     char *text, size_t size)
{
	if (policy->pin_count > 0)
		return verify_pin(session, policy, text, size);
	return verify_chain(session, policy->name[0] ? policy->name : host,
			    policy->trust, text, size);
}
