/* txnlog.c — the coordinator's transaction log: group-commit appends, recovery with
 * torn-tail repair, TRUNC, and reads for DIFFs. API and locality: txnlog.h.
 *
 * Files: <dataLogDir>/version-2/log.<hex of the first record's zxid>. Every run starts
 * a new file at its first sync, and txnlog_roll / roll_bytes start further ones.
 *
 * File format (all integers big-endian; crc32c is CRC-32C, common/crc32c.h):
 *
 *   logfile  := fheader record* tail
 *   fheader  := magic:"GZLG" version:u32(=1) dbid:u64(=0) first_zxid:u64 hcrc:u32
 *               first_zxid equals the zxid in the file name and that of the first record;
 *               hcrc = crc32c(the 24 bytes before it)                          (28 bytes)
 *   record   := crc:u32 len:u32 zxid:u64 body:byte[len] eor:u8
 *               crc = crc32c(len zxid body); len <= TXNLOG_MAX_RECORD; eor = 'B' (0x42);
 *               zxid > the zxid of the record before it, in this file and older ones
 *   tail     := 0x00*                 end of data: preallocated space, or nothing
 *            |  byte*                 newest file only: a torn write (kill -9, power loss)
 *
 * A record header of 16 zero bytes ends the data (preallocation is zero-filled; a
 * real record never has crc = len = zxid = 0 because crc32c(12 zero bytes) != 0).
 *
 * Writing: appends go to a memory buffer; txnlog_sync writes the buffer with one
 * pwrite at the end of the synced data (preallocating prealloc_bytes chunks first),
 * then fdatasync (and fsync of the directory when the file is new). A failed sync
 * cuts the file back to the synced length so no unacknowledged record survives.
 * A new file starts only when nothing is pending, so one sync touches one file and an
 * older file is always complete before a newer one exists.
 *
 * Recovery (txnlog_replay), newest file first:
 *   - data ending at EOF or in zeros: fine; preallocated zeros are trimmed.
 *   - a damaged record D (bad crc, short, bad marker, zxid out of order) with nothing
 *     intact after it: torn write; the file is cut at D (and fsynced).
 *   - D followed by an intact record at D's end: if some 512-byte sector overlapping D
 *     holds only zeros there, it is a torn write of a batch that was never synced
 *     (fdatasync succeeds only once every page is on disk, so nothing after a hole was
 *     acknowledged): cut at D. Otherwise acknowledged data was corrupted: refuse.
 *   - a newest file with no intact record is removed, and the one before it becomes
 *     the newest; but a header that is neither intact nor a partial write of the
 *     expected header (a foreign or damaged file) is an error.
 * Every older file must end cleanly (EOF or all zeros); damage there is an error. */
#include "coord/txnlog.h"

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
#include "common/clock.h"
#include "common/crc32c.h"
#include "common/log.h"
#include "coord/storage_int.h"

#define LOG_PREFIX STOR_LOG_PREFIX
#define FHDR_LEN 28
#define RHDR_LEN 16
#define REC_OVERHEAD (RHDR_LEN + 1)
#define EOR_BYTE 0x42
#define FILE_VERSION 1
#define SECTOR 512
#define DEFAULT_FSYNC_WARN_MS 1000

static const uint8_t FILE_MAGIC[4] = {'G', 'Z', 'L', 'G'}; /* STOR_LOG_MAGIC */

/* ---------------------------------------------------------------- encoding */

static void put_file_header(buf_t *b, int64_t first_zxid)
{
    uint8_t h[FHDR_LEN];
    memcpy(h, FILE_MAGIC, 4);
    be32_put(h + 4, FILE_VERSION);
    be64_put(h + 8, 0); /* dbid, always 0 as in ZooKeeper */
    be64_put(h + 16, (uint64_t)first_zxid);
    be32_put(h + 24, crc32c(h, 24));
    buf_put(b, h, sizeof h);
}

static void put_record(buf_t *b, int64_t zxid, const void *rec, size_t len)
{
    uint8_t h[RHDR_LEN];
    be32_put(h + 4, (uint32_t)len);
    be64_put(h + 8, (uint64_t)zxid);
    uint32_t crc = crc32c_update(crc32c(h + 4, 12), rec, len);
    be32_put(h, crc);
    buf_reserve(b, REC_OVERHEAD + len);
    buf_put(b, h, sizeof h);
    buf_put(b, rec, len);
    buf_put_u8(b, EOR_BYTE);
}

/* ---------------------------------------------------------------- reading */

typedef struct lfile_s {
    int fd;
    char *path;
    int64_t name_zxid;
    int64_t size;
    buf_t scratch; /* body of the record last read */
} lfile_t;

