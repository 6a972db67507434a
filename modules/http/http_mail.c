/* The panel's texts and mails from etc/templates/http: per language a
 * catalog (panel.txt: "key = text" lines), and the mails confirm.txt and
 * changed.txt ("Subject: ..." in ASCII, an empty line, the body with
 * {{name}} placeholders); panel.css beside them. Mails go out as the
 * server's own (null sender, Auto-Submitted), local recipients into
 * their mailbox, others through the queue. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "http.h"

#define TEMPLATE_MAX (64 * 1024)

static const char *const lang_dirs[HTTP_LANGS] = { "en", "it" };
static const char *const mail_names[HTTP_MAIL_COUNT] = { "confirm",
							 "changed" };

static char *read_file(const char *path, size_t *len_r, char *err,
		       size_t errlen)
{
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		snprintf(err, errlen, "cannot read %s: %s", path,
			 strerror(errno));
		return NULL;
	}
	char *text = malloc(TEMPLATE_MAX + 1);
	size_t n = text != NULL ? fread(text, 1, TEMPLATE_MAX + 1, f) : 0;
	fclose(f);
	if (text == NULL || n > TEMPLATE_MAX) {
		snprintf(err, errlen, "%s: %s", path,
			 text == NULL ? "out of memory" : "too big");
		free(text);
		return NULL;
	}
	text[n] = '\0';
	*len_r = n;
	return text;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
			 s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

static int catalog_load(struct http_text *t, const char *path, char *err,
			size_t errlen)
{
	size_t len;
	char *text = read_file(path, &len, err, errlen);
	int line_no = 0;

	if (text == NULL)
		return -ENOENT;
	for (char *line = strtok(text, "\n"); line != NULL;
	     line = strtok(NULL, "\n")) {
		line_no++;
		char *l = trim(line);
		if (l[0] == '\0' || l[0] == '#')
			continue;
		char *eq = strchr(l, '=');
		if (eq == NULL) {
			snprintf(err, errlen, "%s: a line without '=': %.40s",
				 path, l);
			free(text);
			return -EINVAL;
		}
		*eq = '\0';
		char **keys = realloc(t->key, (t->count + 1) * sizeof(char *));
		if (keys != NULL)
			t->key = keys;
		char **values = realloc(t->value,
					(t->count + 1) * sizeof(char *));
		if (values != NULL)
			t->value = values;
		if (keys == NULL || values == NULL) {
			free(text);
			return -ENOMEM;
		}
		t->key[t->count] = strdup(trim(l));
		t->value[t->count] = strdup(trim(eq + 1));
		t->count++;
	}
	(void)line_no;
	free(text);
	return 0;
}

static int mail_load(struct http_mail_template *m, const char *path,
		     char *err, size_t errlen)
{
	size_t len;
	char *text = read_file(path, &len, err, errlen);

	if (text == NULL)
		return -ENOENT;
	char *eol = strchr(text, '\n');
	if (strncmp(text, "Subject: ", 9) != 0 || eol == NULL ||
	    eol[1] != '\n') {
		snprintf(err, errlen, "%s: must start with a \"Subject: \" "
			 "line and an empty line", path);
		free(text);
		return -EINVAL;
	}
	*eol = '\0';
	for (const char *p = text + 9; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e) {
			snprintf(err, errlen, "%s: the subject must be "
				 "printable ASCII", path);
			free(text);
			return -EINVAL;
		}
	}
	m->subject = strdup(text + 9);
	m->body = strdup(eol + 2);
	free(text);
	return m->subject != NULL && m->body != NULL ? 0 : -ENOMEM;
}

int http_templates_load(struct http_server *srv, const char *dir, char *err,
			size_t errlen)
{
	char path[4096];
	int ret;

	for (int l = 0; l < HTTP_LANGS; l++) {
		snprintf(path, sizeof(path), "%s/%s/panel.txt", dir,
			 lang_dirs[l]);
		if ((ret = catalog_load(&srv->text[l], path, err, errlen)) < 0)
			return ret;
		for (int k = 0; k < HTTP_MAIL_COUNT; k++) {
			snprintf(path, sizeof(path), "%s/%s/%s.txt", dir,
				 lang_dirs[l], mail_names[k]);
			ret = mail_load(&srv->mail[l][k], path, err, errlen);
			if (ret < 0)
				return ret;
		}
	}
	snprintf(path, sizeof(path), "%s/panel.css", dir);
	srv->css = read_file(path, &srv->css_len, err, errlen);
	return srv->css != NULL ? 0 : -ENOENT;
}

void http_templates_free(struct http_server *srv)
{
	for (int l = 0; l < HTTP_LANGS; l++) {
		for (int k = 0; k < HTTP_MAIL_COUNT; k++) {
			free(srv->mail[l][k].subject);
			free(srv->mail[l][k].body);
		}
	}
}

static const char *var_value(const char *const *vars, const char *name,
			     size_t len)
{
	for (size_t i = 0; vars[i] != NULL && vars[i + 1] != NULL; i += 2)
		if (strlen(vars[i]) == len && strncmp(vars[i], name, len) == 0)
			return vars[i + 1];
	return NULL;
}

/* The body with placeholders filled and CRLF line ends. */
static void fill(struct hbuf *o, const char *body, const char *const *vars)
{
	for (const char *p = body; *p != '\0'; p++) {
		if (p[0] == '{' && p[1] == '{') {
			const char *end = strstr(p + 2, "}}");
			const char *v = end != NULL
						? var_value(vars, p + 2,
							    (size_t)(end - p - 2))
						: NULL;
			if (v != NULL) {
				hbuf_str(o, v);
				p = end + 1;
				continue;
			}
		}
		if (*p == '\n')
			hbuf_str(o, "\r\n");
		else if (*p != '\r')
			hbuf_add(o, p, 1);
	}
}

