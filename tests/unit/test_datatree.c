/* Unit tests: the data tree — Stat accounting (values checked against a live
 * ZooKeeper 3.8 with the same operations), apply replies, sessions and ephemerals,
 * multi, snapshots, malformed input, expiry candidates and deep/large trees. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord_harness.h"

#define SID1 0x100000a1ebc0001LL
#define SID2 0x100000a1ebc0002LL

START_TEST(initial_tree_matches_3_8)
{
    dt_t *dt = dt_new();
    ck_assert_uint_eq(dt_node_count(dt), 4);
    zkp_Stat st;
    dt_node_stat(dt_get(dt, "/"), &st);
    /* live 3.8: stat / -> cversion -1, numChildren 1, everything else 0 */
    ck_assert_int_eq(st.cversion, -1);
    ck_assert_int_eq(st.numChildren, 1);
    ck_assert(st.czxid == 0 && st.mzxid == 0 && st.pzxid == 0 && st.ctime == 0);
    dt_node_stat(dt_get(dt, "/zookeeper"), &st);
    ck_assert_int_eq(st.cversion, -2);
    ck_assert_int_eq(st.numChildren, 2);
    dt_node_stat(dt_get(dt, "/zookeeper/config"), &st);
    ck_assert_int_eq(st.aversion, -1);
    ck_assert_int_eq(st.cversion, 0);
    int32_t n;
    const zkp_ACL *acl = dt_node_acl(dt_get(dt, "/zookeeper/config"), &n);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(acl[0].perms, ZK_PERM_READ);
    ck_assert_str_eq(acl[0].id.scheme, "world");
    acl = dt_node_acl(dt_get(dt, "/zookeeper"), &n);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(acl[0].perms, ZK_PERM_ALL);
    dt_node_stat(dt_get(dt, "/zookeeper/quota"), &st);
    ck_assert_int_eq(st.aversion, 0);
    ck_assert_int_eq(dt_node_descendants(dt_get(dt, "/")), 3);
    ck_assert_uint_eq(dt_data_bytes(dt), 1 + 10 + 16 + 17);
    ck_assert_int_eq(dt_last_zxid(dt), 0);
    jute_strvec_t kids = {0, NULL};
    dt_node_children(dt_get(dt, "/zookeeper"), &kids);
    ck_assert_int_eq(kids.n, 2);
    ck_assert_str_eq(kids.v[0], "config");
    ck_assert_str_eq(kids.v[1], "quota");
    jute_strvec_free(&kids);
    dt_free(dt);
}
END_TEST

/* Same sequence as run against a live 3.8: /p + 3 children, delete one, sequential child. */
START_TEST(cversion_counts_creates_and_deletes)
{
    harness_t h;
    h_init(&h);
    h_session(&h, SID1, 30000);   /* zxid 1 */
    ck_assert_int_eq(h_create(&h, SID1, "/p", "x", 0), 0);   /* 2 */
    ck_assert_int_eq(h_create(&h, SID1, "/p/c0", "", 0), 0);  /* 3 */
    ck_assert_int_eq(h_create(&h, SID1, "/p/c1", "", 0), 0);  /* 4 */
    ck_assert_int_eq(h_create(&h, SID1, "/p/c2", "", 0), 0);  /* 5 */
    zkp_Stat st = h_stat(&h, "/p");
    ck_assert_int_eq(st.cversion, 3);
    ck_assert_int_eq(st.numChildren, 3);
    ck_assert_int_eq(st.pzxid, 5);
    ck_assert_int_eq(st.czxid, 2);
    ck_assert_int_eq(st.dataLength, 1);
    ck_assert_int_eq(h_delete(&h, SID1, "/p/c1", -1), 0);     /* 6 */
    st = h_stat(&h, "/p");
    ck_assert_int_eq(st.cversion, 4);
    ck_assert_int_eq(st.numChildren, 2);
    ck_assert_int_eq(st.pzxid, 6);
    char *name = NULL;
    ck_assert_int_eq(h_create_acl(&h, SID1, ZOO_CREATE_OP, "/p/s-", "", ZK_PERSISTENT_SEQUENTIAL, h_open_acl, 1, &name),
                     0);
    ck_assert_str_eq(name, "/p/s-0000000003");   /* the suffix counts creations only */
    free(name);
    st = h_stat(&h, "/");
    ck_assert_int_eq(st.cversion, 0);   /* stored: 1 creation; children /zookeeper, /p -> 2*1-2 */
    ck_assert_int_eq(st.numChildren, 2);
    ck_assert_int_eq(st.pzxid, 2);
    h_fini(&h);
}
END_TEST

