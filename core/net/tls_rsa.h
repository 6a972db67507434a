/* RSA private keys signed with OpenSSL's libcrypto instead of GnuTLS's
 * Nettle (tls_rsa.c says why). */
#ifndef POSTINO_TLS_RSA_H
#define POSTINO_TLS_RSA_H

#include <gnutls/abstract.h>

/* A GnuTLS private key for the PEM key in pem whose signatures libcrypto
 * makes: 0, -ENOTSUP when it is no RSA key (use GnuTLS's own), another
 * negative errno on failure. */
int tls_rsa_privkey(const gnutls_datum_t *pem, gnutls_privkey_t *key_r);

#endif
