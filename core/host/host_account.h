/* Host table entries for accounts (see plugin.h "accounts"). */
#ifndef POSTINO_HOST_ACCOUNT_H
#define POSTINO_HOST_ACCOUNT_H

#include "module/module.h"

int host_account_get(struct postino_mod *mod, const char *address,
		     struct postino_account *account_r);
int host_account_list(struct postino_mod *mod, const char *domain,
		      int (*cb)(void *data, const char *address), void *data);
int host_password_hash(struct postino_mod *mod, const char *password,
		       void (*done)(void *data, int status, const char *hash),
		       void *data);
int host_password_verify(struct postino_mod *mod, const char *password,
			 const char *hash, void (*done)(void *data, int match),
			 void *data);
int host_password_in_history(struct postino_mod *mod, const char *account,
			     const char *password, unsigned last,
			     void (*done)(void *data, int status), void *data);
int host_password_set_hash(struct postino_mod *mod, const char *account,
			   const char *hash,
			   void (*done)(void *data, int status), void *data);
int host_account_set(struct postino_mod *mod, const char *account,
		     const char *secondary, const char *lang,
		     void (*done)(void *data, int status), void *data);
/* host_quota.c */
int host_account_quota(struct postino_mod *mod, const char *account,
		       struct postino_quota *quota_r);

#endif
