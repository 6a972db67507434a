/* FETCH and UID FETCH (RFC 3501 6.4.5). Responses stream: the command
 * pauses whenever the connection's output is over its high-water mark,
 * also in the middle of a literal, so FETCH 1:* of a huge mailbox, or
 * BODY[] asked a thousand times of a 50 MB message, holds at most one
 * chunk of it at a time. Each round also stops after about a megabyte
 * read from the store and yields the loop (a no-op on a worker thread)
 * before going on: HEADER.FIELDS items that read headers but write
 * nothing cannot hold the loop either. ENVELOPE and BODYSTRUCTURE come
 * from the summaries stored at delivery; BODY[section] reads only the
 * section's byte range from the store. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "imap.h"
#include "imap_date.h"
#include "imap_fetch_att.h"
#include "imap_flags.h"

#define FETCH_CHUNK 65536
/* HEADER.FIELDS filters the header in memory: bounded. */
#define FETCH_HEADER_MAX (1024 * 1024)
/* Bytes read from the store in one round before yielding the loop; a
 * look-up (a section's ranges, a summary) counts as FETCH_LOOKUP_COST
 * more, so items that find nothing still end a round. */
#define FETCH_ROUND_BYTES (1024 * 1024)
#define FETCH_LOOKUP_COST 1024

/* The items of one message's response, in order: the fixed ones first,
 * then bodies[i] as ITEM_BODIES + i, then the closing parenthesis. */
enum {
	ITEM_START,          /* "* n FETCH (" and every item without a
				literal */
	ITEM_RFC822,
	ITEM_RFC822_HEADER,
	ITEM_RFC822_TEXT,
	ITEM_BODIES,
};

struct imap_fetch_run {
	struct imap_fetch *att;
	uint32_t *indices;
	size_t count;
	size_t pos;     /* the message being written */
	size_t item;    /* its next item */
	struct postino_message_info info; /* of indices[pos], once started */
	bool first;     /* no item written yet (for the separating space) */
	/* A literal being written: bytes [lit_at, lit_end) of the message;
	 * lit_pad once a read failed (the length is promised: spaces). */
	uint64_t lit_at, lit_end;
	bool lit_pad;
	char *chunk;    /* FETCH_CHUNK bytes, for literals */
	uint64_t budget; /* bytes this round may still read */
	bool yielding;  /* a yield is in flight: the pump waits for it */
	uint32_t *seen; /* UIDs to mark \Seen after the responses */
	uint32_t *seen_index; /* and their view indices */
	size_t seen_count;
	bool set_seen;  /* a non-PEEK body item on a read-write mailbox */
	bool marked;    /* the current message's UID is in seen */
	bool flushed;   /* part of the current response is out */
	bool missing;   /* some message was expunged meanwhile */
	bool nomem;     /* a response could not be assembled */
	struct imap_buf line; /* the response being assembled */
};

void imap_fetch_run_free(struct imap_fetch_run **runp)
{
	struct imap_fetch_run *run = *runp;

	*runp = NULL;
	if (run == NULL)
		return;
	imap_fetch_free(&run->att);
	imap_buf_free(&run->line);
	free(run->indices);
	free(run->seen);
	free(run->seen_index);
	free(run->chunk);
	free(run);
}

static void put(struct imap_fetch_run *run, const void *data, size_t len)
{
	if (imap_buf_append(&run->line, data, len) < 0)
		run->nomem = true;
}

static void put_str(struct imap_fetch_run *run, const char *str)
{
	put(run, str, strlen(str));
}

static void put_u64(struct imap_fetch_run *run, unsigned long long v)
{
	if (imap_buf_append_u64(&run->line, v) < 0)
		run->nomem = true;
}

/* "{len}\r\n": a literal's announcement. */
static void put_literal_len(struct imap_fetch_run *run, uint64_t len)
{
	put_str(run, "{");
	put_u64(run, len);
	put_str(run, "}\r\n");
}

/* Hands the assembled part of the response to the connection. */
static void line_flush(struct imap_session *s, struct imap_fetch_run *run)
{
	if (!run->nomem)
		imap_write(s, run->line.data, run->line.len);
	imap_buf_clear(&run->line);
}

static void charge(struct imap_fetch_run *run, uint64_t n)
{
	run->budget -= run->budget < n ? run->budget : n;
}

/* Announces bytes [start, end) of the message as a literal; the pump
 * writes them chunk by chunk. */
