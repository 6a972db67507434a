/* config_load's steps, in the order the files are read, and the shared
 * helpers of core/config. */
#include "config/config_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int config_fail(char *err, size_t errlen, const char *file, int line,
		const char *fmt, ...)
{
	va_list args;
	int n;

	if (err == NULL || errlen == 0)
		return -EINVAL;
	if (line > 0)
		n = snprintf(err, errlen, "%s:%d: ", file, line);
	else
		n = snprintf(err, errlen, "%s: ", file);
	if (n < 0 || (size_t)n >= errlen)
		return -EINVAL;
	va_start(args, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, args);
	va_end(args);
	return -EINVAL;
}

const char *config_section_label(const struct config_section *section,
				 char *buf, size_t size)
{
	if (section->name == NULL)
		snprintf(buf, size, "[%s]", section->type);
	else if (strcmp(section->type, "tls") == 0)
		snprintf(buf, size, "[%s \"%s\"]", section->type,
			 section->name);
	else
		snprintf(buf, size, "[%s %s]", section->type, section->name);
	return buf;
}

const char *config_section_value(const struct config_section *section,
				 const char *key)
{
	for (const struct config_entry *e = section->entries; e != NULL;
	     e = e->next) {
		if (strcmp(e->key, key) == 0)
			return e->value;
	}
	return NULL;
}

static int load_main(struct config *config, char *err, size_t errlen)
{
	struct config_section *first;
	int ret;

	ret = config_parse_file(config, config->main_file, &first, err, errlen);
	if (ret < 0)
		return ret;
	ret = config_check_core_sections(config, first, CONFIG_FILE_MAIN, err,
					 errlen);
	if (ret < 0)
		return ret;
	/* modules_conf_dir must be known before modules.d can be read. */
	ret = config_apply_server(config, err, errlen);
	if (ret == 0)
		ret = config_apply_srs(config, err, errlen);
	if (ret < 0)
		return ret;
	return config_apply_quota(config, err, errlen);
}

int config_load(const char *main_file, struct config **config_r, char *err,
		size_t errlen)
{
	struct config *config;
	int ret;

	*config_r = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	config = calloc(1, sizeof(*config));
	if (config != NULL)
		config->refs = 1;
	if (config == NULL || (config->main_file = strdup(main_file)) == NULL) {
		free(config);
		config_fail(err, errlen, main_file, 0, "out of memory");
		return -ENOMEM;
	}
	ret = load_main(config, err, errlen);
	if (ret == 0)
		ret = config_load_modules_d(config, err, errlen);
	/* Only now is every loaded module known. */
	if (ret == 0)
		ret = config_check_module_sections(config, err, errlen);
	if (ret < 0) {
		config_free(&config);
		return ret;
	}
	*config_r = config;
	return 0;
}

static void free_sections(struct config_section *section)
{
	while (section != NULL) {
		struct config_section *next_section = section->next;
		struct config_entry *entry = section->entries;

		while (entry != NULL) {
			struct config_entry *next_entry = entry->next;

			free(entry->key);
			free(entry->value);
			free(entry);
			entry = next_entry;
		}
		free(section->type);
		free(section->name);
		free(section);
		section = next_section;
	}
}

void config_ref(struct config *config)
{
	__atomic_add_fetch(&config->refs, 1, __ATOMIC_RELAXED);
}

void config_free(struct config **config)
{
	struct config *c = *config;

	*config = NULL;
	if (c == NULL || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	free_sections(c->sections);
	for (size_t i = 0; i < c->file_count; i++)
		free(c->files[i]);
	free(c->files);
	for (size_t i = 0; i < c->module_count; i++) {
		free(c->modules[i].name);
		free(c->modules[i].path);
		free(c->modules[i].listeners);
	}
	free(c->modules);
	for (int l = 0; l < CONFIG_LANGS; l++) {
		free(c->quota.subject[l]);
		free(c->quota.body[l]);
	}
	free(c->server.hostname);
	free(c->server.state_dir);
	free(c->server.user);
	free(c->server.modules_dir);
	free(c->server.modules_conf_dir);
	free(c->server.recipient_delimiter);
	for (size_t i = 0; i < c->srs.secret_count; i++) {
		explicit_bzero(c->srs.secrets[i], strlen(c->srs.secrets[i]));
		free(c->srs.secrets[i]);
	}
	free(c->srs.secrets);
	free(c->srs.domain);
	free(c->main_file);
	free(c);
	*config = NULL;
}
