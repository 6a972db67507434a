/* The core sections: which keys they take, what values, where they may
 * appear. Adding a core key is one row in a table below. */
#include "config/config_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <gnutls/gnutls.h>

#include "log/log.h"
#include "util/tls_pin.h"

enum key_kind {
	KIND_TEXT,       /* any non-empty string; paths are kept as written */
	KIND_HOSTNAME,
	KIND_NAME,       /* [a-z0-9_-]+ */
	KIND_ADDRESS,    /* numeric IPv4 or IPv6 */
	KIND_PORT,
	KIND_COUNT,      /* integer >= 1 */
	KIND_TIMEOUT,    /* duration >= 1s */
	KIND_LOG_LEVEL,
	KIND_LOG_TARGET,
	KIND_TLS_MODE,
	KIND_HOSTPORT,   /* host, host:port, [v6] or [v6]:port */
	KIND_RELAY_TLS,  /* required | opportunistic */
	KIND_MODULE,     /* NAME, or an absolute path /.../NAME.so */
	KIND_NAMES,      /* names separated by blanks */
	KIND_CA_FILE,    /* a readable PEM file of CA certificates */
	KIND_TLS_PINS,   /* SHA-256 public-key pins (util/tls_pin.h) */
	KIND_WORKERS,    /* 1 to CONFIG_WORKERS_MAX */
	KIND_COUNT0,     /* integer >= 0 */
	KIND_DURATION0,  /* duration >= 0 (0: off) */
	KIND_PERCENTS,   /* "none", or percentages 1-100 separated by blanks */
	KIND_DELIMITER,  /* subaddress separators: atext, no letter or digit */
	KIND_SECRET,     /* SRS secrets: words of at least 16 characters */
};

struct core_key {
	const char *name;
	enum key_kind kind;
	bool required;
};

struct core_section {
	const char *type;
	bool named;
	enum config_file_kind where;
	const struct core_key *keys; /* ends with a NULL name */
	int (*check)(const struct config_section *section, const char *label,
		     char *err, size_t errlen);
};

static const struct core_key server_keys[] = {
	{ "hostname", KIND_HOSTNAME, false },
	{ "state_dir", KIND_TEXT, false },
	{ "user", KIND_TEXT, false },
	{ "modules_dir", KIND_TEXT, false },
	{ "modules_conf_dir", KIND_TEXT, false },
	{ "log_level", KIND_LOG_LEVEL, false },
	{ "log_target", KIND_LOG_TARGET, false },
	/* default: the open files limit less a reserve (core/net) */
	{ "max_connections", KIND_COUNT, false },
	/* default: one per online CPU (daemon/workers.c) */
	{ "workers", KIND_WORKERS, false },
	/* defaults in auth/auth_cache.h */
	{ "auth_cache_size", KIND_COUNT0, false },
	{ "auth_cache_ttl", KIND_TIMEOUT, false },
	{ "auth_cache_negative_ttl", KIND_DURATION0, false },
	/* default "+": user+detail@domain reaches user@domain */
	{ "recipient_delimiter", KIND_DELIMITER, false },
	{ NULL, 0, false },
};

static const struct core_key tls_keys[] = {
	{ "cert", KIND_TEXT, false },
	{ "key", KIND_TEXT, false },
	/* A second certificate for the same names, of the other key type
	 * (RSA and ECDSA, while clients migrate): GnuTLS serves the one the
	 * client's signature algorithms allow. */
	{ "alt_cert", KIND_TEXT, false },
	{ "alt_key", KIND_TEXT, false },
	{ "priority", KIND_TEXT, false },
	{ "handshake_timeout", KIND_TIMEOUT, false }, /* default 30s */
	{ NULL, 0, false },
};

/* An SNI certificate shares the default's priority string and handshake
 * timeout: both apply before the server knows which certificate the client
 * asked for. */
static const struct core_key tls_sni_keys[] = {
	{ "cert", KIND_TEXT, true },
	{ "key", KIND_TEXT, true },
	{ "alt_cert", KIND_TEXT, false },
	{ "alt_key", KIND_TEXT, false },
	{ NULL, 0, false },
};

