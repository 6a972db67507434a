/* The queue worker: a timer finds due entries; each entry is delivered one
 * destination group at a time (all recipients through the relayhost, or
 * the recipients of one domain per MX connection), at most max_parallel
 * entries at once. What a remote answered to the final dot is written
 * (store_submit) before the QUIT is sent; the entry's end (retry time,
 * bounce, deletion) is one more job, and the entry stays "in flight" in
 * memory until that job committed so no poll can pick it up twice. */
#include "queue/queue.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "queue/queue_internal.h"
#include "queue/queue_proto.h"
#include "smtp_client/smtp_reply.h"
#include "store/store.h"
#include "util/srs.h"

struct queue_settings {
	uint64_t poll_ms;
	unsigned max_parallel;
	char relay_host[256]; /* "" when mail goes to MX hosts */
	unsigned relay_port;
	char relay_user[256]; /* "" when no AUTH */
	char relay_password[256];
	enum smtp_tls_level relay_tls;
	char relay_ca_file[PATH_MAX]; /* "" for the system store */
	struct tls_pin relay_pins[TLS_PINS_MAX];
	size_t relay_pin_count;
	unsigned mx_port;
	struct sockaddr_in dns; /* [queue] dns_server, when has_dns */
	int has_dns;
	int64_t retry_min, retry_max, lifetime;
	unsigned connect_timeout_ms, command_timeout_ms;
	char helo[256];
};

struct qrcpt {
	int64_t id;
	char address[320];
	int status;     /* enum store_rcpt_status */
	char reply[512];
	int tried;      /* in a group during this attempt */
};

struct qentry {
	struct queue *q;
	struct qentry *next;
	struct store_queue_entry e;
	char *data;
	size_t len;
	char *stuffed;
	size_t stuffed_len;
	struct qrcpt *rcpts;
	size_t count;
	struct queue_settings set;
	char log_id[32];
	/* the group being delivered */
	struct smtp_client_rcpt *grp;
	size_t *grp_idx;
	size_t grp_count;
	struct smtp_tls_policy policy; /* the group's destination */
	struct queue_resolve resolve;
	int resolving;
	struct smtp_client *smtp;
	struct smtp_client_params params;
	int finishing; /* the end job is queued */
};

struct queue {
	struct core_ctx *ctx; /* worker 0's: the queue runs on its loop */
	uv_timer_t timer;
	uv_async_t kick;      /* queue_kick from any worker */
	struct qentry *active;
	unsigned active_count;
	unsigned refs; /* owner, timer and async handles, entries, store
			* jobs */
	int stopping;
	uint64_t seq;  /* unique part of bounce Message-IDs */
	/* Trust anchors, loaded at first use and dropped by queue_reload;
	 * the policies of entries in flight hold their own references. */
	struct smtp_tls_trust *trust_system;
	struct smtp_tls_trust *trust_relay;
};

struct rcpt_update {
	int64_t id;
	int status;
	char reply[512];
};

/* Self-contained: runs on the writer thread while the loop goes on. */
struct queue_job {
	struct queue *q;
	struct qentry *entry; /* the end job: freed when it is done */
	int64_t queue_id;
	struct rcpt_update *updates;
	size_t update_count;
	char *dsn;
	size_t dsn_len;
	char sender[320];
	int64_t now, lifetime;
	int del;
	int64_t next_attempt, attempts;
};

