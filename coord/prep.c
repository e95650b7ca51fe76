/* prep.c — validation of write requests and their translation into txns
 * (ZooKeeper 3.8's PrepRequestProcessor), with outstanding change records.
 *
 * Check order per op follows 3.8 exactly, since the first failing check decides
 * the error a client sees:
 *   create:  flags -> TTL enabled -> ttl range -> session (ephemerals) -> '/' and NUL
 *            -> ACL fix-up -> parent exists -> CREATE on parent -> sequential suffix
 *            -> full path validation -> node exists -> ephemeral parent
 *   delete:  '/' / NUL / special path -> parent exists -> DELETE on parent -> node exists
 *            -> version -> not empty
 *   setData: path -> node exists -> WRITE -> version
 *   setACL:  path -> ACL fix-up -> node exists -> ADMIN -> aversion
 *   check:   path -> node exists -> READ -> version
 * Deliberate differences from 3.8 (only visible to pipelined racing writes): a
 * pending setACL's new ACL is used by later validations, and a pending closeSession
 * lowers the parents' child counts.
 *
 * Outstanding records: a global list in zxid order plus, per path, a chain of the
 * records for that path (newest first in the map). Dropping applied records takes
 * them from the head; rolling back a failed multi pops them from the tail. */
#include "coord/prep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/hmap.h"

typedef struct rec_s rec_t;
struct rec_s {
    int64_t zxid;
    char *path;
    bool exists;          /* false: the node is being deleted */
    zkp_Stat stat;        /* stored form: cversion = creations, raw ephemeralOwner */
    int32_t child_count;
    jute_vec_t acl;       /* owned */
    rec_t *next;          /* global list, newer */
    rec_t *prev;          /* global list, older */
    rec_t *older;         /* same path */
    rec_t *newer;
};

typedef struct sess_mark_s {
    int64_t created_zxid;   /* 0: none outstanding */
    int64_t closing_zxid;
} sess_mark_t;

struct prep_s {
    const dt_t *dt;
    rec_t *head, *tail;
    size_t count;
    hmap_t by_path;    /* path -> newest rec_t */
    hmap_t sessions;   /* sid -> sess_mark_t* */
    bool extended_types;
};

/* A read-only view of a path as it will be: from a record or from the tree. */
typedef struct view_s {
    zkp_Stat stat;
    int32_t child_count;
    const zkp_ACL *acl;
    int32_t nacl;
} view_t;

prep_t *prep_new(const dt_t *dt)
{
    prep_t *p = xcalloc(1, sizeof *p);
    p->dt = dt;
    hmap_init(&p->by_path);
    hmap_init(&p->sessions);
    return p;
}

void prep_set_extended_types(prep_t *p, bool enabled)
{
    p->extended_types = enabled;
}

static void rec_free(rec_t *r)
{
    acl_vec_free(&r->acl);
    free(r->path);
    free(r);
}

void prep_reset(prep_t *p)
{
    rec_t *r = p->head;
    while (r) {
        rec_t *n = r->next;
        rec_free(r);
        r = n;
    }
    p->head = p->tail = NULL;
    p->count = 0;
    hmap_fini(&p->by_path, NULL);
    hmap_init(&p->by_path);
    hmap_fini(&p->sessions, free);
    hmap_init(&p->sessions);
}

void prep_free(prep_t *p)
{
    if (!p)
        return;
    prep_reset(p);
    free(p);
}

size_t prep_outstanding(const prep_t *p)
{
    return p->count;
}

void prep_applied(prep_t *p, int64_t zxid)
{
    while (p->head && p->head->zxid <= zxid) {
        rec_t *r = p->head;
        p->head = r->next;
        if (p->head)
            p->head->prev = NULL;
        else
            p->tail = NULL;
        /* the oldest record overall is the oldest for its path */
        if (r->newer)
            r->newer->older = NULL;
        else
            hmap_dels(&p->by_path, r->path);
        rec_free(r);
        p->count--;
    }
    hmap_iter_t it;
    const void *key;
    size_t klen;
    void *val;
    hmap_iter_init(&p->sessions, &it);
    while (hmap_iter_next(&p->sessions, &it, &key, &klen, &val)) {
        sess_mark_t *m = val;
        if (m->created_zxid && m->created_zxid <= zxid)
            m->created_zxid = 0;
        if (m->closing_zxid && m->closing_zxid <= zxid)
            m->closing_zxid = 0;
        if (!m->created_zxid && !m->closing_zxid)
            free(hmap_del(&p->sessions, key, klen));
    }
}

