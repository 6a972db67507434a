/* STORE (RFC 3501 6.4.6), COPY (6.4.7, UIDPLUS COPYUID), MOVE (RFC 6851),
 * EXPUNGE / UID EXPUNGE (6.4.3, RFC 4315), CLOSE and UNSELECT. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap.h"
#include "imap_flags.h"
#include "imap_seqset.h"

struct store_op {
	struct imap_session *s;
	uint32_t *indices;
	uint32_t *uids;  /* of indices[], in step */
	size_t count;
	bool silent;
};

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The tagged OK: with [MODIFIED set] (RFC 7162 3.1.3) of the messages
 * the UNCHANGEDSINCE test kept as they were, as sequence numbers, or
 * UIDs for UID STORE. */
static void store_answer(struct store_op *op, const uint32_t *modified,
			 size_t n_modified)
{
	struct imap_session *s = op->s;
	struct imap_seqset *set = NULL;
	struct imap_buf out;

	if (n_modified == 0) {
		imap_tagged(s, "OK", "Store completed");
		return;
	}
	uint32_t *nums = malloc(n_modified * sizeof(*nums));
	size_t n = 0;
	for (size_t i = 0; nums != NULL && i < op->count; i++) {
		if (bsearch(&op->uids[i], modified, n_modified,
			    sizeof(*modified), cmp_u32) != NULL)
			nums[n++] = s->tag_uid ? op->uids[i]
					       : op->indices[i] + 1;
	}
	imap_buf_init(&out, 0);
	if (nums == NULL || n == 0 ||
	    imap_seqset_from_uids(nums, n, &set) < 0 ||
	    imap_seqset_format(set, &out) < 0 || out.data == NULL)
		imap_tagged(s, "NO", "[SERVERBUG] Cannot store flags");
	else
		imap_tagged(s, "OK", "[MODIFIED %s] Conditional STORE failed",
			    out.data);
	imap_buf_free(&out);
	imap_seqset_free(&set);
	free(nums);
}

static void store_done_if(void *data, int status, const uint32_t *modified,
			  size_t n_modified)
{
	struct store_op *op = data;
	struct imap_session *s = op->s;
	uint32_t *sorted = NULL;

	if (imap_release(s))
		goto out;
	if (status < 0) {
		imap_tagged(s, "NO", "[SERVERBUG] Cannot store flags");
		goto out;
	}
	if (n_modified > 0) {
		sorted = malloc(n_modified * sizeof(*sorted));
		if (sorted == NULL) {
			imap_tagged(s, "NO", "Out of memory");
			goto out;
		}
		memcpy(sorted, modified, n_modified * sizeof(*sorted));
		qsort(sorted, n_modified, sizeof(*sorted), cmp_u32);
	}
	/* A new keyword changes the mailbox's flags: FLAGS first, also
	 * for .SILENT (RFC 3501 7.2.6). */
	for (size_t i = 0; i < op->count; i++) {
		struct postino_message_info info;
		if (imap_message(s, op->indices[i], &info) == 0)
			imap_keywords_seen(s, info.keywords);
	}
	/* The messages stored (not those the test kept): their flags, and
	 * under CONDSTORE their new MODSEQ even for .SILENT (RFC 7162
	 * 3.1.3, example 3). */
	for (size_t i = 0; i < op->count; i++) {
		if (sorted != NULL &&
		    bsearch(&op->uids[i], sorted, n_modified, sizeof(*sorted),
			    cmp_u32) != NULL)
			continue;
		if (!op->silent || s->condstore)
			imap_fetch_flags_response(s, op->indices[i],
						  !op->silent, s->tag_uid);
	}
	store_answer(op, sorted, n_modified);
out:
	free(sorted);
	free(op->indices);
	free(op->uids);
	free(op);
}

static void store_done(void *data, int status)
{
	store_done_if(data, status, NULL, 0);
}

