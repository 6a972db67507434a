/* APPEND (RFC 3501 6.3.11) with LITERAL+ and UIDPLUS's APPENDUID: the
 * message literal streams into a host message (memory, then a spool
 * file), never into the command buffer, and the tagged OK comes only
 * after the store has made it durable. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap.h"
#include "imap_date.h"
#include "imap_flags.h"

static void append_reset(struct imap_session *s)
{
	if (s->append_msg != NULL)
		s->srv->host->mail->msg_discard(&s->append_msg);
	free(s->append_mailbox);
	s->append_mailbox = NULL;
	free(s->append_keywords);
	s->append_keywords = NULL;
	s->append_flags = 0;
	s->append_date = 0;
	s->append_toobig = false;
}

/* The command up to the message literal: tag APPEND mailbox [flags]
 * [date]. Returns an error text, or NULL with the append_* fields set. */
static const char *append_parse(struct imap_session *s, const char *buf,
				size_t len)
{
	struct imap_command *cmd = NULL;
	const char *error = NULL;
	struct imap_buf name, kw;

	if (imap_parse_command(buf, len, NULL, &cmd, &error) != 0)
		return "Invalid APPEND arguments";
	const struct imap_arg *a = cmd->args;
	size_t n = cmd->n_args, i = 1;
	const char *str;
	size_t slen;

	imap_buf_init(&name, 1024);
	imap_buf_init(&kw, 1000);
	error = "Invalid APPEND arguments";
	if (n < 1 || n > 3 || !imap_arg_astring(&a[0], &str, &slen) ||
	    slen == 0)
		goto out;
	if (imap_mutf7_name(str, slen, &name) < 0) {
		error = "Invalid mailbox name (modified UTF-7)";
		goto out;
	}
	if (i < n && a[i].type == IMAP_ARG_LIST) {
		unsigned flags;
		const char *ferr = NULL;
		if (imap_flags_parse(&a[i], 1, &flags, &kw, &ferr) < 0 ||
		    imap_buf_append(&kw, "", 0) < 0) {
			error = ferr != NULL ? ferr : "Invalid flags";
			goto out;
		}
		s->append_flags = flags;
		i++;
	}
	if (i < n) {
		int tz;
		if (a[i].type != IMAP_ARG_QUOTED ||
		    imap_parse_datetime(a[i].str, a[i].len, &s->append_date,
					&tz) < 0) {
			error = "Invalid date-time";
			goto out;
		}
		i++;
	}
	if (i != n)
		goto out;
	s->append_mailbox = strdup(name.data);
	s->append_keywords = strdup(kw.data != NULL ? kw.data : "");
	error = s->append_mailbox != NULL && s->append_keywords != NULL
			? NULL : "Out of memory";
out:
	imap_buf_free(&name);
	imap_buf_free(&kw);
	imap_command_free(&cmd);
	return error;
}

