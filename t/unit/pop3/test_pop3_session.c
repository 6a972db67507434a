/* The session state machine over a fake host: greeting, CAPA, STLS,
 * USER/PASS/AUTH, the maildrop lock, TRANSACTION commands, RETR streaming
 * under back-pressure, UPDATE, dropped connections, the error budget. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postino/plugin.h>
#include <strings.h>

#include "auth/sasl_codec.h"

#include "test_pop3.h"

extern const struct postino_module postino_module_v1;

struct postino_conn {
	int dummy;
};
struct postino_mailbox {
	int dummy;
};

#define NMSG 3

/* The fake host's state (test-only). */
static struct fake {
	const struct postino_protocol *proto;
	void *proto_data;
	void *mod_data;
	struct postino_conn conn;
	struct postino_conn_info info;
	void *conn_data;
	char out[1 << 20];
	size_t out_len;
	int highwater;      /* conn_write returns 1 while set */
	int paused;
	int closed;
	int starttls;
	char account[64];
	void (*auth_done)(void *, enum postino_auth_result, const char *);
	void *auth_data;
	void (*module_auth_done)(void *, enum postino_auth_result,
				 const char *);
	void *module_auth_data;
	char auth_user[1100], auth_pass[1100];
	struct postino_mailbox mb;
	int locked;
	int opened;
	char *msg[NMSG];
	uint32_t uid[NMSG];
	void (*exp_done)(void *, int);
	void *exp_data;
	uint32_t exp_uids[NMSG];
	size_t exp_count;
	int expunged;
	const struct postino_sasl_ops *sasl_ops;
	void *sasl_data;
	int sasl_active;
} F;

static void f_log(postino_mod *mod, enum postino_log_level level,
		  const char *sid, const char *fmt, ...)
{
	(void)mod;
	(void)level;
	(void)sid;
	(void)fmt;
}

static int f_protocol_register(postino_mod *mod,
			       const struct postino_protocol *proto,
			       void *data)
{
	(void)mod;
	F.proto = proto;
	F.proto_data = data;
	return 0;
}

static int f_conn_write(postino_conn *conn, const void *buf, size_t len)
{
	(void)conn;
	ck_assert(F.out_len + len < sizeof(F.out));
	memcpy(F.out + F.out_len, buf, len);
	F.out_len += len;
	F.out[F.out_len] = '\0';
	return F.closed ? -EPIPE : F.highwater ? 1 : 0;
}

static int f_conn_starttls(postino_conn *conn)
{
	(void)conn;
	F.starttls++;
	return 0;
}

static void f_conn_close(postino_conn *conn, const char *reason)
{
	(void)conn;
	(void)reason;
	F.closed = 1;
}

static void f_conn_pause(postino_conn *conn)
{
	(void)conn;
	F.paused = 1;
}

static void f_conn_resume(postino_conn *conn)
{
	(void)conn;
	F.paused = 0;
}

static void f_conn_set_data(postino_conn *conn, void *data)
{
	(void)conn;
	F.conn_data = data;
}

static void *f_conn_get_data(postino_conn *conn)
{
	(void)conn;
	return F.conn_data;
}

static const struct postino_conn_info *f_conn_info(postino_conn *conn)
{
	(void)conn;
	return &F.info;
}

static void f_conn_set_account(postino_conn *conn, const char *account)
{
	(void)conn;
	snprintf(F.account, sizeof(F.account), "%s",
		 account != NULL ? account : "");
}

/* The test gives the result through F.auth_done; like the host, the
 * fake marks the session authenticated before the module hears of it. */
static void f_auth_result(void *data, enum postino_auth_result result,
			  const char *account)
{
	(void)data;
	if (result == POSTINO_AUTH_OK)
		f_conn_set_account(&F.conn, account);
	F.module_auth_done(F.module_auth_data, result, account);
}

static int f_auth_verify(postino_conn *conn, const char *account,
			 const char *password,
			 void (*done)(void *, enum postino_auth_result,
				      const char *),
			 void *data)
{
	(void)conn;
	snprintf(F.auth_user, sizeof(F.auth_user), "%s", account);
	snprintf(F.auth_pass, sizeof(F.auth_pass), "%s", password);
	F.module_auth_done = done;
	F.module_auth_data = data;
	F.auth_done = f_auth_result;
	F.auth_data = NULL;
	return 0;
}

