/* Messages being received: spooled in memory up to MSG_MEMORY_MAX, then in
 * an unlinked file under state_dir (nothing to clean up after a crash);
 * read back for delivery (delivery_commit.c, the host's DELIVERY hooks)
 * and stored by IMAP APPEND. The MIME summary of a message for a mailbox
 * is made before its store job is queued, on the threadpool: the writer
 * commits every delivery's batch, and must not wait for one message's
 * parse (a hostile one takes a worker a second, and no other delivery
 * anything). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "delivery/msg_internal.h"
#include "delivery/quota.h"
#include "host/host_mail.h"
#include "mailbox/mailbox_registry.h"
#include "mime/mime.h"
#include "net/conn_api.h"
#include "store/store.h"

#define MSG_MEMORY_MAX (256 * 1024)


postino_msg *host_msg_new(struct postino_mod *mod, postino_conn *conn)
{
	postino_msg *msg = calloc(1, sizeof(*msg));

	if (msg == NULL)
		return NULL;
	msg->ctx = mod->ctx;
	msg->fd = -1;
	msg->refs = 1;
	msg->module = strdup(mod->name);
	if (msg->module == NULL) {
		free(msg);
		return NULL;
	}
	msg->set = mod->set;
	msg->mod = mod;
	module_set_ref(msg->set);
	msg->conn = conn;
	if (conn != NULL)
		conn_ref(conn);
	return msg;
}

static int msg_spill(postino_msg *msg)
{
	const char *dir = msg->ctx->config->server.state_dir;
	char path[4096];

	msg->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (msg->fd < 0) {
		/* Filesystems without O_TMPFILE: a named file, unlinked at
		 * once. */
		snprintf(path, sizeof(path), "%s/spool-XXXXXX", dir);
		msg->fd = mkostemp(path, O_CLOEXEC);
		if (msg->fd >= 0)
			unlink(path);
	}
	if (msg->fd < 0) {
		log_write(&msg->ctx->log, LOG_LEVEL_ERROR, "core", NULL,
			  "cannot create a spool file in %s: %s", dir,
			  strerror(errno));
		return -errno;
	}
	return 0;
}

static int msg_write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int host_msg_append(postino_msg *msg, const void *buf, size_t len)
{
	if (msg->failed)
		return -EIO;
	if (msg->fd < 0 && msg->len + len <= MSG_MEMORY_MAX) {
		if (msg->len + len > msg->cap) {
			size_t cap = msg->cap > 0 ? msg->cap : 4096;
			while (cap < msg->len + len)
				cap *= 2;
			char *grown = realloc(msg->mem, cap);
			if (grown == NULL) {
				msg->failed = 1;
				return -ENOMEM;
			}
			msg->mem = grown;
			msg->cap = cap;
		}
		memcpy(msg->mem + msg->len, buf, len);
		msg->len += len;
		msg->size += len;
		return 0;
	}
	int ret = 0;
	if (msg->fd < 0) {
		ret = msg_spill(msg);
		if (ret == 0)
			ret = msg_write_all(msg->fd, msg->mem, msg->len);
		free(msg->mem);
		msg->mem = NULL;
		msg->len = msg->cap = 0;
	}
	if (ret == 0)
		ret = msg_write_all(msg->fd, buf, len);
	if (ret < 0) {
		msg->failed = 1;
		return ret;
	}
	msg->size += len;
	return 0;
}

uint64_t host_msg_size(const postino_msg *msg)
{
	return msg->size;
}

void host_msg_ref(postino_msg *msg)
{
	msg->refs++;
}

void host_msg_unref(postino_msg *msg)
{
	if (--msg->refs > 0)
		return;
	if (msg->fd >= 0)
		close(msg->fd);
	free(msg->mem);
	free(msg->headers);
	free(msg->module);
	if (msg->conn != NULL)
		conn_unref(msg->conn);
	module_set_unref(&msg->set);
	free(msg);
}

void host_msg_discard(postino_msg **msgp)
{
	postino_msg *msg = *msgp;

	*msgp = NULL;
	if (msg != NULL)
		host_msg_unref(msg);
}

/* RFC 5322 field names: printable ASCII but the colon. */
static int msg_header_name_ok(const char *name)
{
	if (name == NULL || *name == '\0' || strlen(name) > 76)
		return 0;
	for (const char *p = name; *p != '\0'; p++) {
		if (*p < 33 || *p > 126 || *p == ':')
			return 0;
	}
	return 1;
}

