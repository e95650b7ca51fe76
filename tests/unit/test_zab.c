/* Unit tests: the zab quorum core (coord/zab.h) and its peer messages (coord/zab_msg.h).
 * Multi-server cases run on the simulation harness (tests/unit/sim/zsim.h) with the
 * network quiet, starting from crafted disks. */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/sim/zsim.h"

#define SIM_OK(s, expr) ck_assert_msg((expr) == 0, "%s", (s)->err)

/* ---------------------------------------------------------------- standalone, as node.c drives it */

static zab_config_t solo_cfg(int id)
{
    zab_config_t c;
    memset(&c, 0, sizeof c);
    c.my_id = id;
    c.nvoters = 1;
    c.voters[0] = id;
    return c;
}

START_TEST(standalone_legacy_api)
{
    zab_config_t c = solo_cfg(1);
    zab_t *z = zab_new(&c, ZXID_MAKE(5, 3), 5);
    ck_assert_ptr_nonnull(z);
    ck_assert_int_eq(zab_role(z), ZAB_LOOKING);
    ck_assert_uint_eq(zab_lead_alone(z), 6);
    ck_assert_int_eq(zab_role(z), ZAB_LEADING);
    ck_assert_str_eq(zab_role_name(z), "standalone");
    ck_assert_uint_eq(zab_epoch(z), 6);
    ck_assert_int_eq(zab_voter_count(z), 1);
    ck_assert(zab_serving(z));
    ck_assert_int_eq(zab_last_proposed(z), ZXID_MAKE(6, 0));
    ck_assert_int_eq(zab_last_committed(z), ZXID_MAKE(5, 3));
    /* the driver logs the txns itself and reports durability with zab_ack */
    ck_assert_int_eq(zab_propose(z), ZXID_MAKE(6, 1));
    ck_assert_int_eq(zab_propose(z), ZXID_MAKE(6, 2));
    ck_assert_int_eq(zab_last_committed(z), ZXID_MAKE(5, 3));
    zab_ack(z, 1, ZXID_MAKE(6, 1));
    ck_assert_int_eq(zab_last_committed(z), ZXID_MAKE(6, 1));
    ck_assert_int_eq(zab_propose(z), ZXID_MAKE(6, 3));
    /* the log write of 2 and 3 failed: their zxids are reused */
    zab_abandon_unlogged(z);
    ck_assert_int_eq(zab_last_proposed(z), ZXID_MAKE(6, 1));
    ck_assert_int_eq(zab_propose(z), ZXID_MAKE(6, 2));
    zab_ack(z, 1, ZXID_MAKE(6, 2));
    ck_assert_int_eq(zab_last_committed(z), ZXID_MAKE(6, 2));
    /* acks from unknown voters change nothing */
    zab_ack(z, 9, ZXID_MAKE(6, 9));
    ck_assert_int_eq(zab_last_committed(z), ZXID_MAKE(6, 2));
    ck_assert_uint_eq(zab_lead_alone(z), 6);   /* already leading: same epoch */
    /* nothing piles up for a driver that never calls zab_ready */
    zab_ready_t rd;
    ck_assert(zab_ready(z, &rd));
    ck_assert_uint_eq(rd.nmsgs, 0);
    ck_assert_uint_eq(rd.nappend, 0);
    ck_assert_uint_eq(rd.napply, 0);
    zab_advance(z);
    zab_free(z);

    /* a fresh server: epoch 1, nothing committed yet */
    z = zab_new(&c, 0, 0);
    ck_assert_uint_eq(zab_lead_alone(z), 1);
    ck_assert_int_eq(zab_propose(z), ZXID_MAKE(1, 1));
    zab_free(z);
}
END_TEST

START_TEST(lead_alone_needs_a_quorum_of_one)
{
    zab_config_t c = solo_cfg(1);
    c.nvoters = 3;
    c.voters[1] = 2;
    c.voters[2] = 3;
    zab_t *z = zab_new(&c, 0, 0);
    ck_assert_uint_eq(zab_lead_alone(z), 0);
    ck_assert_int_ne(zab_role(z), ZAB_LEADING);
    ck_assert_int_eq(zab_propose(z), -1);
    zab_free(z);
}
END_TEST