static void qlog(const struct queue *q, enum log_level level, const char *id,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void qlog(const struct queue *q, enum log_level level, const char *id,
		 const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_write(&q->ctx->log, level, "queue", id, "%s", msg);
}

static void queue_unref(struct queue *q)
{
	if (--q->refs > 0)
		return;
	smtp_tls_trust_unref(&q->trust_system);
	smtp_tls_trust_unref(&q->trust_relay);
	free(q);
}

/* ---- settings ----------------------------------------------------------- */

static const struct config_section *queue_section(const struct config *c)
{
	const struct config_section *found = NULL;

	for (const struct config_section *s = c->sections; s; s = s->next)
		if (strcmp(s->type, "queue") == 0 && s->name == NULL)
			found = s;
	return found;
}

static int64_t setting_num(const struct config_section *sec, const char *key,
			   enum postino_config_type type, int64_t def)
{
	const char *v = sec ? config_section_value(sec, key) : NULL;
	int64_t value;

	/* config_load validated the value already. */
	if (v == NULL || config_parse_value(type, v, &value) < 0)
		return def;
	return value;
}

static void setting_str(const struct config_section *sec, const char *key,
			char *buf, size_t size)
{
	const char *v = sec ? config_section_value(sec, key) : NULL;

	snprintf(buf, size, "%s", v ? v : "");
}

/* "host", "host:port", "[v6]" or "[v6]:port". */
static int parse_hostport(const char *text, char *host, size_t size,
			  unsigned *port_r)
{
	const char *colon;
	size_t len;

	*port_r = 25;
	if (text[0] == '[') {
		const char *end = strchr(text, ']');
		if (end == NULL)
			return -EINVAL;
		len = (size_t)(end - text - 1);
		text++;
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL)
			return -EINVAL;
	} else {
		colon = strrchr(text, ':');
		if (colon != NULL && strchr(text, ':') != colon)
			return -EINVAL; /* a bare IPv6 address is ambiguous */
		len = colon ? (size_t)(colon - text) : strlen(text);
	}
	if (len == 0 || len >= size)
		return -EINVAL;
	memcpy(host, text, len);
	host[len] = '\0';
	if (colon != NULL) {
		char *end;
		unsigned long p = strtoul(colon + 1, &end, 10);
		if (*end != '\0' || p < 1 || p > 65535)
			return -EINVAL;
		*port_r = (unsigned)p;
	}
	return 0;
}

static int settings_read(const struct core_ctx *ctx,
			 struct queue_settings *s)
{
	const struct config_section *sec = queue_section(ctx->config);
	char relay[300];

	memset(s, 0, sizeof *s);
	s->poll_ms = (uint64_t)setting_num(sec, "poll_interval",
					   POSTINO_CONFIG_DURATION, 30) * 1000;
	s->max_parallel = (unsigned)setting_num(sec, "max_parallel",
						POSTINO_CONFIG_INT, 10);
	s->mx_port = (unsigned)setting_num(sec, "mx_port", POSTINO_CONFIG_INT,
					   25);
	s->retry_min = setting_num(sec, "retry_min", POSTINO_CONFIG_DURATION,
				   5 * 60);
	s->retry_max = setting_num(sec, "retry_max", POSTINO_CONFIG_DURATION,
				   4 * 3600);
	s->lifetime = setting_num(sec, "lifetime", POSTINO_CONFIG_DURATION,
				  5 * 86400);
	s->connect_timeout_ms = (unsigned)setting_num(
		sec, "connect_timeout", POSTINO_CONFIG_DURATION, 30) * 1000;
	s->command_timeout_ms = (unsigned)setting_num(
		sec, "command_timeout", POSTINO_CONFIG_DURATION, 300) * 1000;
	setting_str(sec, "relayhost", relay, sizeof relay);
	if (relay[0] != '\0' &&
	    parse_hostport(relay, s->relay_host, sizeof s->relay_host,
			   &s->relay_port) < 0)
		return -EINVAL;
	char dns[300], dns_host[256];
	unsigned dns_port = 53;
	setting_str(sec, "dns_server", dns, sizeof dns);
	if (dns[0] != '\0') {
		/* The resolver takes addresses, not names. */
		if (parse_hostport(dns, dns_host, sizeof dns_host, &dns_port) < 0 ||
		    inet_pton(AF_INET, dns_host, &s->dns.sin_addr) != 1)
			return -EINVAL;
		s->dns.sin_family = AF_INET;
		if (strchr(dns, ':') == NULL)
			dns_port = 53; /* parse_hostport assumes SMTP's 25 */
		s->dns.sin_port = htons((uint16_t)dns_port);
		s->has_dns = 1;
	}
	setting_str(sec, "relayhost_user", s->relay_user, sizeof s->relay_user);
	setting_str(sec, "relayhost_password", s->relay_password,
		    sizeof s->relay_password);
	s->relay_tls = smtp_tls_relay_level(
		sec ? config_section_value(sec, "relayhost_tls") : NULL,
		s->relay_user[0] != '\0');
	setting_str(sec, "relayhost_ca_file", s->relay_ca_file,
		    sizeof s->relay_ca_file);
	const char *pins = sec ? config_section_value(
					 sec, "relayhost_fingerprint") : NULL;
	const char *problem;
	if (pins != NULL && tls_pins_parse(pins, s->relay_pins,
					   &s->relay_pin_count, &problem) < 0)
		return -EINVAL;
	snprintf(s->helo, sizeof s->helo, "%s",
		 ctx->config->server.hostname ? ctx->config->server.hostname :
						"localhost");
	if (s->max_parallel == 0 || s->poll_ms == 0)
		return -EINVAL;
	return 0;
}

