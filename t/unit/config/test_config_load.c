/* config_load on the main file: syntax, the core schema, defaults. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

START_TEST(missing_main_file)
{
	struct config *config = (struct config *)1;
	int ret = config_load(scratch_path("nope.conf"), &config, test_err,
			      sizeof(test_err));

	ck_assert_int_eq(ret, -ENOENT);
	ck_assert_ptr_null(config);
	ck_assert_str_eq(test_err + strlen(test_dir),
			 "/nope.conf: cannot open: No such file or directory");
}
END_TEST

START_TEST(main_file_is_a_directory)
{
	struct config *config;

	put_file("postino.conf/x", "");
	ck_assert_int_lt(load_existing(&config), 0);
	ck_assert_ptr_null(config);
	ck_assert_ptr_nonnull(strstr(test_err, "postino.conf: cannot read: "));
}
END_TEST

START_TEST(defaults_when_empty)
{
	struct config *config;
	char host[HOST_NAME_MAX + 1];
	char expected_dir[PATH_MAX];

	ck_assert_int_eq(load_main("", &config), 0);
	ck_assert_str_eq(test_err, "");
	ck_assert_int_eq(gethostname(host, sizeof(host)), 0);
	ck_assert_str_eq(config->server.hostname, host);
	ck_assert_str_eq(config->server.state_dir, "/var/lib/postino");
	ck_assert_str_eq(config->server.user, "postino");
	ck_assert_str_eq(config->server.modules_dir, EXPECTED_MODULES_DIR);
	snprintf(expected_dir, sizeof(expected_dir), "%s/modules.d", test_dir);
	ck_assert_str_eq(config->server.modules_conf_dir, expected_dir);
	ck_assert_int_eq(config->server.log_level, LOG_LEVEL_INFO);
	ck_assert_int_eq(config->server.log_target, LOG_TARGET_STDERR);
	ck_assert_ptr_null(config->sections);
	ck_assert_uint_eq(config->module_count, 0);
	ck_assert_uint_eq(config->file_count, 1);
	ck_assert_str_eq(config->main_file, scratch_path("postino.conf"));
	config_free(&config);
	ck_assert_ptr_null(config);
	config_free(&config); /* NULL is fine */
}
END_TEST

START_TEST(relative_main_file)
{
	struct config *config;
	char cwd[PATH_MAX];

	put_file("postino.conf", "[server]\nstate_dir = var\n");
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(chdir(test_dir), 0);
	ck_assert_int_eq(config_load("postino.conf", &config, test_err,
				     sizeof(test_err)),
			 0);
	ck_assert_int_eq(chdir(cwd), 0);
	ck_assert_str_eq(config->server.modules_conf_dir, "./modules.d");
	ck_assert_str_eq(config->server.state_dir, "var");
	ck_assert_str_eq(config->sections->file, "postino.conf");
	config_free(&config);
}
END_TEST

START_TEST(server_values)
{
	struct config *config;

	ck_assert_int_eq(load_main("[server]\n"
				   "hostname = mail.example.org\n"
				   "state_dir = /srv/postino\n"
				   "user = mail\n"
				   "modules_dir = lib/modules\n"
				   "modules_conf_dir = /nonexistent/but/fine?\n"
				   "log_level = debug\n"
				   "log_target = syslog\n",
				   &config),
			 -EINVAL);
	/* A configured modules.d that is missing is a typo, not "none". */
	ck_assert_ptr_nonnull(strstr(test_err,
				     "postino.conf:6: [server] "
				     "modules_conf_dir: cannot read "
				     "'/nonexistent/but/fine?': No such file"));

	ck_assert_int_eq(load_main("[server]\n"
				   "hostname = mail.example.org\n"
				   "state_dir = /srv/postino\n"
				   "user = mail\n"
				   "modules_dir = lib/modules\n"
				   "log_level = debug\n"
				   "log_target = syslog\n",
				   &config),
			 0);
	ck_assert_str_eq(config->server.hostname, "mail.example.org");
	ck_assert_str_eq(config->server.state_dir, "/srv/postino");
	ck_assert_str_eq(config->server.user, "mail");
	ck_assert_str_eq(config->server.modules_dir, "lib/modules");
	ck_assert_int_eq(config->server.log_level, LOG_LEVEL_DEBUG);
	ck_assert_int_eq(config->server.log_target, LOG_TARGET_SYSLOG);
	config_free(&config);
}
END_TEST

