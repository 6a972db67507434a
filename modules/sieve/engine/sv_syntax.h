/* Syntax of the things scripts name: addresses (RFC 5322), header field
 * names, mailbox names, IMAP flags, time zones, date parts, MIME types.
 * The compiler checks constants with these; evaluation checks values
 * computed from variables with the same functions. */
#ifndef SV_SYNTAX_H
#define SV_SYNTAX_H

#include "sv.h"

/* local@domain (dot-atom or quoted local part; LDH, IDN octets or
 * [literal] domain), at most 254 octets. */
bool sv_addr_spec_valid(const char *s, size_t len);
/* A mailbox: addr-spec, or display-name <addr-spec> (vacation :from).
 * The addr-spec's offset and length in s. */
bool sv_mailbox_valid(const char *s, size_t len, size_t *off_r,
		      size_t *len_r);

/* One address found in an address header. */
struct sv_addr {
	struct sv_val raw;          /* the text as written, trimmed */
	struct sv_val local;        /* unquoted local part */
	struct sv_val domain;
	bool valid;                 /* local and domain found */
};

/* Parses an RFC 5322 address list (groups, display names, comments,
 * routes) into at most max addresses allocated in arena; *n_r is how
 * many. Never fails on bad syntax (a bad entry has valid = false).
 * 0 or -ENOMEM. */
int sv_addr_list_parse(struct sv_arena *arena, const char *s, size_t len,
		       size_t max, struct sv_addr **addrs_r, size_t *n_r);

/* RFC 5322 field-name: printable ASCII except ':', 1..997 octets. */
bool sv_header_name_valid(const char *s, size_t len);
/* Headers the address test may examine (RFC 5228 5.1). */
bool sv_address_header(const char *s, size_t len);
/* UTF-8, 1..1024 octets, no control characters. */
bool sv_mailbox_name_valid(const char *s, size_t len);
/* RFC 6609 script name: UTF-8, 1..512 octets, no '/' or controls. */
bool sv_script_name_valid(const char *s, size_t len);
/* "+hhmm" / "-hhmm" (RFC 5260 :zone) -> minutes east of UTC. */
bool sv_zone_parse(const char *s, size_t len, int *minutes_r);

enum sv_datepart {
	SV_DP_YEAR, SV_DP_MONTH, SV_DP_DAY, SV_DP_DATE, SV_DP_JULIAN,
	SV_DP_HOUR, SV_DP_MINUTE, SV_DP_SECOND, SV_DP_TIME, SV_DP_ISO8601,
	SV_DP_STD11, SV_DP_ZONE, SV_DP_WEEKDAY,
};
/* The date part of that name (case-insensitive), or -1. */
int sv_datepart_find(const char *s, size_t len);
/* RFC 5173 :content type: "", "type" or "type/subtype" tokens. */
bool sv_content_type_valid(const char *s, size_t len);
/* An IMAP flag: \Seen-style system flag or a keyword atom. */
bool sv_flag_valid(const char *s, size_t len);

#endif
