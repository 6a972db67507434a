/* Vacation (RFC 5230, RFC 6131) around RFC 3834: whether to answer at
 * all, the key that makes it one answer per sender and period, and the
 * answer itself. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <glib.h>

#include "sv_date.h"
#include "sv_message.h"
#include "sv_syntax.h"
#include "sv_vacation.h"

static bool sv_addr_eq(const char *a, size_t alen, const char *b)
{
	return sv_strcasecmp_len(a, alen, b, strlen(b)) == 0;
}

static bool sv_is_users(const char *addr, size_t len,
			const char *const *addrs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (addrs[i] != NULL && sv_addr_eq(addr, len, addrs[i]))
			return true;
	return false;
}

/* RFC 3834 2, RFC 5230 4.6: senders that are programs, not people. */
static bool sv_system_sender(const char *sender)
{
	const char *at = strrchr(sender, '@');
	size_t len = at ? (size_t)(at - sender) : strlen(sender);
	static const char *const exact[] = {
		"mailer-daemon", "listserv", "majordomo", "mailer",
	};
	static const char *const suffix[] = {
		"-request", "-bounces", "-bounce",
	};

	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (sv_eq_ci(sender, len, exact[i]))
			return true;
	if (len >= 6 && sv_strcasecmp_len(sender, 6, "owner-", 6) == 0)
		return true;
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		size_t sl = strlen(suffix[i]);
		if (len > sl && sv_eq_ci(sender + len - sl, sl, suffix[i]))
			return true;
	}
	return false;
}

/* The first word of a field value (before ';', comments or space). */
static struct sv_val sv_first_word(const struct sv_val *v)
{
	struct sv_val w = { v->s, 0 };

	while (w.len < v->len && v->s[w.len] != ';' && v->s[w.len] != ' ' &&
	       v->s[w.len] != '\t' && v->s[w.len] != '(')
		w.len++;
	return w;
}

const char *sv_vacation_refusal_msg(struct sv_msg *m, const char *sender,
				    const char *const *addrs, size_t n)
{
	static const char *const recipients[] = {
		"to", "cc", "bcc", "resent-to", "resent-cc", "resent-bcc",
	};
	struct sv_val v;
	bool addressed = false;

	if (sender == NULL || *sender == '\0')
		return "null sender";
	if (sv_system_sender(sender))
		return "system sender";
	for (size_t i = 0; i < m->n_fields; i++) {
		struct sv_field *f = &m->fields[i];
		if (f->name_len > 5 &&
		    sv_strcasecmp_len(f->name, 5, "list-", 5) == 0)
			return "mailing list";
		if (sv_field_is(f, "auto-submitted", 14)) {
			if (sv_field_value(m, f, false, &v) == NULL)
				return "auto-submitted";
			struct sv_val w = sv_first_word(&v);
			if (!sv_eq_ci(w.s, w.len, "no"))
				return "auto-submitted";
		}
		if (sv_field_is(f, "precedence", 10)) {
			if (sv_field_value(m, f, false, &v) == NULL)
				return "precedence";
			struct sv_val w = sv_first_word(&v);
			if (sv_eq_ci(w.s, w.len, "bulk") ||
			    sv_eq_ci(w.s, w.len, "list") ||
			    sv_eq_ci(w.s, w.len, "junk"))
				return "precedence";
		}
	}
	if (sv_is_users(sender, strlen(sender), addrs, n))
		return "own address";
	/* RFC 5230 4.5: only mail where one of the user's addresses is
	 * among the recipients written in the header. */
	for (size_t i = 0; i < m->n_fields && !addressed; i++) {
		struct sv_field *f = &m->fields[i];
		bool rcpt = false;
		for (size_t r = 0; r < 6 && !rcpt; r++)
			rcpt = sv_field_is(f, recipients[r],
					   strlen(recipients[r]));
		if (!rcpt || sv_field_value(m, f, false, &v) == NULL)
			continue;
		struct sv_addr *list;
		size_t nl;
		struct sv_arena_mark mark = sv_arena_mark(m->arena);
		if (sv_addr_list_parse(m->arena, v.s, v.len, 1000, &list,
				       &nl) < 0)
			return "not addressed to the user";
		for (size_t k = 0; k < nl && !addressed; k++) {
			if (!list[k].valid)
				continue;
			/* local@domain as written, unquoted */
			char buf[600];
			if (list[k].local.len + list[k].domain.len + 2 >
			    sizeof(buf))
				continue;
			memcpy(buf, list[k].local.s, list[k].local.len);
			buf[list[k].local.len] = '@';
			memcpy(buf + list[k].local.len + 1, list[k].domain.s,
			       list[k].domain.len);
			addressed = sv_is_users(buf, list[k].local.len + 1 +
						list[k].domain.len, addrs, n);
		}
		sv_arena_release(m->arena, mark);
	}
	return addressed ? NULL : "not addressed to the user";
}