int host_msg_add_header(postino_msg *msg, const char *name, const char *value)
{
	if (!msg_header_name_ok(name) || value == NULL ||
	    strpbrk(value, "\r\n") != NULL || strlen(value) > 8192)
		return -EINVAL;
	/* Worst case: every byte starts a folded line. */
	size_t need = strlen(name) + 2 + strlen(value) * 4 + 3;
	char *grown = realloc(msg->headers, msg->headers_len + need);
	if (grown == NULL)
		return -ENOMEM;
	msg->headers = grown;
	char *out = msg->headers + msg->headers_len;
	size_t line = (size_t)sprintf(out, "%s:", name);
	char *w = out + line;
	/* Fold before a blank when the line would pass 78 characters
	 * (RFC 5322 2.1.1); words longer than that stay whole. */
	for (const char *p = value; *p != '\0';) {
		size_t word = 1 + strcspn(p + 1, " \t");
		if (p == value && *p != ' ' && *p != '\t') {
			*w++ = ' ';
			line++;
		}
		if (line + word > 78 && line > 1 && (*p == ' ' || *p == '\t')) {
			memcpy(w, "\r\n", 2);
			w += 2;
			line = 0;
		}
		memcpy(w, p, word);
		w += word;
		line += word;
		p += word;
	}
	memcpy(w, "\r\n", 2);
	w += 2;
	msg->headers_len = (size_t)(w - msg->headers);
	return 0;
}

/* A message's MIME summary being made on the threadpool for its store
 * job (delivery or APPEND), which embeds this. */
struct msg_prepare {
	uv_work_t req;
	postino_msg *msg;
	const char *mail_from;      /* the job's; NULL for an APPEND */
	struct mime_summary summary;
	int status;
	/* Loop thread: the summary is made (status 0) or not. */
	void (*ready)(struct msg_prepare *prep, int status);
};

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

char *msg_load(postino_msg *msg, const char *mail_from, size_t *prefix_r,
	       size_t *len_r)
{
	char prefix[600];
	int plen = 0;

	if (mail_from != NULL)
		plen = snprintf(prefix, sizeof(prefix),
				"Return-Path: <%s>\r\n", mail_from);
	if (plen < 0 || (size_t)plen >= sizeof(prefix))
		return NULL;
	size_t head = (size_t)plen + msg->headers_len;
	char *buf = malloc(head + msg->size + 1);
	if (buf == NULL)
		return NULL;
	if (plen > 0)
		memcpy(buf, prefix, (size_t)plen);
	if (msg->headers_len > 0)
		memcpy(buf + plen, msg->headers, msg->headers_len);
	if (msg->fd < 0) {
		if (msg->len > 0)
			memcpy(buf + head, msg->mem, msg->len);
	} else {
		size_t got = 0;
		while (got < msg->size) {
			ssize_t n = pread(msg->fd, buf + head + got,
					  msg->size - got, (off_t)got);
			if (n <= 0) {
				if (n < 0 && errno == EINTR)
					continue;
				free(buf);
				return NULL;
			}
			got += (size_t)n;
		}
	}
	*prefix_r = (size_t)plen;
	*len_r = head + msg->size;
	return buf;
}

int64_t host_msg_read(const postino_msg *msg, uint64_t offset, void *buf,
		      size_t len)
{
	uint64_t total = msg->headers_len + msg->size;
	size_t done = 0;

	if (buf == NULL && len > 0)
		return -EINVAL;
	if (msg->failed)
		return -EIO;
	while (done < len && offset < total) {
		size_t n = len - done;
		if (offset < msg->headers_len) {
			if (n > msg->headers_len - offset)
				n = (size_t)(msg->headers_len - offset);
			memcpy((char *)buf + done, msg->headers + offset, n);
		} else {
			uint64_t at = offset - msg->headers_len;
			if (n > msg->size - at)
				n = (size_t)(msg->size - at);
			if (msg->fd < 0) {
				memcpy((char *)buf + done, msg->mem + at, n);
			} else {
				ssize_t got = pread(msg->fd, (char *)buf + done,
						    n, (off_t)at);
				if (got < 0 && errno == EINTR)
					continue;
				if (got <= 0)
					return got < 0 ? -errno : -EIO;
				n = (size_t)got;
			}
		}
		done += n;
		offset += n;
	}
	return (int64_t)done;
}

/* ---- the MIME summary, on the threadpool ------------------------------ */

/* Worker: the message as it will be stored, its summary, then the copy
 * goes (the writer reads the spool again: a queue of jobs each holding a
 * 50 MB message would cost memory that the spool files do not). */
static void msg_prepare_work(uv_work_t *req)
{
	struct msg_prepare *prep = container_of(req, struct msg_prepare, req);
	size_t prefix, len;
	char *buf = msg_load(prep->msg, prep->mail_from, &prefix, &len);

	if (buf == NULL) {
		prep->status = -EIO;
		return;
	}
	prep->status = mime_summary_build(buf, len, &prep->summary);
	free(buf);
}

static void msg_prepare_after(uv_work_t *req, int status)
{
	struct msg_prepare *prep = container_of(req, struct msg_prepare, req);

	/* status < 0: cancelled at shutdown */
	prep->ready(prep, status < 0 ? status : prep->status);
}

