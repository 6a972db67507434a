/* Loading modules: each modules.d file names one module; we check that
 * only root or the invoking user could have put modules_dir/NAME.so (or
 * the path `load =` gives) there
 * (util/path_trust.h: a module runs as root in postinod), dlopen it with
 * RTLD_NOW|RTLD_LOCAL (every symbol resolved now,
 * none leaking into the next module), find the one descriptor symbol, check
 * the ABI and the descriptor's size, validate the module's config section,
 * then init. Any failure unloads the whole set again. */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "module/module.h"
#include "util/path_trust.h"

/* A descriptor of ABI 1.0 final or later reaches at least its requires
 * field; one that stops at fini was built with the headers of before 1.0
 * was final, whose host table had another shape: calling it would crash. */
#define DESC_MIN_SIZE \
	(offsetof(struct postino_module, requires) + sizeof(const char *const *))
#define DESC_PRERELEASE_SIZE \
	(offsetof(struct postino_module, fini) + sizeof(void (*)(void)))

static int module_fail(struct postino_mod *mod, char *err, size_t errlen,
		       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int module_fail(struct postino_mod *mod, char *err, size_t errlen,
		       const char *fmt, ...)
{
	va_list args;
	char reason[sizeof(mod->error)];

	va_start(args, fmt);
	vsnprintf(reason, sizeof(reason), fmt, args);
	va_end(args);
	snprintf(mod->error, sizeof(mod->error), "%s", reason);
	snprintf(err, errlen, "%s: module %s: %s", mod->conf_file, mod->name,
		 reason);
	mod->state = MODULE_FAILED;
	return -EINVAL;
}

/* Tells "not a Postino module" apart from "built for another ABI major",
 * which is the common case after an upgrade. */
static int module_other_major(void *dl)
{
	char symbol[32];

	for (int major = 0; major <= 9; major++) {
		if (major == POSTINO_ABI_MAJOR)
			continue;
		snprintf(symbol, sizeof(symbol), "postino_module_v%d", major);
		if (dlsym(dl, symbol) != NULL)
			return major;
	}
	return -1;
}

/* Before dlopen: its constructors run at once, with our privileges. */
static int module_check_path(struct postino_mod *mod, char *err,
			     size_t errlen)
{
	char why[400];
	int ret = path_trust_check(mod->path, mod->ctx->invoking_uid, why,
				   sizeof(why));

	if (ret == -EPERM)
		return module_fail(mod, err, errlen, "refusing %s: %s",
				   mod->path, why);
	if (ret < 0)
		return module_fail(mod, err, errlen, "cannot load %s: %s",
				   mod->path, why);
	return 0;
}

static int module_open(struct postino_mod *mod, const struct config *config,
		       char *err, size_t errlen)
{
	if (module_check_path(mod, err, errlen) < 0)
		return -EINVAL;
	mod->dl = dlopen(mod->path, RTLD_NOW | RTLD_LOCAL);
	if (mod->dl == NULL)
		return module_fail(mod, err, errlen, "cannot load %s: %s",
				   mod->path, dlerror());

	const struct postino_module *desc = dlsym(mod->dl, POSTINO_MODULE_SYMBOL);
	if (desc == NULL) {
		int major = module_other_major(mod->dl);
		if (major >= 0)
			return module_fail(mod, err, errlen,
				"%s is built for plugin ABI major %d, this "
				"server provides major %d", mod->path, major,
				POSTINO_ABI_MAJOR);
		return module_fail(mod, err, errlen,
			"%s does not export %s (not a Postino module)",
			mod->path, POSTINO_MODULE_SYMBOL);
	}
	if (desc->abi_major == POSTINO_ABI_MAJOR &&
	    desc->size == DESC_PRERELEASE_SIZE)
		return module_fail(mod, err, errlen,
			"%s is built with the plugin headers of before ABI "
			"%d.0 was final; rebuild it against the installed "
			"headers (ABI %d.%d)", mod->path, POSTINO_ABI_MAJOR,
			POSTINO_ABI_MAJOR, POSTINO_ABI_MINOR);
	if (desc->size < DESC_MIN_SIZE)
		return module_fail(mod, err, errlen,
			"%s: descriptor is %zu bytes, at least %zu expected",
			mod->path, desc->size, (size_t)DESC_MIN_SIZE);
	if (desc->abi_major != POSTINO_ABI_MAJOR)
		return module_fail(mod, err, errlen,
			"%s is built for plugin ABI major %u, this server "
			"provides major %d", mod->path, desc->abi_major,
			POSTINO_ABI_MAJOR);
	if (desc->abi_minor > POSTINO_ABI_MINOR)
		return module_fail(mod, err, errlen,
			"%s is built for plugin ABI %u.%u, newer than this "
			"server's %d.%d", mod->path, desc->abi_major,
			desc->abi_minor, POSTINO_ABI_MAJOR, POSTINO_ABI_MINOR);
	if (desc->name == NULL || strcmp(desc->name, mod->name) != 0)
		return module_fail(mod, err, errlen,
			"%s calls itself '%s', not '%s'", mod->path,
			desc->name != NULL ? desc->name : "(null)", mod->name);
	if (desc->init == NULL)
		return module_fail(mod, err, errlen, "%s has no init function",
				   mod->path);
	mod->desc = desc;
	mod->desc_size = desc->size < sizeof(*desc) ? desc->size : sizeof(*desc);

	const struct postino_config_key *keys = NULL;
	size_t key_size = 0;
	if (POSTINO_HAS_FIELD(desc, struct postino_module, config_key_size)) {
		keys = desc->config_keys;
		key_size = desc->config_key_size;
	}
	char cfg_err[400];
	if (config_validate_module(config, mod->name, keys, key_size, cfg_err,
				   sizeof(cfg_err)) < 0) {
		/* The config error already names its own file:line. */
		snprintf(err, errlen, "%s", cfg_err);
		snprintf(mod->error, sizeof(mod->error), "%s", cfg_err);
		mod->state = MODULE_FAILED;
		return -EINVAL;
	}
	mod->state = MODULE_LOADED;
	return 0;
}

static void module_timers_stop(struct postino_mod *mod)
{
	while (mod->timers != NULL) {
		struct postino_timer *timer = mod->timers;
		core_host_table.core->timer_stop(&timer);
	}
}

/* Forgets everything the module registered, so a failed init leaves no
 * hook or command behind. */
static void module_forget(struct module_set *set, struct postino_mod *mod)
{
	for (size_t p = 0; p < HOOK_POINT_MAX; p++) {
		size_t kept = 0;
		for (size_t i = 0; i < set->hook_count[p]; i++) {
			if (set->hooks[p][i].mod != mod)
				set->hooks[p][kept++] = set->hooks[p][i];
		}
		set->hook_count[p] = kept;
	}
	size_t kept = 0;
	for (size_t i = 0; i < set->command_count; i++) {
		struct admin_command *cmd = &set->commands[i];
		if (cmd->mod == mod) {
			free(cmd->command);
			free(cmd->usage);
		} else {
			set->commands[kept++] = *cmd;
		}
	}
	set->command_count = kept;
	kept = 0;
	for (size_t i = 0; i < set->protocol_count; i++) {
		if (set->protocols[i].mod != mod)
			set->protocols[kept++] = set->protocols[i];
	}
	set->protocol_count = kept;
	for (size_t i = 0; i < mod->service_count; i++)
		free(mod->services[i].name);
	free(mod->services);
	mod->services = NULL;
	mod->service_count = 0;
	module_timers_stop(mod);
}

static int module_init(struct module_set *set, struct postino_mod *mod,
		       char *err, size_t errlen)
{
	void *data = NULL;
	int ret = mod->desc->init(mod, &core_host_table, &data);

	if (ret != 0) {
		module_forget(set, mod);
		return module_fail(mod, err, errlen, "init failed: %s",
				   strerror(ret < 0 ? -ret : ret));
	}
	mod->data = data;
	mod->state = MODULE_READY;
	return 0;
}

static void module_unload(struct module_set *set, struct postino_mod *mod)
{
	if (mod->state == MODULE_READY && mod->desc->fini != NULL)
		mod->desc->fini(mod, mod->data);
	module_forget(set, mod);
	/* ASan needs the code mapped to symbolize leak reports at exit. */
	if (mod->dl != NULL && getenv("POSTINO_NO_DLCLOSE") == NULL)
		dlclose(mod->dl);
	mod->dl = NULL;
	free(mod->name);
	free(mod->conf_file);
	free(mod->path);
	if (mod->listeners != NULL) {
		for (char **l = mod->listeners; *l != NULL; l++)
			free(*l);
		free(mod->listeners);
	}
}

static void module_set_free(struct module_set *set)
{
	for (size_t i = set->count; i-- > 0;)
		module_unload(set, &set->mods[i]);
	for (size_t p = 0; p < HOOK_POINT_MAX; p++)
		free(set->hooks[p]);
	free(set->commands);
	free(set->protocols);
	free(set->mods);
	config_free(&set->config);
	free(set);
}

/* Every module a module requires must be in the set too. */
static int module_check_requires(struct module_set *set, char *err,
				 size_t errlen)
{
	for (size_t i = 0; i < set->count; i++) {
		struct postino_mod *mod = &set->mods[i];
		if (mod->desc == NULL || mod->desc->requires == NULL)
			continue;
		for (const char *const *r = mod->desc->requires; *r != NULL;
		     r++) {
			if (module_set_find(set, *r) == NULL)
				return module_fail(mod, err, errlen,
					"requires module %s, which no "
					"modules.d file loads", *r);
		}
	}
	return 0;
}

static int module_requires(const struct postino_mod *mod, const char *name)
{
	if (mod->desc == NULL || mod->desc->requires == NULL)
		return 0;
	for (const char *const *r = mod->desc->requires; *r != NULL; r++) {
		if (strcmp(*r, name) == 0)
			return 1;
	}
	return 0;
}

/* Puts every module after the modules it requires, keeping file order
 * otherwise, so that init (and hook order) sees a required module ready
 * (its services exported) and fini runs the other way round. Nothing
 * points into set->mods before init, so entries move by value. A cycle
 * of requires is refused. */
static int module_order_by_requires(struct module_set *set, char *err,
				    size_t errlen)
{
	for (size_t placed = 0; placed < set->count; placed++) {
		size_t pick = set->count;
		for (size_t i = placed; i < set->count && pick == set->count;
		     i++) {
			int waiting = 0;
			for (size_t j = placed; j < set->count && !waiting; j++)
				waiting = j != i &&
					  module_requires(&set->mods[i],
							  set->mods[j].name);
			if (!waiting)
				pick = i;
		}
		if (pick == set->count)
			return module_fail(&set->mods[placed], err, errlen,
				"requires form a cycle (module %s and the "
				"modules it requires require each other)",
				set->mods[placed].name);
		struct postino_mod moved = set->mods[pick];
		memmove(&set->mods[placed + 1], &set->mods[placed],
			(pick - placed) * sizeof(*set->mods));
		set->mods[placed] = moved;
	}
	return 0;
}

/* `[module] listeners = a b c` as a NULL-terminated array of words. */
static int module_split_listeners(struct postino_mod *mod, const char *text)
{
	size_t words = 0;
	const char *p = text;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		words++;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
	}
	mod->listeners = calloc(words + 1, sizeof(char *));
	if (mod->listeners == NULL)
		return -ENOMEM;
	size_t n = 0;
	for (p = text; *p != '\0';) {
		while (*p == ' ' || *p == '\t')
			p++;
		const char *start = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
		if (p > start) {
			mod->listeners[n] = strndup(start, (size_t)(p - start));
			if (mod->listeners[n++] == NULL)
				return -ENOMEM;
		}
	}
	return 0;
}

