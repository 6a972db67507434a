/* Host entries protocol modules rely on: alias expansion, sender
 * ownership, and spooled messages delivered durably through the writer. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/password.h"
#include "mime/mime.h"
#include "host/host_mail.h"
#include "mailbox/view.h"
#include "store/store.h"

struct fixture {
	char dir[64];
	uv_loop_t loop;
	struct core_ctx ctx;
	struct module_set set;
	struct config config;
	struct postino_mod mod;
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
	int status = 1;
	struct store *admin;
	char err[256];

	ck_assert_int_eq(store_open(fx.dir, STORE_MODE_ADMIN, 0, NULL, &admin,
				    err, sizeof(err)), 0);
	ck_assert_int_eq(store_submit(admin, job, NULL, data), 0);
	(void)status;
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
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/postino-hm-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fx.dir));
	uv_loop_init(&fx.loop);
	fx.ctx.loop = &fx.loop;
	fx.ctx.mode = CORE_MODE_DAEMON;
	log_init(&fx.ctx.log, LOG_LEVEL_DEBUG, LOG_TARGET_STDERR);
	fx.ctx.log.fd = open("/dev/null", O_WRONLY);
	fx.config.server.state_dir = fx.dir;
	fx.config.server.hostname = "mx.example.test";
	fx.ctx.config = &fx.config;
	ck_assert_int_eq(store_open(fx.dir, STORE_MODE_DAEMON, 1, &fx.loop,
				    &fx.ctx.store, err, sizeof(err)), 0);
	fx.set.ctx = &fx.ctx;
	fx.set.config = &fx.config;
	fx.set.refs = 1;
	fx.mod.ctx = &fx.ctx;
	fx.mod.set = &fx.set;
	fx.mod.name = "smtp";
	run_job(job_domain, "example.test");
	run_job(job_account, "alice@example.test");
	run_job(job_account, "bob@example.test");
}

static void teardown(void)
{
	char cmd[128];

	store_close(&fx.ctx.store);
	uv_run(&fx.loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&fx.loop), 0);
	close(fx.ctx.log.fd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx.dir);
	ck_assert_int_eq(system(cmd), 0);
}

struct targets {
	char list[512];
};

static void collect(void *data, const char *address, int local)
{
	struct targets *t = data;

	strcat(t->list, local ? "L:" : "R:");
	strcat(t->list, address);
	strcat(t->list, " ");
}

static const char *expand(const char *address, int *count_r)
{
	static struct targets t;

	memset(&t, 0, sizeof(t));
	*count_r = host_address_expand(&fx.mod, address, collect, &t);
	return t.list;
}

START_TEST(accounts_aliases_and_remote_targets)
{
	int n;

	ck_assert_str_eq(expand("Alice@EXAMPLE.test", &n), "L:alice@example.test ");
	ck_assert_int_eq(n, 1);
	expand("nobody@example.test", &n);
	ck_assert_int_eq(n, 0);
	expand("someone@remote.test", &n); /* not ours: nobody here */
	ck_assert_int_eq(n, 0);
	expand("not an address", &n);
	ck_assert_int_eq(n, 0);

	alias("team@example.test", "bob@example.test");
	alias("team@example.test", "carol@remote.test");
	alias("all@example.test", "team@example.test");
	alias("all@example.test", "alice@example.test");
	ck_assert_str_eq(expand("all@example.test", &n),
			 "L:alice@example.test L:bob@example.test R:carol@remote.test ");
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(host_domain_is_local(&fx.mod, "EXAMPLE.TEST"), 1);
	ck_assert_int_eq(host_domain_is_local(&fx.mod, "remote.test"), 0);
}
END_TEST

START_TEST(alias_loops_and_self_copies_end)
{
	int n;

	alias("a@example.test", "b@example.test");
	alias("b@example.test", "a@example.test");
	expand("a@example.test", &n);
	ck_assert_int_eq(n, 0); /* a loop leads nowhere, and ends */
	/* An account with an alias listing itself keeps a copy. */
	alias("alice@example.test", "alice@example.test");
	alias("alice@example.test", "bob@example.test");
	ck_assert_str_eq(expand("alice@example.test", &n),
			 "L:alice@example.test L:bob@example.test ");
}
END_TEST

START_TEST(senders_own_their_address_and_their_aliases)
{
	alias("info@example.test", "alice@example.test");
	alias("sales@example.test", "bob@example.test");
	ck_assert_int_eq(host_address_owned_by(&fx.mod, "ALICE@example.test",
					       "alice@example.test"), 1);
	ck_assert_int_eq(host_address_owned_by(&fx.mod, "info@example.test",
					       "alice@example.test"), 1);
	ck_assert_int_eq(host_address_owned_by(&fx.mod, "sales@example.test",
					       "alice@example.test"), 0);
	ck_assert_int_eq(host_address_owned_by(&fx.mod, "bob@example.test",
					       "alice@example.test"), 0);
	ck_assert_int_eq(host_address_owned_by(&fx.mod, "", "alice@example.test"),
			 0);
}
END_TEST

static void delivered(void *data, int status)
{
	*(int *)data = status;
}

static int deliver(postino_msg *msg, const char *from,
		   const char *const *local, size_t nlocal,
		   const char *const *remote, size_t nremote)
{
	struct postino_delivery d = {
		.size = sizeof(d), .mail_from = from, .local = local,
		.local_count = nlocal, .remote = remote, .remote_count = nremote,
	};
	int status = 1;

	ck_assert_int_eq(host_msg_deliver(msg, &d, delivered, &status), 0);
	ck_assert_int_eq(status, 1); /* not before the commit */
	while (status == 1)
		uv_run(&fx.loop, UV_RUN_ONCE);
	return status;
}

