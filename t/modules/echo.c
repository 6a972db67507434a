/* A test-only protocol module: a tiny line protocol that exercises every
 * connection entry of the host table (greeting, lines, too-long lines,
 * STARTTLS, byte runs, pause/resume, back-pressure, close), so the network
 * layer can be tested with real TLS clients without a mail protocol.
 *
 *   greeting            +OK echo ready
 *   ECHO text           +OK text
 *   STARTTLS            +OK begin TLS, handshake, then +OK tls ready
 *                       (inside TLS: -ERR already in TLS)
 *   INFO                +OK tls=0|1 version=V cipher=C sni=S client=IP
 *                       account=A   ("-" for what is not known)
 *   LOGIN name          +OK (conn_set_account)
 *   LITERAL n           +OK send n bytes, then after n raw bytes
 *                       +OK got n bytes fnv=HHHHHHHH (32-bit FNV-1a)
 *   SLOW ms             input paused for ms, then +OK resumed
 *   BIG n               n bytes 'a'+(i%26), then CRLF and +OK end
 *   QUIT                +OK bye, close
 *   too long line       -ERR line too long; the third in a row:
 *                       -ERR too many long lines, close
 *   anything else       -ERR unknown command
 *
 * Built only against plugins-api/.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <postino/plugin.h>

#define ECHO_BIG_CHUNK 16384
#define ECHO_LONG_LINES_MAX 3
#define FNV_OFFSET 0x811c9dc5u
#define FNV_PRIME 0x01000193u

struct echo {
	postino_mod *mod;
	const struct postino_host *host;
	struct postino_protocol proto;
};

struct echo_conn {
	struct echo *echo;
	postino_conn *conn;
	int long_lines;          /* too-long lines in a row */
	uint64_t literal_size;   /* LITERAL in progress: its size */
	uint64_t literal_got;
	uint32_t fnv;
	postino_timer *slow;     /* SLOW in progress */
	uint64_t big_left;       /* BIG in progress: bytes still to write */
	uint64_t big_pos;        /* offset of the next byte of the pattern */
	int big_active;
	int closed;              /* conn_close called or conn_write -EPIPE */
};

static const char *or_dash(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : "-";
}

static void echo_reply(struct echo_conn *ec, const char *text)
{
	const struct postino_host *host = ec->echo->host;

	if (host->proto->conn_printf(ec->conn, "%s\r\n", text) < 0)
		ec->closed = 1;
}

static void echo_close(struct echo_conn *ec, const char *reply,
		       const char *reason)
{
	if (reply != NULL)
		echo_reply(ec, reply);
	ec->closed = 1;
	ec->echo->host->proto->conn_close(ec->conn, reason);
}

/* Parses a decimal number that is the whole of s. */
static int parse_u64(const char *s, uint64_t max, uint64_t *n_r)
{
	uint64_t n = 0;

	if (*s == '\0')
		return -EINVAL;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (n > (max - (uint64_t)(*s - '0')) / 10)
			return -ERANGE;
		n = n * 10 + (uint64_t)(*s - '0');
	}
	*n_r = n;
	return 0;
}

/* ---- BIG: output under back-pressure ----------------------------------- */

static void echo_big_continue(struct echo_conn *ec)
{
	const struct postino_host *host = ec->echo->host;
	char chunk[ECHO_BIG_CHUNK];

	while (ec->big_active && !ec->closed) {
		if (ec->big_left == 0) {
			ec->big_active = 0;
			if (host->proto->conn_write(ec->conn, "\r\n+OK end\r\n", 11) < 0)
				ec->closed = 1;
			host->proto->conn_resume(ec->conn);
			return;
		}
		size_t n = ec->big_left < sizeof(chunk) ? (size_t)ec->big_left
							 : sizeof(chunk);
		for (size_t i = 0; i < n; i++)
			chunk[i] = (char)('a' + (ec->big_pos + i) % 26);
		ec->big_pos += n;
		ec->big_left -= n;
		int ret = host->proto->conn_write(ec->conn, chunk, n);
		if (ret < 0) {
			ec->closed = 1;
			return;
		}
		if (ret == 1)
			return; /* on_writable calls us again */
	}
}

