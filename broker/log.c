/* log.c — one partition's log (log.h): open and recovery, append and roll, reads, offsets,
 * truncation, retention, flush and the leader epoch cache. */
#include "broker/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/log_int.h"
#include "common/alloc.h"
#include "common/log.h"
#include "proto/kafka_err.h"
#include "proto/kafka_records.h"

#define SUB "log"
#define RECOVERY_MIN_BATCH_BOUND (128u << 20)

void plog_config_default(plog_config_t *c)
{
    memset(c, 0, sizeof *c);
    c->segment_bytes = 1073741824;
    c->segment_ms = 7LL * 24 * 3600 * 1000;
    c->segment_jitter_ms = 0;
    c->segment_index_bytes = 10485760;
    c->index_interval_bytes = 4096;
    c->retention_ms = 7LL * 24 * 3600 * 1000;
    c->retention_bytes = -1;
    c->cleanup_delete = true;
    c->cleanup_compact = false;
    c->delete_retention_ms = 24LL * 3600 * 1000;
    c->min_compaction_lag_ms = 0;
    c->min_cleanable_ratio = 0.5;
    c->flush_messages = INT64_MAX;
    c->flush_ms = INT64_MAX;
    c->max_message_bytes = KREC_DEFAULT_MAX_MESSAGE_BYTES;
}

static int storage_err(const plog_t *l, const char *what, int rc)
{
    LOG_E(SUB, "%s: %s failed: %s", l->dir, what, strerror(rc < 0 ? -rc : rc));
    return -KERR_KAFKA_STORAGE_ERROR;
}

/* ---- segment array ------------------------------------------------------------------------ */

static void segs_push(plog_t *l, lseg_t *s)
{
    if (l->nsegs == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->segs = xrealloc(l->segs, l->cap * sizeof *l->segs);
    }
    l->segs[l->nsegs++] = s;
}

static lseg_t *active(const plog_t *l)
{
    return l->segs[l->nsegs - 1];
}

