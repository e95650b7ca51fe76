/* Unit tests: common buffers/maps/properties and the jute codec. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/crc32c.h"
#include "common/hmap.h"
#include "common/props.h"
#include "common/arena.h"
#include "common/varint.h"
#include "proto/zk_proto.h"

START_TEST(stat_roundtrip)
{
    zkp_Stat st, out;
    memset(&st, 0, sizeof st);
    memset(&out, 0xff, sizeof out);
    st = (zkp_Stat){1, 2, 3, 4, 5, 6, 7, 0x100000a1ebc0000LL, 9, 10, 11};
    buf_t b = BUF_INIT;
    jute_encode(&zkp_Stat_rec, &st, &b);
    ck_assert_uint_eq(b.len, 68);
    jute_rd_t jr;
    jute_rd_init(&jr, b.data, b.len);
    ck_assert_int_eq(jute_decode(&zkp_Stat_rec, &out, &jr), 0);
    ck_assert(out.czxid == 1 && out.pzxid == 11 && out.ephemeralOwner == st.ephemeralOwner);
    ck_assert(out.version == 5 && out.numChildren == 10 && out.dataLength == 9);
    buf_free(&b);
}
END_TEST

START_TEST(create_request_roundtrip_and_null_data)
{
    zkp_ACL acl = {31, {"world", "anyone"}};
    zkp_CreateRequest req = {"/a", {NULL, -1}, {1, &acl}, 3};
    buf_t b = BUF_INIT;
    jute_encode(&zkp_CreateRequest_rec, &req, &b);
    jute_rd_t jr;
    jute_rd_init(&jr, b.data, b.len);
    zkp_CreateRequest out;
    ck_assert_int_eq(jute_decode(&zkp_CreateRequest_rec, &out, &jr), 0);
    ck_assert_str_eq(out.path, "/a");
    ck_assert_int_eq(out.data.len, -1);
    ck_assert_int_eq(out.acl.n, 1);
    ck_assert_str_eq(((zkp_ACL *)out.acl.v)[0].id.scheme, "world");
    ck_assert_int_eq(out.flags, 3);
    ck_assert_uint_eq(jute_left(&jr), 0);
    jute_free(&zkp_CreateRequest_rec, &out);
    buf_free(&b);
}
END_TEST

START_TEST(hostile_lengths_rejected)
{
    /* path length claims 2 GiB; vector count claims 1e9 with 4 bytes left */
    uint8_t huge_str[] = {0x7f, 0xff, 0xff, 0xff, 'a'};
    jute_rd_t jr;
    jute_rd_init(&jr, huge_str, sizeof huge_str);
    zkp_PathRequest pr;
    ck_assert_int_eq(jute_decode(&zkp_PathRequest_rec, &pr, &jr), -1);
    ck_assert_ptr_null(pr.path);

    uint8_t neg[] = {0xff, 0xff, 0xff, 0xfe};
    jute_rd_init(&jr, neg, sizeof neg);
    ck_assert_int_eq(jute_decode(&zkp_PathRequest_rec, &pr, &jr), -1);

    uint8_t vec[] = {0, 0, 0, 1, 'x', 0x3b, 0x9a, 0xca, 0x00, 0, 0, 0, 0};
    jute_rd_init(&jr, vec, sizeof vec);
    zkp_SetWatches sw;
    ck_assert_int_eq(jute_decode(&zkp_SetWatches_rec, &sw, &jr), -1);

    /* truncated stat */
    uint8_t shortstat[30] = {0};
    jute_rd_init(&jr, shortstat, sizeof shortstat);
    zkp_Stat st;
    ck_assert_int_eq(jute_decode(&zkp_Stat_rec, &st, &jr), -1);
}
END_TEST

START_TEST(embedded_nul_flagged)
{
    uint8_t s[] = {0, 0, 0, 3, '/', 0, 'a', 1};
    jute_rd_t jr;
    jute_rd_init(&jr, s, sizeof s);
    zkp_PathWatchRequest req;
    ck_assert_int_eq(jute_decode(&zkp_PathWatchRequest_rec, &req, &jr), 0);
    ck_assert(jr.saw_nul);
    jute_free(&zkp_PathWatchRequest_rec, &req);
}
END_TEST

START_TEST(connect_request_optional_readonly)
{
    zkp_ConnectRequest req = {0, 5, 30000, 0, {(uint8_t *)"0123456789abcdef", 16}, true, true};
    buf_t b = BUF_INIT;
    zkp_connect_req_encode(&req, &b);
    ck_assert_uint_eq(b.len, 45);
    jute_rd_t jr;
    jute_rd_init(&jr, b.data, b.len);
    zkp_ConnectRequest out;
    ck_assert_int_eq(zkp_connect_req_decode(&out, &jr), 0);
    ck_assert(out.hasReadOnly && out.readOnly);
    free(out.passwd.data);
    jute_rd_init(&jr, b.data, b.len - 1); /* old client: no readOnly */
    ck_assert_int_eq(zkp_connect_req_decode(&out, &jr), 0);
    ck_assert(!out.hasReadOnly);
    free(out.passwd.data);
    buf_free(&b);
}
END_TEST

