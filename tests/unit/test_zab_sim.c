/* Deterministic simulation of zab ensembles (tests/unit/sim/zsim.h): 3-5 servers,
 * voters and observers, a fake network that drops, delays, reorders, duplicates and
 * partitions, crashes and restarts with or without the unsynced tail of the log,
 * snapshots and log purges. Invariants are checked after every event; each run ends
 * by healing everything and checking the ensemble converges with no acknowledged
 * write lost.
 *
 *   build/tests/test_zab_sim                   the fixed seeds (make unit)
 *   SIM_SEEDS=500 build/tests/test_zab_sim     500 seeds (from SIM_SEED_BASE, default 1)
 *   SIM_SEED=42 SIM_VERBOSE=1 build/tests/test_zab_sim   replay one seed with a trace
 *   SIM_MS=60000                               chaos phase length per seed (default 20000) */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/sim/zsim.h"

#define DEFAULT_SEEDS 200
#define SIM_OK(s, expr) ck_assert_msg((expr) == 0, "%s", (s)->err)

static int64_t env_num(const char *name, int64_t dflt)
{
    const char *v = getenv(name);
    return v && *v ? strtoll(v, NULL, 10) : dflt;
}

/* The shape of the ensemble varies with the seed. */
static void seed_opts(uint64_t seed, zs_opts_t *o)
{
    static const int shapes[][2] = {{3, 0}, {5, 0}, {3, 1}, {3, 2}, {4, 1}, {2, 1}};
    memset(o, 0, sizeof *o);
    const int *sh = shapes[seed % (sizeof shapes / sizeof shapes[0])];
    o->nvoters = sh[0];
    o->nobservers = sh[1];
    o->nclients = 3;
    static const int fsync_ms[] = {2, 10, 40};
    o->fsync_max_ms = fsync_ms[(seed / 6) % 3];
    o->chaos = true;
    o->compaction = true;
}

static int run_seed(uint64_t seed, bool verbose, int64_t chaos_ms, char *err, size_t errlen)
{
    zs_opts_t o;
    seed_opts(seed, &o);
    o.verbose = verbose;
    zs_sim_t *s = xmalloc(sizeof *s);
    zs_init(s, seed, &o);
    int rc = zs_run(s, chaos_ms);
    if (rc == 0)
        rc = zs_settle(s, 15000);
    if (rc)
        snprintf(err, errlen, "%s", s->err);
    if (verbose || rc)
        printf("sim seed %" PRIu64 " (%d voters, %d observers): %" PRIu64 " events, %zu committed, %zu acked, "
               "%" PRIu64 " crashes, %" PRIu64 " elections, sync: %" PRIu64 " diff %" PRIu64 " trunc %" PRIu64
               " snap\n",
               seed, o.nvoters, o.nobservers, s->events, s->h.n, s->nacks, s->ncrashes, s->nelections,
               s->ndiff_sent, s->ntrunc_sent, s->nsnap_sent);
    zs_free(s);
    free(s);
    return rc;
}

START_TEST(sim_random_seeds)
{
    int64_t one = env_num("SIM_SEED", -1);
    int64_t chaos_ms = env_num("SIM_MS", 20000);
    bool verbose = env_num("SIM_VERBOSE", 0) != 0;
    int64_t base = one >= 0 ? one : env_num("SIM_SEED_BASE", 1);
    int64_t n = one >= 0 ? 1 : env_num("SIM_SEEDS", getenv("VALGRIND") ? 2 : DEFAULT_SEEDS);
    int failures = 0;
    for (int64_t k = 0; k < n; k++) {
        uint64_t seed = (uint64_t)(base + k);
        char err[1024];
        if (run_seed(seed, verbose, chaos_ms, err, sizeof err)) {
            failures++;
            printf("sim: seed %" PRIu64 " FAILED: %s\n  replay: SIM_SEED=%" PRIu64 " SIM_VERBOSE=1 %s\n", seed, err,
                   seed, "build/tests/test_zab_sim");
        }
    }
    fflush(stdout);
    ck_assert_msg(failures == 0, "%d of %" PRId64 " seeds failed (see above for how to replay)", failures, n);
}
END_TEST

/* ---- scripted scenarios on the same harness ---- */

static void quiet_opts(zs_opts_t *o, int voters, int observers)
{
    memset(o, 0, sizeof *o);
    o->nvoters = voters;
    o->nobservers = observers;
    o->fsync_max_ms = 2;
    o->verbose = env_num("SIM_VERBOSE", 0) != 0;
}

static int committed_payloads(const zs_sim_t *s, const char *prefix)
{
    int n = 0;
    for (size_t k = 0; k < s->h.n; k++)
        if (s->h.v[k].len >= strlen(prefix) && !memcmp(s->h.v[k].data, prefix, strlen(prefix)))
            n++;
    return n;
}

