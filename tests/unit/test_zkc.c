/* Unit tests: the ZooKeeper client (coord/zkc*.c).
 *
 * Pure parts (path validation, connect strings, the watch table) are tested
 * directly. The protocol is tested against a scripted fake server living on the
 * same event loop (a listener on 127.0.0.1, port chosen by the kernel): it
 * records every frame the client sends and the test decides what to answer, so
 * encoding, FIFO reply matching, watch-before-reply ordering, reconnects with
 * SetWatches, expiry, pings and read timeouts are all checked byte for byte.
 * No sleeps: tests run the loop until a condition holds (with a deadline). */
#include <arpa/inet.h>
#include <check.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"
#include "coord/zkc.h"
#include "coord/zkc_int.h"

/* ---- pure helpers ---- */

START_TEST(validate_path_messages)
{
    char why[256];
    ck_assert_int_eq(zkc_validate_path("/", why, sizeof why), ZOK);
    ck_assert_int_eq(zkc_validate_path("/a/b-c_d.e", why, sizeof why), ZOK);
    ck_assert_int_eq(zkc_validate_path("a", why, sizeof why), ZBADARGUMENTS);
    ck_assert_str_eq(why, "Path must start with / character");
    ck_assert_int_eq(zkc_validate_path("", why, sizeof why), ZBADARGUMENTS);
    ck_assert_str_eq(why, "Path length must be > 0");
    ck_assert_int_eq(zkc_validate_path("/a/", why, sizeof why), ZBADARGUMENTS);
    ck_assert_str_eq(why, "Path must not end with / character");
    ck_assert_int_eq(zkc_validate_path("/a//b", why, sizeof why), ZBADARGUMENTS);
    ck_assert_str_eq(why, "Invalid path string \"/a//b\" caused by empty node name specified @3");
    ck_assert_int_eq(zkc_validate_path("/a/../b", why, sizeof why), ZBADARGUMENTS);
    ck_assert_str_eq(why, "Invalid path string \"/a/../b\" caused by relative paths not allowed @4");
    ck_assert_int_eq(zkc_validate_path("/.", why, sizeof why), ZBADARGUMENTS);
    ck_assert_str_eq(why, "Invalid path string \"/.\" caused by relative paths not allowed @1");
    ck_assert_int_eq(zkc_validate_path("/a..b/.c", why, sizeof why), ZOK);
    ck_assert_int_eq(zkc_validate_path("/a\tb", why, sizeof why), ZBADARGUMENTS);
    ck_assert_str_eq(why, "Invalid path string \"/a\tb\" caused by invalid character @2");
    /* U+00E9 is fine; a supplementary character is a surrogate pair in Java */
    ck_assert_int_eq(zkc_validate_path("/caf\xC3\xA9", why, sizeof why), ZOK);
    ck_assert_int_eq(zkc_validate_path("/x\xF0\x9F\x98\x80", why, sizeof why), ZBADARGUMENTS);
    ck_assert_int_eq(zkc_validate_path("/\xC3\xA9\x7f", why, sizeof why), ZBADARGUMENTS);
    ck_assert_str_eq(why, "Invalid path string \"/\xC3\xA9\x7f\" caused by invalid character @2");
}
END_TEST

START_TEST(chroot_prepend_strip)
{
    char *p = zkc_path_prepend("/app", "/");
    ck_assert_str_eq(p, "/app");
    free(p);
    p = zkc_path_prepend("/app", "/x/y");
    ck_assert_str_eq(p, "/app/x/y");
    free(p);
    p = zkc_path_prepend(NULL, "/x");
    ck_assert_str_eq(p, "/x");
    free(p);
    ck_assert_str_eq(zkc_path_strip("/app", "/app"), "/");
    ck_assert_str_eq(zkc_path_strip("/app", "/app/x"), "/x");
    ck_assert_str_eq(zkc_path_strip("/app", "/other"), "/other");
    ck_assert_str_eq(zkc_path_strip(NULL, "/app/x"), "/app/x");
}
END_TEST

START_TEST(connect_string_parsing)
{
    zkc_hostport_t *h;
    int n;
    char *chroot;
    char why[128];
    ck_assert_int_eq(zkc_connstr_parse("a:1,b,[::1]:3/kafka/x", &h, &n, &chroot, why, sizeof why), ZOK);
    ck_assert_int_eq(n, 3);
    ck_assert_str_eq(h[0].host, "a");
    ck_assert_int_eq(h[0].port, 1);
    ck_assert_str_eq(h[1].host, "b");
    ck_assert_int_eq(h[1].port, 2181);
    ck_assert_str_eq(h[2].host, "::1");
    ck_assert_int_eq(h[2].port, 3);
    ck_assert_str_eq(chroot, "/kafka/x");
    zkc_hostports_free(h, n);
    free(chroot);
    ck_assert_int_eq(zkc_connstr_parse("h:9/", &h, &n, &chroot, why, sizeof why), ZOK);
    ck_assert_ptr_null(chroot);
    zkc_hostports_free(h, n);
    ck_assert_int_eq(zkc_connstr_parse("h:9/bad/", &h, &n, &chroot, why, sizeof why), ZBADARGUMENTS);
    ck_assert_int_eq(zkc_connstr_parse("h:99999", &h, &n, &chroot, why, sizeof why), ZBADARGUMENTS);
    ck_assert_int_eq(zkc_connstr_parse("", &h, &n, &chroot, why, sizeof why), ZBADARGUMENTS);
    ck_assert_int_eq(zkc_connstr_parse(",,", &h, &n, &chroot, why, sizeof why), ZBADARGUMENTS);
}
END_TEST

static void dummy_w1(zkc_t *zk, const zkc_event_t *ev, void *ctx) { (void)zk, (void)ev, (void)ctx; }
static void dummy_w2(zkc_t *zk, const zkc_event_t *ev, void *ctx) { (void)zk, (void)ev, (void)ctx; }

