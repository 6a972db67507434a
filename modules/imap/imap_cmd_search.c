/* SEARCH and UID SEARCH (RFC 3501 6.4.4). imap_search.c parses and
 * evaluates the program; this file feeds it messages in batches: the
 * loop thread copies what the program needs of the next messages (flags,
 * sizes, dates; the header, or the whole message, only when a key reads
 * them) and a worker thread evaluates the batch, so a body search over a
 * big mailbox never holds the loop, and each turn of it does a bounded
 * amount of reading. Text keys match the message's text, not its
 * encoding: the worker has the host decode each message (mime_search_
 * text: encoded words, transfer encodings, charsets to UTF-8, addresses
 * as ENVELOPE parses them), folds its case and matches that. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap.h"
#include "imap_date.h"
#include "imap_search.h"
#include "imap_seqset.h"

/* Bodies are searched in memory: bounded per message, and so is their
 * decoded text (what is longer is not searched). */
#define SEARCH_BODY_MAX (16 * 1024 * 1024)
#define SEARCH_HEADER_MAX (1024 * 1024)
#define SEARCH_TEXT_MAX (16 * 1024 * 1024)
/* One batch: this many messages, or about this many bytes of them (at
 * least one message, whatever its size). */
#define SEARCH_BATCH_MESSAGES 4096
#define SEARCH_BATCH_BYTES (1024 * 1024)

/* One message of a batch: a copy of what the program may look at, so
 * the worker needs nothing of the session or the host. */
struct search_item {
	uint32_t seq, uid;
	uint64_t size;
	uint64_t modseq;
	unsigned flags;
	int64_t internaldate;
	char *keywords;
	char *data;               /* the header, or the whole message */
	size_t data_len;
	size_t header_start, header_end, text_start, text_end; /* in data */
	bool gone;                /* expunged meanwhile: no match */
	int result;               /* from the worker */
};

/* RETURN options (RFC 4731, RFC 5182 SAVE). */
#define RETURN_MIN   (1u << 0)
#define RETURN_MAX   (1u << 1)
#define RETURN_ALL   (1u << 2)
#define RETURN_COUNT (1u << 3)
#define RETURN_SAVE  (1u << 4)

/* One message that matched. */
struct search_hit {
	uint32_t seq, uid;
	uint64_t modseq;
};

struct search_run {
	struct imap_session *s;
	const struct postino_host *host; /* for the worker */
	struct imap_search_program *prog;
	unsigned needs;
	bool uid;
	bool esearch;             /* RETURN given: ESEARCH, not SEARCH */
	unsigned options;         /* RETURN_* */
	uint32_t next;            /* view index of the next message to load */
	struct search_item *batch;
	size_t count;
	struct search_hit *hits;  /* in sequence order */
	size_t n_hits, cap_hits;
};

static void batch_clear(struct search_run *run)
{
	for (size_t i = 0; i < run->count; i++) {
		free(run->batch[i].keywords);
		free(run->batch[i].data);
	}
	run->count = 0;
}

static void run_free(struct search_run *run)
{
	batch_clear(run);
	free(run->batch);
	imap_search_free(&run->prog);
	free(run->hits);
	free(run);
}

/* [*start, *end) clipped to [0, max). */
static void clip(uint64_t *start, uint64_t *end, uint64_t max)
{
	if (*end > max)
		*end = max;
	if (*start > *end)
		*start = *end;
}

/* Reads what the program needs of message index into it; the bytes read,
 * or a negative errno (-ENOENT: expunged meanwhile). */
static int64_t load_content(struct search_run *run, uint32_t index,
			    struct search_item *it)
{
	const struct postino_host *host = run->s->srv->host;
	struct postino_section sec = { .size = sizeof(sec) };
	uint64_t from, to;

