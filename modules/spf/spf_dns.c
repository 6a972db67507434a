/* DNS for the SPF checks: the system resolver or a zone file (spf_dns.h).
 *
 * libspf2's zone layer answers "no such domain" for any (name, type) it
 * does not hold, where a real server says "no data" for a name that
 * exists: so every listed name gets an explicit "no data" for the types
 * it lacks. The zone layer also knows no CNAME: aliases are
 * flattened here. Lookups only read the zone (the layer copies each
 * answer), so one zone serves every worker thread at once. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "spf_dns.h"

#define ZT_TIMEOUT (-1)
#define ZT_DELAY (-2)
#define CNAME_DEPTH 8
#define DELAY_MAX_MS 60000

struct zrec {
	char *name;
	int type; /* ns_type, or ZT_TIMEOUT / ZT_DELAY */
	char *data;
	long delay_ms;
};

struct spf_dns {
	int use_resolver;
	struct zrec *recs;
	size_t n, cap;
	SPF_dns_server_t *zone; /* built by spf_dns_zone_done */
	int has_delays;
};

static const struct {
	const char *name;
	int type;
} zone_types[] = {
	{ "A", ns_t_a },         { "AAAA", ns_t_aaaa },
	{ "MX", ns_t_mx },       { "PTR", ns_t_ptr },
	{ "TXT", ns_t_txt },     { "SPF", ns_t_spf },
	{ "CNAME", ns_t_cname }, { "TIMEOUT", ZT_TIMEOUT },
	{ "DELAY", ZT_DELAY },
};

/* The types a listed name answers "no data" for when it has none. */
static const int fill_types[] = { ns_t_a, ns_t_aaaa, ns_t_mx, ns_t_ptr,
				  ns_t_txt, ns_t_spf };

int spf_dns_new_resolver(struct spf_dns **dns_r)
{
	struct spf_dns *dns = calloc(1, sizeof(*dns));

	if (dns == NULL)
		return -ENOMEM;
	dns->use_resolver = 1;
	*dns_r = dns;
	return 0;
}

int spf_dns_new_zone(struct spf_dns **dns_r)
{
	struct spf_dns *dns = calloc(1, sizeof(*dns));

	if (dns == NULL)
		return -ENOMEM;
	*dns_r = dns;
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Copies in[0..len) into a new string, decoding \xHH and \\; NULL on a
 * bad escape or no memory. A \x00 ends the string, as it does in the C
 * strings libspf2 keeps real DNS answers in. */
static char *unescape(const char *in, size_t len)
{
	char *out = malloc(len + 1);
	size_t o = 0;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (in[i] != '\\') {
			out[o++] = in[i];
			continue;
		}
		if (i + 1 < len && in[i + 1] == '\\') {
			out[o++] = '\\';
			i++;
			continue;
		}
		if (i + 3 < len && in[i + 1] == 'x') {
			int hi = hexval((unsigned char)in[i + 2]);
			int lo = hexval((unsigned char)in[i + 3]);

			if (hi >= 0 && lo >= 0) {
				out[o++] = (char)(hi * 16 + lo);
				i += 3;
				continue;
			}
		}
		free(out);
		return NULL;
	}
	out[o] = '\0';
	return out;
}

static void strip_dot(char *name)
{
	size_t n = strlen(name);

	if (n > 1 && name[n - 1] == '.')
		name[n - 1] = '\0';
}

static int check_data(int type, const char *data, long *delay_r)
{
	unsigned char buf[sizeof(struct in6_addr)];
	char *end;

	switch (type) {
	case ns_t_a:
		return inet_pton(AF_INET, data, buf) == 1 ? 0 : -1;
	case ns_t_aaaa:
		return inet_pton(AF_INET6, data, buf) == 1 ? 0 : -1;
	case ns_t_mx:
		if (!isdigit((unsigned char)*data))
			return -1;
		while (isdigit((unsigned char)*data))
			data++;
		return *data == ' ' || *data == '\0' ? 0 : -1;
	case ns_t_ptr:
	case ns_t_cname:
		return *data != '\0' ? 0 : -1;
	case ZT_TIMEOUT:
		return *data == '\0' ? 0 : -1;
	case ZT_DELAY:
		errno = 0;
		*delay_r = strtol(data, &end, 10);
		return errno == 0 && *end == '\0' && end != data &&
				       *delay_r >= 0 && *delay_r <= DELAY_MAX_MS
			       ? 0
			       : -1;
	default: /* TXT, SPF: anything, even empty */
		return 0;
	}
}