START_TEST(watch_table_semantics)
{
    zkc_watches_t w;
    zkc_watches_init(&w);
    int a, b;
    zkc_watches_add(&w, ZKC_W_DATA, "/x", dummy_w1, &a);
    zkc_watches_add(&w, ZKC_W_DATA, "/x", dummy_w1, &a);   /* same pair: once */
    zkc_watches_add(&w, ZKC_W_EXIST, "/x", dummy_w1, &a);  /* dedup across maps on delivery */
    zkc_watches_add(&w, ZKC_W_CHILD, "/x", dummy_w2, &b);
    zkc_watches_add(&w, ZKC_W_RECURSIVE, "/", dummy_w2, &a);
    zkc_watches_add(&w, ZKC_W_PERSISTENT, "/x/y", dummy_w1, &b);

    zkc_wset_t s = {0, 0, NULL};
    zkc_watches_materialize(&w, ZK_EVENT_CHANGED, "/x", &s);
    ck_assert_int_eq(s.n, 2);   /* (w1,a) once + recursive (w2,a) on "/" */
    zkc_wset_free(&s);
    /* one-shot data/exist watches are gone, the child and persistent ones stay */
    zkc_watches_materialize(&w, ZK_EVENT_CHANGED, "/x", &s);
    ck_assert_int_eq(s.n, 1);
    ck_assert_ptr_eq(s.v[0].fn, dummy_w2);
    zkc_wset_free(&s);
    zkc_watches_materialize(&w, ZK_EVENT_CREATED, "/x/y", &s);
    ck_assert_int_eq(s.n, 2);   /* persistent (w1,b) + recursive (w2,a) */
    zkc_wset_free(&s);
    zkc_watches_materialize(&w, ZK_EVENT_DELETED, "/x", &s);
    ck_assert_int_eq(s.n, 2);   /* child (w2,b) + recursive */
    zkc_wset_free(&s);
    ck_assert_uint_eq(zkc_watches_count(&w, ZKC_W_CHILD), 0);

    /* removeWatches: nothing there -> NOWATCHER; server failure reported
     * unless local; local removal fires removal events */
    zkc_wset_t out[3] = {{0, 0, NULL}, {0, 0, NULL}, {0, 0, NULL}};
    ck_assert_int_eq(zkc_watches_remove(&w, "/nope", ZK_WATCHER_ANY, false, NULL, NULL, false, ZOK, out),
                     ZNOWATCHER);
    zkc_watches_add(&w, ZKC_W_DATA, "/d", dummy_w1, &a);
    ck_assert_int_eq(zkc_watches_remove(&w, "/d", ZK_WATCHER_DATA, false, NULL, NULL, false, ZNOWATCHER, out),
                     ZNOWATCHER);
    ck_assert_int_eq(out[1].n, 0);
    ck_assert_int_eq(zkc_watches_remove(&w, "/d", ZK_WATCHER_CHILDREN, false, NULL, NULL, false, ZOK, out),
                     ZNOWATCHER);
    ck_assert_int_eq(zkc_watches_remove(&w, "/d", ZK_WATCHER_DATA, false, NULL, NULL, true, ZCONNECTIONLOSS, out),
                     ZOK);
    ck_assert_int_eq(out[1].n, 1);
    for (int i = 0; i < 3; i++)
        zkc_wset_free(&out[i]);
    ck_assert_int_eq(zkc_watches_remove(&w, "/", ZK_WATCHER_ANY, true, dummy_w2, &a, false, ZOK, out), ZOK);
    ck_assert_int_eq(out[2].n, 1);
    for (int i = 0; i < 3; i++)
        zkc_wset_free(&out[i]);

    jute_strvec_t paths = {0, NULL};
    zkc_watches_paths(&w, ZKC_W_PERSISTENT, "/root", &paths);
    ck_assert_int_eq(paths.n, 1);
    ck_assert_str_eq(paths.v[0], "/root/x/y");
    jute_strvec_free(&paths);
    zkc_watches_fini(&w);
}
END_TEST

/* ---- the scripted fake server ---- */

typedef struct frame_s {
    int conn;                 /* connection number it arrived on (1-based) */
    bool connect;             /* a ConnectRequest */
    zkp_ConnectRequest creq;
    size_t raw_len;           /* payload length */
    int32_t xid, op;
    uint8_t *body;            /* after the RequestHeader */
    size_t len;
} frame_t;

#define MAX_FRAMES 512

typedef struct fake_s {
    struct event_base *base;
    struct evconnlistener *lis;
    int port;
    struct bufferevent *conn;
    int nconns;
    frame_t frames[MAX_FRAMES];
    int nframes;
    int npings;
    bool answer_pings;
    int64_t zxid;
    int64_t last_write_ms;    /* when the server last sent anything */
} fake_t;

static void fake_read(struct bufferevent *bev, void *arg)
{
    fake_t *f = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    for (;;) {
        uint8_t lb[4];
        if (evbuffer_copyout(in, lb, 4) < 4)
            return;
        uint32_t len = be32_get(lb);
        if (evbuffer_get_length(in) < 4 + (size_t)len)
            return;
        uint8_t *p = xmalloc(len + 1);
        evbuffer_drain(in, 4);
        evbuffer_remove(in, p, len);
        ck_assert_int_lt(f->nframes, MAX_FRAMES);
        frame_t *fr = &f->frames[f->nframes];
        memset(fr, 0, sizeof *fr);
        fr->conn = f->nconns;
        fr->raw_len = len;
        bool first = true;
        for (int i = 0; i < f->nframes; i++)
            if (f->frames[i].conn == f->nconns)
                first = false;
        jute_rd_t jr;
        jute_rd_init(&jr, p, len);
        if (first) {
            fr->connect = true;
            ck_assert_int_eq(zkp_connect_req_decode(&fr->creq, &jr), 0);
            free(p);
            f->nframes++;
            continue;
        }
        fr->xid = jute_get_int(&jr);
        fr->op = jute_get_int(&jr);
        fr->len = len - 8;
        fr->body = xmemdup(p + 8, fr->len);
        free(p);
        if (fr->xid == ZK_XID_PING) {
            f->npings++;
            free(fr->body);
            if (f->answer_pings) {
                buf_t b = BUF_INIT;
                size_t st = zkp_frame_begin(&b);
                zkp_ReplyHeader h = {ZK_XID_PING, f->zxid, 0};
                jute_encode(&zkp_ReplyHeader_rec, &h, &b);
                zkp_frame_end(&b, st);
                bufferevent_write(bev, b.data, b.len);
                buf_free(&b);
                f->last_write_ms = clock_mono_ms();
            }
            continue;
        }
        f->nframes++;
    }
}