static void literal_start(struct imap_session *s, struct imap_fetch_run *run,
			  uint64_t start, uint64_t end)
{
	uint64_t len = end > start ? end - start : 0;

	put_literal_len(run, len);
	line_flush(s, run);
	run->flushed = true;
	run->lit_at = start;
	run->lit_end = start + len;
	run->lit_pad = false;
}

/* Writes the next chunk of the literal in progress. */
static void literal_chunk(struct imap_session *s, struct imap_fetch_run *run)
{
	uint64_t left = run->lit_end - run->lit_at;
	size_t want = left < FETCH_CHUNK ? (size_t)left : FETCH_CHUNK;
	int64_t n = -EIO;

	if (!run->lit_pad)
		n = s->srv->host->mailbox->mailbox_read(s->mb,
					       run->indices[run->pos],
					       run->lit_at, run->chunk, want);
	if (n <= 0) {
		/* The length is promised: pad, and let the tagged reply
		 * say what happened. */
		if (!run->lit_pad)
			run->missing = true;
		run->lit_pad = true;
		memset(run->chunk, ' ', want);
		n = (int64_t)want;
	}
	imap_write(s, run->chunk, (size_t)n);
	run->lit_at += (uint64_t)n;
	charge(run, (uint64_t)n);
}

/* The byte range [start, end) of a body item, or has = false. */
static bool body_range(struct imap_session *s, uint32_t index,
		       const struct imap_fetch_body *b, uint64_t octets,
		       uint64_t *start_r, uint64_t *end_r)
{
	struct postino_section sec = { .size = sizeof(sec) };
	bool whole_msg = b->depth == 0;

	if (whole_msg && b->kind == IMAP_SECTION_WHOLE) {
		*start_r = 0;
		*end_r = octets;
		return true;
	}
	if (s->srv->host->mailbox->mailbox_section(s->mb, index, b->part, b->depth,
					  &sec) < 0)
		return false;
	switch (b->kind) {
	case IMAP_SECTION_WHOLE:
		*start_r = sec.body_start;
		*end_r = sec.body_end;
		return sec.has_body;
	case IMAP_SECTION_MIME:
		*start_r = sec.mime_start;
		*end_r = sec.mime_end;
		return sec.has_mime;
	case IMAP_SECTION_TEXT:
		*start_r = sec.text_start;
		*end_r = sec.text_end;
		return sec.has_text;
	case IMAP_SECTION_HEADER:
	case IMAP_SECTION_HEADER_FIELDS:
	case IMAP_SECTION_HEADER_FIELDS_NOT:
		*start_r = sec.header_start;
		*end_r = sec.header_end;
		return sec.has_header;
	}
	return false;
}

static void apply_partial(const struct imap_fetch_body *b, uint64_t *start,
			  uint64_t *end)
{
	if (!b->partial)
		return;
	uint64_t len = *end - *start;
	uint64_t from = b->origin < len ? b->origin : len;
	uint64_t n = len - from < b->length ? len - from : b->length;
	*start += from;
	*end = *start + n;
}

/* Whether message index was expunged (by another session, not yet
 * reported): its bytes are gone. */
static bool message_gone(struct imap_session *s, uint32_t index)
{
	char c;

	return s->srv->host->mailbox->mailbox_read(s->mb, index, 0, &c, 1) ==
	       -ENOENT;
}

/* The current message turned out expunged before any of its response
 * went out: none is sent (RFC 2180 4.1.3: the tagged NO says so; made-up
 * NIL or "" would break RFC 3501 9's grammar), and it is not marked
 * \Seen. */
static void fetch_drop(struct imap_fetch_run *run)
{
	imap_buf_clear(&run->line);
	if (run->marked)
		run->seen_count--;
	run->marked = false;
	run->missing = true;
	run->pos++;
	run->item = ITEM_START;
}

/* One BODY[...] (or RFC822*) item: label, then the literal. false when
 * the message is gone and its response is dropped instead. */