int spf_dns_zone_line(struct spf_dns *dns, const char *line, char *err,
		      size_t errlen)
{
	const char *p = line, *name, *type;
	size_t name_len, type_len, data_len;
	int t = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '#' || *p == '\n' || *p == '\r')
		return 0;
	name = p;
	while (*p != '\0' && *p != ' ' && *p != '\t')
		p++;
	name_len = (size_t)(p - name);
	while (*p == ' ' || *p == '\t')
		p++;
	type = p;
	while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\n' &&
	       *p != '\r')
		p++;
	type_len = (size_t)(p - type);
	if (*p == ' ' || *p == '\t')
		p++; /* one separator: TXT data may start with a space */
	while (*p == ' ' || *p == '\t')
		p++;
	data_len = strcspn(p, "\r\n");
	for (size_t i = 0; i < sizeof(zone_types) / sizeof(zone_types[0]);
	     i++)
		if (strlen(zone_types[i].name) == type_len &&
		    strncasecmp(zone_types[i].name, type, type_len) == 0)
			t = zone_types[i].type;
	if (t == 0) {
		snprintf(err, errlen, "unknown type '%.*s'", (int)type_len,
			 type);
		return -EINVAL;
	}
	if (dns->n == dns->cap) {
		size_t cap = dns->cap ? dns->cap * 2 : 64;
		struct zrec *recs = realloc(dns->recs, cap * sizeof(*recs));

		if (recs == NULL)
			return -ENOMEM;
		dns->recs = recs;
		dns->cap = cap;
	}
	struct zrec *r = &dns->recs[dns->n];

	memset(r, 0, sizeof(*r));
	r->type = t;
	r->name = unescape(name, name_len);
	r->data = unescape(p, data_len);
	if (r->name == NULL || r->data == NULL || r->name[0] == '\0' ||
	    check_data(t, r->data, &r->delay_ms) < 0) {
		snprintf(err, errlen, "bad name or data for %.*s",
			 (int)type_len, type);
		free(r->name);
		free(r->data);
		return -EINVAL;
	}
	strip_dot(r->name);
	if (t == ns_t_cname)
		strip_dot(r->data);
	if (t == ZT_DELAY)
		dns->has_delays = 1;
	dns->n++;
	return 0;
}

static int zone_add(SPF_dns_server_t *zone, const char *name, int type,
		    const char *data)
{
	SPF_errcode_t e;

	if (type == ZT_TIMEOUT)
		e = SPF_dns_zone_add_str(zone, name, ns_t_any, TRY_AGAIN,
					 NULL);
	else
		e = SPF_dns_zone_add_str(zone, name, (ns_type)type,
					 NETDB_SUCCESS, data);
	if (e == SPF_E_NO_MEMORY)
		return -ENOMEM;
	return e == SPF_E_SUCCESS ? 0 : -EINVAL;
}

/* The name a CNAME chain from alias ends at; NULL on a loop or too long. */
static const char *cname_final(const struct spf_dns *dns, const char *alias)
{
	const char *name = alias;

	for (int depth = 0; depth <= CNAME_DEPTH; depth++) {
		const char *next = NULL;

		for (size_t i = 0; i < dns->n && next == NULL; i++)
			if (dns->recs[i].type == ns_t_cname &&
			    strcasecmp(dns->recs[i].name, name) == 0)
				next = dns->recs[i].data;
		if (next == NULL)
			return name;
		name = next;
	}
	return NULL;
}

/* Whether name (through its CNAME chain) has records of type. */
static int has_type(const struct spf_dns *dns, const char *name, int type)
{
	const char *owner = cname_final(dns, name);

	for (size_t i = 0; owner != NULL && i < dns->n; i++)
		if (dns->recs[i].type == type &&
		    strcasecmp(dns->recs[i].name, owner) == 0)
			return 1;
	return 0;
}

/* Adds name's records, with a CNAME's replaced by its target's. */
static int add_record(struct spf_dns *dns, const struct zrec *r)
{
	if (r->type == ZT_DELAY)
		return 0;
	if (r->type != ns_t_cname)
		return zone_add(dns->zone, r->name, r->type, r->data);
	const char *target = cname_final(dns, r->name);

	if (target == NULL)
		return 0; /* a loop: the alias has no data */
	for (size_t i = 0; i < dns->n; i++) {
		const struct zrec *t = &dns->recs[i];

		if (t->type == ns_t_cname || t->type == ZT_DELAY ||
		    strcasecmp(t->name, target) != 0)
			continue;
		int ret = zone_add(dns->zone, r->name, t->type, t->data);

		if (ret < 0)
			return ret;
	}
	return 0;
}