static void fake_event(struct bufferevent *bev, short what, void *arg)
{
    fake_t *f = arg;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        if (f->conn == bev) {
            bufferevent_free(bev);
            f->conn = NULL;
        }
    }
}

static void fake_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
    (void)l, (void)sa, (void)salen;
    fake_t *f = arg;
    if (f->conn)
        bufferevent_free(f->conn);
    f->conn = bufferevent_socket_new(f->base, fd, BEV_OPT_CLOSE_ON_FREE);
    f->nconns++;
    bufferevent_setcb(f->conn, fake_read, NULL, fake_event, f);
    bufferevent_enable(f->conn, EV_READ | EV_WRITE);
}

static fake_t *fake_new(struct event_base *base)
{
    fake_t *f = xcalloc(1, sizeof *f);
    f->base = base;
    f->answer_pings = true;
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = 0;
    f->lis = evconnlistener_new_bind(base, fake_accept, f, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
                                     (struct sockaddr *)&sin, sizeof sin);
    ck_assert_ptr_nonnull(f->lis);
    socklen_t sl = sizeof sin;
    getsockname(evconnlistener_get_fd(f->lis), (struct sockaddr *)&sin, &sl);
    f->port = ntohs(sin.sin_port);
    return f;
}

static void fake_free(fake_t *f)
{
    for (int i = 0; i < f->nframes; i++) {
        free(f->frames[i].body);
        free(f->frames[i].creq.passwd.data);
    }
    if (f->conn)
        bufferevent_free(f->conn);
    evconnlistener_free(f->lis);
    free(f);
}

/* drops the current connection (the client sees EOF) */
static void fake_drop(fake_t *f)
{
    if (f->conn) {
        bufferevent_free(f->conn);
        f->conn = NULL;
    }
}

static void fake_write(fake_t *f, buf_t *b)
{
    ck_assert_ptr_nonnull(f->conn);
    bufferevent_write(f->conn, b->data, b->len);
    buf_free(b);
    f->last_write_ms = clock_mono_ms();
}

static void fake_connect_resp(fake_t *f, int timeout, int64_t session, uint8_t passwd_byte)
{
    uint8_t pw[16];
    memset(pw, passwd_byte, sizeof pw);
    zkp_ConnectResponse r = {0, timeout, session, {pw, 16}, false};
    buf_t b = BUF_INIT;
    size_t st = zkp_frame_begin(&b);
    zkp_connect_resp_encode(&r, true, &b);
    zkp_frame_end(&b, st);
    fake_write(f, &b);
}

/* a reply: header + optional body record */
static void fake_reply(fake_t *f, int32_t xid, int64_t zxid, int err, const jute_rec_t *rec, const void *body)
{
    buf_t b = BUF_INIT;
    size_t st = zkp_frame_begin(&b);
    zkp_ReplyHeader h = {xid, zxid, err};
    jute_encode(&zkp_ReplyHeader_rec, &h, &b);
    if (rec)
        jute_encode(rec, body, &b);
    zkp_frame_end(&b, st);
    fake_write(f, &b);
}

static void fake_notify(fake_t *f, int type, const char *path)
{
    zkp_WatcherEvent ev = {type, ZK_STATE_SYNC_CONNECTED, (char *)path};
    fake_reply(f, ZK_XID_WATCH_EVENT, -1, 0, &zkp_WatcherEvent_rec, &ev);
}

/* Runs the loop until cond() or a 5 s deadline (fails the test). */
#define WAIT_UNTIL(base, cond)                                                   \
    do {                                                                         \
        int64_t dl_ = clock_mono_ms() + 5000;                                    \
        while (!(cond)) {                                                        \
            ck_assert_msg(clock_mono_ms() < dl_, "timed out waiting for " #cond); \
            struct timeval tv_ = {0, 20000};                                     \
            event_base_loopexit(base, &tv_);                                     \
            event_base_loop(base, EVLOOP_ONCE);                                  \
        }                                                                        \
    } while (0)

/* ---- a recording client ---- */

#define MAX_LOG 64

typedef struct rec_s {
    char log[MAX_LOG][160];
    int n;
    int rcs[MAX_LOG];
    int nrc;
} rec_t;

static void rec_add(rec_t *r, const char *fmt, const char *a, const char *b)
{
    ck_assert_int_lt(r->n, MAX_LOG);
    snprintf(r->log[r->n++], sizeof r->log[0], fmt, a, b);
}

static void rec_watcher(zkc_t *zk, const zkc_event_t *ev, void *ctx)
{
    (void)zk;
    rec_t *r = ctx;
    rec_add(r, "watch %s %s", zkc_event_type_name(ev->type), ev->path ? ev->path : zkc_keeper_state_name(ev->state));
}

static void rec_cb(zkc_t *zk, const zkc_result_t *res, void *ctx)
{
    (void)zk;
    rec_t *r = ctx;
    char rc[16];
    snprintf(rc, sizeof rc, "%d", res->rc);
    rec_add(r, "reply %s %s", zk_op_name(res->op), rc);
    if (r->nrc < MAX_LOG)
        r->rcs[r->nrc++] = res->rc;
}

static int count_log(const rec_t *r, const char *s)
{
    int n = 0;
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->log[i], s))
            n++;
    return n;
}

static int find_log(const rec_t *r, const char *s)
{
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->log[i], s))
            return i;
    return -1;
}

typedef struct env_s {
    struct event_base *base;
    fake_t *f;
    zkc_t *zk;
    rec_t rec;
} env_t;

static void env_init(env_t *e, const char *chroot, int timeout)
{
    memset(e, 0, sizeof *e);
    e->base = event_base_new();
    e->f = fake_new(e->base);
    char cs[128];
    snprintf(cs, sizeof cs, "127.0.0.1:%d%s", e->f->port, chroot ? chroot : "");
    zkc_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.connect = cs;
    cfg.session_timeout_ms = timeout;
    cfg.watcher = rec_watcher;
    cfg.watcher_ctx = &e->rec;
    int err;
    e->zk = zkc_new(e->base, &cfg, &err);
    ck_assert_ptr_nonnull(e->zk);
    ck_assert_int_eq(err, ZOK);
}

