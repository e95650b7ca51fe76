/* Unit tests: broker/log, segment, logindex — append and read back, slices and limits, rolls
 * by size and time, Kafka's file names and index formats, index rebuild equal to the written
 * index, recovery with a torn tail at every byte of the last batch and with corrupt bytes,
 * truncation, DeleteRecords, retention by time and size, leader epochs, timestamp lookup,
 * topic deletion while a slice is held, and append/read throughput (printed, not asserted). */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/log.h"
#include "broker/logckpt.h"
#include "broker/logindex.h"
#include "broker/segment.h"
#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"
#include "proto/kafka_err.h"
#include "proto/kafka_records.h"
#include "tests/unit/test_log_util.h"

#define NOW 1700000000000LL

static plog_config_t small_cfg(int64_t seg_bytes, int32_t interval)
{
    plog_config_t c;
    plog_config_default(&c);
    c.segment_bytes = seg_bytes;
    c.index_interval_bytes = interval;
    return c;
}

START_TEST(append_and_read_back)
{
    char *d = tl_newdir();
    plog_config_t c = small_cfg(1 << 30, 4096);
    plog_t *l = tl_open(d, "orders", 0, &c, -1, -1, -1, false, NOW);
    ck_assert_int_eq(plog_end_offset(l), 0);
    ck_assert_int_eq(plog_start_offset(l), 0);
    ck_assert_int_eq(tl_fill(l, 100, 10, NOW, 200, NOW), 1000);
    plog_set_high_watermark(l, 1000);
    ck_assert_int_eq(plog_high_watermark(l), 1000);
    /* whole log in small and large steps */
    ck_assert_int_eq(tl_read_all(l, 0, 1000, 1, 200, true), 1000);
    ck_assert_int_eq(tl_read_all(l, 0, 1000, 1 << 20, 200, true), 1000);
    ck_assert_int_eq(tl_read_all(l, 537, 1000, 3000, 200, true), 463);
    /* the slice starts at the batch holding the offset */
    plog_slice_t s;
    ck_assert_int_eq(plog_read(l, 537, 100000, PLOG_UPTO_LEO, true, &s), 0);
    ck_assert_int_eq(s.first_offset, 530);
    ck_assert_int_gt((long)s.len, 0);
    plog_slice_release(&s);
    /* at the end: empty; beyond or below: out of range */
    ck_assert_int_eq(plog_read(l, 1000, 100, PLOG_UPTO_LEO, true, &s), 0);
    ck_assert_int_eq((long)s.len, 0);
    ck_assert_int_eq(plog_read(l, 1001, 100, PLOG_UPTO_LEO, true, &s), -KERR_OFFSET_OUT_OF_RANGE);
    ck_assert_int_eq(plog_read(l, -1, 100, PLOG_UPTO_LEO, true, &s), -KERR_OFFSET_OUT_OF_RANGE);
    /* max_bytes smaller than a batch: min_one gives the whole batch, else a cut batch */
    ck_assert_int_eq(plog_read(l, 0, 10, PLOG_UPTO_LEO, true, &s), 0);
    size_t whole = s.len;
    ck_assert_int_gt((long)whole, 61);
    plog_slice_release(&s);
    ck_assert_int_eq(plog_read(l, 0, 10, PLOG_UPTO_LEO, false, &s), 0);
    ck_assert_int_eq((long)s.len, 10);
    plog_slice_release(&s);
    /* bounded by max_offset (the HW): nothing at or past it */
    plog_set_high_watermark(l, 500);
    ck_assert_int_eq(tl_read_all(l, 0, 500, 1 << 20, 200, true), 500);
    ck_assert_int_eq(plog_read(l, 500, 1 << 20, 500, true, &s), 0);
    ck_assert_int_eq((long)s.len, 0);
    ck_assert_int_eq(plog_read(l, 495, 1 << 20, 500, true, &s), 0);
    buf_t b = BUF_INIT;
    ck_assert_int_eq(plog_slice_copy(&s, &b), 0);
    int64_t next = 495;
    ck_assert_int_eq(tl_check_records(b.data, b.len, 200, &next, true), 5);
    ck_assert_int_eq(next, 500);
    plog_slice_release(&s);
    buf_free(&b);
    /* sendfile from the slice works on the descriptor as given */
    ck_assert_int_eq(plog_read(l, 0, 4096, PLOG_UPTO_LEO, true, &s), 0);
    char *sink = xasprintf("%s/sink", d);
    int fd = open(sink, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    off_t pos = s.pos;
    ck_assert_int_eq(sendfile(fd, s.fd, &pos, s.len), (ssize_t)s.len);
    close(fd);
    ck_assert_int_eq(tl_file_size(sink), (off_t)s.len);
    plog_slice_release(&s);
    free(sink);
    /* bad input */
    uint8_t junk[100] = {0};
    ck_assert_int_eq(plog_append(l, junk, sizeof junk, NOW, NULL), -KERR_CORRUPT_MESSAGE);
    b = (buf_t)BUF_INIT;
    tl_batch(&b, 5, 3, NOW, 100);     /* offsets behind the log end */
    ck_assert_int_eq(plog_append(l, b.data, b.len, NOW, NULL), -KERR_CORRUPT_MESSAGE);
    buf_free(&b);
    ck_assert_int_eq(plog_end_offset(l), 1000);
    ck_assert_int_eq(plog_close(l, true), 0);
    free(d);
}
END_TEST

static int count_files(const char *dir, const char *suffix)
{
    DIR *dd = opendir(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dd)) != NULL) {
        size_t a = strlen(e->d_name), b = strlen(suffix);
        if (a == 20 + b && strcmp(e->d_name + 20, suffix) == 0)
            n++;
    }
    closedir(dd);
    return n;
}

