/* The "pwpolicy" service pwpolicy.so exports (service_export, ABI 1.1):
 * reset tokens, the advisory reminder and the forced-change state, for
 * front-ends that let users manage their own password (http.so's panel).
 * The strength rules are not here: they run as PASSWORD_VALIDATE hooks
 * (host->proto->hooks_run), the same for every front-end.
 *
 *     const struct pwpolicy_service *pw =
 *             host->core->service_import(mod, PWPOLICY_SERVICE_NAME);
 *
 * Every entry takes pw->instance first and runs on the caller's loop
 * thread. Addresses are canonical account addresses (account_get's). */
#ifndef PWPOLICY_SERVICE_H
#define PWPOLICY_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#define PWPOLICY_SERVICE_NAME "pwpolicy"

struct pwpolicy_service {
	size_t size;            /* sizeof(struct pwpolicy_service) */
	void *instance;

	/* Sends a fresh single-use token (valid [pwpolicy] token_ttl; it
	 * replaces any earlier one) to address's secondary address, as the
	 * link link_prefix + TOKEN (the template reset-link.txt). done(data,
	 * 0 or -errno) once the mail is stored or queued (may be NULL).
	 * Returns 0, -ENOENT (no such account), -ENXIO (no secondary
	 * address): then done is not called. */
	int (*reset_request)(void *instance, const char *address,
			     const char *link_prefix,
			     void (*done)(void *data, int status), void *data);
	/* Checks token off the loop: done(data, 1 valid, 0 wrong). Returns
	 * 0, or -ENOENT when address has no live token (none, expired or
	 * spent): done not called. */
	int (*reset_check)(void *instance, const char *address,
			   const char *token,
			   void (*done)(void *data, int status), void *data);
	/* Spends address's token atomically across workers: 1 when this
	 * call spent it (the caller may now set the password), 0 when it was
	 * gone already, or a negative errno. */
	int (*reset_spend)(void *instance, const char *address);
	/* The advisory reminder interval in seconds (0: off). Indexed read. */
	int (*reminder_get)(void *instance, const char *address,
			    int64_t *every_r);
	/* Sets it (0: off); done(data, 0 or -errno) once durable (may be
	 * NULL). Returns 0, -EINVAL (negative, or more than 10 years). */
	int (*reminder_set)(void *instance, const char *address, int64_t every,
			    void (*done)(void *data, int status), void *data);
	/* The forced-change campaign: 0 with the date its notices give as
	 * the deadline ("change by") and the date the password is replaced,
	 * or -ENOENT when none runs. Indexed read. */
	int (*change_due)(void *instance, const char *address,
			  int64_t *deadline_r, int64_t *force_r);
};

#endif