int module_set_load(struct core_ctx *ctx, struct config *config,
		    enum module_load_mode mode, struct module_set **set_r,
		    char *err, size_t errlen)
{
	struct module_set *set = calloc(1, sizeof(*set));
	if (set == NULL)
		return -ENOMEM;
	set->ctx = ctx;
	set->config = config; /* modules read it during init */
	set->refs = 1;
	/* One set per worker: each has its own instance of every module. */
	set->workers = ctx->node != NULL ? ctx->node->workers : 1;
	set->mods = calloc(config->module_count + 1, sizeof(*set->mods));
	if (set->mods == NULL) {
		free(set);
		return -ENOMEM;
	}

	int failed = 0;
	for (size_t i = 0; i < config->module_count; i++) {
		const struct config_module_ref *ref = &config->modules[i];
		struct postino_mod *mod = &set->mods[set->count++];
		char path[4096];

		if (ref->path != NULL)
			snprintf(path, sizeof(path), "%s", ref->path);
		else
			snprintf(path, sizeof(path), "%s/%s.so",
				 config->server.modules_dir, ref->name);
		mod->ctx = ctx;
		mod->set = set;
		mod->worker = ctx->worker;
		mod->name = strdup(ref->name);
		mod->conf_file = strdup(ref->file);
		mod->path = strdup(path);
		if (mod->name == NULL || mod->conf_file == NULL ||
		    mod->path == NULL ||
		    (ref->listeners != NULL &&
		     module_split_listeners(mod, ref->listeners) < 0)) {
			snprintf(err, errlen, "%s: out of memory", ref->file);
			failed = 1;
			break;
		}
		if (module_open(mod, config, err, errlen) != 0) {
			failed = 1;
			if (mode != MODULE_LOAD_LIST)
				break;
		}
	}
	/* Requirements are checked once every module is open, so load
	 * order in modules.d does not matter for them. */
	if (!failed && module_check_requires(set, err, errlen) != 0)
		failed = 1;
	if (!failed && module_order_by_requires(set, err, errlen) != 0)
		failed = 1;
	for (size_t i = 0; i < set->count && mode != MODULE_LOAD_CHECK &&
			   (!failed || mode == MODULE_LOAD_LIST); i++) {
		struct postino_mod *mod = &set->mods[i];
		if (mod->state != MODULE_LOADED)
			continue;
		if (module_init(set, mod, err, errlen) != 0) {
			failed = 1;
			if (mode != MODULE_LOAD_LIST)
				break;
		}
	}
	if (failed && mode != MODULE_LOAD_LIST) {
		set->config = NULL; /* still the caller's */
		module_set_free(set);
		return -EINVAL;
	}
	*set_r = set;
	return failed ? -EINVAL : 0;
}