/* Removes the records of `zxid` (they are at the tail). */
static void rollback(prep_t *p, int64_t zxid)
{
    while (p->tail && p->tail->zxid == zxid) {
        rec_t *r = p->tail;
        p->tail = r->prev;
        if (p->tail)
            p->tail->next = NULL;
        else
            p->head = NULL;
        if (r->older) {
            r->older->newer = NULL;
            hmap_puts(&p->by_path, r->path, r->older);
        } else {
            hmap_dels(&p->by_path, r->path);
        }
        rec_free(r);
        p->count--;
    }
}

static void add_record(prep_t *p, int64_t zxid, const char *path, bool exists, const zkp_Stat *stat,
                       int32_t child_count, const zkp_ACL *acl, int32_t nacl)
{
    rec_t *r = xcalloc(1, sizeof *r);
    r->zxid = zxid;
    r->path = xstrdup(path);
    r->exists = exists;
    if (stat)
        r->stat = *stat;
    r->child_count = child_count;
    if (acl && nacl > 0) {
        r->acl.v = xcalloc((size_t)nacl, sizeof(zkp_ACL));
        for (int32_t i = 0; i < nacl; i++)
            jute_copy(&zkp_ACL_rec, &((zkp_ACL *)r->acl.v)[i], &acl[i]);
        r->acl.n = nacl;
    }
    r->prev = p->tail;
    if (p->tail)
        p->tail->next = r;
    else
        p->head = r;
    p->tail = r;
    rec_t *old = hmap_puts(&p->by_path, r->path, r);
    r->older = old;
    if (old)
        old->newer = r;
    p->count++;
}

/* 3.8's getRecordForPath: ZOK with *v filled, or ZNONODE. */
static int get_record(const prep_t *p, const char *path, view_t *v)
{
    rec_t *r = hmap_gets(&p->by_path, path);
    if (r) {
        if (!r->exists)
            return ZNONODE;
        v->stat = r->stat;
        v->child_count = r->child_count;
        v->acl = r->acl.v;
        v->nacl = r->acl.n;
        return ZOK;
    }
    const dt_node_t *n = dt_get(p->dt, path);
    if (!n)
        return ZNONODE;
    dt_node_stat_persisted(n, &v->stat);
    v->child_count = dt_node_num_children(n);
    v->acl = dt_node_acl(n, &v->nacl);
    return ZOK;
}

static bool is_normal_ephemeral(int64_t owner)
{
    return owner != 0 && owner != ZK_CONTAINER_EPHEMERAL_OWNER && (owner & ZK_TTL_MASK) != ZK_TTL_MASK;
}

/* ---- path validation (PathUtils.validatePath over UTF-16 code units) ---- */

/* Decodes one UTF-8 sequence; invalid input yields U+FFFD (as Java's decoder). */
static uint32_t utf8_next(const unsigned char **pp)
{
    const unsigned char *p = *pp;
    uint32_t cp;
    int extra;
    if (*p < 0x80) {
        *pp = p + 1;
        return *p;
    } else if ((*p & 0xe0) == 0xc0) {
        cp = *p & 0x1f;
        extra = 1;
    } else if ((*p & 0xf0) == 0xe0) {
        cp = *p & 0x0f;
        extra = 2;
    } else if ((*p & 0xf8) == 0xf0) {
        cp = *p & 0x07;
        extra = 3;
    } else {
        *pp = p + 1;
        return 0xfffd;
    }
    p++;
    for (int k = 0; k < extra; k++, p++) {
        if ((*p & 0xc0) != 0x80) {
            *pp = p;
            return 0xfffd;
        }
        cp = cp << 6 | (*p & 0x3f);
    }
    *pp = p;
    static const uint32_t min[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0xfffd;
    return cp;
}

static bool bad_char(uint32_t c)
{
    return (c > 0 && c <= 0x1f) || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xf8ff) ||
           (c >= 0xfff0 && c <= 0xffff) || c >= 0x10000;   /* >= 0x10000: a surrogate pair in Java */
}

