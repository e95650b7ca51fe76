/* logindex.c — offset and time indexes of a log segment (formats in logindex.h). */
#include "broker/logindex.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/buf.h"

void lidx_init(lidx_t *x, const char *path, int kind)
{
    memset(x, 0, sizeof *x);
    x->path = xstrdup(path);
    x->kind = kind;
    x->esize = kind == LIDX_TIME ? LIDX_TIME_ENTRY : LIDX_OFFSET_ENTRY;
}

static void drop_mem(lidx_t *x)
{
    if (x->sealed) {
        if (x->mem)
            munmap(x->mem, x->map_len);
    } else {
        free(x->mem);
    }
    x->mem = NULL;
    x->n = x->cap = x->map_len = 0;
}

void lidx_free(lidx_t *x)
{
    drop_mem(x);
    free(x->path);
    x->path = NULL;
}

static void reserve(lidx_t *x, size_t n)
{
    if (n <= x->cap)
        return;
    size_t cap = x->cap ? x->cap : 64;
    while (cap < n)
        cap *= 2;
    x->mem = xrealloc(x->mem, cap * x->esize);
    x->cap = cap;
}

int lidx_load(lidx_t *x)
{
    drop_mem(x);
    x->sealed = false;
    x->nfile = 0;
    x->file_dirty = false;
    int fd = open(x->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    size_t n = (size_t)st.st_size / x->esize;
    reserve(x, n);
    size_t want = n * x->esize, got = 0;
    while (got < want) {
        ssize_t r = pread(fd, x->mem + got, want - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int e = r < 0 ? errno : EIO;
            close(fd);
            return -e;
        }
        got += (size_t)r;
    }
    close(fd);
    x->n = x->nfile = n;
    /* a torn partial entry at the end is cut at the next sync */
    x->file_dirty = (size_t)st.st_size != want;
    return 0;
}

void lidx_append_offset(lidx_t *x, int32_t rel, int32_t pos)
{
    reserve(x, x->n + 1);
    uint8_t *p = x->mem + x->n * x->esize;
    be32_put(p, (uint32_t)rel);
    be32_put(p + 4, (uint32_t)pos);
    x->n++;
}

void lidx_append_time(lidx_t *x, int64_t ts, int32_t rel)
{
    reserve(x, x->n + 1);
    uint8_t *p = x->mem + x->n * x->esize;
    be64_put(p, (uint64_t)ts);
    be32_put(p + 8, (uint32_t)rel);
    x->n++;
}

void lidx_clear(lidx_t *x)
{
    if (x->sealed)
        drop_mem(x);
    x->sealed = false;
    x->n = 0;
    x->nfile = 0;
    x->file_dirty = true;
}

/* Maps a sealed index if not yet mapped. Returns 0 or -errno. */
static int ensure_mapped(lidx_t *x)
{
    if (!x->sealed || x->mem)
        return 0;
    int fd = open(x->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0) {
        rc = -errno;
    } else {
        size_t n = (size_t)st.st_size / x->esize;
        if (n > 0) {
            void *m = mmap(NULL, n * x->esize, PROT_READ, MAP_SHARED, fd, 0);
            if (m == MAP_FAILED) {
                rc = -errno;
            } else {
                x->mem = m;
                x->map_len = n * x->esize;
                x->n = x->nfile = n;
            }
        }
    }
    close(fd);
    return rc;
}

size_t lidx_count(lidx_t *x)
{
    if (ensure_mapped(x) != 0)
        return 0;
    return x->n;
}

static int32_t rel_at(const lidx_t *x, size_t i)
{
    const uint8_t *p = x->mem + i * x->esize;
    return (int32_t)be32_get(x->kind == LIDX_TIME ? p + 8 : p);
}

static int64_t ts_at(const lidx_t *x, size_t i)
{
    return (int64_t)be64_get(x->mem + i * x->esize);
}

static int32_t pos_at(const lidx_t *x, size_t i)
{
    return (int32_t)be32_get(x->mem + i * x->esize + 4);
}

int lidx_unseal(lidx_t *x)
{
    if (!x->sealed)
        return 0;
    return lidx_load(x);
}

int lidx_truncate_rel(lidx_t *x, int32_t rel)
{
    int rc = lidx_unseal(x);
    if (rc != 0)
        return rc;
    size_t lo = 0, hi = x->n;           /* first entry with rel_at >= rel */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rel_at(x, mid) < rel)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < x->n) {
        x->n = lo;
        if (x->nfile > lo)
            x->nfile = lo;
        x->file_dirty = true;
    }
    return 0;
}

