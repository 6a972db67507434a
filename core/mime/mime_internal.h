/* Internal to core/mime: the part tree of one message, built by the
 * bounded walker (mime_scan.c) and read by the IMAP writers (mime_imap.c,
 * mime_rfc822.c) and the section table (mime_parts.c). */
#ifndef POSTINO_MIME_INTERNAL_H
#define POSTINO_MIME_INTERNAL_H

#include <glib.h>
#include <stdbool.h>

#include "mime/mime.h"

/* Node kinds, also the first byte of each record of the section table. */
#define MIME_NODE_MESSAGE   'M' /* a message: one child, its root part */
#define MIME_NODE_MULTIPART 'm' /* children: the body parts */
#define MIME_NODE_RFC822    'r' /* message/rfc822 part: one child, 'M' */
#define MIME_NODE_LEAF      'l' /* any other part */

/* One node, in pre-order. [hs, bs) is the header including the blank
 * line (a message and its root part share theirs), [bs, be) the body,
 * both offsets into the stored message. size is the number of nodes of
 * the subtree (this one included). type and subtype: the media type as
 * written (or the default), owned by the tree; NULL for a message. */
struct mime_node {
	char kind;
	bool opaque;    /* shown as application/octet-stream: nesting too
			 * deep, over the part cap, or an encoded message */
	bool synthetic; /* no header of its own: the body of a multipart
			 * without parts, or the rest of one past the cap */
	size_t hs, bs, be;
	uint32_t size;
	size_t lines;   /* line count of [bs, be), set by mime_lines() */
	char *type, *subtype;
};

struct mime_tree {
	const char *buf;
	size_t len;
	struct mime_node *nodes;
	size_t count, cap;
};

/* Pass 1: the tree over tree->buf. Bounded: at most MIME_MAX_NODES nodes
 * whatever the input (see mime_scan.c). 0 or -ENOMEM. */
int mime_scan(struct mime_tree *tree);
/* Frees the nodes and their strings; the tree may be scanned again. */
void mime_tree_free(struct mime_tree *tree);
/* Sets every node's lines in one pass over the buffer. 0 or -ENOMEM. */
int mime_lines(struct mime_tree *tree);

/* The most nodes a tree holds: MIME_MAX_PARTS, plus the embedded message
 * and its root part of a message/rfc822 part opened just under the cap,
 * plus one "rest" leaf per multipart still open when the cap is hit. */
#define MIME_MAX_NODES (MIME_MAX_PARTS + 2 + MIME_MAX_DEPTH + 1)

/* Pass 2: IMAP strings (GString from GLib). */
void mime_write_envelope(GString *out, const struct mime_tree *tree,
			 size_t msg_idx);
void mime_write_body(GString *out, const struct mime_tree *tree,
		     size_t idx, bool extended);
char *mime_parts_serialize(const struct mime_tree *tree);
/* The section table back into nodes (kind, ranges and size only; type
 * and subtype NULL), checked for consistency. 0, -EINVAL or -ENOMEM. */
int mime_parts_parse(const char *parts, struct mime_node **nodes_r,
		     size_t *count_r);

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

/* Header fields of node idx's header block (mime_header.c): the first
 * field called name (the last one when last is true), unfolded (CR and
 * LF removed, ends trimmed), newly allocated (g_free); NULL when absent,
 * and always for a synthetic node. */
char *mime_header_get(const struct mime_tree *tree, size_t idx,
		      const char *name, bool last);
/* Every header field of node idx's header block, in order: field(data,
 * name, its length, value unfolded and trimmed, valid during the call; a
 * NUL in it ends it). One walk over the block. */
void mime_header_each(const struct mime_tree *tree, size_t idx,
		      void (*field)(void *data, const char *name,
				    size_t nlen, const char *value),
		      void *data);
/* The same addresses as SEARCH matches them (mime_rfc822.c). */
void mime_search_address_list(GString *out, const char *value);

#endif