/* The host's SASL service, faked: PLAIN only, the credentials recorded
 * like auth_verify's, the result given by the test through F.auth_done. */
static void f_sasl_result(void *data, enum postino_auth_result result,
			  const char *account)
{
	(void)data;
	F.sasl_active = 0;
	if (result == POSTINO_AUTH_OK)
		f_conn_set_account(&F.conn, account);
	F.sasl_ops->done(&F.conn, result, account, F.sasl_data);
}

static void f_sasl_plain(const char *b64)
{
	struct sasl_creds creds;

	if (strcmp(b64, "*") == 0) {
		f_sasl_result(NULL, POSTINO_AUTH_CANCELLED, NULL);
		return;
	}
	if (sasl_plain_decode(b64, strlen(b64), &creds) != SASL_PLAIN_OK) {
		f_sasl_result(NULL, POSTINO_AUTH_MALFORMED, NULL);
		return;
	}
	snprintf(F.auth_user, sizeof(F.auth_user), "%s", creds.user);
	snprintf(F.auth_pass, sizeof(F.auth_pass), "%s", creds.password);
	F.auth_done = f_sasl_result;
	F.auth_data = NULL;
}

static const char *f_sasl_mechanisms(postino_conn *conn)
{
	(void)conn;
	return F.info.tls ? "PLAIN LOGIN" : "";
}

static int f_sasl_start(postino_conn *conn, const char *mech,
			const char *initial,
			const struct postino_sasl_ops *ops, void *data)
{
	(void)conn;
	if (strcasecmp(mech, "PLAIN") != 0)
		return -ENOTSUP;
	F.sasl_ops = ops;
	F.sasl_data = data;
	F.sasl_active = 1;
	if (initial == NULL)
		ops->challenge(&F.conn, "", data);
	else
		f_sasl_plain(initial);
	return 0;
}

static int f_sasl_input(postino_conn *conn, const char *line, size_t len)
{
	char b64[512];

	(void)conn;
	ck_assert(F.sasl_active);
	snprintf(b64, sizeof(b64), "%.*s", (int)len, line);
	f_sasl_plain(b64);
	return 0;
}

static int f_mailbox_open(postino_mod *mod, const char *account,
			  const char *name, unsigned flags,
			  postino_mailbox **mb_r)
{
	(void)mod;
	(void)account;
	ck_assert_str_eq(name, "INBOX");
	ck_assert_uint_eq(flags, POSTINO_MAILBOX_EXCLUSIVE);
	if (F.locked)
		return -EBUSY;
	F.locked = 1;
	F.opened++;
	*mb_r = &F.mb;
	return 0;
}

static uint32_t f_mailbox_count(postino_mailbox *mb)
{
	(void)mb;
	return NMSG;
}

static uint32_t f_mailbox_uidvalidity(postino_mailbox *mb)
{
	(void)mb;
	return 1700000000u;
}

static int f_mailbox_message(postino_mailbox *mb, uint32_t index,
			     struct postino_message_info *info)
{
	(void)mb;
	ck_assert_uint_lt(index, NMSG);
	info->uid = F.uid[index];
	info->octets = strlen(F.msg[index]);
	return 0;
}

static int64_t f_mailbox_read(postino_mailbox *mb, uint32_t index,
			      uint64_t offset, void *buf, size_t len)
{
	size_t size = strlen(F.msg[index]);

	(void)mb;
	ck_assert_uint_le(len, 64 * 1024);
	if (offset >= size)
		return 0;
	if (len > size - offset)
		len = size - offset;
	if (len > 1000) /* short reads */
		len = 1000;
	memcpy(buf, F.msg[index] + offset, len);
	return (int64_t)len;
}

static int f_mailbox_expunge(postino_mailbox *mb, const uint32_t *uids,
			     size_t count, void (*done)(void *, int),
			     void *data)
{
	(void)mb;
	memcpy(F.exp_uids, uids, count * sizeof(*uids));
	F.exp_count = count;
	F.exp_done = done;
	F.exp_data = data;
	return 0;
}

static void f_mailbox_close(postino_mailbox **mb)
{
	ck_assert_ptr_eq(*mb, &F.mb);
	F.locked = 0;
	*mb = NULL;
}

static const struct postino_host_core host_core = {
	.size = sizeof(struct postino_host_core),
	.log = f_log,
};

