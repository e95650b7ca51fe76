/* server.c — ZooKeeper client connections: framing, the session handshake, request
 * dispatch, and replies in request order.
 *
 * Each connection keeps its requests in a FIFO until they are answered. A read is
 * executed at once when nothing is ahead of it; otherwise it waits until the writes
 * before it from the same session have been applied, so a session always reads its
 * own writes and replies leave in request order. Watch notifications are written as
 * soon as they fire, which puts them before the reply of the write that caused them.
 *
 * Hostile input: a frame length that is negative or above jute.maxbuffer closes that
 * connection before anything is allocated; a malformed body gets MARSHALLINGERROR. */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"
#include "coord/coord_int.h"
#include "coord/zreq.h"

#define SUB "server"
#define MAX_QUEUED_PER_CONN 10000
/* A connection that has not completed the handshake by then is closed (ZooKeeper's
 * zookeeper.nio.sessionlessCnxnTimeout): half-open connections must not pile up. */
#define SESSIONLESS_TIMEOUT_MS 10000

static void conn_flush(conn_t *conn);

/* ---- replies ---- */

static void put_reply(buf_t *out, int32_t xid, int64_t zxid, int32_t err, const void *body, size_t len)
{
    size_t f = zkp_frame_begin(out);
    zkp_ReplyHeader h = {xid, zxid, err};
    jute_encode(&zkp_ReplyHeader_rec, &h, out);
    if (len)
        buf_put(out, body, len);
    zkp_frame_end(out, f);
}

static void conn_send(conn_t *conn, const void *p, size_t n)
{
    if (conn->state == CONN_CLOSING && !conn->bev)
        return;
    bufferevent_write(conn->bev, p, n);
    conn->sent++;
    conn->coord->packets_sent++;
}

void coord_record_latency(coord_t *c, conn_t *conn, int64_t us)
{
    if (us < 0)
        us = 0;
    if (c->lat_n == 0 || us < c->lat_min_us)
        c->lat_min_us = us;
    if (us > c->lat_max_us)
        c->lat_max_us = us;
    c->lat_sum_us += us;
    c->lat_n++;
    if (conn) {
        if (conn->lat_n == 0 || us < conn->lat_min_us)
            conn->lat_min_us = us;
        if (us > conn->lat_max_us)
            conn->lat_max_us = us;
        conn->lat_sum_us += us;
        conn->lat_n++;
        conn->last_resp_ms = clock_wall_ms();
    }
}

static req_t *req_append(conn_t *conn, req_state_t st, int32_t xid, int32_t op)
{
    req_t *r = xcalloc(1, sizeof *r);
    r->state = st;
    r->xid = xid;
    r->op = op;
    r->start_us = clock_mono_us();
    if (conn->tail)
        conn->tail->next = r;
    else
        conn->head = r;
    conn->tail = r;
    conn->nqueued++;
    return r;
}

static void req_free(req_t *r)
{
    zreq_body_free(&r->req);
    buf_free(&r->reply);
    free(r);
}

/* ---- reads ---- */

