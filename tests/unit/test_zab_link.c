/* Unit tests: zab_peer_down, the driver's report that its link to a peer broke (added
 * for coord/node.c + peer_net.c): a learner leaves a leader whose link dropped at once
 * and the ensemble re-forms; anything else is ignored. On the simulation harness. */
#include <check.h>
#include <string.h>

#include "tests/unit/sim/zsim.h"

#define SIM_OK(s, expr) ck_assert_msg((expr) == 0, "%s", (s)->err)

START_TEST(learner_leaves_a_leader_whose_link_dropped)
{
    zs_opts_t o;
    memset(&o, 0, sizeof o);
    o.nvoters = 3;
    o.nobservers = 1;
    o.nclients = 2;
    o.fsync_max_ms = 2;
    zs_sim_t s;
    zs_init(&s, 5, &o);
    SIM_OK(&s, zs_run(&s, 3000));
    int l = zs_leader(&s);
    ck_assert_int_ge(l, 0);
    int lid = s.srv[l].id;
    int f = -1, obs = -1;
    for (int i = 0; i < s.n; i++) {
        if (i != l && s.srv[i].voter && f < 0)
            f = i;
        if (!s.srv[i].voter)
            obs = i;
    }
    /* a link to another learner, or to a stranger: nothing happens */
    int other = 3 - l - f;   /* the remaining voter index of 0..2 */
    zab_peer_down(s.srv[f].z, s.srv[other].id);
    zab_peer_down(s.srv[f].z, 99);
    ck_assert_int_eq(zab_role(s.srv[f].z), ZAB_FOLLOWING);
    /* the leader's own view: a no-op too */
    zab_peer_down(s.srv[l].z, s.srv[f].id);
    ck_assert_int_eq(zab_role(s.srv[l].z), ZAB_LEADING);
    /* the follower's and the observer's link to the leader: LOOKING at once */
    zab_peer_down(s.srv[f].z, lid);
    ck_assert_int_eq(zab_role(s.srv[f].z), ZAB_LOOKING);
    ck_assert(!zab_serving(s.srv[f].z));
    zab_peer_down(s.srv[obs].z, lid);
    ck_assert_int_eq(zab_role(s.srv[obs].z), ZAB_LOOKING);
    /* they rejoin the same leader and nothing acknowledged is lost */
    SIM_OK(&s, zs_run(&s, 6000));
    ck_assert_int_eq(zab_role(s.srv[f].z), ZAB_FOLLOWING);
    ck_assert_int_eq(zab_leader(s.srv[f].z), lid);
    ck_assert_int_eq(zab_role(s.srv[obs].z), ZAB_OBSERVING);
    SIM_OK(&s, zs_settle(&s, 5000));
    zs_free(&s);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("zab_link");
    TCase *tc = tcase_create("peer_down");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, learner_leaves_a_leader_whose_link_dropped);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
