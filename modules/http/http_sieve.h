/* The panel's automatic reply and forwarding as a Sieve script: written
 * from the form, read back from the script's own settings line, and
 * recognised as the panel's only while it is exactly what the panel
 * would write (anything edited by hand is the user's, never overwritten
 * without asking). Pure: unit-tested in t/unit/http. */
#ifndef HTTP_SIEVE_H
#define HTTP_SIEVE_H

#include <stdbool.h>
#include <stddef.h>

#include "http_buf.h"

#define PANEL_SCRIPT_NAME "panel"
#define PANEL_FORWARD_MAX 4
#define PANEL_SUBJECT_MAX 200
#define PANEL_TEXT_MAX 4000

struct panel_rules {
	bool vacation;
	char subject[PANEL_SUBJECT_MAX + 1];
	char text[PANEL_TEXT_MAX + 1];  /* line ends as CRLF */
	char start[11];                 /* "YYYY-MM-DD" or "" */
	char end[11];
	char forward[PANEL_FORWARD_MAX][255];
	size_t forward_count;
	bool keep;                      /* forwarding keeps a copy */
};

/* The script for rules; 0 or -E2BIG. */
int panel_script(const struct panel_rules *rules, struct hbuf *out);
/* Reads rules back from a script the panel wrote: 1 when text is
 * exactly what panel_script writes for them (the panel's own), 0 when
 * it is not (written or edited by hand; rules then hold what could be
 * read, or nothing), -ENOMEM. */
int panel_script_read(const char *text, size_t len,
		      struct panel_rules *rules);
/* Fills rules from the form's fields; 0, or -EINVAL with *what_r the
 * text key of the problem. */
struct form;
int panel_rules_from_form(const struct form *f, struct panel_rules *rules,
			  const char **what_r);

#endif
