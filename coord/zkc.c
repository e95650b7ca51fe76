/* zkc.c — the ZooKeeper client: connection, session, request pipeline, reply
 * matching and watch delivery (see zkc.h for the behaviour contract).
 *
 * Life of a request: the API function validates and encodes the body (paths
 * with the chroot prepended) into a zkc_req_t and appends it to `unsent`. When
 * the session is ready, zkc_flush gives each one the next xid, writes
 * length + RequestHeader + body to the socket and moves it to `sent`. Each reply
 * must carry the xid of the head of `sent` (the server answers in order); it is
 * decoded, its watch (de)registration applied, and its callback called.
 * Special xids: -1 notification, -2 ping, -4 auth (own FIFO: servers answer auth
 * packets out of band), -8 SetWatches (ignored).
 *
 * Connection phases: IDLE (no socket; a retry may be scheduled) -> TCP (connect
 * in progress) -> HANDSHAKE (ConnectRequest written, waiting for the response;
 * nothing else is sent, as the Java client does) -> READY. Any failure goes back
 * to IDLE through conn_lost(), which fails every outstanding request with
 * ZCONNECTIONLOSS and schedules the next attempt.
 *
 * Reentrancy: every libevent callback runs between enter()/leave(). User
 * callbacks may call zkc_free; it only sets free_pending, and leave() frees the
 * handle once the outermost callback unwinds. Loops that call user code check
 * `gen` (bumped when the connection is dropped) and free_pending to stop. */
#include "coord/zkc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "coord/zkc_int.h"

#define ZKC_DEFAULT_TIMEOUT 30000
#define ZKC_MAX_PACKET_DEFAULT 0xfffff
#define ZKC_MAX_PING_INTERVAL 10000
#define ZKC_SET_WATCHES_MAX (128 * 1024)
#define ZKC_PASSWD_LEN 16

const zkc_watch_t zkc_watch_default = {NULL, NULL};

const zkp_ACL zkc_open_acl_unsafe[1] = {{ZK_PERM_ALL, {"world", "anyone"}}};
const zkp_ACL zkc_creator_all_acl[1] = {{ZK_PERM_ALL, {"auth", ""}}};
const zkp_ACL zkc_read_acl_unsafe[1] = {{ZK_PERM_READ, {"world", "anyone"}}};

enum { PH_IDLE, PH_TCP, PH_HANDSHAKE, PH_READY };

/* what a reply does to the watch table */
enum { WREG_NONE, WREG_EXISTS, WREG_DATA, WREG_CHILD, WREG_PERSISTENT, WREG_RECURSIVE };

typedef struct zkc_req_s {
    struct zkc_req_s *next;
    int32_t xid;
    int op;
    buf_t body;              /* encoded request body */
    char *path;              /* client path (for results and watches); may be NULL */
    zkc_cb cb;
    void *ctx;
    int wreg;                /* WREG_* */
    zkc_watcher_fn wfn;
    void *wctx;
    bool rm;                 /* removeWatches / checkWatches */
    int rm_type;
    bool rm_one;
    bool rm_local;
} zkc_req_t;

typedef struct reqq_s {
    zkc_req_t *head, *tail;
} reqq_t;

typedef struct zkc_host_s {
    struct sockaddr_storage addr;
    socklen_t len;
    char label[96];
} zkc_host_t;

typedef struct zkc_auth_s {
    char *scheme;
    jute_buf_t auth;
    zkc_cb cb;               /* user callback not yet attached to a sent packet */
    void *ctx;
} zkc_auth_t;

typedef struct zkc_authwait_s {
    struct zkc_authwait_s *next;
    zkc_cb cb;
    void *ctx;
} zkc_authwait_t;

struct zkc_s {
    struct event_base *base;
    zkc_state_t state;
    int keeper_state;            /* last session state delivered to watchers */
    zkc_host_t *hosts;
    int nhosts;
    int host_next;
    int fails;                   /* consecutive failed attempts */
    int cur_host;
    char *chroot;
    int req_timeout;
    int neg_timeout;
    int read_timeout;
    int connect_timeout;
    bool read_only;
    int64_t session_id;
    uint8_t passwd[ZKC_PASSWD_LEN];
    int64_t last_zxid;
    int32_t next_xid;
    int max_packet;
    zkc_watcher_fn watcher;
    void *watcher_ctx;

    struct bufferevent *bev;
    int phase;
    uint64_t gen;
    struct event *timer;         /* connect/read timeout and pings */
    struct event *retry;         /* next connection attempt */
    struct event *closer;        /* deferred close completion */
    int64_t last_send, last_recv;

    reqq_t unsent, sent;
    zkc_authwait_t *aw_head, *aw_tail;
    zkc_auth_t *auths;
    int nauths;
    zkc_watches_t watches;

    bool closing;
    zkc_cb close_cb;
    void *close_ctx;
    int depth;
    bool free_pending;
    bool freeing;
};

static void conn_lost(zkc_t *zk, const char *why);
static void start_connect(zkc_t *zk);
static void arm_timer(zkc_t *zk);
static void finish_close(zkc_t *zk, int rc);
static void do_free(zkc_t *zk);

/* ---- names ---- */

const char *zkc_state_name(zkc_state_t st)
{
    switch (st) {
    case ZKC_CONNECTING: return "CONNECTING";
    case ZKC_CONNECTED: return "CONNECTED";
    case ZKC_CONNECTEDREADONLY: return "CONNECTEDREADONLY";
    case ZKC_CLOSED: return "CLOSED";
    case ZKC_AUTH_FAILED: return "AUTH_FAILED";
    }
    return "NOT_CONNECTED";
}

const char *zkc_keeper_state_name(int state)
{
    switch (state) {
    case -1: return "Unknown";
    case ZK_STATE_DISCONNECTED: return "Disconnected";
    case 1: return "NoSyncConnected";
    case ZK_STATE_SYNC_CONNECTED: return "SyncConnected";
    case ZK_STATE_AUTH_FAILED: return "AuthFailed";
    case ZK_STATE_CONNECTED_READONLY: return "ConnectedReadOnly";
    case 6: return "SaslAuthenticated";
    case ZK_STATE_EXPIRED: return "Expired";
    case ZK_STATE_CLOSED: return "Closed";
    }
    return "Unknown";
}

const char *zkc_event_type_name(int type)
{
    switch (type) {
    case ZK_EVENT_NONE: return "None";
    case ZK_EVENT_CREATED: return "NodeCreated";
    case ZK_EVENT_DELETED: return "NodeDeleted";
    case ZK_EVENT_CHANGED: return "NodeDataChanged";
    case ZK_EVENT_CHILD: return "NodeChildrenChanged";
    case ZK_EVENT_DATA_WATCH_REMOVED: return "DataWatchRemoved";
    case ZK_EVENT_CHILD_WATCH_REMOVED: return "ChildWatchRemoved";
    case ZK_EVENT_PERSISTENT_WATCH_REMOVED: return "PersistentWatchRemoved";
    }
    return "None";
}

/* ---- small helpers ---- */

static void enter(zkc_t *zk)
{
    zk->depth++;
}

static void leave(zkc_t *zk)
{
    if (--zk->depth == 0 && zk->free_pending)
        do_free(zk);
}

static bool dead_or_dying(const zkc_t *zk)
{
    return zk->free_pending || zk->freeing;
}

static void reqq_push(reqq_t *q, zkc_req_t *r)
{
    r->next = NULL;
    if (q->tail)
        q->tail->next = r;
    else
        q->head = r;
    q->tail = r;
}

static zkc_req_t *reqq_pop(reqq_t *q)
{
    zkc_req_t *r = q->head;
    if (r) {
        q->head = r->next;
        if (!q->head)
            q->tail = NULL;
        r->next = NULL;
    }
    return r;
}

