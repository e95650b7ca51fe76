/* Unit tests: replica assignment (broker/ctrl_assign.h) against Kafka's own expectations
 * (AdminTest.testReplicaAssignment, AdminRackAwareTest). */
#include <check.h>
#include <stdlib.h>

#include "broker/ctrl_assign.h"

static void expect(const zkpaths_ilist_t *got, const int32_t *want, size_t n)
{
    ck_assert_uint_eq(got->n, n);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(got->v[i], want[i]);
}

static void free_all(zkpaths_ilist_t *l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        zkpaths_ilist_free(&l[i]);
}

START_TEST(rack_unaware_fixed_start)
{
    ctrl_assign_broker_t b[5] = {{3, NULL}, {0, NULL}, {4, NULL}, {1, NULL}, {2, NULL}};   /* any order */
    static const int32_t want[10][3] = {{0, 1, 2}, {1, 2, 3}, {2, 3, 4}, {3, 4, 0}, {4, 0, 1},
                                        {0, 2, 3}, {1, 3, 4}, {2, 4, 0}, {3, 0, 1}, {4, 1, 2}};
    zkpaths_ilist_t out[10];
    ctrl_assign_opts_t o = {.fixed_start_index = 0, .start_partition_id = 0};
    ck_assert_int_eq(ctrl_assign_replicas(b, 5, 10, 3, &o, 1, out, NULL), 0);
    for (int p = 0; p < 10; p++)
        expect(&out[p], want[p], 3);
    free_all(out, 10);
}
END_TEST

START_TEST(rack_unaware_random_draws)
{
    /* start index 2, shift 1 over brokers {0,1,2}: p0 first = 2, follower shift 1+(1+0)%2 = 2 */
    ctrl_assign_broker_t b[3] = {{0, NULL}, {1, NULL}, {2, NULL}};
    zkpaths_ilist_t out[4];
    ctrl_assign_opts_t o = {.fixed_start_index = -1, .rand_start = 2, .rand_shift = 1};
    ck_assert_int_eq(ctrl_assign_replicas(b, 3, 4, 2, &o, 1, out, NULL), 0);
    static const int32_t want[4][2] = {{2, 1}, {0, 2}, {1, 0}, {2, 0}};   /* p3: shift becomes 2 */
    for (int p = 0; p < 4; p++)
        expect(&out[p], want[p], 2);
    free_all(out, 4);
    /* draws are taken modulo the broker count; one broker, rf 1 */
    ctrl_assign_broker_t one = {7, NULL};
    o.rand_start = 12345;
    o.rand_shift = 999;
    ck_assert_int_eq(ctrl_assign_replicas(&one, 1, 3, 1, &o, 1, out, NULL), 0);
    for (int p = 0; p < 3; p++) {
        const int32_t w[] = {7};
        expect(&out[p], w, 1);
    }
    free_all(out, 3);
}
END_TEST

START_TEST(added_partitions)
{
    /* existing {0:[1,2]}: start index = position of broker 1 = 1; new partitions 1.. */
    ctrl_assign_broker_t b[3] = {{0, NULL}, {1, NULL}, {2, NULL}};
    int32_t si = ctrl_assign_added_start_index(b, 3, 1);
    ck_assert_int_eq(si, 1);
    ck_assert_int_eq(ctrl_assign_added_start_index(b, 3, 9), 0);
    zkpaths_ilist_t out[2];
    ctrl_assign_opts_t o = {.fixed_start_index = si, .start_partition_id = 1};
    ck_assert_int_eq(ctrl_assign_replicas(b, 3, 2, 2, &o, 1, out, NULL), 0);
    /* p1: first (1+1)%3=2, shift 1 -> 1+(1)%2=2 -> (2+2)%3=1; p2: first 0, follower 2 */
    const int32_t w1[] = {2, 1}, w2[] = {0, 2};
    expect(&out[0], w1, 2);
    expect(&out[1], w2, 2);
    free_all(out, 2);
}
END_TEST

START_TEST(rack_aware)
{
    /* AdminRackAwareTest: racks 0:r1 1:r3 2:r3 3:r2 4:r2 5:r1, 7 partitions rf 3, fixed start 0 */
    ctrl_assign_broker_t b[6] = {{0, "rack1"}, {1, "rack3"}, {2, "rack3"}, {3, "rack2"}, {4, "rack2"}, {5, "rack1"}};
    static const int32_t want[7][3] = {{0, 3, 1}, {3, 1, 5}, {1, 5, 4}, {5, 4, 2}, {4, 2, 0}, {2, 0, 3}, {0, 4, 2}};
    zkpaths_ilist_t out[7];
    ctrl_assign_opts_t o = {.fixed_start_index = 0, .start_partition_id = 0};
    ck_assert_int_eq(ctrl_assign_replicas(b, 6, 7, 3, &o, 1, out, NULL), 0);
    for (int p = 0; p < 7; p++)
        expect(&out[p], want[p], 3);
    free_all(out, 7);
    /* every partition's replicas are on distinct racks when rf <= racks */
    zkpaths_ilist_t many[12];
    ck_assert_int_eq(ctrl_assign_replicas(b, 6, 12, 3, &o, 1, many, NULL), 0);
    const char *rack[6] = {"rack1", "rack3", "rack3", "rack2", "rack2", "rack1"};
    for (int p = 0; p < 12; p++) {
        ck_assert_uint_eq(many[p].n, 3);
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < i; j++)
                ck_assert_str_ne(rack[many[p].v[i]], rack[many[p].v[j]]);
    }
    free_all(many, 12);
    /* rack-unaware when disabled */
    ck_assert_int_eq(ctrl_assign_replicas(b, 6, 1, 3, &o, 0, out, NULL), 0);
    const int32_t w[] = {0, 1, 2};
    expect(&out[0], w, 3);
    free_all(out, 1);
}
END_TEST

START_TEST(errors)
{
    ctrl_assign_broker_t b[2] = {{0, "r"}, {1, NULL}};
    zkpaths_ilist_t out[2] = {{0}};
    ctrl_assign_opts_t o = {.fixed_start_index = 0};
    const char *msg;
    ck_assert_int_eq(ctrl_assign_replicas(b, 2, 0, 1, &o, 1, out, &msg), CTRL_ASSIGN_BAD_PARTITIONS);
    ck_assert_str_eq(msg, "Number of partitions must be larger than 0.");
    ck_assert_int_eq(ctrl_assign_replicas(b, 2, 1, 0, &o, 1, out, &msg), CTRL_ASSIGN_BAD_RF);
    ck_assert_int_eq(ctrl_assign_replicas(b, 2, 1, 3, &o, 1, out, &msg), CTRL_ASSIGN_BAD_RF);
    ck_assert_int_eq(ctrl_assign_replicas(b, 0, 1, 1, &o, 1, out, &msg), CTRL_ASSIGN_BAD_RF);
    ck_assert_int_eq(ctrl_assign_replicas(b, 2, 1, 1, &o, 1, out, &msg), CTRL_ASSIGN_RACK_MISMATCH);
    ck_assert_int_eq(ctrl_assign_replicas(b, 2, 1, 1, &o, 0, out, &msg), 0);
    zkpaths_ilist_free(&out[0]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ctrl_assign");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, rack_unaware_fixed_start);
    tcase_add_test(tc, rack_unaware_random_draws);
    tcase_add_test(tc, added_partitions);
    tcase_add_test(tc, rack_aware);
    tcase_add_test(tc, errors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
