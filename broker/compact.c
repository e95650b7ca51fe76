/* compact.c — log compaction (compact.h). */
#include "broker/compact.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/log_int.h"
#include "common/alloc.h"
#include "common/hmap.h"
#include "common/log.h"
#include "proto/kafka_err.h"
#include "proto/kafka_records.h"

#define SUB "cleaner"

int64_t lcompact_first_dirty(const plog_t *l)
{
    return l->first_dirty;
}

void lcompact_set_first_dirty(plog_t *l, int64_t offset)
{
    l->first_dirty = offset;
}

bool lcompact_due(plog_t *l, int64_t now_ms)
{
    if (!l->cfg.cleanup_compact || l->nsegs < 2)
        return false;
    uint64_t total = 0, dirty = 0;
    for (size_t i = 0; i + 1 < l->nsegs; i++) {
        total += l->segs[i]->size;
        if (l->first_dirty < 0 || l->segs[i + 1]->base > l->first_dirty)
            dirty += l->segs[i]->size;
    }
    return total > 0 && dirty > 0 && (double)dirty / (double)total >= l->cfg.min_cleanable_ratio;
}

/* ---- the key map -------------------------------------------------------------------------- */

typedef struct map_ctx_s {
    hmap_t *map;               /* key -> (last offset + 1) */
    int64_t records;
    int err;
} map_ctx_t;

static int map_cb(void *vctx, const lseg_hdr_t *h, uint64_t pos, const uint8_t *batch)
{
    map_ctx_t *c = vctx;
    krec_batch_t b;
    size_t q = 0;
    if (krec_batch_next(batch, h->size, &q, &b, NULL) != KREC_BATCH_OK) {
        c->err = -EBADMSG;
        return 1;
    }
    if (b.control)
        return 0;
    krec_recs_t r;
    int rc = krec_recs_open(&r, &b, 0, KREC_F_NO_CRC);
    krec_record_t rec;
    while (rc == 0 && (rc = krec_recs_next(&r, &rec)) == 1) {
        rc = 0;
        c->records++;
        if (rec.key_len >= 0)
            hmap_put(c->map, rec.key ? (const void *)rec.key : "", (size_t)rec.key_len,
                     (void *)(uintptr_t)(rec.offset + 1));
    }
    krec_recs_close(&r);
    if (rc < 0) {
        c->err = -EBADMSG;
        return 1;
    }
    return 0;
}

/* ---- rewriting ---------------------------------------------------------------------------- */

typedef struct clean_ctx_s {
    plog_t *l;
    hmap_t *map;
    int64_t now;
    buf_t out;                 /* the cleaned segment's bytes */
    lcompact_stats_t *st;
    int err;
} clean_ctx_t;

static bool keep_record(clean_ctx_t *c, const krec_batch_t *b, const krec_record_t *rec)
{
    if (rec->key_len < 0)
        return true;
    uintptr_t last = (uintptr_t)hmap_get(c->map, rec->key ? (const void *)rec->key : "", (size_t)rec->key_len);
    if (last != 0 && (int64_t)last - 1 > rec->offset)
        return false;          /* a later record has this key */
    if (rec->value_len < 0 && c->l->first_dirty >= 0 && rec->offset < c->l->first_dirty &&
        b->max_timestamp < c->now - c->l->cfg.delete_retention_ms) {
        c->st->tombstones_dropped++;
        return false;
    }
    return true;
}

static int clean_cb(void *vctx, const lseg_hdr_t *h, uint64_t pos, const uint8_t *batch)
{
    clean_ctx_t *c = vctx;
    krec_batch_t b;
    size_t q = 0;
    if (krec_batch_next(batch, h->size, &q, &b, NULL) != KREC_BATCH_OK) {
        c->err = -EBADMSG;
        return 1;
    }
    if (b.control) {
        buf_put(&c->out, batch, h->size);
        return 0;
    }
    /* first pass: does every record stay? */
    krec_recs_t r;
    krec_record_t rec;
    int32_t n = 0, kept = 0;
    int rc = krec_recs_open(&r, &b, 0, KREC_F_NO_CRC);
    while (rc == 0 && (rc = krec_recs_next(&r, &rec)) == 1) {
        rc = 0;
        n++;
        kept += keep_record(c, &b, &rec);
    }
    krec_recs_close(&r);
    if (rc < 0) {
        c->err = -EBADMSG;
        return 1;
    }
    c->st->records_read += n;
    c->st->records_kept += kept;
    if (kept == n) {
        buf_put(&c->out, batch, h->size);
        return 0;
    }
    if (kept == 0)
        return 0;
    /* rebuild with the kept records (tombstone counting already done: undo the double count) */
    int64_t dropped_before = c->st->tombstones_dropped;
    krec_build_t o;
    krec_build_init(&o, KREC_MAGIC_V2, b.codec);
    o.base_offset = b.base_offset;
    o.ts_type = b.ts_type == KREC_TS_LOG_APPEND ? KREC_TS_LOG_APPEND : KREC_TS_CREATE;
    o.log_append_time = b.max_timestamp;
    o.partition_leader_epoch = b.partition_leader_epoch;
    o.producer_id = b.producer_id;
    o.producer_epoch = b.producer_epoch;
    o.base_sequence = b.base_sequence;
    o.transactional = b.transactional;
    krec_writer_t w;
    krec_writer_begin(&w, &o, &c->out);
    rc = krec_recs_open(&r, &b, 0, KREC_F_NO_CRC);
    while (rc == 0 && (rc = krec_recs_next(&r, &rec)) == 1) {
        rc = 0;
        if (keep_record(c, &b, &rec) && krec_writer_add(&w, &rec) != 0)
            rc = -1;
    }
    krec_recs_close(&r);
    c->st->tombstones_dropped = dropped_before;
    if (rc < 0) {
        krec_writer_abort(&w);
        c->err = -EBADMSG;
        return 1;
    }
    if (krec_writer_finish(&w) != 0) {
        c->err = -EBADMSG;
        return 1;
    }
    return 0;
}

