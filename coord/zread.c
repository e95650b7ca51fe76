/* zread.c — read requests against the tree, with 3.8's checks and reply shapes.
 *
 * Reads do not validate paths (a live 3.8 answers getData "m" with NONODE); only
 * exists rejects a NUL byte with BADARGUMENTS. Errors carry no body. */
#include "coord/zread.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "coord/watch.h"

void zread_watch_free(zread_watch_t *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n; i++)
        free(w->items[i].path);
    free(w->items);
    w->items = NULL;
    w->n = 0;
}

bool zread_is_read(int op)
{
    switch (op) {
    case ZOO_EXISTS_OP:
    case ZOO_GETDATA_OP:
    case ZOO_GETCHILDREN_OP:
    case ZOO_GETCHILDREN2_OP:
    case ZOO_GETACL_OP:
    case ZOO_GETALLCHILDRENNUMBER_OP:
    case ZOO_GETEPHEMERALS_OP:
    case ZOO_MULTIREAD_OP:
    case ZOO_WHOAMI_OP:
    case ZOO_SYNC_OP: return true;
    default: return false;
    }
}

static void put_stat(buf_t *out, const dt_node_t *n)
{
    zkp_Stat st;
    dt_node_stat(n, &st);
    jute_encode(&zkp_Stat_rec, &st, out);
}

/* Node lookup for a read: NULL when absent (a path with a NUL byte never exists). The
 * empty path finds the root: ZooKeeper keeps the root under both "" and "/". */
static const dt_node_t *find(const dt_t *dt, const char *path, bool saw_nul)
{
    if (saw_nul || !path)
        return NULL;
    return dt_get(dt, *path ? path : "/");
}

static int get_data(const dt_t *dt, const acl_auth_t *auth, const zkp_PathWatchRequest *r, bool saw_nul, buf_t *out)
{
    const dt_node_t *n = find(dt, r->path, saw_nul);
    if (!n)
        return ZNONODE;
    int32_t nacl;
    const zkp_ACL *acl = dt_node_acl(n, &nacl);
    if (!acl_check(acl, nacl, ZK_PERM_READ, auth))
        return ZNOAUTH;
    int32_t len;
    const uint8_t *data = dt_node_data(n, &len);
    jute_put_buffer(out, data, len);
    put_stat(out, n);
    return ZOK;
}

static int get_children(const dt_t *dt, const acl_auth_t *auth, const zkp_PathWatchRequest *r, bool saw_nul,
                        bool with_stat, buf_t *out)
{
    const dt_node_t *n = find(dt, r->path, saw_nul);
    if (!n)
        return ZNONODE;
    int32_t nacl;
    const zkp_ACL *acl = dt_node_acl(n, &nacl);
    if (!acl_check(acl, nacl, ZK_PERM_READ, auth))
        return ZNOAUTH;
    jute_strvec_t kids = {0, NULL};
    dt_node_children(n, &kids);
    jute_put_strvec(out, &kids);
    jute_strvec_free(&kids);
    if (with_stat)
        put_stat(out, n);
    return ZOK;
}

static int get_acl(const dt_t *dt, const acl_auth_t *auth, const char *path, bool saw_nul, buf_t *out)
{
    const dt_node_t *n = find(dt, path, saw_nul);
    if (!n)
        return ZNONODE;
    int32_t nacl;
    const zkp_ACL *acl = dt_node_acl(n, &nacl);
    if (!acl_check(acl, nacl, ZK_PERM_READ | ZK_PERM_ADMIN, auth))
        return ZNOAUTH;
    bool admin = acl_check(acl, nacl, ZK_PERM_ADMIN, auth);
    jute_put_int(out, nacl);
    for (int32_t i = 0; i < nacl; i++) {
        const zkp_ACL *a = &acl[i];
        const char *colon = a->id.id ? strchr(a->id.id, ':') : NULL;
        if (!admin && a->id.scheme && strcmp(a->id.scheme, "digest") == 0 && colon) {
            /* without ADMIN, 3.8 hides digest hashes: "user:x" */
            char *id = xasprintf("%.*s:x", (int)(colon - a->id.id), a->id.id);
            zkp_ACL red = {a->perms, {a->id.scheme, id}};
            jute_encode(&zkp_ACL_rec, &red, out);
            free(id);
        } else {
            jute_encode(&zkp_ACL_rec, a, out);
        }
    }
    put_stat(out, n);
    return ZOK;
}

static int get_all_children_number(const dt_t *dt, const acl_auth_t *auth, const char *path, bool saw_nul,
                                   buf_t *out)
{
    const dt_node_t *n = find(dt, path, saw_nul);
    if (!n)
        return ZNONODE;
    int32_t nacl;
    const zkp_ACL *acl = dt_node_acl(n, &nacl);
    if (!acl_check(acl, nacl, ZK_PERM_READ, auth))
        return ZNOAUTH;
    jute_put_int(out, dt_node_descendants(n));
    return ZOK;
}

/* Java's String.trim(): strips chars <= ' ' at both ends. True if what is left is empty or "/". */
static bool prefix_means_all(const char *p)
{
    if (!p)
        return true;
    while (*p && (unsigned char)*p <= ' ')
        p++;
    size_t n = strlen(p);
    while (n && (unsigned char)p[n - 1] <= ' ')
        n--;
    return n == 0 || (n == 1 && p[0] == '/');
}

