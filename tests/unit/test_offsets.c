/* Unit tests: broker/offsets — __consumer_offsets keys and values byte for byte (Kafka 2.4's
 * GroupMetadataManager schemas), decoding of every version, Java's String.hashCode and the
 * group -> partition mapping (expected values computed with a JVM), the offsets table and
 * rebuilding groups and offsets from a partition's records. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "broker/offsets.h"
#include "common/alloc.h"
#include "common/buf.h"
#include "proto/kafka_records.h"
#include "tests/unit/test_kafka_util.h"

/* ---- hashCode --------------------------------------------------------------------------------- */

/* UTF-8 bytes (hex), String.hashCode(), abs % 50 — printed by a JVM (OpenJDK 17):
 * new String(bytes, UTF_8).hashCode(). */
static const struct {
    const char *hex;
    int32_t hash;
    int32_t part50;
} jhash[] = {
    {"", 0, 0},
    {"61", 97, 47},
    {"616263", 96354, 4},
    {"6d792d67726f7570", -1906497762, 12},
    {"636f6e736f6c652d636f6e73756d65722d3132333435", 158455506, 6},
    {"746573742d636f6e73756d65722d67726f7570", -1793216381, 31},
    {"6b61666b612d707974686f6e2d64656661756c742d67726f7570", -243457783, 33},
    {"6772c3bc707065", -1233264812, 12},
    {"e697a5e69cace8aa9e", 25921943, 43},
    {"656d6f6a692df09f9880", 1164511306, 6},
    {"706f6c7967656e656c7562726963616e7473", INT32_MIN, 0},
    {"4779645a475f", INT32_MIN, 0},
    {"67726f75702d30", 293427298, 48},
    {"67726f75702d31", 293427299, 49},
    {"67726f75702d32", 293427300, 0},
    /* malformed UTF-8: the JDK's replacement rules */
    {"ff", 65533, -1},
    {"61c3", 68540, -1},
    {"e08061", 65008833, -1},
    {"eda080", 65533, -1},
    {"f09f98", 65533, -1},
    {"c0af", 2097056, -1},
};

START_TEST(java_hash_code)
{
    for (size_t i = 0; i < sizeof jhash / sizeof *jhash; i++) {
        buf_t b = BUF_INIT;
        hex(&b, jhash[i].hex);
        int32_t h = offsets_java_hash(b.data ? b.data : (uint8_t *)"", b.len);
        ck_assert_msg(h == jhash[i].hash, "%s: got %d want %d", jhash[i].hex, h, jhash[i].hash);
        if (jhash[i].part50 >= 0)
            ck_assert_int_eq(offsets_partition_for(b.data ? b.data : (uint8_t *)"", b.len, 50), jhash[i].part50);
        buf_free(&b);
    }
}
END_TEST

/* ---- keys and values -------------------------------------------------------------------------- */

/* Keys, the offset value v1 and the group value v0 below are byte for byte what Apache Kafka
 * 0.9.0.1's GroupMetadataManager writes (its offsetCommitKey, groupMetadataKey,
 * offsetCommitValue and groupMetadataValue, run on a JVM), and its readers parse ours back.
 * v2/v3 follow Kafka 2.4's schemas (same primitives, fields added as the header describes). */
