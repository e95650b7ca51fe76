/* Unit tests: the generic Kafka codec (proto/kafka_codec.h) — every API at every version in
 * both directions, primitives, defaults, and hostile input (B9-B11). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/varint.h"
#include "proto/kafka_api.h"
#include "tests/unit/test_kafka_util.h"

/* ---- a deterministic filler: random values for every field on the wire at a version ---- */

static uint64_t rng_state;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

static void fill_struct(const kp_schema_t *s, int v, arena_t *a, void *obj, int depth);

static bool field_present(const kp_field_t *f, int v)
{
    return v >= f->vmin && v <= f->vmax;
}

static bool field_nullable(const kp_field_t *f, int v)
{
    return v >= f->nmin && v <= f->nmax;
}

static void fill_slice(kp_bytes_t *s, bool nullable, arena_t *a)
{
    if (nullable && rnd() % 4 == 0) {
        *s = (kp_bytes_t){NULL, -1};
        return;
    }
    int32_t n = (int32_t)(rnd() % 9);
    uint8_t *p = arena_alloc(a, (size_t)n + 1);
    for (int32_t i = 0; i < n; i++)
        p[i] = (uint8_t)rnd();
    *s = (kp_bytes_t){p, n};
}

static void fill_value(uint8_t t, const kp_schema_t *sub, bool nullable, int v, arena_t *a, void *fp, int depth)
{
    switch (t) {
    case KP_BOOL: *(bool *)fp = rnd() & 1; break;
    case KP_INT8: *(int8_t *)fp = (int8_t)rnd(); break;
    case KP_INT16: *(int16_t *)fp = (int16_t)rnd(); break;
    case KP_UINT16: *(uint16_t *)fp = (uint16_t)rnd(); break;
    case KP_INT32: *(int32_t *)fp = (int32_t)rnd(); break;
    case KP_INT64: *(int64_t *)fp = (int64_t)((uint64_t)rnd() << 32 | rnd()); break;
    case KP_FLOAT64: *(double *)fp = (double)rnd() / 7.0; break;
    case KP_UUID:
        for (int i = 0; i < 16; i++)
            ((kp_uuid_t *)fp)->b[i] = (uint8_t)rnd();
        break;
    case KP_STRING: case KP_BYTES: case KP_RECORDS: fill_slice(fp, nullable, a); break;
    case KP_STRUCT: fill_struct(sub, v, a, fp, depth + 1); break;
    }
}

static size_t elem_size(const kp_field_t *f)
{
    switch (f->elem) {
    case KP_INT8: return 1;
    case KP_INT16: return 2;
    case KP_INT32: return 4;
    case KP_INT64: return 8;
    case KP_UUID: return 16;
    case KP_STRING: return sizeof(kp_str_t);
    case KP_STRUCT: return f->sub->size;
    }
    ck_abort_msg("unexpected element type");
    return 0;
}

static void fill_struct(const kp_schema_t *s, int v, arena_t *a, void *obj, int depth)
{
    kp_init(s, obj);
    for (uint32_t i = 0; i < s->nfields; i++) {
        const kp_field_t *f = &s->fields[i];
        if (!field_present(f, v))
            continue;
        void *fp = (char *)obj + f->off;
        if (f->tagv >= 0 && rnd() % 3 == 0)
            continue;   /* leave a tagged field at its default now and then */
        if (f->type != KP_ARRAY) {
            fill_value(f->type, f->sub, field_nullable(f, v), v, a, fp, depth);
            continue;
        }
        KP_ARRAY_OF(char) arr;
        if (field_nullable(f, v) && rnd() % 4 == 0) {
            arr.n = -1;
            arr.v = NULL;
        } else {
            arr.n = (int32_t)(rnd() % (depth > 2 ? 2 : 4));
            arr.v = arr.n ? arena_alloc(a, (size_t)arr.n * elem_size(f)) : NULL;
            for (int32_t j = 0; j < arr.n; j++) {
                void *e = arr.v + (size_t)j * elem_size(f);
                if (f->elem == KP_STRUCT)
                    kp_init(f->sub, e);
                fill_value(f->elem, f->sub, false, v, a, e, depth);
            }
        }
        memcpy(fp, &arr, sizeof arr);
    }
}

