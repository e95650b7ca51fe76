/* meta.c — the broker's metadata cache (Kafka's MetadataCache) and the UpdateMetadata and
 * Metadata handlers (see meta.h).
 *
 * The cache holds what the last UpdateMetadata requests said: the live brokers (replaced
 * wholesale by each request, as Kafka does) and per partition the leader, leader epoch, ISR,
 * replicas and offline replicas (merged: a request updates the partitions it names; leader -2,
 * Kafka's LeaderDuringDelete, removes one). Metadata requests are answered from it. */
#include "broker/meta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/admin.h"
#include "broker/zkpaths.h"
#include "common/alloc.h"
#include "common/hmap.h"
#include "common/log.h"
#include "proto/kafka_api.h"
#include "proto/kafka_err.h"

#define LEADER_DURING_DELETE (-2)
/* Partition indexes are array slots here: a bound keeps a hostile request from allocating much. */
#define BMETA_MAX_PARTITIONS 65536

typedef struct mep_s {
    char *listener;
    char *host;
    int32_t port;
} mep_t;

typedef struct mbroker_s {
    int32_t id;
    mep_t *eps;
    size_t neps;
    char *rack;                  /* NULL = none */
} mbroker_t;

typedef struct ilist_s {
    int32_t *v;
    int32_t n;
} ilist_t;

typedef struct mpart_s {
    bool present;
    int32_t leader, leader_epoch, controller_epoch, zk_version;
    ilist_t replicas, isr, offline;
} mpart_t;

typedef struct mtopic_s {
    char *name;
    mpart_t *parts;              /* indexed by partition */
    int32_t cap;                 /* entries in parts */
    int32_t count;               /* present ones */
} mtopic_t;

struct bmeta_s {
    broker_t *b;
    mbroker_t *brokers;
    size_t nbrokers;
    bool have_update;            /* an UpdateMetadata arrived */
    int32_t controller_id;
    int32_t controller_epoch;
    hmap_t topics;               /* name -> mtopic_t */
};

/* ---- cache maintenance ---- */

static void ilist_set(ilist_t *l, const int32_t *v, int32_t n)
{
    free(l->v);
    l->v = NULL;
    l->n = n > 0 ? n : 0;
    if (l->n)
        l->v = xmemdup(v, (size_t)l->n * sizeof *v);
}

static void brokers_clear(bmeta_t *m)
{
    for (size_t i = 0; i < m->nbrokers; i++) {
        mbroker_t *br = &m->brokers[i];
        for (size_t j = 0; j < br->neps; j++) {
            free(br->eps[j].listener);
            free(br->eps[j].host);
        }
        free(br->eps);
        free(br->rack);
    }
    free(m->brokers);
    m->brokers = NULL;
    m->nbrokers = 0;
}

static void part_clear(mpart_t *p)
{
    free(p->replicas.v);
    free(p->isr.v);
    free(p->offline.v);
    memset(p, 0, sizeof *p);
}

static void topic_free(void *v)
{
    mtopic_t *t = v;
    for (int32_t i = 0; i < t->cap; i++)
        part_clear(&t->parts[i]);
    free(t->parts);
    free(t->name);
    free(t);
}

static char *slice_dup(kp_str_t s)
{
    return xstrndup(s.len > 0 ? (const char *)s.p : "", s.len > 0 ? (size_t)s.len : 0);
}

static const char *proto_name(int16_t p)
{
    switch (p) {
    case 0: return "PLAINTEXT";
    case 1: return "SSL";
    case 2: return "SASL_PLAINTEXT";
    case 3: return "SASL_SSL";
    default: return "UNKNOWN";
    }
}

static const mbroker_t *broker_find(const bmeta_t *m, int32_t id)
{
    for (size_t i = 0; i < m->nbrokers; i++)
        if (m->brokers[i].id == id)
            return &m->brokers[i];
    return NULL;
}

static const mep_t *broker_ep(const mbroker_t *br, const char *listener)
{
    for (size_t j = 0; j < br->neps; j++)
        if (strcmp(br->eps[j].listener, listener) == 0)
            return &br->eps[j];
    return NULL;
}

