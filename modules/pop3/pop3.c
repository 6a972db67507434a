/* pop3.so: the POP3 server (RFC 1939, 2449 CAPA, 5034 AUTH, 2595 STLS).
 * Maildrop = the account's INBOX, opened exclusively; deletions only in
 * the UPDATE state after QUIT. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pop3.h"
#include "pop3_reply.h"

static int pop3_init(postino_mod *mod, const struct postino_host *host,
		     void **data_r)
{
	struct pop3_server *srv = calloc(1, sizeof(*srv));
	if (srv == NULL)
		return -ENOMEM;
	srv->mod = mod;
	srv->host = host;
	srv->proto = (struct postino_protocol){
		.size = sizeof(struct postino_protocol),
		.name = "pop3",
		.max_line = POP3_MAX_LINE,
		.idle_timeout_s = POP3_IDLE_TIMEOUT_S,
		.overload_reply = R_OVERLOAD,
		.timeout_reply = R_TIMEOUT,
		.command_timeout_reply = R_COMMAND_TIMEOUT,
		.on_connect = pop3_on_connect,
		.on_line = pop3_on_line,
		.on_starttls = pop3_on_starttls,
		.on_writable = pop3_on_writable,
		.on_close = pop3_on_close,
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

static void pop3_fini(postino_mod *mod, void *data)
{
	(void)mod;
	free(data);
}

POSTINO_EXPORT const struct postino_module postino_module_v1 = {
	POSTINO_MODULE_HEADER,
	.name = "pop3",
	.version = "0.1.0",
	.description = "POP3 server: STLS, SASL PLAIN, UIDL, TOP (RFC 1939)",
	.config_keys = NULL,
	.init = pop3_init,
	.fini = pop3_fini,
};
