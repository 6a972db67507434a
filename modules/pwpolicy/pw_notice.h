/* Notice mails from templates: etc/templates/pwpolicy/<lang>/<kind>.txt,
 * a "Subject: ..." line (ASCII), an empty line, the body (UTF-8) with
 * {{name}} placeholders. */
#ifndef PWPOLICY_PW_NOTICE_H
#define PWPOLICY_PW_NOTICE_H

#include <stddef.h>
#include <stdint.h>

enum pw_kind {
	PW_T_NOTICE,        /* day 0 */
	PW_T_REMINDER,      /* days 7 and 14 */
	PW_T_LAST,          /* day 21, with the password */
	PW_T_LAST_NOREVEAL, /* day 21 when reveal_password = no */
	PW_T_FORCED,        /* day 23: the password was changed */
	PW_T_ADVISORY,      /* the periodic reminder */
	PW_T_RESET,         /* a reset token, to the secondary address */
	PW_T_RESET_LINK,    /* the same as a link to a panel's page */
	PW_T_COUNT,
};

#define PW_LANGS 2 /* 0 en, 1 it */

struct pw_template {
	char *subject;
	char *body;
};

struct pw_templates {
	struct pw_template t[PW_LANGS][PW_T_COUNT];
};

int pw_lang_index(const char *lang); /* 1 for "it", else 0 */
const char *pw_kind_name(enum pw_kind kind);

/* Loads every template; -errno with err naming the file and problem. */
int pw_templates_load(struct pw_templates *t, const char *dir, char *err,
		      size_t errlen);
void pw_templates_free(struct pw_templates *t);

struct pw_vars {
	const char *name[12];
	const char *value[12];
	size_t n;
};

void pw_vars_add(struct pw_vars *v, const char *name, const char *value);

struct pw_head {
	const char *from;
	const char *from_name;
	const char *to;
	const char *hostname;
	const char *kind;  /* in the Message-ID */
	const char *unique; /* random, in the Message-ID */
	int64_t date;
};

/* The whole message, CRLF line ends, in a malloc'ed buffer (NULL when out
 * of memory). The caller wipes it when it holds a password. */
char *pw_notice_build(const struct pw_template *t, const struct pw_head *h,
		      const struct pw_vars *v, size_t *len_r);

#endif
