/* The engine: one pass as of a time over the accounts. For each account it
 * decides the next action from what the state says, takes it, and decides
 * again when the action has committed, until nothing is due:
 *   campaign, password changed since it began   -> end it
 *   campaign step due                           -> that notice, with the
 *        new step recorded in the same commit as the mail (exactly once)
 *   last notice                                 -> generate, hash, notice
 *   forced change due                           -> confirmation recorded
 *        as step FORCED, then the password set, then the campaign ends
 *   no campaign, password older than max_age    -> start one
 *   no campaign, advisory reminder due          -> advisory
 * A crash between any two commits leaves a state from which the next pass
 * carries on: nothing is sent twice, nothing skipped. Every action is
 * asynchronous in the daemon and completes at once in admin commands; the
 * driver loop below serves both without recursion. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "pw.h"

#define PW_ACTIONS_MAX 8 /* per account and pass: a bound, never reached */

struct pw_pass {
	struct pw *p;
	int64_t at;
	char **addresses;
	size_t count, cap, i;
	int waiting;  /* an action's callback is outstanding */
	int driving;  /* inside pass_drive */
	int account_done;
	int actions;  /* taken for the current account */
	int forced_set; /* the forced password was set in this pass */
	int notices;
	struct postino_account acct;
	char key[PW_KEY_MAX];
	char value[PW_VALUE_MAX];
	struct pw_campaign c;
	char password[80];
	void (*done)(void *data, int notices);
	void *data;
};

static void pass_drive(struct pw_pass *s);

static void pass_resume(struct pw_pass *s)
{
	s->waiting = 0;
	pass_drive(s);
}

static int collect(void *data, const char *address)
{
	struct pw_pass *s = data;

	if (s->count == s->cap) {
		size_t cap = s->cap > 0 ? s->cap * 2 : 64;
		char **grown = realloc(s->addresses, cap * sizeof(char *));
		if (grown == NULL)
			return -ENOMEM;
		s->addresses = grown;
		s->cap = cap;
	}
	s->addresses[s->count] = strdup(address);
	if (s->addresses[s->count] == NULL)
		return -ENOMEM;
	s->count++;
	return 0;
}

static void pass_free(struct pw_pass *s)
{
	for (size_t i = 0; i < s->count; i++)
		free(s->addresses[i]);
	free(s->addresses);
	explicit_bzero(s->password, sizeof(s->password));
	free(s);
}

/* ---- notices ------------------------------------------------------------ */

static char *notice_text(struct pw_pass *s, enum pw_kind kind,
			 const char *password, size_t *len_r)
{
	struct pw *p = s->p;
	const char *lang = pw_lang_for(p, s->acct.address, s->acct.lang);
	char deadline[16], force[16], days[24], unique[17];
	struct pw_vars v = { .n = 0 };

	pw_format_date(s->c.start + p->schedule.deadline, deadline,
		       sizeof(deadline));
	pw_format_date(s->c.start + p->schedule.offset[PW_STEP_FORCED], force,
		       sizeof(force));
	snprintf(days, sizeof(days), "%" PRId64, p->schedule.deadline / 86400);
	if (pw_random_text(unique, 16) < 0)
		return NULL;
	pw_vars_add(&v, "address", s->acct.address);
	pw_vars_add(&v, "deadline_date", deadline);
	pw_vars_add(&v, "deadline_days", days);
	pw_vars_add(&v, "force_date", force);
	pw_vars_add(&v, "hostname", p->host->core->hostname(p->mod));
	if (password != NULL)
		pw_vars_add(&v, "password", password);
	struct pw_head h = {
		.from = p->from, .from_name = p->from_name,
		.to = s->acct.address, .hostname = p->host->core->hostname(p->mod),
		.kind = pw_kind_name(kind), .unique = unique, .date = s->at,
	};
	return pw_notice_build(&p->templates.t[pw_lang_index(lang)][kind], &h,
			       &v, len_r);
}

static void delivered(void *data, int status)
{
	struct pw_pass *s = data;

	if (status < 0) {
		s->p->host->core->log(s->p->mod, POSTINO_LOG_ERROR, NULL,
				"notice to %s not delivered: %s",
				s->acct.address, strerror(-status));
		s->account_done = 1;
	} else {
		s->notices++;
	}
	pass_resume(s);
}

/* Sends kind to the account (and its secondary when configured), with the
 * campaign recorded at `step` in the same commit. */
static int send_step(struct pw_pass *s, enum pw_kind kind, int step,
		     const char *password)
{
	struct pw *p = s->p;
	struct pw_campaign next = s->c;
	size_t len = 0;

	next.step = step;
	if (pw_campaign_format(&next, s->value, sizeof(s->value)) < 0)
		return -ENOSPC;
	char *text = notice_text(s, kind, password, &len);
	if (text == NULL)
		return -ENOMEM;
	const char *extra = p->copy_to_secondary && s->acct.secondary[0]
				    ? s->acct.secondary : NULL;
	s->waiting = 1;
	int ret = pw_deliver(p, s->acct.address, extra, text, len, s->key,
			     s->value, 0, delivered, s);
	explicit_bzero(text, len);
	free(text);
	if (ret < 0)
		s->waiting = 0;
	else
		p->host->core->log(p->mod, POSTINO_LOG_INFO, NULL,
			     "campaign %s: %s sent (step %d)", s->acct.address,
			     pw_kind_name(kind), step);
	return ret;
}

