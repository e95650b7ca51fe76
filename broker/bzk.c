/* bzk.c — the broker's registration in the coordinator (see bzk.h).
 *
 * bzk_new runs once at start, outside the event loop, so it uses zkc's synchronous layer.
 * Registration (bzk_register at start, bzk_session_renewed after an expiry, which runs
 * from a zkc callback where the loop cannot be re-entered) is one asynchronous sequence;
 * bzk_register just runs the loop until it ends.
 *
 * Callbacks never carry the bzk_t pointer itself: zkc may call them (closed-session
 * events to watchers, ZCONNECTIONLOSS to pending requests) after bzk_free, when the
 * broker closes its session. They carry a serial number looked up in a small registry of
 * live bzk_t's; a callback whose owner is gone does nothing. */
#include "broker/bzk.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "broker/zkpaths.h"
#include "common/alloc.h"
#include "common/log.h"
#include "common/props.h"

#define BZK_LOG "bzk"
/* How much longer than the session timeout a stale registration is waited for. */
#define BZK_STALE_MARGIN_MS 5000

enum reg_state {
    REG_IDLE = 0,       /* not started, or finished */
    REG_BUSY,           /* requests under way */
    REG_WAITING,        /* waiting for another session's registration to go away */
};

struct bzk_s {
    broker_t *b;
    uint64_t serial;
    bzk_t *next_live;       /* registry of live handles */
    enum reg_state state;
    bool registered;        /* /brokers/ids/N is ours in the current session */
    bool done;              /* the current registration attempt ended ... */
    int result;             /* ... with this (0 or -1) */
    int64_t wait_deadline;  /* mono ms; 0 = not waiting yet */
    bool wait_logged;
    struct event *timer;    /* retry / wait deadline */
    int64_t broker_epoch;   /* czxid of our registration */
};

/* ---- registry: callbacks find their bzk_t by serial ---- */

static bzk_t *live_list;
static uint64_t next_serial = 1;

static bzk_t *bzk_lookup(void *ctx)
{
    uint64_t s = (uint64_t)(uintptr_t)ctx;
    for (bzk_t *r = live_list; r; r = r->next_live)
        if (r->serial == s)
            return r;
    return NULL;
}

static void *bzk_handle(bzk_t *r) { return (void *)(uintptr_t)r->serial; }

/* ---- helpers ---- */

/* Creates path and its missing parents (null data). ZOK if it exists afterwards. */
static int create_recursive(zkc_t *zk, const char *path, const void *data, int32_t len)
{
    zkc_create_t cr = {.path = path, .data = data, .len = len, .mode = ZK_PERSISTENT};
    int rc = zkc_sync_create(zk, &cr, NULL);
    if (rc == ZNONODE) {
        const char *slash = strrchr(path, '/');
        if (slash && slash != path) {
            char *parent = strndup(path, (size_t)(slash - path));
            int prc = create_recursive(zk, parent, NULL, -1);
            free(parent);
            if (prc != ZOK)
                return prc;
            rc = zkc_sync_create(zk, &cr, NULL);
        }
    }
    return rc == ZNODEEXISTS ? ZOK : rc;
}

/* Kafka's cluster id: a random (version 4) UUID, base64url without padding: 22 chars. */
static char *new_cluster_id(void)
{
    uint8_t u[16];
    if (getrandom(u, sizeof u, 0) != (ssize_t)sizeof u) {
        for (size_t i = 0; i < sizeof u; i++)
            u[i] = (uint8_t)(rand() ^ (int)broker_mono_ms());
    }
    u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
    u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *out = xmalloc(23);
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < sizeof u; i++) {
        acc = (acc << 8) | u[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = al[(acc >> bits) & 63];
        }
    }
    if (bits > 0)
        out[o++] = al[(acc << (6 - bits)) & 63];
    out[o] = 0;
    return out;
}