size_t plog_int_seg_for(const plog_t *l, int64_t offset)
{
    size_t lo = 0, hi = l->nsegs - 1;
    if (offset < l->segs[0]->base)
        return 0;
    while (lo < hi) {
        size_t mid = hi - (hi - lo) / 2;
        if (l->segs[mid]->base <= offset)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

void plog_int_changed(plog_t *l)
{
    l->hw_cache_off = -1;
}

void plog_int_replace_seg(plog_t *l, size_t i, lseg_t *s)
{
    lseg_t *old = l->segs[i];
    l->segs[i] = s;
    lseg_unref(old);
    plog_int_changed(l);
}

int plog_int_drop_seg(plog_t *l, size_t i)
{
    lseg_t *s = l->segs[i];
    int rc = lseg_unlink(s);
    memmove(l->segs + i, l->segs + i + 1, (l->nsegs - i - 1) * sizeof *l->segs);
    l->nsegs--;
    lseg_unref(s);
    plog_int_changed(l);
    return rc;
}

/* ---- leader epochs ------------------------------------------------------------------------ */

static int epochs_save(plog_t *l)
{
    char *p = xasprintf("%s/%s", l->dir, LCKPT_EPOCH);
    int rc = lckpt_epochs_write(p, l->epochs, l->nepochs);
    free(p);
    return rc == 0 ? 0 : storage_err(l, "writing " LCKPT_EPOCH, rc);
}

/* Drops epochs starting at or after end. Returns true if something changed. */
static bool epochs_truncate_end(plog_t *l, int64_t end)
{
    size_t n = l->nepochs;
    while (l->nepochs > 0 && l->epochs[l->nepochs - 1].start >= end)
        l->nepochs--;
    return n != l->nepochs;
}

/* Kafka's truncateFromStart: epochs wholly below start go; the last of them starts at start. */
static bool epochs_truncate_start(plog_t *l, int64_t start)
{
    size_t k = 0;              /* entries with start < new start */
    while (k < l->nepochs && l->epochs[k].start < start)
        k++;
    if (k == 0)
        return false;
    lckpt_epoch_t keep = l->epochs[k - 1];
    keep.start = start;
    size_t rest = l->nepochs - k;
    if (rest > 0 && l->epochs[k].start == start) {
        memmove(l->epochs, l->epochs + k, rest * sizeof *l->epochs);
        l->nepochs = rest;
    } else {
        memmove(l->epochs + 1, l->epochs + k, rest * sizeof *l->epochs);
        l->epochs[0] = keep;
        l->nepochs = rest + 1;
    }
    return true;
}

static bool epochs_add(plog_t *l, int32_t epoch, int64_t start)
{
    if (epoch < 0 || (l->nepochs > 0 && epoch <= l->epochs[l->nepochs - 1].epoch))
        return false;
    /* a new epoch cannot start before the previous one did */
    while (l->nepochs > 0 && l->epochs[l->nepochs - 1].start >= start)
        l->nepochs--;
    if (l->nepochs == l->epochs_cap) {
        l->epochs_cap = l->epochs_cap ? l->epochs_cap * 2 : 4;
        l->epochs = xrealloc(l->epochs, l->epochs_cap * sizeof *l->epochs);
    }
    l->epochs[l->nepochs++] = (lckpt_epoch_t){epoch, start};
    return true;
}

int plog_assign_epoch(plog_t *l, int32_t epoch, int64_t start)
{
    if (!epochs_add(l, epoch, start))
        return 0;
    return epochs_save(l);
}

int32_t plog_latest_epoch(const plog_t *l)
{
    return l->nepochs ? l->epochs[l->nepochs - 1].epoch : -1;
}

void plog_end_offset_for_epoch(const plog_t *l, int32_t epoch, int32_t *found_epoch, int64_t *end_offset)
{
    *found_epoch = -1;
    *end_offset = -1;
    if (l->nepochs == 0 || epoch < l->epochs[0].epoch)
        return;
    if (epoch >= l->epochs[l->nepochs - 1].epoch) {
        *found_epoch = l->epochs[l->nepochs - 1].epoch;
        *end_offset = l->leo;
        return;
    }
    size_t i = 0;               /* first entry with epoch > requested */
    while (l->epochs[i].epoch <= epoch)
        i++;
    *found_epoch = l->epochs[i - 1].epoch;
    *end_offset = l->epochs[i].start;
}

/* ---- open / close ------------------------------------------------------------------------- */

int plog_parse_dir_name(const char *name, char **topic, int32_t *partition)
{
    const char *dash = strrchr(name, '-');
    if (!dash || dash == name || !dash[1])
        return -1;
    int64_t p = 0;
    for (const char *c = dash + 1; *c; c++) {
        if (*c < '0' || *c > '9' || p > INT32_MAX / 10)
            return -1;
        p = p * 10 + (*c - '0');
    }
    if (p > INT32_MAX)
        return -1;
    *topic = xstrndup(name, (size_t)(dash - name));
    *partition = (int32_t)p;
    return 0;
}

static bool has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Base offsets of the .log files; removes leftovers of interrupted operations. */
static int list_segments(plog_t *l, int64_t **bases, size_t *n)
{
    DIR *d = opendir(l->dir);
    if (!d)
        return -errno;
    size_t cap = 0;
    *bases = NULL;
    *n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *nm = e->d_name;
        if (has_suffix(nm, ".cleaned") || has_suffix(nm, ".deleted") || has_suffix(nm, ".swap") ||
            has_suffix(nm, ".tmp")) {
            char *p = xasprintf("%s/%s", l->dir, nm);
            LOG_I(SUB, "%s: removing leftover %s", l->dir, nm);
            unlink(p);
            free(p);
            continue;
        }
        if (strlen(nm) != LSEG_NAME_DIGITS + 4 || !has_suffix(nm, ".log"))
            continue;
        int64_t b = 0;
        bool ok = true;
        for (int i = 0; i < LSEG_NAME_DIGITS; i++) {
            if (nm[i] < '0' || nm[i] > '9' || b > (INT64_MAX - 9) / 10) {
                ok = false;
                break;
            }
            b = b * 10 + (nm[i] - '0');
        }
        if (!ok)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            *bases = xrealloc(*bases, cap * sizeof **bases);
        }
        (*bases)[(*n)++] = b;
    }
    closedir(d);
    if (*n > 1)
        qsort(*bases, *n, sizeof **bases, cmp_i64);
    return 0;
}

