/* What postinod's server and its privileged parent say to each other
 * (privsep.h): one message per request and one per reply over a
 * SOCK_SEQPACKET socketpair, one request at a time. */
#ifndef POSTINO_PRIVSEP_WIRE_H
#define POSTINO_PRIVSEP_WIRE_H

#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "config/config.h"
#include "log/log.h"

/* A request is this byte, then for OPEN the path (no NUL in it). */
enum privsep_request {
	PRIVSEP_RELOAD = 'R', /* re-read the configuration file */
	PRIVSEP_OPEN = 'O',   /* open a [tls] cert or key for reading */
};

#define PRIVSEP_REQUEST_MAX (1 + PATH_MAX)

/* status is 0 or a positive errno; text (not NUL-terminated, as long as
 * the message) says why. An OPEN that succeeds carries the descriptor as
 * SCM_RIGHTS. */
struct privsep_reply {
	int32_t status;
	char text[1020];
};

/* The parent's side: runs until the child has exited and returns its
 * exit code. sock is its end of the socketpair, sigfd a signalfd for
 * SIGHUP, SIGTERM, SIGINT (passed on to child) and SIGCHLD. */
int privsep_parent_run(const struct log *log, const char *config_file,
		       const struct config *config, int sock, int sigfd,
		       pid_t child);

#endif
