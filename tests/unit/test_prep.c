/* Unit tests: prep — validation order and error codes (each case mirrors what a live
 * ZooKeeper 3.8.0 answered for the same request), pipelined outstanding changes, multi
 * rollback, closeSession, sessions, TTL rules and the multi wire decoder. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord_harness.h"

#define SID1 0x100000a1ebc0001LL
#define SID2 0x100000a1ebc0002LL

/* Decodes a txn's header (and, for error txns, the error). */
static zkp_TxnHeader txn_header(const buf_t *txn, int32_t *err)
{
    jute_rd_t jr;
    jute_rd_init(&jr, txn->data, txn->len);
    zkp_TxnHeader h;
    ck_assert_int_eq(jute_decode(&zkp_TxnHeader_rec, &h, &jr), 0);
    if (err)
        *err = h.type == ZOO_ERROR_OP ? jute_get_int(&jr) : 0;
    return h;
}

START_TEST(path_errors_like_3_8)
{
    harness_t h;
    h_init(&h);
    ck_assert_int_eq(h_create(&h, 0, "/m", "", 0), 0);
    /* deletes */
    ck_assert_int_eq(h_delete(&h, 0, "/", -1), ZBADARGUMENTS);
    ck_assert_int_eq(h_delete(&h, 0, "/zookeeper", -1), ZBADARGUMENTS);
    ck_assert_int_eq(h_delete(&h, 0, "/zookeeper/config", -1), ZBADARGUMENTS);
    ck_assert_int_eq(h_delete(&h, 0, "m", -1), ZBADARGUMENTS);
    ck_assert_int_eq(h_delete(&h, 0, "", -1), ZBADARGUMENTS);
    ck_assert_int_eq(h_delete(&h, 0, "//m", -1), ZNONODE);
    ck_assert_int_eq(h_delete(&h, 0, "/m/", -1), ZNONODE);
    /* creates */
    ck_assert_int_eq(h_create(&h, 0, "/m/", "", 0), ZBADARGUMENTS);
    char *name = NULL;
    ck_assert_int_eq(h_create_acl(&h, 0, ZOO_CREATE_OP, "/m/", "", ZK_PERSISTENT_SEQUENTIAL, h_open_acl, 1, &name), 0);
    ck_assert_str_eq(name, "/m/0000000000");
    free(name);
    ck_assert_int_eq(h_create(&h, 0, "/m//x", "", 0), ZNONODE);
    ck_assert_int_eq(h_create(&h, 0, "/zz//x", "", 0), ZNONODE);
    ck_assert_int_eq(h_create(&h, 0, "/m/.", "", 0), ZBADARGUMENTS);
    ck_assert_int_eq(h_create(&h, 0, "/m/..", "", 0), ZBADARGUMENTS);
    ck_assert_int_eq(h_create(&h, 0, "/m/...", "", 0), 0);
    ck_assert_int_eq(h_create(&h, 0, "/m/.a", "", 0), 0);
    ck_assert_int_eq(h_create(&h, 0, "/m/a.", "", 0), 0);
    ck_assert_int_eq(h_create(&h, 0, "/", "", 0), ZNODEEXISTS);
    ck_assert_int_eq(h_create(&h, 0, "m", "", 0), ZBADARGUMENTS);
    ck_assert_int_eq(h_create(&h, 0, "/zookeeper/x", "", 0), 0);
    ck_assert_int_eq(h_create(&h, 0, "/m/\xc3\xa9", "", 0), 0);                 /* é */
    ck_assert_int_eq(h_create(&h, 0, "/m/\xee\x80\x80", "", 0), ZBADARGUMENTS);   /* U+E000 private use */
    ck_assert_int_eq(h_create(&h, 0, "/m/\xf0\x9f\x98\x80", "", 0), ZBADARGUMENTS); /* emoji: surrogates */
    ck_assert_int_eq(h_create(&h, 0, "/m/a\x7f" "b", "", 0), ZBADARGUMENTS);
    ck_assert_int_eq(h_create(&h, 0, "/m/a\x01", "", 0), ZBADARGUMENTS);
    ck_assert_int_eq(h_create(&h, 0, "/m/\xc2\x85", "", 0), ZBADARGUMENTS);       /* U+0085 */
    ck_assert_int_eq(h_create(&h, 0, "/m/\xff", "", 0), ZBADARGUMENTS);           /* not UTF-8 */
    ck_assert_int_eq(h_create(&h, 0, "/m/\xef\xbf\xbd", "", 0), ZBADARGUMENTS);   /* U+FFFD */
    /* setData on the read-only config node; on /zookeeper itself it is allowed */
    ck_assert_int_eq(h_set(&h, 0, "/zookeeper/config", "x", -1), ZNOAUTH);
    ck_assert_int_eq(h_set(&h, 0, "/zookeeper", "x", -1), 0);
    ck_assert_int_eq(h_set(&h, 0, "/m/", "x", -1), ZBADARGUMENTS);
    ck_assert_int_eq(h_set(&h, 0, "/nonode", "x", 5), ZNONODE);
    ck_assert_int_eq(h_set(&h, 0, "/m", "x", 5), ZBADVERSION);
    ck_assert_int_eq(h_set(&h, 0, "/m", "x", 0), 0);
    ck_assert_int_eq(prep_validate_path("/a/b", false), 0);
    ck_assert_int_eq(prep_validate_path("/", false), 0);
    ck_assert_int_eq(prep_validate_path(NULL, false), ZBADARGUMENTS);
    ck_assert_int_eq(prep_validate_path("/a/", false), ZBADARGUMENTS);
    ck_assert_int_eq(prep_validate_path("/a/", true), 0);
    ck_assert_int_eq(prep_validate_path("/a//", true), ZBADARGUMENTS);
    ck_assert_int_eq(prep_validate_path("/a/.", true), 0);   /* ".0000000000" is a fine name */
    h_fini(&h);
}
END_TEST

