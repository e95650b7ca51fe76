/* kafka_api.c — API table lookups, request/response framing and ApiVersions (kafka_api.h). */
#include "proto/kafka_api.h"

#include "common/varint.h"

const kp_api_t *kp_api_find(int key)
{
    for (size_t i = 0; i < KP_API_COUNT; i++)
        if (kp_api_table[i].key == key)
            return &kp_api_table[i];
    return NULL;
}

bool kp_api_supported(int key, int version)
{
    const kp_api_t *api = kp_api_find(key);
    return api && version >= api->min_ver && version <= api->max_ver;
}

bool kp_api_flexible(const kp_api_t *api, int version)
{
    return api->flex_ver >= 0 && version >= api->flex_ver;
}

int kp_req_hdr_version(int key, int version)
{
    const kp_api_t *api = kp_api_find(key);
    if (key == KP_CONTROLLED_SHUTDOWN && version == 0)
        return 0;
    return api && kp_api_flexible(api, version) ? 2 : 1;
}

int kp_resp_hdr_version(int key, int version)
{
    const kp_api_t *api = kp_api_find(key);
    if (key == KP_API_VERSIONS)
        return 0;
    return api && kp_api_flexible(api, version) ? 1 : 0;
}

int kp_req_hdr_decode(rd_t *r, kp_req_hdr_t *h)
{
    h->api_key = (int16_t)rd_be16(r);
    h->api_version = (int16_t)rd_be16(r);
    h->correlation_id = (int32_t)rd_be32(r);
    h->client_id = KP_STR_NULL;
    h->version = 0;
    if (r->err)
        return KP_EMALFORMED;
    if (!kp_api_find(h->api_key))
        return KP_EUNKNOWN_API;
    h->version = (int8_t)kp_req_hdr_version(h->api_key, h->api_version);
    if (h->version >= 1 && kp_read_str(r, false, true, &h->client_id))
        return KP_EMALFORMED;
    if (h->version >= 2 && kp_skip_tagged(r))
        return KP_EMALFORMED;
    return KP_OK;
}

int kp_req_hdr_encode(buf_t *b, const kp_req_hdr_t *h)
{
    size_t start = b->len;
    buf_put_be16(b, (uint16_t)h->api_key);
    buf_put_be16(b, (uint16_t)h->api_version);
    buf_put_be32(b, (uint32_t)h->correlation_id);
    if (h->version >= 1 && kp_write_str(b, false, h->client_id)) {
        b->len = start;
        return KP_EENCODE;
    }
    if (h->version >= 2)
        varint_put_u32(b, 0);
    return KP_OK;
}

void kp_resp_hdr_encode(buf_t *b, int key, int version, int32_t correlation_id)
{
    buf_put_be32(b, (uint32_t)correlation_id);
    if (kp_resp_hdr_version(key, version) >= 1)
        varint_put_u32(b, 0);
}

int kp_request_decode(const void *frame, size_t len, arena_t *a, kp_request_t *out)
{
    rd_t r;
    rd_init(&r, frame, len);
    out->api = NULL;
    out->body = NULL;
    out->trailing = 0;
    int rc = kp_req_hdr_decode(&r, &out->hdr);
    if (rc)
        return rc;
    out->api = kp_api_find(out->hdr.api_key);
    int v = out->hdr.api_version;
    if (v < out->api->min_ver || v > out->api->max_ver)
        return KP_EUNSUPPORTED;
    void *body = arena_alloc(a, out->api->req->size);
    if (kp_decode(out->api->req, v, kp_api_flexible(out->api, v), &r, a, body))
        return KP_EMALFORMED;
    out->body = body;
    out->trailing = rd_left(&r);
    return KP_OK;
}

/* Size prefix, header, body; the size is patched in at the end. */
static int frame_encode(buf_t *b, const kp_api_t *api, int version, const void *hdr_req, int32_t corr,
                        const void *body, bool request)
{
    if (!api)
        return KP_EUNKNOWN_API;
    if (version < api->min_ver || version > api->max_ver)
        return KP_EUNSUPPORTED;
    size_t start = b->len;
    buf_put_be32(b, 0);
    int rc = KP_OK;
    if (request) {
        rc = kp_req_hdr_encode(b, hdr_req);
    } else {
        kp_resp_hdr_encode(b, api->key, version, corr);
    }
    if (rc == KP_OK)
        rc = kp_encode(request ? api->req : api->resp, version, kp_api_flexible(api, version), body, b);
    if (rc) {
        b->len = start;
        return rc;
    }
    buf_set_be32(b, start, (uint32_t)(b->len - start - 4));
    return KP_OK;
}

