/* The action list a script builds (RFC 5228 2.10): duplicates merged,
 * the implicit keep tracked, incompatible actions (RFC 5429 2.1, RFC 5230
 * 4.7) and the action and redirect limits refused. Nothing is performed:
 * sv_res_finish hands the list to the caller as a sieve_result. */
#ifndef SV_RESULT_H
#define SV_RESULT_H

#include "sv.h"

struct sv_res {
	struct sv_result_impl *impl;   /* the result and its arena */
	const struct sieve_limits *lim;
	struct sieve_action *actions;  /* malloc'd while building */
	size_t n, cap;
	bool keep_canceled;
	unsigned executed;             /* action commands run */
	unsigned redirects;            /* distinct redirect addresses */
};

int sv_res_init(struct sv_res *res, const struct sieve_limits *lim);
void sv_res_free(struct sv_res *res);
/* Strings and arrays the result keeps (its arena). NULL on -ENOMEM. */
char *sv_res_strdup(struct sv_res *res, const char *s, size_t len);
void *sv_res_alloc(struct sv_res *res, size_t size);
/* Flags "a b c" (normalized, see sv_flags.h) as the result's array. */
int sv_res_flags(struct sv_res *res, const char *flags, size_t len,
		 const char *const **flags_r, size_t *n_r);

/* The why_r of the two limits (the caller names the limit's value). */
extern const char sv_why_actions[];
extern const char sv_why_redirects[];

/* Each adds an action: 0; -EPERM with *why_r (static text) when a limit
 * or an incompatibility forbids it (a runtime error); -ENOMEM. */
int sv_res_keep(struct sv_res *res, unsigned line, const char *flags,
		size_t flags_len, const char **why_r);
int sv_res_fileinto(struct sv_res *res, unsigned line, const char *mailbox,
		    size_t len, const char *flags, size_t flags_len, bool copy,
		    bool create, const char **why_r);
int sv_res_redirect(struct sv_res *res, unsigned line, const char *address,
		    size_t len, bool copy, const char **why_r);
int sv_res_discard(struct sv_res *res, unsigned line, const char **why_r);
int sv_res_reject(struct sv_res *res, unsigned line, bool ereject,
		  const char *reason, size_t len, const char **why_r);
int sv_res_vacation(struct sv_res *res, unsigned line,
		    struct sieve_vacation *vac, const char **why_r);

/* The final result: the implicit keep (with the internal flags) unless
 * cancelled. 0 or -ENOMEM; the builder is consumed either way. */
int sv_res_finish(struct sv_res *res, const char *flags, size_t flags_len,
		  struct sieve_result **result_r);
/* After a runtime error: a result that keeps in INBOX and says why. */
int sv_res_failed(struct sv_res *res, const char *error,
		  struct sieve_result **result_r);

#endif
