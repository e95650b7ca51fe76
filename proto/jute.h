/* jute.h — ZooKeeper's jute serialization, driven by record schemas.
 *
 * Primitives (all big-endian): int = 4 bytes, long = 8, bool = 1 (0/1),
 * buffer = int32 length + bytes (-1 = null), ustring = int32 length + UTF-8
 * (-1 = null), vector = int32 count (-1 = null) + elements, record = its fields
 * in order.
 *
 * A record is described once, as data: a jute_rec_t lists its fields with their
 * kinds and offsets in the C struct. jute_decode/jute_encode/jute_free walk that
 * description, so every record of the protocol shares one bounds-checked codec.
 *
 * C representation of field kinds:
 *   JT_INT int32_t, JT_LONG int64_t, JT_BOOL bool,
 *   JT_BUFFER jute_buf_t   (data NULL and len -1 when null),
 *   JT_USTRING char *      (NUL-terminated copy; NULL when null),
 *   JT_VEC_USTRING jute_strvec_t, JT_VEC_LONG jute_longvec_t,
 *   JT_RECORD an embedded struct, JT_VEC_RECORD jute_vec_t of embedded structs.
 *
 * Decoding never trusts a length: strings and buffers must fit in what is left,
 * and a vector's count may not exceed the bytes left, so a hostile length can
 * never cause a large allocation. Decoded objects own their memory; release
 * them with jute_free. */
#ifndef GREGOR_PROTO_JUTE_H
#define GREGOR_PROTO_JUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

typedef struct jute_buf_s {
    uint8_t *data;
    int32_t len;   /* -1 = null */
} jute_buf_t;

typedef struct jute_strvec_s {
    int32_t n;     /* -1 = null */
    char **v;
} jute_strvec_t;

typedef struct jute_longvec_s {
    int32_t n;
    int64_t *v;
} jute_longvec_t;

typedef struct jute_vec_s {
    int32_t n;     /* -1 = null */
    void *v;       /* n contiguous records */
} jute_vec_t;

enum jute_kind {
    JT_INT, JT_LONG, JT_BOOL, JT_BUFFER, JT_USTRING,
    JT_RECORD, JT_VEC_USTRING, JT_VEC_LONG, JT_VEC_RECORD,
};

typedef struct jute_rec_s jute_rec_t;

typedef struct jute_field_s {
    const char *name;
    enum jute_kind kind;
    size_t off;
    const jute_rec_t *rec;   /* JT_RECORD / JT_VEC_RECORD element */
} jute_field_t;

struct jute_rec_s {
    const char *name;
    size_t size;
    const jute_field_t *fields;
    size_t nfields;
};

/* Reader state beyond rd_t: set when a ustring held an embedded NUL byte, which
 * ZooKeeper answers with BADARGUMENTS rather than a decode failure. */
typedef struct jute_rd_s {
    rd_t r;
    bool saw_nul;
} jute_rd_t;

static inline void jute_rd_init(jute_rd_t *jr, const void *p, size_t n)
{
    rd_init(&jr->r, p, n);
    jr->saw_nul = false;
}

/* Decodes into obj (zeroed first). 0 on success; -1 on malformed input, with
 * anything partly decoded already freed. */
int jute_decode(const jute_rec_t *rec, void *obj, jute_rd_t *jr);
void jute_encode(const jute_rec_t *rec, const void *obj, buf_t *b);
void jute_free(const jute_rec_t *rec, void *obj);
/* Deep copy of a decoded record. */
void jute_copy(const jute_rec_t *rec, void *dst, const void *src);

/* Primitives, for hand-written framing around records. */
int32_t jute_get_int(jute_rd_t *jr);
int64_t jute_get_long(jute_rd_t *jr);
bool jute_get_bool(jute_rd_t *jr);
int jute_get_buffer(jute_rd_t *jr, jute_buf_t *out);   /* 0 / -1 */
int jute_get_ustring(jute_rd_t *jr, char **out);       /* 0 / -1 */
static inline bool jute_ok(const jute_rd_t *jr) { return !jr->r.err; }
static inline size_t jute_left(const jute_rd_t *jr) { return rd_left(&jr->r); }

void jute_put_int(buf_t *b, int32_t v);
void jute_put_long(buf_t *b, int64_t v);
void jute_put_bool(buf_t *b, bool v);
void jute_put_buffer(buf_t *b, const void *p, int32_t len);   /* len -1 = null */
void jute_put_ustring(buf_t *b, const char *s);               /* NULL = null */
void jute_put_strvec(buf_t *b, const jute_strvec_t *v);

void jute_strvec_push(jute_strvec_t *v, const char *s);   /* copies s */
void jute_strvec_free(jute_strvec_t *v);
jute_buf_t jute_buf_dup(const void *p, int32_t len);      /* len -1 = null */

/* Declares a field of struct T: JF(T, kind, member) or JFR(T, kind, member, &rec). */
#define JF(T, kind, member) {#member, kind, offsetof(T, member), NULL}
#define JFR(T, kind, member, rec) {#member, kind, offsetof(T, member), rec}
#define JREC(varname, T, fieldarr) \
    const jute_rec_t varname = {#T, sizeof(T), fieldarr, sizeof(fieldarr) / sizeof(fieldarr[0])}

#endif