static void req_free(zkc_req_t *r)
{
    buf_free(&r->body);
    free(r->path);
    free(r);
}

static void deliver(zkc_t *zk, const zkc_wset_t *set, int type, int state, const char *path)
{
    zkc_event_t ev = {type, state, path};
    for (int i = 0; i < set->n; i++) {
        if (set->v[i].fn)
            set->v[i].fn(zk, &ev, set->v[i].ctx);
        if (zk->free_pending)
            return;
    }
}

/* A session state change: default watcher plus every registered watcher, once
 * each; repeated states are not re-delivered (Java's EventThread does the same). */
static void session_event(zkc_t *zk, int keeper_state)
{
    if (zk->keeper_state == keeper_state)
        return;
    zk->keeper_state = keeper_state;
    zkc_wset_t set = {0, 0, NULL};
    zkc_wset_add(&set, zk->watcher, zk->watcher_ctx);
    zkc_watches_all(&zk->watches, &set);
    deliver(zk, &set, ZK_EVENT_NONE, keeper_state, NULL);
    zkc_wset_free(&set);
}

/* ---- results ---- */

static void result_init(zkc_result_t *res, const zkc_req_t *r, int rc, int64_t zxid)
{
    memset(res, 0, sizeof *res);
    res->rc = rc;
    res->op = r->op;
    res->zxid = zxid;
    res->path = r->path;
    res->datalen = -1;
}

/* Applies the request's watch (de)registration for res->rc, then calls its
 * callback. The caller frees the request. */
static void finish_req(zkc_t *zk, zkc_req_t *r, zkc_result_t *res)
{
    int rc = res->rc;
    if (r->wreg != WREG_NONE && r->path) {
        int kind = -1;
        switch (r->wreg) {
        case WREG_EXISTS: kind = rc == ZOK ? ZKC_W_DATA : rc == ZNONODE ? ZKC_W_EXIST : -1; break;
        case WREG_DATA: kind = rc == ZOK ? ZKC_W_DATA : -1; break;
        case WREG_CHILD: kind = rc == ZOK ? ZKC_W_CHILD : -1; break;
        case WREG_PERSISTENT: kind = rc == ZOK ? ZKC_W_PERSISTENT : -1; break;
        case WREG_RECURSIVE: kind = rc == ZOK ? ZKC_W_RECURSIVE : -1; break;
        }
        if (kind >= 0 && !zk->freeing)
            zkc_watches_add(&zk->watches, kind, r->path, r->wfn, r->wctx);
    }
    if (r->rm && r->path && !zk->freeing) {
        zkc_wset_t out[3] = {{0, 0, NULL}, {0, 0, NULL}, {0, 0, NULL}};
        int nrc = zkc_watches_remove(&zk->watches, r->path, r->rm_type, r->rm_one, r->wfn, r->wctx,
                                     r->rm_local, rc, out);
        static const int types[3] = {ZK_EVENT_CHILD_WATCH_REMOVED, ZK_EVENT_DATA_WATCH_REMOVED,
                                     ZK_EVENT_PERSISTENT_WATCH_REMOVED};
        int state = (rc == ZSESSIONEXPIRED || rc == ZCONNECTIONLOSS) ? ZK_STATE_DISCONNECTED
                                                                     : ZK_STATE_SYNC_CONNECTED;
        for (int i = 0; i < 3; i++) {
            if (out[i].n > 0) {
                deliver(zk, &out[i], types[i], state, r->path);
                nrc = ZOK;   /* Java: watchers removed locally => success */
            }
            zkc_wset_free(&out[i]);
        }
        res->rc = nrc;
    }
    if (r->cb)
        r->cb(zk, res, r->ctx);
}

/* Fails every outstanding request with rc (sent ones first, as they were
 * issued first). Auth callbacks go back to their auth entry on a mere
 * connection loss: the auth is re-sent after reconnecting. */
static void fail_all(zkc_t *zk, int rc)
{
    reqq_t s = zk->sent, u = zk->unsent;
    zk->sent.head = zk->sent.tail = NULL;
    zk->unsent.head = zk->unsent.tail = NULL;
    zkc_authwait_t *aw = zk->aw_head;
    zk->aw_head = zk->aw_tail = NULL;
    while (aw) {
        zkc_authwait_t *next = aw->next;
        if (aw->cb) {
            zkc_result_t res;
            memset(&res, 0, sizeof res);
            res.op = ZOO_SETAUTH_OP;
            res.rc = rc;
            res.zxid = -1;
            res.datalen = -1;
            aw->cb(zk, &res, aw->ctx);
        }
        free(aw);
        aw = next;
    }
    for (int pass = 0; pass < 2; pass++) {
        reqq_t *q = pass == 0 ? &s : &u;
        zkc_req_t *r;
        while ((r = reqq_pop(q))) {
            zkc_result_t res;
            result_init(&res, r, rc, -1);
            finish_req(zk, r, &res);
            req_free(r);
        }
    }
}

/* ---- output ---- */

static int32_t take_xid(zkc_t *zk)
{
    int32_t x = zk->next_xid;
    zk->next_xid = x == INT32_MAX ? 1 : x + 1;
    return x;
}

static void write_frame(zkc_t *zk, int32_t xid, int op, const buf_t *body)
{
    buf_t b = BUF_INIT;
    size_t st = zkp_frame_begin(&b);
    jute_put_int(&b, xid);
    jute_put_int(&b, op);
    if (body && body->len)
        buf_put(&b, body->data, body->len);
    zkp_frame_end(&b, st);
    bufferevent_write(zk->bev, b.data, b.len);
    buf_free(&b);
    zk->last_send = clock_mono_ms();
}

/* Sends every queued request if the session is ready. */
static void flush(zkc_t *zk)
{
    if (zk->phase != PH_READY)
        return;
    zkc_req_t *r;
    while ((r = reqq_pop(&zk->unsent))) {
        r->xid = take_xid(zk);
        write_frame(zk, r->xid, r->op, &r->body);
        reqq_push(&zk->sent, r);
    }
}

static void send_auth(zkc_t *zk, int idx)
{
    zkc_auth_t *a = &zk->auths[idx];
    zkp_AuthPacket ap = {0, a->scheme, a->auth};
    buf_t body = BUF_INIT;
    jute_encode(&zkp_AuthPacket_rec, &ap, &body);
    write_frame(zk, ZK_XID_AUTH, ZOO_SETAUTH_OP, &body);
    buf_free(&body);
    zkc_authwait_t *aw = xcalloc(1, sizeof *aw);
    aw->cb = a->cb;
    aw->ctx = a->ctx;
    a->cb = NULL;
    a->ctx = NULL;
    if (zk->aw_tail)
        zk->aw_tail->next = aw;
    else
        zk->aw_head = aw;
    zk->aw_tail = aw;
}

/* SetWatches / SetWatches2 batches (paths up to 128 KiB per packet), relative
 * to the last zxid seen, as the Java client sends them after reconnecting. */
