/* Host entries of the mail service: hosted domains and address lookups
 * (aliases, ownership). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "host/host_mail.h"
#include "store/store.h"
#include "util/address.h"
#include "util/srs.h"

#define EXPAND_DEPTH_MAX 8
#define EXPAND_TARGETS_MAX 256

/* ---- addresses ------------------------------------------------------------ */

int host_domain_is_local(struct postino_mod *mod, const char *domain)
{
	char d[DOMAIN_MAX + 1];

	if (domain_normalize(domain, d, sizeof(d)) < 0)
		return 0;
	return store_domain_exists(mod->ctx->store, d) == 1;
}

struct host_expand {
	struct store *store;
	void (*target)(void *data, const char *address, int local);
	void *data;
	char seen[EXPAND_TARGETS_MAX][ADDRESS_MAX + 1];
	size_t seen_count;
	int count;
	int error;
	int depth;
	struct postino_mod *mod;
};

static int host_expand_one(struct host_expand *x, const char *address);
static int host_expand_detail(struct host_expand *x, const char *address);

struct host_alias_batch {
	char targets[EXPAND_TARGETS_MAX][ADDRESS_MAX + 1];
	size_t count;
};

static int host_collect_alias(void *data, const char *source,
			      const char *target)
{
	struct host_alias_batch *b = data;

	if (b->count < EXPAND_TARGETS_MAX)
		snprintf(b->targets[b->count++], ADDRESS_MAX + 1, "%s", target);
	return 0;
}

static int host_expand_seen(struct host_expand *x, const char *address)
{
	for (size_t i = 0; i < x->seen_count; i++) {
		if (strcmp(x->seen[i], address) == 0)
			return 1;
	}
	if (x->seen_count < EXPAND_TARGETS_MAX)
		snprintf(x->seen[x->seen_count++], ADDRESS_MAX + 1, "%s",
			 address);
	return 0;
}

/* Aliases win over an account of the same name (as in Postfix's virtual
 * alias maps); an alias may list its own address to keep a copy. */
static int host_expand_one(struct host_expand *x, const char *address)
{
	struct store_account account;

	if (host_expand_seen(x, address))
		return 0; /* alias loops end here */
	if (!host_domain_is_local(x->mod, address_domain(address))) {
		x->target(x->data, address, 0);
		x->count++;
		return 0;
	}
	/* Not zeroed: only targets[0..count) are ever read, and this runs
	 * for every RCPT. */
	struct host_alias_batch *batch = malloc(sizeof(*batch));
	if (batch == NULL)
		return -ENOMEM;
	batch->count = 0;
	int ret = store_alias_list(x->store, address, host_collect_alias, batch);
	if (ret >= 0 && batch->count > 0 && x->depth >= EXPAND_DEPTH_MAX) {
		log_write(&x->mod->ctx->log, LOG_LEVEL_WARNING, "core", NULL,
			  "alias %s nests deeper than %d levels; ignored",
			  address, EXPAND_DEPTH_MAX);
	} else if (ret >= 0 && batch->count > 0) {
		x->depth++;
		for (size_t i = 0; i < batch->count && ret >= 0; i++) {
			if (strcmp(batch->targets[i], address) == 0 &&
			    store_account_get(x->store, address, &account) == 0) {
				x->target(x->data, address, 1);
				x->count++;
				continue;
			}
			ret = host_expand_one(x, batch->targets[i]);
		}
		x->depth--;
	} else if (ret >= 0) {
		ret = store_account_get(x->store, address, &account);
		if (ret == 0) {
			x->target(x->data, account.address, 1);
			x->count++;
		} else if (ret == -ENOENT) {
			ret = host_expand_detail(x, address);
		}
	}
	free(batch);
	return ret;
}

/* user+detail@domain when nobody has that address: user@domain
 * ([server] recipient_delimiter, as Postfix and Dovecot do it). */
