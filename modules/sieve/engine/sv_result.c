#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sv_flags.h"
#include "sv_result.h"

const char sv_why_actions[] = "too many actions";
const char sv_why_redirects[] = "too many redirects";

struct sv_result_impl {
	struct sieve_result pub;
	struct sv_arena arena;
};

int sv_res_init(struct sv_res *res, const struct sieve_limits *lim)
{
	memset(res, 0, sizeof(*res));
	res->lim = lim;
	res->impl = calloc(1, sizeof(*res->impl));
	if (res->impl == NULL)
		return -ENOMEM;
	/* Strings copied from the script and the message: bounded by the
	 * action limit times the variable and header sizes. */
	sv_arena_init(&res->impl->arena, lim->max_memory);
	return 0;
}

void sv_res_free(struct sv_res *res)
{
	if (res->impl != NULL) {
		sv_arena_free(&res->impl->arena);
		free(res->impl);
	}
	free(res->actions);
	memset(res, 0, sizeof(*res));
}

char *sv_res_strdup(struct sv_res *res, const char *s, size_t len)
{
	return sv_arena_strndup(&res->impl->arena, s, len);
}

void *sv_res_alloc(struct sv_res *res, size_t size)
{
	void *p = sv_arena_alloc(&res->impl->arena, size ? size : 1);

	if (p != NULL)
		memset(p, 0, size);
	return p;
}

int sv_res_flags(struct sv_res *res, const char *flags, size_t len,
		 const char *const **flags_r, size_t *n_r)
{
	struct sv_val f;
	size_t pos = 0, n = 0;

	while (sv_flags_next(flags, len, &pos, &f))
		n++;
	const char **arr = sv_res_alloc(res, (n + 1) * sizeof(*arr));
	if (arr == NULL)
		return -ENOMEM;
	pos = 0;
	for (size_t i = 0; i < n && sv_flags_next(flags, len, &pos, &f); i++) {
		arr[i] = sv_res_strdup(res, f.s, f.len);
		if (arr[i] == NULL)
			return -ENOMEM;
	}
	*flags_r = arr;
	*n_r = n;
	return 0;
}

static bool sv_is_inbox(const char *s, size_t len)
{
	return sv_eq_ci(s, len, "INBOX");
}

static int sv_res_count(struct sv_res *res, const char **why_r)
{
	if (++res->executed > res->lim->max_actions) {
		*why_r = sv_why_actions;
		return -EPERM;
	}
	return 0;
}

/* RFC 5429 2.1: reject refuses the message, so it cannot go with
 * anything that delivers or replies; nor can two vacations run
 * (RFC 5230 4.7: one response per message). */
static int sv_res_compatible(struct sv_res *res, enum sieve_action_type t,
			     const char **why_r)
{
	bool rejecting = t == SIEVE_ACTION_REJECT ||
			 t == SIEVE_ACTION_EREJECT;

	for (size_t i = 0; i < res->n; i++) {
		enum sieve_action_type o = res->actions[i].type;
		bool other_rejects = o == SIEVE_ACTION_REJECT ||
				     o == SIEVE_ACTION_EREJECT;
		if (o == SIEVE_ACTION_DISCARD)
			continue;
		if (rejecting || other_rejects) {
			*why_r = rejecting && other_rejects ?
				"only one reject per message" :
				"reject cannot be combined with other "
				"actions";
			return -EPERM;
		}
		if (t == SIEVE_ACTION_VACATION && o == SIEVE_ACTION_VACATION) {
			*why_r = "only one vacation per message";
			return -EPERM;
		}
	}
	return 0;
}

static struct sieve_action *sv_res_push(struct sv_res *res,
					enum sieve_action_type t,
					unsigned line)
{
	if (res->n == res->cap) {
		size_t cap = res->cap ? res->cap * 2 : 8;
		struct sieve_action *a = realloc(res->actions,
						 cap * sizeof(*a));
		if (a == NULL)
			return NULL;
		res->actions = a;
		res->cap = cap;
	}
	struct sieve_action *a = &res->actions[res->n++];
	memset(a, 0, sizeof(*a));
	a->type = t;
	a->line = line;
	return a;
}