/* ---- store jobs --------------------------------------------------------- */

static int deliver_bounce(struct store_txn *txn, struct queue_job *j)
{
	int64_t mailbox, blob;
	const char *rcpt = j->sender;
	int ret = store_txn_inbox_id(txn, j->sender, &mailbox);

	if (ret < 0 && ret != -ENOENT)
		return ret;
	int local = ret == 0;
	ret = store_txn_blob_put(txn, j->dsn, j->dsn_len, &blob);
	if (ret < 0)
		return ret;
	if (local)
		return store_txn_message_append(txn, mailbox, blob, 0, j->now,
						NULL);
	/* Null sender: a bounce of this bounce would loop. */
	return store_txn_queue_add(txn, "", blob, &rcpt, 1, j->now,
				   j->now + j->lifetime, NULL);
}

static int queue_job_run(struct store_txn *txn, void *data)
{
	struct queue_job *j = data;
	int ret = 0;

	for (size_t i = 0; i < j->update_count && ret == 0; i++) {
		const struct rcpt_update *u = &j->updates[i];
		ret = store_txn_queue_rcpt_set(txn, u->id, u->status,
					       u->reply[0] ? u->reply : NULL);
	}
	if (ret == 0 && j->dsn != NULL)
		ret = deliver_bounce(txn, j);
	if (ret == 0 && j->del)
		ret = store_txn_queue_del(txn, j->queue_id);
	else if (ret == 0 && j->entry != NULL)
		ret = store_txn_queue_retry(txn, j->queue_id, j->next_attempt,
					    j->attempts);
	/* An entry deleted meanwhile (postino queue del) is nothing to do. */
	return ret == -ENOENT ? 0 : ret;
}

static void entry_free(struct qentry *en);
static void poll_soon(struct queue *q);

static void queue_job_done(void *data, int status)
{
	struct queue_job *j = data;
	struct queue *q = j->q;
	char id[32];

	snprintf(id, sizeof id, "q%lld", (long long)j->queue_id);
	if (status < 0)
		qlog(q, LOG_LEVEL_ERROR, id, "recording the delivery failed: "
		     "%s", strerror(-status));
	if (j->entry != NULL) {
		entry_free(j->entry);
		poll_soon(q);
	}
	free(j->updates);
	free(j->dsn);
	free(j);
	queue_unref(q);
}

static int submit(struct queue *q, struct queue_job *j)
{
	q->refs++;
	int ret = store_submit(q->ctx->store, queue_job_run, queue_job_done, j);
	if (ret < 0) {
		qlog(q, LOG_LEVEL_ERROR, NULL, "store_submit: %s",
		     strerror(-ret));
		j->entry = NULL; /* the caller frees what it gave */
		q->refs--;
	}
	return ret;
}

static struct queue_job *job_new(struct qentry *en, size_t updates)
{
	struct queue_job *j = calloc(1, sizeof *j);

	if (j == NULL)
		return NULL;
	j->updates = calloc(updates ? updates : 1, sizeof *j->updates);
	if (j->updates == NULL) {
		free(j);
		return NULL;
	}
	j->q = en->q;
	j->queue_id = en->e.id;
	return j;
}

static void job_add(struct queue_job *j, const struct qrcpt *r)
{
	struct rcpt_update *u = &j->updates[j->update_count++];

	u->id = r->id;
	u->status = r->status;
	snprintf(u->reply, sizeof u->reply, "%s", r->reply);
}