	if ((run->needs & (IMAP_SEARCH_NEED_HEADER | IMAP_SEARCH_NEED_BODY))
	    == 0)
		return 0;
	int ret = host->mailbox->mailbox_section(run->s->mb, index, NULL, 0, &sec);
	if (ret < 0)
		return ret;
	if (run->needs & IMAP_SEARCH_NEED_BODY) {
		from = 0;           /* the whole message: TEXT reads it all */
		to = it->size < SEARCH_BODY_MAX ? it->size : SEARCH_BODY_MAX;
	} else {
		from = sec.header_start;
		to = sec.header_end;
		if (to - from > SEARCH_HEADER_MAX)
			to = from + SEARCH_HEADER_MAX;
	}
	if (to < from)
		to = from;
	it->data = malloc(to - from + 1);
	if (it->data == NULL)
		return -ENOMEM;
	int64_t n = to == from ? 0 :
		host->mailbox->mailbox_read(run->s->mb, index, from, it->data,
				   (size_t)(to - from));
	if (n < 0)
		return n;
	/* Offsets into what was read. */
	uint64_t hs = sec.header_start - from, he = sec.header_end - from;
	uint64_t ts = sec.text_start - from, te = sec.text_end - from;
	if (sec.header_start < from)
		hs = he = 0;
	if (sec.text_start < from)
		ts = te = 0;
	if (he - hs > SEARCH_HEADER_MAX)
		he = hs + SEARCH_HEADER_MAX;
	clip(&hs, &he, (uint64_t)n);
	clip(&ts, &te, (uint64_t)n);
	it->data_len = (size_t)n;
	it->header_start = (size_t)hs;
	it->header_end = (size_t)he;
	it->text_start = (size_t)ts;
	it->text_end = (size_t)te;
	return n;
}

/* Loads the next batch on the loop thread: 0, or a negative errno. */
static int batch_load(struct search_run *run)
{
	struct imap_session *s = run->s;
	size_t bytes = 0;

	while (run->next < s->exists && run->count < SEARCH_BATCH_MESSAGES &&
	       (run->count == 0 || bytes < SEARCH_BATCH_BYTES)) {
		struct search_item *it = &run->batch[run->count++];
		struct postino_message_info info;
		uint32_t index = run->next++;

		memset(it, 0, sizeof(*it));
		if (imap_message(s, index, &info) < 0) {
			it->gone = true;
			continue;
		}
		it->seq = index + 1;
		it->uid = info.uid;
		it->size = info.octets;
		it->flags = info.flags;
		it->internaldate = info.internaldate;
		it->modseq = info.modseq;
		if (info.keywords != NULL && info.keywords[0] != '\0' &&
		    (it->keywords = strdup(info.keywords)) == NULL)
			return -ENOMEM;
		int64_t n = load_content(run, index, it);
		if (n == -ENOENT) {
			it->gone = true;
			continue;
		}
		if (n < 0)
			return (int)n;
		bytes += (size_t)n;
	}
	return 0;
}

/* ---- evaluation: worker thread, nothing but the batch ------------------ */

/* Whether a field of the header holds the needle, value by value and line
 * by line (a match never spans a fold). */
static bool header_values(const char *h, size_t len, const char *field,
			  size_t flen, const struct imap_needle *needle)
{
	size_t pos = 0;
	bool in_field = false;

	while (pos < len) {
		const char *line = h + pos;
		const char *eol = memchr(line, '\n', len - pos);
		size_t llen = eol != NULL ? (size_t)(eol - line) : len - pos;
		pos += llen + (eol != NULL);
		if (llen > 0 && line[llen - 1] == '\r')
			llen--;
		if (llen == 0)
			break; /* end of header */
		const char *value = line;
		size_t vlen = llen;
		if (line[0] == ' ' || line[0] == '\t') {
			if (!in_field)
				continue;
		} else {
			const char *colon = memchr(line, ':', llen);
			in_field = colon != NULL &&
				   (size_t)(colon - line) == flen &&
				   strncasecmp(line, field, flen) == 0;
			if (!in_field)
				continue;
			if (needle->len == 0)
				return true;
			value = colon + 1;
			vlen = llen - (size_t)(value - line);
		}
		if (imap_needle_find(needle, value, vlen))
			return true;
	}
	return false;
}

/* One message as the evaluator reads it: its decoded text when the host
 * could make it, else its bytes as stored. */
struct search_text {
	const struct search_item *it;
	char *text;          /* "Name: value\n"..., "\n", the body's text;
				case folded; NULL: use it->data */
	size_t len, header_len;
};

