/* [quota]: the thresholds of quota warnings and their templates. The
 * templates are read with the configuration, so a missing or malformed
 * one stops `postinod -t`, the start and a SIGHUP reload with its name,
 * and a delivery never reads a file. */
#include "config/config_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef POSTINO_SYSCONF_DIR
#error "POSTINO_SYSCONF_DIR must be defined by the build"
#endif

/* Like Dovecot: no warnings unless asked for (the shipped postino.conf
 * asks for 80 and 95). */
#define QUOTA_DEFAULT_WARN "none"
#define QUOTA_TEMPLATE_MAX 16384

static const char *const lang_dirs[CONFIG_LANGS] = { "en", "it" };

int config_parse_percents(const char *text, unsigned *out, size_t max,
			  size_t *count_r)
{
	unsigned seen[CONFIG_QUOTA_WARN_MAX];
	size_t n = 0;
	const char *p = text;

	if (strcmp(text, "none") == 0)
		goto done;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		unsigned v = 0;
		size_t digits = 0;
		while (*p >= '0' && *p <= '9' && digits < 4) {
			v = v * 10 + (unsigned)(*p++ - '0');
			digits++;
		}
		if (digits == 0 || v < 1 || v > 100 ||
		    (*p != '\0' && *p != ' ' && *p != '\t'))
			return -EINVAL;
		size_t i = n;
		while (i > 0 && seen[i - 1] > v)
			i--;
		if (i > 0 && seen[i - 1] == v)
			continue;
		if (n == CONFIG_QUOTA_WARN_MAX)
			return -EINVAL;
		memmove(seen + i + 1, seen + i, (n - i) * sizeof(seen[0]));
		seen[i] = v;
		n++;
	}
	if (n == 0)
		return -EINVAL;
done:
	if (out != NULL) {
		if (n > max)
			return -EINVAL;
		memcpy(out, seen, n * sizeof(seen[0]));
	}
	if (count_r != NULL)
		*count_r = n;
	return 0;
}

static const struct config_section *find_quota(const struct config *config)
{
	for (const struct config_section *s = config->sections; s != NULL;
	     s = s->next) {
		if (strcmp(s->type, "quota") == 0)
			return s;
	}
	return NULL;
}

/* "Subject: ..." (printable ASCII), an empty line, the body (UTF-8). */
static int template_read(struct config_quota *q, int lang, const char *dir,
			 const char *file, int line, char *err, size_t errlen)
{
	char path[4096];
	char *text = malloc(QUOTA_TEMPLATE_MAX + 1);

	if (text == NULL)
		return config_fail(err, errlen, file, line, "out of memory");
	snprintf(path, sizeof(path), "%s/%s/warning.txt", dir,
		 lang_dirs[lang]);
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		free(text);
		return config_fail(err, errlen, file, line,
				   "[quota] cannot read the warning template "
				   "%s: %s (set templates, or warn = none)",
				   path, strerror(errno));
	}
	size_t n = fread(text, 1, QUOTA_TEMPLATE_MAX, f);
	fclose(f);
	text[n] = '\0';
	char *eol = strchr(text, '\n');
	int bad = n == QUOTA_TEMPLATE_MAX || strlen(text) != n ||
		  strncmp(text, "Subject: ", 9) != 0 || eol == NULL ||
		  eol[1] != '\n';
	for (const char *p = text + 9; !bad && p < eol; p++)
		bad = (unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e;
	if (bad) {
		free(text);
		return config_fail(err, errlen, file, line,
				   "[quota] %s: must be at most %d bytes and "
				   "start with a \"Subject: \" line (printable "
				   "ASCII) and an empty line", path,
				   QUOTA_TEMPLATE_MAX - 1);
	}
	*eol = '\0';
	q->subject[lang] = strdup(text + 9);
	q->body[lang] = strdup(eol + 2);
	free(text);
	if (q->subject[lang] == NULL || q->body[lang] == NULL)
		return config_fail(err, errlen, file, line, "out of memory");
	return 0;
}

int config_apply_quota(struct config *config, char *err, size_t errlen)
{
	const struct config_section *section = find_quota(config);
	const char *warn = section != NULL
				   ? config_section_value(section, "warn") : NULL;
	const char *dir = section != NULL
				  ? config_section_value(section, "templates")
				  : NULL;
	const char *file = section != NULL ? section->file : config->main_file;
	int line = section != NULL ? section->line : 0;
	struct config_quota *q = &config->quota;

	/* The value was checked with the section. */
	if (config_parse_percents(warn != NULL ? warn : QUOTA_DEFAULT_WARN,
				  q->warn, CONFIG_QUOTA_WARN_MAX,
				  &q->warn_count) < 0)
		return config_fail(err, errlen, file, line,
				   "[quota] bad warn value");
	if (q->warn_count == 0)
		return 0;
	for (int l = 0; l < CONFIG_LANGS; l++) {
		int ret = template_read(q, l, dir != NULL ? dir
				: POSTINO_SYSCONF_DIR "/templates/quota",
				file, line, err, errlen);
		if (ret < 0)
			return ret;
	}
	return 0;
}
