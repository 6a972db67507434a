/* Logging: one line per event, "key=value" fields, stderr or syslog.
 *
 * Line format on stderr (UTC, milliseconds; " w=N" only when the server
 * runs several workers, " sid=..." only with a session):
 *   2026-11-23T06:21:34.123Z info core w=1 sid=4f2a: message key=value
 * syslog gets the same line without the timestamp, at the matching priority
 * (facility mail). A line is at most 4096 bytes with its newline; a longer
 * message is cut and ends in "...".
 * Control characters in the formatted message (CR, LF, NUL, ...) are replaced
 * by '?' so a peer can never forge extra log lines. Safe on any thread: each
 * line is written with one write(2) or one syslog(3) call. */
#ifndef POSTINO_LOG_H
#define POSTINO_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARNING = 1,
	LOG_LEVEL_INFO = 2,
	LOG_LEVEL_DEBUG = 3,
};

enum log_target {
	LOG_TARGET_STDERR = 0,
	LOG_TARGET_SYSLOG = 1,
};

/* Lives inside the core context; no global state. */
struct log {
	enum log_level level;
	enum log_target target;
	int fd; /* where stderr lines go; 2 unless a test redirects it */
	int worker; /* named as w=N (see above) when >= 0; -1: never */
};

/* Sets level/target; opens syslog (ident "postinod") for LOG_TARGET_SYSLOG. */
void log_init(struct log *log, enum log_level level, enum log_target target);
/* Closes syslog if it was opened. */
void log_deinit(struct log *log);

/* component: "core", "store", a module name...; session_id may be NULL. */
void log_write(const struct log *log, enum log_level level,
	       const char *component, const char *session_id,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void log_writev(const struct log *log, enum log_level level,
		const char *component, const char *session_id,
		const char *fmt, va_list args)
	__attribute__((format(printf, 5, 0)));

/* "error", "warning", "info", "debug" <-> enum; returns -1 when unknown. */
int log_level_parse(const char *name);
const char *log_level_name(enum log_level level);

#endif
