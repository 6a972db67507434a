/* The DELIVERY hook: the account's active script, run off the loop.
 *
 * On the loop: the index (which script is active), its compiled program
 * and the account's mailbox names (for mailboxexists) are read; on a
 * worker: the program is loaded (validated) and, when it includes other
 * scripts, the loop fetches those and the worker looks again (a round per
 * include level, at most max_include_depth + 1); then the worker runs it
 * over the message (msg_read) and the loop hands the actions to the host
 * (delivery_*). A program stored by an older engine (another format) is
 * compiled again from its text and stored again.
 *
 * A script that fails never loses mail: any error, the engine's or ours,
 * ends in the implicit keep (INBOX) and one log line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sm.h"

#define SM_MAILBOXES_MAX 1000

/* A script this run may execute: the active one first, then includes. */
struct sm_prog {
	int global;
	char *name;
	char hash[65];
	char *data;           /* compiled program bytes, or */
	size_t len;
	char *text;           /* the script's text when the program must be
			       * made again */
	size_t text_len;
	int fetched;          /* the loop read it (or found it missing) */
	int missing;          /* no such script: include fails (or not,
			       * :optional) */
	int need_text;        /* its program would not load: read the text */
	int loaded;           /* its includes were looked at */
	int rewrite;          /* compiled again here: store the program */
};

struct sm_run {
	struct sm *sm;
	postino_hook_call *call;
	char *account, *rcpt, *mail_from, *session_id;
	postino_msg *msg;
	uint64_t msg_size;
	struct sm_prog *progs;
	size_t n_progs;
	char **mailboxes;
	size_t n_mailboxes;
	const char *separators;
	int64_t now;
	int zone;
	unsigned rounds;
	/* from the worker */
	int want;             /* includes to fetch before running */
	int status;           /* < 0: nothing ran (implicit keep) */
	char error[1024];     /* why, for the log */
	struct sieve_result *result;
};

static void run_free(struct sm_run *run)
{
	for (size_t i = 0; i < run->n_progs; i++) {
		free(run->progs[i].name);
		free(run->progs[i].data);
		free(run->progs[i].text);
	}
	free(run->progs);
	for (size_t i = 0; i < run->n_mailboxes; i++)
		free(run->mailboxes[i]);
	free(run->mailboxes);
	sieve_result_free(&run->result);
	free(run->account);
	free(run->rcpt);
	free(run->mail_from);
	free(run->session_id);
	free(run);
}

static struct sm_prog *prog_find(struct sm_run *run, int global,
				 const char *name)
{
	for (size_t i = 0; i < run->n_progs; i++) {
		if (run->progs[i].global == global &&
		    strcmp(run->progs[i].name, name) == 0)
			return &run->progs[i];
	}
	return NULL;
}

static struct sm_prog *prog_add(struct sm_run *run, int global,
				const char *name)
{
	struct sm_prog *grown = realloc(run->progs,
					(run->n_progs + 1) * sizeof(*grown));

	if (grown == NULL)
		return NULL;
	run->progs = grown;
	struct sm_prog *p = &grown[run->n_progs];
	memset(p, 0, sizeof(*p));
	p->global = global;
	p->name = strdup(name);
	if (p->name == NULL)
		return NULL;
	run->n_progs++;
	return p;
}

/* ---- on the loop: reading scripts -------------------------------------------- */

/* The compiled program of a script (or, when it cannot be read, its text
 * to compile again). -ENOENT: no such script. */
static int prog_fetch(struct sm *sm, struct sm_prog *p, const char *account)
{
	struct sm_index index;
	const char *owner = p->global ? SM_GLOBAL : account;
	int ret = sm_index_read(sm, owner, &index);
	const struct sm_entry *e = ret == 0 ? sm_index_find(&index, p->name)
					    : NULL;

	if (ret == 0 && e == NULL)
		ret = -ENOENT;
	if (ret == 0) {
		snprintf(p->hash, sizeof(p->hash), "%s", e->hash);
		ret = sm_blob_read(sm, "bin", owner, p->hash, &p->data,
				   &p->len);
		if (ret == -EIO || ret == -ENOENT)
			ret = sm_blob_read(sm, "src", owner, p->hash, &p->text,
					   &p->text_len);
	}
	sm_index_free(&index);
	if (ret == -ENOENT)
		p->missing = 1;
	return ret;
}

