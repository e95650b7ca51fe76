/* peer_net.c — see peer_net.h. */
#include "coord/peer_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/alloc.h"
#include "common/log.h"

#define SUB "quorum"
#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 1000
#define TABLE_AFTER_MS 3000   /* the start-up table waits at most this long for first attempts */
#define HELLO_LEN 16
#define HELLO_TIMEOUT_S 10    /* an incoming link must say hello within this */
#define SCRATCH_KEEP (1u << 20) /* peer_net_send keeps its framing buffer up to this size */

typedef enum { OUT_DOWN, OUT_CONNECTING, OUT_UP } out_state_t;

typedef struct peer_s {
    peer_net_t *pn;
    int id;
    char *host;
    int quorum_port;
    int election_port;
    bool self;
    struct bufferevent *out;
    out_state_t state;
    int backoff_ms;
    struct event *redial;
    bool tried;          /* the first dial finished (either way) */
    bool reachable;      /* last known state, for change logging */
    uint64_t sent_msgs, dropped_msgs;
} peer_t;

typedef struct in_link_s {
    struct in_link_s *prev, *next;
    peer_net_t *pn;
    struct bufferevent *bev;
    int from;            /* -1 until the hello */
    char addr[80];
} in_link_t;

struct peer_net_s {
    struct event_base *base;
    int my_id;
    bool listen_all;
    int connect_timeout_ms;
    int user_timeout_ms;
    void (*recv)(void *ctx, const zab_msg_t *msg);
    void (*down)(void *ctx, int id);
    void *ctx;
    peer_t *peers;
    int npeers;
    struct evconnlistener *listeners[2];
    in_link_t *links;
    struct event *table_ev;
    bool table_logged;
    buf_t scratch;           /* framing buffer of peer_net_send */
};

/* ---------------------------------------------------------------- framing */

void peer_frame_hello(buf_t *out, int from, int to)
{
    buf_put_be32(out, HELLO_LEN);
    buf_put_be32(out, PEER_NET_MAGIC);
    buf_put_be32(out, PEER_NET_VERSION);
    buf_put_be32(out, (uint32_t)from);
    buf_put_be32(out, (uint32_t)to);
}

int peer_parse_hello(const uint8_t *p, size_t len, int *from, int *to)
{
    if (len != HELLO_LEN || be32_get(p) != PEER_NET_MAGIC || be32_get(p + 4) != PEER_NET_VERSION)
        return -1;
    *from = (int)(int32_t)be32_get(p + 8);
    *to = (int)(int32_t)be32_get(p + 12);
    return 0;
}

void peer_frame_msg(buf_t *out, const zab_msg_t *msg)
{
    size_t at = out->len;
    buf_put_be32(out, 0);
    zab_msg_encode(msg, out);
    buf_set_be32(out, at, (uint32_t)(out->len - at - 4));
}

int64_t peer_frame_len(const uint8_t *p, size_t avail, uint32_t max, bool *ok)
{
    if (avail < 4)
        return -1;
    uint32_t n = be32_get(p);
    *ok = n >= 1 && n <= max;
    return n;
}

/* ---------------------------------------------------------------- helpers */

static peer_t *peer_by_id(peer_net_t *pn, int id)
{
    for (int i = 0; i < pn->npeers; i++)
        if (pn->peers[i].id == id && !pn->peers[i].self)
            return &pn->peers[i];
    return NULL;
}

static void tune_socket(peer_net_t *pn, evutil_socket_t fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
#ifdef TCP_USER_TIMEOUT
    if (pn->user_timeout_ms > 0) {
        unsigned int t = (unsigned int)pn->user_timeout_ms;
        setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &t, sizeof t);
    }
#endif
}

void peer_net_table(const peer_net_t *pn, buf_t *out)
{
    for (int i = 0; i < pn->npeers; i++) {
        const peer_t *p = &pn->peers[i];
        buf_printf(out, "  server.%d %s:%d:%d  %s\n", p->id, p->host, p->quorum_port, p->election_port,
                   p->self ? "this server"
                   : p->state == OUT_UP ? "reachable"
                   : p->tried ? "unreachable" : "not tried yet");
    }
}