START_TEST(delivery_is_stored_once_with_return_path)
{
	static const char body[] = "Subject: hi\r\n\r\nhello\r\n";
	const char *local[] = { "alice@example.test", "bob@example.test" };
	const char *remote[] = { "carol@remote.test" };
	struct store_mailbox inbox;
	char *data;
	size_t len;
	int64_t blobs, refs;

	postino_msg *msg = host_msg_new(&fx.mod, NULL);
	ck_assert_int_eq(host_msg_append(msg, body, 10), 0);
	ck_assert_int_eq(host_msg_append(msg, body + 10, sizeof(body) - 11), 0);
	ck_assert_uint_eq(host_msg_size(msg), sizeof(body) - 1);
	ck_assert_int_eq(deliver(msg, "sender@far.test", local, 2, remote, 1), 0);

	ck_assert_int_eq(store_mailbox_get(fx.ctx.store, "bob@example.test",
					   "INBOX", &inbox), 0);
	ck_assert_int_eq(store_message_read(fx.ctx.store, inbox.id, 1, &data,
					    &len), 0);
	ck_assert_str_eq(data, "Return-Path: <sender@far.test>\r\n"
			       "Subject: hi\r\n\r\nhello\r\n");
	free(data);
	/* Two local copies share one blob; the queued copy has no
	 * Return-Path, so it is a second blob. */
	ck_assert_int_eq(store_blob_stats(fx.ctx.store, &blobs, &refs), 0);
	ck_assert_int_eq(blobs, 2);
	ck_assert_int_eq(refs, 3);
}
END_TEST

START_TEST(large_messages_spool_to_a_file)
{
	const char *local[] = { "alice@example.test" };
	struct store_mailbox inbox;
	char chunk[64 * 1024];
	char *data;
	size_t len;

	for (size_t i = 0; i < sizeof(chunk); i++)
		chunk[i] = (char)('a' + i % 26);
	postino_msg *msg = host_msg_new(&fx.mod, NULL);
	for (int i = 0; i < 40; i++) /* 2.5 MiB, well past the memory part */
		ck_assert_int_eq(host_msg_append(msg, chunk, sizeof(chunk)), 0);
	ck_assert_int_eq(deliver(msg, "", local, 1, NULL, 0), 0);
	ck_assert_int_eq(store_mailbox_get(fx.ctx.store, "alice@example.test",
					   "INBOX", &inbox), 0);
	ck_assert_int_eq(store_message_read(fx.ctx.store, inbox.id, 1, &data,
					    &len), 0);
	ck_assert_uint_eq(len, strlen("Return-Path: <>\r\n") + 40 * sizeof(chunk));
	ck_assert_int_eq(memcmp(data, "Return-Path: <>\r\n", 17), 0);
	ck_assert_int_eq(memcmp(data + 17 + 39 * sizeof(chunk), chunk,
				sizeof(chunk)), 0);
	free(data);
}
END_TEST

START_TEST(delivery_to_a_vanished_account_fails_whole)
{
	const char *local[] = { "alice@example.test", "ghost@example.test" };
	int64_t blobs, refs;

	postino_msg *msg = host_msg_new(&fx.mod, NULL);
	host_msg_append(msg, "x\r\n", 3);
	/* Nothing half-delivered: the client gets a 4xx and retries. */
	ck_assert_int_eq(deliver(msg, "a@b.test", local, 2, NULL, 0), -ENOENT);
	ck_assert_int_eq(store_blob_stats(fx.ctx.store, &blobs, &refs), 0);
	ck_assert_int_eq(blobs, 0);
}
END_TEST

START_TEST(policies_add_headers_on_top)
{
	const char *local[] = { "alice@example.test" };
	const char *remote[] = { "carol@remote.test" };
	struct store_mailbox inbox;
	char long_value[200];
	char *data;
	size_t len;

	postino_msg *msg = host_msg_new(&fx.mod, NULL);
	host_msg_append(msg, "Received: x\r\n\r\nbody\r\n", 21);
	ck_assert_int_eq(host_msg_add_header(msg, "Received-SPF",
					     "pass (example.test: ok)"), 0);
	memset(long_value, 'w', sizeof(long_value));
	for (size_t i = 9; i < sizeof(long_value); i += 10)
		long_value[i] = ' ';
	long_value[sizeof(long_value) - 1] = '\0';
	ck_assert_int_eq(host_msg_add_header(msg, "X-Long", long_value), 0);
	/* Header injection and bad names are refused. */
	ck_assert_int_eq(host_msg_add_header(msg, "X-Evil", "a\r\nBcc: x"),
			 -EINVAL);
	ck_assert_int_eq(host_msg_add_header(msg, "Bad Name", "v"), -EINVAL);
	ck_assert_int_eq(host_msg_add_header(msg, "Bad:Name", "v"), -EINVAL);
	ck_assert_int_eq(deliver(msg, "s@far.test", local, 1, remote, 1), 0);

	ck_assert_int_eq(store_mailbox_get(fx.ctx.store, "alice@example.test",
					   "INBOX", &inbox), 0);
	ck_assert_int_eq(store_message_read(fx.ctx.store, inbox.id, 1, &data,
					    &len), 0);
	const char *top = "Return-Path: <s@far.test>\r\n"
			  "Received-SPF: pass (example.test: ok)\r\nX-Long: ";
	ck_assert_int_eq(strncmp(data, top, strlen(top)), 0);
	/* Folded: no physical line over 78 characters, and unfolding gives
	 * the value back. */
	char *x = strstr(data, "X-Long:");
	char *end = strstr(x, "\r\nReceived: x\r\n");
	ck_assert_ptr_nonnull(end);
	for (char *l = x; l < end;) {
		char *eol = strstr(l, "\r\n");
		ck_assert_int_le(eol - l, 78);
		l = eol + 2;
	}
	char unfolded[400] = "";
	for (char *p = x + strlen("X-Long: "); p < end; p++) {
		if (p[0] == '\r' && p[1] == '\n') {
			p++;
			continue;
		}
		strncat(unfolded, p, 1);
	}
	ck_assert_str_eq(unfolded, long_value);
	free(data);
}
END_TEST

