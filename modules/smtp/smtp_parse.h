/* SMTP command syntax (RFC 5321 section 4.1, RFC 1870 SIZE, RFC 6152
 * 8BITMIME, RFC 6531 SMTPUTF8, RFC 4954 AUTH=). Pure functions: no I/O, no
 * host calls, so the unit tests compile this file alone. */
#ifndef SMTP_PARSE_H
#define SMTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* Longest address kept (normalized, without the angle brackets). RFC 5321
 * limits a path to 256 octets; SRS and VERP senders exceed the 64-octet
 * local part limit in practice, so the limit here is looser but fixed. */
#define SMTP_ADDRESS_MAX 512
#define SMTP_DOMAIN_MAX 255
#define SMTP_PARAM_NAME_MAX 32

enum smtp_parse_result {
	SMTP_PARSE_OK = 0,
	SMTP_PARSE_SYNTAX = 1,        /* not "FROM:<path>" / "TO:<path>": 501 */
	SMTP_PARSE_ADDRESS = 2,       /* bad address inside the brackets: 501 */
	SMTP_PARSE_PARAM_UNKNOWN = 3, /* unsupported parameter: 555 */
	SMTP_PARSE_PARAM_VALUE = 4,   /* bad or repeated parameter: 501 */
};

enum smtp_body {
	SMTP_BODY_NONE = 0,
	SMTP_BODY_7BIT = 1,
	SMTP_BODY_8BITMIME = 2,
};

struct smtp_path {
	/* Normalized: a quoted local part loses its quotes when it does not
	 * need them, the domain is lower case (ASCII). "" is the null path. */
	char address[SMTP_ADDRESS_MAX + 1];
	size_t len;
	size_t domain_off; /* index of the domain (after '@'); len if none */
	int utf8;          /* the address has non-ASCII (UTF-8) bytes */
};

struct smtp_mail_args {
	struct smtp_path path;
	int has_size;
	uint64_t size;     /* SIZE=; UINT64_MAX when it does not fit */
	enum smtp_body body;
	int smtputf8;
	char bad_param[SMTP_PARAM_NAME_MAX + 1]; /* on PARAM_* results */
};

struct smtp_rcpt_args {
	struct smtp_path path;
	char bad_param[SMTP_PARAM_NAME_MAX + 1];
};

/* Splits a command line: the verb is the leading run of letters, ended by
 * a space or the end of the line. Returns the verb's length (0 when the
 * line does not start with a letter or the verb is followed by something
 * else than a space); *arg_r points past the spaces after the verb, and
 * *arg_len_r is the argument's length without trailing blanks. */
size_t smtp_parse_verb(const char *line, size_t len, const char **arg_r,
		       size_t *arg_len_r);

/* The argument of MAIL ("FROM:<path> [params]") and RCPT ("TO:<path>
 * [params]"). Input may hold NUL bytes (they are errors). */
enum smtp_parse_result smtp_parse_mail(const char *arg, size_t len,
				       struct smtp_mail_args *out);
enum smtp_parse_result smtp_parse_rcpt(const char *arg, size_t len,
				       struct smtp_rcpt_args *out);

/* A bare address "local@domain" (a configuration value), checked and
 * normalized as a path's mailbox: OK, or ADDRESS when it is not one (a
 * source route, angle brackets, a missing domain...). */
enum smtp_parse_result smtp_parse_address(const char *s, size_t len,
					  struct smtp_path *out);

/* The mailbox RCPT TO:<postmaster> (no domain, RFC 5321 4.5.1) stands
 * for: configured when set and not empty ([smtp] postmaster), else
 * postmaster@hostname. 0, or -1 when that is not a valid address. */
int smtp_postmaster_path(const char *configured, const char *hostname,
			 struct smtp_path *out);

/* EHLO/HELO argument: one word of printable ASCII, at most
 * SMTP_DOMAIN_MAX bytes. Returns 1 when valid. */
int smtp_parse_helo(const char *arg, size_t len);

#endif
