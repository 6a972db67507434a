/* Allow-lists and header texts (spf_policy.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "spf_policy.h"

#define VALUE_MAX 256 /* of one sender-supplied value in a header */

/* ---- networks ------------------------------------------------------------ */

/* ip as 16 bytes (IPv4 in the first 4), its family; -1 when not an IP. */
static int ip_parse(const char *ip, uint8_t addr[16], int *family_r)
{
	memset(addr, 0, 16);
	if (strncasecmp(ip, "::ffff:", 7) == 0 && strchr(ip + 7, ':') == NULL)
		ip += 7;
	if (inet_pton(AF_INET, ip, addr) == 1) {
		*family_r = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, ip, addr) == 1) {
		*family_r = AF_INET6;
		return 0;
	}
	return -1;
}

static int net_parse(const char *item, struct spf_net *net)
{
	char ip[64];
	const char *slash = strchr(item, '/');
	size_t n = slash != NULL ? (size_t)(slash - item) : strlen(item);

	if (n == 0 || n >= sizeof(ip))
		return -1;
	memcpy(ip, item, n);
	ip[n] = '\0';
	if (ip_parse(ip, net->addr, &net->family) < 0)
		return -1;
	int max = net->family == AF_INET ? 32 : 128;

	net->prefix = max;
	if (slash != NULL) {
		char *end;
		long p = strtol(slash + 1, &end, 10);

		if (!isdigit((unsigned char)slash[1]) || *end != '\0' || p < 0 ||
		    p > max)
			return -1;
		net->prefix = (int)p;
	}
	return 0;
}

int spf_net_parse_list(const char *text, struct spf_net **nets_r, char *bad,
		       size_t badlen)
{
	struct spf_net *nets = NULL;
	int count = 0;
	char item[80];

	*nets_r = NULL;
	for (const char *p = text != NULL ? text : ""; *p != '\0';) {
		size_t n = strcspn(p, ", \t");

		if (n == 0) {
			p++;
			continue;
		}
		snprintf(item, sizeof(item), "%.*s", (int)n, p);
		struct spf_net *grown = realloc(nets,
						(size_t)(count + 1) *
							sizeof(*nets));

		if (grown == NULL) {
			free(nets);
			return -ENOMEM;
		}
		nets = grown;
		if (n >= sizeof(item) || net_parse(item, &nets[count]) < 0) {
			snprintf(bad, badlen, "%.*s", (int)n, p);
			free(nets);
			return -EINVAL;
		}
		count++;
		p += n;
	}
	*nets_r = nets;
	return count;
}

int spf_net_match(const struct spf_net *nets, int count, const char *ip)
{
	uint8_t addr[16];
	int family;

	if (ip == NULL || ip_parse(ip, addr, &family) < 0)
		return 0;
	for (int i = 0; i < count; i++) {
		const struct spf_net *net = &nets[i];
		int bits = net->prefix, whole = bits / 8, rest = bits % 8;

		if (net->family != family ||
		    memcmp(net->addr, addr, (size_t)whole) != 0)
			continue;
		if (rest == 0 ||
		    ((net->addr[whole] ^ addr[whole]) &
		     (uint8_t)(0xff << (8 - rest))) == 0)
			return 1;
	}
	return 0;
}

int spf_domain_listed(const char *list, const char *domain)
{
	size_t dlen = domain != NULL ? strlen(domain) : 0;

	if (dlen == 0 || list == NULL)
		return 0;
	for (const char *p = list; *p != '\0';) {
		size_t n = strcspn(p, ", \t");

		if (n == 0) {
			p++;
			continue;
		}
		if ((n == dlen && strncasecmp(p, domain, n) == 0) ||
		    (n < dlen && domain[dlen - n - 1] == '.' &&
		     strncasecmp(p, domain + dlen - n, n) == 0))
			return 1;
		p += n;
	}
	return 0;
}

/* ---- headers --------------------------------------------------------------- */

struct out {
	char *buf;
	size_t len, used;
};

static void put(struct out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;

	if (o->used + 1 >= o->len)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(o->buf + o->used, o->len - o->used, fmt, ap);

	va_end(ap);
	if (n > 0)
		o->used += (size_t)n < o->len - o->used ? (size_t)n
							: o->len - o->used - 1;
}

/* Sender-supplied text made safe: printable ASCII only ('?' for the rest),
 * at most VALUE_MAX bytes; `special` characters get a backslash. */
