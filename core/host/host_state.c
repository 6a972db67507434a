/* The state service: reads from the store, writes through the store's
 * writer thread, and between the two an overlay of the writes still in
 * flight, so that a module reads what it wrote at once (read-your-writes)
 * on every worker: greylisting's "first seen" and a counter's last value
 * must not wait for a group commit. An overlay entry lives from the call
 * that wrote the key until the last job writing it has committed; the
 * store answers for the key after that. One lock guards the overlay and
 * serialises state_update, which is therefore atomic across workers. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "host/host_state.h"
#include "store/store.h"

#define OVERLAY_BUCKETS 1024

struct state_pending {
	struct state_pending *next;
	char *module;
	char *key;
	void *value;       /* NULL: deleted */
	size_t len;
	int64_t expires_at;
	unsigned writes;   /* jobs submitted for the key, not yet done */
};

struct state_overlay {
	pthread_mutex_t lock;
	struct state_pending *buckets[OVERLAY_BUCKETS];
};

int state_overlay_new(struct state_overlay **overlay_r)
{
	struct state_overlay *o = calloc(1, sizeof(*o));

	if (o == NULL)
		return -ENOMEM;
	pthread_mutex_init(&o->lock, NULL);
	*overlay_r = o;
	return 0;
}

static void pending_free(struct state_pending *p)
{
	free(p->module);
	free(p->key);
	free(p->value);
	free(p);
}

void state_overlay_free(struct state_overlay **overlay)
{
	struct state_overlay *o = *overlay;

	*overlay = NULL;
	if (o == NULL)
		return;
	for (size_t i = 0; i < OVERLAY_BUCKETS; i++) {
		while (o->buckets[i] != NULL) {
			struct state_pending *p = o->buckets[i];
			o->buckets[i] = p->next;
			pending_free(p);
		}
	}
	pthread_mutex_destroy(&o->lock);
	free(o);
}

