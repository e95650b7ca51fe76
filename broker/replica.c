/* replica.c — the partitions this broker hosts (Kafka's ReplicaManager + Partition), see
 * replica.h.
 *
 * A partition (rpart_t) exists from the first LeaderAndIsr that names this broker among its
 * replicas until a StopReplica. As leader it keeps Kafka's replication model even while the
 * cluster has one broker: the LEO of every replica (followers report theirs in their Fetch
 * offsets), and HW = min LEO over the ISR, raised after appends and follower fetches. As
 * follower it only keeps the state (replication fetchers come with the next issue).
 *
 * Waiting operations (style anchor 11, Kafka's purgatory): a long-poll Fetch that has fewer
 * than min_bytes parks until an append to one of its partitions or its max_wait_ms; an
 * acks=-1 Produce (and brep_append_internal) parks until the HW passes its last offset or its
 * timeout. Wake-ups are deferred to the event loop (event_active), so nothing completes
 * inside another operation's call stack; each op completes exactly once.
 *
 * Topic configuration: /config/topics/T read asynchronously through b->zk when a partition
 * becomes leader or follower and on brep_topic_config_changed, merged over the broker's
 * log.* defaults. */
#include "broker/replica.h"

#include <stdlib.h>
#include <string.h>

#include "broker/meta.h"
#include "broker/rep_isr.h"
#include "broker/rep_pstate.h"
#include "broker/zkpaths.h"
#include "common/alloc.h"
#include "common/buf.h"
#include "common/hmap.h"
#include "common/log.h"
#include "proto/kafka_api.h"
#include "proto/kafka_err.h"
#include "proto/kafka_records.h"

#define MAX_LISTENERS 8
#define INTERNAL_TIMEOUT_MS 5000

/* ---- topic configuration ---- */

typedef struct rtcfg_s {
    plog_config_t log;
    int ts_type;                 /* message.timestamp.type */
    int codec;                   /* compression.type; -1 = producer */
    int32_t min_isr;             /* min.insync.replicas */
} rtcfg_t;

typedef struct rpart_s {
    char *topic;
    int32_t partition;
    bool leader;
    int32_t leader_id, leader_epoch, controller_epoch, zk_version;
    risr_t rs;                   /* replicas, ISR, followers' LEOs (rep_isr.h) */
    plog_t *log;                 /* owned by the log manager */
    rps_t *pst;                  /* idempotent producers (built from the log when leading) */
    bool pst_built;
    bool isr_updating;           /* a write of the state znode is in flight */
    rtcfg_t cfg;
} rpart_t;

typedef struct listener_s {
    brep_leader_fn fn;
    void *arg;
} listener_t;

typedef struct dfetch_s dfetch_t;
typedef struct dprod_s dprod_t;
typedef struct zread_s zread_t;
typedef struct isr_op_s isr_op_t;

struct brep_s {
    broker_t *b;
    hmap_t parts;                /* pkey -> rpart_t */
    hmap_t topics;               /* topic -> rtcfg_t (last read) */
    listener_t listeners[MAX_LISTENERS];
    int nlisteners;
    int32_t controller_epoch;
    dfetch_t *fetches;           /* parked Fetch requests */
    dprod_t *prods;              /* parked acks=-1 produces and internal appends */
    zread_t *zreads;             /* config reads in flight */
    isr_op_t *isr_ops;           /* ISR writes in flight */
    hmap_t isr_changed;          /* pkey -> topic name: ISR changes not yet announced */
    int64_t last_isr_change_ms, last_isr_propagation_ms;
    struct event *isr_ev;        /* ISR expiration check (replica.lag.time.max.ms / 2) */
    struct event *prop_ev;       /* /isr_change_notification propagation (2.5 s) */
    bool fetchers_logged;
};

/* ---- partition keys and lookup ---- */

typedef struct pkey_s {
    char b[4 + 256];
    size_t len;
} pkey_t;

static bool pkey_make(pkey_t *k, const char *topic, size_t tlen, int32_t partition)
{
    if (tlen > 255)
        return false;
    be32_put((uint8_t *)k->b, (uint32_t)partition);
    memcpy(k->b + 4, topic, tlen);
    k->len = 4 + tlen;
    return true;
}

static rpart_t *part_get(const brep_t *r, const char *topic, int32_t partition)
{
    pkey_t k;
    if (!pkey_make(&k, topic, strlen(topic), partition))
        return NULL;
    return hmap_get(&r->parts, k.b, k.len);
}

static rpart_t *part_get_s(const brep_t *r, kp_str_t topic, int32_t partition)
{
    pkey_t k;
    if (topic.len < 0 || !pkey_make(&k, (const char *)topic.p, (size_t)topic.len, partition))
        return NULL;
    return hmap_get(&r->parts, k.b, k.len);
}

static void part_free(void *v)
{
    rpart_t *p = v;
    free(p->topic);
    risr_fini(&p->rs);
    rps_free(p->pst);
    free(p);
}

/* The error for a partition this broker cannot serve as leader (Kafka's
 * getPartitionOrException). */
static int16_t not_here(const brep_t *r, const char *topic, int32_t partition)
{
    if (r->b->meta && bmeta_contains(r->b->meta, topic, partition))
        return KERR_NOT_LEADER_FOR_PARTITION;
    rpart_t *p = part_get(r, topic, partition);
    return p ? KERR_NOT_LEADER_FOR_PARTITION : KERR_UNKNOWN_TOPIC_OR_PARTITION;
}

/* The leader partition for (topic, partition), or NULL with *err set. */
static rpart_t *leader_part(const brep_t *r, arena_t *a, kp_str_t topic, int32_t partition, int16_t *err)
{
    rpart_t *p = part_get_s(r, topic, partition);
    if (p && p->leader && p->log) {
        *err = KERR_NONE;
        return p;
    }
    char *t = kp_str_dup(a, topic);
    *err = t ? not_here(r, t, partition) : KERR_UNKNOWN_TOPIC_OR_PARTITION;
    return NULL;
}

/* ---- configuration ---- */

static int codec_of(const char *s)
{
    if (!s || strcmp(s, "producer") == 0)
        return -1;
    if (strcmp(s, "uncompressed") == 0 || strcmp(s, "none") == 0)
        return 0;
    if (strcmp(s, "gzip") == 0)
        return 1;
    if (strcmp(s, "snappy") == 0)
        return 2;
    if (strcmp(s, "lz4") == 0)
        return 3;
    if (strcmp(s, "zstd") == 0)
        return 4;
    return -1;
}

static bool num(const char *s, int64_t *out)
{
    if (!s || !*s)
        return false;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*end)
        return false;
    *out = v;
    return true;
}



/* Broker defaults, then the topic's overrides (Kafka's topic config names). */
static void brep_config_merge(const bcfg_t *bc, const zkpaths_config_t *tc, rtcfg_t *out)
{
    memset(out, 0, sizeof *out);
    if (bc) {
        bcfg_plog_config(bc, &out->log);
        out->ts_type = bc->log_message_timestamp_type && strcmp(bc->log_message_timestamp_type, "LogAppendTime") == 0
                           ? KREC_TS_LOG_APPEND
                           : KREC_TS_CREATE;
        out->codec = codec_of(bc->compression_type);
        out->min_isr = bc->min_insync_replicas;
    } else {
        plog_config_default(&out->log);
        out->ts_type = KREC_TS_CREATE;
        out->codec = -1;
        out->min_isr = 1;
    }
    if (!tc)
        return;
    for (size_t i = 0; i < tc->n; i++) {
        const char *k = tc->v[i].key, *v = tc->v[i].value;
        int64_t n = 0;
        bool isnum = num(v, &n);
        if (strcmp(k, "segment.bytes") == 0 && isnum && n > 0)
            out->log.segment_bytes = n;
        else if (strcmp(k, "segment.ms") == 0 && isnum && n > 0)
            out->log.segment_ms = n;
        else if (strcmp(k, "segment.jitter.ms") == 0 && isnum && n >= 0)
            out->log.segment_jitter_ms = n;
        else if (strcmp(k, "segment.index.bytes") == 0 && isnum && n > 0)
            out->log.segment_index_bytes = n;
        else if (strcmp(k, "index.interval.bytes") == 0 && isnum && n >= 0 && n <= INT32_MAX)
            out->log.index_interval_bytes = (int32_t)n;
        else if (strcmp(k, "retention.ms") == 0 && isnum && n >= -1)
            out->log.retention_ms = n;
        else if (strcmp(k, "retention.bytes") == 0 && isnum)
            out->log.retention_bytes = n;
        else if (strcmp(k, "cleanup.policy") == 0 && v) {
            out->log.cleanup_delete = strstr(v, "delete") != NULL;
            out->log.cleanup_compact = strstr(v, "compact") != NULL;
        } else if (strcmp(k, "delete.retention.ms") == 0 && isnum && n >= 0)
            out->log.delete_retention_ms = n;
        else if (strcmp(k, "min.compaction.lag.ms") == 0 && isnum && n >= 0)
            out->log.min_compaction_lag_ms = n;
        else if (strcmp(k, "min.cleanable.dirty.ratio") == 0 && v)
            out->log.min_cleanable_ratio = strtod(v, NULL);
        else if (strcmp(k, "flush.messages") == 0 && isnum && n > 0)
            out->log.flush_messages = n;
        else if (strcmp(k, "flush.ms") == 0 && isnum && n >= 0)
            out->log.flush_ms = n;
        else if (strcmp(k, "max.message.bytes") == 0 && isnum && n > 0)
            out->log.max_message_bytes = n;
        else if (strcmp(k, "message.timestamp.type") == 0 && v)
            out->ts_type = strcmp(v, "LogAppendTime") == 0 ? KREC_TS_LOG_APPEND : KREC_TS_CREATE;
        else if (strcmp(k, "compression.type") == 0 && v)
            out->codec = codec_of(v);
        else if (strcmp(k, "min.insync.replicas") == 0 && isnum && n > 0 && n <= INT32_MAX)
            out->min_isr = (int32_t)n;
    }
}