int spf_dns_zone_done(struct spf_dns *dns)
{
	int ret = 0;

	if (dns->use_resolver || dns->zone != NULL)
		return -EINVAL;
	dns->zone = SPF_dns_zone_new(NULL, "postino-zone", 0);
	if (dns->zone == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < dns->n && ret == 0; i++)
		ret = add_record(dns, &dns->recs[i]);
	for (size_t i = 0; i < dns->n && ret == 0; i++) {
		const struct zrec *r = &dns->recs[i];
		int first = 1;

		if (r->type == ZT_DELAY)
			continue;
		for (size_t j = 0; j < i && first; j++)
			if (dns->recs[j].type != ZT_DELAY &&
			    strcasecmp(dns->recs[j].name, r->name) == 0)
				first = 0;
		if (!first)
			continue;
		for (size_t k = 0;
		     k < sizeof(fill_types) / sizeof(fill_types[0]) && ret == 0;
		     k++)
			if (!has_type(dns, r->name, fill_types[k]) &&
			    SPF_dns_zone_add_str(dns->zone, r->name,
						 (ns_type)fill_types[k],
						 NO_DATA, NULL) != SPF_E_SUCCESS)
				ret = -ENOMEM;
	}
	return ret;
}

int spf_dns_load_file(const char *path, struct spf_dns **dns_r, char *err,
		      size_t errlen)
{
	struct spf_dns *dns = NULL;
	char line[4096], why[200];
	unsigned lineno = 0;
	FILE *f = fopen(path, "r");
	int ret;

	if (f == NULL) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	ret = spf_dns_new_zone(&dns);
	while (ret == 0 && fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(err, errlen, "%s:%u: line too long", path,
				 lineno);
			ret = -EINVAL;
			break;
		}
		ret = spf_dns_zone_line(dns, line, why, sizeof(why));
		if (ret < 0)
			snprintf(err, errlen, "%s:%u: %s", path, lineno,
				 ret == -EINVAL ? why : strerror(-ret));
	}
	fclose(f);
	if (ret == 0 && (ret = spf_dns_zone_done(dns)) < 0)
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
	if (ret < 0) {
		spf_dns_free(&dns);
		return ret;
	}
	*dns_r = dns;
	return 0;
}

/* ---- the per-check front layer --------------------------------------- */

static long delay_for(const struct spf_dns *dns, const char *domain)
{
	size_t n = strlen(domain);

	if (n > 1 && domain[n - 1] == '.')
		n--;
	for (size_t i = 0; i < dns->n; i++)
		if (dns->recs[i].type == ZT_DELAY &&
		    strlen(dns->recs[i].name) == n &&
		    strncasecmp(dns->recs[i].name, domain, n) == 0)
			return dns->recs[i].delay_ms;
	return 0;
}

static SPF_dns_rr_t *front_lookup(SPF_dns_server_t *layer, const char *domain,
				  ns_type rr_type, int should_cache)
{
	const struct spf_dns *dns = layer->hook;
	long ms = dns->has_delays ? delay_for(dns, domain) : 0;

	if (ms > 0) {
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	return SPF_dns_lookup(dns->zone, domain, rr_type, should_cache);
}

static void front_free(SPF_dns_server_t *layer)
{
	free(layer);
}

SPF_dns_server_t *spf_dns_layer(const struct spf_dns *dns)
{
	if (dns->use_resolver)
		return SPF_dns_resolv_new(NULL, NULL, 0);
	if (dns->zone == NULL)
		return NULL;
	SPF_dns_server_t *layer = calloc(1, sizeof(*layer));

	if (layer == NULL)
		return NULL;
	/* layer_below stays NULL: SPF_dns_free must not reach the shared
	 * zone. */
	layer->destroy = front_free;
	layer->lookup = front_lookup;
	layer->name = "postino-front";
	layer->hook = (void *)dns;
	return layer;
}

void spf_dns_free(struct spf_dns **dns)
{
	if (*dns == NULL)
		return;
	for (size_t i = 0; i < (*dns)->n; i++) {
		free((*dns)->recs[i].name);
		free((*dns)->recs[i].data);
	}
	free((*dns)->recs);
	if ((*dns)->zone != NULL)
		SPF_dns_free((*dns)->zone);
	free(*dns);
	*dns = NULL;
}