/* FNV-1a over module and key. */
static size_t overlay_bucket(const char *module, const char *key)
{
	uint64_t h = 1469598103934665603ULL;

	for (const unsigned char *p = (const unsigned char *)module; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	h = (h ^ 0xff) * 1099511628211ULL;
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return (size_t)(h % OVERLAY_BUCKETS);
}

/* Caller holds the lock. */
static struct state_pending **overlay_find(struct state_overlay *o,
					   const char *module, const char *key)
{
	struct state_pending **pp = &o->buckets[overlay_bucket(module, key)];

	for (; *pp != NULL; pp = &(*pp)->next) {
		if (strcmp((*pp)->key, key) == 0 &&
		    strcmp((*pp)->module, module) == 0)
			return pp;
	}
	return pp;
}

static int64_t now_s(void)
{
	return core_now_ms() / 1000;
}

static int state_key_check(const struct postino_mod *mod, const char *key)
{
	if (key == NULL || key[0] == '\0')
		return -EINVAL;
	if (strlen(key) > POSTINO_STATE_KEY_MAX)
		return -ENAMETOOLONG;
	if (mod->ctx->store == NULL || mod->ctx->state_overlay == NULL)
		return -ENODEV; /* `postino module list` without a database */
	return 0;
}

static int pending_live(const struct state_pending *p, int64_t now)
{
	return p->value != NULL && (p->expires_at == 0 || p->expires_at > now);
}

/* The current value of key, from the overlay or the store, into buf
 * (bufsize bytes): 0 and *len_r (the full length), -ENOENT, or an error.
 * Caller holds the lock. */
static int state_read_locked(struct postino_mod *mod, const char *key,
			     void *buf, size_t bufsize, size_t *len_r,
			     int64_t *expires_at_r)
{
	struct state_overlay *o = mod->ctx->state_overlay;
	struct state_pending *p = *overlay_find(o, mod->name, key);
	int64_t now = now_s();

	if (p != NULL) {
		if (!pending_live(p, now))
			return -ENOENT;
		if (bufsize > 0)
			memcpy(buf, p->value, p->len < bufsize ? p->len : bufsize);
		*len_r = p->len;
		if (expires_at_r != NULL)
			*expires_at_r = p->expires_at;
		return 0;
	}
	if (expires_at_r != NULL)
		*expires_at_r = 0;
	return store_state_get(mod->ctx->store, mod->name, key, now, buf,
			       bufsize, len_r);
}

int host_state_get(struct postino_mod *mod, const char *key, void *buf,
		   size_t buflen, size_t *len_r)
{
	size_t len = 0;
	int ret = state_key_check(mod, key);

	if (ret < 0)
		return ret;
	if (buf == NULL && buflen > 0)
		return -EINVAL;
	pthread_mutex_lock(&mod->ctx->state_overlay->lock);
	ret = state_read_locked(mod, key, buf, buflen, &len, NULL);
	pthread_mutex_unlock(&mod->ctx->state_overlay->lock);
	if (ret == 0 && len_r != NULL)
		*len_r = len;
	return ret;
}

/* ---- writes --------------------------------------------------------------- */

/* A write travels to the writer thread with its own copies, since the
 * module's buffers may be gone by then. */
struct state_job {
	struct module_set *set; /* keeps the module loaded until done ran */
	struct state_overlay *overlay;
	char *module; /* copied: a reload may unload the module first */
	char *key;
	void *value;  /* NULL for a delete */
	size_t len;
	int64_t expires_at;
	void (*done)(void *data, int status);
	void *data;
};

static int state_job_run(struct store_txn *txn, void *data)
{
	struct state_job *job = data;
	int ret;

	if (job->value == NULL) {
		ret = store_txn_state_delete(txn, job->module, job->key);
		/* Deleting what is not there leaves the wanted state. */
		return ret == -ENOENT ? 0 : ret;
	}
	return store_txn_state_put(txn, job->module, job->key, job->value,
				   job->len, job->expires_at);
}

static void state_job_free(struct state_job *job)
{
	free(job->module);
	free(job->key);
	free(job->value);
	module_set_unref(&job->set);
	free(job);
}

/* The store has the key's write (or gave up on it): the overlay entry
 * goes with the key's last write in flight. */
static void overlay_release(struct state_overlay *o, const char *module,
			    const char *key)
{
	pthread_mutex_lock(&o->lock);
	struct state_pending **pp = overlay_find(o, module, key);
	struct state_pending *p = *pp;
	if (p != NULL && --p->writes == 0) {
		*pp = p->next;
		pending_free(p);
	}
	pthread_mutex_unlock(&o->lock);
}

static void state_job_done(void *data, int status)
{
	struct state_job *job = data;

	overlay_release(job->overlay, job->module, job->key);
	if (job->done != NULL)
		job->done(job->data, status);
	state_job_free(job);
}

/* Records the write in the overlay (caller holds the lock) and builds its
 * job; value NULL deletes. */
static int overlay_record(struct postino_mod *mod, const char *key,
			  const void *value, size_t len, int64_t expires_at,
			  struct state_job **job_r)
{
	struct state_overlay *o = mod->ctx->state_overlay;
	struct state_job *job = calloc(1, sizeof(*job));
	void *copy = NULL, *job_copy = NULL;

	if (job == NULL)
		return -ENOMEM;
	/* +1 so a zero-length value still gets a real buffer and is told
	 * apart from a delete. */
	if (value != NULL) {
		copy = malloc(len + 1);
		job_copy = malloc(len + 1);
		if (copy == NULL || job_copy == NULL)
			goto nomem;
		memcpy(copy, value, len);
		memcpy(job_copy, value, len);
	}
	job->module = strdup(mod->name);
	job->key = strdup(key);
	if (job->module == NULL || job->key == NULL)
		goto nomem;
	struct state_pending **pp = overlay_find(o, mod->name, key);
	struct state_pending *p = *pp;
	if (p == NULL) {
		p = calloc(1, sizeof(*p));
		if (p == NULL)
			goto nomem;
		p->module = strdup(mod->name);
		p->key = strdup(key);
		if (p->module == NULL || p->key == NULL) {
			pending_free(p);
			goto nomem;
		}
		*pp = p;
	}
	free(p->value);
	p->value = copy;
	p->len = len;
	p->expires_at = expires_at;
	p->writes++;
	job->overlay = o;
	job->value = job_copy;
	job->len = len;
	job->expires_at = expires_at;
	job->set = mod->set;
	module_set_ref(job->set);
	*job_r = job;
	return 0;
nomem:
	free(copy);
	free(job_copy);
	free(job->module);
	free(job->key);
	free(job);
	return -ENOMEM;
}

/* Queues the job recorded by overlay_record (lock released). */
static int state_job_submit(struct postino_mod *mod, struct state_job *job,
			    void (*done)(void *data, int status), void *data)
{
	job->done = done;
	job->data = data;
	int ret = store_submit(mod->ctx->store, state_job_run, state_job_done,
			       job);
	if (ret < 0) {
		job->done = NULL;
		state_job_done(job, ret);
	}
	return ret;
}

static int state_write(struct postino_mod *mod, const char *key,
		       const void *value, size_t len, int64_t expires_at,
		       void (*done)(void *data, int status), void *data)
{
	struct state_job *job = NULL;
	int ret = state_key_check(mod, key);

	if (ret < 0)
		return ret;
	if (len > POSTINO_STATE_VALUE_MAX)
		return -EFBIG;
	pthread_mutex_lock(&mod->ctx->state_overlay->lock);
	ret = overlay_record(mod, key, value, len, expires_at, &job);
	pthread_mutex_unlock(&mod->ctx->state_overlay->lock);
	if (ret < 0)
		return ret;
	return state_job_submit(mod, job, done, data);
}

int host_state_put(struct postino_mod *mod, const char *key,
		   const void *value, size_t len, int64_t expires_at,
		   void (*done)(void *data, int status), void *data)
{
	if (value == NULL && len > 0)
		return -EINVAL;
	if (expires_at < 0)
		expires_at = 0;
	return state_write(mod, key, value != NULL ? value : "", len,
			   expires_at, done, data);
}

int host_state_delete(struct postino_mod *mod, const char *key,
		      void (*done)(void *data, int status), void *data)
{
	return state_write(mod, key, NULL, 0, 0, done, data);
}

static int state_nothing(struct store_txn *txn, void *data)
{
	(void)txn;
	(void)data;
	return 0;
}

int host_state_update(struct postino_mod *mod, const char *key,
		      postino_state_update_fn fn, void *fn_data,
		      void (*done)(void *data, int status), void *data)
{
	struct state_job *job = NULL;
	size_t old_len = 0, new_len = 0;
	int64_t expires_at = 0;
	int ret = state_key_check(mod, key);

	if (ret < 0)
		return ret;
	if (fn == NULL)
		return -EINVAL;
	/* Two buffers of the largest value: an update is a read, a decision
	 * and a write, all under the lock. */
	char *old = malloc(POSTINO_STATE_VALUE_MAX);
	char *buf = malloc(POSTINO_STATE_VALUE_MAX);
	if (old == NULL || buf == NULL) {
		free(old);
		free(buf);
		return -ENOMEM;
	}
	struct state_overlay *o = mod->ctx->state_overlay;
	pthread_mutex_lock(&o->lock);
	ret = state_read_locked(mod, key, old, POSTINO_STATE_VALUE_MAX,
				&old_len, &expires_at);
	if (ret == 0 || ret == -ENOENT) {
		int found = ret == 0;
		if (found && old_len > POSTINO_STATE_VALUE_MAX)
			old_len = POSTINO_STATE_VALUE_MAX;
		int64_t new_expiry = found ? expires_at : 0;
		int decision = fn(fn_data, found ? old : NULL, found ? old_len : 0,
				  buf, POSTINO_STATE_VALUE_MAX, &new_len,
				  &new_expiry);
		if (decision > 0 && new_len > POSTINO_STATE_VALUE_MAX) {
			ret = -EFBIG;
		} else if (decision > 0) {
			ret = overlay_record(mod, key, buf, new_len,
					     new_expiry < 0 ? 0 : new_expiry, &job);
			if (ret == 0)
				ret = 1;
		} else if (decision < 0 && found) {
			ret = overlay_record(mod, key, NULL, 0, 0, &job);
			if (ret == 0)
				ret = -1;
		} else {
			ret = decision < 0 ? -1 : 0;
		}
	}
	pthread_mutex_unlock(&o->lock);
	free(old);
	free(buf);
	if (job != NULL) {
		int sret = state_job_submit(mod, job, done, data);
		if (sret < 0)
			return sret;
	} else if (ret >= -1 && done != NULL) {
		/* Nothing to write: the caller's done still runs once, as
		 * for any write, after the writes queued before it. */
		if (store_submit(mod->ctx->store, state_nothing, done, data) < 0)
			ret = -ESHUTDOWN;
	}
	return ret;
}

/* ---- scans ---------------------------------------------------------------- */

/* The overlay entries under prefix, copied, sorted by key: merged with
 * the store's rows so a scan sees writes in flight too. */
struct scan_pending {
	char *key;
	void *value; /* NULL: deleted */
	size_t len;
	int64_t expires_at;
};

struct scan {
	struct scan_pending *pending;
	size_t count, next;
	int64_t now;
	int (*cb)(void *data, const char *key, const void *value, size_t len,
		  int64_t expires_at);
	void *data;
};

static int scan_pending_cmp(const void *a, const void *b)
{
	return strcmp(((const struct scan_pending *)a)->key,
		      ((const struct scan_pending *)b)->key);
}

static int scan_collect(struct postino_mod *mod, const char *prefix,
			struct scan *s)
{
	struct state_overlay *o = mod->ctx->state_overlay;
	size_t plen = strlen(prefix), cap = 0;
	int ret = 0;

	pthread_mutex_lock(&o->lock);
	for (size_t i = 0; i < OVERLAY_BUCKETS && ret == 0; i++) {
		for (struct state_pending *p = o->buckets[i]; p != NULL;
		     p = p->next) {
			if (strcmp(p->module, mod->name) != 0 ||
			    strncmp(p->key, prefix, plen) != 0)
				continue;
			if (s->count == cap) {
				size_t ncap = cap ? cap * 2 : 16;
				void *grown = realloc(s->pending,
						      ncap * sizeof(*s->pending));
				if (grown == NULL) {
					ret = -ENOMEM;
					break;
				}
				s->pending = grown;
				cap = ncap;
			}
			struct scan_pending *c = &s->pending[s->count];
			*c = (struct scan_pending){ .len = p->len,
						    .expires_at = p->expires_at };
			c->key = strdup(p->key);
			if (p->value != NULL) {
				c->value = malloc(p->len + 1);
				if (c->value != NULL)
					memcpy(c->value, p->value, p->len);
			}
			if (c->key == NULL || (p->value != NULL && c->value == NULL)) {
				free(c->key);
				free(c->value);
				ret = -ENOMEM;
				break;
			}
			s->count++;
		}
	}
	pthread_mutex_unlock(&o->lock);
	if (s->count > 1)
		qsort(s->pending, s->count, sizeof(*s->pending),
		      scan_pending_cmp);
	return ret;
}

/* Hands cb the overlay entries that sort before key (all of them when key
 * is NULL). */
static int scan_flush_before(struct scan *s, const char *key)
{
	while (s->next < s->count &&
	       (key == NULL || strcmp(s->pending[s->next].key, key) < 0)) {
		const struct scan_pending *p = &s->pending[s->next++];
		if (p->value == NULL ||
		    (p->expires_at != 0 && p->expires_at <= s->now))
			continue;
		int ret = s->cb(s->data, p->key, p->value, p->len,
				p->expires_at);
		if (ret != 0)
			return ret;
	}
	return 0;
}

static int scan_row(void *data, const char *key, const void *value,
		    size_t len, int64_t expires_at)
{
	struct scan *s = data;
	int ret = scan_flush_before(s, key);

	if (ret != 0)
		return ret;
	/* The overlay's newer version of this key wins (it was handed out
	 * by scan_flush_before's next round, or is a delete). */
	if (s->next < s->count && strcmp(s->pending[s->next].key, key) == 0)
		return 0;
	return s->cb(s->data, key, value, len, expires_at);
}

int host_state_scan(struct postino_mod *mod, const char *prefix,
		    int (*cb)(void *data, const char *key, const void *value,
			      size_t len, int64_t expires_at),
		    void *data)
{
	struct scan s = { .now = now_s(), .cb = cb, .data = data };
	int ret;

	if (prefix == NULL || cb == NULL)
		return -EINVAL;
	if (strlen(prefix) > POSTINO_STATE_KEY_MAX)
		return -ENAMETOOLONG;
	if (mod->ctx->store == NULL || mod->ctx->state_overlay == NULL)
		return -ENODEV;
	ret = scan_collect(mod, prefix, &s);
	if (ret == 0)
		ret = store_state_scan(mod->ctx->store, mod->name, prefix, s.now,
				       scan_row, &s);
	if (ret == 0)
		ret = scan_flush_before(&s, NULL);
	for (size_t i = 0; i < s.count; i++) {
		free(s.pending[i].key);
		free(s.pending[i].value);
	}
	free(s.pending);
	return ret;
}
