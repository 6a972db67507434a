/* The connection entries of the host table (see plugin.h for their
 * contracts). */
#ifndef POSTINO_CONN_API_H
#define POSTINO_CONN_API_H

#include "postino/plugin.h"

int conn_write(postino_conn *conn, const void *buf, size_t len);
int conn_printf(postino_conn *conn, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int conn_starttls(postino_conn *conn);
void conn_close(postino_conn *conn, const char *reason);
int conn_read_bytes(postino_conn *conn, uint64_t n);
void conn_read_lines(postino_conn *conn, size_t unused);
void conn_pause(postino_conn *conn);
void conn_resume(postino_conn *conn);
void conn_set_data(postino_conn *conn, void *data);
void *conn_get_data(postino_conn *conn);
const struct postino_conn_info *conn_info(postino_conn *conn);
void conn_set_account(postino_conn *conn, const char *account);

/* Host-internal: an asynchronous operation for conn keeps its memory
 * alive; conn_unref returns 1 when the module may still be called back
 * (the connection is open), 0 when it closed meanwhile. */
void conn_ref(postino_conn *conn);
int conn_unref(postino_conn *conn);
/* One object of the host's own per connection (the SASL exchange), freed
 * with free_fn when the connection is torn down, after on_close. Setting
 * another frees the previous one. */
void conn_set_host_data(postino_conn *conn, void *data,
			void (*free_fn)(void *data));
void *conn_host_data(postino_conn *conn);
/* The module set and protocol data conn belongs to. */
struct module_set *conn_module_set(postino_conn *conn);
struct core_ctx *conn_ctx(postino_conn *conn);
/* The protocol its listener serves ("smtp", "submission", "imap", ...). */
const char *conn_protocol(postino_conn *conn);

#endif
