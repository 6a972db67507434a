/* Privilege separation for the files only root may read: before postinod
 * drops root it forks. The child is the server; it drops to server.user
 * and does everything else. The parent stays root and does three things
 * only: it opens, for the child, the [tls] certificate and key files that
 * the configuration it read as root names (never any other path), it
 * passes SIGHUP, SIGTERM and SIGINT on to the child, and when the child
 * exits it exits with the child's code. So a SIGHUP after the privilege
 * drop can still reload a renewed root:root 0600 key, and a compromised
 * server gets no file it did not already have. core/daemon/README says
 * why this design. */
#ifndef POSTINO_PRIVSEP_H
#define POSTINO_PRIVSEP_H

#include <stddef.h>

#include "config/config.h"
#include "log/log.h"

/* The child's end: requests to the privileged parent. */
struct privsep;

/* Forks. In the child returns 0 with *ps_r set; it goes on to serve.
 * In the parent, serves the child until it exits, then returns 1 with
 * *exit_code_r its exit code (128 + the signal when a signal killed it).
 * config is what the parent allows until the child asks it to re-read
 * config_file. Returns a negative errno when it cannot fork (logged). */
int privsep_start(const struct log *log, const char *config_file,
		  const struct config *config, struct privsep **ps_r,
		  int *exit_code_r);

/* In the child, after dropping root: SIGTERM when the parent dies, so no
 * server runs on without it. Returns -ESRCH if it is already gone. */
int privsep_watch_parent(struct privsep *ps);

/* Asks the parent to re-read its configuration file (the one it started
 * with: the child cannot name another), so certificates a reloaded
 * configuration adds can be opened. Returns 0, or a negative errno with
 * err saying why. */
int privsep_reload(struct privsep *ps, char *err, size_t errlen);

/* Asks the parent to open path, a cert or key of a [tls] section of its
 * configuration. Returns a descriptor open for reading, or a negative
 * errno with err saying why. Fits struct tls_file_opener. */
int privsep_open(void *ps, const char *path, char *err, size_t errlen);

/* Closes the child's end; sets *ps to NULL. */
void privsep_free(struct privsep **ps);

#endif