static void apply_partition(bmeta_t *m, kp_str_t topic, const kp_UpdateMetadataPartitionState *ps)
{
    if (topic.len <= 0 || ps->PartitionIndex < 0 || ps->PartitionIndex >= BMETA_MAX_PARTITIONS) {
        LOG_W("meta", "UpdateMetadata: partition %d of %.*s ignored", ps->PartitionIndex, KP_STR_ARGS(topic));
        return;
    }
    char *name = slice_dup(topic);
    mtopic_t *t = hmap_gets(&m->topics, name);
    if (ps->Leader == LEADER_DURING_DELETE) {
        if (t && ps->PartitionIndex < t->cap && t->parts[ps->PartitionIndex].present) {
            part_clear(&t->parts[ps->PartitionIndex]);
            if (--t->count == 0) {
                hmap_dels(&m->topics, name);
                topic_free(t);
            }
        }
        free(name);
        return;
    }
    if (!t) {
        t = xcalloc(1, sizeof *t);
        t->name = name;
        hmap_puts(&m->topics, name, t);
    } else {
        free(name);
    }
    if (ps->PartitionIndex >= t->cap) {
        int32_t ncap = ps->PartitionIndex + 1;
        t->parts = xrealloc(t->parts, (size_t)ncap * sizeof *t->parts);
        memset(t->parts + t->cap, 0, (size_t)(ncap - t->cap) * sizeof *t->parts);
        t->cap = ncap;
    }
    mpart_t *p = &t->parts[ps->PartitionIndex];
    if (!p->present)
        t->count++;
    p->present = true;
    p->leader = ps->Leader;
    p->leader_epoch = ps->LeaderEpoch;
    p->controller_epoch = ps->ControllerEpoch;
    p->zk_version = ps->ZkVersion;
    ilist_set(&p->replicas, ps->Replicas.v, ps->Replicas.n);
    ilist_set(&p->isr, ps->Isr.v, ps->Isr.n);
    ilist_set(&p->offline, ps->OfflineReplicas.v, ps->OfflineReplicas.n);
}

int bmeta_update(bmeta_t *m, const kp_UpdateMetadataRequest *req, int version)
{
    if (req->ControllerEpoch < m->controller_epoch) {
        LOG_W("meta", "UpdateMetadata from controller %d with stale epoch %d (current %d) ignored",
              req->ControllerId, req->ControllerEpoch, m->controller_epoch);
        return KERR_STALE_CONTROLLER_EPOCH;
    }
    m->controller_epoch = req->ControllerEpoch;
    m->controller_id = req->ControllerId;
    m->have_update = true;

    brokers_clear(m);
    int32_t nb = req->LiveBrokers.n > 0 ? req->LiveBrokers.n : 0;
    m->brokers = xcalloc(nb ? (size_t)nb : 1, sizeof *m->brokers);
    for (int32_t i = 0; i < nb; i++) {
        const kp_UpdateMetadataRequest_UpdateMetadataBroker *src = &req->LiveBrokers.v[i];
        mbroker_t *br = &m->brokers[m->nbrokers++];
        br->id = src->Id;
        br->rack = version >= 2 && src->Rack.len >= 0 ? slice_dup(src->Rack) : NULL;
        if (version == 0) {
            br->eps = xcalloc(1, sizeof *br->eps);
            br->neps = 1;
            br->eps[0].listener = xstrdup("PLAINTEXT");
            br->eps[0].host = slice_dup(src->V0Host);
            br->eps[0].port = src->V0Port;
            continue;
        }
        int32_t ne = src->Endpoints.n > 0 ? src->Endpoints.n : 0;
        br->eps = xcalloc(ne ? (size_t)ne : 1, sizeof *br->eps);
        for (int32_t j = 0; j < ne; j++) {
            const kp_UpdateMetadataRequest_UpdateMetadataEndpoint *e = &src->Endpoints.v[j];
            mep_t *d = &br->eps[br->neps++];
            d->listener = version >= 3 ? slice_dup(e->Listener) : xstrdup(proto_name(e->SecurityProtocol));
            d->host = slice_dup(e->Host);
            d->port = e->Port;
        }
    }

    if (version <= 4) {
        for (int32_t i = 0; i < req->UngroupedPartitionStates.n; i++)
            apply_partition(m, req->UngroupedPartitionStates.v[i].TopicName, &req->UngroupedPartitionStates.v[i]);
    } else {
        for (int32_t i = 0; i < req->TopicStates.n; i++) {
            const kp_UpdateMetadataRequest_UpdateMetadataTopicState *ts = &req->TopicStates.v[i];
            for (int32_t j = 0; j < ts->PartitionStates.n; j++)
                apply_partition(m, ts->TopicName, &ts->PartitionStates.v[j]);
        }
    }
    return KERR_NONE;
}