START_TEST(crc32c_known_value)
{
    ck_assert_uint_eq(crc32c("123456789", 9), 0xE3069283u);
}
END_TEST

START_TEST(hmap_basic)
{
    hmap_t m;
    hmap_init(&m);
    char keys[1000][16];
    for (int i = 0; i < 1000; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        hmap_puts(&m, keys[i], keys[i]);
    }
    ck_assert_uint_eq(hmap_count(&m), 1000);
    ck_assert_ptr_eq(hmap_gets(&m, "k500"), keys[500]);
    ck_assert_ptr_eq(hmap_dels(&m, "k500"), keys[500]);
    ck_assert_ptr_null(hmap_gets(&m, "k500"));
    hmap_iter_t it;
    hmap_iter_init(&m, &it);
    int n = 0;
    while (hmap_iter_next(&m, &it, NULL, NULL, NULL))
        n++;
    ck_assert_int_eq(n, 999);
    hmap_fini(&m, NULL);
}
END_TEST

START_TEST(props_parse_and_bind)
{
    props_t p;
    props_init(&p);
    props_load_string(&p, "# comment\ntickTime=2000\ndataDir = /tmp/x\n  clientPort: 2181\nlong=a\\\n  b\n"
                          "server.1=h:2888:3888\n");
    ck_assert_str_eq(props_get(&p, "dataDir"), "/tmp/x");
    ck_assert_str_eq(props_get(&p, "clientPort"), "2181");
    ck_assert_str_eq(props_get(&p, "long"), "ab");
    int tick = 0;
    char *dir = NULL;
    cfg_spec_t spec[] = {{"tickTime", CFG_INT, &tick, "3000", 1, 1000000},
                         {"dataDir", CFG_STRING, &dir, NULL, 0, -1}};
    char err[256];
    ck_assert_int_eq(cfg_bind(&p, spec, 2, err, sizeof err), 0);
    ck_assert_int_eq(tick, 2000);
    ck_assert_str_eq(dir, "/tmp/x");
    props_set(&p, "tickTime", "abc");
    ck_assert_int_eq(cfg_bind(&p, spec, 2, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "tickTime"));
    free(dir);
    props_free(&p);
}
END_TEST

START_TEST(varint_roundtrip_and_limits)
{
    buf_t b = BUF_INIT;
    int64_t vals[] = {0, 1, -1, 63, -64, 64, 300, -300, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++)
        varint_put_s64(&b, vals[i]);
    varint_put_u32(&b, 0xffffffffu);
    rd_t r;
    rd_init(&r, b.data, b.len);
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++)
        ck_assert(varint_get_s64(&r) == vals[i]);
    ck_assert_uint_eq(varint_get_u32(&r), 0xffffffffu);
    ck_assert_int_eq(r.err, 0);
    ck_assert_uint_eq(rd_left(&r), 0);
    uint8_t toolong[6] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    rd_init(&r, toolong, sizeof toolong);
    varint_get_u32(&r);
    ck_assert_int_eq(r.err, 1);
    uint8_t truncated[2] = {0x80, 0x80};
    rd_init(&r, truncated, sizeof truncated);
    varint_get_u64(&r);
    ck_assert_int_eq(r.err, 1);
    ck_assert_int_eq(varint_size_s64(-1), 1);
    ck_assert_int_eq(varint_size_u64(300), 2);
    buf_free(&b);
}
END_TEST

START_TEST(arena_alloc_reset)
{
    arena_t a = ARENA_INIT;
    char *s = arena_strndup(&a, "hello world", 5);
    ck_assert_str_eq(s, "hello");
    void *big = arena_alloc(&a, 100000);
    ck_assert_ptr_nonnull(big);
    for (int i = 0; i < 1000; i++) {
        int *p = arena_alloc(&a, sizeof(int) * 3);
        ck_assert_int_eq(((uintptr_t)p) % 16, 0);
        ck_assert_int_eq(p[0] | p[1] | p[2], 0);
        p[0] = i;
    }
    arena_reset(&a);
    ck_assert_uint_eq(a.used_total, 0);
    arena_strndup(&a, "again", 5);
    arena_free(&a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("jute");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, stat_roundtrip);
    tcase_add_test(tc, create_request_roundtrip_and_null_data);
    tcase_add_test(tc, hostile_lengths_rejected);
    tcase_add_test(tc, embedded_nul_flagged);
    tcase_add_test(tc, connect_request_optional_readonly);
    tcase_add_test(tc, crc32c_known_value);
    tcase_add_test(tc, hmap_basic);
    tcase_add_test(tc, props_parse_and_bind);
    tcase_add_test(tc, varint_roundtrip_and_limits);
    tcase_add_test(tc, arena_alloc_reset);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
