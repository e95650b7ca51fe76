/* zsim.h — an ensemble of zab cores in one process, for tests: a fake clock, a fake
 * network (drop, delay, reorder, duplicate, partition), simulated disks (txn log with
 * a durability point, snapshot, epoch files), a state machine per server (the list of
 * applied txns), clients that write through any server, and invariant checks run
 * after every event. Everything random comes from one seeded PRNG, so a seed replays
 * exactly.
 *
 * Header-only (static functions) because every tests/unit/test_*.c is its own binary.
 *
 * The driver loop per server is the one node.c must follow: drain zab_ready, execute
 * persist -> send -> apply -> requests, zab_advance; report fsyncs with zab_persisted.
 *
 * Invariants (zs_check):
 *   one leader per epoch, ever;
 *   H, the global committed sequence, is extended from every server's log up to the
 *   zxid that server holds committed; every log agrees with H there (a committed txn is
 *   never lost, changed or reordered);
 *   every applied txn is committed, durable locally and in H at its position;
 *   truncation never removes a txn that is in H;
 *   a client's acknowledged writes are in H, in the order the client sent them. */
#ifndef GREGOR_TESTS_ZSIM_H
#define GREGOR_TESTS_ZSIM_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "coord/zab.h"
#include "coord/zab_msg.h"

#define ZS_FN static __attribute__((unused))
#define ZS_MAX 7
#define ZS_MAX_CLIENTS 8
#define ZS_MAX_PENDING 4

typedef struct zs_txn_s {
    int64_t zxid;
    uint8_t *data;
    size_t len;
} zs_txn_t;

typedef struct zs_vec_s {
    zs_txn_t *v;
    size_t n, cap;
} zs_vec_t;

typedef struct zs_sim_s zs_sim_t;

typedef struct zs_srv_s {
    zs_sim_t *sim;
    int idx;
    int id;
    bool voter;
    bool up;
    zab_t *z;
    /* disk */
    uint32_t accepted, current;
    zs_vec_t snap;          /* the snapshot: the whole state as of snap_zxid */
    int64_t snap_zxid;
    zs_vec_t log;           /* txns after snap_zxid */
    size_t ndurable;        /* log entries that survive a crash */
    /* memory */
    zs_vec_t state;         /* applied txns, in order */
    int64_t fsync_at;       /* -1: nothing to sync */
    int64_t next_tick;
    int64_t paused_until;   /* a stopped process (SIGSTOP, GC): nothing runs before this */
    size_t verified;        /* leading disk entries already checked against H */
} zs_srv_t;

typedef struct zs_netmsg_s {
    int64_t at;
    uint64_t ord;
    int from, to;           /* server indexes */
    uint8_t *bytes;
    size_t len;
} zs_netmsg_t;

/* A client: one session at a time. A client that moves to another server starts a new
 * session: the core keeps writes in order per server connection; across servers that is
 * the driver's session-owner check (ZooKeeper's SESSIONMOVED), not modelled here. */
typedef struct zs_client_s {
    int server;             /* index, -1 none */
    int session;            /* bumped when it moves */
    int64_t *last_in_h_by_sess;   /* highest seq of each session seen in H */
    int nsess;
    int64_t next_seq;
    int64_t pending[ZS_MAX_PENDING];
    int npending;
    int64_t last_acked;
    int64_t next_op_at;
} zs_client_t;

typedef struct zs_ack_s {
    int client;
    int session;
    int64_t seq;
    int64_t zxid;
} zs_ack_t;

typedef struct zs_opts_s {
    int nvoters, nobservers;
    int tick_ms, init_limit, sync_limit, elect_ms, cache_txns;
    int nclients;
    int drop_pct, dup_pct, reorder_pct;   /* per message, in percent */
    int fsync_max_ms;
    bool chaos;                            /* random crashes, restarts, partitions, loss */
    bool compaction;                       /* random snapshots + log purges */
    bool verbose;
} zs_opts_t;

struct zs_sim_s {
    zs_opts_t o;
    uint64_t rng;
    int64_t now;
    uint64_t events;
    int n;
    zs_srv_t srv[ZS_MAX];
    bool cut[ZS_MAX][ZS_MAX];
    int64_t link_at[ZS_MAX][ZS_MAX];   /* links are FIFO unless a reorder fault hits */
    zs_netmsg_t *net;
    size_t nnet, capnet;
    uint64_t ord;
    zs_vec_t h;
    int *leader_of;         /* by epoch; 0 = not seen */
    uint32_t nepochs;
    zs_client_t cl[ZS_MAX_CLIENTS];
    zs_ack_t *acks;
    size_t nacks, capacks;
    int64_t next_chaos_at;
    int64_t next_compact_at;
    bool failed;
    char err[1024];
    /* statistics */
    uint64_t nsnap_sent, ntrunc_sent, ndiff_sent, ncrashes, nrestarts, nwrites, nelections;
};

/* ---------------------------------------------------------------- basics */

