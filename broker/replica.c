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
#include "broker/rep_int.h"
#include "broker/zkpaths.h"
#include "common/alloc.h"
#include "common/buf.h"
#include "common/log.h"
#include "proto/kafka_err.h"
#include "proto/kafka_records.h"

/* ---- partition keys and lookup ---- */

char *rep_name_dup(arena_t *a, kp_str_t s)
{
    if (s.len < 0 || (s.len > 0 && memchr(s.p, 0, (size_t)s.len)))
        return NULL;
    return kp_str_dup(a, s);
}

bool rep_pkey_make(pkey_t *k, const char *topic, size_t tlen, int32_t partition)
{
    if (tlen > 255)
        return false;
    be32_put((uint8_t *)k->b, (uint32_t)partition);
    memcpy(k->b + 4, topic, tlen);
    k->len = 4 + tlen;
    return true;
}

rpart_t *rep_part_get(const brep_t *r, const char *topic, int32_t partition)
{
    pkey_t k;
    if (!rep_pkey_make(&k, topic, strlen(topic), partition))
        return NULL;
    return hmap_get(&r->parts, k.b, k.len);
}

rpart_t *rep_part_get_s(const brep_t *r, kp_str_t topic, int32_t partition)
{
    pkey_t k;
    if (topic.len < 0 || !rep_pkey_make(&k, (const char *)topic.p, (size_t)topic.len, partition))
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
int16_t rep_not_here(const brep_t *r, const char *topic, int32_t partition)
{
    if (r->b->meta && bmeta_contains(r->b->meta, topic, partition))
        return KERR_NOT_LEADER_FOR_PARTITION;
    rpart_t *p = rep_part_get(r, topic, partition);
    return p ? KERR_NOT_LEADER_FOR_PARTITION : KERR_UNKNOWN_TOPIC_OR_PARTITION;
}

/* The leader partition for (topic, partition), or NULL with *err set. */
rpart_t *rep_leader_part(const brep_t *r, arena_t *a, kp_str_t topic, int32_t partition, int16_t *err)
{
    rpart_t *p = rep_part_get_s(r, topic, partition);
    if (p && p->leader && p->log) {
        *err = KERR_NONE;
        return p;
    }
    char *t = rep_name_dup(a, topic);
    *err = t ? rep_not_here(r, t, partition) : KERR_UNKNOWN_TOPIC_OR_PARTITION;
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
    if (r->nlisteners < REP_MAX_LISTENERS)
        r->listeners[r->nlisteners++] = (listener_t){fn, arg};
    else
        LOG_E("rep", "too many leadership listeners");
}

bool brep_is_leader(const brep_t *r, const char *topic, int32_t partition)
{
    const rpart_t *p = rep_part_get(r, topic, partition);
    return p && p->leader && p->log;
}

/* ---- high watermark ---- */

/* HW = min LEO over the ISR (this broker's own LEO is its log's). Returns true if it moved. */
bool rep_maybe_increment_hw(brep_t *r, rpart_t *p)
{
    if (!p->leader || !p->log)
        return false;
    int64_t hw = risr_hw(&p->rs, plog_end_offset(p->log));
    int64_t old = plog_high_watermark(p->log);
    if (hw <= old)
        return false;
    plog_set_high_watermark(p->log, hw);
    rep_wake_partition(r, p->topic, p->partition);
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
        rpart_t *p = rep_part_get(r, op->topic, op->partition);
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
                if (rep_pkey_make(&key, p->topic, strlen(p->topic), p->partition) &&
                    !hmap_get(&r->isr_changed, key.b, key.len))
                    hmap_put(&r->isr_changed, key.b, key.len, xstrdup(p->topic));
                r->last_isr_change_ms = broker_mono_ms();
                rep_maybe_increment_hw(r, p);
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
void rep_maybe_expand_isr(brep_t *r, rpart_t *p)
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


void rep_wake_partition(brep_t *r, const char *topic, int32_t partition)
{
    rep_fetch_wake(r, topic, partition);
    rep_produce_wake(r, topic, partition);
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
            rpart_t *p = rep_leader_part(r, a, t->Name, pq->PartitionIndex, &o->ErrorCode);
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
            rpart_t *p = rep_leader_part(r, a, t->Name, pq->PartitionIndex, &o->ErrorCode);
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
            rpart_t *p = rep_leader_part(r, a, t->Name, pq->PartitionIndex, &o->ErrorCode);
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
    if (!rep_pkey_make(&key, topic, strlen(topic), s->PartitionIndex))
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
    if (p->log != log || s->Leader != b->id)
        p->pst_built = false;   /* a follower's log changes under other hands: rebuild when leading */
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
        /* idempotent-producer state is rebuilt from the log at the first produce that needs it */
        rep_maybe_increment_hw(r, p);
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
        rep_wake_partition(r, topic, s->PartitionIndex);
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
            char *topic = rep_name_dup(bsrv_ctx_arena(j->ctx), j->topic_of[i]);
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
        char *topic = rep_name_dup(a, j->topic_of[i]);
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
        rpart_t *p = rep_part_get(r, topic, s->PartitionIndex);
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
    if (!rep_pkey_make(&key, topic, strlen(topic), partition))
        return;
    rpart_t *p = hmap_del(&r->parts, key.b, key.len);
    if (p) {
        if (p->leader) {
            p->leader = false;
            notify(r, p, false);
        }
        rep_wake_partition(r, topic, partition);
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
            char *t = rep_name_dup(a, e->TopicName);
            if (t)
                stop_one(r, t, e->PartitionIndex, q->DeletePartitions);
        }
    } else {
        for (int32_t i = 0; i < q->Topics.n; i++) {
            char *t = rep_name_dup(a, q->Topics.v[i].Name);
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
        bsrv_set_handler(b->srv, KP_PRODUCE, rep_on_produce, r);
        bsrv_set_handler(b->srv, KP_FETCH, rep_on_fetch, r);
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
    rep_fetch_shutdown(r);
    rep_produce_shutdown(r);
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
