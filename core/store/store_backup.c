/* Online backup with the SQLite backup API. The copy is written to a
 * temporary file next to the target and renamed into place once complete
 * and synced, so the target never holds half a database. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store_internal.h"

/* A source step can meet a checkpoint or another writer's lock; waiting a
 * little and retrying is fine here (the CLI, never the loop thread). */
#define BACKUP_RETRIES 100
#define BACKUP_RETRY_MS 100

static int backup_copy(sqlite3 *src, sqlite3 *dst, char *err, size_t errlen)
{
	sqlite3_backup *b;
	int rc, tries = 0;

	b = sqlite3_backup_init(dst, "main", src, "main");
	if (b == NULL) {
		snprintf(err, errlen, "backup: %s", sqlite3_errmsg(dst));
		return store_sqlite_errno(sqlite3_errcode(dst));
	}
	/* All pages in one step: one read transaction on the source, so the
	 * copy is a single consistent snapshot however much the daemon
	 * writes meanwhile (in WAL mode that does not block it). */
	do {
		rc = sqlite3_backup_step(b, -1);
		if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
			sqlite3_sleep(BACKUP_RETRY_MS);
	} while (((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) &&
		 ++tries < BACKUP_RETRIES);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "backup: %s", sqlite3_errstr(rc));
		return store_sqlite_errno(rc);
	}
	rc = sqlite3_errcode(dst);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "backup: %s", sqlite3_errmsg(dst));
		return store_sqlite_errno(rc);
	}
	return 0;
}

static int sync_dir_of(const char *path)
{
	char *copy = strdup(path);
	int fd, ret = 0;

	if (copy == NULL)
		return -ENOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return -errno;
	if (fsync(fd) != 0)
		ret = -errno;
	close(fd);
	return ret;
}

static int backup_to(const char *src_path, const char *tmp, char *err,
		     size_t errlen)
{
	struct store_conn src = { 0 }, dst = { 0 };
	int ret;

	/* Read-write (never create) so it can read a WAL database even when
	 * no daemon has its -shm file open. It only reads. */
	ret = store_conn_open(&src, src_path, SQLITE_OPEN_READWRITE,
			      STORE_BUSY_TIMEOUT_MS, err, errlen);
	if (ret == 0)
		ret = store_conn_open(&dst, tmp, SQLITE_OPEN_READWRITE, 0, err,
				      errlen);
	if (ret == 0)
		ret = backup_copy(src.db, dst.db, err, errlen);
	store_conn_close(&src);
	store_conn_close(&dst);
	return ret;
}

int store_backup(const char *state_dir, const char *path, char *err,
		 size_t errlen)
{
	char *src_path = NULL, *tmp = NULL;
	int fd, ret;

	if (state_dir == NULL || path == NULL) {
		snprintf(err, errlen, "backup: bad arguments");
		return -EINVAL;
	}
	if (asprintf(&src_path, "%s/%s", state_dir, STORE_DB_FILE) < 0 ||
	    asprintf(&tmp, "%s.XXXXXX", path) < 0) {
		free(src_path);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (access(src_path, F_OK) != 0) {
		ret = -errno;
		snprintf(err, errlen, "missing database %s: %s", src_path,
			 strerror(-ret));
		goto out;
	}
	/* mkstemp makes it 0600: the copy holds what the original does. */
	fd = mkstemp(tmp);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		goto out;
	}
	close(fd);
	ret = backup_to(src_path, tmp, err, errlen);
	if (ret == 0 && rename(tmp, path) != 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
	}
	if (ret == 0) {
		ret = sync_dir_of(path);
		if (ret < 0)
			snprintf(err, errlen, "%s: sync: %s", path,
				 strerror(-ret));
	}
	if (ret < 0)
		unlink(tmp);
out:
	free(src_path);
	free(tmp);
	return ret;
}
