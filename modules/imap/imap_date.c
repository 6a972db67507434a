/* IMAP dates; see imap_date.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <strings.h>

#include "imap_date.h"

static const char months[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

int64_t imap_days_from_civil(int64_t year, unsigned month, unsigned day)
{
	/* Counts from 1 March so that the leap day ends the year; eras
	 * of 400 years repeat exactly (146097 days). */
	int64_t y = year - (month <= 2);
	int64_t era = floor_div(y, 400);
	int64_t yoe = y - era * 400;
	int64_t mp = (month + 9) % 12;
	int64_t doy = (153 * mp + 2) / 5 + day - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *year_r, unsigned *month_r,
			    unsigned *day_r)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = floor_div(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*day_r = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*month_r = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*year_r = yoe + era * 400 + (*month_r <= 2);
}

int64_t imap_day_of(int64_t t, int tz_min)
{
	return floor_div(t + (int64_t)tz_min * 60, 86400);
}

static bool leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned month_days(int64_t year, unsigned month)
{
	static const unsigned char days[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31,
	};

	return month == 2 && leap(year) ? 29 : days[month - 1];
}

/* n digits at s as a number, or -1. */
static int digits(const char *s, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* "Mon-yyyy" at s (8 bytes) after the day; validates the day. */
static int parse_month_year(const char *s, int day, int64_t *days_r)
{
	int month = 0, year;

	for (int m = 0; m < 12; m++) {
		if (strncasecmp(s, months[m], 3) == 0)
			month = m + 1;
	}
	if (month == 0 || s[3] != '-')
		return -EINVAL;
	year = digits(s + 4, 4);
	if (year < 0 || day < 1 ||
	    (unsigned)day > month_days(year, (unsigned)month))
		return -EINVAL;
	*days_r = imap_days_from_civil(year, (unsigned)month, (unsigned)day);
	return 0;
}

int imap_parse_date(const char *s, size_t len, int64_t *day_r)
{
	size_t dlen = len >= 2 && s[1] == '-' ? 1 : 2;
	int day;

	if (len != dlen + 9 || s[dlen] != '-')
		return -EINVAL;
	day = digits(s, dlen);
	return parse_month_year(s + dlen + 1, day, day_r);
}

int imap_parse_datetime(const char *s, size_t len, int64_t *t_r,
			int *tz_min_r)
{
	int64_t days;
	int day, h, m, sec, zh, zm;

	/* dd-Mon-yyyy hh:mm:ss +zzzz: 26 bytes exactly. */
	if (len != 26 || s[2] != '-' || s[11] != ' ' || s[14] != ':' ||
	    s[17] != ':' || s[20] != ' ' || (s[21] != '+' && s[21] != '-'))
		return -EINVAL;
	day = s[0] == ' ' ? digits(s + 1, 1) : digits(s, 2);
	if (parse_month_year(s + 3, day, &days) < 0)
		return -EINVAL;
	h = digits(s + 12, 2);
	m = digits(s + 15, 2);
	sec = digits(s + 18, 2);
	zh = digits(s + 22, 2);
	zm = digits(s + 24, 2);
	if (h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 59 ||
	    zh < 0 || zm < 0 || zm > 59)
		return -EINVAL;
	*tz_min_r = (s[21] == '-' ? -1 : 1) * (zh * 60 + zm);
	*t_r = days * 86400 + h * 3600 + m * 60 + sec -
		(int64_t)*tz_min_r * 60;
	return 0;
}

int imap_format_internaldate(int64_t t, char buf[IMAP_INTERNALDATE_SIZE])
{
	int64_t days = floor_div(t, 86400), secs = t - days * 86400, year;
	unsigned month, day;

	civil_from_days(days, &year, &month, &day);
	if (year < 0 || year > 9999)
		return -ERANGE;
	snprintf(buf, IMAP_INTERNALDATE_SIZE,
		 "\"%02u-%s-%04d %02d:%02d:%02d +0000\"", day,
		 months[month - 1], (int)year, (int)(secs / 3600),
		 (int)(secs / 60 % 60), (int)(secs % 60));
	return 0;
}
