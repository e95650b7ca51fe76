/* datatree.c — the znode tree, sessions and the pure apply function.
 *
 * Layout: one hash map from full path to node; children are an intrusive
 * doubly-linked sibling list (lookups always go through the path map, so a child
 * set is never needed), which keeps a node at one allocation plus its path and
 * data. ACL lists are interned and reference-counted (as ZooKeeper's
 * ReferenceCountedACLCache), so a million nodes sharing OPEN_ACL_UNSAFE share one
 * copy. Walks over the tree (snapshot, descendant count, free) are iterative.
 *
 * Stat semantics (ZooKeeper 3.8, confirmed against a live server):
 *  - the stored cversion counts child creations only; clients see
 *    2 * stored - numChildren, i.e. creations + deletions (this is why a fresh
 *    tree shows cversion -1 on "/" and -2 on "/zookeeper");
 *  - the sequential suffix is the stored cversion;
 *  - create sets the parent's cversion to the txn's parentCVersion and its pzxid
 *    only when that raises the cversion; delete raises the parent's pzxid only;
 *  - containers and TTL nodes show ephemeralOwner 0 to clients;
 *  - data may be null (a client sent a null buffer) and is returned as null. */
#include "coord/datatree.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/hmap.h"

#define DT_SNAP_MAGIC 0x47524454   /* "GRDT" */
#define DT_SNAP_VERSION 1
#define TTL_VALUE_MASK ((int64_t)0x000000FFFFFFFFFFLL)

typedef struct acl_ent_s {
    zkp_ACL *v;
    int32_t n;
    uint32_t refs;
    uint64_t hash;
    uint8_t *key;   /* the jute encoding, the interning key */
    size_t klen;
} acl_ent_t;

struct dt_node_s {
    const char *path;   /* the nodes map's own copy of the key (hmap_put_keyref) */
    dt_node_t *parent, *first_child, *next_sib, *prev_sib;
    int32_t nchildren;
    int32_t version, cversion, aversion;   /* cversion: stored (creations) */
    int64_t czxid, mzxid, ctime, mtime, pzxid, owner;
    uint8_t *data;
    int32_t dlen;   /* -1 = null */
    acl_ent_t *acl;
    uint64_t data_hash;
    uint64_t digest;
};

struct dt_s {
    hmap_t nodes;        /* path -> dt_node_t* */
    dt_node_t *root;
    hmap_t acls;         /* encoded ACL list -> acl_ent_t* */
    hmap_t sessions;     /* sid -> int32_t* timeout */
    hmap_t ephemerals;   /* owner sid -> hmap_t* (path -> node) */
    hmap_t containers;   /* path -> node */
    hmap_t ttls;         /* path -> node */
    int64_t last_zxid;
    uint64_t digest;
    size_t data_bytes;
    size_t nephemeral;
};

enum node_kind { NK_PERSISTENT, NK_EPHEMERAL, NK_CONTAINER, NK_TTL };

static enum node_kind owner_kind(int64_t owner)
{
    if (owner == 0)
        return NK_PERSISTENT;
    if (owner == ZK_CONTAINER_EPHEMERAL_OWNER)
        return NK_CONTAINER;
    if ((owner & ZK_TTL_MASK) == ZK_TTL_MASK)
        return NK_TTL;
    return NK_EPHEMERAL;
}

/* ---- ACL interning ---- */

static acl_ent_t *acl_intern(dt_t *dt, const zkp_ACL *v, int32_t n)
{
    jute_vec_t vec = {n < 0 ? 0 : n, (void *)v};
    buf_t b = BUF_INIT;
    jute_put_int(&b, vec.n);
    for (int32_t i = 0; i < vec.n; i++)
        jute_encode(&zkp_ACL_rec, &v[i], &b);
    acl_ent_t *e = hmap_get(&dt->acls, b.data, b.len);
    if (e) {
        e->refs++;
        buf_free(&b);
        return e;
    }
    e = xcalloc(1, sizeof *e);
    e->n = vec.n;
    e->v = vec.n ? xcalloc((size_t)vec.n, sizeof(zkp_ACL)) : NULL;
    for (int32_t i = 0; i < vec.n; i++)
        jute_copy(&zkp_ACL_rec, &e->v[i], &v[i]);
    e->refs = 1;
    e->hash = hash_bytes(b.data, b.len);
    e->klen = b.len;
    e->key = buf_steal(&b, &e->klen);
    hmap_put(&dt->acls, e->key, e->klen, e);
    return e;
}

static void acl_ent_free(void *p)
{
    acl_ent_t *e = p;
    for (int32_t i = 0; i < e->n; i++)
        jute_free(&zkp_ACL_rec, &e->v[i]);
    free(e->v);
    free(e->key);
    free(e);
}

static void acl_release(dt_t *dt, acl_ent_t *e)
{
    if (!e || --e->refs)
        return;
    hmap_del(&dt->acls, e->key, e->klen);
    acl_ent_free(e);
}

/* ---- digest ---- */

