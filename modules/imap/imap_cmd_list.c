/* LIST and LSUB (RFC 3501 6.3.8-9) with LIST-EXTENDED selection and
 * return options (RFC 5258: SUBSCRIBED, RECURSIVEMATCH with CHILDINFO,
 * SPECIAL-USE, CHILDREN), CHILDREN attributes (RFC 3348) and special-use
 * attributes (RFC 6154), which are always sent: clients that never ask
 * still find Sent and Trash. The subscription list is names, whatever
 * mailboxes exist: LIST (SUBSCRIBED) shows the others \NonExistent. */
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

/* One name LIST may show: a mailbox, a subscribed name, or a parent
 * implied by one. The name points into an owned copy (a parent is a
 * prefix of its child's name), so it is not NUL-terminated: use len. */
struct list_entry {
	const char *name;
	size_t len;
	const char *special_use;
	bool subscribed;
	bool exists;       /* a mailbox (a subscribed name need not be) */
	bool has_children; /* a mailbox below it */
	bool sub_children; /* a subscribed name below it */
	bool sub_unmatched; /* one that no pattern matches (CHILDINFO) */
	bool matched;      /* by a pattern */
	bool matched_percent; /* by a pattern with "%" */
};

/* What mailbox_list and mailbox_subscriptions gave, and every parent
 * they imply: collected as they come (duplicates included), then sorted
 * and merged once, so an account with n names costs O(n log n), not a
 * search per name. */
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

/* name and every ancestor of it, which has a mailbox (or, subscribed:
 * a subscribed name) below it. The name's own entry, or NULL. */
static struct list_entry *list_add(struct list_all *all, const char *str,
				   bool subscribed)
{
	char *name = list_own(all, str);

	if (name == NULL) {
		all->failed = true;
		return NULL;
	}
	size_t len = strlen(name);
	for (size_t i = 0; i < len; i++) {
		if (name[i] != '/')
			continue;
		struct list_entry *p = list_push(all, name, i);
		if (p == NULL) {
			all->failed = true;
			return NULL;
		}
		if (subscribed)
			p->sub_children = true;
		else
			p->has_children = true;
	}
	struct list_entry *e = list_push(all, name, len);
	if (e == NULL)
		all->failed = true;
	return e;
}

static void list_collect(void *data, const struct postino_mailbox_entry *m)
{
	struct list_all *all = data;

	if (all->failed)
		return;
	const char *use = m->special_use != NULL ?
		list_own(all, m->special_use) : NULL;
	if (m->special_use != NULL && use == NULL) {
		all->failed = true;
		return;
	}
	struct list_entry *e = list_add(all, m->name, false);
	if (e == NULL)
		return;
	e->exists = true;
	e->special_use = use;
}

/* A subscribed name, a mailbox or not (RFC 3501 6.3.6, RFC 5258). */
static void list_collect_subscribed(void *data, const char *name)
{
	struct list_all *all = data;

	if (all->failed)
		return;
	struct list_entry *e = list_add(all, name, true);
	if (e != NULL)
		e->subscribed = true;
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
		last->sub_children |= e->sub_children;
		last->subscribed |= e->subscribed;
		if (e->exists) {
			last->exists = true;
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

/* The entry of name[0..len), or NULL (binary search: all is merged). */
static struct list_entry *list_find(struct list_all *all, const char *name,
				    size_t len)
{
	struct list_entry key = { .name = name, .len = len };

	return bsearch(&key, all->e, all->count, sizeof(*all->e), cmp_entry);
}

/* RECURSIVEMATCH (RFC 5258 3.5): marks the names above each subscribed
 * name that no pattern matches; they are listed with CHILDINFO when a
 * pattern matches them. Depth x log n per subscribed name. */
static void list_mark_unmatched(struct list_all *all)
{
	for (size_t i = 0; i < all->count; i++) {
		const struct list_entry *e = &all->e[i];
		if (!e->subscribed || e->matched)
			continue;
		for (size_t k = e->len; k-- > 0;) {
			if (e->name[k] != '/')
				continue;
			struct list_entry *p = list_find(all, e->name, k);
			if (p != NULL)
				p->sub_unmatched = true;
		}
	}
}

/* RFC 3501 6.3.8-9 and RFC 5258: whether and how one matched entry is
 * listed. */
static void list_reply(struct imap_session *s, const struct list_opts *o,
		       const struct list_entry *e)
{
	struct imap_buf out;
	bool sep = false, noselect = false, childinfo = false;

	if (o->lsub) {
		/* A subscribed name, or the unsubscribed parent of one at
		 * the level "%" stops at (6.3.9: \Noselect, MUST). */
		if (!e->subscribed &&
		    !(e->sub_children && e->matched_percent))
			return;
		noselect = !e->exists || !e->subscribed;
	} else if (o->sel_subscribed) {
		childinfo = o->sel_recursive && e->sub_unmatched;
		if (!e->subscribed && !childinfo)
			return;
	} else {
		/* A mailbox, or a parent implied by mailboxes under "%". */
		if (!e->exists && !(e->has_children && e->matched_percent))
			return;
		noselect = !e->exists;
	}
	if (o->sel_special && e->special_use == NULL)
		return;
	imap_buf_init(&out, 0);
	imap_buf_append_str(&out, o->lsub ? "* LSUB (" : "* LIST (");
#define ATTR(a) do { if (sep) imap_buf_append_char(&out, ' '); \
		imap_buf_append_str(&out, a); sep = true; } while (0)
	if (noselect)
		ATTR("\\Noselect");
	if (o->sel_subscribed && !e->exists)
		ATTR("\\NonExistent");
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
	if (childinfo)
		imap_buf_append_str(&out, " (\"CHILDINFO\" (\"SUBSCRIBED\"))");
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
	if (ret == 0)
		ret = s->srv->host->mailbox->mailbox_subscriptions(
			s->srv->mod, s->account, list_collect_subscribed, &all);
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
	for (size_t e = 0; e < all.count; e++) {
		struct list_entry *en = &all.e[e];
		if (en->len == 0)
			continue;
		for (size_t k = 0; k < npat && !en->matched_percent; k++) {
			struct imap_pattern *p = &compiled[k];
			if (p->pat == NULL ||
			    (en->matched && !p->percent) ||
			    !imap_pattern_match(p, en->name, en->len))
				continue;
			en->matched = true;
			en->matched_percent = p->percent;
		}
	}
	if (o.sel_recursive)
		list_mark_unmatched(&all);
	/* Each name once, in order (RFC 5258 3: one response per
	 * mailbox, whatever number of patterns match it). */
	for (size_t e = 0; e < all.count; e++)
		if (all.e[e].matched)
			list_reply(s, &o, &all.e[e]);
	imap_tagged(s, "OK", "%s completed", cmd->name);
out:
	for (size_t k = 0; k < npat; k++)
		imap_pattern_free(&compiled[k]);
	free(compiled);
	list_all_free(&all);
}