static int ensure_chroot(broker_t *b)
{
    const bcfg_t *c = b->cfg;
    if (!c->zk_chroot || !*c->zk_chroot || strcmp(c->zk_chroot, "/") == 0)
        return 0;
    int rc = zkc_sync_exists(b->zk, "/", NULL, NULL);
    if (rc == ZOK)
        return 0;
    if (rc != ZNONODE) {
        LOG_E(BZK_LOG, "cannot check the chroot %s in the coordinator (error %d)", c->zk_chroot, rc);
        return -1;
    }
    LOG_I(BZK_LOG, "creating the chroot %s (zookeeper.connect=%s)", c->zk_chroot, c->zookeeper_connect);
    zkc_config_t zc;
    memset(&zc, 0, sizeof zc);
    zc.connect = c->zk_hosts;
    zc.session_timeout_ms = c->zookeeper_session_timeout_ms;
    int err = 0;
    zkc_t *zk = zkc_new(b->base, &zc, &err);
    if (!zk) {
        LOG_E(BZK_LOG, "cannot connect to %s to create the chroot %s (error %d)", c->zk_hosts, c->zk_chroot, err);
        return -1;
    }
    rc = zkc_wait_connected(zk, c->zookeeper_connection_timeout_ms);
    if (rc == ZOK)
        rc = create_recursive(zk, c->zk_chroot, NULL, -1);
    if (zkc_state_alive(zkc_state(zk)))
        zkc_sync_close(zk);
    zkc_free(zk);
    if (rc != ZOK) {
        LOG_E(BZK_LOG, "cannot create the chroot %s (error %d)", c->zk_chroot, rc);
        return -1;
    }
    return 0;
}

static int ensure_cluster_id(broker_t *b)
{
    zkc_reply_t rep;
    memset(&rep, 0, sizeof rep);
    int rc = zkc_sync_get_data(b->zk, ZKPATHS_CLUSTER_ID, NULL, &rep);
    if (rc == ZNONODE) {
        zkc_reply_free(&rep);
        char *id = new_cluster_id();
        buf_t js;
        buf_init(&js);
        zkpaths_cluster_id_encode(id, &js);
        rc = create_recursive(b->zk, ZKPATHS_CLUSTER_ID, js.data, (int32_t)js.len);
        buf_free(&js);
        free(id);
        if (rc != ZOK) {
            LOG_E(BZK_LOG, "cannot create %s (error %d)", ZKPATHS_CLUSTER_ID, rc);
            return -1;
        }
        memset(&rep, 0, sizeof rep);
        rc = zkc_sync_get_data(b->zk, ZKPATHS_CLUSTER_ID, NULL, &rep);
    }
    if (rc != ZOK) {
        zkc_reply_free(&rep);
        LOG_E(BZK_LOG, "cannot read %s (error %d)", ZKPATHS_CLUSTER_ID, rc);
        return -1;
    }
    char *id = NULL;
    int drc = zkpaths_cluster_id_decode(rep.data.data, rep.data.len > 0 ? (size_t)rep.data.len : 0, &id);
    zkc_reply_free(&rep);
    if (drc != 0 || !id) {
        LOG_E(BZK_LOG, "%s holds no valid cluster id JSON; fix or delete it", ZKPATHS_CLUSTER_ID);
        return -1;
    }
    free(b->cluster_id);
    b->cluster_id = id;
    LOG_I(BZK_LOG, "Cluster ID = %s", id);
    return 0;
}

/* broker.id stored in meta.properties of the log dirs: -1 if none; -2 if they disagree. */
static int32_t meta_broker_id(const bcfg_t *c)
{
    int32_t found = -1;
    for (size_t i = 0; i < c->nlog_dirs; i++) {
        char *path = xasprintf("%s/meta.properties", c->log_dirs[i]);
        props_t p;
        props_init(&p);
        char err[256];
        if (props_load_file(&p, path, err, sizeof err) == 0) {
            const char *v = props_get(&p, "broker.id");
            char *end = NULL;
            long id = v ? strtol(v, &end, 10) : -1;
            if (v && end && !*end && id >= 0 && id <= INT32_MAX) {
                if (found >= 0 && found != id)
                    found = -2;
                else if (found != -2)
                    found = (int32_t)id;
            }
        }
        props_free(&p);
        free(path);
    }
    return found;
}

static int pick_broker_id(broker_t *b)
{
    const bcfg_t *c = b->cfg;
    if (c->broker_id >= 0) {
        b->id = c->broker_id;
        return 0;
    }
    int32_t stored = meta_broker_id(c);
    if (stored == -2) {
        LOG_E(BZK_LOG, "the meta.properties files of log.dirs hold different broker.id values; "
              "make them agree or set broker.id");
        return -1;
    }
    if (stored >= 0) {
        b->id = stored;
        LOG_I(BZK_LOG, "broker.id=%" PRId32 " taken from meta.properties", stored);
        return 0;
    }
    if (!c->broker_id_generation_enable) {
        LOG_E(BZK_LOG, "broker.id is not set and broker.id.generation.enable=false: set broker.id");
        return -1;
    }
    zkc_reply_t rep;
    memset(&rep, 0, sizeof rep);
    int rc = zkc_sync_set_data(b->zk, ZKPATHS_SEQID, "", 0, -1, &rep);
    int32_t ver = rep.has_stat ? rep.stat.version : -1;
    zkc_reply_free(&rep);
    if (rc != ZOK || ver < 0) {
        LOG_E(BZK_LOG, "cannot generate a broker id through %s (error %d)", ZKPATHS_SEQID, rc);
        return -1;
    }
    b->id = ver + c->reserved_broker_max_id;
    LOG_I(BZK_LOG, "generated broker.id=%" PRId32 " (%s version %d + reserved.broker.max.id %d)", b->id,
          ZKPATHS_SEQID, ver, c->reserved_broker_max_id);
    return 0;
}

