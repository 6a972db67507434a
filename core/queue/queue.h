/* The outbound queue worker: delivers the store's queue table to remote
 * hosts (MX, or [queue] relayhost), retries with back-off, bounces what
 * fails for good. Runs on worker 0's loop thread: one queue per node.
 * See core/queue/README. */
#ifndef POSTINO_QUEUE_H
#define POSTINO_QUEUE_H

#include "module/context.h"

struct queue;

/* Starts polling ctx->store for due entries (at once, then every
 * [queue] poll_interval). ctx must outlive the queue; ctx->store must stay
 * open until queue_stop. Returns 0 or a negative errno (bad [queue]
 * settings, logged). */
int queue_start(struct core_ctx *ctx, struct queue **queue_r);
/* Polls now (something was just queued, or an operator flushed). Safe
 * from any worker's thread until queue_stop. */
void queue_kick(struct queue *queue);
/* After SIGHUP switched ctx->config: trust anchors (the system store,
 * relayhost_ca_file) are read again at their next use, so a renewed CA
 * file takes effect; deliveries in flight keep the ones they started
 * with. Then polls, with the new settings. */
void queue_reload(struct queue *queue);
/* Stops polling and cancels deliveries in flight (they are retried after
 * the next start: a recipient is marked delivered only after the remote's
 * reply to the final dot). Call before store_close; the struct is freed
 * once its handles are closed and its store jobs are done, which
 * store_close and the next loop run complete. Sets *queue to NULL. */
void queue_stop(struct queue **queue);

#endif