static const struct postino_host_proto host_proto = {
	.size = sizeof(struct postino_host_proto),
	.protocol_register = f_protocol_register,
	.conn_write = f_conn_write,
	.conn_starttls = f_conn_starttls,
	.conn_close = f_conn_close,
	.conn_pause = f_conn_pause,
	.conn_resume = f_conn_resume,
	.conn_set_data = f_conn_set_data,
	.conn_get_data = f_conn_get_data,
	.conn_info = f_conn_info,
	.conn_set_account = f_conn_set_account,
	.auth_verify = f_auth_verify,
	.sasl_mechanisms = f_sasl_mechanisms,
	.sasl_start = f_sasl_start,
	.sasl_input = f_sasl_input,
};

static const struct postino_host_mailbox host_mailbox = {
	.size = sizeof(struct postino_host_mailbox),
	.mailbox_open = f_mailbox_open,
	.mailbox_count = f_mailbox_count,
	.mailbox_uidvalidity = f_mailbox_uidvalidity,
	.mailbox_message = f_mailbox_message,
	.mailbox_read = f_mailbox_read,
	.mailbox_expunge = f_mailbox_expunge,
	.mailbox_close = f_mailbox_close,
};

static const struct postino_host host = {
	.size = sizeof(struct postino_host),
	.abi_major = POSTINO_ABI_MAJOR,
	.abi_minor = POSTINO_ABI_MINOR,
	.core = &host_core,
	.proto = &host_proto,
	.mailbox = &host_mailbox,
};

static char big[200 * 1024];

static void setup(void)
{
	for (int i = 0; i < NMSG; i++)
		free(F.msg[i]);
	memset(&F, 0, sizeof(F));
	F.info.size = sizeof(F.info);
	F.info.session_id = "test";
	F.msg[0] = strdup("Subject: one\r\n\r\nhello\r\n.dot\r\n");
	F.msg[1] = strdup("Subject: two\r\n\r\nl1\r\nl2\r\nl3\r\n");
	/* > 64 KiB, lines starting with "." everywhere, no final CRLF. */
	size_t o = 0;
	o += (size_t)sprintf(big + o, "Subject: big\r\n\r\n");
	while (o < sizeof(big) - 16)
		o += (size_t)sprintf(big + o, ".%05zu\r\n", o);
	sprintf(big + o, "end");
	F.msg[2] = strdup(big);
	F.uid[0] = 7;
	F.uid[1] = 9;
	F.uid[2] = 12;
	ck_assert_int_eq(postino_module_v1.init(NULL, &host, &F.mod_data), 0);
	ck_assert_str_eq(F.proto->name, "pop3");
	ck_assert_uint_eq(F.proto->max_line, 512);
	ck_assert_uint_eq(F.proto->idle_timeout_s, 600);
	F.proto->on_connect(&F.conn, F.proto_data);
}

static void teardown(void)
{
	if (F.conn_data != NULL)
		F.proto->on_close(&F.conn, "test end", F.proto_data);
	postino_module_v1.fini(NULL, F.mod_data);
	ck_assert_int_eq(F.locked, 0);
	for (int i = 0; i < NMSG; i++) {
		free(F.msg[i]);
		F.msg[i] = NULL;
	}
}

/* Sends one line; returns the output it produced. */
static const char *cmd(const char *line)
{
	F.out_len = 0;
	F.out[0] = '\0';
	ck_assert(!F.paused);
	F.proto->on_line(&F.conn, line, strlen(line), 0, F.proto_data);
	return F.out;
}

static void go_tls(void)
{
	ck_assert_str_eq(cmd("STLS"), "+OK Begin TLS negotiation\r\n");
	ck_assert_int_eq(F.starttls, 1);
	F.info.tls = 1;
	F.proto->on_starttls(&F.conn, 1, F.proto_data);
}

static void login(void)
{
	go_tls();
	ck_assert_str_eq(cmd("USER alice"), "+OK\r\n");
	ck_assert_str_eq(cmd("PASS se cret"), "");
	ck_assert(F.paused);
	ck_assert_str_eq(F.auth_user, "alice");
	ck_assert_str_eq(F.auth_pass, "se cret");
	F.auth_done(F.auth_data, POSTINO_AUTH_OK, "alice@example.org");
	ck_assert(!F.paused);
	ck_assert_str_eq(F.account, "alice@example.org");
	ck_assert(strncmp(F.out, "+OK maildrop has 3 messages (", 29) == 0);
}

