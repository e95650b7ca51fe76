/* ktool_zk.c — the synchronous coordinator session of the --zookeeper tool modes and the
 * AdminZkClient-style helpers built on it (see ktool.h). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "broker/cli/ktool.h"
#include "common/alloc.h"
#include "coord/zkc.h"

int ktool_zk_open(ktool_zk_t *z, const char *connect, int timeout_ms)
{
    memset(z, 0, sizeof *z);
    signal(SIGPIPE, SIG_IGN);
    const char *env = getenv("GREGOR_ZK_CONNECT_TIMEOUT_MS");   /* tests: fail fast */
    if (env && atoi(env) > 0)
        timeout_ms = atoi(env);
    z->base = event_base_new();
    if (!z->base) {
        fprintf(stderr, "cannot create the event loop\n");
        return -1;
    }
    zkc_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.connect = connect;
    cfg.session_timeout_ms = 30000;
    int err = 0;
    z->zk = zkc_new(z->base, &cfg, &err);
    if (!z->zk) {
        fprintf(stderr, "Exception in thread \"main\" java.lang.IllegalArgumentException: "
                        "invalid connect string '%s' (expected host:port[,host:port...][/chroot])\n", connect);
        ktool_zk_close(z);
        return -1;
    }
    /* after a few seconds without a session, say what we wait for */
    int first = timeout_ms > 3000 ? 3000 : timeout_ms;
    int rc = zkc_wait_connected(z->zk, first);
    if (rc == ZOPERATIONTIMEOUT && timeout_ms > first) {
        fprintf(stderr, "Waiting for the coordinator at %s to answer (up to %d s more)...\n", connect,
                (timeout_ms - first + 999) / 1000);
        rc = zkc_wait_connected(z->zk, timeout_ms - first);
    }
    if (rc != ZOK) {
        fprintf(stderr, "Exception in thread \"main\" kafka.zookeeper.ZooKeeperClientTimeoutException: "
                        "Timed out waiting for connection while in state: CONNECTING\n"
                        "(no coordinator answered at %s within %d ms: is gregor-coord or ZooKeeper running "
                        "there, and is the --zookeeper address right?)\n", connect, timeout_ms);
        ktool_zk_close(z);
        return -1;
    }
    return 0;
}

void ktool_zk_close(ktool_zk_t *z)
{
    if (z->zk) {
        if (zkc_state_alive(zkc_state(z->zk)))
            zkc_sync_close(z->zk);
        zkc_free(z->zk);
    }
    if (z->base)
        event_base_free(z->base);
    memset(z, 0, sizeof *z);
}

int ktool_zk_get(ktool_zk_t *z, const char *path, buf_t *out, int32_t *version)
{
    zkc_reply_t r;
    memset(&r, 0, sizeof r);
    int rc = zkc_sync_get_data(z->zk, path, NULL, &r);
    if (rc == ZOK) {
        if (r.data.len > 0)
            buf_put(out, r.data.data, (size_t)r.data.len);
        if (version)
            *version = r.stat.version;
    }
    zkc_reply_free(&r);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int ktool_zk_children(ktool_zk_t *z, const char *path, char ***out, size_t *n)
{
    zkc_reply_t r;
    memset(&r, 0, sizeof r);
    *out = NULL;
    *n = 0;
    int rc = zkc_sync_get_children(z->zk, path, NULL, &r);
    if (rc == ZOK && r.strings.n > 0) {
        *out = xcalloc((size_t)r.strings.n, sizeof(char *));
        for (int32_t i = 0; i < r.strings.n; i++)
            (*out)[i] = xstrdup(r.strings.v[i]);
        *n = (size_t)r.strings.n;
        qsort(*out, *n, sizeof(char *), cmp_str);
    }
    zkc_reply_free(&r);
    return rc;
}

void ktool_strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

int ktool_zk_exists(ktool_zk_t *z, const char *path)
{
    zkc_reply_t r;
    memset(&r, 0, sizeof r);
    int rc = zkc_sync_exists(z->zk, path, NULL, &r);
    zkc_reply_free(&r);
    if (rc == ZOK)
        return 1;
    if (rc == ZNONODE)
        return 0;
    return rc < 0 ? rc : -1;
}

static int create_once(ktool_zk_t *z, const char *path, const void *data, int32_t len, int mode, char **created)
{
    zkc_create_t req;
    memset(&req, 0, sizeof req);
    req.path = path;
    req.data = data;
    req.len = len;
    req.mode = mode;
    zkc_reply_t r;
    memset(&r, 0, sizeof r);
    int rc = zkc_sync_create(z->zk, &req, &r);
    if (rc == ZOK && created)
        *created = xstrdup(r.path ? r.path : path);
    zkc_reply_free(&r);
    return rc;
}

/* Creates path's missing ancestors with null data (NODEEXISTS is fine). */
static int create_parents(ktool_zk_t *z, const char *path)
{
    char *p = xstrdup(path);
    int rc = ZOK;
    for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = 0;
        int e = create_once(z, p, NULL, -1, ZK_PERSISTENT, NULL);
        *s = '/';
        if (e != ZOK && e != ZNODEEXISTS) {
            rc = e;
            break;
        }
    }
    free(p);
    return rc;
}

int ktool_zk_create(ktool_zk_t *z, const char *path, const void *data, int32_t len, int mode, char **created)
{
    int rc = create_once(z, path, data, len, mode, created);
    if (rc == ZNONODE) {
        rc = create_parents(z, path);
        if (rc == ZOK)
            rc = create_once(z, path, data, len, mode, created);
    }
    return rc;
}

