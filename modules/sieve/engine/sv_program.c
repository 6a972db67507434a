/* Compiled programs: the operation table, building one while compiling,
 * saving it as bytes and loading (and validating) those bytes.
 *
 * Saved form, every integer little-endian:
 *   "SIEVEPRG" | u32 format | u64 FNV-1a of all that follows |
 *   u32 extensions, root, vars, n_nodes, n_lists, n_strs, pool_len |
 *   nodes (56 octets each) | lists (8) | strings (12) | pool
 * The checksum catches corruption; the validator catches everything
 * evaluation relies on, so even a forged blob cannot misbehave. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sv.h"

#define B(i) (1u << (i))
#define MATCH_OPS true

const struct sv_op_info sv_ops[SV_OP_MAX] = {
	[SV_OP_IF] = { "if", false, SV_CHILD_ONE, true, 0, 0, 0, false, 0 },
	[SV_OP_ELSIF] = { "elsif", false, SV_CHILD_ONE, true, 0, 0, 0,
			  false, 0 },
	[SV_OP_ELSE] = { "else", false, SV_CHILD_NONE, true, 0, 0, 0,
			 false, 0 },
	[SV_OP_STOP] = { "stop", false, 0, false, 0, 0, 0, false, 0 },
	[SV_OP_KEEP] = { "keep", false, 0, false, 0, B(0), 0, false, 0 },
	[SV_OP_DISCARD] = { "discard", false, 0, false, 0, 0, 0, false, 0 },
	[SV_OP_FILEINTO] = { "fileinto", false, 0, false, B(0), B(0) | B(1),
			     B(0), false, SV_F_COPY | SV_F_CREATE },
	[SV_OP_REDIRECT] = { "redirect", false, 0, false, B(0), B(0), B(0),
			     false, SV_F_COPY },
	[SV_OP_REJECT] = { "reject", false, 0, false, B(0), B(0), B(0),
			   false, 0 },
	[SV_OP_EREJECT] = { "ereject", false, 0, false, B(0), B(0), B(0),
			    false, 0 },
	[SV_OP_VACATION] = { "vacation", false, 0, false, B(0), 0x1f,
			     B(0) | B(1) | B(2) | B(4), false,
			     SV_F_MIME | SV_F_SECONDS },
	[SV_OP_SET] = { "set", false, 0, false, B(0) | B(1), B(0) | B(1),
			B(0) | B(1), false,
			SV_F_LOWER | SV_F_UPPER | SV_F_LOWERFIRST |
			SV_F_UPPERFIRST | SV_F_QUOTEWILD | SV_F_LENGTH },
	[SV_OP_SETFLAG] = { "setflag", false, 0, false, B(1), B(0) | B(1),
			    B(0), false, 0 },
	[SV_OP_ADDFLAG] = { "addflag", false, 0, false, B(1), B(0) | B(1),
			    B(0), false, 0 },
	[SV_OP_REMOVEFLAG] = { "removeflag", false, 0, false, B(1),
			       B(0) | B(1), B(0), false, 0 },
	[SV_OP_INCLUDE] = { "include", false, 0, false, B(0), B(0), B(0),
			    false, SV_F_ONCE | SV_F_OPTIONAL | SV_F_GLOBAL },
	[SV_OP_RETURN] = { "return", false, 0, false, 0, 0, 0, false, 0 },
	[SV_OP_GLOBAL] = { "global", false, 0, false, B(0), B(0), 0, false,
			   0 },
	[SV_OP_TRUE] = { "true", true, 0, false, 0, 0, 0, false, 0 },
	[SV_OP_FALSE] = { "false", true, 0, false, 0, 0, 0, false, 0 },
	[SV_OP_NOT] = { "not", true, SV_CHILD_ONE, false, 0, 0, 0, false, 0 },
	[SV_OP_ALLOF] = { "allof", true, SV_CHILD_LIST, false, 0, 0, 0,
			  false, 0 },
	[SV_OP_ANYOF] = { "anyof", true, SV_CHILD_LIST, false, 0, 0, 0,
			  false, 0 },
	[SV_OP_ADDRESS] = { "address", true, 0, false, B(0) | B(1),
			    B(0) | B(1), 0, MATCH_OPS, 0 },
	[SV_OP_ENVELOPE] = { "envelope", true, 0, false, B(0) | B(1),
			     B(0) | B(1), 0, MATCH_OPS, 0 },
	[SV_OP_HEADER] = { "header", true, 0, false, B(0) | B(1),
			   B(0) | B(1), 0, MATCH_OPS, 0 },
	[SV_OP_EXISTS] = { "exists", true, 0, false, B(0), B(0), 0, false,
			   0 },
	[SV_OP_SIZE] = { "size", true, 0, false, 0, 0, 0, false, SV_F_OVER },
	[SV_OP_BODY] = { "body", true, 0, false, B(0), B(0) | B(1), 0,
			 MATCH_OPS, 0 },
	[SV_OP_STRING] = { "string", true, 0, false, B(0) | B(1),
			   B(0) | B(1), 0, MATCH_OPS, 0 },
	[SV_OP_HASFLAG] = { "hasflag", true, 0, false, B(1), B(0) | B(1), 0,
			    MATCH_OPS, 0 },
	[SV_OP_MAILBOXEXISTS] = { "mailboxexists", true, 0, false, B(0),
				  B(0), 0, false, 0 },
	[SV_OP_DATE] = { "date", true, 0, false, B(0) | B(1) | B(2),
			 B(0) | B(1) | B(2) | B(3), B(0) | B(1) | B(3),
			 MATCH_OPS, 0 },
	[SV_OP_CURRENTDATE] = { "currentdate", true, 0, false, B(1) | B(2),
				B(1) | B(2) | B(3), B(1) | B(3), MATCH_OPS,
				0 },
};

/* Deepest tree a loaded program may hold: evaluation recurses per level. */
#define SV_LOAD_MAX_DEPTH 256
#define SV_MAGIC "SIEVEPRG"
#define SV_HEADER_SIZE (8 + 4 + 8 + 7 * 4)
#define SV_NODE_SIZE 56