const char *sieve_vacation_refusal(const char *header, size_t header_len,
				   const char *sender,
				   const char *const *addresses,
				   size_t n_addresses)
{
	struct sieve_limits lim;
	struct sv_arena arena;
	struct sv_msg m;
	uint64_t cpu = 0;
	const char *why;

	sieve_limits_default(&lim);
	sv_arena_init(&arena, 4 * header_len + (1u << 20));
	sv_msg_init(&m, NULL, &lim, &arena, &cpu);
	if (header == NULL || sv_msg_header_from(&m, header, header_len) < 0)
		why = "unreadable header";
	else
		why = sv_vacation_refusal_msg(&m, sender, addresses,
					      n_addresses);
	sv_msg_free(&m);
	sv_arena_free(&arena);
	return why;
}

void sieve_vacation_key(const char *sender, const struct sieve_vacation *vac,
			char key_r[65])
{
	GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
	char *lower = g_ascii_strdown(sender ? sender : "", -1);
	static const guchar nul = 0;

	g_checksum_update(sum, (const guchar *)lower, -1);
	g_checksum_update(sum, &nul, 1);
	if (vac->handle != NULL) {
		g_checksum_update(sum, (const guchar *)"handle", 6);
		g_checksum_update(sum, &nul, 1);
		g_checksum_update(sum, (const guchar *)vac->handle, -1);
	} else {
		/* RFC 5230 4.2: without :handle, replies differing in
		 * reason, :subject, :from or :mime are different replies. */
		const char *parts[] = { vac->subject, vac->from };
		g_checksum_update(sum, (const guchar *)"reason", 6);
		g_checksum_update(sum, &nul, 1);
		g_checksum_update(sum, (const guchar *)vac->reason,
				  (gssize)vac->reason_len);
		for (size_t i = 0; i < 2; i++) {
			g_checksum_update(sum, &nul, 1);
			if (parts[i] != NULL)
				g_checksum_update(sum,
						  (const guchar *)parts[i], -1);
		}
		g_checksum_update(sum, (const guchar *)(vac->mime ? "1" : "0"),
				  1);
	}
	memcpy(key_r, g_checksum_get_string(sum), 64);
	key_r[64] = '\0';
	g_free(lower);
	g_checksum_free(sum);
}

/* The reply */

static bool sv_single_line(const char *s)
{
	return s == NULL || strpbrk(s, "\r\n") == NULL;
}

static bool sv_ascii_printable(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x7f ||
		    ((unsigned char)s[i] < 0x20 && s[i] != '\t'))
			return false;
	return true;
}

/* An unstructured header value: as it is when printable ASCII, else
 * RFC 2047 base64 words of UTF-8, each within 75 octets, never cutting a
 * character. */
static int sv_put_text(struct sv_buf *b, const char *s, size_t len)
{
	if (sv_ascii_printable(s, len))
		return sv_buf_add(b, s, len);
	int ret = 0;
	for (size_t pos = 0; pos < len && ret == 0;) {
		/* 39 octets: 52 base64 characters, a 64-octet word, so even
		 * the first line ("Subject: " + word) stays within 78. */
		size_t chunk = sv_utf8_cut(s + pos, len - pos, 39);
		if (chunk == 0)
			chunk = 1;
		gchar *b64 = g_base64_encode((const guchar *)s + pos, chunk);
		ret = sv_buf_printf(b, "%s=?UTF-8?B?%s?=",
				    pos > 0 ? "\r\n " : "", b64);
		g_free(b64);
		pos += chunk;
	}
	return ret;
}

/* A mailbox for From: a display name that is not ASCII becomes RFC 2047
 * words, the address stays as it is. */
static int sv_put_mailbox(struct sv_buf *b, const char *mailbox)
{
	size_t len = strlen(mailbox);
	const char *lt = strrchr(mailbox, '<');

	if (lt == NULL || sv_ascii_printable(mailbox, len))
		return sv_buf_add(b, mailbox, len);
	size_t name = (size_t)(lt - mailbox);
	while (name > 0 && (mailbox[name - 1] == ' ' ||
			    mailbox[name - 1] == '\t'))
		name--;
	int ret = sv_put_text(b, mailbox, name);
	if (ret == 0)
		ret = sv_buf_addc(b, ' ');
	return ret == 0 ? sv_buf_add(b, lt, len - (size_t)(lt - mailbox)) :
		ret;
}