START_TEST(roll_by_size_and_layout)
{
    char *d = tl_newdir();
    plog_config_t c = small_cfg(20000, 1024);
    plog_t *l = tl_open(d, "my-topic", 7, &c, -1, -1, -1, false, NOW);
    char *want = xasprintf("%s/my-topic-7", d);
    ck_assert_str_eq(plog_dir(l), want);
    free(want);
    tl_fill(l, 300, 5, NOW, 300, NOW);
    size_t nseg = plog_segment_count(l);
    ck_assert_int_gt((long)nseg, 10);
    char *pd = xstrdup(plog_dir(l));
    ck_assert_int_eq(count_files(pd, ".log"), (int)nseg);
    ck_assert_int_eq(count_files(pd, ".index"), (int)nseg);
    ck_assert_int_eq(count_files(pd, ".timeindex"), (int)nseg);
    char *first = xasprintf("%s/00000000000000000000.log", pd);
    ck_assert_int_le(tl_file_size(first), 20000);
    ck_assert_int_gt(tl_file_size(first), 15000);
    free(first);
    ck_assert_int_eq(tl_read_all(l, 0, 1500, 1 << 20, 300, true), 1500);
    ck_assert_int_eq(tl_read_all(l, 0, 1500, 100, 300, true), 1500);
    ck_assert_int_eq(plog_close(l, true), 0);
    /* reopen clean: same state, readable, appendable */
    l = tl_open(d, "my-topic", 7, &c, 1500, 0, 1500, true, NOW);
    ck_assert_int_eq(plog_end_offset(l), 1500);
    ck_assert_int_eq(plog_high_watermark(l), 1500);
    ck_assert_int_eq((long)plog_segment_count(l), (long)nseg);
    tl_fill(l, 10, 5, NOW, 300, NOW);
    ck_assert_int_eq(tl_read_all(l, 1200, 1550, 1 << 20, 300, true), 350);
    ck_assert_int_eq(plog_close(l, false), 0);
    free(pd);
    free(d);
}
END_TEST

START_TEST(roll_by_time)
{
    char *d = tl_newdir();
    plog_config_t c = small_cfg(1 << 30, 4096);
    c.segment_ms = 1000;
    plog_t *l = tl_open(d, "t", 0, &c, -1, -1, -1, false, NOW);
    buf_t b = BUF_INIT;
    /* record time decides: a batch 1001 ms newer than the segment's first rolls */
    tl_batch(&b, 0, 2, NOW, 100);
    ck_assert_int_eq(plog_append(l, b.data, b.len, NOW, NULL), 0);
    buf_reset(&b);
    tl_batch(&b, 2, 2, NOW + 999, 100);
    plog_append_info_t info;
    ck_assert_int_eq(plog_append(l, b.data, b.len, NOW + 5000, &info), 0);
    ck_assert(!info.rolled);
    buf_reset(&b);
    tl_batch(&b, 4, 2, NOW + 1001, 100);
    ck_assert_int_eq(plog_append(l, b.data, b.len, NOW, &info), 0);
    ck_assert(info.rolled);
    ck_assert_int_eq((long)plog_segment_count(l), 2);
    /* without timestamps the segment's age counts */
    buf_reset(&b);
    plog_close(l, false);
    char *d2 = tl_newdir();
    l = tl_open(d2, "t", 0, &c, -1, -1, -1, false, NOW);
    tl_batch(&b, 0, 2, -1, 100);
    ck_assert_int_eq(plog_append(l, b.data, b.len, NOW, NULL), 0);
    buf_reset(&b);
    tl_batch(&b, 2, 2, -1, 100);
    ck_assert_int_eq(plog_append(l, b.data, b.len, NOW + 1000, &info), 0);
    ck_assert(!info.rolled);
    buf_reset(&b);
    tl_batch(&b, 4, 2, -1, 100);
    ck_assert_int_eq(plog_append(l, b.data, b.len, NOW + 1001, &info), 0);
    ck_assert(info.rolled);
    buf_free(&b);
    plog_close(l, false);
    free(d);
    free(d2);
}
END_TEST

static void check_index_formats(const char *pd, int64_t base)
{
    char *ip = xasprintf("%s/%020" PRId64 ".index", pd, base);
    char *tp = xasprintf("%s/%020" PRId64 ".timeindex", pd, base);
    char *lp = xasprintf("%s/%020" PRId64 ".log", pd, base);
    size_t il, tlen, ll;
    uint8_t *ix = tl_read_file(ip, &il), *tx = tl_read_file(tp, &tlen), *lg = tl_read_file(lp, &ll);
    ck_assert_int_eq(il % 8, 0);
    ck_assert_int_eq(tlen % 12, 0);
    ck_assert_int_gt((long)il, 0);
    /* each offset entry points at a batch whose last offset is base + relative offset */
    for (size_t i = 0; i < il; i += 8) {
        uint32_t rel = be32_get(ix + i), pos = be32_get(ix + i + 4);
        ck_assert_uint_lt(pos + 61, ll);
        lseg_hdr_t h;
        ck_assert_int_eq(lseg_hdr_parse(lg + pos, &h), 0);
        ck_assert_int_eq(h.last, base + rel);
    }
    int64_t prev = -1;
    for (size_t i = 0; i < tlen; i += 12) {
        int64_t ts = (int64_t)be64_get(tx + i);
        ck_assert_int_gt(ts, prev);
        prev = ts;
    }
    free(ix);
    free(tx);
    free(lg);
    free(ip);
    free(tp);
    free(lp);
}

