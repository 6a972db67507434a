/* Where a TLS byte stream stands in its record framing, without decrypting
 * it: whether the last byte seen ended a record or one is still arriving.
 * GnuTLS keeps an incomplete record to itself, so this is how the command
 * deadline (conn.c) sees a client that trickles a record a byte at a time.
 * Every TLS version since SSL 3.0 frames records the same way: a 5-byte
 * header (content type, version, 16-bit length), then length bytes. */
#ifndef POSTINO_TLS_FRAME_H
#define POSTINO_TLS_FRAME_H

#include <stddef.h>
#include <stdint.h>

struct tls_frame {
	unsigned char header[5];
	uint8_t header_len;  /* header bytes of the next record seen so far */
	uint32_t body_left;  /* bytes of the current record still to come */
	int lost;            /* not framing we know: stop judging */
};

/* From the first byte of the TLS stream (the ClientHello). */
void tls_frame_init(struct tls_frame *frame);
/* Follows len more bytes of the client's stream. */
void tls_frame_feed(struct tls_frame *frame, const void *data, size_t len);
/* 1 while a record has begun and not ended; 0 at a record boundary, and
 * always 0 once the framing was not understood (an SSLv2-style hello or
 * garbage, which GnuTLS then refuses on its own). */
int tls_frame_partial(const struct tls_frame *frame);

#endif
