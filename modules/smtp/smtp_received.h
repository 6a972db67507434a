/* The Received: header the server prepends to every message (RFC 5321
 * 4.4, protocol names of RFC 3848). Pure: the unit tests compile it. */
#ifndef SMTP_RECEIVED_H
#define SMTP_RECEIVED_H

#include <stddef.h>
#include <time.h>

#define SMTP_RECEIVED_FOLD 78 /* longest header line, without CRLF */

struct smtp_received {
	const char *helo;        /* the EHLO/HELO argument */
	const char *client_ip;
	const char *hostname;
	int esmtp;               /* EHLO (1) or HELO (0) */
	int tls;
	int authenticated;
	const char *tls_version; /* may be NULL */
	const char *tls_cipher;  /* may be NULL */
	const char *id;          /* session id */
	time_t when;
};

/* "SMTP", "ESMTP", "ESMTPS", "ESMTPA" or "ESMTPSA". */
const char *smtp_received_with(int esmtp, int tls, int authenticated);

/* RFC 5322 date-time in local time: "Mon, 02 Jan 2006 15:04:05 +0100". */
size_t smtp_rfc5322_date(time_t when, char *buf, size_t size);

/* Writes the header, folded so that no line is longer than
 * SMTP_RECEIVED_FOLD unless one word is, ending in CRLF. Returns its
 * length, or 0 when buf is too small. */
size_t smtp_received_format(const struct smtp_received *r, char *buf,
			    size_t size);

#endif
