/* Command line parsing; see pop3_parse.h. */
#include <string.h>

#include "pop3_parse.h"

size_t pop3_parse_verb(const char *line, size_t len, const char **arg_r,
		       size_t *arg_len_r)
{
	const char *sp = memchr(line, ' ', len);
	size_t verb_len = sp != NULL ? (size_t)(sp - line) : len;

	if (sp != NULL) {
		*arg_r = sp + 1;
		*arg_len_r = len - verb_len - 1;
	} else {
		*arg_r = line + len;
		*arg_len_r = 0;
	}
	return verb_len;
}

int pop3_parse_words(const char *arg, size_t len, const char **word_r,
		     size_t *word_len_r, int max)
{
	int n = 0;
	size_t i = 0;

	if (len == 0)
		return 0;
	for (;;) {
		const char *sp = memchr(arg + i, ' ', len - i);
		size_t wlen = sp != NULL ? (size_t)(sp - (arg + i)) : len - i;

		if (wlen == 0 || n == max)
			return -1;
		word_r[n] = arg + i;
		word_len_r[n] = wlen;
		n++;
		if (sp == NULL)
			return n;
		i += wlen + 1;
		if (i == len)
			return -1; /* trailing space */
	}
}

int pop3_parse_msgnum(const char *s, size_t len, uint32_t *n_r)
{
	uint64_t v = 0;

	if (len == 0 || len > 10)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v == 0 || v > UINT32_MAX)
		return -1;
	*n_r = (uint32_t)v;
	return 0;
}

int pop3_parse_linecount(const char *s, size_t len, uint64_t *n_r)
{
	uint64_t v = 0;

	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			v = UINT64_MAX;
		else
			v = v * 10 + d;
	}
	*n_r = v;
	return 0;
}
