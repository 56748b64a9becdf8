/* planner_map.c -- open-addressing string map (see planner_map.h). */
#include "planner_map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* FNV-1a: short keys, no adversary (keys come from validated ids). */
static uint64_t key_hash(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static size_t slot_of(char **keys, size_t cap, const char *key) {
    size_t i = (size_t)key_hash(key) & (cap - 1);
    while (keys[i] && strcmp(keys[i], key) != 0)
        i = (i + 1) & (cap - 1);
    return i;
}

/* Doubles the table so that it stays at most half full. */
static void grow(struct pmap *m) {
    size_t ncap = m->cap ? m->cap * 2 : 16;
    char **nk = calloc(ncap, sizeof *nk);
    void **nv = calloc(ncap, sizeof *nv);
    if (!nk || !nv) abort();
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i]) continue;
        size_t j = slot_of(nk, ncap, m->keys[i]);
        nk[j] = m->keys[i];
        nv[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = nk;
    m->vals = nv;
    m->cap = ncap;
}

void pmap_free(struct pmap *m) {
    for (size_t i = 0; i < m->cap; i++)
        free(m->keys[i]);
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

void *pmap_get(const struct pmap *m, const char *key) {
    if (!m->cap) return NULL;
    size_t i = slot_of(m->keys, m->cap, key);
    return m->keys[i] ? m->vals[i] : NULL;
}

void *pmap_put(struct pmap *m, const char *key, void *val) {
    if ((m->n + 1) * 2 > m->cap) grow(m);
    size_t i = slot_of(m->keys, m->cap, key);
    if (m->keys[i]) {
        void *old = m->vals[i];
        m->vals[i] = val;
        return old;
    }
    m->keys[i] = strdup(key);
    if (!m->keys[i]) abort();
    m->vals[i] = val;
    m->n++;
    return NULL;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **pmap_sorted_keys(const struct pmap *m, size_t *n) {
    const char **out = malloc((m->n ? m->n : 1) * sizeof *out);
    if (!out) abort();
    size_t k = 0;
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i] && m->vals[i]) out[k++] = m->keys[i];
    qsort(out, k, sizeof *out, cmp_str);
    *n = k;
    return out;
}
