/* Public-key pins: the SHA-256 of a certificate's SubjectPublicKeyInfo
 * (DER), which is what `certtool -i` prints as "Public Key ID: sha256:..."
 * and what a DANE TLSA 3 1 1 record carries. A pin of the key, not of the
 * certificate, survives a renewal that keeps the key.
 *
 * Written as 64 hex digits (either case), optionally with a colon between
 * byte pairs and a "sha256:" prefix; a list separates pins with commas or
 * spaces, so a new key can be pinned before the old one goes. */
#ifndef POSTINO_TLS_PIN_H
#define POSTINO_TLS_PIN_H

#include <stddef.h>

#define TLS_PIN_SIZE 32 /* SHA-256 */
#define TLS_PINS_MAX 4
#define TLS_PINS_MAX_TEXT "4"
/* "sha256:" + 64 hex digits + NUL */
#define TLS_PIN_TEXT_SIZE (7 + 2 * TLS_PIN_SIZE + 1)

struct tls_pin {
	unsigned char sha256[TLS_PIN_SIZE];
};

/* Parses a list of 1 to TLS_PINS_MAX pins. Returns 0 and the count in
 * *count_r, or -EINVAL with *problem_r saying what is wrong (a static
 * string to follow "'TEXT' " in a message). */
int tls_pins_parse(const char *text, struct tls_pin pins[TLS_PINS_MAX],
		   size_t *count_r, const char **problem_r);
/* "sha256:<64 lower-case hex digits>" into buf (TLS_PIN_TEXT_SIZE). */
void tls_pin_format(const struct tls_pin *pin, char *buf, size_t size);

#endif
