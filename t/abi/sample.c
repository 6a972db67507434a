/* A test module built only against plugins-api/: it exercises every kind of
 * registration (hooks sync and PENDING, timers, async work, admin commands,
 * per-module state, config keys), and acts as an SMTP policy for the SMTP
 * tests: add_header (a DATA_END header via msg_add_header), defer_rcpt
 * (450 for one recipient, decided at once or, with pending_rcpt, on a
 * worker like a DNS lookup). The ABI tests also build it out of tree
 * from the installed headers, and build broken variants of it:
 *   -DSAMPLE_CLAIM_MAJOR=2          descriptor claims another ABI major
 *   -DSAMPLE_SYMBOL=postino_module_v2   exported under another major's name
 *   -DSAMPLE_SYMBOL=not_a_module    no entry symbol at all
 *   -DSAMPLE_INIT_FAILS             init returns an error after registering
 *   -DSAMPLE_REQUIRES='"name"'      requires another module
 *   -DSAMPLE_NAME='"name"'          calls itself name (build NAME.so)
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <postino/plugin.h>

#ifndef SAMPLE_SYMBOL
#define SAMPLE_SYMBOL postino_module_v1
#endif
#ifndef SAMPLE_CLAIM_MAJOR
#define SAMPLE_CLAIM_MAJOR POSTINO_ABI_MAJOR
#endif

#ifndef SAMPLE_NAME
#define SAMPLE_NAME "sample"
#endif

#ifdef SAMPLE_REQUIRES
static const char *const sample_requires[] = { SAMPLE_REQUIRES, NULL };
#else
#define sample_requires NULL
#endif

struct sample {
	postino_mod *mod;
	const struct postino_host *host;
	postino_timer *timer;
	const char *forbidden;
	const char *add_header;  /* "": no X-Sample header */
	const char *defer_rcpt;  /* "": no deferred recipient */
	int pending_rcpt;        /* decide defer_rcpt asynchronously */
	int64_t ticks;
};

/* One PENDING password check, done on a worker thread. */
struct sample_check {
	struct sample *sample;
	postino_hook_call *call;
	char *password;
	int contains;
};

static void sample_check_work(void *data)
{
	struct sample_check *check = data;

	check->contains = strstr(check->password, check->sample->forbidden) != NULL;
}

static void sample_check_done(void *data, int status)
{
	struct sample_check *check = data;
	const struct postino_host *host = check->sample->host;

	if (status == 0 && check->contains) {
		host->policy->hook_reply(check->call, 550,
				 "5.7.0 sample: the password contains '%s'",
				 check->sample->forbidden);
		host->policy->hook_complete(check->call, POSTINO_REJECT);
	} else {
		host->policy->hook_complete(check->call, POSTINO_CONTINUE);
	}
	free(check->password);
	free(check);
}

static enum postino_verdict sample_password_validate(
	postino_hook_call *call, const struct postino_hook_event *ev, void *data)
{
	struct sample *sample = data;
	struct sample_check *check = calloc(1, sizeof(*check));

	if (check == NULL)
		return POSTINO_DEFER;
	check->sample = sample;
	check->call = call;
	check->password = strdup(ev->password);
	if (check->password == NULL ||
	    sample->host->core->work_submit(sample->mod, sample_check_work,
				      sample_check_done, check) < 0) {
		free(check->password);
		free(check);
		return POSTINO_DEFER;
	}
	return POSTINO_PENDING;
}

static enum postino_verdict sample_password_changed(
	postino_hook_call *call, const struct postino_hook_event *ev, void *data)
{
	struct sample *sample = data;

	(void)call;
	sample->host->policy->state_put(sample->mod, "last_changed", ev->account,
				strlen(ev->account), 0, NULL, NULL);
	return POSTINO_CONTINUE;
}

static void sample_tick_saved(void *data, int status)
{
	struct sample *sample = data;

	if (status != 0)
		sample->host->core->log(sample->mod, POSTINO_LOG_ERROR, NULL,
				  "saving ticks failed status=%d", status);
}

