/* server.h — the broker's Kafka listeners and client connections (prefix bsrv_).
 *
 * Owns: the listening sockets of `listeners`, one bufferevent per accepted connection, the
 * framing (int32 size + request), the per-request context and arena, idle expiry, output
 * backpressure and the request/byte counters. What to do with a decoded request is
 * broker/dispatch.h's job; what to answer is the registered handler's.
 *
 * Per connection, requests are handled strictly in order and one at a time, as Kafka's
 * SocketServer mutes a channel while a request is being processed: the next frame is not
 * looked at until the handler has answered the current one (bsrv_respond*), which it may do
 * synchronously or later from any loop callback (long-poll Fetch, acks=-1 Produce,
 * JoinGroup). Everything runs on the broker's one event loop; nothing here is thread-safe.
 *
 * Hostile input (reliability anchors B1-B13): a size below the smallest request header or
 * above socket.request.max.bytes closes the connection before anything is allocated; the
 * frame's memory is allocated only once all its bytes have arrived; an unknown API key, an
 * unsupported version (except ApiVersions: error 35), a malformed body or an API without a
 * handler closes that connection only, after logging it. Reading stops while a request is
 * in flight and while more than out_high_bytes of responses wait to be written, so a
 * connection's buffers stay bounded by one frame plus one socket read. */
#ifndef GREGOR_BROKER_SERVER_H
#define GREGOR_BROKER_SERVER_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/dispatch.h"
#include "common/arena.h"
#include "proto/kafka_api.h"

typedef struct bsrv_s bsrv_t;
/* One request in flight: created by the server, consumed by exactly one bsrv_respond*,
 * bsrv_respond_none or bsrv_close call. */
typedef struct bsrv_ctx_s bsrv_ctx_t;

/* Called on the loop with a decoded request (KP_OK, a key with a handler, not ApiVersions).
 * req and everything it points to live in the context until it is answered. The handler
 * (or whoever it hands ctx to) must answer ctx exactly once, even if the connection closes
 * meanwhile (bsrv_ctx_closed tells; answering then just frees ctx). */
typedef void (*bsrv_handler_fn)(bsrv_ctx_t *ctx, const kp_request_t *req, void *arg);

typedef struct bsrv_handler_s {
    bsrv_handler_fn fn;      /* NULL: not registered (the API is not advertised) */
    void *arg;
} bsrv_handler_t;

typedef struct bsrv_handlers_s {
    bsrv_handler_t by_key[BDSP_NKEYS];
} bsrv_handlers_t;

#define BSRV_DEFAULT_MAX_REQUEST (104857600LL)   /* socket.request.max.bytes */
#define BSRV_DEFAULT_IDLE_MS (600000LL)          /* connections.max.idle.ms */
#define BSRV_DEFAULT_OUT_HIGH ((size_t)4 << 20)

typedef struct bsrv_config_s {
    /* Comma-separated listeners, Kafka's "NAME://host:port" or plain "host:port"; an empty
     * host binds all interfaces, port 0 an ephemeral port (see bsrv_port). */
    const char *listeners;
    int64_t max_request_bytes;   /* 0: BSRV_DEFAULT_MAX_REQUEST */
    int64_t idle_ms;             /* 0: BSRV_DEFAULT_IDLE_MS; negative: never expire */
    size_t out_high_bytes;       /* stop reading above this much queued output; 0: default */
    int max_connections;         /* 0: unlimited; beyond it new connections are closed */
} bsrv_config_t;

typedef struct bsrv_api_stats_s {
    uint64_t requests;           /* frames routed to this key (incl. refused ones) */
    uint64_t bytes_in;           /* their sizes, with the size prefix */
    uint64_t bytes_out;          /* responses, with the size prefix */
} bsrv_api_stats_t;

typedef struct bsrv_stats_s {
    uint64_t accepted, rejected, closed, open;
    uint64_t protocol_closes;    /* connections closed for bad framing or requests */
    uint64_t idle_closes;
    uint64_t bytes_in, bytes_out;
    uint64_t no_response;        /* bsrv_respond_none (acks=0) */
    bsrv_api_stats_t api[BDSP_NKEYS];
} bsrv_stats_t;

/* Binds every listener and starts accepting on base. h is copied. NULL on error (logged:
 * unparsable listener, bind failure). */
bsrv_t *bsrv_new(struct event_base *base, const bsrv_config_t *cfg, const bsrv_handlers_t *h);
/* Closes the listeners and every connection. Contexts still in flight become orphans: their
 * owners must still answer them (which frees them). */
void bsrv_free(bsrv_t *s);
/* Registers (fn != NULL) or removes a handler after bsrv_new. 0, or -1 for a bad key. */
int bsrv_set_handler(bsrv_t *s, int key, bsrv_handler_fn fn, void *arg);

int bsrv_nlisteners(const bsrv_t *s);
/* Stops or resumes accepting connections (the sockets stay bound; clients wait in the
 * listen backlog): the broker binds first, to know its ports, and accepts once every
 * module has registered its handlers. */
void bsrv_set_accepting(bsrv_t *s, bool on);
/* The bound port of listener i (useful with port 0), or -1. */
int bsrv_port(const bsrv_t *s, int i);
const bsrv_stats_t *bsrv_stats(const bsrv_t *s);

/* ---- the request context ---- */

const kp_request_t *bsrv_ctx_request(const bsrv_ctx_t *c);
/* The request's arena: for the response and anything else that lives until it is answered. */
arena_t *bsrv_ctx_arena(bsrv_ctx_t *c);
/* True once the client's connection is gone (answering is then a no-op that frees ctx). */
bool bsrv_ctx_closed(const bsrv_ctx_t *c);
uint64_t bsrv_ctx_conn_id(const bsrv_ctx_t *c);
/* Index of the listener (in `listeners` order) the client connected to: Metadata and
 * FindCoordinator answer with that listener's advertised endpoints. */
int bsrv_ctx_listener(const bsrv_ctx_t *c);
/* "ip:port" of the client. */
const char *bsrv_ctx_peer(const bsrv_ctx_t *c);

/* Answers with resp, a kp_<Api>Response of the request's API, encoded at the request's
 * version with the right response header. Frees ctx. 0; -1 if the connection is gone or resp
 * cannot be encoded at that version (the connection is then closed and it is logged). */
int bsrv_respond(bsrv_ctx_t *c, const void *resp);

/* A piece of a pre-encoded response body: bytes (fd < 0) or a file region sent with
 * sendfile (fd >= 0: len bytes from offset off; the server dups fd, so the caller may close
 * its own right away, but the region's bytes must stay in the file until sent). */
typedef struct bsrv_part_s {
    const void *p;
    size_t len;
    int fd;
    int64_t off;
} bsrv_part_t;

/* Answers with the body made of parts in order; the server adds the size and the response
 * header. Bytes are copied. Frees ctx. 0, or -1 (connection gone or closed on failure). */
int bsrv_respond_parts(bsrv_ctx_t *c, const bsrv_part_t *parts, size_t n);
/* Answers with pre-encoded body bytes. */
int bsrv_respond_bytes(bsrv_ctx_t *c, const void *body, size_t len);
/* No response (Produce with acks=0): the connection moves on to its next request. Frees ctx. */
void bsrv_respond_none(bsrv_ctx_t *c);
/* No response, and the connection is closed after what is queued has been written (for a
 * request Kafka answers by disconnecting). Frees ctx. */
void bsrv_close(bsrv_ctx_t *c);

#endif