START_TEST(null_data_stays_null)
{
    harness_t h;
    h_init(&h);
    ck_assert_int_eq(h_create(&h, 0, "/n", NULL, 0), 0);
    ck_assert_int_eq(h_create(&h, 0, "/e", "", 0), 0);
    int32_t len = 7;
    ck_assert_ptr_null(dt_node_data(dt_get(h.dt, "/n"), &len));
    ck_assert_int_eq(len, -1);
    ck_assert_ptr_nonnull(dt_node_data(dt_get(h.dt, "/e"), &len));
    ck_assert_int_eq(len, 0);
    ck_assert_int_eq(h_stat(&h, "/n").dataLength, 0);
    ck_assert_int_eq(h_set(&h, 0, "/e", NULL, -1), 0);
    ck_assert_ptr_null(dt_node_data(dt_get(h.dt, "/e"), &len));
    h_fini(&h);
}
END_TEST

START_TEST(apply_replies_and_events)
{
    harness_t h;
    h_init(&h);
    zkp_CreateRequest req = {"/a", {(uint8_t *)"hi", 2}, {1, h_open_acl}, 0};
    dt_result_t res;
    h_run(&h, SID1, ZOO_CREATE_OP, &req, &res);
    ck_assert_int_eq(res.err, 0);
    ck_assert_int_eq(res.type, ZOO_CREATE_OP);
    ck_assert_int_eq(res.session_id, SID1);
    ck_assert_str_eq(h_hex(res.reply.data, res.reply.len), "000000022f61");
    ck_assert_uint_eq(res.nevents, 2);
    ck_assert_int_eq(res.events[0].type, ZK_EVENT_CREATED);
    ck_assert_str_eq(res.events[0].path, "/a");
    ck_assert_int_eq(res.events[1].type, ZK_EVENT_CHILD);
    ck_assert_str_eq(res.events[1].path, "/");
    dt_result_free(&res);

    req.path = "/a/b";
    h_run(&h, SID1, ZOO_CREATE2_OP, &req, &res);
    ck_assert_int_eq(res.err, 0);
    ck_assert_uint_eq(res.reply.len, 4 + 4 + 68);
    jute_rd_t jr;
    jute_rd_init(&jr, res.reply.data, res.reply.len);
    zkp_Create2Response c2;
    ck_assert_int_eq(jute_decode(&zkp_Create2Response_rec, &c2, &jr), 0);
    ck_assert_str_eq(c2.path, "/a/b");
    ck_assert_int_eq(c2.stat.czxid, res.zxid);
    ck_assert_int_eq(c2.stat.dataLength, 2);
    ck_assert_int_eq(c2.stat.ctime, h.now);
    jute_free(&zkp_Create2Response_rec, &c2);
    ck_assert_str_eq(res.events[1].path, "/a");
    dt_result_free(&res);

    h.now += 5;
    zkp_SetDataRequest sd = {"/a", {(uint8_t *)"xyz", 3}, 0};
    h_run(&h, SID1, ZOO_SETDATA_OP, &sd, &res);
    ck_assert_int_eq(res.err, 0);
    zkp_Stat st;
    jute_rd_init(&jr, res.reply.data, res.reply.len);
    ck_assert_int_eq(jute_decode(&zkp_Stat_rec, &st, &jr), 0);
    ck_assert_int_eq(st.version, 1);
    ck_assert_int_eq(st.mzxid, res.zxid);
    ck_assert_int_eq(st.mtime, h.now);
    ck_assert_int_eq(st.dataLength, 3);
    ck_assert_uint_eq(res.nevents, 1);
    ck_assert_int_eq(res.events[0].type, ZK_EVENT_CHANGED);
    dt_result_free(&res);

    zkp_SetACLRequest sa = {"/a", {1, h_open_acl}, -1};
    h_run(&h, SID1, ZOO_SETACL_OP, &sa, &res);
    ck_assert_int_eq(res.err, 0);
    ck_assert_uint_eq(res.reply.len, 68);
    ck_assert_uint_eq(res.nevents, 0);
    ck_assert_int_eq(h_stat(&h, "/a").aversion, 1);
    dt_result_free(&res);

    zkp_DeleteRequest dr = {"/a/b", -1};
    h_run(&h, SID1, ZOO_DELETE_OP, &dr, &res);
    ck_assert_int_eq(res.err, 0);
    ck_assert_uint_eq(res.reply.len, 0);
    ck_assert_uint_eq(res.nevents, 2);
    ck_assert_int_eq(res.events[0].type, ZK_EVENT_DELETED);
    ck_assert_str_eq(res.events[0].path, "/a/b");
    ck_assert_int_eq(res.events[1].type, ZK_EVENT_CHILD);
    ck_assert_str_eq(res.events[1].path, "/a");
    dt_result_free(&res);

    /* a failed write: error txn, consumes a zxid, reply has no body */
    int64_t before = dt_last_zxid(h.dt);
    h_run(&h, SID1, ZOO_DELETE_OP, &dr, &res);
    ck_assert_int_eq(res.err, ZNONODE);
    ck_assert_int_eq(res.type, ZOO_ERROR_OP);
    ck_assert_uint_eq(res.reply.len, 0);
    ck_assert_uint_eq(res.nevents, 0);
    ck_assert_int_eq(dt_last_zxid(h.dt), before + 1);
    dt_result_free(&res);
    h_fini(&h);
}
END_TEST

