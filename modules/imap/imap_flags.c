/* Flags; see imap_flags.h. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "imap_flags.h"

static const char *const system_flags[] = {
	"\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft",
	"\\Recent",
};
#define N_SYSTEM_FLAGS (sizeof(system_flags) / sizeof(system_flags[0]))

bool imap_keywords_has(const char *list, size_t list_len, const char *kw,
		       size_t kw_len)
{
	size_t i = 0;

	while (i < list_len) {
		const char *sp = memchr(list + i, ' ', list_len - i);
		size_t n = sp != NULL ? (size_t)(sp - (list + i)) :
			list_len - i;

		if (n == kw_len && strncasecmp(list + i, kw, n) == 0)
			return true;
		i += n + 1;
	}
	return false;
}

static int parse_flag(const struct imap_arg *arg, unsigned *flags,
		      struct imap_buf *kw, size_t kw_start,
		      const char **error_r)
{
	if (arg->type != IMAP_ARG_ATOM && arg->type != IMAP_ARG_NIL) {
		*error_r = "Flags must be atoms";
		return -EINVAL;
	}
	if (arg->str[0] == '\\') {
		for (unsigned i = 0; i < N_SYSTEM_FLAGS; i++) {
			if (strcasecmp(arg->str, system_flags[i]) != 0)
				continue;
			if ((1u << i) == IMAP_FLAG_RECENT) {
				*error_r = "\\Recent can not be set";
				return -EINVAL;
			}
			*flags |= 1u << i;
			return 0;
		}
		*error_r = "Unknown system flag";
		return -EINVAL;
	}
	for (size_t i = 0; i < arg->len; i++) {
		if (!imap_is_atom_char((unsigned char)arg->str[i])) {
			*error_r = "Invalid keyword";
			return -EINVAL;
		}
	}
	if (imap_keywords_has(kw->data != NULL ? kw->data + kw_start : "",
			      kw->len - kw_start, arg->str, arg->len))
		return 0;
	if (kw->len > kw_start) {
		int ret = imap_buf_append_char(kw, ' ');

		if (ret < 0)
			return ret;
	}
	return imap_buf_append(kw, arg->str, arg->len);
}

int imap_flags_parse(const struct imap_arg *args, size_t n,
		     unsigned *flags_r, struct imap_buf *keywords,
		     const char **error_r)
{
	size_t start = keywords->len;
	unsigned flags = 0;

	*error_r = NULL;
	if (n == 1 && args[0].type == IMAP_ARG_LIST) {
		n = args[0].count;
		args = args[0].list;
	}
	for (size_t i = 0; i < n; i++) {
		int ret = parse_flag(&args[i], &flags, keywords, start,
				     error_r);

		if (ret < 0) {
			imap_buf_truncate(keywords, start);
			if (*error_r == NULL)
				*error_r = ret == -E2BIG ? "Too many keywords" :
					"Out of memory";
			return ret;
		}
	}
	*flags_r = flags;
	return 0;
}

int imap_flags_format(unsigned flags, const char *keywords,
		      struct imap_buf *out)
{
	size_t start = out->len;
	int ret = imap_buf_append_char(out, '(');
	const char *sep = "";

	for (unsigned i = 0; i < N_SYSTEM_FLAGS && ret == 0; i++) {
		if ((flags & (1u << i)) == 0)
			continue;
		ret = imap_buf_append_str(out, sep);
		if (ret == 0)
			ret = imap_buf_append_str(out, system_flags[i]);
		sep = " ";
	}
	if (ret == 0 && keywords != NULL && keywords[0] != '\0') {
		ret = imap_buf_append_str(out, sep);
		if (ret == 0)
			ret = imap_buf_append_str(out, keywords);
	}
	if (ret == 0)
		ret = imap_buf_append_char(out, ')');
	if (ret < 0)
		imap_buf_truncate(out, start);
	return ret;
}