START_TEST(a_hook_run_keeps_the_message_alive)
{
	/* A policy holding the message after the module dropped it (its
	 * connection closed): the host's reference keeps it valid. */
	postino_msg *msg = host_msg_new(&fx.mod, NULL);
	postino_msg *held = msg;

	host_msg_append(msg, "x\r\n", 3);
	host_msg_ref(held);
	host_msg_discard(&msg);
	ck_assert_ptr_null(msg);
	/* Still valid for the policy (ASan would catch a freed message). */
	ck_assert_int_eq(host_msg_add_header(held, "X-Late", "ok"), 0);
	ck_assert_uint_eq(host_msg_size(held), 3);
	host_msg_unref(held);
}
END_TEST

START_TEST(mailbox_views_read_ranges_and_expunge)
{
	const char *local[] = { "alice@example.test" };
	struct postino_message_info info = { .size = sizeof(info) };
	postino_mailbox *a = NULL, *b = NULL, *c = NULL;
	char buf[64];

	for (int i = 0; i < 3; i++) {
		postino_msg *msg = host_msg_new(&fx.mod, NULL);
		char body[32];
		snprintf(body, sizeof(body), "Subject: %d\r\n\r\nbody\r\n", i);
		host_msg_append(msg, body, strlen(body));
		ck_assert_int_eq(deliver(msg, "s@far.test", local, 1, NULL, 0), 0);
	}
	ck_assert_int_eq(host_mailbox_open(&fx.mod, "nobody@example.test",
					   "INBOX", 0, &a), -ENOENT);
	ck_assert_int_eq(host_mailbox_open(&fx.mod, "ALICE@example.test",
					   "INBOX", 1, &a), 0);
	/* One exclusive view at a time; shared views never conflict. */
	ck_assert_int_eq(host_mailbox_open(&fx.mod, "alice@example.test",
					   "INBOX", 1, &b), -EBUSY);
	ck_assert_ptr_null(b);
	ck_assert_int_eq(host_mailbox_open(&fx.mod, "alice@example.test",
					   "INBOX", 0, &c), 0);
	ck_assert_uint_eq(host_mailbox_count(a), 3);
	ck_assert_uint_ne(host_mailbox_uidvalidity(a), 0);
	ck_assert_int_eq(host_mailbox_message(a, 2, &info), 0);
	ck_assert_uint_eq(info.uid, 3);
	const char *whole = "Return-Path: <s@far.test>\r\nSubject: 2\r\n\r\nbody\r\n";
	ck_assert_uint_eq(info.octets, strlen(whole));
	ck_assert_int_eq(host_mailbox_message(a, 3, &info), -EINVAL);
	/* Ranged reads: a middle slice, a short read at the end, then 0. */
	ck_assert_int_eq(host_mailbox_read(a, 2, 13, buf, 11), 11);
	ck_assert_int_eq(memcmp(buf, "<s@far.test", 11), 0);
	int64_t tail = host_mailbox_read(a, 2, strlen(whole) - 6, buf, sizeof(buf));
	ck_assert_int_eq(tail, 6);
	ck_assert_int_eq(memcmp(buf, "body\r\n", 6), 0);
	ck_assert_int_eq(host_mailbox_read(a, 2, strlen(whole), buf, 8), 0);

	uint32_t gone[] = { 1, 3 };
	int status = 1;
	ck_assert_int_eq(host_mailbox_expunge(a, gone, 2, delivered, &status), 0);
	while (status == 1)
		uv_run(&fx.loop, UV_RUN_ONCE);
	ck_assert_int_eq(status, 0);
	host_mailbox_close(&a);
	ck_assert_ptr_null(a);
	/* The lock went with the view; the expunge is visible. */
	ck_assert_int_eq(host_mailbox_open(&fx.mod, "alice@example.test",
					   "INBOX", 1, &b), 0);
	ck_assert_uint_eq(host_mailbox_count(b), 1);
	ck_assert_int_eq(host_mailbox_message(b, 0, &info), 0);
	ck_assert_uint_eq(info.uid, 2);
	/* A view opened before the expunge reads a vanished message as
	 * gone, not as garbage. */
	ck_assert_int_eq(host_mailbox_read(c, 0, 0, buf, sizeof(buf)), -ENOENT);
	/* Not even when a new message arrives after the highest one went
	 * (SQLite would hand out the freed rowid again). */
	postino_msg *msg = host_msg_new(&fx.mod, NULL);
	host_msg_append(msg, "Subject: new\r\n\r\n", 17);
	ck_assert_int_eq(deliver(msg, "s@far.test", local, 1, NULL, 0), 0);
	ck_assert_int_eq(host_mailbox_read(c, 2, 0, buf, sizeof(buf)), -ENOENT);
	host_mailbox_close(&b);
	host_mailbox_close(&c);
}
END_TEST


struct sync_log {
	char text[256];
};

static void sync_expunged(void *data, uint32_t index)
{
	struct sync_log *log = data;
	size_t n = strlen(log->text);
	snprintf(log->text + n, sizeof(log->text) - n, "x%u ", index);
}

static void sync_flags(void *data, uint32_t index)
{
	struct sync_log *log = data;
	size_t n = strlen(log->text);
	snprintf(log->text + n, sizeof(log->text) - n, "f%u ", index);
}

static void sync_changed(void *data)
{
	(*(int *)data)++;
}

static void wait_status(int *status)
{
	while (*status == 1)
		uv_run(&fx.loop, UV_RUN_ONCE);
}

/* A STORE through mb, run to its end: the status it ended with. */
static int store_flags(postino_mailbox *mb, const uint32_t *uids, size_t n,
		       enum postino_store_mode mode, uint32_t flags,
		       const char *keywords)
{
	int status = 1;

	ck_assert_int_eq(host_mailbox_store(mb, uids, n, mode, flags, keywords,
					    delivered, &status), 0);
	wait_status(&status);
	return status;
}

