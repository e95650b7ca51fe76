/* kcli.c — asynchronous Kafka client connection (see kcli.h). */
#include "broker/kcli.h"

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

#include "common/alloc.h"
#include "common/buf.h"
#include "common/log.h"
#include "proto/kafka_api.h"

#define KCLI_LOG "kcli"
#define KCLI_BACKOFF_MIN_MS 50
#define KCLI_BACKOFF_MAX_MS 1000
#define KCLI_MAX_RESPONSE (100 * 1024 * 1024)

typedef struct kreq_s {
    struct kreq_s *next;
    int16_t key, version;
    int32_t corr;
    unsigned flags;
    kcli_cb cb;
    void *ctx;
    uint8_t *frame;     /* complete frame with its size prefix */
    size_t len;
    bool sent;
} kreq_t;

enum kcli_state { ST_IDLE = 0, ST_CONNECTING, ST_CONNECTED, ST_BACKOFF };

struct kcli_s {
    struct event_base *base;
    char *host;
    int port;
    char *client_id;
    struct bufferevent *bev;
    enum kcli_state st;
    kreq_t *head, *tail;
    int npending;
    int32_t next_corr;
    int64_t backoff_ms;
    struct event *retry_ev;
    int64_t timeout_ms;
    uint64_t connects;
    int depth;              /* callbacks running */
    bool free_pending;
    bool failing_logged;
};

static void do_free(kcli_t *c);
static void start_connect(kcli_t *c);

static void req_free(kreq_t *r)
{
    free(r->frame);
    free(r);
}

static void call_cb(kcli_t *c, kreq_t *r, int err, const void *resp, arena_t *a)
{
    if (!r->cb)
        return;
    c->depth++;
    r->cb(r->ctx, err, resp, a);
    c->depth--;
}

static void set_read_timeout(kcli_t *c)
{
    if (!c->bev)
        return;
    if (c->timeout_ms > 0 && c->head && c->head->sent) {
        struct timeval tv = {(time_t)(c->timeout_ms / 1000), (suseconds_t)(c->timeout_ms % 1000) * 1000};
        bufferevent_set_timeouts(c->bev, &tv, NULL);
    } else {
        bufferevent_set_timeouts(c->bev, NULL, NULL);
    }
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    kcli_t *c = arg;
    c->st = ST_IDLE;
    if (c->head)
        start_connect(c);
}

/* Drops the connection: requests without KCLI_RETRY fail with err, the others wait for
 * the next connection, which is opened after the backoff if anything is left. */
static void conn_fail(kcli_t *c, int err, const char *why)
{
    if (c->bev) {
        bufferevent_free(c->bev);
        c->bev = NULL;
    }
    if (c->npending == 0) {
        LOG_D(KCLI_LOG, "idle connection to %s:%d closed (%s)", c->host, c->port, why);
    } else if (!c->failing_logged) {
        LOG_W(KCLI_LOG, "connection to %s:%d failed (%s); %d request(s) pending", c->host, c->port, why,
              c->npending);
        c->failing_logged = true;
    } else {
        LOG_D(KCLI_LOG, "connection to %s:%d failed again (%s)", c->host, c->port, why);
    }
    kreq_t *failed = NULL, **ftail = &failed;
    kreq_t **pp = &c->head;
    c->tail = NULL;
    while (*pp) {
        kreq_t *r = *pp;
        if (r->flags & KCLI_RETRY) {
            r->sent = false;
            c->tail = r;
            pp = &r->next;
        } else {
            *pp = r->next;
            r->next = NULL;
            *ftail = r;
            ftail = &r->next;
            c->npending--;
        }
    }
    if (c->head) {
        c->st = ST_BACKOFF;
        struct timeval tv = {(time_t)(c->backoff_ms / 1000), (suseconds_t)(c->backoff_ms % 1000) * 1000};
        evtimer_add(c->retry_ev, &tv);
        c->backoff_ms *= 2;
        if (c->backoff_ms > KCLI_BACKOFF_MAX_MS)
            c->backoff_ms = KCLI_BACKOFF_MAX_MS;
    } else {
        c->st = ST_IDLE;
    }
    c->depth++;   /* a callback freeing c must not free it under us */
    while (failed) {
        kreq_t *r = failed;
        failed = r->next;
        call_cb(c, r, err, NULL, NULL);
        req_free(r);
    }
    c->depth--;
    if (c->free_pending && c->depth == 0)
        do_free(c);
}