START_TEST(syntax_comments_indent_inline)
{
	struct config *config;
	const struct config_section *s;

	ck_assert_int_eq(load_main("; comment\n"
				   "# another\n"
				   "\n"
				   "  [server]   ; trailing comment\n"
				   "\thostname = a.example ; inline comment\n"
				   "    user=mail\n"
				   "   state_dir   =   /var/x y   \n"
				   "[tls]\n"
				   "priority = NORMAL:-VERS-ALL:+VERS-TLS1.3;x\n"
				   "[ tls \"Mail.Other.org\" ]\n"
				   "cert = c.pem\n"
				   "key = k.pem\n",
				   &config),
			 0);
	ck_assert_str_eq(config->server.hostname, "a.example");
	ck_assert_str_eq(config->server.user, "mail");
	ck_assert_str_eq(config->server.state_dir, "/var/x y");
	s = config->sections;
	ck_assert_str_eq(s->type, "server");
	ck_assert_ptr_null(s->name);
	ck_assert_int_eq(s->line, 4);
	ck_assert_int_eq(s->entries->line, 5);
	ck_assert_int_eq(s->entries->next->line, 6);
	s = s->next;
	ck_assert_str_eq(s->type, "tls");
	ck_assert_int_eq(s->line, 8);
	/* ';' starts a comment only after a blank: priority strings use it. */
	ck_assert_str_eq(config_section_value(s, "priority"),
			 "NORMAL:-VERS-ALL:+VERS-TLS1.3;x");
	s = s->next;
	ck_assert_str_eq(s->type, "tls");
	ck_assert_str_eq(s->name, "Mail.Other.org");
	ck_assert_int_eq(s->line, 10);
	ck_assert_str_eq(config_section_value(s, "cert"), "c.pem");
	ck_assert_ptr_null(config_section_value(s, "priority"));
	ck_assert_ptr_null(s->next);
	config_free(&config);
}
END_TEST

START_TEST(crlf_and_bom)
{
	struct config *config;

	ck_assert_int_eq(load_main("\xEF\xBB\xBF[server]\r\n"
				   "hostname = crlf.example\r\n"
				   "\r\n"
				   "user = mail\r\n",
				   &config),
			 0);
	ck_assert_str_eq(config->server.hostname, "crlf.example");
	ck_assert_str_eq(config->server.user, "mail");
	ck_assert_str_eq(config->sections->type, "server");
	ck_assert_int_eq(config->sections->line, 1);
	ck_assert_int_eq(config->sections->entries->next->line, 4);
	config_free(&config);

	/* Line numbers stay right after CRLF lines in an error. */
	assert_load_fails("\xEF\xBB\xBF[server]\r\n\r\nlog_level = loud\r\n",
			  "postino.conf:3: [server] log_level: 'loud' is not "
			  "one of error, warning, info, debug");
}
END_TEST

START_TEST(key_outside_section)
{
	assert_load_fails("# top\nhostname = x\n[server]\n",
			  "postino.conf:2: key 'hostname' outside any section");
}
END_TEST

START_TEST(unknown_key)
{
	assert_load_fails("[server]\nhostname = x\nhostnam = y\n",
			  "postino.conf:3: [server] unknown key 'hostnam'");
	assert_load_fails("[tls]\ncerts = x\n",
			  "postino.conf:2: [tls] unknown key 'certs'");
	assert_load_fails("[tls \"a.example\"]\ncert = c\nkey = k\n"
			  "priority = NORMAL\n",
			  "postino.conf:4: [tls \"a.example\"] unknown key "
			  "'priority'");
}
END_TEST

START_TEST(duplicate_key)
{
	assert_load_fails("[server]\nuser = a\nuser = b\n",
			  "postino.conf:3: [server] duplicate key 'user' "
			  "(first set at line 2)");
}
END_TEST

