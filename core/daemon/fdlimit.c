/* The open files limit; see fdlimit.h. */
#include "daemon/fdlimit.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>

void fdlimit_raise(const struct core_ctx *ctx)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		core_log(ctx, LOG_LEVEL_WARNING, "cannot read the open files "
			 "limit: %s", strerror(errno));
		return;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t was = rl.rlim_cur;

		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			core_log(ctx, LOG_LEVEL_WARNING, "cannot raise the open "
				 "files limit from %llu to %llu: %s",
				 (unsigned long long)was,
				 (unsigned long long)rl.rlim_max,
				 strerror(errno));
			return;
		}
	}
	core_log(ctx, LOG_LEVEL_INFO, "open files limit %llu",
		 (unsigned long long)rl.rlim_cur);
}
