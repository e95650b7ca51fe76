/* kafka_codec.h — Kafka's wire encoding, driven by message schemas.
 *
 * Every Kafka message (proto/kafka_msgs.h, generated from the .kps files in proto/schema/kafka/) is a C
 * struct plus a kp_schema_t: a table of its fields with type, offset in the struct, the
 * versions the field is on the wire, the versions it may be null, its default, and its tag
 * when it is a tagged field. kp_decode/kp_encode walk that table for one version, so every
 * message at every version shares one bounds-checked codec.
 *
 * Wire types (big-endian): bool/int8 = 1 byte, int16/uint16 = 2, int32 = 4, int64/float64 = 8,
 * uuid = 16. Classic versions: string = int16 length + bytes, bytes/records = int32 length +
 * bytes, array = int32 count + elements; length/count -1 = null. Flexible versions (KIP-482):
 * lengths and counts are unsigned varints holding length+1 (0 = null), and every struct ends
 * with a tagged-field section: varint count, then per field varint tag, varint size, value, in
 * strictly ascending tag order.
 *
 * C representation:
 *   bool, int8_t, int16_t, uint16_t, int32_t, int64_t, double, kp_uuid_t;
 *   string, bytes, records: kp_bytes_t (kp_str_t is the same type) — a slice {p, len},
 *       len -1 = null. Decoded slices point INTO the decoded buffer (zero copy), so that
 *       buffer must outlive the decoded message. A zeroed slice is the empty string.
 *   array: KP_ARRAY_OF(T) = {int32_t n; T *v;}, n -1 = null; decoded elements live in the
 *       arena given to kp_decode. A zeroed array is empty.
 *   struct: embedded.
 *
 * Decoding never trusts a length: a string/bytes length must fit in what is left of the
 * input, an array count times the smallest encoding of one element must too (so a hostile
 * count can only allocate in proportion to the bytes actually received), varints longer than
 * 5 bytes are rejected, null is rejected where the version does not allow it, and tagged
 * fields must be well formed, in ascending order and without duplicates (unknown ones are
 * skipped). */
#ifndef GREGOR_PROTO_KAFKA_CODEC_H
#define GREGOR_PROTO_KAFKA_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/arena.h"
#include "common/buf.h"

typedef struct kp_bytes_s {
    const uint8_t *p;
    int32_t len;      /* -1 = null */
} kp_bytes_t;
typedef kp_bytes_t kp_str_t;

typedef struct kp_uuid_s {
    uint8_t b[16];
} kp_uuid_t;

#define KP_ARRAY_OF(T) struct { int32_t n; T *v; }

/* Status codes of this module (0 = success). */
enum kp_status {
    KP_OK = 0,
    KP_EMALFORMED = -1,     /* truncated or malformed input */
    KP_EUNKNOWN_API = -2,   /* an API key we do not serve */
    KP_EUNSUPPORTED = -3,   /* a known API at a version we do not serve */
    KP_EENCODE = -4,        /* the object cannot be written at that version (e.g. null where not allowed) */
};

enum kp_type {
    KP_BOOL = 1, KP_INT8, KP_INT16, KP_UINT16, KP_INT32, KP_INT64, KP_FLOAT64, KP_UUID,
    KP_STRING, KP_BYTES, KP_RECORDS, KP_STRUCT, KP_ARRAY,
};

/* Versions are small: Kafka's highest is far below this "no upper bound". */
#define KP_VMAX 127
/* Default of a string/bytes/array field that is null unless set. */
#define KP_DEFAULT_NULL (-1)

typedef struct kp_schema_s kp_schema_t;

typedef struct kp_field_s {
    const char *name;        /* Kafka's field name */
    uint32_t off;            /* offset in the C struct */
    uint8_t type;            /* enum kp_type */
    uint8_t elem;            /* KP_ARRAY: element type (KP_STRUCT or a primitive) */
    int8_t vmin, vmax;       /* on the wire in versions [vmin, vmax] */
    int8_t nmin, nmax;       /* may be null in [nmin, nmax] (nmin > nmax: never) */
    int8_t tagv;             /* tagged field from this (flexible) version on; -1 = never */
    int32_t tag;             /* its tag */
    int64_t dflt;            /* integers/bool: the value; strings/bytes/arrays: 0 empty, -1 null */
    const kp_schema_t *sub;  /* KP_STRUCT, or KP_ARRAY of KP_STRUCT */
} kp_field_t;