int prep_validate_path(const char *path, bool sequential)
{
    if (sequential && path && *path) {
        /* the suffix is appended before 3.8 validates: check the path as it will be */
        char *full = xasprintf("%s0000000000", path);
        int err = prep_validate_path(full, false);
        free(full);
        return err;
    }
    if (!path || !*path || path[0] != '/')
        return ZBADARGUMENTS;
    size_t n = strlen(path);
    if (n == 1)
        return ZOK;
    if (path[n - 1] == '/')
        return ZBADARGUMENTS;
    const unsigned char *p = (const unsigned char *)path + 1;
    uint32_t last = '/';
    while (*p) {
        const unsigned char *start = p;
        uint32_t c = utf8_next(&p);
        if (c == '/' && last == '/')
            return ZBADARGUMENTS;
        if (c == '.') {
            /* "." or ".." as a whole component */
            bool comp_start = start[-1] == '/';
            bool dotdot = start[-1] == '.' && start - 2 >= (const unsigned char *)path && start[-2] == '/';
            bool comp_end = *p == '\0' || *p == '/';
            if (comp_end && (comp_start || (last == '.' && dotdot)))
                return ZBADARGUMENTS;
        } else if (bad_char(c)) {
            return ZBADARGUMENTS;
        }
        last = c;
    }
    return ZOK;
}

static bool is_special_path(const char *path)
{
    return strcmp(path, "/") == 0 || strcmp(path, "/zookeeper") == 0 || strcmp(path, "/zookeeper/quota") == 0 ||
           strcmp(path, "/zookeeper/config") == 0;
}

/* Parent per 3.8's substring(0, lastSlash), with "" naming the root. NULL if no '/'. */
static char *parent_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return NULL;
    if (slash == path)
        return xstrdup("/");
    return xstrndup(path, (size_t)(slash - path));
}

/* ---- sessions ---- */

static sess_mark_t *sess_mark(prep_t *p, int64_t sid)
{
    sess_mark_t *m = hmap_get64(&p->sessions, (uint64_t)sid);
    if (!m) {
        m = xcalloc(1, sizeof *m);
        hmap_put64(&p->sessions, (uint64_t)sid, m);
    }
    return m;
}

static bool session_usable(const prep_t *p, int64_t sid)
{
    sess_mark_t *m = hmap_get64(&p->sessions, (uint64_t)sid);
    if (m && m->closing_zxid)
        return false;
    return dt_session_exists(p->dt, sid) || (m && m->created_zxid);
}

/* ---- txn output ---- */

static void put_header(buf_t *out, const prep_ctx_t *ctx, int32_t type)
{
    zkp_TxnHeader h = {ctx->session_id, ctx->cxid, ctx->zxid, ctx->now_ms, type};
    jute_encode(&zkp_TxnHeader_rec, &h, out);
}

static void put_error_txn(buf_t *out, const prep_ctx_t *ctx, int32_t err)
{
    put_header(out, ctx, ZOO_ERROR_OP);
    jute_put_int(out, err);
}

void prep_error(prep_t *p, const prep_ctx_t *ctx, int32_t err, buf_t *out)
{
    rollback(p, ctx->zxid);
    put_error_txn(out, ctx, err);
}

/* ---- per-op preparation: returns the error, or ZOK with *type and `body` set ---- */

typedef struct op_in_s {
    int32_t op;
    const void *req;
    bool saw_nul;   /* a string in the request held a NUL byte */
    bool in_multi;
} op_in_t;

static int check_version(int32_t current, int32_t expected, int32_t *next)
{
    if (expected != -1 && expected != current)
        return ZBADVERSION;
    *next = (int32_t)((uint32_t)current + 1u);
    return ZOK;
}

