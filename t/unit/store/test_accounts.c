/* Domains, accounts, default mailboxes, aliases and password history. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "test_util.h"

struct names {
	int count;
	int stop_at; /* return 7 from the callback at this index, or -1 */
	char name[8][320];
	char extra[8][320];
};

static int collect_domain(void *data, const char *domain)
{
	struct names *n = data;

	ck_assert_int_lt(n->count, 8);
	snprintf(n->name[n->count], sizeof n->name[0], "%s", domain);
	return n->count++ == n->stop_at ? 7 : 0;
}

static int collect_account(void *data, const struct store_account *a)
{
	return collect_domain(data, a->address);
}

static int collect_alias(void *data, const char *source, const char *target)
{
	struct names *n = data;

	snprintf(n->extra[n->count], sizeof n->extra[0], "%s", target);
	return collect_domain(data, source);
}

START_TEST(test_domains)
{
	struct fixture fx;
	struct names n = { .stop_at = -1 };
	char db[PATH_MAX];

	fx_open(&fx, STORE_MODE_DAEMON);
	fx_db_path(&fx, db, sizeof db);
	ck_assert_int_eq(t_domain_add(&fx, "b.test"), 0);
	ck_assert_int_eq(t_domain_add(&fx, "a.test"), 0);
	ck_assert_int_eq(t_domain_add(&fx, "A.Test"), -EEXIST);
	ck_assert_int_eq(t_domain_add(&fx, ""), -EINVAL);
	ck_assert_int_eq(t_domain_add(&fx, "x@y.test"), -EINVAL);
	ck_assert_int_eq(t_domain_add(&fx, "bad domain"), -EINVAL);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM domains"), 2);

	ck_assert_int_eq(store_domain_exists(fx.store, "a.test"), 1);
	ck_assert_int_eq(store_domain_exists(fx.store, "B.TEST"), 1);
	ck_assert_int_eq(store_domain_exists(fx.store, "c.test"), 0);

	ck_assert_int_eq(store_domain_list(fx.store, collect_domain, &n), 0);
	ck_assert_int_eq(n.count, 2);
	ck_assert_str_eq(n.name[0], "a.test");
	ck_assert_str_eq(n.name[1], "b.test");
	memset(&n, 0, sizeof n);
	n.stop_at = 0;
	ck_assert_int_eq(store_domain_list(fx.store, collect_domain, &n), 7);
	ck_assert_int_eq(n.count, 1);

	ck_assert_int_eq(t_domain_del(&fx, "c.test"), -ENOENT);
	ck_assert_int_eq(t_domain_del(&fx, "B.test"), 0);
	ck_assert_int_eq(store_domain_exists(fx.store, "b.test"), 0);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM domains"
				     " WHERE name = 'a.test'"),
			 1);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM domains"), 1);
	fx_close(&fx);
}
END_TEST