/* ---- lookups ---- */

static const mpart_t *part_find(const bmeta_t *m, const char *topic, int32_t partition)
{
    const mtopic_t *t = hmap_gets(&m->topics, topic);
    if (!t || partition < 0 || partition >= t->cap || !t->parts[partition].present)
        return NULL;
    return &t->parts[partition];
}

int bmeta_leader(const bmeta_t *m, const char *topic, int32_t partition, int32_t *leader, int32_t *leader_epoch)
{
    const mpart_t *p = part_find(m, topic, partition);
    if (!p)
        return -KERR_UNKNOWN_TOPIC_OR_PARTITION;
    if (leader)
        *leader = p->leader >= 0 && broker_find(m, p->leader) ? p->leader : -1;
    if (leader_epoch)
        *leader_epoch = p->leader_epoch;
    return 0;
}

int32_t bmeta_partition_count(const bmeta_t *m, const char *topic)
{
    const mtopic_t *t = hmap_gets(&m->topics, topic);
    return t ? t->count : -1;
}

bool bmeta_contains(const bmeta_t *m, const char *topic, int32_t partition)
{
    return part_find(m, topic, partition) != NULL;
}

int bmeta_endpoint(const bmeta_t *m, int32_t broker, const char *listener, const char **host, int32_t *port)
{
    if (!listener)
        listener = m->b->listener_name;
    const mbroker_t *br = broker_find(m, broker);
    const mep_t *e = br && listener ? broker_ep(br, listener) : NULL;
    if (!e) {
        /* Before the first UpdateMetadata this broker knows itself. */
        if (!m->have_update && broker == m->b->id && listener) {
            const bcfg_listener_t *a = bcfg_advertised(m->b->cfg, listener);
            if (a) {
                *host = a->host;
                *port = a->port;
                return 0;
            }
        }
        return -1;
    }
    *host = e->host;
    *port = e->port;
    return 0;
}

int32_t bmeta_controller_id(const bmeta_t *m)
{
    return m->have_update ? m->controller_id : -1;
}

/* ---- handlers ---- */

static void on_update_metadata(bsrv_ctx_t *ctx, const kp_request_t *req, void *arg)
{
    bmeta_t *m = arg;
    kp_UpdateMetadataResponse resp = {0};
    resp.ErrorCode = (int16_t)bmeta_update(m, req->body, req->hdr.api_version);
    bsrv_respond(ctx, &resp);
}

static void auto_create_done(void *arg, int16_t error, const char *message)
{
    char *topic = arg;
    if (error && error != KERR_TOPIC_ALREADY_EXISTS)
        LOG_W("meta", "auto-creation of topic %s failed: %s%s%s", topic, kp_err_name(error),
              message ? ": " : "", message ? message : "");
    free(topic);
}

/* Kafka's createTopic / createInternalTopic for a Metadata request. */
static void auto_create(bmeta_t *m, const char *name, int version, bsrv_ctx_t *ctx)
{
    const bcfg_t *c = m->b->cfg;
    LOG_I("meta", "auto-creating topic %s (Metadata v%d from %s)", name, version, bsrv_ctx_peer(ctx));
    if (strcmp(name, "__consumer_offsets") == 0) {
        char seg[32];
        snprintf(seg, sizeof seg, "%d", c->offsets_topic_segment_bytes);
        const char *kv[] = {"cleanup.policy", "compact", "segment.bytes", seg, "compression.type", "producer"};
        badm_create_topic(m->b->admin, name, c->offsets_topic_num_partitions,
                          (int16_t)c->offsets_topic_replication_factor, kv, 3, auto_create_done, xstrdup(name));
        return;
    }
    badm_create_topic(m->b->admin, name, -1, -1, NULL, 0, auto_create_done, xstrdup(name));
}

