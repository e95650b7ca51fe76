/* logckpt.c — checkpoint files, meta.properties and file helpers (formats in logckpt.h). */
#include "broker/logckpt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/props.h"

#define MAX_CKPT_FILE (256u << 20)

/* ---- helpers ---------------------------------------------------------------------------- */

int lckpt_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

int lckpt_write_atomic(const char *path, const void *data, size_t len, bool durable)
{
    char *tmp = xasprintf("%s.tmp", path);
    int rc = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, (const uint8_t *)data + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = w < 0 ? -errno : -EIO;
            break;
        }
        done += (size_t)w;
    }
    if (rc == 0 && durable && fsync(fd) != 0)
        rc = -errno;
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc != 0) {
        unlink(tmp);
    } else if (durable) {
        const char *slash = strrchr(path, '/');
        char *dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
        rc = lckpt_fsync_dir(dir);
        free(dir);
    }
out:
    free(tmp);
    return rc;
}

static int rmtree_at(int dfd, const char *name)
{
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOTDIR || errno == ELOOP)
            return unlinkat(dfd, name, 0) == 0 || errno == ENOENT ? 0 : -errno;
        return errno == ENOENT ? 0 : -errno;
    }
    DIR *d = fdopendir(fd);
    if (!d) {
        int e = errno;
        close(fd);
        return -e;
    }
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        int r = rmtree_at(dirfd(d), e->d_name);
        if (r != 0 && rc == 0)
            rc = r;
    }
    closedir(d);
    if (rc == 0 && unlinkat(dfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
        rc = -errno;
    return rc;
}

int lckpt_rmtree(const char *path)
{
    return rmtree_at(AT_FDCWD, path);
}

/* Whole file into b (NUL-terminated). 0, -ENOENT or -errno. */
static int slurp(const char *path, buf_t *b)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = 0;
    for (;;) {
        buf_reserve(b, 4096);
        ssize_t r = read(fd, b->data + b->len, b->cap - b->len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = -errno;
            break;
        }
        if (r == 0)
            break;
        b->len += (size_t)r;
        if (b->len > MAX_CKPT_FILE) {
            rc = -EFBIG;
            break;
        }
    }
    close(fd);
    buf_cstr(b);
    return rc;
}

/* Next line of text (without "\n") or NULL at the end. */
static char *next_line(char **cur)
{
    char *s = *cur;
    if (!s || !*s)
        return NULL;
    char *nl = strchr(s, '\n');
    if (nl) {
        *nl = 0;
        *cur = nl + 1;
    } else {
        *cur = s + strlen(s);
    }
    return s;
}

static int parse_i64(const char *s, int64_t *v)
{
    if (!*s)
        return -1;
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *v = x;
    return 0;
}

/* Header of both checkpoint formats: version 0 and the count. */
static int read_header(char **cur, int64_t *count, const char *path, char *err, size_t errlen)
{
    char *l1 = next_line(cur), *l2 = next_line(cur);
    int64_t version;
    if (!l1 || !l2 || parse_i64(l1, &version) != 0 || parse_i64(l2, count) != 0 || *count < 0) {
        snprintf(err, errlen, "malformed checkpoint file %s: bad header", path);
        return -EBADMSG;
    }
    if (version != 0) {
        snprintf(err, errlen, "unrecognised version %" PRId64 " in checkpoint file %s", version, path);
        return -EBADMSG;
    }
    return 0;
}

/* ---- offset checkpoints -------------------------------------------------------------------- */

static size_t key_of(char *k, size_t cap, const char *topic, int32_t partition)
{
    int n = snprintf(k, cap, "%s%c%" PRId32, topic, 0, partition);
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

void lckpt_init(lckpt_t *c)
{
    memset(c, 0, sizeof *c);
    hmap_init(&c->idx);
}

void lckpt_free(lckpt_t *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i].topic);
    free(c->v);
    hmap_fini(&c->idx, NULL);
    memset(c, 0, sizeof *c);
}

void lckpt_set(lckpt_t *c, const char *topic, int32_t partition, int64_t offset)
{
    char k[320];
    size_t kl = key_of(k, sizeof k, topic, partition);
    uintptr_t at = (uintptr_t)hmap_get(&c->idx, k, kl);
    if (at) {
        c->v[at - 1].offset = offset;
        return;
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->v = xrealloc(c->v, c->cap * sizeof *c->v);
    }
    c->v[c->n] = (lckpt_entry_t){xstrdup(topic), partition, offset};
    c->n++;
    hmap_put(&c->idx, k, kl, (void *)(uintptr_t)c->n);
}

int lckpt_get(const lckpt_t *c, const char *topic, int32_t partition, int64_t *offset)
{
    char k[320];
    size_t kl = key_of(k, sizeof k, topic, partition);
    uintptr_t at = (uintptr_t)hmap_get(&c->idx, k, kl);
    if (!at)
        return 0;
    *offset = c->v[at - 1].offset;
    return 1;
}

