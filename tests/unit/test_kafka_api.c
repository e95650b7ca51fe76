/* Unit tests: Kafka API table, request/response framing and ApiVersions (proto/kafka_api.h). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/buf.h"
#include "proto/kafka_api.h"
#include "tests/unit/test_kafka_util.h"

START_TEST(table_matches_kafka_2_4)
{
    /* {key, max, first flexible} of Apache Kafka 2.4.1 */
    static const int16_t want[][3] = {
        {0, 8, -1}, {1, 11, -1}, {2, 5, -1}, {3, 9, 9}, {4, 4, 4}, {5, 2, 2}, {6, 6, 6}, {7, 3, 3},
        {8, 8, 8}, {9, 6, 6}, {10, 3, 3}, {11, 6, 6}, {12, 4, 4}, {13, 4, 4}, {14, 4, 4}, {15, 5, 5},
        {16, 3, 3}, {17, 1, -1}, {18, 3, 3}, {19, 5, 5}, {20, 4, 4}, {21, 1, -1}, {22, 2, 2},
        {23, 3, -1}, {32, 2, -1}, {33, 1, -1}, {37, 1, -1}, {42, 2, 2},
    };
    ck_assert_int_eq(KP_API_COUNT, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < KP_API_COUNT; i++) {
        const kp_api_t *api = kp_api_find(want[i][0]);
        ck_assert_ptr_nonnull(api);
        ck_assert_ptr_eq(api, &kp_api_table[i]);
        ck_assert_int_eq(api->min_ver, 0);
        ck_assert_int_eq(api->max_ver, want[i][1]);
        ck_assert_int_eq(api->flex_ver, want[i][2]);
        ck_assert(kp_api_supported(api->key, 0));
        ck_assert(kp_api_supported(api->key, api->max_ver));
        ck_assert(!kp_api_supported(api->key, api->max_ver + 1));
        ck_assert(!kp_api_supported(api->key, -1));
    }
    ck_assert_ptr_null(kp_api_find(24));   /* AddPartitionsToTxn: not served */
    ck_assert(!kp_api_supported(999, 0));
    ck_assert_str_eq(kp_api_find(KP_OFFSET_FOR_LEADER_EPOCH)->name, "OffsetForLeaderEpoch");
}
END_TEST

START_TEST(header_versions)
{
    ck_assert_int_eq(kp_req_hdr_version(KP_CONTROLLED_SHUTDOWN, 0), 0);
    ck_assert_int_eq(kp_req_hdr_version(KP_CONTROLLED_SHUTDOWN, 1), 1);
    ck_assert_int_eq(kp_req_hdr_version(KP_CONTROLLED_SHUTDOWN, 3), 2);
    ck_assert_int_eq(kp_req_hdr_version(KP_PRODUCE, 8), 1);
    ck_assert_int_eq(kp_req_hdr_version(KP_METADATA, 8), 1);
    ck_assert_int_eq(kp_req_hdr_version(KP_METADATA, 9), 2);
    ck_assert_int_eq(kp_resp_hdr_version(KP_METADATA, 9), 1);
    ck_assert_int_eq(kp_resp_hdr_version(KP_METADATA, 8), 0);
    /* ApiVersions: flexible request header from v3 (and above: a v4 request is read with
     * header v2, as Kafka 2.4 does); its response header is always v0 */
    ck_assert_int_eq(kp_req_hdr_version(KP_API_VERSIONS, 3), 2);
    ck_assert_int_eq(kp_req_hdr_version(KP_API_VERSIONS, 4), 2);
    ck_assert_int_eq(kp_resp_hdr_version(KP_API_VERSIONS, 3), 0);

    buf_t b = BUF_INIT;
    kp_resp_hdr_encode(&b, KP_METADATA, 9, 0x01020304);
    kp_resp_hdr_encode(&b, KP_METADATA, 8, 5);
    kp_resp_hdr_encode(&b, KP_API_VERSIONS, 3, 6);
    assert_bytes(b.data, b.len, "01020304 00 00000005 00000006");
    buf_free(&b);
}
END_TEST