int lidx_sync(lidx_t *x, bool durable)
{
    if (x->sealed) {
        /* written when sealed; only durability may be missing */
        if (!durable)
            return 0;
        int fd = open(x->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return errno == ENOENT ? 0 : -errno;
        int rc = fdatasync(fd) == 0 ? 0 : -errno;
        close(fd);
        return rc;
    }
    if (x->nfile == x->n && !x->file_dirty && !durable)
        return 0;
    int fd = open(x->path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    int rc = 0;
    size_t off = x->nfile * x->esize, end = x->n * x->esize;
    while (off < end) {
        ssize_t w = pwrite(fd, x->mem + off, end - off, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = w < 0 ? -errno : -EIO;
            break;
        }
        off += (size_t)w;
    }
    if (rc == 0 && x->file_dirty && ftruncate(fd, (off_t)end) != 0)
        rc = -errno;
    if (rc == 0 && durable && fdatasync(fd) != 0)
        rc = -errno;
    close(fd);
    if (rc == 0) {
        x->nfile = x->n;
        x->file_dirty = false;
    }
    return rc;
}

int lidx_seal(lidx_t *x)
{
    if (x->sealed)
        return 0;
    int rc = lidx_sync(x, false);
    if (rc != 0)
        return rc;
    drop_mem(x);
    x->sealed = true;
    x->nfile = 0;
    return 0;
}

int lidx_offset_floor(lidx_t *x, int32_t target, int32_t *rel, int32_t *pos)
{
    if (ensure_mapped(x) != 0 || x->n == 0 || rel_at(x, 0) > target)
        return 0;
    size_t lo = 0, hi = x->n - 1;       /* last entry with rel <= target */
    while (lo < hi) {
        size_t mid = hi - (hi - lo) / 2;
        if (rel_at(x, mid) <= target)
            lo = mid;
        else
            hi = mid - 1;
    }
    *rel = rel_at(x, lo);
    *pos = pos_at(x, lo);
    return 1;
}

int lidx_time_floor_below(lidx_t *x, int64_t ts, int64_t *ets, int32_t *rel)
{
    if (ensure_mapped(x) != 0 || x->n == 0 || ts_at(x, 0) >= ts)
        return 0;
    size_t lo = 0, hi = x->n - 1;       /* last entry with ts_at < ts */
    while (lo < hi) {
        size_t mid = hi - (hi - lo) / 2;
        if (ts_at(x, mid) < ts)
            lo = mid;
        else
            hi = mid - 1;
    }
    *ets = ts_at(x, lo);
    *rel = rel_at(x, lo);
    return 1;
}

int lidx_last_offset(lidx_t *x, int32_t *rel, int32_t *pos)
{
    if (ensure_mapped(x) != 0 || x->n == 0)
        return 0;
    *rel = rel_at(x, x->n - 1);
    *pos = pos_at(x, x->n - 1);
    return 1;
}

int lidx_last_time(lidx_t *x, int64_t *ts, int32_t *rel)
{
    if (ensure_mapped(x) != 0 || x->n == 0)
        return 0;
    *ts = ts_at(x, x->n - 1);
    *rel = rel_at(x, x->n - 1);
    return 1;
}

int lidx_check(lidx_t *x, uint64_t log_size)
{
    if (ensure_mapped(x) != 0)
        return -1;
    if (x->sealed && x->mem == NULL) {
        /* a sealed index whose file holds a torn partial entry maps nothing; check the size */
        struct stat st;
        if (stat(x->path, &st) == 0 && st.st_size % (off_t)x->esize != 0)
            return -1;
    }
    for (size_t i = 0; i < x->n; i++) {
        int32_t r = rel_at(x, i);
        if (r < 0 || (i > 0 && r <= rel_at(x, i - 1)))
            return -1;
        if (x->kind == LIDX_OFFSET) {
            int32_t p = pos_at(x, i);
            if (p < 0 || (uint64_t)p >= log_size || (i > 0 && p <= pos_at(x, i - 1)))
                return -1;
        } else if (i > 0 && ts_at(x, i) <= ts_at(x, i - 1)) {
            return -1;
        }
    }
    return 0;
}

int lidx_unlink(lidx_t *x)
{
    if (unlink(x->path) != 0 && errno != ENOENT)
        return -errno;
    return 0;
}

int lidx_rename(lidx_t *x, const char *new_path)
{
    if (rename(x->path, new_path) != 0)
        return -errno;
    free(x->path);
    x->path = xstrdup(new_path);
    return 0;
}