/* ---- on a worker ----------------------------------------------------------------- */

static ssize_t run_read(void *context, uint64_t offset, void *buf, size_t len)
{
	struct sm_run *run = context;

	return (ssize_t)run->sm->host->mail->msg_read(run->msg, offset, buf,
						      len);
}

static int run_mailbox_exists(void *context, const char *mailbox)
{
	struct sm_run *run = context;

	for (size_t i = 0; i < run->n_mailboxes; i++) {
		if (strcmp(run->mailboxes[i], mailbox) == 0 ||
		    (strcasecmp(mailbox, "INBOX") == 0 &&
		     strcasecmp(run->mailboxes[i], "INBOX") == 0))
			return 1;
	}
	return 0;
}

/* Loads p's program; a program the engine cannot read (stored by another
 * version) is made again from the text, once the loop fetched it. */
static int prog_load(struct sm_run *run, struct sm_prog *p,
		     struct sieve_program **program_r)
{
	int ret = -ENOENT;

	if (p->data != NULL) {
		ret = sieve_program_load(p->data, p->len, program_r);
		if (ret == 0 || p->text != NULL)
			return ret;
		/* Ask the loop for the text. */
		free(p->data);
		p->data = NULL;
		p->need_text = 1;
		return -EAGAIN;
	}
	if (p->text != NULL) {
		struct sm_compiled c;
		sm_compile(run->sm, p->text, p->text_len, &c);
		if (c.status < 0) {
			snprintf(run->error, sizeof(run->error),
				 "script '%.200s' does not compile any more: %s",
				 p->name, c.error);
			return c.status;
		}
		p->data = c.program;
		p->len = c.program_len;
		p->rewrite = 1;
		return sieve_program_load(p->data, p->len, program_r);
	}
	return ret;
}

static int run_include(void *context, enum sieve_include_location location,
		       const char *name, struct sieve_program **program_r)
{
	struct sm_run *run = context;
	struct sm_prog *p = prog_find(run, location == SIEVE_INCLUDE_GLOBAL,
				      name);

	if (p == NULL || p->missing)
		return -ENOENT;
	return prog_load(run, p, program_r);
}

static int want_include(void *ctx, enum sieve_include_location location,
			const char *name)
{
	struct sm_run *run = ctx;
	int global = location == SIEVE_INCLUDE_GLOBAL;

	if (prog_find(run, global, name) != NULL)
		return 0;
	/* The engine runs at most max_includes; no more are worth a read. */
	if (run->n_progs > run->sm->limits.max_includes)
		return 0;
	if (prog_add(run, global, name) == NULL)
		return -ENOMEM;
	run->want = 1;
	return 0;
}

static void run_work(void *data)
{
	struct sm_run *run = data;
	struct sieve_program *main = NULL;

	run->want = 0;
	/* Every script fetched so far: can it load, what does it include? */
	for (size_t i = 0; i < run->n_progs && run->status == 0; i++) {
		struct sm_prog *p = &run->progs[i];
		struct sieve_program *program = NULL;
		/* Scripts named in this round wait for the loop to read them. */
		if (p->missing || p->loaded || !p->fetched)
			continue;
		int ret = prog_load(run, p, &program);
		if (ret == -EAGAIN) {
			run->want = 1;
			continue;
		}
		if (ret < 0 && i == 0) {
			run->status = ret;
			if (run->error[0] == '\0')
				snprintf(run->error, sizeof(run->error),
					 "its compiled program cannot be "
					 "read: %s", strerror(-ret));
			break;
		}
		if (ret < 0) {
			/* An include that fails to load fails at its line. */
			p->missing = 1;
			continue;
		}
		p->loaded = 1;
		if (sieve_program_includes(program, want_include, run) < 0)
			run->status = -ENOMEM;
		sieve_program_free(&program);
	}
	if (run->status < 0 || run->want)
		return;
	int ret = prog_load(run, &run->progs[0], &main);
	struct sieve_message msg = {
		.read = run_read, .context = run, .size = run->msg_size,
	};
	struct sieve_envelope envelope = {
		.from = run->mail_from, .to = run->rcpt,
	};
	const char *addresses[] = { run->account, run->rcpt };
	struct sieve_env env = {
		.limits = &run->sm->limits,
		.addresses = addresses,
		.n_addresses = 2,
		.separators = run->separators,
		.now = run->now,
		.zone_minutes = run->zone,
		.mailbox_exists = run_mailbox_exists,
		.include = run_include,
		.context = run,
	};
	if (ret == 0)
		ret = sieve_evaluate(main, &msg, &envelope, &env, &run->result);
	sieve_program_free(&main);
	if (ret < 0) {
		run->status = ret;
		snprintf(run->error, sizeof(run->error), "%s", strerror(-ret));
	}
}