static void send_set_watches(zkc_t *zk)
{
    if (zkc_watches_empty(&zk->watches))
        return;
    jute_strvec_t all[ZKC_W_NKINDS];
    for (int k = 0; k < ZKC_W_NKINDS; k++) {
        all[k].n = 0;
        all[k].v = NULL;
        zkc_watches_paths(&zk->watches, k, zk->chroot, &all[k]);
    }
    int k = 0, i = 0;
    while (k < ZKC_W_NKINDS) {
        jute_strvec_t batch[ZKC_W_NKINDS];
        for (int j = 0; j < ZKC_W_NKINDS; j++) {
            batch[j].n = 0;
            batch[j].v = NULL;
        }
        size_t total = 0;
        while (k < ZKC_W_NKINDS && total <= ZKC_SET_WATCHES_MAX) {
            if (i >= all[k].n) {
                k++;
                i = 0;
                continue;
            }
            jute_strvec_push(&batch[k], all[k].v[i]);
            total += strlen(all[k].v[i]);
            i++;
        }
        if (total == 0 && batch[ZKC_W_DATA].n + batch[ZKC_W_EXIST].n + batch[ZKC_W_CHILD].n +
                                  batch[ZKC_W_PERSISTENT].n + batch[ZKC_W_RECURSIVE].n == 0)
            break;
        buf_t body = BUF_INIT;
        int op;
        if (batch[ZKC_W_PERSISTENT].n == 0 && batch[ZKC_W_RECURSIVE].n == 0) {
            zkp_SetWatches sw = {zk->last_zxid, batch[ZKC_W_DATA], batch[ZKC_W_EXIST], batch[ZKC_W_CHILD]};
            jute_encode(&zkp_SetWatches_rec, &sw, &body);
            op = ZOO_SETWATCHES_OP;
        } else {
            zkp_SetWatches2 sw = {zk->last_zxid, batch[ZKC_W_DATA], batch[ZKC_W_EXIST], batch[ZKC_W_CHILD],
                                  batch[ZKC_W_PERSISTENT], batch[ZKC_W_RECURSIVE]};
            jute_encode(&zkp_SetWatches2_rec, &sw, &body);
            op = ZOO_SETWATCHES2_OP;
        }
        write_frame(zk, ZK_XID_SET_WATCHES, op, &body);
        buf_free(&body);
        for (int j = 0; j < ZKC_W_NKINDS; j++)
            jute_strvec_free(&batch[j]);
    }
    for (int j = 0; j < ZKC_W_NKINDS; j++)
        jute_strvec_free(&all[j]);
}

static void send_ping(zkc_t *zk)
{
    write_frame(zk, ZK_XID_PING, ZOO_PING_OP, NULL);
}

/* ---- connection ---- */

static void drop_conn(zkc_t *zk)
{
    if (zk->bev) {
        bufferevent_free(zk->bev);
        zk->bev = NULL;
    }
    zk->phase = PH_IDLE;
    zk->gen++;
    if (zk->timer)
        evtimer_del(zk->timer);
}

static void timer_add_ms(struct event *ev, int64_t ms)
{
    if (ms < 0)
        ms = 0;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    evtimer_add(ev, &tv);
}

static void schedule_retry(zkc_t *zk)
{
    int64_t delay = random() % 100;
    if (zk->fails > 0 && zk->fails % zk->nhosts == 0) {
        /* every address failed in a row: back off, as the Java client's
         * StaticHostProvider does (1 s), bounded by the session timeout */
        delay = zk->req_timeout / 4 < 1000 ? zk->req_timeout / 4 : 1000;
    }
    timer_add_ms(zk->retry, delay);
}

static void conn_lost(zkc_t *zk, const char *why)
{
    bool was_ready = zk->phase == PH_READY;
    const char *server = zk->cur_host >= 0 ? zk->hosts[zk->cur_host].label : "?";
    if (was_ready)
        LOG_I("zkc", "session 0x%llx: connection to %s lost: %s", (unsigned long long)zk->session_id, server, why);
    else
        LOG_D("zkc", "connection attempt to %s failed: %s", server, why);
    drop_conn(zk);
    if (!zkc_state_alive(zk->state) || zk->freeing)
        return;
    zk->state = ZKC_CONNECTING;
    zk->fails = was_ready ? 0 : zk->fails + 1;
    fail_all(zk, ZCONNECTIONLOSS);
    if (dead_or_dying(zk) || !zkc_state_alive(zk->state))
        return;
    if (zk->closing) {
        finish_close(zk, ZOK);
        return;
    }
    session_event(zk, ZK_STATE_DISCONNECTED);
    if (dead_or_dying(zk) || !zkc_state_alive(zk->state) || zk->phase != PH_IDLE)
        return;
    schedule_retry(zk);
}

/* The connection and timer checks: connect timeout before the handshake
 * completes, read timeout after, and pings on idle. Re-arms the timer. */
static void check_timeouts(zkc_t *zk)
{
    if (zk->phase == PH_IDLE)
        return;
    int64_t now = clock_mono_ms();
    int64_t idle_recv = now - zk->last_recv;
    int64_t to = (zk->phase == PH_READY ? zk->read_timeout : zk->connect_timeout) - idle_recv;
    if (to <= 0) {
        char why[96];
        snprintf(why, sizeof why, "have not heard from server in %lldms", (long long)idle_recv);
        conn_lost(zk, why);
        return;
    }
    if (zk->phase == PH_READY) {
        int64_t idle_send = now - zk->last_send;
        int64_t next_ping = zk->read_timeout / 2 - idle_send - (idle_send > 1000 ? 1000 : 0);
        if (next_ping <= 0 || idle_send > ZKC_MAX_PING_INTERVAL) {
            send_ping(zk);
            next_ping = zk->read_timeout / 2;
        }
        if (next_ping < to)
            to = next_ping;
    }
    timer_add_ms(zk->timer, to < 1 ? 1 : to);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    zkc_t *zk = arg;
    enter(zk);
    check_timeouts(zk);
    leave(zk);
}

static void arm_timer(zkc_t *zk)
{
    check_timeouts(zk);
}

static void send_connect_request(zkc_t *zk)
{
    zkp_ConnectRequest req;
    memset(&req, 0, sizeof req);
    req.protocolVersion = 0;
    req.lastZxidSeen = zk->last_zxid;
    req.timeOut = zk->req_timeout;
    req.sessionId = zk->session_id;
    req.passwd.data = zk->passwd;
    req.passwd.len = ZKC_PASSWD_LEN;
    req.readOnly = zk->read_only;
    buf_t b = BUF_INIT;
    size_t st = zkp_frame_begin(&b);
    zkp_connect_req_encode(&req, &b);
    zkp_frame_end(&b, st);
    bufferevent_write(zk->bev, b.data, b.len);
    buf_free(&b);
    zk->last_send = clock_mono_ms();
}

static void expire(zkc_t *zk)
{
    LOG_I("zkc", "session 0x%llx expired", (unsigned long long)zk->session_id);
    drop_conn(zk);
    evtimer_del(zk->retry);
    zk->state = ZKC_CLOSED;
    session_event(zk, ZK_STATE_EXPIRED);
    fail_all(zk, ZSESSIONEXPIRED);
    if (zk->closing && zk->close_cb && !zk->freeing) {
        zkc_cb cb = zk->close_cb;
        zk->close_cb = NULL;
        zkc_result_t res;
        memset(&res, 0, sizeof res);
        res.rc = ZSESSIONEXPIRED;
        res.op = ZOO_CLOSE_OP;
        res.zxid = -1;
        res.datalen = -1;
        cb(zk, &res, zk->close_ctx);
    }
}

static void handle_connect_response(zkc_t *zk, jute_rd_t *jr)
{
    zkp_ConnectResponse resp;
    if (zkp_connect_resp_decode(&resp, jr)) {
        conn_lost(zk, "malformed ConnectResponse");
        return;
    }
    if (resp.timeOut <= 0) {
        jute_free(&zkp_ConnectResponse_rec, &resp);
        expire(zk);
        return;
    }
    zk->neg_timeout = resp.timeOut;
    zk->read_timeout = resp.timeOut * 2 / 3;
    zk->connect_timeout = resp.timeOut / zk->nhosts;
    if (zk->session_id != 0 && zk->session_id != resp.sessionId)
        LOG_W("zkc", "server changed session id 0x%llx -> 0x%llx", (unsigned long long)zk->session_id,
              (unsigned long long)resp.sessionId);
    zk->session_id = resp.sessionId;
    memset(zk->passwd, 0, sizeof zk->passwd);
    if (resp.passwd.len > 0)
        memcpy(zk->passwd, resp.passwd.data,
               resp.passwd.len < ZKC_PASSWD_LEN ? (size_t)resp.passwd.len : ZKC_PASSWD_LEN);
    bool ro = resp.readOnly;
    jute_free(&zkp_ConnectResponse_rec, &resp);
    zk->phase = PH_READY;
    zk->fails = 0;
    zk->state = ro ? ZKC_CONNECTEDREADONLY : ZKC_CONNECTED;
    LOG_D("zkc", "session 0x%llx established with %s, timeout %d", (unsigned long long)zk->session_id,
          zk->hosts[zk->cur_host].label, zk->neg_timeout);
    /* prime the connection: auth data, watches, then whatever was queued */
    for (int i = 0; i < zk->nauths; i++)
        send_auth(zk, i);
    send_set_watches(zk);
    flush(zk);
    arm_timer(zk);
    session_event(zk, ro ? ZK_STATE_CONNECTED_READONLY : ZK_STATE_SYNC_CONNECTED);
}

