/* Hook chains: each registered hook sees the event in module load order
 * until one decides. A PENDING hook parks the chain; hook_complete() resumes
 * it from the next module, so a DNS lookup in one policy never blocks the
 * loop or the other policies. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "module/hooks.h"

#define HOOK_REPLY_MAX 512

struct postino_hook_call {
	struct module_set *set; /* referenced while the chain runs */
	const struct postino_hook_event *ev;
	size_t next;            /* index of the hook to run next */
	int pending;            /* the hook at next-1 returned PENDING */
	const struct postino_mod *skip; /* whose hooks do not run, or NULL */
	hook_done_fn *done;
	void *data;
	int code;
	char text[HOOK_REPLY_MAX];
};

int hooks_register(struct postino_mod *mod, enum postino_hook_point point,
		   postino_hook_fn fn, void *data)
{
	struct module_set *set = mod->set;

	if ((int)point <= 0 || point >= HOOK_POINT_MAX || fn == NULL)
		return -EINVAL;
	struct hook_entry *grown = realloc(set->hooks[point],
		(set->hook_count[point] + 1) * sizeof(*grown));
	if (grown == NULL)
		return -ENOMEM;
	grown[set->hook_count[point]] = (struct hook_entry){
		.mod = mod, .fn = fn, .data = data };
	set->hooks[point] = grown;
	set->hook_count[point]++;
	return 0;
}

void hooks_reply(postino_hook_call *call, int code, const char *fmt, ...)
{
	va_list args;

	call->code = code;
	va_start(args, fmt);
	vsnprintf(call->text, sizeof(call->text), fmt, args);
	va_end(args);
	/* The text goes on the wire as one reply line. */
	for (char *p = call->text; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	}
}

/* A policy that forgot its reply, or gave a 5xx with DEFER, must not turn a
 * temporary refusal into a permanent bounce (or the reverse). */
static void hooks_fix_reply(postino_hook_call *call,
			    enum postino_verdict verdict,
			    const struct hook_entry *entry)
{
	int want = verdict == POSTINO_DEFER ? 4 : 5;

	if (call->code / 100 == want && call->text[0] != '\0')
		return;
	if (call->code != 0 && call->code / 100 != want) {
		core_log(call->set->ctx, LOG_LEVEL_WARNING,
			 "module %s gave code %d with a %s verdict; using %d",
			 entry->mod->name, call->code,
			 verdict == POSTINO_DEFER ? "defer" : "reject",
			 want == 4 ? 451 : 550);
	}
	call->code = want == 4 ? 451 : 550;
	snprintf(call->text, sizeof(call->text), "%s",
		 want == 4 ? "4.7.0 Temporarily refused by policy"
			   : "5.7.0 Refused by policy");
}

static void hooks_finish(postino_hook_call *call, enum postino_verdict verdict)
{
	struct module_set *set = call->set;

	call->done(call->data, verdict, call->code, call->text);
	free(call);
	module_set_unref(&set);
}

/* A module whose `[module] listeners` is set sees only sessions of the
 * listeners it names, by name or by role; events with no listener (admin
 * commands, mail the server makes) reach every module. */
int module_serves_listener(const struct postino_mod *mod, const char *listener,
			   const char *role)
{
	if (mod->listeners == NULL || listener == NULL)
		return 1;
	for (char *const *l = mod->listeners; *l != NULL; l++) {
		if (strcmp(*l, listener) == 0 ||
		    (role != NULL && strcmp(*l, role) == 0))
			return 1;
	}
	return 0;
}

/* Runs hooks from call->next until one decides or goes PENDING. */
static void hooks_advance(postino_hook_call *call)
{
	enum postino_hook_point point = call->ev->point;
	struct module_set *set = call->set;

	while (call->next < set->hook_count[point]) {
		const struct hook_entry *entry = &set->hooks[point][call->next];
		call->next++;
		if (entry->mod == call->skip ||
		    !module_serves_listener(entry->mod, call->ev->listener,
					    call->ev->role))
			continue;
		call->code = 0;
		call->text[0] = '\0';
		enum postino_verdict verdict = entry->fn(call, call->ev,
							 entry->data);
		switch (verdict) {
		case POSTINO_CONTINUE:
			continue;
		case POSTINO_PENDING:
			call->pending = 1;
			return;
		case POSTINO_DEFER:
		case POSTINO_REJECT:
			hooks_fix_reply(call, verdict, entry);
			hooks_finish(call, verdict);
			return;
		case POSTINO_ACCEPT:
			hooks_finish(call, POSTINO_ACCEPT);
			return;
		default:
			core_log(set->ctx, LOG_LEVEL_ERROR,
				 "module %s hook returned unknown verdict %d; "
				 "deferring", entry->mod->name, (int)verdict);
			call->code = 0;
			hooks_fix_reply(call, POSTINO_DEFER, entry);
			hooks_finish(call, POSTINO_DEFER);
			return;
		}
	}
	hooks_finish(call, POSTINO_CONTINUE);
}

void hooks_complete(postino_hook_call *call, enum postino_verdict verdict)
{
	const struct hook_entry *entry =
		&call->set->hooks[call->ev->point][call->next - 1];

	if (!call->pending) {
		core_log(call->set->ctx, LOG_LEVEL_ERROR,
			 "module %s completed a hook that was not pending",
			 entry->mod->name);
		return;
	}
	call->pending = 0;
	switch (verdict) {
	case POSTINO_CONTINUE:
		hooks_advance(call);
		return;
	case POSTINO_ACCEPT:
		hooks_finish(call, POSTINO_ACCEPT);
		return;
	case POSTINO_DEFER:
	case POSTINO_REJECT:
		hooks_fix_reply(call, verdict, entry);
		hooks_finish(call, verdict);
		return;
	default:
		core_log(call->set->ctx, LOG_LEVEL_ERROR,
			 "module %s completed a hook with verdict %d; deferring",
			 entry->mod->name, (int)verdict);
		call->code = 0;
		hooks_fix_reply(call, POSTINO_DEFER, entry);
		hooks_finish(call, POSTINO_DEFER);
	}
}

void *hooks_call_data(postino_hook_call *call, enum postino_hook_point point)
{
	if (call == NULL || call->ev->point != point)
		return NULL;
	return call->data;
}

int hooks_run(struct module_set *set, const struct postino_hook_event *ev,
	      hook_done_fn *done, void *data)
{
	return hooks_run_except(set, ev, NULL, done, data);
}

int hooks_run_except(struct module_set *set,
		     const struct postino_hook_event *ev,
		     const struct postino_mod *skip, hook_done_fn *done,
		     void *data)
{
	if ((int)ev->point <= 0 || ev->point >= HOOK_POINT_MAX)
		return -EINVAL;
	postino_hook_call *call = calloc(1, sizeof(*call));
	if (call == NULL)
		return -ENOMEM;
	call->set = set;
	call->ev = ev;
	call->done = done;
	call->data = data;
	call->skip = skip;
	module_set_ref(set);
	hooks_advance(call);
	return 0;
}
