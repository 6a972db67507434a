/* The host's delivery (core/host/host_delivery.c, core/delivery): the
 * DELIVERY hook point and its delivery_* entries, redirects with SRS and
 * Delivered-To, forwarding loops ending in one bounce, rejects, the
 * address resolution behind them (SRS addresses, subaddresses), and
 * msg_deliver_to (the server's own mail, routed as SMTP recipients). */
#include <check.h>
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth/password.h"
#include "host/host_mail.h"
#include "mime/mime.h"
#include "module/hooks.h"
#include "store/store.h"
#include "util/srs.h"

struct fixture {
	char dir[64];
	uv_loop_t loop;
	struct core_ctx ctx;
	struct module_set set;
	struct config config;
	struct postino_mod mod;
	char *secrets[2];
};

static struct fixture fx;

static int job_domain(struct store_txn *txn, void *data)
{
	return store_txn_domain_add(txn, data);
}

static int job_account(struct store_txn *txn, void *data)
{
	static char hash[160];
	struct store_account_new a = { .address = data, .password_hash = hash };

	if (hash[0] == '\0' && password_hash("x", hash, sizeof(hash)) < 0)
		return -EIO;
	return store_txn_account_add(txn, &a, NULL);
}

static int job_alias(struct store_txn *txn, void *data)
{
	char **pair = data;

	return store_txn_alias_add(txn, pair[0], pair[1]);
}

static void run_job(store_job_fn *job, void *data)
{
	struct store *admin;
	char err[256];

	ck_assert_int_eq(store_open(fx.dir, STORE_MODE_ADMIN, 0, NULL, &admin,
				    err, sizeof(err)), 0);
	ck_assert_int_eq(store_submit(admin, job, NULL, data), 0);
	store_close(&admin);
}

static void alias(const char *from, const char *to)
{
	const char *pair[2] = { from, to };

	run_job(job_alias, pair);
}

static void setup(void)
{
	char err[256];

	memset(&fx, 0, sizeof(fx));
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/postino-hd-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fx.dir));
	uv_loop_init(&fx.loop);
	fx.ctx.loop = &fx.loop;
	fx.ctx.mode = CORE_MODE_DAEMON;
	log_init(&fx.ctx.log, LOG_LEVEL_DEBUG, LOG_TARGET_STDERR);
	fx.ctx.log.fd = open("/dev/null", O_WRONLY);
	fx.config.server.state_dir = fx.dir;
	fx.config.server.hostname = "mx.example.test";
	fx.config.server.recipient_delimiter = "+";
	fx.secrets[0] = "a-secret-of-some-length";
	fx.config.srs = (struct config_srs){
		.enabled = 1, .secrets = fx.secrets, .secret_count = 1,
		.domain = "example.test", .max_age = 21 };
	fx.ctx.config = &fx.config;
	ck_assert_int_eq(store_open(fx.dir, STORE_MODE_DAEMON, 1, &fx.loop,
				    &fx.ctx.store, err, sizeof(err)), 0);
	fx.set.ctx = &fx.ctx;
	fx.set.config = &fx.config;
	fx.set.refs = 1;
	fx.set.workers = 1;
	fx.mod.ctx = &fx.ctx;
	fx.mod.set = &fx.set;
	fx.mod.name = "sieve";
	fx.ctx.modules = &fx.set;
	run_job(job_domain, "example.test");
	run_job(job_account, "alice@example.test");
	run_job(job_account, "bob@example.test");
}

