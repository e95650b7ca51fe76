/* Unit tests: read requests — replies, ACL checks and watch registration as a live
 * ZooKeeper 3.8.0 does them (byte captures where it matters). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/watch.h"
#include "coord/zread.h"
#include "coord_harness.h"

#define SID1 0x100000a1ebc0001LL

static int rd(harness_t *h, const acl_auth_t *auth, int op, const void *req, buf_t *out, zread_watch_t *w)
{
    buf_reset(out);
    return zread_execute(h->dt, SID1, auth, op, req, out, w);
}

START_TEST(exists_and_watches)
{
    harness_t h;
    h_init(&h);
    buf_t out = BUF_INIT;
    zread_watch_t w;
    zkp_PathWatchRequest r = {"/x", true};
    ck_assert_int_eq(rd(&h, &h.auth, ZOO_EXISTS_OP, &r, &out, &w), ZNONODE);
    ck_assert_int_eq(w.kind, WATCH_EXIST);   /* registered on NONODE too */
    ck_assert_uint_eq(out.len, 0);
    ck_assert_int_eq(rd(&h, &h.auth, ZOO_GETDATA_OP, &r, &out, &w), ZNONODE);
    ck_assert_int_eq(w.kind, 0);
    ck_assert_int_eq(rd(&h, &h.auth, ZOO_GETCHILDREN_OP, &r, &out, &w), ZNONODE);
    ck_assert_int_eq(w.kind, 0);
    ck_assert_int_eq(h_create(&h, 0, "/x", NULL, 0), 0);
    ck_assert_int_eq(rd(&h, &h.auth, ZOO_EXISTS_OP, &r, &out, &w), 0);
    ck_assert_uint_eq(out.len, 68);
    ck_assert_int_eq(rd(&h, &h.auth, ZOO_GETDATA_OP, &r, &out, &w), 0);
    ck_assert_int_eq(w.kind, WATCH_DATA);
    /* null data comes back null */
    ck_assert_str_eq(h_hex(out.data, 4), "ffffffff");
    ck_assert_uint_eq(out.len, 4 + 68);
    r.watch = false;
    ck_assert_int_eq(rd(&h, &h.auth, ZOO_GETDATA_OP, &r, &out, &w), 0);
    ck_assert_int_eq(w.kind, 0);
    r.watch = true;
    ck_assert_int_eq(rd(&h, &h.auth, ZOO_GETCHILDREN2_OP, &r, &out, &w), 0);
    ck_assert_int_eq(w.kind, WATCH_CHILD);
    ck_assert_uint_eq(out.len, 4 + 68);
    /* NUL in the path: exists -> BADARGUMENTS, getData -> NONODE, no watches */
    buf_reset(&out);
    ck_assert_int_eq(zread_execute_ex(h.dt, SID1, &h.auth, ZOO_EXISTS_OP, &r, true, &out, &w), ZBADARGUMENTS);
    ck_assert_int_eq(w.kind, 0);
    ck_assert_int_eq(zread_execute_ex(h.dt, SID1, &h.auth, ZOO_GETDATA_OP, &r, true, &out, &w), ZNONODE);
    /* reads do not validate paths */
    zkp_PathWatchRequest bad = {"x", false};
    ck_assert_int_eq(rd(&h, &h.auth, ZOO_GETDATA_OP, &bad, &out, NULL), ZNONODE);
    buf_free(&out);
    h_fini(&h);
}
END_TEST

