/* The "sieve" service (sieve_service.h): compiling, storing, listing,
 * activating, renaming and removing an account's scripts. Compiling a
 * script of the largest size takes milliseconds, so the service does it
 * off the loop (work_submit); the admin CLI, which runs no loop, calls
 * sm_compile itself. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm.h"

/* What a compiled program may take in the store. */
#define SM_PROGRAM_MAX ((size_t)SM_CHUNKS_MAX * POSTINO_STATE_VALUE_MAX - 4)

void sm_compile(struct sm *sm, const char *text, size_t len,
		struct sm_compiled *out)
{
	struct sieve_program *program = NULL;
	struct sieve_error error;

	memset(out, 0, sizeof(*out));
	if (len > sm->limits.max_script_size) {
		out->status = -EFBIG;
		snprintf(out->error, sizeof(out->error),
			 "the script is larger than %zu octets",
			 sm->limits.max_script_size);
		return;
	}
	int ret = sieve_compile(text, len, &sm->limits, &program, &error);
	if (ret == -EINVAL) {
		out->status = -EINVAL;
		sieve_error_format(&error, out->error, sizeof(out->error));
		return;
	}
	if (ret == 0)
		ret = sieve_program_save(program, &out->program,
					 &out->program_len);
	sieve_program_free(&program);
	if (ret == 0 && out->program_len > SM_PROGRAM_MAX) {
		free(out->program);
		out->program = NULL;
		ret = -EFBIG;
		snprintf(out->error, sizeof(out->error),
			 "the script is too complex: compiled, it takes more "
			 "than %zu octets", SM_PROGRAM_MAX);
	}
	out->status = ret;
	if (ret == -ENOMEM)
		snprintf(out->error, sizeof(out->error), "out of memory");
}

/* ---- storing ---------------------------------------------------------------- */

struct put_edit {
	const char *name;
	const char *hash;
	unsigned max_scripts;
	char old_hash[65];      /* the version replaced, "" when new */
	int old_kept;           /* another script has the old text */
	int new_shared;         /* another script already had this text */
};

static int hash_used(const struct sm_index *index, const char *hash,
		     const char *except)
{
	for (size_t i = 0; i < index->count; i++) {
		if (strcmp(index->entries[i].hash, hash) == 0 &&
		    (except == NULL || strcmp(index->entries[i].name, except)))
			return 1;
	}
	return 0;
}

static int edit_put(void *ctx, struct sm_index *index)
{
	struct put_edit *e = ctx;
	struct sm_entry *found = NULL;

	e->new_shared = hash_used(index, e->hash, e->name);
	for (size_t i = 0; i < index->count; i++) {
		if (strcmp(index->entries[i].name, e->name) == 0)
			found = &index->entries[i];
	}
	if (found != NULL) {
		snprintf(e->old_hash, sizeof(e->old_hash), "%s", found->hash);
		e->old_kept = hash_used(index, found->hash, e->name);
		snprintf(found->hash, sizeof(found->hash), "%s", e->hash);
		return 0;
	}
	if (index->count >= e->max_scripts)
		return -EDQUOT;
	struct sm_entry *grown = realloc(index->entries,
		(index->count + 1) * sizeof(*grown));
	if (grown == NULL)
		return -ENOMEM;
	index->entries = grown;
	struct sm_entry *n = &grown[index->count++];
	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", e->name);
	snprintf(n->hash, sizeof(n->hash), "%s", e->hash);
	return 0;
}

int sm_script_store(struct sm *sm, const char *account, const char *name,
		    const char *text, size_t len,
		    const struct sm_compiled *compiled,
		    void (*done)(void *data, int status), void *data)
{
	struct put_edit e = { .name = name, .max_scripts = sm->max_scripts };
	char hash[65];
	struct sm_writes *w = sm_writes_new(sm, done, data);

	if (w == NULL)
		return -ENOMEM;
	sm_hash(text, len, hash);
	e.hash = hash;
	/* The parts first, then the index that names them. */
	sm_blob_write(w, "src", account, hash, text, len);
	sm_blob_write(w, "bin", account, hash, compiled->program,
		      compiled->program_len);
	int ret = sm_index_update(w, account, edit_put, &e);
	if (ret == 0 && e.old_hash[0] != '\0' && !e.old_kept &&
	    strcmp(e.old_hash, hash) != 0) {
		sm_blob_delete(w, "src", account, e.old_hash);
		sm_blob_delete(w, "bin", account, e.old_hash);
	}
	if (ret < 0 && !e.new_shared) {
		/* Refused (too many scripts meanwhile): nothing names them. */
		sm_blob_delete(w, "src", account, hash);
		sm_blob_delete(w, "bin", account, hash);
	}
	sm_writes_end(w);
	return 0;
}

/* ---- the service's entries ------------------------------------------------- */

