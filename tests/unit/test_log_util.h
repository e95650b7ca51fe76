/* test_log_util.h — helpers shared by the broker log tests (test_log*.c): a temp root,
 * deterministic batches, and a reader that checks every record it sees. */
#ifndef GREGOR_TESTS_TEST_LOG_UTIL_H
#define GREGOR_TESTS_TEST_LOG_UTIL_H

#include <check.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/log.h"
#include "broker/logckpt.h"
#include "common/alloc.h"
#include "common/buf.h"
#include "proto/kafka_records.h"

static char g_root[] = "/tmp/gregor-test-log-XXXXXX";
static int g_dirno;

/* A fresh directory under the root (caller frees). */
static inline char *tl_newdir(void)
{
    char *d = xasprintf("%s/d%d-%d", g_root, (int)getpid(), ++g_dirno);
    ck_assert_int_eq(mkdir(d, 0755), 0);
    return d;
}

/* Value of the record at `offset`: length from the offset, bytes from offset and index. */
static inline size_t tl_vlen(int64_t offset, int vsize)
{
    return (size_t)vsize / 2 + (size_t)((uint64_t)offset * 7919 % (uint64_t)(vsize / 2 + 1));
}

static inline void tl_vfill(int64_t offset, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)((uint64_t)offset * 131 + i * 7);
}

/* Appends one v2 batch of n records [base, base+n) to out; record timestamps ts0 + i
 * (ts0 < 0: no timestamps); keys "k<offset % nkeys>" if nkeys > 0, tombstones when the
 * offset is in `tomb_every` steps (0 = never). */
static inline void tl_batch_ex(buf_t *out, int64_t base, int n, int64_t ts0, int32_t epoch, int vsize, int codec, int nkeys,
                        int tomb_every)
{
    krec_record_t *recs = xcalloc((size_t)n, sizeof *recs);
    uint8_t **vals = xcalloc((size_t)n, sizeof *vals);
    char (*keys)[24] = xcalloc((size_t)n, sizeof *keys);
    for (int i = 0; i < n; i++) {
        int64_t off = base + i;
        size_t vl = tl_vlen(off, vsize);
        vals[i] = xmalloc(vl + 1);
        tl_vfill(off, vals[i], vl);
        recs[i].offset = off;
        recs[i].timestamp = ts0 < 0 ? -1 : ts0 + i;
        recs[i].key = NULL;
        recs[i].key_len = -1;
        if (nkeys > 0) {
            int kl = snprintf(keys[i], sizeof keys[i], "k%" PRId64, off % nkeys);
            recs[i].key = (const uint8_t *)keys[i];
            recs[i].key_len = kl;
        }
        recs[i].value = vals[i];
        recs[i].value_len = (int32_t)vl;
        if (tomb_every > 0 && off % tomb_every == 0) {
            recs[i].value = NULL;
            recs[i].value_len = -1;
        }
    }
    krec_build_t o;
    krec_build_init(&o, 2, codec);
    o.base_offset = base;
    o.partition_leader_epoch = epoch;
    ck_assert_int_eq(krec_build(out, &o, recs, (size_t)n), 0);
    for (int i = 0; i < n; i++)
        free(vals[i]);
    free(vals);
    free(keys);
    free(recs);
}

static inline void tl_batch(buf_t *out, int64_t base, int n, int64_t ts0, int vsize)
{
    tl_batch_ex(out, base, n, ts0, -1, vsize, 0, 0, 0);
}

/* Appends `batches` batches of n records at the log end; timestamps start at ts0 and grow by
 * one per record. Returns the LEO. */
static inline int64_t tl_fill(plog_t *l, int batches, int n, int64_t ts0, int vsize, int64_t now)
{
    buf_t b = BUF_INIT;
    for (int i = 0; i < batches; i++) {
        buf_reset(&b);
        int64_t base = plog_end_offset(l);
        tl_batch(&b, base, n, ts0 < 0 ? -1 : ts0 + base, vsize);
        plog_append_info_t info;
        ck_assert_int_eq(plog_append(l, b.data, b.len, now, &info), 0);
        ck_assert_int_eq(info.first_offset, base);
        ck_assert_int_eq(info.last_offset, base + n - 1);
    }
    buf_free(&b);
    return plog_end_offset(l);
}

/* Checks every record of data: values as tl_batch made them, offsets increasing from > *next-1.
 * Returns the number of records; *next becomes last offset + 1. */
static inline int64_t tl_check_records(const uint8_t *data, size_t len, int vsize, int64_t *next, bool exact)
{
    krec_iter_t it;
    krec_iter_init(&it, data, len, 0, 0);
    krec_record_t r;
    int64_t count = 0;
    int rc;
    uint8_t want[65536];
    while ((rc = krec_iter_next(&it, &r)) == 1) {
        if (r.offset < *next)
            continue;           /* earlier records of the first batch */
        if (exact)
            ck_assert_int_eq(r.offset, *next);
        size_t vl = tl_vlen(r.offset, vsize);
        if (r.value_len >= 0) {
            ck_assert_int_eq(r.value_len, (int32_t)vl);
            tl_vfill(r.offset, want, vl);
            ck_assert(memcmp(r.value, want, vl) == 0);
        }
        *next = r.offset + 1;
        count++;
    }
    ck_assert_int_eq(rc, 0);
    krec_iter_free(&it);
    return count;
}

/* Reads the whole log [from, upto) through plog_read/plog_slice_copy in max_bytes steps,
 * checking every record. Returns the records seen. */
static inline int64_t tl_read_all(plog_t *l, int64_t from, int64_t upto, size_t max_bytes, int vsize, bool exact)
{
    int64_t next = from, count = 0;
    buf_t b = BUF_INIT;
    for (int guard = 0; next < upto; guard++) {
        ck_assert_int_lt(guard, 10000000);
        plog_slice_t s;
        ck_assert_int_eq(plog_read(l, next, max_bytes, upto, true, &s), 0);
        if (s.len == 0)
            break;
        buf_reset(&b);
        ck_assert_int_eq(plog_slice_copy(&s, &b), 0);
        ck_assert_int_le(s.first_offset, next);
        int64_t before = next;
        count += tl_check_records(b.data, b.len, vsize, &next, exact);
        ck_assert_int_gt(next, before);
        plog_slice_release(&s);
    }
    buf_free(&b);
    return count;
}

static inline plog_t *tl_open(const char *dir, const char *topic, int32_t part, const plog_config_t *c, int64_t rp,
                       int64_t start, int64_t hw, bool clean, int64_t now)
{
    plog_open_t o = {dir, topic, part, c, rp, start, hw, clean, true, now};
    plog_t *l;
    ck_assert_int_eq(plog_open(&o, &l), 0);
    return l;
}

static inline off_t tl_file_size(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    return st.st_size;
}

static inline uint8_t *tl_read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        *len = 0;
        return NULL;
    }
    off_t n = lseek(fd, 0, SEEK_END);
    uint8_t *p = xmalloc((size_t)n + 1);
    ck_assert_int_eq(pread(fd, p, (size_t)n, 0), n);
    p[n] = 0;
    close(fd);
    *len = (size_t)n;
    return p;
}

static inline void tl_cleanup(void)
{
    lckpt_rmtree(g_root);
}

#endif
