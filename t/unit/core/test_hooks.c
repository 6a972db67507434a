/* Hook chains: order, verdicts, replies, and PENDING completion on the loop
 * with the module set kept alive while a chain is parked. */
#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "module/hooks.h"

struct fixture {
	struct core_ctx ctx;
	uv_loop_t loop;
	struct module_set *set;
	char trace[64]; /* which hooks ran, in order */
};

struct outcome {
	int calls;
	enum postino_verdict verdict;
	int code;
	char text[512];
};

static struct fixture fx;

static void setup(void)
{
	memset(&fx, 0, sizeof(fx));
	uv_loop_init(&fx.loop);
	fx.ctx.loop = &fx.loop;
	fx.ctx.mode = CORE_MODE_DAEMON;
	log_init(&fx.ctx.log, LOG_LEVEL_DEBUG, LOG_TARGET_STDERR);
	fx.ctx.log.fd = open("/dev/null", O_WRONLY);
	fx.set = calloc(1, sizeof(*fx.set));
	fx.set->ctx = &fx.ctx;
	fx.set->refs = 1;
	fx.set->mods = calloc(3, sizeof(*fx.set->mods));
	for (int i = 0; i < 3; i++) {
		struct postino_mod *mod = &fx.set->mods[i];
		char name[8];
		snprintf(name, sizeof(name), "m%d", i);
		mod->ctx = &fx.ctx;
		mod->set = fx.set;
		mod->name = strdup(name);
		mod->conf_file = strdup("test.conf");
		mod->path = strdup("none");
		mod->state = MODULE_LOADED;
	}
	fx.set->count = 3;
}

static void teardown(void)
{
	module_set_unref(&fx.set);
	uv_run(&fx.loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&fx.loop), 0);
	close(fx.ctx.log.fd);
}

static void on_done(void *data, enum postino_verdict verdict, int code,
		    const char *text)
{
	struct outcome *o = data;

	o->calls++;
	o->verdict = verdict;
	o->code = code;
	snprintf(o->text, sizeof(o->text), "%s", text);
}

static void trace(const char *tag)
{
	strncat(fx.trace, tag, sizeof(fx.trace) - strlen(fx.trace) - 1);
}

static enum postino_verdict hook_continue_a(postino_hook_call *call,
	const struct postino_hook_event *ev, void *data)
{
	trace("a");
	return POSTINO_CONTINUE;
}

static enum postino_verdict hook_continue_b(postino_hook_call *call,
	const struct postino_hook_event *ev, void *data)
{
	trace("b");
	return POSTINO_CONTINUE;
}

static enum postino_verdict hook_reject(postino_hook_call *call,
	const struct postino_hook_event *ev, void *data)
{
	trace("r");
	hooks_reply(call, 550, "5.7.1 <%s>: Relaying denied", ev->rcpt_to);
	return POSTINO_REJECT;
}

static enum postino_verdict hook_defer_bare(postino_hook_call *call,
	const struct postino_hook_event *ev, void *data)
{
	trace("d");
	return POSTINO_DEFER;
}

static enum postino_verdict hook_defer_wrong_code(postino_hook_call *call,
	const struct postino_hook_event *ev, void *data)
{
	trace("w");
	hooks_reply(call, 550, "5.0.0 permanent?");
	return POSTINO_DEFER;
}

static enum postino_verdict hook_accept(postino_hook_call *call,
	const struct postino_hook_event *ev, void *data)
{
	trace("A");
	return POSTINO_ACCEPT;
}

static enum postino_verdict hook_injects(postino_hook_call *call,
	const struct postino_hook_event *ev, void *data)
{
	hooks_reply(call, 451, "4.7.1 line one\r\n250 forged");
	return POSTINO_DEFER;
}

static enum postino_verdict hook_bogus(postino_hook_call *call,
	const struct postino_hook_event *ev, void *data)
{
	return (enum postino_verdict)42;
}

/* A PENDING hook finishing later from a timer, as a DNS lookup would. */
struct pending {
	uv_timer_t timer;
	postino_hook_call *call;
	enum postino_verdict verdict;
};

static void pending_fire(uv_timer_t *timer)
{
	struct pending *p = timer->data;

	trace("P");
	if (p->verdict == POSTINO_REJECT)
		hooks_reply(p->call, 554, "5.7.23 Failed SPF check");
	hooks_complete(p->call, p->verdict);
	uv_close((uv_handle_t *)&p->timer, NULL);
}

static enum postino_verdict hook_pending(postino_hook_call *call,
	const struct postino_hook_event *ev, void *data)
{
	struct pending *p = data;

	trace("p");
	p->call = call;
	uv_timer_init(&fx.loop, &p->timer);
	p->timer.data = p;
	uv_timer_start(&p->timer, pending_fire, 1, 0);
	return POSTINO_PENDING;
}