int lckpt_read(const char *path, lckpt_t *c, char *err, size_t errlen)
{
    buf_t b = BUF_INIT;
    int rc = slurp(path, &b);
    if (rc == -ENOENT) {
        buf_free(&b);
        return 0;
    }
    if (rc != 0) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(-rc));
        buf_free(&b);
        return rc;
    }
    char *cur = (char *)b.data;
    int64_t count;
    rc = read_header(&cur, &count, path, err, errlen);
    for (int64_t i = 0; rc == 0 && i < count; i++) {
        char *l = next_line(&cur);
        char *sp1 = l ? strchr(l, ' ') : NULL;
        char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
        int64_t part, off;
        if (!sp2 || sp1 == l) {
            rc = -EBADMSG;
        } else {
            *sp1 = 0;
            *sp2 = 0;
            if (parse_i64(sp1 + 1, &part) != 0 || part < 0 || part > INT32_MAX || parse_i64(sp2 + 1, &off) != 0)
                rc = -EBADMSG;
            else
                lckpt_set(c, l, (int32_t)part, off);
        }
        if (rc != 0)
            snprintf(err, errlen, "malformed line %" PRId64 " in checkpoint file %s", i + 3, path);
    }
    if (rc == 0 && next_line(&cur) != NULL) {
        snprintf(err, errlen, "checkpoint file %s has more lines than its count", path);
        rc = -EBADMSG;
    }
    buf_free(&b);
    return rc;
}

int lckpt_write(const char *path, const lckpt_t *c)
{
    buf_t b = BUF_INIT;
    buf_printf(&b, "0\n%zu\n", c->n);
    for (size_t i = 0; i < c->n; i++)
        buf_printf(&b, "%s %" PRId32 " %" PRId64 "\n", c->v[i].topic, c->v[i].partition, c->v[i].offset);
    int rc = lckpt_write_atomic(path, b.data, b.len, true);
    buf_free(&b);
    return rc;
}

/* ---- leader epochs ------------------------------------------------------------------------- */

int lckpt_epochs_read(const char *path, lckpt_epoch_t **v, size_t *n, char *err, size_t errlen)
{
    *v = NULL;
    *n = 0;
    buf_t b = BUF_INIT;
    int rc = slurp(path, &b);
    if (rc == -ENOENT) {
        buf_free(&b);
        return 0;
    }
    if (rc != 0) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(-rc));
        buf_free(&b);
        return rc;
    }
    char *cur = (char *)b.data;
    int64_t count;
    rc = read_header(&cur, &count, path, err, errlen);
    if (rc == 0 && count > 1000000)
        rc = -EBADMSG;
    if (rc == 0)
        *v = xcalloc((size_t)count + 1, sizeof **v);
    for (int64_t i = 0; rc == 0 && i < count; i++) {
        char *l = next_line(&cur);
        char *sp = l ? strchr(l, ' ') : NULL;
        int64_t ep, off;
        if (!sp) {
            rc = -EBADMSG;
        } else {
            *sp = 0;
            if (parse_i64(l, &ep) != 0 || ep < 0 || ep > INT32_MAX || parse_i64(sp + 1, &off) != 0 || off < 0)
                rc = -EBADMSG;
            else
                (*v)[(*n)++] = (lckpt_epoch_t){(int32_t)ep, off};
        }
        if (rc != 0)
            snprintf(err, errlen, "malformed line %" PRId64 " in checkpoint file %s", i + 3, path);
    }
    if (rc != 0) {
        free(*v);
        *v = NULL;
        *n = 0;
    }
    buf_free(&b);
    return rc;
}

int lckpt_epochs_write(const char *path, const lckpt_epoch_t *v, size_t n)
{
    buf_t b = BUF_INIT;
    buf_printf(&b, "0\n%zu\n", n);
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, "%" PRId32 " %" PRId64 "\n", v[i].epoch, v[i].start);
    int rc = lckpt_write_atomic(path, b.data, b.len, true);
    buf_free(&b);
    return rc;
}

/* ---- meta.properties ----------------------------------------------------------------------- */

void lckpt_meta_free(lckpt_meta_t *m)
{
    free(m->cluster_id);
    m->cluster_id = NULL;
}

int lckpt_meta_read(const char *dir, lckpt_meta_t *m, char *err, size_t errlen)
{
    char *path = xasprintf("%s/%s", dir, LCKPT_META);
    m->version = -1;
    m->broker_id = -1;
    m->cluster_id = NULL;
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT) {
        free(path);
        return 0;
    }
    props_t p;
    props_init(&p);
    int rc = props_load_file(&p, path, err, errlen);
    if (rc == 0) {
        const char *v = props_get(&p, "version");
        const char *b = props_get(&p, "broker.id");
        const char *c = props_get(&p, "cluster.id");
        int64_t x;
        if (!v || parse_i64(v, &x) != 0 || x < 0 || x > 1) {
            snprintf(err, errlen, "%s: missing or unsupported version", path);
            rc = -EBADMSG;
        } else {
            m->version = (int)x;
            if (b && (parse_i64(b, &x) != 0 || x < -1 || x > INT32_MAX)) {
                snprintf(err, errlen, "%s: invalid broker.id", path);
                rc = -EBADMSG;
            } else if (b) {
                m->broker_id = (int32_t)x;
            }
            if (c)
                m->cluster_id = xstrdup(c);
        }
    } else {
        rc = -EIO;
    }
    props_free(&p);
    free(path);
    if (rc != 0) {
        lckpt_meta_free(m);
        return rc;
    }
    return 1;
}

int lckpt_meta_write(const char *dir, const lckpt_meta_t *m)
{
    char date[64] = "";
    time_t t = (time_t)(clock_wall_ms() / 1000);
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(date, sizeof date, "%a %b %d %H:%M:%S UTC %Y", &tm);
    buf_t b = BUF_INIT;
    buf_printf(&b, "#\n#%s\n", date);
    if (m->cluster_id)
        buf_printf(&b, "cluster.id=%s\n", m->cluster_id);
    buf_printf(&b, "version=%d\nbroker.id=%" PRId32 "\n", m->version < 0 ? 0 : m->version, m->broker_id);
    char *path = xasprintf("%s/%s", dir, LCKPT_META);
    int rc = lckpt_write_atomic(path, b.data, b.len, true);
    free(path);
    buf_free(&b);
    return rc;
}
