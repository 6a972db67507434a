#include <errno.h>
#include <string.h>

#include <gmime/gmime.h>

#include "sv_message.h"

void sv_msg_init(struct sv_msg *m, const struct sieve_message *src,
		 const struct sieve_limits *lim, struct sv_arena *arena,
		 uint64_t *cpu)
{
	memset(m, 0, sizeof(*m));
	m->src = src;
	m->lim = lim;
	m->arena = arena;
	m->cpu = cpu;
}

void sv_msg_free(struct sv_msg *m)
{
	/* Everything lives in the arena. */
	memset(m, 0, sizeof(*m));
}

/* Reads up to len octets at offset into buf: how many, or -EIO. */
static ssize_t sv_msg_read(struct sv_msg *m, uint64_t offset, char *buf,
			   size_t len)
{
	size_t got = 0;

	if (m->src == NULL || m->src->read == NULL)
		return 0;
	while (got < len) {
		ssize_t n = m->src->read(m->src->context, offset + got,
					 buf + got, len - got);
		if (n < 0)
			return -EIO;
		if (n == 0 || (size_t)n > len - got)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* The header section ends after the first empty line. */
static size_t sv_header_end(const char *s, size_t len, bool *found_r)
{
	size_t line = 0;

	*found_r = false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '\n')
			continue;
		size_t l = i - line;
		if (l == 0 || (l == 1 && s[line] == '\r')) {
			*found_r = true;
			return i + 1;
		}
		line = i + 1;
	}
	/* No end within the limit: the complete lines read are the header. */
	return line;
}

static int sv_index_fields(struct sv_msg *m)
{
	const char *s = m->header;
	size_t len = m->header_len, max = m->lim->max_header_fields, n = 0;

	/* A field starts each line not starting with white space. */
	for (size_t i = 0; i < len; i++)
		if ((i == 0 || s[i - 1] == '\n') && s[i] != ' ' && s[i] != '\t')
			n++;
	if (n > max)
		n = max;
	m->fields = sv_arena_alloc(m->arena, (n ? n : 1) * sizeof(*m->fields));
	if (m->fields == NULL)
		return -ENOMEM;
	m->n_fields = 0;
	for (size_t i = 0; i < len && m->n_fields < n;) {
		size_t start = i, colon = SIZE_MAX;
		/* This line, then continuation lines. */
		while (i < len) {
			if (s[i] == ':' && colon == SIZE_MAX)
				colon = i;
			if (s[i] == '\n' && (i + 1 >= len ||
					     (s[i + 1] != ' ' && s[i + 1] != '\t')))
				break;
			i++;
		}
		size_t end = i < len ? i : len;
		i++;
		if (colon == SIZE_MAX || colon == start)
			continue;
		size_t name_len = colon - start;
		/* obs-header: white space before the colon */
		while (name_len > 0 && (s[start + name_len - 1] == ' ' ||
					s[start + name_len - 1] == '\t'))
			name_len--;
		bool ok = name_len > 0;
		for (size_t k = 0; ok && k < name_len; k++)
			if ((unsigned char)s[start + k] <= 32 ||
			    (unsigned char)s[start + k] >= 127)
				ok = false;
		if (!ok)
			continue;
		struct sv_field *f = &m->fields[m->n_fields++];
		memset(f, 0, sizeof(*f));
		f->name = s + start;
		f->name_len = name_len;
		f->raw = s + colon + 1;
		f->raw_len = end - colon - 1;
	}
	*m->cpu += len;
	return 0;
}

int sv_msg_header_from(struct sv_msg *m, const char *header, size_t len)
{
	bool found;

	m->header_read = true;
	m->header_len = sv_header_end(header, len, &found);
	if (!found)
		m->header_len = len;
	m->header = sv_arena_strndup(m->arena, header, m->header_len);
	if (m->header == NULL)
		return -ENOMEM;
	return sv_index_fields(m);
}

int sv_msg_header(struct sv_msg *m)
{
	size_t max = m->lim->max_header_size;
	bool found;

	if (m->header_read)
		return m->header == NULL ? -EIO : 0;
	m->header_read = true;
	char *buf = sv_arena_alloc(m->arena, max + 1);
	if (buf == NULL)
		return -ENOMEM;
	ssize_t n = sv_msg_read(m, 0, buf, max);
	if (n < 0)
		return (int)n;
	m->header = buf;
	m->header_len = sv_header_end(buf, (size_t)n, &found);
	if (!found && (size_t)n < max)
		m->header_len = (size_t)n;   /* a message without a body */
	buf[m->header_len] = '\0';
	return sv_index_fields(m);
}