START_TEST(counter_exhaustion_needs_a_new_epoch)
{
    zab_config_t c = solo_cfg(1);
    zab_t *z = zab_new(&c, ZXID_MAKE(2, 7), 2);
    ck_assert_uint_eq(zab_lead_alone(z), 3);
    for (int i = 0; i < 3; i++)
        ck_assert_int_gt(zab_propose(z), 0);
    zab_free(z);
    /* a recovered log whose last zxid ends the counter range */
    z = zab_new(&c, ZXID_MAKE(3, 0xffffffffu), 3);
    ck_assert_uint_eq(zab_lead_alone(z), 4);
    ck_assert_int_eq(zab_propose(z), ZXID_MAKE(4, 1));
    zab_free(z);
}
END_TEST

START_TEST(invalid_configs_rejected)
{
    zab_config_t c = solo_cfg(1);
    zab_state_t st = {0};
    c.my_id = 2;   /* not a member */
    ck_assert_ptr_null(zab_open(&c, &st));
    c = solo_cfg(1);
    c.nvoters = 0;
    ck_assert_ptr_null(zab_open(&c, &st));
    c = solo_cfg(1);
    c.nobservers = 1;
    c.observers[0] = 1;   /* duplicate id */
    ck_assert_ptr_null(zab_open(&c, &st));
    c = solo_cfg(1);
    c.nvoters = ZAB_MAX_VOTERS + 1;
    ck_assert_ptr_null(zab_open(&c, &st));
}
END_TEST

/* The same quorum of one through the ready loop, as an ensemble-capable driver runs it. */
START_TEST(standalone_through_ready)
{
    zab_config_t c = solo_cfg(4);
    zab_state_t st = {ZXID_MAKE(2, 5), 3, 2, ZXID_MAKE(2, 5)};
    zab_t *z = zab_open(&c, &st);
    zab_tick(z, 1000);
    ck_assert_int_eq(zab_role(z), ZAB_LEADING);
    ck_assert(zab_serving(z));
    zab_ready_t rd;
    ck_assert(zab_ready(z, &rd));
    ck_assert(rd.epochs_changed);
    ck_assert_uint_eq(rd.accepted_epoch, 4);
    ck_assert_uint_eq(rd.current_epoch, 4);
    ck_assert(rd.role_changed);
    ck_assert(rd.serving);
    ck_assert_int_eq(rd.leader, 4);
    ck_assert_uint_eq(rd.nmsgs, 0);
    zab_advance(z);
    ck_assert(!zab_ready(z, &rd));

    int64_t zx = zab_propose(z);
    ck_assert_int_eq(zx, ZXID_MAKE(4, 1));
    ck_assert_int_eq(zab_submit(z, zx + 1, "nope", 4), -1);
    ck_assert_int_eq(zab_submit(z, zx, "txn-1", 5), 0);
    ck_assert_int_eq(zab_submit(z, zx, "again", 5), -1);
    ck_assert(zab_ready(z, &rd));
    ck_assert_uint_eq(rd.nappend, 1);
    ck_assert_int_eq(rd.append[0].zxid, zx);
    ck_assert_mem_eq(rd.append[0].data, "txn-1", 5);
    ck_assert_uint_eq(rd.napply, 0);   /* not durable yet */
    /* inputs between ready and advance go to the next batch */
    zab_persisted(z, zx);
    ck_assert(!zab_ready(z, &rd));
    zab_advance(z);
    ck_assert(zab_ready(z, &rd));
    ck_assert_uint_eq(rd.napply, 1);
    ck_assert_int_eq(rd.apply[0].zxid, zx);
    ck_assert_mem_eq(rd.apply[0].data, "txn-1", 5);
    ck_assert(!rd.role_changed);
    zab_advance(z);
    ck_assert_int_eq(zab_last_committed(z), zx);
    zab_stats_t s;
    zab_stats(z, &s);
    ck_assert_int_eq(s.last_applied, zx);
    ck_assert_int_eq(s.learners, 0);
    zab_free(z);
}
END_TEST

/* ---------------------------------------------------------------- messages */

static zab_msg_t sample_msg(int type)
{
    zab_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = type;
    m.from = 3;
    m.to = 1;
    m.flags = type == ZAB_MSG_ACK ? ZAB_MF_NEWLEADER : 0;
    m.nonce = 0x1122334455667788LL;
    m.seq = 42;
    m.zxid = ZXID_MAKE(7, 9);
    m.epoch = 0xfffffff0u;
    m.round = 12;
    m.state = ZAB_FOLLOWING;
    m.leader = 2;
    m.data.len = -1;
    if (type == ZAB_MSG_PROPOSAL || type == ZAB_MSG_SNAP || type == ZAB_MSG_INFORM || type == ZAB_MSG_REQUEST)
        m.data = jute_buf_dup("payload\0bytes", 13);
    return m;
}

