/* server.c — Kafka listeners, connections, framing and request contexts (see server.h). */
#include "broker/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
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

#define SUB "bsrv"
/* Smallest request header: api_key, api_version, correlation_id (header v0). */
#define MIN_FRAME 8
#define MAX_LISTENERS 16

typedef struct conn_s conn_t;

struct bsrv_ctx_s {
    conn_t *conn;            /* NULL once the connection is gone (orphan) */
    bsrv_t *srv;             /* NULL for an orphan */
    arena_t arena;
    kp_request_t req;
    uint64_t conn_id;
    int listener;            /* index of the listener the connection came in on */
    char peer[64];
};

struct conn_s {
    bsrv_t *srv;
    uint64_t id;
    int listener;            /* index into the listeners */
    struct bufferevent *bev;
    char peer[64];
    bsrv_ctx_t *inflight;
    int64_t last_active_ms;
    bool closing;            /* flushing the output, then freed */
    bool in_process;         /* inside process(): freeing is deferred */
    bool dead;               /* to be freed when process() returns */
    bool resume_pending;
    struct event *resume;    /* runs process() after an asynchronous answer */
    conn_t *prev, *next;
};

struct bsrv_s {
    struct event_base *base;
    bsrv_config_t cfg;
    bsrv_handlers_t h;
    bdsp_map_t map;
    struct evconnlistener *lis[MAX_LISTENERS];
    int ports[MAX_LISTENERS];
    int nlis;
    struct event *sweep;
    conn_t *conns;
    uint64_t next_id;
    bsrv_stats_t st;
};

static void process(conn_t *c);

/* ---- connection lifetime ---- */

