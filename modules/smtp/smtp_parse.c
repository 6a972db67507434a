/* SMTP command syntax: verb split, MAIL FROM / RCPT TO paths and
 * parameters, EHLO argument. See smtp_parse.h. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "smtp_parse.h"

/* A cursor over the argument; never read past end. */
struct cur {
	const unsigned char *p;
	const unsigned char *end;
};

static int is_alpha(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int is_alnum(int c)
{
	return is_alpha(c) || is_digit(c);
}

/* RFC 5322 atext, ASCII part. */
static int is_atext(int c)
{
	return is_alnum(c) || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

static int to_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Length of the well-formed UTF-8 sequence of a non-ASCII character at p
 * (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	size_t left = (size_t)(end - p), n, i;
	unsigned c = p[0];
	unsigned lo = 0x80, hi = 0xbf;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (left < n)
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++) {
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	}
	return n;
}

size_t smtp_parse_verb(const char *line, size_t len, const char **arg_r,
		       size_t *arg_len_r)
{
	size_t verb = 0, arg;

	while (verb < len && is_alpha((unsigned char)line[verb]))
		verb++;
	if (verb == 0 || (verb < len && line[verb] != ' '))
		return 0;
	arg = verb;
	while (arg < len && line[arg] == ' ')
		arg++;
	while (len > arg && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	*arg_r = line + arg;
	*arg_len_r = len - arg;
	return verb;
}

/* ---- addresses ---------------------------------------------------------- */

struct out {
	char *buf;
	size_t len;
	size_t max;
	int overflow;
};

static void out_byte(struct out *o, int c)
{
	if (o->len >= o->max) {
		o->overflow = 1;
		return;
	}
	o->buf[o->len++] = (char)c;
}

/* Dot-string (RFC 5321): atoms of atext (or UTF-8 when allowed) separated
 * by single dots. Copies it to o when o is not NULL. */
static int parse_dot_string(struct cur *c, struct out *o, int *utf8)
{
	int atom = 0; /* bytes in the current atom */

	while (c->p < c->end) {
		unsigned ch = *c->p;
		size_t n = 1;

		if (ch == '.') {
			if (atom == 0)
				return -1;
			atom = 0;
		} else if (ch >= 0x80) {
			n = utf8_len(c->p, c->end);
			if (n == 0)
				return -1;
			*utf8 = 1;
			atom++;
		} else if (is_atext((int)ch)) {
			atom++;
		} else {
			break;
		}
		for (size_t i = 0; o != NULL && i < n; i++)
			out_byte(o, c->p[i]);
		c->p += n;
	}
	return atom > 0 ? 0 : -1;
}

/* Quoted-string local part: the content is kept unquoted in tmp (escapes
 * removed), then written back quoted only when it is not a dot-string. */
static int parse_quoted(struct cur *c, struct out *o, int *utf8)
{
	char tmp[SMTP_ADDRESS_MAX + 1];
	size_t n = 0;

	c->p++; /* the opening quote */
	for (;;) {
		if (c->p >= c->end)
			return -1;
		unsigned ch = *c->p;
		if (ch == '"') {
			c->p++;
			break;
		}
		if (ch == '\\') {
			c->p++;
			if (c->p >= c->end || *c->p < 32 || *c->p > 126)
				return -1;
			ch = *c->p;
		} else if (ch >= 0x80) {
			size_t len = utf8_len(c->p, c->end);
			if (len == 0 || n + len > SMTP_ADDRESS_MAX)
				return -1;
			memcpy(tmp + n, c->p, len);
			n += len;
			c->p += len;
			*utf8 = 1;
			continue;
		} else if (ch < 32 || ch > 126) {
			return -1;
		}
		if (n >= SMTP_ADDRESS_MAX)
			return -1;
		tmp[n++] = (char)ch;
		c->p++;
	}
	if (n == 0)
		return -1; /* "" is not a useful mailbox */

	struct cur inner = { (const unsigned char *)tmp,
			     (const unsigned char *)tmp + n };
	int dummy = 0;
	if (parse_dot_string(&inner, NULL, &dummy) == 0 &&
	    inner.p == inner.end) {
		for (size_t i = 0; i < n; i++)
			out_byte(o, (unsigned char)tmp[i]);
		return 0;
	}
	out_byte(o, '"');
	for (size_t i = 0; i < n; i++) {
		if (tmp[i] == '"' || tmp[i] == '\\')
			out_byte(o, '\\');
		out_byte(o, (unsigned char)tmp[i]);
	}
	out_byte(o, '"');
	return 0;
}

/* Domain (labels of letters, digits, hyphens or UTF-8, joined by dots) or
 * address literal ("[...]"), lower-cased into o. */
static int parse_domain(struct cur *c, struct out *o, int *utf8)
{
	const unsigned char *start = c->p;

	if (c->p < c->end && *c->p == '[') {
		out_byte(o, '[');
		c->p++;
		while (c->p < c->end && *c->p != ']') {
			unsigned ch = *c->p;
			if (ch < 33 || ch > 126 || ch == '[' || ch == '\\')
				return -1;
			out_byte(o, to_lower((int)ch));
			c->p++;
		}
		if (c->p >= c->end || c->p - start < 2)
			return -1;
		out_byte(o, ']');
		c->p++;
		return 0;
	}

	size_t label = 0;
	int last = 0;
	while (c->p < c->end) {
		unsigned ch = *c->p;
		size_t n = 1;

		if (ch == '.') {
			if (label == 0 || last == '-')
				return -1;
			label = 0;
		} else if (ch == '-') {
			if (label == 0)
				return -1;
			label++;
		} else if (ch >= 0x80) {
			n = utf8_len(c->p, c->end);
			if (n == 0)
				return -1;
			*utf8 = 1;
			label++;
		} else if (is_alnum((int)ch)) {
			label++;
		} else {
			break;
		}
		last = (int)ch;
		for (size_t i = 0; i < n; i++)
			out_byte(o, to_lower(c->p[i]));
		c->p += n;
	}
	if (label == 0 || last == '-' || c->p - start > SMTP_DOMAIN_MAX)
		return -1;
	return 0;
}

/* Skips an obsolete source route "@a,@b:" (RFC 5321 says accept, ignore). */
static int skip_source_route(struct cur *c)
{
	if (c->p >= c->end || *c->p != '@')
		return 0;
	for (;;) {
		struct out sink = { NULL, 0, 0, 0 };
		char dummy_buf[1];
		int dummy = 0;

		sink.buf = dummy_buf;
		if (c->p >= c->end || *c->p != '@')
			return -1;
		c->p++;
		if (parse_domain(c, &sink, &dummy) < 0)
			return -1;
		if (c->p < c->end && *c->p == ',') {
			c->p++;
			continue;
		}
		if (c->p < c->end && *c->p == ':') {
			c->p++;
			return 0;
		}
		return -1;
	}
}

/* "<" [route] mailbox ">" or "<>" (allow_null) or "<postmaster>"
 * (allow_postmaster). */
static enum smtp_parse_result parse_path(struct cur *c, struct smtp_path *path,
					 int allow_null, int allow_postmaster)
{
	struct out o = { path->address, 0, SMTP_ADDRESS_MAX, 0 };

	memset(path, 0, sizeof(*path));
	o.buf = path->address;
	if (c->p >= c->end || *c->p != '<')
		return SMTP_PARSE_SYNTAX;
	c->p++;
	if (c->p < c->end && *c->p == '>') {
		c->p++;
		return allow_null ? SMTP_PARSE_OK : SMTP_PARSE_ADDRESS;
	}
	if (allow_postmaster && c->end - c->p >= 11 &&
	    strncasecmp((const char *)c->p, "postmaster>", 11) == 0) {
		memcpy(path->address, "postmaster", 10);
		path->len = path->domain_off = 10;
		path->address[10] = '\0';
		c->p += 11;
		return SMTP_PARSE_OK;
	}
	if (skip_source_route(c) < 0)
		return SMTP_PARSE_ADDRESS;
	if (c->p < c->end && *c->p == '"') {
		if (parse_quoted(c, &o, &path->utf8) < 0)
			return SMTP_PARSE_ADDRESS;
	} else if (parse_dot_string(c, &o, &path->utf8) < 0) {
		return SMTP_PARSE_ADDRESS;
	}
	if (c->p >= c->end || *c->p != '@')
		return SMTP_PARSE_ADDRESS;
	out_byte(&o, '@');
	c->p++;
	size_t domain_off = o.len;
	if (parse_domain(c, &o, &path->utf8) < 0)
		return SMTP_PARSE_ADDRESS;
	if (c->p >= c->end || *c->p != '>')
		return SMTP_PARSE_ADDRESS;
	c->p++;
	if (o.overflow)
		return SMTP_PARSE_ADDRESS;
	path->address[o.len] = '\0';
	path->len = o.len;
	path->domain_off = domain_off;
	return SMTP_PARSE_OK;
}

/* "FROM:" or "TO:", then optional blanks (a common client laxity). */
static int parse_keyword(struct cur *c, const char *kw)
{
	size_t n = strlen(kw);

	if ((size_t)(c->end - c->p) < n ||
	    strncasecmp((const char *)c->p, kw, n) != 0)
		return -1;
	c->p += n;
	while (c->p < c->end && *c->p == ' ')
		c->p++;
	return 0;
}

/* ---- parameters ---------------------------------------------------------- */

struct param {
	const unsigned char *name;
	size_t name_len;
	const unsigned char *value; /* NULL: no "=" */
	size_t value_len;
};

/* esmtp-param = keyword ["=" value], separated by spaces. Returns 1 with a
 * parameter, 0 at the end, -1 on bad syntax. */
static int next_param(struct cur *c, struct param *p)
{
	if (c->p >= c->end)
		return 0;
	if (*c->p != ' ')
		return -1;
	while (c->p < c->end && *c->p == ' ')
		c->p++;
	if (c->p >= c->end)
		return 0;
	p->name = c->p;
	if (!is_alnum(*c->p))
		return -1;
	while (c->p < c->end && (is_alnum(*c->p) || *c->p == '-'))
		c->p++;
	p->name_len = (size_t)(c->p - p->name);
	p->value = NULL;
	p->value_len = 0;
	if (c->p < c->end && *c->p == '=') {
		c->p++;
		p->value = c->p;
		while (c->p < c->end && *c->p >= 33 && *c->p <= 126 &&
		       *c->p != '=')
			c->p++;
		p->value_len = (size_t)(c->p - p->value);
		if (p->value_len == 0)
			return -1;
	}
	if (c->p < c->end && *c->p != ' ')
		return -1;
	return 1;
}

static int param_is(const struct param *p, const char *name)
{
	return p->name_len == strlen(name) &&
	       strncasecmp((const char *)p->name, name, p->name_len) == 0;
}

static int value_is(const struct param *p, const char *value)
{
	return p->value != NULL && p->value_len == strlen(value) &&
	       strncasecmp((const char *)p->value, value, p->value_len) == 0;
}

static void set_bad_param(char *dst, const struct param *p)
{
	size_t n = p->name_len < SMTP_PARAM_NAME_MAX ? p->name_len
						     : SMTP_PARAM_NAME_MAX;
	memcpy(dst, p->name, n);
	dst[n] = '\0';
}

/* RFC 1870: SIZE=1*20DIGIT; saturates at UINT64_MAX. */
static int parse_size_value(const struct param *p, uint64_t *size_r)
{
	uint64_t n = 0;

	if (p->value == NULL || p->value_len > 20)
		return -1;
	for (size_t i = 0; i < p->value_len; i++) {
		unsigned d = p->value[i];
		if (!is_digit((int)d))
			return -1;
		d -= '0';
		if (n > (UINT64_MAX - d) / 10)
			n = UINT64_MAX;
		else if (n != UINT64_MAX)
			n = n * 10 + d;
	}
	*size_r = n;
	return 0;
}

static int is_hex_upper(int c)
{
	return is_digit(c) || (c >= 'A' && c <= 'F');
}

/* RFC 4954 AUTH=xtext or AUTH=<>: accepted and ignored. The value's bytes
 * are already 33..126 without '='; a '+' must start a "+HH" escape. */
static int xtext_ok(const struct param *p)
{
	if (p->value == NULL)
		return 0;
	for (size_t i = 0; i < p->value_len; i++) {
		if (p->value[i] != '+')
			continue;
		if (p->value_len - i < 3 || !is_hex_upper(p->value[i + 1]) ||
		    !is_hex_upper(p->value[i + 2]))
			return 0;
		i += 2;
	}
	return 1;
}

static int has_nul(const char *s, size_t len)
{
	return memchr(s, '\0', len) != NULL;
}

enum smtp_parse_result smtp_parse_mail(const char *arg, size_t len,
				       struct smtp_mail_args *out)
{
	struct cur c = { (const unsigned char *)arg,
			 (const unsigned char *)arg + len };
	struct param p;
	enum smtp_parse_result r;
	int seen_auth = 0, ret;

	memset(out, 0, sizeof(*out));
	if (has_nul(arg, len) || parse_keyword(&c, "FROM:") < 0)
		return SMTP_PARSE_SYNTAX;
	r = parse_path(&c, &out->path, 1, 0);
	if (r != SMTP_PARSE_OK)
		return r;
	while ((ret = next_param(&c, &p)) > 0) {
		if (param_is(&p, "SIZE")) {
			if (out->has_size || parse_size_value(&p, &out->size) < 0)
				goto bad_value;
			out->has_size = 1;
		} else if (param_is(&p, "BODY")) {
			if (out->body != SMTP_BODY_NONE)
				goto bad_value;
			if (value_is(&p, "7BIT"))
				out->body = SMTP_BODY_7BIT;
			else if (value_is(&p, "8BITMIME"))
				out->body = SMTP_BODY_8BITMIME;
			else
				goto bad_value;
		} else if (param_is(&p, "SMTPUTF8")) {
			if (out->smtputf8 || p.value != NULL)
				goto bad_value;
			out->smtputf8 = 1;
		} else if (param_is(&p, "AUTH")) {
			if (seen_auth || !xtext_ok(&p))
				goto bad_value;
			seen_auth = 1;
		} else {
			set_bad_param(out->bad_param, &p);
			return SMTP_PARSE_PARAM_UNKNOWN;
		}
	}
	return ret == 0 ? SMTP_PARSE_OK : SMTP_PARSE_SYNTAX;
bad_value:
	set_bad_param(out->bad_param, &p);
	return SMTP_PARSE_PARAM_VALUE;
}

enum smtp_parse_result smtp_parse_rcpt(const char *arg, size_t len,
				       struct smtp_rcpt_args *out)
{
	struct cur c = { (const unsigned char *)arg,
			 (const unsigned char *)arg + len };
	struct param p;
	enum smtp_parse_result r;
	int ret;

	memset(out, 0, sizeof(*out));
	if (has_nul(arg, len) || parse_keyword(&c, "TO:") < 0)
		return SMTP_PARSE_SYNTAX;
	r = parse_path(&c, &out->path, 0, 1);
	if (r != SMTP_PARSE_OK)
		return r;
	ret = next_param(&c, &p);
	if (ret > 0) {
		/* No RCPT parameters are supported (no DSN NOTIFY yet). */
		set_bad_param(out->bad_param, &p);
		return SMTP_PARSE_PARAM_UNKNOWN;
	}
	return ret == 0 ? SMTP_PARSE_OK : SMTP_PARSE_SYNTAX;
}

int smtp_parse_helo(const char *arg, size_t len)
{
	if (len == 0 || len > SMTP_DOMAIN_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)arg[i];
		if (ch < 33 || ch > 126)
			return 0;
	}
	return 1;
}

enum smtp_parse_result smtp_parse_address(const char *s, size_t len,
					  struct smtp_path *out)
{
	/* Reuse the path parser on "<" s ">": the same rules, the same
	 * normalization; but no source route and nothing after. */
	unsigned char buf[SMTP_ADDRESS_MAX + 3];
	struct cur c;

	memset(out, 0, sizeof(*out));
	if (len == 0 || len > SMTP_ADDRESS_MAX || has_nul(s, len) ||
	    s[0] == '@')
		return SMTP_PARSE_ADDRESS;
	/* Only now that len fits: a pointer past the buffer is undefined
	 * even when it is never used. */
	c = (struct cur){ buf, buf + len + 2 };
	buf[0] = '<';
	memcpy(buf + 1, s, len);
	buf[len + 1] = '>';
	if (parse_path(&c, out, 0, 0) != SMTP_PARSE_OK || c.p != c.end) {
		memset(out, 0, sizeof(*out));
		return SMTP_PARSE_ADDRESS;
	}
	return SMTP_PARSE_OK;
}

int smtp_postmaster_path(const char *configured, const char *hostname,
			 struct smtp_path *out)
{
	char buf[SMTP_ADDRESS_MAX + 1];
	const char *address = configured;

	if (address == NULL || *address == '\0') {
		int n = snprintf(buf, sizeof(buf), "postmaster@%s",
				 hostname != NULL ? hostname : "");
		if (n < 0 || (size_t)n >= sizeof(buf)) {
			memset(out, 0, sizeof(*out));
			return -1;
		}
		address = buf;
	}
	return smtp_parse_address(address, strlen(address), out) ==
			       SMTP_PARSE_OK
		       ? 0
		       : -1;
}
