#include <stdarg.h>
#include <time.h>

#include "module/context.h"

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
