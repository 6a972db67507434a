/* TLS credentials, tested with real handshakes: a GnuTLS client and a
 * server session from tls_creds_session_new talk through two in-memory
 * pipes, so certificate selection, versions and resumption are what
 * GnuTLS really does, not what we assume. Certificates are made with
 * certtool in a temporary directory when the suite starts. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "config/config.h"
#include "net/tls_creds.h"

#ifndef CERTTOOL
#define CERTTOOL "certtool"
#endif

extern char **environ;

static char *cert_dir; /* made once for the suite, removed at its end */
static char err[1024];

static const char *cert_path(const char *name)
{
	static char paths[8][PATH_MAX];
	static unsigned next;
	char *path = paths[next++ % 8];

	snprintf(path, PATH_MAX, "%s/%s", cert_dir, name);
	return path;
}

/* Quiet: certtool prints the whole certificate on stdout. */
static void run_certtool(const char *const *args)
{
	posix_spawn_file_actions_t actions;
	char *argv[16];
	size_t n = 0;
	int status;
	pid_t pid;

	argv[n++] = (char *)CERTTOOL;
	for (; *args != NULL; args++) {
		ck_assert_uint_lt(n, 15);
		argv[n++] = (char *)*args;
	}
	argv[n] = NULL;
	ck_assert_int_eq(posix_spawn_file_actions_init(&actions), 0);
	posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
	ck_assert_int_eq(posix_spawnp(&pid, argv[0], &actions, NULL, argv,
				      environ),
			 0);
	posix_spawn_file_actions_destroy(&actions);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "certtool %s failed", argv[1]);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

static void make_key_of(const char *name, const char *type)
{
	const char *args[] = { "--generate-privkey", type, "--outfile",
			       cert_path(name), NULL };

	run_certtool(args);
}

static void make_key(const char *name)
{
	make_key_of(name, "--key-type=ecdsa");
}

/* A self-signed server certificate for host (CN and DNS SAN), its key
 * made with key_type (a certtool option). */
static void make_cert_of(const char *name, const char *host,
			 const char *key_type)
{
	char key[64], crt[64], tmpl[64], text[256];

	snprintf(key, sizeof(key), "%s.key", name);
	snprintf(crt, sizeof(crt), "%s.crt", name);
	snprintf(tmpl, sizeof(tmpl), "%s.tmpl", name);
	snprintf(text, sizeof(text),
		 "cn = \"%s\"\ndns_name = \"%s\"\nexpiration_days = 30\n"
		 "tls_www_server\nsigning_key\n",
		 host, host);
	write_file(cert_path(tmpl), text);
	make_key_of(key, key_type);
	{
		const char *args[] = { "--generate-self-signed",
				       "--load-privkey", cert_path(key),
				       "--template", cert_path(tmpl),
				       "--outfile", cert_path(crt), NULL };

		run_certtool(args);
	}
}

static void make_cert(const char *name, const char *host)
{
	make_cert_of(name, host, "--key-type=ecdsa");
}

static void suite_setup(void)
{
	char tmpl[] = "/tmp/postino-tls-XXXXXX";

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	cert_dir = strdup(tmpl);
	ck_assert_ptr_nonnull(cert_dir);
	make_cert("default", "localhost");
	make_cert("mail", "mail.example.test");
	make_cert("wild", "*.other.test");
	make_cert("mailother", "mail.other.test");
	make_cert_of("rsa", "localhost", "--key-type=rsa");
	make_cert_of("rsa2", "localhost", "--key-type=rsa");
	make_key("stray.key");
	write_file(cert_path("garbage.pem"), "not a certificate\n");
}

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	return remove(path);
}