bzk_t *bzk_new(broker_t *b)
{
    if (ensure_chroot(b))
        return NULL;
    for (size_t i = 0; zkpaths_persistent[i]; i++) {
        int rc = create_recursive(b->zk, zkpaths_persistent[i], NULL, -1);
        if (rc != ZOK) {
            LOG_E(BZK_LOG, "cannot create %s in the coordinator (error %d)", zkpaths_persistent[i], rc);
            return NULL;
        }
    }
    if (ensure_cluster_id(b) || pick_broker_id(b))
        return NULL;
    char err[512];
    if (lmgr_check_meta(b->logs, b->id, b->cluster_id, err, sizeof err)) {
        LOG_E(BZK_LOG, "%s", err);
        return NULL;
    }
    bzk_t *r = xcalloc(1, sizeof *r);
    r->b = b;
    r->serial = next_serial++;
    r->next_live = live_list;
    live_list = r;
    return r;
}

/* ---- registration ---- */

/* Our registration: advertised listeners with the real port of listeners bound to 0. */
static void build_reg(bzk_t *r, zkpaths_broker_t *reg)
{
    broker_t *b = r->b;
    const bcfg_t *c = b->cfg;
    memset(reg, 0, sizeof *reg);
    reg->version = 4;
    reg->jmx_port = -1;
    reg->timestamp = broker_now_ms();
    reg->rack = c->broker_rack;
    reg->n_endpoints = c->nadvertised;
    reg->endpoints = xcalloc(c->nadvertised ? c->nadvertised : 1, sizeof *reg->endpoints);
    for (size_t i = 0; i < c->nadvertised; i++) {
        const bcfg_listener_t *a = &c->advertised[i];
        zkpaths_endpoint_t *e = &reg->endpoints[i];
        e->listener = a->name;
        e->protocol = a->protocol;
        e->host = a->host;
        e->port = a->port;
        if (e->port == 0 && b->srv) {
            for (size_t j = 0; j < c->nlisteners; j++)
                if (strcmp(c->listeners[j].name, a->name) == 0) {
                    int p = bsrv_port(b->srv, (int)j);
                    if (p > 0)
                        e->port = p;
                }
        }
    }
}

static void free_reg(zkpaths_broker_t *reg)
{
    free(reg->endpoints);   /* strings belong to the config */
    reg->endpoints = NULL;
}

static void reg_addresses(const zkpaths_broker_t *reg, buf_t *out)
{
    for (size_t i = 0; i < reg->n_endpoints; i++)
        buf_printf(out, "%sEndPoint(%s,%" PRId32 ",ListenerName(%s),%s)", i ? "," : "", reg->endpoints[i].host,
                   reg->endpoints[i].port, reg->endpoints[i].listener, reg->endpoints[i].protocol);
}

/* Same listeners at the same host:port (order ignored). */
static bool same_endpoints(const zkpaths_broker_t *x, const zkpaths_broker_t *y)
{
    if (x->n_endpoints != y->n_endpoints)
        return false;
    for (size_t i = 0; i < x->n_endpoints; i++) {
        const zkpaths_endpoint_t *e = zkpaths_broker_endpoint(y, x->endpoints[i].listener);
        if (!e || e->port != x->endpoints[i].port || strcmp(e->host, x->endpoints[i].host) != 0)
            return false;
    }
    return true;
}

static void reg_start(bzk_t *r);

static void reg_finish(bzk_t *r, int result)
{
    r->state = REG_IDLE;
    r->done = true;
    r->result = result;
    r->wait_deadline = 0;
    r->wait_logged = false;
    if (r->timer)
        evtimer_del(r->timer);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    bzk_t *r = bzk_lookup(arg);
    if (!r)
        return;
    if (r->state == REG_WAITING && r->wait_deadline && broker_mono_ms() >= r->wait_deadline) {
        char *path = zkpaths_broker(r->b->id);
        LOG_E(BZK_LOG, "Error while creating ephemeral at %s, node already exists and owner does not match "
              "current session 0x%llx: another live broker is registered with broker.id=%" PRId32
              " at other addresses (waited %d ms for it to go away); give this broker another broker.id",
              path, (unsigned long long)zkc_session_id(r->b->zk), r->b->id,
              r->b->cfg->zookeeper_session_timeout_ms + BZK_STALE_MARGIN_MS);
        free(path);
        reg_finish(r, -1);
        return;
    }
    reg_start(r);
}