void module_set_ref(struct module_set *set)
{
	set->refs++;
}

void module_set_unref(struct module_set **set)
{
	struct module_set *s = *set;

	*set = NULL;
	if (s == NULL || --s->refs > 0)
		return;
	module_set_free(s);
}

struct postino_mod *module_set_find(struct module_set *set, const char *name)
{
	for (size_t i = 0; i < set->count; i++) {
		if (strcmp(set->mods[i].name, name) == 0)
			return &set->mods[i];
	}
	return NULL;
}

int module_service_export(struct postino_mod *mod, const char *name,
			  const void *table)
{
	if (name == NULL || name[0] == '\0' || table == NULL ||
	    *(const size_t *)table < sizeof(size_t))
		return -EINVAL;
	/* One name per worker: the same module's instances each export
	 * theirs, every other module's clash. */
	for (size_t i = 0; i < mod->set->count; i++) {
		const struct postino_mod *m = &mod->set->mods[i];
		if (m->worker != mod->worker)
			continue;
		for (size_t k = 0; k < m->service_count; k++) {
			if (strcmp(m->services[k].name, name) == 0)
				return -EEXIST;
		}
	}
	struct service_entry *grown = realloc(mod->services,
		(mod->service_count + 1) * sizeof(*grown));
	if (grown == NULL)
		return -ENOMEM;
	mod->services = grown;
	grown[mod->service_count].name = strdup(name);
	if (grown[mod->service_count].name == NULL)
		return -ENOMEM;
	grown[mod->service_count++].table = table;
	return 0;
}

