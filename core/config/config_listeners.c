/* The [listener NAME] sections as modules and the CLI see them (the host's
 * listener_list, `postino domain dns`): what autoconfiguration tells mail
 * clients comes from the configuration that binds the sockets. */
#include <string.h>

#include "config/config.h"

const char *config_listener_role(const struct config_section *section)
{
	const char *role = config_section_value(section, "role");
	const char *protocol = config_section_value(section, "protocol");

	if (role != NULL)
		return role;
	/* SMTP on its own is Internet mail: the MX. */
	return strcmp(protocol, "smtp") == 0 ? "mx" : protocol;
}

void config_listener_each(const struct config *config,
			  void (*cb)(void *data,
				     const struct postino_listener *l),
			  void *data)
{
	for (const struct config_section *s = config->sections; s != NULL;
	     s = s->next) {
		if (strcmp(s->type, "listener") != 0)
			continue;
		const char *tls = config_section_value(s, "tls");
		int64_t port = 0;
		config_parse_value(POSTINO_CONFIG_INT,
				   config_section_value(s, "port"), &port);
		struct postino_listener l = {
			.size = sizeof(l),
			.name = s->name != NULL ? s->name : "",
			.protocol = config_section_value(s, "protocol"),
			.role = config_listener_role(s),
			.address = config_section_value(s, "address"),
			.port = (int)port,
			.tls = strcmp(tls, "implicit") == 0
				       ? POSTINO_LISTENER_TLS_IMPLICIT
			       : strcmp(tls, "starttls") == 0
				       ? POSTINO_LISTENER_TLS_STARTTLS
				       : POSTINO_LISTENER_TLS_NONE,
		};
		cb(data, &l);
	}
}