void imap_append_begin(struct imap_session *s, const char *line, size_t len,
		       uint64_t size, bool nonsync)
{
	const struct postino_host *host = s->srv->host;
	size_t t = imap_parse_tag(line, len);

	while (len > 0 && line[len - 1] == ' ')
		len--; /* the space before the "{n}" */
	snprintf(s->tag, sizeof(s->tag), "%.*s", (int)(t < 64 ? t : 0), line);
	imap_log_command(s, s->tag, "APPEND", line, len);
	s->tag_uid = false;
	s->running = imap_command_find("APPEND");
	append_reset(s);
	if (!((1u << s->state) & ((1u << IMAP_AUTH) | (1u << IMAP_SELECTED)))) {
		if (!nonsync) {
			imap_tagged(s, "BAD", "Command not valid in this state");
			return;
		}
		s->append_toobig = true; /* discard the bytes, then refuse */
	}
	const char *error = s->append_toobig ? NULL
					     : append_parse(s, line, len);
	if (error != NULL && !nonsync) {
		imap_tagged(s, "BAD", "%s", error);
		return;
	}
	if (size > s->srv->max_message_size) {
		if (!nonsync) {
			imap_tagged(s, "NO", "[TOOBIG] Message too large");
			return;
		}
		/* RFC 7888 4: the bytes come anyway; a huge one is not worth
		 * reading. */
		imap_printf(s, "* BYE [TOOBIG] Message too large\r\n");
		host->proto->conn_close(s->conn, "append too large");
		append_reset(s);
		return;
	}
	/* RFC 9208 4.3: over quota, a synchronising literal is refused
	 * before the client sends it; a LITERAL+ one comes anyway and the
	 * store's check refuses it after. */
	if (error == NULL && !nonsync && !s->append_toobig &&
	    imap_quota_refuses(s, size)) {
		append_reset(s);
		imap_tagged(s, "NO", IMAP_OVERQUOTA);
		return;
	}
	if (error != NULL)
		s->append_toobig = true; /* nonsync: swallow, then BAD */
	if (!s->append_toobig) {
		s->append_msg = host->mail->msg_new(s->srv->mod, s->conn);
		if (s->append_msg == NULL) {
			s->append_toobig = true;
		}
	}
	if (!nonsync)
		imap_printf(s, "+ Ready for literal data\r\n");
	if (size == 0) {
		s->phase = IMAP_PHASE_APPEND_END;
		return;
	}
	s->phase = IMAP_PHASE_APPEND_DATA;
	host->proto->conn_read_bytes(s->conn, size);
}

void imap_append_bytes(struct imap_session *s, const char *bytes, size_t len,
		       int last)
{
	if (s->append_msg != NULL &&
	    s->srv->host->mail->msg_append(s->append_msg, bytes, len) < 0) {
		s->srv->host->mail->msg_discard(&s->append_msg);
		s->append_toobig = true;
	}
	if (last)
		s->phase = IMAP_PHASE_APPEND_END;
}

static void append_done(void *data, int status, uint32_t uidvalidity,
			uint32_t uid)
{
	struct imap_session *s = data;

	if (imap_release(s))
		return;
	free(s->append_mailbox);
	s->append_mailbox = NULL;
	free(s->append_keywords);
	s->append_keywords = NULL;
	if (status == -ENOENT)
		imap_tagged(s, "NO", "[TRYCREATE] Mailbox does not exist");
	else if (status == -EDQUOT)
		imap_tagged(s, "NO", IMAP_OVERQUOTA);
	else if (status < 0)
		imap_tagged(s, "NO", "[SERVERBUG] Cannot store the message");
	else
		imap_tagged(s, "OK", "[APPENDUID %u %u] Append completed",
			    uidvalidity, uid);
}

/* The rest of the APPEND line after the literal: must be empty (no
 * MULTIAPPEND). */
void imap_append_end(struct imap_session *s, const char *line, size_t len)
{
	const struct postino_host *host = s->srv->host;

	(void)line;
	s->phase = IMAP_PHASE_COMMAND;
	if (len != 0 || s->append_toobig || s->append_msg == NULL) {
		bool oom = len == 0 && s->append_mailbox != NULL;
		append_reset(s);
		imap_tagged(s, oom ? "NO" : "BAD",
			    oom ? "[SERVERBUG] Cannot store the message"
				: "Invalid APPEND command");
		return;
	}
	postino_msg *msg = s->append_msg;
	s->append_msg = NULL;
	s->pending++;
	imap_busy(s);
	/* The mailbox must exist: APPEND never creates one (TRYCREATE). */
	int ret = host->mailbox->mailbox_append(s->srv->mod, s->account,
				       s->append_mailbox, msg, s->append_flags,
				       s->append_keywords, s->append_date,
				       append_done, s);
	if (ret < 0) {
		s->pending--;
		append_reset(s);
		imap_tagged(s, "NO", "[SERVERBUG] Cannot store the message");
	}
}
