/* LIST and LSUB (RFC 3501 6.3.8-9) with LIST-EXTENDED selection and
 * return options (RFC 5258: SUBSCRIBED, SPECIAL-USE, CHILDREN), CHILDREN
 * attributes (RFC 3348) and special-use attributes (RFC 6154), which are
 * always sent: clients that never ask still find Sent and Trash. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap.h"
#include "imap_write.h"
#include "imap_match.h"
#include "imap_mutf7.h"

/* Row cells of pattern matching one LIST may cost (imap_pattern_cost),
 * some tens of milliseconds: "*" costs one per name, a 20-byte pattern
 * over 10,000 mailboxes of 100 bytes 21 million. */
#define LIST_MATCH_BUDGET (UINT64_C(1) << 25)

/* One name LIST may show: a mailbox, or a parent implied by one. The
 * name points into a mailbox's own copy (a parent is a prefix of its
 * child's name), so it is not NUL-terminated: use len. */
struct list_entry {
	const char *name;
	size_t len;
	const char *special_use;
	bool subscribed;
	bool exists;       /* a parent implied by its children may not */
	bool has_children;
};

/* What mailbox_list gave, and every parent it implies: collected as they
 * come (duplicates included), then sorted and merged once, so an account
 * with n mailboxes costs O(n log n), not a search per name. */
struct list_all {
	struct list_entry *e;
	size_t count, cap;
	char **owned;      /* the names and special-use texts, freed at the
			      end */
	size_t n_owned, cap_owned;
	uint64_t name_bytes;
	bool failed;
};

static char *list_own(struct list_all *all, const char *str)
{
	if (all->n_owned == all->cap_owned) {
		size_t cap = all->cap_owned > 0 ? all->cap_owned * 2 : 16;
		char **g = realloc(all->owned, cap * sizeof(*g));
		if (g == NULL)
			return NULL;
		all->owned = g;
		all->cap_owned = cap;
	}
	char *copy = strdup(str);
	if (copy != NULL)
		all->owned[all->n_owned++] = copy;
	return copy;
}

static struct list_entry *list_push(struct list_all *all, const char *name,
				    size_t len)
{
	if (all->count == all->cap) {
		size_t cap = all->cap > 0 ? all->cap * 2 : 16;
		struct list_entry *g = realloc(all->e, cap * sizeof(*g));
		if (g == NULL)
			return NULL;
		all->e = g;
		all->cap = cap;
	}
	struct list_entry *e = &all->e[all->count++];
	*e = (struct list_entry){ .name = name, .len = len };
	return e;
}

static void list_collect(void *data, const struct postino_mailbox_entry *m)
{
	struct list_all *all = data;

	if (all->failed)
		return;
	char *name = list_own(all, m->name);
	const char *use = m->special_use != NULL ?
		list_own(all, m->special_use) : NULL;
	if (name == NULL || (m->special_use != NULL && use == NULL)) {
		all->failed = true;
		return;
	}
	size_t len = strlen(name);
	/* Every ancestor: as a parent with children, existing or not. */
	for (size_t i = 0; i < len; i++) {
		if (name[i] != '/')
			continue;
		struct list_entry *p = list_push(all, name, i);
		if (p == NULL) {
			all->failed = true;
			return;
		}
		p->has_children = true;
	}
	struct list_entry *e = list_push(all, name, len);
	if (e == NULL) {
		all->failed = true;
		return;
	}
	e->exists = true;
	e->subscribed = m->subscribed != 0;
	e->special_use = use;
}

static bool is_inbox(const struct list_entry *e)
{
	return e->len == 5 && memcmp(e->name, "INBOX", 5) == 0;
}

/* INBOX first, then byte order (strcmp's, for names that are prefixes
 * of each other too). */
