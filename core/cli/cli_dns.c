/* postino domain dns DOMAIN: the DNS records an operator publishes for a
 * hosted domain, in zone-file syntax: MX, SPF, the RFC 6186 SRV records
 * (with RFC 8314's _submissions), and the names mail clients'
 * autoconfiguration looks up. Ports come from the listeners, as the
 * panel's autoconfiguration does, so the two never disagree; the host
 * name is mail.DOMAIN when a configured certificate covers it (the SNI
 * set-up), else [server] hostname. */
#include <errno.h>
#include <string.h>

#include "cli/cli.h"
#include "net/tls_creds.h"
#include "util/address.h"

/* The first port of each (protocol, implicit) a listener serves. */
struct dns_ports {
	int imap[2], pop3[2], submission[2], https, smtp;
};

static void dns_listener(void *data, const struct postino_listener *l)
{
	struct dns_ports *p = data;
	int implicit = l->tls == POSTINO_LISTENER_TLS_IMPLICIT;
	int *slot = NULL;

	if (strcmp(l->protocol, "imap") == 0)
		slot = &p->imap[implicit];
	else if (strcmp(l->protocol, "pop3") == 0)
		slot = &p->pop3[implicit];
	else if (strcmp(l->protocol, "submission") == 0)
		slot = &p->submission[implicit];
	else if (strcmp(l->protocol, "http") == 0 && implicit)
		slot = &p->https;
	else if (strcmp(l->protocol, "smtp") == 0)
		slot = &p->smtp;
	if (slot != NULL && *slot == 0 &&
	    (l->tls != POSTINO_LISTENER_TLS_NONE || slot == &p->smtp))
		*slot = l->port;
}

/* One SRV record: "0 0 0 ." says the service is not offered (RFC 6186
 * 3.4), so clients do not guess. Implicit TLS first (RFC 8314 5.1). */
static void dns_srv(struct cli *cli, const char *service, const char *domain,
		    int priority, int port, const char *name)
{
	if (port == 0)
		fprintf(cli->out, "_%s._tcp.%s. IN SRV 0 0 0 .\n", service,
			domain);
	else
		fprintf(cli->out, "_%s._tcp.%s. IN SRV %d 1 %d %s.\n", service,
			domain, priority, port, name);
}

int cli_domain_dns(struct cli *cli, const char *domain)
{
	const struct config *config = cli->ctx.config;
	struct dns_ports p = { 0 };
	struct tls_creds *creds = NULL;
	char name[DOMAIN_MAX + 8], err[512];

	int exists = store_domain_exists(cli->ctx.store, domain);
	if (exists < 0)
		return cli_store_fail(cli, exists, domain);
	if (exists == 0)
		return cli_fail(cli, EX_NOUSER, "unknown domain %s", domain);
	snprintf(name, sizeof(name), "mail.%s", domain);
	/* Reading the certificates needs their keys' permissions: without
	 * them the server name is the hostname, said in a comment. */
	int loaded = tls_creds_load(config, NULL, NULL, &creds, err,
				    sizeof(err)) == 0;
	if (!loaded || !tls_creds_covers(creds, name))
		snprintf(name, sizeof(name), "%s", config->server.hostname);
	tls_creds_unref(&creds);
	config_listener_each(config, dns_listener, &p);

	fprintf(cli->out, "; DNS records for %s, from the listeners of %s\n"
		"; (server name %s%s)\n", domain, cli->config_file, name,
		loaded ? "" : "; certificates not readable here");
	fprintf(cli->out, "%s. IN MX 10 %s.\n", domain, name);
	fprintf(cli->out, "%s. IN TXT \"v=spf1 mx -all\"\n", domain);
	dns_srv(cli, "imaps", domain, 0, p.imap[1], name);
	dns_srv(cli, "imap", domain, 10, p.imap[0], name);
	dns_srv(cli, "pop3s", domain, 0, p.pop3[1], name);
	dns_srv(cli, "pop3", domain, 10, p.pop3[0], name);
	dns_srv(cli, "submissions", domain, 0, p.submission[1], name);
	dns_srv(cli, "submission", domain, 10, p.submission[0], name);
	if (p.https != 0) {
		/* Thunderbird asks autoconfig.DOMAIN, Outlook
		 * autodiscover.DOMAIN (or the SRV record). */
		fprintf(cli->out, "autoconfig.%s. IN CNAME %s.\n", domain,
			name);
		fprintf(cli->out, "autodiscover.%s. IN CNAME %s.\n", domain,
			name);
		dns_srv(cli, "autodiscover", domain, 0, p.https, name);
	} else {
		fprintf(cli->out, "; no https listener (http.so): no "
			"autoconfig or autodiscover names\n");
	}
	return 0;
}