START_TEST(index_formats_and_rebuild_equal)
{
    char *d = tl_newdir();
    plog_config_t c = small_cfg(100000, 512);
    plog_t *l = tl_open(d, "idx", 0, &c, -1, -1, -1, false, NOW);
    tl_fill(l, 200, 4, NOW, 150, NOW);
    ck_assert_int_ge((long)plog_segment_count(l), 2);
    char *pd = xstrdup(plog_dir(l));
    ck_assert_int_eq(plog_close(l, true), 0);
    check_index_formats(pd, 0);
    char *ip = xasprintf("%s/00000000000000000000.index", pd);
    char *tp = xasprintf("%s/00000000000000000000.timeindex", pd);
    size_t il, tlen;
    uint8_t *ix = tl_read_file(ip, &il), *tx = tl_read_file(tp, &tlen);
    /* missing index files are rebuilt at a clean open, byte for byte */
    unlink(ip);
    unlink(tp);
    l = tl_open(d, "idx", 0, &c, 800, 0, 800, true, NOW);
    ck_assert_int_eq(plog_end_offset(l), 800);
    ck_assert_int_eq(tl_read_all(l, 0, 800, 700, 150, true), 800);
    ck_assert_int_eq(plog_close(l, false), 0);
    size_t il2, tl2;
    uint8_t *ix2 = tl_read_file(ip, &il2), *tx2 = tl_read_file(tp, &tl2);
    ck_assert_int_eq(il, il2);
    ck_assert_int_eq(tlen, tl2);
    ck_assert(memcmp(ix, ix2, il) == 0);
    ck_assert(memcmp(tx, tx2, tlen) == 0);
    free(ix2);
    free(tx2);
    /* a corrupt index (garbage appended) is rebuilt too */
    FILE *f = fopen(ip, "ab");
    fwrite("\xff\xff\xff\xff\x7f\xff\xff\xff", 1, 8, f);
    fclose(f);
    /* unclean open with recovery point 0: every segment rebuilt; same bytes */
    l = tl_open(d, "idx", 0, &c, 0, 0, 800, false, NOW);
    ck_assert_int_eq(plog_end_offset(l), 800);
    ck_assert_int_eq(plog_close(l, false), 0);
    ix2 = tl_read_file(ip, &il2);
    tx2 = tl_read_file(tp, &tl2);
    ck_assert_int_eq(il, il2);
    ck_assert(memcmp(ix, ix2, il) == 0);
    ck_assert(memcmp(tx, tx2, tlen) == 0);
    free(ix);
    free(tx);
    free(ix2);
    free(tx2);
    free(ip);
    free(tp);
    free(pd);
    free(d);
}
END_TEST

/* Builds a log of 3 segments, closes it without flush, cuts/corrupts the newest .log file,
 * reopens unclean and checks what survives. */
START_TEST(torn_tail_every_byte_of_last_batch)
{
    plog_config_t c = small_cfg(6000, 256);
    int tested = 0;
    /* first learn the geometry */
    char *d = tl_newdir();
    plog_t *l = tl_open(d, "torn", 0, &c, -1, -1, -1, false, NOW);
    tl_fill(l, 30, 3, NOW, 200, NOW);
    int64_t leo = plog_end_offset(l);
    char *pd = xstrdup(plog_dir(l));
    size_t nseg = plog_segment_count(l);
    plog_close(l, false);
    ck_assert_int_ge((long)nseg, 3);
    /* newest segment file and its last batch's position */
    DIR *dd = opendir(pd);
    struct dirent *e;
    int64_t last_base = -1;
    while ((e = readdir(dd)) != NULL) {
        int64_t b;
        if (strlen(e->d_name) == 24 && strcmp(e->d_name + 20, ".log") == 0 && sscanf(e->d_name, "%" SCNd64, &b) == 1 &&
            b > last_base)
            last_base = b;
    }
    closedir(dd);
    char *lp = xasprintf("%s/%020" PRId64 ".log", pd, last_base);
    size_t ll;
    uint8_t *orig = tl_read_file(lp, &ll);
    uint64_t lastpos = 0;
    for (uint64_t p = 0; p < ll;) {
        lseg_hdr_t h;
        ck_assert_int_eq(lseg_hdr_parse(orig + p, &h), 0);
        lastpos = p;
        p += h.size;
    }
    free(lp);
    free(pd);
    free(d);
    for (uint64_t cut = lastpos; cut < ll; cut++) {
        d = tl_newdir();
        l = tl_open(d, "torn", 0, &c, -1, -1, -1, false, NOW);
        tl_fill(l, 30, 3, NOW, 200, NOW);
        pd = xstrdup(plog_dir(l));
        plog_close(l, false);
        lp = xasprintf("%s/%020" PRId64 ".log", pd, last_base);
        ck_assert_int_eq(truncate(lp, (off_t)cut), 0);
        /* recovery point in an older segment: the newest is scanned */
        l = tl_open(d, "torn", 0, &c, 10, 0, leo, false, NOW);
        ck_assert_int_eq(plog_end_offset(l), leo - 3);
        ck_assert_int_eq(plog_high_watermark(l), leo - 3);
        ck_assert_int_eq(tl_file_size(lp), (off_t)lastpos);
        ck_assert_int_eq(tl_read_all(l, 0, leo - 3, 4000, 200, true), leo - 3);
        /* appending continues where the valid data ends */
        ck_assert_int_eq(tl_fill(l, 1, 3, NOW, 200, NOW), leo);
        ck_assert_int_eq(tl_read_all(l, leo - 10, leo, 4000, 200, true), 10);
        plog_close(l, false);
        free(lp);
        free(pd);
        lckpt_rmtree(d);
        free(d);
        tested++;
    }
    ck_assert_int_gt(tested, 100);
    /* a flipped byte anywhere in the last batch is caught by the CRC (or the header check) */
    for (uint64_t at = lastpos; at < ll; at += 7) {
        d = tl_newdir();
        l = tl_open(d, "torn", 0, &c, -1, -1, -1, false, NOW);
        tl_fill(l, 30, 3, NOW, 200, NOW);
        pd = xstrdup(plog_dir(l));
        plog_close(l, false);
        lp = xasprintf("%s/%020" PRId64 ".log", pd, last_base);
        int fd = open(lp, O_RDWR);
        uint8_t x = orig[at] ^ 0x5a;
        ck_assert_int_eq(pwrite(fd, &x, 1, (off_t)at), 1);
        close(fd);
        l = tl_open(d, "torn", 0, &c, 10, 0, leo, false, NOW);
        /* a flipped byte in the baseOffset/length/epoch fields is outside the CRC: the
         * offsets check or the length check may still pass (epoch), so the batch can survive */
        int64_t end = plog_end_offset(l);
        ck_assert(end == leo - 3 || (end == leo && at - lastpos >= 12 && at - lastpos < 17));
        ck_assert_int_eq(tl_read_all(l, 0, end, 4000, 200, true), end);
        plog_close(l, false);
        free(lp);
        free(pd);
        lckpt_rmtree(d);
        free(d);
    }
    free(orig);
}
END_TEST

