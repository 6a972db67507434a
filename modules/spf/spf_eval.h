/* One SPF evaluation with libspf2 (RFC 7208 check_host of the MAIL FROM
 * identity, or of the HELO identity when MAIL FROM is null). Blocking:
 * it runs on a worker thread. Thread-safe: every call builds its own
 * libspf2 server and request. */
#ifndef SPF_EVAL_H
#define SPF_EVAL_H

#include "spf_dns.h"

enum spf_result {
	SPF_RES_NONE = 0,
	SPF_RES_NEUTRAL,
	SPF_RES_PASS,
	SPF_RES_FAIL,
	SPF_RES_SOFTFAIL,
	SPF_RES_TEMPERROR,
	SPF_RES_PERMERROR,
};

#define SPF_DOMAIN_MAX 256
#define SPF_PROBLEM_MAX 160

struct spf_query {
	const char *ip;        /* client address, IPv4 or IPv6 text */
	const char *helo;      /* may be NULL */
	const char *mail_from; /* "" for the null sender */
	const char *receiver;  /* our host name (the %{r} macro) */
};

struct spf_answer {
	enum spf_result result;
	int helo_identity;             /* 1: the HELO name was checked */
	char domain[SPF_DOMAIN_MAX];   /* the checked domain, may be cut */
	char problem[SPF_PROBLEM_MAX]; /* why a permerror/temperror; "" */
};

/* "pass", "fail", ... as RFC 7208 spells the results. */
const char *spf_result_name(enum spf_result result);

/* Parses a result name; -1 when unknown. */
int spf_result_parse(const char *name);

/* Fills *answer_r; always gives a result (temperror when out of memory). */
void spf_eval(const struct spf_dns *dns, const struct spf_query *q,
	      struct spf_answer *answer_r);

#endif