static uint64_t node_digest(const dt_node_t *n)
{
    struct {
        uint64_t path_h, data_h, acl_h;
        int64_t czxid, mzxid, ctime, mtime, pzxid, owner;
        int32_t version, cversion, aversion, dlen;
    } d;
    memset(&d, 0, sizeof d);
    d.path_h = hash_bytes(n->path, strlen(n->path));
    d.data_h = n->data_hash;
    d.acl_h = n->acl ? n->acl->hash : 0;
    d.czxid = n->czxid;
    d.mzxid = n->mzxid;
    d.ctime = n->ctime;
    d.mtime = n->mtime;
    d.pzxid = n->pzxid;
    d.owner = n->owner;
    d.version = n->version;
    d.cversion = n->cversion;
    d.aversion = n->aversion;
    d.dlen = n->dlen;
    return hash_bytes(&d, sizeof d);
}

static void rehash(dt_t *dt, dt_node_t *n)
{
    dt->digest -= n->digest;
    n->digest = node_digest(n);
    dt->digest += n->digest;
}

static void set_data(dt_node_t *n, const uint8_t *p, int32_t len)
{
    free(n->data);
    n->data = NULL;
    n->dlen = len < 0 ? -1 : len;
    if (len > 0)
        n->data = xmemdup(p, (size_t)len);
    n->data_hash = len < 0 ? 0 : hash_bytes(len > 0 ? p : (const uint8_t *)"", (size_t)(len > 0 ? len : 0)) + 1;
}

static size_t node_size(const dt_node_t *n)
{
    return strlen(n->path) + (size_t)(n->dlen > 0 ? n->dlen : 0);
}

/* ---- node bookkeeping ---- */

static dt_node_t *lookup(const dt_t *dt, const char *path)
{
    return hmap_gets(&dt->nodes, path);
}

/* Parent path of p (which starts with '/'): "" for "/x" maps to "/". Heap string. */
static char *parent_path(const char *p)
{
    const char *slash = strrchr(p, '/');
    if (!slash || slash == p)
        return xstrdup("/");
    return xstrndup(p, (size_t)(slash - p));
}

static void link_child(dt_node_t *parent, dt_node_t *child)
{
    child->parent = parent;
    child->prev_sib = NULL;
    child->next_sib = parent->first_child;
    if (parent->first_child)
        parent->first_child->prev_sib = child;
    parent->first_child = child;
    parent->nchildren++;
}

static void unlink_child(dt_node_t *child)
{
    dt_node_t *parent = child->parent;
    if (child->prev_sib)
        child->prev_sib->next_sib = child->next_sib;
    else
        parent->first_child = child->next_sib;
    if (child->next_sib)
        child->next_sib->prev_sib = child->prev_sib;
    child->prev_sib = child->next_sib = NULL;
    parent->nchildren--;
}

static void track_kind(dt_t *dt, dt_node_t *n, bool add)
{
    switch (owner_kind(n->owner)) {
    case NK_PERSISTENT: break;
    case NK_CONTAINER:
        if (add)
            hmap_puts(&dt->containers, n->path, n);
        else
            hmap_dels(&dt->containers, n->path);
        break;
    case NK_TTL:
        if (add)
            hmap_puts(&dt->ttls, n->path, n);
        else
            hmap_dels(&dt->ttls, n->path);
        break;
    case NK_EPHEMERAL: {
        hmap_t *set = hmap_get64(&dt->ephemerals, (uint64_t)n->owner);
        if (add) {
            if (!set) {
                set = xcalloc(1, sizeof *set);
                hmap_init(set);
                hmap_put64(&dt->ephemerals, (uint64_t)n->owner, set);
            }
            if (!hmap_puts(set, n->path, n))
                dt->nephemeral++;
        } else if (set) {
            if (hmap_dels(set, n->path))
                dt->nephemeral--;
            if (!hmap_count(set)) {
                hmap_del64(&dt->ephemerals, (uint64_t)n->owner);
                hmap_fini(set, NULL);
                free(set);
            }
        }
        break;
    }
    }
}

/* Creates and links a node (parent must exist, path must not). */
static dt_node_t *node_add(dt_t *dt, dt_node_t *parent, const char *path, const uint8_t *data, int32_t dlen,
                           acl_ent_t *acl, int64_t owner)
{
    dt_node_t *n = xcalloc(1, sizeof *n);
    n->path = hmap_put_keyref(&dt->nodes, path, strlen(path), n);
    n->owner = owner;
    n->acl = acl;
    set_data(n, data, dlen);
    if (parent)
        link_child(parent, n);
    track_kind(dt, n, true);
    dt->data_bytes += node_size(n);
    n->digest = node_digest(n);
    dt->digest += n->digest;
    return n;
}

static void node_destroy(dt_t *dt, dt_node_t *n)
{
    acl_release(dt, n->acl);
    free(n->data);
    free(n);
}

/* Unlinks and frees a leaf node. */
static void node_remove(dt_t *dt, dt_node_t *n)
{
    dt->digest -= n->digest;
    dt->data_bytes -= node_size(n);
    track_kind(dt, n, false);
    if (n->parent)
        unlink_child(n);
    hmap_del(&dt->nodes, n->path, strlen(n->path));   /* n->path is gone after this */
    node_destroy(dt, n);
}

/* ---- construction ---- */

static dt_t *dt_alloc(void)
{
    dt_t *dt = xcalloc(1, sizeof *dt);
    hmap_init(&dt->nodes);
    hmap_init(&dt->acls);
    hmap_init(&dt->sessions);
    hmap_init(&dt->ephemerals);
    hmap_init(&dt->containers);
    hmap_init(&dt->ttls);
    return dt;
}