static const char *svc_capabilities(void *instance)
{
	(void)instance;
	return sieve_capabilities();
}

static unsigned svc_max_redirects(void *instance)
{
	struct sm *sm = instance;

	return sm->limits.max_redirects;
}

static size_t svc_max_script_size(void *instance)
{
	struct sm *sm = instance;

	return sm->limits.max_script_size;
}

static int name_ok(const char *name)
{
	return name != NULL && sieve_script_name_valid(name, strlen(name));
}

static int svc_havespace(void *instance, const char *account,
			 const char *name, uint64_t size)
{
	struct sm *sm = instance;
	struct sm_index index;

	if (!name_ok(name))
		return -EINVAL;
	if (size > sm->limits.max_script_size)
		return -EFBIG;
	int ret = sm_index_read(sm, account, &index);
	if (ret == 0 && sm_index_find(&index, name) == NULL &&
	    index.count >= sm->max_scripts)
		ret = -EDQUOT;
	sm_index_free(&index);
	return ret;
}

/* A compile (and for put, the store after it). */
struct compile_job {
	struct sm *sm;
	char *account;          /* NULL: only check */
	char *name;
	char *text;
	size_t len;
	struct sm_compiled compiled;
	void (*done)(void *data, int status, const char *error);
	void *data;
};

static void compile_job_free(struct compile_job *job)
{
	free(job->account);
	free(job->name);
	free(job->text);
	free(job->compiled.program);
	free(job);
}

static void compile_work(void *data)
{
	struct compile_job *job = data;

	sm_compile(job->sm, job->text, job->len, &job->compiled);
}

static void stored(void *data, int status)
{
	struct compile_job *job = data;

	job->done(job->data, status, status == -EDQUOT
				     ? "too many scripts" : NULL);
	compile_job_free(job);
}

static void compile_done(void *data, int status)
{
	struct compile_job *job = data;

	if (status == 0)
		status = job->compiled.status;
	if (status < 0 || job->account == NULL) {
		job->done(job->data, status, job->compiled.error[0] != '\0'
					     ? job->compiled.error : NULL);
		compile_job_free(job);
		return;
	}
	if (sm_script_store(job->sm, job->account, job->name, job->text,
			    job->len, &job->compiled, stored, job) < 0) {
		job->done(job->data, -ENOMEM, NULL);
		compile_job_free(job);
	}
}

static int compile_submit(struct sm *sm, const char *account,
			  const char *name, const char *text, size_t len,
			  void (*done)(void *data, int status,
				       const char *error),
			  void *data)
{
	struct compile_job *job = calloc(1, sizeof(*job));

	if (job == NULL || done == NULL || (text == NULL && len > 0)) {
		free(job);
		return done == NULL ? -EINVAL : -ENOMEM;
	}
	job->sm = sm;
	job->done = done;
	job->data = data;
	job->len = len;
	job->text = malloc(len + 1);
	job->account = account != NULL ? strdup(account) : NULL;
	job->name = name != NULL ? strdup(name) : NULL;
	if (job->text == NULL || (account != NULL && job->account == NULL) ||
	    (name != NULL && job->name == NULL)) {
		compile_job_free(job);
		return -ENOMEM;
	}
	if (len > 0)
		memcpy(job->text, text, len);
	job->text[len] = '\0';
	int ret = sm->host->core->work_submit(sm->mod, compile_work,
					      compile_done, job);
	if (ret < 0)
		compile_job_free(job);
	return ret;
}

static int svc_check(void *instance, const char *text, size_t len,
		     void (*done)(void *data, int status, const char *error),
		     void *data)
{
	return compile_submit(instance, NULL, NULL, text, len, done, data);
}

static int svc_put(void *instance, const char *account, const char *name,
		   const char *text, size_t len,
		   void (*done)(void *data, int status, const char *error),
		   void *data)
{
	int ret = account != NULL ? svc_havespace(instance, account, name,
						  len)
				  : -EINVAL;

	return ret < 0 ? ret : compile_submit(instance, account, name, text,
					      len, done, data);
}

static int svc_list(void *instance, const char *account,
		    void (*entry)(void *data, const char *name, int active),
		    void *data)
{
	struct sm_index index;
	int ret = sm_index_read(instance, account, &index);

	for (size_t i = 0; ret == 0 && i < index.count; i++)
		entry(data, index.entries[i].name, index.entries[i].active);
	sm_index_free(&index);
	return ret;
}

static int svc_get(void *instance, const char *account, const char *name,
		   char **text_r, size_t *len_r)
{
	struct sm_index index;
	int ret = sm_index_read(instance, account, &index);
	const struct sm_entry *e = ret == 0 && name != NULL
					   ? sm_index_find(&index, name) : NULL;

	if (ret == 0 && e == NULL)
		ret = -ENOENT;
	if (ret == 0)
		ret = sm_blob_read(instance, "src", account, e->hash, text_r,
				   len_r);
	sm_index_free(&index);
	return ret;
}

