/* SASL for POP3 AUTH (RFC 5034): base64 (RFC 4648) and the PLAIN
 * message (RFC 4616). Pure functions; the session drives the exchange. */
#ifndef POP3_AUTH_H
#define POP3_AUTH_H

#include <stddef.h>

/* Longest decoded credential field kept (user name or password). */
#define POP3_AUTH_FIELD_MAX 1024

/* Decodes strict base64 (padding required, no blanks, zero pad bits).
 * Returns 0 and *out_len_r, -EINVAL on bad input, -ENOSPC when out (of
 * outsize bytes) is too small. out is NUL-terminated when there is room. */
int pop3_base64_decode(const char *in, size_t len, unsigned char *out,
		       size_t outsize, size_t *out_len_r);

enum pop3_auth_plain_result {
	POP3_AUTH_PLAIN_OK = 0,
	POP3_AUTH_PLAIN_BASE64 = 1,  /* not base64 */
	POP3_AUTH_PLAIN_FORMAT = 2,  /* not authzid NUL authcid NUL passwd */
	POP3_AUTH_PLAIN_AUTHZID = 3, /* authzid is someone else */
	POP3_AUTH_PLAIN_EMPTY = 4,   /* "" or "=": no credentials */
};

struct pop3_auth_creds {
	char user[POP3_AUTH_FIELD_MAX + 1];
	char password[POP3_AUTH_FIELD_MAX + 1];
};

/* Decodes a base64 PLAIN response into creds (NUL-terminated). The
 * authzid must be empty or equal to the authcid; authcid and password
 * must not be empty. The caller wipes creds after use; so does this
 * function on every failure. */
enum pop3_auth_plain_result pop3_auth_plain_decode(
	const char *b64, size_t len, struct pop3_auth_creds *creds);

#endif