/* ---- one entry ---------------------------------------------------------- */

static void entry_free(struct qentry *en)
{
	struct queue *q = en->q;

	for (struct qentry **p = &q->active; *p; p = &(*p)->next) {
		if (*p == en) {
			*p = en->next;
			q->active_count--;
			break;
		}
	}
	smtp_client_free(&en->smtp);
	smtp_tls_policy_clear(&en->policy);
	/* The password copy does not outlive the entry. */
	explicit_bzero(en->set.relay_password, sizeof en->set.relay_password);
	free(en->grp);
	free(en->grp_idx);
	free(en->rcpts);
	free(en->stuffed);
	free(en->data);
	free(en);
	queue_unref(q);
}

/* Group results become recipient states (in memory; the jobs store them). */
static void group_apply(struct qentry *en)
{
	for (size_t i = 0; i < en->grp_count; i++) {
		struct qrcpt *r = &en->rcpts[en->grp_idx[i]];
		const struct smtp_client_rcpt *g = &en->grp[i];

		if (g->result == 0)
			continue;
		r->status = g->result == 2 ? STORE_RCPT_DELIVERED :
			    g->result == 5 ? STORE_RCPT_FAILED :
					     STORE_RCPT_PENDING;
		snprintf(r->reply, sizeof r->reply, "%s", g->reply);
	}
}

/* Where the bounce of a queued message goes: its sender, or for an SRS
 * address of ours (mail we forwarded) the sender it stands for, which is
 * what a remote bounce to it would reach too. */
static void bounce_target(const struct queue *q, const char *sender,
			  char *out, size_t size)
{
	const struct config_srs *cfg = &q->ctx->config->srs;
	const char *at = strrchr(sender, '@');

	snprintf(out, size, "%s", sender);
	if (!cfg->enabled || at == NULL || strcasecmp(at + 1, cfg->domain) ||
	    !srs_is_srs(sender))
		return;
	struct srs srs = {
		.secrets = (const char *const *)cfg->secrets,
		.n_secrets = cfg->secret_count,
		.max_age = cfg->max_age,
	};
	char original[SRS_ADDRESS_MAX + 1];
	if (srs_reverse(&srs, sender, core_now_ms() / 1000, original,
			sizeof(original)) == 0 && strlen(original) < size)
		memcpy(out, original, strlen(original) + 1);
}

static void entry_finish(struct qentry *en)
{
	struct queue *q = en->q;
	int64_t now = core_now_ms() / 1000;
	struct queue_dsn_rcpt *failed;
	size_t nfailed = 0, pending = 0;
	struct queue_job *j = job_new(en, en->count);

	failed = calloc(en->count + 1, sizeof *failed);
	if (j == NULL || failed == NULL) {
		qlog(q, LOG_LEVEL_ERROR, en->log_id, "out of memory");
		free(failed);
		if (j) {
			free(j->updates);
			free(j);
		}
		entry_free(en);
		return;
	}
	for (size_t i = 0; i < en->count; i++) {
		struct qrcpt *r = &en->rcpts[i];

		if (r->status == STORE_RCPT_PENDING && now >= en->e.giveup) {
			r->status = STORE_RCPT_FAILED;
			if (r->reply[0] == '\0')
				snprintf(r->reply, sizeof r->reply,
					 "delivery time expired");
		}
		if (r->status == STORE_RCPT_FAILED) {
			failed[nfailed].address = r->address;
			failed[nfailed].reply = r->reply;
			nfailed++;
			/* The bounce commits with this state, or neither. */
			r->status = STORE_RCPT_BOUNCED;
		}
		if (r->status == STORE_RCPT_PENDING)
			pending++;
		job_add(j, r);
	}
	char bounce_to[sizeof(j->sender)];
	bounce_target(q, en->e.sender, bounce_to, sizeof(bounce_to));
	if (nfailed > 0 && en->e.sender[0] != '\0') {
		struct queue_dsn d = {
			.hostname = en->set.helo,
			.sender = bounce_to,
			.message = en->data,
			.message_len = en->len,
			.rcpts = failed,
			.rcpt_count = nfailed,
			.now_s = now,
			.arrival_s = en->e.created,
			.unique = ((uint64_t)en->e.id << 20) ^ q->seq++,
		};
		if (queue_dsn_build(&d, &j->dsn, &j->dsn_len) < 0) {
			/* Retried at the next attempt: nothing is lost. */
			qlog(q, LOG_LEVEL_ERROR, en->log_id,
			     "cannot build the bounce: out of memory");
			free(failed);
			free(j->updates);
			free(j);
			entry_free(en);
			return;
		}
		snprintf(j->sender, sizeof j->sender, "%s", bounce_to);
		qlog(q, LOG_LEVEL_INFO, en->log_id,
		     "bouncing %zu recipient(s) to <%s>", nfailed, bounce_to);
	} else if (nfailed > 0) {
		qlog(q, LOG_LEVEL_INFO, en->log_id,
		     "%zu recipient(s) failed; a bounce is not bounced",
		     nfailed);
	}
	free(failed);
	j->entry = en;
	j->now = now;
	j->lifetime = en->set.lifetime;
	j->del = pending == 0;
	j->attempts = en->e.attempts + 1;
	j->next_attempt = now + queue_backoff(en->set.retry_min,
					      en->set.retry_max, j->attempts);
	if (!j->del)
		qlog(q, LOG_LEVEL_INFO, en->log_id,
		     "%zu recipient(s) deferred, next attempt in %llds",
		     pending, (long long)(j->next_attempt - now));
	en->finishing = 1;
	if (submit(q, j) < 0) {
		free(j->updates);
		free(j->dsn);
		free(j);
		entry_free(en);
	}
}

