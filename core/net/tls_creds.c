/* TLS credentials built from [tls] and [tls "name"], each with an
 * optional second pair (alt_cert, alt_key) of the other key type.
 *
 * Each certificate gets its own GnuTLS credentials set and the server picks
 * one by SNI itself, after the ClientHello. GnuTLS 3.7.9 can choose among
 * several certificates of one set, but only on an exact, case-sensitive
 * match of the SNI with a certificate name: "MAIL.example.org" and any
 * name under a wildcard certificate got the default (checked by
 * t/unit/net/test_tls_creds.c). gnutls_x509_crt_check_hostname2() does the
 * RFC 6125 matching (no case, left-most wildcard label) we need. */
#include "net/tls_creds.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/x509.h>

#include "net/tls_rsa.h"

#define TLS_DEFAULT_HANDSHAKE_TIMEOUT 30
/* Far above any real PEM chain; stops a mistyped path (a disk image, a
 * log) from being read whole into memory. */
#define TLS_MAX_PEM_SIZE (1024 * 1024)
/* What gnutls_session_ticket_key_generate() makes and the server wants. */
#define TLS_TICKET_KEY_SIZE 64

struct tls_cert {
	gnutls_certificate_credentials_t creds;
	gnutls_x509_crt_t leaf; /* for its names */
	gnutls_x509_crt_t alt_leaf; /* alt_cert's, or NULL */
};

struct tls_creds {
	/* Atomic: reloads may one day run on another loop thread than the
	 * sessions still holding the old set. */
	unsigned refs;
	struct tls_cert *certs; /* [tls] first: served when nothing matches */
	size_t cert_count;
	gnutls_priority_t priority;
	gnutls_datum_t ticket_key; /* size 0: no session tickets */
	unsigned handshake_timeout;
};

/* The path and section a certificate pair comes from, for messages, and
 * how its files are opened. */