static int get_ephemerals(const dt_t *dt, int64_t sid, const char *prefix, bool saw_nul, buf_t *out)
{
    jute_strvec_t all = {0, NULL}, sel = {0, NULL};
    dt_session_ephemerals(dt, sid, &all);
    bool everything = !saw_nul && prefix_means_all(prefix);
    size_t plen = prefix ? strlen(prefix) : 0;
    for (int32_t i = 0; i < all.n; i++)
        if (everything || (!saw_nul && strncmp(all.v[i], prefix, plen) == 0))
            jute_strvec_push(&sel, all.v[i]);
    jute_put_strvec(out, &sel);
    jute_strvec_free(&all);
    jute_strvec_free(&sel);
    return ZOK;
}

static int who_am_i(const acl_auth_t *auth, buf_t *out)
{
    size_t n = auth ? auth->n : 0;
    jute_put_int(out, (int32_t)n);
    if (!n)
        return ZOK;
    size_t order[n];
    acl_auth_order(auth, order);
    for (size_t i = 0; i < n; i++) {
        const acl_ident_t *id = &auth->v[order[i]];
        char *user = acl_user_name(id->scheme, id->id);
        jute_put_ustring(out, id->scheme);
        jute_put_ustring(out, user);
        free(user);
    }
    return ZOK;
}

static void watch_push(zread_watch_t *w, int kind, const char *path)
{
    w->items = xrealloc(w->items, (w->n + 1) * sizeof *w->items);
    w->items[w->n].kind = kind;
    w->items[w->n].path = xstrdup(path);
    w->n++;
}

static int multi_read(const dt_t *dt, const acl_auth_t *auth, const prep_multi_t *m, buf_t *out, zread_watch_t *w)
{
    for (size_t i = 0; m && i < m->n; i++)
        if (m->ops[i].type != ZOO_GETDATA_OP && m->ops[i].type != ZOO_GETCHILDREN_OP)
            return ZMARSHALLINGERROR;   /* 3.8: "Invalid type of readOp" */
    for (size_t i = 0; m && i < m->n; i++) {
        const zkp_PathWatchRequest *r = m->ops[i].req;
        buf_t body = BUF_INIT;
        int err = m->ops[i].type == ZOO_GETDATA_OP ? get_data(dt, auth, r, m->ops[i].has_nul, &body)
                                                   : get_children(dt, auth, r, m->ops[i].has_nul, false, &body);
        zkp_MultiHeader h = {err ? ZOO_ERROR_OP : m->ops[i].type, false, err};
        jute_encode(&zkp_MultiHeader_rec, &h, out);
        if (err) {
            jute_put_int(out, err);
        } else {
            buf_put(out, body.data, body.len);
            if (r->watch && w)
                watch_push(w, m->ops[i].type == ZOO_GETDATA_OP ? WATCH_DATA : WATCH_CHILD, r->path);
        }
        buf_free(&body);
    }
    zkp_MultiHeader end = {-1, true, -1};
    jute_encode(&zkp_MultiHeader_rec, &end, out);
    return ZOK;
}

int zread_execute_ex(const dt_t *dt, int64_t session_id, const acl_auth_t *auth, int op, const void *req,
                     bool saw_nul, buf_t *out, zread_watch_t *watch)
{
    zread_watch_t dummy = {0, NULL, 0};
    zread_watch_t *w = watch ? watch : &dummy;
    w->kind = 0;
    w->items = NULL;
    w->n = 0;
    if (!req && op != ZOO_WHOAMI_OP && zread_is_read(op))
        return ZMARSHALLINGERROR;
    size_t mark = out->len;
    int err;
    switch (op) {
    case ZOO_EXISTS_OP: {
        const zkp_PathWatchRequest *r = req;
        if (saw_nul)
            return ZBADARGUMENTS;
        if (r->watch)
            w->kind = WATCH_EXIST;   /* registered even when the node is absent */
        const dt_node_t *n = find(dt, r->path, false);
        if (!n)
            return ZNONODE;
        put_stat(out, n);
        return ZOK;
    }
    case ZOO_GETDATA_OP: {
        const zkp_PathWatchRequest *r = req;
        err = get_data(dt, auth, r, saw_nul, out);
        if (!err && r->watch)
            w->kind = WATCH_DATA;
        break;
    }
    case ZOO_GETCHILDREN_OP:
    case ZOO_GETCHILDREN2_OP: {
        const zkp_PathWatchRequest *r = req;
        err = get_children(dt, auth, r, saw_nul, op == ZOO_GETCHILDREN2_OP, out);
        if (!err && r->watch)
            w->kind = WATCH_CHILD;
        break;
    }
    case ZOO_GETACL_OP: err = get_acl(dt, auth, ((const zkp_PathRequest *)req)->path, saw_nul, out); break;
    case ZOO_GETALLCHILDRENNUMBER_OP:
        err = get_all_children_number(dt, auth, ((const zkp_PathRequest *)req)->path, saw_nul, out);
        break;
    case ZOO_GETEPHEMERALS_OP:
        err = get_ephemerals(dt, session_id, ((const zkp_PathRequest *)req)->path, saw_nul, out);
        break;
    case ZOO_SYNC_OP: jute_put_ustring(out, ((const zkp_PathRequest *)req)->path); err = ZOK; break;
    case ZOO_WHOAMI_OP: err = who_am_i(auth, out); break;
    case ZOO_MULTIREAD_OP: err = multi_read(dt, auth, req, out, w); break;
    default: err = ZUNIMPLEMENTED; break;
    }
    if (err) {
        out->len = mark;
        zread_watch_free(w);
        w->kind = 0;
    }
    if (w == &dummy)
        zread_watch_free(&dummy);
    return err;
}

int zread_execute(const dt_t *dt, int64_t session_id, const acl_auth_t *auth, int op, const void *req, buf_t *out,
                  zread_watch_t *watch)
{
    return zread_execute_ex(dt, session_id, auth, op, req, false, out, watch);
}