/* Writes that need only the index. */
static int index_change(struct sm *sm, const char *account,
			int (*edit)(void *ctx, struct sm_index *index),
			void *ctx, void (*done)(void *data, int status),
			void *data)
{
	struct sm_writes *w = sm_writes_new(sm, done, data);

	if (w == NULL)
		return -ENOMEM;
	sm_index_update(w, account, edit, ctx);
	sm_writes_end(w);
	return 0;
}

static int edit_activate(void *ctx, struct sm_index *index)
{
	const char *name = ctx;
	int found = name == NULL;

	for (size_t i = 0; i < index->count; i++) {
		struct sm_entry *e = &index->entries[i];
		e->active = name != NULL && strcmp(e->name, name) == 0;
		found |= e->active;
	}
	return found ? 0 : -ENOENT;
}

static int svc_activate(void *instance, const char *account, const char *name,
			void (*done)(void *data, int status), void *data)
{
	struct sm_index index;
	int ret = sm_index_read(instance, account, &index);

	if (ret == 0 && name != NULL && sm_index_find(&index, name) == NULL)
		ret = -ENOENT;
	sm_index_free(&index);
	return ret < 0 ? ret : index_change(instance, account, edit_activate,
					    (void *)name, done, data);
}

struct remove_edit {
	const char *name;
	char hash[65];
	int kept;
};

static int edit_remove(void *ctx, struct sm_index *index)
{
	struct remove_edit *e = ctx;

	for (size_t i = 0; i < index->count; i++) {
		struct sm_entry *entry = &index->entries[i];
		if (strcmp(entry->name, e->name) != 0)
			continue;
		if (entry->active)
			return -EBUSY;
		snprintf(e->hash, sizeof(e->hash), "%s", entry->hash);
		*entry = index->entries[--index->count];
		e->kept = hash_used(index, e->hash, NULL);
		return 0;
	}
	return -ENOENT;
}

static int svc_remove(void *instance, const char *account, const char *name,
		      void (*done)(void *data, int status), void *data)
{
	struct sm *sm = instance;
	struct remove_edit e = { .name = name };
	struct sm_index index;
	int ret = sm_index_read(sm, account, &index);
	const struct sm_entry *found = ret == 0 && name != NULL
					       ? sm_index_find(&index, name)
					       : NULL;

	if (ret == 0 && found == NULL)
		ret = -ENOENT;
	else if (ret == 0 && found->active)
		ret = -EBUSY;
	sm_index_free(&index);
	if (ret < 0)
		return ret;
	struct sm_writes *w = sm_writes_new(sm, done, data);
	if (w == NULL)
		return -ENOMEM;
	if (sm_index_update(w, account, edit_remove, &e) == 0 && !e.kept) {
		sm_blob_delete(w, "src", account, e.hash);
		sm_blob_delete(w, "bin", account, e.hash);
	}
	sm_writes_end(w);
	return 0;
}

struct rename_edit {
	const char *from, *to;
};

static int edit_rename(void *ctx, struct sm_index *index)
{
	struct rename_edit *e = ctx;
	struct sm_entry *found = NULL;

	for (size_t i = 0; i < index->count; i++) {
		if (strcmp(index->entries[i].name, e->to) == 0)
			return -EEXIST;
		if (strcmp(index->entries[i].name, e->from) == 0)
			found = &index->entries[i];
	}
	if (found == NULL)
		return -ENOENT;
	/* Texts are stored under their hash: a rename is the index alone. */
	snprintf(found->name, sizeof(found->name), "%s", e->to);
	return 0;
}

static int svc_rename(void *instance, const char *account, const char *from,
		      const char *to, void (*done)(void *data, int status),
		      void *data)
{
	struct rename_edit e = { from, to };
	struct sm_index index;

	if (!name_ok(to) || from == NULL)
		return -EINVAL;
	int ret = sm_index_read(instance, account, &index);
	if (ret == 0 && sm_index_find(&index, from) == NULL)
		ret = -ENOENT;
	else if (ret == 0 && sm_index_find(&index, to) != NULL)
		ret = -EEXIST;
	sm_index_free(&index);
	return ret < 0 ? ret : index_change(instance, account, edit_rename, &e,
					    done, data);
}

void sm_service_init(struct sm *sm)
{
	sm->service = (struct sieve_service){
		.size = sizeof(struct sieve_service),
		.instance = sm,
		.capabilities = svc_capabilities,
		.max_redirects = svc_max_redirects,
		.max_script_size = svc_max_script_size,
		.havespace = svc_havespace,
		.check = svc_check,
		.put = svc_put,
		.list = svc_list,
		.get = svc_get,
		.activate = svc_activate,
		.remove = svc_remove,
		.rename = svc_rename,
	};
}