/* Encode -> decode -> compare -> re-encode byte-identical; every strict prefix fails. */
static void roundtrip(const kp_api_t *api, const kp_schema_t *s, int v, int iter)
{
    arena_t a = ARENA_INIT;
    bool flex = kp_api_flexible(api, v);
    void *obj = arena_alloc(&a, s->size);
    fill_struct(s, v, &a, obj, 0);
    buf_t b = BUF_INIT, b2 = BUF_INIT;
    ck_assert_msg(kp_encode(s, v, flex, obj, &b) == KP_OK, "%s v%d encode", s->name, v);

    void *out = arena_alloc(&a, s->size);
    rd_t r;
    rd_init(&r, b.data, b.len);
    ck_assert_msg(kp_decode(s, v, flex, &r, &a, out) == KP_OK, "%s v%d iter %d decode", s->name, v, iter);
    ck_assert_msg(rd_left(&r) == 0, "%s v%d: %zu bytes left", s->name, v, rd_left(&r));
    if (!kp_equal(s, v, obj, out)) {
        buf_t d1 = BUF_INIT, d2 = BUF_INIT;
        kp_dump(s, v, obj, &d1);
        kp_dump(s, v, out, &d2);
        ck_abort_msg("%s v%d differs:\n%s\n%s", s->name, v, buf_cstr(&d1), buf_cstr(&d2));
    }
    ck_assert_int_eq(kp_encode(s, v, flex, out, &b2), KP_OK);
    ck_assert_msg(b2.len == b.len && (b.len == 0 || memcmp(b.data, b2.data, b.len) == 0), "%s v%d re-encode",
                  s->name, v);

    for (size_t cut = 0; cut < b.len; cut++) {
        rd_init(&r, b.data, cut);
        ck_assert_msg(kp_decode(s, v, flex, &r, &a, out) == KP_EMALFORMED, "%s v%d prefix %zu accepted",
                      s->name, v, cut);
    }
    buf_free(&b);
    buf_free(&b2);
    arena_free(&a);
}

START_TEST(every_api_every_version_roundtrips)
{
    int combos = 0;
    for (size_t i = 0; i < KP_API_COUNT; i++) {
        const kp_api_t *api = &kp_api_table[i];
        ck_assert_int_eq(api->min_ver, 0);
        for (int v = api->min_ver; v <= api->max_ver; v++) {
            for (int iter = 0; iter < 25; iter++) {
                rng_state = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)api->key << 40) ^ ((uint64_t)v << 20) ^ (uint64_t)iter;
                roundtrip(api, api->req, v, iter);
                roundtrip(api, api->resp, v, iter);
            }
            combos++;
        }
    }
    /* Kafka 2.4's ranges for the 28 APIs: 144 (api, version) pairs */
    ck_assert_int_eq(combos, 144);
}
END_TEST

/* ---- types no Kafka 2.4 message uses yet: embedded struct, uuid, float64, uint16, a tagged
 * struct; a hand-written schema, classic at v0 and flexible from v1 ---- */

typedef struct t_inner_s {
    int32_t A;
    kp_str_t S;
} t_inner;

typedef struct t_all_s {
    bool B;
    int8_t I8;
    uint16_t U16;
    double F;
    kp_uuid_t U;
    t_inner In;
    KP_ARRAY_OF(kp_uuid_t) Ids;
    KP_ARRAY_OF(int64_t) L;
    t_inner Tagged;
    int32_t TaggedInt;
} t_all;