START_TEST(keys_exact)
{
    buf_t b = BUF_INIT;
    offsets_commit_key_write(&b, kp_str("g1"), kp_str("t"), 7);
    assert_bytes(b.data, b.len, "0001 0002 6731 0001 74 00000007");
    offsets_key_t k;
    ck_assert_int_eq(offsets_key_decode(b.data, b.len, &k), 0);
    ck_assert_int_eq(k.kind, OFFSETS_KEY_COMMIT);
    ck_assert_int_eq(k.version, 1);
    ck_assert(kp_str_eq(k.group, "g1") && kp_str_eq(k.topic, "t"));
    ck_assert_int_eq(k.partition, 7);

    buf_reset(&b);
    offsets_group_key_write(&b, kp_str("g1"));
    assert_bytes(b.data, b.len, "0002 0002 6731");
    ck_assert_int_eq(offsets_key_decode(b.data, b.len, &k), 0);
    ck_assert_int_eq(k.kind, OFFSETS_KEY_GROUP);
    ck_assert(kp_str_eq(k.group, "g1"));

    /* key v0 reads as an offset key; v3 is unknown; truncation is malformed */
    buf_reset(&b);
    hex(&b, "0000 0001 61 0001 62 00000001");
    ck_assert_int_eq(offsets_key_decode(b.data, b.len, &k), 0);
    ck_assert_int_eq(k.kind, OFFSETS_KEY_COMMIT);
    ck_assert_int_eq(k.version, 0);
    for (size_t n = 0; n < b.len; n++)
        ck_assert_int_eq(offsets_key_decode(b.data, n, &k), OFFSETS_EMALFORMED);
    buf_reset(&b);
    hex(&b, "0003 0001 61");
    ck_assert_int_eq(offsets_key_decode(b.data, b.len, &k), OFFSETS_EVERSION);
    buf_reset(&b);
    hex(&b, "0002 ffff");   /* a null group: STRING is not nullable */
    ck_assert_int_eq(offsets_key_decode(b.data, b.len, &k), OFFSETS_EMALFORMED);
    buf_free(&b);
}
END_TEST

START_TEST(commit_values_exact)
{
    buf_t b = BUF_INIT;
    offsets_commit_t c = {.offset = 42, .leader_epoch = 5, .metadata = kp_str("md"), .commit_ts = 1000, .expire_ts = -1};
    ck_assert_int_eq(offsets_commit_value_version(&c), 3);
    ck_assert_int_eq(offsets_commit_value_write(&b, 3, &c), 0);
    assert_bytes(b.data, b.len, "0003 000000000000002a 00000005 0002 6d64 00000000000003e8");
    buf_reset(&b);
    ck_assert_int_eq(offsets_commit_value_write(&b, 2, &c), 0);
    assert_bytes(b.data, b.len, "0002 000000000000002a 0002 6d64 00000000000003e8");
    buf_reset(&b);
    ck_assert_int_eq(offsets_commit_value_write(&b, 0, &c), 0);
    assert_bytes(b.data, b.len, "0000 000000000000002a 0002 6d64 00000000000003e8");
    buf_reset(&b);
    c.expire_ts = 2000;
    ck_assert_int_eq(offsets_commit_value_version(&c), 1);
    ck_assert_int_eq(offsets_commit_value_write(&b, 1, &c), 0);
    assert_bytes(b.data, b.len, "0001 000000000000002a 0002 6d64 00000000000003e8 00000000000007d0");
    buf_reset(&b);
    ck_assert_int_eq(offsets_commit_value_write(&b, 4, &c), OFFSETS_EVERSION);
    ck_assert_int_eq(b.len, 0);

    /* no leader epoch, null metadata: -1 and "" */
    offsets_commit_t d = {.offset = 1, .leader_epoch = -1, .metadata = KP_STR_NULL, .commit_ts = 2, .expire_ts = -1};
    ck_assert_int_eq(offsets_commit_value_write(&b, 3, &d), 0);
    assert_bytes(b.data, b.len, "0003 0000000000000001 ffffffff 0000 0000000000000002");

    /* decoding every version */
    offsets_commit_t r;
    ck_assert_int_eq(offsets_commit_value_decode(b.data, b.len, &r), 0);
    ck_assert(r.offset == 1 && r.leader_epoch == -1 && r.metadata.len == 0 && r.commit_ts == 2 && r.expire_ts == -1);
    buf_reset(&b);
    hex(&b, "0001 000000000000002a 0002 6d64 00000000000003e8 00000000000007d0");
    ck_assert_int_eq(offsets_commit_value_decode(b.data, b.len, &r), 0);
    ck_assert(r.offset == 42 && kp_str_eq(r.metadata, "md") && r.commit_ts == 1000 && r.expire_ts == 2000);
    for (size_t n = 0; n < b.len; n++)
        ck_assert_int_eq(offsets_commit_value_decode(b.data, n, &r), OFFSETS_EMALFORMED);
    buf_reset(&b);
    hex(&b, "0001 000000000000002a 0000 00000000000003e8 ffffffffffffffff");
    ck_assert_int_eq(offsets_commit_value_decode(b.data, b.len, &r), 0);
    ck_assert(r.expire_ts == -1);
    buf_reset(&b);
    hex(&b, "0000 0000000000000007 0000 0000000000000009 ffff"); /* trailing bytes ignored */
    ck_assert_int_eq(offsets_commit_value_decode(b.data, b.len, &r), 0);
    ck_assert(r.offset == 7 && r.commit_ts == 9 && r.leader_epoch == -1);
    buf_reset(&b);
    hex(&b, "0004 0000000000000007");
    ck_assert_int_eq(offsets_commit_value_decode(b.data, b.len, &r), OFFSETS_EVERSION);
    buf_free(&b);
}
END_TEST

