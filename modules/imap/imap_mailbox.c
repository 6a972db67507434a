/* The selected mailbox as this session shows it: names on the wire
 * (mUTF-7), sequence numbers over the host's view, and the untagged
 * responses that keep the client's view in step with other sessions
 * and deliveries. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "imap.h"
#include "imap_mutf7.h"
#include "imap_flags.h"
#include "imap_seqset.h"

/* Whether UTF-8 name[0..len) has a control character (C0, DEL or C1),
 * which modified UTF-7 can encode but no mailbox name may hold. */
static bool has_control(const char *name, size_t len)
{
	const unsigned char *p = (const unsigned char *)name;

	for (size_t i = 0; i < len; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f ||
		    (p[i] == 0xc2 && i + 1 < len && p[i + 1] >= 0x80 &&
		     p[i + 1] <= 0x9f))
			return true;
	}
	return false;
}

int imap_mutf7_name(const char *str, size_t len, struct imap_buf *out)
{
	size_t start = out->len;
	int ret;

	if (len == 0 || memchr(str, '\0', len) != NULL)
		return -EINVAL;
	ret = imap_mutf7_to_utf8(str, len, out);
	if (ret == 0 && has_control(out->data + start, out->len - start))
		ret = -EINVAL;
	if (ret == 0)
		ret = imap_buf_append(out, "", 0);
	if (ret == 0 && out->data == NULL)
		ret = -EINVAL;
	return ret;
}

const char *imap_mailbox_error(int ret)
{
	switch (ret) {
	case -ENOENT:
		return "[NONEXISTENT] Mailbox does not exist";
	case -EINVAL:
		return "[CANNOT] Invalid mailbox name";
	default:
		return "[SERVERBUG] Cannot open the mailbox";
	}
}

bool imap_mailbox_arg(struct imap_session *s, const struct imap_arg *arg,
		      struct imap_buf *out)
{
	const char *str;
	size_t len;

	if (!imap_arg_astring(arg, &str, &len) || len == 0 ||
	    memchr(str, '\0', len) != NULL) {
		imap_tagged(s, "BAD", "Invalid mailbox name");
		return false;
	}
	if (imap_mutf7_name(str, len, out) < 0) {
		imap_tagged(s, "NO", "Invalid mailbox name (modified UTF-7)");
		return false;
	}
	return true;
}

uint32_t imap_count(struct imap_session *s)
{
	return s->mb != NULL ? s->srv->host->mailbox->mailbox_count(s->mb) : 0;
}

int imap_message(struct imap_session *s, uint32_t index,
		 struct postino_message_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return s->srv->host->mailbox->mailbox_message(s->mb, index, info);
}

void imap_unselect(struct imap_session *s)
{
	if (s->mb != NULL)
		s->srv->host->mailbox->mailbox_close(&s->mb);
	imap_keywords_free(&s->keywords);
	imap_saved_reset(s);
	free(s->mailbox_name);
	s->mailbox_name = NULL;
	s->exists = 0;
	s->recent = 0;
	s->dirty = false;
	s->readonly = false;
	if (s->state == IMAP_SELECTED)
		s->state = IMAP_AUTH;
}

/* ---- flags ---------------------------------------------------------------- */

void imap_flags_announce(struct imap_session *s)
{
	const char *kw = s->keywords != NULL ?
		imap_keywords_text(s->keywords) : "";
	const char *sep = kw[0] != '\0' ? " " : "";

	imap_printf(s, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen "
		       "\\Draft%s%s)\r\n", sep, kw);
	if (s->readonly)
		imap_printf(s, "* OK [PERMANENTFLAGS ()] Read-only\r\n");
	else
		imap_printf(s, "* OK [PERMANENTFLAGS (\\Answered \\Flagged "
			       "\\Deleted \\Seen \\Draft%s%s \\*)] Flags "
			       "permitted\r\n", sep, kw);
}

void imap_keywords_seen(struct imap_session *s, const char *keywords)
{
	if (s->keywords != NULL && keywords != NULL && keywords[0] != '\0' &&
	    imap_keywords_add(s->keywords, keywords) > 0)
		imap_flags_announce(s);
}

/* ---- CONDSTORE ------------------------------------------------------------ */

void imap_condstore_enable(struct imap_session *s)
{
	if (s->condstore)
		return;
	s->condstore = true;
	if (s->state == IMAP_SELECTED && s->mb != NULL)
		imap_printf(s, "* OK [HIGHESTMODSEQ %llu] Highest\r\n",
			    (unsigned long long)s->srv->host->mailbox->
				    mailbox_highestmodseq(s->mb));
}