START_TEST(failed_write_is_an_error_txn)
{
    harness_t h;
    h_init(&h);
    prep_ctx_t c = h_ctx(&h, SID1);
    c.now_ms = 1234;
    buf_t txn = BUF_INIT;
    zkp_CreateRequest req = {"/nope/x", {NULL, -1}, {1, h_open_acl}, 0};
    ck_assert_int_eq(prep_request(h.prep, &c, ZOO_CREATE_OP, &req, &txn), ZNONODE);
    int32_t err;
    zkp_TxnHeader hd = txn_header(&txn, &err);
    ck_assert_int_eq(hd.type, ZOO_ERROR_OP);
    ck_assert_int_eq(err, ZNONODE);
    ck_assert_int_eq(hd.zxid, c.zxid);
    ck_assert_int_eq(hd.clientId, SID1);
    ck_assert_int_eq(hd.cxid, c.cxid);
    ck_assert_int_eq(hd.time, 1234);
    ck_assert_uint_eq(prep_outstanding(h.prep), 0);
    buf_free(&txn);
    /* a non-write op is not prepared */
    zkp_PathWatchRequest rd = {"/", false};
    c = h_ctx(&h, SID1);
    ck_assert_int_eq(prep_request(h.prep, &c, ZOO_GETDATA_OP, &rd, &txn), ZUNIMPLEMENTED);
    buf_free(&txn);
    c = h_ctx(&h, SID1);
    zkp_ReconfigRequest rc = {NULL, NULL, "server.1=127.0.0.1:1:2", -1};
    ck_assert_int_eq(prep_request(h.prep, &c, ZOO_RECONFIG_OP, &rc, &txn), ZRECONFIGDISABLED);   /* live 3.8.0 */
    buf_free(&txn);
    c = h_ctx(&h, SID1);
    prep_error(h.prep, &c, ZMARSHALLINGERROR, &txn);
    dt_result_t res;
    ck_assert_int_eq(h_apply(&h, &txn, &res), 0);
    ck_assert_int_eq(res.err, ZMARSHALLINGERROR);
    dt_result_free(&res);
    buf_free(&txn);
    h_fini(&h);
}
END_TEST

