/* RFC 5322 / RFC 2045 structured header values, as IMAP wants them: not
 * decoded (encoded-words and RFC 2231 values stay as written; clients
 * decode them), only split into their parts. Lenient: anything malformed
 * still yields a well-formed IMAP list. SEARCH reads address lists with
 * the same parser, display names decoded. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "mime/mime_internal.h"

#define MAX_PARAMS 64
#define MAX_SECTIONS 1000

enum tok { T_END, T_ATOM, T_QSTR, T_DLIT, T_SPECIAL };

struct lex {
	const char *p;
	enum tok type;
	const char *text; /* atom / quoted-string (without quotes) / literal */
	size_t len;
	char c;           /* the special */
	const char *comment; /* the last comment skipped, without its
				outer parentheses; NULL when none */
	size_t comment_len;
};

static bool is_special(unsigned char c, bool mime)
{
	/* RFC 5322 specials; RFC 2045 tspecials add '/', '?', '='. */
	if (strchr("()<>@,;:\\\".[]", c))
		return true;
	return mime && strchr("/?=", c);
}

static void skip_cfws(struct lex *l)
{
	int depth = 0;

	while (*l->p) {
		if (*l->p == '(' && depth++ == 0) {
			l->comment = l->p + 1;
			l->comment_len = 0;
		} else if (*l->p == ')' && depth > 0 && --depth == 0) {
			l->comment_len = (size_t)(l->p - l->comment);
		} else if (*l->p == '\\' && depth > 0 && l->p[1]) {
			l->p++;
		} else if (depth == 0 && !isspace((unsigned char)*l->p)) {
			return;
		}
		l->p++;
	}
	if (depth > 0) /* unterminated: up to the end */
		l->comment_len = (size_t)(l->p - l->comment);
}

static enum tok lex_next(struct lex *l, bool mime)
{
	/* Control characters are skipped in a loop, not by recursing: a
	 * header of a million of them would be a million stack frames. */
	for (;;) {
		skip_cfws(l);
		if (!iscntrl((unsigned char)*l->p) || !*l->p)
			break;
		l->p++;
	}
	l->text = l->p;
	l->len = 0;
	if (!*l->p)
		return l->type = T_END;
	if (*l->p == '"' || *l->p == '[') {
		char close = *l->p == '"' ? '"' : ']';

		l->text = ++l->p;
		while (*l->p && *l->p != close) {
			if (*l->p == '\\' && l->p[1])
				l->p++;
			l->p++;
		}
		l->len = (size_t)(l->p - l->text);
		if (*l->p)
			l->p++;
		return l->type = close == '"' ? T_QSTR : T_DLIT;
	}
	if (is_special((unsigned char)*l->p, mime)) {
		l->c = *l->p++;
		return l->type = T_SPECIAL;
	}
	while (*l->p && !isspace((unsigned char)*l->p) &&
	       !is_special((unsigned char)*l->p, mime) &&
	       !iscntrl((unsigned char)*l->p))
		l->p++;
	l->len = (size_t)(l->p - l->text);
	return l->type = T_ATOM;
}

static bool at_special(const struct lex *l, char c)
{
	return l->type == T_SPECIAL && l->c == c;
}

/* Appends the current token's text; quoted strings lose their escapes. */
static void append_token(GString *s, const struct lex *l)
{
	if (l->type == T_SPECIAL) {
		g_string_append_c(s, l->c);
		return;
	}
	if (l->type == T_DLIT)
		g_string_append_c(s, '[');
	for (size_t i = 0; i < l->len; i++) {
		if (l->type != T_ATOM && l->text[i] == '\\' && i + 1 < l->len)
			i++;
		g_string_append_c(s, l->text[i]);
	}
	if (l->type == T_DLIT)
		g_string_append_c(s, ']');
}

static void write_gstr(GString *out, const GString *s)
{
	if (!s || s->len == 0)
		g_string_append(out, "NIL");
	else
		mime_write_nstring(out, s->str, s->len);
}

static void write_address(GString *out, const GString *name,
			  const GString *adl, const GString *mailbox,
			  const GString *host)
{
	g_string_append_c(out, '(');
	write_gstr(out, name);
	g_string_append_c(out, ' ');
	write_gstr(out, adl);
	g_string_append_c(out, ' ');
	if (mailbox->len)
		write_gstr(out, mailbox);
	else
		g_string_append(out, "\"MISSING_MAILBOX\"");
	g_string_append_c(out, ' ');
	if (host->len)
		write_gstr(out, host);
	else
		g_string_append(out, "\"MISSING_DOMAIN\"");
	g_string_append_c(out, ')');
}