static int prep_create(prep_t *p, const prep_ctx_t *ctx, const op_in_t *in, buf_t *body)
{
    const char *path0;
    const jute_buf_t *data;
    const jute_vec_t *acl_in;
    int32_t flags;
    int64_t ttl = -1;
    if (in->op == ZOO_CREATETTL_OP) {
        const zkp_CreateTTLRequest *r = in->req;
        path0 = r->path, data = &r->data, acl_in = &r->acl, flags = r->flags, ttl = r->ttl;
    } else {
        const zkp_CreateRequest *r = in->req;
        path0 = r->path, data = &r->data, acl_in = &r->acl, flags = r->flags;
    }
    if (flags < ZK_PERSISTENT || flags > ZK_PERSISTENT_SEQUENTIAL_WITH_TTL)
        return ZBADARGUMENTS;
    bool is_ttl = flags == ZK_PERSISTENT_WITH_TTL || flags == ZK_PERSISTENT_SEQUENTIAL_WITH_TTL;
    bool is_seq = flags == ZK_PERSISTENT_SEQUENTIAL || flags == ZK_EPHEMERAL_SEQUENTIAL ||
                  flags == ZK_PERSISTENT_SEQUENTIAL_WITH_TTL;
    bool is_eph = flags == ZK_EPHEMERAL || flags == ZK_EPHEMERAL_SEQUENTIAL;
    if (is_ttl && !p->extended_types)
        return ZUNIMPLEMENTED;
    if (is_ttl ? (ttl <= 0 || ttl > ZK_TTL_MAX) : ttl >= 0)
        return ZBADARGUMENTS;
    if (is_eph && !session_usable(p, ctx->session_id))
        return ZSESSIONEXPIRED;
    if (!path0)
        return ZMARSHALLINGERROR;
    char *parent = parent_of(path0);
    if (!parent || in->saw_nul) {
        free(parent);
        return ZBADARGUMENTS;
    }
    jute_vec_t acl = {0, NULL};
    int err = acl_fixup((const zkp_ACL *)acl_in->v, acl_in->n, ctx->auth, &acl);
    if (err) {
        free(parent);
        return err;
    }
    view_t pv;
    char *path = NULL;
    if ((err = get_record(p, parent, &pv)))
        goto out;
    if (!acl_check(pv.acl, pv.nacl, ZK_PERM_CREATE, ctx->auth)) {
        err = ZNOAUTH;
        goto out;
    }
    int32_t parent_cversion = pv.stat.cversion;
    path = is_seq ? xasprintf("%s%010d", path0, parent_cversion) : xstrdup(path0);
    if ((err = prep_validate_path(path, false)))
        goto out;
    view_t nv;
    if (get_record(p, path, &nv) == ZOK) {
        err = ZNODEEXISTS;
        goto out;
    }
    if (is_normal_ephemeral(pv.stat.ephemeralOwner)) {
        err = ZNOCHILDRENFOREPHEMERALS;
        goto out;
    }
    int32_t new_cversion = (int32_t)((uint32_t)parent_cversion + 1u);
    int64_t owner;
    if (in->op == ZOO_CREATECONTAINER_OP) {
        zkp_CreateContainerTxn t = {path, *data, acl, new_cversion};
        jute_encode(&zkp_CreateContainerTxn_rec, &t, body);
        owner = ZK_CONTAINER_EPHEMERAL_OWNER;
    } else if (in->op == ZOO_CREATETTL_OP) {
        zkp_CreateTTLTxn t = {path, *data, acl, new_cversion, ttl};
        jute_encode(&zkp_CreateTTLTxn_rec, &t, body);
        owner = ZK_TTL_MASK | ttl;
    } else {
        zkp_CreateTxn t = {path, *data, acl, is_eph, new_cversion};
        jute_encode(&zkp_CreateTxn_rec, &t, body);
        owner = is_eph ? ctx->session_id : 0;
    }
    zkp_Stat ps = pv.stat;
    ps.cversion = new_cversion;
    ps.pzxid = ctx->zxid;
    add_record(p, ctx->zxid, parent, true, &ps, pv.child_count + 1, pv.acl, pv.nacl);
    zkp_Stat ns = {ctx->zxid, ctx->zxid, ctx->now_ms, ctx->now_ms, 0, 0, 0, owner,
                   data->len > 0 ? data->len : 0, 0, ctx->zxid};
    add_record(p, ctx->zxid, path, true, &ns, 0, acl.v, acl.n);
out:
    free(path);
    free(parent);
    acl_vec_free(&acl);
    return err;
}

