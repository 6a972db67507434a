/* The write side: in daemon mode one thread owns the write connection and
 * commits queued jobs in batches (group commit: one fsync for many
 * deliveries, whichever worker submitted them); each job's done callback
 * goes back to the loop of the store handle it was submitted through,
 * by that handle's uv_async_t. In admin mode a job runs at once in its
 * own transaction. */
#include <errno.h>
#include <stdlib.h>

#include "store/store_internal.h"

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

static void job_list_init(struct store_job_list *list)
{
	list->head = NULL;
	list->tail = &list->head;
	list->count = 0;
}

static void job_list_push(struct store_job_list *list, struct store_job *job)
{
	job->next = NULL;
	*list->tail = job;
	list->tail = &job->next;
	list->count++;
}

/* Takes up to max jobs off the front of src. */
static void job_list_take(struct store_job_list *dst,
			  struct store_job_list *src, size_t max)
{
	job_list_init(dst);
	while (src->head != NULL && dst->count < max) {
		struct store_job *job = src->head;

		src->head = job->next;
		src->count--;
		job_list_push(dst, job);
	}
	if (src->head == NULL)
		src->tail = &src->head;
}

/* A job that put a blob and never referenced it must not leave it behind;
 * the partial index makes this a probe, not a scan. */
static int blob_sweep(struct store_conn *conn)
{
	return store_conn_run(conn, STMT_BLOB_SWEEP,
			      "DELETE FROM blobs WHERE refcount <= 0");
}

/* Runs one job inside its own savepoint. A negative return means the
 * whole transaction is unusable (not that the job failed). */
static int writer_run_job(struct store *s, struct store_job *job)
{
	struct store_conn *c = &s->write;
	int ret;

	ret = store_conn_run(c, STMT_SAVEPOINT, "SAVEPOINT job");
	if (ret < 0)
		return ret;
	c->err[0] = '\0';
	job->status = job->job(&s->txn, job->data);
	/* Some errors (I/O, disk full) make SQLite roll back the whole
	 * transaction by itself; nothing after that may pretend to commit. */
	if (sqlite3_get_autocommit(c->db))
		return -EIO;
	if (job->status < 0) {
		ret = store_conn_run(c, STMT_ROLLBACK_TO, "ROLLBACK TO job");
		if (ret < 0)
			return ret;
	}
	return store_conn_run(c, STMT_RELEASE, "RELEASE job");
}

static void batch_fail(struct store_job_list *batch)
{
	for (struct store_job *j = batch->head; j != NULL; j = j->next)
		j->status = -EIO;
}

static void writer_run_batch(struct store *s, struct store_job_list *batch)
{
	struct store_conn *c = &s->write;
	int ret;

	ret = store_conn_run(c, STMT_BEGIN, "BEGIN IMMEDIATE");
	for (struct store_job *j = batch->head; ret == 0 && j != NULL;
	     j = j->next)
		ret = writer_run_job(s, j);
	if (ret == 0)
		ret = blob_sweep(c);
	if (ret == 0)
		ret = store_conn_run(c, STMT_COMMIT, "COMMIT");
	if (ret < 0) {
		if (!sqlite3_get_autocommit(c->db))
			store_conn_run(c, STMT_ROLLBACK, "ROLLBACK");
		batch_fail(batch);
	} else {
		__atomic_add_fetch(&s->commits, 1, __ATOMIC_RELEASE);
	}
	__atomic_add_fetch(&s->jobs, batch->count, __ATOMIC_RELEASE);
}

/* Each job goes to the done list of the handle it came through. The
 * wake-up is sent under that handle's lock: once the handle has taken
 * its last job it may close and free itself, and no send may follow. */
static void writer_hand_back(struct store_job_list *batch)
{
	struct store_job *job = batch->head;

	while (job != NULL) {
		struct store_job *next = job->next;
		struct store *owner = job->owner;

		uv_mutex_lock(&owner->lock);
		job_list_push(&owner->done, job);
		uv_async_send(&owner->async);
		uv_mutex_unlock(&owner->lock);
		job = next;
	}
}

static void writer_main(void *arg)
{
	struct store *s = arg;
	struct store_job_list batch;

	for (;;) {
		uv_mutex_lock(&s->lock);
		while (s->queue.head == NULL && !s->closing)
			uv_cond_wait(&s->wake, &s->lock);
		if (s->queue.head == NULL) {
			uv_mutex_unlock(&s->lock);
			break;
		}
		job_list_take(&batch, &s->queue, STORE_BATCH_MAX);
		uv_mutex_unlock(&s->lock);

		writer_run_batch(s, &batch);
		writer_hand_back(&batch);
	}
}

/* Loop thread. Touches the store only before calling back (a done
 * callback may close the store), except a worker's handle, which its
 * outstanding jobs keep open. */
static void run_done(struct store *s)
{
	struct store_job_list done;
	struct store_job *job, *next;
	unsigned count;

	uv_mutex_lock(&s->lock);
	done = s->done;
	if (done.head == NULL)
		done.tail = &done.head;
	job_list_init(&s->done);
	uv_mutex_unlock(&s->lock);
	count = (unsigned)done.count;

	for (job = done.head; job != NULL; job = next) {
		next = job->next;
		if (job->done != NULL)
			job->done(job->data, job->status);
		free(job);
	}
	if (s->writer != s) {
		s->outstanding -= count;
		if (s->closed && s->outstanding == 0)
			store_worker_release(s);
	}
}