bool sv_field_is(const struct sv_field *f, const char *name, size_t len)
{
	return sv_strcasecmp_len(f->name, f->name_len, name, len) == 0;
}

static bool sv_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int sv_field_unfold(struct sv_msg *m, struct sv_field *f)
{
	const char *s = f->raw;
	size_t len = f->raw_len;

	while (len > 0 && sv_ws(*s)) {
		s++;
		len--;
	}
	while (len > 0 && sv_ws(s[len - 1]))
		len--;
	char *v = sv_arena_alloc(m->arena, len + 1);
	if (v == NULL)
		return -ENOMEM;
	size_t n = 0;
	/* Unfolding removes the line ends; the white space after stays. */
	for (size_t i = 0; i < len; i++)
		if (s[i] != '\r' && s[i] != '\n')
			v[n++] = s[i];
	v[n] = '\0';
	f->value = v;
	f->value_len = n;
	return 0;
}

static bool sv_needs_decoding(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80 ||
		    (s[i] == '=' && i + 1 < len && s[i + 1] == '?'))
			return true;
	return false;
}

const struct sv_val *sv_field_value(struct sv_msg *m, struct sv_field *f,
				    bool decoded, struct sv_val *v_r)
{
	if (f->value == NULL && sv_field_unfold(m, f) < 0)
		return NULL;
	v_r->s = f->value;
	v_r->len = f->value_len;
	if (!decoded)
		return v_r;
	if (f->decoded == NULL) {
		if (!sv_needs_decoding(f->value, f->value_len) ||
		    memchr(f->value, '\0', f->value_len) != NULL) {
			f->decoded = f->value;
			f->decoded_len = f->value_len;
		} else {
			char *d = g_mime_utils_header_decode_text(NULL,
								  f->value);
			if (d == NULL)
				return NULL;
			size_t dlen = strlen(d);
			f->decoded = sv_arena_strndup(m->arena, d, dlen);
			f->decoded_len = dlen;
			g_free(d);
			if (f->decoded == NULL)
				return NULL;
			*m->cpu += f->value_len;
		}
	}
	v_r->s = f->decoded;
	v_r->len = f->decoded_len;
	return v_r;
}

bool sv_msg_first(struct sv_msg *m, const char *name, bool decoded,
		  struct sv_val *v_r)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < m->n_fields; i++)
		if (sv_field_is(&m->fields[i], name, len))
			return sv_field_value(m, &m->fields[i], decoded,
					      v_r) != NULL;
	return false;
}

int sv_msg_body(struct sv_msg *m, struct sv_val *body_r)
{
	int ret = sv_msg_header(m);

	if (ret < 0)
		return ret;
	if (!m->body_read) {
		size_t max = m->lim->max_body_size;
		m->body_read = true;
		m->body = sv_arena_alloc(m->arena, max + 1);
		if (m->body == NULL)
			return -ENOMEM;
		ssize_t n = sv_msg_read(m, m->header_len, m->body, max);
		if (n < 0) {
			m->body = NULL;
			return (int)n;
		}
		m->body_len = (size_t)n;
		m->body[n] = '\0';
		*m->cpu += (size_t)n;
	}
	if (m->body == NULL)
		return -EIO;
	body_r->s = m->body;
	body_r->len = m->body_len;
	return 0;
}

/* MIME parts */

struct sv_walk {
	struct sv_msg *m;
	size_t cap;
	size_t budget;              /* decoded octets still allowed */
	int ret;
};

size_t sv_strip_tags(char *s, size_t len)
{
	size_t n = 0;
	bool tag = false;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '<')
			tag = true;
		else if (s[i] == '>' && tag)
			tag = false;
		else if (!tag)
			s[n++] = s[i];
	}
	return n;
}

static void sv_walk_add(struct sv_walk *w, const char *type, bool text,
			const char *data, size_t len)
{
	struct sv_msg *m = w->m;

	if (w->ret < 0 || m->n_parts >= w->cap)
		return;
	if (len > w->budget)
		len = sv_utf8_cut(data, len, w->budget);
	w->budget -= len;
	struct sv_part *p = &m->parts[m->n_parts];
	char *copy = sv_arena_strndup(m->arena, data, len);
	if (copy == NULL) {
		w->ret = -ENOMEM;
		return;
	}
	snprintf(p->type, sizeof(p->type), "%s", type);
	for (char *c = p->type; *c; c++)
		*c = sv_lower(*c);
	p->text = text;
	p->content.s = copy;
	p->content.len = len;
	*m->cpu += len;
	m->n_parts++;
}