START_TEST(torn_older_segment_drops_later_ones)
{
    char *d = tl_newdir();
    plog_config_t c = small_cfg(5000, 256);
    plog_t *l = tl_open(d, "mid", 0, &c, -1, -1, -1, false, NOW);
    tl_fill(l, 40, 3, NOW, 200, NOW);
    size_t nseg = plog_segment_count(l);
    char *pd = xstrdup(plog_dir(l));
    plog_close(l, false);
    ck_assert_int_ge((long)nseg, 4);
    char *lp = xasprintf("%s/00000000000000000000.log", pd);
    off_t sz = tl_file_size(lp);
    ck_assert_int_eq(truncate(lp, sz - 5), 0);
    l = tl_open(d, "mid", 0, &c, 0, 0, 1000, false, NOW);
    ck_assert_int_eq((long)plog_segment_count(l), 1);
    int64_t leo = plog_end_offset(l);
    ck_assert_int_gt(leo, 0);
    ck_assert_int_eq(tl_read_all(l, 0, leo, 1 << 20, 200, true), leo);
    ck_assert_int_eq(count_files(pd, ".log"), 1);
    plog_close(l, false);
    free(lp);
    free(pd);
    free(d);
}
END_TEST

START_TEST(truncate_to_and_truncate_fully)
{
    char *d = tl_newdir();
    plog_config_t c = small_cfg(8000, 512);
    plog_t *l = tl_open(d, "tr", 0, &c, -1, -1, -1, false, NOW);
    tl_fill(l, 100, 4, NOW, 200, NOW);
    plog_set_high_watermark(l, 400);
    size_t nseg = plog_segment_count(l);
    ck_assert_int_eq(plog_truncate_to(l, 500), 0);             /* past the end: nothing */
    ck_assert_int_eq(plog_end_offset(l), 400);
    ck_assert_int_eq(plog_truncate_to(l, 212), 0);             /* at a batch boundary */
    ck_assert_int_eq(plog_end_offset(l), 212);
    ck_assert_int_eq(plog_high_watermark(l), 212);
    ck_assert_int_lt((long)plog_segment_count(l), (long)nseg);
    ck_assert_int_eq(tl_read_all(l, 0, 212, 1 << 20, 200, true), 212);
    ck_assert_int_eq(plog_truncate_to(l, 210), 0);             /* inside a batch: it goes whole */
    ck_assert_int_eq(plog_end_offset(l), 208);
    ck_assert_int_eq(tl_fill(l, 50, 4, NOW, 200, NOW), 408);
    ck_assert_int_eq(tl_read_all(l, 0, 408, 5000, 200, true), 408);
    plog_close(l, true);
    l = tl_open(d, "tr", 0, &c, 408, 0, 408, true, NOW);
    ck_assert_int_eq(plog_end_offset(l), 408);
    ck_assert_int_eq(tl_read_all(l, 0, 408, 5000, 200, true), 408);
    ck_assert_int_eq(plog_truncate_fully(l, 1000, NOW), 0);
    ck_assert_int_eq(plog_end_offset(l), 1000);
    ck_assert_int_eq(plog_start_offset(l), 1000);
    ck_assert_int_eq((long)plog_segment_count(l), 1);
    ck_assert_int_eq(tl_fill(l, 3, 4, NOW, 200, NOW), 1012);
    ck_assert_int_eq(tl_read_all(l, 1000, 1012, 5000, 200, true), 12);
    plog_slice_t s;
    ck_assert_int_eq(plog_read(l, 5, 100, PLOG_UPTO_LEO, true, &s), -KERR_OFFSET_OUT_OF_RANGE);
    plog_close(l, false);
    free(d);
}
END_TEST