static void next_group(struct qentry *en);

static void smtp_on_dot(void *arg)
{
	struct qentry *en = arg;
	struct queue_job *j;

	group_apply(en);
	j = job_new(en, en->grp_count);
	if (j == NULL) {
		/* The end job records the same states. */
		qlog(en->q, LOG_LEVEL_ERROR, en->log_id, "out of memory");
		return;
	}
	for (size_t i = 0; i < en->grp_count; i++)
		if (en->grp[i].accepted)
			job_add(j, &en->rcpts[en->grp_idx[i]]);
	if (submit(en->q, j) < 0) {
		free(j->updates);
		free(j);
	}
}

static void smtp_on_done(void *arg)
{
	struct qentry *en = arg;

	smtp_client_free(&en->smtp);
	if (en->q->stopping) {
		entry_free(en);
		return;
	}
	group_apply(en);
	next_group(en);
}

static void resolved(struct queue_resolve *r)
{
	struct qentry *en = r->data;
	struct smtp_client_params *p = &en->params;
	int ret;

	en->resolving = 0;
	if (en->q->stopping || r->status == -ECANCELED) {
		entry_free(en);
		return;
	}
	if (r->status < 0) {
		qlog(en->q, LOG_LEVEL_INFO, en->log_id, "%s", r->error);
		for (size_t i = 0; i < en->grp_count; i++) {
			en->grp[i].result = r->status == -ENOENT ? 5 : 4;
			snprintf(en->grp[i].reply, sizeof en->grp[i].reply,
				 "%s %s", r->status == -ENOENT ? "5.1.2" :
								"4.4.3",
				 r->error);
		}
		group_apply(en);
		next_group(en);
		return;
	}
	int relay = en->set.relay_host[0] != '\0';
	*p = (struct smtp_client_params){
		.loop = en->q->ctx->loop,
		.log = &en->q->ctx->log,
		.helo = en->set.helo,
		.addrs = r->addrs,
		.addr_count = r->count,
		.tls = &en->policy,
		.auth_user = relay && en->set.relay_user[0] ?
				     en->set.relay_user : NULL,
		.auth_password = en->set.relay_password,
		.sender = en->e.sender,
		.data = en->stuffed,
		.data_len = en->stuffed_len,
		.message_size = en->len,
		.rcpts = en->grp,
		.rcpt_count = en->grp_count,
		.connect_timeout_ms = en->set.connect_timeout_ms,
		.command_timeout_ms = en->set.command_timeout_ms,
		.log_id = en->log_id,
		.on_dot = smtp_on_dot,
		.on_done = smtp_on_done,
		.arg = en,
	};
	for (size_t i = 0; i < en->len; i++)
		if ((unsigned char)en->data[i] >= 0x80) {
			p->eightbit = 1;
			break;
		}
	ret = smtp_client_start(p, &en->smtp);
	if (ret < 0) {
		qlog(en->q, LOG_LEVEL_ERROR, en->log_id, "smtp start: %s",
		     strerror(-ret));
		next_group(en); /* the group stays pending */
	}
}