/* What IMAP relies on: one view's STORE and expunge reach another view
 * through watch + sync, expunges only when the sync allows them, highest
 * index first; the view that made a change is not told about it again;
 * \Recent goes to the first view that claims. */
START_TEST(views_follow_each_other)
{
	const char *local[] = { "alice@example.test" };
	struct postino_message_info info = { .size = sizeof(info) };
	postino_mailbox *a = NULL, *b = NULL;
	struct sync_log log = { "" };
	int changed = 0, status;

	for (int i = 0; i < 4; i++) {
		postino_msg *msg = host_msg_new(&fx.mod, NULL);
		host_msg_append(msg, "Subject: s\r\n\r\nbody\r\n", 20);
		ck_assert_int_eq(deliver(msg, "s@far.test", local, 1, NULL, 0), 0);
	}
	ck_assert_int_eq(host_mailbox_open(&fx.mod, "alice@example.test",
					   "INBOX", POSTINO_MAILBOX_RECENT, &a), 0);
	ck_assert_int_eq(host_mailbox_open(&fx.mod, "alice@example.test",
					   "INBOX", POSTINO_MAILBOX_RECENT, &b), 0);
	host_mailbox_watch(b, sync_changed, &changed);

	/* a flags UID 2 and removes UIDs 1 and 3. */
	uint32_t two = 2, gone[] = { 1, 3 };
	ck_assert_int_eq(store_flags(a, &two, 1, POSTINO_STORE_ADD,
				     POSTINO_FLAG_FLAGGED, "kw"), 0);
	ck_assert_int_eq(changed, 1);
	/* a sees its own change at once and is not told again. */
	ck_assert_int_eq(host_mailbox_message(a, 1, &info), 0);
	ck_assert_uint_eq(info.flags & ~POSTINO_FLAG_RECENT, POSTINO_FLAG_FLAGGED);
	ck_assert_str_eq(info.keywords, "kw");
	ck_assert_int_eq(host_mailbox_sync(a, 1, sync_expunged, sync_flags,
					   &log), 0);
	ck_assert_str_eq(log.text, "");
	status = 1;
	ck_assert_int_eq(host_mailbox_expunge(a, gone, 2, delivered, &status),
			 0);
	wait_status(&status);
	ck_assert_int_eq(changed, 2);

	/* b, during a FETCH: the flag change, no expunge, numbers kept. */
	ck_assert_int_eq(host_mailbox_sync(b, 0, sync_expunged, sync_flags,
					   &log), 0);
	ck_assert_str_eq(log.text, "f1 ");
	ck_assert_uint_eq(host_mailbox_count(b), 4);
	char buf[8];
	ck_assert_int_eq(host_mailbox_read(b, 0, 0, buf, sizeof(buf)),
			 -ENOENT);
	/* Later, when allowed: the expunges, highest index first. */
	log.text[0] = '\0';
	ck_assert_int_eq(host_mailbox_sync(b, 1, sync_expunged, sync_flags,
					   &log), 0);
	ck_assert_str_eq(log.text, "x2 x0 ");
	ck_assert_uint_eq(host_mailbox_count(b), 2);
	ck_assert_int_eq(host_mailbox_message(b, 0, &info), 0);
	ck_assert_uint_eq(info.uid, 2);
	ck_assert_uint_eq(info.flags & ~POSTINO_FLAG_RECENT, POSTINO_FLAG_FLAGGED);

	/* New mail: appended at the next sync, \Recent for b only (the
	 * first to look), never for a. */
	postino_msg *msg = host_msg_new(&fx.mod, NULL);
	host_msg_append(msg, "Subject: new\r\n\r\n", 16);
	ck_assert_int_eq(deliver(msg, "s@far.test", local, 1, NULL, 0), 0);
	log.text[0] = '\0';
	ck_assert_int_eq(host_mailbox_sync(b, 1, sync_expunged, sync_flags,
					   &log), 0);
	ck_assert_uint_eq(host_mailbox_count(b), 3);
	ck_assert_int_eq(host_mailbox_message(b, 2, &info), 0);
	ck_assert_uint_eq(info.uid, 5);
	ck_assert_uint_eq(info.flags & POSTINO_FLAG_RECENT,
			  POSTINO_FLAG_RECENT);
	ck_assert_int_eq(host_mailbox_sync(a, 1, NULL, NULL, NULL), 0);
	ck_assert_int_eq(host_mailbox_message(a, 2, &info), 0);
	ck_assert_uint_eq(info.uid, 5);
	ck_assert_uint_eq(info.flags & POSTINO_FLAG_RECENT, 0);
	host_mailbox_close(&a);
	host_mailbox_close(&b);
}
END_TEST

/* Sessions of one mailbox share one message table: a view costs a few
 * dozen bytes however big the mailbox. A view moves to the newer table
 * only at its own sync; the table goes with the last view. */