/* An asynchronous read of /config/topics/T. `done` runs with the merged config (defaults if
 * the node is missing or unreadable), or with NULL once the module is gone. */
struct zread_s {
    zread_t *next;
    brep_t *r;                   /* NULL once brep_free ran */
    char *topic;
    void (*done)(brep_t *r, zread_t *z, const rtcfg_t *cfg);
    void *arg;
};

static void zread_finish(brep_t *r, zread_t *z, const zkpaths_config_t *tc)
{
    if (r) {
        for (zread_t **pp = &r->zreads; *pp; pp = &(*pp)->next)
            if (*pp == z) {
                *pp = z->next;
                break;
            }
        rtcfg_t cfg;
        brep_config_merge(r->b->cfg, tc, &cfg);
        rtcfg_t *keep = hmap_gets(&r->topics, z->topic);
        if (!keep) {
            keep = xmalloc(sizeof *keep);
            hmap_puts(&r->topics, z->topic, keep);
        }
        *keep = cfg;
        z->done(r, z, &cfg);
    } else {
        z->done(NULL, z, NULL);
    }
    free(z->topic);
    free(z);
}

static void zread_cb(zkc_t *zk, const zkc_result_t *res, void *ctx)
{
    (void)zk;
    zread_t *z = ctx;
    zkpaths_config_t tc = {0};
    bool have = false;
    if (z->r && res->rc == ZOK) {
        if (zkpaths_config_decode(res->data, res->datalen > 0 ? (size_t)res->datalen : 0, &tc) == 0)
            have = true;
        else
            LOG_W("rep", "/config/topics/%s: not a topic config, using the broker defaults", z->topic);
    } else if (z->r && res->rc != ZNONODE) {
        LOG_W("rep", "/config/topics/%s: read failed (%d), using the broker defaults", z->topic, res->rc);
    }
    zread_finish(z->r, z, have ? &tc : NULL);
    zkpaths_config_free(&tc);
}

static void zread_start(brep_t *r, const char *topic, void (*done)(brep_t *, zread_t *, const rtcfg_t *), void *arg)
{
    zread_t *z = xcalloc(1, sizeof *z);
    z->r = r;
    z->topic = xstrdup(topic);
    z->done = done;
    z->arg = arg;
    z->next = r->zreads;
    r->zreads = z;
    char *path = zkpaths_config_entity("topics", topic);
    int rc = r->b->zk ? zkc_get_data(r->b->zk, path, NULL, zread_cb, z) : ZCONNECTIONLOSS;
    free(path);
    if (rc != ZOK) {
        LOG_W("rep", "/config/topics/%s cannot be read now (%d), using the broker defaults", topic, rc);
        zread_finish(r, z, NULL);
    }
}

/* ---- leadership listeners ---- */

static void notify(brep_t *r, const rpart_t *p, bool leader)
{
    for (int i = 0; i < r->nlisteners; i++)
        r->listeners[i].fn(r->listeners[i].arg, p->topic, p->partition, leader, p->leader_epoch);
}

void brep_watch_leadership(brep_t *r, brep_leader_fn fn, void *arg)
{
    if (r->nlisteners < MAX_LISTENERS)
        r->listeners[r->nlisteners++] = (listener_t){fn, arg};
    else
        LOG_E("rep", "too many leadership listeners");
}

bool brep_is_leader(const brep_t *r, const char *topic, int32_t partition)
{
    const rpart_t *p = part_get(r, topic, partition);
    return p && p->leader && p->log;
}

/* ---- high watermark ---- */

static void wake_partition(brep_t *r, const char *topic, int32_t partition);

/* HW = min LEO over the ISR (this broker's own LEO is its log's). Returns true if it moved. */
static bool maybe_increment_hw(brep_t *r, rpart_t *p)
{
    if (!p->leader || !p->log)
        return false;
    int64_t hw = risr_hw(&p->rs, plog_end_offset(p->log));
    int64_t old = plog_high_watermark(p->log);
    if (hw <= old)
        return false;
    plog_set_high_watermark(p->log, hw);
    wake_partition(r, p->topic, p->partition);
    return true;
}

/* ---- ISR maintenance (Kafka's Partition.maybeShrinkIsr / maybeExpandIsr) ----
 *
 * The leader changes the ISR itself: it writes the partition state znode conditionally on
 * the zkVersion it got in LeaderAndIsr (a BADVERSION means the controller changed it: wait
 * for its LeaderAndIsr), then records the partition for /isr_change_notification, which is
 * written at most every 2.5 s once changes have settled (5 s quiet, or 60 s since the last). */

struct isr_op_s {
    isr_op_t *next;
    brep_t *r;                   /* NULL once brep_free ran */
    char *topic;
    int32_t partition;
    int32_t leader_epoch;
    int32_t *isr;
    int32_t nisr;
};

static int32_t current_isr(const rpart_t *p, int32_t *out)
{
    int32_t k = 0;
    for (int32_t i = 0; i < p->rs.n; i++)
        if (p->rs.in_isr[i])
            out[k++] = p->rs.replicas[i];
    return k;
}

static void isr_write_cb(zkc_t *zk, const zkc_result_t *res, void *ctx)
{
    (void)zk;
    isr_op_t *op = ctx;
    brep_t *r = op->r;
    if (r) {
        for (isr_op_t **pp = &r->isr_ops; *pp; pp = &(*pp)->next)
            if (*pp == op) {
                *pp = op->next;
                break;
            }
        rpart_t *p = part_get(r, op->topic, op->partition);
        if (p && p->leader && p->leader_epoch == op->leader_epoch) {
            p->isr_updating = false;
            if (res->rc == ZOK && res->stat) {
                p->zk_version = res->stat->version;
                for (int32_t i = 0; i < p->rs.n; i++) {
                    bool in = false;
                    for (int32_t j = 0; j < op->nisr; j++)
                        in |= op->isr[j] == p->rs.replicas[i];
                    risr_set_isr(&p->rs, p->rs.replicas[i], in);
                }
                LOG_I("rep", "%s-%d: ISR is now of %d replica(s), zkVersion %d", p->topic, p->partition, op->nisr,
                      p->zk_version);
                pkey_t key;
                if (pkey_make(&key, p->topic, strlen(p->topic), p->partition) &&
                    !hmap_get(&r->isr_changed, key.b, key.len))
                    hmap_put(&r->isr_changed, key.b, key.len, xstrdup(p->topic));
                r->last_isr_change_ms = broker_mono_ms();
                maybe_increment_hw(r, p);
            } else if (res->rc == ZBADVERSION) {
                LOG_I("rep", "%s-%d: cached zkVersion %d not equal to that in the coordinator, skip updating ISR",
                      p->topic, p->partition, p->zk_version);
            } else {
                LOG_W("rep", "%s-%d: ISR update failed (%d)", p->topic, p->partition, res->rc);
            }
        }
    }
    free(op->topic);
    free(op->isr);
    free(op);
}

static void isr_write(brep_t *r, rpart_t *p, const int32_t *isr, int32_t n)
{
    if (p->isr_updating || !r->b->zk)
        return;
    zkpaths_pstate_t st = {p->controller_epoch, r->b->id, p->leader_epoch, {(int32_t *)isr, (size_t)n}};
    buf_t b = BUF_INIT;
    if (zkpaths_pstate_encode(&st, &b) != 0) {
        buf_free(&b);
        return;
    }
    isr_op_t *op = xcalloc(1, sizeof *op);
    op->r = r;
    op->topic = xstrdup(p->topic);
    op->partition = p->partition;
    op->leader_epoch = p->leader_epoch;
    op->isr = xmemdup(isr, (size_t)(n ? n : 1) * sizeof *isr);
    op->nisr = n;
    char *path = zkpaths_partition_state(p->topic, p->partition);
    int rc = zkc_set_data(r->b->zk, path, b.data, (int32_t)b.len, p->zk_version, isr_write_cb, op);
    free(path);
    buf_free(&b);
    if (rc != ZOK) {
        free(op->topic);
        free(op->isr);
        free(op);
        return;
    }
    p->isr_updating = true;
    op->next = r->isr_ops;
    r->isr_ops = op;
}