static bool fetch_body(struct imap_session *s, struct imap_fetch_run *run,
		       uint32_t index, uint64_t octets,
		       const struct imap_fetch_body *b, const char *label)
{
	uint64_t start = 0, end = 0;

	if (label != NULL)
		put_str(run, label);
	else if (imap_fetch_body_label(b, &run->line) < 0)
		run->nomem = true;
	put_str(run, " ");

	charge(run, FETCH_LOOKUP_COST);
	bool has = body_range(s, index, b, octets, &start, &end);
	/* A literal promises its length: make sure the bytes are there
	 * while the response can still be left out. */
	if ((!has || b->kind == IMAP_SECTION_WHOLE) && !run->flushed &&
	    message_gone(s, index)) {
		fetch_drop(run);
		return false;
	}
	if (!has) {
		/* A part the message does not have is empty (RFC 3501
		 * 6.4.5 lets the server choose; clients handle ""). */
		put_str(run, "\"\"");
		return true;
	}
	if (b->kind != IMAP_SECTION_HEADER_FIELDS &&
	    b->kind != IMAP_SECTION_HEADER_FIELDS_NOT) {
		apply_partial(b, &start, &end);
		literal_start(s, run, start, end);
		return true;
	}
	size_t len = end - start < FETCH_HEADER_MAX ? (size_t)(end - start)
						    : FETCH_HEADER_MAX;
	char *hdr = malloc(len + 1), *out = malloc(len + 3);
	size_t out_len = 0;
	int64_t n = hdr != NULL && out != NULL
			    ? s->srv->host->mailbox->mailbox_read(s->mb, index, start,
							 hdr, len)
			    : -ENOMEM;
	charge(run, len);
	if (n == -ENOENT && !run->flushed) {
		free(hdr);
		free(out);
		fetch_drop(run);
		return false;
	}
	if (n < 0 ||
	    imap_header_filter(hdr, (size_t)n, b->sorted, b->n_fields,
			       b->kind == IMAP_SECTION_HEADER_FIELDS_NOT, out,
			       len + 3, &out_len) < 0) {
		run->missing = true;
		out_len = 0;
	}
	uint64_t from = 0, to = out_len;
	apply_partial(b, &from, &to);
	put_literal_len(run, to - from);
	if (to > from)
		put(run, out + from, (size_t)(to - from));
	free(hdr);
	free(out);
	return true;
}

/* ENVELOPE, BODY or BODYSTRUCTURE from the stored summary. false when
 * there is none to write: the message was expunged (its summary goes
 * with its bytes). */
static bool fetch_mime(struct imap_session *s, struct imap_fetch_run *run,
		       uint32_t index, enum postino_mime_summary which,
		       const char *label)
{
	char small[4096], *buf = small;
	int64_t n = s->srv->host->mailbox->mailbox_mime(s->mb, index, which, small,
					       sizeof small);

	if (n >= (int64_t)sizeof small) {
		buf = malloc((size_t)n + 1);
		n = buf == NULL ? -ENOMEM
				: s->srv->host->mailbox->mailbox_mime(s->mb, index, which,
							     buf, (size_t)n + 1);
	}
	charge(run, FETCH_LOOKUP_COST + (n > 0 ? (uint64_t)n : 0));
	if (n == -ENOMEM)
		run->nomem = true;
	if (n >= 0) {
		put_str(run, label);
		put_str(run, " ");
		put(run, buf, (size_t)n);
	}
	if (buf != small)
		free(buf);
	return n >= 0;
}

static void sep(struct imap_fetch_run *run)
{
	if (!run->first)
		put_str(run, " ");
	run->first = false;
}

/* "* n FETCH (" and the items that need no literal. false when the
 * message is gone: nothing written, the run moved on. */