static void teardown(void)
{
	char cmd[128];

	for (size_t p = 0; p < HOOK_POINT_MAX; p++)
		free(fx.set.hooks[p]);
	store_close(&fx.ctx.store);
	uv_run(&fx.loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&fx.loop), 0);
	close(fx.ctx.log.fd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx.dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* ---- address resolution ---------------------------------------------------- */

static void collect(void *data, const char *address, int local)
{
	strcat(data, local ? "L:" : "R:");
	strcat(data, address);
	strcat(data, " ");
}

static const char *expand(const char *address, int *count_r)
{
	static char list[1024];

	list[0] = '\0';
	*count_r = host_address_expand(&fx.mod, address, collect, list);
	return list;
}

static void srs_of(const char *sender, int64_t now, char *out)
{
	struct srs srs = { .secrets = (const char *const *)fx.secrets,
			   .n_secrets = 1, .max_age = 21 };

	ck_assert_int_eq(srs_forward(&srs, sender, "example.test", now, out,
				     SRS_ADDRESS_MAX + 1), 0);
}

START_TEST(srs_addresses_stand_for_their_sender)
{
	char address[SRS_ADDRESS_MAX + 1];
	int n;

	srs_of("Someone@Far.test", time(NULL), address);
	ck_assert_str_eq(expand(address, &n), "R:Someone@Far.test ");
	ck_assert_int_eq(n, 1);
	/* The hash is checked without case (MTAs fold it). */
	for (char *p = address; *p != '@'; p++)
		*p = (char)toupper((unsigned char)*p);
	expand(address, &n);
	ck_assert_int_eq(n, 1);
	/* Forged: another hash; expired: past max_age. Both nobody. */
	srs_of("someone@far.test", time(NULL), address);
	address[5] = address[5] == 'A' ? 'B' : 'A';
	expand(address, &n);
	ck_assert_int_eq(n, 0);
	srs_of("someone@far.test", time(NULL) - 30 * 86400, address);
	expand(address, &n);
	ck_assert_int_eq(n, 0);
	/* Without [srs] an SRS-looking address is an ordinary one. */
	srs_of("someone@far.test", time(NULL), address);
	fx.config.srs.enabled = 0;
	expand(address, &n);
	ck_assert_int_eq(n, 0);
}
END_TEST

START_TEST(subaddresses_reach_the_user)
{
	int n;

	ck_assert_str_eq(expand("alice+lists@example.test", &n),
			 "L:alice@example.test ");
	ck_assert_str_eq(expand("Alice+a+b@example.test", &n),
			 "L:alice@example.test ");
	expand("+x@example.test", &n);
	ck_assert_int_eq(n, 0);
	expand("nobody+x@example.test", &n);
	ck_assert_int_eq(n, 0);
	/* An address that exists wins over the separator. */
	alias("alice+sales@example.test", "bob@example.test");
	ck_assert_str_eq(expand("alice+sales@example.test", &n),
			 "L:bob@example.test ");
	/* Another separator, and none. */
	fx.config.server.recipient_delimiter = "-";
	ck_assert_str_eq(expand("bob-x@example.test", &n),
			 "L:bob@example.test ");
	expand("bob+x@example.test", &n);
	ck_assert_int_eq(n, 0);
	fx.config.server.recipient_delimiter = "";
	expand("bob-x@example.test", &n);
	ck_assert_int_eq(n, 0);
}
END_TEST

/* ---- DELIVERY hooks -------------------------------------------------------- */

/* What the test hook does for each account, in order. */
struct step {
	const char *account;
	const char *action;   /* "fileinto", "redirect", "reject", "discard" */
	const char *arg;
	uint32_t flags;
	const char *keywords;
	int create;
};

static struct {
	const struct step *steps;
	size_t count;
	int pending;               /* answer PENDING, complete on a timer */
	char seen[1024];           /* "account<rcpt_to " per call */
	char read[256];            /* what msg_read gave the first call */
	uv_timer_t timer;
	int timer_ready;
	postino_hook_call *call;
	const char *account;
} hk;

static void hook_apply(postino_hook_call *call, const char *account)
{
	for (size_t i = 0; i < hk.count; i++) {
		const struct step *s = &hk.steps[i];
		if (strcmp(s->account, account) != 0)
			continue;
		if (strcmp(s->action, "fileinto") == 0)
			ck_assert_int_eq(host_delivery_fileinto(call, s->arg,
				s->flags, s->keywords, s->create), 0);
		else if (strcmp(s->action, "redirect") == 0)
			ck_assert_int_eq(host_delivery_redirect(call, s->arg),
					 0);
		else if (strcmp(s->action, "reject") == 0)
			ck_assert_int_eq(host_delivery_reject(call, s->arg), 0);
		else
			ck_assert_int_eq(host_delivery_discard(call), 0);
	}
}

static void hook_later(uv_timer_t *timer)
{
	(void)timer;
	hook_apply(hk.call, hk.account);
	hooks_complete(hk.call, POSTINO_CONTINUE);
}

static enum postino_verdict hook(postino_hook_call *call,
				 const struct postino_hook_event *ev,
				 void *data)
{
	(void)data;
	ck_assert_int_eq(ev->point, POSTINO_HOOK_DELIVERY);
	strcat(hk.seen, ev->account);
	strcat(hk.seen, "<");
	strcat(hk.seen, ev->rcpt_to);
	strcat(hk.seen, " ");
	if (hk.read[0] == '\0') {
		int64_t n = host_msg_read(ev->msg, 0, hk.read,
					  sizeof(hk.read) - 1);
		ck_assert_int_ge(n, 0);
		hk.read[n] = '\0';
	}
	/* The entries refuse what is not theirs to take. */
	ck_assert_int_eq(host_delivery_fileinto(call, NULL, 1u << 5, NULL, 0),
			 -EINVAL);
	ck_assert_int_eq(host_delivery_fileinto(call, NULL, 0, "a\\b", 0),
			 -EINVAL);
	ck_assert_int_eq(host_delivery_redirect(call, "not an address"),
			 -EINVAL);
	if (hk.pending) {
		hk.call = call;
		hk.account = ev->account;
		if (!hk.timer_ready)
			uv_timer_init(&fx.loop, &hk.timer);
		hk.timer_ready = 1;
		uv_timer_start(&hk.timer, hook_later, 1, 0);
		return POSTINO_PENDING;
	}
	hook_apply(call, ev->account);
	return POSTINO_CONTINUE;
}

static void use_steps(const struct step *steps, size_t count)
{
	memset(&hk, 0, sizeof(hk));
	hk.steps = steps;
	hk.count = count;
	ck_assert_int_eq(hooks_register(&fx.mod, POSTINO_HOOK_DELIVERY, hook,
					NULL), 0);
}

static void delivered(void *data, int status)
{
	*(int *)data = status;
}

static int deliver_full(const char *text, const char *from,
			const char *const *local, const char *const *rcpt,
			size_t nlocal, const char *const *remote,
			const char *const *via, size_t nremote)
{
	struct postino_delivery d = {
		.size = sizeof(d), .mail_from = from, .local = local,
		.local_count = nlocal, .remote = remote,
		.remote_count = nremote, .local_rcpt = rcpt,
		.remote_via = via,
	};
	int status = 1;
	postino_msg *msg = host_msg_new(&fx.mod, NULL);

	ck_assert_int_eq(host_msg_append(msg, text, strlen(text)), 0);
	ck_assert_int_eq(host_msg_deliver(msg, &d, delivered, &status), 0);
	while (status == 1)
		uv_run(&fx.loop, UV_RUN_ONCE);
	return status;
}

static int deliver(const char *text, const char *from, const char *to)
{
	const char *local[] = { to };

	return deliver_full(text, from, local, NULL, 1, NULL, NULL, 0);
}

/* The messages of a mailbox, "flags:keywords:first line" each. */
static const char *mailbox(const char *account, const char *name)
{
	static char out[2048];
	struct store_mailbox mb;

	out[0] = '\0';
	if (store_mailbox_get(fx.ctx.store, account, name, &mb) < 0)
		return NULL;
	for (uint32_t uid = 1; uid < mb.uidnext; uid++) {
		char *data;
		size_t len;
		if (store_message_read(fx.ctx.store, mb.id, uid, &data,
				       &len) < 0)
			continue;
		size_t n = strlen(out);
		snprintf(out + n, sizeof(out) - n, "[%.*s]",
			 (int)strcspn(data, "\r"), data);
		free(data);
	}
	return out;
}

struct queued {
	char text[4096];
};

static int queued_rcpt(void *data, const struct store_queue_rcpt *r)
{
	struct queued *q = data;

	strcat(q->text, r->address);
	strcat(q->text, " ");
	return 0;
}

static int queued_entry(void *data, const struct store_queue_entry *e)
{
	struct queued *q = data;
	struct store_queue_entry entry;
	char *msg;
	size_t len;

	strcat(q->text, "<");
	strcat(q->text, e->sender);
	strcat(q->text, "> ");
	store_queue_rcpts(fx.ctx.store, e->id, queued_rcpt, q);
	ck_assert_int_eq(store_queue_get(fx.ctx.store, e->id, &entry, &msg,
					 &len), 0);
	size_t n = strlen(q->text);
	snprintf(q->text + n, sizeof(q->text) - n, "|%.*s|",
		 (int)(len < 1500 ? len : 1500), msg);
	free(msg);
	return 0;
}

static const char *queue(void)
{
	static struct queued q;

	q.text[0] = '\0';
	ck_assert_int_eq(store_queue_list(fx.ctx.store, queued_entry, &q), 0);
	return q.text;
}

static const char MSG[] = "Subject: hello\r\nTo: alice@example.test\r\n"
			  "\r\nbody\r\n";

START_TEST(no_hook_keeps_in_inbox)
{
	ck_assert_int_eq(deliver(MSG, "s@far.test", "alice@example.test"), 0);
	ck_assert_str_eq(mailbox("alice@example.test", "INBOX"),
			 "[Return-Path: <s@far.test>]");
}
END_TEST

START_TEST(fileinto_creates_with_flags_and_keywords)
{
	static const struct step steps[] = {
		{ "alice@example.test", "fileinto", "Lists/Dev",
		  POSTINO_FLAG_SEEN, "$label1 work", 1 },
		{ "alice@example.test", "fileinto", "Lists/Dev",
		  POSTINO_FLAG_FLAGGED, "work $label2", 0 },
		{ "alice@example.test", "fileinto", "INBOX", 0, NULL, 0 },
		{ "alice@example.test", "fileinto", "Missing", 0, NULL, 0 },
	};
	struct store_mailbox mb;
	struct store_mailbox_status st;

	use_steps(steps, 4);
	ck_assert_int_eq(deliver_full(MSG, "s@far.test",
				      (const char *[]){ "alice@example.test" },
				      (const char *[]){ "Alice+dev@example.test" },
				      1, NULL, NULL, 0), 0);
	/* The hook saw the address as given, lower-cased, and the message
	 * as it will be stored but for Return-Path. */
	ck_assert_str_eq(hk.seen, "alice@example.test<alice+dev@example.test ");
	ck_assert_str_eq(hk.read, MSG);
	ck_assert_int_eq(store_mailbox_get(fx.ctx.store, "alice@example.test",
					   "Lists/Dev", &mb), 0);
	ck_assert_int_eq(mb.subscribed, 1);
	ck_assert_int_eq(store_mailbox_get(fx.ctx.store, "alice@example.test",
					   "Lists", &mb), 0);
	ck_assert_str_eq(mailbox("alice@example.test", "Lists/Dev"),
			 "[Return-Path: <s@far.test>]");
	ck_assert_int_eq(store_mailbox_get(fx.ctx.store, "alice@example.test",
					   "Lists/Dev", &mb), 0);
	ck_assert_int_eq(store_mailbox_status(fx.ctx.store, mb.id, &st), 0);
	ck_assert_uint_eq(st.unseen, 0);
	/* INBOX once: the explicit keep and the missing mailbox's fallback
	 * are one copy. */
	ck_assert_str_eq(mailbox("alice@example.test", "INBOX"),
			 "[Return-Path: <s@far.test>][Return-Path: <s@far.test>]");
	ck_assert_ptr_null(mailbox("alice@example.test", "Missing"));
}
END_TEST

struct flags_seen {
	uint32_t flags;
	char keywords[128];
};

static int first_message(void *data, const struct store_message *m)
{
	struct flags_seen *f = data;

	f->flags = m->flags;
	snprintf(f->keywords, sizeof(f->keywords), "%s", m->keywords);
	return 1;
}

START_TEST(copies_for_one_mailbox_merge_their_flags)
{
	static const struct step steps[] = {
		{ "alice@example.test", "fileinto", "Work", POSTINO_FLAG_SEEN,
		  "$label1 work", 1 },
		{ "alice@example.test", "fileinto", "Work",
		  POSTINO_FLAG_FLAGGED, "work $label2", 0 },
	};
	struct store_mailbox mb;
	struct flags_seen f;

	use_steps(steps, 2);
	ck_assert_int_eq(deliver(MSG, "s@far.test", "alice@example.test"), 0);
	ck_assert_int_eq(store_mailbox_get(fx.ctx.store, "alice@example.test",
					   "Work", &mb), 0);
	ck_assert_uint_eq(mb.messages, 1);
	store_message_list(fx.ctx.store, mb.id, first_message, &f);
	ck_assert_uint_eq(f.flags, POSTINO_FLAG_SEEN | POSTINO_FLAG_FLAGGED);
	ck_assert_str_eq(f.keywords, "$label1 work $label2");
	/* No implicit keep once a hook decided. */
	ck_assert_str_eq(mailbox("alice@example.test", "INBOX"), "");
}
END_TEST

START_TEST(pending_hooks_decide_later)
{
	static const struct step steps[] = {
		{ "alice@example.test", "discard", NULL, 0, NULL, 0 },
		{ "bob@example.test", "fileinto", "Later", 0, NULL, 1 },
	};
	const char *local[] = { "alice@example.test" };

	use_steps(steps, 2);
	hk.pending = 1;
	ck_assert_int_eq(deliver_full(MSG, "s@far.test", local, NULL, 1, NULL,
				      NULL, 0), 0);
	ck_assert_str_eq(mailbox("alice@example.test", "INBOX"), "");
	hk.read[0] = '\0';
	ck_assert_int_eq(deliver(MSG, "s@far.test", "bob@example.test"), 0);
	ck_assert_str_eq(hk.seen, "alice@example.test<alice@example.test "
				  "bob@example.test<bob@example.test ");
	ck_assert_str_eq(mailbox("bob@example.test", "Later"),
			 "[Return-Path: <s@far.test>]");
	uv_close((uv_handle_t *)&hk.timer, NULL);
}
END_TEST

START_TEST(redirect_to_remote_rewrites_the_sender)
{
	static const struct step steps[] = {
		{ "alice@example.test", "redirect", "carol@remote.test", 0,
		  NULL, 0 },
	};
	char srs[SRS_ADDRESS_MAX + 1];
	char want[1024];

	use_steps(steps, 1);
	ck_assert_int_eq(deliver(MSG, "s@far.test", "alice@example.test"), 0);
	ck_assert_str_eq(mailbox("alice@example.test", "INBOX"), "");
	srs_of("s@far.test", time(NULL), srs);
	snprintf(want, sizeof(want), "<%s> carol@remote.test |"
		 "Delivered-To: alice@example.test\r\n%s|", srs, MSG);
	ck_assert_str_eq(queue(), want);
}
END_TEST

START_TEST(redirect_keeps_local_and_null_senders)
{
	static const struct step steps[] = {
		{ "alice@example.test", "redirect", "carol@remote.test", 0,
		  NULL, 0 },
		{ "alice@example.test", "fileinto", NULL, 0, NULL, 0 },
	};

	use_steps(steps, 2);
	ck_assert_int_eq(deliver(MSG, "bob@example.test",
				 "alice@example.test"), 0);
	ck_assert_int_eq(deliver(MSG, "", "alice@example.test"), 0);
	/* Without [srs], forwarding keeps the sender as it is. */
	fx.config.srs.enabled = 0;
	ck_assert_int_eq(deliver(MSG, "s@far.test", "alice@example.test"), 0);
	char want[4096];
	snprintf(want, sizeof(want),
		 "<bob@example.test> carol@remote.test |Delivered-To: "
		 "alice@example.test\r\n%s|<> carol@remote.test |Delivered-To:"
		 " alice@example.test\r\n%s|<s@far.test> carol@remote.test |"
		 "Delivered-To: alice@example.test\r\n%s|", MSG, MSG, MSG);
	ck_assert_str_eq(queue(), want);
	ck_assert_str_eq(mailbox("alice@example.test", "INBOX"),
			 "[Return-Path: <bob@example.test>][Return-Path: <>]"
			 "[Return-Path: <s@far.test>]");
}
END_TEST

START_TEST(local_redirect_runs_the_next_accounts_hook)
{
	static const struct step steps[] = {
		{ "alice@example.test", "redirect", "team@example.test", 0,
		  NULL, 0 },
		{ "bob@example.test", "fileinto", "From-Alice", 0, NULL, 1 },
	};

	alias("team@example.test", "bob@example.test");
	alias("team@example.test", "dave@remote.test");
	use_steps(steps, 2);
	ck_assert_int_eq(deliver(MSG, "bob@example.test",
				 "alice@example.test"), 0);
	ck_assert_str_eq(hk.seen, "alice@example.test<alice@example.test "
				  "bob@example.test<team@example.test ");
	ck_assert_str_eq(mailbox("bob@example.test", "From-Alice"),
			 "[Return-Path: <bob@example.test>]");
	char want[1024];
	snprintf(want, sizeof(want), "<bob@example.test> dave@remote.test |"
		 "Delivered-To: alice@example.test\r\n%s|", MSG);
	ck_assert_str_eq(queue(), want);
}
END_TEST

/* The bounce queued for sender: its first recipient line. */
static void assert_one_bounce(const char *to, const char *what)
{
	const char *q = queue();
	char head[512];

	snprintf(head, sizeof(head), "<> %s |", to);
	ck_assert_msg(strncmp(q, head, strlen(head)) == 0, "queue: %s", q);
	ck_assert_msg(strstr(q, what) != NULL, "queue: %s", q);
	/* Exactly one entry. */
	ck_assert_ptr_null(strstr(q + 1, "|<"));
}

START_TEST(a_local_forwarding_loop_bounces_once)
{
	static const struct step steps[] = {
		{ "alice@example.test", "redirect", "bob@example.test", 0,
		  NULL, 0 },
		{ "bob@example.test", "redirect", "alice@example.test", 0,
		  NULL, 0 },
	};

	use_steps(steps, 2);
	ck_assert_int_eq(deliver(MSG, "s@far.test", "alice@example.test"), 0);
	ck_assert_str_eq(hk.seen, "alice@example.test<alice@example.test "
				  "bob@example.test<bob@example.test ");
	assert_one_bounce("s@far.test", "mail forwarding loop for "
			  "alice@example.test");
	ck_assert_str_eq(mailbox("alice@example.test", "INBOX"), "");
	ck_assert_str_eq(mailbox("bob@example.test", "INBOX"), "");
}
END_TEST

START_TEST(a_copy_back_from_a_forward_bounces)
{
	static const char looped[] = "Delivered-To: Alice@Example.test\r\n"
				     "Subject: back\r\n\r\nbody\r\n";
	char srs[SRS_ADDRESS_MAX + 1];

	/* A came back from the outside: the bounce goes to the SRS
	 * address's original sender, and nobody gets the copy. */
	srs_of("s@far.test", time(NULL), srs);
	ck_assert_int_eq(deliver(looped, srs, "alice@example.test"), 0);
	assert_one_bounce("s@far.test", "5.4.6");
	ck_assert_str_eq(mailbox("alice@example.test", "INBOX"), "");
	/* An alias's forward too. */
	const char *remote[] = { "carol@remote.test" };
	const char *via[] = { "alice@example.test" };
	ck_assert_int_eq(deliver_full(looped, "", NULL, NULL, 0, remote, via,
				      1), 0);
	assert_one_bounce("s@far.test", "5.4.6");
}
END_TEST

START_TEST(reject_bounces_with_the_reason)
{
	static const struct step steps[] = {
		{ "alice@example.test", "reject", "I do not want\r\nthis", 0,
		  NULL, 0 },
	};

	use_steps(steps, 1);
	ck_assert_int_eq(deliver(MSG, "bob@example.test",
				 "alice@example.test"), 0);
	ck_assert_str_eq(mailbox("alice@example.test", "INBOX"), "");
	/* A local sender gets the bounce in INBOX. */
	const char *inbox = mailbox("bob@example.test", "INBOX");
	ck_assert_str_eq(inbox, "[Return-Path: <>]");
	ck_assert_str_eq(queue(), "");
	/* The null sender gets none. */
	ck_assert_int_eq(deliver(MSG, "", "alice@example.test"), 0);
	ck_assert_str_eq(queue(), "");
	ck_assert_str_eq(mailbox("bob@example.test", "INBOX"),
			 "[Return-Path: <>]");
}
END_TEST

START_TEST(redirect_to_nobody_here_bounces)
{
	static const struct step steps[] = {
		{ "alice@example.test", "redirect", "ghost@example.test", 0,
		  NULL, 0 },
	};

	use_steps(steps, 1);
	ck_assert_int_eq(deliver(MSG, "s@far.test", "alice@example.test"), 0);
	assert_one_bounce("s@far.test", "no such user here: "
			  "ghost@example.test");
}
END_TEST

/* ---- msg_deliver_to: the server's own mail ------------------------------- */

static int deliver_to(const char *const *to, size_t n,
		      const struct postino_delivery *state)
{
	int status = 1;
	postino_msg *msg = host_msg_new(&fx.mod, NULL);

	ck_assert_int_eq(host_msg_append(msg, MSG, strlen(MSG)), 0);
	int ret = host_msg_deliver_to(msg, to, n, state, delivered, &status);
	if (ret < 0)
		return ret;
	while (status == 1)
		uv_run(&fx.loop, UV_RUN_ONCE);
	return status;
}

START_TEST(server_mail_is_routed_as_smtp_recipients)
{
	const char *to[] = { "team@example.test", "dave@far.test",
			     "ghost@example.test" };
	const struct postino_delivery state = {
		.size = sizeof(state), .state_key = "sent:1",
		.state_value = "yes", .state_len = 3,
	};
	char value[8];
	size_t len;

	alias("team@example.test", "bob@example.test");
	alias("team@example.test", "carol@remote.test");
	ck_assert_int_eq(deliver_to(to, 3, &state), 0);
	/* The alias's account gets it with the null sender; nobody else
	 * here does (ghost is skipped, not queued to ourselves). */
	ck_assert_str_eq(mailbox("bob@example.test", "INBOX"),
			 "[Return-Path: <>]");
	ck_assert_str_eq(mailbox("alice@example.test", "INBOX"), "");
	/* The alias's remote target is a forward (Delivered-To), the
	 * remote address a relay; the null sender is kept for both. */
	const char *q = queue();
	ck_assert_ptr_nonnull(strstr(q, "<> carol@remote.test |"
					"Delivered-To: team@example.test\r\n"));
	ck_assert_ptr_nonnull(strstr(q, "<> dave@far.test |Subject: hello"));
	ck_assert_ptr_null(strstr(q, "ghost"));
	/* The state entry came with the same commit. */
	ck_assert_int_eq(store_state_get(fx.ctx.store, "sieve", "sent:1",
					 time(NULL), value, sizeof(value),
					 &len), 0);
	ck_assert_uint_eq(len, 3);
	ck_assert_int_eq(memcmp(value, "yes", 3), 0);
}
END_TEST

START_TEST(server_mail_to_nobody_is_not_sent)
{
	const char *ghost[] = { "ghost@example.test" };
	const char *bad[] = { "alice@example.test", "no-domain" };

	ck_assert_int_eq(deliver_to(ghost, 1, NULL), -ENOENT);
	/* One address without a domain stops the whole message. */
	ck_assert_int_eq(deliver_to(bad, 2, NULL), -EINVAL);
	ck_assert_str_eq(mailbox("alice@example.test", "INBOX"), "");
	ck_assert_str_eq(queue(), "");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("host_delivery");
	TCase *tc = tcase_create("delivery");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, srs_addresses_stand_for_their_sender);
	tcase_add_test(tc, subaddresses_reach_the_user);
	tcase_add_test(tc, no_hook_keeps_in_inbox);
	tcase_add_test(tc, fileinto_creates_with_flags_and_keywords);
	tcase_add_test(tc, copies_for_one_mailbox_merge_their_flags);
	tcase_add_test(tc, pending_hooks_decide_later);
	tcase_add_test(tc, redirect_to_remote_rewrites_the_sender);
	tcase_add_test(tc, redirect_keeps_local_and_null_senders);
	tcase_add_test(tc, local_redirect_runs_the_next_accounts_hook);
	tcase_add_test(tc, a_local_forwarding_loop_bounces_once);
	tcase_add_test(tc, a_copy_back_from_a_forward_bounces);
	tcase_add_test(tc, reject_bounces_with_the_reason);
	tcase_add_test(tc, redirect_to_nobody_here_bounces);
	tcase_add_test(tc, server_mail_is_routed_as_smtp_recipients);
	tcase_add_test(tc, server_mail_to_nobody_is_not_sent);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	mime_init(); /* as postinod does: deliveries store MIME summaries */
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
