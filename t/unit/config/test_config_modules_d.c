/* config_load with modules.d: [module], [listener NAME], module sections. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "helpers.h"

static const char main_conf[] =
	"[server]\n"
	"hostname = mail.example.org\n"
	"log_level = warning\n"
	"\n"
	"[tls]\n"
	"cert = /etc/postino/tls/cert.pem\n"
	"key = /etc/postino/tls/key.pem\n"
	"\n"
	"[imap]\n"
	"max_line = 8k\n";

static const char imap_conf[] =
	"[module]\n"
	"load = imap\n"
	"\n"
	"[listener imap]\n"
	"address = 127.0.0.1\n"
	"port = 143\n"
	"protocol = imap\n"
	"tls = starttls\n"
	"\n"
	"[listener imaps]\n"
	"address = ::1\n"
	"port = 993\n"
	"protocol = imap\n"
	"tls = implicit\n"
	"max_connections = 500\n"
	"max_connections_per_ip = 20\n"
	"idle_timeout = 30m\n"
	"command_timeout = 2m\n"
	"\n"
	"[imap]\n"
	"idle_timeout = 30m\n";

static const char ratelimit_conf[] =
	"[module]\n"
	"load = ratelimit\n"
	"[ratelimit]\n"
	"limit = 100\n";

static const char expected_dump[] =
	"files: postino.conf modules.d/10-ratelimit.conf "
	"modules.d/20-imap.conf\n"
	"server: hostname=mail.example.org state_dir=/var/lib/postino "
	"user=postino modules_conf_dir=modules.d log=warning/0\n"
	"[server] postino.conf:1\n"
	"  hostname = mail.example.org (postino.conf:2)\n"
	"  log_level = warning (postino.conf:3)\n"
	"[tls] postino.conf:5\n"
	"  cert = /etc/postino/tls/cert.pem (postino.conf:6)\n"
	"  key = /etc/postino/tls/key.pem (postino.conf:7)\n"
	"[imap] postino.conf:9\n"
	"  max_line = 8k (postino.conf:10)\n"
	"[module] modules.d/10-ratelimit.conf:1\n"
	"  load = ratelimit (modules.d/10-ratelimit.conf:2)\n"
	"[ratelimit] modules.d/10-ratelimit.conf:3\n"
	"  limit = 100 (modules.d/10-ratelimit.conf:4)\n"
	"[module] modules.d/20-imap.conf:1\n"
	"  load = imap (modules.d/20-imap.conf:2)\n"
	"[listener imap] modules.d/20-imap.conf:4\n"
	"  address = 127.0.0.1 (modules.d/20-imap.conf:5)\n"
	"  port = 143 (modules.d/20-imap.conf:6)\n"
	"  protocol = imap (modules.d/20-imap.conf:7)\n"
	"  tls = starttls (modules.d/20-imap.conf:8)\n"
	"[listener imaps] modules.d/20-imap.conf:10\n"
	"  address = ::1 (modules.d/20-imap.conf:11)\n"
	"  port = 993 (modules.d/20-imap.conf:12)\n"
	"  protocol = imap (modules.d/20-imap.conf:13)\n"
	"  tls = implicit (modules.d/20-imap.conf:14)\n"
	"  max_connections = 500 (modules.d/20-imap.conf:15)\n"
	"  max_connections_per_ip = 20 (modules.d/20-imap.conf:16)\n"
	"  idle_timeout = 30m (modules.d/20-imap.conf:17)\n"
	"  command_timeout = 2m (modules.d/20-imap.conf:18)\n"
	"[imap] modules.d/20-imap.conf:20\n"
	"  idle_timeout = 30m (modules.d/20-imap.conf:21)\n"
	"module ratelimit modules.d/10-ratelimit.conf:2\n"
	"module imap modules.d/20-imap.conf:2\n";

static const char *rel(const char *path)
{
	size_t len = strlen(test_dir);

	if (strncmp(path, test_dir, len) == 0 && path[len] == '/')
		return path + len + 1;
	return path;
}

static void add(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void add(char *buf, size_t size, const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list args;

	va_start(args, fmt);
	vsnprintf(buf + len, size - len, fmt, args);
	va_end(args);
}

static void dump(const struct config *c, char *buf, size_t size)
{
	buf[0] = '\0';
	add(buf, size, "files:");
	for (size_t i = 0; i < c->file_count; i++)
		add(buf, size, " %s", rel(c->files[i]));
	add(buf, size, "\nserver: hostname=%s state_dir=%s user=%s "
		       "modules_conf_dir=%s log=%s/%d\n",
	    c->server.hostname, c->server.state_dir, c->server.user,
	    rel(c->server.modules_conf_dir),
	    log_level_name(c->server.log_level), (int)c->server.log_target);
	for (const struct config_section *s = c->sections; s; s = s->next) {
		add(buf, size, "[%s%s%s] %s:%d\n", s->type, s->name ? " " : "",
		    s->name ? s->name : "", rel(s->file), s->line);
		for (const struct config_entry *e = s->entries; e; e = e->next)
			add(buf, size, "  %s = %s (%s:%d)\n", e->key, e->value,
			    rel(e->file), e->line);
	}
	for (size_t i = 0; i < c->module_count; i++)
		add(buf, size, "module %s %s:%d\n", c->modules[i].name,
		    rel(c->modules[i].file), c->modules[i].line);
}

START_TEST(happy_path_exact)
{
	struct config *config;
	char buf[4096];

	put_file("modules.d/20-imap.conf", imap_conf);
	put_file("modules.d/10-ratelimit.conf", ratelimit_conf);
	/* None of these is read: not *.conf, or hidden. */
	put_file("modules.d/README", "[broken\n");
	put_file("modules.d/.hidden.conf", "[broken\n");
	put_file("modules.d/30-x.conf~", "[broken\n");
	put_file("modules.d/30-x.conf.bak", "[broken\n");
	put_file("modules.d/.conf", "[broken\n");
	ck_assert_int_eq(load_main(main_conf, &config), 0);
	dump(config, buf, sizeof(buf));
	ck_assert_str_eq(buf, expected_dump);
	ck_assert_str_eq(config->modules[0].file, config->files[1]);
	ck_assert_ptr_eq(config->sections->file, config->files[0]);
	config_free(&config);
}
END_TEST