/* Quoted-printable (RFC 2045 6.7) of CRLF text; lines end in CRLF. */
static int sv_put_qp(struct sv_buf *b, const char *s, size_t len)
{
	size_t col = 0;
	int ret = 0;

	for (size_t i = 0; i < len && ret == 0; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\r' && i + 1 < len && s[i + 1] == '\n') {
			ret = sv_buf_add(b, "\r\n", 2);
			col = 0;
			i++;
			continue;
		}
		bool at_eol = i + 1 >= len || s[i + 1] == '\r';
		bool plain = (c >= 33 && c <= 126 && c != '=') ||
			     ((c == ' ' || c == '\t') && !at_eol);
		size_t w = plain ? 1 : 3;
		if (col + w > 75) {
			ret = sv_buf_add(b, "=\r\n", 3);
			col = 0;
		}
		if (ret == 0)
			ret = plain ? sv_buf_addc(b, (char)c) :
				sv_buf_printf(b, "=%02X", c);
		col += w;
	}
	return ret;
}

/* Copies text making every line end CRLF; when end_eol, the text ends
 * with one. */
static int sv_put_crlf(struct sv_buf *b, const char *s, size_t len,
		       bool end_eol)
{
	int ret = 0;

	for (size_t i = 0; i < len && ret == 0; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			ret = sv_buf_addc(b, '\r');
		if (ret == 0)
			ret = sv_buf_addc(b, s[i]);
	}
	if (ret == 0 && end_eol && (b->len < 2 ||
				    memcmp(b->data + b->len - 2, "\r\n", 2)))
		ret = sv_buf_add(b, "\r\n", 2);
	return ret;
}

/* 7bit-safe text (RFC 2045 2.7): ASCII, CRLF line ends only, lines of
 * at most 998 octets. */
static bool sv_plain7(const char *s, size_t len)
{
	size_t col = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\r' && i + 1 < len && s[i + 1] == '\n') {
			col = 0;
			i++;
			continue;
		}
		if (c >= 0x80 || (c < 0x20 && c != '\t') || c == 0x7f ||
		    ++col > 998)
			return false;
	}
	return true;
}

/* References: the original's References then its Message-ID, folded. */
static int sv_put_references(struct sv_buf *b, const char *refs,
			     const char *msgid)
{
	const char *parts[] = { refs, msgid };
	size_t col = 12;
	int ret = sv_buf_add(b, "References:", 11);

	for (size_t p = 0; p < 2 && ret == 0; p++) {
		size_t pos = 0, len = parts[p] ? strlen(parts[p]) : 0;
		struct sv_val w;
		while (ret == 0 && pos < len) {
			while (pos < len && (parts[p][pos] == ' ' ||
					     parts[p][pos] == '\t'))
				pos++;
			size_t start = pos;
			while (pos < len && parts[p][pos] != ' ' &&
			       parts[p][pos] != '\t')
				pos++;
			w.s = parts[p] + start;
			w.len = pos - start;
			if (w.len == 0)
				break;
			if (col + 1 + w.len > 76 && col > 12) {
				ret = sv_buf_add(b, "\r\n", 2);
				col = 0;
			}
			if (ret == 0)
				ret = sv_buf_addc(b, ' ');
			if (ret == 0)
				ret = sv_buf_add(b, w.s, w.len);
			col += 1 + w.len;
		}
	}
	return ret == 0 ? sv_buf_add(b, "\r\n", 2) : ret;
}

