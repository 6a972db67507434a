/* TLS credentials: the certificates of [tls] (the default) and of every
 * [tls "name"] section, the server serving the one whose names (SAN, or
 * CN without SAN; no case; wildcards included, exact names first) match
 * the client's SNI and the default one otherwise; the priority string;
 * and the session-ticket key for resumption. Each section may add a second
 * pair (alt_cert, alt_key) for the same names with the other key type, RSA
 * beside ECDSA: GnuTLS serves the one the client's signature algorithms
 * accept. Reference-counted: a reload builds a new set for new connections while open sessions keep theirs. */
#ifndef POSTINO_TLS_CREDS_H
#define POSTINO_TLS_CREDS_H

#include <gnutls/gnutls.h>
#include <stddef.h>

#include "config/config.h"

#define TLS_DEFAULT_PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

struct tls_creds;

/* How certificate and key files are opened when the process may not open
 * them itself: postinod, once it runs as server.user, asks its privileged
 * parent (daemon/privsep.h), which checks the path against the
 * configuration it read as root. open returns a descriptor open for
 * reading, or a negative errno with err saying why. */
struct tls_file_opener {
	int (*open)(void *data, const char *path, char *err, size_t errlen);
	void *data;
};

/* Loads [tls] and every [tls "name"] of config, opening the files with
 * opener (NULL: open(2) here). ticket_key is the session
 * ticket key to use (kept by the caller across reloads so tickets stay
 * valid; 64 bytes, from gnutls_session_ticket_key_generate; NULL: no
 * tickets); the creds keep a copy. Returns 0; -ENOENT when config has no
 * [tls] cert (err says so); another negative errno with err naming the
 * file and GnuTLS's reason, or the system's for an unreadable file
 * (unreadable file, bad PEM, key not matching cert, bad priority string;
 * an expired certificate still loads: expiry is for the caller to log). */
int tls_creds_load(const struct config *config,
		   const struct tls_file_opener *opener,
		   const gnutls_datum_t *ticket_key,
		   struct tls_creds **creds_r, char *err, size_t errlen);
void tls_creds_ref(struct tls_creds *creds);
/* Drops a reference; frees on the last; sets *creds to NULL. */
void tls_creds_unref(struct tls_creds **creds);

/* Makes a non-blocking server session using these creds (certificates,
 * priorities, session tickets). The session keeps no reference: the
 * caller holds one for as long as the session lives. Client certificates
 * are not asked for. The session's user pointer (gnutls_session_set_ptr)
 * and post-ClientHello function belong to the SNI selection: leave them
 * alone. Returns 0 or a negative GnuTLS error code (for gnutls_strerror). */
int tls_creds_session_new(struct tls_creds *creds, gnutls_session_t *session_r);

/* 1 when a loaded certificate's names (SAN, or CN; wildcards as for
 * SNI) cover name, else 0. */
int tls_creds_covers(const struct tls_creds *creds, const char *name);

/* Seconds the handshake may take ([tls] handshake_timeout, default 30). */
unsigned tls_creds_handshake_timeout(const struct tls_creds *creds);

#endif