START_TEST(msg_roundtrip_every_type)
{
    for (int t = ZAB_MSG_VOTE; t <= ZAB_MSG_TYPE_MAX; t++) {
        zab_msg_t m = sample_msg(t), out;
        buf_t b = BUF_INIT;
        zab_msg_encode(&m, &b);
        ck_assert_int_eq(zab_msg_decode(&out, b.data, b.len), 0);
        ck_assert_int_eq(out.type, t);
        ck_assert_int_eq(out.from, 3);
        ck_assert_int_eq(out.to, 1);
        ck_assert_int_eq(out.flags, m.flags);
        ck_assert(out.nonce == m.nonce && out.seq == 42 && out.zxid == m.zxid);
        ck_assert(out.epoch == m.epoch && out.round == 12 && out.state == ZAB_FOLLOWING && out.leader == 2);
        ck_assert_int_eq(out.data.len, m.data.len);
        if (m.data.len > 0)
            ck_assert_mem_eq(out.data.data, m.data.data, 13);
        ck_assert_str_ne(zab_msg_type_name(t), "?");
        /* header: version, type, from, to, flags as big-endian ints */
        ck_assert_uint_eq(be32_get(b.data), ZAB_MSG_VERSION);
        ck_assert_uint_eq(be32_get(b.data + 4), (uint32_t)t);
        zab_msg_t cp;
        zab_msg_copy(&cp, &out);
        zab_msg_free(&out);
        ck_assert_int_eq(cp.type, t);
        zab_msg_free(&cp);
        zab_msg_free(&m);
        buf_free(&b);
    }
    ck_assert_str_eq(zab_msg_type_name(99), "?");
}
END_TEST