struct tls_pair {
	const char *cert_path;
	const char *key_path;
	char label[300];
	const struct tls_file_opener *opener; /* NULL: open(2) */
	int alt; /* alt_cert/alt_key: added to the pair's credentials */
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void datum_free(gnutls_datum_t *datum, bool secret)
{
	if (datum->data != NULL && secret)
		explicit_bzero(datum->data, datum->size);
	free(datum->data);
	datum->data = NULL;
	datum->size = 0;
}

static int read_all(int fd, unsigned char *buf, size_t size)
{
	size_t done = 0;

	while (done < size) {
		ssize_t n = read(fd, buf + done, size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* shrank while being read */
		done += (size_t)n;
	}
	return 0;
}

/* Reads a PEM file ourselves rather than with gnutls_load_file: the OS
 * reason ("Permission denied") is what an operator needs, and key bytes
 * get wiped before they are freed. Every failure is -EIO: -ENOENT means
 * "no [tls] configured" to the caller, not "a configured file is gone". */
static int read_pem(const struct tls_pair *pair, const char *path,
		    gnutls_datum_t *datum_r, char *err, size_t errlen,
		    const char *what)
{
	const struct tls_file_opener *opener = pair->opener;
	char reason[512] = "";
	const char *why = NULL;
	struct stat st;
	int fd = opener != NULL
		? opener->open(opener->data, path, reason, sizeof(reason))
		: open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		why = opener != NULL ? reason : strerror(errno);
	else if (fstat(fd, &st) < 0)
		why = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		why = "not a regular file";
	else if (st.st_size > TLS_MAX_PEM_SIZE)
		why = "larger than 1 MiB";
	if (why == NULL) {
		datum_r->size = (unsigned)st.st_size;
		datum_r->data = malloc(datum_r->size + 1);
		if (datum_r->data == NULL)
			why = strerror(ENOMEM);
	}
	if (why == NULL) {
		int ret = read_all(fd, datum_r->data, datum_r->size);

		if (ret < 0) {
			why = strerror(-ret);
			datum_free(datum_r, true);
		} else {
			datum_r->data[datum_r->size] = '\0';
		}
	}
	if (fd >= 0)
		close(fd);
	if (why != NULL) {
		set_err(err, errlen, "%s: cannot read %s: %s", path, what, why);
		return -EIO;
	}
	return 0;
}

/* Parsing the chain here too names the certificate file in errors, and
 * keeps the leaf for SNI matching. */
static int parse_leaf(const struct tls_pair *pair, const gnutls_datum_t *pem,
		      gnutls_x509_crt_t *leaf_r, char *err, size_t errlen)
{
	gnutls_x509_crt_t *list;
	unsigned count;
	int ret;

	ret = gnutls_x509_crt_list_import2(&list, &count, pem,
					   GNUTLS_X509_FMT_PEM, 0);
	if (ret < 0) {
		set_err(err, errlen, "%s: %s cert: %s", pair->cert_path,
			pair->label, gnutls_strerror(ret));
		return -EINVAL;
	}
	*leaf_r = list[0];
	for (unsigned i = 1; i < count; i++)
		gnutls_x509_crt_deinit(list[i]);
	gnutls_free(list);
	return 0;
}

#define TLS_CHAIN_MAX 16

/* An RSA key goes in as an external key that libcrypto signs with
 * (tls_rsa.c: four times cheaper per handshake than GnuTLS's own RSA);
 * GNUTLS_E_UNIMPLEMENTED_FEATURE for any other key, which GnuTLS loads
 * itself. */
static int set_rsa_key(struct tls_cert *cert, const gnutls_datum_t *pem_cert,
		       const gnutls_datum_t *pem_key)
{
	gnutls_pcert_st pcerts[TLS_CHAIN_MAX];
	unsigned count = TLS_CHAIN_MAX;
	gnutls_privkey_t key;
	int ret = tls_rsa_privkey(pem_key, &key);

	if (ret == -ENOTSUP)
		return GNUTLS_E_UNIMPLEMENTED_FEATURE;
	if (ret < 0)
		return GNUTLS_E_MEMORY_ERROR;
	ret = gnutls_pcert_list_import_x509_raw(pcerts, &count, pem_cert,
						GNUTLS_X509_FMT_PEM, 0);
	if (ret < 0) {
		gnutls_privkey_deinit(key);
		return ret;
	}
	/* On success the credentials own the certificates and the key (the
	 * array is copied); on failure they are still ours. */
	ret = gnutls_certificate_set_key(cert->creds, NULL, 0, pcerts,
					 (int)count, key);
	if (ret < 0) {
		for (unsigned i = 0; i < count; i++)
			gnutls_pcert_deinit(&pcerts[i]);
		gnutls_privkey_deinit(key);
	}
	return ret;
}

/* The alternative pair goes into the same credentials: GnuTLS then
 * serves whichever the client's signature algorithms (and the
 * negotiated key exchange) allow, RSA or ECDSA, for the same names. */
static int set_key(struct tls_cert *cert, const struct tls_pair *pair,
		   const gnutls_datum_t *pem_cert, const gnutls_datum_t *pem_key,
		   char *err, size_t errlen)
{
	int ret = 0;

	if (cert->creds == NULL)
		ret = gnutls_certificate_allocate_credentials(&cert->creds);
	if (ret < 0) {
		cert->creds = NULL;
		set_err(err, errlen, "out of memory for TLS credentials");
		return -ENOMEM;
	}
	ret = set_rsa_key(cert, pem_cert, pem_key);
	if (ret == GNUTLS_E_UNIMPLEMENTED_FEATURE)
		ret = gnutls_certificate_set_x509_key_mem2(
			cert->creds, pem_cert, pem_key, GNUTLS_X509_FMT_PEM,
			NULL, 0);
	const char *key = pair->alt ? "alt_key" : "key";
	if (ret == GNUTLS_E_CERTIFICATE_KEY_MISMATCH)
		set_err(err, errlen, "%s: %s %s does not match %s %s: %s",
			pair->key_path, pair->label, key,
			pair->alt ? "alt_cert" : "cert", pair->cert_path,
			gnutls_strerror(ret));
	else if (ret < 0)
		set_err(err, errlen, "%s: %s %s: %s", pair->key_path,
			pair->label, key, gnutls_strerror(ret));
	return ret < 0 ? -EINVAL : 0;
}

static int add_pair(struct tls_cert *cert, const struct tls_pair *pair,
		    char *err, size_t errlen)
{
	gnutls_datum_t pem_cert = { NULL, 0 };
	gnutls_datum_t pem_key = { NULL, 0 };
	char what[320];
	int ret;

	snprintf(what, sizeof(what), "%s %s", pair->label,
		 pair->alt ? "alt_cert" : "cert");
	ret = read_pem(pair, pair->cert_path, &pem_cert, err, errlen, what);
	if (ret < 0)
		return ret;
	snprintf(what, sizeof(what), "%s %s", pair->label,
		 pair->alt ? "alt_key" : "key");
	ret = read_pem(pair, pair->key_path, &pem_key, err, errlen, what);
	if (ret == 0)
		ret = parse_leaf(pair, &pem_cert,
				 pair->alt ? &cert->alt_leaf : &cert->leaf,
				 err, errlen);
	if (ret == 0)
		ret = set_key(cert, pair, &pem_cert, &pem_key, err, errlen);
	datum_free(&pem_cert, false);
	datum_free(&pem_key, true);
	return ret;
}

static int add_section(struct tls_creds *creds,
		       const struct config_section *section,
		       const struct tls_file_opener *opener, char *err,
		       size_t errlen)
{
	struct tls_pair pair = {
		.cert_path = config_section_value(section, "cert"),
		.key_path = config_section_value(section, "key"),
		.opener = opener,
	};

	if (section->name != NULL)
		snprintf(pair.label, sizeof(pair.label), "[tls \"%s\"]",
			 section->name);
	else
		snprintf(pair.label, sizeof(pair.label), "[tls]");
	struct tls_cert *cert = &creds->certs[creds->cert_count++];
	int ret = add_pair(cert, &pair, err, errlen);
	if (ret == 0 && config_section_value(section, "alt_cert") != NULL) {
		pair.cert_path = config_section_value(section, "alt_cert");
		pair.key_path = config_section_value(section, "alt_key");
		pair.alt = 1;
		ret = add_pair(cert, &pair, err, errlen);
	}
	return ret;
}

static const struct config_section *
find_default_section(const struct config *config)
{
	for (const struct config_section *s = config->sections; s != NULL;
	     s = s->next) {
		if (strcmp(s->type, "tls") == 0 && s->name == NULL)
			return s;
	}
	return NULL;
}

static size_t count_sections(const struct config *config)
{
	size_t count = 0;

	for (const struct config_section *s = config->sections; s != NULL;
	     s = s->next)
		count += strcmp(s->type, "tls") == 0;
	return count;
}

/* The default first: it is served when no SNI name matches. */
static int load_certs(struct tls_creds *creds, const struct config *config,
		      const struct config_section *tls,
		      const struct tls_file_opener *opener, char *err,
		      size_t errlen)
{
	int ret;

	creds->certs = calloc(count_sections(config), sizeof(*creds->certs));
	if (creds->certs == NULL) {
		set_err(err, errlen, "out of memory for TLS credentials");
		return -ENOMEM;
	}
	ret = add_section(creds, tls, opener, err, errlen);
	for (const struct config_section *s = config->sections;
	     s != NULL && ret == 0; s = s->next) {
		if (strcmp(s->type, "tls") == 0 && s->name != NULL)
			ret = add_section(creds, s, opener, err, errlen);
	}
	return ret;
}

static int load_priority(struct tls_creds *creds,
			 const struct config_section *tls, char *err,
			 size_t errlen)
{
	const char *text = config_section_value(tls, "priority");
	const char *err_pos = NULL;
	int ret;

	if (text == NULL)
		text = TLS_DEFAULT_PRIORITY;
	ret = gnutls_priority_init2(&creds->priority, text, &err_pos, 0);
	if (ret < 0) {
		creds->priority = NULL;
		if (err_pos != NULL && err_pos >= text)
			set_err(err, errlen, "%s:%d: [tls] priority '%s': "
				"error at offset %zu ('%s'): %s", tls->file,
				tls->line, text, (size_t)(err_pos - text),
				err_pos, gnutls_strerror(ret));
		else
			set_err(err, errlen, "%s:%d: [tls] priority '%s': %s",
				tls->file, tls->line, text,
				gnutls_strerror(ret));
		return -EINVAL;
	}
	return 0;
}

static int copy_ticket_key(struct tls_creds *creds,
			   const gnutls_datum_t *ticket_key, char *err,
			   size_t errlen)
{
	if (ticket_key == NULL)
		return 0;
	if (ticket_key->size != TLS_TICKET_KEY_SIZE) {
		set_err(err, errlen, "session ticket key is %u bytes, not %d",
			ticket_key->size, TLS_TICKET_KEY_SIZE);
		return -EINVAL;
	}
	creds->ticket_key.data = malloc(ticket_key->size);
	if (creds->ticket_key.data == NULL) {
		set_err(err, errlen, "out of memory for the ticket key");
		return -ENOMEM;
	}
	memcpy(creds->ticket_key.data, ticket_key->data, ticket_key->size);
	creds->ticket_key.size = ticket_key->size;
	return 0;
}

/* config_load already checked the value; the default covers "unset". */
static unsigned read_handshake_timeout(const struct config_section *tls)
{
	const char *text = config_section_value(tls, "handshake_timeout");
	int64_t seconds;

	if (text == NULL ||
	    config_parse_value(POSTINO_CONFIG_DURATION, text, &seconds) < 0 ||
	    seconds < 1 || seconds > UINT32_MAX)
		return TLS_DEFAULT_HANDSHAKE_TIMEOUT;
	return (unsigned)seconds;
}

static void creds_destroy(struct tls_creds *creds)
{
	for (size_t i = 0; i < creds->cert_count; i++) {
		if (creds->certs[i].creds != NULL)
			gnutls_certificate_free_credentials(
				creds->certs[i].creds);
		if (creds->certs[i].leaf != NULL)
			gnutls_x509_crt_deinit(creds->certs[i].leaf);
		if (creds->certs[i].alt_leaf != NULL)
			gnutls_x509_crt_deinit(creds->certs[i].alt_leaf);
	}
	free(creds->certs);
	if (creds->priority != NULL)
		gnutls_priority_deinit(creds->priority);
	datum_free(&creds->ticket_key, true);
	free(creds);
}

int tls_creds_load(const struct config *config,
		   const struct tls_file_opener *opener,
		   const gnutls_datum_t *ticket_key,
		   struct tls_creds **creds_r, char *err, size_t errlen)
{
	const struct config_section *tls = find_default_section(config);
	struct tls_creds *creds;
	int ret;

	*creds_r = NULL;
	if (tls == NULL || config_section_value(tls, "cert") == NULL) {
		set_err(err, errlen, "%s: no [tls] cert and key",
			config->main_file);
		return -ENOENT;
	}
	creds = calloc(1, sizeof(*creds));
	if (creds == NULL) {
		set_err(err, errlen, "out of memory for TLS credentials");
		return -ENOMEM;
	}
	creds->refs = 1;
	creds->handshake_timeout = read_handshake_timeout(tls);
	ret = load_certs(creds, config, tls, opener, err, errlen);
	if (ret == 0)
		ret = load_priority(creds, tls, err, errlen);
	if (ret == 0)
		ret = copy_ticket_key(creds, ticket_key, err, errlen);
	if (ret < 0) {
		creds_destroy(creds);
		return ret;
	}
	*creds_r = creds;
	return 0;
}

void tls_creds_ref(struct tls_creds *creds)
{
	__atomic_add_fetch(&creds->refs, 1, __ATOMIC_RELAXED);
}

void tls_creds_unref(struct tls_creds **creds)
{
	struct tls_creds *c = *creds;

	*creds = NULL;
	if (c == NULL)
		return;
	if (__atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0)
		creds_destroy(c);
}

/* Exact names first, so mail.example.org beats *.example.org whatever
 * the order of the sections. */
static const struct tls_cert *find_cert(const struct tls_creds *creds,
					const char *name)
{
	static const unsigned passes[] = {
		GNUTLS_VERIFY_DO_NOT_ALLOW_WILDCARDS, 0
	};

	for (size_t p = 0; p < sizeof(passes) / sizeof(passes[0]); p++) {
		for (size_t i = 0; i < creds->cert_count; i++) {
			if (gnutls_x509_crt_check_hostname2(
				    creds->certs[i].leaf, name, passes[p]))
				return &creds->certs[i];
		}
	}
	return NULL;
}

int tls_creds_covers(const struct tls_creds *creds, const char *name)
{
	return creds != NULL && name != NULL && find_cert(creds, name) != NULL;
}

/* Runs once the ClientHello is parsed, before GnuTLS picks a
 * certificate from the session's credentials. */
static int select_cert(gnutls_session_t session)
{
	const struct tls_creds *creds = gnutls_session_get_ptr(session);
	const struct tls_cert *cert;
	char name[256];
	size_t len = sizeof(name);
	unsigned type;

	if (gnutls_server_name_get(session, name, &len, &type, 0) < 0 ||
	    type != GNUTLS_NAME_DNS)
		return 0;
	cert = find_cert(creds, name);
	if (cert == NULL)
		return 0;
	return gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE,
				      cert->creds);
}

static int session_setup(struct tls_creds *creds, gnutls_session_t session)
{
	int ret;

	ret = gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE,
				     creds->certs[0].creds);
	if (ret == 0)
		ret = gnutls_priority_set(session, creds->priority);
	if (ret == 0 && creds->ticket_key.size > 0)
		ret = gnutls_session_ticket_enable_server(session,
							  &creds->ticket_key);
	if (ret < 0)
		return ret;
	/* Mail clients authenticate with passwords, not certificates. */
	gnutls_certificate_server_set_request(session, GNUTLS_CERT_IGNORE);
	if (creds->cert_count > 1) {
		gnutls_session_set_ptr(session, creds);
		gnutls_handshake_set_post_client_hello_function(session,
								select_cert);
	}
	return 0;
}

int tls_creds_session_new(struct tls_creds *creds, gnutls_session_t *session_r)
{
	gnutls_session_t session;
	int ret;

	*session_r = NULL;
	ret = gnutls_init(&session,
			  GNUTLS_SERVER | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL);
	if (ret < 0)
		return ret;
	ret = session_setup(creds, session);
	if (ret < 0) {
		gnutls_deinit(session);
		return ret;
	}
	*session_r = session;
	return 0;
}

unsigned tls_creds_handshake_timeout(const struct tls_creds *creds)
{
	return creds->handshake_timeout;
}
