/* The privileged parent (privsep.h): all the code that keeps running as
 * root once the server has dropped its privileges. Kept this small on
 * purpose, so that it can be read whole: it trusts nothing the child
 * sends beyond a request type and a path, and it opens a path only when
 * the configuration it read as root names it as a [tls] cert or key. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "daemon/privsep_wire.h"
#include "util/path_trust.h"

struct parent {
	const struct log *log;
	const char *config_file;
	int sock;   /* -1 once the child closed its end */
	pid_t child;
	char **paths; /* the [tls] certs and keys of the configuration */
	size_t path_count;
};

static void parent_log(const struct parent *p, enum log_level level,
		       const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void parent_log(const struct parent *p, enum log_level level,
		       const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	log_writev(p->log, level, "privsep", NULL, fmt, args);
	va_end(args);
}

static void paths_free(struct parent *p)
{
	for (size_t i = 0; i < p->path_count; i++)
		free(p->paths[i]);
	free(p->paths);
	p->paths = NULL;
	p->path_count = 0;
}

/* Replaces the allowed paths with config's [tls] certs and keys. */
static int paths_set(struct parent *p, const struct config *config)
{
	static const char *const keys[] = { "cert", "key", "alt_cert",
					    "alt_key" };
	size_t max = 0, count = 0;
	char **paths;

	for (const struct config_section *s = config->sections; s != NULL;
	     s = s->next)
		max += strcmp(s->type, "tls") == 0 ? 2 : 0;
	paths = calloc(max + 1, sizeof(*paths));
	if (paths == NULL)
		return -ENOMEM;
	for (const struct config_section *s = config->sections; s != NULL;
	     s = s->next) {
		for (size_t k = 0; k < 2 && strcmp(s->type, "tls") == 0; k++) {
			const char *value = config_section_value(s, keys[k]);

			if (value == NULL)
				continue;
			paths[count] = strdup(value);
			if (paths[count++] == NULL) {
				while (count-- > 0)
					free(paths[count]);
				free(paths);
				return -ENOMEM;
			}
		}
	}
	paths_free(p);
	p->paths = paths;
	p->path_count = count;
	return 0;
}

static bool path_allowed(const struct parent *p, const char *path)
{
	for (size_t i = 0; i < p->path_count; i++) {
		if (strcmp(p->paths[i], path) == 0)
			return true;
	}
	return false;
}

static void reply(const struct parent *p, int status, int fd,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* fd, when not -1, travels with the reply; the caller closes its copy. */
static void reply(const struct parent *p, int status, int fd,
		  const char *fmt, ...)
{
	struct privsep_reply r = { .status = status };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov = { .iov_base = &r };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	va_list args;
	int len;

	va_start(args, fmt);
	len = vsnprintf(r.text, sizeof(r.text), fmt, args);
	va_end(args);
	if (len < 0)
		len = 0;
	if ((size_t)len >= sizeof(r.text))
		len = sizeof(r.text) - 1;
	iov.iov_len = offsetof(struct privsep_reply, text) + (size_t)len;
	if (fd >= 0) {
		memset(&control, 0, sizeof(control));
		msg.msg_control = control.buf;
		msg.msg_controllen = sizeof(control.buf);
		struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	}
	if (sendmsg(p->sock, &msg, MSG_NOSIGNAL) < 0)
		parent_log(p, LOG_LEVEL_WARNING, "cannot answer the server: %s",
			   strerror(errno));
}

/* The child read the configuration as server.user; this reads it as
 * root, from the file postinod was started with, provided only root could
 * have changed it since: a file the server user may write would let it
 * name any file as a key. */
static void handle_reload(struct parent *p)
{
	struct config *config = NULL;
	char err[900];
	int ret = path_trust_check(p->config_file, getuid(), err, sizeof(err));

	if (ret < 0) {
		reply(p, -ret, -1, "refusing to re-read %s: %s", p->config_file,
		      err);
		return;
	}
	if (config_load(p->config_file, &config, err, sizeof(err)) < 0) {
		reply(p, EINVAL, -1, "%s", err);
		return;
	}
	ret = paths_set(p, config);
	config_free(&config);
	if (ret < 0)
		reply(p, -ret, -1, "%s", strerror(-ret));
	else
		reply(p, 0, -1, "%s", "");
}

static void handle_open(struct parent *p, const char *path)
{
	if (!path_allowed(p, path)) {
		parent_log(p, LOG_LEVEL_WARNING, "refused to open %s for the "
			   "server: not a [tls] cert or key in %s", path,
			   p->config_file);
		reply(p, EACCES, -1, "not a [tls] cert or key in %s as root "
		      "read it", p->config_file);
		return;
	}
	/* O_NONBLOCK: a FIFO put where a key was must not hang us; the
	 * server refuses anything but a regular file. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		reply(p, errno, -1, "%s", strerror(errno));
		return;
	}
	reply(p, 0, fd, "%s", "");
	close(fd);
}

/* One request. Descriptors the child might send along are dropped by
 * the kernel: no control buffer is given. */
static void handle_request(struct parent *p)
{
	char buf[PRIVSEP_REQUEST_MAX + 1];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n = recvmsg(p->sock, &msg, 0);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* The child is exiting (or made itself deaf): from now on
		 * only its exit matters. */
		close(p->sock);
		p->sock = -1;
		return;
	}
	buf[n] = '\0';
	if ((msg.msg_flags & MSG_TRUNC) != 0)
		reply(p, ENAMETOOLONG, -1, "request too long");
	else if (buf[0] == PRIVSEP_RELOAD && n == 1)
		handle_reload(p);
	else if (buf[0] == PRIVSEP_OPEN && n > 1 &&
		 memchr(buf + 1, '\0', (size_t)n - 1) == NULL)
		handle_open(p, buf + 1);
	else
		reply(p, EINVAL, -1, "malformed request");
}

/* Returns the child's exit code once it has exited, else -1. */
static int handle_signal(struct parent *p, int sigfd)
{
	struct signalfd_siginfo info;
	int status;

	if (read(sigfd, &info, sizeof(info)) != sizeof(info))
		return -1;
	if (info.ssi_signo != SIGCHLD) {
		kill(p->child, (int)info.ssi_signo);
		return -1;
	}
	if (waitpid(p->child, &status, WNOHANG) != p->child)
		return -1;
	if (WIFSIGNALED(status)) {
		parent_log(p, LOG_LEVEL_ERROR, "server process %d killed by "
			   "signal %d (%s)", (int)p->child, WTERMSIG(status),
			   strsignal(WTERMSIG(status)));
		return 128 + WTERMSIG(status);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int privsep_parent_run(const struct log *log, const char *config_file,
		       const struct config *config, int sock, int sigfd,
		       pid_t child)
{
	struct parent p = {
		.log = log,
		.config_file = config_file,
		.sock = sock,
		.child = child,
	};
	int code = -1;

	if (paths_set(&p, config) < 0)
		parent_log(&p, LOG_LEVEL_ERROR, "out of memory: certificates "
			   "cannot be reloaded");
	parent_log(&p, LOG_LEVEL_INFO, "pid %d stays root to open [tls] "
		   "files for the server, pid %d", (int)getpid(), (int)child);
	while (code < 0) {
		struct pollfd fds[2] = {
			{ .fd = sigfd, .events = POLLIN },
			{ .fd = p.sock, .events = POLLIN },
		};

		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			parent_log(&p, LOG_LEVEL_ERROR, "poll: %s",
				   strerror(errno));
			break;
		}
		if (fds[1].revents != 0)
			handle_request(&p);
		if (fds[0].revents != 0)
			code = handle_signal(&p, sigfd);
	}
	if (p.sock >= 0)
		close(p.sock);
	paths_free(&p);
	/* Only when poll failed: the child then gets its parent-death
	 * SIGTERM (privsep_watch_parent). */
	return code >= 0 ? code : EX_OSERR;
}
