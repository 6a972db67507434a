/* Where the SPF checks get their DNS answers: the system resolver, or a
 * zone of records loaded from a file ([spf] dns_zone, for tests), served
 * through libspf2's zone layer. Safe to share between worker threads once
 * built: each check gets its own front layer (spf_dns_layer) and the zone
 * is only read. */
#ifndef SPF_DNS_H
#define SPF_DNS_H

#include <stddef.h>

#include "spf_lib.h"

struct spf_dns;

/* The system resolver (res_nquery with per-thread state, libspf2's resolv
 * layer). */
int spf_dns_new_resolver(struct spf_dns **dns_r);

/* An empty zone; fill it with spf_dns_zone_line, then spf_dns_zone_done
 * before the first check. */
int spf_dns_new_zone(struct spf_dns **dns_r);

/* One line of a zone file, "NAME TYPE DATA" (README): TYPE is A, AAAA,
 * MX ("PRIO HOST"), PTR, TXT, SPF, CNAME, TIMEOUT (every query of NAME
 * for a type not listed before it fails temporarily) or DELAY (DATA: ms
 * every lookup of NAME waits, to test a slow DNS). DATA may use \xHH and
 * \\ escapes. Blank lines and lines starting with '#' are ignored.
 * Returns 0, or -EINVAL with a reason in err. */
int spf_dns_zone_line(struct spf_dns *dns, const char *line, char *err,
		      size_t errlen);

/* Builds the libspf2 zone: CNAMEs flattened, and every type a listed name
 * lacks answers "no data" rather than "no such domain". -ENOMEM/-EINVAL. */
int spf_dns_zone_done(struct spf_dns *dns);

/* Reads a zone file: spf_dns_new_zone + lines + spf_dns_zone_done. On
 * error err names the line. */
int spf_dns_load_file(const char *path, struct spf_dns **dns_r, char *err,
		      size_t errlen);

/* A new libspf2 DNS layer for one check on the calling thread; free it
 * with SPF_dns_free after the SPF_server_t using it (SPF_server_new_dns
 * does not take it over). NULL when out of memory. */
SPF_dns_server_t *spf_dns_layer(const struct spf_dns *dns);

void spf_dns_free(struct spf_dns **dns);

#endif
