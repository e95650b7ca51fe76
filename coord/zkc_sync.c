/* zkc_sync.c — the synchronous convenience layer over zkc: capture a result
 * into an owned zkc_reply_t and run the handle's event loop until it arrives. */
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "coord/zkc.h"
#include "coord/zkc_int.h"

void zkc_reply_free(zkc_reply_t *r)
{
    if (!r)
        return;
    free(r->path);
    free(r->data.data);
    jute_strvec_free(&r->strings);
    zkp_GetACLResponse acl = {r->acl, {0}};
    if (r->acl.v)
        jute_free(&zkp_GetACLResponse_rec, &acl);
    zkp_WhoAmIResponse who = {r->who};
    if (r->who.v)
        jute_free(&zkp_WhoAmIResponse_rec, &who);
    for (int i = 0; i < r->nresults; i++)
        free((char *)r->results[i].path);
    free(r->results);
    memset(r, 0, sizeof *r);
    r->data.len = -1;
}

void zkc_capture_cb(zkc_t *zk, const zkc_result_t *res, void *ctx)
{
    (void)zk;
    zkc_pending_t *p = ctx;
    zkc_reply_t *r = &p->reply;
    memset(r, 0, sizeof *r);
    r->rc = res->rc;
    r->zxid = res->zxid;
    r->path = res->path ? xstrdup(res->path) : NULL;
    if (res->stat) {
        r->stat = *res->stat;
        r->has_stat = true;
    }
    r->data.len = -1;
    if (res->datalen >= 0)
        r->data = jute_buf_dup(res->data, res->datalen);
    if (res->strings && res->strings->n >= 0) {
        for (int i = 0; i < res->strings->n; i++)
            jute_strvec_push(&r->strings, res->strings->v[i]);
        if (res->strings->n == 0)
            r->strings.n = 0;
    }
    if (res->acl) {
        zkp_GetACLResponse src = {{res->nacl, (void *)res->acl}, {0}}, dst;
        jute_copy(&zkp_GetACLResponse_rec, &dst, &src);
        r->acl = dst.acl;
    }
    if (res->who) {
        zkp_WhoAmIResponse src = {{res->nwho, (void *)res->who}}, dst;
        jute_copy(&zkp_WhoAmIResponse_rec, &dst, &src);
        r->who = dst.clientInfo;
    }
    r->count = res->count;
    if (res->nresults > 0) {
        r->results = xcalloc((size_t)res->nresults, sizeof *r->results);
        r->nresults = res->nresults;
        for (int i = 0; i < res->nresults; i++) {
            r->results[i] = res->results[i];
            r->results[i].path = res->results[i].path ? xstrdup(res->results[i].path) : NULL;
        }
    }
    p->done = true;
}

int zkc_wait(zkc_t *zk, zkc_pending_t *p)
{
    struct event_base *base = zkc_base(zk);
    if (!p->done && zkc_in_callback(zk)) {
        p->reply.rc = ZSYSTEMERROR;
        return ZSYSTEMERROR;
    }
    while (!p->done) {
        if (event_base_loop(base, EVLOOP_ONCE) != 0 && !p->done) {
            p->reply.rc = ZSYSTEMERROR;
            return ZSYSTEMERROR;
        }
    }
    return p->reply.rc;
}

static void wait_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    *(bool *)arg = true;
}

int zkc_wait_connected(zkc_t *zk, int timeout_ms)
{
    struct event_base *base = zkc_base(zk);
    if (zkc_in_callback(zk))
        return ZSYSTEMERROR;
    bool timed_out = false;
    struct event *t = NULL;
    if (timeout_ms >= 0) {
        t = evtimer_new(base, wait_timeout_cb, &timed_out);
        struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
        evtimer_add(t, &tv);
    }
    int rc = ZOK;
    for (;;) {
        zkc_state_t st = zkc_state(zk);
        if (st == ZKC_CONNECTED || st == ZKC_CONNECTEDREADONLY)
            break;
        if (st == ZKC_AUTH_FAILED) {
            rc = ZAUTHFAILED;
            break;
        }
        if (st == ZKC_CLOSED) {
            rc = ZSESSIONEXPIRED;
            break;
        }
        if (timed_out) {
            rc = ZOPERATIONTIMEOUT;
            break;
        }
        if (event_base_loop(base, EVLOOP_ONCE) != 0) {
            rc = ZSYSTEMERROR;
            break;
        }
    }
    if (t)
        event_free(t);
    return rc;
}