void imap_fetch_flags_response(struct imap_session *s, uint32_t index,
			       bool flags, bool uid)
{
	struct postino_message_info info;
	struct imap_buf out;

	if (imap_message(s, index, &info) < 0)
		return;
	imap_buf_init(&out, 0);
	imap_buf_append_str(&out, "* ");
	imap_buf_append_u64(&out, index + 1);
	imap_buf_append_str(&out, " FETCH (");
	if (uid || s->condstore) {
		imap_buf_append_str(&out, "UID ");
		imap_buf_append_u64(&out, info.uid);
	}
	if (flags) {
		if (uid || s->condstore)
			imap_buf_append_char(&out, ' ');
		imap_buf_append_str(&out, "FLAGS ");
		imap_flags_format(info.flags, info.keywords, &out);
	}
	if (s->condstore) {
		imap_buf_append_str(&out, " MODSEQ (");
		imap_buf_append_u64(&out, info.modseq);
		imap_buf_append_char(&out, ')');
	}
	imap_buf_append_str(&out, ")\r\n");
	if (out.data != NULL)
		imap_write(s, out.data, out.len);
	imap_buf_free(&out);
}

void imap_saved_reset(struct imap_session *s)
{
	free(s->saved);
	s->saved = NULL;
	s->saved_count = 0;
}

/* ---- sync ---------------------------------------------------------------- */

/* One sync's report: with QRESYNC the expunged UIDs go out as one
 * VANISHED (RFC 7162 3.2.10) once the sync is over. */
struct sync_report {
	struct imap_session *s;
	uint32_t *vanished;
	size_t n, cap;
	bool nomem, said_bye;
};

static void sync_expunged(void *data, uint32_t index)
{
	struct sync_report *r = data;
	struct imap_session *s = r->s;
	struct postino_message_info info;
	int ret = imap_message(s, index, &info);

	if (ret == 0 && (info.flags & POSTINO_FLAG_RECENT) && s->recent > 0)
		s->recent--;
	if (s->qresync && ret == 0) {
		if (r->n == r->cap) {
			size_t cap = r->cap > 0 ? r->cap * 2 : 64;
			uint32_t *g = realloc(r->vanished, cap * sizeof(*g));
			if (g == NULL)
				r->nomem = true;
			else {
				r->vanished = g;
				r->cap = cap;
			}
		}
		if (r->n < r->cap)
			r->vanished[r->n++] = info.uid;
	} else {
		imap_printf(s, "* %u EXPUNGE\r\n", index + 1);
	}
	if (s->exists > 0)
		s->exists--;
}

static void sync_vanished(struct sync_report *r);

static void sync_flags(void *data, uint32_t index)
{
	struct sync_report *r = data;
	struct imap_session *s = r->s;
	struct postino_message_info info;

	/* Flag changes come in the numbering after the expunges: the
	 * client must have heard of those first. */
	sync_vanished(r);
	if (index >= s->exists || imap_message(s, index, &info) < 0)
		return; /* new: the client learns it with EXISTS */
	imap_keywords_seen(s, info.keywords);
	imap_fetch_flags_response(s, index, true, s->tag_uid);
}

static void sync_vanished(struct sync_report *r)
{
	struct imap_seqset *set = NULL;
	struct imap_buf out;

	if (r->nomem && !r->said_bye) {
		r->said_bye = true;
		/* The client cannot be told what went: it must start over. */
		imap_printf(r->s, "* BYE Out of memory\r\n");
		if (r->s->conn != NULL)
			r->s->srv->host->proto->conn_close(r->s->conn,
							   "out of memory");
		return;
	}
	if (r->n == 0 || imap_seqset_from_uids(r->vanished, r->n, &set) < 0)
		return;
	r->n = 0; /* said */
	imap_buf_init(&out, 0);
	imap_buf_append_str(&out, "* VANISHED ");
	imap_seqset_format(set, &out);
	imap_buf_append_str(&out, "\r\n");
	if (out.data != NULL)
		imap_write(r->s, out.data, out.len);
	imap_buf_free(&out);
	imap_seqset_free(&set);
}

