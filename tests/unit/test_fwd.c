/* Unit tests: the payloads servers forward to the leader and the leader's notes back
 * (coord/fwd.h): every kind round-trips, and hostile bytes are refused. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "coord/fwd.h"

static void roundtrip(const fwd_t *in, fwd_t *out)
{
    buf_t b = BUF_INIT;
    fwd_encode(in, &b);
    ck_assert(fwd_is_payload(b.data, b.len));
    ck_assert_int_eq(fwd_decode(out, b.data, b.len), 0);
    ck_assert_int_eq(out->kind, in->kind);
    buf_free(&b);
}

START_TEST(write_keeps_session_auth_and_body)
{
    fwd_t in = {.kind = FWD_WRITE, .session_id = 0x0102030405060708LL, .cxid = 77, .op = 1};
    acl_auth_init(&in.auth, "10.1.2.3");
    acl_auth_add(&in.auth, "digest", "alice:xyz=");
    acl_auth_add(&in.auth, "super", "");
    uint8_t body[] = {0, 0, 0, 2, '/', 'a', 0xff};
    in.body.data = body;
    in.body.len = sizeof body;
    fwd_t out;
    roundtrip(&in, &out);
    ck_assert(out.session_id == in.session_id);
    ck_assert_int_eq(out.cxid, 77);
    ck_assert_int_eq(out.op, 1);
    ck_assert_uint_eq(out.auth.n, 3);
    ck_assert_str_eq(out.auth.v[0].scheme, "ip");
    ck_assert_str_eq(out.auth.v[0].id, "10.1.2.3");
    ck_assert_str_eq(out.auth.v[1].id, "alice:xyz=");
    ck_assert(out.auth.super);
    ck_assert_int_eq(out.body.len, (int32_t)sizeof body);
    ck_assert(!memcmp(out.body.data, body, sizeof body));
    fwd_free(&out);
    acl_auth_free(&in.auth);

    /* an empty body (closeSession) */
    fwd_t cl = {.kind = FWD_WRITE, .session_id = 5, .cxid = 9, .op = -11};
    roundtrip(&cl, &out);
    ck_assert_int_eq(out.body.len, 0);
    ck_assert_uint_eq(out.auth.n, 0);
    fwd_free(&out);
}
END_TEST

START_TEST(other_kinds_roundtrip)
{
    fwd_t out;
    fwd_t cs = {.kind = FWD_CREATE_SESSION, .session_id = -2, .timeout = 30000};
    acl_auth_init(&cs.auth, "127.0.0.1");
    roundtrip(&cs, &out);
    ck_assert(out.session_id == -2);
    ck_assert_int_eq(out.timeout, 30000);
    ck_assert_uint_eq(out.auth.n, 1);
    fwd_free(&out);
    acl_auth_free(&cs.auth);

    fwd_touch_t t[3] = {{1, 4000, false}, {2, 6000, true}, {INT64_MAX, 1, false}};
    fwd_t to = {.kind = FWD_TOUCH, .touches = t, .ntouches = 3};
    roundtrip(&to, &out);
    ck_assert_uint_eq(out.ntouches, 3);
    ck_assert(out.touches[1].attach && !out.touches[0].attach);
    ck_assert_int_eq(out.touches[1].timeout, 6000);
    ck_assert(out.touches[2].session_id == INT64_MAX);
    fwd_free(&out);

    fwd_t sy = {.kind = FWD_SYNC, .session_id = 3, .sync_id = 99};
    roundtrip(&sy, &out);
    ck_assert(out.sync_id == 99 && out.session_id == 3);
    fwd_free(&out);

    fwd_t sr = {.kind = FWD_SYNC_REPLY, .sync_id = 99, .zxid = 0x500000007LL};
    roundtrip(&sr, &out);
    ck_assert(out.sync_id == 99 && out.zxid == 0x500000007LL);
    fwd_free(&out);

    fwd_t wf = {.kind = FWD_WRITE_FAILED, .session_id = 3, .cxid = 12, .err = -112};
    roundtrip(&wf, &out);
    ck_assert(out.cxid == 12 && out.err == -112);
    fwd_free(&out);

    fwd_t mv = {.kind = FWD_SESSION_MOVED, .session_id = 42};
    roundtrip(&mv, &out);
    ck_assert(out.session_id == 42);
    fwd_free(&out);
    ck_assert_str_eq(fwd_kind_name(FWD_TOUCH), "TOUCH");
    ck_assert_str_eq(fwd_kind_name(1000), "?");
}
END_TEST

