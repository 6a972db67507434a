/* A module as the headers of before ABI 1.0 was final built it: the same
 * symbol and version numbers (1.0), but a descriptor that ends at fini and
 * an init that would call into the old flat host table. The loader must
 * refuse it with a line saying to rebuild, never call its init. This file
 * spells out the old descriptor instead of copying the old header. */
#include <stddef.h>
#include <stdint.h>

struct prerelease_module {
	size_t size;
	uint32_t abi_major;
	uint32_t abi_minor;
	const char *name;
	const char *version;
	const char *description;
	const void *config_keys;
	size_t config_key_size;
	int (*init)(void *mod, const void *host, void **data_r);
	void (*fini)(void *mod, void *data);
};

static int prerelease_init(void *mod, const void *host, void **data_r)
{
	(void)mod;
	(void)host;
	(void)data_r;
	/* Reaching this is the bug the loader's check prevents. */
	__builtin_trap();
}

__attribute__((visibility("default")))
const struct prerelease_module postino_module_v1 = {
	.size = sizeof(struct prerelease_module),
	.abi_major = 1,
	.abi_minor = 0,
	.name = "sample",
	.version = "0.9.0",
	.description = "built with the pre-1.0 headers",
	.config_key_size = 32,
	.init = prerelease_init,
};