/* Merges flags into an existing delivery's (a union). */
static int sv_res_merge_flags(struct sv_res *res, struct sieve_action *a,
			      const char *flags, size_t len)
{
	struct sv_buf cur, out;
	struct sv_val add = { flags, len };
	int ret = 0;

	if (len == 0)
		return 0;
	sv_buf_init(&cur, SIZE_MAX / 2);
	for (size_t i = 0; i < a->n_flags && ret == 0; i++) {
		if (i > 0)
			ret = sv_buf_addc(&cur, ' ');
		if (ret == 0)
			ret = sv_buf_add(&cur, a->flags[i],
					 strlen(a->flags[i]));
	}
	sv_buf_init(&out, res->lim->max_variable_size);
	if (ret == 0)
		ret = sv_flags_apply(&out, cur.data ? cur.data : "", cur.len,
				     &add, 1, SV_FLAGS_ADD);
	if (ret == 0)
		ret = sv_res_flags(res, out.data, out.len, &a->flags,
				   &a->n_flags);
	sv_buf_free(&cur);
	sv_buf_free(&out);
	return ret < 0 ? -ENOMEM : 0;
}

/* Stores in mailbox (KEEP when it is INBOX), once per mailbox. */
static int sv_res_store(struct sv_res *res, enum sieve_action_type t,
			unsigned line, const char *mailbox, size_t len,
			const char *flags, size_t flags_len, bool copy,
			bool create, bool implicit)
{
	for (size_t i = 0; i < res->n; i++) {
		struct sieve_action *a = &res->actions[i];
		if (a->type != SIEVE_ACTION_KEEP &&
		    a->type != SIEVE_ACTION_FILEINTO)
			continue;
		bool same = sv_is_inbox(mailbox, len) ?
			sv_is_inbox(a->mailbox, strlen(a->mailbox)) :
			strlen(a->mailbox) == len &&
			memcmp(a->mailbox, mailbox, len) == 0;
		if (!same)
			continue;
		a->create |= create;
		a->copy &= copy;
		return sv_res_merge_flags(res, a, flags, flags_len);
	}
	struct sieve_action *a = sv_res_push(res, t, line);
	if (a == NULL)
		return -ENOMEM;
	a->mailbox = sv_res_strdup(res, mailbox, len);
	a->copy = copy;
	a->create = create;
	a->implicit = implicit;
	if (a->mailbox == NULL ||
	    sv_res_flags(res, flags, flags_len, &a->flags, &a->n_flags) < 0)
		return -ENOMEM;
	return 0;
}

int sv_res_keep(struct sv_res *res, unsigned line, const char *flags,
		size_t flags_len, const char **why_r)
{
	int ret = sv_res_count(res, why_r);

	if (ret == 0)
		ret = sv_res_compatible(res, SIEVE_ACTION_KEEP, why_r);
	if (ret < 0)
		return ret;
	res->keep_canceled = true;
	return sv_res_store(res, SIEVE_ACTION_KEEP, line, "INBOX", 5, flags,
			    flags_len, false, false, false);
}

int sv_res_fileinto(struct sv_res *res, unsigned line, const char *mailbox,
		    size_t len, const char *flags, size_t flags_len, bool copy,
		    bool create, const char **why_r)
{
	int ret = sv_res_count(res, why_r);

	if (ret == 0)
		ret = sv_res_compatible(res, SIEVE_ACTION_FILEINTO, why_r);
	if (ret < 0)
		return ret;
	if (!copy)
		res->keep_canceled = true;
	enum sieve_action_type t = sv_is_inbox(mailbox, len) ?
		SIEVE_ACTION_KEEP : SIEVE_ACTION_FILEINTO;
	return sv_res_store(res, t, line, t == SIEVE_ACTION_KEEP ? "INBOX" :
			    mailbox, t == SIEVE_ACTION_KEEP ? 5 : len, flags,
			    flags_len, copy, create, false);
}

