/* Flags; see imap_flags.h. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
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

/* Open addressing, twice the keywords it may hold; 0 is a free slot. */
#define KEYWORD_SLOTS (2 * IMAP_KEYWORDS_MAX)

struct imap_keywords {
	char text[IMAP_KEYWORDS_BYTES + 1]; /* "kw1 kw2" */
	size_t len;
	unsigned count;
	struct {
		uint32_t hash;
		uint16_t at, len; /* in text */
	} slot[KEYWORD_SLOTS];
};

struct imap_keywords *imap_keywords_new(void)
{
	return calloc(1, sizeof(struct imap_keywords));
}

void imap_keywords_free(struct imap_keywords **kw)
{
	free(*kw);
	*kw = NULL;
}

/* FNV-1a of the keyword folded to lower case, never 0. */
static uint32_t keyword_hash(const char *k, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)k[i];
		h = (h ^ (c >= 'A' && c <= 'Z' ? c + 32u : c)) * 16777619u;
	}
	return h != 0 ? h : 1;
}

/* Adds k unless the set has it or is full: 1 when added. */
static unsigned keyword_add(struct imap_keywords *kw, const char *k,
			    size_t len)
{
	uint32_t h = keyword_hash(k, len);
	size_t i = h % KEYWORD_SLOTS;

	while (kw->slot[i].hash != 0) {
		if (kw->slot[i].hash == h && kw->slot[i].len == len &&
		    strncasecmp(kw->text + kw->slot[i].at, k, len) == 0)
			return 0;
		i = (i + 1) % KEYWORD_SLOTS;
	}
	size_t need = len + (kw->len > 0);
	if (kw->count == IMAP_KEYWORDS_MAX ||
	    need > IMAP_KEYWORDS_BYTES - kw->len)
		return 0;
	if (kw->len > 0)
		kw->text[kw->len++] = ' ';
	kw->slot[i].hash = h;
	kw->slot[i].at = (uint16_t)kw->len;
	kw->slot[i].len = (uint16_t)len;
	memcpy(kw->text + kw->len, k, len);
	kw->len += len;
	kw->text[kw->len] = '\0';
	kw->count++;
	return 1;
}

unsigned imap_keywords_add(struct imap_keywords *kw, const char *list)
{
	unsigned added = 0;

	while (list != NULL && *list != '\0') {
		const char *sp = strchr(list, ' ');
		size_t n = sp != NULL ? (size_t)(sp - list) : strlen(list);

		if (n > 0)
			added += keyword_add(kw, list, n);
		list += n + (sp != NULL);
	}
	return added;
}

const char *imap_keywords_text(const struct imap_keywords *kw)
{
	return kw->text;
}