static void handle_auth_reply(zkc_t *zk, const zkp_ReplyHeader *h)
{
    zkc_authwait_t *aw = zk->aw_head;
    if (aw) {
        zk->aw_head = aw->next;
        if (!zk->aw_head)
            zk->aw_tail = NULL;
    }
    zkc_result_t res;
    memset(&res, 0, sizeof res);
    res.op = ZOO_SETAUTH_OP;
    res.rc = h->err;
    res.zxid = h->zxid;
    res.datalen = -1;
    if (h->err == ZAUTHFAILED) {
        LOG_I("zkc", "session 0x%llx: authentication failed", (unsigned long long)zk->session_id);
        drop_conn(zk);
        evtimer_del(zk->retry);
        zk->state = ZKC_AUTH_FAILED;
        if (aw && aw->cb)
            aw->cb(zk, &res, aw->ctx);
        free(aw);
        if (!dead_or_dying(zk))
            session_event(zk, ZK_STATE_AUTH_FAILED);
        fail_all(zk, ZAUTHFAILED);
        if (zk->closing && zk->close_cb && !zk->freeing) {
            zkc_cb cb = zk->close_cb;
            zk->close_cb = NULL;
            res.op = ZOO_CLOSE_OP;
            cb(zk, &res, zk->close_ctx);
        }
        return;
    }
    if (aw && aw->cb)
        aw->cb(zk, &res, aw->ctx);
    free(aw);
}

static void handle_notification(zkc_t *zk, jute_rd_t *jr)
{
    zkp_WatcherEvent ev;
    if (jute_decode(&zkp_WatcherEvent_rec, &ev, jr)) {
        conn_lost(zk, "malformed notification");
        return;
    }
    const char *path = zkc_path_strip(zk->chroot, ev.path);
    zkc_wset_t set = {0, 0, NULL};
    if (ev.type == ZK_EVENT_NONE) {
        zkc_wset_add(&set, zk->watcher, zk->watcher_ctx);
        zkc_watches_all(&zk->watches, &set);
    } else {
        zkc_watches_materialize(&zk->watches, ev.type, path ? path : "/", &set);
    }
    deliver(zk, &set, ev.type, ev.state, path);
    zkc_wset_free(&set);
    jute_free(&zkp_WatcherEvent_rec, &ev);
}

/* Decodes a multi reply body into results (paths point into the strings kept
 * in *paths, which the caller frees). 0, or -1 if malformed. */
static int decode_multi(zkc_t *zk, jute_rd_t *jr, zkc_op_result_t **out, int *nout, jute_strvec_t *paths)
{
    zkc_op_result_t *res = NULL;
    int n = 0;
    for (;;) {
        zkp_MultiHeader mh;
        if (jute_decode(&zkp_MultiHeader_rec, &mh, jr))
            goto bad;
        if (mh.done)
            break;
        if (n > 100000 || jute_left(jr) == 0)
            goto bad;
        res = xrealloc(res, (size_t)(n + 1) * sizeof *res);
        zkc_op_result_t *r = &res[n];
        memset(r, 0, sizeof *r);
        r->type = mh.type;
        r->err = ZOK;
        switch (mh.type) {
        case ZOO_ERROR_OP:
            r->err = jute_get_int(jr);
            break;
        case ZOO_CREATE_OP:
        case ZOO_CREATE2_OP:
        case ZOO_CREATECONTAINER_OP:
        case ZOO_CREATETTL_OP: {
            char *p = NULL;
            if (jute_get_ustring(jr, &p))
                goto bad;
            jute_strvec_push(paths, p ? p : "");
            free(p);
            if (mh.type != ZOO_CREATE_OP) {
                if (jute_decode(&zkp_Stat_rec, &r->stat, jr))
                    goto bad;
                r->has_stat = true;
            }
            break;
        }
        case ZOO_SETDATA_OP:
            if (jute_decode(&zkp_Stat_rec, &r->stat, jr))
                goto bad;
            r->has_stat = true;
            break;
        case ZOO_DELETE_OP:
        case ZOO_CHECK_OP:
            break;
        default:
            goto bad;
        }
        if (!jute_ok(jr))
            goto bad;
        n++;
    }
    /* attach the created paths in order, chroot stripped */
    int pi = 0;
    for (int i = 0; i < n; i++) {
        if (res[i].type == ZOO_CREATE_OP || res[i].type == ZOO_CREATE2_OP ||
            res[i].type == ZOO_CREATECONTAINER_OP || res[i].type == ZOO_CREATETTL_OP)
            res[i].path = zkc_path_strip(zk->chroot, paths->v[pi++]);
    }
    *out = res;
    *nout = n;
    return 0;
bad:
    free(res);
    return -1;
}

/* The body schema of a successful reply, by opcode (NULL: no body). */
static const jute_rec_t *reply_rec(int op)
{
    switch (op) {
    case ZOO_EXISTS_OP:
    case ZOO_SETDATA_OP: return &zkp_StatResponse_rec;
    case ZOO_GETDATA_OP: return &zkp_GetDataResponse_rec;
    case ZOO_GETACL_OP: return &zkp_GetACLResponse_rec;
    case ZOO_SETACL_OP: return &zkp_StatResponse_rec;
    case ZOO_GETCHILDREN_OP: return &zkp_GetChildrenResponse_rec;
    case ZOO_GETCHILDREN2_OP: return &zkp_GetChildren2Response_rec;
    case ZOO_SYNC_OP: return &zkp_PathRequest_rec;
    case ZOO_GETEPHEMERALS_OP: return &zkp_GetEphemeralsResponse_rec;
    case ZOO_GETALLCHILDRENNUMBER_OP: return &zkp_GetAllChildrenNumberResponse_rec;
    case ZOO_WHOAMI_OP: return &zkp_WhoAmIResponse_rec;
    default: return NULL;
    }
}