static void mail_done(void *data, int status)
{
	struct http_server *srv = data;

	if (status < 0)
		srv->host->core->log(srv->mod, POSTINO_LOG_ERROR, NULL,
				     "a panel mail was not delivered: %s",
				     strerror(-status));
}

int http_mail_send(struct http_server *srv, enum http_mail_kind kind,
		   int lang, const char *to, const char *const *vars)
{
	const struct postino_host *host = srv->host;
	const struct http_mail_template *t = &srv->mail[lang][kind];
	const char *hostname = host->core->hostname(srv->mod);
	unsigned char raw[12];
	char unique[25], date[64];
	struct hbuf m;
	int ret;

	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
		return -EIO;
	hex_encode(raw, sizeof(raw), unique);
	time_t now = (time_t)(host->core->now_ms() / 1000);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	hbuf_init(&m, 128 * 1024);
	hbuf_printf(&m, "From: %s <%s>\r\nTo: <%s>\r\nSubject: %s\r\n"
		    "Date: %s\r\nMessage-ID: <panel.%s.%s@%s>\r\n"
		    "Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n"
		    "Content-Type: text/plain; charset=utf-8\r\n"
		    "Content-Transfer-Encoding: 8bit\r\n\r\n",
		    srv->from_name, srv->from, to, t->subject, date,
		    mail_names[kind], unique, hostname);
	fill(&m, t->body, vars);
	postino_msg *msg = host->mail->msg_new(srv->mod, NULL);
	ret = msg == NULL ? -ENOMEM : m.overflow ? -E2BIG : 0;
	if (ret == 0)
		ret = host->mail->msg_append(msg, m.data, m.len);
	explicit_bzero(m.data, m.len); /* links are secrets */
	hbuf_free(&m);
	if (ret == 0)
		ret = host->mail->msg_deliver_to(msg, &to, 1, NULL, mail_done,
						 srv);
	else if (msg != NULL)
		host->mail->msg_discard(&msg);
	if (ret < 0)
		host->core->log(srv->mod, POSTINO_LOG_ERROR, NULL,
				"panel mail %s to %s not sent: %s",
				mail_names[kind], to, strerror(-ret));
	return ret;
}
