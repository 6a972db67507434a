/* libFuzzer target: the Sieve evaluator and vacation helpers on any
 * message. The input is a script, a "\n%%\n" line, then the message
 * (without that line: a fixed script that uses every test, and the whole
 * input as the message). An input starting "SIEVEPRG" is a saved program
 * instead: it must load or be refused, and run if it loads. Checked: a
 * result always has actions (a runtime error keeps), a vacation reply
 * can be built or is refused cleanly, and everything is freed. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sieve.h"

static const char fixed_script[] =
	"require [\"fileinto\", \"variables\", \"imap4flags\", \"vacation\",\n"
	"  \"relational\", \"comparator-i;ascii-numeric\", \"body\", \"date\",\n"
	"  \"envelope\", \"subaddress\", \"copy\", \"mailbox\", \"reject\"];\n"
	"if header :matches \"subject\" \"*[*]*\" { set :lower \"l\" \"${2}\"; }\n"
	"if address :detail :matches [\"to\", \"cc\"] \"*\" { addflag \"${1}\"; }\n"
	"if address :count \"ge\" :comparator \"i;ascii-numeric\" \"to\" \"2\" "
	"{ addflag \"\\\\Seen\"; }\n"
	"if header :contains \"from\" \"a\" { fileinto :copy \"l/${l}\"; }\n"
	"if body :text :matches \"*a*a*a*b*\" { addflag \"b\"; }\n"
	"if body :content \"text\" :contains \"x\" { addflag \"t\"; }\n"
	"if body :raw :contains \"--\" { addflag \"r\"; }\n"
	"if date :value \"ge\" :originalzone \"date\" \"hour\" \"09\" "
	"{ addflag \"day\"; }\n"
	"if exists \"list-id\" { fileinto :flags \"list\" \"lists\"; }\n"
	"if size :over 10K { discard; }\n"
	"vacation :days 1 \"away\";\n";

static int mailbox_exists(void *context, const char *mailbox)
{
	return 0;
}

static void run(const struct sieve_program *p, const char *msg_data,
		size_t msg_len)
{
	struct sieve_limits l;
	sieve_limits_default(&l);
	l.max_cpu = 2000000;
	struct sieve_buffer buf = { msg_data, msg_len };
	struct sieve_message msg;
	struct sieve_envelope envelope = { "alice@example.org",
					   "me+x@example.com" };
	static const char *const addresses[] = { "me@example.com" };
	struct sieve_env env = {
		.limits = &l, .addresses = addresses, .n_addresses = 1,
		.separators = "+", .now = 1700000000,
		.mailbox_exists = mailbox_exists,
	};
	struct sieve_result *r = NULL;

	sieve_message_from_buffer(&msg, &buf);
	if (sieve_evaluate(p, &msg, &envelope, &env, &r) != 0 ||
	    r->n_actions == 0)
		abort();
	for (size_t i = 0; i < r->n_actions; i++) {
		const struct sieve_vacation *v = r->actions[i].vacation;
		if (v == NULL || !v->send)
			continue;
		struct sieve_reply_params rp = { "me@example.com", "mx.example",
						 1700000000, 0 };
		char *reply;
		size_t len;
		int ret = sieve_vacation_reply(v, &rp, &reply, &len);
		if (ret == 0) {
			/* headers and body: CRLF only, never a bare LF */
			for (size_t k = 0; k < len; k++)
				if (reply[k] == '\n' &&
				    (k == 0 || reply[k - 1] != '\r'))
					abort();
			free(reply);
		} else if (ret != -EINVAL) {
			abort();
		}
	}
	sieve_result_free(&r);
	/* The standalone refusal check on the same bytes. */
	sieve_vacation_refusal(msg_data, msg_len, "alice@example.org",
			       addresses, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct sieve_program *p = NULL;
	const char *in = (const char *)data;

	if (!ready) {
		sieve_engine_init();
		ready = 1;
	}
	if (size >= 8 && memcmp(in, "SIEVEPRG", 8) == 0) {
		if (sieve_program_load(data, size, &p) == 0) {
			run(p, "Subject: x\r\n\r\nbody\r\n", 21);
			sieve_program_free(&p);
		}
		return 0;
	}
	const char *sep = memmem(in, size, "\n%%\n", 4);
	const char *script = fixed_script, *msg = in;
	size_t script_len = sizeof(fixed_script) - 1, msg_len = size;
	if (sep != NULL) {
		script = in;
		script_len = (size_t)(sep - in);
		msg = sep + 4;
		msg_len = size - script_len - 4;
	}
	if (sieve_compile(script, script_len, NULL, &p, NULL) < 0 &&
	    sieve_compile(fixed_script, sizeof(fixed_script) - 1, NULL, &p,
			  NULL) < 0)
		abort();
	run(p, msg, msg_len);
	sieve_program_free(&p);
	return 0;
}