static const struct core_key listener_keys[] = {
	{ "address", KIND_ADDRESS, true },
	{ "port", KIND_PORT, true },
	{ "protocol", KIND_NAME, true },
	{ "tls", KIND_TLS_MODE, true },
	{ "role", KIND_NAME, false }, /* default: from the protocol */
	{ "max_connections", KIND_COUNT, false },
	{ "max_connections_per_ip", KIND_COUNT, false },
	{ "idle_timeout", KIND_TIMEOUT, false },
	{ "command_timeout", KIND_TIMEOUT, false }, /* default 60s */
	{ "preauth_timeout", KIND_TIMEOUT, false }, /* default 60s */
	{ NULL, 0, false },
};

/* The outbound queue (core/queue); defaults in core/queue/README. */
static const struct core_key queue_keys[] = {
	{ "poll_interval", KIND_TIMEOUT, false },
	{ "max_parallel", KIND_COUNT, false },
	{ "relayhost", KIND_HOSTPORT, false },
	{ "relayhost_user", KIND_TEXT, false },
	{ "relayhost_password", KIND_TEXT, false },
	{ "relayhost_tls", KIND_RELAY_TLS, false },
	{ "relayhost_ca_file", KIND_CA_FILE, false },
	{ "relayhost_fingerprint", KIND_TLS_PINS, false },
	{ "mx_port", KIND_PORT, false },
	{ "dns_server", KIND_HOSTPORT, false },
	{ "retry_min", KIND_TIMEOUT, false },
	{ "retry_max", KIND_TIMEOUT, false },
	{ "lifetime", KIND_TIMEOUT, false },
	{ "connect_timeout", KIND_TIMEOUT, false },
	{ "command_timeout", KIND_TIMEOUT, false },
	{ NULL, 0, false },
};

/* The Sender Rewriting Scheme for forwarded mail (util/srs.h,
 * config_srs.c). */
static const struct core_key srs_keys[] = {
	{ "secret", KIND_SECRET, false },
	{ "secret_file", KIND_TEXT, false },
	{ "domain", KIND_HOSTNAME, true },
	{ "max_age", KIND_COUNT, false }, /* days, default 21 */
	{ NULL, 0, false },
};

/* Quota warnings (core/config/config_quota.c, core/delivery). */
static const struct core_key quota_keys[] = {
	{ "warn", KIND_PERCENTS, false },   /* default none */
	{ "templates", KIND_TEXT, false },  /* default: installed */
	{ NULL, 0, false },
};

static const struct core_key module_keys[] = {
	{ "load", KIND_MODULE, true },
	/* Listeners (names or roles) whose sessions the module's hooks see;
	 * unset: all. */
	{ "listeners", KIND_NAMES, false },
	{ NULL, 0, false },
};

/* A certificate without its key (or the reverse) is a half-finished edit;
 * better to stop than to start without TLS. */
static int check_tls_pair(const struct config_section *section,
			  const char *label, char *err, size_t errlen)
{
	bool cert = config_section_value(section, "cert") != NULL;
	bool key = config_section_value(section, "key") != NULL;
	bool alt_cert = config_section_value(section, "alt_cert") != NULL;
	bool alt_key = config_section_value(section, "alt_key") != NULL;

	if (cert != key)
		return config_fail(err, errlen, section->file, section->line,
				   "%s %s is set but %s is not", label,
				   cert ? "cert" : "key", cert ? "key" : "cert");
	if (alt_cert != alt_key)
		return config_fail(err, errlen, section->file, section->line,
				   "%s %s is set but %s is not", label,
				   alt_cert ? "alt_cert" : "alt_key",
				   alt_cert ? "alt_key" : "alt_cert");
	if (alt_cert && !cert)
		return config_fail(err, errlen, section->file, section->line,
				   "%s alt_cert is set but cert is not", label);
	return 0;
}