/* Result of reading one record. */
enum { LR_IO = -1, LR_OK = 0, LR_EOF, LR_ZERO, LR_BAD, LR_STOPPED };

typedef struct rec_s {
    int64_t zxid;
    uint32_t len;
    const uint8_t *body; /* points into lfile_t.scratch */
    int64_t next;        /* offset after the record; for LR_BAD with a plausible header,
                            where the next record would start; else -1 */
    const char *why;     /* for LR_BAD */
} rec_t;

static int lf_open(lfile_t *f, const char *v2, int64_t zxid, int flags, char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    buf_init(&f->scratch);
    f->name_zxid = zxid;
    f->path = stor_file_path(v2, LOG_PREFIX, zxid);
    f->fd = open(f->path, flags | O_CLOEXEC);
    struct stat st;
    if (f->fd < 0 || fstat(f->fd, &st) != 0) {
        stor_errf(err, errlen, "cannot open txn log %s: %s", f->path, strerror(errno));
        if (f->fd >= 0)
            close(f->fd);
        f->fd = -1;
        return -1;
    }
    f->size = st.st_size;
    return 0;
}

static void lf_close(lfile_t *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    free(f->path);
    f->path = NULL;
    buf_free(&f->scratch);
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* Checks the file header. Returns LR_OK, LR_BAD (*why set) or LR_IO. */
static int lf_check_header(lfile_t *f, const char **why)
{
    uint8_t h[FHDR_LEN];
    ssize_t r = stor_pread_full(f->fd, h, sizeof h, 0);
    if (r < 0)
        return LR_IO;
    if (r < FHDR_LEN) {
        *why = r == 0 ? "empty file" : "short file header";
        return LR_BAD;
    }
    if (memcmp(h, FILE_MAGIC, 4) != 0) {
        *why = "bad magic (not a Gregor txn log)";
        return LR_BAD;
    }
    if (crc32c(h, 24) != be32_get(h + 24)) {
        *why = "file header checksum mismatch";
        return LR_BAD;
    }
    if (be32_get(h + 4) != FILE_VERSION) {
        *why = "unsupported file format version";
        return LR_BAD;
    }
    if ((int64_t)be64_get(h + 16) != f->name_zxid) {
        *why = "file header zxid does not match the file name";
        return LR_BAD;
    }
    return LR_OK;
}

/* For a header that failed lf_check_header: 0 if every byte present is zero or what
 * txnlog would have written there (a header torn at creation), 1 if not, LR_IO. */
static int lf_header_foreign(lfile_t *f)
{
    buf_t want = BUF_INIT;
    put_file_header(&want, f->name_zxid);
    uint8_t h[FHDR_LEN];
    ssize_t got = stor_pread_full(f->fd, h, sizeof h, 0);
    int foreign = 0;
    for (ssize_t i = 0; i < got; i++)
        if (h[i] != 0 && h[i] != want.data[i])
            foreign = 1;
    buf_free(&want);
    return got < 0 ? LR_IO : foreign;
}

/* Reads the record at off. A valid record has zxid > prev and, if want >= 0, zxid == want. */
static int lf_read_rec(lfile_t *f, int64_t off, int64_t prev, int64_t want, rec_t *r)
{
    r->next = -1;
    r->why = NULL;
    if (off >= f->size)
        return LR_EOF;
    int64_t avail = f->size - off;
    uint8_t h[RHDR_LEN];
    size_t hn = avail < RHDR_LEN ? (size_t)avail : RHDR_LEN;
    ssize_t got = stor_pread_full(f->fd, h, hn, off);
    if (got < 0)
        return LR_IO;
    if ((size_t)got < hn) { /* the file shrank under us */
        r->why = "file shorter than expected";
        return LR_BAD;
    }
    if (all_zero(h, hn))
        return LR_ZERO;
    if (hn < RHDR_LEN) {
        r->why = "short record header";
        return LR_BAD;
    }
    uint32_t crc = be32_get(h);
    uint32_t len = be32_get(h + 4);
    int64_t zxid = (int64_t)be64_get(h + 8);
    if (len > TXNLOG_MAX_RECORD) {
        r->why = "record length out of range";
        return LR_BAD;
    }
    if ((int64_t)len + REC_OVERHEAD > avail) {
        r->why = "record runs past the end of the file";
        return LR_BAD;
    }
    r->next = off + REC_OVERHEAD + len;
    buf_reset(&f->scratch);
    buf_reserve(&f->scratch, (size_t)len + 1);
    got = stor_pread_full(f->fd, f->scratch.data, (size_t)len + 1, off + RHDR_LEN);
    if (got < 0)
        return LR_IO;
    if ((size_t)got < (size_t)len + 1) {
        r->why = "file shorter than expected";
        return LR_BAD;
    }
    if (f->scratch.data[len] != EOR_BYTE) {
        r->why = "missing end-of-record marker";
        return LR_BAD;
    }
    if (crc32c_update(crc32c(h + 4, 12), f->scratch.data, len) != crc) {
        r->why = "record checksum mismatch";
        return LR_BAD;
    }
    if (zxid <= prev || zxid < 0) {
        r->why = "zxid not greater than the previous record's";
        return LR_BAD;
    }
    if (want >= 0 && zxid != want) {
        r->why = "first record's zxid does not match the file name";
        return LR_BAD;
    }
    r->zxid = zxid;
    r->len = len;
    r->body = f->scratch.data;
    return LR_OK;
}

/* 1 if [from, to) of f reads as zeros, 0 if not, LR_IO on error. */
static int lf_zero_range(lfile_t *f, int64_t from, int64_t to)
{
    uint8_t chunk[65536];
    while (from < to) {
        size_t n = to - from < (int64_t)sizeof chunk ? (size_t)(to - from) : sizeof chunk;
        ssize_t got = stor_pread_full(f->fd, chunk, n, from);
        if (got < 0)
            return LR_IO;
        if (!all_zero(chunk, (size_t)got))
            return 0;
        if ((size_t)got < n)
            return 1;
        from += (int64_t)n;
    }
    return 1;
}

typedef struct walk_s {
    int64_t end;       /* offset just past the last valid record (FHDR_LEN if none) */
    int64_t nvalid;    /* valid records seen */
    int64_t last_zxid; /* zxid of the last valid record; prev if none */
    int stop;          /* LR_EOF, LR_ZERO, LR_BAD or LR_STOPPED */
    const char *why;   /* LR_BAD: what is wrong at `end` */
    int64_t bad_next;  /* LR_BAD: where the record after the bad one would start, or -1 */
} walk_t;

/* Walks the records of f (header already checked) from the start. Valid records with
 * zxid > after go to cb (if any); a valid record with zxid > stop_above is not consumed
 * (stop = LR_STOPPED, end = its offset). Returns 0, LR_IO (message in err), or cb's
 * non-zero value. */
static int lf_walk(lfile_t *f, int64_t prev, int64_t after, int64_t stop_above, txnlog_replay_fn cb, void *ctx,
                   walk_t *w, char *err, size_t errlen)
{
    memset(w, 0, sizeof *w);
    w->end = FHDR_LEN;
    w->last_zxid = prev;
    w->bad_next = -1;
    for (;;) {
        rec_t r;
        int rc = lf_read_rec(f, w->end, w->last_zxid, w->nvalid == 0 ? f->name_zxid : -1, &r);
        if (rc == LR_IO) {
            stor_errf(err, errlen, "cannot read txn log %s at offset %" PRId64 ": %s", f->path, w->end,
                      strerror(errno));
            return LR_IO;
        }
        if (rc != LR_OK) {
            w->stop = rc;
            w->why = r.why;
            w->bad_next = r.next;
            return 0;
        }
        if (r.zxid > stop_above) {
            w->stop = LR_STOPPED;
            return 0;
        }
        if (cb && r.zxid > after) {
            int cbrc = cb(ctx, r.zxid, r.body, r.len);
            if (cbrc != 0) {
                stor_errf(err, errlen, "txn log replay stopped by the caller at zxid 0x%" PRIx64 " (%d)",
                          (uint64_t)r.zxid, cbrc);
                return cbrc;
            }
        }
        w->nvalid++;
        w->last_zxid = r.zxid;
        w->end = r.next;
    }
}

/* 1 if some 512-byte sector overlapping [from, to) reads as zeros within that range
 * (a sector that never reached the disk), 0 if not, LR_IO on error. */
static int lf_span_torn(lfile_t *f, int64_t from, int64_t to)
{
    size_t n = (size_t)(to - from);
    uint8_t *p = xmalloc(n);
    ssize_t got = stor_pread_full(f->fd, p, n, from);
    if (got < 0 || (size_t)got < n) {
        free(p);
        return LR_IO;
    }
    int torn = 0;
    for (int64_t s = from / SECTOR * SECTOR; s < to && !torn; s += SECTOR) {
        int64_t lo = s < from ? from : s, hi = s + SECTOR > to ? to : s + SECTOR;
        torn = all_zero(p + (lo - from), (size_t)(hi - lo));
    }
    free(p);
    return torn;
}

enum { REPAIR_KEPT, REPAIR_REMOVED };

/* Repairs the newest log file f (opened read-write): cuts a torn tail, or removes the
 * file if no record in it is intact. Returns REPAIR_KEPT, REPAIR_REMOVED, or -1
 * (corruption that is not a torn write, or an I/O error; message in err). */
static int repair_newest(lfile_t *f, const char *v2, char *err, size_t errlen)
{
    const char *why = NULL;
    int hdr = lf_check_header(f, &why);
    if (hdr == LR_IO) {
        stor_errf(err, errlen, "cannot read txn log %s: %s", f->path, strerror(errno));
        return -1;
    }
    walk_t w;
    int64_t intact_at = -1; /* offset of an intact record after the damage */
    rec_t r;
    if (hdr == LR_BAD) {
        /* The header is written with the first batch, so a header that never fully
         * reached the disk means no record in the file was acknowledged. Anything but
         * such a partial header (zeros or a prefix of the expected bytes) is damage or
         * a foreign file: leave it alone. */
        int foreign = lf_header_foreign(f);
        if (foreign == LR_IO)
            goto io_error;
        if (foreign) {
            stor_errf(err, errlen, "txn log %s has a damaged or foreign file header (%s); refusing to "
                      "start. Move the file away if its records are not needed", f->path, why);
            return -1;
        }
        memset(&w, 0, sizeof w);
        w.end = 0;
        w.stop = LR_BAD;
        w.why = why;
    } else {
        if (lf_walk(f, -1, INT64_MAX, INT64_MAX, NULL, NULL, &w, err, errlen) != 0)
            return -1;
        if (w.stop == LR_BAD && w.bad_next >= 0) {
            int rc = lf_read_rec(f, w.bad_next, w.nvalid ? w.last_zxid : f->name_zxid, -1, &r);
            if (rc == LR_IO)
                goto io_error;
            if (rc == LR_OK)
                intact_at = w.bad_next;
        }
    }
    if (intact_at >= 0) {
        int torn = lf_span_torn(f, w.end, intact_at);
        if (torn == LR_IO)
            goto io_error;
        if (!torn) {
            stor_errf(err, errlen,
                      "txn log %s is corrupt at offset %" PRId64 " (%s) but an intact record follows at "
                      "offset %" PRId64 "; this is damage to synced data, not a torn write. Refusing to "
                      "start. If this server's copy may be discarded (the quorum holds the data), cut the "
                      "file to %" PRId64 " bytes (truncate -s %" PRId64 ") and restart",
                      f->path, w.end, w.why, intact_at, w.end, w.end);
            return -1;
        }
        LOG_W("txnlog", "%s: torn write at offset %" PRId64 " (%s; a sector never reached the disk); "
              "the records after it were never acknowledged", f->path, w.end, w.why);
    }
    if (w.nvalid == 0) {
        LOG_W("txnlog", "removing %s: it holds no complete record (%s)", f->path,
              w.why ? w.why : "no records");
        if (unlink(f->path) != 0 || stor_fsync_dir(v2) != 0) {
            stor_errf(err, errlen, "cannot remove empty txn log %s: %s", f->path, strerror(errno));
            return -1;
        }
        return REPAIR_REMOVED;
    }
    if (w.end < f->size) {
        if (w.stop == LR_BAD)
            LOG_W("txnlog", "%s: truncating torn tail at offset %" PRId64 " (%s): %" PRId64
                  " bytes after the last complete record (zxid 0x%" PRIx64 ") discarded",
                  f->path, w.end, w.why, f->size - w.end, (uint64_t)w.last_zxid);
        else
            LOG_D("txnlog", "%s: trimming %" PRId64 " bytes of preallocation", f->path, f->size - w.end);
        if (ftruncate(f->fd, w.end) != 0 || fdatasync(f->fd) != 0) {
            stor_errf(err, errlen, "cannot truncate txn log %s to %" PRId64 " bytes: %s", f->path, w.end,
                      strerror(errno));
            return -1;
        }
        f->size = w.end;
    }
    return REPAIR_KEPT;

io_error:
    stor_errf(err, errlen, "cannot read txn log %s: %s", f->path, strerror(errno));
    return -1;
}

/* Delivers records with zxid > after from every file that may hold them, in order.
 * lenient_last: the newest file may end in damage (it may be being written): stop
 * quietly there. Otherwise damage anywhere is an error. *last = max(after, last zxid). */
static int read_files(const char *dir, int64_t after, txnlog_replay_fn cb, void *ctx, bool lenient_last,
                      int64_t *last, char *err, size_t errlen)
{
    char *v2 = stor_v2_path(dir);
    int64_t *z = NULL;
    size_t n = 0;
    int ret = 0;
    int64_t last_zxid = after;
    if (stor_list(v2, LOG_PREFIX, &z, &n, err, errlen) != 0) {
        ret = -1;
        goto out;
    }
    size_t start = 0;
    for (size_t i = 0; i < n; i++)
        if (z[i] <= after)
            start = i;
    if (n > 0 && after > 0 && after < INT64_MAX && z[start] > after + 1 && (z[start] >> 32) == (after >> 32))
        LOG_W("txnlog", "the oldest txn log starts at zxid 0x%" PRIx64 " but records after 0x%" PRIx64
              " are wanted: transactions in between are missing", (uint64_t)z[start], (uint64_t)after);
    int64_t prev = -1;
    for (size_t i = start; i < n && ret == 0; i++) {
        bool newest = i + 1 == n;
        lfile_t f;
        if (lf_open(&f, v2, z[i], O_RDONLY, err, errlen) != 0) {
            ret = -1;
            break;
        }
        const char *why = NULL;
        walk_t w;
        int hdr = lf_check_header(&f, &why);
        if (hdr == LR_IO) {
            stor_errf(err, errlen, "cannot read txn log %s: %s", f.path, strerror(errno));
            ret = -1;
        } else if (hdr == LR_BAD) {
            if (!(lenient_last && newest)) {
                stor_errf(err, errlen, "txn log %s has a damaged file header (%s)%s", f.path, why,
                          newest ? "" : " but newer log files follow; refusing to start");
                ret = -1;
            }
        } else if (z[i] <= prev) {
            stor_errf(err, errlen, "txn log %s starts at zxid 0x%" PRIx64 ", not after the previous file's "
                      "last record 0x%" PRIx64, f.path, (uint64_t)z[i], (uint64_t)prev);
            ret = -1;
        } else if ((ret = lf_walk(&f, prev, after, INT64_MAX, cb, ctx, &w, err, errlen)) == 0) {
            bool damaged = w.stop == LR_BAD;
            if (w.stop == LR_ZERO && !(lenient_last && newest)) {
                int zr = lf_zero_range(&f, w.end, f.size);
                if (zr == LR_IO) {
                    stor_errf(err, errlen, "cannot read txn log %s: %s", f.path, strerror(errno));
                    ret = -1;
                }
                if (zr == 0) {
                    damaged = true;
                    w.why = "zeroed record followed by non-zero data";
                }
            }
            if (ret == 0 && damaged && !(lenient_last && newest)) {
                stor_errf(err, errlen, "txn log %s is corrupt at offset %" PRId64 " (%s)%s", f.path, w.end,
                          w.why, newest ? "" : " but newer log files follow; refusing to start");
                ret = -1;
            }
            if (w.nvalid > 0) {
                prev = w.last_zxid;
                if (prev > last_zxid)
                    last_zxid = prev;
            }
        }
        lf_close(&f);
    }
out:
    free(z);
    free(v2);
    if (last)
        *last = last_zxid;
    return ret;
}

int txnlog_replay(const char *dir, int64_t after_zxid, txnlog_replay_fn cb, void *ctx, int64_t *last_zxid,
                  char *err, size_t errlen)
{
    if (last_zxid)
        *last_zxid = after_zxid;
    char *v2 = stor_v2_path(dir);
    int ret = 0;
    /* Phase 1: make the newest file end cleanly (removing files torn at creation). */
    for (;;) {
        int64_t *z = NULL;
        size_t n = 0;
        if (stor_list(v2, LOG_PREFIX, &z, &n, err, errlen) != 0) {
            ret = -1;
            break;
        }
        if (n == 0) {
            free(z);
            break;
        }
        lfile_t f;
        int64_t newest = z[n - 1];
        free(z);
        if (lf_open(&f, v2, newest, O_RDWR, err, errlen) != 0) {
            ret = -1;
            break;
        }
        int rc = repair_newest(&f, v2, err, errlen);
        lf_close(&f);
        if (rc != REPAIR_REMOVED) {
            ret = rc < 0 ? -1 : 0;
            break;
        }
    }
    free(v2);
    if (ret != 0)
        return ret;
    /* Phase 2: deliver, every file strictly checked. */
    return read_files(dir, after_zxid, cb, ctx, false, last_zxid, err, errlen);
}

int txnlog_read_from(const char *dir, int64_t after_zxid, txnlog_replay_fn cb, void *ctx, char *err, size_t errlen)
{
    return read_files(dir, after_zxid, cb, ctx, true, NULL, err, errlen);
}

int txnlog_truncate(const char *dir, int64_t zxid, char *err, size_t errlen)
{
    char *v2 = stor_v2_path(dir);
    int64_t *z = NULL;
    size_t n = 0;
    int ret = 0;
    if (stor_list(v2, LOG_PREFIX, &z, &n, err, errlen) != 0) {
        free(v2);
        return -1;
    }
    /* newest first, so that a crash part-way leaves a clean prefix */
    size_t removed = 0;
    while (n > 0 && z[n - 1] > zxid) {
        char *p = stor_file_path(v2, LOG_PREFIX, z[n - 1]);
        int rc = unlink(p);
        if (rc != 0)
            stor_errf(err, errlen, "cannot remove txn log %s: %s", p, strerror(errno));
        free(p);
        if (rc != 0) {
            ret = -1;
            goto out;
        }
        n--;
        removed++;
    }
    if (removed && stor_fsync_dir(v2) != 0) {
        stor_errf(err, errlen, "cannot fsync %s: %s", v2, strerror(errno));
        ret = -1;
        goto out;
    }
    if (n > 0) {
        lfile_t f;
        if (lf_open(&f, v2, z[n - 1], O_RDWR, err, errlen) != 0) {
            ret = -1;
            goto out;
        }
        const char *why = NULL;
        walk_t w;
        int hdr = lf_check_header(&f, &why);
        if (hdr != LR_OK) {
            stor_errf(err, errlen, "cannot truncate txn log %s: %s", f.path,
                      hdr == LR_IO ? strerror(errno) : why);
            ret = -1;
        } else if (lf_walk(&f, -1, INT64_MAX, zxid, NULL, NULL, &w, err, errlen) != 0) {
            ret = -1;
        } else if (w.end < f.size) {
            if (ftruncate(f.fd, w.end) != 0 || fdatasync(f.fd) != 0) {
                stor_errf(err, errlen, "cannot truncate txn log %s: %s", f.path, strerror(errno));
                ret = -1;
            } else {
                LOG_I("txnlog", "truncated %s after zxid 0x%" PRIx64 " (%" PRId64 " bytes)", f.path,
                      (uint64_t)w.last_zxid, w.end);
            }
        }
        lf_close(&f);
    }
    if (ret == 0 && removed)
        LOG_I("txnlog", "truncation to zxid 0x%" PRIx64 " removed %zu log file(s)", (uint64_t)zxid, removed);
out:
    free(z);
    free(v2);
    return ret;
}

int64_t txnlog_dir_bytes(const char *dir)
{
    return stor_bytes(dir, LOG_PREFIX);
}

int txnlog_list_files(const char *dir, int64_t **zxids, size_t *n, char *err, size_t errlen)
{
    char *v2 = stor_v2_path(dir);
    int rc = stor_list(v2, LOG_PREFIX, zxids, n, err, errlen);
    free(v2);
    return rc;
}

/* ---------------------------------------------------------------- writing */

struct txnlog_s {
    txnlog_opts_t opts;   /* opts.dir points at dir */
    char *dir;
    char *v2;
    int fd;               /* current file, -1 before the first sync */
    char *path;           /* current file's path */
    int64_t off;          /* bytes written and synced in the current file */
    int64_t alloc_end;    /* size of the current file (preallocation included) */
    bool prealloc_failed; /* warned once for the current file */
    bool want_roll;       /* next batch starts a new file */
    bool new_file;        /* pending starts with the header of a new file */
    int64_t new_first_zxid;
    bool broken;
    buf_t pending;
    uint64_t pending_records;
    int64_t last_zxid;    /* last appended */
    int64_t durable_zxid; /* last synced */
    txnlog_stats_t st;
};

int txnlog_open(txnlog_t **out, const txnlog_opts_t *opts, int64_t last_zxid, char *err, size_t errlen)
{
    *out = NULL;
    if (opts->prealloc_bytes < 0 || opts->roll_bytes < 0) {
        stor_errf(err, errlen, "txn log: preAllocSize and roll size must not be negative");
        return -1;
    }
    char *v2 = stor_make_v2(opts->dir, err, errlen);
    if (!v2)
        return -1;
    txnlog_t *log = xcalloc(1, sizeof *log);
    log->opts = *opts;
    log->dir = xstrdup(opts->dir);
    log->opts.dir = log->dir;
    log->v2 = v2;
    log->fd = -1;
    buf_init(&log->pending);
    log->last_zxid = log->durable_zxid = last_zxid;
    *out = log;
    return 0;
}

/* Drops the unused preallocated tail of the current file and closes it. */
static void close_current(txnlog_t *log)
{
    if (log->fd < 0)
        return;
    if (log->alloc_end > log->off && ftruncate(log->fd, log->off) != 0)
        LOG_W("txnlog", "cannot trim preallocation of %s: %s", log->path, strerror(errno));
    close(log->fd);
    log->fd = -1;
    free(log->path);
    log->path = NULL;
}

void txnlog_close(txnlog_t *log)
{
    if (!log)
        return;
    if (log->pending.len)
        LOG_W("txnlog", "closing the txn log with %" PRIu64 " unsynced record(s); they are dropped",
              log->pending_records);
    if (!log->broken)
        close_current(log);
    else if (log->fd >= 0)
        close(log->fd);
    free(log->path);
    buf_free(&log->pending);
    free(log->dir);
    free(log->v2);
    free(log);
}

int txnlog_append(txnlog_t *log, int64_t zxid, const void *rec, size_t len)
{
    if (log->broken || zxid <= log->last_zxid || zxid < 0 || len > TXNLOG_MAX_RECORD)
        return -1;
    if (log->pending.len == 0 &&
        (log->fd < 0 || log->want_roll || (log->opts.roll_bytes > 0 && log->off >= log->opts.roll_bytes))) {
        log->new_file = true;
        log->new_first_zxid = zxid;
        log->want_roll = false;
        put_file_header(&log->pending, zxid);
    }
    put_record(&log->pending, zxid, rec, len);
    log->pending_records++;
    log->last_zxid = zxid;
    return 0;
}

bool txnlog_has_pending(const txnlog_t *log)
{
    return log->pending.len > 0;
}

void txnlog_roll(txnlog_t *log)
{
    log->want_roll = true;
}

int64_t txnlog_last_zxid(const txnlog_t *log)
{
    return log->last_zxid;
}

int64_t txnlog_durable_zxid(const txnlog_t *log)
{
    return log->durable_zxid;
}

bool txnlog_broken(const txnlog_t *log)
{
    return log->broken;
}

void txnlog_stats(const txnlog_t *log, txnlog_stats_t *out)
{
    *out = log->st;
}

/* Creates the file for a new batch. An existing file of that name can only be one
 * left without a complete record (replay removes those; this covers a skipped replay). */
static int create_file(txnlog_t *log, const char *path, char *err, size_t errlen)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0)
            return fd;
        if (errno != EEXIST || attempt > 0)
            break;
        lfile_t f;
        if (lf_open(&f, log->v2, log->new_first_zxid, O_RDONLY, err, errlen) != 0)
            return -1;
        const char *why;
        rec_t r;
        bool has_records = lf_check_header(&f, &why) == LR_OK &&
                           lf_read_rec(&f, FHDR_LEN, -1, f.name_zxid, &r) == LR_OK;
        lf_close(&f);
        if (has_records) {
            stor_errf(err, errlen, "txn log %s already exists and holds records (was the log replayed "
                      "before opening it?)", path);
            return -1;
        }
        LOG_W("txnlog", "replacing %s, which holds no complete record", path);
        if (unlink(path) != 0)
            break;
    }
    stor_errf(err, errlen, "cannot create txn log %s: %s", path, strerror(errno));
    return -1;
}