/* A follower that caught up to the HW joins the ISR. */
static void maybe_expand_isr(brep_t *r, rpart_t *p)
{
    if (p->isr_updating)
        return;
    int32_t *add = xmalloc((size_t)(2 * p->rs.n + 1) * sizeof *add);
    int32_t na = risr_caught_up(&p->rs, plog_high_watermark(p->log), add);
    if (na > 0) {
        int32_t *isr = add + na;
        int32_t n = current_isr(p, isr);
        for (int32_t i = 0; i < na; i++) {
            LOG_I("rep", "%s-%d: expanding the ISR with broker %d", p->topic, p->partition, add[i]);
            isr[n++] = add[i];
        }
        isr_write(r, p, isr, n);
    }
    free(add);
}

static void isr_check_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    brep_t *r = arg;
    int64_t now = broker_mono_ms();
    int64_t lag = r->b->cfg ? r->b->cfg->replica_lag_time_max_ms : 10000;
    hmap_iter_t it;
    hmap_iter_init(&r->parts, &it);
    const void *k;
    size_t kl;
    void *v;
    while (hmap_iter_next(&r->parts, &it, &k, &kl, &v)) {
        rpart_t *p = v;
        if (!p->leader || !p->log || p->isr_updating || p->rs.n <= 1)
            continue;
        int32_t *out = xmalloc((size_t)(2 * p->rs.n + 1) * sizeof *out);
        int32_t no = risr_out_of_sync(&p->rs, now, lag, out);
        if (no > 0) {
            int32_t *isr = out + no, n = 0;
            for (int32_t i = 0; i < p->rs.n; i++) {
                bool drop = false;
                for (int32_t j = 0; j < no; j++)
                    drop |= out[j] == p->rs.replicas[i];
                if (p->rs.in_isr[i] && !drop)
                    isr[n++] = p->rs.replicas[i];
            }
            LOG_I("rep", "%s-%d: shrinking the ISR: %d follower(s) not caught up for %lld ms", p->topic,
                  p->partition, no, (long long)lag);
            isr_write(r, p, isr, n);
        }
        free(out);
    }
}

static void isr_notified_cb(zkc_t *zk, const zkc_result_t *res, void *ctx)
{
    (void)zk, (void)ctx;
    if (res->rc != ZOK)
        LOG_W("rep", "ISR change notification not written (%d)", res->rc);
}

static void isr_propagate_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    brep_t *r = arg;
    int64_t now = broker_mono_ms();
    if (hmap_count(&r->isr_changed) == 0 || !r->b->zk)
        return;
    if (!(now - r->last_isr_change_ms > 5000 || now - r->last_isr_propagation_ms > 60000))
        return;
    zkpaths_tplist_t l = {0};
    l.v = xcalloc(hmap_count(&r->isr_changed), sizeof *l.v);
    hmap_iter_t it;
    hmap_iter_init(&r->isr_changed, &it);
    const void *k;
    size_t kl;
    void *v;
    while (hmap_iter_next(&r->isr_changed, &it, &k, &kl, &v)) {
        l.v[l.n].topic = v;
        l.v[l.n].partition = (int32_t)be32_get(k);
        l.n++;
    }
    buf_t b = BUF_INIT;
    if (zkpaths_tplist_encode(&l, false, &b) == 0) {
        char *prefix = zkpaths_isr_change_prefix();
        zkc_create_t c = {.path = prefix, .data = b.data, .len = (int32_t)b.len, .mode = ZK_PERSISTENT_SEQUENTIAL};
        zkc_create(r->b->zk, &c, isr_notified_cb, NULL);
        free(prefix);
    }
    buf_free(&b);
    free(l.v);
    hmap_fini(&r->isr_changed, free);
    hmap_init(&r->isr_changed);
    r->last_isr_propagation_ms = now;
}

/* ---- idempotent producers ---- */

static int rebuild_cb(void *ctx, const plog_batch_info_t *bi)
{
    rps_t *s = ctx;
    if (bi->producer_id >= 0 && !bi->control && bi->base_sequence >= 0) {
        int32_t last = (int32_t)(((int64_t)bi->base_sequence + bi->record_count - 1) % ((int64_t)INT32_MAX + 1));
        rps_record(s, bi->producer_id, bi->producer_epoch, bi->base_sequence, last, bi->base_offset, bi->last_offset);
    }
    return 0;
}

static void pstate_build(rpart_t *p)
{
    if (p->pst_built || !p->log)
        return;
    rps_clear(p->pst);
    if (plog_scan_batches(p->log, plog_start_offset(p->log), rebuild_cb, p->pst) < 0)
        LOG_W("rep", "%s-%d: producer state rebuild failed", p->topic, p->partition);
    p->pst_built = true;
    if (rps_count(p->pst))
        LOG_I("rep", "%s-%d: producer state of %zu producers rebuilt from the log", p->topic, p->partition,
              rps_count(p->pst));
}

/* ---- the append path ---- */

typedef struct append_res_s {
    int64_t base_offset, last_offset, log_append_time;
} append_res_t;

/* Validates, prepares and appends producer data to a leader partition. Returns 0 or a Kafka
 * error code; *res gets the offsets (the original ones for a duplicate). */
static int16_t part_append(brep_t *r, rpart_t *p, const uint8_t *data, size_t len, int produce_version,
                           bool internal, append_res_t *res)
{
    res->base_offset = -1;
    res->last_offset = -1;
    res->log_append_time = -1;
    if (len == 0)
        return KERR_NONE;
    int64_t now = broker_now_ms();
    krec_limits_t lim = {0};
    lim.max_message_bytes = p->cfg.log.max_message_bytes > 0 ? (size_t)p->cfg.log.max_message_bytes : 0;
    lim.produce_version = produce_version;
    lim.compacted = p->cfg.log.cleanup_compact;
    krec_append_t a = {0};
    a.base_offset = plog_end_offset(p->log);
    a.partition_leader_epoch = p->leader_epoch;
    a.ts_type = internal ? KREC_TS_CREATE : p->cfg.ts_type;
    a.now_ms = now;
    a.target_codec = internal ? -1 : p->cfg.codec;
    buf_t out = BUF_INIT;
    const char *why = NULL;
    int rc = krec_append_prepare(data, len, &lim, &a, &out, &why);
    if (rc < 0) {
        LOG_D("rep", "%s-%d: produce refused: %s (%s)", p->topic, p->partition, kp_err_name(-rc), why ? why : "");
        buf_free(&out);
        return (int16_t)-rc;
    }
    if (a.info.transactional) {
        buf_free(&out);
        return KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    }
    int64_t pid = a.info.producer_id;
    int32_t first_seq = a.info.base_sequence, last_seq = 0;
    if (pid >= 0 && !internal) {
        pstate_build(p);
        last_seq = (int32_t)(((int64_t)first_seq + a.info.record_count - 1) % ((int64_t)INT32_MAX + 1));
        int64_t df = -1, dl = -1;
        int ck = rps_check(p->pst, pid, a.info.producer_epoch, first_seq, last_seq, &df, &dl);
        if (ck == RPS_DUPLICATE) {
            LOG_D("rep", "%s-%d: duplicate batch of producer %lld seq %d..%d (offsets %lld..%lld)", p->topic,
                  p->partition, (long long)pid, first_seq, last_seq, (long long)df, (long long)dl);
            buf_free(&out);
            res->base_offset = df;
            res->last_offset = dl;
            return KERR_NONE;
        }
        if (ck < 0) {
            buf_free(&out);
            return (int16_t)-ck;
        }
    }
    plog_append_info_t info;
    rc = plog_append(p->log, out.data, out.len, now, &info);
    buf_free(&out);
    if (rc < 0)
        return (int16_t)-rc;
    if (pid >= 0 && !internal)
        rps_record(p->pst, pid, a.info.producer_epoch, first_seq, last_seq, info.first_offset, info.last_offset);
    res->base_offset = info.first_offset;
    res->last_offset = info.last_offset;
    res->log_append_time = a.log_append_time;
    if (!maybe_increment_hw(r, p))
        wake_partition(r, p->topic, p->partition);   /* followers may wait for the LEO */
    return KERR_NONE;
}

/* ---- delayed produce (acks=-1, internal appends) ---- */

