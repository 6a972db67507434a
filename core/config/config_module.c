/* A module's own [NAME] sections, checked against the keys it declares. */
#include "config/config_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The module may be built against an older plugin.h whose key struct is
 * shorter: copy only key_size bytes and leave newer fields zero, as if the
 * module had not set them. */
static void read_key(const struct postino_config_key *keys, size_t key_size,
		     size_t index, struct postino_config_key *key_r)
{
	memset(key_r, 0, sizeof(*key_r));
	memcpy(key_r, (const char *)keys + index * key_size,
	       key_size < sizeof(*key_r) ? key_size : sizeof(*key_r));
}

static const char *type_hint(enum postino_config_type type)
{
	switch (type) {
	case POSTINO_CONFIG_STRING:
		return "string";
	case POSTINO_CONFIG_INT:
		return "whole number";
	case POSTINO_CONFIG_BOOL:
		return "boolean (yes/no, true/false, on/off, 1/0)";
	case POSTINO_CONFIG_DURATION:
		return "duration (e.g. 30, 30s, 10m, 1h, 7d)";
	case POSTINO_CONFIG_SIZE:
		return "size (e.g. 512, 64k, 10M, 1G)";
	}
	return "value of an unknown type";
}

static bool valid_type(enum postino_config_type type)
{
	return type >= POSTINO_CONFIG_STRING && type <= POSTINO_CONFIG_SIZE;
}

/* A bad declaration is the module's bug, but it is caught here, at startup,
 * rather than when the key is first read. */
static int check_declarations(const char *module,
			      const struct postino_config_key *keys,
			      size_t key_size, char *err, size_t errlen)
{
	char who[128];
	struct postino_config_key key;

	snprintf(who, sizeof(who), "module '%s'", module);
	for (size_t i = 0;; i++) {
		read_key(keys, key_size, i, &key);
		if (key.name == NULL)
			return 0;
		if (!valid_type(key.type))
			return config_fail(err, errlen, who, 0,
					   "config key '%s' has unknown type "
					   "%d",
					   key.name, (int)key.type);
		if (key.default_value != NULL &&
		    config_parse_value(key.type, key.default_value, NULL) < 0)
			return config_fail(err, errlen, who, 0,
					   "default of config key '%s' ('%s') "
					   "is not a %s",
					   key.name, key.default_value,
					   type_hint(key.type));
	}
}

static bool find_key(const struct postino_config_key *keys, size_t key_size,
		     const char *name, struct postino_config_key *key_r)
{
	if (keys == NULL)
		return false;
	for (size_t i = 0;; i++) {
		read_key(keys, key_size, i, key_r);
		if (key_r->name == NULL)
			return false;
		if (strcmp(key_r->name, name) == 0)
			return true;
	}
}

int config_validate_module(const struct config *config, const char *module,
			   const struct postino_config_key *keys,
			   size_t key_size, char *err, size_t errlen)
{
	const size_t min_size = offsetof(struct postino_config_key, type) +
				sizeof(enum postino_config_type);
	struct postino_config_key key;
	int ret;

	if (keys != NULL) {
		if (key_size < min_size) {
			char who[128];

			snprintf(who, sizeof(who), "module '%s'", module);
			return config_fail(err, errlen, who, 0,
					   "config_key_size %zu is too small "
					   "(at least %zu)",
					   key_size, min_size);
		}
		ret = check_declarations(module, keys, key_size, err, errlen);
		if (ret < 0)
			return ret;
	}
	for (const struct config_section *s = config->sections; s != NULL;
	     s = s->next) {
		if (strcmp(s->type, module) != 0)
			continue;
		for (const struct config_entry *e = s->entries; e != NULL;
		     e = e->next) {
			if (!find_key(keys, key_size, e->key, &key))
				return config_fail(err, errlen, e->file,
						   e->line,
						   "[%s] unknown key '%s'",
						   module, e->key);
			if (config_parse_value(key.type, e->value, NULL) < 0)
				return config_fail(err, errlen, e->file,
						   e->line,
						   "[%s] %s: '%s' is not a %s",
						   module, e->key, e->value,
						   type_hint(key.type));
		}
	}
	return 0;
}

const char *config_module_value(const struct config *config,
				const char *module, const char *key)
{
	const char *value = NULL;

	for (const struct config_section *s = config->sections; s != NULL;
	     s = s->next) {
		if (strcmp(s->type, module) == 0) {
			const char *v = config_section_value(s, key);

			if (v != NULL)
				value = v;
		}
	}
	return value;
}
