/* Output helpers; see imap_write.h. */
#include <errno.h>
#include <stdbool.h>
#include <strings.h>

#include "imap_mutf7.h"
#include "imap_parser.h"
#include "imap_write.h"

static bool quotable(const char *s, size_t len)
{
	if (len > IMAP_QUOTED_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\0' || c == '\r' || c == '\n' || c >= 0x80)
			return false;
	}
	return true;
}

static int write_quoted(struct imap_buf *out, const char *s, size_t len)
{
	int ret = imap_buf_append_char(out, '"');

	for (size_t i = 0; i < len && ret == 0; i++) {
		if (s[i] == '"' || s[i] == '\\')
			ret = imap_buf_append_char(out, '\\');
		if (ret == 0)
			ret = imap_buf_append_char(out, s[i]);
	}
	if (ret == 0)
		ret = imap_buf_append_char(out, '"');
	return ret;
}

static int write_literal(struct imap_buf *out, const char *s, size_t len)
{
	int ret = imap_buf_append_char(out, '{');

	if (ret == 0)
		ret = imap_buf_append_u64(out, len);
	if (ret == 0)
		ret = imap_buf_append(out, "}\r\n", 3);
	if (ret == 0)
		ret = imap_buf_append(out, s, len);
	return ret;
}

static int write_string(struct imap_buf *out, const char *s, size_t len)
{
	size_t start = out->len;
	int ret = quotable(s, len) ? write_quoted(out, s, len) :
		write_literal(out, s, len);

	if (ret < 0)
		imap_buf_truncate(out, start);
	return ret;
}

int imap_write_string(struct imap_buf *out, const char *s, size_t len)
{
	return write_string(out, s, len);
}

int imap_write_nstring(struct imap_buf *out, const char *s, size_t len)
{
	if (s == NULL)
		return imap_buf_append(out, "NIL", 3);
	return write_string(out, s, len);
}

int imap_write_astring(struct imap_buf *out, const char *s, size_t len)
{
	bool atom = len > 0 && !(len == 3 && strncasecmp(s, "NIL", 3) == 0);

	for (size_t i = 0; i < len && atom; i++)
		atom = imap_is_astring_char((unsigned char)s[i]);
	if (atom)
		return imap_buf_append(out, s, len);
	return write_string(out, s, len);
}

int imap_write_mailbox(struct imap_buf *out, const char *utf8, size_t len)
{
	struct imap_buf m7;
	int ret;

	imap_buf_init(&m7, 0);
	ret = imap_utf8_to_mutf7(utf8, len, &m7);
	if (ret == 0)
		ret = imap_write_astring(out, m7.data != NULL ? m7.data : "",
					 m7.len);
	imap_buf_free(&m7);
	return ret;
}
