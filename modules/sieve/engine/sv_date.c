#include <stdio.h>
#include <string.h>

#include "sv_date.h"
#include "sv_syntax.h"

static const char *const sv_months[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};
static const char *const sv_wdays[] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
};

/* Days from 1970-01-01 to y-m-d, proleptic Gregorian (H. Hinnant's
 * days_from_civil). */
static int64_t sv_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void sv_civil_from_days(int64_t z, int64_t *y_r, unsigned *m_r,
			       unsigned *d_r)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = (int64_t)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned d = doy - (153 * mp + 2) / 5 + 1;
	unsigned m = mp < 10 ? mp + 3 : mp - 9;
	*y_r = y + (m <= 2);
	*m_r = m;
	*d_r = d;
}

static unsigned sv_month_days(int64_t y, unsigned m)
{
	static const unsigned days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30,
					 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : days[m - 1];
}

struct sv_dscan {
	const char *s;
	size_t len, pos;
};

/* Skips white space and (nested) comments. */
static void sv_dskip(struct sv_dscan *d)
{
	size_t depth = 0;

	while (d->pos < d->len) {
		char c = d->s[d->pos];
		if (depth > 0) {
			if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
			d->pos++;
		} else if (c == '(') {
			depth = 1;
			d->pos++;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			d->pos++;
		} else {
			return;
		}
	}
}

/* A number of min..max digits: how many digits, 0 if none fit. */
static size_t sv_dnum(struct sv_dscan *d, size_t min, size_t max, int *v_r)
{
	size_t n = 0;
	int v = 0;

	sv_dskip(d);
	while (d->pos < d->len && d->s[d->pos] >= '0' && d->s[d->pos] <= '9') {
		if (++n > max)
			return 0;
		v = v * 10 + (d->s[d->pos++] - '0');
	}
	*v_r = v;
	return n >= min ? n : 0;
}

static size_t sv_dword(struct sv_dscan *d, const char **w_r)
{
	sv_dskip(d);
	*w_r = d->s + d->pos;
	while (d->pos < d->len &&
	       ((d->s[d->pos] >= 'a' && d->s[d->pos] <= 'z') ||
		(d->s[d->pos] >= 'A' && d->s[d->pos] <= 'Z')))
		d->pos++;
	return (size_t)(d->s + d->pos - *w_r);
}

static bool sv_dchar(struct sv_dscan *d, char c)
{
	sv_dskip(d);
	if (d->pos < d->len && d->s[d->pos] == c) {
		d->pos++;
		return true;
	}
	return false;
}

/* The zone: +hhmm / -hhmm, or an obsolete name (RFC 5322 4.3); anything
 * unknown counts as -0000, as that section says. */
static int sv_dzone(struct sv_dscan *d)
{
	static const struct { const char *name; int minutes; } names[] = {
		{ "UT", 0 }, { "GMT", 0 }, { "Z", 0 },
		{ "EST", -300 }, { "EDT", -240 }, { "CST", -360 },
		{ "CDT", -300 }, { "MST", -420 }, { "MDT", -360 },
		{ "PST", -480 }, { "PDT", -420 },
	};
	int minutes;

	sv_dskip(d);
	if (d->pos + 5 <= d->len &&
	    sv_zone_parse(d->s + d->pos, 5, &minutes)) {
		d->pos += 5;
		return minutes;
	}
	const char *w;
	size_t n = sv_dword(d, &w);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (sv_strcasecmp_len(w, n, names[i].name,
				      strlen(names[i].name)) == 0)
			return names[i].minutes;
	return 0;
}