static const kp_field_t t_inner_fields[] = {
    {"A", offsetof(t_inner, A), KP_INT32, 0, 0, KP_VMAX, 1, 0, -1, -1, 7, NULL},
    {"S", offsetof(t_inner, S), KP_STRING, 0, 0, KP_VMAX, 0, KP_VMAX, -1, -1, KP_DEFAULT_NULL, NULL},
};
static const kp_schema_t t_inner_schema = {"Inner", sizeof(t_inner), 2, t_inner_fields};
static const kp_field_t t_all_fields[] = {
    {"B", offsetof(t_all, B), KP_BOOL, 0, 0, KP_VMAX, 1, 0, -1, -1, 1, NULL},
    {"I8", offsetof(t_all, I8), KP_INT8, 0, 0, KP_VMAX, 1, 0, -1, -1, -3, NULL},
    {"U16", offsetof(t_all, U16), KP_UINT16, 0, 0, KP_VMAX, 1, 0, -1, -1, 65535, NULL},
    {"F", offsetof(t_all, F), KP_FLOAT64, 0, 0, KP_VMAX, 1, 0, -1, -1, 0, NULL},
    {"U", offsetof(t_all, U), KP_UUID, 0, 0, KP_VMAX, 1, 0, -1, -1, 0, NULL},
    {"In", offsetof(t_all, In), KP_STRUCT, 0, 0, KP_VMAX, 1, 0, -1, -1, 0, &t_inner_schema},
    {"Ids", offsetof(t_all, Ids), KP_ARRAY, KP_UUID, 0, KP_VMAX, 1, 0, -1, -1, 0, NULL},
    {"L", offsetof(t_all, L), KP_ARRAY, KP_INT64, 0, KP_VMAX, 0, KP_VMAX, -1, -1, 0, NULL},
    {"Tagged", offsetof(t_all, Tagged), KP_STRUCT, 0, 1, KP_VMAX, 1, 0, 1, 3, 0, &t_inner_schema},
    {"TaggedInt", offsetof(t_all, TaggedInt), KP_INT32, 0, 1, KP_VMAX, 1, 0, 1, 1, -1, NULL},
};
static const kp_schema_t t_all_schema = {"All", sizeof(t_all), 10, t_all_fields};

START_TEST(every_field_type)
{
    static const kp_api_t t_api = {999, "All", 0, 1, 1, &t_all_schema, &t_all_schema};
    for (int iter = 0; iter < 200; iter++) {
        rng_state = 0x5eed0000ULL + (uint64_t)iter;
        roundtrip(&t_api, &t_all_schema, 0, iter);
        roundtrip(&t_api, &t_all_schema, 1, iter);
    }
    arena_t a = ARENA_INIT;
    t_all *x = kp_new(&a, &t_all_schema);
    ck_assert(x->B && x->I8 == -3 && x->U16 == 65535 && x->In.A == 7 && x->In.S.len == -1);
    ck_assert(x->Tagged.A == 7 && x->TaggedInt == -1 && x->L.n == 0);
    buf_t b = BUF_INIT;
    /* defaults at v1: the tagged struct and int are default, so no tags are written */
    ck_assert_int_eq(kp_encode(&t_all_schema, 1, true, x, &b), KP_OK);
    ck_assert_uint_eq(b.len, 1 + 1 + 2 + 8 + 16 + (4 + 1 + 1) + 1 + 1 + 1);
    ck_assert_uint_eq(b.data[b.len - 1], 0);
    /* a tagged struct that differs from its default: tag 1 (TaggedInt) before tag 3 */
    x->Tagged.S = kp_str("z");
    x->TaggedInt = 5;
    b.len = 0;
    ck_assert_int_eq(kp_encode(&t_all_schema, 1, true, x, &b), KP_OK);
    static const uint8_t tags[] = {2, 1, 4, 0, 0, 0, 5, 3, 7, 0, 0, 0, 7, 2, 'z', 0};
    ck_assert_uint_eq(b.len, 36 + sizeof tags);
    ck_assert_mem_eq(b.data + 36, tags, sizeof tags);
    rd_t r;
    rd_init(&r, b.data, b.len);
    t_all y;
    ck_assert_int_eq(kp_decode(&t_all_schema, 1, true, &r, &a, &y), KP_OK);
    ck_assert(kp_equal(&t_all_schema, 1, x, &y));
    ck_assert(kp_str_eq(y.Tagged.S, "z"));
    /* at v0 (classic) the tagged fields are not on the wire at all */
    b.len = 0;
    ck_assert_int_eq(kp_encode(&t_all_schema, 0, false, x, &b), KP_OK);
    ck_assert_uint_eq(b.len, 1 + 1 + 2 + 8 + 16 + (4 + 2) + 4 + 4);
    buf_free(&b);
    arena_free(&a);
}
END_TEST

