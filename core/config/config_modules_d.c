/* modules.d: one file per enabled module, read in name order, so that
 * enabling a module is dropping in a file and the load order is visible in
 * `ls`. */
#include "config/config_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Hidden files are skipped: some editors keep their working copy of
 * x.conf as .x.conf next to it. */
static bool is_conf_name(const char *name)
{
	size_t len = strlen(name);

	return name[0] != '.' && len > 5 && strcmp(name + len - 5, ".conf") == 0;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char ***names, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free((*names)[i]);
	free(*names);
	*names = NULL;
}

/* strcmp order, not the locale's: the load order must not depend on LANG. */
static int list_conf_files(const char *dir, char ***names_r, size_t *count_r)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t count = 0;
	int ret = 0;

	*names_r = NULL;
	*count_r = 0;
	if (d == NULL)
		return -errno;
	for (;;) {
		char **grown;

		errno = 0;
		de = readdir(d);
		if (de == NULL) {
			ret = -errno;
			break;
		}
		if (!is_conf_name(de->d_name))
			continue;
		grown = realloc(names, (count + 1) * sizeof(*names));
		if (grown == NULL) {
			ret = -ENOMEM;
			break;
		}
		names = grown;
		names[count] = strdup(de->d_name);
		if (names[count] == NULL) {
			ret = -ENOMEM;
			break;
		}
		count++;
	}
	closedir(d);
	if (ret < 0) {
		free_names(&names, count);
		return ret;
	}
	if (count > 0)
		qsort(names, count, sizeof(*names), compare_names);
	*names_r = names;
	*count_r = count;
	return 0;
}

static const struct config_entry *find_entry(const struct config_section *s,
					     const char *key)
{
	for (const struct config_entry *e = s->entries; e != NULL; e = e->next) {
		if (strcmp(e->key, key) == 0)
			return e;
	}
	return NULL;
}

/* The file's sections start at first; they passed the core schema, so the
 * [module] found here has a well-formed load key. */
static int record_module(struct config *config, const char *file,
			 const struct config_section *first, char *err,
			 size_t errlen)
{
	const struct config_section *module = NULL;
	const struct config_entry *load;
	struct config_module_ref *grown;
	char *name;

	for (const struct config_section *s = first; s != NULL; s = s->next) {
		if (strcmp(s->type, "module") != 0)
			continue;
		if (module != NULL)
			return config_fail(err, errlen, s->file, s->line,
					   "second [module] section (first at "
					   "line %d): a modules.d file loads "
					   "exactly one module",
					   module->line);
		module = s;
	}
	if (module == NULL)
		return config_fail(err, errlen, file, 0,
				   "no [module] section: a modules.d file "
				   "loads one module with [module] load = "
				   "NAME");
	load = find_entry(module, "load");
	char module_name[128];
	if (config_module_name(load->value, module_name,
			       sizeof(module_name)) < 0)
		return config_fail(err, errlen, load->file, load->line,
				   "[module] load: '%s' is neither a module "
				   "name nor an absolute path to NAME.so",
				   load->value);
	if (config_is_core_type(module_name))
		return config_fail(err, errlen, load->file, load->line,
				   "[module] load: '%s' is a core section "
				   "name, not a module",
				   module_name);
	for (size_t i = 0; i < config->module_count; i++) {
		const struct config_module_ref *ref = &config->modules[i];

		if (strcmp(ref->name, module_name) == 0)
			return config_fail(err, errlen, load->file, load->line,
					   "[module] load: module '%s' is "
					   "already loaded by %s:%d",
					   module_name, ref->file, ref->line);
	}
	const struct config_entry *listeners = find_entry(module, "listeners");
	name = strdup(module_name);
	char *path = load->value[0] == '/' ? strdup(load->value) : NULL;
	char *scope = listeners != NULL ? strdup(listeners->value) : NULL;
	grown = realloc(config->modules,
			(config->module_count + 1) * sizeof(*grown));
	if (name == NULL || grown == NULL ||
	    (load->value[0] == '/' && path == NULL) ||
	    (listeners != NULL && scope == NULL)) {
		free(name);
		free(path);
		free(scope);
		if (grown != NULL)
			config->modules = grown;
		config_fail(err, errlen, file, 0, "out of memory");
		return -ENOMEM;
	}
	config->modules = grown;
	config->modules[config->module_count++] = (struct config_module_ref){
		.name = name,
		.path = path,
		.listeners = scope,
		.file = load->file,
		.line = load->line,
	};
	return 0;
}

static int load_file(struct config *config, const char *path, char *err,
		     size_t errlen)
{
	struct config_section *first;
	struct stat st;
	int ret;

	/* Symlinks are followed: linking a file in from elsewhere is a common
	 * way to enable something. */
	if (stat(path, &st) < 0) {
		ret = -errno;
		config_fail(err, errlen, path, 0, "cannot open: %s",
			    strerror(-ret));
		return ret;
	}
	if (!S_ISREG(st.st_mode))
		return config_fail(err, errlen, path, 0,
				   "not a regular file");
	ret = config_parse_file(config, path, &first, err, errlen);
	if (ret < 0)
		return ret;
	ret = config_check_core_sections(config, first, CONFIG_FILE_MODULES_D,
					 err, errlen);
	if (ret < 0)
		return ret;
	return record_module(config, config->files[config->file_count - 1],
			     first, err, errlen);
}

/* The [server] modules_conf_dir entry, when the operator set one. */
static const struct config_entry *configured_dir(const struct config *config)
{
	for (const struct config_section *s = config->sections; s != NULL;
	     s = s->next) {
		if (strcmp(s->type, "server") == 0)
			return find_entry(s, "modules_conf_dir");
	}
	return NULL;
}

int config_load_modules_d(struct config *config, char *err, size_t errlen)
{
	const char *dir = config->server.modules_conf_dir;
	const struct config_entry *configured = configured_dir(config);
	char **names;
	size_t count;
	int ret;

	ret = list_conf_files(dir, &names, &count);
	/* No modules.d next to the main file is a server with no modules;
	 * a directory the operator named and that is not there is a typo. */
	if (ret == -ENOENT && configured == NULL)
		return 0;
	if (ret < 0) {
		if (configured != NULL)
			return config_fail(err, errlen, configured->file,
					   configured->line,
					   "[server] modules_conf_dir: cannot "
					   "read '%s': %s",
					   dir, strerror(-ret));
		config_fail(err, errlen, dir, 0, "cannot read directory: %s",
			    strerror(-ret));
		return ret;
	}
	for (size_t i = 0; i < count && ret == 0; i++) {
		char *path;

		if (asprintf(&path, "%s/%s", dir, names[i]) < 0) {
			config_fail(err, errlen, dir, 0, "out of memory");
			ret = -ENOMEM;
			break;
		}
		ret = load_file(config, path, err, errlen);
		free(path);
	}
	free_names(&names, count);
	return ret;
}

int config_check_module_sections(const struct config *config, char *err,
				 size_t errlen)
{
	for (const struct config_section *s = config->sections; s != NULL;
	     s = s->next) {
		bool loaded = false;

		if (config_is_core_type(s->type))
			continue;
		for (size_t i = 0; i < config->module_count && !loaded; i++)
			loaded = strcmp(config->modules[i].name, s->type) == 0;
		if (!loaded)
			return config_fail(err, errlen, s->file, s->line,
					   "unknown section [%s]: not a core "
					   "section and no modules.d file "
					   "loads a module named '%s'",
					   s->type, s->type);
	}
	return 0;
}