START_TEST(ephemerals_removed_on_close_session)
{
    harness_t h;
    h_init(&h);
    h_session(&h, SID1, 30000);
    h_session(&h, SID2, 10000);
    ck_assert(dt_session_exists(h.dt, SID1));
    ck_assert_int_eq(dt_session_timeout(h.dt, SID2), 10000);
    ck_assert_int_eq(h_create(&h, SID1, "/m", "", 0), 0);
    ck_assert_int_eq(h_create(&h, SID2, "/m/e1", "", ZK_EPHEMERAL), 0);
    char *seq = NULL;
    ck_assert_int_eq(h_create_acl(&h, SID2, ZOO_CREATE_OP, "/m/e2", "", ZK_EPHEMERAL_SEQUENTIAL, h_open_acl, 1, &seq),
                     0);
    ck_assert_str_eq(seq, "/m/e20000000001");
    free(seq);
    ck_assert_int_eq(h_create(&h, SID1, "/m/e1/x", "", 0), ZNOCHILDRENFOREPHEMERALS);
    ck_assert_int_eq(h_stat(&h, "/m/e1").ephemeralOwner, SID2);
    ck_assert_uint_eq(dt_ephemeral_count(h.dt), 2);
    jute_strvec_t eph = {0, NULL};
    dt_session_ephemerals(h.dt, SID2, &eph);
    ck_assert_int_eq(eph.n, 2);
    ck_assert_str_eq(eph.v[0], "/m/e1");
    ck_assert_str_eq(eph.v[1], "/m/e20000000001");
    jute_strvec_free(&eph);
    zkp_Stat before = h_stat(&h, "/m");
    ck_assert_int_eq(before.cversion, 2);

    dt_result_t res;
    ck_assert_int_eq(h_close(&h, SID2, &res), 0);
    ck_assert_uint_eq(res.reply.len, 0);
    ck_assert_uint_eq(res.nevents, 4);
    ck_assert_int_eq(res.events[0].type, ZK_EVENT_DELETED);
    ck_assert_str_eq(res.events[0].path, "/m/e1");
    ck_assert_int_eq(res.events[1].type, ZK_EVENT_CHILD);
    ck_assert_str_eq(res.events[2].path, "/m/e20000000001");
    zkp_Stat after = h_stat(&h, "/m");
    ck_assert_int_eq(after.cversion, 4);        /* live 3.8: +2 after two ephemerals vanish */
    ck_assert_int_eq(after.pzxid, res.zxid);    /* ... and pzxid = the close's zxid */
    ck_assert_int_eq(after.numChildren, 0);
    dt_result_free(&res);
    ck_assert(!dt_session_exists(h.dt, SID2));
    ck_assert(dt_session_exists(h.dt, SID1));
    ck_assert_uint_eq(dt_ephemeral_count(h.dt), 0);
    ck_assert_uint_eq(dt_session_count(h.dt), 1);
    h_fini(&h);
}
END_TEST

/* The multi reply bytes of a live 3.8 for the same ops. */
START_TEST(multi_success_reply)
{
    harness_t h;
    h_init(&h);
    h.now = 0x1a1fb612b76LL;
    ck_assert_int_eq(h_create(&h, 0, "/m", "", 0), 0);
    h.zxid = 30;   /* so the multi gets zxid 31 as in the capture */
    zkp_CreateRequest c1 = {"/m/a", {(uint8_t *)"1", 1}, {1, h_open_acl}, 0};
    zkp_CreateRequest c2 = {"/m/b", {(uint8_t *)"1", 1}, {1, h_open_acl}, 0};
    zkp_SetDataRequest sd = {"/m/a", {(uint8_t *)"22", 2}, 0};
    zkp_CheckVersionRequest ck = {"/m/a", 1};
    zkp_DeleteRequest del = {"/m/b", -1};
    prep_multi_op_t ops[] = {{ZOO_CREATE_OP, &c1, false}, {ZOO_CREATE2_OP, &c2, false}, {ZOO_SETDATA_OP, &sd, false},
                             {ZOO_CHECK_OP, &ck, false}, {ZOO_DELETE_OP, &del, false}};
    prep_multi_t m = {ops, 5};
    dt_result_t res;
    h_run(&h, 0, ZOO_MULTI_OP, &m, &res);
    ck_assert_int_eq(res.err, 0);
    ck_assert_int_eq(res.txn_err, 0);
    /* captured from Debian's ZooKeeper 3.8.0: create2 inside multi is answered as a create */
    ck_assert_str_eq(h_hex(res.reply.data, res.reply.len),
                     "000000010000000000000000042f6d2f61000000010000000000000000042f6d2f620000000500000000000000"
                     "00000000001f000000000000001f000001a1fb612b76000001a1fb612b7600000001000000000000000000000000"
                     "000000000000000200000000000000000000001f0000000d0000000000000000020000000000ffffffff01ffffffff");
    ck_assert_int_eq(h_stat(&h, "/m").cversion, 3);
    ck_assert_int_eq(h_stat(&h, "/m").pzxid, 31);
    dt_result_free(&res);
    h_fini(&h);
}
END_TEST