START_TEST(views_share_one_table)
{
	const char *local[] = { "alice@example.test" };
	struct postino_message_info info = { .size = sizeof(info) };
	postino_mailbox *a = NULL, *b = NULL, *c = NULL;
	struct sync_log log = { "" };

	for (int i = 0; i < 3; i++) {
		postino_msg *msg = host_msg_new(&fx.mod, NULL);
		host_msg_append(msg, "Subject: s\r\n\r\nbody\r\n", 20);
		ck_assert_int_eq(deliver(msg, "s@far.test", local, 1, NULL, 0), 0);
	}
	ck_assert_int_eq(host_mailbox_open(&fx.mod, "alice@example.test",
					   "INBOX", POSTINO_MAILBOX_RECENT, &a), 0);
	ck_assert_int_eq(host_mailbox_open(&fx.mod, "alice@example.test",
					   "INBOX", POSTINO_MAILBOX_RECENT, &b), 0);
	ck_assert_int_eq(host_mailbox_open(&fx.mod, "alice@example.test",
					   "INBOX", 0, &c), 0);
	struct mailbox_entry *e = a->entry;
	struct msg_table *first = a->table;
	ck_assert_ptr_eq(first, e->table);
	ck_assert_ptr_eq(b->table, first);
	ck_assert_ptr_eq(c->table, first);
	ck_assert_uint_eq(first->refs, 4);

	uint32_t one = 1;
	ck_assert_int_eq(store_flags(a, &one, 1, POSTINO_STORE_ADD,
				     POSTINO_FLAG_SEEN, NULL), 0);
	/* a shows its change before it moves; nobody else does. */
	ck_assert_ptr_eq(a->table, first);
	ck_assert_int_eq(host_mailbox_message(a, 0, &info), 0);
	ck_assert_uint_eq(info.flags & ~POSTINO_FLAG_RECENT, POSTINO_FLAG_SEEN);
	ck_assert_int_eq(host_mailbox_message(c, 0, &info), 0);
	ck_assert_uint_eq(info.flags & ~POSTINO_FLAG_RECENT, 0);

	ck_assert_int_eq(host_mailbox_sync(a, 1, sync_expunged, sync_flags,
					   &log), 0);
	ck_assert_str_eq(log.text, "");
	struct msg_table *second = a->table;
	ck_assert_ptr_ne(second, first);
	ck_assert_ptr_eq(second, e->table);
	ck_assert_int_eq(host_mailbox_sync(b, 1, sync_expunged, sync_flags,
					   &log), 0);
	ck_assert_str_eq(log.text, "f0 ");
	ck_assert_int_eq(host_mailbox_sync(c, 0, sync_expunged, sync_flags,
					   &log), 0);
	ck_assert_str_eq(log.text, "f0 f0 ");
	ck_assert_ptr_eq(b->table, second);
	ck_assert_ptr_eq(c->table, second);
	ck_assert_uint_eq(second->refs, 4);
	ck_assert_int_eq(host_mailbox_message(c, 0, &info), 0);
	ck_assert_uint_eq(info.flags & ~POSTINO_FLAG_RECENT, POSTINO_FLAG_SEEN);

	host_mailbox_close(&a);
	host_mailbox_close(&b);
	ck_assert_ptr_eq(e->table, second);
	host_mailbox_close(&c);
	/* Nobody has it open: the table stays for the next SELECT, which
	 * catches up with what arrived meanwhile. */
	ck_assert_ptr_eq(e->table, second);
	ck_assert_uint_eq(second->refs, 1);
	ck_assert_uint_eq(fx.ctx.mailbox_cache.records, 3);
	postino_msg *msg = host_msg_new(&fx.mod, NULL);
	host_msg_append(msg, "Subject: new\r\n\r\n", 16);
	ck_assert_int_eq(deliver(msg, "s@far.test", local, 1, NULL, 0), 0);
	ck_assert_int_eq(host_mailbox_open(&fx.mod, "alice@example.test",
					   "INBOX", 0, &a), 0);
	ck_assert_uint_eq(fx.ctx.mailbox_cache.records, 0);
	ck_assert_uint_eq(host_mailbox_count(a), 4);
	ck_assert_int_eq(host_mailbox_message(a, 3, &info), 0);
	ck_assert_uint_eq(info.uid, 4);
	ck_assert_int_eq(host_mailbox_message(a, 0, &info), 0);
	ck_assert_uint_eq(info.flags & ~POSTINO_FLAG_RECENT, POSTINO_FLAG_SEEN);
	/* Over the cache's budget, the table goes with the last view. */
	fx.ctx.mailbox_cache.budget = 3;
	host_mailbox_close(&a);
	ck_assert_ptr_null(e->table);
	ck_assert_uint_eq(fx.ctx.mailbox_cache.records, 0);
}
END_TEST

/* A view further behind than the change log reaches finds its
 * differences by comparing tables, with the same reports: flags while
 * expunges must wait (each reported once), then the expunge. */
START_TEST(a_view_behind_the_log_compares_tables)
{
	const char *local[] = { "alice@example.test" };
	struct postino_message_info info = { .size = sizeof(info) };
	postino_mailbox *a = NULL, *b = NULL;
	struct sync_log log = { "" };
	int status;

	for (int i = 0; i < 5; i++) {
		postino_msg *msg = host_msg_new(&fx.mod, NULL);
		host_msg_append(msg, "Subject: s\r\n\r\nbody\r\n", 20);
		ck_assert_int_eq(deliver(msg, "s@far.test", local, 1, NULL, 0), 0);
	}
	ck_assert_int_eq(host_mailbox_open(&fx.mod, "alice@example.test",
					   "INBOX", 0, &a), 0);
	ck_assert_int_eq(host_mailbox_open(&fx.mod, "alice@example.test",
					   "INBOX", 0, &b), 0);
	a->entry->log_max = 1;

	uint32_t two = 2, four = 4, three = 3;
	ck_assert_int_eq(store_flags(a, &two, 1, POSTINO_STORE_ADD,
				     POSTINO_FLAG_FLAGGED, "kw"), 0);
	ck_assert_int_eq(host_mailbox_sync(a, 1, NULL, NULL, NULL), 0);
	ck_assert_int_eq(store_flags(a, &four, 1, POSTINO_STORE_ADD,
				     POSTINO_FLAG_ANSWERED, NULL), 0);
	ck_assert_int_eq(host_mailbox_sync(a, 1, NULL, NULL, NULL), 0);
	status = 1;
	ck_assert_int_eq(host_mailbox_expunge(a, &three, 1, delivered,
					      &status), 0);
	wait_status(&status);
	ck_assert_int_eq(host_mailbox_sync(a, 1, NULL, NULL, NULL), 0);
	ck_assert_uint_eq(host_mailbox_count(a), 4);
	ck_assert_uint_lt(b->table->modseq, b->entry->log_floor);

	ck_assert_int_eq(host_mailbox_sync(b, 0, sync_expunged, sync_flags,
					   &log), 0);
	ck_assert_str_eq(log.text, "f1 f3 ");
	ck_assert_uint_eq(host_mailbox_count(b), 5);
	ck_assert_int_eq(host_mailbox_message(b, 1, &info), 0);
	ck_assert_uint_eq(info.flags & ~POSTINO_FLAG_RECENT, POSTINO_FLAG_FLAGGED);
	ck_assert_str_eq(info.keywords, "kw");
	char buf[8];
	ck_assert_int_eq(host_mailbox_read(b, 2, 0, buf, sizeof(buf)),
			 -ENOENT);
	log.text[0] = '\0';
	ck_assert_int_eq(host_mailbox_sync(b, 0, sync_expunged, sync_flags,
					   &log), 0);
	ck_assert_str_eq(log.text, "");
	ck_assert_int_eq(host_mailbox_sync(b, 1, sync_expunged, sync_flags,
					   &log), 0);
	ck_assert_str_eq(log.text, "x2 ");
	ck_assert_ptr_eq(b->table, a->table);
	ck_assert_int_eq(host_mailbox_message(b, 2, &info), 0);
	ck_assert_uint_eq(info.uid, 4);
	ck_assert_uint_eq(info.flags & ~POSTINO_FLAG_RECENT, POSTINO_FLAG_ANSWERED);
	host_mailbox_close(&a);
	host_mailbox_close(&b);
}
END_TEST