static bool fetch_start(struct imap_session *s, struct imap_fetch_run *run,
			uint32_t index)
{
	const struct imap_fetch *att = run->att;
	struct postino_message_info *info = &run->info;
	bool marks_seen = false;

	run->marked = run->flushed = false;
	if (imap_message(s, index, info) < 0) {
		run->pos++; /* not in the view: no response at all */
		run->item = ITEM_START;
		return false;
	}
	if (run->set_seen && !(info->flags & POSTINO_FLAG_SEEN)) {
		marks_seen = run->marked = true;
		info->flags |= POSTINO_FLAG_SEEN;
		run->seen_index[run->seen_count] = index;
		run->seen[run->seen_count++] = info->uid;
	}
	run->first = true;
	put_str(run, "* ");
	put_u64(run, index + 1);
	put_str(run, " FETCH (");
	/* RFC 7162 3.1: a FETCH that sets \Seen says the UID under
	 * CONDSTORE (the MODSEQ follows once the store is done). */
	if ((att->flags & IMAP_FETCH_UID) || (marks_seen && s->condstore)) {
		sep(run);
		put_str(run, "UID ");
		put_u64(run, info->uid);
	}
	if ((att->flags & IMAP_FETCH_FLAGS) || marks_seen) {
		sep(run);
		put_str(run, "FLAGS ");
		if (imap_flags_format(info->flags, info->keywords,
				      &run->line) < 0)
			run->nomem = true;
	}
	if (att->flags & IMAP_FETCH_MODSEQ) {
		sep(run);
		put_str(run, "MODSEQ (");
		put_u64(run, info->modseq);
		put_str(run, ")");
	}
	if (att->flags & IMAP_FETCH_INTERNALDATE) {
		char date[IMAP_INTERNALDATE_SIZE];
		if (imap_format_internaldate(info->internaldate, date) == 0) {
			sep(run);
			put_str(run, "INTERNALDATE ");
			put_str(run, date);
		}
	}
	if (att->flags & IMAP_FETCH_RFC822_SIZE) {
		sep(run);
		put_str(run, "RFC822.SIZE ");
		put_u64(run, info->octets);
	}
	static const struct {
		unsigned flag;
		enum postino_mime_summary which;
		const char *label;
	} summaries[] = {
		{ IMAP_FETCH_ENVELOPE, POSTINO_MIME_ENVELOPE, "ENVELOPE" },
		{ IMAP_FETCH_BODY, POSTINO_MIME_BODY, "BODY" },
		{ IMAP_FETCH_BODYSTRUCTURE, POSTINO_MIME_BODYSTRUCTURE,
		  "BODYSTRUCTURE" },
	};
	for (size_t i = 0; i < sizeof summaries / sizeof summaries[0]; i++) {
		if (!(att->flags & summaries[i].flag))
			continue;
		sep(run);
		if (!fetch_mime(s, run, index, summaries[i].which,
				summaries[i].label) && !run->nomem) {
			fetch_drop(run);
			return false;
		}
	}
	return true;
}

/* Writes the current message's next item (which may start a literal),
 * or its end; then moves on. */
static void fetch_item(struct imap_session *s, struct imap_fetch_run *run)
{
	static const struct imap_fetch_body rfc822 = {
		.kind = IMAP_SECTION_WHOLE,
	}, rfc822_header = {
		.kind = IMAP_SECTION_HEADER, .peek = true,
	}, rfc822_text = {
		.kind = IMAP_SECTION_TEXT,
	};
	static const struct {
		unsigned flag;
		const struct imap_fetch_body *body;
		const char *label;
	} fixed[] = {
		[ITEM_RFC822] = { IMAP_FETCH_RFC822, &rfc822, "RFC822" },
		[ITEM_RFC822_HEADER] = { IMAP_FETCH_RFC822_HEADER,
					 &rfc822_header, "RFC822.HEADER" },
		[ITEM_RFC822_TEXT] = { IMAP_FETCH_RFC822_TEXT, &rfc822_text,
				       "RFC822.TEXT" },
	};
	const struct imap_fetch *att = run->att;
	uint32_t index = run->indices[run->pos];
	size_t item = run->item++;

	if (item == ITEM_START) {
		(void)fetch_start(s, run, index);
	} else if (item < ITEM_BODIES) {
		if (att->flags & fixed[item].flag) {
			sep(run);
			(void)fetch_body(s, run, index, run->info.octets,
					 fixed[item].body, fixed[item].label);
		}
	} else if (item - ITEM_BODIES < att->n_bodies) {
		sep(run);
		(void)fetch_body(s, run, index, run->info.octets,
				 &att->bodies[item - ITEM_BODIES], NULL);
	} else {
		put_str(run, ")\r\n");
		line_flush(s, run);
		run->pos++;
		run->item = ITEM_START;
	}
}

static void fetch_answer(struct imap_session *s, bool missing)
{
	if (missing)
		imap_tagged(s, "NO", "[EXPUNGEISSUED] Some messages were "
				     "expunged meanwhile");
	else
		imap_tagged(s, "OK", "Fetch completed");
}

/* The \Seen store of a FETCH: its session, and whether messages went
 * missing (the answer waits for the store). */
struct seen_op {
	struct imap_session *s;
	bool missing;
	uint32_t *indices; /* of the messages marked */
	size_t count;
};

static void seen_done(void *data, int status)
{
	struct seen_op *op = data;
	struct imap_session *s = op->s;
	bool missing = op->missing;

	if (imap_release(s))
		goto out;
	/* Under CONDSTORE, the new modseq of each message marked: the
	 * FETCH response went out before the store. */
	for (size_t i = 0; status == 0 && s->condstore && i < op->count; i++)
		imap_fetch_flags_response(s, op->indices[i], false, true);
	if (status < 0)
		imap_tagged(s, "NO", "[SERVERBUG] Cannot set \\Seen");
	else
		fetch_answer(s, missing);
out:
	free(op->indices);
	free(op);
}

