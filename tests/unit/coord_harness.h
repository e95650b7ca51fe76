/* coord_harness.h — shared helpers for the coordinator core unit tests: a tiny
 * "leader" that preps a request, applies the txn and retires the outstanding
 * changes, the way the server pipeline will. Header-only (static functions) so each
 * test binary stays self-contained. */
#ifndef GREGOR_TESTS_COORD_HARNESS_H
#define GREGOR_TESTS_COORD_HARNESS_H

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "coord/acl.h"
#include "coord/datatree.h"
#include "coord/prep.h"
#include "proto/zk_proto.h"

typedef struct harness_s {
    dt_t *dt;
    prep_t *prep;
    int64_t zxid;     /* last zxid handed out */
    int64_t now;      /* fake wall clock, ms */
    acl_auth_t auth;  /* identities used by h_* helpers */
} harness_t;

static inline void h_init(harness_t *h)
{
    h->dt = dt_new();
    h->prep = prep_new(h->dt);
    h->zxid = 0;
    h->now = 1700000000000LL;
    acl_auth_init(&h->auth, "127.0.0.1");
}

static inline void h_fini(harness_t *h)
{
    prep_free(h->prep);
    dt_free(h->dt);
    acl_auth_free(&h->auth);
}

static inline prep_ctx_t h_ctx(harness_t *h, int64_t sid)
{
    prep_ctx_t c;
    memset(&c, 0, sizeof c);
    c.session_id = sid;
    c.auth = &h->auth;
    c.zxid = ++h->zxid;
    c.now_ms = h->now;
    c.cxid = (int32_t)h->zxid;
    return c;
}

/* Applies txn bytes, retires prep records, returns dt_apply's result code. */
static inline int h_apply(harness_t *h, const buf_t *txn, dt_result_t *res)
{
    int rc = dt_apply(h->dt, txn->data, txn->len, res);
    if (rc == 0)
        prep_applied(h->prep, res->zxid);
    return rc;
}

/* prep + apply one request; the caller frees res with dt_result_free. */
static inline void h_run(harness_t *h, int64_t sid, int op, const void *req, dt_result_t *res)
{
    prep_ctx_t c = h_ctx(h, sid);
    buf_t txn = BUF_INIT;
    prep_request(h->prep, &c, op, req, &txn);
    ck_assert_int_eq(h_apply(h, &txn, res), 0);
    ck_assert(res->zxid == c.zxid);
    buf_free(&txn);
}

static inline void h_session(harness_t *h, int64_t sid, int32_t timeout)
{
    prep_ctx_t c = h_ctx(h, sid);
    buf_t txn = BUF_INIT;
    dt_result_t res;
    prep_create_session(h->prep, &c, timeout, &txn);
    ck_assert_int_eq(h_apply(h, &txn, &res), 0);
    ck_assert_int_eq(res.err, 0);
    dt_result_free(&res);
    buf_free(&txn);
}

static zkp_ACL h_open_acl[1] = {{ZK_PERM_ALL, {"world", "anyone"}}};

/* create with data (NULL data -> null buffer) and flags; returns the reply err. */
static inline int h_create_acl(harness_t *h, int64_t sid, int op, const char *path, const char *data, int32_t flags,
                               zkp_ACL *acl, int32_t nacl, char **created)
{
    zkp_CreateRequest req = {(char *)path, {(uint8_t *)data, data ? (int32_t)strlen(data) : -1}, {nacl, acl}, flags};
    dt_result_t res;
    h_run(h, sid, op, &req, &res);
    int err = res.err;
    if (created) {
        *created = NULL;
        if (!err) {
            jute_rd_t jr;
            jute_rd_init(&jr, res.reply.data, res.reply.len);
            jute_get_ustring(&jr, created);
        }
    }
    dt_result_free(&res);
    return err;
}

static inline int h_create(harness_t *h, int64_t sid, const char *path, const char *data, int32_t flags)
{
    return h_create_acl(h, sid, ZOO_CREATE_OP, path, data, flags, h_open_acl, 1, NULL);
}

static inline int h_delete(harness_t *h, int64_t sid, const char *path, int32_t version)
{
    zkp_DeleteRequest req = {(char *)path, version};
    dt_result_t res;
    h_run(h, sid, ZOO_DELETE_OP, &req, &res);
    int err = res.err;
    dt_result_free(&res);
    return err;
}

static inline int h_set(harness_t *h, int64_t sid, const char *path, const char *data, int32_t version)
{
    zkp_SetDataRequest req = {(char *)path, {(uint8_t *)data, data ? (int32_t)strlen(data) : -1}, version};
    dt_result_t res;
    h_run(h, sid, ZOO_SETDATA_OP, &req, &res);
    int err = res.err;
    dt_result_free(&res);
    return err;
}

static inline int h_close(harness_t *h, int64_t sid, dt_result_t *out)
{
    dt_result_t res;
    h_run(h, sid, ZOO_CLOSE_OP, NULL, out ? out : &res);
    int err = (out ? out : &res)->err;
    if (!out)
        dt_result_free(&res);
    return err;
}

/* Client-view stat of a path (asserts it exists). */
static inline zkp_Stat h_stat(harness_t *h, const char *path)
{
    const dt_node_t *n = dt_get(h->dt, path);
    ck_assert_msg(n != NULL, "no node %s", path);
    zkp_Stat st;
    dt_node_stat(n, &st);
    return st;
}

/* Hex of a buffer (static storage, for assertions). */
static inline const char *h_hex(const uint8_t *p, size_t n)
{
    static char out[8192];
    size_t k = 0;
    for (size_t i = 0; i < n && k + 3 < sizeof out; i++)
        k += (size_t)snprintf(out + k, sizeof out - k, "%02x", p[i]);
    out[k] = '\0';
    return out;
}

static inline int h_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

#endif