static void echo_on_writable(postino_conn *conn, void *data)
{
	struct echo *echo = data;
	struct echo_conn *ec = echo->host->proto->conn_get_data(conn);

	if (ec != NULL && ec->big_active)
		echo_big_continue(ec);
}

/* ---- SLOW: pause, timer, resume ---------------------------------------- */

static void echo_slow_done(void *data)
{
	struct echo_conn *ec = data;
	const struct postino_host *host = ec->echo->host;

	host->core->timer_stop(&ec->slow);
	echo_reply(ec, "+OK resumed");
	host->proto->conn_resume(ec->conn);
}

/* ---- commands ----------------------------------------------------------- */

static void echo_info(struct echo_conn *ec)
{
	const struct postino_host *host = ec->echo->host;
	const struct postino_conn_info *info = host->proto->conn_info(ec->conn);
	const char *version = NULL, *cipher = NULL, *sni = NULL;
	const char *client = NULL, *account = NULL;
	int tls = 0;

	if (info == NULL) {
		echo_reply(ec, "-ERR no info");
		return;
	}
	if (POSTINO_HAS_FIELD(info, struct postino_conn_info, tls))
		tls = info->tls;
	if (POSTINO_HAS_FIELD(info, struct postino_conn_info, tls_version))
		version = info->tls_version;
	if (POSTINO_HAS_FIELD(info, struct postino_conn_info, tls_cipher))
		cipher = info->tls_cipher;
	if (POSTINO_HAS_FIELD(info, struct postino_conn_info, tls_sni))
		sni = info->tls_sni;
	if (POSTINO_HAS_FIELD(info, struct postino_conn_info, client_ip))
		client = info->client_ip;
	if (POSTINO_HAS_FIELD(info, struct postino_conn_info, account))
		account = info->account;
	if (host->proto->conn_printf(ec->conn,
			      "+OK tls=%d version=%s cipher=%s sni=%s "
			      "client=%s account=%s\r\n",
			      tls ? 1 : 0, or_dash(version), or_dash(cipher),
			      or_dash(sni), or_dash(client),
			      or_dash(account)) < 0)
		ec->closed = 1;
}

static int echo_in_tls(struct echo_conn *ec)
{
	const struct postino_conn_info *info =
		ec->echo->host->proto->conn_info(ec->conn);

	return info != NULL &&
	       POSTINO_HAS_FIELD(info, struct postino_conn_info, tls) &&
	       info->tls;
}

