/* Growable buffer; see imap_buf.h. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap_buf.h"

void imap_buf_init(struct imap_buf *buf, size_t max)
{
	buf->data = NULL;
	buf->len = 0;
	buf->cap = 0;
	buf->max = max == 0 ? SIZE_MAX - 1 : max;
}

void imap_buf_free(struct imap_buf *buf)
{
	free(buf->data);
	buf->data = NULL;
	buf->len = 0;
	buf->cap = 0;
}

void imap_buf_clear(struct imap_buf *buf)
{
	imap_buf_truncate(buf, 0);
}

void imap_buf_truncate(struct imap_buf *buf, size_t len)
{
	buf->len = len;
	if (buf->data != NULL)
		buf->data[len] = '\0';
}

int imap_buf_append(struct imap_buf *buf, const void *data, size_t len)
{
	if (len > buf->max - buf->len)
		return -E2BIG;
	if (buf->len + len + 1 > buf->cap) {
		/* Doubling keeps appends amortised O(1); the +1 is the NUL. */
		size_t cap = buf->cap < 64 ? 64 : buf->cap;
		char *p;

		while (cap < buf->len + len + 1)
			cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
		p = realloc(buf->data, cap);
		if (p == NULL)
			return -ENOMEM;
		buf->data = p;
		buf->cap = cap;
	}
	if (len > 0)
		memcpy(buf->data + buf->len, data, len);
	buf->len += len;
	buf->data[buf->len] = '\0';
	return 0;
}

int imap_buf_append_str(struct imap_buf *buf, const char *str)
{
	return imap_buf_append(buf, str, strlen(str));
}

int imap_buf_append_char(struct imap_buf *buf, char c)
{
	return imap_buf_append(buf, &c, 1);
}

/* By hand: FETCH 1:* writes two numbers per message, and snprintf's
 * format parsing was most of the cost of a line. */
int imap_buf_append_u64(struct imap_buf *buf, unsigned long long v)
{
	char tmp[20];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	return imap_buf_append(buf, tmp + i, sizeof(tmp) - i);
}
