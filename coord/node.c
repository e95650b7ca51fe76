/* node.c — the coordinator node: the driver of the quorum core (zab.h).
 *
 * Owns: recovery at start (snapshot + log replay, epoch files), the ready loop that
 * carries out what the core decides, the leader's request handling (prep -> propose),
 * what a learner forwards to the leader, sessions (the leader owns expiry), snapshots
 * and autopurge. A standalone server is a quorum of one and takes the same path.
 *
 * The ready loop (coord_drive), after every loop turn's inputs:
 *   while (zab_ready) {
 *     persist epochs (acceptedEpoch/currentEpoch, fsync) -> truncate the log (and
 *     rebuild the tree if it is beyond) -> install a snapshot -> append txns ->
 *     send messages -> apply committed txns (replies, watches) -> prep the requests
 *     forwarded to the leader -> act on a role change -> zab_advance
 *   }
 * Group commit: coord_after_events drains, writes queued peer messages and client
 * replies to their sockets, takes in (without blocking) what arrived meanwhile, syncs
 * the log once (one fdatasync for all txns appended so far), reports durability with
 * zab_persisted, drains again and sends what that released. Periodic snapshots are
 * written by a forked child process (coord_snapshot_bg).
 * Nothing is acknowledged before it is durable on a majority of voters, and a reply
 * leaves only from apply.
 *
 * Writes: every server turns a client write into a fwd_t (fwd.h). The leader preps it
 * as if the client were local; a learner forwards it (zab_forward) and keeps the
 * request pending in the connection's FIFO until the txn of that session is applied
 * locally. Sessions: every server learns of every session from the applied
 * createSession/closeSession txns; learners report activity to the leader every tick
 * (TOUCH) and the leader expires sessions that fall silent. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sha2.h>
#include <sys/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"
#include "coord/coord_int.h"
#include "coord/snap.h"
#include "coord/zreq.h"

#define SUB "coord"
#define ZAB_TICK_MAX_MS 50   /* the core's clock: elections need sub-tick resolution */

static void fatal(const char *what)
{
    /* Continuing could acknowledge what is not durable; a restart recovers from disk. */
    LOG_E(SUB, "%s; exiting (a restart recovers from the data on disk)", what);
    exit(3);
}

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

static int fsync_dir(const char *dir)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dfd < 0)
        return -1;
    int rc = fsync(dfd);
    close(dfd);
    return rc;
}

/* Replaces dir/name with the epoch (write a temporary file, fsync, rename). The
 * directory is not synced here: the caller does it once for the files it wrote. */
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
    return rc;
}

/* Makes the epoch files hold accepted / current: only the files whose value changes
 * are written, then the directory is synced once (a failover writes each file once
 * per member, and every fsync there is on the path to the first write). */
static int persist_epochs(coord_t *c, uint32_t accepted, uint32_t current)
{
    const char *dir = c->cfg->data_dir;
    bool wrote = false;
    if (accepted != c->disk_accepted) {
        if (write_epoch_file(dir, "acceptedEpoch", accepted))
            return -1;
        c->disk_accepted = accepted;
        wrote = true;
    }
    if (current != c->disk_current) {
        if (write_epoch_file(dir, "currentEpoch", current))
            return -1;
        c->disk_current = current;
        wrote = true;
    }
    return wrote ? fsync_dir(dir) : 0;
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
    s->owner = -1;
    acl_auth_init(&s->auth, ip ? ip : "");
    hmap_put64(&c->sessions, (uint64_t)id, s);
    coord_session_touch(c, s);
    return s;
}

void coord_session_touch(coord_t *c, session_t *s)
{
    (void)c;
    s->expires_at_ms = clock_mono_ms() + s->timeout;
    s->touched = true;
}

static void session_free(session_t *s)
{
    acl_auth_free(&s->auth);
    free(s);
}

static void free_session_val(void *v)
{
    session_free(v);
}

static void restore_session(void *ctx, int64_t sid, int32_t timeout)
{
    coord_t *c = ctx;
    session_t *s = coord_session_new(c, sid, timeout, NULL);
    s->committed = true;
    s->touched = false;   /* no client activity here (yet) */
}

/* Drops a session from the map; its connection (if any) is closed. */
static void session_forget(coord_t *c, session_t *s)
{
    if (s->conn) {
        conn_t *conn = s->conn;
        conn->sess = NULL;
        s->conn = NULL;
        if (conn->state != CONN_CLOSING)
            conn_close(conn);
    }
    watch_remove_session(c->watches, s->id);
    hmap_del64(&c->sessions, (uint64_t)s->id);
    session_free(s);
}

/* Session ids: the server id in the top byte, then a time-based start, as ZooKeeper. */
static int64_t initial_session_id(int server_id)
{
    uint64_t t = (uint64_t)clock_wall_ms();
    uint64_t next = (t << 24) >> 8;
    return (int64_t)(next | ((uint64_t)server_id << 56));
}

bool coord_serving(const coord_t *c)
{
    return c->serving;
}

int64_t coord_last_zxid(const coord_t *c)
{
    return dt_last_zxid(c->dt);
}

/* ---- notes from the leader's driver to one learner (not part of the core's stream) ---- */

static void send_note(coord_t *c, int to, const fwd_t *f)
{
    if (!c->net || to == c->cfg->my_id)
        return;
    buf_t b = BUF_INIT;
    fwd_encode(f, &b);
    zab_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = ZAB_MSG_REQUEST;
    m.from = c->cfg->my_id;
    m.to = to;
    m.data.data = b.data;
    m.data.len = (int32_t)b.len;
    peer_net_send(c->net, &m);
    buf_free(&b);
}

/* ---- the leader: prep and propose ---- */