static void plog_free(plog_t *l)
{
    for (size_t i = 0; i < l->nsegs; i++)
        lseg_unref(l->segs[i]);
    free(l->segs);
    free(l->epochs);
    free(l->log_dir);
    free(l->dir);
    free(l->topic);
    free(l);
}

static int recover_seg(plog_t *l, size_t i, uint64_t *cut)
{
    lseg_t *s = l->segs[i];
    /* Logs are opened with the broker defaults before topic overrides are known, so the size
     * bound is generous (a topic's max.message.bytes may be larger); the CRC decides. */
    size_t max_batch = (size_t)l->cfg.max_message_bytes + KREC_LOG_OVERHEAD;
    if (max_batch < RECOVERY_MIN_BATCH_BOUND)
        max_batch = RECOVERY_MIN_BATCH_BOUND;
    int rc = lseg_recover(s, max_batch, (uint32_t)l->cfg.index_interval_bytes, cut);
    if (rc != 0)
        return storage_err(l, "recovering a segment", rc);
    if (*cut)
        LOG_W(SUB, "%s: segment %020" PRId64 ": cut %" PRIu64 " bytes of torn or invalid data at position %" PRIu64,
              l->dir, s->base, *cut, s->size);
    if (i + 1 < l->nsegs)
        lseg_seal(s);
    return 0;
}

