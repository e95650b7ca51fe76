/* zkbench.c — a pipelined load generator for any ZooKeeper-compatible server.
 *
 * Speaks the ZooKeeper client wire protocol directly (records encoded and
 * decoded with proto/zk_proto.h + proto/jute.h) over raw non-blocking sockets
 * and one epoll loop, so that it costs the machine little CPU and measures the
 * server rather than itself. N connections (one session each), up to M
 * requests outstanding on each, requests queued in a batch and written with
 * one write().
 *
 * Modes:
 *   create    persistent creates of S-byte nodes at unique paths
 *             <prefix>/c<runid>-<seq>
 *   set       setData (version -1) round-robin over K pre-created nodes
 *             <prefix>/n<i>
 *   get       getData (no watch) over the same K nodes
 *   mixed     get or set per request, -r percent reads
 *   sync-set  setData, one request outstanding per connection (latency)
 *   failover  one session writing setData one at a time through a list of
 *             servers (an ensemble); on any failure it moves to the next
 *             server with the same session id, password and last zxid, as
 *             ZooKeeper clients do. --kill-pid/--kill-after SIGKILL a server
 *             (the leader) mid-run; reports the longest gap between
 *             successful writes and the outage (kill -> first successful
 *             write issued after it)
 *   --ready   connect + `exists /` until it succeeds; prints the time taken
 *
 * Correctness: replies must come back in request order on each session, so
 * every reply's xid is checked against the oldest outstanding request (a
 * mismatch aborts the run). Only err == 0 replies whose body decodes and
 * matches (created path, data length) are counted as operations; anything
 * else is counted in errors. Latency = issue to reply, in microseconds.
 *
 * Output: one machine-readable line on stdout, e.g.
 *   mode=set ops=123456 secs=10.001 ops_per_s=12345 p50_us=.. p90_us=..
 *   p99_us=.. p999_us=.. max_us=.. mean_us=.. errors=0 conns=1 outstanding=100 size=100
 * (with --pid PID also the server's CPU per operation and the CPU other
 * processes used meanwhile) and a human summary on stderr (unless -q). Exit
 * status 0 only when the run completed with no errors.
 *
 * Memory: everything is owned by the zb_t run context (connections, their
 * buffers and request rings) and freed by zb_close_all / zb_opts_free. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/lib/zb_hist.h"
#include "common/alloc.h"
#include "common/buf.h"
#include "common/clock.h"
#include "proto/zk_proto.h"

#define ZB_MAX_FRAME (64u << 20)     /* refuse replies larger than this */
#define ZB_READ_CHUNK (64u << 10)
#define ZB_DRAIN_US (30LL * 1000000) /* wait this long for replies after the load stops */
#define ZB_IO_ERR (-10000)           /* zb_call: the connection failed (not a ZooKeeper code) */
#define ZB_NERR 160                  /* error codes 0..-159 counted individually */

enum zb_mode { ZB_M_CREATE, ZB_M_SET, ZB_M_GET, ZB_M_MIXED, ZB_M_SYNC_SET, ZB_M_FAILOVER, ZB_M_READY };
enum zb_op { ZB_OP_CREATE, ZB_OP_SET, ZB_OP_GET, ZB_OP_DELETE, ZB_OP_MIXED, ZB_NOPS = ZB_OP_MIXED };

static const char *const zb_mode_names[] = {"create", "set", "get", "mixed", "sync-set", "failover", "ready"};

typedef struct zb_opts_s {
    char **servers;
    int nservers;
    enum zb_mode mode;
    int conns;
    int outstanding;
    double secs;          /* run length; 0 = until count */
    uint64_t count;       /* ops to issue; 0 = until secs */
    int size;
    char *prefix;         /* without trailing '/'; "" = the root */
    int keys;
    int read_pct;
    double warmup;
    bool cleanup;
    bool quiet;
    int session_ms;
    int64_t since_ms;     /* --ready: wall-clock ms to measure from; 0 = our start */
    int watch_pid;        /* --pid: the server process (0 = unknown); see zb_cpu_t */
    int cpu_pids[16];     /* --pid PID,PID..: processes whose CPU counts as the server's */
    int ncpu_pids;
    int kill_pid;         /* failover: SIGKILL this process ... */
    double kill_after;    /* ... this many seconds into the run (< 0 = never) */
    int op_timeout_ms;    /* failover: a request unanswered this long counts as failed */
    int connect_timeout_ms; /* failover: per connection attempt */
} zb_opts_t;

/* One request in flight. */
typedef struct zb_pend_s {
    int32_t xid;
    uint8_t op;
    uint64_t key;
    int64_t t_us;
} zb_pend_t;

/* One connection = one session. Owns its socket and buffers. */
typedef struct zb_conn_s {
    int fd;
    int idx;
    const char *server;     /* points into opts */
    buf_t out;              /* queued request bytes; out_off of them written */
    size_t out_off;
    bool pollout;
    uint8_t *in;
    size_t in_len, in_cap;
    zb_pend_t *ring;        /* FIFO of outstanding requests */
    uint32_t head, n, cap;
    int32_t xid;
    uint64_t rr;            /* round-robin cursor over the K nodes */
    int64_t last_send_us;
    int64_t ping_us;        /* send a ping after this much idle time */
    bool dead;
    int64_t session_id;     /* 0 = none yet: zb_session_open asks for a new session */
    uint8_t passwd[16];
    int64_t last_zxid;      /* highest zxid seen in a reply (sent on reconnect) */
} zb_conn_t;

/* One timed or counted stretch of load, e.g. "prefill" or "set". */
typedef struct zb_phase_s {
    const char *name;
    int op;                 /* enum zb_op */
    char pfx;               /* 'c' create-mode paths, 'n' the K nodes */
    bool seq_keys;          /* key = key_base + issue number; else per-connection round-robin */
    uint64_t key_base;
    uint64_t limit;         /* ops to issue (UINT64_MAX = no limit) */
    int64_t deadline_us;    /* stop issuing at this time (0 = none) */
    int ok_err;             /* a ZooKeeper error that is expected here (0 = none) */
    bool measure;
    uint64_t issued, ok, errors, ok_err_seen, bad_replies, lost;
    uint64_t ok_by_op[ZB_NOPS];
    uint64_t err_by_code[ZB_NERR];
    int64_t t_start_us, t_end_us;
    zb_hist_t *hist;
} zb_phase_t;

typedef struct zb_s {
    zb_opts_t o;
    zb_conn_t *conns;
    int nconns;
    int ep;
    char runid[24];
    uint8_t *data;          /* o.size bytes of payload */
    zkp_ACL acl;            /* world:anyone, all permissions */
    uint64_t rng;
    bool fatal;
    char fatal_msg[256];
} zb_t;

static volatile sig_atomic_t zb_stop;

static void zb_on_signal(int sig)
{
    (void)sig;
    zb_stop = 1;
}