START_TEST(every_api_frames_roundtrip)
{
    arena_t a = ARENA_INIT;
    for (size_t i = 0; i < KP_API_COUNT; i++) {
        const kp_api_t *api = &kp_api_table[i];
        for (int v = api->min_ver; v <= api->max_ver; v++) {
            void *body = kp_new(&a, api->req);
            if (api->key == KP_API_VERSIONS && v >= 3) {
                ((kp_ApiVersionsRequest *)body)->ClientSoftwareName = kp_str("gregor");
                ((kp_ApiVersionsRequest *)body)->ClientSoftwareVersion = kp_str("0.1");
            }
            kp_req_hdr_t h = {api->key, (int16_t)v, 1000 + v, kp_str("client-1"), 0};
            buf_t b = BUF_INIT;
            ck_assert_int_eq(kp_request_encode(&b, &h, body), KP_OK);
            ck_assert_uint_eq(be32_get(b.data), b.len - 4);
            kp_request_t req;
            ck_assert_int_eq(kp_request_decode(b.data + 4, b.len - 4, &a, &req), KP_OK);
            ck_assert_int_eq(req.hdr.api_key, api->key);
            ck_assert_int_eq(req.hdr.api_version, v);
            ck_assert_int_eq(req.hdr.correlation_id, 1000 + v);
            ck_assert_int_eq(req.hdr.version, kp_req_hdr_version(api->key, v));
            if (req.hdr.version == 0)
                ck_assert_int_eq(req.hdr.client_id.len, -1);
            else
                ck_assert(kp_str_eq(req.hdr.client_id, "client-1"));
            ck_assert_ptr_eq(req.api, api);
            ck_assert_uint_eq(req.trailing, 0);
            ck_assert(kp_equal(api->req, v, body, req.body));

            /* the response direction */
            void *resp = kp_new(&a, api->resp);
            b.len = 0;
            ck_assert_int_eq(kp_response_encode(&b, api->key, v, 77, resp), KP_OK);
            size_t hdr = 4 + (kp_resp_hdr_version(api->key, v) ? 1 : 0);
            ck_assert_uint_ge(b.len, 4 + hdr);
            int32_t corr;
            void *out;
            ck_assert_int_eq(kp_response_decode(b.data + 4, b.len - 4, api->key, v, &a, &corr, &out), KP_OK);
            ck_assert_int_eq(corr, 77);
            ck_assert(kp_equal(api->resp, v, resp, out));
            buf_free(&b);
        }
    }
    arena_free(&a);
}
END_TEST

START_TEST(request_errors)
{
    arena_t a = ARENA_INIT;
    kp_request_t req;
    buf_t b = BUF_INIT;
    /* unknown key 99: header fields still reported */
    hex(&b, "0063 0000 0000002a 0000");
    ck_assert_int_eq(kp_request_decode(b.data, b.len, &a, &req), KP_EUNKNOWN_API);
    ck_assert_int_eq(req.hdr.api_key, 99);
    ck_assert_int_eq(req.hdr.correlation_id, 42);
    ck_assert_ptr_null(req.api);
    /* Produce v9: known key, version not served */
    b.len = 0;
    hex(&b, "0000 0009 00000007 0003 616263");
    ck_assert_int_eq(kp_request_decode(b.data, b.len, &a, &req), KP_EUNSUPPORTED);
    ck_assert_int_eq(req.hdr.correlation_id, 7);
    ck_assert(kp_str_eq(req.hdr.client_id, "abc"));
    ck_assert_ptr_null(req.body);
    /* short header, bad client id length */
    b.len = 0;
    hex(&b, "0003 0000 0000");
    ck_assert_int_eq(kp_request_decode(b.data, b.len, &a, &req), KP_EMALFORMED);
    b.len = 0;
    hex(&b, "0003 0000 00000001 0009 61");
    ck_assert_int_eq(kp_request_decode(b.data, b.len, &a, &req), KP_EMALFORMED);
    /* body malformed: Metadata v1 with a count of 5 and nothing behind it */
    b.len = 0;
    hex(&b, "0003 0001 00000001 ffff 00000005");
    ck_assert_int_eq(kp_request_decode(b.data, b.len, &a, &req), KP_EMALFORMED);
    /* trailing bytes are tolerated and counted */
    b.len = 0;
    hex(&b, "0003 0001 00000001 ffff ffffffff 0102");
    ck_assert_int_eq(kp_request_decode(b.data, b.len, &a, &req), KP_OK);
    ck_assert_uint_eq(req.trailing, 2);
    ck_assert_int_eq(((kp_MetadataRequest *)req.body)->Topics.n, -1);
    /* header v2: a malformed tag section */
    b.len = 0;
    hex(&b, "0012 0003 00000001 0000 02 01 00");
    ck_assert_int_eq(kp_request_decode(b.data, b.len, &a, &req), KP_EMALFORMED);
    /* ControlledShutdown v0 has no client id: body follows the correlation id */
    b.len = 0;
    hex(&b, "0007 0000 00000003 00000005");
    ck_assert_int_eq(kp_request_decode(b.data, b.len, &a, &req), KP_OK);
    ck_assert_int_eq(req.hdr.version, 0);
    ck_assert_int_eq(((kp_ControlledShutdownRequest *)req.body)->BrokerId, 5);
    ck_assert_int_eq(((kp_ControlledShutdownRequest *)req.body)->BrokerEpoch, -1);
    buf_free(&b);
    arena_free(&a);
}
END_TEST

