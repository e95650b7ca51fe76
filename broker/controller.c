/* controller.c — controller election and the controller driver (see controller.h).
 *
 * Election (every broker): an exists watch on /controller; when it is absent,
 * multi(create /controller EPHEMERAL, setData /controller_epoch n+1 at its version) — the
 * Kafka 2.x election, so two brokers can never both win an epoch. /controller_epoch is
 * created with "0" first when missing, so the first controller has epoch 1.
 *
 * The active controller is one event queue (style-anchors practice 12). Coordinator
 * watches only enqueue; events run strictly one at a time, each in phases:
 *   read   — the coordinator reads the event needs (re-arming its watches), issued
 *            together; the next phase starts when every reply is in;
 *   apply  — the pure ctrl_core.h call for the event, filling a ctrl_out_t;
 *   write  — the out's znode writes, one after the other, each a
 *            multi(check(/controller_epoch, epoch version), op): a failed check means
 *            another controller was elected, so this one resigns at once;
 *   send   — LeaderAndIsr, UpdateMetadata, then StopReplica to each broker over kcli
 *            (the controller's own broker included), retried until answered as
 *            Kafka's RequestSendThread does. StopReplica(delete) answers come back as
 *            events of their own.
 * Then the next event starts. Resigning (session expiry, lost epoch check, /controller
 * taken) drops the queue, the context and the connections; every callback in flight
 * carries the term it was issued in and is ignored when it comes back from an old one.
 *
 * Callbacks never hold the bctl_t pointer: zkc may call them after bctl_free (when the
 * broker closes the session), so they hold a serial number looked up in a registry of
 * live controllers. */
#include "broker/controller.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/bzk.h"
#include "broker/ctrl_core.h"
#include "broker/ctrl_req.h"
#include "broker/kcli.h"
#include "broker/zkpaths.h"
#include "common/alloc.h"
#include "common/arena.h"
#include "common/hmap.h"
#include "common/log.h"
#include "proto/kafka_api.h"

#define CTL_LOG "controller"
/* Inter-broker API versions: the highest Gregor serves (kp_api_table), capped at what
 * ctrl_req builds (LeaderAndIsr 0..4, UpdateMetadata 0..6, StopReplica 0..2). */
#define CTL_LAI_VERSION api_version(KP_LEADER_AND_ISR, 4)
#define CTL_UM_VERSION api_version(KP_UPDATE_METADATA, 6)
#define CTL_SR_VERSION api_version(KP_STOP_REPLICA, 2)

static int16_t api_version(int key, int16_t cap)
{
    const kp_api_t *a = kp_api_find(key);
    return a && a->max_ver < cap ? a->max_ver : cap;
}

enum ev_type {
    EV_FAILOVER = 0,
    EV_BROKERS,
    EV_TOPICS,
    EV_TOPIC_CHANGED,
    EV_DELETE,
    EV_STOP_DONE,
    EV_ISR,
    EV_PREFERRED,
    EV_REASSIGN,
    EV_REREAD_STATE,
    EV_SHUTDOWN,
};

static const char *const ev_names[] = {
    "Startup", "BrokerChange", "TopicChange", "PartitionModifications", "TopicDeletion",
    "TopicDeletionStopReplicaResponseReceived", "IsrChangeNotification", "ReplicaLeaderElection",
    "ZkPartitionReassignment", "PartitionStateReread", "ControlledShutdown",
};

/* what a read result is */
enum tag {
    T_IDS, T_REG, T_TOPICS, T_TOPIC, T_STATE, T_DELETES, T_ISR_CHILDREN, T_ISR_NOTE, T_PREF, T_REASSIGN, T_WATCH, T_TCONFIG,
};

typedef struct item_s {
    int tag;
    char *name;
    int32_t part;
    int rc;
    uint8_t *data;
    int32_t len;
    zkp_Stat stat;
    char **children;
    int nchildren;
} item_t;

typedef struct ev_s {
    struct ev_s *next;
    enum ev_type type;
    char *topic;
    int32_t partition;
    int32_t broker;
    int16_t err;
    int step;
    item_t *items;
    size_t nitems, cap;
    bsrv_ctx_t *req;        /* EV_SHUTDOWN: the request to answer */
    char **rem_topics;      /* EV_SHUTDOWN: partitions the broker still leads */
    int32_t *rem_parts;
    size_t nrem;
} ev_t;

struct bctl_s {
    broker_t *b;
    uint64_t serial;
    bctl_t *next_live;
    bool active;
    uint64_t term;          /* changes on every election won and every resignation */
    bool creating;          /* an election multi is under way */
    ctrl_ctx_t ctx;
    bool have_ctx;
    hmap_t regs;            /* broker id -> zkpaths_broker_t* (live brokers) */
    hmap_t conns;           /* broker id -> kcli_t* */
    ev_t *qhead, *qtail;
    ev_t *cur;
    int pending;            /* reads or writes of cur in flight */
    struct event *kick_ev;
    struct event *retry_ev; /* election retry */
    struct event *again_ev; /* the current event's reads or write, again after a connection loss */
    bool cur_waiting;       /* again_ev is armed */
    /* write phase */
    ctrl_out_t out;
    bool have_out;
    bool *failed;
    size_t wi;
    bool wfailed;           /* the current write failed */
    bool wretry;            /* the current write hit a connection loss: issue it again */
    bool wretrying;         /* this is such a second issue */
};

/* ---- registry ---- */

static bctl_t *live_list;
static uint64_t next_serial = 1;

static bctl_t *ctl_lookup(uint64_t serial)
{
    for (bctl_t *c = live_list; c; c = c->next_live)
        if (c->serial == serial)
            return c;
    return NULL;
}

static void *ctl_handle(bctl_t *c) { return (void *)(uintptr_t)c->serial; }

/* ---- small helpers ---- */

static int32_t my_id(const bctl_t *c) { return c->b->id; }

static void kick(bctl_t *c)
{
    event_active(c->kick_ev, EV_TIMEOUT, 0);
}

static void item_free(item_t *it)
{
    free(it->name);
    free(it->data);
    for (int i = 0; i < it->nchildren; i++)
        free(it->children[i]);
    free(it->children);
}

static void shutdown_respond(ev_t *e, int16_t err)
{
    arena_t *a = bsrv_ctx_arena(e->req);
    kp_ControlledShutdownResponse *r = kp_new(a, &kp_ControlledShutdownResponse_schema);
    r->ErrorCode = err;
    if (!err && e->nrem > 0) {
        r->RemainingPartitions.n = (int32_t)e->nrem;
        r->RemainingPartitions.v = kp_new_array(a, &kp_ControlledShutdownResponse_RemainingPartition_schema,
                                                (int32_t)e->nrem);
        for (size_t i = 0; i < e->nrem; i++) {
            size_t l = strlen(e->rem_topics[i]);
            r->RemainingPartitions.v[i].TopicName =
                (kp_str_t){(const uint8_t *)arena_strndup(a, e->rem_topics[i], l), (int32_t)l};
            r->RemainingPartitions.v[i].PartitionIndex = e->rem_parts[i];
        }
    }
    bsrv_respond(e->req, r);
    e->req = NULL;
}

static void ev_free(ev_t *e)
{
    if (!e)
        return;
    if (e->req)   /* not processed: this broker is no longer the controller */
        shutdown_respond(e, KERR_NOT_CONTROLLER);
    for (size_t i = 0; i < e->nrem; i++)
        free(e->rem_topics[i]);
    free(e->rem_topics);
    free(e->rem_parts);
    for (size_t i = 0; i < e->nitems; i++)
        item_free(&e->items[i]);
    free(e->items);
    free(e->topic);
    free(e);
}

static item_t *ev_add_item(ev_t *e)
{
    if (e->nitems == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 8;
        e->items = xrealloc(e->items, e->cap * sizeof *e->items);
    }
    item_t *it = &e->items[e->nitems++];
    memset(it, 0, sizeof *it);
    return it;
}

static void enqueue(bctl_t *c, enum ev_type type, const char *topic, int32_t partition, int32_t broker, int16_t err)
{
    ev_t *e = xcalloc(1, sizeof *e);
    e->type = type;
    e->topic = topic ? xstrdup(topic) : NULL;
    e->partition = partition;
    e->broker = broker;
    e->err = err;
    if (c->qtail)
        c->qtail->next = e;
    else
        c->qhead = e;
    c->qtail = e;
    kick(c);
}

