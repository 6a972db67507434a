/* One INI file into sections and entries, with file:line for each.
 *
 * inih parses the "key = value" lines; our reader hands it one physical
 * line per call, so our line counter is inih's line number and the handler
 * runs while the line it reports is the one just read. The reader deals
 * with blank lines, comments and section headers itself and passes inih an
 * empty line for them, for three reasons: it knows each section's line,
 * section names are not cut at inih's 50 bytes, and indented keys are not
 * taken for inih's multi-line continuations (leading blanks are stripped
 * before inih sees a line). */
#include "config/config_internal.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parse_ctx {
	struct config *config;
	const char *file;
	FILE *fp;
	char *raw; /* getline's buffer */
	size_t raw_size;
	int line;
	struct config_section **section_tail;
	struct config_section *current;
	struct config_entry **entry_tail;
	struct config_section *first;
	int ret;      /* first error from the reader or the handler */
	int err_line; /* its line */
	char *err;
	size_t errlen;
};

static const char *add_file(struct config *config, const char *path)
{
	char **files;
	char *copy;

	files = realloc(config->files,
			(config->file_count + 1) * sizeof(*files));
	if (files == NULL)
		return NULL;
	config->files = files;
	copy = strdup(path);
	if (copy == NULL)
		return NULL;
	files[config->file_count++] = copy;
	return copy;
}

static void mark_failed(struct parse_ctx *ctx, int ret)
{
	ctx->ret = ret;
	ctx->err_line = ctx->line;
}

static void out_of_memory(struct parse_ctx *ctx)
{
	config_fail(ctx->err, ctx->errlen, ctx->file, ctx->line,
		    "out of memory");
	mark_failed(ctx, -ENOMEM);
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
	       c == '-';
}