/* ---- exact layouts ---- */

START_TEST(metadata_classic_and_flexible_layouts)
{
    arena_t a = ARENA_INIT;
    kp_MetadataRequest *m = kp_new(&a, &kp_MetadataRequest_schema);
    m->Topics.n = 2;
    m->Topics.v = kp_new_array(&a, &kp_MetadataRequest_MetadataRequestTopic_schema, 2);
    m->Topics.v[0].Name = kp_str("ab");
    m->Topics.v[1].Name = kp_str("c");
    buf_t b = BUF_INIT;
    /* v0: int32 count, int16-length strings */
    ck_assert_int_eq(kp_encode(&kp_MetadataRequest_schema, 0, false, m, &b), KP_OK);
    assert_bytes(b.data, b.len, "00000002 0002 6162 0001 63");
    /* v4: + allow_auto_topic_creation (default true) */
    b.len = 0;
    ck_assert_int_eq(kp_encode(&kp_MetadataRequest_schema, 4, false, m, &b), KP_OK);
    assert_bytes(b.data, b.len, "00000002 0002 6162 0001 63 01");
    /* v9 (flexible): compact array (n+1), compact strings (len+1), an empty tag section after
     * each struct, the two v8 bools */
    b.len = 0;
    ck_assert_int_eq(kp_encode(&kp_MetadataRequest_schema, 9, true, m, &b), KP_OK);
    assert_bytes(b.data, b.len, "03 03616200 026300 01 00 00 00");
    /* v1+: null = all topics; as -1 classic and 0 compact */
    m->Topics.n = -1;
    b.len = 0;
    ck_assert_int_eq(kp_encode(&kp_MetadataRequest_schema, 1, false, m, &b), KP_OK);
    assert_bytes(b.data, b.len, "ffffffff");
    b.len = 0;
    ck_assert_int_eq(kp_encode(&kp_MetadataRequest_schema, 9, true, m, &b), KP_OK);
    assert_bytes(b.data, b.len, "00 01 00 00 00");
    /* v0 cannot say null */
    b.len = 0;
    ck_assert_int_eq(kp_encode(&kp_MetadataRequest_schema, 0, false, m, &b), KP_EENCODE);
    ck_assert_uint_eq(b.len, 0);
    buf_free(&b);
    arena_free(&a);
}
END_TEST

START_TEST(tagged_field_written_only_when_not_default)
{
    arena_t a = ARENA_INIT;
    kp_CreateTopicsResponse *r = kp_new(&a, &kp_CreateTopicsResponse_schema);
    r->ThrottleTimeMs = 0;
    r->Topics.n = 1;
    r->Topics.v = kp_new_array(&a, &kp_CreateTopicsResponse_CreatableTopicResult_schema, 1);
    kp_CreateTopicsResponse_CreatableTopicResult *t = &r->Topics.v[0];
    t->Name = kp_str("t");
    t->ErrorMessage = KP_STR_NULL;
    t->Configs.n = -1;
    ck_assert_int_eq(t->NumPartitions, -1);   /* defaults applied by kp_new_array */
    buf_t b = BUF_INIT;
    ck_assert_int_eq(kp_encode(&kp_CreateTopicsResponse_schema, 5, true, r, &b), KP_OK);
    /* throttle, topics[1]: name "t", error 0, message null, partitions -1, rf -1, configs null,
     * no tags; then the top-level empty tag section */
    assert_bytes(b.data, b.len, "00000000 02 0274 0000 00 ffffffff ffff 00 00 00");
    t->TopicConfigErrorCode = 29;
    b.len = 0;
    ck_assert_int_eq(kp_encode(&kp_CreateTopicsResponse_schema, 5, true, r, &b), KP_OK);
    assert_bytes(b.data, b.len, "00000000 02 0274 0000 00 ffffffff ffff 00 01 00 02 001d 00");

    /* and it decodes back */
    rd_t rd;
    rd_init(&rd, b.data, b.len);
    kp_CreateTopicsResponse out;
    ck_assert_int_eq(kp_decode(&kp_CreateTopicsResponse_schema, 5, true, &rd, &a, &out), KP_OK);
    ck_assert_int_eq(out.Topics.v[0].TopicConfigErrorCode, 29);
    ck_assert(kp_str_eq(out.Topics.v[0].Name, "t"));
    buf_free(&b);
    arena_free(&a);
}
END_TEST

