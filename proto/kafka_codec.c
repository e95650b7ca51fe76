/* kafka_codec.c — the generic Kafka codec: walks kp_schema_t tables (see kafka_codec.h). */
#include "proto/kafka_codec.h"

#include <inttypes.h>
#include <stdio.h>

#include "common/varint.h"

/* Every KP_ARRAY_OF(T) has this layout; members are reached with memcpy so that no object
 * is accessed through a struct type it does not have. */
typedef KP_ARRAY_OF(void) kp_any_array_t;

static const uint8_t empty_slice[1];

static inline bool present(const kp_field_t *f, int v)
{
    return v >= f->vmin && v <= f->vmax;
}

static inline bool may_be_null(const kp_field_t *f, int v)
{
    return v >= f->nmin && v <= f->nmax;
}

static inline bool is_tagged(const kp_field_t *f, int v, bool flex)
{
    return flex && f->tagv >= 0 && v >= f->tagv;
}

static inline void *field_ptr(const kp_field_t *f, const void *obj)
{
    return (char *)obj + f->off;
}

static int32_t arr_n(const void *fp)
{
    int32_t n;
    memcpy(&n, (const char *)fp + offsetof(kp_any_array_t, n), sizeof n);
    return n;
}

static void *arr_v(const void *fp)
{
    void *v;
    memcpy(&v, (const char *)fp + offsetof(kp_any_array_t, v), sizeof v);
    return v;
}

static void arr_set(void *fp, int32_t n, void *v)
{
    memcpy((char *)fp + offsetof(kp_any_array_t, n), &n, sizeof n);
    memcpy((char *)fp + offsetof(kp_any_array_t, v), &v, sizeof v);
}

/* Size of one value of type t in C. */
static size_t c_size(uint8_t t, const kp_schema_t *sub)
{
    switch (t) {
    case KP_BOOL: return sizeof(bool);
    case KP_INT8: return 1;
    case KP_INT16: case KP_UINT16: return 2;
    case KP_INT32: return 4;
    case KP_INT64: return 8;
    case KP_FLOAT64: return sizeof(double);
    case KP_UUID: return sizeof(kp_uuid_t);
    case KP_STRING: case KP_BYTES: case KP_RECORDS: return sizeof(kp_bytes_t);
    case KP_STRUCT: return sub->size;
    case KP_ARRAY: return sizeof(kp_any_array_t);
    }
    return 0;
}

static size_t struct_min_size(const kp_schema_t *s, int v, bool flex);

/* The fewest bytes a value of type t takes on the wire. */
static size_t wire_min_size(uint8_t t, const kp_schema_t *sub, int v, bool flex)
{
    switch (t) {
    case KP_BOOL: case KP_INT8: return 1;
    case KP_INT16: case KP_UINT16: return 2;
    case KP_INT32: return 4;
    case KP_INT64: case KP_FLOAT64: return 8;
    case KP_UUID: return 16;
    case KP_STRING: return flex ? 1 : 2;
    case KP_BYTES: case KP_RECORDS: case KP_ARRAY: return flex ? 1 : 4;
    case KP_STRUCT: return struct_min_size(sub, v, flex);
    }
    return 1;
}

static size_t struct_min_size(const kp_schema_t *s, int v, bool flex)
{
    size_t n = flex ? 1 : 0;
    for (uint32_t i = 0; i < s->nfields; i++) {
        const kp_field_t *f = &s->fields[i];
        if (present(f, v) && !is_tagged(f, v, flex))
            n += wire_min_size(f->type, f->sub, v, flex);
    }
    return n;
}

/* ---------------------------------------------------------------- defaults */

