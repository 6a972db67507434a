/* Campaign and reminder bookkeeping: pure functions over the values kept
 * in the module's state (unit-tested in t/unit/pwpolicy). */
#ifndef PWPOLICY_PW_CAMPAIGN_H
#define PWPOLICY_PW_CAMPAIGN_H

#include <stddef.h>
#include <stdint.h>

enum pw_step {
	PW_STEP_NONE = -1,    /* started, nothing sent yet */
	PW_STEP_NOTICE = 0,   /* day 0: change within `deadline` */
	PW_STEP_REMIND1 = 1,  /* day 7 */
	PW_STEP_REMIND2 = 2,  /* day 14 */
	PW_STEP_LAST = 3,     /* day 21: announces the generated password */
	PW_STEP_FORCED = 4,   /* day 23: confirmation sent, password set */
	PW_STEP_COUNT = 5,
};

/* Offsets from the campaign's start, in seconds. */
struct pw_schedule {
	int64_t offset[PW_STEP_COUNT];
	int64_t deadline; /* the "change within" the notices state */
};

/* State "c:<address>": "start=T base=T step=N hash=H". base is the
 * account's password_changed when the campaign began: any other value
 * later means the password changed. hash: the generated password's
 * yescrypt hash, from step LAST on ("-" before). */
struct pw_campaign {
	int64_t start;
	int64_t base;
	int step;
	char hash[160];
};

int pw_campaign_parse(const char *text, struct pw_campaign *c_r);
int pw_campaign_format(const struct pw_campaign *c, char *buf, size_t len);
/* The step to take as of at, or PW_STEP_NONE when nothing is due. After
 * downtime only the latest due notice is sent; when the forced change is
 * due and the last notice was never sent, the last notice comes first
 * (the caller then takes the forced step in the same pass). */
int pw_campaign_next(const struct pw_campaign *c, const struct pw_schedule *s,
		     int64_t at);

/* State "r:<address>": "every=S last=T" (last 0: never sent). */
struct pw_reminder {
	int64_t every;
	int64_t last;
};

int pw_reminder_parse(const char *text, struct pw_reminder *r_r);
int pw_reminder_format(const struct pw_reminder *r, char *buf, size_t len);
/* 1 when an advisory is due as of at: `every` after the later of the
 * last password change and the last advisory. */
int pw_reminder_due(const struct pw_reminder *r, int64_t password_changed,
		    int64_t at);

#endif
