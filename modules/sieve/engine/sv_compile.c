/* sieve_compile: parse (sv_parse.c), then give the tree its meaning here:
 * each command and test is checked against its row in sv_specs (tags,
 * positional arguments, extensions) plus a check function for what a
 * table cannot say, and emitted as program nodes (sv_program.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sv_parse.h"
#include "sv_syntax.h"

/* Positional argument types */
enum { SV_P_STR = 1, SV_P_LIST, SV_P_NUM };

/* Tag kinds */
enum { SV_T_FLAG = 1, SV_T_STR, SV_T_LIST, SV_T_NUM };

/* Argument groups a command accepts */
#define SV_G_COMPARATOR 0x1u
#define SV_G_MATCH      0x2u
#define SV_G_ADDRPART   0x4u
#define SV_G_BODY       0x8u
#define SV_G_ZONE       0x10u

#define SV_NO_EXT 0xff

struct sv_tag_spec {
	const char *name;
	uint8_t ext;                /* SV_NO_EXT: none needed */
	uint8_t kind;               /* SV_T_* */
	uint32_t value;             /* FLAG: SV_F_* bit; STR/LIST: arg slot */
};

struct sv_pos_spec {
	uint8_t type, slot;
};

struct sv_compiler;
struct sv_cmd_ctx;

struct sv_spec {
	const char *name;
	uint8_t op;
	uint8_t ext;
	uint8_t groups;
	const struct sv_tag_spec *tags;
	uint8_t npos;
	bool opt_first;             /* the first positional may be left out */
	struct sv_pos_spec pos[3];
	int (*check)(struct sv_compiler *cc, struct sv_cmd_ctx *c);
};

struct sv_var_name {
	char *name;                 /* lower case */
	size_t len;
	bool global;
};

struct sv_compiler {
	const struct sieve_limits *lim;
	struct sieve_error *err;
	struct sv_arena *arena;
	struct sv_builder b;
	uint32_t ext;
	bool commands_seen;         /* a command other than require */
	struct sv_var_name *vars;
	size_t n_vars;
};

/* What one command's arguments resolved to while checking it. */
struct sv_cmd_ctx {
	const struct sv_ast_cmd *ast;
	const struct sv_spec *spec;
	uint32_t node;
	const struct sv_ast_arg *tag_arg[SV_ARGS]; /* STR/LIST tags by slot */
	const struct sv_ast_arg *pos[SV_ARGS];     /* positionals by slot */
	const struct sv_ast_arg *match_tag;
	const struct sv_ast_arg *cmp_tag;
	const struct sv_ast_arg *part_tag;
	const struct sv_ast_arg *body_tag;
	const struct sv_ast_arg *zone_tag;
	const struct sv_ast_arg *num_tag;          /* :days / :seconds */
	const struct sv_ast_arg *size_tag;         /* :over / :under */
	uint8_t match, relop, comparator, part;
	uint32_t flags;
	uint64_t num;
	/* the decoded value of each emitted argument's strings */
	struct sv_val *vals[SV_ARGS];
	bool *vars[SV_ARGS];                       /* per string: has ${} */
	size_t n_vals[SV_ARGS];
};

static struct sv_node *sv_n(struct sv_compiler *cc, uint32_t idx)
{
	return &cc->b.nodes[idx];
}

#define sv_err(cc, line, col, ...) \
	sv_error_at((cc)->err, line, col, __VA_ARGS__)

static bool sv_ext_on(const struct sv_compiler *cc, unsigned ext)
{
	return (cc->ext >> ext) & 1u;
}

static int sv_need_ext(struct sv_compiler *cc, unsigned ext, unsigned line,
		       unsigned col)
{
	if (ext == SV_NO_EXT || sv_ext_on(cc, ext))
		return 0;
	return sv_err(cc, line, col, "extension '%s' used without require",
		      sv_ext_name(ext));
}

/* Strings: encoded-character and variable references */

