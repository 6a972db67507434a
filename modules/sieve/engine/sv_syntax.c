#include <errno.h>
#include <string.h>

#include "sv_syntax.h"

static bool sv_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c >= 0x80 ||
	       (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static bool sv_dot_atom(const char *s, size_t len)
{
	if (len == 0 || s[0] == '.' || s[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (s[i - 1] == '.')
				return false;
		} else if (!sv_atext((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

static bool sv_quoted_local(const char *s, size_t len)
{
	if (len < 2 || s[0] != '"' || s[len - 1] != '"')
		return false;
	for (size_t i = 1; i + 1 < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\\') {
			if (++i + 1 >= len)
				return false;
		} else if (c == '"' || c < 0x20 || c == 0x7f) {
			return false;
		}
	}
	return true;
}

static bool sv_domain_valid(const char *s, size_t len)
{
	if (len == 0 || len > 253)
		return false;
	if (s[0] == '[') {
		if (len < 3 || s[len - 1] != ']')
			return false;
		for (size_t i = 1; i + 1 < len; i++) {
			unsigned char c = (unsigned char)s[i];
			if (c <= 0x20 || c == '[' || c == ']' || c == '\\' ||
			    c == 0x7f)
				return false;
		}
		return true;
	}
	size_t label = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c >= 0x80 || c == '-';
		if (!ok || (c == '-' && label == 0) || ++label > 63)
			return false;
	}
	return label > 0 && s[len - 1] != '-';
}

bool sv_addr_spec_valid(const char *s, size_t len)
{
	if (len == 0 || len > 254)
		return false;
	/* The local part ends at the last '@' (a quoted one may hold '@'). */
	const char *at = NULL;
	for (size_t i = 0; i < len; i++)
		if (s[i] == '@')
			at = s + i;
	if (at == NULL)
		return false;
	size_t local = (size_t)(at - s);
	if (local == 0 || local > 64 + 2)
		return false;
	if (!sv_dot_atom(s, local) && !sv_quoted_local(s, local))
		return false;
	return sv_domain_valid(at + 1, len - local - 1);
}

bool sv_mailbox_valid(const char *s, size_t len, size_t *off_r,
		      size_t *len_r)
{
	while (len > 0 && (s[0] == ' ' || s[0] == '\t')) {
		s++;
		len--;
		(*off_r)++;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len > 0 && s[len - 1] == '>') {
		const char *lt = memchr(s, '<', len);
		if (lt == NULL)
			return false;
		/* The display name: no controls, no second angle. */
		for (const char *p = s; p < lt; p++)
			if ((unsigned char)*p < 0x20 || *p == '>' ||
			    *p == 0x7f)
				return false;
		size_t off = (size_t)(lt - s) + 1;
		if (memchr(lt + 1, '<', len - off) != NULL)
			return false;
		*off_r += off;
		*len_r = len - off - 1;
		return sv_addr_spec_valid(s + off, len - off - 1);
	}
	*len_r = len;
	return sv_addr_spec_valid(s, len);
}

/* Address lists */

struct sv_addr_scan {
	const char *s;
	size_t len, pos;
};

/* Skips a (nested) comment at pos; depth is bounded by the length. */
static void sv_skip_comment(struct sv_addr_scan *sc)
{
	size_t depth = 0;

	while (sc->pos < sc->len) {
		char c = sc->s[sc->pos++];
		if (c == '\\')
			sc->pos++;
		else if (c == '(')
			depth++;
		else if (c == ')' && --depth == 0)
			return;
	}
}

static void sv_skip_quoted(struct sv_addr_scan *sc)
{
	sc->pos++;
	while (sc->pos < sc->len) {
		char c = sc->s[sc->pos++];
		if (c == '\\')
			sc->pos++;
		else if (c == '"')
			return;
	}
}

static struct sv_val sv_trim(const char *s, size_t len)
{
	while (len > 0 && (*s == ' ' || *s == '\t' || *s == '\r' ||
			   *s == '\n')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
			   s[len - 1] == '\r' || s[len - 1] == '\n'))
		len--;
	struct sv_val v = { s, len };
	return v;
}

/* Copies s without comments and unquoted whitespace, quotes removed from
 * quoted strings: "a . b"@x (c) -> a . b@x. */
static char *sv_addr_clean(struct sv_arena *arena, const char *s, size_t len,
			   size_t *len_r)
{
	char *out = sv_arena_alloc(arena, len + 1);
	struct sv_addr_scan sc = { s, len, 0 };
	size_t n = 0;

	if (out == NULL)
		return NULL;
	while (sc.pos < len) {
		char c = s[sc.pos];
		if (c == '(') {
			sv_skip_comment(&sc);
		} else if (c == '"') {
			sc.pos++;
			while (sc.pos < len && s[sc.pos] != '"') {
				if (s[sc.pos] == '\\' && sc.pos + 1 < len)
					sc.pos++;
				out[n++] = s[sc.pos++];
			}
			sc.pos++;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			sc.pos++;
		} else {
			out[n++] = c;
			sc.pos++;
		}
	}
	out[n] = '\0';
	*len_r = n;
	return out;
}

/* One mailbox's text (between list separators): its addr-spec is inside
 * <...> when there is an angle-addr, else the whole text. */
static int sv_addr_one(struct sv_arena *arena, const char *s, size_t len,
		       struct sv_addr *a)
{
	struct sv_addr_scan sc = { s, len, 0 };
	size_t lt = SIZE_MAX, gt = SIZE_MAX;

	memset(a, 0, sizeof(*a));
	a->raw = sv_trim(s, len);
	while (sc.pos < len) {
		char c = s[sc.pos];
		if (c == '(') {
			sv_skip_comment(&sc);
			continue;
		}
		if (c == '"') {
			sv_skip_quoted(&sc);
			continue;
		}
		if (c == '<' && lt == SIZE_MAX)
			lt = sc.pos;
		else if (c == '>' && lt != SIZE_MAX && gt == SIZE_MAX)
			gt = sc.pos;
		sc.pos++;
	}
	const char *spec = s;
	size_t spec_len = len;
	if (lt != SIZE_MAX) {
		if (gt == SIZE_MAX)
			return 0;
		spec = s + lt + 1;
		spec_len = gt - lt - 1;
	}
	size_t clen;
	char *clean = sv_addr_clean(arena, spec, spec_len, &clen);
	if (clean == NULL)
		return -ENOMEM;
	/* An obsolete route: @a,@b:local@domain */
	if (clen > 0 && clean[0] == '@') {
		char *colon = memchr(clean, ':', clen);
		if (colon == NULL)
			return 0;
		clen -= (size_t)(colon + 1 - clean);
		clean = colon + 1;
	}
	char *at = NULL;
	for (size_t i = 0; i < clen; i++)
		if (clean[i] == '@')
			at = clean + i;
	if (at == NULL || at == clean || at == clean + clen - 1)
		return 0;
	a->local.s = clean;
	a->local.len = (size_t)(at - clean);
	a->domain.s = at + 1;
	a->domain.len = clen - a->local.len - 1;
	a->valid = true;
	return 0;
}

int sv_addr_list_parse(struct sv_arena *arena, const char *s, size_t len,
		       size_t max, struct sv_addr **addrs_r, size_t *n_r)
{
	struct sv_addr_scan sc = { s, len, 0 };
	size_t start = 0, n = 0, cap = 0;
	struct sv_addr *addrs = NULL;
	bool angle = false;

	*addrs_r = NULL;
	*n_r = 0;
	/* Entries are at most one per separator: count them for the array. */
	for (size_t i = 0; i < len; i++)
		if (s[i] == ',' || s[i] == ';' || s[i] == ':')
			cap++;
	cap = cap + 1 < max ? cap + 1 : max;
	if (cap == 0)
		return 0;
	addrs = sv_arena_alloc(arena, cap * sizeof(*addrs));
	if (addrs == NULL)
		return -ENOMEM;
	while (n < cap) {
		bool end = sc.pos >= len;
		char c = end ? ',' : s[sc.pos];
		if (!end && c == '(') {
			sv_skip_comment(&sc);
			continue;
		}
		if (!end && c == '"') {
			sv_skip_quoted(&sc);
			continue;
		}
		if (c == '<')
			angle = true;
		else if (c == '>')
			angle = false;
		if (!angle && (c == ',' || c == ';' || c == ':')) {
			/* ':' ends a group's display name: dropped. */
			if (c != ':') {
				struct sv_addr a;
				int ret = sv_addr_one(arena, s + start,
						      sc.pos - start, &a);
				if (ret < 0)
					return ret;
				if (a.raw.len > 0)
					addrs[n++] = a;
			}
			start = sc.pos + 1;
		}
		if (end)
			break;
		sc.pos++;
	}
	*addrs_r = addrs;
	*n_r = n;
	return 0;
}

bool sv_header_name_valid(const char *s, size_t len)
{
	if (len == 0 || len > 997)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 33 || c > 126 || c == ':')
			return false;
	}
	return true;
}

bool sv_address_header(const char *s, size_t len)
{
	static const char *const names[] = {
		"from", "sender", "reply-to", "to", "cc", "bcc",
		"resent-from", "resent-sender", "resent-reply-to",
		"resent-to", "resent-cc", "resent-bcc", "return-path",
		"delivered-to", "envelope-to", "x-original-to",
		"x-envelope-to", "errors-to", "disposition-notification-to",
		"mail-followup-to", "mail-reply-to", "original-recipient",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (sv_eq_ci(s, len, names[i]))
			return true;
	return false;
}

static bool sv_no_controls(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return sv_utf8_valid(s, len, NULL);
}

bool sv_mailbox_name_valid(const char *s, size_t len)
{
	return len > 0 && len <= 1024 && sv_no_controls(s, len);
}

bool sv_script_name_valid(const char *s, size_t len)
{
	return len > 0 && len <= 512 && memchr(s, '/', len) == NULL &&
	       sv_no_controls(s, len);
}

bool sieve_script_name_valid(const char *name, size_t len)
{
	return name != NULL && sv_script_name_valid(name, len);
}

bool sv_zone_parse(const char *s, size_t len, int *minutes_r)
{
	if (len != 5 || (s[0] != '+' && s[0] != '-'))
		return false;
	for (int i = 1; i < 5; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	int h = (s[1] - '0') * 10 + (s[2] - '0');
	int m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > 23 || m > 59)
		return false;
	*minutes_r = (s[0] == '-' ? -1 : 1) * (h * 60 + m);
	return true;
}

int sv_datepart_find(const char *s, size_t len)
{
	static const char *const names[] = {
		[SV_DP_YEAR] = "year", [SV_DP_MONTH] = "month",
		[SV_DP_DAY] = "day", [SV_DP_DATE] = "date",
		[SV_DP_JULIAN] = "julian", [SV_DP_HOUR] = "hour",
		[SV_DP_MINUTE] = "minute", [SV_DP_SECOND] = "second",
		[SV_DP_TIME] = "time", [SV_DP_ISO8601] = "iso8601",
		[SV_DP_STD11] = "std11", [SV_DP_ZONE] = "zone",
		[SV_DP_WEEKDAY] = "weekday",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (sv_eq_ci(s, len, names[i]))
			return (int)i;
	return -1;
}

/* RFC 2045 token characters. */
static bool sv_mime_token(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7f ||
		    strchr("()<>@,;:\\\"/[]?=", c) != NULL)
			return false;
	}
	return true;
}

bool sv_content_type_valid(const char *s, size_t len)
{
	if (len == 0)
		return true;
	const char *slash = memchr(s, '/', len);
	if (slash == NULL)
		return sv_mime_token(s, len);
	size_t tlen = (size_t)(slash - s);
	return sv_mime_token(s, tlen) &&
	       sv_mime_token(slash + 1, len - tlen - 1);
}

bool sv_flag_valid(const char *s, size_t len)
{
	size_t i = 0;

	if (len > 0 && s[0] == '\\')
		i = 1;
	if (i >= len || len > 256)
		return false;
	for (; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return false;
	}
	return true;
}