START_TEST(empty_modules_d)
{
	struct config *config;

	ck_assert_int_eq(mkdir(scratch_path("modules.d"), 0700), 0);
	ck_assert_int_eq(load_main("[server]\n", &config), 0);
	ck_assert_uint_eq(config->module_count, 0);
	config_free(&config);
}
END_TEST

START_TEST(module_section_rules)
{
	put_file("postino.conf", "[server]\n");
	put_file("modules.d/10-a.conf", "# nothing yet\n");
	assert_existing_fails("modules.d/10-a.conf: no [module] section");

	put_file("modules.d/10-a.conf", "[module]\nload = a\n[module]\n"
					"load = b\n");
	assert_existing_fails("modules.d/10-a.conf:3: second [module] "
			      "section (first at line 1)");

	put_file("modules.d/10-a.conf", "[a]\n[module]\n");
	assert_existing_fails("modules.d/10-a.conf:2: [module] missing "
			      "required key 'load'");

	put_file("modules.d/10-a.conf", "[module]\nload = a\nlod = b\n");
	assert_existing_fails("modules.d/10-a.conf:3: [module] unknown key "
			      "'lod'");

	put_file("modules.d/10-a.conf", "[module]\nload = Bad!\n");
	assert_existing_fails("modules.d/10-a.conf:2: [module] load: 'Bad!' "
			      "is neither a module name");
	put_file("modules.d/10-a.conf", "[module]\nload = lib/a.so\n");
	assert_existing_fails("modules.d/10-a.conf:2: [module] load: "
			      "'lib/a.so' is neither a module name");
	put_file("modules.d/10-a.conf", "[module]\nload = /lib/a.sox\n");
	assert_existing_fails("modules.d/10-a.conf:2: [module] load: "
			      "'/lib/a.sox' is neither a module name");
	put_file("modules.d/10-a.conf", "[module]\nload = /lib/Bad.so\n");
	assert_existing_fails("modules.d/10-a.conf:2: [module] load: "
			      "'/lib/Bad.so' is neither a module name");
	put_file("modules.d/10-a.conf",
		 "[module]\nload = a\nlisteners = mx Bad!\n");
	assert_existing_fails("modules.d/10-a.conf:3: [module] listeners: "
			      "'mx Bad!' is not a list of names");

	put_file("modules.d/10-a.conf", "[module]\nload = listener\n");
	assert_existing_fails("modules.d/10-a.conf:2: [module] load: "
			      "'listener' is a core section name");
}
END_TEST

/* `load = /path/NAME.so` names the module NAME and the file to open;
 * `listeners` scopes its hooks. */