int ktool_zk_set(ktool_zk_t *z, const char *path, const void *data, int32_t len, int32_t version)
{
    zkc_reply_t r;
    memset(&r, 0, sizeof r);
    int rc = zkc_sync_set_data(z->zk, path, data, len, version, &r);
    zkc_reply_free(&r);
    return rc;
}

int ktool_zk_set_or_create(ktool_zk_t *z, const char *path, const void *data, int32_t len)
{
    int rc = ktool_zk_set(z, path, data, len, -1);
    if (rc == ZNONODE) {
        rc = ktool_zk_create(z, path, data, len, ZK_PERSISTENT, NULL);
        if (rc == ZNODEEXISTS)   /* someone created it meanwhile */
            rc = ktool_zk_set(z, path, data, len, -1);
    }
    return rc;
}

const char *ktool_zk_errname(int rc)
{
    switch (rc) {
    case ZNONODE: return "NoNode";
    case ZNODEEXISTS: return "NodeExists";
    case ZNOAUTH: return "NoAuth";
    case ZBADVERSION: return "BadVersion";
    case ZNOTEMPTY: return "Directory not empty";
    case ZCONNECTIONLOSS: return "ConnectionLoss";
    case ZSESSIONEXPIRED: return "Session expired";
    case ZOPERATIONTIMEOUT: return "OperationTimeout";
    default: return zk_err_name(rc);
    }
}

int ktool_zk_brokers(ktool_zk_t *z, ktool_brokers_t *out)
{
    memset(out, 0, sizeof *out);
    char **kids;
    size_t n;
    int rc = ktool_zk_children(z, ZKPATHS_BROKER_IDS, &kids, &n);
    if (rc == ZNONODE)
        return ZOK;
    if (rc != ZOK)
        return rc;
    out->ids = xcalloc(n ? n : 1, sizeof *out->ids);
    out->racks = xcalloc(n ? n : 1, sizeof *out->racks);
    for (size_t i = 0; i < n; i++) {
        int32_t id;
        if (zkpaths_parse_broker_id(kids[i], &id) < 0)
            continue;
        char *path = zkpaths_broker(id);
        buf_t data = BUF_INIT;
        int e = ktool_zk_get(z, path, &data, NULL);
        free(path);
        if (e != ZOK) {     /* went away meanwhile */
            buf_free(&data);
            continue;
        }
        zkpaths_broker_t b;
        memset(&b, 0, sizeof b);
        char *rack = NULL;
        if (zkpaths_broker_decode(data.data, data.len, &b) == 0 && b.rack)
            rack = xstrdup(b.rack);
        zkpaths_broker_free(&b);
        buf_free(&data);
        /* insertion sort by id */
        size_t j = out->n;
        while (j > 0 && out->ids[j - 1] > id) {
            out->ids[j] = out->ids[j - 1];
            out->racks[j] = out->racks[j - 1];
            j--;
        }
        out->ids[j] = id;
        out->racks[j] = rack;
        out->n++;
    }
    ktool_strv_free(kids, n);
    return ZOK;
}

void ktool_brokers_free(ktool_brokers_t *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->racks[i]);
    free(b->racks);
    free(b->ids);
    memset(b, 0, sizeof *b);
}

int ktool_zk_entity_config(ktool_zk_t *z, const char *type, const char *name, zkpaths_config_t *out)
{
    memset(out, 0, sizeof *out);
    char *path = zkpaths_config_entity(type, name);
    buf_t data = BUF_INIT;
    int rc = ktool_zk_get(z, path, &data, NULL);
    free(path);
    if (rc == ZNONODE) {
        buf_free(&data);
        return ZOK;
    }
    if (rc == ZOK && zkpaths_config_decode(data.data, data.len, out) < 0)
        rc = ZMARSHALLINGERROR;
    buf_free(&data);
    return rc;
}

int ktool_zk_change_config(ktool_zk_t *z, const char *type, const char *name, const zkpaths_config_t *c)
{
    buf_t json = BUF_INIT;
    if (zkpaths_config_encode(c, &json) < 0) {
        buf_free(&json);
        return ZBADARGUMENTS;
    }
    char *path = zkpaths_config_entity(type, name);
    int rc = ktool_zk_set_or_create(z, path, json.data, (int32_t)json.len);
    free(path);
    buf_reset(&json);
    if (rc == ZOK) {
        zkpaths_config_change_encode(2, type, name, &json);
        char *prefix = zkpaths_config_change_prefix();
        rc = ktool_zk_create(z, prefix, json.data, (int32_t)json.len, ZK_PERSISTENT_SEQUENTIAL, NULL);
        free(prefix);
    }
    buf_free(&json);
    return rc;
}

char *ktool_config_join(const zkpaths_config_t *c, const char *sep)
{
    buf_t b = BUF_INIT;
    if (c->n) {
        const char **keys = xcalloc(c->n, sizeof *keys);
        size_t *order = xcalloc(c->n, sizeof *order);
        for (size_t i = 0; i < c->n; i++)
            keys[i] = c->v[i].key;
        size_t m = zkpaths_hashtable_order(keys, c->n, order);
        for (size_t i = 0; i < m; i++)
            buf_printf(&b, "%s%s=%s", i ? sep : "", c->v[order[i]].key, c->v[order[i]].value);
        free(keys);
        free(order);
    }
    buf_puts(&b, "");
    char *s = buf_cstr(&b);
    return s ? s : xstrdup("");
}