START_TEST(duplicate_section)
{
	char expected[PATH_MAX + 64];

	snprintf(expected, sizeof(expected),
		 "postino.conf:3: duplicate section [server] (first at "
		 "%s:1)",
		 scratch_path("postino.conf"));
	assert_load_fails("[server]\nuser = a\n[server]\n", expected);
	assert_load_fails("[tls]\n[tls]\n",
			  "postino.conf:2: duplicate section [tls]");
	/* SNI names compare like host names: without case. */
	assert_load_fails("[tls \"a.example\"]\ncert = c\nkey = k\n"
			  "[tls \"A.Example\"]\ncert = c\nkey = k\n",
			  "postino.conf:4: duplicate section "
			  "[tls \"A.Example\"]");
}
END_TEST

START_TEST(bad_values)
{
	assert_load_fails("[server]\nlog_level = loud\n",
			  "postino.conf:2: [server] log_level: 'loud' is not "
			  "one of error, warning, info, debug");
	assert_load_fails("[server]\nlog_target = file\n",
			  "postino.conf:2: [server] log_target: 'file' is not "
			  "one of stderr, syslog");
	assert_load_fails("[server]\nhostname = mail_x.example\n",
			  "postino.conf:2: [server] hostname: 'mail_x.example' "
			  "is not a valid host name");
	assert_load_fails("[server]\nhostname = a..b\n",
			  "[server] hostname: 'a..b'");
	assert_load_fails("[server]\nuser =\n",
			  "postino.conf:2: [server] user: empty value");
	assert_load_fails("[tls]\ncert = \n",
			  "postino.conf:2: [tls] cert: empty value");
}
END_TEST

START_TEST(tls_rules)
{
	assert_load_fails("[tls \"mail.other.org\"]\ncert = c.pem\n",
			  "postino.conf:1: [tls \"mail.other.org\"] missing "
			  "required key 'key'");
	assert_load_fails("[tls \"mail.other.org\"]\nkey = k.pem\n",
			  "postino.conf:1: [tls \"mail.other.org\"] missing "
			  "required key 'cert'");
	assert_load_fails("\n[tls]\ncert = c.pem\n",
			  "postino.conf:2: [tls] cert is set but key is not");
	assert_load_fails("[tls]\nkey = k.pem\n",
			  "postino.conf:1: [tls] key is set but cert is not");
}
END_TEST

/* Only [tls] takes it: the handshake starts before SNI picks a section. */
START_TEST(tls_handshake_timeout)
{
	struct config *config;

	ck_assert_int_eq(load_main("[tls]\nhandshake_timeout = 1m\n", &config),
			 0);
	ck_assert_str_eq(config_section_value(config->sections,
					      "handshake_timeout"),
			 "1m");
	config_free(&config);
	assert_load_fails("[tls]\nhandshake_timeout = 0s\n",
			  "postino.conf:2: [tls] handshake_timeout: '0s' is "
			  "not a duration of at least 1s");
	assert_load_fails("[tls]\nhandshake_timeout = soon\n",
			  "postino.conf:2: [tls] handshake_timeout: 'soon' "
			  "is not a duration");
	assert_load_fails("[tls \"a.example\"]\ncert = c\nkey = k\n"
			  "handshake_timeout = 10s\n",
			  "postino.conf:4: [tls \"a.example\"] unknown key "
			  "'handshake_timeout'");
}
END_TEST

/* [quota]: warning thresholds, and their templates read at load so a
 * missing one is an error naming it, not a lost warning. */