/* Who wins when several checks fail: as a live 3.8.0 answered. */
START_TEST(check_order_like_3_8)
{
    harness_t h;
    h_init(&h);
    ck_assert_int_eq(acl_add_auth(&h.auth, "digest", (const uint8_t *)"alice:secret", 12, NULL), 0);
    zkp_ACL r_acl[2] = {{ZK_PERM_ALL, {"auth", ""}}, {ZK_PERM_READ, {"world", "anyone"}}};
    ck_assert_int_eq(h_create_acl(&h, 0, ZOO_CREATE_OP, "/r", "", 0, r_acl, 2, NULL), 0);
    zkp_ACL r2_acl[1] = {{ZK_PERM_ADMIN, {"auth", ""}}};
    ck_assert_int_eq(h_create_acl(&h, 0, ZOO_CREATE_OP, "/r2", "", 0, r2_acl, 1, NULL), 0);
    int32_t n;
    const zkp_ACL *stored = dt_node_acl(dt_get(h.dt, "/r"), &n);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(stored[0].id.scheme, "digest");
    ck_assert_str_eq(stored[0].id.id, "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=");

    /* an unauthenticated session */
    acl_auth_free(&h.auth);
    acl_auth_init(&h.auth, "127.0.0.1");
    ck_assert_int_eq(h_create(&h, 0, "/r/x", "", 0), ZNOAUTH);
    ck_assert_int_eq(h_create(&h, 0, "/r/x/y", "", 0), ZNONODE);   /* parent lookup first */
    ck_assert_int_eq(h_delete(&h, 0, "/r/x", -1), ZNOAUTH);         /* parent ACL before the node */
    zkp_SetACLRequest sa = {"/r2", {1, h_open_acl}, -1};
    dt_result_t res;
    h_run(&h, 0, ZOO_SETACL_OP, &sa, &res);
    ck_assert_int_eq(res.err, ZNOAUTH);
    dt_result_free(&res);
    zkp_ACL bad[1] = {{ZK_PERM_ALL, {"foo", "x"}}};
    zkp_SetACLRequest sb = {"/r2", {1, bad}, -1};
    h_run(&h, 0, ZOO_SETACL_OP, &sb, &res);
    ck_assert_int_eq(res.err, ZINVALIDACL);   /* the ACL is checked before ADMIN */
    dt_result_free(&res);
    zkp_SetACLRequest sc = {"/nonode", {1, h_open_acl}, -1};
    h_run(&h, 0, ZOO_SETACL_OP, &sc, &res);
    ck_assert_int_eq(res.err, ZNONODE);
    dt_result_free(&res);
    ck_assert_int_eq(h_set(&h, 0, "/r", "", 5), ZNOAUTH);   /* WRITE before version */
    /* create: INVALIDACL comes before NONODE */
    ck_assert_int_eq(h_create_acl(&h, 0, ZOO_CREATE_OP, "/nope/x", "", 0, bad, 1, NULL), ZINVALIDACL);
    ck_assert_int_eq(h_create_acl(&h, 0, ZOO_CREATE_OP, "/x", "", 0, NULL, 0, NULL), ZINVALIDACL);
    zkp_ACL authacl[1] = {{ZK_PERM_ALL, {"auth", ""}}};
    ck_assert_int_eq(h_create_acl(&h, 0, ZOO_CREATE_OP, "/x", "", 0, authacl, 1, NULL), ZINVALIDACL);
    /* bad flags first of all */
    ck_assert_int_eq(h_create_acl(&h, 0, ZOO_CREATE_OP, "/nope/x", "", 7, bad, 1, NULL), ZBADARGUMENTS);
    ck_assert_int_eq(h_create_acl(&h, 0, ZOO_CREATE_OP, "/nope/x", "", -1, bad, 1, NULL), ZBADARGUMENTS);
    /* delete: version before emptiness */
    ck_assert_int_eq(h_create(&h, 0, "/p", "", 0), 0);
    ck_assert_int_eq(h_create(&h, 0, "/p/c", "", 0), 0);
    ck_assert_int_eq(h_delete(&h, 0, "/p", 3), ZBADVERSION);
    ck_assert_int_eq(h_delete(&h, 0, "/p", 0), ZNOTEMPTY);
    ck_assert_int_eq(h_create(&h, 0, "/p/c", "", 0), ZNODEEXISTS);
    h_fini(&h);
}
END_TEST

START_TEST(pipelined_writes_see_outstanding_changes)
{
    harness_t h;
    h_init(&h);
    buf_t t[6];
    prep_ctx_t c[6];
    for (int i = 0; i < 6; i++) {
        t[i] = (buf_t)BUF_INIT;
        c[i] = h_ctx(&h, 0);
    }
    zkp_CreateRequest a = {"/a", {NULL, -1}, {1, h_open_acl}, 0};
    zkp_CreateRequest ab = {"/a/b", {NULL, -1}, {1, h_open_acl}, 0};
    zkp_CreateRequest seq = {"/a/s", {NULL, -1}, {1, h_open_acl}, ZK_PERSISTENT_SEQUENTIAL};
    zkp_SetDataRequest set = {"/a", {(uint8_t *)"x", 1}, 0};
    zkp_DeleteRequest del = {"/a/b", -1};
    ck_assert_int_eq(prep_request(h.prep, &c[0], ZOO_CREATE_OP, &a, &t[0]), 0);
    ck_assert_int_eq(prep_request(h.prep, &c[1], ZOO_CREATE_OP, &ab, &t[1]), 0);   /* parent pending */
    ck_assert_int_eq(prep_request(h.prep, &c[2], ZOO_CREATE_OP, &seq, &t[2]), 0);  /* suffix 1 */
    ck_assert_int_eq(prep_request(h.prep, &c[3], ZOO_SETDATA_OP, &set, &t[3]), 0);
    set.version = 0;   /* stale: the pending setData made it 1 */
    ck_assert_int_eq(prep_request(h.prep, &c[4], ZOO_SETDATA_OP, &set, &t[4]), ZBADVERSION);
    ck_assert_int_eq(prep_request(h.prep, &c[5], ZOO_DELETE_OP, &del, &t[5]), 0);
    ck_assert_uint_gt(prep_outstanding(h.prep), 0);
    for (int i = 0; i < 6; i++) {
        dt_result_t res;
        ck_assert_int_eq(h_apply(&h, &t[i], &res), 0);
        ck_assert_int_eq(res.err, i == 4 ? ZBADVERSION : 0);
        dt_result_free(&res);
        buf_free(&t[i]);
    }
    ck_assert_uint_eq(prep_outstanding(h.prep), 0);
    ck_assert_ptr_nonnull(dt_get(h.dt, "/a/s0000000001"));
    ck_assert_ptr_null(dt_get(h.dt, "/a/b"));
    ck_assert_int_eq(h_stat(&h, "/a").version, 1);
    /* a pending delete hides the node; prep_reset forgets everything pending */
    prep_ctx_t d = h_ctx(&h, 0);
    buf_t dt = BUF_INIT;
    zkp_DeleteRequest dels = {"/a/s0000000001", -1};
    ck_assert_int_eq(prep_request(h.prep, &d, ZOO_DELETE_OP, &dels, &dt), 0);
    prep_ctx_t e = h_ctx(&h, 0);
    buf_t et = BUF_INIT;
    ck_assert_int_eq(prep_request(h.prep, &e, ZOO_DELETE_OP, &dels, &et), ZNONODE);
    buf_free(&et);
    prep_reset(h.prep);
    ck_assert_uint_eq(prep_outstanding(h.prep), 0);
    e = h_ctx(&h, 0);
    ck_assert_int_eq(prep_request(h.prep, &e, ZOO_DELETE_OP, &dels, &et), 0);
    buf_free(&et);
    buf_free(&dt);
    h_fini(&h);
}
END_TEST