bool sv_date_parse(const char *s, size_t len, int64_t *t_r, int *zone_r)
{
	struct sv_dscan d = { s, len, 0 };
	const char *w;
	size_t n;
	int day, year, hour, min, sec = 0, month = -1;

	/* [day-of-week ","] */
	size_t save = d.pos;
	n = sv_dword(&d, &w);
	if (n > 0) {
		if (!sv_dchar(&d, ','))
			return false;
	} else {
		d.pos = save;
	}
	if (!sv_dnum(&d, 1, 2, &day))
		return false;
	n = sv_dword(&d, &w);
	for (int i = 0; i < 12 && n == 3; i++)
		if (sv_strcasecmp_len(w, 3, sv_months[i], 3) == 0)
			month = i + 1;
	size_t digits = month < 0 ? 0 : sv_dnum(&d, 2, 4, &year);
	if (digits == 0)
		return false;
	/* obs-year: two digits are 1950-2049, three are 1900 + n */
	if (digits == 2)
		year += year < 50 ? 2000 : 1900;
	else if (digits == 3)
		year += 1900;
	if (!sv_dnum(&d, 1, 2, &hour) || !sv_dchar(&d, ':') ||
	    !sv_dnum(&d, 1, 2, &min))
		return false;
	if (sv_dchar(&d, ':') && !sv_dnum(&d, 1, 2, &sec))
		return false;
	int zone = sv_dzone(&d);
	if (year < 1 || day < 1 ||
	    (unsigned)day > sv_month_days(year, (unsigned)month) ||
	    hour > 23 || min > 59 || sec > 60)
		return false;
	int64_t days = sv_days_from_civil(year, (unsigned)month,
					  (unsigned)day);
	*t_r = days * 86400 + hour * 3600 + min * 60 + sec -
	       (int64_t)zone * 60;
	*zone_r = zone;
	return true;
}

static int64_t sv_floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

void sv_date_part(int64_t t, int zone, int part, char *buf, size_t size)
{
	int64_t local = t + (int64_t)zone * 60;
	int64_t days = sv_floor_div(local, 86400);
	int64_t secs = local - days * 86400;
	int64_t y;
	unsigned m, d;
	int hh = (int)(secs / 3600), mm = (int)(secs / 60 % 60),
	    ss = (int)(secs % 60);
	int wday = (int)(((days % 7) + 7 + 4) % 7);   /* 1970-01-01: Thu */
	int za = zone < 0 ? -zone : zone;
	char zs[16];

	sv_civil_from_days(days, &y, &m, &d);
	snprintf(zs, sizeof(zs), "%c%02d%02d", zone < 0 ? '-' : '+', za / 60,
		 za % 60);
	switch (part) {
	case SV_DP_YEAR:
		snprintf(buf, size, "%04lld", (long long)y);
		break;
	case SV_DP_MONTH:
		snprintf(buf, size, "%02u", m);
		break;
	case SV_DP_DAY:
		snprintf(buf, size, "%02u", d);
		break;
	case SV_DP_DATE:
		snprintf(buf, size, "%04lld-%02u-%02u", (long long)y, m, d);
		break;
	case SV_DP_JULIAN:
		/* Modified Julian Day: days since 1858-11-17 */
		snprintf(buf, size, "%lld", (long long)(days + 40587));
		break;
	case SV_DP_HOUR:
		snprintf(buf, size, "%02d", hh);
		break;
	case SV_DP_MINUTE:
		snprintf(buf, size, "%02d", mm);
		break;
	case SV_DP_SECOND:
		snprintf(buf, size, "%02d", ss);
		break;
	case SV_DP_TIME:
		snprintf(buf, size, "%02d:%02d:%02d", hh, mm, ss);
		break;
	case SV_DP_ISO8601:
		/* RFC 3339 date-time; a zero offset is written "Z". */
		if (zone == 0)
			snprintf(buf, size, "%04lld-%02u-%02uT%02d:%02d:%02dZ",
				 (long long)y, m, d, hh, mm, ss);
		else
			snprintf(buf, size,
				 "%04lld-%02u-%02uT%02d:%02d:%02d%c%02d:%02d",
				 (long long)y, m, d, hh, mm, ss,
				 zone < 0 ? '-' : '+', za / 60, za % 60);
		break;
	case SV_DP_STD11:
		snprintf(buf, size, "%s, %02u %s %04lld %02d:%02d:%02d %s",
			 sv_wdays[wday], d, sv_months[m - 1], (long long)y, hh,
			 mm, ss, zs);
		break;
	case SV_DP_ZONE:
		snprintf(buf, size, "%s", zs);
		break;
	case SV_DP_WEEKDAY:
		snprintf(buf, size, "%d", wday);
		break;
	default:
		snprintf(buf, size, "%s", "");
	}
}
