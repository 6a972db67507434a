/* pwpolicy.so: password strength rules, the forced-change campaign with
 * the schedule operators know (notice, reminders, last notice with the
 * generated password, forced change), periodic advisory reminders and
 * reset tokens sent to a secondary address. Built only against
 * plugins-api/ (postino/plugin.h) and libpwquality. README has the whole
 * picture; this file holds the descriptor, settings, hooks and helpers. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "pw.h"

#ifndef PWPOLICY_TEMPLATES
#define PWPOLICY_TEMPLATES "/etc/postino/templates/pwpolicy"
#endif

/* ---- helpers ------------------------------------------------------------ */

int pw_state_string(struct pw *p, const char *key, char *buf, size_t len)
{
	size_t got = 0;
	int ret = p->host->policy->state_get(p->mod, key, buf, len - 1, &got);

	if (ret < 0)
		return ret;
	buf[got < len - 1 ? got : len - 1] = '\0';
	return 0;
}

const char *pw_lang_for(struct pw *p, const char *address,
			const char *account_lang)
{
	char key[PW_KEY_MAX], value[8];
	const char *at = strrchr(address, '@');

	if (account_lang != NULL && account_lang[0] != '\0')
		return pw_lang_index(account_lang) ? "it" : "en";
	if (at != NULL) {
		snprintf(key, sizeof(key), "lang:%s", at);
		if (pw_state_string(p, key, value, sizeof(value)) == 0)
			return pw_lang_index(value) ? "it" : "en";
	}
	return p->lang;
}

int pw_random_text(char *out, size_t n)
{
	static const char alphabet[] =
		"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	unsigned char random[128];

	if (n >= sizeof(random) ||
	    getrandom(random, n, 0) != (ssize_t)n)
		return -EIO;
	/* 256 % 56 != 0: a slight bias, far below what matters for 16+
	 * characters (each still carries > 5.8 bits). */
	for (size_t i = 0; i < n; i++)
		out[i] = alphabet[random[i] % (sizeof(alphabet) - 1)];
	out[n] = '\0';
	explicit_bzero(random, sizeof(random));
	return 0;
}

int pw_parse_time(const char *text, int64_t *t_r)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end == NULL) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(text, "%Y-%m-%d", &tm);
	}
	if (end == NULL || (*end != '\0' && strcmp(end, "Z") != 0))
		return -EINVAL;
	*t_r = (int64_t)timegm(&tm);
	return 0;
}

void pw_format_date(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%d", &tm);
}

int pw_deliver(struct pw *p, const char *address, const char *extra,
	       const char *text, size_t len, const char *key,
	       const char *value, int64_t expires_at,
	       void (*done)(void *data, int status), void *data)
{
	const char *to[2];
	size_t n = 0;

	if (address != NULL)
		to[n++] = address;
	if (extra != NULL)
		to[n++] = extra;
	postino_msg *msg = p->host->mail->msg_new(p->mod, NULL);
	if (msg == NULL)
		return -ENOMEM;
	int ret = p->host->mail->msg_append(msg, text, len);
	if (ret < 0) {
		p->host->mail->msg_discard(&msg);
		return ret;
	}
	/* The notice and "it went out" in one commit. */
	const struct postino_delivery state = {
		.size = sizeof(state),
		.state_key = key,
		.state_value = value,
		.state_len = value != NULL ? strlen(value) : 0,
		.state_expires_at = expires_at,
	};
	return p->host->mail->msg_deliver_to(msg, to, n, &state, done, data);
}

/* ---- hooks -------------------------------------------------------------- */

/* A PASSWORD_VALIDATE check waiting for the history lookup. In admin
 * commands the host answers before password_in_history returns, so the
 * hook answers at once; in the daemon it goes PENDING. */
struct pw_validate {
	struct pw *p;
	postino_hook_call *call;
	int returned; /* the hook returned PENDING */
	int answered;
	int status;
	char lang[8];
};

static enum postino_verdict validate_verdict(struct pw_validate *v)
{
	if (v->status == 1) {
		v->p->host->policy->hook_reply(v->call, 550, "%s",
				       pw_reused_text(v->lang));
		return POSTINO_REJECT;
	}
	return POSTINO_CONTINUE;
}

static void validate_history_done(void *data, int status)
{
	struct pw_validate *v = data;

	v->answered = 1;
	v->status = status;
	if (!v->returned)
		return;
	v->p->host->policy->hook_complete(v->call, validate_verdict(v));
	free(v);
}