/* Executes a read (or a local watch operation) now and stores the framed reply in r. */
static void execute_read(conn_t *conn, req_t *r)
{
    coord_t *c = conn->coord;
    session_t *s = conn->sess;
    buf_t body = BUF_INIT;
    int32_t err = 0;
    int64_t zxid = coord_last_zxid(c);
    switch (r->op) {
    case ZOO_PING_OP:
        break;
    case ZOO_SETWATCHES_OP:
    case ZOO_SETWATCHES2_OP: {
        zkp_SetWatches2 sw2;
        memset(&sw2, 0, sizeof sw2);
        const zkp_SetWatches2 *sw = r->req.body;
        if (r->op == ZOO_SETWATCHES_OP) {
            const zkp_SetWatches *w1 = r->req.body;
            sw2.relativeZxid = w1->relativeZxid;
            sw2.dataWatches = w1->dataWatches;
            sw2.existWatches = w1->existWatches;
            sw2.childWatches = w1->childWatches;
            sw = &sw2;
        }
        watch_set_watches(c->watches, c->dt, s->id, sw, coord_notify, c);
        break;
    }
    case ZOO_ADDWATCH_OP: {
        const zkp_AddWatchRequest *aw = r->req.body;
        if (aw->mode != ZK_ADDWATCH_PERSISTENT && aw->mode != ZK_ADDWATCH_PERSISTENT_RECURSIVE)
            err = ZBADARGUMENTS;
        else
            watch_add(c->watches, aw->path,
                      aw->mode == ZK_ADDWATCH_PERSISTENT ? WATCH_PERSISTENT : WATCH_PERSISTENT_RECURSIVE, s->id);
        if (!err)
            jute_put_int(&body, 0);   /* 3.8 answers addWatch with an ErrorResponse(0) body */
        break;
    }
    case ZOO_REMOVEWATCHES_OP:
    case ZOO_CHECKWATCHES_OP: {
        const zkp_RemoveWatchesRequest *rw = r->req.body;
        err = watch_remove(c->watches, s->id, rw->path, rw->type, r->op == ZOO_REMOVEWATCHES_OP, coord_notify, c);
        break;
    }
    default: {
        zread_watch_t w = {0, NULL, 0};
        err = zread_execute_ex(c->dt, s->id, &s->auth, r->op, r->req.body, r->req.saw_nul, &body, &w);
        if (w.kind) {
            const char *path = ((const zkp_PathWatchRequest *)r->req.body)->path;
            watch_add(c->watches, path, (enum watch_kind)w.kind, s->id);
        }
        for (size_t i = 0; i < w.n; i++)
            watch_add(c->watches, w.items[i].path, (enum watch_kind)w.items[i].kind, s->id);
        zread_watch_free(&w);
        break;
    }
    }
    if (err)
        body.len = 0;
    put_reply(&r->reply, r->xid, zxid, err, body.data, body.len);
    buf_free(&body);
    r->state = REQ_DONE;
    conn->last_zxid = zxid;
}

/* ---- writes ---- */

/* Hands a write to the leader (here or via forwarding). body/len are the request bytes
 * after the RequestHeader, as received: the leader decodes and preps them (a body that
 * does not decode becomes an error txn, taking a zxid, as in ZooKeeper). */
static void submit_write(conn_t *conn, int32_t xid, int32_t op, const uint8_t *body, size_t len)
{
    coord_t *c = conn->coord;
    session_t *s = conn->sess;
    req_t *r = req_append(conn, REQ_PENDING_WRITE, xid, op);
    r->close_after = op == ZOO_CLOSE_OP;
    fwd_t f = {.kind = FWD_WRITE, .session_id = s->id, .cxid = xid, .op = op, .auth = s->auth};
    f.body.data = (uint8_t *)body;
    f.body.len = (int32_t)len;
    int err = coord_submit(c, &f);
    if (err == ZCONNECTIONLOSS) {
        /* No leader to take it (election under way): as a ZooKeeper server that has lost its
         * leader, drop the client, which retries elsewhere with its session. */
        LOG_D(SUB, "no leader for a write of %s:%d: closing the connection", conn->ip, conn->port);
        conn_flush(conn);
        conn_close(conn);
        return;
    }
    if (err) {
        put_reply(&r->reply, xid, coord_last_zxid(c), err, NULL, 0);
        r->state = REQ_DONE;
        r->close_after = false;
        if (op == ZOO_CLOSE_OP && s)
            s->closing = false;
    }
}

void conn_write_applied(conn_t *conn, int32_t cxid, int64_t zxid, int32_t err, const buf_t *body)
{
    for (req_t *r = conn->head; r; r = r->next) {
        if (r->state != REQ_PENDING_WRITE)
            continue;
        if (r->xid != cxid) {
            /* not this connection's: a txn of the session sent through another connection */
            LOG_D(SUB, "txn 0x%" PRIx64 " (cxid %d) is not the pending write %d of %s:%d", (uint64_t)zxid, cxid,
                  r->xid, conn->ip, conn->port);
            return;
        }
        put_reply(&r->reply, r->xid, zxid, err, err && r->op != ZOO_MULTI_OP ? NULL : body->data,
                  err && r->op != ZOO_MULTI_OP ? 0 : body->len);
        r->state = REQ_DONE;
        conn->last_zxid = zxid;
        break;
    }
    conn_flush(conn);
}

