#include "common/hmap.h"

#include <stdlib.h>

#include "common/alloc.h"

struct hmap_entry_s {
    hmap_entry_t *next;
    uint64_t hash;
    void *val;
    size_t klen;
    unsigned char key[];
};

/* FNV-1a 64, then a final mix so that the low bits are usable as a bucket index. */
uint64_t hash_bytes(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

void hmap_init(hmap_t *m)
{
    m->buckets = NULL;
    m->nbuckets = 0;
    m->count = 0;
}

void hmap_fini(hmap_t *m, void (*free_val)(void *))
{
    for (size_t i = 0; i < m->nbuckets; i++) {
        hmap_entry_t *e = m->buckets[i];
        while (e) {
            hmap_entry_t *n = e->next;
            if (free_val)
                free_val(e->val);
            free(e);
            e = n;
        }
    }
    free(m->buckets);
    hmap_init(m);
}

static hmap_entry_t **find(const hmap_t *m, const void *key, size_t klen, uint64_t h)
{
    if (!m->nbuckets)
        return NULL;
    hmap_entry_t **pp = &m->buckets[h & (m->nbuckets - 1)];
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->hash == h && (*pp)->klen == klen && memcmp((*pp)->key, key, klen) == 0)
            return pp;
    return pp;
}

void *hmap_get(const hmap_t *m, const void *key, size_t klen)
{
    hmap_entry_t **pp = find(m, key, klen, hash_bytes(key, klen));
    return pp && *pp ? (*pp)->val : NULL;
}

static void grow(hmap_t *m)
{
    size_t nb = m->nbuckets ? m->nbuckets * 2 : 16;
    hmap_entry_t **b = xcalloc(nb, sizeof *b);
    for (size_t i = 0; i < m->nbuckets; i++) {
        hmap_entry_t *e = m->buckets[i];
        while (e) {
            hmap_entry_t *n = e->next;
            e->next = b[e->hash & (nb - 1)];
            b[e->hash & (nb - 1)] = e;
            e = n;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = nb;
}

/* Inserts or replaces; returns the entry and, through *old, the previous value. */
static hmap_entry_t *put(hmap_t *m, const void *key, size_t klen, void *val, void **old)
{
    uint64_t h = hash_bytes(key, klen);
    hmap_entry_t **pp = find(m, key, klen, h);
    *old = NULL;
    if (pp && *pp) {
        *old = (*pp)->val;
        (*pp)->val = val;
        return *pp;
    }
    if (m->count + 1 > m->nbuckets) {
        grow(m);
        pp = find(m, key, klen, h);
    }
    hmap_entry_t *e = xmalloc(sizeof *e + klen + 1);
    e->next = NULL;
    e->hash = h;
    e->val = val;
    e->klen = klen;
    memcpy(e->key, key, klen);
    e->key[klen] = '\0';
    *pp = e;
    m->count++;
    return e;
}

void *hmap_put(hmap_t *m, const void *key, size_t klen, void *val)
{
    void *old;
    put(m, key, klen, val, &old);
    return old;
}

const char *hmap_put_keyref(hmap_t *m, const void *key, size_t klen, void *val)
{
    void *old;
    return (const char *)put(m, key, klen, val, &old)->key;
}

void *hmap_del(hmap_t *m, const void *key, size_t klen)
{
    hmap_entry_t **pp = find(m, key, klen, hash_bytes(key, klen));
    if (!pp || !*pp)
        return NULL;
    hmap_entry_t *e = *pp;
    *pp = e->next;
    void *v = e->val;
    free(e);
    m->count--;
    return v;
}

void hmap_iter_init(const hmap_t *m, hmap_iter_t *it)
{
    it->bucket = 0;
    it->next = m->nbuckets ? m->buckets[0] : NULL;
}

bool hmap_iter_next(const hmap_t *m, hmap_iter_t *it, const void **key, size_t *klen, void **val)
{
    while (!it->next) {
        if (++it->bucket >= m->nbuckets)
            return false;
        it->next = m->buckets[it->bucket];
    }
    hmap_entry_t *e = it->next;
    it->next = e->next;
    if (key)
        *key = e->key;
    if (klen)
        *klen = e->klen;
    if (val)
        *val = e->val;
    return true;
}
