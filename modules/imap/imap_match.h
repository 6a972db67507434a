/* LIST and LSUB patterns (RFC 3501 6.3.8): "*" matches any run of
 * characters, "%" any run without the hierarchy delimiter "/", every
 * other byte itself; "INBOX" at the start of a pattern is any case.
 * Pure: a pattern is compiled once, then matched against many names in
 * O(pattern x name) time with one row of state, never by recursion or
 * backtracking, so no pattern can make LIST explode. Safe on any bytes
 * (a fuzz entry point behind imap_parse_command). */
#ifndef IMAP_MATCH_H
#define IMAP_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One compiled pattern; owns its memory, free with imap_pattern_free(). */
struct imap_pattern {
	char *pat;        /* runs of wildcards folded into one: "%*%" -> "*",
			     "%%" -> "%"; the same names match */
	size_t len;
	size_t literals;  /* bytes other than wildcards: a name shorter than
			     this cannot match */
	bool wildcards;   /* any "*" or "%" */
	bool percent;     /* any "%" (an implied parent shows only then) */
	bool inbox;       /* starts with INBOX (any case) then the end, "/"
			     or a wildcard: those five bytes match a name's
			     "INBOX" in any case */
	bool *row;        /* len + 1 cells of matching state */
};

/* Compiles pattern[0..len) (UTF-8, NULs allowed: they match nothing but
 * themselves). 0, or -ENOMEM. */
int imap_pattern_init(struct imap_pattern *p, const char *pattern,
		      size_t len);
void imap_pattern_free(struct imap_pattern *p);

/* Whether name[0..len) matches. Uses the pattern's row: one caller at a
 * time. */
bool imap_pattern_match(struct imap_pattern *p, const char *name,
			size_t len);

/* What imap_pattern_match() costs on a name of len bytes, in cells of
 * its row (0 when the length alone rules it out): for a budget checked
 * before the work starts. */
uint64_t imap_pattern_cost(const struct imap_pattern *p, size_t len);

#endif