typedef struct dwait_s {
    char *topic;
    int32_t partition;
    int64_t need;                /* HW must reach this */
    int16_t *err;                /* where to report a failure (NULL: internal) */
    bool done;
} dwait_t;

struct dprod_s {
    dprod_t *next;
    brep_t *r;
    bsrv_ctx_t *ctx;             /* NULL for an internal append */
    const void *resp;
    dwait_t *w;
    int nw;
    brep_append_cb cb;
    void *arg;
    int64_t base_offset;
    struct event *timer, *wake;
};

static void dprod_unlink(brep_t *r, dprod_t *d)
{
    for (dprod_t **pp = &r->prods; *pp; pp = &(*pp)->next)
        if (*pp == d) {
            *pp = d->next;
            return;
        }
}

/* Checks (or, with timed_out, finishes) a delayed produce. Returns true when it completed. */
static bool dprod_try(dprod_t *d, bool timed_out, bool shutdown)
{
    brep_t *r = d->r;
    bool all = true;
    int16_t ierr = KERR_NONE;
    for (int i = 0; i < d->nw; i++) {
        dwait_t *w = &d->w[i];
        if (w->done)
            continue;
        rpart_t *p = shutdown ? NULL : part_get(r, w->topic, w->partition);
        int16_t e = KERR_NONE;
        if (!p || !p->leader || !p->log)
            e = KERR_NOT_LEADER_FOR_PARTITION;
        else if (plog_high_watermark(p->log) >= w->need)
            w->done = true;
        else if (timed_out)
            e = KERR_REQUEST_TIMED_OUT;
        else
            all = false;
        if (e) {
            w->done = true;
            if (w->err)
                *w->err = e;
            ierr = e;
        }
    }
    if (!all)
        return false;
    dprod_unlink(r, d);
    if (d->ctx)
        bsrv_respond(d->ctx, d->resp);
    else if (d->cb)
        d->cb(d->arg, ierr, ierr ? -1 : d->base_offset);
    for (int i = 0; i < d->nw; i++)
        free(d->w[i].topic);
    free(d->w);
    event_free(d->timer);
    event_free(d->wake);
    free(d);
    return true;
}

static void dprod_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    dprod_try(arg, true, false);
}

static void dprod_wake_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    dprod_try(arg, false, false);
}

static dprod_t *dprod_new(brep_t *r, int nw, int64_t timeout_ms)
{
    dprod_t *d = xcalloc(1, sizeof *d);
    d->r = r;
    d->w = xcalloc((size_t)(nw ? nw : 1), sizeof *d->w);
    d->timer = evtimer_new(r->b->base, dprod_timer_cb, d);
    d->wake = event_new(r->b->base, -1, 0, dprod_wake_cb, d);
    if (timeout_ms < 0)
        timeout_ms = 0;
    struct timeval tv = {(time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000};
    evtimer_add(d->timer, &tv);
    d->next = r->prods;
    r->prods = d;
    return d;
}

/* ---- delayed fetch ---- */

struct dfetch_s {
    dfetch_t *next;
    brep_t *r;
    bsrv_ctx_t *ctx;
    const kp_FetchRequest *q;
    int version;
    struct event *timer, *wake;
    bool wake_pending;
};

static void dfetch_unlink(brep_t *r, dfetch_t *f)
{
    for (dfetch_t **pp = &r->fetches; *pp; pp = &(*pp)->next)
        if (*pp == f) {
            *pp = f->next;
            return;
        }
}

static bool fetch_wants(const kp_FetchRequest *q, const char *topic, int32_t partition)
{
    size_t tl = strlen(topic);
    for (int32_t i = 0; i < q->Topics.n; i++) {
        const kp_FetchRequest_FetchTopic *t = &q->Topics.v[i];
        if (t->Topic.len != (int32_t)tl || memcmp(t->Topic.p, topic, tl) != 0)
            continue;
        for (int32_t j = 0; j < t->Partitions.n; j++)
            if (t->Partitions.v[j].Partition == partition)
                return true;
    }
    return false;
}

static void wake_partition(brep_t *r, const char *topic, int32_t partition)
{
    for (dfetch_t *f = r->fetches; f; f = f->next)
        if (!f->wake_pending && fetch_wants(f->q, topic, partition)) {
            f->wake_pending = true;
            event_active(f->wake, 0, 0);
        }
    for (dprod_t *d = r->prods; d; d = d->next)
        for (int i = 0; i < d->nw; i++)
            if (!d->w[i].done && d->w[i].partition == partition && strcmp(d->w[i].topic, topic) == 0) {
                event_active(d->wake, 0, 0);
                break;
            }
}

/* One partition's part of a fetch response. */
typedef struct fpart_s {
    int16_t err;
    int64_t hw, lso, log_start;
    plog_slice_t slice;
    buf_t conv;                  /* down-converted records (fetch v0-v3) */
    bool converted;
} fpart_t;

static void put_str(buf_t *b, kp_str_t s)
{
    buf_put_be16(b, (uint16_t)(s.len < 0 ? 0 : s.len));
    if (s.len > 0)
        buf_put(b, s.p, (size_t)s.len);
}

typedef struct prange_s {
    size_t off, len;             /* a range of the header buffer */
    const plog_slice_t *slice;   /* or a file range */
} prange_t;

/* Reads every partition of the fetch. With `force` or enough bytes (or an error) answers and
 * returns true; otherwise releases what it read and returns false. */
static bool fetch_try(brep_t *r, bsrv_ctx_t *ctx, const kp_FetchRequest *q, int version, bool force)
{
    if (bsrv_ctx_closed(ctx)) {
        bsrv_close(ctx);
        return true;
    }
    arena_t *a = bsrv_ctx_arena(ctx);
    bool follower = q->ReplicaId >= 0;
    int16_t top_err = KERR_NONE;
    if (version >= 7 && (q->SessionId != 0 || (q->SessionEpoch != -1 && q->SessionEpoch != 0)))
        top_err = KERR_FETCH_SESSION_ID_NOT_FOUND;
    int32_t np = 0;
    for (int32_t i = 0; i < q->Topics.n && !top_err; i++)
        np += q->Topics.v[i].Partitions.n > 0 ? q->Topics.v[i].Partitions.n : 0;
    fpart_t *fp = xcalloc((size_t)(np ? np : 1), sizeof *fp);   /* not in the arena: it outlives ctx */
    int64_t limit = version >= 3 ? (q->MaxBytes > 0 ? q->MaxBytes : 0) : INT64_MAX;
    int64_t total = 0;
    bool any_err = false, min_one = version >= 3;
    int k = 0;
    for (int32_t i = 0; i < q->Topics.n && !top_err; i++) {
        const kp_FetchRequest_FetchTopic *t = &q->Topics.v[i];
        for (int32_t j = 0; j < t->Partitions.n; j++, k++) {
            const kp_FetchRequest_FetchPartition *fq = &t->Partitions.v[j];
            fpart_t *o = &fp[k];
            o->hw = -1, o->lso = -1, o->log_start = -1;
            buf_init(&o->conv);
            rpart_t *p = leader_part(r, a, t->Topic, fq->Partition, &o->err);
            if (!p) {
                any_err = true;
                continue;
            }
            if (version >= 9 && fq->CurrentLeaderEpoch >= 0 && fq->CurrentLeaderEpoch != p->leader_epoch) {
                o->err = fq->CurrentLeaderEpoch < p->leader_epoch ? KERR_FENCED_LEADER_EPOCH : KERR_UNKNOWN_LEADER_EPOCH;
                any_err = true;
                continue;
            }
            if (follower) {
                if (risr_follower_fetch(&p->rs, q->ReplicaId, fq->FetchOffset, plog_end_offset(p->log),
                                        broker_mono_ms()) == 0) {
                    maybe_increment_hw(r, p);
                    maybe_expand_isr(r, p);
                }
            }
            o->hw = plog_high_watermark(p->log);
            o->lso = o->hw;
            o->log_start = plog_start_offset(p->log);
            int64_t room = limit - total;
            if (room < 0)
                room = 0;
            int64_t pmax = fq->PartitionMaxBytes > 0 ? fq->PartitionMaxBytes : 0;
            if (pmax > room)
                pmax = room;
            int rc = plog_read(p->log, fq->FetchOffset, (size_t)pmax, follower ? PLOG_UPTO_LEO : o->hw, min_one,
                               &o->slice);
            if (rc < 0) {
                o->err = (int16_t)-rc;
                memset(&o->slice, 0, sizeof o->slice);
                any_err = true;
                continue;
            }
            if (o->slice.len > 0) {
                min_one = false;
                total += (int64_t)o->slice.len;
            }
        }
    }
    bool ready = force || top_err || any_err || q->MaxWaitMs <= 0 || np == 0 || total >= q->MinBytes;
    if (!ready) {
        for (int x = 0; x < k; x++)
            plog_slice_release(&fp[x].slice);
        free(fp);
        return false;
    }

    /* down-conversion for readers of magic 0 (v0-v1) and 1 (v2-v3) */
    if (version < 4) {
        int to_magic = version <= 1 ? 0 : 1;
        for (int x = 0; x < k; x++) {
            fpart_t *o = &fp[x];
            if (o->err || o->slice.len == 0)
                continue;
            buf_t raw = BUF_INIT;
            int rc = plog_slice_copy(&o->slice, &raw);
            const char *why = NULL;
            if (rc == 0)
                rc = krec_down_convert(raw.data, raw.len, to_magic, 0, 0, &o->conv, NULL, &why);
            if (rc < 0) {
                LOG_W("rep", "fetch v%d: down-conversion failed: %s", version, why ? why : kp_err_name(-rc));
                o->err = (int16_t)-rc;
                o->conv.len = 0;
            }
            o->converted = true;
            buf_free(&raw);
        }
    }

    /* the body: header bytes in one buffer, records from the files (zero copy) */
    buf_t h = BUF_INIT;
    prange_t *pr = arena_alloc(a, (size_t)(2 * k + 2) * sizeof *pr);
    int npr = 0;
    size_t mark = 0;
    if (version >= 1)
        buf_put_be32(&h, 0);   /* throttle */
    if (version >= 7) {
        buf_put_be16(&h, (uint16_t)top_err);
        buf_put_be32(&h, 0);   /* no fetch session */
    }
    if (top_err) {
        buf_put_be32(&h, 0);
    } else {
        buf_put_be32(&h, (uint32_t)q->Topics.n);
        k = 0;
        for (int32_t i = 0; i < q->Topics.n; i++) {
            const kp_FetchRequest_FetchTopic *t = &q->Topics.v[i];
            put_str(&h, t->Topic);
            buf_put_be32(&h, (uint32_t)(t->Partitions.n > 0 ? t->Partitions.n : 0));
            for (int32_t j = 0; j < t->Partitions.n; j++, k++) {
                fpart_t *o = &fp[k];
                buf_put_be32(&h, (uint32_t)t->Partitions.v[j].Partition);
                buf_put_be16(&h, (uint16_t)o->err);
                buf_put_be64(&h, (uint64_t)o->hw);
                if (version >= 4)
                    buf_put_be64(&h, (uint64_t)o->lso);
                if (version >= 5)
                    buf_put_be64(&h, (uint64_t)o->log_start);
                if (version >= 4)
                    buf_put_be32(&h, q->IsolationLevel == 1 ? 0u : 0xffffffffu);   /* aborted txns */
                if (version >= 11)
                    buf_put_be32(&h, 0xffffffffu);   /* preferred read replica */
                if (o->err || (o->slice.len == 0 && !o->converted)) {
                    buf_put_be32(&h, 0);
                } else if (o->converted) {
                    buf_put_be32(&h, (uint32_t)o->conv.len);
                    buf_put(&h, o->conv.data, o->conv.len);
                } else {
                    buf_put_be32(&h, (uint32_t)o->slice.len);
                    pr[npr++] = (prange_t){mark, h.len - mark, NULL};
                    pr[npr++] = (prange_t){0, 0, &o->slice};
                    mark = h.len;
                }
            }
        }
    }
    pr[npr++] = (prange_t){mark, h.len - mark, NULL};
    bsrv_part_t *parts = arena_alloc(a, (size_t)npr * sizeof *parts);
    for (int x = 0; x < npr; x++) {
        if (pr[x].slice)
            parts[x] = (bsrv_part_t){NULL, pr[x].slice->len, pr[x].slice->fd, pr[x].slice->pos};
        else
            parts[x] = (bsrv_part_t){h.data + pr[x].off, pr[x].len, -1, 0};
    }
    bsrv_respond_parts(ctx, parts, (size_t)npr);
    buf_free(&h);
    for (int x = 0; x < k; x++) {
        plog_slice_release(&fp[x].slice);
        buf_free(&fp[x].conv);
    }
    free(fp);
    return true;
}

static void dfetch_free(dfetch_t *f)
{
    event_free(f->timer);
    event_free(f->wake);
    free(f);
}

static void dfetch_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    dfetch_t *f = arg;
    dfetch_unlink(f->r, f);
    fetch_try(f->r, f->ctx, f->q, f->version, true);
    dfetch_free(f);
}

