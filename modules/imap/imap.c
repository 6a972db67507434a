/* imap.so: the IMAP4rev1 server (RFC 3501) with IDLE, UIDPLUS, MOVE,
 * SPECIAL-USE, NAMESPACE, ID, ENABLE, LITERAL+, CHILDREN, UNSELECT,
 * SASL-IR and LIST-EXTENDED. Authentication only inside TLS. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "imap.h"

static const struct postino_config_key imap_keys[] = {
	{ "max_message_size", POSTINO_CONFIG_SIZE, "50M",
	  "largest message APPEND accepts" },
	{ "subscribe_on_create", POSTINO_CONFIG_BOOL, "no",
	  "CREATE also subscribes the new mailbox (CREATE with a special "
	  "use always does)" },
	{ NULL, 0, NULL, NULL },
};

static int imap_init(postino_mod *mod, const struct postino_host *host,
		     void **data_r)
{
	struct imap_server *srv = calloc(1, sizeof(*srv));
	if (srv == NULL)
		return -ENOMEM;
	srv->mod = mod;
	srv->host = host;
	srv->max_message_size =
		(uint64_t)host->core->config_number(mod, "max_message_size");
	srv->subscribe_on_create =
		host->core->config_number(mod, "subscribe_on_create") != 0;
	srv->proto = (struct postino_protocol){
		.size = sizeof(struct postino_protocol),
		.name = "imap",
		.max_line = IMAP_MAX_LINE,
		.idle_timeout_s = IMAP_IDLE_TIMEOUT_S,
		.overload_reply = "* BYE Too many connections, try later",
		.timeout_reply = "* BYE Autologout; idle for too long",
		.command_timeout_reply =
			"* BYE Command line not completed in time",
		.on_connect = imap_on_connect,
		.on_line = imap_on_line,
		.on_bytes = imap_on_bytes,
		.on_starttls = imap_on_starttls,
		.on_writable = imap_on_writable,
		.on_close = imap_on_close,
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

static void imap_fini(postino_mod *mod, void *data)
{
	(void)mod;
	free(data);
}

POSTINO_EXPORT const struct postino_module postino_module_v1 = {
	POSTINO_MODULE_HEADER,
	.name = "imap",
	.version = "0.1.0",
	.description = "IMAP4rev1 server: IDLE, UIDPLUS, MOVE, SPECIAL-USE",
	.config_keys = imap_keys,
	.init = imap_init,
	.fini = imap_fini,
};
