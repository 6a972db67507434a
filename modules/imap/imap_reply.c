/* Output of an IMAP session: untagged and tagged responses, and the
 * capability list, which depends on the state (RFC 3501 7.2.1: LOGIN
 * is disabled and STARTTLS offered only before TLS). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap.h"

void imap_write(struct imap_session *s, const void *buf, size_t len)
{
	if (s->conn != NULL && len > 0 &&
	    s->srv->host->proto->conn_write(s->conn, buf, len) == 1)
		s->blocked = true;
}

void imap_printf(struct imap_session *s, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	int n;

	if (s->conn == NULL)
		return;
	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		imap_write(s, small, (size_t)n);
		return;
	}
	char *big = malloc((size_t)n + 1);
	if (big == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	imap_write(s, big, (size_t)n);
	free(big);
}

void imap_tagged(struct imap_session *s, const char *status,
		 const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* Changes by others reach the client before the tagged reply; no
	 * EXPUNGE after FETCH, STORE or SEARCH (their UID forms may). */
	if (s->state == IMAP_SELECTED && s->mb != NULL &&
	    strcmp(status, "BAD") != 0) {
		bool expunges = s->running == NULL || !s->running->no_expunge ||
				s->tag_uid;
		imap_sync(s, expunges);
	}
	imap_printf(s, "%s %s %s\r\n", s->tag, status, text);
	imap_command_done(s);
}

void imap_capability_list(struct imap_session *s, struct imap_buf *out)
{
	const struct postino_conn_info *info =
		s->srv->host->proto->conn_info(s->conn);
	bool tls = info != NULL && info->tls;

	imap_buf_append_str(out, "IMAP4rev1 SASL-IR LITERAL+ ID ENABLE "
				 "IDLE NAMESPACE UNSELECT CHILDREN UIDPLUS "
				 "MOVE SPECIAL-USE CREATE-SPECIAL-USE "
				 "LIST-EXTENDED CONDSTORE QRESYNC ESEARCH "
				 "SEARCHRES");
	if (imap_quota_supported(s))
		imap_buf_append_str(out, " QUOTA QUOTA=RES-STORAGE "
					 "QUOTA=RES-MESSAGE");
	if (s->state == IMAP_NOT_AUTH) {
		if (tls)
			imap_auth_capabilities(s, out);
		else
			imap_buf_append_str(out, " STARTTLS LOGINDISABLED");
	}
}
