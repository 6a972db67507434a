#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/tls_pin.h"

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int is_separator(char c)
{
	return c == ',' || c == ' ' || c == '\t';
}

/* One pin from *text; *text moves past it. */
static int parse_one(const char **text, struct tls_pin *pin)
{
	const char *p = *text;

	if (strncasecmp(p, "sha256:", 7) == 0)
		p += 7;
	for (size_t i = 0; i < TLS_PIN_SIZE; i++) {
		int hi = hex_value(p[0]);
		int lo = hi < 0 ? -1 : hex_value(p[1]);
		if (lo < 0)
			return -EINVAL;
		pin->sha256[i] = (unsigned char)(hi << 4 | lo);
		p += 2;
		if (i + 1 < TLS_PIN_SIZE && *p == ':')
			p++;
	}
	if (*p != '\0' && !is_separator(*p))
		return -EINVAL; /* longer than SHA-256, or stray text */
	*text = p;
	return 0;
}

int tls_pins_parse(const char *text, struct tls_pin pins[TLS_PINS_MAX],
		   size_t *count_r, const char **problem_r)
{
	size_t n = 0;

	*count_r = 0;
	for (;;) {
		while (is_separator(*text))
			text++;
		if (*text == '\0')
			break;
		if (n == TLS_PINS_MAX) {
			*problem_r = "lists more than " TLS_PINS_MAX_TEXT
				     " fingerprints";
			return -EINVAL;
		}
		if (parse_one(&text, &pins[n]) < 0) {
			*problem_r = "is not a list of SHA-256 fingerprints "
				     "(64 hex digits each, colons allowed)";
			return -EINVAL;
		}
		n++;
	}
	if (n == 0) {
		*problem_r = "holds no fingerprint";
		return -EINVAL;
	}
	*count_r = n;
	return 0;
}

void tls_pin_format(const struct tls_pin *pin, char *buf, size_t size)
{
	char text[TLS_PIN_TEXT_SIZE] = "sha256:";

	for (size_t i = 0; i < TLS_PIN_SIZE; i++)
		snprintf(text + 7 + 2 * i, 3, "%02x", pin->sha256[i]);
	snprintf(buf, size, "%s", text);
}
