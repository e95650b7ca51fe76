/* segment.c — one log segment: the .log file, its indexes, scanning and recovery (segment.h). */
#include "broker/segment.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "proto/kafka_records.h"

#define SCAN_HDR_WINDOW  (16u << 10)
#define SCAN_FULL_WINDOW (1u << 20)

int lseg_hdr_parse(const uint8_t *p, lseg_hdr_t *h)
{
    int32_t blen = (int32_t)be32_get(p + 8);
    int32_t lod = (int32_t)be32_get(p + 23);
    if (p[16] != KREC_MAGIC_V2 || blen < KREC_V2_HEADER_SIZE - KREC_LOG_OVERHEAD || lod < 0)
        return -1;
    h->base = (int64_t)be64_get(p);
    h->size = (uint32_t)blen + KREC_LOG_OVERHEAD;
    h->epoch = (int32_t)be32_get(p + 12);
    h->attributes = (int16_t)(p[21] << 8 | p[22]);
    h->last = h->base + lod;
    h->max_ts = (int64_t)be64_get(p + 35);
    h->producer_id = (int64_t)be64_get(p + 43);
    h->producer_epoch = (int16_t)(p[51] << 8 | p[52]);
    h->base_sequence = (int32_t)be32_get(p + 53);
    h->count = (int32_t)be32_get(p + 57);
    return 0;
}

char *lseg_stem(const char *dir, int64_t base)
{
    return xasprintf("%s/%020" PRId64, dir, base);
}

static lseg_t *seg_alloc(const char *dir, int64_t base, int64_t now_ms)
{
    lseg_t *s = xcalloc(1, sizeof *s);
    s->base = base;
    s->stem = lseg_stem(dir, base);
    s->fd = -1;
    char *p = xasprintf("%s.index", s->stem);
    lidx_init(&s->oidx, p, LIDX_OFFSET);
    free(p);
    p = xasprintf("%s.timeindex", s->stem);
    lidx_init(&s->tidx, p, LIDX_TIME);
    free(p);
    s->created_ms = now_ms;
    s->mtime_ms = now_ms;
    atomic_init(&s->refs, 1);
    return s;
}

static void seg_free(lseg_t *s)
{
    if (s->fd >= 0)
        close(s->fd);
    lidx_free(&s->oidx);
    lidx_free(&s->tidx);
    free(s->stem);
    free(s);
}

void lseg_ref(lseg_t *s)
{
    atomic_fetch_add(&s->refs, 1);
}

void lseg_unref(lseg_t *s)
{
    if (s && atomic_fetch_sub(&s->refs, 1) == 1)
        seg_free(s);
}

static int touch_empty(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    close(fd);
    return 0;
}

int lseg_create(const char *dir, int64_t base, int64_t now_ms, lseg_t **out)
{
    lseg_t *s = seg_alloc(dir, base, now_ms);
    char *p = xasprintf("%s.log", s->stem);
    s->fd = open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    int rc = s->fd < 0 ? -errno : 0;
    free(p);
    if (rc == 0)
        rc = touch_empty(s->oidx.path);
    if (rc == 0)
        rc = touch_empty(s->tidx.path);
    if (rc != 0) {
        if (s->fd >= 0) {
            p = xasprintf("%s.log", s->stem);
            unlink(p);
            free(p);
        }
        seg_free(s);
        return rc;
    }
    s->last_offset = base - 1;
    s->max_ts = -1;
    s->offset_of_max_ts = -1;
    s->first_ts = -1;
    s->new_file = true;
    *out = s;
    return 0;
}