void sv_builder_init(struct sv_builder *b)
{
	memset(b, 0, sizeof(*b));
	sv_buf_init(&b->pool, UINT32_MAX - 1);
}

void sv_builder_free(struct sv_builder *b)
{
	free(b->nodes);
	free(b->lists);
	free(b->strs);
	sv_buf_free(&b->pool);
	memset(b, 0, sizeof(*b));
}

static int sv_grow(void **array, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return 0;
	size_t size = *cap ? *cap * 2 : 32;
	if (size >= SV_NONE)
		return -ENOMEM;
	void *p = realloc(*array, size * elem);
	if (p == NULL)
		return -ENOMEM;
	*array = p;
	*cap = size;
	return 0;
}

uint32_t sv_builder_node(struct sv_builder *b, uint8_t op, uint32_t line)
{
	if (sv_grow((void **)&b->nodes, &b->cap_nodes, b->n_nodes,
		    sizeof(*b->nodes)) < 0)
		return SV_NONE;
	struct sv_node *n = &b->nodes[b->n_nodes];
	memset(n, 0, sizeof(*n));
	n->op = op;
	n->line = line;
	n->next = n->test = n->block = SV_NONE;
	for (int i = 0; i < SV_ARGS; i++)
		n->arg[i] = SV_NONE;
	n->num = SV_NUM_NONE;
	return (uint32_t)b->n_nodes++;
}

int sv_builder_str(struct sv_builder *b, const char *s, size_t len,
		   uint32_t flags)
{
	if (sv_grow((void **)&b->strs, &b->cap_strs, b->n_strs,
		    sizeof(*b->strs)) < 0)
		return -ENOMEM;
	size_t off = b->pool.len;
	if (sv_buf_add(&b->pool, s, len) < 0 || sv_buf_addc(&b->pool, 0) < 0)
		return -ENOMEM;
	struct sv_str *str = &b->strs[b->n_strs++];
	str->off = (uint32_t)off;
	str->len = (uint32_t)len;
	str->flags = flags;
	return 0;
}

uint32_t sv_builder_list(struct sv_builder *b, size_t first)
{
	if (sv_grow((void **)&b->lists, &b->cap_lists, b->n_lists,
		    sizeof(*b->lists)) < 0)
		return SV_NONE;
	b->lists[b->n_lists].first = (uint32_t)first;
	b->lists[b->n_lists].count = (uint32_t)(b->n_strs - first);
	return (uint32_t)b->n_lists++;
}