START_TEST(msg_decode_rejects_hostile_input)
{
    zab_msg_t m = sample_msg(ZAB_MSG_PROPOSAL), out;
    buf_t b = BUF_INIT;
    zab_msg_encode(&m, &b);
    /* every truncation fails */
    for (size_t n = 0; n < b.len; n++)
        ck_assert_int_eq(zab_msg_decode(&out, b.data, n), -1);
    /* trailing bytes */
    buf_t t = BUF_INIT;
    buf_put(&t, b.data, b.len);
    buf_put_u8(&t, 0);
    ck_assert_int_eq(zab_msg_decode(&out, t.data, t.len), -1);
    buf_free(&t);
    /* bad version, bad type, unknown flags, epoch out of range, negative seq */
    struct { size_t off; int width; uint64_t v; } bad[] = {
        {0, 4, 2}, {4, 4, 0}, {4, 4, 99}, {16, 4, 0x80}, {44, 8, 0x100000000ULL}, {28, 8, (uint64_t)-5},
        {52, 8, (uint64_t)INT64_MAX}, {52, 8, (uint64_t)-1}, {60, 4, 4}, {60, 4, (uint32_t)-1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        buf_t c = BUF_INIT;
        buf_put(&c, b.data, b.len);
        if (bad[i].width == 4)
            be32_put(c.data + bad[i].off, (uint32_t)bad[i].v);
        else
            be64_put(c.data + bad[i].off, bad[i].v);
        ck_assert_msg(zab_msg_decode(&out, c.data, c.len) == -1, "case %zu", i);
        buf_free(&c);
    }
    /* a buffer length claiming more than is there, and a PROPOSAL without data */
    buf_t c = BUF_INIT;
    buf_put(&c, b.data, b.len);
    be32_put(c.data + b.len - 13 - 4, 0x7fffffff);
    ck_assert_int_eq(zab_msg_decode(&out, c.data, c.len), -1);
    buf_free(&c);
    zab_msg_t nod = sample_msg(ZAB_MSG_PROPOSAL);
    free(nod.data.data);
    nod.data.data = NULL;
    nod.data.len = -1;
    buf_t d = BUF_INIT;
    zab_msg_encode(&nod, &d);
    ck_assert_int_eq(zab_msg_decode(&out, d.data, d.len), -1);
    buf_free(&d);
    /* random bytes and random mutations never crash or leak */
    uint64_t r = 88172645463325252ULL;
    for (int i = 0; i < 20000; i++) {
        uint8_t junk[96];
        size_t n = (size_t)(r % sizeof junk);
        buf_t mu = BUF_INIT;
        buf_put(&mu, b.data, b.len);
        for (size_t k = 0; k < sizeof junk; k++) {
            r ^= r << 13;
            r ^= r >> 7;
            r ^= r << 17;
            junk[k] = (uint8_t)r;
        }
        mu.data[r % mu.len] ^= (uint8_t)(r >> 8);
        if (zab_msg_decode(&out, junk, n) == 0)
            zab_msg_free(&out);
        if (zab_msg_decode(&out, mu.data, mu.len) == 0)
            zab_msg_free(&out);
        buf_free(&mu);
    }
    zab_msg_free(&m);
    buf_free(&b);
}
END_TEST

START_TEST(step_rejects_strangers)
{
    zab_config_t c;
    memset(&c, 0, sizeof c);
    c.my_id = 1;
    c.nvoters = 3;
    c.voters[0] = 1;
    c.voters[1] = 2;
    c.voters[2] = 3;
    zab_state_t st = {0};
    zab_t *z = zab_open(&c, &st);
    zab_msg_t m = sample_msg(ZAB_MSG_VOTE);
    m.from = 9;   /* unknown server */
    ck_assert_int_eq(zab_step(z, &m), -1);
    m.from = 2;
    m.to = 3;     /* not for us */
    ck_assert_int_eq(zab_step(z, &m), -1);
    m.to = 1;
    m.type = 77;
    ck_assert_int_eq(zab_step(z, &m), -1);
    m.type = ZAB_MSG_VOTE;
    m.from = 1;   /* ourselves */
    ck_assert_int_eq(zab_step(z, &m), -1);
    /* leader-to-learner messages while looking are ignored */
    zab_msg_t p = sample_msg(ZAB_MSG_PROPOSAL);
    p.from = 2;
    ck_assert_int_eq(zab_step(z, &p), 0);
    ck_assert_int_eq(zab_role(z), ZAB_LOOKING);
    ck_assert_int_eq(zab_last_logged(z), 0);
    ck_assert_int_eq(zab_forward(z, "x", 1), -1);
    ck_assert_int_eq(zab_propose(z), -1);
    zab_msg_free(&p);
    zab_free(z);
}
END_TEST

/* ---------------------------------------------------------------- ensembles from crafted disks */

static void quiet(zs_opts_t *o, int voters, int observers)
{
    memset(o, 0, sizeof *o);
    o->nvoters = voters;
    o->nobservers = observers;
    o->fsync_max_ms = 2;
    o->verbose = getenv("SIM_VERBOSE") != NULL;
}

static void put_txn(zs_vec_t *v, int64_t zxid)
{
    char p[32];
    int n = snprintf(p, sizeof p, "t%" PRIx64, (uint64_t)zxid);
    zv_push(v, zxid, p, (size_t)n);
}

/* Server i's disk: log of epoch e txns [from..to], epochs as given. */
static void disk_add(zs_sim_t *s, int i, uint32_t e, int from, int to)
{
    zs_srv_t *sv = &s->srv[i];
    for (int c = from; c <= to; c++)
        put_txn(&sv->log, ZXID_MAKE(e, c));
    sv->ndurable = sv->log.n;
}

static void disk_epochs(zs_sim_t *s, int i, uint32_t accepted, uint32_t current)
{
    s->srv[i].accepted = accepted;
    s->srv[i].current = current;
}

/* Moves the first n log entries into the snapshot. */
static void disk_snapshot(zs_sim_t *s, int i, size_t n)
{
    zs_srv_t *sv = &s->srv[i];
    for (size_t k = 0; k < n; k++)
        zv_push(&sv->snap, sv->log.v[k].zxid, sv->log.v[k].data, sv->log.v[k].len);
    sv->snap_zxid = sv->snap.v[sv->snap.n - 1].zxid;
    zs_vec_t rest = {0};
    for (size_t k = n; k < sv->log.n; k++)
        zv_push(&rest, sv->log.v[k].zxid, sv->log.v[k].data, sv->log.v[k].len);
    zv_free(&sv->log);
    sv->log = rest;
    sv->ndurable = sv->log.n;
}

static void crash_all(zs_sim_t *s)
{
    for (int i = 0; i < s->n; i++)
        zs_crash(s, i, false);
}

static void restart_all(zs_sim_t *s)
{
    for (int i = 0; i < s->n; i++)
        zs_restart(s, i);
}

static bool state_has(const zs_srv_t *sv, int64_t zxid)
{
    for (size_t k = 0; k < sv->state.n; k++)
        if (sv->state.v[k].zxid == zxid)
            return true;
    return false;
}

START_TEST(most_up_to_date_server_leads)
{
    zs_opts_t o;
    quiet(&o, 3, 0);
    zs_sim_t s;
    zs_init(&s, 1, &o);
    crash_all(&s);
    /* server 1 has the longest history; 3 (highest id) the shortest */
    disk_add(&s, 0, 1, 1, 6);
    disk_add(&s, 1, 1, 1, 4);
    disk_add(&s, 2, 1, 1, 2);
    for (int i = 0; i < 3; i++)
        disk_epochs(&s, i, 1, 1);
    restart_all(&s);
    SIM_OK(&s, zs_run(&s, 2000));
    ck_assert_int_eq(zs_leader(&s), 0);
    ck_assert_uint_eq(zab_epoch(s.srv[0].z), 2);
    /* its whole history is committed and everyone has it */
    for (int i = 0; i < 3; i++) {
        ck_assert(zab_serving(s.srv[i].z));
        ck_assert(state_has(&s.srv[i], ZXID_MAKE(1, 6)));
    }
    ck_assert_uint_eq(s.h.n, 6);
    ck_assert_uint_ge(s.ndiff_sent, 2);
    ck_assert_uint_eq(s.ntrunc_sent + s.nsnap_sent, 0);
    /* a higher current epoch beats a longer log */
    crash_all(&s);
    disk_add(&s, 2, 5, 1, 1);
    disk_epochs(&s, 2, 5, 5);
    disk_add(&s, 0, 1, 7, 20);
    restart_all(&s);
    SIM_OK(&s, zs_run(&s, s.now + 2000));
    ck_assert_int_eq(zs_leader(&s), 2);
    ck_assert_uint_eq(zab_epoch(s.srv[2].z), 6);
    /* server 1's extra txns of epoch 1 were never committed: truncated away */
    ck_assert_uint_ge(s.ntrunc_sent, 1);
    ck_assert(!state_has(&s.srv[0], ZXID_MAKE(1, 7)));
    SIM_OK(&s, zs_settle(&s, 2000));
    zs_free(&s);
}
END_TEST

START_TEST(sync_picks_diff_trunc_or_snap)
{
    zs_opts_t o;
    quiet(&o, 3, 0);
    zs_sim_t s;
    zs_init(&s, 2, &o);
    crash_all(&s);
    /* leader-to-be (3): epochs 1 and 2. Server 1 lags (DIFF). Server 2 kept an
     * epoch-1 txn the others never got (TRUNC). */
    disk_add(&s, 2, 1, 1, 3);
    disk_add(&s, 2, 2, 1, 4);
    disk_epochs(&s, 2, 2, 2);
    disk_add(&s, 0, 1, 1, 2);
    disk_epochs(&s, 0, 1, 1);
    disk_add(&s, 1, 1, 1, 4);
    disk_epochs(&s, 1, 1, 1);
    restart_all(&s);
    SIM_OK(&s, zs_run(&s, 2000));
    ck_assert_int_eq(zs_leader(&s), 2);
    ck_assert_uint_eq(s.ndiff_sent, 1);
    ck_assert_uint_eq(s.ntrunc_sent, 1);
    ck_assert_uint_eq(s.nsnap_sent, 0);
    ck_assert(!state_has(&s.srv[1], ZXID_MAKE(1, 4)));
    ck_assert(state_has(&s.srv[1], ZXID_MAKE(2, 4)));
    ck_assert(state_has(&s.srv[0], ZXID_MAKE(2, 4)));
    SIM_OK(&s, zs_settle(&s, 2000));
    zs_free(&s);
}
END_TEST

START_TEST(sync_sends_snapshot_past_the_purged_log)
{
    zs_opts_t o;
    quiet(&o, 3, 0);
    o.cache_txns = 2;
    zs_sim_t s;
    zs_init(&s, 3, &o);
    crash_all(&s);
    /* 2 and 3 purged their logs up to 1:8; server 1 only has 1:1..2 */
    for (int i = 1; i < 3; i++) {
        disk_add(&s, i, 1, 1, 10);
        disk_epochs(&s, i, 1, 1);
        disk_snapshot(&s, i, 8);
    }
    disk_add(&s, 0, 1, 1, 2);
    disk_epochs(&s, 0, 1, 1);
    restart_all(&s);
    SIM_OK(&s, zs_run(&s, 2000));
    ck_assert_int_eq(zs_leader(&s), 2);
    ck_assert_uint_eq(s.nsnap_sent, 1);   /* to server 1; server 2 gets a DIFF */
    ck_assert_uint_eq(s.ndiff_sent, 1);
    ck_assert_int_eq(s.srv[0].snap_zxid, ZXID_MAKE(1, 10));
    ck_assert(zab_serving(s.srv[0].z));
    SIM_OK(&s, zs_settle(&s, 2000));
    zs_free(&s);
}
END_TEST

START_TEST(no_truncation_below_a_learners_snapshot)
{
    /* Server 1 replayed and snapshotted an epoch-1 tail that was never committed (its
     * snapshot holds 1:5); the leader's history ends at 1:3 then epoch 2. It cannot be
     * truncated below its snapshot, so the leader must send a whole snapshot. */
    zs_opts_t o;
    quiet(&o, 3, 0);
    zs_sim_t s;
    zs_init(&s, 4, &o);
    crash_all(&s);
    disk_add(&s, 0, 1, 1, 5);
    disk_epochs(&s, 0, 1, 1);
    disk_snapshot(&s, 0, 5);
    for (int i = 1; i < 3; i++) {
        disk_add(&s, i, 1, 1, 3);
        disk_add(&s, i, 2, 1, 2);
        disk_epochs(&s, i, 2, 2);
    }
    restart_all(&s);
    SIM_OK(&s, zs_run(&s, 2000));
    ck_assert_int_eq(zs_leader(&s), 2);
    ck_assert_uint_eq(s.ntrunc_sent, 0);
    ck_assert_uint_eq(s.nsnap_sent, 1);
    ck_assert(!state_has(&s.srv[0], ZXID_MAKE(1, 5)));
    ck_assert(state_has(&s.srv[0], ZXID_MAKE(2, 2)));
    SIM_OK(&s, zs_settle(&s, 2000));
    zs_free(&s);
}
END_TEST

START_TEST(observer_gets_committed_txns_and_mntr_figures)
{
    zs_opts_t o;
    quiet(&o, 3, 1);
    o.nclients = 2;
    zs_sim_t s;
    zs_init(&s, 5, &o);
    SIM_OK(&s, zs_run(&s, 3000));
    int l = zs_leader(&s);
    ck_assert_int_ge(l, 0);
    zab_stats_t st;
    zab_stats(s.srv[l].z, &st);
    ck_assert_int_eq(st.role, ZAB_LEADING);
    ck_assert(st.serving);
    ck_assert_int_eq(st.learners, 3);
    ck_assert_int_eq(st.synced_followers, 2);
    ck_assert_int_eq(st.synced_observers, 1);
    ck_assert_int_eq(st.pending_syncs, 0);
    ck_assert_str_eq(zab_role_name(s.srv[l].z), "leader");
    zs_srv_t *ob = &s.srv[3];
    ck_assert_int_eq(zab_role(ob->z), ZAB_OBSERVING);
    ck_assert_str_eq(zab_role_name(ob->z), "observer");
    zab_stats(ob->z, &st);
    ck_assert_int_eq(st.leader, s.srv[l].id);
    ck_assert_uint_eq(st.epoch, zab_epoch(s.srv[l].z));
    ck_assert_int_eq(st.learners, 0);
    /* the observer applied what was committed (it logs nothing else) */
    SIM_OK(&s, zs_settle(&s, 2000));
    ck_assert_uint_eq(ob->state.n, s.h.n);
    ck_assert_uint_eq(disk_len(ob), s.h.n);
    ck_assert_uint_gt(s.nacks, 0);
    zs_free(&s);
}
END_TEST

START_TEST(followers_leave_a_silent_leader)
{
    zs_opts_t o;
    quiet(&o, 3, 0);
    zs_sim_t s;
    zs_init(&s, 6, &o);
    SIM_OK(&s, zs_run(&s, 2000));
    int l = zs_leader(&s);
    ck_assert_int_ge(l, 0);
    int64_t t0 = s.now;
    zs_isolate(&s, l, true);
    int f = (l + 1) % 3;
    while (zab_role(s.srv[f].z) == ZAB_FOLLOWING && zab_leader(s.srv[f].z) == s.srv[l].id && s.now < t0 + 5000)
        SIM_OK(&s, zs_run(&s, s.now + 5));
    ck_assert_int_ne(zab_leader(s.srv[f].z), s.srv[l].id);
    /* within syncLimit ticks (+1 tick of granularity) of the last message */
    ck_assert_int_le(s.now - t0, (5 + 2) * 100);
    ck_assert_int_ge(s.now - t0, 5 * 100 - 100);
    SIM_OK(&s, zs_settle(&s, 3000));
    zs_free(&s);
}
END_TEST

/* A killed leader: its peers see the links reset (zab_peer_down). They start an election
 * at once, decide as soon as every voter still up agrees (no finalize wait for the dead
 * one's vote), and the new leader establishes its epoch without waiting for a tick,
 * even when a follower's FOLLOWERINFO reached it while it was still looking. */
START_TEST(a_killed_leader_is_replaced_without_waiting)
{
    for (int observers = 0; observers <= 1; observers++) {
        zs_opts_t o;
        quiet(&o, 3, observers);
        o.tick_ms = 2000;     /* ticks are far away: nothing below may wait for one */
        o.elect_ms = 200;
        zs_sim_t s;
        zs_init(&s, 11 + (uint64_t)observers, &o);
        SIM_OK(&s, zs_run(&s, 10000));
        int l = zs_leader(&s);
        ck_assert_int_ge(l, 0);
        int64_t t0 = s.now;
        int old = s.srv[l].id;
        zs_crash(&s, l, false);
        for (int i = 0; i < s.n; i++)
            if (i != l) {
                zab_peer_down(s.srv[i].z, old);   /* every survivor saw the reset */
                zs_drain(&s, &s.srv[i]);
            }
        int nl = -1;
        while (s.now < t0 + 5000) {
            SIM_OK(&s, zs_run(&s, s.now + 1));
            nl = zs_leader(&s);
            bool all = nl >= 0;
            for (int i = 0; i < s.n && all; i++)
                if (i != l && !zab_serving(s.srv[i].z))
                    all = false;
            if (all)
                break;
        }
        ck_assert_int_ge(nl, 0);
        ck_assert_int_ne(nl, l);
        /* well under one finalize wait (elect_ms), let alone a tick: a few message
         * delays (1-4 ms each) and fsyncs (<= 2 ms) */
        ck_assert_msg(s.now - t0 < o.elect_ms / 2, "%d observers: took %" PRId64 " ms", observers, s.now - t0);
        zs_restart(&s, l);
        SIM_OK(&s, zs_settle(&s, 10000));
        zs_free(&s);
    }
}
END_TEST

/* A follower's FOLLOWERINFO that arrives before its leader leads is lost; the leader's
 * announcement (a VOTE saying LEADING) makes it send another at once. */
START_TEST(an_early_followerinfo_is_sent_again)
{
    zab_config_t c;
    memset(&c, 0, sizeof c);
    c.my_id = 1;
    c.nvoters = 3;
    c.voters[0] = 1;
    c.voters[1] = 2;
    c.voters[2] = 3;
    c.tick_ms = 2000;
    c.elect_ms = 200;
    zab_state_t st = {0};
    zab_t *z = zab_open(&c, &st);
    zab_tick(z, 1000);
    /* 2 and 3 vote for 3, 3 then leads; we follow 3 */
    for (int from = 2; from <= 3; from++) {
        zab_msg_t v;
        memset(&v, 0, sizeof v);
        v.type = ZAB_MSG_VOTE;
        v.from = from;
        v.to = 1;
        v.round = 1;
        v.state = ZAB_LOOKING;
        v.leader = 3;
        v.data.len = -1;
        ck_assert_int_eq(zab_step(z, &v), 0);
    }
    ck_assert_int_eq(zab_role(z), ZAB_FOLLOWING);
    ck_assert_int_eq(zab_leader(z), 3);
    zab_ready_t rd;
    int fi = 0;
    ck_assert(zab_ready(z, &rd));
    for (size_t i = 0; i < rd.nmsgs; i++)
        fi += rd.msgs[i].type == ZAB_MSG_FOLLOWERINFO && rd.msgs[i].to == 3;
    zab_advance(z);
    ck_assert_int_eq(fi, 1);
    /* 3 announces it leads: a new FOLLOWERINFO at once (same ms) */
    zab_msg_t a;
    memset(&a, 0, sizeof a);
    a.type = ZAB_MSG_VOTE;
    a.from = 3;
    a.to = 1;
    a.round = 1;
    a.state = ZAB_LEADING;
    a.leader = 3;
    a.data.len = -1;
    ck_assert_int_eq(zab_step(z, &a), 0);
    fi = 0;
    ck_assert(zab_ready(z, &rd));
    for (size_t i = 0; i < rd.nmsgs; i++)
        fi += rd.msgs[i].type == ZAB_MSG_FOLLOWERINFO && rd.msgs[i].to == 3;
    zab_advance(z);
    ck_assert_int_eq(fi, 1);
    /* no answer: resent with a doubling wait (elect_ms, 2x, 4x ...; this was the 2nd) */
    zab_tick(z, 1000 + 399);
    ck_assert(!zab_ready(z, &rd) || (zab_advance(z), rd.nmsgs == 0));
    zab_tick(z, 1000 + 400);
    ck_assert(zab_ready(z, &rd));
    ck_assert_uint_eq(rd.nmsgs, 1);
    ck_assert_int_eq(rd.msgs[0].type, ZAB_MSG_FOLLOWERINFO);
    zab_advance(z);
    zab_tick(z, 1000 + 400 + 799);
    ck_assert(!zab_ready(z, &rd) || (zab_advance(z), rd.nmsgs == 0));
    zab_tick(z, 1000 + 400 + 800);
    ck_assert(zab_ready(z, &rd));
    ck_assert_int_eq(rd.msgs[0].type, ZAB_MSG_FOLLOWERINFO);
    zab_advance(z);
    zab_free(z);
}
END_TEST

START_TEST(forwarded_writes_commit_in_order)
{
    zs_opts_t o;
    quiet(&o, 3, 0);
    zs_sim_t s;
    zs_init(&s, 8, &o);
    SIM_OK(&s, zs_run(&s, 2000));
    int l = zs_leader(&s);
    int f = (l + 1) % 3;
    /* a burst of writes through a follower: the leader preps them in that order */
    char p[32];
    for (int i = 0; i < 50; i++) {
        int n = snprintf(p, sizeof p, "fw%03d", i);
        ck_assert_int_eq(zab_forward(s.srv[f].z, p, (size_t)n), 0);
    }
    ck_assert_int_eq(zab_forward(s.srv[l].z, "x", 1), -1);   /* the leader does not forward */
    SIM_OK(&s, zs_run(&s, s.now + 1000));
    int next = 0;
    for (size_t k = 0; k < s.h.n; k++) {
        int n = snprintf(p, sizeof p, "fw%03d", next);
        if (s.h.v[k].len == (size_t)n && !memcmp(s.h.v[k].data, p, (size_t)n))
            next++;
    }
    ck_assert_int_eq(next, 50);
    SIM_OK(&s, zs_settle(&s, 2000));
    zs_free(&s);
}
END_TEST

START_TEST(leader_that_cannot_log_steps_down)
{
    zs_opts_t o;
    quiet(&o, 3, 0);
    zs_sim_t s;
    zs_init(&s, 10, &o);
    SIM_OK(&s, zs_run(&s, 2000));
    int l = zs_leader(&s);
    zs_srv_t *sv = &s.srv[l];
    int64_t zx = zab_propose(sv->z);
    ck_assert_int_gt(zx, 0);
    ck_assert_int_eq(zab_propose(sv->z), -1);   /* the previous zxid is not submitted yet */
    ck_assert_int_eq(zab_submit(sv->z, zx, "doomed", 6), 0);
    /* the proposal went out to the followers; the local write "failed" */
    zab_abandon_unlogged(sv->z);
    ck_assert_int_eq(zab_role(sv->z), ZAB_LOOKING);
    SIM_OK(&s, zs_settle(&s, 3000));
    zs_free(&s);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("zab");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, standalone_legacy_api);
    tcase_add_test(tc, lead_alone_needs_a_quorum_of_one);
    tcase_add_test(tc, counter_exhaustion_needs_a_new_epoch);
    tcase_add_test(tc, invalid_configs_rejected);
    tcase_add_test(tc, standalone_through_ready);
    tcase_add_test(tc, msg_roundtrip_every_type);
    tcase_add_test(tc, msg_decode_rejects_hostile_input);
    tcase_add_test(tc, step_rejects_strangers);
    tcase_add_test(tc, most_up_to_date_server_leads);
    tcase_add_test(tc, sync_picks_diff_trunc_or_snap);
    tcase_add_test(tc, sync_sends_snapshot_past_the_purged_log);
    tcase_add_test(tc, no_truncation_below_a_learners_snapshot);
    tcase_add_test(tc, observer_gets_committed_txns_and_mntr_figures);
    tcase_add_test(tc, followers_leave_a_silent_leader);
    tcase_add_test(tc, a_killed_leader_is_replaced_without_waiting);
    tcase_add_test(tc, an_early_followerinfo_is_sent_again);
    tcase_add_test(tc, forwarded_writes_commit_in_order);
    tcase_add_test(tc, leader_that_cannot_log_steps_down);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