static const char *domain_of(const char *address)
{
	const char *at = strrchr(address, '@');

	return at ? at + 1 : "";
}

/* The trust anchors of ca_file ("" for the system store), loaded at first
 * use (a blocking read, as a reload's certificates are) and kept until
 * queue_reload. NULL only when out of memory. */
static struct smtp_tls_trust *queue_trust(struct queue *q,
					   const char *ca_file)
{
	struct smtp_tls_trust **slot = ca_file[0] ? &q->trust_relay :
						     &q->trust_system;

	/* An entry that read its settings before a reload may still ask
	 * for the file the old configuration named. */
	if (*slot != NULL && strcmp((*slot)->ca_file, ca_file) != 0)
		smtp_tls_trust_unref(slot);
	if (*slot != NULL)
		return *slot;
	if (smtp_tls_trust_load(ca_file, slot) < 0)
		return NULL;
	if ((*slot)->count > 0)
		qlog(q, LOG_LEVEL_INFO, NULL,
		     "%u trust anchor(s) loaded from %s", (*slot)->count,
		     ca_file[0] ? ca_file : "the system store");
	else
		qlog(q, LOG_LEVEL_ERROR, NULL,
		     "no trust anchors loaded from %s: %s; certificates "
		     "cannot be verified", ca_file[0] ? ca_file :
							"the system store",
		     (*slot)->error);
	return *slot;
}

/* The TLS policy of the next destination, decided before connecting:
 * the relayhost's settings, or opportunistic TLS for MX hosts (the place
 * where MTA-STS and DANE will raise it). 0 or -ENOMEM. */
static int destination_policy(struct qentry *en, int relay)
{
	const struct queue_settings *set = &en->set;
	struct smtp_tls_trust *trust =
		queue_trust(en->q, relay ? set->relay_ca_file : "");

	if (trust == NULL)
		return -ENOMEM;
	if (relay)
		smtp_tls_policy_relay(&en->policy, set->relay_tls,
				       set->relay_host, trust, set->relay_pins,
				       set->relay_pin_count);
	else
		smtp_tls_policy_mx(&en->policy, trust);
	return 0;
}

/* The next destination: every untried pending recipient through the
 * relayhost, or those sharing the first one's domain. */
static void next_group(struct qentry *en)
{
	int relay = en->set.relay_host[0] != '\0';
	const char *domain = NULL;
	size_t n = 0;

	for (size_t i = 0; i < en->count; i++) {
		struct qrcpt *r = &en->rcpts[i];

		if (r->tried || r->status != STORE_RCPT_PENDING)
			continue;
		if (domain == NULL)
			domain = domain_of(r->address);
		else if (!relay && strcasecmp(domain, domain_of(r->address)))
			continue;
		r->tried = 1;
		en->grp_idx[n] = i;
		memset(&en->grp[n], 0, sizeof en->grp[n]);
		en->grp[n].address = r->address;
		n++;
	}
	en->grp_count = n;
	if (n == 0) {
		entry_finish(en);
		return;
	}
	struct queue_resolve *r = &en->resolve;
	memset(r, 0, sizeof *r);
	r->data = en;
	r->done = resolved;
	if (destination_policy(en, relay) < 0) {
		/* The group stays pending; the next attempt tries again. */
		qlog(en->q, LOG_LEVEL_ERROR, en->log_id, "out of memory");
		next_group(en);
		return;
	}
	if (relay) {
		snprintf(r->name, sizeof r->name, "%s", en->set.relay_host);
		r->port = en->set.relay_port;
	} else {
		snprintf(r->name, sizeof r->name, "%s", domain);
		r->port = en->set.mx_port;
		r->mx = 1;
		r->dns = en->set.dns;
		r->has_dns = en->set.has_dns;
	}
	en->resolving = 1;
	int ret = queue_resolve_start(en->q->ctx->loop, r);
	if (ret < 0) {
		en->resolving = 0;
		r->status = -EAGAIN;
		snprintf(r->error, sizeof r->error, "resolver: %s",
			 uv_strerror(ret));
		resolved(r);
	}
}