/* Recovery (unclean) or sanity checks (clean), then the active segment's state. */
static int load_segments(plog_t *l, const plog_open_t *o)
{
    int64_t rp = o->recovery_point < 0 ? 0 : o->recovery_point;
    size_t first = o->clean_shutdown ? l->nsegs : plog_int_seg_for(l, rp);
    if (!o->clean_shutdown && rp < l->segs[0]->base)
        first = 0;
    for (size_t i = 0; i < l->nsegs; i++) {
        lseg_t *s = l->segs[i];
        bool need = i >= first;
        if (!need) {
            bool bad = lidx_check(&s->oidx, s->size) != 0 || lidx_check(&s->tidx, s->size) != 0 ||
                       (s->size > (uint64_t)l->cfg.index_interval_bytes + 1 && lidx_count(&s->oidx) == 0);
            if (bad) {
                LOG_W(SUB, "%s: segment %020" PRId64 ": index missing or corrupt; rebuilding", l->dir, s->base);
                need = true;
            }
        }
        if (!need)
            continue;
        uint64_t cut;
        int rc = recover_seg(l, i, &cut);
        if (rc != 0)
            return rc;
        if (cut && i + 1 < l->nsegs) {
            /* the log must stay contiguous: nothing after a cut survives */
            while (l->nsegs > i + 1) {
                LOG_W(SUB, "%s: deleting segment %020" PRId64 " after the cut", l->dir, active(l)->base);
                plog_int_drop_seg(l, l->nsegs - 1);
            }
            break;
        }
    }
    lseg_t *a = active(l);
    if (a->sealed) {
        int rc = lseg_activate(a);
        if (rc != 0) {
            LOG_W(SUB, "%s: active segment %020" PRId64 " unreadable (%s); recovering it", l->dir, a->base,
                  strerror(-rc));
            uint64_t cut;
            rc = recover_seg(l, l->nsegs - 1, &cut);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

int plog_open(const plog_open_t *o, plog_t **out)
{
    *out = NULL;
    if (!o->topic || !*o->topic || strchr(o->topic, '/') || o->partition < 0 || strcmp(o->topic, ".") == 0 ||
        strcmp(o->topic, "..") == 0)
        return -KERR_INVALID_REQUEST;
    plog_t *l = xcalloc(1, sizeof *l);
    l->log_dir = xstrdup(o->log_dir);
    l->topic = xstrdup(o->topic);
    l->partition = o->partition;
    l->dir = xasprintf("%s/%s-%" PRId32, o->log_dir, o->topic, o->partition);
    if (o->config)
        l->cfg = *o->config;
    else
        plog_config_default(&l->cfg);
    l->hw_cache_off = -1;
    l->first_dirty = -1;
    l->last_flush_ms = o->now_ms;
    l->last_clean_ms = o->now_ms;

    int rc;
    if (mkdir(l->dir, 0755) != 0) {
        if (errno != EEXIST) {
            rc = storage_err(l, "mkdir", -errno);
            goto fail;
        }
    } else if (!o->create) {
        rmdir(l->dir);
        rc = -KERR_UNKNOWN_TOPIC_OR_PARTITION;
        goto fail;
    }
    int64_t *bases = NULL;
    size_t nb = 0;
    rc = list_segments(l, &bases, &nb);
    if (rc != 0) {
        rc = storage_err(l, "listing the directory", rc);
        goto fail;
    }
    for (size_t i = 0; i < nb && rc == 0; i++) {
        lseg_t *s;
        rc = lseg_open(l->dir, bases[i], o->now_ms, &s);
        if (rc == 0)
            segs_push(l, s);
        else
            rc = storage_err(l, "opening a segment", rc);
    }
    free(bases);
    if (rc != 0)
        goto fail;
    if (l->nsegs == 0) {
        lseg_t *s;
        int64_t base = o->log_start_offset > 0 ? o->log_start_offset : 0;
        rc = lseg_create(l->dir, base, o->now_ms, &s);
        if (rc != 0) {
            rc = storage_err(l, "creating the first segment", rc);
            goto fail;
        }
        segs_push(l, s);
    } else {
        rc = load_segments(l, o);
        if (rc != 0)
            goto fail;
    }
    l->leo = lseg_last_offset(active(l)) + 1;
    l->log_start = o->log_start_offset > l->segs[0]->base ? o->log_start_offset : l->segs[0]->base;
    if (l->log_start > l->leo)
        l->log_start = l->leo;
    l->hw = o->high_watermark < l->log_start ? l->log_start : o->high_watermark > l->leo ? l->leo : o->high_watermark;
    l->recovery_point = o->recovery_point < 0 ? 0 : o->recovery_point > l->leo ? l->leo : o->recovery_point;

    char *ep = xasprintf("%s/%s", l->dir, LCKPT_EPOCH);
    char err[256];
    rc = lckpt_epochs_read(ep, &l->epochs, &l->nepochs, err, sizeof err);
    free(ep);
    if (rc != 0) {
        LOG_W(SUB, "%s: %s; starting with an empty leader epoch cache", l->dir, err);
        l->epochs = NULL;
        l->nepochs = 0;
    }
    l->epochs_cap = l->nepochs;
    bool changed = rc != 0;
    changed |= epochs_truncate_end(l, l->leo);
    changed |= epochs_truncate_start(l, l->log_start);
    rc = changed ? epochs_save(l) : 0;
    if (rc != 0)
        goto fail;
    LOG_D(SUB, "%s: opened: %zu segments, log start %" PRId64 ", end %" PRId64 ", hw %" PRId64, l->dir, l->nsegs,
          l->log_start, l->leo, l->hw);
    *out = l;
    return 0;
fail:
    plog_free(l);
    return rc;
}

int plog_close(plog_t *l, bool flush)
{
    int rc = 0;
    if (flush)
        rc = plog_flush(l, l->last_flush_ms);
    for (size_t i = 0; i < l->nsegs; i++) {
        lseg_t *s = l->segs[i];
        int r = lidx_sync(&s->oidx, false);
        if (r == 0)
            r = lidx_sync(&s->tidx, false);
        if (r != 0 && rc == 0)
            rc = storage_err(l, "writing an index", r);
    }
    plog_free(l);
    return rc;
}

void plog_set_config(plog_t *l, const plog_config_t *c)
{
    l->cfg = *c;
}

const plog_config_t *plog_config(const plog_t *l)
{
    return &l->cfg;
}

/* ---- append ------------------------------------------------------------------------------- */

static int roll(plog_t *l, int64_t base, int64_t now_ms)
{
    lseg_t *a = active(l);
    int rc = lseg_seal(a);
    if (rc != 0)
        return storage_err(l, "sealing a segment", rc);
    lseg_t *s;
    rc = lseg_create(l->dir, base, now_ms, &s);
    if (rc != 0)
        return storage_err(l, "creating a segment", rc);
    segs_push(l, s);
    LOG_D(SUB, "%s: rolled to segment %020" PRId64, l->dir, base);
    return 0;
}

static bool should_roll(plog_t *l, size_t len, int64_t max_ts, int64_t last, int64_t now_ms)
{
    lseg_t *a = active(l);
    if (a->size == 0)
        return false;
    if ((int64_t)a->size > l->cfg.segment_bytes - (int64_t)len)
        return true;
    int64_t first = lseg_first_ts(a);
    int64_t waited = first >= 0 ? max_ts - first : now_ms - a->created_ms;
    if (waited > l->cfg.segment_ms - l->cfg.segment_jitter_ms)
        return true;
    if (lidx_count(&a->oidx) >= (size_t)(l->cfg.segment_index_bytes / LIDX_OFFSET_ENTRY) ||
        lidx_count(&a->tidx) >= (size_t)(l->cfg.segment_index_bytes / LIDX_TIME_ENTRY))
        return true;
    return last - a->base > INT32_MAX;
}

int plog_append(plog_t *l, const uint8_t *data, size_t len, int64_t now_ms, plog_append_info_t *info)
{
    plog_append_info_t in = {l->leo, l->leo - 1, -1, 0, 0, false};
    if (info)
        *info = in;
    if (len == 0)
        return 0;
    int64_t prev = l->leo - 1;
    for (size_t p = 0; p < len;) {
        lseg_hdr_t h;
        if (len - p < KREC_V2_HEADER_SIZE || lseg_hdr_parse(data + p, &h) != 0 || h.size > len - p)
            return -KERR_CORRUPT_MESSAGE;
        if (p == 0 ? h.base < l->leo : h.base <= prev)
            return -KERR_CORRUPT_MESSAGE;   /* offsets must move forward from the log end */
        if (p == 0)
            in.first_offset = h.base;
        if (h.max_ts > in.max_timestamp)
            in.max_timestamp = h.max_ts;
        in.batches++;
        in.records += h.count;
        prev = h.last;
        p += h.size;
    }
    in.last_offset = prev;
    if ((int64_t)len > l->cfg.segment_bytes)
        return -KERR_RECORD_LIST_TOO_LARGE;
    if (in.last_offset - in.first_offset > INT32_MAX)
        return -KERR_CORRUPT_MESSAGE;
    if (should_roll(l, len, in.max_timestamp, in.last_offset, now_ms)) {
        int rc = roll(l, in.first_offset, now_ms);
        if (rc != 0)
            return rc;
        in.rolled = true;
    } else if (active(l)->size == 0 && in.first_offset > active(l)->base && in.first_offset - active(l)->base > INT32_MAX) {
        return -KERR_CORRUPT_MESSAGE;
    }
    int rc = lseg_append(active(l), data, len, (uint32_t)l->cfg.index_interval_bytes, now_ms);
    if (rc != 0)
        return storage_err(l, "write", rc);
    bool epochs_changed = false;
    for (size_t p = 0; p < len;) {
        lseg_hdr_t h;
        lseg_hdr_parse(data + p, &h);
        epochs_changed |= epochs_add(l, h.epoch, h.base);
        p += h.size;
    }
    l->leo = in.last_offset + 1;
    l->unflushed += in.records;
    if (info)
        *info = in;
    if (epochs_changed && (rc = epochs_save(l)) != 0)
        return rc;
    if (l->unflushed >= l->cfg.flush_messages)
        return plog_flush(l, now_ms);
    return 0;
}

/* ---- read --------------------------------------------------------------------------------- */

void plog_slice_release(plog_slice_t *s)
{
    if (s->seg)
        lseg_unref(s->seg);
    s->seg = NULL;
    s->fd = -1;
    s->len = 0;
}

int plog_slice_copy(const plog_slice_t *s, buf_t *out)
{
    if (s->len == 0)
        return 0;
    buf_reserve(out, s->len);
    int rc = lseg_pread(s->seg, (uint64_t)s->pos, out->data + out->len, s->len);
    if (rc != 0) {
        LOG_E(SUB, "read of %zu bytes at %" PRId64 " failed: %s", s->len, s->pos, strerror(-rc));
        return -KERR_KAFKA_STORAGE_ERROR;
    }
    out->len += s->len;
    return 0;
}

/* Position in segment `i` where data at or beyond `off` starts (off within or after segment i). */
static int bound_pos(plog_t *l, size_t i, int64_t off, uint64_t *pos)
{
    lseg_t *s = l->segs[i];
    if (off >= l->leo || plog_int_seg_for(l, off) > i) {
        *pos = s->size;
        return 0;
    }
    if (l->hw_cache_off == off && l->hw_cache_seg == i) {
        *pos = l->hw_cache_pos;
        return 0;
    }
    lseg_hdr_t h;
    int rc = lseg_translate(s, off, pos, &h);
    if (rc < 0)
        return rc;
    if (off == l->hw) {
        l->hw_cache_off = off;
        l->hw_cache_seg = i;
        l->hw_cache_pos = *pos;
    }
    return 0;
}

int plog_read(plog_t *l, int64_t offset, size_t max_bytes, int64_t max_offset, bool min_one, plog_slice_t *out)
{
    *out = (plog_slice_t){NULL, -1, 0, 0, -1};
    if (offset < l->log_start || offset > l->leo)
        return -KERR_OFFSET_OUT_OF_RANGE;
    if (max_offset < 0 || max_offset > l->leo)
        max_offset = l->leo;
    if (offset >= max_offset)
        return 0;
    for (size_t i = plog_int_seg_for(l, offset); i < l->nsegs; i++) {
        lseg_t *s = l->segs[i];
        uint64_t pos;
        lseg_hdr_t h;
        int rc = lseg_translate(s, offset, &pos, &h);
        if (rc < 0)
            return storage_err(l, "reading a batch header", rc);
        if (rc == 0)
            continue;           /* nothing at or after offset here: the next segment */
        if (h.base >= max_offset)
            return 0;
        uint64_t end;
        rc = bound_pos(l, i, max_offset, &end);
        if (rc < 0)
            return storage_err(l, "reading a batch header", rc);
        if (end <= pos)
            return 0;
        size_t want = max_bytes;
        if (min_one && h.size > want)
            want = h.size;
        size_t len = end - pos < want ? (size_t)(end - pos) : want;
        if (len == 0)
            return 0;
        lseg_ref(s);
        *out = (plog_slice_t){s, s->fd, (int64_t)pos, len, h.base};
        return 0;
    }
    return 0;
}

/* ---- offsets ------------------------------------------------------------------------------ */

int64_t plog_start_offset(const plog_t *l) { return l->log_start; }
int64_t plog_end_offset(const plog_t *l) { return l->leo; }
int64_t plog_high_watermark(const plog_t *l) { return l->hw; }
int64_t plog_recovery_point(const plog_t *l) { return l->recovery_point; }

void plog_set_high_watermark(plog_t *l, int64_t hw)
{
    if (hw < l->log_start)
        hw = l->log_start;
    if (hw > l->leo)
        hw = l->leo;
    l->hw = hw;
}

int plog_offset_for_time(plog_t *l, int64_t ts, int64_t *offset, int64_t *found_ts)
{
    for (size_t i = plog_int_seg_for(l, l->log_start); i < l->nsegs; i++) {
        lseg_t *s = l->segs[i];
        lseg_last_offset(s);    /* loads max_ts */
        if (s->max_ts == LSEG_UNKNOWN || s->max_ts < ts)
            continue;
        int rc = lseg_find_ts(s, ts, l->log_start, offset, found_ts);
        if (rc < 0)
            return storage_err(l, "searching by timestamp", rc);
        if (rc == 1)
            return 1;
    }
    return 0;
}

/* ---- changes ------------------------------------------------------------------------------ */

static void after_truncation(plog_t *l)
{
    l->leo = lseg_last_offset(active(l)) + 1;
    if (l->log_start > l->leo)
        l->log_start = l->leo;
    if (l->hw > l->leo)
        l->hw = l->leo;
    if (l->recovery_point > l->leo)
        l->recovery_point = l->leo;
    if (l->first_dirty > l->leo)
        l->first_dirty = l->leo;
    plog_int_changed(l);
}

int plog_truncate_fully(plog_t *l, int64_t offset, int64_t now_ms)
{
    if (offset < 0)
        return -KERR_INVALID_REQUEST;
    /* the new first segment may share a base with an old one: drop them all first */
    while (l->nsegs > 1)
        plog_int_drop_seg(l, l->nsegs - 1);
    lseg_t *old = l->segs[0];
    int rc = lseg_unlink(old);
    if (rc != 0)
        return storage_err(l, "deleting a segment", rc);
    lseg_t *s;
    rc = lseg_create(l->dir, offset, now_ms, &s);
    if (rc != 0)
        return storage_err(l, "creating a segment", rc);
    plog_int_replace_seg(l, 0, s);
    l->leo = l->log_start = l->hw = l->recovery_point = offset;
    l->first_dirty = -1;
    l->nepochs = 0;
    l->unflushed = 0;
    return epochs_save(l);
}

int plog_truncate_to(plog_t *l, int64_t offset)
{
    if (offset < 0)
        return -KERR_INVALID_REQUEST;
    if (offset >= l->leo)
        return 0;
    if (offset < l->segs[0]->base)
        return plog_truncate_fully(l, offset, active(l)->created_ms);
    while (l->nsegs > 1 && active(l)->base > offset) {
        int rc = plog_int_drop_seg(l, l->nsegs - 1);
        if (rc != 0)
            return storage_err(l, "deleting a segment", rc);
    }
    int rc = lseg_truncate_to(active(l), offset);
    if (rc != 0)
        return storage_err(l, "truncating a segment", rc);
    after_truncation(l);
    if (epochs_truncate_end(l, l->leo))
        return epochs_save(l);
    return 0;
}

/* Deletes whole segments below the log start offset (never the active one). */
static int drop_below_start(plog_t *l)
{
    int n = 0;
    while (l->nsegs > 1 && l->segs[1]->base <= l->log_start) {
        int rc = plog_int_drop_seg(l, 0);
        if (rc != 0)
            return storage_err(l, "deleting a segment", rc);
        n++;
    }
    return n;
}

int plog_delete_records(plog_t *l, int64_t offset, int64_t *low_watermark)
{
    if (offset == -1)
        offset = l->hw;
    if (offset < 0 || offset > l->hw)
        return -KERR_OFFSET_OUT_OF_RANGE;
    if (offset > l->log_start) {
        l->log_start = offset;
        if (epochs_truncate_start(l, offset)) {
            int rc = epochs_save(l);
            if (rc != 0)
                return rc;
        }
        int rc = drop_below_start(l);
        if (rc < 0)
            return rc;
    }
    if (low_watermark)
        *low_watermark = l->log_start;
    return 0;
}

int plog_delete(plog_t *l)
{
    uint8_t u[16];
    if (getrandom(u, sizeof u, 0) != (ssize_t)sizeof u) {
        for (size_t i = 0; i < sizeof u; i++)   /* uniqueness only, not secrecy */
            u[i] = (uint8_t)(rand() ^ (int)(intptr_t)l >> (i % 8));
    }
    char hex[33];
    for (size_t i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", u[i]);
    char *to = xasprintf("%s/%s-%" PRId32 ".%s-delete", l->log_dir, l->topic, l->partition, hex);
    int rc = 0;
    const char *gone = l->dir;
    if (rename(l->dir, to) != 0)
        rc = storage_err(l, "renaming for deletion", -errno);
    else
        gone = to;
    for (size_t i = 0; i < l->nsegs; i++)
        lseg_unref(l->segs[i]);
    l->nsegs = 0;
    int r = lckpt_rmtree(gone);
    if (r != 0 && rc == 0)
        rc = storage_err(l, "removing the directory", r);
    free(to);
    plog_free(l);
    return rc;
}

/* ---- retention and flush ---------------------------------------------------------------- */

int plog_retention(plog_t *l, int64_t now_ms)
{
    int deleted = drop_below_start(l);
    if (deleted < 0 || !l->cfg.cleanup_delete)
        return deleted;
    uint64_t total = plog_size_bytes(l);
    int64_t diff = l->cfg.retention_bytes >= 0 ? (int64_t)total - l->cfg.retention_bytes : -1;
    size_t k = 0;               /* segments [0, k) go */
    for (; k < l->nsegs; k++) {
        lseg_t *s = l->segs[k];
        bool last = k + 1 == l->nsegs;
        int64_t upper = last ? l->leo : l->segs[k + 1]->base;
        if (l->hw < upper || (last && s->size == 0))
            break;
        bool by_time = l->cfg.retention_ms >= 0 && now_ms - lseg_largest_ts(s) > l->cfg.retention_ms;
        bool by_size = diff >= 0 && diff - (int64_t)s->size >= 0;
        if (!by_time && !by_size)
            break;
        if (by_size)
            diff -= (int64_t)s->size;
    }
    if (k == 0)
        return deleted;
    if (k == l->nsegs) {
        int rc = roll(l, l->leo, now_ms);
        if (rc != 0)
            return rc;
    }
    for (size_t i = 0; i < k; i++) {
        LOG_I(SUB, "%s: deleting segment %020" PRId64 " (retention)", l->dir, l->segs[0]->base);
        int rc = plog_int_drop_seg(l, 0);
        if (rc != 0)
            return storage_err(l, "deleting a segment", rc);
        deleted++;
    }
    if (l->segs[0]->base > l->log_start) {
        l->log_start = l->segs[0]->base;
        if (l->hw < l->log_start)
            l->hw = l->log_start;
        if (epochs_truncate_start(l, l->log_start)) {
            int rc = epochs_save(l);
            if (rc != 0)
                return rc;
        }
    }
    return deleted;
}

bool plog_flush_due(const plog_t *l, int64_t now_ms)
{
    if (l->unflushed >= l->cfg.flush_messages)
        return true;
    if (l->unflushed > 0 && l->cfg.flush_ms != INT64_MAX && now_ms - l->last_flush_ms >= l->cfg.flush_ms)
        return true;
    return l->recovery_point < active(l)->base;
}

int plog_flush(plog_t *l, int64_t now_ms)
{
    for (size_t i = plog_int_seg_for(l, l->recovery_point); i < l->nsegs; i++) {
        int rc = lseg_flush(l->segs[i]);
        if (rc != 0)
            return storage_err(l, "fsync", rc);
    }
    l->recovery_point = l->leo;
    l->unflushed = 0;
    l->last_flush_ms = now_ms;
    return 0;
}

/* ---- batch headers ------------------------------------------------------------------------ */

typedef struct scan_ctx_s {
    int (*fn)(void *ctx, const plog_batch_info_t *b);
    void *ctx;
} scan_ctx_t;

static int scan_cb(void *vctx, const lseg_hdr_t *h, uint64_t pos, const uint8_t *batch)
{
    scan_ctx_t *c = vctx;
    plog_batch_info_t b = {h->base, h->last, h->epoch, h->max_ts, h->producer_id, h->producer_epoch,
                           h->base_sequence, h->count, (h->attributes & KREC_ATTR_TRANSACTIONAL) != 0,
                           (h->attributes & KREC_ATTR_CONTROL) != 0, h->size};
    return c->fn(c->ctx, &b);
}

int plog_scan_batches(plog_t *l, int64_t from, int (*fn)(void *ctx, const plog_batch_info_t *b), void *ctx)
{
    scan_ctx_t c = {fn, ctx};
    for (size_t i = plog_int_seg_for(l, from); i < l->nsegs; i++) {
        lseg_t *s = l->segs[i];
        uint64_t pos = 0, end;
        lseg_hdr_t h;
        int rc = lseg_translate(s, from, &pos, &h);
        if (rc < 0)
            return storage_err(l, "reading a batch header", rc);
        if (rc == 0)
            continue;
        rc = lseg_scan(s, pos, s->size, false, UINT32_MAX, scan_cb, &c, &end);
        if (rc < 0 || rc == 1)
            return storage_err(l, "reading a batch header", rc < 0 ? rc : -EBADMSG);
        if (rc == 2)
            return 0;
    }
    return 0;
}

/* ---- information -------------------------------------------------------------------------- */

const char *plog_topic(const plog_t *l) { return l->topic; }
int32_t plog_partition(const plog_t *l) { return l->partition; }
const char *plog_dir(const plog_t *l) { return l->dir; }
const char *plog_log_dir(const plog_t *l) { return l->log_dir; }
size_t plog_segment_count(const plog_t *l) { return l->nsegs; }

uint64_t plog_size_bytes(const plog_t *l)
{
    uint64_t t = 0;
    for (size_t i = 0; i < l->nsegs; i++)
        t += l->segs[i]->size;
    return t;
}