START_TEST(test_accounts)
{
	struct fixture fx;
	struct store_account a;
	struct names n = { .stop_at = -1 };
	char db[PATH_MAX];
	int64_t id, id2;
	time_t t0 = time(NULL);

	fx_open(&fx, STORE_MODE_DAEMON);
	fx_db_path(&fx, db, sizeof db);
	ck_assert_int_eq(t_account_add(&fx, "bob@nowhere.test", FAKE_HASH,
				       NULL),
			 -ENOENT);
	ck_assert_int_eq(t_domain_add(&fx, "example.test"), 0);
	ck_assert_int_eq(t_domain_add(&fx, "other.test"), 0);
	ck_assert_int_eq(t_account_add(&fx, "bob@example.test", FAKE_HASH,
				       &id),
			 0);
	ck_assert_int_gt(id, 0);
	ck_assert_int_eq(t_account_add(&fx, "BOB@Example.TEST", FAKE_HASH,
				       NULL),
			 -EEXIST);
	ck_assert_int_eq(t_account_add(&fx, "bob", FAKE_HASH, NULL), -EINVAL);
	ck_assert_int_eq(t_account_add(&fx, "@example.test", FAKE_HASH, NULL),
			 -EINVAL);
	ck_assert_int_eq(t_account_add(&fx, "eve@example.test", "", NULL),
			 -EINVAL);
	ck_assert_int_eq(t_account_add(&fx, "eve@example.test", "plaintext",
				       NULL),
			 -EINVAL);
	ck_assert_int_eq(t_account_add(&fx, "al@other.test", FAKE_HASH, &id2),
			 0);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM accounts"), 2);

	ck_assert_int_eq(store_account_get(fx.store, "Bob@EXAMPLE.test", &a),
			 0);
	ck_assert_int_eq(a.id, id);
	ck_assert_str_eq(a.address, "bob@example.test");
	ck_assert_str_eq(a.password_hash, FAKE_HASH);
	ck_assert_str_eq(a.secondary, "");
	ck_assert_str_eq(a.lang, "");
	ck_assert_int_eq(a.disabled, 0);
	ck_assert_int_ge(a.created, t0);
	ck_assert_int_le(a.created, time(NULL));
	ck_assert_int_eq(a.password_changed, a.created);
	ck_assert_int_eq(store_account_get(fx.store, "x@example.test", &a),
			 -ENOENT);
	ck_assert_ptr_nonnull(strstr(store_error(fx.store), "no account"));

	ck_assert_int_eq(t_domain_del(&fx, "example.test"), -ENOTEMPTY);
	ck_assert_int_eq(store_domain_exists(fx.store, "example.test"), 1);

	/* Changes, one field at a time; NULL and -1 leave fields alone. */
	ck_assert_int_eq(t_account_set(&fx, "bob@example.test",
				       "bob@elsewhere.test", NULL, -1),
			 0);
	ck_assert_int_eq(t_account_set(&fx, "bob@example.test", NULL, "it",
				       -1),
			 0);
	ck_assert_int_eq(t_account_set(&fx, "bob@example.test", NULL, NULL,
				       1),
			 0);
	ck_assert_int_eq(store_account_get(fx.store, "bob@example.test", &a),
			 0);
	ck_assert_str_eq(a.secondary, "bob@elsewhere.test");
	ck_assert_str_eq(a.lang, "it");
	ck_assert_int_eq(a.disabled, 1);
	ck_assert_int_eq(t_account_set(&fx, "bob@example.test", "", NULL, 0),
			 0);
	ck_assert_int_eq(store_account_get(fx.store, "bob@example.test", &a),
			 0);
	ck_assert_str_eq(a.secondary, "");
	ck_assert_str_eq(a.lang, "it");
	ck_assert_int_eq(a.disabled, 0);
	ck_assert_int_eq(sql_int(db, "SELECT secondary IS NULL FROM accounts"
				     " WHERE address = 'bob@example.test'"),
			 1);
	ck_assert_int_eq(t_account_set(&fx, "nobody@example.test", NULL,
				       "en", -1),
			 -ENOENT);
	ck_assert_int_eq(t_account_set(&fx, "bob@example.test", NULL, NULL,
				       5),
			 -EINVAL);
	ck_assert_int_eq(t_account_set(&fx, "bob@example.test", "not mail",
				       NULL, -1),
			 -EINVAL);
	ck_assert_int_eq(t_account_set(&fx, "bob@example.test", NULL,
				       "toolonglang", -1),
			 -EINVAL);

	ck_assert_int_eq(store_account_list(fx.store, NULL, collect_account,
					    &n),
			 0);
	ck_assert_int_eq(n.count, 2);
	ck_assert_str_eq(n.name[0], "al@other.test");
	ck_assert_str_eq(n.name[1], "bob@example.test");
	memset(&n, 0, sizeof n);
	n.stop_at = -1;
	ck_assert_int_eq(store_account_list(fx.store, "other.test",
					    collect_account, &n),
			 0);
	ck_assert_int_eq(n.count, 1);
	ck_assert_str_eq(n.name[0], "al@other.test");
	ck_assert_int_eq(store_account_list(fx.store, "none.test",
					    collect_account, &n),
			 -ENOENT);

	ck_assert_int_eq(t_account_del(&fx, "nobody@example.test"), -ENOENT);
	ck_assert_int_eq(t_account_del(&fx, "BOB@example.test"), 0);
	ck_assert_int_eq(store_account_get(fx.store, "bob@example.test", &a),
			 -ENOENT);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM mailboxes m"
				     " LEFT JOIN accounts a"
				     " ON a.id = m.account"
				     " WHERE a.id IS NULL"),
			 0);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM mailboxes"), 5);
	ck_assert_int_eq(t_domain_del(&fx, "example.test"), 0);
	fx_close(&fx);
}
END_TEST

static const char *const default_names[] = {
	"INBOX", "Sent", "Drafts", "Trash", "Junk",
};
static const char *const default_special[] = {
	"", "\\Sent", "\\Drafts", "\\Trash", "\\Junk",
};