void imap_cmd_store(struct imap_session *s, const struct imap_command *cmd,
		    const struct imap_arg *args, size_t n_args, bool uid)
{
	enum postino_store_mode mode;
	const struct imap_arg *flags;
	size_t n_flags, a = 1;
	unsigned bits;
	struct imap_buf kw;
	const char *item, *error = NULL;
	uint64_t unchangedsince = UINT64_MAX;

	(void)cmd;
	/* RFC 7162 3.1.3: STORE set (UNCHANGEDSINCE n) item flags */
	if (n_args >= 2 && args[1].type == IMAP_ARG_LIST) {
		if (args[1].count != 2 ||
		    !imap_arg_atom_is(&args[1].list[0], "UNCHANGEDSINCE") ||
		    !imap_arg_modseq(&args[1].list[1], true,
				     &unchangedsince)) {
			imap_tagged(s, "BAD", "Invalid STORE modifier");
			return;
		}
		a = 2;
	}
	if (n_args < a + 2 || args[a].type != IMAP_ARG_ATOM) {
		imap_tagged(s, "BAD", "STORE needs a set, an item and flags");
		return;
	}
	item = args[a].str;
	mode = item[0] == '+' ? POSTINO_STORE_ADD
	     : item[0] == '-' ? POSTINO_STORE_REMOVE : POSTINO_STORE_REPLACE;
	if (mode != POSTINO_STORE_REPLACE)
		item++;
	bool silent = strcasecmp(item, "FLAGS.SILENT") == 0;
	if (!silent && strcasecmp(item, "FLAGS") != 0) {
		imap_tagged(s, "BAD", "Unknown STORE item");
		return;
	}
	flags = &args[a + 1];
	n_flags = n_args - a - 1;
	imap_buf_init(&kw, 1000);
	if (imap_flags_parse(flags, n_flags, &bits, &kw, &error) < 0 ||
	    imap_buf_append(&kw, "", 0) < 0 || kw.data == NULL) {
		imap_buf_free(&kw);
		imap_tagged(s, "BAD", "%s", error != NULL ? error
							  : "Invalid flags");
		return;
	}
	if (s->readonly) {
		imap_buf_free(&kw);
		imap_tagged(s, "NO", "[READ-ONLY] Mailbox is read-only");
		return;
	}
	struct store_op *op = calloc(1, sizeof(*op));
	if (op == NULL ||
	    !imap_set_indices(s, &args[0], uid, &op->indices, &op->count)) {
		imap_buf_free(&kw);
		if (op == NULL)
			imap_tagged(s, "NO", "Out of memory");
		free(op);
		return;
	}
	/* UNCHANGEDSINCE is a CONDSTORE enabling command (RFC 7162 3.1). */
	if (unchangedsince != UINT64_MAX)
		imap_condstore_enable(s);
	op->s = s;
	op->silent = silent;
	op->uids = malloc((op->count + 1) * sizeof(*op->uids));
	for (size_t i = 0; op->uids != NULL && i < op->count; i++) {
		struct postino_message_info info;
		imap_message(s, op->indices[i], &info);
		op->uids[i] = info.uid;
	}
	if (op->uids == NULL || op->count == 0) {
		bool nomem = op->uids == NULL;
		imap_buf_free(&kw);
		free(op->indices);
		free(op->uids);
		free(op);
		if (nomem)
			imap_tagged(s, "NO", "Out of memory");
		else
			imap_tagged(s, "OK", "Store completed");
		return;
	}
	const struct postino_host_mailbox *mbx = s->srv->host->mailbox;
	int ret;
	s->pending++;
	imap_busy(s);
	if (unchangedsince != UINT64_MAX)
		ret = mbx->mailbox_store_unchangedsince(
			s->mb, op->uids, op->count, mode, bits, kw.data,
			unchangedsince, store_done_if, op);
	else
		ret = mbx->mailbox_store(s->mb, op->uids, op->count, mode,
					 bits, kw.data, store_done, op);
	imap_buf_free(&kw);
	if (ret < 0) {
		s->pending--;
		free(op->indices);
		free(op->uids);
		free(op);
		imap_tagged(s, "NO", "[SERVERBUG] Cannot store flags");
	}
}

/* ---- COPY and MOVE ------------------------------------------------------- */

