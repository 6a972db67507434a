/* Scripts in sieve.so's state namespace.
 *
 *   idx:<account>                  the account's scripts, one line each:
 *                                  "A|-" TAB hash TAB name (A = active)
 *   src:<account>:<hash>:<n>       a script's text, in chunks
 *   bin:<account>:<hash>:<n>       its compiled program, in chunks
 *
 * Texts and programs are stored under the text's SHA-256 and never
 * change: a new version is new keys. The index is the one value that
 * says which scripts exist and which is active, changed with state_update
 * (atomic), so two sessions storing at once, or a crash between writes,
 * never leave a script whose parts disagree (at worst chunks nothing
 * names). Chunk 0 starts with the total length (4 octets, big-endian). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "sm.h"

#define SM_KEY_MAX 1024
#define SM_CHUNK POSTINO_STATE_VALUE_MAX

void sm_hash(const void *data, size_t len, char hash_r[65])
{
	GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);

	g_checksum_update(sum, data, (gssize)len);
	memcpy(hash_r, g_checksum_get_string(sum), 64);
	hash_r[64] = '\0';
	g_checksum_free(sum);
}

/* ---- the index ------------------------------------------------------------ */

static int index_parse(const char *text, size_t len, struct sm_index *index)
{
	index->entries = NULL;
	index->count = 0;
	for (size_t at = 0; at < len;) {
		const char *line = text + at;
		const char *nl = memchr(line, '\n', len - at);
		size_t n = nl != NULL ? (size_t)(nl - line) : len - at;
		at += n + 1;
		/* "A\t" + 64 hex + "\t" + name */
		if (n < 2 + 64 + 1 + 1 || n > 2 + 64 + 1 + 512 ||
		    line[1] != '\t' || line[66] != '\t')
			continue;
		struct sm_entry *grown = realloc(index->entries,
			(index->count + 1) * sizeof(*grown));
		if (grown == NULL) {
			sm_index_free(index);
			return -ENOMEM;
		}
		index->entries = grown;
		struct sm_entry *e = &grown[index->count++];
		e->active = line[0] == 'A';
		memcpy(e->hash, line + 2, 64);
		e->hash[64] = '\0';
		memcpy(e->name, line + 67, n - 67);
		e->name[n - 67] = '\0';
	}
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sm_entry *)a)->name,
		      ((const struct sm_entry *)b)->name);
}

/* The index as text into buf; its length, or -EFBIG. */
static int index_format(struct sm_index *index, char *buf, size_t size)
{
	size_t len = 0;

	qsort(index->entries, index->count, sizeof(*index->entries),
	      entry_cmp);
	for (size_t i = 0; i < index->count; i++) {
		const struct sm_entry *e = &index->entries[i];
		int n = snprintf(buf + len, size - len, "%c\t%s\t%s\n",
				 e->active ? 'A' : '-', e->hash, e->name);
		if (n < 0 || (size_t)n >= size - len)
			return -EFBIG;
		len += (size_t)n;
	}
	return (int)len;
}

static void index_key(const char *account, char *key, size_t size)
{
	snprintf(key, size, "idx:%s", account);
}

int sm_index_read(struct sm *sm, const char *account, struct sm_index *index)
{
	char key[SM_KEY_MAX];
	size_t len;
	char *buf = malloc(POSTINO_STATE_VALUE_MAX);

	index->entries = NULL;
	index->count = 0;
	if (buf == NULL)
		return -ENOMEM;
	index_key(account, key, sizeof(key));
	int ret = sm->host->policy->state_get(sm->mod, key, buf,
					      POSTINO_STATE_VALUE_MAX, &len);
	if (ret == 0)
		ret = index_parse(buf, len < POSTINO_STATE_VALUE_MAX
				  ? len : POSTINO_STATE_VALUE_MAX, index);
	else if (ret == -ENOENT)
		ret = 0;
	free(buf);
	return ret;
}

void sm_index_free(struct sm_index *index)
{
	free(index->entries);
	index->entries = NULL;
	index->count = 0;
}

const struct sm_entry *sm_index_find(const struct sm_index *index,
				     const char *name)
{
	for (size_t i = 0; i < index->count; i++) {
		if (strcmp(index->entries[i].name, name) == 0)
			return &index->entries[i];
	}
	return NULL;
}

/* ---- writes ------------------------------------------------------------------ */

struct sm_writes {
	struct sm *sm;
	unsigned pending;  /* writes in flight, plus one until the end */
	int status;
	void (*done)(void *data, int status);
	void *data;
};

struct sm_writes *sm_writes_new(struct sm *sm,
				void (*done)(void *data, int status),
				void *data)
{
	struct sm_writes *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->sm = sm;
	w->pending = 1;
	w->done = done;
	w->data = data;
	return w;
}

static void writes_done(void *data, int status)
{
	struct sm_writes *w = data;

	if (status < 0 && w->status == 0)
		w->status = status;
	if (--w->pending > 0)
		return;
	if (w->done != NULL)
		w->done(w->data, w->status);
	free(w);
}

static void writes_failed(struct sm_writes *w, int status)
{
	if (w->status == 0)
		w->status = status;
}

void sm_writes_end(struct sm_writes *w)
{
	writes_done(w, 0);
}

static void chunk_key(const char *kind, const char *account, const char *hash,
		      unsigned n, char *key, size_t size)
{
	snprintf(key, size, "%s:%s:%s:%u", kind, account, hash, n);
}