struct mailboxes {
	int count;
	struct store_mailbox m[8];
};

static int collect_mailbox(void *data, const struct store_mailbox *m)
{
	struct mailboxes *mb = data;

	ck_assert_int_lt(mb->count, 8);
	mb->m[mb->count++] = *m;
	return 0;
}

START_TEST(test_default_mailboxes)
{
	struct fixture fx;
	struct mailboxes mb = { 0 }, mb2 = { 0 };
	struct store_mailbox inbox;
	char db[PATH_MAX];

	fx_open(&fx, STORE_MODE_DAEMON);
	fx_db_path(&fx, db, sizeof db);
	ck_assert_int_eq(t_domain_add(&fx, "example.test"), 0);
	ck_assert_int_eq(t_account_add(&fx, "bob@example.test", FAKE_HASH,
				       NULL),
			 0);
	ck_assert_int_eq(t_account_add(&fx, "amy@example.test", FAKE_HASH,
				       NULL),
			 0);
	ck_assert_int_eq(store_mailbox_list(fx.store, "bob@example.test",
					    collect_mailbox, &mb),
			 0);
	ck_assert_int_eq(mb.count, 5);
	for (int i = 0; i < 5; i++) {
		ck_assert_str_eq(mb.m[i].name, default_names[i]);
		ck_assert_str_eq(mb.m[i].special_use, default_special[i]);
		ck_assert_uint_eq(mb.m[i].uidnext, 1);
		ck_assert_uint_eq(mb.m[i].messages, 0);
		ck_assert_uint_ne(mb.m[i].uidvalidity, 0);
		for (int j = 0; j < i; j++)
			ck_assert_uint_ne(mb.m[i].uidvalidity,
					  mb.m[j].uidvalidity);
	}
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM mailboxes m"
				     " JOIN accounts a ON a.id = m.account"
				     " WHERE a.address = 'bob@example.test'"
				     " AND m.special_use = '\\Sent'"
				     " AND m.name = 'Sent'"),
			 1);
	/* All five subscribed, in the subscription list of names. */
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM subscriptions s"
				     " JOIN accounts a ON a.id = s.account"
				     " WHERE a.address = 'bob@example.test'"
				     " AND s.name IN ('INBOX', 'Sent', 'Drafts',"
				     " 'Trash', 'Junk')"),
			 5);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(mb.m[i].subscribed, 1);
	ck_assert_int_eq(store_mailbox_list(fx.store, "amy@example.test",
					    collect_mailbox, &mb2),
			 0);
	ck_assert_int_eq(mb2.count, 5);
	for (int i = 0; i < 5; i++)
		for (int j = 0; j < i; j++)
			ck_assert_uint_ne(mb2.m[i].uidvalidity,
					  mb2.m[j].uidvalidity);

	ck_assert_int_eq(store_mailbox_get(fx.store, "bob@example.test",
					   "inbox", &inbox),
			 0);
	ck_assert_str_eq(inbox.name, "INBOX");
	ck_assert_int_eq(inbox.id, mb.m[0].id);
	ck_assert_int_eq(store_mailbox_get(fx.store, "bob@example.test",
					   "sent", &inbox),
			 -ENOENT);
	ck_assert_int_eq(store_mailbox_get(fx.store, "nobody@example.test",
					   "INBOX", &inbox),
			 -ENOENT);
	ck_assert_int_eq(store_mailbox_list(fx.store, "nobody@example.test",
					    collect_mailbox, &mb),
			 -ENOENT);
	fx_close(&fx);
}
END_TEST

