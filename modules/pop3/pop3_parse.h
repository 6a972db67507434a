/* Pure parsing of POP3 command lines (RFC 1939 3, RFC 2449). */
#ifndef POP3_PARSE_H
#define POP3_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* Splits "VERB[ ARGS]": returns the verb length (0 when the line is empty
 * or starts with a space); *arg_r and *arg_len_r are what follows the
 * first space ("" when none). */
size_t pop3_parse_verb(const char *line, size_t len, const char **arg_r,
		       size_t *arg_len_r);

/* Splits args on single spaces into at most max words; returns the word
 * count, or -1 when there are more than max, or an empty word (two spaces,
 * a leading or trailing space). "" yields 0. */
int pop3_parse_words(const char *arg, size_t len, const char **word_r,
		     size_t *word_len_r, int max);

/* A message number: 1..UINT32_MAX in decimal digits only. 0 or -1. */
int pop3_parse_msgnum(const char *s, size_t len, uint32_t *n_r);

/* TOP's line count: decimal digits only (no sign); values too large for
 * uint64_t saturate to UINT64_MAX (the whole body). 0 or -1. */
int pop3_parse_linecount(const char *s, size_t len, uint64_t *n_r);

#endif
