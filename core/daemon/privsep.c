/* The fork into server and privileged parent, and the server's requests
 * to the parent; see privsep.h. The parent's own code is privsep_parent.c.
 */
#include "daemon/privsep.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/privsep_wire.h"

struct privsep {
	int sock;
	pid_t parent;
};

int privsep_start(const struct log *log, const char *config_file,
		  const struct config *config, struct privsep **ps_r,
		  int *exit_code_r)
{
	sigset_t signals, saved;
	int sv[2];

	*ps_r = NULL;
	sigemptyset(&signals);
	sigaddset(&signals, SIGHUP);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGCHLD);
	/* Blocked before the fork, so a SIGHUP that comes before the parent
	 * reads its signalfd waits for it instead of killing it. */
	sigprocmask(SIG_BLOCK, &signals, &saved);
	int sigfd = signalfd(-1, &signals, SFD_CLOEXEC);
	if (sigfd < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		int err = errno;

		log_write(log, LOG_LEVEL_ERROR, "privsep", NULL,
			  "cannot set up the privileged process: %s",
			  strerror(err));
		if (sigfd >= 0)
			close(sigfd);
		sigprocmask(SIG_SETMASK, &saved, NULL);
		return -err;
	}
	pid_t parent = getpid();
	pid_t child = fork();
	if (child < 0) {
		int err = errno;

		log_write(log, LOG_LEVEL_ERROR, "privsep", NULL,
			  "cannot fork the server: %s", strerror(err));
		close(sigfd);
		close(sv[0]);
		close(sv[1]);
		sigprocmask(SIG_SETMASK, &saved, NULL);
		return -err;
	}
	if (child == 0) {
		close(sigfd);
		close(sv[0]);
		sigprocmask(SIG_SETMASK, &saved, NULL);
		struct privsep *ps = calloc(1, sizeof(*ps));
		if (ps == NULL) {
			close(sv[1]);
			return -ENOMEM;
		}
		ps->sock = sv[1];
		ps->parent = parent;
		*ps_r = ps;
		return 0;
	}
	close(sv[1]);
	/* The signals stay blocked: the parent exits right after this. */
	*exit_code_r = privsep_parent_run(log, config_file, config, sv[0],
					  sigfd, child);
	close(sigfd);
	return 1;
}

int privsep_watch_parent(struct privsep *ps)
{
	/* After the privilege drop: changing credentials clears it. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
		return -errno;
	return getppid() == ps->parent ? 0 : -ESRCH;
}

/* Sends one request and reads its reply; fd_r, when not NULL, gets the
 * descriptor an OPEN brings back. */
static int privsep_call(struct privsep *ps, const char *request, size_t len,
			int *fd_r, char *err, size_t errlen)
{
	struct privsep_reply reply;
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov = { .iov_base = &reply, .iov_len = sizeof(reply) };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	const size_t head = offsetof(struct privsep_reply, text);
	ssize_t n;
	int fd = -1;

	do
		n = send(ps->sock, request, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n >= 0) {
		do
			n = recvmsg(ps->sock, &msg, MSG_CMSG_CLOEXEC);
		while (n < 0 && errno == EINTR);
	}
	if (n <= 0) {
		int ret = n < 0 ? -errno : -EPIPE;

		snprintf(err, errlen, "the privileged parent process does not "
			 "answer: %s", strerror(-ret));
		return ret;
	}
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
	if (cmsg != NULL && cmsg->cmsg_level == SOL_SOCKET &&
	    cmsg->cmsg_type == SCM_RIGHTS &&
	    cmsg->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	if ((size_t)n < head || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    reply.status < 0 || reply.status > 4095 ||
	    (reply.status == 0 && (fd >= 0) != (fd_r != NULL))) {
		if (fd >= 0)
			close(fd);
		snprintf(err, errlen, "malformed reply from the privileged "
			 "parent process");
		return -EPROTO;
	}
	if (reply.status != 0) {
		snprintf(err, errlen, "%.*s", (int)((size_t)n - head),
			 reply.text);
		return -reply.status;
	}
	if (fd_r != NULL)
		*fd_r = fd;
	return 0;
}

int privsep_reload(struct privsep *ps, char *err, size_t errlen)
{
	const char request = PRIVSEP_RELOAD;

	return privsep_call(ps, &request, 1, NULL, err, errlen);
}

int privsep_open(void *data, const char *path, char *err, size_t errlen)
{
	struct privsep *ps = data;
	char request[PRIVSEP_REQUEST_MAX];
	size_t len = strlen(path);
	int fd = -1;

	if (len >= sizeof(request)) {
		snprintf(err, errlen, "%s", strerror(ENAMETOOLONG));
		return -ENAMETOOLONG;
	}
	request[0] = PRIVSEP_OPEN;
	memcpy(request + 1, path, len);
	int ret = privsep_call(ps, request, 1 + len, &fd, err, errlen);
	return ret < 0 ? ret : fd;
}

void privsep_free(struct privsep **ps)
{
	struct privsep *p = *ps;

	*ps = NULL;
	if (p == NULL)
		return;
	close(p->sock);
	free(p);
}
