/* Templates and the notices made from them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pw_notice.h"

#define PW_TEMPLATE_MAX 65536

static const char *const kind_names[PW_T_COUNT] = {
	"notice", "reminder", "last", "last-noreveal", "forced", "advisory",
	"reset", "reset-link",
};
static const char *const lang_names[PW_LANGS] = { "en", "it" };

int pw_lang_index(const char *lang)
{
	return lang != NULL && strcmp(lang, "it") == 0;
}

const char *pw_kind_name(enum pw_kind kind)
{
	return kind_names[kind];
}

static int template_parse(struct pw_template *t, char *text, char *err,
			  size_t errlen, const char *path)
{
	char *eol = strchr(text, '\n');

	if (strncmp(text, "Subject: ", 9) != 0 || eol == NULL ||
	    eol[1] != '\n') {
		snprintf(err, errlen, "%s: must start with a \"Subject: \" "
			 "line and an empty line", path);
		return -EINVAL;
	}
	*eol = '\0';
	/* Headers are ASCII; the body may be UTF-8 (sent as 8bit). */
	for (const char *p = text + 9; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e) {
			snprintf(err, errlen, "%s: the subject must be "
				 "printable ASCII", path);
			return -EINVAL;
		}
	}
	t->subject = strdup(text + 9);
	t->body = strdup(eol + 2);
	return t->subject != NULL && t->body != NULL ? 0 : -ENOMEM;
}

int pw_templates_load(struct pw_templates *t, const char *dir, char *err,
		      size_t errlen)
{
	char path[4096];
	char *text = malloc(PW_TEMPLATE_MAX + 1);

	if (text == NULL)
		return -ENOMEM;
	for (int l = 0; l < PW_LANGS; l++) {
		for (int k = 0; k < PW_T_COUNT; k++) {
			snprintf(path, sizeof(path), "%s/%s/%s.txt", dir,
				 lang_names[l], kind_names[k]);
			FILE *f = fopen(path, "r");
			if (f == NULL) {
				snprintf(err, errlen, "cannot read template "
					 "%s: %s", path, strerror(errno));
				free(text);
				return -ENOENT;
			}
			size_t n = fread(text, 1, PW_TEMPLATE_MAX, f);
			int big = n == PW_TEMPLATE_MAX;
			fclose(f);
			text[n] = '\0';
			int ret = big ? -EFBIG : template_parse(&t->t[l][k],
					text, err, errlen, path);
			if (big)
				snprintf(err, errlen, "%s: too big", path);
			if (ret < 0) {
				free(text);
				return ret;
			}
		}
	}
	free(text);
	return 0;
}

void pw_templates_free(struct pw_templates *t)
{
	for (int l = 0; l < PW_LANGS; l++) {
		for (int k = 0; k < PW_T_COUNT; k++) {
			free(t->t[l][k].subject);
			free(t->t[l][k].body);
			t->t[l][k].subject = t->t[l][k].body = NULL;
		}
	}
}

void pw_vars_add(struct pw_vars *v, const char *name, const char *value)
{
	if (v->n < sizeof(v->name) / sizeof(v->name[0])) {
		v->name[v->n] = name;
		v->value[v->n] = value;
		v->n++;
	}
}

/* A growing buffer; failed sticks. */
struct buf {
	char *data;
	size_t len, cap;
	int failed;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap > 0 ? b->cap : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *grown = malloc(cap);
		if (grown == NULL) {
			b->failed = 1;
			return;
		}
		/* Copy, wipe, free: the old buffer may hold a password. */
		if (b->len > 0)
			memcpy(grown, b->data, b->len);
		if (b->data != NULL)
			explicit_bzero(b->data, b->cap);
		free(b->data);
		b->data = grown;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* Text with placeholders replaced and LF turned into CRLF. */
static void buf_expand(struct buf *b, const char *text,
		       const struct pw_vars *v)
{
	for (const char *p = text; *p != '\0';) {
		if (p[0] == '{' && p[1] == '{') {
			const char *end = strstr(p + 2, "}}");
			size_t i;
			for (i = 0; end != NULL && i < v->n; i++) {
				size_t n = strlen(v->name[i]);
				if ((size_t)(end - p - 2) == n &&
				    strncmp(p + 2, v->name[i], n) == 0)
					break;
			}
			if (end != NULL && i < v->n) {
				buf_str(b, v->value[i]);
				p = end + 2;
				continue;
			}
		}
		if (*p == '\n')
			buf_add(b, "\r\n", 2);
		else if (*p != '\r')
			buf_add(b, p, 1);
		p++;
	}
}

char *pw_notice_build(const struct pw_template *t, const struct pw_head *h,
		      const struct pw_vars *v, size_t *len_r)
{
	struct buf b = { 0 };
	char line[1024], date[64];
	time_t tt = (time_t)h->date;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	snprintf(line, sizeof(line), "From: %s <%s>\r\nTo: <%s>\r\n"
		 "Date: %s\r\nMessage-ID: <pwpolicy.%s.%lld.%s@%s>\r\n",
		 h->from_name, h->from, h->to, date, h->kind,
		 (long long)h->date, h->unique, h->hostname);
	buf_str(&b, line);
	buf_str(&b, "Subject: ");
	buf_expand(&b, t->subject, v);
	buf_str(&b, "\r\nAuto-Submitted: auto-generated\r\n"
		    "MIME-Version: 1.0\r\n"
		    "Content-Type: text/plain; charset=utf-8\r\n"
		    "Content-Transfer-Encoding: 8bit\r\n\r\n");
	buf_expand(&b, t->body, v);
	if (b.failed) {
		if (b.data != NULL)
			explicit_bzero(b.data, b.cap);
		free(b.data);
		return NULL;
	}
	*len_r = b.len;
	return b.data;
}