static void free_reg(void *p)
{
    zkpaths_broker_t *r = p;
    zkpaths_broker_free(r);
    free(r);
}

static void free_conn(void *p)
{
    kcli_free(p);
}

/* ---- resign / elect ---- */

static void elect(bctl_t *c);

static void clear_queue(bctl_t *c)
{
    ev_free(c->cur);
    c->cur = NULL;
    while (c->qhead) {
        ev_t *e = c->qhead;
        c->qhead = e->next;
        ev_free(e);
    }
    c->qtail = NULL;
    c->pending = 0;
    if (c->have_out)
        ctrl_out_fini(&c->out);
    c->have_out = false;
    free(c->failed);
    c->failed = NULL;
    c->cur_waiting = false;
    if (c->again_ev)
        evtimer_del(c->again_ev);
}

static void resign(bctl_t *c, const char *why)
{
    if (!c->active)
        return;
    LOG_I(CTL_LOG, "[Controller id=%" PRId32 "] Resigning (%s)", my_id(c), why);
    c->active = false;
    c->term++;
    clear_queue(c);
    if (c->have_ctx)
        ctrl_ctx_fini(&c->ctx);
    c->have_ctx = false;
    hmap_fini(&c->conns, free_conn);
    hmap_init(&c->conns);
    hmap_fini(&c->regs, free_reg);
    hmap_init(&c->regs);
}

static void ctl_watch(zkc_t *zk, const zkc_event_t *ev, void *ctx);

static zkc_watch_t watch_of(bctl_t *c)
{
    zkc_watch_t w = {ctl_watch, ctl_handle(c)};
    return w;
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    bctl_t *c = ctl_lookup((uint64_t)(uintptr_t)arg);
    if (c)
        elect(c);
}

static void elect_later(bctl_t *c, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(c->retry_ev, &tv);
}

static void become_controller(bctl_t *c, int32_t epoch, int32_t epoch_zkv)
{
    c->active = true;
    c->term++;
    LOG_I(CTL_LOG, "[Controller id=%" PRId32 "] %" PRId32 " successfully elected as the controller. Epoch "
          "incremented to %" PRId32 " and epoch zk version is now %" PRId32,
          my_id(c), my_id(c), epoch, epoch_zkv);
    ctrl_ctx_init(&c->ctx, my_id(c), epoch, epoch_zkv);
    c->ctx.unclean_default = c->b->cfg->unclean_leader_election_enable;
    c->ctx.delete_enable = c->b->cfg->delete_topic_enable;
    c->have_ctx = true;
    /* the startup event goes first */
    ev_t *e = xcalloc(1, sizeof *e);
    e->type = EV_FAILOVER;
    e->next = c->qhead;
    c->qhead = e;
    if (!c->qtail)
        c->qtail = e;
    kick(c);
}

typedef struct elect_op_s {
    uint64_t serial;
    int32_t epoch;      /* the epoch being claimed */
} elect_op_t;

static void elect_multi_cb(zkc_t *zk, const zkc_result_t *res, void *ctx)
{
    elect_op_t *op = ctx;
    bctl_t *c = ctl_lookup(op->serial);
    int32_t epoch = op->epoch;
    free(op);
    if (!c || zk != c->b->zk)
        return;
    c->creating = false;
    if (res->rc == ZOK) {
        int32_t zkv = res->nresults > 1 && res->results[1].has_stat ? res->results[1].stat.version : -1;
        become_controller(c, epoch, zkv);
        return;
    }
    if (res->rc == ZNODEEXISTS) {
        LOG_D(CTL_LOG, "[Controller id=%" PRId32 "] another broker won the election", my_id(c));
        elect(c);   /* re-arm the watch, learn who */
        return;
    }
    if (res->rc == ZBADVERSION) {
        elect(c);
        return;
    }
    LOG_W(CTL_LOG, "[Controller id=%" PRId32 "] election failed (error %d); retrying", my_id(c), res->rc);
    elect_later(c, 1000);
}

static void epoch_read_cb(zkc_t *zk, const zkc_result_t *res, void *ctx);

static void epoch_created_cb(zkc_t *zk, const zkc_result_t *res, void *ctx)
{
    bctl_t *c = ctl_lookup((uint64_t)(uintptr_t)ctx);
    if (!c || zk != c->b->zk)
        return;
    if (res->rc != ZOK && res->rc != ZNODEEXISTS) {
        c->creating = false;
        elect_later(c, 1000);
        return;
    }
    if (zkc_get_data(zk, ZKPATHS_CONTROLLER_EPOCH, NULL, epoch_read_cb, ctx)) {
        c->creating = false;
        elect_later(c, 1000);
    }
}

static void epoch_read_cb(zkc_t *zk, const zkc_result_t *res, void *ctx)
{
    bctl_t *c = ctl_lookup((uint64_t)(uintptr_t)ctx);
    if (!c || zk != c->b->zk)
        return;
    if (res->rc == ZNONODE) {
        buf_t d;
        buf_init(&d);
        zkpaths_epoch_encode(0, &d);
        zkc_create_t cr = {.path = ZKPATHS_CONTROLLER_EPOCH, .data = d.data, .len = (int32_t)d.len,
                           .mode = ZK_PERSISTENT};
        int rc = zkc_create(zk, &cr, epoch_created_cb, ctx);
        buf_free(&d);
        if (rc) {
            c->creating = false;
            elect_later(c, 1000);
        }
        return;
    }
    int32_t epoch = 0;
    if (res->rc != ZOK ||
        zkpaths_epoch_decode(res->data, res->datalen > 0 ? (size_t)res->datalen : 0, &epoch) != 0) {
        LOG_W(CTL_LOG, "[Controller id=%" PRId32 "] cannot read %s (error %d)", my_id(c), ZKPATHS_CONTROLLER_EPOCH,
              res->rc);
        c->creating = false;
        elect_later(c, 1000);
        return;
    }
    buf_t js, ed;
    buf_init(&js);
    buf_init(&ed);
    zkpaths_controller_encode(my_id(c), broker_now_ms(), &js);
    zkpaths_epoch_encode(epoch + 1, &ed);
    zkc_op_t ops[2] = {zkc_op_create(ZKPATHS_CONTROLLER, js.data, (int32_t)js.len, ZK_EPHEMERAL),
                       zkc_op_set_data(ZKPATHS_CONTROLLER_EPOCH, ed.data, (int32_t)ed.len, res->stat->version)};
    elect_op_t *op = xcalloc(1, sizeof *op);
    op->serial = c->serial;
    op->epoch = epoch + 1;
    int rc = zkc_multi(zk, ops, 2, elect_multi_cb, op);
    buf_free(&js);
    buf_free(&ed);
    if (rc) {
        free(op);
        c->creating = false;
        elect_later(c, 1000);
    }
}

static void stale_deleted_cb(zkc_t *zk, const zkc_result_t *res, void *ctx)
{
    (void)res;
    bctl_t *c = ctl_lookup((uint64_t)(uintptr_t)ctx);
    if (c && zk == c->b->zk)
        elect(c);
}

static void controller_data_cb(zkc_t *zk, const zkc_result_t *res, void *ctx)
{
    bctl_t *c = ctl_lookup((uint64_t)(uintptr_t)ctx);
    if (!c || zk != c->b->zk)
        return;
    if (res->rc == ZNONODE) {
        elect(c);
        return;
    }
    if (res->rc != ZOK)
        return;
    int32_t id = -1;
    if (zkpaths_controller_decode(res->data, res->datalen > 0 ? (size_t)res->datalen : 0, &id) != 0) {
        LOG_W(CTL_LOG, "%s holds no controller JSON", ZKPATHS_CONTROLLER);
        return;
    }
    bool mine = res->stat->ephemeralOwner == zkc_session_id(zk);
    if (c->active && !mine) {
        resign(c, "another broker is the controller");
    }
    if (id == my_id(c) && !mine) {
        /* our own previous life's /controller (killed faster than its session timeout):
         * once our registration proves no other live broker has our id, remove it */
        if (bzk_registered(c->b->reg)) {
            LOG_I(CTL_LOG, "[Controller id=%" PRId32 "] %s was left by this broker's previous session 0x%llx: "
                  "deleting it", my_id(c), ZKPATHS_CONTROLLER, (unsigned long long)res->stat->ephemeralOwner);
            if (zkc_delete(zk, ZKPATHS_CONTROLLER, res->stat->version, stale_deleted_cb, ctx))
                elect_later(c, 500);
        } else {
            elect_later(c, 200);
        }
        return;
    }
    if (!mine)
        LOG_I(CTL_LOG, "[Controller id=%" PRId32 "] broker %" PRId32 " is the controller", my_id(c), id);
}

