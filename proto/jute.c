#include "proto/jute.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

int32_t jute_get_int(jute_rd_t *jr)
{
    return (int32_t)rd_be32(&jr->r);
}

int64_t jute_get_long(jute_rd_t *jr)
{
    return (int64_t)rd_be64(&jr->r);
}

bool jute_get_bool(jute_rd_t *jr)
{
    return rd_u8(&jr->r) != 0;
}

int jute_get_buffer(jute_rd_t *jr, jute_buf_t *out)
{
    out->data = NULL;
    out->len = -1;
    int32_t len = jute_get_int(jr);
    if (!jute_ok(jr) || len < -1) {
        jr->r.err = 1;
        return -1;
    }
    if (len == -1)
        return 0;
    const uint8_t *p = rd_bytes(&jr->r, (size_t)len);
    if (!p)
        return -1;
    out->data = xmemdup(p, (size_t)len);
    out->len = len;
    return 0;
}

int jute_get_ustring(jute_rd_t *jr, char **out)
{
    *out = NULL;
    int32_t len = jute_get_int(jr);
    if (!jute_ok(jr) || len < -1) {
        jr->r.err = 1;
        return -1;
    }
    if (len == -1)
        return 0;
    const uint8_t *p = rd_bytes(&jr->r, (size_t)len);
    if (!p)
        return -1;
    if (memchr(p, 0, (size_t)len))
        jr->saw_nul = true;
    *out = xstrndup((const char *)p, (size_t)len);
    return 0;
}

void jute_put_int(buf_t *b, int32_t v)
{
    buf_put_be32(b, (uint32_t)v);
}

void jute_put_long(buf_t *b, int64_t v)
{
    buf_put_be64(b, (uint64_t)v);
}

void jute_put_bool(buf_t *b, bool v)
{
    buf_put_u8(b, v ? 1 : 0);
}

void jute_put_buffer(buf_t *b, const void *p, int32_t len)
{
    if (len < 0 || (!p && len > 0)) {
        jute_put_int(b, -1);
        return;
    }
    jute_put_int(b, len);
    buf_put(b, p, (size_t)len);
}

void jute_put_ustring(buf_t *b, const char *s)
{
    if (!s) {
        jute_put_int(b, -1);
        return;
    }
    size_t n = strlen(s);
    jute_put_int(b, (int32_t)n);
    buf_put(b, s, n);
}

void jute_put_strvec(buf_t *b, const jute_strvec_t *v)
{
    jute_put_int(b, v->n);
    for (int32_t i = 0; i < v->n; i++)
        jute_put_ustring(b, v->v[i]);
}

void jute_strvec_push(jute_strvec_t *v, const char *s)
{
    if (v->n < 0)
        v->n = 0;
    /* grow in powers of two */
    if ((v->n & (v->n - 1)) == 0)
        v->v = xrealloc(v->v, (size_t)(v->n ? v->n * 2 : 1) * sizeof *v->v);
    v->v[v->n++] = xstrdup(s);
}

void jute_strvec_free(jute_strvec_t *v)
{
    for (int32_t i = 0; i < v->n; i++)
        free(v->v[i]);
    free(v->v);
    v->v = NULL;
    v->n = 0;
}

jute_buf_t jute_buf_dup(const void *p, int32_t len)
{
    jute_buf_t b = {NULL, -1};
    if (len >= 0) {
        b.data = xmemdup(p ? p : "", (size_t)len);
        b.len = len;
    }
    return b;
}

/* A vector's count can't exceed what is left: each element takes >= 1 byte. A negative
 * count other than -1 reads as an empty vector, as ZooKeeper's jute does. */
static int32_t get_count(jute_rd_t *jr)
{
    int32_t n = jute_get_int(jr);
    if (jute_ok(jr) && n < -1)
        return 0;
    if (!jute_ok(jr) || (n > 0 && (size_t)n > jute_left(jr))) {
        jr->r.err = 1;
        return -2;
    }
    return n;
}

