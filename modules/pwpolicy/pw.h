/* pwpolicy.so internals shared by its files (never installed). */
#ifndef PWPOLICY_PW_H
#define PWPOLICY_PW_H

#include <stdint.h>
#include <stdio.h>

#include <postino/plugin.h>
#include <pwquality.h>

#include "pw_campaign.h"
#include "pw_notice.h"

#define PW_ADDRESS_MAX 320
#define PW_KEY_MAX 340
#define PW_VALUE_MAX 512
#define PW_PASSWORD_MAX 1024

struct pw_pass;

struct pw {
	postino_mod *mod;
	const struct postino_host *host;
	pwquality_settings_t *pwq;
	int64_t min_length;
	int64_t min_score;
	int64_t history;
	int64_t max_age;          /* seconds, 0 = off */
	int64_t token_ttl;        /* seconds */
	int64_t generated_length;
	int reveal_password;
	int copy_to_secondary;
	struct pw_schedule schedule;
	char lang[8];             /* default language */
	char from[PW_ADDRESS_MAX];
	const char *from_name;
	struct pw_templates templates;
	postino_timer *timer;
	struct pw_pass *pass;     /* the pass running, or NULL */
	struct pwpolicy_service *service; /* what pw_service_export offers */
};

/* The language for account: its own, its domain's (state "lang:@D"), or
 * the configured default. account may not exist yet (user add). */
const char *pw_lang_for(struct pw *p, const char *address,
			const char *account_lang);

/* A module state value as a NUL-terminated string; -ENOENT when absent. */
int pw_state_string(struct pw *p, const char *key, char *buf, size_t len);

/* Delivers a notice (made with pw_notice_build) to address (the account)
 * and to extra (any address, may be NULL) through msg_deliver_to,
 * committing the state entry (key, value; value NULL deletes) with it.
 * done as msg_deliver's. */
int pw_deliver(struct pw *p, const char *address, const char *extra,
	       const char *text, size_t len, const char *key,
	       const char *value, int64_t expires_at,
	       void (*done)(void *data, int status), void *data);

/* Random characters from an unambiguous alphabet; 0 or -EIO. */
int pw_random_text(char *out, size_t n);

/* Unix seconds from ISO 8601 ("2030-01-02T03:04:05Z" or "2030-01-02"). */
int pw_parse_time(const char *text, int64_t *t_r);
void pw_format_date(int64_t t, char *buf, size_t len);

/* Strength rules (pw_strength.c): 0 when password may be used, else
 * -EPERM with reason (in lang) written. History is checked by the caller
 * through the host. */
int pw_strength_check(struct pw *p, const char *address,
		      const char *password, const char *lang, char *reason,
		      size_t len);
const char *pw_reused_text(const char *lang);

/* The engine (pw_engine.c): one pass as of `at` over every account, or
 * only over `only` (an address) when not NULL. done(data, sent) runs when
 * the pass ends (at once in admin commands). Returns 0, -EBUSY when a pass
 * runs already. */
int pw_pass_start(struct pw *p, int64_t at, const char *only,
		  void (*done)(void *data, int notices), void *data);
void pw_timer_fire(void *data);

/* Reset tokens (pw_reset.c). Sends a fresh one-time token, valid from at
 * for ttl seconds, to address's secondary address; its yescrypt hash
 * replaces any earlier token ("t:<address>"). done(data, 0 or -errno)
 * (may be NULL) runs when the mail is stored or queued: before this
 * returns in admin commands. -ENXIO: no secondary address. */
int pw_token_issue(struct pw *p, const char *address, int64_t at,
		   int64_t ttl, const char *link_prefix,
		   void (*done)(void *data, int status), void *data);
/* The same check off the loop (the daemon): done(data, 1 valid or 0
 * wrong); returns 0, -ENOENT (none or expired: done not called). */
int pw_token_check_async(struct pw *p, const char *address,
			 const char *token, int64_t at,
			 void (*done)(void *data, int status), void *data);
/* Spends address's token atomically: 1 when this call spent it, 0 when
 * it was gone already (another request used it), or a negative errno. */
int pw_token_spend(struct pw *p, const char *address);
/* Checks token for address as of at: 1 valid, 0 wrong, -ENOENT none or
 * expired. The caller spends it (deletes "t:<address>") once used.
 * Admin commands only (the host answers before returning). */
int pw_token_check(struct pw *p, const char *address, const char *token,
		   int64_t at);

/* The "pwpolicy" service (pw_service.c). */
int pw_service_export(struct pw *p);

/* Admin commands (pw_admin.c). */
void pw_admin_register(struct pw *p);

#endif
