/* smtp.so: the SMTP server (RFC 5321). One session engine serves two
 * protocols: "smtp" (MX, port 25: unauthenticated mail to local domains)
 * and "submission" (587 STARTTLS, 465 implicit TLS: MAIL needs AUTH). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp.h"
#include "smtp_reply.h"


static void server_free(struct smtp_server *srv)
{
	if (srv == NULL)
		return;
	free(srv->hostname);
	free(srv->postmaster);
	free(srv->overload_reply);
	free(srv->timeout_reply);
	free(srv->command_timeout_reply);
	free(srv);
}

static void service_init(struct smtp_server *srv, struct smtp_service *svc,
			 const char *name, int submission)
{
	svc->srv = srv;
	svc->submission = submission;
	svc->proto = (struct postino_protocol){
		.size = sizeof(struct postino_protocol),
		.name = name,
		.max_line = SMTP_MAX_LINE,
		.idle_timeout_s = SMTP_IDLE_TIMEOUT_S,
		.overload_reply = srv->overload_reply,
		.timeout_reply = srv->timeout_reply,
		.command_timeout_reply = srv->command_timeout_reply,
		.on_connect = smtp_on_connect,
		.on_line = smtp_on_line,
		.on_bytes = smtp_on_bytes,
		.on_starttls = smtp_on_starttls,
		.on_close = smtp_on_close,
	};
}

static int smtp_init(postino_mod *mod, const struct postino_host *host,
		     void **data_r)
{
	struct smtp_server *srv = calloc(1, sizeof(*srv));
	if (srv == NULL)
		return -ENOMEM;
	srv->mod = mod;
	srv->host = host;

	int64_t max_size = host->core->config_number(mod, "max_message_size");
	int64_t max_rcpt = host->core->config_number(mod, "max_recipients");
	srv->sender_login_check =
		host->core->config_number(mod, "sender_login_check") != 0;
	if (max_size < 1 || max_rcpt < 1 || max_rcpt > 100000) {
		host->core->log(mod, POSTINO_LOG_ERROR, NULL,
			  "[smtp] max_message_size must be at least 1 byte and "
			  "max_recipients 1..100000");
		server_free(srv);
		return -EINVAL;
	}
	srv->max_message_size = (uint64_t)max_size;
	srv->max_recipients = (unsigned)max_rcpt;

	/* Where RCPT TO:<postmaster> goes (RFC 5321 4.5.1). */
	const char *postmaster = host->core->config_string(mod, "postmaster");
	if (postmaster != NULL && *postmaster != '\0') {
		struct smtp_path path;

		if (smtp_parse_address(postmaster, strlen(postmaster),
				       &path) != SMTP_PARSE_OK) {
			host->core->log(mod, POSTINO_LOG_ERROR, NULL,
				  "[smtp] postmaster is not an address "
				  "(local@domain): %s", postmaster);
			server_free(srv);
			return -EINVAL;
		}
		srv->postmaster = strdup(path.address);
		if (srv->postmaster == NULL) {
			server_free(srv);
			return -ENOMEM;
		}
	}

	const char *hostname = host->core->hostname(mod);
	srv->hostname = strdup(hostname != NULL ? hostname : "localhost");
	if (srv->hostname == NULL) {
		server_free(srv);
		return -ENOMEM;
	}
	if (asprintf(&srv->overload_reply, R_OVERLOAD, srv->hostname) < 0)
		srv->overload_reply = NULL;
	if (asprintf(&srv->timeout_reply, R_TIMEOUT, srv->hostname) < 0)
		srv->timeout_reply = NULL;
	if (asprintf(&srv->command_timeout_reply, R_COMMAND_TIMEOUT,
		     srv->hostname) < 0)
		srv->command_timeout_reply = NULL;
	if (srv->overload_reply == NULL || srv->timeout_reply == NULL ||
	    srv->command_timeout_reply == NULL) {
		server_free(srv);
		return -ENOMEM;
	}

	service_init(srv, &srv->mx, "smtp", 0);
	service_init(srv, &srv->submission, "submission", 1);
	int ret = host->proto->protocol_register(mod, &srv->mx.proto, &srv->mx);
	if (ret == 0)
		ret = host->proto->protocol_register(mod, &srv->submission.proto,
					      &srv->submission);
	if (ret < 0) {
		host->core->log(mod, POSTINO_LOG_ERROR, NULL,
			  "protocol_register failed: %s", strerror(-ret));
		server_free(srv);
		return ret;
	}
	*data_r = srv;
	return 0;
}

static void smtp_fini(postino_mod *mod, void *data)
{
	(void)mod;
	server_free(data);
}

static const struct postino_config_key smtp_keys[] = {
	{ "max_message_size", POSTINO_CONFIG_SIZE, "50M",
	  "largest message accepted (advertised with SIZE)" },
	{ "max_recipients", POSTINO_CONFIG_INT, "100",
	  "most RCPT TO accepted per message" },
	{ "sender_login_check", POSTINO_CONFIG_BOOL, "yes",
	  "authenticated senders may only use addresses they own" },
	{ "postmaster", POSTINO_CONFIG_STRING, "",
	  "where RCPT TO:<postmaster> goes; empty: postmaster@hostname" },
	{ NULL, 0, NULL, NULL },
};

POSTINO_EXPORT const struct postino_module postino_module_v1 = {
	POSTINO_MODULE_HEADER,
	.name = "smtp",
	.version = "0.1.0",
	.description = "SMTP server: MX and submission (RFC 5321)",
	.config_keys = smtp_keys,
	.init = smtp_init,
	.fini = smtp_fini,
};