START_TEST(multi_rollback_restores_earlier_pending_records)
{
    harness_t h;
    h_init(&h);
    ck_assert_int_eq(h_create(&h, 0, "/a", "", 0), 0);
    /* a pending setData on /a, then a failing multi that touches /a, then a write that must
     * still see the pending setData (version 1) */
    prep_ctx_t c1 = h_ctx(&h, 0);
    buf_t t1 = BUF_INIT;
    zkp_SetDataRequest set = {"/a", {(uint8_t *)"1", 1}, 0};
    ck_assert_int_eq(prep_request(h.prep, &c1, ZOO_SETDATA_OP, &set, &t1), 0);
    zkp_SetDataRequest set2 = {"/a", {(uint8_t *)"2", 1}, 1};
    zkp_CreateRequest cr = {"/a/new", {NULL, -1}, {1, h_open_acl}, 0};
    zkp_DeleteRequest bad = {"/missing", -1};
    prep_multi_op_t ops[] = {{ZOO_SETDATA_OP, &set2, false}, {ZOO_CREATE_OP, &cr, false}, {ZOO_DELETE_OP, &bad, false}};
    prep_multi_t m = {ops, 3};
    prep_ctx_t c2 = h_ctx(&h, 0);
    buf_t t2 = BUF_INIT;
    ck_assert_int_eq(prep_request(h.prep, &c2, ZOO_MULTI_OP, &m, &t2), ZNONODE);
    /* the multi txn holds error entries: 0, 0, -101 */
    jute_rd_t jr;
    jute_rd_init(&jr, t2.data, t2.len);
    zkp_TxnHeader hd;
    ck_assert_int_eq(jute_decode(&zkp_TxnHeader_rec, &hd, &jr), 0);
    ck_assert_int_eq(hd.type, ZOO_MULTI_OP);
    zkp_MultiTxn mt;
    ck_assert_int_eq(jute_decode(&zkp_MultiTxn_rec, &mt, &jr), 0);
    ck_assert_int_eq(mt.txns.n, 3);
    int32_t want[] = {0, 0, ZNONODE};
    for (int i = 0; i < 3; i++) {
        zkp_Txn *x = &((zkp_Txn *)mt.txns.v)[i];
        ck_assert_int_eq(x->type, ZOO_ERROR_OP);
        ck_assert_int_eq(x->data.len, 4);
        ck_assert_int_eq((int32_t)be32_get(x->data.data), want[i]);
    }
    jute_free(&zkp_MultiTxn_rec, &mt);
    prep_ctx_t c3 = h_ctx(&h, 0);
    buf_t t3 = BUF_INIT;
    ck_assert_int_eq(prep_request(h.prep, &c3, ZOO_SETDATA_OP, &set2, &t3), 0);   /* version 1 still pending */
    prep_ctx_t c4 = h_ctx(&h, 0);
    buf_t t4 = BUF_INIT;
    zkp_DeleteRequest dnew = {"/a/new", -1};
    ck_assert_int_eq(prep_request(h.prep, &c4, ZOO_DELETE_OP, &dnew, &t4), ZNONODE);   /* rolled back */
    buf_t *all[] = {&t1, &t2, &t3, &t4};
    for (int i = 0; i < 4; i++) {
        dt_result_t res;
        ck_assert_int_eq(h_apply(&h, all[i], &res), 0);
        dt_result_free(&res);
        buf_free(all[i]);
    }
    ck_assert_int_eq(h_stat(&h, "/a").version, 2);
    ck_assert_uint_eq(prep_outstanding(h.prep), 0);
    h_fini(&h);
}
END_TEST

