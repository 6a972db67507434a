/* Quota checks and warnings inside the store jobs that store mail. */
#include "delivery/quota.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/host_mail.h"
#include "mime/mime.h"
#include "util/mail_date.h"

int quota_admit(struct store_txn *txn, const char *account, uint64_t size,
		struct store_quota *before_r)
{
	int ret = store_txn_quota_get(txn, account, before_r);

	if (ret < 0)
		return ret;
	return !store_quota_exceeds(before_r, size, 1);
}

/* used reaches pct % of limit (no limit: never). */
static int reaches(uint64_t used, uint64_t limit, unsigned pct)
{
	if (limit == 0)
		return 0;
	/* used * 100 >= pct * limit, without overflow for any limit. */
	uint64_t whole = limit / 100 * pct, part = limit % 100 * pct;
	return used >= whole + part / 100 + (part % 100 != 0);
}

unsigned quota_level(const struct store_quota *q, const unsigned *warn,
		     size_t count)
{
	for (size_t i = count; i-- > 0;) {
		if (reaches(q->storage_used, q->storage_limit, warn[i]) ||
		    reaches(q->messages_used, q->messages_limit, warn[i]))
			return warn[i];
	}
	return 0;
}

void quota_format_size(uint64_t bytes, char *buf, size_t size)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };

	if (bytes < 1024) {
		snprintf(buf, size, "%" PRIu64 " bytes", bytes);
		return;
	}
	/* Tenths, rounded down: "9.9 MiB" is never shown for a full 10. */
	uint64_t div = 1024;
	size_t u = 0;
	while (u + 1 < sizeof(units) / sizeof(units[0]) &&
	       bytes / div >= 1024) {
		div *= 1024;
		u++;
	}
	uint64_t tenths = bytes / (div / 1024) * 10 / 1024;
	if (tenths % 10 == 0)
		snprintf(buf, size, "%" PRIu64 " %s", tenths / 10, units[u]);
	else
		snprintf(buf, size, "%" PRIu64 ".%" PRIu64 " %s", tenths / 10,
			 tenths % 10, units[u]);
}

/* ---- the warning mail ---------------------------------------------------- */

struct text {
	char *p;
	size_t len, cap;
	int failed;
};

