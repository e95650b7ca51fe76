/* snap.c — snapshot files: atomic write, verified load with fallback, autopurge of
 * snapshots and of the txn logs they make unnecessary. API: snap.h.
 *
 * Files: <dataDir>/version-2/snapshot.<hex zxid of the last txn included>; while being
 * written: snapshot.<hex>.tmp-<pid> (renamed when complete, removed by purge once the
 * writing process is gone).
 *
 * File format (all integers big-endian; crc32c is CRC-32C, common/crc32c.h):
 *
 *   snapshot := sheader body trailer
 *   sheader  := magic:"GZSN" version:u32(=1) dbid:u64(=0) zxid:u64 hcrc:u32
 *               zxid equals the zxid in the file name; hcrc = crc32c(the 24 bytes
 *               before it)                                                   (28 bytes)
 *   body     := byte[len]           opaque; the data tree's own serialization
 *   trailer  := len:u64 crc:u32 magic:"GZSE"                                 (16 bytes)
 *               crc = crc32c(body); the file is exactly 28 + len + 16 bytes long
 *
 * The length lives in the trailer so a snapshot can be streamed (snap_writer_*)
 * without knowing its size in advance; a file cut short anywhere fails the size,
 * trailer or checksum test. */
#include "coord/snap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/crc32c.h"
#include "common/log.h"
#include "coord/storage_int.h"

#define SNAP_PREFIX STOR_SNAP_PREFIX
#define TMP_TAG ".tmp-"
#define SHDR_LEN 28
#define STRL_LEN 16
#define SNAP_VERSION 1
#define WBUF_SIZE (1u << 20)
#define MIN_RETAIN 3

static const uint8_t HDR_MAGIC[4] = {'G', 'Z', 'S', 'N'}; /* STOR_SNAP_MAGIC */
static const uint8_t TRL_MAGIC[4] = {'G', 'Z', 'S', 'E'};

/* ---------------------------------------------------------------- writing */

struct snap_writer_s {
    char *v2;
    char *tmp;   /* temp file path */
    char *final; /* snapshot.<hex> */
    int fd;
    int64_t zxid;
    uint64_t len; /* body bytes so far */
    uint32_t crc;
    int64_t off;  /* file offset of wbuf's first byte */
    buf_t wbuf;   /* batches small writes */
    int failed;
};

static int w_flush(snap_writer_t *w, char *err, size_t errlen)
{
    if (w->wbuf.len == 0)
        return 0;
    if (stor_pwrite_all(w->fd, w->wbuf.data, w->wbuf.len, w->off) != 0) {
        stor_errf(err, errlen, "cannot write snapshot %s: %s", w->tmp, strerror(errno));
        w->failed = 1;
        return -1;
    }
    w->off += (int64_t)w->wbuf.len;
    buf_reset(&w->wbuf);
    return 0;
}

static void w_free(snap_writer_t *w)
{
    if (w->fd >= 0)
        close(w->fd);
    buf_free(&w->wbuf);
    free(w->v2);
    free(w->tmp);
    free(w->final);
    free(w);
}

int snap_writer_begin(snap_writer_t **out, const char *dir, int64_t zxid, char *err, size_t errlen)
{
    *out = NULL;
    if (zxid < 0) {
        stor_errf(err, errlen, "snapshot zxid must not be negative");
        return -1;
    }
    char *v2 = stor_make_v2(dir, err, errlen);
    if (!v2)
        return -1;
    snap_writer_t *w = xcalloc(1, sizeof *w);
    w->v2 = v2;
    w->zxid = zxid;
    w->final = stor_file_path(v2, SNAP_PREFIX, zxid);
    w->tmp = xasprintf("%s" TMP_TAG "%ld", w->final, (long)getpid());
    buf_init(&w->wbuf);
    w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        stor_errf(err, errlen, "cannot create snapshot %s: %s", w->tmp, strerror(errno));
        w_free(w);
        return -1;
    }
    uint8_t h[SHDR_LEN];
    memcpy(h, HDR_MAGIC, 4);
    be32_put(h + 4, SNAP_VERSION);
    be64_put(h + 8, 0);
    be64_put(h + 16, (uint64_t)zxid);
    be32_put(h + 24, crc32c(h, 24));
    buf_put(&w->wbuf, h, sizeof h);
    *out = w;
    return 0;
}