START_TEST(delete_records_and_retention)
{
    char *d = tl_newdir();
    plog_config_t c = small_cfg(6000, 512);
    plog_t *l = tl_open(d, "ret", 0, &c, -1, -1, -1, false, NOW);
    /* 10 hours of data, one batch per ~minute of record time */
    tl_fill(l, 100, 4, NOW, 200, NOW);
    plog_set_high_watermark(l, 200);
    size_t nseg = plog_segment_count(l);
    int64_t lw;
    ck_assert_int_eq(plog_delete_records(l, 300, &lw), -KERR_OFFSET_OUT_OF_RANGE);   /* above HW */
    ck_assert_int_eq(plog_delete_records(l, 150, &lw), 0);
    ck_assert_int_eq(lw, 150);
    ck_assert_int_eq(plog_start_offset(l), 150);
    ck_assert_int_lt((long)plog_segment_count(l), (long)nseg);
    plog_slice_t s;
    ck_assert_int_eq(plog_read(l, 149, 100, PLOG_UPTO_LEO, true, &s), -KERR_OFFSET_OUT_OF_RANGE);
    ck_assert_int_eq(plog_read(l, 150, 100000, PLOG_UPTO_LEO, true, &s), 0);
    ck_assert_int_le(s.first_offset, 150);
    plog_slice_release(&s);
    ck_assert_int_eq(plog_delete_records(l, -1, &lw), 0);        /* -1 = the HW */
    ck_assert_int_eq(lw, 200);
    plog_set_high_watermark(l, 400);
    /* retention by size: keep about 12000 bytes, never the data above HW */
    c.retention_bytes = 12000;
    c.retention_ms = -1;
    plog_set_config(l, &c);
    int n = plog_retention(l, NOW);
    ck_assert_int_gt(n, 0);
    ck_assert_int_le((long)plog_size_bytes(l), 12000 + 6000);
    ck_assert_int_ge((long)plog_size_bytes(l), 12000);
    int64_t st = plog_start_offset(l);
    ck_assert_int_gt(st, 200);
    ck_assert_int_eq(tl_read_all(l, st, 400, 1 << 20, 200, true), 400 - st);
    ck_assert_int_eq(plog_retention(l, NOW), 0);
    /* retention by time: record timestamps are NOW + offset; everything older than NOW+390 */
    c.retention_bytes = -1;
    c.retention_ms = 10;
    plog_set_config(l, &c);
    n = plog_retention(l, NOW + 400);
    ck_assert_int_gt(n, 0);
    ck_assert_int_gt(plog_start_offset(l), 300);
    ck_assert_int_le(plog_start_offset(l), 390);
    /* everything expired: the active segment is rolled and deleted too, the log stays usable */
    n = plog_retention(l, NOW + 100000);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(plog_start_offset(l), 400);
    ck_assert_int_eq(plog_end_offset(l), 400);
    ck_assert_int_eq((long)plog_segment_count(l), 1);
    ck_assert_int_eq(tl_fill(l, 2, 4, NOW + 100000, 200, NOW), 408);
    /* compact-only logs keep expired data */
    c.cleanup_delete = false;
    c.cleanup_compact = true;
    plog_set_config(l, &c);
    plog_set_high_watermark(l, 408);
    ck_assert_int_eq(plog_retention(l, NOW + 10000000), 0);
    plog_close(l, true);
    free(d);
}
END_TEST

START_TEST(offset_for_timestamp)
{
    char *d = tl_newdir();
    plog_config_t c = small_cfg(7000, 300);
    plog_t *l = tl_open(d, "ts", 0, &c, -1, -1, -1, false, NOW);
    /* timestamps NOW + 10*offset within batches of 5 */
    buf_t b = BUF_INIT;
    for (int i = 0; i < 100; i++) {
        buf_reset(&b);
        int64_t base = plog_end_offset(l);
        krec_record_t r[5];
        uint8_t v[50];
        memset(v, 1, sizeof v);
        for (int k = 0; k < 5; k++)
            r[k] = (krec_record_t){.offset = base + k, .timestamp = NOW + 10 * (base + k), .key_len = -1,
                                   .value = v, .value_len = 50};
        krec_build_t o;
        krec_build_init(&o, 2, i % 3 == 0 ? 1 : 0);   /* some gzip batches */
        o.base_offset = base;
        ck_assert_int_eq(krec_build(&b, &o, r, 5), 0);
        ck_assert_int_eq(plog_append(l, b.data, b.len, NOW, NULL), 0);
    }
    buf_free(&b);
    ck_assert_int_gt((long)plog_segment_count(l), 2);
    for (int64_t t = NOW - 5; t <= NOW + 10 * 500 + 5; t += 3) {
        int64_t off, fts;
        int rc = plog_offset_for_time(l, t, &off, &fts);
        int64_t want = t <= NOW ? 0 : (t - NOW + 9) / 10;
        if (want >= 500) {
            ck_assert_int_eq(rc, 0);
        } else {
            ck_assert_int_eq(rc, 1);
            ck_assert_int_eq(off, want);
            ck_assert_int_eq(fts, NOW + 10 * want);
        }
    }
    /* respects the log start offset */
    plog_set_high_watermark(l, 500);
    ck_assert_int_eq(plog_delete_records(l, 222, NULL), 0);
    int64_t off, fts;
    ck_assert_int_eq(plog_offset_for_time(l, NOW, &off, &fts), 1);
    ck_assert_int_eq(off, 222);
    plog_close(l, false);
    /* after reopening (sealed segments, mapped indexes) the same answers */
    l = tl_open(d, "ts", 0, &c, 0, 222, 500, true, NOW);
    ck_assert_int_eq(plog_offset_for_time(l, NOW + 3333, &off, &fts), 1);
    ck_assert_int_eq(off, 334);
    plog_close(l, false);
    free(d);
}
END_TEST