static struct postino_hook_event event(enum postino_hook_point point)
{
	struct postino_hook_event ev = {
		.size = sizeof(ev),
		.point = point,
		.protocol = "smtp",
		.rcpt_to = "x@remote.test",
	};
	return ev;
}

START_TEST(empty_chain_continues_at_once)
{
	struct postino_hook_event ev = event(POSTINO_HOOK_SMTP_RCPT_TO);
	struct outcome o = { 0 };

	ck_assert_int_eq(hooks_run(fx.set, &ev, on_done, &o), 0);
	ck_assert_int_eq(o.calls, 1);
	ck_assert_int_eq(o.verdict, POSTINO_CONTINUE);
}
END_TEST

START_TEST(hooks_run_in_load_order_until_one_decides)
{
	struct postino_hook_event ev = event(POSTINO_HOOK_SMTP_RCPT_TO);
	struct outcome o = { 0 };

	hooks_register(&fx.set->mods[0], ev.point, hook_continue_a, NULL);
	hooks_register(&fx.set->mods[1], ev.point, hook_reject, NULL);
	hooks_register(&fx.set->mods[2], ev.point, hook_continue_b, NULL);
	ck_assert_int_eq(hooks_run(fx.set, &ev, on_done, &o), 0);
	ck_assert_int_eq(o.calls, 1);
	ck_assert_int_eq(o.verdict, POSTINO_REJECT);
	ck_assert_int_eq(o.code, 550);
	ck_assert_str_eq(o.text, "5.7.1 <x@remote.test>: Relaying denied");
	ck_assert_str_eq(fx.trace, "ar");
}
END_TEST

START_TEST(other_points_are_not_run)
{
	struct postino_hook_event ev = event(POSTINO_HOOK_SMTP_MAIL_FROM);
	struct outcome o = { 0 };

	hooks_register(&fx.set->mods[0], POSTINO_HOOK_SMTP_RCPT_TO,
		       hook_reject, NULL);
	hooks_register(&fx.set->mods[1], POSTINO_HOOK_SMTP_MAIL_FROM,
		       hook_continue_a, NULL);
	ck_assert_int_eq(hooks_run(fx.set, &ev, on_done, &o), 0);
	ck_assert_int_eq(o.verdict, POSTINO_CONTINUE);
	ck_assert_str_eq(fx.trace, "a");
}
END_TEST

START_TEST(accept_ends_the_chain)
{
	struct postino_hook_event ev = event(POSTINO_HOOK_SMTP_HELO);
	struct outcome o = { 0 };

	hooks_register(&fx.set->mods[0], ev.point, hook_accept, NULL);
	hooks_register(&fx.set->mods[1], ev.point, hook_reject, NULL);
	hooks_run(fx.set, &ev, on_done, &o);
	ck_assert_int_eq(o.verdict, POSTINO_ACCEPT);
	ck_assert_str_eq(fx.trace, "A");
}
END_TEST

START_TEST(defer_without_reply_gets_a_4xx_default)
{
	struct postino_hook_event ev = event(POSTINO_HOOK_SMTP_RCPT_TO);
	struct outcome o = { 0 };

	hooks_register(&fx.set->mods[0], ev.point, hook_defer_bare, NULL);
	hooks_run(fx.set, &ev, on_done, &o);
	ck_assert_int_eq(o.verdict, POSTINO_DEFER);
	ck_assert_int_eq(o.code, 451);
	ck_assert_str_eq(o.text, "4.7.0 Temporarily refused by policy");
}
END_TEST

START_TEST(defer_with_5xx_code_stays_temporary)
{
	struct postino_hook_event ev = event(POSTINO_HOOK_SMTP_RCPT_TO);
	struct outcome o = { 0 };

	hooks_register(&fx.set->mods[0], ev.point, hook_defer_wrong_code, NULL);
	hooks_run(fx.set, &ev, on_done, &o);
	ck_assert_int_eq(o.verdict, POSTINO_DEFER);
	ck_assert_int_eq(o.code, 451);
}
END_TEST

START_TEST(reply_text_cannot_inject_lines)
{
	struct postino_hook_event ev = event(POSTINO_HOOK_SMTP_RCPT_TO);
	struct outcome o = { 0 };

	hooks_register(&fx.set->mods[0], ev.point, hook_injects, NULL);
	hooks_run(fx.set, &ev, on_done, &o);
	ck_assert_ptr_null(strchr(o.text, '\r'));
	ck_assert_ptr_null(strchr(o.text, '\n'));
	ck_assert_str_eq(o.text, "4.7.1 line one  250 forged");
}
END_TEST