static void init_value(const kp_field_t *f, void *fp)
{
    switch (f->type) {
    case KP_BOOL: *(bool *)fp = f->dflt != 0; break;
    case KP_INT8: *(int8_t *)fp = (int8_t)f->dflt; break;
    case KP_INT16: *(int16_t *)fp = (int16_t)f->dflt; break;
    case KP_UINT16: *(uint16_t *)fp = (uint16_t)f->dflt; break;
    case KP_INT32: *(int32_t *)fp = (int32_t)f->dflt; break;
    case KP_INT64: *(int64_t *)fp = f->dflt; break;
    case KP_FLOAT64: *(double *)fp = (double)f->dflt; break;
    case KP_UUID: memset(fp, 0, sizeof(kp_uuid_t)); break;
    case KP_STRING: case KP_BYTES: case KP_RECORDS:
        ((kp_bytes_t *)fp)->p = NULL;
        ((kp_bytes_t *)fp)->len = f->dflt == KP_DEFAULT_NULL ? -1 : 0;
        break;
    case KP_ARRAY: arr_set(fp, f->dflt == KP_DEFAULT_NULL ? -1 : 0, NULL); break;
    case KP_STRUCT: kp_init(f->sub, fp); break;
    }
}

void kp_init(const kp_schema_t *s, void *obj)
{
    memset(obj, 0, s->size);
    for (uint32_t i = 0; i < s->nfields; i++)
        init_value(&s->fields[i], field_ptr(&s->fields[i], obj));
}

void *kp_new(arena_t *a, const kp_schema_t *s)
{
    void *obj = arena_alloc(a, s->size);
    kp_init(s, obj);
    return obj;
}

void *kp_new_array(arena_t *a, const kp_schema_t *elem, int32_t n)
{
    if (n <= 0)
        return NULL;
    char *v = arena_alloc(a, (size_t)n * elem->size);
    for (int32_t i = 0; i < n; i++)
        kp_init(elem, v + (size_t)i * elem->size);
    return v;
}

static bool is_default(const kp_field_t *f, const void *fp)
{
    switch (f->type) {
    case KP_BOOL: return *(const bool *)fp == (f->dflt != 0);
    case KP_INT8: return *(const int8_t *)fp == (int8_t)f->dflt;
    case KP_INT16: return *(const int16_t *)fp == (int16_t)f->dflt;
    case KP_UINT16: return *(const uint16_t *)fp == (uint16_t)f->dflt;
    case KP_INT32: return *(const int32_t *)fp == (int32_t)f->dflt;
    case KP_INT64: return *(const int64_t *)fp == f->dflt;
    case KP_FLOAT64: return *(const double *)fp == (double)f->dflt;
    case KP_UUID: {
        static const kp_uuid_t zero;
        return memcmp(fp, &zero, sizeof zero) == 0;
    }
    case KP_STRING: case KP_BYTES: case KP_RECORDS:
        return ((const kp_bytes_t *)fp)->len == (f->dflt == KP_DEFAULT_NULL ? -1 : 0);
    case KP_ARRAY: return arr_n(fp) == (f->dflt == KP_DEFAULT_NULL ? -1 : 0);
    case KP_STRUCT:
        for (uint32_t i = 0; i < f->sub->nfields; i++)
            if (!is_default(&f->sub->fields[i], field_ptr(&f->sub->fields[i], fp)))
                return false;
        return true;
    }
    return true;
}

/* ---------------------------------------------------------------- decoding */

static int fail(rd_t *r)
{
    r->err = 1;
    return KP_EMALFORMED;
}

/* A length or count: classic int16/int32, or flexible varint holding value+1. Returns the
 * value (-1 = null) in *out; rejects < -1 and > INT32_MAX. */
static int read_len(rd_t *r, bool flex, int width, int64_t *out)
{
    int64_t len;
    if (flex)
        len = (int64_t)varint_get_u32(r) - 1;
    else if (width == 2)
        len = (int16_t)rd_be16(r);
    else
        len = (int32_t)rd_be32(r);
    if (r->err || len < -1 || len > INT32_MAX)
        return fail(r);
    *out = len;
    return KP_OK;
}