static int prep_delete_path(prep_t *p, const prep_ctx_t *ctx, const char *path, bool saw_nul, bool check_acl,
                            int32_t version, bool container, buf_t *body)
{
    if (!path)
        return ZMARSHALLINGERROR;
    char *parent = parent_of(path);
    if (!parent || saw_nul || is_special_path(path)) {
        free(parent);
        return ZBADARGUMENTS;
    }
    view_t pv, nv;
    int err;
    if (container) {
        if ((err = get_record(p, path, &nv)))
            goto out;
        if (nv.child_count > 0) {
            err = ZNOTEMPTY;
            goto out;
        }
        if (is_normal_ephemeral(nv.stat.ephemeralOwner)) {
            err = ZBADVERSION;
            goto out;
        }
        if ((err = get_record(p, parent, &pv)))
            goto out;
    } else {
        if ((err = get_record(p, parent, &pv)))
            goto out;
        if (check_acl && !acl_check(pv.acl, pv.nacl, ZK_PERM_DELETE, ctx->auth)) {
            err = ZNOAUTH;
            goto out;
        }
        if ((err = get_record(p, path, &nv)))
            goto out;
        int32_t next;
        if ((err = check_version(nv.stat.version, version, &next)))
            goto out;
        if (nv.child_count > 0) {
            err = ZNOTEMPTY;
            goto out;
        }
    }
    zkp_DeleteTxn t = {(char *)path};
    jute_encode(&zkp_DeleteTxn_rec, &t, body);
    zkp_Stat ps = pv.stat;
    ps.pzxid = ctx->zxid;
    add_record(p, ctx->zxid, parent, true, &ps, pv.child_count - 1, pv.acl, pv.nacl);
    add_record(p, ctx->zxid, path, false, NULL, -1, NULL, 0);
out:
    free(parent);
    return err;
}

static int prep_set_data(prep_t *p, const prep_ctx_t *ctx, const op_in_t *in, buf_t *body)
{
    const zkp_SetDataRequest *r = in->req;
    if (!r->path)
        return ZMARSHALLINGERROR;
    if (in->saw_nul || prep_validate_path(r->path, false))
        return ZBADARGUMENTS;
    view_t v;
    int err;
    if ((err = get_record(p, r->path, &v)))
        return err;
    if (!acl_check(v.acl, v.nacl, ZK_PERM_WRITE, ctx->auth))
        return ZNOAUTH;
    int32_t next;
    if ((err = check_version(v.stat.version, r->version, &next)))
        return err;
    zkp_SetDataTxn t = {r->path, r->data, next};
    jute_encode(&zkp_SetDataTxn_rec, &t, body);
    zkp_Stat s = v.stat;
    s.version = next;
    s.mtime = ctx->now_ms;
    s.mzxid = ctx->zxid;
    s.dataLength = r->data.len > 0 ? r->data.len : 0;
    add_record(p, ctx->zxid, r->path, true, &s, v.child_count, v.acl, v.nacl);
    return ZOK;
}

static int prep_set_acl(prep_t *p, const prep_ctx_t *ctx, const op_in_t *in, buf_t *body)
{
    const zkp_SetACLRequest *r = in->req;
    if (!r->path)
        return ZMARSHALLINGERROR;
    if (in->saw_nul || prep_validate_path(r->path, false))
        return ZBADARGUMENTS;
    jute_vec_t acl = {0, NULL};
    int err = acl_fixup((const zkp_ACL *)r->acl.v, r->acl.n, ctx->auth, &acl);
    if (err)
        return err;
    view_t v;
    int32_t next;
    if ((err = get_record(p, r->path, &v)))
        goto out;
    if (!acl_check(v.acl, v.nacl, ZK_PERM_ADMIN, ctx->auth)) {
        err = ZNOAUTH;
        goto out;
    }
    if ((err = check_version(v.stat.aversion, r->version, &next)))
        goto out;
    zkp_SetACLTxn t = {r->path, acl, next};
    jute_encode(&zkp_SetACLTxn_rec, &t, body);
    zkp_Stat s = v.stat;
    s.aversion = next;
    add_record(p, ctx->zxid, r->path, true, &s, v.child_count, acl.v, acl.n);
out:
    acl_vec_free(&acl);
    return err;
}

