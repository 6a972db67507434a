/* http.so: HTTP/1.1 on the core's connections: the customers' panel
 * (log in, password, recovery, automatic reply and forwarding, quota,
 * client settings), a password API for webmail, and mail clients'
 * autoconfiguration (Thunderbird, Outlook, Apple), generated from the
 * listeners. README has the whole picture. This file: the descriptor,
 * [http] settings, init. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "http.h"

#ifndef HTTP_TEMPLATES
#define HTTP_TEMPLATES "/etc/postino/templates/http"
#endif

const char *http_t_lang(struct http_server *srv, int lang, const char *key)
{
	const struct http_text *t = &srv->text[lang];

	for (size_t i = 0; i < t->count; i++) {
		if (strcmp(t->key[i], key) == 0)
			return t->value[i];
	}
	/* A missing key shows as itself: visible in tests, never a crash. */
	return key;
}

const char *http_t(struct http_ctx *ctx, const char *key)
{
	return http_t_lang(ctx->srv, ctx->lang, key);
}

/* The CSRF key: made once per node and kept in the state, so tokens
 * stay valid across workers and restarts. */
static int key_fn(void *data, const void *old, size_t old_len, void *buf,
		  size_t bufsize, size_t *len_r, int64_t *expires_at_r)
{
	unsigned char *key = data;

	(void)bufsize;
	(void)expires_at_r;
	if (old != NULL && old_len == 32) {
		memcpy(key, old, 32);
		return 0;
	}
	memcpy(buf, key, 32);
	*len_r = 32;
	return 1;
}

static int http_key(struct http_server *srv)
{
	if (getrandom(srv->key, sizeof(srv->key), 0) != sizeof(srv->key))
		return -EIO;
	int ret = srv->host->policy->state_update(srv->mod, "key:csrf", key_fn,
						  srv->key, NULL, NULL);
	return ret < -1 ? ret : 0;
}

static void text_free(struct http_text *t)
{
	for (size_t i = 0; i < t->count; i++) {
		free(t->key[i]);
		free(t->value[i]);
	}
	free(t->key);
	free(t->value);
	memset(t, 0, sizeof(*t));
}

static void http_free(struct http_server *srv)
{
	for (int l = 0; l < HTTP_LANGS; l++)
		text_free(&srv->text[l]);
	http_templates_free(srv);
	free(srv->css);
	explicit_bzero(srv->key, sizeof(srv->key));
	free(srv);
}

static int http_config(struct http_server *srv)
{
	const struct postino_host *host = srv->host;
	postino_mod *mod = srv->mod;
	const char *dir = host->core->config_string(mod, "templates");
	const char *lang = host->core->config_string(mod, "lang");
	const char *from = host->core->config_string(mod, "from");
	char err[600];

	srv->max_body = (size_t)host->core->config_number(mod, "max_body");
	srv->request_timeout_ms =
		(unsigned)host->core->config_number(mod, "request_timeout") *
		1000u;
	srv->session_ttl = host->core->config_number(mod, "session_ttl");
	srv->recover_interval =
		host->core->config_number(mod, "recover_interval");
	srv->public_url = host->core->config_string(mod, "public_url");
	srv->from_name = host->core->config_string(mod, "from_name");
	if (srv->max_body < 1024 || srv->max_body > 1024 * 1024 ||
	    srv->request_timeout_ms == 0 || srv->session_ttl < 60) {
		host->core->log(mod, POSTINO_LOG_ERROR, NULL, "[http] max_body "
				"1k..1M, request_timeout > 0, session_ttl >= "
				"60s");
		return -EINVAL;
	}
	if (lang == NULL || (strcmp(lang, "it") != 0 && strcmp(lang, "en"))) {
		host->core->log(mod, POSTINO_LOG_ERROR, NULL,
				"[http] lang must be it or en");
		return -EINVAL;
	}
	srv->lang = strcmp(lang, "it") == 0;
	if (srv->public_url != NULL && srv->public_url[0] != '\0' &&
	    strncmp(srv->public_url, "https://", 8) != 0) {
		host->core->log(mod, POSTINO_LOG_ERROR, NULL,
				"[http] public_url must start with https://");
		return -EINVAL;
	}
	if (from != NULL && from[0] != '\0')
		snprintf(srv->from, sizeof(srv->from), "%s", from);
	else
		snprintf(srv->from, sizeof(srv->from), "postmaster@%s",
			 host->core->hostname(mod));
	int ret = http_templates_load(srv, dir != NULL && dir[0] != '\0'
						   ? dir : HTTP_TEMPLATES,
				      err, sizeof(err));
	if (ret < 0) {
		host->core->log(mod, POSTINO_LOG_ERROR, NULL, "[http] %s", err);
		return ret;
	}
	return 0;
}