static void clean(char *dst, size_t len, const char *src, const char *special)
{
	size_t o = 0;

	for (; src != NULL && *src != '\0' && o + 3 < len &&
	       o < VALUE_MAX; src++) {
		unsigned char c = (unsigned char)*src;

		if (c < 0x20 || c > 0x7e)
			c = '?';
		if (strchr(special, c) != NULL)
			dst[o++] = '\\';
		dst[o++] = (char)c;
	}
	dst[o] = '\0';
}

/* The identity checked: MAIL FROM, or postmaster@HELO for a null one. */
static void sender_of(char *dst, size_t len, const struct spf_header_info *i,
		      const struct spf_answer *a)
{
	if (a->helo_identity)
		snprintf(dst, len, "postmaster@%s", i->helo != NULL ? i->helo
								     : "");
	else
		snprintf(dst, len, "%s", i->mail_from);
}

static void comment(struct out *o, const char *sender, const char *ip,
		    enum spf_result r)
{
	switch (r) {
	case SPF_RES_PASS:
		put(o, "domain of %s designates %s as permitted sender",
		    sender, ip);
		break;
	case SPF_RES_FAIL:
		put(o, "domain of %s does not designate %s as permitted "
		    "sender", sender, ip);
		break;
	case SPF_RES_SOFTFAIL:
		put(o, "domain of transitioning %s does not designate %s as "
		    "permitted sender", sender, ip);
		break;
	case SPF_RES_NEUTRAL:
		put(o, "%s is neither permitted nor denied by domain of %s",
		    ip, sender);
		break;
	case SPF_RES_NONE:
		put(o, "domain of %s does not publish an SPF record", sender);
		break;
	case SPF_RES_TEMPERROR:
		put(o, "temporary error checking the domain of %s", sender);
		break;
	case SPF_RES_PERMERROR:
	default:
		put(o, "domain of %s has an invalid SPF record", sender);
		break;
	}
}

void spf_received_value(char *buf, size_t len,
			const struct spf_header_info *info,
			const struct spf_answer *a)
{
	char raw[VALUE_MAX + 32], sender_c[2 * VALUE_MAX + 4];
	char sender_q[2 * VALUE_MAX + 4], helo_q[2 * VALUE_MAX + 4];
	char ip[64], problem[2 * SPF_PROBLEM_MAX + 4];
	struct out o = { buf, len, 0 };

	if (len == 0)
		return;
	buf[0] = '\0';
	sender_of(raw, sizeof(raw), info, a);
	clean(sender_c, sizeof(sender_c), raw, "()\\");
	clean(sender_q, sizeof(sender_q), raw, "\"\\");
	clean(helo_q, sizeof(helo_q), info->helo, "\"\\");
	clean(ip, sizeof(ip), info->client_ip, "()\\\";");
	put(&o, "%s (%s: ", spf_result_name(a->result), info->hostname);
	comment(&o, sender_c, ip, a->result);
	put(&o, ") client-ip=%s; envelope-from=\"%s\";", ip,
	    a->helo_identity ? "" : sender_q);
	if (info->helo != NULL && info->helo[0] != '\0')
		put(&o, " helo=\"%s\";", helo_q);
	put(&o, " receiver=%s; identity=%s;", info->hostname,
	    a->helo_identity ? "helo" : "mailfrom");
	if (a->problem[0] != '\0' && (a->result == SPF_RES_PERMERROR ||
				      a->result == SPF_RES_TEMPERROR)) {
		clean(problem, sizeof(problem), a->problem, "\"\\");
		put(&o, " problem=\"%s\";", problem);
	}
}

void spf_auth_results_value(char *buf, size_t len,
			    const struct spf_header_info *info,
			    const struct spf_answer *a)
{
	char raw[VALUE_MAX + 32], value[2 * VALUE_MAX + 4];
	struct out o = { buf, len, 0 };

	if (len == 0)
		return;
	buf[0] = '\0';
	if (a->helo_identity)
		snprintf(raw, sizeof(raw), "%s",
			 info->helo != NULL ? info->helo : "");
	else
		snprintf(raw, sizeof(raw), "%s", info->mail_from);
	clean(value, sizeof(value), raw, "\"\\");
	put(&o, "%s; spf=%s smtp.%s=\"%s\"", info->hostname,
	    spf_result_name(a->result),
	    a->helo_identity ? "helo" : "mailfrom", value);
}