struct rcpt_load {
	struct qentry *en;
	size_t cap;
};

static int rcpt_loaded(void *data, const struct store_queue_rcpt *sr)
{
	struct rcpt_load *l = data;
	struct qentry *en = l->en;

	if (en->count == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct qrcpt *p = realloc(en->rcpts, cap * sizeof *p);
		if (p == NULL)
			return -ENOMEM;
		en->rcpts = p;
		l->cap = cap;
	}
	struct qrcpt *r = &en->rcpts[en->count++];
	memset(r, 0, sizeof *r);
	r->id = sr->id;
	r->status = sr->status;
	snprintf(r->address, sizeof r->address, "%s", sr->address);
	snprintf(r->reply, sizeof r->reply, "%s", sr->last_reply);
	return 0;
}

static void entry_start(struct queue *q, int64_t id,
			const struct queue_settings *set)
{
	struct store *store = q->ctx->store;
	struct qentry *en = calloc(1, sizeof *en);
	struct rcpt_load load = { .en = en };
	int ret;

	if (en == NULL)
		return;
	en->q = q;
	en->set = *set;
	snprintf(en->log_id, sizeof en->log_id, "q%lld", (long long)id);
	q->refs++;
	en->next = q->active;
	q->active = en;
	q->active_count++;
	ret = store_queue_get(store, id, &en->e, &en->data, &en->len);
	if (ret == 0)
		ret = store_queue_rcpts(store, id, rcpt_loaded, &load);
	if (ret == 0)
		ret = smtp_dot_stuff(en->data, en->len, &en->stuffed,
				      &en->stuffed_len);
	if (ret == 0) {
		en->grp = calloc(en->count + 1, sizeof *en->grp);
		en->grp_idx = calloc(en->count + 1, sizeof *en->grp_idx);
		if (en->grp == NULL || en->grp_idx == NULL)
			ret = -ENOMEM;
	}
	if (ret < 0) {
		/* Gone meanwhile (queue del), or a read error: next poll. */
		if (ret != -ENOENT)
			qlog(q, LOG_LEVEL_ERROR, en->log_id, "cannot load: %s",
			     ret == -ENOMEM ? "out of memory" :
					      store_error(store));
		entry_free(en);
		return;
	}
	qlog(q, LOG_LEVEL_DEBUG, en->log_id,
	     "attempt %lld from <%s>, %zu recipient(s)",
	     (long long)en->e.attempts + 1, en->e.sender, en->count);
	next_group(en);
}

/* ---- polling ------------------------------------------------------------ */

struct due {
	int64_t ids[256];
	size_t count;
};

static int due_found(void *data, int64_t id)
{
	struct due *d = data;

	d->ids[d->count++] = id;
	return d->count == sizeof d->ids / sizeof d->ids[0];
}

static int in_flight(const struct queue *q, int64_t id)
{
	for (const struct qentry *en = q->active; en; en = en->next)
		if (en->e.id == id)
			return 1;
	return 0;
}

static void poll_due(uv_timer_t *timer)
{
	struct queue *q = timer->data;
	struct queue_settings set;
	struct due due = { .count = 0 };
	int ret;

	if (q->stopping)
		return;
	if (settings_read(q->ctx, &set) < 0)
		return; /* config_load refused it; cannot happen */
	if (q->active_count >= set.max_parallel)
		return;
	/* In-flight entries are still due in the table: ask for enough. */
	unsigned limit = set.max_parallel + q->active_count;
	if (limit > sizeof due.ids / sizeof due.ids[0])
		limit = sizeof due.ids / sizeof due.ids[0];
	ret = store_queue_due(q->ctx->store, core_now_ms() / 1000, limit,
			      due_found, &due);
	if (ret < 0) {
		qlog(q, LOG_LEVEL_ERROR, NULL, "queue poll: %s",
		     store_error(q->ctx->store));
		return;
	}
	for (size_t i = 0; i < due.count && !q->stopping &&
			   q->active_count < set.max_parallel; i++)
		if (!in_flight(q, due.ids[i]))
			entry_start(q, due.ids[i], &set);
	explicit_bzero(set.relay_password, sizeof set.relay_password);
}

