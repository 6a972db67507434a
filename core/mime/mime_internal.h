/* Internal to core/mime: the part tree of one message, shared by the range
 * scan (mime_scan.c), the IMAP writers (mime_imap.c, mime_rfc822.c) and
 * the section table (mime_parts.c). */
#ifndef POSTINO_MIME_INTERNAL_H
#define POSTINO_MIME_INTERNAL_H

#include <gmime/gmime.h>
#include <stdbool.h>

#include "mime/mime.h"

/* Node kinds, also the first byte of each record of the section table. */
#define MIME_NODE_MESSAGE   'M' /* a message: one child, its root part */
#define MIME_NODE_MULTIPART 'm' /* children: the body parts */
#define MIME_NODE_RFC822    'r' /* message/rfc822 part: one child, 'M' */
#define MIME_NODE_LEAF      'l' /* any other part */

/* One node, in pre-order. [hs, bs) is the header including the blank
 * line, [bs, be) the body, both offsets into the stored message. size is
 * the number of nodes of the subtree (this one included). obj borrows
 * from the GMime tree (NULL for a synthetic part or an empty message). */
struct mime_node {
	char kind;
	bool opaque;    /* nesting too deep: shown as application/octet-stream */
	bool synthetic; /* stands for an unparsable multipart body */
	size_t hs, bs, be;
	uint32_t size;
	GMimeObject *obj;
};

struct mime_tree {
	const char *buf;
	size_t len;
	struct mime_node *nodes;
	size_t count, cap;
};

/* Pass 1: the tree of message (NULL when GMime found none) over buf. */
int mime_scan(struct mime_tree *tree, GMimeMessage *message);

/* Pass 2: IMAP strings (GString from GLib, as GMime uses it). */
void mime_write_envelope(GString *out, const struct mime_tree *tree,
			 size_t msg_idx);
void mime_write_body(GString *out, const struct mime_tree *tree,
		     size_t idx, bool extended);
char *mime_parts_serialize(const struct mime_tree *tree);

/* An IMAP nstring: NIL for NULL, a quoted string, or a literal when the
 * value has 8-bit bytes, CR, LF or is long. */
void mime_write_nstring(GString *out, const char *value, size_t len);
void mime_write_cstring(GString *out, const char *value);

/* RFC 5322 helpers over an unfolded header value. */
void mime_write_address_list(GString *out, const char *value);
/* Content-Type / Content-Disposition parameters as an IMAP list or NIL;
 * RFC 2231 continuations joined, extended values left encoded. */
void mime_write_params(GString *out, const char *value);
/* First token of a structured value (type of Content-Disposition etc.),
 * lower-cased, into a new string; NULL when none. */
char *mime_first_token(const char *value);

/* A header of obj unfolded (CR/LF removed, ends trimmed), newly
 * allocated; NULL when absent or obj is NULL. */
char *mime_header_get(GMimeObject *obj, const char *name);

#endif
