/* Modified UTF-7 for mailbox names (RFC 3501 5.1.3) <-> UTF-8, strict
 * both ways. */
#ifndef IMAP_MUTF7_H
#define IMAP_MUTF7_H

#include <stddef.h>

#include "imap_buf.h"

/* Appends the mUTF-7 form of UTF-8 text. -EINVAL for invalid UTF-8
 * (overlong forms, surrogates, > U+10FFFF, truncated sequences); imap_buf
 * errors. On error out->len is unchanged. */
int imap_utf8_to_mutf7(const char *in, size_t len, struct imap_buf *out);

/* Appends the UTF-8 form of a mUTF-7 name. -EINVAL for anything but the
 * canonical encoding: bytes outside 0x20..0x7e, "&" not followed by "-"
 * or base64, bad base64 characters, unterminated "&...", leftover bits
 * that are not zero or form a whole character, a printable ASCII
 * character or an unpaired surrogate in base64, two adjacent base64
 * runs. imap_buf errors. On error out->len is unchanged. */
int imap_mutf7_to_utf8(const char *in, size_t len, struct imap_buf *out);

#endif
