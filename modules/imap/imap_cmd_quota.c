/* QUOTA (RFC 9208): GETQUOTAROOT, GETQUOTA, SETQUOTA, and the checks that
 * answer APPEND before its literal is sent. Every mailbox of an account
 * shares one quota root, "", holding the limits the administrator set
 * (postino quota set): STORAGE in units of 1024 octets (usage rounded
 * up, the limit down) and MESSAGE. An account without any limit has no
 * quota root: a QUOTA response must name at least one resource. */
#include <errno.h>
#include <string.h>

#include "imap.h"
#include "imap_write.h"

bool imap_quota_supported(const struct imap_session *s)
{
	return POSTINO_HAS(s->srv->host->account, struct postino_host_account,
			   account_quota);
}

/* 0 and the quota, or a NO already sent. */
static int quota_read(struct imap_session *s, struct postino_quota *q)
{
	*q = (struct postino_quota){ .size = sizeof(*q) };
	if (s->srv->host->account->account_quota(s->srv->mod, s->account,
						 q) < 0) {
		imap_tagged(s, "NO", "[SERVERBUG] Cannot read the quota");
		return -1;
	}
	return 0;
}

static bool has_root(const struct postino_quota *q)
{
	return q->storage_limit > 0 || q->messages_limit > 0;
}

/* "* QUOTA "" (STORAGE used limit MESSAGE used limit)" */
static void quota_response(struct imap_session *s,
			   const struct postino_quota *q)
{
	struct imap_buf out;
	const char *sep = "";

	imap_buf_init(&out, 0);
	imap_buf_append_str(&out, "* QUOTA \"\" (");
	if (q->storage_limit > 0) {
		imap_buf_append_str(&out, "STORAGE ");
		imap_buf_append_u64(&out, q->storage_used / 1024 +
						  (q->storage_used % 1024 != 0));
		imap_buf_append_char(&out, ' ');
		imap_buf_append_u64(&out, q->storage_limit / 1024);
		sep = " ";
	}
	if (q->messages_limit > 0) {
		imap_buf_append_str(&out, sep);
		imap_buf_append_str(&out, "MESSAGE ");
		imap_buf_append_u64(&out, q->messages_used);
		imap_buf_append_char(&out, ' ');
		imap_buf_append_u64(&out, q->messages_limit);
	}
	imap_buf_append_str(&out, ")\r\n");
	imap_write(s, out.data, out.len);
	imap_buf_free(&out);
}

void imap_cmd_getquotaroot(struct imap_session *s,
			   const struct imap_command *cmd,
			   const struct imap_arg *args, size_t n_args, bool uid)
{
	struct postino_mailbox_status st = { .size = sizeof(st) };
	struct postino_quota q;
	struct imap_buf name, out;

	(void)cmd;
	(void)uid;
	if (n_args != 1) {
		imap_tagged(s, "BAD", "GETQUOTAROOT needs a mailbox");
		return;
	}
	imap_buf_init(&name, 1024);
	if (!imap_mailbox_arg(s, &args[0], &name)) {
		imap_buf_free(&name);
		return;
	}
	int ret = s->srv->host->mailbox->mailbox_status(s->srv->mod,
							s->account, name.data,
							&st);
	if (ret < 0) {
		imap_buf_free(&name);
		imap_tagged(s, "NO", ret == -ENOENT
				? "[NONEXISTENT] Mailbox does not exist"
				: "[SERVERBUG] Internal error");
		return;
	}
	if (quota_read(s, &q) < 0) {
		imap_buf_free(&name);
		return;
	}
	imap_buf_init(&out, 0);
	imap_buf_append_str(&out, "* QUOTAROOT ");
	imap_write_mailbox(&out, name.data, strlen(name.data));
	imap_buf_append_str(&out, has_root(&q) ? " \"\"\r\n" : "\r\n");
	imap_write(s, out.data, out.len);
	imap_buf_free(&out);
	imap_buf_free(&name);
	if (has_root(&q))
		quota_response(s, &q);
	imap_tagged(s, "OK", "Getquotaroot completed");
}

void imap_cmd_getquota(struct imap_session *s, const struct imap_command *cmd,
		       const struct imap_arg *args, size_t n_args, bool uid)
{
	struct postino_quota q;
	const char *root;
	size_t len;

	(void)cmd;
	(void)uid;
	if (n_args != 1 || !imap_arg_astring(&args[0], &root, &len)) {
		imap_tagged(s, "BAD", "GETQUOTA needs a quota root");
		return;
	}
	if (quota_read(s, &q) < 0)
		return;
	if (len != 0 || !has_root(&q)) {
		imap_tagged(s, "NO", "[NONEXISTENT] No such quota root");
		return;
	}
	quota_response(s, &q);
	imap_tagged(s, "OK", "Getquota completed");
}

void imap_cmd_setquota(struct imap_session *s, const struct imap_command *cmd,
		       const struct imap_arg *args, size_t n_args, bool uid)
{
	(void)cmd;
	(void)args;
	(void)uid;
	if (n_args != 2 || args[1].type != IMAP_ARG_LIST) {
		imap_tagged(s, "BAD", "SETQUOTA needs a quota root and a "
				      "list of limits");
		return;
	}
	imap_tagged(s, "NO", "[NOPERM] Quotas are set by the administrator");
}

bool imap_quota_refuses(struct imap_session *s, uint64_t size)
{
	struct postino_quota q = { .size = sizeof(q) };

	if (!imap_quota_supported(s) ||
	    s->srv->host->account->account_quota(s->srv->mod, s->account,
						 &q) < 0)
		return false; /* the store's own check still applies */
	if (q.storage_limit > 0 && (q.storage_used >= q.storage_limit ||
				    size > q.storage_limit - q.storage_used))
		return true;
	return q.messages_limit > 0 && q.messages_used >= q.messages_limit;
}
