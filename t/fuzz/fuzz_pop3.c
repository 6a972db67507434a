/* libFuzzer target: pop3.so's pure parts.
 *
 * The first byte picks the mode; the rest is the input.
 *   even: command lines (split on LF, CR stripped) through the verb and
 *         word splitters and the number parsers.
 *   odd:  a message through the RETR (or, by the mode byte, TOP) writer,
 *         once whole and once in small chunks: the two must agree, every
 *         LF on the wire has its CR, and the only CRLF "." CRLF is the
 *         terminator, so no message can end the response early. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pop3_parse.h"
#include "pop3_stuff.h"

static void one_line(const uint8_t *p, size_t len)
{
	char *line = malloc(len > 0 ? len : 1);
	const char *arg, *word[3];
	size_t arg_len, word_len[3];
	uint32_t n;
	uint64_t lines;

	if (line == NULL)
		return;
	memcpy(line, p, len);
	size_t verb = pop3_parse_verb(line, len, &arg, &arg_len);
	if (verb > len || arg < line || arg + arg_len > line + len)
		abort();
	int words = pop3_parse_words(arg, arg_len, word, word_len, 2);
	if (words > 2)
		abort();
	for (int i = 0; i < words; i++) {
		if (word[i] < arg || word[i] + word_len[i] > arg + arg_len)
			abort();
		if (pop3_parse_msgnum(word[i], word_len[i], &n) == 0 && n == 0)
			abort();
		pop3_parse_linecount(word[i], word_len[i], &lines);
	}
	free(line);
}

static void commands(const uint8_t *data, size_t size)
{
	while (size > 0) {
		const uint8_t *lf = memchr(data, '\n', size);
		size_t len = lf != NULL ? (size_t)(lf - data) : size;
		size_t next = lf != NULL ? len + 1 : size;

		if (len > 0 && data[len - 1] == '\r')
			len--;
		one_line(data, len);
		data += next;
		size -= next;
	}
}

static void init(struct pop3_stuff *st, uint8_t mode)
{
	if (mode & 2)
		pop3_stuff_init_top(st, (uint64_t)(mode >> 2) % 5);
	else
		pop3_stuff_init(st);
}

/* Runs the writer over in[0..size) in chunks of step (0: all at once). */
static char *write_all(uint8_t mode, const char *in, size_t size, size_t step,
		       size_t *len_r)
{
	struct pop3_stuff st;
	char *out = malloc(POP3_STUFF_OUT_MAX(size) + POP3_STUFF_END_MAX);
	size_t o = 0, i = 0;

	if (out == NULL)
		return NULL;
	init(&st, mode);
	while (i < size && !st.done) {
		size_t len = step == 0 || size - i < step ? size - i : step;
		size_t used;

		o += pop3_stuff_feed(&st, in + i, len, out + o, &used);
		if (used > len || o > POP3_STUFF_OUT_MAX(i + used))
			abort();
		i += used;
		if (used < len && !st.done)
			abort();
	}
	o += pop3_stuff_finish(&st, out + o);
	*len_r = o;
	return out;
}

static void stuffing(uint8_t mode, const uint8_t *data, size_t size)
{
	char *in = malloc(size > 0 ? size : 1);
	char *a = NULL, *b = NULL;
	size_t alen, blen;

	if (in == NULL)
		return;
	memcpy(in, data, size);
	a = write_all(mode, in, size, 0, &alen);
	b = write_all(mode, in, size, (size_t)(mode >> 4) % 5 + 1, &blen);
	if (a == NULL || b == NULL)
		goto out;
	if (alen != blen || memcmp(a, b, alen) != 0)
		abort();
	if (alen < 3 || memcmp(a + alen - 3, ".\r\n", 3) != 0)
		abort();
	for (size_t i = 0; i < alen; i++)
		if (a[i] == '\n' && (i == 0 || a[i - 1] != '\r'))
			abort();
	/* The terminator is the first CRLF "." CRLF (or the whole response
	 * is ".\r\n" for an empty message). */
	if (alen > 3) {
		const char *end = memmem(a, alen, "\r\n.\r\n", 5);
		if (end == NULL || end + 5 != a + alen)
			abort();
	}
	if (a[0] == '.' && alen > 3 && (alen < 2 || a[1] != '.'))
		abort();
out:
	free(in);
	free(a);
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1)
		stuffing(data[0], data + 1, size - 1);
	else
		commands(data + 1, size - 1);
	return 0;
}