int snap_writer_write(snap_writer_t *w, const void *data, size_t len, char *err, size_t errlen)
{
    if (w->failed) {
        stor_errf(err, errlen, "snapshot %s: an earlier write failed", w->tmp);
        return -1;
    }
    w->crc = crc32c_update(w->crc, data, len);
    w->len += len;
    if (w->wbuf.len + len <= WBUF_SIZE) {
        buf_put(&w->wbuf, data, len);
        return 0;
    }
    if (w_flush(w, err, errlen) != 0)
        return -1;
    if (len >= WBUF_SIZE / 2) { /* large piece: write it directly */
        if (stor_pwrite_all(w->fd, data, len, w->off) != 0) {
            stor_errf(err, errlen, "cannot write snapshot %s: %s", w->tmp, strerror(errno));
            w->failed = 1;
            return -1;
        }
        w->off += (int64_t)len;
        return 0;
    }
    buf_put(&w->wbuf, data, len);
    return 0;
}

void snap_writer_abort(snap_writer_t *w)
{
    if (!w)
        return;
    if (w->fd >= 0) {
        close(w->fd);
        w->fd = -1;
    }
    unlink(w->tmp);
    w_free(w);
}

int snap_writer_commit(snap_writer_t *w, char *err, size_t errlen)
{
    if (w->failed) {
        stor_errf(err, errlen, "snapshot %s: an earlier write failed", w->tmp);
        snap_writer_abort(w);
        return -1;
    }
    uint8_t t[STRL_LEN];
    be64_put(t, w->len);
    be32_put(t + 8, w->crc);
    memcpy(t + 12, TRL_MAGIC, 4);
    buf_put(&w->wbuf, t, sizeof t);
    if (w_flush(w, err, errlen) != 0) {
        snap_writer_abort(w);
        return -1;
    }
    const char *what = "fsync";
    if (fsync(w->fd) != 0)
        goto fail;
    what = "close";
    int fd = w->fd;
    w->fd = -1;
    if (close(fd) != 0)
        goto fail;
    what = "rename";
    if (rename(w->tmp, w->final) != 0)
        goto fail;
    if (stor_fsync_dir(w->v2) != 0) {
        /* the snapshot is complete either way; only its name may not survive a crash */
        stor_errf(err, errlen, "cannot fsync %s after writing %s: %s", w->v2, w->final, strerror(errno));
        w_free(w);
        return -1;
    }
    LOG_I("snap", "wrote snapshot %s (%" PRIu64 " bytes)", w->final, w->len);
    w_free(w);
    return 0;

fail:
    stor_errf(err, errlen, "snapshot %s failed for %s: %s", what, w->tmp, strerror(errno));
    snap_writer_abort(w);
    return -1;
}

int snap_write(const char *dir, int64_t zxid, const void *data, size_t len, char *err, size_t errlen)
{
    snap_writer_t *w;
    if (snap_writer_begin(&w, dir, zxid, err, errlen) != 0)
        return -1;
    if (snap_writer_write(w, data, len, err, errlen) != 0) {
        snap_writer_abort(w);
        return -1;
    }
    return snap_writer_commit(w, err, errlen);
}

/* ---------------------------------------------------------------- reading */

/* Checks header and trailer of an open snapshot of `size` bytes named for zxid.
 * Returns 0 and *len, *crc, or -1 with *why (errno meaningful if *why is NULL). */