static void controller_exists_cb(zkc_t *zk, const zkc_result_t *res, void *ctx)
{
    bctl_t *c = ctl_lookup((uint64_t)(uintptr_t)ctx);
    if (!c || zk != c->b->zk)
        return;
    if (res->rc == ZOK) {
        if (zkc_get_data(zk, ZKPATHS_CONTROLLER, NULL, controller_data_cb, ctx))
            elect_later(c, 1000);
        return;
    }
    if (res->rc == ZNONODE) {
        if (c->active)
            resign(c, "/controller was deleted");
        if (c->creating)
            return;
        c->creating = true;
        if (zkc_get_data(zk, ZKPATHS_CONTROLLER_EPOCH, NULL, epoch_read_cb, ctx)) {
            c->creating = false;
            elect_later(c, 1000);
        }
        return;
    }
    if (zkc_state_alive(zkc_state(zk)))
        elect_later(c, 1000);
}

/* Looks at /controller (re-arming the watch) and runs for controller if it is absent. */
static void elect(bctl_t *c)
{
    zkc_t *zk = c->b->zk;
    if (!zk || !zkc_state_alive(zkc_state(zk)))
        return;
    zkc_watch_t w = watch_of(c);
    if (zkc_exists(zk, ZKPATHS_CONTROLLER, &w, controller_exists_cb, ctl_handle(c)))
        elect_later(c, 1000);
}

/* ---- reads ---- */

enum rkind { R_DATA, R_CHILDREN, R_EXISTS };

typedef struct rop_s {
    uint64_t serial, term;
    int tag;
    char *name;
    int32_t part;
} rop_t;

static void read_cb(zkc_t *zk, const zkc_result_t *res, void *ctx)
{
    rop_t *op = ctx;
    bctl_t *c = ctl_lookup(op->serial);
    if (!c || zk != c->b->zk || op->term != c->term || !c->cur) {
        free(op->name);
        free(op);
        return;
    }
    item_t *it = ev_add_item(c->cur);
    it->tag = op->tag;
    it->name = op->name;
    it->part = op->part;
    it->rc = res->rc;
    if (res->stat)
        it->stat = *res->stat;
    if (res->rc == ZOK && res->data && res->datalen > 0) {
        it->data = xmalloc((size_t)res->datalen);
        memcpy(it->data, res->data, (size_t)res->datalen);
        it->len = res->datalen;
    }
    if (res->rc == ZOK && res->strings && res->strings->n > 0) {
        it->nchildren = res->strings->n;
        it->children = xcalloc((size_t)it->nchildren, sizeof *it->children);
        for (int i = 0; i < it->nchildren; i++)
            it->children[i] = xstrdup(res->strings->v[i]);
    }
    free(op);
    if (--c->pending == 0)
        kick(c);
}

static void issue(bctl_t *c, enum rkind kind, const char *path, bool watch, int tag, const char *name, int32_t part)
{
    rop_t *op = xcalloc(1, sizeof *op);
    op->serial = c->serial;
    op->term = c->term;
    op->tag = tag;
    op->name = name ? xstrdup(name) : NULL;
    op->part = part;
    zkc_watch_t w = watch_of(c);
    const zkc_watch_t *wp = watch ? &w : NULL;
    int rc;
    switch (kind) {
    case R_DATA: rc = zkc_get_data(c->b->zk, path, wp, read_cb, op); break;
    case R_CHILDREN: rc = zkc_get_children(c->b->zk, path, wp, read_cb, op); break;
    default: rc = zkc_exists(c->b->zk, path, wp, read_cb, op); break;
    }
    if (rc) {
        item_t *it = ev_add_item(c->cur);
        it->tag = tag;
        it->name = op->name;
        it->part = part;
        it->rc = rc;
        free(op);
        return;
    }
    c->pending++;
}

/* ---- connections and sends ---- */

static const zkpaths_broker_t *lookup_reg(void *arg, int32_t broker)
{
    bctl_t *c = arg;
    return hmap_get64(&c->regs, (uint64_t)(uint32_t)broker);
}

static kcli_t *conn_for(bctl_t *c, int32_t broker)
{
    kcli_t *k = hmap_get64(&c->conns, (uint64_t)(uint32_t)broker);
    if (k)
        return k;
    const zkpaths_broker_t *reg = lookup_reg(c, broker);
    if (!reg)
        return NULL;
    const zkpaths_endpoint_t *ep = c->b->listener_name ? zkpaths_broker_endpoint(reg, c->b->listener_name) : NULL;
    if (!ep && reg->n_endpoints > 0)
        ep = &reg->endpoints[0];
    if (!ep) {
        LOG_W(CTL_LOG, "[Controller id=%" PRId32 "] broker %" PRId32 " registers no endpoint", my_id(c), broker);
        return NULL;
    }
    char cid[64];
    snprintf(cid, sizeof cid, "controller-%" PRId32 "-to-broker-%" PRId32, my_id(c), broker);
    k = kcli_new(c->b->base, ep->host && *ep->host ? ep->host : "127.0.0.1", ep->port, cid);
    hmap_put64(&c->conns, (uint64_t)(uint32_t)broker, k);
    LOG_I(CTL_LOG, "[Controller id=%" PRId32 "] connection to broker %" PRId32 " at %s:%" PRId32 " (%s)", my_id(c),
          broker, kcli_host(k), ep->port, ep->listener);
    return k;
}

typedef struct sop_s {
    uint64_t serial, term;
    int16_t api;
    int32_t broker;
    bool del;
    char **topics;      /* StopReplica(delete): what was asked, for a whole-request error */
    int32_t *parts;
    size_t n;
} sop_t;

static void sop_free(sop_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->topics[i]);
    free(s->topics);
    free(s->parts);
    free(s);
}

static const char *api_name(int16_t api)
{
    return api == KP_LEADER_AND_ISR ? "LeaderAndIsr" : api == KP_UPDATE_METADATA ? "UpdateMetadata" : "StopReplica";
}

static void send_cb(void *ctx, int err, const void *resp, arena_t *a)
{
    (void)a;
    sop_t *s = ctx;
    bctl_t *c = ctl_lookup(s->serial);
    if (!c || s->term != c->term || !c->active || err == KCLI_ECANCELLED) {
        sop_free(s);
        return;
    }
    if (err != KCLI_OK) {
        LOG_W(CTL_LOG, "[Controller id=%" PRId32 "] %s to broker %" PRId32 " failed (kcli error %d)", my_id(c),
              api_name(s->api), s->broker, err);
        sop_free(s);
        return;
    }
    int16_t top = 0;
    if (s->api == KP_LEADER_AND_ISR)
        top = ((const kp_LeaderAndIsrResponse *)resp)->ErrorCode;
    else if (s->api == KP_UPDATE_METADATA)
        top = ((const kp_UpdateMetadataResponse *)resp)->ErrorCode;
    else
        top = ((const kp_StopReplicaResponse *)resp)->ErrorCode;
    if (top)
        LOG_W(CTL_LOG, "[Controller id=%" PRId32 "] %s to broker %" PRId32 " answered error %d", my_id(c),
              api_name(s->api), s->broker, top);
    else
        LOG_D(CTL_LOG, "[Controller id=%" PRId32 "] %s to broker %" PRId32 " answered", my_id(c), api_name(s->api),
              s->broker);
    if (s->api == KP_STOP_REPLICA && s->del) {
        const kp_StopReplicaResponse *r = resp;
        if (top || r->PartitionErrors.n <= 0) {
            for (size_t i = 0; i < s->n; i++)
                enqueue(c, EV_STOP_DONE, s->topics[i], s->parts[i], s->broker, top);
        } else {
            for (int32_t i = 0; i < r->PartitionErrors.n; i++) {
                const kp_StopReplicaResponse_StopReplicaPartitionError *pe = &r->PartitionErrors.v[i];
                char *t = strndup((const char *)pe->TopicName.p, pe->TopicName.len > 0 ? (size_t)pe->TopicName.len : 0);
                enqueue(c, EV_STOP_DONE, t, pe->PartitionIndex, s->broker, pe->ErrorCode);
                free(t);
            }
        }
    }
    sop_free(s);
}