START_TEST(unknown_verdict_defers)
{
	struct postino_hook_event ev = event(POSTINO_HOOK_SMTP_RCPT_TO);
	struct outcome o = { 0 };

	hooks_register(&fx.set->mods[0], ev.point, hook_bogus, NULL);
	hooks_run(fx.set, &ev, on_done, &o);
	ck_assert_int_eq(o.verdict, POSTINO_DEFER);
	ck_assert_int_eq(o.code / 100, 4);
}
END_TEST

START_TEST(pending_resumes_with_the_next_module)
{
	struct postino_hook_event ev = event(POSTINO_HOOK_SMTP_MAIL_FROM);
	struct outcome o = { 0 };
	struct pending p = { .verdict = POSTINO_CONTINUE };

	hooks_register(&fx.set->mods[0], ev.point, hook_continue_a, NULL);
	hooks_register(&fx.set->mods[1], ev.point, hook_pending, &p);
	hooks_register(&fx.set->mods[2], ev.point, hook_continue_b, NULL);
	ck_assert_int_eq(hooks_run(fx.set, &ev, on_done, &o), 0);
	ck_assert_int_eq(o.calls, 0); /* parked, nothing decided yet */
	ck_assert_str_eq(fx.trace, "ap");
	uv_run(&fx.loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(o.calls, 1);
	ck_assert_int_eq(o.verdict, POSTINO_CONTINUE);
	ck_assert_str_eq(fx.trace, "apPb");
}
END_TEST

START_TEST(pending_can_reject_with_its_reply)
{
	struct postino_hook_event ev = event(POSTINO_HOOK_SMTP_RCPT_TO);
	struct outcome o = { 0 };
	struct pending p = { .verdict = POSTINO_REJECT };

	hooks_register(&fx.set->mods[0], ev.point, hook_pending, &p);
	hooks_register(&fx.set->mods[1], ev.point, hook_continue_b, NULL);
	hooks_run(fx.set, &ev, on_done, &o);
	uv_run(&fx.loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(o.calls, 1);
	ck_assert_int_eq(o.verdict, POSTINO_REJECT);
	ck_assert_int_eq(o.code, 554);
	ck_assert_str_eq(o.text, "5.7.23 Failed SPF check");
	ck_assert_str_eq(fx.trace, "pP");
}
END_TEST

START_TEST(parked_chain_keeps_its_module_set_alive)
{
	struct postino_hook_event ev = event(POSTINO_HOOK_SMTP_RCPT_TO);
	struct outcome o = { 0 };
	struct pending p = { .verdict = POSTINO_CONTINUE };
	struct module_set *set = fx.set;

	hooks_register(&set->mods[0], ev.point, hook_pending, &p);
	hooks_register(&set->mods[1], ev.point, hook_continue_b, NULL);
	hooks_run(set, &ev, on_done, &o);
	ck_assert_uint_eq(set->refs, 2);
	/* A reload drops the context's reference while the chain waits;
	 * the chain must still reach module 1 (ASan catches a stale set). */
	module_set_unref(&fx.set);
	ck_assert_ptr_null(fx.set);
	uv_run(&fx.loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(o.calls, 1);
	ck_assert_str_eq(fx.trace, "pPb");
}
END_TEST

START_TEST(register_rejects_bad_points)
{
	ck_assert_int_eq(hooks_register(&fx.set->mods[0], 0, hook_accept, NULL),
			 -EINVAL);
	ck_assert_int_eq(hooks_register(&fx.set->mods[0], HOOK_POINT_MAX,
					hook_accept, NULL), -EINVAL);
	ck_assert_int_eq(hooks_register(&fx.set->mods[0],
					POSTINO_HOOK_SMTP_HELO, NULL, NULL),
			 -EINVAL);
}
END_TEST

static Suite *hooks_suite(void)
{
	Suite *s = suite_create("hooks");
	TCase *tc = tcase_create("chain");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, empty_chain_continues_at_once);
	tcase_add_test(tc, hooks_run_in_load_order_until_one_decides);
	tcase_add_test(tc, other_points_are_not_run);
	tcase_add_test(tc, accept_ends_the_chain);
	tcase_add_test(tc, defer_without_reply_gets_a_4xx_default);
	tcase_add_test(tc, defer_with_5xx_code_stays_temporary);
	tcase_add_test(tc, reply_text_cannot_inject_lines);
	tcase_add_test(tc, unknown_verdict_defers);
	tcase_add_test(tc, pending_resumes_with_the_next_module);
	tcase_add_test(tc, pending_can_reject_with_its_reply);
	tcase_add_test(tc, parked_chain_keeps_its_module_set_alive);
	tcase_add_test(tc, register_rejects_bad_points);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(hooks_suite());

	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