/* Admin mode: now, ready before returning. Daemon: on the threadpool. */
static int msg_prepare_start(postino_msg *msg, struct msg_prepare *prep)
{
	prep->msg = msg;
	if (msg->ctx->mode == CORE_MODE_ADMIN) {
		msg_prepare_work(&prep->req);
		msg_prepare_after(&prep->req, 0);
		return 0;
	}
	return uv_queue_work(msg->ctx->loop, &prep->req, msg_prepare_work,
			     msg_prepare_after);
}

/* ---- IMAP APPEND ---------------------------------------------------------- */

struct msg_append {
	postino_msg *msg;
	char *account;
	char *name;
	uint32_t flags;
	char *keywords;
	int64_t internaldate;
	int64_t mailbox_id;
	uint32_t uidvalidity;
	uint32_t uid;
	int64_t internaldate_now; /* the warning's Date */
	int64_t warned;           /* INBOX given a quota warning, or 0 */
	void (*done)(void *data, int status, uint32_t uidvalidity,
		     uint32_t uid);
	void *data;
	struct msg_prepare prep;
};

static int msg_append_run(struct store_txn *txn, void *data)
{
	struct msg_append *job = data;
	size_t prefix, len;
	int64_t blob;
	char *buf = msg_load(job->msg, NULL, &prefix, &len);
	int ret;

	if (buf == NULL)
		return -EIO;
	struct store_quota before;
	ret = store_txn_mailbox_lookup(txn, job->account, job->name,
				       &job->mailbox_id, &job->uidvalidity);
	/* IMAP's NO [OVERQUOTA]: checked here, with the writes before it. */
	if (ret == 0)
		ret = quota_admit(txn, job->account, len, &before);
	if (ret == 0)
		ret = -EDQUOT;
	else if (ret == 1)
		ret = store_txn_blob_put(txn, buf, len, &blob);
	if (ret == 0)
		ret = host_mime_store(txn, blob, &job->prep.summary);
	if (ret == 0)
		ret = store_txn_message_append(txn, job->mailbox_id, blob,
					       job->flags, job->internaldate,
					       &job->uid);
	if (ret == 0)
		ret = store_txn_message_keywords(txn, job->mailbox_id,
						 job->uid, job->keywords);
	if (ret == 0)
		ret = quota_warn(txn, job->msg->set->config, job->account,
				 &before, job->internaldate_now, &job->warned);
	free(buf);
	return ret;
}

static void msg_append_free(struct msg_append *job)
{
	free(job->account);
	free(job->name);
	free(job->keywords);
	mime_summary_free(&job->prep.summary);
	free(job);
}

static void msg_append_done(void *data, int status)
{
	struct msg_append *job = data;
	postino_msg *msg = job->msg;

	if (status == 0)
		mailbox_registry_changed(msg->ctx, job->mailbox_id);
	if (status == 0 && job->warned != 0 && job->warned != job->mailbox_id)
		mailbox_registry_changed(msg->ctx, job->warned);
	job->done(job->data, status, status == 0 ? job->uidvalidity : 0,
		  status == 0 ? job->uid : 0);
	host_msg_unref(msg);
	msg_append_free(job);
}

static void msg_append_ready(struct msg_prepare *prep, int status)
{
	struct msg_append *job = container_of(prep, struct msg_append, prep);

	if (status == 0)
		status = store_submit(job->msg->ctx->store, msg_append_run,
				      msg_append_done, job);
	if (status < 0)
		msg_append_done(job, status);
}

int host_mailbox_append(struct postino_mod *mod, const char *account,
			const char *name, postino_msg *msg, uint32_t flags,
			const char *keywords, int64_t internaldate,
			void (*done)(void *data, int status,
				     uint32_t uidvalidity, uint32_t uid),
			void *data)
{
	struct msg_append *job;

	if (msg == NULL)
		return -EINVAL;
	if (msg->failed || done == NULL || name == NULL || account == NULL ||
	    (flags & ~(uint32_t)0x1f) != 0 ||
	    (keywords != NULL && strlen(keywords) >= STORE_KEYWORDS_MAX)) {
		host_msg_discard(&msg);
		return -EINVAL;
	}
	job = calloc(1, sizeof(*job));
	if (job == NULL) {
		host_msg_discard(&msg);
		return -ENOMEM;
	}
	job->account = strdup(account);
	job->name = strdup(name);
	job->keywords = strdup(keywords != NULL ? keywords : "");
	job->msg = msg;
	job->flags = flags;
	job->internaldate_now = core_now_ms() / 1000;
	job->internaldate = internaldate > 0 ? internaldate
					     : job->internaldate_now;
	job->done = done;
	job->data = data;
	if (job->account == NULL || job->name == NULL || job->keywords == NULL) {
		msg_append_free(job);
		host_msg_discard(&msg);
		return -ENOMEM;
	}
	job->prep.ready = msg_append_ready;
	int ret = msg_prepare_start(msg, &job->prep);
	if (ret < 0) {
		msg_append_free(job);
		host_msg_discard(&msg);
	}
	return ret;
}
