/* ratelimit.so's pure parts (see rl_window.h). */
#include "rl_window.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the send window ---------------------------------------------------- */

int64_t rl_gran(int64_t window)
{
	if (window < 120)
		return 1;
	int64_t minutes = (window / 256 + 59) / 60;

	return (minutes < 1 ? 1 : minutes) * 60;
}

void rl_window_free(struct rl_window *w)
{
	free(w->b);
	w->b = NULL;
	w->n = w->cap = 0;
}

static int bucket_live(const struct rl_bucket *b, int64_t now, int64_t window,
		       int64_t gran)
{
	return now < b->t + gran + window;
}

static void drop_first(struct rl_window *w, size_t k)
{
	if (k == 0)
		return;
	memmove(w->b, w->b + k, (w->n - k) * sizeof(*w->b));
	w->n -= k;
}

void rl_window_prune(struct rl_window *w, int64_t now, int64_t window,
		     int64_t gran)
{
	size_t k = 0;

	while (k < w->n && !bucket_live(&w->b[k], now, window, gran))
		k++;
	drop_first(w, k);
}

void rl_window_drop_until(struct rl_window *w, int64_t t)
{
	size_t k = 0;

	while (k < w->n && w->b[k].t <= t)
		k++;
	drop_first(w, k);
}

uint64_t rl_window_used(const struct rl_window *w, int64_t now,
			int64_t window, int64_t gran)
{
	uint64_t used = 0;

	for (size_t i = 0; i < w->n; i++)
		if (bucket_live(&w->b[i], now, window, gran))
			used += w->b[i].n;
	return used;
}

int rl_window_add(struct rl_window *w, int64_t now, int64_t gran, uint32_t n)
{
	int64_t t = now - ((now % gran) + gran) % gran;

	if (n == 0)
		return 0;
	/* Same bucket, or the clock went back: add to the newest. */
	if (w->n > 0 && w->b[w->n - 1].t >= t) {
		struct rl_bucket *last = &w->b[w->n - 1];

		last->n = last->n > UINT32_MAX - n ? UINT32_MAX : last->n + n;
		return 0;
	}
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 8;
		struct rl_bucket *b = realloc(w->b, cap * sizeof(*b));

		if (b == NULL)
			return -1;
		w->b = b;
		w->cap = cap;
	}
	w->b[w->n].t = t;
	w->b[w->n].n = n;
	w->n++;
	return 0;
}

int64_t rl_window_free_at(const struct rl_window *w, int64_t now,
			  int64_t window, int64_t gran, uint64_t excess)
{
	uint64_t freed = 0;

	if (excess == 0)
		return now;
	for (size_t i = 0; i < w->n; i++) {
		if (!bucket_live(&w->b[i], now, window, gran))
			continue;
		freed += w->b[i].n;
		if (freed >= excess)
			return w->b[i].t + gran + window;
	}
	/* The rest are this transaction's: counted now, they leave with
	 * now's bucket. */
	return now - ((now % gran) + gran) % gran + gran + window;
}

int64_t rl_window_oldest_leaves(const struct rl_window *w, int64_t now,
				int64_t window, int64_t gran)
{
	for (size_t i = 0; i < w->n; i++)
		if (bucket_live(&w->b[i], now, window, gran))
			return w->b[i].t + gran + window;
	return 0;
}

int64_t rl_window_newest(const struct rl_window *w)
{
	return w->n > 0 ? w->b[w->n - 1].t : 0;
}

int rl_window_format(const struct rl_window *w, char *buf, size_t len)
{
	size_t off;
	int ret = snprintf(buf, len, "1");

	if (ret < 0 || (size_t)ret >= len)
		return -1;
	off = (size_t)ret;
	for (size_t i = 0; i < w->n; i++) {
		ret = snprintf(buf + off, len - off, " %" PRId64 ":%" PRIu32,
			       w->b[i].t, w->b[i].n);
		if (ret < 0 || (size_t)ret >= len - off)
			return -1;
		off += (size_t)ret;
	}
	return (int)off;
}