static int read_slice(rd_t *r, bool flex, int width, bool nullable, kp_bytes_t *out)
{
    int64_t len;
    if (read_len(r, flex, width, &len))
        return KP_EMALFORMED;
    if (len == -1) {
        if (!nullable)
            return fail(r);
        out->p = NULL;
        out->len = -1;
        return KP_OK;
    }
    if (len == 0) {
        out->p = empty_slice;
        out->len = 0;
        return KP_OK;
    }
    const uint8_t *p = rd_bytes(r, (size_t)len);
    if (!p)
        return KP_EMALFORMED;
    out->p = p;
    out->len = (int32_t)len;
    return KP_OK;
}

int kp_read_str(rd_t *r, bool flexible, bool nullable, kp_str_t *out)
{
    return read_slice(r, flexible, 2, nullable, out);
}

int kp_read_bytes(rd_t *r, bool flexible, bool nullable, kp_bytes_t *out)
{
    return read_slice(r, flexible, 4, nullable, out);
}

static int dec_struct(const kp_schema_t *s, int v, bool flex, rd_t *r, arena_t *a, void *obj);

/* One scalar or slice of type t (array elements: never null). */
static int dec_value(uint8_t t, const kp_schema_t *sub, bool nullable, int v, bool flex, rd_t *r,
                     arena_t *a, void *fp)
{
    switch (t) {
    case KP_BOOL: *(bool *)fp = rd_u8(r) != 0; break;
    case KP_INT8: *(int8_t *)fp = (int8_t)rd_u8(r); break;
    case KP_INT16: *(int16_t *)fp = (int16_t)rd_be16(r); break;
    case KP_UINT16: *(uint16_t *)fp = rd_be16(r); break;
    case KP_INT32: *(int32_t *)fp = (int32_t)rd_be32(r); break;
    case KP_INT64: *(int64_t *)fp = (int64_t)rd_be64(r); break;
    case KP_FLOAT64: {
        uint64_t u = rd_be64(r);
        memcpy(fp, &u, sizeof u);
        break;
    }
    case KP_UUID: {
        const uint8_t *p = rd_bytes(r, sizeof(kp_uuid_t));
        if (p)
            memcpy(fp, p, sizeof(kp_uuid_t));
        break;
    }
    case KP_STRING: return read_slice(r, flex, 2, nullable, fp);
    case KP_BYTES: case KP_RECORDS: return read_slice(r, flex, 4, nullable, fp);
    case KP_STRUCT:
        kp_init(sub, fp);
        return dec_struct(sub, v, flex, r, a, fp);
    default: return fail(r);
    }
    return r->err ? KP_EMALFORMED : KP_OK;
}

static int dec_field(const kp_field_t *f, int v, bool flex, rd_t *r, arena_t *a, void *fp)
{
    if (f->type != KP_ARRAY)
        return dec_value(f->type, f->sub, may_be_null(f, v), v, flex, r, a, fp);
    int64_t n;
    if (read_len(r, flex, 4, &n))
        return KP_EMALFORMED;
    if (n == -1) {
        if (!may_be_null(f, v))
            return fail(r);
        arr_set(fp, -1, NULL);
        return KP_OK;
    }
    size_t min = wire_min_size(f->elem, f->sub, v, flex);
    if ((uint64_t)n * (min ? min : 1) > rd_left(r))
        return fail(r);
    size_t esz = c_size(f->elem, f->sub);
    char *elems = n ? arena_alloc(a, (size_t)n * esz) : NULL;
    arr_set(fp, (int32_t)n, elems);
    for (int64_t i = 0; i < n; i++)
        if (dec_value(f->elem, f->sub, false, v, flex, r, a, elems + (size_t)i * esz))
            return KP_EMALFORMED;
    return KP_OK;
}

static const kp_field_t *find_tag(const kp_schema_t *s, int v, uint32_t tag)
{
    for (uint32_t i = 0; i < s->nfields; i++) {
        const kp_field_t *f = &s->fields[i];
        if (present(f, v) && is_tagged(f, v, true) && (uint32_t)f->tag == tag)
            return f;
    }
    return NULL;
}