START_TEST(multi_failure_reply_and_rollback)
{
    harness_t h;
    h_init(&h);
    ck_assert_int_eq(h_create(&h, 0, "/m", "", 0), 0);
    ck_assert_int_eq(h_create(&h, 0, "/m/a", "", 0), 0);
    uint64_t digest = dt_digest(h.dt);
    zkp_CreateRequest c = {"/m/c", {(uint8_t *)"1", 1}, {1, h_open_acl}, 0};
    zkp_CheckVersionRequest ck = {"/m/a", 7};
    zkp_DeleteRequest del = {"/m/a", -1};
    prep_multi_op_t ops[] = {{ZOO_CREATE_OP, &c, false}, {ZOO_CHECK_OP, &ck, false}, {ZOO_DELETE_OP, &del, false}};
    prep_multi_t m = {ops, 3};
    dt_result_t res;
    h_run(&h, 0, ZOO_MULTI_OP, &m, &res);
    ck_assert_int_eq(res.err, 0);   /* the header says OK; the per-op results carry the errors */
    ck_assert_int_eq(res.txn_err, ZBADVERSION);
    ck_assert_int_eq(res.type, ZOO_MULTI_OP);
    /* live 3.8.0: [0, -103, -2] */
    ck_assert_str_eq(h_hex(res.reply.data, res.reply.len),
                     "ffffffff000000000000000000ffffffff00ffffff99ffffff99ffffffff00fffffffefffffffeffffffff01ffffffff");
    ck_assert_uint_eq(res.nevents, 0);
    dt_result_free(&res);
    ck_assert_ptr_null(dt_get(h.dt, "/m/c"));
    ck_assert(dt_digest(h.dt) == digest);
    ck_assert_int_eq(dt_last_zxid(h.dt), 3);
    /* the rolled-back create does not linger in prep */
    ck_assert_int_eq(h_create(&h, 0, "/m/c", "", 0), 0);

    prep_multi_t empty = {NULL, 0};
    h_run(&h, 0, ZOO_MULTI_OP, &empty, &res);
    ck_assert_str_eq(h_hex(res.reply.data, res.reply.len), "ffffffff01ffffffff");
    ck_assert_int_eq(res.zxid, 5);   /* an empty multi still takes a zxid */
    dt_result_free(&res);
    h_fini(&h);
}
END_TEST

START_TEST(multi_sees_its_own_ops)
{
    harness_t h;
    h_init(&h);
    zkp_CreateRequest c1 = {"/x", {NULL, -1}, {1, h_open_acl}, 0};
    zkp_CreateRequest c2 = {"/x/y", {NULL, -1}, {1, h_open_acl}, ZK_PERSISTENT_SEQUENTIAL};
    zkp_CreateRequest c3 = {"/x/y", {NULL, -1}, {1, h_open_acl}, ZK_PERSISTENT_SEQUENTIAL};
    zkp_SetDataRequest sd = {"/x", {(uint8_t *)"d", 1}, 0};
    zkp_SetDataRequest sd2 = {"/x", {(uint8_t *)"e", 1}, 1};
    prep_multi_op_t ops[] = {{ZOO_CREATE_OP, &c1, false}, {ZOO_CREATE_OP, &c2, false}, {ZOO_CREATE_OP, &c3, false},
                             {ZOO_SETDATA_OP, &sd, false}, {ZOO_SETDATA_OP, &sd2, false}};
    prep_multi_t m = {ops, 5};
    dt_result_t res;
    h_run(&h, 0, ZOO_MULTI_OP, &m, &res);
    ck_assert_int_eq(res.txn_err, 0);
    ck_assert_ptr_nonnull(dt_get(h.dt, "/x/y0000000000"));
    ck_assert_ptr_nonnull(dt_get(h.dt, "/x/y0000000001"));
    zkp_Stat st = h_stat(&h, "/x");
    ck_assert_int_eq(st.version, 2);
    ck_assert_int_eq(st.cversion, 2);
    ck_assert_int_eq(st.czxid, res.zxid);
    ck_assert_uint_eq(res.nevents, 2 + 2 + 2 + 1 + 1);
    dt_result_free(&res);
    h_fini(&h);
}
END_TEST

