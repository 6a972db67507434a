/* SELECT, EXAMINE, CREATE (with CREATE-SPECIAL-USE), DELETE, RENAME,
 * SUBSCRIBE, UNSUBSCRIBE and STATUS. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap.h"
#include "imap_write.h"

static void mailbox_changed(void *data)
{
	struct imap_session *s = data;

	s->dirty = true;
	if (s->phase == IMAP_PHASE_IDLE)
		imap_idle_changed(s);
}

void imap_cmd_select(struct imap_session *s, const struct imap_command *cmd,
		     const struct imap_arg *args, size_t n_args, bool uid)
{
	const struct postino_host *host = s->srv->host;
	bool examine = strcmp(cmd->name, "EXAMINE") == 0;
	struct postino_mailbox_status st = { .size = sizeof(st) };
	struct imap_buf name;
	uint32_t unseen = 0;
	int ret;

	(void)uid;
	if (n_args < 1) {
		imap_tagged(s, "BAD", "%s needs a mailbox name", cmd->name);
		return;
	}
	bool condstore;
	struct imap_qresync *qr;
	if (!imap_select_params(s, &args[1], n_args - 1, &condstore, &qr))
		return;
	imap_buf_init(&name, 1024);
	if (!imap_mailbox_arg(s, &args[0], &name)) {
		imap_buf_free(&name);
		imap_qresync_free(&qr);
		return;
	}
	/* RFC 7162 3.2.11: the responses that follow are the new
	 * mailbox's. RFC 3501 6.3.1: a failed SELECT leaves no mailbox
	 * selected. */
	if (s->state == IMAP_SELECTED)
		imap_printf(s, "* OK [CLOSED] Previous mailbox closed\r\n");
	imap_unselect(s);
	if (condstore)
		imap_condstore_enable(s);
	ret = host->mailbox->mailbox_open(s->srv->mod, s->account, name.data,
				 examine ? 0 : POSTINO_MAILBOX_RECENT, &s->mb);
	if (ret == 0)
		ret = host->mailbox->mailbox_status(s->srv->mod, s->account, name.data,
					   &st);
	if (ret < 0) {
		if (s->mb != NULL)
			host->mailbox->mailbox_close(&s->mb);
		imap_buf_free(&name);
		imap_qresync_free(&qr);
		imap_tagged(s, "NO", "%s", imap_mailbox_error(ret));
		return;
	}
	s->mailbox_name = strdup(name.data);
	imap_buf_free(&name);
	s->state = IMAP_SELECTED;
	s->readonly = examine;
	s->exists = imap_count(s);
	s->recent = 0;
	/* The keywords in use go in FLAGS (RFC 3501 6.3.1, 7.2.6); without
	 * memory for the set, FLAGS lists the system flags only. */
	s->keywords = imap_keywords_new();
	for (uint32_t i = 0; i < s->exists; i++) {
		struct postino_message_info info;
		if (imap_message(s, i, &info) < 0)
			continue;
		if (info.flags & POSTINO_FLAG_RECENT)
			s->recent++;
		if (unseen == 0 && !(info.flags & POSTINO_FLAG_SEEN))
			unseen = i + 1;
		if (s->keywords != NULL)
			imap_keywords_add(s->keywords, info.keywords);
	}
	host->mailbox->mailbox_watch(s->mb, mailbox_changed, s);
	imap_flags_announce(s);
	imap_printf(s, "* %u EXISTS\r\n* %u RECENT\r\n", s->exists,
		    s->recent);
	if (unseen > 0)
		imap_printf(s, "* OK [UNSEEN %u] First unseen\r\n", unseen);
	/* Every mailbox keeps modseqs: HIGHESTMODSEQ always (RFC 7162
	 * 3.1.2.1), the view's, which the QRESYNC report below is as of. */
	imap_printf(s, "* OK [UIDVALIDITY %u] UIDs valid\r\n"
		       "* OK [UIDNEXT %u] Predicted next UID\r\n"
		       "* OK [HIGHESTMODSEQ %llu] Highest\r\n",
		    host->mailbox->mailbox_uidvalidity(s->mb), st.uidnext,
		    (unsigned long long)host->mailbox->mailbox_highestmodseq(
			    s->mb));
	imap_qresync_report(s, &qr);
	imap_tagged(s, "OK", "[%s] %s completed",
		    examine ? "READ-ONLY" : "READ-WRITE",
		    examine ? "Examine" : "Select");
}

