/* Mail clients' configuration, generated from the listeners (the host's
 * listener_list) so that it cannot drift from what is served:
 * Thunderbird's autoconfig (config-v1.1.xml), Outlook's Autodiscover
 * (POX, the 2006a response schema), an Apple configuration profile
 * (.mobileconfig), and the panel's own table of settings. The server
 * name is the domain's (host server_name: mail.DOMAIN when a certificate
 * covers it). Implicit TLS comes before STARTTLS (RFC 8314). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"

#define CLIENT_SERVERS_MAX 8

enum client_kind { CLIENT_IMAP, CLIENT_POP3, CLIENT_SMTP };

struct client_server {
	enum client_kind kind;
	int port;
	bool implicit;   /* implicit TLS; else STARTTLS */
};

struct client_config {
	char domain[256];
	char server[256];
	struct client_server s[CLIENT_SERVERS_MAX];
	size_t count;
};

static void listener_cb(void *data, const struct postino_listener *l)
{
	struct client_config *cc = data;
	enum client_kind kind;

	if (strcmp(l->protocol, "imap") == 0)
		kind = CLIENT_IMAP;
	else if (strcmp(l->protocol, "pop3") == 0)
		kind = CLIENT_POP3;
	else if (strcmp(l->protocol, "submission") == 0)
		kind = CLIENT_SMTP;
	else
		return;
	if (l->tls == POSTINO_LISTENER_TLS_NONE)
		return;
	bool implicit = l->tls == POSTINO_LISTENER_TLS_IMPLICIT;
	for (size_t i = 0; i < cc->count; i++)
		if (cc->s[i].kind == kind && cc->s[i].port == l->port)
			return;
	if (cc->count == CLIENT_SERVERS_MAX)
		return;
	cc->s[cc->count++] = (struct client_server){ kind, l->port, implicit };
}

/* Kind order (IMAP, POP3, SMTP), implicit TLS first within a kind. */
static int server_cmp(const void *a, const void *b)
{
	const struct client_server *x = a, *y = b;

	if (x->kind != y->kind)
		return (int)x->kind - (int)y->kind;
	if (x->implicit != y->implicit)
		return x->implicit ? -1 : 1;
	return x->port - y->port;
}

/* The configuration for domain; -ENOENT when it is not hosted here. */
static int client_config(struct http_ctx *ctx, const char *domain,
			 struct client_config *cc)
{
	const struct postino_host *host = ctx->srv->host;

