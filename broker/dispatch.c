/* dispatch.c — request classification and ApiVersions (see dispatch.h). */
#include "broker/dispatch.h"

#include <stdio.h>
#include <string.h>

bool bdsp_registered(const bdsp_map_t *m, int key)
{
    if (key == KP_API_VERSIONS)
        return true;
    return key >= 0 && key < BDSP_NKEYS && m->registered[key];
}

const char *bdsp_api_name(int key)
{
    const kp_api_t *api = kp_api_find(key);
    return api ? api->name : "Unknown";
}

static bool all_registered(const bdsp_map_t *m)
{
    for (size_t i = 0; i < KP_API_COUNT; i++)
        if (!bdsp_registered(m, kp_api_table[i].key))
            return false;
    return true;
}

void bdsp_api_versions_respond(const bdsp_map_t *m, const kp_request_t *req, arena_t *a, buf_t *out)
{
    if (all_registered(m)) {
        kp_api_versions_respond(req, 0, a, out);
        return;
    }
    /* Let the codec decide the error cases (35, 42); only a success is filtered. */
    buf_t full = BUF_INIT;
    kp_api_versions_respond(req, 0, a, &full);
    int version = req->hdr.api_version;
    int32_t corr = 0;
    void *body = NULL;
    int rc = full.len >= 4 ? kp_response_decode(full.data + 4, full.len - 4, KP_API_VERSIONS,
                                                version, a, &corr, &body)
                           : KP_EMALFORMED;
    kp_ApiVersionsResponse *r = body;
    if (rc != KP_OK || r->ErrorCode != KERR_NONE) {
        buf_put(out, full.data, full.len);
        buf_free(&full);
        return;
    }
    int32_t n = 0;
    for (int32_t i = 0; i < r->ApiKeys.n; i++)
        if (bdsp_registered(m, r->ApiKeys.v[i].ApiKey))
            r->ApiKeys.v[n++] = r->ApiKeys.v[i];
    r->ApiKeys.n = n;
    if (kp_response_encode(out, KP_API_VERSIONS, version, corr, r) != KP_OK)
        buf_put(out, full.data, full.len);   /* cannot happen: same values, fewer entries */
    buf_free(&full);
}

bdsp_action_t bdsp_route(const bdsp_map_t *m, const void *frame, size_t len, arena_t *a,
                         kp_request_t *req, buf_t *reply, buf_t *why)
{
    memset(req, 0, sizeof *req);
    req->hdr.api_key = -1;
    req->hdr.api_version = -1;
    int rc = kp_request_decode(frame, len, a, req);
    int key = req->hdr.api_key, ver = req->hdr.api_version;
    switch (rc) {
    case KP_OK:
        break;
    case KP_EUNKNOWN_API:
        if (why)
            buf_printf(why, "unknown api key %d (version %d, correlation id %d)", key, ver,
                       (int)req->hdr.correlation_id);
        return BDSP_CLOSE;
    case KP_EUNSUPPORTED:
        if (key == KP_API_VERSIONS) {
            bdsp_api_versions_respond(m, req, a, reply);
            return BDSP_REPLIED;
        }
        if (why)
            buf_printf(why, "unsupported version %d of %s (key %d)", ver, bdsp_api_name(key), key);
        return BDSP_CLOSE;
    default:
        if (why) {
            if (key < 0)
                buf_printf(why, "malformed request header (%zu bytes)", len);
            else
                buf_printf(why, "malformed %s v%d request (%zu bytes)", bdsp_api_name(key), ver, len);
        }
        return BDSP_CLOSE;
    }
    if (key == KP_API_VERSIONS) {
        bdsp_api_versions_respond(m, req, a, reply);
        return BDSP_REPLIED;
    }
    if (!bdsp_registered(m, key)) {
        if (why)
            buf_printf(why, "no handler for %s (key %d) v%d", bdsp_api_name(key), key, ver);
        return BDSP_CLOSE;
    }
    return BDSP_CALL;
}
