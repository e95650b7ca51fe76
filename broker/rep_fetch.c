/* rep_fetch.c — Fetch for consumers and followers (see replica.h, rep_int.h): reads up to the
 * HW (followers: the LEO, and their fetch offsets move the HW), max_bytes / partition max
 * bytes / min_one (KIP-74), leader-epoch checks, sessionless answers (SessionId 0); a response
 * whose records go out of the segment files with sendfile (bsrv_respond_parts), or copied and
 * down-converted for fetch v0-v3 (magic 0 / 1); and the fetch purgatory: fewer than min_bytes
 * waits up to max_wait_ms, woken (deferred) by appends to its partitions. */
#include <stdlib.h>
#include <string.h>

#include "broker/rep_int.h"
#include "common/alloc.h"
#include "common/buf.h"
#include "common/log.h"
#include "proto/kafka_err.h"
#include "proto/kafka_records.h"

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

void rep_fetch_wake(brep_t *r, const char *topic, int32_t partition)
{
    for (dfetch_t *f = r->fetches; f; f = f->next)
        if (!f->wake_pending && fetch_wants(f->q, topic, partition)) {
            f->wake_pending = true;
            event_active(f->wake, 0, 0);
        }
}

/* One partition's part of a fetch response. */
typedef struct fpart_s {
    int16_t err;
    int64_t hw, lso, log_start;
    plog_slice_t slice;
    size_t conv_off, conv_len;   /* down-converted records (fetch v0-v3), in g_conv */
    bool converted;
} fpart_t;

static void put_str(buf_t *b, kp_str_t s)
{
    buf_put_be16(b, (uint16_t)(s.len < 0 ? 0 : s.len));
    if (s.len > 0)
        buf_put(b, s.p, (size_t)s.len);
}

typedef struct prange_s {
    size_t off, len;             /* a range of the header buffer (or, with conv, of g_conv) */
    const plog_slice_t *slice;   /* or a file range */
    bool conv;
} prange_t;

/* Scratch for down-conversion: the stored bytes of one partition (g_raw) and the converted
 * records of every partition of one response (g_conv). The loop is single-threaded and
 * fetch_try does not re-enter, so they are reused across fetches (no malloc and no fresh
 * pages per request); memory above SCRATCH_KEEP is given back after each response. */
#define SCRATCH_KEEP (8u << 20)
static buf_t g_raw = BUF_INIT, g_conv = BUF_INIT;

static void scratch_trim(buf_t *b)
{
    if (b->cap > SCRATCH_KEEP)
        buf_free(b);
    b->len = 0;
}

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
            rpart_t *p = rep_leader_part(r, a, t->Topic, fq->Partition, &o->err);
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
                    rep_maybe_increment_hw(r, p);
                    rep_maybe_expand_isr(r, p);
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
            g_raw.len = 0;
            int rc = plog_slice_copy(&o->slice, &g_raw);
            const char *why = NULL;
            o->conv_off = g_conv.len;
            if (rc == 0)
                rc = krec_down_convert(g_raw.data, g_raw.len, to_magic, 0, 0, &g_conv, NULL, &why);
            if (rc < 0) {
                LOG_W("rep", "fetch v%d: down-conversion failed: %s", version, why ? why : kp_err_name(-rc));
                o->err = (int16_t)-rc;
                g_conv.len = o->conv_off;
            }
            o->conv_len = g_conv.len - o->conv_off;
            o->converted = true;
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
                    buf_put_be32(&h, (uint32_t)o->conv_len);
                    if (o->conv_len) {   /* sent from g_conv, not copied into h */
                        pr[npr++] = (prange_t){mark, h.len - mark, NULL, false};
                        pr[npr++] = (prange_t){o->conv_off, o->conv_len, NULL, true};
                        mark = h.len;
                    }
                } else {
                    buf_put_be32(&h, (uint32_t)o->slice.len);
                    pr[npr++] = (prange_t){mark, h.len - mark, NULL, false};
                    pr[npr++] = (prange_t){0, 0, &o->slice, false};
                    mark = h.len;
                }
            }
        }
    }
    pr[npr++] = (prange_t){mark, h.len - mark, NULL, false};
    bsrv_part_t *parts = arena_alloc(a, (size_t)npr * sizeof *parts);
    for (int x = 0; x < npr; x++) {
        if (pr[x].slice)
            parts[x] = (bsrv_part_t){NULL, pr[x].slice->len, pr[x].slice->fd, pr[x].slice->pos};
        else if (pr[x].conv)
            parts[x] = (bsrv_part_t){g_conv.data + pr[x].off, pr[x].len, -1, 0};
        else
            parts[x] = (bsrv_part_t){h.data + pr[x].off, pr[x].len, -1, 0};
    }
    bsrv_respond_parts(ctx, parts, (size_t)npr);
    buf_free(&h);
    for (int x = 0; x < k; x++)
        plog_slice_release(&fp[x].slice);
    scratch_trim(&g_raw);
    scratch_trim(&g_conv);
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

void rep_on_fetch(bsrv_ctx_t *ctx, const kp_request_t *req, void *arg)
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


void rep_fetch_shutdown(brep_t *r)
{
    buf_free(&g_raw);
    buf_free(&g_conv);
    while (r->fetches) {
        dfetch_t *f = r->fetches;
        r->fetches = f->next;
        bsrv_close(f->ctx);
        dfetch_free(f);
    }
}
