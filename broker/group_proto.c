/* group_proto.c — the consumer embedded protocol (see group_proto.h). */
#include "broker/group_proto.h"

#include <string.h>

static kp_str_t get_str(rd_t *r)
{
    kp_str_t s = {NULL, -1};
    int16_t n = (int16_t)rd_be16(r);
    if (r->err || n < 0) {
        r->err = 1;
        return s;
    }
    s.p = rd_bytes(r, (size_t)n);
    s.len = r->err ? -1 : n;
    return s;
}

static kp_bytes_t get_nbytes(rd_t *r)
{
    kp_bytes_t b = {NULL, -1};
    if (rd_left(r) == 0)
        return b;   /* absent: null */
    int32_t n = (int32_t)rd_be32(r);
    if (r->err || n < 0) {
        if (n != -1)
            r->err = 1;
        return b;
    }
    b.p = rd_bytes(r, (size_t)n);
    b.len = r->err ? -1 : n;
    return b;
}

/* An array count that cannot promise more elements than bytes left (min element size). */
static int32_t get_count(rd_t *r, size_t min_elem)
{
    int32_t n = (int32_t)rd_be32(r);
    if (r->err)
        return 0;
    if (n < 0 || (size_t)n > rd_left(r) / min_elem) {
        r->err = 1;
        return 0;
    }
    return n;
}

static gproto_topic_parts_t *get_topic_parts(rd_t *r, arena_t *a, int32_t *count)
{
    int32_t n = get_count(r, 6);
    *count = n;
    gproto_topic_parts_t *v = n ? arena_alloc(a, (size_t)n * sizeof *v) : NULL;
    for (int32_t i = 0; i < n && !r->err; i++) {
        v[i].topic = get_str(r);
        int32_t m = get_count(r, 4);
        v[i].count = m;
        v[i].partitions = m ? arena_alloc(a, (size_t)m * sizeof(int32_t)) : NULL;
        for (int32_t j = 0; j < m; j++)
            v[i].partitions[j] = (int32_t)rd_be32(r);
    }
    if (r->err)
        *count = 0;
    return v;
}

int gproto_subscription_decode(const uint8_t *p, size_t len, arena_t *a, gproto_subscription_t *s)
{
    rd_t r;
    rd_init(&r, p, len);
    memset(s, 0, sizeof *s);
    s->user_data.len = -1;
    s->version = (int16_t)rd_be16(&r);
    if (r.err || s->version < 0)
        return -1;
    int32_t n = get_count(&r, 2);
    s->topics = n ? arena_alloc(a, (size_t)n * sizeof *s->topics) : NULL;
    s->topic_count = n;
    for (int32_t i = 0; i < n && !r.err; i++)
        s->topics[i] = get_str(&r);
    s->user_data = get_nbytes(&r);
    if (s->version >= 1 && rd_left(&r) > 0)
        s->owned = get_topic_parts(&r, a, &s->owned_count);
    return r.err ? -1 : 0;
}

int gproto_assignment_decode(const uint8_t *p, size_t len, arena_t *a, gproto_assignment_t *as)
{
    rd_t r;
    rd_init(&r, p, len);
    memset(as, 0, sizeof *as);
    as->user_data.len = -1;
    as->version = (int16_t)rd_be16(&r);
    if (r.err || as->version < 0)
        return -1;
    as->assigned = get_topic_parts(&r, a, &as->count);
    as->user_data = get_nbytes(&r);
    return r.err ? -1 : 0;
}

static void put_str(buf_t *b, kp_str_t s)
{
    int32_t n = s.len < 0 ? 0 : s.len;
    buf_put_be16(b, (uint16_t)n);
    buf_put(b, s.p, (size_t)n);
}

static void put_nbytes(buf_t *b, kp_bytes_t s)
{
    buf_put_be32(b, (uint32_t)s.len);
    if (s.len > 0)
        buf_put(b, s.p, (size_t)s.len);
}

static void put_topic_parts(buf_t *b, const gproto_topic_parts_t *v, int32_t n)
{
    buf_put_be32(b, (uint32_t)n);
    for (int32_t i = 0; i < n; i++) {
        put_str(b, v[i].topic);
        buf_put_be32(b, (uint32_t)v[i].count);
        for (int32_t j = 0; j < v[i].count; j++)
            buf_put_be32(b, (uint32_t)v[i].partitions[j]);
    }
}

void gproto_subscription_write(buf_t *out, const gproto_subscription_t *s)
{
    buf_put_be16(out, (uint16_t)s->version);
    buf_put_be32(out, (uint32_t)s->topic_count);
    for (int32_t i = 0; i < s->topic_count; i++)
        put_str(out, s->topics[i]);
    put_nbytes(out, s->user_data);
    if (s->version >= 1)
        put_topic_parts(out, s->owned, s->owned_count);
}

void gproto_assignment_write(buf_t *out, const gproto_assignment_t *as)
{
    buf_put_be16(out, (uint16_t)as->version);
    put_topic_parts(out, as->assigned, as->count);
    put_nbytes(out, as->user_data);
}