static void env_fini(env_t *e)
{
    zkc_free(e->zk);
    fake_free(e->f);
    event_base_free(e->base);
}

/* waits for the handshake request on connection conn and answers it */
static void env_handshake(env_t *e, int conn, int timeout, int64_t session)
{
    WAIT_UNTIL(e->base, e->f->nframes > 0 && e->f->frames[e->f->nframes - 1].connect &&
                            e->f->frames[e->f->nframes - 1].conn == conn);
    fake_connect_resp(e->f, timeout, session, 0xAB);
    WAIT_UNTIL(e->base, zkc_state(e->zk) == ZKC_CONNECTED);
}

static frame_t *last_frame(env_t *e)
{
    return &e->f->frames[e->f->nframes - 1];
}

START_TEST(handshake_fields)
{
    env_t e;
    env_init(&e, NULL, 12345);
    WAIT_UNTIL(e.base, e.f->nframes == 1);
    frame_t *c = &e.f->frames[0];
    ck_assert(c->connect);
    ck_assert_uint_eq(c->raw_len, 45);   /* 4+8+4+8+(4+16)+1, as Java/C clients send */
    ck_assert_int_eq(c->creq.protocolVersion, 0);
    ck_assert_int_eq(c->creq.timeOut, 12345);
    ck_assert(c->creq.sessionId == 0 && c->creq.lastZxidSeen == 0);
    ck_assert_int_eq(c->creq.passwd.len, 16);
    for (int i = 0; i < 16; i++)
        ck_assert_int_eq(c->creq.passwd.data[i], 0);
    ck_assert(c->creq.hasReadOnly && !c->creq.readOnly);
    ck_assert_int_eq(zkc_state(e.zk), ZKC_CONNECTING);
    fake_connect_resp(e.f, 6000, 0x100000a1ebc0000LL, 0xAB);
    WAIT_UNTIL(e.base, zkc_state(e.zk) == ZKC_CONNECTED);
    ck_assert(zkc_session_id(e.zk) == 0x100000a1ebc0000LL);
    ck_assert_int_eq(zkc_session_timeout(e.zk), 6000);
    ck_assert_int_eq(zkc_session_passwd(e.zk)[15], 0xAB);
    ck_assert_int_eq(count_log(&e.rec, "watch None SyncConnected"), 1);
    env_fini(&e);
}
END_TEST

START_TEST(pipelined_fifo_replies)
{
    env_t e;
    env_init(&e, NULL, 30000);
    /* issued before the session exists: queued, sent after the handshake */
    ck_assert_int_eq(zkc_get_data(e.zk, "/a", NULL, rec_cb, &e.rec), ZOK);
    ck_assert_int_eq(zkc_exists(e.zk, "/b", NULL, rec_cb, &e.rec), ZOK);
    ck_assert_int_eq(zkc_delete(e.zk, "/c", 3, rec_cb, &e.rec), ZOK);
    env_handshake(&e, 1, 30000, 0x42);
    WAIT_UNTIL(e.base, e.f->nframes == 4);
    /* xids strictly increasing from 1, the right ops and bodies */
    frame_t *g = &e.f->frames[1], *x = &e.f->frames[2], *d = &e.f->frames[3];
    ck_assert_int_eq(g->xid, 1);
    ck_assert_int_eq(x->xid, 2);
    ck_assert_int_eq(d->xid, 3);
    ck_assert_int_eq(g->op, ZOO_GETDATA_OP);
    ck_assert_int_eq(x->op, ZOO_EXISTS_OP);
    ck_assert_int_eq(d->op, ZOO_DELETE_OP);
    jute_rd_t jr;
    zkp_DeleteRequest dr;
    jute_rd_init(&jr, d->body, d->len);
    ck_assert_int_eq(jute_decode(&zkp_DeleteRequest_rec, &dr, &jr), 0);
    ck_assert_str_eq(dr.path, "/c");
    ck_assert_int_eq(dr.version, 3);
    jute_free(&zkp_DeleteRequest_rec, &dr);
    /* answer all three in order */
    zkp_GetDataResponse gd = {{(uint8_t *)"hi", 2}, {0}};
    fake_reply(e.f, 1, 0x10, 0, &zkp_GetDataResponse_rec, &gd);
    fake_reply(e.f, 2, 0x10, ZNONODE, NULL, NULL);
    fake_reply(e.f, 3, 0x11, ZBADVERSION, NULL, NULL);
    WAIT_UNTIL(e.base, e.rec.nrc == 3);
    ck_assert_int_eq(e.rec.rcs[0], ZOK);
    ck_assert_int_eq(e.rec.rcs[1], ZNONODE);
    ck_assert_int_eq(e.rec.rcs[2], ZBADVERSION);
    ck_assert(zkc_last_zxid(e.zk) == 0x11);
    env_fini(&e);
}
END_TEST

START_TEST(out_of_order_reply_drops_connection)
{
    env_t e;
    env_init(&e, NULL, 30000);
    env_handshake(&e, 1, 30000, 0x42);
    zkc_sync(e.zk, "/a", rec_cb, &e.rec);
    zkc_sync(e.zk, "/b", rec_cb, &e.rec);
    WAIT_UNTIL(e.base, e.f->nframes == 3);
    zkp_PathRequest pr = {"/b"};
    fake_reply(e.f, 2, 5, 0, &zkp_PathRequest_rec, &pr);   /* xid 2 before xid 1 */
    WAIT_UNTIL(e.base, e.rec.nrc == 2);
    ck_assert_int_eq(e.rec.rcs[0], ZCONNECTIONLOSS);
    ck_assert_int_eq(e.rec.rcs[1], ZCONNECTIONLOSS);
    ck_assert_int_ge(find_log(&e.rec, "watch None Disconnected"), 0);
    /* callbacks of the failed requests come before the Disconnected event */
    ck_assert_int_lt(find_log(&e.rec, "reply sync -4"), find_log(&e.rec, "watch None Disconnected"));
    /* and it reconnects with the same session */
    WAIT_UNTIL(e.base, e.f->nconns == 2 && e.f->nframes == 4 && last_frame(&e)->conn == 2);
    ck_assert(last_frame(&e)->connect && last_frame(&e)->creq.sessionId == 0x42);
    env_fini(&e);
}
END_TEST

