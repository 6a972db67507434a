/* managesieve.so: ManageSieve (RFC 5804) on port 4190 with STARTTLS, for
 * the clients that manage Sieve scripts (Roundcube's managesieve plugin,
 * Thunderbird's sieve add-on, KMail, sieve-connect). The scripts and
 * their compiler are sieve.so's, reached through its "sieve" service. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ms.h"

static int ms_init(postino_mod *mod, const struct postino_host *host,
		   void **data_r)
{
	if (!POSTINO_HAS(host->core, struct postino_host_core,
			 service_import)) {
		host->core->log(mod, POSTINO_LOG_ERROR, NULL,
				"needs a server with plugin ABI 1.1");
		return -ENOTSUP;
	}
	const struct sieve_service *sieve =
		host->core->service_import(mod, SIEVE_SERVICE_NAME);
	if (sieve == NULL ||
	    !POSTINO_HAS_FIELD(sieve, struct sieve_service, rename)) {
		host->core->log(mod, POSTINO_LOG_ERROR, NULL,
				"sieve.so's service is missing or too old");
		return -ENOTSUP;
	}
	struct ms_server *srv = calloc(1, sizeof(*srv));
	if (srv == NULL)
		return -ENOMEM;
	srv->mod = mod;
	srv->host = host;
	srv->sieve = sieve;
	srv->proto = (struct postino_protocol){
		.size = sizeof(struct postino_protocol),
		.name = "managesieve",
		.max_line = MS_MAX_LINE,
		.idle_timeout_s = MS_IDLE_TIMEOUT_S,
		.overload_reply = "BYE \"Too many connections, try later\"",
		.timeout_reply = "BYE \"Idle too long\"",
		.command_timeout_reply = "BYE \"Command not received in time\"",
		.on_connect = ms_on_connect,
		.on_line = ms_on_line,
		.on_bytes = ms_on_bytes,
		.on_starttls = ms_on_starttls,
		.on_close = ms_on_close,
	};
	int ret = host->proto->protocol_register(mod, &srv->proto, srv);
	if (ret < 0) {
		host->core->log(mod, POSTINO_LOG_ERROR, NULL,
				"protocol_register failed: %s", strerror(-ret));
		free(srv);
		return ret;
	}
	*data_r = srv;
	return 0;
}

static void ms_fini(postino_mod *mod, void *data)
{
	(void)mod;
	free(data);
}

static const char *const ms_requires[] = { "sieve", NULL };

POSTINO_EXPORT const struct postino_module postino_module_v1 = {
	POSTINO_MODULE_HEADER,
	.name = "managesieve",
	.version = "0.1.0",
	.description = "ManageSieve server: Sieve scripts for mail clients "
		       "(RFC 5804)",
	.init = ms_init,
	.fini = ms_fini,
	.requires = ms_requires,
};