/* Builds a tree with every kind of state in it. */
static void build_varied(harness_t *h)
{
    h_session(h, SID1, 30000);
    h_session(h, SID2, 4000);
    ck_assert_int_eq(h_create(h, SID1, "/a", "alpha", 0), 0);
    ck_assert_int_eq(h_create(h, SID1, "/a/null", NULL, 0), 0);
    ck_assert_int_eq(h_create(h, SID1, "/a/empty", "", 0), 0);
    ck_assert_int_eq(h_create(h, SID1, "/a/eph", "e", ZK_EPHEMERAL), 0);
    ck_assert_int_eq(h_create(h, SID2, "/a/eph2", "e", ZK_EPHEMERAL_SEQUENTIAL), 0);
    ck_assert_int_eq(h_create_acl(h, SID1, ZOO_CREATECONTAINER_OP, "/c", NULL, ZK_CONTAINER, h_open_acl, 1, NULL), 0);
    zkp_ACL acls[2] = {{ZK_PERM_READ, {"world", "anyone"}}, {ZK_PERM_ALL, {"digest", "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E="}}};
    ck_assert_int_eq(h_create_acl(h, SID1, ZOO_CREATE_OP, "/sec", "s", 0, acls, 2, NULL), 0);
    prep_set_extended_types(h->prep, true);
    zkp_CreateTTLRequest ttl = {"/t", {(uint8_t *)"t", 1}, {1, h_open_acl}, ZK_PERSISTENT_WITH_TTL, 5000};
    dt_result_t res;
    h_run(h, SID1, ZOO_CREATETTL_OP, &ttl, &res);
    ck_assert_int_eq(res.err, 0);
    dt_result_free(&res);
    ck_assert_int_eq(h_set(h, SID1, "/a", "beta", -1), 0);
    ck_assert_int_eq(h_delete(h, SID1, "/a/empty", -1), 0);
}

START_TEST(snapshot_round_trip)
{
    harness_t h;
    h_init(&h);
    build_varied(&h);
    buf_t snap = BUF_INIT;
    dt_serialize(h.dt, &snap);
    dt_t *copy = NULL;
    ck_assert_int_eq(dt_deserialize(&copy, snap.data, snap.len), 0);
    ck_assert(dt_digest(copy) == dt_digest(h.dt));
    ck_assert_uint_eq(dt_node_count(copy), dt_node_count(h.dt));
    ck_assert_int_eq(dt_last_zxid(copy), dt_last_zxid(h.dt));
    ck_assert(dt_session_exists(copy, SID2));
    ck_assert_int_eq(dt_session_timeout(copy, SID2), 4000);
    ck_assert_uint_eq(dt_ephemeral_count(copy), 2);
    ck_assert_uint_eq(dt_data_bytes(copy), dt_data_bytes(h.dt));
    int32_t len;
    ck_assert_ptr_null(dt_node_data(dt_get(copy, "/a/null"), &len));
    ck_assert_int_eq(len, -1);
    zkp_Stat a, b;
    dt_node_stat(dt_get(copy, "/a"), &a);
    dt_node_stat(dt_get(h.dt, "/a"), &b);
    buf_t ea = BUF_INIT, eb = BUF_INIT;
    jute_encode(&zkp_Stat_rec, &a, &ea);
    jute_encode(&zkp_Stat_rec, &b, &eb);
    ck_assert(ea.len == eb.len && memcmp(ea.data, eb.data, ea.len) == 0);
    buf_free(&ea);
    buf_free(&eb);
    dt_node_stat(dt_get(copy, "/zookeeper"), &a);
    ck_assert_int_eq(a.cversion, -2);
    /* a second serialization of the copy is byte-identical in size and digest */
    buf_t snap2 = BUF_INIT;
    dt_serialize(copy, &snap2);
    ck_assert_uint_eq(snap2.len, snap.len);
    /* both replicas apply the same txn and stay equal */
    prep_ctx_t c = h_ctx(&h, SID1);
    buf_t txn = BUF_INIT;
    prep_request(h.prep, &c, ZOO_CLOSE_OP, NULL, &txn);
    dt_result_t r1, r2;
    ck_assert_int_eq(dt_apply(h.dt, txn.data, txn.len, &r1), 0);
    ck_assert_int_eq(dt_apply(copy, txn.data, txn.len, &r2), 0);
    ck_assert_uint_eq(r1.nevents, r2.nevents);
    ck_assert(dt_digest(copy) == dt_digest(h.dt));
    ck_assert_ptr_null(dt_get(copy, "/a/eph"));
    jute_strvec_t exp = {0, NULL};
    dt_expired_nodes(copy, h.now + 10000, &exp);
    ck_assert_int_eq(exp.n, 1);
    ck_assert_str_eq(exp.v[0], "/t");
    jute_strvec_free(&exp);
    dt_result_free(&r1);
    dt_result_free(&r2);
    buf_free(&txn);
    buf_free(&snap2);
    buf_free(&snap);
    dt_free(copy);
    h_fini(&h);
}
END_TEST

