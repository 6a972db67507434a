/* Dropping root: postinod binds its privileged ports as root, then runs as
 * server.user. The state directory is handed to that user first so the
 * database stays writable after the switch. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/privileges.h"
#include "store/store.h"

/* The database and its WAL files may predate the service user (an operator
 * ran --init as root first); they must be the user's too. */
static int privileges_chown_state(const struct core_ctx *ctx,
				  const char *state_dir,
				  const struct passwd *pw)
{
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	char path[4096];

	if (chown(state_dir, pw->pw_uid, pw->pw_gid) < 0) {
		core_log(ctx, LOG_LEVEL_ERROR, "cannot chown %s to %s: %s",
			 state_dir, pw->pw_name, strerror(errno));
		return -errno;
	}
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s%s", state_dir,
			 STORE_DB_FILE, suffixes[i]);
		if (chown(path, pw->pw_uid, pw->pw_gid) < 0 && errno != ENOENT) {
			core_log(ctx, LOG_LEVEL_ERROR,
				 "cannot chown %s to %s: %s", path,
				 pw->pw_name, strerror(errno));
			return -errno;
		}
	}
	return 0;
}

bool privileges_will_drop(const char *user)
{
	const struct passwd *pw = geteuid() == 0 ? getpwnam(user) : NULL;

	return pw != NULL && pw->pw_uid != 0;
}

int privileges_drop(const struct core_ctx *ctx, const char *user,
		    const char *state_dir)
{
	if (geteuid() != 0)
		return 0;
	errno = 0;
	struct passwd *pw = getpwnam(user);
	if (pw == NULL) {
		core_log(ctx, LOG_LEVEL_WARNING,
			 "user '%s' does not exist; staying root (set "
			 "[server] user to an existing unprivileged user)",
			 user);
		return 0;
	}
	if (pw->pw_uid == 0)
		return 0;
	int ret = privileges_chown_state(ctx, state_dir, pw);
	if (ret < 0)
		return ret;
	if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0) {
		core_log(ctx, LOG_LEVEL_ERROR, "cannot switch to user %s: %s",
			 user, strerror(errno));
		return -errno;
	}
	/* Make sure root cannot be regained. */
	if (setuid(0) == 0) {
		core_log(ctx, LOG_LEVEL_ERROR, "could regain root after "
			 "switching to %s; refusing to run", user);
		return -EPERM;
	}
	core_log(ctx, LOG_LEVEL_INFO, "running as user=%s uid=%u", user,
		 (unsigned)pw->pw_uid);
	return 0;
}
