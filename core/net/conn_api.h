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
void conn_pause(postino_conn *conn);
void conn_resume(postino_conn *conn);
void conn_set_data(postino_conn *conn, void *data);
void *conn_get_data(postino_conn *conn);
const struct postino_conn_info *conn_info(postino_conn *conn);
void conn_set_account(postino_conn *conn, const char *account);

#endif