static int write_file(const char *path, const buf_t *b)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    size_t done = 0;
    int rc = 0;
    while (done < b->len) {
        ssize_t w = write(fd, b->data + done, b->len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = w < 0 ? -errno : -EIO;
            break;
        }
        done += (size_t)w;
    }
    if (rc == 0 && fdatasync(fd) != 0)
        rc = -errno;
    close(fd);
    return rc;
}

/* Rewrites segment i (sealed). May delete it (empty and not the first). */
static int clean_segment(plog_t *l, size_t i, hmap_t *map, int64_t now, lcompact_stats_t *st, bool *removed)
{
    lseg_t *s = l->segs[i];
    *removed = false;
    clean_ctx_t c = {l, map, now, BUF_INIT, st, 0};
    uint64_t end;
    int rc = lseg_scan(s, 0, s->size, true, UINT32_MAX, clean_cb, &c, &end);
    if (rc == 0 && c.err)
        rc = c.err;
    else if (rc == 1 || rc == 2)
        rc = c.err ? c.err : -EBADMSG;
    if (rc != 0) {
        buf_free(&c.out);
        return rc;
    }
    st->bytes_before += s->size;
    st->bytes_after += c.out.len;
    st->segments++;
    if (c.out.len == s->size) {        /* nothing removed: leave the files alone */
        buf_free(&c.out);
        return 0;
    }
    if (c.out.len == 0 && i > 0) {
        buf_free(&c.out);
        *removed = true;
        return plog_int_drop_seg(l, i);
    }
    char *cleaned = xasprintf("%s.log.cleaned", s->stem);
    char *final = xasprintf("%s.log", s->stem);
    rc = write_file(cleaned, &c.out);
    buf_free(&c.out);
    if (rc == 0)
        rc = lidx_unlink(&s->oidx);
    if (rc == 0)
        rc = lidx_unlink(&s->tidx);
    if (rc == 0 && rename(cleaned, final) != 0)
        rc = -errno;
    if (rc != 0)
        unlink(cleaned);
    free(cleaned);
    free(final);
    if (rc != 0)
        return rc;
    /* the new file: indexes rebuilt by a (cheap, cached) recovery scan, then sealed */
    const char *slash = strrchr(s->stem, '/');
    char *dir = xstrndup(s->stem, (size_t)(slash - s->stem));
    lseg_t *ns;
    rc = lseg_open(dir, s->base, now, &ns);
    free(dir);
    if (rc != 0)
        return rc;
    uint64_t cut;
    rc = lseg_recover(ns, UINT32_MAX, (uint32_t)l->cfg.index_interval_bytes, &cut);
    if (rc == 0)
        rc = lseg_seal(ns);
    if (rc != 0) {
        lseg_unref(ns);
        return rc;
    }
    plog_int_replace_seg(l, i, ns);
    return 0;
}

int lcompact_run(plog_t *l, int64_t now_ms, lcompact_stats_t *stp)
{
    lcompact_stats_t st0;
    lcompact_stats_t *st = stp ? stp : &st0;
    memset(st, 0, sizeof *st);
    if (!l->cfg.cleanup_compact || l->nsegs < 2)
        return 0;
    /* sealed segments old enough for min.compaction.lag.ms */
    size_t upto = 0;
    while (upto + 1 < l->nsegs) {
        lseg_t *s = l->segs[upto];
        lseg_last_offset(s);   /* loads max_ts; a segment without timestamps has no age */
        if (s->max_ts >= 0 && now_ms - s->max_ts < l->cfg.min_compaction_lag_ms)
            break;
        upto++;
    }
    if (upto == 0)
        return 0;
    hmap_t map;
    hmap_init(&map);
    map_ctx_t mc = {&map, 0, 0};
    int rc = 0;
    for (size_t i = 0; i < upto && rc == 0; i++) {
        uint64_t end;
        lseg_t *s = l->segs[i];
        int r = lseg_scan(s, 0, s->size, true, UINT32_MAX, map_cb, &mc, &end);
        if (r < 0)
            rc = r;
        else if (r != 0 || mc.err)
            rc = mc.err ? mc.err : -EBADMSG;
    }
    int64_t next_dirty = l->segs[upto]->base;
    for (size_t i = 0; i < upto && rc == 0;) {
        bool removed;
        rc = clean_segment(l, i, &map, now_ms, st, &removed);
        if (!removed)
            i++;
        else
            upto--;
    }
    hmap_fini(&map, NULL);
    if (rc != 0) {
        LOG_E(SUB, "%s: compaction failed: %s", l->dir, strerror(-rc));
        return -KERR_KAFKA_STORAGE_ERROR;
    }
    l->first_dirty = next_dirty;
    l->last_clean_ms = now_ms;
    plog_int_changed(l);
    return 0;
}