/* ---- back on the loop: the actions ------------------------------------------ */

/* IMAP flags as the host takes them: system flags as bits, the rest as
 * keywords. */
static uint32_t flags_split(const struct sieve_action *a, char *keywords,
			    size_t size)
{
	static const struct { const char *name; uint32_t bit; } system[] = {
		{ "\\Seen", POSTINO_FLAG_SEEN },
		{ "\\Answered", POSTINO_FLAG_ANSWERED },
		{ "\\Flagged", POSTINO_FLAG_FLAGGED },
		{ "\\Deleted", POSTINO_FLAG_DELETED },
		{ "\\Draft", POSTINO_FLAG_DRAFT },
	};
	uint32_t flags = 0;
	size_t len = 0;

	keywords[0] = '\0';
	for (size_t i = 0; i < a->n_flags; i++) {
		const char *f = a->flags[i];
		int sys = 0;
		for (size_t k = 0; k < sizeof(system) / sizeof(system[0]); k++) {
			if (strcasecmp(f, system[k].name) == 0) {
				flags |= system[k].bit;
				sys = 1;
			}
		}
		if (sys || f[0] == '\\')
			continue;
		int n = snprintf(keywords + len, size - len, "%s%s",
				 len > 0 ? " " : "", f);
		if (n < 0 || (size_t)n >= size - len) {
			keywords[len] = '\0';
			break;
		}
		len += (size_t)n;
	}
	return flags;
}

static void keep(struct sm_run *run, const char *mailbox,
		 const struct sieve_action *a, int create)
{
	const struct postino_host_mail *mail = run->sm->host->mail;
	char keywords[1024];
	uint32_t flags = a != NULL ? flags_split(a, keywords, sizeof(keywords))
				   : 0;

	if (a == NULL)
		keywords[0] = '\0';
	int ret = mail->delivery_fileinto(run->call, mailbox, flags,
					  keywords[0] ? keywords : NULL,
					  create);
	/* A keyword the store will not take must not cost the copy. */
	if (ret == -EINVAL)
		ret = mail->delivery_fileinto(run->call, mailbox, flags, NULL,
					      create);
	if (ret == -EINVAL)
		ret = mail->delivery_fileinto(run->call, NULL, 0, NULL, 0);
	if (ret < 0)
		run->sm->host->core->log(run->sm->mod, POSTINO_LOG_ERROR,
					 run->session_id,
					 "%s: cannot store a copy: %s",
					 run->account, strerror(-ret));
}

struct redirect_count {
	unsigned add, limit;
	int64_t expires_at;
	int over;
};

static int redirect_count_fn(void *data, const void *old, size_t old_len,
			     void *buf, size_t bufsize, size_t *len_r,
			     int64_t *expires_at_r)
{
	struct redirect_count *c = data;
	unsigned long used = 0;
	char text[24];

	if (old != NULL && old_len < sizeof(text)) {
		memcpy(text, old, old_len);
		text[old_len] = '\0';
		used = strtoul(text, NULL, 10);
	}
	if (used + c->add > c->limit) {
		c->over = 1;
		return 0;
	}
	int n = snprintf(buf, bufsize, "%lu", used + c->add);
	*len_r = (size_t)n;
	*expires_at_r = c->expires_at;
	return 1;
}

/* Whether n more redirects fit in the account's hour (a counter per
 * account and hour, gone with the hour); counts them. */
