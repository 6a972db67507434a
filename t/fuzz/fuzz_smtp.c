/* libFuzzer target: smtp.so's pure input parsers.
 *
 * The first byte picks the mode; the rest is the input.
 *   even: command lines (split on LF, CR stripped), each through the verb
 *         splitter and every argument parser a session would use.
 *   odd:  DATA bytes through the end/dot-unstuffing machine, fed once
 *         whole and once in chunks whose sizes come from the mode byte; the
 *         two runs must agree byte for byte (the machine's contract), NUL
 *         flag included. The message then goes through submission's
 *         Date:/Message-ID: filter whole and in the same chunks: same
 *         output, which is the message with at most the two fields added. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_data.h"
#include "smtp_header.h"
#include "smtp_parse.h"

/* Each line in a buffer of its exact size, so ASan sees any read past it. */
static void one_line(const uint8_t *p, size_t len)
{
	char *line = malloc(len > 0 ? len : 1);
	const char *arg;
	size_t arg_len;
	struct smtp_mail_args mail;
	struct smtp_rcpt_args rcpt;
	struct smtp_path path;

	if (line == NULL)
		return;
	memcpy(line, p, len);
	size_t verb = smtp_parse_verb(line, len, &arg, &arg_len);
	if (verb == 0) {
		/* No verb: *arg_r is not set; parse the whole line. */
		arg = line;
		arg_len = len;
	} else if (verb > len || arg < line || arg + arg_len > line + len) {
		abort();
	}
	smtp_parse_mail(arg, arg_len, &mail);
	if (mail.path.len > SMTP_ADDRESS_MAX)
		abort();
	smtp_parse_rcpt(arg, arg_len, &rcpt);
	smtp_parse_helo(arg, arg_len);
	if (smtp_parse_address(line, len, &path) == SMTP_PARSE_OK &&
	    (path.len > SMTP_ADDRESS_MAX || path.domain_off > path.len ||
	     strlen(path.address) != path.len))
		abort();
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

#define FILL_DATE "Date: Mon, 02 Jan 2006 15:04:05 +0000\r\n"
#define FILL_MSGID "Message-ID: <0@fuzz.test>\r\n"

struct sink {
	char *buf;
	size_t len, cap;
};

static void collect(void *ctx, const char *buf, size_t len)
{
	struct sink *k = ctx;

	if (k->len + len > k->cap)
		abort();
	memcpy(k->buf + k->len, buf, len);
	k->len += len;
}

/* The filter over msg[0..len), whole and in pieces of step..7 bytes. */
static void header_fill(const char *msg, size_t len, size_t step)
{
	size_t cap = len + sizeof(FILL_DATE) + sizeof(FILL_MSGID);
	struct sink whole = { malloc(cap), 0, cap };
	struct sink chunked = { malloc(cap), 0, cap };
	struct smtp_header_fill f;

	if (whole.buf == NULL || chunked.buf == NULL)
		goto out;
	smtp_header_fill_init(&f, FILL_DATE, FILL_MSGID);
	smtp_header_fill_feed(&f, msg, len, collect, &whole);
	smtp_header_fill_end(&f, collect, &whole);
	smtp_header_fill_init(&f, FILL_DATE, FILL_MSGID);
	for (size_t off = 0; off < len;) {
		size_t n = len - off < step ? len - off : step;

		smtp_header_fill_feed(&f, msg + off, n, collect, &chunked);
		off += n;
		step = step % 7 + 1;
	}
	smtp_header_fill_end(&f, collect, &chunked);
	if (whole.len != chunked.len ||
	    memcmp(whole.buf, chunked.buf, whole.len) != 0)
		abort();
	/* Nothing lost, nothing but the fields added. */
	size_t added = whole.len - len;
	if (whole.len < len ||
	    (added != 0 && added != sizeof(FILL_DATE) - 1 &&
	     added != sizeof(FILL_MSGID) - 1 &&
	     added != sizeof(FILL_DATE) + sizeof(FILL_MSGID) - 2))
		abort();
out:
	free(whole.buf);
	free(chunked.buf);
}

static void data_phase(uint8_t mode, const uint8_t *data, size_t size)
{
	struct smtp_data whole, chunked;
	char *in = malloc(size > 0 ? size : 1);
	char *out1 = malloc(size + 1);
	char *out2 = malloc(size + 1);
	size_t n1, used1, n2 = 0, used2 = 0;
	size_t step = (size_t)(mode >> 1) % 7 + 1;

	if (in == NULL || out1 == NULL || out2 == NULL)
		goto out;
	memcpy(in, data, size);
	smtp_data_init(&whole);
	used1 = smtp_data_feed(&whole, in, size, out1, &n1);
	if (used1 > size || n1 > size + 1 || whole.size != n1)
		abort();

	smtp_data_init(&chunked);
	while (used2 < size && !smtp_data_done(&chunked)) {
		size_t len = size - used2 < step ? size - used2 : step;
		/* The output room the contract asks for: len + 1. */
		char *room = malloc(len + 1);
		size_t o, used;

		if (room == NULL)
			goto out;
		used = smtp_data_feed(&chunked, in + used2, len, room, &o);
		if (used > len || o > len + 1 || n2 + o > size + 1) {
			free(room);
			abort();
		}
		memcpy(out2 + n2, room, o);
		free(room);
		n2 += o;
		used2 += used;
		step = step % 7 + 1;
	}
	if (used1 != used2 || n1 != n2 || memcmp(out1, out2, n1) != 0 ||
	    smtp_data_done(&whole) != smtp_data_done(&chunked) ||
	    whole.bare != chunked.bare || whole.nul != chunked.nul ||
	    whole.nul != (memchr(in, '\0', used1) != NULL))
		abort();
	header_fill(out1, n1, (size_t)(mode >> 1) % 7 + 1);
out:
	free(in);
	free(out1);
	free(out2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1)
		data_phase(data[0], data + 1, size - 1);
	else
		commands(data + 1, size - 1);
	return 0;
}