START_TEST(corrupt_snapshots_rejected)
{
    harness_t h;
    h_init(&h);
    build_varied(&h);
    buf_t snap = BUF_INIT;
    dt_serialize(h.dt, &snap);
    dt_t *copy = NULL;
    for (size_t cut = 0; cut < snap.len; cut++) {
        ck_assert_msg(dt_deserialize(&copy, snap.data, cut) == -1, "truncated at %zu accepted", cut);
        ck_assert_ptr_null(copy);
    }
    /* trailing garbage */
    buf_t longer = BUF_INIT;
    buf_put(&longer, snap.data, snap.len);
    buf_put_u8(&longer, 0);
    ck_assert_int_eq(dt_deserialize(&copy, longer.data, longer.len), -1);
    buf_free(&longer);
    /* every single-byte corruption is either rejected or yields a self-consistent tree */
    size_t accepted = 0;
    for (size_t i = 0; i < snap.len; i++) {
        uint8_t saved = snap.data[i];
        snap.data[i] ^= 0x41;
        if (dt_deserialize(&copy, snap.data, snap.len) == 0) {
            accepted++;
            buf_t again = BUF_INIT;
            dt_serialize(copy, &again);
            dt_t *third = NULL;
            ck_assert_int_eq(dt_deserialize(&third, again.data, again.len), 0);
            ck_assert(dt_digest(third) == dt_digest(copy));
            dt_free(third);
            buf_free(&again);
            dt_free(copy);
        }
        snap.data[i] = saved;
    }
    /* only bytes outside the digest (session table, lastZxid) may flip unnoticed */
    ck_assert_uint_lt(accepted, 40);
    buf_free(&snap);
    h_fini(&h);
}
END_TEST

START_TEST(malformed_txns_rejected)
{
    harness_t h;
    h_init(&h);
    build_varied(&h);
    uint64_t digest = dt_digest(h.dt);
    int64_t zxid = dt_last_zxid(h.dt);
    /* a valid multi txn, then every truncation of it */
    zkp_CreateRequest c = {"/z", {(uint8_t *)"1", 1}, {1, h_open_acl}, 0};
    zkp_DeleteRequest del = {"/a/null", -1};
    prep_multi_op_t ops[] = {{ZOO_CREATE_OP, &c, false}, {ZOO_DELETE_OP, &del, false}};
    prep_multi_t m = {ops, 2};
    prep_ctx_t ctx = h_ctx(&h, SID1);
    buf_t txn = BUF_INIT;
    ck_assert_int_eq(prep_request(h.prep, &ctx, ZOO_MULTI_OP, &m, &txn), 0);
    dt_result_t res;
    for (size_t cut = 0; cut < txn.len; cut++) {
        ck_assert_int_eq(dt_apply(h.dt, txn.data, cut, &res), -1);
        ck_assert_uint_eq(res.nevents, 0);
    }
    buf_t longer = BUF_INIT;
    buf_put(&longer, txn.data, txn.len);
    buf_put_u8(&longer, 7);
    ck_assert_int_eq(dt_apply(h.dt, longer.data, longer.len, &res), -1);
    ck_assert(dt_digest(h.dt) == digest);
    ck_assert_int_eq(dt_last_zxid(h.dt), zxid);
    /* unknown txn type; a setACL or session op smuggled inside a multi */
    uint8_t bad[] = {0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 77};
    ck_assert_int_eq(dt_apply(h.dt, bad, sizeof bad, &res), -1);
    buf_t mt = BUF_INIT;
    zkp_TxnHeader hdr = {SID1, 1, zxid + 1, 0, ZOO_MULTI_OP};
    jute_encode(&zkp_TxnHeader_rec, &hdr, &mt);
    jute_put_int(&mt, 1);
    jute_put_int(&mt, ZOO_CREATESESSION_OP);
    jute_put_buffer(&mt, "\0\0\0\1", 4);
    ck_assert_int_eq(dt_apply(h.dt, mt.data, mt.len, &res), -1);
    ck_assert(dt_digest(h.dt) == digest);
    /* the genuine txn still applies */
    ck_assert_int_eq(dt_apply(h.dt, txn.data, txn.len, &res), 0);
    ck_assert_int_eq(res.txn_err, 0);
    ck_assert(dt_digest(h.dt) != digest);
    dt_result_free(&res);
    buf_free(&mt);
    buf_free(&longer);
    buf_free(&txn);
    h_fini(&h);
}
END_TEST