static int dec_struct(const kp_schema_t *s, int v, bool flex, rd_t *r, arena_t *a, void *obj)
{
    for (uint32_t i = 0; i < s->nfields; i++) {
        const kp_field_t *f = &s->fields[i];
        if (present(f, v) && !is_tagged(f, v, flex) && dec_field(f, v, flex, r, a, field_ptr(f, obj)))
            return KP_EMALFORMED;
    }
    if (!flex)
        return KP_OK;
    uint32_t ntags = varint_get_u32(r);
    int64_t last = -1;
    for (uint32_t i = 0; i < ntags && !r->err; i++) {
        uint32_t tag = varint_get_u32(r);
        uint32_t size = varint_get_u32(r);
        if (r->err || (int64_t)tag <= last)
            return fail(r);
        last = tag;
        const uint8_t *p = size ? rd_bytes(r, size) : empty_slice;
        if (!p)
            return KP_EMALFORMED;
        const kp_field_t *f = find_tag(s, v, tag);
        if (!f)
            continue;   /* unknown tag: skipped */
        rd_t sub;
        rd_init(&sub, p, size);
        if (dec_field(f, v, flex, &sub, a, field_ptr(f, obj)) || rd_left(&sub) != 0)
            return fail(r);
    }
    return r->err ? KP_EMALFORMED : KP_OK;
}

int kp_decode(const kp_schema_t *s, int version, bool flexible, rd_t *r, arena_t *a, void *obj)
{
    kp_init(s, obj);
    if (r->err)
        return KP_EMALFORMED;
    return dec_struct(s, version, flexible, r, a, obj);
}

int kp_skip_tagged(rd_t *r)
{
    uint32_t n = varint_get_u32(r);
    int64_t last = -1;
    for (uint32_t i = 0; i < n && !r->err; i++) {
        uint32_t tag = varint_get_u32(r);
        uint32_t size = varint_get_u32(r);
        if (r->err || (int64_t)tag <= last)
            return fail(r);
        last = tag;
        rd_skip(r, size);
    }
    return r->err ? KP_EMALFORMED : KP_OK;
}

/* ---------------------------------------------------------------- encoding */

static int write_slice(buf_t *b, bool flex, int width, bool nullable, const kp_bytes_t *s)
{
    if (s->len < -1 || (s->len == -1 && !nullable) || (s->len > 0 && !s->p))
        return KP_EENCODE;
    if (flex)
        varint_put_u32(b, (uint32_t)(s->len + 1));
    else if (width == 2) {
        if (s->len > INT16_MAX)
            return KP_EENCODE;
        buf_put_be16(b, (uint16_t)(int16_t)s->len);
    } else
        buf_put_be32(b, (uint32_t)s->len);
    if (s->len > 0)
        buf_put(b, s->p, (size_t)s->len);
    return KP_OK;
}

int kp_write_str(buf_t *b, bool flexible, kp_str_t s)
{
    return write_slice(b, flexible, 2, true, &s);
}

void kp_write_bytes(buf_t *b, bool flexible, kp_bytes_t s)
{
    (void)write_slice(b, flexible, 4, true, &s);
}

static int enc_struct(const kp_schema_t *s, int v, bool flex, const void *obj, buf_t *b);

static int enc_value(uint8_t t, const kp_schema_t *sub, bool nullable, int v, bool flex, const void *fp,
                     buf_t *b)
{
    switch (t) {
    case KP_BOOL: buf_put_u8(b, *(const bool *)fp ? 1 : 0); break;
    case KP_INT8: buf_put_u8(b, (uint8_t)*(const int8_t *)fp); break;
    case KP_INT16: buf_put_be16(b, (uint16_t)*(const int16_t *)fp); break;
    case KP_UINT16: buf_put_be16(b, *(const uint16_t *)fp); break;
    case KP_INT32: buf_put_be32(b, (uint32_t)*(const int32_t *)fp); break;
    case KP_INT64: buf_put_be64(b, (uint64_t)*(const int64_t *)fp); break;
    case KP_FLOAT64: {
        uint64_t u;
        memcpy(&u, fp, sizeof u);
        buf_put_be64(b, u);
        break;
    }
    case KP_UUID: buf_put(b, fp, sizeof(kp_uuid_t)); break;
    case KP_STRING: return write_slice(b, flex, 2, nullable, fp);
    case KP_BYTES: case KP_RECORDS: return write_slice(b, flex, 4, nullable, fp);
    case KP_STRUCT: return enc_struct(sub, v, flex, fp, b);
    default: return KP_EENCODE;
    }
    return KP_OK;
}