static void handle_reply(zkc_t *zk, const zkp_ReplyHeader *h, jute_rd_t *jr)
{
    zkc_req_t *r = zk->sent.head;
    if (!r || r->xid != h->xid) {
        char why[96];
        snprintf(why, sizeof why, "xid out of order: got %d, expected %d", h->xid, r ? r->xid : 0);
        conn_lost(zk, why);
        return;
    }
    reqq_pop(&zk->sent);
    if (h->zxid > 0)
        zk->last_zxid = h->zxid;
    zkc_result_t res;
    result_init(&res, r, h->err, h->zxid);
    const jute_rec_t *rec = NULL;
    void *body = NULL;
    char *cpath = NULL;
    zkc_op_result_t *mres = NULL;
    jute_strvec_t mpaths = {0, NULL};
    if (h->err == ZOK) {
        switch (r->op) {
        case ZOO_CREATE_OP:
        case ZOO_CREATE2_OP:
        case ZOO_CREATECONTAINER_OP:
        case ZOO_CREATETTL_OP: {
            /* path, then a Stat if the server sent one (create2/container/TTL) */
            body = xcalloc(1, sizeof(zkp_Stat));
            if (jute_get_ustring(jr, &cpath) || !jute_ok(jr))
                goto malformed;
            res.path = zkc_path_strip(zk->chroot, cpath ? cpath : "");
            if (jute_left(jr) >= 68) {
                if (jute_decode(&zkp_Stat_rec, body, jr))
                    goto malformed;
                res.stat = body;
            }
            break;
        }
        case ZOO_MULTI_OP: {
            int n = 0;
            if (decode_multi(zk, jr, &mres, &n, &mpaths))
                goto malformed;
            res.results = mres;
            res.nresults = n;
            for (int i = 0; i < n; i++) {
                if (mres[i].err != ZOK) {
                    res.rc = mres[i].err;
                    break;
                }
            }
            break;
        }
        default:
            rec = reply_rec(r->op);
            if (rec) {
                body = xcalloc(1, rec->size);
                if (jute_decode(rec, body, jr)) {
                    rec = NULL;
                    goto malformed;
                }
            }
            break;
        }
        switch (r->op) {
        case ZOO_EXISTS_OP:
        case ZOO_SETDATA_OP:
        case ZOO_SETACL_OP: res.stat = &((zkp_StatResponse *)body)->stat; break;
        case ZOO_GETDATA_OP: {
            zkp_GetDataResponse *g = body;
            res.data = g->data.data;
            res.datalen = g->data.len;
            res.stat = &g->stat;
            break;
        }
        case ZOO_GETACL_OP: {
            zkp_GetACLResponse *g = body;
            res.acl = g->acl.v;
            res.nacl = g->acl.n < 0 ? 0 : g->acl.n;
            res.stat = &g->stat;
            break;
        }
        case ZOO_GETCHILDREN_OP: res.strings = &((zkp_GetChildrenResponse *)body)->children; break;
        case ZOO_GETCHILDREN2_OP:
            res.strings = &((zkp_GetChildren2Response *)body)->children;
            res.stat = &((zkp_GetChildren2Response *)body)->stat;
            break;
        case ZOO_GETEPHEMERALS_OP: res.strings = &((zkp_GetEphemeralsResponse *)body)->ephemerals; break;
        case ZOO_GETALLCHILDRENNUMBER_OP:
            res.count = ((zkp_GetAllChildrenNumberResponse *)body)->totalNumber;
            break;
        case ZOO_WHOAMI_OP: {
            zkp_WhoAmIResponse *w = body;
            res.who = w->clientInfo.v;
            res.nwho = w->clientInfo.n < 0 ? 0 : w->clientInfo.n;
            break;
        }
        default: break;
        }
    }
    bool was_close = r->op == ZOO_CLOSE_OP;
    finish_req(zk, r, &res);
    req_free(r);
    if (rec && body)
        jute_free(rec, body);
    free(body);
    free(cpath);
    free(mres);
    jute_strvec_free(&mpaths);
    if (was_close && !zk->freeing)
        finish_close(zk, ZOK);
    return;
malformed:
    /* put the request back so it fails with the connection */
    r->next = zk->sent.head;
    zk->sent.head = r;
    if (!zk->sent.tail)
        zk->sent.tail = r;
    if (rec && body)
        jute_free(rec, body);
    free(body);
    free(cpath);
    free(mres);
    jute_strvec_free(&mpaths);
    conn_lost(zk, "malformed reply");
}

static void handle_frame(zkc_t *zk, const uint8_t *p, size_t len)
{
    jute_rd_t jr;
    jute_rd_init(&jr, p, len);
    if (zk->phase == PH_HANDSHAKE) {
        handle_connect_response(zk, &jr);
        return;
    }
    if (zk->phase != PH_READY)
        return;
    zkp_ReplyHeader h;
    if (jute_decode(&zkp_ReplyHeader_rec, &h, &jr)) {
        conn_lost(zk, "malformed reply header");
        return;
    }
    switch (h.xid) {
    case ZK_XID_WATCH_EVENT: handle_notification(zk, &jr); break;
    case ZK_XID_PING: break;
    case ZK_XID_AUTH: handle_auth_reply(zk, &h); break;
    case ZK_XID_SET_WATCHES: break;
    default: handle_reply(zk, &h, &jr); break;
    }
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    zkc_t *zk = arg;
    enter(zk);
    uint64_t gen = zk->gen;
    struct evbuffer *in = bufferevent_get_input(bev);
    zk->last_recv = clock_mono_ms();
    while (zk->gen == gen && !zk->free_pending) {
        size_t avail = evbuffer_get_length(in);
        if (avail < 4)
            break;
        uint8_t lenb[4];
        evbuffer_copyout(in, lenb, 4);
        int32_t len = (int32_t)be32_get(lenb);
        if (len < 0 || len > zk->max_packet) {
            char why[64];
            snprintf(why, sizeof why, "packet length %d out of range", len);
            conn_lost(zk, why);
            break;
        }
        if (avail < 4 + (size_t)len)
            break;
        uint8_t *frame = xmalloc((size_t)len + 1);
        evbuffer_drain(in, 4);
        evbuffer_remove(in, frame, (size_t)len);
        handle_frame(zk, frame, (size_t)len);
        free(frame);
    }
    leave(zk);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    zkc_t *zk = arg;
    enter(zk);
    if (what & BEV_EVENT_CONNECTED) {
        int one = 1;
        evutil_socket_t fd = bufferevent_getfd(bev);
        if (fd >= 0)
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        zk->phase = PH_HANDSHAKE;
        send_connect_request(zk);
        arm_timer(zk);
    } else if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        int err = EVUTIL_SOCKET_ERROR();
        conn_lost(zk, (what & BEV_EVENT_EOF) ? "closed by server" : evutil_socket_error_to_string(err));
    }
    leave(zk);
}

static void start_connect(zkc_t *zk)
{
    if (!zkc_state_alive(zk->state) || dead_or_dying(zk) || zk->phase != PH_IDLE)
        return;
    zk->state = ZKC_CONNECTING;
    int i = zk->host_next;
    zk->host_next = (i + 1) % zk->nhosts;
    zk->cur_host = i;
    zkc_host_t *h = &zk->hosts[i];
    zk->bev = bufferevent_socket_new(zk->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!zk->bev) {
        conn_lost(zk, "cannot create socket");
        return;
    }
    bufferevent_setcb(zk->bev, read_cb, NULL, event_cb, zk);
    bufferevent_enable(zk->bev, EV_READ | EV_WRITE);
    zk->phase = PH_TCP;
    zk->gen++;
    zk->last_recv = zk->last_send = clock_mono_ms();
    LOG_D("zkc", "connecting to %s", h->label);
    if (bufferevent_socket_connect(zk->bev, (struct sockaddr *)&h->addr, (int)h->len) < 0) {
        conn_lost(zk, "connect failed");
        return;
    }
    arm_timer(zk);
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    zkc_t *zk = arg;
    enter(zk);
    start_connect(zk);
    leave(zk);
}

/* ---- close and free ---- */

static void finish_close(zkc_t *zk, int rc)
{
    drop_conn(zk);
    evtimer_del(zk->retry);
    if (zk->state != ZKC_CLOSED)
        LOG_D("zkc", "session 0x%llx closed", (unsigned long long)zk->session_id);
    zk->state = ZKC_CLOSED;
    fail_all(zk, ZSESSIONEXPIRED);
    if (!dead_or_dying(zk))
        session_event(zk, ZK_STATE_CLOSED);
    zkc_cb cb = zk->close_cb;
    zk->close_cb = NULL;
    if (cb && !zk->freeing) {
        zkc_result_t res;
        memset(&res, 0, sizeof res);
        res.rc = rc;
        res.op = ZOO_CLOSE_OP;
        res.zxid = -1;
        res.datalen = -1;
        cb(zk, &res, zk->close_ctx);
    }
}