START_TEST(notification_before_reply)
{
    env_t e;
    env_init(&e, NULL, 30000);
    env_handshake(&e, 1, 30000, 0x42);
    zkc_get_data(e.zk, "/x", ZKC_WATCH, rec_cb, &e.rec);
    WAIT_UNTIL(e.base, e.f->nframes == 2);
    zkp_GetDataResponse gd = {{(uint8_t *)"v", 1}, {0}};
    fake_reply(e.f, 1, 0x20, 0, &zkp_GetDataResponse_rec, &gd);
    WAIT_UNTIL(e.base, e.rec.nrc == 1);
    zkc_set_data(e.zk, "/x", "w", 1, -1, rec_cb, &e.rec);
    WAIT_UNTIL(e.base, e.f->nframes == 3);
    ck_assert_int_eq(last_frame(&e)->op, ZOO_SETDATA_OP);
    /* as the server does: notification first, then the reply, in one write */
    fake_notify(e.f, ZK_EVENT_CHANGED, "/x");
    zkp_StatResponse sr = {{0}};
    fake_reply(e.f, 2, 0x21, 0, &zkp_StatResponse_rec, &sr);
    WAIT_UNTIL(e.base, e.rec.nrc == 2);
    int w = find_log(&e.rec, "watch NodeDataChanged /x");
    int r = find_log(&e.rec, "reply setData 0");
    ck_assert_int_ge(w, 0);
    ck_assert_int_lt(w, r);
    /* one-shot: a second notification reaches nobody */
    fake_notify(e.f, ZK_EVENT_CHANGED, "/x");
    zkc_sync(e.zk, "/", rec_cb, &e.rec);
    WAIT_UNTIL(e.base, e.f->nframes == 4);
    zkp_PathRequest pr = {"/"};
    fake_reply(e.f, 3, 0x21, 0, &zkp_PathRequest_rec, &pr);
    WAIT_UNTIL(e.base, e.rec.nrc == 3);
    ck_assert_int_eq(count_log(&e.rec, "watch NodeDataChanged /x"), 1);
    env_fini(&e);
}
END_TEST

START_TEST(reconnect_resends_session_auth_and_watches)
{
    env_t e;
    env_init(&e, "/app", 30000);
    env_handshake(&e, 1, 30000, 0x77);
    zkc_add_auth(e.zk, "digest", "u:p", 3, rec_cb, &e.rec);
    zkc_get_data(e.zk, "/d", ZKC_WATCH, rec_cb, &e.rec);
    zkc_exists(e.zk, "/e", ZKC_WATCH, rec_cb, &e.rec);
    zkc_get_children(e.zk, "/", ZKC_WATCH, rec_cb, &e.rec);
    WAIT_UNTIL(e.base, e.f->nframes == 5);
    ck_assert_int_eq(e.f->frames[1].xid, ZK_XID_AUTH);
    ck_assert_int_eq(e.f->frames[1].op, ZOO_SETAUTH_OP);
    /* chroot is prepended on the wire */
    jute_rd_t jr;
    zkp_PathWatchRequest pw;
    jute_rd_init(&jr, e.f->frames[2].body, e.f->frames[2].len);
    ck_assert_int_eq(jute_decode(&zkp_PathWatchRequest_rec, &pw, &jr), 0);
    ck_assert_str_eq(pw.path, "/app/d");
    ck_assert(pw.watch);
    jute_free(&zkp_PathWatchRequest_rec, &pw);
    jute_rd_init(&jr, e.f->frames[4].body, e.f->frames[4].len);
    ck_assert_int_eq(jute_decode(&zkp_PathWatchRequest_rec, &pw, &jr), 0);
    ck_assert_str_eq(pw.path, "/app");
    jute_free(&zkp_PathWatchRequest_rec, &pw);

    fake_reply(e.f, ZK_XID_AUTH, 0, 0, NULL, NULL);
    zkp_GetDataResponse gd = {{(uint8_t *)"", 0}, {0}};
    fake_reply(e.f, 1, 0x30, 0, &zkp_GetDataResponse_rec, &gd);
    fake_reply(e.f, 2, 0x31, ZNONODE, NULL, NULL);
    zkp_GetChildrenResponse gc = {{0, NULL}};
    fake_reply(e.f, 3, 0x32, 0, &zkp_GetChildrenResponse_rec, &gc);
    WAIT_UNTIL(e.base, e.rec.nrc == 4);
    ck_assert_int_eq(e.rec.rcs[0], ZOK);   /* the auth */

    fake_drop(e.f);
    WAIT_UNTIL(e.base, find_log(&e.rec, "watch None Disconnected") >= 0);
    WAIT_UNTIL(e.base, e.f->nconns == 2 && last_frame(&e)->connect && last_frame(&e)->conn == 2);
    frame_t *c = last_frame(&e);
    ck_assert(c->creq.sessionId == 0x77);
    ck_assert(c->creq.lastZxidSeen == 0x32);
    ck_assert_int_eq(c->creq.passwd.data[0], 0xAB);
    int before = e.f->nframes;
    fake_connect_resp(e.f, 30000, 0x77, 0xAB);
    WAIT_UNTIL(e.base, e.f->nframes == before + 2);
    /* primed: the auth again, then SetWatches relative to the last zxid */
    frame_t *a = &e.f->frames[before], *sw = &e.f->frames[before + 1];
    ck_assert_int_eq(a->xid, ZK_XID_AUTH);
    ck_assert_int_eq(sw->xid, ZK_XID_SET_WATCHES);
    ck_assert_int_eq(sw->op, ZOO_SETWATCHES_OP);
    zkp_SetWatches s;
    jute_rd_init(&jr, sw->body, sw->len);
    ck_assert_int_eq(jute_decode(&zkp_SetWatches_rec, &s, &jr), 0);
    ck_assert(s.relativeZxid == 0x32);
    ck_assert_int_eq(s.dataWatches.n, 1);
    ck_assert_str_eq(s.dataWatches.v[0], "/app/d");
    ck_assert_int_eq(s.existWatches.n, 1);
    ck_assert_str_eq(s.existWatches.v[0], "/app/e");
    ck_assert_int_eq(s.childWatches.n, 1);
    ck_assert_str_eq(s.childWatches.v[0], "/app");
    jute_free(&zkp_SetWatches_rec, &s);
    ck_assert_int_eq(count_log(&e.rec, "watch None SyncConnected"), 2);
    /* an event for a re-registered watch is delivered with the chroot removed */
    fake_notify(e.f, ZK_EVENT_CHILD, "/app");
    WAIT_UNTIL(e.base, find_log(&e.rec, "watch NodeChildrenChanged /") >= 0);
    env_fini(&e);
}
END_TEST

