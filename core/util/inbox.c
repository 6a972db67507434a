/* Calls posted from other threads; see inbox.h. */
#include <errno.h>
#include <stdlib.h>

#include "util/inbox.h"

struct inbox_call {
	struct inbox_call *next;
	inbox_fn *fn;
	void *data;
};

struct inbox {
	uv_async_t async;
	uv_mutex_t lock;
	/* Guarded by lock: posted, not yet run, oldest first. */
	struct inbox_call *head, **tail;
	int closed;
};

/* Runs what was posted up to now; calls posted meanwhile wait for the
 * next wake-up, which their post has sent. */
static void inbox_run(struct inbox *inbox)
{
	uv_mutex_lock(&inbox->lock);
	struct inbox_call *call = inbox->head;
	inbox->head = NULL;
	inbox->tail = &inbox->head;
	uv_mutex_unlock(&inbox->lock);
	while (call != NULL) {
		struct inbox_call *next = call->next;
		call->fn(call->data);
		free(call);
		call = next;
	}
}

static void inbox_wake(uv_async_t *async)
{
	inbox_run(async->data);
}

int inbox_new(uv_loop_t *loop, struct inbox **inbox_r)
{
	struct inbox *inbox = calloc(1, sizeof(*inbox));

	if (inbox == NULL)
		return -ENOMEM;
	int ret = uv_mutex_init(&inbox->lock);
	if (ret < 0) {
		free(inbox);
		return ret;
	}
	ret = uv_async_init(loop, &inbox->async, inbox_wake);
	if (ret < 0) {
		uv_mutex_destroy(&inbox->lock);
		free(inbox);
		return ret;
	}
	inbox->async.data = inbox;
	inbox->tail = &inbox->head;
	*inbox_r = inbox;
	return 0;
}

int inbox_post(struct inbox *inbox, inbox_fn *fn, void *data)
{
	struct inbox_call *call = malloc(sizeof(*call));

	if (call == NULL)
		return -ENOMEM;
	call->next = NULL;
	call->fn = fn;
	call->data = data;
	uv_mutex_lock(&inbox->lock);
	if (inbox->closed) {
		uv_mutex_unlock(&inbox->lock);
		free(call);
		return -ESHUTDOWN;
	}
	*inbox->tail = call;
	inbox->tail = &call->next;
	/* Under the lock: inbox_close cannot close the handle between the
	 * check above and this send. */
	uv_async_send(&inbox->async);
	uv_mutex_unlock(&inbox->lock);
	return 0;
}

static void inbox_closed(uv_handle_t *handle)
{
	(void)handle;
}

void inbox_close(struct inbox *inbox)
{
	if (inbox == NULL)
		return;
	uv_mutex_lock(&inbox->lock);
	int was_closed = inbox->closed;
	inbox->closed = 1;
	uv_mutex_unlock(&inbox->lock);
	if (was_closed)
		return;
	inbox_run(inbox);
	uv_close((uv_handle_t *)&inbox->async, inbox_closed);
}

void inbox_free(struct inbox **inboxp)
{
	struct inbox *inbox = *inboxp;

	*inboxp = NULL;
	if (inbox == NULL)
		return;
	uv_mutex_destroy(&inbox->lock);
	free(inbox);
}