int kp_request_encode(buf_t *b, const kp_req_hdr_t *hdr, const void *body)
{
    kp_req_hdr_t h = *hdr;
    h.version = (int8_t)kp_req_hdr_version(h.api_key, h.api_version);
    return frame_encode(b, kp_api_find(h.api_key), h.api_version, &h, 0, body, true);
}

int kp_response_encode(buf_t *b, int key, int version, int32_t correlation_id, const void *body)
{
    return frame_encode(b, kp_api_find(key), version, NULL, correlation_id, body, false);
}

int kp_response_decode(const void *frame, size_t len, int key, int version, arena_t *a,
                       int32_t *correlation_id, void **body)
{
    const kp_api_t *api = kp_api_find(key);
    *body = NULL;
    if (!api)
        return KP_EUNKNOWN_API;
    if (version < api->min_ver || version > api->max_ver)
        return KP_EUNSUPPORTED;
    rd_t r;
    rd_init(&r, frame, len);
    *correlation_id = (int32_t)rd_be32(&r);
    if (kp_resp_hdr_version(key, version) >= 1)
        kp_skip_tagged(&r);
    if (r.err)
        return KP_EMALFORMED;
    void *obj = arena_alloc(a, api->resp->size);
    rd_t body_start = r;
    if (kp_decode(api->resp, version, kp_api_flexible(api, version), &r, a, obj)) {
        if (key != KP_API_VERSIONS || version == 0)
            return KP_EMALFORMED;
        r = body_start;
        if (kp_decode(api->resp, 0, false, &r, a, obj))
            return KP_EMALFORMED;
    }
    *body = obj;
    return KP_OK;
}

bool kp_request_wants_response(const kp_request_t *req)
{
    if (req->hdr.api_key == KP_PRODUCE && req->body)
        return ((const kp_ProduceRequest *)req->body)->Acks != 0;
    return true;
}

void kp_api_versions_fill(arena_t *a, kp_ApiVersionsResponse *r, int32_t throttle_ms)
{
    kp_init(&kp_ApiVersionsResponse_schema, r);
    r->ErrorCode = KERR_NONE;
    r->ThrottleTimeMs = throttle_ms;
    r->ApiKeys.n = KP_API_COUNT;
    r->ApiKeys.v = kp_new_array(a, &kp_ApiVersionsResponse_ApiVersionsResponseKey_schema, KP_API_COUNT);
    for (size_t i = 0; i < KP_API_COUNT; i++) {
        r->ApiKeys.v[i].ApiKey = kp_api_table[i].key;
        r->ApiKeys.v[i].MinVersion = kp_api_table[i].min_ver;
        r->ApiKeys.v[i].MaxVersion = kp_api_table[i].max_ver;
    }
}

static bool alnum(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* [a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])? — KIP-511's rule for client software names. */
static bool software_name_ok(kp_str_t s)
{
    if (s.len <= 0 || !alnum(s.p[0]) || !alnum(s.p[s.len - 1]))
        return false;
    for (int32_t i = 1; i < s.len - 1; i++)
        if (!alnum(s.p[i]) && s.p[i] != '.' && s.p[i] != '-')
            return false;
    return true;
}

void kp_api_versions_respond(const kp_request_t *req, int32_t throttle_ms, arena_t *a, buf_t *out)
{
    kp_ApiVersionsResponse r;
    int version = req->hdr.api_version;
    const kp_api_t *api = kp_api_find(KP_API_VERSIONS);
    if (version > api->max_ver || version < api->min_ver || !req->body) {
        /* answered as v0 without reading the body; throttle time is not in v0 */
        kp_init(&kp_ApiVersionsResponse_schema, &r);
        r.ErrorCode = KERR_UNSUPPORTED_VERSION;
        r.ApiKeys.n = 1;
        r.ApiKeys.v = kp_new_array(a, &kp_ApiVersionsResponse_ApiVersionsResponseKey_schema, 1);
        r.ApiKeys.v[0].ApiKey = api->key;
        r.ApiKeys.v[0].MinVersion = api->min_ver;
        r.ApiKeys.v[0].MaxVersion = api->max_ver;
        version = 0;
    } else {
        const kp_ApiVersionsRequest *q = req->body;
        if (version >= 3 && (!software_name_ok(q->ClientSoftwareName) || !software_name_ok(q->ClientSoftwareVersion))) {
            kp_init(&kp_ApiVersionsResponse_schema, &r);
            r.ErrorCode = KERR_INVALID_REQUEST;
            r.ThrottleTimeMs = throttle_ms;
        } else {
            kp_api_versions_fill(a, &r, throttle_ms);
        }
    }
    /* built here from valid values: encoding cannot fail */
    (void)kp_response_encode(out, KP_API_VERSIONS, version, req->hdr.correlation_id, &r);
}