static void arm_timer(bzk_t *r, int64_t ms)
{
    if (!r->timer)
        r->timer = evtimer_new(r->b->base, timer_cb, bzk_handle(r));
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(r->timer, &tv);
}

/* A request failed for a reason unrelated to the registration itself. */
static void reg_error(bzk_t *r, const char *what, int rc)
{
    if (rc == ZSESSIONEXPIRED || !zkc_state_alive(zkc_state(r->b->zk))) {
        LOG_W(BZK_LOG, "%s: coordinator session gone (error %d); registering again with the next session", what, rc);
        reg_finish(r, -1);
        return;
    }
    LOG_W(BZK_LOG, "%s failed (error %d); retrying", what, rc);
    r->state = REG_BUSY;
    arm_timer(r, 500);
}

static void gone_watch(zkc_t *zk, const zkc_event_t *ev, void *ctx)
{
    bzk_t *r = bzk_lookup(ctx);
    if (!r || zk != r->b->zk || !ev->path || r->state != REG_WAITING)
        return;
    if (ev->type == ZK_EVENT_DELETED) {
        LOG_I(BZK_LOG, "the old registration at %s is gone; registering", ev->path);
        r->state = REG_BUSY;
        reg_start(r);
    }
}

static void exists_cb(zkc_t *zk, const zkc_result_t *res, void *ctx)
{
    bzk_t *r = bzk_lookup(ctx);
    if (!r || zk != r->b->zk || r->state != REG_WAITING)
        return;
    if (res->rc == ZNONODE) {
        r->state = REG_BUSY;
        reg_start(r);
    } else if (res->rc == ZOK) {
        int64_t left = r->wait_deadline - broker_mono_ms();
        arm_timer(r, left > 0 ? left : 0);
    } else {
        reg_error(r, "watching the old registration", res->rc);
    }
}

static void delete_cb(zkc_t *zk, const zkc_result_t *res, void *ctx)
{
    bzk_t *r = bzk_lookup(ctx);
    if (!r || zk != r->b->zk)
        return;
    if (res->rc == ZOK || res->rc == ZNONODE || res->rc == ZBADVERSION)
        reg_start(r);   /* gone, or changed meanwhile: look again */
    else
        reg_error(r, "deleting the stale registration", res->rc);
}

static void existing_cb(zkc_t *zk, const zkc_result_t *res, void *ctx)
{
    bzk_t *r = bzk_lookup(ctx);
    if (!r || zk != r->b->zk)
        return;
    broker_t *b = r->b;
    if (res->rc == ZNONODE) {
        reg_start(r);
        return;
    }
    if (res->rc != ZOK) {
        reg_error(r, "reading the existing registration", res->rc);
        return;
    }
    char *path = zkpaths_broker(b->id);
    if (res->stat->ephemeralOwner == zkc_session_id(zk)) {
        LOG_I(BZK_LOG, "%s is already registered by this session", path);
        r->registered = true;
        r->broker_epoch = res->stat->czxid;
        free(path);
        reg_finish(r, 0);
        return;
    }
    zkpaths_broker_t old, mine;
    int drc = zkpaths_broker_decode(res->data, res->datalen > 0 ? (size_t)res->datalen : 0, &old);
    build_reg(r, &mine);
    bool same = drc == 0 && same_endpoints(&old, &mine);
    free_reg(&mine);
    if (drc == 0)
        zkpaths_broker_free(&old);
    if (same) {
        LOG_I(BZK_LOG, "%s is a stale registration of this broker (session 0x%llx, same addresses): "
              "deleting it", path, (unsigned long long)res->stat->ephemeralOwner);
        if (zkc_delete(zk, path, res->stat->version, delete_cb, bzk_handle(r)))
            reg_error(r, "deleting the stale registration", ZCONNECTIONLOSS);
        free(path);
        return;
    }
    if (!r->wait_deadline)
        r->wait_deadline = broker_mono_ms() + b->cfg->zookeeper_session_timeout_ms + BZK_STALE_MARGIN_MS;
    if (!r->wait_logged) {
        LOG_W(BZK_LOG, "%s exists, owned by session 0x%llx with other addresses; waiting up to %d ms for "
              "it to expire (another broker with broker.id=%" PRId32 "?)", path,
              (unsigned long long)res->stat->ephemeralOwner, b->cfg->zookeeper_session_timeout_ms + BZK_STALE_MARGIN_MS,
              b->id);
        r->wait_logged = true;
    }
    r->state = REG_WAITING;
    zkc_watch_t w = {gone_watch, bzk_handle(r)};
    if (zkc_exists(zk, path, &w, exists_cb, bzk_handle(r)))
        reg_error(r, "watching the old registration", ZCONNECTIONLOSS);
    free(path);
}