static int redirects_allowed(struct sm_run *run, unsigned n)
{
	struct sm *sm = run->sm;
	int64_t hour = run->now / 3600;
	struct redirect_count c = { n, sm->redirects_per_hour,
				    (hour + 2) * 3600, 0 };
	char key[600];

	if (n == 0)
		return 1;
	snprintf(key, sizeof(key), "redir:%s:%lld", run->account,
		 (long long)hour);
	int ret = sm->host->policy->state_update(sm->mod, key,
						 redirect_count_fn, &c, NULL,
						 NULL);
	if (c.over)
		sm->host->core->log(sm->mod, POSTINO_LOG_WARNING,
				    run->session_id,
				    "%s: more than %u redirects in an hour: "
				    "the message is kept instead",
				    run->account, sm->redirects_per_hour);
	return ret >= 0 && !c.over;
}

/* Programs compiled again during the run go back to the store. */
static void run_rewrite(struct sm_run *run)
{
	for (size_t i = 0; i < run->n_progs; i++) {
		struct sm_prog *p = &run->progs[i];
		if (!p->rewrite || p->data == NULL)
			continue;
		struct sm_writes *w = sm_writes_new(run->sm, NULL, NULL);
		if (w == NULL)
			return;
		sm_blob_write(w, "bin", p->global ? SM_GLOBAL : run->account,
			      p->hash, p->data, p->len);
		sm_writes_end(w);
	}
}

static void run_apply(struct sm_run *run)
{
	struct sm *sm = run->sm;
	const struct postino_host_mail *mail = sm->host->mail;
	const struct sieve_result *r = run->result;
	unsigned redirects = 0;

	if (r->error != NULL)
		sm->host->core->log(sm->mod, POSTINO_LOG_WARNING,
				    run->session_id,
				    "%s: script '%s' failed, the message is "
				    "kept in INBOX: %s", run->account,
				    run->progs[0].name, r->error);
	for (size_t i = 0; i < r->n_actions; i++)
		redirects += r->actions[i].type == SIEVE_ACTION_REDIRECT;
	int redirect_ok = redirects_allowed(run, redirects);
	for (size_t i = 0; i < r->n_actions; i++) {
		const struct sieve_action *a = &r->actions[i];
		int ret = 0;
		switch (a->type) {
		case SIEVE_ACTION_KEEP:
			keep(run, NULL, a, 0);
			break;
		case SIEVE_ACTION_FILEINTO:
			keep(run, a->mailbox, a, a->create);
			break;
		case SIEVE_ACTION_REDIRECT:
			if (redirect_ok)
				ret = mail->delivery_redirect(run->call,
							      a->address);
			if (!redirect_ok || ret < 0)
				keep(run, NULL, NULL, 0);
			break;
		case SIEVE_ACTION_DISCARD:
			mail->delivery_discard(run->call);
			break;
		case SIEVE_ACTION_REJECT:
		case SIEVE_ACTION_EREJECT:
			mail->delivery_reject(run->call, a->reason);
			break;
		case SIEVE_ACTION_VACATION:
			if (a->vacation->send)
				sm_vacation_send(sm, run->account, run->rcpt,
						 a->vacation, run->session_id);
			else
				sm->host->core->log(sm->mod,
					POSTINO_LOG_DEBUG, run->session_id,
					"%s: no vacation reply to <%s>: %s",
					run->account, run->mail_from,
					a->vacation->refusal);
			break;
		}
	}
}

static int run_submit(struct sm_run *run);

static void run_done(void *data, int status)
{
	struct sm_run *run = data;
	struct sm *sm = run->sm;

	if (status < 0 && run->status == 0) {
		run->status = status;
		snprintf(run->error, sizeof(run->error), "not run: %s",
			 strerror(-status));
	}
	if (run->status == 0 && run->want && run->result == NULL) {
		int ret = run_submit(run);
		if (ret == 0)
			return;
		run->status = ret;
		snprintf(run->error, sizeof(run->error), "not run: %s",
			 strerror(-ret));
	}
	if (run->result != NULL)
		run_apply(run);
	else
		/* Nothing decided: the host keeps the copy in INBOX. */
		sm->host->core->log(sm->mod, POSTINO_LOG_WARNING,
				    run->session_id,
				    "%s: script '%s' failed, the message is "
				    "kept in INBOX: %s", run->account,
				    run->progs[0].name, run->error);
	run_rewrite(run);
	sm->host->policy->hook_complete(run->call, POSTINO_CONTINUE);
	run_free(run);
}