START_TEST(elects_the_most_up_to_date_and_commits)
{
    zs_opts_t o;
    quiet_opts(&o, 3, 0);
    o.nclients = 2;
    zs_sim_t s;
    zs_init(&s, 7, &o);
    SIM_OK(&s, zs_run(&s, 3000));
    int l = zs_leader(&s);
    ck_assert_int_ge(l, 0);
    /* fresh ensemble, equal histories: the highest id wins */
    ck_assert_int_eq(s.srv[l].id, 3);
    ck_assert_uint_gt(s.nacks, 10);
    for (int i = 0; i < 3; i++)
        ck_assert(zab_serving(s.srv[i].z));
    SIM_OK(&s, zs_settle(&s, 2000));
    zs_free(&s);
}
END_TEST

START_TEST(leader_crash_fails_over_without_losing_acked_writes)
{
    zs_opts_t o;
    quiet_opts(&o, 3, 0);
    o.nclients = 3;
    zs_sim_t s;
    zs_init(&s, 11, &o);
    SIM_OK(&s, zs_run(&s, 3000));
    int l = zs_leader(&s);
    ck_assert_int_ge(l, 0);
    uint32_t e1 = zab_epoch(s.srv[l].z);
    size_t acked = s.nacks;
    zs_crash(&s, l, true);
    SIM_OK(&s, zs_run(&s, 6000));
    int l2 = zs_leader(&s);
    ck_assert_int_ge(l2, 0);
    ck_assert_int_ne(l2, l);
    ck_assert_uint_gt(zab_epoch(s.srv[l2].z), e1);
    ck_assert_uint_gt(s.nacks, acked);
    SIM_OK(&s, zs_settle(&s, 3000));
    zs_free(&s);
}
END_TEST

START_TEST(isolated_leader_stops_serving_and_commits_nothing)
{
    zs_opts_t o;
    quiet_opts(&o, 5, 0);
    zs_sim_t s;
    zs_init(&s, 3, &o);
    SIM_OK(&s, zs_run(&s, 3000));
    int l = zs_leader(&s);
    ck_assert_int_ge(l, 0);
    zs_isolate(&s, l, true);
    zs_write(&s, &s.srv[l], "lonely", 6);   /* proposed, can never reach a majority */
    int64_t t0 = s.now;
    while (zab_serving(s.srv[l].z) && s.now < t0 + 5000)
        SIM_OK(&s, zs_run(&s, s.now + 10));
    ck_assert(!zab_serving(s.srv[l].z));
    /* it noticed within syncLimit ticks (+ one for the check) */
    ck_assert_int_le(s.now - t0, (o.sync_limit ? o.sync_limit : 5) * 100 + 250);
    SIM_OK(&s, zs_run(&s, s.now + 3000));
    int l2 = zs_leader(&s);
    ck_assert_int_ge(l2, 0);
    ck_assert_int_ne(l2, l);
    zs_write(&s, &s.srv[l2], "majority", 8);
    SIM_OK(&s, zs_run(&s, s.now + 2000));
    ck_assert_int_eq(committed_payloads(&s, "lonely"), 0);
    ck_assert_int_eq(committed_payloads(&s, "majority"), 1);
    /* healed: the old leader's uncommitted tail is truncated away */
    uint64_t trunc = s.ntrunc_sent;
    SIM_OK(&s, zs_settle(&s, 3000));
    ck_assert_uint_gt(s.ntrunc_sent, trunc);
    ck_assert_int_eq(committed_payloads(&s, "lonely"), 0);
    zs_free(&s);
}
END_TEST

START_TEST(observers_never_vote)
{
    zs_opts_t o;
    quiet_opts(&o, 2, 2);
    o.nclients = 2;
    zs_sim_t s;
    zs_init(&s, 5, &o);
    SIM_OK(&s, zs_run(&s, 3000));
    int l = zs_leader(&s);
    ck_assert_int_ge(l, 0);
    ck_assert(s.srv[l].voter);
    for (int i = 2; i < 4; i++)
        ck_assert_int_eq(zab_role(s.srv[i].z), ZAB_OBSERVING);
    /* with one of two voters gone there is no majority, whatever the observers do */
    int other = l == 0 ? 1 : 0;
    zs_crash(&s, other, false);
    SIM_OK(&s, zs_run(&s, s.now + 3000));
    size_t committed = s.h.n;
    SIM_OK(&s, zs_run(&s, s.now + 3000));
    ck_assert_int_eq(zs_leader(&s), -1);
    ck_assert_uint_eq(s.h.n, committed);
    zs_restart(&s, other);
    SIM_OK(&s, zs_run(&s, s.now + 3000));
    ck_assert_int_ge(zs_leader(&s), 0);
    SIM_OK(&s, zs_settle(&s, 3000));
    zs_free(&s);
}
END_TEST