static int prep_check(prep_t *p, const prep_ctx_t *ctx, const op_in_t *in, buf_t *body)
{
    const zkp_CheckVersionRequest *r = in->req;
    if (!r->path)
        return ZMARSHALLINGERROR;
    if (in->saw_nul || prep_validate_path(r->path, false))
        return ZBADARGUMENTS;
    view_t v;
    int err;
    if ((err = get_record(p, r->path, &v)))
        return err;
    if (!acl_check(v.acl, v.nacl, ZK_PERM_READ, ctx->auth))
        return ZNOAUTH;
    int32_t next;
    if ((err = check_version(v.stat.version, r->version, &next)))
        return err;
    zkp_CheckVersionTxn t = {r->path, next};
    jute_encode(&zkp_CheckVersionTxn_rec, &t, body);
    return ZOK;
}

/* One write op: ZOK and its txn body in `body`, or the error. */
static int prep_op(prep_t *p, const prep_ctx_t *ctx, const op_in_t *in, buf_t *body)
{
    if (!in->req)
        return ZMARSHALLINGERROR;
    switch (in->op) {
    case ZOO_CREATE_OP:
    case ZOO_CREATE2_OP:
    case ZOO_CREATECONTAINER_OP:
    case ZOO_CREATETTL_OP: return prep_create(p, ctx, in, body);
    case ZOO_DELETE_OP: {
        const zkp_DeleteRequest *r = in->req;
        return prep_delete_path(p, ctx, r->path, in->saw_nul, true, r->version, false, body);
    }
    case ZOO_SETDATA_OP: return prep_set_data(p, ctx, in, body);
    case ZOO_SETACL_OP:
        if (in->in_multi)
            return ZMARSHALLINGERROR;
        return prep_set_acl(p, ctx, in, body);
    case ZOO_CHECK_OP: return prep_check(p, ctx, in, body);
    default: return ZMARSHALLINGERROR;
    }
}

/* 3.8.0's MultiOperationRecord rebuilds create ops from their flags: the op type becomes
 * createTTL / createContainer / create by CreateMode (invalid flags count as PERSISTENT), so
 * a create2 inside a multi is answered like a create (path only), as a live 3.8.0 does. A
 * createTTL op with non-TTL flags becomes a plain create (its ttl dropped); a create-family
 * op with TTL flags but no ttl field cannot be prepared (ZMARSHALLINGERROR). */
static int multi_normalize(const prep_multi_op_t *op, int32_t *type, const void **req, zkp_CreateRequest *tmp)
{
    *type = op->type;
    *req = op->req;
    if (!op->req)
        return ZOK;
    int32_t flags;
    switch (op->type) {
    case ZOO_CREATE_OP:
    case ZOO_CREATE2_OP:
    case ZOO_CREATECONTAINER_OP:
        flags = ((const zkp_CreateRequest *)op->req)->flags;
        break;
    case ZOO_CREATETTL_OP:
        flags = ((const zkp_CreateTTLRequest *)op->req)->flags;
        break;
    default: return ZOK;
    }
    int32_t mode = flags >= ZK_PERSISTENT && flags <= ZK_PERSISTENT_SEQUENTIAL_WITH_TTL ? flags : ZK_PERSISTENT;
    bool ttl_mode = mode == ZK_PERSISTENT_WITH_TTL || mode == ZK_PERSISTENT_SEQUENTIAL_WITH_TTL;
    if (op->type == ZOO_CREATETTL_OP) {
        if (ttl_mode)
            return ZOK;
        const zkp_CreateTTLRequest *r = op->req;
        *tmp = (zkp_CreateRequest){r->path, r->data, r->acl, r->flags};
        *req = tmp;
    } else if (ttl_mode) {
        return ZMARSHALLINGERROR;
    }
    *type = mode == ZK_CONTAINER ? ZOO_CREATECONTAINER_OP : ZOO_CREATE_OP;
    return ZOK;
}