static void closer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    zkc_t *zk = arg;
    enter(zk);
    finish_close(zk, ZOK);
    leave(zk);
}

int zkc_close(zkc_t *zk, zkc_cb cb, void *ctx)
{
    if (dead_or_dying(zk) || !zkc_state_alive(zk->state))
        return ZSESSIONEXPIRED;
    if (zk->closing)
        return ZCONNECTIONLOSS;
    zk->closing = true;
    zk->close_cb = cb;
    zk->close_ctx = ctx;
    if (zk->session_id == 0 && zk->phase == PH_IDLE) {
        /* no session and no attempt under way: finish from the loop. (With an
         * attempt under way the close request waits for its outcome, as the
         * Java client's does.) */
        drop_conn(zk);
        evtimer_del(zk->retry);
        timer_add_ms(zk->closer, 0);
        return ZOK;
    }
    zkc_req_t *r = xcalloc(1, sizeof *r);
    r->op = ZOO_CLOSE_OP;
    reqq_push(&zk->unsent, r);
    flush(zk);
    return ZOK;
}

static void do_free(zkc_t *zk)
{
    zk->freeing = true;
    zk->free_pending = false;
    zk->depth++;   /* nothing below may free again */
    drop_conn(zk);
    int rc = zkc_state_alive(zk->state) ? ZCONNECTIONLOSS : ZSESSIONEXPIRED;
    fail_all(zk, rc);
    if (zk->close_cb) {
        zkc_result_t res;
        memset(&res, 0, sizeof res);
        res.rc = rc;
        res.op = ZOO_CLOSE_OP;
        res.zxid = -1;
        res.datalen = -1;
        zkc_cb cb = zk->close_cb;
        zk->close_cb = NULL;
        cb(zk, &res, zk->close_ctx);
    }
    for (int i = 0; i < zk->nauths; i++) {
        free(zk->auths[i].scheme);
        free(zk->auths[i].auth.data);
    }
    free(zk->auths);
    zkc_watches_fini(&zk->watches);
    event_free(zk->timer);
    event_free(zk->retry);
    event_free(zk->closer);
    free(zk->hosts);
    free(zk->chroot);
    free(zk);
}

void zkc_free(zkc_t *zk)
{
    if (!zk || zk->freeing)
        return;
    if (zk->depth > 0) {
        zk->free_pending = true;
        return;
    }
    do_free(zk);
}

/* ---- construction ---- */

static int resolve_hosts(zkc_t *zk, const zkc_hostport_t *hp, int n)
{
    for (int i = 0; i < n; i++) {
        struct addrinfo hints, *ai = NULL;
        memset(&hints, 0, sizeof hints);
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        char port[16];
        snprintf(port, sizeof port, "%d", hp[i].port);
        int e = getaddrinfo(hp[i].host, port, &hints, &ai);
        if (e != 0) {
            LOG_W("zkc", "cannot resolve %s: %s", hp[i].host, gai_strerror(e));
            continue;
        }
        for (struct addrinfo *a = ai; a; a = a->ai_next) {
            if (a->ai_addrlen > sizeof(struct sockaddr_storage))
                continue;
            zk->hosts = xrealloc(zk->hosts, (size_t)(zk->nhosts + 1) * sizeof *zk->hosts);
            zkc_host_t *h = &zk->hosts[zk->nhosts++];
            memset(h, 0, sizeof *h);
            memcpy(&h->addr, a->ai_addr, a->ai_addrlen);
            h->len = a->ai_addrlen;
            char ip[INET6_ADDRSTRLEN] = "?";
            if (a->ai_family == AF_INET)
                inet_ntop(AF_INET, &((struct sockaddr_in *)a->ai_addr)->sin_addr, ip, sizeof ip);
            else if (a->ai_family == AF_INET6)
                inet_ntop(AF_INET6, &((struct sockaddr_in6 *)a->ai_addr)->sin6_addr, ip, sizeof ip);
            snprintf(h->label, sizeof h->label, a->ai_family == AF_INET6 ? "[%s]:%d" : "%s:%d", ip, hp[i].port);
        }
        freeaddrinfo(ai);
    }
    return zk->nhosts > 0 ? ZOK : ZCONNECTIONLOSS;
}

zkc_t *zkc_new(struct event_base *base, const zkc_config_t *cfg, int *err)
{
    int dummy;
    if (!err)
        err = &dummy;
    *err = ZBADARGUMENTS;
    if (!base || !cfg || !cfg->connect)
        return NULL;
    zkc_hostport_t *hp = NULL;
    int nhp = 0;
    char *chroot = NULL;
    char why[256];
    if (zkc_connstr_parse(cfg->connect, &hp, &nhp, &chroot, why, sizeof why) != ZOK) {
        LOG_W("zkc", "bad connect string '%s': %s", cfg->connect, why);
        return NULL;
    }
    zkc_t *zk = xcalloc(1, sizeof *zk);
    zk->base = base;
    zk->chroot = chroot;
    if (resolve_hosts(zk, hp, nhp) != ZOK) {
        zkc_hostports_free(hp, nhp);
        free(zk->hosts);
        free(zk->chroot);
        free(zk);
        *err = ZCONNECTIONLOSS;
        return NULL;
    }
    zkc_hostports_free(hp, nhp);
    static bool seeded;
    if (!seeded) {
        srandom((unsigned)(clock_mono_us() ^ (getpid() << 16)));
        seeded = true;
    }
    if (!cfg->no_shuffle) {
        for (int i = zk->nhosts - 1; i > 0; i--) {
            int j = (int)(random() % (i + 1));
            zkc_host_t t = zk->hosts[i];
            zk->hosts[i] = zk->hosts[j];
            zk->hosts[j] = t;
        }
    }
    zk->state = ZKC_CONNECTING;
    zk->keeper_state = ZK_STATE_DISCONNECTED;
    zk->cur_host = -1;
    zk->req_timeout = cfg->session_timeout_ms > 0 ? cfg->session_timeout_ms : ZKC_DEFAULT_TIMEOUT;
    zk->neg_timeout = zk->req_timeout;
    zk->read_timeout = zk->req_timeout * 2 / 3;
    zk->connect_timeout = zk->req_timeout / zk->nhosts;
    zk->read_only = cfg->read_only;
    zk->next_xid = 1;
    zk->max_packet = cfg->max_packet > 0 ? cfg->max_packet : ZKC_MAX_PACKET_DEFAULT;
    zk->watcher = cfg->watcher;
    zk->watcher_ctx = cfg->watcher_ctx;
    if (cfg->session_id) {
        zk->session_id = cfg->session_id;
        if (cfg->passwd)
            memcpy(zk->passwd, cfg->passwd, ZKC_PASSWD_LEN);
    }
    zkc_watches_init(&zk->watches);
    zk->timer = evtimer_new(base, timer_cb, zk);
    zk->retry = evtimer_new(base, retry_cb, zk);
    zk->closer = evtimer_new(base, closer_cb, zk);
    start_connect(zk);   /* calls no user callback, even if it fails at once */
    *err = ZOK;
    return zk;
}

/* ---- accessors ---- */

zkc_state_t zkc_state(const zkc_t *zk) { return zk->state; }
int64_t zkc_session_id(const zkc_t *zk) { return zk->session_id; }
const uint8_t *zkc_session_passwd(const zkc_t *zk) { return zk->passwd; }
int zkc_session_timeout(const zkc_t *zk) { return zk->neg_timeout; }
int64_t zkc_last_zxid(const zkc_t *zk) { return zk->last_zxid; }
const char *zkc_chroot(const zkc_t *zk) { return zk->chroot; }
struct event_base *zkc_base(const zkc_t *zk) { return zk->base; }
bool zkc_in_callback(const zkc_t *zk) { return zk->depth > 0; }

