/* sieve_evaluate: walks a validated program's tree. Tests gather their
 * values (header fields, addresses, body parts, dates, flags, strings)
 * into arrays in a scratch arena released after each command, then
 * sv_match.c decides. Actions go to the result builder (sv_result.c).
 * Any failure becomes a runtime error: the result then keeps the message
 * in INBOX and names the line. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sv_date.h"
#include "sv_flags.h"
#include "sv_match.h"
#include "sv_message.h"
#include "sv_result.h"
#include "sv_syntax.h"
#include "sv_vacation.h"

struct sv_var {
	char *s;                    /* malloc'd, NUL-terminated */
	size_t len;
};

struct sv_global {
	char *name;                 /* lower case */
	struct sv_var val;
};

/* One running script: the main one or an included one. */
struct sv_frame {
	const struct sieve_program *prog;
	struct sv_var *vars;        /* by index in prog's variable table */
};

struct sv_included {
	char *name;
	bool global;
};

struct sv_eval {
	const struct sieve_env *env;
	const struct sieve_envelope *envelope;
	struct sieve_limits lim;
	struct sv_arena scratch;    /* temporaries of one command */
	struct sv_arena persist;    /* the message, for the whole run */
	struct sv_msg msg;
	struct sv_matcher mm;
	uint64_t cpu;
	struct sv_frame *frame;
	struct sv_global *globals;
	size_t n_globals;
	struct sv_var caps[SV_MAX_CAPTURES];
	size_t n_caps;
	struct sv_buf flags;        /* imap4flags' internal variable */
	struct sv_res res;
	unsigned depth, n_includes;
	struct sv_included *included;
	size_t n_included;
	struct sieve_program **owned;
	size_t n_owned;
	bool stopped, returned;
	char error[256];
};

/* A growable array of values in the scratch arena. */
struct sv_vals {
	struct sv_val *v;
	size_t n, cap;
};

#define SV_FAIL (-ECANCELED)