static void dfetch_wake_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    dfetch_t *f = arg;
    f->wake_pending = false;
    if (fetch_try(f->r, f->ctx, f->q, f->version, false)) {
        dfetch_unlink(f->r, f);
        dfetch_free(f);
    }
}

static void on_fetch(bsrv_ctx_t *ctx, const kp_request_t *req, void *arg)
{
    brep_t *r = arg;
    const kp_FetchRequest *q = req->body;
    int version = req->hdr.api_version;
    if (fetch_try(r, ctx, q, version, false))
        return;
    dfetch_t *f = xcalloc(1, sizeof *f);
    f->r = r;
    f->ctx = ctx;
    f->q = q;
    f->version = version;
    f->timer = evtimer_new(r->b->base, dfetch_timer_cb, f);
    f->wake = event_new(r->b->base, -1, 0, dfetch_wake_cb, f);
    struct timeval tv = {(time_t)(q->MaxWaitMs / 1000), (suseconds_t)(q->MaxWaitMs % 1000) * 1000};
    evtimer_add(f->timer, &tv);
    f->next = r->fetches;
    r->fetches = f;
}

/* ---- Produce ---- */

static void on_produce(bsrv_ctx_t *ctx, const kp_request_t *req, void *arg)
{
    brep_t *r = arg;
    const kp_ProduceRequest *q = req->body;
    int version = req->hdr.api_version;
    arena_t *a = bsrv_ctx_arena(ctx);
    kp_ProduceResponse *resp = kp_new(a, &kp_ProduceResponse_schema);
    int16_t all_err = KERR_NONE;
    if (q->Acks != 0 && q->Acks != 1 && q->Acks != -1)
        all_err = KERR_INVALID_REQUIRED_ACKS;
    else if (version >= 3 && q->TransactionalId.len >= 0)
        all_err = KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    int nwait = 0;
    bool any_err = false;
    resp->Responses.n = q->Topics.n > 0 ? q->Topics.n : 0;
    resp->Responses.v = kp_new_array(a, &kp_ProduceResponse_TopicProduceResponse_schema, resp->Responses.n);
    int64_t *need = NULL;
    int32_t total = 0;
    for (int32_t i = 0; i < resp->Responses.n; i++)
        total += q->Topics.v[i].Partitions.n > 0 ? q->Topics.v[i].Partitions.n : 0;
    need = arena_alloc(a, (size_t)(total ? total : 1) * sizeof *need);
    int k = 0;
    for (int32_t i = 0; i < resp->Responses.n; i++) {
        const kp_ProduceRequest_TopicProduceData *t = &q->Topics.v[i];
        kp_ProduceResponse_TopicProduceResponse *ot = &resp->Responses.v[i];
        ot->Name = t->Name;
        ot->Partitions.n = t->Partitions.n > 0 ? t->Partitions.n : 0;
        ot->Partitions.v = kp_new_array(a, &kp_ProduceResponse_PartitionProduceResponse_schema, ot->Partitions.n);
        for (int32_t j = 0; j < ot->Partitions.n; j++, k++) {
            const kp_ProduceRequest_PartitionProduceData *pd = &t->Partitions.v[j];
            kp_ProduceResponse_PartitionProduceResponse *o = &ot->Partitions.v[j];
            o->PartitionIndex = pd->PartitionIndex;
            o->BaseOffset = -1;
            need[k] = -1;
            if (all_err) {
                o->ErrorCode = all_err;
                any_err = true;
                continue;
            }
            int16_t e;
            rpart_t *p = leader_part(r, a, t->Name, pd->PartitionIndex, &e);
            if (!p) {
                o->ErrorCode = e;
                any_err = true;
                continue;
            }
            if (q->Acks == -1 && risr_isr_size(&p->rs) < p->cfg.min_isr) {
                o->ErrorCode = KERR_NOT_ENOUGH_REPLICAS;
                any_err = true;
                continue;
            }
            if (pd->Records.len < 0) {
                o->ErrorCode = KERR_CORRUPT_MESSAGE;
                any_err = true;
                continue;
            }
            append_res_t res;
            o->ErrorCode = part_append(r, p, pd->Records.p, (size_t)pd->Records.len, version, false, &res);
            if (o->ErrorCode) {
                any_err = true;
                continue;
            }
            o->BaseOffset = res.base_offset;
            o->LogAppendTimeMs = res.log_append_time;
            o->LogStartOffset = plog_start_offset(p->log);
            if (q->Acks == -1 && res.last_offset >= 0 && plog_high_watermark(p->log) <= res.last_offset) {
                need[k] = res.last_offset + 1;
                nwait++;
            }
        }
    }
    if (q->Acks == 0) {
        if (any_err) {
            LOG_I("rep", "closing %s: acks=0 produce failed", bsrv_ctx_peer(ctx));
            bsrv_close(ctx);
        } else {
            bsrv_respond_none(ctx);
        }
        return;
    }
    if (nwait == 0) {
        bsrv_respond(ctx, resp);
        return;
    }
    dprod_t *d = dprod_new(r, nwait, q->TimeoutMs);
    d->ctx = ctx;
    d->resp = resp;
    k = 0;
    for (int32_t i = 0; i < resp->Responses.n; i++) {
        kp_ProduceResponse_TopicProduceResponse *ot = &resp->Responses.v[i];
        for (int32_t j = 0; j < ot->Partitions.n; j++, k++) {
            if (need[k] < 0)
                continue;
            dwait_t *w = &d->w[d->nw++];
            w->topic = xstrndup((const char *)ot->Name.p, (size_t)ot->Name.len);
            w->partition = ot->Partitions.v[j].PartitionIndex;
            w->need = need[k];
            w->err = &ot->Partitions.v[j].ErrorCode;
        }
    }
}

