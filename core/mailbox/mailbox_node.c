/* The mailbox records every worker shares; see mailbox_node.h. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "mailbox/mailbox_node.h"

#define MAILBOX_NODE_BUCKETS 4096

struct mailbox_node {
	pthread_mutex_t lock;
	struct mailbox_shared *buckets[MAILBOX_NODE_BUCKETS];
};

int mailbox_node_new(struct mailbox_node **node_r)
{
	struct mailbox_node *node = calloc(1, sizeof(*node));

	if (node == NULL)
		return -ENOMEM;
	pthread_mutex_init(&node->lock, NULL);
	*node_r = node;
	return 0;
}

void mailbox_node_free(struct mailbox_node **nodep)
{
	struct mailbox_node *node = *nodep;

	*nodep = NULL;
	if (node == NULL)
		return;
	for (size_t i = 0; i < MAILBOX_NODE_BUCKETS; i++) {
		while (node->buckets[i] != NULL) {
			struct mailbox_shared *m = node->buckets[i];
			node->buckets[i] = m->next;
			free(m);
		}
	}
	pthread_mutex_destroy(&node->lock);
	free(node);
}

static struct mailbox_shared **bucket(struct mailbox_node *node, int64_t id)
{
	return &node->buckets[(uint64_t)id % MAILBOX_NODE_BUCKETS];
}

/* Caller holds the lock. */
static struct mailbox_shared *find_locked(struct mailbox_node *node,
					  int64_t id, uint32_t uidvalidity)
{
	struct mailbox_shared *m = *bucket(node, id);

	while (m != NULL && (m->id != id || m->uidvalidity != uidvalidity))
		m = m->next;
	return m;
}

struct mailbox_shared *mailbox_node_lookup(struct mailbox_node *node,
					   int64_t id, uint32_t uidvalidity)
{
	pthread_mutex_lock(&node->lock);
	struct mailbox_shared *m = find_locked(node, id, uidvalidity);
	pthread_mutex_unlock(&node->lock);
	return m;
}

struct mailbox_shared *mailbox_node_get(struct mailbox_node *node, int64_t id,
					uint32_t uidvalidity,
					uint32_t recent_uid)
{
	pthread_mutex_lock(&node->lock);
	struct mailbox_shared *m = find_locked(node, id, uidvalidity);
	if (m == NULL && (m = calloc(1, sizeof(*m))) != NULL) {
		m->id = id;
		m->uidvalidity = uidvalidity;
		m->recent_uid = recent_uid;
		m->next = *bucket(node, id);
		*bucket(node, id) = m;
	}
	pthread_mutex_unlock(&node->lock);
	return m;
}

int mailbox_node_has_views(struct mailbox_node *node, int64_t id)
{
	int views = 0;

	pthread_mutex_lock(&node->lock);
	for (struct mailbox_shared *m = *bucket(node, id); m != NULL && !views;
	     m = m->next)
		views = m->id == id &&
			__atomic_load_n(&m->views, __ATOMIC_SEQ_CST) > 0;
	pthread_mutex_unlock(&node->lock);
	return views;
}

void mailbox_node_renamed(struct mailbox_node *node, struct mailbox_shared *m,
			  uint32_t uidvalidity)
{
	pthread_mutex_lock(&node->lock);
	m->uidvalidity = uidvalidity;
	pthread_mutex_unlock(&node->lock);
}

int mailbox_shared_lock(struct mailbox_shared *m)
{
	uint32_t free_ = 0;

	return __atomic_compare_exchange_n(&m->locked, &free_, 1, 0,
					   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

void mailbox_shared_unlock(struct mailbox_shared *m)
{
	__atomic_store_n(&m->locked, 0, __ATOMIC_RELEASE);
}

uint32_t mailbox_shared_recent(const struct mailbox_shared *m)
{
	return __atomic_load_n(&m->recent_uid, __ATOMIC_ACQUIRE);
}

uint32_t mailbox_shared_recent_take(struct mailbox_shared *m,
				    uint32_t uidnext)
{
	uint32_t old = __atomic_load_n(&m->recent_uid, __ATOMIC_ACQUIRE);

	while (old < uidnext &&
	       !__atomic_compare_exchange_n(&m->recent_uid, &old, uidnext, 0,
					    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		;
	return old;
}