static void zb_fail(zb_t *z, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void zb_fail(zb_t *z, const char *fmt, ...)
{
    if (z->fatal)
        return;
    z->fatal = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(z->fatal_msg, sizeof z->fatal_msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "zkbench: %s\n", z->fatal_msg);
}

static uint64_t zb_rand(zb_t *z)
{
    /* xorshift64* */
    z->rng ^= z->rng >> 12;
    z->rng ^= z->rng << 25;
    z->rng ^= z->rng >> 27;
    return z->rng * 2685821657736338717ULL;
}

/* ------------------------------------------------------------------ paths */

static void zb_path(const zb_t *z, char pfx, uint64_t key, char *dst, size_t cap)
{
    if (pfx == 'c')
        snprintf(dst, cap, "%s/c%s-%" PRIu64, z->o.prefix, z->runid, key);
    else
        snprintf(dst, cap, "%s/n%" PRIu64, z->o.prefix, key);
}

/* --------------------------------------------------------------- sockets */

/* Opens a non-blocking TCP connection to "host:port" and waits until it is
 * established or deadline_us passes. Returns the fd or -1 (errbuf says why). */
static int zb_tcp_connect(const char *server, int64_t deadline_us, char *errbuf, size_t errcap)
{
    char host[256];
    const char *colon = strrchr(server, ':');
    if (!colon || colon == server || (size_t)(colon - server) >= sizeof host) {
        snprintf(errbuf, errcap, "bad server address '%s' (want host:port)", server);
        return -1;
    }
    memcpy(host, server, (size_t)(colon - server));
    host[colon - server] = '\0';
    const char *port = colon + 1;

    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai) {
        snprintf(errbuf, errcap, "%s: %s", server, gai_strerror(gai));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(errbuf, errcap, "socket: %s", strerror(errno));
        freeaddrinfo(res);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int rc = connect(fd, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    if (rc < 0 && errno != EINPROGRESS) {
        snprintf(errbuf, errcap, "connect %s: %s", server, strerror(errno));
        close(fd);
        return -1;
    }
    if (rc < 0) {
        struct pollfd pfd = {fd, POLLOUT, 0};
        int64_t left_ms = (deadline_us - clock_mono_us()) / 1000;
        if (left_ms < 0)
            left_ms = 0;
        int pr;
        do
            pr = poll(&pfd, 1, (int)left_ms);
        while (pr < 0 && errno == EINTR);
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (pr <= 0) {
            snprintf(errbuf, errcap, "connect %s: timed out", server);
            close(fd);
            return -1;
        }
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        if (soerr) {
            snprintf(errbuf, errcap, "connect %s: %s", server, strerror(soerr));
            close(fd);
            return -1;
        }
    }
    return fd;
}

/* Writes all n bytes, waiting for the socket as needed. 0 / -1. */
static int zb_send_all(int fd, const uint8_t *p, size_t n, int64_t deadline_us)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno != EAGAIN)
            return -1;
        int64_t left_ms = (deadline_us - clock_mono_us()) / 1000;
        if (left_ms <= 0)
            return -1;
        struct pollfd pfd = {fd, POLLOUT, 0};
        if (poll(&pfd, 1, (int)left_ms) == 0)
            return -1;
    }
    return 0;
}

static void zb_in_reserve(zb_conn_t *c, size_t want)
{
    if (c->in_cap - c->in_len >= want)
        return;
    size_t cap = c->in_cap ? c->in_cap : ZB_READ_CHUNK;
    while (cap - c->in_len < want)
        cap *= 2;
    c->in = xrealloc(c->in, cap);
    c->in_cap = cap;
}

/* Length of the complete frame at the start of c->in (payload bytes), or -1
 * if more bytes are needed, or -2 if the length is hostile. */
static int64_t zb_frame_ready(const zb_conn_t *c)
{
    if (c->in_len < 4)
        return -1;
    uint32_t flen = be32_get(c->in);
    if (flen > ZB_MAX_FRAME)
        return -2;
    return c->in_len - 4 >= flen ? (int64_t)flen : -1;
}

static void zb_in_consume(zb_conn_t *c, size_t n)
{
    memmove(c->in, c->in + n, c->in_len - n);
    c->in_len -= n;
}

/* Blocks (with poll) until one whole frame is in c->in. Returns its payload
 * length, or -1 on EOF, error, bad length or timeout. */
static int64_t zb_recv_frame(zb_conn_t *c, int64_t deadline_us)
{
    for (;;) {
        int64_t f = zb_frame_ready(c);
        if (f >= 0)
            return f;
        if (f == -2)
            return -1;
        zb_in_reserve(c, ZB_READ_CHUNK);
        ssize_t r = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
        if (r > 0) {
            c->in_len += (size_t)r;
            continue;
        }
        if (r == 0)
            return -1;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return -1;
        int64_t left_ms = (deadline_us - clock_mono_us()) / 1000;
        if (left_ms <= 0)
            return -1;
        struct pollfd pfd = {c->fd, POLLIN, 0};
        if (poll(&pfd, 1, (int)left_ms) == 0)
            return -1;
    }
}

/* ---------------------------------------------------- blocking requests */

/* Sends one request (body encoded from req with rec; rec NULL = no body) and
 * waits for its reply, skipping watch events and pings. On err == 0 and
 * resp_rec != NULL the body is decoded into resp (caller jute_frees it).
 * Returns the reply's err, or ZB_IO_ERR if the connection failed, timed out or
 * answered out of order. Used for setup only, never under load. */
static int zb_call(zb_conn_t *c, int op, const jute_rec_t *rec, const void *req,
                   const jute_rec_t *resp_rec, void *resp, int64_t deadline_us)
{
    buf_t b = BUF_INIT;
    size_t st = zkp_frame_begin(&b);
    int32_t xid = op == ZOO_PING_OP ? ZK_XID_PING : c->xid++;
    zkp_RequestHeader h = {xid, op};
    jute_encode(&zkp_RequestHeader_rec, &h, &b);
    if (rec)
        jute_encode(rec, req, &b);
    zkp_frame_end(&b, st);
    int rc = zb_send_all(c->fd, b.data, b.len, deadline_us);
    buf_free(&b);
    if (rc)
        return ZB_IO_ERR;
    c->last_send_us = clock_mono_us();
    for (;;) {
        int64_t flen = zb_recv_frame(c, deadline_us);
        if (flen < 0)
            return ZB_IO_ERR;
        jute_rd_t jr;
        jute_rd_init(&jr, c->in + 4, (size_t)flen);
        zkp_ReplyHeader rh;
        int result = ZB_IO_ERR;
        bool done = false;
        if (jute_decode(&zkp_ReplyHeader_rec, &rh, &jr) == 0) {
            if (rh.xid == ZK_XID_WATCH_EVENT || (rh.xid == ZK_XID_PING && xid != ZK_XID_PING)) {
                /* not ours: skip */
            } else if (rh.xid != xid) {
                done = true;
            } else {
                done = true;
                result = rh.err;
                if (rh.zxid > c->last_zxid)
                    c->last_zxid = rh.zxid;
                if (rh.err == 0 && resp_rec && jute_decode(resp_rec, resp, &jr))
                    result = ZB_IO_ERR;
            }
        } else {
            done = true;
        }
        zb_in_consume(c, 4 + (size_t)flen);
        if (done)
            return result;
    }
}

/* Connects c to its server and establishes a session: a new one when
 * c->session_id is 0, else that session again (password and last zxid seen
 * from c). 0 / -1, or -2 when the server refused to resume the session
 * (expired or unknown: the caller may start a new one). */
static int zb_session_open(zb_conn_t *c, int session_ms, int64_t deadline_us, char *errbuf, size_t errcap)
{
    c->in_len = 0;
    c->fd = zb_tcp_connect(c->server, deadline_us, errbuf, errcap);
    if (c->fd < 0)
        return -1;
    uint8_t zero_pw[16] = {0};
    zkp_ConnectRequest req = {0, c->last_zxid, session_ms, c->session_id,
                              {c->session_id ? c->passwd : zero_pw, 16}, false, true};
    buf_t b = BUF_INIT;
    size_t st = zkp_frame_begin(&b);
    zkp_connect_req_encode(&req, &b);
    zkp_frame_end(&b, st);
    int rc = zb_send_all(c->fd, b.data, b.len, deadline_us);
    buf_free(&b);
    int64_t flen = rc ? -1 : zb_recv_frame(c, deadline_us);
    if (flen < 0) {
        snprintf(errbuf, errcap, "%s: no session handshake reply (connection closed or timed out)", c->server);
        goto fail;
    }
    jute_rd_t jr;
    jute_rd_init(&jr, c->in + 4, (size_t)flen);
    zkp_ConnectResponse resp;
    if (zkp_connect_resp_decode(&resp, &jr)) {
        snprintf(errbuf, errcap, "%s: malformed ConnectResponse", c->server);
        goto fail;
    }
    int32_t to = resp.timeOut;
    int64_t sid = resp.sessionId;
    if (to > 0 && sid != 0 && resp.passwd.len == 16)
        memcpy(c->passwd, resp.passwd.data, 16);
    jute_free(&zkp_ConnectResponse_rec, &resp);
    zb_in_consume(c, 4 + (size_t)flen);
    if (to <= 0 || sid == 0) {
        snprintf(errbuf, errcap, "%s: session refused (timeOut %d)", c->server, to);
        close(c->fd);
        c->fd = -1;
        return c->session_id ? -2 : -1;
    }
    c->session_id = sid;
    c->ping_us = (int64_t)to * 1000 / 3;
    c->xid = 1;
    c->last_send_us = clock_mono_us();
    return 0;
fail:
    close(c->fd);
    c->fd = -1;
    return -1;
}