void sm_blob_write(struct sm_writes *w, const char *kind, const char *account,
		   const char *hash, const void *data, size_t len)
{
	const struct postino_host_policy *policy = w->sm->host->policy;
	char *chunk = malloc(SM_CHUNK);
	char key[SM_KEY_MAX];
	size_t at = 0;

	if (chunk == NULL) {
		writes_failed(w, -ENOMEM);
		return;
	}
	for (unsigned n = 0; n == 0 || at < len; n++) {
		size_t head = n == 0 ? 4 : 0;
		size_t piece = len - at < SM_CHUNK - head ? len - at
							  : SM_CHUNK - head;
		if (n == 0) {
			chunk[0] = (char)(len >> 24);
			chunk[1] = (char)(len >> 16);
			chunk[2] = (char)(len >> 8);
			chunk[3] = (char)len;
		}
		memcpy(chunk + head, (const char *)data + at, piece);
		chunk_key(kind, account, hash, n, key, sizeof(key));
		w->pending++;
		int ret = policy->state_put(w->sm->mod, key, chunk,
					    head + piece, 0, writes_done, w);
		if (ret < 0) {
			w->pending--;
			writes_failed(w, ret);
			break;
		}
		at += piece;
	}
	free(chunk);
}

static unsigned chunk_count(size_t len)
{
	if (len <= SM_CHUNK - 4)
		return 1;
	return 1 + (unsigned)((len - (SM_CHUNK - 4) + SM_CHUNK - 1) / SM_CHUNK);
}

/* The total length from chunk 0; -ENOENT when there is none. */
static int blob_length(struct sm *sm, const char *kind, const char *account,
		       const char *hash, size_t *len_r)
{
	unsigned char head[4];
	char key[SM_KEY_MAX];
	size_t len;

	chunk_key(kind, account, hash, 0, key, sizeof(key));
	int ret = sm->host->policy->state_get(sm->mod, key, head, sizeof(head),
					      &len);
	if (ret < 0)
		return ret;
	if (len < 4)
		return -EIO;
	*len_r = (size_t)head[0] << 24 | (size_t)head[1] << 16 |
		 (size_t)head[2] << 8 | head[3];
	return 0;
}

void sm_blob_delete(struct sm_writes *w, const char *kind,
		    const char *account, const char *hash)
{
	char key[SM_KEY_MAX];
	size_t len;

	if (blob_length(w->sm, kind, account, hash, &len) < 0)
		return;
	unsigned count = chunk_count(len);
	for (unsigned n = 0; n < count && n < SM_CHUNKS_MAX; n++) {
		chunk_key(kind, account, hash, n, key, sizeof(key));
		w->pending++;
		if (w->sm->host->policy->state_delete(w->sm->mod, key,
						      writes_done, w) < 0)
			w->pending--;
	}
}

int sm_blob_read(struct sm *sm, const char *kind, const char *account,
		 const char *hash, char **data_r, size_t *len_r)
{
	const struct postino_host_policy *policy = sm->host->policy;
	char key[SM_KEY_MAX];
	size_t total, got;
	int ret = blob_length(sm, kind, account, hash, &total);

	if (ret < 0)
		return ret;
	unsigned count = chunk_count(total);
	if (count > SM_CHUNKS_MAX)
		return -EIO;
	char *chunk = malloc(SM_CHUNK);
	char *data = malloc(total + 1);
	if (chunk == NULL || data == NULL) {
		free(chunk);
		free(data);
		return -ENOMEM;
	}
	size_t at = 0;
	for (unsigned n = 0; ret == 0 && n < count; n++) {
		size_t head = n == 0 ? 4 : 0;
		chunk_key(kind, account, hash, n, key, sizeof(key));
		ret = policy->state_get(sm->mod, key, chunk, SM_CHUNK, &got);
		if (ret == 0 && (got < head || got > SM_CHUNK ||
				 got - head > total - at))
			ret = -EIO;
		if (ret == 0) {
			memcpy(data + at, chunk + head, got - head);
			at += got - head;
		}
	}
	free(chunk);
	if (ret == 0 && at != total)
		ret = -EIO;
	if (ret < 0) {
		free(data);
		return ret == -ENOENT ? -EIO : ret;
	}
	data[total] = '\0';
	*data_r = data;
	*len_r = total;
	return 0;
}

/* ---- the index, changed atomically ------------------------------------- */

struct index_edit {
	int (*edit)(void *ctx, struct sm_index *index);
	void *ctx;
	int result;
};

static int index_update_fn(void *data, const void *old, size_t old_len,
			   void *buf, size_t bufsize, size_t *len_r,
			   int64_t *expires_at_r)
{
	struct index_edit *e = data;
	struct sm_index index;

	(void)expires_at_r;
	e->result = index_parse(old != NULL ? old : "", old != NULL ? old_len
								    : 0,
				&index);
	if (e->result == 0)
		e->result = e->edit(e->ctx, &index);
	int len = e->result == 0 ? index_format(&index, buf, bufsize) : 0;
	sm_index_free(&index);
	if (e->result < 0)
		return 0;
	if (len < 0) {
		e->result = len;
		return 0;
	}
	*len_r = (size_t)len;
	return len == 0 ? -1 : 1;
}

int sm_index_update(struct sm_writes *w, const char *account,
		    int (*edit)(void *ctx, struct sm_index *index), void *ctx)
{
	struct index_edit e = { .edit = edit, .ctx = ctx };
	char key[SM_KEY_MAX];

	index_key(account, key, sizeof(key));
	w->pending++;
	int ret = w->sm->host->policy->state_update(w->sm->mod, key,
						    index_update_fn, &e,
						    writes_done, w);
	/* The host calls done for every decision, even "unchanged", and
	 * none after an error of its own. */
	if (ret < -1) {
		w->pending--;
		if (e.result == 0)
			e.result = ret;
	}
	if (e.result < 0)
		writes_failed(w, e.result);
	return e.result;
}