/* One decimal number of buf[*pos..end), no sign. */
static int parse_u64(const char *buf, size_t end, size_t *pos, uint64_t *v)
{
	size_t i = *pos;
	uint64_t x = 0;

	if (i >= end || !isdigit((unsigned char)buf[i]))
		return -1;
	while (i < end && isdigit((unsigned char)buf[i])) {
		unsigned d = (unsigned)(buf[i] - '0');

		if (x > (UINT64_MAX - d) / 10)
			return -1;
		x = x * 10 + d;
		i++;
	}
	*pos = i;
	*v = x;
	return 0;
}

int rl_window_parse(struct rl_window *w, const char *buf, size_t len)
{
	size_t pos = 0;

	w->n = 0;
	if (len < 1 || buf[0] != '1' || (len > 1 && buf[1] != ' '))
		return -1;
	pos = 1;
	while (pos < len) {
		uint64_t t, n;
		if (buf[pos] != ' ')
			goto bad;
		pos++;
		if (parse_u64(buf, len, &pos, &t) < 0)
			goto bad;
		if (pos >= len)
			break; /* cut short: ignore the incomplete token */
		if (buf[pos] != ':')
			goto bad;
		pos++;
		if (parse_u64(buf, len, &pos, &n) < 0)
			goto bad;
		if (t > INT64_MAX || n > UINT32_MAX ||
		    (w->n > 0 && (int64_t)t <= w->b[w->n - 1].t))
			goto bad;
		if (w->n == w->cap) {
			size_t cap = w->cap ? w->cap * 2 : 8;
			struct rl_bucket *b = realloc(w->b, cap * sizeof(*b));

			if (b == NULL)
				goto bad;
			w->b = b;
			w->cap = cap;
		}
		w->b[w->n].t = (int64_t)t;
		w->b[w->n].n = (uint32_t)n;
		w->n++;
	}
	return 0;
bad:
	w->n = 0;
	return -1;
}

int rl_lower_copy(char *out, size_t len, const char *in)
{
	size_t n = in != NULL ? strlen(in) : 0;

	if (n == 0 || n >= len)
		return -1;
	for (size_t i = 0; i <= n; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	return 0;
}

void rl_hhmm(int64_t at, char out[6])
{
	time_t t;
	struct tm tm;

	if (at % 60 != 0)
		at += 60 - ((at % 60) + 60) % 60;
	t = (time_t)at;
	if (localtime_r(&t, &tm) == NULL) {
		memcpy(out, "--:--", 6);
		return;
	}
	unsigned h = (unsigned)tm.tm_hour % 24u, m = (unsigned)tm.tm_min % 60u;

	out[0] = (char)('0' + h / 10);
	out[1] = (char)('0' + h % 10);
	out[2] = ':';
	out[3] = (char)('0' + m / 10);
	out[4] = (char)('0' + m % 10);
	out[5] = '\0';
}

/* ---- login failures --------------------------------------------------------- */

static void fails_prune(struct rl_fails *f, int64_t now_ms, int64_t window_ms)
{
	uint32_t k = 0;

	while (k < f->n && f->t[k] <= now_ms - window_ms)
		k++;
	if (k > 0) {
		memmove(f->t, f->t + k, (f->n - k) * sizeof(*f->t));
		f->n -= k;
	}
}

int rl_fails_add(struct rl_fails *f, int64_t now_ms, int64_t window_ms,
		 uint32_t cap)
{
	if (cap == 0)
		return 0;
	if (f->cap != cap) {
		if (f->n > cap) { /* keep the newest cap */
			memmove(f->t, f->t + (f->n - cap),
				cap * sizeof(*f->t));
			f->n = cap;
		}
		int64_t *t = realloc(f->t, cap * sizeof(*t));

		if (t == NULL)
			return -1;
		f->t = t;
		f->cap = cap;
	}
	fails_prune(f, now_ms, window_ms);
	if (f->n == f->cap) {
		memmove(f->t, f->t + 1, (f->n - 1) * sizeof(*f->t));
		f->n--;
	}
	f->t[f->n++] = now_ms;
	return 0;
}

uint32_t rl_fails_count(struct rl_fails *f, int64_t now_ms, int64_t window_ms)
{
	fails_prune(f, now_ms, window_ms);
	return f->n;
}

void rl_fails_free(struct rl_fails *f)
{
	free(f->t);
	f->t = NULL;
	f->n = f->cap = 0;
}

/* ---- networks ---------------------------------------------------------------- */

/* ip as 4 or 16 bytes; IPv4-mapped IPv6 becomes IPv4. */
static int ip_parse(const char *ip, uint8_t addr[16])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					    0xff, 0xff };

	if (inet_pton(AF_INET, ip, addr) == 1)
		return 4;
	if (inet_pton(AF_INET6, ip, addr) != 1)
		return 0;
	if (memcmp(addr, mapped, sizeof(mapped)) == 0) {
		memmove(addr, addr + 12, 4);
		return 4;
	}
	return 6;
}