/* ---- mailbox management -------------------------------------------------- */

static void mbox_done(void *data, int status)
{
	struct imap_session *s = data;

	if (imap_release(s))
		return;
	switch (status) {
	case 0:
		imap_tagged(s, "OK", "%s completed", s->running->name);
		return;
	case -ENOENT:
		imap_tagged(s, "NO", "[NONEXISTENT] Mailbox does not exist");
		return;
	case -EEXIST:
		imap_tagged(s, "NO", "[ALREADYEXISTS] Mailbox already exists");
		return;
	case -EPERM:
		imap_tagged(s, "NO", "[CANNOT] INBOX cannot be deleted");
		return;
	case -ENOTEMPTY:
		imap_tagged(s, "NO", "[INUSE] Mailbox has children, delete "
				     "them first");
		return;
	case -EINVAL:
		imap_tagged(s, "NO", "[CANNOT] Invalid mailbox name");
		return;
	default:
		imap_tagged(s, "NO", "[SERVERBUG] Internal error");
		return;
	}
}

/* Starts an asynchronous mailbox operation: ret from the host call. */
static void mbox_started(struct imap_session *s, int ret)
{
	if (ret < 0) {
		s->pending--;
		imap_tagged(s, "NO", ret == -EINVAL
				? "[CANNOT] Invalid mailbox name or option"
				: "[SERVERBUG] Internal error");
	}
}

/* A CREATE that subscribes the new mailbox too: a second job once the
 * first is done (RFC 3501 6.3.3 leaves subscribing to the client; the
 * special-use folders are subscribed as the account's own are, the rest
 * only with [imap] subscribe_on_create). */
struct create_op {
	struct imap_session *s;
	char *name;
};

static void create_done(void *data, int status)
{
	struct create_op *op = data;
	struct imap_session *s = op->s;

	if (status == 0 && !s->closed) {
		int ret = s->srv->host->mailbox->mailbox_subscribe(
			s->srv->mod, s->account, op->name, 1, mbox_done, s);
		if (ret == 0) {
			free(op->name);
			free(op);
			return;
		}
		status = ret;
	}
	free(op->name);
	free(op);
	mbox_done(s, status);
}

