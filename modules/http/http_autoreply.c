/* Automatic reply and forwarding, kept as the account's Sieve script
 * "panel" through sieve.so's service: ManageSieve clients see the same
 * script, and a script the user wrote (or edited) by hand is never
 * replaced without an explicit confirmation step. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

struct script_scan {
	char active[256];
	bool panel_exists;
};

static void scan_entry(void *data, const char *name, int active)
{
	struct script_scan *s = data;

	if (active)
		snprintf(s->active, sizeof(s->active), "%s", name);
	if (strcmp(name, PANEL_SCRIPT_NAME) == 0)
		s->panel_exists = true;
}

/* What stands in the way of the panel's script: 0 when nothing (no
 * active script, or the panel's own, untouched), else 1 with the name of
 * the user's script in *name_r (the active one, or "panel" edited by
 * hand). The rules the panel's script holds are read into rules. */
static int script_state(struct http_ctx *ctx, struct panel_rules *rules,
			char *name_r, size_t len)
{
	const struct sieve_service *sv = ctx->srv->sieve;
	struct script_scan scan = { "", false };
	char *text = NULL;
	size_t text_len = 0;
	int ours = 1;

	memset(rules, 0, sizeof(*rules));
	sv->list(sv->instance, ctx->acct.address, scan_entry, &scan);
	if (scan.panel_exists &&
	    sv->get(sv->instance, ctx->acct.address, PANEL_SCRIPT_NAME, &text,
		    &text_len) == 0) {
		ours = panel_script_read(text, text_len, rules) == 1;
		free(text);
	}
	if (!ours) {
		snprintf(name_r, len, "%s", PANEL_SCRIPT_NAME);
		return 1;
	}
	if (scan.active[0] != '\0' && strcmp(scan.active, PANEL_SCRIPT_NAME)) {
		snprintf(name_r, len, "%s", scan.active);
		return 1;
	}
	return 0;
}

static void textarea(struct http_ctx *ctx, const char *name,
		     const char *label_key, const char *value, int rows)
{
	struct hbuf *o = &ctx->out;

	hbuf_printf(o, "<label for=\"%s\">", name);
	hbuf_html(o, http_t(ctx, label_key));
	hbuf_printf(o, "</label>\n<textarea id=\"%s\" name=\"%s\" rows=\"%d\">",
		    name, name, rows);
	hbuf_html(o, value);
	hbuf_str(o, "</textarea>\n");
}

static void checkbox(struct http_ctx *ctx, const char *name,
		     const char *label_key, bool checked)
{
	struct hbuf *o = &ctx->out;

	hbuf_printf(o, "<label class=\"check\"><input type=\"checkbox\" "
		    "id=\"%s\" name=\"%s\" value=\"1\"%s> ", name, name,
		    checked ? " checked" : "");
	hbuf_html(o, http_t(ctx, label_key));
	hbuf_str(o, "</label>\n");
}

/* The form, with rules as its values; confirm_name: ask before
 * replacing that script (a confirmation step), or NULL. */
static void autoreply_form(struct http_ctx *ctx, int status,
			   enum http_note kind, const char *note,
			   const struct panel_rules *r,
			   const char *confirm_name)
{
	struct hbuf *o = &ctx->out;
	char forwards[PANEL_FORWARD_MAX * 256] = "";

	html_begin(ctx, "title_autoreply");
	html_note(ctx, kind, note);
	if (confirm_name != NULL) {
		hbuf_str(o, "<p class=\"note error\" role=\"alert\" "
			 "id=\"handwritten\">");
		hbuf_html(o, http_t(ctx, "handwritten"));
		hbuf_str(o, " <strong>");
		hbuf_html(o, confirm_name);
		hbuf_str(o, "</strong>. ");
		hbuf_html(o, http_t(ctx, "handwritten_help"));
		hbuf_str(o, "</p>\n");
	}
	html_form_begin(ctx, "/autoreply");
	hbuf_str(o, "<section>\n<h2>");
	hbuf_html(o, http_t(ctx, "vacation"));
	hbuf_str(o, "</h2>\n");
	checkbox(ctx, "vacation", "label_vacation_on", r->vacation);
	html_input(ctx, "text", "subject", "label_subject", r->subject, "off");
	textarea(ctx, "text", "label_text", r->text, 6);
	hbuf_str(o, "<div class=\"row\">\n<div>\n");
	html_input(ctx, "date", "start", "label_start", r->start, "off");
	hbuf_str(o, "</div>\n<div>\n");
	html_input(ctx, "date", "end", "label_end", r->end, "off");
	hbuf_str(o, "</div>\n</div>\n</section>\n<section>\n<h2>");
	hbuf_html(o, http_t(ctx, "forwarding"));
	hbuf_str(o, "</h2>\n");
	for (size_t i = 0; i < r->forward_count; i++) {
		strncat(forwards, r->forward[i],
			sizeof(forwards) - strlen(forwards) - 2);
		strcat(forwards, "\n");
	}
	textarea(ctx, "forward", "label_forward", forwards, 3);
	checkbox(ctx, "keep", "label_keep", r->forward_count == 0 || r->keep);
	hbuf_str(o, "</section>\n");
	if (confirm_name != NULL) {
		html_hidden(ctx, "confirm", "1");
		html_form_end(ctx, "button_replace");
	} else {
		html_form_end(ctx, "button_save");
	}
	html_page(ctx, status);
}