static void sample_tick(void *data)
{
	struct sample *sample = data;
	char value[32];

	sample->ticks++;
	int len = snprintf(value, sizeof(value), "%" PRId64, sample->ticks);
	sample->host->policy->state_put(sample->mod, "ticks", value, (size_t)len, 0,
				sample_tick_saved, sample);
	if (sample->ticks == 1)
		sample->host->core->log(sample->mod, POSTINO_LOG_INFO, NULL,
				  "first tick greeting=%s",
				  sample->host->core->config_string(sample->mod,
							      "greeting"));
}

/* ---- SMTP policy hooks ---- */

static enum postino_verdict sample_data_end(
	postino_hook_call *call, const struct postino_hook_event *ev, void *data)
{
	struct sample *sample = data;

	(void)call;
	if (POSTINO_HAS_FIELD(ev, struct postino_hook_event, msg) &&
	    ev->msg != NULL) {
		int ret = sample->host->mail->msg_add_header(ev->msg, "X-Sample",
						       sample->add_header);
		if (ret < 0)
			sample->host->core->log(sample->mod, POSTINO_LOG_ERROR,
					  ev->session_id,
					  "msg_add_header failed: %d", ret);
	}
	return POSTINO_CONTINUE;
}

/* One PENDING recipient decision, made on a worker thread. */
struct sample_rcpt {
	struct sample *sample;
	postino_hook_call *call;
	char *rcpt;
	int defer;
};

static enum postino_verdict sample_rcpt_defer(struct sample *sample,
					      postino_hook_call *call,
					      const char *rcpt)
{
	sample->host->policy->hook_reply(call, 450, "4.7.1 <%s>: sample says try later",
				 rcpt);
	return POSTINO_DEFER;
}

static void sample_rcpt_work(void *data)
{
	struct sample_rcpt *r = data;

	r->defer = strcasecmp(r->rcpt, r->sample->defer_rcpt) == 0;
}

static void sample_rcpt_done(void *data, int status)
{
	struct sample_rcpt *r = data;
	const struct postino_host *host = r->sample->host;

	if (status != 0) {
		host->policy->hook_reply(r->call, 451, "4.3.0 sample: check cancelled");
		host->policy->hook_complete(r->call, POSTINO_DEFER);
	} else if (r->defer) {
		host->policy->hook_complete(r->call,
				    sample_rcpt_defer(r->sample, r->call,
						      r->rcpt));
	} else {
		host->policy->hook_complete(r->call, POSTINO_CONTINUE);
	}
	free(r->rcpt);
	free(r);
}

static enum postino_verdict sample_rcpt_to(
	postino_hook_call *call, const struct postino_hook_event *ev, void *data)
{
	struct sample *sample = data;

	if (ev->rcpt_to == NULL)
		return POSTINO_CONTINUE;
	if (!sample->pending_rcpt) {
		if (strcasecmp(ev->rcpt_to, sample->defer_rcpt) != 0)
			return POSTINO_CONTINUE;
		return sample_rcpt_defer(sample, call, ev->rcpt_to);
	}
	struct sample_rcpt *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return POSTINO_DEFER;
	r->sample = sample;
	r->call = call;
	r->rcpt = strdup(ev->rcpt_to);
	if (r->rcpt == NULL ||
	    sample->host->core->work_submit(sample->mod, sample_rcpt_work,
				      sample_rcpt_done, r) < 0) {
		free(r->rcpt);
		free(r);
		return POSTINO_DEFER;
	}
	return POSTINO_PENDING;
}

static int sample_cmd_get(void *data, int argc, char **argv, FILE *out,
			  FILE *err)
{
	struct sample *sample = data;
	char value[256];
	size_t len;

	if (argc != 2) {
		fprintf(err, "usage: get KEY\n");
		return 64;
	}
	int ret = sample->host->policy->state_get(sample->mod, argv[1], value,
					  sizeof(value) - 1, &len);
	if (ret == -ENOENT) {
		fprintf(err, "no value for %s\n", argv[1]);
		return 67;
	}
	if (ret < 0) {
		fprintf(err, "state error %d\n", ret);
		return 74;
	}
	value[len < sizeof(value) - 1 ? len : sizeof(value) - 1] = '\0';
	fprintf(out, "%s\n", value);
	return 0;
}