const void *module_service_import(struct postino_mod *mod, const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < mod->set->count; i++) {
		const struct postino_mod *m = &mod->set->mods[i];
		if (m == mod || m->worker != mod->worker ||
		    m->state != MODULE_READY || !module_requires(mod, m->name))
			continue;
		for (size_t k = 0; k < m->service_count; k++) {
			if (strcmp(m->services[k].name, name) == 0)
				return m->services[k].table;
		}
	}
	return NULL;
}

const struct protocol_entry *module_set_protocol(struct module_set *set,
						 const char *name)
{
	for (size_t i = 0; i < set->protocol_count; i++) {
		if (strcmp(set->protocols[i].proto.name, name) == 0)
			return &set->protocols[i];
	}
	return NULL;
}

int module_set_cleartext_ok(const struct module_set *set,
			    const char *protocol)
{
	for (size_t i = 0; i < set->count; i++) {
		const struct postino_mod *m = &set->mods[i];
		/* Only as far as the module's descriptor reaches: one built
		 * for 1.0 declares nothing. */
		if (m->desc == NULL ||
		    m->desc_size < offsetof(struct postino_module,
					    cleartext_protocols) +
					   sizeof(const char *const *) ||
		    m->desc->cleartext_protocols == NULL)
			continue;
		for (const char *const *p = m->desc->cleartext_protocols;
		     *p != NULL; p++) {
			if (strcmp(*p, protocol) == 0)
				return 1;
		}
	}
	return 0;
}

const struct admin_command *module_set_command(struct module_set *set,
					       const char *module,
					       const char *command)
{
	for (size_t i = 0; i < set->command_count; i++) {
		const struct admin_command *cmd = &set->commands[i];
		if (strcmp(cmd->mod->name, module) == 0 &&
		    strcmp(cmd->command, command) == 0)
			return cmd;
	}
	return NULL;
}