static const char *GROUP_V3_HEX =
    "0003"                      /* version */
    "0008 636f6e73756d6572"     /* protocol_type "consumer" */
    "00000003"                  /* generation */
    "0005 72616e6765"           /* protocol "range" */
    "0002 6d31"                 /* leader "m1" */
    "00000000000004d2"          /* current_state_timestamp 1234 */
    "00000002"                  /* members */
    "0002 6d31 ffff 0002 6331 000a 2f3132372e302e302e31 0000ea60 00002710 00000002 0102 00000001 03"
    "0002 6d32 0002 6932 0002 6332 000a 2f3132372e302e302e31 0000ea60 00002710 00000000 00000000";

START_TEST(group_values_exact)
{
    offsets_member_t m[2] = {
        {kp_str("m1"), KP_STR_NULL, kp_str("c1"), kp_str("/127.0.0.1"), 60000, 10000,
         {(const uint8_t *)"\x01\x02", 2}, {(const uint8_t *)"\x03", 1}},
        {kp_str("m2"), kp_str("i2"), kp_str("c2"), kp_str("/127.0.0.1"), 60000, 10000, {NULL, 0}, {NULL, 0}},
    };
    offsets_group_t g = {.protocol_type = kp_str("consumer"), .generation = 3, .protocol = kp_str("range"),
                         .leader = kp_str("m1"), .current_state_ts = 1234, .member_count = 2, .members = m};
    buf_t b = BUF_INIT;
    ck_assert_int_eq(offsets_group_value_write(&b, 3, &g), 0);
    assert_bytes(b.data, b.len, GROUP_V3_HEX);

    /* v2: no group_instance_id; v1: no current_state_timestamp; v0: no rebalance timeout */
    buf_reset(&b);
    ck_assert_int_eq(offsets_group_value_write(&b, 2, &g), 0);
    assert_bytes(b.data, b.len,
                 "0002 0008 636f6e73756d6572 00000003 0005 72616e6765 0002 6d31 00000000000004d2 00000002"
                 "0002 6d31 0002 6331 000a 2f3132372e302e302e31 0000ea60 00002710 00000002 0102 00000001 03"
                 "0002 6d32 0002 6332 000a 2f3132372e302e302e31 0000ea60 00002710 00000000 00000000");
    buf_reset(&b);
    ck_assert_int_eq(offsets_group_value_write(&b, 0, &g), 0);
    assert_bytes(b.data, b.len,
                 "0000 0008 636f6e73756d6572 00000003 0005 72616e6765 0002 6d31 00000002"
                 "0002 6d31 0002 6331 000a 2f3132372e302e302e31 00002710 00000002 0102 00000001 03"
                 "0002 6d32 0002 6332 000a 2f3132372e302e302e31 00002710 00000000 00000000");

    /* Kafka 0.9.0.1's groupMetadataValue for group "grp": consumer, generation 3, range, one member */
    offsets_group_t one = g;
    one.member_count = 1;
    buf_reset(&b);
    ck_assert_int_eq(offsets_group_value_write(&b, 0, &one), 0);
    assert_bytes(b.data, b.len,
                 "00000008636f6e73756d657200000003000572616e676500026d310000000100026d3100026331000a2f3132372e302e302e"
                 "31000027100000000201020000000103");

    /* an empty group: null protocol and leader, no members */
    offsets_group_t e = {.protocol_type = kp_str("consumer"), .generation = 4, .protocol = KP_STR_NULL,
                         .leader = KP_STR_NULL, .current_state_ts = 99, .member_count = 0};
    buf_reset(&b);
    ck_assert_int_eq(offsets_group_value_write(&b, 3, &e), 0);
    assert_bytes(b.data, b.len, "0003 0008 636f6e73756d6572 00000004 ffff ffff 0000000000000063 00000000");

    /* decode v3 and v0 */
    arena_t a;
    arena_init(&a);
    buf_reset(&b);
    hex(&b, GROUP_V3_HEX);
    offsets_group_t r;
    ck_assert_int_eq(offsets_group_value_decode(b.data, b.len, &a, &r), 0);
    ck_assert_int_eq(r.version, 3);
    ck_assert(kp_str_eq(r.protocol_type, "consumer") && r.generation == 3 && kp_str_eq(r.protocol, "range"));
    ck_assert(kp_str_eq(r.leader, "m1") && r.current_state_ts == 1234 && r.member_count == 2);
    ck_assert(kp_str_eq(r.members[0].member_id, "m1") && r.members[0].group_instance_id.len == -1);
    ck_assert(kp_str_eq(r.members[1].group_instance_id, "i2"));
    ck_assert(r.members[0].rebalance_timeout == 60000 && r.members[0].session_timeout == 10000);
    ck_assert(r.members[0].subscription.len == 2 && r.members[0].assignment.len == 1);
    for (size_t n = 0; n < b.len; n++)
        ck_assert_int_eq(offsets_group_value_decode(b.data, n, &a, &r), OFFSETS_EMALFORMED);

    buf_reset(&b);
    ck_assert_int_eq(offsets_group_value_write(&b, 0, &g), 0);
    ck_assert_int_eq(offsets_group_value_decode(b.data, b.len, &a, &r), 0);
    ck_assert(r.members[0].rebalance_timeout == 10000 && r.current_state_ts == -1);

    /* a hostile member count does not allocate */
    buf_reset(&b);
    hex(&b, "0003 0000 00000001 ffff ffff 0000000000000000 7fffffff");
    ck_assert_int_eq(offsets_group_value_decode(b.data, b.len, &a, &r), OFFSETS_EMALFORMED);
    arena_free(&a);
    buf_free(&b);
}
END_TEST