static void send_to(bctl_t *c, int32_t broker, int16_t api, int16_t version, const void *req, sop_t *s)
{
    kcli_t *k = conn_for(c, broker);
    if (!k) {
        LOG_W(CTL_LOG, "[Controller id=%" PRId32 "] no connection to broker %" PRId32 " for %s", my_id(c), broker,
              api_name(api));
        sop_free(s);
        return;
    }
    s->serial = c->serial;
    s->term = c->term;
    s->api = api;
    s->broker = broker;
    if (kcli_send(k, api, version, req, KCLI_RETRY, send_cb, s)) {
        LOG_E(CTL_LOG, "[Controller id=%" PRId32 "] cannot encode %s v%d for broker %" PRId32, my_id(c),
              api_name(api), version, broker);
        sop_free(s);
    }
}

static void send_requests(bctl_t *c)
{
    ctrl_out_t *out = &c->out;
    ctrl_req_env_t env = {c->failed, lookup_reg, c, c->b->listener_name};
    zkpaths_ilist_t bl = {0};
    ctrl_out_lai_brokers(out, &bl);
    for (size_t i = 0; i < bl.n; i++) {
        if (!ctrl_ctx_is_live(&c->ctx, bl.v[i]))
            continue;
        arena_t a;
        arena_init(&a);
        kp_LeaderAndIsrRequest req;
        int n = ctrl_req_leader_and_isr(out, &c->ctx, bl.v[i], CTL_LAI_VERSION, &env, &a, &req);
        if (n > 0) {
            LOG_I(CTL_LOG, "[Controller id=%" PRId32 " epoch=%" PRId32 "] Sending LeaderAndIsr request with %d "
                  "partition(s) to broker %" PRId32, my_id(c), c->ctx.epoch, n, bl.v[i]);
            send_to(c, bl.v[i], KP_LEADER_AND_ISR, CTL_LAI_VERSION, &req, xcalloc(1, sizeof(sop_t)));
        }
        arena_free(&a);
    }
    zkpaths_ilist_free(&bl);
    if (out->um_brokers.n > 0) {
        arena_t a;
        arena_init(&a);
        kp_UpdateMetadataRequest req;
        int n = ctrl_req_update_metadata(out, &c->ctx, CTL_UM_VERSION, &env, &a, &req);
        for (size_t i = 0; i < out->um_brokers.n; i++) {
            int32_t id = out->um_brokers.v[i];
            if (!ctrl_ctx_is_live(&c->ctx, id))
                continue;
            LOG_I(CTL_LOG, "[Controller id=%" PRId32 " epoch=%" PRId32 "] Sending UpdateMetadata request with %d "
                  "partition(s) to broker %" PRId32, my_id(c), c->ctx.epoch, n, id);
            send_to(c, id, KP_UPDATE_METADATA, CTL_UM_VERSION, &req, xcalloc(1, sizeof(sop_t)));
        }
        arena_free(&a);
    }
    ctrl_out_stop_brokers(out, &bl);
    for (size_t i = 0; i < bl.n; i++) {
        int32_t id = bl.v[i];
        if (!ctrl_ctx_is_live(&c->ctx, id))
            continue;
        for (int del = 0; del <= 1; del++) {
            arena_t a;
            arena_init(&a);
            kp_StopReplicaRequest req;
            int n = ctrl_req_stop_replica(out, &c->ctx, id, del, CTL_SR_VERSION, &a, &req);
            if (n > 0) {
                sop_t *s = xcalloc(1, sizeof *s);
                s->del = del;
                for (size_t k = 0; k < out->n_stop; k++) {
                    const ctrl_preq_t *p = &out->stop[k];
                    if (p->broker != id || p->delete_partition != (bool)del)
                        continue;
                    s->topics = xrealloc(s->topics, (s->n + 1) * sizeof *s->topics);
                    s->parts = xrealloc(s->parts, (s->n + 1) * sizeof *s->parts);
                    s->topics[s->n] = xstrdup(p->topic);
                    s->parts[s->n] = p->partition;
                    s->n++;
                }
                LOG_I(CTL_LOG, "[Controller id=%" PRId32 " epoch=%" PRId32 "] Sending StopReplica request "
                      "(delete=%s) for %d partition(s) to broker %" PRId32, my_id(c), c->ctx.epoch,
                      del ? "true" : "false", n, id);
                send_to(c, id, KP_STOP_REPLICA, CTL_SR_VERSION, &req, s);
            }
            arena_free(&a);
        }
    }
    zkpaths_ilist_free(&bl);
}

/* ---- writes ---- */

typedef struct wop_s {
    uint64_t serial, term;
    size_t wi;
    bool last;          /* the op whose result decides the write */
    bool tolerate_exists;
    bool tolerate_nonode;
} wop_t;

static void write_next(bctl_t *c);

static void again_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    bctl_t *c = ctl_lookup((uint64_t)(uintptr_t)arg);
    if (!c || !c->active || !c->cur || !c->cur_waiting)
        return;
    if (!zkc_state_alive(zkc_state(c->b->zk))) {
        /* the session is gone: the renewal resigns and elects again */
        struct timeval tv = {0, 500000};
        evtimer_add(c->again_ev, &tv);
        return;
    }
    c->cur_waiting = false;
    if (c->cur->step >= 100) {
        c->wretrying = true;
        write_next(c);
    } else {
        kick(c);
    }
}

/* The current event's reads (from the start) or current write are issued again in a
 * moment: the coordinator connection was lost, so their outcome is unknown. */
static void wait_again(bctl_t *c)
{
    LOG_W(CTL_LOG, "[Controller id=%" PRId32 "] coordinator connection lost during %s; retrying", my_id(c),
          ev_names[c->cur->type]);
    c->cur_waiting = true;
    struct timeval tv = {0, 300000};
    evtimer_add(c->again_ev, &tv);
}

/* A multi(check epoch, op) result: false if the epoch check failed (resigned). */
static bool fenced(bctl_t *c, const zkc_result_t *res)
{
    if (res->rc == ZOK || res->nresults < 1)
        return false;
    int e = res->results[0].err;
    if (e == ZBADVERSION || e == ZNONODE) {
        LOG_W(CTL_LOG, "[Controller id=%" PRId32 "] %s is no longer at version %" PRId32
              ": another controller was elected", my_id(c), ZKPATHS_CONTROLLER_EPOCH, c->ctx.epoch_zk_version);
        resign(c, "controller epoch moved on");
        elect(c);
        return true;
    }
    return false;
}

static int op_err(const zkc_result_t *res)
{
    if (res->rc == ZOK)
        return ZOK;
    if (res->nresults >= 2)
        return res->results[1].err;
    return res->rc;
}

static void write_cb(zkc_t *zk, const zkc_result_t *res, void *ctx)
{
    wop_t *op = ctx;
    bctl_t *c = ctl_lookup(op->serial);
    if (!c || zk != c->b->zk || op->term != c->term || !c->have_out) {
        free(op);
        return;
    }
    if (fenced(c, res)) {
        free(op);
        return;
    }
    int e = op_err(res);
    bool ok = e == ZOK || ((op->tolerate_exists || c->wretrying) && e == ZNODEEXISTS) ||
              (op->tolerate_nonode && e == ZNONODE);
    if (res->rc == ZCONNECTIONLOSS || res->rc == ZOPERATIONTIMEOUT) {
        c->wretry = true;
    } else if (!ok && op->last) {
        const ctrl_zwrite_t *w = &c->out.writes[op->wi];
        LOG_W(CTL_LOG, "[Controller id=%" PRId32 "] write to %s failed (error %d)", my_id(c), w->path, e);
        c->wfailed = true;
    }
    free(op);
    if (--c->pending == 0) {
        if (c->wretry) {
            wait_again(c);
            return;
        }
        if (c->wfailed) {
            c->failed[c->wi] = true;
            const ctrl_zwrite_t *w = &c->out.writes[c->wi];
            if (w->op == CTRL_ZOP_SET_STATE && w->topic)
                enqueue(c, EV_REREAD_STATE, w->topic, w->partition, -1, 0);
        }
        c->wi++;
        c->wretrying = false;
        write_next(c);
    }
}

static void checked_op(bctl_t *c, const zkc_op_t *op, bool last, bool tol_exists, bool tol_nonode)
{
    zkc_op_t ops[2] = {zkc_op_check(ZKPATHS_CONTROLLER_EPOCH, c->ctx.epoch_zk_version), *op};
    wop_t *w = xcalloc(1, sizeof *w);
    w->serial = c->serial;
    w->term = c->term;
    w->wi = c->wi;
    w->last = last;
    w->tolerate_exists = tol_exists;
    w->tolerate_nonode = tol_nonode;
    c->pending++;
    if (zkc_multi(c->b->zk, ops, 2, write_cb, w)) {
        c->pending--;
        free(w);
        if (last)
            c->wfailed = true;
    }
}