START_TEST(quota_section)
{
	struct config *config;
	char text[1024];

	ck_assert_int_eq(load_main("", &config), 0);
	ck_assert_uint_eq(config->quota.warn_count, 0);
	ck_assert_ptr_null(config->quota.subject[CONFIG_LANG_EN]);
	config_free(&config);

	put_file("en/warning.txt", "Subject: Full at {{threshold}}%\n\n"
		 "Dear {{address}}\n");
	put_file("it/warning.txt", "Subject: Piena al {{threshold}}%\n\n"
		 "Caro {{address}}\n");
	snprintf(text, sizeof(text), "[quota]\nwarn = 95  80 95\n"
		 "templates = %s\n", test_dir);
	ck_assert_int_eq(load_main(text, &config), 0);
	ck_assert_uint_eq(config->quota.warn_count, 2);
	ck_assert_uint_eq(config->quota.warn[0], 80);
	ck_assert_uint_eq(config->quota.warn[1], 95);
	ck_assert_str_eq(config->quota.subject[CONFIG_LANG_EN],
			 "Full at {{threshold}}%");
	ck_assert_str_eq(config->quota.body[CONFIG_LANG_IT],
			 "Caro {{address}}\n");
	config_free(&config);

	ck_assert_int_eq(load_main("[quota]\nwarn = none\n"
				   "templates = /nonexistent\n", &config), 0);
	ck_assert_uint_eq(config->quota.warn_count, 0);
	config_free(&config);
	assert_load_fails("[quota]\nwarn = 80\ntemplates = /nonexistent\n",
			  "postino.conf:1: [quota] cannot read the warning "
			  "template /nonexistent/en/warning.txt: No such file");
	assert_load_fails("[quota]\nwarn = 0\n",
			  "postino.conf:2: [quota] warn: '0' is not none or a "
			  "list of at most 8 percentages from 1 to 100");
	assert_load_fails("[quota]\nwarn = 101\n", "warn: '101' is not");
	assert_load_fails("[quota]\nwarn = 80%\n", "warn: '80%' is not");
	assert_load_fails("[quota]\nwarn = 1 2 3 4 5 6 7 8 9\n",
			  "warn: '1 2 3 4 5 6 7 8 9' is not");
	put_file("en/warning.txt", "no subject line\n");
	snprintf(text, sizeof(text), "[quota]\nwarn = 90\ntemplates = %s\n",
		 test_dir);
	assert_load_fails(text, "en/warning.txt: must be at most",
			  "start with a \"Subject: \" line");
}
END_TEST

/* [queue]: the outbound queue's settings (core/queue). */
START_TEST(queue_section)
{
	struct config *config;

	ck_assert_int_eq(load_main("[queue]\nrelayhost = smtp.isp.test:587\n"
				   "relayhost_user = u\nrelayhost_password = p\n"
				   "relayhost_tls = required\nretry_min = 1s\n"
				   "max_parallel = 3\nmx_port = 2525\n",
				   &config), 0);
	ck_assert_str_eq(config_section_value(config->sections, "relayhost"),
			 "smtp.isp.test:587");
	config_free(&config);
	ck_assert_int_eq(load_main("[queue]\nrelayhost = [::1]:25\n", &config),
			 0);
	config_free(&config);
	assert_load_fails("[queue]\nrelayhost = a:b:c\n",
			  "postino.conf:2: [queue] relayhost: 'a:b:c' is not "
			  "host, host:port or [IPv6]:port");
	assert_load_fails("[queue]\nrelayhost = h:70000\n",
			  "postino.conf:2: [queue] relayhost: 'h:70000'");
	assert_load_fails("[queue]\nrelayhost_tls = maybe\n",
			  "postino.conf:2: [queue] relayhost_tls: 'maybe' is "
			  "not one of required, opportunistic");
	assert_load_fails("[queue]\nrelayhost = h\nrelayhost_user = u\n",
			  "postino.conf:1: [queue] relayhost_user is set but "
			  "relayhost_password is not");
	assert_load_fails("[queue]\nrelayhost_user = u\n"
			  "relayhost_password = p\n",
			  "postino.conf:1: [queue] relayhost_user needs "
			  "relayhost");
	assert_load_fails("[queue]\npoll_interval = 0s\n",
			  "postino.conf:2: [queue] poll_interval: '0s' is not "
			  "a duration of at least 1s");
	assert_load_fails("[queue]\nfrobnicate = 1\n",
			  "postino.conf:2: [queue] unknown key 'frobnicate'");
}
END_TEST

/* [srs] and [server] recipient_delimiter: secrets inline or from a file
 * (the first signs), a domain, and every mistake named with its line. */