/* CREATE name [(USE (\Sent))] (RFC 6154). */
void imap_cmd_create(struct imap_session *s, const struct imap_command *cmd,
		     const struct imap_arg *args, size_t n_args, bool uid)
{
	struct imap_buf name;
	const char *use = NULL;

	(void)cmd;
	(void)uid;
	if (n_args < 1 || n_args > 2) {
		imap_tagged(s, "BAD", "CREATE needs a mailbox name");
		return;
	}
	if (n_args == 2) {
		const struct imap_arg *o = &args[1];
		if (o->type != IMAP_ARG_LIST || o->count != 2 ||
		    !imap_arg_atom_is(&o->list[0], "USE") ||
		    o->list[1].type != IMAP_ARG_LIST ||
		    o->list[1].count != 1 ||
		    o->list[1].list[0].type != IMAP_ARG_ATOM) {
			imap_tagged(s, "BAD", "Invalid CREATE options");
			return;
		}
		use = o->list[1].list[0].str;
	}
	imap_buf_init(&name, 1024);
	if (!imap_mailbox_arg(s, &args[0], &name)) {
		imap_buf_free(&name);
		return;
	}
	/* A trailing delimiter only says children will follow. */
	if (name.len > 1 && name.data[name.len - 1] == '/')
		imap_buf_truncate(&name, name.len - 1);
	if (strcasecmp(name.data, "INBOX") == 0) {
		imap_buf_free(&name);
		imap_tagged(s, "NO", "[ALREADYEXISTS] INBOX always exists");
		return;
	}
	struct create_op *op = NULL;
	if (use != NULL || s->srv->subscribe_on_create) {
		op = calloc(1, sizeof(*op));
		if (op == NULL || (op->name = strdup(name.data)) == NULL) {
			free(op);
			imap_buf_free(&name);
			imap_tagged(s, "NO", "Out of memory");
			return;
		}
		op->s = s;
	}
	s->pending++;
	imap_busy(s);
	int ret = s->srv->host->mailbox->mailbox_create(s->srv->mod, s->account,
					       name.data, use,
					       op != NULL ? create_done
							  : mbox_done,
					       op != NULL ? (void *)op
							  : (void *)s);
	imap_buf_free(&name);
	if (ret < 0 && op != NULL) {
		free(op->name);
		free(op);
	}
	if (ret == -EINVAL && use != NULL) {
		s->pending--;
		imap_tagged(s, "NO", "[USEATTR] Unsupported special-use "
				     "attribute");
		return;
	}
	mbox_started(s, ret);
}

void imap_cmd_delete(struct imap_session *s, const struct imap_command *cmd,
		     const struct imap_arg *args, size_t n_args, bool uid)
{
	struct imap_buf name;

	(void)cmd;
	(void)uid;
	if (n_args != 1) {
		imap_tagged(s, "BAD", "DELETE needs a mailbox name");
		return;
	}
	imap_buf_init(&name, 1024);
	if (!imap_mailbox_arg(s, &args[0], &name)) {
		imap_buf_free(&name);
		return;
	}
	if (s->mailbox_name != NULL && strcmp(s->mailbox_name, name.data) == 0)
		imap_unselect(s);
	s->pending++;
	imap_busy(s);
	int ret = s->srv->host->mailbox->mailbox_delete(s->srv->mod, s->account,
					       name.data, mbox_done, s);
	imap_buf_free(&name);
	mbox_started(s, ret);
}

void imap_cmd_rename(struct imap_session *s, const struct imap_command *cmd,
		     const struct imap_arg *args, size_t n_args, bool uid)
{
	struct imap_buf from, to;

	(void)cmd;
	(void)uid;
	if (n_args != 2) {
		imap_tagged(s, "BAD", "RENAME needs two mailbox names");
		return;
	}
	imap_buf_init(&from, 1024);
	imap_buf_init(&to, 1024);
	if (!imap_mailbox_arg(s, &args[0], &from) ||
	    !imap_mailbox_arg(s, &args[1], &to)) {
		imap_buf_free(&from);
		imap_buf_free(&to);
		return;
	}
	s->pending++;
	imap_busy(s);
	int ret = s->srv->host->mailbox->mailbox_rename(s->srv->mod, s->account,
					       from.data, to.data, mbox_done,
					       s);
	imap_buf_free(&from);
	imap_buf_free(&to);
	mbox_started(s, ret);
}

void imap_cmd_subscribe(struct imap_session *s, const struct imap_command *cmd,
			const struct imap_arg *args, size_t n_args, bool uid)
{
	struct imap_buf name;
	bool on = strcmp(cmd->name, "SUBSCRIBE") == 0;

	(void)uid;
	if (n_args != 1) {
		imap_tagged(s, "BAD", "%s needs a mailbox name", cmd->name);
		return;
	}
	imap_buf_init(&name, 1024);
	if (!imap_mailbox_arg(s, &args[0], &name)) {
		imap_buf_free(&name);
		return;
	}
	s->pending++;
	imap_busy(s);
	int ret = s->srv->host->mailbox->mailbox_subscribe(s->srv->mod, s->account,
						  name.data, on, mbox_done, s);
	imap_buf_free(&name);
	mbox_started(s, ret);
}