/* Reads tokens up to (not including) one of stops, into s: words
 * separated by one space (phrase) or glued (addr-spec). */
static void collect(struct lex *l, GString *s, const char *stops,
		    bool glue)
{
	bool prev_word = false;

	while (l->type != T_END && !(l->type == T_SPECIAL &&
				     strchr(stops, l->c))) {
		bool word = l->type != T_SPECIAL;

		if (!glue && word && prev_word)
			g_string_append_c(s, ' ');
		append_token(s, l);
		prev_word = word || at_special(l, '.');
		lex_next(l, false);
	}
}

/* Inside <...>: [route ":"] local "@" domain. */
static void angle_addr(struct lex *l, GString *adl, GString *mailbox,
		       GString *host)
{
	lex_next(l, false);
	if (at_special(l, '@')) {
		collect(l, adl, ":>", true);
		if (at_special(l, ':'))
			lex_next(l, false);
	}
	collect(l, mailbox, "@>", true);
	if (at_special(l, '@')) {
		lex_next(l, false);
		collect(l, host, ">", true);
	}
	while (l->type != T_END && !at_special(l, ',') && !at_special(l, ';'))
		lex_next(l, false);
}

/* The text of the comment l skipped last (quoted pairs undone, blanks
 * at the ends trimmed) into name. */
static void comment_text(const struct lex *l, GString *name)
{
	for (size_t i = 0; i < l->comment_len; i++) {
		if (l->comment[i] == '\\' && i + 1 < l->comment_len)
			i++;
		g_string_append_c(name, l->comment[i]);
	}
	g_strstrip(name->str);
	name->len = strlen(name->str);
}

/* One element of an address list as the parser hands it on. */
enum addr_kind { ADDR_MAILBOX, ADDR_GROUP_START, ADDR_GROUP_END };

struct addr_parts {
	GString *name, *adl, *mailbox, *host;
};

typedef void addr_emit_fn(void *data, enum addr_kind kind,
			  const struct addr_parts *a);

/* Splits an address list (RFC 5322 3.4, lenient) into its mailboxes and
 * groups, in order, for ENVELOPE and for SEARCH alike. A mailbox written
 * as a bare addr-spec with a comment, "user@domain (Real Name)", has the
 * comment as its display name, as mature servers show it. Returns how
 * many elements it handed on. */
static int address_list_parse(const char *value, addr_emit_fn *emit,
			      void *data)
{
	struct addr_parts a;
	struct lex l = { .p = value };
	bool in_group = false;
	int count = 0;

	a.name = g_string_new(NULL);
	a.adl = g_string_new(NULL);
	a.mailbox = g_string_new(NULL);
	a.host = g_string_new(NULL);
	lex_next(&l, false);
	while (l.type != T_END) {
		bool angle = false;

		g_string_truncate(a.name, 0);
		g_string_truncate(a.adl, 0);
		g_string_truncate(a.mailbox, 0);
		g_string_truncate(a.host, 0);
		l.comment = NULL;
		collect(&l, a.name, "<:@,;>", false);
		if (at_special(&l, ':') && !in_group) {
			emit(data, ADDR_GROUP_START, &a);
			in_group = true;
			count++;
			lex_next(&l, false);
			continue;
		}
		if (at_special(&l, '<')) {
			angle = true;
			angle_addr(&l, a.adl, a.mailbox, a.host);
		} else if (at_special(&l, '@')) {
			/* addr-spec: what was read is the local part */
			/* re-glue the local part without the phrase spaces */
			for (size_t i = 0; i < a.name->len; i++)
				if (a.name->str[i] != ' ')
					g_string_append_c(a.mailbox,
							  a.name->str[i]);
			g_string_truncate(a.name, 0);
			lex_next(&l, false);
			collect(&l, a.host, ",;<>", true);
		} else if (a.name->len) {
			/* a bare word: a mailbox without a domain */
			g_string_assign(a.mailbox, a.name->str);
			g_string_truncate(a.name, 0);
		}
		if (!angle && a.name->len == 0 && l.comment != NULL)
			comment_text(&l, a.name);
		if (a.mailbox->len || a.host->len || a.adl->len) {
			emit(data, ADDR_MAILBOX, &a);
			count++;
		}
		while (l.type != T_END && !at_special(&l, ',') &&
		       !at_special(&l, ';'))
			lex_next(&l, false);
		if (at_special(&l, ';') && in_group) {
			emit(data, ADDR_GROUP_END, &a);
			in_group = false;
		}
		if (l.type != T_END)
			lex_next(&l, false);
	}
	if (in_group)
		emit(data, ADDR_GROUP_END, &a);
	g_string_free(a.name, TRUE);
	g_string_free(a.adl, TRUE);
	g_string_free(a.mailbox, TRUE);
	g_string_free(a.host, TRUE);
	return count;
}