void conn_write_failed(conn_t *conn, int32_t cxid, int32_t err)
{
    if (err == ZCONNECTIONLOSS) {   /* the leader could not take it: see submit_write */
        conn_flush(conn);
        conn_close(conn);
        return;
    }
    for (req_t *r = conn->head; r; r = r->next) {
        if (r->state == REQ_PENDING_WRITE && r->xid == cxid) {
            put_reply(&r->reply, r->xid, coord_last_zxid(conn->coord), err, NULL, 0);
            r->state = REQ_DONE;
            if (r->close_after && conn->sess)
                conn->sess->closing = false;
            r->close_after = false;
            break;
        }
    }
    conn_flush(conn);
}

/* ---- sync ---- */

void coord_sync_target(coord_t *c, int64_t sync_id, int64_t zxid)
{
    for (conn_t *conn = c->conns; conn; conn = conn->next) {
        for (req_t *r = conn->head; r; r = r->next) {
            if (r->state == REQ_PENDING_SYNC && r->sync_id == sync_id) {
                r->zxid = zxid;
                conn_flush(conn);
                return;
            }
        }
    }
}

void coord_server_syncs_applied(coord_t *c)
{
    if (!c->npending_syncs)
        return;
    for (conn_t *conn = c->conns; conn; conn = conn->next)
        if (conn->head && conn->head->state == REQ_PENDING_SYNC)
            conn_flush(conn);
}

/* Sends every finished reply at the head of the FIFO; runs queued reads that reach the head. */
static void conn_flush(conn_t *conn)
{
    coord_t *c = conn->coord;
    while (conn->head) {
        req_t *r = conn->head;
        if (r->state == REQ_PENDING_SYNC) {
            /* sync: once everything the leader had proposed before it is applied here */
            if (!conn->sess || r->zxid < 0 || coord_last_zxid(c) < r->zxid)
                break;
            c->npending_syncs--;
            execute_read(conn, r);
        }
        if (r->state == REQ_QUEUED_READ) {
            if (!conn->sess)
                break;
            execute_read(conn, r);
        }
        if (r->state != REQ_DONE)
            break;
        conn->head = r->next;
        if (!conn->head)
            conn->tail = NULL;
        conn->nqueued--;
        if (r->reply.len)
            conn_send(conn, r->reply.data, r->reply.len);
        if (r->op != ZOO_PING_OP)
            coord_record_latency(c, conn, clock_mono_us() - r->start_us);
        bool close_after = r->close_after;
        req_free(r);
        if (close_after) {
            conn_close(conn);
            return;
        }
    }
    if (conn->read_paused && conn->nqueued < MAX_QUEUED_PER_CONN / 2) {
        conn->read_paused = false;
        bufferevent_enable(conn->bev, EV_READ);
    }
}

/* ---- the handshake ---- */

static void send_connect_response(conn_t *conn, int32_t timeout, int64_t sid, const uint8_t *passwd)
{
    buf_t out = BUF_INIT;
    size_t f = zkp_frame_begin(&out);
    uint8_t zero[16] = {0};
    zkp_ConnectResponse resp = {0, timeout, sid, {(uint8_t *)(passwd ? passwd : zero), 16}, false};
    zkp_connect_resp_encode(&resp, conn->had_readonly, &out);
    zkp_frame_end(&out, f);
    conn_send(conn, out.data, out.len);
    buf_free(&out);
}

static void on_read(struct bufferevent *bev, void *arg);