START_TEST(multi_ops_rebuilt_from_flags_like_3_8_0)
{
    harness_t h;
    h_init(&h);
    prep_set_extended_types(h.prep, true);
    /* createContainer with flags 0 is a plain create; create with flags 4 a container */
    zkp_CreateRequest a = {"/a", {NULL, -1}, {1, h_open_acl}, 0};
    zkp_CreateRequest b = {"/b", {NULL, -1}, {1, h_open_acl}, ZK_CONTAINER};
    zkp_CreateTTLRequest c = {"/c", {NULL, -1}, {1, h_open_acl}, 0, 100};   /* ttl dropped */
    prep_multi_op_t ops[] = {{ZOO_CREATECONTAINER_OP, &a, false}, {ZOO_CREATE_OP, &b, false},
                             {ZOO_CREATETTL_OP, &c, false}};
    prep_multi_t m = {ops, 3};
    dt_result_t res;
    h_run(&h, 0, ZOO_MULTI_OP, &m, &res);
    ck_assert_int_eq(res.txn_err, 0);
    /* as a live 3.8.0: a create result (path only), then a create2-typed one (path + Stat) */
    ck_assert_str_eq(h_hex(res.reply.data, 15), "000000010000000000000000022f61");
    ck_assert_int_eq((int32_t)be32_get(res.reply.data + 15), ZOO_CREATE2_OP);
    ck_assert_int_eq((int32_t)be32_get(res.reply.data + 15 + 9 + 6 + 68), ZOO_CREATE_OP);
    dt_result_free(&res);
    ck_assert(dt_node_ephemeral_owner(dt_get(h.dt, "/a")) == 0);
    ck_assert(dt_node_ephemeral_owner(dt_get(h.dt, "/b")) == ZK_CONTAINER_EPHEMERAL_OWNER);
    ck_assert(dt_node_ephemeral_owner(dt_get(h.dt, "/c")) == 0);
    /* a create op carrying TTL flags cannot be prepared: the whole request fails */
    zkp_CreateRequest d = {"/d", {NULL, -1}, {1, h_open_acl}, ZK_PERSISTENT_WITH_TTL};
    zkp_CreateRequest a2 = {"/a2", {NULL, -1}, {1, h_open_acl}, 0};
    prep_multi_op_t ops2[] = {{ZOO_CREATE_OP, &a2, false}, {ZOO_CREATE_OP, &d, false}};
    prep_multi_t m2 = {ops2, 2};
    h_run(&h, 0, ZOO_MULTI_OP, &m2, &res);
    ck_assert_int_eq(res.type, ZOO_ERROR_OP);
    ck_assert_int_eq(res.err, ZMARSHALLINGERROR);
    dt_result_free(&res);
    ck_assert_ptr_null(dt_get(h.dt, "/a2"));
    /* ...unless an earlier op already failed: later ops are not looked at */
    prep_multi_op_t ops4[] = {{ZOO_CREATE_OP, &a, false}, {ZOO_CREATE_OP, &d, false}};
    prep_multi_t m4 = {ops4, 2};
    h_run(&h, 0, ZOO_MULTI_OP, &m4, &res);
    ck_assert_int_eq(res.type, ZOO_MULTI_OP);
    ck_assert_int_eq(res.txn_err, ZNODEEXISTS);
    dt_result_free(&res);
    /* so does a read op inside a write multi */
    zkp_PathWatchRequest g = {"/", false};
    prep_multi_op_t ops3[] = {{ZOO_GETDATA_OP, &g, false}};
    prep_multi_t m3 = {ops3, 1};
    h_run(&h, 0, ZOO_MULTI_OP, &m3, &res);
    ck_assert_int_eq(res.err, ZMARSHALLINGERROR);
    dt_result_free(&res);
    ck_assert_uint_eq(prep_outstanding(h.prep), 0);
    h_fini(&h);
}
END_TEST

