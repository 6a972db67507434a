/* postino user add|del|show|list|set|passwd */
#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <sys/random.h>

#include "auth/password.h"
#include "cli/cli.h"
#include "util/address.h"

#define PASSWORD_MAX 1024
#define HASH_MAX 160
#define GENERATED_PASSWORD_LEN 16

struct user_args {
	char address[ADDRESS_MAX + 1];
	char secondary[ADDRESS_MAX + 1];
	const char *lang;
	int has_secondary;
	int disabled; /* -1: unchanged */
	int password_stdin;
	char hash[HASH_MAX];
	int64_t now;
};

/* Unambiguous characters only: generated passwords get read aloud and
 * typed from paper. */
static int user_generate_password(char *out, size_t len)
{
	static const char alphabet[] =
		"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	unsigned char random[GENERATED_PASSWORD_LEN];

	if (len <= GENERATED_PASSWORD_LEN ||
	    getrandom(random, sizeof(random), 0) != (ssize_t)sizeof(random))
		return -EIO;
	for (size_t i = 0; i < GENERATED_PASSWORD_LEN; i++)
		out[i] = alphabet[random[i] % (sizeof(alphabet) - 1)];
	out[GENERATED_PASSWORD_LEN] = '\0';
	explicit_bzero(random, sizeof(random));
	return 0;
}

static int user_lang_ok(struct cli *cli, const char *lang)
{
	if (strcmp(lang, "it") == 0 || strcmp(lang, "en") == 0)
		return 0;
	return cli_fail(cli, EX_DATAERR, "unknown language '%s' (it or en)",
			lang);
}

/* Options shared by add and set. */
static int user_options(struct cli *cli, int argc, char **argv,
			struct user_args *a, int allow_disabled)
{
	static const struct option options[] = {
		{ "password-stdin", no_argument, NULL, 'p' },
		{ "secondary", required_argument, NULL, 's' },
		{ "lang", required_argument, NULL, 'l' },
		{ "disabled", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, code;

	a->disabled = -1;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'p':
			a->password_stdin = 1;
			break;
		case 's':
			a->has_secondary = 1;
			if (optarg[0] == '\0') {
				a->secondary[0] = '\0'; /* clears it */
				break;
			}
			if ((code = cli_address(cli, optarg, a->secondary,
						sizeof(a->secondary))) != 0)
				return code;
			break;
		case 'l':
			if ((code = user_lang_ok(cli, optarg)) != 0)
				return code;
			a->lang = optarg;
			break;
		case 'd':
			if (!allow_disabled)
				return cli_fail(cli, EX_USAGE,
						"--disabled belongs to user set");
			if (strcmp(optarg, "yes") == 0)
				a->disabled = 1;
			else if (strcmp(optarg, "no") == 0)
				a->disabled = 0;
			else
				return cli_fail(cli, EX_USAGE,
						"--disabled takes yes or no");
			break;
		default:
			return EX_USAGE;
		}
	}
	if (optind != argc - 1)
		return cli_fail(cli, EX_USAGE, "expected exactly one ADDRESS");
	return cli_address(cli, argv[optind], a->address, sizeof(a->address));
}

static int user_add_job(struct store_txn *txn, void *data)
{
	struct user_args *a = data;
	struct store_account_new account = {
		.address = a->address,
		.password_hash = a->hash,
		.secondary = a->has_secondary && a->secondary[0] != '\0'
				     ? a->secondary : NULL,
		.lang = a->lang,
	};
	int64_t id;

	return store_txn_account_add(txn, &account, &id);
}

/* Validates through the modules' rules, then hashes. */
static int user_hash_password(struct cli *cli, struct user_args *a,
			      const char *password)
{
	int code = cli_password_validate(cli, a->address, password);

	if (code != 0)
		return code;
	if (password_hash(password, a->hash, sizeof(a->hash)) < 0)
		return cli_fail(cli, EX_SOFTWARE, "cannot hash the password");
	return 0;
}

