/* Mail addresses as accounts and aliases use them: local@domain, domain
 * folded to lower case, local part too (Postino's local parts are
 * case-insensitive, as with every hosted mail service). */
#ifndef POSTINO_ADDRESS_H
#define POSTINO_ADDRESS_H

#include <stddef.h>

#define ADDRESS_MAX 254
#define ADDRESS_LOCAL_MAX 64
#define DOMAIN_MAX 253

/* Checks a domain name (LDH labels of 1..63, total <= 253, no leading or
 * trailing '-' or '.') and writes it lower-cased. 0 or -EINVAL. */
int domain_normalize(const char *domain, char *out, size_t outlen);
/* Checks local@domain (dot-atom local part of <= 64 octets) and writes it
 * lower-cased. 0 or -EINVAL. */
int address_normalize(const char *address, char *out, size_t outlen);
/* Pointer to the domain part of a normalized address. */
const char *address_domain(const char *address);

#endif