/* ---- table ------------------------------------------------------------------------------------ */

START_TEST(table_last_write_wins)
{
    offsets_table_t t;
    offsets_table_init(&t);
    offsets_commit_t c = {.offset = 10, .leader_epoch = -1, .metadata = kp_str("x"), .commit_ts = 1, .expire_ts = -1};
    ck_assert(offsets_table_put(&t, kp_str("t"), 0, &c, 100));
    c.offset = 5;
    ck_assert(!offsets_table_put(&t, kp_str("t"), 0, &c, 99));   /* written earlier: ignored */
    ck_assert_int_eq(offsets_table_get(&t, kp_str("t"), 0)->c.offset, 10);
    ck_assert(offsets_table_put(&t, kp_str("t"), 0, &c, 101));    /* later: wins, even if lower */
    ck_assert_int_eq(offsets_table_get(&t, kp_str("t"), 0)->c.offset, 5);
    ck_assert(offsets_table_put(&t, kp_str("a"), 3, &c, 1));
    ck_assert(offsets_table_put(&t, kp_str("a"), 1, &c, 1));
    ck_assert(offsets_table_get(&t, kp_str("t"), 1) == NULL);
    size_t n;
    offsets_entry_t **v = offsets_table_sorted(&t, &n);
    ck_assert_int_eq(n, 3);
    ck_assert(!strcmp(v[0]->topic, "a") && v[0]->partition == 1 && v[1]->partition == 3 && !strcmp(v[2]->topic, "t"));
    free(v);
    ck_assert(offsets_table_del(&t, kp_str("a"), 1));
    ck_assert(!offsets_table_del(&t, kp_str("a"), 1));
    ck_assert_int_eq(offsets_table_count(&t), 2);
    offsets_table_t u;
    offsets_table_init(&u);
    offsets_table_move(&u, &t);
    ck_assert_int_eq(offsets_table_count(&t), 0);
    ck_assert_int_eq(offsets_table_count(&u), 2);
    offsets_table_fini(&u);
    offsets_table_fini(&t);
}
END_TEST