START_TEST(persistent_watch_uses_setwatches2)
{
    env_t e;
    env_init(&e, NULL, 30000);
    env_handshake(&e, 1, 30000, 0x9);
    zkc_add_watch(e.zk, "/p", ZK_ADDWATCH_PERSISTENT_RECURSIVE, NULL, rec_cb, &e.rec);
    WAIT_UNTIL(e.base, e.f->nframes == 2);
    ck_assert_int_eq(last_frame(&e)->op, ZOO_ADDWATCH_OP);
    fake_reply(e.f, 1, 0x5, 0, NULL, NULL);
    WAIT_UNTIL(e.base, e.rec.nrc == 1);
    fake_notify(e.f, ZK_EVENT_CREATED, "/p/q/r");
    fake_notify(e.f, ZK_EVENT_CHANGED, "/p/q/r");
    WAIT_UNTIL(e.base, count_log(&e.rec, "watch NodeDataChanged /p/q/r") == 1);
    ck_assert_int_eq(count_log(&e.rec, "watch NodeCreated /p/q/r"), 1);
    fake_drop(e.f);
    WAIT_UNTIL(e.base, e.f->nconns == 2 && last_frame(&e)->connect && last_frame(&e)->conn == 2);
    int before = e.f->nframes;
    fake_connect_resp(e.f, 30000, 0x9, 0xAB);
    WAIT_UNTIL(e.base, e.f->nframes == before + 1);
    frame_t *sw = last_frame(&e);
    ck_assert_int_eq(sw->op, ZOO_SETWATCHES2_OP);
    zkp_SetWatches2 s;
    jute_rd_t jr;
    jute_rd_init(&jr, sw->body, sw->len);
    ck_assert_int_eq(jute_decode(&zkp_SetWatches2_rec, &s, &jr), 0);
    ck_assert_int_eq(s.persistentRecursiveWatches.n, 1);
    ck_assert_str_eq(s.persistentRecursiveWatches.v[0], "/p");
    ck_assert_int_le(s.persistentWatches.n, 0);
    jute_free(&zkp_SetWatches2_rec, &s);
    env_fini(&e);
}
END_TEST

START_TEST(expired_session)
{
    env_t e;
    env_init(&e, NULL, 30000);
    env_handshake(&e, 1, 30000, 0x55);
    fake_drop(e.f);
    WAIT_UNTIL(e.base, e.f->nconns == 2 && last_frame(&e)->connect && last_frame(&e)->conn == 2);
    ck_assert_int_eq(zkc_get_data(e.zk, "/q", NULL, rec_cb, &e.rec), ZOK);   /* queued meanwhile */
    fake_connect_resp(e.f, 0, 0, 0);   /* timeout 0: expired */
    WAIT_UNTIL(e.base, zkc_state(e.zk) == ZKC_CLOSED);
    WAIT_UNTIL(e.base, e.rec.nrc == 1);
    ck_assert_int_eq(e.rec.rcs[0], ZSESSIONEXPIRED);
    int ex = find_log(&e.rec, "watch None Expired");
    ck_assert_int_ge(ex, 0);
    ck_assert_int_lt(ex, find_log(&e.rec, "reply getData -112"));
    ck_assert_int_eq(zkc_exists(e.zk, "/q", NULL, rec_cb, &e.rec), ZSESSIONEXPIRED);
    ck_assert_int_eq(count_log(&e.rec, "watch None Closed"), 0);
    env_fini(&e);
}
END_TEST

START_TEST(ping_cadence)
{
    env_t e;
    env_init(&e, NULL, 600);
    env_handshake(&e, 1, 600, 0x1);   /* readTimeout 400: ping after 200 ms idle */
    int64_t t0 = clock_mono_ms();
    WAIT_UNTIL(e.base, e.f->npings >= 3);
    int64_t dt = clock_mono_ms() - t0;
    ck_assert_int_ge(dt, 3 * 200 - 60);
    ck_assert_int_lt(dt, 3 * 200 + 400);
    ck_assert_int_eq(e.f->nconns, 1);   /* answered pings keep the connection */
    ck_assert_int_eq(zkc_state(e.zk), ZKC_CONNECTED);
    env_fini(&e);
}
END_TEST

START_TEST(read_timeout_reconnects)
{
    env_t e;
    env_init(&e, NULL, 600);
    env_handshake(&e, 1, 600, 0x1);
    e.f->answer_pings = false;   /* the server goes silent */
    WAIT_UNTIL(e.base, find_log(&e.rec, "watch None Disconnected") >= 0);
    int64_t dt = clock_mono_ms() - e.f->last_write_ms;
    ck_assert_int_ge(dt, 400 - 60);   /* 2/3 of 600 without hearing anything */
    ck_assert_int_lt(dt, 1500);
    e.f->answer_pings = true;
    WAIT_UNTIL(e.base, e.f->nconns == 2 && last_frame(&e)->connect && last_frame(&e)->conn == 2);
    ck_assert(last_frame(&e)->creq.sessionId == 0x1);
    env_fini(&e);
}
END_TEST

