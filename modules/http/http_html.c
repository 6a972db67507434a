/* The pages' layout: one stylesheet (/panel.css), no script at all, the
 * same header and navigation on every page, forms with their CSRF token.
 * Every text comes from the language's catalog and every value is
 * escaped. */
#include <stdio.h>
#include <string.h>

#include "http.h"

void html_begin(struct http_ctx *ctx, const char *title_key)
{
	struct hbuf *o = &ctx->out;

	hbuf_reset(o);
	hbuf_printf(o, "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n"
		    "<meta charset=\"utf-8\">\n<meta name=\"viewport\" "
		    "content=\"width=device-width, initial-scale=1\">\n"
		    "<title>", ctx->lang ? "it" : "en");
	hbuf_html(o, http_t(ctx, title_key));
	hbuf_str(o, " · ");
	hbuf_html(o, http_t(ctx, "brand"));
	hbuf_str(o, "</title>\n<link rel=\"stylesheet\" href=\"/panel.css\">\n"
		 "</head>\n<body>\n<header>\n<a class=\"brand\" href=\"/\">");
	hbuf_html(o, http_t(ctx, "brand"));
	hbuf_str(o, "</a>\n");
	if (ctx->logged_in) {
		hbuf_str(o, "<nav>\n");
		static const char *const links[][2] = {
			{ "/", "nav_home" },
			{ "/password", "nav_password" },
			{ "/autoreply", "nav_autoreply" },
		};
		for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
			hbuf_printf(o, "<a href=\"%s\"%s>", links[i][0],
				    strcmp(ctx->path, links[i][0]) == 0
					    ? " aria-current=\"page\"" : "");
			hbuf_html(o, http_t(ctx, links[i][1]));
			hbuf_str(o, "</a>\n");
		}
		html_form_begin(ctx, "/logout");
		hbuf_str(o, "<button class=\"link\" type=\"submit\">");
		hbuf_html(o, http_t(ctx, "nav_logout"));
		hbuf_str(o, "</button>\n</form>\n</nav>\n");
	}
	hbuf_str(o, "</header>\n<main>\n<h1>");
	hbuf_html(o, http_t(ctx, title_key));
	hbuf_str(o, "</h1>\n");
}

void html_end(struct http_ctx *ctx)
{
	hbuf_str(&ctx->out, "</main>\n<footer>");
	if (ctx->logged_in) {
		hbuf_html(&ctx->out, http_t(ctx, "signed_in_as"));
		hbuf_str(&ctx->out, " <strong>");
		hbuf_html(&ctx->out, ctx->acct.address);
		hbuf_str(&ctx->out, "</strong>");
	} else {
		hbuf_html(&ctx->out, http_t(ctx, "footer"));
	}
	hbuf_str(&ctx->out, "</footer>\n</body>\n</html>\n");
}

void html_note(struct http_ctx *ctx, enum http_note kind, const char *text)
{
	if (kind == NOTE_NONE || text == NULL || text[0] == '\0')
		return;
	hbuf_printf(&ctx->out, "<p class=\"note %s\" role=\"%s\">",
		    kind == NOTE_OK ? "ok" : "error",
		    kind == NOTE_OK ? "status" : "alert");
	hbuf_html(&ctx->out, text);
	hbuf_str(&ctx->out, "</p>\n");
}

void html_form_begin(struct http_ctx *ctx, const char *action)
{
	char token[HTTP_TOKEN_HEX];

	http_csrf_token(ctx, token);
	hbuf_printf(&ctx->out, "<form method=\"post\" action=\"%s\">\n",
		    action);
	html_hidden(ctx, "csrf", token);
}

void html_form_end(struct http_ctx *ctx, const char *button_key)
{
	hbuf_str(&ctx->out, "<button type=\"submit\">");
	hbuf_html(&ctx->out, http_t(ctx, button_key));
	hbuf_str(&ctx->out, "</button>\n</form>\n");
}

void html_input(struct http_ctx *ctx, const char *type, const char *name,
		const char *label_key, const char *value,
		const char *autocomplete)
{
	struct hbuf *o = &ctx->out;

	hbuf_printf(o, "<label for=\"%s\">", name);
	hbuf_html(o, http_t(ctx, label_key));
	hbuf_printf(o, "</label>\n<input type=\"%s\" id=\"%s\" name=\"%s\"",
		    type, name, name);
	if (value != NULL) {
		hbuf_str(o, " value=\"");
		hbuf_html(o, value);
		hbuf_str(o, "\"");
	}
	if (autocomplete != NULL)
		hbuf_printf(o, " autocomplete=\"%s\"", autocomplete);
	hbuf_str(o, ">\n");
}

void html_hidden(struct http_ctx *ctx, const char *name, const char *value)
{
	hbuf_printf(&ctx->out, "<input type=\"hidden\" name=\"%s\" value=\"",
		    name);
	hbuf_html(&ctx->out, value);
	hbuf_str(&ctx->out, "\">\n");
}

void html_page(struct http_ctx *ctx, int status)
{
	html_end(ctx);
	http_respond(ctx, status, "text/html; charset=utf-8", NULL, 0, NULL);
}

void html_message(struct http_ctx *ctx, int status, const char *title_key,
		  enum http_note kind, const char *text, const char *link,
		  const char *link_key)
{
	html_begin(ctx, title_key);
	html_note(ctx, kind, text);
	if (link != NULL) {
		hbuf_printf(&ctx->out, "<p><a class=\"button\" href=\"%s\">",
			    link);
		hbuf_html(&ctx->out, http_t(ctx, link_key));
		hbuf_str(&ctx->out, "</a></p>\n");
	}
	html_page(ctx, status);
}