static int decode_field(const jute_field_t *f, uint8_t *base, jute_rd_t *jr)
{
    void *p = base + f->off;
    switch (f->kind) {
    case JT_INT: *(int32_t *)p = jute_get_int(jr); break;
    case JT_LONG: *(int64_t *)p = jute_get_long(jr); break;
    case JT_BOOL: *(bool *)p = jute_get_bool(jr); break;
    case JT_BUFFER: return jute_get_buffer(jr, p);
    case JT_USTRING: return jute_get_ustring(jr, p);
    case JT_RECORD: return jute_decode(f->rec, p, jr);
    case JT_VEC_USTRING: {
        jute_strvec_t *v = p;
        int32_t n = get_count(jr);
        if (n < -1)
            return -1;
        v->n = n;
        if (n <= 0)
            return 0;
        v->v = xcalloc((size_t)n, sizeof *v->v);
        for (int32_t i = 0; i < n; i++)
            if (jute_get_ustring(jr, &v->v[i]))
                return -1;
        return 0;
    }
    case JT_VEC_LONG: {
        jute_longvec_t *v = p;
        int32_t n = get_count(jr);
        if (n < -1)
            return -1;
        v->n = n;
        if (n <= 0)
            return 0;
        v->v = xcalloc((size_t)n, sizeof *v->v);
        for (int32_t i = 0; i < n; i++)
            v->v[i] = jute_get_long(jr);
        break;
    }
    case JT_VEC_RECORD: {
        jute_vec_t *v = p;
        int32_t n = get_count(jr);
        if (n < -1)
            return -1;
        v->n = n;
        if (n <= 0)
            return 0;
        v->v = xcalloc((size_t)n, f->rec->size);
        for (int32_t i = 0; i < n; i++)
            if (jute_decode(f->rec, (uint8_t *)v->v + (size_t)i * f->rec->size, jr)) {
                v->n = i + 1; /* so jute_free releases what was decoded */
                return -1;
            }
        return 0;
    }
    }
    return jute_ok(jr) ? 0 : -1;
}

int jute_decode(const jute_rec_t *rec, void *obj, jute_rd_t *jr)
{
    memset(obj, 0, rec->size);
    for (size_t i = 0; i < rec->nfields; i++) {
        if (rec->fields[i].kind == JT_BUFFER)
            ((jute_buf_t *)((uint8_t *)obj + rec->fields[i].off))->len = -1;
    }
    for (size_t i = 0; i < rec->nfields; i++) {
        if (decode_field(&rec->fields[i], obj, jr) || !jute_ok(jr)) {
            jr->r.err = 1;
            jute_free(rec, obj);
            return -1;
        }
    }
    return 0;
}

void jute_encode(const jute_rec_t *rec, const void *obj, buf_t *b)
{
    const uint8_t *base = obj;
    for (size_t i = 0; i < rec->nfields; i++) {
        const jute_field_t *f = &rec->fields[i];
        const void *p = base + f->off;
        switch (f->kind) {
        case JT_INT: jute_put_int(b, *(const int32_t *)p); break;
        case JT_LONG: jute_put_long(b, *(const int64_t *)p); break;
        case JT_BOOL: jute_put_bool(b, *(const bool *)p); break;
        case JT_BUFFER: {
            const jute_buf_t *jb = p;
            jute_put_buffer(b, jb->data, jb->len);
            break;
        }
        case JT_USTRING: jute_put_ustring(b, *(char *const *)p); break;
        case JT_RECORD: jute_encode(f->rec, p, b); break;
        case JT_VEC_USTRING: jute_put_strvec(b, p); break;
        case JT_VEC_LONG: {
            const jute_longvec_t *v = p;
            jute_put_int(b, v->n);
            for (int32_t k = 0; k < v->n; k++)
                jute_put_long(b, v->v[k]);
            break;
        }
        case JT_VEC_RECORD: {
            const jute_vec_t *v = p;
            jute_put_int(b, v->n);
            for (int32_t k = 0; k < v->n; k++)
                jute_encode(f->rec, (const uint8_t *)v->v + (size_t)k * f->rec->size, b);
            break;
        }
        }
    }
}

void jute_free(const jute_rec_t *rec, void *obj)
{
    uint8_t *base = obj;
    for (size_t i = 0; i < rec->nfields; i++) {
        const jute_field_t *f = &rec->fields[i];
        void *p = base + f->off;
        switch (f->kind) {
        case JT_BUFFER: {
            jute_buf_t *jb = p;
            free(jb->data);
            jb->data = NULL;
            jb->len = -1;
            break;
        }
        case JT_USTRING: free(*(char **)p); *(char **)p = NULL; break;
        case JT_RECORD: jute_free(f->rec, p); break;
        case JT_VEC_USTRING: jute_strvec_free(p); break;
        case JT_VEC_LONG: {
            jute_longvec_t *v = p;
            free(v->v);
            v->v = NULL;
            v->n = 0;
            break;
        }
        case JT_VEC_RECORD: {
            jute_vec_t *v = p;
            for (int32_t k = 0; k < v->n; k++)
                jute_free(f->rec, (uint8_t *)v->v + (size_t)k * f->rec->size);
            free(v->v);
            v->v = NULL;
            v->n = 0;
            break;
        }
        default: break;
        }
    }
}

void jute_copy(const jute_rec_t *rec, void *dst, const void *src)
{
    /* Encoding then decoding is the simplest deep copy that cannot drift from the schema. */
    buf_t b = BUF_INIT;
    jute_encode(rec, src, &b);
    jute_rd_t jr;
    jute_rd_init(&jr, b.data, b.len);
    jute_decode(rec, dst, &jr);
    buf_free(&b);
}
