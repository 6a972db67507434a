/* The "sieve" service sieve.so exports (service_export, ABI 1.1): every
 * account's Sieve scripts, for the front-ends that manage them
 * (managesieve.so now, the HTTP panel next). A front-end lists sieve in
 * its descriptor's requires and imports the table in init:
 *
 *     const struct sieve_service *sv =
 *             host->core->service_import(mod, SIEVE_SERVICE_NAME);
 *
 * Every entry takes sv->instance first and runs on the caller's loop
 * thread (the importer's worker, which is the exporter instance's). A
 * script is compiled when it is stored: PUTSCRIPT's syntax errors come
 * from put, never at delivery. Writes are durable when done runs (on the
 * loop; status 0 or a negative errno); they are visible to get and list
 * at once. Accounts are canonical addresses (as conn_set_account gives
 * them). Names are checked with sieve_script_name_valid's rules. */
#ifndef SIEVE_SERVICE_H
#define SIEVE_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#define SIEVE_SERVICE_NAME "sieve"

/* "line 3, column 5: unknown command 'fileinot'" and the like. */
#define SIEVE_SERVICE_ERROR_MAX 300

struct sieve_service {
	size_t size;            /* sizeof(struct sieve_service) */
	void *instance;

	/* The extensions scripts may require, space-separated (ManageSieve's
	 * SIEVE capability); static. */
	const char *(*capabilities)(void *instance);
	/* Distinct redirect addresses one run may use (MAXREDIRECTS). */
	unsigned (*max_redirects)(void *instance);
	/* The largest script accepted ([sieve] max_script_size). */
	size_t (*max_script_size)(void *instance);
	/* Whether account may store a script name of size octets: 0,
	 * -EFBIG (larger than [sieve] max_script_size), -EDQUOT (a new
	 * name past [sieve] max_scripts), -EINVAL (a bad name). An indexed
	 * read. */
	int (*havespace)(void *instance, const char *account, const char *name,
			 uint64_t size);
	/* Compiles text off the loop; done(data, 0 or -EINVAL with error set
	 * (valid during done), -EFBIG, -ENOMEM). */
	int (*check)(void *instance, const char *text, size_t len,
		     void (*done)(void *data, int status, const char *error),
		     void *data);
	/* Compiles text off the loop and stores it as account's script name
	 * (replacing one of that name, the active one included, which stays
	 * active). done as for check, and also -EFBIG, -EDQUOT, -EIO. */
	int (*put)(void *instance, const char *account, const char *name,
		   const char *text, size_t len,
		   void (*done)(void *data, int status, const char *error),
		   void *data);
	/* Calls entry(data, name, active) per script, in name order. 0 or a
	 * negative errno. An indexed read. */
	int (*list)(void *instance, const char *account,
		    void (*entry)(void *data, const char *name, int active),
		    void *data);
	/* The script's text, malloc'd (the caller frees). 0, -ENOENT. A few
	 * indexed reads. */
	int (*get)(void *instance, const char *account, const char *name,
		   char **text_r, size_t *len_r);
	/* Makes name the active script (NULL: none is). 0 (done follows),
	 * -ENOENT (no such script: done not called). */
	int (*activate)(void *instance, const char *account, const char *name,
			void (*done)(void *data, int status), void *data);
	/* 0 (done follows), -ENOENT, -EBUSY (it is the active one). */
	int (*remove)(void *instance, const char *account, const char *name,
		      void (*done)(void *data, int status), void *data);
	/* 0 (done follows), -ENOENT, -EEXIST (to is taken). The active
	 * script stays active under its new name. */
	int (*rename)(void *instance, const char *account, const char *from,
		      const char *to, void (*done)(void *data, int status),
		      void *data);
};

#endif