static int enc_field(const kp_field_t *f, int v, bool flex, const void *fp, buf_t *b)
{
    if (f->type != KP_ARRAY)
        return enc_value(f->type, f->sub, may_be_null(f, v), v, flex, fp, b);
    int32_t n = arr_n(fp);
    const char *elems = arr_v(fp);
    if (n < -1 || (n == -1 && !may_be_null(f, v)) || (n > 0 && !elems))
        return KP_EENCODE;
    if (flex)
        varint_put_u32(b, (uint32_t)n + 1);
    else
        buf_put_be32(b, (uint32_t)n);
    size_t esz = c_size(f->elem, f->sub);
    for (int32_t i = 0; i < n; i++) {
        int rc = enc_value(f->elem, f->sub, false, v, flex, elems + (size_t)i * esz, b);
        if (rc)
            return rc;
    }
    return KP_OK;
}

static int enc_struct(const kp_schema_t *s, int v, bool flex, const void *obj, buf_t *b)
{
    for (uint32_t i = 0; i < s->nfields; i++) {
        const kp_field_t *f = &s->fields[i];
        if (present(f, v) && !is_tagged(f, v, flex)) {
            int rc = enc_field(f, v, flex, field_ptr(f, obj), b);
            if (rc)
                return rc;
        }
    }
    if (!flex)
        return KP_OK;
    /* tagged fields that differ from their default, in ascending tag order */
    const kp_field_t *tagged[32];
    uint32_t nt = 0;
    for (uint32_t i = 0; i < s->nfields; i++) {
        const kp_field_t *f = &s->fields[i];
        if (present(f, v) && is_tagged(f, v, flex) && !is_default(f, field_ptr(f, obj))) {
            if (nt == sizeof tagged / sizeof tagged[0])
                return KP_EENCODE;
            uint32_t j = nt++;
            while (j > 0 && tagged[j - 1]->tag > f->tag) {
                tagged[j] = tagged[j - 1];
                j--;
            }
            tagged[j] = f;
        }
    }
    varint_put_u32(b, nt);
    for (uint32_t i = 0; i < nt; i++) {
        buf_t tmp = BUF_INIT;
        int rc = enc_field(tagged[i], v, flex, field_ptr(tagged[i], obj), &tmp);
        if (rc == KP_OK) {
            varint_put_u32(b, (uint32_t)tagged[i]->tag);
            varint_put_u32(b, (uint32_t)tmp.len);
            buf_put(b, tmp.data, tmp.len);
        }
        buf_free(&tmp);
        if (rc)
            return rc;
    }
    return KP_OK;
}

int kp_encode(const kp_schema_t *s, int version, bool flexible, const void *obj, buf_t *b)
{
    size_t start = b->len;
    int rc = enc_struct(s, version, flexible, obj, b);
    if (rc)
        b->len = start;
    return rc;
}

/* ---------------------------------------------------------------- comparison and dumps */

static bool slice_eq(const kp_bytes_t *x, const kp_bytes_t *y)
{
    return x->len == y->len && (x->len <= 0 || memcmp(x->p, y->p, (size_t)x->len) == 0);
}

static bool value_eq(uint8_t t, const kp_schema_t *sub, int v, const void *x, const void *y)
{
    switch (t) {
    case KP_STRING: case KP_BYTES: case KP_RECORDS: return slice_eq(x, y);
    case KP_STRUCT: return kp_equal(sub, v, x, y);
    default: return memcmp(x, y, c_size(t, sub)) == 0;
    }
}

