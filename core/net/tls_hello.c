/* ClientHello versions; see tls_hello.h. RFC 5246 7.4.1.2 and RFC 8446
 * 4.1.2 give the layout, identical for every version:
 *   legacy_version(2) random(32) session_id<0..32> cipher_suites<2..2^16-2>
 *   compression_methods<1..2^8-1> [extensions<0..2^16-1>]
 * Every length is checked against what is left before it is used. */
#include "net/tls_hello.h"

#define TLS_HELLO_RANDOM 32
#define TLS_EXT_SUPPORTED_VERSIONS 43
#define TLS_VERSION_SSL3 0x0300
#define TLS_VERSION_TLS13 0x0304

struct reader {
	const unsigned char *p;
	size_t left;
};

static int take(struct reader *r, size_t n, const unsigned char **out)
{
	if (n > r->left)
		return -1;
	if (out != NULL)
		*out = r->p;
	r->p += n;
	r->left -= n;
	return 0;
}

static int take_u8(struct reader *r, size_t *value)
{
	const unsigned char *p;

	if (take(r, 1, &p) < 0)
		return -1;
	*value = p[0];
	return 0;
}

static int take_u16(struct reader *r, size_t *value)
{
	const unsigned char *p;

	if (take(r, 2, &p) < 0)
		return -1;
	*value = (size_t)p[0] << 8 | p[1];
	return 0;
}

/* SSL 3.0 to TLS 1.3; GREASE values (RFC 8701: 0x?A?A) and drafts are
 * not versions a client can be refused for. */
static int known_version(uint16_t v)
{
	return v >= TLS_VERSION_SSL3 && v <= TLS_VERSION_TLS13;
}

/* The highest known version in a supported_versions list, 0 if none. */
static uint16_t ext_max_version(const unsigned char *data, size_t len)
{
	struct reader r = { data, len };
	const unsigned char *list;
	size_t list_len;
	uint16_t best = 0;

	if (take_u8(&r, &list_len) < 0 || list_len % 2 != 0 ||
	    take(&r, list_len, &list) < 0)
		return 0;
	for (size_t i = 0; i < list_len; i += 2) {
		uint16_t v = (uint16_t)(list[i] << 8 | list[i + 1]);
		if (known_version(v) && v > best)
			best = v;
	}
	return best;
}

uint16_t tls_hello_max_version(const unsigned char *body, size_t len)
{
	struct reader r = { body, len };
	size_t legacy, n;

	if (take_u16(&r, &legacy) < 0 || take(&r, TLS_HELLO_RANDOM, NULL) < 0 ||
	    take_u8(&r, &n) < 0 || take(&r, n, NULL) < 0 ||
	    take_u16(&r, &n) < 0 || take(&r, n, NULL) < 0 ||
	    take_u8(&r, &n) < 0 || take(&r, n, NULL) < 0)
		return 0;
	/* No extensions at all: an SSL 3.0-era hello. */
	if (r.left == 0)
		return (uint16_t)legacy;
	size_t ext_len;
	struct reader exts;
	if (take_u16(&r, &ext_len) < 0 || take(&r, ext_len, &exts.p) < 0)
		return 0;
	exts.left = ext_len;
	while (exts.left > 0) {
		size_t type;
		const unsigned char *data;
		if (take_u16(&exts, &type) < 0 || take_u16(&exts, &n) < 0 ||
		    take(&exts, n, &data) < 0)
			return 0;
		if (type == TLS_EXT_SUPPORTED_VERSIONS) {
			uint16_t best = ext_max_version(data, n);
			if (best != 0)
				return best;
		}
	}
	return (uint16_t)legacy;
}

const char *tls_hello_version_name(uint16_t version)
{
	static const char *const names[] = {
		"SSL3.0", "TLS1.0", "TLS1.1", "TLS1.2", "TLS1.3",
	};

	if (!known_version(version))
		return "unknown";
	return names[version - TLS_VERSION_SSL3];
}