START_TEST(acks_zero_wants_no_response)
{
    arena_t a = ARENA_INIT;
    kp_ProduceRequest *p = kp_new(&a, &kp_ProduceRequest_schema);
    kp_req_hdr_t h = {KP_PRODUCE, 3, 1, kp_str("c"), 0};
    for (int acks = -1; acks <= 1; acks++) {
        p->Acks = (int16_t)acks;
        buf_t b = BUF_INIT;
        ck_assert_int_eq(kp_request_encode(&b, &h, p), KP_OK);
        kp_request_t req;
        ck_assert_int_eq(kp_request_decode(b.data + 4, b.len - 4, &a, &req), KP_OK);
        ck_assert(kp_request_wants_response(&req) == (acks != 0));
        buf_free(&b);
    }
    kp_request_t md = {{KP_METADATA, 0, 1, KP_STR_NULL, 1}, kp_api_find(KP_METADATA), NULL, 0};
    ck_assert(kp_request_wants_response(&md));
    arena_free(&a);
}
END_TEST

/* Builds the ApiVersions request frame at version v, decodes it and answers it. */
static void api_versions(int v, const char *body_hex, buf_t *out, arena_t *a)
{
    buf_t f = BUF_INIT;
    char h[64];
    snprintf(h, sizeof h, "0012 %04x 0000abcd 0007 6b61666b616a73", (unsigned)(v & 0xffff));
    hex(&f, h);
    if (v >= 3)
        buf_put_u8(&f, 0);   /* header tags */
    hex(&f, body_hex);
    const uint8_t *frame = arena_memdup(a, f.data, f.len);
    kp_request_t req;
    int rc = kp_request_decode(frame, f.len, a, &req);
    ck_assert_msg(rc == KP_OK || rc == KP_EUNSUPPORTED, "rc %d for v%d %s", rc, v, body_hex);
    kp_api_versions_respond(&req, 0, a, out);
    buf_free(&f);
}

START_TEST(api_versions_v0_to_v3)
{
    arena_t a = ARENA_INIT;
    for (int v = 0; v <= 3; v++) {
        buf_t out = BUF_INIT;
        api_versions(v, v >= 3 ? "0b 6c696272646b61666b61 06 322e302e32 00" : "", &out, &a);
        ck_assert_uint_eq(be32_get(out.data), out.len - 4);
        ck_assert_uint_eq(be32_get(out.data + 4), 0xabcd);   /* header v0: just the correlation id */
        int32_t corr;
        void *body;
        ck_assert_int_eq(kp_response_decode(out.data + 4, out.len - 4, KP_API_VERSIONS, v, &a, &corr, &body), KP_OK);
        kp_ApiVersionsResponse *r = body;
        ck_assert_int_eq(r->ErrorCode, 0);
        ck_assert_int_eq(r->ApiKeys.n, KP_API_COUNT);
        for (int i = 0; i < r->ApiKeys.n; i++) {
            ck_assert_int_eq(r->ApiKeys.v[i].ApiKey, kp_api_table[i].key);
            ck_assert_int_eq(r->ApiKeys.v[i].MinVersion, 0);
            ck_assert_int_eq(r->ApiKeys.v[i].MaxVersion, kp_api_table[i].max_ver);
        }
        /* exact size: v0 2+4+6n, v1/v2 +4 throttle, v3 compact: 2+1+7n+4+1 */
        size_t n = KP_API_COUNT;
        size_t want = v == 0 ? 2 + 4 + 6 * n : v < 3 ? 2 + 4 + 6 * n + 4 : 2 + 1 + 7 * n + 4 + 1;
        ck_assert_uint_eq(out.len, 8 + want);
        /* the first entry, Produce 0..8, right after the count */
        if (v < 3)
            assert_bytes(out.data + 10, 10, "0000001c 0000 0000 0008");
        else
            assert_bytes(out.data + 10, 8, "1d 0000 0000 0008 00");
        buf_free(&out);
    }
    arena_free(&a);
}
END_TEST

START_TEST(api_versions_unsupported_version_gets_35_in_v0)
{
    arena_t a = ARENA_INIT;
    int versions[] = {4, 9, 127, -1};
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        buf_t out = BUF_INIT;
        /* a future flexible ApiVersions: header v2 with tags, body we do not read */
        api_versions(versions[i], versions[i] >= 3 ? "01 01 00" : "", &out, &a);
        /* size 14: correlation id, error 35, [ {18, 0, 3} ] — v0 layout, no throttle time */
        assert_bytes(out.data, out.len, "00000010 0000abcd 0023 00000001 0012 0000 0003");
        buf_free(&out);
    }
    arena_free(&a);
}
END_TEST