static int sv_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = sv_lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static size_t sv_utf8_put(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static bool sv_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Decodes one "${hex:...}" or "${unicode:...}" at s (starting with "${")
 * into out. Returns the octets consumed, 0 when this is not a valid
 * encoding (left as it is), -EINVAL for a code point out of range. */
static long sv_encoded_one(const char *s, size_t len, char *out,
			   size_t *out_len)
{
	bool unicode;
	size_t i;

	if (len >= 6 && sv_strcasecmp_len(s + 2, 4, "hex:", 4) == 0) {
		unicode = false;
		i = 6;
	} else if (len >= 10 &&
		   sv_strcasecmp_len(s + 2, 8, "unicode:", 8) == 0) {
		unicode = true;
		i = 10;
	} else {
		return 0;
	}
	size_t n = 0, items = 0;
	bool range_error = false;
	for (;;) {
		while (i < len && sv_blank(s[i]))
			i++;
		if (i >= len)
			return 0;
		if (s[i] == '}')
			break;
		if (items > 0 && !sv_blank(s[i - 1]))
			return 0;
		size_t digits = 0;
		uint32_t v = 0;
		while (i < len && sv_hexval(s[i]) >= 0) {
			if (v > 0x10ffff)
				range_error = true;
			else
				v = v * 16 + (uint32_t)sv_hexval(s[i]);
			i++;
			digits++;
		}
		if (digits == 0 || (!unicode && digits > 2))
			return 0;
		if (unicode) {
			if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
				range_error = true;
			else
				n += sv_utf8_put(out + n, v);
		} else {
			out[n++] = (char)v;
		}
		items++;
	}
	if (items == 0)
		return 0;
	if (range_error)
		return -EINVAL;
	*out_len = n;
	return (long)(i + 1);
}

static int sv_decode_encoded(struct sv_compiler *cc,
			     const struct sv_ast_str *in, struct sv_val *out)
{
	/* Decoding never grows the text: "${hex:41}" (9) -> 1 octet, and a
	 * unicode escape's UTF-8 is shorter than its hex form. */
	char *o = sv_arena_alloc(cc->arena, in->len + 1);
	size_t n = 0;

	if (o == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < in->len;) {
		if (in->s[i] == '$' && i + 1 < in->len && in->s[i + 1] == '{') {
			size_t dlen = 0;
			long used = sv_encoded_one(in->s + i, in->len - i,
						   o + n, &dlen);
			if (used < 0)
				return sv_err(cc, in->line, in->col,
					      "encoded character out of the "
					      "Unicode range");
			if (used > 0) {
				n += dlen;
				i += (size_t)used;
				continue;
			}
		}
		o[n++] = in->s[i++];
	}
	o[n] = '\0';
	out->s = o;
	out->len = n;
	return 0;
}

/* Scans for variable references (RFC 5229 3): whether s has one, with
 * unknown namespaces refused. */
static int sv_scan_vars(struct sv_compiler *cc, const struct sv_ast_str *in,
			const struct sv_val *v, bool *has_r)
{
	*has_r = false;
	for (size_t i = 0; i + 2 < v->len; i++) {
		if (v->s[i] != '$' || v->s[i + 1] != '{')
			continue;
		size_t start = i + 2, end = start;
		while (end < v->len && v->s[end] != '}' &&
		       ((v->s[end] >= 'a' && v->s[end] <= 'z') ||
			(v->s[end] >= 'A' && v->s[end] <= 'Z') ||
			(v->s[end] >= '0' && v->s[end] <= '9') ||
			v->s[end] == '_' || v->s[end] == '.'))
			end++;
		if (end >= v->len || v->s[end] != '}' || end == start)
			continue;
		const char *name = v->s + start;
		size_t len = end - start;
		const char *dot = memchr(name, '.', len);
		if (dot == NULL) {
			bool digits = true;
			for (size_t k = 0; k < len; k++)
				if (name[k] < '0' || name[k] > '9')
					digits = false;
			if (digits || sv_ident_valid(name, len))
				*has_r = true;
			continue;
		}
		size_t ns = (size_t)(dot - name);
		if (!sv_ident_valid(name, ns) ||
		    !sv_ident_valid(dot + 1, len - ns - 1))
			continue;
		if (sv_ext_on(cc, SV_EXT_INCLUDE) &&
		    sv_eq_ci(name, ns, "global")) {
			*has_r = true;
			continue;
		}
		char nsbuf[64];
		size_t cut = ns < sizeof(nsbuf) - 1 ? ns : sizeof(nsbuf) - 1;
		memcpy(nsbuf, name, cut);
		nsbuf[cut] = '\0';
		return sv_err(cc, in->line, in->col,
			      "unknown variable namespace '%s'", nsbuf);
	}
	return 0;
}

/* Processes an argument's strings into values and emits them as a list
 * into arg slot of the node. */
static int sv_emit_arg(struct sv_compiler *cc, struct sv_cmd_ctx *c,
		       unsigned slot, const struct sv_ast_arg *arg)
{
	size_t first = cc->b.n_strs;
	struct sv_val *vals = sv_arena_alloc(cc->arena,
					     arg->n_strs * sizeof(*vals) + 1);
	bool *vars = sv_arena_alloc(cc->arena, arg->n_strs + 1);

	if (vals == NULL || vars == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < arg->n_strs; i++) {
		const struct sv_ast_str *in = &arg->strs[i];
		int ret;
		vals[i].s = in->s;
		vals[i].len = in->len;
		vars[i] = false;
		if (sv_ext_on(cc, SV_EXT_ENCODED_CHARACTER)) {
			ret = sv_decode_encoded(cc, in, &vals[i]);
			if (ret < 0)
				return ret;
		}
		if (sv_ext_on(cc, SV_EXT_VARIABLES)) {
			ret = sv_scan_vars(cc, in, &vals[i], &vars[i]);
			if (ret < 0)
				return ret;
		}
		ret = sv_builder_str(&cc->b, vals[i].s, vals[i].len,
				     vars[i] ? SV_STR_VARS : 0);
		if (ret < 0)
			return ret;
	}
	uint32_t list = sv_builder_list(&cc->b, first);
	if (list == SV_NONE)
		return -ENOMEM;
	sv_n(cc, c->node)->arg[slot] = list;
	c->vals[slot] = vals;
	c->vars[slot] = vars;
	c->n_vals[slot] = arg->n_strs;
	return 0;
}

/* The first value of an emitted argument, when it is a constant. */
static bool sv_const(const struct sv_cmd_ctx *c, unsigned slot, size_t i,
		     struct sv_val *v_r)
{
	if (c->vals[slot] == NULL || i >= c->n_vals[slot] ||
	    c->vars[slot][i])
		return false;
	*v_r = c->vals[slot][i];
	return true;
}

static const struct sv_ast_arg *sv_slot_arg(const struct sv_cmd_ctx *c,
					     unsigned slot)
{
	return c->pos[slot] != NULL ? c->pos[slot] : c->tag_arg[slot];
}

/* Position of string i of an argument, for errors. */
static void sv_str_pos(const struct sv_cmd_ctx *c, unsigned slot, size_t i,
		       unsigned *line, unsigned *col)
{
	const struct sv_ast_arg *a = sv_slot_arg(c, slot);

	*line = c->ast->line;
	*col = c->ast->col;
	if (a != NULL && i < a->n_strs) {
		*line = a->strs[i].line;
		*col = a->strs[i].col;
	}
}

/* Variables */

static int sv_var_add(struct sv_compiler *cc, const char *name, size_t len,
		      bool global, unsigned line, unsigned col)
{
	for (size_t i = 0; i < cc->n_vars; i++) {
		if (sv_strcasecmp_len(cc->vars[i].name, cc->vars[i].len, name,
				      len) == 0) {
			cc->vars[i].global |= global;
			return 0;
		}
	}
	if (cc->n_vars >= cc->lim->max_variables)
		return sv_error_at(cc->err, line, col,
				   "too many variables (max %u)",
				   cc->lim->max_variables);
	struct sv_var_name *vars = realloc(cc->vars, (cc->n_vars + 1) *
					   sizeof(*vars));
	if (vars == NULL)
		return -ENOMEM;
	cc->vars = vars;
	char *lower = sv_arena_strndup(cc->arena, name, len);
	if (lower == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++)
		lower[i] = sv_lower(lower[i]);
	cc->vars[cc->n_vars].name = lower;
	cc->vars[cc->n_vars].len = len;
	cc->vars[cc->n_vars].global = global;
	cc->n_vars++;
	return 0;
}

/* A variable a command writes: an identifier, or global.identifier. */
static int sv_var_target(struct sv_compiler *cc, struct sv_cmd_ctx *c,
			 unsigned slot)
{
	struct sv_val v;
	unsigned line, col;

	sv_str_pos(c, slot, 0, &line, &col);
	if (!sv_const(c, slot, 0, &v))
		return sv_err(cc, line, col,
			      "the variable name must be a constant");
	/* global.name (RFC 6609 3.5) goes straight to the global store: it
	 * needs no slot here, and must not make a plain ${name} global. */
	const char *dot = memchr(v.s, '.', v.len);
	if (dot != NULL && sv_ext_on(cc, SV_EXT_INCLUDE) &&
	    sv_eq_ci(v.s, (size_t)(dot - v.s), "global") &&
	    sv_ident_valid(dot + 1, v.len - (size_t)(dot - v.s) - 1))
		return 0;
	if (!sv_ident_valid(v.s, v.len))
		return sv_err(cc, line, col, "invalid variable name '%.64s'", v.s);
	return sv_var_add(cc, v.s, v.len, false, line, col);
}

static int sv_var_cmp(const void *a, const void *b)
{
	const struct sv_var_name *x = a, *y = b;
	return sv_strcasecmp_len(x->name, x->len, y->name, y->len);
}

/* Checks of single commands and tests */

/* Each constant string of an argument must be valid; the error reads
 * before'value'after. */
static int sv_check_strings(struct sv_compiler *cc, struct sv_cmd_ctx *c,
			    unsigned slot,
			    bool (*valid)(const char *, size_t),
			    const char *before, const char *after)
{
	for (size_t i = 0; i < c->n_vals[slot]; i++) {
		struct sv_val v;
		if (!sv_const(c, slot, i, &v) || valid(v.s, v.len))
			continue;
		unsigned line, col;
		sv_str_pos(c, slot, i, &line, &col);
		return sv_err(cc, line, col, "%s'%.64s'%s", before, v.s,
			      after);
	}
	return 0;
}

static int sv_check_fileinto(struct sv_compiler *cc, struct sv_cmd_ctx *c)
{
	return sv_check_strings(cc, c, 0, sv_mailbox_name_valid,
				"invalid mailbox name ", "");
}

static int sv_check_redirect(struct sv_compiler *cc, struct sv_cmd_ctx *c)
{
	return sv_check_strings(cc, c, 0, sv_addr_spec_valid,
				"invalid address ", "");
}

static bool sv_mailbox_ok(const char *s, size_t len)
{
	size_t off = 0, alen;
	return sv_mailbox_valid(s, len, &off, &alen);
}

static int sv_check_vacation(struct sv_compiler *cc, struct sv_cmd_ctx *c)
{
	int ret = sv_check_strings(cc, c, 2, sv_mailbox_ok,
				     "invalid :from address ", "");

	if (ret == 0)
		ret = sv_check_strings(cc, c, 3, sv_addr_spec_valid,
				       "invalid :addresses address ", "");
	if (ret < 0 || c->num_tag == NULL)
		return ret;
	/* Periods are clamped to the site's bounds at runtime; this bound
	 * only keeps the arithmetic in range. */
	uint64_t max = (c->flags & SV_F_SECONDS) ? UINT32_MAX : 36500;
	if (c->num > max)
		return sv_err(cc, c->num_tag->line, c->num_tag->col,
			      "%s too large", c->flags & SV_F_SECONDS ?
			      ":seconds" : ":days");
	sv_n(cc, c->node)->num = c->num;
	return 0;
}

static int sv_check_set(struct sv_compiler *cc, struct sv_cmd_ctx *c)
{
	static const uint32_t same[] = {
		SV_F_LOWER | SV_F_UPPER, SV_F_LOWERFIRST | SV_F_UPPERFIRST,
	};

	for (size_t i = 0; i < 2; i++)
		if ((c->flags & same[i]) == same[i])
			return sv_err(cc, c->ast->line, c->ast->col,
				      "conflicting modifiers for 'set'");
	return sv_var_target(cc, c, 0);
}

static int sv_check_flagcmd(struct sv_compiler *cc, struct sv_cmd_ctx *c)
{
	return c->pos[0] != NULL ? sv_var_target(cc, c, 0) : 0;
}

static int sv_check_hasflag(struct sv_compiler *cc, struct sv_cmd_ctx *c)
{
	for (size_t i = 0; c->pos[0] != NULL && i < c->n_vals[0]; i++) {
		struct sv_val v;
		unsigned line, col;
		sv_str_pos(c, 0, i, &line, &col);
		if (!sv_const(c, 0, i, &v) || !sv_ident_valid(v.s, v.len))
			return sv_err(cc, line, col,
				      "invalid variable name '%.64s'", c->vals[0][i].s);
	}
	return 0;
}

static int sv_check_include(struct sv_compiler *cc, struct sv_cmd_ctx *c)
{
	struct sv_val v;
	unsigned line, col;

	sv_str_pos(c, 0, 0, &line, &col);
	if (!sv_const(c, 0, 0, &v))
		return sv_err(cc, line, col,
			      "the script name must be a constant");
	return sv_check_strings(cc, c, 0, sv_script_name_valid,
				"invalid script name ", "");
}

static int sv_check_global(struct sv_compiler *cc, struct sv_cmd_ctx *c)
{
	for (size_t i = 0; i < c->n_vals[0]; i++) {
		struct sv_val v;
		unsigned line, col;
		sv_str_pos(c, 0, i, &line, &col);
		if (!sv_const(c, 0, i, &v) || !sv_ident_valid(v.s, v.len))
			return sv_err(cc, line, col,
				      "invalid variable name '%.64s'", c->vals[0][i].s);
		int ret = sv_var_add(cc, v.s, v.len, true, line, col);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static bool sv_header_ok(const char *s, size_t len)
{
	return sv_header_name_valid(s, len);
}

static int sv_check_header(struct sv_compiler *cc, struct sv_cmd_ctx *c)
{
	return sv_check_strings(cc, c, 0, sv_header_ok,
				"invalid header name ", "");
}

static bool sv_address_header_ok(const char *s, size_t len)
{
	return sv_header_name_valid(s, len) && sv_address_header(s, len);
}

static int sv_check_address(struct sv_compiler *cc, struct sv_cmd_ctx *c)
{
	return sv_check_strings(cc, c, 0, sv_address_header_ok, "",
				" is not an address header");
}

static bool sv_envelope_part_ok(const char *s, size_t len)
{
	return sv_eq_ci(s, len, "from") || sv_eq_ci(s, len, "to");
}

static int sv_check_envelope(struct sv_compiler *cc, struct sv_cmd_ctx *c)
{
	return sv_check_strings(cc, c, 0, sv_envelope_part_ok,
				"unknown envelope part ", " (from or to)");
}

static int sv_check_size(struct sv_compiler *cc, struct sv_cmd_ctx *c)
{
	if (c->size_tag == NULL)
		return sv_err(cc, c->ast->line, c->ast->col,
			      "'size' needs :over or :under");
	sv_n(cc, c->node)->num = c->pos[0]->num;
	return 0;
}

static bool sv_datepart_ok(const char *s, size_t len)
{
	return sv_datepart_find(s, len) >= 0;
}

static bool sv_zone_ok(const char *s, size_t len)
{
	int m;
	return sv_zone_parse(s, len, &m);
}

static int sv_check_date(struct sv_compiler *cc, struct sv_cmd_ctx *c)
{
	int ret = 0;

	if (c->spec->op == SV_OP_DATE)
		ret = sv_check_header(cc, c);
	if (ret == 0)
		ret = sv_check_strings(cc, c, 1, sv_datepart_ok,
				       "unknown date part ", "");
	if (ret == 0)
		ret = sv_check_strings(cc, c, 3, sv_zone_ok,
				       "invalid time zone ", " (+hhmm or -hhmm)");
	return ret;
}

static int sv_check_body(struct sv_compiler *cc, struct sv_cmd_ctx *c)
{
	return sv_check_strings(cc, c, 1, sv_content_type_valid,
				"invalid content type ", "");
}

static bool sv_mailbox_name_ok(const char *s, size_t len)
{
	return sv_mailbox_name_valid(s, len);
}

static int sv_check_mailboxexists(struct sv_compiler *cc,
				  struct sv_cmd_ctx *c)
{
	return sv_check_strings(cc, c, 0, sv_mailbox_name_ok,
				"invalid mailbox name ", "");
}

/* The table */

static const struct sv_tag_spec sv_tags_keep[] = {
	{ "flags", SV_EXT_IMAP4FLAGS, SV_T_LIST, 0 },
	{ NULL, 0, 0, 0 },
};
static const struct sv_tag_spec sv_tags_fileinto[] = {
	{ "flags", SV_EXT_IMAP4FLAGS, SV_T_LIST, 1 },
	{ "copy", SV_EXT_COPY, SV_T_FLAG, SV_F_COPY },
	{ "create", SV_EXT_MAILBOX, SV_T_FLAG, SV_F_CREATE },
	{ NULL, 0, 0, 0 },
};
static const struct sv_tag_spec sv_tags_redirect[] = {
	{ "copy", SV_EXT_COPY, SV_T_FLAG, SV_F_COPY },
	{ NULL, 0, 0, 0 },
};
static const struct sv_tag_spec sv_tags_vacation[] = {
	{ "days", SV_NO_EXT, SV_T_NUM, 0 },
	{ "seconds", SV_EXT_VACATION_SECONDS, SV_T_NUM, SV_F_SECONDS },
	{ "subject", SV_NO_EXT, SV_T_STR, 1 },
	{ "from", SV_NO_EXT, SV_T_STR, 2 },
	{ "addresses", SV_NO_EXT, SV_T_LIST, 3 },
	{ "mime", SV_NO_EXT, SV_T_FLAG, SV_F_MIME },
	{ "handle", SV_NO_EXT, SV_T_STR, 4 },
	{ NULL, 0, 0, 0 },
};
static const struct sv_tag_spec sv_tags_set[] = {
	{ "lower", SV_NO_EXT, SV_T_FLAG, SV_F_LOWER },
	{ "upper", SV_NO_EXT, SV_T_FLAG, SV_F_UPPER },
	{ "lowerfirst", SV_NO_EXT, SV_T_FLAG, SV_F_LOWERFIRST },
	{ "upperfirst", SV_NO_EXT, SV_T_FLAG, SV_F_UPPERFIRST },
	{ "quotewildcard", SV_NO_EXT, SV_T_FLAG, SV_F_QUOTEWILD },
	{ "length", SV_NO_EXT, SV_T_FLAG, SV_F_LENGTH },
	{ NULL, 0, 0, 0 },
};
static const struct sv_tag_spec sv_tags_include[] = {
	{ "personal", SV_NO_EXT, SV_T_FLAG, 0 },
	{ "global", SV_NO_EXT, SV_T_FLAG, SV_F_GLOBAL },
	{ "once", SV_NO_EXT, SV_T_FLAG, SV_F_ONCE },
	{ "optional", SV_NO_EXT, SV_T_FLAG, SV_F_OPTIONAL },
	{ NULL, 0, 0, 0 },
};
static const struct sv_tag_spec sv_tags_size[] = {
	{ "over", SV_NO_EXT, SV_T_FLAG, SV_F_OVER },
	{ "under", SV_NO_EXT, SV_T_FLAG, 0 },
	{ NULL, 0, 0, 0 },
};

#define P(t, s) { t, s }
#define CMP_MATCH (SV_G_COMPARATOR | SV_G_MATCH)

static const struct sv_spec sv_specs[] = {
	{ "if", SV_OP_IF, SV_NO_EXT, 0, NULL, 0, false, { { 0 } }, NULL },
	{ "elsif", SV_OP_ELSIF, SV_NO_EXT, 0, NULL, 0, false, { { 0 } },
	  NULL },
	{ "else", SV_OP_ELSE, SV_NO_EXT, 0, NULL, 0, false, { { 0 } }, NULL },
	{ "stop", SV_OP_STOP, SV_NO_EXT, 0, NULL, 0, false, { { 0 } }, NULL },
	{ "keep", SV_OP_KEEP, SV_NO_EXT, 0, sv_tags_keep, 0, false,
	  { { 0 } }, NULL },
	{ "discard", SV_OP_DISCARD, SV_NO_EXT, 0, NULL, 0, false, { { 0 } },
	  NULL },
	{ "fileinto", SV_OP_FILEINTO, SV_EXT_FILEINTO, 0, sv_tags_fileinto, 1,
	  false, { P(SV_P_STR, 0) }, sv_check_fileinto },
	{ "redirect", SV_OP_REDIRECT, SV_NO_EXT, 0, sv_tags_redirect, 1,
	  false, { P(SV_P_STR, 0) }, sv_check_redirect },
	{ "reject", SV_OP_REJECT, SV_EXT_REJECT, 0, NULL, 1, false,
	  { P(SV_P_STR, 0) }, NULL },
	{ "ereject", SV_OP_EREJECT, SV_EXT_EREJECT, 0, NULL, 1, false,
	  { P(SV_P_STR, 0) }, NULL },
	{ "vacation", SV_OP_VACATION, SV_EXT_VACATION, 0, sv_tags_vacation,
	  1, false, { P(SV_P_STR, 0) }, sv_check_vacation },
	{ "set", SV_OP_SET, SV_EXT_VARIABLES, 0, sv_tags_set, 2, false,
	  { P(SV_P_STR, 0), P(SV_P_STR, 1) }, sv_check_set },
	{ "setflag", SV_OP_SETFLAG, SV_EXT_IMAP4FLAGS, 0, NULL, 2, true,
	  { P(SV_P_STR, 0), P(SV_P_LIST, 1) }, sv_check_flagcmd },
	{ "addflag", SV_OP_ADDFLAG, SV_EXT_IMAP4FLAGS, 0, NULL, 2, true,
	  { P(SV_P_STR, 0), P(SV_P_LIST, 1) }, sv_check_flagcmd },
	{ "removeflag", SV_OP_REMOVEFLAG, SV_EXT_IMAP4FLAGS, 0, NULL, 2, true,
	  { P(SV_P_STR, 0), P(SV_P_LIST, 1) }, sv_check_flagcmd },
	{ "include", SV_OP_INCLUDE, SV_EXT_INCLUDE, 0, sv_tags_include, 1,
	  false, { P(SV_P_STR, 0) }, sv_check_include },
	{ "return", SV_OP_RETURN, SV_EXT_INCLUDE, 0, NULL, 0, false,
	  { { 0 } }, NULL },
	{ "global", SV_OP_GLOBAL, SV_EXT_INCLUDE, 0, NULL, 1, false,
	  { P(SV_P_LIST, 0) }, sv_check_global },
	{ "true", SV_OP_TRUE, SV_NO_EXT, 0, NULL, 0, false, { { 0 } }, NULL },
	{ "false", SV_OP_FALSE, SV_NO_EXT, 0, NULL, 0, false, { { 0 } },
	  NULL },
	{ "not", SV_OP_NOT, SV_NO_EXT, 0, NULL, 0, false, { { 0 } }, NULL },
	{ "allof", SV_OP_ALLOF, SV_NO_EXT, 0, NULL, 0, false, { { 0 } },
	  NULL },
	{ "anyof", SV_OP_ANYOF, SV_NO_EXT, 0, NULL, 0, false, { { 0 } },
	  NULL },
	{ "address", SV_OP_ADDRESS, SV_NO_EXT, CMP_MATCH | SV_G_ADDRPART,
	  NULL, 2, false, { P(SV_P_LIST, 0), P(SV_P_LIST, 1) },
	  sv_check_address },
	{ "envelope", SV_OP_ENVELOPE, SV_EXT_ENVELOPE,
	  CMP_MATCH | SV_G_ADDRPART, NULL, 2, false,
	  { P(SV_P_LIST, 0), P(SV_P_LIST, 1) }, sv_check_envelope },
	{ "header", SV_OP_HEADER, SV_NO_EXT, CMP_MATCH, NULL, 2, false,
	  { P(SV_P_LIST, 0), P(SV_P_LIST, 1) }, sv_check_header },
	{ "exists", SV_OP_EXISTS, SV_NO_EXT, 0, NULL, 1, false,
	  { P(SV_P_LIST, 0) }, sv_check_header },
	{ "size", SV_OP_SIZE, SV_NO_EXT, 0, sv_tags_size, 1, false,
	  { P(SV_P_NUM, 0) }, sv_check_size },
	{ "body", SV_OP_BODY, SV_EXT_BODY, CMP_MATCH | SV_G_BODY, NULL, 1,
	  false, { P(SV_P_LIST, 0) }, sv_check_body },
	{ "string", SV_OP_STRING, SV_EXT_VARIABLES, CMP_MATCH, NULL, 2,
	  false, { P(SV_P_LIST, 0), P(SV_P_LIST, 1) }, NULL },
	{ "hasflag", SV_OP_HASFLAG, SV_EXT_IMAP4FLAGS, CMP_MATCH, NULL, 2,
	  true, { P(SV_P_LIST, 0), P(SV_P_LIST, 1) }, sv_check_hasflag },
	{ "mailboxexists", SV_OP_MAILBOXEXISTS, SV_EXT_MAILBOX, 0, NULL, 1,
	  false, { P(SV_P_LIST, 0) }, sv_check_mailboxexists },
	{ "date", SV_OP_DATE, SV_EXT_DATE, CMP_MATCH | SV_G_ZONE, NULL, 3,
	  false, { P(SV_P_STR, 0), P(SV_P_STR, 1), P(SV_P_LIST, 2) },
	  sv_check_date },
	{ "currentdate", SV_OP_CURRENTDATE, SV_EXT_DATE,
	  CMP_MATCH | SV_G_ZONE, NULL, 2, false,
	  { P(SV_P_STR, 1), P(SV_P_LIST, 2) }, sv_check_date },
};

static const struct sv_spec *sv_spec_find(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(sv_specs) / sizeof(sv_specs[0]); i++)
		if (sv_eq_ci(name, len, sv_specs[i].name))
			return &sv_specs[i];
	return NULL;
}

/* Tagged arguments */

static int sv_tag_dup(struct sv_compiler *cc, const struct sv_ast_arg *a,
		      const char *what)
{
	return sv_err(cc, a->line, a->col, "more than one %s given", what);
}

static int sv_tag_value(struct sv_compiler *cc, const struct sv_ast_cmd *ast,
			size_t *i, uint8_t kind, const struct sv_ast_arg **v_r)
{
	const struct sv_ast_arg *tag = &ast->args[*i];
	const struct sv_ast_arg *v = *i + 1 < ast->n_args ?
		&ast->args[*i + 1] : NULL;
	bool ok = v != NULL &&
		  ((kind == SV_T_NUM && v->kind == SV_ARG_NUMBER) ||
		   (kind == SV_T_LIST && v->kind == SV_ARG_STRINGS) ||
		   (kind == SV_T_STR && v->kind == SV_ARG_STRINGS &&
		    !v->is_list));
	if (!ok) {
		char name[64];
		size_t n = tag->tag_len < 63 ? tag->tag_len : 63;
		memcpy(name, tag->tag, n);
		name[n] = '\0';
		return sv_err(cc, tag->line, tag->col, ":%s needs %s", name,
			      kind == SV_T_NUM ? "a number" :
			      kind == SV_T_LIST ? "a string list" :
			      "a string");
	}
	(*i)++;
	*v_r = v;
	return 0;
}

static bool sv_str_eq(const struct sv_ast_arg *a, const char *s)
{
	return a->n_strs == 1 && !a->is_list &&
	       sv_eq_ci(a->strs[0].s, a->strs[0].len, s);
}

/* The generic groups: comparator, match type, address part, body
 * transform, zone. 1 when the tag was one of them, 0 when not. */
static int sv_group_tag(struct sv_compiler *cc, struct sv_cmd_ctx *c,
			size_t *i)
{
	const struct sv_ast_cmd *ast = c->ast;
	const struct sv_ast_arg *a = &ast->args[*i], *v;
	unsigned groups = c->spec->groups;
	int ret;

#define TAG(s) sv_eq_ci(a->tag, a->tag_len, s)
	if ((groups & SV_G_COMPARATOR) && TAG("comparator")) {
		if (c->cmp_tag != NULL)
			return sv_tag_dup(cc, a, "comparator");
		ret = sv_tag_value(cc, ast, i, SV_T_STR, &v);
		if (ret < 0)
			return ret;
		c->cmp_tag = v;
		if (sv_str_eq(v, "i;octet")) {
			c->comparator = SV_CMP_OCTET;
		} else if (sv_str_eq(v, "i;ascii-casemap")) {
			c->comparator = SV_CMP_CASEMAP;
		} else if (sv_str_eq(v, "i;ascii-numeric")) {
			c->comparator = SV_CMP_NUMERIC;
			ret = sv_need_ext(cc, SV_EXT_NUMERIC, v->line, v->col);
			if (ret < 0)
				return ret;
		} else {
			return sv_err(cc, v->line, v->col,
				      "unknown comparator '%.64s'", v->strs[0].s);
		}
		return 1;
	}
	if (groups & SV_G_MATCH) {
		int m = TAG("is") ? SV_MATCH_IS : TAG("contains") ?
			SV_MATCH_CONTAINS : TAG("matches") ? SV_MATCH_MATCHES :
			TAG("count") ? SV_MATCH_COUNT : TAG("value") ?
			SV_MATCH_VALUE : -1;
		if (m >= 0) {
			if (c->match_tag != NULL)
				return sv_tag_dup(cc, a, "match type");
			c->match_tag = a;
			c->match = (uint8_t)m;
			if (m != SV_MATCH_COUNT && m != SV_MATCH_VALUE)
				return 1;
			ret = sv_need_ext(cc, SV_EXT_RELATIONAL, a->line,
					  a->col);
			if (ret == 0)
				ret = sv_tag_value(cc, ast, i, SV_T_STR, &v);
			if (ret < 0)
				return ret;
			static const char *const ops[] = {
				NULL, "gt", "ge", "lt", "le", "eq", "ne",
			};
			for (unsigned r = 1; r < SV_REL_MAX; r++)
				if (sv_str_eq(v, ops[r]))
					c->relop = (uint8_t)r;
			if (c->relop == SV_REL_NONE)
				return sv_err(cc, v->line, v->col,
					      "unknown relational operator "
					      "'%.16s'", v->strs[0].s);
			return 1;
		}
	}
	if (groups & SV_G_ADDRPART) {
		int p = TAG("all") ? SV_PART_ALL : TAG("localpart") ?
			SV_PART_LOCALPART : TAG("domain") ? SV_PART_DOMAIN :
			TAG("user") ? SV_PART_USER : TAG("detail") ?
			SV_PART_DETAIL : -1;
		if (p >= 0) {
			if (c->part_tag != NULL)
				return sv_tag_dup(cc, a, "address part");
			if (p == SV_PART_USER || p == SV_PART_DETAIL) {
				ret = sv_need_ext(cc, SV_EXT_SUBADDRESS,
						  a->line, a->col);
				if (ret < 0)
					return ret;
			}
			c->part_tag = a;
			c->part = (uint8_t)p;
			return 1;
		}
	}
	if (groups & SV_G_BODY) {
		int t = TAG("text") ? SV_BODY_TEXT : TAG("raw") ?
			SV_BODY_RAW : TAG("content") ? SV_BODY_CONTENT : -1;
		if (t >= 0) {
			if (c->body_tag != NULL)
				return sv_tag_dup(cc, a, "body transform");
			c->body_tag = a;
			c->part = (uint8_t)t;
			if (t != SV_BODY_CONTENT)
				return 1;
			ret = sv_tag_value(cc, ast, i, SV_T_LIST, &v);
			if (ret < 0)
				return ret;
			c->tag_arg[1] = v;
			return 1;
		}
	}
	if (groups & SV_G_ZONE) {
		bool orig = TAG("originalzone");
		if (TAG("zone") || (orig && c->spec->op == SV_OP_DATE)) {
			if (c->zone_tag != NULL)
				return sv_tag_dup(cc, a, "time zone");
			c->zone_tag = a;
			c->part = orig ? SV_ZONE_ORIGINAL : SV_ZONE_GIVEN;
			if (orig)
				return 1;
			ret = sv_tag_value(cc, ast, i, SV_T_STR, &v);
			if (ret < 0)
				return ret;
			c->tag_arg[3] = v;
			return 1;
		}
	}
#undef TAG
	return 0;
}

static int sv_own_tag(struct sv_compiler *cc, struct sv_cmd_ctx *c,
		      size_t *i)
{
	const struct sv_ast_arg *a = &c->ast->args[*i], *v;
	const struct sv_tag_spec *t = c->spec->tags;
	int ret;

	for (; t != NULL && t->name != NULL; t++)
		if (sv_eq_ci(a->tag, a->tag_len, t->name))
			break;
	if (t == NULL || t->name == NULL) {
		char name[64];
		size_t n = a->tag_len < 63 ? a->tag_len : 63;
		memcpy(name, a->tag, n);
		name[n] = '\0';
		return sv_err(cc, a->line, a->col, "unknown tag ':%s' for '%s'",
			      name, c->spec->name);
	}
	ret = sv_need_ext(cc, t->ext, a->line, a->col);
	if (ret < 0)
		return ret;
	switch (t->kind) {
	case SV_T_FLAG:
		if (c->spec->op == SV_OP_SIZE) {
			if (c->size_tag != NULL)
				return sv_tag_dup(cc, a, ":over or :under");
			c->size_tag = a;
		} else if (t->value != 0 && (c->flags & t->value)) {
			return sv_tag_dup(cc, a, t->name);
		}
		c->flags |= t->value;
		return 0;
	case SV_T_NUM:
		if (c->num_tag != NULL)
			return sv_err(cc, a->line, a->col,
				      "only one of :days and :seconds may be "
				      "given");
		ret = sv_tag_value(cc, c->ast, i, SV_T_NUM, &v);
		if (ret < 0)
			return ret;
		c->num_tag = a;
		c->num = v->num;
		c->flags |= t->value;
		return 0;
	default:
		if (c->tag_arg[t->value] != NULL)
			return sv_tag_dup(cc, a, t->name);
		ret = sv_tag_value(cc, c->ast, i, t->kind, &v);
		if (ret < 0)
			return ret;
		c->tag_arg[t->value] = v;
		return 0;
	}
}

static int sv_positional(struct sv_compiler *cc, struct sv_cmd_ctx *c,
			 const struct sv_ast_arg **pos, size_t npos)
{
	const struct sv_spec *s = c->spec;
	const struct sv_ast_cmd *ast = c->ast;
	size_t skip = 0;

	if (s->opt_first && npos + 1 == s->npos)
		skip = 1;
	if (npos + skip != s->npos) {
		if (npos + skip < s->npos)
			return sv_error_at(cc->err, ast->line, ast->col,
					   "'%s' needs %u argument%s, found "
					   "%zu", s->name,
					   (unsigned)s->npos - (s->opt_first ?
								1 : 0),
					   s->npos > 1 ? "s" : "", npos);
		const struct sv_ast_arg *extra = pos[s->npos - skip];
		return sv_err(cc, extra->line, extra->col,
			      "too many arguments for '%s'", s->name);
	}
	for (size_t i = 0; i < npos; i++) {
		const struct sv_pos_spec *ps = &s->pos[i + skip];
		const struct sv_ast_arg *a = pos[i];
		bool ok = (ps->type == SV_P_NUM && a->kind == SV_ARG_NUMBER) ||
			  (ps->type == SV_P_LIST &&
			   a->kind == SV_ARG_STRINGS) ||
			  (ps->type == SV_P_STR && a->kind == SV_ARG_STRINGS &&
			   !a->is_list);
		if (!ok)
			return sv_err(cc, a->line, a->col,
				      "'%s' expects %s here", s->name,
				      ps->type == SV_P_NUM ? "a number" :
				      ps->type == SV_P_LIST ?
				      "a string or string list" :
				      "a string");
		c->pos[ps->slot] = a;
	}
	return 0;
}

static int sv_cc_test(struct sv_compiler *cc, const struct sv_ast_cmd *t,
		      uint32_t *idx_r);
static int sv_cc_block(struct sv_compiler *cc, const struct sv_ast_cmd *cmds,
		       size_t n, bool top, uint32_t *first_r);

static int sv_name_err(struct sv_compiler *cc, const struct sv_ast_cmd *ast,
		       const char *before, const char *after)
{
	char name[64];
	size_t n = ast->name_len < 63 ? ast->name_len : 63;

	memcpy(name, ast->name, n);
	name[n] = '\0';
	return sv_err(cc, ast->line, ast->col, "%s'%s'%s", before, name,
		      after);
}

/* Checks and emits one command or test (not require). */
static int sv_cc_node(struct sv_compiler *cc, const struct sv_ast_cmd *ast,
		      bool as_test, uint32_t *idx_r)
{
	const struct sv_spec *s = sv_spec_find(ast->name, ast->name_len);
	struct sv_cmd_ctx c;
	const struct sv_ast_arg *pos[8];
	size_t npos = 0;
	int ret;

	if (s == NULL)
		return sv_name_err(cc, ast, as_test ? "unknown test " :
				   "unknown command ", "");
	const struct sv_op_info *info = &sv_ops[s->op];
	if (info->is_test != as_test)
		return sv_name_err(cc, ast, "", as_test ?
				   " is a command, not a test" :
				   " is a test, not a command");
	ret = sv_need_ext(cc, s->ext, ast->line, ast->col);
	if (ret < 0)
		return ret;

	memset(&c, 0, sizeof(c));
	c.ast = ast;
	c.spec = s;
	c.node = sv_builder_node(&cc->b, s->op, ast->line);
	if (c.node == SV_NONE)
		return -ENOMEM;
	for (size_t i = 0; i < ast->n_args; i++) {
		const struct sv_ast_arg *a = &ast->args[i];
		if (a->kind != SV_ARG_TAG) {
			if (npos == sizeof(pos) / sizeof(pos[0]))
				return sv_err(cc, a->line, a->col,
					      "too many arguments for '%s'", s->name);
			pos[npos++] = a;
			continue;
		}
		if (npos > 0)
			return sv_err(cc, a->line, a->col,
				      "tagged arguments must come before "
				      "the others in '%s'", s->name);
		ret = sv_group_tag(cc, &c, &i);
		if (ret == 0)
			ret = sv_own_tag(cc, &c, &i);
		if (ret < 0)
			return ret;
	}
	ret = sv_positional(cc, &c, pos, npos);
	if (ret < 0)
		return ret;
	if (c.comparator == SV_CMP_NUMERIC &&
	    (c.match == SV_MATCH_CONTAINS || c.match == SV_MATCH_MATCHES))
		return sv_err(cc, c.match_tag->line, c.match_tag->col,
			      "comparator 'i;ascii-numeric' cannot be used "
			      "with :%s", c.match == SV_MATCH_CONTAINS ?
			      "contains" : "matches");

	/* Tests and blocks this command takes. */
	if (info->test == SV_CHILD_NONE && ast->n_tests > 0) {
		/* "keep\ndiscard;" reads as keep with a test "discard" */
		const struct sv_ast_cmd *t = &ast->tests[0];
		const struct sv_spec *ts = sv_spec_find(t->name, t->name_len);
		if (!ast->test_list && ts != NULL && !sv_ops[ts->op].is_test)
			return sv_err(cc, t->line, t->col,
				      "missing ';' before '%s'", ts->name);
		return sv_err(cc, t->line, t->col, "'%s' takes no test",
			      s->name);
	}
	if (info->test == SV_CHILD_ONE &&
	    (ast->n_tests != 1 || ast->test_list))
		return sv_err(cc, ast->line, ast->col,
			      "'%s' needs exactly one test%s", s->name,
			      ast->test_list ? " (not a test list)" : "");
	if (info->test == SV_CHILD_LIST && !ast->test_list)
		return sv_err(cc, ast->line, ast->col,
			      "'%s' needs a test list in parentheses", s->name);
	if (!as_test && info->block != ast->has_block)
		return sv_err(cc, ast->line, ast->col, info->block ?
			      "'%s' needs a block" :
			      "'%s' takes no block (missing ';'?)", s->name);

	/* Arguments into the node, then the command's own checks. */
	for (unsigned slot = 0; slot < SV_ARGS; slot++) {
		const struct sv_ast_arg *a = sv_slot_arg(&c, slot);
		if (a == NULL || a->kind != SV_ARG_STRINGS)
			continue;
		ret = sv_emit_arg(cc, &c, slot, a);
		if (ret < 0)
			return ret;
	}
	struct sv_node *n = sv_n(cc, c.node);
	if (info->matches) {
		n->match = c.match;
		n->relop = c.relop;
		n->comparator = c.comparator;
	}
	n->part = c.part;
	n->flags = c.flags & info->flags_allowed;
	if (s->check != NULL) {
		ret = s->check(cc, &c);
		if (ret < 0)
			return ret;
	}

	uint32_t first = SV_NONE, prev = SV_NONE;
	for (size_t i = 0; i < ast->n_tests; i++) {
		uint32_t t;
		ret = sv_cc_test(cc, &ast->tests[i], &t);
		if (ret < 0)
			return ret;
		if (prev == SV_NONE)
			first = t;
		else
			sv_n(cc, prev)->next = t;
		prev = t;
	}
	sv_n(cc, c.node)->test = first;
	if (ast->has_block) {
		ret = sv_cc_block(cc, ast->block, ast->n_block, false, &first);
		if (ret < 0)
			return ret;
		sv_n(cc, c.node)->block = first;
	}
	*idx_r = c.node;
	return 0;
}

static int sv_cc_test(struct sv_compiler *cc, const struct sv_ast_cmd *t,
		      uint32_t *idx_r)
{
	return sv_cc_node(cc, t, true, idx_r);
}

static int sv_cc_require(struct sv_compiler *cc, const struct sv_ast_cmd *ast,
			 bool top)
{
	if (!top || cc->commands_seen)
		return sv_err(cc, ast->line, ast->col,
			      "'require' must come before any other "
			      "command%s", top ? "" : " (not in a block)");
	if (ast->n_args != 1 || ast->args[0].kind != SV_ARG_STRINGS ||
	    ast->n_tests > 0 || ast->has_block)
		return sv_err(cc, ast->line, ast->col,
			      "'require' needs one string or string list");
	const struct sv_ast_arg *a = &ast->args[0];
	for (size_t i = 0; i < a->n_strs; i++) {
		const struct sv_ast_str *s = &a->strs[i];
		int ext = sv_ext_find(s->s, s->len);
		if (ext < 0)
			return sv_err(cc, s->line, s->col,
				      "unsupported extension '%.64s'", s->s);
		cc->ext |= 1u << ext;
	}
	/* Extensions that build on others (RFC 6131, RFC 5173 3). */
	if (sv_ext_on(cc, SV_EXT_VACATION_SECONDS))
		cc->ext |= 1u << SV_EXT_VACATION;
	return 0;
}

static int sv_cc_block(struct sv_compiler *cc, const struct sv_ast_cmd *cmds,
		       size_t n, bool top, uint32_t *first_r)
{
	uint32_t prev = SV_NONE;
	uint8_t prev_op = 0;

	*first_r = SV_NONE;
	for (size_t i = 0; i < n; i++) {
		const struct sv_ast_cmd *ast = &cmds[i];
		uint32_t idx;
		int ret;

		if (sv_eq_ci(ast->name, ast->name_len, "require")) {
			ret = sv_cc_require(cc, ast, top);
			if (ret < 0)
				return ret;
			continue;
		}
		cc->commands_seen = true;
		ret = sv_cc_node(cc, ast, false, &idx);
		if (ret < 0)
			return ret;
		uint8_t op = sv_n(cc, idx)->op;
		if ((op == SV_OP_ELSIF || op == SV_OP_ELSE) &&
		    prev_op != SV_OP_IF && prev_op != SV_OP_ELSIF)
			return sv_name_err(cc, ast, "",
					   " without a preceding 'if'");
		if (prev == SV_NONE)
			*first_r = idx;
		else
			sv_n(cc, prev)->next = idx;
		prev = idx;
		prev_op = op;
	}
	return 0;
}

/* The variable table: sorted lower-case names, globals marked. */
static int sv_cc_vars(struct sv_compiler *cc, uint32_t *vars_r)
{
	*vars_r = SV_NONE;
	if (cc->n_vars == 0)
		return 0;
	qsort(cc->vars, cc->n_vars, sizeof(*cc->vars), sv_var_cmp);
	size_t first = cc->b.n_strs;
	for (size_t i = 0; i < cc->n_vars; i++) {
		int ret = sv_builder_str(&cc->b, cc->vars[i].name,
					 cc->vars[i].len, cc->vars[i].global ?
					 SV_STR_GLOBAL : 0);
		if (ret < 0)
			return ret;
	}
	*vars_r = sv_builder_list(&cc->b, first);
	return *vars_r == SV_NONE ? -ENOMEM : 0;
}

int sieve_compile(const char *script, size_t len,
		  const struct sieve_limits *limits,
		  struct sieve_program **program_r,
		  struct sieve_error *error_r)
{
	struct sieve_limits defaults;
	struct sieve_error scratch;
	struct sv_compiler cc;
	struct sv_arena arena;
	struct sv_ast ast;
	size_t bad;
	int ret;

	if (error_r == NULL)
		error_r = &scratch;
	memset(error_r, 0, sizeof(*error_r));
	if (program_r == NULL || (script == NULL && len > 0))
		return -EINVAL;
	*program_r = NULL;
	if (limits == NULL) {
		sieve_limits_default(&defaults);
		limits = &defaults;
	}
	if (len > limits->max_script_size)
		return sv_error_at(error_r, 1, 1,
				   "script too large (%zu octets, max %zu)",
				   len, limits->max_script_size);
	if (len > 0 && memchr(script, '\0', len) != NULL) {
		bad = (size_t)((const char *)memchr(script, '\0', len) -
			       script);
		goto position_error;
	}
	if (!sv_utf8_valid(script, len, &bad))
		goto position_error;

	memset(&cc, 0, sizeof(cc));
	cc.lim = limits;
	cc.err = error_r;
	cc.arena = &arena;
	/* Parse trees and decoded strings are a bounded multiple of the
	 * (bounded) script: at most ~50 octets of tree per 2 octets of
	 * source (a ":x" tag, an "a;" command). */
	sv_arena_init(&arena, 128 * len + (1u << 20));
	sv_builder_init(&cc.b);
	unsigned nesting = limits->max_nesting < 256 ? limits->max_nesting :
		256;
	ret = sv_parse(script, len, nesting, &arena, &ast, error_r);
	uint32_t root = SV_NONE, vars = SV_NONE;
	if (ret == 0)
		ret = sv_cc_block(&cc, ast.cmds, ast.n_cmds, true, &root);
	if (ret == 0)
		ret = sv_cc_vars(&cc, &vars);
	if (ret == 0)
		ret = sv_builder_finish(&cc.b, cc.ext, root, vars, program_r);
	if (ret == 0 && sv_program_validate(*program_r) < 0) {
		/* The compiler emitted what the loader would refuse: a bug,
		 * reported rather than stored. */
		sieve_program_free(program_r);
		ret = sv_error_at(error_r, 1, 1, "internal compiler error");
	}
	free(cc.vars);
	sv_builder_free(&cc.b);
	sv_arena_free(&arena);
	return ret;

position_error:;
	/* Line and column of the offending octet. */
	unsigned line = 1;
	size_t line_start = 0;
	for (size_t i = 0; i < bad; i++)
		if (script[i] == '\n') {
			line++;
			line_start = i + 1;
		}
	return sv_error_at(error_r, line, (unsigned)(bad - line_start + 1),
			   script[bad] == '\0' ? "NUL octet in script" :
			   "invalid UTF-8");
}
