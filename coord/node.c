/* node.c — the coordinator node: recovery at start, the write pipeline
 * (prep -> propose -> log -> commit -> apply -> reply), sessions and their expiry,
 * snapshots and autopurge.
 *
 * Group commit: proposals are appended to the log as requests arrive; once per
 * event-loop turn (coord_after_events) the log is written and fdatasync'ed once,
 * the quorum core counts this server's ack, and every committed proposal is applied
 * to the data tree in zxid order. Replies and watch notifications go out from apply,
 * so nothing is acknowledged before it is durable. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"
#include "coord/coord_int.h"
#include "coord/snap.h"

#define SUB "coord"

/* ---- epoch files (acceptedEpoch / currentEpoch in dataDir, as ZooKeeper) ---- */

static int read_epoch_file(const char *dir, const char *name, uint32_t *out)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    *out = 0;
    if (!f)
        return errno == ENOENT ? 0 : -1;
    unsigned long v = 0;
    int ok = fscanf(f, "%lu", &v) == 1;
    fclose(f);
    if (!ok)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int write_epoch_file(const char *dir, const char *name, uint32_t epoch)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    char line[32];
    int n = snprintf(line, sizeof line, "%u", epoch);
    int rc = (write(fd, line, (size_t)n) == n && fsync(fd) == 0) ? 0 : -1;
    close(fd);
    if (rc == 0)
        rc = rename(tmp, path);
    if (rc == 0) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    return rc;
}

static int mkdir_p(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    return (mkdir(tmp, 0755) && errno != EEXIST) ? -1 : 0;
}

/* ---- sessions ---- */

void coord_session_password(int64_t session_id, uint8_t out[16])
{
    /* Every server derives the same password from the id, so a session can move
     * between servers. Clients treat it as opaque. */
    uint8_t in[8 + 24];
    for (int i = 0; i < 8; i++)
        in[i] = (uint8_t)((uint64_t)session_id >> (56 - 8 * i));
    memcpy(in + 8, "gregor-session-password!", 24);
    uint8_t md[SHA256_DIGEST_LENGTH];
    SHA2_CTX sha;
    SHA256Init(&sha);
    SHA256Update(&sha, in, sizeof in);
    SHA256Final(md, &sha);
    memcpy(out, md, 16);
}

session_t *coord_session_new(coord_t *c, int64_t id, int32_t timeout, const char *ip)
{
    session_t *s = xcalloc(1, sizeof *s);
    s->id = id;
    s->timeout = timeout;
    acl_auth_init(&s->auth, ip ? ip : "");
    hmap_put64(&c->sessions, (uint64_t)id, s);
    coord_session_touch(c, s);
    return s;
}

void coord_session_touch(coord_t *c, session_t *s)
{
    (void)c;
    s->expires_at_ms = clock_mono_ms() + s->timeout;
}

static void session_free(session_t *s)
{
    acl_auth_free(&s->auth);
    free(s);
}

static void restore_session(void *ctx, int64_t sid, int32_t timeout)
{
    coord_t *c = ctx;
    session_t *s = coord_session_new(c, sid, timeout, NULL);
    s->committed = true;
}

/* Session ids: the server id in the top byte, then a time-based start, as ZooKeeper. */
static int64_t initial_session_id(int server_id)
{
    uint64_t t = (uint64_t)clock_wall_ms();
    uint64_t next = (t << 24) >> 8;
    return (int64_t)(next | ((uint64_t)server_id << 56));
}

/* ---- proposals ---- */

int64_t coord_propose(coord_t *c, buf_t *txn)
{
    /* The zxid was assigned by prep's caller via zab_propose; read it back from the header. */
    if (txn->len < 20) {
        buf_free(txn);
        return -1;
    }
    int64_t zxid = (int64_t)be64_get(txn->data + 12);
    if (txnlog_append(c->log, zxid, txn->data, txn->len)) {
        LOG_E(SUB, "cannot append txn 0x%" PRIx64 " to the log", (uint64_t)zxid);
        buf_free(txn);
        return -1;
    }
    proposal_t *p = xcalloc(1, sizeof *p);
    p->zxid = zxid;
    p->txn = *txn;
    buf_init(txn);
    if (c->prop_tail)
        c->prop_tail->next = p;
    else
        c->prop_head = p;
    c->prop_tail = p;
    return zxid;
}

int64_t coord_last_zxid(const coord_t *c)
{
    return dt_last_zxid(c->dt);
}