static void log_table(peer_net_t *pn, const char *why)
{
    buf_t b = BUF_INIT;
    peer_net_table(pn, &b);
    if (b.len && b.data[b.len - 1] == '\n')
        b.len--;
    LOG_I(SUB, "peers (%s):\n%s", why, buf_cstr(&b));
    buf_free(&b);
}

static void maybe_log_start_table(peer_net_t *pn)
{
    if (pn->table_logged)
        return;
    for (int i = 0; i < pn->npeers; i++)
        if (!pn->peers[i].self && !pn->peers[i].tried)
            return;
    pn->table_logged = true;
    log_table(pn, "at start");
}

static void on_table_timer(evutil_socket_t fd, short what, void *arg)
{
    peer_net_t *pn = arg;
    if (!pn->table_logged) {
        pn->table_logged = true;
        log_table(pn, "at start");
    }
}

static void set_reachable(peer_t *p, bool up)
{
    peer_net_t *pn = p->pn;
    bool first = !p->tried;
    p->tried = true;
    if (!first && p->reachable == up)
        return;
    p->reachable = up;
    if (!pn->table_logged) {
        maybe_log_start_table(pn);
        return;
    }
    if (first && !up)
        return;
    LOG_I(SUB, "server.%d %s:%d is %s", p->id, p->host, p->quorum_port, up ? "reachable" : "unreachable");
    log_table(pn, "changed");
}

/* ---------------------------------------------------------------- outgoing links */

static void dial(peer_t *p);

static void out_down(peer_t *p)
{
    peer_net_t *pn = p->pn;
    bool was_up = p->state == OUT_UP;
    if (p->out) {
        bufferevent_free(p->out);
        p->out = NULL;
    }
    p->state = OUT_DOWN;
    set_reachable(p, false);
    struct timeval tv = {p->backoff_ms / 1000, (p->backoff_ms % 1000) * 1000};
    evtimer_add(p->redial, &tv);
    p->backoff_ms *= 2;
    if (p->backoff_ms > BACKOFF_MAX_MS)
        p->backoff_ms = BACKOFF_MAX_MS;
    if (was_up && pn->down)
        pn->down(pn->ctx, p->id);
}

static void on_out_read(struct bufferevent *bev, void *arg)
{
    /* Peers never write on the links we dialled; discard anything that arrives. */
    struct evbuffer *in = bufferevent_get_input(bev);
    evbuffer_drain(in, evbuffer_get_length(in));
}

static void on_out_event(struct bufferevent *bev, short what, void *arg)
{
    peer_t *p = arg;
    if (what & BEV_EVENT_CONNECTED) {
        p->state = OUT_UP;
        p->backoff_ms = BACKOFF_MIN_MS;
        bufferevent_set_timeouts(bev, NULL, NULL);
        tune_socket(p->pn, bufferevent_getfd(bev));
        buf_t b = BUF_INIT;
        peer_frame_hello(&b, p->pn->my_id, p->id);
        bufferevent_write(bev, b.data, b.len);
        buf_free(&b);
        set_reachable(p, true);
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
        if (p->state == OUT_UP)
            LOG_D(SUB, "link to server.%d closed", p->id);
        out_down(p);
    }
}

