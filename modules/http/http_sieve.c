/* The panel's Sieve script (http_sieve.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_sieve.h"

#define SETTINGS_PREFIX "# postino-panel-settings: "

/* A Sieve quoted string (RFC 5228 2.4.2): \ and " escaped; CRLF line
 * ends are allowed inside. */
static int sieve_quoted(struct hbuf *out, const char *s)
{
	int ret = hbuf_str(out, "\"");

	for (; *s != '\0' && ret == 0; s++) {
		if (*s == '"' || *s == '\\')
			ret = hbuf_add(out, "\\", 1);
		if (ret == 0)
			ret = hbuf_add(out, s, 1);
	}
	return ret == 0 ? hbuf_str(out, "\"") : ret;
}

static int settings_line(const struct panel_rules *r, struct hbuf *out)
{
	hbuf_str(out, SETTINGS_PREFIX "v=1&vacation=");
	hbuf_str(out, r->vacation ? "1" : "0");
	hbuf_str(out, "&subject=");
	hbuf_urlenc(out, r->subject);
	hbuf_str(out, "&text=");
	hbuf_urlenc(out, r->text);
	hbuf_str(out, "&start=");
	hbuf_urlenc(out, r->start);
	hbuf_str(out, "&end=");
	hbuf_urlenc(out, r->end);
	for (size_t i = 0; i < r->forward_count; i++) {
		hbuf_str(out, "&forward=");
		hbuf_urlenc(out, r->forward[i]);
	}
	hbuf_str(out, "&keep=");
	return hbuf_str(out, r->keep ? "1\r\n" : "0\r\n");
}

int panel_script(const struct panel_rules *r, struct hbuf *out)
{
	hbuf_str(out, "# Written by the Postino panel: automatic reply and "
		 "forwarding.\r\n# Change them in the panel. If you edit this "
		 "script by hand, the panel\r\n# treats it as yours and asks "
		 "before replacing it.\r\n");
	settings_line(r, out);
	hbuf_str(out, "require [\"vacation\", \"date\", \"relational\", "
		 "\"copy\"];\r\n");
	if (r->vacation) {
		const char *indent = "";
		if (r->start[0] != '\0' || r->end[0] != '\0') {
			hbuf_str(out, "if allof (");
			if (r->start[0] != '\0')
				hbuf_printf(out, "currentdate :value \"ge\" "
					    "\"date\" \"%s\"", r->start);
			if (r->start[0] != '\0' && r->end[0] != '\0')
				hbuf_str(out, ", ");
			if (r->end[0] != '\0')
				hbuf_printf(out, "currentdate :value \"le\" "
					    "\"date\" \"%s\"", r->end);
			hbuf_str(out, ") {\r\n");
			indent = "    ";
		}
		hbuf_printf(out, "%svacation :days 1 :subject ", indent);
		sieve_quoted(out, r->subject);
		hbuf_str(out, " ");
		sieve_quoted(out, r->text);
		hbuf_str(out, ";\r\n");
		if (indent[0] != '\0')
			hbuf_str(out, "}\r\n");
	}
	for (size_t i = 0; i < r->forward_count; i++) {
		hbuf_str(out, r->keep ? "redirect :copy " : "redirect ");
		sieve_quoted(out, r->forward[i]);
		hbuf_str(out, ";\r\n");
	}
	return out->overflow ? -E2BIG : 0;
}

static void copy_field(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src != NULL ? src : "");
}

