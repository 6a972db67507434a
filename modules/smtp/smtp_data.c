/* The DATA state machine; see smtp_data.h. */
#include "smtp_data.h"

void smtp_data_init(struct smtp_data *d)
{
	/* The DATA command's own CRLF precedes the first line, so a first
	 * line of "." ends an empty message. */
	d->state = SMTP_DATA_LINE_START;
	d->size = 0;
	d->bare = 0;
	d->nul = 0;
}

size_t smtp_data_feed(struct smtp_data *d, const char *in, size_t len,
		      char *out, size_t *out_len_r)
{
	size_t i = 0, o = 0;

	while (i < len && d->state != SMTP_DATA_DONE) {
		char c = in[i++];

		/* Never part of the end marker: flag it wherever it is. */
		if (c == '\0')
			d->nul = 1;
		switch (d->state) {
		case SMTP_DATA_DOT_CR:
			if (c == '\n') {
				d->state = SMTP_DATA_DONE;
				continue;
			}
			/* ".<CR>x": the dot was stuffing, the CR is bare. */
			out[o++] = '\r';
			d->bare = 1;
			d->state = SMTP_DATA_MID;
			break;
		case SMTP_DATA_DOT:
			if (c == '\r') {
				d->state = SMTP_DATA_DOT_CR;
				continue;
			}
			/* The leading dot is dropped; c is line content. */
			d->state = SMTP_DATA_MID;
			break;
		case SMTP_DATA_LINE_START:
			if (c == '.') {
				d->state = SMTP_DATA_DOT;
				continue;
			}
			d->state = SMTP_DATA_MID;
			break;
		case SMTP_DATA_CR:
			if (c == '\n') {
				out[o++] = c;
				d->state = SMTP_DATA_LINE_START;
				continue;
			}
			d->bare = 1; /* the CR before c */
			d->state = SMTP_DATA_MID;
			break;
		case SMTP_DATA_MID:
		case SMTP_DATA_DONE:
			break;
		}
		/* c in the middle of a line. */
		out[o++] = c;
		if (c == '\r')
			d->state = SMTP_DATA_CR;
		else if (c == '\n')
			d->bare = 1; /* LF without CR: not a line start */
	}
	d->size += o;
	*out_len_r = o;
	return i;
}