/* ---- actions ------------------------------------------------------------ */

static void generated_hashed(void *data, int status, const char *hash)
{
	struct pw_pass *s = data;
	struct pw *p = s->p;
	int ret = status;

	if (ret == 0) {
		snprintf(s->c.hash, sizeof(s->c.hash), "%s", hash);
		if (p->reveal_password) {
			ret = send_step(s, PW_T_LAST, PW_STEP_LAST,
					s->password);
		} else {
			/* Valid until the deadline the notices gave. */
			int64_t ttl = p->schedule.deadline -
				      p->schedule.offset[PW_STEP_LAST];
			int r = pw_token_issue(p, s->acct.address, s->at, ttl, NULL,
					       NULL, NULL);
			if (r < 0)
				p->host->core->log(p->mod, POSTINO_LOG_WARNING, NULL,
					     "campaign %s: no reset token: %s",
					     s->acct.address, strerror(-r));
			ret = send_step(s, PW_T_LAST_NOREVEAL, PW_STEP_LAST,
					NULL);
		}
	}
	explicit_bzero(s->password, sizeof(s->password));
	if (ret < 0) {
		p->host->core->log(p->mod, POSTINO_LOG_ERROR, NULL,
			     "campaign %s: last notice failed: %s",
			     s->acct.address, strerror(-ret));
		s->account_done = 1;
		pass_resume(s);
	}
}

static int take_last(struct pw_pass *s)
{
	struct pw *p = s->p;

	if (pw_random_text(s->password, (size_t)p->generated_length) < 0)
		return -EIO;
	s->waiting = 1;
	int ret = p->host->account->password_hash(p->mod, s->password, generated_hashed,
					 s);
	if (ret < 0) {
		s->waiting = 0;
		explicit_bzero(s->password, sizeof(s->password));
	}
	return ret;
}

static void forced_set(void *data, int status)
{
	struct pw_pass *s = data;

	if (status < 0) {
		s->p->host->core->log(s->p->mod, POSTINO_LOG_ERROR, NULL,
				"campaign %s: setting the password failed: %s",
				s->acct.address, strerror(-status));
		s->account_done = 1;
	} else {
		s->p->host->core->log(s->p->mod, POSTINO_LOG_INFO, NULL,
				"campaign %s: password replaced",
				s->acct.address);
	}
	s->forced_set = 1;
	pass_resume(s);
}

static void state_written(void *data, int status)
{
	struct pw_pass *s = data;

	if (status < 0 && status != -ENOENT) {
		s->p->host->core->log(s->p->mod, POSTINO_LOG_ERROR, NULL,
				"state of %s not saved: %s", s->acct.address,
				strerror(-status));
		s->account_done = 1;
	}
	pass_resume(s);
}

static int end_campaign(struct pw_pass *s, const char *why)
{
	s->p->host->core->log(s->p->mod, POSTINO_LOG_INFO, NULL,
			"campaign %s ended: %s", s->acct.address, why);
	s->waiting = 1;
	int ret = s->p->host->policy->state_delete(s->p->mod, s->key, state_written,
					   s);
	if (ret < 0)
		s->waiting = 0;
	return ret;
}

static int campaign_action(struct pw_pass *s)
{
	struct pw *p = s->p;

	if (s->c.step == PW_STEP_FORCED) {
		if (s->forced_set || s->acct.password_changed != s->c.base)
			return end_campaign(s, "password replaced");
		s->waiting = 1;
		int ret = p->host->account->password_set_hash(p->mod, s->acct.address,
						     s->c.hash, forced_set, s);
		if (ret < 0)
			s->waiting = 0;
		return ret;
	}
	if (s->acct.password_changed != s->c.base)
		return end_campaign(s, "password changed by the user");
	switch (pw_campaign_next(&s->c, &p->schedule, s->at)) {
	case PW_STEP_NOTICE:
		return send_step(s, PW_T_NOTICE, PW_STEP_NOTICE, NULL);
	case PW_STEP_REMIND1:
		return send_step(s, PW_T_REMINDER, PW_STEP_REMIND1, NULL);
	case PW_STEP_REMIND2:
		return send_step(s, PW_T_REMINDER, PW_STEP_REMIND2, NULL);
	case PW_STEP_LAST:
		return take_last(s);
	case PW_STEP_FORCED:
		return send_step(s, PW_T_FORCED, PW_STEP_FORCED, NULL);
	default:
		s->account_done = 1;
		return 0;
	}
}

