/* libFuzzer target: the Sieve compiler (modules/sieve/engine) on any
 * script bytes. A failure must come with a line and column inside the
 * script; a compiled program must save, load and save again to the same
 * bytes, and is then evaluated on a fixed message that every test and
 * action can touch (headers, addresses, a MIME body, dates), so the
 * evaluator also runs every program the compiler can produce. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sieve.h"

static const char message[] =
	"Received: from a.example by b.example; Tue, 14 Nov 2023 10:00:00 +0100\r\n"
	"From: \"Alice A.\" <alice+tag@example.org>, bob@example.net\r\n"
	"To: me@example.com, Group: c@example.com, d@example.com;\r\n"
	"Cc: =?UTF-8?B?5pel5pys?= <e@example.com>\r\n"
	"Subject: =?ISO-8859-1?Q?Caf=E9?= [list] hello world\r\n"
	"Date: Tue, 14 Nov 2023 10:00:00 +0100\r\n"
	"Message-ID: <m1@example.org>\r\n"
	"List-Id: <list.example.org>\r\n"
	"X-Priority: 3\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=b\r\n"
	"\r\n"
	"--b\r\n"
	"Content-Type: text/plain; charset=iso-8859-1\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n"
	"\r\n"
	"Caf=E9 au lait, missile coordinates.\r\n"
	"--b\r\n"
	"Content-Type: text/html\r\n"
	"\r\n"
	"<p>Hello <b>world</b></p>\r\n"
	"--b\r\n"
	"Content-Type: message/rfc822\r\n"
	"\r\n"
	"Subject: inner\r\n"
	"\r\n"
	"inner body\r\n"
	"--b--\r\n";

static int mailbox_exists(void *context, const char *mailbox)
{
	return strcmp(mailbox, "INBOX") == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct sieve_program *p = NULL, *q = NULL;
	struct sieve_error err;
	struct sieve_limits l;

	if (!ready) {
		sieve_engine_init();
		ready = 1;
	}
	sieve_limits_default(&l);
	l.max_cpu = 2000000;
	int ret = sieve_compile((const char *)data, size, &l, &p, &err);
	if (ret < 0) {
		if (ret != -EINVAL || err.line == 0 || err.column == 0 ||
		    err.message[0] == '\0')
			abort();
		return 0;
	}
	void *a, *b;
	size_t alen, blen;
	if (sieve_program_save(p, &a, &alen) < 0)
		abort();
	if (sieve_program_load(a, alen, &q) < 0)
		abort();
	if (sieve_program_save(q, &b, &blen) < 0 || alen != blen ||
	    memcmp(a, b, alen) != 0)
		abort();
	free(a);
	free(b);

	struct sieve_buffer buf = { message, sizeof(message) - 1 };
	struct sieve_message msg;
	struct sieve_envelope envelope = { "alice+tag@example.org",
					   "me+box@example.com" };
	static const char *const addresses[] = { "me@example.com" };
	struct sieve_env env = {
		.limits = &l, .addresses = addresses, .n_addresses = 1,
		.separators = "+", .now = 1700000000, .zone_minutes = 60,
		.mailbox_exists = mailbox_exists,
	};
	struct sieve_result *r = NULL;
	sieve_message_from_buffer(&msg, &buf);
	if (sieve_evaluate(q, &msg, &envelope, &env, &r) != 0 ||
	    r->n_actions == 0)
		abort();
	sieve_result_free(&r);
	sieve_program_free(&q);
	sieve_program_free(&p);
	return 0;
}