START_TEST(srs_section)
{
	struct config *config;

	ck_assert_int_eq(load_main("", &config), 0);
	ck_assert_int_eq(config->srs.enabled, 0);
	ck_assert_str_eq(config->server.recipient_delimiter, "+");
	config_free(&config);
	ck_assert_int_eq(load_main("[server]\nrecipient_delimiter = +-\n"
				   "[srs]\nsecret = 0123456789abcdef "
				   "fedcba9876543210\ndomain = Fwd.Example.TEST\n"
				   "max_age = 7\n", &config), 0);
	ck_assert_int_eq(config->srs.enabled, 1);
	ck_assert_uint_eq(config->srs.secret_count, 2);
	ck_assert_str_eq(config->srs.secrets[0], "0123456789abcdef");
	ck_assert_str_eq(config->srs.secrets[1], "fedcba9876543210");
	ck_assert_str_eq(config->srs.domain, "fwd.example.test");
	ck_assert_uint_eq(config->srs.max_age, 7);
	ck_assert_str_eq(config->server.recipient_delimiter, "+-");
	config_free(&config);

	put_file("srs.secrets", "# new first\n\nnew-secret-0123456789\n"
		 "old-secret-0123456789\n");
	char text[512];
	snprintf(text, sizeof(text), "[srs]\nsecret_file = %s\n"
		 "domain = example.test\n", scratch_path("srs.secrets"));
	ck_assert_int_eq(load_main(text, &config), 0);
	ck_assert_uint_eq(config->srs.secret_count, 2);
	ck_assert_str_eq(config->srs.secrets[0], "new-secret-0123456789");
	ck_assert_uint_eq(config->srs.max_age, 21);
	config_free(&config);

	put_file("srs.secrets", "short\n");
	assert_load_fails(text, "srs.secrets:1: not a secret of 16 to 256 "
			  "characters");
	put_file("srs.secrets", "# nothing\n");
	assert_load_fails(text, "srs.secrets: holds no secret");
	snprintf(text, sizeof(text), "[srs]\nsecret_file = %s\n"
		 "domain = example.test\n", scratch_path("none"));
	assert_load_fails(text, "postino.conf:2: [srs] secret_file: cannot "
			  "read ");
	assert_load_fails("[srs]\ndomain = example.test\n",
			  "postino.conf:1: [srs] needs exactly one of secret "
			  "and secret_file");
	assert_load_fails("[srs]\nsecret = too-short\ndomain = e.test\n",
			  "postino.conf:2: [srs] secret: 'too-short' is not a "
			  "list of secrets");
	assert_load_fails("[srs]\nsecret = 0123456789abcdef\n",
			  "[srs] missing required key 'domain'");
	assert_load_fails("[server]\nrecipient_delimiter = a\n",
			  "postino.conf:2: [server] recipient_delimiter: 'a' "
			  "is not 1 to 8 separator characters");
}
END_TEST

/* A CA certificate (ECDSA, made by certtool) for relayhost_ca_file. */
static const char test_ca_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBgzCCASqgAwIBAgIUHKybBmjl3g99Ydila+mq0liWrmEwCgYIKoZIzj0EAwIw\n"
	"HzEdMBsGA1UEAxMUUG9zdGlubyB1bml0LXRlc3QgQ0EwIBcNMjYxMjA2MDQxNDQ1\n"
	"WhgPOTk5OTEyMzEyMzU5NTlaMB8xHTAbBgNVBAMTFFBvc3Rpbm8gdW5pdC10ZXN0\n"
	"IENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAExRh95bUOTyBefVu3x+LLXqp1\n"
	"37DOQgmZDwuaM84qA5Dx406xCy4m2R4jp5Nu9QRKpDIjJ49AALKmvNDypg+x6KNC\n"
	"MEAwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAgQwHQYDVR0OBBYEFLqW\n"
	"cRS7MrmoDDg8gccUEgguawv4MAoGCCqGSM49BAMCA0cAMEQCIFHp7KL4ol7Jp835\n"
	"CGLRWP1DzDs5Jg09F6XuEMh6ZG/WAiAOZQYvo8W4EtmLLuNiob+jtH+KoDT/thIo\n"
	"xxV+HZl16Q==\n"
	"-----END CERTIFICATE-----\n";

#define PIN "42ef1b631a45cd44eacc62d2c5a697415d1d6e575d3f54d84c493b4a85d6b628"

/* [queue] relayhost TLS: the level, the CA file and the pins are checked
 * when the configuration loads (startup, postinod -t, SIGHUP). */
