/* Campaign and reminder values: parsing, formatting, what is due. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "pw_campaign.h"

int pw_campaign_parse(const char *text, struct pw_campaign *c_r)
{
	char hash[160];
	int n = 0;

	memset(c_r, 0, sizeof(*c_r));
	if (sscanf(text, "start=%" SCNd64 " base=%" SCNd64 " step=%d hash=%159s%n",
		   &c_r->start, &c_r->base, &c_r->step, hash, &n) != 4 ||
	    text[n] != '\0' || c_r->step < PW_STEP_NONE ||
	    c_r->step > PW_STEP_FORCED)
		return -EINVAL;
	if (strcmp(hash, "-") != 0)
		memcpy(c_r->hash, hash, sizeof(c_r->hash));
	return 0;
}

int pw_campaign_format(const struct pw_campaign *c, char *buf, size_t len)
{
	int n = snprintf(buf, len, "start=%" PRId64 " base=%" PRId64
			 " step=%d hash=%s", c->start, c->base, c->step,
			 c->hash[0] != '\0' ? c->hash : "-");

	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

int pw_campaign_next(const struct pw_campaign *c, const struct pw_schedule *s,
		     int64_t at)
{
	int due = PW_STEP_NONE;

	for (int i = 0; i < PW_STEP_COUNT; i++)
		if (c->start + s->offset[i] <= at)
			due = i;
	if (due <= c->step)
		return PW_STEP_NONE;
	if (due == PW_STEP_FORCED && c->step < PW_STEP_LAST)
		return PW_STEP_LAST;
	return due;
}

int pw_reminder_parse(const char *text, struct pw_reminder *r_r)
{
	int n = 0;

	if (sscanf(text, "every=%" SCNd64 " last=%" SCNd64 "%n", &r_r->every,
		   &r_r->last, &n) != 2 || text[n] != '\0' || r_r->every <= 0)
		return -EINVAL;
	return 0;
}

int pw_reminder_format(const struct pw_reminder *r, char *buf, size_t len)
{
	int n = snprintf(buf, len, "every=%" PRId64 " last=%" PRId64,
			 r->every, r->last);

	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

int pw_reminder_due(const struct pw_reminder *r, int64_t password_changed,
		    int64_t at)
{
	int64_t from = r->last > password_changed ? r->last : password_changed;

	return at >= from + r->every;
}