START_TEST(api_versions_v3_bad_software_name_is_invalid_request)
{
    arena_t a = ARENA_INIT;
    const char *bodies[] = {
        "01 06 322e302e32 00",                 /* empty name */
        "03 2d61 06 322e302e32 00",            /* "-a" */
        "03 612e 06 322e302e32 00",            /* "a." */
        "04 612062 06 322e302e32 00",          /* "a b" */
        "0b 6c696272646b61666b61 01 00",       /* empty version */
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        buf_t out = BUF_INIT;
        api_versions(3, bodies[i], &out, &a);
        /* error 42, no keys, throttle 0, no tags; header v0 */
        assert_bytes(out.data, out.len, "0000000c 0000abcd 002a 01 00000000 00");
        buf_free(&out);
    }
    buf_t out = BUF_INIT;
    api_versions(3, "04 612d62 07 312e322d7263 00", &out, &a);   /* "a-b" "1.2-rc" */
    ck_assert_uint_eq(out.data[8], 0);
    ck_assert_uint_eq(out.data[9], 0);
    buf_free(&out);
    arena_free(&a);
}
END_TEST

START_TEST(api_versions_client_fallback_reads_v0_body)
{
    arena_t a = ARENA_INIT;
    buf_t b = BUF_INIT;
    /* what a Kafka 2.4 broker says to a v4 request, read by a client that sent v3 */
    hex(&b, "0000abcd 0023 00000001 0012 0000 0003");
    int32_t corr;
    void *body;
    ck_assert_int_eq(kp_response_decode(b.data, b.len, KP_API_VERSIONS, 3, &a, &corr, &body), KP_OK);
    kp_ApiVersionsResponse *r = body;
    ck_assert_int_eq(r->ErrorCode, 35);
    ck_assert_int_eq(r->ApiKeys.n, 1);
    ck_assert_int_eq(r->ApiKeys.v[0].MaxVersion, 3);
    /* other APIs get no such fallback */
    b.len = 0;
    hex(&b, "00000001 0000");
    ck_assert_int_eq(kp_response_decode(b.data, b.len, KP_METADATA, 1, &a, &corr, &body), KP_EMALFORMED);
    ck_assert_int_eq(kp_response_decode(b.data, b.len, 99, 0, &a, &corr, &body), KP_EUNKNOWN_API);
    ck_assert_int_eq(kp_response_decode(b.data, b.len, KP_METADATA, 10, &a, &corr, &body), KP_EUNSUPPORTED);
    buf_free(&b);
    arena_free(&a);
}
END_TEST

START_TEST(encode_refuses_unserved)
{
    arena_t a = ARENA_INIT;
    buf_t b = BUF_INIT;
    kp_MetadataRequest *m = kp_new(&a, &kp_MetadataRequest_schema);
    kp_req_hdr_t h = {KP_METADATA, 10, 1, KP_STR_NULL, 0};
    ck_assert_int_eq(kp_request_encode(&b, &h, m), KP_EUNSUPPORTED);
    h.api_key = 99;
    ck_assert_int_eq(kp_request_encode(&b, &h, m), KP_EUNKNOWN_API);
    h.api_key = KP_METADATA;
    h.api_version = 0;
    m->Topics.n = -1;   /* v0 cannot say null */
    ck_assert_int_eq(kp_request_encode(&b, &h, m), KP_EENCODE);
    ck_assert_uint_eq(b.len, 0);
    buf_free(&b);
    arena_free(&a);
}
END_TEST

START_TEST(error_names)
{
    ck_assert_str_eq(kp_err_name(KERR_NONE), "NONE");
    ck_assert_str_eq(kp_err_name(-1), "UNKNOWN_SERVER_ERROR");
    ck_assert_str_eq(kp_err_name(3), "UNKNOWN_TOPIC_OR_PARTITION");
    ck_assert_str_eq(kp_err_name(KERR_UNSUPPORTED_VERSION), "UNSUPPORTED_VERSION");
    ck_assert_int_eq(KERR_UNSUPPORTED_VERSION, 35);
    ck_assert_int_eq(KERR_UNSUPPORTED_COMPRESSION_TYPE, 76);
    ck_assert_str_eq(kp_err_name(87), "INVALID_RECORD");
    ck_assert_str_eq(kp_err_name(88), "UNKNOWN");
    ck_assert_str_eq(kp_err_name(-2), "UNKNOWN");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kafka_api");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, table_matches_kafka_2_4);
    tcase_add_test(tc, header_versions);
    tcase_add_test(tc, every_api_frames_roundtrip);
    tcase_add_test(tc, request_errors);
    tcase_add_test(tc, acks_zero_wants_no_response);
    tcase_add_test(tc, api_versions_v0_to_v3);
    tcase_add_test(tc, api_versions_unsupported_version_gets_35_in_v0);
    tcase_add_test(tc, api_versions_v3_bad_software_name_is_invalid_request);
    tcase_add_test(tc, api_versions_client_fallback_reads_v0_body);
    tcase_add_test(tc, encode_refuses_unserved);
    tcase_add_test(tc, error_names);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