static void dial(peer_t *p)
{
    peer_net_t *pn = p->pn;
    char port[16];
    snprintf(port, sizeof port, "%d", p->quorum_port);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(p->host, port, &hints, &res);
    if (rc || !res) {
        if (!p->tried)
            LOG_W(SUB, "cannot resolve server.%d host '%s': %s", p->id, p->host, gai_strerror(rc));
        if (res)
            freeaddrinfo(res);
        p->state = OUT_CONNECTING;   /* so out_down counts it as a failed attempt */
        out_down(p);
        return;
    }
    p->out = bufferevent_socket_new(pn->base, -1, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(p->out, on_out_read, NULL, on_out_event, p);
    struct timeval tv = {pn->connect_timeout_ms / 1000, (pn->connect_timeout_ms % 1000) * 1000};
    bufferevent_set_timeouts(p->out, NULL, &tv);
    bufferevent_enable(p->out, EV_READ | EV_WRITE);
    p->state = OUT_CONNECTING;
    int rc2 = bufferevent_socket_connect(p->out, res->ai_addr, (int)res->ai_addrlen);
    freeaddrinfo(res);
    /* On an immediate failure libevent may already have run on_out_event (-> out_down). */
    if (rc2 < 0 && p->state == OUT_CONNECTING)
        out_down(p);
}

static void on_redial(evutil_socket_t fd, short what, void *arg)
{
    peer_t *p = arg;
    if (p->state == OUT_DOWN)
        dial(p);
}

int peer_net_send(peer_net_t *pn, const zab_msg_t *msg)
{
    peer_t *p = peer_by_id(pn, msg->to);
    if (!p)
        return -1;
    if (p->state != OUT_UP) {
        p->dropped_msgs++;
        return -1;
    }
    struct evbuffer *out = bufferevent_get_output(p->out);
    if (evbuffer_get_length(out) > PEER_NET_MAX_OUT) {
        LOG_W(SUB, "link to server.%d: %zu bytes unsent; resetting it", p->id, evbuffer_get_length(out));
        p->dropped_msgs++;
        out_down(p);
        return -1;
    }
    buf_t *b = &pn->scratch;   /* reused: no allocation per message */
    b->len = 0;
    peer_frame_msg(b, msg);
    bufferevent_write(p->out, b->data, b->len);
    if (b->cap > SCRATCH_KEEP)
        buf_free(b);              /* a snapshot went out: do not keep its size */
    p->sent_msgs++;
    return 0;
}

void peer_net_flush(peer_net_t *pn)
{
    for (int i = 0; i < pn->npeers; i++) {
        peer_t *p = &pn->peers[i];
        if (p->self || p->state != OUT_UP || !p->out)
            continue;
        struct evbuffer *out = bufferevent_get_output(p->out);
        if (!evbuffer_get_length(out))
            continue;
        /* A socket bufferevent freezes the start of its output (only its own write
         * callback drains it); we do what that callback does, once, without blocking.
         * Whatever does not fit in the socket stays queued for the callback; an error
         * shows up there too. */
        evbuffer_unfreeze(out, 1);
        evbuffer_write(out, bufferevent_getfd(p->out));
        evbuffer_freeze(out, 1);
    }
}

bool peer_net_connected(const peer_net_t *pn, int id)
{
    for (int i = 0; i < pn->npeers; i++)
        if (pn->peers[i].id == id && !pn->peers[i].self)
            return pn->peers[i].state == OUT_UP;
    return false;
}

/* ---------------------------------------------------------------- incoming links */

/* Closes an incoming link; if report, a link that had said hello is reported down. */
static void link_close(in_link_t *l, bool report)
{
    peer_net_t *pn = l->pn;
    int from = l->from;
    if (l->prev)
        l->prev->next = l->next;
    else
        pn->links = l->next;
    if (l->next)
        l->next->prev = l->prev;
    if (l->bev)
        bufferevent_free(l->bev);
    free(l);
    if (report && from >= 0 && pn->down)
        pn->down(pn->ctx, from);
}

static void link_free(in_link_t *l)
{
    link_close(l, true);
}

static void on_in_read(struct bufferevent *bev, void *arg)
{
    in_link_t *l = arg;
    peer_net_t *pn = l->pn;
    struct evbuffer *in = bufferevent_get_input(bev);
    for (;;) {
        size_t avail = evbuffer_get_length(in);
        uint8_t hdr[4];
        if (avail < 4)
            return;
        evbuffer_copyout(in, hdr, 4);
        bool ok = false;
        int64_t n = peer_frame_len(hdr, avail, l->from < 0 ? HELLO_LEN : PEER_NET_MAX_FRAME, &ok);
        if (!ok) {
            LOG_W(SUB, "link from %s: frame length %" PRId64 " out of range; closing it", l->addr, n);
            link_free(l);
            return;
        }
        if (avail < (size_t)n + 4)
            return;
        const uint8_t *body = evbuffer_pullup(in, n + 4) + 4;
        if (l->from < 0) {
            int from, to;
            if (peer_parse_hello(body, (size_t)n, &from, &to) || to != pn->my_id || !peer_by_id(pn, from)) {
                LOG_W(SUB, "link from %s: not a hello from a configured server (or not for server.%d); closing it",
                      l->addr, pn->my_id);
                link_free(l);
                return;
            }
            l->from = from;
            bufferevent_set_timeouts(bev, NULL, NULL);
            LOG_D(SUB, "link from server.%d (%s) up", from, l->addr);
        } else {
            zab_msg_t m;
            if (zab_msg_decode(&m, body, (size_t)n) || m.from != l->from || m.to != pn->my_id) {
                LOG_W(SUB, "link from server.%d (%s): a message that does not decode (or is not from it); "
                           "closing it",
                      l->from, l->addr);
                if (m.type)
                    zab_msg_free(&m);
                link_free(l);
                return;
            }
            evbuffer_drain(in, (size_t)n + 4);
            pn->recv(pn->ctx, &m);
            zab_msg_free(&m);
            continue;
        }
        evbuffer_drain(in, (size_t)n + 4);
    }
}

static void on_in_event(struct bufferevent *bev, short what, void *arg)
{
    in_link_t *l = arg;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
        if (l->from >= 0)
            LOG_D(SUB, "link from server.%d closed", l->from);
        link_free(l);
    }
}