/* A user without a password (or the reverse) would fail every delivery;
 * AUTH with nobody to authenticate makes no sense without a relayhost.
 * Credentials go only to a verified relayhost, so opportunistic TLS with
 * them is refused here rather than deferring every message; a CA file or
 * a pin that an opportunistic session would not enforce is refused too,
 * since it looks like protection that is not there. */
static int check_queue(const struct config_section *section,
		       const char *label, char *err, size_t errlen)
{
	bool user = config_section_value(section, "relayhost_user") != NULL;
	bool pass = config_section_value(section, "relayhost_password") != NULL;
	bool relay = config_section_value(section, "relayhost") != NULL;
	bool ca = config_section_value(section, "relayhost_ca_file") != NULL;
	bool pins = config_section_value(section,
					 "relayhost_fingerprint") != NULL;
	const char *tls = config_section_value(section, "relayhost_tls");
	bool opportunistic = tls != NULL && strcmp(tls, "opportunistic") == 0;
	const char *verifying = ca ? "relayhost_ca_file" :
				pins ? "relayhost_fingerprint" : NULL;

	if (user != pass)
		return config_fail(err, errlen, section->file, section->line,
				   "%s %s is set but %s is not", label,
				   user ? "relayhost_user" : "relayhost_password",
				   user ? "relayhost_password" : "relayhost_user");
	if ((user || verifying) && !relay)
		return config_fail(err, errlen, section->file, section->line,
				   "%s %s needs relayhost", label,
				   user ? "relayhost_user" : verifying);
	if (user && opportunistic)
		return config_fail(err, errlen, section->file, section->line,
				   "%s relayhost_user needs relayhost_tls = "
				   "required: credentials are sent only over "
				   "a verified connection", label);
	if (verifying && opportunistic)
		return config_fail(err, errlen, section->file, section->line,
				   "%s %s has no effect with relayhost_tls = "
				   "opportunistic (use required)", label,
				   verifying);
	if (ca && pins)
		return config_fail(err, errlen, section->file, section->line,
				   "%s set relayhost_ca_file or "
				   "relayhost_fingerprint, not both (a pinned "
				   "key is checked instead of the chain)",
				   label);
	return 0;
}

/* Secrets come from one place: two would leave the reader guessing which
 * one signs. */
static int check_srs(const struct config_section *section, const char *label,
		     char *err, size_t errlen)
{
	bool secret = config_section_value(section, "secret") != NULL;
	bool file = config_section_value(section, "secret_file") != NULL;

	if (secret == file)
		return config_fail(err, errlen, section->file, section->line,
				   "%s needs exactly one of secret and "
				   "secret_file", label);
	return 0;
}

static const struct core_section core_sections[] = {
	{ "server", false, CONFIG_FILE_MAIN, server_keys, NULL },
	{ "tls", false, CONFIG_FILE_MAIN, tls_keys, check_tls_pair },
	{ "tls", true, CONFIG_FILE_MAIN, tls_sni_keys, check_tls_pair },
	{ "listener", true, CONFIG_FILE_MODULES_D, listener_keys, NULL },
	{ "module", false, CONFIG_FILE_MODULES_D, module_keys, NULL },
	{ "queue", false, CONFIG_FILE_MAIN, queue_keys, check_queue },
	{ "quota", false, CONFIG_FILE_MAIN, quota_keys, NULL },
	{ "srs", false, CONFIG_FILE_MAIN, srs_keys, check_srs },
};

#define CORE_SECTION_COUNT (sizeof(core_sections) / sizeof(core_sections[0]))

bool config_is_core_type(const char *type)
{
	for (size_t i = 0; i < CORE_SECTION_COUNT; i++) {
		if (strcmp(core_sections[i].type, type) == 0)
			return true;
	}
	return false;
}

bool config_is_name(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '_' || *s == '-'))
			return false;
	}
	return true;
}

