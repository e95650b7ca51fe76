/* fwd.c — see fwd.h. */
#include "coord/fwd.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

static void put_auth(buf_t *out, const acl_auth_t *a)
{
    jute_put_int(out, (int32_t)a->n);
    for (size_t i = 0; i < a->n; i++) {
        jute_put_ustring(out, a->v[i].scheme);
        jute_put_ustring(out, a->v[i].id);
    }
}

void fwd_encode(const fwd_t *f, buf_t *out)
{
    jute_put_int(out, FWD_MAGIC);
    jute_put_int(out, FWD_VERSION);
    jute_put_int(out, f->kind);
    switch (f->kind) {
    case FWD_WRITE:
        jute_put_long(out, f->session_id);
        jute_put_int(out, f->cxid);
        jute_put_int(out, f->op);
        put_auth(out, &f->auth);
        jute_put_buffer(out, f->body.data ? (const void *)f->body.data : "", f->body.len > 0 ? f->body.len : 0);
        break;
    case FWD_CREATE_SESSION:
        jute_put_long(out, f->session_id);
        jute_put_int(out, f->timeout);
        put_auth(out, &f->auth);
        break;
    case FWD_TOUCH:
        jute_put_int(out, (int32_t)f->ntouches);
        for (size_t i = 0; i < f->ntouches; i++) {
            jute_put_long(out, f->touches[i].session_id);
            jute_put_int(out, f->touches[i].timeout);
            jute_put_bool(out, f->touches[i].attach);
        }
        break;
    case FWD_SYNC:
        jute_put_long(out, f->session_id);
        jute_put_long(out, f->sync_id);
        break;
    case FWD_SYNC_REPLY:
        jute_put_long(out, f->sync_id);
        jute_put_long(out, f->zxid);
        break;
    case FWD_WRITE_FAILED:
        jute_put_long(out, f->session_id);
        jute_put_int(out, f->cxid);
        jute_put_int(out, f->err);
        break;
    case FWD_SESSION_MOVED:
        jute_put_long(out, f->session_id);
        break;
    default:
        break;
    }
}

static int get_auth(jute_rd_t *jr, acl_auth_t *a)
{
    acl_auth_init(a, NULL);
    int32_t n = jute_get_int(jr);
    if (!jute_ok(jr) || n < 0 || n > FWD_MAX_IDENTS || (size_t)n * 8 > jute_left(jr))
        return -1;
    for (int32_t i = 0; i < n; i++) {
        char *scheme = NULL, *id = NULL;
        if (jute_get_ustring(jr, &scheme) || jute_get_ustring(jr, &id) || !scheme || !id) {
            free(scheme);
            free(id);
            return -1;
        }
        acl_auth_add(a, scheme, id);
        free(scheme);
        free(id);
    }
    return 0;
}

bool fwd_is_payload(const void *p, size_t len)
{
    return len >= 4 && be32_get(p) == (uint32_t)FWD_MAGIC;
}

int fwd_decode(fwd_t *f, const void *p, size_t len)
{
    memset(f, 0, sizeof *f);
    jute_rd_t jr;
    jute_rd_init(&jr, p, len);
    int32_t magic = jute_get_int(&jr);
    int32_t version = jute_get_int(&jr);
    f->kind = jute_get_int(&jr);
    if (!jute_ok(&jr) || magic != FWD_MAGIC || version != FWD_VERSION || f->kind < FWD_WRITE ||
        f->kind > FWD_KIND_MAX)
        goto bad;
    switch (f->kind) {
    case FWD_WRITE:
        f->session_id = jute_get_long(&jr);
        f->cxid = jute_get_int(&jr);
        f->op = jute_get_int(&jr);
        if (!jute_ok(&jr) || get_auth(&jr, &f->auth) || jute_get_buffer(&jr, &f->body) || f->body.len < 0)
            goto bad;
        break;
    case FWD_CREATE_SESSION:
        f->session_id = jute_get_long(&jr);
        f->timeout = jute_get_int(&jr);
        if (!jute_ok(&jr) || get_auth(&jr, &f->auth))
            goto bad;
        break;
    case FWD_TOUCH: {
        int32_t n = jute_get_int(&jr);
        /* each entry takes 13 bytes: a count beyond what is left is a lie */
        if (!jute_ok(&jr) || n < 0 || n > FWD_MAX_TOUCH || (size_t)n * 13 > jute_left(&jr))
            goto bad;
        f->touches = n ? xcalloc((size_t)n, sizeof *f->touches) : NULL;
        f->ntouches = (size_t)n;
        for (int32_t i = 0; i < n; i++) {
            f->touches[i].session_id = jute_get_long(&jr);
            f->touches[i].timeout = jute_get_int(&jr);
            f->touches[i].attach = jute_get_bool(&jr);
        }
        break;
    }
    case FWD_SYNC:
        f->session_id = jute_get_long(&jr);
        f->sync_id = jute_get_long(&jr);
        break;
    case FWD_SYNC_REPLY:
        f->sync_id = jute_get_long(&jr);
        f->zxid = jute_get_long(&jr);
        break;
    case FWD_WRITE_FAILED:
        f->session_id = jute_get_long(&jr);
        f->cxid = jute_get_int(&jr);
        f->err = jute_get_int(&jr);
        break;
    case FWD_SESSION_MOVED:
        f->session_id = jute_get_long(&jr);
        break;
    default:
        goto bad;
    }
    if (!jute_ok(&jr) || jute_left(&jr) != 0)
        goto bad;
    return 0;
bad:
    fwd_free(f);
    return -1;
}

void fwd_free(fwd_t *f)
{
    acl_auth_free(&f->auth);
    free(f->body.data);
    free(f->touches);
    memset(f, 0, sizeof *f);
}

const char *fwd_kind_name(int kind)
{
    switch (kind) {
    case FWD_WRITE: return "WRITE";
    case FWD_CREATE_SESSION: return "CREATE_SESSION";
    case FWD_TOUCH: return "TOUCH";
    case FWD_SYNC: return "SYNC";
    case FWD_SYNC_REPLY: return "SYNC_REPLY";
    case FWD_WRITE_FAILED: return "WRITE_FAILED";
    case FWD_SESSION_MOVED: return "SESSION_MOVED";
    default: return "?";
    }
}