void conn_session_established(conn_t *conn)
{
    session_t *s = conn->sess;
    uint8_t pw[16];
    coord_session_password(s->id, pw);
    send_connect_response(conn, s->timeout, s->id, pw);
    bool was_waiting = conn->state == CONN_CONNECTING;
    conn->state = CONN_CONNECTED;
    LOG_D(SUB, "session 0x%" PRIx64 " established for %s:%d, timeout %d", (uint64_t)s->id, conn->ip, conn->port,
          s->timeout);
    /* Requests a client pipelined behind its ConnectRequest waited in the input buffer. */
    if (was_waiting && conn->bev && evbuffer_get_length(bufferevent_get_input(conn->bev)) > 0)
        on_read(conn->bev, conn);
}

static void refuse_session(conn_t *conn)
{
    send_connect_response(conn, 0, 0, NULL);
    conn_close(conn);
}

static int handle_connect(conn_t *conn, const uint8_t *p, size_t n)
{
    coord_t *c = conn->coord;
    jute_rd_t jr;
    jute_rd_init(&jr, p, n);
    zkp_ConnectRequest req;
    if (zkp_connect_req_decode(&req, &jr)) {
        LOG_W(SUB, "malformed ConnectRequest from %s:%d; closing", conn->ip, conn->port);
        return -1;
    }
    conn->had_readonly = req.hasReadOnly;
    if (!coord_serving(c)) {
        /* As ZooKeeper when it is not running: close; the client tries another server. */
        LOG_D(SUB, "not serving: closing the connection from %s:%d", conn->ip, conn->port);
        free(req.passwd.data);
        return -1;
    }
    int64_t last = coord_last_zxid(c);
    if (req.lastZxidSeen > last) {
        LOG_W(SUB, "Refusing session request for client %s:%d as it has seen zxid 0x%" PRIx64
                   " our last zxid is 0x%" PRIx64 "; client must try another server",
              conn->ip, conn->port, (uint64_t)req.lastZxidSeen, (uint64_t)last);
        free(req.passwd.data);
        return -1;
    }
    int32_t timeout = req.timeOut;
    if (timeout < c->cfg->min_session_timeout)
        timeout = c->cfg->min_session_timeout;
    if (timeout > c->cfg->max_session_timeout)
        timeout = c->cfg->max_session_timeout;

    if (req.sessionId != 0) {
        session_t *s = hmap_get64(&c->sessions, (uint64_t)req.sessionId);
        /* As ZooKeeper: a reconnect first drops the connection that holds the session,
         * whether or not the password then checks out. */
        if (s && s->conn && s->conn != conn) {
            conn_t *old = s->conn;
            old->sess = NULL;
            s->conn = NULL;
            conn_close(old);
        }
        uint8_t pw[16];
        coord_session_password(req.sessionId, pw);
        bool ok = s && s->committed && !s->closing && req.passwd.len == 16 && !memcmp(pw, req.passwd.data, 16);
        free(req.passwd.data);
        if (!ok) {
            LOG_I(SUB, "Invalid session 0x%" PRIx64 " for client %s:%d, probably expired", (uint64_t)req.sessionId,
                  conn->ip, conn->port);
            refuse_session(conn);
            return 1;
        }
        s->conn = conn;
        s->timeout = timeout;
        conn->sess = s;
        /* the session's identities are per connection in ZooKeeper: ip of the new one */
        acl_auth_free(&s->auth);
        acl_auth_init(&s->auth, conn->ip);
        coord_session_touch(c, s);
        coord_session_attached(c, s);
        conn_session_established(conn);
        return 0;
    }
    free(req.passwd.data);
    int64_t sid = c->next_session_id++;
    session_t *s = coord_session_new(c, sid, timeout, conn->ip);
    s->conn = conn;
    conn->sess = s;
    conn->state = CONN_CONNECTING;
    /* answered when the createSession txn is applied here */
    fwd_t f = {.kind = FWD_CREATE_SESSION, .session_id = sid, .timeout = timeout, .auth = s->auth};
    if (coord_submit(c, &f)) {
        conn->sess = NULL;
        s->conn = NULL;
        hmap_del64(&c->sessions, (uint64_t)sid);
        acl_auth_free(&s->auth);
        free(s);
        return -1;
    }
    return 0;
}