START_TEST(children_sorted_and_counts)
{
    harness_t h;
    h_init(&h);
    ck_assert_int_eq(h_create(&h, 0, "/m", "", 0), 0);
    const char *names[] = {"/m/zeta", "/m/alpha", "/m/mid", "/m/alpha/x"};
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(h_create(&h, 0, names[i], "", 0), 0);
    buf_t out = BUF_INIT;
    zkp_PathWatchRequest r = {"/m", false};
    ck_assert_int_eq(rd(&h, &h.auth, ZOO_GETCHILDREN_OP, &r, &out, NULL), 0);
    jute_rd_t jr;
    jute_rd_init(&jr, out.data, out.len);
    zkp_GetChildrenResponse gc;
    ck_assert_int_eq(jute_decode(&zkp_GetChildrenResponse_rec, &gc, &jr), 0);
    ck_assert_int_eq(gc.children.n, 3);
    ck_assert_str_eq(gc.children.v[0], "alpha");
    ck_assert_str_eq(gc.children.v[2], "zeta");
    jute_free(&zkp_GetChildrenResponse_rec, &gc);
    zkp_PathRequest pr = {"/m"};
    ck_assert_int_eq(rd(&h, &h.auth, ZOO_GETALLCHILDRENNUMBER_OP, &pr, &out, NULL), 0);
    ck_assert_str_eq(h_hex(out.data, out.len), "00000004");
    pr.path = "/";
    ck_assert_int_eq(rd(&h, &h.auth, ZOO_GETALLCHILDRENNUMBER_OP, &pr, &out, NULL), 0);
    ck_assert_str_eq(h_hex(out.data, out.len), "00000008");   /* everything but the root */
    pr.path = "zz";
    ck_assert_int_eq(rd(&h, &h.auth, ZOO_SYNC_OP, &pr, &out, NULL), 0);
    ck_assert_str_eq(h_hex(out.data, out.len), "000000027a7a");   /* sync echoes, unvalidated */
    buf_free(&out);
    h_fini(&h);
}
END_TEST

START_TEST(acl_on_reads_like_3_8)
{
    harness_t h;
    h_init(&h);
    h.now = 0x1a1fb614c41LL;
    ck_assert_int_eq(acl_add_auth(&h.auth, "digest", (const uint8_t *)"alice:secret", 12, NULL), 0);
    zkp_ACL racl[2] = {{ZK_PERM_ALL, {"auth", ""}}, {ZK_PERM_READ, {"world", "anyone"}}};
    h.zxid = 55;   /* /r gets zxid 56 as in the capture */
    ck_assert_int_eq(h_create_acl(&h, 0, ZOO_CREATE_OP, "/r", "", 0, racl, 2, NULL), 0);
    zkp_ACL r2acl[1] = {{ZK_PERM_ADMIN, {"auth", ""}}};
    ck_assert_int_eq(h_create_acl(&h, 0, ZOO_CREATE_OP, "/r2", "", 0, r2acl, 1, NULL), 0);
    acl_auth_t anon;
    acl_auth_init(&anon, "127.0.0.1");
    buf_t out = BUF_INIT;
    zkp_PathRequest pr = {"/r"};
    ck_assert_int_eq(rd(&h, &anon, ZOO_GETACL_OP, &pr, &out, NULL), 0);
    /* captured from 3.8.0: READ without ADMIN shows digest ids as "user:x" */
    ck_assert_str_eq(h_hex(out.data, out.len),
                     "000000020000001f0000000664696765737400000007616c6963653a780000000100000005776f726c6400000006"
                     "616e796f6e6500000000000000380000000000000038000001a1fb614c41000001a1fb614c410000000000000000"
                     "00000000000000000000000000000000000000000000000000000038");
    ck_assert_int_eq(rd(&h, &h.auth, ZOO_GETACL_OP, &pr, &out, NULL), 0);
    ck_assert_ptr_nonnull(memmem(out.data, out.len, "alice:aYXl", 10));   /* ADMIN sees the hash */
    pr.path = "/r2";
    ck_assert_int_eq(rd(&h, &anon, ZOO_GETACL_OP, &pr, &out, NULL), ZNOAUTH);
    ck_assert_uint_eq(out.len, 0);
    ck_assert_int_eq(rd(&h, &anon, ZOO_GETALLCHILDRENNUMBER_OP, &pr, &out, NULL), ZNOAUTH);
    zread_watch_t w;
    zkp_PathWatchRequest r = {"/r2", true};
    ck_assert_int_eq(rd(&h, &anon, ZOO_GETDATA_OP, &r, &out, &w), ZNOAUTH);
    ck_assert_int_eq(w.kind, 0);   /* no watch without READ */
    ck_assert_int_eq(rd(&h, &anon, ZOO_GETCHILDREN_OP, &r, &out, &w), ZNOAUTH);
    ck_assert_int_eq(rd(&h, &anon, ZOO_EXISTS_OP, &r, &out, &w), 0);   /* exists needs nothing */
    ck_assert_int_eq(w.kind, WATCH_EXIST);
    acl_auth_free(&anon);
    buf_free(&out);
    h_fini(&h);
}
END_TEST