/* One allocation: the header, then each array at an aligned offset. */
static struct sieve_program *sv_program_alloc(uint32_t n_nodes,
					      uint32_t n_lists,
					      uint32_t n_strs,
					      uint32_t pool_len)
{
	size_t o_nodes = (sizeof(struct sieve_program) + 15) & ~(size_t)15;
	size_t o_lists = o_nodes + (size_t)n_nodes * sizeof(struct sv_node);
	size_t o_strs = o_lists + (size_t)n_lists * sizeof(struct sv_list);
	size_t o_pool = o_strs + (size_t)n_strs * sizeof(struct sv_str);
	char *mem = calloc(1, o_pool + pool_len + 1);

	if (mem == NULL)
		return NULL;
	struct sieve_program *p = (struct sieve_program *)mem;
	p->n_nodes = n_nodes;
	p->n_lists = n_lists;
	p->n_strs = n_strs;
	p->pool_len = pool_len;
	p->nodes = (const struct sv_node *)(mem + o_nodes);
	p->lists = (const struct sv_list *)(mem + o_lists);
	p->strs = (const struct sv_str *)(mem + o_strs);
	p->pool = mem + o_pool;
	return p;
}

int sv_builder_finish(struct sv_builder *b, uint32_t extensions,
		      uint32_t root, uint32_t vars,
		      struct sieve_program **program_r)
{
	struct sieve_program *p;

	*program_r = NULL;
	if (b->n_nodes >= SV_NONE || b->n_lists >= SV_NONE ||
	    b->n_strs >= SV_NONE || b->pool.len >= SV_NONE)
		return -ENOMEM;
	p = sv_program_alloc((uint32_t)b->n_nodes, (uint32_t)b->n_lists,
			     (uint32_t)b->n_strs, (uint32_t)b->pool.len);
	if (p == NULL)
		return -ENOMEM;
	p->extensions = extensions;
	p->root = root;
	p->vars = vars;
	if (b->n_nodes)
		memcpy((void *)p->nodes, b->nodes,
		       b->n_nodes * sizeof(*b->nodes));
	if (b->n_lists)
		memcpy((void *)p->lists, b->lists,
		       b->n_lists * sizeof(*b->lists));
	if (b->n_strs)
		memcpy((void *)p->strs, b->strs, b->n_strs * sizeof(*b->strs));
	if (b->pool.len)
		memcpy((void *)p->pool, b->pool.data, b->pool.len);
	*program_r = p;
	return 0;
}

void sieve_program_free(struct sieve_program **program)
{
	if (program == NULL)
		return;
	free(*program);
	*program = NULL;
}

/* Validation */

enum sv_kind { SV_KIND_UNSEEN, SV_KIND_CMD, SV_KIND_TEST,
	       SV_KIND_SINGLE_TEST };

struct sv_seen {
	uint8_t kind;               /* enum sv_kind, from the referrer */
	uint8_t prev_op;            /* op of the node whose next this is */
	uint16_t depth;
};

static bool sv_index_ok(uint32_t idx, uint32_t self, uint32_t n)
{
	return idx == SV_NONE || (idx > self && idx < n);
}

static bool sv_node_args_ok(const struct sieve_program *p,
			    const struct sv_node *n,
			    const struct sv_op_info *info)
{
	for (unsigned a = 0; a < SV_ARGS; a++) {
		bool has = n->arg[a] != SV_NONE;
		if (has && n->arg[a] >= p->n_lists)
			return false;
		if (has && !(info->args_allowed & B(a)))
			return false;
		if (!has && (info->args_required & B(a)))
			return false;
		if (has && (info->args_single & B(a)) &&
		    p->lists[n->arg[a]].count != 1)
			return false;
	}
	return true;
}

static bool sv_node_match_ok(const struct sv_node *n,
			     const struct sv_op_info *info)
{
	if (!info->matches)
		return n->match == 0 && n->relop == 0 && n->comparator == 0;
	if (n->match >= SV_MATCH_MAX || n->comparator >= SV_CMP_MAX ||
	    n->relop >= SV_REL_MAX)
		return false;
	bool relational = n->match == SV_MATCH_COUNT ||
			  n->match == SV_MATCH_VALUE;
	if (relational != (n->relop != SV_REL_NONE))
		return false;
	return !(n->comparator == SV_CMP_NUMERIC &&
		 (n->match == SV_MATCH_CONTAINS ||
		  n->match == SV_MATCH_MATCHES));
}

