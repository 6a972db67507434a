/* LIST patterns; see imap_match.h.
 *
 * The matcher is the textbook dynamic programme over (pattern prefix,
 * name prefix), one row at a time: row[j] says whether the first j
 * pattern bytes match the name read so far. Each name byte updates the
 * row once, so a name costs (pattern length + 1) x (name length) steps
 * whatever the pattern, where the recursive matcher it replaces took
 * exponential time on "********x" against a long name. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap_match.h"

static bool is_wildcard(char c)
{
	return c == '*' || c == '%';
}

int imap_pattern_init(struct imap_pattern *p, const char *pattern,
		      size_t len)
{
	memset(p, 0, sizeof(*p));
	p->pat = malloc(len + 1);
	p->row = malloc((len + 1) * sizeof(*p->row));
	if (p->pat == NULL || p->row == NULL) {
		imap_pattern_free(p);
		return -ENOMEM;
	}
	for (size_t i = 0; i < len;) {
		if (!is_wildcard(pattern[i])) {
			p->pat[p->len++] = pattern[i++];
			p->literals++;
			continue;
		}
		/* A run of wildcards is "*" if it holds one, else "%". */
		char w = '%';
		for (; i < len && is_wildcard(pattern[i]); i++)
			if (pattern[i] == '*')
				w = '*';
		p->pat[p->len++] = w;
		p->wildcards = true;
		p->percent |= w == '%';
	}
	p->pat[p->len] = '\0';
	p->inbox = p->len >= 5 && strncasecmp(p->pat, "INBOX", 5) == 0 &&
		   (p->len == 5 || p->pat[5] == '/' || is_wildcard(p->pat[5]));
	return 0;
}

void imap_pattern_free(struct imap_pattern *p)
{
	free(p->pat);
	free(p->row);
	p->pat = NULL;
	p->row = NULL;
	p->len = 0;
}

/* pat[0..m) against name[0..n): the row-by-row programme. */
static bool match_rows(bool *row, const char *pat, size_t m, const char *name,
		       size_t n)
{
	row[0] = true;
	for (size_t j = 1; j <= m; j++)
		row[j] = row[j - 1] && is_wildcard(pat[j - 1]);
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool diag = row[0], any = false;

		row[0] = false;
		for (size_t j = 1; j <= m; j++) {
			bool above = row[j], now;
			char pc = pat[j - 1];

			if (pc == '*')       /* empty, or one more byte */
				now = row[j - 1] || above;
			else if (pc == '%')  /* the same, but never "/" */
				now = row[j - 1] || (above && c != '/');
			else
				now = diag && pc == c;
			diag = above;
			row[j] = now;
			any |= now;
		}
		if (!any)
			return false; /* no prefix matches: none ever will */
	}
	return row[m];
}

bool imap_pattern_match(struct imap_pattern *p, const char *name, size_t len)
{
	size_t skip = 0;

	if (len < p->literals)
		return false;
	/* INBOX is any case (RFC 3501 5.1): the name is stored "INBOX". */
	if (p->inbox && len >= 5 && memcmp(name, "INBOX", 5) == 0)
		skip = 5;
	if (!p->wildcards)
		return len == p->len && memcmp(p->pat + skip, name + skip,
					       len - skip) == 0;
	if (p->len == 1 && p->pat[0] == '*')
		return true;
	return match_rows(p->row, p->pat + skip, p->len - skip, name + skip,
			  len - skip);
}

uint64_t imap_pattern_cost(const struct imap_pattern *p, size_t len)
{
	if (len < p->literals)
		return 0;
	if (!p->wildcards)
		return len + 1;
	if (p->len == 1 && p->pat[0] == '*')
		return 1;
	return ((uint64_t)p->len + 1) * ((uint64_t)len + 1);
}