START_TEST(hostile_bytes_are_refused)
{
    fwd_t out;
    /* every truncation of a valid payload fails, and so does a trailing byte */
    fwd_t in = {.kind = FWD_WRITE, .session_id = 1, .cxid = 2, .op = 5};
    acl_auth_init(&in.auth, "1.2.3.4");
    uint8_t body[] = {1, 2, 3};
    in.body.data = body;
    in.body.len = 3;
    buf_t b = BUF_INIT;
    fwd_encode(&in, &b);
    acl_auth_free(&in.auth);
    for (size_t n = 0; n < b.len; n++)
        ck_assert_int_eq(fwd_decode(&out, b.data, n), -1);
    buf_put_u8(&b, 0);
    ck_assert_int_eq(fwd_decode(&out, b.data, b.len), -1);
    b.len--;
    /* wrong magic / version / kind */
    for (size_t at = 0; at < 12; at += 4) {
        b.data[at + 3] ^= 0x55;
        ck_assert_int_eq(fwd_decode(&out, b.data, b.len), -1);
        b.data[at + 3] ^= 0x55;
    }
    ck_assert_int_eq(fwd_decode(&out, b.data, b.len), 0);
    fwd_free(&out);
    buf_free(&b);

    /* a touch count far beyond the bytes that follow */
    buf_t t = BUF_INIT;
    jute_put_int(&t, FWD_MAGIC);
    jute_put_int(&t, FWD_VERSION);
    jute_put_int(&t, FWD_TOUCH);
    jute_put_int(&t, 100000);
    ck_assert_int_eq(fwd_decode(&out, t.data, t.len), -1);
    buf_reset(&t);
    /* a negative auth count, a huge one */
    int32_t counts[] = {-1, 1 << 30};
    for (int k = 0; k < 2; k++) {
        buf_reset(&t);
        jute_put_int(&t, FWD_MAGIC);
        jute_put_int(&t, FWD_VERSION);
        jute_put_int(&t, FWD_CREATE_SESSION);
        jute_put_long(&t, 1);
        jute_put_int(&t, 100);
        jute_put_int(&t, counts[k]);
        ck_assert_int_eq(fwd_decode(&out, t.data, t.len), -1);
    }
    /* a null scheme in the auth list */
    buf_reset(&t);
    jute_put_int(&t, FWD_MAGIC);
    jute_put_int(&t, FWD_VERSION);
    jute_put_int(&t, FWD_CREATE_SESSION);
    jute_put_long(&t, 1);
    jute_put_int(&t, 100);
    jute_put_int(&t, 1);
    jute_put_ustring(&t, NULL);
    jute_put_ustring(&t, "x");
    ck_assert_int_eq(fwd_decode(&out, t.data, t.len), -1);
    buf_free(&t);
    ck_assert(!fwd_is_payload("GRF", 3));
    ck_assert(!fwd_is_payload("XXXXXXXX", 8));
}
END_TEST

int main(void)
{
    Suite *su = suite_create("fwd");
    TCase *tc = tcase_create("codec");
    tcase_add_test(tc, write_keeps_session_auth_and_body);
    tcase_add_test(tc, other_kinds_roundtrip);
    tcase_add_test(tc, hostile_bytes_are_refused);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