static int32_t *ilist_arena(arena_t *a, const ilist_t *l, const bmeta_t *m, bool filter, int32_t *n)
{
    int32_t *v = arena_alloc(a, (size_t)(l->n ? l->n : 1) * sizeof *v);
    int32_t k = 0;
    for (int32_t i = 0; i < l->n; i++)
        if (!filter || broker_find(m, l->v[i]))
            v[k++] = l->v[i];
    *n = k;
    return v;
}

static void fill_topic(const bmeta_t *m, arena_t *a, int version, const mtopic_t *t,
                       kp_MetadataResponse_MetadataResponseTopic *out)
{
    out->ErrorCode = KERR_NONE;
    out->Name = kp_str(arena_strndup(a, t->name, strlen(t->name)));
    out->IsInternal = strcmp(t->name, "__consumer_offsets") == 0;
    out->Partitions.n = t->count;
    out->Partitions.v = kp_new_array(a, &kp_MetadataResponse_MetadataResponsePartition_schema, t->count);
    int32_t k = 0;
    bool filter = version == 0;   /* Kafka: errorUnavailableEndpoints for v0 */
    for (int32_t i = 0; i < t->cap; i++) {
        const mpart_t *p = &t->parts[i];
        if (!p->present)
            continue;
        kp_MetadataResponse_MetadataResponsePartition *o = &out->Partitions.v[k++];
        o->PartitionIndex = i;
        o->LeaderEpoch = p->leader_epoch;
        o->ReplicaNodes.v = ilist_arena(a, &p->replicas, m, filter, &o->ReplicaNodes.n);
        o->IsrNodes.v = ilist_arena(a, &p->isr, m, filter, &o->IsrNodes.n);
        o->OfflineReplicas.v = ilist_arena(a, &p->offline, m, false, &o->OfflineReplicas.n);
        if (p->leader < 0 || !broker_find(m, p->leader)) {
            o->ErrorCode = KERR_LEADER_NOT_AVAILABLE;
            o->LeaderId = -1;
        } else {
            o->LeaderId = p->leader;
            if (filter && (o->ReplicaNodes.n < p->replicas.n || o->IsrNodes.n < p->isr.n))
                o->ErrorCode = KERR_REPLICA_NOT_AVAILABLE;
        }
    }
}

static int topic_cmp(const void *x, const void *y)
{
    return strcmp((*(const mtopic_t *const *)x)->name, (*(const mtopic_t *const *)y)->name);
}

