/* A growable output buffer with a hard size cap (pure, no host calls). */
#ifndef IMAP_BUF_H
#define IMAP_BUF_H

#include <stddef.h>

/* data is malloc'd and owned by the buffer; it is always NUL-terminated
 * (the NUL is not counted in len) once anything was appended. Pointers
 * into data stay valid only until the next append (it may move). */
struct imap_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max; /* len may never exceed this; 0 = SIZE_MAX */
};

/* Empty buffer that may grow to max bytes (0: unbounded). No allocation. */
void imap_buf_init(struct imap_buf *buf, size_t max);
/* Frees data and resets to an empty buffer with the same max. */
void imap_buf_free(struct imap_buf *buf);
/* Keeps the allocation, sets len to 0. */
void imap_buf_clear(struct imap_buf *buf);
/* Drops everything after the first len bytes (len <= buf->len). */
void imap_buf_truncate(struct imap_buf *buf, size_t len);
/* Appends len bytes (NUL bytes allowed). 0, -E2BIG when max would be
 * exceeded (nothing appended), -ENOMEM. */
int imap_buf_append(struct imap_buf *buf, const void *data, size_t len);
int imap_buf_append_str(struct imap_buf *buf, const char *str);
int imap_buf_append_char(struct imap_buf *buf, char c);
/* Appends the decimal form of v. */
int imap_buf_append_u64(struct imap_buf *buf, unsigned long long v);

#endif
