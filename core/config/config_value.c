#include "config/config.h"

#include <errno.h>
#include <stdbool.h>
#include <strings.h>

/* Reads one or more decimal digits at *p, refusing values above limit. */
static int parse_digits(const char **p, uint64_t limit, uint64_t *value_r)
{
	const char *s = *p;
	uint64_t value = 0;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned digit = (unsigned)(*s - '0');

		if (value > (limit - digit) / 10)
			return -EINVAL;
		value = value * 10 + digit;
	}
	*p = s;
	*value_r = value;
	return 0;
}

static int parse_int(const char *s, int64_t *value_r)
{
	bool negative = *s == '-';
	uint64_t magnitude;

	if (negative)
		s++;
	/* INT64_MIN has no positive twin, hence the asymmetric limit. */
	if (parse_digits(&s, negative ? (uint64_t)INT64_MAX + 1 : INT64_MAX,
			 &magnitude) < 0 || *s != '\0')
		return -EINVAL;
	if (!negative)
		*value_r = (int64_t)magnitude;
	else if (magnitude == (uint64_t)INT64_MAX + 1)
		*value_r = INT64_MIN;
	else
		*value_r = -(int64_t)magnitude;
	return 0;
}

static int parse_bool(const char *s, int64_t *value_r)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*value_r = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*value_r = 0;
			return 0;
		}
	}
	return -EINVAL;
}

struct unit {
	char suffix;
	uint64_t factor;
};

/* A number with an optional one-letter unit from units; no sign, so a
 * negative duration or size is a syntax error rather than a surprise. */
static int parse_scaled(const char *s, const struct unit *units,
			size_t unit_count, int64_t *value_r)
{
	uint64_t number;
	uint64_t factor = 1;

	if (parse_digits(&s, INT64_MAX, &number) < 0)
		return -EINVAL;
	if (*s != '\0') {
		size_t i;

		for (i = 0; i < unit_count; i++) {
			if (*s == units[i].suffix)
				break;
		}
		if (i == unit_count || s[1] != '\0')
			return -EINVAL;
		factor = units[i].factor;
	}
	if (number > INT64_MAX / factor)
		return -EINVAL;
	*value_r = (int64_t)(number * factor);
	return 0;
}

static const struct unit duration_units[] = {
	{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
};

/* Upper and lower case both: "64k" and "10M" are both what people write,
 * and a size has no minutes to confuse "m" with. */
static const struct unit size_units[] = {
	{ 'k', 1ULL << 10 }, { 'K', 1ULL << 10 },
	{ 'm', 1ULL << 20 }, { 'M', 1ULL << 20 },
	{ 'g', 1ULL << 30 }, { 'G', 1ULL << 30 },
};

int config_parse_value(enum postino_config_type type, const char *text,
		       int64_t *value_r)
{
	int64_t value = 0;
	int ret;

	if (text == NULL)
		return -EINVAL;
	switch (type) {
	case POSTINO_CONFIG_STRING:
		ret = 0;
		break;
	case POSTINO_CONFIG_INT:
		ret = parse_int(text, &value);
		break;
	case POSTINO_CONFIG_BOOL:
		ret = parse_bool(text, &value);
		break;
	case POSTINO_CONFIG_DURATION:
		ret = parse_scaled(text, duration_units,
				   sizeof(duration_units) /
					   sizeof(duration_units[0]),
				   &value);
		break;
	case POSTINO_CONFIG_SIZE:
		ret = parse_scaled(text, size_units,
				   sizeof(size_units) / sizeof(size_units[0]),
				   &value);
		break;
	default:
		ret = -EINVAL;
		break;
	}
	if (ret == 0 && value_r != NULL)
		*value_r = value;
	return ret;
}