/* The message's text as SEARCH matches it (worker thread). */
static void text_decode(const struct search_run *run,
			const struct search_item *it, struct search_text *st)
{
	bool body = (run->needs & IMAP_SEARCH_NEED_BODY) != 0;
	size_t cap = it->data_len < SEARCH_TEXT_MAX / 2 - 4096
			     ? it->data_len * 2 + 4096 : SEARCH_TEXT_MAX;

	if (run->needs == 0 || it->data == NULL)
		return;
	st->text = malloc(cap);
	if (st->text == NULL)
		return; /* the stored bytes, then */
	int64_t n = run->host->mailbox->mime_search_text(
		it->data, it->data_len, body, st->text, cap, &st->header_len);
	if (n < 0) {
		free(st->text);
		st->text = NULL;
		return;
	}
	st->len = (size_t)n;
	imap_fold_utf8(st->text, st->len);
}

static int header_contains(void *ctx, const char *field, size_t field_len,
			   const struct imap_needle *needle)
{
	const struct search_text *st = ctx;
	const struct search_item *it = st->it;

	if (st->text != NULL)
		return header_values(st->text, st->header_len, field,
				     field_len, needle) ? 1 : 0;
	return header_values(it->data + it->header_start,
			     it->header_end - it->header_start, field,
			     field_len, needle) ? 1 : 0;
}

static int body_contains(void *ctx, bool text,
			 const struct imap_needle *needle)
{
	const struct search_text *st = ctx;
	const struct search_item *it = st->it;

	if (st->text != NULL && text)
		return imap_needle_find(needle, st->text, st->len);
	if (st->text != NULL)
		return st->len > st->header_len &&
		       imap_needle_find(needle, st->text + st->header_len + 1,
					st->len - st->header_len - 1);
	if (text)
		return imap_needle_find(needle, it->data, it->data_len);
	return imap_needle_find(needle, it->data + it->text_start,
				it->text_end - it->text_start);
}

/* RFC 5322 3.3 date-time: [day ","] d mon yyyy hh:mm[:ss] zone. Obsolete
 * zone names (GMT, UT, EST...) as RFC 5322 4.3 lists them. */
static int parse_rfc5322_date(const char *v, size_t len, int64_t *t_r,
			      int *tz_r)
{
	static const char *const months[] = { "jan", "feb", "mar", "apr",
		"may", "jun", "jul", "aug", "sep", "oct", "nov", "dec" };
	static const struct { const char *name; int min; } zones[] = {
		{ "UT", 0 }, { "GMT", 0 }, { "Z", 0 }, { "EST", -300 },
		{ "EDT", -240 }, { "CST", -360 }, { "CDT", -300 },
		{ "MST", -420 }, { "MDT", -360 }, { "PST", -480 },
		{ "PDT", -420 } };
	char buf[128], mon[4], zone[8] = "";
	unsigned day, year, hh, mm, ss = 0;
	const char *p;
	int m = -1;

	if (len >= sizeof(buf))
		len = sizeof(buf) - 1;
	memcpy(buf, v, len);
	buf[len] = '\0';
	p = strchr(buf, ',');
	p = p != NULL ? p + 1 : buf;
	if (sscanf(p, " %u %3s %u %u:%u:%u %7s", &day, mon, &year, &hh, &mm,
		   &ss, zone) < 6 &&
	    sscanf(p, " %u %3s %u %u:%u %7s", &day, mon, &year, &hh, &mm,
		   zone) < 5)
		return 0;
	for (int i = 0; i < 12; i++)
		if (strcasecmp(mon, months[i]) == 0)
			m = i + 1;
	if (m < 0 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60)
		return 0;
	if (year < 50)
		year += 2000;
	else if (year < 1000)
		year += 1900;
	int tz = 0;
	if ((zone[0] == '+' || zone[0] == '-') && strlen(zone) == 5) {
		unsigned z = (unsigned)atoi(zone + 1);
		tz = (int)(z / 100 * 60 + z % 100);
		if (zone[0] == '-')
			tz = -tz;
	} else {
		for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++)
			if (strcasecmp(zone, zones[i].name) == 0)
				tz = zones[i].min;
	}
	*t_r = imap_days_from_civil(year, (unsigned)m, day) * 86400 +
	       hh * 3600 + mm * 60 + ss - tz * 60;
	*tz_r = tz;
	return 1;
}