START_TEST(defaults_for_fields_a_version_lacks)
{
    arena_t a = ARENA_INIT;
    /* Fetch v0: replica -1, max wait 100, min bytes 1, no topics */
    uint8_t fetch_v0[] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 100, 0, 0, 0, 1, 0, 0, 0, 0};
    rd_t r;
    rd_init(&r, fetch_v0, sizeof fetch_v0);
    kp_FetchRequest f;
    ck_assert_int_eq(kp_decode(&kp_FetchRequest_schema, 0, false, &r, &a, &f), KP_OK);
    ck_assert_int_eq(f.ReplicaId, -1);
    ck_assert_int_eq(f.MaxWaitMs, 100);
    ck_assert_int_eq(f.MaxBytes, 0x7fffffff);
    ck_assert_int_eq(f.SessionEpoch, -1);
    ck_assert_int_eq(f.IsolationLevel, 0);
    ck_assert_int_eq(f.RackId.len, 0);

    /* Metadata v0 empty list: auto-create defaults to true */
    uint8_t md_v0[] = {0, 0, 0, 0};
    rd_init(&r, md_v0, sizeof md_v0);
    kp_MetadataRequest m;
    ck_assert_int_eq(kp_decode(&kp_MetadataRequest_schema, 0, false, &r, &a, &m), KP_OK);
    ck_assert(m.AllowAutoTopicCreation);
    ck_assert_int_eq(m.Topics.n, 0);

    /* Produce v0: TransactionalId absent = null */
    kp_ProduceRequest *p = kp_new(&a, &kp_ProduceRequest_schema);
    ck_assert_int_eq(p->TransactionalId.len, -1);
    kp_JoinGroupRequest *j = kp_new(&a, &kp_JoinGroupRequest_schema);
    ck_assert_int_eq(j->RebalanceTimeoutMs, -1);
    ck_assert_int_eq(j->GroupInstanceId.len, -1);
    kp_DescribeGroupsResponse_DescribedGroup *g =
        kp_new_array(&a, &kp_DescribeGroupsResponse_DescribedGroup_schema, 3);
    ck_assert_int_eq(g[2].AuthorizedOperations, INT32_MIN);
    ck_assert_ptr_null(kp_new_array(&a, &kp_DescribeGroupsResponse_DescribedGroup_schema, 0));
    arena_free(&a);
}
END_TEST

START_TEST(records_are_zero_copy)
{
    arena_t a = ARENA_INIT;
    /* Produce v0: acks 1, timeout 1000, one topic "t", partition 0, 3 bytes of records */
    uint8_t req[] = {0, 1, 0, 0, 0x03, 0xe8, 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3, 7, 8, 9};
    rd_t r;
    rd_init(&r, req, sizeof req);
    kp_ProduceRequest p;
    ck_assert_int_eq(kp_decode(&kp_ProduceRequest_schema, 0, false, &r, &a, &p), KP_OK);
    ck_assert_int_eq(p.Acks, 1);
    ck_assert_int_eq(p.TimeoutMs, 1000);
    ck_assert_int_eq(p.Topics.n, 1);
    ck_assert(kp_str_eq(p.Topics.v[0].Name, "t"));
    ck_assert_ptr_eq(p.Topics.v[0].Name.p, req + 12);
    kp_bytes_t rec = p.Topics.v[0].Partitions.v[0].Records;
    ck_assert_int_eq(rec.len, 3);
    ck_assert_ptr_eq(rec.p, req + sizeof req - 3);
    buf_t d = BUF_INIT;
    kp_dump(&kp_ProduceRequest_schema, 0, &p, &d);
    ck_assert_str_eq(buf_cstr(&d), "{Acks=1, TimeoutMs=1000, Topics=[{Name=\"t\", Partitions=[{PartitionIndex=0, Records=bytes(3)}]}]}");
    buf_free(&d);
    arena_free(&a);
}
END_TEST