void page_autoreply(struct http_ctx *ctx)
{
	struct panel_rules rules;
	char name[256];
	int blocked = script_state(ctx, &rules, name, sizeof(name));

	if (!blocked) {
		/* A fresh form keeps a copy when forwarding. */
		if (rules.forward_count == 0)
			rules.keep = true;
	}
	autoreply_form(ctx, 200, blocked ? NOTE_ERROR : NOTE_NONE,
		       blocked ? http_t(ctx, "handwritten_active") : NULL,
		       &rules, NULL);
}

static void autoreply_activated(void *data, int status)
{
	struct http_ctx *ctx = data;

	if (http_gone(ctx))
		return;
	if (status < 0) {
		autoreply_form(ctx, 500, NOTE_ERROR,
			       http_t(ctx, "err_internal"), &ctx->rules,
			       NULL);
		return;
	}
	http_log(ctx, POSTINO_LOG_INFO, "panel rules of %s saved: vacation "
		 "%s, %zu forward(s)", ctx->acct.address,
		 ctx->rules.vacation ? "on" : "off", ctx->rules.forward_count);
	autoreply_form(ctx, 200, NOTE_OK, http_t(ctx, "autoreply_saved"),
		       &ctx->rules, NULL);
}

static void autoreply_stored(void *data, int status, const char *error)
{
	struct http_ctx *ctx = data;
	const struct sieve_service *sv = ctx->srv->sieve;

	if (http_gone(ctx))
		return;
	if (status < 0) {
		http_log(ctx, POSTINO_LOG_ERROR, "panel script of %s not "
			 "stored: %s %s", ctx->acct.address, strerror(-status),
			 error != NULL ? error : "");
		autoreply_form(ctx, status == -EDQUOT || status == -EFBIG
					    ? 409 : 500,
			       NOTE_ERROR, http_t(ctx, "err_script"),
			       &ctx->rules, NULL);
		return;
	}
	int ret = sv->activate(sv->instance, ctx->acct.address,
			       PANEL_SCRIPT_NAME, autoreply_activated, ctx);
	if (ret < 0)
		autoreply_activated(ctx, ret);
}

void post_autoreply(struct http_ctx *ctx)
{
	const struct sieve_service *sv = ctx->srv->sieve;
	const char *what = NULL;
	struct panel_rules old;
	char name[256];

	if (panel_rules_from_form(&ctx->form, &ctx->rules, &what) < 0) {
		autoreply_form(ctx, 422, NOTE_ERROR, http_t(ctx, what),
			       &ctx->rules, NULL);
		return;
	}
	for (size_t i = 0; i < ctx->rules.forward_count; i++) {
		if (strcasecmp(ctx->rules.forward[i], ctx->acct.address) == 0) {
			autoreply_form(ctx, 422, NOTE_ERROR,
				       http_t(ctx, "err_forward_self"),
				       &ctx->rules, NULL);
			return;
		}
	}
	const char *confirm = form_get(&ctx->form, "confirm");
	if (script_state(ctx, &old, name, sizeof(name)) != 0 &&
	    (confirm == NULL || strcmp(confirm, "1") != 0)) {
		/* The confirmation step: the same form, asking. */
		autoreply_form(ctx, 409, NOTE_NONE, NULL, &ctx->rules, name);
		return;
	}
	struct hbuf script;
	hbuf_init(&script, sv->max_script_size(sv->instance));
	int ret = panel_script(&ctx->rules, &script);
	if (ret == 0)
		ret = sv->put(sv->instance, ctx->acct.address,
			      PANEL_SCRIPT_NAME, hbuf_cstr(&script),
			      script.len, autoreply_stored, ctx);
	hbuf_free(&script);
	if (ret < 0)
		autoreply_stored(ctx, ret, NULL);
}