START_TEST(lagging_follower_gets_a_snapshot)
{
    zs_opts_t o;
    quiet_opts(&o, 3, 0);
    o.nclients = 3;
    o.cache_txns = 4;
    zs_sim_t s;
    zs_init(&s, 9, &o);
    SIM_OK(&s, zs_run(&s, 2000));
    int l = zs_leader(&s);
    ck_assert_int_ge(l, 0);
    int f = (l + 1) % 3;
    zs_crash(&s, f, false);
    SIM_OK(&s, zs_run(&s, s.now + 3000));
    /* the others snapshot and purge their logs past what f has */
    for (int i = 0; i < 3; i++)
        zs_compact(&s, &s.srv[i]);
    uint64_t snaps = s.nsnap_sent;
    zs_restart(&s, f);
    SIM_OK(&s, zs_run(&s, s.now + 3000));
    ck_assert_uint_gt(s.nsnap_sent, snaps);
    ck_assert(zab_serving(s.srv[f].z));
    SIM_OK(&s, zs_settle(&s, 3000));
    zs_free(&s);
}
END_TEST

START_TEST(restarted_follower_catches_up_by_diff)
{
    zs_opts_t o;
    quiet_opts(&o, 3, 0);
    o.nclients = 2;
    zs_sim_t s;
    zs_init(&s, 13, &o);
    SIM_OK(&s, zs_run(&s, 2000));
    int l = zs_leader(&s);
    int f = (l + 1) % 3;
    zs_crash(&s, f, false);
    SIM_OK(&s, zs_run(&s, s.now + 300));
    uint64_t diffs = s.ndiff_sent, snaps = s.nsnap_sent;
    zs_restart(&s, f);
    SIM_OK(&s, zs_run(&s, s.now + 2000));
    ck_assert_uint_gt(s.ndiff_sent, diffs);
    ck_assert_uint_eq(s.nsnap_sent, snaps);
    SIM_OK(&s, zs_settle(&s, 3000));
    zs_free(&s);
}
END_TEST

START_TEST(lossy_network_stays_safe_and_recovers)
{
    zs_opts_t o;
    quiet_opts(&o, 3, 1);
    o.nclients = 3;
    o.drop_pct = 5;
    o.dup_pct = 10;
    o.reorder_pct = 20;
    zs_sim_t s;
    zs_init(&s, 21, &o);
    SIM_OK(&s, zs_run(&s, 15000));
    ck_assert_uint_gt(s.nacks, 0);
    SIM_OK(&s, zs_settle(&s, 5000));
    zs_free(&s);
}
END_TEST

/* The history a new leader establishes is committed only once a majority has it
 * durable: learners acknowledge NEWLEADER after their fsync. Power fails right after
 * the leader starts serving, and the old leader stays down. */
START_TEST(established_history_survives_power_loss)
{
    zs_opts_t o;
    quiet_opts(&o, 3, 0);
    o.fsync_max_ms = 400;
    zs_sim_t s;
    zs_init(&s, 17, &o);
    for (int i = 0; i < 3; i++)
        zs_crash(&s, i, false);
    for (int i = 0; i < 3; i++) {
        int upto = i == 2 ? 5 : 2;
        for (int c = 1; c <= upto; c++) {
            char p[16];
            int n = snprintf(p, sizeof p, "t%d", c);
            zv_push(&s.srv[i].log, ZXID_MAKE(1, c), p, (size_t)n);
        }
        s.srv[i].ndurable = s.srv[i].log.n;
        s.srv[i].accepted = s.srv[i].current = 1;
    }
    for (int i = 0; i < 3; i++)
        zs_restart(&s, i);
    while (zs_leader(&s) != 2 && s.now < 5000)
        SIM_OK(&s, zs_run(&s, s.now + 1));
    ck_assert_int_eq(zs_leader(&s), 2);
    ck_assert_uint_eq(s.h.n, 5);   /* 1:3..5 are committed now */
    for (int i = 0; i < 3; i++)
        zs_crash(&s, i, true);
    zs_restart(&s, 0);
    zs_restart(&s, 1);
    SIM_OK(&s, zs_run(&s, s.now + 3000));
    int l = zs_leader(&s);
    ck_assert_int_ge(l, 0);
    zs_write(&s, &s.srv[l], "after", 5);
    SIM_OK(&s, zs_run(&s, s.now + 2000));
    ck_assert_uint_eq(s.h.n, 6);
    SIM_OK(&s, zs_settle(&s, 3000));
    zs_free(&s);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("zab_sim");
    TCase *tc = tcase_create("scenarios");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, elects_the_most_up_to_date_and_commits);
    tcase_add_test(tc, leader_crash_fails_over_without_losing_acked_writes);
    tcase_add_test(tc, isolated_leader_stops_serving_and_commits_nothing);
    tcase_add_test(tc, observers_never_vote);
    tcase_add_test(tc, lagging_follower_gets_a_snapshot);
    tcase_add_test(tc, restarted_follower_catches_up_by_diff);
    tcase_add_test(tc, lossy_network_stays_safe_and_recovers);
    tcase_add_test(tc, established_history_survives_power_loss);
    suite_add_tcase(su, tc);
    TCase *tr = tcase_create("random");
    tcase_set_timeout(tr, 600);
    tcase_add_test(tr, sim_random_seeds);
    suite_add_tcase(su, tr);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