START_TEST(greeting_and_capa)
{
	const char *capa_plain = "+OK Capability list follows\r\nTOP\r\n"
		"UIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n"
		"STLS\r\nIMPLEMENTATION Postino\r\n.\r\n";
	const char *capa_tls = "+OK Capability list follows\r\nTOP\r\n"
		"UIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n"
		"USER\r\nSASL PLAIN LOGIN\r\nIMPLEMENTATION Postino\r\n.\r\n";

	ck_assert_str_eq(F.out, "+OK Postino POP3 ready\r\n");
	ck_assert_str_eq(cmd("capa"), capa_plain);
	ck_assert_str_eq(cmd("USER alice"), "-ERR [AUTH] Plaintext "
			 "authentication disallowed; use STLS first\r\n");
	ck_assert_str_eq(cmd("PASS x"), "-ERR [AUTH] Plaintext "
			 "authentication disallowed; use STLS first\r\n");
	ck_assert_str_eq(cmd("AUTH PLAIN"), "-ERR [AUTH] Plaintext "
			 "authentication disallowed; use STLS first\r\n");
	ck_assert_str_eq(cmd("APOP alice 0123"), "-ERR unknown command\r\n");
	ck_assert_str_eq(cmd("STAT"),
			 "-ERR command not valid in this state\r\n");
	go_tls();
	ck_assert_str_eq(cmd("CAPA"), capa_tls);
	ck_assert_str_eq(cmd("STLS"), "-ERR already in TLS\r\n");
	ck_assert_str_eq(cmd("PASS x"), "-ERR USER first\r\n");
	ck_assert_str_eq(cmd("QUIT"), "+OK bye\r\n");
	ck_assert(F.closed);
}
END_TEST

START_TEST(auth_results)
{
	go_tls();
	cmd("USER bob");
	cmd("PASS wrong");
	F.auth_done(F.auth_data, POSTINO_AUTH_FAILED, NULL);
	ck_assert_str_eq(F.out, "-ERR [AUTH] Authentication failed\r\n");
	cmd("USER bob");
	cmd("PASS x");
	F.auth_done(F.auth_data, POSTINO_AUTH_DISABLED, NULL);
	ck_assert_str_eq(F.out, "-ERR [AUTH] Authentication failed\r\n");
	cmd("USER bob");
	cmd("PASS x");
	F.auth_done(F.auth_data, POSTINO_AUTH_TEMPFAIL, NULL);
	ck_assert_str_eq(F.out, "-ERR [SYS/TEMP] Temporary failure, try "
			 "again later\r\n");
	/* The maildrop is locked by another session. */
	F.locked = 1;
	cmd("USER bob");
	cmd("PASS x");
	F.auth_done(F.auth_data, POSTINO_AUTH_OK, "bob@example.org");
	ck_assert_str_eq(F.out, "-ERR [IN-USE] Maildrop already locked\r\n");
	ck_assert_str_eq(cmd("STAT"),
			 "-ERR command not valid in this state\r\n");
	F.locked = 0;
}
END_TEST

START_TEST(auth_plain)
{
	go_tls();
	ck_assert_str_eq(cmd("AUTH"), "+OK\r\nPLAIN\r\nLOGIN\r\n.\r\n");
	ck_assert_str_eq(cmd("AUTH CRAM-MD5"),
			 "-ERR Unsupported mechanism\r\n");
	ck_assert_str_eq(cmd("AUTH PLAIN"), "+ \r\n");
	ck_assert_str_eq(cmd("*"), "-ERR Authentication cancelled\r\n");
	ck_assert_str_eq(cmd("AUTH PLAIN"), "+ \r\n");
	ck_assert_str_eq(cmd("AHVzZXIAcGFzcw=="), "");
	ck_assert_str_eq(F.auth_user, "user");
	ck_assert_str_eq(F.auth_pass, "pass");
	F.auth_done(F.auth_data, POSTINO_AUTH_FAILED, NULL);
	ck_assert_str_eq(cmd("AUTH plain AHVzZXIAcGFzcw=="), "");
	F.auth_done(F.auth_data, POSTINO_AUTH_OK, "user@example.org");
	ck_assert(strncmp(F.out, "+OK maildrop has 3 messages", 27) == 0);
}
END_TEST