void brep_append_internal(brep_t *r, const char *topic, int32_t partition, const uint8_t *batch, size_t len,
                          brep_append_cb cb, void *arg)
{
    rpart_t *p = part_get(r, topic, partition);
    if (!p || !p->leader || !p->log) {
        cb(arg, p ? KERR_NOT_LEADER_FOR_PARTITION : not_here(r, topic, partition), -1);
        return;
    }
    append_res_t res;
    int16_t e = part_append(r, p, batch, len, -1, true, &res);
    if (e || res.last_offset < 0 || plog_high_watermark(p->log) > res.last_offset) {
        cb(arg, e, e ? -1 : res.base_offset);
        return;
    }
    dprod_t *d = dprod_new(r, 1, INTERNAL_TIMEOUT_MS);
    d->cb = cb;
    d->arg = arg;
    d->base_offset = res.base_offset;
    d->w[0] = (dwait_t){xstrdup(topic), partition, res.last_offset + 1, NULL, false};
    d->nw = 1;
}

/* ---- ListOffsets ---- */

static void on_list_offsets(bsrv_ctx_t *ctx, const kp_request_t *req, void *arg)
{
    brep_t *r = arg;
    const kp_ListOffsetsRequest *q = req->body;
    int version = req->hdr.api_version;
    arena_t *a = bsrv_ctx_arena(ctx);
    kp_ListOffsetsResponse *resp = kp_new(a, &kp_ListOffsetsResponse_schema);
    resp->Topics.n = q->Topics.n > 0 ? q->Topics.n : 0;
    resp->Topics.v = kp_new_array(a, &kp_ListOffsetsResponse_ListOffsetsTopicResponse_schema, resp->Topics.n);
    for (int32_t i = 0; i < resp->Topics.n; i++) {
        const kp_ListOffsetsRequest_ListOffsetsTopic *t = &q->Topics.v[i];
        kp_ListOffsetsResponse_ListOffsetsTopicResponse *ot = &resp->Topics.v[i];
        ot->Name = t->Name;
        ot->Partitions.n = t->Partitions.n > 0 ? t->Partitions.n : 0;
        ot->Partitions.v =
            kp_new_array(a, &kp_ListOffsetsResponse_ListOffsetsPartitionResponse_schema, ot->Partitions.n);
        for (int32_t j = 0; j < ot->Partitions.n; j++) {
            const kp_ListOffsetsRequest_ListOffsetsPartition *pq = &t->Partitions.v[j];
            kp_ListOffsetsResponse_ListOffsetsPartitionResponse *o = &ot->Partitions.v[j];
            o->PartitionIndex = pq->PartitionIndex;
            rpart_t *p = leader_part(r, a, t->Name, pq->PartitionIndex, &o->ErrorCode);
            if (!p)
                continue;
            if (version >= 4 && pq->CurrentLeaderEpoch >= 0 && pq->CurrentLeaderEpoch != p->leader_epoch) {
                o->ErrorCode = pq->CurrentLeaderEpoch < p->leader_epoch ? KERR_FENCED_LEADER_EPOCH
                                                                        : KERR_UNKNOWN_LEADER_EPOCH;
                continue;
            }
            /* consumers see up to the HW; a replica (debugging) up to the LEO */
            int64_t latest = q->ReplicaId >= 0 ? plog_end_offset(p->log) : plog_high_watermark(p->log);
            int64_t off = -1, ts = -1;
            if (pq->Timestamp == -1) {
                off = latest;
            } else if (pq->Timestamp == -2) {
                off = plog_start_offset(p->log);
            } else {
                int rc = plog_offset_for_time(p->log, pq->Timestamp, &off, &ts);
                if (rc < 0) {
                    o->ErrorCode = (int16_t)-rc;
                    continue;
                }
                if (rc == 0)
                    off = -1, ts = -1;
                if (version == 0 && off < 0)
                    off = latest;
            }
            if (version == 0) {
                int32_t max = pq->MaxNumOffsets;
                o->OldStyleOffsets.n = max > 0 ? 1 : 0;
                o->OldStyleOffsets.v = arena_alloc(a, sizeof(int64_t));
                o->OldStyleOffsets.v[0] = off;
            } else {
                o->Offset = off;
                o->Timestamp = ts;
                if (off >= 0)
                    o->LeaderEpoch = p->leader_epoch;
            }
        }
    }
    bsrv_respond(ctx, resp);
}

/* ---- DeleteRecords ---- */

static void on_delete_records(bsrv_ctx_t *ctx, const kp_request_t *req, void *arg)
{
    brep_t *r = arg;
    const kp_DeleteRecordsRequest *q = req->body;
    arena_t *a = bsrv_ctx_arena(ctx);
    kp_DeleteRecordsResponse *resp = kp_new(a, &kp_DeleteRecordsResponse_schema);
    resp->Topics.n = q->Topics.n > 0 ? q->Topics.n : 0;
    resp->Topics.v = kp_new_array(a, &kp_DeleteRecordsResponse_DeleteRecordsTopicResult_schema, resp->Topics.n);
    for (int32_t i = 0; i < resp->Topics.n; i++) {
        const kp_DeleteRecordsRequest_DeleteRecordsTopic *t = &q->Topics.v[i];
        kp_DeleteRecordsResponse_DeleteRecordsTopicResult *ot = &resp->Topics.v[i];
        ot->Name = t->Name;
        ot->Partitions.n = t->Partitions.n > 0 ? t->Partitions.n : 0;
        ot->Partitions.v =
            kp_new_array(a, &kp_DeleteRecordsResponse_DeleteRecordsPartitionResult_schema, ot->Partitions.n);
        for (int32_t j = 0; j < ot->Partitions.n; j++) {
            const kp_DeleteRecordsRequest_DeleteRecordsPartition *pq = &t->Partitions.v[j];
            kp_DeleteRecordsResponse_DeleteRecordsPartitionResult *o = &ot->Partitions.v[j];
            o->PartitionIndex = pq->PartitionIndex;
            o->LowWatermark = -1;
            rpart_t *p = leader_part(r, a, t->Name, pq->PartitionIndex, &o->ErrorCode);
            if (!p)
                continue;
            if (pq->Offset < -1) {
                o->ErrorCode = KERR_OFFSET_OUT_OF_RANGE;
                continue;
            }
            int64_t low = -1;
            int rc = plog_delete_records(p->log, pq->Offset, &low);
            if (rc < 0)
                o->ErrorCode = (int16_t)-rc;
            else
                o->LowWatermark = low;
        }
    }
    bsrv_respond(ctx, resp);
}

/* ---- OffsetForLeaderEpoch ---- */