static void sv_random_hex(char *out, size_t bytes)
{
	unsigned char r[32];

	if (bytes > sizeof(r))
		bytes = sizeof(r);
	if (getrandom(r, bytes, GRND_NONBLOCK) != (ssize_t)bytes)
		for (size_t i = 0; i < bytes; i++)
			r[i] = (unsigned char)g_random_int();
	for (size_t i = 0; i < bytes; i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
}

int sieve_vacation_reply(const struct sieve_vacation *vac,
			 const struct sieve_reply_params *p,
			 char **data_r, size_t *len_r)
{
	struct sv_buf b;
	char date[64], rnd[33];
	int ret;

	*data_r = NULL;
	*len_r = 0;
	if (vac == NULL || p == NULL || p->recipient == NULL ||
	    vac->sender == NULL || *vac->sender == '\0')
		return -EINVAL;
	const char *from = vac->from ? vac->from : p->recipient;
	if (!sv_single_line(from) || !sv_single_line(vac->sender) ||
	    !sv_single_line(vac->orig_message_id) ||
	    !sv_single_line(vac->orig_references) ||
	    !sv_single_line(p->hostname))
		return -EINVAL;
	const char *body = vac->reason ? vac->reason : "";
	size_t body_len = vac->reason ? vac->reason_len : 0;
	const char *mime_end = NULL;
	if (vac->mime) {
		/* The entity's header ends at its first empty line. */
		for (size_t i = 0; i + 1 < body_len && mime_end == NULL; i++)
			if (body[i] == '\n' &&
			    (body[i + 1] == '\n' ||
			     (body[i + 1] == '\r' && i + 2 < body_len &&
			      body[i + 2] == '\n')))
				mime_end = body + i + 1;
		if (mime_end == NULL || body_len == 0 || body[0] == ' ' ||
		    memchr(body, ':', (size_t)(mime_end - body)) == NULL)
			return -EINVAL;
	}

	sv_buf_init(&b, body_len * 4 + 65536);
	sv_date_part(p->now, p->zone_minutes, SV_DP_STD11, date, sizeof(date));
	sv_random_hex(rnd, 16);
	ret = sv_buf_add(&b, "From: ", 6);
	if (ret == 0)
		ret = sv_put_mailbox(&b, from);
	if (ret == 0)
		ret = sv_buf_printf(&b, "\r\nTo: <%s>\r\nSubject: ",
				    vac->sender);
	/* Subject: :subject, else "Auto: " and the original's (RFC 5230
	 * 4.3); line ends in a script's text become spaces. */
	if (ret == 0) {
		struct sv_buf subj;
		sv_buf_init(&subj, 2048);
		if (vac->subject != NULL)
			ret = sv_buf_add(&subj, vac->subject,
					 strlen(vac->subject));
		else if (vac->orig_subject != NULL && *vac->orig_subject)
			ret = sv_buf_printf(&subj, "Auto: %s",
					    vac->orig_subject);
		else
			ret = sv_buf_add(&subj, "Automated reply", 15);
		if (ret == -E2BIG)
			ret = 0;
		for (size_t i = 0; i < subj.len; i++)
			if (subj.data[i] == '\r' || subj.data[i] == '\n')
				subj.data[i] = ' ';
		if (ret == 0)
			ret = sv_put_text(&b, subj.data ? subj.data : "",
					  sv_utf8_cut(subj.data ? subj.data :
						      "", subj.len, 900));
		sv_buf_free(&subj);
	}
	if (ret == 0)
		ret = sv_buf_printf(&b, "\r\nDate: %s\r\nMessage-ID: <%s.%lld@%s>"
				    "\r\n", date, rnd, (long long)p->now,
				    p->hostname && *p->hostname ?
				    p->hostname : "localhost");
	if (ret == 0 && vac->orig_message_id != NULL)
		ret = sv_buf_printf(&b, "In-Reply-To: %s\r\n",
				    vac->orig_message_id);
	if (ret == 0 && (vac->orig_message_id || vac->orig_references))
		ret = sv_put_references(&b, vac->orig_references,
					vac->orig_message_id);
	if (ret == 0)
		ret = sv_buf_printf(&b, "Auto-Submitted: auto-replied\r\n"
				    "MIME-Version: 1.0\r\n");
	if (ret == 0 && vac->mime) {
		/* The reason is a MIME entity: its header continues ours. */
		const char *ebody = mime_end + (mime_end[0] == '\r' ? 2 : 1);
		ret = sv_put_crlf(&b, body, (size_t)(mime_end - body), true);
		if (ret == 0)
			ret = sv_buf_add(&b, "\r\n", 2);
		if (ret == 0)
			ret = sv_put_crlf(&b, ebody,
					  (size_t)(body + body_len - ebody),
					  true);
	} else if (ret == 0) {
		struct sv_buf text;
		sv_buf_init(&text, body_len * 2 + 2);
		ret = sv_put_crlf(&text, body, body_len, true);
		bool plain = ret == 0 && sv_plain7(text.data, text.len);
		if (ret == 0)
			ret = sv_buf_printf(&b, "Content-Type: text/plain; "
					    "charset=utf-8\r\n"
					    "Content-Transfer-Encoding: %s\r\n"
					    "\r\n", plain ? "7bit" :
					    "quoted-printable");
		if (ret == 0)
			ret = plain ? sv_buf_add(&b, text.data, text.len) :
				sv_put_qp(&b, text.data, text.len);
		sv_buf_free(&text);
	}
	if (ret < 0) {
		sv_buf_free(&b);
		return ret == -E2BIG ? -ENOMEM : ret;
	}
	*data_r = b.data;
	*len_r = b.len;
	return 0;
}