START_TEST(multi_encoding_and_results)
{
    env_t e;
    env_init(&e, "/r", 30000);
    env_handshake(&e, 1, 30000, 0x1);
    zkc_op_t ops[4] = {zkc_op_create("/n", "d", 1, ZK_PERSISTENT_SEQUENTIAL), zkc_op_set_data("/m", "x", 1, 2),
                       zkc_op_check("/m", 3), zkc_op_delete("/o", -1)};
    zkc_pending_t p;
    memset(&p, 0, sizeof p);
    ck_assert_int_eq(zkc_multi(e.zk, ops, 4, zkc_capture_cb, &p), ZOK);
    WAIT_UNTIL(e.base, e.f->nframes == 2);
    frame_t *m = last_frame(&e);
    ck_assert_int_eq(m->op, ZOO_MULTI_OP);
    jute_rd_t jr;
    jute_rd_init(&jr, m->body, m->len);
    int types[4] = {ZOO_CREATE_OP, ZOO_SETDATA_OP, ZOO_CHECK_OP, ZOO_DELETE_OP};
    for (int i = 0; i < 4; i++) {
        zkp_MultiHeader mh;
        ck_assert_int_eq(jute_decode(&zkp_MultiHeader_rec, &mh, &jr), 0);
        ck_assert_int_eq(mh.type, types[i]);
        ck_assert(!mh.done && mh.err == -1);
        const jute_rec_t *rec = zkp_request_rec(mh.type);
        void *body = xcalloc(1, rec->size);
        ck_assert_int_eq(jute_decode(rec, body, &jr), 0);
        if (i == 0) {
            zkp_CreateRequest *cr = body;
            ck_assert_str_eq(cr->path, "/r/n");
            ck_assert_int_eq(cr->flags, ZK_PERSISTENT_SEQUENTIAL);
            ck_assert_int_eq(cr->acl.n, 1);
        }
        jute_free(rec, body);
        free(body);
    }
    zkp_MultiHeader end;
    ck_assert_int_eq(jute_decode(&zkp_MultiHeader_rec, &end, &jr), 0);
    ck_assert(end.done && end.type == -1 && end.err == -1);
    ck_assert_uint_eq(jute_left(&jr), 0);

    /* a failed multi: header err 0, every op an error record */
    buf_t b = BUF_INIT;
    size_t st = zkp_frame_begin(&b);
    zkp_ReplyHeader h = {1, 0x40, 0};
    jute_encode(&zkp_ReplyHeader_rec, &h, &b);
    int errs[4] = {0, 0, ZBADVERSION, ZRUNTIMEINCONSISTENCY};
    for (int i = 0; i < 4; i++) {
        zkp_MultiHeader mh = {-1, false, -1};
        jute_encode(&zkp_MultiHeader_rec, &mh, &b);
        jute_put_int(&b, errs[i]);
    }
    zkp_MultiHeader done = {-1, true, -1};
    jute_encode(&zkp_MultiHeader_rec, &done, &b);
    zkp_frame_end(&b, st);
    fake_write(e.f, &b);
    ck_assert_int_eq(zkc_wait(e.zk, &p), ZBADVERSION);
    ck_assert_int_eq(p.reply.nresults, 4);
    ck_assert_int_eq(p.reply.results[2].err, ZBADVERSION);
    ck_assert_int_eq(p.reply.results[3].err, ZRUNTIMEINCONSISTENCY);
    zkc_reply_free(&p.reply);

    /* a successful one: created path comes back without the chroot */
    memset(&p, 0, sizeof p);
    zkc_op_t ops2[2] = {zkc_op_create("/n", NULL, -1, ZK_PERSISTENT_SEQUENTIAL), zkc_op_set_data("/m", "", 0, -1)};
    ck_assert_int_eq(zkc_multi(e.zk, ops2, 2, zkc_capture_cb, &p), ZOK);
    WAIT_UNTIL(e.base, e.f->nframes == 3);
    b = (buf_t)BUF_INIT;
    st = zkp_frame_begin(&b);
    zkp_ReplyHeader h2 = {2, 0x41, 0};
    jute_encode(&zkp_ReplyHeader_rec, &h2, &b);
    zkp_MultiHeader c1 = {ZOO_CREATE_OP, false, 0};
    jute_encode(&zkp_MultiHeader_rec, &c1, &b);
    jute_put_ustring(&b, "/r/n0000000007");
    zkp_MultiHeader s1 = {ZOO_SETDATA_OP, false, 0};
    jute_encode(&zkp_MultiHeader_rec, &s1, &b);
    zkp_Stat stat = {1, 2, 3, 4, 5, 6, 7, 8, 0, 10, 11};
    jute_encode(&zkp_Stat_rec, &stat, &b);
    jute_encode(&zkp_MultiHeader_rec, &done, &b);
    zkp_frame_end(&b, st);
    fake_write(e.f, &b);
    ck_assert_int_eq(zkc_wait(e.zk, &p), ZOK);
    ck_assert_int_eq(p.reply.nresults, 2);
    ck_assert_str_eq(p.reply.results[0].path, "/n0000000007");
    ck_assert(p.reply.results[1].has_stat && p.reply.results[1].stat.version == 5);
    zkc_reply_free(&p.reply);
    env_fini(&e);
}
END_TEST

START_TEST(auth_failure_kills_handle)
{
    env_t e;
    env_init(&e, NULL, 30000);
    env_handshake(&e, 1, 30000, 0x1);
    zkc_add_auth(e.zk, "digest", NULL, -1, rec_cb, &e.rec);
    zkc_get_data(e.zk, "/x", NULL, rec_cb, &e.rec);
    WAIT_UNTIL(e.base, e.f->nframes == 3);
    fake_reply(e.f, ZK_XID_AUTH, 0, ZAUTHFAILED, NULL, NULL);
    WAIT_UNTIL(e.base, e.rec.nrc == 2);
    ck_assert_int_eq(zkc_state(e.zk), ZKC_AUTH_FAILED);
    ck_assert_int_eq(e.rec.rcs[0], ZAUTHFAILED);
    ck_assert_int_eq(e.rec.rcs[1], ZAUTHFAILED);
    ck_assert_int_ge(find_log(&e.rec, "watch None AuthFailed"), 0);
    ck_assert_int_eq(zkc_sync(e.zk, "/", rec_cb, &e.rec), ZAUTHFAILED);
    env_fini(&e);
}
END_TEST

