/* Dates for the date and currentdate tests (RFC 5260): RFC 5322
 * date-times parsed (obsolete forms included), and date parts shown in a
 * zone. No libc time zone state is used: zones are minute offsets. */
#ifndef SV_DATE_H
#define SV_DATE_H

#include "sv.h"

/* A Date:-style value (or the part after the last ';' of a Received:
 * header) -> Unix time and the zone it was written in (minutes east). */
bool sv_date_parse(const char *s, size_t len, int64_t *t_r, int *zone_r);
/* Writes date part (enum sv_datepart) of time t seen in zone into buf. */
void sv_date_part(int64_t t, int zone, int part, char *buf, size_t size);

#endif