static void copy_done(void *data, int status, uint32_t uidvalidity,
		      const uint32_t *src, const uint32_t *dst, size_t count)
{
	struct imap_session *s = data;
	bool move = strcmp(s->running->name, "MOVE") == 0;

	if (imap_release(s))
		return;
	if (status == -ENOENT) {
		imap_tagged(s, "NO", "[TRYCREATE] Mailbox does not exist");
		return;
	}
	if (status == -EDQUOT) {
		imap_tagged(s, "NO", IMAP_OVERQUOTA);
		return;
	}
	if (status < 0) {
		imap_tagged(s, "NO", "[SERVERBUG] Cannot %s messages",
			    move ? "move" : "copy");
		return;
	}
	struct imap_buf a, b;
	imap_buf_init(&a, 0);
	imap_buf_init(&b, 0);
	if (count > 0) {
		imap_uids_format(src, count, &a);
		imap_uids_format(dst, count, &b);
	}
	if (move) {
		if (count > 0)
			imap_printf(s, "* OK [COPYUID %u %s %s] Moved\r\n",
				    uidvalidity, a.data, b.data);
		imap_tagged(s, "OK", "Move completed");
	} else if (count > 0) {
		imap_tagged(s, "OK", "[COPYUID %u %s %s] Copy completed",
			    uidvalidity, a.data, b.data);
	} else {
		imap_tagged(s, "OK", "Copy completed");
	}
	imap_buf_free(&a);
	imap_buf_free(&b);
}

void imap_cmd_copy(struct imap_session *s, const struct imap_command *cmd,
		   const struct imap_arg *args, size_t n_args, bool uid)
{
	/* cmd->name is "UID" for UID MOVE: the table entry has the verb. */
	bool move = strcmp(s->running->name, "MOVE") == 0;
	struct imap_buf dest;
	uint32_t *idx;
	size_t n;

	if (n_args != 2) {
		imap_tagged(s, "BAD", "%s needs a set and a mailbox",
			    s->running->name);
		return;
	}
	if (move && s->readonly) {
		imap_tagged(s, "NO", "[READ-ONLY] Mailbox is read-only");
		return;
	}
	imap_buf_init(&dest, 1024);
	if (!imap_mailbox_arg(s, &args[1], &dest)) {
		imap_buf_free(&dest);
		return;
	}
	if (!imap_set_indices(s, &args[0], uid, &idx, &n)) {
		imap_buf_free(&dest);
		return;
	}
	uint32_t *uids = malloc((n + 1) * sizeof(*uids));
	for (size_t i = 0; uids != NULL && i < n; i++) {
		struct postino_message_info info;
		imap_message(s, idx[i], &info);
		uids[i] = info.uid;
	}
	free(idx);
	if (uids == NULL) {
		imap_buf_free(&dest);
		imap_tagged(s, "NO", "Out of memory");
		return;
	}
	s->pending++;
	imap_busy(s);
	int ret = s->srv->host->mailbox->mailbox_copy(s->mb, uids, n, dest.data, move,
					     copy_done, s);
	free(uids);
	imap_buf_free(&dest);
	if (ret < 0) {
		s->pending--;
		imap_tagged(s, "NO", "[SERVERBUG] Cannot %s messages",
			    move ? "move" : "copy");
	}
}

/* ---- EXPUNGE, CLOSE, UNSELECT -------------------------------------------- */

static void expunge_done(void *data, int status)
{
	struct imap_session *s = data;

	if (imap_release(s))
		return;
	if (status < 0) {
		imap_tagged(s, "NO", "[SERVERBUG] Cannot expunge");
		return;
	}
	if (strcmp(s->running->name, "CLOSE") == 0) {
		imap_unselect(s);
		imap_tagged(s, "OK", "Close completed");
		return;
	}
	s->dirty = true;
	/* Under CONDSTORE the tagged OK says the HIGHESTMODSEQ after the
	 * expunges (RFC 7162 3.2.7, 3.2.9): sync first, then read it. */
	if (s->condstore) {
		imap_sync(s, true);
		imap_tagged(s, "OK", "[HIGHESTMODSEQ %llu] Expunge completed",
			    (unsigned long long)s->srv->host->mailbox->
				    mailbox_highestmodseq(s->mb));
		return;
	}
	imap_tagged(s, "OK", "Expunge completed");
}

