/* zab.c — see zab.h. Pure: no I/O, no clock; time arrives through zab_tick.
 *
 * Layout of this file:
 *   txns and the in-memory history     refcounted txn_t, a deque of them (hist_t)
 *   output batches                     what zab_ready hands out
 *   session channels                   nonce + sequence numbers, reorder repair
 *   election                           votes, tally, joining an established leader
 *   leader                             discovery, sync (DIFF/TRUNC/SNAP), broadcast
 *   learner                            follower and observer
 *   inputs, outputs, queries           the public API
 *
 * Invariants kept here (the simulation in tests/unit/test_zab_sim.c checks them):
 *   hist holds txns (hist.base, last] in zxid order; every txn > applied_done is in it;
 *   applied <= committed (as far as this server knows) and applied <= logged;
 *   logged <= appended; a leader's epoch is above every epoch promised by a majority. */
#include "coord/zab.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

#define REORDER_MAX 64   /* out-of-order messages held per session */
#define GAP_TICKS 2      /* a sequence gap not repaired within this many ticks ends the session */

/* ---------------------------------------------------------------- txns */

typedef struct txn_s {
    int refs;
    bool external;     /* standalone: zxid reserved, bytes logged and applied by the driver */
    bool submitted;    /* bytes are known */
    int64_t zxid;
    size_t len;
    uint8_t data[];
} txn_t;

static txn_t *txn_new(int64_t zxid, const void *p, size_t len)
{
    txn_t *t = xmalloc(sizeof *t + len);
    t->refs = 1;
    t->external = false;
    t->submitted = p != NULL;
    t->zxid = zxid;
    t->len = len;
    if (len)
        memcpy(t->data, p, len);
    return t;
}

static txn_t *txn_ref(txn_t *t)
{
    t->refs++;
    return t;
}

static void txn_unref(txn_t *t)
{
    if (t && --t->refs == 0)
        free(t);
}

/* The in-memory history: txns (base, last] in zxid order, as a ring. */
typedef struct hist_s {
    txn_t **v;
    size_t cap, head, n;
    int64_t base;
} hist_t;

static txn_t *hist_at(const hist_t *h, size_t i)
{
    return h->v[(h->head + i) % h->cap];
}

/* Takes over the caller's reference. */
static void hist_push(hist_t *h, txn_t *t)
{
    if (h->n == h->cap) {
        size_t ncap = h->cap ? h->cap * 2 : 64;
        txn_t **nv = xmalloc(ncap * sizeof *nv);
        for (size_t i = 0; i < h->n; i++)
            nv[i] = hist_at(h, i);
        free(h->v);
        h->v = nv;
        h->cap = ncap;
        h->head = 0;
    }
    h->v[(h->head + h->n) % h->cap] = t;
    h->n++;
}

static void hist_pop_front(hist_t *h)
{
    txn_t *t = hist_at(h, 0);
    h->base = t->zxid;
    txn_unref(t);
    h->head = (h->head + 1) % h->cap;
    h->n--;
}

/* Index of the last txn with zxid <= zxid, or -1. */
static long hist_floor_idx(const hist_t *h, int64_t zxid)
{
    long lo = 0, hi = (long)h->n - 1, ans = -1;
    while (lo <= hi) {
        long mid = lo + (hi - lo) / 2;
        if (hist_at(h, (size_t)mid)->zxid <= zxid) {
            ans = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return ans;
}

/* Drops every txn with zxid > zxid. */
static void hist_truncate(hist_t *h, int64_t zxid)
{
    while (h->n && hist_at(h, h->n - 1)->zxid > zxid) {
        txn_unref(hist_at(h, h->n - 1));
        h->n--;
    }
    if (h->base > zxid)
        h->base = zxid;
}

static void hist_clear(hist_t *h, int64_t base)
{
    hist_truncate(h, INT64_MIN);
    h->base = base;
}

/* ---------------------------------------------------------------- batches */

typedef struct tlist_s {
    txn_t **v;
    size_t n, cap;
} tlist_t;

static void tl_push(tlist_t *l, txn_t *t)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = txn_ref(t);
}

/* Drops entries with zxid > zxid (they were superseded before being handed out). */
static void tl_cut_above(tlist_t *l, int64_t zxid)
{
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i]->zxid > zxid)
            txn_unref(l->v[i]);
        else
            l->v[k++] = l->v[i];
    }
    l->n = k;
}