static bool sv_node_part_ok(const struct sv_node *n)
{
	switch (n->op) {
	case SV_OP_ADDRESS:
	case SV_OP_ENVELOPE:
		return n->part < SV_PART_MAX;
	case SV_OP_BODY:
		return n->part < SV_BODY_MAX &&
		       (n->part == SV_BODY_CONTENT) == (n->arg[1] != SV_NONE);
	case SV_OP_DATE:
	case SV_OP_CURRENTDATE:
		if (n->part >= SV_ZONE_MAX ||
		    (n->op == SV_OP_CURRENTDATE &&
		     n->part == SV_ZONE_ORIGINAL))
			return false;
		return (n->part == SV_ZONE_GIVEN) == (n->arg[3] != SV_NONE);
	default:
		return n->part == 0;
	}
}

static int sv_validate_nodes(const struct sieve_program *p,
			     struct sv_seen *seen)
{
	if (p->n_nodes == 0)
		return p->root == SV_NONE ? 0 : -EINVAL;
	if (p->root != 0)
		return -EINVAL;
	seen[0].kind = SV_KIND_CMD;
	for (uint32_t i = 0; i < p->n_nodes; i++) {
		const struct sv_node *n = &p->nodes[i];
		if (n->op == 0 || n->op >= SV_OP_MAX)
			return -EINVAL;
		const struct sv_op_info *info = &sv_ops[n->op];
		/* Every node but the root is referred to exactly once, by
		 * a lower index: the references form a tree. */
		if (seen[i].kind == SV_KIND_UNSEEN)
			return -EINVAL;
		if ((seen[i].kind == SV_KIND_CMD) == info->is_test)
			return -EINVAL;
		if (seen[i].kind == SV_KIND_SINGLE_TEST && n->next != SV_NONE)
			return -EINVAL;
		if ((n->op == SV_OP_ELSIF || n->op == SV_OP_ELSE) &&
		    seen[i].prev_op != SV_OP_IF &&
		    seen[i].prev_op != SV_OP_ELSIF)
			return -EINVAL;
		if (!sv_index_ok(n->next, i, p->n_nodes) ||
		    !sv_index_ok(n->test, i, p->n_nodes) ||
		    !sv_index_ok(n->block, i, p->n_nodes))
			return -EINVAL;
		if ((info->test == SV_CHILD_NONE) != (n->test == SV_NONE))
			return -EINVAL;
		if (!info->block && n->block != SV_NONE)
			return -EINVAL;
		if ((n->flags & ~info->flags_allowed) != 0 ||
		    !sv_node_args_ok(p, n, info) ||
		    !sv_node_match_ok(n, info) || !sv_node_part_ok(n))
			return -EINVAL;
		if (n->op != SV_OP_SIZE && n->op != SV_OP_VACATION &&
		    n->num != SV_NUM_NONE)
			return -EINVAL;
		if (n->op == SV_OP_SIZE && n->num == SV_NUM_NONE)
			return -EINVAL;
		if (seen[i].depth >= SV_LOAD_MAX_DEPTH)
			return -EINVAL;
		uint16_t depth = seen[i].depth;
		if (n->next != SV_NONE) {
			struct sv_seen *s = &seen[n->next];
			if (s->kind != SV_KIND_UNSEEN)
				return -EINVAL;
			s->kind = seen[i].kind;
			s->prev_op = n->op;
			s->depth = depth;
		}
		if (n->test != SV_NONE) {
			struct sv_seen *s = &seen[n->test];
			if (s->kind != SV_KIND_UNSEEN)
				return -EINVAL;
			s->kind = info->test == SV_CHILD_LIST ?
				SV_KIND_TEST : SV_KIND_SINGLE_TEST;
			s->depth = (uint16_t)(depth + 1);
		}
		if (n->block != SV_NONE) {
			struct sv_seen *s = &seen[n->block];
			if (s->kind != SV_KIND_UNSEEN)
				return -EINVAL;
			s->kind = SV_KIND_CMD;
			s->depth = (uint16_t)(depth + 1);
		}
	}
	return 0;
}