START_TEST(load_path_and_listeners)
{
	struct config *config;

	put_file("modules.d/10-a.conf",
		 "[module]\nload = /opt/mods/grey-list.so\n"
		 "listeners = mx\tsubmission\n[grey-list]\n");
	put_file("modules.d/20-b.conf", "[module]\nload = imap\n");
	ck_assert_int_eq(load_main("", &config), 0);
	ck_assert_uint_eq(config->module_count, 2);
	ck_assert_str_eq(config->modules[0].name, "grey-list");
	ck_assert_str_eq(config->modules[0].path, "/opt/mods/grey-list.so");
	ck_assert_str_eq(config->modules[0].listeners, "mx\tsubmission");
	ck_assert_str_eq(config->modules[1].name, "imap");
	ck_assert_ptr_null(config->modules[1].path);
	ck_assert_ptr_null(config->modules[1].listeners);
	config_free(&config);
	/* A path's module is the same module as its name. */
	put_file("modules.d/20-b.conf", "[module]\nload = grey-list\n");
	assert_existing_fails("[module] load: module 'grey-list' is already "
			      "loaded by");
}
END_TEST

START_TEST(same_module_twice)
{
	char expected[4200];

	put_file("postino.conf", "");
	put_file("modules.d/10-a.conf", "[module]\nload = imap\n");
	put_file("modules.d/20-b.conf", "\n[module]\nload = imap\n");
	snprintf(expected, sizeof(expected),
		 "modules.d/20-b.conf:3: [module] load: module 'imap' is "
		 "already loaded by %s:2",
		 scratch_path("modules.d/10-a.conf"));
	assert_existing_fails(expected);
}
END_TEST

START_TEST(main_only_sections)
{
	put_file("postino.conf", "");
	put_file("modules.d/10-a.conf", "[module]\nload = a\n[server]\n");
	assert_existing_fails("modules.d/10-a.conf:3: [server] belongs in the "
			      "main configuration file");
	put_file("modules.d/10-a.conf",
		 "[module]\nload = a\n[tls \"x.example\"]\ncert = c\nkey = k\n");
	assert_existing_fails("modules.d/10-a.conf:3: [tls \"x.example\"] "
			      "belongs in the main configuration file");
}
END_TEST

static void assert_listener_fails(const char *key_line, const char *expected)
{
	char text[512];
	char *p = text;
	static const char *const keys[] = {
		"address = 0.0.0.0", "port = 25", "protocol = smtp",
		"tls = starttls",
	};

	p += sprintf(p, "[module]\nload = smtp\n[listener smtp]\n");
	/* Replace the required key of the same name, else add key_line. */
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		size_t name_len = strcspn(keys[i], " ");

		if (strncmp(keys[i], key_line, name_len) != 0 ||
		    (key_line[name_len] != ' ' && key_line[name_len] != '\0'))
			p += sprintf(p, "%s\n", keys[i]);
	}
	if (strchr(key_line, '=') != NULL)
		p += sprintf(p, "%s\n", key_line);
	put_file("postino.conf", "");
	put_file("modules.d/smtp.conf", text);
	assert_existing_fails(expected);
}

START_TEST(listener_values)
{
	assert_listener_fails("port = 0", "[listener smtp] port: '0' is not a "
					  "port number (1-65535)");
	assert_listener_fails("port = 65536", "[listener smtp] port: '65536'");
	assert_listener_fails("port = 25x", "[listener smtp] port: '25x'");
	assert_listener_fails("port = 99999999999999999999",
			      "[listener smtp] port: '99999999999999999999'");
	assert_listener_fails("address = localhost",
			      "[listener smtp] address: 'localhost' is not a "
			      "numeric IPv4 or IPv6 address");
	/* none is a value (checked against the protocol once modules are
	 * known: net_check_cleartext); anything else is not. */
	assert_listener_fails("tls = plaintext", "[listener smtp] tls: "
					    "'plaintext' is not one of "
					    "implicit, starttls, none");
	assert_listener_fails("protocol = SMTP",
			      "[listener smtp] protocol: 'SMTP' is not a "
			      "valid name");
	assert_listener_fails("max_connections = 0",
			      "modules.d/smtp.conf:8: [listener smtp] "
			      "max_connections: '0' is not a whole number");
	assert_listener_fails("max_connections_per_ip = -1",
			      "[listener smtp] max_connections_per_ip: '-1'");
	assert_listener_fails("idle_timeout = 0s",
			      "[listener smtp] idle_timeout: '0s' is not a "
			      "duration of at least 1s");
	assert_listener_fails("idle_timeout = 10x",
			      "[listener smtp] idle_timeout: '10x'");
	assert_listener_fails("command_timeout = 0",
			      "modules.d/smtp.conf:8: [listener smtp] "
			      "command_timeout: '0' is not a duration of at "
			      "least 1s");
	assert_listener_fails("command_timeout = soon",
			      "[listener smtp] command_timeout: 'soon'");
	assert_listener_fails("backlog = 5",
			      "modules.d/smtp.conf:8: [listener smtp] unknown "
			      "key 'backlog'");
	assert_listener_fails("address", "modules.d/smtp.conf:3: "
					 "[listener smtp] missing required "
					 "key 'address'");
	assert_listener_fails("port", "missing required key 'port'");
	assert_listener_fails("protocol", "missing required key 'protocol'");
	assert_listener_fails("tls", "missing required key 'tls'");
}
END_TEST

