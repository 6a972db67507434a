/* The "pwpolicy" service (pwpolicy_service.h): reset tokens, the
 * advisory reminder and the campaign's dates for the panel, over the same
 * state the admin commands and passes use. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pw.h"
#include "pwpolicy_service.h"

static int64_t now_s(struct pw *p)
{
	return p->host->core->now_ms() / 1000;
}

static int svc_reset_request(void *instance, const char *address,
			     const char *link_prefix,
			     void (*done)(void *data, int status), void *data)
{
	struct pw *p = instance;

	if (address == NULL || link_prefix == NULL)
		return -EINVAL;
	return pw_token_issue(p, address, now_s(p), p->token_ttl, link_prefix,
			      done, data);
}

static int svc_reset_check(void *instance, const char *address,
			   const char *token,
			   void (*done)(void *data, int status), void *data)
{
	struct pw *p = instance;

	if (address == NULL || token == NULL || done == NULL)
		return -EINVAL;
	return pw_token_check_async(p, address, token, now_s(p), done, data);
}

static int svc_reset_spend(void *instance, const char *address)
{
	return address != NULL ? pw_token_spend(instance, address) : -EINVAL;
}

static int svc_reminder_get(void *instance, const char *address,
			    int64_t *every_r)
{
	struct pw *p = instance;
	char key[PW_KEY_MAX], value[PW_VALUE_MAX];
	struct pw_reminder r;

	*every_r = 0;
	snprintf(key, sizeof(key), "r:%s", address);
	if (pw_state_string(p, key, value, sizeof(value)) == 0 &&
	    pw_reminder_parse(value, &r) == 0)
		*every_r = r.every;
	return 0;
}

static int svc_reminder_set(void *instance, const char *address,
			    int64_t every,
			    void (*done)(void *data, int status), void *data)
{
	struct pw *p = instance;
	char key[PW_KEY_MAX], value[PW_VALUE_MAX];
	struct pw_reminder r = { .every = every, .last = 0 };

	if (address == NULL || every < 0 || every > 10 * 366 * 86400LL)
		return -EINVAL;
	snprintf(key, sizeof(key), "r:%s", address);
	if (every == 0) {
		int64_t old;
		/* Off and never set: nothing to write. */
		if (svc_reminder_get(p, address, &old) == 0 && old == 0) {
			if (done != NULL)
				done(data, 0);
			return 0;
		}
		return p->host->policy->state_delete(p->mod, key, done, data);
	}
	pw_reminder_format(&r, value, sizeof(value));
	return p->host->policy->state_put(p->mod, key, value, strlen(value), 0,
					  done, data);
}

static int svc_change_due(void *instance, const char *address,
			  int64_t *deadline_r, int64_t *force_r)
{
	struct pw *p = instance;
	char key[PW_KEY_MAX], value[PW_VALUE_MAX];
	struct pw_campaign c;

	snprintf(key, sizeof(key), "c:%s", address);
	if (pw_state_string(p, key, value, sizeof(value)) < 0 ||
	    pw_campaign_parse(value, &c) < 0)
		return -ENOENT;
	*deadline_r = c.start + p->schedule.deadline;
	*force_r = c.start + p->schedule.offset[PW_STEP_FORCED];
	return 0;
}

int pw_service_export(struct pw *p)
{
	if (!POSTINO_HAS(p->host->core, struct postino_host_core,
			 service_export))
		return 0; /* an older server: nobody can import it anyway */
	p->service = calloc(1, sizeof(*p->service));
	if (p->service == NULL)
		return -ENOMEM;
	*p->service = (struct pwpolicy_service){
		.size = sizeof(struct pwpolicy_service),
		.instance = p,
		.reset_request = svc_reset_request,
		.reset_check = svc_reset_check,
		.reset_spend = svc_reset_spend,
		.reminder_get = svc_reminder_get,
		.reminder_set = svc_reminder_set,
		.change_due = svc_change_due,
	};
	return p->host->core->service_export(p->mod, PWPOLICY_SERVICE_NAME,
					     p->service);
}