/* Recursive delete: children first, each delete fenced. c->pending counts the requests
 * in flight; a node is complete when it is deleted (or was already gone), and a parent's
 * delete is issued when its last child is complete. */
typedef struct dnode_s {
    uint64_t serial, term;
    char *path;
    struct dnode_s *parent;
    int remaining;      /* children started and not complete */
} dnode_t;

static void dnode_children_cb(zkc_t *zk, const zkc_result_t *res, void *ctx);
static void dnode_deleted_cb(zkc_t *zk, const zkc_result_t *res, void *ctx);
static void dnode_complete(bctl_t *c, dnode_t *n);

/* A callback from an old term: free the node, and parents left with no children. */
static void dnode_free_chain(dnode_t *n)
{
    while (n) {
        dnode_t *p = n->parent;
        if (p && --p->remaining > 0)
            p = NULL;
        free(n->path);
        free(n);
        n = p;
    }
}

static void write_done_request(bctl_t *c)
{
    if (--c->pending == 0) {
        if (c->wretry) {
            wait_again(c);
            return;
        }
        if (c->wfailed)
            c->failed[c->wi] = true;
        c->wi++;
        c->wretrying = false;
        write_next(c);
    }
}

static void dnode_start(bctl_t *c, const char *path, dnode_t *parent)
{
    dnode_t *n = xcalloc(1, sizeof *n);
    n->serial = c->serial;
    n->term = c->term;
    n->path = xstrdup(path);
    n->parent = parent;
    if (parent)
        parent->remaining++;
    c->pending++;
    if (zkc_get_children(c->b->zk, path, NULL, dnode_children_cb, n)) {
        c->pending--;
        c->wfailed = true;
        if (parent)
            parent->remaining--;
        free(n->path);
        free(n);
    }
}

static void dnode_delete(bctl_t *c, dnode_t *n)
{
    zkc_op_t ops[2] = {zkc_op_check(ZKPATHS_CONTROLLER_EPOCH, c->ctx.epoch_zk_version), zkc_op_delete(n->path, -1)};
    c->pending++;
    if (zkc_multi(c->b->zk, ops, 2, dnode_deleted_cb, n)) {
        c->pending--;
        c->wfailed = true;
        dnode_complete(c, n);
    }
}

static void dnode_complete(bctl_t *c, dnode_t *n)
{
    dnode_t *p = n->parent;
    free(n->path);
    free(n);
    if (p && --p->remaining == 0)
        dnode_delete(c, p);
}

static void dnode_deleted_cb(zkc_t *zk, const zkc_result_t *res, void *ctx)
{
    dnode_t *n = ctx;
    bctl_t *c = ctl_lookup(n->serial);
    if (!c || zk != c->b->zk || n->term != c->term || !c->have_out || fenced(c, res)) {
        dnode_free_chain(n);
        return;
    }
    int e = op_err(res);
    if (res->rc == ZCONNECTIONLOSS || res->rc == ZOPERATIONTIMEOUT) {
        c->wretry = true;
    } else if (e != ZOK && e != ZNONODE) {
        LOG_W(CTL_LOG, "[Controller id=%" PRId32 "] deleting %s failed (error %d)", my_id(c), n->path, e);
        c->wfailed = true;
    }
    dnode_complete(c, n);
    write_done_request(c);
}

static void dnode_children_cb(zkc_t *zk, const zkc_result_t *res, void *ctx)
{
    dnode_t *n = ctx;
    bctl_t *c = ctl_lookup(n->serial);
    if (!c || zk != c->b->zk || n->term != c->term || !c->have_out) {
        dnode_free_chain(n);
        return;
    }
    if (res->rc != ZOK) {
        if (res->rc == ZCONNECTIONLOSS || res->rc == ZOPERATIONTIMEOUT)
            c->wretry = true;
        else if (res->rc != ZNONODE)
            c->wfailed = true;
        dnode_complete(c, n);
    } else if (!res->strings || res->strings->n <= 0) {
        dnode_delete(c, n);
    } else {
        for (int i = 0; i < res->strings->n; i++) {
            char *child = xasprintf("%s/%s", n->path, res->strings->v[i]);
            dnode_start(c, child, n);
            free(child);
        }
        if (n->remaining == 0)   /* no child could be started */
            dnode_complete(c, n);
    }
    write_done_request(c);
}

static void finish_event(bctl_t *c)
{
    if (c->cur && c->cur->req)
        shutdown_respond(c->cur, KERR_NONE);
    ev_free(c->cur);
    c->cur = NULL;
    if (c->have_out)
        ctrl_out_fini(&c->out);
    c->have_out = false;
    free(c->failed);
    c->failed = NULL;
    kick(c);
}

static void write_next(bctl_t *c)
{
    for (;;) {
        if (!c->active || !c->have_out)
            return;
        if (c->wi >= c->out.n_writes) {
            send_requests(c);
            finish_event(c);
            return;
        }
        const ctrl_zwrite_t *w = &c->out.writes[c->wi];
        c->wfailed = false;
        c->wretry = false;
        switch (w->op) {
        case CTRL_ZOP_CREATE_STATE: {
            char *tp = zkpaths_topic_partitions(w->topic);
            char *pp = zkpaths_partition(w->topic, w->partition);
            zkc_op_t o1 = zkc_op_create(tp, NULL, -1, ZK_PERSISTENT);
            zkc_op_t o2 = zkc_op_create(pp, NULL, -1, ZK_PERSISTENT);
            zkc_op_t o3 = zkc_op_create(w->path, w->data.data, (int32_t)w->data.len, ZK_PERSISTENT);
            checked_op(c, &o1, false, true, false);
            checked_op(c, &o2, false, true, false);
            checked_op(c, &o3, true, false, false);
            free(tp);
            free(pp);
            break;
        }
        case CTRL_ZOP_SET_STATE: {
            zkc_op_t o = zkc_op_set_data(w->path, w->data.data, (int32_t)w->data.len, w->expected_version);
            checked_op(c, &o, true, false, false);
            break;
        }
        case CTRL_ZOP_DELETE: {
            zkc_op_t o = zkc_op_delete(w->path, -1);
            checked_op(c, &o, true, false, true);
            break;
        }
        case CTRL_ZOP_DELETE_TREE:
            dnode_start(c, w->path, NULL);
            break;
        }
        if (c->pending > 0)
            return;
        /* nothing could be issued */
        c->failed[c->wi] = true;
        c->wi++;
    }
}

static void execute(bctl_t *c)
{
    c->failed = xcalloc(c->out.n_writes + 1, sizeof *c->failed);
    c->wi = 0;
    c->pending = 0;
    c->cur->step = 100;
    write_next(c);
}

/* ---- applying events ---- */

static item_t *find_item(ev_t *e, int tag)
{
    for (size_t i = 0; i < e->nitems; i++)
        if (e->items[i].tag == tag)
            return &e->items[i];
    return NULL;
}