static int user_add(struct cli *cli, int argc, char **argv)
{
	struct user_args a = { 0 };
	char password[PASSWORD_MAX + 2];
	int code = user_options(cli, argc, argv, &a, 0);

	if (code != 0)
		return code;
	int exists = store_domain_exists(cli->ctx.store,
					 address_domain(a.address));
	if (exists < 0)
		return cli_store_fail(cli, exists, a.address);
	if (exists == 0)
		return cli_fail(cli, EX_NOUSER, "unknown domain %s (add it "
				"first with: postino domain add %s)",
				address_domain(a.address),
				address_domain(a.address));
	if (a.password_stdin)
		code = cli_read_password(cli, password, sizeof(password));
	else if (user_generate_password(password, sizeof(password)) < 0)
		code = cli_fail(cli, EX_SOFTWARE, "cannot generate a password");
	if (code == 0)
		code = user_hash_password(cli, &a, password);
	if (code == 0) {
		int ret = cli_write(cli, user_add_job, &a);
		if (ret == -EEXIST)
			code = cli_fail(cli, EX_CANTCREAT,
					"user %s already exists", a.address);
		else if (ret == -ENOENT)
			code = cli_fail(cli, EX_NOUSER, "unknown domain %s",
					address_domain(a.address));
		else if (ret < 0)
			code = cli_store_fail(cli, ret, a.address);
	}
	if (code == 0) {
		/* A generated password is shown once and never again. */
		if (!a.password_stdin)
			fprintf(cli->out, "password for %s: %s\n", a.address,
				password);
		cli_password_changed(cli, a.address);
	}
	explicit_bzero(password, sizeof(password));
	return code;
}

static int user_passwd_job(struct store_txn *txn, void *data)
{
	struct user_args *a = data;

	return store_txn_account_set_password(txn, a->address, a->hash, a->now,
					      PASSWORD_HISTORY_KEEP);
}

static int user_passwd(struct cli *cli, int argc, char **argv)
{
	struct user_args a = { 0 };
	struct store_account account;
	char password[PASSWORD_MAX + 2];
	int code = user_options(cli, argc, argv, &a, 0);

	if (code != 0)
		return code;
	if (!a.password_stdin || a.has_secondary || a.lang != NULL)
		return cli_fail(cli, EX_USAGE,
				"usage: postino user passwd ADDRESS --password-stdin");
	int ret = store_account_get(cli->ctx.store, a.address, &account);
	if (ret == -ENOENT)
		return cli_fail(cli, EX_NOUSER, "unknown user %s", a.address);
	if (ret < 0)
		return cli_store_fail(cli, ret, a.address);
	code = cli_read_password(cli, password, sizeof(password));
	if (code == 0)
		code = user_hash_password(cli, &a, password);
	explicit_bzero(password, sizeof(password));
	if (code != 0)
		return code;
	a.now = core_now_ms() / 1000;
	ret = cli_write(cli, user_passwd_job, &a);
	if (ret < 0)
		return cli_store_fail(cli, ret, a.address);
	cli_password_changed(cli, a.address);
	return 0;
}

static int user_del_job(struct store_txn *txn, void *data)
{
	return store_txn_account_del(txn, data);
}

static int user_set_job(struct store_txn *txn, void *data)
{
	struct user_args *a = data;
	struct store_account_change change = {
		.secondary = a->has_secondary ? a->secondary : NULL,
		.lang = a->lang,
		.disabled = a->disabled,
	};

	return store_txn_account_set(txn, a->address, &change);
}

static int user_set(struct cli *cli, int argc, char **argv)
{
	struct user_args a = { 0 };
	int code = user_options(cli, argc, argv, &a, 1);

	if (code != 0)
		return code;
	if (a.password_stdin)
		return cli_fail(cli, EX_USAGE, "use postino user passwd to "
				"change a password");
	if (!a.has_secondary && a.lang == NULL && a.disabled < 0)
		return cli_fail(cli, EX_USAGE, "nothing to set (--secondary, "
				"--lang, --disabled)");
	int ret = cli_write(cli, user_set_job, &a);
	if (ret == -ENOENT)
		return cli_fail(cli, EX_NOUSER, "unknown user %s", a.address);
	return ret < 0 ? cli_store_fail(cli, ret, a.address) : 0;
}

