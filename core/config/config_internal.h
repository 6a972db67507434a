/* Shared by the files of core/config only. */
#ifndef POSTINO_CONFIG_INTERNAL_H
#define POSTINO_CONFIG_INTERNAL_H

#include <stdbool.h>

#include "config/config.h"

/* Where a file sits decides which core sections it may hold. */
enum config_file_kind {
	CONFIG_FILE_MAIN,
	CONFIG_FILE_MODULES_D,
};

/* Writes "FILE:LINE: ..." (or "FILE: ..." when line is 0) into err and
 * returns -EINVAL, so callers can `return config_fail(...)`. */
int config_fail(char *err, size_t errlen, const char *file, int line,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* "[server]", "[tls \"x\"]", "[listener imap]" for messages. */
const char *config_section_label(const struct config_section *section,
				 char *buf, size_t size);

/* True for [a-z0-9_-]+: section types, module and protocol names. */
bool config_is_name(const char *s);
/* The module name a `load =` value gives: the value itself, or NAME of an
 * absolute path /.../NAME.so. 0, or -EINVAL when it is neither. name_r
 * may be NULL (only checks). */
int config_module_name(const char *load, char *name_r, size_t size);
/* True for server, tls, module, listener. */
bool config_is_core_type(const char *type);

/* Parses one INI file and appends its sections to config->sections; the
 * path is copied into config->files. *first_r is the first section the
 * file added (NULL when it has none). A missing file is -ENOENT. */
int config_parse_file(struct config *config, const char *path,
		      struct config_section **first_r, char *err,
		      size_t errlen);

/* Checks the core sections from first to the end of the list: placement
 * for kind, no duplicates (also against earlier files), keys and values
 * against the core schema. Module [NAME] sections only get their header
 * checked. */
int config_check_core_sections(const struct config *config,
			       const struct config_section *first,
			       enum config_file_kind kind, char *err,
			       size_t errlen);

/* recipient_delimiter: 1 to 8 characters, each atext that is not a
 * letter or digit. */
bool config_delimiter_valid(const char *value);
/* [srs] secret: blank-separated words of 16 to 256 printable characters. */
bool config_srs_secrets_valid(const char *value);
/* Fills config->srs from [srs] (reading secret_file). */
int config_apply_srs(struct config *config, char *err, size_t errlen);

/* Fills config->server from [server] and the defaults. */
int config_apply_server(struct config *config, char *err, size_t errlen);

/* config_quota.c: "none" (no entries) or percentages 1-100 separated by
 * blanks, at most CONFIG_QUOTA_WARN_MAX, into out (may be NULL: checks
 * only), sorted, without repeats. 0 or -EINVAL. */
int config_parse_percents(const char *text, unsigned *out, size_t max,
			  size_t *count_r);
/* Fills config->quota from [quota] and the defaults, reading the warning
 * templates when a threshold is set. */
int config_apply_quota(struct config *config, char *err, size_t errlen);

/* Reads every *.conf of config->server.modules_conf_dir in name order and
 * records the modules they load. */
int config_load_modules_d(struct config *config, char *err, size_t errlen);

/* Fails on a [NAME] section no modules.d file loads. */
int config_check_module_sections(const struct config *config, char *err,
				 size_t errlen);

#endif