static int http_init(postino_mod *mod, const struct postino_host *host,
		     void **data_r)
{
	if (!POSTINO_HAS(host->account, struct postino_host_account,
			 account_set)) {
		host->core->log(mod, POSTINO_LOG_ERROR, NULL,
				"needs a server with the panel's plugin ABI "
				"1.1 entries");
		return -ENOTSUP;
	}
	const struct sieve_service *sieve =
		host->core->service_import(mod, SIEVE_SERVICE_NAME);
	const struct pwpolicy_service *pw =
		host->core->service_import(mod, PWPOLICY_SERVICE_NAME);
	if (sieve == NULL ||
	    !POSTINO_HAS_FIELD(sieve, struct sieve_service, rename) ||
	    pw == NULL ||
	    !POSTINO_HAS_FIELD(pw, struct pwpolicy_service, change_due)) {
		host->core->log(mod, POSTINO_LOG_ERROR, NULL,
				"the sieve or pwpolicy service is missing or "
				"too old");
		return -ENOTSUP;
	}
	struct http_server *srv = calloc(1, sizeof(*srv));
	if (srv == NULL)
		return -ENOMEM;
	srv->mod = mod;
	srv->host = host;
	srv->sieve = sieve;
	srv->pw = pw;
	int ret = http_config(srv);
	if (ret == 0 && (ret = http_key(srv)) < 0)
		host->core->log(mod, POSTINO_LOG_ERROR, NULL,
				"cannot make the CSRF key: %s", strerror(-ret));
	if (ret < 0) {
		http_free(srv);
		return ret;
	}
	srv->proto = (struct postino_protocol){
		.size = sizeof(struct postino_protocol),
		.name = "http",
		.max_line = 8192,
		.idle_timeout_s = HTTP_IDLE_TIMEOUT_S,
		/* Sent before closing a connection a limit refused: a
		 * complete response once the host adds the last CRLF. */
		.overload_reply = "HTTP/1.1 503 Service Unavailable\r\n"
				  "Content-Length: 0\r\nRetry-After: 10\r\n"
				  "Connection: close\r\n",
		.on_connect = http_on_connect,
		.on_line = http_on_line,
		.on_bytes = http_on_bytes,
		.on_close = http_on_close,
	};
	ret = host->proto->protocol_register(mod, &srv->proto, srv);
	if (ret < 0) {
		host->core->log(mod, POSTINO_LOG_ERROR, NULL,
				"protocol_register failed: %s", strerror(-ret));
		http_free(srv);
		return ret;
	}
	*data_r = srv;
	return 0;
}

static void http_fini(postino_mod *mod, void *data)
{
	(void)mod;
	http_free(data);
}

static const struct postino_config_key http_keys[] = {
	{ "templates", POSTINO_CONFIG_STRING, "",
	  "directory with en/ and it/ page texts, mails and panel.css "
	  "(default: installed)" },
	{ "lang", POSTINO_CONFIG_STRING, "it",
	  "language when neither the account nor the browser chooses: it "
	  "or en" },
	{ "public_url", POSTINO_CONFIG_STRING, "",
	  "the panel's address in mailed links, e.g. https://mail.example.org "
	  "(default: https:// the domain's server name, and the TLS "
	  "listener's port unless 443)" },
	{ "max_body", POSTINO_CONFIG_SIZE, "64k", "largest request body" },
	{ "request_timeout", POSTINO_CONFIG_DURATION, "20s",
	  "a request must arrive whole within this once begun" },
	{ "session_ttl", POSTINO_CONFIG_DURATION, "2h",
	  "a panel session lasts this long" },
	{ "recover_interval", POSTINO_CONFIG_DURATION, "5m",
	  "at most one recovery mail per mailbox this often" },
	{ "from", POSTINO_CONFIG_STRING, "",
	  "sender of the panel's mails (default postmaster@HOSTNAME)" },
	{ "from_name", POSTINO_CONFIG_STRING, "Postmaster",
	  "display name of the sender" },
	{ NULL, 0, NULL, NULL },
};

static const char *const http_requires[] = { "sieve", "pwpolicy", NULL };
static const char *const http_cleartext[] = { "http", NULL };

POSTINO_EXPORT const struct postino_module postino_module_v1 = {
	POSTINO_MODULE_HEADER,
	.name = "http",
	.version = "0.1.0",
	.description = "HTTP: customers' panel, password API, mail client "
		       "autoconfiguration",
	.config_keys = http_keys,
	.init = http_init,
	.fini = http_fini,
	.requires = http_requires,
	.cleartext_protocols = http_cleartext,
};