static int cmp_entry(const void *a, const void *b)
{
	const struct list_entry *x = a, *y = b;
	bool xi = is_inbox(x), yi = is_inbox(y);

	if (xi != yi)
		return xi ? -1 : 1;
	int c = memcmp(x->name, y->name, x->len < y->len ? x->len : y->len);
	if (c != 0)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

/* Sorts, then folds each run of one name into its first entry. */
static void list_merge(struct list_all *all)
{
	size_t out = 0;

	if (all->count == 0)
		return;
	qsort(all->e, all->count, sizeof(*all->e), cmp_entry);
	for (size_t i = 1; i < all->count; i++) {
		struct list_entry *last = &all->e[out], *e = &all->e[i];

		if (cmp_entry(last, e) != 0) {
			all->e[++out] = *e;
			continue;
		}
		last->has_children |= e->has_children;
		if (e->exists) {
			last->exists = true;
			last->subscribed = e->subscribed;
			last->special_use = e->special_use;
		}
	}
	all->count = out + 1;
	for (size_t i = 0; i < all->count; i++)
		all->name_bytes += all->e[i].len + 1;
}

static void list_all_free(struct list_all *all)
{
	for (size_t i = 0; i < all->n_owned; i++)
		free(all->owned[i]);
	free(all->owned);
	free(all->e);
}

struct list_opts {
	bool lsub;
	bool sel_subscribed, sel_special, sel_recursive;
	bool ret_subscribed, ret_special, ret_children;
};

static void list_reply(struct imap_session *s, const struct list_opts *o,
		       const struct list_entry *e)
{
	struct imap_buf out;
	bool sep = false;

	if (o->lsub || o->sel_subscribed) {
		if (!e->subscribed)
			return;
	} else if (!e->exists && !e->has_children) {
		return;
	}
	if (o->sel_special && e->special_use == NULL)
		return;
	imap_buf_init(&out, 0);
	imap_buf_append_str(&out, o->lsub ? "* LSUB (" : "* LIST (");
#define ATTR(a) do { if (sep) imap_buf_append_char(&out, ' '); \
		imap_buf_append_str(&out, a); sep = true; } while (0)
	if (!e->exists)
		ATTR(o->sel_subscribed ? "\\NonExistent" : "\\Noselect");
	if (!o->lsub)
		ATTR(e->has_children ? "\\HasChildren" : "\\HasNoChildren");
	if (!o->lsub && e->subscribed &&
	    (o->ret_subscribed || o->sel_subscribed))
		ATTR("\\Subscribed");
	if (e->special_use != NULL && !o->lsub)
		ATTR(e->special_use);
#undef ATTR
	imap_buf_append_str(&out, ") \"/\" ");
	imap_write_mailbox(&out, e->name, e->len);
	imap_buf_append_str(&out, "\r\n");
	imap_write(s, out.data, out.len);
	imap_buf_free(&out);
}

static bool parse_opts(const struct imap_arg *list, bool ret,
		       struct list_opts *o)
{
	for (size_t i = 0; i < list->count; i++) {
		const struct imap_arg *a = &list->list[i];
		if (a->type != IMAP_ARG_ATOM)
			return false;
		if (!ret && imap_arg_atom_is(a, "SUBSCRIBED"))
			o->sel_subscribed = o->ret_subscribed = true;
		else if (!ret && imap_arg_atom_is(a, "SPECIAL-USE"))
			o->sel_special = true;
		else if (!ret && imap_arg_atom_is(a, "RECURSIVEMATCH"))
			o->sel_recursive = true;
		else if (!ret && imap_arg_atom_is(a, "REMOTE"))
			;
		else if (ret && imap_arg_atom_is(a, "SUBSCRIBED"))
			o->ret_subscribed = true;
		else if (ret && imap_arg_atom_is(a, "SPECIAL-USE"))
			o->ret_special = true;
		else if (ret && imap_arg_atom_is(a, "CHILDREN"))
			o->ret_children = true;
		else
			return false;
	}
	/* RFC 5258 3.1: RECURSIVEMATCH alone is an error. */
	return !o->sel_recursive || o->sel_subscribed || o->sel_special;
}

