/* planner_map.h -- a string-keyed hash map for the planner's registries.
 *
 * Open addressing with linear probing; keys are copied, values are the
 * caller's. No deletion: a retired entry keeps its slot with the caller's
 * value cleared, which keeps the probe sequences intact and costs nothing
 * at the planner's sizes (one slot per factor, strategy, dataset, plan). */
#ifndef BTPIPE_PLANNER_MAP_H
#define BTPIPE_PLANNER_MAP_H

#include <stddef.h>

struct pmap {
    char **keys; /* NULL = empty slot */
    void **vals;
    size_t cap; /* power of two, or 0 before the first put */
    size_t n;   /* occupied slots */
};

void pmap_free(struct pmap *m); /* frees keys, not values */
void *pmap_get(const struct pmap *m, const char *key);
/* Inserts or replaces; returns the previous value (NULL if none). */
void *pmap_put(struct pmap *m, const char *key, void *val);
/* Sorted copy of the keys whose value is non-NULL (free the array, not the keys). */
const char **pmap_sorted_keys(const struct pmap *m, size_t *n);

#endif