ZS_FN uint64_t zs_rand(zs_sim_t *s)
{
    /* xorshift64* */
    uint64_t x = s->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

ZS_FN int zs_randn(zs_sim_t *s, int n)
{
    return n <= 0 ? 0 : (int)(zs_rand(s) % (uint64_t)n);
}

ZS_FN bool zs_pct(zs_sim_t *s, int pct)
{
    return zs_randn(s, 100) < pct;
}

ZS_FN void zs_fail(zs_sim_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
ZS_FN void zs_fail(zs_sim_t *s, const char *fmt, ...)
{
    if (s->failed)
        return;
    s->failed = true;
    int n = snprintf(s->err, sizeof s->err, "t=%" PRId64 "ms event %" PRIu64 ": ", s->now, s->events);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err + n, sizeof s->err - (size_t)n, fmt, ap);
    va_end(ap);
}

ZS_FN void zs_log(zs_sim_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
ZS_FN void zs_log(zs_sim_t *s, const char *fmt, ...)
{
    if (!s->o.verbose)
        return;
    printf("%8" PRId64 " ", s->now);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

ZS_FN void zs_trace(void *ctx, const char *line)
{
    zs_srv_t *sv = ctx;
    zs_log(sv->sim, "  %s", line);
}

ZS_FN void zv_push(zs_vec_t *v, int64_t zxid, const void *d, size_t len)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 32;
        v->v = xrealloc(v->v, v->cap * sizeof *v->v);
    }
    v->v[v->n].zxid = zxid;
    v->v[v->n].data = xmemdup(d ? d : "", len);
    v->v[v->n].len = len;
    v->n++;
}

ZS_FN void zv_truncate(zs_vec_t *v, size_t n)
{
    while (v->n > n)
        free(v->v[--v->n].data);
}

ZS_FN void zv_free(zs_vec_t *v)
{
    zv_truncate(v, 0);
    free(v->v);
    memset(v, 0, sizeof *v);
}

ZS_FN void zv_copy(zs_vec_t *dst, const zs_vec_t *src)
{
    zv_truncate(dst, 0);
    for (size_t i = 0; i < src->n; i++)
        zv_push(dst, src->v[i].zxid, src->v[i].data, src->v[i].len);
}

ZS_FN bool ztxn_eq(const zs_txn_t *a, const zs_txn_t *b)
{
    return a->zxid == b->zxid && a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

ZS_FN size_t disk_len(const zs_srv_t *sv)
{
    return sv->snap.n + sv->log.n;
}

ZS_FN const zs_txn_t *disk_at(const zs_srv_t *sv, size_t k)
{
    return k < sv->snap.n ? &sv->snap.v[k] : &sv->log.v[k - sv->snap.n];
}

ZS_FN int64_t disk_last(const zs_srv_t *sv)
{
    return sv->log.n ? sv->log.v[sv->log.n - 1].zxid : sv->snap_zxid;
}

/* ---------------------------------------------------------------- H: committed history */

/* Payload "c<client>.<session>:<seq>" -> client, session, seq; -1 if not a client write. */
ZS_FN int zs_parse(const zs_txn_t *t, int *sess, int64_t *seq)
{
    int c, se;
    long long q;
    char tmp[64];
    size_t n = t->len < sizeof tmp - 1 ? t->len : sizeof tmp - 1;
    memcpy(tmp, t->data, n);
    tmp[n] = 0;
    if (sscanf(tmp, "c%d.%d:%lld", &c, &se, &q) != 3 || c < 0 || c >= ZS_MAX_CLIENTS || se < 0)
        return -1;
    *seq = q;
    *sess = se;
    return c;
}

/* The txn at position k of some server's history is committed: it must be H[k], or
 * extend H. */
ZS_FN void zs_h_observe(zs_sim_t *s, size_t k, const zs_txn_t *t, int who)
{
    if (k < s->h.n) {
        if (!ztxn_eq(&s->h.v[k], t))
            zs_fail(s, "server %d: committed position %zu is 0x%" PRIx64 " (%.*s) but H has 0x%" PRIx64 " (%.*s)",
                    who, k, (uint64_t)t->zxid, (int)t->len, t->data, (uint64_t)s->h.v[k].zxid,
                    (int)s->h.v[k].len, s->h.v[k].data);
        return;
    }
    if (k > s->h.n) {
        zs_fail(s, "server %d: committed txn 0x%" PRIx64 " at position %zu but H has only %zu", who,
                (uint64_t)t->zxid, k, s->h.n);
        return;
    }
    if (s->h.n && t->zxid <= s->h.v[s->h.n - 1].zxid) {
        zs_fail(s, "server %d: committed zxid 0x%" PRIx64 " not above 0x%" PRIx64, who, (uint64_t)t->zxid,
                (uint64_t)s->h.v[s->h.n - 1].zxid);
        return;
    }
    int64_t seq;
    int se;
    int c = zs_parse(t, &se, &seq);
    if (c >= 0) {
        zs_client_t *cl = &s->cl[c];
        if (se >= cl->nsess) {
            cl->last_in_h_by_sess = xrealloc(cl->last_in_h_by_sess, (size_t)(se + 1) * sizeof(int64_t));
            for (int k = cl->nsess; k <= se; k++)
                cl->last_in_h_by_sess[k] = 0;
            cl->nsess = se + 1;
        }
        if (seq <= cl->last_in_h_by_sess[se])
            zs_fail(s, "client %d session %d: write %" PRId64 " committed after its write %" PRId64, c, se, seq,
                    cl->last_in_h_by_sess[se]);
        cl->last_in_h_by_sess[se] = seq;
    }
    zs_log(s, "H[%zu] = 0x%" PRIx64 " %.*s (from %d)", s->h.n, (uint64_t)t->zxid, (int)t->len, t->data, who);
    zv_push(&s->h, t->zxid, t->data, t->len);
}

/* Checks the server's log against H up to the zxid it holds committed. */
ZS_FN void zs_verify_srv(zs_sim_t *s, zs_srv_t *sv)
{
    if (!sv->up)
        return;
    int64_t c = zab_last_committed(sv->z);
    size_t n = disk_len(sv);
    while (sv->verified < n && !s->failed) {
        const zs_txn_t *t = disk_at(sv, sv->verified);
        if (t->zxid > c)
            break;
        zs_h_observe(s, sv->verified, t, sv->id);
        sv->verified++;
    }
}

ZS_FN bool zs_h_has(const zs_sim_t *s, size_t k, int64_t zxid)
{
    return k < s->h.n && s->h.v[k].zxid == zxid;
}

/* ---------------------------------------------------------------- clients */

ZS_FN void zs_fail_pending(zs_sim_t *s, int srv_idx)
{
    for (int c = 0; c < s->o.nclients; c++)
        if (s->cl[c].server == srv_idx)
            s->cl[c].npending = 0;
}

ZS_FN bool zs_paused(const zs_sim_t *s, int i)
{
    return s->srv[i].paused_until > s->now;
}

/* A txn applied on server sv: acknowledges the write of a client attached there. */
ZS_FN void zs_client_applied(zs_sim_t *s, zs_srv_t *sv, const zs_txn_t *t)
{
    int64_t seq;
    int se;
    int c = zs_parse(t, &se, &seq);
    if (c < 0 || s->cl[c].server != sv->idx || s->cl[c].session != se)
        return;
    zs_client_t *cl = &s->cl[c];
    for (int i = 0; i < cl->npending; i++) {
        if (cl->pending[i] != seq)
            continue;
        if (i != 0) {
            zs_fail(s, "client %d: write %" PRId64 " applied before its earlier write %" PRId64, c, seq,
                    cl->pending[0]);
            return;
        }
        memmove(cl->pending, cl->pending + 1, (size_t)(cl->npending - 1) * sizeof *cl->pending);
        cl->npending--;
        if (seq <= cl->last_acked)
            zs_fail(s, "client %d: ack %" PRId64 " after ack %" PRId64, c, seq, cl->last_acked);
        cl->last_acked = seq;
        if (s->nacks == s->capacks) {
            s->capacks = s->capacks ? s->capacks * 2 : 64;
            s->acks = xrealloc(s->acks, s->capacks * sizeof *s->acks);
        }
        s->acks[s->nacks++] = (zs_ack_t){c, se, seq, t->zxid};
        return;
    }
}

/* ---------------------------------------------------------------- storage callbacks */

ZS_FN int zs_read_log(void *ctx, int64_t after, zab_txn_fn fn, void *arg)
{
    zs_srv_t *sv = ctx;
    if (after < sv->snap_zxid)
        return -1;
    for (size_t i = 0; i < sv->log.n; i++)
        if (sv->log.v[i].zxid > after && fn(arg, sv->log.v[i].zxid, sv->log.v[i].data, sv->log.v[i].len))
            break;
    return 0;
}

ZS_FN void zs_encode_state(const zs_vec_t *st, buf_t *out)
{
    buf_put_be32(out, (uint32_t)st->n);
    for (size_t i = 0; i < st->n; i++) {
        buf_put_be64(out, (uint64_t)st->v[i].zxid);
        buf_put_be32(out, (uint32_t)st->v[i].len);
        buf_put(out, st->v[i].data, st->v[i].len);
    }
}

ZS_FN int zs_decode_state(zs_vec_t *st, const uint8_t *p, size_t len)
{
    rd_t r;
    rd_init(&r, p, len);
    uint32_t n = rd_be32(&r);
    zv_truncate(st, 0);
    for (uint32_t i = 0; i < n && !r.err; i++) {
        int64_t zxid = (int64_t)rd_be64(&r);
        uint32_t l = rd_be32(&r);
        const uint8_t *d = rd_bytes(&r, l);
        if (d)
            zv_push(st, zxid, d, l);
    }
    return r.err || rd_left(&r) ? -1 : 0;
}

ZS_FN int zs_snapshot(void *ctx, buf_t *out, int64_t *zxid)
{
    zs_srv_t *sv = ctx;
    zs_encode_state(&sv->state, out);
    *zxid = sv->state.n ? sv->state.v[sv->state.n - 1].zxid : 0;
    return 0;
}

/* ---------------------------------------------------------------- servers */

ZS_FN void zs_srv_open(zs_sim_t *s, zs_srv_t *sv)
{
    zab_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.my_id = sv->id;
    for (int i = 0; i < s->n; i++) {
        if (s->srv[i].voter)
            cfg.voters[cfg.nvoters++] = s->srv[i].id;
        else
            cfg.observers[cfg.nobservers++] = s->srv[i].id;
    }
    cfg.tick_ms = s->o.tick_ms;
    cfg.init_limit = s->o.init_limit;
    cfg.sync_limit = s->o.sync_limit;
    cfg.elect_ms = s->o.elect_ms;
    cfg.cache_txns = s->o.cache_txns;
    cfg.nonce = zs_rand(s);
    cfg.storage = (zab_storage_t){sv, zs_read_log, zs_snapshot};
    if (s->o.verbose) {
        cfg.trace = zs_trace;
        cfg.trace_ctx = sv;
    }
    /* The state is rebuilt from disk: the snapshot, then the whole log. */
    zv_copy(&sv->state, &sv->snap);
    for (size_t i = 0; i < sv->log.n; i++)
        zv_push(&sv->state, sv->log.v[i].zxid, sv->log.v[i].data, sv->log.v[i].len);
    zab_state_t st = {disk_last(sv), sv->accepted, sv->current, sv->snap_zxid};
    sv->z = zab_open(&cfg, &st);
    if (!sv->z) {
        zs_fail(s, "zab_open failed for %d", sv->id);
        return;
    }
    sv->up = true;
    sv->fsync_at = -1;
    sv->paused_until = 0;
    sv->next_tick = s->now + zs_randn(s, s->o.tick_ms / 2 + 1);
}

ZS_FN void zs_init(zs_sim_t *s, uint64_t seed, const zs_opts_t *o)
{
    memset(s, 0, sizeof *s);
    s->o = *o;
    if (!s->o.tick_ms)
        s->o.tick_ms = 100;
    if (!s->o.init_limit)
        s->o.init_limit = 10;
    if (!s->o.sync_limit)
        s->o.sync_limit = 5;
    if (!s->o.elect_ms)
        s->o.elect_ms = 30;
    if (!s->o.cache_txns)
        s->o.cache_txns = 8;
    s->rng = seed * 0x9E3779B97F4A7C15ULL + 0x1234567ULL;
    if (!s->rng)
        s->rng = 1;
    s->n = o->nvoters + o->nobservers;
    for (int i = 0; i < s->n; i++) {
        zs_srv_t *sv = &s->srv[i];
        sv->sim = s;
        sv->idx = i;
        sv->id = i + 1;
        sv->voter = i < o->nvoters;
    }
    for (int i = 0; i < s->n; i++)
        zs_srv_open(s, &s->srv[i]);
    for (int c = 0; c < s->o.nclients; c++) {
        s->cl[c].server = -1;
        s->cl[c].next_seq = 1;
        s->cl[c].next_op_at = 200 + zs_randn(s, 100);
    }
    s->next_chaos_at = 500;
    s->next_compact_at = 300;
}

ZS_FN void zs_free(zs_sim_t *s)
{
    for (int i = 0; i < s->n; i++) {
        zs_srv_t *sv = &s->srv[i];
        zab_free(sv->z);
        zv_free(&sv->snap);
        zv_free(&sv->log);
        zv_free(&sv->state);
    }
    for (size_t i = 0; i < s->nnet; i++)
        free(s->net[i].bytes);
    free(s->net);
    zv_free(&s->h);
    free(s->acks);
    free(s->leader_of);
    for (int c = 0; c < ZS_MAX_CLIENTS; c++)
        free(s->cl[c].last_in_h_by_sess);
}

ZS_FN void zs_crash(zs_sim_t *s, int i, bool lose_unsynced)
{
    zs_srv_t *sv = &s->srv[i];
    if (!sv->up)
        return;
    zs_log(s, "CRASH %d%s", sv->id, lose_unsynced ? " (unsynced writes lost)" : "");
    s->ncrashes++;
    zab_free(sv->z);
    sv->z = NULL;
    sv->up = false;
    if (lose_unsynced)
        zv_truncate(&sv->log, sv->ndurable);
    sv->ndurable = sv->log.n;
    if (sv->verified > disk_len(sv))
        sv->verified = disk_len(sv);
    zv_truncate(&sv->state, 0);
    sv->fsync_at = -1;
    zs_fail_pending(s, i);
    /* A killed process's TCP links reset: its peers usually learn of it at once
     * (zab_peer_down), as a driver does from a read error; sometimes only by silence. */
    for (int k = 0; k < s->n; k++)
        if (k != i && s->srv[k].up && zs_pct(s, 75))
            zab_peer_down(s->srv[k].z, sv->id);
}

ZS_FN void zs_restart(zs_sim_t *s, int i)
{
    zs_srv_t *sv = &s->srv[i];
    if (sv->up)
        return;
    zs_log(s, "RESTART %d", sv->id);
    s->nrestarts++;
    zs_srv_open(s, sv);
}

ZS_FN void zs_isolate(zs_sim_t *s, int i, bool cut)
{
    for (int j = 0; j < s->n; j++)
        if (j != i)
            s->cut[i][j] = s->cut[j][i] = cut;
}

ZS_FN void zs_heal(zs_sim_t *s)
{
    memset(s->cut, 0, sizeof s->cut);
}

/* Snapshot the applied state and purge the log up to it. */
ZS_FN void zs_compact(zs_sim_t *s, zs_srv_t *sv)
{
    if (!sv->up || !sv->state.n || sv->paused_until > s->now)
        return;
    int64_t z = sv->state.v[sv->state.n - 1].zxid;
    if (z <= sv->snap_zxid)
        return;
    zv_copy(&sv->snap, &sv->state);
    sv->snap_zxid = z;
    size_t k = 0;
    while (k < sv->log.n && sv->log.v[k].zxid <= z)
        k++;
    zs_vec_t rest = {0};
    for (size_t i = k; i < sv->log.n; i++)
        zv_push(&rest, sv->log.v[i].zxid, sv->log.v[i].data, sv->log.v[i].len);
    sv->ndurable = sv->ndurable > k ? sv->ndurable - k : 0;
    zv_free(&sv->log);
    sv->log = rest;
    zab_log_floor(sv->z, z);
    zs_log(s, "COMPACT %d at 0x%" PRIx64, sv->id, (uint64_t)z);
}

/* ---------------------------------------------------------------- network */

ZS_FN void zs_net_push(zs_sim_t *s, int from, int to, const uint8_t *b, size_t len, int64_t delay)
{
    if (s->nnet == s->capnet) {
        s->capnet = s->capnet ? s->capnet * 2 : 64;
        s->net = xrealloc(s->net, s->capnet * sizeof *s->net);
    }
    s->net[s->nnet++] = (zs_netmsg_t){s->now + delay, s->ord++, from, to, xmemdup(b, len), len};
}

ZS_FN int zs_idx_of(const zs_sim_t *s, int id)
{
    for (int i = 0; i < s->n; i++)
        if (s->srv[i].id == id)
            return i;
    return -1;
}

ZS_FN void zs_send(zs_sim_t *s, zs_srv_t *sv, const zab_msg_t *m)
{
    int to = zs_idx_of(s, m->to);
    if (to < 0 || to == sv->idx) {
        zs_fail(s, "server %d sent %s to unknown/self %d", sv->id, zab_msg_type_name(m->type), m->to);
        return;
    }
    if (m->type == ZAB_MSG_SNAP)
        s->nsnap_sent++;
    else if (m->type == ZAB_MSG_TRUNC)
        s->ntrunc_sent++;
    else if (m->type == ZAB_MSG_DIFF)
        s->ndiff_sent++;
    if (s->cut[sv->idx][to] || zs_pct(s, s->o.drop_pct))
        return;
    buf_t b = BUF_INIT;
    zab_msg_encode(m, &b);
    int64_t d = 1 + zs_randn(s, 4);
    if (zs_pct(s, s->o.reorder_pct)) {
        d += zs_randn(s, 40);
    } else {
        if (s->now + d < s->link_at[sv->idx][to])
            d = s->link_at[sv->idx][to] - s->now;
        s->link_at[sv->idx][to] = s->now + d;
    }
    zs_net_push(s, sv->idx, to, b.data, b.len, d);
    if (zs_pct(s, s->o.dup_pct))
        zs_net_push(s, sv->idx, to, b.data, b.len, d + zs_randn(s, 30));
    buf_free(&b);
}

/* ---------------------------------------------------------------- the driver loop */

ZS_FN void zs_disk_truncate(zs_sim_t *s, zs_srv_t *sv, int64_t to)
{
    if (to < sv->snap_zxid) {
        zs_fail(s, "server %d: asked to truncate to 0x%" PRIx64 " below its snapshot 0x%" PRIx64, sv->id,
                (uint64_t)to, (uint64_t)sv->snap_zxid);
        return;
    }
    size_t k = sv->log.n;
    while (k > 0 && sv->log.v[k - 1].zxid > to)
        k--;
    for (size_t i = k; i < sv->log.n; i++) {
        size_t pos = sv->snap.n + i;
        if (zs_h_has(s, pos, sv->log.v[i].zxid))
            zs_fail(s, "server %d: truncating committed txn 0x%" PRIx64, sv->id, (uint64_t)sv->log.v[i].zxid);
    }
    zv_truncate(&sv->log, k);
    if (sv->ndurable > k)
        sv->ndurable = k;
    if (sv->verified > disk_len(sv))
        sv->verified = disk_len(sv);
    /* roll the state back if it holds txns past the cut (replayed at start-up) */
    size_t st = sv->state.n;
    while (st > 0 && sv->state.v[st - 1].zxid > to)
        st--;
    zv_truncate(&sv->state, st);
}

ZS_FN void zs_apply(zs_sim_t *s, zs_srv_t *sv, const zab_txn_t *t)
{
    size_t k = sv->state.n;
    if (k && t->zxid <= sv->state.v[k - 1].zxid) {
        zs_fail(s, "server %d: apply 0x%" PRIx64 " after 0x%" PRIx64, sv->id, (uint64_t)t->zxid,
                (uint64_t)sv->state.v[k - 1].zxid);
        return;
    }
    if (k >= disk_len(sv) || disk_at(sv, k)->zxid != t->zxid) {
        zs_fail(s, "server %d: apply 0x%" PRIx64 " that is not in its log at position %zu", sv->id,
                (uint64_t)t->zxid, k);
        return;
    }
    if (k >= sv->snap.n && k - sv->snap.n >= sv->ndurable) {
        zs_fail(s, "server %d: apply 0x%" PRIx64 " before it is durable", sv->id, (uint64_t)t->zxid);
        return;
    }
    if (t->zxid > zab_last_committed(sv->z)) {
        zs_fail(s, "server %d: apply 0x%" PRIx64 " beyond its commit point 0x%" PRIx64, sv->id, (uint64_t)t->zxid,
                (uint64_t)zab_last_committed(sv->z));
        return;
    }
    zs_verify_srv(s, sv);
    zs_txn_t tx = {t->zxid, (uint8_t *)t->data, t->len};
    zs_h_observe(s, k, &tx, sv->id);
    zv_push(&sv->state, t->zxid, t->data, t->len);
    zs_client_applied(s, sv, &tx);
}

ZS_FN void zs_write(zs_sim_t *s, zs_srv_t *sv, const void *p, size_t len)
{
    int64_t zxid = zab_propose(sv->z);
    if (zxid < 0)
        return;
    if (zab_submit(sv->z, zxid, p, len))
        zs_fail(s, "server %d: submit of 0x%" PRIx64 " failed", sv->id, (uint64_t)zxid);
    s->nwrites++;
}

ZS_FN void zs_drain(zs_sim_t *s, zs_srv_t *sv)
{
    zab_ready_t rd;
    while (sv->up && !s->failed && zab_ready(sv->z, &rd)) {
        if (rd.epochs_changed) {
            if (rd.accepted_epoch < sv->accepted || rd.current_epoch < sv->current ||
                rd.current_epoch > rd.accepted_epoch)
                zs_fail(s, "server %d: epochs go %u/%u -> %u/%u", sv->id, sv->accepted, sv->current,
                        rd.accepted_epoch, rd.current_epoch);
            sv->accepted = rd.accepted_epoch;
            sv->current = rd.current_epoch;
        }
        if (rd.truncate_to >= 0)
            zs_disk_truncate(s, sv, rd.truncate_to);
        if (rd.has_snapshot) {
            zs_vec_t st = {0};
            if (zs_decode_state(&st, rd.snapshot, rd.snapshot_len) ||
                (st.n ? st.v[st.n - 1].zxid : 0) != rd.snapshot_zxid)
                zs_fail(s, "server %d: bad snapshot", sv->id);
            zv_copy(&sv->snap, &st);
            sv->snap_zxid = rd.snapshot_zxid;
            zv_truncate(&sv->log, 0);
            sv->ndurable = 0;
            sv->verified = 0;
            zv_free(&sv->state);
            sv->state = st;
            zs_log(s, "INSTALL %d snapshot 0x%" PRIx64, sv->id, (uint64_t)rd.snapshot_zxid);
        }
        for (size_t i = 0; i < rd.nappend; i++) {
            if (rd.append[i].zxid <= disk_last(sv))
                zs_fail(s, "server %d: append 0x%" PRIx64 " after 0x%" PRIx64, sv->id, (uint64_t)rd.append[i].zxid,
                        (uint64_t)disk_last(sv));
            zv_push(&sv->log, rd.append[i].zxid, rd.append[i].data, rd.append[i].len);
        }
        if (rd.nappend && sv->fsync_at < 0)
            sv->fsync_at = s->now + zs_randn(s, s->o.fsync_max_ms + 1);
        for (size_t i = 0; i < rd.nmsgs; i++)
            zs_send(s, sv, &rd.msgs[i]);
        for (size_t i = 0; i < rd.napply && !s->failed; i++)
            zs_apply(s, sv, &rd.apply[i]);
        for (size_t i = 0; i < rd.nrequests; i++) {
            if (rd.role != ZAB_LEADING)
                zs_fail(s, "server %d: requests while not leading", sv->id);
            zs_write(s, sv, rd.requests[i].data, rd.requests[i].len);
        }
        if (rd.role_changed) {
            zs_log(s, "ROLE %d -> %s leader %d epoch %u%s", sv->id,
                   rd.role == ZAB_LEADING ? "LEADING" : rd.role == ZAB_FOLLOWING ? "FOLLOWING"
                   : rd.role == ZAB_OBSERVING ? "OBSERVING" : "LOOKING",
                   rd.leader, rd.epoch, rd.serving ? " serving" : "");
            zs_fail_pending(s, sv->idx);
            if (rd.role == ZAB_LOOKING)
                s->nelections++;
        }
        zab_advance(sv->z);
    }
}

/* ---------------------------------------------------------------- invariants */

ZS_FN void zs_check(zs_sim_t *s)
{
    for (int i = 0; i < s->n && !s->failed; i++) {
        zs_srv_t *sv = &s->srv[i];
        if (!sv->up)
            continue;
        /* leaders whose epoch a majority promised, and learners serving under one */
        bool leads = zab_role(sv->z) == ZAB_LEADING;
        if (zab_epoch(sv->z) > 0 && (leads || zab_serving(sv->z))) {
            uint32_t e = zab_epoch(sv->z);
            int l = zab_leader(sv->z);
            if (leads && l != sv->id)
                zs_fail(s, "server %d leads but names %d leader", sv->id, l);
            if (e >= s->nepochs) {
                uint32_t n = e * 2 + 16;
                s->leader_of = xrealloc(s->leader_of, n * sizeof *s->leader_of);
                memset(s->leader_of + s->nepochs, 0, (n - s->nepochs) * sizeof *s->leader_of);
                s->nepochs = n;
            }
            if (!s->leader_of[e])
                s->leader_of[e] = l;
            else if (s->leader_of[e] != l)
                zs_fail(s, "two leaders in epoch %u: %d and %d (seen by %d)", e, s->leader_of[e], l, sv->id);
        }
        zs_verify_srv(s, sv);
        /* the state is a prefix of the log */
        if (sv->state.n > disk_len(sv) ||
            (sv->state.n && disk_at(sv, sv->state.n - 1)->zxid != sv->state.v[sv->state.n - 1].zxid))
            zs_fail(s, "server %d: state is not a prefix of its log", sv->id);
    }
}

/* ---------------------------------------------------------------- events */

ZS_FN void zs_client_op(zs_sim_t *s, int c)
{
    zs_client_t *cl = &s->cl[c];
    cl->next_op_at = s->now + 5 + zs_randn(s, 40);
    if (cl->server < 0 || !s->srv[cl->server].up || zs_pct(s, 3)) {
        int up[ZS_MAX], nup = 0;
        for (int i = 0; i < s->n; i++)
            if (s->srv[i].up)
                up[nup++] = i;
        cl->npending = 0;
        cl->server = nup ? up[zs_randn(s, nup)] : -1;
        cl->session++;
        cl->next_seq = 1;
        cl->last_acked = 0;
        return;
    }
    zs_srv_t *sv = &s->srv[cl->server];
    if (cl->npending >= ZS_MAX_PENDING || zs_paused(s, cl->server) || !zab_serving(sv->z))
        return;
    char p[64];
    int len = snprintf(p, sizeof p, "c%d.%d:%" PRId64, c, cl->session, cl->next_seq);
    if (zab_role(sv->z) == ZAB_LEADING) {
        int64_t zxid = zab_propose(sv->z);
        if (zxid < 0)
            return;
        if (zab_submit(sv->z, zxid, p, (size_t)len)) {
            zs_fail(s, "server %d: submit failed", sv->id);
            return;
        }
        s->nwrites++;
    } else if (zab_forward(sv->z, p, (size_t)len)) {
        return;
    }
    zs_log(s, "WRITE %s at %d (%s)", p, sv->id, zab_role_name(sv->z));
    cl->pending[cl->npending++] = cl->next_seq++;
}

ZS_FN void zs_chaos(zs_sim_t *s)
{
    s->next_chaos_at = s->now + 100 + zs_randn(s, 900);
    int i = zs_randn(s, s->n);
    switch (zs_randn(s, 11)) {
    case 0:
    case 1: zs_crash(s, i, zs_pct(s, 50)); break;
    case 10:
        /* power loss: everyone at once, unsynced writes gone */
        if (zs_pct(s, 50)) {
            zs_log(s, "POWER LOSS");
            for (int k = 0; k < s->n; k++)
                zs_crash(s, k, true);
        }
        break;
    case 2:
    case 3:
        for (int k = 0; k < s->n; k++)
            if (!s->srv[(i + k) % s->n].up) {
                zs_restart(s, (i + k) % s->n);
                break;
            }
        break;
    case 4: zs_log(s, "ISOLATE %d", s->srv[i].id); zs_isolate(s, i, true); break;
    case 5: {
        int j = zs_randn(s, s->n);
        if (j != i) {
            zs_log(s, "CUT %d-%d", s->srv[i].id, s->srv[j].id);
            s->cut[i][j] = s->cut[j][i] = true;
        }
        break;
    }
    case 6:
    case 7: zs_log(s, "HEAL"); zs_heal(s); break;
    case 9:
        if (s->srv[i].up) {
            s->srv[i].paused_until = s->now + 200 + zs_randn(s, 2800);
            zs_log(s, "PAUSE %d until %" PRId64, s->srv[i].id, s->srv[i].paused_until);
        }
        break;
    case 8:
        s->o.drop_pct = zs_randn(s, 3) == 0 ? zs_randn(s, 10) : 0;
        s->o.dup_pct = zs_randn(s, 3) == 0 ? zs_randn(s, 10) : 0;
        s->o.reorder_pct = zs_randn(s, 3) == 0 ? zs_randn(s, 20) : 0;
        zs_log(s, "NET drop %d%% dup %d%% reorder %d%%", s->o.drop_pct, s->o.dup_pct, s->o.reorder_pct);
        break;
    default: break;
    }
}

/* Runs events until the clock passes until_ms or an invariant fails. */
ZS_FN int zs_run(zs_sim_t *s, int64_t until_ms)
{
    while (!s->failed) {
        /* the earliest event; ties broken by a fixed order */
        int64_t best = INT64_MAX;
        int kind = -1, who = -1;
        for (size_t i = 0; i < s->nnet; i++) {
            int64_t at = s->net[i].at;
            if (at < s->srv[s->net[i].to].paused_until)
                at = s->srv[s->net[i].to].paused_until;
            if (at < best || (at == best && kind == 0 && s->net[i].ord < s->net[who].ord)) {
                best = at;
                kind = 0;
                who = (int)i;
            }
        }
        for (int i = 0; i < s->n; i++) {
            zs_srv_t *sv = &s->srv[i];
            if (!sv->up)
                continue;
            int64_t fs = sv->fsync_at < sv->paused_until ? sv->paused_until : sv->fsync_at;
            int64_t tk = sv->next_tick < sv->paused_until ? sv->paused_until : sv->next_tick;
            if (sv->fsync_at >= 0 && fs < best) {
                best = fs;
                kind = 1;
                who = i;
            }
            if (tk < best) {
                best = tk;
                kind = 2;
                who = i;
            }
        }
        for (int c = 0; c < s->o.nclients; c++)
            if (s->cl[c].next_op_at < best) {
                best = s->cl[c].next_op_at;
                kind = 3;
                who = c;
            }
        if (s->o.chaos && s->next_chaos_at < best) {
            best = s->next_chaos_at;
            kind = 4;
        }
        if (s->o.compaction && s->next_compact_at < best) {
            best = s->next_compact_at;
            kind = 5;
        }
        if (best > until_ms) {
            s->now = until_ms;
            break;
        }
        s->now = best;
        s->events++;
        switch (kind) {
        case 0: {
            zs_netmsg_t nm = s->net[who];
            s->net[who] = s->net[--s->nnet];
            zs_srv_t *sv = &s->srv[nm.to];
            if (sv->up && !s->cut[nm.from][nm.to]) {
                zab_msg_t m;
                if (zab_msg_decode(&m, nm.bytes, nm.len)) {
                    zs_fail(s, "a message from %d to %d does not decode", nm.from, nm.to);
                } else {
                    if (s->o.verbose && m.type != ZAB_MSG_PING && m.type != ZAB_MSG_VOTE)
                        zs_log(s, "%d -> %d %s zxid 0x%" PRIx64 " epoch %" PRId64 " seq %" PRId64, m.from, m.to,
                               zab_msg_type_name(m.type), (uint64_t)m.zxid, m.epoch, m.seq);
                    if (zab_step(sv->z, &m))
                        zs_fail(s, "server %d rejected a message from %d", sv->id, m.from);
                    zab_msg_free(&m);
                }
            }
            free(nm.bytes);
            break;
        }
        case 1: {
            zs_srv_t *sv = &s->srv[who];
            sv->ndurable = sv->log.n;
            sv->fsync_at = -1;
            zab_persisted(sv->z, disk_last(sv));
            break;
        }
        case 2: {
            zs_srv_t *sv = &s->srv[who];
            sv->next_tick = s->now + s->o.tick_ms / 4 + zs_randn(s, s->o.tick_ms / 4 + 1);
            zab_tick(sv->z, s->now);
            break;
        }
        case 3: zs_client_op(s, who); break;
        case 4: zs_chaos(s); break;
        case 5:
            s->next_compact_at = s->now + 100 + zs_randn(s, 400);
            zs_compact(s, &s->srv[zs_randn(s, s->n)]);
            break;
        default: break;
        }
        for (int i = 0; i < s->n; i++)
            zs_drain(s, &s->srv[i]);
        zs_check(s);
    }
    return s->failed ? -1 : 0;
}

/* ---------------------------------------------------------------- queries */

/* Index of the serving leader, -1 if none (or more than one serving). */
ZS_FN int zs_leader(const zs_sim_t *s)
{
    int l = -1;
    for (int i = 0; i < s->n; i++)
        if (s->srv[i].up && zab_role(s->srv[i].z) == ZAB_LEADING && zab_serving(s->srv[i].z)) {
            if (l >= 0)
                return -1;
            l = i;
        }
    return l;
}

/* Heals everything and checks the ensemble recovers: one leader, everyone serving,
 * every state equal to H, every acknowledged write present. Returns 0 or -1. */
ZS_FN int zs_settle(zs_sim_t *s, int64_t for_ms)
{
    s->o.chaos = false;
    s->o.drop_pct = s->o.dup_pct = s->o.reorder_pct = 0;
    zs_heal(s);
    for (int i = 0; i < s->n; i++)
        s->srv[i].paused_until = 0;
    for (int i = 0; i < s->n; i++)
        zs_restart(s, i);
    int saved_clients = s->o.nclients;
    if (zs_run(s, s->now + for_ms))
        return -1;
    /* one last write through the leader, then quiet */
    int l = zs_leader(s);
    if (l < 0) {
        zs_fail(s, "no serving leader after settling");
        return -1;
    }
    s->o.nclients = 0;
    zs_write(s, &s->srv[l], "final", 5);
    if (zs_run(s, s->now + 20LL * s->o.tick_ms))
        return -1;
    s->o.nclients = saved_clients;
    for (int i = 0; i < s->n; i++) {
        zs_srv_t *sv = &s->srv[i];
        if (!zab_serving(sv->z)) {
            zs_fail(s, "server %d not serving after settling (%s)", sv->id, zab_role_name(sv->z));
            return -1;
        }
        if (sv->state.n != s->h.n) {
            zs_fail(s, "server %d applied %zu txns, H has %zu", sv->id, sv->state.n, s->h.n);
            return -1;
        }
        for (size_t k = 0; k < s->h.n; k++)
            if (!ztxn_eq(&sv->state.v[k], &s->h.v[k])) {
                zs_fail(s, "server %d: state differs from H at %zu", sv->id, k);
                return -1;
            }
    }
    bool final = false;
    for (size_t k = s->h.n; k > 0 && !final; k--)
        final = s->h.v[k - 1].len == 5 && !memcmp(s->h.v[k - 1].data, "final", 5);
    if (!final) {
        zs_fail(s, "the final write did not commit");
        return -1;
    }
    for (size_t a = 0; a < s->nacks; a++) {
        bool found = false;
        for (size_t k = 0; k < s->h.n && !found; k++)
            if (s->h.v[k].zxid == s->acks[a].zxid) {
                int64_t seq;
                int se;
                found = zs_parse(&s->h.v[k], &se, &seq) == s->acks[a].client && se == s->acks[a].session &&
                        seq == s->acks[a].seq;
            }
        if (!found) {
            zs_fail(s, "acknowledged write c%d.%d:%" PRId64 " (0x%" PRIx64 ") was lost", s->acks[a].client,
                    s->acks[a].session, s->acks[a].seq, (uint64_t)s->acks[a].zxid);
            return -1;
        }
    }
    return 0;
}

#endif