static void echo_command(struct echo_conn *ec, const char *line, size_t len)
{
	const struct postino_host *host = ec->echo->host;
	size_t verb_len = 0;

	while (verb_len < len && line[verb_len] != ' ')
		verb_len++;
	const char *arg = verb_len < len ? line + verb_len + 1 : line + len;
	size_t arg_len = verb_len < len ? len - verb_len - 1 : 0;
	uint64_t n;

#define VERB(name) \
	(verb_len == sizeof(name) - 1 && strncasecmp(line, name, verb_len) == 0)

	if (VERB("ECHO")) {
		/* The text may hold any byte but CR/LF, NUL included. */
		if (host->proto->conn_write(ec->conn, "+OK", 3) < 0 ||
		    (verb_len < len &&
		     (host->proto->conn_write(ec->conn, " ", 1) < 0 ||
		      host->proto->conn_write(ec->conn, arg, arg_len) < 0)) ||
		    host->proto->conn_write(ec->conn, "\r\n", 2) < 0)
			ec->closed = 1;
	} else if (VERB("STARTTLS") && arg_len == 0) {
		if (echo_in_tls(ec)) {
			echo_reply(ec, "-ERR already in TLS");
			return;
		}
		echo_reply(ec, "+OK begin TLS");
		int ret = host->proto->conn_starttls(ec->conn);
		if (ret < 0) {
			host->core->log(ec->echo->mod, POSTINO_LOG_ERROR, NULL,
				  "conn_starttls failed: %s", strerror(-ret));
			echo_close(ec, "-ERR STARTTLS failed", "starttls failed");
		}
	} else if (VERB("INFO") && arg_len == 0) {
		echo_info(ec);
	} else if (VERB("LOGIN") && arg_len > 0 && memchr(arg, '\0', arg_len) == NULL) {
		host->proto->conn_set_account(ec->conn, arg);
		echo_reply(ec, "+OK");
	} else if (VERB("LITERAL")) {
		if (memchr(arg, '\0', arg_len) != NULL ||
		    parse_u64(arg, UINT64_C(1) << 40, &n) < 0) {
			echo_reply(ec, "-ERR bad number");
			return;
		}
		if (host->proto->conn_printf(ec->conn, "+OK send %" PRIu64 " bytes\r\n",
				      n) < 0) {
			ec->closed = 1;
			return;
		}
		if (n == 0) {
			host->proto->conn_printf(ec->conn,
					  "+OK got 0 bytes fnv=%08" PRIx32 "\r\n",
					  FNV_OFFSET);
			return;
		}
		ec->literal_size = n;
		ec->literal_got = 0;
		ec->fnv = FNV_OFFSET;
		int ret = host->proto->conn_read_bytes(ec->conn, n);
		if (ret < 0)
			echo_close(ec, "-ERR conn_read_bytes failed",
				   "read_bytes failed");
	} else if (VERB("SLOW")) {
		if (memchr(arg, '\0', arg_len) != NULL ||
		    parse_u64(arg, 600000, &n) < 0) {
			echo_reply(ec, "-ERR bad number");
			return;
		}
		host->proto->conn_pause(ec->conn);
		ec->slow = host->core->timer_start(ec->echo->mod, n, 0, 0,
					     echo_slow_done, ec);
		if (ec->slow == NULL) {
			host->proto->conn_resume(ec->conn);
			echo_reply(ec, "-ERR no timer");
		}
	} else if (VERB("BIG")) {
		if (memchr(arg, '\0', arg_len) != NULL ||
		    parse_u64(arg, UINT64_C(1) << 40, &n) < 0) {
			echo_reply(ec, "-ERR bad number");
			return;
		}
		/* No more commands until the output is all queued, so their
		 * replies cannot land inside it. */
		host->proto->conn_pause(ec->conn);
		ec->big_left = n;
		ec->big_pos = 0;
		ec->big_active = 1;
		echo_big_continue(ec);
	} else if (VERB("QUIT") && arg_len == 0) {
		echo_close(ec, "+OK bye", "quit");
	} else {
		echo_reply(ec, "-ERR unknown command");
	}
#undef VERB
}

/* ---- protocol callbacks ------------------------------------------------- */

static void echo_line(struct echo_conn *ec, const char *line, size_t len,
		      int too_long)
{
	if (too_long) {
		if (++ec->long_lines >= ECHO_LONG_LINES_MAX)
			echo_close(ec, "-ERR too many long lines",
				   "too many long lines");
		else
			echo_reply(ec, "-ERR line too long");
		return;
	}
	ec->long_lines = 0;
	echo_command(ec, line, len);
}

static void echo_on_connect(postino_conn *conn, void *data)
{
	struct echo *echo = data;
	struct echo_conn *ec = calloc(1, sizeof(*ec));

	if (ec == NULL) {
		echo->host->proto->conn_close(conn, "out of memory");
		return;
	}
	ec->echo = echo;
	ec->conn = conn;
	echo->host->proto->conn_set_data(conn, ec);
	echo_reply(ec, "+OK echo ready");
}

static void echo_on_line(postino_conn *conn, const char *line, size_t len,
			 int too_long, void *data)
{
	struct echo *echo = data;
	struct echo_conn *ec = echo->host->proto->conn_get_data(conn);

	if (ec == NULL || ec->closed)
		return;
	/* plugin.h promises line[len] == '\0'. A host that breaks that is
	 * logged (the tests look for it) and the line copied, so the rest of
	 * the test still runs. */
	char *copy = NULL;
	if (line[len] != '\0') {
		echo->host->core->log(echo->mod, POSTINO_LOG_ERROR, NULL,
				"host contract: line[len] is not NUL (len=%zu)",
				len);
		copy = malloc(len + 1);
		if (copy == NULL) {
			echo_close(ec, "-ERR out of memory", "out of memory");
			return;
		}
		memcpy(copy, line, len);
		copy[len] = '\0';
		line = copy;
	}
	echo_line(ec, line, len, too_long);
	free(copy);
}

