/* logmgr.c — all partition logs under log.dirs: open/recover, create/delete, checkpoints and
 * periodic jobs (logmgr.h). */
#include "broker/logmgr.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/compact.h"
#include "broker/logckpt.h"
#include "common/alloc.h"
#include "common/hmap.h"
#include "common/log.h"
#include "proto/kafka_err.h"

#define SUB "logmgr"

typedef struct ldir_s {
    char *path;
    int lock_fd;
} ldir_t;

struct lmgr_s {
    lmgr_config_t cfg;
    ldir_t *dirs;
    size_t ndirs;
    hmap_t logs;               /* "topic\0partition" -> plog_t* */
    int64_t next[6];           /* per LMGR_DUE_* bit, in bit order */
};

static const int64_t *interval_of(const lmgr_t *m, int bit)
{
    switch (bit) {
    case 0: return &m->cfg.retention_check_interval_ms;
    case 1: return &m->cfg.flush_check_interval_ms;
    case 2: return &m->cfg.recovery_ckpt_interval_ms;
    case 3: return &m->cfg.start_ckpt_interval_ms;
    case 4: return &m->cfg.hw_ckpt_interval_ms;
    default: return &m->cfg.cleaner_backoff_ms;
    }
}

void lmgr_config_default(lmgr_config_t *c)
{
    memset(c, 0, sizeof *c);
    plog_config_default(&c->defaults);
    c->retention_check_interval_ms = 300000;
    c->flush_check_interval_ms = 1000;
    c->recovery_ckpt_interval_ms = 60000;
    c->start_ckpt_interval_ms = 60000;
    c->hw_ckpt_interval_ms = 5000;
    c->cleaner_backoff_ms = 15000;
    c->cleaner_enable = true;
}

static size_t log_key(char *k, size_t cap, const char *topic, int32_t partition)
{
    int n = snprintf(k, cap, "%s%c%" PRId32, topic, 0, partition);
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

static void seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static void free_mgr(lmgr_t *m)
{
    hmap_fini(&m->logs, NULL);
    for (size_t i = 0; i < m->ndirs; i++) {
        if (m->dirs[i].lock_fd >= 0)
            close(m->dirs[i].lock_fd);      /* releases the flock */
        free(m->dirs[i].path);
    }
    free(m->dirs);
    free(m);
}

static int mkdirs(const char *path)
{
    char *p = xstrdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = 0;
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            int e = errno;
            free(p);
            return -e;
        }
        *s = '/';
    }
    int rc = mkdir(p, 0755) == 0 || errno == EEXIST ? 0 : -errno;
    free(p);
    return rc;
}

static bool name_has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), k = strlen(suf);
    return n >= k && strcmp(s + n - k, suf) == 0;
}

typedef struct dir_ckpts_s {
    lckpt_t rp, start, hw, cleaner;
} dir_ckpts_t;

static void read_ckpt(const char *dir, const char *name, lckpt_t *c)
{
    char *p = xasprintf("%s/%s", dir, name);
    char err[512];
    lckpt_init(c);
    if (lckpt_read(p, c, err, sizeof err) != 0) {
        /* as Kafka: a broken checkpoint resets to the safe default (recover everything) */
        LOG_W(SUB, "%s; ignoring it", err);
        lckpt_free(c);
        lckpt_init(c);
    }
    free(p);
}