static void on_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
    peer_net_t *pn = arg;
    in_link_t *l = xcalloc(1, sizeof *l);
    l->pn = pn;
    l->from = -1;
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
    }
    snprintf(l->addr, sizeof l->addr, "%s:%d", ip, port);
    tune_socket(pn, fd);
    l->bev = bufferevent_socket_new(pn->base, fd, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(l->bev, on_in_read, NULL, on_in_event, l);
    struct timeval tv = {HELLO_TIMEOUT_S, 0};
    bufferevent_set_timeouts(l->bev, &tv, NULL);
    bufferevent_enable(l->bev, EV_READ | EV_WRITE);
    l->next = pn->links;
    if (pn->links)
        pn->links->prev = l;
    pn->links = l;
}

/* Binds port on all addresses ([::], else 0.0.0.0) or on host. */
static struct evconnlistener *listen_on(peer_net_t *pn, const char *host, int port, char *err, size_t errlen)
{
    unsigned flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE;
    struct evconnlistener *l = NULL;
    if (!host) {
        struct sockaddr_in6 in6;
        memset(&in6, 0, sizeof in6);
        in6.sin6_family = AF_INET6;
        in6.sin6_port = htons((uint16_t)port);
        in6.sin6_addr = in6addr_any;
        l = evconnlistener_new_bind(pn->base, on_accept, pn, flags, 128, (struct sockaddr *)&in6, sizeof in6);
        if (!l) {
            struct sockaddr_in in;
            memset(&in, 0, sizeof in);
            in.sin_family = AF_INET;
            in.sin_port = htons((uint16_t)port);
            in.sin_addr.s_addr = htonl(INADDR_ANY);
            l = evconnlistener_new_bind(pn->base, on_accept, pn, flags, 128, (struct sockaddr *)&in, sizeof in);
        }
        if (!l)
            snprintf(err, errlen, "cannot listen on port %d (all addresses): %s", port, strerror(errno));
        return l;
    }
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    int rc = getaddrinfo(host, ps, &hints, &res);
    if (rc || !res) {
        snprintf(err, errlen, "cannot resolve this server's address '%s': %s", host, gai_strerror(rc));
        if (res)
            freeaddrinfo(res);
        return NULL;
    }
    l = evconnlistener_new_bind(pn->base, on_accept, pn, flags, 128, res->ai_addr, (int)res->ai_addrlen);
    if (!l)
        snprintf(err, errlen, "cannot listen on %s:%d: %s (quorumListenOnAllIPs=false binds the address of "
                 "this server's server.N line)", host, port, strerror(errno));
    freeaddrinfo(res);
    return l;
}