int config_module_name(const char *load, char *name_r, size_t size)
{
	char name[128];
	const char *base = load;
	size_t len;

	if (load[0] == '/') {
		base = strrchr(load, '/') + 1;
		len = strlen(base);
		if (len <= 3 || strcmp(base + len - 3, ".so") != 0)
			return -EINVAL;
		len -= 3;
	} else {
		len = strlen(load);
	}
	if (len == 0 || len >= sizeof(name))
		return -EINVAL;
	memcpy(name, base, len);
	name[len] = '\0';
	if (!config_is_name(name))
		return -EINVAL;
	if (name_r != NULL) {
		if (len >= size)
			return -EINVAL;
		memcpy(name_r, name, len + 1);
	}
	return 0;
}

static bool is_hostname(const char *s)
{
	size_t label_len = 0;
	size_t len = strlen(s);

	if (len == 0 || len > 253)
		return false;
	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (label_len == 0)
				return false;
			label_len = 0;
		} else if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			   (*s >= '0' && *s <= '9') || *s == '-') {
			if (++label_len > 63)
				return false;
		} else {
			return false;
		}
	}
	return label_len > 0;
}

static bool is_address(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, buf) == 1 ||
	       inet_pton(AF_INET6, s, buf) == 1;
}

static bool is_int_in(const char *s, int64_t min, int64_t max);

static bool is_hostport(const char *s)
{
	char host[256];
	const char *port = NULL;
	size_t len;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (end == NULL || (end[1] != '\0' && end[1] != ':'))
			return false;
		len = (size_t)(end - s - 1);
		if (len == 0 || len >= sizeof(host))
			return false;
		memcpy(host, s + 1, len);
		host[len] = '\0';
		struct in6_addr a6;
		if (inet_pton(AF_INET6, host, &a6) != 1)
			return false;
		port = end[1] == ':' ? end + 2 : NULL;
	} else {
		const char *colon = strchr(s, ':');
		len = colon ? (size_t)(colon - s) : strlen(s);
		if (len == 0 || len >= sizeof(host))
			return false;
		memcpy(host, s, len);
		host[len] = '\0';
		if (!is_hostname(host))
			return false;
		port = colon ? colon + 1 : NULL;
	}
	return port == NULL || is_int_in(port, 1, 65535);
}

static bool is_int_in(const char *s, int64_t min, int64_t max)
{
	int64_t value;

	return config_parse_value(POSTINO_CONFIG_INT, s, &value) == 0 &&
	       value >= min && value <= max;
}

static bool is_names(const char *s)
{
	char word[64];
	size_t n = 0;
	bool any = false;

	for (;; s++) {
		if (*s == ' ' || *s == '\t' || *s == '\0') {
			if (n > 0) {
				word[n] = '\0';
				if (!config_is_name(word))
					return false;
				any = true;
				n = 0;
			}
			if (*s == '\0')
				return any;
			continue;
		}
		if (n + 1 >= sizeof(word))
			return false;
		word[n++] = *s;
	}
}

/* The file must give GnuTLS at least one CA certificate, as the queue
 * will load it (relative paths from where postinod starts). */
static const char *ca_file_problem(const char *path, char *buf, size_t size)
{
	gnutls_certificate_credentials_t cred;
	FILE *f = fopen(path, "r");
	int ret;

	if (f == NULL) {
		snprintf(buf, size, "cannot be read: %s", strerror(errno));
		return buf;
	}
	fclose(f);
	if (gnutls_certificate_allocate_credentials(&cred) < 0)
		return "cannot be checked: out of memory";
	ret = gnutls_certificate_set_x509_trust_file(cred, path,
						     GNUTLS_X509_FMT_PEM);
	gnutls_certificate_free_credentials(cred);
	if (ret > 0)
		return NULL;
	if (ret == 0)
		return "holds no PEM certificate";
	snprintf(buf, size, "holds no usable PEM certificate: %s",
		 gnutls_strerror(ret));
	return buf;
}

/* NULL when value fits kind, else what is wrong, to follow "'VALUE' "
 * (static, or written into buf). */