static void write_unsent(kcli_t *c)
{
    for (kreq_t *r = c->head; r; r = r->next) {
        if (!r->sent) {
            bufferevent_write(c->bev, r->frame, r->len);
            r->sent = true;
        }
    }
    set_read_timeout(c);
}

/* Handles one complete response frame (without its size). Returns false if the
 * connection was dropped (or c freed). */
static bool handle_frame(kcli_t *c, const uint8_t *frame, size_t len)
{
    kreq_t *r = c->head;
    if (!r || !r->sent) {
        conn_fail(c, KCLI_EPROTOCOL, "response without a request");
        return false;
    }
    arena_t a;
    arena_init(&a);
    int32_t corr = -1;
    void *body = NULL;
    int rc = kp_response_decode(frame, len, r->key, r->version, &a, &corr, &body);
    if (rc != KP_OK || corr != r->corr) {
        arena_free(&a);
        char why[96];
        snprintf(why, sizeof why, rc != KP_OK ? "undecodable response (api %d v%d)" : "correlation id %d, expected %d",
                 rc != KP_OK ? r->key : corr, rc != KP_OK ? r->version : r->corr);
        conn_fail(c, KCLI_EPROTOCOL, why);
        return false;
    }
    c->head = r->next;
    if (!c->head)
        c->tail = NULL;
    c->npending--;
    c->backoff_ms = KCLI_BACKOFF_MIN_MS;
    c->failing_logged = false;
    set_read_timeout(c);
    call_cb(c, r, KCLI_OK, body, &a);
    arena_free(&a);
    req_free(r);
    if (c->free_pending && c->depth == 0) {
        do_free(c);
        return false;
    }
    return c->bev != NULL;
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    kcli_t *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    for (;;) {
        size_t avail = evbuffer_get_length(in);
        if (avail < 4)
            return;
        uint8_t hdr[4];
        evbuffer_copyout(in, hdr, 4);
        uint32_t size = be32_get(hdr);
        if (size < 4 || size > KCLI_MAX_RESPONSE) {
            conn_fail(c, KCLI_EPROTOCOL, "bad response size");
            return;
        }
        if (avail < 4 + (size_t)size)
            return;
        evbuffer_drain(in, 4);
        uint8_t *frame = xmalloc(size);
        evbuffer_remove(in, frame, size);
        bool ok = handle_frame(c, frame, size);
        free(frame);
        if (!ok)
            return;
    }
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    kcli_t *c = arg;
    if (what & BEV_EVENT_CONNECTED) {
        evutil_socket_t fd = bufferevent_getfd(bev);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->st = ST_CONNECTED;
        c->connects++;
        bufferevent_enable(bev, EV_READ | EV_WRITE);
        write_unsent(c);
        return;
    }
    if (what & BEV_EVENT_TIMEOUT) {
        if (c->head && c->head->sent) {
            conn_fail(c, KCLI_ETIMEOUT, "request timed out");
            return;
        }
        bufferevent_enable(bev, EV_READ);
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        char why[128];
        int e = EVUTIL_SOCKET_ERROR();
        snprintf(why, sizeof why, "%s", (what & BEV_EVENT_EOF) ? "closed by the peer" : evutil_socket_error_to_string(e));
        conn_fail(c, KCLI_EDISCONNECTED, why);
    }
}

