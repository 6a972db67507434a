/* SASL for SMTP AUTH (RFC 4954): LOGIN's one-field responses. Base64 and
 * PLAIN come from <postino/sasl.h>, shared by every protocol module. */
#ifndef SMTP_AUTH_H
#define SMTP_AUTH_H

#include <stddef.h>

#include <postino/sasl.h>

/* Decodes one base64 LOGIN response (user name or password) into field
 * (POSTINO_SASL_FIELD_MAX + 1 bytes): 0, or -EINVAL when it is not base64,
 * is empty, too long, or holds a NUL byte. */
int smtp_auth_login_decode(const char *b64, size_t len, char *field);

#endif
