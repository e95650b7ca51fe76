/* Unit tests: broker/compact — latest record per key kept over many segments (plain and gzip
 * batches), the active segment untouched, tombstones kept for one clean and removed after
 * delete.retention.ms, the dirty ratio, min.compaction.lag.ms, reopen after a clean (indexes,
 * ".cleaned" leftovers), and a slice held across a clean still reading the old bytes. */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/compact.h"
#include "broker/log.h"
#include "common/alloc.h"
#include "common/hmap.h"
#include "common/log.h"
#include "tests/unit/test_log_util.h"

#define NOW 1700000000000LL
#define NKEYS 37

static plog_config_t compact_cfg(void)
{
    plog_config_t c;
    plog_config_default(&c);
    c.segment_bytes = 6000;
    c.index_interval_bytes = 400;
    c.cleanup_delete = false;
    c.cleanup_compact = true;
    return c;
}

/* Appends `batches` keyed batches of 5 (keys offset % NKEYS; tombstone when offset % tomb == 0). */
static void fill_keyed(plog_t *l, int batches, int codec, int tomb, int64_t ts0)
{
    buf_t b = BUF_INIT;
    for (int i = 0; i < batches; i++) {
        buf_reset(&b);
        int64_t base = plog_end_offset(l);
        tl_batch_ex(&b, base, 5, ts0 + base, 0, 120, codec, NKEYS, tomb);
        ck_assert_int_eq(plog_append(l, b.data, b.len, NOW, NULL), 0);
    }
    buf_free(&b);
}

typedef struct seen_s {
    int64_t last[NKEYS];       /* latest offset seen per key (-1 none) */
    int64_t count, tombs;
    int64_t prev;
} seen_t;

/* Reads the whole log; every record's value must match its offset; offsets increase. */
static void read_keyed(plog_t *l, seen_t *s)
{
    for (int k = 0; k < NKEYS; k++)
        s->last[k] = -1;
    s->count = s->tombs = 0;
    s->prev = -1;
    int64_t next = plog_start_offset(l), end = plog_end_offset(l);
    buf_t b = BUF_INIT;
    while (next < end) {
        plog_slice_t sl;
        ck_assert_int_eq(plog_read(l, next, 3000, PLOG_UPTO_LEO, true, &sl), 0);
        if (sl.len == 0)
            break;
        buf_reset(&b);
        ck_assert_int_eq(plog_slice_copy(&sl, &b), 0);
        plog_slice_release(&sl);
        krec_iter_t it;
        krec_iter_init(&it, b.data, b.len, 0, 0);
        krec_record_t r;
        int rc;
        int64_t before = next;
        uint8_t want[512];
        while ((rc = krec_iter_next(&it, &r)) == 1) {
            if (r.offset < next)
                continue;
            ck_assert_int_gt(r.offset, s->prev);
            s->prev = r.offset;
            char key[24];
            int kl = snprintf(key, sizeof key, "k%" PRId64, r.offset % NKEYS);
            ck_assert_int_eq(r.key_len, kl);
            ck_assert(memcmp(r.key, key, (size_t)kl) == 0);
            if (r.value_len < 0) {
                s->tombs++;
            } else {
                size_t vl = tl_vlen(r.offset, 120);
                ck_assert_int_eq(r.value_len, (int32_t)vl);
                tl_vfill(r.offset, want, vl);
                ck_assert(memcmp(r.value, want, vl) == 0);
            }
            s->last[r.offset % NKEYS] = r.offset;
            s->count++;
            next = r.offset + 1;
        }
        ck_assert_int_eq(rc, 0);
        krec_iter_free(&it);
        ck_assert_int_gt(next, before);
    }
    buf_free(&b);
}

static void check_compaction(int codec)
{
    char *d = tl_newdir();
    plog_config_t c = compact_cfg();
    plog_t *l = tl_open(d, "__consumer_offsets", 0, &c, -1, -1, -1, false, NOW);
    fill_keyed(l, 200, codec, 0, NOW);
    int64_t leo = plog_end_offset(l);
    size_t nseg = plog_segment_count(l);
    ck_assert_int_gt((long)nseg, 5);
    seen_t before, after;
    read_keyed(l, &before);
    ck_assert_int_eq(before.count, leo);
    ck_assert(lcompact_due(l, NOW));
    uint64_t size0 = plog_size_bytes(l);
    lcompact_stats_t st;
    ck_assert_int_eq(lcompact_run(l, NOW + 1000, &st), 0);
    ck_assert_int_gt(st.segments, 0);
    ck_assert_int_lt(st.records_kept, st.records_read);
    ck_assert_int_lt((long)plog_size_bytes(l), (long)size0);
    read_keyed(l, &after);
    /* the latest record of every key is still there, with its value */
    for (int k = 0; k < NKEYS; k++)
        ck_assert_int_eq(after.last[k], before.last[k]);
    /* sealed segments hold at most one record per key; the active one is untouched */
    ck_assert_int_le(after.count, (int64_t)NKEYS + (leo - lcompact_first_dirty(l)));
    ck_assert_int_eq(plog_end_offset(l), leo);
    ck_assert(!lcompact_due(l, NOW));
    /* appending and reading go on; a second clean keeps the same latest records */
    fill_keyed(l, 60, codec, 0, NOW);
    read_keyed(l, &before);
    ck_assert_int_eq(lcompact_run(l, NOW + 2000, &st), 0);
    read_keyed(l, &after);
    for (int k = 0; k < NKEYS; k++)
        ck_assert_int_eq(after.last[k], before.last[k]);
    leo = plog_end_offset(l);
    plog_set_high_watermark(l, leo);
    ck_assert_int_eq(plog_close(l, true), 0);
    /* reopen clean and unclean: same content */
    l = tl_open(d, "__consumer_offsets", 0, &c, leo, 0, leo, true, NOW);
    read_keyed(l, &before);
    for (int k = 0; k < NKEYS; k++)
        ck_assert_int_eq(before.last[k], after.last[k]);
    ck_assert_int_eq(before.count, after.count);
    plog_close(l, false);
    l = tl_open(d, "__consumer_offsets", 0, &c, 0, 0, leo, false, NOW);
    read_keyed(l, &before);
    ck_assert_int_eq(before.count, after.count);
    ck_assert_int_eq(plog_end_offset(l), leo);
    plog_close(l, false);
    free(d);
}