static int check_frame(int fd, int64_t size, int64_t zxid, uint64_t *len, uint32_t *crc, const char **why)
{
    *why = NULL;
    if (size < SHDR_LEN + STRL_LEN) {
        *why = size == 0 ? "empty file" : "file too short";
        return -1;
    }
    uint8_t h[SHDR_LEN], t[STRL_LEN];
    ssize_t r1 = stor_pread_full(fd, h, sizeof h, 0);
    ssize_t r2 = stor_pread_full(fd, t, sizeof t, size - STRL_LEN);
    if (r1 < 0 || r2 < 0)
        return -1;
    if (r1 < SHDR_LEN || r2 < STRL_LEN) {
        *why = "file shorter than expected";
        return -1;
    }
    if (memcmp(h, HDR_MAGIC, 4) != 0) {
        *why = "bad magic (not a Gregor snapshot)";
        return -1;
    }
    if (crc32c(h, 24) != be32_get(h + 24)) {
        *why = "header checksum mismatch";
        return -1;
    }
    if (be32_get(h + 4) != SNAP_VERSION) {
        *why = "unsupported snapshot format version";
        return -1;
    }
    if ((int64_t)be64_get(h + 16) != zxid) {
        *why = "header zxid does not match the file name";
        return -1;
    }
    if (memcmp(t + 12, TRL_MAGIC, 4) != 0) {
        *why = "missing trailer (incomplete file)";
        return -1;
    }
    *len = be64_get(t);
    if (*len != (uint64_t)(size - SHDR_LEN - STRL_LEN)) {
        *why = "length in trailer does not match the file size";
        return -1;
    }
    *crc = be32_get(t + 8);
    return 0;
}

/* Loads and verifies one snapshot. Returns 0 (body in *data, malloc'd), or -1 with *why. */
static int load_one(const char *path, int64_t zxid, uint8_t **data, size_t *len, char *why, size_t whylen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        stor_errf(why, whylen, "%s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    uint64_t blen;
    uint32_t crc;
    const char *w;
    if (check_frame(fd, st.st_size, zxid, &blen, &crc, &w) != 0) {
        stor_errf(why, whylen, "%s", w ? w : strerror(errno));
        close(fd);
        return -1;
    }
    if (blen > SIZE_MAX - 1) {
        stor_errf(why, whylen, "too large for this machine");
        close(fd);
        return -1;
    }
    uint8_t *p = xmalloc((size_t)blen ? (size_t)blen : 1);
    ssize_t got = stor_pread_full(fd, p, (size_t)blen, SHDR_LEN);
    int e = errno;
    close(fd);
    if (got < 0 || (uint64_t)got != blen) {
        stor_errf(why, whylen, "%s", got < 0 ? strerror(e) : "file shorter than expected");
        free(p);
        return -1;
    }
    if (crc32c(p, (size_t)blen) != crc) {
        stor_errf(why, whylen, "body checksum mismatch");
        free(p);
        return -1;
    }
    *data = p;
    *len = (size_t)blen;
    return 0;
}

int snap_list_files(const char *dir, int64_t **zxids, size_t *n, char *err, size_t errlen)
{
    char *v2 = stor_v2_path(dir);
    int rc = stor_list(v2, SNAP_PREFIX, zxids, n, err, errlen);
    free(v2);
    return rc;
}

int snap_load_latest(const char *dir, int64_t *zxid, uint8_t **data, size_t *len, char *err, size_t errlen)
{
    *data = NULL;
    *len = 0;
    int64_t *z;
    size_t n;
    char *v2 = stor_v2_path(dir);
    if (stor_list(v2, SNAP_PREFIX, &z, &n, err, errlen) != 0) {
        free(v2);
        return -1;
    }
    int ret = n ? -1 : 0;
    char first_why[256] = "";
    for (size_t i = n; i-- > 0;) {
        char *path = stor_file_path(v2, SNAP_PREFIX, z[i]);
        char why[256];
        if (load_one(path, z[i], data, len, why, sizeof why) == 0) {
            *zxid = z[i];
            if (i + 1 < n)
                LOG_W("snap", "loaded the older snapshot %s; the txn log must reach back to zxid 0x%" PRIx64,
                      path, (uint64_t)z[i]);
            free(path);
            ret = 1;
            break;
        }
        LOG_W("snap", "snapshot %s is damaged (%s)%s", path, why,
              i > 0 ? "; falling back to an older one" : "");
        if (!first_why[0])
            stor_errf(first_why, sizeof first_why, "%s: %s", path, why);
        free(path);
    }
    if (ret < 0)
        stor_errf(err, errlen, "none of the %zu snapshot(s) in %s is intact (newest %s); refusing to start "
                  "with an empty tree", n, v2, first_why);
    free(z);
    free(v2);
    return ret;
}

int64_t snap_dir_bytes(const char *dir)
{
    return stor_bytes(dir, SNAP_PREFIX);
}

/* ---------------------------------------------------------------- purge */

/* Header and trailer intact (body checksum not read: purge must stay cheap). */
static bool frame_ok(const char *path, int64_t zxid)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct stat st;
    uint64_t len;
    uint32_t crc;
    const char *why;
    bool ok = fstat(fd, &st) == 0 && check_frame(fd, st.st_size, zxid, &len, &crc, &why) == 0;
    close(fd);
    return ok;
}

