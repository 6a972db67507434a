/* IMAP dates (RFC 3501 9): "date-time" for APPEND and INTERNALDATE,
 * "date" for SEARCH. Proleptic Gregorian calendar, no time-zone
 * database: zones are the numeric offsets written in the text. */
#ifndef IMAP_DATE_H
#define IMAP_DATE_H

#include <stddef.h>
#include <stdint.h>

/* "dd-Mon-yyyy hh:mm:ss +zzzz" without the quotes (the parser removed
 * them); the day is 2DIGIT or SP DIGIT, the month any case. 0 with *t_r
 * (unix time) and *tz_min_r (the zone in minutes east of UTC), or
 * -EINVAL for bad syntax or an impossible value (30-Feb, 24:00:00,
 * seconds 60, zone minutes >= 60). */
int imap_parse_datetime(const char *s, size_t len, int64_t *t_r,
			int *tz_min_r);

/* "d-Mon-yyyy" or "dd-Mon-yyyy": 0 with *day_r = days since 1970-01-01,
 * or -EINVAL. */
int imap_parse_date(const char *s, size_t len, int64_t *day_r);

/* Days since 1970-01-01 of a calendar date (no validation). */
int64_t imap_days_from_civil(int64_t year, unsigned month, unsigned day);

/* The calendar day (days since 1970-01-01) of unix time t seen in the
 * zone tz_min minutes east of UTC. */
int64_t imap_day_of(int64_t t, int tz_min);

/* "\"dd-Mon-yyyy hh:mm:ss +0000\"" including the quotes, in UTC. */
#define IMAP_INTERNALDATE_SIZE 29 /* 28 characters and the NUL */
/* Writes the quoted INTERNALDATE of t to buf; 0, or -ERANGE when the
 * year is outside 0..9999. */
int imap_format_internaldate(int64_t t, char buf[IMAP_INTERNALDATE_SIZE]);

#endif
