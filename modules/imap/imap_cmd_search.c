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
	unsigned flags;
	int64_t internaldate;
	char *keywords;
	char *data;               /* the header, or the whole message */
	size_t data_len;
	size_t header_start, header_end, text_start, text_end; /* in data */
	bool gone;                /* expunged meanwhile: no match */
	int result;               /* from the worker */
};

struct search_run {
	struct imap_session *s;
	const struct postino_host *host; /* for the worker */
	struct imap_search_program *prog;
	unsigned needs;
	bool uid;
	uint32_t next;            /* view index of the next message to load */
	struct search_item *batch;
	size_t count;
	struct imap_buf out;      /* "* SEARCH ..." so far */
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
	imap_buf_free(&run->out);
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

static void search_finish(struct search_run *run, int error)
{
	struct imap_session *s = run->s;

	if (error < 0) {
		run_free(run);
		imap_tagged(s, "NO", "[SERVERBUG] Search failed");
		return;
	}
	imap_buf_append_str(&run->out, "\r\n");
	imap_write(s, run->out.data, run->out.len);
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
		imap_buf_append_char(&run->out, ' ');
		imap_buf_append_u64(&run->out, run->uid ? it->uid : it->seq);
	}
	batch_clear(run);
	if (error < 0 || run->next >= run->s->exists)
		search_finish(run, error);
	else
		search_step(run);
}

void imap_cmd_search(struct imap_session *s, const struct imap_command *cmd,
		     const struct imap_arg *args, size_t n_args, bool uid)
{
	struct search_run *run;
	const char *error = NULL;
	uint32_t max_uid = 0;
	int ret;

	(void)cmd;
	run = calloc(1, sizeof(*run));
	if (run == NULL) {
		imap_tagged(s, "NO", "Out of memory");
		return;
	}
	run->s = s;
	run->host = s->srv->host;
	run->uid = uid;
	imap_buf_init(&run->out, 0);
	ret = imap_search_parse(args, n_args, 0, &run->prog, &error);
	if (ret < 0) {
		run_free(run);
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
	    imap_buf_append_str(&run->out, "* SEARCH") < 0) {
		run_free(run);
		imap_tagged(s, "NO", "Out of memory");
		return;
	}
	imap_busy(s);
	if (s->exists == 0)
		search_finish(run, 0);
	else
		search_step(run);
}
