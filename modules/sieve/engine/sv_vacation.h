/* Vacation internals shared with the evaluator. */
#ifndef SV_VACATION_H
#define SV_VACATION_H

#include "sv_message.h"

/* sieve_vacation_refusal() over an indexed header. */
const char *sv_vacation_refusal_msg(struct sv_msg *m, const char *sender,
				    const char *const *addrs, size_t n);

#endif