/* Rebuilds the live set and registrations from T_REG items; updates connections. */
static void apply_brokers(bctl_t *c, ev_t *e, bool startup)
{
    hmap_fini(&c->regs, free_reg);
    hmap_init(&c->regs);
    size_t n = 0;
    int32_t *ids = xcalloc(e->nitems + 1, sizeof *ids);
    int64_t *epochs = xcalloc(e->nitems + 1, sizeof *epochs);
    for (size_t i = 0; i < e->nitems; i++) {
        item_t *it = &e->items[i];
        if (it->tag != T_REG || it->rc != ZOK)
            continue;
        int32_t id;
        if (zkpaths_parse_broker_id(it->name, &id))
            continue;
        zkpaths_broker_t *reg = xcalloc(1, sizeof *reg);
        if (zkpaths_broker_decode(it->data, it->len > 0 ? (size_t)it->len : 0, reg)) {
            LOG_W(CTL_LOG, "[Controller id=%" PRId32 "] /brokers/ids/%s holds no valid registration; ignored",
                  my_id(c), it->name);
            free(reg);
            continue;
        }
        hmap_put64(&c->regs, (uint64_t)(uint32_t)id, reg);
        ids[n] = id;
        epochs[n] = it->stat.czxid;
        n++;
    }
    /* connections to brokers gone or moved are dropped */
    hmap_iter_t iter;
    hmap_iter_init(&c->conns, &iter);
    const void *key;
    size_t klen;
    void *val;
    int32_t drop[256];
    size_t ndrop = 0;
    while (hmap_iter_next(&c->conns, &iter, &key, &klen, &val) && ndrop < 256) {
        uint64_t k;
        memcpy(&k, key, sizeof k);
        int32_t id = (int32_t)(uint32_t)k;
        const zkpaths_broker_t *reg = lookup_reg(c, id);
        const zkpaths_endpoint_t *ep = reg && c->b->listener_name ? zkpaths_broker_endpoint(reg, c->b->listener_name)
                                                                  : NULL;
        if (!ep && reg && reg->n_endpoints)
            ep = &reg->endpoints[0];
        if (!ep || ep->port != kcli_port(val))
            drop[ndrop++] = id;
    }
    for (size_t i = 0; i < ndrop; i++)
        kcli_free(hmap_del64(&c->conns, (uint64_t)(uint32_t)drop[i]));
    if (startup)
        ctrl_ctx_set_live(&c->ctx, ids, epochs, n);
    else
        ctrl_core_brokers_changed(&c->ctx, ids, epochs, n, &c->out);
    buf_t l;
    buf_init(&l);
    for (size_t i = 0; i < c->ctx.live.n; i++)
        buf_printf(&l, "%s%" PRId32, i ? "," : "", c->ctx.live.v[i]);
    LOG_I(CTL_LOG, "[Controller id=%" PRId32 "] live brokers: [%s]", my_id(c), buf_cstr(&l));
    buf_free(&l);
    free(ids);
    free(epochs);
}

/* T_TOPIC items -> topics added (startup: into the context; later: topic_created). */
/* A topic's unclean.leader.election.enable override from its /config/topics/T item. */
static void apply_topic_config(bctl_t *c, ev_t *e, const char *name)
{
    ctrl_topic_t *t = ctrl_ctx_topic(&c->ctx, name);
    if (!t)
        return;
    for (size_t i = 0; i < e->nitems; i++) {
        item_t *it = &e->items[i];
        if (it->tag != T_TCONFIG || it->rc != ZOK || strcmp(it->name, name) != 0)
            continue;
        zkpaths_config_t cfg;
        if (zkpaths_config_decode(it->data, it->len > 0 ? (size_t)it->len : 0, &cfg))
            return;
        const char *v = zkpaths_config_get(&cfg, "unclean.leader.election.enable");
        if (v && strcmp(v, "true") == 0)
            t->unclean = 1;
        else if (v && strcmp(v, "false") == 0)
            t->unclean = 0;
        zkpaths_config_free(&cfg);
        return;
    }
}

static void apply_topics(bctl_t *c, ev_t *e, bool startup)
{
    for (size_t i = 0; i < e->nitems; i++) {
        item_t *it = &e->items[i];
        if (it->tag != T_TOPIC || it->rc != ZOK || ctrl_ctx_topic(&c->ctx, it->name))
            continue;
        zkpaths_topic_t t;
        if (zkpaths_topic_decode(it->data, it->len > 0 ? (size_t)it->len : 0, &t)) {
            LOG_W(CTL_LOG, "[Controller id=%" PRId32 "] /brokers/topics/%s holds no valid assignment; ignored",
                  my_id(c), it->name);
            continue;
        }
        if (startup) {
            if (!ctrl_ctx_add_topic(&c->ctx, it->name, &t))
                LOG_W(CTL_LOG, "[Controller id=%" PRId32 "] topic %s: partitions are not 0..n-1; ignored", my_id(c),
                      it->name);
            apply_topic_config(c, e, it->name);
        } else {
            LOG_I(CTL_LOG, "[Controller id=%" PRId32 "] New topics: [%s], new partition replica assignment with "
                  "%zu partition(s)", my_id(c), it->name, t.n_parts);
            if (ctrl_core_topic_created(&c->ctx, it->name, &t, &c->out))
                LOG_W(CTL_LOG, "[Controller id=%" PRId32 "] topic %s: assignment not usable; ignored", my_id(c),
                      it->name);
            else
                apply_topic_config(c, e, it->name);
        }
        zkpaths_topic_free(&t);
    }
}

static void apply_states(bctl_t *c, ev_t *e)
{
    for (size_t i = 0; i < e->nitems; i++) {
        item_t *it = &e->items[i];
        if (it->tag != T_STATE || it->rc != ZOK)
            continue;
        ctrl_part_t *p = ctrl_ctx_part(&c->ctx, it->name, it->part);
        zkpaths_pstate_t st;
        if (!p || zkpaths_pstate_decode(it->data, it->len > 0 ? (size_t)it->len : 0, &st))
            continue;
        ctrl_ctx_set_state(p, &st, it->stat.version);
        zkpaths_pstate_free(&st);
    }
}

/* Issues a state read for every partition of every decodable T_TOPIC item. */
static void read_states_of_topics(bctl_t *c, ev_t *e)
{
    size_t n = e->nitems;
    for (size_t i = 0; i < n; i++) {
        item_t *it = &e->items[i];
        if (it->tag != T_TOPIC || it->rc != ZOK)
            continue;
        zkpaths_topic_t t;
        if (zkpaths_topic_decode(it->data, it->len > 0 ? (size_t)it->len : 0, &t))
            continue;
        char *name = xstrdup(it->name);   /* items may move while issuing */
        for (size_t k = 0; k < t.n_parts; k++) {
            char *p = zkpaths_partition_state(name, t.parts[k].partition);
            issue(c, R_DATA, p, false, T_STATE, name, t.parts[k].partition);
            free(p);
        }
        free(name);
        zkpaths_topic_free(&t);
        it = NULL;
    }
}

static void issue_children_data(bctl_t *c, ev_t *e, int children_tag, const char *parent, int tag, bool watch,
                                bool only_new_topics)
{
    item_t *ch = find_item(e, children_tag);
    if (!ch || ch->rc != ZOK)
        return;
    int nch = ch->nchildren;
    char **names = xcalloc((size_t)nch + 1, sizeof *names);
    for (int i = 0; i < nch; i++)
        names[i] = xstrdup(ch->children[i]);
    for (int i = 0; i < nch; i++) {
        if (only_new_topics && ctrl_ctx_topic(&c->ctx, names[i]))
            continue;
        char *p = xasprintf("%s/%s", parent, names[i]);
        issue(c, R_DATA, p, watch, tag, names[i], -1);
        free(p);
    }
    for (int i = 0; i < nch; i++)
        free(names[i]);
    free(names);
}

/* One step of the current event. Returns when reads are in flight (their replies kick
 * the queue again) or the event moved to its writes. */