static int remove_file(const char *path, const char *magic, int *removed, char *err, size_t errlen)
{
    if (magic && !stor_is_ours(path, magic)) {
        LOG_W("snap", "purge: leaving %s alone: not a Gregor file", path);
        return 0;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        stor_errf(err, errlen, "cannot remove %s: %s", path, strerror(errno));
        return -1;
    }
    LOG_I("snap", "purge: removed %s", path);
    (*removed)++;
    return 0;
}

/* Removes snapshot.<hex>.tmp-<pid> files whose writer no longer runs. */
static int purge_temps(const char *v2, int *removed, char *err, size_t errlen)
{
    DIR *d = opendir(v2);
    if (!d) {
        if (errno == ENOENT)
            return 0;
        stor_errf(err, errlen, "cannot read directory %s: %s", v2, strerror(errno));
        return -1;
    }
    int ret = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && ret == 0) {
        const char *tag = strstr(de->d_name, TMP_TAG);
        if (strncmp(de->d_name, SNAP_PREFIX, strlen(SNAP_PREFIX)) != 0 || !tag)
            continue;
        char *end;
        long pid = strtol(tag + strlen(TMP_TAG), &end, 10);
        if (*end || pid <= 0 || pid == (long)getpid())
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* possibly still being written */
        char *p = xasprintf("%s/%s", v2, de->d_name);
        ret = remove_file(p, NULL, removed, err, errlen);
        free(p);
    }
    closedir(d);
    return ret;
}

int snap_purge(const char *snap_dir, const char *log_dir, int retain, char *err, size_t errlen)
{
    if (retain < MIN_RETAIN)
        retain = MIN_RETAIN;
    char *sv2 = stor_v2_path(snap_dir);
    char *lv2 = stor_v2_path(log_dir);
    int64_t *sz = NULL, *lz = NULL;
    size_t sn = 0, ln = 0;
    int removed = 0, ret = 0;
    if (stor_list(sv2, SNAP_PREFIX, &sz, &sn, err, errlen) != 0 ||
        stor_list(lv2, STOR_LOG_PREFIX, &lz, &ln, err, errlen) != 0) {
        ret = -1;
        goto out;
    }
    /* the oldest of the newest `retain` intact snapshots */
    int kept = 0;
    int64_t oldest_kept = -1;
    for (size_t i = sn; i-- > 0 && kept < retain;) {
        char *p = stor_file_path(sv2, SNAP_PREFIX, sz[i]);
        if (frame_ok(p, sz[i])) {
            kept++;
            oldest_kept = sz[i];
        }
        free(p);
    }
    if (oldest_kept >= 0) {
        for (size_t i = 0; i < sn && sz[i] < oldest_kept && ret == 0; i++) {
            char *p = stor_file_path(sv2, SNAP_PREFIX, sz[i]);
            ret = remove_file(p, STOR_SNAP_MAGIC, &removed, err, errlen);
            free(p);
        }
        /* keep the newest log starting at or before oldest_kept (it holds oldest_kept + 1)
         * and everything after it */
        size_t need = 0;
        bool found = false;
        for (size_t i = 0; i < ln; i++)
            if (lz[i] <= oldest_kept) {
                need = i;
                found = true;
            }
        for (size_t i = 0; found && i < need && ret == 0; i++) {
            char *p = stor_file_path(lv2, STOR_LOG_PREFIX, lz[i]);
            ret = remove_file(p, STOR_LOG_MAGIC, &removed, err, errlen);
            free(p);
        }
    }
    if (ret == 0 && purge_temps(sv2, &removed, err, errlen) != 0)
        ret = -1;
out:
    free(sz);
    free(lz);
    free(sv2);
    free(lv2);
    return ret == 0 ? removed : -1;
}
