/* ratelimit.so's login throttling: the AUTH_BEFORE_VERIFY and
 * AUTH_RESULT hooks, for every protocol alike (the host runs them inside
 * auth_verify). What is decided is rl_login.h's rule; this file keeps the
 * records it looks at in the module's state: the one copy every worker's
 * instance reads and updates atomically, kept across restarts. */
#ifndef RL_THROTTLE_H
#define RL_THROTTLE_H

#include <postino/plugin.h>

struct rl_throttle;

/* Reads the throttling keys of [ratelimit] (ip_failures, ip_window,
 * account_failures, account_window, known_address_window,
 * throttle_delay, throttle_exempt); a bad value is logged and gives
 * -EINVAL. */
int rl_throttle_new(postino_mod *mod, const struct postino_host *host,
		    struct rl_throttle **throttle_r);
/* Logs the counters; sets *throttle to NULL. */
void rl_throttle_free(struct rl_throttle **throttle);

/* The hooks; data is the rl_throttle. */
enum postino_verdict rl_throttle_before(postino_hook_call *call,
					const struct postino_hook_event *ev,
					void *data);
enum postino_verdict rl_throttle_result(postino_hook_call *call,
					const struct postino_hook_event *ev,
					void *data);

#endif