START_TEST(duplicate_listener)
{
	char expected[4200];

	put_file("postino.conf", "");
	put_file("modules.d/a.conf", "[module]\nload = a\n[listener x]\n"
				     "address = ::\nport = 1\nprotocol = a\n"
				     "tls = implicit\n");
	put_file("modules.d/b.conf", "[module]\nload = b\n[listener x]\n"
				     "address = ::\nport = 2\nprotocol = b\n"
				     "tls = implicit\n");
	snprintf(expected, sizeof(expected),
		 "modules.d/b.conf:3: duplicate section [listener x] (first "
		 "at %s:3)",
		 scratch_path("modules.d/a.conf"));
	assert_existing_fails(expected);
}
END_TEST

START_TEST(orphan_module_section)
{
	put_file("postino.conf", "[server]\n[imap]\nx = 1\n");
	put_file("modules.d/a.conf", "[module]\nload = pop3\n");
	assert_existing_fails("postino.conf:2: unknown section [imap]: not a "
			      "core section and no modules.d file loads a "
			      "module named 'imap'");
	put_file("postino.conf", "");
	put_file("modules.d/a.conf", "[module]\nload = pop3\n[pop3]\n[imap]\n");
	assert_existing_fails("modules.d/a.conf:4: unknown section [imap]");
}
END_TEST

START_TEST(syntax_error_names_module_file)
{
	put_file("postino.conf", "");
	put_file("modules.d/a.conf", "[module]\nload = a\njunk\n");
	assert_existing_fails("modules.d/a.conf:3: expected 'key = value'");
}
END_TEST

START_TEST(not_a_regular_file)
{
	put_file("postino.conf", "");
	ck_assert_int_eq(mkdir(scratch_path("modules.d"), 0700), 0);
	ck_assert_int_eq(mkdir(scratch_path("modules.d/x.conf"), 0700), 0);
	assert_existing_fails("modules.d/x.conf: not a regular file");
}
END_TEST

START_TEST(configured_modules_conf_dir)
{
	struct config *config;
	char text[4200];

	put_file("elsewhere/m.conf", "[module]\nload = m\n");
	snprintf(text, sizeof(text), "[server]\nmodules_conf_dir = %s\n",
		 scratch_path("elsewhere"));
	ck_assert_int_eq(load_main(text, &config), 0);
	ck_assert_uint_eq(config->module_count, 1);
	ck_assert_str_eq(config->modules[0].name, "m");
	config_free(&config);
}
END_TEST

Suite *config_modules_d_suite(void)
{
	Suite *s = suite_create("config_modules_d");
	TCase *tc = tcase_create("modules_d");

	tcase_add_checked_fixture(tc, scratch_setup, scratch_teardown);
	tcase_add_test(tc, happy_path_exact);
	tcase_add_test(tc, empty_modules_d);
	tcase_add_test(tc, module_section_rules);
	tcase_add_test(tc, load_path_and_listeners);
	tcase_add_test(tc, same_module_twice);
	tcase_add_test(tc, main_only_sections);
	tcase_add_test(tc, listener_values);
	tcase_add_test(tc, duplicate_listener);
	tcase_add_test(tc, orphan_module_section);
	tcase_add_test(tc, syntax_error_names_module_file);
	tcase_add_test(tc, not_a_regular_file);
	tcase_add_test(tc, configured_modules_conf_dir);
	suite_add_tcase(s, tc);
	return s;
}