START_TEST(close_session_covers_pending_ephemerals)
{
    harness_t h;
    h_init(&h);
    h_session(&h, SID1, 30000);
    ck_assert_int_eq(h_create(&h, SID1, "/e1", "", ZK_EPHEMERAL), 0);
    ck_assert_int_eq(h_create(&h, SID1, "/e2", "", ZK_EPHEMERAL), 0);
    /* pipelined: create /e3, delete /e2, then close */
    prep_ctx_t c1 = h_ctx(&h, SID1), c2 = h_ctx(&h, SID1), c3 = h_ctx(&h, SID1);
    buf_t t1 = BUF_INIT, t2 = BUF_INIT, t3 = BUF_INIT;
    zkp_CreateRequest e3 = {"/e3", {NULL, -1}, {1, h_open_acl}, ZK_EPHEMERAL};
    zkp_DeleteRequest d2 = {"/e2", -1};
    ck_assert_int_eq(prep_request(h.prep, &c1, ZOO_CREATE_OP, &e3, &t1), 0);
    ck_assert_int_eq(prep_request(h.prep, &c2, ZOO_DELETE_OP, &d2, &t2), 0);
    ck_assert_int_eq(prep_request(h.prep, &c3, ZOO_CLOSE_OP, NULL, &t3), 0);
    jute_rd_t jr;
    jute_rd_init(&jr, t3.data, t3.len);
    zkp_TxnHeader hd;
    ck_assert_int_eq(jute_decode(&zkp_TxnHeader_rec, &hd, &jr), 0);
    ck_assert_int_eq(hd.type, ZOO_CLOSE_OP);
    zkp_CloseSessionTxn cs;
    ck_assert_int_eq(jute_decode(&zkp_CloseSessionTxn_rec, &cs, &jr), 0);
    ck_assert_int_eq(cs.paths2Delete.n, 2);
    ck_assert_str_eq(cs.paths2Delete.v[0], "/e1");
    ck_assert_str_eq(cs.paths2Delete.v[1], "/e3");
    jute_free(&zkp_CloseSessionTxn_rec, &cs);
    /* the closing session can no longer create ephemerals */
    prep_ctx_t c4 = h_ctx(&h, SID1);
    buf_t t4 = BUF_INIT;
    zkp_CreateRequest e4 = {"/e4", {NULL, -1}, {1, h_open_acl}, ZK_EPHEMERAL};
    ck_assert_int_eq(prep_request(h.prep, &c4, ZOO_CREATE_OP, &e4, &t4), ZSESSIONEXPIRED);
    buf_t *all[] = {&t1, &t2, &t3, &t4};
    for (int i = 0; i < 4; i++) {
        dt_result_t res;
        ck_assert_int_eq(h_apply(&h, all[i], &res), 0);
        dt_result_free(&res);
        buf_free(all[i]);
    }
    ck_assert_uint_eq(dt_node_count(h.dt), 4);
    ck_assert(!dt_session_exists(h.dt, SID1));
    ck_assert_uint_eq(prep_outstanding(h.prep), 0);
    h_fini(&h);
}
END_TEST

START_TEST(ephemerals_need_a_live_session)
{
    harness_t h;
    h_init(&h);
    ck_assert_int_eq(h_create(&h, SID1, "/e", "", ZK_EPHEMERAL), ZSESSIONEXPIRED);
    ck_assert_int_eq(h_create(&h, 0, "/e", "", ZK_EPHEMERAL), ZSESSIONEXPIRED);
    /* a prepared (not yet applied) createSession is enough */
    prep_ctx_t c = h_ctx(&h, SID2);
    buf_t s = BUF_INIT;
    prep_create_session(h.prep, &c, 6000, &s);
    prep_ctx_t c2 = h_ctx(&h, SID2);
    buf_t e = BUF_INIT;
    zkp_CreateRequest req = {"/e", {NULL, -1}, {1, h_open_acl}, ZK_EPHEMERAL};
    ck_assert_int_eq(prep_request(h.prep, &c2, ZOO_CREATE_OP, &req, &e), 0);
    dt_result_t res;
    ck_assert_int_eq(h_apply(&h, &s, &res), 0);
    dt_result_free(&res);
    ck_assert_int_eq(h_apply(&h, &e, &res), 0);
    ck_assert_int_eq(res.err, 0);
    dt_result_free(&res);
    buf_free(&s);
    buf_free(&e);
    ck_assert_int_eq(h_stat(&h, "/e").ephemeralOwner, SID2);
    ck_assert_int_eq(h_create(&h, SID2, "/e/child", "", 0), ZNOCHILDRENFOREPHEMERALS);
    ck_assert_int_eq(h_close(&h, SID2, NULL), 0);
    ck_assert_int_eq(h_create(&h, SID2, "/e2", "", ZK_EPHEMERAL), ZSESSIONEXPIRED);
    h_fini(&h);
}
END_TEST

START_TEST(ttl_rules_like_3_8)
{
    harness_t h;
    h_init(&h);
    zkp_CreateTTLRequest t = {"/t", {NULL, -1}, {1, h_open_acl}, ZK_PERSISTENT_WITH_TTL, 100};
    dt_result_t res;
    h_run(&h, 0, ZOO_CREATETTL_OP, &t, &res);
    ck_assert_int_eq(res.err, ZUNIMPLEMENTED);   /* extendedTypesEnabled is off by default */
    dt_result_free(&res);
    prep_set_extended_types(h.prep, true);
    int64_t ttls[] = {0, -5, ZK_TTL_MAX + 1};
    for (int i = 0; i < 3; i++) {
        t.ttl = ttls[i];
        h_run(&h, 0, ZOO_CREATETTL_OP, &t, &res);
        ck_assert_int_eq(res.err, ZBADARGUMENTS);
        dt_result_free(&res);
    }
    t.ttl = 100;
    t.flags = 0;   /* live 3.8: createTTL with a non-TTL mode -> BADARGUMENTS */
    h_run(&h, 0, ZOO_CREATETTL_OP, &t, &res);
    ck_assert_int_eq(res.err, ZBADARGUMENTS);
    dt_result_free(&res);
    ck_assert_int_eq(h_create(&h, 0, "/t3", "", ZK_PERSISTENT_WITH_TTL), ZBADARGUMENTS);   /* no ttl field */
    t.flags = ZK_PERSISTENT_SEQUENTIAL_WITH_TTL;
    t.ttl = ZK_TTL_MAX;
    h_run(&h, 0, ZOO_CREATETTL_OP, &t, &res);
    ck_assert_int_eq(res.err, 0);
    dt_result_free(&res);
    ck_assert_ptr_nonnull(dt_get(h.dt, "/t0000000000"));
    ck_assert(dt_node_ephemeral_owner(dt_get(h.dt, "/t0000000000")) == (ZK_TTL_MASK | ZK_TTL_MAX));
    /* a TTL parent is not ephemeral: children allowed */
    ck_assert_int_eq(h_create(&h, 0, "/t0000000000/x", "", 0), 0);
    h_fini(&h);
}
END_TEST

