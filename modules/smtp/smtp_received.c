/* Received: header; see smtp_received.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "smtp_received.h"

const char *smtp_received_with(int esmtp, int tls, int authenticated)
{
	if (authenticated)
		return tls ? "ESMTPSA" : "ESMTPA";
	if (tls)
		return "ESMTPS";
	return esmtp ? "ESMTP" : "SMTP";
}

size_t smtp_rfc5322_date(time_t when, char *buf, size_t size)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed",
					 "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr",
					    "May", "Jun", "Jul", "Aug",
					    "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	long off;
	int n;

	if (localtime_r(&when, &tm) == NULL)
		return 0;
	off = tm.tm_gmtoff / 60;
	n = snprintf(buf, size, "%s, %02d %s %04d %02d:%02d:%02d %c%02ld%02ld",
		     days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
		     tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     off < 0 ? '-' : '+', (off < 0 ? -off : off) / 60,
		     (off < 0 ? -off : off) % 60);
	return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

/* Keeps a name safe inside the header's structure: anything but letters,
 * digits and . - _ : [ ] becomes '_' (no comment or line breaking). */
static void safe_name(const char *in, char *out, size_t size)
{
	size_t i = 0;

	if (in == NULL || *in == '\0')
		in = "unknown";
	for (; in[i] != '\0' && i + 1 < size; i++) {
		char c = in[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || strchr(".-_:[]", c) != NULL;
		out[i] = ok ? c : '_';
	}
	out[i] = '\0';
}

struct folder {
	char *buf;
	size_t size;
	size_t len;
	size_t line;  /* length of the current line */
	int overflow;
};

/* Adds one unit (never split) after a blank, or on a new folded line. */
static void fold_add(struct folder *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fold_add(struct folder *f, const char *fmt, ...)
{
	char unit[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(unit, sizeof(unit), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(unit)) {
		f->overflow = 1;
		return;
	}
	const char *sep = " ";
	if (f->line + 1 + (size_t)n > SMTP_RECEIVED_FOLD) {
		sep = "\r\n\t";
		f->line = 0;
	}
	n = snprintf(f->buf + f->len, f->size - f->len, "%s%s", sep, unit);
	if (n < 0 || (size_t)n >= f->size - f->len) {
		f->overflow = 1;
		return;
	}
	f->len += (size_t)n;
	f->line += 1 + strlen(unit);
}

size_t smtp_received_format(const struct smtp_received *r, char *buf,
			    size_t size)
{
	char helo[256 + 1], host[256 + 1], ip[64], date[64];
	struct folder f = { buf, size, 0, 0, 0 };

	safe_name(r->helo, helo, sizeof(helo));
	safe_name(r->hostname, host, sizeof(host));
	safe_name(r->client_ip, ip, sizeof(ip));
	if (smtp_rfc5322_date(r->when, date, sizeof(date)) == 0 ||
	    size < sizeof("Received:"))
		return 0;
	memcpy(buf, "Received:", sizeof("Received:"));
	f.len = f.line = sizeof("Received:") - 1;
	fold_add(&f, "from %s", helo);
	fold_add(&f, "(%s [%s])", helo, ip);
	fold_add(&f, "by %s", host);
	fold_add(&f, "(Postino)");
	fold_add(&f, "with %s",
		 smtp_received_with(r->esmtp, r->tls, r->authenticated));
	if (r->tls) {
		char version[64], cipher[64];
		safe_name(r->tls_version, version, sizeof(version));
		safe_name(r->tls_cipher, cipher, sizeof(cipher));
		fold_add(&f, "(%s %s)", version, cipher);
	}
	if (r->id != NULL) {
		char id[128];
		safe_name(r->id, id, sizeof(id));
		fold_add(&f, "id %s;", id);
	} else {
		fold_add(&f, ";");
	}
	fold_add(&f, "%s", date);
	if (f.overflow || f.size - f.len < 3)
		return 0;
	memcpy(buf + f.len, "\r\n", 3);
	return f.len + 2;
}
