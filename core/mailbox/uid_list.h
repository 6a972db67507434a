/* A growable ascending list of UIDs (a view's unreported expunges, its
 * \Recent claims): usually empty, so it costs nothing until used. */
#ifndef POSTINO_UID_LIST_H
#define POSTINO_UID_LIST_H

#include <stdint.h>

struct uid_list;

/* Adds uid, which must be above every UID in the list. */
int uid_list_push(struct uid_list *l, uint32_t uid);
int uid_list_has(const struct uid_list *l, uint32_t uid);
/* Keeps only the UIDs for which keep(data, uid) is nonzero. */
void uid_list_filter(struct uid_list *l, int (*keep)(void *data, uint32_t uid),
		     void *data);
void uid_list_free(struct uid_list *l);

#endif
