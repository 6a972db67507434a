/* The proto service's entries beyond plain connection calls: hook runs
 * for a session, password checks and the SASL exchange (plugin.h, struct
 * postino_host_proto). */
#ifndef POSTINO_HOST_PROTO_H
#define POSTINO_HOST_PROTO_H

#include "module/module.h"

int host_hooks_run(postino_conn *conn, const struct postino_hook_event *ev,
		   void (*done)(void *data, enum postino_verdict verdict,
				int code, const char *text),
		   void *data);
int host_auth_verify(postino_conn *conn, const char *account,
		     const char *password,
		     void (*done)(void *data, enum postino_auth_result result,
				  const char *account),
		     void *data);

/* host_sasl.c */
const char *host_sasl_mechanisms(postino_conn *conn);
int host_sasl_start(postino_conn *conn, const char *mechanism,
		    const char *initial, const struct postino_sasl_ops *ops,
		    void *data);
int host_sasl_input(postino_conn *conn, const char *line, size_t len);

#endif