/* Sends closeSession and waits briefly for its reply, then closes the socket. */
static void zb_session_close(zb_conn_t *c)
{
    if (c->fd < 0)
        return;
    if (!c->dead)
        (void)zb_call(c, ZOO_CLOSE_OP, NULL, NULL, NULL, NULL, clock_mono_us() + 2000000);
    close(c->fd);
    c->fd = -1;
}

/* ---------------------------------------------------------- load engine */

static void zb_issue(zb_t *z, zb_conn_t *c, zb_phase_t *ph, int64_t now)
{
    int op = ph->op;
    if (op == ZB_OP_MIXED)
        op = (int)(zb_rand(z) % 100) < z->o.read_pct ? ZB_OP_GET : ZB_OP_SET;
    uint64_t key = ph->seq_keys ? ph->key_base + ph->issued : (c->rr++ % (uint64_t)z->o.keys);
    char path[512];
    zb_path(z, ph->pfx, key, path, sizeof path);

    if (c->n == c->cap) {
        /* grow the ring, keeping FIFO order */
        uint32_t ncap = c->cap ? c->cap * 2 : 16;
        zb_pend_t *nr = xmalloc(ncap * sizeof *nr);
        for (uint32_t i = 0; i < c->n; i++)
            nr[i] = c->ring[(c->head + i) % c->cap];
        free(c->ring);
        c->ring = nr;
        c->cap = ncap;
        c->head = 0;
    }
    int32_t xid = c->xid++;
    if (c->xid < 0)
        c->xid = 1;   /* never use the special negative xids */
    c->ring[(c->head + c->n) % c->cap] = (zb_pend_t){xid, (uint8_t)op, key, now};
    c->n++;
    ph->issued++;

    size_t st = zkp_frame_begin(&c->out);
    zkp_RequestHeader h = {xid, 0};
    switch (op) {
    case ZB_OP_CREATE: {
        h.type = ZOO_CREATE_OP;
        zkp_CreateRequest r = {path, {z->data, z->o.size}, {1, &z->acl}, ZK_PERSISTENT};
        jute_encode(&zkp_RequestHeader_rec, &h, &c->out);
        jute_encode(&zkp_CreateRequest_rec, &r, &c->out);
        break;
    }
    case ZB_OP_SET: {
        h.type = ZOO_SETDATA_OP;
        zkp_SetDataRequest r = {path, {z->data, z->o.size}, -1};
        jute_encode(&zkp_RequestHeader_rec, &h, &c->out);
        jute_encode(&zkp_SetDataRequest_rec, &r, &c->out);
        break;
    }
    case ZB_OP_GET: {
        h.type = ZOO_GETDATA_OP;
        zkp_PathWatchRequest r = {path, false};
        jute_encode(&zkp_RequestHeader_rec, &h, &c->out);
        jute_encode(&zkp_PathWatchRequest_rec, &r, &c->out);
        break;
    }
    default: {
        h.type = ZOO_DELETE_OP;
        zkp_DeleteRequest r = {path, -1};
        jute_encode(&zkp_RequestHeader_rec, &h, &c->out);
        jute_encode(&zkp_DeleteRequest_rec, &r, &c->out);
        break;
    }
    }
    zkp_frame_end(&c->out, st);
}

static void zb_send_ping(zb_conn_t *c)
{
    size_t st = zkp_frame_begin(&c->out);
    zkp_RequestHeader h = {ZK_XID_PING, ZOO_PING_OP};
    jute_encode(&zkp_RequestHeader_rec, &h, &c->out);
    zkp_frame_end(&c->out, st);
}

static void zb_conn_dead(zb_t *z, zb_conn_t *c, zb_phase_t *ph, const char *why)
{
    if (c->dead)
        return;
    c->dead = true;
    ph->errors += c->n;
    ph->lost += c->n;
    c->n = 0;
    epoll_ctl(z->ep, EPOLL_CTL_DEL, c->fd, NULL);
    zb_fail(z, "connection %d to %s lost: %s", c->idx, c->server, why);
}

static void zb_set_pollout(zb_t *z, zb_conn_t *c, bool on)
{
    if (c->pollout == on)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(z->ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->pollout = on;
}

/* Writes as much of c->out as the socket takes. */
static void zb_flush(zb_t *z, zb_conn_t *c, zb_phase_t *ph, int64_t now)
{
    while (c->out_off < c->out.len) {
        ssize_t w = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
        if (w > 0) {
            c->out_off += (size_t)w;
            c->last_send_us = now;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            zb_set_pollout(z, c, true);
            return;
        }
        zb_conn_dead(z, c, ph, strerror(errno));
        return;
    }
    buf_reset(&c->out);
    c->out_off = 0;
    zb_set_pollout(z, c, false);
}

/* Checks a successful reply's body against what op asked for. */
static bool zb_body_ok(const zb_t *z, const zb_phase_t *ph, const zb_pend_t *pd, jute_rd_t *jr)
{
    bool ok = false;
    switch (pd->op) {
    case ZB_OP_CREATE: {
        zkp_CreateResponse r;
        if (jute_decode(&zkp_CreateResponse_rec, &r, jr))
            return false;
        char path[512];
        zb_path(z, ph->pfx, pd->key, path, sizeof path);
        ok = r.path && !strcmp(r.path, path);
        jute_free(&zkp_CreateResponse_rec, &r);
        return ok;
    }
    case ZB_OP_SET: {
        zkp_StatResponse r;
        if (jute_decode(&zkp_StatResponse_rec, &r, jr))
            return false;
        return r.stat.dataLength == z->o.size;
    }
    case ZB_OP_GET: {
        zkp_GetDataResponse r;
        if (jute_decode(&zkp_GetDataResponse_rec, &r, jr))
            return false;
        ok = (r.data.len == z->o.size || (z->o.size == 0 && r.data.len == -1)) &&
             r.stat.dataLength == z->o.size;
        jute_free(&zkp_GetDataResponse_rec, &r);
        return ok;
    }
    default:
        return true;   /* delete: no body */
    }
}

static void zb_on_frame(zb_t *z, zb_conn_t *c, zb_phase_t *ph, const uint8_t *p, size_t n, int64_t now)
{
    jute_rd_t jr;
    jute_rd_init(&jr, p, n);
    zkp_ReplyHeader h;
    if (jute_decode(&zkp_ReplyHeader_rec, &h, &jr)) {
        zb_conn_dead(z, c, ph, "malformed reply header");
        return;
    }
    if (h.xid == ZK_XID_WATCH_EVENT || h.xid == ZK_XID_PING)
        return;
    if (c->n == 0) {
        zb_conn_dead(z, c, ph, "reply with no request outstanding");
        return;
    }
    zb_pend_t pd = c->ring[c->head];
    if (h.xid != pd.xid) {
        char why[96];
        snprintf(why, sizeof why, "reply xid %d, expected %d (replies out of order)", h.xid, pd.xid);
        zb_conn_dead(z, c, ph, why);
        return;
    }
    c->head = (c->head + 1) % c->cap;
    c->n--;
    if (h.err != 0) {
        if (ph->ok_err && h.err == ph->ok_err) {
            ph->ok_err_seen++;
            return;
        }
        ph->errors++;
        if (h.err <= 0 && h.err > -ZB_NERR)
            ph->err_by_code[-h.err]++;
        return;
    }
    if (!zb_body_ok(z, ph, &pd, &jr)) {
        ph->errors++;
        ph->bad_replies++;
        return;
    }
    ph->ok++;
    ph->ok_by_op[pd.op]++;
    if (ph->measure)
        zb_hist_add(ph->hist, (uint64_t)(now - pd.t_us));
}

/* Reads everything available on c and handles every complete reply. */
static void zb_read(zb_t *z, zb_conn_t *c, zb_phase_t *ph)
{
    for (;;) {
        zb_in_reserve(c, ZB_READ_CHUNK);
        size_t room = c->in_cap - c->in_len;
        ssize_t r = read(c->fd, c->in + c->in_len, room);
        if (r == 0) {
            zb_conn_dead(z, c, ph, "closed by the server");
            return;
        }
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                zb_conn_dead(z, c, ph, strerror(errno));
            return;
        }
        c->in_len += (size_t)r;
        int64_t now = clock_mono_us();
        size_t off = 0;
        while (c->in_len - off >= 4 && !c->dead) {
            uint32_t flen = be32_get(c->in + off);
            if (flen > ZB_MAX_FRAME) {
                zb_conn_dead(z, c, ph, "reply frame too large");
                return;
            }
            if (c->in_len - off - 4 < flen) {
                zb_in_reserve(c, flen + 4);   /* may move c->in; off stays valid */
                break;
            }
            zb_on_frame(z, c, ph, c->in + off + 4, flen, now);
            off += 4 + (size_t)flen;
        }
        if (c->dead)
            return;
        if (off)
            zb_in_consume(c, off);
        if ((size_t)r < room)
            return;   /* socket drained */
    }
}