static void inflight_add(coord_t *c, int64_t zxid, int64_t sid, int32_t cxid, int32_t op, int from)
{
    inflight_t *f = xcalloc(1, sizeof *f);
    f->zxid = zxid;
    f->session_id = sid;
    f->cxid = cxid;
    f->op = op;
    f->from = from;
    if (c->inflight_tail)
        c->inflight_tail->next = f;
    else
        c->inflight_head = f;
    c->inflight_tail = f;
}

static void inflight_clear(coord_t *c)
{
    while (c->inflight_head) {
        inflight_t *f = c->inflight_head;
        c->inflight_head = f->next;
        free(f);
    }
    c->inflight_tail = NULL;
}

/* Proposes txn (built for zxid). Returns 0, or -1 if the core refused it. */
static int submit_txn(coord_t *c, int64_t zxid, buf_t *txn)
{
    int rc = zab_submit(c->zab, zxid, txn->data, txn->len);
    buf_free(txn);
    if (rc)
        LOG_E(SUB, "internal error: the quorum core refused txn 0x%" PRIx64, (uint64_t)zxid);
    return rc;
}

/* A request the leader cannot take: tell whoever waits for it. */
static void leader_fail(coord_t *c, int from, const fwd_t *f, int32_t err)
{
    if (f->kind != FWD_WRITE && f->kind != FWD_CREATE_SESSION)
        return;
    if (from != c->cfg->my_id) {
        fwd_t n = {.kind = FWD_WRITE_FAILED, .session_id = f->session_id, .cxid = f->cxid, .err = err};
        if (f->kind == FWD_CREATE_SESSION)
            n.op = ZOO_CREATESESSION_OP;
        send_note(c, from, &n);
        return;
    }
    session_t *s = hmap_get64(&c->sessions, (uint64_t)f->session_id);
    if (!s || !s->conn)
        return;
    if (f->kind == FWD_CREATE_SESSION)
        session_forget(c, s);
    else
        conn_write_failed(s->conn, f->cxid, err);
}

/* Moves a session's ownership (leader): the server that had it closes its connection. */
static void set_owner(coord_t *c, session_t *s, int owner)
{
    int old = s->owner;
    s->owner = owner;
    if (old == owner)
        return;
    if (owner != c->cfg->my_id && s->conn) {
        LOG_I(SUB, "session 0x%" PRIx64 " moved to server.%d; closing its connection here", (uint64_t)s->id, owner);
        conn_t *conn = s->conn;
        conn_close(conn);
    }
    if (old >= 0 && old != c->cfg->my_id) {
        fwd_t n = {.kind = FWD_SESSION_MOVED, .session_id = s->id};
        send_note(c, old, &n);
    }
}

/* Preps one request and proposes it. Returns 0, or the error to answer it with. */
static int leader_handle(coord_t *c, int from, const fwd_t *f)
{
    int64_t now = clock_mono_ms();
    switch (f->kind) {
    case FWD_TOUCH:
        for (size_t i = 0; i < f->ntouches; i++) {
            session_t *s = hmap_get64(&c->sessions, (uint64_t)f->touches[i].session_id);
            if (!s || s->closing)
                continue;
            if (f->touches[i].timeout > 0)
                s->timeout = f->touches[i].timeout;
            s->expires_at_ms = now + s->timeout;
            if (f->touches[i].attach)
                set_owner(c, s, from);   /* a reconnect; plain activity never moves a session */
        }
        return 0;
    case FWD_SYNC:
        if (from == c->cfg->my_id) {
            coord_sync_target(c, f->sync_id, zab_last_proposed(c->zab));
        } else {
            fwd_t n = {.kind = FWD_SYNC_REPLY, .sync_id = f->sync_id, .zxid = zab_last_proposed(c->zab)};
            send_note(c, from, &n);
        }
        return 0;
    case FWD_CREATE_SESSION: {
        session_t *s = hmap_get64(&c->sessions, (uint64_t)f->session_id);
        if (s && s->committed)
            return ZSESSIONEXPIRED;   /* an id in use: never create it twice */
        int64_t zxid = zab_propose(c->zab);
        if (zxid < 0)
            return ZCONNECTIONLOSS;
        if (!s)
            s = coord_session_new(c, f->session_id, f->timeout, NULL);
        s->owner = from;
        prep_ctx_t ctx = {.session_id = f->session_id, .auth = &f->auth, .zxid = zxid, .now_ms = clock_wall_ms()};
        buf_t txn = BUF_INIT;
        prep_create_session(c->prep, &ctx, f->timeout, &txn);
        if (submit_txn(c, zxid, &txn))
            return ZSYSTEMERROR;
        inflight_add(c, zxid, f->session_id, 0, ZOO_CREATESESSION_OP, from);
        return 0;
    }
    case FWD_WRITE: {
        session_t *s = hmap_get64(&c->sessions, (uint64_t)f->session_id);
        if (!s || (s->closing && f->op != ZOO_CLOSE_OP))
            return ZSESSIONEXPIRED;
        /* As ZooKeeper's leader: a write from a server the session has left */
        if (s->owner >= 0 && s->owner != from)
            return ZSESSIONMOVED;
        s->owner = from;
        if (f->op == ZOO_CLOSE_OP)
            s->closing = true;
        s->expires_at_ms = now + s->timeout;
        zreq_body_t body = {0};
        int derr = 0;
        if (f->op != ZOO_CLOSE_OP) {
            jute_rd_t jr;
            jute_rd_init(&jr, f->body.data ? (const void *)f->body.data : "", f->body.len > 0 ? (size_t)f->body.len : 0);
            derr = zreq_decode(f->op, &jr, &body);
        }
        int64_t zxid = zab_propose(c->zab);
        if (zxid < 0) {
            zreq_body_free(&body);
            if (f->op == ZOO_CLOSE_OP)
                s->closing = false;
            return ZCONNECTIONLOSS;
        }
        prep_ctx_t ctx = {.session_id = f->session_id, .auth = &f->auth, .zxid = zxid, .now_ms = clock_wall_ms(),
                          .cxid = f->cxid, .saw_nul = body.saw_nul};
        buf_t txn = BUF_INIT;
        if (derr)
            prep_error(c->prep, &ctx, derr, &txn);
        else
            prep_request(c->prep, &ctx, f->op, body.body, &txn);
        zreq_body_free(&body);
        if (submit_txn(c, zxid, &txn))
            return ZSYSTEMERROR;
        inflight_add(c, zxid, f->session_id, f->cxid, f->op, from);
        return 0;
    }
    default:
        LOG_W(SUB, "server.%d forwarded a %s; ignored", from, fwd_kind_name(f->kind));
        return 0;
    }
}