/* What a view shows instead of its table is one sorted array, grown by
 * merges: STOREs and held syncs in any order of UIDs (the upper half,
 * then the lower, then every other one) keep it sorted without repeats,
 * and every message reads its newest flags. */
static void shown_is_sorted(const postino_mailbox *mb)
{
	for (uint32_t i = 1; i < mb->shown_count; i++)
		ck_assert_uint_lt(mb->shown[i - 1].uid, mb->shown[i].uid);
}

START_TEST(shown_flags_merge_in_any_order)
{
	enum { N = 40 };
	const char *local[] = { "alice@example.test" };
	struct postino_message_info info = { .size = sizeof(info) };
	postino_mailbox *a = NULL, *b = NULL;
	struct sync_log log = { "" };
	uint32_t uids[N];
	size_t n;

	for (int i = 0; i < N; i++) {
		postino_msg *msg = host_msg_new(&fx.mod, NULL);
		host_msg_append(msg, "Subject: s\r\n\r\nbody\r\n", 20);
		ck_assert_int_eq(deliver(msg, "s@far.test", local, 1, NULL, 0), 0);
	}
	ck_assert_int_eq(host_mailbox_open(&fx.mod, "alice@example.test",
					   "INBOX", 0, &a), 0);
	ck_assert_int_eq(host_mailbox_open(&fx.mod, "alice@example.test",
					   "INBOX", 0, &b), 0);
	/* a: the upper half, the lower half, then the odd ones. */
	n = 0;
	for (uint32_t u = N / 2 + 1; u <= N; u++)
		uids[n++] = u;
	ck_assert_int_eq(store_flags(a, uids, n, POSTINO_STORE_ADD,
				     POSTINO_FLAG_SEEN, NULL), 0);
	n = 0;
	for (uint32_t u = 1; u <= N / 2; u++)
		uids[n++] = u;
	ck_assert_int_eq(store_flags(a, uids, n, POSTINO_STORE_ADD,
				     POSTINO_FLAG_SEEN, NULL), 0);
	n = 0;
	for (uint32_t u = 1; u <= N; u += 2)
		uids[n++] = u;
	ck_assert_int_eq(store_flags(a, uids, n, POSTINO_STORE_ADD,
				     POSTINO_FLAG_FLAGGED, "odd"), 0);
	/* Unsorted, with a repeat: the same outcome. */
	uint32_t mixed[] = { 7, 3, 7, 5 };
	ck_assert_int_eq(store_flags(a, mixed, 4, POSTINO_STORE_ADD,
				     POSTINO_FLAG_ANSWERED, NULL), 0);
	shown_is_sorted(a);
	ck_assert_uint_eq(a->shown_count, N);
	for (uint32_t i = 0; i < N; i++) {
		uint32_t want = POSTINO_FLAG_SEEN;
		if (i % 2 == 0)
			want |= POSTINO_FLAG_FLAGGED;
		if (i == 2 || i == 4 || i == 6)
			want |= POSTINO_FLAG_ANSWERED;
		ck_assert_int_eq(host_mailbox_message(a, i, &info), 0);
		ck_assert_uint_eq(info.flags & ~POSTINO_FLAG_RECENT, want);
		ck_assert_str_eq(info.keywords, i % 2 == 0 ? "odd" : "");
	}
	/* b, holding its numbers (during a FETCH): the changes of the log,
	 * recorded in one merge, reported once each in index order. */
	ck_assert_int_eq(host_mailbox_sync(b, 0, sync_expunged, sync_flags,
					   &log), 0);
	ck_assert_str_eq(log.text, "f0 f1 f2 f3 f4 f5 f6 f7 f8 f9 f10 f11 f12 "
			 "f13 f14 f15 f16 f17 f18 f19 f20 f21 f22 f23 f24 f25 "
			 "f26 f27 f28 f29 f30 f31 f32 f33 f34 f35 f36 f37 f38 "
			 "f39 ");
	shown_is_sorted(b);
	ck_assert_int_eq(host_mailbox_message(b, 4, &info), 0);
	ck_assert_uint_eq(info.flags & ~POSTINO_FLAG_RECENT, POSTINO_FLAG_SEEN | POSTINO_FLAG_FLAGGED |
			  POSTINO_FLAG_ANSWERED);
	log.text[0] = '\0';
	ck_assert_int_eq(host_mailbox_sync(b, 0, sync_expunged, sync_flags,
					   &log), 0);
	ck_assert_str_eq(log.text, "");
	host_mailbox_close(&a);
	host_mailbox_close(&b);
}
END_TEST