static void sv_walk(struct sv_walk *w, GMimeObject *obj, unsigned depth)
{
	if (obj == NULL || w->ret < 0 || w->m->n_parts >= w->cap ||
	    depth > 32)
		return;
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	char type[64];
	snprintf(type, sizeof(type), "%s/%s",
		 ct ? g_mime_content_type_get_media_type(ct) : "text",
		 ct ? g_mime_content_type_get_media_subtype(ct) : "plain");

	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int n = g_mime_multipart_get_count(mp);
		for (int i = 0; i < n && w->ret == 0; i++)
			sv_walk(w, g_mime_multipart_get_part(mp, i), depth + 1);
		return;
	}
	if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *msg = g_mime_message_part_get_message(
			GMIME_MESSAGE_PART(obj));
		if (msg == NULL)
			return;
		/* :content "message/rfc822" sees the embedded header. */
		char *hdr = g_mime_object_get_headers(GMIME_OBJECT(msg), NULL);
		if (hdr != NULL) {
			sv_walk_add(w, type, false, hdr, strlen(hdr));
			g_free(hdr);
		}
		sv_walk(w, g_mime_message_get_mime_part(msg), depth + 1);
		return;
	}
	if (!GMIME_IS_PART(obj))
		return;
	if (GMIME_IS_TEXT_PART(obj)) {
		char *text = g_mime_text_part_get_text(GMIME_TEXT_PART(obj));
		if (text != NULL) {
			sv_walk_add(w, type, true, text, strlen(text));
			g_free(text);
		}
		return;
	}
	GMimeDataWrapper *content = g_mime_part_get_content(GMIME_PART(obj));
	if (content == NULL) {
		sv_walk_add(w, type, false, "", 0);
		return;
	}
	GMimeStream *out = g_mime_stream_mem_new();
	g_mime_data_wrapper_write_to_stream(content, out);
	GByteArray *bytes = g_mime_stream_mem_get_byte_array(
		GMIME_STREAM_MEM(out));
	sv_walk_add(w, type, false, (const char *)bytes->data, bytes->len);
	g_object_unref(out);
}

/* The length of body up to its max_lines-th line starting "--" (every
 * MIME part starts after one), or all of it. */
static size_t sv_parts_cut(const char *body, size_t len, size_t max_lines)
{
	size_t lines = 0;

	for (size_t i = 0; i + 1 < len; i++) {
		if ((i == 0 || body[i - 1] == '\n') && body[i] == '-' &&
		    body[i + 1] == '-' && ++lines > max_lines)
			return i;
	}
	return len;
}

int sv_msg_parts(struct sv_msg *m, const struct sv_part **parts_r,
		 size_t *n_r)
{
	struct sv_val body;
	int ret;

	if (!m->parts_read) {
		ret = sv_msg_body(m, &body);
		if (ret < 0)
			return ret;
		m->parts_read = true;
		size_t cap = m->lim->max_mime_parts ? m->lim->max_mime_parts : 1;
		m->parts = sv_arena_alloc(m->arena, cap * sizeof(*m->parts));
		if (m->parts == NULL)
			return -ENOMEM;
		/* GMime copies this buffer (header + body as read), cut
		 * where its boundary lines outnumber the parts we would
		 * look at: it builds its whole tree before we walk it. */
		size_t len = sv_parts_cut(body.s, body.len, 2 * cap + 16);
		GByteArray *all = g_byte_array_sized_new(
			(guint)(m->header_len + len));
		g_byte_array_append(all, (const guint8 *)m->header,
				    (guint)m->header_len);
		g_byte_array_append(all, (const guint8 *)body.s, (guint)len);
		GMimeStream *stream = g_mime_stream_mem_new_with_byte_array(all);
		GMimeParser *parser = g_mime_parser_new_with_stream(stream);
		GMimeMessage *msg = g_mime_parser_construct_message(parser,
								    NULL);
		struct sv_walk w = { m, cap, 4 * m->lim->max_body_size + 4096,
				     0 };
		if (msg != NULL) {
			sv_walk(&w, g_mime_message_get_mime_part(msg), 0);
			g_object_unref(msg);
		}
		g_object_unref(parser);
		g_object_unref(stream);
		if (w.ret < 0)
			return w.ret;
	}
	*parts_r = m->parts;
	*n_r = m->n_parts;
	return 0;
}
