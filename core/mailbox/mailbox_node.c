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
					  int64_t id)
{
	struct mailbox_shared *m = *bucket(node, id);

	while (m != NULL && m->id != id)
		m = m->next;
	return m;
}

struct mailbox_shared *mailbox_node_find(struct mailbox_node *node,
					 int64_t id)
{
	pthread_mutex_lock(&node->lock);
	struct mailbox_shared *m = find_locked(node, id);
	pthread_mutex_unlock(&node->lock);
	return m;
}

struct mailbox_shared *mailbox_node_get(struct mailbox_node *node, int64_t id,
					uint32_t uidnext)
{
	pthread_mutex_lock(&node->lock);
	struct mailbox_shared *m = find_locked(node, id);
	if (m == NULL && (m = calloc(1, sizeof(*m))) != NULL) {
		m->id = id;
		m->recent_uid = uidnext;
		m->next = *bucket(node, id);
		*bucket(node, id) = m;
	}
	pthread_mutex_unlock(&node->lock);
	return m;
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

void mailbox_shared_recent_raise(struct mailbox_shared *m, uint32_t uid)
{
	uint32_t old = __atomic_load_n(&m->recent_uid, __ATOMIC_ACQUIRE);

	while (old < uid &&
	       !__atomic_compare_exchange_n(&m->recent_uid, &old, uid, 0,
					    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		;
}

int mailbox_shared_recent_claim(struct mailbox_shared *m, uint32_t uid)
{
	uint32_t old = __atomic_load_n(&m->recent_uid, __ATOMIC_ACQUIRE);

	while (old <= uid) {
		if (__atomic_compare_exchange_n(&m->recent_uid, &old, uid + 1,
						0, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			return 1;
	}
	return 0;
}