/* ---- request dispatch ---- */

static void reply_now(conn_t *conn, int32_t xid, int32_t err)
{
    req_t *r = req_append(conn, REQ_DONE, xid, -100);
    put_reply(&r->reply, xid, coord_last_zxid(conn->coord), err, NULL, 0);
    conn_flush(conn);
}

static int handle_auth(conn_t *conn, const uint8_t *p, size_t n)
{
    jute_rd_t jr;
    jute_rd_init(&jr, p, n);
    zkp_AuthPacket ap;
    if (jute_decode(&zkp_AuthPacket_rec, &ap, &jr))
        return -1;
    int err = acl_add_auth(&conn->sess->auth, ap.scheme ? ap.scheme : "", ap.auth.data, ap.auth.len,
                           conn->coord->cfg->super_digest);
    jute_free(&zkp_AuthPacket_rec, &ap);
    req_t *r = req_append(conn, REQ_DONE, ZK_XID_AUTH, ZOO_SETAUTH_OP);
    put_reply(&r->reply, ZK_XID_AUTH, 0, err ? ZAUTHFAILED : 0, NULL, 0);
    if (err) {
        LOG_W(SUB, "authentication failed for %s:%d", conn->ip, conn->port);
        r->close_after = true;
    }
    conn_flush(conn);
    return 0;
}

static int handle_request(conn_t *conn, const uint8_t *p, size_t n)
{
    coord_t *c = conn->coord;
    jute_rd_t jr;
    jute_rd_init(&jr, p, n);
    zkp_RequestHeader h;
    if (jute_decode(&zkp_RequestHeader_rec, &h, &jr))
        return -1;
    conn->recved++;
    c->packets_received++;
    conn->last_op = h.type;
    conn->last_cxid = h.xid;
    coord_session_touch(c, conn->sess);
    if (conn->sess->closing)
        return 0;   /* the session is going away; ZooKeeper ignores further requests */

    if (h.type == ZOO_SETAUTH_OP)
        return handle_auth(conn, p + jr.r.pos, n - jr.r.pos);
    if (h.type == ZOO_SASL_OP) {
        reply_now(conn, h.xid, ZUNIMPLEMENTED);
        return 0;
    }
    if (h.type == ZOO_CLOSE_OP) {
        conn->sess->closing = true;
        submit_write(conn, h.xid, ZOO_CLOSE_OP, NULL, 0);
        conn_flush(conn);
        return 0;
    }
    if (h.type == ZOO_SYNC_OP) {
        zreq_body_t body;
        int err = zreq_decode(h.type, &jr, &body);
        if (err) {
            reply_now(conn, h.xid, err);
            return 0;
        }
        req_t *r = req_append(conn, REQ_PENDING_SYNC, h.xid, h.type);
        r->req = body;
        r->zxid = -1;
        r->sync_id = ++c->next_sync_id;
        c->npending_syncs++;
        fwd_t f = {.kind = FWD_SYNC, .session_id = conn->sess->id, .sync_id = r->sync_id};
        err = coord_submit(c, &f);
        if (err) {
            c->npending_syncs--;
            zreq_body_free(&r->req);
            put_reply(&r->reply, h.xid, coord_last_zxid(c), err, NULL, 0);
            r->state = REQ_DONE;
        }
        conn_flush(conn);
        return 0;
    }
    if (h.type == ZOO_CREATESESSION_OP) {
        reply_now(conn, h.xid, ZMARSHALLINGERROR);   /* only valid as the handshake */
        return 0;
    }
    if (h.type == ZOO_RECONFIG_OP) {
        reply_now(conn, h.xid, ZRECONFIGDISABLED);
        return 0;
    }

    enum zreq_class cls = zreq_classify(h.type);
    if (cls != ZREQ_READ && cls != ZREQ_WRITE) {
        LOG_W(SUB, "unknown request type %d from %s:%d; closing", h.type, conn->ip, conn->port);
        req_t *r = req_append(conn, REQ_DONE, h.xid, h.type);
        put_reply(&r->reply, h.xid, coord_last_zxid(c), ZUNIMPLEMENTED, NULL, 0);
        r->close_after = true;
        conn_flush(conn);
        return 0;
    }
    if (cls == ZREQ_READ) {
        zreq_body_t body;
        int err = zreq_decode(h.type, &jr, &body);
        if (err) {
            reply_now(conn, h.xid, err);
            return 0;
        }
        req_t *r = req_append(conn, REQ_QUEUED_READ, h.xid, h.type);
        r->req = body;   /* executed when it reaches the head of the queue */
    } else {
        submit_write(conn, h.xid, h.type, p + jr.r.pos, n - jr.r.pos);
    }
    conn_flush(conn);
    return 0;
}

