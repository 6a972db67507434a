#ifndef POSTINO_PRIVILEGES_H
#define POSTINO_PRIVILEGES_H

#include <stdbool.h>

#include "module/context.h"

/* Whether privileges_drop will switch users: we are root and user is an
 * existing user other than root. Logs nothing. */
bool privileges_will_drop(const char *user);

/* When root: switch to user (after chowning state_dir to it). A missing
 * user is a warning and we stay root. Returns 0 or a negative errno. */
int privileges_drop(const struct core_ctx *ctx, const char *user,
		    const char *state_dir);

#endif