static int user_print_mailbox(void *data, const struct store_mailbox *m)
{
	fprintf(data, "mailbox: %s%s%s uidvalidity=%u uidnext=%u messages=%u\n",
		m->name, m->special_use[0] != '\0' ? " " : "", m->special_use,
		m->uidvalidity, m->uidnext, m->messages);
	return 0;
}

static int user_show(struct cli *cli, const char *address)
{
	struct store_account account;
	char when[32];

	int ret = store_account_get(cli->ctx.store, address, &account);
	if (ret == -ENOENT)
		return cli_fail(cli, EX_NOUSER, "unknown user %s", address);
	if (ret < 0)
		return cli_store_fail(cli, ret, address);
	/* The hash itself is not shown: it is of no use to an operator and
	 * one less place for it to leak from. */
	fprintf(cli->out, "address: %s\n", account.address);
	fprintf(cli->out, "secondary: %s\n",
		account.secondary[0] != '\0' ? account.secondary : "-");
	fprintf(cli->out, "lang: %s\n",
		account.lang[0] != '\0' ? account.lang : "default");
	fprintf(cli->out, "disabled: %s\n", account.disabled ? "yes" : "no");
	fprintf(cli->out, "password: %s, changed %s\n",
		strncmp(account.password_hash, "$y$", 3) == 0 ? "yescrypt"
							     : "other scheme",
		cli_time(account.password_changed, when, sizeof(when)));
	fprintf(cli->out, "created: %s\n",
		cli_time(account.created, when, sizeof(when)));
	int code = cli_quota_print(cli, account.address);
	if (code != 0)
		return code;
	ret = store_mailbox_list(cli->ctx.store, account.address,
				 user_print_mailbox, cli->out);
	return ret < 0 ? cli_store_fail(cli, ret, address) : 0;
}

static int user_print(void *data, const struct store_account *a)
{
	fprintf(data, "%s%s\n", a->address, a->disabled ? " (disabled)" : "");
	return 0;
}

static int user_list(struct cli *cli, int argc, char **argv)
{
	char domain[DOMAIN_MAX + 1];
	const char *filter = NULL;

	if (argc > 3)
		return cli_fail(cli, EX_USAGE, "usage: postino user list [DOMAIN]");
	if (argc == 3) {
		if (domain_normalize(argv[2], domain, sizeof(domain)) < 0)
			return cli_fail(cli, EX_DATAERR, "malformed domain '%s'",
					argv[2]);
		int exists = store_domain_exists(cli->ctx.store, domain);
		if (exists < 0)
			return cli_store_fail(cli, exists, domain);
		if (exists == 0)
			return cli_fail(cli, EX_NOUSER, "unknown domain %s",
					domain);
		filter = domain;
	}
	int ret = store_account_list(cli->ctx.store, filter, user_print,
				     cli->out);
	return ret < 0 ? cli_store_fail(cli, ret, "user list") : 0;
}

int cli_user(struct cli *cli, int argc, char **argv)
{
	char address[ADDRESS_MAX + 1];
	int code;

	if (argc < 2)
		return cli_fail(cli, EX_USAGE, "usage: postino user "
				"add|del|show|list|set|passwd ...");
	const char *sub = argv[1];
	if (strcmp(sub, "add") == 0)
		return user_add(cli, argc - 1, argv + 1);
	if (strcmp(sub, "passwd") == 0)
		return user_passwd(cli, argc - 1, argv + 1);
	if (strcmp(sub, "set") == 0)
		return user_set(cli, argc - 1, argv + 1);
	if (strcmp(sub, "list") == 0)
		return user_list(cli, argc, argv);
	if (strcmp(sub, "del") != 0 && strcmp(sub, "show") != 0)
		return cli_fail(cli, EX_USAGE, "unknown user command '%s'", sub);
	if (argc != 3)
		return cli_fail(cli, EX_USAGE, "usage: postino user %s ADDRESS",
				sub);
	if ((code = cli_address(cli, argv[2], address, sizeof(address))) != 0)
		return code;
	if (strcmp(sub, "show") == 0)
		return user_show(cli, address);
	int ret = cli_write(cli, user_del_job, address);
	if (ret == -ENOENT)
		return cli_fail(cli, EX_NOUSER, "unknown user %s", address);
	return ret < 0 ? cli_store_fail(cli, ret, address) : 0;
}
