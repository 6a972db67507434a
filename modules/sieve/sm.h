/* sieve.so's shared types. One struct sm per worker instance; everything
 * here runs on that worker's loop thread except the work() functions,
 * which touch only their own job and the engine. */
#ifndef SM_H
#define SM_H

#include <stddef.h>
#include <stdint.h>

#include <postino/plugin.h>

#include "engine/sieve.h"
#include "sieve_service.h"

/* The account whose scripts `include :global` reads. */
#define SM_GLOBAL ":global"
/* State values are chunked: at most this many per stored script or
 * compiled program (2 MiB). */
#define SM_CHUNKS_MAX 32

struct sm_vacation_pending;

struct sm {
	postino_mod *mod;
	const struct postino_host *host;
	struct sieve_limits limits;     /* max_script_size from the config */
	unsigned max_scripts;
	unsigned redirects_per_hour;
	struct sieve_service service;
	/* Vacation replies submitted and not yet committed: their record
	 * is not readable before, and a second message must not reply. */
	struct sm_vacation_pending *pending;
};

/* ---- sm_store.c: scripts in the state service --------------------------- */

/* One script of an account's index. */
struct sm_entry {
	char name[513];
	char hash[65];     /* SHA-256 of the text, hex */
	int active;
};

struct sm_index {
	struct sm_entry *entries;
	size_t count;
};

/* account's index (its scripts in name order). 0 (an empty index when
 * there is none) or a negative errno. */
int sm_index_read(struct sm *sm, const char *account, struct sm_index *index);
void sm_index_free(struct sm_index *index);
const struct sm_entry *sm_index_find(const struct sm_index *index,
				     const char *name);

/* A chunked value: the text of a script or a compiled program, stored
 * under kind ("src", "bin"), account and the text's hash. */
int sm_blob_read(struct sm *sm, const char *kind, const char *account,
		 const char *hash, char **data_r, size_t *len_r);

/* Writes in flight: done(data, status) once every write has committed
 * (status: the first failure, or 0). */
struct sm_writes;
struct sm_writes *sm_writes_new(struct sm *sm,
				void (*done)(void *data, int status),
				void *data);
void sm_blob_write(struct sm_writes *w, const char *kind,
		   const char *account, const char *hash, const void *data,
		   size_t len);
void sm_blob_delete(struct sm_writes *w, const char *kind,
		    const char *account, const char *hash);
/* Ends the batch: done follows once the writes committed. */
void sm_writes_end(struct sm_writes *w);

/* Changes account's index atomically: edit(ctx, index) edits it in
 * memory (0 to store it, < 0 to leave it and fail with that). The
 * writes commit through w. Returns edit's result. */
int sm_index_update(struct sm_writes *w, const char *account,
		    int (*edit)(void *ctx, struct sm_index *index),
		    void *ctx);

/* Hex SHA-256 of data. */
void sm_hash(const void *data, size_t len, char hash_r[65]);

/* ---- sm_scripts.c: the service's operations ----------------------------- */

/* A compile done off the loop, or on the calling thread (the CLI). */
struct sm_compiled {
	int status;                     /* 0, -EINVAL, -EFBIG, -ENOMEM */
	char error[SIEVE_SERVICE_ERROR_MAX];
	void *program;                  /* saved program bytes */
	size_t program_len;
};

void sm_compile(struct sm *sm, const char *text, size_t len,
		struct sm_compiled *out);
/* Stores a compiled script: text, program, index; done when durable. */
int sm_script_store(struct sm *sm, const char *account, const char *name,
		    const char *text, size_t len,
		    const struct sm_compiled *compiled,
		    void (*done)(void *data, int status), void *data);
void sm_service_init(struct sm *sm);

/* ---- sm_deliver.c: the DELIVERY hook ------------------------------------- */

enum postino_verdict sm_deliver_hook(postino_hook_call *call,
				     const struct postino_hook_event *ev,
				     void *data);

/* ---- sm_vacation.c ---------------------------------------------------------- */

/* Sends the reply of vac (already found due by the engine) unless one
 * went to this sender within the period. */
void sm_vacation_send(struct sm *sm, const char *account,
		      const char *recipient, const struct sieve_vacation *vac,
		      const char *session_id);
void sm_vacation_fini(struct sm *sm);

/* ---- sm_admin.c: postino sieve ... ------------------------------------------ */

int sm_admin_register(struct sm *sm);

#endif