START_TEST(who_am_i_bytes)
{
    harness_t h;
    h_init(&h);
    const char *creds[] = {"alice:secret", "bob:pw", "carol", "dave:x:y"};
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(acl_add_auth(&h.auth, "digest", (const uint8_t *)creds[i], (int32_t)strlen(creds[i]), NULL), 0);
    buf_t out = BUF_INIT;
    ck_assert_int_eq(rd(&h, &h.auth, ZOO_WHOAMI_OP, NULL, &out, NULL), 0);
    /* captured from 3.8.0 */
    const char want[] = "\x00\x00\x00\x05\x00\x00\x00\x06" "digest\x00\x00\x00\x05" "alice\x00\x00\x00\x06"
                        "digest\x00\x00\x00\x03" "bob\x00\x00\x00\x06" "digest\x00\x00\x00\x05" "carol"
                        "\x00\x00\x00\x06" "digest\x00\x00\x00\x04" "dave\x00\x00\x00\x02" "ip\x00\x00\x00\x09"
                        "127.0.0.1";
    ck_assert_uint_eq(out.len, sizeof want - 1);
    ck_assert(memcmp(out.data, want, out.len) == 0);
    buf_free(&out);
    h_fini(&h);
}
END_TEST

START_TEST(ephemerals_by_prefix)
{
    harness_t h;
    h_init(&h);
    h_session(&h, SID1, 30000);
    ck_assert_int_eq(h_create(&h, 0, "/m", "", 0), 0);
    ck_assert_int_eq(h_create(&h, SID1, "/m/e1", "", ZK_EPHEMERAL), 0);
    ck_assert_int_eq(h_create(&h, SID1, "/m/e2", "", ZK_EPHEMERAL), 0);
    ck_assert_int_eq(h_create(&h, SID1, "/other", "", ZK_EPHEMERAL), 0);
    buf_t out = BUF_INIT;
    const char *prefixes[] = {"/m/e", "", " / ", "/m/e1", "/x", NULL};
    int counts[] = {2, 3, 3, 1, 0, 3};
    for (int i = 0; i < 6; i++) {
        zkp_PathRequest pr = {(char *)prefixes[i]};
        ck_assert_int_eq(rd(&h, &h.auth, ZOO_GETEPHEMERALS_OP, &pr, &out, NULL), 0);
        ck_assert_int_eq((int32_t)be32_get(out.data), counts[i]);
    }
    buf_free(&out);
    h_fini(&h);
}
END_TEST