const char *zkc_current_server(const zkc_t *zk)
{
    return zk->phase != PH_IDLE && zk->cur_host >= 0 ? zk->hosts[zk->cur_host].label : NULL;
}

/* ---- requests ---- */

static int check_usable(const zkc_t *zk)
{
    if (dead_or_dying(zk))
        return ZSESSIONEXPIRED;
    if (zk->state == ZKC_AUTH_FAILED)
        return ZAUTHFAILED;
    if (zk->state == ZKC_CLOSED)
        return ZSESSIONEXPIRED;
    if (zk->closing)
        return ZCONNECTIONLOSS;
    return ZOK;
}

static zkc_req_t *req_new(int op, const char *client_path, zkc_cb cb, void *ctx)
{
    zkc_req_t *r = xcalloc(1, sizeof *r);
    r->op = op;
    r->path = client_path ? xstrdup(client_path) : NULL;
    r->cb = cb;
    r->ctx = ctx;
    return r;
}

static void set_watch(zkc_t *zk, zkc_req_t *r, int wreg, const zkc_watch_t *w)
{
    if (!w)
        return;
    r->wreg = wreg;
    if (w == ZKC_WATCH) {
        r->wfn = zk->watcher;
        r->wctx = zk->watcher_ctx;
    } else {
        r->wfn = w->fn;
        r->wctx = w->ctx;
    }
}

static void submit(zkc_t *zk, zkc_req_t *r)
{
    reqq_push(&zk->unsent, r);
    flush(zk);
}

/* Validates path; returns the server path (caller frees) or NULL. */
static char *server_path(const zkc_t *zk, const char *path, bool sequential, int *rc)
{
    int v;
    if (sequential && path) {
        char *p1 = xasprintf("%s1", path);
        v = zkc_validate_path(p1, NULL, 0);
        free(p1);
    } else {
        v = zkc_validate_path(path, NULL, 0);
    }
    if (v != ZOK) {
        *rc = v;
        return NULL;
    }
    return zkc_path_prepend(zk->chroot, path);
}

static int path_op(zkc_t *zk, int op, const char *path, const zkc_watch_t *w, int wreg, bool with_watch_flag,
                   zkc_cb cb, void *ctx)
{
    int rc = check_usable(zk);
    if (rc)
        return rc;
    char *sp = server_path(zk, path, false, &rc);
    if (!sp)
        return rc;
    zkc_req_t *r = req_new(op, path, cb, ctx);
    if (with_watch_flag) {
        zkp_PathWatchRequest req = {sp, w != NULL};
        jute_encode(&zkp_PathWatchRequest_rec, &req, &r->body);
        set_watch(zk, r, wreg, w);
    } else {
        zkp_PathRequest req = {sp};
        jute_encode(&zkp_PathRequest_rec, &req, &r->body);
    }
    free(sp);
    submit(zk, r);
    return ZOK;
}

static const zkp_ACL *acl_or_default(const zkp_ACL *acl, int *nacl)
{
    if (!acl) {
        *nacl = 1;
        return zkc_open_acl_unsafe;
    }
    return acl;
}

static int create_opcode(int mode, bool with_stat)
{
    if (mode == ZK_CONTAINER)
        return ZOO_CREATECONTAINER_OP;
    if (mode == ZK_PERSISTENT_WITH_TTL || mode == ZK_PERSISTENT_SEQUENTIAL_WITH_TTL)
        return ZOO_CREATETTL_OP;
    return with_stat ? ZOO_CREATE2_OP : ZOO_CREATE_OP;
}

static bool mode_sequential(int mode)
{
    return mode == ZK_PERSISTENT_SEQUENTIAL || mode == ZK_EPHEMERAL_SEQUENTIAL ||
           mode == ZK_PERSISTENT_SEQUENTIAL_WITH_TTL;
}

/* Encodes one create body (CreateRequest or CreateTTLRequest). */
static int encode_create(int op, const char *sp, const void *data, int32_t len, const zkp_ACL *acl, int nacl,
                         int mode, int64_t ttl, buf_t *b)
{
    if (mode < ZK_PERSISTENT || mode > ZK_PERSISTENT_SEQUENTIAL_WITH_TTL)
        return ZBADARGUMENTS;
    acl = acl_or_default(acl, &nacl);
    if (nacl <= 0)
        return ZINVALIDACL;
    if (op == ZOO_CREATETTL_OP && (ttl <= 0 || ttl > ZK_TTL_MAX))
        return ZBADARGUMENTS;
    jute_buf_t d = {(uint8_t *)data, data ? len : -1};
    if (len < 0)
        d.data = NULL, d.len = -1;
    jute_vec_t av = {nacl, (void *)acl};
    if (op == ZOO_CREATETTL_OP) {
        zkp_CreateTTLRequest req = {(char *)sp, d, av, mode, ttl};
        jute_encode(&zkp_CreateTTLRequest_rec, &req, b);
    } else {
        zkp_CreateRequest req = {(char *)sp, d, av, mode};
        jute_encode(&zkp_CreateRequest_rec, &req, b);
    }
    return ZOK;
}

int zkc_create(zkc_t *zk, const zkc_create_t *c, zkc_cb cb, void *ctx)
{
    int rc = check_usable(zk);
    if (rc)
        return rc;
    char *sp = server_path(zk, c->path, mode_sequential(c->mode), &rc);
    if (!sp)
        return rc;
    int op = create_opcode(c->mode, c->with_stat);
    buf_t body = BUF_INIT;
    rc = encode_create(op, sp, c->data, c->len, c->acl, c->nacl, c->mode, c->ttl, &body);
    free(sp);
    if (rc) {
        buf_free(&body);
        return rc;
    }
    zkc_req_t *r = req_new(op, c->path, cb, ctx);
    r->body = body;
    submit(zk, r);
    return ZOK;
}

int zkc_delete(zkc_t *zk, const char *path, int32_t version, zkc_cb cb, void *ctx)
{
    int rc = check_usable(zk);
    if (rc)
        return rc;
    char *sp = server_path(zk, path, false, &rc);
    if (!sp)
        return rc;
    zkc_req_t *r = req_new(ZOO_DELETE_OP, path, cb, ctx);
    zkp_DeleteRequest req = {sp, version};
    jute_encode(&zkp_DeleteRequest_rec, &req, &r->body);
    free(sp);
    submit(zk, r);
    return ZOK;
}

int zkc_exists(zkc_t *zk, const char *path, const zkc_watch_t *w, zkc_cb cb, void *ctx)
{
    return path_op(zk, ZOO_EXISTS_OP, path, w, WREG_EXISTS, true, cb, ctx);
}

int zkc_get_data(zkc_t *zk, const char *path, const zkc_watch_t *w, zkc_cb cb, void *ctx)
{
    return path_op(zk, ZOO_GETDATA_OP, path, w, WREG_DATA, true, cb, ctx);
}

int zkc_get_children(zkc_t *zk, const char *path, const zkc_watch_t *w, zkc_cb cb, void *ctx)
{
    return path_op(zk, ZOO_GETCHILDREN_OP, path, w, WREG_CHILD, true, cb, ctx);
}

int zkc_get_children2(zkc_t *zk, const char *path, const zkc_watch_t *w, zkc_cb cb, void *ctx)
{
    return path_op(zk, ZOO_GETCHILDREN2_OP, path, w, WREG_CHILD, true, cb, ctx);
}

int zkc_get_acl(zkc_t *zk, const char *path, zkc_cb cb, void *ctx)
{
    return path_op(zk, ZOO_GETACL_OP, path, NULL, WREG_NONE, false, cb, ctx);
}

int zkc_sync(zkc_t *zk, const char *path, zkc_cb cb, void *ctx)
{
    return path_op(zk, ZOO_SYNC_OP, path, NULL, WREG_NONE, false, cb, ctx);
}