static void created_cb(zkc_t *zk, const zkc_result_t *res, void *ctx)
{
    bzk_t *r = bzk_lookup(ctx);
    if (!r || zk != r->b->zk)
        return;
    broker_t *b = r->b;
    char *path = zkpaths_broker(b->id);
    if (res->rc == ZOK) {
        zkpaths_broker_t mine;
        build_reg(r, &mine);
        buf_t addrs;
        buf_init(&addrs);
        reg_addresses(&mine, &addrs);
        free_reg(&mine);
        r->broker_epoch = res->nresults > 0 && res->results[0].has_stat ? res->results[0].stat.czxid : -1;
        if (r->broker_epoch < 0 && res->nresults > 1 && res->results[1].has_stat)
            r->broker_epoch = res->results[1].stat.czxid;
        LOG_I(BZK_LOG, "Registered broker %" PRId32 " at path %s with addresses: %s, czxid (broker epoch): %" PRId64,
              b->id, path, buf_cstr(&addrs), r->broker_epoch);
        buf_free(&addrs);
        r->registered = true;
        reg_finish(r, 0);
    } else if (res->rc == ZNODEEXISTS) {
        if (zkc_get_data(zk, path, NULL, existing_cb, bzk_handle(r)))
            reg_error(r, "reading the existing registration", ZCONNECTIONLOSS);
    } else {
        reg_error(r, "registering", res->rc);
    }
    free(path);
}

static void reg_start(bzk_t *r)
{
    broker_t *b = r->b;
    r->state = REG_BUSY;
    r->registered = false;
    zkpaths_broker_t mine;
    build_reg(r, &mine);
    buf_t js;
    buf_init(&js);
    int erc = zkpaths_broker_encode(&mine, &js);
    free_reg(&mine);
    if (erc) {
        LOG_E(BZK_LOG, "cannot encode the registration of broker %" PRId32 " (advertised.listeners)", b->id);
        buf_free(&js);
        reg_finish(r, -1);
        return;
    }
    char *path = zkpaths_broker(b->id);
    /* Kafka 2.x: create with null data and set the JSON in the same multi (version 1). */
    zkc_op_t ops[2] = {zkc_op_create(path, NULL, -1, ZK_EPHEMERAL),
                       zkc_op_set_data(path, js.data, (int32_t)js.len, 0)};
    int rc = zkc_multi(b->zk, ops, 2, created_cb, bzk_handle(r));
    free(path);
    buf_free(&js);
    if (rc)
        reg_error(r, "registering", rc);
}

int bzk_register(bzk_t *r)
{
    r->done = false;
    r->result = -1;
    reg_start(r);
    while (!r->done) {
        if (!zkc_state_alive(zkc_state(r->b->zk))) {
            LOG_E(BZK_LOG, "the coordinator session ended during registration");
            reg_finish(r, -1);
            break;
        }
        if (event_base_loop(r->b->base, EVLOOP_ONCE) < 0) {
            LOG_E(BZK_LOG, "event loop failure during registration");
            reg_finish(r, -1);
            break;
        }
    }
    return r->result;
}

bool bzk_registered(const bzk_t *r)
{
    return r && r->registered;
}

int64_t bzk_broker_epoch(const bzk_t *r)
{
    return r && r->registered ? r->broker_epoch : -1;
}

void bzk_session_renewed(bzk_t *r)
{
    if (!r)
        return;
    r->done = false;
    r->wait_deadline = 0;
    r->wait_logged = false;
    if (r->timer)
        evtimer_del(r->timer);
    reg_start(r);
}

void bzk_free(bzk_t *r)
{
    if (!r)
        return;
    for (bzk_t **pp = &live_list; *pp; pp = &(*pp)->next_live)
        if (*pp == r) {
            *pp = r->next_live;
            break;
        }
    if (r->timer)
        event_free(r->timer);
    free(r);
}