/* STATUS reads the counts kept in the mailbox's row, while the mailbox is
 * open, cached after its last view and evicted: they follow flag changes,
 * an expunge and new mail, and agree with the open table's records. */
static uint32_t table_unseen(const struct msg_table *t)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < t->count; i++)
		n += (t->recs[i].flags & POSTINO_FLAG_SEEN) == 0;
	return n;
}

static void status_is(uint32_t messages, uint32_t unseen, uint32_t uidnext)
{
	struct postino_mailbox_status st = { .size = sizeof(st) };

	ck_assert_int_eq(host_mailbox_status(&fx.mod, "alice@example.test",
					     "INBOX", &st), 0);
	ck_assert_uint_eq(st.messages, messages);
	ck_assert_uint_eq(st.unseen, unseen);
	ck_assert_uint_eq(st.uidnext, uidnext);
}

START_TEST(status_counts_follow_changes)
{
	const char *local[] = { "alice@example.test" };
	postino_mailbox *a = NULL;
	int status;

	for (int i = 0; i < 4; i++) {
		postino_msg *msg = host_msg_new(&fx.mod, NULL);
		host_msg_append(msg, "Subject: s\r\n\r\nbody\r\n", 20);
		ck_assert_int_eq(deliver(msg, "s@far.test", local, 1, NULL, 0), 0);
	}
	status_is(4, 4, 5); /* no table yet */
	ck_assert_int_eq(host_mailbox_open(&fx.mod, "alice@example.test",
					   "INBOX", 0, &a), 0);
	struct mailbox_entry *e = a->entry;
	ck_assert_uint_eq(table_unseen(e->table), 4);
	status_is(4, 4, 5);

	uint32_t seen[] = { 1, 2, 3 };
	ck_assert_int_eq(store_flags(a, seen, 3, POSTINO_STORE_ADD,
				     POSTINO_FLAG_SEEN, NULL), 0);
	status_is(4, 1, 5);
	ck_assert_int_eq(host_mailbox_sync(a, 1, NULL, NULL, NULL), 0);
	ck_assert_uint_eq(table_unseen(e->table), 1);
	uint32_t unsee = 2;
	ck_assert_int_eq(store_flags(a, &unsee, 1, POSTINO_STORE_REMOVE,
				     POSTINO_FLAG_SEEN, NULL), 0);
	status_is(4, 2, 5);
	/* Expunging a seen and an unseen message. */
	uint32_t gone[] = { 1, 4 };
	status = 1;
	ck_assert_int_eq(host_mailbox_expunge(a, gone, 2, delivered, &status),
			 0);
	wait_status(&status);
	ck_assert_int_eq(status, 0);
	status_is(2, 1, 5);
	host_mailbox_close(&a);
	/* Cached after the last view: new mail still counts. */
	ck_assert_ptr_nonnull(e->table);
	postino_msg *msg = host_msg_new(&fx.mod, NULL);
	host_msg_append(msg, "Subject: new\r\n\r\n", 16);
	ck_assert_int_eq(deliver(msg, "s@far.test", local, 1, NULL, 0), 0);
	status_is(3, 2, 6);
	/* The cached table catches up when the mailbox is opened again. */
	ck_assert_int_eq(host_mailbox_open(&fx.mod, "alice@example.test",
					   "INBOX", 0, &a), 0);
	ck_assert_ptr_eq(a->entry, e);
	ck_assert_uint_eq(e->table->count, 3);
	ck_assert_uint_eq(table_unseen(e->table), 2);
	host_mailbox_close(&a);
	/* Evicted: the same figures. */
	mailbox_entry_release(e);
	status_is(3, 2, 6);
}
END_TEST

static uint32_t status_recent(void)
{
	struct postino_mailbox_status st = { .size = sizeof(st) };

	ck_assert_int_eq(host_mailbox_status(&fx.mod, "alice@example.test",
					     "INBOX", &st), 0);
	return st.recent;
}

static int is_recent(postino_mailbox *mb, uint32_t index)
{
	struct postino_message_info info = { .size = sizeof(info) };

	ck_assert_int_eq(host_mailbox_message(mb, index, &info), 0);
	return (info.flags & POSTINO_FLAG_RECENT) != 0;
}

/* RFC 3501 2.3.2: a message is \Recent in the first read-write view told
 * of it and in no later one; a view that claims nothing (EXAMINE) shows
 * what nobody claimed and leaves it; the store learns the boundary, so a
 * registry started afresh (a restart) knows it. */