START_TEST(delete_container_rules)
{
    harness_t h;
    h_init(&h);
    h_session(&h, SID1, 30000);
    ck_assert_int_eq(h_create(&h, 0, "/p", "", 0), 0);
    ck_assert_int_eq(h_create(&h, 0, "/p/c", "", 0), 0);
    ck_assert_int_eq(h_create(&h, SID1, "/e", "", ZK_EPHEMERAL), 0);
    struct { const char *path; int err; } cases[] = {
        {"/p", ZNOTEMPTY}, {"/e", ZBADVERSION}, {"/missing", ZNONODE}, {"/", ZBADARGUMENTS},
        {"/zookeeper", ZBADARGUMENTS}, {"/p/c", 0},   /* 3.8 only refuses normal ephemerals */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        prep_ctx_t c = h_ctx(&h, 0);
        buf_t txn = BUF_INIT;
        ck_assert_int_eq(prep_delete_container(h.prep, &c, cases[i].path, &txn), cases[i].err);
        dt_result_t res;
        ck_assert_int_eq(h_apply(&h, &txn, &res), 0);
        ck_assert_int_eq(res.err, cases[i].err);
        dt_result_free(&res);
        buf_free(&txn);
    }
    ck_assert_ptr_null(dt_get(h.dt, "/p/c"));
    h_fini(&h);
}
END_TEST

START_TEST(nul_in_path_is_bad_arguments)
{
    harness_t h;
    h_init(&h);
    ck_assert_int_eq(h_create(&h, 0, "/r", "", 0), 0);
    prep_ctx_t c = h_ctx(&h, 0);
    c.saw_nul = true;
    buf_t txn = BUF_INIT;
    zkp_CreateRequest req = {"/r", {NULL, -1}, {1, h_open_acl}, 0};   /* "/r\0x" decoded as "/r" */
    ck_assert_int_eq(prep_request(h.prep, &c, ZOO_CREATE_OP, &req, &txn), ZBADARGUMENTS);
    buf_free(&txn);
    c = h_ctx(&h, 0);
    c.saw_nul = true;
    zkp_SetDataRequest sd = {"/r", {NULL, -1}, -1};
    ck_assert_int_eq(prep_request(h.prep, &c, ZOO_SETDATA_OP, &sd, &txn), ZBADARGUMENTS);
    buf_free(&txn);
    c = h_ctx(&h, 0);
    c.saw_nul = true;
    zkp_DeleteRequest del = {"/r", -1};
    ck_assert_int_eq(prep_request(h.prep, &c, ZOO_DELETE_OP, &del, &txn), ZBADARGUMENTS);
    buf_free(&txn);
    /* in a multi, the flag of the op decides */
    prep_multi_op_t ops[] = {{ZOO_SETDATA_OP, &sd, false}, {ZOO_DELETE_OP, &del, true}};
    prep_multi_t m = {ops, 2};
    c = h_ctx(&h, 0);
    ck_assert_int_eq(prep_request(h.prep, &c, ZOO_MULTI_OP, &m, &txn), ZBADARGUMENTS);
    buf_free(&txn);
    ck_assert_ptr_nonnull(dt_get(h.dt, "/r"));
    h_fini(&h);
}
END_TEST

START_TEST(standalone_check)
{
    harness_t h;
    h_init(&h);
    ck_assert_int_eq(h_create(&h, 0, "/c", "", 0), 0);
    zkp_CheckVersionRequest ck = {"/c", 0};
    dt_result_t res;
    h_run(&h, 0, ZOO_CHECK_OP, &ck, &res);
    ck_assert_int_eq(res.type, ZOO_CHECK_OP);
    ck_assert_int_eq(res.err, 0);
    ck_assert(res.close_connection);   /* 3.8 drops the connection here */
    dt_result_free(&res);
    ck.version = 4;
    h_run(&h, 0, ZOO_CHECK_OP, &ck, &res);
    ck_assert_int_eq(res.err, ZBADVERSION);
    ck_assert(!res.close_connection);
    dt_result_free(&res);
    h_fini(&h);
}
END_TEST

