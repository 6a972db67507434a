/* sieve.so: Sieve filtering (RFC 5228 and the extensions in doc/sieve.md)
 * at final delivery, the scripts' store, and the "sieve" service the
 * front-ends use (sieve_service.h: managesieve.so, the panel). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sm.h"

/* The state service's values are 64 KiB; a script is stored in chunks,
 * so the limit is ours to choose. */
#define SM_SCRIPT_SIZE_CEILING (1024 * 1024)

static const struct postino_config_key sieve_config_keys[] = {
	{ "max_scripts", POSTINO_CONFIG_INT, "16",
	  "scripts one account may store" },
	{ "max_script_size", POSTINO_CONFIG_SIZE, "64k",
	  "largest script, in octets (at most 1M)" },
	{ "max_redirects", POSTINO_CONFIG_INT, "4",
	  "distinct redirect addresses one run may use (at most 32)" },
	{ "redirects_per_hour", POSTINO_CONFIG_INT, "100",
	  "redirects one account's scripts may make per hour; past it the "
	  "message is kept instead" },
	{ NULL, 0, NULL, NULL },
};

static int sieve_init(postino_mod *mod, const struct postino_host *host,
		      void **data_r)
{
	if (!POSTINO_HAS(host->mail, struct postino_host_mail,
			 address_separators) ||
	    !POSTINO_HAS(host->core, struct postino_host_core,
			 service_import)) {
		host->core->log(mod, POSTINO_LOG_ERROR, NULL,
				"needs a server with plugin ABI 1.1");
		return -ENOTSUP;
	}
	int64_t scripts = host->core->config_number(mod, "max_scripts");
	int64_t size = host->core->config_number(mod, "max_script_size");
	int64_t redirects = host->core->config_number(mod, "max_redirects");
	int64_t per_hour = host->core->config_number(mod,
						     "redirects_per_hour");
	if (scripts < 1 || scripts > 100 || size < 1 ||
	    size > SM_SCRIPT_SIZE_CEILING || redirects < 1 || redirects > 32 ||
	    per_hour < 0 || per_hour > 1000000) {
		host->core->log(mod, POSTINO_LOG_ERROR, NULL,
				"[sieve] max_scripts must be 1 to 100, "
				"max_script_size 1 to 1M, max_redirects 1 to "
				"32, redirects_per_hour 0 to 1000000");
		return -EINVAL;
	}
	struct sm *sm = calloc(1, sizeof(*sm));
	if (sm == NULL)
		return -ENOMEM;
	sm->mod = mod;
	sm->host = host;
	sieve_limits_default(&sm->limits);
	sm->limits.max_script_size = (size_t)size;
	sm->limits.max_redirects = (unsigned)redirects;
	sm->max_scripts = (unsigned)scripts;
	sm->redirects_per_hour = (unsigned)per_hour;
	sm_service_init(sm);
	int ret = sieve_engine_init();
	if (ret == 0)
		ret = host->core->service_export(mod, SIEVE_SERVICE_NAME,
						 &sm->service);
	if (ret == 0)
		ret = host->policy->hook_register(mod, POSTINO_HOOK_DELIVERY,
						  sm_deliver_hook, sm);
	if (ret == 0)
		ret = sm_admin_register(sm);
	if (ret < 0) {
		host->core->log(mod, POSTINO_LOG_ERROR, NULL,
				"cannot start: %s", strerror(-ret));
		sieve_engine_shutdown();
		free(sm);
		return ret;
	}
	*data_r = sm;
	return 0;
}

static void sieve_fini(postino_mod *mod, void *data)
{
	struct sm *sm = data;

	(void)mod;
	if (sm == NULL)
		return;
	sm_vacation_fini(sm);
	sieve_engine_shutdown();
	free(sm);
}

POSTINO_EXPORT const struct postino_module postino_module_v1 = {
	POSTINO_MODULE_HEADER,
	.name = "sieve",
	.version = "0.1.0",
	.description = "Sieve filtering at delivery: vacation, redirect, "
		       "fileinto (RFC 5228)",
	.config_keys = sieve_config_keys,
	.init = sieve_init,
	.fini = sieve_fini,
};