static int prep_multi(prep_t *p, const prep_ctx_t *ctx, const prep_multi_t *m, buf_t *out)
{
    size_t n = m ? m->n : 0;
    buf_t *bodies = xcalloc(n ? n : 1, sizeof *bodies);
    int32_t *types = xcalloc(n ? n : 1, sizeof *types);
    size_t fail_at = n;
    int fail_err = ZOK;
    for (size_t i = 0; i < n && fail_at == n; i++) {
        zkp_CreateRequest tmp;
        const void *req;
        int err = multi_normalize(&m->ops[i], &types[i], &req, &tmp);
        if (!err) {
            op_in_t in = {types[i], req, m->ops[i].has_nul, true};
            err = prep_op(p, ctx, &in, &bodies[i]);
        }
        if (err == ZMARSHALLINGERROR) {
            /* 3.8: an op that cannot be turned into a txn fails the whole request */
            for (size_t k = 0; k < n; k++)
                buf_free(&bodies[k]);
            free(bodies);
            free(types);
            prep_error(p, ctx, ZMARSHALLINGERROR, out);
            return ZMARSHALLINGERROR;
        }
        if (err) {
            fail_at = i;
            fail_err = err;
            rollback(p, ctx->zxid);
        }
    }
    put_header(out, ctx, ZOO_MULTI_OP);
    jute_put_int(out, (int32_t)n);
    for (size_t i = 0; i < n; i++) {
        if (fail_at < n) {
            int32_t e = i < fail_at ? ZOK : i == fail_at ? fail_err : ZRUNTIMEINCONSISTENCY;
            uint8_t eb[4];
            be32_put(eb, (uint32_t)e);
            jute_put_int(out, ZOO_ERROR_OP);
            jute_put_buffer(out, eb, 4);
        } else {
            jute_put_int(out, types[i]);
            jute_put_buffer(out, bodies[i].data ? bodies[i].data : (const uint8_t *)"", (int32_t)bodies[i].len);
        }
        buf_free(&bodies[i]);
    }
    free(bodies);
    free(types);
    return fail_err;
}

static int strcmp_ptr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void prep_close_session(prep_t *p, const prep_ctx_t *ctx, buf_t *out)
{
    int64_t sid = ctx->session_id;
    /* ephemerals = the tree's, adjusted by outstanding changes in order (3.8) */
    hmap_t es;
    hmap_init(&es);
    jute_strvec_t tree = {0, NULL};
    dt_session_ephemerals(p->dt, sid, &tree);
    for (int32_t i = 0; i < tree.n; i++)
        hmap_puts(&es, tree.v[i], (void *)1);
    jute_strvec_free(&tree);
    for (rec_t *r = p->head; r; r = r->next) {
        if (!r->exists)
            hmap_dels(&es, r->path);
        else if (r->stat.ephemeralOwner == sid)
            hmap_puts(&es, r->path, (void *)1);
    }
    zkp_CloseSessionTxn t = {{0, NULL}};
    hmap_iter_t it;
    const void *key;
    size_t klen;
    hmap_iter_init(&es, &it);
    while (hmap_iter_next(&es, &it, &key, &klen, NULL)) {
        char *s = xstrndup(key, klen);
        jute_strvec_push(&t.paths2Delete, s);
        free(s);
    }
    hmap_fini(&es, NULL);
    if (t.paths2Delete.n > 1)
        qsort(t.paths2Delete.v, (size_t)t.paths2Delete.n, sizeof(char *), strcmp_ptr);
    for (int32_t i = 0; i < t.paths2Delete.n; i++) {
        const char *path = t.paths2Delete.v[i];
        char *parent = parent_of(path);
        view_t pv;
        if (parent && get_record(p, parent, &pv) == ZOK) {
            zkp_Stat ps = pv.stat;
            ps.pzxid = ctx->zxid;
            add_record(p, ctx->zxid, parent, true, &ps, pv.child_count - 1, pv.acl, pv.nacl);
        }
        free(parent);
        add_record(p, ctx->zxid, path, false, NULL, -1, NULL, 0);
    }
    put_header(out, ctx, ZOO_CLOSE_OP);
    jute_encode(&zkp_CloseSessionTxn_rec, &t, out);
    jute_strvec_free(&t.paths2Delete);
    sess_mark(p, sid)->closing_zxid = ctx->zxid;
}