/* ENVELOPE's address structures (RFC 3501 7.4.2). */
static void emit_envelope(void *data, enum addr_kind kind,
			  const struct addr_parts *a)
{
	GString *out = data;

	switch (kind) {
	case ADDR_GROUP_START: /* (NIL NIL "name" NIL) */
		g_string_append(out, "(NIL NIL ");
		write_gstr(out, a->name);
		g_string_append(out, " NIL)");
		break;
	case ADDR_GROUP_END:
		g_string_append(out, "(NIL NIL NIL NIL)");
		break;
	case ADDR_MAILBOX:
		write_address(out, a->name, a->adl, a->mailbox, a->host);
		break;
	}
}

void mime_write_address_list(GString *out, const char *value)
{
	size_t start = out->len;

	if (!value) {
		g_string_append(out, "NIL");
		return;
	}
	g_string_append_c(out, '(');
	if (address_list_parse(value, emit_envelope, out) == 0) {
		g_string_truncate(out, start);
		g_string_append(out, "NIL");
		return;
	}
	g_string_append_c(out, ')');
}

/* SEARCH's text of an address list: "Name <local@domain>", groups as
 * "group: ...;", display names decoded (RFC 2047) to UTF-8. */
static void emit_search(void *data, enum addr_kind kind,
			const struct addr_parts *a)
{
	GString *out = data;
	char *name = NULL;

	if (kind != ADDR_GROUP_END && a->name->len > 0)
		name = g_mime_utils_header_decode_phrase(NULL, a->name->str);
	if (kind != ADDR_GROUP_END && out->len > 0 &&
	    out->str[out->len - 1] != ' ')
		g_string_append(out, ", ");
	switch (kind) {
	case ADDR_GROUP_START:
		g_string_append_printf(out, "%s: ", name ? name : "");
		break;
	case ADDR_GROUP_END:
		g_string_append_c(out, ';');
		break;
	case ADDR_MAILBOX:
		if (name && *name)
			g_string_append_printf(out, "%s ", name);
		g_string_append_c(out, '<');
		if (a->adl->len)
			g_string_append_printf(out, "%s:", a->adl->str);
		g_string_append(out, a->mailbox->str);
		if (a->host->len)
			g_string_append_printf(out, "@%s", a->host->str);
		g_string_append_c(out, '>');
		break;
	}
	g_free(name);
}

void mime_search_address_list(GString *out, const char *value)
{
	GString *list = g_string_new(NULL);

	address_list_parse(value, emit_search, list);
	g_string_append_len(out, list->str, (gssize)list->len);
	g_string_free(list, TRUE);
}

char *mime_first_token(const char *value)
{
	struct lex l = { .p = value };

	if (!value || lex_next(&l, true) != T_ATOM)
		return NULL;
	return g_ascii_strdown(l.text, (gssize)l.len);
}

/* One parameter as written; RFC 2231 "name*N[*]" keeps its section. */
struct param {
	char *name;  /* lower-cased base name */
	int section; /* -1: not split */
	bool ext;    /* charset'lang'%xx form */
	GString *value;
};

/* Parses "base*N*", "base*N", "base*", "base". */
static void param_name(struct param *p, const char *text, size_t len)
{
	char *name = g_ascii_strdown(text, (gssize)len), *star;

	p->section = -1;
	p->ext = false;
	star = strchr(name, '*');
	if (star) {
		char *end;
		long sec;

		*star++ = '\0';
		if (*star == '\0') {
			p->ext = true;
		} else {
			sec = strtol(star, &end, 10);
			if (end != star && sec >= 0 && sec < MAX_SECTIONS &&
			    (*end == '\0' || (end[0] == '*' && !end[1]))) {
				p->section = (int)sec;
				p->ext = *end == '*';
			}
		}
	}
	p->name = name;
}

