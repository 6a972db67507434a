/* Output helpers: strings in the cheapest form the grammar allows. */
#ifndef IMAP_WRITE_H
#define IMAP_WRITE_H

#include <stddef.h>

#include "imap_buf.h"

/* Strings longer than this go out as literals even when quotable. */
#define IMAP_QUOTED_MAX 1024

/* All functions append to out and return 0, -EINVAL (mailbox only), or
 * an imap_buf error; on error out->len is unchanged. s may hold any
 * bytes: 8-bit, CR, LF or NUL, or more than IMAP_QUOTED_MAX bytes, are
 * sent as a literal "{n}\r\n<bytes>" (a NUL is not valid in an IMAP4rev1
 * literal: callers must not pass one where the peer expects text). */

/* astring: an atom when s is non-empty ASTRING-CHARs and not "NIL", else
 * quoted ("\"" and "\\" escaped), else a literal. */
int imap_write_astring(struct imap_buf *out, const char *s, size_t len);
/* string: quoted or literal, never an atom. */
int imap_write_string(struct imap_buf *out, const char *s, size_t len);
/* nstring: NIL when s is NULL, else as imap_write_string. */
int imap_write_nstring(struct imap_buf *out, const char *s, size_t len);
/* A UTF-8 mailbox name, converted to modified UTF-7 and written as an
 * astring. -EINVAL when the name is not valid UTF-8. */
int imap_write_mailbox(struct imap_buf *out, const char *utf8, size_t len);

#endif