/* Opens the logs of one dir. 0 or -1 with err. */
static int open_dir(lmgr_t *m, ldir_t *d, int64_t now_ms, char *err, size_t errlen)
{
    char *marker = xasprintf("%s/%s", d->path, LCKPT_CLEAN_SHUTDOWN);
    struct stat st;
    bool clean = stat(marker, &st) == 0;
    dir_ckpts_t ck;
    read_ckpt(d->path, LCKPT_RECOVERY, &ck.rp);
    read_ckpt(d->path, LCKPT_LOG_START, &ck.start);
    read_ckpt(d->path, LCKPT_REPLICATION, &ck.hw);
    read_ckpt(d->path, LCKPT_CLEANER, &ck.cleaner);
    int rc = 0;
    DIR *dd = opendir(d->path);
    if (!dd) {
        seterr(err, errlen, "cannot list log dir %s: %s", d->path, strerror(errno));
        rc = -1;
        goto out;
    }
    if (!clean)
        LOG_I(SUB, "%s: no clean shutdown marker; recovering logs from their recovery points", d->path);
    struct dirent *e;
    while (rc == 0 && (e = readdir(dd)) != NULL) {
        const char *nm = e->d_name;
        if (nm[0] == '.')
            continue;
        char *full = xasprintf("%s/%s", d->path, nm);
        if (name_has_suffix(nm, "-delete")) {
            LOG_I(SUB, "removing deleted log %s", full);
            lckpt_rmtree(full);
            free(full);
            continue;
        }
        char *topic;
        int32_t part;
        if (stat(full, &st) != 0 || !S_ISDIR(st.st_mode) || plog_parse_dir_name(nm, &topic, &part) != 0) {
            free(full);
            continue;
        }
        free(full);
        char k[320];
        size_t kl = log_key(k, sizeof k, topic, part);
        if (hmap_get(&m->logs, k, kl)) {
            seterr(err, errlen, "duplicate log directory for %s-%" PRId32 " in %s and another log dir", topic, part,
                   d->path);
            free(topic);
            rc = -1;
            break;
        }
        int64_t rp = -1, start = -1, hw = -1, dirty = -1;
        lckpt_get(&ck.rp, topic, part, &rp);
        lckpt_get(&ck.start, topic, part, &start);
        lckpt_get(&ck.hw, topic, part, &hw);
        lckpt_get(&ck.cleaner, topic, part, &dirty);
        plog_open_t o = {d->path, topic, part, &m->cfg.defaults, rp, start, hw, clean, false, now_ms};
        plog_t *l;
        int r = plog_open(&o, &l);
        if (r != 0) {
            seterr(err, errlen, "cannot open log %s/%s: %s", d->path, nm,
                   r == -KERR_KAFKA_STORAGE_ERROR ? "storage error (see the log)" : "invalid directory");
            free(topic);
            rc = -1;
            break;
        }
        if (dirty >= 0)
            lcompact_set_first_dirty(l, dirty);
        hmap_put(&m->logs, k, kl, l);
        free(topic);
    }
    closedir(dd);
    /* the marker is consumed: a crash from now on must recover */
    if (rc == 0 && clean && unlink(marker) != 0) {
        seterr(err, errlen, "cannot remove %s: %s", marker, strerror(errno));
        rc = -1;
    }
out:
    lckpt_free(&ck.rp);
    lckpt_free(&ck.start);
    lckpt_free(&ck.hw);
    lckpt_free(&ck.cleaner);
    free(marker);
    return rc;
}

static void close_all_logs(lmgr_t *m)
{
    hmap_iter_t it;
    const void *k;
    size_t kl;
    void *v;
    hmap_iter_init(&m->logs, &it);
    while (hmap_iter_next(&m->logs, &it, &k, &kl, &v))
        plog_close(v, false);
    hmap_fini(&m->logs, NULL);
    hmap_init(&m->logs);
}

