/* Configuration: etc/postino.conf plus every *.conf in etc/modules.d, INI
 * parsed with inih. Parsing keeps file:line for every section and key so
 * every error can name them; validation checks every key against a schema
 * (core sections here, module sections against the keys a module declares).
 *
 * Section headers: [server], [tls], [tls "mail.other.org"], [module],
 * [listener NAME], [NAME] (a module's own settings). */
#ifndef POSTINO_CONFIG_H
#define POSTINO_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "postino/plugin.h"
#include "log/log.h"

struct config_entry {
	char *key;
	char *value;
	const char *file; /* owned by struct config */
	int line;
	struct config_entry *next;
};

struct config_section {
	char *type;  /* "server", "tls", "module", "listener", or a module name */
	char *name;  /* [tls "x"] -> x, [listener imaps] -> imaps; else NULL */
	const char *file;
	int line;
	struct config_entry *entries; /* in file order */
	struct config_section *next;  /* in file order, files in name order */
};

/* A module some modules.d file asks for with [module] load = NAME. */
struct config_module_ref {
	char *name;
	char *path;       /* `load = /path/NAME.so`, or NULL: modules_dir */
	char *listeners;  /* `listeners =` as written, or NULL: all */
	const char *file; /* the modules.d file */
	int line;         /* line of the load key */
};

/* [server] workers: more loop threads than this would only cost memory
 * (each holds an instance of every module and a store connection). */
#define CONFIG_WORKERS_MAX 256
#define CONFIG_WORKERS_MAX_TEXT "256"

struct config_server {
	char *hostname;     /* default: gethostname() */
	char *state_dir;    /* default: /var/lib/postino */
	char *user;         /* default: postino */
	char *modules_dir;  /* default: POSTINO_MODULES_DIR (build define) */
	char *modules_conf_dir; /* default: <dir of main file>/modules.d */
	enum log_level log_level;   /* default: info */
	enum log_target log_target; /* default: stderr */
	unsigned max_connections;   /* 0: from the open files limit */
	unsigned workers;           /* loop threads; 0: one per online CPU */
	/* auth/auth_cache.h; -1: unset (the defaults there) */
	int64_t auth_cache_size;         /* entries; 0: no cache */
	int64_t auth_cache_ttl;          /* seconds */
	int64_t auth_cache_negative_ttl; /* seconds; 0: failures not kept */
	char *recipient_delimiter;  /* subaddress separators; default "+" */
};

/* [srs]: how forwarded mail's envelope sender is rewritten (util/srs.h).
 * enabled 0: no [srs] section, forwarding keeps the sender. */
struct config_srs {
	int enabled;
	char **secrets;     /* the first signs; all verify */
	size_t secret_count;
	char *domain;       /* lower case, a hosted domain */
	unsigned max_age;   /* days */
};

/* [quota]: usage thresholds (percent of a limit) whose upward crossing
 * sends the account a warning mail, and that mail's templates per
 * language, read when the configuration is loaded. */
#define CONFIG_QUOTA_WARN_MAX 8
enum config_lang {
	CONFIG_LANG_EN = 0,
	CONFIG_LANG_IT = 1,
	CONFIG_LANGS
};
struct config_quota {
	unsigned warn[CONFIG_QUOTA_WARN_MAX]; /* ascending */
	size_t warn_count;                    /* 0: no warnings */
	char *subject[CONFIG_LANGS];          /* NULL without warnings */
	char *body[CONFIG_LANGS];
};

struct config {
	unsigned refs;     /* __atomic: config_ref, config_free */
	char *main_file;
	char **files;      /* every file read, for entry->file pointers */
	size_t file_count;
	struct config_section *sections;
	struct config_server server;
	struct config_quota quota;
	struct config_srs srs;
	struct config_module_ref *modules;
	size_t module_count;
};

/* Reads and validates the core part of the configuration: the main file and
 * every *.conf in modules_conf_dir (sorted by name; a missing default
 * modules.d is no modules, a missing configured one is an error). Each
 * modules.d file holds exactly one [module] with load = NAME. Module [NAME]
 * sections must belong to a loaded module but their keys are kept
 * unvalidated until config_validate_module(). Relative paths are kept as
 * written (relative to the current directory). On error returns a negative
 * errno (-ENOENT: main file missing, -EINVAL: bad content) and writes
 * "FILE:LINE: what is wrong" (or "FILE: ...") into err. */
int config_load(const char *main_file, struct config **config_r,
		char *err, size_t errlen);
/* [server] workers, or the number of online CPUs when unset. */
unsigned config_workers(const struct config *config);

/* Another holder (each worker's module set keeps the configuration it was
 * loaded with). */
void config_ref(struct config *config);
/* Drops a reference; the last frees everything. Sets *config to NULL. */
void config_free(struct config **config);

/* Validates every [NAME] section of module NAME against keys (terminated by
 * a NULL name; NULL keys: no key allowed; key_size is the module's
 * sizeof(struct postino_config_key), so only that many bytes of each element
 * are read, and it must reach at least the type field). Also checks that
 * each value, and each declared default, parses as its key's type. */
int config_validate_module(const struct config *config, const char *module,
			   const struct postino_config_key *keys,
			   size_t key_size, char *err, size_t errlen);
/* After validation: the value of key in the module's [NAME] section(s), the
 * last one set wins, or NULL when unset. */
const char *config_module_value(const struct config *config,
				const char *module, const char *key);
/* The value of key in section, or NULL. Values of [tls] and [listener NAME]
 * sections are already validated by config_load. */
const char *config_section_value(const struct config_section *section,
				 const char *key);

/* config_listeners.c: a [listener NAME] section's role (`role =`, else
 * its protocol, "smtp" giving "mx"), and every listener of config in
 * file order as the host's listener_list describes them (validated by
 * config_load, so every key is there). */
const char *config_listener_role(const struct config_section *section);
void config_listener_each(const struct config *config,
			  void (*cb)(void *data,
				     const struct postino_listener *l),
			  void *data);

/* Parses a value of a config type. Returns 0 and *value_r (may be NULL), or
 * -EINVAL, also on overflow. STRING always succeeds (*value_r = 0). BOOL is
 * 1 or 0; DURATION is seconds; SIZE is bytes (k, M, G are powers of 1024). */
int config_parse_value(enum postino_config_type type, const char *text,
		       int64_t *value_r);

#endif
