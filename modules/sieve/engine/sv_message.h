/* The message as tests see it: the header section read once (bounded),
 * indexed into at most max_header_fields fields; values unfolded,
 * trimmed and, for header/date tests, RFC 2047-decoded to UTF-8 (cached
 * per field); the body read only when a body test needs it, its MIME
 * parts decoded with GMime within max_body_size / max_mime_parts. */
#ifndef SV_MESSAGE_H
#define SV_MESSAGE_H

#include "sv.h"

struct sv_field {
	const char *name;
	size_t name_len;
	const char *raw;            /* folded value as in the message */
	size_t raw_len;
	char *value;                /* unfolded and trimmed, or NULL */
	size_t value_len;
	char *decoded;              /* RFC 2047 decoded, or NULL */
	size_t decoded_len;
};

struct sv_msg {
	const struct sieve_message *src;
	const struct sieve_limits *lim;
	struct sv_arena *arena;     /* lives as long as the evaluation */
	uint64_t *cpu;              /* the evaluation's work counter */
	bool header_read;
	char *header;               /* the header section, NUL after */
	size_t header_len;
	struct sv_field *fields;
	size_t n_fields;
	bool body_read;
	char *body;                 /* up to max_body_size of the body */
	size_t body_len;
	bool parts_read;
	struct sv_part *parts;
	size_t n_parts;
};

/* One MIME leaf (or message/rfc822 header) body tests look at. */
struct sv_part {
	char type[64];              /* "text/plain", lower case */
	struct sv_val content;      /* decoded (text: UTF-8) */
	bool text;                  /* a text part */
};

void sv_msg_init(struct sv_msg *m, const struct sieve_message *src,
		 const struct sieve_limits *lim, struct sv_arena *arena,
		 uint64_t *cpu);
void sv_msg_free(struct sv_msg *m);

/* Reads and indexes the header section if not yet done. 0, -EIO (the
 * reader failed) or -ENOMEM. */
int sv_msg_header(struct sv_msg *m);
/* Parses a header section given as bytes (for sieve_vacation_refusal). */
int sv_msg_header_from(struct sv_msg *m, const char *header, size_t len);
/* Fields named name (case-insensitive), in message order. */
bool sv_field_is(const struct sv_field *f, const char *name, size_t len);
/* The field's unfolded, trimmed value; decoded: RFC 2047 words (and raw
 * 8-bit text) turned into UTF-8. NULL on -ENOMEM. */
const struct sv_val *sv_field_value(struct sv_msg *m, struct sv_field *f,
				    bool decoded, struct sv_val *v_r);
/* The first field of that name's value, or false. */
bool sv_msg_first(struct sv_msg *m, const char *name, bool decoded,
		  struct sv_val *v_r);

/* :text of an HTML part: tags dropped in place (RFC 5173 5.1 leaves the
 * conversion to the implementation); the new length. */
size_t sv_strip_tags(char *s, size_t len);
/* The body (everything after the header section), at most
 * max_body_size octets. 0, -EIO or -ENOMEM. */
int sv_msg_body(struct sv_msg *m, struct sv_val *body_r);
/* Decoded MIME leaves (and embedded message headers), pre-order, at most
 * max_mime_parts. 0, -EIO or -ENOMEM. */
int sv_msg_parts(struct sv_msg *m, const struct sv_part **parts_r,
		 size_t *n_r);

#endif