/* Expunges the \Deleted messages (of set, when not NULL): those that
 * have the flag now, so the view first takes in what other sessions
 * changed since it last looked (a \Deleted another session took off
 * must keep its message). EXPUNGE reports what the sync finds; CLOSE
 * sends no untagged EXPUNGE (RFC 3501 6.4.2), its view goes anyway. */
static void expunge_deleted(struct imap_session *s,
			    const struct imap_seqset *set)
{
	if (strcmp(s->running->name, "CLOSE") == 0) {
		if (s->srv->host->mailbox->mailbox_sync(s->mb, 1, NULL, NULL,
							NULL) == 0)
			s->exists = imap_count(s);
	} else {
		imap_sync(s, true);
	}
	uint32_t *uids = malloc((s->exists + 1) * sizeof(*uids));
	size_t n = 0;

	if (uids == NULL) {
		imap_tagged(s, "NO", "Out of memory");
		return;
	}
	for (uint32_t i = 0; i < s->exists; i++) {
		struct postino_message_info info;
		if (imap_message(s, i, &info) == 0 &&
		    (info.flags & POSTINO_FLAG_DELETED) &&
		    (set == NULL || imap_seqset_contains(set, info.uid)))
			uids[n++] = info.uid;
	}
	s->pending++;
	imap_busy(s);
	int ret = s->srv->host->mailbox->mailbox_expunge(s->mb, uids, n, expunge_done,
						s);
	free(uids);
	if (ret < 0) {
		s->pending--;
		imap_tagged(s, "NO", "[SERVERBUG] Cannot expunge");
	}
}

void imap_cmd_expunge(struct imap_session *s, const struct imap_command *cmd,
		      const struct imap_arg *args, size_t n_args, bool uid)
{
	struct imap_seqset *raw = NULL, *set = NULL;

	(void)cmd;
	if (n_args != (uid ? 1u : 0u)) {
		imap_tagged(s, "BAD", uid ? "UID EXPUNGE needs a UID set"
					  : "EXPUNGE takes no arguments");
		return;
	}
	if (s->readonly) {
		imap_tagged(s, "NO", "[READ-ONLY] Mailbox is read-only");
		return;
	}
	if (uid && args[0].type == IMAP_ARG_ATOM && args[0].len == 1 &&
	    args[0].str[0] == '$') {
		/* RFC 5182: the saved result (empty: nothing goes). */
		if (imap_seqset_from_uids(s->saved, s->saved_count,
					  &set) < 0) {
			imap_tagged(s, "NO", "Out of memory");
			return;
		}
	} else if (uid) {
		uint32_t max = 0;
		struct postino_message_info info;
		if (s->exists > 0 && imap_message(s, s->exists - 1, &info) == 0)
			max = info.uid;
		if (args[0].type != IMAP_ARG_ATOM ||
		    imap_seqset_parse(args[0].str, args[0].len, &raw) < 0 ||
		    imap_seqset_resolve(raw, max, IMAP_SEQSET_UID, &set) < 0) {
			imap_seqset_free(&raw);
			imap_tagged(s, "BAD", "Invalid UID set");
			return;
		}
		imap_seqset_free(&raw);
	}
	expunge_deleted(s, set);
	imap_seqset_free(&set);
}

void imap_cmd_close(struct imap_session *s, const struct imap_command *cmd,
		    const struct imap_arg *args, size_t n_args, bool uid)
{
	(void)args;
	(void)uid;
	if (n_args != 0) {
		imap_tagged(s, "BAD", "%s takes no arguments", cmd->name);
		return;
	}
	/* CLOSE expunges silently (RFC 3501 6.4.2); UNSELECT does not. */
	if (strcmp(cmd->name, "CLOSE") == 0 && !s->readonly) {
		expunge_deleted(s, NULL);
		return;
	}
	imap_unselect(s);
	imap_tagged(s, "OK", "%s completed",
		    strcmp(cmd->name, "CLOSE") == 0 ? "Close" : "Unselect");
}
