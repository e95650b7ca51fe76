#include "common/varint.h"

void varint_put_u64(buf_t *b, uint64_t v)
{
    uint8_t tmp[10];
    int n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    buf_put(b, tmp, (size_t)n);
}

void varint_put_u32(buf_t *b, uint32_t v)
{
    varint_put_u64(b, v);
}

void varint_put_s64(buf_t *b, int64_t v)
{
    varint_put_u64(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void varint_put_s32(buf_t *b, int32_t v)
{
    varint_put_u64(b, (uint32_t)(((uint32_t)v << 1) ^ (uint32_t)(v >> 31)));
}

static uint64_t get(rd_t *r, int maxbytes)
{
    uint64_t v = 0;
    for (int i = 0; i < maxbytes; i++) {
        uint8_t c = rd_u8(r);
        if (r->err)
            return 0;
        v |= (uint64_t)(c & 0x7f) << (7 * i);
        if (!(c & 0x80))
            return v;
    }
    r->err = 1;   /* too long */
    return 0;
}

uint64_t varint_get_u64(rd_t *r)
{
    return get(r, 10);
}

uint32_t varint_get_u32(rd_t *r)
{
    uint64_t v = get(r, 5);
    if (v > 0xffffffffu) {
        r->err = 1;
        return 0;
    }
    return (uint32_t)v;
}

int64_t varint_get_s64(rd_t *r)
{
    uint64_t u = get(r, 10);
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

int32_t varint_get_s32(rd_t *r)
{
    uint32_t u = varint_get_u32(r);
    return (int32_t)(u >> 1) ^ -(int32_t)(u & 1);
}

int varint_size_u64(uint64_t v)
{
    int n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

int varint_size_s64(int64_t v)
{
    return varint_size_u64(((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}
