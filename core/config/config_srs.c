/* [srs] into struct config_srs, and the value kinds only it and
 * [server] recipient_delimiter use. Secrets are read once here, at load
 * (and at each SIGHUP), so a secret file's change takes effect on reload
 * like every other setting. */
#include "config/config_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/srs.h"

#define SRS_SECRET_MIN 16
#define SRS_SECRET_MAX 256
#define SRS_SECRETS_MAX 8

bool config_delimiter_valid(const char *value)
{
	size_t len = strlen(value);

	if (len == 0 || len > 8)
		return false;
	for (const char *p = value; *p != '\0'; p++) {
		if (strchr("!#$%&'*+-/=?^_`{|}~", *p) == NULL)
			return false;
	}
	return true;
}

/* Calls word(data, start, len) for each blank-separated word; false when
 * a word is not a usable secret or there are none (or too many). */
static bool secrets_each(const char *text,
			 int (*word)(void *data, const char *s, size_t len),
			 void *data)
{
	size_t count = 0;

	for (const char *p = text;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		const char *start = p;
		while (*p != '\0' && *p != ' ' && *p != '\t') {
			if (!isgraph((unsigned char)*p))
				return false;
			p++;
		}
		size_t len = (size_t)(p - start);
		if (len < SRS_SECRET_MIN || len > SRS_SECRET_MAX ||
		    ++count > SRS_SECRETS_MAX)
			return false;
		if (word != NULL && word(data, start, len) < 0)
			return false;
	}
	return count > 0;
}

bool config_srs_secrets_valid(const char *value)
{
	return secrets_each(value, NULL, NULL);
}

static int srs_add_secret(void *data, const char *s, size_t len)
{
	struct config_srs *srs = data;
	char **grown = realloc(srs->secrets,
			       (srs->secret_count + 1) * sizeof(*grown));

	if (grown == NULL)
		return -ENOMEM;
	srs->secrets = grown;
	grown[srs->secret_count] = strndup(s, len);
	if (grown[srs->secret_count] == NULL)
		return -ENOMEM;
	srs->secret_count++;
	return 0;
}

/* One secret per line (the first signs); blank lines and lines starting
 * with '#' are skipped. */
static int srs_read_file(struct config_srs *srs, const char *path,
			 const struct config_entry *entry, char *err,
			 size_t errlen)
{
	char line[SRS_SECRET_MAX + 4];
	FILE *f = fopen(path, "r");
	int number = 0;

	if (f == NULL)
		return config_fail(err, errlen, entry->file, entry->line,
				   "[srs] secret_file: cannot read %s: %s",
				   path, strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t len = strcspn(line, "\r\n");
		number++;
		if (line[len] == '\0' && !feof(f)) {
			fclose(f);
			explicit_bzero(line, sizeof(line));
			return config_fail(err, errlen, path, number,
					   "secret longer than %d characters",
					   SRS_SECRET_MAX);
		}
		line[len] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (!secrets_each(line, NULL, NULL) || strpbrk(line, " \t") ||
		    srs->secret_count >= SRS_SECRETS_MAX) {
			fclose(f);
			explicit_bzero(line, sizeof(line));
			return config_fail(err, errlen, path, number,
					   "not a secret of %d to %d "
					   "characters without blanks (at most "
					   "%d secrets)", SRS_SECRET_MIN,
					   SRS_SECRET_MAX, SRS_SECRETS_MAX);
		}
		int ret = srs_add_secret(srs, line, len);
		explicit_bzero(line, sizeof(line));
		if (ret < 0) {
			fclose(f);
			return config_fail(err, errlen, path, 0,
					   "out of memory");
		}
	}
	fclose(f);
	if (srs->secret_count == 0)
		return config_fail(err, errlen, path, 0, "holds no secret");
	return 0;
}

int config_apply_srs(struct config *config, char *err, size_t errlen)
{
	const struct config_section *section = NULL;
	struct config_srs *srs = &config->srs;

	for (const struct config_section *s = config->sections; s != NULL;
	     s = s->next) {
		if (strcmp(s->type, "srs") == 0)
			section = s;
	}
	if (section == NULL)
		return 0;
	const char *secret = config_section_value(section, "secret");
	const char *domain = config_section_value(section, "domain");
	const char *max_age = config_section_value(section, "max_age");
	int64_t days = SRS_MAX_AGE_DEFAULT;

	srs->domain = strdup(domain);
	if (srs->domain == NULL)
		return config_fail(err, errlen, section->file, 0,
				   "out of memory");
	for (char *p = srs->domain; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	if (max_age != NULL)
		config_parse_value(POSTINO_CONFIG_INT, max_age, &days);
	srs->max_age = (unsigned)days;
	if (secret != NULL) {
		if (!secrets_each(secret, srs_add_secret, srs))
			return config_fail(err, errlen, section->file, 0,
					   "out of memory");
	} else {
		for (const struct config_entry *e = section->entries; e != NULL;
		     e = e->next) {
			if (strcmp(e->key, "secret_file") == 0) {
				int ret = srs_read_file(srs, e->value, e, err,
							errlen);
				if (ret < 0)
					return ret;
				break;
			}
		}
	}
	srs->enabled = 1;
	return 0;
}
