/* kafka_api.h — the Kafka APIs Gregor serves: version table, request/response framing,
 * ApiVersions.
 *
 * Which versions: every API is served from v0 up to its maximum in Apache Kafka 2.4.1, and
 * ApiVersions advertises exactly those ranges (kp_api_table[] in kafka_msgs.c). Why 2.4:
 *  - kafka-python 2.0.2 (auto mode) infers the broker release from ApiVersions v0; Produce v8
 *    makes it (2,4,0), so it sends record batches (Produce v7, Fetch v4), JoinGroup v2,
 *    Heartbeat/SyncGroup/LeaveGroup v1, ListOffsets v1 — all versions a real 2.4 broker takes.
 *  - librdkafka 2.0.2 needs Produce v3 + Fetch v4 for record batches and Produce v7 + Fetch v10
 *    for zstd; 2.4 has both. It opens every connection with ApiVersions v3 (flexible): 2.4 is the
 *    first release that answers v3, so there is no error-35 round trip per connection.
 *  - kafkajs 2.2.4 takes min(its max, ours) per API and needs OffsetFetch >= 1: all fine.
 *  - the fixed versions of Kafka 0.9.0.1's Java clients and tools and of kafka-python with
 *    api_version=(0,10,0) are all within [0, max].
 *  - 2.4 introduced flexible versions (KIP-482: compact strings/arrays, tagged fields, request
 *    header v2, response header v1), so both encodings are exercised from the start; later
 *    releases only raise maxima, which is a schema edit.
 * Kafka 2.4 also serves APIs Gregor does not (transactions, ACLs, SaslAuthenticate, ...); they
 * are not advertised, and a request for them is KP_EUNKNOWN_API (Kafka closes the connection).
 *
 * Framing: a request is int32 size + header + body. Header v0 = int16 api_key, int16
 * api_version, int32 correlation_id (only ControlledShutdown v0); v1 adds client_id, a classic
 * nullable string even in flexible requests; v2 (flexible requests) adds a tagged-field
 * section. A response is int32 size + header + body; header v0 = correlation_id, v1 (flexible
 * responses) adds tagged fields — except ApiVersions, whose response header is always v0. */
#ifndef GREGOR_PROTO_KAFKA_API_H
#define GREGOR_PROTO_KAFKA_API_H

#include <stdbool.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/buf.h"
#include "proto/kafka_codec.h"
#include "proto/kafka_err.h"
#include "proto/kafka_msgs.h"

/* The row of kp_api_table for key, or NULL if Gregor does not serve it. */
const kp_api_t *kp_api_find(int key);
/* True if Gregor serves this key at this version. */
bool kp_api_supported(int key, int version);
/* True if this version of the API uses the flexible encoding. */
bool kp_api_flexible(const kp_api_t *api, int version);

/* Header versions for (key, version); for an unknown key: 1 and 0. */
int kp_req_hdr_version(int key, int version);
int kp_resp_hdr_version(int key, int version);

typedef struct kp_req_hdr_s {
    int16_t api_key;
    int16_t api_version;
    int32_t correlation_id;
    kp_str_t client_id;      /* null in header v0 or when sent as null; points into the frame */
    int8_t version;          /* header version 0, 1 or 2 */
} kp_req_hdr_t;

/* Reads a request header (the frame without its size prefix). KP_OK; KP_EUNKNOWN_API with
 * api_key, api_version and correlation_id set; or KP_EMALFORMED. For a known API at a version
 * we do not serve, the header is read as Kafka 2.4 would (v2 if that version counts as
 * flexible) and KP_OK is returned: the version check is the caller's. */
int kp_req_hdr_decode(rd_t *r, kp_req_hdr_t *h);
/* Appends a header of version h->version (client_id: classic nullable string). */
int kp_req_hdr_encode(buf_t *b, const kp_req_hdr_t *h);
/* Appends the response header for (key, version): the correlation id, and for header v1 an
 * empty tagged-field section. */
void kp_resp_hdr_encode(buf_t *b, int key, int version, int32_t correlation_id);

/* A decoded request; everything points into the frame or the arena. */
typedef struct kp_request_s {
    kp_req_hdr_t hdr;
    const kp_api_t *api;     /* NULL for an unknown key */
    void *body;              /* a kp_<Api>Request, or NULL unless KP_OK */
    size_t trailing;         /* bytes after the body (Kafka ignores them, so do we) */
} kp_request_t;

/* Decodes one request frame (without its int32 size). Returns
 *   KP_OK            header and body decoded;
 *   KP_EUNKNOWN_API  an API key we do not serve (Kafka closes the connection);
 *   KP_EUNSUPPORTED  a known API at a version we do not serve; the header is valid. For
 *                    ApiVersions answer with kp_api_versions_respond (error 35), for others
 *                    Kafka closes the connection;
 *   KP_EMALFORMED    header or body malformed (out->hdr holds what could be read).
 * The body is allocated from a; slices point into frame, which must outlive the request. */
int kp_request_decode(const void *frame, size_t len, arena_t *a, kp_request_t *out);

/* Appends a complete request frame (size, header of the version the API needs, body) with
 * body a kp_<Api>Request at hdr->api_version. KP_OK, KP_EUNKNOWN_API, KP_EUNSUPPORTED or
 * KP_EENCODE; b is unchanged on error. */
int kp_request_encode(buf_t *b, const kp_req_hdr_t *hdr, const void *body);

/* Appends a complete response frame (size, response header, body) with body a
 * kp_<Api>Response at `version`. Same results as kp_request_encode. */
int kp_response_encode(buf_t *b, int key, int version, int32_t correlation_id, const void *body);

/* Decodes a response frame (without its size) to a request we sent at (key, version); body
 * from the arena, slices into frame. For ApiVersions a body that does not parse at `version`
 * is read as v0, as Kafka's clients do (the error-35 reply is always v0). */
int kp_response_decode(const void *frame, size_t len, int key, int version, arena_t *a,
                       int32_t *correlation_id, void **body);

/* False for a request that must not be answered: Produce with Acks = 0. */
bool kp_request_wants_response(const kp_request_t *req);

/* Fills r with ErrorCode 0 and one entry per row of kp_api_table (arrays from a). */
void kp_api_versions_fill(arena_t *a, kp_ApiVersionsResponse *r, int32_t throttle_ms);

/* Appends the complete ApiVersions response frame for req (decoded as KP_OK or
 * KP_EUNSUPPORTED with hdr.api_key == KP_API_VERSIONS), as Kafka 2.4 answers it:
 *  - a version above ours: ErrorCode UNSUPPORTED_VERSION (35) and, in the v0 body layout,
 *    only ApiVersions' own range (KIP-511) so that the client can retry with a version we take;
 *  - v3 with a ClientSoftwareName/Version that is not [a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?:
 *    INVALID_REQUEST (42) and no ranges;
 *  - otherwise ErrorCode 0 and every range of kp_api_table.
 * The response header is v0 in every case. Temporary objects come from a. */
void kp_api_versions_respond(const kp_request_t *req, int32_t throttle_ms, arena_t *a, buf_t *out);

#endif