static enum postino_verdict pw_validate_hook(postino_hook_call *call,
					     const struct postino_hook_event *ev,
					     void *data)
{
	struct pw *p = data;
	struct postino_account a = { .size = sizeof(a) };
	char reason[512];

	if (ev->account == NULL || ev->password == NULL)
		return POSTINO_CONTINUE;
	int exists = p->host->account->account_get(p->mod, ev->account, &a) == 0;
	const char *lang = pw_lang_for(p, ev->account, exists ? a.lang : NULL);

	if (pw_strength_check(p, ev->account, ev->password, lang, reason,
			      sizeof(reason)) < 0) {
		p->host->policy->hook_reply(call, 550, "%s", reason);
		p->host->core->log(p->mod, POSTINO_LOG_INFO, ev->session_id,
			     "password for %s refused: %s", ev->account,
			     reason);
		return POSTINO_REJECT;
	}
	if (!exists || p->history <= 0)
		return POSTINO_CONTINUE;
	struct pw_validate *v = calloc(1, sizeof(*v));
	if (v == NULL)
		return POSTINO_CONTINUE;
	v->p = p;
	v->call = call;
	snprintf(v->lang, sizeof(v->lang), "%s", lang);
	int ret = p->host->account->password_in_history(p->mod, ev->account,
					       ev->password,
					       (unsigned)p->history,
					       validate_history_done, v);
	if (ret < 0 || v->answered) {
		if (ret < 0)
			v->status = 0;
		enum postino_verdict verdict = validate_verdict(v);
		if (verdict == POSTINO_REJECT)
			p->host->core->log(p->mod, POSTINO_LOG_INFO, ev->session_id,
				     "password for %s refused: reused",
				     ev->account);
		free(v);
		return verdict;
	}
	v->returned = 1;
	return POSTINO_PENDING;
}

static void pw_state_done(void *data, int status)
{
	struct pw *p = data;

	if (status < 0 && status != -ENOENT)
		p->host->core->log(p->mod, POSTINO_LOG_ERROR, NULL,
			     "saving state failed: %s", strerror(-status));
}

/* Any change made elsewhere (CLI, a panel, a reset) ends the campaign. */
static enum postino_verdict pw_changed_hook(postino_hook_call *call,
					    const struct postino_hook_event *ev,
					    void *data)
{
	struct pw *p = data;
	char key[PW_KEY_MAX], value[PW_VALUE_MAX];

	(void)call;
	if (ev->account == NULL)
		return POSTINO_CONTINUE;
	snprintf(key, sizeof(key), "c:%s", ev->account);
	if (pw_state_string(p, key, value, sizeof(value)) == 0) {
		p->host->core->log(p->mod, POSTINO_LOG_INFO, ev->session_id,
			     "campaign ended for %s: password changed",
			     ev->account);
		p->host->policy->state_delete(p->mod, key, pw_state_done, p);
	}
	return POSTINO_CONTINUE;
}

/* ---- init and fini ------------------------------------------------------- */

static void pw_free(struct pw *p)
{
	pw_templates_free(&p->templates);
	free(p->service);
	if (p->pwq != NULL)
		pwquality_free_settings(p->pwq);
	free(p);
}

static int pw_config(struct pw *p)
{
	const struct postino_host *host = p->host;
	postino_mod *mod = p->mod;
	const char *lang = host->core->config_string(mod, "lang");
	const char *from = host->core->config_string(mod, "from");
	const char *dir = host->core->config_string(mod, "templates");
	char err[512];

	p->min_length = host->core->config_number(mod, "min_length");
	p->min_score = host->core->config_number(mod, "min_score");
	p->history = host->core->config_number(mod, "history");
	p->max_age = host->core->config_number(mod, "max_age");
	p->token_ttl = host->core->config_number(mod, "token_ttl");
	p->generated_length = host->core->config_number(mod, "generated_length");
	p->reveal_password = (int)host->core->config_number(mod, "reveal_password");
	p->copy_to_secondary = (int)host->core->config_number(mod,
							"copy_to_secondary");
	p->from_name = host->core->config_string(mod, "from_name");
	static const char *const offsets[PW_STEP_COUNT] = {
		"notice", "first_reminder", "second_reminder", "last_notice",
		"force_change",
	};
	for (int i = 0; i < PW_STEP_COUNT; i++)
		p->schedule.offset[i] = host->core->config_number(mod, offsets[i]);
	p->schedule.deadline = host->core->config_number(mod, "deadline");
	for (int i = 1; i < PW_STEP_COUNT; i++) {
		if (p->schedule.offset[i] <= p->schedule.offset[i - 1]) {
			host->core->log(mod, POSTINO_LOG_ERROR, NULL, "[pwpolicy] "
				  "notice < first_reminder < second_reminder < "
				  "last_notice < force_change is required");
			return -EINVAL;
		}
	}
	if (p->min_length < 6 || p->min_length > 256 || p->history < 0 ||
	    p->history > 25 || p->min_score < 0 || p->min_score > 100 ||
	    p->generated_length < 12 || p->generated_length > 64 ||
	    p->token_ttl <= 0 || p->max_age < 0) {
		host->core->log(mod, POSTINO_LOG_ERROR, NULL, "[pwpolicy] min_length "
			  "6..256, history 0..25, min_score 0..100, "
			  "generated_length 12..64, token_ttl > 0, max_age "
			  ">= 0");
		return -EINVAL;
	}
	if (lang == NULL || (strcmp(lang, "it") != 0 && strcmp(lang, "en"))) {
		host->core->log(mod, POSTINO_LOG_ERROR, NULL,
			  "[pwpolicy] lang must be it or en");
		return -EINVAL;
	}
	snprintf(p->lang, sizeof(p->lang), "%s", lang);
	if (from != NULL && from[0] != '\0')
		snprintf(p->from, sizeof(p->from), "%s", from);
	else
		snprintf(p->from, sizeof(p->from), "postmaster@%s",
			 host->core->hostname(mod));
	int ret = pw_templates_load(&p->templates,
				    dir != NULL && dir[0] != '\0'
					    ? dir : PWPOLICY_TEMPLATES,
				    err, sizeof(err));
	if (ret < 0) {
		host->core->log(mod, POSTINO_LOG_ERROR, NULL, "[pwpolicy] %s", err);
		return ret;
	}
	p->pwq = pwquality_default_settings();
	if (p->pwq == NULL)
		return -ENOMEM;
	/* pwquality scores against its minimum length: with ours, a
	 * 12-character "password1234" scores 44 of 100 instead of 100.
	 * Dictionary and user name checks on. */
	pwquality_set_int_value(p->pwq, PWQ_SETTING_MIN_LENGTH,
				(int)p->min_length);
	pwquality_set_int_value(p->pwq, PWQ_SETTING_DICT_CHECK, 1);
	pwquality_set_int_value(p->pwq, PWQ_SETTING_USER_CHECK, 1);
	return 0;
}

