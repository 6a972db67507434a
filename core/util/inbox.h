/* An inbox: calls posted from any thread, run in the order they were
 * posted on the one loop thread that owns the inbox. It is how the
 * workers of one postinod reach each other (a mailbox changed, a socket
 * handed over, stop, park for a reload): a mutex-guarded list and one
 * uv_async_t, whose sends libuv coalesces. */
#ifndef POSTINO_INBOX_H
#define POSTINO_INBOX_H

#include <uv.h>

struct inbox;

typedef void inbox_fn(void *data);

/* Creates the inbox on loop (its handle keeps the loop alive until
 * inbox_close). Call on loop's thread, or before that thread runs. */
int inbox_new(uv_loop_t *loop, struct inbox **inbox_r);
/* Any thread: fn(data) will run on the inbox's loop thread. 0, or
 * -ESHUTDOWN once inbox_close ran and -ENOMEM: then fn is never called
 * and data is still the caller's. */
int inbox_post(struct inbox *inbox, inbox_fn *fn, void *data);
/* Loop thread: refuses further posts, runs those already posted (none is
 * lost), closes the handle. The struct stays until inbox_free. */
void inbox_close(struct inbox *inbox);
/* Frees a closed inbox once no thread can post to it any more and its
 * loop has run the close. Sets *inbox to NULL. */
void inbox_free(struct inbox **inbox);

#endif
