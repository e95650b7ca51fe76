/* libFuzzer target: the coordinator's request path without sockets.
 *
 * The input is a sequence of requests: [u8 op index][u16 length][body bytes]. Each
 * body goes through exactly what the server does with it — zreq_decode, then
 * zread_execute for reads, or prep_request -> dt_apply for writes — against one
 * growing tree, with two sessions (one of them authenticated). At the end the tree
 * is serialized, reloaded and must have the same digest. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coord/acl.h"
#include "coord/datatree.h"
#include "coord/prep.h"
#include "coord/watch.h"
#include "coord/zread.h"
#include "coord/zreq.h"

static const int ops[] = {
    ZOO_CREATE_OP, ZOO_DELETE_OP, ZOO_EXISTS_OP, ZOO_GETDATA_OP, ZOO_SETDATA_OP, ZOO_GETACL_OP,
    ZOO_SETACL_OP, ZOO_GETCHILDREN_OP, ZOO_SYNC_OP, ZOO_GETCHILDREN2_OP, ZOO_CHECK_OP, ZOO_MULTI_OP,
    ZOO_CREATE2_OP, ZOO_CREATECONTAINER_OP, ZOO_CREATETTL_OP, ZOO_MULTIREAD_OP, ZOO_GETEPHEMERALS_OP,
    ZOO_GETALLCHILDRENNUMBER_OP, ZOO_WHOAMI_OP, ZOO_CLOSE_OP,
};

static void deliver(void *ctx, int64_t sid, int32_t type, const char *path)
{
    (void)ctx; (void)sid; (void)type; (void)path;
}

static void write_txn(dt_t *dt, prep_t *prep, watchmgr_t *w, buf_t *txn, int64_t zxid)
{
    dt_result_t res;
    if (dt_apply(dt, txn->data, txn->len, &res))
        abort();   /* prep produced it: it must apply */
    prep_applied(prep, zxid);
    watch_trigger_result(w, &res, deliver, NULL);
    dt_result_free(&res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dt_t *dt = dt_new();
    prep_t *prep = prep_new(dt);
    prep_set_extended_types(prep, true);
    watchmgr_t *w = watch_new();
    acl_auth_t auth[2];
    acl_auth_init(&auth[0], "127.0.0.1");
    acl_auth_init(&auth[1], "10.1.2.3");
    acl_add_auth(&auth[1], "digest", (const uint8_t *)"alice:secret", 12, NULL);
    int64_t zxid = (int64_t)1 << 32;
    int64_t now = 1700000000000;
    for (int s = 0; s < 2; s++) {
        prep_ctx_t ctx = {.session_id = 0x100 + s, .auth = &auth[s], .zxid = ++zxid, .now_ms = now};
        buf_t txn = BUF_INIT;
        prep_create_session(prep, &ctx, 30000, &txn);
        write_txn(dt, prep, w, &txn, zxid);
        buf_free(&txn);
    }
    size_t pos = 0;
    int n = 0;
    while (pos + 3 <= size && n++ < 64) {
        int op = ops[data[pos] % (sizeof ops / sizeof *ops)];
        int s = (data[pos] >> 7) & 1;
        size_t len = (size_t)data[pos + 1] << 8 | data[pos + 2];
        pos += 3;
        if (len > size - pos)
            len = size - pos;
        jute_rd_t jr;
        jute_rd_init(&jr, data + pos, len);
        pos += len;
        now += 10;
        zreq_body_t body;
        if (zreq_decode(op, &jr, &body))
            continue;
        if (zreq_classify(op) == ZREQ_READ) {
            buf_t out = BUF_INIT;
            zread_watch_t rw = {0, NULL, 0};
            zread_execute_ex(dt, 0x100 + s, &auth[s], op, body.body, body.saw_nul, &out, &rw);
            zread_watch_free(&rw);
            buf_free(&out);
        } else {
            prep_ctx_t ctx = {.session_id = 0x100 + s, .auth = &auth[s], .zxid = ++zxid, .now_ms = now, .cxid = n,
                              .saw_nul = body.saw_nul};
            buf_t txn = BUF_INIT;
            prep_request(prep, &ctx, op, body.body, &txn);
            write_txn(dt, prep, w, &txn, zxid);
            buf_free(&txn);
        }
        zreq_body_free(&body);
    }
    buf_t snap = BUF_INIT;
    dt_serialize(dt, &snap);
    dt_t *again = NULL;
    if (dt_deserialize(&again, snap.data, snap.len) || dt_digest(again) != dt_digest(dt))
        abort();
    dt_free(again);
    buf_free(&snap);
    acl_auth_free(&auth[0]);
    acl_auth_free(&auth[1]);
    watch_free(w);
    prep_free(prep);
    dt_free(dt);
    return 0;
}
