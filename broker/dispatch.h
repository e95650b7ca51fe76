/* dispatch.h — what to do with one Kafka request frame: decode it, check its API key and
 * version against kp_api_table[] and the handlers the broker registered, and answer
 * ApiVersions itself.
 *
 * Pure: no sockets, no clock. The server (broker/server.h) owns the frame and the arena,
 * asks bdsp_route what to do and either calls the registered handler, queues the reply
 * written here, or closes the connection as Kafka does:
 *  - unknown API key: close (Kafka cannot even pick a response layout, B6);
 *  - known API at a version we do not serve: close, except ApiVersions, which gets error 35
 *    with a v0 body listing its own range (KIP-511);
 *  - malformed header or body: close (B9-B11);
 *  - an API without a registered handler: close, and ApiVersions does not advertise it. */
#ifndef GREGOR_BROKER_DISPATCH_H
#define GREGOR_BROKER_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "common/arena.h"
#include "common/buf.h"
#include "proto/kafka_api.h"

/* API keys are below this (Kafka's largest in 2.4 is 47). */
#define BDSP_NKEYS 64

/* Which API keys have a handler: registered[key] for key < BDSP_NKEYS. ApiVersions is
 * always answered by dispatch and counts as registered whatever the map says. */
typedef struct bdsp_map_s {
    bool registered[BDSP_NKEYS];
} bdsp_map_t;

typedef enum bdsp_action {
    BDSP_CALL = 0,       /* req decoded (KP_OK): call the handler of req->hdr.api_key */
    BDSP_REPLIED = 1,    /* ApiVersions: the complete response frame was appended to reply */
    BDSP_CLOSE = 2,      /* close the connection; why says why (for the log) */
} bdsp_action_t;

/* Decodes frame (a request without its int32 size prefix) into req and decides. The body and
 * temporaries come from a; req's slices point into frame, which must outlive req. On
 * BDSP_CLOSE a one-line reason is appended to why (may be NULL); req->hdr holds what could be
 * read (api_key -1 when not even the key could). */
bdsp_action_t bdsp_route(const bdsp_map_t *m, const void *frame, size_t len, arena_t *a,
                         kp_request_t *req, buf_t *reply, buf_t *why);

/* Appends the ApiVersions response frame for req (decoded as KP_OK or KP_EUNSUPPORTED) exactly
 * as kp_api_versions_respond writes it, except that a successful answer lists only the
 * registered APIs (and ApiVersions). With every API registered the bytes are identical. */
void bdsp_api_versions_respond(const bdsp_map_t *m, const kp_request_t *req, arena_t *a, buf_t *out);

/* True if key has a handler in m (ApiVersions always). */
bool bdsp_registered(const bdsp_map_t *m, int key);

/* Kafka's name of an API key, or "Unknown". */
const char *bdsp_api_name(int key);

#endif