static int sent_date(void *ctx, int64_t *t_r, int *tz_min_r)
{
	const struct search_item *it = ((const struct search_text *)ctx)->it;
	const char *h = it->data + it->header_start;
	size_t len = it->header_end - it->header_start, pos = 0;

	while (pos < len) {
		const char *line = h + pos;
		const char *eol = memchr(line, '\n', len - pos);
		size_t llen = eol != NULL ? (size_t)(eol - line) : len - pos;
		pos += llen + (eol != NULL);
		if (llen >= 5 && strncasecmp(line, "Date:", 5) == 0)
			return parse_rfc5322_date(line + 5, llen - 5, t_r,
						  tz_min_r);
	}
	return 0;
}

static void search_work(void *data)
{
	struct search_run *run = data;

	for (size_t i = 0; i < run->count; i++) {
		struct search_item *it = &run->batch[i];
		struct search_text st = { .it = it };
		struct imap_search_msg m = {
			.seq = it->seq,
			.uid = it->uid,
			.size = it->size,
			.flags = it->flags,
			.keywords = it->keywords,
			.internaldate = it->internaldate,
			.modseq = it->modseq,
			.ctx = &st,
			.header_contains = header_contains,
			.body_contains = body_contains,
			.sent_date = sent_date,
		};
		if (it->gone) {
			it->result = 0;
			continue;
		}
		/* One message's text at a time: decoded, matched, freed. */
		text_decode(run, it, &st);
		it->result = imap_search_eval(run->prog, &m);
		free(st.text);
	}
}

/* ---- the command: loop thread ------------------------------------------- */

static void put_number(struct imap_buf *out, const char *name, uint64_t v)
{
	imap_buf_append_char(out, ' ');
	imap_buf_append_str(out, name);
	imap_buf_append_char(out, ' ');
	imap_buf_append_u64(out, v);
}

/* The highest modseq of hits [from, to) and of extra (may be NULL). */
static uint64_t hits_modseq(const struct search_run *run, size_t from,
			    size_t to, const struct search_hit *extra)
{
	uint64_t m = extra != NULL ? extra->modseq : 0;

	for (size_t i = from; i < to; i++)
		if (run->hits[i].modseq > m)
			m = run->hits[i].modseq;
	return m;
}

/* "* SEARCH 2 5 (MODSEQ 9)" (RFC 3501, RFC 7162 3.1.6). */
static int format_search(const struct search_run *run, struct imap_buf *out)
{
	imap_buf_append_str(out, "* SEARCH");
	for (size_t i = 0; i < run->n_hits; i++) {
		imap_buf_append_char(out, ' ');
		imap_buf_append_u64(out, run->uid ? run->hits[i].uid
						  : run->hits[i].seq);
	}
	if (run->prog->uses_modseq && run->n_hits > 0) {
		imap_buf_append_str(out, " (MODSEQ ");
		imap_buf_append_u64(out, hits_modseq(run, 0, run->n_hits,
						     NULL));
		imap_buf_append_char(out, ')');
	}
	return imap_buf_append_str(out, "\r\n");
}

/* "* ESEARCH (TAG "a1") UID MIN 2 MAX 9 COUNT 4 ALL 2:3,9 MODSEQ 12"
 * (RFC 4731 3.1; MIN, MAX, ALL only when something matched). */
static int format_esearch(const struct search_run *run, struct imap_buf *out)
{
	const struct search_hit *first = run->n_hits ? &run->hits[0] : NULL;
	const struct search_hit *last =
		run->n_hits ? &run->hits[run->n_hits - 1] : NULL;
	unsigned o = run->options;

	imap_buf_append_str(out, "* ESEARCH (TAG \"");
	imap_buf_append_str(out, run->s->tag);
	imap_buf_append_str(out, "\")");
	if (run->uid)
		imap_buf_append_str(out, " UID");
	if ((o & RETURN_MIN) && first != NULL)
		put_number(out, "MIN", run->uid ? first->uid : first->seq);
	if ((o & RETURN_MAX) && last != NULL)
		put_number(out, "MAX", run->uid ? last->uid : last->seq);
	if (o & RETURN_COUNT)
		put_number(out, "COUNT", run->n_hits);
	if ((o & RETURN_ALL) && run->n_hits > 0) {
		uint32_t *nums = malloc(run->n_hits * sizeof(*nums));
		struct imap_seqset *set = NULL;
		if (nums == NULL)
			return -ENOMEM;
		for (size_t i = 0; i < run->n_hits; i++)
			nums[i] = run->uid ? run->hits[i].uid
					   : run->hits[i].seq;
		int ret = imap_seqset_from_uids(nums, run->n_hits, &set);
		free(nums);
		if (ret < 0)
			return ret;
		imap_buf_append_str(out, " ALL ");
		imap_seqset_format(set, out);
		imap_seqset_free(&set);
	}
	/* RFC 7162 3.1.5: the highest modseq of what is returned. */
	if (run->prog->uses_modseq && first != NULL)
		put_number(out, "MODSEQ",
			   (o & (RETURN_ALL | RETURN_COUNT))
				   ? hits_modseq(run, 0, run->n_hits, NULL)
				   : hits_modseq(run, 0, 0,
						 (o & RETURN_MAX) &&
							 last->modseq >
								 first->modseq
							 ? last : first));
	return imap_buf_append_str(out, "\r\n");
}

