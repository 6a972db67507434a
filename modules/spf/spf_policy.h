/* spf.so's pure parts: the allow-lists (client networks, sender domains)
 * and the header texts (Received-SPF, RFC 7208 9.1; Authentication-
 * Results, RFC 8601). No host calls, no libspf2: unit-tested in
 * t/unit/spf/test_spf_policy.c. */
#ifndef SPF_POLICY_H
#define SPF_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "spf_eval.h"

struct spf_net {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	int prefix;
};

/* Parses "192.0.2.0/24, 2001:db8::/32, 198.51.100.7" (commas and/or
 * spaces; a bare address is one host) into *nets_r (free() it). Returns
 * the count, or -EINVAL with the bad item in bad (-ENOMEM). */
int spf_net_parse_list(const char *text, struct spf_net **nets_r, char *bad,
		       size_t badlen);

/* 1 when ip (text; "::ffff:a.b.c.d" counts as IPv4) is in one of nets. */
int spf_net_match(const struct spf_net *nets, int count, const char *ip);

/* 1 when domain is one of the comma/space separated domains in list, or a
 * subdomain of one (case ignored). */
int spf_domain_listed(const char *list, const char *domain);

/* What the check was about, for the headers. */
struct spf_header_info {
	const char *hostname;  /* ours: the receiver, the authserv-id */
	const char *client_ip;
	const char *helo;      /* may be NULL */
	const char *mail_from; /* "" for the null sender */
};

/* The value of a Received-SPF header: result, a comment, then key=value
 * pairs; sender-supplied text is quoted and stripped of anything but
 * printable ASCII. Always NUL-terminated (cut to len). */
void spf_received_value(char *buf, size_t len,
			const struct spf_header_info *info,
			const struct spf_answer *answer);

/* The value of an Authentication-Results header: "HOST; spf=RESULT
 * smtp.mailfrom=SENDER" (or smtp.helo=HELO for the null sender). */
void spf_auth_results_value(char *buf, size_t len,
			    const struct spf_header_info *info,
			    const struct spf_answer *answer);

#endif