static void apply_one(coord_t *c, proposal_t *p)
{
    dt_result_t res;
    if (dt_apply(c->dt, p->txn.data, p->txn.len, &res)) {
        /* Our own prep produced it; failing to apply it is a bug that must not pass silently. */
        LOG_E(SUB, "internal error: txn 0x%" PRIx64 " does not apply; stopping", (uint64_t)p->zxid);
        abort();
    }
    prep_applied(c->prep, p->zxid);
    watch_trigger_result(c->watches, &res, coord_notify, c);

    session_t *s = hmap_get64(&c->sessions, (uint64_t)res.session_id);
    if (res.type == ZOO_CREATESESSION_OP) {
        if (s) {
            s->committed = true;
            if (s->conn)
                conn_session_established(s->conn);
        }
    } else if (res.type == ZOO_CLOSE_OP) {
        if (s) {
            conn_t *conn = s->conn;
            watch_remove_session(c->watches, s->id);
            hmap_del64(&c->sessions, (uint64_t)s->id);
            if (conn) {
                conn->sess = NULL;
                conn_write_applied(conn, p->zxid, res.err, &res.reply);
                if (conn->state != CONN_CLOSING)
                    conn_close(conn);   /* expired: the connection goes with the session */
            }
            session_free(s);
        }
    } else if (s && s->conn) {
        if (res.close_connection)
            conn_close(s->conn);   /* a standalone check: 3.8 cannot encode its reply and drops the connection */
        else
            conn_write_applied(s->conn, p->zxid, res.err, &res.reply);
    }
    dt_result_free(&res);
    c->txns_since_snap++;
}

static void fail_unlogged(coord_t *c)
{
    /* Nothing past last_logged is durable: fail those requests and forget the txns. */
    proposal_t *p = c->prop_head;
    c->prop_head = c->prop_tail = NULL;
    while (p) {
        proposal_t *n = p->next;
        if (p->txn.len >= 20) {
            int64_t sid = (int64_t)be64_get(p->txn.data);
            session_t *s = hmap_get64(&c->sessions, (uint64_t)sid);
            if (s && s->conn)
                conn_write_failed(s->conn, p->zxid, ZSYSTEMERROR);
            if (s && !s->committed) {
                /* its createSession was never made durable: the session never existed */
                if (s->conn)
                    conn_close(s->conn);
                hmap_del64(&c->sessions, (uint64_t)s->id);
                session_free(s);
            } else if (s) {
                s->closing = false;
            }
        }
        buf_free(&p->txn);
        free(p);
        p = n;
    }
    prep_reset(c->prep);
    zab_abandon_unlogged(c->zab);
}

static void maybe_snapshot(coord_t *c)
{
    if (c->txns_since_snap < c->snap_threshold)
        return;
    coord_snapshot(c);
    /* ZooKeeper randomises the point in [snapCount/2, snapCount] so ensemble members
     * do not snapshot together. */
    int64_t half = c->cfg->snap_count / 2;
    c->snap_threshold = half + (half > 0 ? random() % (half + 1) : 0);
}

int coord_snapshot(coord_t *c)
{
    int64_t t0 = clock_mono_us();
    buf_t b = BUF_INIT;
    dt_serialize(c->dt, &b);
    char err[512];
    int rc = snap_write(c->cfg->data_dir, dt_last_zxid(c->dt), b.data, b.len, err, sizeof err);
    size_t len = b.len;
    buf_free(&b);
    if (rc) {
        LOG_E(SUB, "snapshot failed: %s", err);
        return -1;
    }
    txnlog_roll(c->log);
    c->txns_since_snap = 0;
    LOG_I(SUB, "snapshot 0x%" PRIx64 " written (%zu bytes, %" PRId64 " ms)", (uint64_t)dt_last_zxid(c->dt), len,
          (clock_mono_us() - t0) / 1000);
    return 0;
}

void coord_after_events(coord_t *c)
{
    if (!c->prop_head)
        return;
    if (txnlog_has_pending(c->log)) {
        char err[512];
        if (txnlog_sync(c->log, err, sizeof err)) {
            if (!c->disk_error)
                LOG_E(SUB, "transaction log write failed: %s; failing the writes that were not durable", err);
            c->disk_error = true;
            fail_unlogged(c);
            if (txnlog_broken(c->log)) {
                /* Even cutting the log back failed: stop rather than risk acknowledging
                 * anything; recovery at restart repairs the file. */
                LOG_E(SUB, "the transaction log cannot be repaired in place; exiting (restart recovers it)");
                exit(3);
            }
            return;
        }
        if (c->disk_error)
            LOG_I(SUB, "transaction log writes succeed again");
        c->disk_error = false;
        c->last_logged = c->prop_tail->zxid;
        zab_ack(c->zab, c->cfg->my_id, c->last_logged);
    }
    int64_t committed = zab_last_committed(c->zab);
    while (c->prop_head && c->prop_head->zxid <= committed) {
        proposal_t *p = c->prop_head;
        c->prop_head = p->next;
        if (!c->prop_head)
            c->prop_tail = NULL;
        apply_one(c, p);
        buf_free(&p->txn);
        free(p);
    }
    maybe_snapshot(c);
}