START_TEST(queue_relayhost_tls)
{
	struct config *config;
	char text[1024];

	put_file("ca.pem", test_ca_pem);
	put_file("empty.pem", "no certificate here\n");
	snprintf(text, sizeof(text), "[queue]\nrelayhost = smtp.isp.test\n"
		 "relayhost_user = u\nrelayhost_password = p\n"
		 "relayhost_ca_file = %s\n", scratch_path("ca.pem"));
	ck_assert_msg(load_main(text, &config) == 0, "%s", test_err);
	config_free(&config);
	ck_assert_msg(load_main("[queue]\nrelayhost = 192.0.2.1\n"
				"relayhost_tls = required\n"
				"relayhost_fingerprint = sha256:" PIN ", " PIN
				"\n", &config) == 0, "%s", test_err);
	config_free(&config);

	assert_load_fails("[queue]\nrelayhost = h\nrelayhost_tls = verify\n",
			  "postino.conf:3: [queue] relayhost_tls: 'verify' is "
			  "not one of required, opportunistic");
	assert_load_fails("[queue]\nrelayhost = h\n"
			  "relayhost_ca_file = /nonexistent/ca.pem\n",
			  "postino.conf:3: [queue] relayhost_ca_file: "
			  "'/nonexistent/ca.pem' cannot be read: No such file "
			  "or directory");
	snprintf(text, sizeof(text), "[queue]\nrelayhost = h\n"
		 "relayhost_ca_file = %s\n", scratch_path("empty.pem"));
	assert_load_fails(text, "postino.conf:3: [queue] relayhost_ca_file: '",
			  "empty.pem' holds no PEM certificate");
	put_file("corrupt.pem", "-----BEGIN CERTIFICATE-----\n"
		 "MIIBgzCCASqgAwIBAgIU!!!!\n-----END CERTIFICATE-----\n");
	snprintf(text, sizeof(text), "[queue]\nrelayhost = h\n"
		 "relayhost_ca_file = %s\n", scratch_path("corrupt.pem"));
	assert_load_fails(text, "postino.conf:3: [queue] relayhost_ca_file: '",
			  "corrupt.pem' holds no usable PEM certificate: ");
	assert_load_fails("[queue]\nrelayhost = h\n"
			  "relayhost_fingerprint = 42ef1b63\n",
			  "postino.conf:3: [queue] relayhost_fingerprint: "
			  "'42ef1b63' is not a list of SHA-256 fingerprints "
			  "(64 hex digits each, colons allowed)");
	/* Credentials go only to a verified relayhost. */
	assert_load_fails("[queue]\nrelayhost = h\nrelayhost_user = u\n"
			  "relayhost_password = p\n"
			  "relayhost_tls = opportunistic\n",
			  "postino.conf:1: [queue] relayhost_user needs "
			  "relayhost_tls = required: credentials are sent only "
			  "over a verified connection");
	assert_load_fails("[queue]\nrelayhost = h\n"
			  "relayhost_tls = opportunistic\n"
			  "relayhost_fingerprint = " PIN "\n",
			  "postino.conf:1: [queue] relayhost_fingerprint has "
			  "no effect with relayhost_tls = opportunistic");
	snprintf(text, sizeof(text), "[queue]\nrelayhost = h\n"
		 "relayhost_fingerprint = " PIN "\nrelayhost_ca_file = %s\n",
		 scratch_path("ca.pem"));
	assert_load_fails(text, "postino.conf:1: [queue] set "
			  "relayhost_ca_file or relayhost_fingerprint, not "
			  "both");
	snprintf(text, sizeof(text), "[queue]\nrelayhost_ca_file = %s\n",
		 scratch_path("ca.pem"));
	assert_load_fails(text, "postino.conf:1: [queue] relayhost_ca_file "
			  "needs relayhost");
}
END_TEST

START_TEST(section_names)
{
	assert_load_fails("[server main]\n",
			  "postino.conf:1: [server main]: [server] takes no "
			  "name");
	assert_load_fails("[module]\nload = x\n",
			  "postino.conf:1: [module] belongs in a modules.d "
			  "file");
	assert_load_fails("[listener imap]\nport = 143\n",
			  "postino.conf:1: [listener imap] belongs in a "
			  "modules.d file");
	assert_load_fails("[listener]\n",
			  "postino.conf:1: [listener] needs a name: "
			  "[listener NAME]");
}
END_TEST