/* ---- STATUS -------------------------------------------------------------- */

void imap_cmd_status(struct imap_session *s, const struct imap_command *cmd,
		     const struct imap_arg *args, size_t n_args, bool uid)
{
	struct postino_mailbox_status st = { .size = sizeof(st) };
	struct imap_buf name, out;
	int ret;

	(void)cmd;
	(void)uid;
	if (n_args != 2 || args[1].type != IMAP_ARG_LIST ||
	    args[1].count == 0) {
		imap_tagged(s, "BAD", "STATUS needs a mailbox and items");
		return;
	}
	bool modseq = false;
	for (size_t i = 0; i < args[1].count; i++) {
		const struct imap_arg *a = &args[1].list[i];
		if (imap_arg_atom_is(a, "HIGHESTMODSEQ"))
			modseq = true;
		else if (!imap_arg_atom_is(a, "MESSAGES") &&
			 !imap_arg_atom_is(a, "RECENT") &&
			 !imap_arg_atom_is(a, "UIDNEXT") &&
			 !imap_arg_atom_is(a, "UIDVALIDITY") &&
			 !imap_arg_atom_is(a, "UNSEEN") &&
			 !imap_arg_atom_is(a, "DELETED") &&
			 !imap_arg_atom_is(a, "DELETED-STORAGE")) {
			imap_tagged(s, "BAD", "Unknown STATUS item");
			return;
		}
	}
	imap_buf_init(&name, 1024);
	if (!imap_mailbox_arg(s, &args[0], &name)) {
		imap_buf_free(&name);
		return;
	}
	ret = s->srv->host->mailbox->mailbox_status(s->srv->mod, s->account, name.data,
					   &st);
	if (ret < 0) {
		imap_buf_free(&name);
		imap_tagged(s, "NO", "%s", imap_mailbox_error(ret));
		return;
	}
	imap_buf_init(&out, 0);
	imap_buf_append_str(&out, "* STATUS ");
	imap_write_mailbox(&out, name.data, strlen(name.data));
	imap_buf_append_str(&out, " (");
	for (size_t i = 0; i < args[1].count; i++) {
		const struct imap_arg *a = &args[1].list[i];
		/* DELETED-STORAGE in octets: RFC 9208's unit for it
		 * (STORAGE in GETQUOTA is in KiB). */
		uint64_t v = imap_arg_atom_is(a, "MESSAGES") ? st.messages
			   : imap_arg_atom_is(a, "RECENT")   ? st.recent
			   : imap_arg_atom_is(a, "UIDNEXT")  ? st.uidnext
			   : imap_arg_atom_is(a, "UIDVALIDITY") ? st.uidvalidity
			   : imap_arg_atom_is(a, "HIGHESTMODSEQ")
							? st.highestmodseq
			   : imap_arg_atom_is(a, "DELETED") ? st.deleted
			   : imap_arg_atom_is(a, "DELETED-STORAGE")
							? st.deleted_storage
							: st.unseen;
		if (i > 0)
			imap_buf_append_char(&out, ' ');
		for (size_t k = 0; k < a->len; k++)
			imap_buf_append_char(&out, (char)toupper_ascii(a->str[k]));
		imap_buf_append_char(&out, ' ');
		imap_buf_append_u64(&out, v);
	}
	imap_buf_append_str(&out, ")\r\n");
	/* STATUS (HIGHESTMODSEQ) is a CONDSTORE enabling command (RFC
	 * 7162 3.1). */
	if (modseq)
		imap_condstore_enable(s);
	imap_write(s, out.data, out.len);
	imap_buf_free(&out);
	imap_buf_free(&name);
	imap_tagged(s, "OK", "Status completed");
}