void imap_cmd_list(struct imap_session *s, const struct imap_command *cmd,
		   const struct imap_arg *args, size_t n_args, bool uid)
{
	struct list_opts o = { .lsub = strcmp(cmd->name, "LSUB") == 0 };
	struct list_all all = { 0 };
	const struct imap_arg *ref, *pats;
	size_t npat, i = 0;

	(void)uid;
	if (!o.lsub && n_args > 0 && args[0].type == IMAP_ARG_LIST) {
		if (!parse_opts(&args[0], false, &o)) {
			imap_tagged(s, "BAD", "Invalid LIST selection options");
			return;
		}
		i = 1;
	}
	if (n_args < i + 2) {
		imap_tagged(s, "BAD", "%s needs a reference and a pattern",
			    cmd->name);
		return;
	}
	ref = &args[i];
	pats = &args[i + 1];
	npat = 1;
	if (pats->type == IMAP_ARG_LIST && !o.lsub) {
		npat = pats->count;
		pats = pats->list;
	}
	if (n_args > i + 2) {
		if (o.lsub || n_args != i + 4 ||
		    !imap_arg_atom_is(&args[i + 2], "RETURN") ||
		    args[i + 3].type != IMAP_ARG_LIST ||
		    !parse_opts(&args[i + 3], true, &o)) {
			imap_tagged(s, "BAD", "Invalid LIST return options");
			return;
		}
	}
	const char *rs;
	size_t rlen;
	if (!imap_arg_astring(ref, &rs, &rlen)) {
		imap_tagged(s, "BAD", "Invalid reference name");
		return;
	}
	/* RFC 3501: an empty pattern asks for the delimiter. */
	const char *p0;
	size_t p0len;
	if (npat == 1 && imap_arg_astring(&pats[0], &p0, &p0len) && p0len == 0) {
		imap_printf(s, "* %s (\\Noselect) \"/\" \"\"\r\n",
			    o.lsub ? "LSUB" : "LIST");
		imap_tagged(s, "OK", "%s completed", cmd->name);
		return;
	}
	struct imap_pattern *compiled = calloc(npat > 0 ? npat : 1,
						sizeof(*compiled));
	if (compiled == NULL) {
		imap_tagged(s, "NO", "Out of memory");
		return;
	}
	for (size_t k = 0; k < npat; k++) {
		const char *ps;
		size_t plen;
		struct imap_buf pat;
		if (!imap_arg_astring(&pats[k], &ps, &plen)) {
			imap_tagged(s, "BAD", "Invalid mailbox pattern");
			goto out;
		}
		imap_buf_init(&pat, 4096);
		/* The reference is a prefix (we have one namespace). A
		 * pattern that is not valid mUTF-7 matches nothing: it stays
		 * uncompiled (pat NULL). */
		if (imap_mutf7_to_utf8(rs, rlen, &pat) == 0 &&
		    imap_mutf7_to_utf8(ps, plen, &pat) == 0 &&
		    imap_pattern_init(&compiled[k], pat.data != NULL ?
				      pat.data : "", pat.len) < 0) {
			imap_buf_free(&pat);
			imap_tagged(s, "NO", "Out of memory");
			goto out;
		}
		imap_buf_free(&pat);
	}
	int ret = s->srv->host->mailbox->mailbox_list(s->srv->mod, s->account,
					     list_collect, &all);
	if (ret < 0 || all.failed) {
		imap_tagged(s, "NO", "[SERVERBUG] Cannot list mailboxes");
		goto out;
	}
	list_merge(&all);
	/* The whole cost is known before any work: refuse what is over
	 * the budget rather than hold the loop. */
	uint64_t cost = 0;
	for (size_t e = 0; e < all.count && cost <= LIST_MATCH_BUDGET; e++)
		for (size_t k = 0; k < npat; k++)
			if (compiled[k].pat != NULL)
				cost += imap_pattern_cost(&compiled[k],
							  all.e[e].len);
	if (cost > LIST_MATCH_BUDGET) {
		imap_tagged(s, "NO", "[LIMIT] Mailbox patterns too complex "
				     "for this many mailboxes");
		goto out;
	}
	/* Each name once, in order, if any pattern matches it (RFC 5258
	 * 3: one response per mailbox). */
	for (size_t e = 0; e < all.count; e++) {
		const struct list_entry *en = &all.e[e];
		if (en->len == 0)
			continue;
		for (size_t k = 0; k < npat; k++) {
			struct imap_pattern *p = &compiled[k];
			/* An implied parent shows only under "%" (RFC 3501
			 * 6.3.8), never as a result of "*". */
			if (p->pat == NULL ||
			    (!en->exists && !p->percent && !o.sel_subscribed) ||
			    !imap_pattern_match(p, en->name, en->len))
				continue;
			list_reply(s, &o, en);
			break;
		}
	}
	imap_tagged(s, "OK", "%s completed", cmd->name);
out:
	for (size_t k = 0; k < npat; k++)
		imap_pattern_free(&compiled[k]);
	free(compiled);
	list_all_free(&all);
}