/* ---- timers: session expiry, container/TTL cleanup ---- */

static void propose_internal(coord_t *c, void (*build)(coord_t *, int64_t, buf_t *, const void *), const void *arg)
{
    int64_t zxid = zab_propose(c->zab);
    if (zxid < 0)
        return;
    buf_t txn = BUF_INIT;
    build(c, zxid, &txn, arg);
    coord_propose(c, &txn);
}

static void build_close(coord_t *c, int64_t zxid, buf_t *out, const void *arg)
{
    const session_t *s = arg;
    prep_ctx_t ctx = {.session_id = s->id, .auth = &s->auth, .zxid = zxid, .now_ms = clock_wall_ms(), .cxid = 0};
    prep_request(c->prep, &ctx, ZOO_CLOSE_OP, NULL, out);
}

static void build_delete_container(coord_t *c, int64_t zxid, buf_t *out, const void *arg)
{
    prep_ctx_t ctx = {.session_id = 0, .auth = NULL, .zxid = zxid, .now_ms = clock_wall_ms(), .cxid = 0};
    prep_delete_container(c->prep, &ctx, arg, out);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    coord_t *c = arg;
    int64_t now = clock_mono_ms();
    hmap_iter_t it;
    hmap_iter_init(&c->sessions, &it);
    void *v;
    while (hmap_iter_next(&c->sessions, &it, NULL, NULL, &v)) {
        session_t *s = v;
        if (s->closing || !s->committed || now < s->expires_at_ms)
            continue;
        LOG_I(SUB, "Expiring session 0x%" PRIx64 ", timeout of %dms exceeded", (uint64_t)s->id, s->timeout);
        s->closing = true;
        propose_internal(c, build_close, s);
    }
    coord_server_close_idle(c, now);
    int64_t wall = clock_wall_ms();
    if (now - c->last_container_check_ms >= 60000 || c->last_container_check_ms == 0) {
        c->last_container_check_ms = now;
        jute_strvec_t paths = {0, NULL};
        dt_expired_nodes(c->dt, wall, &paths);
        for (int32_t i = 0; i < paths.n; i++)
            propose_internal(c, build_delete_container, paths.v[i]);
        jute_strvec_free(&paths);
    }
    coord_after_events(c);
}

static void on_purge(evutil_socket_t fd, short what, void *arg)
{
    coord_t *c = arg;
    char err[512];
    int n = snap_purge(c->cfg->data_dir, c->cfg->data_log_dir, c->cfg->autopurge_snap_retain_count, err, sizeof err);
    if (n < 0)
        LOG_W(SUB, "autopurge failed: %s", err);
    else if (n > 0)
        LOG_I(SUB, "autopurge removed %d old snapshot/log files", n);
}

/* ---- open / close ---- */

static int replay_cb(void *ctx, int64_t zxid, const uint8_t *rec, size_t len)
{
    coord_t *c = ctx;
    dt_result_t res;
    if (dt_apply(c->dt, rec, len, &res)) {
        LOG_E(SUB, "txn 0x%" PRIx64 " in the log does not apply", (uint64_t)zxid);
        return -1;
    }
    dt_result_free(&res);
    c->txns_since_snap++;
    return 0;
}