/* RFC 5182 2.4: what SAVE keeps; with MIN and/or MAX alone, only those
 * messages. UIDs, ascending. */
static int save_result(struct search_run *run)
{
	struct imap_session *s = run->s;
	unsigned o = run->options;
	bool ends = (o & (RETURN_MIN | RETURN_MAX)) &&
		    !(o & (RETURN_ALL | RETURN_COUNT));
	uint32_t *uids = malloc((run->n_hits + 1) * sizeof(*uids));
	size_t n = 0;

	if (uids == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < run->n_hits; i++) {
		bool want = !ends || (i == 0 && (o & RETURN_MIN)) ||
			    (i + 1 == run->n_hits && (o & RETURN_MAX));
		if (want && (n == 0 || uids[n - 1] != run->hits[i].uid))
			uids[n++] = run->hits[i].uid;
	}
	imap_saved_reset(s);
	s->saved = uids;
	s->saved_count = n;
	return 0;
}

static void search_finish(struct search_run *run, int error)
{
	struct imap_session *s = run->s;
	struct imap_buf out;

	imap_buf_init(&out, 0);
	if (error == 0 && run->esearch) {
		if (run->options & RETURN_SAVE)
			error = save_result(run);
		if (error == 0 && (run->options & ~RETURN_SAVE))
			error = format_esearch(run, &out);
	} else if (error == 0) {
		error = format_search(run, &out);
	}
	if (error < 0) {
		if (run->options & RETURN_SAVE)
			imap_saved_reset(s); /* RFC 5182 2.1 */
		imap_buf_free(&out);
		run_free(run);
		imap_tagged(s, "NO", "[SERVERBUG] Search failed");
		return;
	}
	if (out.data != NULL)
		imap_write(s, out.data, out.len);
	imap_buf_free(&out);
	run_free(run);
	imap_tagged(s, "OK", "Search completed");
}

static void search_done(void *data, int status);

/* Loads the next batch and hands it to a worker. */
static void search_step(struct search_run *run)
{
	struct imap_session *s = run->s;
	int ret = batch_load(run);

	if (ret < 0) {
		search_finish(run, ret);
		return;
	}
	s->pending++;
	ret = s->srv->host->core->work_submit(s->srv->mod, search_work, search_done,
					run);
	if (ret < 0) {
		s->pending--;
		search_finish(run, ret);
	}
}

static void search_done(void *data, int status)
{
	struct search_run *run = data;
	int error = status;

	if (imap_release(run->s)) {
		run_free(run);
		return;
	}
	for (size_t i = 0; i < run->count && error == 0; i++) {
		const struct search_item *it = &run->batch[i];
		if (it->result < 0)
			error = it->result;
		if (it->result <= 0)
			continue;
		if (run->n_hits == run->cap_hits) {
			size_t cap = run->cap_hits ? run->cap_hits * 2 : 256;
			struct search_hit *g = realloc(run->hits,
						       cap * sizeof(*g));
			if (g == NULL) {
				error = -ENOMEM;
				break;
			}
			run->hits = g;
			run->cap_hits = cap;
		}
		run->hits[run->n_hits++] = (struct search_hit){
			it->seq, it->uid, it->modseq };
	}
	batch_clear(run);
	if (error < 0 || run->next >= run->s->exists)
		search_finish(run, error);
	else
		search_step(run);
}