/* ---------------------------------------------------------------- lifecycle */

peer_net_t *peer_net_new(struct event_base *base, const peer_net_opts_t *o, char *err, size_t errlen)
{
    if (o->npeers < 1 || o->npeers > PEER_NET_MAX_PEERS || !o->recv) {
        snprintf(err, errlen, "peer_net: invalid options");
        return NULL;
    }
    peer_net_t *pn = xcalloc(1, sizeof *pn);
    pn->base = base;
    pn->my_id = o->my_id;
    pn->listen_all = o->listen_all;
    pn->connect_timeout_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 2000;
    pn->user_timeout_ms = o->user_timeout_ms;
    pn->recv = o->recv;
    pn->down = o->down;
    pn->ctx = o->ctx;
    pn->peers = xcalloc((size_t)o->npeers, sizeof *pn->peers);
    pn->npeers = o->npeers;
    const peer_t *me = NULL;
    for (int i = 0; i < o->npeers; i++) {
        peer_t *p = &pn->peers[i];
        p->pn = pn;
        p->id = o->peers[i].id;
        p->host = xstrdup(o->peers[i].host ? o->peers[i].host : "");
        p->quorum_port = o->peers[i].quorum_port;
        p->election_port = o->peers[i].election_port;
        p->self = p->id == o->my_id;
        p->backoff_ms = BACKOFF_MIN_MS;
        p->redial = evtimer_new(base, on_redial, p);
        if (p->self)
            me = p;
    }
    if (!me) {
        snprintf(err, errlen, "peer_net: server.%d is not in the list", o->my_id);
        peer_net_free(pn);
        return NULL;
    }
    const char *bind_host = o->listen_all ? NULL : me->host;
    pn->listeners[0] = listen_on(pn, bind_host, me->quorum_port, err, errlen);
    if (pn->listeners[0] && me->election_port != me->quorum_port)
        pn->listeners[1] = listen_on(pn, bind_host, me->election_port, err, errlen);
    if (!pn->listeners[0] || (me->election_port != me->quorum_port && !pn->listeners[1])) {
        peer_net_free(pn);
        return NULL;
    }
    LOG_I(SUB, "server.%d listening for peers on %s:%d and %s:%d", o->my_id, bind_host ? bind_host : "*",
          me->quorum_port, bind_host ? bind_host : "*", me->election_port);
    for (int i = 0; i < pn->npeers; i++)
        if (!pn->peers[i].self)
            dial(&pn->peers[i]);
    pn->table_ev = evtimer_new(base, on_table_timer, pn);
    struct timeval tv = {TABLE_AFTER_MS / 1000, (TABLE_AFTER_MS % 1000) * 1000};
    evtimer_add(pn->table_ev, &tv);
    maybe_log_start_table(pn);
    return pn;
}

void peer_net_free(peer_net_t *pn)
{
    if (!pn)
        return;
    for (int i = 0; i < 2; i++)
        if (pn->listeners[i])
            evconnlistener_free(pn->listeners[i]);
    while (pn->links)
        link_close(pn->links, false);
    for (int i = 0; i < pn->npeers; i++) {
        peer_t *p = &pn->peers[i];
        if (p->out)
            bufferevent_free(p->out);
        if (p->redial)
            event_free(p->redial);
        free(p->host);
    }
    if (pn->table_ev)
        event_free(pn->table_ev);
    buf_free(&pn->scratch);
    free(pn->peers);
    free(pn);
}
