/* hmap.h — a hash map from byte-string keys to void* values.
 *
 * The map copies keys; it never owns values (hmap_free takes an optional
 * destructor for them). Iteration order is unspecified. Deleting the entry an
 * iterator stands on is allowed; inserting while iterating is not. */
#ifndef GREGOR_COMMON_HMAP_H
#define GREGOR_COMMON_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct hmap_entry_s hmap_entry_t;
typedef struct hmap_s {
    hmap_entry_t **buckets;
    size_t nbuckets;
    size_t count;
} hmap_t;

typedef struct hmap_iter_s {
    size_t bucket;
    hmap_entry_t *next;
} hmap_iter_t;

void hmap_init(hmap_t *m);
void hmap_fini(hmap_t *m, void (*free_val)(void *));
void *hmap_get(const hmap_t *m, const void *key, size_t klen);
/* Inserts or replaces; returns the previous value or NULL. */
void *hmap_put(hmap_t *m, const void *key, size_t klen, void *val);
/* Inserts or replaces, and returns the map's own copy of the key: NUL-terminated and
 * stable until the entry is removed, so a value can point at it instead of keeping a
 * second copy (the data tree stores each znode path once this way). */
const char *hmap_put_keyref(hmap_t *m, const void *key, size_t klen, void *val);
/* Removes; returns the removed value or NULL. */
void *hmap_del(hmap_t *m, const void *key, size_t klen);
static inline size_t hmap_count(const hmap_t *m) { return m->count; }

void hmap_iter_init(const hmap_t *m, hmap_iter_t *it);
bool hmap_iter_next(const hmap_t *m, hmap_iter_t *it, const void **key, size_t *klen, void **val);

static inline void *hmap_gets(const hmap_t *m, const char *k) { return hmap_get(m, k, strlen(k)); }
static inline void *hmap_puts(hmap_t *m, const char *k, void *v) { return hmap_put(m, k, strlen(k), v); }
static inline void *hmap_dels(hmap_t *m, const char *k) { return hmap_del(m, k, strlen(k)); }
static inline void *hmap_get64(const hmap_t *m, uint64_t k) { return hmap_get(m, &k, sizeof k); }
static inline void *hmap_put64(hmap_t *m, uint64_t k, void *v) { return hmap_put(m, &k, sizeof k, v); }
static inline void *hmap_del64(hmap_t *m, uint64_t k) { return hmap_del(m, &k, sizeof k); }

uint64_t hash_bytes(const void *p, size_t n);

#endif