START_TEST(transaction)
{
	char want[256];
	size_t o0 = strlen(F.msg[0]), o1 = strlen(F.msg[1]);
	size_t o2 = strlen(F.msg[2]);

	login();
	snprintf(want, sizeof(want), "+OK 3 %zu\r\n", o0 + o1 + o2);
	ck_assert_str_eq(cmd("STAT"), want);
	snprintf(want, sizeof(want),
		 "+OK 3 messages (%zu octets)\r\n1 %zu\r\n2 %zu\r\n3 %zu\r\n"
		 ".\r\n", o0 + o1 + o2, o0, o1, o2);
	ck_assert_str_eq(cmd("LIST"), want);
	snprintf(want, sizeof(want), "+OK 2 %zu\r\n", o1);
	ck_assert_str_eq(cmd("LIST 2"), want);
	ck_assert_str_eq(cmd("LIST 4"), "-ERR no such message\r\n");
	ck_assert_str_eq(cmd("LIST 0"), "-ERR no such message\r\n");
	ck_assert_str_eq(cmd("UIDL"), "+OK unique-id listing follows\r\n"
			 "1 1700000000.7\r\n2 1700000000.9\r\n"
			 "3 1700000000.12\r\n.\r\n");
	ck_assert_str_eq(cmd("UIDL 2"), "+OK 2 1700000000.9\r\n");
	snprintf(want, sizeof(want),
		 "+OK %zu octets\r\nSubject: one\r\n\r\nhello\r\n..dot\r\n"
		 ".\r\n", o0);
	ck_assert_str_eq(cmd("RETR 1"), want);
	ck_assert_str_eq(cmd("TOP 2 1"), "+OK top of message follows\r\n"
			 "Subject: two\r\n\r\nl1\r\n.\r\n");
	ck_assert_str_eq(cmd("TOP 2 0"), "+OK top of message follows\r\n"
			 "Subject: two\r\n\r\n.\r\n");
	ck_assert_str_eq(cmd("TOP 2 99999999999999999999999"),
			 "+OK top of message follows\r\n"
			 "Subject: two\r\n\r\nl1\r\nl2\r\nl3\r\n.\r\n");
	ck_assert_str_eq(cmd("TOP 2 -1"), "-ERR invalid line count\r\n");
	ck_assert_str_eq(cmd("TOP 2 x"), "-ERR invalid line count\r\n");
	ck_assert_str_eq(cmd("DELE 1"), "+OK message 1 deleted\r\n");
	ck_assert_str_eq(cmd("DELE 1"), "-ERR message 1 already deleted\r\n");
	ck_assert_str_eq(cmd("RETR 1"), "-ERR no such message\r\n");
	ck_assert_str_eq(cmd("UIDL 1"), "-ERR no such message\r\n");
	snprintf(want, sizeof(want), "+OK 2 %zu\r\n", o1 + o2);
	ck_assert_str_eq(cmd("STAT"), want);
	ck_assert_str_eq(cmd("RSET"), "+OK\r\n");
	ck_assert_str_eq(cmd("NOOP"), "+OK\r\n");
	ck_assert_str_eq(cmd("DELE 1"), "+OK message 1 deleted\r\n");
	ck_assert_str_eq(cmd("DELE 3"), "+OK message 3 deleted\r\n");
	ck_assert_str_eq(cmd("USER x"),
			 "-ERR command not valid in this state\r\n");
	/* Missing messages do not spend the error budget. */
	for (int i = 0; i < 12; i++)
		ck_assert_str_eq(cmd("RETR 99"), "-ERR no such message\r\n");
	ck_assert(!F.closed);
	ck_assert_str_eq(cmd("QUIT"), "");
	ck_assert(F.paused);
	ck_assert_uint_eq(F.exp_count, 2);
	ck_assert_uint_eq(F.exp_uids[0], 7);
	ck_assert_uint_eq(F.exp_uids[1], 12);
	F.exp_done(F.exp_data, 0);
	ck_assert_str_eq(F.out, "+OK Postino POP3 signing off "
			 "(2 messages deleted)\r\n");
	ck_assert(F.closed);
}
END_TEST