/* RETURN (options) before the keys (RFC 4731 3.1); an empty list is
 * ALL. 0, or -EINVAL. */
static int parse_return(const struct imap_arg *list, unsigned *options_r)
{
	static const struct { const char *name; unsigned bit; } names[] = {
		{ "MIN", RETURN_MIN }, { "MAX", RETURN_MAX },
		{ "ALL", RETURN_ALL }, { "COUNT", RETURN_COUNT },
		{ "SAVE", RETURN_SAVE },
	};

	if (list->type != IMAP_ARG_LIST)
		return -EINVAL;
	*options_r = list->count == 0 ? RETURN_ALL : 0;
	for (size_t i = 0; i < list->count; i++) {
		unsigned bit = 0;
		for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
			if (imap_arg_atom_is(&list->list[i], names[k].name))
				bit = names[k].bit;
		if (bit == 0)
			return -EINVAL;
		*options_r |= bit;
	}
	return 0;
}

/* Whether the command asks to SAVE, however malformed the rest: a SEARCH
 * that would have saved and fails empties the saved result (RFC 5182
 * 2.1). */
static bool asks_save(const struct imap_arg *args, size_t n)
{
	if (n < 2 || !imap_arg_atom_is(&args[0], "RETURN") ||
	    args[1].type != IMAP_ARG_LIST)
		return false;
	for (size_t i = 0; i < args[1].count; i++)
		if (imap_arg_atom_is(&args[1].list[i], "SAVE"))
			return true;
	return false;
}

void imap_cmd_search(struct imap_session *s, const struct imap_command *cmd,
		     const struct imap_arg *args, size_t n_args, bool uid)
{
	struct search_run *run;
	const char *error = NULL;
	uint32_t max_uid = 0;
	int ret;

	(void)cmd;
	bool save = asks_save(args, n_args);
	run = calloc(1, sizeof(*run));
	if (run == NULL) {
		if (save)
			imap_saved_reset(s);
		imap_tagged(s, "NO", "Out of memory");
		return;
	}
	run->s = s;
	run->host = s->srv->host;
	run->uid = uid;
	if (n_args > 0 && imap_arg_atom_is(&args[0], "RETURN")) {
		if (n_args < 2 || parse_return(&args[1], &run->options) < 0) {
			run_free(run);
			if (save)
				imap_saved_reset(s);
			imap_tagged(s, "BAD", "Invalid RETURN options");
			return;
		}
		run->esearch = true;
		args += 2;
		n_args -= 2;
	}
	ret = imap_search_parse(args, n_args, 0, &run->prog, &error);
	if (ret < 0) {
		run_free(run);
		if (save)
			imap_saved_reset(s);
		if (ret == IMAP_SEARCH_BADCHARSET)
			imap_tagged(s, "NO", "[BADCHARSET (UTF-8 US-ASCII)] "
					     "Unsupported charset");
		else if (ret == IMAP_SEARCH_LIMIT)
			imap_tagged(s, "NO", "[LIMIT] %s (at most %d)", error,
				    IMAP_SEARCH_MAX_TEXT_KEYS);
		else
			imap_tagged(s, ret == -ENOMEM ? "NO" : "BAD", "%s",
				    error != NULL ? error : "Invalid search");
		return;
	}
	/* MODSEQ is a CONDSTORE enabling command (RFC 7162 3.1). */
	if (run->prog->uses_modseq)
		imap_condstore_enable(s);
	run->needs = imap_search_needs(run->prog);
	if (s->exists > 0) {
		struct postino_message_info last;
		if (imap_message(s, s->exists - 1, &last) == 0)
			max_uid = last.uid;
	}
	size_t batch = s->exists < SEARCH_BATCH_MESSAGES ? s->exists
							  : SEARCH_BATCH_MESSAGES;
	run->batch = calloc(batch > 0 ? batch : 1, sizeof(*run->batch));
	if (run->batch == NULL ||
	    imap_search_prepare(run->prog, s->exists, max_uid) < 0 ||
	    imap_search_set_saved(run->prog, s->saved, s->saved_count) < 0) {
		run_free(run);
		if (save)
			imap_saved_reset(s);
		imap_tagged(s, "NO", "Out of memory");
		return;
	}
	imap_busy(s);
	if (s->exists == 0)
		search_finish(run, 0);
	else
		search_step(run);
}