int lmgr_open(const lmgr_config_t *c, int64_t now_ms, lmgr_t **out, char *err, size_t errlen)
{
    *out = NULL;
    if (c->ndirs == 0) {
        seterr(err, errlen, "log.dirs is empty");
        return -1;
    }
    lmgr_t *m = xcalloc(1, sizeof *m);
    m->cfg = *c;
    m->cfg.dirs = NULL;
    hmap_init(&m->logs);
    m->dirs = xcalloc(c->ndirs, sizeof *m->dirs);
    for (size_t i = 0; i < c->ndirs; i++) {
        m->dirs[i].lock_fd = -1;
        for (size_t j = 0; j < m->ndirs; j++) {
            if (strcmp(m->dirs[j].path, c->dirs[i]) == 0) {
                seterr(err, errlen, "log dir %s is listed twice in log.dirs", c->dirs[i]);
                goto fail;
            }
        }
        m->dirs[i].path = xstrdup(c->dirs[i]);
        m->ndirs++;
        int rc = mkdirs(c->dirs[i]);
        if (rc != 0) {
            seterr(err, errlen, "cannot create log dir %s: %s", c->dirs[i], strerror(-rc));
            goto fail;
        }
        char *lp = xasprintf("%s/.lock", c->dirs[i]);
        int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        free(lp);
        if (fd < 0) {
            seterr(err, errlen, "cannot create %s/.lock: %s", c->dirs[i], strerror(errno));
            goto fail;
        }
        m->dirs[i].lock_fd = fd;
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            seterr(err, errlen,
                   "failed to acquire lock on file .lock in %s: another process (a broker?) is using this log dir",
                   c->dirs[i]);
            goto fail;
        }
    }
    for (size_t i = 0; i < m->ndirs; i++)
        if (open_dir(m, &m->dirs[i], now_ms, err, errlen) != 0)
            goto fail;
    for (int b = 0; b < 6; b++)
        m->next[b] = now_ms + *interval_of(m, b);
    LOG_I(SUB, "opened %zu logs in %zu log dirs", hmap_count(&m->logs), m->ndirs);
    *out = m;
    return 0;
fail:
    close_all_logs(m);
    free_mgr(m);
    return -1;
}

/* ---- checkpoints ------------------------------------------------------------------------- */

typedef struct ck_ctx_s {
    const char *dir;
    lckpt_t *c;
    int which;                 /* 0 rp, 1 start, 2 hw, 3 cleaner */
} ck_ctx_t;

static void ck_collect(void *vctx, plog_t *l)
{
    ck_ctx_t *x = vctx;
    if (strcmp(plog_log_dir(l), x->dir) != 0)
        return;
    switch (x->which) {
    case 0: lckpt_set(x->c, plog_topic(l), plog_partition(l), plog_recovery_point(l)); break;
    case 1: lckpt_set(x->c, plog_topic(l), plog_partition(l), plog_start_offset(l)); break;
    case 2: lckpt_set(x->c, plog_topic(l), plog_partition(l), plog_high_watermark(l)); break;
    default:
        if (plog_config(l)->cleanup_compact && lcompact_first_dirty(l) >= 0)
            lckpt_set(x->c, plog_topic(l), plog_partition(l), lcompact_first_dirty(l));
        break;
    }
}

int lmgr_checkpoint(lmgr_t *m, unsigned what)
{
    static const char *names[4] = {LCKPT_RECOVERY, LCKPT_LOG_START, LCKPT_REPLICATION, LCKPT_CLEANER};
    static const unsigned bits[4] = {LMGR_DUE_RECOVERY, LMGR_DUE_START, LMGR_DUE_HW, LMGR_DUE_RECOVERY};
    int rc = 0;
    for (size_t d = 0; d < m->ndirs; d++) {
        for (int w = 0; w < 4; w++) {
            if (!(what & bits[w]))
                continue;
            lckpt_t c;
            lckpt_init(&c);
            ck_ctx_t x = {m->dirs[d].path, &c, w};
            lmgr_foreach(m, ck_collect, &x);
            char *p = xasprintf("%s/%s", m->dirs[d].path, names[w]);
            int r = lckpt_write(p, &c);
            if (r != 0) {
                LOG_E(SUB, "cannot write %s: %s", p, strerror(-r));
                if (rc == 0)
                    rc = r;
            }
            free(p);
            lckpt_free(&c);
        }
    }
    return rc;
}

/* ---- close -------------------------------------------------------------------------------- */