static int sv_fail(struct sv_eval *ev, const struct sv_node *n,
		   const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int sv_fail(struct sv_eval *ev, const struct sv_node *n,
		   const char *fmt, ...)
{
	va_list ap;

	if (ev->error[0] == '\0') {
		int len = snprintf(ev->error, sizeof(ev->error), "line %u: ",
				   n ? n->line : 0);
		if (len < 0)
			len = 0;
		va_start(ap, fmt);
		vsnprintf(ev->error + len, sizeof(ev->error) - (size_t)len, fmt,
			  ap);
		va_end(ap);
	}
	return SV_FAIL;
}

/* Turns an internal error code into a runtime error. */
static int sv_fail_errno(struct sv_eval *ev, const struct sv_node *n,
			 int ret)
{
	switch (ret) {
	case SV_FAIL:
		return ret;
	case -E2BIG:
		return sv_fail(ev, n, "too much work (max_cpu %llu steps)",
			       (unsigned long long)ev->lim.max_cpu);
	case -EIO:
		return sv_fail(ev, n, "cannot read the message");
	default:
		return sv_fail(ev, n, "out of memory (max_memory %zu)",
			       ev->lim.max_memory);
	}
}

static int sv_vals_push(struct sv_eval *ev, struct sv_vals *vs, const char *s,
			size_t len)
{
	if (vs->n == vs->cap) {
		size_t cap = vs->cap ? vs->cap * 2 : 16;
		struct sv_val *v = sv_arena_alloc(&ev->scratch,
						  cap * sizeof(*v));
		if (v == NULL)
			return -ENOMEM;
		if (vs->n)
			memcpy(v, vs->v, vs->n * sizeof(*v));
		vs->v = v;
		vs->cap = cap;
	}
	vs->v[vs->n].s = s;
	vs->v[vs->n].len = len;
	vs->n++;
	return 0;
}

static int sv_charge(struct sv_eval *ev, uint64_t n)
{
	ev->cpu += n;
	return ev->cpu > ev->lim.max_cpu ? -E2BIG : 0;
}

/* Variables */

static struct sv_var *sv_global_find(struct sv_eval *ev, const char *name,
				     size_t len, bool create)
{
	for (size_t i = 0; i < ev->n_globals; i++)
		if (sv_eq_ci(name, len, ev->globals[i].name))
			return &ev->globals[i].val;
	if (!create || ev->n_globals >= 4 * (size_t)ev->lim.max_variables)
		return NULL;
	struct sv_global *g = realloc(ev->globals, (ev->n_globals + 1) *
				      sizeof(*g));
	if (g == NULL)
		return NULL;
	ev->globals = g;
	char *copy = malloc(len + 1);
	if (copy == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++)
		copy[i] = sv_lower(name[i]);
	copy[len] = '\0';
	g[ev->n_globals].name = copy;
	g[ev->n_globals].val.s = NULL;
	g[ev->n_globals].val.len = 0;
	return &g[ev->n_globals++].val;
}

/* The storage of a variable of the current script, or NULL. */
static struct sv_var *sv_var_find(struct sv_eval *ev, const char *name,
				  size_t len, bool create)
{
	const struct sieve_program *p = ev->frame->prog;
	const char *dot = memchr(name, '.', len);

	if (dot != NULL) {
		if (!sv_eq_ci(name, (size_t)(dot - name), "global"))
			return NULL;
		size_t off = (size_t)(dot - name) + 1;
		return sv_global_find(ev, name + off, len - off, create);
	}
	if (p->vars == SV_NONE)
		return NULL;
	const struct sv_list *l = &p->lists[p->vars];
	size_t lo = 0, hi = l->count;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct sv_str *s = &p->strs[l->first + mid];
		int c = sv_strcasecmp_len(p->pool + s->off, s->len, name, len);
		if (c == 0) {
			if (s->flags & SV_STR_GLOBAL)
				return sv_global_find(ev, name, len, create);
			return &ev->frame->vars[mid];
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Stores a copy of value, cut to max_variable_size (RFC 5229 3). */
static int sv_var_assign(struct sv_eval *ev, struct sv_var *var,
			 const char *s, size_t len)
{
	len = sv_utf8_cut(s, len, ev->lim.max_variable_size);
	char *copy = malloc(len + 1);

	if (copy == NULL)
		return -ENOMEM;
	if (len)
		memcpy(copy, s, len);
	copy[len] = '\0';
	free(var->s);
	var->s = copy;
	var->len = len;
	return sv_charge(ev, len);
}

static bool sv_all_digits(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return len > 0;
}

/* The value of ${name}: a match variable, a script or global variable,
 * or empty. */
static struct sv_val sv_var_value(struct sv_eval *ev, const char *name,
				  size_t len)
{
	struct sv_val v = { "", 0 };

	if (sv_all_digits(name, len)) {
		size_t idx = 0;
		for (size_t i = 0; i < len && idx < SV_MAX_CAPTURES; i++)
			idx = idx * 10 + (size_t)(name[i] - '0');
		if (idx < ev->n_caps && ev->caps[idx].s != NULL) {
			v.s = ev->caps[idx].s;
			v.len = ev->caps[idx].len;
		}
		return v;
	}
	struct sv_var *var = sv_var_find(ev, name, len, false);
	if (var != NULL && var->s != NULL) {
		v.s = var->s;
		v.len = var->len;
	}
	return v;
}

static bool sv_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.';
}

/* A reference's name as the compiler accepted it (sv_scan_vars). */
static bool sv_ref_valid(const char *name, size_t len)
{
	const char *dot = memchr(name, '.', len);

	if (dot == NULL)
		return sv_all_digits(name, len) || sv_ident_valid(name, len);
	size_t ns = (size_t)(dot - name);
	return sv_ident_valid(name, ns) &&
	       sv_ident_valid(dot + 1, len - ns - 1);
}

/* A string of the program with its variable references replaced (one
 * pass: substituted text is not scanned again). */
static int sv_expand(struct sv_eval *ev, const struct sv_str *str,
		     struct sv_val *out)
{
	const char *s = ev->frame->prog->pool + str->off;
	size_t len = str->len;
	struct sv_buf b;
	int ret = 0;

	out->s = s;
	out->len = len;
	if (!(str->flags & SV_STR_VARS))
		return 0;
	/* Bounded: at most 16 variables' worth beyond the text itself. */
	sv_buf_init(&b, len + 16 * ev->lim.max_variable_size);
	for (size_t i = 0; i < len && ret == 0;) {
		if (s[i] == '$' && i + 2 < len && s[i + 1] == '{') {
			size_t end = i + 2;
			while (end < len && sv_name_char(s[end]))
				end++;
			if (end < len && s[end] == '}' &&
			    sv_ref_valid(s + i + 2, end - i - 2)) {
				struct sv_val v = sv_var_value(ev, s + i + 2,
							       end - i - 2);
				ret = sv_buf_add(&b, v.s, v.len);
				i = end + 1;
				continue;
			}
		}
		ret = sv_buf_addc(&b, s[i++]);
	}
	if (ret == 0)
		ret = sv_buf_nul(&b);
	if (ret == 0) {
		out->s = sv_arena_strndup(&ev->scratch, b.data, b.len);
		out->len = b.len;
		if (out->s == NULL)
			ret = -ENOMEM;
		else
			ret = sv_charge(ev, b.len);
	}
	sv_buf_free(&b);
	return ret;
}

static const struct sv_str *sv_str_at(const struct sieve_program *p,
				      uint32_t list, uint32_t i)
{
	return &p->strs[p->lists[list].first + i];
}

/* Every string of a list argument, expanded. */
static int sv_get_list(struct sv_eval *ev, uint32_t list,
		       struct sv_vals *out)
{
	const struct sieve_program *p = ev->frame->prog;

	memset(out, 0, sizeof(*out));
	if (list == SV_NONE)
		return 0;
	for (uint32_t i = 0; i < p->lists[list].count; i++) {
		struct sv_val v;
		int ret = sv_expand(ev, sv_str_at(p, list, i), &v);
		if (ret == 0)
			ret = sv_vals_push(ev, out, v.s, v.len);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* The one string of a single-string argument, expanded. */
static int sv_get_str(struct sv_eval *ev, uint32_t list, struct sv_val *v)
{
	return sv_expand(ev, sv_str_at(ev->frame->prog, list, 0), v);
}

/* Matching */

static int sv_keep_captures(struct sv_eval *ev)
{
	for (size_t i = 0; i < SV_MAX_CAPTURES; i++) {
		struct sv_var *c = &ev->caps[i];
		if (i >= ev->mm.n_caps) {
			free(c->s);
			c->s = NULL;
			c->len = 0;
			continue;
		}
		int ret = sv_var_assign(ev, c, ev->mm.caps[i].s,
					ev->mm.caps[i].len);
		if (ret < 0)
			return ret;
	}
	ev->n_caps = ev->mm.n_caps;
	return 0;
}

static int sv_match(struct sv_eval *ev, const struct sv_node *n,
		    const struct sv_vals *values, const struct sv_vals *keys)
{
	ev->mm.capture = n->match == SV_MATCH_MATCHES &&
			 sv_has_ext(ev->frame->prog, SV_EXT_VARIABLES);
	ev->mm.n_caps = 0;
	int ret = sv_match_values(&ev->mm, n->comparator, n->match, n->relop,
				  values->v, values->n, keys->v, keys->n);
	if (ret > 0 && ev->mm.capture && ev->mm.n_caps > 0)
		ret = sv_keep_captures(ev) < 0 ? -ENOMEM : 1;
	return ret < 0 ? sv_fail_errno(ev, n, ret) : ret;
}

static int sv_match_keys(struct sv_eval *ev, const struct sv_node *n,
			 const struct sv_vals *values, uint32_t keys_list)
{
	struct sv_vals keys;
	int ret = sv_get_list(ev, keys_list, &keys);

	return ret < 0 ? sv_fail_errno(ev, n, ret) :
		sv_match(ev, n, values, &keys);
}

/* Tests */

static int sv_header_load(struct sv_eval *ev, const struct sv_node *n)
{
	int ret = sv_msg_header(&ev->msg);

	return ret < 0 ? sv_fail_errno(ev, n, ret) : 0;
}

static int sv_test_header(struct sv_eval *ev, const struct sv_node *n)
{
	struct sv_vals names, values = { 0 };
	int ret = sv_header_load(ev, n);

	if (ret == 0)
		ret = sv_get_list(ev, n->arg[0], &names);
	for (size_t k = 0; ret == 0 && k < names.n; k++) {
		for (size_t i = 0; ret == 0 && i < ev->msg.n_fields; i++) {
			struct sv_field *f = &ev->msg.fields[i];
			struct sv_val v;
			ret = sv_charge(ev, 1);
			if (ret < 0 || !sv_field_is(f, names.v[k].s,
						     names.v[k].len))
				continue;
			if (sv_field_value(&ev->msg, f, true, &v) == NULL)
				ret = -ENOMEM;
			else
				ret = sv_vals_push(ev, &values, v.s, v.len);
		}
	}
	return ret < 0 ? sv_fail_errno(ev, n, ret) :
		sv_match_keys(ev, n, &values, n->arg[1]);
}

static int sv_test_exists(struct sv_eval *ev, const struct sv_node *n)
{
	struct sv_vals names;
	int ret = sv_header_load(ev, n);

	if (ret == 0)
		ret = sv_get_list(ev, n->arg[0], &names);
	if (ret < 0)
		return sv_fail_errno(ev, n, ret);
	for (size_t k = 0; k < names.n; k++) {
		bool found = false;
		for (size_t i = 0; !found && i < ev->msg.n_fields; i++)
			found = sv_field_is(&ev->msg.fields[i], names.v[k].s,
					    names.v[k].len);
		if (sv_charge(ev, ev->msg.n_fields) < 0)
			return sv_fail_errno(ev, n, -E2BIG);
		if (!found)
			return 0;
	}
	return 1;
}

/* The part of one address (RFC 5228 5.1, RFC 5233 :user/:detail); false
 * when the address has no such part. */
static bool sv_addr_part(struct sv_eval *ev, const struct sv_addr *a,
			 uint8_t part, struct sv_val *v_r)
{
	const char *seps = ev->env && ev->env->separators ?
		ev->env->separators : "";

	if (part == SV_PART_ALL) {
		if (!a->valid) {
			*v_r = a->raw;
			return true;
		}
		char *s = sv_arena_alloc(&ev->scratch,
					 a->local.len + a->domain.len + 2);
		if (s == NULL)
			return false;
		memcpy(s, a->local.s, a->local.len);
		s[a->local.len] = '@';
		memcpy(s + a->local.len + 1, a->domain.s, a->domain.len);
		v_r->s = s;
		v_r->len = a->local.len + a->domain.len + 1;
		return true;
	}
	if (!a->valid)
		return false;
	if (part == SV_PART_DOMAIN) {
		*v_r = a->domain;
		return true;
	}
	*v_r = a->local;
	if (part == SV_PART_LOCALPART)
		return true;
	size_t sep = 0;
	while (sep < a->local.len &&
	       (a->local.s[sep] == '\0' || *seps == '\0' ||
		strchr(seps, a->local.s[sep]) == NULL))
		sep++;
	if (part == SV_PART_USER) {
		v_r->len = sep;
		return true;
	}
	if (sep >= a->local.len)
		return false;               /* :detail of an address without */
	v_r->s = a->local.s + sep + 1;
	v_r->len = a->local.len - sep - 1;
	return true;
}

static int sv_test_address(struct sv_eval *ev, const struct sv_node *n)
{
	struct sv_vals names, values = { 0 };
	int ret = sv_header_load(ev, n);

	if (ret == 0)
		ret = sv_get_list(ev, n->arg[0], &names);
	for (size_t k = 0; ret == 0 && k < names.n; k++) {
		if (!sv_address_header(names.v[k].s, names.v[k].len))
			continue;
		for (size_t i = 0; ret == 0 && i < ev->msg.n_fields; i++) {
			struct sv_field *f = &ev->msg.fields[i];
			struct sv_addr *addrs;
			size_t na;
			struct sv_val v;
			if (!sv_field_is(f, names.v[k].s, names.v[k].len))
				continue;
			if (sv_field_value(&ev->msg, f, false, &v) == NULL) {
				ret = -ENOMEM;
				break;
			}
			ret = sv_addr_list_parse(&ev->scratch, v.s, v.len,
						 ev->lim.max_header_fields,
						 &addrs, &na);
			if (ret == 0)
				ret = sv_charge(ev, v.len);
			for (size_t a = 0; ret == 0 && a < na; a++) {
				struct sv_val pv;
				if (sv_addr_part(ev, &addrs[a], n->part, &pv))
					ret = sv_vals_push(ev, &values, pv.s,
							   pv.len);
			}
		}
	}
	return ret < 0 ? sv_fail_errno(ev, n, ret) :
		sv_match_keys(ev, n, &values, n->arg[1]);
}

static int sv_test_envelope(struct sv_eval *ev, const struct sv_node *n)
{
	struct sv_vals parts, values = { 0 };
	int ret = sv_get_list(ev, n->arg[0], &parts);

	for (size_t k = 0; ret == 0 && k < parts.n; k++) {
		const char *addr = NULL;
		if (sv_eq_ci(parts.v[k].s, parts.v[k].len, "from"))
			addr = ev->envelope->from;
		else if (sv_eq_ci(parts.v[k].s, parts.v[k].len, "to"))
			addr = ev->envelope->to;
		if (addr == NULL)
			continue;
		size_t len = strlen(addr);
		/* RFC 5228 5.4: the null reverse-path is "" whatever the
		 * address part. */
		if (len == 0) {
			ret = sv_vals_push(ev, &values, "", 0);
			continue;
		}
		const char *at = strrchr(addr, '@');
		struct sv_addr a = { .raw = { addr, len } };
		if (at != NULL && at != addr && at[1] != '\0') {
			a.valid = true;
			a.local.s = addr;
			a.local.len = (size_t)(at - addr);
			a.domain.s = at + 1;
			a.domain.len = len - a.local.len - 1;
		}
		struct sv_val pv;
		if (sv_addr_part(ev, &a, n->part, &pv))
			ret = sv_vals_push(ev, &values, pv.s, pv.len);
	}
	return ret < 0 ? sv_fail_errno(ev, n, ret) :
		sv_match_keys(ev, n, &values, n->arg[1]);
}

/* RFC 5173 :content: "" all, "type" its subtypes, "type/subtype". */
static bool sv_type_matches(const char *type, const struct sv_val *want)
{
	size_t tlen = strlen(type);
	const char *slash = strchr(type, '/');

	if (want->len == 0)
		return true;
	if (memchr(want->s, '/', want->len) != NULL)
		return sv_eq_ci(want->s, want->len, type);
	return slash != NULL && sv_strcasecmp_len(want->s, want->len, type,
						  (size_t)(slash - type)) == 0 &&
	       tlen > 0;
}

static int sv_test_body(struct sv_eval *ev, const struct sv_node *n)
{
	struct sv_vals types = { 0 }, values = { 0 };
	int ret = 0;

	if (n->part == SV_BODY_RAW) {
		struct sv_val body;
		ret = sv_msg_body(&ev->msg, &body);
		if (ret == 0)
			ret = sv_vals_push(ev, &values, body.s, body.len);
	} else {
		const struct sv_part *parts;
		size_t np;
		if (n->part == SV_BODY_CONTENT)
			ret = sv_get_list(ev, n->arg[1], &types);
		if (ret == 0)
			ret = sv_msg_parts(&ev->msg, &parts, &np);
		for (size_t i = 0; ret == 0 && i < np; i++) {
			bool want = false;
			if (n->part == SV_BODY_TEXT)
				want = parts[i].text;
			for (size_t t = 0; !want && t < types.n; t++)
				want = sv_type_matches(parts[i].type,
						       &types.v[t]);
			if (!want)
				continue;
			struct sv_val c = parts[i].content;
			if (n->part == SV_BODY_TEXT &&
			    strcmp(parts[i].type, "text/html") == 0) {
				char *t = sv_arena_strndup(&ev->scratch, c.s,
							   c.len);
				if (t == NULL) {
					ret = -ENOMEM;
					break;
				}
				c.s = t;
				c.len = sv_strip_tags(t, c.len);
			}
			ret = sv_vals_push(ev, &values, c.s, c.len);
		}
	}
	return ret < 0 ? sv_fail_errno(ev, n, ret) :
		sv_match_keys(ev, n, &values, n->arg[0]);
}

static int sv_test_string(struct sv_eval *ev, const struct sv_node *n)
{
	struct sv_vals source, values = { 0 };
	int ret = sv_get_list(ev, n->arg[0], &source);

	if (ret < 0)
		return sv_fail_errno(ev, n, ret);
	/* RFC 5229 5: :count counts the source strings that are not
	 * empty. */
	for (size_t i = 0; ret == 0 && i < source.n; i++)
		if (n->match != SV_MATCH_COUNT || source.v[i].len > 0)
			ret = sv_vals_push(ev, &values, source.v[i].s,
					   source.v[i].len);
	return ret < 0 ? sv_fail_errno(ev, n, ret) :
		sv_match_keys(ev, n, &values, n->arg[1]);
}

/* Flag variables: a named variable, or the internal one. */
static struct sv_val sv_flagvar_get(struct sv_eval *ev,
				    const struct sv_val *name)
{
	struct sv_val v = { "", 0 };

	if (name == NULL) {
		if (ev->flags.data != NULL) {
			v.s = ev->flags.data;
			v.len = ev->flags.len;
		}
		return v;
	}
	return sv_var_value(ev, name->s, name->len);
}

static int sv_test_hasflag(struct sv_eval *ev, const struct sv_node *n)
{
	struct sv_vals vars = { 0 }, keys_raw, keys = { 0 }, values = { 0 };
	int ret = sv_get_list(ev, n->arg[0], &vars);
	struct sv_val f;
	size_t pos;

	if (ret == 0)
		ret = sv_get_list(ev, n->arg[1], &keys_raw);
	for (size_t i = 0; ret == 0 && i < (n->arg[0] == SV_NONE ? 1 : vars.n);
	     i++) {
		struct sv_val cur = sv_flagvar_get(ev, n->arg[0] == SV_NONE ?
						   NULL : &vars.v[i]);
		pos = 0;
		while (ret == 0 && sv_flags_next(cur.s, cur.len, &pos, &f))
			ret = sv_vals_push(ev, &values, f.s, f.len);
	}
	/* Keys are flag lists too: each flag is one key. */
	for (size_t i = 0; ret == 0 && i < keys_raw.n; i++) {
		pos = 0;
		while (ret == 0 && sv_flags_next(keys_raw.v[i].s,
						 keys_raw.v[i].len, &pos, &f))
			ret = sv_vals_push(ev, &keys, f.s, f.len);
	}
	return ret < 0 ? sv_fail_errno(ev, n, ret) :
		sv_match(ev, n, &values, &keys);
}

static int sv_test_mailboxexists(struct sv_eval *ev, const struct sv_node *n)
{
	struct sv_vals names;
	int ret = sv_get_list(ev, n->arg[0], &names);

	if (ret < 0)
		return sv_fail_errno(ev, n, ret);
	for (size_t i = 0; i < names.n; i++) {
		if (ev->env == NULL || ev->env->mailbox_exists == NULL ||
		    !sv_mailbox_name_valid(names.v[i].s, names.v[i].len))
			return 0;
		ret = ev->env->mailbox_exists(ev->env->context, names.v[i].s);
		if (ret < 0)
			return sv_fail(ev, n, "mailboxexists failed for '%.64s'",
				       names.v[i].s);
		if (ret == 0)
			return 0;
	}
	return 1;
}

static int sv_test_date(struct sv_eval *ev, const struct sv_node *n)
{
	struct sv_vals values = { 0 };
	struct sv_val part_name, v;
	int local = ev->env ? ev->env->zone_minutes : 0, zone = local;
	int64_t t = ev->env ? ev->env->now : 0;
	int orig_zone = local, ret;

	ret = sv_get_str(ev, n->arg[1], &part_name);
	if (ret < 0)
		return sv_fail_errno(ev, n, ret);
	int part = sv_datepart_find(part_name.s, part_name.len);
	if (part < 0)
		return sv_fail(ev, n, "unknown date part '%.32s'",
			       part_name.s);
	if (n->part == SV_ZONE_GIVEN) {
		ret = sv_get_str(ev, n->arg[3], &v);
		if (ret < 0)
			return sv_fail_errno(ev, n, ret);
		if (!sv_zone_parse(v.s, v.len, &zone))
			return sv_fail(ev, n, "invalid time zone '%.32s'", v.s);
	}
	if (n->op == SV_OP_DATE) {
		struct sv_val name;
		bool found = false;
		ret = sv_header_load(ev, n);
		if (ret == 0)
			ret = sv_get_str(ev, n->arg[0], &name);
		if (ret < 0)
			return sv_fail_errno(ev, n, ret);
		/* The first field only (RFC 5260 4 without :index). */
		for (size_t i = 0; !found && i < ev->msg.n_fields; i++) {
			struct sv_field *f = &ev->msg.fields[i];
			if (!sv_field_is(f, name.s, name.len))
				continue;
			found = true;
			if (sv_field_value(&ev->msg, f, false, &v) == NULL)
				return sv_fail_errno(ev, n, -ENOMEM);
		}
		if (!found)
			return sv_match_keys(ev, n, &values, n->arg[2]);
		/* Received: the date follows the last ';' */
		const char *semi = NULL;
		for (size_t i = 0; i < v.len; i++)
			if (v.s[i] == ';')
				semi = v.s + i;
		if (semi != NULL) {
			v.len -= (size_t)(semi + 1 - v.s);
			v.s = semi + 1;
		}
		if (!sv_date_parse(v.s, v.len, &t, &orig_zone))
			return sv_match_keys(ev, n, &values, n->arg[2]);
	}
	if (n->part == SV_ZONE_ORIGINAL)
		zone = orig_zone;
	char *buf = sv_arena_alloc(&ev->scratch, 64);
	if (buf == NULL)
		return sv_fail_errno(ev, n, -ENOMEM);
	sv_date_part(t, zone, part, buf, 64);
	ret = sv_vals_push(ev, &values, buf, strlen(buf));
	return ret < 0 ? sv_fail_errno(ev, n, ret) :
		sv_match_keys(ev, n, &values, n->arg[2]);
}

static int sv_test(struct sv_eval *ev, uint32_t idx)
{
	const struct sieve_program *p = ev->frame->prog;
	const struct sv_node *n = &p->nodes[idx];
	int ret;

	if (sv_charge(ev, 1) < 0)
		return sv_fail_errno(ev, n, -E2BIG);
	switch (n->op) {
	case SV_OP_TRUE:
		return 1;
	case SV_OP_FALSE:
		return 0;
	case SV_OP_NOT:
		ret = sv_test(ev, n->test);
		return ret < 0 ? ret : !ret;
	case SV_OP_ALLOF:
	case SV_OP_ANYOF:
		/* Evaluation stops at the first test that decides (which
		 * matters for match variables, RFC 5229 3.2). */
		for (uint32_t t = n->test; t != SV_NONE; t = p->nodes[t].next) {
			/* Each test's values are its own (captures are
			 * copied out): a long list does not pile them up. */
			struct sv_arena_mark mark = sv_arena_mark(&ev->scratch);
			ret = sv_test(ev, t);
			sv_arena_release(&ev->scratch, mark);
			if (ret < 0)
				return ret;
			if ((ret > 0) == (n->op == SV_OP_ANYOF))
				return ret;
		}
		return n->op == SV_OP_ALLOF;
	case SV_OP_ADDRESS:
		return sv_test_address(ev, n);
	case SV_OP_ENVELOPE:
		return sv_test_envelope(ev, n);
	case SV_OP_HEADER:
		return sv_test_header(ev, n);
	case SV_OP_EXISTS:
		return sv_test_exists(ev, n);
	case SV_OP_SIZE:
		if (ev->msg.src == NULL)
			return 0;
		return (n->flags & SV_F_OVER) ? ev->msg.src->size > n->num :
			ev->msg.src->size < n->num;
	case SV_OP_BODY:
		return sv_test_body(ev, n);
	case SV_OP_STRING:
		return sv_test_string(ev, n);
	case SV_OP_HASFLAG:
		return sv_test_hasflag(ev, n);
	case SV_OP_MAILBOXEXISTS:
		return sv_test_mailboxexists(ev, n);
	case SV_OP_DATE:
	case SV_OP_CURRENTDATE:
		return sv_test_date(ev, n);
	default:
		return sv_fail(ev, n, "not a test");
	}
}

/* Commands */

static int sv_result_error(struct sv_eval *ev, const struct sv_node *n,
			   int ret, const char *why)
{
	if (ret == -EPERM && (why == sv_why_actions || why == sv_why_redirects))
		return sv_fail(ev, n, "%s: %s (max %u)", sv_ops[n->op].name, why,
			       why == sv_why_actions ? ev->lim.max_actions :
			       ev->lim.max_redirects);
	if (ret == -EPERM)
		return sv_fail(ev, n, "%s: %s", sv_ops[n->op].name, why);
	return sv_fail_errno(ev, n, ret);
}

/* The flags an action stores: :flags given, else the internal variable
 * (RFC 5232 5). */
static int sv_action_flags(struct sv_eval *ev, const struct sv_node *n,
			   uint32_t list, struct sv_val *flags_r)
{
	flags_r->s = "";
	flags_r->len = 0;
	if (list == SV_NONE) {
		if (ev->flags.data != NULL) {
			flags_r->s = ev->flags.data;
			flags_r->len = ev->flags.len;
		}
		return 0;
	}
	struct sv_vals lists;
	struct sv_buf out;
	int ret = sv_get_list(ev, list, &lists);
	if (ret < 0)
		return ret;
	sv_buf_init(&out, ev->lim.max_variable_size);
	ret = sv_flags_apply(&out, "", 0, lists.v, lists.n, SV_FLAGS_SET);
	if (ret == 0 && out.data != NULL) {
		flags_r->s = sv_arena_strndup(&ev->scratch, out.data, out.len);
		flags_r->len = out.len;
		if (flags_r->s == NULL)
			ret = -ENOMEM;
	}
	sv_buf_free(&out);
	return ret;
}

static int sv_cmd_flags(struct sv_eval *ev, const struct sv_node *n)
{
	static const enum sv_flags_op ops[] = {
		[SV_OP_SETFLAG] = SV_FLAGS_SET,
		[SV_OP_ADDFLAG] = SV_FLAGS_ADD,
		[SV_OP_REMOVEFLAG] = SV_FLAGS_REMOVE,
	};
	struct sv_val name;
	struct sv_vals lists;
	struct sv_buf out;
	int ret = 0;

	if (n->arg[0] != SV_NONE)
		ret = sv_get_str(ev, n->arg[0], &name);
	if (ret == 0)
		ret = sv_get_list(ev, n->arg[1], &lists);
	if (ret < 0)
		return sv_fail_errno(ev, n, ret);
	struct sv_val cur = sv_flagvar_get(ev, n->arg[0] != SV_NONE ? &name :
					   NULL);
	sv_buf_init(&out, ev->lim.max_variable_size);
	ret = sv_flags_apply(&out, cur.s, cur.len, lists.v, lists.n,
			     ops[n->op]);
	if (ret == 0)
		ret = sv_buf_nul(&out);
	if (ret == 0 && n->arg[0] == SV_NONE) {
		sv_buf_free(&ev->flags);
		ev->flags = out;
		return 0;
	}
	if (ret == 0) {
		struct sv_var *var = sv_var_find(ev, name.s, name.len, true);
		ret = var == NULL ? sv_fail(ev, n, "unknown variable '%.64s'",
					    name.s) :
			sv_var_assign(ev, var, out.data, out.len);
	}
	sv_buf_free(&out);
	return ret < 0 ? sv_fail_errno(ev, n, ret) : 0;
}

/* set with its modifiers, highest precedence first (RFC 5229 4.1). */
static int sv_cmd_set(struct sv_eval *ev, const struct sv_node *n)
{
	struct sv_val name, value;
	int ret = sv_get_str(ev, n->arg[0], &name);

	if (ret == 0)
		ret = sv_get_str(ev, n->arg[1], &value);
	if (ret < 0)
		return sv_fail_errno(ev, n, ret);
	char *s = sv_arena_alloc(&ev->scratch, 2 * value.len + 24);
	if (s == NULL)
		return sv_fail_errno(ev, n, -ENOMEM);
	size_t len = value.len;
	memcpy(s, value.s, len);
	if (n->flags & (SV_F_LOWER | SV_F_UPPER))
		for (size_t i = 0; i < len; i++)
			s[i] = (n->flags & SV_F_LOWER) ? sv_lower(s[i]) :
				sv_upper(s[i]);
	if (len > 0 && (n->flags & SV_F_LOWERFIRST))
		s[0] = sv_lower(s[0]);
	if (len > 0 && (n->flags & SV_F_UPPERFIRST))
		s[0] = sv_upper(s[0]);
	if (n->flags & SV_F_QUOTEWILD) {
		char *q = sv_arena_alloc(&ev->scratch, 2 * len + 24);
		size_t k = 0;
		if (q == NULL)
			return sv_fail_errno(ev, n, -ENOMEM);
		for (size_t i = 0; i < len; i++) {
			if (s[i] == '*' || s[i] == '?' || s[i] == '\\')
				q[k++] = '\\';
			q[k++] = s[i];
		}
		s = q;
		len = k;
	}
	if (n->flags & SV_F_LENGTH) {
		size_t chars = 0;
		for (size_t i = 0; i < len; i++)
			if (((unsigned char)s[i] & 0xc0) != 0x80)
				chars++;
		len = (size_t)snprintf(s, 24, "%zu", chars);
	}
	struct sv_var *var = sv_var_find(ev, name.s, name.len, true);
	if (var == NULL)
		return sv_fail(ev, n, "unknown variable '%.64s'", name.s);
	ret = sv_var_assign(ev, var, s, len);
	return ret < 0 ? sv_fail_errno(ev, n, ret) : 0;
}

static int sv_cmd_vacation(struct sv_eval *ev, const struct sv_node *n)
{
	struct sv_res *res = &ev->res;
	struct sieve_vacation *vac = sv_res_alloc(res, sizeof(*vac));
	struct sv_val v;
	struct sv_vals addrs = { 0 };
	const char *why = NULL;
	int ret;

	if (vac == NULL)
		return sv_fail_errno(ev, n, -ENOMEM);
	ret = sv_get_str(ev, n->arg[0], &v);
	if (ret < 0)
		return sv_fail_errno(ev, n, ret);
	vac->reason = sv_res_strdup(res, v.s, v.len);
	vac->reason_len = v.len;
	vac->mime = (n->flags & SV_F_MIME) != 0;
	const char **dst[] = { &vac->subject, &vac->from, NULL, &vac->handle };
	for (unsigned a = 1; a <= 4; a++) {
		if (a == 3 || n->arg[a] == SV_NONE)
			continue;
		ret = sv_get_str(ev, n->arg[a], &v);
		if (ret < 0)
			return sv_fail_errno(ev, n, ret);
		size_t off = 0, alen;
		if (a == 2 && !sv_mailbox_valid(v.s, v.len, &off, &alen))
			return sv_fail(ev, n, "vacation: invalid :from "
				       "address '%.64s'", v.s);
		*dst[a - 1] = sv_res_strdup(res, v.s, v.len);
	}
	ret = sv_get_list(ev, n->arg[3], &addrs);
	if (ret < 0)
		return sv_fail_errno(ev, n, ret);
	const char **list = sv_res_alloc(res, (addrs.n + 1) * sizeof(*list));
	for (size_t i = 0; list != NULL && i < addrs.n; i++) {
		if (!sv_addr_spec_valid(addrs.v[i].s, addrs.v[i].len))
			return sv_fail(ev, n, "vacation: invalid :addresses "
				       "address '%.64s'", addrs.v[i].s);
		list[i] = sv_res_strdup(res, addrs.v[i].s, addrs.v[i].len);
	}
	vac->addresses = list;
	vac->n_addresses = addrs.n;

	/* The period: :days at least one day (RFC 5230 4.1), :seconds as
	 * low as the site allows (RFC 6131), both at most the maximum. */
	uint64_t period = ev->lim.vacation_default_period, floor =
		ev->lim.vacation_min_period;
	if (n->num != SV_NUM_NONE)
		period = (n->flags & SV_F_SECONDS) ? n->num : n->num * 86400;
	if (!(n->flags & SV_F_SECONDS) && floor < 86400)
		floor = 86400;
	if (period < floor)
		period = floor;
	if (period > ev->lim.vacation_max_period)
		period = ev->lim.vacation_max_period;
	vac->period = (uint32_t)period;

	/* Who would get it, whether they may, and the dedup key. */
	ret = sv_header_load(ev, n);
	if (ret < 0)
		return ret;
	vac->sender = sv_res_strdup(res, ev->envelope->from,
				    strlen(ev->envelope->from));
	size_t n_env = ev->env ? ev->env->n_addresses : 0;
	const char **mine = sv_arena_alloc(&ev->scratch, (n_env + addrs.n + 1) *
					   sizeof(*mine));
	if (mine == NULL || list == NULL || vac->sender == NULL ||
	    vac->reason == NULL)
		return sv_fail_errno(ev, n, -ENOMEM);
	size_t nm = 0;
	for (size_t i = 0; i < n_env; i++)
		mine[nm++] = ev->env->addresses[i];
	for (size_t i = 0; i < addrs.n; i++)
		mine[nm++] = list[i];
	if (ev->envelope->to != NULL)
		mine[nm++] = ev->envelope->to;
	const char *refusal = sv_vacation_refusal_msg(&ev->msg, vac->sender,
						      mine, nm);
	vac->send = refusal == NULL;
	vac->refusal = refusal;
	sieve_vacation_key(vac->sender, vac, vac->key);
	const char *fields[] = { "subject", "message-id", "references" };
	const char **orig[] = { &vac->orig_subject, &vac->orig_message_id,
				&vac->orig_references };
	for (size_t i = 0; i < 3; i++) {
		if (!sv_msg_first(&ev->msg, fields[i], i == 0, &v))
			continue;
		*orig[i] = sv_res_strdup(res, v.s, v.len);
		if (*orig[i] == NULL)
			return sv_fail_errno(ev, n, -ENOMEM);
	}
	ret = sv_res_vacation(res, n->line, vac, &why);
	return ret < 0 ? sv_result_error(ev, n, ret, why) : 0;
}

static int sv_run(struct sv_eval *ev, uint32_t first);

static int sv_cmd_include(struct sv_eval *ev, const struct sv_node *n)
{
	struct sv_val name;
	bool global = (n->flags & SV_F_GLOBAL) != 0;
	struct sieve_program *prog = NULL;
	int ret = sv_get_str(ev, n->arg[0], &name);

	if (ret < 0)
		return sv_fail_errno(ev, n, ret);
	size_t seen = SIZE_MAX;
	for (size_t i = 0; i < ev->n_included; i++)
		if (ev->included[i].global == global &&
		    strcmp(ev->included[i].name, name.s) == 0)
			seen = i;
	if (seen != SIZE_MAX && (n->flags & SV_F_ONCE))
		return 0;
	if (ev->depth + 1 > ev->lim.max_include_depth)
		return sv_fail(ev, n, "include: nested more than %u deep",
			       ev->lim.max_include_depth);
	if (++ev->n_includes > ev->lim.max_includes)
		return sv_fail(ev, n, "include: more than %u includes",
			       ev->lim.max_includes);
	ret = -ENOENT;
	if (ev->env != NULL && ev->env->include != NULL)
		ret = ev->env->include(ev->env->context, global ?
				       SIEVE_INCLUDE_GLOBAL :
				       SIEVE_INCLUDE_PERSONAL, name.s, &prog);
	if (ret == -ENOENT && (n->flags & SV_F_OPTIONAL))
		return 0;
	if (ret < 0 || prog == NULL)
		return sv_fail(ev, n, "include: %s script '%.64s' %s",
			       global ? "global" : "personal", name.s,
			       ret == -ENOENT ? "not found" : "failed to load");
	struct sieve_program **owned = realloc(ev->owned, (ev->n_owned + 1) *
					       sizeof(*owned));
	if (owned == NULL) {
		sieve_program_free(&prog);
		return sv_fail_errno(ev, n, -ENOMEM);
	}
	ev->owned = owned;
	ev->owned[ev->n_owned++] = prog;
	if (seen == SIZE_MAX) {
		struct sv_included *inc = realloc(ev->included,
						  (ev->n_included + 1) *
						  sizeof(*inc));
		if (inc == NULL)
			return sv_fail_errno(ev, n, -ENOMEM);
		ev->included = inc;
		inc[ev->n_included].name = strdup(name.s);
		inc[ev->n_included].global = global;
		if (inc[ev->n_included].name == NULL)
			return sv_fail_errno(ev, n, -ENOMEM);
		ev->n_included++;
	}
	uint32_t n_vars = prog->vars == SV_NONE ? 0 :
		prog->lists[prog->vars].count;
	struct sv_frame frame = { prog, calloc(n_vars + 1,
					       sizeof(struct sv_var)) };
	if (frame.vars == NULL)
		return sv_fail_errno(ev, n, -ENOMEM);
	struct sv_frame *up = ev->frame;
	ev->frame = &frame;
	ev->depth++;
	ret = sv_run(ev, prog->root);
	ev->depth--;
	ev->frame = up;
	ev->returned = false;
	for (uint32_t i = 0; i < n_vars; i++)
		free(frame.vars[i].s);
	free(frame.vars);
	return ret;
}

static int sv_command(struct sv_eval *ev, const struct sv_node *n)
{
	struct sv_val v, flags;
	const char *why = NULL;
	int ret = 0;

	switch (n->op) {
	case SV_OP_STOP:
		ev->stopped = true;
		return 0;
	case SV_OP_RETURN:
		/* In the main script return is stop (RFC 6609 3.3). */
		if (ev->depth == 0)
			ev->stopped = true;
		ev->returned = true;
		return 0;
	case SV_OP_GLOBAL:
		return 0;
	case SV_OP_KEEP:
		ret = sv_action_flags(ev, n, n->arg[0], &flags);
		if (ret == 0)
			ret = sv_res_keep(&ev->res, n->line, flags.s, flags.len,
					  &why);
		break;
	case SV_OP_DISCARD:
		ret = sv_res_discard(&ev->res, n->line, &why);
		break;
	case SV_OP_FILEINTO:
		ret = sv_get_str(ev, n->arg[0], &v);
		if (ret == 0 && !sv_mailbox_name_valid(v.s, v.len))
			return sv_fail(ev, n, "fileinto: invalid mailbox name "
				       "'%.64s'", v.s);
		if (ret == 0)
			ret = sv_action_flags(ev, n, n->arg[1], &flags);
		if (ret == 0)
			ret = sv_res_fileinto(&ev->res, n->line, v.s, v.len,
					      flags.s, flags.len,
					      n->flags & SV_F_COPY,
					      n->flags & SV_F_CREATE, &why);
		break;
	case SV_OP_REDIRECT:
		ret = sv_get_str(ev, n->arg[0], &v);
		if (ret == 0 && !sv_addr_spec_valid(v.s, v.len))
			return sv_fail(ev, n, "redirect: invalid address "
				       "'%.64s'", v.s);
		if (ret == 0)
			ret = sv_res_redirect(&ev->res, n->line, v.s, v.len,
					      n->flags & SV_F_COPY, &why);
		break;
	case SV_OP_REJECT:
	case SV_OP_EREJECT:
		ret = sv_get_str(ev, n->arg[0], &v);
		if (ret == 0)
			ret = sv_res_reject(&ev->res, n->line,
					    n->op == SV_OP_EREJECT, v.s, v.len,
					    &why);
		break;
	case SV_OP_VACATION:
		return sv_cmd_vacation(ev, n);
	case SV_OP_SET:
		return sv_cmd_set(ev, n);
	case SV_OP_SETFLAG:
	case SV_OP_ADDFLAG:
	case SV_OP_REMOVEFLAG:
		return sv_cmd_flags(ev, n);
	case SV_OP_INCLUDE:
		return sv_cmd_include(ev, n);
	default:
		return sv_fail(ev, n, "not a command");
	}
	return ret < 0 ? sv_result_error(ev, n, ret, why) : 0;
}

static int sv_run(struct sv_eval *ev, uint32_t first)
{
	const struct sieve_program *p = ev->frame->prog;
	bool taken = false;             /* a branch of this if chain ran */

	for (uint32_t i = first; i != SV_NONE; i = p->nodes[i].next) {
		const struct sv_node *n = &p->nodes[i];
		struct sv_arena_mark mark = sv_arena_mark(&ev->scratch);
		int ret = 0;

		if (ev->stopped || ev->returned)
			return 0;
		if (sv_charge(ev, 1) < 0)
			return sv_fail_errno(ev, n, -E2BIG);
		switch (n->op) {
		case SV_OP_IF:
			taken = false;
			/* fall through */
		case SV_OP_ELSIF:
			if (taken)
				break;
			ret = sv_test(ev, n->test);
			sv_arena_release(&ev->scratch, mark);
			if (ret > 0) {
				taken = true;
				ret = sv_run(ev, n->block);
			}
			break;
		case SV_OP_ELSE:
			if (!taken)
				ret = sv_run(ev, n->block);
			taken = true;
			break;
		default:
			ret = sv_command(ev, n);
		}
		sv_arena_release(&ev->scratch, mark);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static void sv_eval_free(struct sv_eval *ev, struct sv_var *vars,
			 uint32_t n_vars)
{
	for (uint32_t i = 0; i < n_vars; i++)
		free(vars[i].s);
	free(vars);
	for (size_t i = 0; i < ev->n_globals; i++) {
		free(ev->globals[i].name);
		free(ev->globals[i].val.s);
	}
	free(ev->globals);
	for (size_t i = 0; i < SV_MAX_CAPTURES; i++)
		free(ev->caps[i].s);
	for (size_t i = 0; i < ev->n_owned; i++)
		sieve_program_free(&ev->owned[i]);
	free(ev->owned);
	for (size_t i = 0; i < ev->n_included; i++)
		free(ev->included[i].name);
	free(ev->included);
	sv_buf_free(&ev->flags);
	sv_res_free(&ev->res);
	sv_msg_free(&ev->msg);
	sv_arena_free(&ev->scratch);
	sv_arena_free(&ev->persist);
	free(ev);
}

int sieve_evaluate(const struct sieve_program *program,
		   const struct sieve_message *msg,
		   const struct sieve_envelope *envelope,
		   const struct sieve_env *env,
		   struct sieve_result **result_r)
{
	static const struct sieve_envelope empty = { "", "" };

	if (result_r == NULL)
		return -EINVAL;
	*result_r = NULL;
	if (program == NULL || msg == NULL)
		return -EINVAL;
	struct sv_eval *ev = calloc(1, sizeof(*ev));
	if (ev == NULL)
		return -ENOMEM;
	ev->env = env;
	if (env != NULL && env->limits != NULL)
		ev->lim = *env->limits;
	else
		sieve_limits_default(&ev->lim);
	ev->envelope = envelope ? envelope : &empty;
	if (ev->envelope->from == NULL || ev->envelope->to == NULL)
		ev->envelope = &empty;
	sv_arena_init(&ev->scratch, ev->lim.max_memory / 2);
	sv_arena_init(&ev->persist, ev->lim.max_memory / 2);
	sv_msg_init(&ev->msg, msg, &ev->lim, &ev->persist, &ev->cpu);
	ev->mm.scratch = &ev->scratch;
	ev->mm.cpu = &ev->cpu;
	ev->mm.max_cpu = ev->lim.max_cpu;
	sv_buf_init(&ev->flags, ev->lim.max_variable_size);

	uint32_t n_vars = program->vars == SV_NONE ? 0 :
		program->lists[program->vars].count;
	struct sv_frame frame = { program, calloc(n_vars + 1,
						  sizeof(struct sv_var)) };
	if (frame.vars == NULL || sv_res_init(&ev->res, &ev->lim) < 0) {
		sv_eval_free(ev, frame.vars, 0);
		return -ENOMEM;
	}
	ev->frame = &frame;
	int ret = sv_run(ev, program->root);
	if (ret < 0) {
		sv_fail_errno(ev, NULL, ret);
		ret = sv_res_failed(&ev->res, ev->error, result_r);
	} else {
		ret = sv_res_finish(&ev->res, ev->flags.data ? ev->flags.data :
				    "", ev->flags.len, result_r);
	}
	sv_eval_free(ev, frame.vars, n_vars);
	return ret;
}