static void poll_now(struct queue *q);

/* A finished entry frees a slot: look again without waiting a period. */
static void poll_soon(struct queue *q)
{
	if (!q->stopping)
		poll_now(q);
}

static void kicked(uv_async_t *async)
{
	poll_now(async->data);
}

/* Any worker's thread: the queue's own loop does the poll. */
void queue_kick(struct queue *q)
{
	if (q != NULL)
		uv_async_send(&q->kick);
}

static void poll_now(struct queue *q)
{
	struct queue_settings set;

	if (q == NULL || q->stopping)
		return;
	uint64_t period = settings_read(q->ctx, &set) == 0 ? set.poll_ms :
							     30000;
	explicit_bzero(set.relay_password, sizeof set.relay_password);
	uv_timer_start(&q->timer, poll_due, 0, period);
}

static void timer_closed(uv_handle_t *h)
{
	queue_unref(h->data);
}

/* "required, verified against /etc/ssl/isp-ca.pem" for the start line. */
static void relay_tls_describe(const struct queue_settings *set, char *buf,
			       size_t size)
{
	if (set->relay_tls != SMTP_TLS_VERIFY)
		snprintf(buf, size, "opportunistic");
	else if (set->relay_pin_count > 0)
		snprintf(buf, size, "required, verified by "
			 "relayhost_fingerprint");
	else
		snprintf(buf, size, "required, verified against %s",
			 set->relay_ca_file[0] ? set->relay_ca_file :
						 "the system store");
}

int queue_start(struct core_ctx *ctx, struct queue **queue_r)
{
	struct queue_settings set;
	struct queue *q;

	if (settings_read(ctx, &set) < 0) {
		core_log(ctx, LOG_LEVEL_ERROR, "[queue] settings are invalid");
		return -EINVAL;
	}
	q = calloc(1, sizeof *q);
	if (q == NULL) {
		core_log(ctx, LOG_LEVEL_ERROR, "queue: out of memory");
		return -ENOMEM;
	}
	q->ctx = ctx;
	q->refs = 3; /* the owner, the timer and the async handle */
	uv_timer_init(ctx->loop, &q->timer);
	q->timer.data = q;
	uv_async_init(ctx->loop, &q->kick, kicked);
	q->kick.data = q;
	if (set.relay_host[0] != '\0') {
		char tls[PATH_MAX + 64];
		relay_tls_describe(&set, tls, sizeof tls);
		core_log(ctx, LOG_LEVEL_INFO,
			 "queue: relayhost %s port %u tls=%s auth=%s",
			 set.relay_host, set.relay_port, tls,
			 set.relay_user[0] ? "plain" : "none");
	}
	explicit_bzero(set.relay_password, sizeof set.relay_password);
	*queue_r = q;
	poll_now(q);
	return 0;
}

void queue_reload(struct queue *q)
{
	if (q == NULL || q->stopping)
		return;
	smtp_tls_trust_unref(&q->trust_system);
	smtp_tls_trust_unref(&q->trust_relay);
	poll_now(q);
}

void queue_stop(struct queue **queue)
{
	struct queue *q = *queue;

	if (q == NULL)
		return;
	*queue = NULL;
	q->stopping = 1;
	uv_timer_stop(&q->timer);
	uv_close((uv_handle_t *)&q->timer, timer_closed);
	uv_close((uv_handle_t *)&q->kick, timer_closed);
	/* Each entry frees itself from the callback that is still due:
	 * the resolver's (cancelled when not yet running) or the session's
	 * on_done; an entry whose end job is queued goes with that job. */
	for (struct qentry *en = q->active; en; en = en->next) {
		if (en->resolving)
			uv_cancel((uv_req_t *)&en->resolve.work);
		else if (en->smtp != NULL)
			smtp_client_abort(en->smtp);
	}
	queue_unref(q);
}