/* Extends the current file in prealloc_bytes chunks so that `need` bytes fit. Failure
 * is not fatal (the write itself decides); it is reported once per file. */
static void preallocate(txnlog_t *log, int64_t need)
{
    int64_t chunk = log->opts.prealloc_bytes;
    if (chunk <= 0 || need <= log->alloc_end || log->prealloc_failed)
        return;
    int64_t end = log->alloc_end + (need - log->alloc_end + chunk - 1) / chunk * chunk;
    int rc = fallocate(log->fd, 0, log->alloc_end, end - log->alloc_end);
    if (rc != 0 && (errno == EOPNOTSUPP || errno == ENOSYS))
        rc = ftruncate(log->fd, end); /* sparse, as ZooKeeper does */
    if (rc == 0) {
        log->alloc_end = end;
    } else {
        log->prealloc_failed = true;
        LOG_W("txnlog", "cannot preallocate %" PRId64 " bytes for %s: %s", end - log->alloc_end, log->path,
              strerror(errno));
    }
}

/* Undoes a failed batch: forgets it, and makes sure none of it stays in a file.
 * created: the batch's new file exists and is log->fd; old_* describe the file before. */
static void undo_batch(txnlog_t *log, bool created, int old_fd, char *old_path, int64_t old_off,
                       int64_t old_alloc)
{
    buf_reset(&log->pending);
    log->pending_records = 0;
    log->last_zxid = log->durable_zxid;
    if (log->new_file) {
        log->new_file = false;
        log->want_roll = true;
        if (created) {
            close(log->fd);
            if ((unlink(log->path) != 0 && errno != ENOENT) || stor_fsync_dir(log->v2) != 0) {
                LOG_E("txnlog", "cannot remove %s after a failed write: %s; the txn log is unusable "
                      "until restart", log->path, strerror(errno));
                log->broken = true;
            }
            free(log->path);
            log->fd = old_fd;
            log->path = old_path;
            log->off = old_off;
            log->alloc_end = old_alloc;
        }
        return;
    }
    if (ftruncate(log->fd, log->off) != 0 || (log->opts.force_sync && fdatasync(log->fd) != 0)) {
        LOG_E("txnlog", "cannot cut %s back to %" PRId64 " bytes after a failed write: %s; the txn log is "
              "unusable until restart", log->path, log->off, strerror(errno));
        log->broken = true;
        return;
    }
    log->alloc_end = log->off;
    log->prealloc_failed = false;
}