static void suite_teardown(void)
{
	if (cert_dir == NULL)
		return;
	nftw(cert_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(cert_dir);
	cert_dir = NULL;
}

/* [tls] with the default certificate plus extra (more keys or sections). */
static struct config *load_config(const char *extra)
{
	char text[4096];
	struct config *config;

	snprintf(text, sizeof(text),
		 "[server]\nhostname = mx.example.test\n"
		 "[tls]\ncert = %s\nkey = %s\n%s",
		 cert_path("default.crt"), cert_path("default.key"), extra);
	write_file(cert_path("postino.conf"), text);
	ck_assert_msg(config_load(cert_path("postino.conf"), &config, err,
				  sizeof(err)) == 0,
		      "config_load: %s", err);
	return config;
}

/* The three certificates: default, mail.example.test, *.other.test. */
static struct config *load_sni_config(const char *extra)
{
	char text[2048];

	snprintf(text, sizeof(text),
		 "%s[tls \"mail.example.test\"]\ncert = %s\nkey = %s\n"
		 "[tls \"other.test\"]\ncert = %s\nkey = %s\n",
		 extra, cert_path("mail.crt"), cert_path("mail.key"),
		 cert_path("wild.crt"), cert_path("wild.key"));
	return load_config(text);
}

static gnutls_datum_t ticket_key;

static void ticket_key_setup(void)
{
	ck_assert_int_eq(gnutls_session_ticket_key_generate(&ticket_key), 0);
}

static void ticket_key_teardown(void)
{
	gnutls_free(ticket_key.data);
	ticket_key.data = NULL;
}

static struct tls_creds *load_creds(const struct config *config)
{
	struct tls_creds *creds;

	ck_assert_msg(tls_creds_load(config, NULL, &ticket_key, &creds, err,
				     sizeof(err)) == 0,
		      "tls_creds_load: %s", err);
	ck_assert_ptr_nonnull(creds);
	return creds;
}

/* ---- two sessions over in-memory pipes ---- */

struct pipe {
	unsigned char *data;
	size_t len;
	size_t off;
};

struct end {
	gnutls_session_t session;
	struct pipe *in;
	struct pipe *out;
	int done;  /* handshake finished */
	int error; /* fatal handshake error, or 0 */
};

struct link {
	struct pipe to_server;
	struct pipe to_client;
	struct end client;
	struct end server;
	gnutls_certificate_credentials_t client_creds;
};

static ssize_t pipe_push(gnutls_transport_ptr_t ptr, const void *data,
			 size_t len)
{
	struct end *end = ptr;
	struct pipe *p = end->out;
	unsigned char *grown = realloc(p->data, p->len + len);

	ck_assert_ptr_nonnull(grown);
	p->data = grown;
	memcpy(p->data + p->len, data, len);
	p->len += len;
	return (ssize_t)len;
}

static ssize_t pipe_pull(gnutls_transport_ptr_t ptr, void *data, size_t len)
{
	struct end *end = ptr;
	struct pipe *p = end->in;
	size_t n = p->len - p->off;

	if (n == 0) {
		gnutls_transport_set_errno(end->session, EAGAIN);
		return -1;
	}
	if (n > len)
		n = len;
	memcpy(data, p->data + p->off, n);
	p->off += n;
	return (ssize_t)n;
}

static void end_attach(struct end *end, struct pipe *in, struct pipe *out)
{
	end->in = in;
	end->out = out;
	gnutls_transport_set_ptr(end->session, end);
	gnutls_transport_set_push_function(end->session, pipe_push);
	gnutls_transport_set_pull_function(end->session, pipe_pull);
}

/* A client offering GnuTLS's NORMAL unless told otherwise, and verifying
 * nothing: the tests look at the certificate it was sent. */
static void link_open_server(struct link *link, gnutls_session_t server,
			     const char *sni, const char *priority,
			     const gnutls_datum_t *resume)
{
	gnutls_session_t c;

	memset(link, 0, sizeof(*link));
	link->server.session = server;
	ck_assert_int_eq(
		gnutls_certificate_allocate_credentials(&link->client_creds),
		0);
	ck_assert_int_eq(gnutls_init(&c, GNUTLS_CLIENT | GNUTLS_NONBLOCK), 0);
	link->client.session = c;
	ck_assert_int_eq(gnutls_priority_set_direct(
				 c, priority != NULL ? priority : "NORMAL",
				 NULL),
			 0);
	ck_assert_int_eq(gnutls_credentials_set(c, GNUTLS_CRD_CERTIFICATE,
						link->client_creds),
			 0);
	if (sni != NULL)
		ck_assert_int_eq(gnutls_server_name_set(c, GNUTLS_NAME_DNS,
							sni, strlen(sni)),
				 0);
	if (resume != NULL)
		ck_assert_int_eq(gnutls_session_set_data(c, resume->data,
							 resume->size),
				 0);
	end_attach(&link->client, &link->to_client, &link->to_server);
	end_attach(&link->server, &link->to_server, &link->to_client);
}

static void link_open(struct link *link, struct tls_creds *creds,
		      const char *sni, const char *priority,
		      const gnutls_datum_t *resume)
{
	gnutls_session_t server;

	ck_assert_int_eq(tls_creds_session_new(creds, &server), 0);
	link_open_server(link, server, sni, priority, resume);
}

static void link_close(struct link *link)
{
	gnutls_deinit(link->client.session);
	gnutls_deinit(link->server.session);
	gnutls_certificate_free_credentials(link->client_creds);
	free(link->to_server.data);
	free(link->to_client.data);
}

static void end_step(struct end *end)
{
	int ret;

	if (end->done || end->error != 0)
		return;
	ret = gnutls_handshake(end->session);
	if (ret == 0)
		end->done = 1;
	else if (gnutls_error_is_fatal(ret))
		end->error = ret;
}

/* Steps both sides until both are finished or stuck: a round that moves
 * no byte means nobody can go on. Counted, not timed. */
static void link_handshake(struct link *link)
{
	for (int round = 0; round < 100; round++) {
		size_t moved = link->to_server.len + link->to_client.len;

		end_step(&link->client);
		end_step(&link->server);
		if ((link->client.done || link->client.error != 0) &&
		    (link->server.done || link->server.error != 0))
			return;
		if (link->to_server.len + link->to_client.len == moved)
			return;
	}
	ck_abort_msg("handshake did not settle in 100 rounds");
}

static void assert_handshake_ok(const struct link *link)
{
	ck_assert_msg(link->server.done && link->client.done,
		      "handshake failed: server %s, client %s",
		      gnutls_strerror(link->server.error),
		      gnutls_strerror(link->client.error));
}

/* The CN of the certificate the client received. */
static void peer_cn(gnutls_session_t client, char *cn, size_t size)
{
	const gnutls_datum_t *chain;
	unsigned count = 0;
	gnutls_x509_crt_t crt;

	chain = gnutls_certificate_get_peers(client, &count);
	ck_assert_ptr_nonnull(chain);
	ck_assert_uint_ge(count, 1);
	ck_assert_int_eq(gnutls_x509_crt_init(&crt), 0);
	ck_assert_int_eq(gnutls_x509_crt_import(crt, &chain[0],
						GNUTLS_X509_FMT_DER),
			 0);
	ck_assert_int_eq(gnutls_x509_crt_get_dn_by_oid(
				 crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn,
				 &size),
			 0);
	gnutls_x509_crt_deinit(crt);
}

static void assert_link_served(struct link *link, const char *sni,
			       const char *expected_cn)
{
	char cn[256];

	link_handshake(link);
	assert_handshake_ok(link);
	peer_cn(link->client.session, cn, sizeof(cn));
	ck_assert_msg(strcmp(cn, expected_cn) == 0,
		      "SNI %s: got certificate %s, expected %s",
		      sni != NULL ? sni : "(none)", cn, expected_cn);
	link_close(link);
}

static void assert_served(struct tls_creds *creds, const char *sni,
			  const char *expected_cn)
{
	struct link link;

	link_open(&link, creds, sni, NULL, NULL);
	assert_link_served(&link, sni, expected_cn);
}

/* ---- certificate selection ---- */

START_TEST(sni_exact_name)
{
	struct config *config = load_sni_config("");
	struct tls_creds *creds = load_creds(config);

	assert_served(creds, "mail.example.test", "mail.example.test");
	/* DNS names compare without case. */
	assert_served(creds, "MAIL.Example.TEST", "mail.example.test");
	assert_served(creds, "localhost", "localhost");
	tls_creds_unref(&creds);
	config_free(&config);
}
END_TEST

START_TEST(sni_wildcard)
{
	struct config *config = load_sni_config("");
	struct tls_creds *creds = load_creds(config);

	assert_served(creds, "x.other.test", "*.other.test");
	/* A wildcard covers one label only. */
	assert_served(creds, "a.b.other.test", "localhost");
	assert_served(creds, "other.test", "localhost");
	tls_creds_unref(&creds);
	config_free(&config);
}
END_TEST

/* The wildcard section comes first in the file; the exact name wins. */
START_TEST(sni_exact_beats_wildcard)
{
	char extra[PATH_MAX * 2 + 64];
	struct config *config;
	struct tls_creds *creds;

	snprintf(extra, sizeof(extra),
		 "[tls \"mail.other.test\"]\ncert = %s\nkey = %s\n",
		 cert_path("mailother.crt"), cert_path("mailother.key"));
	config = load_sni_config(extra);
	creds = load_creds(config);
	assert_served(creds, "mail.other.test", "mail.other.test");
	assert_served(creds, "imap.other.test", "*.other.test");
	tls_creds_unref(&creds);
	config_free(&config);
}
END_TEST

/* Why tls_creds picks the certificate itself: given several certificates
 * in one credentials set, GnuTLS 3.7.9 matches the SNI exactly, with case,
 * and never against a wildcard. If this fails, a newer GnuTLS matches like
 * RFC 6125 and select_cert() in tls_creds.c may be unnecessary. */
static void add_raw_cert(gnutls_certificate_credentials_t set,
			 const char *name)
{
	char crt[64], key[64];

	snprintf(crt, sizeof(crt), "%s.crt", name);
	snprintf(key, sizeof(key), "%s.key", name);
	ck_assert_int_ge(gnutls_certificate_set_x509_key_file2(
				 set, cert_path(crt), cert_path(key),
				 GNUTLS_X509_FMT_PEM, NULL, 0),
			 0);
}

static void open_native(struct link *link,
			gnutls_certificate_credentials_t set,
			gnutls_priority_t priority, const char *sni)
{
	gnutls_session_t server;

	ck_assert_int_eq(gnutls_init(&server,
				     GNUTLS_SERVER | GNUTLS_NONBLOCK),
			 0);
	ck_assert_int_eq(gnutls_credentials_set(server, GNUTLS_CRD_CERTIFICATE,
						set),
			 0);
	ck_assert_int_eq(gnutls_priority_set(server, priority), 0);
	link_open_server(link, server, sni, NULL, NULL);
}

static void assert_native_choice(gnutls_certificate_credentials_t set,
				 gnutls_priority_t priority, const char *sni,
				 const char *expected_cn)
{
	struct link link;

	open_native(&link, set, priority, sni);
	assert_link_served(&link, sni, expected_cn);
}

static void assert_native_refusal(gnutls_certificate_credentials_t set,
				  gnutls_priority_t priority, const char *sni,
				  int expected_error)
{
	struct link link;

	open_native(&link, set, priority, sni);
	link_handshake(&link);
	ck_assert_int_eq(link.server.error, expected_error);
	link_close(&link);
}

START_TEST(gnutls_native_sni_is_exact)
{
	gnutls_certificate_credentials_t set;
	gnutls_priority_t priority;

	ck_assert_int_eq(gnutls_certificate_allocate_credentials(&set), 0);
	ck_assert_int_eq(gnutls_priority_init(&priority, NULL, NULL), 0);
	add_raw_cert(set, "default");
	add_raw_cert(set, "mail");
	add_raw_cert(set, "wild");
	assert_native_choice(set, priority, "mail.example.test",
			     "mail.example.test");
	assert_native_choice(set, priority, "MAIL.Example.TEST", "localhost");
	assert_native_choice(set, priority, "x.other.test", "localhost");
	/* The literal wildcard name is refused outright. */
	assert_native_refusal(set, priority, "*.other.test",
			      GNUTLS_E_RECEIVED_DISALLOWED_NAME);
	assert_native_choice(set, priority, NULL, "localhost");
	gnutls_priority_deinit(priority);
	gnutls_certificate_free_credentials(set);
}
END_TEST

START_TEST(sni_unknown_gets_default)
{
	struct config *config = load_sni_config("");
	struct tls_creds *creds = load_creds(config);

	assert_served(creds, "unknown.test", "localhost");
	tls_creds_unref(&creds);
	config_free(&config);
}
END_TEST

START_TEST(no_sni_gets_default)
{
	struct config *config = load_sni_config("");
	struct tls_creds *creds = load_creds(config);

	assert_served(creds, NULL, "localhost");
	tls_creds_unref(&creds);
	config_free(&config);
}
END_TEST

/* ---- versions and priorities ---- */

static void assert_version(const char *tls_extra, const char *client_prio,
			   gnutls_protocol_t expected)
{
	struct config *config = load_config(tls_extra);
	struct tls_creds *creds = load_creds(config);
	struct link link;

	link_open(&link, creds, NULL, client_prio, NULL);
	link_handshake(&link);
	assert_handshake_ok(&link);
	ck_assert_str_eq(gnutls_protocol_get_name(
				 gnutls_protocol_get_version(
					 link.server.session)),
			 gnutls_protocol_get_name(expected));
	/* Mail clients log in with passwords: no certificate request. */
	ck_assert_uint_eq(gnutls_certificate_client_get_request_status(
				  link.client.session),
			  0);
	link_close(&link);
	tls_creds_unref(&creds);
	config_free(&config);
}

START_TEST(tls13_by_default)
{
	assert_version("", NULL, GNUTLS_TLS1_3);
	/* A TLS 1.2 client still gets in. */
	assert_version("", "NORMAL:-VERS-ALL:+VERS-TLS1.2", GNUTLS_TLS1_2);
}
END_TEST

START_TEST(old_client_refused)
{
	struct config *config = load_config("");
	struct tls_creds *creds = load_creds(config);
	struct link link;

	link_open(&link, creds, NULL,
		  "NORMAL:-VERS-ALL:+VERS-TLS1.1:+VERS-TLS1.0", NULL);
	link_handshake(&link);
	ck_assert_int_eq(link.server.done, 0);
	ck_assert_int_eq(link.server.error, GNUTLS_E_UNSUPPORTED_VERSION_PACKET);
	ck_assert_int_eq(link.client.done, 0);
	link_close(&link);
	tls_creds_unref(&creds);
	config_free(&config);
}
END_TEST

START_TEST(custom_priority)
{
	assert_version("priority = NORMAL:-VERS-ALL:+VERS-TLS1.2\n", NULL,
		       GNUTLS_TLS1_2);
}
END_TEST

/* ---- resumption ---- */

/* After a full handshake, the client's ticket (TLS 1.3 sends it after
 * the handshake, so some application data must be read first). */
static void take_ticket(struct link *link, gnutls_datum_t *ticket_r)
{
	char buf[16];
	ssize_t n;

	ck_assert_int_eq(gnutls_record_send(link->server.session, "hi", 2), 2);
	do {
		n = gnutls_record_recv(link->client.session, buf, sizeof(buf));
	} while (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(gnutls_session_get_data2(link->client.session,
						  ticket_r),
			 0);
}

/* A full handshake with first, then one resuming with second. */
static int resumes(struct tls_creds *first, struct tls_creds *second,
		   const char *client_prio)
{
	struct link link;
	gnutls_datum_t ticket;
	int resumed;

	link_open(&link, first, NULL, client_prio, NULL);
	link_handshake(&link);
	assert_handshake_ok(&link);
	ck_assert_int_eq(gnutls_session_is_resumed(link.server.session), 0);
	take_ticket(&link, &ticket);
	link_close(&link);

	link_open(&link, second, NULL, client_prio, &ticket);
	link_handshake(&link);
	assert_handshake_ok(&link);
	resumed = gnutls_session_is_resumed(link.server.session);
	ck_assert_int_eq(gnutls_session_is_resumed(link.client.session),
			 resumed);
	link_close(&link);
	gnutls_free(ticket.data);
	return resumed;
}

START_TEST(resumption_by_ticket)
{
	struct config *config = load_config("");
	struct tls_creds *creds = load_creds(config);

	ck_assert_int_eq(resumes(creds, creds, NULL), 1);
	ck_assert_int_eq(resumes(creds, creds,
				 "NORMAL:-VERS-ALL:+VERS-TLS1.2"),
			 1);
	tls_creds_unref(&creds);
	config_free(&config);
}
END_TEST

/* The caller keeps the key across reloads so tickets outlive them; a
 * new key means a full handshake, not a failure. */
START_TEST(resumption_across_reload)
{
	struct config *config = load_config("");
	struct tls_creds *old = load_creds(config);
	struct tls_creds *reloaded = load_creds(config);
	struct tls_creds *rekeyed;

	ck_assert_int_eq(resumes(old, reloaded, NULL), 1);
	ticket_key_teardown();
	ticket_key_setup();
	rekeyed = load_creds(config);
	ck_assert_int_eq(resumes(old, rekeyed, NULL), 0);
	tls_creds_unref(&old);
	tls_creds_unref(&reloaded);
	tls_creds_unref(&rekeyed);
	config_free(&config);
}
END_TEST

/* ---- errors ---- */

static void assert_load_error(struct config *config, int expected,
			      const char *fragment1, const char *fragment2)
{
	struct tls_creds *creds = (struct tls_creds *)&creds;

	err[0] = '\0';
	ck_assert_int_eq(tls_creds_load(config, NULL, &ticket_key, &creds, err,
					sizeof(err)),
			 expected);
	ck_assert_ptr_null(creds);
	ck_assert_msg(strstr(err, fragment1) != NULL,
		      "'%s' not in '%s'", fragment1, err);
	ck_assert_msg(strstr(err, fragment2) != NULL,
		      "'%s' not in '%s'", fragment2, err);
}

/* Replaces the [tls] key or cert of an already loaded config. */
static void set_value(struct config *config, const char *name,
		      const char *key, const char *value)
{
	for (struct config_section *s = config->sections; s != NULL;
	     s = s->next) {
		if (strcmp(s->type, "tls") != 0 ||
		    (name == NULL) != (s->name == NULL) ||
		    (name != NULL && strcmp(name, s->name) != 0))
			continue;
		for (struct config_entry *e = s->entries; e != NULL;
		     e = e->next) {
			if (strcmp(e->key, key) == 0) {
				free(e->value);
				e->value = strdup(value);
				ck_assert_ptr_nonnull(e->value);
				return;
			}
		}
	}
	ck_abort_msg("no %s in [tls %s]", key, name != NULL ? name : "");
}

/* The public key algorithm of the certificate the client received. */
static int peer_pk(gnutls_session_t client)
{
	const gnutls_datum_t *chain;
	unsigned count = 0;
	gnutls_x509_crt_t crt;

	chain = gnutls_certificate_get_peers(client, &count);
	ck_assert_ptr_nonnull(chain);
	ck_assert_int_eq(gnutls_x509_crt_init(&crt), 0);
	ck_assert_int_eq(gnutls_x509_crt_import(crt, &chain[0],
						GNUTLS_X509_FMT_DER),
			 0);
	int pk = gnutls_x509_crt_get_pk_algorithm(crt, NULL);
	gnutls_x509_crt_deinit(crt);
	return pk;
}

static int served_pk(struct tls_creds *creds, const char *priority)
{
	struct link link;

	link_open(&link, creds, NULL, priority, NULL);
	link_handshake(&link);
	assert_handshake_ok(&link);
	int pk = peer_pk(link.client.session);
	link_close(&link);
	return pk;
}

/* An ECDSA and an RSA certificate for the same name, as operators run
 * while clients migrate: each client gets one its signature algorithms
 * accept, in TLS 1.3 and 1.2. */
START_TEST(rsa_and_ecdsa_for_one_name)
{
	char extra[512];

	snprintf(extra, sizeof(extra), "alt_cert = %s\nalt_key = %s\n",
		 cert_path("rsa.crt"), cert_path("rsa.key"));
	struct config *config = load_config(extra);
	struct tls_creds *creds = load_creds(config);

	ck_assert_int_eq(served_pk(creds, "NORMAL:-SIGN-ALL:"
				   "+SIGN-ECDSA-SECP256R1-SHA256"),
			 GNUTLS_PK_ECDSA);
	ck_assert_int_eq(served_pk(creds, "NORMAL:-SIGN-ALL:"
				   "+SIGN-RSA-PSS-RSAE-SHA256"),
			 GNUTLS_PK_RSA);
	ck_assert_int_eq(served_pk(creds, "NORMAL:-VERS-ALL:+VERS-TLS1.2:"
				   "-KX-ALL:+ECDHE-RSA"),
			 GNUTLS_PK_RSA);
	ck_assert_int_eq(served_pk(creds, "NORMAL:-VERS-ALL:+VERS-TLS1.2:"
				   "-KX-ALL:+ECDHE-ECDSA"),
			 GNUTLS_PK_ECDSA);
	tls_creds_unref(&creds);
	config_free(&config);
}
END_TEST

/* An RSA key signs through libcrypto (tls_rsa.c): TLS 1.3 (PSS) and 1.2
 * (PKCS#1 v1.5 under ECDHE) handshakes complete, the client checking the
 * signatures against the certificate; a key of another certificate is
 * refused at load; static RSA key exchange, which would need the key to
 * decrypt, is not offered. */
START_TEST(rsa_signed_by_libcrypto)
{
	char extra[512];
	struct config *config;
	struct tls_creds *creds = NULL;
	struct link link;

	snprintf(extra, sizeof(extra), "[server]\n[tls]\ncert = %s\nkey = %s\n",
		 cert_path("rsa.crt"), cert_path("rsa.key"));
	write_file(cert_path("rsa.conf"), extra);
	ck_assert_int_eq(config_load(cert_path("rsa.conf"), &config, err,
				     sizeof(err)), 0);
	creds = load_creds(config);
	for (const char *const *p = (const char *const[]){
		     "NORMAL:-SIGN-ALL:+SIGN-RSA-PSS-RSAE-SHA256",
		     "NORMAL:-SIGN-ALL:+SIGN-RSA-PSS-RSAE-SHA512",
		     "NORMAL:-VERS-ALL:+VERS-TLS1.2:-SIGN-ALL:+SIGN-RSA-SHA256",
		     "NORMAL:-VERS-ALL:+VERS-TLS1.2:-SIGN-ALL:+SIGN-RSA-SHA384",
		     NULL };
	     *p != NULL; p++)
		ck_assert_int_eq(served_pk(creds, *p), GNUTLS_PK_RSA);
	link_open(&link, creds, NULL, "NORMAL:-VERS-ALL:+VERS-TLS1.2:"
		  "-KX-ALL:+RSA", NULL);
	link_handshake(&link);
	ck_assert_int_ne(link.server.error, 0);
	link_close(&link);
	tls_creds_unref(&creds);
	config_free(&config);

	snprintf(extra, sizeof(extra), "[server]\n[tls]\ncert = %s\nkey = %s\n",
		 cert_path("rsa.crt"), cert_path("rsa2.key"));
	write_file(cert_path("rsa.conf"), extra);
	ck_assert_int_eq(config_load(cert_path("rsa.conf"), &config, err,
				     sizeof(err)), 0);
	ck_assert_int_eq(tls_creds_load(config, NULL, &ticket_key, &creds,
					err, sizeof(err)),
			 -EINVAL);
	ck_assert_msg(strstr(err, "[tls] key does not match cert") != NULL,
		      "%s", err);
	config_free(&config);
}
END_TEST

START_TEST(alt_key_not_matching)
{
	char extra[512];
	struct config *config;
	struct tls_creds *creds = NULL;

	snprintf(extra, sizeof(extra), "alt_cert = %s\nalt_key = %s\n",
		 cert_path("rsa.crt"), cert_path("default.key"));
	config = load_config(extra);
	ck_assert_int_eq(tls_creds_load(config, NULL, &ticket_key, &creds,
					err, sizeof(err)),
			 -EINVAL);
	ck_assert_ptr_null(creds);
	ck_assert_msg(strstr(err, "[tls] alt_key does not match alt_cert") !=
			      NULL,
		      "%s", err);
	config_free(&config);
}
END_TEST

START_TEST(missing_cert_file)
{
	struct config *config = load_config("");
	char expected[PATH_MAX + 64];

	set_value(config, NULL, "cert", cert_path("nothere.crt"));
	snprintf(expected, sizeof(expected), "%s: cannot read [tls] cert: ",
		 cert_path("nothere.crt"));
	assert_load_error(config, -EIO, expected,
			  "No such file or directory");
	config_free(&config);
}
END_TEST

START_TEST(key_not_matching_cert)
{
	struct config *config = load_config("");
	char expected[PATH_MAX * 2 + 64];

	set_value(config, NULL, "key", cert_path("stray.key"));
	snprintf(expected, sizeof(expected),
		 "%s: [tls] key does not match cert %s: ",
		 cert_path("stray.key"), cert_path("default.crt"));
	assert_load_error(config, -EINVAL, expected,
			  gnutls_strerror(GNUTLS_E_CERTIFICATE_KEY_MISMATCH));
	config_free(&config);
}
END_TEST

START_TEST(not_a_certificate)
{
	struct config *config = load_config("");
	char expected[PATH_MAX + 64];

	set_value(config, NULL, "cert", cert_path("garbage.pem"));
	snprintf(expected, sizeof(expected), "%s: [tls] cert: ",
		 cert_path("garbage.pem"));
	assert_load_error(config, -EINVAL, expected, "");
	ck_assert_uint_gt(strlen(err), strlen(expected));
	config_free(&config);
}
END_TEST

START_TEST(bad_priority)
{
	struct config *config = load_config("priority = NORMAL:+VERS-TLS9\n");

	assert_load_error(config, -EINVAL,
			  "postino.conf:3: [tls] priority 'NORMAL:+VERS-TLS9': "
			  "error at offset 7 ('+VERS-TLS9'): ",
			  gnutls_strerror(GNUTLS_E_INVALID_REQUEST));
	config_free(&config);
}
END_TEST

START_TEST(sni_key_unreadable)
{
	char extra[PATH_MAX * 2 + 64];
	char expected[PATH_MAX + 64];
	struct config *config;

	snprintf(extra, sizeof(extra), "[tls \"x\"]\ncert = %s\nkey = %s\n",
		 cert_path("mail.crt"), cert_path("gone.key"));
	config = load_config(extra);
	snprintf(expected, sizeof(expected),
		 "%s: cannot read [tls \"x\"] key: ", cert_path("gone.key"));
	assert_load_error(config, -EIO, expected,
			  "No such file or directory");
	/* A directory is not a key either (root reads any file, so mode
	 * bits cannot make one unreadable here). */
	set_value(config, "x", "key", cert_dir);
	snprintf(expected, sizeof(expected),
		 "%s: cannot read [tls \"x\"] key: ", cert_dir);
	assert_load_error(config, -EIO, expected, "not a regular file");
	config_free(&config);
}
END_TEST

START_TEST(no_tls_section)
{
	struct config *config;

	write_file(cert_path("postino.conf"),
		   "[server]\nhostname = mx.example.test\n");
	ck_assert_int_eq(config_load(cert_path("postino.conf"), &config, err,
				     sizeof(err)),
			 0);
	assert_load_error(config, -ENOENT, "postino.conf: no [tls] cert",
			  "");
	config_free(&config);
}
END_TEST

START_TEST(bad_ticket_key)
{
	struct config *config = load_config("");
	gnutls_datum_t short_key = { ticket_key.data, 16 };
	struct tls_creds *creds;

	ck_assert_int_eq(tls_creds_load(config, NULL, &short_key, &creds, err,
					sizeof(err)),
			 -EINVAL);
	ck_assert_ptr_null(creds);
	ck_assert_str_eq(err, "session ticket key is 16 bytes, not 64");
	config_free(&config);
}
END_TEST

/* An opener standing in for the privileged parent: it opens what it is
 * allowed to and counts the paths it was asked for. */
struct test_opener {
	const char *refused; /* this path gets -EACCES */
	unsigned calls;
};

static int test_open(void *data, const char *path, char *why, size_t len)
{
	struct test_opener *t = data;

	t->calls++;
	if (strcmp(path, t->refused) == 0) {
		snprintf(why, len, "not in the configuration");
		return -EACCES;
	}
	return open(path, O_RDONLY | O_CLOEXEC);
}

START_TEST(files_through_an_opener)
{
	struct config *config = load_sni_config("");
	struct test_opener t = { .refused = "" };
	struct tls_file_opener opener = { test_open, &t };
	struct tls_creds *creds;
	char expected[PATH_MAX + 64];

	/* Each certificate and key of the three sections, once. */
	ck_assert_msg(tls_creds_load(config, &opener, &ticket_key, &creds,
				     err, sizeof(err)) == 0,
		      "tls_creds_load: %s", err);
	ck_assert_uint_eq(t.calls, 6);
	tls_creds_unref(&creds);
	/* Its refusal is the error, with the file and the section. */
	t.refused = cert_path("wild.key");
	ck_assert_int_eq(tls_creds_load(config, &opener, &ticket_key, &creds,
					err, sizeof(err)),
			 -EIO);
	ck_assert_ptr_null(creds);
	snprintf(expected, sizeof(expected), "%s: cannot read [tls "
		 "\"other.test\"] key: not in the configuration",
		 cert_path("wild.key"));
	ck_assert_str_eq(err, expected);
	config_free(&config);
}
END_TEST

/* ---- lifetime and settings ---- */

START_TEST(refcount)
{
	struct config *config = load_sni_config("");
	struct tls_creds *creds = load_creds(config);
	struct tls_creds *held = creds;
	struct link link;

	/* A session made before the last unref keeps working while the
	 * caller's reference lives; ASan reports any early free or leak. */
	tls_creds_ref(held);
	tls_creds_unref(&creds);
	ck_assert_ptr_null(creds);
	link_open(&link, held, "mail.example.test", NULL, NULL);
	link_handshake(&link);
	assert_handshake_ok(&link);
	link_close(&link);
	tls_creds_unref(&held);
	ck_assert_ptr_null(held);
	tls_creds_unref(&held);
	config_free(&config);
}
END_TEST

START_TEST(handshake_timeout)
{
	struct config *config = load_config("");
	struct tls_creds *creds = load_creds(config);

	ck_assert_uint_eq(tls_creds_handshake_timeout(creds), 30);
	tls_creds_unref(&creds);
	config_free(&config);
	config = load_config("handshake_timeout = 1m\n");
	creds = load_creds(config);
	ck_assert_uint_eq(tls_creds_handshake_timeout(creds), 60);
	tls_creds_unref(&creds);
	config_free(&config);
}
END_TEST

static Suite *tls_creds_suite(void)
{
	Suite *s = suite_create("tls_creds");
	TCase *tc = tcase_create("tls_creds");

	tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
	tcase_add_checked_fixture(tc, ticket_key_setup, ticket_key_teardown);
	tcase_add_test(tc, sni_exact_name);
	tcase_add_test(tc, sni_wildcard);
	tcase_add_test(tc, sni_exact_beats_wildcard);
	tcase_add_test(tc, gnutls_native_sni_is_exact);
	tcase_add_test(tc, sni_unknown_gets_default);
	tcase_add_test(tc, no_sni_gets_default);
	tcase_add_test(tc, tls13_by_default);
	tcase_add_test(tc, old_client_refused);
	tcase_add_test(tc, custom_priority);
	tcase_add_test(tc, resumption_by_ticket);
	tcase_add_test(tc, resumption_across_reload);
	tcase_add_test(tc, rsa_and_ecdsa_for_one_name);
	tcase_add_test(tc, alt_key_not_matching);
	tcase_add_test(tc, rsa_signed_by_libcrypto);
	tcase_add_test(tc, missing_cert_file);
	tcase_add_test(tc, key_not_matching_cert);
	tcase_add_test(tc, not_a_certificate);
	tcase_add_test(tc, bad_priority);
	tcase_add_test(tc, sni_key_unreadable);
	tcase_add_test(tc, files_through_an_opener);
	tcase_add_test(tc, no_tls_section);
	tcase_add_test(tc, bad_ticket_key);
	tcase_add_test(tc, refcount);
	tcase_add_test(tc, handshake_timeout);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(tls_creds_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