/* ---- connection I/O ---- */

static void on_read(struct bufferevent *bev, void *arg)
{
    conn_t *conn = arg;
    coord_t *c = conn->coord;
    struct evbuffer *in = bufferevent_get_input(bev);
    while (conn->state != CONN_CLOSING) {
        size_t avail = evbuffer_get_length(in);
        if (avail < 4)
            return;
        uint8_t hdr[4];
        evbuffer_copyout(in, hdr, 4);
        if (conn->state == CONN_NEW && fourlw_is_command(hdr)) {
            char cmd[5];
            memcpy(cmd, hdr, 4);
            cmd[4] = '\0';
            if (!strcmp(cmd, "stmk") && avail < 12) {
                conn_close(conn);   /* stmk carries an 8-byte mask; without it ZooKeeper just closes */
                return;
            }
            evbuffer_drain(in, avail);
            buf_t out = BUF_INIT;
            fourlw_execute(c, conn, cmd, &out);
            bufferevent_write(bev, out.data, out.len);
            buf_free(&out);
            conn_close(conn);
            return;
        }
        int32_t len = (int32_t)be32_get(hdr);
        if (len < 0 || len > c->cfg->jute_maxbuffer) {
            LOG_W(SUB, "Len error %d from %s:%d (jute.maxbuffer is %d); closing the connection", len, conn->ip,
                  conn->port, c->cfg->jute_maxbuffer);
            conn_close(conn);
            return;
        }
        if (avail < (size_t)len + 4)
            return;
        if (conn->state == CONN_CONNECTING)
            return;   /* wait for the session to be committed before reading further */
        const uint8_t *frame = evbuffer_pullup(in, (ssize_t)len + 4) + 4;
        int rc;
        if (conn->state == CONN_NEW)
            rc = handle_connect(conn, frame, (size_t)len);
        else
            rc = handle_request(conn, frame, (size_t)len);
        if (rc < 0) {
            conn_close(conn);
            return;
        }
        if (conn->state == CONN_CLOSING || !conn->bev)
            return;
        evbuffer_drain(in, (size_t)len + 4);
        if (conn->nqueued >= MAX_QUEUED_PER_CONN && !conn->read_paused) {
            conn->read_paused = true;
            bufferevent_disable(bev, EV_READ);
            return;
        }
    }
}

static void conn_free(conn_t *conn)
{
    coord_t *c = conn->coord;
    while (conn->head) {
        req_t *r = conn->head;
        conn->head = r->next;
        if (r->state == REQ_PENDING_SYNC)
            c->npending_syncs--;
        req_free(r);
    }
    if (conn->prev)
        conn->prev->next = conn->next;
    else
        c->conns = conn->next;
    if (conn->next)
        conn->next->prev = conn->prev;
    c->nconns--;
    intptr_t cnt = (intptr_t)hmap_gets(&c->conns_per_ip, conn->ip);
    if (cnt <= 1)
        hmap_dels(&c->conns_per_ip, conn->ip);
    else
        hmap_puts(&c->conns_per_ip, conn->ip, (void *)(cnt - 1));
    free(conn);
}