START_TEST(leader_epochs)
{
    char *d = tl_newdir();
    plog_config_t c = small_cfg(1 << 20, 4096);
    plog_t *l = tl_open(d, "ep", 0, &c, -1, -1, -1, false, NOW);
    buf_t b = BUF_INIT;
    int32_t epochs[] = {0, 0, 1, 1, 3, 3, 3};
    for (int i = 0; i < 7; i++) {
        buf_reset(&b);
        tl_batch_ex(&b, plog_end_offset(l), 10, NOW, epochs[i], 100, 0, 0, 0);
        ck_assert_int_eq(plog_append(l, b.data, b.len, NOW, NULL), 0);
    }
    ck_assert_int_eq(plog_latest_epoch(l), 3);
    int32_t fe;
    int64_t eo;
    plog_end_offset_for_epoch(l, 0, &fe, &eo);
    ck_assert_int_eq(fe, 0);
    ck_assert_int_eq(eo, 20);
    plog_end_offset_for_epoch(l, 2, &fe, &eo);      /* unknown epoch between: the next one's start */
    ck_assert_int_eq(fe, 1);
    ck_assert_int_eq(eo, 40);
    plog_end_offset_for_epoch(l, 3, &fe, &eo);
    ck_assert_int_eq(fe, 3);
    ck_assert_int_eq(eo, 70);
    char *ep = xasprintf("%s/leader-epoch-checkpoint", plog_dir(l));
    size_t n;
    uint8_t *txt = tl_read_file(ep, &n);
    ck_assert_str_eq((char *)txt, "0\n3\n0 0\n1 20\n3 40\n");
    free(txt);
    ck_assert_int_eq(plog_truncate_to(l, 30), 0);
    ck_assert_int_eq(plog_latest_epoch(l), 1);
    ck_assert_int_eq(plog_assign_epoch(l, 5, 30), 0);
    plog_set_high_watermark(l, 30);
    ck_assert_int_eq(plog_delete_records(l, 25, NULL), 0);
    txt = tl_read_file(ep, &n);
    ck_assert_str_eq((char *)txt, "0\n2\n1 25\n5 30\n");
    free(txt);
    plog_close(l, true);
    l = tl_open(d, "ep", 0, &c, 30, 25, 30, true, NOW);
    /* as Kafka at load: an epoch starting at the log end (no data yet) is dropped */
    ck_assert_int_eq(plog_latest_epoch(l), 1);
    plog_end_offset_for_epoch(l, 1, &fe, &eo);
    ck_assert_int_eq(fe, 1);
    ck_assert_int_eq(eo, 30);
    plog_end_offset_for_epoch(l, 0, &fe, &eo);
    ck_assert_int_eq(fe, -1);
    ck_assert_int_eq(eo, -1);
    plog_close(l, false);
    buf_free(&b);
    free(ep);
    free(d);
}
END_TEST

START_TEST(delete_log_while_slice_held)
{
    char *d = tl_newdir();
    plog_config_t c = small_cfg(5000, 512);
    plog_t *l = tl_open(d, "gone", 3, &c, -1, -1, -1, false, NOW);
    tl_fill(l, 20, 4, NOW, 200, NOW);
    char *pd = xstrdup(plog_dir(l));
    plog_slice_t s;
    ck_assert_int_eq(plog_read(l, 0, 1 << 20, PLOG_UPTO_LEO, true, &s), 0);
    ck_assert_int_eq(plog_delete(l), 0);
    struct stat st;
    ck_assert_int_ne(stat(pd, &st), 0);
    /* no *-delete directory is left behind, and the slice still reads */
    DIR *dd = opendir(d);
    struct dirent *e;
    int left = 0;
    while ((e = readdir(dd)) != NULL)
        if (e->d_name[0] != '.')
            left++;
    closedir(dd);
    ck_assert_int_eq(left, 0);
    buf_t b = BUF_INIT;
    ck_assert_int_eq(plog_slice_copy(&s, &b), 0);
    int64_t next = 0;
    ck_assert_int_gt(tl_check_records(b.data, b.len, 200, &next, true), 0);
    plog_slice_release(&s);
    buf_free(&b);
    /* opening a missing log without create */
    plog_open_t o = {d, "gone", 3, &c, -1, -1, -1, true, false, NOW};
    plog_t *x;
    ck_assert_int_eq(plog_open(&o, &x), -KERR_UNKNOWN_TOPIC_OR_PARTITION);
    free(pd);
    free(d);
}
END_TEST

START_TEST(flush_policy)
{
    char *d = tl_newdir();
    plog_config_t c = small_cfg(1 << 20, 4096);
    plog_t *l = tl_open(d, "fl", 0, &c, -1, -1, -1, false, NOW);
    tl_fill(l, 5, 4, NOW, 100, NOW);
    ck_assert(!plog_flush_due(l, NOW + 1000000));      /* Kafka's default: never */
    c.flush_ms = 1000;
    plog_set_config(l, &c);
    ck_assert(!plog_flush_due(l, NOW + 999));
    ck_assert(plog_flush_due(l, NOW + 1000));
    ck_assert_int_eq(plog_flush(l, NOW + 1000), 0);
    ck_assert_int_eq(plog_recovery_point(l), 20);
    ck_assert(!plog_flush_due(l, NOW + 5000));         /* nothing unflushed */
    c.flush_ms = INT64_MAX;
    c.flush_messages = 8;
    plog_set_config(l, &c);
    tl_fill(l, 1, 4, NOW, 100, NOW);
    ck_assert_int_eq(plog_recovery_point(l), 20);
    tl_fill(l, 1, 4, NOW, 100, NOW);                   /* the 8th message flushes in append */
    ck_assert_int_eq(plog_recovery_point(l), 28);
    /* a roll makes a flush due (rolled data below the new segment) */
    c.flush_messages = INT64_MAX;
    c.segment_bytes = 2000;
    plog_set_config(l, &c);
    tl_fill(l, 10, 4, NOW, 100, NOW);
    ck_assert(plog_flush_due(l, NOW));
    ck_assert_int_eq(plog_flush(l, NOW), 0);
    ck_assert(!plog_flush_due(l, NOW));
    plog_close(l, false);
    free(d);
}
END_TEST