static bool leader_may_prep(const coord_t *c)
{
    return !c->deferred_head && dt_last_zxid(c->dt) >= c->lead_floor;
}

static void defer(coord_t *c, int from, const fwd_t *f)
{
    deferred_t *d = xcalloc(1, sizeof *d);
    d->from = from;
    fwd_encode(f, &d->payload);
    if (c->deferred_tail)
        c->deferred_tail->next = d;
    else
        c->deferred_head = d;
    c->deferred_tail = d;
}

/* A request from a learner (ready.requests) or a deferred one. */
static void leader_take(coord_t *c, int from, const fwd_t *f)
{
    if (!leader_may_prep(c)) {
        defer(c, from, f);
        return;
    }
    int err = leader_handle(c, from, f);
    if (err)
        leader_fail(c, from, f, err);
}

static void run_deferred(coord_t *c)
{
    while (c->deferred_head && dt_last_zxid(c->dt) >= c->lead_floor) {
        deferred_t *d = c->deferred_head;
        c->deferred_head = d->next;
        if (!c->deferred_head)
            c->deferred_tail = NULL;
        fwd_t f;
        if (fwd_decode(&f, d->payload.data, d->payload.len) == 0) {
            int err = leader_handle(c, d->from, &f);
            if (err)
                leader_fail(c, d->from, &f, err);
            fwd_free(&f);
        }
        buf_free(&d->payload);
        free(d);
    }
}

static void deferred_clear(coord_t *c)
{
    while (c->deferred_head) {
        deferred_t *d = c->deferred_head;
        c->deferred_head = d->next;
        buf_free(&d->payload);
        free(d);
    }
    c->deferred_tail = NULL;
}

int coord_submit(coord_t *c, const fwd_t *f)
{
    if (!c->serving)
        return ZCONNECTIONLOSS;
    if (c->role == ZAB_LEADING) {
        if (!leader_may_prep(c)) {
            defer(c, c->cfg->my_id, f);
            return 0;
        }
        return leader_handle(c, c->cfg->my_id, f);
    }
    buf_t b = BUF_INIT;
    fwd_encode(f, &b);
    int rc = zab_forward(c->zab, b.data, b.len);
    buf_free(&b);
    return rc ? ZCONNECTIONLOSS : 0;
}

/* Learner: tells the leader which sessions were active here (the leader owns expiry). */
static void send_touches(coord_t *c, bool attached_only)
{
    if (!c->serving || c->role == ZAB_LEADING)
        return;
    size_t n = 0, cap = 0;
    fwd_touch_t *v = NULL;
    hmap_iter_t it;
    hmap_iter_init(&c->sessions, &it);
    void *val;
    while (hmap_iter_next(&c->sessions, &it, NULL, NULL, &val)) {
        session_t *s = val;
        if (!s->committed || (attached_only ? !s->attached : !(s->touched || s->attached)))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            v = xrealloc(v, cap * sizeof *v);
        }
        v[n++] = (fwd_touch_t){s->id, s->timeout, s->attached};
        s->touched = false;
        s->attached = false;
    }
    if (n) {
        fwd_t f = {.kind = FWD_TOUCH, .touches = v, .ntouches = n};
        buf_t b = BUF_INIT;
        fwd_encode(&f, &b);
        zab_forward(c->zab, b.data, b.len);
        buf_free(&b);
    }
    free(v);
}

void coord_session_attached(coord_t *c, session_t *s)
{
    if (c->role == ZAB_LEADING) {
        set_owner(c, s, c->cfg->my_id);
        return;
    }
    s->attached = true;
    send_touches(c, true);
}

/* ---- apply ---- */

static void apply_one(coord_t *c, const zab_txn_t *t)
{
    dt_result_t res;
    if (dt_apply(c->dt, t->data, t->len, &res)) {
        /* A leader's prep produced it; failing to apply it is a bug that must not pass silently. */
        LOG_E(SUB, "internal error: txn 0x%" PRIx64 " does not apply; stopping", (uint64_t)t->zxid);
        abort();
    }
    prep_applied(c->prep, t->zxid);
    watch_trigger_result(c->watches, &res, coord_notify, c);

    session_t *s = hmap_get64(&c->sessions, (uint64_t)res.session_id);
    if (res.type == ZOO_CREATESESSION_OP) {
        if (!s) {
            /* created through another server */
            s = coord_session_new(c, res.session_id, dt_session_timeout(c->dt, res.session_id), NULL);
            s->touched = false;
        }
        s->committed = true;
        if (s->conn && s->conn->state == CONN_CONNECTING)
            conn_session_established(s->conn);
    } else if (res.type == ZOO_CLOSE_OP) {
        if (s) {
            conn_t *conn = s->conn;
            watch_remove_session(c->watches, s->id);
            hmap_del64(&c->sessions, (uint64_t)s->id);
            if (conn) {
                conn->sess = NULL;
                conn_write_applied(conn, res.cxid, t->zxid, res.err, &res.reply);
                if (conn->state != CONN_CLOSING)
                    conn_close(conn);   /* expired: the connection goes with the session */
            }
            session_free(s);
        }
    } else if (s && s->conn && s->conn->state == CONN_CONNECTED) {
        if (res.close_connection)
            conn_close(s->conn);   /* a standalone check: 3.8 cannot encode its reply and drops the connection */
        else
            conn_write_applied(s->conn, res.cxid, t->zxid, res.err, &res.reply);
    }
    dt_result_free(&res);
    while (c->inflight_head && c->inflight_head->zxid <= t->zxid) {
        inflight_t *f = c->inflight_head;
        c->inflight_head = f->next;
        if (!c->inflight_head)
            c->inflight_tail = NULL;
        free(f);
    }
    c->txns_since_snap++;
}