static void on_offset_for_leader_epoch(bsrv_ctx_t *ctx, const kp_request_t *req, void *arg)
{
    brep_t *r = arg;
    const kp_OffsetForLeaderEpochRequest *q = req->body;
    int version = req->hdr.api_version;
    arena_t *a = bsrv_ctx_arena(ctx);
    kp_OffsetForLeaderEpochResponse *resp = kp_new(a, &kp_OffsetForLeaderEpochResponse_schema);
    resp->Topics.n = q->Topics.n > 0 ? q->Topics.n : 0;
    resp->Topics.v =
        kp_new_array(a, &kp_OffsetForLeaderEpochResponse_OffsetForLeaderTopicResult_schema, resp->Topics.n);
    for (int32_t i = 0; i < resp->Topics.n; i++) {
        const kp_OffsetForLeaderEpochRequest_OffsetForLeaderTopic *t = &q->Topics.v[i];
        kp_OffsetForLeaderEpochResponse_OffsetForLeaderTopicResult *ot = &resp->Topics.v[i];
        ot->Name = t->Name;
        ot->Partitions.n = t->Partitions.n > 0 ? t->Partitions.n : 0;
        ot->Partitions.v = kp_new_array(a, &kp_OffsetForLeaderEpochResponse_OffsetForLeaderPartitionResult_schema,
                                        ot->Partitions.n);
        for (int32_t j = 0; j < ot->Partitions.n; j++) {
            const kp_OffsetForLeaderEpochRequest_OffsetForLeaderPartition *pq = &t->Partitions.v[j];
            kp_OffsetForLeaderEpochResponse_OffsetForLeaderPartitionResult *o = &ot->Partitions.v[j];
            o->PartitionIndex = pq->PartitionIndex;
            o->LeaderEpoch = -1;
            o->EndOffset = -1;
            rpart_t *p = leader_part(r, a, t->Name, pq->PartitionIndex, &o->ErrorCode);
            if (!p)
                continue;
            if (version >= 2 && pq->CurrentLeaderEpoch >= 0 && pq->CurrentLeaderEpoch != p->leader_epoch) {
                o->ErrorCode = pq->CurrentLeaderEpoch < p->leader_epoch ? KERR_FENCED_LEADER_EPOCH
                                                                        : KERR_UNKNOWN_LEADER_EPOCH;
                continue;
            }
            plog_end_offset_for_epoch(p->log, pq->LeaderEpoch, &o->LeaderEpoch, &o->EndOffset);
        }
    }
    bsrv_respond(ctx, resp);
}

/* ---- LeaderAndIsr ---- */

typedef struct lai_job_s {
    brep_t *r;
    bsrv_ctx_t *ctx;             /* NULL once answered (module shut down) */
    kp_LeaderAndIsrResponse *resp;
    const kp_LeaderAndIsrPartitionState **st;
    kp_str_t *topic_of;          /* per state */
    int n;
    int pending;                 /* config reads in flight */
} lai_job_t;

/* Applies one partition state addressed to this broker. Returns a Kafka error code. */
static int16_t become(brep_t *r, const char *topic, const kp_LeaderAndIsrPartitionState *s, const rtcfg_t *cfg)
{
    broker_t *b = r->b;
    pkey_t key;
    if (!pkey_make(&key, topic, strlen(topic), s->PartitionIndex))
        return KERR_INVALID_TOPIC_EXCEPTION;
    rpart_t *p = hmap_get(&r->parts, key.b, key.len);
    if (!p) {
        p = xcalloc(1, sizeof *p);
        p->topic = xstrdup(topic);
        p->partition = s->PartitionIndex;
        p->leader_epoch = -1;
        p->pst = rps_new();
        hmap_put(&r->parts, key.b, key.len, p);
    }
    p->cfg = *cfg;
    plog_t *log = NULL;
    int rc = lmgr_get_or_create(b->logs, topic, s->PartitionIndex, &cfg->log, broker_now_ms(), &log);
    if (rc < 0) {
        LOG_E("rep", "%s-%d: log cannot be opened: %s", topic, s->PartitionIndex, kp_err_name(-rc));
        return (int16_t)-rc;
    }
    if (p->log != log)
        p->pst_built = false;
    p->log = log;
    bool was_leader = p->leader;
    p->leader_id = s->Leader;
    p->leader_epoch = s->LeaderEpoch;
    p->controller_epoch = s->ControllerEpoch;
    p->zk_version = s->ZkVersion;
    risr_init(&p->rs, b->id, s->Replicas.v, s->Replicas.n, s->Isr.v, s->Isr.n, broker_mono_ms());
    p->isr_updating = false;   /* a write for an older epoch is ignored when it completes */
    if (s->Leader == b->id) {
        plog_assign_epoch(log, s->LeaderEpoch, plog_end_offset(log));
        p->leader = true;
        pstate_build(p);
        maybe_increment_hw(r, p);
        LOG_I("rep", "%s-%d: leader, epoch %d, LEO %lld, HW %lld, ISR of %d", topic, s->PartitionIndex, s->LeaderEpoch,
              (long long)plog_end_offset(log), (long long)plog_high_watermark(log), risr_isr_size(&p->rs));
        notify(r, p, true);
    } else {
        p->leader = false;
        LOG_I("rep", "%s-%d: follower of %d, epoch %d", topic, s->PartitionIndex, s->Leader, s->LeaderEpoch);
        if (!r->fetchers_logged) {
            LOG_W("rep", "replication fetchers arrive with the next issue: follower partitions are not fetched yet");
            r->fetchers_logged = true;
        }
        if (was_leader)
            notify(r, p, false);
        wake_partition(r, topic, s->PartitionIndex);
    }
    return KERR_NONE;
}

static void lai_finish(lai_job_t *j)
{
    brep_t *r = j->r;
    if (r && j->ctx) {
        for (int i = 0; i < j->n; i++) {
            kp_LeaderAndIsrResponse_LeaderAndIsrPartitionError *e = &j->resp->PartitionErrors.v[i];
            if (e->ErrorCode != KERR_NONE)
                continue;
            char *topic = kp_str_dup(bsrv_ctx_arena(j->ctx), j->topic_of[i]);
            rtcfg_t *cfg = hmap_gets(&r->topics, topic);
            rtcfg_t dflt;
            if (!cfg) {
                brep_config_merge(r->b->cfg, NULL, &dflt);
                cfg = &dflt;
            }
            e->ErrorCode = become(r, topic, j->st[i], cfg);
        }
        bsrv_respond(j->ctx, j->resp);
    }
    free(j->st);
    free(j->topic_of);
    free(j);
}

static void lai_config_read(brep_t *r, zread_t *z, const rtcfg_t *cfg)
{
    (void)r, (void)cfg;
    lai_job_t *j = z->arg;
    if (!r)
        j->r = NULL;
    if (--j->pending == 0)
        lai_finish(j);
}

static void on_leader_and_isr(bsrv_ctx_t *ctx, const kp_request_t *req, void *arg)
{
    brep_t *r = arg;
    const kp_LeaderAndIsrRequest *q = req->body;
    int version = req->hdr.api_version;
    arena_t *a = bsrv_ctx_arena(ctx);
    kp_LeaderAndIsrResponse *resp = kp_new(a, &kp_LeaderAndIsrResponse_schema);
    if (q->ControllerEpoch < r->controller_epoch) {
        LOG_W("rep", "LeaderAndIsr from controller %d with stale epoch %d (current %d)", q->ControllerId,
              q->ControllerEpoch, r->controller_epoch);
        resp->ErrorCode = KERR_STALE_CONTROLLER_EPOCH;
        bsrv_respond(ctx, resp);
        return;
    }
    r->controller_epoch = q->ControllerEpoch;

    int n = 0;
    if (version <= 1) {
        n = q->UngroupedPartitionStates.n > 0 ? q->UngroupedPartitionStates.n : 0;
    } else {
        for (int32_t i = 0; i < q->TopicStates.n; i++)
            n += q->TopicStates.v[i].PartitionStates.n > 0 ? q->TopicStates.v[i].PartitionStates.n : 0;
    }
    lai_job_t *j = xcalloc(1, sizeof *j);
    j->r = r;
    j->ctx = ctx;
    j->resp = resp;
    j->n = n;
    j->st = xcalloc((size_t)(n ? n : 1), sizeof *j->st);
    j->topic_of = xcalloc((size_t)(n ? n : 1), sizeof *j->topic_of);
    int k = 0;
    if (version <= 1) {
        for (int32_t i = 0; i < n; i++, k++) {
            j->st[k] = &q->UngroupedPartitionStates.v[i];
            j->topic_of[k] = q->UngroupedPartitionStates.v[i].TopicName;
        }
    } else {
        for (int32_t i = 0; i < q->TopicStates.n; i++)
            for (int32_t x = 0; x < q->TopicStates.v[i].PartitionStates.n; x++, k++) {
                j->st[k] = &q->TopicStates.v[i].PartitionStates.v[x];
                j->topic_of[k] = q->TopicStates.v[i].TopicName;
            }
    }
    resp->PartitionErrors.n = n;
    resp->PartitionErrors.v = kp_new_array(a, &kp_LeaderAndIsrResponse_LeaderAndIsrPartitionError_schema, n);
    /* validate; collect the topics whose config must be read */
    const char **topics = arena_alloc(a, (size_t)(n ? n : 1) * sizeof *topics);
    int ntopics = 0;
    for (int i = 0; i < n; i++) {
        const kp_LeaderAndIsrPartitionState *s = j->st[i];
        kp_LeaderAndIsrResponse_LeaderAndIsrPartitionError *e = &resp->PartitionErrors.v[i];
        e->TopicName = j->topic_of[i];
        e->PartitionIndex = s->PartitionIndex;
        char *topic = kp_str_dup(a, j->topic_of[i]);
        bool mine = false;
        for (int32_t x = 0; x < s->Replicas.n; x++)
            mine |= s->Replicas.v[x] == r->b->id;
        if (!topic || !zkpaths_topic_valid(topic) || s->PartitionIndex < 0) {
            e->ErrorCode = KERR_UNKNOWN_TOPIC_OR_PARTITION;
            continue;
        }
        if (!mine) {
            LOG_W("rep", "LeaderAndIsr for %s-%d does not list broker %d among the replicas", topic,
                  s->PartitionIndex, r->b->id);
            e->ErrorCode = KERR_UNKNOWN_TOPIC_OR_PARTITION;
            continue;
        }
        rpart_t *p = part_get(r, topic, s->PartitionIndex);
        if (p && s->LeaderEpoch <= p->leader_epoch) {
            LOG_W("rep", "LeaderAndIsr for %s-%d with leader epoch %d, current %d: ignored", topic,
                  s->PartitionIndex, s->LeaderEpoch, p->leader_epoch);
            e->ErrorCode = KERR_STALE_CONTROLLER_EPOCH;
            continue;
        }
        bool seen = false;
        for (int x = 0; x < ntopics && !seen; x++)
            seen = strcmp(topics[x], topic) == 0;
        if (!seen)
            topics[ntopics++] = topic;
    }
    j->pending = ntopics + 1;
    for (int x = 0; x < ntopics; x++)
        zread_start(r, topics[x], lai_config_read, j);
    if (--j->pending == 0)
        lai_finish(j);
}

