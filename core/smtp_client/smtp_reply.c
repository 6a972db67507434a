/* SMTP replies as a client reads them, and DATA as it sends it; see
 * smtp_reply.h. */
#include "smtp_client/smtp_reply.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void smtp_reply_reset(struct smtp_reply *r)
{
	r->code = 0;
	r->lines = 0;
	r->len = 0;
	r->text[0] = '\0';
	r->line_len = 0;
	r->line_cut = 0;
}

/* A finished line: checks its code and appends it to the text. Returns 1
 * when it was the last line of the reply. */
static int reply_line_done(struct smtp_reply *r)
{
	const char *l = r->line;
	size_t n = r->line_len;
	int code;

	if (n > 0 && l[n - 1] == '\r')
		n--;
	if (n < 3 || !isdigit((unsigned char)l[0]) ||
	    !isdigit((unsigned char)l[1]) || !isdigit((unsigned char)l[2]) ||
	    (n > 3 && l[3] != ' ' && l[3] != '-'))
		return -EPROTO;
	code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
	if (code < 200 || code > 599 || (r->lines > 0 && code != r->code) ||
	    r->lines >= SMTP_REPLY_LINES_MAX)
		return -EPROTO;
	r->code = code;
	/* The text keeps what fits; the code and the end are what matter. */
	if (r->lines > 0 && r->len + 1 < sizeof r->text)
		r->text[r->len++] = '\n';
	size_t room = sizeof r->text - 1 - r->len;
	size_t take = n < room ? n : room;
	memcpy(r->text + r->len, l, take);
	r->len += take;
	r->text[r->len] = '\0';
	r->lines++;
	r->line_len = 0;
	r->line_cut = 0;
	return n == 3 || l[3] == ' ';
}

int smtp_reply_parse(struct smtp_reply *r, const char *data, size_t len,
		      size_t *used_r)
{
	for (size_t i = 0; i < len; i++) {
		char c = data[i];

		if (c == '\n') {
			int ret = reply_line_done(r);

			if (ret < 0)
				return ret;
			if (ret == 1) {
				*used_r = i + 1;
				return 1;
			}
			continue;
		}
		/* Checked while the line is still incomplete: a peer never
		 * makes us buffer more than the limit. */
		if (r->line_len < sizeof r->line)
			r->line[r->line_len++] = c;
		else
			r->line_cut = 1;
	}
	*used_r = len;
	return 0;
}

int smtp_reply_has(const struct smtp_reply *r, const char *keyword)
{
	size_t klen = strlen(keyword);
	const char *line = r->text;

	/* The first line is the greeting part ("250-mx.example Hello"). */
	line = strchr(line, '\n');
	while (line != NULL) {
		line++;
		if (strlen(line) >= 4 + klen &&
		    strncasecmp(line + 4, keyword, klen) == 0 &&
		    (line[4 + klen] == '\0' || line[4 + klen] == '\n' ||
		     line[4 + klen] == ' ' || line[4 + klen] == '='))
			return 1;
		line = strchr(line, '\n');
	}
	return 0;
}

void smtp_reply_flat(const struct smtp_reply *r, char *buf, size_t size)
{
	size_t o = 0;

	if (size == 0)
		return;
	for (size_t i = 0; i < r->len && o + 1 < size; i++) {
		if (r->text[i] == '\n') {
			if (o + 2 >= size)
				break;
			buf[o++] = ';';
			buf[o++] = ' ';
		} else {
			buf[o++] = r->text[i];
		}
	}
	buf[o] = '\0';
}

int smtp_dot_stuff(const char *in, size_t len, char **out_r, size_t *len_r)
{
	/* Worst case: every byte a LF becoming ".\r\n"-ish; 3x plus the
	 * terminator bounds it. */
	char *out = malloc(len * 3 + 6);
	size_t o = 0;
	int bol = 1;

	if (out == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		if (bol && c == '.')
			out[o++] = '.';
		bol = 0;
		if (c == '\n') {
			if (o == 0 || out[o - 1] != '\r')
				out[o++] = '\r';
			out[o++] = '\n';
			bol = 1;
			continue;
		}
		out[o++] = c;
	}
	if (!bol) {
		/* A trailing CR alone is half a line end: complete it. */
		if (out[o - 1] != '\r')
			out[o++] = '\r';
		out[o++] = '\n';
	}
	memcpy(out + o, ".\r\n", 3);
	o += 3;
	*out_r = out;
	*len_r = o;
	return 0;
}