static int pw_init(postino_mod *mod, const struct postino_host *host,
		   void **data_r)
{
	struct pw *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return -ENOMEM;
	p->mod = mod;
	p->host = host;
	int ret = pw_config(p);
	if (ret < 0) {
		pw_free(p);
		return ret;
	}
	host->policy->hook_register(mod, POSTINO_HOOK_PASSWORD_VALIDATE,
			    pw_validate_hook, p);
	host->policy->hook_register(mod, POSTINO_HOOK_PASSWORD_CHANGED,
			    pw_changed_hook, p);
	pw_admin_register(p);
	if ((ret = pw_service_export(p)) < 0) {
		host->core->log(mod, POSTINO_LOG_ERROR, NULL,
				"exporting the pwpolicy service failed: %s",
				strerror(-ret));
		pw_free(p);
		return ret;
	}
	int64_t interval = host->core->config_number(mod, "interval");
	p->timer = host->core->timer_start(mod, 1000, (uint64_t)interval * 1000,
				     POSTINO_TIMER_NODE, pw_timer_fire, p);
	*data_r = p;
	return 0;
}

static void pw_fini(postino_mod *mod, void *data)
{
	struct pw *p = data;

	(void)mod;
	p->host->core->timer_stop(&p->timer);
	pw_free(p);
}

static const struct postino_config_key pw_keys[] = {
	{ "min_length", POSTINO_CONFIG_INT, "10", "shortest password" },
	{ "min_score", POSTINO_CONFIG_INT, "60",
	  "lowest libpwquality score (0..100) accepted" },
	{ "history", POSTINO_CONFIG_INT, "5",
	  "a new password must differ from this many last ones (0: off)" },
	{ "max_age", POSTINO_CONFIG_DURATION, "0",
	  "start a campaign when a password is this old (0: never)" },
	{ "interval", POSTINO_CONFIG_DURATION, "1h",
	  "how often the daemon runs a pass" },
	{ "notice", POSTINO_CONFIG_DURATION, "0", "day-0 notice" },
	{ "first_reminder", POSTINO_CONFIG_DURATION, "7d", "first reminder" },
	{ "second_reminder", POSTINO_CONFIG_DURATION, "14d",
	  "second reminder" },
	{ "last_notice", POSTINO_CONFIG_DURATION, "21d",
	  "last notice, with the password to be set" },
	{ "force_change", POSTINO_CONFIG_DURATION, "23d",
	  "the password is replaced" },
	{ "deadline", POSTINO_CONFIG_DURATION, "30d",
	  "\"change within\" as the notices state it" },
	{ "reveal_password", POSTINO_CONFIG_BOOL, "yes",
	  "the last notice states the new password; no: a reset token goes "
	  "to the secondary address instead" },
	{ "copy_to_secondary", POSTINO_CONFIG_BOOL, "no",
	  "campaign notices also go to the secondary address" },
	{ "generated_length", POSTINO_CONFIG_INT, "16",
	  "length of generated passwords" },
	{ "token_ttl", POSTINO_CONFIG_DURATION, "1h",
	  "reset tokens expire after this" },
	{ "lang", POSTINO_CONFIG_STRING, "it",
	  "language when neither account nor domain sets one: it or en" },
	{ "from", POSTINO_CONFIG_STRING, "",
	  "sender of notices (default postmaster@HOSTNAME)" },
	{ "from_name", POSTINO_CONFIG_STRING, "Postmaster",
	  "display name of the sender" },
	{ "templates", POSTINO_CONFIG_STRING, "",
	  "directory with it/ and en/ templates (default: installed)" },
	{ NULL, 0, NULL, NULL },
};

POSTINO_EXPORT const struct postino_module postino_module_v1 = {
	POSTINO_MODULE_HEADER,
	.name = "pwpolicy",
	.version = "1.0.0",
	.description = "password strength, forced change campaigns, reminders "
		       "and reset tokens",
	.config_keys = pw_keys,
	.init = pw_init,
	.fini = pw_fini,
};