/* ---- loading ---------------------------------------------------------------------------------- */

static void add_commit(buf_t *keys, buf_t *vals, offsets_kv_t *kv, const char *g, const char *t, int32_t p,
                       int64_t off)
{
    size_t ko = keys->len, vo = vals->len;
    offsets_commit_key_write(keys, kp_str(g), kp_str(t), p);
    kv->key_len = keys->len - ko;
    kv->key = (const uint8_t *)(uintptr_t)ko;   /* fixed up once the buffers stop moving */
    if (off < 0) {
        kv->value = NULL;
        kv->value_len = -1;
        return;
    }
    offsets_commit_t c = {.offset = off, .leader_epoch = -1, .metadata = kp_str(""), .commit_ts = 5, .expire_ts = -1};
    offsets_commit_value_write(vals, 3, &c);
    kv->value_len = (int32_t)(vals->len - vo);
    kv->value = (const uint8_t *)(uintptr_t)vo;
}

START_TEST(loader_rebuilds)
{
    buf_t keys = BUF_INIT, vals = BUF_INIT, log = BUF_INIT;
    offsets_kv_t kv[8];
    size_t n = 0;
    add_commit(&keys, &vals, &kv[n++], "g", "t", 0, 10);
    add_commit(&keys, &vals, &kv[n++], "g", "t", 1, 20);
    add_commit(&keys, &vals, &kv[n++], "g", "t", 0, 15);   /* later wins */
    add_commit(&keys, &vals, &kv[n++], "g", "t", 1, -1);   /* tombstone */
    add_commit(&keys, &vals, &kv[n++], "simple", "u", 0, 7);
    /* group metadata for g, then for h followed by its tombstone */
    size_t ko = keys.len, vo = vals.len;
    offsets_group_key_write(&keys, kp_str("g"));
    offsets_group_t e = {.protocol_type = kp_str("consumer"), .generation = 2, .protocol = KP_STR_NULL,
                         .leader = KP_STR_NULL, .current_state_ts = 1, .member_count = 0};
    offsets_group_value_write(&vals, 3, &e);
    kv[n].key = (const uint8_t *)(uintptr_t)ko;
    kv[n].key_len = keys.len - ko;
    kv[n].value = (const uint8_t *)(uintptr_t)vo;
    kv[n++].value_len = (int32_t)(vals.len - vo);
    ko = keys.len;
    offsets_group_key_write(&keys, kp_str("h"));
    kv[n].key = (const uint8_t *)(uintptr_t)ko;
    kv[n].key_len = keys.len - ko;
    kv[n].value = (const uint8_t *)(uintptr_t)vo;
    kv[n++].value_len = (int32_t)(vals.len - vo);
    kv[n].key = (const uint8_t *)(uintptr_t)ko;
    kv[n].key_len = keys.len - ko;
    kv[n].value = NULL;
    kv[n++].value_len = -1;
    for (size_t i = 0; i < n; i++) {
        kv[i].key = keys.data + (uintptr_t)kv[i].key;
        if (kv[i].value_len >= 0)
            kv[i].value = vals.data + (uintptr_t)kv[i].value;
    }
    /* two batches, as the log would hold them (the second at offset 5) */
    ck_assert_int_eq(offsets_batch_build(&log, kv, 5, 1000), 0);
    size_t first = log.len;
    ck_assert_int_eq(offsets_batch_build(&log, kv + 5, n - 5, 1001), 0);
    be64_put(log.data + first, 5);

    /* the batch is what Kafka writes: v2, CreateTime, no codec, keys and values as given */
    krec_iter_t it;
    krec_record_t rec;
    krec_iter_init(&it, log.data, log.len, 0, 0);
    size_t i = 0;
    while (krec_iter_next(&it, &rec) == 1) {
        ck_assert_int_eq(it.batch.magic, 2);
        ck_assert_int_eq(it.batch.codec, 0);
        ck_assert_int_eq(rec.offset, (int64_t)i);
        ck_assert_int_eq(rec.timestamp, i < 5 ? 1000 : 1001);
        ck_assert_int_eq(rec.key_len, kv[i].key_len);
        ck_assert_int_eq(rec.value_len, kv[i].value_len);
        i++;
    }
    ck_assert_int_eq(i, n);
    krec_iter_free(&it);

    offsets_loader_t l;
    offsets_loader_init(&l);
    ck_assert_int_eq(offsets_loader_feed(&l, log.data, log.len), 0);
    offsets_loader_record(&l, (const uint8_t *)"\x00\x09", 2, NULL, -1, 100);   /* unknown key version */
    ck_assert_int_eq(l.records, (int64_t)n + 1);
    ck_assert_int_eq(l.skipped, 1);
    ck_assert_int_eq(hmap_count(&l.groups), 3);
    offsets_loaded_t *g = hmap_gets(&l.groups, "g");
    ck_assert_ptr_nonnull(g);
    ck_assert_ptr_nonnull(g->meta);
    ck_assert_int_eq(offsets_table_count(&g->offsets), 1);
    ck_assert_int_eq(offsets_table_get(&g->offsets, kp_str("t"), 0)->c.offset, 15);
    ck_assert_int_eq(offsets_table_get(&g->offsets, kp_str("t"), 0)->log_offset, 2);
    offsets_loaded_t *h = hmap_gets(&l.groups, "h");
    ck_assert(h->meta == NULL && h->meta_deleted);
    offsets_loaded_t *s = hmap_gets(&l.groups, "simple");
    ck_assert(s->meta == NULL && !s->meta_deleted && offsets_table_count(&s->offsets) == 1);
    hmap_iter_t hi;
    hmap_iter_init(&l.groups, &hi);
    offsets_loaded_t *x;
    int cnt = 0;
    while (offsets_loader_next(&l, &hi, &x))
        cnt++;
    ck_assert_int_eq(cnt, 3);
    offsets_loader_fini(&l);
    buf_free(&keys);
    buf_free(&vals);
    buf_free(&log);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("offsets");
    TCase *tc = tcase_create("offsets");
    tcase_add_test(tc, java_hash_code);
    tcase_add_test(tc, keys_exact);
    tcase_add_test(tc, commit_values_exact);
    tcase_add_test(tc, group_values_exact);
    tcase_add_test(tc, table_last_write_wins);
    tcase_add_test(tc, loader_rebuilds);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? EXIT_FAILURE : EXIT_SUCCESS;
}
