/* libFuzzer target: the configuration loader (core/config) on untrusted
 * file bytes. config_load reads files, so the input is written to a
 * private directory made once per process:
 *   DIR/postino.conf         the input up to the first "\n%%\n" line
 *   DIR/modules.d/fuzz.conf  the rest (absent when there is no such line)
 * A loaded configuration is then validated against a module key table
 * with one key of each type, as a module's [NAME] section would be, and
 * freed: leaks show up in LeakSanitizer. Inputs that set modules_conf_dir
 * are skipped: they would make the run read arbitrary host directories. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"

static const struct postino_config_key fuzz_keys[] = {
	{ "name", POSTINO_CONFIG_STRING, NULL, "a string" },
	{ "count", POSTINO_CONFIG_INT, "3", "an int" },
	{ "enabled", POSTINO_CONFIG_BOOL, "yes", "a bool" },
	{ "timeout", POSTINO_CONFIG_DURATION, "5m", "a duration" },
	{ "limit", POSTINO_CONFIG_SIZE, "10M", "a size" },
	{ NULL, 0, NULL, NULL },
};

/* Set once by LLVMFuzzerInitialize: the fuzzer's own scratch paths. */
static char dir[64], main_path[96], mod_dir[96], mod_path[128];

static void cleanup(void)
{
	unlink(mod_path);
	rmdir(mod_dir);
	unlink(main_path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "/tmp/postino-fuzz-config.XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(main_path, sizeof(main_path), "%s/postino.conf", dir);
	snprintf(mod_dir, sizeof(mod_dir), "%s/modules.d", dir);
	snprintf(mod_path, sizeof(mod_path), "%s/fuzz.conf", mod_dir);
	atexit(cleanup);
	return 0;
}

static int write_file(const char *path, const uint8_t *p, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		return -1;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n <= 0) {
			close(fd);
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char sep[] = "\n%%\n";
	const uint8_t *split = memmem(data, size, sep, sizeof(sep) - 1);
	size_t main_len = split != NULL ? (size_t)(split - data) : size;
	struct config *config = NULL;
	char err[512];

	if (memmem(data, size, "modules_conf_dir", 16) != NULL)
		return 0;
	unlink(mod_path);
	rmdir(mod_dir);
	if (write_file(main_path, data, main_len) < 0)
		abort();
	if (split != NULL) {
		size_t off = main_len + sizeof(sep) - 1;

		if (mkdir(mod_dir, 0700) < 0 ||
		    write_file(mod_path, data + off, size - off) < 0)
			abort();
	}
	err[0] = '\0';
	if (config_load(main_path, &config, err, sizeof(err)) == 0) {
		if (config == NULL)
			abort();
		for (size_t i = 0; i < config->module_count; i++) {
			const char *name = config->modules[i].name;

			if (config_validate_module(config, name, fuzz_keys,
						   sizeof(fuzz_keys[0]), err,
						   sizeof(err)) == 0)
				for (size_t k = 0; fuzz_keys[k].name; k++)
					config_module_value(config, name,
							    fuzz_keys[k].name);
		}
		config_free(&config);
		if (config != NULL)
			abort();
	} else if (config != NULL || strnlen(err, sizeof(err)) == 0) {
		/* A failure leaves nothing allocated and always says why. */
		abort();
	}
	return 0;
}