/* Issues a request with the capture callback and waits; out receives the
 * reply (or is freed here when NULL). */
#define SYNC_CALL(call, out)                          \
    do {                                              \
        zkc_pending_t p_;                             \
        memset(&p_, 0, sizeof p_);                    \
        int rc_ = (call);                             \
        if (rc_ != ZOK) {                             \
            p_.reply.rc = rc_;                        \
            p_.reply.data.len = -1;                   \
        } else {                                      \
            zkc_wait(zk, &p_);                        \
        }                                             \
        rc_ = p_.reply.rc;                            \
        if (out)                                      \
            *(out) = p_.reply;                        \
        else                                          \
            zkc_reply_free(&p_.reply);                \
        return rc_;                                   \
    } while (0)

int zkc_sync_create(zkc_t *zk, const zkc_create_t *req, zkc_reply_t *out)
{
    SYNC_CALL(zkc_create(zk, req, zkc_capture_cb, &p_), out);
}

int zkc_sync_delete(zkc_t *zk, const char *path, int32_t version)
{
    zkc_reply_t *out = NULL;
    SYNC_CALL(zkc_delete(zk, path, version, zkc_capture_cb, &p_), out);
}

int zkc_sync_exists(zkc_t *zk, const char *path, const zkc_watch_t *w, zkc_reply_t *out)
{
    SYNC_CALL(zkc_exists(zk, path, w, zkc_capture_cb, &p_), out);
}

int zkc_sync_get_data(zkc_t *zk, const char *path, const zkc_watch_t *w, zkc_reply_t *out)
{
    SYNC_CALL(zkc_get_data(zk, path, w, zkc_capture_cb, &p_), out);
}

int zkc_sync_set_data(zkc_t *zk, const char *path, const void *data, int32_t len, int32_t version,
                      zkc_reply_t *out)
{
    SYNC_CALL(zkc_set_data(zk, path, data, len, version, zkc_capture_cb, &p_), out);
}

int zkc_sync_get_children(zkc_t *zk, const char *path, const zkc_watch_t *w, zkc_reply_t *out)
{
    SYNC_CALL(zkc_get_children(zk, path, w, zkc_capture_cb, &p_), out);
}

int zkc_sync_get_children2(zkc_t *zk, const char *path, const zkc_watch_t *w, zkc_reply_t *out)
{
    SYNC_CALL(zkc_get_children2(zk, path, w, zkc_capture_cb, &p_), out);
}

int zkc_sync_get_acl(zkc_t *zk, const char *path, zkc_reply_t *out)
{
    SYNC_CALL(zkc_get_acl(zk, path, zkc_capture_cb, &p_), out);
}

int zkc_sync_set_acl(zkc_t *zk, const char *path, const zkp_ACL *acl, int nacl, int32_t version,
                     zkc_reply_t *out)
{
    SYNC_CALL(zkc_set_acl(zk, path, acl, nacl, version, zkc_capture_cb, &p_), out);
}

int zkc_sync_sync(zkc_t *zk, const char *path)
{
    zkc_reply_t *out = NULL;
    SYNC_CALL(zkc_sync(zk, path, zkc_capture_cb, &p_), out);
}

int zkc_sync_multi(zkc_t *zk, const zkc_op_t *ops, int nops, zkc_reply_t *out)
{
    SYNC_CALL(zkc_multi(zk, ops, nops, zkc_capture_cb, &p_), out);
}

int zkc_sync_close(zkc_t *zk)
{
    zkc_reply_t *out = NULL;
    SYNC_CALL(zkc_close(zk, zkc_capture_cb, &p_), out);
}
