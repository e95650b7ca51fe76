/* Unit tests: the benchmark latency histogram (bench/lib/zb_hist.h). */
#include <check.h>
#include <stdlib.h>

#include "bench/lib/zb_hist.h"

static zb_hist_t h;

START_TEST(small_values_exact)
{
    zb_hist_reset(&h);
    for (uint64_t v = 1; v <= 100; v++)
        zb_hist_add(&h, v);
    ck_assert_uint_eq(h.n, 100);
    ck_assert_uint_eq(h.max, 100);
    ck_assert_uint_eq(zb_hist_quantile(&h, 0.50), 50);
    ck_assert_uint_eq(zb_hist_quantile(&h, 0.99), 99);
    ck_assert_uint_eq(zb_hist_quantile(&h, 1.0), 100);
    ck_assert(zb_hist_mean(&h) > 50.49 && zb_hist_mean(&h) < 50.51);
}
END_TEST

START_TEST(index_is_monotonic_and_low_bound_holds)
{
    uint32_t prev = 0;
    for (uint64_t v = 0; v < (1ull << 22); v += 1 + v / 97) {
        uint32_t i = zb_hist_index(v);
        ck_assert_uint_ge(i, prev);
        ck_assert_uint_lt(i, ZB_HIST_BUCKETS);
        uint64_t width;
        uint64_t low = zb_hist_low(i, &width);
        ck_assert_uint_le(low, v);
        ck_assert_uint_lt(v, low + width);
        prev = i;
    }
    /* the top bucket absorbs anything larger */
    ck_assert_uint_eq(zb_hist_index(UINT64_MAX), ZB_HIST_BUCKETS - 1);
}
END_TEST

START_TEST(large_values_within_one_percent)
{
    zb_hist_reset(&h);
    /* 99 samples of 1000 us and one of 250000 us */
    for (int i = 0; i < 99; i++)
        zb_hist_add(&h, 1000);
    zb_hist_add(&h, 250000);
    uint64_t p50 = zb_hist_quantile(&h, 0.5);
    ck_assert(p50 >= 990 && p50 <= 1010);
    uint64_t p99 = zb_hist_quantile(&h, 0.99);
    ck_assert(p99 >= 990 && p99 <= 1010);
    /* p99.9 is the outlier; never reported above the exact max */
    uint64_t p999 = zb_hist_quantile(&h, 0.999);
    ck_assert(p999 >= 248000 && p999 <= 250000);
    ck_assert_uint_eq(h.max, 250000);
}
END_TEST

START_TEST(merge_and_empty)
{
    static zb_hist_t a, b;
    zb_hist_reset(&a);
    zb_hist_reset(&b);
    ck_assert_uint_eq(zb_hist_quantile(&a, 0.5), 0);
    zb_hist_add(&a, 10);
    zb_hist_add(&b, 30);
    zb_hist_add(&b, 20);
    zb_hist_merge(&a, &b);
    ck_assert_uint_eq(a.n, 3);
    ck_assert_uint_eq(a.sum, 60);
    ck_assert_uint_eq(a.max, 30);
    ck_assert_uint_eq(zb_hist_quantile(&a, 0.5), 20);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("zb_hist");
    TCase *tc = tcase_create("hist");
    tcase_add_test(tc, small_values_exact);
    tcase_add_test(tc, index_is_monotonic_and_low_bound_holds);
    tcase_add_test(tc, large_values_within_one_percent);
    tcase_add_test(tc, merge_and_empty);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