/* ---- storage for the core ---- */

static int st_read_log(void *ctx, int64_t after, zab_txn_fn fn, void *arg)
{
    coord_t *c = ctx;
    char err[512];
    int rc = txnlog_read_from(c->cfg->data_log_dir, after, fn, arg, err, sizeof err);
    if (rc < 0)
        LOG_W(SUB, "reading the log for a follower: %s", err);
    return rc < 0 ? -1 : 0;
}

static int st_snapshot(void *ctx, buf_t *out, int64_t *zxid)
{
    coord_t *c = ctx;
    dt_serialize(c->dt, out);
    *zxid = dt_last_zxid(c->dt);
    return 0;
}

/* ---- replacing the tree (truncate below the applied state, snapshot install) ---- */

typedef struct replay_s {
    dt_t *dt;
    int64_t n;
} replay_t;

static int replay_cb(void *ctx, int64_t zxid, const uint8_t *rec, size_t len)
{
    replay_t *r = ctx;
    dt_result_t res;
    if (dt_apply(r->dt, rec, len, &res)) {
        LOG_E(SUB, "txn 0x%" PRIx64 " in the log does not apply", (uint64_t)zxid);
        return -1;
    }
    dt_result_free(&res);
    r->n++;
    return 0;
}

/* Installs a new tree: prep and the session map follow it. Clients are gone (a server
 * that is being synced does not serve). */
/* An ensemble's /zookeeper/config holds its membership, as ZooKeeper's (a standalone
 * server's stays empty). Set on every tree this node starts from. */
static void set_config_node(coord_t *c)
{
    if (!c->ensemble)
        return;
    buf_t b = BUF_INIT;
    coord_config_membership(c->cfg, &b);
    dt_set_config_node(c->dt, b.data, (int32_t)b.len);
    buf_free(&b);
}

static void replace_tree(coord_t *c, dt_t *nt)
{
    coord_server_drop_clients(c, "the state is being replaced");
    prep_free(c->prep);
    dt_free(c->dt);
    c->dt = nt;
    set_config_node(c);
    c->prep = prep_new(c->dt);
    prep_set_extended_types(c->prep, c->cfg->extended_types_enabled);
    hmap_fini(&c->sessions, free_session_val);
    hmap_init(&c->sessions);
    watch_free(c->watches);
    c->watches = watch_new();
    dt_sessions_foreach(c->dt, restore_session, c);
}

static void reopen_log(coord_t *c, int64_t last)
{
    char err[512];
    txnlog_opts_t lo = {.dir = c->cfg->data_log_dir,
                        .prealloc_bytes = c->cfg->prealloc_kb * 1024,
                        .force_sync = c->cfg->force_sync,
                        .roll_bytes = 0};
    if (txnlog_open(&c->log, &lo, last, err, sizeof err)) {
        LOG_E(SUB, "%s", err);
        fatal("cannot reopen the transaction log");
    }
}

static void close_log_synced(coord_t *c)
{
    char err[512];
    if (txnlog_has_pending(c->log) && txnlog_sync(c->log, err, sizeof err)) {
        LOG_E(SUB, "%s", err);
        fatal("cannot write the transaction log");
    }
    txnlog_close(c->log);
    c->log = NULL;
}

static void exec_truncate(coord_t *c, int64_t to)
{
    char err[512];
    coord_snapshot_reap(c, true);   /* no snapshot is written while the files change */
    LOG_I(SUB, "truncating the log after 0x%" PRIx64 " (the leader's history differs)", (uint64_t)to);
    close_log_synced(c);
    if (txnlog_truncate(c->cfg->data_log_dir, to, err, sizeof err)) {
        LOG_E(SUB, "%s", err);
        fatal("cannot truncate the transaction log");
    }
    if (dt_last_zxid(c->dt) > to) {
        /* txns replayed at start-up that the leader does not have: rebuild */
        int64_t sz = 0;
        uint8_t *data = NULL;
        size_t len = 0;
        dt_t *nt = NULL;
        int rc = snap_load_latest(c->cfg->data_dir, &sz, &data, &len, err, sizeof err);
        if (rc < 0 || (rc == 1 && sz > to)) {
            LOG_E(SUB, "%s", rc < 0 ? err : "the newest snapshot is beyond the truncation point");
            free(data);
            fatal("cannot rebuild the state after a truncation");
        }
        if (rc == 1) {
            if (dt_deserialize(&nt, data, len)) {
                free(data);
                fatal("the snapshot does not load");
            }
            free(data);
        } else {
            nt = dt_new();
        }
        replay_t r = {nt, 0};
        int64_t last = 0;
        if (txnlog_replay(c->cfg->data_log_dir, dt_last_zxid(nt), replay_cb, &r, &last, err, sizeof err)) {
            LOG_E(SUB, "%s", err);
            fatal("cannot replay the log after a truncation");
        }
        replace_tree(c, nt);
        LOG_I(SUB, "state rebuilt at 0x%" PRIx64, (uint64_t)dt_last_zxid(c->dt));
    }
    reopen_log(c, to);
}

