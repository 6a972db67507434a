/* LIST and LSUB (RFC 3501 6.3.8-9) with LIST-EXTENDED selection and
 * return options (RFC 5258: SUBSCRIBED, SPECIAL-USE, CHILDREN), CHILDREN
 * attributes (RFC 3348) and special-use attributes (RFC 6154), which are
 * always sent: clients that never ask still find Sent and Trash. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap.h"
#include "imap_write.h"
#include "imap_mutf7.h"

struct list_entry {
	char *name;
	char *special_use;
	bool subscribed;
	bool exists;       /* a parent implied by its children may not */
	bool has_children;
};

struct list_all {
	struct list_entry *e;
	size_t count, cap;
	bool failed;
};

static struct list_entry *list_add(struct list_all *all, const char *name,
				   size_t len)
{
	for (size_t i = 0; i < all->count; i++)
		if (strlen(all->e[i].name) == len &&
		    memcmp(all->e[i].name, name, len) == 0)
			return &all->e[i];
	if (all->count == all->cap) {
		size_t cap = all->cap > 0 ? all->cap * 2 : 16;
		struct list_entry *g = realloc(all->e, cap * sizeof(*g));
		if (g == NULL)
			return NULL;
		all->e = g;
		all->cap = cap;
	}
	struct list_entry *e = &all->e[all->count];
	memset(e, 0, sizeof(*e));
	e->name = strndup(name, len);
	if (e->name == NULL)
		return NULL;
	all->count++;
	return e;
}

static void list_collect(void *data, const struct postino_mailbox_entry *m)
{
	struct list_all *all = data;
	size_t len = strlen(m->name);

	/* Every ancestor: as a parent with children, existing or not. */
	for (size_t i = 0; i < len; i++) {
		if (m->name[i] != '/')
			continue;
		struct list_entry *p = list_add(all, m->name, i);
		if (p == NULL) {
			all->failed = true;
			return;
		}
		p->has_children = true;
	}
	struct list_entry *e = list_add(all, m->name, len);
	if (e == NULL || (m->special_use != NULL &&
			  (e->special_use = strdup(m->special_use)) == NULL)) {
		all->failed = true;
		return;
	}
	e->exists = true;
	e->subscribed = m->subscribed != 0;
}

/* RFC 3501 6.3.8: "*" matches anything, "%" anything but "/". */
static bool match(const char *pat, const char *name)
{
	for (; *pat != '\0'; pat++, name++) {
		if (*pat == '*' || *pat == '%') {
			for (const char *n = name;; n++) {
				if (match(pat + 1, n))
					return true;
				if (*n == '\0' || (*pat == '%' && *n == '/'))
					return false;
			}
		}
		if (*name == '\0' || *pat != *name)
			return false;
	}
	return *name == '\0';
}

/* Case-insensitive INBOX in patterns and names. */
static bool match_name(const char *pat, const char *name)
{
	if (strncasecmp(pat, "INBOX", 5) == 0 &&
	    (pat[5] == '\0' || pat[5] == '/') && strncmp(name, "INBOX", 5) == 0) {
		return match(pat + 5, name + 5);
	}
	return match(pat, name);
}

struct list_opts {
	bool lsub;
	bool sel_subscribed, sel_special, sel_recursive;
	bool ret_subscribed, ret_special, ret_children;
};

static int cmp_entry(const void *a, const void *b)
{
	const struct list_entry *x = a, *y = b;
	bool xi = strcmp(x->name, "INBOX") == 0, yi = strcmp(y->name, "INBOX") == 0;
	if (xi != yi)
		return xi ? -1 : 1;
	return strcmp(x->name, y->name);
}

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
	imap_write_mailbox(&out, e->name, strlen(e->name));
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
	int ret = s->srv->host->mailbox->mailbox_list(s->srv->mod, s->account,
					     list_collect, &all);
	if (ret < 0 || all.failed) {
		imap_tagged(s, "NO", "[SERVERBUG] Cannot list mailboxes");
		goto out;
	}
	if (all.count > 1)
		qsort(all.e, all.count, sizeof(*all.e), cmp_entry);
	for (size_t k = 0; k < npat; k++) {
		const char *ps;
		size_t plen;
		struct imap_buf pat;
		if (!imap_arg_astring(&pats[k], &ps, &plen)) {
			imap_tagged(s, "BAD", "Invalid mailbox pattern");
			goto out;
		}
		imap_buf_init(&pat, 4096);
		/* The reference is a prefix (we have one namespace). */
		if (imap_mutf7_to_utf8(rs, rlen, &pat) < 0 ||
		    imap_mutf7_to_utf8(ps, plen, &pat) < 0 ||
		    imap_buf_append(&pat, "", 0) < 0 || pat.data == NULL) {
			imap_buf_free(&pat);
			continue; /* matches nothing */
		}
		for (size_t e = 0; e < all.count; e++) {
			if (all.e[e].name[0] == '\0' ||
			    !match_name(pat.data, all.e[e].name))
				continue;
			/* An implied parent shows only under "%" (RFC 3501
			 * 6.3.8), never as a result of "*". */
			if (!all.e[e].exists && strchr(pat.data, '%') == NULL &&
			    !o.sel_subscribed)
				continue;
			list_reply(s, &o, &all.e[e]);
		}
		imap_buf_free(&pat);
	}
	imap_tagged(s, "OK", "%s completed", cmd->name);
out:
	for (size_t k = 0; k < all.count; k++) {
		free(all.e[k].name);
		free(all.e[k].special_use);
	}
	free(all.e);
}