/* ---- hostile input ---- */

static int decode_hex(const kp_schema_t *s, int v, bool flex, const char *h, arena_t *a, void *obj)
{
    buf_t b = BUF_INIT;
    hex(&b, h);
    /* the input lives in the arena so that decoded slices stay valid */
    const uint8_t *in = arena_memdup(a, b.data ? b.data : (uint8_t *)"", b.len);
    rd_t r;
    rd_init(&r, in, b.len);
    int rc = kp_decode(s, v, flex, &r, a, obj);
    buf_free(&b);
    return rc;
}

START_TEST(hostile_lengths_b9)
{
    arena_t a = ARENA_INIT;
    kp_SaslHandshakeRequest sh;
    /* string length -2, and longer than what is left */
    ck_assert_int_eq(decode_hex(&kp_SaslHandshakeRequest_schema, 0, false, "fffe", &a, &sh), KP_EMALFORMED);
    ck_assert_int_eq(decode_hex(&kp_SaslHandshakeRequest_schema, 0, false, "0005 6162", &a, &sh), KP_EMALFORMED);
    /* null where not nullable */
    ck_assert_int_eq(decode_hex(&kp_SaslHandshakeRequest_schema, 0, false, "ffff", &a, &sh), KP_EMALFORMED);
    ck_assert_int_eq(decode_hex(&kp_SaslHandshakeRequest_schema, 0, false, "0000", &a, &sh), KP_OK);

    /* an array count of 2^31-1 with 8 bytes behind it: rejected before allocating */
    kp_DeleteTopicsRequest dt;
    size_t before = a.used_total;
    ck_assert_int_eq(decode_hex(&kp_DeleteTopicsRequest_schema, 0, false, "7fffffff 0001 61 0001 62 00", &a, &dt),
                     KP_EMALFORMED);
    ck_assert_uint_lt(a.used_total - before, 1024);
    /* count -2; -1 where the array is not nullable (DeleteTopics) */
    ck_assert_int_eq(decode_hex(&kp_DeleteTopicsRequest_schema, 0, false, "fffffffe 00000000", &a, &dt), KP_EMALFORMED);
    ck_assert_int_eq(decode_hex(&kp_DeleteTopicsRequest_schema, 0, false, "ffffffff 00000000", &a, &dt), KP_EMALFORMED);
    /* bytes length -2 / beyond the end */
    kp_SyncGroupResponse sg;
    ck_assert_int_eq(decode_hex(&kp_SyncGroupResponse_schema, 0, false, "0000 fffffffe", &a, &sg), KP_EMALFORMED);
    ck_assert_int_eq(decode_hex(&kp_SyncGroupResponse_schema, 0, false, "0000 00000002 01", &a, &sg), KP_EMALFORMED);
    ck_assert_int_eq(decode_hex(&kp_SyncGroupResponse_schema, 0, false, "0000 00000001 01", &a, &sg), KP_OK);
    /* nullable array: OffsetFetch v2+ topics may be null, v1 not */
    kp_OffsetFetchRequest of;
    ck_assert_int_eq(decode_hex(&kp_OffsetFetchRequest_schema, 2, false, "0001 67 ffffffff", &a, &of), KP_OK);
    ck_assert_int_eq(of.Topics.n, -1);
    ck_assert_int_eq(decode_hex(&kp_OffsetFetchRequest_schema, 1, false, "0001 67 ffffffff", &a, &of), KP_EMALFORMED);
    arena_free(&a);
}
END_TEST