int sv_res_redirect(struct sv_res *res, unsigned line, const char *address,
		    size_t len, bool copy, const char **why_r)
{
	int ret = sv_res_count(res, why_r);

	if (ret == 0)
		ret = sv_res_compatible(res, SIEVE_ACTION_REDIRECT, why_r);
	if (ret < 0)
		return ret;
	if (!copy)
		res->keep_canceled = true;
	for (size_t i = 0; i < res->n; i++) {
		struct sieve_action *a = &res->actions[i];
		if (a->type == SIEVE_ACTION_REDIRECT &&
		    sv_strcasecmp_len(a->address, strlen(a->address), address,
				      len) == 0) {
			a->copy &= copy;
			return 0;
		}
	}
	if (++res->redirects > res->lim->max_redirects) {
		*why_r = sv_why_redirects;
		return -EPERM;
	}
	struct sieve_action *a = sv_res_push(res, SIEVE_ACTION_REDIRECT, line);
	if (a == NULL)
		return -ENOMEM;
	a->copy = copy;
	a->address = sv_res_strdup(res, address, len);
	return a->address == NULL ? -ENOMEM : 0;
}

int sv_res_discard(struct sv_res *res, unsigned line, const char **why_r)
{
	int ret = sv_res_count(res, why_r);

	if (ret < 0)
		return ret;
	res->keep_canceled = true;
	for (size_t i = 0; i < res->n; i++)
		if (res->actions[i].type == SIEVE_ACTION_DISCARD)
			return 0;
	return sv_res_push(res, SIEVE_ACTION_DISCARD, line) ? 0 : -ENOMEM;
}

int sv_res_reject(struct sv_res *res, unsigned line, bool ereject,
		  const char *reason, size_t len, const char **why_r)
{
	enum sieve_action_type t = ereject ? SIEVE_ACTION_EREJECT :
		SIEVE_ACTION_REJECT;
	int ret = sv_res_count(res, why_r);

	if (ret == 0)
		ret = sv_res_compatible(res, t, why_r);
	if (ret < 0)
		return ret;
	res->keep_canceled = true;
	struct sieve_action *a = sv_res_push(res, t, line);
	if (a == NULL)
		return -ENOMEM;
	a->reason = sv_res_strdup(res, reason, len);
	return a->reason == NULL ? -ENOMEM : 0;
}

int sv_res_vacation(struct sv_res *res, unsigned line,
		    struct sieve_vacation *vac, const char **why_r)
{
	int ret = sv_res_count(res, why_r);

	if (ret == 0)
		ret = sv_res_compatible(res, SIEVE_ACTION_VACATION, why_r);
	if (ret < 0)
		return ret;
	struct sieve_action *a = sv_res_push(res, SIEVE_ACTION_VACATION, line);
	if (a == NULL)
		return -ENOMEM;
	a->vacation = vac;
	return 0;
}

static int sv_res_publish(struct sv_res *res, struct sieve_result **result_r)
{
	struct sieve_action *arr = sv_res_alloc(res, res->n * sizeof(*arr));

	if (arr == NULL)
		return -ENOMEM;
	if (res->n > 0)
		memcpy(arr, res->actions, res->n * sizeof(*arr));
	res->impl->pub.actions = arr;
	res->impl->pub.n_actions = res->n;
	*result_r = &res->impl->pub;
	res->impl = NULL;
	return 0;
}

int sv_res_finish(struct sv_res *res, const char *flags, size_t flags_len,
		  struct sieve_result **result_r)
{
	int ret = 0;

	*result_r = NULL;
	if (!res->keep_canceled) {
		res->impl->pub.implicit_keep = true;
		ret = sv_res_store(res, SIEVE_ACTION_KEEP, 0, "INBOX", 5, flags,
				   flags_len, false, false, true);
	}
	if (ret == 0)
		ret = sv_res_publish(res, result_r);
	sv_res_free(res);
	return ret;
}

int sv_res_failed(struct sv_res *res, const char *error,
		  struct sieve_result **result_r)
{
	int ret;

	*result_r = NULL;
	res->n = 0;
	res->impl->pub.implicit_keep = true;
	res->impl->pub.error = sv_res_strdup(res, error, strlen(error));
	ret = res->impl->pub.error == NULL ? -ENOMEM :
		sv_res_store(res, SIEVE_ACTION_KEEP, 0, "INBOX", 5, "", 0,
			     false, false, true);
	if (ret == 0)
		ret = sv_res_publish(res, result_r);
	sv_res_free(res);
	return ret;
}

void sieve_result_free(struct sieve_result **result)
{
	if (result == NULL || *result == NULL)
		return;
	struct sv_result_impl *impl = (struct sv_result_impl *)*result;
	sv_arena_free(&impl->arena);
	free(impl);
	*result = NULL;
}
