/* TLS record framing, followed byte by byte across reads of any size. */
#include "net/tls_frame.h"

#include <string.h>

/* RFC 8446 5.1 / RFC 5246 6.2.1: change_cipher_spec(20) .. heartbeat(24);
 * the version's first byte is 3 in every TLS record. A header outside
 * this is not TLS framing, and guessing on would misjudge the stream. */
#define TLS_TYPE_FIRST 20
#define TLS_TYPE_LAST 24
#define TLS_VERSION_MAJOR 3

void tls_frame_init(struct tls_frame *frame)
{
	memset(frame, 0, sizeof(*frame));
}

void tls_frame_feed(struct tls_frame *frame, const void *data, size_t len)
{
	const unsigned char *p = data;

	while (len > 0 && !frame->lost) {
		if (frame->body_left > 0) {
			size_t n = len < frame->body_left ? len
							  : frame->body_left;
			frame->body_left -= (uint32_t)n;
			p += n;
			len -= n;
			continue;
		}
		frame->header[frame->header_len++] = *p++;
		len--;
		if (frame->header_len < sizeof(frame->header))
			continue;
		frame->header_len = 0;
		if (frame->header[0] < TLS_TYPE_FIRST ||
		    frame->header[0] > TLS_TYPE_LAST ||
		    frame->header[1] != TLS_VERSION_MAJOR) {
			frame->lost = 1;
			return;
		}
		frame->body_left = (uint32_t)frame->header[3] << 8 |
				   frame->header[4];
	}
}

int tls_frame_partial(const struct tls_frame *frame)
{
	return !frame->lost && (frame->header_len > 0 || frame->body_left > 0);
}