int zkc_get_all_children_number(zkc_t *zk, const char *path, zkc_cb cb, void *ctx)
{
    return path_op(zk, ZOO_GETALLCHILDRENNUMBER_OP, path, NULL, WREG_NONE, false, cb, ctx);
}

int zkc_get_ephemerals(zkc_t *zk, const char *prefix, zkc_cb cb, void *ctx)
{
    int rc = check_usable(zk);
    if (rc)
        return rc;
    if (!prefix)
        prefix = "/";
    if ((rc = zkc_validate_path(prefix, NULL, 0)) != ZOK)
        return rc;
    /* Java sends the prefix as given: no chroot */
    zkc_req_t *r = req_new(ZOO_GETEPHEMERALS_OP, prefix, cb, ctx);
    zkp_PathRequest req = {(char *)prefix};
    jute_encode(&zkp_PathRequest_rec, &req, &r->body);
    submit(zk, r);
    return ZOK;
}

int zkc_set_data(zkc_t *zk, const char *path, const void *data, int32_t len, int32_t version, zkc_cb cb,
                 void *ctx)
{
    int rc = check_usable(zk);
    if (rc)
        return rc;
    char *sp = server_path(zk, path, false, &rc);
    if (!sp)
        return rc;
    zkc_req_t *r = req_new(ZOO_SETDATA_OP, path, cb, ctx);
    jute_buf_t d = {(uint8_t *)data, (data && len >= 0) ? len : -1};
    zkp_SetDataRequest req = {sp, d, version};
    jute_encode(&zkp_SetDataRequest_rec, &req, &r->body);
    free(sp);
    submit(zk, r);
    return ZOK;
}

int zkc_set_acl(zkc_t *zk, const char *path, const zkp_ACL *acl, int nacl, int32_t version, zkc_cb cb, void *ctx)
{
    int rc = check_usable(zk);
    if (rc)
        return rc;
    if (!acl || nacl <= 0)
        return ZINVALIDACL;
    char *sp = server_path(zk, path, false, &rc);
    if (!sp)
        return rc;
    zkc_req_t *r = req_new(ZOO_SETACL_OP, path, cb, ctx);
    zkp_SetACLRequest req = {sp, {nacl, (void *)acl}, version};
    jute_encode(&zkp_SetACLRequest_rec, &req, &r->body);
    free(sp);
    submit(zk, r);
    return ZOK;
}

int zkc_whoami(zkc_t *zk, zkc_cb cb, void *ctx)
{
    int rc = check_usable(zk);
    if (rc)
        return rc;
    submit(zk, req_new(ZOO_WHOAMI_OP, NULL, cb, ctx));
    return ZOK;
}

int zkc_add_auth(zkc_t *zk, const char *scheme, const void *auth, int32_t len, zkc_cb cb, void *ctx)
{
    int rc = check_usable(zk);
    if (rc)
        return rc;
    if (!scheme)
        return ZBADARGUMENTS;
    zk->auths = xrealloc(zk->auths, (size_t)(zk->nauths + 1) * sizeof *zk->auths);
    zkc_auth_t *a = &zk->auths[zk->nauths++];
    a->scheme = xstrdup(scheme);
    a->auth = jute_buf_dup(auth, auth ? len : -1);
    a->cb = cb;
    a->ctx = ctx;
    if (zk->phase == PH_READY)
        send_auth(zk, zk->nauths - 1);
    return ZOK;
}

int zkc_add_watch(zkc_t *zk, const char *path, int mode, const zkc_watch_t *w, zkc_cb cb, void *ctx)
{
    int rc = check_usable(zk);
    if (rc)
        return rc;
    if (mode != ZK_ADDWATCH_PERSISTENT && mode != ZK_ADDWATCH_PERSISTENT_RECURSIVE)
        return ZBADARGUMENTS;
    char *sp = server_path(zk, path, false, &rc);
    if (!sp)
        return rc;
    zkc_req_t *r = req_new(ZOO_ADDWATCH_OP, path, cb, ctx);
    zkp_AddWatchRequest req = {sp, mode};
    jute_encode(&zkp_AddWatchRequest_rec, &req, &r->body);
    set_watch(zk, r, mode == ZK_ADDWATCH_PERSISTENT ? WREG_PERSISTENT : WREG_RECURSIVE, w ? w : ZKC_WATCH);
    free(sp);
    submit(zk, r);
    return ZOK;
}

int zkc_remove_watches(zkc_t *zk, const char *path, int wtype, const zkc_watch_t *w, bool local, zkc_cb cb,
                       void *ctx)
{
    int rc = check_usable(zk);
    if (rc)
        return rc;
    if (wtype != ZK_WATCHER_CHILDREN && wtype != ZK_WATCHER_DATA && wtype != ZK_WATCHER_ANY)
        return ZBADARGUMENTS;
    char *sp = server_path(zk, path, false, &rc);
    if (!sp)
        return rc;
    int op = w ? ZOO_CHECKWATCHES_OP : ZOO_REMOVEWATCHES_OP;
    zkc_req_t *r = req_new(op, path, cb, ctx);
    zkp_RemoveWatchesRequest req = {sp, wtype};
    jute_encode(&zkp_RemoveWatchesRequest_rec, &req, &r->body);
    free(sp);
    r->rm = true;
    r->rm_type = wtype;
    r->rm_local = local;
    r->rm_one = w != NULL;
    if (w) {
        r->wfn = w == ZKC_WATCH ? zk->watcher : w->fn;
        r->wctx = w == ZKC_WATCH ? zk->watcher_ctx : w->ctx;
    }
    submit(zk, r);
    return ZOK;
}

int zkc_multi(zkc_t *zk, const zkc_op_t *ops, int nops, zkc_cb cb, void *ctx)
{
    int rc = check_usable(zk);
    if (rc)
        return rc;
    if (nops < 0 || (nops > 0 && !ops))
        return ZBADARGUMENTS;
    buf_t body = BUF_INIT;
    for (int i = 0; i < nops; i++) {
        const zkc_op_t *o = &ops[i];
        bool seq = o->type == ZOO_CREATE_OP && mode_sequential(o->mode);
        char *sp = server_path(zk, o->path, seq, &rc);
        if (!sp) {
            buf_free(&body);
            return rc;
        }
        int type = o->type == ZOO_CREATE_OP ? create_opcode(o->mode, false) : o->type;
        zkp_MultiHeader mh = {type, false, -1};
        jute_encode(&zkp_MultiHeader_rec, &mh, &body);
        switch (o->type) {
        case ZOO_CREATE_OP:
            rc = encode_create(type, sp, o->data, o->len, o->acl, o->nacl, o->mode, o->ttl, &body);
            break;
        case ZOO_DELETE_OP: {
            zkp_DeleteRequest req = {sp, o->version};
            jute_encode(&zkp_DeleteRequest_rec, &req, &body);
            break;
        }
        case ZOO_SETDATA_OP: {
            jute_buf_t d = {(uint8_t *)o->data, (o->data && o->len >= 0) ? o->len : -1};
            zkp_SetDataRequest req = {sp, d, o->version};
            jute_encode(&zkp_SetDataRequest_rec, &req, &body);
            break;
        }
        case ZOO_CHECK_OP: {
            zkp_CheckVersionRequest req = {sp, o->version};
            jute_encode(&zkp_CheckVersionRequest_rec, &req, &body);
            break;
        }
        default:
            rc = ZBADARGUMENTS;
            break;
        }
        free(sp);
        if (rc) {
            buf_free(&body);
            return rc;
        }
    }
    zkp_MultiHeader end = {-1, true, -1};
    jute_encode(&zkp_MultiHeader_rec, &end, &body);
    zkc_req_t *r = req_new(ZOO_MULTI_OP, NULL, cb, ctx);
    r->body = body;
    submit(zk, r);
    return ZOK;
}