START_TEST(quit_expunge_fails)
{
	login();
	cmd("DELE 2");
	cmd("QUIT");
	F.exp_done(F.exp_data, -EIO);
	ck_assert_str_eq(F.out, "-ERR [SYS/TEMP] some deleted messages not "
			 "removed\r\n");
	ck_assert(F.closed);
}
END_TEST

/* Dropped mid-transaction: nothing expunged, the lock released. */
START_TEST(drop_deletes_nothing)
{
	login();
	cmd("DELE 1");
	F.proto->on_close(&F.conn, "peer closed", F.proto_data);
	F.conn_data = NULL;
	ck_assert_ptr_null(F.exp_done);
	ck_assert_int_eq(F.locked, 0);
}
END_TEST

/* Dropped while the expunge runs: its done still comes, then frees. */
START_TEST(drop_during_expunge)
{
	login();
	cmd("DELE 1");
	cmd("QUIT");
	F.proto->on_close(&F.conn, "peer closed", F.proto_data);
	F.conn_data = NULL;
	ck_assert_int_eq(F.locked, 1);
	F.out_len = 0;
	F.exp_done(F.exp_data, 0);
	ck_assert_uint_eq(F.out_len, 0);
	ck_assert_int_eq(F.locked, 0);
}
END_TEST

/* RETR of a > 64 KiB message with the output queue over its high-water
 * mark after every write: on_writable drives it to the end. */
START_TEST(retr_backpressure)
{
	char *want;
	size_t n = 0, len = strlen(F.msg[2]);
	int rounds = 0;

	login();
	want = malloc(2 * len + 64);
	n += (size_t)sprintf(want, "+OK %zu octets\r\n", len);
	for (size_t i = 0; i < len; i++) {
		if (F.msg[2][i] == '.' && (i == 0 || F.msg[2][i - 1] == '\n'))
			want[n++] = '.';
		want[n++] = F.msg[2][i];
	}
	n += (size_t)sprintf(want + n, "\r\n.\r\n");
	F.highwater = 1;
	cmd("RETR 3");
	/* Pipelined input waits while streaming. */
	ck_assert(F.paused);
	while (F.paused) {
		ck_assert_int_lt(++rounds, 10000);
		F.proto->on_writable(&F.conn, F.proto_data);
	}
	ck_assert_int_gt(rounds, 10);
	ck_assert_uint_eq(F.out_len, n);
	ck_assert_mem_eq(F.out, want, n);
	F.highwater = 0;
	ck_assert_str_eq(cmd("NOOP"), "+OK\r\n");
	free(want);
}
END_TEST

START_TEST(errors_and_long_lines)
{
	F.out_len = 0;
	F.proto->on_line(&F.conn, "XXXX", 4, 1, F.proto_data);
	ck_assert_str_eq(F.out, "-ERR line too long\r\n");
	for (int i = 0; i < 8; i++)
		ck_assert_str_eq(cmd("BOGUS"), "-ERR unknown command\r\n");
	ck_assert(!F.closed);
	ck_assert_str_eq(cmd("BOGUS"),
			 "-ERR unknown command\r\n-ERR too many errors\r\n");
	ck_assert(F.closed);
}
END_TEST

START_TEST(pipelined_after_auth)
{
	go_tls();
	/* A pipelining client sends USER, PASS, STAT at once: the host
	 * holds STAT while paused; the module never sees it early. */
	cmd("USER alice");
	cmd("PASS pw");
	ck_assert(F.paused);
	F.auth_done(F.auth_data, POSTINO_AUTH_OK, "alice@example.org");
	ck_assert(!F.paused);
	ck_assert(strncmp(cmd("STAT"), "+OK 3 ", 6) == 0);
}
END_TEST

Suite *pop3_session_suite(void)
{
	Suite *s = suite_create("pop3_session");
	TCase *tc = tcase_create("session");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, greeting_and_capa);
	tcase_add_test(tc, auth_results);
	tcase_add_test(tc, auth_plain);
	tcase_add_test(tc, transaction);
	tcase_add_test(tc, quit_expunge_fails);
	tcase_add_test(tc, drop_deletes_nothing);
	tcase_add_test(tc, drop_during_expunge);
	tcase_add_test(tc, retr_backpressure);
	tcase_add_test(tc, errors_and_long_lines);
	tcase_add_test(tc, pipelined_after_auth);
	suite_add_tcase(s, tc);
	return s;
}