/* Reads what the worker asked for (scripts, or the text of a program
 * that would not load), then hands the run back to it. */
static int run_submit(struct sm_run *run)
{
	struct sm *sm = run->sm;
	int last = ++run->rounds > sm->limits.max_include_depth + 3;

	for (size_t i = 0; i < run->n_progs; i++) {
		struct sm_prog *p = &run->progs[i];
		const char *owner = p->global ? SM_GLOBAL : run->account;
		if (p->missing)
			continue;
		if (!p->fetched) {
			/* Deeper than any run goes: never run, so missing. */
			p->fetched = 1;
			if (last || prog_fetch(sm, p, run->account) < 0)
				p->missing = 1;
		} else if (p->need_text) {
			p->need_text = 0;
			if (sm_blob_read(sm, "src", owner, p->hash, &p->text,
					 &p->text_len) < 0)
				p->missing = 1;
		}
	}
	return sm->host->core->work_submit(sm->mod, run_work, run_done, run);
}

/* ---- the hook --------------------------------------------------------------------- */

static void collect_mailbox(void *data, const struct postino_mailbox_entry *e)
{
	struct sm_run *run = data;

	if (run->n_mailboxes >= SM_MAILBOXES_MAX || e->name == NULL)
		return;
	char **grown = realloc(run->mailboxes,
			       (run->n_mailboxes + 1) * sizeof(*grown));
	if (grown == NULL)
		return;
	run->mailboxes = grown;
	grown[run->n_mailboxes] = strdup(e->name);
	if (grown[run->n_mailboxes] != NULL)
		run->n_mailboxes++;
}

static int local_zone(int64_t now)
{
	time_t t = (time_t)now;
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL)
		return 0;
	return (int)(tm.tm_gmtoff / 60);
}

enum postino_verdict sm_deliver_hook(postino_hook_call *call,
				     const struct postino_hook_event *ev,
				     void *data)
{
	struct sm *sm = data;
	const struct postino_host *host = sm->host;
	struct sm_index index;

	if (ev->account == NULL || ev->msg == NULL ||
	    sm_index_read(sm, ev->account, &index) < 0)
		return POSTINO_CONTINUE;
	const struct sm_entry *active = NULL;
	for (size_t i = 0; i < index.count; i++) {
		if (index.entries[i].active)
			active = &index.entries[i];
	}
	if (active == NULL) {
		sm_index_free(&index);
		return POSTINO_CONTINUE; /* no script: the implicit keep */
	}
	struct sm_run *run = calloc(1, sizeof(*run));
	if (run == NULL) {
		sm_index_free(&index);
		return POSTINO_CONTINUE;
	}
	run->sm = sm;
	run->call = call;
	run->msg = ev->msg;
	run->msg_size = ev->message_size;
	run->account = strdup(ev->account);
	run->rcpt = strdup(ev->rcpt_to != NULL ? ev->rcpt_to : ev->account);
	run->mail_from = strdup(ev->mail_from != NULL ? ev->mail_from : "");
	run->session_id = ev->session_id != NULL ? strdup(ev->session_id)
						 : NULL;
	run->separators = host->mail->address_separators(sm->mod);
	run->now = host->core->now_ms() / 1000;
	run->zone = local_zone(run->now);
	struct sm_prog *p = prog_add(run, 0, active->name);
	sm_index_free(&index);
	if (p == NULL || run->account == NULL || run->rcpt == NULL ||
	    run->mail_from == NULL) {
		run_free(run);
		return POSTINO_CONTINUE;
	}
	host->mailbox->mailbox_list(sm->mod, run->account, collect_mailbox,
				    run);
	int ret = run_submit(run);
	if (ret < 0) {
		host->core->log(sm->mod, POSTINO_LOG_ERROR, run->session_id,
				"%s: script not run, the message is kept in "
				"INBOX: %s", run->account, strerror(-ret));
		run_free(run);
		return POSTINO_CONTINUE;
	}
	return POSTINO_PENDING;
}