dt_t *dt_new(void)
{
    dt_t *dt = dt_alloc();
    zkp_ACL open_acl = {ZK_PERM_ALL, {"world", "anyone"}};
    zkp_ACL read_acl = {ZK_PERM_READ, {"world", "anyone"}};
    /* As 3.8's DataTree constructor: the children are linked without touching cversion. */
    dt->root = node_add(dt, NULL, "/", (const uint8_t *)"", 0, acl_intern(dt, &open_acl, 1), 0);
    dt_node_t *zk = node_add(dt, dt->root, "/zookeeper", (const uint8_t *)"", 0, acl_intern(dt, &open_acl, 1), 0);
    node_add(dt, zk, "/zookeeper/quota", (const uint8_t *)"", 0, acl_intern(dt, &open_acl, 1), 0);
    dt_node_t *cfg = node_add(dt, zk, "/zookeeper/config", (const uint8_t *)"", 0, acl_intern(dt, &read_acl, 1), 0);
    cfg->aversion = -1;
    rehash(dt, cfg);
    return dt;
}

static void free_set(void *p)
{
    hmap_fini(p, NULL);
    free(p);
}

void dt_free(dt_t *dt)
{
    if (!dt)
        return;
    hmap_iter_t it;
    void *val;
    hmap_iter_init(&dt->nodes, &it);
    while (hmap_iter_next(&dt->nodes, &it, NULL, NULL, &val)) {
        dt_node_t *n = val;
        free(n->data);
        free(n);
    }
    hmap_fini(&dt->nodes, NULL);
    hmap_fini(&dt->acls, acl_ent_free);
    hmap_fini(&dt->sessions, free);
    hmap_fini(&dt->ephemerals, free_set);
    hmap_fini(&dt->containers, NULL);
    hmap_fini(&dt->ttls, NULL);
    free(dt);
}

/* ---- reads ---- */

int64_t dt_last_zxid(const dt_t *dt) { return dt->last_zxid; }
size_t dt_node_count(const dt_t *dt) { return hmap_count(&dt->nodes); }
const dt_node_t *dt_get(const dt_t *dt, const char *path) { return path ? lookup(dt, path) : NULL; }

void dt_set_config_node(dt_t *dt, const uint8_t *data, int32_t len)
{
    dt_node_t *n = hmap_gets(&dt->nodes, "/zookeeper/config");
    if (!n)
        return;
    dt->digest -= n->digest;
    dt->data_bytes -= node_size(n);
    set_data(n, data, len);
    n->version = -1;
    dt->data_bytes += node_size(n);
    n->digest = node_digest(n);
    dt->digest += n->digest;
}
const char *dt_node_path(const dt_node_t *n) { return n->path; }
int32_t dt_node_num_children(const dt_node_t *n) { return n->nchildren; }
int64_t dt_node_ephemeral_owner(const dt_node_t *n) { return n->owner; }
uint64_t dt_digest(const dt_t *dt) { return dt->digest; }
size_t dt_data_bytes(const dt_t *dt) { return dt->data_bytes; }
size_t dt_ephemeral_count(const dt_t *dt) { return dt->nephemeral; }
size_t dt_session_count(const dt_t *dt) { return hmap_count(&dt->sessions); }

void dt_node_stat_persisted(const dt_node_t *n, zkp_Stat *out)
{
    out->czxid = n->czxid;
    out->mzxid = n->mzxid;
    out->ctime = n->ctime;
    out->mtime = n->mtime;
    out->version = n->version;
    out->cversion = n->cversion;
    out->aversion = n->aversion;
    out->ephemeralOwner = n->owner;
    out->dataLength = n->dlen > 0 ? n->dlen : 0;
    out->numChildren = n->nchildren;
    out->pzxid = n->pzxid;
}

void dt_node_stat(const dt_node_t *n, zkp_Stat *out)
{
    dt_node_stat_persisted(n, out);
    out->cversion = (int32_t)((uint32_t)n->cversion * 2u - (uint32_t)n->nchildren);
    if (owner_kind(n->owner) != NK_EPHEMERAL)
        out->ephemeralOwner = 0;
}

const uint8_t *dt_node_data(const dt_node_t *n, int32_t *len)
{
    if (len)
        *len = n->dlen;
    return n->dlen < 0 ? NULL : (n->data ? n->data : (const uint8_t *)"");
}

