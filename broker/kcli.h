/* kcli.h — an asynchronous Kafka protocol client connection on libevent, for
 * broker-to-broker requests (the controller's LeaderAndIsr / UpdateMetadata /
 * StopReplica, Kafka's ControllerChannelManager + NetworkClient). Prefix kcli_.
 *
 * One kcli_t = one destination (host, port) and at most one TCP connection to it. The
 * connection is opened on the first request and re-opened after a failure with an
 * exponential backoff (50 ms doubling to 1 s; reset by the first response received).
 * Requests are encoded at once (kp_request_encode: header version of the API, a fresh
 * correlation id), queued while connecting, then pipelined; responses are matched in
 * order by correlation id (a mismatch or an undecodable response is a protocol error
 * that drops the connection).
 *
 * When the connection fails, a request already written or waiting is either failed
 * (callback with KCLI_EDISCONNECTED) or, if sent with KCLI_RETRY, kept and sent again
 * (same bytes, in the same order) on the next connection — Kafka's RequestSendThread
 * retries controller requests until they are answered. So a receiving side that closes
 * the connection on a request it cannot handle delays, but never loses, that request.
 *
 * Threading: none; one event_base. Callbacks run on the loop; they may call kcli_send
 * and kcli_free (deferred until the callback returns). */
#ifndef GREGOR_BROKER_KCLI_H
#define GREGOR_BROKER_KCLI_H

#include <stdbool.h>
#include <stdint.h>

#include "common/arena.h"

struct event_base;

typedef struct kcli_s kcli_t;

enum kcli_err {
    KCLI_OK = 0,
    KCLI_EDISCONNECTED = -1,   /* the connection failed before the response arrived */
    KCLI_EPROTOCOL = -2,       /* the response could not be decoded (connection dropped) */
    KCLI_ECANCELLED = -3,      /* kcli_free with the request pending */
    KCLI_EENCODE = -4,         /* kcli_send: the request cannot be encoded at that version */
    KCLI_ETIMEOUT = -5,        /* no response within the request timeout (connection dropped) */
};

/* Flags for kcli_send. */
#define KCLI_RETRY 0x1u

/* Called exactly once per accepted request. err KCLI_OK: resp is the decoded
 * kp_<Api>Response, valid (with everything it points to) only during the call; a is the
 * response's arena (also freed after the call). Otherwise resp is NULL. */
typedef void (*kcli_cb)(void *ctx, int err, const void *resp, arena_t *a);

/* A client for host:port (a numeric address or a name resolved at connect time).
 * client_id is sent in every request header (copied; NULL = null). Never NULL. */
kcli_t *kcli_new(struct event_base *base, const char *host, int port, const char *client_id);
/* Calls every pending callback with KCLI_ECANCELLED, closes the connection, frees c. */
void kcli_free(kcli_t *c);

/* Sends req (a kp_<Api>Request for api_key at version), copied (encoded) at once: req
 * may go away when this returns. 0, or KCLI_EENCODE (cb is then not called). */
int kcli_send(kcli_t *c, int16_t api_key, int16_t version, const void *req, unsigned flags, kcli_cb cb,
              void *ctx);

/* Requests written or waiting. */
int kcli_pending(const kcli_t *c);
bool kcli_connected(const kcli_t *c);
const char *kcli_host(const kcli_t *c);
int kcli_port(const kcli_t *c);
/* Connections opened so far (tests). */
uint64_t kcli_connects(const kcli_t *c);
/* Request timeout in ms (default 30000, Kafka's request.timeout.ms); <= 0 = none. */
void kcli_set_timeout(kcli_t *c, int64_t ms);

#endif
