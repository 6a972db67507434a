/* Shared helpers for the store unit tests: a per-test state directory and
 * loop, synchronous wrappers around store_submit, and direct SQL reads of
 * the database file so tests check what is really stored. */
#ifndef POSTINO_TEST_STORE_UTIL_H
#define POSTINO_TEST_STORE_UTIL_H

#include <check.h>
#include <limits.h>
#include <stdint.h>
#include <uv.h>

#include "store/store.h"

struct fixture {
	char dir[PATH_MAX];
	uv_loop_t loop;
	struct store *store;
	enum store_mode mode;
};

/* Unchecked fixture (runs in Check's parent): one base directory for the
 * whole run, removed at the end even when a test crashed. */
void tu_base_setup(void);
void tu_base_teardown(void);
void tu_add_fixture(TCase *tc);

/* A fresh state dir and loop, and the store opened in mode (created). */
void fx_open(struct fixture *fx, enum store_mode mode);
/* Reopens the store in the same dir (after fx_store_close). */
void fx_store_reopen(struct fixture *fx, enum store_mode mode);
void fx_store_close(struct fixture *fx);
/* Closes the store, runs the loop dry, asserts uv_loop_close() == 0. */
void fx_close(struct fixture *fx);
/* Path of a file in the state dir, into out. */
void fx_path(const struct fixture *fx, const char *name, char *out,
	     size_t size);

/* Submits and runs the loop until done ran; returns the job's status. */
int fx_run(struct fixture *fx, store_job_fn *job, void *data);

int t_domain_add(struct fixture *fx, const char *domain);
int t_domain_del(struct fixture *fx, const char *domain);
int t_account_add(struct fixture *fx, const char *address, const char *hash,
		  int64_t *id_r);
int t_account_del(struct fixture *fx, const char *address);
int t_account_set(struct fixture *fx, const char *address,
		  const char *secondary, const char *lang, int disabled);
int t_set_password(struct fixture *fx, const char *address, const char *hash,
		   int64_t now_s, unsigned keep);
int t_alias_add(struct fixture *fx, const char *source, const char *target);
int t_alias_del(struct fixture *fx, const char *source, const char *target);
int t_blob_put(struct fixture *fx, const char *data, int64_t *id_r);
int t_append(struct fixture *fx, int64_t mailbox, int64_t blob,
	     uint32_t *uid_r);
/* Puts data as a blob and appends it in one job. */
int t_deliver(struct fixture *fx, int64_t mailbox, const char *data,
	      uint32_t *uid_r);
int t_expunge(struct fixture *fx, int64_t mailbox, uint32_t uid);
int t_state_put(struct fixture *fx, const char *module, const char *key,
		const char *value, int64_t expires_at);
int t_state_del(struct fixture *fx, const char *module, const char *key);
int t_state_prune(struct fixture *fx, int64_t now_s);

/* The mailbox id of address's mailbox name (asserts it exists). */
int64_t t_mailbox_id(struct fixture *fx, const char *address,
		     const char *name);

/* One integer from a query on a separate connection to the db file at
 * path (a state dir's postino.db or a backup). */
int64_t sql_int(const char *db_path, const char *sql);
/* Same for a text result, copied into out. */
void sql_text(const char *db_path, const char *sql, char *out, size_t size);
/* Runs a statement on a separate read-write connection. */
void sql_exec(const char *db_path, const char *sql);
void fx_db_path(const struct fixture *fx, char *out, size_t size);

/* The suites test_store runs. */
Suite *suite_schema(void);
Suite *suite_accounts(void);
Suite *suite_messages(void);
Suite *suite_state(void);
Suite *suite_writer(void);
Suite *suite_backup(void);
Suite *suite_quota(void);

/* Looks like a yescrypt hash to the store, which only checks the form. */
#define FAKE_HASH "$y$j9T$fakefakefakefakefake$fakefakefakefakefakefakefake"

#endif