const zkp_ACL *dt_node_acl(const dt_node_t *n, int32_t *count)
{
    if (count)
        *count = n->acl ? n->acl->n : 0;
    return n->acl ? n->acl->v : NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void strvec_sort(jute_strvec_t *v, int32_t from)
{
    if (v->n - from > 1)
        qsort(v->v + from, (size_t)(v->n - from), sizeof *v->v, cmp_str);
}

void dt_node_children(const dt_node_t *n, jute_strvec_t *out)
{
    if (out->n < 0)
        out->n = 0;
    int32_t from = out->n;
    size_t plen = strlen(n->path);
    for (const dt_node_t *c = n->first_child; c; c = c->next_sib)
        jute_strvec_push(out, c->path + plen + (plen > 1 ? 1 : 0));
    strvec_sort(out, from);
}

int32_t dt_node_descendants(const dt_node_t *n)
{
    /* Iterative pre-order walk using the parent links. */
    int32_t count = 0;
    const dt_node_t *cur = n->first_child;
    while (cur) {
        count++;
        if (cur->first_child) {
            cur = cur->first_child;
            continue;
        }
        while (cur != n && !cur->next_sib)
            cur = cur->parent;
        cur = cur == n ? NULL : cur->next_sib;
    }
    return count;
}

/* ---- sessions ---- */

bool dt_session_exists(const dt_t *dt, int64_t session_id)
{
    return hmap_get64(&dt->sessions, (uint64_t)session_id) != NULL;
}

int32_t dt_session_timeout(const dt_t *dt, int64_t session_id)
{
    int32_t *t = hmap_get64(&dt->sessions, (uint64_t)session_id);
    return t ? *t : 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorted session ids; caller frees. */
static int64_t *session_ids(const dt_t *dt, size_t *n)
{
    *n = hmap_count(&dt->sessions);
    int64_t *ids = xmalloc((*n ? *n : 1) * sizeof *ids);
    hmap_iter_t it;
    const void *key;
    size_t k = 0;
    hmap_iter_init(&dt->sessions, &it);
    while (hmap_iter_next(&dt->sessions, &it, &key, NULL, NULL))
        memcpy(&ids[k++], key, sizeof(int64_t));
    qsort(ids, *n, sizeof *ids, cmp_i64);
    return ids;
}

void dt_sessions_foreach(const dt_t *dt, void (*fn)(void *ctx, int64_t sid, int32_t timeout), void *ctx)
{
    size_t n;
    int64_t *ids = session_ids(dt, &n);
    for (size_t i = 0; i < n; i++)
        fn(ctx, ids[i], dt_session_timeout(dt, ids[i]));
    free(ids);
}

void dt_session_ephemerals(const dt_t *dt, int64_t session_id, jute_strvec_t *out)
{
    if (out->n < 0)
        out->n = 0;
    int32_t from = out->n;
    hmap_t *set = hmap_get64(&dt->ephemerals, (uint64_t)session_id);
    if (!set)
        return;
    hmap_iter_t it;
    void *val;
    hmap_iter_init(set, &it);
    while (hmap_iter_next(set, &it, NULL, NULL, &val))
        jute_strvec_push(out, ((dt_node_t *)val)->path);
    strvec_sort(out, from);
}

/* ---- apply: tree operations (3.8 DataTree semantics) ---- */

static void add_event(dt_result_t *res, int32_t type, const char *path)
{
    /* capacity: 4, then doubling whenever nevents reaches a power of two */
    if (res->nevents == 0)
        res->events = xmalloc(4 * sizeof *res->events);
    else if (res->nevents >= 4 && (res->nevents & (res->nevents - 1)) == 0)
        res->events = xrealloc(res->events, res->nevents * 2 * sizeof *res->events);
    res->events[res->nevents].type = type;
    res->events[res->nevents].path = xstrdup(path);
    res->nevents++;
}

static bool path_shape_ok(const char *path)
{
    return path && path[0] == '/' && path[1] != '\0';
}

static int op_create(dt_t *dt, const zkp_TxnHeader *h, const char *path, const jute_buf_t *data, const jute_vec_t *acl,
                     int64_t owner, int32_t parent_cversion, dt_result_t *res, zkp_Stat *st)
{
    if (!path_shape_ok(path))
        return ZNONODE;
    char *pp = parent_path(path);
    dt_node_t *parent = lookup(dt, pp);
    free(pp);
    if (!parent)
        return ZNONODE;
    if (lookup(dt, path))
        return ZNODEEXISTS;
    if (parent_cversion == -1)
        parent_cversion = (int32_t)((uint32_t)parent->cversion + 1u);
    if (parent_cversion > parent->cversion) {
        parent->cversion = parent_cversion;
        parent->pzxid = h->zxid;
    }
    dt_node_t *n = node_add(dt, parent, path, data->data, data->len,
                            acl_intern(dt, (const zkp_ACL *)acl->v, acl->n), owner);
    n->czxid = n->mzxid = n->pzxid = h->zxid;
    n->ctime = n->mtime = h->time;
    rehash(dt, n);
    rehash(dt, parent);
    if (st)
        dt_node_stat(n, st);
    add_event(res, ZK_EVENT_CREATED, path);
    add_event(res, ZK_EVENT_CHILD, parent->path);
    return ZOK;
}

/* 3.8 adjusts the parent's cversion/pzxid when a create replays onto an existing node. */
static void create_exists_fixup(dt_t *dt, const zkp_TxnHeader *h, const char *path, int32_t parent_cversion)
{
    char *pp = parent_path(path);
    dt_node_t *parent = lookup(dt, pp);
    free(pp);
    if (!parent)
        return;
    if (parent_cversion == -1)
        parent_cversion = (int32_t)((uint32_t)parent->cversion + 1u);
    if (parent_cversion > parent->cversion) {
        parent->cversion = parent_cversion;
        parent->pzxid = h->zxid;
        rehash(dt, parent);
    }
}

static int op_delete(dt_t *dt, int64_t zxid, const char *path, dt_result_t *res)
{
    if (!path_shape_ok(path))
        return ZBADARGUMENTS;
    char *pp = parent_path(path);
    dt_node_t *parent = lookup(dt, pp);
    free(pp);
    if (!parent)
        return ZNONODE;
    dt_node_t *n = lookup(dt, path);
    if (n && n->nchildren > 0)
        return ZNOTEMPTY;   /* never produced by prep; refuse rather than orphan children */
    /* As 3.8: the parent's pzxid moves even when the node turns out to be missing. */
    if (zxid > parent->pzxid) {
        parent->pzxid = zxid;
        rehash(dt, parent);
    }
    if (!n)
        return ZNONODE;
    node_remove(dt, n);
    add_event(res, ZK_EVENT_DELETED, path);
    add_event(res, ZK_EVENT_CHILD, parent->path);
    return ZOK;
}

static int op_set_data(dt_t *dt, const zkp_TxnHeader *h, const char *path, const jute_buf_t *data, int32_t version,
                       dt_result_t *res, zkp_Stat *st)
{
    dt_node_t *n = path ? lookup(dt, path) : NULL;
    if (!n)
        return ZNONODE;
    dt->data_bytes -= node_size(n);
    set_data(n, data->data, data->len);
    dt->data_bytes += node_size(n);
    n->mtime = h->time;
    n->mzxid = h->zxid;
    n->version = version;
    rehash(dt, n);
    if (st)
        dt_node_stat(n, st);
    add_event(res, ZK_EVENT_CHANGED, path);
    return ZOK;
}

static int op_set_acl(dt_t *dt, const char *path, const jute_vec_t *acl, int32_t version, zkp_Stat *st)
{
    dt_node_t *n = path ? lookup(dt, path) : NULL;
    if (!n)
        return ZNONODE;
    acl_ent_t *e = acl_intern(dt, (const zkp_ACL *)acl->v, acl->n);
    acl_release(dt, n->acl);
    n->acl = e;
    n->aversion = version;
    rehash(dt, n);
    if (st)
        dt_node_stat(n, st);
    return ZOK;
}

static void op_close_session(dt_t *dt, int64_t sid, int64_t zxid, const jute_strvec_t *paths, dt_result_t *res)
{
    for (int32_t i = 0; paths && i < paths->n; i++)
        if (paths->v[i])
            op_delete(dt, zxid, paths->v[i], res);
    /* Whatever the txn did not list (3.8 logs these as unexpected) goes too, in path order. */
    jute_strvec_t rest = {0, NULL};
    dt_session_ephemerals(dt, sid, &rest);
    for (int32_t i = 0; i < rest.n; i++)
        op_delete(dt, zxid, rest.v[i], res);
    jute_strvec_free(&rest);
    int32_t *t = hmap_del64(&dt->sessions, (uint64_t)sid);
    free(t);
}

/* ---- apply: decoding ---- */

typedef union txn_body_u {
    zkp_CreateTxn create;
    zkp_CreateContainerTxn container;
    zkp_CreateTTLTxn ttl;
    zkp_DeleteTxn del;
    zkp_SetDataTxn set_data;
    zkp_SetACLTxn set_acl;
    zkp_CheckVersionTxn check;
    zkp_CreateSessionTxn create_session;
    zkp_CloseSessionTxn close_session;
    zkp_ErrorTxn error;
    zkp_MultiTxn multi;
} txn_body_t;

typedef struct sub_txn_s {
    int32_t type;
    const jute_rec_t *rec;
    txn_body_t body;
} sub_txn_t;

static const jute_rec_t *body_rec(int32_t type, bool in_multi)
{
    switch (type) {
    case ZOO_CREATE_OP:
    case ZOO_CREATE2_OP: return &zkp_CreateTxn_rec;
    case ZOO_CREATETTL_OP: return &zkp_CreateTTLTxn_rec;
    case ZOO_CREATECONTAINER_OP: return &zkp_CreateContainerTxn_rec;
    case ZOO_DELETE_OP:
    case ZOO_DELETECONTAINER_OP: return &zkp_DeleteTxn_rec;
    case ZOO_SETDATA_OP: return &zkp_SetDataTxn_rec;
    case ZOO_CHECK_OP: return &zkp_CheckVersionTxn_rec;
    case ZOO_ERROR_OP: return &zkp_ErrorTxn_rec;
    default: break;
    }
    if (in_multi)
        return NULL;
    switch (type) {
    case ZOO_RECONFIG_OP: return &zkp_SetDataTxn_rec;
    case ZOO_SETACL_OP: return &zkp_SetACLTxn_rec;
    case ZOO_CREATESESSION_OP: return &zkp_CreateSessionTxn_rec;
    case ZOO_CLOSE_OP: return &zkp_CloseSessionTxn_rec;
    case ZOO_MULTI_OP: return &zkp_MultiTxn_rec;
    default: return NULL;
    }
}

/* Decodes exactly the bytes [p, p+len) as the body of `type`. 0 / -1. */
static int decode_body(int32_t type, bool in_multi, const uint8_t *p, size_t len, sub_txn_t *out)
{
    out->type = type;
    out->rec = body_rec(type, in_multi);
    if (!out->rec)
        return -1;
    if (type == ZOO_CLOSE_OP && len == 0) {   /* 3.8 may log closeSession without a body */
        memset(&out->body, 0, sizeof out->body);
        return 0;
    }
    jute_rd_t jr;
    jute_rd_init(&jr, p, len);
    if (jute_decode(out->rec, &out->body, &jr) || jute_left(&jr) != 0) {
        if (jute_ok(&jr))
            jute_free(out->rec, &out->body);
        out->rec = NULL;
        return -1;
    }
    return 0;
}

static void subs_free(sub_txn_t *subs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (subs[i].rec)
            jute_free(subs[i].rec, &subs[i].body);
    free(subs);
}

/* ---- apply: replies ---- */

static void put_stat(buf_t *b, const zkp_Stat *st)
{
    jute_encode(&zkp_Stat_rec, st, b);
}

static void put_multi_header(buf_t *b, int32_t type, bool done, int32_t err)
{
    jute_put_int(b, type);
    jute_put_bool(b, done);
    jute_put_int(b, err);
}

/* Applies one (sub-)txn; fills the reply for the request op `type` into `reply`
 * (standalone form) and returns the error. */
static int apply_one(dt_t *dt, const zkp_TxnHeader *h, sub_txn_t *s, dt_result_t *res, zkp_Stat *st,
                     const char **path_out)
{
    txn_body_t *b = &s->body;
    *path_out = NULL;
    switch (s->type) {
    case ZOO_CREATE_OP:
    case ZOO_CREATE2_OP: {
        *path_out = b->create.path;
        int err = op_create(dt, h, b->create.path, &b->create.data, &b->create.acl,
                            b->create.ephemeral ? h->clientId : 0, b->create.parentCVersion, res, st);
        if (err == ZNODEEXISTS && s->type == ZOO_CREATE_OP)
            create_exists_fixup(dt, h, b->create.path, b->create.parentCVersion);
        return err;
    }
    case ZOO_CREATETTL_OP: {
        *path_out = b->ttl.path;
        if (b->ttl.ttl <= 0 || b->ttl.ttl > ZK_TTL_MAX)
            return ZBADARGUMENTS;
        return op_create(dt, h, b->ttl.path, &b->ttl.data, &b->ttl.acl, ZK_TTL_MASK | b->ttl.ttl,
                         b->ttl.parentCVersion, res, st);
    }
    case ZOO_CREATECONTAINER_OP:
        *path_out = b->container.path;
        return op_create(dt, h, b->container.path, &b->container.data, &b->container.acl,
                         ZK_CONTAINER_EPHEMERAL_OWNER, b->container.parentCVersion, res, st);
    case ZOO_DELETE_OP:
    case ZOO_DELETECONTAINER_OP:
        *path_out = b->del.path;
        return op_delete(dt, h->zxid, b->del.path, res);
    case ZOO_SETDATA_OP:
    case ZOO_RECONFIG_OP:
        *path_out = b->set_data.path;
        return op_set_data(dt, h, b->set_data.path, &b->set_data.data, b->set_data.version, res, st);
    case ZOO_SETACL_OP:
        *path_out = b->set_acl.path;
        return op_set_acl(dt, b->set_acl.path, &b->set_acl.acl, b->set_acl.version, st);
    case ZOO_CHECK_OP:
        *path_out = b->check.path;
        return ZOK;
    case ZOO_ERROR_OP:
        return b->error.err;
    case ZOO_CREATESESSION_OP: {
        int32_t *t = hmap_get64(&dt->sessions, (uint64_t)h->clientId);
        if (!t) {
            t = xmalloc(sizeof *t);
            hmap_put64(&dt->sessions, (uint64_t)h->clientId, t);
        }
        *t = b->create_session.timeOut;
        return ZOK;
    }
    case ZOO_CLOSE_OP:
        op_close_session(dt, h->clientId, h->zxid, &b->close_session.paths2Delete, res);
        return ZOK;
    default:
        return ZUNIMPLEMENTED;
    }
}

static void apply_multi(dt_t *dt, const zkp_TxnHeader *h, sub_txn_t *subs, size_t n, dt_result_t *res)
{
    bool failed = false;
    for (size_t i = 0; i < n; i++)
        failed |= subs[i].type == ZOO_ERROR_OP;
    bool post_failed = false;
    for (size_t i = 0; i < n; i++) {
        sub_txn_t *s = &subs[i];
        if (s->type == ZOO_ERROR_OP) {
            post_failed = true;
        } else if (failed) {
            /* 3.8: a multi that failed anywhere applies nothing; earlier ops report 0,
             * later ones RUNTIMEINCONSISTENCY. */
            jute_free(s->rec, &s->body);
            s->type = ZOO_ERROR_OP;
            s->rec = &zkp_ErrorTxn_rec;
            s->body.error.err = post_failed ? ZRUNTIMEINCONSISTENCY : ZOK;
        }
        zkp_Stat st;
        memset(&st, 0, sizeof st);
        const char *path;
        int err = apply_one(dt, h, s, res, &st, &path);
        if (err && !res->txn_err)
            res->txn_err = err;
        if (s->type == ZOO_ERROR_OP || err) {
            put_multi_header(&res->reply, ZOO_ERROR_OP, false, err);
            jute_put_int(&res->reply, err);
            continue;
        }
        /* 3.8 answers every create that returns a Stat with a create2-typed result */
        int32_t rtype = s->type == ZOO_CREATETTL_OP || s->type == ZOO_CREATECONTAINER_OP ? ZOO_CREATE2_OP : s->type;
        put_multi_header(&res->reply, rtype, false, 0);
        switch (s->type) {
        case ZOO_CREATE_OP: jute_put_ustring(&res->reply, path); break;
        case ZOO_CREATE2_OP:
        case ZOO_CREATETTL_OP:
        case ZOO_CREATECONTAINER_OP:
            jute_put_ustring(&res->reply, path);
            put_stat(&res->reply, &st);
            break;
        case ZOO_SETDATA_OP: put_stat(&res->reply, &st); break;
        default: break;   /* delete, check: no body */
        }
    }
    put_multi_header(&res->reply, -1, true, -1);
}

int dt_apply(dt_t *dt, const uint8_t *txn, size_t len, dt_result_t *res)
{
    memset(res, 0, sizeof *res);
    jute_rd_t jr;
    jute_rd_init(&jr, txn, len);
    zkp_TxnHeader h;
    if (jute_decode(&zkp_TxnHeader_rec, &h, &jr))
        return -1;
    size_t off = jr.r.pos;
    sub_txn_t top;
    if (decode_body(h.type, false, txn + off, len - off, &top))
        return -1;
    sub_txn_t *subs = NULL;
    size_t nsubs = 0;
    if (h.type == ZOO_MULTI_OP) {
        jute_vec_t *v = &top.body.multi.txns;
        nsubs = v->n > 0 ? (size_t)v->n : 0;
        subs = xcalloc(nsubs ? nsubs : 1, sizeof *subs);
        for (size_t i = 0; i < nsubs; i++) {
            zkp_Txn *t = &((zkp_Txn *)v->v)[i];
            if (t->data.len < 0 ||
                decode_body(t->type, true, t->data.data ? t->data.data : (const uint8_t *)"", (size_t)t->data.len,
                            &subs[i])) {
                subs_free(subs, nsubs);
                jute_free(top.rec, &top.body);
                return -1;
            }
        }
    }

    res->zxid = h.zxid;
    res->session_id = h.clientId;
    res->cxid = h.cxid;
    res->type = h.type;
    res->time = h.time;
    if (h.type == ZOO_MULTI_OP) {
        apply_multi(dt, &h, subs, nsubs, res);
        subs_free(subs, nsubs);
    } else {
        zkp_Stat st;
        memset(&st, 0, sizeof st);
        const char *path;
        int err = apply_one(dt, &h, &top, res, &st, &path);
        res->err = err;
        res->txn_err = err;
        if (!err) {
            switch (h.type) {
            case ZOO_CREATE_OP: jute_put_ustring(&res->reply, path); break;
            case ZOO_CREATE2_OP:
            case ZOO_CREATETTL_OP:
            case ZOO_CREATECONTAINER_OP:
                jute_put_ustring(&res->reply, path);
                put_stat(&res->reply, &st);
                break;
            case ZOO_SETDATA_OP:
            case ZOO_SETACL_OP: put_stat(&res->reply, &st); break;
            case ZOO_RECONFIG_OP:
                jute_put_buffer(&res->reply, top.body.set_data.data.data, top.body.set_data.data.len);
                put_stat(&res->reply, &st);
                break;
            case ZOO_CHECK_OP:
                /* 3.8 fails to encode this reply (a null Stat) and drops the connection. */
                res->close_connection = true;
                break;
            default: break;
            }
        }
    }
    jute_free(top.rec, &top.body);
    if (h.zxid > dt->last_zxid)
        dt->last_zxid = h.zxid;
    return 0;
}

void dt_result_free(dt_result_t *res)
{
    for (size_t i = 0; i < res->nevents; i++)
        free(res->events[i].path);
    free(res->events);
    res->events = NULL;
    res->nevents = 0;
    buf_free(&res->reply);
}

/* ---- snapshots ---- */

void dt_serialize(const dt_t *dt, buf_t *out)
{
    jute_put_int(out, DT_SNAP_MAGIC);
    jute_put_int(out, DT_SNAP_VERSION);
    jute_put_long(out, dt->last_zxid);
    size_t ns;
    int64_t *ids = session_ids(dt, &ns);
    jute_put_int(out, (int32_t)ns);
    for (size_t i = 0; i < ns; i++) {
        jute_put_long(out, ids[i]);
        jute_put_int(out, dt_session_timeout(dt, ids[i]));
    }
    free(ids);
    jute_put_long(out, (int64_t)hmap_count(&dt->nodes));
    /* Pre-order walk: every parent precedes its children. */
    const dt_node_t *cur = dt->root;
    while (cur) {
        zkp_Stat st;
        dt_node_stat_persisted(cur, &st);
        jute_put_ustring(out, cur->path);
        put_stat(out, &st);
        jute_put_buffer(out, cur->data, cur->dlen);
        jute_put_int(out, cur->acl ? cur->acl->n : 0);
        for (int32_t i = 0; cur->acl && i < cur->acl->n; i++)
            jute_encode(&zkp_ACL_rec, &cur->acl->v[i], out);
        if (cur->first_child) {
            cur = cur->first_child;
            continue;
        }
        while (cur && !cur->next_sib)
            cur = cur->parent;
        cur = cur ? cur->next_sib : NULL;
    }
    jute_put_long(out, (int64_t)dt->digest);
}

static bool snap_path_ok(const char *p)
{
    if (!p || p[0] != '/')
        return false;
    if (p[1] == '\0')
        return true;
    size_t n = strlen(p);
    if (p[n - 1] == '/' || strstr(p, "//"))
        return false;
    return true;
}

int dt_deserialize(dt_t **out, const uint8_t *p, size_t len)
{
    *out = NULL;
    jute_rd_t jr;
    jute_rd_init(&jr, p, len);
    if (jute_get_int(&jr) != DT_SNAP_MAGIC || jute_get_int(&jr) != DT_SNAP_VERSION)
        return -1;
    dt_t *dt = dt_alloc();
    dt->last_zxid = jute_get_long(&jr);
    int32_t ns = jute_get_int(&jr);
    if (!jute_ok(&jr) || ns < 0 || (size_t)ns > jute_left(&jr) / 12)
        goto bad;
    for (int32_t i = 0; i < ns; i++) {
        int64_t sid = jute_get_long(&jr);
        int32_t to = jute_get_int(&jr);
        if (hmap_get64(&dt->sessions, (uint64_t)sid))
            goto bad;
        int32_t *t = xmalloc(sizeof *t);
        *t = to;
        hmap_put64(&dt->sessions, (uint64_t)sid, t);
    }
    int64_t nn = jute_get_long(&jr);
    /* each node takes at least 4 (path) + 68 (stat) + 4 (data) + 4 (acl count) bytes */
    if (!jute_ok(&jr) || nn < 1 || (uint64_t)nn > jute_left(&jr) / 80)
        goto bad;
    zkp_Stat *declared = xmalloc((size_t)nn * sizeof *declared);
    dt_node_t **order = xmalloc((size_t)nn * sizeof *order);
    int64_t built = 0;
    for (int64_t i = 0; i < nn; i++) {
        char *path = NULL;
        zkp_Stat st;
        jute_buf_t data = {NULL, -1};
        jute_vec_t acl = {0, NULL};
        if (jute_get_ustring(&jr, &path) || !snap_path_ok(path) || jr.saw_nul)
            goto bad_node;
        if (jute_decode(&zkp_Stat_rec, &st, &jr) || jute_get_buffer(&jr, &data))
            goto bad_node;
        int32_t nacl = jute_get_int(&jr);
        if (!jute_ok(&jr) || nacl < 0 || (size_t)nacl > jute_left(&jr) / 12)
            goto bad_node;
        acl.v = xcalloc(nacl ? (size_t)nacl : 1, sizeof(zkp_ACL));
        for (; acl.n < nacl; acl.n++)
            if (jute_decode(&zkp_ACL_rec, &((zkp_ACL *)acl.v)[acl.n], &jr))
                goto bad_node_acl;
        dt_node_t *parent = NULL;
        if (i == 0) {
            if (strcmp(path, "/") != 0)
                goto bad_node_acl;
        } else {
            char *pp = parent_path(path);
            parent = lookup(dt, pp);
            free(pp);
            if (!parent || lookup(dt, path))
                goto bad_node_acl;
        }
        dt_node_t *n = node_add(dt, parent, path, data.data, data.len,
                                acl_intern(dt, (const zkp_ACL *)acl.v, acl.n), st.ephemeralOwner);
        n->czxid = st.czxid;
        n->mzxid = st.mzxid;
        n->ctime = st.ctime;
        n->mtime = st.mtime;
        n->version = st.version;
        n->cversion = st.cversion;
        n->aversion = st.aversion;
        n->pzxid = st.pzxid;
        rehash(dt, n);
        if (i == 0)
            dt->root = n;
        declared[built] = st;
        order[built++] = n;
        for (int32_t k = 0; k < acl.n; k++)
            jute_free(&zkp_ACL_rec, &((zkp_ACL *)acl.v)[k]);
        free(acl.v);
        free(data.data);
        free(path);
        continue;
    bad_node_acl:
        for (int32_t k = 0; k < acl.n; k++)
            jute_free(&zkp_ACL_rec, &((zkp_ACL *)acl.v)[k]);
    bad_node:
        free(acl.v);
        free(data.data);
        free(path);
        free(declared);
        free(order);
        goto bad;
    }
    bool consistent = true;
    for (int64_t i = 0; i < built && consistent; i++)
        consistent = declared[i].numChildren == order[i]->nchildren &&
                     declared[i].dataLength == (order[i]->dlen > 0 ? order[i]->dlen : 0);
    free(declared);
    free(order);
    uint64_t digest = (uint64_t)jute_get_long(&jr);
    if (!consistent || !jute_ok(&jr) || jute_left(&jr) != 0 || digest != dt->digest)
        goto bad;
    *out = dt;
    return 0;
bad:
    dt_free(dt);
    return -1;
}

/* ---- expiry candidates ---- */

void dt_expired_nodes_ex(const dt_t *dt, int64_t now_ms, int64_t max_never_used_ms, jute_strvec_t *out)
{
    if (out->n < 0)
        out->n = 0;
    int32_t from = out->n;
    hmap_iter_t it;
    void *val;
    hmap_iter_init(&dt->containers, &it);
    while (hmap_iter_next(&dt->containers, &it, NULL, NULL, &val)) {
        const dt_node_t *n = val;
        if (n->nchildren)
            continue;
        if (n->cversion > 0 || (max_never_used_ms != 0 && now_ms - n->mtime > max_never_used_ms))
            jute_strvec_push(out, n->path);
    }
    hmap_iter_init(&dt->ttls, &it);
    while (hmap_iter_next(&dt->ttls, &it, NULL, NULL, &val)) {
        const dt_node_t *n = val;
        int64_t ttl = n->owner & TTL_VALUE_MASK;
        if (!n->nchildren && ttl != 0 && now_ms - n->mtime > ttl)
            jute_strvec_push(out, n->path);
    }
    strvec_sort(out, from);
}

void dt_expired_nodes(const dt_t *dt, int64_t now_ms, jute_strvec_t *out)
{
    dt_expired_nodes_ex(dt, now_ms, 0, out);
}
