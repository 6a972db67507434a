#include <stdarg.h>
#include <stdlib.h>
#include <time.h>

#include "module/context.h"
#include "util/inbox.h"

void core_log(const struct core_ctx *ctx, enum log_level level,
	      const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	log_writev(&ctx->log, level, "core", NULL, fmt, args);
	va_end(args);
}

int64_t core_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int core_post_others(struct core_ctx *ctx, void (*fn)(void *data),
		     void *(*make)(struct core_ctx *target, void *arg),
		     void *arg)
{
	int missed = 0;

	if (ctx->node == NULL)
		return 0;
	for (unsigned w = 0; w < ctx->node->workers; w++) {
		struct core_ctx *target = ctx->node->ctx[w];
		if (target == ctx)
			continue;
		void *data = make(target, arg);
		if (data == NULL || inbox_post(target->inbox, fn, data) < 0) {
			free(data);
			missed++;
		}
	}
	return missed;
}
