#include <errno.h>
#include <string.h>

#include "sv_flags.h"
#include "sv_syntax.h"

bool sv_flags_next(const char *s, size_t len, size_t *pos,
		   struct sv_val *flag_r)
{
	size_t i = *pos;

	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i >= len) {
		*pos = i;
		return false;
	}
	size_t start = i;
	while (i < len && s[i] != ' ' && s[i] != '\t')
		i++;
	flag_r->s = s + start;
	flag_r->len = i - start;
	*pos = i;
	return true;
}

/* The spelling a flag is stored with, or NULL when it is not valid. */
static const char *sv_flag_canonical(const struct sv_val *f)
{
	static const char *const system[] = {
		"\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft",
	};

	if (!sv_flag_valid(f->s, f->len))
		return NULL;
	if (f->s[0] != '\\')
		return "";
	for (size_t i = 0; i < sizeof(system) / sizeof(system[0]); i++)
		if (sv_eq_ci(f->s, f->len, system[i]))
			return system[i];
	return NULL;            /* \Recent and unknown system flags */
}

static bool sv_flags_has(const char *s, size_t len, const struct sv_val *f)
{
	size_t pos = 0;
	struct sv_val g;

	while (sv_flags_next(s, len, &pos, &g))
		if (sv_strcasecmp_len(g.s, g.len, f->s, f->len) == 0)
			return true;
	return false;
}

static int sv_flags_add_one(struct sv_buf *out, const struct sv_val *f)
{
	const char *canon = sv_flag_canonical(f);

	if (canon == NULL || sv_flags_has(out->data, out->len, f))
		return 0;
	size_t len = *canon ? strlen(canon) : f->len;
	if (out->len + (out->len > 0) + len > out->cap)
		return 0;
	int ret = out->len > 0 ? sv_buf_addc(out, ' ') : 0;
	if (ret == 0)
		ret = sv_buf_add(out, *canon ? canon : f->s, len);
	return ret == -E2BIG ? 0 : ret;
}

int sv_flags_apply(struct sv_buf *out, const char *cur, size_t cur_len,
		   const struct sv_val *lists, size_t n, enum sv_flags_op op)
{
	struct sv_val f;
	size_t pos;
	int ret;

	if (sv_buf_nul(out) < 0)
		return -ENOMEM;
	if (op != SV_FLAGS_SET) {
		pos = 0;
		while (sv_flags_next(cur, cur_len, &pos, &f)) {
			if (op == SV_FLAGS_REMOVE) {
				bool removed = false;
				for (size_t i = 0; i < n && !removed; i++)
					removed = sv_flags_has(lists[i].s,
							       lists[i].len,
							       &f);
				if (removed)
					continue;
			}
			ret = sv_flags_add_one(out, &f);
			if (ret < 0)
				return ret;
		}
		if (op == SV_FLAGS_REMOVE)
			return 0;
	}
	for (size_t i = 0; i < n; i++) {
		pos = 0;
		while (sv_flags_next(lists[i].s, lists[i].len, &pos, &f)) {
			ret = sv_flags_add_one(out, &f);
			if (ret < 0)
				return ret;
		}
	}
	return 0;
}