int lmgr_close(lmgr_t *m, bool clean)
{
    int rc = 0;
    if (clean) {
        hmap_iter_t it;
        const void *k;
        size_t kl;
        void *v;
        hmap_iter_init(&m->logs, &it);
        while (hmap_iter_next(&m->logs, &it, &k, &kl, &v)) {
            int r = plog_flush(v, 0);
            if (r != 0 && rc == 0)
                rc = r;
        }
        int r = lmgr_checkpoint(m, LMGR_DUE_ALL_CKPT);
        if (r != 0 && rc == 0)
            rc = r;
        hmap_iter_init(&m->logs, &it);
        while (hmap_iter_next(&m->logs, &it, &k, &kl, &v)) {
            r = plog_close(v, false);
            if (r != 0 && rc == 0)
                rc = r;
        }
        hmap_fini(&m->logs, NULL);
        hmap_init(&m->logs);
        for (size_t d = 0; rc == 0 && d < m->ndirs; d++) {
            char *p = xasprintf("%s/%s", m->dirs[d].path, LCKPT_CLEAN_SHUTDOWN);
            r = lckpt_write_atomic(p, "", 0, true);
            if (r != 0) {
                LOG_E(SUB, "cannot write %s: %s", p, strerror(-r));
                rc = r;
            }
            free(p);
        }
    } else {
        close_all_logs(m);
    }
    free_mgr(m);
    return rc;
}

/* ---- meta.properties ---------------------------------------------------------------------- */

int lmgr_check_meta(lmgr_t *m, int32_t broker_id, const char *cluster_id, char *err, size_t errlen)
{
    for (size_t d = 0; d < m->ndirs; d++) {
        lckpt_meta_t meta;
        int r = lckpt_meta_read(m->dirs[d].path, &meta, err, errlen);
        if (r < 0)
            return -1;
        if (r == 1) {
            if (meta.broker_id >= 0 && meta.broker_id != broker_id) {
                seterr(err, errlen,
                       "Configured broker.id %" PRId32 " doesn't match stored broker.id %" PRId32
                       " in meta.properties (%s). If you moved your data, make sure your configured broker.id "
                       "matches. If you intend to create a new broker, you should remove all data in your data "
                       "directories (log.dirs).",
                       broker_id, meta.broker_id, m->dirs[d].path);
                lckpt_meta_free(&meta);
                return -1;
            }
            if (cluster_id && meta.cluster_id && strcmp(cluster_id, meta.cluster_id) != 0) {
                seterr(err, errlen,
                       "The Cluster ID %s doesn't match stored clusterId Some(%s) in meta.properties (%s). The "
                       "broker is trying to join the wrong cluster. Configured zookeeper.connect may be wrong.",
                       cluster_id, meta.cluster_id, m->dirs[d].path);
                lckpt_meta_free(&meta);
                return -1;
            }
            bool same = meta.broker_id == broker_id && (!cluster_id || meta.cluster_id);
            lckpt_meta_free(&meta);
            if (same)
                continue;
        }
        lckpt_meta_t w = {0, broker_id, (char *)cluster_id};
        int wr = lckpt_meta_write(m->dirs[d].path, &w);
        if (wr != 0) {
            seterr(err, errlen, "cannot write %s/meta.properties: %s", m->dirs[d].path, strerror(-wr));
            return -1;
        }
    }
    return 0;
}

/* ---- logs --------------------------------------------------------------------------------- */

plog_t *lmgr_get(const lmgr_t *m, const char *topic, int32_t partition)
{
    char k[320];
    size_t kl = log_key(k, sizeof k, topic, partition);
    return hmap_get(&m->logs, k, kl);
}