/* Connections are never freed inside a callback that may still use them: closing
 * releases the socket, and coord_server_reap frees the struct at the end of the
 * loop turn (as Redis's freeClientAsync). */
static void conn_release_bev(conn_t *conn)
{
    if (conn->bev) {
        /* FIN first, as ZooKeeper's closeSock does: the peer reads a clean end of stream
         * even if it had sent more than we read. */
        shutdown(bufferevent_getfd(conn->bev), SHUT_WR);
        bufferevent_free(conn->bev);
        conn->bev = NULL;
        conn->coord->nclosed++;
    }
}

void coord_server_reap(coord_t *c)
{
    if (!c->nclosed)
        return;
    conn_t *conn = c->conns;
    while (conn) {
        conn_t *next = conn->next;
        if (conn->state == CONN_CLOSING && !conn->bev)
            conn_free(conn);
        conn = next;
    }
    c->nclosed = 0;
}

void coord_server_flush(coord_t *c)
{
    for (conn_t *conn = c->conns; conn; conn = conn->next) {
        /* a closing connection waits for its write callback (on_write_done), which
         * only runs when that callback itself drains the output: leave it alone */
        if (conn->state == CONN_CLOSING || !conn->bev)
            continue;
        struct evbuffer *out = bufferevent_get_output(conn->bev);
        if (!evbuffer_get_length(out))
            continue;
        /* as peer_net_flush: the socket bufferevent keeps the start of its output frozen */
        evbuffer_unfreeze(out, 1);
        evbuffer_write(out, bufferevent_getfd(conn->bev));
        evbuffer_freeze(out, 1);
    }
}

static void on_write_done(struct bufferevent *bev, void *arg)
{
    conn_t *conn = arg;
    if (conn->state == CONN_CLOSING && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        conn_release_bev(conn);
}

static void detach_session(conn_t *conn)
{
    if (conn->sess && conn->sess->conn == conn) {
        conn->sess->conn = NULL;   /* the session lives on until it expires or is closed */
        /* Watches belong to the connection, as in ZooKeeper: a client that reconnects
         * registers them again with setWatches. */
        watch_remove_session(conn->coord->watches, conn->sess->id);
    }
    conn->sess = NULL;
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    conn_t *conn = arg;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        detach_session(conn);
        conn->state = CONN_CLOSING;
        conn_release_bev(conn);
    }
}

void conn_close(conn_t *conn)
{
    detach_session(conn);
    conn->state = CONN_CLOSING;
    if (!conn->bev)
        return;
    bufferevent_disable(conn->bev, EV_READ);
    /* Let queued output (a final reply) drain first. */
    if (evbuffer_get_length(bufferevent_get_output(conn->bev)) == 0)
        conn_release_bev(conn);
    else
        bufferevent_setcb(conn->bev, NULL, on_write_done, on_event, conn);
}

void coord_notify(void *ctx, int64_t session_id, int32_t type, const char *path)
{
    coord_t *c = ctx;
    session_t *s = hmap_get64(&c->sessions, (uint64_t)session_id);
    if (!s || !s->conn || s->conn->state != CONN_CONNECTED)
        return;
    buf_t out = BUF_INIT;
    size_t f = zkp_frame_begin(&out);
    zkp_ReplyHeader h = {ZK_XID_WATCH_EVENT, -1, 0};
    jute_encode(&zkp_ReplyHeader_rec, &h, &out);
    zkp_WatcherEvent ev = {type, ZK_STATE_SYNC_CONNECTED, (char *)path};
    jute_encode(&zkp_WatcherEvent_rec, &ev, &out);
    zkp_frame_end(&out, f);
    conn_send(s->conn, out.data, out.len);
    buf_free(&out);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
    coord_t *c = arg;
    char ip[64] = "?";
    int port = 0;
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
        port = ntohs(in6->sin6_port);
        if (!strncmp(ip, "::ffff:", 7))
            memmove(ip, ip + 7, strlen(ip + 7) + 1);
    }
    intptr_t cnt = (intptr_t)hmap_gets(&c->conns_per_ip, ip);
    if (c->cfg->max_client_cnxns > 0 && cnt >= c->cfg->max_client_cnxns) {
        LOG_W(SUB, "Too many connections from %s - max is %d", ip, c->cfg->max_client_cnxns);
        evutil_closesocket(fd);
        return;
    }
    hmap_puts(&c->conns_per_ip, ip, (void *)(cnt + 1));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    conn_t *conn = xcalloc(1, sizeof *conn);
    conn->coord = c;
    snprintf(conn->ip, sizeof conn->ip, "%s", ip);
    conn->port = port;
    conn->established_ms = clock_wall_ms();
    conn->accepted_mono_ms = clock_mono_ms();
    conn->bev = bufferevent_socket_new(c->base, fd, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(conn->bev, on_read, NULL, on_event, conn);
    bufferevent_enable(conn->bev, EV_READ | EV_WRITE);
    conn->next = c->conns;
    if (c->conns)
        c->conns->prev = conn;
    c->conns = conn;
    c->nconns++;
}