START_TEST(latest_per_key_plain)
{
    check_compaction(0);
}
END_TEST

START_TEST(latest_per_key_gzip)
{
    check_compaction(1);
}
END_TEST

START_TEST(tombstones_after_delete_retention)
{
    char *d = tl_newdir();
    plog_config_t c = compact_cfg();
    c.delete_retention_ms = 100000;
    plog_t *l = tl_open(d, "t", 0, &c, -1, -1, -1, false, NOW);
    fill_keyed(l, 150, 0, 3, NOW);             /* every third offset a tombstone */
    seen_t s;
    read_keyed(l, &s);
    ck_assert_int_gt(s.tombs, 0);
    /* first clean: tombstones that are latest stay (they were never cleaned before) */
    lcompact_stats_t st;
    ck_assert_int_eq(lcompact_run(l, NOW + 1000000, &st), 0);
    ck_assert_int_eq(st.tombstones_dropped, 0);
    read_keyed(l, &s);
    int64_t tombs1 = s.tombs;
    ck_assert_int_gt(tombs1, 0);
    /* too early for delete.retention.ms (record times are NOW + offset) */
    ck_assert_int_eq(lcompact_run(l, NOW + 50000, &st), 0);
    ck_assert_int_eq(st.tombstones_dropped, 0);
    /* later: the tombstones of the cleaned part go, other latest records stay */
    seen_t s1;
    read_keyed(l, &s1);
    ck_assert_int_eq(lcompact_run(l, NOW + 10000000, &st), 0);
    ck_assert_int_gt(st.tombstones_dropped, 0);
    read_keyed(l, &s);
    ck_assert_int_eq(s.tombs, tombs1 - st.tombstones_dropped);
    for (int k = 0; k < NKEYS; k++) {
        if (s1.last[k] % 3 != 0)
            ck_assert_int_eq(s.last[k], s1.last[k]);   /* live value: kept */
        else
            ck_assert(s.last[k] == s1.last[k] || s.last[k] == -1);
    }
    plog_close(l, false);
    free(d);
}
END_TEST

START_TEST(lag_ratio_and_leftovers)
{
    char *d = tl_newdir();
    plog_config_t c = compact_cfg();
    c.min_compaction_lag_ms = 3600000;
    plog_t *l = tl_open(d, "lag", 0, &c, -1, -1, -1, false, NOW);
    ck_assert(!lcompact_due(l, NOW));          /* one empty segment */
    fill_keyed(l, 100, 0, 0, NOW);
    lcompact_stats_t st;
    ck_assert_int_eq(lcompact_run(l, NOW + 1000, &st), 0);   /* all newer than the lag */
    ck_assert_int_eq(st.segments, 0);
    ck_assert_int_eq(lcompact_run(l, NOW + 3600000 + 1000, &st), 0);
    ck_assert_int_gt(st.segments, 0);
    /* a held slice keeps reading the pre-clean bytes */
    plog_slice_t sl;
    ck_assert_int_eq(plog_read(l, 0, 100000, PLOG_UPTO_LEO, true, &sl), 0);
    buf_t b1 = BUF_INIT;
    ck_assert_int_eq(plog_slice_copy(&sl, &b1), 0);
    fill_keyed(l, 100, 0, 0, NOW);
    ck_assert_int_eq(lcompact_run(l, NOW + 3600000 + 100000, &st), 0);
    buf_t b2 = BUF_INIT;
    ck_assert_int_eq(plog_slice_copy(&sl, &b2), 0);
    ck_assert_int_eq((long)b1.len, (long)b2.len);
    ck_assert(memcmp(b1.data, b2.data, b1.len) == 0);
    plog_slice_release(&sl);
    buf_free(&b1);
    buf_free(&b2);
    /* leftovers of an interrupted clean are removed at open */
    char *pd = xstrdup(plog_dir(l));
    int64_t leo = plog_end_offset(l);
    plog_close(l, true);
    char *junk = xasprintf("%s/00000000000000000000.log.cleaned", pd);
    ck_assert_int_eq(lckpt_write_atomic(junk, "garbage", 7, false), 0);
    l = tl_open(d, "lag", 0, &c, leo, 0, leo, true, NOW);
    ck_assert_int_eq(tl_file_size(junk), -1);
    seen_t s;
    read_keyed(l, &s);
    ck_assert_int_eq(plog_end_offset(l), leo);
    plog_close(l, false);
    free(junk);
    free(pd);
    free(d);
}
END_TEST

int main(void)
{
    if (!getenv("GREGOR_LOG"))
        log_set_level(LOG_OFF);
    if (!mkdtemp(g_root)) {
        perror("mkdtemp");
        return 1;
    }
    Suite *s = suite_create("log_compact");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, latest_per_key_plain);
    tcase_add_test(tc, latest_per_key_gzip);
    tcase_add_test(tc, tombstones_after_delete_retention);
    tcase_add_test(tc, lag_ratio_and_leftovers);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    tl_cleanup();
    return failed ? 1 : 0;
}