START_TEST(multi_read)
{
    harness_t h;
    h_init(&h);
    ck_assert_int_eq(h_create(&h, 0, "/a", "v", 0), 0);
    ck_assert_int_eq(h_create(&h, 0, "/a/b", "", 0), 0);
    zkp_PathWatchRequest g1 = {"/a", true}, g2 = {"/nope", true}, g3 = {"/a", true};
    prep_multi_op_t ops[] = {{ZOO_GETDATA_OP, &g1, false}, {ZOO_GETCHILDREN_OP, &g2, false},
                             {ZOO_GETCHILDREN_OP, &g3, false}};
    prep_multi_t m = {ops, 3};
    buf_t out = BUF_INIT;
    zread_watch_t w;
    ck_assert_int_eq(rd(&h, &h.auth, ZOO_MULTIREAD_OP, &m, &out, &w), 0);
    jute_rd_t jr;
    jute_rd_init(&jr, out.data, out.len);
    zkp_MultiHeader mh;
    ck_assert_int_eq(jute_decode(&zkp_MultiHeader_rec, &mh, &jr), 0);
    ck_assert(mh.type == ZOO_GETDATA_OP && mh.err == 0 && !mh.done);
    zkp_GetDataResponse gd;
    ck_assert_int_eq(jute_decode(&zkp_GetDataResponse_rec, &gd, &jr), 0);
    ck_assert_int_eq(gd.data.len, 1);
    jute_free(&zkp_GetDataResponse_rec, &gd);
    ck_assert_int_eq(jute_decode(&zkp_MultiHeader_rec, &mh, &jr), 0);
    ck_assert(mh.type == -1 && mh.err == ZNONODE);
    ck_assert_int_eq(jute_get_int(&jr), ZNONODE);
    ck_assert_int_eq(jute_decode(&zkp_MultiHeader_rec, &mh, &jr), 0);
    ck_assert_int_eq(mh.type, ZOO_GETCHILDREN_OP);
    zkp_GetChildrenResponse gc;
    ck_assert_int_eq(jute_decode(&zkp_GetChildrenResponse_rec, &gc, &jr), 0);
    ck_assert_int_eq(gc.children.n, 1);
    jute_free(&zkp_GetChildrenResponse_rec, &gc);
    ck_assert_int_eq(jute_decode(&zkp_MultiHeader_rec, &mh, &jr), 0);
    ck_assert(mh.done && mh.type == -1 && mh.err == -1);
    ck_assert_uint_eq(jute_left(&jr), 0);
    /* watches for the ops that succeeded */
    ck_assert_int_eq(w.kind, 0);
    ck_assert_uint_eq(w.n, 2);
    ck_assert_int_eq(w.items[0].kind, WATCH_DATA);
    ck_assert_int_eq(w.items[1].kind, WATCH_CHILD);
    ck_assert_str_eq(w.items[1].path, "/a");
    zread_watch_free(&w);
    /* all-failing reads: live 3.8.0 bytes */
    prep_multi_op_t bad[] = {{ZOO_GETDATA_OP, &g2, false}, {ZOO_GETCHILDREN_OP, &g2, false}};
    prep_multi_t mb = {bad, 2};
    ck_assert_int_eq(rd(&h, &h.auth, ZOO_MULTIREAD_OP, &mb, &out, NULL), 0);
    ck_assert_str_eq(h_hex(out.data, out.len),
                     "ffffffff00ffffff9bffffff9bffffffff00ffffff9bffffff9bffffffff01ffffffff");
    /* a write op in multiRead fails the request */
    zkp_DeleteRequest d = {"/a", -1};
    prep_multi_op_t wr[] = {{ZOO_DELETE_OP, &d, false}};
    prep_multi_t mw = {wr, 1};
    ck_assert_int_eq(rd(&h, &h.auth, ZOO_MULTIREAD_OP, &mw, &out, NULL), ZMARSHALLINGERROR);
    ck_assert_uint_eq(out.len, 0);
    ck_assert_int_eq(rd(&h, &h.auth, ZOO_CREATE_OP, &d, &out, NULL), ZUNIMPLEMENTED);
    ck_assert(zread_is_read(ZOO_SYNC_OP) && !zread_is_read(ZOO_CREATE_OP));
    buf_free(&out);
    h_fini(&h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("zread");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, exists_and_watches);
    tcase_add_test(tc, children_sorted_and_counts);
    tcase_add_test(tc, acl_on_reads_like_3_8);
    tcase_add_test(tc, who_am_i_bytes);
    tcase_add_test(tc, ephemerals_by_prefix);
    tcase_add_test(tc, multi_read);
    suite_add_tcase(s, tc);
    return h_run_suite(s);
}