START_TEST(hostile_varints_b10)
{
    arena_t a = ARENA_INIT;
    kp_ApiVersionsRequest av;
    ck_assert_int_eq(decode_hex(&kp_ApiVersionsRequest_schema, 3, true, "0b 6c696272646b61666b61 06 322e302e32 00", &a, &av),
                     KP_OK);
    ck_assert(kp_str_eq(av.ClientSoftwareName, "librdkafka"));
    ck_assert(kp_str_eq(av.ClientSoftwareVersion, "2.0.2"));
    /* a 6-byte varint length */
    ck_assert_int_eq(decode_hex(&kp_ApiVersionsRequest_schema, 3, true, "8080808080 00", &a, &av), KP_EMALFORMED);
    /* truncated varint */
    ck_assert_int_eq(decode_hex(&kp_ApiVersionsRequest_schema, 3, true, "80", &a, &av), KP_EMALFORMED);
    /* compact length 0xffffffff - 1: beyond int32 */
    ck_assert_int_eq(decode_hex(&kp_ApiVersionsRequest_schema, 3, true, "ffffffff0f 00 00", &a, &av), KP_EMALFORMED);
    /* varint beyond 32 bits (5th byte > 0x0f) */
    ck_assert_int_eq(decode_hex(&kp_ApiVersionsRequest_schema, 3, true, "ffffffff7f 00 00", &a, &av), KP_EMALFORMED);
    /* compact null (0) for a non-nullable string */
    ck_assert_int_eq(decode_hex(&kp_ApiVersionsRequest_schema, 3, true, "00 01 00", &a, &av), KP_EMALFORMED);
    /* compact array count huge */
    kp_DeleteTopicsRequest dt;
    ck_assert_int_eq(decode_hex(&kp_DeleteTopicsRequest_schema, 4, true, "ffffff7f 00000000 00", &a, &dt), KP_EMALFORMED);
    arena_free(&a);
}
END_TEST

START_TEST(hostile_tags_b11)
{
    arena_t a = ARENA_INIT;
    kp_ApiVersionsRequest av;
    /* well-formed unknown tags are skipped */
    ck_assert_int_eq(decode_hex(&kp_ApiVersionsRequest_schema, 3, true, "02 61 02 62 02 05 02 aabb 09 00", &a, &av), KP_OK);
    ck_assert(kp_str_eq(av.ClientSoftwareName, "a") && kp_str_eq(av.ClientSoftwareVersion, "b"));
    /* out of order */
    ck_assert_int_eq(decode_hex(&kp_ApiVersionsRequest_schema, 3, true, "02 61 02 62 02 09 00 05 00", &a, &av),
                     KP_EMALFORMED);
    /* duplicate */
    ck_assert_int_eq(decode_hex(&kp_ApiVersionsRequest_schema, 3, true, "02 61 02 62 02 05 00 05 00", &a, &av),
                     KP_EMALFORMED);
    /* size beyond the frame */
    ck_assert_int_eq(decode_hex(&kp_ApiVersionsRequest_schema, 3, true, "02 61 02 62 01 05 09 aabb", &a, &av),
                     KP_EMALFORMED);
    /* more tags announced than present */
    ck_assert_int_eq(decode_hex(&kp_ApiVersionsRequest_schema, 3, true, "02 61 02 62 03 05 00", &a, &av), KP_EMALFORMED);

    /* a known tag (CreateTopicsResponse TopicConfigErrorCode, tag 0) whose size does not match
     * an int16 */
    kp_CreateTopicsResponse ct;
    ck_assert_int_eq(decode_hex(&kp_CreateTopicsResponse_schema, 5, true,
                                "00000000 02 0274 0000 00 ffffffff ffff 00 01 00 02 001d 00", &a, &ct), KP_OK);
    ck_assert_int_eq(ct.Topics.v[0].TopicConfigErrorCode, 29);
    ck_assert_int_eq(decode_hex(&kp_CreateTopicsResponse_schema, 5, true,
                                "00000000 02 0274 0000 00 ffffffff ffff 00 01 00 03 001d00 00", &a, &ct),
                     KP_EMALFORMED);
    ck_assert_int_eq(decode_hex(&kp_CreateTopicsResponse_schema, 5, true,
                                "00000000 02 0274 0000 00 ffffffff ffff 00 01 00 01 00 00", &a, &ct),
                     KP_EMALFORMED);
    arena_free(&a);
}
END_TEST

