/* struct config_server from [server] (already validated) and the defaults. */
#include "config/config_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef POSTINO_MODULES_DIR
#error "POSTINO_MODULES_DIR must be defined by the build"
#endif

static const struct config_section *find_server(const struct config *config)
{
	for (const struct config_section *s = config->sections; s != NULL;
	     s = s->next) {
		if (strcmp(s->type, "server") == 0)
			return s;
	}
	return NULL;
}

/* "etc/postino.conf" -> "etc/modules.d"; "postino.conf" -> "./modules.d". */
static char *default_modules_conf_dir(const char *main_file)
{
	const char *slash = strrchr(main_file, '/');
	char *dir;

	if (slash == NULL)
		return strdup("./modules.d");
	if (asprintf(&dir, "%.*s/modules.d", (int)(slash - main_file),
		     main_file) < 0)
		return NULL;
	return dir;
}

static char *default_hostname(void)
{
	char name[HOST_NAME_MAX + 1];

	if (gethostname(name, sizeof(name)) < 0)
		return NULL;
	name[sizeof(name) - 1] = '\0';
	return strdup(name);
}

/* No [server] section at all is fine: everything has a default. */
static const char *server_value(const struct config_section *server,
				const char *key)
{
	return server != NULL ? config_section_value(server, key) : NULL;
}

static char *value_or(const struct config_section *server, const char *key,
		      const char *fallback)
{
	const char *value = server_value(server, key);

	return strdup(value != NULL ? value : fallback);
}

int config_apply_server(struct config *config, char *err, size_t errlen)
{
	const struct config_section *server = find_server(config);
	struct config_server *out = &config->server;
	const char *value;

	value = server_value(server, "hostname");
	if (value != NULL) {
		out->hostname = strdup(value);
	} else {
		out->hostname = default_hostname();
		if (out->hostname == NULL && errno != ENOMEM)
			return config_fail(err, errlen, config->main_file, 0,
					   "cannot get the host name (%s); "
					   "set hostname in [server]",
					   strerror(errno));
	}
	out->state_dir = value_or(server, "state_dir", "/var/lib/postino");
	out->user = value_or(server, "user", "postino");
	out->modules_dir = value_or(server, "modules_dir",
				    POSTINO_MODULES_DIR);
	value = server_value(server, "modules_conf_dir");
	out->modules_conf_dir = value != NULL ?
					strdup(value) :
					default_modules_conf_dir(
						config->main_file);
	out->recipient_delimiter = value_or(server, "recipient_delimiter",
					    "+");
	if (out->hostname == NULL || out->state_dir == NULL ||
	    out->user == NULL || out->modules_dir == NULL ||
	    out->modules_conf_dir == NULL || out->recipient_delimiter == NULL) {
		config_fail(err, errlen, config->main_file, 0,
			    "out of memory");
		return -ENOMEM;
	}

	value = server_value(server, "log_level");
	out->log_level = value != NULL ? (enum log_level)log_level_parse(value) :
					 LOG_LEVEL_INFO;
	value = server_value(server, "log_target");
	out->log_target = value != NULL && strcmp(value, "syslog") == 0 ?
				  LOG_TARGET_SYSLOG :
				  LOG_TARGET_STDERR;
	int64_t number = 0;
	value = server_value(server, "max_connections");
	if (value != NULL &&
	    config_parse_value(POSTINO_CONFIG_INT, value, &number) == 0)
		out->max_connections = (unsigned)number;
	value = server_value(server, "workers");
	if (value != NULL &&
	    config_parse_value(POSTINO_CONFIG_INT, value, &number) == 0)
		out->workers = (unsigned)number;
	out->auth_cache_size = -1;
	value = server_value(server, "auth_cache_size");
	if (value != NULL &&
	    config_parse_value(POSTINO_CONFIG_INT, value, &number) == 0)
		out->auth_cache_size = number;
	out->auth_cache_ttl = -1;
	value = server_value(server, "auth_cache_ttl");
	if (value != NULL &&
	    config_parse_value(POSTINO_CONFIG_DURATION, value, &number) == 0)
		out->auth_cache_ttl = number;
	out->auth_cache_negative_ttl = -1;
	value = server_value(server, "auth_cache_negative_ttl");
	if (value != NULL &&
	    config_parse_value(POSTINO_CONFIG_DURATION, value, &number) == 0)
		out->auth_cache_negative_ttl = number;
	return 0;
}

unsigned config_workers(const struct config *config)
{
	long cpus;

	if (config->server.workers > 0)
		return config->server.workers;
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus < 1)
		return 1;
	return cpus > CONFIG_WORKERS_MAX ? CONFIG_WORKERS_MAX : (unsigned)cpus;
}
