#include "common/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

void buf_init(buf_t *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
}

void buf_free(buf_t *b)
{
    free(b->data);
    buf_init(b);
}

void buf_reset(buf_t *b)
{
    b->len = 0;
}

void buf_reserve(buf_t *b, size_t extra)
{
    if (b->cap - b->len >= extra + 1)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap - b->len < extra + 1)
        cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
}

void buf_put(buf_t *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
}

void buf_put_u8(buf_t *b, uint8_t v)
{
    buf_reserve(b, 1);
    b->data[b->len++] = v;
}

void buf_put_be16(buf_t *b, uint16_t v)
{
    uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    buf_put(b, x, 2);
}

void buf_put_be32(buf_t *b, uint32_t v)
{
    buf_reserve(b, 4);
    be32_put(b->data + b->len, v);
    b->len += 4;
}

void buf_put_be64(buf_t *b, uint64_t v)
{
    buf_reserve(b, 8);
    be64_put(b->data + b->len, v);
    b->len += 8;
}

void buf_set_be32(buf_t *b, size_t off, uint32_t v)
{
    be32_put(b->data + off, v);
}

void buf_printf(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n > 0) {
        buf_reserve(b, (size_t)n);
        vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}

void buf_puts(buf_t *b, const char *s)
{
    buf_put(b, s, strlen(s));
}

char *buf_cstr(buf_t *b)
{
    buf_reserve(b, 0);
    b->data[b->len] = '\0';
    return (char *)b->data;
}

uint8_t *buf_steal(buf_t *b, size_t *len)
{
    uint8_t *d = b->data;
    if (len)
        *len = b->len;
    buf_init(b);
    return d;
}

bool rd_need(rd_t *r, size_t n)
{
    if (r->err || r->len - r->pos < n) {
        r->err = 1;
        return false;
    }
    return true;
}

uint8_t rd_u8(rd_t *r)
{
    if (!rd_need(r, 1))
        return 0;
    return r->p[r->pos++];
}

uint16_t rd_be16(rd_t *r)
{
    if (!rd_need(r, 2))
        return 0;
    uint16_t v = (uint16_t)(r->p[r->pos] << 8 | r->p[r->pos + 1]);
    r->pos += 2;
    return v;
}

uint32_t rd_be32(rd_t *r)
{
    if (!rd_need(r, 4))
        return 0;
    uint32_t v = be32_get(r->p + r->pos);
    r->pos += 4;
    return v;
}

uint64_t rd_be64(rd_t *r)
{
    if (!rd_need(r, 8))
        return 0;
    uint64_t v = be64_get(r->p + r->pos);
    r->pos += 8;
    return v;
}

const uint8_t *rd_bytes(rd_t *r, size_t n)
{
    if (!rd_need(r, n))
        return NULL;
    const uint8_t *p = r->p + r->pos;
    r->pos += n;
    return p;
}

void rd_skip(rd_t *r, size_t n)
{
    if (rd_need(r, n))
        r->pos += n;
}