START_TEST(checkpoint_files_round_trip)
{
    char *d = tl_newdir();
    lckpt_t c;
    lckpt_init(&c);
    lckpt_set(&c, "orders", 0, 42);
    lckpt_set(&c, "__consumer_offsets", 17, 9000000000LL);
    lckpt_set(&c, "a-b-c", 3, 0);
    lckpt_set(&c, "orders", 0, 43);
    char *p = xasprintf("%s/%s", d, LCKPT_RECOVERY);
    ck_assert_int_eq(lckpt_write(p, &c), 0);
    size_t n;
    uint8_t *txt = tl_read_file(p, &n);
    ck_assert_str_eq((char *)txt, "0\n3\norders 0 43\n__consumer_offsets 17 9000000000\na-b-c 3 0\n");
    free(txt);
    lckpt_t r;
    lckpt_init(&r);
    char err[256];
    ck_assert_int_eq(lckpt_read(p, &r, err, sizeof err), 0);
    int64_t v;
    ck_assert_int_eq(lckpt_get(&r, "orders", 0, &v), 1);
    ck_assert_int_eq(v, 43);
    ck_assert_int_eq(lckpt_get(&r, "__consumer_offsets", 17, &v), 1);
    ck_assert_int_eq(v, 9000000000LL);
    ck_assert_int_eq(lckpt_get(&r, "a-b-c", 3, &v), 1);
    ck_assert_int_eq(lckpt_get(&r, "orders", 1, &v), 0);
    lckpt_free(&r);
    lckpt_free(&c);
    /* missing: empty; malformed: an error naming the file */
    lckpt_init(&r);
    char *q = xasprintf("%s/nothere", d);
    ck_assert_int_eq(lckpt_read(q, &r, err, sizeof err), 0);
    ck_assert_int_eq((long)r.n, 0);
    const char *bad[] = {"", "1\n0\n", "0\n2\nt 0 1\n", "0\n1\nt x 1\n", "0\n1\nt 0 1\nextra 0 1\n", "0\n1\nt 0\n"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_int_eq(lckpt_write_atomic(q, bad[i], strlen(bad[i]), false), 0);
        ck_assert_int_eq(lckpt_read(q, &r, err, sizeof err), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(err, "nothere"));
    }
    lckpt_free(&r);
    /* meta.properties */
    lckpt_meta_t m = {0, 7, xstrdup("Xy3-ClusterIdAbc")};
    ck_assert_int_eq(lckpt_meta_write(d, &m), 0);
    lckpt_meta_t m2;
    ck_assert_int_eq(lckpt_meta_read(d, &m2, err, sizeof err), 1);
    ck_assert_int_eq(m2.version, 0);
    ck_assert_int_eq(m2.broker_id, 7);
    ck_assert_str_eq(m2.cluster_id, "Xy3-ClusterIdAbc");
    lckpt_meta_free(&m);
    lckpt_meta_free(&m2);
    char *d2 = tl_newdir();
    ck_assert_int_eq(lckpt_meta_read(d2, &m2, err, sizeof err), 0);
    free(p);
    free(q);
    free(d);
    free(d2);
}
END_TEST

START_TEST(dir_names)
{
    char *t;
    int32_t p;
    ck_assert_int_eq(plog_parse_dir_name("my-topic-12", &t, &p), 0);
    ck_assert_str_eq(t, "my-topic");
    ck_assert_int_eq(p, 12);
    free(t);
    ck_assert_int_eq(plog_parse_dir_name("__consumer_offsets-0", &t, &p), 0);
    free(t);
    ck_assert_int_eq(plog_parse_dir_name("t-0.0123456789abcdef0123456789abcdef-delete", &t, &p), -1);
    ck_assert_int_eq(plog_parse_dir_name("t-0.abc-future", &t, &p), -1);
    ck_assert_int_eq(plog_parse_dir_name("-3", &t, &p), -1);
    ck_assert_int_eq(plog_parse_dir_name("t-", &t, &p), -1);
    ck_assert_int_eq(plog_parse_dir_name("t-99999999999", &t, &p), -1);
}
END_TEST

typedef struct scan_seen_s {
    int n;
    int64_t first_base, next;
    int bad;
} scan_seen_t;

static int scan_fn(void *ctx, const plog_batch_info_t *b)
{
    scan_seen_t *s = ctx;
    if (s->n == 0)
        s->first_base = b->base_offset;
    else if (b->base_offset != s->next)
        s->bad++;
    if (b->producer_id != 77 || b->producer_epoch != 3 || b->base_sequence != (int32_t)b->base_offset ||
        b->record_count != 5 || b->last_offset != b->base_offset + 4 || b->leader_epoch != 2)
        s->bad++;
    s->next = b->last_offset + 1;
    return ++s->n == 1000;
}

