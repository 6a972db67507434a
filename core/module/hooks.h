/* Running a hook point through every registered module in load order. */
#ifndef POSTINO_HOOKS_H
#define POSTINO_HOOKS_H

#include "module/module.h"

/* The outcome of a hook run: ACCEPT or CONTINUE (nobody objected), DEFER or
 * REJECT with code and text ("4.7.1 ..."), text owned by the run and valid
 * only during the callback. */
typedef void hook_done_fn(void *data, enum postino_verdict verdict, int code,
			  const char *text);

/* Runs ev->point's hooks. done is called exactly once: during this call when
 * no hook goes PENDING, else later on the loop thread. ev must stay valid
 * until done. Returns 0 or -ENOMEM (done not called). */
int hooks_run(struct module_set *set, const struct postino_hook_event *ev,
	      hook_done_fn *done, void *data);

/* hooks_run without skip's hooks: a module that made a change itself is
 * not told about it through its own hook (it would run into itself). */
int hooks_run_except(struct module_set *set,
		     const struct postino_hook_event *ev,
		     const struct postino_mod *skip, hook_done_fn *done,
		     void *data);

/* The data a run of point was started with (hooks_run's data), for host
 * entries that take the hook's call; NULL when call runs another point. */
void *hooks_call_data(postino_hook_call *call, enum postino_hook_point point);

/* Whether mod's hooks see sessions of this listener (name, role; NULL
 * listener: not a session, every module sees it). */
int module_serves_listener(const struct postino_mod *mod, const char *listener,
			   const char *role);

/* Host table entries. */
int hooks_register(struct postino_mod *mod, enum postino_hook_point point,
		   postino_hook_fn fn, void *data);
void hooks_reply(postino_hook_call *call, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void hooks_complete(postino_hook_call *call, enum postino_verdict verdict);

#endif
