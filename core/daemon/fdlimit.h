#ifndef POSTINO_FDLIMIT_H
#define POSTINO_FDLIMIT_H

#include "module/context.h"

/* Raises the soft limit on open files to the hard limit: every client is
 * a descriptor, and service managers commonly start daemons with a soft
 * limit of 1024. Logs the limit in force; a failure is a warning. */
void fdlimit_raise(const struct core_ctx *ctx);

#endif