static void echo_on_bytes(postino_conn *conn, const char *bytes, size_t len,
			  int last, void *data)
{
	struct echo *echo = data;
	struct echo_conn *ec = echo->host->proto->conn_get_data(conn);

	if (ec == NULL)
		return;
	for (size_t i = 0; i < len; i++) {
		ec->fnv ^= (uint8_t)bytes[i];
		ec->fnv *= FNV_PRIME;
	}
	ec->literal_got += len;
	if (!last)
		return;
	if (ec->literal_got != ec->literal_size)
		echo->host->core->log(echo->mod, POSTINO_LOG_ERROR, NULL,
				"literal of %" PRIu64 " bytes ended after %" PRIu64,
				ec->literal_size, ec->literal_got);
	if (echo->host->proto->conn_printf(conn,
				    "+OK got %" PRIu64 " bytes fnv=%08" PRIx32
				    "\r\n", ec->literal_got, ec->fnv) < 0)
		ec->closed = 1;
	ec->literal_size = ec->literal_got = 0;
}

static void echo_on_starttls(postino_conn *conn, int ok, void *data)
{
	struct echo *echo = data;
	struct echo_conn *ec = echo->host->proto->conn_get_data(conn);

	if (ec == NULL || !ok)
		return; /* on_close follows a failed handshake */
	/* A fresh session, as the RFCs require. */
	ec->long_lines = 0;
	ec->literal_size = ec->literal_got = 0;
	echo->host->proto->conn_set_account(conn, NULL);
	echo_reply(ec, "+OK tls ready");
}

static void echo_on_close(postino_conn *conn, const char *reason, void *data)
{
	struct echo *echo = data;
	struct echo_conn *ec = echo->host->proto->conn_get_data(conn);

	echo->host->core->log(echo->mod, POSTINO_LOG_DEBUG, NULL, "closed: %s",
			reason != NULL ? reason : "-");
	if (ec == NULL)
		return;
	echo->host->core->timer_stop(&ec->slow);
	echo->host->proto->conn_set_data(conn, NULL);
	free(ec);
}

/* ---- module ------------------------------------------------------------- */

static int echo_init(postino_mod *mod, const struct postino_host *host,
		     void **data_r)
{
	struct echo *echo = calloc(1, sizeof(*echo));
	if (echo == NULL)
		return -ENOMEM;
	echo->mod = mod;
	echo->host = host;

	int64_t max_line = host->core->config_number(mod, "max_line");
	int64_t idle = host->core->config_number(mod, "idle_timeout");
	if (max_line < 1 || max_line > 1024 * 1024 || idle < 1 ||
	    idle > UINT32_MAX) {
		host->core->log(mod, POSTINO_LOG_ERROR, NULL,
			  "max_line must be 1..1048576 and idle_timeout >= 1s");
		free(echo);
		return -EINVAL;
	}
	echo->proto = (struct postino_protocol){
		.size = sizeof(struct postino_protocol),
		.name = "echo",
		.max_line = (uint32_t)max_line,
		.idle_timeout_s = (uint32_t)idle,
		.overload_reply = "-ERR too many connections",
		.timeout_reply = "-ERR idle timeout",
		.on_connect = echo_on_connect,
		.on_line = echo_on_line,
		.on_bytes = echo_on_bytes,
		.on_starttls = echo_on_starttls,
		.on_writable = echo_on_writable,
		.on_close = echo_on_close,
	};
	int ret = host->proto->protocol_register(mod, &echo->proto, echo);
	if (ret < 0) {
		host->core->log(mod, POSTINO_LOG_ERROR, NULL,
			  "protocol_register failed: %s", strerror(-ret));
		free(echo);
		return ret;
	}
	*data_r = echo;
	return 0;
}

static void echo_fini(postino_mod *mod, void *data)
{
	(void)mod;
	free(data);
}

static const struct postino_config_key echo_keys[] = {
	{ "max_line", POSTINO_CONFIG_INT, "1024",
	  "longest command line in bytes" },
	{ "idle_timeout", POSTINO_CONFIG_DURATION, "300",
	  "idle timeout of listeners that set none" },
	{ NULL, 0, NULL, NULL },
};

POSTINO_EXPORT const struct postino_module postino_module_v1 = {
	POSTINO_MODULE_HEADER,
	.name = "echo",
	.version = "1.0.0",
	.description = "test-only line protocol for the network layer tests",
	.config_keys = echo_keys,
	.init = echo_init,
	.fini = echo_fini,
};
