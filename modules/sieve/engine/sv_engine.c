/* Process-wide set-up and the in-memory message reader. */
#include <errno.h>
#include <string.h>

#include <gmime/gmime.h>

#include "sv.h"

int sieve_engine_init(void)
{
	/* GMime counts its initialisations: sharing a process with
	 * core/mime's mime_init() is fine. Not thread-safe: call first. */
	g_mime_init();
	return 0;
}

void sieve_engine_shutdown(void)
{
	g_mime_shutdown();
}

static ssize_t sv_buffer_read(void *context, uint64_t offset, void *buf,
			      size_t len)
{
	const struct sieve_buffer *b = context;

	if (offset >= b->len)
		return 0;
	size_t n = b->len - (size_t)offset;
	if (n > len)
		n = len;
	memcpy(buf, (const char *)b->data + offset, n);
	return (ssize_t)n;
}

void sieve_message_from_buffer(struct sieve_message *msg_r,
			       struct sieve_buffer *buf)
{
	msg_r->read = sv_buffer_read;
	msg_r->context = buf;
	msg_r->size = buf->len;
}
