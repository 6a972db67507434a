/* SASL for SMTP AUTH (RFC 4954): base64 (RFC 4648) and the PLAIN
 * message (RFC 4616). Pure functions; the session drives the exchange. */
#ifndef SMTP_AUTH_H
#define SMTP_AUTH_H

#include <stddef.h>

/* Longest decoded credential field kept (user name or password). */
#define SMTP_AUTH_FIELD_MAX 1024

/* Decodes strict base64 (padding required, no blanks, zero pad bits).
 * Returns 0 and *out_len_r, -EINVAL on bad input, -ENOSPC when out (of
 * outsize bytes) is too small. out is NUL-terminated when there is room
 * for it (outsize > *out_len_r). */
int smtp_base64_decode(const char *in, size_t len, unsigned char *out,
		       size_t outsize, size_t *out_len_r);

/* Encodes len bytes; out needs 4 * ((len + 2) / 3) + 1 bytes. */
void smtp_base64_encode(const unsigned char *in, size_t len, char *out);

enum smtp_auth_plain_result {
	SMTP_AUTH_PLAIN_OK = 0,
	SMTP_AUTH_PLAIN_BASE64 = 1,   /* not base64: 501 */
	SMTP_AUTH_PLAIN_FORMAT = 2,   /* not authzid NUL authcid NUL passwd */
	SMTP_AUTH_PLAIN_AUTHZID = 3,  /* authzid is someone else */
	SMTP_AUTH_PLAIN_EMPTY = 4,    /* an empty response: "" or "=" (RFC
				       * 4954 4); bad credentials, 535 */
};

struct smtp_auth_creds {
	char user[SMTP_AUTH_FIELD_MAX + 1];
	char password[SMTP_AUTH_FIELD_MAX + 1];
};

/* Decodes a base64 PLAIN response into creds (NUL-terminated). An empty
 * response ("" or the single "=" that stands for it) is EMPTY. The
 * authzid must be empty or equal to the authcid; authcid and password
 * must not be empty. The caller wipes creds (explicit_bzero) after use;
 * so does this function on every failure. */
enum smtp_auth_plain_result smtp_auth_plain_decode(
	const char *b64, size_t len, struct smtp_auth_creds *creds);

/* Decodes one base64 LOGIN response (user name or password) into field
 * (SMTP_AUTH_FIELD_MAX + 1 bytes): 0, or -EINVAL when it is not base64,
 * is empty, too long, or holds a NUL byte. */
int smtp_auth_login_decode(const char *b64, size_t len, char *field);

#endif