int coord_node_open(coord_t *c, char *err, size_t errlen)
{
    const coord_config_t *cfg = c->cfg;
    if (mkdir_p(cfg->data_dir) || mkdir_p(cfg->data_log_dir)) {
        snprintf(err, errlen, "cannot create dataDir %s / dataLogDir %s: %s", cfg->data_dir, cfg->data_log_dir,
                 strerror(errno));
        return -1;
    }
    c->started_ms = clock_mono_ms();
    hmap_init(&c->sessions);
    hmap_init(&c->conns_per_ip);

    /* 1. newest valid snapshot */
    int64_t snap_zxid = 0;
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = snap_load_latest(cfg->data_dir, &snap_zxid, &data, &len, err, errlen);
    if (rc < 0)
        return -1;
    if (rc == 1) {
        if (dt_deserialize(&c->dt, data, len)) {
            free(data);
            snprintf(err, errlen, "snapshot 0x%" PRIx64 " in %s is corrupt", (uint64_t)snap_zxid, cfg->data_dir);
            return -1;
        }
        free(data);
        LOG_I(SUB, "loaded snapshot 0x%" PRIx64 " (%zu nodes)", (uint64_t)snap_zxid, dt_node_count(c->dt));
    } else {
        c->dt = dt_new();
    }
    /* 2. the log after it (a torn tail is truncated) */
    int64_t last = dt_last_zxid(c->dt);
    if (txnlog_replay(cfg->data_log_dir, last, replay_cb, c, &last, err, errlen))
        return -1;
    int64_t replayed = c->txns_since_snap;
    if (replayed)
        LOG_I(SUB, "replayed %" PRId64 " txns from the log, last zxid 0x%" PRIx64, replayed, (uint64_t)last);
    c->last_logged = last;

    /* 3. the quorum core: a new epoch before serving */
    uint32_t accepted = 0, current = 0;
    if (read_epoch_file(cfg->data_dir, "acceptedEpoch", &accepted) ||
        read_epoch_file(cfg->data_dir, "currentEpoch", &current)) {
        snprintf(err, errlen, "cannot read acceptedEpoch/currentEpoch in %s", cfg->data_dir);
        return -1;
    }
    zab_config_t zc = {.my_id = cfg->my_id, .nvoters = 1};
    zc.voters[0] = cfg->my_id;
    c->zab = zab_new(&zc, last, accepted > current ? accepted : current);
    uint32_t epoch = zab_lead_alone(c->zab);
    if (!epoch || write_epoch_file(cfg->data_dir, "acceptedEpoch", epoch) ||
        write_epoch_file(cfg->data_dir, "currentEpoch", epoch)) {
        snprintf(err, errlen, "cannot establish a new epoch in %s: %s", cfg->data_dir, strerror(errno));
        return -1;
    }

    txnlog_opts_t lo = {.dir = cfg->data_log_dir,
                        .prealloc_bytes = cfg->prealloc_kb * 1024,
                        .force_sync = cfg->force_sync,
                        .roll_bytes = 0};
    if (txnlog_open(&c->log, &lo, last, err, errlen))
        return -1;
    c->prep = prep_new(c->dt);
    prep_set_extended_types(c->prep, cfg->extended_types_enabled);
    c->watches = watch_new();
    dt_sessions_foreach(c->dt, restore_session, c);
    c->next_session_id = initial_session_id(cfg->my_id);
    int64_t half = cfg->snap_count / 2;
    c->snap_threshold = half + (half > 0 ? random() % (half + 1) : 0);
    if (replayed > 0 && coord_snapshot(c)) {
        snprintf(err, errlen, "cannot write the start-up snapshot to %s", cfg->data_dir);
        return -1;
    }

    int tick = cfg->tick_time / 2 > 0 ? cfg->tick_time / 2 : 1;
    struct timeval tv = {tick / 1000, (tick % 1000) * 1000};
    c->tick_ev = event_new(c->base, -1, EV_PERSIST, on_tick, c);
    event_add(c->tick_ev, &tv);
    if (cfg->autopurge_purge_interval > 0) {
        struct timeval pv = {(time_t)cfg->autopurge_purge_interval * 3600, 0};
        c->purge_ev = event_new(c->base, -1, EV_PERSIST, on_purge, c);
        event_add(c->purge_ev, &pv);
        on_purge(-1, 0, c);
    }
    LOG_I(SUB, "epoch %u, last zxid 0x%" PRIx64 ", %zu nodes, %zu sessions", epoch, (uint64_t)last,
          dt_node_count(c->dt), hmap_count(&c->sessions));
    return 0;
}

static void free_session_val(void *v)
{
    session_free(v);
}

void coord_node_close(coord_t *c)
{
    /* Make what was proposed durable before leaving (a clean shutdown loses nothing). */
    if (c->log && c->prop_head) {
        char err[256];
        txnlog_sync(c->log, err, sizeof err);
    }
    while (c->prop_head) {
        proposal_t *p = c->prop_head;
        c->prop_head = p->next;
        buf_free(&p->txn);
        free(p);
    }
    c->prop_tail = NULL;
    if (c->tick_ev)
        event_free(c->tick_ev);
    if (c->purge_ev)
        event_free(c->purge_ev);
    if (c->log)
        txnlog_close(c->log);
    if (c->prep)
        prep_free(c->prep);
    if (c->watches)
        watch_free(c->watches);
    if (c->zab)
        zab_free(c->zab);
    if (c->dt)
        dt_free(c->dt);
    hmap_fini(&c->sessions, free_session_val);
    hmap_fini(&c->conns_per_ip, NULL);
}
