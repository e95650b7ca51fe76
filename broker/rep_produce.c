/* rep_produce.c — the replica manager's append path (see replica.h, rep_int.h): Produce
 * (acks, validation and conversion through krec_append_prepare, topic settings, idempotent
 * producers' duplicate and sequence checks), brep_append_internal, and the produce
 * purgatory: acks=-1 writes wait until the HW passes their last offset or their timeout. */
#include <stdlib.h>
#include <string.h>

#include "broker/rep_int.h"
#include "common/alloc.h"
#include "common/buf.h"
#include "common/log.h"
#include "proto/kafka_err.h"
#include "proto/kafka_records.h"

#define INTERNAL_TIMEOUT_MS 5000

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

/* The prepared batches of one append. The broker runs one event loop and part_append never
 * re-enters, so one buffer serves every append: no malloc and no fresh (page-faulting) pages
 * per request. Memory above SCRATCH_KEEP is given back after the append. */
#define SCRATCH_KEEP (4u << 20)
static buf_t g_scratch = BUF_INIT;

static void scratch_give(buf_t *b)
{
    if (b->cap > SCRATCH_KEEP || g_scratch.data) {
        buf_free(b);
        return;
    }
    b->len = 0;
    g_scratch = *b;
}

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
    buf_t out = g_scratch;
    g_scratch = (buf_t)BUF_INIT;   /* taken; given back by scratch_give */
    out.len = 0;
    const char *why = NULL;
    int rc = krec_append_prepare(data, len, &lim, &a, &out, &why);
    if (rc < 0) {
        LOG_D("rep", "%s-%d: produce refused: %s (%s)", p->topic, p->partition, kp_err_name(-rc), why ? why : "");
        scratch_give(&out);
        return (int16_t)-rc;
    }
    if (a.info.transactional) {
        scratch_give(&out);
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
            scratch_give(&out);
            res->base_offset = df;
            res->last_offset = dl;
            return KERR_NONE;
        }
        if (ck < 0) {
            scratch_give(&out);
            return (int16_t)-ck;
        }
    }
    plog_append_info_t info;
    rc = plog_append(p->log, out.data, out.len, now, &info);
    scratch_give(&out);
    if (rc < 0)
        return (int16_t)-rc;
    if (pid >= 0 && !internal)
        rps_record(p->pst, pid, a.info.producer_epoch, first_seq, last_seq, info.first_offset, info.last_offset);
    res->base_offset = info.first_offset;
    res->last_offset = info.last_offset;
    res->log_append_time = a.log_append_time;
    if (!rep_maybe_increment_hw(r, p))
        rep_wake_partition(r, p->topic, p->partition);   /* followers may wait for the LEO */
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
        rpart_t *p = shutdown ? NULL : rep_part_get(r, w->topic, w->partition);
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

/* ---- Produce ---- */

void rep_on_produce(bsrv_ctx_t *ctx, const kp_request_t *req, void *arg)
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
            rpart_t *p = rep_leader_part(r, a, t->Name, pd->PartitionIndex, &e);
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
    rpart_t *p = rep_part_get(r, topic, partition);
    if (!p || !p->leader || !p->log) {
        cb(arg, p ? KERR_NOT_LEADER_FOR_PARTITION : rep_not_here(r, topic, partition), -1);
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


void rep_produce_wake(brep_t *r, const char *topic, int32_t partition)
{
    for (dprod_t *d = r->prods; d; d = d->next)
        for (int i = 0; i < d->nw; i++)
            if (!d->w[i].done && d->w[i].partition == partition && strcmp(d->w[i].topic, topic) == 0) {
                event_active(d->wake, 0, 0);
                break;
            }
}

void rep_produce_shutdown(brep_t *r)
{
    while (r->prods)
        dprod_try(r->prods, true, true);
    buf_free(&g_scratch);
}