int txnlog_sync(txnlog_t *log, char *err, size_t errlen)
{
    if (log->broken) {
        stor_errf(err, errlen, "txn log is unusable after an earlier I/O error; restart required");
        return -1;
    }
    if (log->pending.len == 0)
        return 0;
    int64_t t0 = clock_mono_us();
    int old_fd = -1;
    char *old_path = NULL;
    int64_t old_off = 0, old_alloc = 0;
    const char *what = "write";
    if (log->new_file) {
        char *path = stor_file_path(log->v2, LOG_PREFIX, log->new_first_zxid);
        int fd = create_file(log, path, err, errlen);
        if (fd < 0) {
            free(path);
            undo_batch(log, false, -1, NULL, 0, 0);
            return -1;
        }
        old_fd = log->fd;
        old_path = log->path;
        old_off = log->off;
        old_alloc = log->alloc_end;
        log->fd = fd;
        log->path = path;
        log->off = 0;
        log->alloc_end = 0;
        log->prealloc_failed = false;
    }
    preallocate(log, log->off + (int64_t)log->pending.len);
    if (stor_pwrite_all(log->fd, log->pending.data, log->pending.len, log->off) != 0)
        goto fail;
    if (log->opts.force_sync) {
        what = "fdatasync";
        if (fdatasync(log->fd) != 0)
            goto fail;
        what = "fsync of the directory";
        if (log->new_file && stor_fsync_dir(log->v2) != 0)
            goto fail;
    }
    int64_t us = clock_mono_us() - t0;
    log->off += (int64_t)log->pending.len;
    if (log->off > log->alloc_end)
        log->alloc_end = log->off;
    log->durable_zxid = log->last_zxid;
    log->st.syncs++;
    log->st.records += log->pending_records;
    log->st.bytes += log->pending.len;
    log->st.last_sync_us = us;
    if (us > log->st.max_sync_us)
        log->st.max_sync_us = us;
    int64_t warn_ms = log->opts.fsync_warn_ms ? log->opts.fsync_warn_ms : DEFAULT_FSYNC_WARN_MS;
    if (warn_ms > 0 && us / 1000 > warn_ms)
        LOG_W("txnlog", "fsync-ing the txn log %s took %" PRId64 " ms (warning threshold %" PRId64
              " ms) for %zu bytes in %" PRIu64 " record(s); a slow disk adds this to every write's "
              "latency: put dataLogDir on its own fast device", log->path, us / 1000, warn_ms,
              log->pending.len, log->pending_records);
    buf_reset(&log->pending);
    log->pending_records = 0;
    if (log->new_file) {
        log->new_file = false;
        if (old_fd >= 0) {
            /* close the previous file, dropping its unused preallocation */
            int cur_fd = log->fd;
            char *cur_path = log->path;
            int64_t cur_off = log->off, cur_alloc = log->alloc_end;
            log->fd = old_fd;
            log->path = old_path;
            log->off = old_off;
            log->alloc_end = old_alloc;
            close_current(log);
            log->fd = cur_fd;
            log->path = cur_path;
            log->off = cur_off;
            log->alloc_end = cur_alloc;
        }
    }
    return 0;

fail:
    stor_errf(err, errlen, "txn log %s failed for %s: %s", what, log->path, strerror(errno));
    LOG_E("txnlog", "%s failed for %s: %s; %" PRIu64 " unsynced record(s) dropped", what, log->path,
          strerror(errno), log->pending_records);
    undo_batch(log, log->new_file, old_fd, old_path, old_off, old_alloc);
    return -1;
}