static void exec_install(coord_t *c, int64_t zxid, const uint8_t *p, size_t len)
{
    char err[512];
    coord_snapshot_reap(c, true);   /* no snapshot is written while the files change */
    dt_t *nt = NULL;
    if (dt_deserialize(&nt, p, len))
        fatal("the leader's snapshot does not load");
    LOG_I(SUB, "installing the leader's snapshot 0x%" PRIx64 " (%zu bytes, %zu nodes)", (uint64_t)zxid, len,
          dt_node_count(nt));
    replace_tree(c, nt);
    if (snap_write(c->cfg->data_dir, zxid, p, len, err, sizeof err)) {
        LOG_E(SUB, "%s", err);
        fatal("cannot write the leader's snapshot");
    }
    /* the log keeps nothing past the snapshot: txns after it come from the leader */
    close_log_synced(c);
    if (txnlog_truncate(c->cfg->data_log_dir, zxid, err, sizeof err)) {
        LOG_E(SUB, "%s", err);
        fatal("cannot truncate the transaction log");
    }
    reopen_log(c, zxid);
    c->txns_since_snap = 0;
}

/* ---- role changes ---- */

static const char *role_word(zab_role_t r)
{
    switch (r) {
    case ZAB_LEADING: return "LEADING";
    case ZAB_FOLLOWING: return "FOLLOWING";
    case ZAB_OBSERVING: return "OBSERVING";
    default: return "LOOKING";
    }
}

static void stop_serving(coord_t *c)
{
    coord_server_drop_clients(c, "this server stopped serving (no quorum / new leader)");
    deferred_clear(c);
    inflight_clear(c);
    prep_reset(c->prep);
    /* sessions whose createSession never committed never existed */
    hmap_iter_t it;
    hmap_iter_init(&c->sessions, &it);
    void *v;
    session_t **drop = NULL;
    size_t n = 0;
    while (hmap_iter_next(&c->sessions, &it, NULL, NULL, &v)) {
        session_t *s = v;
        s->closing = false;
        if (!s->committed) {
            drop = xrealloc(drop, (n + 1) * sizeof *drop);
            drop[n++] = s;
        }
    }
    for (size_t i = 0; i < n; i++)
        session_forget(c, drop[i]);
    free(drop);
}

static void start_leading(coord_t *c)
{
    /* Every session's timer starts afresh, as after a restart; owners report in. */
    int64_t now = clock_mono_ms();
    hmap_iter_t it;
    hmap_iter_init(&c->sessions, &it);
    void *v;
    while (hmap_iter_next(&c->sessions, &it, NULL, NULL, &v)) {
        session_t *s = v;
        s->expires_at_ms = now + s->timeout;
        s->owner = s->conn ? c->cfg->my_id : -1;
        s->closing = false;
    }
    prep_reset(c->prep);
    c->lead_floor = zab_last_committed(c->zab);
}

static void on_role(coord_t *c, const zab_ready_t *rd)
{
    bool same = rd->role == c->role && rd->leader == c->leader && rd->epoch == c->epoch;
    bool was = c->serving;
    if (c->ensemble || !c->serving)
        LOG_I(SUB, "%s%s, leader %d, epoch %u%s", role_word(rd->role),
              rd->role == ZAB_LEADING && !c->ensemble ? " (standalone)" : "", rd->leader, rd->epoch,
              rd->serving ? ", serving" : ", not serving");
    if (was && (!rd->serving || !same))
        stop_serving(c);
    c->role = rd->role;
    c->leader = rd->leader;
    c->epoch = rd->epoch;
    c->serving = rd->serving;
    if (rd->serving && rd->role == ZAB_LEADING && !(was && same))
        start_leading(c);
}

/* ---- the ready loop ---- */

static int drive(coord_t *c, char *err, size_t errlen)
{
    zab_ready_t rd;
    while (zab_ready(c->zab, &rd)) {
        if (rd.epochs_changed) {
            if (persist_epochs(c, rd.accepted_epoch, rd.current_epoch)) {
                snprintf(err, errlen, "cannot write the epoch files in %s: %s", c->cfg->data_dir, strerror(errno));
                zab_advance(c->zab);
                return -1;
            }
        }
        if (rd.truncate_to >= 0)
            exec_truncate(c, rd.truncate_to);
        if (rd.has_snapshot)
            exec_install(c, rd.snapshot_zxid, rd.snapshot, rd.snapshot_len);
        for (size_t i = 0; i < rd.nappend; i++) {
            if (txnlog_append(c->log, rd.append[i].zxid, rd.append[i].data, rd.append[i].len)) {
                snprintf(err, errlen, "cannot append txn 0x%" PRIx64 " to the log", (uint64_t)rd.append[i].zxid);
                zab_advance(c->zab);
                return -1;
            }
        }
        for (size_t i = 0; i < rd.nmsgs && c->net; i++)
            peer_net_send(c->net, &rd.msgs[i]);
        for (size_t i = 0; i < rd.napply; i++)
            apply_one(c, &rd.apply[i]);
        if (rd.napply)
            coord_server_syncs_applied(c);
        for (size_t i = 0; i < rd.nrequests; i++) {
            fwd_t f;
            if (fwd_decode(&f, rd.requests[i].data, rd.requests[i].len)) {
                LOG_W(SUB, "server.%d forwarded a request that does not decode; ignored", rd.requests[i].from);
                continue;
            }
            if (rd.role == ZAB_LEADING)
                leader_take(c, rd.requests[i].from, &f);
            fwd_free(&f);
        }
        if (rd.role_changed)
            on_role(c, &rd);
        zab_advance(c->zab);
        if (c->role == ZAB_LEADING && c->serving)
            run_deferred(c);
    }
    return 0;
}

static void drive_or_die(coord_t *c)
{
    char err[512];
    if (drive(c, err, sizeof err))
        fatal(err);
}

