/* What a client's ClientHello offers, read before GnuTLS judges it, so a
 * refused old client can be named in the log ("offers at most TLS1.0")
 * and an operator can tell a customer why an old mail program fails. */
#ifndef POSTINO_TLS_HELLO_H
#define POSTINO_TLS_HELLO_H

#include <stddef.h>
#include <stdint.h>

/* The highest protocol version offered by a ClientHello body (the
 * handshake message without its 4-byte header): the supported_versions
 * extension when it names a known version (RFC 8446 4.2.1: it then
 * replaces legacy_version), legacy_version otherwise. 0x0301 is TLS 1.0,
 * 0x0304 TLS 1.3; GREASE and unknown values are skipped. 0 when the body
 * is too short or malformed to say. */
uint16_t tls_hello_max_version(const unsigned char *body, size_t len);

/* "SSL3.0", "TLS1.0" .. "TLS1.3" (GnuTLS's names), or "unknown". */
const char *tls_hello_version_name(uint16_t version);

#endif