	memset(cc, 0, sizeof(*cc));
	if (strlen(domain) >= sizeof(cc->domain) ||
	    host->mail->domain_is_local(ctx->srv->mod, domain) != 1)
		return -ENOENT;
	snprintf(cc->domain, sizeof(cc->domain), "%s", domain);
	for (char *p = cc->domain; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	if (host->core->server_name(ctx->srv->mod, cc->domain, cc->server,
				    sizeof(cc->server)) < 0)
		return -EINVAL;
	host->core->listener_list(ctx->srv->mod, listener_cb, cc);
	qsort(cc->s, cc->count, sizeof(cc->s[0]), server_cmp);
	return 0;
}

/* ---- Thunderbird ---------------------------------------------------------- */

static const char *domain_of(const char *address)
{
	const char *at = address != NULL ? strrchr(address, '@') : NULL;

	return at != NULL ? at + 1 : NULL;
}

void get_thunderbird(struct http_ctx *ctx)
{
	const char *email = form_get(&ctx->query, "emailaddress");
	char host[256];
	struct client_config cc;
	struct hbuf *o = &ctx->out;
	const char *domain = NULL;

	if (email != NULL) {
		if (!address_plausible(email)) {
			http_error(ctx, 400);
			return;
		}
		domain = domain_of(email);
	} else {
		/* Fetched as http://autoconfig.DOMAIN/mail/config-v1.1.xml. */
		snprintf(host, sizeof(host), "%s", ctx->req->host);
		host[strcspn(host, ":")] = '\0';
		domain = strncasecmp(host, "autoconfig.", 11) == 0 ? host + 11
								  : host;
	}
	if (client_config(ctx, domain, &cc) < 0) {
		http_error(ctx, 404);
		return;
	}
	hbuf_str(o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		 "<clientConfig version=\"1.1\">\n  <emailProvider id=\"");
	hbuf_xml(o, cc.domain);
	hbuf_str(o, "\">\n    <domain>");
	hbuf_xml(o, cc.domain);
	hbuf_str(o, "</domain>\n    <displayName>");
	hbuf_xml(o, cc.domain);
	hbuf_str(o, "</displayName>\n    <displayShortName>");
	hbuf_xml(o, cc.domain);
	hbuf_str(o, "</displayShortName>\n");
	for (size_t i = 0; i < cc.count; i++) {
		const struct client_server *s = &cc.s[i];
		bool out = s->kind == CLIENT_SMTP;
		hbuf_printf(o, "    <%s type=\"%s\">\n      <hostname>",
			    out ? "outgoingServer" : "incomingServer",
			    s->kind == CLIENT_IMAP   ? "imap"
			    : s->kind == CLIENT_POP3 ? "pop3" : "smtp");
		hbuf_xml(o, cc.server);
		hbuf_printf(o, "</hostname>\n      <port>%d</port>\n"
			    "      <socketType>%s</socketType>\n"
			    "      <authentication>password-cleartext"
			    "</authentication>\n"
			    "      <username>%%EMAILADDRESS%%</username>\n"
			    "    </%s>\n", s->port,
			    s->implicit ? "SSL" : "STARTTLS",
			    out ? "outgoingServer" : "incomingServer");
	}
	hbuf_str(o, "  </emailProvider>\n</clientConfig>\n");
	http_respond(ctx, 200, "application/xml; charset=utf-8", NULL, 0,
		     "Cache-Control: max-age=3600\r\n");
}

/* ---- Outlook's Autodiscover ------------------------------------------------ */

/* The text of <EMailAddress> in the request (no namespace prefix games:
 * the request schema has it unprefixed in a default namespace). */
static int autodiscover_address(const char *body, char *out, size_t len)
{
	const char *open = body != NULL ? strstr(body, "<EMailAddress>") : NULL;

	if (open == NULL)
		return -EINVAL;
	open += strlen("<EMailAddress>");
	const char *close = strstr(open, "</EMailAddress>");
	if (close == NULL || (size_t)(close - open) >= len)
		return -EINVAL;
	while (open < close && (*open == ' ' || *open == '\n' || *open == '\r'))
		open++;
	size_t n = (size_t)(close - open);
	while (n > 0 && (open[n - 1] == ' ' || open[n - 1] == '\n' ||
			 open[n - 1] == '\r'))
		n--;
	memcpy(out, open, n);
	out[n] = '\0';
	return address_plausible(out) ? 0 : -EINVAL;
}

void post_autodiscover(struct http_ctx *ctx)
{
	char email[HTTP_ADDRESS_MAX];
	struct client_config cc;
	struct hbuf *o = &ctx->out;

	if (autodiscover_address(ctx->req->body, email, sizeof(email)) < 0) {
		http_error(ctx, 400);
		return;
	}
	if (client_config(ctx, domain_of(email), &cc) < 0) {
		http_error(ctx, 404);
		return;
	}
	hbuf_str(o, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
		 "<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/"
		 "autodiscover/responseschema/2006\">\n  <Response xmlns=\""
		 "http://schemas.microsoft.com/exchange/autodiscover/outlook/"
		 "responseschema/2006a\">\n    <User>\n      <DisplayName>");
	hbuf_xml(o, email);
	hbuf_str(o, "</DisplayName>\n    </User>\n    <Account>\n"
		 "      <AccountType>email</AccountType>\n"
		 "      <Action>settings</Action>\n");
	for (size_t i = 0; i < cc.count; i++) {
		const struct client_server *s = &cc.s[i];
		hbuf_printf(o, "      <Protocol>\n        <Type>%s</Type>\n"
			    "        <Server>",
			    s->kind == CLIENT_IMAP   ? "IMAP"
			    : s->kind == CLIENT_POP3 ? "POP3" : "SMTP");
		hbuf_xml(o, cc.server);
		hbuf_printf(o, "</Server>\n        <Port>%d</Port>\n"
			    "        <DomainRequired>off</DomainRequired>\n"
			    "        <LoginName>", s->port);
		hbuf_xml(o, email);
		hbuf_printf(o, "</LoginName>\n        <SPA>off</SPA>\n"
			    "        <SSL>on</SSL>\n"
			    "        <Encryption>%s</Encryption>\n"
			    "        <AuthRequired>on</AuthRequired>\n",
			    s->implicit ? "SSL" : "TLS");
		if (s->kind == CLIENT_SMTP)
			hbuf_str(o, "        <UsePOPAuth>off</UsePOPAuth>\n"
				 "        <SMTPLast>off</SMTPLast>\n");
		hbuf_str(o, "      </Protocol>\n");
	}
	hbuf_str(o, "    </Account>\n  </Response>\n</Autodiscover>\n");
	http_respond(ctx, 200, "application/xml; charset=utf-8", NULL, 0,
		     NULL);
}

/* ---- Apple ------------------------------------------------------------------ */

/* A stable UUID for this account and payload (profiles installed again
 * replace themselves). */
static void payload_uuid(const char *address, const char *what, char out[37])
{
	char input[400], hex[65];

	snprintf(input, sizeof(input), "%s:%s", what, address);
	http_sha256_hex(input, hex);
	snprintf(out, 37, "%.8s-%.4s-4%.3s-a%.3s-%.12s", hex, hex + 8,
		 hex + 12, hex + 15, hex + 18);
	for (char *p = out; *p != '\0'; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
}

static void plist_string(struct hbuf *o, const char *key, const char *value)
{
	hbuf_printf(o, "      <key>%s</key>\n      <string>", key);
	hbuf_xml(o, value);
	hbuf_str(o, "</string>\n");
}

static const struct client_server *first_of(const struct client_config *cc,
					    enum client_kind kind)
{
	for (size_t i = 0; i < cc->count; i++)
		if (cc->s[i].kind == kind)
			return &cc->s[i];
	return NULL;
}

void get_mobileconfig(struct http_ctx *ctx)
{
	const char *address = ctx->acct.address;
	struct client_config cc;
	struct hbuf *o = &ctx->out;
	char uuid[37], outer[37], ident[700];

	if (client_config(ctx, ctx->acct.domain, &cc) < 0) {
		http_error(ctx, 404);
		return;
	}
	const struct client_server *in = first_of(&cc, CLIENT_IMAP);
	bool imap = in != NULL;
	if (in == NULL)
		in = first_of(&cc, CLIENT_POP3);
	const struct client_server *out = first_of(&cc, CLIENT_SMTP);
	if (in == NULL || out == NULL) {
		http_error(ctx, 404);
		return;
	}
	payload_uuid(address, "mail", uuid);
	payload_uuid(address, "profile", outer);
	snprintf(ident, sizeof(ident), "postino.%s.%s", cc.server, address);
	hbuf_str(o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		 "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
		 "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
		 "<plist version=\"1.0\">\n<dict>\n  <key>PayloadContent</key>\n"
		 "  <array>\n    <dict>\n");
	plist_string(o, "EmailAccountDescription", address);
	plist_string(o, "EmailAccountName", address);
	plist_string(o, "EmailAccountType", imap ? "EmailTypeIMAP"
						 : "EmailTypePOP");
	plist_string(o, "EmailAddress", address);
	plist_string(o, "IncomingMailServerAuthentication", "EmailAuthPassword");
	plist_string(o, "IncomingMailServerHostName", cc.server);
	hbuf_printf(o, "      <key>IncomingMailServerPortNumber</key>\n"
		    "      <integer>%d</integer>\n"
		    "      <key>IncomingMailServerUseSSL</key>\n      <true/>\n",
		    in->port);
	plist_string(o, "IncomingMailServerUsername", address);
	plist_string(o, "OutgoingMailServerAuthentication", "EmailAuthPassword");
	plist_string(o, "OutgoingMailServerHostName", cc.server);
	hbuf_printf(o, "      <key>OutgoingMailServerPortNumber</key>\n"
		    "      <integer>%d</integer>\n"
		    "      <key>OutgoingMailServerUseSSL</key>\n      <true/>\n",
		    out->port);
	plist_string(o, "OutgoingMailServerUsername", address);
	hbuf_str(o, "      <key>OutgoingPasswordSameAsIncomingPassword</key>\n"
		 "      <true/>\n");
	plist_string(o, "PayloadDisplayName", address);
	plist_string(o, "PayloadIdentifier", ident);
	plist_string(o, "PayloadType", "com.apple.mail.managed");
	plist_string(o, "PayloadUUID", uuid);
	hbuf_str(o, "      <key>PayloadVersion</key>\n      <integer>1</integer>\n"
		 "    </dict>\n  </array>\n  <key>PayloadDisplayName</key>\n"
		 "  <string>");
	hbuf_xml(o, http_t(ctx, "profile_name"));
	hbuf_str(o, ": ");
	hbuf_xml(o, address);
	hbuf_str(o, "</string>\n  <key>PayloadIdentifier</key>\n  <string>");
	hbuf_xml(o, ident);
	hbuf_str(o, ".profile</string>\n  <key>PayloadRemovalDisallowed</key>\n"
		 "  <false/>\n  <key>PayloadType</key>\n"
		 "  <string>Configuration</string>\n  <key>PayloadUUID</key>\n"
		 "  <string>");
	hbuf_str(o, outer);
	hbuf_str(o, "</string>\n  <key>PayloadVersion</key>\n"
		 "  <integer>1</integer>\n</dict>\n</plist>\n");
	http_respond(ctx, 200, "application/x-apple-aspen-config", NULL, 0,
		     "Content-Disposition: attachment; "
		     "filename=\"postino.mobileconfig\"\r\n");
}

/* ---- the home page's table ------------------------------------------------- */

void html_client_settings(struct http_ctx *ctx)
{
	struct client_config cc;
	struct hbuf *o = &ctx->out;

	if (client_config(ctx, ctx->acct.domain, &cc) < 0)
		return;
	hbuf_str(o, "<section>\n<h2>");
	hbuf_html(o, http_t(ctx, "clients"));
	hbuf_str(o, "</h2>\n<p>");
	hbuf_html(o, http_t(ctx, "clients_help"));
	hbuf_str(o, "</p>\n<div class=\"table\"><table id=\"client-settings\">"
		 "\n<thead><tr><th>");
	hbuf_html(o, http_t(ctx, "col_protocol"));
	hbuf_str(o, "</th><th>");
	hbuf_html(o, http_t(ctx, "col_server"));
	hbuf_str(o, "</th><th>");
	hbuf_html(o, http_t(ctx, "col_port"));
	hbuf_str(o, "</th><th>");
	hbuf_html(o, http_t(ctx, "col_security"));
	hbuf_str(o, "</th></tr></thead>\n<tbody>\n");
	for (size_t i = 0; i < cc.count; i++) {
		const struct client_server *s = &cc.s[i];
		hbuf_printf(o, "<tr><td>%s</td><td>",
			    s->kind == CLIENT_IMAP   ? "IMAP"
			    : s->kind == CLIENT_POP3 ? "POP3" : "SMTP");
		hbuf_html(o, cc.server);
		hbuf_printf(o, "</td><td>%d</td><td>%s</td></tr>\n", s->port,
			    s->implicit ? "SSL/TLS" : "STARTTLS");
	}
	hbuf_str(o, "</tbody>\n</table></div>\n<p>");
	hbuf_html(o, http_t(ctx, "col_username"));
	hbuf_str(o, ": <strong>");
	hbuf_html(o, ctx->acct.address);
	hbuf_str(o, "</strong>. ");
	hbuf_html(o, http_t(ctx, "clients_password"));
	hbuf_str(o, "</p>\n<p class=\"downloads\"><a class=\"button\" "
		 "href=\"/mail/config-v1.1.xml?emailaddress=");
	hbuf_urlenc(o, ctx->acct.address);
	hbuf_str(o, "\" download=\"config-v1.1.xml\">");
	hbuf_html(o, http_t(ctx, "download_thunderbird"));
	hbuf_str(o, "</a> <a class=\"button\" href=\"/postino.mobileconfig\">");
	hbuf_html(o, http_t(ctx, "download_apple"));
	hbuf_str(o, "</a></p>\n</section>\n");
}
