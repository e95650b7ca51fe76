/* storage.c — private file helpers for the txn log and snapshots (see storage_int.h). */
#include "coord/storage_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"

void stor_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

char *stor_v2_path(const char *dir)
{
    return xasprintf("%s/%s", dir, STOR_VERSION_DIR);
}

static int mkdir_if_missing(const char *path, char *err, size_t errlen)
{
    if (mkdir(path, 0755) == 0 || errno == EEXIST) {
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            return 0;
        stor_errf(err, errlen, "%s exists and is not a directory", path);
        return -1;
    }
    stor_errf(err, errlen, "cannot create directory %s: %s", path, strerror(errno));
    return -1;
}

char *stor_make_v2(const char *dir, char *err, size_t errlen)
{
    if (!dir || !*dir) {
        stor_errf(err, errlen, "no directory configured");
        return NULL;
    }
    /* mkdir -p on the configured directory, then version-2 beneath it */
    char *p = xstrdup(dir);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            stor_errf(err, errlen, "cannot create directory %s: %s", p, strerror(errno));
            free(p);
            return NULL;
        }
        *s = '/';
    }
    int rc = mkdir_if_missing(p, err, errlen);
    free(p);
    if (rc != 0)
        return NULL;
    char *v2 = stor_v2_path(dir);
    if (mkdir_if_missing(v2, err, errlen) != 0) {
        free(v2);
        return NULL;
    }
    return v2;
}

char *stor_file_path(const char *v2, const char *prefix, int64_t zxid)
{
    return xasprintf("%s/%s%" PRIx64, v2, prefix, (uint64_t)zxid);
}

bool stor_parse_name(const char *name, const char *prefix, int64_t *zxid)
{
    size_t pl = strlen(prefix);
    if (strncmp(name, prefix, pl) != 0)
        return false;
    const char *h = name + pl;
    size_t n = strlen(h);
    if (n == 0 || n > 16)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            return false;
        v = v << 4 | d;
    }
    if (v > (uint64_t)INT64_MAX)
        return false;
    *zxid = (int64_t)v;
    return true;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int stor_list(const char *v2, const char *prefix, int64_t **zxids, size_t *n, char *err, size_t errlen)
{
    *zxids = NULL;
    *n = 0;
    DIR *d = opendir(v2);
    if (!d) {
        if (errno == ENOENT)
            return 0;
        stor_errf(err, errlen, "cannot read directory %s: %s", v2, strerror(errno));
        return -1;
    }
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        int64_t z;
        if (!stor_parse_name(de->d_name, prefix, &z))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *zxids = xrealloc(*zxids, cap * sizeof **zxids);
        }
        (*zxids)[(*n)++] = z;
    }
    closedir(d);
    if (*n)
        qsort(*zxids, *n, sizeof **zxids, cmp_i64);
    /* "log.1" and "log.01" would name the same zxid: refuse to guess which is meant */
    for (size_t i = 1; i < *n; i++) {
        if ((*zxids)[i] == (*zxids)[i - 1]) {
            stor_errf(err, errlen, "two files in %s name zxid 0x%" PRIx64 " (%s with leading zeros?)", v2,
                      (uint64_t)(*zxids)[i], prefix);
            free(*zxids);
            *zxids = NULL;
            *n = 0;
            return -1;
        }
    }
    return 0;
}

int64_t stor_bytes(const char *dir, const char *prefix)
{
    char *v2 = stor_v2_path(dir);
    DIR *d = opendir(v2);
    if (!d) {
        int e = errno;
        free(v2);
        return e == ENOENT ? 0 : -1;
    }
    int64_t total = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        int64_t z;
        struct stat st;
        if (!stor_parse_name(de->d_name, prefix, &z))
            continue;
        if (fstatat(dirfd(d), de->d_name, &st, 0) == 0)
            total += st.st_size;
    }
    closedir(d);
    free(v2);
    return total;
}

bool stor_is_ours(const char *path, const char *magic)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return true;
    uint8_t h[4];
    ssize_t got = stor_pread_full(fd, h, sizeof h, 0);
    close(fd);
    if (got < (ssize_t)sizeof h)
        return true;
    return memcmp(h, magic, 4) == 0 || (h[0] | h[1] | h[2] | h[3]) == 0;
}

int stor_fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return rc == 0 ? 0 : -1;
}

int stor_pwrite_all(int fd, const void *p, size_t n, off_t off)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = pwrite(fd, b, n, off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (w == 0) {
            errno = ENOSPC;
            return -1;
        }
        b += w;
        n -= (size_t)w;
        off += w;
    }
    return 0;
}

ssize_t stor_pread_full(int fd, void *p, size_t n, off_t off)
{
    uint8_t *b = p;
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, b + got, n - got, off + (off_t)got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}