/* A note from the leader's driver (learner side). */
static void on_note(coord_t *c, const zab_msg_t *m)
{
    if (m->from != zab_leader(c->zab) || m->data.len < 0)
        return;
    fwd_t f;
    if (fwd_decode(&f, m->data.data, (size_t)m->data.len)) {
        LOG_W(SUB, "a note from server.%d does not decode; ignored", m->from);
        return;
    }
    session_t *s = hmap_get64(&c->sessions, (uint64_t)f.session_id);
    switch (f.kind) {
    case FWD_SYNC_REPLY:
        coord_sync_target(c, f.sync_id, f.zxid);
        break;
    case FWD_WRITE_FAILED:
        if (s && s->conn) {
            if (f.op == ZOO_CREATESESSION_OP)
                session_forget(c, s);
            else
                conn_write_failed(s->conn, f.cxid, f.err);
        }
        break;
    case FWD_SESSION_MOVED:
        if (s && s->conn) {
            LOG_I(SUB, "session 0x%" PRIx64 " moved to another server; closing its connection here",
                  (uint64_t)s->id);
            conn_close(s->conn);
        }
        break;
    default:
        break;
    }
    fwd_free(&f);
}

static void on_peer_msg(void *ctx, const zab_msg_t *m)
{
    coord_t *c = ctx;
    if (m->type == ZAB_MSG_REQUEST && zab_role(c->zab) != ZAB_LEADING) {
        on_note(c, m);
        return;
    }
    zab_step(c->zab, m);
}

static void on_peer_down(void *ctx, int id)
{
    coord_t *c = ctx;
    zab_peer_down(c->zab, id);
}

/* ---- group commit ---- */

static void fail_unlogged(coord_t *c)
{
    /* Standalone: nothing past the durable point was acknowledged. Forget those
     * proposals (their zxids are reused) and fail their requests. */
    int64_t durable = txnlog_durable_zxid(c->log);
    zab_abandon_unlogged(c->zab);
    inflight_t *keep = NULL, **kt = &keep;
    inflight_t *f = c->inflight_head;
    c->inflight_head = c->inflight_tail = NULL;
    while (f) {
        inflight_t *n = f->next;
        if (f->zxid <= durable) {
            *kt = f;
            kt = &f->next;
            f->next = NULL;
            c->inflight_tail = f;
            f = n;
            continue;
        }
        session_t *s = hmap_get64(&c->sessions, (uint64_t)f->session_id);
        if (s && f->op == ZOO_CREATESESSION_OP && !s->committed) {
            session_forget(c, s);   /* never made durable: the session never existed */
        } else if (s) {
            if (f->op == ZOO_CLOSE_OP)
                s->closing = false;
            if (f->from == c->cfg->my_id && s->conn)
                conn_write_failed(s->conn, f->cxid, ZSYSTEMERROR);
        }
        free(f);
        f = n;
    }
    c->inflight_head = keep;
    prep_reset(c->prep);
}

/* Writes queued peer messages and client replies to their sockets now. */
static void flush_output(coord_t *c)
{
    if (c->net)
        peer_net_flush(c->net);
    coord_server_flush(c);
}