static void on_metadata(bsrv_ctx_t *ctx, const kp_request_t *req, void *arg)
{
    bmeta_t *m = arg;
    broker_t *b = m->b;
    const kp_MetadataRequest *q = req->body;
    int version = req->hdr.api_version;
    arena_t *a = bsrv_ctx_arena(ctx);
    kp_MetadataResponse *r = kp_new(a, &kp_MetadataResponse_schema);

    /* brokers: the endpoints of the listener the request came in on */
    int li = bsrv_ctx_listener(ctx);
    const char *lname = li >= 0 && (size_t)li < b->cfg->nlisteners ? b->cfg->listeners[li].name : b->listener_name;
    size_t nb = m->have_update ? m->nbrokers : 1;
    r->Brokers.v = kp_new_array(a, &kp_MetadataResponse_MetadataResponseBroker_schema, (int32_t)nb);
    r->Brokers.n = 0;
    if (m->have_update) {
        for (size_t i = 0; i < m->nbrokers; i++) {
            const mep_t *e = lname ? broker_ep(&m->brokers[i], lname) : NULL;
            if (!e)
                continue;
            kp_MetadataResponse_MetadataResponseBroker *o = &r->Brokers.v[r->Brokers.n++];
            o->NodeId = m->brokers[i].id;
            o->Host = kp_str(arena_strndup(a, e->host, strlen(e->host)));
            o->Port = e->port;
            o->Rack = m->brokers[i].rack ? kp_str(arena_strndup(a, m->brokers[i].rack, strlen(m->brokers[i].rack)))
                                         : KP_STR_NULL;
        }
    } else {
        const char *host;
        int32_t port;
        if (lname && bmeta_endpoint(m, b->id, lname, &host, &port) == 0) {
            kp_MetadataResponse_MetadataResponseBroker *o = &r->Brokers.v[r->Brokers.n++];
            o->NodeId = b->id;
            o->Host = kp_str(arena_strndup(a, host, strlen(host)));
            o->Port = port;
            o->Rack = b->cfg->broker_rack ? kp_str(b->cfg->broker_rack) : KP_STR_NULL;
        }
    }
    r->ClusterId = b->cluster_id ? kp_str(arena_strndup(a, b->cluster_id, strlen(b->cluster_id))) : KP_STR_NULL;
    r->ControllerId = bmeta_controller_id(m);

    bool all = q->Topics.n < 0 || (version == 0 && q->Topics.n == 0);
    if (all) {
        int32_t n = (int32_t)hmap_count(&m->topics);
        r->Topics.v = kp_new_array(a, &kp_MetadataResponse_MetadataResponseTopic_schema, n);
        r->Topics.n = 0;
        hmap_iter_t it;
        hmap_iter_init(&m->topics, &it);
        const void *k;
        size_t kl;
        void *v;
        const mtopic_t **sorted = arena_alloc(a, (size_t)(n ? n : 1) * sizeof *sorted);
        int32_t ns = 0;
        while (hmap_iter_next(&m->topics, &it, &k, &kl, &v))
            sorted[ns++] = v;
        qsort(sorted, (size_t)ns, sizeof *sorted, topic_cmp);
        for (int32_t i = 0; i < ns; i++)
            fill_topic(m, a, version, sorted[i], &r->Topics.v[r->Topics.n++]);
    } else {
        r->Topics.n = q->Topics.n;
        r->Topics.v = kp_new_array(a, &kp_MetadataResponse_MetadataResponseTopic_schema, q->Topics.n);
        bool may_create = b->cfg->auto_create_topics_enable && (version < 4 || q->AllowAutoTopicCreation);
        for (int32_t i = 0; i < q->Topics.n; i++) {
            kp_MetadataResponse_MetadataResponseTopic *o = &r->Topics.v[i];
            char *name = kp_str_dup(a, q->Topics.v[i].Name);
            o->Name = q->Topics.v[i].Name;
            if (!name) {
                o->Name = kp_str("");
                o->ErrorCode = KERR_INVALID_TOPIC_EXCEPTION;
                continue;
            }
            if (strlen(name) != (size_t)q->Topics.v[i].Name.len) {   /* a NUL inside: never a topic */
                o->ErrorCode = KERR_INVALID_TOPIC_EXCEPTION;
                continue;
            }
            const mtopic_t *t = hmap_gets(&m->topics, name);
            if (t) {
                fill_topic(m, a, version, t, o);
            } else if (!zkpaths_topic_valid(name)) {
                o->ErrorCode = KERR_INVALID_TOPIC_EXCEPTION;
            } else if (may_create && b->admin) {
                o->ErrorCode = KERR_LEADER_NOT_AVAILABLE;
                o->IsInternal = strcmp(name, "__consumer_offsets") == 0;
                bool dup = false;   /* the same name twice in one request: create once */
                for (int32_t j = 0; j < i && !dup; j++)
                    dup = q->Topics.v[j].Name.len == q->Topics.v[i].Name.len &&
                          memcmp(q->Topics.v[j].Name.p, q->Topics.v[i].Name.p, (size_t)q->Topics.v[i].Name.len) == 0;
                if (!dup)
                    auto_create(m, name, version, ctx);
            } else {
                o->ErrorCode = KERR_UNKNOWN_TOPIC_OR_PARTITION;
            }
        }
    }
    bsrv_respond(ctx, r);
}

/* ---- life cycle ---- */

bmeta_t *bmeta_new(broker_t *b)
{
    bmeta_t *m = xcalloc(1, sizeof *m);
    m->b = b;
    m->controller_id = -1;
    m->controller_epoch = 0;
    hmap_init(&m->topics);
    if (b->srv) {
        bsrv_set_handler(b->srv, KP_UPDATE_METADATA, on_update_metadata, m);
        bsrv_set_handler(b->srv, KP_METADATA, on_metadata, m);
    }
    return m;
}

void bmeta_free(bmeta_t *m)
{
    if (!m)
        return;
    if (m->b->srv) {
        bsrv_set_handler(m->b->srv, KP_UPDATE_METADATA, NULL, NULL);
        bsrv_set_handler(m->b->srv, KP_METADATA, NULL, NULL);
    }
    brokers_clear(m);
    hmap_fini(&m->topics, topic_free);
    free(m);
}