static int section_cmp(const void *a, const void *b)
{
	const struct param *const *x = a, *const *y = b;

	return (*x)->section - (*y)->section;
}

/* Writes "name[*]" "value" for the sections of ps[first]'s name joined in
 * section order (as Dovecot does; the value is not decoded) and marks the
 * others consumed. */
static void write_joined(GString *out, struct param *ps, size_t n,
			 size_t first)
{
	struct param *same[MAX_PARAMS];
	size_t k = 0;
	GString *v = g_string_new(NULL);
	char *key;

	for (size_t i = first; i < n; i++)
		if (ps[i].name && ps[i].section >= 0 &&
		    !strcmp(ps[i].name, ps[first].name))
			same[k++] = &ps[i];
	qsort(same, k, sizeof(same[0]), section_cmp);
	for (size_t i = 0; i < k; i++) {
		const GString *sv = same[i]->value;

		if (i && same[i]->section == same[i - 1]->section)
			continue;
		if (!same[0]->ext || same[i]->ext) {
			g_string_append_len(v, sv->str, (gssize)sv->len);
			continue;
		}
		/* a plain section inside an extended value: %-encode it so
		 * the joined value stays one RFC 2231 extended value */
		for (size_t j = 0; j < sv->len; j++) {
			unsigned char c = (unsigned char)sv->str[j];

			if (g_ascii_isalnum(c) || strchr("!#$&+-.^_`|~", c))
				g_string_append_c(v, (char)c);
			else
				g_string_append_printf(v, "%%%02X", c);
		}
	}
	key = g_strconcat(ps[first].name, same[0]->ext ? "*" : "", NULL);
	mime_write_cstring(out, key);
	g_free(key);
	g_string_append_c(out, ' ');
	mime_write_nstring(out, v->str, v->len);
	g_string_free(v, TRUE);
	for (size_t i = 0; i < k; i++) {
		if (same[i] == &ps[first])
			continue;
		g_free(same[i]->name);
		same[i]->name = NULL;
		g_string_free(same[i]->value, TRUE);
	}
}

void mime_write_params(GString *out, const char *value)
{
	struct param ps[MAX_PARAMS];
	struct lex l = { .p = value };
	size_t n = 0;
	bool any = false;

	if (!value) {
		g_string_append(out, "NIL");
		return;
	}
	/* skip the type itself: up to the first ';' */
	while (lex_next(&l, true) != T_END && !at_special(&l, ';'))
		;
	while (l.type != T_END && n < MAX_PARAMS) {
		/* at ';' */
		if (lex_next(&l, true) != T_ATOM)
			continue;
		{
			const char *ntext = l.text;
			size_t nlen = l.len;

			if (lex_next(&l, true) != T_SPECIAL || l.c != '=')
				goto skip;
			lex_next(&l, true);
			if (l.type != T_ATOM && l.type != T_QSTR)
				goto skip;
			param_name(&ps[n], ntext, nlen);
			ps[n].value = g_string_new(NULL);
			/* a value may be an atom broken by specials
			 * (unquoted '/' or '='): keep it whole up to ';' */
			do {
				append_token(ps[n].value, &l);
			} while (lex_next(&l, true) != T_END &&
				 !at_special(&l, ';'));
			n++;
			continue;
		}
skip:
		while (l.type != T_END && !at_special(&l, ';'))
			lex_next(&l, true);
	}
	for (size_t i = 0; i < n; i++) {
		if (!ps[i].name)
			continue;
		g_string_append_c(out, any ? ' ' : '(');
		any = true;
		if (ps[i].section >= 0) {
			write_joined(out, ps, n, i);
		} else {
			char *key = g_strconcat(ps[i].name,
						ps[i].ext ? "*" : "", NULL);

			mime_write_cstring(out, key);
			g_free(key);
			g_string_append_c(out, ' ');
			mime_write_nstring(out, ps[i].value->str,
					   ps[i].value->len);
		}
		g_free(ps[i].name);
		g_string_free(ps[i].value, TRUE);
	}
	g_string_append(out, any ? ")" : "NIL");
}