START_TEST(scan_batch_headers)
{
    char *d = tl_newdir();
    plog_config_t c = small_cfg(3000, 256);
    plog_t *l = tl_open(d, "pid", 0, &c, -1, -1, -1, false, NOW);
    buf_t b = BUF_INIT;
    for (int i = 0; i < 60; i++) {
        buf_reset(&b);
        int64_t base = plog_end_offset(l);
        krec_record_t r[5];
        uint8_t v[100];
        memset(v, 9, sizeof v);
        for (int k = 0; k < 5; k++)
            r[k] = (krec_record_t){.offset = base + k, .timestamp = NOW, .key_len = -1, .value = v, .value_len = 100};
        krec_build_t o;
        krec_build_init(&o, 2, 0);
        o.base_offset = base;
        o.producer_id = 77;
        o.producer_epoch = 3;
        o.base_sequence = (int32_t)base;
        o.partition_leader_epoch = 2;
        ck_assert_int_eq(krec_build(&b, &o, r, 5), 0);
        ck_assert_int_eq(plog_append(l, b.data, b.len, NOW, NULL), 0);
    }
    buf_free(&b);
    ck_assert_int_gt((long)plog_segment_count(l), 3);
    scan_seen_t s = {0, -1, 0, 0};
    ck_assert_int_eq(plog_scan_batches(l, 112, scan_fn, &s), 0);
    ck_assert_int_eq(s.first_base, 110);
    ck_assert_int_eq(s.n, 60 - 22);
    ck_assert_int_eq(s.bad, 0);
    ck_assert_int_eq(s.next, 300);
    plog_close(l, false);
    free(d);
}
END_TEST

/* Not a benchmark gate: prints MB/s so the note can quote it. */
START_TEST(measure_throughput)
{
    char *d = tl_newdir();
    plog_config_t c = small_cfg(64 << 20, 4096);
    plog_t *l = tl_open(d, "perf", 0, &c, -1, -1, -1, false, NOW);
    /* 16 KiB batches of 100-byte records, prepared once, offsets patched per append */
    buf_t b = BUF_INIT;
    tl_batch(&b, 0, 150, NOW, 200);
    size_t total = getenv("VALGRIND") ? 8u << 20 : 256u << 20;
    size_t nb = total / b.len;
    int64_t t0 = clock_mono_us();
    for (size_t i = 0; i < nb; i++) {
        be64_put(b.data, (uint64_t)plog_end_offset(l));
        ck_assert_int_eq(plog_append(l, b.data, b.len, NOW, NULL), 0);
    }
    int64_t t1 = clock_mono_us();
    double mb = (double)(nb * b.len) / (1 << 20);
    printf("log append: %.0f MB in %.3f s = %.0f MB/s (%zu-byte batches, %zu segments)\n", mb, (t1 - t0) / 1e6,
           mb / ((t1 - t0) / 1e6), b.len, plog_segment_count(l));
    plog_set_high_watermark(l, plog_end_offset(l));
    /* copying read in 1 MiB fetches */
    buf_t r = BUF_INIT;
    int64_t off = 0, end = plog_end_offset(l);
    size_t bytes = 0;
    t0 = clock_mono_us();
    while (off < end) {
        plog_slice_t s;
        ck_assert_int_eq(plog_read(l, off, 1 << 20, end, true, &s), 0);
        buf_reset(&r);
        ck_assert_int_eq(plog_slice_copy(&s, &r), 0);
        bytes += r.len;
        /* next fetch from the last whole batch's end, as a consumer would */
        size_t p = 0;
        int64_t last = off;
        while (r.len - p >= 61) {
            lseg_hdr_t h;
            lseg_hdr_parse(r.data + p, &h);
            if (h.size > r.len - p)
                break;
            last = h.last + 1;
            p += h.size;
        }
        ck_assert_int_gt(last, off);
        off = last;
        plog_slice_release(&s);
    }
    t1 = clock_mono_us();
    printf("log read (pread copy, 1 MiB fetches): %.0f MB/s\n", (double)bytes / (1 << 20) / ((t1 - t0) / 1e6));
    /* slice lookup only (what a sendfile fetch costs the log) */
    t0 = clock_mono_us();
    int lookups = 0;
    for (off = 0; off < end; off += 997) {
        plog_slice_t s;
        ck_assert_int_eq(plog_read(l, off, 1 << 20, end, true, &s), 0);
        plog_slice_release(&s);
        lookups++;
    }
    t1 = clock_mono_us();
    printf("log read lookups: %.0f per second\n", lookups / ((t1 - t0) / 1e6));
    buf_free(&r);
    buf_free(&b);
    plog_close(l, false);
    lckpt_rmtree(d);
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
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, append_and_read_back);
    tcase_add_test(tc, roll_by_size_and_layout);
    tcase_add_test(tc, roll_by_time);
    tcase_add_test(tc, index_formats_and_rebuild_equal);
    tcase_add_test(tc, torn_tail_every_byte_of_last_batch);
    tcase_add_test(tc, torn_older_segment_drops_later_ones);
    tcase_add_test(tc, truncate_to_and_truncate_fully);
    tcase_add_test(tc, delete_records_and_retention);
    tcase_add_test(tc, offset_for_timestamp);
    tcase_add_test(tc, leader_epochs);
    tcase_add_test(tc, delete_log_while_slice_held);
    tcase_add_test(tc, flush_policy);
    tcase_add_test(tc, checkpoint_files_round_trip);
    tcase_add_test(tc, dir_names);
    tcase_add_test(tc, scan_batch_headers);
    tcase_add_test(tc, measure_throughput);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    tl_cleanup();
    return failed ? 1 : 0;
}