int sv_program_validate(const struct sieve_program *p)
{
	for (uint32_t i = 0; i < p->n_strs; i++) {
		const struct sv_str *s = &p->strs[i];
		if ((uint64_t)s->off + s->len >= p->pool_len ||
		    p->pool[s->off + s->len] != '\0' ||
		    (s->flags & ~(SV_STR_VARS | SV_STR_GLOBAL)) != 0)
			return -EINVAL;
	}
	for (uint32_t i = 0; i < p->n_lists; i++)
		if ((uint64_t)p->lists[i].first + p->lists[i].count >
		    p->n_strs)
			return -EINVAL;
	if (p->vars != SV_NONE) {
		if (p->vars >= p->n_lists)
			return -EINVAL;
		const struct sv_list *l = &p->lists[p->vars];
		for (uint32_t i = 0; i < l->count; i++) {
			const struct sv_str *s = &p->strs[l->first + i];
			const char *name = p->pool + s->off;
			if (!sv_ident_valid(name, s->len))
				return -EINVAL;
			for (uint32_t c = 0; c < s->len; c++)
				if (name[c] >= 'A' && name[c] <= 'Z')
					return -EINVAL;
			/* sorted and unique: evaluation searches it */
			if (i > 0) {
				const struct sv_str *q = s - 1;
				if (sv_strcasecmp_len(p->pool + q->off, q->len,
						      name, s->len) >= 0)
					return -EINVAL;
			}
		}
	}
	if (p->extensions >> SV_EXT_COUNT)
		return -EINVAL;
	struct sv_seen *seen = calloc(p->n_nodes ? p->n_nodes : 1,
				      sizeof(*seen));
	if (seen == NULL)
		return -ENOMEM;
	int ret = sv_validate_nodes(p, seen);
	free(seen);
	return ret;
}

/* Saving and loading */

