/* The inside of postino_msg, for core/delivery and the host's delivery
 * (core/host/host_delivery.c); modules see an opaque handle. */
#ifndef POSTINO_MSG_INTERNAL_H
#define POSTINO_MSG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "module/module.h"

struct postino_msg {
	struct core_ctx *ctx;
	struct module_set *set; /* the module's code stays while we live */
	struct postino_mod *mod; /* the maker, valid while set is held */
	postino_conn *conn;     /* referenced; NULL for server-made mail */
	char *mem;
	size_t len;
	size_t cap;
	int fd;                 /* spool file once over MSG_MEMORY_MAX */
	uint64_t size;
	int failed;
	/* The module's reference plus one per hook run that can see the
	 * message: a PENDING policy may outlive the module's session. */
	unsigned refs;
	char *headers;          /* added by policies, written on delivery */
	size_t headers_len;
	char *module;           /* the maker's state namespace (copied: a
				 * reload may unload it first) */
	/* set->config: the configuration the message's jobs read on the
	 * writer thread (quota warnings), kept while the set lives. */
};

/* The whole message once, with "Return-Path: <mail_from>" in front
 * (mail_from NULL: none), for the store writer: malloc'd, *len_r octets
 * of which the first *prefix_r are the Return-Path line. NULL when the
 * spool cannot be read or memory runs out. */
char *msg_load(postino_msg *msg, const char *mail_from, size_t *prefix_r,
	       size_t *len_r);

#endif