struct kp_schema_s {
    const char *name;        /* e.g. "ProduceRequest", "TopicProduceData" */
    uint32_t size;           /* sizeof the C struct */
    uint32_t nfields;
    const kp_field_t *fields;
};

/* One Kafka API as served by Gregor: the versions we accept and the message schemas. */
typedef struct kp_api_s {
    int16_t key;
    const char *name;
    int16_t min_ver, max_ver;
    int16_t flex_ver;        /* first flexible version, -1 = none */
    const kp_schema_t *req, *resp;
} kp_api_t;

/* ---- messages ---- */

/* Sets every field of obj to its default (arrays and slices empty or null as declared). */
void kp_init(const kp_schema_t *s, void *obj);
/* A new object with defaults, from the arena. */
void *kp_new(arena_t *a, const kp_schema_t *s);
/* n new elements of a struct array, with defaults, from the arena (NULL when n <= 0). */
void *kp_new_array(arena_t *a, const kp_schema_t *elem, int32_t n);

/* Decodes a message at `version` from r into obj (initialized here). Slices point into r's
 * buffer; arrays are allocated from a, so obj is valid while both live; nothing needs to be
 * freed besides the arena. KP_OK or KP_EMALFORMED; r is left after the message. */
int kp_decode(const kp_schema_t *s, int version, bool flexible, rd_t *r, arena_t *a, void *obj);
/* Appends the encoding of obj at `version` to b. KP_OK, or KP_EENCODE (b unchanged) when obj
 * cannot be written at that version: null where not nullable, a classic string longer than
 * 32767 bytes, a negative length/count other than -1, a count with no elements. */
int kp_encode(const kp_schema_t *s, int version, bool flexible, const void *obj, buf_t *b);
/* True if x and y hold the same values in every field on the wire at `version`. */
bool kp_equal(const kp_schema_t *s, int version, const void *x, const void *y);
/* Appends a readable one-line rendering of the fields on the wire at `version`, e.g.
 * {Acks=1, Topics=[{Name="t", ...}]} (bytes are shown as their length). */
void kp_dump(const kp_schema_t *s, int version, const void *obj, buf_t *out);

/* ---- primitives, for framing written by hand (headers) ---- */

/* A string/bytes slice; nullable says whether null is acceptable. 0 or KP_EMALFORMED. */
int kp_read_str(rd_t *r, bool flexible, bool nullable, kp_str_t *out);
int kp_read_bytes(rd_t *r, bool flexible, bool nullable, kp_bytes_t *out);
/* Skips a tagged-field section, checking its structure. 0 or KP_EMALFORMED. */
int kp_skip_tagged(rd_t *r);
/* 0 or KP_EENCODE (too long for a classic string). */
int kp_write_str(buf_t *b, bool flexible, kp_str_t s);
void kp_write_bytes(buf_t *b, bool flexible, kp_bytes_t s);

/* ---- slices ---- */

static inline kp_str_t kp_str(const char *s)
{
    kp_str_t r = {(const uint8_t *)s, s ? (int32_t)strlen(s) : -1};
    return r;
}
#define KP_STR_NULL ((kp_str_t){NULL, -1})
/* For printf("%.*s", KP_STR_ARGS(s)); null prints as empty. */
#define KP_STR_ARGS(s) (int)((s).len > 0 ? (s).len : 0), (const char *)((s).len > 0 ? (const char *)(s).p : "")
/* True if s holds exactly the C string c (a null s equals no C string). */
bool kp_str_eq(kp_str_t s, const char *c);
/* A NUL-terminated copy from the arena; NULL for a null slice. */
char *kp_str_dup(arena_t *a, kp_str_t s);

#endif