int lmgr_get_or_create(lmgr_t *m, const char *topic, int32_t partition, const plog_config_t *cfg, int64_t now_ms,
                       plog_t **out)
{
    plog_t *l = lmgr_get(m, topic, partition);
    if (l) {
        if (cfg)
            plog_set_config(l, cfg);
        *out = l;
        return 0;
    }
    if (strlen(topic) > 249)
        return -KERR_INVALID_TOPIC_EXCEPTION;
    /* the dir with the fewest logs */
    size_t best = 0, best_n = SIZE_MAX;
    for (size_t d = 0; d < m->ndirs; d++) {
        size_t n = 0;
        hmap_iter_t it;
        const void *k;
        size_t kl;
        void *v;
        hmap_iter_init(&m->logs, &it);
        while (hmap_iter_next(&m->logs, &it, &k, &kl, &v))
            n += strcmp(plog_log_dir(v), m->dirs[d].path) == 0;
        if (n < best_n) {
            best_n = n;
            best = d;
        }
    }
    plog_open_t o = {m->dirs[best].path, topic, partition, cfg ? cfg : &m->cfg.defaults, -1, -1, -1, true, true,
                     now_ms};
    int rc = plog_open(&o, &l);
    if (rc != 0)
        return rc;
    char k[320];
    size_t kl = log_key(k, sizeof k, topic, partition);
    hmap_put(&m->logs, k, kl, l);
    LOG_I(SUB, "created log %s", plog_dir(l));
    *out = l;
    return 0;
}

int lmgr_delete(lmgr_t *m, const char *topic, int32_t partition)
{
    char k[320];
    size_t kl = log_key(k, sizeof k, topic, partition);
    plog_t *l = hmap_del(&m->logs, k, kl);
    if (!l)
        return -KERR_UNKNOWN_TOPIC_OR_PARTITION;
    LOG_I(SUB, "deleting log %s", plog_dir(l));
    return plog_delete(l);
}

size_t lmgr_count(const lmgr_t *m)
{
    return hmap_count(&m->logs);
}

void lmgr_foreach(const lmgr_t *m, void (*fn)(void *ctx, plog_t *l), void *ctx)
{
    hmap_iter_t it;
    const void *k;
    size_t kl;
    void *v;
    hmap_iter_init(&m->logs, &it);
    while (hmap_iter_next(&m->logs, &it, &k, &kl, &v))
        fn(ctx, v);
}

/* ---- periodic jobs ------------------------------------------------------------------------ */

unsigned lmgr_due(const lmgr_t *m, int64_t now_ms)
{
    unsigned due = 0;
    for (int b = 0; b < 6; b++)
        if (now_ms >= m->next[b])
            due |= 1u << b;
    if (!m->cfg.cleaner_enable)
        due &= ~LMGR_DUE_CLEANER;
    return due;
}

typedef struct job_ctx_s {
    int64_t now;
    unsigned due;
} job_ctx_t;

static void run_jobs(void *vctx, plog_t *l)
{
    job_ctx_t *j = vctx;
    if (j->due & LMGR_DUE_RETENTION)
        plog_retention(l, j->now);
    if ((j->due & LMGR_DUE_CLEANER) && plog_config(l)->cleanup_compact && lcompact_due(l, j->now)) {
        lcompact_stats_t st;
        if (lcompact_run(l, j->now, &st) == 0 && st.segments > 0)
            LOG_I(SUB, "%s: cleaned %d segments: %" PRIu64 " -> %" PRIu64 " bytes, %" PRId64 " of %" PRId64
                  " records kept", plog_dir(l), st.segments, st.bytes_before, st.bytes_after, st.records_kept,
                  st.records_read);
    }
    if ((j->due & LMGR_DUE_FLUSH) && plog_flush_due(l, j->now))
        plog_flush(l, j->now);
}

int64_t lmgr_tick(lmgr_t *m, int64_t now_ms)
{
    unsigned due = lmgr_due(m, now_ms);
    if (due & (LMGR_DUE_RETENTION | LMGR_DUE_FLUSH | LMGR_DUE_CLEANER)) {
        job_ctx_t j = {now_ms, due};
        lmgr_foreach(m, run_jobs, &j);
    }
    if (due & LMGR_DUE_ALL_CKPT)
        lmgr_checkpoint(m, due & LMGR_DUE_ALL_CKPT);
    int64_t next = INT64_MAX;
    for (int b = 0; b < 6; b++) {
        if (due & (1u << b))
            m->next[b] = now_ms + *interval_of(m, b);
        if ((b != 5 || m->cfg.cleaner_enable) && m->next[b] < next)
            next = m->next[b];
    }
    return next;
}
