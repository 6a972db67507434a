/* The Date of mail the server writes itself (DSNs, quota warnings). */
#ifndef POSTINO_UTIL_MAIL_DATE_H
#define POSTINO_UTIL_MAIL_DATE_H

#include <stddef.h>
#include <stdint.h>

/* RFC 5322 date-time of t_s in UTC, "Sun, 06 Dec 2026 08:26:21 +0000",
 * into buf (truncated to size). English names whatever the locale:
 * strftime's %a and %b follow it. */
void mail_date_utc(int64_t t_s, char *buf, size_t size);

#endif
