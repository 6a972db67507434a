/* The StrictModes check; see path_trust.h.
 *
 * Why every component up to /: whoever can write to any directory on the
 * way can rename it and put a tree of their own in its place, so the
 * file's own owner and mode prove nothing alone. A sticky directory is
 * the exception: there, only an entry's owner (or root) may remove or
 * rename it, so /tmp/postino-build owned by root stays root's even though
 * everybody can create files in /tmp. */
#include "util/path_trust.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The caller names the whole path already; a directory or link on the
 * way is named here. */
static int fail_errno(const char *component, const char *whole, int err,
		      char *why, size_t whylen)
{
	if (strcmp(component, whole) == 0)
		snprintf(why, whylen, "%s", strerror(err));
	else
		snprintf(why, whylen, "%s: %s", component, strerror(err));
	return -err;
}

static int check_component(const char *component, const char *whole,
			   uid_t uid, bool want_regular, char *why,
			   size_t whylen)
{
	struct stat st;

	if (lstat(component, &st) < 0)
		return fail_errno(component, whole, errno, why, whylen);
	if (st.st_uid != 0 && st.st_uid != uid) {
		if (uid == 0)
			snprintf(why, whylen, "%s is owned by uid %u, not by "
				 "root", component, (unsigned)st.st_uid);
		else
			snprintf(why, whylen, "%s is owned by uid %u, not by "
				 "root or uid %u", component,
				 (unsigned)st.st_uid, (unsigned)uid);
		return -EPERM;
	}
	/* A link's own mode bits are never used; where it points is checked
	 * on the resolved path. */
	if (S_ISLNK(st.st_mode))
		return 0;

	unsigned mode = st.st_mode & 07777;
	bool sticky_dir = S_ISDIR(st.st_mode) && (mode & S_ISVTX) != 0;
	if ((mode & (S_IWGRP | S_IWOTH)) != 0 && !sticky_dir) {
		snprintf(why, whylen, "%s is writable by %s (mode %04o)",
			 component, (mode & S_IWOTH) != 0 ? "others"
							  : "its group", mode);
		return -EPERM;
	}
	if (want_regular && !S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "%s is not a regular file", component);
		return -EPERM;
	}
	return 0;
}

/* Checks /, then every prefix of abs that ends before a '/', then abs. */
static int check_chain(const char *abs, uid_t uid, bool want_regular,
		       char *why, size_t whylen)
{
	char prefix[PATH_MAX];
	size_t len = strlen(abs);
	int ret;

	if (len >= sizeof(prefix)) {
		snprintf(why, whylen, "%s", strerror(ENAMETOOLONG));
		return -ENAMETOOLONG;
	}
	memcpy(prefix, abs, len + 1);
	ret = check_component("/", abs, uid, false, why, whylen);
	for (size_t i = 1; i <= len && ret == 0; i++) {
		if ((i < len && abs[i] != '/') || abs[i - 1] == '/')
			continue;
		prefix[i] = '\0';
		ret = check_component(prefix, abs, uid,
				      want_regular && i == len, why, whylen);
		prefix[i] = abs[i];
	}
	return ret;
}

int path_trust_check(const char *path, uid_t uid, char *why, size_t whylen)
{
	char abs[PATH_MAX];
	int ret;

	if (path[0] == '/') {
		ret = snprintf(abs, sizeof(abs), "%s", path);
	} else {
		char cwd[PATH_MAX];

		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return fail_errno(".", path, errno, why, whylen);
		ret = snprintf(abs, sizeof(abs), "%s/%s", cwd, path);
	}
	if (ret < 0 || (size_t)ret >= sizeof(abs))
		return fail_errno(path, path, ENAMETOOLONG, why, whylen);

	ret = check_chain(abs, uid, false, why, whylen);
	if (ret < 0)
		return ret;
	char *real = realpath(abs, NULL);
	if (real == NULL)
		return fail_errno(path, path, errno, why, whylen);
	ret = check_chain(real, uid, true, why, whylen);
	free(real);
	return ret;
}