static void tl_free(tlist_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        txn_unref(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

typedef struct batch_s {
    bool epochs_changed;
    int64_t truncate_to;
    bool has_snap;
    int64_t snap_zxid;
    uint8_t *snap;
    size_t snap_len;
    tlist_t append;
    tlist_t apply;
    zab_msg_t *msgs;
    size_t nmsgs, capmsgs;
    zab_request_t *reqs;
    size_t nreqs, capreqs;
    bool role_changed;
    zab_txn_t *append_view;
    zab_txn_t *apply_view;
} batch_t;

static void batch_init(batch_t *b)
{
    memset(b, 0, sizeof *b);
    b->truncate_to = -1;
}

static void batch_free(batch_t *b)
{
    free(b->snap);
    tl_free(&b->append);
    tl_free(&b->apply);
    for (size_t i = 0; i < b->nmsgs; i++)
        zab_msg_free(&b->msgs[i]);
    free(b->msgs);
    for (size_t i = 0; i < b->nreqs; i++)
        free((void *)b->reqs[i].data);
    free(b->reqs);
    free(b->append_view);
    free(b->apply_view);
    batch_init(b);
}

/* ---------------------------------------------------------------- state */

typedef struct chan_s {
    uint64_t nonce;
    int64_t out_seq;     /* next seq we send */
    int64_t in_seq;      /* next seq we expect */
    zab_msg_t *held;     /* received ahead of in_seq */
    int nheld, capheld;
    int64_t gap_tick;    /* tick a gap was first seen; -1 none */
    uint64_t gen;        /* bumped on reset */
} chan_t;

enum { S_NONE, S_INFO, S_EPOCH_SENT, S_EPOCH_ACKED, S_SYNCING, S_SYNCED, S_BCAST };
enum { L_DISCOVERY, L_EPOCH, L_SYNC, L_BCAST };
enum { F_CONNECTING, F_EPOCH_ACKED, F_SYNC, F_NEWLEADER, F_SERVING };

/* A learner session as the leader sees it. */
typedef struct lsess_s {
    int phase;
    chan_t ch;
    uint32_t accepted;    /* FOLLOWERINFO */
    uint32_t cur_epoch;   /* ACKEPOCH */
    int64_t last_zxid;    /* FOLLOWERINFO / ACKEPOCH */
    int64_t floor;        /* ACKEPOCH: its snapshot; it cannot be truncated below this */
    bool counted;         /* ACKEPOCH promised our epoch for the first time */
    int64_t target;       /* last zxid of the sync (NEWLEADER) */
    int64_t acked;        /* voters: logged up to; -1 none */
    int64_t informed;     /* observers: INFORMed up to */
    int64_t heard_tick;
} lsess_t;

typedef struct vote_s {
    int leader;
    int64_t zxid;
    uint32_t epoch;
} vote_t;

typedef struct peer_s {
    int id;
    bool voter;
    /* election: the latest vote heard from this peer */
    bool has_vote;
    int64_t vote_round;
    vote_t vote;
    bool has_oo;          /* it reported FOLLOWING/LEADING */
    int oo_state;
    int oo_leader;
    bool down;            /* the driver saw our link with it break and nothing came since */
    lsess_t s;            /* when we lead */
} peer_t;

struct zab_s {
    zab_config_t cfg;
    bool observer;        /* this server does not vote */
    bool solo;            /* the only voter and no observers: standalone */
    int quorum;
    peer_t *peers;
    int npeers;

    zab_role_t role;
    bool started;
    uint64_t gen;         /* bumped on every role change */
    int64_t now;
    int64_t tick;
    int64_t next_tick_ms;
    uint64_t nonce_ctr;

    uint32_t accepted_epoch;
    uint32_t current_epoch;
    int64_t log_floor;

    hist_t hist;
    int64_t appended;     /* last zxid handed out to append (or reserved, standalone) */
    int64_t logged;       /* durable */
    int64_t committed;    /* known committed (learner: capped at appended) */
    int64_t applied;      /* handed out for apply */
    int64_t applied_done; /* applied by the driver (batches advanced) */

    /* election */
    int64_t round;
    vote_t proposal;
    int64_t decide_at;    /* ms; -1 none */
    int64_t next_vote_ms;

    /* the leadership we take part in */
    int leader;
    uint32_t epoch;

    /* leader */
    int lphase;
    int64_t lead_tick;
    int64_t h0;           /* last zxid of the history the leader started its epoch with */
    int64_t last_proposed;
    bool unsubmitted;     /* a zxid was reserved and its bytes not yet submitted */

    /* learner */
    int fphase;
    chan_t fch;
    int64_t follow_tick;
    int64_t last_leader_tick;
    int64_t followerinfo_tick;
    int64_t fi_next_ms;   /* resend FOLLOWERINFO at (ms) while connecting ... */
    int64_t fi_wait_ms;   /* ... after this long (elect_ms, doubling up to tick_ms) */
    int promised_to;      /* leader our accepted_epoch was promised to in this run */
    int64_t leader_commit;
    int64_t newleader_zxid;
    bool newleader_acked;
    int64_t last_acked;

    /* output */
    batch_t pend;
    batch_t out;
    bool out_busy;
    zab_role_t rep_role;  /* what the last handed-out batch reported */
    bool rep_serving;
    int rep_leader;
};

static void become_looking(zab_t *z);
static void apply_committed(zab_t *z);

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static const char *role_str(zab_role_t r)
{
    switch (r) {
    case ZAB_LEADING: return "LEADING";
    case ZAB_FOLLOWING: return "FOLLOWING";
    case ZAB_OBSERVING: return "OBSERVING";
    default: return "LOOKING";
    }
}

static void trace(zab_t *z, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void trace(zab_t *z, const char *fmt, ...)
{
    if (!z->cfg.trace)
        return;
    char line[512];
    int n = snprintf(line, sizeof line, "zab %d %s e%u: ", z->cfg.my_id, role_str(z->role), z->epoch);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    z->cfg.trace(z->cfg.trace_ctx, line);
}

static peer_t *peer_by_id(zab_t *z, int id)
{
    for (int i = 0; i < z->npeers; i++)
        if (z->peers[i].id == id)
            return &z->peers[i];
    return NULL;
}

static bool is_voter_id(const zab_t *z, int id)
{
    for (int i = 0; i < z->cfg.nvoters; i++)
        if (z->cfg.voters[i] == id)
            return true;
    return false;
}

static bool serving(const zab_t *z)
{
    if (z->role == ZAB_LEADING)
        return z->lphase == L_BCAST;
    if (z->role == ZAB_FOLLOWING || z->role == ZAB_OBSERVING)
        return z->fphase == F_SERVING;
    return false;
}

static bool is_learner(const zab_t *z)
{
    return z->role == ZAB_FOLLOWING || z->role == ZAB_OBSERVING;
}

/* ---------------------------------------------------------------- output helpers */

/* A new message at the end of the pending batch; the pointer is valid until the next
 * call (fill it at once). */
static zab_msg_t *out_msg(zab_t *z, int type, int to)
{
    batch_t *b = &z->pend;
    if (b->nmsgs == b->capmsgs) {
        b->capmsgs = b->capmsgs ? b->capmsgs * 2 : 16;
        b->msgs = xrealloc(b->msgs, b->capmsgs * sizeof *b->msgs);
    }
    zab_msg_t *m = &b->msgs[b->nmsgs++];
    memset(m, 0, sizeof *m);
    m->type = type;
    m->from = z->cfg.my_id;
    m->to = to;
    m->data.len = -1;
    return m;
}

static void msg_set_data(zab_msg_t *m, const void *p, size_t len)
{
    m->data = jute_buf_dup(p, (int32_t)len);
}

static void set_epochs_changed(zab_t *z)
{
    z->pend.epochs_changed = true;
}

/* ---------------------------------------------------------------- channels */

static void chan_reset(chan_t *ch, uint64_t nonce)
{
    for (int i = 0; i < ch->nheld; i++)
        zab_msg_free(&ch->held[i]);
    ch->nheld = 0;
    ch->nonce = nonce;
    ch->out_seq = 0;
    ch->in_seq = 0;
    ch->gap_tick = -1;
    ch->gen++;
}

static void chan_free(chan_t *ch)
{
    chan_reset(ch, 0);
    free(ch->held);
    ch->held = NULL;
    ch->capheld = 0;
}

static zab_msg_t *chan_msg(zab_t *z, chan_t *ch, int type, int to)
{
    zab_msg_t *m = out_msg(z, type, to);
    m->nonce = (int64_t)ch->nonce;
    m->seq = ch->out_seq++;
    return m;
}

typedef void (*chan_fn)(zab_t *z, void *ctx, const zab_msg_t *m);

/* Delivers m and any held successors to fn in sequence order. Duplicates are dropped,
 * early messages held. Returns -1 if the session must end (too much held). */
static int chan_recv(zab_t *z, chan_t *ch, const zab_msg_t *m, chan_fn fn, void *ctx)
{
    if (m->seq < ch->in_seq)
        return 0;
    if (m->seq > ch->in_seq) {
        for (int i = 0; i < ch->nheld; i++)
            if (ch->held[i].seq == m->seq)
                return 0;
        if (ch->nheld == REORDER_MAX)
            return -1;
        if (ch->nheld == ch->capheld) {
            ch->capheld = ch->capheld ? ch->capheld * 2 : 8;
            ch->held = xrealloc(ch->held, (size_t)ch->capheld * sizeof *ch->held);
        }
        zab_msg_copy(&ch->held[ch->nheld++], m);
        if (ch->gap_tick < 0)
            ch->gap_tick = z->tick;
        return 0;
    }
    uint64_t zgen = z->gen, cgen = ch->gen;
    ch->in_seq++;
    fn(z, ctx, m);
    while (z->gen == zgen && ch->gen == cgen) {
        int found = -1;
        for (int i = 0; i < ch->nheld; i++)
            if (ch->held[i].seq == ch->in_seq)
                found = i;
        if (found < 0)
            break;
        zab_msg_t hm = ch->held[found];
        ch->held[found] = ch->held[--ch->nheld];
        ch->in_seq++;
        fn(z, ctx, &hm);
        zab_msg_free(&hm);
    }
    if (z->gen == zgen && ch->gen == cgen)
        ch->gap_tick = ch->nheld ? (ch->gap_tick >= 0 ? ch->gap_tick : z->tick) : -1;
    return 0;
}

static uint64_t next_nonce(zab_t *z)
{
    /* splitmix64 over (configured nonce, counter): distinct per session and per run */
    uint64_t x = z->cfg.nonce + 0x9e3779b97f4a7c15ULL * ++z->nonce_ctr;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x ? x : 1;
}

/* ---------------------------------------------------------------- history and apply */

/* Everything committed, durable and not yet applied goes into the batch, in order. */
static void apply_committed(zab_t *z)
{
    int64_t limit = min64(z->committed, z->logged);
    if (limit <= z->applied)
        return;
    long i = hist_floor_idx(&z->hist, z->applied) + 1;
    for (; i < (long)z->hist.n; i++) {
        txn_t *t = hist_at(&z->hist, (size_t)i);
        if (t->zxid > limit)
            break;
        if (t->submitted)
            tl_push(&z->pend.apply, t);
        else if (z->pend.apply.n == 0 && !z->out_busy)
            z->applied_done = t->zxid;   /* the driver applies external txns itself */
        z->applied = t->zxid;
    }
}

/* Keeps cache_txns applied txns for DIFFs; never drops anything not yet applied. */
static void evict(zab_t *z)
{
    long napplied = hist_floor_idx(&z->hist, z->applied_done) + 1;
    while (napplied > 0) {
        txn_t *t = hist_at(&z->hist, 0);
        if (t->submitted && napplied <= z->cfg.cache_txns)
            break;
        hist_pop_front(&z->hist);
        napplied--;
    }
}

/* ---------------------------------------------------------------- election */

static vote_t my_vote(const zab_t *z)
{
    vote_t v = {z->cfg.my_id, z->appended, z->current_epoch};
    return v;
}

/* ZooKeeper's totalOrderPredicate: higher epoch, then zxid, then id. */
static bool vote_better(vote_t a, vote_t b)
{
    if (a.epoch != b.epoch)
        return a.epoch > b.epoch;
    if (a.zxid != b.zxid)
        return a.zxid > b.zxid;
    return a.leader > b.leader;
}

static bool vote_eq(vote_t a, vote_t b)
{
    return a.leader == b.leader && a.zxid == b.zxid && a.epoch == b.epoch;
}

static void send_vote(zab_t *z, int to)
{
    zab_msg_t *m = out_msg(z, ZAB_MSG_VOTE, to);
    m->round = z->round;
    m->state = (int32_t)z->role;
    if (z->role == ZAB_LOOKING) {
        m->leader = z->proposal.leader;
        m->zxid = z->proposal.zxid;
        m->epoch = z->proposal.epoch;
    } else {
        m->leader = z->leader;
        m->zxid = z->appended;
        m->epoch = z->epoch;
    }
}

static void send_votes(zab_t *z)
{
    for (int i = 0; i < z->npeers; i++)
        if (z->peers[i].voter)
            send_vote(z, z->peers[i].id);
    z->next_vote_ms = z->now + z->cfg.elect_ms;
}

static void become_leading(zab_t *z);
static void become_learner(zab_t *z, int leader);

static void decide(zab_t *z, int leader)
{
    trace(z, "elected %d (round %lld)", leader, (long long)z->round);
    if (leader == z->cfg.my_id)
        become_leading(z);
    else
        become_learner(z, leader);
    /* Announce the outcome to every peer not known to be down: one still looking
     * (an observer in particular, which only learns from such reports) can join at
     * once, and a learner whose FOLLOWERINFO reached the leader while it was still
     * looking sends it again at once instead of waiting for its retry. */
    for (int i = 0; i < z->npeers; i++)
        if (!z->peers[i].down)
            send_vote(z, z->peers[i].id);
}

static int tally_count(const zab_t *z)
{
    int n = 1;   /* this voter agrees with its own proposal */
    for (int i = 0; i < z->npeers; i++) {
        const peer_t *p = &z->peers[i];
        if (p->voter && p->has_vote && p->vote_round == z->round && vote_eq(p->vote, z->proposal))
            n++;
    }
    return n;
}

/* Voters that may still send a vote: this one and every voter whose link the driver
 * has not seen break (zab_peer_down) since it last heard from it. */
static int live_voters(const zab_t *z)
{
    int n = 1;
    for (int i = 0; i < z->npeers; i++)
        if (z->peers[i].voter && !z->peers[i].down)
            n++;
    return n;
}

/* A majority agrees on our proposal: decide at once when every voter has -- or every
 * voter that is not known to be down (a killed leader cannot send a better vote) --,
 * else after waiting elect_ms for a better vote (ZooKeeper's finalizeWait). Deciding
 * early is only ever a question of liveness: a leader that finds a voter ahead of
 * itself in discovery gives up. */
static void tally(zab_t *z)
{
    if (z->role != ZAB_LOOKING || z->observer)
        return;
    int n = tally_count(z);
    if (n < z->quorum) {
        z->decide_at = -1;
        return;
    }
    const peer_t *lp = peer_by_id(z, z->proposal.leader);
    if (n == z->cfg.nvoters || (n >= live_voters(z) && !(lp && lp->down)))
        decide(z, z->proposal.leader);
    else if (z->decide_at < 0)
        z->decide_at = z->now + z->cfg.elect_ms;
}

/* A majority of voters reports following/leading L, and L itself leads: join it. */
static void check_established_leader(zab_t *z)
{
    if (z->role != ZAB_LOOKING)
        return;
    for (int i = 0; i < z->npeers; i++) {
        peer_t *lp = &z->peers[i];
        if (!lp->voter || !lp->has_oo || lp->oo_state != ZAB_LEADING || lp->oo_leader != lp->id)
            continue;
        int n = 0;
        for (int j = 0; j < z->npeers; j++) {
            peer_t *p = &z->peers[j];
            if (p->voter && p->has_oo && p->oo_leader == lp->id)
                n++;
        }
        if (n >= z->quorum) {
            decide(z, lp->id);
            return;
        }
    }
}

static void send_followerinfo(zab_t *z);

static void on_vote(zab_t *z, peer_t *p, const zab_msg_t *m)
{
    if (z->role != ZAB_LOOKING) {
        if (m->state == ZAB_LOOKING)
            send_vote(z, p->id);   /* tell it whom we follow */
        else if (is_learner(z) && z->fphase == F_CONNECTING && p->id == z->leader && m->state == ZAB_LEADING &&
                 m->leader == z->leader)
            send_followerinfo(z);  /* it leads now: our FOLLOWERINFO may have come too early */
        return;
    }
    if (m->state == ZAB_LOOKING) {
        if (!p->voter) {
            if (!z->observer)
                send_vote(z, p->id);
            return;
        }
        if (z->observer)
            return;
        vote_t v = {m->leader, m->zxid, (uint32_t)m->epoch};
        if (!is_voter_id(z, v.leader))
            return;
        if (m->round > z->round) {
            z->round = m->round;
            for (int i = 0; i < z->npeers; i++)
                z->peers[i].has_vote = false;
            vote_t mine = my_vote(z);
            z->proposal = vote_better(v, mine) ? v : mine;
            z->decide_at = -1;
            send_votes(z);
        } else if (m->round < z->round) {
            send_vote(z, p->id);
            return;
        } else if (vote_better(v, z->proposal)) {
            z->proposal = v;
            z->decide_at = -1;
            send_votes(z);
        }
        p->has_vote = true;
        p->vote_round = z->round;
        p->vote = v;
        tally(z);
    } else if (m->state == ZAB_FOLLOWING || m->state == ZAB_LEADING) {
        if (!p->voter || !is_voter_id(z, m->leader))
            return;
        p->has_oo = true;
        p->oo_state = m->state;
        p->oo_leader = m->leader;
        check_established_leader(z);
    }
}

/* ---------------------------------------------------------------- leader */

static void sess_drop(zab_t *z, peer_t *p)
{
    if (p->s.phase != S_NONE)
        trace(z, "drop session of %d", p->id);
    chan_reset(&p->s.ch, 0);
    p->s.phase = S_NONE;
    p->s.acked = -1;
}

static void send_uptodate(zab_t *z, peer_t *p)
{
    zab_msg_t *m = chan_msg(z, &p->s.ch, ZAB_MSG_UPTODATE, p->id);
    m->zxid = z->committed;
    p->s.phase = S_BCAST;
}

static void send_leaderinfo(zab_t *z, peer_t *p)
{
    zab_msg_t *m = chan_msg(z, &p->s.ch, ZAB_MSG_LEADERINFO, p->id);
    m->epoch = z->epoch;
    p->s.phase = S_EPOCH_SENT;
}

static void send_proposal(zab_t *z, peer_t *p, int64_t zxid, const uint8_t *data, size_t len)
{
    zab_msg_t *m = chan_msg(z, &p->s.ch, ZAB_MSG_PROPOSAL, p->id);
    m->zxid = zxid;
    msg_set_data(m, data, len);
}

/* Reading the log for a sync: finds the last zxid <= q and copies the txns in
 * (q, upto]. */
typedef struct scan_s {
    int64_t q, upto;
    int64_t s;      /* last zxid <= q seen (starts at the log floor) */
    int64_t last;   /* last zxid seen */
    bool bad;
    tlist_t got;
} scan_t;

static int scan_cb(void *arg, int64_t zxid, const uint8_t *data, size_t len)
{
    scan_t *sc = arg;
    if (zxid <= sc->last) {
        sc->bad = true;
        return 1;
    }
    sc->last = zxid;
    if (zxid <= sc->q) {
        sc->s = zxid;
        return 0;
    }
    if (zxid > sc->upto)
        return 1;
    txn_t *t = txn_new(zxid, data, len);
    tl_push(&sc->got, t);
    txn_unref(t);
    return 0;
}

/* 0 if the log gave every txn in (log_floor, upto]. */
static int scan_log(zab_t *z, int64_t q, int64_t upto, scan_t *sc)
{
    memset(sc, 0, sizeof *sc);
    sc->q = q;
    sc->upto = upto;
    sc->s = z->log_floor;
    sc->last = z->log_floor;
    if (!z->cfg.storage.read_log || q < z->log_floor)
        return -1;
    if (z->cfg.storage.read_log(z->cfg.storage.ctx, z->log_floor, scan_cb, sc) || sc->bad || sc->last < upto) {
        tl_free(&sc->got);
        return -1;
    }
    return 0;
}

/* Brings a learner up to date: DIFF, TRUNC or SNAP, the txns it lacks, NEWLEADER.
 * Voters get the whole history (uncommitted proposals included), observers only what
 * is committed. From here on the session also receives the broadcast. */
static void do_sync(zab_t *z, peer_t *p)
{
    lsess_t *s = &p->s;
    int64_t target = p->voter ? z->appended : z->committed;
    int64_t q = min64(s->last_zxid, target);
    int64_t sp = -1;   /* sync point: the learner keeps its log up to here */
    scan_t sc;
    memset(&sc, 0, sizeof sc);
    bool snap = false;
    if (s->last_zxid == target) {
        sp = target;
    } else if (q >= z->hist.base) {
        long i = hist_floor_idx(&z->hist, q);
        sp = i >= 0 ? hist_at(&z->hist, (size_t)i)->zxid : z->hist.base;
    } else if (scan_log(z, q, z->hist.base, &sc) == 0) {
        sp = sc.s;
    } else {
        snap = true;
    }
    if (!snap && sp < s->floor) {
        /* Its snapshot holds txns past the sync point (replayed tentatively at its
         * start-up): it cannot roll back, so it gets a whole snapshot instead. */
        snap = true;
        tl_free(&sc.got);
    }

    if (snap) {
        buf_t b = BUF_INIT;
        int64_t sz = -1;
        if (!z->cfg.storage.snapshot || z->cfg.storage.snapshot(z->cfg.storage.ctx, &b, &sz) || sz < 0 ||
            sz > target || (sz < z->hist.base && scan_log(z, sz, z->hist.base, &sc))) {
            trace(z, "cannot sync %d: no snapshot / log to send", p->id);
            buf_free(&b);
            sess_drop(z, p);
            return;
        }
        if (sz < (sp >= 0 ? sp : q)) {
            /* The snapshot must cover every txn the learner holds that may be committed
             * (those up to the sync point), or installing it would lose them until the
             * txns after it are durable. Our applied state will catch up: retry. */
            trace(z, "sync %d: snapshot 0x%llx too old; retry", p->id, (unsigned long long)sz);
            buf_free(&b);
            tl_free(&sc.got);
            return;
        }
        zab_msg_t *m = chan_msg(z, &s->ch, ZAB_MSG_SNAP, p->id);
        m->zxid = sz;
        m->data.len = (int32_t)b.len;
        m->data.data = buf_steal(&b, &(size_t){0});
        if (!m->data.data)
            m->data = jute_buf_dup("", 0);
        sp = sz;
        trace(z, "sync %d: SNAP 0x%llx", p->id, (unsigned long long)sz);
    } else if (sp == s->last_zxid) {
        zab_msg_t *m = chan_msg(z, &s->ch, ZAB_MSG_DIFF, p->id);
        m->zxid = sp;
        trace(z, "sync %d: DIFF from 0x%llx", p->id, (unsigned long long)sp);
    } else {
        zab_msg_t *m = chan_msg(z, &s->ch, ZAB_MSG_TRUNC, p->id);
        m->zxid = sp;
        trace(z, "sync %d: TRUNC to 0x%llx (it had 0x%llx)", p->id, (unsigned long long)sp,
              (unsigned long long)s->last_zxid);
    }
    int64_t sent = sp;
    for (size_t i = 0; i < sc.got.n; i++) {
        txn_t *t = sc.got.v[i];
        if (t->zxid > sent && t->zxid <= target) {
            send_proposal(z, p, t->zxid, t->data, t->len);
            sent = t->zxid;
        }
    }
    tl_free(&sc.got);
    for (long i = hist_floor_idx(&z->hist, sent) + 1; i < (long)z->hist.n; i++) {
        txn_t *t = hist_at(&z->hist, (size_t)i);
        if (t->zxid > target)
            break;
        send_proposal(z, p, t->zxid, t->data, t->len);
    }
    zab_msg_t *m = chan_msg(z, &s->ch, ZAB_MSG_NEWLEADER, p->id);
    m->epoch = z->epoch;
    m->zxid = target;
    s->phase = S_SYNCING;
    s->target = target;
    s->informed = target;
    s->heard_tick = z->tick;
}

static void on_commit(zab_t *z, int64_t old)
{
    for (int i = 0; i < z->npeers; i++) {
        peer_t *p = &z->peers[i];
        if (p->s.phase < S_SYNCING)
            continue;
        if (p->voter) {
            zab_msg_t *m = chan_msg(z, &p->s.ch, ZAB_MSG_COMMIT, p->id);
            m->zxid = z->committed;
            continue;
        }
        int64_t from = max64(old, p->s.informed);
        for (long j = hist_floor_idx(&z->hist, from) + 1; j < (long)z->hist.n; j++) {
            txn_t *t = hist_at(&z->hist, (size_t)j);
            if (t->zxid > z->committed)
                break;
            zab_msg_t *m = chan_msg(z, &p->s.ch, ZAB_MSG_INFORM, p->id);
            m->zxid = t->zxid;
            msg_set_data(m, t->data, t->len);
        }
        p->s.informed = max64(p->s.informed, z->committed);
    }
}

/* Commit point = the highest zxid durable on a majority of voters (our log counts). */
static void advance_commit(zab_t *z)
{
    if (z->role != ZAB_LEADING || z->lphase != L_BCAST)
        return;
    int64_t vals[ZAB_MAX_VOTERS];
    int n = 0;
    vals[n++] = z->logged;
    for (int i = 0; i < z->npeers; i++) {
        peer_t *p = &z->peers[i];
        if (p->voter && p->s.phase >= S_SYNCED)
            vals[n++] = p->s.acked;
    }
    if (n < z->quorum)
        return;
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && vals[j - 1] < vals[j]; j--) {
            int64_t t = vals[j];
            vals[j] = vals[j - 1];
            vals[j - 1] = t;
        }
    int64_t c = min64(vals[z->quorum - 1], z->appended);
    if (c > z->committed) {
        int64_t old = z->committed;
        z->committed = c;
        on_commit(z, old);
    }
    apply_committed(z);
}

/* A majority of voters (us included, once our log holds the whole initial history)
 * has acknowledged NEWLEADER: the history is committed and we serve. */
static void check_established(zab_t *z)
{
    if (z->role != ZAB_LEADING || z->lphase != L_SYNC)
        return;
    int n = z->logged >= z->h0 ? 1 : 0;
    for (int i = 0; i < z->npeers; i++)
        if (z->peers[i].voter && z->peers[i].s.phase >= S_SYNCED)
            n++;
    if (n < z->quorum)
        return;
    z->lphase = L_BCAST;
    z->pend.role_changed = true;
    z->committed = max64(z->committed, z->h0);
    trace(z, "established, history up to 0x%llx committed", (unsigned long long)z->h0);
    for (int i = 0; i < z->npeers; i++) {
        peer_t *p = &z->peers[i];
        if (p->s.phase == S_SYNCED)
            send_uptodate(z, p);
        else if (!p->voter && p->s.phase == S_EPOCH_ACKED)
            do_sync(z, p);
    }
    advance_commit(z);
    apply_committed(z);
}

static void check_epoch_acks(zab_t *z)
{
    if (z->role != ZAB_LEADING || z->lphase != L_EPOCH)
        return;
    int n = 1;
    for (int i = 0; i < z->npeers; i++)
        if (z->peers[i].voter && z->peers[i].s.phase >= S_EPOCH_ACKED && z->peers[i].s.counted)
            n++;
    if (n < z->quorum)
        return;
    z->current_epoch = z->epoch;
    set_epochs_changed(z);
    z->h0 = z->appended;
    z->last_proposed = ZXID_MAKE(z->epoch, 0);
    z->lphase = L_SYNC;
    for (int i = 0; i < z->npeers; i++) {
        peer_t *p = &z->peers[i];
        if (p->voter && p->s.phase == S_EPOCH_ACKED)
            do_sync(z, p);
    }
    check_established(z);
}

/* A majority has told us its accepted epoch: ours is one above all of them. */
static void check_discovery(zab_t *z)
{
    if (z->role != ZAB_LEADING || z->lphase != L_DISCOVERY)
        return;
    int n = 1;
    for (int i = 0; i < z->npeers; i++)
        if (z->peers[i].voter && z->peers[i].s.phase >= S_INFO)
            n++;
    if (n < z->quorum)
        return;
    uint32_t e = z->accepted_epoch;
    if (ZXID_EPOCH(z->appended) > e)
        e = ZXID_EPOCH(z->appended);
    if (z->current_epoch > e)
        e = z->current_epoch;
    for (int i = 0; i < z->npeers; i++)
        if (z->peers[i].s.phase >= S_INFO && z->peers[i].s.accepted > e)
            e = z->peers[i].s.accepted;
    if (e == UINT32_MAX) {
        become_looking(z);
        return;
    }
    z->epoch = e + 1;
    z->accepted_epoch = z->epoch;
    z->promised_to = z->cfg.my_id;
    set_epochs_changed(z);
    z->lphase = L_EPOCH;
    trace(z, "new epoch %u", z->epoch);
    for (int i = 0; i < z->npeers; i++)
        if (z->peers[i].s.phase == S_INFO)
            send_leaderinfo(z, &z->peers[i]);
    check_epoch_acks(z);
}

static void become_leading(zab_t *z)
{
    z->role = ZAB_LEADING;
    z->gen++;
    z->leader = z->cfg.my_id;
    z->epoch = 0;
    z->lphase = L_DISCOVERY;
    z->lead_tick = z->tick;
    z->unsubmitted = false;
    z->pend.role_changed = true;
    for (int i = 0; i < z->npeers; i++)
        sess_drop(z, &z->peers[i]);
    check_discovery(z);
}

static void leader_sess_msg(zab_t *z, void *ctx, const zab_msg_t *m)
{
    peer_t *p = ctx;
    lsess_t *s = &p->s;
    s->heard_tick = z->tick;
    switch (m->type) {
    case ZAB_MSG_ACKEPOCH:
        if (s->phase != S_EPOCH_SENT)
            return;
        s->cur_epoch = (uint32_t)m->epoch;
        s->last_zxid = m->zxid;
        s->floor = m->round;
        s->counted = !(m->flags & ZAB_MF_REPEAT);
        s->phase = S_EPOCH_ACKED;
        if (z->lphase == L_EPOCH) {
            if (!s->counted)
                return;   /* synced once the epoch is established by others */
            /* ZooKeeper: "Follower is ahead of the leader" — someone else must lead. */
            if (s->cur_epoch > z->current_epoch ||
                (s->cur_epoch == z->current_epoch && s->last_zxid > z->appended)) {
                trace(z, "%d is ahead (epoch %u, 0x%llx); giving up", p->id, s->cur_epoch,
                      (unsigned long long)s->last_zxid);
                become_looking(z);
                return;
            }
            check_epoch_acks(z);
        } else if (z->lphase == L_BCAST || (z->lphase == L_SYNC && p->voter)) {
            do_sync(z, p);
        }
        return;
    case ZAB_MSG_ACK:
        if (s->phase == S_SYNCING) {
            if (!(m->flags & ZAB_MF_NEWLEADER) || m->zxid < s->target)
                return;
            s->phase = S_SYNCED;
            s->acked = p->voter ? min64(m->zxid, z->appended) : -1;
            if (z->lphase == L_BCAST) {
                send_uptodate(z, p);
                advance_commit(z);
            } else {
                check_established(z);
            }
        } else if (s->phase >= S_SYNCED && p->voter) {
            s->acked = max64(s->acked, min64(m->zxid, z->appended));
            advance_commit(z);
        }
        return;
    case ZAB_MSG_REQUEST:
        if (s->phase == S_BCAST && z->lphase == L_BCAST && m->data.len >= 0) {
            batch_t *b = &z->pend;
            if (b->nreqs == b->capreqs) {
                b->capreqs = b->capreqs ? b->capreqs * 2 : 16;
                b->reqs = xrealloc(b->reqs, b->capreqs * sizeof *b->reqs);
            }
            b->reqs[b->nreqs].from = p->id;
            b->reqs[b->nreqs].data = xmemdup(m->data.data ? (const void *)m->data.data : "", (size_t)m->data.len);
            b->reqs[b->nreqs].len = (size_t)m->data.len;
            b->nreqs++;
        }
        return;
    default:
        return;   /* PING: liveness only */
    }
}

static void leader_on_msg(zab_t *z, peer_t *p, const zab_msg_t *m)
{
    lsess_t *s = &p->s;
    if (m->type == ZAB_MSG_FOLLOWERINFO) {
        if (m->seq != 0 || m->nonce == 0 || (s->phase != S_NONE && s->ch.nonce == (uint64_t)m->nonce))
            return;
        if (((m->flags & ZAB_MF_OBSERVER) != 0) == p->voter)
            return;   /* it disagrees with our configuration about its role */
        sess_drop(z, p);
        chan_reset(&s->ch, (uint64_t)m->nonce);
        s->ch.in_seq = 1;
        s->phase = S_INFO;
        s->accepted = (uint32_t)m->epoch;
        s->last_zxid = m->zxid;
        s->heard_tick = z->tick;
        trace(z, "%d connects (accepted epoch %u, last 0x%llx)", p->id, s->accepted,
              (unsigned long long)s->last_zxid);
        if (z->lphase == L_DISCOVERY)
            check_discovery(z);
        else
            send_leaderinfo(z, p);
        return;
    }
    if (s->phase == S_NONE || (uint64_t)m->nonce != s->ch.nonce)
        return;
    if (chan_recv(z, &s->ch, m, leader_sess_msg, p) < 0) {
        trace(z, "too many messages out of order from %d", p->id);
        sess_drop(z, p);
    }
}

static void leader_tick(zab_t *z)
{
    if (z->lphase != L_BCAST && z->tick - z->lead_tick > z->cfg.init_limit) {
        trace(z, "not established within initLimit");
        become_looking(z);
        return;
    }
    int synced = 1;
    for (int i = 0; i < z->npeers; i++) {
        peer_t *p = &z->peers[i];
        lsess_t *s = &p->s;
        if (s->phase == S_NONE)
            continue;
        int limit = s->phase >= S_SYNCED ? z->cfg.sync_limit : z->cfg.init_limit;
        if (z->tick - s->heard_tick > limit ||
            (s->ch.gap_tick >= 0 && z->tick - s->ch.gap_tick >= GAP_TICKS)) {
            sess_drop(z, p);
            continue;
        }
        if (s->phase == S_EPOCH_ACKED && (z->lphase == L_BCAST || (z->lphase == L_SYNC && p->voter)))
            do_sync(z, p);   /* a sync that had to wait */
        if (s->phase >= S_EPOCH_SENT) {
            zab_msg_t *m = chan_msg(z, &s->ch, ZAB_MSG_PING, p->id);
            m->zxid = z->committed;
        }
        if (p->voter && s->phase >= S_SYNCED)
            synced++;
    }
    if (z->lphase == L_BCAST && synced < z->quorum) {
        trace(z, "lost the quorum (%d synced)", synced);
        become_looking(z);
    }
}

/* ---------------------------------------------------------------- learner */

static void send_followerinfo(zab_t *z)
{
    chan_reset(&z->fch, next_nonce(z));
    zab_msg_t *m = chan_msg(z, &z->fch, ZAB_MSG_FOLLOWERINFO, z->leader);
    m->epoch = z->accepted_epoch;
    m->zxid = z->appended;
    m->flags = z->observer ? ZAB_MF_OBSERVER : 0;
    z->followerinfo_tick = z->tick;
    z->fi_next_ms = z->now + z->fi_wait_ms;
    if (z->fi_wait_ms < z->cfg.tick_ms)
        z->fi_wait_ms *= 2;
}

static void become_learner(zab_t *z, int leader)
{
    z->role = z->observer ? ZAB_OBSERVING : ZAB_FOLLOWING;
    z->gen++;
    z->leader = leader;
    z->epoch = 0;
    z->fphase = F_CONNECTING;
    z->follow_tick = z->tick;
    z->last_leader_tick = z->tick;
    z->leader_commit = 0;
    z->newleader_acked = false;
    z->newleader_zxid = 0;
    z->last_acked = 0;
    z->pend.role_changed = true;
    z->fi_wait_ms = z->cfg.elect_ms;
    send_followerinfo(z);
}

static void learner_append(zab_t *z, int64_t zxid, const uint8_t *data, size_t len)
{
    txn_t *t = txn_new(zxid, data ? (const void *)data : "", len);
    tl_push(&z->pend.append, t);
    hist_push(&z->hist, t);
    z->appended = zxid;
}

/* Followers acknowledge what they logged: first NEWLEADER, then proposals. */
static void learner_maybe_ack(zab_t *z)
{
    if (!is_learner(z) || z->fphase < F_NEWLEADER)
        return;
    if (!z->newleader_acked) {
        if (z->logged < z->newleader_zxid)
            return;
        zab_msg_t *m = chan_msg(z, &z->fch, ZAB_MSG_ACK, z->leader);
        m->zxid = z->logged;
        m->flags = ZAB_MF_NEWLEADER;
        z->newleader_acked = true;
        z->last_acked = z->logged;
    } else if (!z->observer && z->logged > z->last_acked) {
        zab_msg_t *m = chan_msg(z, &z->fch, ZAB_MSG_ACK, z->leader);
        m->zxid = z->logged;
        z->last_acked = z->logged;
    }
}

static void learner_commit(zab_t *z)
{
    if (!is_learner(z) || z->fphase != F_SERVING)
        return;
    int64_t c = min64(z->leader_commit, z->appended);
    if (c > z->committed)
        z->committed = c;
    apply_committed(z);
}

/* TRUNC: drop our txns after zxid. Refused (-1) below our snapshot, whose state cannot
 * be rolled back; a leader sends SNAP then (ACKEPOCH told it our floor). */
static int do_truncate(zab_t *z, int64_t zxid)
{
    if (zxid < z->log_floor) {
        trace(z, "cannot truncate to 0x%llx below the snapshot 0x%llx", (unsigned long long)zxid,
              (unsigned long long)z->log_floor);
        return -1;
    }
    hist_truncate(&z->hist, zxid);
    if (z->pend.truncate_to < 0 || zxid < z->pend.truncate_to)
        z->pend.truncate_to = zxid;
    tl_cut_above(&z->pend.append, zxid);
    tl_cut_above(&z->pend.apply, zxid);
    z->appended = min64(z->appended, zxid);
    z->logged = min64(z->logged, zxid);
    z->applied = min64(z->applied, zxid);
    z->applied_done = min64(z->applied_done, zxid);
    z->committed = min64(z->committed, zxid);
    return 0;
}

static void do_install(zab_t *z, int64_t zxid, const jute_buf_t *data)
{
    batch_t *b = &z->pend;
    hist_clear(&z->hist, zxid);
    b->truncate_to = -1;
    tl_cut_above(&b->append, INT64_MIN);
    tl_cut_above(&b->apply, INT64_MIN);
    free(b->snap);
    b->has_snap = true;
    b->snap_zxid = zxid;
    b->snap_len = data->len > 0 ? (size_t)data->len : 0;
    b->snap = xmemdup(data->data ? (const void *)data->data : "", b->snap_len);
    /* Not necessarily committed: a leader that is not yet established sends its whole
     * history. What is committed is learnt from UPTODATE and COMMIT. */
    z->appended = z->logged = z->applied = z->applied_done = zxid;
    z->committed = min64(z->committed, zxid);
    z->log_floor = zxid;
}

static void learner_msg(zab_t *z, void *ctx, const zab_msg_t *m)
{
    (void)ctx;
    z->last_leader_tick = z->tick;
    bool ok = true;
    switch (m->type) {
    case ZAB_MSG_LEADERINFO: {
        /* A new epoch is promised once, durably. An epoch already accepted (we promised it
         * before a restart, or to another leader) is acknowledged as a repeat, which the
         * leader does not count: two leaders can never both establish one epoch. */
        uint32_t e = (uint32_t)m->epoch;
        bool repeat = false;
        if (z->fphase != F_CONNECTING) {
            ok = false;
        } else if (e > z->accepted_epoch) {
            z->accepted_epoch = e;
            z->promised_to = z->leader;
            set_epochs_changed(z);
        } else if (e == z->accepted_epoch) {
            repeat = z->promised_to != z->leader;
        } else {
            trace(z, "refuse epoch %u (accepted %u)", e, z->accepted_epoch);
            ok = false;
        }
        if (!ok)
            break;
        z->epoch = e;
        zab_msg_t *r = chan_msg(z, &z->fch, ZAB_MSG_ACKEPOCH, z->leader);
        r->epoch = z->current_epoch;
        r->zxid = z->appended;
        r->round = z->log_floor;
        r->flags = repeat ? ZAB_MF_REPEAT : 0;
        z->fphase = F_EPOCH_ACKED;
        break;
    }
    case ZAB_MSG_DIFF:
        ok = z->fphase == F_EPOCH_ACKED && m->zxid == z->appended;
        if (ok)
            z->fphase = F_SYNC;
        break;
    case ZAB_MSG_TRUNC:
        ok = z->fphase == F_EPOCH_ACKED && m->zxid <= z->appended && m->zxid >= 0 &&
             do_truncate(z, m->zxid) == 0;
        if (ok)
            z->fphase = F_SYNC;
        break;
    case ZAB_MSG_SNAP:
        ok = z->fphase == F_EPOCH_ACKED && m->zxid >= 0;
        if (ok) {
            do_install(z, m->zxid, &m->data);
            z->fphase = F_SYNC;
        }
        break;
    case ZAB_MSG_PROPOSAL:
        ok = (z->fphase == F_SYNC || (z->fphase >= F_NEWLEADER && !z->observer &&
                                      ZXID_EPOCH(m->zxid) == z->epoch)) &&
             m->zxid > z->appended && m->data.len >= 0;
        if (ok)
            learner_append(z, m->zxid, m->data.data, (size_t)m->data.len);
        break;
    case ZAB_MSG_INFORM:
        ok = z->observer && z->fphase >= F_NEWLEADER && m->zxid > z->appended && m->data.len >= 0;
        if (ok) {
            learner_append(z, m->zxid, m->data.data, (size_t)m->data.len);
            z->leader_commit = max64(z->leader_commit, m->zxid);
            learner_commit(z);
        }
        break;
    case ZAB_MSG_NEWLEADER:
        ok = z->fphase == F_SYNC && (uint32_t)m->epoch == z->epoch && m->zxid == z->appended;
        if (ok) {
            z->current_epoch = z->epoch;
            set_epochs_changed(z);
            z->fphase = F_NEWLEADER;
            z->newleader_zxid = m->zxid;
            learner_maybe_ack(z);
        }
        break;
    case ZAB_MSG_UPTODATE:
        ok = z->fphase == F_NEWLEADER && z->newleader_acked;
        if (ok) {
            z->fphase = F_SERVING;
            z->pend.role_changed = true;
            z->leader_commit = max64(z->leader_commit, m->zxid);
            trace(z, "up to date with %d, committed 0x%llx", z->leader, (unsigned long long)m->zxid);
            learner_commit(z);
        }
        break;
    case ZAB_MSG_COMMIT:
        if (!z->observer && z->fphase >= F_NEWLEADER) {
            z->leader_commit = max64(z->leader_commit, m->zxid);
            learner_commit(z);
        }
        break;
    case ZAB_MSG_PING: {
        zab_msg_t *r = chan_msg(z, &z->fch, ZAB_MSG_PING, z->leader);
        r->zxid = z->committed;
        break;
    }
    default:
        break;
    }
    if (!ok) {
        trace(z, "unexpected %s from %d (phase %d); looking", zab_msg_type_name(m->type), m->from, z->fphase);
        become_looking(z);
    }
}

static void learner_on_msg(zab_t *z, const zab_msg_t *m)
{
    if (m->from != z->leader || (uint64_t)m->nonce != z->fch.nonce)
        return;
    if (chan_recv(z, &z->fch, m, learner_msg, NULL) < 0) {
        trace(z, "too many messages out of order from %d", z->leader);
        become_looking(z);
    }
}

static void learner_tick(zab_t *z)
{
    int64_t since_start = z->tick - z->follow_tick;
    if (z->fphase != F_SERVING && since_start > z->cfg.init_limit) {
        trace(z, "not synced with %d within initLimit", z->leader);
        become_looking(z);
        return;
    }
    if (z->fphase == F_SERVING && z->tick - z->last_leader_tick > z->cfg.sync_limit) {
        trace(z, "leader %d silent for syncLimit", z->leader);
        become_looking(z);
        return;
    }
    if (z->fch.gap_tick >= 0 && z->tick - z->fch.gap_tick >= GAP_TICKS) {
        trace(z, "messages from %d lost", z->leader);
        become_looking(z);
        return;
    }
    if (z->fphase == F_CONNECTING && z->tick > z->followerinfo_tick)
        send_followerinfo(z);   /* a fresh session: the last one may have been lost */
}

/* ---------------------------------------------------------------- role changes */

static void become_looking(zab_t *z)
{
    if (z->role == ZAB_LEADING) {
        /* zxids reserved but never submitted are forgotten; proposals stay in the log */
        if (z->unsubmitted)
            hist_truncate(&z->hist, z->appended);
        z->unsubmitted = false;
        for (int i = 0; i < z->npeers; i++)
            sess_drop(z, &z->peers[i]);
    } else if (is_learner(z)) {
        chan_reset(&z->fch, 0);
    }
    if (z->role != ZAB_LOOKING || !z->started)
        trace(z, "-> LOOKING");
    z->started = true;
    z->role = ZAB_LOOKING;
    z->gen++;
    z->leader = -1;
    z->epoch = 0;
    z->pend.role_changed = true;
    if (z->round < INT64_MAX)
        z->round++;
    z->proposal = z->observer ? (vote_t){-1, 0, 0} : my_vote(z);
    z->decide_at = -1;
    for (int i = 0; i < z->npeers; i++) {
        z->peers[i].has_vote = false;
        z->peers[i].has_oo = false;
    }
    send_votes(z);
    tally(z);
}

static void on_tick(zab_t *z)
{
    switch (z->role) {
    case ZAB_LEADING: leader_tick(z); break;
    case ZAB_FOLLOWING:
    case ZAB_OBSERVING: learner_tick(z); break;
    default: break;
    }
}

/* ---------------------------------------------------------------- public: lifecycle */

zab_t *zab_open(const zab_config_t *cfg, const zab_state_t *st)
{
    if (cfg->nvoters < 1 || cfg->nvoters > ZAB_MAX_VOTERS || cfg->nobservers < 0 ||
        cfg->nobservers > ZAB_MAX_OBSERVERS)
        return NULL;
    int all[ZAB_MAX_VOTERS + ZAB_MAX_OBSERVERS];
    int nall = 0;
    for (int i = 0; i < cfg->nvoters; i++)
        all[nall++] = cfg->voters[i];
    for (int i = 0; i < cfg->nobservers; i++)
        all[nall++] = cfg->observers[i];
    bool member = false;
    for (int i = 0; i < nall; i++) {
        if (all[i] == cfg->my_id)
            member = true;
        for (int j = 0; j < i; j++)
            if (all[i] == all[j])
                return NULL;
    }
    if (!member)
        return NULL;

    zab_t *z = xcalloc(1, sizeof *z);
    z->cfg = *cfg;
    if (z->cfg.tick_ms <= 0)
        z->cfg.tick_ms = 2000;
    if (z->cfg.init_limit <= 0)
        z->cfg.init_limit = 10;
    if (z->cfg.sync_limit <= 0)
        z->cfg.sync_limit = 5;
    if (z->cfg.elect_ms <= 0)
        z->cfg.elect_ms = 200;
    if (z->cfg.cache_txns <= 0)
        z->cfg.cache_txns = 500;
    z->observer = !is_voter_id(z, cfg->my_id);
    z->solo = cfg->nvoters == 1 && cfg->nobservers == 0;
    z->quorum = cfg->nvoters / 2 + 1;
    z->peers = xcalloc((size_t)nall, sizeof *z->peers);
    for (int i = 0; i < nall; i++) {
        if (all[i] == cfg->my_id)
            continue;
        peer_t *p = &z->peers[z->npeers++];
        p->id = all[i];
        p->voter = i < cfg->nvoters;
        p->s.acked = -1;
        p->s.ch.gap_tick = -1;
    }
    z->fch.gap_tick = -1;
    z->role = ZAB_LOOKING;
    z->leader = -1;
    z->next_tick_ms = INT64_MIN;
    z->decide_at = -1;
    z->promised_to = -1;
    z->accepted_epoch = st->accepted_epoch;
    z->current_epoch = st->current_epoch;
    int64_t last = st->last_logged > 0 ? st->last_logged : 0;
    z->log_floor = st->log_floor < last ? (st->log_floor > 0 ? st->log_floor : 0) : last;
    z->hist.base = last;
    z->appended = z->logged = z->applied = z->applied_done = last;
    /* The driver replayed its whole log. Alone, all of it is committed; in an
     * ensemble, what is committed is learnt from the leader. */
    z->committed = z->observer || cfg->nvoters > 1 ? 0 : last;
    z->last_proposed = last;
    batch_init(&z->pend);
    batch_init(&z->out);
    z->rep_role = ZAB_LOOKING;
    z->rep_leader = -1;
    return z;
}

zab_t *zab_new(const zab_config_t *cfg, int64_t last_logged, uint32_t accepted_epoch)
{
    uint32_t cur = ZXID_EPOCH(last_logged);
    zab_state_t st = {last_logged, accepted_epoch > cur ? accepted_epoch : cur, cur, last_logged};
    return zab_open(cfg, &st);
}

void zab_free(zab_t *z)
{
    if (!z)
        return;
    hist_clear(&z->hist, 0);
    free(z->hist.v);
    batch_free(&z->pend);
    batch_free(&z->out);
    for (int i = 0; i < z->npeers; i++)
        chan_free(&z->peers[i].s.ch);
    chan_free(&z->fch);
    free(z->peers);
    free(z);
}

/* ---------------------------------------------------------------- public: inputs */

static void start(zab_t *z)
{
    if (!z->started)
        become_looking(z);
}

int zab_step(zab_t *z, const zab_msg_t *m)
{
    if (!m || m->to != z->cfg.my_id || m->type < ZAB_MSG_VOTE || m->type > ZAB_MSG_TYPE_MAX)
        return -1;
    peer_t *p = peer_by_id(z, m->from);
    if (!p)
        return -1;
    p->down = false;
    start(z);
    switch (m->type) {
    case ZAB_MSG_VOTE:
        on_vote(z, p, m);
        break;
    case ZAB_MSG_FOLLOWERINFO:
    case ZAB_MSG_ACKEPOCH:
    case ZAB_MSG_ACK:
    case ZAB_MSG_REQUEST:
        if (z->role == ZAB_LEADING)
            leader_on_msg(z, p, m);
        break;
    case ZAB_MSG_PING:
        if (z->role == ZAB_LEADING)
            leader_on_msg(z, p, m);
        else if (is_learner(z))
            learner_on_msg(z, m);
        break;
    default:
        if (is_learner(z))
            learner_on_msg(z, m);
        break;
    }
    return 0;
}

void zab_tick(zab_t *z, int64_t now_ms)
{
    if (now_ms > z->now || !z->started)
        z->now = now_ms;
    if (z->next_tick_ms == INT64_MIN)
        z->next_tick_ms = z->now + z->cfg.tick_ms;
    if (!z->started) {
        become_looking(z);
        z->next_vote_ms = z->now + z->cfg.elect_ms;
    }
    while (z->now >= z->next_tick_ms) {
        z->tick++;
        z->next_tick_ms += z->cfg.tick_ms;
        if (z->now - z->next_tick_ms > 10LL * z->cfg.tick_ms)
            z->next_tick_ms = z->now + z->cfg.tick_ms;
        on_tick(z);
    }
    if (is_learner(z) && z->fphase == F_CONNECTING && z->now >= z->fi_next_ms)
        send_followerinfo(z);   /* no answer yet: a fresh session (the last one may be lost) */
    if (z->role == ZAB_LOOKING) {
        if (z->decide_at >= 0 && z->now >= z->decide_at) {
            z->decide_at = -1;
            if (tally_count(z) >= z->quorum) {
                decide(z, z->proposal.leader);
                return;
            }
        }
        if (z->now >= z->next_vote_ms)
            send_votes(z);
    }
}

void zab_persisted(zab_t *z, int64_t zxid)
{
    int64_t v = min64(zxid, z->appended);
    if (v <= z->logged)
        return;
    z->logged = v;
    if (z->role == ZAB_LEADING) {
        check_established(z);
        advance_commit(z);
    } else if (is_learner(z)) {
        learner_maybe_ack(z);
        learner_commit(z);
    }
    apply_committed(z);
}

void zab_peer_down(zab_t *z, int id)
{
    peer_t *p = peer_by_id(z, id);
    if (!p)
        return;
    p->down = true;
    if (is_learner(z) && z->leader == id) {
        trace(z, "link to leader %d down", id);
        become_looking(z);
    } else if (z->role == ZAB_LOOKING && z->started) {
        tally(z);   /* one vote fewer to wait for */
    }
}

void zab_log_floor(zab_t *z, int64_t zxid)
{
    if (zxid > z->log_floor)
        z->log_floor = min64(zxid, z->logged);
}

int64_t zab_propose(zab_t *z)
{
    if (z->role != ZAB_LEADING || z->lphase != L_BCAST || ZXID_COUNTER(z->last_proposed) == 0xffffffffu ||
        (!z->solo && z->unsubmitted))
        return -1;
    int64_t zxid = ++z->last_proposed;
    txn_t *t = txn_new(zxid, NULL, 0);
    t->external = z->solo;
    hist_push(&z->hist, t);
    if (z->solo)
        z->appended = zxid;   /* the standalone driver may log it itself */
    else
        z->unsubmitted = true;
    return zxid;
}

int zab_submit(zab_t *z, int64_t zxid, const void *txn, size_t len)
{
    if (z->role != ZAB_LEADING || z->lphase != L_BCAST || zxid != z->last_proposed || !z->hist.n)
        return -1;
    txn_t *old = hist_at(&z->hist, z->hist.n - 1);
    if (old->zxid != zxid || old->submitted)
        return -1;
    txn_t *t = txn_new(zxid, txn ? txn : "", len);
    z->hist.v[(z->hist.head + z->hist.n - 1) % z->hist.cap] = t;
    txn_unref(old);
    tl_push(&z->pend.append, t);
    z->appended = zxid;
    z->unsubmitted = false;
    for (int i = 0; i < z->npeers; i++) {
        peer_t *p = &z->peers[i];
        if (p->voter && p->s.phase >= S_SYNCING)
            send_proposal(z, p, zxid, t->data, t->len);
    }
    return 0;
}

int zab_forward(zab_t *z, const void *req, size_t len)
{
    if (!is_learner(z) || z->fphase != F_SERVING || len > INT32_MAX)
        return -1;
    zab_msg_t *m = chan_msg(z, &z->fch, ZAB_MSG_REQUEST, z->leader);
    msg_set_data(m, req ? req : "", len);
    return 0;
}

/* ---------------------------------------------------------------- public: standalone */

uint32_t zab_lead_alone(zab_t *z)
{
    if (z->cfg.nvoters != 1 || z->cfg.voters[0] != z->cfg.my_id)
        return 0;
    if (z->role != ZAB_LEADING)
        become_looking(z);   /* a quorum of one: elects itself and establishes at once */
    return z->role == ZAB_LEADING && z->lphase == L_BCAST ? z->epoch : 0;
}

void zab_abandon_unlogged(zab_t *z)
{
    if (z->role != ZAB_LEADING || z->lphase != L_BCAST)
        return;
    int64_t keep = max64(z->logged, ZXID_MAKE(z->epoch, 0));
    bool sent = false;
    for (long i = hist_floor_idx(&z->hist, keep) + 1; i < (long)z->hist.n; i++)
        if (hist_at(&z->hist, (size_t)i)->submitted && !z->solo)
            sent = true;
    if (sent) {
        /* Followers may hold these txns: their zxids must never name other txns. */
        trace(z, "log write failed after proposing; stepping down");
        become_looking(z);
        return;
    }
    hist_truncate(&z->hist, keep);
    tl_cut_above(&z->pend.append, keep);
    z->appended = min64(z->appended, keep);
    z->last_proposed = keep;
    z->unsubmitted = false;
}

void zab_ack(zab_t *z, int voter_id, int64_t zxid)
{
    if (voter_id == z->cfg.my_id) {
        zab_persisted(z, zxid);
        return;
    }
    peer_t *p = peer_by_id(z, voter_id);
    if (z->role != ZAB_LEADING || !p || !p->voter || p->s.phase < S_SYNCED)
        return;
    p->s.acked = max64(p->s.acked, min64(zxid, z->appended));
    advance_commit(z);
}

/* ---------------------------------------------------------------- public: output */

bool zab_ready(zab_t *z, zab_ready_t *rd)
{
    memset(rd, 0, sizeof *rd);
    if (z->out_busy)
        return false;
    batch_t *b = &z->pend;
    bool srv = serving(z);
    bool changed = b->role_changed || z->role != z->rep_role || srv != z->rep_serving || z->leader != z->rep_leader;
    if (!b->epochs_changed && b->truncate_to < 0 && !b->has_snap && !b->append.n && !b->nmsgs && !b->apply.n &&
        !b->nreqs && !changed)
        return false;
    z->out = *b;
    batch_init(b);
    batch_t *o = &z->out;
    o->role_changed = changed;
    z->rep_role = z->role;
    z->rep_serving = srv;
    z->rep_leader = z->leader;
    if (o->append.n) {
        o->append_view = xmalloc(o->append.n * sizeof *o->append_view);
        for (size_t i = 0; i < o->append.n; i++)
            o->append_view[i] = (zab_txn_t){o->append.v[i]->zxid, o->append.v[i]->data, o->append.v[i]->len};
    }
    if (o->apply.n) {
        o->apply_view = xmalloc(o->apply.n * sizeof *o->apply_view);
        for (size_t i = 0; i < o->apply.n; i++)
            o->apply_view[i] = (zab_txn_t){o->apply.v[i]->zxid, o->apply.v[i]->data, o->apply.v[i]->len};
    }
    rd->epochs_changed = o->epochs_changed;
    rd->accepted_epoch = z->accepted_epoch;
    rd->current_epoch = z->current_epoch;
    rd->truncate_to = o->truncate_to;
    rd->has_snapshot = o->has_snap;
    rd->snapshot_zxid = o->snap_zxid;
    rd->snapshot = o->snap;
    rd->snapshot_len = o->snap_len;
    rd->append = o->append_view;
    rd->nappend = o->append.n;
    rd->msgs = o->msgs;
    rd->nmsgs = o->nmsgs;
    rd->apply = o->apply_view;
    rd->napply = o->apply.n;
    rd->requests = o->reqs;
    rd->nrequests = o->nreqs;
    rd->role_changed = changed;
    rd->role = z->role;
    rd->serving = srv;
    rd->leader = z->leader;
    rd->epoch = zab_epoch(z);
    z->out_busy = true;
    return true;
}

void zab_advance(zab_t *z)
{
    if (!z->out_busy)
        return;
    batch_t *o = &z->out;
    if (o->has_snap)
        z->applied_done = max64(z->applied_done, o->snap_zxid);
    if (o->apply.n)
        z->applied_done = max64(z->applied_done, o->apply.v[o->apply.n - 1]->zxid);
    batch_free(o);
    z->out_busy = false;
    evict(z);
}

/* ---------------------------------------------------------------- public: queries */

zab_role_t zab_role(const zab_t *z)
{
    return z->role;
}

const char *zab_role_name(const zab_t *z)
{
    switch (z->role) {
    case ZAB_LEADING: return z->solo ? "standalone" : "leader";
    case ZAB_FOLLOWING: return "follower";
    case ZAB_OBSERVING: return "observer";
    default: return "looking";
    }
}

uint32_t zab_epoch(const zab_t *z)
{
    /* A leader's epoch counts once a majority has promised it. */
    if (z->role == ZAB_LEADING && z->lphase < L_SYNC)
        return 0;
    return z->epoch;
}

int zab_leader(const zab_t *z)
{
    return z->leader;
}

bool zab_serving(const zab_t *z)
{
    return serving(z);
}

int64_t zab_last_proposed(const zab_t *z)
{
    if (z->role == ZAB_LEADING && z->lphase >= L_SYNC)
        return z->last_proposed;
    return z->appended;
}

int64_t zab_last_committed(const zab_t *z)
{
    return z->committed;
}

int64_t zab_last_logged(const zab_t *z)
{
    return z->logged;
}

int zab_voter_count(const zab_t *z)
{
    return z->cfg.nvoters;
}

void zab_stats(const zab_t *z, zab_stats_t *st)
{
    memset(st, 0, sizeof *st);
    st->role = z->role;
    st->serving = serving(z);
    st->leader = z->leader;
    st->epoch = zab_epoch(z);
    if (z->role == ZAB_LEADING) {
        for (int i = 0; i < z->npeers; i++) {
            const peer_t *p = &z->peers[i];
            if (p->s.phase == S_NONE)
                continue;
            st->learners++;
            if (p->s.phase == S_SYNCING)
                st->pending_syncs++;
            else if (p->s.phase >= S_SYNCED) {
                if (p->voter)
                    st->synced_followers++;
                else
                    st->synced_observers++;
            }
        }
    }
    st->last_proposed = zab_last_proposed(z);
    st->last_logged = z->logged;
    st->last_committed = z->committed;
    st->last_applied = z->applied;
    st->election_round = z->round;
}