static int host_expand_detail(struct host_expand *x, const char *address)
{
	const char *seps = x->mod->set->config->server.recipient_delimiter;
	const char *at = strrchr(address, '@');
	char user[ADDRESS_MAX + 1];

	if (seps == NULL || *seps == '\0' || at == NULL)
		return 0;
	size_t cut = strcspn(address, seps);
	if (cut == 0 || address + cut >= at)
		return 0;
	snprintf(user, sizeof(user), "%.*s%s", (int)cut, address, at);
	return host_expand_one(x, user);
}

/* An SRS address of ours ([srs] domain) stands for the sender it
 * rewrote: a bounce to it goes back there. A forged or expired one is
 * nobody (550 at RCPT). -ENOENT: not an SRS address of ours. */
static int host_expand_srs(struct host_expand *x, const char *address)
{
	const struct config_srs *cfg = &x->mod->set->config->srs;
	const char *at = strrchr(address, '@');
	char original[SRS_ADDRESS_MAX + 1];

	if (!cfg->enabled || at == NULL || strcasecmp(at + 1, cfg->domain) ||
	    !srs_is_srs(address))
		return -ENOENT;
	struct srs srs = {
		.secrets = (const char *const *)cfg->secrets,
		.n_secrets = cfg->secret_count,
		.max_age = cfg->max_age,
	};
	int ret = srs_reverse(&srs, address, core_now_ms() / 1000, original,
			      sizeof(original));
	if (ret < 0) {
		log_write(&x->mod->ctx->log, LOG_LEVEL_INFO, "core", NULL,
			  "SRS address %s refused: %s", address,
			  ret == -EPERM ? "its hash does not verify" :
			  ret == -ETIMEDOUT ? "too old" : "malformed");
		return 0;
	}
	/* SRS0 gives the original sender, SRS1 the first forwarder's SRS0
	 * address: both somewhere else (we never rewrite our own). */
	if (host_domain_is_local(x->mod, address_domain(original)))
		return host_expand_one(x, original);
	x->target(x->data, original, 0);
	x->count++;
	return 0;
}

int host_address_expand(struct postino_mod *mod, const char *address,
			void (*target)(void *data, const char *address,
				       int local),
			void *data)
{
	char a[ADDRESS_MAX + 1];

	/* Not zeroed either: seen[] is read only up to seen_count. */
	struct host_expand *x = malloc(sizeof(*x));
	if (x == NULL)
		return -ENOMEM;
	x->seen_count = 0;
	x->count = 0;
	x->error = 0;
	x->depth = 0;
	x->store = mod->ctx->store;
	x->target = target;
	x->data = data;
	x->mod = mod;
	/* SRS local parts may pass the 64 octets address_normalize allows. */
	int ret = address != NULL ? host_expand_srs(x, address) : 0;
	if (ret == -ENOENT) {
		ret = 0;
		/* An address outside our domains is nobody's here. */
		if (address_normalize(address, a, sizeof(a)) == 0 &&
		    host_domain_is_local(mod, address_domain(a)))
			ret = host_expand_one(x, a);
	}
	int count = ret < 0 ? ret : x->count;
	free(x);
	return count;
}

struct host_owner {
	const char *account;
	int owned;
};

static void host_owner_target(void *data, const char *address, int local)
{
	struct host_owner *o = data;

	if (local && strcmp(address, o->account) == 0)
		o->owned = 1;
}

int host_address_owned_by(struct postino_mod *mod, const char *address,
			  const char *account)
{
	char a[ADDRESS_MAX + 1], acc[ADDRESS_MAX + 1];

	if (address_normalize(address, a, sizeof(a)) < 0 ||
	    address_normalize(account, acc, sizeof(acc)) < 0)
		return 0;
	if (strcmp(a, acc) == 0)
		return 1;
	struct host_owner o = { .account = acc };
	if (host_address_expand(mod, a, host_owner_target, &o) < 0)
		return 0;
	return o.owned;
}

const char *host_address_separators(struct postino_mod *mod)
{
	const char *seps = mod->set->config->server.recipient_delimiter;

	return seps != NULL ? seps : "";
}

const char *host_hostname(struct postino_mod *mod)
{
	return mod->set->config->server.hostname;
}