int lseg_open(const char *dir, int64_t base, int64_t now_ms, lseg_t **out)
{
    lseg_t *s = seg_alloc(dir, base, now_ms);
    char *p = xasprintf("%s.log", s->stem);
    s->fd = open(p, O_RDWR | O_CLOEXEC);
    free(p);
    struct stat st;
    if (s->fd < 0 || fstat(s->fd, &st) != 0) {
        int rc = -errno;
        seg_free(s);
        return rc;
    }
    s->size = (uint64_t)st.st_size;
    s->mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    s->oidx.sealed = true;
    s->tidx.sealed = true;
    s->sealed = true;
    s->last_offset = LSEG_UNKNOWN;
    s->max_ts = LSEG_UNKNOWN;
    s->offset_of_max_ts = -1;
    s->first_ts = LSEG_UNKNOWN;
    *out = s;
    return 0;
}

int lseg_pread(lseg_t *s, uint64_t pos, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(s->fd, (uint8_t *)buf + got, n - got, (off_t)(pos + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return -EIO;        /* the file is shorter than we believe */
        got += (size_t)r;
    }
    return 0;
}

/* ---- scanning ---------------------------------------------------------------------------- */

typedef struct win_s {
    uint8_t *buf;
    size_t cap;
    uint64_t pos;      /* file position of buf[0] */
    size_t len;
} win_t;

/* Makes [pos, pos+need) available in the window, reading up to limit. 0 or negative. */
static int win_fill(lseg_t *s, win_t *w, uint64_t pos, size_t need, uint64_t limit)
{
    if (pos >= w->pos && pos + need <= w->pos + w->len)
        return 0;
    if (need > w->cap) {
        free(w->buf);
        w->buf = xmalloc(need);
        w->cap = need;
    }
    size_t n = w->cap;
    if (limit - pos < n)
        n = (size_t)(limit - pos);
    w->len = 0;
    int rc = lseg_pread(s, pos, w->buf, n);
    if (rc != 0)
        return rc;
    w->pos = pos;
    w->len = n;
    return 0;
}

int lseg_scan(lseg_t *s, uint64_t from, uint64_t limit, bool full, size_t max_batch, lseg_scan_fn fn, void *ctx,
              uint64_t *end)
{
    win_t w = {NULL, 0, 0, 0};
    w.cap = full ? SCAN_FULL_WINDOW : SCAN_HDR_WINDOW;
    w.buf = xmalloc(w.cap);
    uint64_t pos = from;
    int rc = 0;
    while (pos < limit) {
        if (limit - pos < KREC_V2_HEADER_SIZE) {
            rc = 1;
            break;
        }
        rc = win_fill(s, &w, pos, KREC_V2_HEADER_SIZE, limit);
        if (rc != 0)
            break;
        lseg_hdr_t h;
        if (lseg_hdr_parse(w.buf + (pos - w.pos), &h) != 0 || h.size > max_batch || h.size > limit - pos) {
            rc = 1;
            break;
        }
        const uint8_t *bp = NULL;
        if (full) {
            rc = win_fill(s, &w, pos, h.size, limit);
            if (rc != 0)
                break;
            bp = w.buf + (pos - w.pos);
            krec_batch_t b;
            size_t q = 0;
            if (krec_batch_next(bp, h.size, &q, &b, NULL) != KREC_BATCH_OK || q != h.size || !krec_batch_crc_ok(&b)) {
                rc = 1;
                break;
            }
        }
        if (fn && fn(ctx, &h, pos, bp)) {
            rc = 2;
            break;
        }
        pos += h.size;
    }
    free(w.buf);
    *end = pos;
    return rc;
}

/* ---- indexing ---------------------------------------------------------------------------- */

static void maybe_time_entry(lseg_t *s)
{
    int64_t lts = -1;
    int32_t lrel;
    lidx_last_time(&s->tidx, &lts, &lrel);
    if (s->max_ts > lts && s->offset_of_max_ts >= s->base)
        lidx_append_time(&s->tidx, s->max_ts, (int32_t)(s->offset_of_max_ts - s->base));
}

/* Kafka's per-batch index rule (see segment.h). */
static void index_batch(lseg_t *s, const lseg_hdr_t *h, uint64_t pos, uint32_t interval)
{
    if (h->max_ts > s->max_ts) {
        s->max_ts = h->max_ts;
        s->offset_of_max_ts = h->last;
    }
    if (pos - s->last_index_pos > interval) {
        lidx_append_offset(&s->oidx, (int32_t)(h->last - s->base), (int32_t)pos);
        maybe_time_entry(s);
        s->last_index_pos = pos;
    }
    if (pos == 0)
        s->first_ts = h->max_ts;
    s->last_offset = h->last;
}

typedef struct tail_ctx_s {
    lseg_t *s;
} tail_ctx_t;

static int tail_cb(void *ctx, const lseg_hdr_t *h, uint64_t pos, const uint8_t *batch)
{
    lseg_t *s = ((tail_ctx_t *)ctx)->s;
    if (h->max_ts > s->max_ts) {
        s->max_ts = h->max_ts;
        s->offset_of_max_ts = h->last;
    }
    s->last_offset = h->last;
    return 0;
}

/* Last offset, largest timestamp and the index rule's position, from the indexes' last
 * entries and a scan of the batches after the last offset entry. */
static int load_tail(lseg_t *s)
{
    int32_t rel, pos;
    s->last_index_pos = 0;
    s->last_offset = s->base - 1;
    if (lidx_last_offset(&s->oidx, &rel, &pos)) {
        s->last_index_pos = (uint64_t)pos;
    }
    int64_t ts;
    s->max_ts = -1;
    s->offset_of_max_ts = -1;
    if (lidx_last_time(&s->tidx, &ts, &rel)) {
        s->max_ts = ts;
        s->offset_of_max_ts = s->base + rel;
    }
    tail_ctx_t c = {s};
    uint64_t end;
    int rc = lseg_scan(s, s->last_index_pos, s->size, false, UINT32_MAX, tail_cb, &c, &end);
    if (rc < 0)
        return rc;
    if (rc != 0)
        return -EBADMSG;
    return 0;
}

int64_t lseg_last_offset(lseg_t *s)
{
    if (s->last_offset == LSEG_UNKNOWN && load_tail(s) != 0) {
        s->last_offset = LSEG_UNKNOWN;
        return s->base - 1;
    }
    return s->last_offset;
}

int64_t lseg_largest_ts(lseg_t *s)
{
    if (s->max_ts == LSEG_UNKNOWN && load_tail(s) != 0)
        return s->mtime_ms;
    return s->max_ts >= 0 ? s->max_ts : s->mtime_ms;
}

int64_t lseg_first_ts(lseg_t *s)
{
    if (s->first_ts == LSEG_UNKNOWN) {
        lseg_hdr_t h;
        s->first_ts = lseg_read_hdr(s, 0, &h) == 1 ? h.max_ts : -1;
    }
    return s->first_ts;
}

int lseg_activate(lseg_t *s)
{
    if (!s->sealed)
        return 0;
    int rc = lidx_unseal(&s->oidx);
    if (rc == 0)
        rc = lidx_unseal(&s->tidx);
    if (rc == 0)
        rc = load_tail(s);
    if (rc != 0)
        return rc;
    lseg_first_ts(s);
    s->sealed = false;
    return 0;
}

int lseg_seal(lseg_t *s)
{
    if (s->sealed)
        return 0;
    maybe_time_entry(s);
    int rc = lidx_seal(&s->oidx);
    if (rc == 0)
        rc = lidx_seal(&s->tidx);
    if (rc == 0)
        s->sealed = true;
    return rc;
}

static int fsync_parent(const char *stem)
{
    const char *slash = strrchr(stem, '/');
    char *dir = slash ? xstrndup(stem, (size_t)(slash - stem)) : xstrdup(".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

int lseg_flush(lseg_t *s)
{
    if (s->dirty && fdatasync(s->fd) != 0)
        return -errno;
    int rc = lidx_sync(&s->oidx, s->dirty);
    if (rc == 0)
        rc = lidx_sync(&s->tidx, s->dirty);
    if (rc == 0 && s->new_file)
        rc = fsync_parent(s->stem);
    if (rc == 0) {
        s->dirty = false;
        s->new_file = false;
    }
    return rc;
}

/* ---- recovery ------------------------------------------------------------------------------ */

typedef struct rec_ctx_s {
    lseg_t *s;
    uint32_t interval;
} rec_ctx_t;

static int recover_cb(void *ctx, const lseg_hdr_t *h, uint64_t pos, const uint8_t *batch)
{
    rec_ctx_t *c = ctx;
    lseg_t *s = c->s;
    if (h->base < s->base || h->base <= s->last_offset || h->last - s->base > INT32_MAX)
        return 1;               /* offsets must increase within the segment's range */
    index_batch(s, h, pos, c->interval);
    return 0;
}

int lseg_recover(lseg_t *s, size_t max_batch, uint32_t index_interval, uint64_t *truncated)
{
    struct stat st;
    *truncated = 0;
    if (fstat(s->fd, &st) != 0)
        return -errno;
    uint64_t fsize = (uint64_t)st.st_size;
    lidx_clear(&s->oidx);
    lidx_clear(&s->tidx);
    s->sealed = false;
    s->last_offset = s->base - 1;
    s->max_ts = -1;
    s->offset_of_max_ts = -1;
    s->first_ts = -1;
    s->last_index_pos = 0;
    rec_ctx_t c = {s, index_interval};
    if (max_batch == 0)
        max_batch = UINT32_MAX;
    uint64_t end;
    int rc = lseg_scan(s, 0, fsize, true, max_batch, recover_cb, &c, &end);
    if (rc < 0)
        return rc;
    if (end < fsize) {
        if (ftruncate(s->fd, (off_t)end) != 0)
            return -errno;
        *truncated = fsize - end;
        s->dirty = true;
    }
    s->size = end;
    return 0;
}

/* ---- append, read, truncate ----------------------------------------------------------------- */

int lseg_append(lseg_t *s, const uint8_t *data, size_t len, uint32_t index_interval, int64_t now_ms)
{
    uint64_t pos0 = s->size;
    size_t done = 0;
    while (done < len) {
        ssize_t w = pwrite(s->fd, data + done, len - done, (off_t)(pos0 + done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w < 0 ? errno : EIO;
            if (ftruncate(s->fd, (off_t)pos0) != 0) {
                /* the file keeps a torn tail; recovery cuts it at the next start */
            }
            return -e;
        }
        done += (size_t)w;
    }
    for (size_t p = 0; p < len;) {
        lseg_hdr_t h;
        lseg_hdr_parse(data + p, &h);
        index_batch(s, &h, pos0 + p, index_interval);
        p += h.size;
    }
    s->size = pos0 + len;
    s->dirty = true;
    s->mtime_ms = now_ms;
    return 0;
}

int lseg_read_hdr(lseg_t *s, uint64_t pos, lseg_hdr_t *h)
{
    if (pos >= s->size)
        return 0;
    if (s->size - pos < KREC_V2_HEADER_SIZE)
        return -EBADMSG;
    uint8_t b[KREC_V2_HEADER_SIZE];
    int rc = lseg_pread(s, pos, b, sizeof b);
    if (rc != 0)
        return rc;
    return lseg_hdr_parse(b, h) == 0 ? 1 : -EBADMSG;
}

typedef struct find_ctx_s {
    int64_t offset;
    int64_t ts;            /* find_ts: wanted timestamp; else INT64_MIN */
    lseg_hdr_t h;
} find_ctx_t;

static int find_cb(void *ctx, const lseg_hdr_t *h, uint64_t pos, const uint8_t *batch)
{
    find_ctx_t *c = ctx;
    if (h->last >= c->offset && h->max_ts >= c->ts) {
        c->h = *h;
        return 1;
    }
    return 0;
}

/* Where a scan for `offset` may start: the offset index's floor entry. */
static uint64_t start_pos(lseg_t *s, int64_t offset)
{
    int64_t d = offset - s->base;
    if (d < 0)
        return 0;
    int32_t rel, pos;
    if (lidx_offset_floor(&s->oidx, d > INT32_MAX ? INT32_MAX : (int32_t)d, &rel, &pos))
        return (uint64_t)pos;
    return 0;
}

int lseg_translate(lseg_t *s, int64_t offset, uint64_t *pos, lseg_hdr_t *h)
{
    find_ctx_t c = {offset, INT64_MIN, {0}};
    uint64_t end;
    int rc = lseg_scan(s, start_pos(s, offset), s->size, false, UINT32_MAX, find_cb, &c, &end);
    if (rc < 0)
        return rc;
    if (rc == 1)
        return -EBADMSG;
    *pos = end;
    if (rc == 2) {
        *h = c.h;
        return 1;
    }
    return 0;
}

int lseg_truncate_to(lseg_t *s, int64_t offset)
{
    int rc = lseg_activate(s);
    if (rc != 0)
        return rc;
    uint64_t pos;
    lseg_hdr_t h;
    rc = lseg_translate(s, offset, &pos, &h);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return 0;
    if (ftruncate(s->fd, (off_t)pos) != 0)
        return -errno;
    s->size = pos;
    s->dirty = true;
    int64_t d = offset - s->base;
    int32_t rel = d < 0 ? 0 : d > INT32_MAX ? INT32_MAX : (int32_t)d;
    rc = lidx_truncate_rel(&s->oidx, rel);
    if (rc == 0)
        rc = lidx_truncate_rel(&s->tidx, rel);
    if (rc == 0)
        rc = load_tail(s);
    if (rc == 0 && s->size == 0)
        s->first_ts = -1;
    return rc;
}

int lseg_find_ts(lseg_t *s, int64_t ts, int64_t min_offset, int64_t *offset, int64_t *found_ts)
{
    uint64_t from = start_pos(s, min_offset);
    int64_t ets;
    int32_t rel;
    if (lidx_time_floor_below(&s->tidx, ts, &ets, &rel)) {
        uint64_t p = start_pos(s, s->base + rel);
        if (p > from)
            from = p;
    }
    buf_t b = BUF_INIT;
    int result = 0;
    while (from < s->size) {
        find_ctx_t c = {min_offset, ts, {0}};
        uint64_t at;
        int rc = lseg_scan(s, from, s->size, false, UINT32_MAX, find_cb, &c, &at);
        if (rc < 0 || rc == 1) {
            result = rc < 0 ? rc : -EBADMSG;
            break;
        }
        if (rc == 0)
            break;
        buf_reset(&b);
        buf_reserve(&b, c.h.size);
        result = lseg_pread(s, at, b.data, c.h.size);
        if (result != 0)
            break;
        b.len = c.h.size;
        krec_batch_t kb;
        size_t q = 0;
        if (krec_batch_next(b.data, b.len, &q, &kb, NULL) != KREC_BATCH_OK) {
            result = -EBADMSG;
            break;
        }
        krec_recs_t r;
        int orc = krec_recs_open(&r, &kb, 0, KREC_F_NO_CRC);
        krec_record_t rec;
        int nrc;
        while (orc == 0 && (nrc = krec_recs_next(&r, &rec)) == 1) {
            if (rec.timestamp >= ts && rec.offset >= min_offset) {
                *offset = rec.offset;
                *found_ts = rec.timestamp;
                result = 1;
                break;
            }
        }
        krec_recs_close(&r);
        if (orc != 0) {
            result = -EBADMSG;
            break;
        }
        if (result == 1)
            break;
        from = at + c.h.size;
    }
    buf_free(&b);
    return result;
}

int lseg_unlink(lseg_t *s)
{
    char *p = xasprintf("%s.log", s->stem);
    int rc = unlink(p) == 0 || errno == ENOENT ? 0 : -errno;
    free(p);
    int r2 = lidx_unlink(&s->oidx);
    int r3 = lidx_unlink(&s->tidx);
    return rc ? rc : r2 ? r2 : r3;
}