/* ---- StopReplica ---- */

static void stop_one(brep_t *r, const char *topic, int32_t partition, bool del)
{
    pkey_t key;
    if (!pkey_make(&key, topic, strlen(topic), partition))
        return;
    rpart_t *p = hmap_del(&r->parts, key.b, key.len);
    if (p) {
        if (p->leader) {
            p->leader = false;
            notify(r, p, false);
        }
        wake_partition(r, topic, partition);
        part_free(p);
    }
    if (del && lmgr_get(r->b->logs, topic, partition)) {
        int rc = lmgr_delete(r->b->logs, topic, partition);
        if (rc < 0)
            LOG_W("rep", "%s-%d: log deletion failed: %s", topic, partition, kp_err_name(-rc));
        else
            LOG_I("rep", "%s-%d: log deleted", topic, partition);
    }
}

static void on_stop_replica(bsrv_ctx_t *ctx, const kp_request_t *req, void *arg)
{
    brep_t *r = arg;
    const kp_StopReplicaRequest *q = req->body;
    int version = req->hdr.api_version;
    arena_t *a = bsrv_ctx_arena(ctx);
    kp_StopReplicaResponse *resp = kp_new(a, &kp_StopReplicaResponse_schema);
    if (q->ControllerEpoch < r->controller_epoch) {
        resp->ErrorCode = KERR_STALE_CONTROLLER_EPOCH;
        bsrv_respond(ctx, resp);
        return;
    }
    r->controller_epoch = q->ControllerEpoch;
    int32_t n = 0;
    if (version == 0) {
        n = q->UngroupedPartitions.n > 0 ? q->UngroupedPartitions.n : 0;
    } else {
        for (int32_t i = 0; i < q->Topics.n; i++)
            n += q->Topics.v[i].PartitionIndexes.n > 0 ? q->Topics.v[i].PartitionIndexes.n : 0;
    }
    resp->PartitionErrors.n = n;
    resp->PartitionErrors.v = kp_new_array(a, &kp_StopReplicaResponse_StopReplicaPartitionError_schema, n);
    int k = 0;
    if (version == 0) {
        for (int32_t i = 0; i < n; i++, k++) {
            kp_StopReplicaResponse_StopReplicaPartitionError *e = &resp->PartitionErrors.v[k];
            e->TopicName = q->UngroupedPartitions.v[i].TopicName;
            e->PartitionIndex = q->UngroupedPartitions.v[i].PartitionIndex;
            char *t = kp_str_dup(a, e->TopicName);
            if (t)
                stop_one(r, t, e->PartitionIndex, q->DeletePartitions);
        }
    } else {
        for (int32_t i = 0; i < q->Topics.n; i++) {
            char *t = kp_str_dup(a, q->Topics.v[i].Name);
            for (int32_t x = 0; x < q->Topics.v[i].PartitionIndexes.n; x++, k++) {
                kp_StopReplicaResponse_StopReplicaPartitionError *e = &resp->PartitionErrors.v[k];
                e->TopicName = q->Topics.v[i].Name;
                e->PartitionIndex = q->Topics.v[i].PartitionIndexes.v[x];
                if (t)
                    stop_one(r, t, e->PartitionIndex, q->DeletePartitions);
            }
        }
    }
    bsrv_respond(ctx, resp);
}

/* ---- topic config changes ---- */

static void config_changed_read(brep_t *r, zread_t *z, const rtcfg_t *cfg)
{
    if (!r)
        return;
    hmap_iter_t it;
    hmap_iter_init(&r->parts, &it);
    const void *k;
    size_t kl;
    void *v;
    while (hmap_iter_next(&r->parts, &it, &k, &kl, &v)) {
        rpart_t *p = v;
        if (strcmp(p->topic, z->topic) != 0)
            continue;
        p->cfg = *cfg;
        if (p->log)
            plog_set_config(p->log, &cfg->log);
    }
    LOG_I("rep", "topic %s: configuration re-read", z->topic);
}

void brep_topic_config_changed(brep_t *r, const char *topic)
{
    zread_start(r, topic, config_changed_read, NULL);
}

/* ---- life cycle ---- */

static const int handled_keys[] = {KP_PRODUCE, KP_FETCH, KP_LIST_OFFSETS, KP_LEADER_AND_ISR, KP_STOP_REPLICA,
                                   KP_DELETE_RECORDS, KP_OFFSET_FOR_LEADER_EPOCH};

brep_t *brep_new(broker_t *b)
{
    brep_t *r = xcalloc(1, sizeof *r);
    r->b = b;
    hmap_init(&r->parts);
    hmap_init(&r->topics);
    hmap_init(&r->isr_changed);
    if (b->base) {
        int64_t lag = b->cfg ? b->cfg->replica_lag_time_max_ms : 10000;
        int64_t half = lag / 2 > 0 ? lag / 2 : 1;
        struct timeval tv = {(time_t)(half / 1000), (suseconds_t)(half % 1000) * 1000};
        r->isr_ev = event_new(b->base, -1, EV_PERSIST, isr_check_cb, r);
        event_add(r->isr_ev, &tv);
        struct timeval pv = {2, 500000};
        r->prop_ev = event_new(b->base, -1, EV_PERSIST, isr_propagate_cb, r);
        event_add(r->prop_ev, &pv);
    }
    if (b->srv) {
        bsrv_set_handler(b->srv, KP_PRODUCE, on_produce, r);
        bsrv_set_handler(b->srv, KP_FETCH, on_fetch, r);
        bsrv_set_handler(b->srv, KP_LIST_OFFSETS, on_list_offsets, r);
        bsrv_set_handler(b->srv, KP_LEADER_AND_ISR, on_leader_and_isr, r);
        bsrv_set_handler(b->srv, KP_STOP_REPLICA, on_stop_replica, r);
        bsrv_set_handler(b->srv, KP_DELETE_RECORDS, on_delete_records, r);
        bsrv_set_handler(b->srv, KP_OFFSET_FOR_LEADER_EPOCH, on_offset_for_leader_epoch, r);
    }
    return r;
}

void brep_free(brep_t *r)
{
    if (!r)
        return;
    if (r->b->srv)
        for (size_t i = 0; i < sizeof handled_keys / sizeof handled_keys[0]; i++)
            bsrv_set_handler(r->b->srv, handled_keys[i], NULL, NULL);
    /* parked operations: answer them (their connections are gone or going) */
    while (r->fetches) {
        dfetch_t *f = r->fetches;
        r->fetches = f->next;
        bsrv_close(f->ctx);
        dfetch_free(f);
    }
    while (r->prods)
        dprod_try(r->prods, true, true);
    /* config reads in flight finish later with r gone */
    for (zread_t *z = r->zreads; z; z = z->next) {
        z->r = NULL;
        if (z->done == lai_config_read) {
            lai_job_t *j = z->arg;
            if (j->ctx) {
                bsrv_close(j->ctx);
                j->ctx = NULL;
            }
            j->r = NULL;
        }
    }
    r->zreads = NULL;
    for (isr_op_t *op = r->isr_ops; op; op = op->next)
        op->r = NULL;
    r->isr_ops = NULL;
    if (r->isr_ev)
        event_free(r->isr_ev);
    if (r->prop_ev)
        event_free(r->prop_ev);
    hmap_fini(&r->isr_changed, free);
    hmap_fini(&r->parts, part_free);
    hmap_fini(&r->topics, free);
    free(r);
}