START_TEST(encode_rejects_what_the_version_cannot_carry)
{
    arena_t a = ARENA_INIT;
    buf_t b = BUF_INIT;
    buf_put_u8(&b, 0x55);
    kp_SaslHandshakeRequest sh = {KP_STR_NULL};
    ck_assert_int_eq(kp_encode(&kp_SaslHandshakeRequest_schema, 1, false, &sh, &b), KP_EENCODE);
    ck_assert_uint_eq(b.len, 1);   /* unchanged */
    char *big = arena_alloc(&a, 40000);
    memset(big, 'x', 39999);
    sh.Mechanism = kp_str(big);
    ck_assert_int_eq(kp_encode(&kp_SaslHandshakeRequest_schema, 1, false, &sh, &b), KP_EENCODE);
    sh.Mechanism.len = 32767;
    ck_assert_int_eq(kp_encode(&kp_SaslHandshakeRequest_schema, 1, false, &sh, &b), KP_OK);
    ck_assert_uint_eq(b.len, 1 + 2 + 32767);
    sh.Mechanism = (kp_str_t){NULL, 3};
    ck_assert_int_eq(kp_encode(&kp_SaslHandshakeRequest_schema, 1, false, &sh, &b), KP_EENCODE);
    kp_DeleteTopicsRequest dt = {{2, NULL}, 0};
    ck_assert_int_eq(kp_encode(&kp_DeleteTopicsRequest_schema, 0, false, &dt, &b), KP_EENCODE);
    buf_free(&b);
    arena_free(&a);
}
END_TEST

START_TEST(primitives_and_slices)
{
    arena_t a = ARENA_INIT;
    buf_t b = BUF_INIT;
    ck_assert_int_eq(kp_write_str(&b, false, kp_str("hi")), KP_OK);
    ck_assert_int_eq(kp_write_str(&b, true, KP_STR_NULL), KP_OK);
    kp_write_bytes(&b, true, (kp_bytes_t){(const uint8_t *)"xyz", 3});
    kp_write_bytes(&b, false, (kp_bytes_t){NULL, -1});
    assert_bytes(b.data, b.len, "0002 6869 00 04 78797a ffffffff");
    rd_t r;
    rd_init(&r, b.data, b.len);
    kp_str_t s;
    ck_assert_int_eq(kp_read_str(&r, false, false, &s), KP_OK);
    ck_assert(kp_str_eq(s, "hi"));
    ck_assert_int_eq(kp_read_str(&r, true, true, &s), KP_OK);
    ck_assert_int_eq(s.len, -1);
    ck_assert(!kp_str_eq(s, ""));
    ck_assert_ptr_null(kp_str_dup(&a, s));
    ck_assert_int_eq(kp_read_bytes(&r, true, false, &s), KP_OK);
    ck_assert_str_eq(kp_str_dup(&a, s), "xyz");
    ck_assert_int_eq(kp_read_bytes(&r, false, false, &s), KP_EMALFORMED);

    b.len = 0;
    hex(&b, "02 01 00 03 02 aabb");   /* two tags in order */
    rd_init(&r, b.data, b.len);
    ck_assert_int_eq(kp_skip_tagged(&r), KP_OK);
    ck_assert_uint_eq(rd_left(&r), 0);
    b.len = 0;
    hex(&b, "02 03 00 01 00");
    rd_init(&r, b.data, b.len);
    ck_assert_int_eq(kp_skip_tagged(&r), KP_EMALFORMED);
    char buf[16];
    snprintf(buf, sizeof buf, "[%.*s]", KP_STR_ARGS(KP_STR_NULL));
    ck_assert_str_eq(buf, "[]");
    buf_free(&b);
    arena_free(&a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kafka_codec");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, every_api_every_version_roundtrips);
    tcase_add_test(tc, every_field_type);
    tcase_add_test(tc, metadata_classic_and_flexible_layouts);
    tcase_add_test(tc, tagged_field_written_only_when_not_default);
    tcase_add_test(tc, defaults_for_fields_a_version_lacks);
    tcase_add_test(tc, records_are_zero_copy);
    tcase_add_test(tc, hostile_lengths_b9);
    tcase_add_test(tc, hostile_varints_b10);
    tcase_add_test(tc, hostile_tags_b11);
    tcase_add_test(tc, encode_rejects_what_the_version_cannot_carry);
    tcase_add_test(tc, primitives_and_slices);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