static void start_connect(kcli_t *c)
{
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    char port[16];
    snprintf(port, sizeof port, "%d", c->port);
    const char *host = c->host[0] ? c->host : "127.0.0.1";
    int e = getaddrinfo(host, port, &hints, &ai);
    c->st = ST_CONNECTING;
    c->bev = bufferevent_socket_new(c->base, -1, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(c->bev, read_cb, NULL, event_cb, c);
    if (e != 0 || !ai) {
        char why[160];
        snprintf(why, sizeof why, "cannot resolve %s: %s", host, gai_strerror(e));
        if (ai)
            freeaddrinfo(ai);
        conn_fail(c, KCLI_EDISCONNECTED, why);
        return;
    }
    int rc = bufferevent_socket_connect(c->bev, ai->ai_addr, (int)ai->ai_addrlen);
    freeaddrinfo(ai);
    if (rc < 0)
        conn_fail(c, KCLI_EDISCONNECTED, "connect failed");
}

kcli_t *kcli_new(struct event_base *base, const char *host, int port, const char *client_id)
{
    kcli_t *c = xcalloc(1, sizeof *c);
    c->base = base;
    c->host = xstrdup(host ? host : "");
    c->port = port;
    c->client_id = client_id ? xstrdup(client_id) : NULL;
    c->next_corr = 1;
    c->backoff_ms = KCLI_BACKOFF_MIN_MS;
    c->timeout_ms = 30000;
    c->retry_ev = evtimer_new(base, retry_cb, c);
    return c;
}

static void do_free(kcli_t *c)
{
    if (c->bev)
        bufferevent_free(c->bev);
    c->bev = NULL;
    kreq_t *r = c->head;
    c->head = c->tail = NULL;
    c->npending = 0;
    c->depth++;
    while (r) {
        kreq_t *n = r->next;
        call_cb(c, r, KCLI_ECANCELLED, NULL, NULL);
        req_free(r);
        r = n;
    }
    /* requests sent from those callbacks */
    while (c->head) {
        kreq_t *q = c->head;
        c->head = q->next;
        call_cb(c, q, KCLI_ECANCELLED, NULL, NULL);
        req_free(q);
    }
    event_free(c->retry_ev);
    free(c->host);
    free(c->client_id);
    free(c);
}

void kcli_free(kcli_t *c)
{
    if (!c)
        return;
    if (c->depth > 0) {
        c->free_pending = true;
        return;
    }
    do_free(c);
}

int kcli_send(kcli_t *c, int16_t api_key, int16_t version, const void *req, unsigned flags, kcli_cb cb,
              void *ctx)
{
    kp_req_hdr_t h;
    memset(&h, 0, sizeof h);
    h.api_key = api_key;
    h.api_version = version;
    h.correlation_id = c->next_corr;
    h.client_id = c->client_id ? kp_str(c->client_id) : KP_STR_NULL;
    h.version = (int8_t)kp_req_hdr_version(api_key, version);
    buf_t b;
    buf_init(&b);
    if (kp_request_encode(&b, &h, req) != KP_OK) {
        buf_free(&b);
        LOG_W(KCLI_LOG, "cannot encode api %d v%d for %s:%d", api_key, version, c->host, c->port);
        return KCLI_EENCODE;
    }
    c->next_corr = c->next_corr == INT32_MAX ? 1 : c->next_corr + 1;
    kreq_t *r = xcalloc(1, sizeof *r);
    r->key = api_key;
    r->version = version;
    r->corr = h.correlation_id;
    r->flags = flags;
    r->cb = cb;
    r->ctx = ctx;
    r->frame = buf_steal(&b, &r->len);
    if (c->tail)
        c->tail->next = r;
    else
        c->head = r;
    c->tail = r;
    c->npending++;
    if (c->free_pending)
        return 0;   /* cancelled by the pending free */
    if (c->st == ST_IDLE) {
        /* connect from the loop, so that a failure never calls back from inside kcli_send */
        c->st = ST_BACKOFF;
        struct timeval tv = {0, 0};
        evtimer_add(c->retry_ev, &tv);
    } else if (c->st == ST_CONNECTED)
        write_unsent(c);
    return 0;
}

int kcli_pending(const kcli_t *c) { return c->npending; }
bool kcli_connected(const kcli_t *c) { return c->st == ST_CONNECTED; }
const char *kcli_host(const kcli_t *c) { return c->host; }
int kcli_port(const kcli_t *c) { return c->port; }
uint64_t kcli_connects(const kcli_t *c) { return c->connects; }

void kcli_set_timeout(kcli_t *c, int64_t ms)
{
    c->timeout_ms = ms;
    set_read_timeout(c);
}