int prep_request(prep_t *p, const prep_ctx_t *ctx, int op, const void *req, buf_t *out)
{
    switch (op) {
    case ZOO_MULTI_OP: return prep_multi(p, ctx, req, out);
    case ZOO_CLOSE_OP: prep_close_session(p, ctx, out); return ZOK;
    case ZOO_CREATE_OP:
    case ZOO_CREATE2_OP:
    case ZOO_CREATECONTAINER_OP:
    case ZOO_CREATETTL_OP:
    case ZOO_DELETE_OP:
    case ZOO_SETDATA_OP:
    case ZOO_SETACL_OP:
    case ZOO_CHECK_OP: {
        buf_t body = BUF_INIT;
        op_in_t in = {op, req, ctx->saw_nul, false};
        int err = prep_op(p, ctx, &in, &body);
        if (err) {
            prep_error(p, ctx, err, out);
        } else {
            put_header(out, ctx, op);
            buf_put(out, body.data, body.len);
        }
        buf_free(&body);
        return err;
    }
    case ZOO_RECONFIG_OP:
        /* reconfigEnabled=false (3.8's default): refused, but the failure takes a zxid */
        prep_error(p, ctx, ZRECONFIGDISABLED, out);
        return ZRECONFIGDISABLED;
    default: prep_error(p, ctx, ZUNIMPLEMENTED, out); return ZUNIMPLEMENTED;
    }
}

void prep_create_session(prep_t *p, const prep_ctx_t *ctx, int32_t timeout, buf_t *out)
{
    put_header(out, ctx, ZOO_CREATESESSION_OP);
    jute_put_int(out, timeout);
    sess_mark_t *m = sess_mark(p, ctx->session_id);
    m->created_zxid = ctx->zxid;
    m->closing_zxid = 0;
}

int prep_delete_container(prep_t *p, const prep_ctx_t *ctx, const char *path, buf_t *out)
{
    buf_t body = BUF_INIT;
    int err = prep_delete_path(p, ctx, path, false, false, -1, true, &body);
    if (err) {
        prep_error(p, ctx, err, out);
    } else {
        put_header(out, ctx, ZOO_DELETECONTAINER_OP);
        buf_put(out, body.data, body.len);
    }
    buf_free(&body);
    return err;
}

/* ---- multi wire form ---- */

static bool multi_op_allowed(int32_t type)
{
    switch (type) {
    case ZOO_CREATE_OP:
    case ZOO_CREATE2_OP:
    case ZOO_CREATECONTAINER_OP:
    case ZOO_CREATETTL_OP:
    case ZOO_DELETE_OP:
    case ZOO_SETDATA_OP:
    case ZOO_CHECK_OP:
    case ZOO_GETDATA_OP:
    case ZOO_GETCHILDREN_OP: return true;
    default: return false;
    }
}

void prep_multi_free(prep_multi_t *m)
{
    for (size_t i = 0; i < m->n; i++) {
        const jute_rec_t *rec = zkp_request_rec(m->ops[i].type);
        if (rec && m->ops[i].req)
            jute_free(rec, m->ops[i].req);
        free(m->ops[i].req);
    }
    free(m->ops);
    m->ops = NULL;
    m->n = 0;
}

int prep_multi_decode(jute_rd_t *jr, prep_multi_t *out)
{
    out->ops = NULL;
    out->n = 0;
    size_t cap = 0;
    bool nul_before = jr->saw_nul;
    for (;;) {
        zkp_MultiHeader h;
        if (jute_decode(&zkp_MultiHeader_rec, &h, jr))
            goto bad;
        if (h.done)
            break;
        if (!multi_op_allowed(h.type))
            goto bad;
        const jute_rec_t *rec = zkp_request_rec(h.type);
        void *req = xcalloc(1, rec->size);
        jr->saw_nul = false;
        if (jute_decode(rec, req, jr)) {
            free(req);
            goto bad;
        }
        if (out->n == cap) {
            cap = cap ? cap * 2 : 4;
            out->ops = xrealloc(out->ops, cap * sizeof *out->ops);
        }
        out->ops[out->n].type = h.type;
        out->ops[out->n].req = req;
        out->ops[out->n].has_nul = jr->saw_nul;
        nul_before |= jr->saw_nul;
        out->n++;
    }
    jr->saw_nul = nul_before;
    return 0;
bad:
    jr->saw_nul = nul_before;
    prep_multi_free(out);
    return -1;
}

void prep_multi_encode(const prep_multi_t *m, buf_t *out)
{
    for (size_t i = 0; i < m->n; i++) {
        zkp_MultiHeader h = {m->ops[i].type, false, -1};
        jute_encode(&zkp_MultiHeader_rec, &h, out);
        jute_encode(zkp_request_rec(m->ops[i].type), m->ops[i].req, out);
    }
    zkp_MultiHeader end = {-1, true, -1};
    jute_encode(&zkp_MultiHeader_rec, &end, out);
}
