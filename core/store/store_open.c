/* Opening and closing the store: the database file, its connections, the
 * schema, and in daemon mode the writer thread. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store_internal.h"

static int journal_mode_wal(struct store_conn *conn, char *err, size_t errlen)
{
	sqlite3_stmt *stmt;
	int wal = 0;
	int rc;

	/* journal_mode answers with the mode in effect, which stays "delete"
	 * on file systems without shared memory: check it. */
	rc = sqlite3_prepare_v2(conn->db, "PRAGMA journal_mode = WAL", -1,
				&stmt, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(stmt);
		if (rc == SQLITE_ROW) {
			const char *mode =
				(const char *)sqlite3_column_text(stmt, 0);
			wal = mode != NULL && strcmp(mode, "wal") == 0;
			rc = SQLITE_OK;
		}
		sqlite3_finalize(stmt);
	}
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "journal_mode: %s",
			 sqlite3_errmsg(conn->db));
		return store_sqlite_errno(rc);
	}
	if (!wal) {
		snprintf(err, errlen, "journal_mode: WAL not available");
		return -EIO;
	}
	return 0;
}

/* Creates the file ourselves so it (and the -wal/-shm files SQLite derives
 * from it) is not world-readable: it holds password hashes and mail. */
static int db_file_prepare(const char *state_dir, const char *path,
			   int create, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	if (stat(path, &st) == 0)
		return 0;
	if (errno != ENOENT || !create) {
		int e = errno;

		snprintf(err, errlen, "missing database %s: %s", path,
			 strerror(e));
		return -e;
	}
	if (stat(state_dir, &st) != 0) {
		int e = errno;

		snprintf(err, errlen, "state_dir %s: %s", state_dir,
			 strerror(e));
		return -e;
	}
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno != EEXIST) {
		int e = errno;

		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	if (fd >= 0)
		close(fd);
	return 0;
}

static int store_open_connections(struct store *s, const char *path,
				  char *err, size_t errlen)
{
	int ret;

	ret = store_conn_open(&s->write, path, SQLITE_OPEN_READWRITE,
			      STORE_BUSY_TIMEOUT_MS, err, errlen);
	if (ret < 0)
		return ret;
	/* WAL's automatic checkpoints are passive and run in the committing
	 * connection: the writer thread, never the loop. */
	ret = journal_mode_wal(&s->write, err, errlen);
	if (ret == 0)
		ret = store_conn_exec(&s->write, "PRAGMA synchronous = FULL");
	if (ret == 0)
		ret = store_schema_migrate(&s->write);
	if (ret < 0) {
		if (s->write.err[0] != '\0')
			snprintf(err, errlen, "%s: %s", path, s->write.err);
		return ret;
	}
	if (s->mode == STORE_MODE_ADMIN) {
		s->reader = &s->write;
		return 0;
	}
	/* Read-only, and no busy timeout: this connection serves the loop
	 * thread, which must never sleep; WAL readers do not wait for the
	 * writer anyway. */
	ret = store_conn_open(&s->read, path, SQLITE_OPEN_READONLY, 0, err,
			      errlen);
	if (ret < 0)
		return ret;
	s->reader = &s->read;
	return 0;
}

int store_open(const char *state_dir, enum store_mode mode, int create,
	       uv_loop_t *loop, struct store **store_r, char *err,
	       size_t errlen)
{
	struct store *s;
	char *path;
	int ret;

	*store_r = NULL;
	if (state_dir == NULL ||
	    (mode != STORE_MODE_DAEMON && mode != STORE_MODE_ADMIN) ||
	    (mode == STORE_MODE_DAEMON && loop == NULL)) {
		snprintf(err, errlen, "store_open: bad arguments");
		return -EINVAL;
	}
	if (asprintf(&path, "%s/%s", state_dir, STORE_DB_FILE) < 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = db_file_prepare(state_dir, path, create, err, errlen);
	if (ret < 0) {
		free(path);
		return ret;
	}
	s = calloc(1, sizeof *s);
	if (s == NULL) {
		free(path);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->mode = mode;
	s->loop = mode == STORE_MODE_DAEMON ? loop : NULL;
	s->writer = s;
	s->refs = 1;
	s->txn.conn = &s->write;
	s->queue.tail = &s->queue.head;
	s->done.tail = &s->done.head;

	ret = store_open_connections(s, path, err, errlen);
	free(path);
	if (ret == 0 && mode == STORE_MODE_DAEMON) {
		ret = store_writer_start(s);
		if (ret < 0)
			snprintf(err, errlen, "writer thread: %s",
				 uv_strerror(ret));
	}
	if (ret < 0) {
		store_conn_close(&s->read);
		store_conn_close(&s->write);
		store_unref(s);
		return ret;
	}
	*store_r = s;
	return 0;
}

int store_open_worker(struct store *store, uv_loop_t *loop,
		      struct store **handle_r, char *err, size_t errlen)
{
	struct store *s;
	char *path;
	int ret;

	*handle_r = NULL;
	if (errlen > 0)
		err[0] = '\0';
	if (store->mode != STORE_MODE_DAEMON || store->writer != store ||
	    loop == NULL) {
		snprintf(err, errlen, "store_open_worker: bad arguments");
		return -EINVAL;
	}
	const char *file = sqlite3_db_filename(store->write.db, "main");
	if (file == NULL || (path = strdup(file)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s = calloc(1, sizeof *s);
	if (s == NULL) {
		free(path);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->mode = STORE_MODE_DAEMON;
	s->loop = loop;
	s->writer = store;
	s->refs = 1;
	s->txn.conn = &s->write; /* never opened: jobs run on the writer */
	s->queue.tail = &s->queue.head;
	s->done.tail = &s->done.head;
	/* The same read-only connection as the writer's store has: no busy
	 * timeout for a loop thread. */
	ret = store_conn_open(&s->read, path, SQLITE_OPEN_READONLY, 0, err,
			      errlen);
	free(path);
	if (ret == 0)
		ret = store_worker_start(s);
	if (ret < 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "worker store: %s",
				 uv_strerror(ret));
		store_conn_close(&s->read);
		store_unref(s);
		return ret;
	}
	s->reader = &s->read;
	*handle_r = s;
	return 0;
}

void store_ref(struct store *store)
{
	store->refs++;
}

void store_unref(struct store *store)
{
	if (--store->refs > 0)
		return;
	if (store->sync_ready) {
		uv_cond_destroy(&store->wake);
		uv_mutex_destroy(&store->lock);
	}
	free(store);
}

void store_close(struct store **store)
{
	struct store *s = *store;

	if (s == NULL)
		return;
	*store = NULL;
	if (s->closed)
		return;
	if (s->writer != s) {
		/* A worker's handle: its jobs in flight still complete here,
		 * then the async closes (store_worker_release). */
		s->closed = 1;
		store_conn_close(&s->read);
		if (s->outstanding == 0)
			store_worker_release(s);
		return;
	}
	if (s->mode == STORE_MODE_DAEMON)
		store_writer_stop(s); /* runs the remaining done callbacks */
	s->closed = 1;
	store_conn_close(&s->read);
	store_conn_close(&s->write);
	if (s->mode == STORE_MODE_DAEMON)
		return; /* the async handle's close callback drops the ref */
	store_unref(s);
}

const char *store_error(const struct store *store)
{
	if (store == NULL || store->reader == NULL)
		return "no store";
	return store->reader->err;
}
