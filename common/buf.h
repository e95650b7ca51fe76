/* buf.h — a growable byte buffer (writer) and a bounds-checked reader.
 *
 * buf_t owns its bytes; buf_free releases them. All multi-byte integers are
 * big-endian, as on every wire Gregor speaks.
 *
 * rd_t reads from memory it does not own. Every read checks the remaining
 * length; on a short read the reader enters the error state (rd->err = 1),
 * returns zeros, and all later reads fail too, so decoders check once at the end. */
#ifndef GREGOR_COMMON_BUF_H
#define GREGOR_COMMON_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct buf_s {
    uint8_t *data;
    size_t len;
    size_t cap;
} buf_t;

#define BUF_INIT {NULL, 0, 0}

void buf_init(buf_t *b);
void buf_free(buf_t *b);
void buf_reset(buf_t *b);              /* len = 0, keeps memory */
void buf_reserve(buf_t *b, size_t extra);
void buf_put(buf_t *b, const void *p, size_t n);
void buf_put_u8(buf_t *b, uint8_t v);
void buf_put_be16(buf_t *b, uint16_t v);
void buf_put_be32(buf_t *b, uint32_t v);
void buf_put_be64(buf_t *b, uint64_t v);
void buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_puts(buf_t *b, const char *s);
/* Overwrite 4 bytes at off (for length prefixes written after the body). */
void buf_set_be32(buf_t *b, size_t off, uint32_t v);
/* Makes data NUL-terminated (not counted in len) and returns it. */
char *buf_cstr(buf_t *b);
/* Hands the bytes to the caller, who frees them; b is left empty. */
uint8_t *buf_steal(buf_t *b, size_t *len);

static inline uint32_t be32_get(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t be64_get(const uint8_t *p)
{
    return (uint64_t)be32_get(p) << 32 | be32_get(p + 4);
}
static inline void be32_put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void be64_put(uint8_t *p, uint64_t v)
{
    be32_put(p, (uint32_t)(v >> 32));
    be32_put(p + 4, (uint32_t)v);
}

typedef struct rd_s {
    const uint8_t *p;
    size_t len;
    size_t pos;
    int err;
} rd_t;

static inline void rd_init(rd_t *r, const void *p, size_t len)
{
    r->p = (const uint8_t *)p;
    r->len = len;
    r->pos = 0;
    r->err = 0;
}
static inline size_t rd_left(const rd_t *r) { return r->err ? 0 : r->len - r->pos; }
/* True if n more bytes can be read; otherwise sets the error state. */
bool rd_need(rd_t *r, size_t n);
uint8_t rd_u8(rd_t *r);
uint16_t rd_be16(rd_t *r);
uint32_t rd_be32(rd_t *r);
uint64_t rd_be64(rd_t *r);
/* Returns a pointer to the next n bytes (not copied), or NULL on short read. */
const uint8_t *rd_bytes(rd_t *r, size_t n);
void rd_skip(rd_t *r, size_t n);

#endif
