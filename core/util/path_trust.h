/* Whether a file may be trusted with running code in this process (a
 * module postinod dlopens as root), by the rules of sshd's StrictModes:
 * nobody but root and the user who started the program may be able to
 * replace it. */
#ifndef POSTINO_PATH_TRUST_H
#define POSTINO_PATH_TRUST_H

#include <stddef.h>
#include <sys/types.h>

/* Checks path (absolute, or relative to the working directory) twice:
 * as written, each component lstat'ed (a symbolic link must be owned by
 * root or uid; its own mode means nothing), and as realpath() resolves
 * it. Every file, directory and link on the way to / must be owned by
 * root or uid, and no directory nor the file may be writable by group
 * or others, except a sticky directory (such as /tmp), where nobody can
 * remove or rename another owner's entry, whose next component must then
 * still be owned by root or uid. The file must be a regular file.
 *
 * Returns 0 when trusted; -EPERM when not, with why naming the component
 * and the reason ("/srv/mods is writable by others (mode 0777)"); another
 * negative errno when a component cannot be examined, with why giving the
 * system's reason, after the component's name unless it is path itself
 * ("/srv/mods: Permission denied", "No such file or directory"). */
int path_trust_check(const char *path, uid_t uid, char *why, size_t whylen);

#endif