int coord_server_listen(coord_t *c, char *err, size_t errlen)
{
    const char *addr = c->cfg->client_port_address;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sl;
    if (addr && strchr(addr, ':')) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)c->cfg->client_port);
        if (inet_pton(AF_INET6, addr, &in6->sin6_addr) != 1)
            goto badaddr;
        sl = sizeof *in6;
    } else if (addr) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)c->cfg->client_port);
        if (!strcmp(addr, "localhost"))
            addr = "127.0.0.1";
        if (inet_pton(AF_INET, addr, &in->sin_addr) != 1)
            goto badaddr;
        sl = sizeof *in;
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)c->cfg->client_port);
        in6->sin6_addr = in6addr_any;
        sl = sizeof *in6;
    }
    c->listener = evconnlistener_new_bind(c->base, on_accept, c, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 1024,
                                          (struct sockaddr *)&ss, (int)sl);
    if (!c->listener && !addr) {
        /* no IPv6 on this host: fall back to IPv4 any */
        struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons((uint16_t)c->cfg->client_port)};
        in.sin_addr.s_addr = htonl(INADDR_ANY);
        c->listener = evconnlistener_new_bind(c->base, on_accept, c, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
                                              1024, (struct sockaddr *)&in, sizeof in);
    }
    if (!c->listener) {
        snprintf(err, errlen, "cannot listen on %s:%d (clientPort): %s", addr ? addr : "0.0.0.0",
                 c->cfg->client_port, strerror(errno));
        return -1;
    }
    return 0;
badaddr:
    snprintf(err, errlen, "invalid value for clientPortAddress: '%s' (an IP address)", addr);
    return -1;
}

void coord_server_close_idle(coord_t *c, int64_t now_mono_ms)
{
    for (conn_t *conn = c->conns; conn; conn = conn->next) {
        if (conn->state == CONN_NEW && now_mono_ms - conn->accepted_mono_ms >= SESSIONLESS_TIMEOUT_MS) {
            LOG_D(SUB, "closing %s:%d: no session after %d ms", conn->ip, conn->port, SESSIONLESS_TIMEOUT_MS);
            conn_close(conn);
        }
    }
}

void coord_server_drop_clients(coord_t *c, const char *why)
{
    int n = 0;
    for (conn_t *conn = c->conns; conn; conn = conn->next) {
        if (conn->state == CONN_CONNECTING || conn->state == CONN_CONNECTED) {
            conn_close(conn);
            n++;
        }
    }
    if (n)
        LOG_I(SUB, "closed %d client connection%s: %s", n, n == 1 ? "" : "s", why);
}

void coord_server_close_all(coord_t *c)
{
    if (c->listener) {
        evconnlistener_free(c->listener);
        c->listener = NULL;
    }
    while (c->conns) {
        conn_t *conn = c->conns;
        detach_session(conn);
        if (conn->bev) {
            bufferevent_free(conn->bev);
            conn->bev = NULL;
        }
        conn_free(conn);
    }
}