static void fetch_finish(struct imap_session *s)
{
	struct imap_fetch_run *run = s->fetch;
	bool missing = run->missing;

	if (run->seen_count > 0) {
		struct seen_op *op = malloc(sizeof(*op));
		int ret = -ENOMEM;
		if (op != NULL) {
			*op = (struct seen_op){ s, missing, run->seen_index,
						run->seen_count };
			run->seen_index = NULL;
			s->pending++;
			ret = s->srv->host->mailbox->mailbox_store(
				s->mb, run->seen, run->seen_count,
				POSTINO_STORE_ADD, POSTINO_FLAG_SEEN, NULL,
				seen_done, op);
			if (ret < 0) {
				s->pending--;
				free(op->indices);
				free(op);
			}
		}
		imap_fetch_run_free(&s->fetch);
		if (ret < 0)
			imap_tagged(s, "NO", "[SERVERBUG] Cannot set \\Seen");
		return;
	}
	imap_fetch_run_free(&s->fetch);
	fetch_answer(s, missing);
}

static void yield_work(void *data)
{
	(void)data; /* the point is the trip: other clients meanwhile */
}

static void yield_done(void *data, int status)
{
	struct imap_session *s = data;

	(void)status; /* cancelled at shutdown: go on all the same */
	if (imap_release(s))
		return;
	if (s->fetch != NULL) {
		s->fetch->yielding = false;
		imap_fetch_pump(s);
	}
}

void imap_fetch_pump(struct imap_session *s)
{
	struct imap_fetch_run *run = s->fetch;

	if (run->yielding)
		return; /* on_writable meanwhile: yield_done pumps */
	s->blocked = false;
	run->budget = FETCH_ROUND_BYTES;
	for (;;) {
		while (!s->blocked && s->conn != NULL && !run->nomem &&
		       run->budget > 0 && run->pos < run->count) {
			if (run->lit_at < run->lit_end)
				literal_chunk(s, run);
			else
				fetch_item(s, run);
		}
		if (run->nomem || s->conn == NULL || s->blocked ||
		    run->pos == run->count || run->budget > 0)
			break;
		/* Read enough for one round: let others have the loop. */
		s->pending++;
		if (s->srv->host->core->work_submit(s->srv->mod, yield_work,
					      yield_done, s) == 0) {
			run->yielding = true;
			return;
		}
		s->pending--;
		run->budget = FETCH_ROUND_BYTES; /* cannot yield: go on */
	}
	if (run->nomem) {
		/* Part of a response may be out already: the session cannot
		 * go on in step with the client. */
		imap_printf(s, "\r\n* BYE Out of memory\r\n");
		if (s->conn != NULL)
			s->srv->host->proto->conn_close(s->conn, "out of memory");
		return;
	}
	if (run->pos == run->count)
		fetch_finish(s);
}

static bool wants_seen(const struct imap_fetch *att)
{
	if (att->flags & (IMAP_FETCH_RFC822 | IMAP_FETCH_RFC822_TEXT))
		return true;
	for (size_t i = 0; i < att->n_bodies; i++)
		if (!att->bodies[i].peek)
			return true;
	return false;
}

/* Keeps the messages whose modseq is above since. */
static void changed_only(struct imap_session *s, struct imap_fetch_run *run,
			 uint64_t since)
{
	size_t kept = 0;

	for (size_t i = 0; i < run->count; i++) {
		struct postino_message_info info;
		if (imap_message(s, run->indices[i], &info) == 0 &&
		    info.modseq > since)
			run->indices[kept++] = run->indices[i];
	}
	run->count = kept;
}

/* UID FETCH's VANISHED modifier: the UIDs of the command's set expunged
 * since the modseq, before the FETCH responses. false with BAD sent. */