static uint64_t sv_fnv1a(const unsigned char *d, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= d[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static unsigned char *sv_put32(unsigned char *o, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		*o++ = (unsigned char)(v >> (8 * i));
	return o;
}

static unsigned char *sv_put64(unsigned char *o, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		*o++ = (unsigned char)(v >> (8 * i));
	return o;
}

static uint32_t sv_get32(const unsigned char **in)
{
	const unsigned char *p = *in;
	*in += 4;
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t sv_get64(const unsigned char **in)
{
	uint64_t lo = sv_get32(in);
	uint64_t hi = sv_get32(in);
	return lo | hi << 32;
}

static size_t sv_saved_size(uint64_t n_nodes, uint64_t n_lists,
			    uint64_t n_strs, uint64_t pool_len)
{
	uint64_t size = SV_HEADER_SIZE + n_nodes * SV_NODE_SIZE +
			n_lists * 8 + n_strs * 12 + pool_len;
	return size > SIZE_MAX ? SIZE_MAX : (size_t)size;
}

int sieve_program_save(const struct sieve_program *p, void **data_r,
		       size_t *len_r)
{
	size_t len = sv_saved_size(p->n_nodes, p->n_lists, p->n_strs,
				   p->pool_len);
	unsigned char *data = malloc(len), *o;

	*data_r = NULL;
	*len_r = 0;
	if (data == NULL)
		return -ENOMEM;
	memcpy(data, SV_MAGIC, 8);
	o = sv_put32(data + 8, SIEVE_PROGRAM_FORMAT);
	o += 8;                     /* checksum, written last */
	o = sv_put32(o, p->extensions);
	o = sv_put32(o, p->root);
	o = sv_put32(o, p->vars);
	o = sv_put32(o, p->n_nodes);
	o = sv_put32(o, p->n_lists);
	o = sv_put32(o, p->n_strs);
	o = sv_put32(o, p->pool_len);
	for (uint32_t i = 0; i < p->n_nodes; i++) {
		const struct sv_node *n = &p->nodes[i];
		*o++ = n->op;
		*o++ = n->match;
		*o++ = n->relop;
		*o++ = n->comparator;
		*o++ = n->part;
		*o++ = 0;
		*o++ = 0;
		*o++ = 0;
		o = sv_put32(o, n->flags);
		o = sv_put32(o, n->line);
		o = sv_put32(o, n->next);
		o = sv_put32(o, n->test);
		o = sv_put32(o, n->block);
		for (int a = 0; a < SV_ARGS; a++)
			o = sv_put32(o, n->arg[a]);
		o = sv_put64(o, n->num);
	}
	for (uint32_t i = 0; i < p->n_lists; i++) {
		o = sv_put32(o, p->lists[i].first);
		o = sv_put32(o, p->lists[i].count);
	}
	for (uint32_t i = 0; i < p->n_strs; i++) {
		o = sv_put32(o, p->strs[i].off);
		o = sv_put32(o, p->strs[i].len);
		o = sv_put32(o, p->strs[i].flags);
	}
	memcpy(o, p->pool, p->pool_len);
	sv_put64(data + 12, sv_fnv1a(data + 20, len - 20));
	*data_r = data;
	*len_r = len;
	return 0;
}

int sieve_program_load(const void *data, size_t len,
		       struct sieve_program **program_r)
{
	const unsigned char *in = data;

	*program_r = NULL;
	if (data == NULL || len < SV_HEADER_SIZE ||
	    memcmp(in, SV_MAGIC, 8) != 0)
		return -EINVAL;
	in += 8;
	if (sv_get32(&in) != SIEVE_PROGRAM_FORMAT)
		return -EPROTONOSUPPORT;
	uint64_t sum = sv_get64(&in);
	if (sum != sv_fnv1a(in, len - 20))
		return -EINVAL;
	uint32_t extensions = sv_get32(&in);
	uint32_t root = sv_get32(&in);
	uint32_t vars = sv_get32(&in);
	uint32_t n_nodes = sv_get32(&in);
	uint32_t n_lists = sv_get32(&in);
	uint32_t n_strs = sv_get32(&in);
	uint32_t pool_len = sv_get32(&in);
	if (sv_saved_size(n_nodes, n_lists, n_strs, pool_len) != len)
		return -EINVAL;
	struct sieve_program *p = sv_program_alloc(n_nodes, n_lists, n_strs,
						   pool_len);
	if (p == NULL)
		return -ENOMEM;
	p->extensions = extensions;
	p->root = root;
	p->vars = vars;
	struct sv_node *nodes = (struct sv_node *)p->nodes;
	for (uint32_t i = 0; i < n_nodes; i++) {
		struct sv_node *n = &nodes[i];
		n->op = in[0];
		n->match = in[1];
		n->relop = in[2];
		n->comparator = in[3];
		n->part = in[4];
		if (in[5] || in[6] || in[7]) {
			free(p);
			return -EINVAL;
		}
		in += 8;
		n->flags = sv_get32(&in);
		n->line = sv_get32(&in);
		n->next = sv_get32(&in);
		n->test = sv_get32(&in);
		n->block = sv_get32(&in);
		for (int a = 0; a < SV_ARGS; a++)
			n->arg[a] = sv_get32(&in);
		n->num = sv_get64(&in);
	}
	struct sv_list *lists = (struct sv_list *)p->lists;
	for (uint32_t i = 0; i < n_lists; i++) {
		lists[i].first = sv_get32(&in);
		lists[i].count = sv_get32(&in);
	}
	struct sv_str *strs = (struct sv_str *)p->strs;
	for (uint32_t i = 0; i < n_strs; i++) {
		strs[i].off = sv_get32(&in);
		strs[i].len = sv_get32(&in);
		strs[i].flags = sv_get32(&in);
	}
	memcpy((char *)p->pool, in, pool_len);
	int ret = sv_program_validate(p);
	if (ret < 0) {
		free(p);
		return ret;
	}
	*program_r = p;
	return 0;
}

int sieve_program_includes(const struct sieve_program *p,
			   int (*cb)(void *ctx,
				     enum sieve_include_location location,
				     const char *name),
			   void *ctx)
{
	/* A validated program: every index below is in range, and the
	 * compiler made include's name one constant string. */
	for (uint32_t i = 0; i < p->n_nodes; i++) {
		const struct sv_node *n = &p->nodes[i];
		if (n->op != SV_OP_INCLUDE || n->arg[0] == SV_NONE)
			continue;
		const struct sv_list *l = &p->lists[n->arg[0]];
		if (l->count == 0)
			continue;
		int ret = cb(ctx, (n->flags & SV_F_GLOBAL)
				  ? SIEVE_INCLUDE_GLOBAL
				  : SIEVE_INCLUDE_PERSONAL,
			     p->pool + p->strs[l->first].off);
		if (ret != 0)
			return ret;
	}
	return 0;
}
