#include "log/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* PIPE_BUF on Linux: a line this size or less reaches a pipe in one piece
 * even when several threads write at once. */
#define LOG_LINE_MAX 4096
#define LOG_TRUNCATED "..."

static const char *const level_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARNING] = "warning",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

void log_init(struct log *log, enum log_level level, enum log_target target)
{
	log->level = level;
	log->target = target;
	log->fd = STDERR_FILENO;
	log->worker = -1;
	/* LOG_NDELAY connects now, before a chroot or privilege drop could
	 * hide /dev/log. */
	if (target == LOG_TARGET_SYSLOG)
		openlog("postinod", LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void log_deinit(struct log *log)
{
	if (log->target == LOG_TARGET_SYSLOG)
		closelog();
}

int log_level_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(name, level_names[i]) == 0)
			return (int)i;
	}
	return -1;
}

const char *log_level_name(enum log_level level)
{
	if ((unsigned)level >= sizeof(level_names) / sizeof(level_names[0]))
		return "unknown";
	return level_names[level];
}

static int syslog_priority(enum log_level level)
{
	switch (level) {
	case LOG_LEVEL_ERROR:
		return LOG_ERR;
	case LOG_LEVEL_WARNING:
		return LOG_WARNING;
	case LOG_LEVEL_INFO:
		return LOG_INFO;
	case LOG_LEVEL_DEBUG:
		break;
	}
	return LOG_DEBUG;
}

/* Peer-supplied text ends up in messages: a CR or LF would let it forge a
 * line of its own, an ESC could drive the operator's terminal. */
static void sanitize(char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			s[i] = '?';
	}
}

/* Appends to buf[*len_r..size-1]; keeps *len_r <= size - 1 on truncation so
 * the caller can tell by comparing. */
static void append(char *buf, size_t size, size_t *len_r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t size, size_t *len_r, const char *fmt, ...)
{
	va_list args;
	int n;

	if (*len_r >= size - 1)
		return;
	va_start(args, fmt);
	n = vsnprintf(buf + *len_r, size - *len_r, fmt, args);
	va_end(args);
	if (n < 0)
		return;
	*len_r += (size_t)n;
	if (*len_r > size - 1)
		*len_r = size - 1;
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return; /* nowhere left to report it */
		}
		buf += n;
		len -= (size_t)n;
	}
}

/* Formats "LEVEL COMPONENT[ sid=ID]: MESSAGE" into buf; returns its length
 * (at most size - 1). */
static size_t format_event(char *buf, size_t size, enum log_level level,
			   const char *component, int worker,
			   const char *session_id, const char *fmt,
			   va_list args)
	__attribute__((format(printf, 7, 0)));

static size_t format_event(char *buf, size_t size, enum log_level level,
			   const char *component, int worker,
			   const char *session_id, const char *fmt,
			   va_list args)
{
	size_t len = 0;
	int n;

	append(buf, size, &len, "%s %s", log_level_name(level),
	       component != NULL ? component : "-");
	/* Worker 0 logs the node's events (startup, reloads, the queue):
	 * only its sessions name it. */
	if (worker > 0 || (worker == 0 && session_id != NULL))
		append(buf, size, &len, " w=%d", worker);
	if (session_id != NULL)
		append(buf, size, &len, " sid=%s", session_id);
	append(buf, size, &len, ": ");
	if (len < size - 1) {
		n = vsnprintf(buf + len, size - len, fmt, args);
		if (n > 0)
			len += (size_t)n;
		if (len > size - 1) {
			len = size - 1;
			if (size > sizeof(LOG_TRUNCATED))
				memcpy(buf + len - (sizeof(LOG_TRUNCATED) - 1),
				       LOG_TRUNCATED, sizeof(LOG_TRUNCATED) - 1);
		}
	}
	/* The prefix is sanitized too: component and session id can come from
	 * a module. */
	sanitize(buf, len);
	buf[len] = '\0';
	return len;
}

void log_writev(const struct log *log, enum log_level level,
		const char *component, const char *session_id,
		const char *fmt, va_list args)
{
	char line[LOG_LINE_MAX];
	size_t len = 0;
	struct timespec now;
	struct tm tm;

	if (level > log->level)
		return;

	if (log->target == LOG_TARGET_SYSLOG) {
		/* syslog stamps the time itself. */
		format_event(line, sizeof(line), level, component,
			     log->worker, session_id, fmt, args);
		syslog(syslog_priority(level), "%s", line);
		return;
	}

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	len = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	append(line, sizeof(line), &len, ".%03ldZ ", now.tv_nsec / 1000000);
	/* Room for the newline is kept back. */
	len += format_event(line + len, sizeof(line) - len - 1, level,
			    component, log->worker, session_id, fmt, args);
	line[len++] = '\n';
	write_all(log->fd, line, len);
}

void log_write(const struct log *log, enum log_level level,
	       const char *component, const char *session_id,
	       const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	log_writev(log, level, component, session_id, fmt, args);
	va_end(args);
}
