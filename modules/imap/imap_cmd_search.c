/* SEARCH and UID SEARCH (RFC 3501 6.4.4). imap_search.c parses and
 * evaluates the program; this file feeds it messages: flags, sizes and
 * dates from the view, and, only when a key needs them, the header
 * (read once per message) and the body. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap.h"
#include "imap_date.h"
#include "imap_search.h"

/* Bodies are searched in memory: bounded per message. */
#define SEARCH_BODY_MAX (16 * 1024 * 1024)
#define SEARCH_HEADER_MAX (1024 * 1024)

struct search_ctx {
	struct imap_session *s;
	uint32_t index;
	char *header;
	size_t header_len;
	bool header_read;
};

static int read_range(struct search_ctx *c, uint64_t start, uint64_t end,
		      size_t max, char **buf_r, size_t *len_r)
{
	size_t len = end - start < max ? (size_t)(end - start) : max;
	char *buf = malloc(len + 1);
	int64_t n;

	if (buf == NULL)
		return -ENOMEM;
	n = len == 0 ? 0 : c->s->srv->host->mailbox->mailbox_read(c->s->mb, c->index,
							 start, buf, len);
	if (n < 0) {
		free(buf);
		return (int)n;
	}
	*buf_r = buf;
	*len_r = (size_t)n;
	return 0;
}

static int load_header(struct search_ctx *c)
{
	struct postino_section sec = { .size = sizeof(sec) };
	int ret;

	if (c->header_read)
		return 0;
	c->header_read = true;
	ret = c->s->srv->host->mailbox->mailbox_section(c->s->mb, c->index, NULL, 0,
					       &sec);
	if (ret < 0)
		return ret;
	return read_range(c, sec.header_start, sec.header_end,
			  SEARCH_HEADER_MAX, &c->header, &c->header_len);
}

/* Calls fn on each value of field in the header, unfolded line by line
 * (a value is searched per physical line, so a match never spans a
 * fold). */
static bool header_values(const char *h, size_t len, const char *field,
			  size_t flen, const char *str, size_t slen)
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
			if (slen == 0)
				return true;
			value = colon + 1;
			vlen = llen - (size_t)(value - line);
		}
		if (imap_search_contains(value, vlen, str, slen))
			return true;
	}
	return false;
}

static int header_contains(void *ctx, const char *field, size_t field_len,
			   const char *str, size_t len)
{
	struct search_ctx *c = ctx;
	int ret = load_header(c);

	if (ret < 0)
		return ret;
	return header_values(c->header, c->header_len, field, field_len, str,
			     len) ? 1 : 0;
}

static int body_contains(void *ctx, bool text, const char *str, size_t len)
{
	struct search_ctx *c = ctx;
	struct postino_section sec = { .size = sizeof(sec) };
	struct postino_message_info info;
	char *buf = NULL;
	size_t n = 0;
	int ret;

	if (imap_message(c->s, c->index, &info) < 0)
		return -ENOENT;
	ret = c->s->srv->host->mailbox->mailbox_section(c->s->mb, c->index, NULL, 0,
					       &sec);
	if (ret < 0)
		return ret;
	ret = read_range(c, text ? 0 : sec.text_start,
			 text ? info.octets : sec.text_end, SEARCH_BODY_MAX,
			 &buf, &n);
	if (ret < 0)
		return ret;
	ret = imap_search_contains(buf, n, str, len) ? 1 : 0;
	free(buf);
	return ret;
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
	struct search_ctx *c = ctx;
	int ret = load_header(c);
	const char *h = c->header;
	size_t len = c->header_len, pos = 0;

	if (ret < 0)
		return ret;
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

void imap_cmd_search(struct imap_session *s, const struct imap_command *cmd,
		     const struct imap_arg *args, size_t n_args, bool uid)
{
	struct imap_search_program *prog = NULL;
	const char *error = NULL;
	struct imap_buf out;
	uint32_t max_uid = 0;
	int ret;

	(void)cmd;
	ret = imap_search_parse(args, n_args, 0, &prog, &error);
	if (ret == IMAP_SEARCH_BADCHARSET) {
		imap_tagged(s, "NO", "[BADCHARSET (UTF-8 US-ASCII)] Unsupported "
				     "charset");
		return;
	}
	if (ret < 0) {
		imap_tagged(s, ret == -ENOMEM ? "NO" : "BAD", "%s",
			    error != NULL ? error : "Invalid search");
		return;
	}
	if (s->exists > 0) {
		struct postino_message_info last;
		if (imap_message(s, s->exists - 1, &last) == 0)
			max_uid = last.uid;
	}
	if (imap_search_prepare(prog, s->exists, max_uid) < 0) {
		imap_search_free(&prog);
		imap_tagged(s, "NO", "Out of memory");
		return;
	}
	imap_buf_init(&out, 0);
	imap_buf_append_str(&out, "* SEARCH");
	for (uint32_t i = 0; i < s->exists && ret >= 0; i++) {
		struct postino_message_info info;
		struct search_ctx c = { .s = s, .index = i };
		if (imap_message(s, i, &info) < 0)
			continue;
		struct imap_search_msg m = {
			.seq = i + 1,
			.uid = info.uid,
			.size = info.octets,
			.flags = info.flags,
			.keywords = info.keywords,
			.internaldate = info.internaldate,
			.ctx = &c,
			.header_contains = header_contains,
			.body_contains = body_contains,
			.sent_date = sent_date,
		};
		ret = imap_search_eval(prog, &m);
		free(c.header);
		if (ret == -ENOENT) {
			ret = 0; /* expunged meanwhile: not a match */
			continue;
		}
		if (ret > 0) {
			imap_buf_append_char(&out, ' ');
			imap_buf_append_u64(&out, uid ? info.uid : i + 1);
		}
	}
	imap_search_free(&prog);
	if (ret < 0) {
		imap_buf_free(&out);
		imap_tagged(s, "NO", "[SERVERBUG] Search failed");
		return;
	}
	imap_buf_append_str(&out, "\r\n");
	imap_write(s, out.data, out.len);
	imap_buf_free(&out);
	imap_tagged(s, "OK", "Search completed");
}