static void conn_destroy(conn_t *c)
{
    bsrv_t *s = c->srv;
    if (c->inflight) {
        c->inflight->conn = NULL;
        c->inflight->srv = NULL;
        c->inflight = NULL;
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    bufferevent_free(c->bev);
    event_free(c->resume);
    s->st.open--;
    s->st.closed++;
    LOG_D(SUB, "connection %llu from %s closed", (unsigned long long)c->id, c->peer);
    free(c);
}

/* Closes now (EOF, error, idle): in-flight contexts become orphans. */
static void conn_kill(conn_t *c)
{
    if (c->in_process) {
        c->dead = true;
        bufferevent_disable(c->bev, EV_READ | EV_WRITE);
        return;
    }
    conn_destroy(c);
}

/* Closes once the queued output is written (protocol errors: earlier answers still go out). */
static void conn_close_after_flush(conn_t *c)
{
    c->closing = true;
    bufferevent_disable(c->bev, EV_READ);
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
        conn_kill(c);
    else
        bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
}

static void protocol_close(conn_t *c, const char *why)
{
    LOG_W(SUB, "closing connection %llu from %s: %s", (unsigned long long)c->id, c->peer, why);
    c->srv->st.protocol_closes++;
    conn_close_after_flush(c);
}

/* ---- contexts ---- */

static void ctx_free(bsrv_ctx_t *x)
{
    arena_free(&x->arena);
    free(x);
}

/* Detaches x from its connection after it was answered and lets the connection go on. */
static void ctx_done(bsrv_ctx_t *x)
{
    conn_t *c = x->conn;
    ctx_free(x);
    if (!c)
        return;
    c->inflight = NULL;
    c->last_active_ms = clock_mono_ms();
    if (!c->in_process && !c->resume_pending && !c->closing) {
        c->resume_pending = true;
        event_active(c->resume, EV_TIMEOUT, 0);
    }
}

const kp_request_t *bsrv_ctx_request(const bsrv_ctx_t *c) { return &c->req; }
arena_t *bsrv_ctx_arena(bsrv_ctx_t *c) { return &c->arena; }
bool bsrv_ctx_closed(const bsrv_ctx_t *c) { return c->conn == NULL || c->conn->closing || c->conn->dead; }
uint64_t bsrv_ctx_conn_id(const bsrv_ctx_t *c) { return c->conn_id; }
int bsrv_ctx_listener(const bsrv_ctx_t *c) { return c->listener; }
const char *bsrv_ctx_peer(const bsrv_ctx_t *c) { return c->peer; }

static void count_out(bsrv_ctx_t *x, size_t n)
{
    bsrv_t *s = x->srv;
    s->st.bytes_out += n;
    int key = x->req.hdr.api_key;
    if (key >= 0 && key < BDSP_NKEYS)
        s->st.api[key].bytes_out += n;
}

static void free_stolen(const void *data, size_t len, void *arg)
{
    (void)len;
    (void)arg;
    free((void *)data);
}

/* Queues a complete frame held in b (b is emptied). */
static void queue_buf(conn_t *c, buf_t *b)
{
    size_t n;
    uint8_t *p = buf_steal(b, &n);
    if (n < 16384) {
        evbuffer_add(bufferevent_get_output(c->bev), p, n);
        free(p);
    } else {
        evbuffer_add_reference(bufferevent_get_output(c->bev), p, n, free_stolen, NULL);
    }
}

int bsrv_respond(bsrv_ctx_t *x, const void *resp)
{
    conn_t *c = x->conn;
    if (!c || c->dead || c->closing) {
        ctx_done(x);
        return -1;
    }
    buf_t b = BUF_INIT;
    const kp_req_hdr_t *h = &x->req.hdr;
    int rc = kp_response_encode(&b, h->api_key, h->api_version, h->correlation_id, resp);
    if (rc != KP_OK) {
        buf_free(&b);
        char why[128];
        snprintf(why, sizeof why, "%s v%d response cannot be encoded (%d)", bdsp_api_name(h->api_key),
                 h->api_version, rc);
        LOG_E(SUB, "%s", why);
        protocol_close(c, why);
        ctx_done(x);
        return -1;
    }
    count_out(x, b.len);
    queue_buf(c, &b);
    ctx_done(x);
    return 0;
}

int bsrv_respond_parts(bsrv_ctx_t *x, const bsrv_part_t *parts, size_t n)
{
    conn_t *c = x->conn;
    if (!c || c->dead || c->closing) {
        ctx_done(x);
        return -1;
    }
    const kp_req_hdr_t *h = &x->req.hdr;
    buf_t b = BUF_INIT;
    buf_put_be32(&b, 0);
    kp_resp_hdr_encode(&b, h->api_key, h->api_version, h->correlation_id);
    uint64_t total = b.len - 4;
    struct evbuffer_file_segment **segs = xcalloc(n ? n : 1, sizeof *segs);
    const char *err = NULL;
    for (size_t i = 0; i < n && !err; i++) {
        total += parts[i].len;
        if (parts[i].fd < 0 || parts[i].len == 0)
            continue;
        int fd = dup(parts[i].fd);
        if (fd < 0) {
            err = "dup of a file region failed";
            break;
        }
        segs[i] = evbuffer_file_segment_new(fd, parts[i].off, (ev_off_t)parts[i].len, EVBUF_FS_CLOSE_ON_FREE);
        if (!segs[i]) {
            close(fd);
            err = "file region cannot be sent";
        }
    }
    if (!err && total > INT32_MAX)
        err = "response larger than 2 GiB";
    if (err) {
        for (size_t i = 0; i < n; i++)
            if (segs[i])
                evbuffer_file_segment_free(segs[i]);
        free(segs);
        buf_free(&b);
        LOG_E(SUB, "%s v%d response: %s", bdsp_api_name(h->api_key), h->api_version, err);
        protocol_close(c, err);
        ctx_done(x);
        return -1;
    }
    buf_set_be32(&b, 0, (uint32_t)total);
    struct evbuffer *out = bufferevent_get_output(c->bev);
    evbuffer_add(out, b.data, b.len);
    buf_free(&b);
    for (size_t i = 0; i < n; i++) {
        if (segs[i]) {
            evbuffer_add_file_segment(out, segs[i], 0, (ev_off_t)parts[i].len);
            evbuffer_file_segment_free(segs[i]);   /* the buffer holds its own reference */
        } else if (parts[i].len) {
            evbuffer_add(out, parts[i].p, parts[i].len);
        }
    }
    free(segs);
    count_out(x, (size_t)total + 4);
    ctx_done(x);
    return 0;
}

int bsrv_respond_bytes(bsrv_ctx_t *x, const void *body, size_t len)
{
    bsrv_part_t p = {body, len, -1, 0};
    return bsrv_respond_parts(x, &p, 1);
}

void bsrv_respond_none(bsrv_ctx_t *x)
{
    if (x->srv)
        x->srv->st.no_response++;
    ctx_done(x);
}

void bsrv_close(bsrv_ctx_t *x)
{
    conn_t *c = x->conn;
    if (c && !c->dead && !c->closing) {
        LOG_I(SUB, "closing connection %llu from %s at the handler's request (%s v%d)",
              (unsigned long long)c->id, c->peer, bdsp_api_name(x->req.hdr.api_key), x->req.hdr.api_version);
        conn_close_after_flush(c);
    }
    ctx_done(x);
}

/* ---- reading and dispatch ---- */

/* Handles every complete frame in the input, one request at a time. */
static void process(conn_t *c)
{
    bsrv_t *s = c->srv;
    c->in_process = true;
    while (!c->inflight && !c->closing && !c->dead) {
        struct evbuffer *in = bufferevent_get_input(c->bev);
        struct evbuffer *out = bufferevent_get_output(c->bev);
        if (evbuffer_get_length(out) > s->cfg.out_high_bytes) {
            /* backpressure: resume from the write callback once the output drained */
            bufferevent_disable(c->bev, EV_READ);
            bufferevent_setwatermark(c->bev, EV_WRITE, s->cfg.out_high_bytes / 4, 0);
            break;
        }
        size_t have = evbuffer_get_length(in);
        if (have < 4) {
            bufferevent_enable(c->bev, EV_READ);
            break;
        }
        uint8_t szb[4];
        evbuffer_copyout(in, szb, 4);
        int32_t size = (int32_t)be32_get(szb);
        if (size < MIN_FRAME || size > s->cfg.max_request_bytes) {
            char why[96];
            snprintf(why, sizeof why, "request size %d outside [%d, %lld]", size, MIN_FRAME,
                     (long long)s->cfg.max_request_bytes);
            protocol_close(c, why);
            break;
        }
        if (have < 4 + (size_t)size) {
            bufferevent_enable(c->bev, EV_READ);
            break;
        }
        /* the whole frame is here: only now is memory for it allocated */
        bsrv_ctx_t *x = xcalloc(1, sizeof *x);
        arena_init(&x->arena);
        x->conn = c;
        x->srv = s;
        x->conn_id = c->id;
        x->listener = c->listener;
        memcpy(x->peer, c->peer, sizeof x->peer);
        uint8_t *frame = arena_alloc_raw(&x->arena, (size_t)size);   /* filled at once from the socket */
        evbuffer_drain(in, 4);
        evbuffer_remove(in, frame, (size_t)size);
        s->st.bytes_in += (uint64_t)size + 4;

        buf_t reply = BUF_INIT, why = BUF_INIT;
        bdsp_action_t act = bdsp_route(&s->map, frame, (size_t)size, &x->arena, &x->req, &reply, &why);
        int key = x->req.hdr.api_key;
        if (key >= 0 && key < BDSP_NKEYS) {
            s->st.api[key].requests++;
            s->st.api[key].bytes_in += (uint64_t)size + 4;
        }
        if (act == BDSP_CLOSE) {
            protocol_close(c, buf_cstr(&why));
            ctx_free(x);
        } else if (act == BDSP_REPLIED) {
            count_out(x, reply.len);
            queue_buf(c, &reply);
            ctx_free(x);
        } else {
            bsrv_handler_t *h = &s->h.by_key[key];
            c->inflight = x;
            bufferevent_disable(c->bev, EV_READ);    /* muted until answered */
            h->fn(x, &x->req, h->arg);
        }
        buf_free(&reply);
        buf_free(&why);
    }
    c->in_process = false;
    if (c->dead)
        conn_destroy(c);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    (void)bev;
    conn_t *c = arg;
    c->last_active_ms = clock_mono_ms();
    process(c);
}

static void on_write(struct bufferevent *bev, void *arg)
{
    conn_t *c = arg;
    c->last_active_ms = clock_mono_ms();
    if (c->closing) {
        if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
            conn_kill(c);
        return;
    }
    bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
    if (!c->inflight)
        process(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    conn_t *c = arg;
    if (what & BEV_EVENT_ERROR)
        LOG_D(SUB, "connection %llu from %s: %s", (unsigned long long)c->id, c->peer,
              evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        conn_kill(c);
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn_t *c = arg;
    c->resume_pending = false;
    process(c);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
    (void)salen;
    bsrv_t *s = arg;
    int lis_idx = 0;
    for (int i = 0; i < s->nlis; i++)
        if (s->lis[i] == l)
            lis_idx = i;
    if (s->cfg.max_connections > 0 && s->st.open >= (uint64_t)s->cfg.max_connections) {
        s->st.rejected++;
        LOG_W(SUB, "too many connections (%d): refusing one", s->cfg.max_connections);
        evutil_closesocket(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    conn_t *c = xcalloc(1, sizeof *c);
    c->srv = s;
    c->id = ++s->next_id;
    c->listener = lis_idx;
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
    }
    snprintf(c->peer, sizeof c->peer, "%s:%d", host, port);
    c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) {
        evutil_closesocket(fd);
        free(c);
        return;
    }
    c->resume = event_new(s->base, -1, 0, on_resume, c);
    c->last_active_ms = clock_mono_ms();
    bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->st.accepted++;
    s->st.open++;
    LOG_D(SUB, "connection %llu from %s", (unsigned long long)c->id, c->peer);
}

/* Closes connections without traffic for idle_ms; one with a request in flight is not idle. */
static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    bsrv_t *s = arg;
    int64_t now = clock_mono_ms();
    conn_t *next;
    for (conn_t *c = s->conns; c; c = next) {
        next = c->next;
        if (c->inflight && !c->closing)
            continue;
        if (now - c->last_active_ms >= s->cfg.idle_ms) {
            LOG_D(SUB, "connection %llu from %s idle for %lld ms: closing", (unsigned long long)c->id,
                  c->peer, (long long)(now - c->last_active_ms));
            s->st.idle_closes++;
            conn_kill(c);
        }
    }
}

/* ---- listeners ---- */

/* Parses one "NAME://host:port" or "host:port" (host may be [v6]) into host and port. */
static int parse_listener(const char *item, char *host, size_t hostsz, int *port)
{
    const char *p = strstr(item, "://");
    p = p ? p + 3 : item;
    const char *colon = strrchr(p, ':');
    if (!colon)
        return -1;
    const char *h = p, *he = colon;
    if (*h == '[') {
        if (he - h < 2 || he[-1] != ']')
            return -1;
        h++;
        he--;
    }
    if ((size_t)(he - h) >= hostsz)
        return -1;
    memcpy(host, h, (size_t)(he - h));
    host[he - h] = '\0';
    char *end;
    long v = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || v < 0 || v > 65535)
        return -1;
    *port = (int)v;
    return 0;
}

static int add_listener(bsrv_t *s, const char *item)
{
    char host[256];
    int port;
    if (parse_listener(item, host, sizeof host, &port) < 0) {
        LOG_E(SUB, "listeners: cannot parse '%s' (want NAME://host:port or host:port)", item);
        return -1;
    }
    if (s->nlis >= MAX_LISTENERS) {
        LOG_E(SUB, "listeners: more than %d", MAX_LISTENERS);
        return -1;
    }
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = host[0] ? AF_UNSPEC : AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char portstr[8];
    snprintf(portstr, sizeof portstr, "%d", port);
    int gai = getaddrinfo(host[0] ? host : NULL, portstr, &hints, &res);
    if (gai != 0 || !res) {
        LOG_E(SUB, "listeners: cannot resolve '%s': %s", host, gai_strerror(gai));
        return -1;
    }
    struct evconnlistener *l = evconnlistener_new_bind(s->base, on_accept, s, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
                                                       -1, res->ai_addr, (int)res->ai_addrlen);
    freeaddrinfo(res);
    if (!l) {
        LOG_E(SUB, "listeners: cannot bind %s: %s", item, strerror(errno));
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int bound = port;
    if (getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&ss, &sl) == 0)
        bound = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                         : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    s->lis[s->nlis] = l;
    s->ports[s->nlis] = bound;
    s->nlis++;
    LOG_I(SUB, "listening on %s:%d", host[0] ? host : "*", bound);
    return 0;
}

bsrv_t *bsrv_new(struct event_base *base, const bsrv_config_t *cfg, const bsrv_handlers_t *h)
{
    bsrv_t *s = xcalloc(1, sizeof *s);
    s->base = base;
    s->cfg = *cfg;
    s->cfg.listeners = NULL;
    if (s->cfg.max_request_bytes <= 0)
        s->cfg.max_request_bytes = BSRV_DEFAULT_MAX_REQUEST;
    if (s->cfg.idle_ms == 0)
        s->cfg.idle_ms = BSRV_DEFAULT_IDLE_MS;
    if (s->cfg.out_high_bytes == 0)
        s->cfg.out_high_bytes = BSRV_DEFAULT_OUT_HIGH;
    if (h)
        s->h = *h;
    for (int k = 0; k < BDSP_NKEYS; k++)
        s->map.registered[k] = s->h.by_key[k].fn != NULL;

    char *list = xstrdup(cfg->listeners ? cfg->listeners : "");
    char *save = NULL;
    int rc = 0;
    for (char *it = strtok_r(list, ",", &save); it && rc == 0; it = strtok_r(NULL, ",", &save)) {
        while (*it == ' ')
            it++;
        if (*it)
            rc = add_listener(s, it);
    }
    free(list);
    if (rc == 0 && s->nlis == 0) {
        LOG_E(SUB, "listeners: none configured");
        rc = -1;
    }
    if (rc < 0) {
        bsrv_free(s);
        return NULL;
    }
    if (s->cfg.idle_ms > 0) {
        int64_t iv = s->cfg.idle_ms / 4;
        if (iv > 1000)
            iv = 1000;
        if (iv < 5)
            iv = 5;
        struct timeval tv = {(time_t)(iv / 1000), (suseconds_t)(iv % 1000) * 1000};
        s->sweep = event_new(base, -1, EV_PERSIST, on_sweep, s);
        event_add(s->sweep, &tv);
    }
    return s;
}

void bsrv_free(bsrv_t *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->nlis; i++)
        evconnlistener_free(s->lis[i]);
    while (s->conns)
        conn_destroy(s->conns);
    if (s->sweep)
        event_free(s->sweep);
    free(s);
}

int bsrv_set_handler(bsrv_t *s, int key, bsrv_handler_fn fn, void *arg)
{
    if (key < 0 || key >= BDSP_NKEYS)
        return -1;
    s->h.by_key[key].fn = fn;
    s->h.by_key[key].arg = arg;
    s->map.registered[key] = fn != NULL;
    return 0;
}

int bsrv_nlisteners(const bsrv_t *s) { return s->nlis; }

void bsrv_set_accepting(bsrv_t *s, bool on)
{
    for (int i = 0; i < s->nlis; i++) {
        if (on)
            evconnlistener_enable(s->lis[i]);
        else
            evconnlistener_disable(s->lis[i]);
    }
}
int bsrv_port(const bsrv_t *s, int i) { return i >= 0 && i < s->nlis ? s->ports[i] : -1; }
const bsrv_stats_t *bsrv_stats(const bsrv_t *s) { return &s->st; }
