/* Unit tests: a leader's replica tracking (broker/rep_isr.h) — HW = min LEO over the ISR,
 * follower fetches, lag-based ISR shrink candidates and catch-up expand candidates. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "broker/rep_isr.h"

START_TEST(single_replica)
{
    risr_t s;
    memset(&s, 0, sizeof s);
    int32_t r[] = {0};
    risr_init(&s, 0, r, 1, r, 1, 1000);
    ck_assert_int_eq(risr_isr_size(&s), 1);
    ck_assert_int_eq(risr_hw(&s, 42), 42);
    ck_assert_int_eq(risr_follower_fetch(&s, 0, 1, 1, 1000), -1);   /* not a follower */
    ck_assert_int_eq(risr_follower_fetch(&s, 5, 1, 1, 1000), -1);
    risr_fini(&s);
}
END_TEST

START_TEST(hw_follows_slowest_isr_member)
{
    risr_t s;
    memset(&s, 0, sizeof s);
    int32_t reps[] = {1, 2, 3}, isr[] = {1, 2};
    risr_init(&s, 1, reps, 3, isr, 2, 0);
    ck_assert(risr_is_replica(&s, 3));
    ck_assert_int_eq(risr_hw(&s, 10), 0);            /* follower 2's LEO unknown */
    ck_assert_int_eq(risr_follower_fetch(&s, 2, 7, 10, 5), 0);
    ck_assert_int_eq(risr_hw(&s, 10), 7);
    ck_assert_int_eq(risr_follower_fetch(&s, 3, 2, 10, 5), 0);   /* not in the ISR: no effect */
    ck_assert_int_eq(risr_hw(&s, 10), 7);
    ck_assert_int_eq(risr_follower_fetch(&s, 2, 12, 10, 6), 0);
    ck_assert_int_eq(risr_hw(&s, 10), 10);           /* never above the leader's LEO */
    risr_fini(&s);
}
END_TEST

START_TEST(shrink_and_expand)
{
    risr_t s;
    memset(&s, 0, sizeof s);
    int32_t reps[] = {1, 2, 3}, isr[] = {1, 2, 3};
    risr_init(&s, 1, reps, 3, isr, 3, 1000);
    int32_t out[3];
    ck_assert_int_eq(risr_out_of_sync(&s, 20000, 30000, out), 0);
    risr_follower_fetch(&s, 2, 50, 50, 25000);      /* caught up at 25 s */
    risr_follower_fetch(&s, 3, 40, 50, 25000);      /* behind */
    ck_assert_int_eq(risr_out_of_sync(&s, 31500, 30000, out), 1);
    ck_assert_int_eq(out[0], 3);
    ck_assert_int_eq(risr_set_isr(&s, 3, false), 0);
    ck_assert_int_eq(risr_isr_size(&s), 2);
    ck_assert_int_eq(risr_hw(&s, 50), 50);
    ck_assert_int_eq(risr_caught_up(&s, 50, out), 0);
    risr_follower_fetch(&s, 3, 50, 55, 32000);
    ck_assert_int_eq(risr_caught_up(&s, 50, out), 1);
    ck_assert_int_eq(out[0], 3);
    ck_assert_int_eq(risr_set_isr(&s, 9, true), -1);
    risr_fini(&s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rep_isr");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, single_replica);
    tcase_add_test(tc, hw_follows_slowest_isr_member);
    tcase_add_test(tc, shrink_and_expand);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