START_TEST(test_aliases)
{
	struct fixture fx;
	struct names n = { .stop_at = -1 };
	char db[PATH_MAX];

	fx_open(&fx, STORE_MODE_DAEMON);
	fx_db_path(&fx, db, sizeof db);
	ck_assert_int_eq(t_alias_add(&fx, "info@example.test",
				     "bob@example.test"),
			 -ENOENT);
	ck_assert_int_eq(t_domain_add(&fx, "example.test"), 0);
	ck_assert_int_eq(t_alias_add(&fx, "info@example.test",
				     "bob@example.test"),
			 0);
	ck_assert_int_eq(t_alias_add(&fx, "info@example.test",
				     "amy@far.test"),
			 0);
	ck_assert_int_eq(t_alias_add(&fx, "abuse@example.test",
				     "amy@far.test"),
			 0);
	ck_assert_int_eq(t_alias_add(&fx, "INFO@example.test",
				     "bob@example.test"),
			 -EEXIST);
	ck_assert_int_eq(t_alias_add(&fx, "info", "bob@example.test"),
			 -EINVAL);
	ck_assert_int_eq(t_alias_add(&fx, "info@example.test", "bob"),
			 -EINVAL);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM aliases"), 3);
	/* Aliases pin their domain: deleting it would leave mail routed for
	 * a domain we no longer host. */
	ck_assert_int_eq(t_domain_del(&fx, "example.test"), -ENOTEMPTY);

	ck_assert_int_eq(store_alias_list(fx.store, NULL, collect_alias, &n),
			 0);
	ck_assert_int_eq(n.count, 3);
	ck_assert_str_eq(n.name[0], "abuse@example.test");
	ck_assert_str_eq(n.name[1], "info@example.test");
	ck_assert_str_eq(n.extra[1], "amy@far.test");
	ck_assert_str_eq(n.extra[2], "bob@example.test");
	memset(&n, 0, sizeof n);
	n.stop_at = -1;
	ck_assert_int_eq(store_alias_list(fx.store, "Info@example.test",
					  collect_alias, &n),
			 0);
	ck_assert_int_eq(n.count, 2);

	ck_assert_int_eq(t_alias_del(&fx, "info@example.test",
				     "nobody@example.test"),
			 -ENOENT);
	ck_assert_int_eq(t_alias_del(&fx, "info@example.test",
				     "bob@example.test"),
			 0);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM aliases"
				     " WHERE target = 'bob@example.test'"),
			 0);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM aliases"), 2);
	fx_close(&fx);
}
END_TEST

static int collect_hash(void *data, const char *hash)
{
	return collect_domain(data, hash);
}

START_TEST(test_password_history)
{
	struct fixture fx;
	struct names n = { .stop_at = -1 };
	struct store_account a;
	char db[PATH_MAX];

	fx_open(&fx, STORE_MODE_DAEMON);
	fx_db_path(&fx, db, sizeof db);
	ck_assert_int_eq(t_domain_add(&fx, "example.test"), 0);
	ck_assert_int_eq(t_account_add(&fx, "bob@example.test", "$y$h0", NULL),
			 0);
	ck_assert_int_eq(t_set_password(&fx, "bob@example.test", "$y$h1", 1000,
					2),
			 0);
	ck_assert_int_eq(t_set_password(&fx, "bob@example.test", "$y$h2", 2000,
					2),
			 0);
	ck_assert_int_eq(t_set_password(&fx, "bob@example.test", "$y$h3", 3000,
					2),
			 0);
	ck_assert_int_eq(store_account_get(fx.store, "bob@example.test", &a),
			 0);
	ck_assert_str_eq(a.password_hash, "$y$h3");
	ck_assert_int_eq(a.password_changed, 3000);
	ck_assert_int_eq(store_password_history(fx.store, "bob@example.test",
						collect_hash, &n),
			 0);
	ck_assert_int_eq(n.count, 2);
	ck_assert_str_eq(n.name[0], "$y$h2");
	ck_assert_str_eq(n.name[1], "$y$h1");
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM password_history"),
			 2);

	ck_assert_int_eq(t_set_password(&fx, "nobody@example.test", "$y$h4",
					4000, 2),
			 -ENOENT);
	ck_assert_int_eq(t_set_password(&fx, "bob@example.test", "bad", 4000,
					2),
			 -EINVAL);
	ck_assert_int_eq(t_set_password(&fx, "bob@example.test", "$y$h4", 4000,
					0),
			 0);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM password_history"),
			 0);
	ck_assert_int_eq(store_password_history(fx.store,
						"nobody@example.test",
						collect_hash, &n),
			 -ENOENT);

	/* The history goes with the account. */
	ck_assert_int_eq(t_set_password(&fx, "bob@example.test", "$y$h5", 5000,
					3),
			 0);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM password_history"),
			 1);
	ck_assert_int_eq(t_account_del(&fx, "bob@example.test"), 0);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM password_history"),
			 0);
	fx_close(&fx);
}
END_TEST

Suite *suite_accounts(void)
{
	Suite *s = suite_create("store_accounts");
	TCase *tc = tcase_create("accounts");

	tu_add_fixture(tc);
	tcase_add_test(tc, test_domains);
	tcase_add_test(tc, test_accounts);
	tcase_add_test(tc, test_default_mailboxes);
	tcase_add_test(tc, test_aliases);
	tcase_add_test(tc, test_password_history);
	suite_add_tcase(s, tc);
	return s;
}
