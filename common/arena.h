/* arena.h — a region allocator for request-scoped memory.
 *
 * Everything decoded from one request (strings, arrays, nested structs) is
 * allocated from the request's arena and released in one arena_free after the
 * response is queued, so decoders never need per-field frees. Memory comes in
 * chunks; a large allocation gets a chunk of its own. */
#ifndef GREGOR_COMMON_ARENA_H
#define GREGOR_COMMON_ARENA_H

#include <stddef.h>

typedef struct arena_chunk_s arena_chunk_t;
typedef struct arena_s {
    arena_chunk_t *chunks;
    size_t used_total;
} arena_t;

#define ARENA_INIT {NULL, 0}

void arena_init(arena_t *a);
/* Zeroed memory aligned for any type; valid until arena_free/arena_reset. */
void *arena_alloc(arena_t *a, size_t n);
/* The same without zeroing: for memory the caller fills at once (a request frame read
 * from the socket, a copy). */
void *arena_alloc_raw(arena_t *a, size_t n);
void *arena_memdup(arena_t *a, const void *p, size_t n);
char *arena_strndup(arena_t *a, const char *s, size_t n);
/* Frees everything but keeps the first chunk for reuse. */
void arena_reset(arena_t *a);
void arena_free(arena_t *a);

#endif