static void step(bctl_t *c)
{
    ev_t *e = c->cur;
    int s = e->step++;
    switch (e->type) {
    case EV_FAILOVER:
        if (s == 0) {
            issue(c, R_CHILDREN, ZKPATHS_BROKER_IDS, true, T_IDS, NULL, -1);
            issue(c, R_CHILDREN, ZKPATHS_TOPICS, true, T_TOPICS, NULL, -1);
            issue(c, R_CHILDREN, ZKPATHS_DELETE_TOPICS, true, T_DELETES, NULL, -1);
            issue(c, R_CHILDREN, ZKPATHS_ISR_CHANGE, true, T_ISR_CHILDREN, NULL, -1);
            issue(c, R_EXISTS, ZKPATHS_REASSIGN, true, T_REASSIGN, NULL, -1);
            issue(c, R_EXISTS, ZKPATHS_PREFERRED, true, T_PREF, NULL, -1);
        } else if (s == 1) {
            issue_children_data(c, e, T_IDS, ZKPATHS_BROKER_IDS, T_REG, false, false);
            issue_children_data(c, e, T_TOPICS, ZKPATHS_TOPICS, T_TOPIC, true, false);
            issue_children_data(c, e, T_TOPICS, ZKPATHS_CONFIG_TOPICS, T_TCONFIG, false, false);
        } else if (s == 2) {
            read_states_of_topics(c, e);
        } else {
            ctrl_out_init(&c->out);
            c->have_out = true;
            apply_brokers(c, e, true);
            apply_topics(c, e, true);
            apply_states(c, e);
            ctrl_core_startup(&c->ctx, &c->out);
            item_t *it = find_item(e, T_DELETES);
            if (it && it->nchildren > 0)
                enqueue(c, EV_DELETE, NULL, -1, -1, 0);
            it = find_item(e, T_ISR_CHILDREN);
            if (it && it->nchildren > 0)
                enqueue(c, EV_ISR, NULL, -1, -1, 0);
            it = find_item(e, T_PREF);
            if (it && it->rc == ZOK)
                enqueue(c, EV_PREFERRED, NULL, -1, -1, 0);
            it = find_item(e, T_REASSIGN);
            if (it && it->rc == ZOK)
                enqueue(c, EV_REASSIGN, NULL, -1, -1, 0);
            LOG_I(CTL_LOG, "[Controller id=%" PRId32 "] Starting the controller: %zu topic(s), %zu live broker(s)",
                  my_id(c), hmap_count(&c->ctx.topics), c->ctx.live.n);
            execute(c);
            return;
        }
        break;
    case EV_BROKERS:
        if (s == 0) {
            issue(c, R_CHILDREN, ZKPATHS_BROKER_IDS, true, T_IDS, NULL, -1);
        } else if (s == 1) {
            issue_children_data(c, e, T_IDS, ZKPATHS_BROKER_IDS, T_REG, false, false);
        } else {
            ctrl_out_init(&c->out);
            c->have_out = true;
            if (find_item(e, T_IDS) && find_item(e, T_IDS)->rc == ZOK)
                apply_brokers(c, e, false);
            execute(c);
            return;
        }
        break;
    case EV_TOPICS:
        if (s == 0) {
            issue(c, R_CHILDREN, ZKPATHS_TOPICS, true, T_TOPICS, NULL, -1);
        } else if (s == 1) {
            issue_children_data(c, e, T_TOPICS, ZKPATHS_TOPICS, T_TOPIC, true, true);
            issue_children_data(c, e, T_TOPICS, ZKPATHS_CONFIG_TOPICS, T_TCONFIG, false, true);
        } else {
            ctrl_out_init(&c->out);
            c->have_out = true;
            apply_topics(c, e, false);
            execute(c);
            return;
        }
        break;
    case EV_TOPIC_CHANGED:
        if (s == 0) {
            char *p = zkpaths_topic(e->topic);
            issue(c, R_DATA, p, true, T_TOPIC, e->topic, -1);
            free(p);
        } else {
            ctrl_out_init(&c->out);
            c->have_out = true;
            item_t *it = find_item(e, T_TOPIC);
            if (it && it->rc == ZOK && ctrl_ctx_topic(&c->ctx, e->topic)) {
                zkpaths_topic_t t;
                if (zkpaths_topic_decode(it->data, it->len > 0 ? (size_t)it->len : 0, &t) == 0) {
                    int added = ctrl_core_partitions_added(&c->ctx, e->topic, &t, &c->out);
                    if (added > 0)
                        LOG_I(CTL_LOG, "[Controller id=%" PRId32 "] New partitions: %d added to topic %s", my_id(c),
                              added, e->topic);
                    zkpaths_topic_free(&t);
                }
            }
            execute(c);
            return;
        }
        break;
    case EV_DELETE:
        if (s == 0) {
            issue(c, R_CHILDREN, ZKPATHS_DELETE_TOPICS, true, T_DELETES, NULL, -1);
        } else {
            ctrl_out_init(&c->out);
            c->have_out = true;
            item_t *it = find_item(e, T_DELETES);
            if (it && it->rc == ZOK && it->nchildren > 0) {
                buf_t l;
                buf_init(&l);
                for (int i = 0; i < it->nchildren; i++)
                    buf_printf(&l, "%s%s", i ? "," : "", it->children[i]);
                LOG_I(CTL_LOG, "[Controller id=%" PRId32 "] Starting topic deletion for topics %s", my_id(c),
                      buf_cstr(&l));
                buf_free(&l);
                ctrl_core_delete_topics(&c->ctx, (const char *const *)it->children, (size_t)it->nchildren, &c->out);
            }
            execute(c);
            return;
        }
        break;
    case EV_STOP_DONE:
        ctrl_out_init(&c->out);
        c->have_out = true;
        ctrl_core_stop_replica_done(&c->ctx, e->broker, e->topic, e->partition, e->err, &c->out);
        if (!ctrl_ctx_topic(&c->ctx, e->topic))
            LOG_I(CTL_LOG, "[Controller id=%" PRId32 "] Deletion of topic %s successfully completed", my_id(c),
                  e->topic);
        execute(c);
        return;
    case EV_ISR:
        if (s == 0) {
            issue(c, R_CHILDREN, ZKPATHS_ISR_CHANGE, true, T_ISR_CHILDREN, NULL, -1);
        } else if (s == 1) {
            issue_children_data(c, e, T_ISR_CHILDREN, ZKPATHS_ISR_CHANGE, T_ISR_NOTE, false, false);
        } else if (s == 2) {
            size_t n = e->nitems;
            for (size_t i = 0; i < n; i++) {
                if (e->items[i].tag != T_ISR_NOTE || e->items[i].rc != ZOK)
                    continue;
                zkpaths_tplist_t l;
                if (zkpaths_tplist_decode(e->items[i].data, (size_t)e->items[i].len, false, &l))
                    continue;
                for (size_t k = 0; k < l.n; k++) {
                    if (!ctrl_ctx_part(&c->ctx, l.v[k].topic, l.v[k].partition))
                        continue;
                    char *p = zkpaths_partition_state(l.v[k].topic, l.v[k].partition);
                    issue(c, R_DATA, p, false, T_STATE, l.v[k].topic, l.v[k].partition);
                    free(p);
                }
                zkpaths_tplist_free(&l);
            }
        } else {
            ctrl_out_init(&c->out);
            c->have_out = true;
            apply_states(c, e);
            size_t ntp = 0;
            ctrl_tp_t *tps = xcalloc(e->nitems + 1, sizeof *tps);
            for (size_t i = 0; i < e->nitems; i++)
                if (e->items[i].tag == T_STATE && e->items[i].rc == ZOK)
                    tps[ntp++] = (ctrl_tp_t){e->items[i].name, e->items[i].part};
            if (ntp)
                ctrl_core_isr_changed(&c->ctx, tps, ntp, &c->out);
            free(tps);
            for (size_t i = 0; i < e->nitems; i++)
                if (e->items[i].tag == T_ISR_NOTE)
                    ctrl_out_add_write(&c->out, CTRL_ZOP_DELETE,
                                       xasprintf("%s/%s", ZKPATHS_ISR_CHANGE, e->items[i].name), NULL, -1, NULL, 0);
            execute(c);
            return;
        }
        break;
    case EV_PREFERRED:
        if (s == 0) {
            issue(c, R_EXISTS, ZKPATHS_PREFERRED, true, T_WATCH, NULL, -1);
            issue(c, R_DATA, ZKPATHS_PREFERRED, false, T_PREF, NULL, -1);
        } else {
            ctrl_out_init(&c->out);
            c->have_out = true;
            item_t *it = find_item(e, T_PREF);
            if (it && it->rc == ZOK) {
                zkpaths_tplist_t l;
                if (zkpaths_tplist_decode(it->data, it->len > 0 ? (size_t)it->len : 0, false, &l) == 0) {
                    ctrl_tp_t *tps = xcalloc(l.n + 1, sizeof *tps);
                    for (size_t k = 0; k < l.n; k++)
                        tps[k] = (ctrl_tp_t){l.v[k].topic, l.v[k].partition};
                    LOG_I(CTL_LOG, "[Controller id=%" PRId32 "] preferred replica election for %zu partition(s)",
                          my_id(c), l.n);
                    if (l.n > 0)
                        ctrl_core_preferred_election(&c->ctx, tps, l.n, &c->out);
                    free(tps);
                    zkpaths_tplist_free(&l);
                } else {
                    LOG_W(CTL_LOG, "[Controller id=%" PRId32 "] %s is not valid JSON; removed", my_id(c),
                          ZKPATHS_PREFERRED);
                }
                ctrl_out_add_write(&c->out, CTRL_ZOP_DELETE, xstrdup(ZKPATHS_PREFERRED), NULL, -1, NULL, 0);
            }
            execute(c);
            return;
        }
        break;
    case EV_REASSIGN:
        if (s == 0) {
            issue(c, R_EXISTS, ZKPATHS_REASSIGN, true, T_REASSIGN, NULL, -1);
        } else {
            item_t *it = find_item(e, T_REASSIGN);
            if (it && it->rc == ZOK)
                LOG_W(CTL_LOG, "[Controller id=%" PRId32 "] %s exists: partition reassignment is not supported "
                      "by this controller; it is left in place", my_id(c), ZKPATHS_REASSIGN);
            finish_event(c);
            return;
        }
        break;
    case EV_SHUTDOWN: {
        ctrl_out_init(&c->out);
        c->have_out = true;
        LOG_I(CTL_LOG, "[Controller id=%" PRId32 "] Shutting down broker %" PRId32, my_id(c), e->broker);
        int left = ctrl_core_controlled_shutdown(&c->ctx, e->broker, &c->out);
        if (left < 0) {
            shutdown_respond(e, KERR_BROKER_NOT_AVAILABLE);
        } else {
            size_t nt;
            const char **names = ctrl_ctx_topic_names(&c->ctx, &nt);
            for (size_t i = 0; i < nt; i++) {
                const ctrl_topic_t *t = ctrl_ctx_topic(&c->ctx, names[i]);
                for (size_t k = 0; k < t->n_parts; k++) {
                    const ctrl_part_t *p = &t->parts[k];
                    if (!p->has_lai || p->lai.leader != e->broker)
                        continue;
                    e->rem_topics = xrealloc(e->rem_topics, (e->nrem + 1) * sizeof *e->rem_topics);
                    e->rem_parts = xrealloc(e->rem_parts, (e->nrem + 1) * sizeof *e->rem_parts);
                    e->rem_topics[e->nrem] = xstrdup(t->name);
                    e->rem_parts[e->nrem] = p->partition;
                    e->nrem++;
                }
            }
            free(names);
            LOG_I(CTL_LOG, "[Controller id=%" PRId32 "] broker %" PRId32 " still leads %zu partition(s)", my_id(c),
                  e->broker, e->nrem);
        }
        execute(c);
        return;
    }
    case EV_REREAD_STATE:
        if (s == 0) {
            char *p = zkpaths_partition_state(e->topic, e->partition);
            issue(c, R_DATA, p, false, T_STATE, e->topic, e->partition);
            free(p);
        } else {
            ctrl_out_init(&c->out);
            c->have_out = true;
            apply_states(c, e);
            ctrl_tp_t tp = {e->topic, e->partition};
            if (ctrl_ctx_part(&c->ctx, e->topic, e->partition))
                ctrl_psm_handle(&c->ctx, &tp, 1, CTRL_P_ONLINE, CTRL_ELECT_OFFLINE, &c->out);
            execute(c);
            return;
        }
        break;
    }
    if (c->pending == 0)
        kick(c);
}