void coord_after_events(coord_t *c)
{
    if (c->in_after_events) {
        /* called from an event handler run by the peek below: the outer call syncs */
        drive_or_die(c);
        return;
    }
    c->in_after_events = true;
    drive_or_die(c);
    if (txnlog_has_pending(c->log)) {
        /* Before blocking in the fsync: proposals, acks, forwarded requests and replies
         * of applied txns leave now, so peers and clients work while we wait (the
         * leader's proposals reach the followers, which log them in parallel). None
         * of them depends on what this fsync makes durable. */
        flush_output(c);
        /* Group commit without waiting: whatever arrived while this turn was being
         * processed (more writes, proposals, acks) is taken in now and made durable
         * by the same fsync. The loop does not block here. */
        {
            event_base_loop(c->base, EVLOOP_NONBLOCK);
            drive_or_die(c);
            flush_output(c);
        }
        char err[512];
        if (txnlog_sync(c->log, err, sizeof err)) {
            if (c->ensemble)
                fatal(err);
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
        } else {
            if (c->disk_error)
                LOG_I(SUB, "transaction log writes succeed again");
            c->disk_error = false;
            zab_persisted(c->zab, txnlog_durable_zxid(c->log));
        }
        drive_or_die(c);
        /* what the sync released (acks, commits, replies) leaves now, not after
         * another trip through the event loop */
        flush_output(c);
    }
    if (c->snap_pid > 0)
        coord_snapshot_reap(c, false);
    if (c->serving && c->txns_since_snap >= c->snap_threshold && c->snap_pid <= 0) {
        coord_snapshot_bg(c);
        /* ZooKeeper randomises the point in [snapCount/2, snapCount] so ensemble members
         * do not snapshot together. */
        int64_t half = c->cfg->snap_count / 2;
        c->snap_threshold = half + (half > 0 ? random() % (half + 1) : 0);
    }
    c->in_after_events = false;
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

void coord_snapshot_bg(coord_t *c)
{
    int64_t zxid = dt_last_zxid(c->dt);
    int64_t t0 = clock_mono_us();
    fflush(NULL);   /* nothing buffered is written twice */
    pid_t pid = fork();
    if (pid < 0) {
        LOG_W(SUB, "cannot start a snapshot process (%s); writing the snapshot here", strerror(errno));
        coord_snapshot(c);
        return;
    }
    if (pid == 0) {
        /* The child: a frozen copy of the tree (everything in it is applied, so durable
         * here and committed). It touches nothing but the snapshot file and dies with
         * its parent, so a killed server leaves no writer behind. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() == 1)
            _exit(2);
        buf_t b = BUF_INIT;
        dt_serialize(c->dt, &b);
        char err[512];
        int rc = snap_write(c->cfg->data_dir, zxid, b.data, b.len, err, sizeof err);
        if (rc) {
            LOG_E(SUB, "snapshot 0x%" PRIx64 " failed: %s", (uint64_t)zxid, err);
            fflush(NULL);
        }
        _exit(rc ? 1 : 0);
    }
    /* later txns start a new log file, as after a snapshot written here */
    txnlog_roll(c->log);
    c->txns_since_snap = 0;
    c->snap_pid = pid;
    c->snap_bg_zxid = zxid;
    c->snap_bg_start_us = t0;
}

void coord_snapshot_reap(coord_t *c, bool wait)
{
    if (c->snap_pid <= 0)
        return;
    int st = 0;
    pid_t r;
    do
        r = waitpid(c->snap_pid, &st, wait ? 0 : WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == 0)
        return;   /* still writing */
    if (r < 0) {
        LOG_W(SUB, "snapshot process %d: %s", c->snap_pid, strerror(errno));
    } else if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
        LOG_I(SUB, "snapshot 0x%" PRIx64 " written (in the background, %" PRId64 " ms)", (uint64_t)c->snap_bg_zxid,
              (clock_mono_us() - c->snap_bg_start_us) / 1000);
    } else {
        LOG_E(SUB, "snapshot 0x%" PRIx64 " was not written (its process ended with status %d); the log keeps "
                   "everything, the next snapshot comes after snapCount/2..snapCount more txns",
              (uint64_t)c->snap_bg_zxid, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    }
    c->snap_pid = 0;
}

/* ---- timers: session expiry (leader), touches (learners), container/TTL cleanup ---- */

static void propose_internal(coord_t *c, int64_t sid, int32_t op, const char *path)
{
    int64_t zxid = zab_propose(c->zab);
    if (zxid < 0)
        return;
    prep_ctx_t ctx = {.session_id = sid, .auth = NULL, .zxid = zxid, .now_ms = clock_wall_ms(), .cxid = 0};
    acl_auth_t none;
    acl_auth_init(&none, NULL);
    session_t *s = sid ? hmap_get64(&c->sessions, (uint64_t)sid) : NULL;
    ctx.auth = s ? &s->auth : &none;
    buf_t txn = BUF_INIT;
    if (op == ZOO_CLOSE_OP)
        prep_request(c->prep, &ctx, ZOO_CLOSE_OP, NULL, &txn);
    else
        prep_delete_container(c->prep, &ctx, path, &txn);
    acl_auth_free(&none);
    if (submit_txn(c, zxid, &txn) == 0)
        inflight_add(c, zxid, sid, 0, op, -1);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    coord_t *c = arg;
    int64_t now = clock_mono_ms();
    if (c->serving && c->role == ZAB_LEADING && leader_may_prep(c)) {
        hmap_iter_t it;
        hmap_iter_init(&c->sessions, &it);
        void *v;
        int64_t *expire = NULL;
        size_t n = 0;
        while (hmap_iter_next(&c->sessions, &it, NULL, NULL, &v)) {
            session_t *s = v;
            if (s->closing || !s->committed || now < s->expires_at_ms)
                continue;
            expire = xrealloc(expire, (n + 1) * sizeof *expire);
            expire[n++] = s->id;
        }
        for (size_t i = 0; i < n; i++) {
            session_t *s = hmap_get64(&c->sessions, (uint64_t)expire[i]);
            LOG_I(SUB, "Expiring session 0x%" PRIx64 ", timeout of %dms exceeded", (uint64_t)s->id, s->timeout);
            s->closing = true;
            propose_internal(c, s->id, ZOO_CLOSE_OP, NULL);
        }
        free(expire);
        int64_t wall = clock_wall_ms();
        if (now - c->last_container_check_ms >= 60000 || c->last_container_check_ms == 0) {
            c->last_container_check_ms = now;
            jute_strvec_t paths = {0, NULL};
            dt_expired_nodes(c->dt, wall, &paths);
            for (int32_t i = 0; i < paths.n; i++)
                propose_internal(c, 0, ZOO_DELETECONTAINER_OP, paths.v[i]);
            jute_strvec_free(&paths);
        }
    }
    send_touches(c, false);
    coord_server_close_idle(c, now);
    coord_after_events(c);
}

static void on_zab_tick(evutil_socket_t fd, short what, void *arg)
{
    coord_t *c = arg;
    zab_tick(c->zab, clock_mono_ms());
}

static void on_purge(evutil_socket_t fd, short what, void *arg)
{
    coord_t *c = arg;
    char err[512];
    int n = snap_purge(c->cfg->data_dir, c->cfg->data_log_dir, c->cfg->autopurge_snap_retain_count, err, sizeof err);
    if (n < 0) {
        LOG_W(SUB, "autopurge failed: %s", err);
        return;
    }
    if (n > 0)
        LOG_I(SUB, "autopurge removed %d old snapshot/log files", n);
    /* the log now holds every txn after the oldest snapshot kept */
    int64_t *z = NULL;
    size_t nz = 0;
    if (c->zab && snap_list_files(c->cfg->data_dir, &z, &nz, err, sizeof err) == 0 && nz > 0)
        zab_log_floor(c->zab, z[0]);
    free(z);
}

/* ---- open / close ---- */

static void zab_config_from(coord_t *c, zab_config_t *zc)
{
    const coord_config_t *cfg = c->cfg;
    memset(zc, 0, sizeof *zc);
    zc->my_id = cfg->my_id;
    if (cfg->nservers <= 1) {
        zc->voters[zc->nvoters++] = cfg->my_id;
    } else {
        for (int i = 0; i < cfg->nservers; i++) {
            if (cfg->servers[i].observer)
                zc->observers[zc->nobservers++] = cfg->servers[i].id;
            else
                zc->voters[zc->nvoters++] = cfg->servers[i].id;
        }
    }
    zc->tick_ms = cfg->tick_time;
    zc->init_limit = cfg->init_limit;
    zc->sync_limit = cfg->sync_limit;
    uint64_t nonce = 0;
    if (getrandom(&nonce, sizeof nonce, 0) != (ssize_t)sizeof nonce || nonce == 0)
        nonce = (uint64_t)clock_mono_us() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)clock_wall_ms();
    zc->nonce = nonce;
    zc->storage = (zab_storage_t){c, st_read_log, st_snapshot};
}

static int open_net(coord_t *c, char *err, size_t errlen)
{
    const coord_config_t *cfg = c->cfg;
    peer_net_peer_t peers[COORD_MAX_SERVERS];
    for (int i = 0; i < cfg->nservers; i++)
        peers[i] = (peer_net_peer_t){cfg->servers[i].id, cfg->servers[i].host, cfg->servers[i].quorum_port,
                                     cfg->servers[i].election_port};
    peer_net_opts_t o = {.my_id = cfg->my_id,
                         .peers = peers,
                         .npeers = cfg->nservers,
                         .listen_all = cfg->quorum_listen_all,
                         .connect_timeout_ms = cfg->tick_time,
                         .user_timeout_ms = cfg->tick_time * cfg->sync_limit,
                         .recv = on_peer_msg,
                         .down = on_peer_down,
                         .ctx = c};
    c->net = peer_net_new(c->base, &o, err, errlen);
    return c->net ? 0 : -1;
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
    c->ensemble = cfg->nservers > 1;
    c->role = ZAB_LOOKING;
    c->leader = -1;
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
        snap_zxid = 0;
    }
    set_config_node(c);
    /* 2. the log after it (a torn tail is truncated). In an ensemble what is past the
     * commit point is tentative: the leader may truncate it. */
    int64_t last = dt_last_zxid(c->dt);
    replay_t r = {c->dt, 0};
    if (txnlog_replay(cfg->data_log_dir, last, replay_cb, &r, &last, err, errlen))
        return -1;
    c->txns_since_snap = r.n;
    if (r.n)
        LOG_I(SUB, "replayed %" PRId64 " txns from the log, last zxid 0x%" PRIx64, r.n, (uint64_t)last);

    /* 3. the quorum core */
    uint32_t accepted = 0, current = 0;
    if (read_epoch_file(cfg->data_dir, "acceptedEpoch", &accepted) ||
        read_epoch_file(cfg->data_dir, "currentEpoch", &current)) {
        snprintf(err, errlen, "cannot read acceptedEpoch/currentEpoch in %s", cfg->data_dir);
        return -1;
    }
    c->disk_accepted = accepted;   /* 0: missing (read back as 0 too) */
    c->disk_current = current;
    /* A data directory written before epochs were recorded: its log names the epoch. */
    if (current < ZXID_EPOCH(last))
        current = ZXID_EPOCH(last);
    if (accepted < current)
        accepted = current;
    zab_config_t zc;
    zab_config_from(c, &zc);
    zab_state_t st = {.last_logged = last, .accepted_epoch = accepted, .current_epoch = current,
                      .log_floor = snap_zxid};
    c->zab = zab_open(&zc, &st);
    if (!c->zab) {
        snprintf(err, errlen, "invalid ensemble configuration for server.%d", cfg->my_id);
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
    if (!c->ensemble && r.n > 0 && coord_snapshot(c)) {
        snprintf(err, errlen, "cannot write the start-up snapshot to %s", cfg->data_dir);
        return -1;
    }
    if (c->ensemble && open_net(c, err, errlen))
        return -1;

    /* 4. start: a standalone server elects itself and establishes a new epoch here */
    zab_tick(c->zab, clock_mono_ms());
    if (drive(c, err, errlen))
        return -1;
    if (!c->ensemble && !c->serving) {
        snprintf(err, errlen, "cannot establish a new epoch in %s", cfg->data_dir);
        return -1;
    }

    int tick = cfg->tick_time / 2 > 0 ? cfg->tick_time / 2 : 1;
    struct timeval tv = {tick / 1000, (tick % 1000) * 1000};
    c->tick_ev = event_new(c->base, -1, EV_PERSIST, on_tick, c);
    event_add(c->tick_ev, &tv);
    int ztick = tick < ZAB_TICK_MAX_MS ? tick : ZAB_TICK_MAX_MS;
    struct timeval ztv = {ztick / 1000, (ztick % 1000) * 1000};
    c->zab_ev = event_new(c->base, -1, EV_PERSIST, on_zab_tick, c);
    event_add(c->zab_ev, &ztv);
    if (cfg->autopurge_purge_interval > 0) {
        struct timeval pv = {(time_t)cfg->autopurge_purge_interval * 3600, 0};
        c->purge_ev = event_new(c->base, -1, EV_PERSIST, on_purge, c);
        event_add(c->purge_ev, &pv);
        on_purge(-1, 0, c);
    }
    LOG_I(SUB, "server.%d: %s, last zxid 0x%" PRIx64 ", %zu nodes, %zu sessions", cfg->my_id,
          c->ensemble ? "ensemble member" : "standalone", (uint64_t)last, dt_node_count(c->dt),
          hmap_count(&c->sessions));
    return 0;
}

void coord_node_close(coord_t *c)
{
    coord_snapshot_reap(c, true);   /* a snapshot being written is finished first */
    /* Make what was appended durable before leaving (a clean shutdown loses nothing). */
    if (c->log && txnlog_has_pending(c->log)) {
        char err[256];
        txnlog_sync(c->log, err, sizeof err);
    }
    inflight_clear(c);
    deferred_clear(c);
    if (c->net)
        peer_net_free(c->net);
    c->net = NULL;
    if (c->tick_ev)
        event_free(c->tick_ev);
    if (c->zab_ev)
        event_free(c->zab_ev);
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