START_TEST(close_session)
{
    env_t e;
    env_init(&e, NULL, 30000);
    env_handshake(&e, 1, 30000, 0x1);
    zkc_sync(e.zk, "/", rec_cb, &e.rec);
    ck_assert_int_eq(zkc_close(e.zk, rec_cb, &e.rec), ZOK);
    ck_assert_int_eq(zkc_sync(e.zk, "/", rec_cb, &e.rec), ZCONNECTIONLOSS);   /* closing */
    WAIT_UNTIL(e.base, e.f->nframes == 3);
    ck_assert_int_eq(last_frame(&e)->op, ZOO_CLOSE_OP);
    ck_assert_uint_eq(last_frame(&e)->len, 0);
    zkp_PathRequest pr = {"/"};
    fake_reply(e.f, 1, 1, 0, &zkp_PathRequest_rec, &pr);
    fake_reply(e.f, 2, 1, 0, NULL, NULL);
    WAIT_UNTIL(e.base, e.rec.nrc == 2);
    ck_assert_int_eq(zkc_state(e.zk), ZKC_CLOSED);
    ck_assert_int_lt(find_log(&e.rec, "reply sync 0"), find_log(&e.rec, "watch None Closed"));
    ck_assert_int_lt(find_log(&e.rec, "watch None Closed"), find_log(&e.rec, "reply closeSession 0"));
    env_fini(&e);
}
END_TEST

static void free_in_cb(zkc_t *zk, const zkc_result_t *res, void *ctx)
{
    (void)res;
    int *calls = ctx;
    (*calls)++;
    zkc_free(zk);   /* deferred until the callback returns */
}

START_TEST(free_from_callback)
{
    env_t e;
    env_init(&e, NULL, 30000);
    env_handshake(&e, 1, 30000, 0x1);
    int calls = 0;
    zkc_sync(e.zk, "/a", free_in_cb, &calls);
    zkc_sync(e.zk, "/b", free_in_cb, &calls);
    WAIT_UNTIL(e.base, e.f->nframes == 3);
    zkp_PathRequest pr = {"/a"};
    fake_reply(e.f, 1, 1, 0, &zkp_PathRequest_rec, &pr);
    WAIT_UNTIL(e.base, calls == 2);   /* the second fails with ConnectionLoss on free */
    e.zk = NULL;
    env_fini(&e);
}
END_TEST

START_TEST(oversized_frame_drops_connection)
{
    env_t e;
    env_init(&e, NULL, 30000);
    env_handshake(&e, 1, 30000, 0x1);
    zkc_sync(e.zk, "/a", rec_cb, &e.rec);
    WAIT_UNTIL(e.base, e.f->nframes == 2);
    uint8_t huge[4] = {0x7f, 0xff, 0xff, 0xff};
    bufferevent_write(e.f->conn, huge, 4);
    WAIT_UNTIL(e.base, e.rec.nrc == 1);
    ck_assert_int_eq(e.rec.rcs[0], ZCONNECTIONLOSS);
    env_fini(&e);
}
END_TEST

START_TEST(bad_arguments_refused_synchronously)
{
    env_t e;
    env_init(&e, NULL, 30000);
    ck_assert_int_eq(zkc_get_data(e.zk, "nope", NULL, rec_cb, &e.rec), ZBADARGUMENTS);
    ck_assert_int_eq(zkc_delete(e.zk, "/a/", -1, rec_cb, &e.rec), ZBADARGUMENTS);
    zkc_create_t c = {"/a/", NULL, -1, NULL, 0, ZK_PERSISTENT_SEQUENTIAL, 0, false};
    ck_assert_int_eq(zkc_create(e.zk, &c, rec_cb, &e.rec), ZOK);   /* sequential: "/a/" + suffix is fine */
    zkc_create_t t = {"/t", NULL, -1, NULL, 0, ZK_PERSISTENT_WITH_TTL, 0, false};
    ck_assert_int_eq(zkc_create(e.zk, &t, rec_cb, &e.rec), ZBADARGUMENTS);   /* ttl 0 */
    zkp_ACL none[1];
    zkc_create_t a = {"/acl", NULL, -1, none, 0, ZK_PERSISTENT, 0, false};
    ck_assert_int_eq(zkc_create(e.zk, &a, rec_cb, &e.rec), ZINVALIDACL);
    ck_assert_int_eq(zkc_set_acl(e.zk, "/x", NULL, 0, -1, rec_cb, &e.rec), ZINVALIDACL);
    env_fini(&e);
    ck_assert_int_eq(e.rec.nrc, 1);   /* only the accepted create was answered (ConnectionLoss on free) */
}
END_TEST

static Suite *zkc_suite(void)
{
    Suite *s = suite_create("zkc");
    TCase *pure = tcase_create("pure");
    tcase_add_test(pure, validate_path_messages);
    tcase_add_test(pure, chroot_prepend_strip);
    tcase_add_test(pure, connect_string_parsing);
    tcase_add_test(pure, watch_table_semantics);
    suite_add_tcase(s, pure);
    TCase *proto = tcase_create("protocol");
    tcase_set_timeout(proto, 30);
    tcase_add_test(proto, handshake_fields);
    tcase_add_test(proto, pipelined_fifo_replies);
    tcase_add_test(proto, out_of_order_reply_drops_connection);
    tcase_add_test(proto, notification_before_reply);
    tcase_add_test(proto, reconnect_resends_session_auth_and_watches);
    tcase_add_test(proto, persistent_watch_uses_setwatches2);
    tcase_add_test(proto, expired_session);
    tcase_add_test(proto, ping_cadence);
    tcase_add_test(proto, read_timeout_reconnects);
    tcase_add_test(proto, multi_encoding_and_results);
    tcase_add_test(proto, auth_failure_kills_handle);
    tcase_add_test(proto, close_session);
    tcase_add_test(proto, free_from_callback);
    tcase_add_test(proto, oversized_frame_drops_connection);
    tcase_add_test(proto, bad_arguments_refused_synchronously);
    suite_add_tcase(s, proto);
    return s;
}

int main(void)
{
    log_set_level(LOG_WARN);
    signal(SIGPIPE, SIG_IGN);
    SRunner *sr = srunner_create(zkc_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