static const char *value_problem(enum key_kind kind, const char *value,
				 char *buf, size_t size)
{
	int64_t number;

	switch (kind) {
	case KIND_TEXT:
		return NULL;
	case KIND_HOSTNAME:
		return is_hostname(value) ? NULL : "is not a valid host name";
	case KIND_NAME:
		return config_is_name(value) ?
			       NULL :
			       "is not a valid name (a-z, 0-9, '_' and '-')";
	case KIND_NAMES:
		return is_names(value) ? NULL
				       : "is not a list of names (a-z, 0-9, "
					 "'_' and '-', separated by blanks)";
	case KIND_MODULE:
		return config_module_name(value, NULL, 0) == 0 ?
			       NULL :
			       "is neither a module name (a-z, 0-9, '_' and "
			       "'-') nor an absolute path to NAME.so";
	case KIND_ADDRESS:
		return is_address(value) ? NULL :
					   "is not a numeric IPv4 or IPv6 address";
	case KIND_PORT:
		return is_int_in(value, 1, 65535) ?
			       NULL :
			       "is not a port number (1-65535)";
	case KIND_COUNT:
		return is_int_in(value, 1, INT32_MAX) ?
			       NULL :
			       "is not a whole number from 1 to 2147483647";
	case KIND_COUNT0:
		return is_int_in(value, 0, INT32_MAX) ?
			       NULL :
			       "is not a whole number from 0 to 2147483647";
	case KIND_DURATION0:
		return config_parse_value(POSTINO_CONFIG_DURATION, value,
					  &number) == 0 && number >= 0 ?
			       NULL :
			       "is not a duration (e.g. 0, 30s, 10m, 1h, 1d)";
	case KIND_WORKERS:
		return is_int_in(value, 1, CONFIG_WORKERS_MAX) ?
			       NULL :
			       "is not a whole number from 1 to "
			       CONFIG_WORKERS_MAX_TEXT;
	case KIND_TIMEOUT:
		return config_parse_value(POSTINO_CONFIG_DURATION, value,
					  &number) == 0 && number >= 1 ?
			       NULL :
			       "is not a duration of at least 1s (e.g. 30s, "
			       "10m, 1h, 1d)";
	case KIND_LOG_LEVEL:
		return log_level_parse(value) >= 0 ?
			       NULL :
			       "is not one of error, warning, info, debug";
	case KIND_LOG_TARGET:
		return strcmp(value, "stderr") == 0 ||
				       strcmp(value, "syslog") == 0 ?
			       NULL :
			       "is not one of stderr, syslog";
	case KIND_HOSTPORT:
		return is_hostport(value) ?
			       NULL :
			       "is not host, host:port or [IPv6]:port";
	case KIND_RELAY_TLS:
		return strcmp(value, "required") == 0 ||
				       strcmp(value, "opportunistic") == 0 ?
			       NULL :
			       "is not one of required, opportunistic";
	case KIND_CA_FILE:
		return ca_file_problem(value, buf, size);
	case KIND_TLS_PINS: {
		struct tls_pin pins[TLS_PINS_MAX];
		const char *problem = NULL;
		size_t count;
		return tls_pins_parse(value, pins, &count, &problem) == 0 ?
			       NULL : problem;
	}
	case KIND_PERCENTS:
		return config_parse_percents(value, NULL, 0, NULL) == 0 ?
			       NULL :
			       "is not none or a list of at most 8 percentages "
			       "from 1 to 100 (e.g. 80 95)";
	case KIND_DELIMITER:
		return config_delimiter_valid(value) ?
			       NULL :
			       "is not 1 to 8 separator characters (any of "
			       "!#$%&'*+-/=?^_`{|}~)";
	case KIND_SECRET:
		return config_srs_secrets_valid(value) ?
			       NULL :
			       "is not a list of secrets of 16 to 256 "
			       "characters, separated by blanks";
	case KIND_TLS_MODE:
		/* none: only for a protocol whose module declares it never
		 * authenticates (checked once modules are known). */
		return strcmp(value, "implicit") == 0 ||
				       strcmp(value, "starttls") == 0 ||
				       strcmp(value, "none") == 0 ?
			       NULL :
			       "is not one of implicit, starttls, none";
	}
	return "has an unknown kind";
}