void imap_sync(struct imap_session *s, bool expunges)
{
	const struct postino_host *host = s->srv->host;
	struct sync_report report = { .s = s };
	uint32_t before;

	if (s->mb == NULL || !s->dirty)
		return;
	int ret = host->mailbox->mailbox_sync(s->mb, expunges, sync_expunged,
				     sync_flags, &report);
	sync_vanished(&report);
	free(report.vanished);
	if (ret < 0) {
		host->core->log(s->srv->mod, POSTINO_LOG_WARNING, s->session_id,
			  "cannot sync mailbox %s: %s", s->mailbox_name,
			  strerror(-ret));
		if (ret == -ENOENT) {
			imap_printf(s, "* BYE [UNAVAILABLE] The selected "
				       "mailbox was deleted\r\n");
			host->proto->conn_close(s->conn, "mailbox deleted");
		}
		return;
	}
	if (expunges)
		s->dirty = false;
	before = s->exists;
	uint32_t count = imap_count(s);
	if (count > before) {
		unsigned added = 0;
		for (uint32_t i = before; i < count; i++) {
			struct postino_message_info info;
			if (imap_message(s, i, &info) < 0)
				continue;
			if (info.flags & POSTINO_FLAG_RECENT)
				s->recent++;
			if (s->keywords != NULL)
				added += imap_keywords_add(s->keywords,
							   info.keywords);
		}
		if (added > 0)
			imap_flags_announce(s);
		s->exists = count;
		imap_printf(s, "* %u EXISTS\r\n* %u RECENT\r\n", s->exists,
			    s->recent);
	}
}

/* ---- sets ---------------------------------------------------------------- */

/* Index of the first message with UID >= uid. */
static uint32_t index_of_uid(struct imap_session *s, uint32_t uid)
{
	uint32_t lo = 0, hi = s->exists;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		struct postino_message_info info;
		if (imap_message(s, mid, &info) < 0 || info.uid >= uid)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* "$": the saved UIDs still in the view, by one merge of two ascending
 * lists (RFC 5182 2.1: expunged ones simply drop out). */
static bool saved_indices(struct imap_session *s, uint32_t **indices_r,
			  size_t *count_r)
{
	uint32_t *idx = malloc((s->saved_count + 1) * sizeof(*idx));
	size_t n = 0, k = 0;

	if (idx == NULL) {
		imap_tagged(s, "NO", "Out of memory");
		return false;
	}
	for (uint32_t i = 0; i < s->exists && k < s->saved_count; i++) {
		struct postino_message_info info;
		if (imap_message(s, i, &info) < 0)
			continue;
		while (k < s->saved_count && s->saved[k] < info.uid)
			k++;
		if (k < s->saved_count && s->saved[k] == info.uid)
			idx[n++] = i;
	}
	*indices_r = idx;
	*count_r = n;
	return true;
}

bool imap_set_indices(struct imap_session *s, const struct imap_arg *arg,
		      bool uid, uint32_t **indices_r, size_t *count_r)
{
	struct imap_seqset *raw = NULL, *set = NULL;
	struct postino_message_info info;
	uint32_t max = 0;
	uint32_t *idx = NULL;
	size_t n = 0, cap = 0;

	*indices_r = NULL;
	*count_r = 0;
	if (arg->type == IMAP_ARG_ATOM && arg->len == 1 && arg->str[0] == '$')
		return saved_indices(s, indices_r, count_r);
	if (arg->type != IMAP_ARG_ATOM ||
	    imap_seqset_parse(arg->str, arg->len, &raw) < 0) {
		imap_tagged(s, "BAD", "Invalid sequence set");
		return false;
	}
	if (uid) {
		if (s->exists > 0 && imap_message(s, s->exists - 1, &info) == 0)
			max = info.uid;
	} else {
		max = s->exists;
	}
	int ret = imap_seqset_resolve(raw, max,
				      uid ? IMAP_SEQSET_UID : IMAP_SEQSET_SEQ,
				      &set);
	imap_seqset_free(&raw);
	if (ret == -ERANGE) {
		imap_tagged(s, "BAD", "Invalid message sequence number");
		return false;
	}
	if (ret < 0) {
		imap_tagged(s, "NO", "Out of memory");
		return false;
	}
	/* Walk the ranges: sequence numbers map straight to indices; UID
	 * ranges find their first message by binary search. */
	for (size_t r = 0; r < set->count; r++) {
		uint32_t lo = set->range[r].lo, hi = set->range[r].hi;
		uint32_t i = uid ? index_of_uid(s, lo) : lo - 1;
		for (; i < s->exists; i++) {
			if (uid) {
				if (imap_message(s, i, &info) < 0 ||
				    info.uid > hi)
					break;
			} else if (i + 1 > hi) {
				break;
			}
			if (n == cap) {
				size_t c = cap > 0 ? cap * 2 : 64;
				uint32_t *g = realloc(idx, c * sizeof(*g));
				if (g == NULL) {
					free(idx);
					imap_seqset_free(&set);
					imap_tagged(s, "NO", "Out of memory");
					return false;
				}
				idx = g;
				cap = c;
			}
			idx[n++] = i;
		}
	}
	/* A resolved set is sorted and disjoint: so are the indices. */
	imap_seqset_free(&set);
	*indices_r = idx;
	*count_r = n;
	return true;
}