/* Txns that do not fit the tree (as when a log is replayed twice) act as 3.8's DataTree. */
START_TEST(inconsistent_txns_like_3_8)
{
    harness_t h;
    h_init(&h);
    ck_assert_int_eq(h_create(&h, 0, "/p", "", 0), 0);
    prep_ctx_t ctx = h_ctx(&h, 0);
    buf_t txn = BUF_INIT;
    zkp_CreateRequest c = {"/p/q", {NULL, -1}, {1, h_open_acl}, 0};
    prep_request(h.prep, &ctx, ZOO_CREATE_OP, &c, &txn);
    dt_result_t res;
    ck_assert_int_eq(dt_apply(h.dt, txn.data, txn.len, &res), 0);
    ck_assert_int_eq(res.err, 0);
    dt_result_free(&res);
    /* replay: NODEEXISTS, no events */
    ck_assert_int_eq(dt_apply(h.dt, txn.data, txn.len, &res), 0);
    ck_assert_int_eq(res.err, ZNODEEXISTS);
    ck_assert_uint_eq(res.nevents, 0);
    dt_result_free(&res);
    buf_free(&txn);
    /* a delete of a missing child still moves the parent's pzxid (3.8's deleteNode) */
    buf_t d = BUF_INIT;
    zkp_TxnHeader hdr = {0, 9, 100, 0, ZOO_DELETE_OP};
    jute_encode(&zkp_TxnHeader_rec, &hdr, &d);
    jute_put_ustring(&d, "/p/missing");
    ck_assert_int_eq(dt_apply(h.dt, d.data, d.len, &res), 0);
    ck_assert_int_eq(res.err, ZNONODE);
    ck_assert_int_eq(h_stat(&h, "/p").pzxid, 100);
    ck_assert_int_eq(dt_last_zxid(h.dt), 100);
    dt_result_free(&res);
    buf_free(&d);
    /* a delete of a node that has children is refused rather than orphaning them */
    d = (buf_t)BUF_INIT;
    hdr.zxid = 101;
    jute_encode(&zkp_TxnHeader_rec, &hdr, &d);
    jute_put_ustring(&d, "/p");
    ck_assert_int_eq(dt_apply(h.dt, d.data, d.len, &res), 0);
    ck_assert_int_eq(res.err, ZNOTEMPTY);
    ck_assert_ptr_nonnull(dt_get(h.dt, "/p/q"));
    dt_result_free(&res);
    buf_free(&d);
    h_fini(&h);
}
END_TEST

START_TEST(container_and_ttl_expiry)
{
    harness_t h;
    h_init(&h);
    prep_set_extended_types(h.prep, true);
    int64_t t0 = h.now;
    ck_assert_int_eq(h_create_acl(&h, 0, ZOO_CREATECONTAINER_OP, "/c", NULL, ZK_CONTAINER, h_open_acl, 1, NULL), 0);
    ck_assert_int_eq(h_stat(&h, "/c").ephemeralOwner, 0);   /* clients see 0, as 3.8 */
    ck_assert(dt_node_ephemeral_owner(dt_get(h.dt, "/c")) == ZK_CONTAINER_EPHEMERAL_OWNER);
    jute_strvec_t out = {0, NULL};
    dt_expired_nodes(h.dt, t0 + 1000000, &out);
    ck_assert_int_eq(out.n, 0);   /* never had a child: kept */
    dt_expired_nodes_ex(h.dt, t0 + 1000000, 1000, &out);
    ck_assert_int_eq(out.n, 1);   /* ... unless maxNeverUsedIntervalMs says otherwise */
    jute_strvec_free(&out);
    ck_assert_int_eq(h_create(&h, 0, "/c/x", "", 0), 0);
    dt_expired_nodes(h.dt, t0 + 1000000, &out);
    ck_assert_int_eq(out.n, 0);   /* has a child */
    ck_assert_int_eq(h_delete(&h, 0, "/c/x", -1), 0);
    dt_expired_nodes(h.dt, t0, &out);
    ck_assert_int_eq(out.n, 1);
    ck_assert_str_eq(out.v[0], "/c");
    jute_strvec_free(&out);

    zkp_CreateTTLRequest ttl = {"/t", {NULL, -1}, {1, h_open_acl}, ZK_PERSISTENT_WITH_TTL, 500};
    dt_result_t res;
    h_run(&h, 0, ZOO_CREATETTL_OP, &ttl, &res);
    ck_assert_int_eq(res.err, 0);
    ck_assert_uint_eq(res.reply.len, 4 + 2 + 68);
    dt_result_free(&res);
    ck_assert(dt_node_ephemeral_owner(dt_get(h.dt, "/t")) == (ZK_TTL_MASK | 500));
    ck_assert_int_eq(h_stat(&h, "/t").ephemeralOwner, 0);
    dt_expired_nodes(h.dt, t0 + 500, &out);
    ck_assert_int_eq(out.n, 1);   /* only /c: elapsed must exceed the ttl */
    jute_strvec_free(&out);
    h.now = t0 + 400;
    ck_assert_int_eq(h_set(&h, 0, "/t", "refresh", -1), 0);   /* mtime moves */
    dt_expired_nodes(h.dt, t0 + 501, &out);
    ck_assert_int_eq(out.n, 1);
    jute_strvec_free(&out);
    dt_expired_nodes(h.dt, t0 + 901, &out);
    ck_assert_int_eq(out.n, 2);
    ck_assert_str_eq(out.v[1], "/t");
    jute_strvec_free(&out);

    /* the server's internal delete */
    prep_ctx_t c = h_ctx(&h, 0);
    buf_t txn = BUF_INIT;
    ck_assert_int_eq(prep_delete_container(h.prep, &c, "/t", &txn), 0);
    ck_assert_int_eq(h_apply(&h, &txn, &res), 0);
    ck_assert_int_eq(res.err, 0);
    ck_assert_int_eq(res.type, ZOO_DELETECONTAINER_OP);
    ck_assert_uint_eq(res.nevents, 2);
    dt_result_free(&res);
    buf_free(&txn);
    ck_assert_ptr_null(dt_get(h.dt, "/t"));
    h_fini(&h);
}
END_TEST