/* Runs one phase to completion: issues until the limit or deadline, then
 * waits for every outstanding reply (at most ZB_DRAIN_US). */
static void zb_run_phase(zb_t *z, zb_phase_t *ph)
{
    struct epoll_event evs[64];
    int64_t drain_deadline = 0;
    ph->t_start_us = clock_mono_us();
    for (;;) {
        int64_t now = clock_mono_us();
        bool open = !z->fatal && !zb_stop && ph->issued < ph->limit &&
                    (!ph->deadline_us || now < ph->deadline_us);
        uint64_t inflight = 0;
        for (int i = 0; i < z->nconns; i++) {
            zb_conn_t *c = &z->conns[i];
            if (c->dead)
                continue;
            if (open) {
                while (c->n < (uint32_t)z->o.outstanding && ph->issued < ph->limit)
                    zb_issue(z, c, ph, now);
            } else if (c->n == 0 && now - c->last_send_us > c->ping_us && c->out.len == 0) {
                zb_send_ping(c);
            }
            if (c->out.len > c->out_off && !c->pollout)
                zb_flush(z, c, ph, now);
            inflight += c->n;
        }
        if (!open) {
            if (inflight == 0)
                break;
            if (!drain_deadline)
                drain_deadline = now + ZB_DRAIN_US;
            if (now > drain_deadline) {
                for (int i = 0; i < z->nconns; i++)
                    if (!z->conns[i].dead && z->conns[i].n)
                        zb_conn_dead(z, &z->conns[i], ph, "no reply within 30 s");
                break;
            }
        }
        int timeout_ms = 100;
        if (open && ph->deadline_us) {
            int64_t left = (ph->deadline_us - now + 999) / 1000;
            if (left < timeout_ms)
                timeout_ms = (int)(left > 0 ? left : 0);
        }
        int ne = epoll_wait(z->ep, evs, 64, timeout_ms);
        if (ne < 0 && errno != EINTR) {
            zb_fail(z, "epoll_wait: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < ne; i++) {
            zb_conn_t *c = evs[i].data.ptr;
            if (c->dead)
                continue;
            if (evs[i].events & EPOLLOUT)
                zb_flush(z, c, ph, clock_mono_us());
            if (!c->dead && (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
                zb_read(z, c, ph);
        }
    }
    ph->t_end_us = clock_mono_us();
}

static void zb_phase_init(zb_phase_t *ph, const char *name, int op, char pfx)
{
    memset(ph, 0, sizeof *ph);
    ph->name = name;
    ph->op = op;
    ph->pfx = pfx;
    ph->limit = UINT64_MAX;
}

static void zb_print_errors(const zb_phase_t *ph)
{
    for (int i = 0; i < ZB_NERR; i++)
        if (ph->err_by_code[i])
            fprintf(stderr, "    %s (%d): %" PRIu64 "\n", zk_err_name(-i), -i, ph->err_by_code[i]);
    if (ph->bad_replies)
        fprintf(stderr, "    replies that did not match the request: %" PRIu64 "\n", ph->bad_replies);
    if (ph->lost)
        fprintf(stderr, "    requests lost with their connection: %" PRIu64 "\n", ph->lost);
}

/* A non-measured helper phase (prefill, cleanup); reports trouble. 0 / -1. */
static int zb_run_helper(zb_t *z, zb_phase_t *ph)
{
    zb_run_phase(z, ph);
    if (ph->errors && !z->o.quiet) {
        fprintf(stderr, "zkbench: %s: %" PRIu64 " errors\n", ph->name, ph->errors);
        zb_print_errors(ph);
    }
    return z->fatal || ph->errors ? -1 : 0;
}

/* ----------------------------------------------------------------- setup */

/* Creates every component of the prefix that is missing. *created tells
 * whether the last component was created by us. 0 / -1. */
static int zb_ensure_prefix(zb_t *z, bool *created)
{
    *created = false;
    if (!z->o.prefix[0])
        return 0;
    zb_conn_t *c = &z->conns[0];
    char *p = xstrdup(z->o.prefix);
    int rc = 0;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char save = *s;
        *s = '\0';
        zkp_CreateRequest r = {p, {NULL, 0}, {1, &z->acl}, ZK_PERSISTENT};
        zkp_CreateResponse resp;
        int err = zb_call(c, ZOO_CREATE_OP, &zkp_CreateRequest_rec, &r, &zkp_CreateResponse_rec, &resp,
                          clock_mono_us() + 10000000);
        if (err == 0)
            jute_free(&zkp_CreateResponse_rec, &resp);
        if (err != 0 && err != ZNODEEXISTS) {
            zb_fail(z, "cannot create prefix node %s: %s", p,
                    err == ZB_IO_ERR ? "connection failed" : zk_err_name(err));
            rc = -1;
            break;
        }
        *created = err == 0;
        *s = save;
        if (!save)
            break;
    }
    free(p);
    return rc;
}

/* Makes sure the K nodes <prefix>/n<i> exist and hold o.size bytes. */
static int zb_prefill(zb_t *z)
{
    zb_phase_t ph;
    zb_phase_init(&ph, "prefill", ZB_OP_CREATE, 'n');
    ph.seq_keys = true;
    ph.limit = (uint64_t)z->o.keys;
    ph.ok_err = ZNODEEXISTS;
    if (zb_run_helper(z, &ph))
        return -1;
    if (ph.ok_err_seen == 0)
        return 0;
    /* some nodes were left by an earlier run: give them this run's size */
    zb_phase_init(&ph, "prefill-set", ZB_OP_SET, 'n');
    ph.seq_keys = true;
    ph.limit = (uint64_t)z->o.keys;
    return zb_run_helper(z, &ph);
}

static int zb_open_all(zb_t *z)
{
    z->nconns = z->o.conns;
    z->conns = xcalloc((size_t)z->nconns, sizeof *z->conns);
    z->ep = epoll_create1(EPOLL_CLOEXEC);
    if (z->ep < 0) {
        zb_fail(z, "epoll_create1: %s", strerror(errno));
        return -1;
    }
    for (int i = 0; i < z->nconns; i++) {
        zb_conn_t *c = &z->conns[i];
        c->fd = -1;
        c->idx = i;
        c->server = z->o.servers[i % z->o.nservers];
        c->rr = (uint64_t)i * (uint64_t)z->o.keys / (uint64_t)z->nconns;
        char err[256];
        if (zb_session_open(c, z->o.session_ms, clock_mono_us() + 10000000, err, sizeof err)) {
            zb_fail(z, "connection %d: %s", i, err);
            return -1;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(z->ep, EPOLL_CTL_ADD, c->fd, &ev);
    }
    return 0;
}

static void zb_close_all(zb_t *z)
{
    for (int i = 0; i < z->nconns; i++) {
        zb_conn_t *c = &z->conns[i];
        zb_session_close(c);
        buf_free(&c->out);
        free(c->in);
        free(c->ring);
    }
    free(z->conns);
    z->conns = NULL;
    if (z->ep >= 0)
        close(z->ep);
}

/* ------------------------------------------------------------ the modes */

/* CPU accounting over the measured phase, so that a result on a shared
 * machine can be judged: our own CPU, the server's (when --pid names it) and
 * the whole machine's busy time. Seconds. */
typedef struct zb_cpu_s {
    double wall_s;
    double self_s;
    double server_s;   /* -1 if unknown */
    double busy_s;     /* all CPUs, all processes; -1 if unknown */
} zb_cpu_t;

static double zb_proc_cpu_s(int pid)
{
    char path[64], st[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(st, 1, sizeof st - 1, f);
    fclose(f);
    st[n] = '\0';
    const char *p = strrchr(st, ')');
    unsigned long long ut, stime;
    /* after ") ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &stime) != 2)
        return -1;
    return (double)(ut + stime) / (double)sysconf(_SC_CLK_TCK);
}

static double zb_machine_busy_s(void)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return -1;
    unsigned long long v[8] = {0};
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                   &v[6], &v[7]);
    fclose(f);
    if (n != 8)
        return -1;
    /* user nice system [idle iowait] irq softirq steal */
    return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)sysconf(_SC_CLK_TCK);
}

static void zb_cpu_sample(const zb_opts_t *o, zb_cpu_t *c)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    c->wall_s = (double)clock_mono_us() / 1e6;
    c->self_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
                (double)ru.ru_stime.tv_usec / 1e6;
    c->server_s = -1;
    for (int i = 0; i < o->ncpu_pids; i++) {
        double v = zb_proc_cpu_s(o->cpu_pids[i]);
        if (v >= 0)
            c->server_s = (c->server_s < 0 ? 0 : c->server_s) + v;
    }
    c->busy_s = zb_machine_busy_s();
}

/* Whether process pid still runs (a zombie counts as exited). */
static bool zb_pid_alive(int pid)
{
    char path[64], st[512];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(st, 1, sizeof st - 1, f);
    fclose(f);
    st[n] = '\0';
    const char *rp = strrchr(st, ')');   /* state follows the command name */
    return rp && rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X';
}

/* --ready: retries connect + session + `exists /` every 2 ms until one works. */
static int zb_ready(zb_t *z, int64_t t0_wall_ms)
{
    int64_t start = clock_mono_us();
    int64_t limit = start + (int64_t)((z->o.secs > 0 ? z->o.secs : 30) * 1e6);
    char err[256] = "";
    int attempts = 0;
    while (!zb_stop) {
        attempts++;
        for (int s = 0; s < z->o.nservers; s++) {
            zb_conn_t c = {.fd = -1, .server = z->o.servers[s]};
            int64_t dl = clock_mono_us() + 1000000;
            if (dl > limit)
                dl = limit;
            int ok = 0;
            if (zb_session_open(&c, z->o.session_ms, dl, err, sizeof err) == 0) {
                zkp_PathWatchRequest r = {"/", false};
                zkp_StatResponse st;
                int e = zb_call(&c, ZOO_EXISTS_OP, &zkp_PathWatchRequest_rec, &r, &zkp_StatResponse_rec, &st, dl);
                ok = e == 0;
                if (!ok)
                    snprintf(err, sizeof err, "%s: exists / answered %s", c.server,
                             e == ZB_IO_ERR ? "nothing (connection failed)" : zk_err_name(e));
                zb_session_close(&c);
            }
            free(c.in);
            if (ok) {
                int64_t ms = t0_wall_ms ? clock_wall_ms() - t0_wall_ms : (clock_mono_us() - start) / 1000;
                printf("mode=ready ok=1 ready_ms=%" PRId64 " attempts=%d server=%s\n", ms, attempts, c.server);
                if (!z->o.quiet)
                    fprintf(stderr, "zkbench: %s answered exists / after %" PRId64 " ms (%d attempts)\n",
                            c.server, ms, attempts);
                return 0;
            }
        }
        if (clock_mono_us() >= limit)
            break;
        if (z->o.watch_pid && !zb_pid_alive(z->o.watch_pid)) {
            printf("mode=ready ok=0 ready_ms=-1 attempts=%d server_exited=1\n", attempts);
            fprintf(stderr, "zkbench: server process %d exited before answering (%s)\n", z->o.watch_pid,
                    err[0] ? err : "no attempt finished");
            return 1;
        }
        poll(NULL, 0, 2);
    }
    printf("mode=ready ok=0 ready_ms=-1 attempts=%d\n", attempts);
    fprintf(stderr, "zkbench: no server became ready: %s\n", err[0] ? err : "interrupted");
    return 1;
}

static void zb_report(const zb_t *z, const zb_phase_t *ph, const zb_cpu_t *c0, const zb_cpu_t *c1)
{
    double secs = (double)(ph->t_end_us - ph->t_start_us) / 1e6;
    const zb_hist_t *h = ph->hist;
    double rate = secs > 0 ? (double)ph->ok / secs : 0;
    double wall = c1->wall_s - c0->wall_s, self = c1->self_s - c0->self_s;
    printf("mode=%s ops=%" PRIu64 " secs=%.3f ops_per_s=%.0f p50_us=%" PRIu64 " p90_us=%" PRIu64
           " p99_us=%" PRIu64 " p999_us=%" PRIu64 " max_us=%" PRIu64 " mean_us=%.0f errors=%" PRIu64
           " conns=%d outstanding=%d size=%d client_cpu_s=%.2f",
           zb_mode_names[z->o.mode], ph->ok, secs, rate, zb_hist_quantile(h, 0.50), zb_hist_quantile(h, 0.90),
           zb_hist_quantile(h, 0.99), zb_hist_quantile(h, 0.999), h->max, zb_hist_mean(h), ph->errors,
           z->nconns, z->o.outstanding, z->o.size, self);
    double server = -1, other = -1;
    if (c0->server_s >= 0 && c1->server_s >= 0) {
        server = c1->server_s - c0->server_s;
        printf(" server_cpu_s=%.2f server_us_per_op=%.1f", server, ph->ok ? server * 1e6 / (double)ph->ok : 0);
    }
    if (c0->busy_s >= 0 && c1->busy_s >= 0 && wall > 0) {
        double busy = c1->busy_s - c0->busy_s;
        other = busy - self - (server > 0 ? server : 0);
        if (other < 0)
            other = 0;
        printf(" busy_cores=%.2f other_cores=%.2f", busy / wall, other / wall);
    }
    printf("\n");
    fflush(stdout);
    if (z->o.quiet)
        return;
    fprintf(stderr, "zkbench: %s against %s", zb_mode_names[z->o.mode], z->o.servers[0]);
    for (int i = 1; i < z->o.nservers; i++)
        fprintf(stderr, ",%s", z->o.servers[i]);
    fprintf(stderr, " (%d connection%s x %d outstanding, %d-byte data)\n", z->nconns, z->nconns == 1 ? "" : "s",
            z->o.outstanding, z->o.size);
    fprintf(stderr, "  %" PRIu64 " successful operations in %.2f s = %.0f ops/s", ph->ok, secs, rate);
    if (z->o.mode == ZB_M_MIXED)
        fprintf(stderr, " (%" PRIu64 " get, %" PRIu64 " set)", ph->ok_by_op[ZB_OP_GET], ph->ok_by_op[ZB_OP_SET]);
    fprintf(stderr, "\n  latency (issue to reply): p50 %" PRIu64 " us, p90 %" PRIu64 " us, p99 %" PRIu64
                    " us, p99.9 %" PRIu64 " us, max %" PRIu64 " us, mean %.0f us\n",
            zb_hist_quantile(h, 0.50), zb_hist_quantile(h, 0.90), zb_hist_quantile(h, 0.99),
            zb_hist_quantile(h, 0.999), h->max, zb_hist_mean(h));
    fprintf(stderr, "  CPU: zkbench %.2f s", self);
    if (server >= 0)
        fprintf(stderr, ", server %.2f s (%.1f us per op)", server, ph->ok ? server * 1e6 / (double)ph->ok : 0);
    if (other >= 0)
        fprintf(stderr, ", other processes %.2f cores", other / wall);
    fprintf(stderr, " over %.2f s\n", wall);
    fprintf(stderr, "  errors: %" PRIu64 "\n", ph->errors);
    zb_print_errors(ph);
}

/* -------------------------------------------------------------- failover */

/* Opens c's session on the next server that accepts it, starting after
 * server index *cur and trying each in turn (a full round without success
 * waits 2 ms) until deadline_us. A server that refuses to resume the session
 * (expired) makes the next attempt ask for a new session (*lost counts that).
 * 0 / -1 (deadline or interrupted). */
static int zb_failover_connect(zb_t *z, zb_conn_t *c, int *cur, int64_t deadline_us, uint64_t *lost,
                               char *err, size_t errcap)
{
    int tried = 0;
    while (!zb_stop && clock_mono_us() < deadline_us) {
        *cur = (*cur + 1) % z->o.nservers;
        c->server = z->o.servers[*cur];
        int64_t dl = clock_mono_us() + (int64_t)z->o.connect_timeout_ms * 1000;
        if (dl > deadline_us)
            dl = deadline_us;
        int rc = zb_session_open(c, z->o.session_ms, dl, err, errcap);
        if (rc == 0)
            return 0;
        if (rc == -2) {
            (*lost)++;
            c->session_id = 0;
            c->last_zxid = 0;
            continue;
        }
        if (++tried % z->o.nservers == 0)
            poll(NULL, 0, 2);
    }
    return -1;
}

/* One session writing setData on <prefix>/n0 one request at a time for o.secs
 * seconds through the server list, moving to the next server (same session)
 * whenever a request fails or goes unanswered for op_timeout_ms. If kill_pid
 * is set, that process gets SIGKILL kill_after seconds into the run. Prints
 * the usual line plus max_gap_ms (longest time between two successful
 * writes), outage_ms (kill -> reply of the first successful write sent after
 * the kill; -1 if none), reconnects and sessions. Exit 0 when writes
 * succeeded (and, with a kill, also after it). */
static int zb_failover(zb_t *z)
{
    static zb_hist_t hist;
    zb_hist_reset(&hist);
    z->o.conns = 1;
    bool prefix_created = false;
    if (zb_open_all(z) || zb_ensure_prefix(z, &prefix_created)) {
        printf("mode=failover ops=0 secs=0 ops_per_s=0 errors=1 failed=setup\n");
        zb_close_all(z);
        return 1;
    }
    zb_conn_t *c = &z->conns[0];
    epoll_ctl(z->ep, EPOLL_CTL_DEL, c->fd, NULL);   /* blocking calls only from here on */
    char path[512];
    zb_path(z, 'n', 0, path, sizeof path);
    {
        zkp_CreateRequest r = {path, {z->data, z->o.size}, {1, &z->acl}, ZK_PERSISTENT};
        zkp_CreateResponse resp;
        int e = zb_call(c, ZOO_CREATE_OP, &zkp_CreateRequest_rec, &r, &zkp_CreateResponse_rec, &resp,
                        clock_mono_us() + 10000000);
        if (e == 0)
            jute_free(&zkp_CreateResponse_rec, &resp);
        else if (e != ZNODEEXISTS) {
            fprintf(stderr, "zkbench: cannot create %s: %s\n", path,
                    e == ZB_IO_ERR ? "connection failed" : zk_err_name(e));
            printf("mode=failover ops=0 secs=0 ops_per_s=0 errors=1 failed=setup\n");
            zb_close_all(z);
            return 1;
        }
    }
    int cur = 0;
    for (int i = 0; i < z->o.nservers; i++)
        if (!strcmp(z->o.servers[i], c->server))
            cur = i;
    int64_t first_sid = c->session_id;

    zb_cpu_t cpu0, cpu1;
    zb_cpu_sample(&z->o, &cpu0);
    int64_t start = clock_mono_us();
    int64_t end = start + (int64_t)(z->o.secs * 1e6);
    int64_t t_kill = z->o.kill_pid && z->o.kill_after >= 0 ? start + (int64_t)(z->o.kill_after * 1e6) : 0;
    int64_t killed_at = 0, last_ok = start, max_gap = 0, max_gap_end = 0, outage = -1;
    uint64_t ok = 0, failed = 0, reconnects = 0, lost = 0;
    uint64_t err_by_code[ZB_NERR] = {0};
    char err[256] = "";
    while (!zb_stop) {
        int64_t now = clock_mono_us();
        if (now >= end)
            break;
        if (t_kill && !killed_at && now >= t_kill) {
            if (kill(z->o.kill_pid, SIGKILL) != 0)
                fprintf(stderr, "zkbench: kill -9 %d: %s\n", z->o.kill_pid, strerror(errno));
            killed_at = clock_mono_us();
            if (!z->o.quiet)
                fprintf(stderr, "zkbench: SIGKILL to %d at %.3f s (connected to %s)\n", z->o.kill_pid,
                        (double)(killed_at - start) / 1e6, c->server);
        }
        if (c->fd < 0) {
            int64_t dl = t_kill && !killed_at && t_kill < end ? t_kill : end;
            if (zb_failover_connect(z, c, &cur, dl, &lost, err, sizeof err))
                continue;
            reconnects++;
        }
        int64_t t0 = clock_mono_us();
        int64_t dl = t0 + (int64_t)z->o.op_timeout_ms * 1000;
        zkp_SetDataRequest r = {path, {z->data, z->o.size}, -1};
        zkp_StatResponse st;
        int e = zb_call(c, ZOO_SETDATA_OP, &zkp_SetDataRequest_rec, &r, &zkp_StatResponse_rec, &st, dl);
        int64_t t1 = clock_mono_us();
        if (e == 0 && st.stat.dataLength == z->o.size) {
            ok++;
            zb_hist_add(&hist, (uint64_t)(t1 - t0));
            if (t1 - last_ok > max_gap) {
                max_gap = t1 - last_ok;
                max_gap_end = t1;
            }
            last_ok = t1;
            if (killed_at && outage < 0 && t0 > killed_at)
                outage = t1 - killed_at;
            continue;
        }
        failed++;
        if (e < 0 && e > -ZB_NERR)
            err_by_code[-e]++;
        close(c->fd);   /* any failure: move on, as a client would after a lost connection */
        c->fd = -1;
    }
    int64_t stop = clock_mono_us();
    zb_cpu_sample(&z->o, &cpu1);
    double secs = (double)(stop - start) / 1e6;
    bool kept = c->session_id == first_sid;
    printf("mode=failover ops=%" PRIu64 " secs=%.3f ops_per_s=%.0f p50_us=%" PRIu64 " p90_us=%" PRIu64
           " p99_us=%" PRIu64 " p999_us=%" PRIu64 " max_us=%" PRIu64 " mean_us=%.0f errors=%" PRIu64
           " conns=1 outstanding=1 size=%d client_cpu_s=%.2f max_gap_ms=%.1f outage_ms=%.1f killed=%d"
           " kill_at_s=%.3f reconnects=%" PRIu64 " sessions_lost=%" PRIu64 " session_kept=%d server=%s\n",
           ok, secs, secs > 0 ? (double)ok / secs : 0, zb_hist_quantile(&hist, 0.50),
           zb_hist_quantile(&hist, 0.90), zb_hist_quantile(&hist, 0.99), zb_hist_quantile(&hist, 0.999),
           hist.max, zb_hist_mean(&hist), failed, z->o.size, cpu1.self_s - cpu0.self_s,
           (double)max_gap / 1000.0, outage < 0 ? -1.0 : (double)outage / 1000.0, killed_at != 0,
           killed_at ? (double)(killed_at - start) / 1e6 : -1.0, reconnects, lost, kept ? 1 : 0,
           c->fd >= 0 ? c->server : "-");
    fflush(stdout);
    if (!z->o.quiet) {
        fprintf(stderr, "zkbench: failover against %s", z->o.servers[0]);
        for (int i = 1; i < z->o.nservers; i++)
            fprintf(stderr, ",%s", z->o.servers[i]);
        fprintf(stderr, "\n  %" PRIu64 " successful setData in %.2f s, %" PRIu64 " failed, %" PRIu64
                        " reconnects; longest gap %.1f ms (ending %.3f s into the run)\n",
                ok, secs, failed, reconnects, (double)max_gap / 1000.0,
                (double)(max_gap_end - start) / 1e6);
        if (killed_at)
            fprintf(stderr, "  outage: %s%.1f ms from the kill to the first successful write sent after it\n",
                    outage < 0 ? "no write succeeded after the kill; " : "",
                    outage < 0 ? 0.0 : (double)outage / 1000.0);
        fprintf(stderr, "  session %s%s\n", kept ? "kept" : "changed",
                lost ? " (the old one was refused as expired)" : "");
        for (int i = 0; i < ZB_NERR; i++)
            if (err_by_code[i])
                fprintf(stderr, "    %s (%d): %" PRIu64 "\n", zk_err_name(-i), -i, err_by_code[i]);
        if (err[0] && c->fd < 0)
            fprintf(stderr, "  last connection error: %s\n", err);
    }
    zb_close_all(z);
    return ok > 0 && (!t_kill || outage >= 0) ? 0 : 1;
}

static int zb_bench(zb_t *z)
{
    static zb_hist_t hist;
    zb_hist_reset(&hist);
    int rc = 1;
    bool prefix_created = false, reported = false;
    uint64_t creates_issued = 0;
    if (zb_open_all(z) || zb_ensure_prefix(z, &prefix_created))
        goto out;
    bool uses_keys = z->o.mode != ZB_M_CREATE;
    if (uses_keys && zb_prefill(z))
        goto out;

    int op = z->o.mode == ZB_M_CREATE ? ZB_OP_CREATE
           : z->o.mode == ZB_M_GET    ? ZB_OP_GET
           : z->o.mode == ZB_M_MIXED  ? ZB_OP_MIXED
                                      : ZB_OP_SET;
    char pfx = z->o.mode == ZB_M_CREATE ? 'c' : 'n';
    zb_phase_t ph;
    if (z->o.warmup > 0) {
        zb_phase_init(&ph, "warmup", op, pfx);
        ph.seq_keys = op == ZB_OP_CREATE;
        ph.deadline_us = clock_mono_us() + (int64_t)(z->o.warmup * 1e6);
        zb_run_helper(z, &ph);
        creates_issued = op == ZB_OP_CREATE ? ph.issued : 0;
        if (z->fatal)
            goto out;
    }
    zb_phase_init(&ph, zb_mode_names[z->o.mode], op, pfx);
    ph.seq_keys = op == ZB_OP_CREATE;
    ph.key_base = creates_issued;
    ph.measure = true;
    ph.hist = &hist;
    if (z->o.count)
        ph.limit = z->o.count;
    if (z->o.secs > 0)
        ph.deadline_us = clock_mono_us() + (int64_t)(z->o.secs * 1e6);
    zb_cpu_t cpu0, cpu1;
    zb_cpu_sample(&z->o, &cpu0);
    zb_run_phase(z, &ph);
    zb_cpu_sample(&z->o, &cpu1);
    if (op == ZB_OP_CREATE)
        creates_issued += ph.issued;
    zb_report(z, &ph, &cpu0, &cpu1);
    reported = true;
    rc = z->fatal || ph.errors ? 1 : 0;

    if (z->o.cleanup && !z->fatal) {
        zb_phase_t cl;
        zb_phase_init(&cl, "cleanup", ZB_OP_DELETE, pfx);
        cl.seq_keys = true;
        cl.limit = uses_keys ? (uint64_t)z->o.keys : creates_issued;
        cl.ok_err = ZNONODE;
        zb_stop = 0;
        if (zb_run_helper(z, &cl) == 0 && prefix_created) {
            zkp_DeleteRequest d = {z->o.prefix, -1};
            (void)zb_call(&z->conns[0], ZOO_DELETE_OP, &zkp_DeleteRequest_rec, &d, NULL, NULL,
                          clock_mono_us() + 10000000);
        }
        if (!z->o.quiet)
            fprintf(stderr, "zkbench: cleanup deleted %" PRIu64 " nodes\n", cl.ok);
    }
out:
    if (!reported)
        printf("mode=%s ops=0 secs=0 ops_per_s=0 errors=1 failed=setup conns=%d outstanding=%d size=%d\n",
               zb_mode_names[z->o.mode], z->o.conns, z->o.outstanding, z->o.size);
    zb_close_all(z);
    return rc || z->fatal ? 1 : 0;
}

/* --------------------------------------------------------------- options */

static void zb_usage(FILE *f)
{
    fprintf(f,
        "usage: zkbench [options]\n"
        "  -s, --servers H:P[,H:P..]  servers; connections are spread round-robin (default 127.0.0.1:2181)\n"
        "  -m, --mode MODE            create | set | get | mixed | sync-set | failover (default set)\n"
        "  -c, --conns N              connections = sessions (default 1)\n"
        "  -o, --outstanding M        requests in flight per connection (default 100; sync-set: 1)\n"
        "  -t, --time SECS            run this long (default 10 unless -n is given)\n"
        "  -n, --count N              issue exactly N requests\n"
        "  -d, --size BYTES           data size for create/set (default 100)\n"
        "  -p, --prefix PATH          parent of all benchmark nodes (default /zkbench)\n"
        "  -k, --keys K               nodes used by set/get/mixed (default 1000)\n"
        "  -r, --read-pct P           mixed: percent getData (default 50)\n"
        "  -w, --warmup SECS          run the load this long first, unmeasured (default 0)\n"
        "      --cleanup              delete the nodes this run created or used\n"
        "      --session-timeout MS   requested session timeout (default 30000)\n"
        "      --ready                wait until `exists /` succeeds, print ready_ms (-t = give up after)\n"
        "      --since-ms EPOCH_MS    --ready: measure from this wall-clock time (e.g. date +%%s%%3N)\n"
        "      --pid PID[,PID..]      the server's process(es): --ready gives up as soon as the first has\n"
        "                             exited; load modes report their CPU time per operation (summed)\n"
        "  failover mode (one session, one setData at a time, moving between the -s servers):\n"
        "      --kill-pid PID         SIGKILL this process (e.g. the ensemble leader) ...\n"
        "      --kill-after SECS      ... this long into the run; outage_ms = kill -> first write after it\n"
        "      --op-timeout MS        a request unanswered this long fails over (default 2000)\n"
        "      --connect-timeout MS   per connection attempt (default 500)\n"
        "  -q, --quiet                only the machine-readable line\n"
        "Prints one line: mode=.. ops=.. secs=.. ops_per_s=.. p50_us=.. p99_us=.. errors=..\n"
        "Exit status 0 only if every request succeeded.\n");
}

static int zb_parse_mode(const char *s)
{
    for (int i = 0; i < ZB_M_READY; i++)
        if (!strcmp(s, zb_mode_names[i]))
            return i;
    return -1;
}

static int zb_parse_opts(zb_opts_t *o, int argc, char **argv)
{
    enum { OPT_CLEANUP = 256, OPT_READY, OPT_SINCE, OPT_SESSION, OPT_PID, OPT_KILL_PID, OPT_KILL_AFTER,
           OPT_OP_TIMEOUT, OPT_CONNECT_TIMEOUT };
    static const struct option longs[] = {
        {"servers", required_argument, 0, 's'}, {"mode", required_argument, 0, 'm'},
        {"conns", required_argument, 0, 'c'}, {"outstanding", required_argument, 0, 'o'},
        {"time", required_argument, 0, 't'}, {"count", required_argument, 0, 'n'},
        {"size", required_argument, 0, 'd'}, {"prefix", required_argument, 0, 'p'},
        {"keys", required_argument, 0, 'k'}, {"read-pct", required_argument, 0, 'r'},
        {"warmup", required_argument, 0, 'w'}, {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'}, {"cleanup", no_argument, 0, OPT_CLEANUP},
        {"ready", no_argument, 0, OPT_READY}, {"since-ms", required_argument, 0, OPT_SINCE},
        {"session-timeout", required_argument, 0, OPT_SESSION}, {"pid", required_argument, 0, OPT_PID},
        {"kill-pid", required_argument, 0, OPT_KILL_PID}, {"kill-after", required_argument, 0, OPT_KILL_AFTER},
        {"op-timeout", required_argument, 0, OPT_OP_TIMEOUT},
        {"connect-timeout", required_argument, 0, OPT_CONNECT_TIMEOUT},
        {0, 0, 0, 0},
    };
    const char *servers = "127.0.0.1:2181";
    const char *prefix = "/zkbench";
    bool have_time = false, have_conns = false, have_out = false;
    o->mode = ZB_M_SET;
    o->conns = 1;
    o->outstanding = 100;
    o->secs = 10;
    o->size = 100;
    o->keys = 1000;
    o->read_pct = 50;
    o->session_ms = 30000;
    o->kill_after = -1;
    o->op_timeout_ms = 2000;
    o->connect_timeout_ms = 500;
    int ch;
    char *end;
    while ((ch = getopt_long(argc, argv, "s:m:c:o:t:n:d:p:k:r:w:qh", longs, NULL)) != -1) {
        long v = 0;
        double dv = 0;
        if ((ch > 0 && ch < 128 && strchr("codkr", ch)) || ch == OPT_SESSION ||
            ch == OPT_KILL_PID || ch == OPT_OP_TIMEOUT || ch == OPT_CONNECT_TIMEOUT) {
            v = strtol(optarg, &end, 10);
            if (*end || v < 0 || v > 100000000) {
                fprintf(stderr, "zkbench: bad number '%s'\n", optarg);
                return -1;
            }
        }
        if (ch == 't' || ch == 'w' || ch == OPT_KILL_AFTER) {
            dv = strtod(optarg, &end);
            if (*end || dv < 0) {
                fprintf(stderr, "zkbench: bad duration '%s'\n", optarg);
                return -1;
            }
        }
        switch (ch) {
        case 's': servers = optarg; break;
        case 'm':
            if (zb_parse_mode(optarg) < 0) {
                fprintf(stderr, "zkbench: unknown mode '%s'\n", optarg);
                return -1;
            }
            if (o->mode != ZB_M_READY)
                o->mode = zb_parse_mode(optarg);
            break;
        case 'c': o->conns = (int)v; have_conns = true; break;
        case 'o': o->outstanding = (int)v; have_out = true; break;
        case 't': o->secs = dv; have_time = true; break;
        case 'n':
            o->count = strtoull(optarg, &end, 10);
            if (*end || !o->count) {
                fprintf(stderr, "zkbench: bad count '%s'\n", optarg);
                return -1;
            }
            break;
        case 'd': o->size = (int)v; break;
        case 'p': prefix = optarg; break;
        case 'k': o->keys = (int)v; break;
        case 'r': o->read_pct = (int)v; break;
        case 'w': o->warmup = dv; break;
        case 'q': o->quiet = true; break;
        case 'h': zb_usage(stdout); exit(0);
        case OPT_CLEANUP: o->cleanup = true; break;
        case OPT_READY: o->mode = ZB_M_READY; break;
        case OPT_SINCE: o->since_ms = strtoll(optarg, &end, 10); break;
        case OPT_SESSION: o->session_ms = (int)v; break;
        case OPT_PID: {
            /* one pid, or a comma-separated list (e.g. every ensemble member) */
            o->ncpu_pids = 0;
            for (char *q = optarg;;) {
                long pv = strtol(q, &end, 10);
                if (end == q || pv <= 0 || pv > 100000000 || (*end && *end != ',') ||
                    o->ncpu_pids == (int)(sizeof o->cpu_pids / sizeof o->cpu_pids[0])) {
                    fprintf(stderr, "zkbench: bad --pid '%s' (PID or PID,PID,... up to 16)\n", optarg);
                    return -1;
                }
                o->cpu_pids[o->ncpu_pids++] = (int)pv;
                if (!*end)
                    break;
                q = end + 1;
            }
            o->watch_pid = o->cpu_pids[0];
            break;
        }
        case OPT_KILL_PID: o->kill_pid = (int)v; break;
        case OPT_KILL_AFTER: o->kill_after = dv; break;
        case OPT_OP_TIMEOUT: o->op_timeout_ms = (int)v; break;
        case OPT_CONNECT_TIMEOUT: o->connect_timeout_ms = (int)v; break;
        default: return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "zkbench: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (o->count && !have_time)
        o->secs = 0;
    if (o->mode == ZB_M_FAILOVER) {
        if (o->count) {
            fprintf(stderr, "zkbench: failover runs for -t seconds; -n is not supported\n");
            return -1;
        }
        if ((o->kill_pid != 0) != (o->kill_after >= 0)) {
            fprintf(stderr, "zkbench: --kill-pid and --kill-after go together\n");
            return -1;
        }
        if (o->op_timeout_ms < 1 || o->connect_timeout_ms < 1) {
            fprintf(stderr, "zkbench: --op-timeout and --connect-timeout must be >= 1 ms\n");
            return -1;
        }
        o->outstanding = 1;
    }
    if (o->mode == ZB_M_SYNC_SET) {
        if (have_out && o->outstanding != 1)
            fprintf(stderr, "zkbench: sync-set sends one request at a time; -o ignored\n");
        o->outstanding = 1;
    }
    (void)have_conns;
    if (o->conns < 1 || o->outstanding < 1 || o->keys < 1 || o->read_pct > 100 || o->size > 1024 * 1024) {
        fprintf(stderr, "zkbench: need conns >= 1, outstanding >= 1, keys >= 1, read-pct <= 100, size <= 1 MiB\n");
        return -1;
    }
    if (prefix[0] != '/' || strlen(prefix) > 400) {
        fprintf(stderr, "zkbench: prefix must start with '/' and be at most 400 bytes\n");
        return -1;
    }
    o->prefix = xstrdup(prefix);
    size_t pl = strlen(o->prefix);
    while (pl > 0 && o->prefix[pl - 1] == '/')
        o->prefix[--pl] = '\0';

    char *list = xstrdup(servers);
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        o->servers = xrealloc(o->servers, (size_t)(o->nservers + 1) * sizeof *o->servers);
        o->servers[o->nservers++] = xstrdup(tok);
    }
    free(list);
    if (!o->nservers) {
        fprintf(stderr, "zkbench: no servers given\n");
        return -1;
    }
    return 0;
}

static void zb_opts_free(zb_opts_t *o)
{
    for (int i = 0; i < o->nservers; i++)
        free(o->servers[i]);
    free(o->servers);
    free(o->prefix);
}

int main(int argc, char **argv)
{
    static zb_t z;
    z.ep = -1;
    if (zb_parse_opts(&z.o, argc, argv)) {
        zb_usage(stderr);
        zb_opts_free(&z.o);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {0};
    sa.sa_handler = zb_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    int64_t t0 = z.o.since_ms;
    int rc;
    if (z.o.mode == ZB_M_READY) {
        rc = zb_ready(&z, t0);
    } else {
        z.rng = (((uint64_t)clock_wall_ms() * 0x9E3779B97F4A7C15ULL) ^ (uint64_t)getpid()) | 1;
        snprintf(z.runid, sizeof z.runid, "%x%04x", (unsigned)getpid(), (unsigned)(clock_wall_ms() & 0xffff));
        z.data = xmalloc((size_t)z.o.size + 1);
        for (int i = 0; i < z.o.size; i++)
            z.data[i] = (uint8_t)('a' + i % 26);
        z.acl = (zkp_ACL){ZK_PERM_ALL, {"world", "anyone"}};
        rc = z.o.mode == ZB_M_FAILOVER ? zb_failover(&z) : zb_bench(&z);
        free(z.data);
    }
    zb_opts_free(&z.o);
    return rc;
}