START_TEST(multi_wire_decode)
{
    zkp_CreateRequest c = {"/a", {(uint8_t *)"d", 1}, {1, h_open_acl}, 0};
    zkp_CreateTTLRequest t = {"/t", {NULL, -1}, {1, h_open_acl}, 5, 77};
    zkp_DeleteRequest d = {"/a", 3};
    zkp_SetDataRequest s = {"/a", {NULL, -1}, -1};
    zkp_CheckVersionRequest k = {"/a", 1};
    zkp_PathWatchRequest g = {"/a", true};
    prep_multi_op_t ops[] = {{ZOO_CREATE_OP, &c, false}, {ZOO_CREATETTL_OP, &t, false}, {ZOO_DELETE_OP, &d, false},
                             {ZOO_SETDATA_OP, &s, false}, {ZOO_CHECK_OP, &k, false}, {ZOO_GETDATA_OP, &g, false},
                             {ZOO_GETCHILDREN_OP, &g, false}};
    prep_multi_t m = {ops, 7};
    buf_t wire = BUF_INIT;
    prep_multi_encode(&m, &wire);
    jute_rd_t jr;
    jute_rd_init(&jr, wire.data, wire.len);
    prep_multi_t out;
    ck_assert_int_eq(prep_multi_decode(&jr, &out), 0);
    ck_assert_uint_eq(jute_left(&jr), 0);
    ck_assert_uint_eq(out.n, 7);
    ck_assert_int_eq(out.ops[1].type, ZOO_CREATETTL_OP);
    ck_assert_int_eq(((zkp_CreateTTLRequest *)out.ops[1].req)->ttl, 77);
    ck_assert_int_eq(((zkp_DeleteRequest *)out.ops[2].req)->version, 3);
    ck_assert(((zkp_PathWatchRequest *)out.ops[6].req)->watch);
    buf_t again = BUF_INIT;
    prep_multi_encode(&out, &again);
    ck_assert(again.len == wire.len && memcmp(again.data, wire.data, wire.len) == 0);
    buf_free(&again);
    prep_multi_free(&out);
    /* every truncation fails cleanly */
    for (size_t cut = 0; cut < wire.len; cut++) {
        jute_rd_init(&jr, wire.data, cut);
        ck_assert_int_eq(prep_multi_decode(&jr, &out), -1);
        ck_assert_uint_eq(out.n, 0);
    }
    buf_free(&wire);
    /* an op type multi does not know (setACL, 7) */
    buf_t bad = BUF_INIT;
    zkp_MultiHeader mh = {ZOO_SETACL_OP, false, -1};
    jute_encode(&zkp_MultiHeader_rec, &mh, &bad);
    zkp_SetACLRequest sa = {"/a", {1, h_open_acl}, -1};
    jute_encode(&zkp_SetACLRequest_rec, &sa, &bad);
    mh = (zkp_MultiHeader){-1, true, -1};
    jute_encode(&zkp_MultiHeader_rec, &mh, &bad);
    jute_rd_init(&jr, bad.data, bad.len);
    ck_assert_int_eq(prep_multi_decode(&jr, &out), -1);
    buf_free(&bad);
    /* NUL bytes are reported per op */
    uint8_t nul[] = {0, 0, 0, 2, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 3, '/', 0, 'x', 0xff, 0xff, 0xff, 0xff,
                     0xff, 0xff, 0xff, 0xff, 1, 0xff, 0xff, 0xff, 0xff};
    jute_rd_init(&jr, nul, sizeof nul);
    ck_assert_int_eq(prep_multi_decode(&jr, &out), 0);
    ck_assert_uint_eq(out.n, 1);
    ck_assert(out.ops[0].has_nul);
    ck_assert(jr.saw_nul);
    prep_multi_free(&out);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("prep");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, path_errors_like_3_8);
    tcase_add_test(tc, failed_write_is_an_error_txn);
    tcase_add_test(tc, check_order_like_3_8);
    tcase_add_test(tc, pipelined_writes_see_outstanding_changes);
    tcase_add_test(tc, multi_rollback_restores_earlier_pending_records);
    tcase_add_test(tc, multi_ops_rebuilt_from_flags_like_3_8_0);
    tcase_add_test(tc, close_session_covers_pending_ephemerals);
    tcase_add_test(tc, ephemerals_need_a_live_session);
    tcase_add_test(tc, ttl_rules_like_3_8);
    tcase_add_test(tc, delete_container_rules);
    tcase_add_test(tc, nul_in_path_is_bad_arguments);
    tcase_add_test(tc, standalone_check);
    tcase_add_test(tc, multi_wire_decode);
    suite_add_tcase(s, tc);
    return h_run_suite(s);
}
