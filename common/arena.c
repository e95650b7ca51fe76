#include "common/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

#define ARENA_CHUNK 8192
#define ALIGN 16

struct arena_chunk_s {
    arena_chunk_t *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
};

void arena_init(arena_t *a)
{
    a->chunks = NULL;
    a->used_total = 0;
}

void *arena_alloc_raw(arena_t *a, size_t n)
{
    n = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (n == 0)
        n = ALIGN;
    arena_chunk_t *c = a->chunks;
    if (!c || c->size - c->used < n) {
        size_t size = n > ARENA_CHUNK / 2 ? n : ARENA_CHUNK;
        arena_chunk_t *nc = xmalloc(sizeof *nc + size);
        nc->size = size;
        nc->used = 0;
        if (c && size != ARENA_CHUNK) {
            /* a big block: keep filling the current chunk afterwards */
            nc->next = c->next;
            c->next = nc;
        } else {
            nc->next = c;
            a->chunks = nc;
        }
        c = nc;
    }
    void *p = c->data + c->used;
    c->used += n;
    a->used_total += n;
    return p;
}

void *arena_alloc(arena_t *a, size_t n)
{
    void *p = arena_alloc_raw(a, n);
    memset(p, 0, n);
    return p;
}

void *arena_memdup(arena_t *a, const void *p, size_t n)
{
    void *d = arena_alloc_raw(a, n);
    if (n)
        memcpy(d, p, n);
    return d;
}

char *arena_strndup(arena_t *a, const char *s, size_t n)
{
    char *d = arena_alloc_raw(a, n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

void arena_reset(arena_t *a)
{
    arena_chunk_t *c = a->chunks;
    if (!c)
        return;
    /* keep the last (oldest) standard chunk */
    arena_chunk_t *keep = NULL;
    while (c) {
        arena_chunk_t *n = c->next;
        if (!keep && c->size == ARENA_CHUNK && !n) {
            keep = c;
        } else {
            free(c);
        }
        c = n;
    }
    if (keep) {
        keep->used = 0;
        keep->next = NULL;
    }
    a->chunks = keep;
    a->used_total = 0;
}

void arena_free(arena_t *a)
{
    arena_chunk_t *c = a->chunks;
    while (c) {
        arena_chunk_t *n = c->next;
        free(c);
        c = n;
    }
    arena_init(a);
}