START_TEST(bad_section_headers)
{
	static const char *const headers[] = {
		"[Server]", "[server", "[]", "[tls \"x]", "[tls \"\"]",
		"[server] junk", "[tls a b]", "[tls \"a\"b]",
	};

	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		char text[128];
		char expected[128];

		snprintf(text, sizeof(text), "# x\n%s\n", headers[i]);
		snprintf(expected, sizeof(expected),
			 "postino.conf:2: bad section header '%s'", headers[i]);
		assert_load_fails(text, expected);
	}
}
END_TEST

START_TEST(unknown_section)
{
	assert_load_fails("[server]\n\n[serverr]\nuser = x\n",
			  "postino.conf:3: unknown section [serverr]: not a "
			  "core section and no modules.d file loads a module "
			  "named 'serverr'");
	assert_load_fails("[imap x]\n",
			  "postino.conf:1: [imap x]: a module's section takes "
			  "no name");
}
END_TEST

START_TEST(inih_syntax_error)
{
	/* The first error wins, even when inih finds it. */
	assert_load_fails("[server]\nhostname\nuser = a\nuser = b\n",
			  "postino.conf:2: expected 'key = value', "
			  "'[section]' or a comment");
	assert_load_fails("[server]\n= value\n",
			  "postino.conf:2: [server] expected 'key = value'");
}
END_TEST

START_TEST(long_and_binary_lines)
{
	char text[600];
	static const char nul_line[] = "[server]\nuser = a\0b\n";
	struct config *config;

	/* Comments may be long; key lines are bounded by inih's buffer. */
	memset(text, 0, sizeof(text));
	strcpy(text, "# ");
	memset(text + 2, 'c', 300);
	strcat(text, "\n[server]\nstate_dir = ");
	memset(text + strlen(text), 'd', 190);
	strcat(text, "\n");
	assert_load_fails(text, "postino.conf:3: line too long: a "
				"'key = value' line may have at most");

	put_bytes("postino.conf", nul_line, sizeof(nul_line) - 1);
	ck_assert_int_eq(load_existing(&config), -EINVAL);
	ck_assert_ptr_nonnull(strstr(test_err, "postino.conf:2: NUL byte"));
}
END_TEST

START_TEST(err_buffer_small_or_null)
{
	struct config *config;
	char small[8];

	put_file("postino.conf", "[server]\nuser =\n");
	ck_assert_int_eq(config_load(scratch_path("postino.conf"), &config,
				     NULL, 0),
			 -EINVAL);
	ck_assert_int_eq(config_load(scratch_path("postino.conf"), &config,
				     small, sizeof(small)),
			 -EINVAL);
	ck_assert_uint_lt(strlen(small), sizeof(small));
}
END_TEST

Suite *config_load_suite(void)
{
	Suite *s = suite_create("config_load");
	TCase *tc = tcase_create("main_file");

	tcase_add_checked_fixture(tc, scratch_setup, scratch_teardown);
	tcase_add_test(tc, missing_main_file);
	tcase_add_test(tc, main_file_is_a_directory);
	tcase_add_test(tc, defaults_when_empty);
	tcase_add_test(tc, relative_main_file);
	tcase_add_test(tc, server_values);
	tcase_add_test(tc, syntax_comments_indent_inline);
	tcase_add_test(tc, crlf_and_bom);
	tcase_add_test(tc, key_outside_section);
	tcase_add_test(tc, unknown_key);
	tcase_add_test(tc, duplicate_key);
	tcase_add_test(tc, duplicate_section);
	tcase_add_test(tc, bad_values);
	tcase_add_test(tc, tls_rules);
	tcase_add_test(tc, tls_handshake_timeout);
	tcase_add_test(tc, queue_section);
	tcase_add_test(tc, queue_relayhost_tls);
	tcase_add_test(tc, srs_section);
	tcase_add_test(tc, section_names);
	tcase_add_test(tc, bad_section_headers);
	tcase_add_test(tc, unknown_section);
	tcase_add_test(tc, inih_syntax_error);
	tcase_add_test(tc, long_and_binary_lines);
	tcase_add_test(tc, err_buffer_small_or_null);
	tcase_add_test(tc, quota_section);
	suite_add_tcase(s, tc);
	return s;
}
