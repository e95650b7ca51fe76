/* libFuzzer target: the Kafka request path of the codec, without sockets.
 *
 * The input is used twice:
 *  1. as one request frame (without its int32 size): kp_request_decode, then what the broker
 *     would do next — answer an ApiVersions request (also at versions we do not serve), or
 *     re-encode the request and check that it decodes to the same thing;
 *  2. as [u8 api index][u8 version][body]: the body is decoded as that API's request AND
 *     response at that version (so every schema, classic and flexible, sees hostile bytes),
 *     and whatever decodes must re-encode and decode back equal.
 * Everything is allocated from one arena freed at the end: no crash, no leak, no unbounded
 * allocation (a decoded array never needs more than a small multiple of the input). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/buf.h"
#include "proto/kafka_api.h"

static void check_roundtrip(const kp_schema_t *s, int v, bool flex, const void *obj, arena_t *a)
{
    buf_t b = BUF_INIT;
    if (kp_encode(s, v, flex, obj, &b) != KP_OK)
        abort();   /* anything decoded must be encodable at the same version */
    rd_t r;
    rd_init(&r, b.data, b.len);
    void *again = arena_alloc(a, s->size);
    if (kp_decode(s, v, flex, &r, a, again) != KP_OK || rd_left(&r) != 0 || !kp_equal(s, v, obj, again))
        abort();
    buf_t d = BUF_INIT;
    kp_dump(s, v, obj, &d);
    buf_free(&d);
    buf_free(&b);
}

static void as_frame(const uint8_t *data, size_t size, arena_t *a)
{
    kp_request_t req;
    int rc = kp_request_decode(data, size, a, &req);
    buf_t out = BUF_INIT;
    if ((rc == KP_OK || rc == KP_EUNSUPPORTED) && req.hdr.api_key == KP_API_VERSIONS) {
        kp_api_versions_respond(&req, 0, a, &out);
        if (out.len < 14 || be32_get(out.data) != out.len - 4)
            abort();
    }
    if (rc == KP_OK) {
        if (!req.body || !req.api)
            abort();
        int v = req.hdr.api_version;
        check_roundtrip(req.api->req, v, kp_api_flexible(req.api, v), req.body, a);
        (void)kp_request_wants_response(&req);
        buf_reset(&out);
        if (kp_request_encode(&out, &req.hdr, req.body) != KP_OK)
            abort();
    }
    buf_free(&out);
}

static void as_body(const uint8_t *data, size_t size, arena_t *a)
{
    if (size < 2)
        return;
    const kp_api_t *api = &kp_api_table[data[0] % KP_API_COUNT];
    int v = data[1] % (api->max_ver + 1);
    bool flex = kp_api_flexible(api, v);
    const kp_schema_t *schemas[2] = {api->req, api->resp};
    for (int i = 0; i < 2; i++) {
        rd_t r;
        rd_init(&r, data + 2, size - 2);
        void *obj = arena_alloc(a, schemas[i]->size);
        if (kp_decode(schemas[i], v, flex, &r, a, obj) == KP_OK)
            check_roundtrip(schemas[i], v, flex, obj, a);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arena_t a = ARENA_INIT;
    as_frame(data, size, &a);
    as_body(data, size, &a);
    /* a decode may allocate at most a bounded multiple of its input */
    if (a.used_total > 256 * size + 65536)
        abort();
    arena_free(&a);
    return 0;
}