static void text_add(struct text *t, const char *s, size_t n)
{
	if (t->failed)
		return;
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap > 0 ? t->cap * 2 : 2048;
		while (cap < t->len + n + 1)
			cap *= 2;
		char *p = realloc(t->p, cap);
		if (p == NULL) {
			t->failed = 1;
			return;
		}
		t->p = p;
		t->cap = cap;
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

static void text_str(struct text *t, const char *s)
{
	text_add(t, s, strlen(s));
}

struct warn_vars {
	const char *name[6];
	const char *value[6];
};

/* A template's text with {{name}} replaced and LF made CRLF. */
static void text_expand(struct text *t, const char *tmpl,
			const struct warn_vars *v)
{
	for (const char *p = tmpl; *p != '\0';) {
		if (p[0] == '{' && p[1] == '{') {
			const char *end = strstr(p + 2, "}}");
			size_t i = 0;
			for (; end != NULL && i < 6; i++) {
				size_t n = strlen(v->name[i]);
				if ((size_t)(end - p - 2) == n &&
				    memcmp(p + 2, v->name[i], n) == 0)
					break;
			}
			if (end != NULL && i < 6) {
				text_str(t, v->value[i]);
				p = end + 2;
				continue;
			}
		}
		if (*p == '\n' && (p == tmpl || p[-1] != '\r'))
			text_add(t, "\r", 1);
		text_add(t, p, 1);
		p++;
	}
}

/* The usage shown: the resource nearer to its limit. */
static void warn_usage(const struct store_quota *q, char *used, char *limit,
		       size_t size, unsigned *percent_r)
{
	uint64_t sp = q->storage_limit > 0
			      ? q->storage_used * 100 / q->storage_limit : 0;
	uint64_t mp = q->messages_limit > 0
			      ? q->messages_used * 100 / q->messages_limit : 0;

	if (q->storage_limit > 0 && sp >= mp) {
		quota_format_size(q->storage_used, used, size);
		quota_format_size(q->storage_limit, limit, size);
	} else {
		snprintf(used, size, "%" PRIu64 " messages", q->messages_used);
		snprintf(limit, size, "%" PRIu64 " messages",
			 q->messages_limit);
	}
	*percent_r = (unsigned)(sp > mp ? sp : mp);
}

static char *warning_build(const struct config *config, const char *account,
			   const struct store_quota *q, unsigned threshold,
			   int64_t now_s, size_t *len_r)
{
	const char *host = config->server.hostname;
	int lang = strcmp(q->lang, "it") == 0 ? CONFIG_LANG_IT : CONFIG_LANG_EN;
	char used[64], limit[64], pct[16], thr[16], date[64], head[1024];
	unsigned percent;
	struct text t = { 0 };

	warn_usage(q, used, limit, sizeof(used), &percent);
	snprintf(pct, sizeof(pct), "%u", percent);
	snprintf(thr, sizeof(thr), "%u", threshold);
	const struct warn_vars v = {
		{ "address", "threshold", "percent", "used", "limit",
		  "hostname" },
		{ account, thr, pct, used, limit, host },
	};
	mail_date_utc(now_s, date, sizeof(date));
	snprintf(head, sizeof(head),
		 "From: Postmaster <postmaster@%s>\r\n"
		 "To: <%s>\r\n"
		 "Date: %s\r\n"
		 "Message-ID: <quota.%u.%" PRId64 ".%" PRId64 "@%s>\r\n"
		 "Auto-Submitted: auto-generated\r\n"
		 "MIME-Version: 1.0\r\n"
		 "Content-Type: text/plain; charset=utf-8\r\n"
		 "Content-Transfer-Encoding: 8bit\r\n"
		 "Subject: ",
		 host, account, date, threshold, now_s, q->account_id, host);
	text_str(&t, head);
	text_expand(&t, config->quota.subject[lang], &v);
	text_str(&t, "\r\n\r\n");
	text_expand(&t, config->quota.body[lang], &v);
	if (t.failed) {
		free(t.p);
		return NULL;
	}
	*len_r = t.len;
	return t.p;
}

static int warning_store(struct store_txn *txn, const char *account,
			 const char *mail, size_t len, int64_t now_s,
			 int64_t *inbox_r)
{
	struct mime_summary summary = { 0 };
	int64_t blob;
	int ret = store_txn_inbox_id(txn, account, inbox_r);

	if (ret == 0)
		ret = store_txn_blob_put(txn, mail, len, &blob);
	/* Made here, not on the threadpool as a client's message is: a few
	 * KiB of our own template's text. */
	if (ret == 0)
		ret = mime_summary_build(mail, len, &summary);
	if (ret == 0)
		ret = host_mime_store(txn, blob, &summary);
	mime_summary_free(&summary);
	if (ret == 0)
		ret = store_txn_message_append(txn, *inbox_r, blob, 0, now_s,
					       NULL);
	return ret;
}

int quota_warn(struct store_txn *txn, const struct config *config,
	       const char *account, const struct store_quota *before,
	       int64_t now_s, int64_t *inbox_r)
{
	const struct config_quota *cq = &config->quota;
	struct store_quota after;
	unsigned armed, reached;
	int ret;

	*inbox_r = 0;
	if (cq->warn_count == 0 ||
	    (before->storage_limit == 0 && before->messages_limit == 0))
		return 0;
	ret = store_txn_quota_get(txn, account, &after);
	if (ret < 0)
		return ret;
	/* What usage had fallen below since the last warning is armed
	 * again; only a threshold above what is armed is news. */
	armed = quota_level(before, cq->warn, cq->warn_count);
	if (armed > before->warned)
		armed = before->warned;
	reached = quota_level(&after, cq->warn, cq->warn_count);
	if (reached <= armed)
		return armed == before->warned
			       ? 0
			       : store_txn_quota_warned(txn, after.account_id,
							armed);
	size_t len;
	char *mail = warning_build(config, account, &after, reached, now_s,
				   &len);
	if (mail == NULL)
		return -ENOMEM;
	/* Over quota or not, the warning goes in: the server's own mail is
	 * never refused for the quota it reports on. */
	ret = warning_store(txn, account, mail, len, now_s, inbox_r);
	free(mail);
	if (ret == 0)
		ret = store_txn_quota_warned(txn, after.account_id, reached);
	return ret;
}