static int sample_cmd_put(void *data, int argc, char **argv, FILE *out,
			  FILE *err)
{
	struct sample *sample = data;

	(void)out;
	if (argc != 3) {
		fprintf(err, "usage: put KEY VALUE\n");
		return 64;
	}
	int ret = sample->host->policy->state_put(sample->mod, argv[1], argv[2],
					  strlen(argv[2]), 0, NULL, NULL);
	return ret < 0 ? 74 : 0;
}

static int sample_init(postino_mod *mod, const struct postino_host *host,
		       void **data_r)
{
	struct sample *sample = calloc(1, sizeof(*sample));
	if (sample == NULL)
		return -ENOMEM;
	sample->mod = mod;
	sample->host = host;
	sample->forbidden = host->core->config_string(mod, "forbidden");
	host->policy->hook_register(mod, POSTINO_HOOK_PASSWORD_VALIDATE,
			    sample_password_validate, sample);
	host->policy->hook_register(mod, POSTINO_HOOK_PASSWORD_CHANGED,
			    sample_password_changed, sample);
	sample->add_header = host->core->config_string(mod, "add_header");
	sample->defer_rcpt = host->core->config_string(mod, "defer_rcpt");
	sample->pending_rcpt = host->core->config_number(mod, "pending_rcpt") != 0;
	if (sample->add_header != NULL && *sample->add_header != '\0')
		host->policy->hook_register(mod, POSTINO_HOOK_SMTP_DATA_END,
					    sample_data_end, sample);
	if (sample->defer_rcpt != NULL && *sample->defer_rcpt != '\0')
		host->policy->hook_register(mod, POSTINO_HOOK_SMTP_RCPT_TO,
				    sample_rcpt_to, sample);
	host->policy->admin_register(mod, "get", "KEY", sample_cmd_get, sample);
	host->policy->admin_register(mod, "put", "KEY VALUE", sample_cmd_put, sample);
	int64_t tick_ms = host->core->config_number(mod, "tick_ms");
	if (tick_ms > 0)
		sample->timer = host->core->timer_start(mod, (uint64_t)tick_ms,
						  (uint64_t)tick_ms,
						  POSTINO_TIMER_NODE, sample_tick,
						  sample);
#ifdef SAMPLE_INIT_FAILS
	/* The host must forget the hooks, commands and timer above. */
	free(sample);
	host->core->log(mod, POSTINO_LOG_ERROR, NULL, "init fails on purpose");
	return -EPERM;
#endif
	*data_r = sample;
	return 0;
}

static void sample_fini(postino_mod *mod, void *data)
{
	struct sample *sample = data;

	sample->host->core->timer_stop(&sample->timer);
	sample->host->core->log(mod, POSTINO_LOG_INFO, NULL, "fini ticks=%" PRId64,
			  sample->ticks);
	free(sample);
}

static const struct postino_config_key sample_keys[] = {
	{ "forbidden", POSTINO_CONFIG_STRING, "forbidden",
	  "passwords containing this word are refused" },
	{ "greeting", POSTINO_CONFIG_STRING, "hello", "logged at the first tick" },
	{ "tick_ms", POSTINO_CONFIG_INT, "0", "timer period, 0 = no timer" },
	{ "enabled", POSTINO_CONFIG_BOOL, "yes", "a boolean, for config tests" },
	{ "add_header", POSTINO_CONFIG_STRING, "",
	  "SMTP: put X-Sample: VALUE on every message (DATA_END)" },
	{ "defer_rcpt", POSTINO_CONFIG_STRING, "",
	  "SMTP: answer 450 to RCPT TO this address" },
	{ "pending_rcpt", POSTINO_CONFIG_BOOL, "no",
	  "SMTP: decide defer_rcpt on a worker (PENDING)" },
	{ NULL, 0, NULL, NULL },
};

POSTINO_EXPORT const struct postino_module SAMPLE_SYMBOL = {
	/* Spelled out rather than POSTINO_MODULE_HEADER so the broken
	 * variants can claim another major. */
	.size = sizeof(struct postino_module),
	.abi_major = SAMPLE_CLAIM_MAJOR,
	.abi_minor = POSTINO_ABI_MINOR,
	.config_key_size = sizeof(struct postino_config_key),
	.name = SAMPLE_NAME,
	.version = "1.0.0",
	.description = "test module exercising the plugin ABI",
	.config_keys = sample_keys,
	.init = sample_init,
	.fini = sample_fini,
	.requires = sample_requires,
};