static int reminder_action(struct pw_pass *s)
{
	struct pw *p = s->p;
	struct pw_reminder r;
	size_t len = 0;

	snprintf(s->key, sizeof(s->key), "r:%s", s->acct.address);
	if (pw_state_string(p, s->key, s->value, sizeof(s->value)) < 0 ||
	    pw_reminder_parse(s->value, &r) < 0 ||
	    !pw_reminder_due(&r, s->acct.password_changed, s->at)) {
		s->account_done = 1;
		return 0;
	}
	r.last = s->at;
	if (pw_reminder_format(&r, s->value, sizeof(s->value)) < 0)
		return -ENOSPC;
	char *text = notice_text(s, PW_T_ADVISORY, NULL, &len);
	if (text == NULL)
		return -ENOMEM;
	s->waiting = 1;
	int ret = pw_deliver(p, s->acct.address, NULL, text, len, s->key,
			     s->value, 0, delivered, s);
	free(text);
	if (ret < 0)
		s->waiting = 0;
	else
		p->host->core->log(p->mod, POSTINO_LOG_INFO, NULL,
			     "advisory reminder sent to %s", s->acct.address);
	return ret;
}

/* One action for the current account, or account_done. */
static void pass_step(struct pw_pass *s)
{
	struct pw *p = s->p;
	const char *address = s->addresses[s->i];
	int ret;

	memset(&s->acct, 0, sizeof(s->acct));
	s->acct.size = sizeof(s->acct);
	if (++s->actions > PW_ACTIONS_MAX ||
	    p->host->account->account_get(p->mod, address, &s->acct) < 0 ||
	    s->acct.disabled) {
		s->account_done = 1;
		return;
	}
	snprintf(s->key, sizeof(s->key), "c:%s", s->acct.address);
	if (pw_state_string(p, s->key, s->value, sizeof(s->value)) == 0 &&
	    pw_campaign_parse(s->value, &s->c) == 0) {
		ret = campaign_action(s);
	} else if (p->max_age > 0 &&
		   s->acct.password_changed + p->max_age <= s->at) {
		s->c = (struct pw_campaign){ .start = s->at,
			.base = s->acct.password_changed, .step = PW_STEP_NONE };
		pw_campaign_format(&s->c, s->value, sizeof(s->value));
		p->host->core->log(p->mod, POSTINO_LOG_INFO, NULL,
			     "campaign started for %s: password older than "
			     "max_age", s->acct.address);
		s->waiting = 1;
		ret = p->host->policy->state_put(p->mod, s->key, s->value,
					 strlen(s->value), 0, state_written, s);
		if (ret < 0)
			s->waiting = 0;
	} else {
		ret = reminder_action(s);
	}
	if (ret < 0) {
		p->host->core->log(p->mod, POSTINO_LOG_ERROR, NULL,
			     "pass: %s: %s", address, strerror(-ret));
		s->account_done = 1;
	}
}

static void pass_drive(struct pw_pass *s)
{
	if (s->driving)
		return; /* a callback inside an action: the loop goes on */
	s->driving = 1;
	while (!s->waiting) {
		if (s->account_done) {
			s->account_done = 0;
			s->actions = 0;
			s->forced_set = 0;
			s->i++;
		}
		if (s->i >= s->count) {
			struct pw *p = s->p;
			void (*done)(void *, int) = s->done;
			void *data = s->data;
			int notices = s->notices;

			p->pass = NULL;
			pass_free(s);
			if (done != NULL)
				done(data, notices);
			return;
		}
		pass_step(s);
	}
	s->driving = 0;
}

int pw_pass_start(struct pw *p, int64_t at, const char *only,
		  void (*done)(void *data, int notices), void *data)
{
	if (p->pass != NULL)
		return -EBUSY;
	struct pw_pass *s = calloc(1, sizeof(*s));
	int ret;

	if (s == NULL)
		return -ENOMEM;
	s->p = p;
	s->at = at;
	s->done = done;
	s->data = data;
	/* Addresses first: the walk's statement must not be open while the
	 * actions write. */
	if (only != NULL && strchr(only, '@') != NULL)
		ret = collect(s, only);
	else
		ret = p->host->account->account_list(p->mod, only, collect, s);
	if (ret < 0) {
		pass_free(s);
		return ret;
	}
	p->pass = s;
	pass_drive(s);
	return 0;
}

static void timer_pass_done(void *data, int notices)
{
	struct pw *p = data;

	if (notices > 0)
		p->host->core->log(p->mod, POSTINO_LOG_INFO, NULL,
			     "pass done: %d notices", notices);
}

void pw_timer_fire(void *data)
{
	struct pw *p = data;
	int ret = pw_pass_start(p, p->host->core->now_ms() / 1000, NULL,
				timer_pass_done, p);

	if (ret < 0 && ret != -EBUSY)
		p->host->core->log(p->mod, POSTINO_LOG_ERROR, NULL,
			     "pass not started: %s", strerror(-ret));
}
