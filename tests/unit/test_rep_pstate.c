/* Unit tests: idempotent-producer state (broker/rep_pstate.h) — Kafka 2.4's duplicate and
 * sequence rules: duplicates of any of the last 5 batches, gaps, epoch bumps and fencing,
 * unknown producers, sequence wrap-around. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "broker/rep_pstate.h"
#include "proto/kafka_err.h"

START_TEST(first_batch_and_unknown)
{
    rps_t *s = rps_new();
    ck_assert_int_eq(rps_check(s, 7, 0, 0, 4, NULL, NULL), RPS_APPEND);
    ck_assert_int_eq(rps_check(s, 7, 0, 3, 4, NULL, NULL), -KERR_UNKNOWN_PRODUCER_ID);
    rps_record(s, 7, 0, 0, 4, 100, 104);
    ck_assert_int_eq(rps_count(s), 1);
    ck_assert_int_eq(rps_check(s, 7, 0, 5, 9, NULL, NULL), RPS_APPEND);
    ck_assert_int_eq(rps_check(s, 7, 0, 6, 9, NULL, NULL), -KERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    ck_assert_int_eq(rps_check(s, 7, 0, 4, 9, NULL, NULL), -KERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    /* another producer is independent */
    ck_assert_int_eq(rps_check(s, 8, 0, 0, 0, NULL, NULL), RPS_APPEND);
    rps_free(s);
}
END_TEST

START_TEST(duplicates_of_last_five)
{
    rps_t *s = rps_new();
    for (int i = 0; i < 7; i++)
        rps_record(s, 1, 2, i * 10, i * 10 + 9, 1000 + i * 10, 1000 + i * 10 + 9);
    int64_t f = -1, l = -1;
    /* batches 2..6 are cached, 0 and 1 forgotten */
    for (int i = 2; i < 7; i++) {
        ck_assert_int_eq(rps_check(s, 1, 2, i * 10, i * 10 + 9, &f, &l), RPS_DUPLICATE);
        ck_assert_int_eq(f, 1000 + i * 10);
        ck_assert_int_eq(l, 1000 + i * 10 + 9);
    }
    ck_assert_int_eq(rps_check(s, 1, 2, 10, 19, &f, &l), -KERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    ck_assert_int_eq(rps_check(s, 1, 2, 70, 70, NULL, NULL), RPS_APPEND);
    rps_free(s);
}
END_TEST

START_TEST(epochs)
{
    rps_t *s = rps_new();
    rps_record(s, 1, 3, 0, 9, 0, 9);
    ck_assert_int_eq(rps_check(s, 1, 2, 10, 10, NULL, NULL), -KERR_INVALID_PRODUCER_EPOCH);
    ck_assert_int_eq(rps_check(s, 1, 4, 10, 10, NULL, NULL), -KERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    ck_assert_int_eq(rps_check(s, 1, 4, 0, 3, NULL, NULL), RPS_APPEND);
    rps_record(s, 1, 4, 0, 3, 10, 13);
    /* the old epoch's batches are gone: same sequences are no duplicate of epoch 3 */
    int64_t f = -1;
    ck_assert_int_eq(rps_check(s, 1, 4, 0, 3, &f, NULL), RPS_DUPLICATE);
    ck_assert_int_eq(f, 10);
    ck_assert_int_eq(rps_check(s, 1, 4, 0, 9, NULL, NULL), -KERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    rps_clear(s);
    ck_assert_int_eq(rps_count(s), 0);
    rps_free(s);
}
END_TEST

START_TEST(wrap_around)
{
    rps_t *s = rps_new();
    rps_record(s, 9, 0, INT32_MAX - 1, INT32_MAX, 0, 1);
    ck_assert_int_eq(rps_check(s, 9, 0, 0, 4, NULL, NULL), RPS_APPEND);
    ck_assert_int_eq(rps_check(s, 9, 0, 1, 4, NULL, NULL), -KERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    rps_free(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rep_pstate");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, first_batch_and_unknown);
    tcase_add_test(tc, duplicates_of_last_five);
    tcase_add_test(tc, epochs);
    tcase_add_test(tc, wrap_around);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