/* Walks a deep tree on a thread with a small stack: any recursion proportional to
 * depth would overflow it. */
enum { DEEP = 4000 };

static void *deep_work(void *arg)
{
    harness_t *h = arg;
    ck_assert_int_eq(dt_node_descendants(dt_get(h->dt, "/")), DEEP + 3);
    ck_assert_int_eq(dt_node_descendants(dt_get(h->dt, "/d")), DEEP - 1);
    buf_t snap = BUF_INIT;
    dt_serialize(h->dt, &snap);
    dt_t *copy = NULL;
    ck_assert_int_eq(dt_deserialize(&copy, snap.data, snap.len), 0);
    ck_assert(dt_digest(copy) == dt_digest(h->dt));
    dt_free(copy);
    buf_free(&snap);
    return NULL;
}

START_TEST(deep_tree_without_recursion)
{
    harness_t h;
    h_init(&h);
    buf_t path = BUF_INIT;
    for (int i = 0; i < DEEP; i++) {
        buf_puts(&path, "/d");
        ck_assert_int_eq(h_create(&h, 0, buf_cstr(&path), NULL, 0), 0);
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, &attr, deep_work, &h), 0);
    pthread_join(th, NULL);
    pthread_attr_destroy(&attr);
    /* and deleting it bottom-up through prep + apply */
    for (int i = DEEP; i > 0; i--) {
        ck_assert_int_eq(h_delete(&h, 0, buf_cstr(&path), -1), 0);
        path.len -= 2;
    }
    ck_assert_uint_eq(dt_node_count(h.dt), 4);
    buf_free(&path);
    h_fini(&h);
}
END_TEST

START_TEST(wide_tree)
{
    harness_t h;
    h_init(&h);
    enum { N = 100000 };
    ck_assert_int_eq(h_create(&h, 0, "/w", "", 0), 0);
    char p[64];
    for (int i = 0; i < N; i++) {
        snprintf(p, sizeof p, "/w/n%06d", (i * 7919) % N);
        ck_assert_int_eq(h_create(&h, 0, p, "data", 0), 0);
    }
    const dt_node_t *w = dt_get(h.dt, "/w");
    ck_assert_int_eq(dt_node_num_children(w), N);
    jute_strvec_t kids = {0, NULL};
    dt_node_children(w, &kids);
    ck_assert_int_eq(kids.n, N);
    ck_assert_str_eq(kids.v[0], "n000000");
    ck_assert_str_eq(kids.v[N - 1], "n099999");
    jute_strvec_free(&kids);
    for (int i = 0; i < N; i += 2) {
        snprintf(p, sizeof p, "/w/n%06d", i);
        ck_assert_int_eq(h_delete(&h, 0, p, -1), 0);
    }
    zkp_Stat st = h_stat(&h, "/w");
    ck_assert_int_eq(st.numChildren, N / 2);
    ck_assert_int_eq(st.cversion, N + N / 2);
    ck_assert_uint_eq(dt_node_count(h.dt), 4 + 1 + N / 2);
    h_fini(&h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("datatree");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, initial_tree_matches_3_8);
    tcase_add_test(tc, cversion_counts_creates_and_deletes);
    tcase_add_test(tc, null_data_stays_null);
    tcase_add_test(tc, apply_replies_and_events);
    tcase_add_test(tc, ephemerals_removed_on_close_session);
    tcase_add_test(tc, multi_success_reply);
    tcase_add_test(tc, multi_failure_reply_and_rollback);
    tcase_add_test(tc, multi_sees_its_own_ops);
    tcase_add_test(tc, snapshot_round_trip);
    tcase_add_test(tc, corrupt_snapshots_rejected);
    tcase_add_test(tc, malformed_txns_rejected);
    tcase_add_test(tc, inconsistent_txns_like_3_8);
    tcase_add_test(tc, container_and_ttl_expiry);
    suite_add_tcase(s, tc);
    TCase *big = tcase_create("big");
    tcase_set_timeout(big, 300);
    tcase_add_test(big, deep_tree_without_recursion);
    tcase_add_test(big, wide_tree);
    suite_add_tcase(s, big);
    return h_run_suite(s);
}