static const struct core_key *find_key(const struct core_key *keys,
				       const char *name)
{
	for (; keys->name != NULL; keys++) {
		if (strcmp(keys->name, name) == 0)
			return keys;
	}
	return NULL;
}

/* Host names compare without case, like SNI does. */
static bool same_section(const struct config_section *a,
			 const struct config_section *b)
{
	if (strcmp(a->type, b->type) != 0)
		return false;
	if (a->name == NULL || b->name == NULL)
		return a->name == b->name;
	if (strcmp(a->type, "tls") == 0)
		return strcasecmp(a->name, b->name) == 0;
	return strcmp(a->name, b->name) == 0;
}

static int check_keys(const struct core_section *schema,
		      const struct config_section *section, const char *label,
		      char *err, size_t errlen)
{
	const struct config_entry *entry;
	const struct core_key *key;

	for (entry = section->entries; entry != NULL; entry = entry->next) {
		char buf[256];
		const char *problem;

		key = find_key(schema->keys, entry->key);
		if (key == NULL)
			return config_fail(err, errlen, entry->file,
					   entry->line, "%s unknown key '%s'",
					   label, entry->key);
		if (entry->value[0] == '\0')
			return config_fail(err, errlen, entry->file,
					   entry->line, "%s %s: empty value",
					   label, entry->key);
		problem = value_problem(key->kind, entry->value, buf,
					sizeof(buf));
		if (problem != NULL)
			return config_fail(err, errlen, entry->file,
					   entry->line, "%s %s: '%s' %s",
					   label, entry->key, entry->value,
					   problem);
	}
	for (key = schema->keys; key->name != NULL; key++) {
		if (key->required &&
		    config_section_value(section, key->name) == NULL)
			return config_fail(err, errlen, section->file,
					   section->line,
					   "%s missing required key '%s'",
					   label, key->name);
	}
	return schema->check != NULL ?
		       schema->check(section, label, err, errlen) :
		       0;
}

static int check_core_section(const struct config *config,
			      const struct config_section *section,
			      enum config_file_kind kind, const char *label,
			      char *err, size_t errlen)
{
	const struct core_section *schema = NULL;
	const struct config_section *other;

	for (size_t i = 0; i < CORE_SECTION_COUNT; i++) {
		if (strcmp(core_sections[i].type, section->type) == 0 &&
		    core_sections[i].named == (section->name != NULL)) {
			schema = &core_sections[i];
			break;
		}
	}
	if (schema == NULL) {
		if (section->name != NULL)
			return config_fail(err, errlen, section->file,
					   section->line,
					   "%s: [%s] takes no name", label,
					   section->type);
		return config_fail(err, errlen, section->file, section->line,
				   "%s needs a name: [%s NAME]", label,
				   section->type);
	}
	if (schema->where != kind)
		return config_fail(err, errlen, section->file, section->line,
				   "%s belongs in %s", label,
				   schema->where == CONFIG_FILE_MAIN ?
					   "the main configuration file" :
					   "a modules.d file");
	/* One [module] per file is the caller's rule, with its own message. */
	if (strcmp(section->type, "module") != 0) {
		for (other = config->sections; other != section;
		     other = other->next) {
			if (same_section(other, section))
				return config_fail(err, errlen, section->file,
						   section->line,
						   "duplicate section %s "
						   "(first at %s:%d)",
						   label, other->file,
						   other->line);
		}
	}
	return check_keys(schema, section, label, err, errlen);
}

int config_check_core_sections(const struct config *config,
			       const struct config_section *first,
			       enum config_file_kind kind, char *err,
			       size_t errlen)
{
	char label[160];
	int ret;

	for (const struct config_section *section = first; section != NULL;
	     section = section->next) {
		config_section_label(section, label, sizeof(label));
		if (config_is_core_type(section->type)) {
			ret = check_core_section(config, section, kind, label,
						 err, errlen);
			if (ret < 0)
				return ret;
		} else if (section->name != NULL) {
			return config_fail(err, errlen, section->file,
					   section->line,
					   "%s: a module's section takes no "
					   "name, write [%s]",
					   label, section->type);
		}
	}
	return 0;
}