static const char *skip_blanks(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

static void add_section(struct parse_ctx *ctx, const char *type,
			size_t type_len, const char *name, size_t name_len)
{
	struct config_section *section = calloc(1, sizeof(*section));

	if (section == NULL)
		goto nomem;
	*ctx->section_tail = section;
	ctx->section_tail = &section->next;
	section->file = ctx->file;
	section->line = ctx->line;
	section->type = strndup(type, type_len);
	if (section->type == NULL)
		goto nomem;
	if (name != NULL) {
		section->name = strndup(name, name_len);
		if (section->name == NULL)
			goto nomem;
	}
	ctx->current = section;
	ctx->entry_tail = &section->entries;
	if (ctx->first == NULL)
		ctx->first = section;
	return;
nomem:
	out_of_memory(ctx);
}

/* line starts with '[' and has no trailing blanks. Accepts [TYPE],
 * [TYPE NAME] and [TYPE "NAME"], then an optional ';' or '#' comment. */
static void parse_header(struct parse_ctx *ctx, const char *line)
{
	const char *s = skip_blanks(line + 1);
	const char *type = s;
	const char *name = NULL;
	size_t type_len;
	size_t name_len = 0;

	while (is_name_char(*s))
		s++;
	type_len = (size_t)(s - type);
	s = skip_blanks(s);
	if (*s == '"') {
		name = ++s;
		while (*s != '\0' && *s != '"' && !iscntrl((unsigned char)*s))
			s++;
		if (*s != '"')
			goto bad;
		name_len = (size_t)(s - name);
		s++;
	} else if (*s != ']' && *s != '\0') {
		name = s;
		while (*s != '\0' && *s != ']' && *s != '"' &&
		       !isspace((unsigned char)*s) && !iscntrl((unsigned char)*s))
			s++;
		name_len = (size_t)(s - name);
	}
	s = skip_blanks(s);
	if (type_len == 0 || (name != NULL && name_len == 0) || *s != ']')
		goto bad;
	s = skip_blanks(s + 1);
	if (*s != '\0' && *s != ';' && *s != '#')
		goto bad;
	add_section(ctx, type, type_len, name, name_len);
	return;
bad:
	config_fail(ctx->err, ctx->errlen, ctx->file, ctx->line,
		    "bad section header '%.80s': expected [TYPE], [TYPE NAME] "
		    "or [TYPE \"NAME\"], TYPE made of a-z, 0-9, '_' and '-'",
		    line);
	mark_failed(ctx, -EINVAL);
}

/* inih's ini_reader: fgets() semantics, one physical line per call. */
static char *read_line(char *str, int num, void *stream)
{
	struct parse_ctx *ctx = stream;
	ssize_t n;
	char *s;
	size_t len;

	/* Stopping at the first error keeps the message about the first
	 * problem in the file. */
	if (ctx->ret != 0)
		return NULL;
	n = getline(&ctx->raw, &ctx->raw_size, ctx->fp);
	if (n < 0)
		return NULL;
	ctx->line++;
	s = ctx->raw;
	len = (size_t)n;
	if (memchr(s, '\0', len) != NULL) {
		mark_failed(ctx, config_fail(ctx->err, ctx->errlen, ctx->file,
					     ctx->line, "NUL byte in line"));
		return NULL;
	}
	if (ctx->line == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
		s += 3;
	while (isspace((unsigned char)*s))
		s++;
	len = strlen(s);
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		s[--len] = '\0';

	if (len == 0 || *s == ';' || *s == '#') {
		strcpy(str, "\n");
		return str;
	}
	if (*s == '[') {
		parse_header(ctx, s);
		if (ctx->ret != 0)
			return NULL;
		strcpy(str, "\n");
		return str;
	}
	if (len + 2 > (size_t)num) {
		mark_failed(ctx,
			    config_fail(ctx->err, ctx->errlen, ctx->file,
					ctx->line,
					"line too long: a 'key = value' line "
					"may have at most %d bytes",
					num - 2));
		return NULL;
	}
	memcpy(str, s, len);
	str[len] = '\n';
	str[len + 1] = '\0';
	return str;
}

static int handle_key(void *user, const char *section_name, const char *key,
		      const char *value)
{
	struct parse_ctx *ctx = user;
	struct config_section *section = ctx->current;
	struct config_entry *entry;
	char label[160];

	(void)section_name; /* inih never sees our headers; see the top */
	if (section == NULL) {
		mark_failed(ctx, config_fail(ctx->err, ctx->errlen, ctx->file,
					     ctx->line,
					     "key '%s' outside any section",
					     key));
		return 0;
	}
	config_section_label(section, label, sizeof(label));
	if (*key == '\0' || value == NULL) {
		mark_failed(ctx, config_fail(ctx->err, ctx->errlen, ctx->file,
					     ctx->line,
					     "%s expected 'key = value'",
					     label));
		return 0;
	}
	for (entry = section->entries; entry != NULL; entry = entry->next) {
		if (strcmp(entry->key, key) == 0) {
			mark_failed(ctx,
				    config_fail(ctx->err, ctx->errlen,
						ctx->file, ctx->line,
						"%s duplicate key '%s' (first "
						"set at line %d)",
						label, key, entry->line));
			return 0;
		}
	}
	entry = calloc(1, sizeof(*entry));
	if (entry == NULL) {
		out_of_memory(ctx);
		return 0;
	}
	*ctx->entry_tail = entry;
	ctx->entry_tail = &entry->next;
	entry->file = ctx->file;
	entry->line = ctx->line;
	entry->key = strdup(key);
	entry->value = strdup(value);
	if (entry->key == NULL || entry->value == NULL) {
		out_of_memory(ctx);
		return 0;
	}
	return 1;
}

int config_parse_file(struct config *config, const char *path,
		      struct config_section **first_r, char *err,
		      size_t errlen)
{
	struct parse_ctx ctx = {
		.config = config,
		.err = err,
		.errlen = errlen,
	};
	int inih_ret;

	*first_r = NULL;
	ctx.file = add_file(config, path);
	if (ctx.file == NULL) {
		config_fail(err, errlen, path, 0, "out of memory");
		return -ENOMEM;
	}
	ctx.fp = fopen(path, "re");
	if (ctx.fp == NULL) {
		int e = errno;

		config_fail(err, errlen, path, 0, "cannot open: %s",
			    strerror(e));
		return -e;
	}
	ctx.section_tail = &config->sections;
	while (*ctx.section_tail != NULL)
		ctx.section_tail = &(*ctx.section_tail)->next;

	inih_ret = ini_parse_stream(read_line, &ctx, handle_key, &ctx);

	if (ctx.ret == 0 && ferror(ctx.fp)) {
		/* fopen() opens a directory; reading it is where that shows. */
		mark_failed(&ctx, config_fail(err, errlen, path, 0,
					      "cannot read: %s",
					      strerror(errno)));
		ctx.err_line = 0;
	}
	fclose(ctx.fp);
	free(ctx.raw);
	*first_r = ctx.first;

	if (inih_ret == -2) {
		config_fail(err, errlen, path, 0, "out of memory");
		return -ENOMEM;
	}
	/* inih keeps going after a line it cannot parse; it only tells us
	 * the first such line once it is done. */
	if (inih_ret > 0 && (ctx.ret == 0 || inih_ret < ctx.err_line))
		return config_fail(err, errlen, path, inih_ret,
				   "expected 'key = value', '[section]' or "
				   "a comment");
	return ctx.ret;
}