static void kick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    bctl_t *c = ctl_lookup((uint64_t)(uintptr_t)arg);
    if (!c || !c->active)
        return;
    if (c->cur) {
        if (c->pending != 0 || c->cur->step >= 100 || c->cur_waiting)
            return;
        for (size_t i = 0; i < c->cur->nitems; i++) {
            int rc = c->cur->items[i].rc;
            if (rc == ZCONNECTIONLOSS || rc == ZOPERATIONTIMEOUT || rc == ZSESSIONEXPIRED) {
                /* a read failed (connection loss): its answer is unknown, so the event
                 * starts over rather than act on a partial view */
                for (size_t k = 0; k < c->cur->nitems; k++)
                    item_free(&c->cur->items[k]);
                c->cur->nitems = 0;
                c->cur->step = 0;
                wait_again(c);
                return;
            }
        }
        step(c);
        return;
    }
    if (!c->qhead)
        return;
    c->cur = c->qhead;
    c->qhead = c->cur->next;
    if (!c->qhead)
        c->qtail = NULL;
    c->cur->next = NULL;
    LOG_D(CTL_LOG, "[Controller id=%" PRId32 "] processing %s%s%s", my_id(c), ev_names[c->cur->type],
          c->cur->topic ? " " : "", c->cur->topic ? c->cur->topic : "");
    step(c);
}

/* ---- watches ---- */

static void ctl_watch(zkc_t *zk, const zkc_event_t *ev, void *ctx)
{
    bctl_t *c = ctl_lookup((uint64_t)(uintptr_t)ctx);
    if (!c || zk != c->b->zk || !ev->path)
        return;
    const char *p = ev->path;
    if (strcmp(p, ZKPATHS_CONTROLLER) == 0) {
        if (ev->type == ZK_EVENT_DELETED && c->active)
            resign(c, "/controller was deleted");
        elect(c);
        return;
    }
    if (!c->active)
        return;
    if (strcmp(p, ZKPATHS_BROKER_IDS) == 0)
        enqueue(c, EV_BROKERS, NULL, -1, -1, 0);
    else if (strcmp(p, ZKPATHS_TOPICS) == 0)
        enqueue(c, EV_TOPICS, NULL, -1, -1, 0);
    else if (strcmp(p, ZKPATHS_DELETE_TOPICS) == 0)
        enqueue(c, EV_DELETE, NULL, -1, -1, 0);
    else if (strcmp(p, ZKPATHS_ISR_CHANGE) == 0)
        enqueue(c, EV_ISR, NULL, -1, -1, 0);
    else if (strcmp(p, ZKPATHS_PREFERRED) == 0)
        enqueue(c, EV_PREFERRED, NULL, -1, -1, 0);
    else if (strcmp(p, ZKPATHS_REASSIGN) == 0)
        enqueue(c, EV_REASSIGN, NULL, -1, -1, 0);
    else if (strncmp(p, ZKPATHS_TOPICS "/", strlen(ZKPATHS_TOPICS) + 1) == 0 &&
             !strchr(p + strlen(ZKPATHS_TOPICS) + 1, '/') && ev->type != ZK_EVENT_DELETED)
        enqueue(c, EV_TOPIC_CHANGED, p + strlen(ZKPATHS_TOPICS) + 1, -1, -1, 0);
}

/* ---- ControlledShutdown (Kafka's KafkaApis.handleControlledShutdownRequest) ---- */

static void controlled_shutdown_handler(bsrv_ctx_t *rctx, const kp_request_t *req, void *arg)
{
    bctl_t *c = arg;
    const kp_ControlledShutdownRequest *r = req->body;
    ev_t tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.req = rctx;
    if (!c->active) {
        shutdown_respond(&tmp, KERR_NOT_CONTROLLER);
        return;
    }
    int64_t known = ctrl_ctx_broker_epoch(&c->ctx, r->BrokerId);
    if (req->hdr.api_version >= 2 && r->BrokerEpoch != -1 && known >= 0 && r->BrokerEpoch < known) {
        shutdown_respond(&tmp, KERR_STALE_BROKER_EPOCH);
        return;
    }
    ev_t *e = xcalloc(1, sizeof *e);
    e->type = EV_SHUTDOWN;
    e->broker = r->BrokerId;
    e->req = rctx;
    if (c->qtail)
        c->qtail->next = e;
    else
        c->qhead = e;
    c->qtail = e;
    kick(c);
}

/* ---- module ---- */

bctl_t *bctl_new(broker_t *b)
{
    bctl_t *c = xcalloc(1, sizeof *c);
    c->b = b;
    c->serial = next_serial++;
    c->next_live = live_list;
    live_list = c;
    hmap_init(&c->regs);
    hmap_init(&c->conns);
    c->kick_ev = event_new(b->base, -1, 0, kick_cb, ctl_handle(c));
    c->retry_ev = evtimer_new(b->base, retry_cb, ctl_handle(c));
    c->again_ev = evtimer_new(b->base, again_cb, ctl_handle(c));
    if (b->srv)
        bsrv_set_handler(b->srv, KP_CONTROLLED_SHUTDOWN, controlled_shutdown_handler, c);
    elect(c);
    return c;
}

void bctl_free(bctl_t *c)
{
    if (!c)
        return;
    for (bctl_t **pp = &live_list; *pp; pp = &(*pp)->next_live)
        if (*pp == c) {
            *pp = c->next_live;
            break;
        }
    c->active = false;
    clear_queue(c);
    if (c->have_ctx)
        ctrl_ctx_fini(&c->ctx);
    hmap_fini(&c->conns, free_conn);
    hmap_fini(&c->regs, free_reg);
    event_free(c->kick_ev);
    event_free(c->retry_ev);
    event_free(c->again_ev);
    free(c);
}

void bctl_session_renewed(bctl_t *c)
{
    if (!c)
        return;
    resign(c, "coordinator session expired");
    c->term++;
    c->creating = false;
    elect(c);
}

bool bctl_is_active(const bctl_t *c)
{
    return c && c->active;
}

int32_t bctl_epoch(const bctl_t *c)
{
    return c && c->active && c->have_ctx ? c->ctx.epoch : -1;
}
