/* Date:/Message-ID: for submission; see smtp_header.h. */
#include <stdio.h>
#include <string.h>

#include "smtp_header.h"
#include "smtp_received.h"

static const char date_name[] = "date";
static const char msgid_name[] = "message-id";

void smtp_header_fill_init(struct smtp_header_fill *f, const char *date,
			   const char *message_id)
{
	f->state = SMTP_HEADER_LINE_START;
	f->has_date = f->has_message_id = 0;
	f->date_match = f->msgid_match = 0;
	f->date = date;
	f->message_id = message_id;
	f->hold_len = 0;
}

/* RFC 5322 3.6.8 ftext: printable US-ASCII but the colon. */
static int ftext(char c)
{
	return c >= 33 && c <= 126 && c != ':';
}

static int lower(char c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static void name_char(int *match, const char *want, size_t want_len,
		      size_t pos, char c)
{
	if (*match < 0)
		return;
	if (pos < want_len && lower(c) == want[pos])
		(*match)++;
	else
		*match = -1;
}

/* The header block ends before the held bytes: the missing fields go
 * in, then what was held. */
static void block_ends(struct smtp_header_fill *f, smtp_header_emit *emit,
		       void *ctx)
{
	if (!f->has_date && f->date != NULL)
		emit(ctx, f->date, strlen(f->date));
	if (!f->has_message_id && f->message_id != NULL)
		emit(ctx, f->message_id, strlen(f->message_id));
	if (f->hold_len > 0)
		emit(ctx, f->hold, f->hold_len);
	f->hold_len = 0;
	f->state = SMTP_HEADER_PASSED;
}

/* The held name and the colon make a header field. */
static void field_seen(struct smtp_header_fill *f)
{
	if (f->date_match == (int)sizeof(date_name) - 1)
		f->has_date = 1;
	if (f->msgid_match == (int)sizeof(msgid_name) - 1)
		f->has_message_id = 1;
}

void smtp_header_fill_feed(struct smtp_header_fill *f, const char *in,
			   size_t len, smtp_header_emit *emit, void *ctx)
{
	size_t i = 0, run = 0; /* in[run..i) passes through unheld */

	while (i < len && f->state != SMTP_HEADER_PASSED) {
		char c = in[i];

		switch (f->state) {
		case SMTP_HEADER_BODY:
			i++;
			if (c == '\n')
				f->state = SMTP_HEADER_LINE_START;
			continue;
		case SMTP_HEADER_LINE_START:
			if (c == ' ' || c == '\t') {
				/* A folded line of the field above. */
				f->state = SMTP_HEADER_BODY;
				i++;
				continue;
			}
			if (i > run)
				emit(ctx, in + run, i - run);
			run = i;
			if (c == '\r') {
				f->state = SMTP_HEADER_BLANK_CR;
			} else if (ftext(c)) {
				f->state = SMTP_HEADER_NAME;
				f->date_match = f->msgid_match = 0;
				name_char(&f->date_match, date_name,
					  sizeof(date_name) - 1, 0, c);
				name_char(&f->msgid_match, msgid_name,
					  sizeof(msgid_name) - 1, 0, c);
			} else {
				/* Not a field: the body starts here. */
				block_ends(f, emit, ctx);
				continue;
			}
			f->hold[f->hold_len++] = c;
			run = ++i;
			continue;
		case SMTP_HEADER_BLANK_CR:
			/* CRLF: the empty line that ends the block; CR and
			 * anything else: not a field either. */
			block_ends(f, emit, ctx);
			continue;
		case SMTP_HEADER_NAME:
		case SMTP_HEADER_NAME_WSP:
			if (c == ':') {
				field_seen(f);
				emit(ctx, f->hold, f->hold_len);
				f->hold_len = 0;
				f->state = SMTP_HEADER_BODY;
				run = i++;
				continue;
			}
			if (f->hold_len == SMTP_HEADER_HOLD ||
			    (c != ' ' && c != '\t' &&
			     (f->state == SMTP_HEADER_NAME_WSP || !ftext(c)))) {
				block_ends(f, emit, ctx);
				continue;
			}
			if (c == ' ' || c == '\t') {
				f->state = SMTP_HEADER_NAME_WSP;
			} else {
				name_char(&f->date_match, date_name,
					  sizeof(date_name) - 1, f->hold_len, c);
				name_char(&f->msgid_match, msgid_name,
					  sizeof(msgid_name) - 1, f->hold_len,
					  c);
			}
			f->hold[f->hold_len++] = c;
			run = ++i;
			continue;
		case SMTP_HEADER_PASSED:
			break;
		}
	}
	/* Whatever is left passes: the field body being read, or the body
	 * of the message. */
	if (len > run)
		emit(ctx, in + run, len - run);
}

void smtp_header_fill_end(struct smtp_header_fill *f, smtp_header_emit *emit,
			  void *ctx)
{
	if (f->state != SMTP_HEADER_PASSED)
		block_ends(f, emit, ctx);
}

size_t smtp_header_date(time_t when, char *buf, size_t size)
{
	char date[SMTP_HEADER_DATE_MAX];
	int n;

	if (smtp_rfc5322_date(when, date, sizeof(date)) == 0)
		return 0;
	n = snprintf(buf, size, "Date: %s\r\n", date);
	return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

size_t smtp_header_message_id(const unsigned char random[16],
			      const char *hostname, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	char id[33];
	int n;

	if (hostname == NULL || hostname[0] == '\0')
		return 0;
	for (size_t i = 0; i < 16; i++) {
		id[2 * i] = hex[random[i] >> 4];
		id[2 * i + 1] = hex[random[i] & 15];
	}
	id[32] = '\0';
	n = snprintf(buf, size, "Message-ID: <%s@%s>\r\n", id, hostname);
	return n > 0 && (size_t)n < size ? (size_t)n : 0;
}