static bool fetch_vanished(struct imap_session *s, const struct imap_arg *a,
			   uint64_t since)
{
	struct imap_seqset *raw = NULL, *set = NULL;
	int ret;

	if (a->type == IMAP_ARG_ATOM && a->len == 1 && a->str[0] == '$') {
		ret = s->saved_count > 0
			? imap_seqset_from_uids(s->saved, s->saved_count, &set)
			: 0;
		if (ret == 0 && set == NULL)
			return true; /* nothing saved: nothing vanished */
	} else {
		/* "*" is the last UID the client may know of. */
		struct postino_message_info info;
		uint32_t max = 0;
		if (s->exists > 0 && imap_message(s, s->exists - 1, &info) == 0)
			max = info.uid;
		ret = imap_seqset_parse(a->str, a->len, &raw);
		if (ret == 0)
			ret = imap_seqset_resolve(raw, max, IMAP_SEQSET_UID,
						  &set);
		imap_seqset_free(&raw);
	}
	if (ret < 0) {
		imap_tagged(s, ret == -ENOMEM ? "NO" : "BAD",
			    "Invalid UID set");
		return false;
	}
	imap_vanished_earlier(s, since, set);
	imap_seqset_free(&set);
	return true;
}

void imap_cmd_fetch(struct imap_session *s, const struct imap_command *cmd,
		    const struct imap_arg *args, size_t n_args, bool uid)
{
	struct imap_fetch_run *run;
	const char *error = NULL;

	(void)cmd;
	uint64_t changedsince = 0;
	bool changed = false, vanished = false;
	if (n_args == 3 && args[2].type == IMAP_ARG_LIST) {
		/* RFC 7162 3.1.4.1, 3.2.6: (CHANGEDSINCE n [VANISHED]) */
		const struct imap_arg *m = args[2].list;
		for (size_t i = 0; i < args[2].count; i++) {
			if (imap_arg_atom_is(&m[i], "CHANGEDSINCE") &&
			    i + 1 < args[2].count && !changed &&
			    imap_arg_modseq(&m[i + 1], true, &changedsince)) {
				changed = true;
				i++;
			} else if (imap_arg_atom_is(&m[i], "VANISHED") &&
				   !vanished) {
				vanished = true;
			} else {
				imap_tagged(s, "BAD", "Invalid FETCH modifier");
				return;
			}
		}
		if (vanished && (!uid || !changed || !s->qresync)) {
			imap_tagged(s, "BAD", "VANISHED needs UID FETCH, "
					      "CHANGEDSINCE and QRESYNC");
			return;
		}
	} else if (n_args != 2) {
		imap_tagged(s, "BAD", "FETCH needs a set and items");
		return;
	}
	/* CHANGEDSINCE is about the mailbox now: the view first takes in
	 * what others changed since its last sync (reporting it; UID FETCH
	 * may report expunges, so its VANISHED (EARLIER) below is as of
	 * now too). */
	if (changed)
		imap_sync(s, uid);
	run = calloc(1, sizeof(*run));
	if (run == NULL || (run->chunk = malloc(FETCH_CHUNK)) == NULL) {
		free(run);
		imap_tagged(s, "NO", "Out of memory");
		return;
	}
	imap_buf_init(&run->line, 0);
	int ret = imap_fetch_parse(&args[1], &run->att, &error);
	if (ret < 0) {
		free(run->chunk);
		free(run);
		imap_tagged(s, ret == -ENOMEM ? "NO" : "BAD", "%s",
			    error != NULL ? error : "Invalid FETCH items");
		return;
	}
	if (!imap_set_indices(s, &args[0], uid, &run->indices, &run->count)) {
		imap_fetch_run_free(&run);
		return;
	}
	if (uid)
		run->att->flags |= IMAP_FETCH_UID;
	/* CHANGEDSINCE and MODSEQ are CONDSTORE enabling (RFC 7162 3.1);
	 * CHANGEDSINCE shows MODSEQ, of the messages changed since only. */
	if (changed)
		run->att->flags |= IMAP_FETCH_MODSEQ;
	if (run->att->flags & IMAP_FETCH_MODSEQ)
		imap_condstore_enable(s);
	if (changed)
		changed_only(s, run, changedsince);
	if (vanished && !fetch_vanished(s, &args[0], changedsince)) {
		imap_fetch_run_free(&run);
		return;
	}
	run->set_seen = !s->readonly && wants_seen(run->att);
	if (run->set_seen) {
		run->seen = malloc((run->count + 1) * sizeof(*run->seen));
		run->seen_index = malloc((run->count + 1) *
					 sizeof(*run->seen_index));
		if (run->seen == NULL || run->seen_index == NULL) {
			imap_fetch_run_free(&run);
			imap_tagged(s, "NO", "Out of memory");
			return;
		}
	}
	s->fetch = run;
	imap_busy(s);
	imap_fetch_pump(s);
}