bool kp_equal(const kp_schema_t *s, int version, const void *x, const void *y)
{
    for (uint32_t i = 0; i < s->nfields; i++) {
        const kp_field_t *f = &s->fields[i];
        if (!present(f, version))
            continue;
        const void *fx = field_ptr(f, x), *fy = field_ptr(f, y);
        if (f->type != KP_ARRAY) {
            if (!value_eq(f->type, f->sub, version, fx, fy))
                return false;
            continue;
        }
        int32_t n = arr_n(fx);
        if (n != arr_n(fy))
            return false;
        size_t esz = c_size(f->elem, f->sub);
        const char *ex = arr_v(fx), *ey = arr_v(fy);
        for (int32_t j = 0; j < n; j++)
            if (!value_eq(f->elem, f->sub, version, ex + (size_t)j * esz, ey + (size_t)j * esz))
                return false;
    }
    return true;
}

static void dump_value(uint8_t t, const kp_schema_t *sub, int v, const void *fp, buf_t *out)
{
    switch (t) {
    case KP_BOOL: buf_puts(out, *(const bool *)fp ? "true" : "false"); break;
    case KP_INT8: buf_printf(out, "%d", *(const int8_t *)fp); break;
    case KP_INT16: buf_printf(out, "%d", *(const int16_t *)fp); break;
    case KP_UINT16: buf_printf(out, "%u", *(const uint16_t *)fp); break;
    case KP_INT32: buf_printf(out, "%" PRId32, *(const int32_t *)fp); break;
    case KP_INT64: buf_printf(out, "%" PRId64, *(const int64_t *)fp); break;
    case KP_FLOAT64: buf_printf(out, "%g", *(const double *)fp); break;
    case KP_UUID:
        for (size_t i = 0; i < sizeof(kp_uuid_t); i++)
            buf_printf(out, "%02x", ((const kp_uuid_t *)fp)->b[i]);
        break;
    case KP_STRING: {
        const kp_str_t *s = fp;
        if (s->len < 0) {
            buf_puts(out, "null");
            break;
        }
        buf_put_u8(out, '"');
        for (int32_t i = 0; i < s->len; i++) {
            uint8_t c = s->p[i];
            if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
                buf_put_u8(out, c);
            else
                buf_printf(out, "\\x%02x", c);
        }
        buf_put_u8(out, '"');
        break;
    }
    case KP_BYTES: case KP_RECORDS: {
        const kp_bytes_t *s = fp;
        if (s->len < 0)
            buf_puts(out, "null");
        else
            buf_printf(out, "bytes(%" PRId32 ")", s->len);
        break;
    }
    case KP_STRUCT: kp_dump(sub, v, fp, out); break;
    }
}

void kp_dump(const kp_schema_t *s, int version, const void *obj, buf_t *out)
{
    buf_put_u8(out, '{');
    bool first = true;
    for (uint32_t i = 0; i < s->nfields; i++) {
        const kp_field_t *f = &s->fields[i];
        if (!present(f, version))
            continue;
        buf_printf(out, "%s%s=", first ? "" : ", ", f->name);
        first = false;
        const void *fp = field_ptr(f, obj);
        if (f->type != KP_ARRAY) {
            dump_value(f->type, f->sub, version, fp, out);
            continue;
        }
        int32_t n = arr_n(fp);
        if (n < 0) {
            buf_puts(out, "null");
            continue;
        }
        size_t esz = c_size(f->elem, f->sub);
        const char *e = arr_v(fp);
        buf_put_u8(out, '[');
        for (int32_t j = 0; j < n; j++) {
            if (j)
                buf_puts(out, ", ");
            dump_value(f->elem, f->sub, version, e + (size_t)j * esz, out);
        }
        buf_put_u8(out, ']');
    }
    buf_put_u8(out, '}');
}

/* ---------------------------------------------------------------- slices */

bool kp_str_eq(kp_str_t s, const char *c)
{
    if (s.len < 0 || !c)
        return false;
    size_t n = strlen(c);
    return (size_t)s.len == n && (n == 0 || memcmp(s.p, c, n) == 0);
}

char *kp_str_dup(arena_t *a, kp_str_t s)
{
    if (s.len < 0)
        return NULL;
    return arena_strndup(a, s.len ? (const char *)s.p : "", (size_t)s.len);
}