START_TEST(recent_belongs_to_the_first_read_write_view)
{
	const char *local[] = { "alice@example.test" };
	postino_mailbox *a = NULL, *b = NULL, *c = NULL;
	struct store_mailbox m;

	for (int i = 0; i < 2; i++) {
		postino_msg *msg = host_msg_new(&fx.mod, NULL);
		host_msg_append(msg, "Subject: s\r\n\r\nbody\r\n", 20);
		ck_assert_int_eq(deliver(msg, "s@far.test", local, 1, NULL, 0), 0);
	}
	ck_assert_uint_eq(status_recent(), 2);
	ck_assert_int_eq(host_mailbox_open(&fx.mod, "alice@example.test",
					   "INBOX", 0, &c), 0);
	ck_assert(is_recent(c, 0) && is_recent(c, 1));
	ck_assert_uint_eq(status_recent(), 2);
	ck_assert_int_eq(host_mailbox_open(&fx.mod, "alice@example.test",
					   "INBOX", POSTINO_MAILBOX_RECENT, &a), 0);
	ck_assert(is_recent(a, 0) && is_recent(a, 1));
	ck_assert_uint_eq(status_recent(), 0);
	ck_assert_int_eq(host_mailbox_open(&fx.mod, "alice@example.test",
					   "INBOX", POSTINO_MAILBOX_RECENT, &b), 0);
	ck_assert(!is_recent(b, 0) && !is_recent(b, 1));

	/* New mail: c sees it first and leaves it, a takes it, b is late. */
	postino_msg *msg = host_msg_new(&fx.mod, NULL);
	host_msg_append(msg, "Subject: new\r\n\r\n", 16);
	ck_assert_int_eq(deliver(msg, "s@far.test", local, 1, NULL, 0), 0);
	ck_assert_uint_eq(status_recent(), 1);
	ck_assert_int_eq(host_mailbox_sync(c, 1, NULL, NULL, NULL), 0);
	ck_assert_int_eq(host_mailbox_sync(a, 1, NULL, NULL, NULL), 0);
	ck_assert_int_eq(host_mailbox_sync(b, 1, NULL, NULL, NULL), 0);
	ck_assert(is_recent(c, 2));
	ck_assert(is_recent(a, 2));
	ck_assert(!is_recent(b, 2));
	ck_assert_uint_eq(status_recent(), 0);

	/* The boundary reaches the store once its job commits. */
	struct mailbox_entry *e = a->entry;
	while (e->recent_saving)
		uv_run(&fx.loop, UV_RUN_ONCE);
	ck_assert_int_eq(store_mailbox_get(fx.ctx.store, "alice@example.test",
					   "INBOX", &m), 0);
	ck_assert_uint_eq(m.recent_uid, 4);
	host_mailbox_close(&a);
	host_mailbox_close(&b);
	host_mailbox_close(&c);
}
END_TEST

struct appended {
	int status;
	uint32_t uidvalidity;
	uint32_t uid;
};

static void append_done(void *data, int status, uint32_t uidvalidity,
			uint32_t uid)
{
	struct appended *a = data;

	a->uidvalidity = uidvalidity;
	a->uid = uid;
	a->status = status;
}

static uint32_t uidvalidity_of(const char *name)
{
	struct store_mailbox m;

	ck_assert_int_eq(store_mailbox_get(fx.ctx.store, "alice@example.test",
					   name, &m), 0);
	return m.uidvalidity;
}

static int hold_writer(struct store_txn *txn, void *data)
{
	(void)txn;
	uv_sem_wait(data);
	return 0;
}

static void held_done(void *data, int status)
{
	(void)data;
	ck_assert_int_eq(status, 0);
}

/* APPENDUID names the UIDVALIDITY of the mailbox the message went into,
 * even when the name means another mailbox by the time the client is
 * answered: DELETE + CREATE queued right behind the APPEND commit with it
 * (the writer is held until all three are queued). */
START_TEST(appenduid_names_the_mailbox_it_went_to)
{
	int created = 1, deleted = 1, recreated = 1;
	uv_sem_t hold;

	ck_assert_int_eq(host_mailbox_create(&fx.mod, "alice@example.test",
					     "Work", NULL, delivered, &created),
			 0);
	wait_status(&created);
	ck_assert_int_eq(created, 0);
	uint32_t old = uidvalidity_of("Work");

	ck_assert_int_eq(uv_sem_init(&hold, 0), 0);
	ck_assert_int_eq(store_submit(fx.ctx.store, hold_writer, held_done,
				      &hold), 0);
	postino_msg *msg = host_msg_new(&fx.mod, NULL);
	host_msg_append(msg, "Subject: a\r\n\r\nbody\r\n", 20);
	struct appended a = { .status = 1 };
	ck_assert_int_eq(host_mailbox_append(&fx.mod, "alice@example.test",
					     "Work", msg, 0, NULL, 1790000000,
					     append_done, &a), 0);
	/* The APPEND's MIME summary is made on the threadpool first: the
	 * one event the loop can wait for here, whose callback queues the
	 * APPEND behind the held writer. */
	ck_assert_int_eq(a.status, 1);
	uv_run(&fx.loop, UV_RUN_ONCE);
	ck_assert_int_eq(a.status, 1);
	ck_assert_int_eq(host_mailbox_delete(&fx.mod, "alice@example.test",
					     "Work", delivered, &deleted), 0);
	ck_assert_int_eq(host_mailbox_create(&fx.mod, "alice@example.test",
					     "Work", NULL, delivered,
					     &recreated), 0);
	uv_sem_post(&hold);
	wait_status(&a.status);
	wait_status(&deleted);
	wait_status(&recreated);
	ck_assert_int_eq(a.status, 0);
	ck_assert_int_eq(deleted, 0);
	ck_assert_int_eq(recreated, 0);
	ck_assert_uint_ne(uidvalidity_of("Work"), old);
	ck_assert_uint_eq(a.uidvalidity, old);
	ck_assert_uint_eq(a.uid, 1);
	uv_sem_destroy(&hold);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("host_mail");
	TCase *tc = tcase_create("host");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, accounts_aliases_and_remote_targets);
	tcase_add_test(tc, alias_loops_and_self_copies_end);
	tcase_add_test(tc, senders_own_their_address_and_their_aliases);
	tcase_add_test(tc, delivery_is_stored_once_with_return_path);
	tcase_add_test(tc, large_messages_spool_to_a_file);
	tcase_add_test(tc, delivery_to_a_vanished_account_fails_whole);
	tcase_add_test(tc, policies_add_headers_on_top);
	tcase_add_test(tc, a_hook_run_keeps_the_message_alive);
	tcase_add_test(tc, mailbox_views_read_ranges_and_expunge);
	tcase_add_test(tc, views_follow_each_other);
	tcase_add_test(tc, views_share_one_table);
	tcase_add_test(tc, a_view_behind_the_log_compares_tables);
	tcase_add_test(tc, shown_flags_merge_in_any_order);
	tcase_add_test(tc, status_counts_follow_changes);
	tcase_add_test(tc, recent_belongs_to_the_first_read_write_view);
	tcase_add_test(tc, appenduid_names_the_mailbox_it_went_to);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	mime_init(); /* as postinod does: deliveries store MIME summaries */
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
