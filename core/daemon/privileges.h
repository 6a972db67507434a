#ifndef POSTINO_PRIVILEGES_H
#define POSTINO_PRIVILEGES_H

#include "module/context.h"

/* When root: switch to user (after chowning state_dir to it). A missing
 * user is a warning and we stay root. Returns 0 or a negative errno. */
int privileges_drop(const struct core_ctx *ctx, const char *user,
		    const char *state_dir);

#endif