/* The rules a settings form (or the settings line) gives, checked. */
int panel_rules_from_form(const struct form *f, struct panel_rules *r,
			  const char **what_r)
{
	const char *subject = form_get(f, "subject");
	const char *text = form_get(f, "text");
	const char *start = form_get(f, "start");
	const char *end = form_get(f, "end");
	const char *v = form_get(f, "vacation");

	memset(r, 0, sizeof(*r));
	*what_r = NULL;
	r->vacation = v != NULL && strcmp(v, "1") == 0;
	const char *k = form_get(f, "keep");
	r->keep = k != NULL && strcmp(k, "1") == 0;
	if (subject != NULL && strlen(subject) > PANEL_SUBJECT_MAX)
		*what_r = "err_subject";
	if (text != NULL && strlen(text) > PANEL_TEXT_MAX / 2)
		*what_r = "err_text";
	copy_field(r->subject, sizeof(r->subject), subject);
	/* Subjects are one line. */
	for (char *p = r->subject; *p != '\0'; p++)
		if (*p == '\r' || *p == '\n')
			*p = ' ';
	/* The reply's text with CRLF line ends, whatever the browser sent. */
	size_t o = 0;
	for (const char *p = text != NULL ? text : ""; *p != '\0' &&
	     o + 2 < sizeof(r->text); p++) {
		if (*p == '\r')
			continue;
		if (*p == '\n')
			r->text[o++] = '\r';
		r->text[o++] = *p;
	}
	r->text[o] = '\0';
	copy_field(r->start, sizeof(r->start), start);
	copy_field(r->end, sizeof(r->end), end);
	if ((r->start[0] != '\0' && !iso_date_valid(r->start)) ||
	    (r->end[0] != '\0' && !iso_date_valid(r->end)) ||
	    (start != NULL && strlen(start) > 10) ||
	    (end != NULL && strlen(end) > 10))
		*what_r = "err_date";
	else if (r->start[0] != '\0' && r->end[0] != '\0' &&
		 strcmp(r->start, r->end) > 0)
		*what_r = "err_date_order";
	if (r->vacation && (r->subject[0] == '\0' || r->text[0] == '\0'))
		*what_r = "err_vacation_empty";
	/* Forwarding addresses: "forward" fields, each one or more
	 * addresses separated by commas, blanks or line ends. */
	for (size_t i = 0; i < f->count && *what_r == NULL; i++) {
		if (strcmp(f->name[i], "forward") != 0)
			continue;
		const char *p = f->value[i];
		while (*p != '\0' && *what_r == NULL) {
			size_t skip = strspn(p, " ,;\r\n\t");
			p += skip;
			size_t n = strcspn(p, " ,;\r\n\t");
			if (n == 0)
				break;
			if (r->forward_count == PANEL_FORWARD_MAX) {
				*what_r = "err_forward_many";
				break;
			}
			char addr[255];
			if (n >= sizeof(addr)) {
				*what_r = "err_forward";
				break;
			}
			memcpy(addr, p, n);
			addr[n] = '\0';
			if (!address_plausible(addr)) {
				*what_r = "err_forward";
				break;
			}
			bool dup = false;
			for (size_t j = 0; j < r->forward_count; j++)
				dup |= strcasecmp(r->forward[j], addr) == 0;
			if (!dup)
				memcpy(r->forward[r->forward_count++], addr,
				       n + 1);
			p += n;
		}
	}
	return *what_r != NULL ? -EINVAL : 0;
}

int panel_script_read(const char *text, size_t len, struct panel_rules *r)
{
	memset(r, 0, sizeof(*r));
	const char *line = NULL;
	for (const char *p = text; p < text + len;) {
		const char *eol = memchr(p, '\n', (size_t)(text + len - p));
		size_t n = eol != NULL ? (size_t)(eol - p) : (size_t)(text + len - p);
		if (n >= strlen(SETTINGS_PREFIX) &&
		    memcmp(p, SETTINGS_PREFIX, strlen(SETTINGS_PREFIX)) == 0) {
			line = p;
			break;
		}
		p += n + 1;
	}
	if (line == NULL)
		return 0;
	const char *start = line + strlen(SETTINGS_PREFIX);
	size_t n = strcspn(start, "\r\n");
	struct form f;
	int ret = form_parse(&f, start, n);
	if (ret == -ENOMEM)
		return ret;
	const char *what;
	const char *v = form_get(&f, "v");
	if (ret < 0 || v == NULL || strcmp(v, "1") != 0 ||
	    panel_rules_from_form(&f, r, &what) < 0) {
		form_free(&f);
		memset(r, 0, sizeof(*r));
		return 0;
	}
	form_free(&f);
	/* Ours only when it is exactly what we would write. */
	struct hbuf again;
	hbuf_init(&again, 64 * 1024);
	ret = panel_script(r, &again);
	int ours = ret == 0 && again.len == len &&
		   memcmp(again.data, text, len) == 0;
	hbuf_free(&again);
	return ours;
}