static void on_async(uv_async_t *handle)
{
	run_done(container_of(handle, struct store, async));
}

static void on_async_closed(uv_handle_t *handle)
{
	store_unref(container_of((uv_async_t *)handle, struct store, async));
}

/* A worker's handle, closed with nothing in flight: the writer can no
 * longer send to its async. */
void store_worker_release(struct store *s)
{
	if (uv_is_closing((uv_handle_t *)&s->async))
		return;
	uv_close((uv_handle_t *)&s->async, on_async_closed);
}

int store_worker_start(struct store *s)
{
	int ret = uv_mutex_init(&s->lock);

	if (ret < 0)
		return ret;
	ret = uv_cond_init(&s->wake); /* unused; store_unref destroys both */
	if (ret < 0) {
		uv_mutex_destroy(&s->lock);
		return ret;
	}
	s->sync_ready = 1;
	return uv_async_init(s->loop, &s->async, on_async);
}

static void writer_join(struct store *s)
{
	uv_mutex_lock(&s->lock);
	s->closing = 1;
	uv_cond_signal(&s->wake);
	uv_mutex_unlock(&s->lock);
	uv_thread_join(&s->thread);
}

int store_writer_start(struct store *s)
{
	int ret;

	ret = uv_mutex_init(&s->lock);
	if (ret < 0)
		return ret;
	ret = uv_cond_init(&s->wake);
	if (ret < 0) {
		uv_mutex_destroy(&s->lock);
		return ret;
	}
	s->sync_ready = 1;
	/* The thread starts first: with no job queued it sends nothing, so
	 * if the handle cannot be made it can still be joined, and the store
	 * freed at once instead of from a close callback. */
	ret = uv_thread_create(&s->thread, writer_main, s);
	if (ret < 0)
		return ret; /* store_unref destroys lock and wake */
	ret = uv_async_init(s->loop, &s->async, on_async);
	if (ret < 0) {
		writer_join(s);
		return ret;
	}
	/* From here the owner's reference is the handle's: store_close does
	 * not drop it, on_async_closed does. */
	return 0;
}

void store_writer_stop(struct store *s)
{
	writer_join(s);
	/* The thread drained the queue before exiting; an async send it made
	 * may not have been delivered yet, and never will be after uv_close,
	 * so deliver here. */
	run_done(s);
	uv_close((uv_handle_t *)&s->async, on_async_closed);
}

static void admin_run(struct store *s, struct store_job *job)
{
	struct store_conn *c = &s->write;
	int ret;

	c->err[0] = '\0';
	ret = store_conn_run(c, STMT_BEGIN, "BEGIN IMMEDIATE");
	if (ret < 0) {
		job->status = -EIO;
		return;
	}
	job->status = job->job(&s->txn, job->data);
	ret = 0;
	if (job->status >= 0 && !sqlite3_get_autocommit(c->db)) {
		ret = blob_sweep(c);
		if (ret == 0)
			ret = store_conn_run(c, STMT_COMMIT, "COMMIT");
		if (ret < 0)
			job->status = -EIO;
		else
			__atomic_add_fetch(&s->commits, 1, __ATOMIC_RELEASE);
	} else if (job->status >= 0) {
		job->status = -EIO; /* SQLite rolled back on its own */
	}
	if (!sqlite3_get_autocommit(c->db))
		store_conn_run(c, STMT_ROLLBACK, "ROLLBACK");
	__atomic_add_fetch(&s->jobs, 1, __ATOMIC_RELEASE);
}

int store_submit(struct store *s, store_job_fn *job_fn, store_done_fn *done,
		 void *data)
{
	struct store_job *job;
	struct store *w;
	int closing;

	if (s == NULL || job_fn == NULL)
		return -EINVAL;
	if (s->closed)
		return -ESHUTDOWN;
	if (s->mode == STORE_MODE_ADMIN) {
		struct store_job local = {
			.job = job_fn, .done = done, .data = data,
		};

		admin_run(s, &local);
		if (done != NULL)
			done(data, local.status);
		return 0;
	}
	job = calloc(1, sizeof *job);
	if (job == NULL)
		return -ENOMEM;
	job->owner = s;
	job->job = job_fn;
	job->done = done;
	job->data = data;

	w = s->writer;
	uv_mutex_lock(&w->lock);
	closing = w->closing;
	if (!closing) {
		job_list_push(&w->queue, job);
		uv_cond_signal(&w->wake);
	}
	uv_mutex_unlock(&w->lock);
	if (closing) {
		free(job);
		return -ESHUTDOWN;
	}
	if (w != s)
		s->outstanding++;
	return 0;
}

void store_writer_stats(const struct store *store, uint64_t *jobs_r,
			uint64_t *commits_r)
{
	const struct store *s = store->writer;

	if (jobs_r != NULL)
		*jobs_r = __atomic_load_n(&s->jobs, __ATOMIC_ACQUIRE);
	if (commits_r != NULL)
		*commits_r = __atomic_load_n(&s->commits, __ATOMIC_ACQUIRE);
}

const char *store_txn_error(const struct store_txn *txn)
{
	return txn->conn->err;
}