int rl_net_parse(const char *text, struct rl_net *net)
{
	char ip[64];
	const char *slash = strchr(text, '/');
	size_t len = slash != NULL ? (size_t)(slash - text) : strlen(text);

	memset(net, 0, sizeof(*net));
	if (len == 0 || len >= sizeof(ip))
		return -1;
	memcpy(ip, text, len);
	ip[len] = '\0';
	if (inet_pton(AF_INET, ip, net->addr) == 1)
		net->family = 4;
	else if (inet_pton(AF_INET6, ip, net->addr) == 1)
		net->family = 6;
	else
		return -1;
	net->prefix = net->family == 4 ? 32 : 128;
	if (slash != NULL) {
		const char *p = slash + 1;
		int prefix = 0;

		if (*p == '\0' || strlen(p) > 3)
			return -1;
		for (; *p != '\0'; p++) {
			if (!isdigit((unsigned char)*p))
				return -1;
			prefix = prefix * 10 + (*p - '0');
		}
		if (prefix > net->prefix)
			return -1;
		net->prefix = prefix;
	}
	return 0;
}

int rl_net_parse_list(const char *text, struct rl_net **nets_r, char *bad,
		      size_t badlen)
{
	struct rl_net *nets = NULL;
	int count = 0;
	const char *p = text != NULL ? text : "";

	*nets_r = NULL;
	while (*p != '\0') {
		char item[80];
		size_t len;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		len = strcspn(p, ", \t");
		if (len == 0)
			break;
		struct rl_net net;
		int ok = len < sizeof(item);

		if (ok) {
			memcpy(item, p, len);
			item[len] = '\0';
			ok = rl_net_parse(item, &net) == 0;
		}
		if (!ok) {
			snprintf(bad, badlen, "%.*s", (int)len, p);
			free(nets);
			return -1;
		}
		struct rl_net *grown = realloc(nets, (size_t)(count + 1) *
						     sizeof(*nets));
		if (grown == NULL) {
			snprintf(bad, badlen, "(out of memory)");
			free(nets);
			return -1;
		}
		nets = grown;
		nets[count++] = net;
		p += len;
	}
	*nets_r = nets;
	return count;
}

int rl_net_match(const struct rl_net *net, const char *ip)
{
	uint8_t addr[16];
	int family = ip != NULL ? ip_parse(ip, addr) : 0;
	int bits = net->prefix;

	if (family == 0 || family != net->family)
		return 0;
	int bytes = bits / 8;

	if (memcmp(addr, net->addr, (size_t)bytes) != 0)
		return 0;
	if (bits % 8 == 0)
		return 1;
	uint8_t mask = (uint8_t)(0xff << (8 - bits % 8));

	return (addr[bytes] & mask) == (net->addr[bytes] & mask);
}

int rl_net_match_list(const struct rl_net *nets, int count, const char *ip)
{
	for (int i = 0; i < count; i++)
		if (rl_net_match(&nets[i], ip))
			return 1;
	return 0;
}
